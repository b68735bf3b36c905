/* The fencer's line protocol: what the daemon and the fencer can and cannot say to each other. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "coord/fencer_proto.h"

static int parse(const char *line, struct fencer_proto_request *rq, char *err, size_t errlen)
{
    return fencer_proto_parse_request(line, strlen(line), rq, err, errlen);
}

START_TEST(arm_disarm_ping_parse)
{
    struct fencer_proto_request rq;
    char err[128];
    ck_assert_int_eq(parse("ARM 4 1234567", &rq, err, sizeof err), 0);
    ck_assert_int_eq(rq.kind, FENCER_PROTO_ARM);
    ck_assert_uint_eq(rq.epoch, 4);
    ck_assert_uint_eq(rq.fence_at_ms, 1234567);
    ck_assert_int_eq(parse("DISARM 9", &rq, err, sizeof err), 0);
    ck_assert_int_eq(rq.kind, FENCER_PROTO_DISARM);
    ck_assert_uint_eq(rq.epoch, 9);
    ck_assert_int_eq(parse("PING", &rq, err, sizeof err), 0);
    ck_assert_int_eq(rq.kind, FENCER_PROTO_PING);
    ck_assert_int_eq(parse("ARM 18446744073709551615 18446744073709551615", &rq, err, sizeof err),
                     0);
    ck_assert_uint_eq(rq.fence_at_ms, UINT64_MAX);
}
END_TEST

START_TEST(malformed_requests_are_refused_with_a_reason)
{
    static const char *const bad[] = {
        "",
        "ARM",
        "ARM 1",
        "ARM 1 2 3",
        "ARM  1 2",
        "ARM 1 2 ",
        "ARM -1 2",
        "ARM +1 2",
        "ARM 01 2",
        "ARM 1 0x10",
        "arm 1 2",
        "ARMED 1 2",
        "DISARM",
        "DISARM 1 2",
        "PING 1",
        "PING\r",
        "DISARM 0",
        "ARM 0 5",
        "FENCE 1",
        "ARM 18446744073709551616 1",
        "ARM 1 99999999999999999999",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct fencer_proto_request rq;
        char err[128] = "";
        ck_assert_msg(parse(bad[i], &rq, err, sizeof err) == -EINVAL, "accepted '%s'", bad[i]);
        ck_assert_msg(err[0] != '\0', "no reason for '%s'", bad[i]);
    }
    /* A NUL inside the line is a stray byte like any other. */
    struct fencer_proto_request rq;
    char err[128];
    ck_assert_int_eq(fencer_proto_parse_request("PING\0", 5, &rq, err, sizeof err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "PING"));
}
END_TEST

START_TEST(requests_round_trip)
{
    struct fencer_proto_request in = {.kind = FENCER_PROTO_ARM, .epoch = 12, .fence_at_ms = 77};
    char line[FENCER_PROTO_LINE_MAX], err[128];
    int n = fencer_proto_format_request(&in, line, sizeof line);
    ck_assert_str_eq(line, "ARM 12 77\n");
    struct fencer_proto_request out;
    ck_assert_int_eq(fencer_proto_parse_request(line, (size_t)n - 1, &out, err, sizeof err), 0);
    ck_assert_mem_eq(&in, &out, sizeof in);
    ck_assert_int_eq(fencer_proto_format_request(&in, line, 10), -ENOSPC);
}
END_TEST

START_TEST(replies_round_trip)
{
    static const char *const good[] = {"OK disarmed", "OK armed 3 1000", "OK fencing 3",
                                       "OK fenced 3", "ERR epoch 1 is older than epoch 2"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        struct fencer_proto_reply reply;
        char err[256], line[FENCER_PROTO_LINE_MAX];
        ck_assert_int_eq(
            fencer_proto_parse_reply(good[i], strlen(good[i]), &reply, err, sizeof err), 0);
        int n = fencer_proto_format_reply(&reply, line, sizeof line);
        ck_assert_int_eq(n, (int)strlen(good[i]) + 1);
        ck_assert_mem_eq(line, good[i], strlen(good[i]));
    }
    struct fencer_proto_reply reply;
    char err[256];
    ck_assert_int_eq(fencer_proto_parse_reply("OK armed 3 1000", 15, &reply, err, sizeof err), 0);
    ck_assert(reply.ok);
    ck_assert_int_eq(reply.state, FENCER_PROTO_ARMED);
    ck_assert_uint_eq(reply.epoch, 3);
    ck_assert_uint_eq(reply.fence_at_ms, 1000);
    ck_assert_int_eq(fencer_proto_parse_reply("ERR busy", 8, &reply, err, sizeof err), 0);
    ck_assert(!reply.ok);
    ck_assert_str_eq(reply.reason, "busy");
}
END_TEST

START_TEST(malformed_replies_are_refused)
{
    static const char *const bad[] = {"",           "OK",         "OK ",           "OK armed",
                                      "OK armed 3", "OK fenced",  "OK disarmed 1", "ERR",
                                      "ERR ",       "OKdisarmed", "OK sleeping"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct fencer_proto_reply reply;
        char err[256] = "";
        ck_assert_msg(fencer_proto_parse_reply(bad[i], strlen(bad[i]), &reply, err, sizeof err) ==
                          -EINVAL,
                      "accepted '%s'", bad[i]);
        ck_assert(err[0] != '\0');
    }
}
END_TEST

START_TEST(an_error_reason_stays_one_line)
{
    struct fencer_proto_reply reply = {.ok = false};
    memset(reply.reason, 'x', sizeof reply.reason - 1);
    reply.reason[3] = '\n';
    char line[FENCER_PROTO_LINE_MAX];
    int n = fencer_proto_format_reply(&reply, line, sizeof line);
    ck_assert_int_gt(n, 4);
    ck_assert_int_lt(n, FENCER_PROTO_LINE_MAX);
    ck_assert_ptr_null(memchr(line, '\n', (size_t)n - 1));
    ck_assert_int_eq(line[n - 1], '\n');
    ck_assert_str_eq(fencer_proto_state_name(FENCER_PROTO_FENCED), "fenced");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("fencer_proto");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, arm_disarm_ping_parse);
    tcase_add_test(tc, malformed_requests_are_refused_with_a_reason);
    tcase_add_test(tc, requests_round_trip);
    tcase_add_test(tc, replies_round_trip);
    tcase_add_test(tc, malformed_replies_are_refused);
    tcase_add_test(tc, an_error_reason_stays_one_line);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
