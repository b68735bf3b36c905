/*
 * mmcoordd's top-level state and its status view. The daemon owns one libuv loop, the raft node
 * (raft/node.h), the control socket (coord/control.h) and the timers that drive periodic work;
 * everything is reached from one `struct daemon` passed down explicitly, never a global.
 *
 * daemon_status_json() builds the answer to `mmctl status --json`; its field names are stable
 * and documented in mmctl(8). The operator's requests (maintenance, switchover, forced
 * failover, switchover-status) are answered here too: the daemon that takes one checks it
 * against its own record (coord/switchover.h) and submits the entry; mmctl then polls.
 */
#ifndef MMC_DAEMON_H
#define MMC_DAEMON_H

#include <jansson.h>
#include <stdint.h>
#include <uv.h>

#include "coord/config.h"
#include "coord/control.h"
#include "coord/coordinator.h"
#include "coord/fencer_client.h"
#include "coord/host.h"
#include "raft/node.h"

#define DAEMON_SEQUENCES_KEPT 8

/* A switchover or forced failover this daemon submitted, or saw refused when applied: what
 * switchover-status says while the record does not know the id. */
struct daemon_sequence {
    uint64_t id;
    uint64_t at_ms;    /* CLOCK_BOOTTIME: submitted, or refused */
    char refused[256]; /* why record_apply() ignored it, "" while only submitted */
};

struct daemon {
    uv_loop_t *loop;
    struct config config;
    unsigned char secret[CONFIG_SECRET_MAX];
    size_t secret_len;
    struct node *node;
    struct control *control;
    struct coordinator coord;      /* what this node decides (pure) */
    struct host *host;             /* what this node does to its host */
    struct fencer_client *fencer;  /* the separate fencer of this host, or NULL */
    uint64_t fencer_epoch;         /* the epoch last armed (0: disarmed) */
    uint64_t fencer_fence_at_ms;   /* the deadline last armed */
    uint64_t leader_term;          /* the raft term in which the coordinator was last made leader */
    struct raft_transfer transfer; /* leadership handed off the writer's host */
    bool transfer_pending;
    bool push_commit; /* an applied entry others act on: push the commit index (daemon.c) */
    bool diverged;    /* this node's record lost entries (record_diverged): it stops */
    /* A report this run sent has been applied: the record holds everything committed before
     * it, so replication may follow it (until then the host only fences). */
    bool record_current;
    uint64_t last_transfer_ms;
    uv_timer_t kick_timer;  /* runs the coordinator right after an apply, outside raft's callback */
    uv_timer_t lease_timer; /* ticks the leader when its wait for a writer's lease ends */
    uv_timer_t report_timer;
    uv_timer_t watch_timer;
    uv_signal_t sigint;
    uv_signal_t sigterm;
    uint64_t start_wall_ms;
    uint64_t report_seq;
    /* CLOCK_BOOTTIME ms at which a report from each configured node was last applied here
     * (0: never): "last contact" as seen from this node, through the log. */
    uint64_t last_report_ms[CONFIG_MAX_NODES];
    /* Last raft view logged, to log changes only. */
    int logged_state;
    uint64_t logged_leader;
    uint64_t logged_term;
    /* The newest switchovers submitted here and refused entries seen applied, a ring. */
    struct daemon_sequence submitted[DAEMON_SEQUENCES_KEPT];
    unsigned n_submitted;
    struct daemon_sequence refused[DAEMON_SEQUENCES_KEPT];
    unsigned n_refused;
    int exit_status;
    bool stopping;
};

/* The status document of this node (a new reference). @now_ms is CLOCK_BOOTTIME ms. */
json_t *daemon_status_json(struct daemon *daemon, uint64_t now_ms);

/* {"ok":true,"epochs":[...],"events":[...]}: the record's history of epochs and the operator's
 * events (a new reference). */
json_t *daemon_history_json(struct daemon *daemon);

/* {"id":..., "address":...} of the leader, or JSON null (a new reference). */
json_t *daemon_leader_json(struct daemon *daemon);

#endif /* MMC_DAEMON_H */
