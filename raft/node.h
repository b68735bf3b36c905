/*
 * A running raft node: the raft library on libuv (log and snapshots in the data dir), our
 * authenticated transport (raft/transport.h), the cluster record as FSM (raft/fsm.h), and the
 * forwarding of commands from followers to the leader.
 *
 * Raft lets only the leader append. Every node still has commands to propose (its liveness
 * report now; the writer's lease renewals later), so node_submit() applies locally on the
 * leader and otherwise sends the encoded command over an authenticated FORWARD channel to the
 * leader, which appends it if it still leads. Forwarding is one-way and best effort: the
 * commands that use it are periodic, and a lost one is replaced by the next; what matters is
 * what the log commits, which every node then applies.
 *
 * Frames on a FORWARD channel: u32 little-endian length (1..CODEC_COMMAND_MAX) then that many
 * bytes of an encoded command. A frame that is too long or does not decode closes the channel.
 *
 * First start: the configured nodes are bootstrapped as the voters (raft_bootstrap); on a data
 * dir that already holds a log, bootstrap is skipped and the log is used. A node whose data dir
 * was wiped bootstraps the same configuration again and is caught up by the leader.
 *
 * Everything runs on the loop given to node_start(); nothing blocks it.
 */
#ifndef MMC_RAFT_NODE_H
#define MMC_RAFT_NODE_H

#include <raft.h>
#include <raft/uv.h>
#include <stdbool.h>
#include <uv.h>

#include "coord/config.h"
#include "raft/fsm.h"

struct node;

/* Something happened that the daemon should log: a rejected peer, a refused forward. */
typedef void (*node_event_cb)(void *data, enum log_level level, const char *message);

struct node_options {
    const struct config *config; /* must outlive the node */
    const unsigned char *secret; /* copied by the transport */
    size_t secret_len;
    fsm_applied_cb on_applied; /* every applied entry (see fsm.h) */
    node_event_cb on_event;    /* may be NULL */
    /* Called on the leader just before it appends @cmd (its own or forwarded); returning false
     * drops the command. This is where the lease rule notes when RENEWs are appended and
     * refuses RENEWs of a closed epoch (coord/coordinator.h). May be NULL. */
    bool (*before_append)(void *data, const struct command *cmd);
    void *data; /* passed to all three */
};

/* Per-peer view that only the leader has (raft's replication progress). */
struct node_peer_progress {
    bool known;           /* false on followers and for the leader itself */
    bool recent_contact;  /* the peer answered within the last election timeout */
    uint64_t match_index; /* highest entry known to be replicated on the peer */
};

/* The exit status of a process whose raft storage failed (see node_io_guard_init). The daemon
 * uses the same number for every "raft is lost, restart me" exit. */
#define NODE_EXIT_STORAGE_FAILED 3

/* The raft_io a node hands to raft: raft_uv's, seen through a guard. libraft 0.15 does not stop
 * when a write fails: a follower keeps the entries in memory and its later appends land on disk
 * behind the gap, so that the next start reads every later entry at a wrong index (or finds
 * overlapping segments and cannot start); a leader drops the failed entries from memory after
 * sending them, gives their index to new commands, and can crash. So the first failed append,
 * truncate, snapshot_put, set_term or set_vote ends the process at once, before raft can write
 * anything else: @on_event gets an error naming what failed, the data dir and what to do, then
 * the process calls _exit(NODE_EXIT_STORAGE_FAILED). Everything else is passed through. Once
 * raft has closed the I/O, failures (appends cancelled by the close) no longer end the process.
 * Fields are private. @inner (already initialized, e.g. by raft_uv_init) and @data_dir must
 * outlive the guard; hand node_io_guard_io() to raft_init. node_start() does all this itself;
 * the guard is public so that tests can drive it with a fake raft_io. */
struct node_io_guard {
    struct raft_io io;
    struct raft_io *inner;
    const char *data_dir;
    node_event_cb on_event;
    void *data;
    bool closed;
};

void node_io_guard_init(struct node_io_guard *guard, struct raft_io *inner, const char *data_dir,
                        node_event_cb on_event, void *data);

/* The raft_io to hand to raft_init. */
struct raft_io *node_io_guard_io(struct node_io_guard *guard);

/* Allocate and start a node on @loop: creates the data dir (0700) if missing, initializes raft
 * on it, bootstraps on first start, starts listening. Returns 0 and sets *@out, or a negative
 * error with errmsg saying what failed (data dir, address in use, raft error text). */
int node_start(uv_loop_t *loop, const struct node_options *opts, struct node **out, char *errmsg,
               size_t errlen);

/* Propose @cmd: appended at once on the leader, forwarded to the leader otherwise.
 * Returns 0 (accepted for appending or queued for forwarding), -EAGAIN when no leader is
 * known, -EINVAL when @cmd does not encode, -ENOMEM, or a raft error mapped to -EIO. */
int node_submit(struct node *node, const struct command *cmd, char *errmsg, size_t errlen);

/* The record as applied on this node. */
const struct record *node_record(const struct node *node);

/* The raft instance, for read-only queries (state, term, indexes). */
struct raft *node_raft(struct node *node);

/* Leader's id (0 when unknown) and address (NULL when unknown). */
void node_leader(struct node *node, uint64_t *id, const char **address);

/* Fill @out for the peer with raft id @id. */
void node_peer_progress(struct node *node, uint64_t id, struct node_peer_progress *out);

/* "leader", "follower", "candidate" or "unavailable". */
const char *node_role_name(int raft_state);

/* Stop raft, the transport and every channel, then call @cb (which may free nothing: the node
 * frees itself after @cb returns). */
void node_close(struct node *node, void (*cb)(void *data), void *data);

#endif /* MMC_RAFT_NODE_H */
