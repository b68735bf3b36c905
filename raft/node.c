/*
 * A raft node on libuv with our authenticated transport, and the follower-to-leader
 * forwarding of commands; see node.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coord/clock.h"
#include "raft/node.h"
#include "raft/transport.h"

#define FORWARD_QUEUE_MAX 16 /* frames held while the channel to the leader is being opened */
#define FORWARD_FRAME_MAX (4 + CODEC_COMMAND_MAX)

struct frame {
    size_t len;
    uint8_t bytes[FORWARD_FRAME_MAX];
};

/* An authenticated FORWARD channel from a follower, read by the leader. */
struct inbound {
    struct node *node;
    uv_stream_t *stream;
    uint64_t from;
    size_t used;
    uint8_t buf[FORWARD_FRAME_MAX];
    struct inbound *next;
};

struct write_req {
    uv_write_t req;
    struct node *node;
    struct frame frame;
};

struct connect_attempt {
    struct node *node;
    uint64_t peer_id;
};

struct node {
    uv_loop_t *loop;
    const struct config *config;
    struct raft raft;
    struct raft_io io;             /* raft_uv */
    struct node_io_guard io_guard; /* what raft sees: io, ending the process if a write fails */
    struct raft_uv_transport transport;
    struct fsm fsm;
    node_event_cb on_event;
    bool (*before_append)(void *data, const struct command *cmd);
    void *data;

    /* The channel to the leader, for forwarding. */
    uv_stream_t *out_stream; /* open and authenticated, or NULL */
    uint64_t out_peer;       /* leader it is open (or being opened) to, or 0 */
    bool out_connecting;
    struct frame *queue[FORWARD_QUEUE_MAX];
    unsigned queue_len;

    struct inbound *inbound; /* channels from followers */
    unsigned open_handles;   /* streams whose close callback has not run yet */

    /* raft 0.15's pre-vote can livelock two voters whose terms diverged (the one with the
     * higher term has the shorter log: each refuses the other's pre-vote and the lower term is
     * never raised; canonical/raft issue 279). Without a leader for long, pre-vote is turned
     * off until one is elected: a real vote raises the terms and ends it. */
    uv_timer_t leaderless_timer;
    uint64_t leader_seen_ms; /* CLOCK_BOOTTIME when a leader was last known */
    bool pre_vote_off;

    bool closing;
    bool raft_closed;
    void (*close_cb)(void *data);
    void *close_data;
};

static void node_event(struct node *node, enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void node_event(struct node *node, enum log_level level, const char *fmt, ...)
{
    if (node->on_event == NULL) {
        return;
    }
    char message[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    node->on_event(node->data, level, message);
}

static void maybe_finish_close(struct node *node)
{
    if (!node->closing || !node->raft_closed || node->open_handles > 0) {
        return;
    }
    void (*cb)(void *) = node->close_cb;
    void *data = node->close_data;
    for (unsigned i = 0; i < node->queue_len; i++) {
        free(node->queue[i]);
    }
    free(node);
    if (cb != NULL) {
        cb(data);
    }
}

static void stream_closed(uv_handle_t *handle)
{
    struct node *node = handle->data;
    raft_free(handle);
    node->open_handles--;
    maybe_finish_close(node);
}

static void timer_closed(uv_handle_t *handle)
{
    struct node *node = handle->data;
    node->open_handles--;
    maybe_finish_close(node);
}

#define LEADERLESS_ELECTIONS 5 /* election timeouts without a leader before pre-vote goes off */

static void on_leaderless_timer(uv_timer_t *timer)
{
    struct node *node = timer->data;
    uint64_t now = clock_boottime_ms();
    raft_id leader = 0;
    const char *address = NULL;
    raft_leader(&node->raft, &leader, &address);
    if (leader != 0) {
        node->leader_seen_ms = now;
        if (node->pre_vote_off) {
            node->pre_vote_off = false;
            raft_set_pre_vote(&node->raft, true);
            node_event(node, LOG_LEVEL_INFO, "raft: a leader is known again: pre-vote back on");
        }
        return;
    }
    uint64_t limit = (uint64_t)LEADERLESS_ELECTIONS * node->config->election_timeout_ms;
    if (!node->pre_vote_off && now - node->leader_seen_ms > limit) {
        node->pre_vote_off = true;
        raft_set_pre_vote(&node->raft, false);
        node_event(node, LOG_LEVEL_WARN,
                   "raft: no leader for %llu ms: pre-vote off until one is elected (pre-vote can "
                   "keep two voters whose terms diverged from ever electing one)",
                   (unsigned long long)(now - node->leader_seen_ms));
    }
}

static void close_stream(struct node *node, uv_stream_t *stream)
{
    stream->data = node;
    uv_close((uv_handle_t *)stream, stream_closed);
}

/* ---- Inbound channels (leader side) ---- */

static void inbound_remove(struct inbound *in)
{
    struct inbound **p = &in->node->inbound;
    while (*p != NULL && *p != in) {
        p = &(*p)->next;
    }
    if (*p == in) {
        *p = in->next;
    }
}

static void inbound_close(struct inbound *in)
{
    inbound_remove(in);
    uv_read_stop(in->stream);
    close_stream(in->node, in->stream);
    free(in);
}

static void inbound_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct inbound *in = handle->data;
    buf->base = (char *)in->buf + in->used;
    buf->len = sizeof in->buf - in->used;
}

static void forwarded_apply_done(struct raft_apply *req, int status, void *result)
{
    (void)result;
    struct node *node = req->data;
    if (status != 0 && !node->closing) {
        node_event(node, LOG_LEVEL_DEBUG, "forwarded command not committed: %s",
                   raft_strerror(status));
    }
    free(req);
}

/* Append one forwarded command if we lead; a follower that forwarded to a former leader will
 * find the new one on its next submit. */
static void inbound_frame(struct inbound *in, const uint8_t *bytes, size_t len)
{
    struct node *node = in->node;
    struct command cmd;
    char errmsg[CODEC_ERRMSG_SIZE];
    if (command_decode(bytes, len, &cmd, errmsg, sizeof errmsg) != 0) {
        node_event(node, LOG_LEVEL_WARN, "forward channel from %s: %s; closing it",
                   config_find_raft_id(node->config, in->from)->id, errmsg);
        inbound_close(in);
        return;
    }
    if (raft_state(&node->raft) != RAFT_LEADER) {
        node_event(node, LOG_LEVEL_DEBUG, "dropped a forwarded %s: not the leader any more",
                   command_type_name(cmd.type));
        return;
    }
    if (cmd.type == COMMAND_SET_WRITER) {
        /* Only the leader decides the writer: a follower never has one to forward. */
        node_event(node, LOG_LEVEL_WARN, "forward channel from %s: refused a set_writer",
                   config_find_raft_id(node->config, in->from)->id);
        return;
    }
    if (node->before_append != NULL && !node->before_append(node->data, &cmd)) {
        node_event(node, LOG_LEVEL_DEBUG, "refused a forwarded %s", command_type_name(cmd.type));
        return;
    }
    struct raft_buffer buf = {.base = raft_malloc(len), .len = len};
    struct raft_apply *req = malloc(sizeof *req);
    if (buf.base == NULL || req == NULL) {
        raft_free(buf.base);
        free(req);
        return;
    }
    memcpy(buf.base, bytes, len);
    req->data = node;
    int rv = raft_apply(&node->raft, req, &buf, 1, forwarded_apply_done);
    if (rv != 0) {
        raft_free(buf.base);
        free(req);
        node_event(node, LOG_LEVEL_DEBUG, "forwarded %s not appended: %s",
                   command_type_name(cmd.type), raft_strerror(rv));
    }
}

static void inbound_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    struct inbound *in = stream->data;
    if (nread < 0) {
        inbound_close(in);
        return;
    }
    in->used += (size_t)nread;
    for (;;) {
        if (in->used < 4) {
            return;
        }
        uint32_t len = (uint32_t)in->buf[0] | (uint32_t)in->buf[1] << 8 |
                       (uint32_t)in->buf[2] << 16 | (uint32_t)in->buf[3] << 24;
        if (len == 0 || len > CODEC_COMMAND_MAX) {
            node_event(in->node, LOG_LEVEL_WARN,
                       "forward channel from %s: frame of %u bytes (at most %d); closing it",
                       config_find_raft_id(in->node->config, in->from)->id, (unsigned)len,
                       CODEC_COMMAND_MAX);
            inbound_close(in);
            return;
        }
        if (in->used < 4 + (size_t)len) {
            return;
        }
        struct node *node = in->node;
        struct inbound *still = node->inbound;
        inbound_frame(in, in->buf + 4, len);
        /* inbound_frame may have closed the channel. */
        while (still != NULL && still != in) {
            still = still->next;
        }
        if (still == NULL) {
            return;
        }
        memmove(in->buf, in->buf + 4 + len, in->used - 4 - len);
        in->used -= 4 + len;
    }
}

static void on_forward(void *data, uint64_t from, uv_stream_t *stream)
{
    struct node *node = data;
    node->open_handles++;
    if (node->closing) {
        close_stream(node, stream);
        return;
    }
    struct inbound *in = calloc(1, sizeof *in);
    if (in == NULL) {
        close_stream(node, stream);
        return;
    }
    in->node = node;
    in->stream = stream;
    in->from = from;
    in->next = node->inbound;
    node->inbound = in;
    stream->data = in;
    int rv = uv_read_start(stream, inbound_alloc, inbound_read);
    if (rv != 0) {
        inbound_close(in);
    }
}

/* ---- Outbound channel (follower side) ---- */

static void out_reset(struct node *node)
{
    if (node->out_stream != NULL) {
        close_stream(node, node->out_stream);
        node->out_stream = NULL;
    }
    node->out_peer = 0;
}

static void out_write_done(uv_write_t *req, int status)
{
    struct write_req *w = (struct write_req *)req;
    struct node *node = w->node;
    uv_stream_t *stream = req->handle;
    free(w);
    if (status != 0 && !node->closing && node->out_stream == stream) {
        node_event(node, LOG_LEVEL_DEBUG, "forward channel to the leader failed: %s",
                   uv_strerror(status));
        out_reset(node);
    }
}

static int out_write(struct node *node, const struct frame *frame)
{
    struct write_req *w = malloc(sizeof *w);
    if (w == NULL) {
        return -ENOMEM;
    }
    w->node = node;
    w->frame = *frame;
    uv_buf_t buf = uv_buf_init((char *)w->frame.bytes, (unsigned)w->frame.len);
    int rv = uv_write(&w->req, node->out_stream, &buf, 1, out_write_done);
    if (rv != 0) {
        free(w);
        out_reset(node);
        return -EIO;
    }
    return 0;
}

static void out_flush(struct node *node)
{
    for (unsigned i = 0; i < node->queue_len; i++) {
        if (node->out_stream != NULL) {
            out_write(node, node->queue[i]);
        }
        free(node->queue[i]);
    }
    node->queue_len = 0;
}

/* The channel gives us nothing to read; reading only notices that the leader hung up. */
static void out_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    (void)handle;
    (void)suggested;
    static char sink[64];
    buf->base = sink;
    buf->len = sizeof sink;
}

static void out_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    struct node *node = stream->data;
    if (nread < 0 && node->out_stream == stream) {
        out_reset(node);
    }
}

static void out_connected(void *data, uv_stream_t *stream, int status)
{
    struct connect_attempt *attempt = data;
    struct node *node = attempt->node;
    uint64_t peer = attempt->peer_id;
    free(attempt);
    if (status != 0) {
        if (!node->closing && node->out_peer == peer) {
            node->out_connecting = false;
            node->out_peer = 0;
            node_event(node, LOG_LEVEL_DEBUG, "forward channel to %s not opened: %s",
                       config_find_raft_id(node->config, peer)->id, strerror(-status));
        }
        return;
    }
    node->open_handles++;
    if (node->closing || node->out_peer != peer) {
        close_stream(node, stream);
        return;
    }
    node->out_connecting = false;
    node->out_stream = stream;
    stream->data = node;
    uv_read_start(stream, out_alloc, out_read);
    out_flush(node);
}

static int out_submit(struct node *node, uint64_t leader_id, const char *leader_address,
                      const uint8_t *bytes, size_t len)
{
    if (node->out_peer != leader_id) {
        out_reset(node);
        node->out_connecting = false;
    }
    struct frame *frame = malloc(sizeof *frame);
    if (frame == NULL) {
        return -ENOMEM;
    }
    frame->bytes[0] = (uint8_t)len;
    frame->bytes[1] = (uint8_t)(len >> 8);
    frame->bytes[2] = (uint8_t)(len >> 16);
    frame->bytes[3] = (uint8_t)(len >> 24);
    memcpy(frame->bytes + 4, bytes, len);
    frame->len = 4 + len;
    if (node->out_stream != NULL) {
        int rv = out_write(node, frame);
        free(frame);
        return rv;
    }
    if (node->queue_len == FORWARD_QUEUE_MAX) {
        /* Keep the newest: each periodic command supersedes the older ones. */
        free(node->queue[0]);
        memmove(node->queue, node->queue + 1, (FORWARD_QUEUE_MAX - 1) * sizeof node->queue[0]);
        node->queue_len--;
    }
    node->queue[node->queue_len++] = frame;
    if (!node->out_connecting) {
        struct connect_attempt *attempt = malloc(sizeof *attempt);
        if (attempt == NULL) {
            return -ENOMEM;
        }
        attempt->node = node;
        attempt->peer_id = leader_id;
        node->out_peer = leader_id;
        node->out_connecting = true;
        int rv = transport_connect_forward(&node->transport, leader_id, leader_address,
                                           out_connected, attempt);
        if (rv != 0) {
            free(attempt);
            node->out_connecting = false;
            node->out_peer = 0;
            return -EIO;
        }
    }
    return 0;
}

/* ---- The raft I/O guard (see node_io_guard_init) ---- */

struct guarded_append {
    struct raft_io_append req; /* what the inner I/O sees */
    struct raft_io_append *outer;
    struct node_io_guard *guard;
    unsigned n_entries;
};

struct guarded_snapshot_put {
    struct raft_io_snapshot_put req;
    struct raft_io_snapshot_put *outer;
    struct node_io_guard *guard;
    raft_index index;
};

static struct node_io_guard *guard_of(struct raft_io *io)
{
    return io->impl;
}

/* Say what the data dir does now, so that the error names the cause (raft_uv's own message has
 * no errno: "write failed: -1"). A few small synchronous calls: the process is leaving. */
static void probe_data_dir(const char *dir, char *out, size_t len)
{
    const char *immutable = "";
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        int flags = 0;
        if (ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0 && (flags & FS_IMMUTABLE_FL) != 0) {
            immutable = "; the data dir has the immutable flag (lsattr -d; chattr -R -i clears it)";
        }
        close(fd);
    }
    char path[CONFIG_PATH_SIZE + 32];
    snprintf(path, sizeof path, "%s/.mmc-write-probe", dir);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(out, len, "creating a file there fails now: %s%s", strerror(errno), immutable);
        return;
    }
    static const char block[4096];
    int err = 0;
    /* No fsync: on a hung device it could block for good, and the process must leave. */
    ssize_t n = write(fd, block, sizeof block);
    if (n != (ssize_t)sizeof block) {
        err = n < 0 ? errno : ENOSPC;
    }
    close(fd);
    unlink(path);
    if (err != 0) {
        snprintf(out, len, "writing a file there fails now: %s%s", strerror(err), immutable);
    } else {
        snprintf(out, len, "a test write there succeeds now%s", immutable);
    }
}

static void guard_fail(struct node_io_guard *guard, const char *what, int status)
    __attribute__((noreturn));

static void guard_fail(struct node_io_guard *guard, const char *what, int status)
{
    if (guard->on_event != NULL) {
        char probe[320];
        probe_data_dir(guard->data_dir, probe, sizeof probe);
        char message[1536];
        snprintf(message, sizeof message,
                 "raft storage: %s failed in data dir %s: %s (%s); %s. libraft 0.15 would go on "
                 "with entries in memory that the disk lacks and write later ones behind the gap "
                 "(every later index wrong at the next start), so this process exits now with "
                 "status %d for its supervisor to restart it; if the restart fails, make the data "
                 "dir writable again (immutable flag, free space, read-only mount)",
                 what, guard->data_dir, raft_strerror(status),
                 guard->inner->errmsg[0] != '\0' ? guard->inner->errmsg : "no detail", probe,
                 NODE_EXIT_STORAGE_FAILED);
        guard->on_event(guard->data, LOG_LEVEL_ERROR, message);
    }
    /* _exit, not exit: no atexit handler or stdio flush runs, and raft gets no chance to submit
     * another write from the loop. */
    _exit(NODE_EXIT_STORAGE_FAILED);
}

static void guard_copy_errmsg(struct raft_io *io)
{
    memcpy(io->errmsg, guard_of(io)->inner->errmsg, sizeof io->errmsg);
}

static int guard_init(struct raft_io *io, raft_id id, const char *address)
{
    struct raft_io *inner = guard_of(io)->inner;
    /* The inner I/O calls raft back with itself: raft finds itself in io->data. */
    inner->data = io->data;
    int rv = inner->init(inner, id, address);
    if (rv != 0) {
        guard_copy_errmsg(io);
    }
    return rv;
}

static void guard_close(struct raft_io *io, raft_io_close_cb cb)
{
    struct node_io_guard *guard = guard_of(io);
    guard->closed = true;
    guard->inner->close(guard->inner, cb);
}

static int guard_load(struct raft_io *io, raft_term *term, raft_id *voted_for,
                      struct raft_snapshot **snapshot, raft_index *start_index,
                      struct raft_entry *entries[], size_t *n_entries)
{
    struct raft_io *inner = guard_of(io)->inner;
    int rv = inner->load(inner, term, voted_for, snapshot, start_index, entries, n_entries);
    if (rv != 0) {
        guard_copy_errmsg(io);
    }
    return rv;
}

static int guard_start(struct raft_io *io, unsigned msecs, raft_io_tick_cb tick,
                       raft_io_recv_cb recv)
{
    struct raft_io *inner = guard_of(io)->inner;
    inner->data = io->data;
    int rv = inner->start(inner, msecs, tick, recv);
    if (rv != 0) {
        guard_copy_errmsg(io);
    }
    return rv;
}

static int guard_bootstrap(struct raft_io *io, const struct raft_configuration *conf)
{
    struct raft_io *inner = guard_of(io)->inner;
    int rv = inner->bootstrap(inner, conf);
    if (rv != 0) {
        guard_copy_errmsg(io);
    }
    return rv;
}

static int guard_recover(struct raft_io *io, const struct raft_configuration *conf)
{
    struct raft_io *inner = guard_of(io)->inner;
    int rv = inner->recover(inner, conf);
    if (rv != 0) {
        guard_copy_errmsg(io);
    }
    return rv;
}

static int guard_set_term(struct raft_io *io, raft_term term)
{
    struct node_io_guard *guard = guard_of(io);
    int rv = guard->inner->set_term(guard->inner, term);
    if (rv != 0) {
        char what[64];
        snprintf(what, sizeof what, "saving term %llu", (unsigned long long)term);
        guard_fail(guard, what, rv);
    }
    return 0;
}

static int guard_set_vote(struct raft_io *io, raft_id server_id)
{
    struct node_io_guard *guard = guard_of(io);
    int rv = guard->inner->set_vote(guard->inner, server_id);
    if (rv != 0) {
        char what[64];
        snprintf(what, sizeof what, "saving the vote for node %llu", (unsigned long long)server_id);
        guard_fail(guard, what, rv);
    }
    return 0;
}

static int guard_send(struct raft_io *io, struct raft_io_send *req,
                      const struct raft_message *message, raft_io_send_cb cb)
{
    struct raft_io *inner = guard_of(io)->inner;
    int rv = inner->send(inner, req, message, cb);
    if (rv != 0) {
        guard_copy_errmsg(io);
    }
    return rv;
}

static void guard_append_done(struct raft_io_append *req, int status)
{
    struct guarded_append *append = req->data;
    struct node_io_guard *guard = append->guard;
    struct raft_io_append *outer = append->outer;
    if (status != 0 && !guard->closed) {
        char what[64];
        snprintf(what, sizeof what, "appending %u log entr%s", append->n_entries,
                 append->n_entries == 1 ? "y" : "ies");
        guard_fail(guard, what, status);
    }
    free(append);
    outer->cb(outer, status);
}

static int guard_append(struct raft_io *io, struct raft_io_append *req,
                        const struct raft_entry entries[], unsigned n, raft_io_append_cb cb)
{
    struct node_io_guard *guard = guard_of(io);
    struct guarded_append *append = malloc(sizeof *append);
    if (append == NULL) {
        guard_fail(guard, "appending log entries (out of memory)", RAFT_NOMEM);
    }
    append->req.data = append;
    append->outer = req;
    append->guard = guard;
    append->n_entries = n;
    req->cb = cb;
    int rv = guard->inner->append(guard->inner, &append->req, entries, n, guard_append_done);
    if (rv != 0) {
        char what[64];
        snprintf(what, sizeof what, "appending %u log entr%s", n, n == 1 ? "y" : "ies");
        guard_fail(guard, what, rv);
    }
    return 0;
}

static int guard_truncate(struct raft_io *io, raft_index index)
{
    struct node_io_guard *guard = guard_of(io);
    int rv = guard->inner->truncate(guard->inner, index);
    if (rv != 0) {
        char what[64];
        snprintf(what, sizeof what, "truncating the log from index %llu",
                 (unsigned long long)index);
        guard_fail(guard, what, rv);
    }
    return 0;
}

static void guard_snapshot_put_done(struct raft_io_snapshot_put *req, int status)
{
    struct guarded_snapshot_put *put = req->data;
    struct node_io_guard *guard = put->guard;
    struct raft_io_snapshot_put *outer = put->outer;
    if (status != 0 && !guard->closed) {
        char what[64];
        snprintf(what, sizeof what, "writing the snapshot at index %llu",
                 (unsigned long long)put->index);
        guard_fail(guard, what, status);
    }
    free(put);
    outer->cb(outer, status);
}

static int guard_snapshot_put(struct raft_io *io, unsigned trailing,
                              struct raft_io_snapshot_put *req,
                              const struct raft_snapshot *snapshot, raft_io_snapshot_put_cb cb)
{
    struct node_io_guard *guard = guard_of(io);
    struct guarded_snapshot_put *put = malloc(sizeof *put);
    if (put == NULL) {
        guard_fail(guard, "writing a snapshot (out of memory)", RAFT_NOMEM);
    }
    put->req.data = put;
    put->outer = req;
    put->guard = guard;
    put->index = snapshot->index;
    req->cb = cb;
    int rv = guard->inner->snapshot_put(guard->inner, trailing, &put->req, snapshot,
                                        guard_snapshot_put_done);
    if (rv != 0) {
        char what[64];
        snprintf(what, sizeof what, "writing the snapshot at index %llu",
                 (unsigned long long)snapshot->index);
        guard_fail(guard, what, rv);
    }
    return 0;
}

static int guard_snapshot_get(struct raft_io *io, struct raft_io_snapshot_get *req,
                              raft_io_snapshot_get_cb cb)
{
    struct raft_io *inner = guard_of(io)->inner;
    int rv = inner->snapshot_get(inner, req, cb);
    if (rv != 0) {
        guard_copy_errmsg(io);
    }
    return rv;
}

static raft_time guard_time(struct raft_io *io)
{
    struct raft_io *inner = guard_of(io)->inner;
    return inner->time(inner);
}

static int guard_random(struct raft_io *io, int min, int max)
{
    struct raft_io *inner = guard_of(io)->inner;
    return inner->random(inner, min, max);
}

static int guard_async_work(struct raft_io *io, struct raft_io_async_work *req,
                            raft_io_async_work_cb cb)
{
    struct raft_io *inner = guard_of(io)->inner;
    int rv = inner->async_work(inner, req, cb);
    if (rv != 0) {
        guard_copy_errmsg(io);
    }
    return rv;
}

void node_io_guard_init(struct node_io_guard *guard, struct raft_io *inner, const char *data_dir,
                        node_event_cb on_event, void *data)
{
    memset(guard, 0, sizeof *guard);
    guard->inner = inner;
    guard->data_dir = data_dir;
    guard->on_event = on_event;
    guard->data = data;
    struct raft_io *io = &guard->io;
    io->version = inner->version;
    io->impl = guard;
    io->init = guard_init;
    io->close = guard_close;
    io->load = guard_load;
    io->start = guard_start;
    io->bootstrap = guard_bootstrap;
    io->recover = guard_recover;
    io->set_term = guard_set_term;
    io->set_vote = guard_set_vote;
    io->send = guard_send;
    io->append = guard_append;
    io->truncate = guard_truncate;
    io->snapshot_put = guard_snapshot_put;
    io->snapshot_get = guard_snapshot_get;
    io->time = guard_time;
    io->random = guard_random;
    io->async_work = inner->version >= 2 ? guard_async_work : NULL;
}

struct raft_io *node_io_guard_io(struct node_io_guard *guard)
{
    return &guard->io;
}

/* ---- Public ---- */

static void local_apply_done(struct raft_apply *req, int status, void *result)
{
    (void)result;
    struct node *node = req->data;
    if (status != 0 && !node->closing) {
        node_event(node, LOG_LEVEL_DEBUG, "command not committed: %s", raft_strerror(status));
    }
    free(req);
}

int node_submit(struct node *node, const struct command *cmd, char *errmsg, size_t errlen)
{
    if (node->closing) {
        snprintf(errmsg, errlen, "node is shutting down");
        return -ESHUTDOWN;
    }
    uint8_t bytes[CODEC_COMMAND_MAX];
    size_t len;
    int rv = command_encode(cmd, bytes, sizeof bytes, &len);
    if (rv != 0) {
        snprintf(errmsg, errlen, "cannot encode a %s command: %s", command_type_name(cmd->type),
                 strerror(-rv));
        return -EINVAL;
    }
    if (raft_state(&node->raft) == RAFT_LEADER) {
        if (node->before_append != NULL && !node->before_append(node->data, cmd)) {
            snprintf(errmsg, errlen, "refused by the lease rule");
            return -EPERM;
        }
        struct raft_buffer buf = {.base = raft_malloc(len), .len = len};
        struct raft_apply *req = malloc(sizeof *req);
        if (buf.base == NULL || req == NULL) {
            raft_free(buf.base);
            free(req);
            snprintf(errmsg, errlen, "out of memory");
            return -ENOMEM;
        }
        memcpy(buf.base, bytes, len);
        req->data = node;
        rv = raft_apply(&node->raft, req, &buf, 1, local_apply_done);
        if (rv != 0) {
            raft_free(buf.base);
            free(req);
            snprintf(errmsg, errlen, "raft_apply: %s", raft_strerror(rv));
            return -EIO;
        }
        return 0;
    }
    raft_id leader_id;
    const char *leader_address;
    raft_leader(&node->raft, &leader_id, &leader_address);
    if (leader_id == 0 || leader_address == NULL) {
        snprintf(errmsg, errlen, "no leader known");
        return -EAGAIN;
    }
    rv = out_submit(node, leader_id, leader_address, bytes, len);
    if (rv != 0) {
        snprintf(errmsg, errlen, "cannot forward to the leader at %s: %s", leader_address,
                 strerror(-rv));
    }
    return rv;
}

const struct record *node_record(const struct node *node)
{
    return &node->fsm.record;
}

struct raft *node_raft(struct node *node)
{
    return &node->raft;
}

void node_leader(struct node *node, uint64_t *id, const char **address)
{
    raft_id leader;
    raft_leader(&node->raft, &leader, address);
    *id = leader;
}

void node_peer_progress(struct node *node, uint64_t id, struct node_peer_progress *out)
{
    memset(out, 0, sizeof *out);
    if (raft_state(&node->raft) != RAFT_LEADER || id == node->raft.id) {
        return;
    }
    const struct raft_configuration *conf = &node->raft.configuration;
    for (unsigned i = 0; i < conf->n; i++) {
        if (conf->servers[i].id == id) {
            const struct raft_progress *p = &node->raft.leader_state.progress[i];
            out->known = true;
            out->recent_contact = p->recent_recv;
            out->match_index = p->match_index;
            return;
        }
    }
}

const char *node_role_name(int raft_state)
{
    switch (raft_state) {
    case RAFT_LEADER:
        return "leader";
    case RAFT_FOLLOWER:
        return "follower";
    case RAFT_CANDIDATE:
        return "candidate";
    default:
        return "unavailable";
    }
}

static void on_reject(void *data, const char *peer, const char *reason)
{
    node_event(data, LOG_LEVEL_WARN, "rejected peer %s: %s", peer, reason);
}

static int make_dir(const char *path, char *errmsg, size_t errlen)
{
    char buf[CONFIG_PATH_SIZE];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p != '\0'; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
                int err = errno;
                snprintf(errmsg, errlen, "cannot create %s: %s", buf, strerror(err));
                return -err;
            }
            *p = '/';
        }
    }
    if (mkdir(buf, 0700) != 0 && errno != EEXIST) {
        int err = errno;
        snprintf(errmsg, errlen, "cannot create data dir %s: %s", buf, strerror(err));
        return -err;
    }
    return 0;
}

int node_start(uv_loop_t *loop, const struct node_options *opts, struct node **out, char *errmsg,
               size_t errlen)
{
    const struct config *config = opts->config;
    const struct config_node *self = &config->nodes[config->local_index];
    int rv = make_dir(config->data_dir, errmsg, errlen);
    if (rv != 0) {
        return rv;
    }
    struct node *node = calloc(1, sizeof *node);
    if (node == NULL) {
        snprintf(errmsg, errlen, "out of memory");
        return -ENOMEM;
    }
    node->loop = loop;
    node->config = config;
    node->on_event = opts->on_event;
    node->before_append = opts->before_append;
    node->data = opts->data;
    fsm_init(&node->fsm, opts->on_applied, opts->data);

    struct transport_peer peers[CONFIG_MAX_NODES];
    for (unsigned i = 0; i < config->n_nodes; i++) {
        peers[i].id = config->nodes[i].raft_id;
        snprintf(peers[i].address, sizeof peers[i].address, "%s", config->nodes[i].raft_address);
    }
    struct transport_options topts = {
        .cluster_name = config->cluster_name,
        .secret = opts->secret,
        .secret_len = opts->secret_len,
        .peers = peers,
        .n_peers = config->n_nodes,
        .handshake_timeout_ms = config->election_timeout_ms,
        .on_reject = on_reject,
        .on_forward = on_forward,
        .data = node,
    };
    rv = transport_init(&node->transport, loop, &topts, errmsg, errlen);
    if (rv != 0) {
        free(node);
        return rv;
    }
    rv = raft_uv_init(&node->io, loop, config->data_dir, &node->transport);
    if (rv != 0) {
        snprintf(errmsg, errlen, "raft I/O on %s: %s", config->data_dir,
                 node->io.errmsg[0] != '\0' ? node->io.errmsg : raft_strerror(rv));
        transport_release(&node->transport);
        free(node);
        return -EIO;
    }
    /* Reconnect quickly after a peer restarts: the default is a whole second. */
    raft_uv_set_connect_retry_delay(&node->io, config->heartbeat_ms * 2);
    node_io_guard_init(&node->io_guard, &node->io, config->data_dir, node->on_event, node->data);
    rv = raft_init(&node->raft, node_io_guard_io(&node->io_guard), &node->fsm.raft, self->raft_id,
                   self->raft_address);
    if (rv != 0) {
        snprintf(errmsg, errlen, "raft_init: %s", raft_errmsg(&node->raft));
        raft_uv_close(&node->io);
        transport_release(&node->transport);
        free(node);
        return -EIO;
    }
    node->raft.data = node;
    raft_set_election_timeout(&node->raft, config->election_timeout_ms);
    raft_set_heartbeat_timeout(&node->raft, config->heartbeat_ms);
    raft_set_snapshot_threshold(&node->raft, config->snapshot_threshold);
    raft_set_snapshot_trailing(&node->raft, config->snapshot_trailing);
    /* A node that was cut off must not depose a healthy leader when it returns. */
    raft_set_pre_vote(&node->raft, true);

    struct raft_configuration conf;
    raft_configuration_init(&conf);
    for (unsigned i = 0; i < config->n_nodes && rv == 0; i++) {
        rv = raft_configuration_add(&conf, config->nodes[i].raft_id, config->nodes[i].raft_address,
                                    RAFT_VOTER);
    }
    if (rv == 0) {
        rv = raft_bootstrap(&node->raft, &conf);
        if (rv == RAFT_CANTBOOTSTRAP) {
            rv = 0; /* the data dir already holds a log: use it */
        }
    }
    raft_configuration_close(&conf);
    if (rv == 0) {
        rv = raft_start(&node->raft);
    }
    if (rv == 0) {
        node->leader_seen_ms = clock_boottime_ms();
        uv_timer_init(loop, &node->leaderless_timer);
        node->leaderless_timer.data = node;
        node->open_handles++;
        uv_timer_start(&node->leaderless_timer, on_leaderless_timer, config->election_timeout_ms,
                       config->election_timeout_ms);
    }
    if (rv != 0) {
        snprintf(errmsg, errlen, "raft start on %s (data dir %s): %s", self->raft_address,
                 config->data_dir,
                 raft_errmsg(&node->raft)[0] != '\0' ? raft_errmsg(&node->raft)
                                                     : raft_strerror(rv));
        /* raft must be closed through its callback; the caller exits anyway. */
        node->closing = true;
        node_close(node, NULL, NULL);
        return -EIO;
    }
    *out = node;
    return 0;
}

static void raft_closed(struct raft *raft)
{
    struct node *node = raft->data;
    raft_uv_close(&node->io);
    transport_release(&node->transport);
    node->raft_closed = true;
    maybe_finish_close(node);
}

void node_close(struct node *node, void (*cb)(void *data), void *data)
{
    node->closing = true;
    node->close_cb = cb;
    node->close_data = data;
    out_reset(node);
    if (node->leaderless_timer.data == node &&
        !uv_is_closing((uv_handle_t *)&node->leaderless_timer)) {
        uv_close((uv_handle_t *)&node->leaderless_timer, timer_closed); /* started */
    }
    while (node->inbound != NULL) {
        inbound_close(node->inbound);
    }
    raft_close(&node->raft, raft_closed);
}
