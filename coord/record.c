/*
 * The cluster record's transitions and its snapshot format; see record.h.
 */
#include <errno.h>
#include <stdio.h>
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

static int apply_report(struct record *record, const struct command_report *report, char *errmsg,
                        size_t errlen)
{
    struct record_node *node = (struct record_node *)record_find_node(record, report->node_id);
    if (node == NULL) {
        if (record->n_nodes == RECORD_MAX_NODES) {
            snprintf(errmsg, errlen, "report from node '%s' refused: the record holds %d nodes",
                     report->node_id, RECORD_MAX_NODES);
            return -ENOSPC;
        }
        node = &record->nodes[record->n_nodes++];
        memset(node, 0, sizeof *node);
        snprintf(node->id, sizeof node->id, "%s", report->node_id);
    }
    snprintf(node->version, sizeof node->version, "%s", report->version);
    node->start_wall_ms = report->start_wall_ms;
    node->report_wall_ms = report->sent_wall_ms;
    node->report_seq = report->seq;
    node->mysql = report->mysql;
    node->n_reports++;
    return 0;
}

int record_apply(struct record *record, const struct command *cmd, char *errmsg, size_t errlen)
{
    record->n_applied++;
    switch (cmd->type) {
    case COMMAND_REPORT:
        return apply_report(record, &cmd->report, errmsg, errlen);
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
    }
    if (w.error != 0) {
        return w.error;
    }
    *len = w.offset;
    return 0;
}

int record_decode(const uint8_t *buf, size_t len, struct record *out, char *errmsg, size_t errlen)
{
    struct codec_reader r;
    codec_reader_init(&r, buf, len);
    struct record rec;
    record_init(&rec);
    uint8_t magic[4];
    for (size_t i = 0; i < sizeof magic; i++) {
        magic[i] = codec_get_u8(&r, "magic");
    }
    uint32_t version = codec_get_u32(&r, "format version");
    if (r.error == 0 && memcmp(magic, snapshot_magic, sizeof magic) != 0) {
        snprintf(errmsg, errlen, "snapshot: bad magic (not an mmcoord record snapshot)");
        return -EINVAL;
    }
    if (r.error == 0 && version != RECORD_FORMAT_VERSION) {
        snprintf(errmsg, errlen,
                 "snapshot: unknown record format version %u (this build reads %u): upgrade "
                 "this node",
                 (unsigned)version, (unsigned)RECORD_FORMAT_VERSION);
        return -EINVAL;
    }
    rec.n_applied = codec_get_u64(&r, "n_applied");
    uint16_t n_nodes = codec_get_u16(&r, "n_nodes");
    if (r.error == 0 && n_nodes > RECORD_MAX_NODES) {
        snprintf(errmsg, errlen, "snapshot: %u nodes, at most %d allowed", (unsigned)n_nodes,
                 RECORD_MAX_NODES);
        return -EINVAL;
    }
    for (unsigned i = 0; r.error == 0 && i < n_nodes; i++) {
        struct record_node *n = &rec.nodes[i];
        codec_get_string(&r, "node id", n->id, sizeof n->id);
        codec_get_string(&r, "node version", n->version, sizeof n->version);
        n->start_wall_ms = codec_get_u64(&r, "start_wall_ms");
        n->report_wall_ms = codec_get_u64(&r, "report_wall_ms");
        n->report_seq = codec_get_u64(&r, "report_seq");
        n->n_reports = codec_get_u64(&r, "n_reports");
        n->mysql = codec_get_u8(&r, "mysql");
        if (r.error != 0) {
            break;
        }
        if (n->id[0] == '\0' || n->mysql > MYSQL_VIEW_MAX) {
            snprintf(errmsg, errlen, "snapshot: node %u has an empty id or a bad mysql state", i);
            return -EINVAL;
        }
        if (record_find_node(&rec, n->id) != NULL) {
            snprintf(errmsg, errlen, "snapshot: node '%s' appears twice", n->id);
            return -EINVAL;
        }
        rec.n_nodes = i + 1;
    }
    codec_expect_end(&r, "snapshot");
    if (r.error != 0) {
        snprintf(errmsg, errlen, "snapshot: %s", r.errmsg);
        return r.error;
    }
    *out = rec;
    return 0;
}
