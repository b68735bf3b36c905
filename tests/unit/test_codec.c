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

/* One sample of every command type issue 8 added, with every field set. */
static unsigned operator_samples(struct command *out)
{
    unsigned n = 0;
    struct command c;

    memset(&c, 0, sizeof c);
    c.type = COMMAND_MAINTENANCE;
    c.maintenance.on = 1;
    c.maintenance.uid = 1001;
    c.maintenance.wall_ms = 1700000000001ULL;
    strcpy(c.maintenance.via, "s");
    strcpy(c.maintenance.reason, "kernel upgrade on m1");
    out[n++] = c;

    memset(&c, 0, sizeof c);
    c.type = COMMAND_SWITCHOVER_BEGIN;
    c.switchover_begin.id = 0xfeedfacecafe1234ULL;
    c.switchover_begin.epoch = 7;
    strcpy(c.switchover_begin.from, "m1");
    strcpy(c.switchover_begin.to, "m2");
    c.switchover_begin.timeout_ms = 10000;
    c.switchover_begin.uid = 0;
    c.switchover_begin.wall_ms = 1700000000002ULL;
    strcpy(c.switchover_begin.via, "m2");
    strcpy(c.switchover_begin.reason, "m2 asked for by the operator");
    out[n++] = c;

    memset(&c, 0, sizeof c);
    c.type = COMMAND_FAILOVER_FORCE;
    c.failover_force.id = 99;
    c.failover_force.epoch = 0; /* no writer was ever named: allowed */
    strcpy(c.failover_force.to, "m2");
    c.failover_force.timeout_ms = 5000;
    c.failover_force.uid = 4294967295U;
    c.failover_force.wall_ms = 3;
    strcpy(c.failover_force.via, "m1");
    strcpy(c.failover_force.missing, "0-1-101-105");
    out[n++] = c;

    memset(&c, 0, sizeof c);
    c.type = COMMAND_SWITCHOVER_FENCED;
    c.switchover_fenced.id = 5;
    c.switchover_fenced.epoch = 7;
    strcpy(c.switchover_fenced.node, "m1");
    c.switchover_fenced.flavor = 1;
    strcpy(c.switchover_fenced.executed, "3E11FA47-71CA-11E1-9E33-C80AA9429562:1-77");
    c.switchover_fenced.wall_ms = 4;
    out[n++] = c;

    memset(&c, 0, sizeof c);
    c.type = COMMAND_SWITCHOVER_CAUGHT_UP;
    c.switchover_caught_up.id = 5;
    strcpy(c.switchover_caught_up.node, "m2");
    strcpy(c.switchover_caught_up.executed, "0-1-100,1-2-40");
    c.switchover_caught_up.wall_ms = 5;
    out[n++] = c;

    memset(&c, 0, sizeof c);
    c.type = COMMAND_SWITCHOVER_DONE;
    c.switchover_done.id = 5;
    c.switchover_done.epoch = 8;
    c.switchover_done.wall_ms = 6;
    out[n++] = c;

    memset(&c, 0, sizeof c);
    c.type = COMMAND_SWITCHOVER_ABORT;
    c.switchover_abort.id = 5;
    c.switchover_abort.wall_ms = 7;
    strcpy(c.switchover_abort.reason, "m2 did not apply m1's final position within 10000 ms");
    out[n++] = c;
    return n;
}

START_TEST(operator_commands_round_trip_and_are_named)
{
    struct command samples[8];
    unsigned n = operator_samples(samples);
    ck_assert_uint_eq(n, COMMAND_TYPE_MAX - COMMAND_OPENED);
    for (unsigned i = 0; i < n; i++) {
        uint8_t buf[CODEC_COMMAND_MAX];
        size_t len = encode(&samples[i], buf, sizeof buf);
        ck_assert_uint_eq(len % CODEC_ALIGN, 0);
        ck_assert_uint_eq(buf[0], 1); /* existing bodies unchanged: still codec version 1 */
        struct command out;
        char err[256] = "";
        ck_assert_msg(command_decode(buf, len, &out, err, sizeof err) == 0, "%s: %s",
                      command_type_name(samples[i].type), err);
        ck_assert_mem_eq(&out, &samples[i], sizeof out);
        ck_assert_str_ne(command_type_name(samples[i].type), "unknown");
        /* Every cut into the header or the body is refused with a reason. */
        size_t end = CODEC_HEADER_SIZE + (buf[4] | (size_t)buf[5] << 8);
        for (size_t cut = 0; cut < end; cut++) {
            uint8_t *copy = malloc(cut + 1);
            memcpy(copy, buf, cut);
            err[0] = '\0';
            ck_assert_int_eq(command_decode(copy, cut, &out, err, sizeof err), -EINVAL);
            ck_assert(err[0] != '\0');
            free(copy);
        }
    }
    ck_assert_str_eq(command_type_name(COMMAND_SWITCHOVER_BEGIN), "switchover_begin");
    ck_assert_str_eq(command_type_name(COMMAND_FAILOVER_FORCE), "failover_force");
}
END_TEST

/* A valid @valid with one body byte (at @body_offset) patched is refused, naming @expect. */
static void refused_on_the_wire(const struct command *valid, size_t body_offset, uint8_t byte,
                                const char *expect)
{
    uint8_t buf[CODEC_COMMAND_MAX];
    size_t len = encode(valid, buf, sizeof buf);
    buf[CODEC_HEADER_SIZE + body_offset] = byte;
    struct command out;
    char err[256] = "";
    ck_assert_int_eq(command_decode(buf, len, &out, err, sizeof err), -EINVAL);
    ck_assert_msg(strstr(err, expect) != NULL, "expected '%s' in '%s'", expect, err);
}

START_TEST(operator_commands_bounds)
{
    struct command samples[8];
    operator_samples(samples);
    uint8_t buf[CODEC_COMMAND_MAX];
    size_t len;
    struct command c;

    /* The encoder refuses what the decoder would refuse. */
    c = samples[0];
    c.maintenance.on = 2;
    ck_assert_int_eq(command_encode(&c, buf, sizeof buf, &len), -EINVAL);
    c = samples[0];
    c.maintenance.via[0] = '\0';
    ck_assert_int_eq(command_encode(&c, buf, sizeof buf, &len), -EINVAL);
    c = samples[1];
    c.switchover_begin.id = 0;
    ck_assert_int_eq(command_encode(&c, buf, sizeof buf, &len), -EINVAL);
    c = samples[1];
    c.switchover_begin.timeout_ms = 0;
    ck_assert_int_eq(command_encode(&c, buf, sizeof buf, &len), -EINVAL);
    c = samples[1];
    c.switchover_begin.to[0] = '\0';
    ck_assert_int_eq(command_encode(&c, buf, sizeof buf, &len), -EINVAL);
    c = samples[1];
    memset(c.switchover_begin.reason, 'x', sizeof c.switchover_begin.reason); /* no NUL */
    ck_assert_int_eq(command_encode(&c, buf, sizeof buf, &len), -EINVAL);
    c = samples[2];
    c.failover_force.to[0] = '\0';
    ck_assert_int_eq(command_encode(&c, buf, sizeof buf, &len), -EINVAL);
    c = samples[3];
    c.switchover_fenced.flavor = 2;
    ck_assert_int_eq(command_encode(&c, buf, sizeof buf, &len), -EINVAL);
    c = samples[3];
    memset(c.switchover_fenced.executed, '1', sizeof c.switchover_fenced.executed);
    ck_assert_int_eq(command_encode(&c, buf, sizeof buf, &len), -EINVAL);
    c = samples[5];
    c.switchover_done.epoch = 0;
    ck_assert_int_eq(command_encode(&c, buf, sizeof buf, &len), -EINVAL);
    c = samples[6];
    c.switchover_abort.id = 0;
    ck_assert_int_eq(command_encode(&c, buf, sizeof buf, &len), -EINVAL);

    /* The decoder refuses them from the wire. */
    refused_on_the_wire(&samples[0], 0, 7, "'on' is 7");
    refused_on_the_wire(&samples[3], 8 + 8 + 2 + 2, 5, "'flavor' is 5");
    /* begin: id is the first 8 bytes; zero it all. */
    struct command zero_id = samples[1];
    len = encode(&zero_id, buf, sizeof buf);
    memset(buf + CODEC_HEADER_SIZE, 0, 8);
    struct command out;
    char err[256] = "";
    ck_assert_int_eq(command_decode(buf, len, &out, err, sizeof err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "id 0"));
    /* done: epoch (bytes 8..15) zero. */
    len = encode(&samples[5], buf, sizeof buf);
    memset(buf + CODEC_HEADER_SIZE + 8, 0, 8);
    ck_assert_int_eq(command_decode(buf, len, &out, err, sizeof err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "epoch 0"));
    /* A GTID text longer than its field. */
    len = encode(&samples[4], buf, sizeof buf);
    buf[CODEC_HEADER_SIZE + 8 + 4] = 0xff; /* executed's length, after id and "m2" */
    buf[CODEC_HEADER_SIZE + 8 + 5] = 0xff;
    ck_assert_int_eq(command_decode(buf, len, &out, err, sizeof err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "executed"));
    /* The largest fenced entry still fits a command. */
    c = samples[3];
    memset(c.switchover_fenced.executed, '1', sizeof c.switchover_fenced.executed - 1);
    c.switchover_fenced.executed[sizeof c.switchover_fenced.executed - 1] = '\0';
    ck_assert_int_eq(command_encode(&c, buf, sizeof buf, &len), 0);
    ck_assert_int_eq(command_decode(buf, len, &out, err, sizeof err), 0);
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
    tcase_add_test(tc, operator_commands_round_trip_and_are_named);
    tcase_add_test(tc, operator_commands_bounds);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
