/*
 * The cluster record as a raft FSM; see fsm.h. Snapshot buffers are allocated with
 * raft_malloc and released by snapshot_finalize (FSM version 2): raft never frees them.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "raft/fsm.h"

static int fsm_apply(struct raft_fsm *raft_fsm, const struct raft_buffer *buf, void **result)
{
    struct fsm *fsm = raft_fsm->data;
    struct command cmd;
    char errmsg[CODEC_ERRMSG_SIZE];
    errmsg[0] = '\0';
    *result = NULL;
    int rv = command_decode(buf->base, buf->len, &cmd, errmsg, sizeof errmsg);
    if (rv != 0) {
        /* Counted, so every node's record stays identical. */
        fsm->record.n_applied++;
        if (fsm->applied_cb != NULL) {
            fsm->applied_cb(fsm->data, NULL, rv, errmsg);
        }
        return 0;
    }
    rv = record_apply(&fsm->record, &cmd, errmsg, sizeof errmsg);
    if (fsm->applied_cb != NULL) {
        fsm->applied_cb(fsm->data, &cmd, rv, errmsg);
    }
    return 0;
}

static int fsm_snapshot(struct raft_fsm *raft_fsm, struct raft_buffer *bufs[], unsigned *n_bufs)
{
    struct fsm *fsm = raft_fsm->data;
    struct raft_buffer *out = raft_malloc(sizeof *out);
    uint8_t *data = raft_malloc(RECORD_SNAPSHOT_MAX);
    if (out == NULL || data == NULL) {
        raft_free(out);
        raft_free(data);
        return RAFT_NOMEM;
    }
    size_t len;
    if (record_encode(&fsm->record, data, RECORD_SNAPSHOT_MAX, &len) != 0) {
        raft_free(out);
        raft_free(data);
        return RAFT_NOMEM;
    }
    out->base = data;
    out->len = len;
    *bufs = out;
    *n_bufs = 1;
    return 0;
}

static int fsm_snapshot_finalize(struct raft_fsm *raft_fsm, struct raft_buffer *bufs[],
                                 unsigned *n_bufs)
{
    (void)raft_fsm;
    for (unsigned i = 0; i < *n_bufs; i++) {
        raft_free((*bufs)[i].base);
    }
    raft_free(*bufs);
    *bufs = NULL;
    *n_bufs = 0;
    return 0;
}

static int fsm_restore(struct raft_fsm *raft_fsm, struct raft_buffer *buf)
{
    struct fsm *fsm = raft_fsm->data;
    char errmsg[CODEC_ERRMSG_SIZE];
    struct record restored;
    int rv = record_decode(buf->base, buf->len, &restored, errmsg, sizeof errmsg);
    if (rv != 0) {
        if (fsm->applied_cb != NULL) {
            fsm->applied_cb(fsm->data, NULL, rv, errmsg);
        }
        /* On failure raft keeps the buffer. */
        return RAFT_CORRUPT;
    }
    fsm->record = restored;
    /* On success the buffer is ours. */
    raft_free(buf->base);
    if (fsm->applied_cb != NULL) {
        fsm->applied_cb(fsm->data, NULL, 0, "restored from snapshot");
    }
    return 0;
}

void fsm_init(struct fsm *fsm, fsm_applied_cb cb, void *data)
{
    memset(fsm, 0, sizeof *fsm);
    record_init(&fsm->record);
    fsm->raft.version = 2;
    fsm->raft.data = fsm;
    fsm->raft.apply = fsm_apply;
    fsm->raft.snapshot = fsm_snapshot;
    fsm->raft.snapshot_finalize = fsm_snapshot_finalize;
    fsm->raft.restore = fsm_restore;
    fsm->applied_cb = cb;
    fsm->data = data;
}
