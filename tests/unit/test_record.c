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
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
