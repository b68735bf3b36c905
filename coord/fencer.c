/*
 * mmcoord-fencer: the last resort behind the writer's lease. The daemon tells it, over a Unix
 * socket (coord/fencer_proto.h), until when its writer may stay writable; when that deadline
 * passes while armed, the fencer fences on its own: MySQL first (read_only, kill clients:
 * mysql/fence.h), then the VIP (netops/vip.h), whether or not the MySQL step worked. It keeps
 * the deadline when the daemon disconnects, so a crashed, SIGKILLed, paused or deadlocked
 * daemon cannot leave a writable master behind past its lease.
 *
 * Everything it needs (credentials, VIP, interface) is read at start, so fencing depends on
 * nothing the daemon does after ARM. One thread, one poll() loop over the listening socket, the
 * clients, a CLOCK_BOOTTIME timerfd (a suspend counts as time passed) and a signalfd. Fencing
 * blocks the loop up to --fence-timeout-ms plus a netlink round trip: it is the only job.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include "coord/clock.h"
#include "coord/fencer_client.h"
#include "coord/fencer_proto.h"
#include "coord/log.h"
#include "mysql/conn.h"
#include "mysql/credentials.h"
#include "mysql/fence.h"
#include "netops/vip.h"

#define MAX_CLIENTS 8
#define RETRY_MS    1000 /* MySQL step retried this often after a failed fence */
#define ERRMSG_SIZE 512
#define EXIT_USAGE  2

struct client {
    int fd; /* -1: free slot */
    size_t used;
    char buf[FENCER_PROTO_LINE_MAX];
};

struct fencer {
    const char *socket_path, *interface, *mysql_address;
    unsigned fence_timeout_ms;
    struct vip *vip;
    struct vip_address address;
    char address_text[VIP_ADDRESS_TEXT_SIZE];
    struct mysql_conn *conn;
    int listen_fd, timer_fd, signal_fd;
    struct client clients[MAX_CLIENTS];
    enum fencer_proto_state state;
    uint64_t epoch;       /* the newest epoch seen: older ARM/DISARM are refused */
    uint64_t fence_at_ms; /* when ARMED */
    unsigned attempts;    /* fence attempts since the last ARM or DISARM */
};

static void usage(FILE *out)
{
    fprintf(out, "usage: mmcoord-fencer --socket PATH --vip A.B.C.D/LEN --interface IFACE\n"
                 "           --mysql HOST:PORT --credentials FILE [--fence-timeout-ms N]\n"
                 "           [--log-level debug|info|warn|error]\n"
                 "Fences this host (MySQL read_only + kill clients, then VIP removal) when the\n"
                 "deadline the daemon last sent over PATH passes. Started by mmcoordd.\n");
}

static void set_timer(struct fencer *f, uint64_t at_ms)
{
    /* Absolute on CLOCK_BOOTTIME; a deadline already past fires at once (0 would disarm). */
    struct itimerspec its = {0};
    if (at_ms != 0) {
        its.it_value.tv_sec = (time_t)(at_ms / 1000);
        its.it_value.tv_nsec = (long)(at_ms % 1000) * 1000000L;
    }
    if (timerfd_settime(f->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) != 0) {
        /* Never seen; if it happens the deadline would pass unnoticed: say so loudly. */
        log_error("timerfd_settime(%" PRIu64 " ms): %s: the deadline is NOT enforced", at_ms,
                  strerror(errno));
    }
}

/* MySQL first: read_only stops writes; then the VIP, even when MySQL did not answer. */
static bool fence(struct fencer *f, const char *why)
{
    char err[ERRMSG_SIZE];
    /* A MySQL that stays down is retried every second; its log lines thin out (attempts 1, 2,
     * 4, 8...) so that a dead host does not fill the disk. Success is always logged. */
    f->attempts++;
    bool loud = (f->attempts & (f->attempts - 1)) == 0;
    uint64_t t0 = clock_boottime_ms();
    log_msg(loud ? LOG_LEVEL_WARN : LOG_LEVEL_DEBUG,
            "fence: attempt %u, epoch %" PRIu64 ": %s (deadline %" PRIu64 " ms, now %" PRIu64
            " ms = deadline%+" PRId64 " ms): fencing mysql %s, then VIP %s on %s",
            f->attempts, f->epoch, why, f->fence_at_ms, t0, (int64_t)(t0 - f->fence_at_ms),
            f->mysql_address, f->address_text, f->interface);
    struct mysql_fence_result result;
    int rv = mysql_fence(f->conn, f->fence_timeout_ms, &result, err, sizeof err);
    uint64_t t1 = clock_boottime_ms();
    bool mysql_ok = rv == 0;
    if (mysql_ok) {
        log_warn("fence: mysql %s read_only=ON, %u client(s) killed, in %" PRIu64 " ms (at %" PRIu64
                 " ms = deadline%+" PRId64 " ms)",
                 f->mysql_address, result.killed, t1 - t0, t1, (int64_t)(t1 - f->fence_at_ms));
    } else {
        log_msg(loud ? LOG_LEVEL_ERROR : LOG_LEVEL_DEBUG,
                "fence: mysql %s NOT fenced after %" PRIu64 " ms: %s (retrying every %d ms)",
                f->mysql_address, t1 - t0, err, RETRY_MS);
    }
    rv = vip_del(f->vip, f->interface, &f->address, err, sizeof err);
    uint64_t t2 = clock_boottime_ms();
    if (rv == 0 || rv == -ENODEV) {
        log_msg(loud ? LOG_LEVEL_WARN : LOG_LEVEL_DEBUG,
                "fence: VIP %s %s %s in %" PRIu64 " ms (at %" PRIu64 " ms = deadline%+" PRId64
                " ms)",
                f->address_text, rv == 0 ? "absent from" : "gone with its interface", f->interface,
                t2 - t1, t2, (int64_t)(t2 - f->fence_at_ms));
    } else {
        log_error("fence: VIP %s NOT removed from %s after %" PRIu64 " ms: %s", f->address_text,
                  f->interface, t2 - t1, err);
    }
    mysql_conn_disconnect(f->conn); /* killed clients; start the next attempt afresh */
    bool done = mysql_ok && (rv == 0 || rv == -ENODEV);
    f->state = done ? FENCER_PROTO_FENCED : FENCER_PROTO_FENCING;
    set_timer(f, done ? 0 : t2 + RETRY_MS);
    return done;
}

/* Apply one request; fill @reply with the state after it. */
static void handle(struct fencer *f, const struct fencer_proto_request *rq,
                   struct fencer_proto_reply *reply)
{
    memset(reply, 0, sizeof *reply);
    if (rq->kind != FENCER_PROTO_PING && rq->epoch < f->epoch &&
        !(rq->kind == FENCER_PROTO_DISARM && f->state == FENCER_PROTO_DISARMED)) {
        snprintf(reply->reason, sizeof reply->reason,
                 "epoch %" PRIu64 " is older than epoch %" PRIu64 ": ignored", rq->epoch, f->epoch);
        return;
    }
    if (rq->kind == FENCER_PROTO_ARM) {
        /* Renewals every L/4 are routine: only a change of state is worth an info line. */
        log_msg(f->state == FENCER_PROTO_ARMED ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO,
                "armed: epoch %" PRIu64 " writable until %" PRIu64 " ms (now%+" PRId64 " ms)",
                rq->epoch, rq->fence_at_ms, (int64_t)(rq->fence_at_ms - clock_boottime_ms()));
        f->state = FENCER_PROTO_ARMED;
        f->epoch = rq->epoch;
        f->fence_at_ms = rq->fence_at_ms;
        f->attempts = 0;
        set_timer(f, rq->fence_at_ms == 0 ? 1 : rq->fence_at_ms);
    } else if (rq->kind == FENCER_PROTO_DISARM) {
        if (f->state != FENCER_PROTO_DISARMED) {
            log_info("disarmed: epoch %" PRIu64 " (the daemon fenced by itself)", rq->epoch);
        }
        f->state = FENCER_PROTO_DISARMED;
        f->attempts = 0;
        if (rq->epoch > f->epoch) {
            f->epoch = rq->epoch;
        }
        set_timer(f, 0);
    }
    reply->ok = true;
    reply->state = f->state;
    reply->epoch = f->epoch;
    reply->fence_at_ms = f->fence_at_ms;
}

static void client_close(struct client *c)
{
    close(c->fd);
    c->fd = -1;
    c->used = 0;
}

static void client_send(struct client *c, const struct fencer_proto_reply *reply)
{
    char line[FENCER_PROTO_LINE_MAX];
    int n = fencer_proto_format_reply(reply, line, sizeof line);
    /* A client that does not read its replies is dropped rather than waited for. */
    if (n <= 0 || send(c->fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) != n) {
        client_close(c);
    }
}

static void client_read(struct fencer *f, struct client *c)
{
    ssize_t n = read(c->fd, c->buf + c->used, sizeof c->buf - c->used);
    if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            return;
        }
        log_info("client disconnected; state %s kept", fencer_proto_state_name(f->state));
        client_close(c);
        return;
    }
    c->used += (size_t)n;
    char *nl;
    while (c->fd >= 0 && (nl = memchr(c->buf, '\n', c->used)) != NULL) {
        size_t len = (size_t)(nl - c->buf);
        struct fencer_proto_request rq;
        struct fencer_proto_reply reply = {0};
        if (fencer_proto_parse_request(c->buf, len, &rq, reply.reason, sizeof reply.reason) == 0) {
            handle(f, &rq, &reply);
        }
        memmove(c->buf, nl + 1, c->used - len - 1);
        c->used -= len + 1;
        client_send(c, &reply);
    }
    if (c->fd >= 0 && c->used == sizeof c->buf) {
        struct fencer_proto_reply reply = {.ok = false, .reason = "line too long"};
        client_send(c, &reply);
        if (c->fd >= 0) {
            client_close(c);
        }
    }
}

static void accept_client(struct fencer *f)
{
    int fd = accept4(f->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
        return;
    }
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
        (cred.uid != 0 && cred.uid != geteuid())) {
        log_warn("refused a client of uid %u: only root may arm the fencer", (unsigned)cred.uid);
        close(fd);
        return;
    }
    for (int i = 0; i < MAX_CLIENTS; i++) {
        if (f->clients[i].fd < 0) {
            f->clients[i].fd = fd;
            return;
        }
    }
    struct client busy = {.fd = fd};
    struct fencer_proto_reply reply = {.ok = false, .reason = "busy: too many clients"};
    client_send(&busy, &reply);
    if (busy.fd >= 0) {
        close(fd);
    }
}

/* Refuse a second fencer on the same path; remove a stale socket file. */
static int claim_socket(struct fencer *f)
{
    char err[ERRMSG_SIZE], lock_path[PATH_MAX];
    snprintf(lock_path, sizeof lock_path, "%s.lock", f->socket_path);
    struct fencer_proto_reply reply;
    if (fencer_client_probe(f->socket_path, 500, &reply, err, sizeof err) == 0) {
        log_error("another fencer answers on %s (state %s): refusing to start a second one",
                  f->socket_path, fencer_proto_state_name(reply.state));
        return -1;
    }
    /* The lock closes the window between "nobody answers" and bind() of two fencers starting
     * together; it is held until exit (the descriptor is deliberately kept open). */
    int lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd < 0 || flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
        log_error("cannot lock %s: %s: another fencer is starting on %s", lock_path,
                  strerror(errno), f->socket_path);
        return -1;
    }
    struct stat st;
    if (lstat(f->socket_path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            log_error("%s exists and is not a socket: remove it or choose another --socket",
                      f->socket_path);
            return -1;
        }
        unlink(f->socket_path);
        log_info("removed stale socket %s", f->socket_path);
    }
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    if (strlen(f->socket_path) >= sizeof sun.sun_path) {
        log_error("--socket %s: longer than %zu bytes", f->socket_path, sizeof sun.sun_path - 1);
        return -1;
    }
    strcpy(sun.sun_path, f->socket_path);
    f->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    mode_t old = umask(077);
    int rv = f->listen_fd < 0 ? -1 : bind(f->listen_fd, (struct sockaddr *)&sun, sizeof sun);
    umask(old);
    if (rv != 0 || chmod(f->socket_path, 0600) != 0 || listen(f->listen_fd, 8) != 0) {
        log_error("cannot listen on %s: %s", f->socket_path, strerror(errno));
        return -1;
    }
    return 0;
}

static int run(struct fencer *f)
{
    for (;;) {
        struct pollfd pfd[3 + MAX_CLIENTS] = {
            {.fd = f->listen_fd, .events = POLLIN},
            {.fd = f->timer_fd, .events = POLLIN},
            {.fd = f->signal_fd, .events = POLLIN},
        };
        for (int i = 0; i < MAX_CLIENTS; i++) {
            pfd[3 + i] = (struct pollfd){.fd = f->clients[i].fd, .events = POLLIN};
        }
        if (poll(pfd, 3 + MAX_CLIENTS, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            log_error("poll: %s", strerror(errno));
            return 1;
        }
        if (pfd[2].revents & POLLIN) {
            struct signalfd_siginfo si;
            if (read(f->signal_fd, &si, sizeof si) == (ssize_t)sizeof si) {
                if (f->state == FENCER_PROTO_DISARMED || f->state == FENCER_PROTO_FENCED) {
                    log_info("signal %u: exiting (%s, nothing to fence)", si.ssi_signo,
                             fencer_proto_state_name(f->state));
                    return 0;
                }
                /* A stopping fencer must not leave a writable master behind. */
                return fence(f, "fencer stopping while armed") ? 0 : 1;
            }
        }
        if (pfd[1].revents & POLLIN) {
            uint64_t expirations;
            if (read(f->timer_fd, &expirations, sizeof expirations) > 0) {
                if (f->state == FENCER_PROTO_ARMED) {
                    fence(f, "deadline passed without a new ARM");
                } else if (f->state == FENCER_PROTO_FENCING) {
                    fence(f, "retrying the fence");
                }
            }
        }
        if (pfd[0].revents & POLLIN) {
            accept_client(f);
        }
        for (int i = 0; i < MAX_CLIENTS; i++) {
            if (pfd[3 + i].fd >= 0 && pfd[3 + i].revents != 0 && f->clients[i].fd >= 0) {
                client_read(f, &f->clients[i]);
            }
        }
    }
}

static int split_host_port(const char *text, char *host, size_t hostlen, unsigned *port)
{
    const char *colon = strrchr(text, ':');
    char *end;
    if (colon == NULL || colon == text || (size_t)(colon - text) >= hostlen) {
        return -1;
    }
    errno = 0;
    unsigned long value = strtoul(colon + 1, &end, 10);
    if (errno != 0 || end == colon + 1 || *end != '\0' || value == 0 || value > 65535) {
        return -1;
    }
    memcpy(host, text, (size_t)(colon - text));
    host[colon - text] = '\0';
    *port = (unsigned)value;
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"socket", required_argument, NULL, 's'},
        {"vip", required_argument, NULL, 'v'},
        {"interface", required_argument, NULL, 'i'},
        {"mysql", required_argument, NULL, 'm'},
        {"credentials", required_argument, NULL, 'c'},
        {"fence-timeout-ms", required_argument, NULL, 't'},
        {"log-level", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct fencer f = {.fence_timeout_ms = 150, .listen_fd = -1, .state = FENCER_PROTO_DISARMED};
    const char *vip_text = NULL, *credentials_path = NULL;
    enum log_level level = LOG_LEVEL_INFO;
    char err[ERRMSG_SIZE], host[256];
    unsigned port = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        char *end;
        unsigned long value;
        switch (opt) {
        case 's':
            f.socket_path = optarg;
            break;
        case 'v':
            vip_text = optarg;
            break;
        case 'i':
            f.interface = optarg;
            break;
        case 'm':
            f.mysql_address = optarg;
            break;
        case 'c':
            credentials_path = optarg;
            break;
        case 't':
            errno = 0;
            value = strtoul(optarg, &end, 10);
            if (errno != 0 || *end != '\0' || end == optarg || value == 0 || value > 60000) {
                fprintf(stderr, "mmcoord-fencer: --fence-timeout-ms '%s': expected 1..60000\n",
                        optarg);
                return EXIT_USAGE;
            }
            f.fence_timeout_ms = (unsigned)value;
            break;
        case 'l':
            if (log_level_parse(optarg, &level) != 0) {
                fprintf(stderr,
                        "mmcoord-fencer: --log-level '%s': expected debug, info, warn "
                        "or error\n",
                        optarg);
                return EXIT_USAGE;
            }
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    const char *missing = f.socket_path == NULL      ? "--socket"
                          : vip_text == NULL         ? "--vip"
                          : f.interface == NULL      ? "--interface"
                          : f.mysql_address == NULL  ? "--mysql"
                          : credentials_path == NULL ? "--credentials"
                                                     : NULL;
    if (missing != NULL) {
        fprintf(stderr, "mmcoord-fencer: %s is required (see --help)\n", missing);
        return EXIT_USAGE;
    }
    if (optind < argc) {
        fprintf(stderr, "mmcoord-fencer: unexpected argument '%s'\n", argv[optind]);
        return EXIT_USAGE;
    }
    if (vip_parse_address(vip_text, &f.address, err, sizeof err) != 0) {
        fprintf(stderr, "mmcoord-fencer: --vip: %s\n", err);
        return EXIT_USAGE;
    }
    vip_format_address(&f.address, f.address_text, sizeof f.address_text);
    if (f.interface[0] == '\0' || strlen(f.interface) > 15) {
        fprintf(stderr, "mmcoord-fencer: --interface '%s': expected 1..15 bytes\n", f.interface);
        return EXIT_USAGE;
    }
    if (split_host_port(f.mysql_address, host, sizeof host, &port) != 0) {
        fprintf(stderr, "mmcoord-fencer: --mysql '%s': expected HOST:PORT (an IP literal)\n",
                f.mysql_address);
        return EXIT_USAGE;
    }
    struct mysql_credentials credentials;
    if (mysql_credentials_load(credentials_path, &credentials, err, sizeof err) != 0) {
        fprintf(stderr, "mmcoord-fencer: --credentials: %s\n", err);
        return EXIT_USAGE;
    }
    log_setup("fencer", level);
    f.conn = mysql_conn_new(host, port, &credentials);
    mysql_credentials_wipe(&credentials);
    if (f.conn == NULL || vip_open(&f.vip, err, sizeof err) != 0) {
        log_error("cannot start: %s", f.conn == NULL ? "mysql client out of memory" : err);
        return 1;
    }
    for (int i = 0; i < MAX_CLIENTS; i++) {
        f.clients[i].fd = -1;
    }
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN); /* no terminal to hang up; a stray HUP must not stop it unfenced */
    f.signal_fd = signalfd(-1, &mask, SFD_CLOEXEC);
    f.timer_fd = timerfd_create(CLOCK_BOOTTIME, TFD_CLOEXEC | TFD_NONBLOCK);
    if (f.signal_fd < 0 || f.timer_fd < 0) {
        log_error("cannot start: signalfd/timerfd: %s", strerror(errno));
        return 1;
    }
    if (claim_socket(&f) != 0) {
        mysql_conn_free(f.conn);
        vip_close(f.vip);
        return 1;
    }
    log_info("listening on %s: will fence mysql %s (timeout %u ms) and VIP %s on %s", f.socket_path,
             f.mysql_address, f.fence_timeout_ms, f.address_text, f.interface);
    int status = run(&f);
    /* Only the socket: the lock file stays (removing it would let two fencers lock two files). */
    unlink(f.socket_path);
    mysql_conn_free(f.conn);
    vip_close(f.vip);
    return status;
}
