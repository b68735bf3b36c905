/*
 * The switchover sequence, forced failover and maintenance as pure functions; see
 * switchover.h for the steps and why they keep one writer at every instant.
 */
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "coord/switchover.h"
#include "mysql/gtid.h"

static void set_reason(char *out, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_reason(char *out, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, size, fmt, ap);
    va_end(ap);
}

static bool empty(const char *s)
{
    return s == NULL || s[0] == '\0';
}

const char *switchover_kind_name(uint8_t kind)
{
    switch (kind) {
    case SWITCHOVER_KIND_PLANNED:
        return "planned";
    case SWITCHOVER_KIND_FORCED:
        return "forced";
    default:
        return "invalid";
    }
}

static const struct switchover_node *find(const struct switchover_view *v, const char *id)
{
    for (unsigned i = 0; i < v->n_nodes; i++) {
        if (strcmp(v->nodes[i].id, id) == 0) {
            return &v->nodes[i];
        }
    }
    return NULL;
}

static bool healthy(const struct switchover_node *n)
{
    return n != NULL && n->fresh && n->health != NULL && n->health->mysql == MYSQL_VIEW_UP;
}

/* Why @n cannot take the writer over right now, as a short phrase, or NULL. @planned adds the
 * checks that only a catch-up needs (replicating, no errant transactions, the verdict). */
static const char *target_problem(const struct switchover_node *n, bool planned, char *buf,
                                  size_t size)
{
    if (n->health == NULL) {
        return "has no health report (is its daemon running?)";
    }
    if (!n->fresh) {
        return "has no fresh health report (its daemon is down or cut off)";
    }
    if (n->health->mysql != MYSQL_VIEW_UP) {
        set_reason(buf, size, "has its mysqld %s", mysql_view_name(n->health->mysql));
        return buf;
    }
    if (!planned) {
        return NULL;
    }
    if (!n->health->replicating || !n->health->io_running || !n->health->sql_running) {
        set_reason(buf, size, "does not replicate (%s%s%s): it cannot catch up",
                   !n->health->replicating ? "no source configured" : "",
                   n->health->replicating && !n->health->io_running ? "IO thread stopped" : "",
                   n->health->replicating && n->health->io_running ? "SQL thread stopped" : "");
        return buf;
    }
    if (!empty(n->errant)) {
        set_reason(buf, size,
                   "has errant transactions %.100s (the writer never received them): remove "
                   "them or rebuild it before it can take over",
                   n->errant);
        return buf;
    }
    if (n->verdict_known && !n->promotable) {
        set_reason(buf, size, "cannot be promoted: %.150s", empty(n->why) ? "?" : n->why);
        return buf;
    }
    return NULL;
}

/* Lag in seconds for ordering: unknown counts as worst. */
static int64_t lag_of(const struct switchover_node *n)
{
    return n->health->lag_s < 0 ? INT64_MAX : n->health->lag_s;
}

static int refuse(struct switchover_check_result *out, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int refuse(struct switchover_check_result *out, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->reason, sizeof out->reason, fmt, ap);
    va_end(ap);
    out->status = status;
    return status;
}

/* Usage checks on a named target. */
static int check_target_usage(const struct switchover_view *v, const char *to,
                              struct switchover_check_result *out)
{
    const struct switchover_node *n = find(v, to);
    const struct record_writer *w = &v->record->writer;
    if (n == NULL) {
        char known[160] = "";
        size_t used = 0;
        for (unsigned i = 0; i < v->n_nodes && used < sizeof known; i++) {
            used += (size_t)snprintf(known + used, sizeof known - used, "%s%s", i ? ", " : "",
                                     v->nodes[i].id);
        }
        return refuse(out, SWITCHOVER_USAGE, "unknown node '%s' (the configuration has: %s)", to,
                      known);
    }
    if (!n->candidate) {
        return refuse(out, SWITCHOVER_USAGE,
                      "%s is not a candidate (candidate = no in its [node] section): it can "
                      "never be the writer",
                      to);
    }
    if (strcmp(w->node, to) == 0 && !w->released) {
        return refuse(out, SWITCHOVER_USAGE, "%s is the writer already (epoch %llu): nothing to do",
                      to, (unsigned long long)w->epoch);
    }
    return SWITCHOVER_OK;
}

/* State checks on a planned target; 0 or SWITCHOVER_REFUSED with the reason. */
static int check_planned_target(const struct switchover_node *n, uint64_t timeout_ms,
                                struct switchover_check_result *out)
{
    char buf[CODEC_REASON_SIZE];
    const char *why = target_problem(n, true, buf, sizeof buf);
    if (why != NULL) {
        return refuse(out, SWITCHOVER_REFUSED, "target %s %s", n->id, why);
    }
    if (n->health->lag_s >= 0 && (uint64_t)n->health->lag_s * 1000 > timeout_ms) {
        return refuse(out, SWITCHOVER_REFUSED,
                      "target %s is %lld s behind, beyond the timeout of %llu s: wait until it "
                      "catches up, or give a longer --timeout",
                      n->id, (long long)n->health->lag_s, (unsigned long long)(timeout_ms / 1000));
    }
    return SWITCHOVER_OK;
}

static int check_planned(const struct switchover_view *v, const struct switchover_request *req,
                         struct switchover_check_result *out)
{
    const struct record *r = v->record;
    const struct record_writer *w = &r->writer;
    if (r->maintenance.on) {
        return refuse(out, SWITCHOVER_REFUSED,
                      "maintenance is on (%.120s, uid %lu): turn it off first (mmctl maintenance "
                      "off)",
                      r->maintenance.reason[0] != '\0' ? r->maintenance.reason : "no reason given",
                      (unsigned long)r->maintenance.uid);
    }
    if (w->node[0] == '\0' || w->released) {
        return refuse(out, SWITCHOVER_REFUSED,
                      "no writer holds epoch %llu%s: automatic failover is in charge (mmctl "
                      "failover --to NODE --force overrides it)",
                      (unsigned long long)w->epoch, w->released ? " (released)" : "");
    }
    const struct record_epoch *e = record_find_epoch(r, w->epoch);
    if (e == NULL || e->opened_wall_ms == 0) {
        return refuse(out, SWITCHOVER_REFUSED,
                      "writer %s has not opened epoch %llu yet: try again in a moment", w->node,
                      (unsigned long long)w->epoch);
    }
    const struct switchover_node *writer = find(v, w->node);
    if (!healthy(writer)) {
        return refuse(out, SWITCHOVER_REFUSED,
                      "writer %s is not healthy (no fresh report of its mysqld up): a switchover "
                      "needs its final position (mmctl failover --to NODE --force overrides)",
                      w->node);
    }
    snprintf(out->from, sizeof out->from, "%s", w->node);
    if (!empty(req->to)) {
        const struct switchover_node *n = find(v, req->to);
        if (check_planned_target(n, out->timeout_ms, out) != SWITCHOVER_OK) {
            return out->status;
        }
        snprintf(out->to, sizeof out->to, "%s", n->id);
        set_reason(out->reason, sizeof out->reason, "%s asked for by the operator", n->id);
        return SWITCHOVER_OK;
    }
    /* Pick: every candidate but the writer that passes, least lag first. */
    const struct switchover_node *best = NULL;
    char others[CODEC_REASON_SIZE] = "";
    size_t used = 0;
    for (unsigned i = 0; i < v->n_nodes; i++) {
        const struct switchover_node *n = &v->nodes[i];
        if (!n->candidate || strcmp(n->id, w->node) == 0) {
            continue;
        }
        struct switchover_check_result tmp;
        memset(&tmp, 0, sizeof tmp);
        if (check_planned_target(n, out->timeout_ms, &tmp) != SWITCHOVER_OK) {
            if (used < sizeof others) {
                used += (size_t)snprintf(others + used, sizeof others - used, "%s%.100s",
                                         used > 0 ? "; " : "", tmp.reason);
            }
            continue;
        }
        if (best == NULL || lag_of(n) < lag_of(best)) {
            best = n;
        }
    }
    if (best == NULL) {
        return refuse(out, SWITCHOVER_REFUSED, "no candidate can take over from %s: %s", w->node,
                      others[0] != '\0' ? others : "there is no other candidate");
    }
    snprintf(out->to, sizeof out->to, "%s", best->id);
    char lag[32];
    if (best->health->lag_s >= 0) {
        snprintf(lag, sizeof lag, "%lld s", (long long)best->health->lag_s);
    } else {
        snprintf(lag, sizeof lag, "unknown");
    }
    set_reason(out->reason, sizeof out->reason,
               "%s picked: healthy, replicating, no errant transactions, lag %s%s%.120s", best->id,
               lag, others[0] != '\0' ? "; not " : "", others);
    return SWITCHOVER_OK;
}

static int check_forced(const struct switchover_view *v, const struct switchover_request *req,
                        struct switchover_check_result *out)
{
    const struct switchover_node *n = find(v, req->to);
    char buf[CODEC_REASON_SIZE];
    const char *why = target_problem(n, false, buf, sizeof buf);
    if (why != NULL) {
        return refuse(out, SWITCHOVER_REFUSED, "target %s %s: a forced failover needs it up", n->id,
                      why);
    }
    snprintf(out->from, sizeof out->from, "%s", v->record->writer.node);
    snprintf(out->to, sizeof out->to, "%s", n->id);
    snprintf(out->missing, sizeof out->missing, "%s", empty(n->missing) ? "" : n->missing);
    if (req->accept_missing == NULL) {
        out->confirm = true;
        set_reason(out->reason, sizeof out->reason, "%s lacks %.150s: confirm to go ahead", n->id,
                   out->missing[0] != '\0' ? out->missing : "nothing the others hold");
        return SWITCHOVER_OK;
    }
    if (strcmp(req->accept_missing, out->missing) != 0) {
        return refuse(out, SWITCHOVER_REFUSED,
                      "what %s lacks changed since it was confirmed: now %.150s; run it again",
                      n->id, out->missing[0] != '\0' ? out->missing : "nothing");
    }
    set_reason(out->reason, sizeof out->reason, "forced to %s, accepting the loss of %.150s", n->id,
               out->missing[0] != '\0' ? out->missing : "nothing");
    return SWITCHOVER_OK;
}

int switchover_check(const struct switchover_view *view, const struct switchover_request *req,
                     struct switchover_check_result *out)
{
    memset(out, 0, sizeof *out);
    const struct record *r = view->record;
    bool forced = req->kind == SWITCHOVER_KIND_FORCED;
    out->timeout_ms = req->timeout_ms != 0 ? req->timeout_ms : SWITCHOVER_DEFAULT_TIMEOUT_MS;
    if (req->kind != SWITCHOVER_KIND_PLANNED && !forced) {
        return refuse(out, SWITCHOVER_USAGE, "unknown kind of request %u", (unsigned)req->kind);
    }
    if (out->timeout_ms < SWITCHOVER_MIN_TIMEOUT_MS ||
        out->timeout_ms > SWITCHOVER_MAX_TIMEOUT_MS) {
        return refuse(out, SWITCHOVER_USAGE, "timeout %llu ms is out of range (%d to %d s)",
                      (unsigned long long)out->timeout_ms, SWITCHOVER_MIN_TIMEOUT_MS / 1000,
                      SWITCHOVER_MAX_TIMEOUT_MS / 1000);
    }
    if (forced && empty(req->to)) {
        return refuse(out, SWITCHOVER_USAGE, "a forced failover needs its target (--to NODE)");
    }
    if (!empty(req->to) && check_target_usage(view, req->to, out) != SWITCHOVER_OK) {
        return out->status;
    }
    const struct record_switchover *sw = &r->switchover;
    if (sw->id != 0) {
        return refuse(out, SWITCHOVER_REFUSED,
                      "%s %llu (%s to %s) is in progress at step %s: wait for it to end",
                      sw->kind == SWITCHOVER_KIND_FORCED ? "forced failover" : "switchover",
                      (unsigned long long)sw->id, sw->from[0] != '\0' ? sw->from : "none", sw->to,
                      record_switchover_step_name(sw->step));
    }
    return forced ? check_forced(view, req, out) : check_planned(view, req, out);
}

void switchover_begin_command(const struct record *record, const struct switchover_request *req,
                              const struct switchover_check_result *ok, uint64_t id, uint32_t uid,
                              const char *via, uint64_t wall_ms, struct command *out)
{
    memset(out, 0, sizeof *out);
    if (req->kind == SWITCHOVER_KIND_FORCED) {
        struct command_failover_force *f = &out->failover_force;
        out->type = COMMAND_FAILOVER_FORCE;
        f->id = id;
        f->epoch = record->writer.epoch;
        snprintf(f->to, sizeof f->to, "%s", ok->to);
        f->timeout_ms = ok->timeout_ms;
        f->uid = uid;
        f->wall_ms = wall_ms;
        snprintf(f->via, sizeof f->via, "%s", via);
        snprintf(f->missing, sizeof f->missing, "%s", ok->missing);
        return;
    }
    struct command_switchover_begin *b = &out->switchover_begin;
    out->type = COMMAND_SWITCHOVER_BEGIN;
    b->id = id;
    b->epoch = record->writer.epoch;
    snprintf(b->from, sizeof b->from, "%s", ok->from);
    snprintf(b->to, sizeof b->to, "%s", ok->to);
    b->timeout_ms = ok->timeout_ms;
    b->uid = uid;
    b->wall_ms = wall_ms;
    snprintf(b->via, sizeof b->via, "%s", via);
    snprintf(b->reason, sizeof b->reason, "%s", ok->reason);
}

void switchover_maintenance_command(bool on, const char *reason, uint32_t uid, const char *via,
                                    uint64_t wall_ms, struct command *out)
{
    memset(out, 0, sizeof *out);
    out->type = COMMAND_MAINTENANCE;
    out->maintenance.on = on ? 1 : 0;
    out->maintenance.uid = uid;
    out->maintenance.wall_ms = wall_ms;
    snprintf(out->maintenance.via, sizeof out->maintenance.via, "%s", via);
    snprintf(out->maintenance.reason, sizeof out->maintenance.reason, "%.*s",
             (int)sizeof out->maintenance.reason - 1, reason != NULL ? reason : "");
}

/* ---- The leader ---- */

static void act_abort(struct switchover_action *out, const struct record_switchover *sw,
                      uint64_t wall_ms)
{
    out->kind = SWITCHOVER_ACT_PROPOSE;
    out->cmd.type = COMMAND_SWITCHOVER_ABORT;
    out->cmd.switchover_abort.id = sw->id;
    out->cmd.switchover_abort.wall_ms = wall_ms;
    snprintf(out->cmd.switchover_abort.reason, sizeof out->cmd.switchover_abort.reason, "%s",
             out->reason);
}

static void act_set_writer(struct switchover_action *out, const struct record *r, const char *node,
                           uint64_t detected_wall_ms, uint64_t wall_ms)
{
    out->kind = SWITCHOVER_ACT_PROPOSE;
    out->cmd.type = COMMAND_SET_WRITER;
    struct command_set_writer *s = &out->cmd.set_writer;
    s->epoch = r->writer.epoch + 1;
    snprintf(s->node_id, sizeof s->node_id, "%s", node);
    snprintf(s->reason, sizeof s->reason, "%s", out->reason);
    s->detected_wall_ms = detected_wall_ms;
    s->decided_wall_ms = wall_ms;
}

/* The sequence's name for reasons: "switchover 7" or "forced failover 7". */
static const char *label(const struct record_switchover *sw)
{
    return sw->kind == SWITCHOVER_KIND_FORCED ? "forced failover" : "switchover";
}

void switchover_leader_step(const struct switchover_leader_input *in, struct switchover_action *out)
{
    memset(out, 0, sizeof *out);
    const struct record *r = in->view->record;
    const struct record_switchover *sw = &r->switchover;
    if (sw->id == 0) {
        out->kind = SWITCHOVER_ACT_NONE;
        return;
    }
    unsigned long long id = (unsigned long long)sw->id;
    const char *what = label(sw);
    const char *from = sw->from[0] != '\0' ? sw->from : "no writer";
    bool planned = sw->kind == SWITCHOVER_KIND_PLANNED;
    bool timed_out = in->elapsed_ms >= sw->timeout_ms;
    const struct switchover_node *target = find(in->view, sw->to);
    char buf[CODEC_REASON_SIZE];
    const char *problem = NULL;
    if (target == NULL) {
        problem = "is not in this node's configuration";
    } else if (sw->step < SWITCHOVER_STEP_SWITCHED) {
        problem = target_problem(target, planned, buf, sizeof buf);
    }
    /* After FENCED the old writer has released its epoch: stopping means rolling back. */
    const char *stage = sw->step == SWITCHOVER_STEP_BEGUN ? "aborted" : "rolling back";

    switch (sw->step) {
    case SWITCHOVER_STEP_BEGUN:
    case SWITCHOVER_STEP_FENCED:
        if (problem != NULL) {
            set_reason(out->reason, sizeof out->reason, "%s %llu %s: target %s %s", what, id, stage,
                       sw->to, problem);
            act_abort(out, sw, in->wall_ms);
            return;
        }
        if (planned && sw->step == SWITCHOVER_STEP_BEGUN && in->lease_over) {
            /* It renews while it fences: a lease that ran out means it is gone. */
            set_reason(out->reason, sizeof out->reason,
                       "%s %llu aborted: %s %s%.100s before it fenced for it; the automatic "
                       "rules take over",
                       what, id, from,
                       r->writer.released ? "released its epoch: " : "let its lease run out",
                       r->writer.released ? r->writer.release_reason : "");
            act_abort(out, sw, in->wall_ms);
            return;
        }
        if (timed_out) {
            if (sw->step == SWITCHOVER_STEP_BEGUN) {
                set_reason(out->reason, sizeof out->reason,
                           "%s %llu %s: %s did not fence within %llu ms", what, id, stage, from,
                           (unsigned long long)sw->timeout_ms);
            } else {
                set_reason(out->reason, sizeof out->reason,
                           "%s %llu rolling back: %s did not apply %s's final position %.60s "
                           "within %llu ms",
                           what, id, sw->to, from, sw->final, (unsigned long long)sw->timeout_ms);
            }
            act_abort(out, sw, in->wall_ms);
            return;
        }
        if (!planned) {
            if (in->lease_over) {
                set_reason(out->reason, sizeof out->reason,
                           "%s %llu: %s to %s, asked by uid %lu via %s, accepting the loss of "
                           "%.100s",
                           what, id, from, sw->to, (unsigned long)sw->uid, sw->via,
                           sw->missing[0] != '\0' ? sw->missing : "nothing");
                act_set_writer(out, r, sw->to, sw->begun_wall_ms, in->wall_ms);
                return;
            }
            out->kind = SWITCHOVER_ACT_WAIT;
            set_reason(out->reason, sizeof out->reason,
                       "%s %llu: waiting for %s to fence or its lease to run out (%llu ms)", what,
                       id, from, (unsigned long long)in->lease_remaining_ms);
            return;
        }
        out->kind = SWITCHOVER_ACT_WAIT;
        if (sw->step == SWITCHOVER_STEP_BEGUN) {
            set_reason(out->reason, sizeof out->reason,
                       "%s %llu: waiting for %s to fence and report its final position", what, id,
                       from);
        } else {
            set_reason(out->reason, sizeof out->reason,
                       "%s %llu: waiting for %s to apply %s's final position %.100s", what, id,
                       sw->to, from, sw->final);
        }
        return;
    case SWITCHOVER_STEP_CAUGHT_UP:
        /* Caught up means ready: switching now is the quickest way to end the write pause,
         * whatever the clock says. */
        if (problem != NULL) {
            set_reason(out->reason, sizeof out->reason, "%s %llu rolling back: target %s %s", what,
                       id, sw->to, problem);
            act_abort(out, sw, in->wall_ms);
            return;
        }
        if (!in->lease_over) {
            out->kind = SWITCHOVER_ACT_WAIT;
            set_reason(out->reason, sizeof out->reason,
                       "%s %llu: %s caught up; waiting %llu ms more for %s's lease", what, id,
                       sw->to, (unsigned long long)in->lease_remaining_ms, from);
            return;
        }
        set_reason(out->reason, sizeof out->reason,
                   "%s %llu: %s to %s, asked by uid %lu via %s; %s applied %s's final position",
                   what, id, from, sw->to, (unsigned long)sw->uid, sw->via, sw->to, from);
        act_set_writer(out, r, sw->to, sw->begun_wall_ms, in->wall_ms);
        return;
    case SWITCHOVER_STEP_SWITCHED: {
        const struct record_epoch *e = record_find_epoch(r, sw->new_epoch);
        if (e != NULL && e->opened_wall_ms != 0) {
            set_reason(out->reason, sizeof out->reason, "%s %llu: %s opened epoch %llu: done", what,
                       id, sw->to, (unsigned long long)sw->new_epoch);
            out->kind = SWITCHOVER_ACT_PROPOSE;
            out->cmd.type = COMMAND_SWITCHOVER_DONE;
            out->cmd.switchover_done.id = sw->id;
            out->cmd.switchover_done.epoch = sw->new_epoch;
            out->cmd.switchover_done.wall_ms = in->wall_ms;
            return;
        }
        if (timed_out) {
            set_reason(out->reason, sizeof out->reason,
                       "%s %llu ended: %s did not open epoch %llu within %llu ms; the automatic "
                       "rules decide from here",
                       what, id, sw->to, (unsigned long long)sw->new_epoch,
                       (unsigned long long)sw->timeout_ms);
            act_abort(out, sw, in->wall_ms);
            return;
        }
        out->kind = SWITCHOVER_ACT_DEFER;
        set_reason(out->reason, sizeof out->reason, "%s %llu: waiting for %s to open epoch %llu",
                   what, id, sw->to, (unsigned long long)sw->new_epoch);
        return;
    }
    case SWITCHOVER_STEP_ROLLING_BACK: {
        const struct switchover_node *old = find(in->view, sw->from);
        if (!healthy(old)) {
            out->kind = SWITCHOVER_ACT_DEFER;
            set_reason(out->reason, sizeof out->reason,
                       "%s %llu rolling back (%.80s), but %s is not healthy: the automatic rules "
                       "choose the writer",
                       what, id, sw->reason, from);
            return;
        }
        if (!in->lease_over) {
            out->kind = SWITCHOVER_ACT_WAIT;
            set_reason(out->reason, sizeof out->reason,
                       "%s %llu rolling back: waiting %llu ms for the lease", what, id,
                       (unsigned long long)in->lease_remaining_ms);
            return;
        }
        set_reason(out->reason, sizeof out->reason,
                   "%s %llu rolled back (%.120s): %s reopens under a fresh lease", what, id,
                   sw->reason, from);
        act_set_writer(out, r, sw->from, sw->begun_wall_ms, in->wall_ms);
        return;
    }
    default:
        out->kind = SWITCHOVER_ACT_NONE;
        return;
    }
}

/* ---- Every node ---- */

bool switchover_holds_fenced(const struct record *record, const char *node, char *reason,
                             size_t reasonlen)
{
    const struct record_switchover *sw = &record->switchover;
    if (sw->id == 0 || sw->step == SWITCHOVER_STEP_SWITCHED || strcmp(sw->from, node) != 0 ||
        record->writer.epoch != sw->epoch || strcmp(record->writer.node, node) != 0) {
        return false;
    }
    if (reason != NULL) {
        set_reason(reason, reasonlen, "%s %llu: fenced for the handover to %s (step %s)", label(sw),
                   (unsigned long long)sw->id, sw->to, record_switchover_step_name(sw->step));
    }
    return true;
}

bool switchover_keeps_vip(const struct record *record, const char *node)
{
    const struct record_switchover *sw = &record->switchover;
    return sw->kind == SWITCHOVER_KIND_PLANNED && sw->step == SWITCHOVER_STEP_BEGUN &&
           !record->writer.released && switchover_holds_fenced(record, node, NULL, 0);
}

const char *switchover_catch_up_to(const struct record *record, const char *node)
{
    const struct record_switchover *sw = &record->switchover;
    if (sw->id == 0 || sw->kind != SWITCHOVER_KIND_PLANNED || strcmp(sw->to, node) != 0 ||
        (sw->step != SWITCHOVER_STEP_FENCED && sw->step != SWITCHOVER_STEP_CAUGHT_UP)) {
        return NULL;
    }
    return sw->final;
}

/* True when @executed (in @flavor) holds every transaction of @final. An unreadable set holds
 * nothing: the target then never reports caught up and the leader times out. */
static bool holds(uint8_t flavor, const char *executed, const char *final)
{
    enum gtid_flavor f = flavor ? GTID_FLAVOR_MYSQL : GTID_FLAVOR_MARIADB;
    struct gtid_set *have = NULL, *need = NULL;
    char err[128];
    bool ok = gtid_set_parse(f, executed, &have, err, sizeof err) == 0 &&
              gtid_set_parse(f, final, &need, err, sizeof err) == 0 &&
              gtid_set_contains(have, need);
    gtid_set_free(have);
    gtid_set_free(need);
    return ok;
}

bool switchover_node_step(const struct record *record, const struct switchover_local *local,
                          struct command *out)
{
    const struct record_switchover *sw = &record->switchover;
    const struct command_health *h = local->health;
    memset(out, 0, sizeof *out);
    if (sw->id == 0 || h == NULL || h->mysql != MYSQL_VIEW_UP) {
        return false;
    }
    if (sw->step == SWITCHOVER_STEP_BEGUN &&
        switchover_holds_fenced(record, local->node, NULL, 0) && !record->writer.released) {
        /* The epoch must have opened: an open still in flight could turn read_only off after
         * the probe that saw it on, and the final position would then be a lie. The VIP must
         * be gone: FENCED lets the target be named and add it. */
        const struct record_epoch *e = record_find_epoch(record, sw->epoch);
        if (!local->probed_since_fence || !h->read_only || local->vip_held || e == NULL ||
            e->opened_wall_ms == 0) {
            return false;
        }
        out->type = COMMAND_SWITCHOVER_FENCED;
        struct command_switchover_fenced *f = &out->switchover_fenced;
        f->id = sw->id;
        f->epoch = sw->epoch;
        snprintf(f->node, sizeof f->node, "%s", local->node);
        f->flavor = h->flavor;
        snprintf(f->executed, sizeof f->executed, "%s", h->executed);
        f->wall_ms = local->wall_ms;
        return true;
    }
    if (sw->step == SWITCHOVER_STEP_FENCED && sw->kind == SWITCHOVER_KIND_PLANNED &&
        strcmp(sw->to, local->node) == 0 && holds(sw->flavor, h->executed, sw->final)) {
        out->type = COMMAND_SWITCHOVER_CAUGHT_UP;
        struct command_switchover_caught_up *c = &out->switchover_caught_up;
        c->id = sw->id;
        snprintf(c->node, sizeof c->node, "%s", local->node);
        snprintf(c->executed, sizeof c->executed, "%s", h->executed);
        c->wall_ms = local->wall_ms;
        return true;
    }
    return false;
}

/* ---- JSON for the control socket ---- */

json_t *switchover_maintenance_json(const struct record *record)
{
    const struct record_maintenance *m = &record->maintenance;
    return json_pack("{s:b, s:s, s:I, s:s, s:I}", "on", m->on, "reason", m->reason, "uid",
                     (json_int_t)m->uid, "via", m->via, "since_wall_ms",
                     (json_int_t)m->since_wall_ms);
}

json_t *switchover_progress_json(const struct record *record)
{
    const struct record_switchover *sw = &record->switchover;
    if (sw->id == 0) {
        return json_null();
    }
    json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:s, s:s}", "id",
                          (json_int_t)sw->id, "kind", switchover_kind_name(sw->kind), "step",
                          record_switchover_step_name(sw->step), "from", sw->from, "to", sw->to,
                          "epoch", (json_int_t)sw->epoch, "new_epoch", (json_int_t)sw->new_epoch,
                          "timeout_ms", (json_int_t)sw->timeout_ms, "uid", (json_int_t)sw->uid,
                          "via", sw->via, "reason", sw->reason);
    if (o == NULL) {
        return NULL;
    }
    json_object_set_new(o, "final", json_string(sw->final));
    json_object_set_new(o, "missing", json_string(sw->missing));
    json_object_set_new(o, "begun_wall_ms", json_integer((json_int_t)sw->begun_wall_ms));
    json_object_set_new(o, "fenced_wall_ms", json_integer((json_int_t)sw->fenced_wall_ms));
    json_object_set_new(o, "caught_up_wall_ms", json_integer((json_int_t)sw->caught_up_wall_ms));
    json_object_set_new(o, "switched_wall_ms", json_integer((json_int_t)sw->switched_wall_ms));
    return o;
}

static json_t *event_json(const struct record_event *e)
{
    json_t *o =
        json_pack("{s:s, s:s, s:I, s:I, s:s, s:s, s:s, s:I, s:I, s:s, s:s}", "kind",
                  record_event_kind_name(e->kind), "outcome", record_outcome_name(e->outcome), "id",
                  (json_int_t)e->id, "uid", (json_int_t)e->uid, "via", e->via, "from", e->from,
                  "to", e->to, "epoch", (json_int_t)e->epoch, "new_epoch", (json_int_t)e->new_epoch,
                  "reason", e->reason, "gtid", e->gtid);
    if (o == NULL) {
        return NULL;
    }
    json_object_set_new(o, "begun_wall_ms", json_integer((json_int_t)e->begun_wall_ms));
    json_object_set_new(o, "fenced_wall_ms", json_integer((json_int_t)e->fenced_wall_ms));
    json_object_set_new(o, "caught_up_wall_ms", json_integer((json_int_t)e->caught_up_wall_ms));
    json_object_set_new(o, "switched_wall_ms", json_integer((json_int_t)e->switched_wall_ms));
    json_object_set_new(o, "opened_wall_ms", json_integer((json_int_t)e->opened_wall_ms));
    json_object_set_new(o, "ended_wall_ms", json_integer((json_int_t)e->ended_wall_ms));
    bool paused =
        e->opened_wall_ms != 0 && e->begun_wall_ms != 0 && e->opened_wall_ms >= e->begun_wall_ms;
    json_object_set_new(o, "write_pause_ms",
                        paused ? json_integer((json_int_t)(e->opened_wall_ms - e->begun_wall_ms))
                               : json_null());
    return o;
}

json_t *switchover_events_json(const struct record *record)
{
    json_t *a = json_array();
    for (unsigned i = 0; a != NULL && i < record->n_events; i++) {
        json_array_append_new(a, event_json(&record->events[i]));
    }
    return a;
}

json_t *switchover_state_json(const struct record *record, uint64_t id)
{
    json_t *o = NULL;
    const char *state = "unknown";
    if (id != 0 && record->switchover.id == id) {
        o = switchover_progress_json(record);
        state = "in_progress";
    } else {
        for (unsigned i = record->n_events; id != 0 && i-- > 0;) {
            const struct record_event *e = &record->events[i];
            if (e->id == id &&
                (e->kind == RECORD_EVENT_SWITCHOVER || e->kind == RECORD_EVENT_FORCED_FAILOVER)) {
                o = event_json(e);
                state = record_outcome_name(e->outcome);
                break;
            }
        }
    }
    if (o == NULL) {
        o = json_object();
    }
    if (o != NULL) {
        json_object_set_new(o, "id", json_integer((json_int_t)id));
        json_object_set_new(o, "state", json_string(state));
    }
    return o;
}

/* ---- Test hook ---- */

int switchover_test_delay_parse(const char *text, uint64_t *delay_ms, char *errmsg, size_t errlen)
{
    *delay_ms = 0;
    if (text == NULL || text[0] == '\0') {
        return 0;
    }
    uint64_t v = 0;
    const char *p = text;
    /* Digits only, and stop counting past the bound so that a long string cannot overflow. */
    for (; *p >= '0' && *p <= '9' && v <= SWITCHOVER_TEST_DELAY_MAX_MS; p++) {
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (*p != '\0' || v > SWITCHOVER_TEST_DELAY_MAX_MS) {
        snprintf(errmsg, errlen, "%s='%.40s': expected milliseconds from 0 to %u (0 or unset: off)",
                 SWITCHOVER_TEST_DELAY_ENV, text, SWITCHOVER_TEST_DELAY_MAX_MS);
        return -EINVAL;
    }
    *delay_ms = v;
    return 0;
}

void switchover_test_delay_note(struct switchover_test_delay *d, const struct record *record,
                                uint64_t now_ms)
{
    const struct record_switchover *sw = &record->switchover;
    if (d->delay_ms == 0 || (d->id == sw->id && d->step == sw->step)) {
        return;
    }
    d->id = sw->id;
    d->step = sw->step;
    d->since_ms = now_ms;
}

bool switchover_test_delay_holds(const struct switchover_test_delay *d, uint64_t now_ms)
{
    return d->delay_ms != 0 && now_ms - d->since_ms < d->delay_ms;
}
