/*
 * The coordinator state machine; see coordinator.h for what it decides and why.
 */
#include <stdio.h>
#include <string.h>

#include "coord/coordinator.h"

/* Consecutive probes without an answer after which a writer gives its epoch up. */
#define RELEASE_AFTER_SILENT_PROBES 3

static int node_index(const struct coordinator *c, const char *id)
{
    for (unsigned i = 0; i < c->opts.n_nodes; i++) {
        if (strcmp(c->opts.nodes[i].id, id) == 0) {
            return (int)i;
        }
    }
    return -1;
}

static void propose(struct coordinator *c, const struct command *cmd)
{
    if (c->n_proposals == COORDINATOR_PROPOSALS_MAX) {
        /* The daemon takes proposals every tick; a full queue means it is stuck. Keep the
         * newest: every kind of proposal is re-made by a later tick if it still matters. */
        memmove(&c->proposals[0], &c->proposals[1],
                (COORDINATOR_PROPOSALS_MAX - 1) * sizeof c->proposals[0]);
        c->n_proposals--;
    }
    c->proposals[c->n_proposals++] = *cmd;
}

bool coordinator_take_proposal(struct coordinator *c, struct command *out)
{
    if (c->n_proposals == 0) {
        return false;
    }
    *out = c->proposals[0];
    memmove(&c->proposals[0], &c->proposals[1], (c->n_proposals - 1) * sizeof c->proposals[0]);
    c->n_proposals--;
    return true;
}

void coordinator_init(struct coordinator *c, const struct coordinator_options *opts)
{
    memset(c, 0, sizeof *c);
    c->opts = *opts;
    c->test_delay.delay_ms = opts->test_step_delay_ms; /* test hook */
}

/* Keep the writer's lease bookkeeping in step with the record. */
static void sync_writer(struct coordinator *c, const struct record *record)
{
    const struct record_writer *w = &record->writer;
    bool mine = w->node[0] != '\0' && strcmp(w->node, c->opts.local_id) == 0;
    if (!mine) {
        c->writer_epoch = 0;
        return;
    }
    if (c->writer_epoch != w->epoch) {
        lease_writer_init(&c->lease_writer, w->epoch);
        c->lease_writer.next_nonce = c->opts.nonce_base | 1;
        c->writer_epoch = w->epoch;
        c->last_renew_ms = 0;
        c->released = false;
        c->opened_reported = false;
    }
}

/* Keep the switchover bookkeeping in step with the record: when this node first saw the
 * sequence (its timeout runs from there), and when this host was told to fence for it (a
 * probe after that moment is the one whose executed set is final). */
static void sync_switchover(struct coordinator *c, const struct record *record, uint64_t now_ms)
{
    const struct record_switchover *sw = &record->switchover;
    if (sw->id != 0 && c->switchover_seen_id != sw->id) {
        c->switchover_seen_id = sw->id;
        c->switchover_seen_ms = now_ms;
    }
    if (sw->id != 0 && c->fence_mark_id != sw->id &&
        switchover_holds_fenced(record, c->opts.local_id, NULL, 0)) {
        c->fence_mark_id = sw->id;
        c->fence_mark_probes = c->local_probes;
    }
    switchover_test_delay_note(&c->test_delay, record, now_ms); /* test hook */
}

void coordinator_set_leader(struct coordinator *c, bool leader, const struct record *record,
                            struct coordinator_time now)
{
    c->leader = leader;
    c->barrier_done = false;
    c->promoting_epoch = 0;
    c->fault_seen_wall_ms = 0;
    c->leader_sent_id = 0;
    memset(&c->last_decision, 0, sizeof c->last_decision); /* nothing decided in this term yet */
    memset(&c->last_switchover, 0, sizeof c->last_switchover);
    lease_leader_init(&c->lease_leader, record->writer.epoch);
    coordinator_health_now(c);
    /* A committed RELEASE (or switchover FENCED) means the writer fenced before proposing it,
     * and the record refuses its later RENEWs: a new leader need not wait that lease out
     * either. This is what lets a new leader resume a switchover without a lease's pause. */
    if (record->writer.released) {
        lease_leader_released(&c->lease_leader, record->writer.epoch);
    }
    sync_switchover(c, record, now.boot_ms);
}

void coordinator_barrier_applied(struct coordinator *c, struct coordinator_time now)
{
    if (!c->leader) {
        return;
    }
    c->barrier_done = true;
    lease_leader_barrier_applied(&c->lease_leader, now.boot_ms);
    /* A health report's freshness is when this node applied it. Those applied before the
     * barrier may be a backlog caught up on the way to leadership, sent long ago (a chaos run
     * saw a new leader name a master whose daemon had been dead for seconds, on its last
     * report). They stay fresh for one report interval more at most: a live node sends a new
     * one at once when the leader changes (coordinator_health_now), a dead one's goes stale. */
    uint64_t limit = now.boot_ms + c->opts.report_interval_ms;
    uint64_t cap = limit > c->opts.health_stale_ms ? limit - c->opts.health_stale_ms : 0;
    for (unsigned i = 0; i < COORDINATOR_MAX_NODES; i++) {
        if (c->health_seen[i] && c->health_seen_ms[i] > cap) {
            c->health_seen_ms[i] = cap;
        }
    }
}

void coordinator_health_now(struct coordinator *c)
{
    c->last_health_sent_ms = 0;
}

bool coordinator_before_append(struct coordinator *c, const struct command *cmd,
                               struct coordinator_time now)
{
    switch (cmd->type) {
    case COMMAND_RENEW:
        if (c->opts.rule == COORDINATOR_RULE_BROKEN_T_LAST_AT_APPLY) {
            return cmd->renew.epoch == c->lease_leader.epoch && !c->lease_leader.closed;
        }
        return lease_leader_append_renew(&c->lease_leader, cmd->renew.epoch, now.boot_ms);
    case COMMAND_SET_WRITER:
        /* From here on no RENEW of the old epoch enters the log after this entry. */
        lease_leader_close(&c->lease_leader);
        return true;
    default:
        return true;
    }
}

void coordinator_applied(struct coordinator *c, const struct record *record,
                         const struct command *cmd, int status, struct coordinator_time now)
{
    if (cmd == NULL) { /* a snapshot was restored, or an entry did not decode */
        sync_writer(c, record);
        sync_switchover(c, record, now.boot_ms);
        return;
    }
    switch (cmd->type) {
    case COMMAND_HEALTH: {
        int i = node_index(c, cmd->health.node_id);
        if (status == 0 && i >= 0) {
            c->health_seen_ms[i] = now.boot_ms;
            c->health_seen[i] = true;
        }
        break;
    }
    case COMMAND_RENEW:
        if (status == 0 && c->leader && c->opts.rule == COORDINATOR_RULE_BROKEN_T_LAST_AT_APPLY) {
            lease_leader_append_renew(&c->lease_leader, cmd->renew.epoch, now.boot_ms);
        }
        if (status == 0 && strcmp(cmd->renew.node_id, c->opts.local_id) == 0) {
            sync_writer(c, record);
            lease_writer_applied(&c->lease_writer, &c->opts.lease, cmd->renew.epoch,
                                 cmd->renew.nonce);
        }
        break;
    case COMMAND_RELEASE:
        if (status == 0) {
            lease_leader_released(&c->lease_leader, cmd->release.epoch);
        }
        break;
    case COMMAND_SWITCHOVER_FENCED:
        /* The old writer fenced itself for the handover: a release. */
        if (status == 0) {
            lease_leader_released(&c->lease_leader, cmd->switchover_fenced.epoch);
        }
        break;
    case COMMAND_SET_WRITER:
        if (cmd->set_writer.epoch == c->promoting_epoch) {
            c->promoting_epoch = 0;
        }
        if (status == 0 && c->leader) {
            /* The new writer has no lease yet; should it never renew, the wait runs from
             * here. */
            bool barrier = c->barrier_done;
            lease_leader_init(&c->lease_leader, cmd->set_writer.epoch);
            if (barrier) {
                lease_leader_barrier_applied(&c->lease_leader, now.boot_ms);
            }
            c->fault_seen_wall_ms = 0;
        }
        break;
    default:
        break;
    }
    if (record->writer.epoch != c->heard_epoch ||
        (cmd->type == COMMAND_RENEW && status == 0 && cmd->renew.epoch == record->writer.epoch)) {
        c->heard_epoch = record->writer.epoch;
        c->heard_ms = now.boot_ms;
    }
    sync_writer(c, record);
    sync_switchover(c, record, now.boot_ms);
}

static bool health_changed(const struct command_health *a, const struct command_health *b)
{
    return a->mysql != b->mysql || a->read_only != b->read_only ||
           a->replicating != b->replicating || a->io_running != b->io_running ||
           a->sql_running != b->sql_running || a->source_port != b->source_port ||
           strcmp(a->source_host, b->source_host) != 0;
}

static void send_health(struct coordinator *c, struct coordinator_time now)
{
    struct command cmd;
    memset(&cmd, 0, sizeof cmd);
    cmd.type = COMMAND_HEALTH;
    cmd.health = c->health;
    cmd.health.seq = ++c->health_seq;
    cmd.health.sent_wall_ms = now.wall_ms;
    propose(c, &cmd);
    c->last_health_sent_ms = now.boot_ms;
}

void coordinator_local_health(struct coordinator *c, const struct command_health *health,
                              struct coordinator_time now)
{
    bool changed = !c->health_known || health_changed(&c->health, health);
    c->health = *health;
    snprintf(c->health.node_id, sizeof c->health.node_id, "%s", c->opts.local_id);
    c->health_known = true;
    c->local_probes++;
    if (health->mysql == MYSQL_VIEW_UP) {
        c->silent_probes = 0;
    } else {
        c->silent_probes++;
    }
    if (changed) {
        send_health(c, now);
    }
}

void coordinator_local_vip(struct coordinator *c, bool held)
{
    c->local_vip_held = held;
}

/* The writer's own MySQL server cannot take writes: give the epoch up so the leader need not
 * wait out the lease. */
static bool local_mysql_lost(const struct coordinator *c)
{
    if (!c->health_known) {
        return false;
    }
    switch (c->health.mysql) {
    case MYSQL_VIEW_DOWN:
    case MYSQL_VIEW_DENIED:
        return true;
    case MYSQL_VIEW_TIMEOUT:
    case MYSQL_VIEW_ERROR:
        return c->silent_probes >= RELEASE_AFTER_SILENT_PROBES;
    default:
        return false;
    }
}

static void writer_tick(struct coordinator *c, const struct record *record,
                        struct coordinator_time now)
{
    if (c->writer_epoch == 0 || record->writer.released || c->released) {
        return;
    }
    if (local_mysql_lost(c)) {
        struct command cmd;
        memset(&cmd, 0, sizeof cmd);
        cmd.type = COMMAND_RELEASE;
        cmd.release.epoch = c->writer_epoch;
        snprintf(cmd.release.node_id, sizeof cmd.release.node_id, "%s", c->opts.local_id);
        snprintf(cmd.release.reason, sizeof cmd.release.reason, "%s's mysqld is %s",
                 c->opts.local_id, mysql_view_name(c->health.mysql));
        propose(c, &cmd);
        c->released = true;
        return;
    }
    if (!c->health_known || c->health.mysql != MYSQL_VIEW_UP) {
        return; /* nothing to serve with: let the lease run down rather than extend it */
    }
    struct host_target target;
    coordinator_target(c, record, now.boot_ms, &target);
    /* Opened means the server answers writable (after any catch-up), not merely allowed to.
     * An OPENED lost on the way (proposed just as this node handed its leadership
     * over, say) is said again until the record has it: a switchover waits for it, and no
     * later one may begin without it. */
    const struct record_epoch *own = record_find_epoch(record, c->writer_epoch);
    bool unrecorded = c->opened_reported && own != NULL && own->opened_wall_ms == 0 &&
                      now.boot_ms - c->opened_sent_ms >= lease_renew_interval_ms(&c->opts.lease);
    bool opening = target.writable && !c->health.read_only && (!c->opened_reported || unrecorded);
    /* The host may set the VIP's kernel lifetime only just after a RENEW was sent
     * (lease_vip_refresh_due): renewing the moment the server opens puts the VIP up a round
     * trip later instead of up to a renewal interval later. */
    bool stalled = lease_writer_stalled(&c->lease_writer, &c->opts.lease, now.boot_ms);
    if (!stalled && (c->last_renew_ms == 0 || opening ||
                     now.boot_ms - c->last_renew_ms >= lease_renew_interval_ms(&c->opts.lease))) {
        struct command cmd;
        memset(&cmd, 0, sizeof cmd);
        cmd.type = COMMAND_RENEW;
        cmd.renew.epoch = c->writer_epoch;
        snprintf(cmd.renew.node_id, sizeof cmd.renew.node_id, "%s", c->opts.local_id);
        cmd.renew.nonce = lease_writer_renew(&c->lease_writer, now.boot_ms);
        propose(c, &cmd);
        c->last_renew_ms = now.boot_ms;
    }
    if (opening) {
        struct command cmd;
        memset(&cmd, 0, sizeof cmd);
        cmd.type = COMMAND_OPENED;
        cmd.opened.epoch = c->writer_epoch;
        snprintf(cmd.opened.node_id, sizeof cmd.opened.node_id, "%s", c->opts.local_id);
        cmd.opened.opened_wall_ms = now.wall_ms;
        propose(c, &cmd);
        c->opened_reported = true;
        c->opened_sent_ms = now.boot_ms; /* to say it again if lost */
    }
}

unsigned coordinator_decide_nodes(const struct coordinator *c, const struct record *record,
                                  uint64_t now_ms, struct decide_node *out)
{
    for (unsigned i = 0; i < c->opts.n_nodes; i++) {
        const struct record_node *r = record_find_node(record, c->opts.nodes[i].id);
        memset(&out[i], 0, sizeof out[i]);
        out[i].id = c->opts.nodes[i].id;
        out[i].candidate = c->opts.nodes[i].candidate;
        out[i].health = r != NULL && r->has_health ? &r->health : NULL;
        out[i].fresh =
            c->health_seen[i] && now_ms - c->health_seen_ms[i] <= c->opts.health_stale_ms;
    }
    return c->opts.n_nodes;
}

unsigned coordinator_switchover_nodes(const struct coordinator *c, const struct record *record,
                                      uint64_t now_ms, struct switchover_node *out)
{
    struct decide_node nodes[COORDINATOR_MAX_NODES];
    unsigned n = coordinator_decide_nodes(c, record, now_ms, nodes);
    for (unsigned i = 0; i < n; i++) {
        memset(&out[i], 0, sizeof out[i]);
        out[i].id = nodes[i].id;
        out[i].candidate = nodes[i].candidate;
        out[i].health = nodes[i].health;
        out[i].fresh = nodes[i].fresh;
    }
    return n;
}

static void append_reason(struct decision *d, const char *note)
{
    size_t len = strlen(d->reason);
    snprintf(d->reason + len, sizeof d->reason - len, "; %s", note);
}

/* Maintenance: no automatic change of writer. The decision still says what the rules would
 * have done, so that the operator sees what turning it off would do. */
static void pause_for_maintenance(struct decision *d, const struct record_maintenance *m)
{
    char text[2 * CODEC_REASON_SIZE];
    int n = snprintf(text, sizeof text,
                     "maintenance on (%.60s, uid %lu): automatic failover paused; %s%s",
                     m->reason[0] != '\0' ? m->reason : "no reason given", (unsigned long)m->uid,
                     d->kind == DECISION_PROMOTE ? "otherwise: " : "", d->reason);
    size_t len = n < 0 ? 0 : (size_t)n < sizeof d->reason ? (size_t)n : sizeof d->reason - 1;
    memcpy(d->reason, text, len); /* cut to fit: the start says what matters */
    d->reason[len] = '\0';
    if (d->kind == DECISION_PROMOTE) {
        d->kind = DECISION_WAIT;
        d->node[0] = '\0';
        d->catch_up_from[0] = '\0';
    }
}

/* The switchover in the record, if any, drives the leader. Returns true when it did (the
 * automatic rules must not act now), false when they decide (none in progress, or DEFER). */
static bool leader_switchover(struct coordinator *c, const struct record *record,
                              const struct switchover_node *nodes, unsigned n_nodes,
                              struct coordinator_time now)
{
    const struct record_switchover *sw = &record->switchover;
    struct switchover_view view = {.record = record, .nodes = nodes, .n_nodes = n_nodes};
    struct switchover_leader_input in = {
        .view = &view,
        .lease_over = lease_leader_may_promote(&c->lease_leader, &c->opts.lease, now.boot_ms),
        .lease_remaining_ms =
            lease_leader_remaining_ms(&c->lease_leader, &c->opts.lease, now.boot_ms),
        .elapsed_ms = c->switchover_seen_id == sw->id ? now.boot_ms - c->switchover_seen_ms : 0,
        .wall_ms = now.wall_ms,
    };
    struct switchover_action *act = &c->last_switchover;
    switchover_leader_step(&in, act);
    if (c->opts.rule == COORDINATOR_RULE_BROKEN_SWITCH_UNFENCED &&
        sw->kind == SWITCHOVER_KIND_PLANNED && sw->step == SWITCHOVER_STEP_BEGUN) {
        /* Broken on purpose: name the target at once, fenced or not. */
        memset(act, 0, sizeof *act);
        act->kind = SWITCHOVER_ACT_PROPOSE;
        snprintf(act->reason, sizeof act->reason, "switchover %llu (unfenced, broken rule)",
                 (unsigned long long)sw->id);
        act->cmd.type = COMMAND_SET_WRITER;
        act->cmd.set_writer.epoch = record->writer.epoch + 1;
        snprintf(act->cmd.set_writer.node_id, sizeof act->cmd.set_writer.node_id, "%s", sw->to);
        snprintf(act->cmd.set_writer.reason, sizeof act->cmd.set_writer.reason, "%s", act->reason);
    }
    if (act->kind == SWITCHOVER_ACT_NONE || act->kind == SWITCHOVER_ACT_DEFER) {
        return false;
    }
    memset(&c->last_decision, 0, sizeof c->last_decision);
    snprintf(c->last_decision.reason, sizeof c->last_decision.reason, "%s", act->reason);
    c->last_decision.kind = DECISION_WAIT;
    if (act->kind == SWITCHOVER_ACT_WAIT) {
        return true;
    }
    if (act->cmd.type == COMMAND_SET_WRITER) {
        c->last_decision.kind = DECISION_PROMOTE;
        snprintf(c->last_decision.node, sizeof c->last_decision.node, "%s",
                 act->cmd.set_writer.node_id);
    }
    /* Once per step; again after a lease's time if the record has not moved (a proposal can
     * be lost with a leader change). */
    if (c->leader_sent_id == sw->id && c->leader_sent_step == sw->step &&
        c->leader_sent_type == act->cmd.type &&
        now.boot_ms - c->leader_sent_ms < c->opts.lease.lease_ms) {
        return true;
    }
    if (switchover_test_delay_holds(&c->test_delay, now.boot_ms)) { /* test hook */
        return true;
    }
    propose(c, &act->cmd);
    c->leader_sent_id = sw->id;
    c->leader_sent_step = sw->step;
    c->leader_sent_type = act->cmd.type;
    c->leader_sent_ms = now.boot_ms;
    if (act->cmd.type == COMMAND_SET_WRITER) {
        c->promoting_epoch = act->cmd.set_writer.epoch;
        c->promoting_since_ms = now.boot_ms;
    }
    return true;
}

/* The old writer's FENCED and the target's CAUGHT_UP, from local facts. */
static void node_switchover_tick(struct coordinator *c, const struct record *record,
                                 struct coordinator_time now)
{
    const struct record_switchover *sw = &record->switchover;
    if (sw->id == 0) {
        return;
    }
    struct switchover_local local = {
        .node = c->opts.local_id,
        .health = c->health_known ? &c->health : NULL,
        .probed_since_fence = c->fence_mark_id == sw->id && c->local_probes > c->fence_mark_probes,
        .vip_held = c->local_vip_held,
        .wall_ms = now.wall_ms,
    };
    struct command cmd;
    if (!switchover_node_step(record, &local, &cmd)) {
        return;
    }
    /* Forwarding is best effort: say it again after a while if the record did not move. */
    if (c->node_sent_id == sw->id && c->node_sent_type == cmd.type &&
        now.boot_ms - c->node_sent_ms < lease_renew_interval_ms(&c->opts.lease)) {
        return;
    }
    if (switchover_test_delay_holds(&c->test_delay, now.boot_ms)) { /* test hook */
        return;
    }
    propose(c, &cmd);
    c->node_sent_id = sw->id;
    c->node_sent_type = cmd.type;
    c->node_sent_ms = now.boot_ms;
}

static void leader_tick(struct coordinator *c, const struct record *record,
                        struct coordinator_time now)
{
    if (!c->leader || !c->barrier_done) {
        return;
    }
    if (c->promoting_epoch != 0) {
        /* A SET_WRITER proposed and not applied yet: give it a lease's time, then retry. */
        if (now.boot_ms - c->promoting_since_ms < c->opts.lease.lease_ms) {
            return;
        }
        c->promoting_epoch = 0;
    }
    struct decide_node nodes[COORDINATOR_MAX_NODES];
    struct switchover_node sw_nodes[COORDINATOR_MAX_NODES];
    unsigned n = coordinator_switchover_nodes(c, record, now.boot_ms, sw_nodes);
    for (unsigned i = 0; i < n; i++) {
        nodes[i].id = sw_nodes[i].id;
        nodes[i].candidate = sw_nodes[i].candidate;
        nodes[i].health = sw_nodes[i].health;
        nodes[i].fresh = sw_nodes[i].fresh;
    }
    if (leader_switchover(c, record, sw_nodes, n, now)) {
        return;
    }
    struct decide_input in = {
        .record = record,
        .nodes = nodes,
        .n_nodes = c->opts.n_nodes,
        .lease_over = lease_leader_may_promote(&c->lease_leader, &c->opts.lease, now.boot_ms),
        .lease_remaining_ms =
            lease_leader_remaining_ms(&c->lease_leader, &c->opts.lease, now.boot_ms),
        .allow_loss = c->opts.allow_loss,
    };
    if (c->opts.rule == COORDINATOR_RULE_BROKEN_NO_WAIT) {
        /* Broken on purpose: take the writer as gone once two renewals are missing, without
         * waiting out its lease. */
        in.lease_over = c->lease_leader.released ||
                        now.boot_ms >= c->lease_leader.t_last_ms + c->opts.lease.lease_ms / 2;
    }
    if (decide(&in, &c->last_decision) != 0) {
        return;
    }
    if (c->last_switchover.kind == SWITCHOVER_ACT_DEFER) {
        append_reason(&c->last_decision, c->last_switchover.reason);
    }
    if (record->maintenance.on) {
        pause_for_maintenance(&c->last_decision, &record->maintenance);
    }
    if (c->last_decision.kind == DECISION_NONE) {
        c->fault_seen_wall_ms = 0;
        return;
    }
    if (c->fault_seen_wall_ms == 0) {
        c->fault_seen_wall_ms = now.wall_ms;
    }
    if (c->last_decision.kind != DECISION_PROMOTE) {
        return;
    }
    struct command cmd;
    memset(&cmd, 0, sizeof cmd);
    cmd.type = COMMAND_SET_WRITER;
    cmd.set_writer.epoch = record->writer.epoch + 1;
    snprintf(cmd.set_writer.node_id, sizeof cmd.set_writer.node_id, "%s", c->last_decision.node);
    snprintf(cmd.set_writer.reason, sizeof cmd.set_writer.reason, "%s", c->last_decision.reason);
    cmd.set_writer.detected_wall_ms = c->fault_seen_wall_ms;
    cmd.set_writer.decided_wall_ms = now.wall_ms;
    propose(c, &cmd);
    c->promoting_epoch = cmd.set_writer.epoch;
    c->promoting_since_ms = now.boot_ms;
}

bool coordinator_pushes_commit(const struct command *cmd)
{
    switch (cmd->type) {
    case COMMAND_SET_WRITER:
    case COMMAND_SWITCHOVER_BEGIN:
    case COMMAND_FAILOVER_FORCE:
    case COMMAND_SWITCHOVER_FENCED:
    case COMMAND_SWITCHOVER_CAUGHT_UP:
    case COMMAND_SWITCHOVER_ABORT:
    case COMMAND_RENEW:
        return true;
    default:
        return false;
    }
}

uint64_t coordinator_lease_wait_ms(const struct coordinator *c, uint64_t now_ms)
{
    if (!c->leader) {
        return UINT64_MAX;
    }
    return lease_leader_remaining_ms(&c->lease_leader, &c->opts.lease, now_ms);
}

void coordinator_tick(struct coordinator *c, const struct record *record,
                      struct coordinator_time now)
{
    sync_writer(c, record);
    sync_switchover(c, record, now.boot_ms);
    if (c->health_known && now.boot_ms - c->last_health_sent_ms >= c->opts.report_interval_ms) {
        send_health(c, now);
    }
    writer_tick(c, record, now);
    node_switchover_tick(c, record, now);
    leader_tick(c, record, now);
}

void coordinator_target(const struct coordinator *c, const struct record *record, uint64_t now_ms,
                        struct host_target *out)
{
    memset(out, 0, sizeof *out);
    const struct record_writer *w = &record->writer;
    const char *catch_up = switchover_catch_up_to(record, c->opts.local_id);
    if (catch_up != NULL) {
        snprintf(out->catch_up_to, sizeof out->catch_up_to, "%s", catch_up);
    }
    bool mine =
        w->node[0] != '\0' && strcmp(w->node, c->opts.local_id) == 0 && c->writer_epoch == w->epoch;
    if (w->node[0] != '\0' && !mine) {
        snprintf(out->replicate_from, sizeof out->replicate_from, "%s", w->node);
        int self = node_index(c, c->opts.local_id);
        out->source_lapsed = self >= 0 && !c->opts.nodes[self].candidate &&
                             c->heard_epoch == w->epoch && now_ms >= c->heard_ms &&
                             now_ms - c->heard_ms >= c->opts.lease.lease_ms / 2;
    }
    if (!mine) {
        snprintf(out->reason, sizeof out->reason, "%s",
                 w->node[0] != '\0' ? "not the writer" : "no writer");
        return;
    }
    if (switchover_holds_fenced(record, c->opts.local_id, out->reason, sizeof out->reason)) {
        if (switchover_keeps_vip(record, c->opts.local_id) && !c->released &&
            lease_writer_may_serve(&c->lease_writer, &c->opts.lease, now_ms)) {
            out->vip_keep_until_ms = lease_writer_fence_at(&c->lease_writer, &c->opts.lease);
        }
        return;
    }
    if (w->released || c->released) {
        snprintf(out->reason, sizeof out->reason, "released epoch %llu",
                 (unsigned long long)w->epoch);
        return;
    }
    if (!c->health_known || c->health.mysql != MYSQL_VIEW_UP) {
        snprintf(out->reason, sizeof out->reason, "writer, but the local mysqld is %s",
                 c->health_known ? mysql_view_name(c->health.mysql) : "not probed yet");
        return;
    }
    if (!lease_writer_may_serve(&c->lease_writer, &c->opts.lease, now_ms)) {
        snprintf(out->reason, sizeof out->reason,
                 c->lease_writer.until_ms == 0 ? "writer, waiting for the first renewal"
                                               : "writer, but the lease ran out");
        return;
    }
    out->writable = true;
    out->lease_until_ms = c->lease_writer.until_ms;
    out->fence_at_ms = lease_writer_fence_at(&c->lease_writer, &c->opts.lease);
    snprintf(out->reason, sizeof out->reason, "writer of epoch %llu", (unsigned long long)w->epoch);
}
