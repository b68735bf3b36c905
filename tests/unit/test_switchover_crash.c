/*
 * What tests/lab/test_switchover_crash.sh relies on, at the unit level:
 * - the test hook (coord/switchover.h, MMC_TEST_SWITCHOVER_STEP_DELAY_MS): its value is read
 *   strictly, it holds a step for exactly the delay from when the step was first noted, it
 *   starts over on every new step or sequence, and 0 holds nothing;
 * - a writer whose OPENED was lost (proposed as its node handed its raft leadership over, as
 *   the lab test saw) says it again until the record has it: the switchover waits for it, and
 *   no later switchover may begin without it.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord/coordinator.h"
#include "coord/switchover.h"

START_TEST(parse_accepts_off_and_milliseconds)
{
    char err[160] = "";
    uint64_t ms = 99;
    ck_assert_int_eq(switchover_test_delay_parse(NULL, &ms, err, sizeof err), 0);
    ck_assert_uint_eq(ms, 0);
    ck_assert_int_eq(switchover_test_delay_parse("", &ms, err, sizeof err), 0);
    ck_assert_uint_eq(ms, 0);
    ck_assert_int_eq(switchover_test_delay_parse("0", &ms, err, sizeof err), 0);
    ck_assert_uint_eq(ms, 0);
    ck_assert_int_eq(switchover_test_delay_parse("2500", &ms, err, sizeof err), 0);
    ck_assert_uint_eq(ms, 2500);
    ck_assert_int_eq(switchover_test_delay_parse("600000", &ms, err, sizeof err), 0);
    ck_assert_uint_eq(ms, SWITCHOVER_TEST_DELAY_MAX_MS);
}
END_TEST

START_TEST(parse_refuses_what_is_not_milliseconds)
{
    const char *bad[] = {
        "abc", "-1", "2.5", "10ms", " 10", "600001", "99999999999999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[160] = "";
        uint64_t ms = 7;
        ck_assert_int_eq(switchover_test_delay_parse(bad[i], &ms, err, sizeof err), -EINVAL);
        ck_assert_uint_eq(ms, 0);
        ck_assert_ptr_nonnull(strstr(err, SWITCHOVER_TEST_DELAY_ENV));
        ck_assert_ptr_nonnull(strstr(err, bad[i]));
    }
}
END_TEST

static struct record *record_at(uint64_t id, uint8_t step)
{
    struct record *r = calloc(1, sizeof *r);
    ck_assert_ptr_nonnull(r);
    r->switchover.id = id;
    r->switchover.step = step;
    return r;
}

START_TEST(holds_each_step_for_the_delay)
{
    struct switchover_test_delay d = {.delay_ms = 2500};
    struct record *r = record_at(7, SWITCHOVER_STEP_BEGUN);
    switchover_test_delay_note(&d, r, 1000);
    ck_assert(switchover_test_delay_holds(&d, 1000));
    switchover_test_delay_note(&d, r, 3499); /* the same step: the hold runs from 1000 */
    ck_assert(switchover_test_delay_holds(&d, 3499));
    ck_assert(!switchover_test_delay_holds(&d, 3500));
    r->switchover.step = SWITCHOVER_STEP_FENCED; /* a new step starts over */
    switchover_test_delay_note(&d, r, 4000);
    ck_assert(switchover_test_delay_holds(&d, 6499));
    ck_assert(!switchover_test_delay_holds(&d, 6500));
    r->switchover.id = 8; /* a new sequence at the same step starts over too */
    switchover_test_delay_note(&d, r, 7000);
    ck_assert(switchover_test_delay_holds(&d, 7001));
    free(r);
}
END_TEST

START_TEST(off_holds_nothing)
{
    struct switchover_test_delay d = {.delay_ms = 0};
    struct record *r = record_at(7, SWITCHOVER_STEP_CAUGHT_UP);
    switchover_test_delay_note(&d, r, 1000);
    ck_assert(!switchover_test_delay_holds(&d, 1000));
    ck_assert(!switchover_test_delay_holds(&d, 0));
    free(r);
}
END_TEST

static struct coordinator_options options(const char *id)
{
    struct coordinator_options o;
    memset(&o, 0, sizeof o);
    snprintf(o.local_id, sizeof o.local_id, "%s", id);
    const char *ids[] = {"m1", "m2", "s"};
    for (unsigned i = 0; i < 3; i++) {
        snprintf(o.nodes[i].id, sizeof o.nodes[i].id, "%s", ids[i]);
        o.nodes[i].candidate = i < 2;
    }
    o.n_nodes = 3;
    o.lease =
        (struct lease_params){.lease_ms = 1000, .drift = 0.05, .margin_ms = 100, .fence_ms = 200};
    o.report_interval_ms = 1000;
    o.health_stale_ms = 3000;
    return o;
}

static struct coordinator_time at(uint64_t ms)
{
    return (struct coordinator_time){.boot_ms = ms, .wall_ms = 1700000000000ULL + ms};
}

/* Take every proposal of @c; return how many had @type, keeping the last in @last. */
static int take(struct coordinator *c, uint8_t type, struct command *last)
{
    struct command cmd;
    int n = 0;
    while (coordinator_take_proposal(c, &cmd)) {
        if (cmd.type == type) {
            n++;
            *last = cmd;
        }
    }
    return n;
}

START_TEST(a_lost_opened_is_said_again_until_recorded)
{
    struct record *record = calloc(1, sizeof *record);
    struct coordinator *m1 = calloc(1, sizeof *m1);
    ck_assert_ptr_nonnull(record);
    ck_assert_ptr_nonnull(m1);
    record_init(record);
    struct coordinator_options o = options("m1");
    coordinator_init(m1, &o);
    char err[256];
    struct command_health h;
    memset(&h, 0, sizeof h);
    h.mysql = MYSQL_VIEW_UP;
    strcpy(h.executed, "0-1-10");
    coordinator_local_health(m1, &h, at(0));
    struct command set = {.type = COMMAND_SET_WRITER}, cmd;
    set.set_writer.epoch = 1;
    strcpy(set.set_writer.node_id, "m1");
    ck_assert_int_eq(record_apply(record, &set, err, sizeof err), 0);
    coordinator_applied(m1, record, &set, 0, at(10));
    coordinator_tick(m1, record, at(100));
    ck_assert_int_eq(take(m1, COMMAND_RENEW, &cmd), 1);
    ck_assert_int_eq(record_apply(record, &cmd, err, sizeof err), 0);
    coordinator_applied(m1, record, &cmd, 0, at(120));

    coordinator_tick(m1, record, at(140));
    ck_assert_int_eq(take(m1, COMMAND_OPENED, &cmd), 1); /* lost on the way: never applied */
    coordinator_tick(m1, record, at(200));
    ck_assert_int_eq(take(m1, COMMAND_OPENED, &cmd), 0);
    coordinator_tick(m1, record, at(389)); /* a renewal interval (250 ms) after it was sent */
    ck_assert_int_eq(take(m1, COMMAND_OPENED, &cmd), 0);
    coordinator_tick(m1, record, at(390));
    ck_assert_int_eq(take(m1, COMMAND_OPENED, &cmd), 1);
    ck_assert_int_eq(record_apply(record, &cmd, err, sizeof err), 0);
    coordinator_applied(m1, record, &cmd, 0, at(400));
    ck_assert_uint_ne(record_find_epoch(record, 1)->opened_wall_ms, 0);
    coordinator_tick(m1, record, at(700)); /* recorded: never again */
    ck_assert_int_eq(take(m1, COMMAND_OPENED, &cmd), 0);
    coordinator_tick(m1, record, at(950));
    ck_assert_int_eq(take(m1, COMMAND_OPENED, &cmd), 0);
    free(m1);
    free(record);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("switchover crash");
    TCase *tc = tcase_create("crash");
    tcase_add_test(tc, parse_accepts_off_and_milliseconds);
    tcase_add_test(tc, parse_refuses_what_is_not_milliseconds);
    tcase_add_test(tc, holds_each_step_for_the_delay);
    tcase_add_test(tc, off_holds_nothing);
    tcase_add_test(tc, a_lost_opened_is_said_again_until_recorded);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
