/* The daemon's side of the fencer; see fencer_client.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "coord/clock.h"
#include "coord/fencer_client.h"

enum { REPORT_PID = 1, REPORT_EXEC_ERRNO = 2 };

enum pipe_phase { PIPE_IDLE, PIPE_CONNECTING, PIPE_CONNECTED, PIPE_CLOSING };

struct fencer_client {
    uv_loop_t *loop;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    unsigned interval_ms;
    fencer_client_cb cb;
    void *data;
    uv_pipe_t pipe;
    uv_connect_t connect_req;
    uv_timer_t timer;
    enum pipe_phase phase;
    bool closing;
    unsigned open_handles; /* freed when the last one is closed after fencer_client_close() */
    bool have_request;     /* the last ARM/DISARM asked for, replayed on every connection */
    struct fencer_proto_request request;
    unsigned unanswered; /* requests sent without a reply yet */
    unsigned stalled_ticks;
    size_t used;
    char buf[FENCER_PROTO_LINE_MAX];
    struct fencer_client_status status;
};

struct write_req {
    uv_write_t req;
    char line[FENCER_PROTO_LINE_MAX];
};

static void set_status(struct fencer_client *c, const struct fencer_client_status *next)
{
    bool changed = memcmp(next, &c->status, sizeof *next) != 0;
    c->status = *next;
    if (changed && c->cb != NULL && !c->closing) {
        c->cb(c, &c->status, c->data);
    }
}

static void handle_closed(uv_handle_t *handle)
{
    struct fencer_client *c = handle->data;
    if (handle == (uv_handle_t *)&c->pipe) {
        c->phase = PIPE_IDLE;
    }
    if (c->closing && --c->open_handles == 0) {
        free(c);
    }
}

static void drop_connection(struct fencer_client *c, const char *why)
{
    if (c->phase == PIPE_IDLE || c->phase == PIPE_CLOSING) {
        return;
    }
    c->phase = PIPE_CLOSING;
    uv_close((uv_handle_t *)&c->pipe, handle_closed);
    struct fencer_client_status next = {.connected = false};
    snprintf(next.error, sizeof next.error, "%s: %s", c->path, why);
    set_status(c, &next);
}

static void write_done(uv_write_t *req, int status)
{
    (void)status; /* a failed write shows up as a read error or a stall */
    free(req);
}

static void send_request(struct fencer_client *c, const struct fencer_proto_request *rq)
{
    if (c->phase != PIPE_CONNECTED) {
        return;
    }
    struct write_req *w = malloc(sizeof *w);
    if (w == NULL) {
        return; /* the next tick retries with a PING; the stall check notices nothing worse */
    }
    int n = fencer_proto_format_request(rq, w->line, sizeof w->line);
    uv_buf_t buf = uv_buf_init(w->line, (unsigned)n);
    if (n <= 0 || uv_write(&w->req, (uv_stream_t *)&c->pipe, &buf, 1, write_done) != 0) {
        free(w);
        drop_connection(c, "write failed");
        return;
    }
    c->unanswered++;
}

static void handle_line(struct fencer_client *c, const char *line, size_t len)
{
    struct fencer_proto_reply reply;
    struct fencer_client_status next = c->status;
    char err[FENCER_PROTO_LINE_MAX];
    if (c->unanswered > 0) {
        c->unanswered--;
    }
    c->stalled_ticks = 0;
    if (fencer_proto_parse_reply(line, len, &reply, err, sizeof err) != 0) {
        drop_connection(c, "the fencer's reply does not parse");
        return;
    }
    next.connected = true;
    if (reply.ok) {
        next.state = reply.state;
        next.epoch = reply.epoch;
        next.fence_at_ms = reply.fence_at_ms;
        next.error[0] = '\0';
    } else {
        snprintf(next.error, sizeof next.error, "%s", reply.reason);
    }
    set_status(c, &next);
}

static void alloc_cb(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    struct fencer_client *c = handle->data;
    (void)suggested;
    *buf = uv_buf_init(c->buf + c->used, (unsigned)(sizeof c->buf - c->used));
}

static void read_cb(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    struct fencer_client *c = stream->data;
    (void)buf;
    if (nread < 0) {
        drop_connection(c, nread == UV_EOF ? "the fencer closed the connection"
                                           : uv_strerror((int)nread));
        return;
    }
    c->used += (size_t)nread;
    char *nl;
    while (c->phase == PIPE_CONNECTED && (nl = memchr(c->buf, '\n', c->used)) != NULL) {
        size_t len = (size_t)(nl - c->buf);
        handle_line(c, c->buf, len);
        memmove(c->buf, nl + 1, c->used - len - 1);
        c->used -= len + 1;
    }
    if (c->phase == PIPE_CONNECTED && c->used == sizeof c->buf) {
        drop_connection(c, "reply line too long");
    }
}

static void connected(uv_connect_t *req, int status)
{
    struct fencer_client *c = req->data;
    if (c->phase != PIPE_CONNECTING) {
        return;
    }
    if (status != 0) {
        c->phase = PIPE_CLOSING;
        uv_close((uv_handle_t *)&c->pipe, handle_closed);
        struct fencer_client_status next = {.connected = false};
        snprintf(next.error, sizeof next.error, "%s: %s", c->path, uv_strerror(status));
        set_status(c, &next);
        return;
    }
    c->phase = PIPE_CONNECTED;
    c->used = 0;
    c->unanswered = 0;
    c->stalled_ticks = 0;
    if (uv_read_start((uv_stream_t *)&c->pipe, alloc_cb, read_cb) != 0) {
        drop_connection(c, "cannot read");
        return;
    }
    struct fencer_proto_request ping = {.kind = FENCER_PROTO_PING};
    send_request(c, c->have_request ? &c->request : &ping);
}

static void start_connect(struct fencer_client *c)
{
    if (uv_pipe_init(c->loop, &c->pipe, 0) != 0) {
        return;
    }
    c->pipe.data = c;
    c->connect_req.data = c;
    c->phase = PIPE_CONNECTING;
    uv_pipe_connect(&c->connect_req, &c->pipe, c->path, connected);
}

static void tick(uv_timer_t *timer)
{
    struct fencer_client *c = timer->data;
    if (c->phase == PIPE_IDLE) {
        start_connect(c);
    } else if (c->phase == PIPE_CONNECTED) {
        if (c->unanswered > 0 && ++c->stalled_ticks >= 2) {
            drop_connection(c, "the fencer stopped answering");
            return;
        }
        struct fencer_proto_request ping = {.kind = FENCER_PROTO_PING};
        send_request(c, &ping);
    }
}

int fencer_client_start(uv_loop_t *loop, const char *path, unsigned interval_ms,
                        fencer_client_cb cb, void *data, struct fencer_client **out, char *errmsg,
                        size_t errlen)
{
    struct fencer_client *c = calloc(1, sizeof *c);
    if (c == NULL) {
        snprintf(errmsg, errlen, "fencer client for %s: out of memory", path);
        return -ENOMEM;
    }
    if (strlen(path) >= sizeof c->path) {
        snprintf(errmsg, errlen, "fencer socket path longer than %zu bytes: %s", sizeof c->path - 1,
                 path);
        free(c);
        return -EINVAL;
    }
    strcpy(c->path, path);
    c->loop = loop;
    c->interval_ms = interval_ms == 0 ? 1 : interval_ms;
    c->cb = cb;
    c->data = data;
    snprintf(c->status.error, sizeof c->status.error, "%s: not connected yet", path);
    uv_timer_init(loop, &c->timer);
    c->timer.data = c;
    uv_timer_start(&c->timer, tick, c->interval_ms, c->interval_ms);
    start_connect(c);
    *out = c;
    return 0;
}

void fencer_client_arm(struct fencer_client *c, uint64_t epoch, uint64_t fence_at_ms)
{
    c->have_request = true;
    c->request = (struct fencer_proto_request){
        .kind = FENCER_PROTO_ARM, .epoch = epoch, .fence_at_ms = fence_at_ms};
    send_request(c, &c->request);
}

void fencer_client_disarm(struct fencer_client *c, uint64_t epoch)
{
    c->have_request = true;
    c->request = (struct fencer_proto_request){.kind = FENCER_PROTO_DISARM, .epoch = epoch};
    send_request(c, &c->request);
}

const struct fencer_client_status *fencer_client_status(const struct fencer_client *c)
{
    return &c->status;
}

void fencer_client_close(struct fencer_client *c)
{
    if (c == NULL) {
        return;
    }
    c->closing = true;
    c->open_handles = 1;
    uv_close((uv_handle_t *)&c->timer, handle_closed);
    if (c->phase == PIPE_CONNECTING || c->phase == PIPE_CONNECTED) {
        c->open_handles++;
        c->phase = PIPE_CLOSING;
        uv_close((uv_handle_t *)&c->pipe, handle_closed);
    } else if (c->phase == PIPE_CLOSING) {
        c->open_handles++; /* its close callback is still to come */
    }
}

int fencer_client_probe(const char *path, unsigned timeout_ms, struct fencer_proto_reply *reply,
                        char *errmsg, size_t errlen)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sun.sun_path) {
        snprintf(errmsg, errlen, "fencer socket path longer than %zu bytes: %s",
                 sizeof sun.sun_path - 1, path);
        return -EINVAL;
    }
    strcpy(sun.sun_path, path);
    uint64_t deadline = clock_boottime_ms() + timeout_ms;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof sun) != 0) {
        int rv = -errno;
        snprintf(errmsg, errlen, "fencer socket %s: %s", path, strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return rv;
    }
    char line[FENCER_PROTO_LINE_MAX];
    size_t used = 0;
    int rv = -ETIMEDOUT;
    snprintf(errmsg, errlen, "fencer socket %s: no reply to PING within %u ms", path, timeout_ms);
    if (send(fd, "PING\n", 5, MSG_NOSIGNAL) != 5) {
        rv = -errno;
        snprintf(errmsg, errlen, "fencer socket %s: %s", path, strerror(errno));
    }
    while (rv == -ETIMEDOUT) {
        uint64_t now = clock_boottime_ms();
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (now >= deadline || poll(&pfd, 1, (int)(deadline - now)) == 0) {
            break;
        }
        ssize_t n = read(fd, line + used, sizeof line - used);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
            continue;
        }
        if (n <= 0) {
            rv = n == 0 ? -ECONNRESET : -errno;
            snprintf(errmsg, errlen, "fencer socket %s: closed before replying", path);
            break;
        }
        used += (size_t)n;
        char *nl = memchr(line, '\n', used);
        if (nl != NULL) {
            rv = fencer_proto_parse_reply(line, (size_t)(nl - line), reply, errmsg, errlen) == 0
                     ? 0
                     : -EPROTO;
        } else if (used == sizeof line) {
            rv = -EPROTO;
            snprintf(errmsg, errlen, "fencer socket %s: reply line too long", path);
        }
    }
    close(fd);
    return rv;
}

/* Runs in the grandchild, between fork and exec: async-signal-safe calls only. */
static void exec_detached(char *const argv[], int log_fd, int report_fd)
{
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(log_fd, 1) < 0 || dup2(log_fd, 2) < 0) {
        return;
    }
    /* Nothing of the daemon's (raft sockets, the control socket) may leak into the fencer. */
    if (report_fd > 3) {
        close_range(3, (unsigned)report_fd - 1, 0);
    }
    close_range((unsigned)report_fd + 1, ~0U, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    for (int sig = 1; sig < NSIG; sig++) {
        sigaction(sig, &dfl, NULL);
    }
    execv(argv[0], argv);
}

pid_t fencer_spawn(const char *path, char *const argv[], const char *log_path, char *errmsg,
                   size_t errlen)
{
    struct fencer_proto_reply reply;
    if (fencer_client_probe(path, 500, &reply, errmsg, errlen) == 0) {
        return 0;
    }
    int log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (log_fd < 0) {
        int rv = -errno;
        snprintf(errmsg, errlen, "fencer log %s: %s", log_path, strerror(errno));
        return rv;
    }
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) {
        int rv = -errno;
        snprintf(errmsg, errlen, "fencer: pipe: %s", strerror(errno));
        close(log_fd);
        return rv;
    }
    pid_t middle = fork();
    if (middle == 0) {
        /* The middle child leaves a session leader behind and exits: the fencer is nobody's
         * child, so the daemon never reaps it and its death never kills it. */
        close(report[0]);
        setsid();
        pid_t fencer = fork();
        if (fencer == 0) {
            exec_detached(argv, log_fd, report[1]);
            int failure[2] = {REPORT_EXEC_ERRNO, errno};
            (void)!write(report[1], failure, sizeof failure);
            _exit(127);
        }
        int started[2] = {REPORT_PID, (int)fencer};
        (void)!write(report[1], started, sizeof started);
        _exit(fencer < 0 ? 1 : 0);
    }
    close(report[1]);
    close(log_fd);
    if (middle < 0) {
        int rv = -errno;
        snprintf(errmsg, errlen, "fencer: fork: %s", strerror(errno));
        close(report[0]);
        return rv;
    }
    /* Records of two ints, written atomically (a pipe write this small is), in whatever
     * order the two children run; EOF comes when the middle child exited and the exec closed
     * its copy. No errno record: the exec worked. */
    pid_t fencer = -1;
    int exec_errno = 0, record[2];
    while (read(report[0], record, sizeof record) == (ssize_t)sizeof record) {
        if (record[0] == REPORT_PID) {
            fencer = (pid_t)record[1];
        } else {
            exec_errno = record[1];
        }
    }
    close(report[0]);
    waitpid(middle, NULL, 0);
    if (exec_errno != 0) {
        snprintf(errmsg, errlen, "fencer: cannot execute %s: %s", argv[0], strerror(exec_errno));
        return -exec_errno;
    }
    if (fencer <= 0) {
        snprintf(errmsg, errlen, "fencer: fork in the detached child failed");
        return -ECHILD;
    }
    return fencer;
}
