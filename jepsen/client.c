/*
 * jepsen/client: the chaos harness's workload. N workers, one thread each, write through the
 * lab's VIP and record every operation as one line of client.jsonl (jepsen/HISTORY.md):
 *
 *   insert  a row with an id unique over the run (worker * 1e9 + seq) into jepsen.rows;
 *   incr    a read-modify-write of one of K counters in jepsen.counters: it reads v FOR UPDATE
 *           and writes v+1, so that two servers taking writes at once lose updates, which
 *           inserts alone would hide (the auto_increment offsets keep both sides' rows apart).
 *
 * Each operation is one transaction that also reads @@server_id and the writer's epoch
 * (mmcoord.epoch, written by the writer's daemon before it unfences), so the checker knows which
 * server and which epoch took it. Some workers open a new connection per operation (a client
 * that reconnects lands wherever the VIP is now), the others keep one (a client with a pool sees
 * what happens to old connections across a failover).
 *
 * Timeouts: every statement, and the connect, has a deadline of --timeout-ms (default 500)
 * enforced by mysql/conn.h, which drives the connector's non-blocking API with poll(); the
 * connector's own MYSQL_OPT_{CONNECT,READ,WRITE}_TIMEOUT take whole seconds and only back it up.
 *
 * Outcomes: ok when COMMIT returned success; unknown when COMMIT was sent and no answer came
 * (deadline, connection lost: it may or may not have committed); fail otherwise (the
 * transaction never reached COMMIT, or the server refused it).
 *
 * The history is written with one write(2) per line under a mutex, so a killed client loses at
 * most the operation it was writing; SIGTERM or SIGINT stops the workers after their current
 * operation. Times are CLOCK_MONOTONIC milliseconds, shared with the observers and the nemesis.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "coord/clock.h"
#include "jepsen/history.h"
#include "mysql/conn.h"
#include "mysql/credentials.h"

#define MAX_WORKERS     256
#define FAIL_BACKOFF_MS 20 /* after a failed operation: no tight loop of refused connects */

struct config {
    const char *lab;
    const char *out;
    unsigned workers;
    double time_s;
    uint64_t seed;
    unsigned counters;
    double new_conn_ratio;
    unsigned timeout_ms;
    unsigned interval_ms;
    char host[256];
    unsigned port;
    struct mysql_credentials credentials;
};

struct shared {
    const struct config *config;
    int fd;
    pthread_mutex_t write_lock;
    atomic_bool stop;
    atomic_bool epoch_warned;
    atomic_ulong counts[3]; /* by enum history_outcome */
    atomic_bool write_failed;
};

struct worker {
    struct shared *shared;
    unsigned id;
    bool new_conn;
    uint64_t rng;
    uint64_t seq;
    struct mysql_conn *conn;
    pthread_t thread;
};

static double monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* splitmix64: a seeded run chooses the same operations in the same order per worker. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void record(struct worker *w, const struct history_op *op, const char *error)
{
    char line[2048];
    int len = history_format_op(op, error, line, sizeof(line));
    if (len < 0) { /* an error message too long for the line: drop the message, not the op */
        len = history_format_op(op, "(error message too long)", line, sizeof(line));
    }
    struct shared *s = w->shared;
    pthread_mutex_lock(&s->write_lock);
    ssize_t n = len > 0 ? write(s->fd, line, (size_t)len) : -1;
    pthread_mutex_unlock(&s->write_lock);
    if (n != len && !atomic_exchange(&s->write_failed, true)) {
        fprintf(stderr, "jepsen/client: writing %s failed: %s; stopping\n", s->config->out,
                strerror(errno));
        atomic_store(&s->stop, true);
    }
    atomic_fetch_add(&s->counts[op->outcome], 1);
}

static uint64_t deadline(const struct worker *w)
{
    return clock_boottime_ms() + w->shared->config->timeout_ms;
}

/* Run @sql; on success *cell gets a copy of the first cell of the first row (NULL if none or
 * SQL NULL) when @cell is not NULL. Returns what mysql_conn_query() returns. */
static int query(struct worker *w, const char *sql, char **cell, char *errmsg, size_t errlen)
{
    struct mysql_rows *rows = NULL;
    int rc = mysql_conn_query(w->conn, sql, deadline(w), cell ? &rows : NULL, errmsg, errlen);
    if (cell != NULL) {
        *cell = NULL;
        if (rc == 0 && rows != NULL && rows->n_rows > 0 && rows->n_columns > 0 &&
            rows->cells[0] != NULL) {
            *cell = strdup(rows->cells[0]);
        }
        mysql_rows_free(rows);
    }
    return rc;
}

/* The epoch of the writer this transaction runs under; -1 when the table is absent (keepalived)
 * or unreadable. A connection error is returned; any other error only means no epoch. */
static int read_epoch(struct worker *w, int64_t *epoch, char *errmsg, size_t errlen)
{
    char *cell = NULL;
    *epoch = -1;
    int rc = query(w, "SELECT epoch FROM mmcoord.epoch WHERE id=1", &cell, errmsg, errlen);
    if (rc == -ECONNRESET || rc == -ETIMEDOUT || rc == -ECONNREFUSED) {
        return rc;
    }
    if (rc != 0) {
        if (!atomic_exchange(&w->shared->epoch_warned, true)) {
            fprintf(stderr,
                    "jepsen/client: cannot read mmcoord.epoch (%s): recording epoch null (the "
                    "table is absent under keepalived; under mmcoord, grant the client user "
                    "SELECT on mmcoord.epoch)\n",
                    errmsg);
        }
        return 0;
    }
    if (cell != NULL) {
        *epoch = strtoll(cell, NULL, 10);
        free(cell);
    }
    return 0;
}

/* One operation from the connect (new connections) to the answer to COMMIT. Fills @op and
 * @error; returns the operation's outcome through op->outcome. */
static void run_op(struct worker *w, struct history_op *op, char *error, size_t errlen)
{
    const struct config *cfg = w->shared->config;
    char sql[256];
    char *cell = NULL;
    int rc;
    error[0] = '\0';
    op->outcome = HISTORY_FAIL;
    if (w->conn == NULL) {
        w->conn = mysql_conn_new(cfg->host, cfg->port, &cfg->credentials);
        if (w->conn == NULL) {
            snprintf(error, errlen, "out of memory opening a connection");
            return;
        }
    }
    if ((rc = mysql_conn_connect(w->conn, deadline(w), error, errlen)) != 0 ||
        (rc = query(w, "START TRANSACTION", NULL, error, errlen)) != 0) {
        return;
    }
    if ((rc = query(w, "SELECT @@server_id", &cell, error, errlen)) != 0) {
        return;
    }
    op->server_id = cell ? strtoll(cell, NULL, 10) : -1;
    free(cell);
    char epoch_err[512];
    if ((rc = read_epoch(w, &op->epoch, epoch_err, sizeof(epoch_err))) != 0) {
        snprintf(error, errlen, "%s", epoch_err);
        return;
    }
    if (op->f == HISTORY_INSERT) {
        snprintf(sql, sizeof(sql),
                 "INSERT INTO jepsen.rows (id, worker, created) VALUES (%" PRId64 ", %u, NOW(6))",
                 op->value, w->id);
        if ((rc = query(w, sql, NULL, error, errlen)) != 0) {
            return;
        }
    } else {
        snprintf(sql, sizeof(sql), "SELECT v FROM jepsen.counters WHERE id=%" PRId64 " FOR UPDATE",
                 op->key);
        if ((rc = query(w, sql, &cell, error, errlen)) != 0) {
            return;
        }
        if (cell == NULL) {
            snprintf(error, errlen, "counter %" PRId64 " does not exist in jepsen.counters",
                     op->key);
            return;
        }
        op->value = strtoll(cell, NULL, 10) + 1;
        op->has_value = true;
        free(cell);
        snprintf(sql, sizeof(sql), "UPDATE jepsen.counters SET v=%" PRId64 " WHERE id=%" PRId64,
                 op->value, op->key);
        if ((rc = query(w, sql, NULL, error, errlen)) != 0) {
            return;
        }
    }
    rc = query(w, "COMMIT", NULL, error, errlen);
    if (rc == 0) {
        op->outcome = HISTORY_OK;
        error[0] = '\0';
    } else if (rc == -ETIMEDOUT || rc == -ECONNRESET) {
        op->outcome = HISTORY_UNKNOWN;
    }
}

/* Close @conn saying goodbye first, then free it (NULL is fine).
 *
 * mysql/conn.h closes by shutting the socket down before mysql_close(), so that the daemon never
 * waits for a server, and the connector's COM_QUIT never leaves: the server then logs "Aborted
 * connection ... Got an error reading communication packets" for every connection the client
 * drops, one per operation of every new-connection worker and one per worker at the end of a
 * run, which buries the warnings that matter in the servers' logs a run keeps. An idle
 * connection (mysql_conn_socket() is then its socket, with no reply pending) gets the COM_QUIT
 * packet here: a 3-byte length of 1, sequence number 0 (a new command), command byte 0x01; the
 * lab's connections use neither TLS nor compression. The send never blocks (the kernel's socket
 * buffer takes five bytes, or the connection is broken and closing it is all that is left), and
 * the FIN of the shutdown follows the packet, so the server reads the goodbye before the end. A
 * connection that broke or is mid-statement is closed as before: the server is right to call
 * that aborted. */
static void close_gracefully(struct mysql_conn *conn)
{
    static const unsigned char com_quit[] = {0x01, 0x00, 0x00, 0x00, 0x01};
    int fd = conn != NULL ? mysql_conn_socket(conn) : -1;
    if (fd >= 0) {
        (void)!send(fd, com_quit, sizeof(com_quit), MSG_NOSIGNAL | MSG_DONTWAIT);
    }
    mysql_conn_free(conn);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct shared *s = w->shared;
    const struct config *cfg = s->config;
    while (!atomic_load(&s->stop)) {
        struct history_op op = {
            .worker = (int)w->id, .new_conn = w->new_conn, .server_id = -1, .epoch = -1};
        uint64_t r = next_random(&w->rng);
        if (r % 2 == 0) {
            op.f = HISTORY_INSERT;
            op.value = (int64_t)w->id * 1000000000LL + (int64_t)++w->seq;
            op.has_value = true;
        } else {
            op.f = HISTORY_INCR;
            op.key = 1 + (int64_t)((r >> 8) % cfg->counters);
        }
        char error[1024];
        op.start = monotonic_ms();
        run_op(w, &op, error, sizeof(error));
        op.end = monotonic_ms();
        record(w, &op, op.outcome == HISTORY_OK ? NULL : error);
        if (w->conn != NULL && (w->new_conn || op.outcome != HISTORY_OK)) {
            if (op.outcome != HISTORY_OK && mysql_conn_is_connected(w->conn) && !w->new_conn) {
                char ignored[256];
                /* A refused statement leaves the transaction open on a live connection. */
                if (query(w, "ROLLBACK", NULL, ignored, sizeof(ignored)) != 0) {
                    mysql_conn_disconnect(w->conn);
                }
            }
            if (w->new_conn) {
                close_gracefully(w->conn);
                w->conn = NULL;
            }
        }
        if (op.outcome != HISTORY_OK) {
            sleep_ms(FAIL_BACKOFF_MS);
        } else if (cfg->interval_ms > 0) {
            sleep_ms(cfg->interval_ms);
        }
    }
    close_gracefully(w->conn);
    w->conn = NULL;
    return NULL;
}

/* vip, the client's credentials file and the MySQL port from lab.json. */
static int read_lab(struct config *cfg, char *errmsg, size_t errlen)
{
    json_error_t jerr;
    json_t *lab = json_load_file(cfg->lab, 0, &jerr);
    if (lab == NULL) {
        snprintf(errmsg, errlen, "%s:%d: %s", cfg->lab, jerr.line, jerr.text);
        return -EINVAL;
    }
    int rc = 0;
    const char *vip = json_string_value(json_object_get(lab, "vip"));
    const char *credentials =
        json_string_value(json_object_get(json_object_get(lab, "client"), "credentials_file"));
    if (cfg->host[0] == '\0') {
        if (vip == NULL) {
            snprintf(errmsg, errlen, "%s: no \"vip\" (is it a jepsen/lab lab.json?)", cfg->lab);
            rc = -EINVAL;
        } else {
            snprintf(cfg->host, sizeof(cfg->host), "%s", vip);
        }
    }
    if (rc == 0 && cfg->port == 0) {
        cfg->port = 3306;
        const char *name;
        json_t *host;
        json_object_foreach(json_object_get(lab, "hosts"), name, host)
        {
            json_t *port = json_object_get(host, "mysql_port");
            if (json_is_integer(port)) {
                cfg->port = (unsigned)json_integer_value(port);
                break;
            }
        }
    }
    if (rc == 0 && credentials == NULL) {
        snprintf(errmsg, errlen, "%s: no \"client.credentials_file\"", cfg->lab);
        rc = -EINVAL;
    }
    if (rc == 0) {
        rc = mysql_credentials_load(credentials, &cfg->credentials, errmsg, errlen);
    }
    json_decref(lab);
    return rc;
}

static void usage(FILE *out)
{
    fputs("usage: jepsen/client --lab LAB_JSON --out FILE --workers N --time SECONDS [--seed N]\n"
          "                     [--counters K] [--new-conn-ratio R] [--timeout-ms MS]\n"
          "                     [--interval-ms MS] [--host ADDR] [--port PORT]\n"
          "Writes through the lab's VIP (run it in the client namespace: ip netns exec) and\n"
          "records every operation in FILE (jepsen/HISTORY.md). Stops after SECONDS or on\n"
          "SIGTERM/SIGINT. Defaults: --counters 3 --new-conn-ratio 0.5 --timeout-ms 500\n"
          "--interval-ms 10 (pause after an ok operation); --host/--port override lab.json.\n",
          out);
}

static int parse_number(const char *name, const char *text, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || v < min || v > max) {
        fprintf(stderr, "jepsen/client: %s wants a number from %g to %g, not '%s'\n", name, min,
                max, text);
        return -EINVAL;
    }
    *out = v;
    return 0;
}

static int parse_args(int argc, char **argv, struct config *cfg)
{
    static const struct option options[] = {
        {"lab", required_argument, NULL, 'l'},
        {"out", required_argument, NULL, 'o'},
        {"workers", required_argument, NULL, 'w'},
        {"time", required_argument, NULL, 't'},
        {"seed", required_argument, NULL, 's'},
        {"counters", required_argument, NULL, 'k'},
        {"new-conn-ratio", required_argument, NULL, 'r'},
        {"timeout-ms", required_argument, NULL, 'T'},
        {"interval-ms", required_argument, NULL, 'i'},
        {"host", required_argument, NULL, 'H'},
        {"port", required_argument, NULL, 'P'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    double v;
    int c, rc = 0;
    while (rc == 0 && (c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (c) {
        case 'l':
            cfg->lab = optarg;
            break;
        case 'o':
            cfg->out = optarg;
            break;
        case 'w':
            rc = parse_number("--workers", optarg, 1, MAX_WORKERS, &v);
            cfg->workers = (unsigned)v;
            break;
        case 't':
            rc = parse_number("--time", optarg, 0, 1e7, &cfg->time_s);
            break;
        case 's':
            rc = parse_number("--seed", optarg, 0, 1e18, &v);
            cfg->seed = (uint64_t)v;
            break;
        case 'k':
            rc = parse_number("--counters", optarg, 1, 1e6, &v);
            cfg->counters = (unsigned)v;
            break;
        case 'r':
            rc = parse_number("--new-conn-ratio", optarg, 0, 1, &cfg->new_conn_ratio);
            break;
        case 'T':
            rc = parse_number("--timeout-ms", optarg, 1, 600000, &v);
            cfg->timeout_ms = (unsigned)v;
            break;
        case 'i':
            rc = parse_number("--interval-ms", optarg, 0, 600000, &v);
            cfg->interval_ms = (unsigned)v;
            break;
        case 'H':
            snprintf(cfg->host, sizeof(cfg->host), "%s", optarg);
            break;
        case 'P':
            rc = parse_number("--port", optarg, 1, 65535, &v);
            cfg->port = (unsigned)v;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            rc = -EINVAL;
        }
    }
    if (rc == 0 && (cfg->lab == NULL || cfg->out == NULL || cfg->workers == 0 || cfg->time_s < 0 ||
                    optind != argc)) {
        fprintf(stderr, "jepsen/client: --lab, --out, --workers and --time are required\n");
        rc = -EINVAL;
    }
    if (rc != 0) {
        usage(stderr);
    }
    return rc;
}

int main(int argc, char **argv)
{
    struct config cfg = {.counters = 3,
                         .new_conn_ratio = 0.5,
                         .timeout_ms = 500,
                         .interval_ms = 10,
                         .time_s = -1,
                         .seed = 1};
    if (parse_args(argc, argv, &cfg) != 0) {
        return 2;
    }
    char errmsg[1024];
    if (read_lab(&cfg, errmsg, sizeof(errmsg)) != 0) {
        fprintf(stderr, "jepsen/client: %s\n", errmsg);
        return 2;
    }
    if (mysql_conn_library_init() != 0) {
        fprintf(stderr, "jepsen/client: the MariaDB client library does not initialise\n");
        return 1;
    }
    /* Workers inherit the mask: only the main thread takes the stop signals. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct shared shared = {.config = &cfg};
    shared.fd = open(cfg.out, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (shared.fd < 0) {
        fprintf(stderr, "jepsen/client: cannot create %s: %s\n", cfg.out, strerror(errno));
        return 2;
    }
    pthread_mutex_init(&shared.write_lock, NULL);
    static struct worker workers[MAX_WORKERS];
    unsigned n_new = (unsigned)(cfg.workers * cfg.new_conn_ratio + 0.5);
    unsigned started = 0;
    for (unsigned i = 0; i < cfg.workers; i++) {
        struct worker *w = &workers[i];
        *w = (struct worker){
            .shared = &shared, .id = i, .new_conn = i < n_new, .rng = cfg.seed * 1000003ULL + i};
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            fprintf(stderr, "jepsen/client: cannot start worker %u: %s\n", i, strerror(errno));
            atomic_store(&shared.stop, true);
            break;
        }
        started++;
    }
    double until = monotonic_ms() + cfg.time_s * 1000.0;
    int signo = 0;
    while (!atomic_load(&shared.stop)) {
        double left = until - monotonic_ms();
        if (left <= 0) {
            break;
        }
        double wait = left < 200 ? left : 200; /* also notices a write failure */
        struct timespec ts = {.tv_sec = (time_t)(wait / 1000),
                              .tv_nsec = (long)((wait - (double)(long)(wait / 1000) * 1000) * 1e6)};
        int got = sigtimedwait(&stop_signals, NULL, &ts);
        if (got > 0) {
            signo = got;
            break;
        }
    }
    atomic_store(&shared.stop, true);
    for (unsigned i = 0; i < started; i++) {
        pthread_join(workers[i].thread, NULL);
    }
    mysql_credentials_wipe(&cfg.credentials);
    int rc = close(shared.fd) == 0 && !atomic_load(&shared.write_failed) ? 0 : 1;
    fprintf(stderr, "jepsen/client: %s after %u worker(s): ok %lu, fail %lu, unknown %lu -> %s\n",
            signo ? strsignal(signo) : "time up", started, atomic_load(&shared.counts[0]),
            atomic_load(&shared.counts[1]), atomic_load(&shared.counts[2]), cfg.out);
    return rc;
}
