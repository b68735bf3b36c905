/* The cluster record and its raft FSM: apply, snapshot, restore, and refusals. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord/record.h"
#include "raft/fsm.h"

static struct raft_buffer report_entry(const char *id, uint64_t seq)
{
    struct command c;
    memset(&c, 0, sizeof c);
    c.type = COMMAND_REPORT;
    snprintf(c.report.node_id, sizeof c.report.node_id, "%s", id);
    strcpy(c.report.version, "0.1.0");
    c.report.start_wall_ms = 1000;
    c.report.sent_wall_ms = 1000 + seq;
    c.report.seq = seq;
    struct raft_buffer b;
    b.base = raft_malloc(CODEC_COMMAND_MAX);
    ck_assert_int_eq(command_encode(&c, b.base, CODEC_COMMAND_MAX, &b.len), 0);
    return b;
}

static int n_callbacks;
static int last_status;
static char last_errmsg[256];

static void on_applied(void *data, const struct command *cmd, int status, const char *errmsg)
{
    (void)data;
    (void)cmd;
    n_callbacks++;
    last_status = status;
    snprintf(last_errmsg, sizeof last_errmsg, "%s", errmsg);
}

static void apply(struct fsm *fsm, struct raft_buffer b)
{
    void *result = (void *)1;
    ck_assert_int_eq(fsm->raft.apply(&fsm->raft, &b, &result), 0);
    ck_assert_ptr_null(result);
    raft_free(b.base);
}

START_TEST(reports_update_the_record)
{
    struct fsm fsm;
    fsm_init(&fsm, on_applied, NULL);
    n_callbacks = 0;
    apply(&fsm, report_entry("m1", 1));
    apply(&fsm, report_entry("m2", 1));
    apply(&fsm, report_entry("m1", 2));
    ck_assert_int_eq(n_callbacks, 3);
    ck_assert_uint_eq(fsm.record.n_applied, 3);
    ck_assert_uint_eq(fsm.record.n_nodes, 2);
    const struct record_node *m1 = record_find_node(&fsm.record, "m1");
    ck_assert_ptr_nonnull(m1);
    ck_assert_uint_eq(m1->report_seq, 2);
    ck_assert_uint_eq(m1->n_reports, 2);
    ck_assert_uint_eq(m1->report_wall_ms, 1002);
    ck_assert_ptr_null(record_find_node(&fsm.record, "s"));
}
END_TEST

START_TEST(garbage_entry_is_counted_and_reported_not_fatal)
{
    struct fsm fsm;
    fsm_init(&fsm, on_applied, NULL);
    struct raft_buffer b = {.base = raft_malloc(3), .len = 3};
    memcpy(b.base, "\x01\x01\x00", 3);
    n_callbacks = 0;
    apply(&fsm, b);
    ck_assert_int_eq(n_callbacks, 1);
    ck_assert_int_eq(last_status, -EINVAL);
    ck_assert_ptr_nonnull(strstr(last_errmsg, "truncated"));
    ck_assert_uint_eq(fsm.record.n_applied, 1);
    ck_assert_uint_eq(fsm.record.n_nodes, 0);
}
END_TEST

START_TEST(too_many_nodes_refused)
{
    struct fsm fsm;
    fsm_init(&fsm, on_applied, NULL);
    char id[16];
    for (int i = 0; i < RECORD_MAX_NODES; i++) {
        snprintf(id, sizeof id, "n%d", i);
        apply(&fsm, report_entry(id, 1));
        ck_assert_int_eq(last_status, 0);
    }
    apply(&fsm, report_entry("one-too-many", 1));
    ck_assert_int_eq(last_status, -ENOSPC);
    ck_assert_ptr_nonnull(strstr(last_errmsg, "one-too-many"));
    ck_assert_uint_eq(fsm.record.n_nodes, RECORD_MAX_NODES);
}
END_TEST

START_TEST(snapshot_and_restore_give_the_same_record)
{
    struct fsm a, b;
    fsm_init(&a, NULL, NULL);
    fsm_init(&b, on_applied, NULL);
    apply(&a, report_entry("m1", 7));
    apply(&a, report_entry("s", 3));
    struct raft_buffer *bufs;
    unsigned n;
    ck_assert_int_eq(a.raft.snapshot(&a.raft, &bufs, &n), 0);
    ck_assert_uint_eq(n, 1);
    /* raft hands restore a copy it allocated and, on success, gives up ownership. */
    struct raft_buffer copy = {.base = raft_malloc(bufs[0].len), .len = bufs[0].len};
    memcpy(copy.base, bufs[0].base, bufs[0].len);
    ck_assert_int_eq(a.raft.snapshot_finalize(&a.raft, &bufs, &n), 0);
    ck_assert_int_eq(b.raft.restore(&b.raft, &copy), 0);
    ck_assert_str_eq(last_errmsg, "restored from snapshot");
    ck_assert_mem_eq(&a.record, &b.record, sizeof a.record);
}
END_TEST

static size_t encoded(const struct record *r, uint8_t *buf)
{
    size_t len;
    ck_assert_int_eq(record_encode(r, buf, RECORD_SNAPSHOT_MAX, &len), 0);
    return len;
}

START_TEST(bad_snapshots_are_refused)
{
    struct fsm a;
    fsm_init(&a, NULL, NULL);
    apply(&a, report_entry("m1", 7));
    apply(&a, report_entry("m2", 7));
    uint8_t buf[RECORD_SNAPSHOT_MAX];
    size_t len = encoded(&a.record, buf);
    struct record out;
    char err[256];

    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *copy = malloc(cut + 1);
        memcpy(copy, buf, cut);
        ck_assert_int_eq(record_decode(copy, cut, &out, err, sizeof err), -EINVAL);
        free(copy);
    }
    buf[0] = 'X';
    ck_assert_int_eq(record_decode(buf, len, &out, err, sizeof err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "bad magic"));
    buf[0] = 'M';
    buf[4] = 9;
    ck_assert_int_eq(record_decode(buf, len, &out, err, sizeof err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "format version 9"));
    buf[4] = RECORD_FORMAT_VERSION;
    /* n_nodes after magic(4) version(4) n_applied(8) epoch(8) writer("",2) released(1)
     * reason("",2) renewals(8) last_nonce(8) */
    buf[45] = 200;
    ck_assert_int_eq(record_decode(buf, len, &out, err, sizeof err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "200 nodes"));

    /* The same node twice. */
    struct record dup = a.record;
    strcpy(dup.nodes[1].id, "m1");
    len = encoded(&dup, buf);
    ck_assert_int_eq(record_decode(buf, len, &out, err, sizeof err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "appears twice"));

    /* A restore that fails leaves the buffer with raft and the record untouched. */
    struct fsm b;
    fsm_init(&b, on_applied, NULL);
    apply(&b, report_entry("keep", 1));
    struct raft_buffer bad = {.base = raft_malloc(4), .len = 4};
    memcpy(bad.base, "MMCX", 4);
    ck_assert_int_ne(b.raft.restore(&b.raft, &bad), 0);
    ck_assert_ptr_nonnull(record_find_node(&b.record, "keep"));
    raft_free(bad.base);
}
END_TEST

static struct command make(uint8_t type)
{
    struct command c;
    memset(&c, 0, sizeof c);
    c.type = type;
    return c;
}

static int apply_cmd(struct record *r, struct command c, char *err)
{
    return record_apply(r, &c, err, 256);
}

static struct command set_writer(uint64_t epoch, const char *node, const char *reason)
{
    struct command c = make(COMMAND_SET_WRITER);
    c.set_writer.epoch = epoch;
    snprintf(c.set_writer.node_id, sizeof c.set_writer.node_id, "%s", node);
    snprintf(c.set_writer.reason, sizeof c.set_writer.reason, "%s", reason);
    c.set_writer.detected_wall_ms = 1000 * epoch;
    c.set_writer.decided_wall_ms = 1000 * epoch + 5;
    return c;
}

static struct command renew(uint64_t epoch, const char *node, uint64_t nonce)
{
    struct command c = make(COMMAND_RENEW);
    c.renew.epoch = epoch;
    snprintf(c.renew.node_id, sizeof c.renew.node_id, "%s", node);
    c.renew.nonce = nonce;
    return c;
}

START_TEST(writer_transitions_follow_the_epoch)
{
    static struct record r;
    record_init(&r);
    char err[256];
    /* Nothing to renew before a writer is named. */
    ck_assert_int_eq(apply_cmd(&r, renew(0, "m1", 1), err), RECORD_IGNORED);
    /* Epochs go up by one. */
    ck_assert_int_eq(apply_cmd(&r, set_writer(2, "m1", "skip"), err), RECORD_IGNORED);
    ck_assert_ptr_nonnull(strstr(err, "current epoch is 0"));
    ck_assert_int_eq(apply_cmd(&r, set_writer(1, "m1", "initial"), err), 0);
    ck_assert_uint_eq(r.writer.epoch, 1);
    ck_assert_str_eq(r.writer.node, "m1");
    ck_assert_int_eq(apply_cmd(&r, renew(1, "m1", 7), err), 0);
    ck_assert_uint_eq(r.writer.renewals, 1);
    ck_assert_uint_eq(r.writer.last_nonce, 7);
    /* Only the writer of the current epoch renews. */
    ck_assert_int_eq(apply_cmd(&r, renew(1, "m2", 8), err), RECORD_IGNORED);
    ck_assert_int_eq(apply_cmd(&r, renew(0, "m1", 9), err), RECORD_IGNORED);
    ck_assert_uint_eq(r.writer.renewals, 1);

    struct command rel = make(COMMAND_RELEASE);
    rel.release.epoch = 1;
    strcpy(rel.release.node_id, "m2");
    ck_assert_int_eq(apply_cmd(&r, rel, err), RECORD_IGNORED);
    strcpy(rel.release.node_id, "m1");
    strcpy(rel.release.reason, "mysqld refused connections");
    ck_assert_int_eq(apply_cmd(&r, rel, err), 0);
    ck_assert(r.writer.released);
    /* A released epoch is not renewed any more. */
    ck_assert_int_eq(apply_cmd(&r, renew(1, "m1", 10), err), RECORD_IGNORED);
    ck_assert_ptr_nonnull(strstr(err, "released"));

    ck_assert_int_eq(apply_cmd(&r, set_writer(2, "m2", "m1 released: mysqld down"), err), 0);
    ck_assert(!r.writer.released);
    ck_assert_uint_eq(r.writer.renewals, 0);
    ck_assert_uint_eq(r.n_history, 2);
    const struct record_epoch *e = record_find_epoch(&r, 2);
    ck_assert_ptr_nonnull(e);
    ck_assert_str_eq(e->old_writer, "m1");
    ck_assert_str_eq(e->new_writer, "m2");
    ck_assert_uint_eq(e->decided_wall_ms, 2005);
    ck_assert_uint_eq(e->opened_wall_ms, 0);

    struct command op = make(COMMAND_OPENED);
    op.opened.epoch = 2;
    strcpy(op.opened.node_id, "m1");
    ck_assert_int_eq(apply_cmd(&r, op, err), RECORD_IGNORED);
    strcpy(op.opened.node_id, "m2");
    op.opened.opened_wall_ms = 2100;
    ck_assert_int_eq(apply_cmd(&r, op, err), 0);
    ck_assert_uint_eq(record_find_epoch(&r, 2)->opened_wall_ms, 2100);
    /* An epoch with no writer. */
    ck_assert_int_eq(apply_cmd(&r, set_writer(3, "", "no healthy candidate"), err), 0);
    ck_assert_str_eq(r.writer.node, "");
    ck_assert_int_eq(apply_cmd(&r, renew(3, "", 1), err), RECORD_IGNORED);
    ck_assert_uint_eq(r.n_applied, 14);
}
END_TEST

START_TEST(a_record_behind_its_log_is_seen_as_diverged)
{
    static struct record r;
    record_init(&r);
    char err[256];
    char why[256];
    ck_assert_int_eq(apply_cmd(&r, set_writer(1, "m1", "initial"), err), 0);
    ck_assert_int_eq(apply_cmd(&r, set_writer(2, "m2", "m1 gone"), err), 0);
    /* What a consistent log can hold: the next epoch, a stale or repeated one, renewals of
     * epochs already named. */
    struct command ok[] = {set_writer(3, "m1", "next"), set_writer(2, "m1", "twice"),
                           set_writer(1, "m1", "old"), renew(2, "m2", 1), renew(1, "m1", 1)};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        ck_assert_msg(!record_diverged(&r, &ok[i], why, sizeof why), "%zu: %s", i, why);
    }
    struct command rp = make(COMMAND_REPORT);
    ck_assert(!record_diverged(&r, &rp, why, sizeof why));
    /* Entries lost under it: the cluster went on to epochs this record never saw. */
    struct command skip = set_writer(9, "m1", "far ahead");
    ck_assert(record_diverged(&r, &skip, why, sizeof why));
    ck_assert_msg(strstr(why, "epoch 9 while this node's record is at epoch 2") != NULL, "%s", why);
    ck_assert_msg(strstr(why, "epochs 3 to 8") != NULL, "%s", why);
    struct command ahead = renew(3, "m1", 5);
    ck_assert(record_diverged(&r, &ahead, why, sizeof why));
    struct command op = make(COMMAND_OPENED);
    op.opened.epoch = 4;
    ck_assert(record_diverged(&r, &op, why, sizeof why));
    struct command rel = make(COMMAND_RELEASE);
    rel.release.epoch = 3;
    ck_assert(record_diverged(&r, &rel, why, sizeof why));
}
END_TEST

START_TEST(history_keeps_the_newest_epochs)
{
    static struct record r;
    record_init(&r);
    char err[256];
    for (uint64_t e = 1; e <= RECORD_HISTORY_MAX + 5; e++) {
        ck_assert_int_eq(apply_cmd(&r, set_writer(e, e % 2 ? "m1" : "m2", "switchover"), err), 0);
    }
    ck_assert_uint_eq(r.n_history, RECORD_HISTORY_MAX);
    ck_assert_uint_eq(r.history[0].epoch, 6);
    ck_assert_ptr_null(record_find_epoch(&r, 5));
    ck_assert_ptr_nonnull(record_find_epoch(&r, RECORD_HISTORY_MAX + 5));
}
END_TEST

START_TEST(health_and_writer_survive_a_snapshot)
{
    static struct record r, back;
    record_init(&r);
    char err[256];
    struct command h = make(COMMAND_HEALTH);
    strcpy(h.health.node_id, "s");
    h.health.mysql = MYSQL_VIEW_UP;
    h.health.read_only = 1;
    h.health.replicating = 1;
    h.health.io_running = 1;
    h.health.sql_running = 1;
    strcpy(h.health.source_host, "10.0.0.1");
    h.health.source_port = 3306;
    h.health.lag_s = -1;
    strcpy(h.health.executed, "0-1-100,1-2-40");
    strcpy(h.health.received, "0-1-105,1-2-40");
    ck_assert_int_eq(apply_cmd(&r, h, err), 0);
    ck_assert_int_eq(apply_cmd(&r, set_writer(1, "m1", "initial"), err), 0);
    ck_assert_int_eq(apply_cmd(&r, renew(1, "m1", 3), err), 0);
    const struct record_node *s = record_find_node(&r, "s");
    ck_assert(s->has_health);
    ck_assert_str_eq(s->health.received, "0-1-105,1-2-40");
    ck_assert_uint_eq(s->mysql, MYSQL_VIEW_UP);

    static uint8_t buf[RECORD_SNAPSHOT_MAX];
    size_t len;
    ck_assert_int_eq(record_encode(&r, buf, sizeof buf, &len), 0);
    ck_assert_int_eq(record_decode(buf, len, &back, err, sizeof err), 0);
    ck_assert_mem_eq(&back, &r, sizeof r);
}
END_TEST

START_TEST(a_format_1_snapshot_still_restores)
{
    /* magic, version 1, n_applied 5, one node "m1" version "0.1.0". */
    static const uint8_t v1[] = {
        'M', 'M', 'C', 'R', 1,   0,   0,   0,   5, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2, 0, 'm',
        '1', 5,   0,   '0', '.', '1', '.', '0', 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0,
        0,   0,   0,   3,   0,   0,   0,   0,   0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0};
    static struct record r;
    char err[256];
    ck_assert_int_eq(record_decode(v1, sizeof v1, &r, err, sizeof err), 0);
    ck_assert_uint_eq(r.n_applied, 5);
    ck_assert_uint_eq(r.writer.epoch, 0);
    ck_assert_str_eq(r.nodes[0].id, "m1");
    ck_assert_uint_eq(r.nodes[0].report_seq, 3);
    ck_assert(!r.nodes[0].has_health);
}
END_TEST

static struct command maintenance(bool on, uint32_t uid, const char *reason)
{
    struct command c = make(COMMAND_MAINTENANCE);
    c.maintenance.on = on;
    c.maintenance.uid = uid;
    c.maintenance.wall_ms = 5000;
    strcpy(c.maintenance.via, "s");
    snprintf(c.maintenance.reason, sizeof c.maintenance.reason, "%s", reason);
    return c;
}

static struct command begin(uint64_t id, uint64_t epoch, const char *from, const char *to)
{
    struct command c = make(COMMAND_SWITCHOVER_BEGIN);
    c.switchover_begin.id = id;
    c.switchover_begin.epoch = epoch;
    snprintf(c.switchover_begin.from, sizeof c.switchover_begin.from, "%s", from);
    snprintf(c.switchover_begin.to, sizeof c.switchover_begin.to, "%s", to);
    c.switchover_begin.timeout_ms = 10000;
    c.switchover_begin.uid = 1000;
    c.switchover_begin.wall_ms = 10000;
    strcpy(c.switchover_begin.via, "m2");
    strcpy(c.switchover_begin.reason, "asked for by the operator");
    return c;
}

static struct command fenced(uint64_t id, uint64_t epoch, const char *node)
{
    struct command c = make(COMMAND_SWITCHOVER_FENCED);
    c.switchover_fenced.id = id;
    c.switchover_fenced.epoch = epoch;
    snprintf(c.switchover_fenced.node, sizeof c.switchover_fenced.node, "%s", node);
    strcpy(c.switchover_fenced.executed, "0-1-120");
    c.switchover_fenced.wall_ms = 10010;
    return c;
}

static struct command caught_up(uint64_t id, const char *node)
{
    struct command c = make(COMMAND_SWITCHOVER_CAUGHT_UP);
    c.switchover_caught_up.id = id;
    snprintf(c.switchover_caught_up.node, sizeof c.switchover_caught_up.node, "%s", node);
    strcpy(c.switchover_caught_up.executed, "0-1-120");
    c.switchover_caught_up.wall_ms = 10020;
    return c;
}

static struct command done(uint64_t id, uint64_t epoch)
{
    struct command c = make(COMMAND_SWITCHOVER_DONE);
    c.switchover_done.id = id;
    c.switchover_done.epoch = epoch;
    c.switchover_done.wall_ms = 10050;
    return c;
}

static struct command abort_cmd(uint64_t id, const char *reason)
{
    struct command c = make(COMMAND_SWITCHOVER_ABORT);
    c.switchover_abort.id = id;
    c.switchover_abort.wall_ms = 20000;
    snprintf(c.switchover_abort.reason, sizeof c.switchover_abort.reason, "%s", reason);
    return c;
}

static struct command opened(uint64_t epoch, const char *node)
{
    struct command c = make(COMMAND_OPENED);
    c.opened.epoch = epoch;
    snprintf(c.opened.node_id, sizeof c.opened.node_id, "%s", node);
    c.opened.opened_wall_ms = 1000 * epoch + 50;
    return c;
}

/* A record whose epoch 1 belongs to m1, opened. */
static void writer_m1(struct record *r)
{
    char err[256];
    record_init(r);
    ck_assert_int_eq(apply_cmd(r, set_writer(1, "m1", "initial"), err), 0);
    ck_assert_int_eq(apply_cmd(r, opened(1, "m1"), err), 0);
}

START_TEST(maintenance_is_a_flag_with_history)
{
    static struct record r;
    writer_m1(&r);
    char err[256];
    ck_assert_int_eq(apply_cmd(&r, maintenance(false, 0, "x"), err), RECORD_IGNORED);
    ck_assert_ptr_nonnull(strstr(err, "off already"));
    ck_assert_int_eq(apply_cmd(&r, maintenance(true, 1000, "kernel upgrade"), err), 0);
    ck_assert(r.maintenance.on);
    ck_assert_uint_eq(r.maintenance.uid, 1000);
    ck_assert_str_eq(r.maintenance.reason, "kernel upgrade");
    ck_assert_uint_eq(r.maintenance.since_wall_ms, 5000);
    ck_assert_int_eq(apply_cmd(&r, maintenance(true, 0, "again"), err), RECORD_IGNORED);
    ck_assert_str_eq(r.maintenance.reason, "kernel upgrade");
    ck_assert_int_eq(apply_cmd(&r, maintenance(false, 0, "done"), err), 0);
    ck_assert(!r.maintenance.on);
    ck_assert_uint_eq(r.n_events, 2);
    ck_assert_uint_eq(r.events[0].kind, RECORD_EVENT_MAINTENANCE_ON);
    ck_assert_uint_eq(r.events[0].uid, 1000);
    ck_assert_str_eq(r.events[0].reason, "kernel upgrade");
    ck_assert_uint_eq(r.events[1].kind, RECORD_EVENT_MAINTENANCE_OFF);
    ck_assert_str_eq(r.events[1].via, "s");
    ck_assert_str_eq(record_event_kind_name(r.events[1].kind), "maintenance_off");
    /* The writer is untouched by maintenance. */
    ck_assert_str_eq(r.writer.node, "m1");
    /* The oldest events go first. */
    for (int i = 0; i < RECORD_EVENTS_MAX; i++) {
        ck_assert_int_eq(apply_cmd(&r, maintenance(i % 2 == 0, (uint32_t)i, "flip"), err), 0);
    }
    ck_assert_uint_eq(r.n_events, RECORD_EVENTS_MAX);
    ck_assert_uint_eq(r.events[RECORD_EVENTS_MAX - 1].uid, RECORD_EVENTS_MAX - 1);
}
END_TEST

START_TEST(a_switchover_goes_through_its_steps_in_order_only)
{
    static struct record r, twin;
    writer_m1(&r);
    char err[256];
    struct command steps[] = {
        caught_up(7, "m2"),      /* out of order: nothing begun */
        begin(7, 1, "m1", "m2"), /* begins */
        begin(7, 1, "m1", "m2"), /* duplicate */
        begin(8, 1, "m1", "m2"), /* another while one is in progress */
        caught_up(7, "m2"),      /* out of order: not fenced yet */
        fenced(7, 1, "m2"),      /* not the old writer */
        fenced(6, 1, "m1"),      /* another sequence */
        fenced(7, 1, "m1"),      /* fenced */
        renew(1, "m1", 99),      /* the epoch is released */
        fenced(7, 1, "m1"),      /* twice */
        caught_up(7, "s"),       /* not the target */
        done(7, 2),              /* out of order */
        caught_up(7, "m2"),      /* caught up */
        set_writer(2, "m2", "switchover 7"),
        done(7, 3), /* wrong epoch */
        opened(2, "m2"),
        done(7, 2),               /* done */
        abort_cmd(7, "too late"), /* over */
    };
    int expect[] = {RECORD_IGNORED,
                    0,
                    RECORD_IGNORED,
                    RECORD_IGNORED,
                    RECORD_IGNORED,
                    RECORD_IGNORED,
                    RECORD_IGNORED,
                    0,
                    RECORD_IGNORED,
                    RECORD_IGNORED,
                    RECORD_IGNORED,
                    RECORD_IGNORED,
                    0,
                    0,
                    RECORD_IGNORED,
                    0,
                    0,
                    RECORD_IGNORED};
    ck_assert_uint_eq(sizeof steps / sizeof steps[0], sizeof expect / sizeof expect[0]);
    twin = r;
    for (unsigned i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        ck_assert_msg(apply_cmd(&r, steps[i], err) == expect[i], "step %u (%s): %s", i,
                      command_type_name(steps[i].type), err);
        apply_cmd(&twin, steps[i], err);
        if (i == 1) {
            ck_assert_uint_eq(r.switchover.step, SWITCHOVER_STEP_BEGUN);
            ck_assert_str_eq(r.switchover.from, "m1");
            ck_assert_uint_eq(r.switchover.timeout_ms, 10000);
            ck_assert(!r.writer.released);
        } else if (i == 7) {
            ck_assert_uint_eq(r.switchover.step, SWITCHOVER_STEP_FENCED);
            ck_assert_str_eq(r.switchover.final, "0-1-120");
            ck_assert(r.writer.released);
            ck_assert_ptr_nonnull(strstr(r.writer.release_reason, "switchover 7"));
        } else if (i == 12) {
            ck_assert_uint_eq(r.switchover.step, SWITCHOVER_STEP_CAUGHT_UP);
        } else if (i == 13) {
            ck_assert_uint_eq(r.switchover.step, SWITCHOVER_STEP_SWITCHED);
            ck_assert_uint_eq(r.switchover.new_epoch, 2);
            ck_assert_uint_eq(record_find_epoch(&r, 2)->switchover_id, 7);
        }
    }
    /* The same entries give the same record on every node. */
    ck_assert_mem_eq(&r, &twin, sizeof r);
    ck_assert_uint_eq(r.switchover.id, 0);
    ck_assert_uint_eq(r.last_switchover_id, 7);
    ck_assert_uint_eq(r.n_events, 1);
    const struct record_event *e = &r.events[0];
    ck_assert_uint_eq(e->kind, RECORD_EVENT_SWITCHOVER);
    ck_assert_uint_eq(e->outcome, RECORD_OUTCOME_DONE);
    ck_assert_uint_eq(e->id, 7);
    ck_assert_uint_eq(e->uid, 1000);
    ck_assert_str_eq(e->from, "m1");
    ck_assert_str_eq(e->to, "m2");
    ck_assert_uint_eq(e->epoch, 1);
    ck_assert_uint_eq(e->new_epoch, 2);
    ck_assert_str_eq(e->gtid, "0-1-120");
    ck_assert_uint_eq(e->begun_wall_ms, 10000);
    ck_assert_uint_eq(e->fenced_wall_ms, 10010);
    ck_assert_uint_eq(e->caught_up_wall_ms, 10020);
    ck_assert_uint_eq(e->switched_wall_ms, 2005);
    ck_assert_uint_eq(e->opened_wall_ms, 2050);
    ck_assert_uint_eq(e->ended_wall_ms, 10050);
    /* An id used once is not used again. */
    ck_assert_int_eq(apply_cmd(&r, begin(7, 2, "m2", "m1"), err), RECORD_IGNORED);
    ck_assert_ptr_nonnull(strstr(err, "duplicate"));
}
END_TEST

START_TEST(a_switchover_begins_only_from_the_current_writer)
{
    static struct record r;
    writer_m1(&r);
    char err[256];
    ck_assert_int_eq(apply_cmd(&r, begin(1, 2, "m1", "m2"), err), RECORD_IGNORED); /* epoch */
    ck_assert_int_eq(apply_cmd(&r, begin(1, 1, "m2", "m1"), err), RECORD_IGNORED); /* from */
    ck_assert_int_eq(apply_cmd(&r, begin(1, 1, "m1", "m1"), err), RECORD_IGNORED); /* to self */
    ck_assert_int_eq(apply_cmd(&r, maintenance(true, 0, "m"), err), 0);
    ck_assert_int_eq(apply_cmd(&r, begin(1, 1, "m1", "m2"), err), RECORD_IGNORED);
    ck_assert_ptr_nonnull(strstr(err, "maintenance"));
    ck_assert_int_eq(apply_cmd(&r, maintenance(false, 0, "m"), err), 0);
    struct command rel = make(COMMAND_RELEASE);
    rel.release.epoch = 1;
    strcpy(rel.release.node_id, "m1");
    ck_assert_int_eq(apply_cmd(&r, rel, err), 0);
    ck_assert_int_eq(apply_cmd(&r, begin(1, 1, "m1", "m2"), err), RECORD_IGNORED); /* released */
    ck_assert_uint_eq(r.switchover.id, 0);
    ck_assert_uint_eq(r.last_switchover_id, 0);
}
END_TEST

START_TEST(an_abort_before_the_fence_keeps_the_epoch_after_it_rolls_back)
{
    static struct record r;
    writer_m1(&r);
    char err[256];
    ck_assert_int_eq(apply_cmd(&r, begin(3, 1, "m1", "m2"), err), 0);
    ck_assert_int_eq(apply_cmd(&r, abort_cmd(4, "not this one"), err), RECORD_IGNORED);
    ck_assert_int_eq(apply_cmd(&r, abort_cmd(3, "target m2 has its mysqld down"), err), 0);
    /* Ids are never reused, even after another sequence. */
    ck_assert_int_eq(apply_cmd(&r, begin(30, 1, "m1", "m2"), err), 0);
    ck_assert_int_eq(apply_cmd(&r, abort_cmd(30, "x"), err), 0);
    ck_assert_int_eq(apply_cmd(&r, begin(3, 1, "m1", "m2"), err), RECORD_IGNORED);
    ck_assert_ptr_nonnull(strstr(err, "duplicate"));
    ck_assert_uint_eq(r.switchover.id, 0);
    ck_assert(!r.writer.released); /* m1 keeps epoch 1 and its lease */
    ck_assert_uint_eq(r.writer.epoch, 1);
    ck_assert_uint_eq(r.events[0].outcome, RECORD_OUTCOME_ABORTED);
    ck_assert_str_eq(r.events[0].reason, "target m2 has its mysqld down");
    /* A FENCED that was on its way is stale now. */
    ck_assert_int_eq(apply_cmd(&r, fenced(3, 1, "m1"), err), RECORD_IGNORED);
    ck_assert(!r.writer.released);

    /* After the fence, an abort rolls back: the old writer comes back in a new epoch. */
    ck_assert_int_eq(apply_cmd(&r, begin(4, 1, "m1", "m2"), err), 0);
    ck_assert_int_eq(apply_cmd(&r, fenced(4, 1, "m1"), err), 0);
    ck_assert_int_eq(apply_cmd(&r, abort_cmd(4, "m2 did not catch up in time"), err), 0);
    ck_assert_uint_eq(r.switchover.step, SWITCHOVER_STEP_ROLLING_BACK);
    ck_assert_str_eq(r.switchover.reason, "m2 did not catch up in time");
    ck_assert_int_eq(apply_cmd(&r, abort_cmd(4, "again"), err), RECORD_IGNORED);
    ck_assert_int_eq(apply_cmd(&r, caught_up(4, "m2"), err), RECORD_IGNORED);
    ck_assert_int_eq(apply_cmd(&r, set_writer(2, "m1", "switchover 4 rolled back"), err), 0);
    ck_assert_uint_eq(r.switchover.id, 0);
    ck_assert_str_eq(r.writer.node, "m1");
    ck_assert(!r.writer.released);
    ck_assert_uint_eq(record_find_epoch(&r, 2)->switchover_id, 4);
    ck_assert_uint_eq(r.events[2].outcome, RECORD_OUTCOME_ROLLED_BACK);
    ck_assert_uint_eq(r.events[2].new_epoch, 2);
    ck_assert_str_eq(record_outcome_name(r.events[2].outcome), "rolled_back");

    /* An automatic change of writer in the middle supersedes the sequence. */
    ck_assert_int_eq(apply_cmd(&r, begin(5, 2, "m1", "m2"), err), 0);
    ck_assert_int_eq(apply_cmd(&r, set_writer(3, "m2", "writer m1's lease ran out"), err), 0);
    ck_assert_uint_eq(r.switchover.id, 0);
    ck_assert_uint_eq(r.events[3].outcome, RECORD_OUTCOME_ABORTED);
    ck_assert_ptr_nonnull(strstr(r.events[3].reason, "superseded"));
    ck_assert_uint_eq(record_find_epoch(&r, 3)->switchover_id, 0);
    /* An abort after the switch ends the sequence and leaves the new writer. */
    ck_assert_int_eq(apply_cmd(&r, opened(3, "m2"), err), 0);
    ck_assert_int_eq(apply_cmd(&r, begin(6, 3, "m2", "m1"), err), 0);
    ck_assert_int_eq(apply_cmd(&r, fenced(6, 3, "m2"), err), 0);
    ck_assert_int_eq(apply_cmd(&r, caught_up(6, "m1"), err), 0);
    ck_assert_int_eq(apply_cmd(&r, set_writer(4, "m1", "switchover 6"), err), 0);
    ck_assert_int_eq(apply_cmd(&r, abort_cmd(6, "m1 did not open in time"), err), 0);
    ck_assert_uint_eq(r.switchover.id, 0);
    ck_assert_str_eq(r.writer.node, "m1");
    ck_assert_uint_eq(r.events[4].outcome, RECORD_OUTCOME_ABORTED);
}
END_TEST

START_TEST(a_forced_failover_switches_without_catching_up)
{
    static struct record r;
    writer_m1(&r);
    char err[256];
    struct command f = make(COMMAND_FAILOVER_FORCE);
    f.failover_force.id = 9;
    f.failover_force.epoch = 1;
    strcpy(f.failover_force.to, "m1");
    f.failover_force.timeout_ms = 5000;
    f.failover_force.uid = 0;
    strcpy(f.failover_force.via, "s");
    strcpy(f.failover_force.missing, "0-1-101-105");
    ck_assert_int_eq(apply_cmd(&r, f, err), RECORD_IGNORED); /* to the writer itself */
    strcpy(f.failover_force.to, "m2");
    ck_assert_int_eq(apply_cmd(&r, maintenance(true, 0, "m"), err), 0); /* allowed anyway */
    ck_assert_int_eq(apply_cmd(&r, f, err), 0);
    ck_assert_uint_eq(r.switchover.kind, SWITCHOVER_KIND_FORCED);
    ck_assert_str_eq(r.switchover.from, "m1");
    ck_assert_str_eq(r.switchover.missing, "0-1-101-105");
    ck_assert_int_eq(apply_cmd(&r, caught_up(9, "m2"), err), RECORD_IGNORED); /* no catch-up */
    ck_assert_int_eq(apply_cmd(&r, set_writer(2, "m2", "forced failover 9"), err), 0);
    ck_assert_uint_eq(r.switchover.step, SWITCHOVER_STEP_SWITCHED);
    ck_assert_int_eq(apply_cmd(&r, opened(2, "m2"), err), 0);
    ck_assert_int_eq(apply_cmd(&r, done(9, 2), err), 0);
    const struct record_event *e = &r.events[r.n_events - 1];
    ck_assert_uint_eq(e->kind, RECORD_EVENT_FORCED_FAILOVER);
    ck_assert_uint_eq(e->outcome, RECORD_OUTCOME_DONE);
    ck_assert_str_eq(e->gtid, "0-1-101-105");
    ck_assert_uint_eq(e->uid, 0);
}
END_TEST

START_TEST(operator_state_survives_a_snapshot)
{
    static struct record r, back;
    writer_m1(&r);
    char err[256];
    ck_assert_int_eq(apply_cmd(&r, maintenance(true, 1000, "upgrade"), err), 0);
    ck_assert_int_eq(apply_cmd(&r, maintenance(false, 1000, ""), err), 0);
    ck_assert_int_eq(apply_cmd(&r, begin(11, 1, "m1", "m2"), err), 0);
    ck_assert_int_eq(apply_cmd(&r, fenced(11, 1, "m1"), err), 0);
    static uint8_t buf[RECORD_SNAPSHOT_MAX];
    size_t len;
    ck_assert_int_eq(record_encode(&r, buf, sizeof buf, &len), 0);
    ck_assert_uint_eq(buf[4], 3);
    ck_assert_int_eq(record_decode(buf, len, &back, err, sizeof err), 0);
    ck_assert_mem_eq(&back, &r, sizeof r);
    /* A restored node goes on with the sequence exactly like the others. */
    ck_assert_int_eq(apply_cmd(&back, caught_up(11, "m2"), err), 0);
    ck_assert_int_eq(apply_cmd(&r, caught_up(11, "m2"), err), 0);
    ck_assert_mem_eq(&back, &r, sizeof r);
    /* Every cut is refused. */
    ck_assert_int_eq(record_encode(&r, buf, sizeof buf, &len), 0);
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *copy = malloc(cut + 1);
        memcpy(copy, buf, cut);
        ck_assert_int_eq(record_decode(copy, cut, &back, err, sizeof err), -EINVAL);
        free(copy);
    }
    /* Values out of bounds are refused, each naming what is wrong. */
    struct record bad = r;
    bad.switchover.step = 9;
    ck_assert_int_eq(record_encode(&bad, buf, sizeof buf, &len), 0);
    ck_assert_int_eq(record_decode(buf, len, &back, err, sizeof err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "switchover"));
    bad = r;
    bad.events[0].kind = 77;
    ck_assert_int_eq(record_encode(&bad, buf, sizeof buf, &len), 0);
    ck_assert_int_eq(record_decode(buf, len, &back, err, sizeof err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "event"));
    bad = r;
    bad.last_switchover_id = 12;
    ck_assert_int_eq(record_encode(&bad, buf, sizeof buf, &len), 0);
    ck_assert_int_eq(record_decode(buf, len, &back, err, sizeof err), -EINVAL);
}
END_TEST

START_TEST(a_format_2_snapshot_still_restores)
{
    /* Written the way format 2 was: writer, no nodes, one history entry, nothing after. */
    uint8_t buf[512];
    struct codec_writer w;
    codec_writer_init(&w, buf, sizeof buf);
    const char magic[] = "MMCR";
    for (int i = 0; i < 4; i++) {
        codec_put_u8(&w, (uint8_t)magic[i]);
    }
    codec_put_u32(&w, 2);
    codec_put_u64(&w, 12); /* n_applied */
    codec_put_u64(&w, 1);  /* epoch */
    codec_put_string(&w, "m1");
    codec_put_u8(&w, 1); /* released */
    codec_put_string(&w, "mysqld down");
    codec_put_u64(&w, 4);  /* renewals */
    codec_put_u64(&w, 77); /* last nonce */
    codec_put_u16(&w, 0);  /* nodes */
    codec_put_u16(&w, 1);  /* history */
    codec_put_u64(&w, 1);
    codec_put_string(&w, "");
    codec_put_string(&w, "m1");
    codec_put_string(&w, "no writer yet");
    codec_put_u64(&w, 100);
    codec_put_u64(&w, 105);
    codec_put_u64(&w, 150);
    ck_assert_int_eq(w.error, 0);
    static struct record r;
    char err[256];
    ck_assert_int_eq(record_decode(buf, w.offset, &r, err, sizeof err), 0);
    ck_assert_uint_eq(r.n_applied, 12);
    ck_assert(r.writer.released);
    ck_assert_str_eq(r.history[0].new_writer, "m1");
    ck_assert_uint_eq(r.history[0].opened_wall_ms, 150);
    ck_assert_uint_eq(r.history[0].switchover_id, 0);
    ck_assert(!r.maintenance.on);
    ck_assert_uint_eq(r.switchover.id, 0);
    ck_assert_uint_eq(r.n_events, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("record");
    TCase *tc = tcase_create("fsm");
    tcase_add_test(tc, reports_update_the_record);
    tcase_add_test(tc, garbage_entry_is_counted_and_reported_not_fatal);
    tcase_add_test(tc, too_many_nodes_refused);
    tcase_add_test(tc, snapshot_and_restore_give_the_same_record);
    tcase_add_test(tc, bad_snapshots_are_refused);
    tcase_add_test(tc, writer_transitions_follow_the_epoch);
    tcase_add_test(tc, history_keeps_the_newest_epochs);
    tcase_add_test(tc, health_and_writer_survive_a_snapshot);
    tcase_add_test(tc, a_format_1_snapshot_still_restores);
    tcase_add_test(tc, maintenance_is_a_flag_with_history);
    tcase_add_test(tc, a_switchover_goes_through_its_steps_in_order_only);
    tcase_add_test(tc, a_switchover_begins_only_from_the_current_writer);
    tcase_add_test(tc, an_abort_before_the_fence_keeps_the_epoch_after_it_rolls_back);
    tcase_add_test(tc, a_forced_failover_switches_without_catching_up);
    tcase_add_test(tc, operator_state_survives_a_snapshot);
    tcase_add_test(tc, a_format_2_snapshot_still_restores);
    tcase_add_test(tc, a_record_behind_its_log_is_seen_as_diverged);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
