/*
 * The cluster record: the state every mmcoordd holds identically because it is the raft FSM.
 * It changes only by applying committed commands (codec.h), in log order, through
 * record_apply(), which is pure: the same commands give the same record on every node, so it
 * never reads a clock, the network or the disk.
 *
 * What it holds now: each node's latest liveness report. The failover work adds the epoch,
 * the writer, its lease renewals, health reports, maintenance, switchover and history.
 *
 * Snapshots serialize the whole record (record_encode/record_decode) with a magic, a format
 * version and bounds checks; the decoder is fuzzed (tests/fuzz/fuzz_command.c, which also feeds
 * record_decode).
 */
#ifndef MMC_RECORD_H
#define MMC_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "coord/codec.h"

#define RECORD_MAX_NODES      16
#define RECORD_FORMAT_VERSION 1
#define RECORD_SNAPSHOT_MAX   (64 + RECORD_MAX_NODES * 128)

struct record_node {
    char id[CODEC_ID_SIZE];
    char version[CODEC_VERSION_SIZE];
    uint64_t start_wall_ms;  /* the daemon's start, from its latest report */
    uint64_t report_wall_ms; /* when it sent its latest report (its own clock) */
    uint64_t report_seq;     /* sequence number of its latest report */
    uint64_t n_reports;      /* reports applied for this node, over all its runs */
    uint8_t mysql;           /* enum mysql_view */
};

struct record {
    uint64_t n_applied; /* commands applied since the cluster began (snapshots keep it) */
    unsigned n_nodes;
    struct record_node nodes[RECORD_MAX_NODES]; /* in order of first report */
};

/* An empty record. */
void record_init(struct record *record);

/* Apply one decoded, committed command. Returns 0, or -ENOSPC when a report comes from a
 * (RECORD_MAX_NODES+1)th node, or -EINVAL for an unknown type; errmsg says which. On error the
 * record is unchanged but n_applied still counts the command, so that every node stays
 * identical whatever it did with a command it had to refuse. */
int record_apply(struct record *record, const struct command *cmd, char *errmsg, size_t errlen);

/* The node with @id, or NULL. */
const struct record_node *record_find_node(const struct record *record, const char *id);

/* Serialize @record into @buf (capacity @cap, RECORD_SNAPSHOT_MAX always suffices).
 * Returns 0 and sets *@len, or -ENOSPC. */
int record_encode(const struct record *record, uint8_t *buf, size_t cap, size_t *len);

/* Parse a snapshot. Returns 0, or -EINVAL with errmsg naming the problem (bad magic, unknown
 * format version, truncation, a count or field out of bounds, duplicate node ids). @out is
 * written only on success. */
int record_decode(const uint8_t *buf, size_t len, struct record *out, char *errmsg, size_t errlen);

#endif /* MMC_RECORD_H */
