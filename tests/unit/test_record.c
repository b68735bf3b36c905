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
    buf[4] = 2;
    ck_assert_int_eq(record_decode(buf, len, &out, err, sizeof err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "format version 2"));
    buf[4] = 1;
    buf[16] = 200; /* n_nodes low byte, after magic(4) version(4) n_applied(8) */
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

int main(void)
{
    Suite *s = suite_create("record");
    TCase *tc = tcase_create("fsm");
    tcase_add_test(tc, reports_update_the_record);
    tcase_add_test(tc, garbage_entry_is_counted_and_reported_not_fatal);
    tcase_add_test(tc, too_many_nodes_refused);
    tcase_add_test(tc, snapshot_and_restore_give_the_same_record);
    tcase_add_test(tc, bad_snapshots_are_refused);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
