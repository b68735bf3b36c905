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

void coordinator_set_leader(struct coordinator *c, bool leader, const struct record *record,
                            struct coordinator_time now)
{
    (void)now;
    c->leader = leader;
    c->barrier_done = false;
    c->promoting_epoch = 0;
    c->fault_seen_wall_ms = 0;
    memset(&c->last_decision, 0, sizeof c->last_decision); /* nothing decided in this term yet */
    lease_leader_init(&c->lease_leader, record->writer.epoch);
}

void coordinator_barrier_applied(struct coordinator *c, struct coordinator_time now)
{
    if (!c->leader) {
        return;
    }
    c->barrier_done = true;
    lease_leader_barrier_applied(&c->lease_leader, now.boot_ms);
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
    sync_writer(c, record);
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
    if (health->mysql == MYSQL_VIEW_UP) {
        c->silent_probes = 0;
    } else {
        c->silent_probes++;
    }
    if (changed) {
        send_health(c, now);
    }
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
    if (c->last_renew_ms == 0 ||
        now.boot_ms - c->last_renew_ms >= lease_renew_interval_ms(&c->opts.lease)) {
        struct command cmd;
        memset(&cmd, 0, sizeof cmd);
        cmd.type = COMMAND_RENEW;
        cmd.renew.epoch = c->writer_epoch;
        snprintf(cmd.renew.node_id, sizeof cmd.renew.node_id, "%s", c->opts.local_id);
        cmd.renew.nonce = lease_writer_renew(&c->lease_writer, now.boot_ms);
        propose(c, &cmd);
        c->last_renew_ms = now.boot_ms;
    }
    struct host_target target;
    coordinator_target(c, record, now.boot_ms, &target);
    /* Opened means the server answers writable (after any catch-up), not merely allowed to. */
    if (target.writable && !c->opened_reported && !c->health.read_only) {
        struct command cmd;
        memset(&cmd, 0, sizeof cmd);
        cmd.type = COMMAND_OPENED;
        cmd.opened.epoch = c->writer_epoch;
        snprintf(cmd.opened.node_id, sizeof cmd.opened.node_id, "%s", c->opts.local_id);
        cmd.opened.opened_wall_ms = now.wall_ms;
        propose(c, &cmd);
        c->opened_reported = true;
    }
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
    for (unsigned i = 0; i < c->opts.n_nodes; i++) {
        const struct record_node *r = record_find_node(record, c->opts.nodes[i].id);
        nodes[i].id = c->opts.nodes[i].id;
        nodes[i].candidate = c->opts.nodes[i].candidate;
        nodes[i].health = r != NULL && r->has_health ? &r->health : NULL;
        nodes[i].fresh =
            c->health_seen[i] && now.boot_ms - c->health_seen_ms[i] <= c->opts.health_stale_ms;
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

void coordinator_tick(struct coordinator *c, const struct record *record,
                      struct coordinator_time now)
{
    sync_writer(c, record);
    if (c->health_known && now.boot_ms - c->last_health_sent_ms >= c->opts.report_interval_ms) {
        send_health(c, now);
    }
    writer_tick(c, record, now);
    leader_tick(c, record, now);
}

void coordinator_target(const struct coordinator *c, const struct record *record, uint64_t now_ms,
                        struct host_target *out)
{
    memset(out, 0, sizeof *out);
    const struct record_writer *w = &record->writer;
    bool mine =
        w->node[0] != '\0' && strcmp(w->node, c->opts.local_id) == 0 && c->writer_epoch == w->epoch;
    if (w->node[0] != '\0' && !mine) {
        snprintf(out->replicate_from, sizeof out->replicate_from, "%s", w->node);
    }
    if (!mine) {
        snprintf(out->reason, sizeof out->reason, "%s",
                 w->node[0] != '\0' ? "not the writer" : "no writer");
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
