/*
 * The raft state machine: glue between the raft library's `struct raft_fsm` and the cluster
 * record (coord/record.h). apply() decodes a log entry and applies it to the record; snapshot()
 * and restore() serialize the whole record.
 *
 * A command that cannot be decoded or applied is not a raft error: raft would otherwise stop
 * applying and the node would be stuck, while every other node refused the same entry the same
 * way. So apply() always succeeds towards raft; the refusal is reported to the owner through
 * the applied callback (which the daemon logs) and n_applied still counts it.
 */
#ifndef MMC_RAFT_FSM_H
#define MMC_RAFT_FSM_H

#include <raft.h>

#include "coord/record.h"

/* Called after every entry applied (@cmd the decoded command, or NULL when it could not be
 * decoded; @status 0 or the negative error, @errmsg its reason) and after a snapshot was
 * restored (@cmd NULL, @status 0, @errmsg "restored from snapshot"). The record is already
 * updated when it runs: this is the daemon's level-triggered reconcile hook. */
typedef void (*fsm_applied_cb)(void *data, const struct command *cmd, int status,
                               const char *errmsg);

struct fsm {
    struct raft_fsm raft; /* handed to raft_init(); raft.data points back here */
    struct record record;
    fsm_applied_cb applied_cb;
    void *data;
};

/* Set up @fsm with an empty record. @cb may be NULL. */
void fsm_init(struct fsm *fsm, fsm_applied_cb cb, void *data);

#endif /* MMC_RAFT_FSM_H */
