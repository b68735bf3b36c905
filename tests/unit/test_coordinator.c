/*
 * The coordinator state machine (coord/coordinator.h) driven by hand: commands are applied to a
 * record the way the FSM would, and the test plays the raft leader's appends.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord/coordinator.h"

static struct record record;
static struct coordinator m1, m2, s;

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

static struct command_health up_health(void)
{
    struct command_health h;
    memset(&h, 0, sizeof h);
    h.mysql = MYSQL_VIEW_UP;
    strcpy(h.executed, "0-1-10");
    return h;
}

/* Apply @cmd to the record and tell every coordinator, at @now. */
static void apply(const struct command *cmd, uint64_t now)
{
    char err[256];
    int status = record_apply(&record, cmd, err, sizeof err);
    coordinator_applied(&m1, &record, cmd, status, at(now));
    coordinator_applied(&m2, &record, cmd, status, at(now));
    coordinator_applied(&s, &record, cmd, status, at(now));
}

/* Take every proposal of @c; return how many had @type, keeping the last in @last. */
static int drain(struct coordinator *c, uint8_t type, struct command *last)
{
    struct command cmd;
    int n = 0;
    while (coordinator_take_proposal(c, &cmd)) {
        if (cmd.type == type) {
            n++;
            if (last != NULL) {
                *last = cmd;
            }
        }
    }
    return n;
}

static void setup(void)
{
    record_init(&record);
    struct coordinator_options o1 = options("m1"), o2 = options("m2"), os = options("s");
    coordinator_init(&m1, &o1);
    coordinator_init(&m2, &o2);
    coordinator_init(&s, &os);
}

/* Every node reports UP health, applied at @now. */
static void all_healthy(uint64_t now)
{
    struct command_health h = up_health();
    struct coordinator *all[] = {&m1, &m2, &s};
    for (unsigned i = 0; i < 3; i++) {
        coordinator_local_health(all[i], &h, at(now));
        struct command cmd;
        ck_assert_int_eq(drain(all[i], COMMAND_HEALTH, &cmd), 1);
        apply(&cmd, now);
    }
}

START_TEST(the_leader_names_the_first_writer_once)
{
    coordinator_set_leader(&s, true, &record, at(0));
    all_healthy(10);
    coordinator_tick(&s, &record, at(20));
    ck_assert_int_eq(drain(&s, COMMAND_SET_WRITER, NULL), 0); /* no barrier yet */
    coordinator_barrier_applied(&s, at(30));
    coordinator_tick(&s, &record, at(40));
    struct command set;
    ck_assert_int_eq(drain(&s, COMMAND_SET_WRITER, &set), 1);
    ck_assert_uint_eq(set.set_writer.epoch, 1);
    ck_assert_str_eq(set.set_writer.node_id, "m1");
    coordinator_tick(&s, &record, at(50));
    ck_assert_int_eq(drain(&s, COMMAND_SET_WRITER, NULL), 0); /* pending: not again */
    ck_assert(coordinator_before_append(&s, &set, at(55)));
    apply(&set, 60);
    ck_assert_str_eq(record.writer.node, "m1");
    coordinator_tick(&s, &record, at(70));
    ck_assert_int_eq(drain(&s, COMMAND_SET_WRITER, NULL), 0); /* m1 holds it now */
}
END_TEST

START_TEST(the_writer_opens_only_inside_its_lease)
{
    all_healthy(0);
    struct command set = {.type = COMMAND_SET_WRITER};
    set.set_writer.epoch = 1;
    strcpy(set.set_writer.node_id, "m1");
    apply(&set, 10);
    struct host_target t;
    coordinator_target(&m1, &record, 10, &t);
    ck_assert(!t.writable); /* no renewal yet */
    coordinator_tick(&m1, &record, at(100));
    struct command renew;
    ck_assert_int_eq(drain(&m1, COMMAND_RENEW, &renew), 1);
    apply(&renew, 120);
    coordinator_target(&m1, &record, 130, &t);
    ck_assert(t.writable);
    ck_assert_uint_eq(t.lease_until_ms, 1100);
    ck_assert_uint_eq(t.fence_at_ms, 900);
    coordinator_tick(&m1, &record, at(140));
    ck_assert_int_eq(drain(&m1, COMMAND_OPENED, NULL), 1);
    coordinator_target(&m1, &record, 900, &t);
    ck_assert(!t.writable);
    ck_assert_ptr_nonnull(strstr(t.reason, "lease ran out"));
    /* The others stay fenced and replicate from the writer. */
    coordinator_target(&m2, &record, 130, &t);
    ck_assert(!t.writable);
    ck_assert_str_eq(t.replicate_from, "m1");
    coordinator_target(&s, &record, 130, &t);
    ck_assert_str_eq(t.replicate_from, "m1");
}
END_TEST

START_TEST(the_writer_renews_every_quarter_lease)
{
    all_healthy(0);
    struct command set = {.type = COMMAND_SET_WRITER};
    set.set_writer.epoch = 1;
    strcpy(set.set_writer.node_id, "m1");
    apply(&set, 0);
    int renewals = 0;
    for (uint64_t now = 0; now <= 1000; now += 50) {
        coordinator_tick(&m1, &record, at(now));
        renewals += drain(&m1, COMMAND_RENEW, NULL);
    }
    ck_assert_int_eq(renewals, 5); /* 0, 250, 500, 750, 1000 */
}
END_TEST

START_TEST(a_writer_whose_mysqld_is_down_releases_and_fences)
{
    all_healthy(0);
    struct command set = {.type = COMMAND_SET_WRITER};
    set.set_writer.epoch = 1;
    strcpy(set.set_writer.node_id, "m1");
    apply(&set, 0);
    coordinator_tick(&m1, &record, at(10));
    struct command renew;
    ck_assert_int_eq(drain(&m1, COMMAND_RENEW, &renew), 1);
    apply(&renew, 20);
    struct command_health down = up_health();
    down.mysql = MYSQL_VIEW_DOWN;
    coordinator_local_health(&m1, &down, at(300));
    struct host_target t;
    coordinator_target(&m1, &record, 300, &t);
    ck_assert(!t.writable); /* fenced at once, before the release is even committed */
    coordinator_tick(&m1, &record, at(310));
    struct command rel;
    ck_assert_int_eq(drain(&m1, COMMAND_RELEASE, &rel), 1);
    ck_assert_ptr_nonnull(strstr(rel.release.reason, "down"));

    /* The leader promotes at once on the release, without waiting out the lease. */
    coordinator_set_leader(&s, true, &record, at(0));
    coordinator_barrier_applied(&s, at(5));
    ck_assert(coordinator_before_append(&s, &renew, at(20)));
    struct command h1;
    coordinator_local_health(&m1, &down, at(320)); /* no change: no new report */
    ck_assert_int_eq(drain(&m1, COMMAND_HEALTH, &h1), 0);
    apply(&rel, 330);
    coordinator_tick(&s, &record, at(340));
    struct command set2;
    ck_assert_int_eq(drain(&s, COMMAND_SET_WRITER, &set2), 1);
    ck_assert_str_eq(set2.set_writer.node_id, "m2");
    ck_assert_ptr_nonnull(strstr(set2.set_writer.reason, "released"));
}
END_TEST

START_TEST(the_leader_waits_out_the_lease_of_a_silent_writer)
{
    coordinator_set_leader(&s, true, &record, at(0));
    coordinator_barrier_applied(&s, at(0));
    all_healthy(0);
    struct command set = {.type = COMMAND_SET_WRITER};
    set.set_writer.epoch = 1;
    strcpy(set.set_writer.node_id, "m1");
    ck_assert(coordinator_before_append(&s, &set, at(0)));
    apply(&set, 0);
    struct command renew = {.type = COMMAND_RENEW};
    renew.renew.epoch = 1;
    strcpy(renew.renew.node_id, "m1");
    renew.renew.nonce = 1;
    ck_assert(coordinator_before_append(&s, &renew, at(500)));
    apply(&renew, 510);
    drain(&s, COMMAND_HEALTH, NULL);
    /* m1 goes silent; m2 and s keep reporting. */
    uint64_t wait = lease_leader_wait_ms(&m1.opts.lease);
    struct command_health h = up_health();
    for (uint64_t now = 600; now < 500 + wait; now += 100) {
        coordinator_local_health(&m2, &h, at(now));
        struct command hc;
        while (coordinator_take_proposal(&m2, &hc)) {
            apply(&hc, now);
        }
        coordinator_tick(&s, &record, at(now));
        ck_assert_int_eq(drain(&s, COMMAND_SET_WRITER, NULL), 0);
    }
    ck_assert_int_eq(s.last_decision.kind, DECISION_NONE); /* m1's last health is still fresh */
    coordinator_tick(&s, &record, at(500 + wait));
    struct command set2;
    ck_assert_int_eq(drain(&s, COMMAND_SET_WRITER, &set2), 1);
    ck_assert_str_eq(set2.set_writer.node_id, "m2");
    ck_assert_ptr_nonnull(strstr(set2.set_writer.reason, "ran out"));
    /* Once SET_WRITER is appended, a late RENEW of the old epoch is refused. */
    ck_assert(coordinator_before_append(&s, &set2, at(500 + wait)));
    renew.renew.nonce = 2;
    ck_assert(!coordinator_before_append(&s, &renew, at(501 + wait)));
}
END_TEST

START_TEST(a_renew_sent_before_a_restart_extends_nothing)
{
    all_healthy(1);
    struct command set = {.type = COMMAND_SET_WRITER};
    set.set_writer.epoch = 1;
    strcpy(set.set_writer.node_id, "m1");
    apply(&set, 1);
    coordinator_tick(&m1, &record, at(10));
    struct command old_renew;
    ck_assert_int_eq(drain(&m1, COMMAND_RENEW, &old_renew), 1);
    /* m1's daemon restarts (a new run draws a new nonce base) before that RENEW applies. */
    struct coordinator_options o = options("m1");
    o.nonce_base = 0x5eed000000000000ULL;
    coordinator_init(&m1, &o);
    struct command_health h = up_health();
    coordinator_local_health(&m1, &h, at(20));
    coordinator_tick(&m1, &record, at(30));
    struct command new_renew;
    ck_assert_int_eq(drain(&m1, COMMAND_RENEW, &new_renew), 1);
    ck_assert_uint_ne(new_renew.renew.nonce, old_renew.renew.nonce);
    apply(&old_renew, 40);
    struct host_target t;
    coordinator_target(&m1, &record, 40, &t);
    ck_assert(!t.writable); /* the old run's RENEW is not credited with this run's send time */
    apply(&new_renew, 50);
    coordinator_target(&m1, &record, 60, &t);
    ck_assert(t.writable);
    ck_assert_uint_eq(t.lease_until_ms, 1030);
}
END_TEST

static void maintenance(bool on, uint64_t now)
{
    struct command cmd;
    switchover_maintenance_command(on, "kernel upgrade on m2", 1000, "s", now, &cmd);
    apply(&cmd, now);
    ck_assert(record.maintenance.on == on);
}

/* s leads with its barrier applied; m1 writes epoch 1 under a lease it renewed at @now. */
static struct command leader_s_writer_m1(uint64_t now)
{
    coordinator_set_leader(&s, true, &record, at(0));
    coordinator_barrier_applied(&s, at(0));
    all_healthy(0);
    struct command set = {.type = COMMAND_SET_WRITER};
    set.set_writer.epoch = 1;
    strcpy(set.set_writer.node_id, "m1");
    ck_assert(coordinator_before_append(&s, &set, at(0)));
    apply(&set, 0);
    coordinator_tick(&m1, &record, at(now));
    struct command renew;
    ck_assert_int_eq(drain(&m1, COMMAND_RENEW, &renew), 1);
    ck_assert(coordinator_before_append(&s, &renew, at(now)));
    apply(&renew, now);
    return renew;
}

START_TEST(maintenance_keeps_leases_and_stops_automatic_failover)
{
    leader_s_writer_m1(10);
    maintenance(true, 20);
    /* The writer still renews and serves: fencing still protects. */
    int renewals = 0;
    for (uint64_t now = 100; now <= 1000; now += 50) {
        coordinator_tick(&m1, &record, at(now));
        struct command renew;
        if (drain(&m1, COMMAND_RENEW, &renew) == 1) {
            renewals++;
            ck_assert(coordinator_before_append(&s, &renew, at(now)));
            apply(&renew, now);
        }
    }
    ck_assert_int_ge(renewals, 3);
    struct host_target t;
    coordinator_target(&m1, &record, 1000, &t);
    ck_assert(t.writable);
    coordinator_tick(&s, &record, at(1000));
    ck_assert_int_eq(drain(&s, COMMAND_SET_WRITER, NULL), 0);
    ck_assert_ptr_nonnull(strstr(s.last_decision.reason, "maintenance on (kernel upgrade on m2"));

    /* m1's mysqld dies: it fences and releases, and the leader says why it does nothing. */
    struct command_health down = up_health();
    down.mysql = MYSQL_VIEW_DOWN;
    coordinator_local_health(&m1, &down, at(1010));
    struct command cmd;
    while (coordinator_take_proposal(&m1, &cmd)) {
        apply(&cmd, 1010);
    }
    coordinator_tick(&m1, &record, at(1020));
    ck_assert_int_eq(drain(&m1, COMMAND_RELEASE, &cmd), 1);
    apply(&cmd, 1020);
    ck_assert(record.writer.released);
    for (uint64_t now = 1100; now < 5000; now += 100) {
        struct command_health h = up_health();
        coordinator_local_health(&m2, &h, at(now));
        coordinator_local_health(&s, &h, at(now));
        coordinator_tick(&m2, &record, at(now)); /* periodic health reports */
        while (coordinator_take_proposal(&m2, &cmd)) {
            apply(&cmd, now);
        }
        while (coordinator_take_proposal(&s, &cmd)) {
            apply(&cmd, now);
        }
        coordinator_tick(&s, &record, at(now));
        ck_assert_int_eq(drain(&s, COMMAND_SET_WRITER, NULL), 0);
    }
    ck_assert_int_eq(s.last_decision.kind, DECISION_WAIT);
    ck_assert_ptr_nonnull(strstr(s.last_decision.reason, "automatic failover paused"));
    ck_assert_msg(strstr(s.last_decision.reason, "otherwise: writer m1 released") != NULL, "%s",
                  s.last_decision.reason);
    ck_assert_str_eq(s.last_decision.node, "");

    /* Maintenance off: the failover the rules wanted happens at once. */
    maintenance(false, 5000);
    coordinator_tick(&s, &record, at(5010));
    struct command set;
    ck_assert_int_eq(drain(&s, COMMAND_SET_WRITER, &set), 1);
    ck_assert_str_eq(set.set_writer.node_id, "m2");
    ck_assert_ptr_null(strstr(s.last_decision.reason, "maintenance"));
}
END_TEST

START_TEST(maintenance_stops_the_failover_of_a_silent_writer)
{
    leader_s_writer_m1(500);
    maintenance(true, 600);
    uint64_t wait = lease_leader_wait_ms(&m1.opts.lease);
    struct command_health h = up_health();
    for (uint64_t now = 600; now < 4000 + wait; now += 100) {
        coordinator_local_health(&m2, &h, at(now));
        coordinator_tick(&m2, &record, at(now)); /* periodic health reports */
        struct command hc;
        while (coordinator_take_proposal(&m2, &hc)) {
            apply(&hc, now);
        }
        coordinator_tick(&s, &record, at(now));
        ck_assert_int_eq(drain(&s, COMMAND_SET_WRITER, NULL), 0);
    }
    ck_assert_msg(strstr(s.last_decision.reason, "automatic failover paused") != NULL &&
                      strstr(s.last_decision.reason, "otherwise: writer m1's lease") != NULL,
                  "%s", s.last_decision.reason);
    /* A switchover is refused while it is on. */
    struct switchover_node nodes[COORDINATOR_MAX_NODES];
    unsigned n = coordinator_switchover_nodes(&s, &record, 4000 + wait, nodes);
    ck_assert_uint_eq(n, 3);
    ck_assert(nodes[1].fresh);
    ck_assert(!nodes[0].fresh); /* m1 went silent */
    struct switchover_view v = {.record = &record, .nodes = nodes, .n_nodes = n};
    struct switchover_request req = {.kind = SWITCHOVER_KIND_PLANNED, .to = "m2"};
    struct switchover_check_result r;
    ck_assert_int_eq(switchover_check(&v, &req, &r), SWITCHOVER_REFUSED);
    ck_assert_ptr_nonnull(strstr(r.reason, "maintenance is on"));
}
END_TEST

/* A new leader's backlog: reports applied just before its barrier were maybe sent long ago.
 * They count for one report interval more, then only newer ones do. */
START_TEST(a_new_leader_counts_reports_from_before_its_barrier_briefly)
{
    coordinator_set_leader(&s, true, &record, at(4900));
    all_healthy(4990);
    coordinator_barrier_applied(&s, at(5000));
    coordinator_tick(&s, &record, at(6001)); /* 1011 ms after they applied, 3000 ms stale */
    ck_assert_int_eq(drain(&s, COMMAND_SET_WRITER, NULL), 0);
    struct command h = {.type = COMMAND_HEALTH};
    h.health = up_health();
    strcpy(h.health.node_id, "m1");
    apply(&h, 6002);
    coordinator_tick(&s, &record, at(6003));
    struct command set;
    ck_assert_int_eq(drain(&s, COMMAND_SET_WRITER, &set), 1);
    ck_assert_str_eq(set.set_writer.node_id, "m1");
}
END_TEST

START_TEST(a_new_leader_trusts_a_committed_release)
{
    leader_s_writer_m1(10);
    struct command rel = {.type = COMMAND_RELEASE};
    rel.release.epoch = 1;
    strcpy(rel.release.node_id, "m1");
    strcpy(rel.release.reason, "m1's mysqld is down");
    apply(&rel, 20);
    /* m2 takes over: the writer fenced before it released, so no lease wait is needed. */
    coordinator_set_leader(&s, false, &record, at(30));
    coordinator_set_leader(&m2, true, &record, at(40));
    coordinator_tick(&m2, &record, at(45));
    ck_assert_int_eq(drain(&m2, COMMAND_SET_WRITER, NULL), 0); /* not before its barrier */
    coordinator_barrier_applied(&m2, at(50));
    coordinator_tick(&m2, &record, at(60));
    struct command set;
    ck_assert_int_eq(drain(&m2, COMMAND_SET_WRITER, &set), 1);
    ck_assert_str_eq(set.set_writer.node_id, "m2");
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("coordinator");
    TCase *tc = tcase_create("coordinator");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, the_leader_names_the_first_writer_once);
    tcase_add_test(tc, the_writer_opens_only_inside_its_lease);
    tcase_add_test(tc, the_writer_renews_every_quarter_lease);
    tcase_add_test(tc, a_writer_whose_mysqld_is_down_releases_and_fences);
    tcase_add_test(tc, the_leader_waits_out_the_lease_of_a_silent_writer);
    tcase_add_test(tc, a_renew_sent_before_a_restart_extends_nothing);
    tcase_add_test(tc, maintenance_keeps_leases_and_stops_automatic_failover);
    tcase_add_test(tc, maintenance_stops_the_failover_of_a_silent_writer);
    tcase_add_test(tc, a_new_leader_trusts_a_committed_release);
    tcase_add_test(tc, a_new_leader_counts_reports_from_before_its_barrier_briefly);
    suite_add_tcase(suite, tc);
    SRunner *sr = srunner_create(suite);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
