/*
 * The cluster record: the state every mmcoordd holds identically because it is the raft FSM.
 * It changes only by applying committed commands (codec.h), in log order, through
 * record_apply(), which is pure: the same commands give the same record on every node, so it
 * never reads a clock, the network or the disk.
 *
 * What it holds:
 * - the writer: the current epoch, who holds it ("" for none), whether it released it, and
 *   how many lease renewals were committed in it;
 * - per node: its latest liveness report and its latest MySQL health report;
 * - the history: one entry per epoch (old and new writer, why, and when the fault was seen,
 *   the decision taken and the new writer opened), the newest RECORD_HISTORY_MAX kept;
 * - the maintenance flag (automatic failover paused), with why, who and since when;
 * - the switchover in progress, if any (coord/switchover.h drives it), and the newest
 *   RECORD_EVENTS_MAX operator events: maintenance on/off, switchovers and forced failovers
 *   with who asked and how they ended.
 *
 * Transitions of the writer: SET_WRITER(e, N) applies only when e is the current epoch plus
 * one; RENEW(e, W) and RELEASE(e, W) only when e is the current epoch and W its writer (and,
 * for RENEW, not released). Anything else is stale and ignored, the same way on every node.
 *
 * Transitions of a switchover (one at a time, each entry naming it by id):
 *   SWITCHOVER_BEGIN / FAILOVER_FORCE   none -> BEGUN (only for the current epoch: a planned
 *                                        one needs its writer, not released, maintenance off)
 *   SWITCHOVER_FENCED (the old writer)  BEGUN -> FENCED, and the epoch counts as released
 *   SWITCHOVER_CAUGHT_UP (the target)   FENCED -> CAUGHT_UP (planned only)
 *   SET_WRITER(epoch+1, target)         CAUGHT_UP (planned) or BEGUN/FENCED (forced) -> SWITCHED
 *   SWITCHOVER_DONE                     SWITCHED -> none, event "done"
 *   SWITCHOVER_ABORT                    BEGUN or SWITCHED -> none, event "aborted";
 *                                        FENCED or CAUGHT_UP -> ROLLING_BACK
 *   SET_WRITER in ROLLING_BACK          -> none, event "rolled back"
 *   any other SET_WRITER                -> none, event "aborted" (superseded by that epoch)
 * Any other switchover entry (another id, a step out of order, a duplicate) is ignored.
 *
 * Snapshots serialize the whole record (record_encode/record_decode) with a magic, a format
 * version and bounds checks; formats 1 (reports only) and 2 (no maintenance, switchover or
 * events) are still read. The decoder is fuzzed
 * (tests/fuzz/fuzz_command.c feeds every input to record_decode too).
 */
#ifndef MMC_RECORD_H
#define MMC_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coord/codec.h"

#define RECORD_MAX_NODES      16
#define RECORD_HISTORY_MAX    32
#define RECORD_EVENTS_MAX     32
#define RECORD_FORMAT_VERSION 3
#define RECORD_SNAPSHOT_MAX                                                                        \
    (4096 + RECORD_MAX_NODES * (256 + CODEC_COMMAND_MAX) +                                         \
     RECORD_HISTORY_MAX * (128 + CODEC_REASON_SIZE) + 2 * CODEC_GTID_SIZE + CODEC_REASON_SIZE +    \
     RECORD_EVENTS_MAX * (256 + CODEC_REASON_SIZE + CODEC_GTID_SIZE))

/* record_apply() result for a well-formed command that changed nothing because it is stale
 * (an old epoch, not the writer); errmsg says why. */
#define RECORD_IGNORED 1

struct record_node {
    char id[CODEC_ID_SIZE];
    char version[CODEC_VERSION_SIZE];
    uint64_t start_wall_ms;  /* the daemon's start, from its latest report */
    uint64_t report_wall_ms; /* when it sent its latest report (its own clock) */
    uint64_t report_seq;     /* sequence number of its latest report */
    uint64_t n_reports;      /* reports applied for this node, over all its runs */
    uint8_t mysql;           /* enum mysql_view, from its latest report */
    bool has_health;         /* a HEALTH report was applied */
    struct command_health health;
};

struct record_writer {
    uint64_t epoch;           /* 0: no writer was ever named */
    char node[CODEC_ID_SIZE]; /* "" when the epoch has no writer */
    bool released;            /* the writer gave the epoch up */
    char release_reason[CODEC_REASON_SIZE];
    uint64_t renewals;   /* RENEWs committed in this epoch */
    uint64_t last_nonce; /* nonce of the latest of them */
};

struct record_epoch {
    uint64_t epoch;
    char old_writer[CODEC_ID_SIZE];
    char new_writer[CODEC_ID_SIZE];
    char reason[CODEC_REASON_SIZE];
    uint64_t detected_wall_ms; /* leader's clock: the fault was first seen */
    uint64_t decided_wall_ms;  /* leader's clock: SET_WRITER proposed */
    uint64_t opened_wall_ms;   /* new writer's clock: it opened (0 until OPENED) */
    uint64_t switchover_id;    /* the switchover or forced failover that named it, or 0 */
};

struct record_maintenance {
    bool on;
    uint32_t uid;           /* who turned it on (or off, the latest change) */
    uint64_t since_wall_ms; /* the requesting daemon's clock, display only */
    char via[CODEC_ID_SIZE];
    char reason[CODEC_REASON_SIZE];
};

enum record_switchover_step {
    SWITCHOVER_STEP_NONE = 0,         /* no switchover in progress */
    SWITCHOVER_STEP_BEGUN = 1,        /* recorded; the old writer fences */
    SWITCHOVER_STEP_FENCED = 2,       /* the old writer fenced, released, gave its position */
    SWITCHOVER_STEP_CAUGHT_UP = 3,    /* the target applied that position */
    SWITCHOVER_STEP_SWITCHED = 4,     /* SET_WRITER(target) applied; waiting for it to open */
    SWITCHOVER_STEP_ROLLING_BACK = 5, /* aborted after the release: the old writer is renamed */
};
#define SWITCHOVER_STEP_MAX SWITCHOVER_STEP_ROLLING_BACK

/* The switchover in progress (id 0: none). Times are the proposers' wall clocks, for display;
 * the timeout is a duration that every leader counts on its own clock. */
struct record_switchover {
    uint64_t id;
    uint8_t kind;             /* enum switchover_kind */
    uint8_t step;             /* enum record_switchover_step */
    uint64_t epoch;           /* the old writer's epoch */
    uint64_t new_epoch;       /* SWITCHED: the target's epoch */
    char from[CODEC_ID_SIZE]; /* the old writer ("" for a forced failover without one) */
    char to[CODEC_ID_SIZE];
    uint64_t timeout_ms;
    uint32_t uid;
    char via[CODEC_ID_SIZE];
    char reason[CODEC_REASON_SIZE]; /* why this target; once aborting, why it is aborted */
    uint8_t flavor;                 /* of final */
    char final[CODEC_GTID_SIZE];    /* FENCED on: the old writer's final executed set */
    char missing[CODEC_GTID_SIZE];  /* forced: what the operator accepted to lose */
    uint64_t begun_wall_ms;
    uint64_t fenced_wall_ms;
    uint64_t caught_up_wall_ms;
    uint64_t switched_wall_ms; /* the leader's SET_WRITER decision */
};

enum record_event_kind {
    RECORD_EVENT_MAINTENANCE_ON = 1,
    RECORD_EVENT_MAINTENANCE_OFF = 2,
    RECORD_EVENT_SWITCHOVER = 3,
    RECORD_EVENT_FORCED_FAILOVER = 4,
};
#define RECORD_EVENT_KIND_MAX RECORD_EVENT_FORCED_FAILOVER

enum record_outcome {
    RECORD_OUTCOME_NONE = 0,        /* maintenance events */
    RECORD_OUTCOME_DONE = 1,        /* the target opened */
    RECORD_OUTCOME_ABORTED = 2,     /* stopped before the old writer released, or superseded */
    RECORD_OUTCOME_ROLLED_BACK = 3, /* stopped after the release; a new epoch was named */
};
#define RECORD_OUTCOME_MAX RECORD_OUTCOME_ROLLED_BACK

/* One operator event, written when it ends (maintenance: when applied). */
struct record_event {
    uint8_t kind;    /* enum record_event_kind */
    uint8_t outcome; /* enum record_outcome */
    uint64_t id;     /* switchover id, 0 for maintenance */
    uint32_t uid;    /* who asked */
    char via[CODEC_ID_SIZE];
    char from[CODEC_ID_SIZE];
    char to[CODEC_ID_SIZE];
    uint64_t epoch;                 /* the epoch it started from */
    uint64_t new_epoch;             /* the epoch it ended in (0 when none was named) */
    char reason[CODEC_REASON_SIZE]; /* maintenance reason, why the target, or why it stopped */
    char gtid[CODEC_GTID_SIZE];     /* switchover: the final position; forced: accepted loss */
    uint64_t begun_wall_ms;
    uint64_t fenced_wall_ms;
    uint64_t caught_up_wall_ms;
    uint64_t switched_wall_ms;
    uint64_t opened_wall_ms;
    uint64_t ended_wall_ms;
};

struct record {
    uint64_t n_applied; /* commands applied since the cluster began (snapshots keep it) */
    struct record_writer writer;
    unsigned n_nodes;
    struct record_node nodes[RECORD_MAX_NODES]; /* in order of first report */
    unsigned n_history;
    struct record_epoch history[RECORD_HISTORY_MAX]; /* oldest first */
    struct record_maintenance maintenance;
    struct record_switchover switchover;
    uint64_t last_switchover_id; /* the newest id ever begun: duplicates are ignored */
    unsigned n_events;
    struct record_event events[RECORD_EVENTS_MAX]; /* oldest first */
};

/* An empty record. */
void record_init(struct record *record);

/* Apply one decoded, committed command. Returns 0 when it changed the record,
 * RECORD_IGNORED when it is stale (errmsg says why), -ENOSPC when a report comes from a
 * (RECORD_MAX_NODES+1)th node, or -EINVAL for an unknown type. Whatever the result, n_applied
 * counts the command, so that every node stays identical. */
int record_apply(struct record *record, const struct command *cmd, char *errmsg, size_t errlen);

/* Whether @cmd, about to be applied to @record (or just ignored by it), names an epoch that no
 * node applying the same log in the same order can be behind: a SET_WRITER more than one epoch
 * ahead, or a RENEW, RELEASE or OPENED of an epoch not yet named here. Every such command was
 * proposed by a node that had applied the epoch before it, earlier in the log, so this record
 * (its snapshot or the log it replayed) has lost entries the others hold. Fills @why. */
bool record_diverged(const struct record *record, const struct command *cmd, char *why,
                     size_t whylen);

/* The node with @id, or NULL. */
const struct record_node *record_find_node(const struct record *record, const char *id);

/* The history entry of @epoch, or NULL when it is not (or no longer) kept. */
const struct record_epoch *record_find_epoch(const struct record *record, uint64_t epoch);

/* Serialize @record into @buf (capacity @cap, RECORD_SNAPSHOT_MAX always suffices).
 * Returns 0 and sets *@len, or -ENOSPC. */
int record_encode(const struct record *record, uint8_t *buf, size_t cap, size_t *len);

/* "none", "begun", "fenced", "caught_up", "switched", "rolling_back". */
const char *record_switchover_step_name(uint8_t step);

/* "maintenance_on", "maintenance_off", "switchover", "forced_failover". */
const char *record_event_kind_name(uint8_t kind);

/* "", "done", "aborted", "rolled_back". */
const char *record_outcome_name(uint8_t outcome);

/* Parse a snapshot (format 1, 2 or 3). Returns 0, or -EINVAL with errmsg naming the problem
 * (bad magic, unknown format version, truncation, a count or field out of bounds, duplicate
 * node ids). @out is written only on success. */
int record_decode(const uint8_t *buf, size_t len, struct record *out, char *errmsg, size_t errlen);

#endif /* MMC_RECORD_H */
