/*
 * The cluster record's transitions and its snapshot format; see record.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord/record.h"

static const uint8_t snapshot_magic[4] = {'M', 'M', 'C', 'R'};

void record_init(struct record *record)
{
    memset(record, 0, sizeof *record);
}

const struct record_node *record_find_node(const struct record *record, const char *id)
{
    for (unsigned i = 0; i < record->n_nodes; i++) {
        if (strcmp(record->nodes[i].id, id) == 0) {
            return &record->nodes[i];
        }
    }
    return NULL;
}

bool record_diverged(const struct record *record, const struct command *cmd, char *why,
                     size_t whylen)
{
    uint64_t epoch;
    uint64_t known = record->writer.epoch;
    switch (cmd->type) {
    case COMMAND_SET_WRITER:
        epoch = cmd->set_writer.epoch;
        known += 1; /* the next one is expected */
        break;
    case COMMAND_RENEW:
        epoch = cmd->renew.epoch;
        break;
    case COMMAND_RELEASE:
        epoch = cmd->release.epoch;
        break;
    case COMMAND_OPENED:
        epoch = cmd->opened.epoch;
        break;
    default:
        return false;
    }
    if (epoch <= known) {
        return false;
    }
    snprintf(why, whylen,
             "a %s of epoch %llu while this node's record is at epoch %llu: epochs %llu to %llu "
             "were named in entries this node's log or snapshot does not have",
             command_type_name(cmd->type), (unsigned long long)epoch,
             (unsigned long long)record->writer.epoch, (unsigned long long)record->writer.epoch + 1,
             (unsigned long long)(cmd->type == COMMAND_SET_WRITER ? epoch - 1 : epoch));
    return true;
}

const struct record_epoch *record_find_epoch(const struct record *record, uint64_t epoch)
{
    for (unsigned i = 0; i < record->n_history; i++) {
        if (record->history[i].epoch == epoch) {
            return &record->history[i];
        }
    }
    return NULL;
}

/* The node entry for @id, created when new. NULL (and errmsg) when the record is full. */
static struct record_node *node_entry(struct record *record, const char *id, const char *what,
                                      char *errmsg, size_t errlen)
{
    struct record_node *node = (struct record_node *)record_find_node(record, id);
    if (node != NULL) {
        return node;
    }
    if (record->n_nodes == RECORD_MAX_NODES) {
        snprintf(errmsg, errlen, "%s from node '%s' refused: the record holds %d nodes", what, id,
                 RECORD_MAX_NODES);
        return NULL;
    }
    node = &record->nodes[record->n_nodes++];
    memset(node, 0, sizeof *node);
    snprintf(node->id, sizeof node->id, "%s", id);
    return node;
}

static int apply_report(struct record *record, const struct command_report *report, char *errmsg,
                        size_t errlen)
{
    struct record_node *node = node_entry(record, report->node_id, "report", errmsg, errlen);
    if (node == NULL) {
        return -ENOSPC;
    }
    snprintf(node->version, sizeof node->version, "%s", report->version);
    node->start_wall_ms = report->start_wall_ms;
    node->report_wall_ms = report->sent_wall_ms;
    node->report_seq = report->seq;
    node->mysql = report->mysql;
    node->n_reports++;
    return 0;
}

static int apply_health(struct record *record, const struct command_health *health, char *errmsg,
                        size_t errlen)
{
    struct record_node *node = node_entry(record, health->node_id, "health", errmsg, errlen);
    if (node == NULL) {
        return -ENOSPC;
    }
    node->has_health = true;
    node->health = *health;
    node->mysql = health->mysql;
    return 0;
}

static bool is_writer(const struct record *record, uint64_t epoch, const char *node)
{
    return epoch == record->writer.epoch && record->writer.node[0] != '\0' &&
           strcmp(node, record->writer.node) == 0;
}

static int apply_renew(struct record *record, const struct command_renew *renew, char *errmsg,
                       size_t errlen)
{
    if (!is_writer(record, renew->epoch, renew->node_id)) {
        snprintf(errmsg, errlen, "renew of epoch %llu by %s ignored: epoch %llu belongs to '%s'",
                 (unsigned long long)renew->epoch, renew->node_id,
                 (unsigned long long)record->writer.epoch, record->writer.node);
        return RECORD_IGNORED;
    }
    if (record->writer.released) {
        snprintf(errmsg, errlen, "renew of epoch %llu by %s ignored: it released the epoch",
                 (unsigned long long)renew->epoch, renew->node_id);
        return RECORD_IGNORED;
    }
    record->writer.renewals++;
    record->writer.last_nonce = renew->nonce;
    return 0;
}

static int apply_release(struct record *record, const struct command_release *release, char *errmsg,
                         size_t errlen)
{
    if (!is_writer(record, release->epoch, release->node_id)) {
        snprintf(errmsg, errlen, "release of epoch %llu by %s ignored: epoch %llu belongs to '%s'",
                 (unsigned long long)release->epoch, release->node_id,
                 (unsigned long long)record->writer.epoch, record->writer.node);
        return RECORD_IGNORED;
    }
    record->writer.released = true;
    snprintf(record->writer.release_reason, sizeof record->writer.release_reason, "%s",
             release->reason);
    return 0;
}

const char *record_switchover_step_name(uint8_t step)
{
    static const char *const names[] = {"none",      "begun",    "fenced",
                                        "caught_up", "switched", "rolling_back"};
    return step <= SWITCHOVER_STEP_MAX ? names[step] : "invalid";
}

const char *record_event_kind_name(uint8_t kind)
{
    switch (kind) {
    case RECORD_EVENT_MAINTENANCE_ON:
        return "maintenance_on";
    case RECORD_EVENT_MAINTENANCE_OFF:
        return "maintenance_off";
    case RECORD_EVENT_SWITCHOVER:
        return "switchover";
    case RECORD_EVENT_FORCED_FAILOVER:
        return "forced_failover";
    default:
        return "invalid";
    }
}

const char *record_outcome_name(uint8_t outcome)
{
    static const char *const names[] = {"", "done", "aborted", "rolled_back"};
    return outcome <= RECORD_OUTCOME_MAX ? names[outcome] : "invalid";
}

/* A new event at the end of the list (the oldest dropped when full), zeroed. */
static struct record_event *new_event(struct record *record, uint8_t kind)
{
    if (record->n_events == RECORD_EVENTS_MAX) {
        memmove(&record->events[0], &record->events[1],
                (RECORD_EVENTS_MAX - 1) * sizeof record->events[0]);
        record->n_events--;
    }
    struct record_event *e = &record->events[record->n_events++];
    memset(e, 0, sizeof *e);
    e->kind = kind;
    return e;
}

/* The switchover in progress ends with @outcome: it becomes an event, and the record holds
 * none. @reason replaces the sequence's own when not NULL. */
static void end_switchover(struct record *record, uint8_t outcome, const char *reason,
                           uint64_t ended_wall_ms)
{
    const struct record_switchover *sw = &record->switchover;
    struct record_event *e =
        new_event(record, sw->kind == SWITCHOVER_KIND_FORCED ? RECORD_EVENT_FORCED_FAILOVER
                                                             : RECORD_EVENT_SWITCHOVER);
    e->outcome = outcome;
    e->id = sw->id;
    e->uid = sw->uid;
    snprintf(e->via, sizeof e->via, "%s", sw->via);
    snprintf(e->from, sizeof e->from, "%s", sw->from);
    snprintf(e->to, sizeof e->to, "%s", sw->to);
    e->epoch = sw->epoch;
    e->new_epoch = sw->new_epoch;
    snprintf(e->reason, sizeof e->reason, "%s", reason != NULL ? reason : sw->reason);
    snprintf(e->gtid, sizeof e->gtid, "%s",
             sw->kind == SWITCHOVER_KIND_FORCED ? sw->missing : sw->final);
    e->begun_wall_ms = sw->begun_wall_ms;
    e->fenced_wall_ms = sw->fenced_wall_ms;
    e->caught_up_wall_ms = sw->caught_up_wall_ms;
    e->switched_wall_ms = sw->switched_wall_ms;
    const struct record_epoch *opened = record_find_epoch(record, sw->new_epoch);
    if (sw->new_epoch != 0 && opened != NULL) {
        e->opened_wall_ms = opened->opened_wall_ms;
    }
    e->ended_wall_ms = ended_wall_ms;
    memset(&record->switchover, 0, sizeof record->switchover);
}

/* What a SET_WRITER means for the switchover in progress; called before the epoch changes.
 * Returns the id of the switchover that named this writer (its switch or its rollback), or 0. */
static uint64_t switchover_on_set_writer(struct record *record,
                                         const struct command_set_writer *set)
{
    struct record_switchover *sw = &record->switchover;
    uint64_t id = sw->id;
    if (id == 0) {
        return 0;
    }
    bool forced = sw->kind == SWITCHOVER_KIND_FORCED;
    bool to_target = strcmp(set->node_id, sw->to) == 0;
    if (to_target &&
        ((!forced && sw->step == SWITCHOVER_STEP_CAUGHT_UP) ||
         (forced && (sw->step == SWITCHOVER_STEP_BEGUN || sw->step == SWITCHOVER_STEP_FENCED)))) {
        sw->step = SWITCHOVER_STEP_SWITCHED;
        sw->new_epoch = set->epoch;
        sw->switched_wall_ms = set->decided_wall_ms;
        return id;
    }
    sw->new_epoch = set->epoch;
    if (sw->step == SWITCHOVER_STEP_ROLLING_BACK) {
        end_switchover(record, RECORD_OUTCOME_ROLLED_BACK, NULL, set->decided_wall_ms);
        return id;
    }
    char why[CODEC_REASON_SIZE];
    snprintf(why, sizeof why, "superseded at step %s by epoch %llu (%s): %.120s",
             record_switchover_step_name(sw->step), (unsigned long long)set->epoch,
             set->node_id[0] != '\0' ? set->node_id : "no writer", set->reason);
    end_switchover(record, RECORD_OUTCOME_ABORTED, why, set->decided_wall_ms);
    return 0;
}

static int apply_set_writer(struct record *record, const struct command_set_writer *set,
                            char *errmsg, size_t errlen)
{
    if (set->epoch != record->writer.epoch + 1) {
        snprintf(errmsg, errlen, "set_writer for epoch %llu ignored: the current epoch is %llu",
                 (unsigned long long)set->epoch, (unsigned long long)record->writer.epoch);
        return RECORD_IGNORED;
    }
    uint64_t switchover_id = switchover_on_set_writer(record, set);
    if (record->n_history == RECORD_HISTORY_MAX) {
        memmove(&record->history[0], &record->history[1],
                (RECORD_HISTORY_MAX - 1) * sizeof record->history[0]);
        record->n_history--;
    }
    struct record_epoch *e = &record->history[record->n_history++];
    memset(e, 0, sizeof *e);
    e->epoch = set->epoch;
    snprintf(e->old_writer, sizeof e->old_writer, "%s", record->writer.node);
    snprintf(e->new_writer, sizeof e->new_writer, "%s", set->node_id);
    snprintf(e->reason, sizeof e->reason, "%s", set->reason);
    e->detected_wall_ms = set->detected_wall_ms;
    e->decided_wall_ms = set->decided_wall_ms;
    e->switchover_id = switchover_id;

    memset(&record->writer, 0, sizeof record->writer);
    record->writer.epoch = set->epoch;
    snprintf(record->writer.node, sizeof record->writer.node, "%s", set->node_id);
    return 0;
}

static int apply_opened(struct record *record, const struct command_opened *opened, char *errmsg,
                        size_t errlen)
{
    struct record_epoch *e = (struct record_epoch *)record_find_epoch(record, opened->epoch);
    if (!is_writer(record, opened->epoch, opened->node_id) || e == NULL) {
        snprintf(errmsg, errlen, "opened of epoch %llu by %s ignored: epoch %llu belongs to '%s'",
                 (unsigned long long)opened->epoch, opened->node_id,
                 (unsigned long long)record->writer.epoch, record->writer.node);
        return RECORD_IGNORED;
    }
    if (e->opened_wall_ms == 0) {
        e->opened_wall_ms = opened->opened_wall_ms;
    }
    return 0;
}

static int apply_maintenance(struct record *record, const struct command_maintenance *m,
                             char *errmsg, size_t errlen)
{
    struct record_maintenance *cur = &record->maintenance;
    if (cur->on == (m->on == 1)) {
        snprintf(errmsg, errlen, "maintenance %s ignored: it is %s already", m->on ? "on" : "off",
                 m->on ? "on" : "off");
        return RECORD_IGNORED;
    }
    memset(cur, 0, sizeof *cur); /* no bytes of an older reason left behind the new one */
    cur->on = m->on == 1;
    cur->uid = m->uid;
    cur->since_wall_ms = m->wall_ms;
    snprintf(cur->via, sizeof cur->via, "%s", m->via);
    snprintf(cur->reason, sizeof cur->reason, "%s", m->reason);
    struct record_event *e =
        new_event(record, m->on ? RECORD_EVENT_MAINTENANCE_ON : RECORD_EVENT_MAINTENANCE_OFF);
    e->uid = m->uid;
    snprintf(e->via, sizeof e->via, "%s", m->via);
    snprintf(e->reason, sizeof e->reason, "%s", m->reason);
    e->epoch = record->writer.epoch;
    e->begun_wall_ms = m->wall_ms;
    e->ended_wall_ms = m->wall_ms;
    return 0;
}

static int switchover_ignored(const struct record *record, char *errmsg, size_t errlen,
                              const char *what, uint64_t id, const char *why)
{
    snprintf(errmsg, errlen, "%s of switchover %llu ignored: %s (in progress: %llu, step %s)", what,
             (unsigned long long)id, why, (unsigned long long)record->switchover.id,
             record_switchover_step_name(record->switchover.step));
    return RECORD_IGNORED;
}

/* Shared by BEGIN and FORCE: may a new sequence @id start from @epoch? */
static const char *begin_refused(const struct record *record, uint64_t id, uint64_t epoch)
{
    if (record->switchover.id != 0) {
        return "another switchover is in progress";
    }
    if (id == record->last_switchover_id) {
        return "a duplicate";
    }
    for (unsigned i = 0; i < record->n_events; i++) {
        if (record->events[i].id == id) {
            return "a duplicate of one that ended";
        }
    }
    if (epoch != record->writer.epoch) {
        return "its epoch is not the current one";
    }
    return NULL;
}

static void begin(struct record *record, uint8_t kind, uint64_t id, uint64_t epoch,
                  const char *from, const char *to, uint64_t timeout_ms, uint32_t uid,
                  const char *via, uint64_t wall_ms)
{
    struct record_switchover *sw = &record->switchover;
    memset(sw, 0, sizeof *sw);
    sw->id = id;
    sw->kind = kind;
    sw->step = SWITCHOVER_STEP_BEGUN;
    sw->epoch = epoch;
    snprintf(sw->from, sizeof sw->from, "%s", from);
    snprintf(sw->to, sizeof sw->to, "%s", to);
    sw->timeout_ms = timeout_ms;
    sw->uid = uid;
    snprintf(sw->via, sizeof sw->via, "%s", via);
    sw->begun_wall_ms = wall_ms;
    record->last_switchover_id = id;
}

static int apply_switchover_begin(struct record *record, const struct command_switchover_begin *b,
                                  char *errmsg, size_t errlen)
{
    const char *why = begin_refused(record, b->id, b->epoch);
    if (why == NULL && (strcmp(b->from, record->writer.node) != 0 || record->writer.released)) {
        why = "its old writer does not hold the epoch (any more)";
    }
    if (why == NULL && strcmp(b->from, b->to) == 0) {
        why = "the target is the writer already";
    }
    if (why == NULL && record->maintenance.on) {
        why = "maintenance is on";
    }
    if (why != NULL) {
        return switchover_ignored(record, errmsg, errlen, "begin", b->id, why);
    }
    begin(record, SWITCHOVER_KIND_PLANNED, b->id, b->epoch, b->from, b->to, b->timeout_ms, b->uid,
          b->via, b->wall_ms);
    snprintf(record->switchover.reason, sizeof record->switchover.reason, "%s", b->reason);
    return 0;
}

static int apply_failover_force(struct record *record, const struct command_failover_force *f,
                                char *errmsg, size_t errlen)
{
    const char *why = begin_refused(record, f->id, f->epoch);
    if (why == NULL && strcmp(f->to, record->writer.node) == 0 && !record->writer.released) {
        why = "the target is the writer already";
    }
    if (why != NULL) {
        return switchover_ignored(record, errmsg, errlen, "forced failover", f->id, why);
    }
    begin(record, SWITCHOVER_KIND_FORCED, f->id, f->epoch, record->writer.node, f->to,
          f->timeout_ms, f->uid, f->via, f->wall_ms);
    snprintf(record->switchover.missing, sizeof record->switchover.missing, "%s", f->missing);
    snprintf(record->switchover.reason, sizeof record->switchover.reason,
             "forced by the operator (uid %lu)", (unsigned long)f->uid);
    return 0;
}

static int apply_switchover_fenced(struct record *record, const struct command_switchover_fenced *f,
                                   char *errmsg, size_t errlen)
{
    struct record_switchover *sw = &record->switchover;
    if (f->id != sw->id || sw->step != SWITCHOVER_STEP_BEGUN) {
        return switchover_ignored(record, errmsg, errlen, "fenced", f->id, "not at step begun");
    }
    if (f->epoch != sw->epoch || !is_writer(record, f->epoch, f->node) ||
        strcmp(f->node, sw->from) != 0) {
        return switchover_ignored(record, errmsg, errlen, "fenced", f->id,
                                  "not from the old writer of its epoch");
    }
    sw->step = SWITCHOVER_STEP_FENCED;
    sw->flavor = f->flavor;
    snprintf(sw->final, sizeof sw->final, "%s", f->executed);
    sw->fenced_wall_ms = f->wall_ms;
    /* Fenced for the handover: the epoch is given up, exactly like RELEASE. */
    if (!record->writer.released) {
        record->writer.released = true;
        snprintf(record->writer.release_reason, sizeof record->writer.release_reason,
                 "fenced for switchover %llu to %s", (unsigned long long)sw->id, sw->to);
    }
    return 0;
}

static int apply_switchover_caught_up(struct record *record,
                                      const struct command_switchover_caught_up *c, char *errmsg,
                                      size_t errlen)
{
    struct record_switchover *sw = &record->switchover;
    if (c->id != sw->id || sw->step != SWITCHOVER_STEP_FENCED ||
        sw->kind != SWITCHOVER_KIND_PLANNED) {
        return switchover_ignored(record, errmsg, errlen, "caught_up", c->id,
                                  "not at step fenced of a planned switchover");
    }
    if (strcmp(c->node, sw->to) != 0) {
        return switchover_ignored(record, errmsg, errlen, "caught_up", c->id, "not the target");
    }
    sw->step = SWITCHOVER_STEP_CAUGHT_UP;
    sw->caught_up_wall_ms = c->wall_ms;
    return 0;
}

static int apply_switchover_done(struct record *record, const struct command_switchover_done *d,
                                 char *errmsg, size_t errlen)
{
    const struct record_switchover *sw = &record->switchover;
    if (d->id != sw->id || sw->step != SWITCHOVER_STEP_SWITCHED || d->epoch != sw->new_epoch ||
        record->writer.epoch != sw->new_epoch) {
        return switchover_ignored(record, errmsg, errlen, "done", d->id,
                                  "not at step switched in its epoch");
    }
    end_switchover(record, RECORD_OUTCOME_DONE, NULL, d->wall_ms);
    return 0;
}

static int apply_switchover_abort(struct record *record, const struct command_switchover_abort *a,
                                  char *errmsg, size_t errlen)
{
    struct record_switchover *sw = &record->switchover;
    if (a->id != sw->id || sw->id == 0 || sw->step == SWITCHOVER_STEP_ROLLING_BACK) {
        return switchover_ignored(record, errmsg, errlen, "abort", a->id,
                                  "not in progress, or rolling back already");
    }
    if (sw->step == SWITCHOVER_STEP_FENCED || sw->step == SWITCHOVER_STEP_CAUGHT_UP) {
        /* The old writer released its epoch: it comes back only under a new one. */
        sw->step = SWITCHOVER_STEP_ROLLING_BACK;
        memset(sw->reason, 0, sizeof sw->reason);
        snprintf(sw->reason, sizeof sw->reason, "%s", a->reason);
        return 0;
    }
    end_switchover(record, RECORD_OUTCOME_ABORTED, a->reason, a->wall_ms);
    return 0;
}

int record_apply(struct record *record, const struct command *cmd, char *errmsg, size_t errlen)
{
    record->n_applied++;
    switch (cmd->type) {
    case COMMAND_REPORT:
        return apply_report(record, &cmd->report, errmsg, errlen);
    case COMMAND_HEALTH:
        return apply_health(record, &cmd->health, errmsg, errlen);
    case COMMAND_RENEW:
        return apply_renew(record, &cmd->renew, errmsg, errlen);
    case COMMAND_RELEASE:
        return apply_release(record, &cmd->release, errmsg, errlen);
    case COMMAND_SET_WRITER:
        return apply_set_writer(record, &cmd->set_writer, errmsg, errlen);
    case COMMAND_OPENED:
        return apply_opened(record, &cmd->opened, errmsg, errlen);
    case COMMAND_MAINTENANCE:
        return apply_maintenance(record, &cmd->maintenance, errmsg, errlen);
    case COMMAND_SWITCHOVER_BEGIN:
        return apply_switchover_begin(record, &cmd->switchover_begin, errmsg, errlen);
    case COMMAND_FAILOVER_FORCE:
        return apply_failover_force(record, &cmd->failover_force, errmsg, errlen);
    case COMMAND_SWITCHOVER_FENCED:
        return apply_switchover_fenced(record, &cmd->switchover_fenced, errmsg, errlen);
    case COMMAND_SWITCHOVER_CAUGHT_UP:
        return apply_switchover_caught_up(record, &cmd->switchover_caught_up, errmsg, errlen);
    case COMMAND_SWITCHOVER_DONE:
        return apply_switchover_done(record, &cmd->switchover_done, errmsg, errlen);
    case COMMAND_SWITCHOVER_ABORT:
        return apply_switchover_abort(record, &cmd->switchover_abort, errmsg, errlen);
    default:
        snprintf(errmsg, errlen, "unknown command type %u", (unsigned)cmd->type);
        return -EINVAL;
    }
}

int record_encode(const struct record *record, uint8_t *buf, size_t cap, size_t *len)
{
    struct codec_writer w;
    codec_writer_init(&w, buf, cap);
    for (size_t i = 0; i < sizeof snapshot_magic; i++) {
        codec_put_u8(&w, snapshot_magic[i]);
    }
    codec_put_u32(&w, RECORD_FORMAT_VERSION);
    codec_put_u64(&w, record->n_applied);
    const struct record_writer *wr = &record->writer;
    codec_put_u64(&w, wr->epoch);
    codec_put_string(&w, wr->node);
    codec_put_u8(&w, wr->released);
    codec_put_string(&w, wr->release_reason);
    codec_put_u64(&w, wr->renewals);
    codec_put_u64(&w, wr->last_nonce);
    codec_put_u16(&w, (uint16_t)record->n_nodes);
    for (unsigned i = 0; i < record->n_nodes; i++) {
        const struct record_node *n = &record->nodes[i];
        codec_put_string(&w, n->id);
        codec_put_string(&w, n->version);
        codec_put_u64(&w, n->start_wall_ms);
        codec_put_u64(&w, n->report_wall_ms);
        codec_put_u64(&w, n->report_seq);
        codec_put_u64(&w, n->n_reports);
        codec_put_u8(&w, n->mysql);
        codec_put_u8(&w, n->has_health);
        if (n->has_health && command_health_put(&w, &n->health) != 0) {
            return -EINVAL;
        }
    }
    codec_put_u16(&w, (uint16_t)record->n_history);
    for (unsigned i = 0; i < record->n_history; i++) {
        const struct record_epoch *e = &record->history[i];
        codec_put_u64(&w, e->epoch);
        codec_put_string(&w, e->old_writer);
        codec_put_string(&w, e->new_writer);
        codec_put_string(&w, e->reason);
        codec_put_u64(&w, e->detected_wall_ms);
        codec_put_u64(&w, e->decided_wall_ms);
        codec_put_u64(&w, e->opened_wall_ms);
        codec_put_u64(&w, e->switchover_id);
    }
    const struct record_maintenance *m = &record->maintenance;
    codec_put_u8(&w, m->on);
    codec_put_u32(&w, m->uid);
    codec_put_u64(&w, m->since_wall_ms);
    codec_put_string(&w, m->via);
    codec_put_string(&w, m->reason);
    const struct record_switchover *sw = &record->switchover;
    codec_put_u64(&w, record->last_switchover_id);
    codec_put_u64(&w, sw->id);
    if (sw->id != 0) {
        codec_put_u8(&w, sw->kind);
        codec_put_u8(&w, sw->step);
        codec_put_u64(&w, sw->epoch);
        codec_put_u64(&w, sw->new_epoch);
        codec_put_string(&w, sw->from);
        codec_put_string(&w, sw->to);
        codec_put_u64(&w, sw->timeout_ms);
        codec_put_u32(&w, sw->uid);
        codec_put_string(&w, sw->via);
        codec_put_string(&w, sw->reason);
        codec_put_u8(&w, sw->flavor);
        codec_put_string(&w, sw->final);
        codec_put_string(&w, sw->missing);
        codec_put_u64(&w, sw->begun_wall_ms);
        codec_put_u64(&w, sw->fenced_wall_ms);
        codec_put_u64(&w, sw->caught_up_wall_ms);
        codec_put_u64(&w, sw->switched_wall_ms);
    }
    codec_put_u16(&w, (uint16_t)record->n_events);
    for (unsigned i = 0; i < record->n_events; i++) {
        const struct record_event *e = &record->events[i];
        codec_put_u8(&w, e->kind);
        codec_put_u8(&w, e->outcome);
        codec_put_u64(&w, e->id);
        codec_put_u32(&w, e->uid);
        codec_put_string(&w, e->via);
        codec_put_string(&w, e->from);
        codec_put_string(&w, e->to);
        codec_put_u64(&w, e->epoch);
        codec_put_u64(&w, e->new_epoch);
        codec_put_string(&w, e->reason);
        codec_put_string(&w, e->gtid);
        codec_put_u64(&w, e->begun_wall_ms);
        codec_put_u64(&w, e->fenced_wall_ms);
        codec_put_u64(&w, e->caught_up_wall_ms);
        codec_put_u64(&w, e->switched_wall_ms);
        codec_put_u64(&w, e->opened_wall_ms);
        codec_put_u64(&w, e->ended_wall_ms);
    }
    if (w.error != 0) {
        return w.error;
    }
    *len = w.offset;
    return 0;
}

static int decode_fail(char *errmsg, size_t errlen, const char *what)
{
    snprintf(errmsg, errlen, "snapshot: %s", what);
    return -EINVAL;
}

/* The nodes of a snapshot; format 1 has no health. Returns 0 or -EINVAL (errmsg set). */
static int decode_nodes(struct codec_reader *r, uint32_t version, struct record *rec, char *errmsg,
                        size_t errlen)
{
    uint16_t n_nodes = codec_get_u16(r, "n_nodes");
    if (r->error == 0 && n_nodes > RECORD_MAX_NODES) {
        snprintf(errmsg, errlen, "snapshot: %u nodes, at most %d allowed", (unsigned)n_nodes,
                 RECORD_MAX_NODES);
        return -EINVAL;
    }
    for (unsigned i = 0; r->error == 0 && i < n_nodes; i++) {
        struct record_node *n = &rec->nodes[i];
        codec_get_string(r, "node id", n->id, sizeof n->id);
        codec_get_string(r, "node version", n->version, sizeof n->version);
        n->start_wall_ms = codec_get_u64(r, "start_wall_ms");
        n->report_wall_ms = codec_get_u64(r, "report_wall_ms");
        n->report_seq = codec_get_u64(r, "report_seq");
        n->n_reports = codec_get_u64(r, "n_reports");
        n->mysql = codec_get_u8(r, "mysql");
        if (version >= 2) {
            uint8_t has = codec_get_u8(r, "has_health");
            if (r->error == 0 && has > 1) {
                return decode_fail(errmsg, errlen, "has_health is neither 0 nor 1");
            }
            n->has_health = has == 1;
            if (n->has_health) {
                command_health_get(r, &n->health);
            }
        }
        if (r->error != 0) {
            break;
        }
        if (n->id[0] == '\0' || n->mysql > MYSQL_VIEW_MAX) {
            snprintf(errmsg, errlen, "snapshot: node %u has an empty id or a bad mysql state", i);
            return -EINVAL;
        }
        if (n->has_health && strcmp(n->health.node_id, n->id) != 0) {
            snprintf(errmsg, errlen, "snapshot: node '%s' holds the health of '%s'", n->id,
                     n->health.node_id);
            return -EINVAL;
        }
        if (record_find_node(rec, n->id) != NULL) {
            snprintf(errmsg, errlen, "snapshot: node '%s' appears twice", n->id);
            return -EINVAL;
        }
        rec->n_nodes = i + 1;
    }
    return 0;
}

static int decode_switchover(struct codec_reader *r, struct record_switchover *sw, char *errmsg,
                             size_t errlen)
{
    sw->kind = codec_get_u8(r, "switchover kind");
    sw->step = codec_get_u8(r, "switchover step");
    sw->epoch = codec_get_u64(r, "switchover epoch");
    sw->new_epoch = codec_get_u64(r, "switchover new_epoch");
    codec_get_string(r, "switchover from", sw->from, sizeof sw->from);
    codec_get_string(r, "switchover to", sw->to, sizeof sw->to);
    sw->timeout_ms = codec_get_u64(r, "switchover timeout_ms");
    sw->uid = codec_get_u32(r, "switchover uid");
    codec_get_string(r, "switchover via", sw->via, sizeof sw->via);
    codec_get_string(r, "switchover reason", sw->reason, sizeof sw->reason);
    sw->flavor = codec_get_u8(r, "switchover flavor");
    codec_get_string(r, "switchover final", sw->final, sizeof sw->final);
    codec_get_string(r, "switchover missing", sw->missing, sizeof sw->missing);
    sw->begun_wall_ms = codec_get_u64(r, "switchover begun_wall_ms");
    sw->fenced_wall_ms = codec_get_u64(r, "switchover fenced_wall_ms");
    sw->caught_up_wall_ms = codec_get_u64(r, "switchover caught_up_wall_ms");
    sw->switched_wall_ms = codec_get_u64(r, "switchover switched_wall_ms");
    if (r->error == 0 && (sw->kind < SWITCHOVER_KIND_PLANNED || sw->kind > SWITCHOVER_KIND_FORCED ||
                          sw->step == SWITCHOVER_STEP_NONE || sw->step > SWITCHOVER_STEP_MAX ||
                          sw->flavor > 1 || sw->to[0] == '\0' || sw->timeout_ms == 0)) {
        return decode_fail(errmsg, errlen, "the switchover in progress is out of bounds");
    }
    return 0;
}

/* Format 3: maintenance, the switchover in progress and the events. */
static int decode_operator_state(struct codec_reader *r, struct record *rec, char *errmsg,
                                 size_t errlen)
{
    struct record_maintenance *m = &rec->maintenance;
    uint8_t on = codec_get_u8(r, "maintenance on");
    m->uid = codec_get_u32(r, "maintenance uid");
    m->since_wall_ms = codec_get_u64(r, "maintenance since_wall_ms");
    codec_get_string(r, "maintenance via", m->via, sizeof m->via);
    codec_get_string(r, "maintenance reason", m->reason, sizeof m->reason);
    if (r->error == 0 && on > 1) {
        return decode_fail(errmsg, errlen, "maintenance is neither 0 nor 1");
    }
    m->on = on == 1;
    rec->last_switchover_id = codec_get_u64(r, "last_switchover_id");
    rec->switchover.id = codec_get_u64(r, "switchover id");
    if (r->error == 0 && rec->switchover.id != 0) {
        int rv = decode_switchover(r, &rec->switchover, errmsg, errlen);
        if (rv != 0) {
            return rv;
        }
        if (r->error == 0 && (rec->switchover.id != rec->last_switchover_id ||
                              rec->switchover.epoch > rec->writer.epoch)) {
            return decode_fail(errmsg, errlen,
                               "the switchover in progress is not the newest or is ahead of the "
                               "current epoch");
        }
    }
    uint16_t n_events = codec_get_u16(r, "n_events");
    if (r->error == 0 && n_events > RECORD_EVENTS_MAX) {
        snprintf(errmsg, errlen, "snapshot: %u events, at most %d allowed", (unsigned)n_events,
                 RECORD_EVENTS_MAX);
        return -EINVAL;
    }
    for (unsigned i = 0; r->error == 0 && i < n_events; i++) {
        struct record_event *e = &rec->events[i];
        e->kind = codec_get_u8(r, "event kind");
        e->outcome = codec_get_u8(r, "event outcome");
        e->id = codec_get_u64(r, "event id");
        e->uid = codec_get_u32(r, "event uid");
        codec_get_string(r, "event via", e->via, sizeof e->via);
        codec_get_string(r, "event from", e->from, sizeof e->from);
        codec_get_string(r, "event to", e->to, sizeof e->to);
        e->epoch = codec_get_u64(r, "event epoch");
        e->new_epoch = codec_get_u64(r, "event new_epoch");
        codec_get_string(r, "event reason", e->reason, sizeof e->reason);
        codec_get_string(r, "event gtid", e->gtid, sizeof e->gtid);
        e->begun_wall_ms = codec_get_u64(r, "event begun_wall_ms");
        e->fenced_wall_ms = codec_get_u64(r, "event fenced_wall_ms");
        e->caught_up_wall_ms = codec_get_u64(r, "event caught_up_wall_ms");
        e->switched_wall_ms = codec_get_u64(r, "event switched_wall_ms");
        e->opened_wall_ms = codec_get_u64(r, "event opened_wall_ms");
        e->ended_wall_ms = codec_get_u64(r, "event ended_wall_ms");
        if (r->error == 0 &&
            (e->kind == 0 || e->kind > RECORD_EVENT_KIND_MAX || e->outcome > RECORD_OUTCOME_MAX)) {
            return decode_fail(errmsg, errlen, "an event has an unknown kind or outcome");
        }
        rec->n_events = i + 1;
    }
    return 0;
}

/* Decode into @rec (zeroed first); on failure @rec holds a partial record. */
static int decode_record(const uint8_t *buf, size_t len, struct record *rec, char *errmsg,
                         size_t errlen)
{
    struct codec_reader r;
    codec_reader_init(&r, buf, len);
    record_init(rec);
    uint8_t magic[4];
    for (size_t i = 0; i < sizeof magic; i++) {
        magic[i] = codec_get_u8(&r, "magic");
    }
    uint32_t version = codec_get_u32(&r, "format version");
    if (r.error == 0 && memcmp(magic, snapshot_magic, sizeof magic) != 0) {
        return decode_fail(errmsg, errlen, "bad magic (not an mmcoord record snapshot)");
    }
    if (r.error == 0 && (version < 1 || version > RECORD_FORMAT_VERSION)) {
        snprintf(errmsg, errlen,
                 "snapshot: unknown record format version %u (this build reads 1 to %u): "
                 "upgrade this node",
                 (unsigned)version, (unsigned)RECORD_FORMAT_VERSION);
        return -EINVAL;
    }
    rec->n_applied = codec_get_u64(&r, "n_applied");
    if (version >= 2) {
        struct record_writer *wr = &rec->writer;
        wr->epoch = codec_get_u64(&r, "epoch");
        codec_get_string(&r, "writer", wr->node, sizeof wr->node);
        uint8_t released = codec_get_u8(&r, "released");
        codec_get_string(&r, "release_reason", wr->release_reason, sizeof wr->release_reason);
        wr->renewals = codec_get_u64(&r, "renewals");
        wr->last_nonce = codec_get_u64(&r, "last_nonce");
        if (r.error == 0 && released > 1) {
            return decode_fail(errmsg, errlen, "released is neither 0 nor 1");
        }
        wr->released = released == 1;
    }
    int rv = decode_nodes(&r, version, rec, errmsg, errlen);
    if (rv != 0) {
        return rv;
    }
    if (version >= 2) {
        uint16_t n_history = codec_get_u16(&r, "n_history");
        if (r.error == 0 && n_history > RECORD_HISTORY_MAX) {
            snprintf(errmsg, errlen, "snapshot: %u history entries, at most %d allowed",
                     (unsigned)n_history, RECORD_HISTORY_MAX);
            return -EINVAL;
        }
        for (unsigned i = 0; r.error == 0 && i < n_history; i++) {
            struct record_epoch *e = &rec->history[i];
            e->epoch = codec_get_u64(&r, "history epoch");
            codec_get_string(&r, "old_writer", e->old_writer, sizeof e->old_writer);
            codec_get_string(&r, "new_writer", e->new_writer, sizeof e->new_writer);
            codec_get_string(&r, "reason", e->reason, sizeof e->reason);
            e->detected_wall_ms = codec_get_u64(&r, "detected_wall_ms");
            e->decided_wall_ms = codec_get_u64(&r, "decided_wall_ms");
            e->opened_wall_ms = codec_get_u64(&r, "opened_wall_ms");
            if (version >= 3) {
                e->switchover_id = codec_get_u64(&r, "switchover_id");
            }
            if (r.error == 0 && (e->epoch == 0 || e->epoch > rec->writer.epoch ||
                                 (i > 0 && e->epoch <= rec->history[i - 1].epoch))) {
                return decode_fail(errmsg, errlen,
                                   "history epochs are not increasing up to the current epoch");
            }
            rec->n_history = i + 1;
        }
    }
    if (version >= 3) {
        rv = decode_operator_state(&r, rec, errmsg, errlen);
        if (rv != 0) {
            return rv;
        }
    }
    codec_expect_end(&r, "snapshot");
    if (r.error != 0) {
        snprintf(errmsg, errlen, "snapshot: %s", r.errmsg);
        return r.error;
    }
    return 0;
}

int record_decode(const uint8_t *buf, size_t len, struct record *out, char *errmsg, size_t errlen)
{
    struct record *rec = malloc(sizeof *rec); /* large: kept off the stack */
    if (rec == NULL) {
        snprintf(errmsg, errlen, "snapshot: out of memory");
        return -ENOMEM;
    }
    int rv = decode_record(buf, len, rec, errmsg, errlen);
    if (rv == 0) {
        *out = *rec;
    }
    free(rec);
    return rv;
}
