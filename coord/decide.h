/*
 * The one decider: what the raft leader does about the writer, as a pure function of the
 * record, what the leader knows locally (how fresh each node's health is, whether the old
 * writer's lease is over: coord/lease.h) and the configuration. It never reads a clock and
 * never touches a server; the leader acts on the decision and logs its reason.
 *
 * The rules, in order (maintenance, which pauses rule 3, comes with the switchover issue):
 * 1. A writer holds the epoch and its lease is not over: no change. This is what forbids
 *    preemption and automatic failback: a healthy writer is never replaced, and an unhealthy
 *    one only after it released or its lease ran out. The reason says which of the two the
 *    leader waits for.
 * 2. Otherwise (no writer yet, the writer released, or its lease ran out) choose among the
 *    candidates other than the old writer whose health report is fresh and says MySQL is up;
 *    the old writer itself only when no other candidate can take over (it is healthy again
 *    and there is nobody else: a new epoch for it is no failback).
 *    "Has everything": every transaction any fresh, reachable server has executed or received
 *    (the old writer's own report is stale by now, so its unshipped transactions are exactly
 *    what nobody can recover) must be in the candidate's executed or received set; received
 *    counts because the candidate applies its relay log before it opens. A candidate that has
 *    everything is promoted (the first in configuration order). If none has, the one with the
 *    least missing is promoted with a catch-up source (a server that holds what it lacks): it
 *    catches up before it opens. When no server holds all of it either, the leader waits and
 *    says what is missing where, unless the configuration chooses availability over loss.
 *    Preference: a candidate that has everything, then one that can catch up (least missing),
 *    then, only when loss is allowed, the one with the least missing.
 * 3. Errant transactions: a candidate that executed transactions the writer never executed is
 *    not eligible (the design's check before an old writer may be a candidate again). They are
 *    judged only against a writer whose own health is fresh and says MySQL is up: a dead
 *    writer's last report is an old lower bound of what it wrote, and the transactions it
 *    wrote after that report sit on the replicas that received them. For the same reason a
 *    node's received set counts as the writer's (every non-writer replicates from the writer),
 *    so "errant" is executed \ (writer's executed ∪ own received); with MariaDB positions also
 *    the same seq written by two servers in one domain (gtid_set_last_server_differs). Errant
 *    transactions are left out of what the reachable servers hold together: nobody has to
 *    catch up on them.
 *
 * decide_explain() applies the same rules node by node, for mmctl status: decide() promotes
 * only a node whose verdict is promotable, and waits only when no verdict is (the old writer,
 * which decide() takes back as a last resort, aside).
 */
#ifndef MMC_DECIDE_H
#define MMC_DECIDE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coord/codec.h"
#include "coord/record.h"

/* What the leader knows of one configured node. */
struct decide_node {
    const char *id;
    bool candidate;                      /* may become the writer (config) */
    bool fresh;                          /* a health report arrived recently enough */
    const struct command_health *health; /* its latest health, NULL when none */
};

struct decide_input {
    const struct record *record;
    const struct decide_node *nodes;
    unsigned n_nodes;
    bool lease_over;             /* lease_leader_may_promote(): released or waited out */
    uint64_t lease_remaining_ms; /* for the reason when not over */
    bool allow_loss;             /* promote even when no server holds every transaction */
};

enum decision_kind {
    DECISION_NONE,    /* nothing to do */
    DECISION_WAIT,    /* a change is needed but not allowed yet; reason says why */
    DECISION_PROMOTE, /* propose SET_WRITER(epoch+1, node) */
};

struct decision {
    enum decision_kind kind;
    char node[CODEC_ID_SIZE];          /* PROMOTE: the new writer */
    char catch_up_from[CODEC_ID_SIZE]; /* PROMOTE: a server holding what node lacks, or "" */
    char reason[CODEC_REASON_SIZE];    /* always set: the why, for the log and mmctl status */
    char missing[CODEC_GTID_SIZE];     /* transactions node lacks (text), or "" */
};

/* Why one node could or could not become the writer now (decide_explain()). */
struct decide_verdict {
    bool promotable;                   /* decide() could pick it now (after catching up) */
    char why[CODEC_REASON_SIZE];       /* always set: "could be promoted now ..." or why not */
    char errant[CODEC_GTID_SIZE];      /* executed here, never by the writer; "" none/unknown */
    char missing[CODEC_GTID_SIZE];     /* what reachable servers hold and it lacks, or "" */
    char catch_up_from[CODEC_ID_SIZE]; /* a reachable server holding all of missing, or "" */
};

#define DECIDE_SUMMARY_SIZE 1024

struct decide_explanation {
    struct decide_verdict nodes[RECORD_MAX_NODES]; /* in the order of decide_input.nodes */
    unsigned n_nodes;
    bool standby;                          /* a node other than the writer could be promoted now */
    char standby_why[DECIDE_SUMMARY_SIZE]; /* who could take over, or why nobody could */
    char no_writer[DECIDE_SUMMARY_SIZE];   /* "" when a writer holds the epoch unreleased; else
                                            * why there is none and whether one could be made */
};

/* Decide. Always fills @out. Returns 0, or -ENOMEM. A health report whose GTID text does not
 * parse makes that node ineligible, and the reason says so. */
int decide(const struct decide_input *in, struct decision *out);

/* The verdict of every node (the first RECORD_MAX_NODES) and the cluster's lines: whether the
 * writer has a standby, and why there is no writer. Pure, like decide(); lease_over and
 * lease_remaining_ms are not used (a verdict says whether a node could take over, not when).
 * Always fills @out. Returns 0, or -ENOMEM. */
int decide_explain(const struct decide_input *in, struct decide_explanation *out);

/* "none", "wait", "promote". */
const char *decision_kind_name(enum decision_kind kind);

#endif /* MMC_DECIDE_H */
