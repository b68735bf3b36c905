/*
 * Reading a run directory (jepsen/HISTORY.md) into struct history: one jansson parse per line,
 * fields checked as the format makes them mandatory, then every stream sorted by time.
 */
#include "jepsen/history.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Grow *array (of *n elements of @size, capacity *cap) by one; returns the new slot or NULL. */
static void *grow(void **array, size_t *n, size_t *cap, size_t size)
{
    if (*n == *cap) {
        size_t next = *cap ? *cap * 2 : 64;
        void *p = realloc(*array, next * size);
        if (p == NULL) {
            return NULL;
        }
        *array = p;
        *cap = next;
    }
    void *slot = (char *)*array + *n * size;
    memset(slot, 0, size);
    (*n)++;
    return slot;
}

struct loader {
    struct history *h;
    char *errmsg;
    size_t errlen;
    const char *file; /* the name records point to */
    size_t line;
    size_t cap_ops, cap_faults, cap_vip, cap_arp, cap_files;
    /* nemesis "start" records still waiting for their "end" */
    size_t *open_faults;
    size_t n_open, cap_open;
};

static int bad(struct loader *ld, const char *what, const char *field)
{
    snprintf(ld->errmsg, ld->errlen, "%s/%s:%zu: %s \"%s\" (see jepsen/HISTORY.md)", ld->h->dir,
             ld->file, ld->line, what, field);
    return -EINVAL;
}

static void see_time(struct history *h, double t)
{
    if (h->t_min < 0 || t < h->t_min) {
        h->t_min = t;
    }
    if (t > h->t_max) {
        h->t_max = t;
    }
}

static int get_time(struct loader *ld, json_t *obj, const char *field, double *out)
{
    json_t *v = json_object_get(obj, field);
    if (!json_is_number(v)) {
        return bad(ld, "missing or non-numeric time", field);
    }
    *out = json_number_value(v);
    see_time(ld->h, *out);
    return 0;
}

/* An integer field that may be null or absent: -1 then. */
static int get_int_or_null(struct loader *ld, json_t *obj, const char *field, int64_t *out)
{
    json_t *v = json_object_get(obj, field);
    if (v == NULL || json_is_null(v)) {
        *out = -1;
        return 0;
    }
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 0;
    }
    if (json_is_real(v)) {
        *out = (int64_t)json_real_value(v);
        return 0;
    }
    return bad(ld, "not an integer or null", field);
}

static int copy_string(struct loader *ld, json_t *obj, const char *field, char *out, size_t size,
                       bool required)
{
    json_t *v = json_object_get(obj, field);
    if (v == NULL || json_is_null(v)) {
        out[0] = '\0';
        return required ? bad(ld, "missing string", field) : 0;
    }
    if (!json_is_string(v)) {
        return bad(ld, "not a string", field);
    }
    snprintf(out, size, "%s", json_string_value(v));
    return 0;
}

static int set_source(struct loader *ld, struct history_source *src, const char *text)
{
    src->file = ld->file;
    src->line = ld->line;
    src->text = strdup(text);
    if (src->text == NULL) {
        snprintf(ld->errmsg, ld->errlen, "out of memory reading %s", ld->file);
        return -ENOMEM;
    }
    return 0;
}

static int nomem(struct loader *ld)
{
    snprintf(ld->errmsg, ld->errlen, "out of memory reading %s/%s", ld->h->dir, ld->file);
    return -ENOMEM;
}

static int parse_op(struct loader *ld, json_t *obj, const char *text)
{
    struct history *h = ld->h;
    struct history_op *op = grow((void **)&h->ops, &h->n_ops, &ld->cap_ops, sizeof(*op));
    if (op == NULL) {
        return nomem(ld);
    }
    int rc = set_source(ld, &op->src, text);
    if (rc != 0) {
        return rc;
    }
    json_t *v = json_object_get(obj, "worker");
    if (!json_is_integer(v)) {
        return bad(ld, "missing integer", "worker");
    }
    op->worker = (int)json_integer_value(v);
    char s[32];
    if ((rc = copy_string(ld, obj, "conn", s, sizeof(s), false)) != 0) {
        return rc;
    }
    op->new_conn = strcmp(s, "new") == 0;
    if ((rc = copy_string(ld, obj, "f", s, sizeof(s), true)) != 0) {
        return rc;
    }
    if (strcmp(s, "insert") == 0) {
        op->f = HISTORY_INSERT;
    } else if (strcmp(s, "incr") == 0) {
        op->f = HISTORY_INCR;
    } else {
        return bad(ld, "unknown operation", s);
    }
    if ((rc = copy_string(ld, obj, "outcome", s, sizeof(s), true)) != 0) {
        return rc;
    }
    if (strcmp(s, "ok") == 0) {
        op->outcome = HISTORY_OK;
    } else if (strcmp(s, "fail") == 0) {
        op->outcome = HISTORY_FAIL;
    } else if (strcmp(s, "unknown") == 0) {
        op->outcome = HISTORY_UNKNOWN;
    } else {
        return bad(ld, "unknown outcome", s);
    }
    if ((rc = get_int_or_null(ld, obj, "key", &op->key)) != 0 ||
        (rc = get_int_or_null(ld, obj, "value", &op->value)) != 0 ||
        (rc = get_int_or_null(ld, obj, "server_id", &op->server_id)) != 0 ||
        (rc = get_int_or_null(ld, obj, "epoch", &op->epoch)) != 0 ||
        (rc = get_time(ld, obj, "start", &op->start)) != 0 ||
        (rc = get_time(ld, obj, "end", &op->end)) != 0) {
        return rc;
    }
    json_t *value = json_object_get(obj, "value");
    op->has_value = value != NULL && !json_is_null(value);
    if (op->f == HISTORY_INSERT && !op->has_value) {
        return bad(ld, "an insert needs its row id in", "value");
    }
    if (op->outcome == HISTORY_OK && !op->has_value) {
        return bad(ld, "an ok operation needs", "value");
    }
    if (op->key < 0) {
        op->key = 0;
    }
    if (op->end < op->start) {
        return bad(ld, "end before start in", "end");
    }
    return 0;
}

static int parse_nemesis(struct loader *ld, json_t *obj, const char *text)
{
    struct history *h = ld->h;
    char fault[HISTORY_NAME_SIZE], target[64], phase[16];
    double t;
    int64_t id;
    int rc;
    if ((rc = get_int_or_null(ld, obj, "id", &id)) != 0 ||
        (rc = copy_string(ld, obj, "fault", fault, sizeof(fault), true)) != 0 ||
        (rc = copy_string(ld, obj, "target", target, sizeof(target), false)) != 0 ||
        (rc = copy_string(ld, obj, "phase", phase, sizeof(phase), true)) != 0 ||
        (rc = get_time(ld, obj, "t", &t)) != 0) {
        return rc;
    }
    if (strcmp(phase, "start") == 0) {
        struct history_fault *f =
            grow((void **)&h->faults, &h->n_faults, &ld->cap_faults, sizeof(*f));
        size_t *slot = grow((void **)&ld->open_faults, &ld->n_open, &ld->cap_open, sizeof(*slot));
        if (f == NULL || slot == NULL) {
            return nomem(ld);
        }
        *slot = h->n_faults - 1;
        f->id = id;
        memcpy(f->fault, fault, sizeof(f->fault));
        memcpy(f->target, target, sizeof(f->target));
        f->start = f->end = t;
        return set_source(ld, &f->src_start, text);
    }
    if (strcmp(phase, "end") != 0) {
        return bad(ld, "phase is neither start nor end", phase);
    }
    /* The open start with the same id ends; without ids, the earliest open start of the same
     * fault and target, else of the same fault. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < ld->n_open; i++) {
            struct history_fault *f = &h->faults[ld->open_faults[i]];
            bool same = id >= 0 ? f->id == id && pass == 0
                                : strcmp(f->fault, fault) == 0 &&
                                      (pass == 1 || strcmp(f->target, target) == 0);
            if (same) {
                f->end = t;
                f->ended = true;
                memmove(&ld->open_faults[i], &ld->open_faults[i + 1],
                        (ld->n_open - i - 1) * sizeof(size_t));
                ld->n_open--;
                return set_source(ld, &f->src_end, text);
            }
        }
    }
    return bad(ld, "an end without a start for fault", fault);
}

static int parse_vip(struct loader *ld, json_t *obj, const char *text)
{
    struct history *h = ld->h;
    struct history_vip *e = grow((void **)&h->vip, &h->n_vip, &ld->cap_vip, sizeof(*e));
    if (e == NULL) {
        return nomem(ld);
    }
    char event[16];
    int rc;
    if ((rc = copy_string(ld, obj, "host", e->host, sizeof(e->host), true)) != 0 ||
        (rc = copy_string(ld, obj, "event", event, sizeof(event), true)) != 0 ||
        (rc = get_time(ld, obj, "t", &e->t)) != 0) {
        return rc;
    }
    if (strcmp(event, "add") == 0) {
        e->event = HISTORY_VIP_ADD;
    } else if (strcmp(event, "del") == 0) {
        e->event = HISTORY_VIP_DEL;
    } else if (strcmp(event, "present") == 0) {
        e->event = HISTORY_VIP_PRESENT;
    } else if (strcmp(event, "absent") == 0) {
        e->event = HISTORY_VIP_ABSENT;
    } else {
        return bad(ld, "unknown VIP event", event);
    }
    return set_source(ld, &e->src, text);
}

static int parse_arp(struct loader *ld, json_t *obj, const char *text)
{
    struct history *h = ld->h;
    struct history_arp *a = grow((void **)&h->arp, &h->n_arp, &ld->cap_arp, sizeof(*a));
    if (a == NULL) {
        return nomem(ld);
    }
    char op[16];
    int rc;
    if ((rc = get_time(ld, obj, "t", &a->t)) != 0 ||
        (rc = copy_string(ld, obj, "op", op, sizeof(op), true)) != 0 ||
        (rc = copy_string(ld, obj, "sender_ip", a->sender_ip, sizeof(a->sender_ip), true)) != 0 ||
        (rc = copy_string(ld, obj, "sender_mac", a->sender_mac, sizeof(a->sender_mac), true)) !=
            0 ||
        (rc = copy_string(ld, obj, "target_ip", a->target_ip, sizeof(a->target_ip), false)) != 0 ||
        (rc = copy_string(ld, obj, "host", a->host, sizeof(a->host), false)) != 0) {
        return rc;
    }
    a->reply = strcmp(op, "reply") == 0;
    return set_source(ld, &a->src, text);
}

typedef int (*line_parser)(struct loader *ld, json_t *obj, const char *text);

/* Which record types a file carries; lines of other types are skipped (producers may add). */
struct file_kind {
    const char *type;
    line_parser parse;
};

static const char *remember_name(struct loader *ld, const char *name)
{
    struct history *h = ld->h;
    char **slot = grow((void **)&h->file_names, &h->n_file_names, &ld->cap_files, sizeof(char *));
    if (slot == NULL) {
        return NULL;
    }
    *slot = strdup(name);
    return *slot;
}

static int load_jsonl(struct loader *ld, const char *name, const struct file_kind *kind,
                      bool required)
{
    char path[4400];
    snprintf(path, sizeof(path), "%s/%s", ld->h->dir, name);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        int err = errno;
        if (err == ENOENT && !required) {
            return 0;
        }
        snprintf(ld->errmsg, ld->errlen, "%s: %s", path, strerror(err));
        return -err;
    }
    ld->file = remember_name(ld, name);
    if (ld->file == NULL) {
        fclose(f);
        return nomem(ld);
    }
    char *buf = NULL;
    size_t cap = 0;
    ssize_t len;
    int rc = 0;
    ld->line = 0;
    while (rc == 0 && (len = getline(&buf, &cap, f)) >= 0) {
        ld->line++;
        bool complete = len > 0 && buf[len - 1] == '\n';
        if (complete) {
            buf[--len] = '\0';
        }
        if (len == 0) {
            continue;
        }
        json_error_t jerr;
        json_t *obj = json_loadb(buf, (size_t)len, 0, &jerr);
        if (obj == NULL || !json_is_object(obj)) {
            json_decref(obj);
            if (!complete) {
                ld->h->n_torn++; /* the producer died while writing its last line */
                break;
            }
            snprintf(ld->errmsg, ld->errlen, "%s:%zu: not a JSON object: %s", path, ld->line,
                     obj == NULL ? jerr.text : "another JSON value");
            rc = -EINVAL;
            break;
        }
        const char *type = json_string_value(json_object_get(obj, "type"));
        if (type != NULL && strcmp(type, kind->type) == 0) {
            rc = kind->parse(ld, obj, buf);
        } else if (type == NULL) {
            rc = bad(ld, "a record without", "type");
        }
        json_decref(obj);
    }
    free(buf);
    if (rc == 0 && ferror(f)) {
        snprintf(ld->errmsg, ld->errlen, "%s: read error", path);
        rc = -EIO;
    }
    fclose(f);
    return rc;
}

static json_t *load_json(struct loader *ld, const char *name, int *rc)
{
    char path[4400];
    snprintf(path, sizeof(path), "%s/%s", ld->h->dir, name);
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    *rc = 0;
    if (root == NULL) {
        FILE *f = fopen(path, "r");
        if (f == NULL) {
            return NULL; /* absent: optional */
        }
        fclose(f);
        snprintf(ld->errmsg, ld->errlen, "%s:%d: %s", path, jerr.line, jerr.text);
        *rc = -EINVAL;
        return NULL;
    }
    if (!json_is_object(root)) {
        snprintf(ld->errmsg, ld->errlen, "%s: not a JSON object", path);
        json_decref(root);
        *rc = -EINVAL;
        return NULL;
    }
    ld->file = remember_name(ld, name);
    ld->line = 1;
    if (ld->file == NULL) {
        json_decref(root);
        *rc = nomem(ld);
        return NULL;
    }
    return root;
}

static int int64_compare(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int parse_server(struct loader *ld, const char *name, json_t *obj, struct history_server *s)
{
    snprintf(s->name, sizeof(s->name), "%s", name);
    json_t *reachable = json_object_get(obj, "reachable");
    s->reachable = reachable == NULL || json_is_true(reachable);
    int rc = get_int_or_null(ld, obj, "server_id", &s->server_id);
    if (rc != 0) {
        return rc;
    }
    json_t *rows = json_object_get(obj, "rows");
    if (json_is_array(rows)) {
        s->has_rows = true;
        s->n_rows = json_array_size(rows);
        s->rows = calloc(s->n_rows ? s->n_rows : 1, sizeof(int64_t));
        if (s->rows == NULL) {
            return nomem(ld);
        }
        for (size_t i = 0; i < s->n_rows; i++) {
            json_t *id = json_array_get(rows, i);
            if (!json_is_integer(id)) {
                return bad(ld, "a row id that is not an integer in servers.rows of", name);
            }
            s->rows[i] = json_integer_value(id);
        }
        qsort(s->rows, s->n_rows, sizeof(int64_t), int64_compare);
        s->rows_count = (int64_t)s->n_rows;
    } else if ((rc = get_int_or_null(ld, obj, "rows_count", &s->rows_count)) != 0) {
        return rc;
    }
    json_t *counters = json_object_get(obj, "counters");
    if (json_is_object(counters)) {
        s->counters = calloc(json_object_size(counters) + 1, sizeof(*s->counters));
        if (s->counters == NULL) {
            return nomem(ld);
        }
        const char *key;
        json_t *value;
        json_object_foreach(counters, key, value)
        {
            if (!json_is_integer(value)) {
                return bad(ld, "a counter value that is not an integer on", name);
            }
            s->counters[s->n_counters].key = strtoll(key, NULL, 10);
            s->counters[s->n_counters].value = json_integer_value(value);
            s->n_counters++;
        }
    }
    json_t *checksum = json_object_get(obj, "checksum");
    if (json_is_object(checksum)) {
        if ((rc = copy_string(ld, checksum, "rows", s->checksum_rows, sizeof(s->checksum_rows),
                              false)) != 0 ||
            (rc = copy_string(ld, checksum, "counters", s->checksum_counters,
                              sizeof(s->checksum_counters), false)) != 0) {
            return rc;
        }
    }
    if (s->checksum_rows[0] == '\0') {
        copy_string(ld, obj, "rows_checksum", s->checksum_rows, sizeof(s->checksum_rows), false);
    }
    return 0;
}

static int load_final(struct loader *ld)
{
    struct history *h = ld->h;
    int rc;
    json_t *root = load_json(ld, "final.json", &rc);
    if (root == NULL) {
        return rc;
    }
    json_t *servers = json_object_get(root, "servers");
    if (!json_is_object(servers)) {
        json_decref(root);
        return bad(ld, "missing object", "servers");
    }
    h->servers = calloc(json_object_size(servers) + 1, sizeof(*h->servers));
    if (h->servers == NULL) {
        json_decref(root);
        return nomem(ld);
    }
    h->has_final = true;
    const char *name;
    json_t *obj;
    json_object_foreach(servers, name, obj)
    {
        struct history_server *s = &h->servers[h->n_servers++];
        if (!json_is_object(obj)) {
            rc = bad(ld, "not an object: servers.", name);
        } else {
            rc = parse_server(ld, name, obj, s);
        }
        if (rc != 0) {
            break;
        }
    }
    json_t *healed = json_object_get(root, "healed_at");
    h->healed_at = json_is_number(healed) ? json_number_value(healed) : -1;
    json_decref(root);
    return rc;
}

static int load_run(struct loader *ld)
{
    struct history *h = ld->h;
    int rc;
    json_t *root = load_json(ld, "run.json", &rc);
    if (root == NULL) {
        return rc;
    }
    h->has_run = true;
    copy_string(ld, root, "system", h->system, sizeof(h->system), false);
    copy_string(ld, root, "vip", h->vip_address, sizeof(h->vip_address), false);
    get_int_or_null(ld, root, "seed", &h->seed);
    json_t *v = json_object_get(root, "start");
    h->run_start = json_is_number(v) ? json_number_value(v) : -1;
    v = json_object_get(root, "end");
    h->run_end = json_is_number(v) ? json_number_value(v) : -1;
    json_t *hosts = json_object_get(root, "hosts");
    if (json_is_object(hosts)) {
        h->hosts = calloc(json_object_size(hosts) + 1, sizeof(*h->hosts));
        if (h->hosts == NULL) {
            json_decref(root);
            return nomem(ld);
        }
        const char *name;
        json_t *obj;
        json_object_foreach(hosts, name, obj)
        {
            struct history_host *host = &h->hosts[h->n_hosts++];
            snprintf(host->name, sizeof(host->name), "%s", name);
            copy_string(ld, obj, "mac", host->mac, sizeof(host->mac), false);
            if (get_int_or_null(ld, obj, "server_id", &host->server_id) != 0) {
                host->server_id = -1;
            }
        }
    }
    json_decref(root);
    return 0;
}

static int load_observers(struct loader *ld)
{
    DIR *d = opendir(ld->h->dir);
    if (d == NULL) {
        int err = errno;
        snprintf(ld->errmsg, ld->errlen, "%s: %s", ld->h->dir, strerror(err));
        return -err;
    }
    /* Sorted names: the same history loads the same way every time. */
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (strncmp(e->d_name, "observe-", 8) == 0 && len > 14 &&
            strcmp(e->d_name + len - 6, ".jsonl") == 0) {
            char **slot = grow((void **)&names, &n, &cap, sizeof(char *));
            if (slot == NULL || (*slot = strdup(e->d_name)) == NULL) {
                rc = nomem(ld);
                break;
            }
        }
    }
    closedir(d);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = i + 1; j < n; j++) {
            if (strcmp(names[j], names[i]) < 0) {
                char *t = names[i];
                names[i] = names[j];
                names[j] = t;
            }
        }
    }
    static const struct file_kind vip_kind = {"vip", parse_vip};
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = load_jsonl(ld, names[i], &vip_kind, true);
        ld->h->n_observe_files++;
    }
    for (size_t i = 0; i < n; i++) {
        free(names[i]);
    }
    free(names);
    return rc;
}

static int op_compare(const void *a, const void *b)
{
    const struct history_op *x = a, *y = b;
    if (x->start != y->start) {
        return x->start < y->start ? -1 : 1;
    }
    return (x->src.line > y->src.line) - (x->src.line < y->src.line);
}

static int fault_compare(const void *a, const void *b)
{
    const struct history_fault *x = a, *y = b;
    if (x->start != y->start) {
        return x->start < y->start ? -1 : 1;
    }
    return (x->src_start.line > y->src_start.line) - (x->src_start.line < y->src_start.line);
}

static int vip_compare(const void *a, const void *b)
{
    const struct history_vip *x = a, *y = b;
    if (x->t != y->t) {
        return x->t < y->t ? -1 : 1;
    }
    int c = strcmp(x->src.file, y->src.file);
    if (c != 0) {
        return c;
    }
    return (x->src.line > y->src.line) - (x->src.line < y->src.line);
}

static int arp_compare(const void *a, const void *b)
{
    const struct history_arp *x = a, *y = b;
    if (x->t != y->t) {
        return x->t < y->t ? -1 : 1;
    }
    return (x->src.line > y->src.line) - (x->src.line < y->src.line);
}

/* qsort() of an empty array: its base may be NULL, which qsort does not accept. */
static void sort(void *base, size_t n, size_t size, int (*compare)(const void *, const void *))
{
    if (n > 1) {
        qsort(base, n, size, compare);
    }
}

int history_load(const char *dir, struct history *h, char *errmsg, size_t errlen)
{
    memset(h, 0, sizeof(*h));
    h->t_min = -1;
    h->t_max = -1;
    h->run_start = h->run_end = h->healed_at = -1;
    h->seed = -1;
    snprintf(h->dir, sizeof(h->dir), "%s", dir);
    struct loader ld = {.h = h, .errmsg = errmsg, .errlen = errlen};
    static const struct file_kind op_kind = {"op", parse_op};
    static const struct file_kind nemesis_kind = {"nemesis", parse_nemesis};
    static const struct file_kind arp_kind = {"arp", parse_arp};
    int rc = load_jsonl(&ld, "client.jsonl", &op_kind, true);
    if (rc == -ENOENT) {
        snprintf(errmsg, errlen, "%s/client.jsonl: no such file: is %s a run directory?", dir, dir);
    }
    if (rc == 0) {
        rc = load_jsonl(&ld, "nemesis.jsonl", &nemesis_kind, false);
    }
    if (rc == 0) {
        rc = load_observers(&ld);
    }
    if (rc == 0) {
        rc = load_jsonl(&ld, "arp.jsonl", &arp_kind, false);
    }
    if (rc == 0) {
        rc = load_final(&ld);
    }
    if (rc == 0) {
        rc = load_run(&ld);
    }
    free(ld.open_faults);
    if (rc != 0) {
        history_free(h);
        return rc;
    }
    if (h->run_start >= 0) {
        see_time(h, h->run_start);
    }
    if (h->run_end >= 0) {
        see_time(h, h->run_end);
    }
    if (h->healed_at >= 0) {
        see_time(h, h->healed_at);
    }
    if (h->t_min < 0) {
        h->t_min = h->t_max = 0;
    }
    /* A fault still open at the end lasts until the run's end. */
    double end = h->run_end >= 0 ? h->run_end : h->t_max;
    for (size_t i = 0; i < h->n_faults; i++) {
        if (!h->faults[i].ended) {
            h->faults[i].end = end > h->faults[i].start ? end : h->faults[i].start;
        }
    }
    sort(h->ops, h->n_ops, sizeof(*h->ops), op_compare);
    sort(h->faults, h->n_faults, sizeof(*h->faults), fault_compare);
    sort(h->vip, h->n_vip, sizeof(*h->vip), vip_compare);
    sort(h->arp, h->n_arp, sizeof(*h->arp), arp_compare);
    return 0;
}

void history_free(struct history *h)
{
    for (size_t i = 0; i < h->n_ops; i++) {
        free(h->ops[i].src.text);
    }
    for (size_t i = 0; i < h->n_faults; i++) {
        free(h->faults[i].src_start.text);
        free(h->faults[i].src_end.text);
    }
    for (size_t i = 0; i < h->n_vip; i++) {
        free(h->vip[i].src.text);
    }
    for (size_t i = 0; i < h->n_arp; i++) {
        free(h->arp[i].src.text);
    }
    for (size_t i = 0; i < h->n_servers; i++) {
        free(h->servers[i].rows);
        free(h->servers[i].counters);
    }
    for (size_t i = 0; i < h->n_file_names; i++) {
        free(h->file_names[i]);
    }
    free(h->ops);
    free(h->faults);
    free(h->vip);
    free(h->arp);
    free(h->servers);
    free(h->hosts);
    free(h->file_names);
    memset(h, 0, sizeof(*h));
}

const char *history_host_of_server(const struct history *h, int64_t server_id)
{
    if (server_id < 0) {
        return NULL;
    }
    for (size_t i = 0; i < h->n_hosts; i++) {
        if (h->hosts[i].server_id == server_id) {
            return h->hosts[i].name;
        }
    }
    for (size_t i = 0; i < h->n_servers; i++) {
        if (h->servers[i].server_id == server_id) {
            return h->servers[i].name;
        }
    }
    return NULL;
}

const char *history_host_of_mac(const struct history *h, const char *mac)
{
    for (size_t i = 0; i < h->n_hosts; i++) {
        if (h->hosts[i].mac[0] != '\0' && strcasecmp(h->hosts[i].mac, mac) == 0) {
            return h->hosts[i].name;
        }
    }
    return NULL;
}

const char *history_outcome_name(enum history_outcome outcome)
{
    switch (outcome) {
    case HISTORY_OK:
        return "ok";
    case HISTORY_FAIL:
        return "fail";
    case HISTORY_UNKNOWN:
        break;
    }
    return "unknown";
}

const char *history_f_name(enum history_f f)
{
    return f == HISTORY_INSERT ? "insert" : "incr";
}

/* Append @value to @out as a JSON string (quoted and escaped); NULL becomes null. */
static int append_json_string(char *buf, size_t size, size_t *len, const char *value)
{
    if (value == NULL) {
        int n = snprintf(buf + *len, size - *len, "null");
        if (n < 0 || (size_t)n >= size - *len) {
            return -ENOSPC;
        }
        *len += (size_t)n;
        return 0;
    }
    if (*len + 2 > size) {
        return -ENOSPC;
    }
    buf[(*len)++] = '"';
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        char esc[8];
        size_t n;
        if (*p == '"' || *p == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*p;
            n = 2;
        } else if (*p < 0x20) {
            snprintf(esc, sizeof(esc), "\\u%04x", *p);
            n = 6;
        } else {
            esc[0] = (char)*p;
            n = 1;
        }
        if (*len + n + 2 > size) {
            return -ENOSPC;
        }
        memcpy(buf + *len, esc, n);
        *len += n;
    }
    buf[(*len)++] = '"';
    buf[*len] = '\0';
    return 0;
}

static int append(char *buf, size_t size, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int append(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *len, size - *len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= size - *len) {
        return -ENOSPC;
    }
    *len += (size_t)n;
    return 0;
}

static int append_nullable(char *buf, size_t size, size_t *len, const char *name, bool present,
                           int64_t value)
{
    if (!present) {
        return append(buf, size, len, ",\"%s\":null", name);
    }
    return append(buf, size, len, ",\"%s\":%" PRId64, name, value);
}

int history_format_op(const struct history_op *op, const char *error, char *buf, size_t size)
{
    size_t len = 0;
    int rc = append(buf, size, &len, "{\"type\":\"op\",\"worker\":%d,\"conn\":\"%s\",\"f\":\"%s\"",
                    op->worker, op->new_conn ? "new" : "long", history_f_name(op->f));
    if (rc == 0) {
        rc = append_nullable(buf, size, &len, "key", op->f == HISTORY_INCR, op->key);
    }
    if (rc == 0) {
        rc = append_nullable(buf, size, &len, "value", op->has_value, op->value);
    }
    if (rc == 0) {
        rc = append(buf, size, &len, ",\"start\":%.3f,\"end\":%.3f,\"outcome\":\"%s\"", op->start,
                    op->end, history_outcome_name(op->outcome));
    }
    if (rc == 0) {
        rc = append_nullable(buf, size, &len, "server_id", op->server_id >= 0, op->server_id);
    }
    if (rc == 0) {
        rc = append_nullable(buf, size, &len, "epoch", op->epoch >= 0, op->epoch);
    }
    if (rc == 0) {
        rc = append(buf, size, &len, ",\"error\":");
    }
    if (rc == 0) {
        rc = append_json_string(buf, size, &len, error);
    }
    if (rc == 0) {
        rc = append(buf, size, &len, "}\n");
    }
    return rc == 0 ? (int)len : rc;
}
