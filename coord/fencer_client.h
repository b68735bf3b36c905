/*
 * The daemon's side of the fencer (coord/fencer.c): keep a connection to the fencer's socket on
 * the daemon's libuv loop, tell it the writer's deadline (ARM) or that the daemon fenced by
 * itself (DISARM), and report what the fencer says its state is.
 *
 * The client remembers the last ARM or DISARM asked for and sends it again on every
 * (re)connection, so a restarted fencer learns the deadline without the caller doing anything.
 * It PINGs every interval while connected; a fencer that leaves a request unanswered for two
 * intervals is treated as gone (the connection is dropped and retried). Nothing here blocks the
 * loop except fencer_client_probe() and fencer_spawn(), meant for start-up.
 */
#ifndef MMC_FENCER_CLIENT_H
#define MMC_FENCER_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "coord/fencer_proto.h"

/* The socket path (up to 107 bytes), a colon and the reason. */
#define FENCER_CLIENT_ERROR_SIZE 256

struct fencer_client; /* opaque */

struct fencer_client_status {
    bool connected;                       /* a fencer answers on the socket */
    enum fencer_proto_state state;        /* its state, when connected */
    uint64_t epoch;                       /* ARMED, FENCING, FENCED */
    uint64_t fence_at_ms;                 /* ARMED */
    char error[FENCER_CLIENT_ERROR_SIZE]; /* the last ERR reply or connection failure, or "" */
};

/* Called on the loop whenever the status changes (connection, state, epoch or deadline). The
 * status is valid during the call only. */
typedef void (*fencer_client_cb)(struct fencer_client *client,
                                 const struct fencer_client_status *status, void *data);

/* Start connecting to the fencer's socket @path on @loop; retry and PING every @interval_ms
 * (a few hundred ms is right). @cb may be NULL. On success *@out is owned by the caller, who
 * releases it with fencer_client_close(). Fails with -EINVAL (path too long for a Unix socket)
 * or -ENOMEM; errmsg says which. */
int fencer_client_start(uv_loop_t *loop, const char *path, unsigned interval_ms,
                        fencer_client_cb cb, void *data, struct fencer_client **out, char *errmsg,
                        size_t errlen);

/* The writer of @epoch is writable until @fence_at_ms (CLOCK_BOOTTIME ms of this host). Sent
 * now when connected, otherwise on connection. Replaces an earlier ARM or DISARM. */
void fencer_client_arm(struct fencer_client *client, uint64_t epoch, uint64_t fence_at_ms);

/* The daemon fenced @epoch by itself; the fencer may forget its deadline. */
void fencer_client_disarm(struct fencer_client *client, uint64_t epoch);

/* The latest status (owned by @client). */
const struct fencer_client_status *fencer_client_status(const struct fencer_client *client);

/* Stop: close the connection and timers; @client is freed once libuv has closed its handles
 * (run the loop). The fencer keeps whatever deadline it was last told: closing is not
 * disarming. NULL is fine. */
void fencer_client_close(struct fencer_client *client);

/* Blocking: connect to @path, send PING and wait up to @timeout_ms for the reply. Returns 0
 * with *@reply filled, -ENOENT / -ECONNREFUSED when no fencer listens there, -ETIMEDOUT,
 * -EPROTO for a reply that does not parse, or another -errno. For start-up checks only. */
int fencer_client_probe(const char *path, unsigned timeout_ms, struct fencer_proto_reply *reply,
                        char *errmsg, size_t errlen);

/* Start the fencer program detached from the caller unless one answers on @path already:
 * double fork, setsid (so that signals to the daemon's process group or session never reach
 * it, and it outlives a SIGKILLed daemon), stdin from /dev/null, stdout and stderr appended to
 * @log_path (created 0600), every other descriptor closed, then execv(@argv[0], @argv).
 * Returns the fencer's pid, 0 when a fencer already answers on @path (nothing started), or
 * -errno (the exec's own failure included: errmsg names the program) with a message. The
 * caller does not reap it: it is re-parented to init. Blocks for the probe (up to 500 ms) and
 * the fork. */
pid_t fencer_spawn(const char *path, char *const argv[], const char *log_path, char *errmsg,
                   size_t errlen);

#endif /* MMC_FENCER_CLIENT_H */
