/*
 * The cluster record's transitions and its snapshot format; see record.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord/record.h"

static const uint8_t snapshot_magic[4] = {'M', 'M', 'C', 'R'};

void record_init(struct record *record)
{
    memset(record, 0, sizeof *record);
}

const struct record_node *record_find_node(const struct record *record, const char *id)
{
    for (unsigned i = 0; i < record->n_nodes; i++) {
        if (strcmp(record->nodes[i].id, id) == 0) {
            return &record->nodes[i];
        }
    }
    return NULL;
}

const struct record_epoch *record_find_epoch(const struct record *record, uint64_t epoch)
{
    for (unsigned i = 0; i < record->n_history; i++) {
        if (record->history[i].epoch == epoch) {
            return &record->history[i];
        }
    }
    return NULL;
}

/* The node entry for @id, created when new. NULL (and errmsg) when the record is full. */
static struct record_node *node_entry(struct record *record, const char *id, const char *what,
                                      char *errmsg, size_t errlen)
{
    struct record_node *node = (struct record_node *)record_find_node(record, id);
    if (node != NULL) {
        return node;
    }
    if (record->n_nodes == RECORD_MAX_NODES) {
        snprintf(errmsg, errlen, "%s from node '%s' refused: the record holds %d nodes", what, id,
                 RECORD_MAX_NODES);
        return NULL;
    }
    node = &record->nodes[record->n_nodes++];
    memset(node, 0, sizeof *node);
    snprintf(node->id, sizeof node->id, "%s", id);
    return node;
}

static int apply_report(struct record *record, const struct command_report *report, char *errmsg,
                        size_t errlen)
{
    struct record_node *node = node_entry(record, report->node_id, "report", errmsg, errlen);
    if (node == NULL) {
        return -ENOSPC;
    }
    snprintf(node->version, sizeof node->version, "%s", report->version);
    node->start_wall_ms = report->start_wall_ms;
    node->report_wall_ms = report->sent_wall_ms;
    node->report_seq = report->seq;
    node->mysql = report->mysql;
    node->n_reports++;
    return 0;
}

static int apply_health(struct record *record, const struct command_health *health, char *errmsg,
                        size_t errlen)
{
    struct record_node *node = node_entry(record, health->node_id, "health", errmsg, errlen);
    if (node == NULL) {
        return -ENOSPC;
    }
    node->has_health = true;
    node->health = *health;
    node->mysql = health->mysql;
    return 0;
}

static bool is_writer(const struct record *record, uint64_t epoch, const char *node)
{
    return epoch == record->writer.epoch && record->writer.node[0] != '\0' &&
           strcmp(node, record->writer.node) == 0;
}

static int apply_renew(struct record *record, const struct command_renew *renew, char *errmsg,
                       size_t errlen)
{
    if (!is_writer(record, renew->epoch, renew->node_id)) {
        snprintf(errmsg, errlen, "renew of epoch %llu by %s ignored: epoch %llu belongs to '%s'",
                 (unsigned long long)renew->epoch, renew->node_id,
                 (unsigned long long)record->writer.epoch, record->writer.node);
        return RECORD_IGNORED;
    }
    if (record->writer.released) {
        snprintf(errmsg, errlen, "renew of epoch %llu by %s ignored: it released the epoch",
                 (unsigned long long)renew->epoch, renew->node_id);
        return RECORD_IGNORED;
    }
    record->writer.renewals++;
    record->writer.last_nonce = renew->nonce;
    return 0;
}

static int apply_release(struct record *record, const struct command_release *release, char *errmsg,
                         size_t errlen)
{
    if (!is_writer(record, release->epoch, release->node_id)) {
        snprintf(errmsg, errlen, "release of epoch %llu by %s ignored: epoch %llu belongs to '%s'",
                 (unsigned long long)release->epoch, release->node_id,
                 (unsigned long long)record->writer.epoch, record->writer.node);
        return RECORD_IGNORED;
    }
    record->writer.released = true;
    snprintf(record->writer.release_reason, sizeof record->writer.release_reason, "%s",
             release->reason);
    return 0;
}

static int apply_set_writer(struct record *record, const struct command_set_writer *set,
                            char *errmsg, size_t errlen)
{
    if (set->epoch != record->writer.epoch + 1) {
        snprintf(errmsg, errlen, "set_writer for epoch %llu ignored: the current epoch is %llu",
                 (unsigned long long)set->epoch, (unsigned long long)record->writer.epoch);
        return RECORD_IGNORED;
    }
    if (record->n_history == RECORD_HISTORY_MAX) {
        memmove(&record->history[0], &record->history[1],
                (RECORD_HISTORY_MAX - 1) * sizeof record->history[0]);
        record->n_history--;
    }
    struct record_epoch *e = &record->history[record->n_history++];
    memset(e, 0, sizeof *e);
    e->epoch = set->epoch;
    snprintf(e->old_writer, sizeof e->old_writer, "%s", record->writer.node);
    snprintf(e->new_writer, sizeof e->new_writer, "%s", set->node_id);
    snprintf(e->reason, sizeof e->reason, "%s", set->reason);
    e->detected_wall_ms = set->detected_wall_ms;
    e->decided_wall_ms = set->decided_wall_ms;

    memset(&record->writer, 0, sizeof record->writer);
    record->writer.epoch = set->epoch;
    snprintf(record->writer.node, sizeof record->writer.node, "%s", set->node_id);
    return 0;
}

static int apply_opened(struct record *record, const struct command_opened *opened, char *errmsg,
                        size_t errlen)
{
    struct record_epoch *e = (struct record_epoch *)record_find_epoch(record, opened->epoch);
    if (!is_writer(record, opened->epoch, opened->node_id) || e == NULL) {
        snprintf(errmsg, errlen, "opened of epoch %llu by %s ignored: epoch %llu belongs to '%s'",
                 (unsigned long long)opened->epoch, opened->node_id,
                 (unsigned long long)record->writer.epoch, record->writer.node);
        return RECORD_IGNORED;
    }
    if (e->opened_wall_ms == 0) {
        e->opened_wall_ms = opened->opened_wall_ms;
    }
    return 0;
}

int record_apply(struct record *record, const struct command *cmd, char *errmsg, size_t errlen)
{
    record->n_applied++;
    switch (cmd->type) {
    case COMMAND_REPORT:
        return apply_report(record, &cmd->report, errmsg, errlen);
    case COMMAND_HEALTH:
        return apply_health(record, &cmd->health, errmsg, errlen);
    case COMMAND_RENEW:
        return apply_renew(record, &cmd->renew, errmsg, errlen);
    case COMMAND_RELEASE:
        return apply_release(record, &cmd->release, errmsg, errlen);
    case COMMAND_SET_WRITER:
        return apply_set_writer(record, &cmd->set_writer, errmsg, errlen);
    case COMMAND_OPENED:
        return apply_opened(record, &cmd->opened, errmsg, errlen);
    default:
        snprintf(errmsg, errlen, "unknown command type %u", (unsigned)cmd->type);
        return -EINVAL;
    }
}

int record_encode(const struct record *record, uint8_t *buf, size_t cap, size_t *len)
{
    struct codec_writer w;
    codec_writer_init(&w, buf, cap);
    for (size_t i = 0; i < sizeof snapshot_magic; i++) {
        codec_put_u8(&w, snapshot_magic[i]);
    }
    codec_put_u32(&w, RECORD_FORMAT_VERSION);
    codec_put_u64(&w, record->n_applied);
    const struct record_writer *wr = &record->writer;
    codec_put_u64(&w, wr->epoch);
    codec_put_string(&w, wr->node);
    codec_put_u8(&w, wr->released);
    codec_put_string(&w, wr->release_reason);
    codec_put_u64(&w, wr->renewals);
    codec_put_u64(&w, wr->last_nonce);
    codec_put_u16(&w, (uint16_t)record->n_nodes);
    for (unsigned i = 0; i < record->n_nodes; i++) {
        const struct record_node *n = &record->nodes[i];
        codec_put_string(&w, n->id);
        codec_put_string(&w, n->version);
        codec_put_u64(&w, n->start_wall_ms);
        codec_put_u64(&w, n->report_wall_ms);
        codec_put_u64(&w, n->report_seq);
        codec_put_u64(&w, n->n_reports);
        codec_put_u8(&w, n->mysql);
        codec_put_u8(&w, n->has_health);
        if (n->has_health && command_health_put(&w, &n->health) != 0) {
            return -EINVAL;
        }
    }
    codec_put_u16(&w, (uint16_t)record->n_history);
    for (unsigned i = 0; i < record->n_history; i++) {
        const struct record_epoch *e = &record->history[i];
        codec_put_u64(&w, e->epoch);
        codec_put_string(&w, e->old_writer);
        codec_put_string(&w, e->new_writer);
        codec_put_string(&w, e->reason);
        codec_put_u64(&w, e->detected_wall_ms);
        codec_put_u64(&w, e->decided_wall_ms);
        codec_put_u64(&w, e->opened_wall_ms);
    }
    if (w.error != 0) {
        return w.error;
    }
    *len = w.offset;
    return 0;
}

static int decode_fail(char *errmsg, size_t errlen, const char *what)
{
    snprintf(errmsg, errlen, "snapshot: %s", what);
    return -EINVAL;
}

/* The nodes of a snapshot; format 1 has no health. Returns 0 or -EINVAL (errmsg set). */
static int decode_nodes(struct codec_reader *r, uint32_t version, struct record *rec, char *errmsg,
                        size_t errlen)
{
    uint16_t n_nodes = codec_get_u16(r, "n_nodes");
    if (r->error == 0 && n_nodes > RECORD_MAX_NODES) {
        snprintf(errmsg, errlen, "snapshot: %u nodes, at most %d allowed", (unsigned)n_nodes,
                 RECORD_MAX_NODES);
        return -EINVAL;
    }
    for (unsigned i = 0; r->error == 0 && i < n_nodes; i++) {
        struct record_node *n = &rec->nodes[i];
        codec_get_string(r, "node id", n->id, sizeof n->id);
        codec_get_string(r, "node version", n->version, sizeof n->version);
        n->start_wall_ms = codec_get_u64(r, "start_wall_ms");
        n->report_wall_ms = codec_get_u64(r, "report_wall_ms");
        n->report_seq = codec_get_u64(r, "report_seq");
        n->n_reports = codec_get_u64(r, "n_reports");
        n->mysql = codec_get_u8(r, "mysql");
        if (version >= 2) {
            uint8_t has = codec_get_u8(r, "has_health");
            if (r->error == 0 && has > 1) {
                return decode_fail(errmsg, errlen, "has_health is neither 0 nor 1");
            }
            n->has_health = has == 1;
            if (n->has_health) {
                command_health_get(r, &n->health);
            }
        }
        if (r->error != 0) {
            break;
        }
        if (n->id[0] == '\0' || n->mysql > MYSQL_VIEW_MAX) {
            snprintf(errmsg, errlen, "snapshot: node %u has an empty id or a bad mysql state", i);
            return -EINVAL;
        }
        if (n->has_health && strcmp(n->health.node_id, n->id) != 0) {
            snprintf(errmsg, errlen, "snapshot: node '%s' holds the health of '%s'", n->id,
                     n->health.node_id);
            return -EINVAL;
        }
        if (record_find_node(rec, n->id) != NULL) {
            snprintf(errmsg, errlen, "snapshot: node '%s' appears twice", n->id);
            return -EINVAL;
        }
        rec->n_nodes = i + 1;
    }
    return 0;
}

/* Decode into @rec (zeroed first); on failure @rec holds a partial record. */
static int decode_record(const uint8_t *buf, size_t len, struct record *rec, char *errmsg,
                         size_t errlen)
{
    struct codec_reader r;
    codec_reader_init(&r, buf, len);
    record_init(rec);
    uint8_t magic[4];
    for (size_t i = 0; i < sizeof magic; i++) {
        magic[i] = codec_get_u8(&r, "magic");
    }
    uint32_t version = codec_get_u32(&r, "format version");
    if (r.error == 0 && memcmp(magic, snapshot_magic, sizeof magic) != 0) {
        return decode_fail(errmsg, errlen, "bad magic (not an mmcoord record snapshot)");
    }
    if (r.error == 0 && (version < 1 || version > RECORD_FORMAT_VERSION)) {
        snprintf(errmsg, errlen,
                 "snapshot: unknown record format version %u (this build reads 1 to %u): "
                 "upgrade this node",
                 (unsigned)version, (unsigned)RECORD_FORMAT_VERSION);
        return -EINVAL;
    }
    rec->n_applied = codec_get_u64(&r, "n_applied");
    if (version >= 2) {
        struct record_writer *wr = &rec->writer;
        wr->epoch = codec_get_u64(&r, "epoch");
        codec_get_string(&r, "writer", wr->node, sizeof wr->node);
        uint8_t released = codec_get_u8(&r, "released");
        codec_get_string(&r, "release_reason", wr->release_reason, sizeof wr->release_reason);
        wr->renewals = codec_get_u64(&r, "renewals");
        wr->last_nonce = codec_get_u64(&r, "last_nonce");
        if (r.error == 0 && released > 1) {
            return decode_fail(errmsg, errlen, "released is neither 0 nor 1");
        }
        wr->released = released == 1;
    }
    int rv = decode_nodes(&r, version, rec, errmsg, errlen);
    if (rv != 0) {
        return rv;
    }
    if (version >= 2) {
        uint16_t n_history = codec_get_u16(&r, "n_history");
        if (r.error == 0 && n_history > RECORD_HISTORY_MAX) {
            snprintf(errmsg, errlen, "snapshot: %u history entries, at most %d allowed",
                     (unsigned)n_history, RECORD_HISTORY_MAX);
            return -EINVAL;
        }
        for (unsigned i = 0; r.error == 0 && i < n_history; i++) {
            struct record_epoch *e = &rec->history[i];
            e->epoch = codec_get_u64(&r, "history epoch");
            codec_get_string(&r, "old_writer", e->old_writer, sizeof e->old_writer);
            codec_get_string(&r, "new_writer", e->new_writer, sizeof e->new_writer);
            codec_get_string(&r, "reason", e->reason, sizeof e->reason);
            e->detected_wall_ms = codec_get_u64(&r, "detected_wall_ms");
            e->decided_wall_ms = codec_get_u64(&r, "decided_wall_ms");
            e->opened_wall_ms = codec_get_u64(&r, "opened_wall_ms");
            if (r.error == 0 && (e->epoch == 0 || e->epoch > rec->writer.epoch ||
                                 (i > 0 && e->epoch <= rec->history[i - 1].epoch))) {
                return decode_fail(errmsg, errlen,
                                   "history epochs are not increasing up to the current epoch");
            }
            rec->n_history = i + 1;
        }
    }
    codec_expect_end(&r, "snapshot");
    if (r.error != 0) {
        snprintf(errmsg, errlen, "snapshot: %s", r.errmsg);
        return r.error;
    }
    return 0;
}

int record_decode(const uint8_t *buf, size_t len, struct record *out, char *errmsg, size_t errlen)
{
    struct record *rec = malloc(sizeof *rec); /* large: kept off the stack */
    if (rec == NULL) {
        snprintf(errmsg, errlen, "snapshot: out of memory");
        return -ENOMEM;
    }
    int rv = decode_record(buf, len, rec, errmsg, errlen);
    if (rv == 0) {
        *out = *rec;
    }
    free(rec);
    return rv;
}
