/* The command codec: round trips, and every kind of bad input refused with a reason. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "coord/codec.h"

static struct command sample_report(void)
{
    struct command c;
    memset(&c, 0, sizeof c);
    c.type = COMMAND_REPORT;
    strcpy(c.report.node_id, "m1");
    strcpy(c.report.version, "0.1.0");
    c.report.start_wall_ms = 1700000000123ULL;
    c.report.sent_wall_ms = 1700000005123ULL;
    c.report.seq = 42;
    c.report.mysql = MYSQL_VIEW_UNKNOWN;
    return c;
}

static size_t encode(const struct command *c, uint8_t *buf, size_t cap)
{
    size_t len = 0;
    ck_assert_int_eq(command_encode(c, buf, cap, &len), 0);
    return len;
}

START_TEST(report_round_trip)
{
    struct command in = sample_report();
    uint8_t buf[CODEC_COMMAND_MAX];
    size_t len = encode(&in, buf, sizeof buf);
    ck_assert_uint_eq(buf[0], CODEC_VERSION);
    ck_assert_uint_eq(buf[1], COMMAND_REPORT);
    struct command out;
    char err[256] = "";
    ck_assert_int_eq(command_decode(buf, len, &out, err, sizeof err), 0);
    ck_assert_uint_eq(out.type, COMMAND_REPORT);
    ck_assert_str_eq(out.report.node_id, "m1");
    ck_assert_str_eq(out.report.version, "0.1.0");
    ck_assert_uint_eq(out.report.start_wall_ms, in.report.start_wall_ms);
    ck_assert_uint_eq(out.report.sent_wall_ms, in.report.sent_wall_ms);
    ck_assert_uint_eq(out.report.seq, 42);
    ck_assert_uint_eq(out.report.mysql, MYSQL_VIEW_UNKNOWN);
}
END_TEST

START_TEST(every_truncation_is_refused)
{
    struct command in = sample_report();
    uint8_t buf[CODEC_COMMAND_MAX];
    size_t len = encode(&in, buf, sizeof buf);
    /* Padding is optional (0 to 7 bytes): every cut into the header or body is refused. */
    size_t end_of_body = CODEC_HEADER_SIZE + (buf[4] | (size_t)buf[5] << 8);
    ck_assert_uint_le(end_of_body, len);
    for (size_t cut = 0; cut < end_of_body; cut++) {
        struct command out;
        char err[256] = "";
        uint8_t *copy = malloc(cut + 1); /* exact-size heap copy: ASan sees any over-read */
        memcpy(copy, buf, cut);
        ck_assert_int_eq(command_decode(copy, cut, &out, err, sizeof err), -EINVAL);
        ck_assert_msg(strlen(err) > 0, "no reason for a cut at %zu", cut);
        free(copy);
    }
}
END_TEST

START_TEST(unknown_version_and_type)
{
    struct command in = sample_report();
    uint8_t buf[CODEC_COMMAND_MAX];
    size_t len = encode(&in, buf, sizeof buf);
    struct command out;
    char err[256] = "";
    buf[0] = 9;
    ck_assert_int_eq(command_decode(buf, len, &out, err, sizeof err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "unknown codec version 9"));
    buf[0] = CODEC_VERSION;
    buf[1] = 77;
    ck_assert_int_eq(command_decode(buf, len, &out, err, sizeof err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "unknown command type 77"));
}
END_TEST

START_TEST(padding_and_length_mismatch)
{
    struct command in = sample_report();
    uint8_t buf[CODEC_COMMAND_MAX];
    size_t len = encode(&in, buf, sizeof buf);
    ck_assert_uint_eq(len % CODEC_ALIGN, 0);
    uint32_t body = buf[4] | (uint32_t)buf[5] << 8;
    ck_assert_uint_lt(len - CODEC_HEADER_SIZE - body, CODEC_ALIGN);
    ck_assert_uint_gt(len - CODEC_HEADER_SIZE - body, 0); /* this sample needs padding */
    struct command out;
    char err[256] = "";

    /* A whole word more than the header accounts for. */
    memset(buf + len, 0, CODEC_ALIGN);
    ck_assert_int_eq(command_decode(buf, len + CODEC_ALIGN, &out, err, sizeof err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "body bytes"));

    /* Padding that is not zero. */
    buf[len - 1] = 0xAA;
    ck_assert_int_eq(command_decode(buf, len, &out, err, sizeof err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "padding byte"));
    buf[len - 1] = 0;

    /* Header patched to claim one padding byte as body: the body decoder sees it. */
    buf[4]++;
    ck_assert_int_eq(command_decode(buf, len, &out, err, sizeof err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "unexpected bytes"));
}
END_TEST

START_TEST(oversized_string_is_refused)
{
    struct command in = sample_report();
    uint8_t buf[CODEC_COMMAND_MAX];
    size_t len = encode(&in, buf, sizeof buf);
    /* node_id length field sits right after the header: claim 5000 bytes. */
    buf[CODEC_HEADER_SIZE] = 0x88;
    buf[CODEC_HEADER_SIZE + 1] = 0x13;
    struct command out;
    char err[256] = "";
    ck_assert_int_eq(command_decode(buf, len, &out, err, sizeof err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "node_id"));
}
END_TEST

START_TEST(bad_fields_are_refused_on_both_sides)
{
    struct command in = sample_report();
    uint8_t buf[CODEC_COMMAND_MAX];
    size_t len;
    in.report.mysql = 9;
    ck_assert_int_eq(command_encode(&in, buf, sizeof buf, &len), -EINVAL);
    in = sample_report();
    in.report.node_id[0] = '\0';
    ck_assert_int_eq(command_encode(&in, buf, sizeof buf, &len), -EINVAL);
    in = sample_report();
    ck_assert_int_eq(command_encode(&in, buf, 10, &len), -ENOSPC);
    in.type = 200;
    ck_assert_int_eq(command_encode(&in, buf, sizeof buf, &len), -EINVAL);

    /* A decoder meets a mysql state it does not know. */
    in = sample_report();
    len = encode(&in, buf, sizeof buf);
    uint32_t body = buf[4] | (uint32_t)buf[5] << 8;
    buf[CODEC_HEADER_SIZE + body - 1] = 9; /* the mysql field is the body's last byte */
    struct command out;
    char err[256] = "";
    ck_assert_int_eq(command_decode(buf, len, &out, err, sizeof err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "mysql state 9"));
}
END_TEST

START_TEST(garbage_never_crashes)
{
    unsigned seed = 12345;
    uint8_t buf[256];
    for (int i = 0; i < 20000; i++) {
        size_t len = (size_t)(rand_r(&seed) % (int)sizeof buf);
        for (size_t j = 0; j < len; j++) {
            buf[j] = (uint8_t)rand_r(&seed);
        }
        if (len > 0 && i % 2 == 0) {
            buf[0] = CODEC_VERSION; /* get past the first check half the time */
        }
        struct command out;
        char err[256];
        int rv = command_decode(buf, len, &out, err, sizeof err);
        ck_assert(rv == 0 || rv == -EINVAL);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("codec");
    TCase *tc = tcase_create("commands");
    tcase_add_test(tc, report_round_trip);
    tcase_add_test(tc, every_truncation_is_refused);
    tcase_add_test(tc, unknown_version_and_type);
    tcase_add_test(tc, padding_and_length_mismatch);
    tcase_add_test(tc, oversized_string_is_refused);
    tcase_add_test(tc, bad_fields_are_refused_on_both_sides);
    tcase_add_test(tc, garbage_never_crashes);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
