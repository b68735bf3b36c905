/*
 * The checkers. Each works on the merged timeline of struct history and fills one
 * struct checks_result; jepsen/HISTORY.md explains each rule and why it proves what it says.
 */
#include "jepsen/checks.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_HOSTS 16

void checks_options_default(struct checks_options *opt)
{
    opt->gap_ms = 200;
    opt->grace_ms = 5000;
    opt->max_quiet_pause_ms = 1000;
    opt->max_pause_ms = 30000;
    opt->max_heal_pause_ms = 2000;
    opt->max_evidence = 40;
}

const char *checks_invariant_name(enum checks_invariant inv)
{
    static const char *const names[CHECKS_N] = {"one-vip-holder", "one-writer", "no-lost-write",
                                                "convergence", "liveness"};
    return inv < CHECKS_N ? names[inv] : "?";
}

const char *checks_verdict_name(enum checks_verdict verdict)
{
    return verdict == CHECKS_PASS ? "PASS" : verdict == CHECKS_FAIL ? "FAIL" : "SKIP";
}

bool checks_failed(const struct checks_report *r)
{
    for (int i = 0; i < CHECKS_N; i++) {
        if (r->results[i].verdict == CHECKS_FAIL) {
            return true;
        }
    }
    return false;
}

/* The state shared by the checkers of one run. */
struct ctx {
    const struct history *h;
    const struct checks_options *opt;
    struct checks_report *r;
    int rc; /* the first -ENOMEM */
    /* ok operations that reached a server, by end time */
    const struct history_op **ok_by_end;
    size_t n_ok;
};

static void *grow(struct ctx *c, void **array, size_t *n, size_t size)
{
    void *p = realloc(*array, (*n + 1) * size);
    if (p == NULL) {
        c->rc = -ENOMEM;
        return NULL;
    }
    *array = p;
    void *slot = (char *)p + *n * size;
    memset(slot, 0, size);
    (*n)++;
    return slot;
}

static void evidence(struct ctx *c, struct checks_result *res, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void evidence(struct ctx *c, struct checks_result *res, const char *fmt, ...)
{
    if (res->n_evidence >= c->opt->max_evidence) {
        res->n_evidence_dropped++;
        return;
    }
    char line[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    char *copy = strdup(line);
    char **slot = copy ? grow(c, (void **)&res->evidence, &res->n_evidence, sizeof(char *)) : NULL;
    if (slot == NULL) {
        free(copy);
        c->rc = -ENOMEM;
        return;
    }
    *slot = copy;
}

static void evidence_src(struct ctx *c, struct checks_result *res, const struct history_source *s)
{
    if (s->text != NULL) {
        evidence(c, res, "  %s:%zu: %s", s->file, s->line, s->text);
    }
}

static void count(struct checks_result *res, const char *name, double value)
{
    if (res->n_counts < CHECKS_MAX_COUNTS) {
        snprintf(res->counts[res->n_counts].name, sizeof(res->counts[0].name), "%s", name);
        res->counts[res->n_counts++].value = value;
    }
}

/* Seconds since the run's origin, for messages. */
static double rel(const struct ctx *c, double t)
{
    return (t - c->r->t0) / 1000.0;
}

static const char *host_of(const struct ctx *c, int64_t server_id, char *buf, size_t size)
{
    const char *name = history_host_of_server(c->h, server_id);
    if (name != NULL) {
        return name;
    }
    snprintf(buf, size, "server_id %" PRId64, server_id);
    return buf;
}

static bool fault_near(const struct ctx *c, double a, double b)
{
    for (size_t i = 0; i < c->h->n_faults; i++) {
        const struct history_fault *f = &c->h->faults[i];
        if (f->start <= b && f->end + c->opt->grace_ms >= a) {
            return true;
        }
    }
    return false;
}

static void faults_near(const struct ctx *c, double a, double b, char *out, size_t size)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < c->h->n_faults && len + 1 < size; i++) {
        const struct history_fault *f = &c->h->faults[i];
        if (f->start <= b && f->end + c->opt->grace_ms >= a) {
            int n =
                snprintf(out + len, size - len, "%s%s(%s)", len ? ", " : "", f->fault, f->target);
            if (n < 0 || (size_t)n >= size - len) {
                break;
            }
            len += (size_t)n;
        }
    }
}

/* ---- (a) one VIP holder ---- */

/* Whether @host held the VIP at some instant within ARP_SLACK_MS of @t. The observers are
 * separate processes: a holder's gratuitous ARP is often captured on the bridge a few tens of
 * microseconds before its own netlink event is read. */
#define ARP_SLACK_MS 100.0

static bool holds_near(const struct ctx *c, const char *host, double t)
{
    for (size_t i = 0; i < c->r->n_holdings; i++) {
        const struct checks_span *s = &c->r->holdings[i];
        if (strcmp(s->host, host) == 0 && s->start <= t + ARP_SLACK_MS &&
            t - ARP_SLACK_MS < s->end) {
            return true;
        }
    }
    return false;
}

static void holders_string(char hosts[][HISTORY_NAME_SIZE], const bool *holding, size_t n,
                           char *out, size_t size)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (holding[i]) {
            int k = snprintf(out + len, size - len, "%s%s", len ? "+" : "", hosts[i]);
            if (k < 0 || (size_t)k >= size - len) {
                break;
            }
            len += (size_t)k;
        }
    }
}

/* Hosts losing the VIP after their first observation: failovers to explain. */
struct vip_change {
    double t;
    const struct history_source *src;
};

static void check_one_holder(struct ctx *c, struct vip_change **changes, size_t *n_changes)
{
    const struct history *h = c->h;
    struct checks_result *res = &c->r->results[CHECKS_ONE_HOLDER];
    if (h->n_observe_files == 0) {
        res->verdict = CHECKS_SKIP;
        snprintf(res->summary, sizeof(res->summary), "no observe-HOST.jsonl in the run directory");
        return;
    }
    char hosts[MAX_HOSTS][HISTORY_NAME_SIZE];
    bool holding[MAX_HOSTS] = {false}, seen[MAX_HOSTS] = {false};
    double since[MAX_HOSTS] = {0};
    size_t n_hosts = 0;
    bool dual_open = false;
    double dual_start = 0;
    const struct history_source *dual_src = NULL;
    double t_end = h->t_max;
    for (size_t i = 0; i < h->n_vip;) {
        double t = h->vip[i].t;
        size_t group_end = i;
        for (; group_end < h->n_vip && h->vip[group_end].t == t; group_end++) {
            const struct history_vip *e = &h->vip[group_end];
            size_t k = 0;
            while (k < n_hosts && strcmp(hosts[k], e->host) != 0) {
                k++;
            }
            if (k == n_hosts) {
                if (n_hosts == MAX_HOSTS) {
                    continue;
                }
                snprintf(hosts[n_hosts++], HISTORY_NAME_SIZE, "%s", e->host);
            }
            bool now = e->event == HISTORY_VIP_ADD || e->event == HISTORY_VIP_PRESENT;
            if (now == holding[k]) {
                seen[k] = true;
                continue;
            }
            /* A failover starts when a holder loses the VIP; taking a VIP nobody holds is
             * the end of one (or a late recovery, which the liveness windows judge). */
            if (seen[k] && !now) {
                struct vip_change *ch = grow(c, (void **)changes, n_changes, sizeof(*ch));
                if (ch != NULL) {
                    ch->t = t;
                    ch->src = &e->src;
                }
            }
            seen[k] = true;
            holding[k] = now;
            if (now) {
                since[k] = t;
            } else {
                struct checks_span *s =
                    grow(c, (void **)&c->r->holdings, &c->r->n_holdings, sizeof(*s));
                if (s != NULL) {
                    *s = (struct checks_span){.start = since[k], .end = t, .epoch = -1};
                    memcpy(s->host, hosts[k], HISTORY_NAME_SIZE);
                }
            }
        }
        size_t n_holding = 0;
        for (size_t k = 0; k < n_hosts; k++) {
            n_holding += holding[k];
        }
        if (n_holding >= 2 && !dual_open) {
            dual_open = true;
            dual_start = t;
            dual_src = &h->vip[group_end - 1].src;
            struct checks_span *s = grow(c, (void **)&c->r->dual, &c->r->n_dual, sizeof(*s));
            if (s != NULL) {
                *s = (struct checks_span){.start = t, .end = t_end, .epoch = -1};
                holders_string(hosts, holding, n_hosts, s->host, sizeof(s->host));
            }
        } else if (n_holding < 2 && dual_open) {
            dual_open = false;
            c->r->dual[c->r->n_dual - 1].end = t;
            c->r->dual_ms += t - dual_start;
            if (c->r->n_dual <= 3) {
                evidence(c, res, "%s hold the VIP together from %+.3fs to %+.3fs (%.1f ms):",
                         c->r->dual[c->r->n_dual - 1].host, rel(c, dual_start), rel(c, t),
                         t - dual_start);
                evidence_src(c, res, dual_src);
                evidence_src(c, res, &h->vip[group_end - 1].src);
            }
        }
        i = group_end;
    }
    if (dual_open) {
        c->r->dual_ms += t_end - dual_start;
        evidence(c, res, "%s hold the VIP together from %+.3fs to the end of the observations:",
                 c->r->dual[c->r->n_dual - 1].host, rel(c, dual_start));
        evidence_src(c, res, dual_src);
    }
    for (size_t k = 0; k < n_hosts; k++) {
        if (holding[k]) {
            struct checks_span *s =
                grow(c, (void **)&c->r->holdings, &c->r->n_holdings, sizeof(*s));
            if (s != NULL) {
                *s = (struct checks_span){.start = since[k], .end = t_end, .epoch = -1};
                memcpy(s->host, hosts[k], HISTORY_NAME_SIZE);
            }
        }
    }
    res->verdict = c->r->n_dual == 0 ? CHECKS_PASS : CHECKS_FAIL;
    count(res, "dual_intervals", (double)c->r->n_dual);
    count(res, "dual_ms", c->r->dual_ms);
    count(res, "hosts", (double)n_hosts);
    count(res, "vip_losses", (double)*n_changes);
    snprintf(res->summary, sizeof(res->summary),
             "%zu interval(s) with two or more holders, %.1f ms in total; %zu host(s) observed, "
             "%zu loss(es) of the VIP",
             c->r->n_dual, c->r->dual_ms, n_hosts, *n_changes);
}

/* ---- (b) one writable server ---- */

static int op_end_compare(const void *a, const void *b)
{
    const struct history_op *x = *(const struct history_op *const *)a;
    const struct history_op *y = *(const struct history_op *const *)b;
    return (x->end > y->end) - (x->end < y->end);
}

static int op_epoch_compare(const void *a, const void *b)
{
    const struct history_op *x = *(const struct history_op *const *)a;
    const struct history_op *y = *(const struct history_op *const *)b;
    if (x->epoch != y->epoch) {
        return (x->epoch > y->epoch) - (x->epoch < y->epoch);
    }
    return (x->start > y->start) - (x->start < y->start);
}

/* Epoch rule 1: each epoch's ok writes all on one server. */
static size_t epochs_on_two_servers(struct ctx *c, const struct history_op **ops, size_t n)
{
    struct checks_result *res = &c->r->results[CHECKS_ONE_WRITER];
    qsort(ops, n, sizeof(*ops), op_epoch_compare);
    size_t bad = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        const struct history_op *other = NULL;
        for (; j < n && ops[j]->epoch == ops[i]->epoch; j++) {
            if (other == NULL && ops[j]->server_id != ops[i]->server_id) {
                other = ops[j];
            }
        }
        struct checks_span *s = grow(c, (void **)&c->r->epochs, &c->r->n_epochs, sizeof(*s));
        if (s != NULL) {
            char buf[HISTORY_NAME_SIZE];
            *s = (struct checks_span){
                .start = ops[i]->start, .end = ops[i]->end, .epoch = ops[i]->epoch};
            for (size_t k = i; k < j; k++) {
                s->end = ops[k]->end > s->end ? ops[k]->end : s->end;
            }
            snprintf(s->host, sizeof(s->host), "%s",
                     host_of(c, ops[i]->server_id, buf, HISTORY_NAME_SIZE));
        }
        if (other != NULL) {
            char b1[HISTORY_NAME_SIZE], b2[HISTORY_NAME_SIZE];
            bad++;
            evidence(c, res,
                     "epoch %" PRId64 " has ok writes on two servers, %s and %s:", ops[i]->epoch,
                     host_of(c, ops[i]->server_id, b1, HISTORY_NAME_SIZE),
                     host_of(c, other->server_id, b2, HISTORY_NAME_SIZE));
            evidence_src(c, res, &ops[i]->src);
            evidence_src(c, res, &other->src);
        }
        i = j;
    }
    return bad;
}

/* Epoch rule 2: an ok write never carries a lower epoch than one that ended before it began. */
static size_t epochs_out_of_order(struct ctx *c, const struct history_op **by_start, size_t n)
{
    struct checks_result *res = &c->r->results[CHECKS_ONE_WRITER];
    const struct history_op **by_end = malloc((n ? n : 1) * sizeof(*by_end));
    if (by_end == NULL) {
        c->rc = -ENOMEM;
        return 0;
    }
    memcpy(by_end, by_start, n * sizeof(*by_end));
    qsort(by_end, n, sizeof(*by_end), op_end_compare);
    size_t bad = 0, k = 0;
    const struct history_op *highest = NULL;
    for (size_t i = 0; i < n; i++) {
        const struct history_op *op = by_start[i];
        for (; k < n && by_end[k]->end < op->start; k++) {
            if (highest == NULL || by_end[k]->epoch > highest->epoch) {
                highest = by_end[k];
            }
        }
        if (highest != NULL && op->epoch < highest->epoch) {
            bad++;
            if (bad <= 3) {
                char b1[HISTORY_NAME_SIZE], b2[HISTORY_NAME_SIZE];
                evidence(c, res,
                         "an ok write of epoch %" PRId64 " on %s began at %+.3fs, after an ok "
                         "write of epoch %" PRId64 " on %s had ended at %+.3fs:",
                         op->epoch, host_of(c, op->server_id, b1, HISTORY_NAME_SIZE),
                         rel(c, op->start), highest->epoch,
                         host_of(c, highest->server_id, b2, HISTORY_NAME_SIZE),
                         rel(c, highest->end));
                evidence_src(c, res, &highest->src);
                evidence_src(c, res, &op->src);
            }
        }
    }
    free(by_end);
    return bad;
}

/* Whether @b held the VIP without @a at some instant of (w0, w1): a handover a -> b -> a. */
static bool sole_holder_within(const struct ctx *c, const char *b, const char *a, double w0,
                               double w1)
{
    for (size_t i = 0; i < c->r->n_holdings; i++) {
        const struct checks_span *s = &c->r->holdings[i];
        if (strcmp(s->host, b) != 0 || s->end <= w0 || s->start >= w1) {
            continue;
        }
        double from = s->start > w0 ? s->start : w0;
        double to = s->end < w1 ? s->end : w1;
        /* Is [from, to) covered by a's holdings? (a's spans are disjoint.) */
        double covered_to = from;
        bool progress = true;
        while (progress && covered_to < to) {
            progress = false;
            for (size_t k = 0; k < c->r->n_holdings; k++) {
                const struct checks_span *t = &c->r->holdings[k];
                if (strcmp(t->host, a) == 0 && t->start <= covered_to && t->end > covered_to) {
                    covered_to = t->end;
                    progress = true;
                }
            }
        }
        if (covered_to < to) {
            return true;
        }
    }
    return false;
}

struct server_ops {
    int64_t server_id;
    const struct history_op **by_end; /* this server's ok ops by end */
    size_t n;
    size_t *best; /* best[i]: index of the latest-starting op among by_end[0..i] */
};

/* Among @s's ops that ended before @t, the one that started last; NULL if none. */
static const struct history_op *latest_before(const struct server_ops *s, double t)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (s->by_end[mid]->end < t) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo == 0 ? NULL : s->by_end[s->best[lo - 1]];
}

/* Without epochs: ok writes on A, then B, then A again, each beginning after the previous one
 * ended, with no instant in between at which B held the VIP without A. */
static size_t servers_alternate(struct ctx *c, const struct history_op **ok, size_t n)
{
    struct checks_result *res = &c->r->results[CHECKS_ONE_WRITER];
    struct server_ops servers[MAX_HOSTS];
    size_t n_servers = 0;
    memset(servers, 0, sizeof(servers));
    for (size_t i = 0; i < n; i++) { /* ok is sorted by end */
        size_t k = 0;
        while (k < n_servers && servers[k].server_id != ok[i]->server_id) {
            k++;
        }
        if (k == n_servers) {
            if (n_servers == MAX_HOSTS) {
                continue;
            }
            servers[n_servers++].server_id = ok[i]->server_id;
        }
        struct server_ops *s = &servers[k];
        const struct history_op **p = realloc(s->by_end, (s->n + 1) * sizeof(*p));
        size_t *b = realloc(s->best, (s->n + 1) * sizeof(*b));
        if (p != NULL) {
            s->by_end = p;
        }
        if (b != NULL) {
            s->best = b;
        }
        if (p == NULL || b == NULL) {
            c->rc = -ENOMEM;
            break;
        }
        s->by_end[s->n] = ok[i];
        s->best[s->n] = s->n > 0 && s->by_end[s->best[s->n - 1]]->start > ok[i]->start
                            ? s->best[s->n - 1]
                            : s->n;
        s->n++;
    }
    size_t bad = 0;
    for (size_t k = 0; k < n_servers && c->rc == 0; k++) {
        for (size_t i = 0; i < servers[k].n; i++) {
            const struct history_op *op3 = servers[k].by_end[i];
            for (size_t j = 0; j < n_servers; j++) {
                if (j == k) {
                    continue;
                }
                const struct history_op *op2 = latest_before(&servers[j], op3->start);
                const struct history_op *op1 = op2 ? latest_before(&servers[k], op2->start) : NULL;
                if (op1 == NULL) {
                    continue;
                }
                char ba[HISTORY_NAME_SIZE], bb[HISTORY_NAME_SIZE];
                const char *a = host_of(c, op3->server_id, ba, HISTORY_NAME_SIZE);
                const char *b = host_of(c, op2->server_id, bb, HISTORY_NAME_SIZE);
                if (sole_holder_within(c, b, a, op1->start, op3->end)) {
                    continue;
                }
                bad++;
                if (bad <= 3) {
                    evidence(c, res,
                             "ok writes on %s, then %s, then %s again, one after the other "
                             "(%+.3fs .. %+.3fs), and %s never held the VIP alone in between:",
                             a, b, a, rel(c, op1->start), rel(c, op3->end), b);
                    evidence_src(c, res, &op1->src);
                    evidence_src(c, res, &op2->src);
                    evidence_src(c, res, &op3->src);
                }
                break;
            }
        }
    }
    for (size_t k = 0; k < n_servers; k++) {
        free(servers[k].by_end);
        free(servers[k].best);
    }
    return bad;
}

static void check_one_writer(struct ctx *c)
{
    struct checks_result *res = &c->r->results[CHECKS_ONE_WRITER];
    const struct history_op **with_epoch = malloc((c->n_ok ? c->n_ok : 1) * sizeof(*with_epoch));
    if (with_epoch == NULL) {
        c->rc = -ENOMEM;
        return;
    }
    size_t n_epoch = 0;
    for (size_t i = 0; i < c->h->n_ops; i++) {
        const struct history_op *op = &c->h->ops[i];
        if (op->outcome == HISTORY_OK && op->server_id >= 0 && op->epoch >= 0) {
            with_epoch[n_epoch++] = op; /* by start: h->ops is sorted by start */
        }
    }
    if (c->n_ok == 0) {
        res->verdict = CHECKS_SKIP;
        snprintf(res->summary, sizeof(res->summary), "no ok write that names its server");
    } else if (n_epoch > 0) {
        size_t out_of_order = epochs_out_of_order(c, with_epoch, n_epoch);
        size_t shared = epochs_on_two_servers(c, with_epoch, n_epoch);
        res->verdict = out_of_order + shared == 0 ? CHECKS_PASS : CHECKS_FAIL;
        count(res, "ok_writes_with_epoch", (double)n_epoch);
        count(res, "ok_writes_without_epoch", (double)(c->n_ok - n_epoch));
        count(res, "epochs", (double)c->r->n_epochs);
        count(res, "epochs_on_two_servers", (double)shared);
        count(res, "epoch_order_violations", (double)out_of_order);
        snprintf(res->summary, sizeof(res->summary),
                 "by epoch: %zu ok write(s) in %zu epoch(s); %zu epoch(s) written on two "
                 "servers, %zu write(s) of an older epoch after a newer one; %zu ok write(s) "
                 "without an epoch not checked",
                 n_epoch, c->r->n_epochs, shared, out_of_order, c->n_ok - n_epoch);
    } else {
        size_t bad = servers_alternate(c, c->ok_by_end, c->n_ok);
        res->verdict = bad == 0 ? CHECKS_PASS : CHECKS_FAIL;
        count(res, "ok_writes", (double)c->n_ok);
        count(res, "alternations", (double)bad);
        snprintf(res->summary, sizeof(res->summary),
                 "without epochs (real-time order of servers and the VIP's holders): %zu ok "
                 "write(s); %zu write(s) back on a server after another took writes with no "
                 "handover of the VIP%s",
                 c->n_ok, bad,
                 c->h->n_observe_files == 0 ? " (no observer files: every return counts)" : "");
    }
    free(with_epoch);
}

/* ---- (c) no acknowledged write lost ---- */

static int int64_compare(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static bool server_has_row(const struct history_server *s, int64_t id)
{
    return bsearch(&id, s->rows, s->n_rows, sizeof(int64_t), int64_compare) != NULL;
}

static bool counter_value(const struct history_server *s, int64_t key, int64_t *value)
{
    for (size_t i = 0; i < s->n_counters; i++) {
        if (s->counters[i].key == key) {
            *value = s->counters[i].value;
            return true;
        }
    }
    return false;
}

static int op_key_value_compare(const void *a, const void *b)
{
    const struct history_op *x = *(const struct history_op *const *)a;
    const struct history_op *y = *(const struct history_op *const *)b;
    if (x->key != y->key) {
        return (x->key > y->key) - (x->key < y->key);
    }
    return (x->value > y->value) - (x->value < y->value);
}

static void check_inserts(struct ctx *c, size_t *n_ok_inserts, size_t *missing_total)
{
    const struct history *h = c->h;
    struct checks_result *res = &c->r->results[CHECKS_NO_LOST_WRITE];
    for (size_t i = 0; i < h->n_ops; i++) {
        *n_ok_inserts += h->ops[i].f == HISTORY_INSERT && h->ops[i].outcome == HISTORY_OK;
    }
    /* Servers that report only a count: at least the difference is missing. */
    for (size_t s = 0; s < h->n_servers; s++) {
        const struct history_server *srv = &h->servers[s];
        if (srv->reachable && !srv->has_rows && srv->rows_count >= 0 &&
            (size_t)srv->rows_count < *n_ok_inserts) {
            size_t deficit = *n_ok_inserts - (size_t)srv->rows_count;
            *missing_total = deficit > *missing_total ? deficit : *missing_total;
            evidence(c, res,
                     "%s holds %" PRId64 " rows but %zu inserts were acknowledged "
                     "(final.json has no row ids to say which are missing)",
                     srv->name, srv->rows_count, *n_ok_inserts);
        }
    }
    size_t missing = 0;
    for (size_t i = 0; i < h->n_ops; i++) {
        const struct history_op *op = &h->ops[i];
        if (op->f != HISTORY_INSERT || op->outcome != HISTORY_OK) {
            continue;
        }
        char where[256] = "";
        size_t len = 0;
        for (size_t s = 0; s < h->n_servers; s++) {
            const struct history_server *srv = &h->servers[s];
            if (srv->reachable && srv->has_rows && !server_has_row(srv, op->value) &&
                len + strlen(srv->name) + 3 < sizeof(where)) {
                len += (size_t)snprintf(where + len, sizeof(where) - len, "%s%s", len ? ", " : "",
                                        srv->name);
            }
        }
        if (len > 0 && ++missing <= 5) {
            evidence(c, res, "acknowledged row %" PRId64 " is missing on %s:", op->value, where);
            evidence_src(c, res, &op->src);
        }
    }
    if (missing > 5) {
        evidence(c, res, "%zu acknowledged rows are missing in all", missing);
    }
    *missing_total = missing > *missing_total ? missing : *missing_total;
}

static void check_counters(struct ctx *c, size_t *n_ok_incr, size_t *lost_total,
                           size_t *lost_updates, size_t *below)
{
    const struct history *h = c->h;
    struct checks_result *res = &c->r->results[CHECKS_NO_LOST_WRITE];
    const struct history_op **incr = malloc((h->n_ops ? h->n_ops : 1) * sizeof(*incr));
    if (incr == NULL) {
        c->rc = -ENOMEM;
        return;
    }
    size_t n = 0;
    for (size_t i = 0; i < h->n_ops; i++) {
        if (h->ops[i].f == HISTORY_INCR && h->ops[i].outcome == HISTORY_OK) {
            incr[n++] = &h->ops[i];
        }
    }
    *n_ok_incr = n;
    qsort(incr, n, sizeof(*incr), op_key_value_compare);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        for (; j < n && incr[j]->key == incr[i]->key; j++) {
            if (j > i && incr[j]->value == incr[j - 1]->value) {
                if (++*lost_updates <= 3) {
                    evidence(c, res,
                             "two acknowledged increments of counter %" PRId64
                             " both wrote %" PRId64 ": one update overwrote the other:",
                             incr[j]->key, incr[j]->value);
                    evidence_src(c, res, &incr[j - 1]->src);
                    evidence_src(c, res, &incr[j]->src);
                }
            }
        }
        int64_t key = incr[i]->key;
        size_t ok_count = j - i;
        const struct history_op *highest = incr[j - 1];
        size_t unknown = 0;
        for (size_t k = 0; k < h->n_ops; k++) {
            unknown += h->ops[k].f == HISTORY_INCR && h->ops[k].key == key &&
                       h->ops[k].outcome == HISTORY_UNKNOWN;
        }
        size_t lost_here = 0; /* the most lost on any one server */
        for (size_t s = 0; s < h->n_servers; s++) {
            const struct history_server *srv = &h->servers[s];
            if (!srv->reachable) {
                continue;
            }
            int64_t final = 0;
            if (!counter_value(srv, key, &final)) {
                lost_here = ok_count > lost_here ? ok_count : lost_here;
                evidence(c, res,
                         "counter %" PRId64 " is missing on %s after %zu acknowledged "
                         "increments",
                         key, srv->name, ok_count);
                continue;
            }
            if (final < highest->value) {
                ++*below;
                evidence(c, res,
                         "counter %" PRId64 " is %" PRId64 " on %s, below the acknowledged "
                         "value %" PRId64 ":",
                         key, final, srv->name, highest->value);
                evidence_src(c, res, &highest->src);
            }
            if ((int64_t)ok_count > final) {
                size_t lost = ok_count - (size_t) final;
                lost_here = lost > lost_here ? lost : lost_here;
                evidence(c, res,
                         "counter %" PRId64 " is %" PRId64 " on %s after %zu acknowledged "
                         "increments: %" PRId64 " lost",
                         key, final, srv->name, ok_count, (int64_t)ok_count - final);
            } else if (final > (int64_t)(ok_count + unknown)) {
                /* Not a loss: an increment reported failed that committed; worth knowing. */
                evidence(c, res,
                         "note: counter %" PRId64 " is %" PRId64 " on %s, more than the %zu "
                         "ok and %zu unknown increments",
                         key, final, srv->name, ok_count, unknown);
            }
        }
        *lost_total += lost_here;
        i = j;
    }
    free(incr);
}

static void check_no_lost_write(struct ctx *c)
{
    const struct history *h = c->h;
    struct checks_result *res = &c->r->results[CHECKS_NO_LOST_WRITE];
    if (!h->has_final) {
        res->verdict = CHECKS_SKIP;
        snprintf(res->summary, sizeof(res->summary), "no final.json in the run directory");
        return;
    }
    size_t reachable = 0;
    for (size_t s = 0; s < h->n_servers; s++) {
        reachable += h->servers[s].reachable;
        if (!h->servers[s].reachable) {
            evidence(c, res, "%s was unreachable at the end: not checked", h->servers[s].name);
        }
    }
    size_t n_ins = 0, missing = 0, n_incr = 0, lost = 0, lost_updates = 0, below = 0;
    check_inserts(c, &n_ins, &missing);
    check_counters(c, &n_incr, &lost, &lost_updates, &below);
    res->verdict = reachable > 0 && missing == 0 && lost == 0 && lost_updates == 0 && below == 0
                       ? CHECKS_PASS
                       : CHECKS_FAIL;
    count(res, "ok_inserts", (double)n_ins);
    count(res, "missing_inserts", (double)missing);
    count(res, "ok_increments", (double)n_incr);
    count(res, "lost_increments", (double)lost);
    count(res, "lost_updates", (double)lost_updates);
    count(res, "servers_checked", (double)reachable);
    snprintf(res->summary, sizeof(res->summary),
             "%zu server(s) checked: %zu acknowledged insert(s), %zu missing; %zu acknowledged "
             "increment(s), %zu lost, %zu pair(s) writing the same value",
             reachable, n_ins, missing, n_incr, lost, lost_updates);
}

/* ---- (d) convergence ---- */

static size_t compare_servers(struct ctx *c, const struct history_server *a,
                              const struct history_server *b)
{
    struct checks_result *res = &c->r->results[CHECKS_CONVERGENCE];
    size_t differences = 0;
    if (a->checksum_rows[0] && b->checksum_rows[0] && strcmp(a->checksum_rows, b->checksum_rows)) {
        differences++;
        evidence(c, res, "rows checksum differs: %s %s, %s %s", a->name, a->checksum_rows, b->name,
                 b->checksum_rows);
    }
    if (a->checksum_counters[0] && b->checksum_counters[0] &&
        strcmp(a->checksum_counters, b->checksum_counters)) {
        differences++;
        evidence(c, res, "counters checksum differs: %s %s, %s %s", a->name, a->checksum_counters,
                 b->name, b->checksum_counters);
    }
    if (a->rows_count >= 0 && b->rows_count >= 0 && a->rows_count != b->rows_count) {
        differences++;
        evidence(c, res, "row count differs: %s %" PRId64 ", %s %" PRId64, a->name, a->rows_count,
                 b->name, b->rows_count);
    }
    if (a->has_rows && b->has_rows) {
        size_t shown = 0;
        for (size_t i = 0; i < a->n_rows && shown < 3; i++) {
            if (!server_has_row(b, a->rows[i])) {
                shown++;
                evidence(c, res, "row %" PRId64 " is on %s, not on %s", a->rows[i], a->name,
                         b->name);
            }
        }
        for (size_t i = 0; i < b->n_rows && shown < 6; i++) {
            if (!server_has_row(a, b->rows[i])) {
                shown++;
                evidence(c, res, "row %" PRId64 " is on %s, not on %s", b->rows[i], b->name,
                         a->name);
            }
        }
        differences += shown > 0 && a->rows_count == b->rows_count;
    }
    for (size_t i = 0; i < a->n_counters; i++) {
        int64_t v;
        bool has = counter_value(b, a->counters[i].key, &v);
        if (!has || v != a->counters[i].value) {
            differences++;
            evidence(c, res, "counter %" PRId64 ": %" PRId64 " on %s, %s%" PRId64 " on %s",
                     a->counters[i].key, a->counters[i].value, a->name, has ? "" : "missing ",
                     has ? v : 0, b->name);
        }
    }
    for (size_t i = 0; i < b->n_counters; i++) {
        int64_t v;
        if (!counter_value(a, b->counters[i].key, &v)) {
            differences++;
            evidence(c, res, "counter %" PRId64 " is on %s, not on %s", b->counters[i].key, b->name,
                     a->name);
        }
    }
    return differences;
}

static void check_convergence(struct ctx *c)
{
    const struct history *h = c->h;
    struct checks_result *res = &c->r->results[CHECKS_CONVERGENCE];
    if (!h->has_final || h->n_servers < 2) {
        res->verdict = CHECKS_SKIP;
        snprintf(res->summary, sizeof(res->summary), "%s",
                 h->has_final ? "fewer than two servers in final.json"
                              : "no final.json in the run directory");
        return;
    }
    size_t unreachable = 0, differing = 0;
    const struct history_server *first = NULL;
    for (size_t s = 0; s < h->n_servers; s++) {
        const struct history_server *srv = &h->servers[s];
        if (!srv->reachable) {
            unreachable++;
            evidence(c, res, "%s was unreachable after healing: its data cannot be compared",
                     srv->name);
            continue;
        }
        if (first == NULL) {
            first = srv;
            continue;
        }
        differing += compare_servers(c, first, srv) > 0;
    }
    res->verdict = unreachable == 0 && differing == 0 ? CHECKS_PASS : CHECKS_FAIL;
    count(res, "servers", (double)h->n_servers);
    count(res, "unreachable", (double)unreachable);
    count(res, "differing", (double)differing);
    snprintf(res->summary, sizeof(res->summary),
             "%zu server(s): %zu unreachable, %zu differing from %s", h->n_servers, unreachable,
             differing, first ? first->name : "-");
}

/* ---- (e) liveness ---- */

static size_t arp_wrong_within(const struct ctx *c, double a, double b,
                               const struct history_arp **first)
{
    const struct history *h = c->h;
    size_t n = 0;
    *first = NULL;
    if (h->n_observe_files == 0) {
        return 0;
    }
    for (size_t i = 0; i < h->n_arp; i++) {
        const struct history_arp *arp = &h->arp[i];
        if (arp->t < a || arp->t > b) {
            continue;
        }
        if (h->vip_address[0] != '\0' && strcmp(arp->sender_ip, h->vip_address) != 0) {
            continue;
        }
        const char *host = arp->host[0] ? arp->host : history_host_of_mac(h, arp->sender_mac);
        if (host != NULL && !holds_near(c, host, arp->t)) {
            if (n++ == 0) {
                *first = arp;
            }
        }
    }
    return n;
}

/* The longest stretch of @w that begins when a fault ends and during which no fault is active:
 * writes that stay unavailable after a heal. */
static void longest_stall(const struct ctx *c, struct checks_window *w)
{
    w->stall_start = w->stall_end = w->start;
    for (size_t i = 0; i < c->h->n_faults; i++) {
        double from = c->h->faults[i].end;
        if (!c->h->faults[i].ended || from < w->start || from >= w->end) {
            continue;
        }
        double to = w->end;
        bool covered = false;
        for (size_t k = 0; k < c->h->n_faults && !covered; k++) {
            const struct history_fault *f = &c->h->faults[k];
            if (f->start <= from && f->end > from) {
                covered = true; /* another fault is still active: not healed yet */
            } else if (f->start > from && f->start < to) {
                to = f->start;
            }
        }
        if (!covered && to - from > w->stall_end - w->stall_start) {
            w->stall_start = from;
            w->stall_end = to;
        }
    }
}

static void find_windows(struct ctx *c)
{
    const struct history *h = c->h;
    double last_op_end = -1;
    for (size_t i = 0; i < h->n_ops; i++) {
        last_op_end = h->ops[i].end > last_op_end ? h->ops[i].end : last_op_end;
    }
    for (size_t i = 0; i + 1 <= c->n_ok; i++) {
        double a = c->ok_by_end[i]->end;
        bool last = i + 1 == c->n_ok;
        double b = last ? last_op_end : c->ok_by_end[i + 1]->end;
        if (b - a <= c->opt->gap_ms) {
            continue;
        }
        struct checks_window *w = grow(c, (void **)&c->r->windows, &c->r->n_windows, sizeof(*w));
        if (w == NULL) {
            return;
        }
        w->start = a;
        w->end = b;
        w->resumed = !last;
        faults_near(c, a, b, w->faults, sizeof(w->faults));
        const struct history_arp *first;
        w->n_arp_wrong = arp_wrong_within(c, a, b, &first);
        longest_stall(c, w);
    }
}

/* The latest end of a fault overlapping [a, b] (+grace), or -1. */
static double latest_fault_end(const struct ctx *c, double a, double b)
{
    double end = -1;
    for (size_t i = 0; i < c->h->n_faults; i++) {
        const struct history_fault *f = &c->h->faults[i];
        if (f->start <= b && f->end + c->opt->grace_ms >= a && f->end > end) {
            end = f->end;
        }
    }
    return end;
}

static size_t failovers_without_fault(struct ctx *c, const struct vip_change *changes,
                                      size_t n_changes)
{
    struct checks_result *res = &c->r->results[CHECKS_LIVENESS];
    size_t bad = 0;
    const struct history_op *previous = NULL;
    for (size_t i = 0; i < c->n_ok; i++) {
        const struct history_op *op = c->ok_by_end[i];
        if (op->epoch < 0) {
            continue;
        }
        if (previous != NULL && op->epoch > previous->epoch &&
            !fault_near(c, previous->start, op->end)) {
            bad++;
            evidence(c, res,
                     "epoch %" PRId64 " -> %" PRId64 " between %+.3fs and %+.3fs with no fault "
                     "active or ended within %.0f ms:",
                     previous->epoch, op->epoch, rel(c, previous->start), rel(c, op->end),
                     c->opt->grace_ms);
            evidence_src(c, res, &previous->src);
            evidence_src(c, res, &op->src);
        }
        if (previous == NULL || op->epoch >= previous->epoch) {
            previous = op;
        }
    }
    for (size_t i = 0; i < n_changes; i++) {
        if (!fault_near(c, changes[i].t, changes[i].t)) {
            bad++;
            evidence(c, res,
                     "a host lost the VIP at %+.3fs with no fault active or ended within %.0f ms:",
                     rel(c, changes[i].t), c->opt->grace_ms);
            evidence_src(c, res, changes[i].src);
        }
    }
    return bad;
}

/* The "error" of @op's record, or "" (the loaded history keeps the line, not the message). */
static void op_error(const struct history_op *op, char *buf, size_t size)
{
    buf[0] = '\0';
    json_t *line = op->src.text != NULL ? json_loads(op->src.text, 0, NULL) : NULL;
    const char *error = json_string_value(json_object_get(line, "error"));
    if (error != NULL) {
        snprintf(buf, size, "%s", error);
    }
    json_decref(line);
}

#define STALL_ERRORS 3 /* the most frequent errors quoted for a stall */

struct error_tally {
    char text[256];
    size_t n;
    const struct history_op *example;
};

/* What the client got from the operations it began in [a, b): how many reached a server (and
 * which), and its most frequent errors, each with one record. A stall whose operations reach the
 * new writer and fail there (too many connections, a commit that never returns) is the server's;
 * one whose connections all time out is the network's (ARP, below). */
static void explain_stall_ops(struct ctx *c, struct checks_result *res, double a, double b)
{
    const struct history *h = c->h;
    struct error_tally *tally = NULL;
    size_t n_tally = 0, n_ops = 0, n_fail = 0, n_unknown = 0, reached = 0;
    int64_t servers[MAX_HOSTS];
    size_t per_server[MAX_HOSTS] = {0}, n_servers = 0;
    for (size_t i = 0; i < h->n_ops && h->ops[i].start < b; i++) {
        const struct history_op *op = &h->ops[i];
        if (op->start < a) {
            continue;
        }
        n_ops++;
        n_fail += op->outcome == HISTORY_FAIL;
        n_unknown += op->outcome == HISTORY_UNKNOWN;
        if (op->server_id >= 0) {
            reached++;
            size_t k = 0;
            while (k < n_servers && servers[k] != op->server_id) {
                k++;
            }
            if (k == n_servers && n_servers < MAX_HOSTS) {
                servers[n_servers++] = op->server_id;
            }
            if (k < n_servers) {
                per_server[k]++;
            }
        }
        if (op->outcome == HISTORY_OK) {
            continue;
        }
        char error[256];
        op_error(op, error, sizeof(error));
        size_t k = 0;
        while (k < n_tally && strcmp(tally[k].text, error) != 0) {
            k++;
        }
        if (k == n_tally) {
            struct error_tally *t = grow(c, (void **)&tally, &n_tally, sizeof(*t));
            if (t == NULL) {
                break;
            }
            snprintf(t->text, sizeof(t->text), "%s", error);
            t->example = op;
        }
        tally[k].n++;
    }
    char where[256] = "";
    size_t len = 0;
    for (size_t k = 0; k < n_servers && len + 48 < sizeof(where); k++) {
        char buf[HISTORY_NAME_SIZE];
        len += (size_t)snprintf(where + len, sizeof(where) - len, "%s%s %zu", len ? ", " : "",
                                host_of(c, servers[k], buf, sizeof(buf)), per_server[k]);
    }
    evidence(c, res,
             "  the client began %zu operation(s) in that stretch: %zu failed, %zu unknown; %zu "
             "reached a server%s%s%s",
             n_ops, n_fail, n_unknown, reached, len ? " (" : "", where, len ? ")" : "");
    for (size_t shown = 0; shown < STALL_ERRORS && shown < n_tally; shown++) {
        size_t best = shown;
        for (size_t k = shown + 1; k < n_tally; k++) {
            best = tally[k].n > tally[best].n ? k : best;
        }
        struct error_tally t = tally[best];
        tally[best] = tally[shown];
        tally[shown] = t;
        evidence(c, res, "  %zu time(s): %s; for example:", t.n, t.text[0] ? t.text : "(no error)");
        evidence_src(c, res, &t.example->src);
    }
    free(tally);
}

/* Why writes may stay down after a heal although a server is writable: the VIP's holder at the
 * heal, its ARP announcements of the VIP (the last before the heal, the first after), and who
 * asked for the VIP's MAC in the meantime. A client that missed the announcements (it was cut
 * off from the new holder when they were sent) keeps sending to the old MAC. */
static void explain_stall(struct ctx *c, struct checks_result *res, const struct checks_window *w)
{
    const struct history *h = c->h;
    char holders[128] = "";
    size_t len = 0;
    for (size_t i = 0; i < c->r->n_holdings; i++) {
        const struct checks_span *s = &c->r->holdings[i];
        if (s->start <= w->stall_start && w->stall_start < s->end && len + 40 < sizeof(holders)) {
            len += (size_t)snprintf(holders + len, sizeof(holders) - len, "%s%s (since %+.3fs)",
                                    len ? ", " : "", s->host, rel(c, s->start));
        }
    }
    evidence(c, res,
             "  from the heal at %+.3fs to %+.3fs (%.1f ms) no fault was active; the VIP "
             "was on %s",
             rel(c, w->stall_start), rel(c, w->stall_end), w->stall_end - w->stall_start,
             h->n_observe_files ? (len ? holders : "no host") : "(no observer files)");
    explain_stall_ops(c, res, w->stall_start, w->stall_end);
    if (h->vip_address[0] == '\0') {
        return;
    }
    const struct history_arp *before = NULL, *after = NULL;
    size_t asked = 0;
    for (size_t i = 0; i < h->n_arp; i++) {
        const struct history_arp *a = &h->arp[i];
        if (strcmp(a->sender_ip, h->vip_address) == 0) {
            if (a->t < w->stall_start) {
                before = a;
            } else if (a->t < w->stall_end && after == NULL) {
                after = a;
            }
        } else if (strcmp(a->target_ip, h->vip_address) == 0 && !a->reply &&
                   a->t >= w->stall_start && a->t < w->stall_end) {
            asked++;
        }
    }
    if (before != NULL) {
        evidence(c, res, "  the last ARP announcement of the VIP before the heal (%+.3fs):",
                 rel(c, before->t));
        evidence_src(c, res, &before->src);
    }
    if (after != NULL) {
        evidence(c, res, "  the first after it (%+.3fs):", rel(c, after->t));
        evidence_src(c, res, &after->src);
    } else {
        evidence(c, res,
                 "  no ARP announcement of the VIP after the heal, and %zu ARP request(s) "
                 "for it (a client that missed the last announcement still sends to the MAC it "
                 "knew: its connections time out without reaching a server)",
                 asked);
    }
}

/* The ok write whose end is @t (a window's edge). */
static const struct history_op *ok_ending_at(const struct ctx *c, double t)
{
    for (size_t i = 0; i < c->n_ok; i++) {
        if (c->ok_by_end[i]->end == t) {
            return c->ok_by_end[i];
        }
    }
    return NULL;
}

static void check_liveness(struct ctx *c, const struct vip_change *changes, size_t n_changes)
{
    struct checks_result *res = &c->r->results[CHECKS_LIVENESS];
    if (c->h->n_ops == 0) {
        res->verdict = CHECKS_SKIP;
        snprintf(res->summary, sizeof(res->summary), "no operations");
        return;
    }
    find_windows(c);
    size_t quiet = 0, too_long = 0, stuck = 0, arp_windows = 0, healed_late = 0;
    for (size_t i = 0; i < c->r->n_windows; i++) {
        const struct checks_window *w = &c->r->windows[i];
        double length = w->end - w->start;
        /* Every reason a window fails is counted; the message names them all. */
        char why_text[256] = "";
        const char *why = NULL;
        bool is_quiet = w->faults[0] == '\0' && length > c->opt->max_quiet_pause_ms;
        bool is_long = c->opt->max_pause_ms > 0 && length > c->opt->max_pause_ms;
        bool is_late = c->opt->max_heal_pause_ms > 0 &&
                       w->stall_end - w->stall_start > c->opt->max_heal_pause_ms;
        bool is_stuck = false;
        if (!w->resumed) {
            double healed = latest_fault_end(c, w->start, w->end);
            is_stuck = w->end - (healed > w->start ? healed : w->start) > c->opt->grace_ms;
        }
        quiet += is_quiet;
        too_long += is_long;
        healed_late += is_late;
        stuck += is_stuck;
        snprintf(why_text, sizeof(why_text), "%s%s%s%s",
                 is_quiet ? "; no fault active or just ended" : "",
                 is_long ? "; longer than the bound" : "",
                 is_late ? "; writes stayed unavailable after the heal with no fault active" : "",
                 is_stuck ? "; writes never resumed, though the client kept trying after the heal"
                          : "");
        if (why_text[0] != '\0') {
            why = why_text + 2;
        }
        arp_windows += w->n_arp_wrong > 0;
        if (why != NULL || w->n_arp_wrong > 0) {
            evidence(c, res, "no ok write from %+.3fs to %+.3fs%s (%.1f ms), faults: %s%s%s",
                     rel(c, w->start), rel(c, w->end), w->resumed ? "" : " (end of the run)",
                     length, w->faults[0] ? w->faults : "none", why ? ": " : "", why ? why : "");
        }
        if (why != NULL) {
            const struct history_op *before = ok_ending_at(c, w->start);
            const struct history_op *after = w->resumed ? ok_ending_at(c, w->end) : NULL;
            if (before != NULL) {
                evidence_src(c, res, &before->src);
            }
            if (after != NULL) {
                evidence_src(c, res, &after->src);
            }
        }
        if (is_late) {
            explain_stall(c, res, w);
        }
        if (w->n_arp_wrong > 0) {
            const struct history_arp *first;
            arp_wrong_within(c, w->start, w->end, &first);
            evidence(c, res,
                     "  %zu ARP packet(s) in it announce the VIP from a host that does not hold "
                     "it (a client may still send to the wrong MAC); the first:",
                     w->n_arp_wrong);
            evidence_src(c, res, &first->src);
        }
    }
    size_t no_fault = failovers_without_fault(c, changes, n_changes);
    res->verdict =
        quiet + too_long + stuck + healed_late + no_fault == 0 ? CHECKS_PASS : CHECKS_FAIL;
    count(res, "windows", (double)c->r->n_windows);
    count(res, "windows_without_fault", (double)quiet);
    count(res, "windows_too_long", (double)too_long);
    count(res, "not_resumed", (double)stuck);
    count(res, "stalled_after_heal", (double)healed_late);
    count(res, "failovers_without_fault", (double)no_fault);
    count(res, "windows_with_stale_arp", (double)arp_windows);
    snprintf(res->summary, sizeof(res->summary),
             "%zu write-unavailability window(s) over %.0f ms: %zu without a fault (> %.0f ms), "
             "%zu over %.0f ms, %zu still down %.0f ms after a heal, %zu never resumed; %zu "
             "failover(s) without a fault; %zu window(s) with ARP from a non-holder",
             c->r->n_windows, c->opt->gap_ms, quiet, c->opt->max_quiet_pause_ms, too_long,
             c->opt->max_pause_ms, healed_late, c->opt->max_heal_pause_ms, stuck, no_fault,
             arp_windows);
}

/* ---- write pauses per fault kind ---- */

static int double_compare(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The longest gap between consecutive ok writes that overlaps [a, b]. */
static double longest_gap(const struct ctx *c, double a, double b)
{
    double longest = -1;
    for (size_t i = 0; i + 1 < c->n_ok; i++) {
        double g0 = c->ok_by_end[i]->end, g1 = c->ok_by_end[i + 1]->end;
        if (g0 <= b && g1 >= a && g1 - g0 > longest) {
            longest = g1 - g0;
        }
    }
    for (size_t i = 0; i < c->r->n_windows; i++) { /* a window with no ok write after it */
        const struct checks_window *w = &c->r->windows[i];
        if (!w->resumed && w->start <= b && w->end >= a && w->end - w->start > longest) {
            longest = w->end - w->start;
        }
    }
    return longest;
}

static void measure_pauses(struct ctx *c)
{
    const struct history *h = c->h;
    double *values = malloc((h->n_faults ? h->n_faults : 1) * sizeof(double));
    if (values == NULL) {
        c->rc = -ENOMEM;
        return;
    }
    for (size_t i = 0; i < h->n_faults; i++) {
        bool done = false;
        for (size_t k = 0; k < c->r->n_pauses; k++) {
            done = done || strcmp(c->r->pauses[k].fault, h->faults[i].fault) == 0;
        }
        if (done) {
            continue;
        }
        size_t n = 0;
        for (size_t j = i; j < h->n_faults; j++) {
            const struct history_fault *f = &h->faults[j];
            if (strcmp(f->fault, h->faults[i].fault) == 0) {
                /* Until grace after its end, but not into the next fault's own pause. */
                double until = f->end + c->opt->grace_ms;
                if (j + 1 < h->n_faults && h->faults[j + 1].start > f->start &&
                    h->faults[j + 1].start < until) {
                    until = h->faults[j + 1].start > f->end ? h->faults[j + 1].start : f->end;
                }
                double gap = longest_gap(c, f->start, until);
                if (gap >= 0) {
                    values[n++] = gap;
                }
            }
        }
        struct checks_pause *p = grow(c, (void **)&c->r->pauses, &c->r->n_pauses, sizeof(*p));
        if (p == NULL) {
            break;
        }
        memcpy(p->fault, h->faults[i].fault, sizeof(p->fault));
        p->n = n;
        if (n > 0) {
            qsort(values, n, sizeof(double), double_compare);
            p->median_ms = values[(size_t)ceil(0.5 * (double)n) - 1];
            p->p99_ms = values[(size_t)ceil(0.99 * (double)n) - 1];
            p->max_ms = values[n - 1];
        }
    }
    free(values);
}

int checks_run(const struct history *h, const struct checks_options *opt, struct checks_report *out)
{
    memset(out, 0, sizeof(*out));
    struct ctx c = {.h = h, .opt = opt, .r = out};
    out->t0 = h->run_start >= 0 ? h->run_start : h->t_min;
    c.ok_by_end = malloc((h->n_ops ? h->n_ops : 1) * sizeof(*c.ok_by_end));
    if (c.ok_by_end == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < h->n_ops; i++) {
        const struct history_op *op = &h->ops[i];
        out->n_ok += op->outcome == HISTORY_OK;
        out->n_fail += op->outcome == HISTORY_FAIL;
        out->n_unknown += op->outcome == HISTORY_UNKNOWN;
        if (op->outcome == HISTORY_OK && op->server_id >= 0) {
            c.ok_by_end[c.n_ok++] = op;
        }
    }
    qsort(c.ok_by_end, c.n_ok, sizeof(*c.ok_by_end), op_end_compare);
    struct vip_change *changes = NULL;
    size_t n_changes = 0;
    check_one_holder(&c, &changes, &n_changes);
    check_one_writer(&c);
    check_no_lost_write(&c);
    check_convergence(&c);
    check_liveness(&c, changes, n_changes);
    measure_pauses(&c);
    free(changes);
    free(c.ok_by_end);
    if (c.rc != 0) {
        checks_report_free(out);
    }
    return c.rc;
}

void checks_report_free(struct checks_report *r)
{
    for (int i = 0; i < CHECKS_N; i++) {
        for (size_t k = 0; k < r->results[i].n_evidence; k++) {
            free(r->results[i].evidence[k]);
        }
        free(r->results[i].evidence);
    }
    free(r->holdings);
    free(r->dual);
    free(r->epochs);
    free(r->windows);
    free(r->pauses);
    memset(r, 0, sizeof(*r));
}
