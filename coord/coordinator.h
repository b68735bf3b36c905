/*
 * The coordinator: everything one mmcoordd decides, as a state machine without I/O. The daemon
 * (and the deterministic simulation in tests/fixture/) feeds it what happens, each event with
 * the local CLOCK_BOOTTIME and wall times, and asks it two things:
 *
 * - proposals: commands to submit to the log (RENEW, RELEASE, HEALTH, SET_WRITER, OPENED);
 * - the host target: what this host should look like right now, level-triggered: writable or
 *   fenced (read_only, client connections, VIP), until when, and where its MySQL server should
 *   replicate from. The daemon's reconciler makes the host match it, idempotently, on every
 *   applied entry and on a timer; a restarted daemon rebuilds the same target from the record.
 *
 * Roles, all in one object because one daemon may hold several at once:
 * - every node reports its own MySQL health (at once on a change, and every report interval);
 * - the writer of the current epoch renews its lease every L/4, is writable only while its
 *   lease allows (coord/lease.h), releases the epoch when its own mysqld is down, and reports
 *   OPENED the first time it opens;
 * - the raft leader tracks the writer's lease from the RENEWs it appends
 *   (coordinator_before_append) and, once its term's barrier is applied, asks coord/decide.h
 *   whether to promote, proposing at most one SET_WRITER per epoch;
 * - every other master stays fenced, and every non-writer replicates from the writer.
 *
 * - switchover and forced failover (coord/switchover.h): the old writer fences and reports its
 *   final position, the target reports when it has applied it, and the leader's proposals
 *   follow the sequence in the record instead of the automatic rules while one is in progress;
 * - maintenance (a flag in the record): the leader makes no automatic change of writer and
 *   says so in its decision; leases are held and renewed as usual.
 *
 * Not yet here (issue 7 continues): catching a lagging new writer up from the server that holds
 * what it lacks before it opens (the decision names the source; the target does not use it
 * yet).
 */
#ifndef MMC_COORDINATOR_H
#define MMC_COORDINATOR_H

#include <stdbool.h>
#include <stdint.h>

#include "coord/codec.h"
#include "coord/decide.h"
#include "coord/lease.h"
#include "coord/record.h"
#include "coord/switchover.h"

#define COORDINATOR_MAX_NODES     RECORD_MAX_NODES
#define COORDINATOR_PROPOSALS_MAX 8

struct coordinator_node {
    char id[CODEC_ID_SIZE];
    bool candidate;
};

/* Test-only: the lease rule the leader follows. Anything but COORDINATOR_RULE_CORRECT breaks
 * the argument on purpose, so that the simulation in tests/fixture/ can show it catches it. */
enum coordinator_rule {
    COORDINATOR_RULE_CORRECT = 0,
    COORDINATOR_RULE_BROKEN_NO_WAIT,         /* promote without waiting out the lease */
    COORDINATOR_RULE_BROKEN_T_LAST_AT_APPLY, /* take t_last when a RENEW applies, not appends */
    COORDINATOR_RULE_BROKEN_SWITCH_UNFENCED, /* switch over without waiting for the old writer
                                                to fence (FENCED) or its lease to run out */
};

struct coordinator_options {
    char local_id[CODEC_ID_SIZE];
    struct coordinator_node nodes[COORDINATOR_MAX_NODES];
    unsigned n_nodes;
    struct lease_params lease;
    uint64_t report_interval_ms; /* HEALTH at least this often */
    uint64_t health_stale_ms;    /* a node whose HEALTH is older than this is not eligible */
    bool allow_loss;             /* decide.h: promote even when transactions would be lost */
    enum coordinator_rule rule;  /* tests only; zero is the correct rule */
    /* First RENEW nonce of this run: random per daemon start, so that a RENEW sent before a
     * restart and applied after it can never match one of this run's (whose send time would
     * then be credited to it, extending the lease past what the leader accounted for). */
    uint64_t nonce_base;
    /* Test hook: SWITCHOVER_TEST_DELAY_ENV, coord/switchover.h; 0 (off) in production. */
    uint64_t test_step_delay_ms;
};

/* The local clocks of one event. */
struct coordinator_time {
    uint64_t boot_ms; /* CLOCK_BOOTTIME: every duration */
    uint64_t wall_ms; /* CLOCK_REALTIME: only for history and display */
};

struct host_target {
    bool writable;                      /* read_only off, client writes allowed, VIP present */
    uint64_t lease_until_ms;            /* when writable: the lease end (local boot ms) */
    uint64_t fence_at_ms;               /* when writable: fenced by then (lease_until - F) */
    char replicate_from[CODEC_ID_SIZE]; /* the node to replicate from, "" for none */
    char reason[CODEC_REASON_SIZE];     /* why this target, for the log and status */
    /* The switchover's target: the old writer's final position (GTID text) to apply before
     * the switch, "" otherwise. The host may wait for it and probe at once when it is there. */
    char catch_up_to[CODEC_GTID_SIZE];
    /* The old writer of a planned switchover whose lease still runs (switchover_keeps_vip):
     * it may keep the VIP while it fences, so that clients meet the fenced server rather than
     * an address gone from under their connections, and removes it once fenced, never after
     * this time (the lease's fence time, local boot ms). 0: a host that is not writable drops
     * the VIP at once. */
    uint64_t vip_keep_until_ms;
    /* A node that is not a candidate (the replica): replicate_from names a writer whose lease
     * looks lapsed from here (no RENEW of its epoch applied for half a lease). A change of
     * writer may follow: the host stops receiving from it ahead of that when it is dead. */
    bool source_lapsed;
};

struct coordinator {
    struct coordinator_options opts;

    /* What this node has seen applied: the node's health arrival time on this host. */
    uint64_t health_seen_ms[COORDINATOR_MAX_NODES];
    bool health_seen[COORDINATOR_MAX_NODES];

    /* Leader. */
    bool leader;
    bool barrier_done;
    struct lease_leader lease_leader;
    uint64_t promoting_epoch; /* SET_WRITER(epoch) proposed and not applied yet, or 0 */
    uint64_t promoting_since_ms;
    uint64_t fault_seen_wall_ms; /* when the leader first saw the current writer need replacing */
    struct decision last_decision;

    /* Writer. */
    uint64_t writer_epoch; /* the epoch lease_writer tracks, 0 when not the writer */
    struct lease_writer lease_writer;
    uint64_t last_renew_ms;
    bool released;
    bool opened_reported;
    uint64_t opened_sent_ms; /* when OPENED was last proposed, to say it again */

    /* When this node last applied a RENEW of the writer's epoch (or saw the epoch begin). */
    uint64_t heard_epoch;
    uint64_t heard_ms;

    /* Local MySQL health. */
    bool health_known;
    struct command_health health;
    uint64_t health_seq;
    uint64_t last_health_sent_ms;
    unsigned silent_probes; /* consecutive probes that were not UP */

    /* Switchover (coord/switchover.h). */
    uint64_t switchover_seen_id; /* the sequence timed below */
    uint64_t switchover_seen_ms; /* when this node first saw it (applied, restored, restarted) */
    uint64_t local_probes;       /* local health results so far */
    uint64_t fence_mark_id;      /* the sequence this host was told to fence for */
    uint64_t fence_mark_probes;  /* local_probes at that moment */
    bool local_vip_held;         /* coordinator_local_vip(): the host holds (or may hold) the VIP */
    uint64_t node_sent_id;       /* the last FENCED / CAUGHT_UP proposed: id, type, when */
    uint8_t node_sent_type;
    uint64_t node_sent_ms;
    uint64_t leader_sent_id; /* the last sequence entry the leader proposed: id, step, type */
    uint8_t leader_sent_step;
    uint8_t leader_sent_type;
    uint64_t leader_sent_ms;
    struct switchover_action last_switchover; /* the leader's latest look at the sequence */
    struct switchover_test_delay test_delay;  /* test hook: holds each step, off by 0 */

    /* Proposals waiting to be taken. */
    struct command proposals[COORDINATOR_PROPOSALS_MAX];
    unsigned n_proposals;
};

/* A coordinator for @opts (copied). */
void coordinator_init(struct coordinator *c, const struct coordinator_options *opts);

/* This node became leader (true) or stopped being it (false). A new leader may not promote
 * until coordinator_barrier_applied(). */
void coordinator_set_leader(struct coordinator *c, bool leader, const struct record *record,
                            struct coordinator_time now);

/* The barrier of this leader's term was applied. */
void coordinator_barrier_applied(struct coordinator *c, struct coordinator_time now);

/* The leader is about to append @cmd (its own or a follower's). Returns false when it must not:
 * a RENEW of an epoch that is over. Records the append time of RENEWs (t_last) and closes the
 * epoch before a SET_WRITER. Call it only on the leader. */
bool coordinator_before_append(struct coordinator *c, const struct command *cmd,
                               struct coordinator_time now);

/* An entry was applied (@status as record_apply returned it); @record is already updated. */
void coordinator_applied(struct coordinator *c, const struct record *record,
                         const struct command *cmd, int status, struct coordinator_time now);

/* The local MySQL server was probed: @health as it would be reported (node_id and seq are
 * filled in here). */
void coordinator_local_health(struct coordinator *c, const struct command_health *health,
                              struct coordinator_time now);

/* Whether this host holds the VIP (true also when it may: not yet known at start), as the
 * host knew it when its latest probe was delivered; call it before coordinator_local_health().
 * The old writer of a switchover proposes FENCED only once it is false. A host without a VIP
 * passes false. Not called: false. */
void coordinator_local_vip(struct coordinator *c, bool held);

/* Periodic work: renewals, health reports, the leader's decision. Call it often (every
 * heartbeat, say); it is cheap. */
void coordinator_tick(struct coordinator *c, const struct record *record,
                      struct coordinator_time now);

/* Milliseconds until this leader's wait for the writer's lease ends, the moment a failover may
 * first be decided (0 when it is over or released; UINT64_MAX when this node is not the leader
 * or its term's barrier is not applied). The daemon ticks once more at that moment instead of
 * at the next heartbeat. */
uint64_t coordinator_lease_wait_ms(const struct coordinator *c, uint64_t now_ms);

/* Whether the leader, having applied @cmd, makes its commit known to the followers at once
 * (with an empty barrier entry: a follower otherwise learns of a commit from the next
 * heartbeat) because another node acts on it next: a switchover's steps, a SET_WRITER, and
 * every RENEW (the new writer opens once it sees its first renewal committed, and a writer may
 * set the VIP's kernel lifetime only within a short window after a renewal's send time,
 * coord/lease.h). Pure. */
bool coordinator_pushes_commit(const struct command *cmd);

/* Send this node's health report at the next tick rather than at the report interval: the
 * leader changed, and a new leader counts only reports applied after its barrier. */
void coordinator_health_now(struct coordinator *c);

/* Take the next proposal. Returns true and fills @out, or false when there is none. */
bool coordinator_take_proposal(struct coordinator *c, struct command *out);

/* The nodes as this coordinator sees them at @now, for switchover_check() and status: id,
 * candidate, freshness of health and the health in @record; the verdict fields are left unset
 * (verdict_known false) for the caller to fill from coord/decide.c. @out has room for
 * COORDINATOR_MAX_NODES; returns how many were filled. The pointers point into @c and
 * @record. */
/* What the leader's rules know of every configured node (decide.h): its health as the record
 * holds it and whether it arrived recently enough on this host. Fills @out (room for
 * COORDINATOR_MAX_NODES) and returns the node count. The same view for status and decisions. */
unsigned coordinator_decide_nodes(const struct coordinator *c, const struct record *record,
                                  uint64_t now_ms, struct decide_node *out);

unsigned coordinator_switchover_nodes(const struct coordinator *c, const struct record *record,
                                      uint64_t now_ms, struct switchover_node *out);

/* What this host should look like at @now (pure: does not change @c). */
void coordinator_target(const struct coordinator *c, const struct record *record, uint64_t now_ms,
                        struct host_target *out);

#endif /* MMC_COORDINATOR_H */
