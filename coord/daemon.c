/*
 * mmcoordd: the coordinator daemon. It loads and validates the configuration, starts the raft
 * node and the control socket on one libuv loop, reports this node's liveness into the
 * replicated record every report interval, logs every change of raft leadership, and answers
 * mmctl. SIGINT and SIGTERM stop it cleanly.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>
#include <unistd.h>

#include "coord/clock.h"
#include "coord/daemon.h"
#include "coord/log.h"

#define EXIT_CONFIG    2
#define EXIT_RAFT_LOST 3 /* raft gave up (its log could not be written): restart the daemon */
#define EXIT_DIVERGED  4 /* this node's record lost entries the cluster holds: wipe and rejoin */
_Static_assert(EXIT_RAFT_LOST == NODE_EXIT_STORAGE_FAILED, "raft/node.c's guard exits with it");

static void format_wall(uint64_t wall_ms, char *buf, size_t len)
{
    time_t secs = (time_t)(wall_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

json_t *daemon_leader_json(struct daemon *daemon)
{
    uint64_t id;
    const char *address;
    node_leader(daemon->node, &id, &address);
    const struct config_node *leader = config_find_raft_id(&daemon->config, id);
    if (id == 0 || leader == NULL) {
        return json_null();
    }
    return json_pack("{s:s, s:s}", "id", leader->id, "address", address);
}

static json_t *report_json(const struct record_node *r)
{
    if (r == NULL) {
        return json_null();
    }
    char started[32], sent[32];
    format_wall(r->start_wall_ms, started, sizeof started);
    format_wall(r->report_wall_ms, sent, sizeof sent);
    return json_pack("{s:I, s:s, s:s, s:s, s:s, s:I}", "seq", (json_int_t)r->report_seq, "version",
                     r->version, "started_at", started, "sent_at", sent, "mysql",
                     mysql_view_name(r->mysql), "count", (json_int_t)r->n_reports);
}

static json_t *health_json(const struct record_node *r)
{
    if (r == NULL || !r->has_health) {
        return json_null();
    }
    const struct command_health *h = &r->health;
    json_t *replication = json_null();
    if (h->replicating) {
        replication = json_pack("{s:s, s:i, s:b, s:b, s:I}", "source_host", h->source_host,
                                "source_port", (int)h->source_port, "io_running", h->io_running,
                                "sql_running", h->sql_running, "lag_s", (json_int_t)h->lag_s);
    }
    return json_pack("{s:s, s:b, s:s, s:s, s:o, s:I}", "mysql", mysql_view_name(h->mysql),
                     "read_only", h->read_only, "executed", h->executed, "received", h->received,
                     "replication", replication, "seq", (json_int_t)h->seq);
}

static json_t *writer_json(struct daemon *daemon, const struct host_target *target, uint64_t now_ms)
{
    const struct record_writer *w = &node_record(daemon->node)->writer;
    json_t *lease = json_null();
    if (target->writable) {
        lease =
            json_pack("{s:I, s:I}", "remaining_ms", (json_int_t)(target->lease_until_ms - now_ms),
                      "fence_in_ms", (json_int_t)(target->fence_at_ms - now_ms));
    }
    return json_pack("{s:I, s:s?, s:b, s:s, s:I, s:o}", "epoch", (json_int_t)w->epoch, "node",
                     w->node[0] != '\0' ? w->node : NULL, "released", w->released, "release_reason",
                     w->release_reason, "renewals", (json_int_t)w->renewals, "local_lease", lease);
}

static json_t *decision_json(struct daemon *daemon)
{
    if (!daemon->coord.leader) {
        return json_null();
    }
    const struct decision *d = &daemon->coord.last_decision;
    return json_pack("{s:s, s:s, s:s, s:s}", "kind", decision_kind_name(d->kind), "node", d->node,
                     "reason", d->reason, "missing", d->missing);
}

static json_t *target_json(struct daemon *daemon, const struct host_target *t)
{
    struct host_view v;
    host_view(daemon->host, &v);
    return json_pack("{s:b, s:s, s:s, s:b, s:b, s:s}", "writable", t->writable, "reason", t->reason,
                     "replicate_from", t->replicate_from, "vip_configured", v.vip_configured,
                     "vip_held", v.vip_held, "last_action", v.last_action);
}

/* Every node's verdict (could it be promoted now, and if not why; its errant transactions) and
 * the cluster's lines, by decide_explain() on what this node's record and arrival times say,
 * with the rules the leader decides by. NULL when out of memory. */
static struct decide_explanation *explain(struct daemon *daemon, const struct record *record,
                                          uint64_t now_ms)
{
    const struct coordinator *c = &daemon->coord;
    struct decide_node nodes[COORDINATOR_MAX_NODES];
    struct decide_input in = {
        .record = record,
        .nodes = nodes,
        .n_nodes = coordinator_decide_nodes(c, record, now_ms, nodes),
        .allow_loss = c->opts.allow_loss,
    };
    struct decide_explanation *e = malloc(sizeof *e);
    if (e != NULL && decide_explain(&in, e) != 0) {
        free(e);
        e = NULL;
    }
    return e;
}

/* The verdict fields of node @i, added to @node. */
static void verdict_json(json_t *node, const struct decide_explanation *e, unsigned i)
{
    if (e == NULL || i >= e->n_nodes) {
        json_object_set_new(node, "promotable", json_false());
        json_object_set_new(node, "why", json_string("unknown: out of memory"));
        json_object_set_new(node, "errant", json_string(""));
        return;
    }
    const struct decide_verdict *v = &e->nodes[i];
    json_object_set_new(node, "promotable", json_boolean(v->promotable));
    json_object_set_new(node, "why", json_string(v->why));
    json_object_set_new(node, "errant", json_string(v->errant));
    json_object_set_new(node, "missing", json_string(v->missing));
    json_object_set_new(node, "catch_up_from", json_string(v->catch_up_from));
}

/* {"available":..., "nodes":[...], "why":...}: who could take over from the writer now. */
static json_t *standby_json(const struct decide_explanation *e, const struct config *config,
                            const struct record *record)
{
    if (e == NULL) {
        return json_null();
    }
    json_t *ids = json_array();
    for (unsigned i = 0; i < e->n_nodes && i < config->n_nodes; i++) {
        if (e->nodes[i].promotable && strcmp(config->nodes[i].id, record->writer.node) != 0) {
            json_array_append_new(ids, json_string(config->nodes[i].id));
        }
    }
    return json_pack("{s:b, s:o, s:s}", "available", e->standby, "nodes", ids, "why",
                     e->standby_why);
}

json_t *daemon_status_json(struct daemon *daemon, uint64_t now_ms)
{
    struct raft *raft = node_raft(daemon->node);
    const struct config *config = &daemon->config;
    const struct record *record = node_record(daemon->node);
    uint64_t leader_id;
    const char *leader_address;
    node_leader(daemon->node, &leader_id, &leader_address);

    struct decide_explanation *verdicts = explain(daemon, record, now_ms);
    json_t *nodes = json_array();
    for (unsigned i = 0; i < config->n_nodes; i++) {
        const struct config_node *n = &config->nodes[i];
        const char *role;
        if (i == config->local_index) {
            role = node_role_name(raft_state(raft));
        } else {
            role = n->raft_id == leader_id ? "leader" : "follower";
        }
        json_t *contact;
        if (i == config->local_index) {
            contact = json_integer(0);
        } else if (daemon->last_report_ms[i] == 0) {
            contact = json_null();
        } else {
            contact = json_integer((json_int_t)(now_ms - daemon->last_report_ms[i]));
        }
        struct node_peer_progress progress;
        node_peer_progress(daemon->node, n->raft_id, &progress);
        json_t *replication = progress.known ? json_pack("{s:I, s:b}", "match_index",
                                                         (json_int_t)progress.match_index,
                                                         "recent_contact", progress.recent_contact)
                                             : json_null();
        const struct record_node *rn = record_find_node(record, n->id);
        json_t *node =
            json_pack("{s:s, s:s, s:s, s:b, s:b, s:o, s:o, s:o, s:o}", "id", n->id, "address",
                      n->raft_address, "raft_role", role, "voter", 1, "candidate", n->candidate,
                      "last_contact_ms", contact, "replication", replication, "report",
                      report_json(rn), "health", health_json(rn));
        verdict_json(node, verdicts, i);
        json_array_append_new(nodes, node);
    }
    json_t *status = json_pack(
        "{s:b, s:s, s:s, s:s, s:s, s:I, s:o, s:I, s:I, s:I, s:I, s:o}", "ok", 1, "cluster",
        config->cluster_name, "node", config->local_id, "version", PACKAGE_VERSION, "role",
        node_role_name(raft_state(raft)), "term", (json_int_t)raft->current_term, "leader",
        daemon_leader_json(daemon), "commit_index", (json_int_t)raft->commit_index, "applied_index",
        (json_int_t)raft_last_applied(raft), "last_index", (json_int_t)raft_last_index(raft),
        "record_commands", (json_int_t)record->n_applied, "nodes", nodes);
    struct host_target target;
    coordinator_target(&daemon->coord, record, now_ms, &target);
    json_object_set_new(status, "writer", writer_json(daemon, &target, now_ms));
    json_object_set_new(status, "decision", decision_json(daemon));
    json_object_set_new(status, "host", target_json(daemon, &target));
    json_object_set_new(status, "standby", standby_json(verdicts, config, record));
    json_object_set_new(status, "no_writer",
                        verdicts == NULL || verdicts->no_writer[0] == '\0'
                            ? json_null()
                            : json_string(verdicts->no_writer));
    json_object_set_new(status, "maintenance", switchover_maintenance_json(record));
    json_object_set_new(status, "switchover", switchover_progress_json(record));
    free(verdicts);
    return status;
}

json_t *daemon_history_json(struct daemon *daemon)
{
    const struct record *record = node_record(daemon->node);
    json_t *epochs = json_array();
    for (unsigned i = 0; i < record->n_history; i++) {
        const struct record_epoch *e = &record->history[i];
        char detected[32] = "", decided[32] = "", opened[32] = "";
        if (e->detected_wall_ms != 0) {
            format_wall(e->detected_wall_ms, detected, sizeof detected);
        }
        format_wall(e->decided_wall_ms, decided, sizeof decided);
        if (e->opened_wall_ms != 0) {
            format_wall(e->opened_wall_ms, opened, sizeof opened);
        }
        json_t *pause = json_null();
        if (e->opened_wall_ms != 0 && e->detected_wall_ms != 0 &&
            e->opened_wall_ms >= e->detected_wall_ms) {
            pause = json_integer((json_int_t)(e->opened_wall_ms - e->detected_wall_ms));
        }
        json_t *epoch = json_pack(
            "{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:o}", "epoch",
            (json_int_t)e->epoch, "old_writer", e->old_writer, "new_writer", e->new_writer,
            "reason", e->reason, "detected_at", detected, "decided_at", decided, "opened_at",
            opened, "detected_wall_ms", (json_int_t)e->detected_wall_ms, "decided_wall_ms",
            (json_int_t)e->decided_wall_ms, "opened_wall_ms", (json_int_t)e->opened_wall_ms,
            "detected_to_opened_ms", pause);
        if (epoch != NULL) {
            json_object_set_new(epoch, "switchover_id", json_integer((json_int_t)e->switchover_id));
        }
        json_array_append_new(epochs, epoch);
    }
    return json_pack("{s:b, s:o, s:o}", "ok", 1, "epochs", epochs, "events",
                     switchover_events_json(record));
}

/* ---- The operator's requests ---- */

/* {"ok":false,"error":...,"exit":N}: a refusal with mmctl's exit status for it. */
static json_t *refusal(int exit_status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static json_t *refusal(int exit_status, const char *fmt, ...)
{
    char message[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    return json_pack("{s:b, s:s, s:i}", "ok", 0, "error", message, "exit", exit_status);
}

/* Submit an operator's entry. NULL when submitted, else the refusal to answer: no leader known
 * is exit 3 (nothing changed; try again once one is elected). */
static json_t *submit_operator(struct daemon *daemon, const struct command *cmd)
{
    char errmsg[256];
    int rv = node_submit(daemon->node, cmd, errmsg, sizeof errmsg);
    if (rv == -EAGAIN) {
        return refusal(3, "no leader known (election in progress, or no quorum): nothing was "
                          "changed; try again");
    }
    if (rv != 0) {
        return refusal(1, "%s not submitted: %s", command_type_name(cmd->type), errmsg);
    }
    return NULL;
}

static json_t *handle_maintenance(struct daemon *daemon, json_t *request, uid_t uid)
{
    json_t *on = json_object_get(request, "on");
    json_t *reason = json_object_get(request, "reason");
    if (!json_is_boolean(on) || (reason != NULL && !json_is_string(reason))) {
        return refusal(2, "maintenance needs \"on\": true or false, and \"reason\" a string");
    }
    const struct record *record = node_record(daemon->node);
    bool want = json_is_true(on);
    bool changed = record->maintenance.on != want;
    if (changed) {
        struct command cmd;
        switchover_maintenance_command(want, reason != NULL ? json_string_value(reason) : "",
                                       (uint32_t)uid, daemon->config.local_id, clock_wall_ms(),
                                       &cmd);
        log_info("control: maintenance %s asked by uid %lu%s%s", want ? "on" : "off",
                 (unsigned long)uid, reason != NULL ? ": " : "",
                 reason != NULL ? json_string_value(reason) : "");
        json_t *refused = submit_operator(daemon, &cmd);
        if (refused != NULL) {
            return refused;
        }
    }
    return json_pack("{s:b, s:b, s:b, s:o}", "ok", 1, "on", want, "changed", changed, "maintenance",
                     switchover_maintenance_json(record));
}

/* Every node as switchover_check() wants it: freshness and health from the coordinator, the
 * verdict of the same rules as status (decide_explain()). @verdicts is kept by the caller (the
 * nodes point into it). Returns how many nodes. */
static unsigned switchover_nodes(struct daemon *daemon, const struct record *record,
                                 uint64_t now_ms, struct switchover_node *nodes,
                                 struct decide_explanation **verdicts)
{
    unsigned n = coordinator_switchover_nodes(&daemon->coord, record, now_ms, nodes);
    *verdicts = explain(daemon, record, now_ms);
    for (unsigned i = 0; *verdicts != NULL && i < n && i < (*verdicts)->n_nodes; i++) {
        const struct decide_verdict *v = &(*verdicts)->nodes[i];
        nodes[i].verdict_known = true;
        nodes[i].promotable = v->promotable;
        nodes[i].why = v->why;
        nodes[i].errant = v->errant;
        nodes[i].missing = v->missing;
    }
    return n;
}

/* A fresh sequence id: 48 random bits (exact in any JSON reader's double), never 0. */
static uint64_t new_sequence_id(void)
{
    uint64_t id = 0;
    while (id == 0) {
        if (getrandom(&id, sizeof id, 0) != (ssize_t)sizeof id) {
            id = clock_wall_ms() ^ (uint64_t)getpid() << 32 ^ clock_boottime_ms() << 16;
        }
        id &= (UINT64_C(1) << 48) - 1;
    }
    return id;
}

static void remember(struct daemon_sequence *ring, unsigned *n, uint64_t id, const char *refused)
{
    struct daemon_sequence *s = &ring[*n % DAEMON_SEQUENCES_KEPT];
    (*n)++;
    s->id = id;
    s->at_ms = clock_boottime_ms();
    snprintf(s->refused, sizeof s->refused, "%s", refused != NULL ? refused : "");
}

static const struct daemon_sequence *recall(const struct daemon_sequence *ring, unsigned n,
                                            uint64_t id)
{
    for (unsigned i = 0; id != 0 && i < DAEMON_SEQUENCES_KEPT && i < n; i++) {
        if (ring[i].id == id) {
            return &ring[i];
        }
    }
    return NULL;
}

/* switchover (planned) and failover (forced): check, then submit BEGIN or FAILOVER_FORCE. */
static json_t *handle_switchover(struct daemon *daemon, json_t *request, uid_t uid, bool forced)
{
    json_t *to = json_object_get(request, "to");
    json_t *timeout = json_object_get(request, "timeout_ms");
    json_t *accept = json_object_get(request, "accept_missing");
    if ((to != NULL && !json_is_string(to) && !json_is_null(to)) ||
        (timeout != NULL && !json_is_integer(timeout)) ||
        (accept != NULL && !json_is_string(accept))) {
        return refusal(2, "malformed request: \"to\" and \"accept_missing\" are strings, "
                          "\"timeout_ms\" an integer");
    }
    if (forced && !json_is_true(json_object_get(request, "force"))) {
        return refusal(2, "failover needs --force (\"force\": true): it overrides the automatic "
                          "rules and may lose transactions");
    }
    if (timeout != NULL && json_integer_value(timeout) <= 0) {
        return refusal(2, "timeout %lld ms is out of range (%d to %d s)",
                       (long long)json_integer_value(timeout), SWITCHOVER_MIN_TIMEOUT_MS / 1000,
                       SWITCHOVER_MAX_TIMEOUT_MS / 1000);
    }
    const struct record *record = node_record(daemon->node);
    uint64_t now = clock_boottime_ms();
    struct switchover_node nodes[COORDINATOR_MAX_NODES];
    struct decide_explanation *verdicts = NULL;
    unsigned n = switchover_nodes(daemon, record, now, nodes, &verdicts);
    struct switchover_view view = {.record = record, .nodes = nodes, .n_nodes = n};
    struct switchover_request req = {
        .kind = forced ? SWITCHOVER_KIND_FORCED : SWITCHOVER_KIND_PLANNED,
        .to = json_is_string(to) ? json_string_value(to) : NULL,
        .timeout_ms = timeout != NULL ? (uint64_t)json_integer_value(timeout) : 0,
        .accept_missing = accept != NULL ? json_string_value(accept) : NULL,
    };
    struct switchover_check_result res;
    int status = switchover_check(&view, &req, &res);
    free(verdicts);
    const char *what = forced ? "forced failover" : "switchover";
    if (status != SWITCHOVER_OK) {
        log_info("control: %s%s%s asked by uid %lu refused: %s", what, req.to ? " to " : "",
                 req.to ? req.to : "", (unsigned long)uid, res.reason);
        return refusal(status, "%s", res.reason);
    }
    if (res.confirm) {
        return json_pack("{s:b, s:b, s:s, s:s, s:s, s:s}", "ok", 1, "confirm", 1, "missing",
                         res.missing, "from", res.from, "to", res.to, "reason", res.reason);
    }
    uint64_t id = new_sequence_id();
    struct command cmd;
    switchover_begin_command(record, &req, &res, id, (uint32_t)uid, daemon->config.local_id,
                             clock_wall_ms(), &cmd);
    log_info("control: %s %llu asked by uid %lu: %s -> %s (%s)", what, (unsigned long long)id,
             (unsigned long)uid, res.from[0] != '\0' ? res.from : "none", res.to, res.reason);
    json_t *refused = submit_operator(daemon, &cmd);
    if (refused != NULL) {
        return refused;
    }
    remember(daemon->submitted, &daemon->n_submitted, id, NULL);
    return json_pack("{s:b, s:I, s:s, s:s, s:s, s:s, s:I, s:I}", "ok", 1, "id", (json_int_t)id,
                     "kind", switchover_kind_name(req.kind), "from", res.from, "to", res.to,
                     "reason", res.reason, "timeout_ms", (json_int_t)res.timeout_ms, "lease_ms",
                     (json_int_t)daemon->config.lease_ms);
}

/* How long a submitted sequence may stay unknown to the record before it is taken as lost (a
 * forward dropped by a leader change): a few elections. */
#define SUBMITTED_LOST_MS 5000

static json_t *handle_switchover_status(struct daemon *daemon, json_t *request)
{
    json_t *id = json_object_get(request, "id");
    if (!json_is_integer(id) || json_integer_value(id) <= 0) {
        return refusal(2, "switchover-status needs \"id\": a positive integer");
    }
    uint64_t want = (uint64_t)json_integer_value(id);
    json_t *state = switchover_state_json(node_record(daemon->node), want);
    if (state == NULL) {
        return NULL;
    }
    json_object_set_new(state, "ok", json_true());
    if (strcmp(json_string_value(json_object_get(state, "state")), "unknown") != 0) {
        return state;
    }
    const struct daemon_sequence *r = recall(daemon->refused, daemon->n_refused, want);
    const struct daemon_sequence *s = recall(daemon->submitted, daemon->n_submitted, want);
    if (r != NULL) {
        json_object_set_new(state, "refused", json_string(r->refused));
    } else if (s != NULL && clock_boottime_ms() - s->at_ms < SUBMITTED_LOST_MS) {
        /* Submitted here and not applied yet: the log has not got that far. */
        json_object_set_new(state, "state", json_string("submitted"));
    } else if (s != NULL) {
        json_object_set_new(state, "refused",
                            json_string("never applied: the entry was lost on its way to the "
                                        "leader (a leader change?); nothing changed, try again"));
    }
    return state;
}

static json_t *handle_request(void *data, const char *cmd, json_t *request, uid_t peer_uid)
{
    struct daemon *daemon = data;
    if (strcmp(cmd, "leader") == 0) {
        return json_pack("{s:b, s:o}", "ok", 1, "leader", daemon_leader_json(daemon));
    }
    if (strcmp(cmd, "status") == 0) {
        return daemon_status_json(daemon, clock_boottime_ms());
    }
    if (strcmp(cmd, "history") == 0) {
        return daemon_history_json(daemon);
    }
    if (strcmp(cmd, "maintenance") == 0) {
        return handle_maintenance(daemon, request, peer_uid);
    }
    if (strcmp(cmd, "switchover") == 0) {
        return handle_switchover(daemon, request, peer_uid, false);
    }
    if (strcmp(cmd, "failover") == 0) {
        return handle_switchover(daemon, request, peer_uid, true);
    }
    if (strcmp(cmd, "switchover-status") == 0) {
        return handle_switchover_status(daemon, request);
    }
    return control_error("unknown command \"%s\" (known: leader, status, history, maintenance, "
                         "switchover, failover, switchover-status)",
                         cmd);
}

static void submit_report(struct daemon *daemon)
{
    struct command cmd;
    memset(&cmd, 0, sizeof cmd);
    cmd.type = COMMAND_REPORT;
    snprintf(cmd.report.node_id, sizeof cmd.report.node_id, "%s", daemon->config.local_id);
    snprintf(cmd.report.version, sizeof cmd.report.version, "%s", PACKAGE_VERSION);
    cmd.report.start_wall_ms = daemon->start_wall_ms;
    cmd.report.sent_wall_ms = clock_wall_ms();
    cmd.report.seq = ++daemon->report_seq;
    struct host_view view;
    host_view(daemon->host, &view);
    cmd.report.mysql = view.probed ? view.health.mysql : MYSQL_VIEW_UNKNOWN;
    char errmsg[256];
    int rv = node_submit(daemon->node, &cmd, errmsg, sizeof errmsg);
    if (rv != 0) {
        log_debug("report #%llu not sent: %s", (unsigned long long)cmd.report.seq, errmsg);
    }
}

static void on_report_timer(uv_timer_t *timer)
{
    submit_report(timer->data);
}

static struct coordinator_time now_times(void)
{
    return (struct coordinator_time){.boot_ms = clock_boottime_ms(), .wall_ms = clock_wall_ms()};
}

static void log_proposal(const struct command *cmd)
{
    switch (cmd->type) {
    case COMMAND_SET_WRITER:
        log_info("decision: epoch %llu goes to %s: %s", (unsigned long long)cmd->set_writer.epoch,
                 cmd->set_writer.node_id[0] != '\0' ? cmd->set_writer.node_id : "nobody",
                 cmd->set_writer.reason);
        break;
    case COMMAND_RELEASE:
        log_warn("writer: releasing epoch %llu: %s", (unsigned long long)cmd->release.epoch,
                 cmd->release.reason);
        break;
    case COMMAND_OPENED:
        log_info("writer: opened epoch %llu", (unsigned long long)cmd->opened.epoch);
        break;
    case COMMAND_SWITCHOVER_FENCED:
        log_info("switchover %llu: fenced for the handover, final position %s",
                 (unsigned long long)cmd->switchover_fenced.id, cmd->switchover_fenced.executed);
        break;
    case COMMAND_SWITCHOVER_CAUGHT_UP:
        log_info("switchover %llu: caught up (executed %s)",
                 (unsigned long long)cmd->switchover_caught_up.id,
                 cmd->switchover_caught_up.executed);
        break;
    case COMMAND_SWITCHOVER_DONE:
        log_info("switchover %llu: done, epoch %llu opened",
                 (unsigned long long)cmd->switchover_done.id,
                 (unsigned long long)cmd->switchover_done.epoch);
        break;
    case COMMAND_SWITCHOVER_ABORT:
        log_warn("switchover %llu: stopping: %s", (unsigned long long)cmd->switchover_abort.id,
                 cmd->switchover_abort.reason);
        break;
    default:
        break;
    }
}

/* The switchover entries as they are applied, on every node: the operator reads the sequence
 * in any daemon's log. */
static void log_switchover_applied(struct daemon *daemon, const struct command *cmd, int status,
                                   const char *errmsg)
{
    const struct record *record = node_record(daemon->node);
    const struct record_switchover *sw = &record->switchover;
    switch (cmd->type) {
    case COMMAND_MAINTENANCE:
        if (status == 0) {
            log_warn("record: maintenance %s (uid %lu via %s%s%s)%s",
                     cmd->maintenance.on ? "ON" : "off", (unsigned long)cmd->maintenance.uid,
                     cmd->maintenance.via, cmd->maintenance.reason[0] != '\0' ? ": " : "",
                     cmd->maintenance.reason,
                     cmd->maintenance.on ? ": automatic failover paused, leases still held" : "");
        }
        return;
    case COMMAND_SWITCHOVER_BEGIN:
    case COMMAND_FAILOVER_FORCE: {
        bool forced = cmd->type == COMMAND_FAILOVER_FORCE;
        uint64_t id = forced ? cmd->failover_force.id : cmd->switchover_begin.id;
        if (status == RECORD_IGNORED) {
            remember(daemon->refused, &daemon->n_refused, id, errmsg);
            log_warn("record: %s %llu refused: %s", forced ? "forced failover" : "switchover",
                     (unsigned long long)id, errmsg);
        } else if (status == 0) {
            log_info("record: %s %llu begun: %s -> %s in epoch %llu, timeout %llu ms, uid %lu "
                     "via %s (%s)",
                     forced ? "forced failover" : "switchover", (unsigned long long)id,
                     sw->from[0] != '\0' ? sw->from : "none", sw->to, (unsigned long long)sw->epoch,
                     (unsigned long long)sw->timeout_ms, (unsigned long)sw->uid, sw->via,
                     forced ? sw->missing : sw->reason);
        }
        return;
    }
    case COMMAND_SWITCHOVER_FENCED:
    case COMMAND_SWITCHOVER_CAUGHT_UP:
    case COMMAND_SWITCHOVER_DONE:
    case COMMAND_SWITCHOVER_ABORT:
        break;
    default:
        return;
    }
    if (status != 0) {
        log_debug("record: %s", errmsg);
        return;
    }
    if (sw->id != 0) {
        log_info("record: switchover %llu at step %s (%s -> %s)", (unsigned long long)sw->id,
                 record_switchover_step_name(sw->step), sw->from[0] != '\0' ? sw->from : "none",
                 sw->to);
    } else if (record->n_events > 0) {
        const struct record_event *e = &record->events[record->n_events - 1];
        log_info("record: switchover %llu %s: %s", (unsigned long long)e->id,
                 record_outcome_name(e->outcome), e->reason);
    }
}

/* Keep the fencer's deadline in step with the lease: armed with fence_at while this host is
 * writable; disarmed only once the host has fenced by itself, so a daemon that dies halfway
 * through fencing still leaves the fencer to finish. */
static void tell_fencer(struct daemon *daemon, const struct host_target *target)
{
    if (daemon->fencer == NULL) {
        return;
    }
    uint64_t epoch = node_record(daemon->node)->writer.epoch;
    if (target->writable) {
        if (daemon->fencer_epoch != epoch || daemon->fencer_fence_at_ms != target->fence_at_ms) {
            fencer_client_arm(daemon->fencer, epoch, target->fence_at_ms);
            daemon->fencer_epoch = epoch;
            daemon->fencer_fence_at_ms = target->fence_at_ms;
        }
        return;
    }
    if (daemon->fencer_epoch == 0) {
        return;
    }
    struct host_view view;
    host_view(daemon->host, &view);
    /* Fenced means seen fenced: read_only read back ON, or nothing listening any more. A
     * server that does not answer may still be writable: the fencer keeps its deadline. */
    bool mysql_fenced =
        view.probed && (view.health.mysql == MYSQL_VIEW_DOWN ||
                        (view.health.mysql == MYSQL_VIEW_UP && view.health.read_only));
    if (!view.vip_held && mysql_fenced) {
        fencer_client_disarm(daemon->fencer, daemon->fencer_epoch);
        daemon->fencer_epoch = 0;
        daemon->fencer_fence_at_ms = 0;
    }
}

static void on_fencer_status(struct fencer_client *client, const struct fencer_client_status *st,
                             void *data)
{
    (void)client;
    (void)data;
    if (st->error[0] != '\0') {
        log_warn("fencer: %s", st->error);
    } else {
        log_debug("fencer: %s, state %s", st->connected ? "connected" : "not connected",
                  fencer_proto_state_name(st->state));
    }
}

/* Start this host's fencer (unless one runs) when this node can be the writer: a candidate with
 * a VIP and MySQL credentials. The program sits next to mmcoordd. */
static int start_fencer(struct daemon *daemon, char *errmsg, size_t errlen)
{
    const struct config *c = &daemon->config;
    const struct config_node *self = &c->nodes[c->local_index];
    if (!self->candidate || c->vip[0] == '\0' || c->mysql_credentials_file[0] == '\0') {
        return 0;
    }
    char exe[CONFIG_PATH_SIZE];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        snprintf(errmsg, errlen, "cannot find my own program: %s", strerror(errno));
        return -errno;
    }
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    char program[CONFIG_PATH_SIZE + 32];
    snprintf(program, sizeof program, "%.*s/mmcoord-fencer", (int)(slash - exe), exe);
    char mysql[CONFIG_ADDRESS_SIZE + 8];
    snprintf(mysql, sizeof mysql, "%s:%u", self->mysql_host, (unsigned)self->mysql_port);
    char timeout[16];
    snprintf(timeout, sizeof timeout, "%u", c->fence_budget_ms * 3 / 4);
    char log_path[CONFIG_SOCKET_SIZE + 8];
    snprintf(log_path, sizeof log_path, "%s.log", c->fencer_socket);
    char *argv[] = {program,
                    "--socket",
                    (char *)c->fencer_socket,
                    "--vip",
                    (char *)c->vip,
                    "--interface",
                    (char *)c->vip_interface,
                    "--mysql",
                    mysql,
                    "--credentials",
                    (char *)c->mysql_credentials_file,
                    "--fence-timeout-ms",
                    timeout,
                    NULL};
    pid_t pid = fencer_spawn(c->fencer_socket, argv, log_path, errmsg, errlen);
    if (pid < 0) {
        return (int)pid;
    }
    if (pid > 0) {
        log_info("fencer started (pid %ld, socket %s, log %s)", (long)pid, c->fencer_socket,
                 log_path);
    } else {
        log_info("fencer already running on %s", c->fencer_socket);
    }
    return fencer_client_start(daemon->loop, c->fencer_socket, 200, on_fencer_status, daemon,
                               &daemon->fencer, errmsg, errlen);
}

/* Submit what the coordinator proposes, then make the host match its target. */
static void run_coordinator(struct daemon *daemon)
{
    if (daemon->stopping) {
        return;
    }
    struct command cmd;
    while (coordinator_take_proposal(&daemon->coord, &cmd)) {
        log_proposal(&cmd);
        char errmsg[256];
        int rv = node_submit(daemon->node, &cmd, errmsg, sizeof errmsg);
        if (rv != 0) {
            log_debug("%s not submitted: %s", command_type_name(cmd.type), errmsg);
        }
    }
    uint64_t now = clock_boottime_ms();
    struct host_target target;
    coordinator_target(&daemon->coord, node_record(daemon->node), now, &target);
    if (!daemon->record_current) {
        /* Just started: the record is what this node's own log holds, which may stop short of
         * the cluster's (entries apply once a leader says they are committed). Repointing on
         * it would follow a deposed writer (a chaos run saw a restarted master replicate the
         * old writer's unacknowledged tail, whose row images then overwrote acknowledged
         * updates). Until a report this run sent comes back applied, everything before it
         * is applied too: fence if need be, leave replication alone. */
        target.replicate_from[0] = '\0';
        target.catch_up_to[0] = '\0';
        target.source_lapsed = false;
    }
    host_reconcile(daemon->host, &target, node_record(daemon->node), now);
    tell_fencer(daemon, &target);
}

static void sync_leadership(struct daemon *daemon);
static void push_commit(struct daemon *daemon);
static void daemon_stop(struct daemon *daemon);

/* After an applied entry or a probe: tick first, so that the next step of a sequence (the
 * leader's SET_WRITER after CAUGHT_UP, the new writer's first RENEW after SET_WRITER) goes out
 * now rather than at the next heartbeat. */
static void on_kick(uv_timer_t *timer)
{
    struct daemon *daemon = timer->data;
    if (daemon->stopping) {
        return;
    }
    if (daemon->diverged) {
        daemon_stop(daemon);
        return;
    }
    sync_leadership(daemon);
    if (daemon->push_commit) {
        daemon->push_commit = false;
        push_commit(daemon);
    }
    coordinator_tick(&daemon->coord, node_record(daemon->node), now_times());
    run_coordinator(daemon);
}

/* Run the coordinator soon, outside whatever callback we are in (raft's apply, a probe). */
static void kick(struct daemon *daemon)
{
    if (!daemon->stopping && !uv_is_active((uv_handle_t *)&daemon->kick_timer)) {
        uv_timer_start(&daemon->kick_timer, on_kick, 0, 0);
    }
}

struct barrier_req {
    struct raft_barrier req;
    struct daemon *daemon;
    uint64_t term; /* the leadership term it was issued in */
};

static void on_push_barrier(struct raft_barrier *req, int status)
{
    (void)status;
    free(req);
}

/* A follower learns that an entry is committed from the leader's next AppendEntries, which
 * without new entries is the next heartbeat. An entry another node acts on next (a switchover's
 * steps, a SET_WRITER, every RENEW: coordinator_pushes_commit) is pushed at once with an empty
 * barrier entry: its AppendEntries carries the new commit index now. */
static void push_commit(struct daemon *daemon)
{
    struct raft *raft = node_raft(daemon->node);
    if (raft_state(raft) != RAFT_LEADER) {
        return;
    }
    struct raft_barrier *req = malloc(sizeof *req);
    if (req != NULL && raft_barrier(raft, req, on_push_barrier) != 0) {
        free(req); /* not leader any more, or busy: the heartbeat carries it anyway */
    }
}

static void on_barrier(struct raft_barrier *req, int status)
{
    struct barrier_req *b = req->data;
    struct daemon *daemon = b->daemon;
    /* Only the barrier of the term we lead now counts: one from an earlier term says nothing
     * about the RENEWs appended since. */
    if (status == 0 && !daemon->stopping && daemon->coord.leader &&
        b->term == daemon->leader_term) {
        coordinator_barrier_applied(&daemon->coord, now_times());
        log_info("raft: barrier applied in term %llu, this leader may now decide about the writer",
                 (unsigned long long)b->term);
        kick(daemon);
    }
    free(b);
}

/* Keep the coordinator's idea of leadership in step with raft's, term by term: a node that
 * lost leadership and won it back in between two looks starts over (new lease tracking, new
 * barrier), as if it had seen the loss. */
static void sync_leadership(struct daemon *daemon)
{
    struct raft *raft = node_raft(daemon->node);
    bool leader = raft_state(raft) == RAFT_LEADER;
    uint64_t term = raft->current_term;
    if (leader == daemon->coord.leader && (!leader || term == daemon->leader_term)) {
        return;
    }
    if (daemon->coord.leader) {
        coordinator_set_leader(&daemon->coord, false, node_record(daemon->node), now_times());
    }
    if (!leader) {
        return;
    }
    coordinator_set_leader(&daemon->coord, true, node_record(daemon->node), now_times());
    daemon->leader_term = term;
    struct barrier_req *b = malloc(sizeof *b);
    if (b == NULL) {
        return;
    }
    b->daemon = daemon;
    b->term = term;
    b->req.data = b;
    if (raft_barrier(raft, &b->req, on_barrier) != 0) {
        free(b);
        /* Not leader any more, or busy: the next look tries again. */
        coordinator_set_leader(&daemon->coord, false, node_record(daemon->node), now_times());
    }
}

static void on_transfer(struct raft_transfer *req)
{
    struct daemon *daemon = req->data;
    daemon->transfer_pending = false;
}

/* Keep raft leadership off the writer's host: when that host dies, the survivors then only wait
 * out the lease instead of first electing a leader. The target is a voter that is no candidate
 * (the replica's host), caught up and in contact. */
static void keep_leadership_off_writer(struct daemon *daemon)
{
    const struct record *record = node_record(daemon->node);
    uint64_t now = clock_boottime_ms();
    if (daemon->transfer_pending || !daemon->coord.leader || daemon->stopping ||
        strcmp(record->writer.node, daemon->config.local_id) != 0 ||
        now - daemon->last_transfer_ms < 5000) {
        return;
    }
    struct raft *raft = node_raft(daemon->node);
    for (unsigned i = 0; i < daemon->config.n_nodes; i++) {
        const struct config_node *n = &daemon->config.nodes[i];
        struct node_peer_progress progress;
        node_peer_progress(daemon->node, n->raft_id, &progress);
        if (n->candidate || !progress.known || !progress.recent_contact ||
            progress.match_index < raft_last_index(raft)) {
            continue;
        }
        daemon->transfer.data = daemon;
        daemon->last_transfer_ms = now;
        if (raft_transfer(raft, &daemon->transfer, n->raft_id, on_transfer) == 0) {
            daemon->transfer_pending = true;
            log_info("raft: handing leadership to %s: this host is the writer, and losing it "
                     "should cost no election",
                     n->id);
        }
        return;
    }
}

static bool before_append(void *data, const struct command *cmd)
{
    struct daemon *daemon = data;
    sync_leadership(daemon); /* a new term first resets the lease tracking */
    return coordinator_before_append(&daemon->coord, cmd, now_times());
}

static void on_health(void *data, const struct command_health *health)
{
    struct daemon *daemon = data;
    /* With the probe, whether the VIP is still here: a switchover's FENCED waits for it to go. */
    struct host_view v;
    host_view(daemon->host, &v);
    coordinator_local_vip(&daemon->coord, v.vip_configured && v.vip_held);
    coordinator_local_health(&daemon->coord, health, now_times());
    /* At once rather than at the next tick: a switchover's FENCED and CAUGHT_UP, an OPENED. */
    coordinator_tick(&daemon->coord, node_record(daemon->node), now_times());
    kick(daemon);
}

static void on_host_log(void *data, enum log_level level, const char *message)
{
    (void)data;
    log_msg(level, "host: %s", message);
}

static void arm_lease_timer(struct daemon *daemon);

static void on_lease_timer(uv_timer_t *timer)
{
    struct daemon *daemon = timer->data;
    kick(daemon);
    arm_lease_timer(daemon); /* woken early: once more at the wait's end */
}

/* The leader may decide a failover the moment its wait for the writer's lease ends: tick then
 * rather than up to a heartbeat later. libuv counts a timer from the loop's cached time, which
 * may lag the clock by what this callback already did: refresh it, or the timer fires early
 * and the tick falls back to the next heartbeat. */
static void arm_lease_timer(struct daemon *daemon)
{
    if (daemon->stopping || uv_is_active((uv_handle_t *)&daemon->lease_timer)) {
        return;
    }
    uv_update_time(daemon->loop);
    uint64_t wait = coordinator_lease_wait_ms(&daemon->coord, clock_boottime_ms());
    if (wait > 0 && wait < daemon->config.heartbeat_ms) {
        uv_timer_start(&daemon->lease_timer, on_lease_timer, wait + 1, 0);
    }
}

/* Log every change of this node's raft role or of the leader, with the term. */
static void on_watch_timer(uv_timer_t *timer)
{
    struct daemon *daemon = timer->data;
    if (daemon->diverged) {
        return; /* the kick stops it */
    }
    sync_leadership(daemon);
    coordinator_tick(&daemon->coord, node_record(daemon->node), now_times());
    run_coordinator(daemon);
    arm_lease_timer(daemon);
    keep_leadership_off_writer(daemon);
    struct raft *raft = node_raft(daemon->node);
    int state = raft_state(raft);
    if (state == RAFT_UNAVAILABLE && !daemon->stopping) {
        /* A backstop: a failed raft write already ends the process (node.c's I/O guard), but
         * should libraft give up by itself this node would stay out of the cluster until
         * restarted. Leave: a supervisor restarts the daemon, which reloads its log; the
         * fencer keeps any lease deadline meanwhile. */
        log_error("raft: unavailable (its log could not be written: see the lines above): "
                  "exiting with status %d so that a supervisor restarts this daemon",
                  EXIT_RAFT_LOST);
        daemon->exit_status = EXIT_RAFT_LOST;
        daemon_stop(daemon);
        return;
    }
    uint64_t leader;
    const char *address;
    node_leader(daemon->node, &leader, &address);
    if (state == daemon->logged_state && leader == daemon->logged_leader) {
        return;
    }
    bool leader_changed = leader != daemon->logged_leader;
    daemon->logged_state = state;
    daemon->logged_leader = leader;
    daemon->logged_term = raft->current_term;
    const struct config_node *l = config_find_raft_id(&daemon->config, leader);
    if (state == RAFT_LEADER) {
        log_info("raft: this node is the leader (term %llu)",
                 (unsigned long long)raft->current_term);
    } else if (l != NULL) {
        log_info("raft: %s, leader is %s at %s (term %llu)", node_role_name(state), l->id, address,
                 (unsigned long long)raft->current_term);
    } else {
        log_info("raft: %s, no leader known (term %llu)", node_role_name(state),
                 (unsigned long long)raft->current_term);
    }
    if (leader_changed && leader != 0) {
        submit_report(daemon); /* fill the record at once rather than at the next tick */
        coordinator_health_now(&daemon->coord);
    }
}

static void on_applied(void *data, const struct command *cmd, int status, const char *errmsg)
{
    struct daemon *daemon = data;
    if (daemon->node == NULL) {
        /* raft_start restores the latest snapshot before node_start returns: the coordinator
         * catches up on the record right after (daemon_main). */
        return;
    }
    coordinator_applied(&daemon->coord, node_record(daemon->node), cmd, status, now_times());
    if (cmd != NULL && status == 0 && daemon->coord.leader && coordinator_pushes_commit(cmd)) {
        daemon->push_commit = true; /* from the kick, outside raft's apply callback */
    }
    kick(daemon);
    if (cmd != NULL) {
        log_switchover_applied(daemon, cmd, status, errmsg);
    }
    char why[256];
    if (status == RECORD_IGNORED && cmd != NULL && !daemon->stopping &&
        record_diverged(node_record(daemon->node), cmd, why, sizeof why)) {
        /* Going on would follow a record that ignores every later change of writer (seen in
         * a chaos run after libraft lost writes of a failed disk): stop taking part. */
        if (!daemon->diverged) {
            log_error("record: this node's copy of the cluster record diverged: %s; it stops "
                      "(exit status %d): move its raft data dir %s away and start it again to "
                      "rejoin (mmcoordd(8), RECOVERY)",
                      why, EXIT_DIVERGED, daemon->config.data_dir);
        }
        daemon->diverged = true; /* stopped from the kick, outside raft's apply callback */
        daemon->exit_status = EXIT_DIVERGED;
        kick(daemon);
        return;
    }
    if (status == RECORD_IGNORED) {
        log_debug("record: %s", errmsg);
        return;
    }
    if (status != 0) {
        log_warn("record: entry refused: %s", errmsg);
        return;
    }
    if (cmd != NULL && cmd->type == COMMAND_SET_WRITER) {
        const struct record_epoch *e =
            record_find_epoch(node_record(daemon->node), cmd->set_writer.epoch);
        log_info(
            "record: epoch %llu: writer %s (was %s): %s", (unsigned long long)cmd->set_writer.epoch,
            cmd->set_writer.node_id[0] != '\0' ? cmd->set_writer.node_id : "none",
            e != NULL && e->old_writer[0] != '\0' ? e->old_writer : "none", cmd->set_writer.reason);
    }
    if (cmd == NULL) {
        log_info("record: %s", errmsg);
        return;
    }
    if (cmd->type == COMMAND_REPORT && !daemon->record_current &&
        strcmp(cmd->report.node_id, daemon->config.local_id) == 0 &&
        cmd->report.start_wall_ms == daemon->start_wall_ms) {
        daemon->record_current = true;
        log_info("record: caught up with the cluster (own report #%llu of this run applied, "
                 "epoch %llu, writer %s): replication follows the record from now on",
                 (unsigned long long)cmd->report.seq,
                 (unsigned long long)node_record(daemon->node)->writer.epoch,
                 node_record(daemon->node)->writer.node[0] != '\0'
                     ? node_record(daemon->node)->writer.node
                     : "none");
    }
    if (cmd->type == COMMAND_REPORT) {
        const struct config_node *n = config_find_node(&daemon->config, cmd->report.node_id);
        if (n != NULL) {
            daemon->last_report_ms[n - daemon->config.nodes] = clock_boottime_ms();
        } else {
            log_warn("record: report from '%s', which is not in %s", cmd->report.node_id,
                     daemon->config.path);
        }
    }
}

static void on_node_event(void *data, enum log_level level, const char *message)
{
    (void)data;
    log_msg(level, "%s", message);
}

static void handle_closed(uv_handle_t *handle)
{
    (void)handle;
}

static void control_closed(void *data)
{
    struct daemon *daemon = data;
    daemon->control = NULL;
}

static void host_closed(void *data)
{
    struct daemon *daemon = data;
    daemon->host = NULL;
}

static void node_closed(void *data)
{
    struct daemon *daemon = data;
    daemon->node = NULL;
    log_info("stopped");
}

static void daemon_stop(struct daemon *daemon)
{
    if (daemon->stopping) {
        return;
    }
    daemon->stopping = true;
    uv_timer_stop(&daemon->report_timer);
    uv_timer_stop(&daemon->watch_timer);
    uv_timer_stop(&daemon->kick_timer);
    uv_timer_stop(&daemon->lease_timer);
    uv_close((uv_handle_t *)&daemon->report_timer, handle_closed);
    uv_close((uv_handle_t *)&daemon->watch_timer, handle_closed);
    uv_close((uv_handle_t *)&daemon->kick_timer, handle_closed);
    uv_close((uv_handle_t *)&daemon->lease_timer, handle_closed);
    if (daemon->host != NULL) {
        host_close(daemon->host, host_closed, daemon);
    }
    /* The fencer keeps its deadline: a writer that stops still fences at the end of its lease. */
    fencer_client_close(daemon->fencer);
    daemon->fencer = NULL;
    uv_close((uv_handle_t *)&daemon->sigint, handle_closed);
    uv_close((uv_handle_t *)&daemon->sigterm, handle_closed);
    if (daemon->control != NULL) {
        control_close(daemon->control, control_closed, daemon);
    }
    if (daemon->node != NULL) {
        node_close(daemon->node, node_closed, daemon);
    }
}

static void on_signal(uv_signal_t *handle, int signum)
{
    struct daemon *daemon = handle->data;
    log_info("received %s: shutting down", strsignal(signum));
    daemon_stop(daemon);
}

/* The coordinator's view of the configuration. */
static void coordinator_options_from_config(const struct config *c, struct coordinator_options *o)
{
    memset(o, 0, sizeof *o);
    snprintf(o->local_id, sizeof o->local_id, "%s", c->local_id);
    for (unsigned i = 0; i < c->n_nodes && i < COORDINATOR_MAX_NODES; i++) {
        snprintf(o->nodes[i].id, sizeof o->nodes[i].id, "%s", c->nodes[i].id);
        o->nodes[i].candidate = c->nodes[i].candidate;
        o->n_nodes = i + 1;
    }
    config_lease_params(c, &o->lease);
    o->report_interval_ms = c->report_interval_ms;
    /* Health goes out on every change and every report interval: two missed reports and a
     * probe's time make it stale. */
    o->health_stale_ms = 2 * (uint64_t)c->report_interval_ms + c->probe_timeout_ms;
    o->allow_loss = c->promote_with_loss;
    if (getrandom(&o->nonce_base, sizeof o->nonce_base, 0) != (ssize_t)sizeof o->nonce_base) {
        o->nonce_base = clock_wall_ms() << 20 ^ (uint64_t)getpid();
    }
}

static void usage(FILE *out)
{
    fprintf(out, "Usage: mmcoordd --config FILE [--check] [--log-level LEVEL]\n"
                 "       mmcoordd --help | --version\n"
                 "\n"
                 "The mmcoord coordinator daemon: runs in the foreground and logs to stderr.\n"
                 "\n"
                 "  -c, --config FILE      configuration file (see mmcoord.conf(5)); required\n"
                 "  -t, --check            validate the configuration, the secret file and the\n"
                 "                         credentials file, then exit (0 valid, 2 invalid)\n"
                 "  -l, --log-level LEVEL  debug, info, warn or error (overrides the config)\n"
                 "  -h, --help             show this help and exit\n"
                 "  -V, --version          show the version and exit\n"
                 "\n"
                 "Exit status: 0 after a clean shutdown (SIGINT or SIGTERM), 1 when it cannot run\n"
                 "(address in use, data dir unusable), 2 for a bad command line or configuration,\n"
                 "3 when a raft write failed (restart it), 4 when this node's copy of the\n"
                 "cluster record lost entries (move its data dir away: mmcoordd(8) RECOVERY).\n");
}

/* Load and check everything the daemon needs before it touches the network. */
static int load(struct daemon *daemon, const char *path, bool *level_override,
                enum log_level override)
{
    char errmsg[CONFIG_ERRMSG_SIZE];
    int rv = config_load(path, &daemon->config, errmsg, sizeof errmsg);
    if (rv != 0) {
        fprintf(stderr, "mmcoordd: %s\n", errmsg);
        return EXIT_CONFIG;
    }
    rv = config_read_secret(daemon->config.secret_file, daemon->secret, &daemon->secret_len, errmsg,
                            sizeof errmsg);
    if (rv != 0) {
        fprintf(stderr, "mmcoordd: %s\n", errmsg);
        return EXIT_CONFIG;
    }
    if (daemon->config.mysql_credentials_file[0] != '\0') {
        rv =
            config_check_private_file(daemon->config.mysql_credentials_file, errmsg, sizeof errmsg);
        if (rv != 0) {
            fprintf(stderr, "mmcoordd: %s\n", errmsg);
            return EXIT_CONFIG;
        }
    }
    if (*level_override) {
        daemon->config.log_level = override;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'},    {"check", no_argument, NULL, 't'},
        {"log-level", required_argument, NULL, 'l'}, {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},         {NULL, 0, NULL, 0},
    };
    const char *config_path = NULL;
    bool check_only = false;
    bool level_override = false;
    enum log_level level = LOG_LEVEL_INFO;
    int opt;
    while ((opt = getopt_long(argc, argv, "c:tl:hV", options, NULL)) != -1) {
        switch (opt) {
        case 'c':
            config_path = optarg;
            break;
        case 't':
            check_only = true;
            break;
        case 'l':
            if (log_level_parse(optarg, &level) != 0) {
                fprintf(stderr, "mmcoordd: --log-level '%s': expected debug, info, warn or error\n",
                        optarg);
                return EXIT_CONFIG;
            }
            level_override = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("mmcoordd %s\n", PACKAGE_VERSION);
            return 0;
        default:
            usage(stderr);
            return EXIT_CONFIG;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "mmcoordd: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return EXIT_CONFIG;
    }
    if (config_path == NULL) {
        fprintf(stderr, "mmcoordd: --config FILE is required\n");
        usage(stderr);
        return EXIT_CONFIG;
    }

    static struct daemon daemon;
    int rv = load(&daemon, config_path, &level_override, level);
    if (rv != 0) {
        return rv;
    }
    if (check_only) {
        printf("mmcoordd: %s is valid (node %s, %u nodes, cluster %s)\n", config_path,
               daemon.config.local_id, daemon.config.n_nodes, daemon.config.cluster_name);
        return 0;
    }
    log_setup(daemon.config.local_id, daemon.config.log_level);
    /* libuv does not ignore SIGPIPE: a write to a peer that died would kill the daemon. */
    signal(SIGPIPE, SIG_IGN);

    daemon.loop = uv_default_loop();
    daemon.start_wall_ms = clock_wall_ms();
    daemon.logged_state = -1;
    const struct config_node *self = &daemon.config.nodes[daemon.config.local_index];
    log_info("mmcoordd %s starting: cluster %s, node %s, raft %s, data dir %s", PACKAGE_VERSION,
             daemon.config.cluster_name, self->id, self->raft_address, daemon.config.data_dir);

    char errmsg[512];
    struct coordinator_options copts;
    coordinator_options_from_config(&daemon.config, &copts);
    /* Test hook (docs/DESIGN.md section 10): hold each switchover step. Off when unset. */
    if (switchover_test_delay_parse(getenv(SWITCHOVER_TEST_DELAY_ENV), &copts.test_step_delay_ms,
                                    errmsg, sizeof errmsg) != 0) {
        log_error("cannot start: %s", errmsg);
        return EXIT_CONFIG;
    }
    if (copts.test_step_delay_ms != 0) {
        log_warn("test hook %s=%llu: every switchover step is held that long",
                 SWITCHOVER_TEST_DELAY_ENV, (unsigned long long)copts.test_step_delay_ms);
    }
    coordinator_init(&daemon.coord, &copts);
    struct host_options hopts = {
        .loop = daemon.loop,
        .config = &daemon.config,
        .on_health = on_health,
        .on_log = on_host_log,
        .data = &daemon,
    };
    rv = host_start(&hopts, &daemon.host, errmsg, sizeof errmsg);
    if (rv != 0) {
        log_error("cannot start: %s", errmsg);
        return 1;
    }
    rv = start_fencer(&daemon, errmsg, sizeof errmsg);
    if (rv != 0) {
        log_error("cannot start the fencer: %s", errmsg);
        return 1;
    }
    if (daemon.config.mysql_credentials_file[0] == '\0') {
        log_warn("no [local] mysql_credentials_file: MySQL is not probed, so this node never "
                 "becomes a candidate for writer");
    }
    struct node_options nopts = {
        .config = &daemon.config,
        .secret = daemon.secret,
        .secret_len = daemon.secret_len,
        .on_applied = on_applied,
        .on_event = on_node_event,
        .before_append = before_append,
        .data = &daemon,
    };
    rv = node_start(daemon.loop, &nopts, &daemon.node, errmsg, sizeof errmsg);
    if (rv != 0) {
        log_error("cannot start raft: %s", errmsg);
        return 1;
    }
    /* What a snapshot restored during the start (on_applied ignored it then). */
    coordinator_applied(&daemon.coord, node_record(daemon.node), NULL, 0, now_times());
    rv = control_start(daemon.loop, daemon.config.control_socket, daemon.config.control_group,
                       handle_request, &daemon, &daemon.control, errmsg, sizeof errmsg);
    if (rv != 0) {
        log_error("%s", errmsg);
        daemon.exit_status = 1;
        daemon.control = NULL;
    }
    uv_timer_init(daemon.loop, &daemon.report_timer);
    uv_timer_init(daemon.loop, &daemon.watch_timer);
    uv_timer_init(daemon.loop, &daemon.kick_timer);
    uv_timer_init(daemon.loop, &daemon.lease_timer);
    daemon.report_timer.data = &daemon;
    daemon.watch_timer.data = &daemon;
    daemon.kick_timer.data = &daemon;
    daemon.lease_timer.data = &daemon;
    uv_signal_init(daemon.loop, &daemon.sigint);
    uv_signal_init(daemon.loop, &daemon.sigterm);
    daemon.sigint.data = &daemon;
    daemon.sigterm.data = &daemon;
    if (daemon.exit_status != 0) {
        daemon_stop(&daemon);
    } else {
        uv_timer_start(&daemon.report_timer, on_report_timer, daemon.config.report_interval_ms,
                       daemon.config.report_interval_ms);
        uv_timer_start(&daemon.watch_timer, on_watch_timer, 0, daemon.config.heartbeat_ms);
        uv_signal_start(&daemon.sigint, on_signal, SIGINT);
        uv_signal_start(&daemon.sigterm, on_signal, SIGTERM);
        log_info("control socket %s ready", daemon.config.control_socket);
    }
    uv_run(daemon.loop, UV_RUN_DEFAULT);
    uv_loop_close(daemon.loop);
    explicit_bzero(daemon.secret, sizeof daemon.secret);
    return daemon.exit_status;
}
