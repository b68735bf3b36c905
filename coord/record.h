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
 *   the decision taken and the new writer opened), the newest RECORD_HISTORY_MAX kept.
 *
 * Transitions of the writer: SET_WRITER(e, N) applies only when e is the current epoch plus
 * one; RENEW(e, W) and RELEASE(e, W) only when e is the current epoch and W its writer (and,
 * for RENEW, not released). Anything else is stale and ignored, the same way on every node.
 *
 * Snapshots serialize the whole record (record_encode/record_decode) with a magic, a format
 * version and bounds checks; format 1 (reports only) is still read. The decoder is fuzzed
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
#define RECORD_FORMAT_VERSION 2
#define RECORD_SNAPSHOT_MAX                                                                        \
    (1024 + RECORD_MAX_NODES * (256 + CODEC_COMMAND_MAX) +                                         \
     RECORD_HISTORY_MAX * (128 + CODEC_REASON_SIZE))

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
};

struct record {
    uint64_t n_applied; /* commands applied since the cluster began (snapshots keep it) */
    struct record_writer writer;
    unsigned n_nodes;
    struct record_node nodes[RECORD_MAX_NODES]; /* in order of first report */
    unsigned n_history;
    struct record_epoch history[RECORD_HISTORY_MAX]; /* oldest first */
};

/* An empty record. */
void record_init(struct record *record);

/* Apply one decoded, committed command. Returns 0 when it changed the record,
 * RECORD_IGNORED when it is stale (errmsg says why), -ENOSPC when a report comes from a
 * (RECORD_MAX_NODES+1)th node, or -EINVAL for an unknown type. Whatever the result, n_applied
 * counts the command, so that every node stays identical. */
int record_apply(struct record *record, const struct command *cmd, char *errmsg, size_t errlen);

/* The node with @id, or NULL. */
const struct record_node *record_find_node(const struct record *record, const char *id);

/* The history entry of @epoch, or NULL when it is not (or no longer) kept. */
const struct record_epoch *record_find_epoch(const struct record *record, uint64_t epoch);

/* Serialize @record into @buf (capacity @cap, RECORD_SNAPSHOT_MAX always suffices).
 * Returns 0 and sets *@len, or -ENOSPC. */
int record_encode(const struct record *record, uint8_t *buf, size_t cap, size_t *len);

/* Parse a snapshot (format 1 or 2). Returns 0, or -EINVAL with errmsg naming the problem
 * (bad magic, unknown format version, truncation, a count or field out of bounds, duplicate
 * node ids). @out is written only on success. */
int record_decode(const uint8_t *buf, size_t len, struct record *out, char *errmsg, size_t errlen);

#endif /* MMC_RECORD_H */
