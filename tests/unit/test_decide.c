/* The leader's decision (coord/decide.h) on hand-made records and health reports. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord/decide.h"

static struct record record;
static struct command_health health[4];
static struct decide_node nodes[4];
static struct decide_input input;

static void node(unsigned i, const char *id, bool candidate, uint8_t mysql, const char *executed,
                 const char *received)
{
    memset(&health[i], 0, sizeof health[i]);
    snprintf(health[i].node_id, sizeof health[i].node_id, "%s", id);
    health[i].mysql = mysql;
    snprintf(health[i].executed, sizeof health[i].executed, "%s", executed);
    snprintf(health[i].received, sizeof health[i].received, "%s", received);
    nodes[i].id = health[i].node_id;
    nodes[i].candidate = candidate;
    nodes[i].fresh = true;
    nodes[i].health = &health[i];
}

/* m1, m2 candidates and s a replica, all up with the same data; no writer yet. */
static void setup(void)
{
    record_init(&record);
    node(0, "m1", true, MYSQL_VIEW_UP, "0-1-100,1-2-40", "");
    node(1, "m2", true, MYSQL_VIEW_UP, "0-1-100,1-2-40", "0-1-100");
    node(2, "s", false, MYSQL_VIEW_UP, "0-1-100,1-2-40", "0-1-100");
    memset(&input, 0, sizeof input);
    input.record = &record;
    input.nodes = nodes;
    input.n_nodes = 3;
}

static void writer(uint64_t epoch, const char *id, bool released)
{
    record.writer.epoch = epoch;
    snprintf(record.writer.node, sizeof record.writer.node, "%s", id);
    record.writer.released = released;
    snprintf(record.writer.release_reason, sizeof record.writer.release_reason, "%s",
             released ? "mysqld refused connections" : "");
}

static struct decision run(void)
{
    struct decision d;
    ck_assert_int_eq(decide(&input, &d), 0);
    ck_assert(d.reason[0] != '\0');
    return d;
}

START_TEST(first_writer_is_the_first_healthy_candidate)
{
    struct decision d = run();
    ck_assert_int_eq(d.kind, DECISION_PROMOTE);
    ck_assert_str_eq(d.node, "m1");
    ck_assert_ptr_nonnull(strstr(d.reason, "no writer yet"));
    health[0].mysql = MYSQL_VIEW_DOWN;
    d = run();
    ck_assert_str_eq(d.node, "m2");
}
END_TEST

START_TEST(a_healthy_writer_is_never_replaced)
{
    writer(1, "m1", false);
    input.lease_remaining_ms = 900;
    struct decision d = run();
    ck_assert_int_eq(d.kind, DECISION_NONE);
    ck_assert_ptr_nonnull(strstr(d.reason, "writer m1 is healthy"));
    /* No failback either: m2 holds the epoch, m1 is back and healthy. */
    writer(2, "m2", false);
    d = run();
    ck_assert_int_eq(d.kind, DECISION_NONE);
}
END_TEST

START_TEST(an_unhealthy_writer_is_replaced_only_after_its_lease)
{
    writer(1, "m1", false);
    health[0].mysql = MYSQL_VIEW_DOWN;
    input.lease_remaining_ms = 640;
    struct decision d = run();
    ck_assert_int_eq(d.kind, DECISION_WAIT);
    ck_assert_ptr_nonnull(strstr(d.reason, "writer m1: down"));
    ck_assert_ptr_nonnull(strstr(d.reason, "640 ms"));
    nodes[0].fresh = false; /* cut off: its reports stop */
    d = run();
    ck_assert_ptr_nonnull(strstr(d.reason, "stale"));
    input.lease_over = true;
    d = run();
    ck_assert_int_eq(d.kind, DECISION_PROMOTE);
    ck_assert_str_eq(d.node, "m2");
    ck_assert_ptr_nonnull(strstr(d.reason, "lease of epoch 1 ran out"));
}
END_TEST

START_TEST(a_release_names_its_reason)
{
    writer(3, "m1", true);
    input.lease_over = true;
    struct decision d = run();
    ck_assert_int_eq(d.kind, DECISION_PROMOTE);
    ck_assert_str_eq(d.node, "m2");
    ck_assert_ptr_nonnull(strstr(d.reason, "released epoch 3 (mysqld refused connections)"));
    ck_assert_str_eq(d.missing, "");
}
END_TEST

START_TEST(a_lagging_candidate_catches_up_from_the_replica)
{
    writer(1, "m1", false);
    input.lease_over = true;
    nodes[0].fresh = false;
    health[1].received[0] = '\0';
    snprintf(health[1].executed, sizeof health[1].executed, "0-1-100,1-2-40");
    snprintf(health[2].received, sizeof health[2].received, "0-1-105");
    struct decision d = run();
    ck_assert_int_eq(d.kind, DECISION_PROMOTE);
    ck_assert_str_eq(d.node, "m2");
    ck_assert_str_eq(d.catch_up_from, "s");
    ck_assert_ptr_nonnull(strstr(d.missing, "101"));
    ck_assert_ptr_nonnull(strstr(d.reason, "catches up"));
}
END_TEST

START_TEST(what_nobody_holds_whole_makes_the_leader_wait)
{
    /* Two replicas, each holding a different part of what m2 lacks. */
    writer(1, "m1", false);
    input.lease_over = true;
    nodes[0].fresh = false;
    node(2, "s", false, MYSQL_VIEW_UP, "0-1-105,1-2-40", "");
    node(3, "t", false, MYSQL_VIEW_UP, "0-1-100,1-2-45", "");
    input.n_nodes = 4;
    health[1].received[0] = '\0';
    struct decision d = run();
    ck_assert_int_eq(d.kind, DECISION_WAIT);
    ck_assert_str_eq(d.node, "");
    ck_assert_ptr_nonnull(strstr(d.reason, "waiting"));
    input.allow_loss = true;
    d = run();
    ck_assert_int_eq(d.kind, DECISION_PROMOTE);
    ck_assert_str_eq(d.node, "m2");
    ck_assert_ptr_nonnull(strstr(d.reason, "allows loss"));
}
END_TEST

START_TEST(no_candidate_means_wait_and_say_why)
{
    writer(1, "m1", false);
    input.lease_over = true;
    nodes[0].fresh = false; /* the old writer is cut off */
    health[1].mysql = MYSQL_VIEW_TIMEOUT;
    struct decision d = run();
    ck_assert_int_eq(d.kind, DECISION_WAIT);
    ck_assert_ptr_nonnull(strstr(d.reason, "m1: the old writer"));
    ck_assert_ptr_nonnull(strstr(d.reason, "m2: timeout"));
    health[1].mysql = MYSQL_VIEW_UP;
    nodes[1].health = NULL;
    health[0].mysql = MYSQL_VIEW_DOWN;
    d = run();
    ck_assert_int_eq(d.kind, DECISION_WAIT);
    ck_assert_ptr_nonnull(strstr(d.reason, "m2: no health report"));
    /* The old writer back and healthy, nobody else: it gets a new epoch. */
    health[0].mysql = MYSQL_VIEW_UP;
    nodes[0].fresh = true;
    d = run();
    ck_assert_int_eq(d.kind, DECISION_PROMOTE);
    ck_assert_str_eq(d.node, "m1");
}
END_TEST

START_TEST(an_unreadable_gtid_set_makes_a_node_ineligible)
{
    snprintf(health[0].executed, sizeof health[0].executed, "garbage-gtid");
    struct decision d = run();
    ck_assert_int_eq(d.kind, DECISION_PROMOTE);
    ck_assert_str_eq(d.node, "m2");
    ck_assert_ptr_nonnull(strstr(d.reason, "unreadable"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("decide");
    TCase *tc = tcase_create("decide");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, first_writer_is_the_first_healthy_candidate);
    tcase_add_test(tc, a_healthy_writer_is_never_replaced);
    tcase_add_test(tc, an_unhealthy_writer_is_replaced_only_after_its_lease);
    tcase_add_test(tc, a_release_names_its_reason);
    tcase_add_test(tc, a_lagging_candidate_catches_up_from_the_replica);
    tcase_add_test(tc, what_nobody_holds_whole_makes_the_leader_wait);
    tcase_add_test(tc, no_candidate_means_wait_and_say_why);
    tcase_add_test(tc, an_unreadable_gtid_set_makes_a_node_ineligible);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
