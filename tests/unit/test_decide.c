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
    ck_assert_ptr_nonnull(strstr(d.reason, "m1: the writer of epoch 1"));
    ck_assert_ptr_nonnull(strstr(d.reason, "m2: MySQL timeout"));
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

static struct decide_explanation explanation;

static const struct decide_explanation *explain(void)
{
    ck_assert_int_eq(decide_explain(&input, &explanation), 0);
    ck_assert_uint_eq(explanation.n_nodes, input.n_nodes);
    for (unsigned i = 0; i < input.n_nodes; i++) {
        ck_assert(explanation.nodes[i].why[0] != '\0');
    }
    ck_assert(explanation.standby_why[0] != '\0');
    return &explanation;
}

/* decide() and decide_explain() tell the same story: a promoted node (other than the old
 * writer taken back) is promotable, and a wait means nobody but the writer is. */
static void assert_agree(void)
{
    struct decision d = run();
    const struct decide_explanation *e = explain();
    bool someone = false;
    for (unsigned i = 0; i < input.n_nodes; i++) {
        if (strcmp(nodes[i].id, record.writer.node) != 0 && e->nodes[i].promotable) {
            someone = true;
        }
    }
    if (d.kind == DECISION_PROMOTE && strcmp(d.node, record.writer.node) != 0) {
        for (unsigned i = 0; i < input.n_nodes; i++) {
            if (strcmp(nodes[i].id, d.node) == 0) {
                ck_assert_msg(e->nodes[i].promotable, "%s promoted but: %s", d.node,
                              e->nodes[i].why);
                ck_assert_str_eq(e->nodes[i].catch_up_from, d.catch_up_from);
            }
        }
    }
    if (d.kind == DECISION_WAIT) {
        ck_assert_msg(!someone, "decide waits (%s) but explain sees a standby: %s", d.reason,
                      e->standby_why);
    }
    ck_assert_int_eq(e->standby, someone);
}

START_TEST(status_says_who_could_take_over_and_why_not)
{
    writer(4, "m1", false);
    const struct decide_explanation *e = explain();
    ck_assert(!e->nodes[0].promotable);
    ck_assert_ptr_nonnull(strstr(e->nodes[0].why, "the writer of epoch 4"));
    ck_assert(e->nodes[1].promotable);
    ck_assert_ptr_nonnull(strstr(e->nodes[1].why, "could be promoted now"));
    ck_assert(!e->nodes[2].promotable);
    ck_assert_str_eq(e->nodes[2].why, "not a candidate");
    ck_assert(e->standby);
    ck_assert_str_eq(e->standby_why, "could take over now: m2");
    ck_assert_str_eq(e->no_writer, "");

    /* m2 lags behind the writer: it catches up from it (or from s). */
    snprintf(health[1].executed, sizeof health[1].executed, "0-1-90,1-2-40");
    snprintf(health[1].received, sizeof health[1].received, "0-1-95");
    e = explain();
    ck_assert(e->nodes[1].promotable);
    ck_assert_str_eq(e->nodes[1].missing, "0-1-96..100");
    ck_assert_str_eq(e->nodes[1].catch_up_from, "m1");
    ck_assert_ptr_nonnull(strstr(e->standby_why, "m2 (after catching up from m1)"));

    /* Each reason in turn. */
    health[1].mysql = MYSQL_VIEW_DOWN;
    e = explain();
    ck_assert(!e->nodes[1].promotable);
    ck_assert_str_eq(e->nodes[1].why, "MySQL down");
    ck_assert(!e->standby);
    ck_assert_str_eq(e->standby_why,
                     "no candidate other than the writer m1 could be promoted now: m2: MySQL down");
    health[1].mysql = MYSQL_VIEW_DENIED;
    ck_assert_str_eq(explain()->nodes[1].why, "MySQL denied");
    health[1].mysql = MYSQL_VIEW_TIMEOUT;
    ck_assert_str_eq(explain()->nodes[1].why, "MySQL timeout");
    health[1].mysql = MYSQL_VIEW_UP;
    nodes[1].fresh = false;
    ck_assert_str_eq(explain()->nodes[1].why, "health report stale");
    nodes[1].health = NULL;
    ck_assert_str_eq(explain()->nodes[1].why, "no health report");
    nodes[1].health = &health[1];
    nodes[1].fresh = true;
    snprintf(health[1].executed, sizeof health[1].executed, "0-1-100,0-2-7");
    e = explain();
    ck_assert(!e->nodes[1].promotable);
    ck_assert_ptr_nonnull(strstr(e->nodes[1].why, "unreadable GTID set"));
    ck_assert_ptr_nonnull(strstr(e->nodes[1].why, "domain 0 already given"));
}
END_TEST

START_TEST(no_writer_says_why_and_who_could_be_next)
{
    const struct decide_explanation *e = explain();
    ck_assert_str_eq(e->no_writer, "no writer yet; could take over now: m1, m2");
    writer(3, "m1", true);
    health[0].mysql = MYSQL_VIEW_DOWN;
    health[1].mysql = MYSQL_VIEW_TIMEOUT;
    e = explain();
    ck_assert_ptr_nonnull(strstr(e->no_writer, "writer m1 released epoch 3 (mysqld refused"));
    ck_assert_ptr_nonnull(strstr(e->no_writer,
                                 "no candidate other than the writer m1 could be promoted now: "
                                 "m2: MySQL timeout"));
    ck_assert_ptr_nonnull(strstr(e->nodes[0].why, "released: mysqld refused connections"));
    assert_agree();
    record.writer.node[0] = '\0';
    e = explain();
    ck_assert_str_eq(e->no_writer, "epoch 3 has no writer; no candidate could be promoted now: "
                                   "m1: MySQL down; m2: MySQL timeout");
    assert_agree();
}
END_TEST

/* MariaDB, one gtid_domain_id per master (m1 writes domain 1, m2 domain 2). m1 was the writer,
 * wrote 1-1-101..105 that nobody received, died; m2 took over (epoch 2) and wrote 2-2-41..60;
 * m1 is back, fenced, and replicates from m2. */
static void old_writer_back_with_errant_transactions(void)
{
    writer(2, "m2", false);
    node(0, "m1", true, MYSQL_VIEW_UP, "1-1-105,2-2-60", "1-1-100,2-2-60");
    node(1, "m2", true, MYSQL_VIEW_UP, "1-1-100,2-2-60", "");
    node(2, "s", false, MYSQL_VIEW_UP, "1-1-100,2-2-60", "1-1-100,2-2-60");
}

START_TEST(errant_transactions_of_a_returning_old_writer_mariadb)
{
    old_writer_back_with_errant_transactions();
    const struct decide_explanation *e = explain();
    ck_assert(!e->nodes[0].promotable);
    ck_assert_str_eq(e->nodes[0].errant, "1-1-101..105");
    ck_assert_ptr_nonnull(strstr(e->nodes[0].why, "errant transactions 1-1-101..105"));
    ck_assert_ptr_nonnull(strstr(e->nodes[0].why, "never by the writer m2"));
    ck_assert_ptr_nonnull(strstr(e->nodes[0].why, "undo them or rebuild from the writer"));
    ck_assert_str_eq(e->nodes[1].errant, "");
    ck_assert_str_eq(e->nodes[2].errant, "");
    ck_assert(!e->standby);
    ck_assert_ptr_nonnull(strstr(e->standby_why, "m1: errant transactions 1-1-101..105"));
    /* Nobody has to catch up on them: they are not in what the servers hold together. */
    ck_assert_str_eq(e->nodes[1].why, "the writer of epoch 2");

    /* m2's lease ran out while its last health is still fresh: m1 stays out, and m2, the
     * only one left, gets a new epoch as the last resort. */
    input.lease_over = true;
    struct decision d = run();
    ck_assert_int_eq(d.kind, DECISION_PROMOTE);
    ck_assert_str_eq(d.node, "m2");
    assert_agree();
    /* Cut off for longer, its report stale: nothing is judged against it any more. */
    nodes[1].fresh = false;
    d = run();
    ck_assert_int_eq(d.kind, DECISION_PROMOTE);
    ck_assert_str_eq(d.node, "m1");
    ck_assert_str_eq(explain()->nodes[0].errant, "");
    assert_agree();
    nodes[1].fresh = true;

    /* A writer whose MySQL is down says nothing about what it wrote: no judgement, and m1,
     * which holds the most, is promoted (the old writer's last resort is not needed). */
    health[1].mysql = MYSQL_VIEW_DOWN;
    e = explain();
    ck_assert_str_eq(e->nodes[0].errant, "");
    ck_assert(e->nodes[0].promotable);
    d = run();
    ck_assert_int_eq(d.kind, DECISION_PROMOTE);
    ck_assert_str_eq(d.node, "m1");
    assert_agree();
}
END_TEST

START_TEST(a_writer_report_older_than_the_replicas_is_not_errant)
{
    /* m1 writes domain 1; its last report says 1-1-100, m2 has since received and applied up
     * to 103 from it. */
    writer(1, "m1", false);
    node(0, "m1", true, MYSQL_VIEW_UP, "1-1-100,2-2-40", "");
    node(1, "m2", true, MYSQL_VIEW_UP, "1-1-103,2-2-40", "1-1-103,2-2-40");
    const struct decide_explanation *e = explain();
    ck_assert_str_eq(e->nodes[1].errant, "");
    ck_assert(e->nodes[1].promotable);
    /* The same position without the received one to vouch for it is errant. */
    health[1].received[0] = '\0';
    e = explain();
    ck_assert_str_eq(e->nodes[1].errant, "1-1-101..103");
    ck_assert(!e->nodes[1].promotable);
}
END_TEST

/* Seen in a chaos run: m2 was named writer of epoch 3 but its SQL thread had stopped on an error
 * (it can never apply what it received) and it never opened. Its relay log does not count as
 * holding those transactions, and m1's transactions are not errant against a writer that never
 * opened: m1, which holds everything, is the one to promote. */
START_TEST(a_writer_that_never_opened_judges_nobody_errant)
{
    writer(3, "m2", false);
    record.n_history = 1;
    memset(&record.history[0], 0, sizeof record.history[0]);
    record.history[0].epoch = 3;
    snprintf(record.history[0].new_writer, sizeof record.history[0].new_writer, "m2");
    node(0, "m1", true, MYSQL_VIEW_UP, "1-1-200", "1-1-200");
    node(1, "m2", true, MYSQL_VIEW_UP, "1-1-150", "1-1-200");
    health[1].replicating = true; /* its SQL thread stopped on an error */
    health[1].sql_running = false;
    node(2, "s", false, MYSQL_VIEW_UP, "1-1-200", "1-1-200");
    const struct decide_explanation *e = explain();
    ck_assert_str_eq(e->nodes[0].errant, "");
    ck_assert_ptr_null(strstr(e->nodes[0].why, "errant"));
    input.lease_over = true; /* m2's lease is long gone */
    health[1].mysql = MYSQL_VIEW_UP;
    nodes[1].fresh = false; /* and it stopped reporting as a healthy writer */
    struct decision d = run();
    ck_assert_int_eq(d.kind, DECISION_PROMOTE);
    ck_assert_str_eq(d.node, "m1");

    /* Once m2 opened its epoch, m1's transactions beyond it are errant again. */
    record.history[0].opened_wall_ms = 1;
    nodes[1].fresh = true;
    health[1].sql_running = true;
    health[1].received[0] = '\0';
    health[0].received[0] = '\0';
    e = explain();
    ck_assert_str_eq(e->nodes[0].errant, "1-1-151..200");
}
END_TEST

/* A candidate whose SQL thread is stopped lacks what it only received: it has to catch up. */
START_TEST(received_but_not_applied_does_not_count)
{
    writer(2, "m1", true);
    input.lease_over = true; /* released */
    node(0, "m1", true, MYSQL_VIEW_DOWN, "", "");
    node(1, "m2", true, MYSQL_VIEW_UP, "1-1-150", "1-1-200");
    node(2, "s", false, MYSQL_VIEW_UP, "1-1-200", "1-1-200");
    health[2].replicating = true;
    health[2].sql_running = true;
    struct decision d = run();
    ck_assert_int_eq(d.kind, DECISION_PROMOTE);
    ck_assert_str_eq(d.node, "m2");
    ck_assert_ptr_null(strstr(d.reason, "lacks")); /* its relay log holds 151..200 */
    health[1].replicating = true;
    health[1].sql_running = false;
    d = run();
    ck_assert_int_eq(d.kind, DECISION_PROMOTE);
    ck_assert_str_eq(d.node, "m2");
    ck_assert_ptr_nonnull(strstr(d.reason, "lacks 1-1-151..200, which s holds"));
}
END_TEST

START_TEST(two_servers_that_wrote_the_same_seq_have_diverged)
{
    /* One domain for both masters: m2 wrote 0-2-100 while m1 wrote 0-1-100. The algebra sees
     * equal positions; the server ids give it away. */
    writer(1, "m1", false);
    node(0, "m1", true, MYSQL_VIEW_UP, "0-1-100", "");
    node(1, "m2", true, MYSQL_VIEW_UP, "0-2-100", "0-1-99");
    const struct decide_explanation *e = explain();
    ck_assert(!e->nodes[1].promotable);
    ck_assert_str_eq(e->nodes[1].errant, "0-2-100..100");
    ck_assert_ptr_nonnull(strstr(e->nodes[1].why, "diverged"));
}
END_TEST

#define UUID_A "3e11fa47-71ca-11e1-9e33-c80aa9429562"
#define UUID_B "4f22ab58-82db-11e1-9e33-c80aa9429562"

START_TEST(errant_and_missing_transactions_mysql)
{
    writer(2, "m1", false);
    node(0, "m1", true, MYSQL_VIEW_UP, UUID_A ":1-100,\n" UUID_B ":1-20", "");
    node(1, "m2", true, MYSQL_VIEW_UP, UUID_A ":1-95,\n" UUID_B ":1-23", UUID_A ":1-97");
    node(2, "s", false, MYSQL_VIEW_UP, UUID_A ":1-100," UUID_B ":1-20", UUID_A ":1-100");
    for (unsigned i = 0; i < 3; i++) {
        health[i].flavor = 1;
    }
    const struct decide_explanation *e = explain();
    ck_assert_str_eq(e->nodes[1].errant, UUID_B ":21-23");
    ck_assert(!e->nodes[1].promotable);
    ck_assert_ptr_nonnull(strstr(e->nodes[1].why, "errant transactions " UUID_B ":21-23"));
    ck_assert_str_eq(e->nodes[2].errant, "");
    /* Without them m2 only lags: it can catch up from the writer or s. */
    snprintf(health[1].executed, sizeof health[1].executed, UUID_A ":1-95," UUID_B ":1-20");
    e = explain();
    ck_assert_str_eq(e->nodes[1].errant, "");
    ck_assert(e->nodes[1].promotable);
    ck_assert_str_eq(e->nodes[1].missing, UUID_A ":98-100");
    ck_assert_str_eq(e->nodes[1].catch_up_from, "m1");
    /* The writer dies: s still holds what m2 lacks. */
    health[0].mysql = MYSQL_VIEW_DOWN;
    input.lease_over = true;
    e = explain();
    ck_assert_str_eq(e->nodes[1].catch_up_from, "s");
    assert_agree();
}
END_TEST

START_TEST(a_candidate_that_can_catch_up_beats_one_that_cannot)
{
    /* m1 lacks 0-1-101..105 (only s has it) and 1-2-41..45 (only t): nobody holds both. m2
     * lacks only 1-2-41..45, which t holds. Neither set of missing holds the other. */
    writer(1, "m0", false);
    node(0, "m1", true, MYSQL_VIEW_UP, "0-1-100,1-2-40", "");
    node(1, "m2", true, MYSQL_VIEW_UP, "0-1-105,1-2-40", "");
    node(2, "s", false, MYSQL_VIEW_UP, "0-1-105,1-2-38", "");
    node(3, "t", false, MYSQL_VIEW_UP, "0-1-100,1-2-45", "");
    input.n_nodes = 4;
    input.lease_over = true;
    struct decision d = run();
    ck_assert_int_eq(d.kind, DECISION_PROMOTE);
    ck_assert_str_eq(d.node, "m2");
    ck_assert_str_eq(d.catch_up_from, "t");
    assert_agree();
    const struct decide_explanation *e = explain();
    ck_assert(!e->nodes[0].promotable);
    ck_assert_ptr_nonnull(strstr(e->nodes[0].why, "no reachable server holds all of it"));
}
END_TEST

START_TEST(decide_and_explain_agree)
{
    /* The earlier scenarios, checked for agreement. */
    assert_agree();
    writer(1, "m1", false);
    assert_agree();
    input.lease_over = true;
    health[0].mysql = MYSQL_VIEW_DOWN;
    assert_agree();
    health[1].mysql = MYSQL_VIEW_TIMEOUT;
    assert_agree();
    health[1].mysql = MYSQL_VIEW_UP;
    snprintf(health[2].received, sizeof health[2].received, "0-1-105");
    assert_agree();
    node(3, "t", false, MYSQL_VIEW_UP, "0-1-100,1-2-45", "");
    input.n_nodes = 4;
    assert_agree();
    input.allow_loss = true;
    assert_agree();
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
    tcase_add_test(tc, status_says_who_could_take_over_and_why_not);
    tcase_add_test(tc, no_writer_says_why_and_who_could_be_next);
    tcase_add_test(tc, errant_transactions_of_a_returning_old_writer_mariadb);
    tcase_add_test(tc, a_writer_report_older_than_the_replicas_is_not_errant);
    tcase_add_test(tc, two_servers_that_wrote_the_same_seq_have_diverged);
    tcase_add_test(tc, a_writer_that_never_opened_judges_nobody_errant);
    tcase_add_test(tc, received_but_not_applied_does_not_count);
    tcase_add_test(tc, errant_and_missing_transactions_mysql);
    tcase_add_test(tc, a_candidate_that_can_catch_up_beats_one_that_cannot);
    tcase_add_test(tc, decide_and_explain_agree);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
