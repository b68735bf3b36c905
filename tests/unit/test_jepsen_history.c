/*
 * The chaos history (jepsen/history.h) and the checkers' arithmetic (jepsen/checks.h): a line
 * the client writes reads back the same, even with quotes and newlines in its error; a torn last
 * line is skipped and a broken line elsewhere names its file and line; fault ends pair with
 * their starts; the pause table's median, p99 and max; a write-unavailability window at the end
 * of a run that never resumed.
 */
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jepsen/checks.h"
#include "jepsen/history.h"

static char dir[256];

static void make_dir(void)
{
    snprintf(dir, sizeof(dir), "%s/mmt-jhist.%d.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void put(const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static void remove_dir(void)
{
    static const char *const names[] = {"client.jsonl", "nemesis.jsonl", "run.json"};
    char path[512];
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

START_TEST(a_formatted_op_reads_back_the_same)
{
    make_dir();
    struct history_op op = {.worker = 7,
                            .new_conn = true,
                            .f = HISTORY_INCR,
                            .key = 2,
                            .value = 41,
                            .has_value = true,
                            .start = 123456.789,
                            .end = 123457.001,
                            .outcome = HISTORY_UNKNOWN,
                            .server_id = 2,
                            .epoch = -1};
    const char *error = "MySQL 10.0.0.1:3306: \"quoted\"\\ and\na newline\tand a tab";
    char line[1024];
    int len = history_format_op(&op, error, line, sizeof(line));
    ck_assert_int_gt(len, 0);
    ck_assert_int_eq(line[len - 1], '\n');
    ck_assert_int_eq(history_format_op(&op, error, line, 40), -ENOSPC);
    len = history_format_op(&op, error, line, sizeof(line));
    put("client.jsonl", line);

    struct history h;
    char errmsg[512];
    ck_assert_int_eq(history_load(dir, &h, errmsg, sizeof(errmsg)), 0);
    ck_assert_uint_eq(h.n_ops, 1);
    const struct history_op *got = &h.ops[0];
    ck_assert_int_eq(got->worker, 7);
    ck_assert(got->new_conn);
    ck_assert_int_eq(got->f, HISTORY_INCR);
    ck_assert_int_eq(got->key, 2);
    ck_assert_int_eq(got->value, 41);
    ck_assert(got->has_value);
    ck_assert_double_eq_tol(got->start, 123456.789, 1e-6);
    ck_assert_double_eq_tol(got->end, 123457.001, 1e-6);
    ck_assert_int_eq(got->outcome, HISTORY_UNKNOWN);
    ck_assert_int_eq(got->server_id, 2);
    ck_assert_int_eq(got->epoch, -1);
    /* The error survives JSON escaping byte for byte. */
    json_t *obj = json_loads(got->src.text, 0, NULL);
    ck_assert_ptr_nonnull(obj);
    ck_assert_str_eq(json_string_value(json_object_get(obj, "error")), error);
    ck_assert(json_is_null(json_object_get(obj, "epoch")));
    json_decref(obj);
    history_free(&h);

    /* An incr that failed before it read its counter: value null. */
    struct history_op failed = {.worker = 0,
                                .f = HISTORY_INCR,
                                .key = 1,
                                .start = 1,
                                .end = 2,
                                .outcome = HISTORY_FAIL,
                                .server_id = -1,
                                .epoch = -1};
    len = history_format_op(&failed, NULL, line, sizeof(line));
    ck_assert_int_gt(len, 0);
    ck_assert_ptr_nonnull(strstr(line, "\"value\":null"));
    ck_assert_ptr_nonnull(strstr(line, "\"error\":null"));
    put("client.jsonl", line);
    ck_assert_int_eq(history_load(dir, &h, errmsg, sizeof(errmsg)), 0);
    ck_assert(!h.ops[0].has_value);
    ck_assert_int_eq(h.ops[0].server_id, -1);
    history_free(&h);
    remove_dir();
}
END_TEST

#define OP(start, end, outcome)                                                                    \
    "{\"type\":\"op\",\"worker\":0,\"f\":\"insert\",\"value\":" #start ",\"start\":" #start        \
    ",\"end\":" #end ",\"outcome\":\"" outcome "\",\"server_id\":1,\"epoch\":1}\n"

START_TEST(a_torn_last_line_is_skipped_and_a_broken_one_is_named)
{
    make_dir();
    struct history h;
    char errmsg[512];
    put("client.jsonl", OP(10, 11, "ok") OP(20, 21, "ok") "{\"type\":\"op\",\"wor");
    ck_assert_int_eq(history_load(dir, &h, errmsg, sizeof(errmsg)), 0);
    ck_assert_uint_eq(h.n_ops, 2);
    ck_assert_uint_eq(h.n_torn, 1);
    history_free(&h);

    put("client.jsonl", OP(10, 11, "ok") "{\"type\":\"op\",\"wor\n" OP(20, 21, "ok"));
    ck_assert_int_eq(history_load(dir, &h, errmsg, sizeof(errmsg)), -EINVAL);
    ck_assert_msg(strstr(errmsg, "client.jsonl:2") != NULL, "%s", errmsg);

    put("client.jsonl", OP(10, 11, "maybe"));
    ck_assert_int_eq(history_load(dir, &h, errmsg, sizeof(errmsg)), -EINVAL);
    ck_assert_msg(strstr(errmsg, "maybe") != NULL, "%s", errmsg);

    put("client.jsonl", OP(10, 9, "ok"));
    ck_assert_int_eq(history_load(dir, &h, errmsg, sizeof(errmsg)), -EINVAL);
    ck_assert_msg(strstr(errmsg, "end before start") != NULL, "%s", errmsg);
    remove_dir();
    ck_assert_int_eq(history_load(dir, &h, errmsg, sizeof(errmsg)), -ENOENT);
}
END_TEST

#define FAULT(fault, target, phase, t)                                                             \
    "{\"type\":\"nemesis\",\"fault\":\"" fault "\",\"target\":\"" target "\",\"phase\":\"" phase   \
    "\",\"t\":" #t "}\n"

START_TEST(fault_ends_pair_with_their_starts)
{
    make_dir();
    put("client.jsonl", OP(10, 11, "ok"));
    put("nemesis.jsonl", FAULT("pause", "m1", "start", 100) FAULT("pause", "m2", "start", 200)
                             FAULT("pause", "m2", "end", 300));
    put("run.json", "{\"end\": 1000}");
    struct history h;
    char errmsg[512];
    ck_assert_int_eq(history_load(dir, &h, errmsg, sizeof(errmsg)), 0);
    ck_assert_uint_eq(h.n_faults, 2);
    ck_assert_str_eq(h.faults[0].target, "m1");
    ck_assert(!h.faults[0].ended);
    ck_assert_double_eq(h.faults[0].end, 1000); /* open until the run's end */
    ck_assert_str_eq(h.faults[1].target, "m2");
    ck_assert(h.faults[1].ended);
    ck_assert_double_eq(h.faults[1].end, 300);
    history_free(&h);

    /* With ids, an end closes its own start, whatever the order. */
    put("nemesis.jsonl", "{\"type\":\"nemesis\",\"id\":1,\"fault\":\"pause\",\"target\":\"m1\","
                         "\"phase\":\"start\",\"t\":100}\n"
                         "{\"type\":\"nemesis\",\"id\":2,\"fault\":\"pause\",\"target\":\"m1\","
                         "\"phase\":\"start\",\"t\":200}\n"
                         "{\"type\":\"nemesis\",\"id\":2,\"fault\":\"pause\",\"target\":\"m1\","
                         "\"phase\":\"end\",\"t\":250}\n");
    ck_assert_int_eq(history_load(dir, &h, errmsg, sizeof(errmsg)), 0);
    ck_assert_uint_eq(h.n_faults, 2);
    ck_assert_int_eq(h.faults[0].id, 1);
    ck_assert(!h.faults[0].ended);
    ck_assert_int_eq(h.faults[1].id, 2);
    ck_assert(h.faults[1].ended);
    ck_assert_double_eq(h.faults[1].end, 250);
    history_free(&h);

    put("nemesis.jsonl", FAULT("pause", "m1", "end", 100));
    ck_assert_int_eq(history_load(dir, &h, errmsg, sizeof(errmsg)), -EINVAL);
    ck_assert_msg(strstr(errmsg, "nemesis.jsonl:1") != NULL, "%s", errmsg);
    remove_dir();
}
END_TEST

START_TEST(pauses_per_fault_kind)
{
    make_dir();
    /* ok writes every 10 ms in three groups ending at 1200, 1500 and 2000, each followed by a
     * fault and a gap: 110 ms, 310 ms, and 1001 ms to a last ok write at 3001; then a failed
     * write at 9001 (writes never come back). */
    char ops[65536] = "";
    double t = 1000;
    const double gaps[] = {100, 300, 900};
    for (int g = 0; g < 3; g++) {
        for (int i = 0; i < 20; i++) {
            char line[256];
            t += 10;
            snprintf(line, sizeof(line),
                     "{\"type\":\"op\",\"worker\":0,\"f\":\"insert\",\"value\":%d,\"start\":%.3f,"
                     "\"end\":%.3f,\"outcome\":\"ok\",\"server_id\":1,\"epoch\":1}\n",
                     g * 100 + i, t - 1, t);
            strcat(ops, line);
        }
        t += gaps[g];
    }
    strcat(ops, "{\"type\":\"op\",\"worker\":0,\"f\":\"insert\",\"value\":999,\"start\":3000,"
                "\"end\":3001,\"outcome\":\"ok\",\"server_id\":1,\"epoch\":1}\n"
                "{\"type\":\"op\",\"worker\":0,\"f\":\"insert\",\"value\":1000,\"start\":9000,"
                "\"end\":9001,\"outcome\":\"fail\",\"server_id\":null,\"epoch\":null}\n");
    put("client.jsonl", ops);
    put("nemesis.jsonl",
        FAULT("kill", "m1", "start", 1200) FAULT("kill", "m1", "end", 1201)
            FAULT("kill", "m1", "start", 1500) FAULT("kill", "m1", "end", 1501)
                FAULT("kill", "m1", "start", 2000) FAULT("kill", "m1", "end", 2001));
    struct history h;
    char errmsg[512];
    ck_assert_int_eq(history_load(dir, &h, errmsg, sizeof(errmsg)), 0);
    struct checks_options opt;
    checks_options_default(&opt);
    opt.grace_ms = 0;
    struct checks_report r;
    ck_assert_int_eq(checks_run(&h, &opt, &r), 0);
    ck_assert_uint_eq(r.n_pauses, 1);
    ck_assert_str_eq(r.pauses[0].fault, "kill");
    ck_assert_uint_eq(r.pauses[0].n, 3);
    ck_assert_double_eq_tol(r.pauses[0].median_ms, 310, 1e-6);
    ck_assert_double_eq_tol(r.pauses[0].p99_ms, 1001, 1e-6);
    ck_assert_double_eq_tol(r.pauses[0].max_ms, 1001, 1e-6);
    /* Windows over 200 ms: 310 and 1001 ms, each with its fault, and the end of the run, where
     * writes never came back with no fault to explain it: liveness fails. */
    ck_assert_uint_eq(r.n_windows, 3);
    ck_assert(r.windows[0].resumed && r.windows[0].faults[0] != '\0');
    ck_assert(r.windows[1].resumed && r.windows[1].faults[0] != '\0');
    ck_assert(!r.windows[2].resumed && r.windows[2].faults[0] == '\0');
    ck_assert_double_eq_tol(r.windows[2].end - r.windows[2].start, 6000, 1e-6);
    ck_assert_int_eq(r.results[CHECKS_LIVENESS].verdict, CHECKS_FAIL);
    ck_assert_int_eq(r.results[CHECKS_ONE_WRITER].verdict, CHECKS_PASS);
    ck_assert_int_eq(r.results[CHECKS_ONE_HOLDER].verdict, CHECKS_SKIP);
    checks_report_free(&r);
    history_free(&h);
    remove_dir();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("jepsen_history");
    TCase *tc = tcase_create("history");
    tcase_add_test(tc, a_formatted_op_reads_back_the_same);
    tcase_add_test(tc, a_torn_last_line_is_skipped_and_a_broken_one_is_named);
    tcase_add_test(tc, fault_ends_pair_with_their_starts);
    tcase_add_test(tc, pauses_per_fault_kind);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
