/*
 * Bounds-checked encoding of the record's commands; see codec.h for the format and its
 * versioning rules.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "coord/codec.h"

static void reader_fail(struct codec_reader *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void reader_fail(struct codec_reader *r, const char *fmt, ...)
{
    if (r->error != 0) {
        return;
    }
    r->error = -EINVAL;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->errmsg, sizeof r->errmsg, fmt, ap);
    va_end(ap);
}

void codec_reader_init(struct codec_reader *r, const void *data, size_t size)
{
    r->data = data;
    r->size = size;
    r->offset = 0;
    r->error = 0;
    r->errmsg[0] = '\0';
}

/* Returns a pointer to the next @n bytes and advances, or NULL (and fails) when fewer remain. */
static const uint8_t *reader_take(struct codec_reader *r, size_t n, const char *field)
{
    if (r->error != 0) {
        return NULL;
    }
    if (r->size - r->offset < n) {
        reader_fail(r, "truncated at byte %zu: field '%s' needs %zu bytes, %zu left", r->offset,
                    field, n, r->size - r->offset);
        return NULL;
    }
    const uint8_t *p = r->data + r->offset;
    r->offset += n;
    return p;
}

static uint64_t load_le(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        v |= (uint64_t)p[i] << (8 * i);
    }
    return v;
}

uint8_t codec_get_u8(struct codec_reader *r, const char *field)
{
    const uint8_t *p = reader_take(r, 1, field);
    return p != NULL ? p[0] : 0;
}

uint16_t codec_get_u16(struct codec_reader *r, const char *field)
{
    const uint8_t *p = reader_take(r, 2, field);
    return p != NULL ? (uint16_t)load_le(p, 2) : 0;
}

uint32_t codec_get_u32(struct codec_reader *r, const char *field)
{
    const uint8_t *p = reader_take(r, 4, field);
    return p != NULL ? (uint32_t)load_le(p, 4) : 0;
}

uint64_t codec_get_u64(struct codec_reader *r, const char *field)
{
    const uint8_t *p = reader_take(r, 8, field);
    return p != NULL ? load_le(p, 8) : 0;
}

int64_t codec_get_i64(struct codec_reader *r, const char *field)
{
    return (int64_t)codec_get_u64(r, field);
}

void codec_get_string(struct codec_reader *r, const char *field, char *out, size_t size)
{
    out[0] = '\0';
    uint16_t n = codec_get_u16(r, field);
    if (r->error != 0) {
        return;
    }
    if ((size_t)n >= size) {
        reader_fail(r, "field '%s' at byte %zu is %u bytes long, at most %zu allowed", field,
                    r->offset - 2, (unsigned)n, size - 1);
        return;
    }
    const uint8_t *p = reader_take(r, n, field);
    if (p == NULL) {
        return;
    }
    if (memchr(p, '\0', n) != NULL) {
        reader_fail(r, "field '%s' at byte %zu holds a NUL byte", field, r->offset - n);
        return;
    }
    memcpy(out, p, n);
    out[n] = '\0';
}

void codec_expect_end(struct codec_reader *r, const char *what)
{
    if (r->error == 0 && r->offset != r->size) {
        reader_fail(r, "%zu unexpected bytes after the end of the %s", r->size - r->offset, what);
    }
}

void codec_writer_init(struct codec_writer *w, void *data, size_t capacity)
{
    w->data = data;
    w->capacity = capacity;
    w->offset = 0;
    w->error = 0;
}

static void writer_put(struct codec_writer *w, uint64_t v, size_t n)
{
    if (w->error != 0) {
        return;
    }
    if (w->capacity - w->offset < n) {
        w->error = -ENOSPC;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        w->data[w->offset + i] = (uint8_t)(v >> (8 * i));
    }
    w->offset += n;
}

void codec_put_u8(struct codec_writer *w, uint8_t v)
{
    writer_put(w, v, 1);
}

void codec_put_u16(struct codec_writer *w, uint16_t v)
{
    writer_put(w, v, 2);
}

void codec_put_u32(struct codec_writer *w, uint32_t v)
{
    writer_put(w, v, 4);
}

void codec_put_u64(struct codec_writer *w, uint64_t v)
{
    writer_put(w, v, 8);
}

void codec_put_i64(struct codec_writer *w, int64_t v)
{
    writer_put(w, (uint64_t)v, 8);
}

void codec_put_string(struct codec_writer *w, const char *s)
{
    size_t n = strlen(s);
    if (n > UINT16_MAX) {
        w->error = -EINVAL;
        return;
    }
    codec_put_u16(w, (uint16_t)n);
    if (w->error != 0) {
        return;
    }
    if (w->capacity - w->offset < n) {
        w->error = -ENOSPC;
        return;
    }
    memcpy(w->data + w->offset, s, n);
    w->offset += n;
}

const char *command_type_name(uint8_t type)
{
    switch (type) {
    case COMMAND_REPORT:
        return "report";
    case COMMAND_HEALTH:
        return "health";
    case COMMAND_RENEW:
        return "renew";
    case COMMAND_RELEASE:
        return "release";
    case COMMAND_SET_WRITER:
        return "set_writer";
    case COMMAND_OPENED:
        return "opened";
    case COMMAND_MAINTENANCE:
        return "maintenance";
    case COMMAND_SWITCHOVER_BEGIN:
        return "switchover_begin";
    case COMMAND_SWITCHOVER_FENCED:
        return "switchover_fenced";
    case COMMAND_SWITCHOVER_CAUGHT_UP:
        return "switchover_caught_up";
    case COMMAND_SWITCHOVER_DONE:
        return "switchover_done";
    case COMMAND_SWITCHOVER_ABORT:
        return "switchover_abort";
    case COMMAND_FAILOVER_FORCE:
        return "failover_force";
    default:
        return "unknown";
    }
}

const char *mysql_view_name(uint8_t view)
{
    switch (view) {
    case MYSQL_VIEW_UNKNOWN:
        return "unknown";
    case MYSQL_VIEW_UP:
        return "up";
    case MYSQL_VIEW_DOWN:
        return "down";
    case MYSQL_VIEW_TIMEOUT:
        return "timeout";
    case MYSQL_VIEW_DENIED:
        return "denied";
    case MYSQL_VIEW_ERROR:
        return "error";
    default:
        return "invalid";
    }
}

static bool string_fits(const char *s, size_t size)
{
    return strnlen(s, size) < size;
}

static int encode_report(struct codec_writer *w, const struct command_report *c)
{
    if (!string_fits(c->node_id, sizeof c->node_id) || c->node_id[0] == '\0' ||
        !string_fits(c->version, sizeof c->version) || c->mysql > MYSQL_VIEW_MAX) {
        return -EINVAL;
    }
    codec_put_string(w, c->node_id);
    codec_put_string(w, c->version);
    codec_put_u64(w, c->start_wall_ms);
    codec_put_u64(w, c->sent_wall_ms);
    codec_put_u64(w, c->seq);
    codec_put_u8(w, c->mysql);
    return 0;
}

static bool flag(uint8_t v)
{
    return v <= 1;
}

int command_health_put(struct codec_writer *w, const struct command_health *c)
{
    if (!string_fits(c->node_id, sizeof c->node_id) || c->node_id[0] == '\0' ||
        !string_fits(c->source_host, sizeof c->source_host) ||
        !string_fits(c->executed, sizeof c->executed) ||
        !string_fits(c->received, sizeof c->received) || c->mysql > MYSQL_VIEW_MAX ||
        !flag(c->read_only) || !flag(c->flavor) || !flag(c->replicating) || !flag(c->io_running) ||
        !flag(c->sql_running)) {
        return -EINVAL;
    }
    codec_put_string(w, c->node_id);
    codec_put_u64(w, c->seq);
    codec_put_u64(w, c->sent_wall_ms);
    codec_put_u8(w, c->mysql);
    codec_put_u8(w, c->read_only);
    codec_put_u8(w, c->flavor);
    codec_put_u8(w, c->replicating);
    codec_put_u8(w, c->io_running);
    codec_put_u8(w, c->sql_running);
    codec_put_u16(w, c->source_port);
    codec_put_string(w, c->source_host);
    codec_put_i64(w, c->lag_s);
    codec_put_string(w, c->executed);
    codec_put_string(w, c->received);
    return 0;
}

static bool node_id_ok(const char *id, size_t size, bool may_be_empty)
{
    return string_fits(id, size) && (may_be_empty || id[0] != '\0');
}

static int encode_renew(struct codec_writer *w, const struct command_renew *c)
{
    if (!node_id_ok(c->node_id, sizeof c->node_id, false)) {
        return -EINVAL;
    }
    codec_put_u64(w, c->epoch);
    codec_put_string(w, c->node_id);
    codec_put_u64(w, c->nonce);
    return 0;
}

static int encode_release(struct codec_writer *w, const struct command_release *c)
{
    if (!node_id_ok(c->node_id, sizeof c->node_id, false) ||
        !string_fits(c->reason, sizeof c->reason)) {
        return -EINVAL;
    }
    codec_put_u64(w, c->epoch);
    codec_put_string(w, c->node_id);
    codec_put_string(w, c->reason);
    return 0;
}

static int encode_set_writer(struct codec_writer *w, const struct command_set_writer *c)
{
    if (!node_id_ok(c->node_id, sizeof c->node_id, true) ||
        !string_fits(c->reason, sizeof c->reason) || c->epoch == 0) {
        return -EINVAL;
    }
    codec_put_u64(w, c->epoch);
    codec_put_string(w, c->node_id);
    codec_put_string(w, c->reason);
    codec_put_u64(w, c->detected_wall_ms);
    codec_put_u64(w, c->decided_wall_ms);
    return 0;
}

static int encode_opened(struct codec_writer *w, const struct command_opened *c)
{
    if (!node_id_ok(c->node_id, sizeof c->node_id, false)) {
        return -EINVAL;
    }
    codec_put_u64(w, c->epoch);
    codec_put_string(w, c->node_id);
    codec_put_u64(w, c->opened_wall_ms);
    return 0;
}

static int encode_maintenance(struct codec_writer *w, const struct command_maintenance *c)
{
    if (!flag(c->on) || !node_id_ok(c->via, sizeof c->via, false) ||
        !string_fits(c->reason, sizeof c->reason)) {
        return -EINVAL;
    }
    codec_put_u8(w, c->on);
    codec_put_u32(w, c->uid);
    codec_put_u64(w, c->wall_ms);
    codec_put_string(w, c->via);
    codec_put_string(w, c->reason);
    return 0;
}

static int encode_switchover_begin(struct codec_writer *w, const struct command_switchover_begin *c)
{
    if (c->id == 0 || c->epoch == 0 || c->timeout_ms == 0 ||
        !node_id_ok(c->from, sizeof c->from, false) || !node_id_ok(c->to, sizeof c->to, false) ||
        !node_id_ok(c->via, sizeof c->via, false) || !string_fits(c->reason, sizeof c->reason)) {
        return -EINVAL;
    }
    codec_put_u64(w, c->id);
    codec_put_u64(w, c->epoch);
    codec_put_string(w, c->from);
    codec_put_string(w, c->to);
    codec_put_u64(w, c->timeout_ms);
    codec_put_u32(w, c->uid);
    codec_put_u64(w, c->wall_ms);
    codec_put_string(w, c->via);
    codec_put_string(w, c->reason);
    return 0;
}

static int encode_failover_force(struct codec_writer *w, const struct command_failover_force *c)
{
    if (c->id == 0 || c->timeout_ms == 0 || !node_id_ok(c->to, sizeof c->to, false) ||
        !node_id_ok(c->via, sizeof c->via, false) || !string_fits(c->missing, sizeof c->missing)) {
        return -EINVAL;
    }
    codec_put_u64(w, c->id);
    codec_put_u64(w, c->epoch);
    codec_put_string(w, c->to);
    codec_put_u64(w, c->timeout_ms);
    codec_put_u32(w, c->uid);
    codec_put_u64(w, c->wall_ms);
    codec_put_string(w, c->via);
    codec_put_string(w, c->missing);
    return 0;
}

static int encode_switchover_fenced(struct codec_writer *w,
                                    const struct command_switchover_fenced *c)
{
    if (c->id == 0 || c->epoch == 0 || !node_id_ok(c->node, sizeof c->node, false) ||
        !flag(c->flavor) || !string_fits(c->executed, sizeof c->executed)) {
        return -EINVAL;
    }
    codec_put_u64(w, c->id);
    codec_put_u64(w, c->epoch);
    codec_put_string(w, c->node);
    codec_put_u8(w, c->flavor);
    codec_put_string(w, c->executed);
    codec_put_u64(w, c->wall_ms);
    return 0;
}

static int encode_switchover_caught_up(struct codec_writer *w,
                                       const struct command_switchover_caught_up *c)
{
    if (c->id == 0 || !node_id_ok(c->node, sizeof c->node, false) ||
        !string_fits(c->executed, sizeof c->executed)) {
        return -EINVAL;
    }
    codec_put_u64(w, c->id);
    codec_put_string(w, c->node);
    codec_put_string(w, c->executed);
    codec_put_u64(w, c->wall_ms);
    return 0;
}

static int encode_switchover_done(struct codec_writer *w, const struct command_switchover_done *c)
{
    if (c->id == 0 || c->epoch == 0) {
        return -EINVAL;
    }
    codec_put_u64(w, c->id);
    codec_put_u64(w, c->epoch);
    codec_put_u64(w, c->wall_ms);
    return 0;
}

static int encode_switchover_abort(struct codec_writer *w, const struct command_switchover_abort *c)
{
    if (c->id == 0 || !string_fits(c->reason, sizeof c->reason)) {
        return -EINVAL;
    }
    codec_put_u64(w, c->id);
    codec_put_u64(w, c->wall_ms);
    codec_put_string(w, c->reason);
    return 0;
}

int command_encode(const struct command *cmd, uint8_t *buf, size_t cap, size_t *len)
{
    struct codec_writer w;
    codec_writer_init(&w, buf, cap);
    codec_put_u8(&w, CODEC_VERSION);
    codec_put_u8(&w, cmd->type);
    codec_put_u16(&w, 0);
    codec_put_u32(&w, 0); /* body length, patched below */
    int rv;
    switch (cmd->type) {
    case COMMAND_REPORT:
        rv = encode_report(&w, &cmd->report);
        break;
    case COMMAND_HEALTH:
        rv = command_health_put(&w, &cmd->health);
        break;
    case COMMAND_RENEW:
        rv = encode_renew(&w, &cmd->renew);
        break;
    case COMMAND_RELEASE:
        rv = encode_release(&w, &cmd->release);
        break;
    case COMMAND_SET_WRITER:
        rv = encode_set_writer(&w, &cmd->set_writer);
        break;
    case COMMAND_OPENED:
        rv = encode_opened(&w, &cmd->opened);
        break;
    case COMMAND_MAINTENANCE:
        rv = encode_maintenance(&w, &cmd->maintenance);
        break;
    case COMMAND_SWITCHOVER_BEGIN:
        rv = encode_switchover_begin(&w, &cmd->switchover_begin);
        break;
    case COMMAND_FAILOVER_FORCE:
        rv = encode_failover_force(&w, &cmd->failover_force);
        break;
    case COMMAND_SWITCHOVER_FENCED:
        rv = encode_switchover_fenced(&w, &cmd->switchover_fenced);
        break;
    case COMMAND_SWITCHOVER_CAUGHT_UP:
        rv = encode_switchover_caught_up(&w, &cmd->switchover_caught_up);
        break;
    case COMMAND_SWITCHOVER_DONE:
        rv = encode_switchover_done(&w, &cmd->switchover_done);
        break;
    case COMMAND_SWITCHOVER_ABORT:
        rv = encode_switchover_abort(&w, &cmd->switchover_abort);
        break;
    default:
        rv = -EINVAL;
        break;
    }
    if (rv != 0) {
        return rv;
    }
    if (w.error != 0) {
        return w.error;
    }
    uint32_t body = (uint32_t)(w.offset - CODEC_HEADER_SIZE);
    for (size_t i = 0; i < 4; i++) {
        buf[4 + i] = (uint8_t)(body >> (8 * i));
    }
    /* Whole 8-byte words: raft's libuv log (0.15) reloads an entry whose length is not a
     * multiple of 8 from the wrong offset after a restart, so every entry is padded. */
    while (w.offset % CODEC_ALIGN != 0) {
        codec_put_u8(&w, 0);
    }
    if (w.error != 0) {
        return w.error;
    }
    *len = w.offset;
    return 0;
}

static void decode_report(struct codec_reader *r, struct command_report *c)
{
    codec_get_string(r, "node_id", c->node_id, sizeof c->node_id);
    codec_get_string(r, "version", c->version, sizeof c->version);
    c->start_wall_ms = codec_get_u64(r, "start_wall_ms");
    c->sent_wall_ms = codec_get_u64(r, "sent_wall_ms");
    c->seq = codec_get_u64(r, "seq");
    c->mysql = codec_get_u8(r, "mysql");
    if (r->error == 0 && c->node_id[0] == '\0') {
        reader_fail(r, "report with an empty node_id");
    }
    if (r->error == 0 && c->mysql > MYSQL_VIEW_MAX) {
        reader_fail(r, "report with mysql state %u, at most %u known", (unsigned)c->mysql,
                    (unsigned)MYSQL_VIEW_MAX);
    }
}

static void expect_flag(struct codec_reader *r, const char *field, uint8_t v)
{
    if (r->error == 0 && v > 1) {
        reader_fail(r, "field '%s' is %u, expected 0 or 1", field, (unsigned)v);
    }
}

static void expect_node_id(struct codec_reader *r, const char *what, const char *id)
{
    if (r->error == 0 && id[0] == '\0') {
        reader_fail(r, "%s with an empty node_id", what);
    }
}

void command_health_get(struct codec_reader *r, struct command_health *c)
{
    codec_get_string(r, "node_id", c->node_id, sizeof c->node_id);
    c->seq = codec_get_u64(r, "seq");
    c->sent_wall_ms = codec_get_u64(r, "sent_wall_ms");
    c->mysql = codec_get_u8(r, "mysql");
    c->read_only = codec_get_u8(r, "read_only");
    c->flavor = codec_get_u8(r, "flavor");
    c->replicating = codec_get_u8(r, "replicating");
    c->io_running = codec_get_u8(r, "io_running");
    c->sql_running = codec_get_u8(r, "sql_running");
    c->source_port = codec_get_u16(r, "source_port");
    codec_get_string(r, "source_host", c->source_host, sizeof c->source_host);
    c->lag_s = codec_get_i64(r, "lag_s");
    codec_get_string(r, "executed", c->executed, sizeof c->executed);
    codec_get_string(r, "received", c->received, sizeof c->received);
    expect_node_id(r, "health", c->node_id);
    if (r->error == 0 && c->mysql > MYSQL_VIEW_MAX) {
        reader_fail(r, "health with mysql state %u, at most %u known", (unsigned)c->mysql,
                    (unsigned)MYSQL_VIEW_MAX);
    }
    expect_flag(r, "read_only", c->read_only);
    expect_flag(r, "flavor", c->flavor);
    expect_flag(r, "replicating", c->replicating);
    expect_flag(r, "io_running", c->io_running);
    expect_flag(r, "sql_running", c->sql_running);
}

static void decode_renew(struct codec_reader *r, struct command_renew *c)
{
    c->epoch = codec_get_u64(r, "epoch");
    codec_get_string(r, "node_id", c->node_id, sizeof c->node_id);
    c->nonce = codec_get_u64(r, "nonce");
    expect_node_id(r, "renew", c->node_id);
}

static void decode_release(struct codec_reader *r, struct command_release *c)
{
    c->epoch = codec_get_u64(r, "epoch");
    codec_get_string(r, "node_id", c->node_id, sizeof c->node_id);
    codec_get_string(r, "reason", c->reason, sizeof c->reason);
    expect_node_id(r, "release", c->node_id);
}

static void decode_set_writer(struct codec_reader *r, struct command_set_writer *c)
{
    c->epoch = codec_get_u64(r, "epoch");
    codec_get_string(r, "node_id", c->node_id, sizeof c->node_id);
    codec_get_string(r, "reason", c->reason, sizeof c->reason);
    c->detected_wall_ms = codec_get_u64(r, "detected_wall_ms");
    c->decided_wall_ms = codec_get_u64(r, "decided_wall_ms");
    if (r->error == 0 && c->epoch == 0) {
        reader_fail(r, "set_writer with epoch 0 (epochs start at 1)");
    }
}

static void decode_opened(struct codec_reader *r, struct command_opened *c)
{
    c->epoch = codec_get_u64(r, "epoch");
    codec_get_string(r, "node_id", c->node_id, sizeof c->node_id);
    c->opened_wall_ms = codec_get_u64(r, "opened_wall_ms");
    expect_node_id(r, "opened", c->node_id);
}

/* Sequence ids are never 0: 0 means "no switchover" in the record. */
static void expect_nonzero(struct codec_reader *r, const char *what, const char *field, uint64_t v)
{
    if (r->error == 0 && v == 0) {
        reader_fail(r, "%s with %s 0", what, field);
    }
}

static void decode_maintenance(struct codec_reader *r, struct command_maintenance *c)
{
    c->on = codec_get_u8(r, "on");
    c->uid = codec_get_u32(r, "uid");
    c->wall_ms = codec_get_u64(r, "wall_ms");
    codec_get_string(r, "via", c->via, sizeof c->via);
    codec_get_string(r, "reason", c->reason, sizeof c->reason);
    expect_flag(r, "on", c->on);
    expect_node_id(r, "maintenance", c->via);
}

static void decode_switchover_begin(struct codec_reader *r, struct command_switchover_begin *c)
{
    c->id = codec_get_u64(r, "id");
    c->epoch = codec_get_u64(r, "epoch");
    codec_get_string(r, "from", c->from, sizeof c->from);
    codec_get_string(r, "to", c->to, sizeof c->to);
    c->timeout_ms = codec_get_u64(r, "timeout_ms");
    c->uid = codec_get_u32(r, "uid");
    c->wall_ms = codec_get_u64(r, "wall_ms");
    codec_get_string(r, "via", c->via, sizeof c->via);
    codec_get_string(r, "reason", c->reason, sizeof c->reason);
    expect_nonzero(r, "switchover_begin", "id", c->id);
    expect_nonzero(r, "switchover_begin", "epoch", c->epoch);
    expect_nonzero(r, "switchover_begin", "timeout_ms", c->timeout_ms);
    expect_node_id(r, "switchover_begin (from)", c->from);
    expect_node_id(r, "switchover_begin (to)", c->to);
    expect_node_id(r, "switchover_begin (via)", c->via);
}

static void decode_failover_force(struct codec_reader *r, struct command_failover_force *c)
{
    c->id = codec_get_u64(r, "id");
    c->epoch = codec_get_u64(r, "epoch");
    codec_get_string(r, "to", c->to, sizeof c->to);
    c->timeout_ms = codec_get_u64(r, "timeout_ms");
    c->uid = codec_get_u32(r, "uid");
    c->wall_ms = codec_get_u64(r, "wall_ms");
    codec_get_string(r, "via", c->via, sizeof c->via);
    codec_get_string(r, "missing", c->missing, sizeof c->missing);
    expect_nonzero(r, "failover_force", "id", c->id);
    expect_nonzero(r, "failover_force", "timeout_ms", c->timeout_ms);
    expect_node_id(r, "failover_force (to)", c->to);
    expect_node_id(r, "failover_force (via)", c->via);
}

static void decode_switchover_fenced(struct codec_reader *r, struct command_switchover_fenced *c)
{
    c->id = codec_get_u64(r, "id");
    c->epoch = codec_get_u64(r, "epoch");
    codec_get_string(r, "node", c->node, sizeof c->node);
    c->flavor = codec_get_u8(r, "flavor");
    codec_get_string(r, "executed", c->executed, sizeof c->executed);
    c->wall_ms = codec_get_u64(r, "wall_ms");
    expect_nonzero(r, "switchover_fenced", "id", c->id);
    expect_nonzero(r, "switchover_fenced", "epoch", c->epoch);
    expect_node_id(r, "switchover_fenced", c->node);
    expect_flag(r, "flavor", c->flavor);
}

static void decode_switchover_caught_up(struct codec_reader *r,
                                        struct command_switchover_caught_up *c)
{
    c->id = codec_get_u64(r, "id");
    codec_get_string(r, "node", c->node, sizeof c->node);
    codec_get_string(r, "executed", c->executed, sizeof c->executed);
    c->wall_ms = codec_get_u64(r, "wall_ms");
    expect_nonzero(r, "switchover_caught_up", "id", c->id);
    expect_node_id(r, "switchover_caught_up", c->node);
}

static void decode_switchover_done(struct codec_reader *r, struct command_switchover_done *c)
{
    c->id = codec_get_u64(r, "id");
    c->epoch = codec_get_u64(r, "epoch");
    c->wall_ms = codec_get_u64(r, "wall_ms");
    expect_nonzero(r, "switchover_done", "id", c->id);
    expect_nonzero(r, "switchover_done", "epoch", c->epoch);
}

static void decode_switchover_abort(struct codec_reader *r, struct command_switchover_abort *c)
{
    c->id = codec_get_u64(r, "id");
    c->wall_ms = codec_get_u64(r, "wall_ms");
    codec_get_string(r, "reason", c->reason, sizeof c->reason);
    expect_nonzero(r, "switchover_abort", "id", c->id);
}

int command_decode(const uint8_t *buf, size_t len, struct command *out, char *errmsg, size_t errlen)
{
    struct codec_reader r;
    codec_reader_init(&r, buf, len);
    memset(out, 0, sizeof *out);
    uint8_t version = codec_get_u8(&r, "version");
    uint8_t type = codec_get_u8(&r, "type");
    uint16_t reserved = codec_get_u16(&r, "reserved");
    uint32_t body = codec_get_u32(&r, "body length");
    if (r.error == 0 && version != CODEC_VERSION) {
        reader_fail(&r, "unknown codec version %u (this build reads version %u): upgrade this node",
                    (unsigned)version, (unsigned)CODEC_VERSION);
    }
    if (r.error == 0 && reserved != 0) {
        reader_fail(&r, "reserved header bytes are %u, expected 0", (unsigned)reserved);
    }
    /* The body may be followed by up to CODEC_ALIGN-1 zero bytes of padding. */
    size_t present = len >= CODEC_HEADER_SIZE ? len - CODEC_HEADER_SIZE : 0;
    if (r.error == 0 && ((size_t)body > present || present - body >= CODEC_ALIGN)) {
        reader_fail(&r, "header says %u body bytes, %zu present", (unsigned)body, present);
    }
    if (r.error == 0) {
        for (size_t i = CODEC_HEADER_SIZE + body; i < len; i++) {
            if (buf[i] != 0) {
                reader_fail(&r, "padding byte %zu is not zero", i);
                break;
            }
        }
        r.size = CODEC_HEADER_SIZE + body; /* the body decoder stops before the padding */
    }
    if (r.error == 0) {
        out->type = type;
        switch (type) {
        case COMMAND_REPORT:
            decode_report(&r, &out->report);
            break;
        case COMMAND_HEALTH:
            command_health_get(&r, &out->health);
            break;
        case COMMAND_RENEW:
            decode_renew(&r, &out->renew);
            break;
        case COMMAND_RELEASE:
            decode_release(&r, &out->release);
            break;
        case COMMAND_SET_WRITER:
            decode_set_writer(&r, &out->set_writer);
            break;
        case COMMAND_OPENED:
            decode_opened(&r, &out->opened);
            break;
        case COMMAND_MAINTENANCE:
            decode_maintenance(&r, &out->maintenance);
            break;
        case COMMAND_SWITCHOVER_BEGIN:
            decode_switchover_begin(&r, &out->switchover_begin);
            break;
        case COMMAND_FAILOVER_FORCE:
            decode_failover_force(&r, &out->failover_force);
            break;
        case COMMAND_SWITCHOVER_FENCED:
            decode_switchover_fenced(&r, &out->switchover_fenced);
            break;
        case COMMAND_SWITCHOVER_CAUGHT_UP:
            decode_switchover_caught_up(&r, &out->switchover_caught_up);
            break;
        case COMMAND_SWITCHOVER_DONE:
            decode_switchover_done(&r, &out->switchover_done);
            break;
        case COMMAND_SWITCHOVER_ABORT:
            decode_switchover_abort(&r, &out->switchover_abort);
            break;
        default:
            reader_fail(&r, "unknown command type %u (this build knows 1..%u): upgrade this node",
                        (unsigned)type, (unsigned)COMMAND_TYPE_MAX);
            break;
        }
        codec_expect_end(&r, "command");
    }
    if (r.error != 0) {
        snprintf(errmsg, errlen, "command: %s", r.errmsg);
    }
    return r.error;
}
