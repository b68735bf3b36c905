/*
 * Planned switchover, forced failover and maintenance: the pure sequence logic of issue 8.
 * Nothing here reads a clock or touches a server: the record (coord/record.h) holds the
 * sequence, and these functions say, from the record, local facts and durations passed in,
 * what each node does next. coord/coordinator.c calls them; the daemon and mmctl only carry
 * requests in and results out.
 *
 * A planned switchover from the writer W of epoch e to the target T, one log entry per step:
 *
 *   1. BEGIN(id, e, W, T, timeout, who)  any daemon that took the operator's request, after
 *                                        switchover_check() passed
 *   2. W fences its host (its target turns fenced the moment it applies BEGIN), and once a
 *      probe taken after that says read_only is ON and its host no longer holds the VIP,
 *      proposes FENCED(id, e, final executed set). Applying FENCED releases epoch e, exactly
 *      like RELEASE. In a planned switchover W's host keeps the VIP while it fences (at most
 *      until its lease's fence time, switchover_keeps_vip()) and removes it once fenced: a
 *      client that connects meanwhile meets the fenced server (a greeting, then an error)
 *      instead of a TCP connection to an address that vanished under it, whose server can no
 *      longer send it anything.
 *   3. T (still replicating from W) applies up to that final position; when its own executed
 *      set contains it, it proposes CAUGHT_UP(id).
 *   4. The leader proposes SET_WRITER(e+1, T) with a reason naming the switchover. The lease
 *      rule is the usual one: e is released, so the leader need not wait the lease out.
 *   5. T renews, opens (its usual open path) and reports OPENED; the leader proposes DONE(id).
 *
 * Why one writer at every instant: W's target is fenced from BEGIN on (and for good from
 * FENCED on, since the epoch is released), W proposes FENCED only after seeing read_only ON,
 * and SET_WRITER(T) is proposed only once FENCED (a release) is committed, or, for a forced
 * failover, once W's lease is waited out. T opens only after it applies SET_WRITER and its
 * own first RENEW, as every new writer does.
 *
 * The leader times each sequence on its own clock from when it applied BEGIN (the record holds
 * the timeout as a duration, never a clock). On a timeout, or when the target turns unhealthy
 * on the way (or W's lease runs out before it fenced: W is gone), it proposes ABORT: before
 * FENCED the old writer simply keeps its epoch and reopens (it kept renewing while fenced);
 * after FENCED the sequence rolls back: the leader names W writer of a new epoch (a fresh
 * lease), or, when W is not healthy either, leaves the choice to the automatic rules. Once
 * CAUGHT_UP is in, the leader switches whatever the clock says: that ends the write pause
 * soonest. A new leader resumes from the record alone: each step above is a function of the
 * record, so it finishes the sequence or rolls it back; it never leaves it half-done.
 * Maintenance turned on during a sequence does not stop it.
 *
 * A forced failover (FAILOVER_FORCE) skips the catch-up: the old writer, if alive, fences and
 * reports FENCED; the leader names T once the old epoch is released or its lease ran out,
 * whatever T lacks (the operator accepted that loss, recorded with who asked).
 *
 * Maintenance is a flag in the record: the leader makes no automatic change of writer while
 * it is on (coordinator.c says so in its decision); leases are held and renewed as usual.
 * A planned switchover is refused while it is on; a forced failover is not.
 */
#ifndef MMC_SWITCHOVER_H
#define MMC_SWITCHOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coord/codec.h"
#include "coord/record.h"

#define SWITCHOVER_DEFAULT_TIMEOUT_MS 10000
#define SWITCHOVER_MIN_TIMEOUT_MS     1000
#define SWITCHOVER_MAX_TIMEOUT_MS     3600000

/* The class of a refusal, which is also mmctl's exit status for it. */
enum switchover_status {
    SWITCHOVER_OK = 0,
    SWITCHOVER_REFUSED = 1, /* the cluster's state forbids it now (unhealthy, lagging, ...) */
    SWITCHOVER_USAGE = 2,   /* the request is wrong (unknown node, not a candidate, ...) */
};

/* What the deciding daemon knows of one configured node. The verdict fields come from the
 * status verdict of coord/decide.c (promotable, why, errant, missing); a caller without one
 * sets verdict_known false and only the health checks here apply. */
struct switchover_node {
    const char *id;
    bool candidate;                      /* configuration */
    bool fresh;                          /* its health report arrived recently enough */
    const struct command_health *health; /* its latest health in the record, NULL when none */
    bool verdict_known;
    bool promotable;     /* the verdict: it may become the writer (catching up aside) */
    const char *why;     /* when not promotable: why (shown to the operator) */
    const char *errant;  /* its errant GTIDs (the writer never received them), NULL or "" */
    const char *missing; /* what it lacks that reachable servers hold, NULL or "" */
};

/* The record and the nodes, as one daemon sees them. */
struct switchover_view {
    const struct record *record;
    const struct switchover_node *nodes;
    unsigned n_nodes;
};

struct switchover_request {
    uint8_t kind;               /* SWITCHOVER_KIND_PLANNED or SWITCHOVER_KIND_FORCED */
    const char *to;             /* the target; NULL or "" to pick the best (planned only) */
    uint64_t timeout_ms;        /* 0 for SWITCHOVER_DEFAULT_TIMEOUT_MS */
    const char *accept_missing; /* forced: the loss the operator confirmed, NULL to only ask */
};

struct switchover_check_result {
    int status; /* enum switchover_status */
    char from[CODEC_ID_SIZE];
    char to[CODEC_ID_SIZE];
    uint64_t timeout_ms;
    char reason[CODEC_REASON_SIZE]; /* the refusal, or why this target */
    char missing[CODEC_GTID_SIZE];  /* forced: what the target lacks (may be lost) */
    bool confirm;                   /* forced without accept_missing: ask, then send again */
};

/* May @req start now? Fills @out (always) and returns out->status. Checked in this order:
 * usage (timeout out of [SWITCHOVER_MIN_TIMEOUT_MS, SWITCHOVER_MAX_TIMEOUT_MS], unknown node,
 * not a candidate, already the writer, no target for a forced failover), then state (another
 * switchover in progress, maintenance on (planned), no writer holding the epoch or one that
 * has not opened yet or is not healthy (planned), a target without fresh health, with mysqld
 * not up, not replicating (planned), with errant transactions (planned), refused by the
 * verdict (planned), lagging more seconds than the timeout (planned), or, forced, a loss that
 * differs from the one confirmed). Without a target, the candidate (other than the writer)
 * that passes and lags least, first in configuration order on a tie, and the reason says why
 * it and not the others. */
int switchover_check(const struct switchover_view *view, const struct switchover_request *req,
                     struct switchover_check_result *out);

/* The BEGIN (planned) or FAILOVER_FORCE entry for a request that passed switchover_check() as
 * @ok. @id: a fresh random non-zero number; @uid: the peer uid on the control socket; @via:
 * this daemon's node id; @wall_ms: its wall clock (display only). */
void switchover_begin_command(const struct record *record, const struct switchover_request *req,
                              const struct switchover_check_result *ok, uint64_t id, uint32_t uid,
                              const char *via, uint64_t wall_ms, struct command *out);

/* The MAINTENANCE entry: on or off, with the operator's reason (may be ""; cut to fit). */
void switchover_maintenance_command(bool on, const char *reason, uint32_t uid, const char *via,
                                    uint64_t wall_ms, struct command *out);

/* ---- The leader ---- */

struct switchover_leader_input {
    const struct switchover_view *view;
    bool lease_over;             /* lease_leader_may_promote() for the current epoch */
    uint64_t lease_remaining_ms; /* for the reason while not over */
    uint64_t elapsed_ms;         /* since this leader applied the BEGIN (or first saw it) */
    uint64_t wall_ms;            /* for the entries' display times */
};

enum switchover_action_kind {
    SWITCHOVER_ACT_NONE,    /* no sequence in progress: the automatic rules apply */
    SWITCHOVER_ACT_WAIT,    /* wait (reason says for what); no automatic change meanwhile */
    SWITCHOVER_ACT_PROPOSE, /* propose @cmd (ABORT, SET_WRITER or DONE); no automatic change */
    SWITCHOVER_ACT_DEFER,   /* in progress, but the automatic rules decide about the writer:
                               the target holds the new epoch, or a rollback's old writer is
                               not healthy */
};

struct switchover_action {
    enum switchover_action_kind kind;
    struct command cmd;             /* PROPOSE */
    char reason[CODEC_REASON_SIZE]; /* always set when a sequence is in progress */
};

/* What the leader does about the sequence in the record (see the top of this file). Pure. */
void switchover_leader_step(const struct switchover_leader_input *in,
                            struct switchover_action *out);

/* ---- Every node ---- */

/* True when @node must stay fenced because a sequence takes its epoch away (it is the old
 * writer and the sequence has begun); @reason (may be NULL) says so. */
bool switchover_holds_fenced(const struct record *record, const char *node, char *reason,
                             size_t reasonlen);

/* True when @node is the old writer of a planned switchover at step begun that still holds
 * the epoch (not released): its host may keep the VIP while it fences, within its lease,
 * and removes it once fenced. False in every other case (a forced failover, a later step, a
 * released epoch), where a node that is not writable drops the VIP at once. */
bool switchover_keeps_vip(const struct record *record, const char *node);

/* The final position @node must apply before the switch (it is the target and the old writer
 * has fenced), or NULL. The host may wait for it (MASTER_GTID_WAIT / WAIT_FOR_EXECUTED_GTID_SET)
 * and probe at once, so that CAUGHT_UP goes out without waiting for the next probe. */
const char *switchover_catch_up_to(const struct record *record, const char *node);

struct switchover_local {
    const char *node;                    /* this node's id */
    const struct command_health *health; /* its latest probe, NULL when none yet */
    bool probed_since_fence;             /* that probe completed after the host was told to fence */
    bool vip_held; /* the host still holds the VIP (as far as it knows: held or maybe held) */
    uint64_t wall_ms;
};

/* What this node proposes for the sequence: FENCED when it is the old writer, fenced (a probe
 * since the fence says read_only ON, and its host no longer holds the VIP, so that the next
 * writer never adds it while this host has it) and its epoch has opened; CAUGHT_UP when it is the
 * target and its executed set contains the final position. Returns true with @out filled, or
 * false. The caller re-proposes when the record does not move (forwarding is best effort). */
bool switchover_node_step(const struct record *record, const struct switchover_local *local,
                          struct command *out);

/* "planned", "forced". */
const char *switchover_kind_name(uint8_t kind);

/* ---- What the control socket shows (fields documented for mmctl(8)) ----
 * jansson values (json_t), declared here without jansson.h so that users of the pure part need
 * not include it; the daemon links jansson anyway. */
struct json_t;

/* {"on", "reason", "uid", "via", "since_wall_ms"}: the maintenance flag. New reference. */
struct json_t *switchover_maintenance_json(const struct record *record);

/* The sequence in progress, or JSON null: {"id", "kind", "step", "from", "to", "epoch",
 * "new_epoch", "timeout_ms", "uid", "via", "reason", "final", "missing", "begun_wall_ms",
 * "fenced_wall_ms", "caught_up_wall_ms", "switched_wall_ms"}. New reference. */
struct json_t *switchover_progress_json(const struct record *record);

/* The kept events, oldest first: [{"kind", "outcome", "id", "uid", "via", "from", "to",
 * "epoch", "new_epoch", "reason", "gtid", "begun_wall_ms", "fenced_wall_ms",
 * "caught_up_wall_ms", "switched_wall_ms", "opened_wall_ms", "ended_wall_ms",
 * "write_pause_ms"}], where write_pause_ms is opened - begun (two hosts' wall clocks: an
 * estimate) or null. New reference. */
struct json_t *switchover_events_json(const struct record *record);

/* Where sequence @id stands, for mmctl to poll after its request: {"id", "state", ...} with
 * state "in_progress" (and the fields of switchover_progress_json()), "done", "aborted" or
 * "rolled_back" (and the fields of its event), or "unknown" (not in the record: refused when
 * applied, lost, or its event no longer kept). New reference. */
struct json_t *switchover_state_json(const struct record *record, uint64_t id);

/* ---- Test hook: hold each step (docs/DESIGN.md, section 10) ----
 * With MMC_TEST_SWITCHOVER_STEP_DELAY_MS set to N > 0 in a daemon's environment at start, that
 * daemon proposes no entry of a sequence (FENCED, CAUGHT_UP, SET_WRITER, ABORT, DONE) until the
 * sequence has sat at its current step for N ms on its own clock, so that a lab test sees each
 * step in `mmctl status --json` and can kill a daemon while the sequence sits at it. Unset or
 * 0: off, and nothing is held. Never set it in production: it lengthens the write pause. */
#define SWITCHOVER_TEST_DELAY_ENV    "MMC_TEST_SWITCHOVER_STEP_DELAY_MS"
#define SWITCHOVER_TEST_DELAY_MAX_MS 600000U

struct switchover_test_delay {
    uint64_t delay_ms; /* 0: off */
    uint64_t id;       /* the sequence and step being held, and since when (boot ms) */
    uint8_t step;
    uint64_t since_ms;
};

/* The value of SWITCHOVER_TEST_DELAY_ENV: @text NULL or "" is 0 (off); otherwise decimal
 * milliseconds up to SWITCHOVER_TEST_DELAY_MAX_MS. Returns 0 with *@delay_ms set, or -EINVAL
 * with @errmsg naming the variable and the bad value. */
int switchover_test_delay_parse(const char *text, uint64_t *delay_ms, char *errmsg, size_t errlen);

/* Note the sequence and step in @record at @now_ms (restarts the hold when either changed).
 * Call it whenever the record may have moved, before switchover_test_delay_holds(). */
void switchover_test_delay_note(struct switchover_test_delay *d, const struct record *record,
                                uint64_t now_ms);

/* True while a proposal for the noted step must wait: the hook is on and the step was first
 * noted less than delay_ms before @now_ms. */
bool switchover_test_delay_holds(const struct switchover_test_delay *d, uint64_t now_ms);

#endif /* MMC_SWITCHOVER_H */
