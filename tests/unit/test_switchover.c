/*
 * Switchover, forced failover and maintenance (coord/switchover.h): the refusals as pure
 * checks, and the whole sequence driven through three coordinators (coord/coordinator.h) with
 * fake hosts, the way the daemon drives them: every step, timeouts, rollback, and a new leader
 * resuming at each step. After every step at most one host may be writable.
 */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord/coordinator.h"
#include "coord/switchover.h"

#define N 3
static const char *const ids[N] = {"m1", "m2", "s"};

/* ---- Pure checks ---- */

static struct record rec;
static struct command_health health[N];
static struct switchover_node sw_nodes[N];
static struct switchover_view view = {.record = &rec, .nodes = sw_nodes, .n_nodes = N};

static void apply_ok(const struct command *cmd)
{
    char err[256];
    ck_assert_msg(record_apply(&rec, cmd, err, sizeof err) == 0, "%s: %s",
                  command_type_name(cmd->type), err);
}

static struct command set_writer_cmd(uint64_t epoch, const char *node)
{
    struct command c;
    memset(&c, 0, sizeof c);
    c.type = COMMAND_SET_WRITER;
    c.set_writer.epoch = epoch;
    snprintf(c.set_writer.node_id, sizeof c.set_writer.node_id, "%s", node);
    return c;
}

static struct command opened_cmd(uint64_t epoch, const char *node)
{
    struct command c;
    memset(&c, 0, sizeof c);
    c.type = COMMAND_OPENED;
    c.opened.epoch = epoch;
    snprintf(c.opened.node_id, sizeof c.opened.node_id, "%s", node);
    c.opened.opened_wall_ms = 1;
    return c;
}

/* m1 writer of epoch 1, opened; every node fresh, up, the others replicating, 0 s behind. */
static void setup_pure(void)
{
    record_init(&rec);
    struct command c = set_writer_cmd(1, "m1");
    apply_ok(&c);
    c = opened_cmd(1, "m1");
    apply_ok(&c);
    for (unsigned i = 0; i < N; i++) {
        memset(&health[i], 0, sizeof health[i]);
        snprintf(health[i].node_id, sizeof health[i].node_id, "%s", ids[i]);
        health[i].mysql = MYSQL_VIEW_UP;
        health[i].replicating = health[i].io_running = health[i].sql_running = i != 0;
        health[i].read_only = i != 0;
        strcpy(health[i].executed, "0-1-100");
        memset(&sw_nodes[i], 0, sizeof sw_nodes[i]);
        sw_nodes[i].id = ids[i];
        sw_nodes[i].candidate = i < 2;
        sw_nodes[i].fresh = true;
        sw_nodes[i].health = &health[i];
    }
}

static int check(uint8_t kind, const char *to, uint64_t timeout_ms, const char *accept,
                 struct switchover_check_result *out)
{
    struct switchover_request req = {
        .kind = kind, .to = to, .timeout_ms = timeout_ms, .accept_missing = accept};
    return switchover_check(&view, &req, out);
}

static void expect_refusal(int status, const char *to, const char *words)
{
    struct switchover_check_result r;
    ck_assert_int_eq(check(SWITCHOVER_KIND_PLANNED, to, 0, NULL, &r), status);
    ck_assert_int_eq(r.status, status);
    ck_assert_msg(strstr(r.reason, words) != NULL, "expected '%s' in '%s'", words, r.reason);
}

START_TEST(a_healthy_target_passes_and_the_best_is_picked)
{
    struct switchover_check_result r;
    ck_assert_int_eq(check(SWITCHOVER_KIND_PLANNED, "m2", 0, NULL, &r), SWITCHOVER_OK);
    ck_assert_str_eq(r.from, "m1");
    ck_assert_str_eq(r.to, "m2");
    ck_assert_uint_eq(r.timeout_ms, SWITCHOVER_DEFAULT_TIMEOUT_MS);
    ck_assert_int_eq(check(SWITCHOVER_KIND_PLANNED, NULL, 0, NULL, &r), SWITCHOVER_OK);
    ck_assert_str_eq(r.to, "m2");
    ck_assert_ptr_nonnull(strstr(r.reason, "m2 picked"));
    ck_assert_ptr_nonnull(strstr(r.reason, "lag 0 s"));
    struct command begin;
    switchover_begin_command(&rec, &(struct switchover_request){.kind = SWITCHOVER_KIND_PLANNED},
                             &r, 42, 1000, "s", 123, &begin);
    ck_assert_uint_eq(begin.type, COMMAND_SWITCHOVER_BEGIN);
    ck_assert_uint_eq(begin.switchover_begin.epoch, 1);
    ck_assert_str_eq(begin.switchover_begin.from, "m1");
    ck_assert_str_eq(begin.switchover_begin.to, "m2");
    ck_assert_uint_eq(begin.switchover_begin.uid, 1000);
    apply_ok(&begin);
    ck_assert_uint_eq(rec.switchover.step, SWITCHOVER_STEP_BEGUN);
    /* A second request while it runs. */
    expect_refusal(SWITCHOVER_REFUSED, "m2", "in progress");
}
END_TEST

START_TEST(bad_requests_are_usage_errors)
{
    expect_refusal(SWITCHOVER_USAGE, "m9", "unknown node 'm9'");
    expect_refusal(SWITCHOVER_USAGE, "s", "not a candidate");
    expect_refusal(SWITCHOVER_USAGE, "m1", "the writer already");
    struct switchover_check_result r;
    ck_assert_int_eq(check(SWITCHOVER_KIND_PLANNED, "m2", 10, NULL, &r), SWITCHOVER_USAGE);
    ck_assert_ptr_nonnull(strstr(r.reason, "out of range"));
    ck_assert_int_eq(check(SWITCHOVER_KIND_FORCED, NULL, 0, NULL, &r), SWITCHOVER_USAGE);
    ck_assert_ptr_nonnull(strstr(r.reason, "--to"));
    ck_assert_int_eq(check(SWITCHOVER_KIND_FORCED, "m1", 0, NULL, &r), SWITCHOVER_USAGE);
}
END_TEST

START_TEST(an_unfit_target_or_cluster_is_refused)
{
    health[1].mysql = MYSQL_VIEW_DOWN;
    expect_refusal(SWITCHOVER_REFUSED, "m2", "target m2 has its mysqld down");
    expect_refusal(SWITCHOVER_REFUSED, NULL, "no candidate can take over from m1");
    setup_pure();
    sw_nodes[1].fresh = false;
    expect_refusal(SWITCHOVER_REFUSED, "m2", "no fresh health report");
    setup_pure();
    health[1].sql_running = 0;
    expect_refusal(SWITCHOVER_REFUSED, "m2", "SQL thread stopped");
    setup_pure();
    health[1].lag_s = 30;
    expect_refusal(SWITCHOVER_REFUSED, "m2", "30 s behind, beyond the timeout of 10 s");
    setup_pure();
    sw_nodes[1].errant = "0-2-7";
    expect_refusal(SWITCHOVER_REFUSED, "m2", "errant transactions 0-2-7");
    setup_pure();
    sw_nodes[1].verdict_known = true;
    sw_nodes[1].promotable = false;
    sw_nodes[1].why = "rejoining: 12 transactions behind";
    expect_refusal(SWITCHOVER_REFUSED, "m2", "rejoining");
    setup_pure();
    health[0].mysql = MYSQL_VIEW_TIMEOUT;
    expect_refusal(SWITCHOVER_REFUSED, "m2", "writer m1 is not healthy");
    setup_pure();
    struct command m;
    switchover_maintenance_command(true, "kernel upgrade", 0, "s", 1, &m);
    apply_ok(&m);
    expect_refusal(SWITCHOVER_REFUSED, "m2", "maintenance is on (kernel upgrade");
    setup_pure();
    struct command c = set_writer_cmd(2, "m1"); /* not opened yet */
    apply_ok(&c);
    expect_refusal(SWITCHOVER_REFUSED, "m2", "has not opened epoch 2");
    c = set_writer_cmd(3, "");
    apply_ok(&c);
    expect_refusal(SWITCHOVER_REFUSED, "m2", "no writer holds epoch 3");
}
END_TEST

START_TEST(a_forced_failover_asks_then_takes_the_confirmed_loss)
{
    health[1].lag_s = 3000; /* refused for a switchover, not for a forced failover */
    sw_nodes[1].missing = "0-1-101-105";
    struct command m;
    switchover_maintenance_command(true, "", 0, "s", 1, &m);
    apply_ok(&m); /* maintenance does not stop the operator's override */
    struct switchover_check_result r;
    ck_assert_int_eq(check(SWITCHOVER_KIND_FORCED, "m2", 0, NULL, &r), SWITCHOVER_OK);
    ck_assert(r.confirm);
    ck_assert_str_eq(r.missing, "0-1-101-105");
    ck_assert_ptr_nonnull(strstr(r.reason, "confirm"));
    ck_assert_int_eq(check(SWITCHOVER_KIND_FORCED, "m2", 0, "0-1-101-103", &r), SWITCHOVER_REFUSED);
    ck_assert_ptr_nonnull(strstr(r.reason, "changed"));
    ck_assert_int_eq(check(SWITCHOVER_KIND_FORCED, "m2", 0, "0-1-101-105", &r), SWITCHOVER_OK);
    ck_assert(!r.confirm);
    struct switchover_request req = {.kind = SWITCHOVER_KIND_FORCED, .to = "m2"};
    struct command f;
    switchover_begin_command(&rec, &req, &r, 5, 0, "m2", 9, &f);
    ck_assert_uint_eq(f.type, COMMAND_FAILOVER_FORCE);
    ck_assert_str_eq(f.failover_force.missing, "0-1-101-105");
    apply_ok(&f);
    health[1].mysql = MYSQL_VIEW_DOWN;
    setup_pure();
    health[1].mysql = MYSQL_VIEW_DOWN;
    ck_assert_int_eq(check(SWITCHOVER_KIND_FORCED, "m2", 0, "", &r), SWITCHOVER_REFUSED);
}
END_TEST

static struct switchover_action leader_step(bool lease_over, uint64_t elapsed_ms)
{
    struct switchover_leader_input in = {.view = &view,
                                         .lease_over = lease_over,
                                         .lease_remaining_ms = lease_over ? 0 : 700,
                                         .elapsed_ms = elapsed_ms,
                                         .wall_ms = 5};
    struct switchover_action a;
    switchover_leader_step(&in, &a);
    return a;
}

static struct command begin_cmd(uint64_t id, const char *to)
{
    struct switchover_check_result r;
    ck_assert_int_eq(check(SWITCHOVER_KIND_PLANNED, to, 2000, NULL, &r), SWITCHOVER_OK);
    struct switchover_request req = {.kind = SWITCHOVER_KIND_PLANNED, .to = to};
    struct command c;
    switchover_begin_command(&rec, &req, &r, id, 0, "s", 1, &c);
    return c;
}

START_TEST(the_leader_step_by_step)
{
    struct switchover_action a = leader_step(false, 0);
    ck_assert_int_eq(a.kind, SWITCHOVER_ACT_NONE);
    struct command c = begin_cmd(1, "m2");
    apply_ok(&c);
    a = leader_step(false, 100);
    ck_assert_int_eq(a.kind, SWITCHOVER_ACT_WAIT);
    ck_assert_ptr_nonnull(strstr(a.reason, "waiting for m1 to fence"));
    ck_assert(!switchover_holds_fenced(&rec, "m2", NULL, 0));
    char why[CODEC_REASON_SIZE];
    ck_assert(switchover_holds_fenced(&rec, "m1", why, sizeof why));
    ck_assert_ptr_nonnull(strstr(why, "handover to m2"));
    /* The old writer reports only from a probe after the fence that says read_only ON. */
    health[0].read_only = 0;
    struct switchover_local local = {.node = "m1", .health = &health[0], .wall_ms = 7};
    ck_assert(!switchover_node_step(&rec, &local, &c));
    local.probed_since_fence = true;
    ck_assert(!switchover_node_step(&rec, &local, &c));
    health[0].read_only = 1;
    strcpy(health[0].executed, "0-1-120");
    /* A planned handover keeps the VIP on m1 while it fences: FENCED (after which m2 may be
     * named and add the VIP) waits until the host says it is gone. */
    ck_assert(switchover_keeps_vip(&rec, "m1"));
    ck_assert(!switchover_keeps_vip(&rec, "m2"));
    local.vip_held = true;
    ck_assert(!switchover_node_step(&rec, &local, &c));
    local.vip_held = false;
    ck_assert(switchover_node_step(&rec, &local, &c));
    ck_assert_uint_eq(c.type, COMMAND_SWITCHOVER_FENCED);
    ck_assert_str_eq(c.switchover_fenced.executed, "0-1-120");
    apply_ok(&c);
    ck_assert(switchover_holds_fenced(&rec, "m1", NULL, 0));
    ck_assert(!switchover_keeps_vip(&rec, "m1")); /* released: nothing left to keep it for */
    ck_assert_str_eq(switchover_catch_up_to(&rec, "m2"), "0-1-120");
    ck_assert_ptr_null(switchover_catch_up_to(&rec, "s"));
    a = leader_step(true, 500);
    ck_assert_int_eq(a.kind, SWITCHOVER_ACT_WAIT);
    ck_assert_ptr_nonnull(strstr(a.reason, "waiting for m2 to apply m1's final position 0-1-120"));
    /* The target reports when its executed set holds the final position. */
    struct switchover_local target = {.node = "m2", .health = &health[1], .wall_ms = 8};
    ck_assert(!switchover_node_step(&rec, &target, &c));
    strcpy(health[1].executed, "0-1-120");
    ck_assert(switchover_node_step(&rec, &target, &c));
    ck_assert_uint_eq(c.type, COMMAND_SWITCHOVER_CAUGHT_UP);
    apply_ok(&c);
    a = leader_step(true, 50000); /* caught up: switch, late or not */
    ck_assert_int_eq(a.kind, SWITCHOVER_ACT_PROPOSE);
    ck_assert_uint_eq(a.cmd.type, COMMAND_SET_WRITER);
    ck_assert_uint_eq(a.cmd.set_writer.epoch, 2);
    ck_assert_str_eq(a.cmd.set_writer.node_id, "m2");
    ck_assert_ptr_nonnull(strstr(a.cmd.set_writer.reason, "switchover 1"));
    apply_ok(&a.cmd);
    ck_assert(!switchover_holds_fenced(&rec, "m1", NULL, 0));
    a = leader_step(false, 600);
    ck_assert_int_eq(a.kind, SWITCHOVER_ACT_DEFER); /* the automatic rules watch the new writer */
    c = opened_cmd(2, "m2");
    apply_ok(&c);
    a = leader_step(false, 700);
    ck_assert_int_eq(a.kind, SWITCHOVER_ACT_PROPOSE);
    ck_assert_uint_eq(a.cmd.type, COMMAND_SWITCHOVER_DONE);
    apply_ok(&a.cmd);
    ck_assert_uint_eq(rec.switchover.id, 0);
    ck_assert_uint_eq(rec.events[0].outcome, RECORD_OUTCOME_DONE);
}
END_TEST

START_TEST(the_leader_aborts_and_rolls_back)
{
    struct command c = begin_cmd(1, "m2");
    apply_ok(&c);
    /* Before the fence: timeout, or the target failing, aborts; m1 keeps its epoch. */
    struct switchover_action a = leader_step(false, 2000);
    ck_assert_int_eq(a.kind, SWITCHOVER_ACT_PROPOSE);
    ck_assert_uint_eq(a.cmd.type, COMMAND_SWITCHOVER_ABORT);
    ck_assert_ptr_nonnull(strstr(a.cmd.switchover_abort.reason, "m1 did not fence within"));
    health[1].mysql = MYSQL_VIEW_DOWN;
    a = leader_step(false, 10);
    ck_assert_ptr_nonnull(strstr(a.reason, "aborted: target m2 has its mysqld down"));
    health[1].mysql = MYSQL_VIEW_UP;
    a = leader_step(true, 10); /* m1's lease ran out while it should be renewing */
    ck_assert_ptr_nonnull(strstr(a.reason, "let its lease run out"));
    /* After the fence: the target lagging past the timeout rolls back. */
    struct switchover_local local = {
        .node = "m1", .health = &health[0], .probed_since_fence = true, .wall_ms = 7};
    health[0].read_only = 1;
    strcpy(health[0].executed, "0-1-120");
    ck_assert(switchover_node_step(&rec, &local, &c));
    apply_ok(&c);
    a = leader_step(true, 2000);
    ck_assert_uint_eq(a.cmd.type, COMMAND_SWITCHOVER_ABORT);
    ck_assert_ptr_nonnull(strstr(a.reason, "rolling back: m2 did not apply m1's final position"));
    apply_ok(&a.cmd);
    ck_assert_uint_eq(rec.switchover.step, SWITCHOVER_STEP_ROLLING_BACK);
    ck_assert(switchover_holds_fenced(&rec, "m1", NULL, 0));
    a = leader_step(false, 2100);
    ck_assert_int_eq(a.kind, SWITCHOVER_ACT_WAIT); /* the barrier is not applied yet */
    a = leader_step(true, 2100);
    ck_assert_uint_eq(a.cmd.type, COMMAND_SET_WRITER);
    ck_assert_str_eq(a.cmd.set_writer.node_id, "m1");
    ck_assert_ptr_nonnull(strstr(a.reason, "m1 reopens under a fresh lease"));
    /* If m1 is not healthy any more, the automatic rules choose. */
    health[0].mysql = MYSQL_VIEW_DOWN;
    a = leader_step(true, 2100);
    ck_assert_int_eq(a.kind, SWITCHOVER_ACT_DEFER);
    health[0].mysql = MYSQL_VIEW_UP;
    apply_ok(
        &(struct command){.type = COMMAND_SET_WRITER, .set_writer = {.epoch = 2, .node_id = "m1"}});
    ck_assert_uint_eq(rec.switchover.id, 0);
    ck_assert_uint_eq(rec.events[0].outcome, RECORD_OUTCOME_ROLLED_BACK);
}
END_TEST

START_TEST(a_forced_failover_waits_for_the_old_lease_only)
{
    health[1].lag_s = 3000;
    struct switchover_check_result r;
    ck_assert_int_eq(check(SWITCHOVER_KIND_FORCED, "m2", 0, "", &r), SWITCHOVER_OK);
    struct switchover_request req = {.kind = SWITCHOVER_KIND_FORCED, .to = "m2"};
    struct command f;
    switchover_begin_command(&rec, &req, &r, 3, 0, "s", 1, &f);
    apply_ok(&f);
    ck_assert(switchover_holds_fenced(&rec, "m1", NULL, 0)); /* a live old writer fences */
    struct switchover_action a = leader_step(false, 100);
    ck_assert_int_eq(a.kind, SWITCHOVER_ACT_WAIT);
    ck_assert_ptr_nonnull(strstr(a.reason, "its lease to run out (700 ms)"));
    a = leader_step(true, 1300);
    ck_assert_uint_eq(a.cmd.type, COMMAND_SET_WRITER);
    ck_assert_str_eq(a.cmd.set_writer.node_id, "m2");
    ck_assert_ptr_nonnull(strstr(a.reason, "forced failover 3"));
    ck_assert_ptr_null(switchover_catch_up_to(&rec, "m2"));
}
END_TEST

START_TEST(what_the_control_socket_shows)
{
    json_t *j = switchover_progress_json(&rec);
    ck_assert(json_is_null(j));
    json_decref(j);
    j = switchover_state_json(&rec, 1);
    ck_assert_str_eq(json_string_value(json_object_get(j, "state")), "unknown");
    json_decref(j);
    struct command c = begin_cmd(1, "m2");
    apply_ok(&c);
    j = switchover_state_json(&rec, 1);
    ck_assert_str_eq(json_string_value(json_object_get(j, "state")), "in_progress");
    ck_assert_str_eq(json_string_value(json_object_get(j, "step")), "begun");
    ck_assert_str_eq(json_string_value(json_object_get(j, "kind")), "planned");
    ck_assert_str_eq(json_string_value(json_object_get(j, "to")), "m2");
    ck_assert_int_eq(json_integer_value(json_object_get(j, "timeout_ms")), 2000);
    json_decref(j);
    struct command a;
    memset(&a, 0, sizeof a);
    a.type = COMMAND_SWITCHOVER_ABORT;
    a.switchover_abort.id = 1;
    strcpy(a.switchover_abort.reason, "operator changed their mind");
    apply_ok(&a);
    j = switchover_state_json(&rec, 1);
    ck_assert_str_eq(json_string_value(json_object_get(j, "state")), "aborted");
    ck_assert_str_eq(json_string_value(json_object_get(j, "reason")),
                     "operator changed their mind");
    ck_assert(json_is_null(json_object_get(j, "write_pause_ms")));
    json_decref(j);
    struct command m;
    switchover_maintenance_command(true, "upgrade", 1000, "s", 77, &m);
    apply_ok(&m);
    j = switchover_maintenance_json(&rec);
    ck_assert(json_is_true(json_object_get(j, "on")));
    ck_assert_int_eq(json_integer_value(json_object_get(j, "uid")), 1000);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "since_wall_ms")), 77);
    json_decref(j);
    j = switchover_events_json(&rec);
    ck_assert_uint_eq(json_array_size(j), 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(j, 1), "kind")),
                     "maintenance_on");
    json_decref(j);
}
END_TEST

/* ---- Three coordinators, fake hosts ---- */

struct fake_host {
    bool mysql_up;
    bool probing;    /* probes run and report */
    bool replicates; /* applies what the writer executed (non-writers) */
    bool writable;   /* the server: read_only off */
    uint64_t seq;    /* executed: 0-1-seq */
    /* The VIP as coord/host.c handles it: added when writable; in a planned handover kept for
     * the step in which the server fences, removed at the next; otherwise removed at once. */
    bool vip;
    bool handover_fenced; /* the handover's fence ran: the VIP goes */
    bool vip_stuck;       /* removing the VIP fails (a netlink error, say) */
};

static struct record record;
static struct coordinator coords[N];
static struct fake_host hosts[N];
static unsigned leader;
static uint64_t now_ms;
static int writable_overlaps;
static int vip_overlaps;        /* steps with two VIP holders */
static int fenced_with_vip;     /* FENCED applied while its node's host still held the VIP */
static uint64_t vip_kept_steps; /* steps in which a host kept the VIP while not writable */
static bool paused[N]; /* a stopped daemon: applies nothing, no ticks, no probes, no proposals */
static struct record frozen[N]; /* what a paused daemon last applied: its host follows that */

static void pause_daemon(unsigned i)
{
    paused[i] = true;
    frozen[i] = record;
}
static struct command log_entries[4096];
static unsigned n_log;

static struct coordinator_time at(uint64_t ms)
{
    return (struct coordinator_time){.boot_ms = ms, .wall_ms = 1700000000000ULL + ms};
}

static void apply_all(const struct command *cmd)
{
    char err[256];
    int status = record_apply(&record, cmd, err, sizeof err);
    if (status == 0 && cmd->type == COMMAND_SWITCHOVER_FENCED) {
        for (unsigned i = 0; i < N; i++) {
            if (strcmp(ids[i], cmd->switchover_fenced.node) == 0 && hosts[i].vip) {
                fenced_with_vip++;
            }
        }
    }
    if (n_log < sizeof log_entries / sizeof log_entries[0]) {
        log_entries[n_log++] = *cmd;
    }
    for (unsigned i = 0; i < N; i++) {
        if (!paused[i]) {
            coordinator_applied(&coords[i], &record, cmd, status, at(now_ms));
        }
    }
}

static void make_leader(unsigned j)
{
    for (unsigned i = 0; i < N; i++) {
        coordinator_set_leader(&coords[i], i == j, &record, at(now_ms));
    }
    leader = j;
    coordinator_barrier_applied(&coords[j], at(now_ms));
}

/* Probes: what each fake host's server looks like. */
static void probe(unsigned i)
{
    struct fake_host *h = &hosts[i];
    if (!h->probing) {
        return;
    }
    struct command_health hl;
    memset(&hl, 0, sizeof hl);
    hl.mysql = h->mysql_up ? MYSQL_VIEW_UP : MYSQL_VIEW_DOWN;
    hl.read_only = !h->writable;
    bool writer = strcmp(record.writer.node, ids[i]) == 0;
    hl.replicating = hl.io_running = hl.sql_running = !writer || !h->writable;
    hl.lag_s = 0;
    snprintf(hl.executed, sizeof hl.executed, "0-1-%llu", (unsigned long long)h->seq);
    coordinator_local_vip(&coords[i], h->vip);
    coordinator_local_health(&coords[i], &hl, at(now_ms));
}

static void follow_vip(struct fake_host *h, const struct host_target *t)
{
    if (t->writable || t->vip_keep_until_ms == 0) {
        h->handover_fenced = false;
    }
    if (h->writable) {
        h->vip = true;
    } else if (h->vip && t->vip_keep_until_ms > now_ms && h->mysql_up && !h->handover_fenced) {
        h->handover_fenced = true; /* the fence runs in this step, the VIP still here */
        vip_kept_steps++;
    } else if (!h->vip_stuck) {
        h->vip = false;
    }
}

/* One step of 10 ms: clients write through the writable server, replication copies, the
 * hosts follow their targets, probes report, coordinators tick, the leader appends. */
static void step(void)
{
    now_ms += 10;
    unsigned writers = 0;
    uint64_t top = 0;
    for (unsigned i = 0; i < N; i++) {
        struct host_target t;
        coordinator_target(&coords[i], paused[i] ? &frozen[i] : &record, now_ms, &t);
        hosts[i].writable = t.writable && hosts[i].mysql_up;
        follow_vip(&hosts[i], &t);
        if (hosts[i].writable) {
            writers++;
            hosts[i].seq++; /* a client write */
        }
        if (hosts[i].seq > top) {
            top = hosts[i].seq;
        }
    }
    if (writers > 1) {
        writable_overlaps++;
    }
    if (hosts[0].vip + hosts[1].vip + hosts[2].vip > 1) {
        vip_overlaps++;
    }
    for (unsigned i = 0; i < N; i++) {
        if (!hosts[i].writable && hosts[i].replicates && hosts[i].mysql_up) {
            hosts[i].seq = top;
        }
        if (!paused[i]) {
            probe(i);
            coordinator_tick(&coords[i], &record, at(now_ms));
        }
    }
    for (unsigned i = 0; i < N; i++) {
        struct command cmd;
        while (coordinator_take_proposal(&coords[i], &cmd)) {
            if (!paused[i] && coordinator_before_append(&coords[leader], &cmd, at(now_ms))) {
                apply_all(&cmd);
            }
        }
    }
}

static void run_until(bool (*done)(void), uint64_t limit_ms)
{
    uint64_t end = now_ms + limit_ms;
    while (!done() && now_ms < end) {
        step();
    }
    ck_assert_msg(done(), "not reached within %llu ms (step %s, writer %s, leader says: %s)",
                  (unsigned long long)limit_ms, record_switchover_step_name(record.switchover.step),
                  record.writer.node, coords[leader].last_decision.reason);
}

static bool writer_open(void)
{
    const struct record_epoch *e = record_find_epoch(&record, record.writer.epoch);
    return record.writer.node[0] != '\0' && e != NULL && e->opened_wall_ms != 0 &&
           hosts[0].writable + hosts[1].writable == 1;
}

static bool no_switchover(void)
{
    return record.switchover.id == 0 && writer_open();
}

static void setup_cluster(void)
{
    record_init(&record);
    n_log = 0;
    now_ms = 1000;
    writable_overlaps = 0;
    vip_overlaps = 0;
    fenced_with_vip = 0;
    vip_kept_steps = 0;
    for (unsigned i = 0; i < N; i++) {
        struct coordinator_options o;
        memset(&o, 0, sizeof o);
        snprintf(o.local_id, sizeof o.local_id, "%s", ids[i]);
        for (unsigned j = 0; j < N; j++) {
            snprintf(o.nodes[j].id, sizeof o.nodes[j].id, "%s", ids[j]);
            o.nodes[j].candidate = j < 2;
        }
        o.n_nodes = N;
        o.lease = (struct lease_params){
            .lease_ms = 1000, .drift = 0.05, .margin_ms = 100, .fence_ms = 200};
        o.report_interval_ms = 200;
        o.health_stale_ms = 1000;
        o.nonce_base = (uint64_t)(i + 1) << 40;
        coordinator_init(&coords[i], &o);
        hosts[i] =
            (struct fake_host){.mysql_up = true, .probing = true, .replicates = true, .seq = 100};
        paused[i] = false;
    }
    make_leader(2);
    run_until(writer_open, 5000);
    ck_assert_str_eq(record.writer.node, "m1");
}

/* The operator asks m2's daemon (or @via's) for a switchover to @to. */
static uint64_t request(unsigned via, uint8_t kind, const char *to, uint64_t timeout_ms)
{
    struct switchover_node nodes[COORDINATOR_MAX_NODES];
    unsigned n = coordinator_switchover_nodes(&coords[via], &record, now_ms, nodes);
    struct switchover_view v = {.record = &record, .nodes = nodes, .n_nodes = n};
    struct switchover_request req = {
        .kind = kind, .to = to, .timeout_ms = timeout_ms, .accept_missing = ""};
    struct switchover_check_result r;
    ck_assert_msg(switchover_check(&v, &req, &r) == SWITCHOVER_OK, "%s", r.reason);
    static uint64_t next_id = 1000;
    struct command cmd;
    switchover_begin_command(&record, &req, &r, ++next_id, 1000, ids[via], at(now_ms).wall_ms,
                             &cmd);
    ck_assert(coordinator_before_append(&coords[leader], &cmd, at(now_ms)));
    apply_all(&cmd);
    ck_assert_uint_eq(record.switchover.id, next_id);
    return next_id;
}

static const struct record_event *last_event(void)
{
    ck_assert_uint_gt(record.n_events, 0);
    return &record.events[record.n_events - 1];
}

/* m2 stops applying while clients go on writing on m1: it lags. */
static void m2_lags(void)
{
    hosts[1].replicates = false;
    for (int i = 0; i < 10; i++) {
        step();
    }
}

START_TEST(a_switchover_there_and_back)
{
    for (int round = 0; round < 4; round++) {
        char from[CODEC_ID_SIZE];
        snprintf(from, sizeof from, "%s", record.writer.node);
        const char *to = strcmp(from, "m1") == 0 ? "m2" : "m1";
        unsigned from_i = strcmp(from, "m1") == 0 ? 0 : 1;
        uint64_t epoch = record.writer.epoch;
        uint64_t id = request(1, SWITCHOVER_KIND_PLANNED, to, 5000);
        /* From the BEGIN on, the old writer is fenced. */
        struct host_target t;
        coordinator_target(&coords[from_i], &record, now_ms, &t);
        ck_assert(!t.writable);
        ck_assert_ptr_nonnull(strstr(t.reason, "fenced for the handover"));
        run_until(no_switchover, 3000);
        ck_assert_str_eq(record.writer.node, to);
        ck_assert_uint_eq(record.writer.epoch, epoch + 1);
        const struct record_event *e = last_event();
        ck_assert_uint_eq(e->id, id);
        ck_assert_uint_eq(e->outcome, RECORD_OUTCOME_DONE);
        ck_assert_str_eq(e->from, from);
        ck_assert_ptr_nonnull(strstr(record_find_epoch(&record, epoch + 1)->reason, "switchover"));
        json_t *j = switchover_state_json(&record, id);
        ck_assert_str_eq(json_string_value(json_object_get(j, "state")), "done");
        ck_assert(json_is_integer(json_object_get(j, "write_pause_ms")));
        json_decref(j);
        /* Nothing the old writer executed is missing on the new one. */
        ck_assert_uint_ge(hosts[1 - from_i].seq, strtoull(strrchr(e->gtid, '-') + 1, NULL, 10));
        for (int i = 0; i < 50; i++) {
            step();
        }
    }
    ck_assert_int_eq(writable_overlaps, 0);
    ck_assert_int_eq(vip_overlaps, 0);
    ck_assert_int_eq(fenced_with_vip, 0);
    ck_assert_uint_eq(vip_kept_steps, 4); /* each old writer fenced with its VIP kept */
}
END_TEST

/* The old writer fences with the VIP still up (clients meet the fenced server, not an address
 * gone from under their connections), removes it after, and only then says FENCED; it never
 * keeps the VIP past its lease. */
START_TEST(the_old_writer_fences_before_its_vip_goes)
{
    request(2, SWITCHOVER_KIND_PLANNED, "m2", 5000);
    struct host_target t;
    coordinator_target(&coords[0], &record, now_ms, &t);
    ck_assert(!t.writable);
    ck_assert_uint_gt(t.vip_keep_until_ms, now_ms);
    ck_assert_uint_lt(t.vip_keep_until_ms, coords[0].lease_writer.until_ms);
    coordinator_target(&coords[0], &record, coords[0].lease_writer.until_ms, &t);
    ck_assert_uint_eq(t.vip_keep_until_ms, 0); /* a lease that ran out: the VIP goes at once */
    coordinator_target(&coords[1], &record, now_ms, &t);
    ck_assert_uint_eq(t.vip_keep_until_ms, 0);
    step(); /* m1 fences; its VIP stays meanwhile, so no FENCED yet */
    ck_assert(!hosts[0].writable);
    ck_assert(hosts[0].vip);
    ck_assert_uint_eq(record.switchover.step, SWITCHOVER_STEP_BEGUN);
    step(); /* the VIP goes, and the probe after it yields FENCED */
    ck_assert(!hosts[0].vip);
    ck_assert_uint_ne(record.switchover.step, SWITCHOVER_STEP_BEGUN);
    coordinator_target(&coords[0], &record, now_ms, &t);
    ck_assert_uint_eq(t.vip_keep_until_ms, 0);
    run_until(no_switchover, 3000);
    ck_assert(hosts[1].vip && !hosts[0].vip);
    ck_assert_uint_eq(last_event()->outcome, RECORD_OUTCOME_DONE);
    ck_assert_int_eq(fenced_with_vip, 0);
    ck_assert_int_eq(vip_overlaps, 0);
}
END_TEST

/* A host that cannot remove the VIP never reports FENCED: the switchover times out and the
 * old writer keeps its epoch (the target never adds the VIP beside it). */
START_TEST(an_old_writer_that_keeps_its_vip_never_reports_fenced)
{
    hosts[0].vip_stuck = true;
    uint64_t id = request(2, SWITCHOVER_KIND_PLANNED, "m2", 1000);
    run_until(no_switchover, 3000);
    const struct record_event *e = last_event();
    ck_assert_uint_eq(e->id, id);
    ck_assert_uint_eq(e->outcome, RECORD_OUTCOME_ABORTED);
    ck_assert_ptr_nonnull(strstr(e->reason, "did not fence"));
    ck_assert_str_eq(record.writer.node, "m1");
    ck_assert_uint_eq(record.writer.epoch, 1);
    ck_assert_int_eq(fenced_with_vip, 0);
    ck_assert_int_eq(vip_overlaps, 0);
    ck_assert_int_eq(writable_overlaps, 0);
}
END_TEST

/* The steps of a switchover, as the test names them. */
static bool at_begun(void)
{
    return record.switchover.step == SWITCHOVER_STEP_BEGUN;
}

static bool at_fenced(void)
{
    return record.switchover.step == SWITCHOVER_STEP_FENCED;
}

static bool at_caught_up(void)
{
    return record.switchover.step == SWITCHOVER_STEP_CAUGHT_UP;
}

static bool at_switched(void)
{
    return record.switchover.step == SWITCHOVER_STEP_SWITCHED;
}

static bool at_rolling_back(void)
{
    return record.switchover.step == SWITCHOVER_STEP_ROLLING_BACK;
}

START_TEST(a_target_that_does_not_catch_up_rolls_back)
{
    m2_lags();
    uint64_t id = request(2, SWITCHOVER_KIND_PLANNED, "m2", 1000);
    run_until(at_fenced, 500);
    run_until(no_switchover, 4000);
    const struct record_event *e = last_event();
    ck_assert_uint_eq(e->id, id);
    ck_assert_uint_eq(e->outcome, RECORD_OUTCOME_ROLLED_BACK);
    ck_assert_ptr_nonnull(strstr(e->reason, "did not apply"));
    ck_assert_str_eq(record.writer.node, "m1"); /* back, under a new epoch */
    ck_assert_uint_eq(record.writer.epoch, 2);
    ck_assert(hosts[0].writable);
    ck_assert_int_eq(writable_overlaps, 0);
}
END_TEST

START_TEST(an_old_writer_that_does_not_fence_keeps_its_epoch)
{
    hosts[0].probing = false; /* m1's probes hang: it never sees itself fenced */
    uint64_t id = request(2, SWITCHOVER_KIND_PLANNED, "m2", 1000);
    uint64_t begun = now_ms;
    run_until(no_switchover, 3000);
    ck_assert_uint_ge(now_ms - begun, 1000);
    const struct record_event *e = last_event();
    ck_assert_uint_eq(e->id, id);
    ck_assert_uint_eq(e->outcome, RECORD_OUTCOME_ABORTED);
    ck_assert_ptr_nonnull(strstr(e->reason, "did not fence"));
    ck_assert_str_eq(record.writer.node, "m1");
    ck_assert_uint_eq(record.writer.epoch, 1); /* the same epoch: it renewed all along */
    ck_assert_int_eq(writable_overlaps, 0);
}
END_TEST

START_TEST(a_target_that_fails_midway_rolls_back)
{
    request(2, SWITCHOVER_KIND_PLANNED, "m2", 5000);
    hosts[1].replicates = false;
    run_until(at_fenced, 500);
    hosts[1].mysql_up = false; /* the target's mysqld dies while catching up */
    run_until(no_switchover, 3000);
    ck_assert_uint_eq(last_event()->outcome, RECORD_OUTCOME_ROLLED_BACK);
    ck_assert_ptr_nonnull(strstr(last_event()->reason, "target m2 has its mysqld down"));
    ck_assert_str_eq(record.writer.node, "m1");
    ck_assert_int_eq(writable_overlaps, 0);
}
END_TEST

START_TEST(a_forced_failover_to_a_lagging_target)
{
    m2_lags();
    uint64_t id = request(2, SWITCHOVER_KIND_FORCED, "m2", 5000);
    struct host_target t;
    coordinator_target(&coords[0], &record, now_ms, &t);
    ck_assert_uint_eq(t.vip_keep_until_ms, 0); /* not a planned handover: the VIP goes at once */
    run_until(no_switchover, 3000);
    ck_assert_uint_eq(last_event()->id, id);
    ck_assert_uint_eq(last_event()->kind, RECORD_EVENT_FORCED_FAILOVER);
    ck_assert_uint_eq(last_event()->outcome, RECORD_OUTCOME_DONE);
    ck_assert_str_eq(record.writer.node, "m2");
    ck_assert_int_eq(writable_overlaps, 0);
}
END_TEST

START_TEST(a_forced_failover_from_a_dead_writer_waits_out_its_lease)
{
    /* m1's daemon stops (no ticks, no proposals): its last lease must run out first; until
     * then its host stays writable (the fencer fences it at the lease's fence time). */
    pause_daemon(0);
    uint64_t id = request(2, SWITCHOVER_KIND_FORCED, "m2", 5000);
    uint64_t begun = now_ms;
    while (record.writer.epoch == 1 && now_ms < begun + 5000) {
        step();
    }
    ck_assert_str_eq(record.writer.node, "m2");
    run_until(writer_open, 1000);
    ck_assert_int_eq(writable_overlaps, 0);
    ck_assert_uint_ge(now_ms - begun, 1000); /* at least the lease wait */
    run_until(no_switchover, 3000);
    ck_assert_uint_eq(last_event()->id, id);
}
END_TEST

/* m1's daemon stops just as the operator asks for a switchover: the correct leader waits for
 * its fence or its lease (here: the lease runs out, the switchover aborts, a failover follows);
 * a leader that switches at once is caught by the check of one writable host. */
static int switch_from_a_stopped_writer(enum coordinator_rule rule)
{
    coords[2].opts.rule = rule;
    pause_daemon(0);
    request(2, SWITCHOVER_KIND_PLANNED, "m2", 5000);
    for (int i = 0; i < 300; i++) {
        step();
    }
    ck_assert_str_eq(record.writer.node, "m2");
    return writable_overlaps;
}

START_TEST(a_leader_that_switches_before_the_fence_is_caught)
{
    ck_assert_int_gt(switch_from_a_stopped_writer(COORDINATOR_RULE_BROKEN_SWITCH_UNFENCED), 0);
}
END_TEST

START_TEST(a_stopped_old_writer_aborts_the_switchover_then_fails_over)
{
    ck_assert_int_eq(switch_from_a_stopped_writer(COORDINATOR_RULE_CORRECT), 0);
    ck_assert_uint_eq(last_event()->outcome, RECORD_OUTCOME_ABORTED);
    ck_assert_ptr_nonnull(strstr(last_event()->reason, "let its lease run out"));
}
END_TEST

/* A leader change at @stop: the old leader's pending proposals are lost, m2 (the target)
 * takes over and must finish the sequence from the record alone. */
static void leader_change_at(bool (*stop)(void), bool target_lags)
{
    if (target_lags) {
        m2_lags();
    }
    request(2, SWITCHOVER_KIND_PLANNED, "m2", 1500);
    run_until(stop, 3000);
    struct command drop;
    while (coordinator_take_proposal(&coords[2], &drop)) {
    }
    now_ms += 300; /* an election */
    make_leader(1);
    run_until(no_switchover, 6000);
    ck_assert_int_eq(writable_overlaps, 0);
}

START_TEST(a_new_leader_finishes_from_begun)
{
    leader_change_at(at_begun, false);
    ck_assert_uint_eq(last_event()->outcome, RECORD_OUTCOME_DONE);
    ck_assert_str_eq(record.writer.node, "m2");
}
END_TEST

START_TEST(a_new_leader_finishes_from_fenced)
{
    leader_change_at(at_fenced, false);
    ck_assert_uint_eq(last_event()->outcome, RECORD_OUTCOME_DONE);
    ck_assert_str_eq(record.writer.node, "m2");
}
END_TEST

START_TEST(a_new_leader_finishes_from_caught_up)
{
    /* Stop the old leader right after CAUGHT_UP applies, before it proposes the switch. */
    request(2, SWITCHOVER_KIND_PLANNED, "m2", 1500);
    run_until(at_caught_up, 3000);
    struct command drop;
    while (coordinator_take_proposal(&coords[2], &drop)) {
    }
    make_leader(1);
    run_until(no_switchover, 6000);
    ck_assert_uint_eq(last_event()->outcome, RECORD_OUTCOME_DONE);
    ck_assert_str_eq(record.writer.node, "m2");
    ck_assert_int_eq(writable_overlaps, 0);
}
END_TEST

START_TEST(a_new_leader_finishes_from_switched)
{
    leader_change_at(at_switched, false);
    ck_assert_uint_eq(last_event()->outcome, RECORD_OUTCOME_DONE);
    ck_assert_str_eq(record.writer.node, "m2");
}
END_TEST

START_TEST(a_new_leader_rolls_back_a_lagging_target)
{
    leader_change_at(at_fenced, true);
    ck_assert_uint_eq(last_event()->outcome, RECORD_OUTCOME_ROLLED_BACK);
    ck_assert_str_eq(record.writer.node, "m1");
}
END_TEST

START_TEST(a_new_leader_finishes_a_rollback)
{
    leader_change_at(at_rolling_back, true);
    ck_assert_uint_eq(last_event()->outcome, RECORD_OUTCOME_ROLLED_BACK);
    ck_assert_str_eq(record.writer.node, "m1");
    ck_assert_uint_eq(record.writer.epoch, 2);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("switchover");
    TCase *pure = tcase_create("pure");
    tcase_add_checked_fixture(pure, setup_pure, NULL);
    tcase_add_test(pure, a_healthy_target_passes_and_the_best_is_picked);
    tcase_add_test(pure, bad_requests_are_usage_errors);
    tcase_add_test(pure, an_unfit_target_or_cluster_is_refused);
    tcase_add_test(pure, a_forced_failover_asks_then_takes_the_confirmed_loss);
    tcase_add_test(pure, the_leader_step_by_step);
    tcase_add_test(pure, the_leader_aborts_and_rolls_back);
    tcase_add_test(pure, a_forced_failover_waits_for_the_old_lease_only);
    tcase_add_test(pure, what_the_control_socket_shows);
    suite_add_tcase(suite, pure);
    TCase *cluster = tcase_create("cluster");
    tcase_add_checked_fixture(cluster, setup_cluster, NULL);
    tcase_add_test(cluster, a_switchover_there_and_back);
    tcase_add_test(cluster, the_old_writer_fences_before_its_vip_goes);
    tcase_add_test(cluster, an_old_writer_that_keeps_its_vip_never_reports_fenced);
    tcase_add_test(cluster, a_target_that_does_not_catch_up_rolls_back);
    tcase_add_test(cluster, an_old_writer_that_does_not_fence_keeps_its_epoch);
    tcase_add_test(cluster, a_target_that_fails_midway_rolls_back);
    tcase_add_test(cluster, a_forced_failover_to_a_lagging_target);
    tcase_add_test(cluster, a_forced_failover_from_a_dead_writer_waits_out_its_lease);
    tcase_add_test(cluster, a_leader_that_switches_before_the_fence_is_caught);
    tcase_add_test(cluster, a_stopped_old_writer_aborts_the_switchover_then_fails_over);
    tcase_add_test(cluster, a_new_leader_finishes_from_begun);
    tcase_add_test(cluster, a_new_leader_finishes_from_fenced);
    tcase_add_test(cluster, a_new_leader_finishes_from_caught_up);
    tcase_add_test(cluster, a_new_leader_finishes_from_switched);
    tcase_add_test(cluster, a_new_leader_rolls_back_a_lagging_target);
    tcase_add_test(cluster, a_new_leader_finishes_a_rollback);
    suite_add_tcase(suite, cluster);
    SRunner *sr = srunner_create(suite);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
