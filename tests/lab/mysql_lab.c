/*
 * Steps of the MariaDB lab test (tests/lab/test_mysql.sh starts the servers and calls these):
 * each subcommand drives mysql/ against real servers and exits 0, or prints what a user would
 * notice went wrong and exits 1. Logins come from the environment variables that
 * tests/lib/mariadb.sh exports (MARIADB_COORD_USER/PASSWORD, MARIADB_APP_USER/PASSWORD,
 * MARIADB_REPL_USER/PASSWORD).
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>
#include <uv.h>

#include "coord/clock.h"
#include "mysql/check.h"
#include "mysql/conn.h"
#include "mysql/credentials.h"
#include "mysql/epoch.h"
#include "mysql/fence.h"
#include "mysql/gtid.h"
#include "mysql/probe.h"
#include "mysql/repoint.h"
#include "mysql/semisync.h"
#include "mysql/worker.h"

static const char *step = "?";

static void fail(int line, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
static void fail(int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fflush(stdout);
    fprintf(stderr, "FAIL [%s] mysql_lab.c:%d: ", step, line);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

#define EXPECT(cond, ...)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fail(__LINE__, __VA_ARGS__);                                                           \
        }                                                                                          \
    } while (0)

static struct mysql_credentials login(const char *user_var, const char *password_var)
{
    struct mysql_credentials c;
    memset(&c, 0, sizeof(c));
    const char *user = getenv(user_var);
    const char *password = getenv(password_var);
    EXPECT(user != NULL && password != NULL, "%s and %s must be set", user_var, password_var);
    snprintf(c.user, sizeof(c.user), "%s", user);
    snprintf(c.password, sizeof(c.password), "%s", password);
    return c;
}

static struct mysql_conn *coordinator(const char *host, const char *port)
{
    struct mysql_credentials c = login("MARIADB_COORD_USER", "MARIADB_COORD_PASSWORD");
    struct mysql_conn *conn = mysql_conn_new(host, (unsigned)atoi(port), &c);
    EXPECT(conn != NULL, "mysql_conn_new");
    return conn;
}

static struct mysql_conn *app(const char *host, const char *port)
{
    struct mysql_credentials c = login("MARIADB_APP_USER", "MARIADB_APP_PASSWORD");
    struct mysql_conn *conn = mysql_conn_new(host, (unsigned)atoi(port), &c);
    EXPECT(conn != NULL, "mysql_conn_new");
    return conn;
}

/* probe HOST PORT SERVER_ID [SOURCE_PORT]: the server is up, MariaDB, with that server id,
 * read-only, a parsed executed set; with SOURCE_PORT, a running replica of that port. */
static int cmd_probe(char **argv)
{
    struct mysql_conn *conn = coordinator(argv[0], argv[1]);
    struct mysql_probe_result r;
    int rc = mysql_probe_run(conn, 1000, &r);
    EXPECT(rc == 0 && r.state == MYSQL_PROBE_UP, "probe %s:%s: %s (%s)", argv[0], argv[1],
           mysql_probe_state_name(r.state), r.errmsg);
    EXPECT(r.dialect.flavor == MYSQL_FLAVOR_MARIADB, "flavour %s, expected MariaDB",
           mysql_flavor_name(r.dialect.flavor));
    EXPECT(strstr(r.version, "MariaDB") != NULL, "version '%s'", r.version);
    EXPECT(r.server_id == strtoul(argv[2], NULL, 10), "server_id %lu, expected %s", r.server_id,
           argv[2]);
    EXPECT(r.executed != NULL && !gtid_set_is_empty(r.executed), "executed set '%s' is empty",
           r.executed_text);
    EXPECT(r.reconnected, "first probe should report opening the connection");
    if (argv[3] != NULL) {
        EXPECT(r.replica.configured, "not a replica");
        EXPECT(r.replica.source_port == (unsigned)atoi(argv[3]), "replicates from port %u",
               r.replica.source_port);
        EXPECT(r.replica.io_state == MYSQL_IO_RUNNING && r.replica.sql_running,
               "replica threads io=%d sql=%d (%s / %s)", r.replica.io_state, r.replica.sql_running,
               r.replica.last_io_error, r.replica.last_sql_error);
        EXPECT(r.replica.auto_position, "replica does not use GTID");
        EXPECT(r.received != NULL, "no received set");
        EXPECT(r.replica.lag_seconds >= 0, "lag unknown on a running replica");
    }
    printf("probe %s:%s up: %s server_id=%lu read_only=%d executed=%s applied=%s received=%s "
           "took=%.3f ms\n",
           argv[0], argv[1], r.version, r.server_id, r.read_only, r.executed_text, r.applied_text,
           r.replica.received_gtid ? r.replica.received_gtid : "-", r.took_us / 1000.0);
    mysql_probe_result_clear(&r);
    /* A second probe reuses the connection. */
    rc = mysql_probe_run(conn, 1000, &r);
    EXPECT(rc == 0 && !r.reconnected, "second probe: rc=%d reconnected=%d", rc, r.reconnected);
    mysql_probe_result_clear(&r);
    mysql_conn_free(conn);
    return 0;
}

/* refused HOST PORT: nothing listens, and the probe says "refused", not "timeout". */
static int cmd_refused(char **argv)
{
    struct mysql_conn *conn = coordinator(argv[0], argv[1]);
    struct mysql_probe_result r;
    int rc = mysql_probe_run(conn, 1000, &r);
    EXPECT(rc == -ECONNREFUSED && r.state == MYSQL_PROBE_REFUSED, "probe: %s rc=%d (%s)",
           mysql_probe_state_name(r.state), rc, r.errmsg);
    EXPECT(strstr(r.errmsg, getenv("MARIADB_COORD_PASSWORD")) == NULL, "password in errmsg");
    printf("probe %s:%s refused after %.3f ms: %s\n", argv[0], argv[1], r.took_us / 1000.0,
           r.errmsg);
    mysql_probe_result_clear(&r);
    mysql_conn_free(conn);
    return 0;
}

/* paused HOST PORT PID TIMEOUT_MS: with mariadbd stopped by SIGSTOP, probes on a worker time
 * out while a 10 ms timer on the same loop keeps firing on time. */
struct paused_state {
    uv_loop_t *loop;
    uv_timer_t timer;
    struct mysql_worker *worker;
    pid_t pid;
    unsigned timeout_ms;
    uint64_t next_due_us;
    uint64_t max_late_us;
    unsigned ticks;
    int phase;
    int cancelled;
    bool closed;
};

static pid_t paused_pid;

static void resume_server(void)
{
    if (paused_pid > 0) {
        kill(paused_pid, SIGCONT);
    }
}

static void on_tick(uv_timer_t *timer)
{
    struct paused_state *s = timer->data;
    uint64_t now = clock_boottime_us();
    if (now > s->next_due_us && now - s->next_due_us > s->max_late_us) {
        s->max_late_us = now - s->next_due_us;
    }
    s->next_due_us = now + 10000;
    s->ticks++;
}

static void on_paused_probe(const struct mysql_probe_result *r, void *arg);

static void submit_probe(struct paused_state *s)
{
    EXPECT(mysql_worker_probe(s->worker, s->timeout_ms, on_paused_probe, s) == 0, "submit");
}

static void on_closed(void *arg)
{
    struct paused_state *s = arg;
    step = "paused: worker closed";
    EXPECT(s->phase == 6, "close callback before the queued jobs' callbacks (phase %d)", s->phase);
    s->closed = true;
    uv_timer_stop(&s->timer);
    uv_close((uv_handle_t *)&s->timer, NULL);
}

static void on_paused_probe(const struct mysql_probe_result *r, void *arg)
{
    struct paused_state *s = arg;
    double took = r->took_us / 1000.0;
    switch (s->phase++) {
    case 0:
        step = "paused: probe before pausing";
        EXPECT(r->state == MYSQL_PROBE_UP, "probe: %s (%s)", mysql_probe_state_name(r->state),
               r->errmsg);
        EXPECT(kill(s->pid, SIGSTOP) == 0, "SIGSTOP %d: %s", (int)s->pid, strerror(errno));
        paused_pid = s->pid;
        submit_probe(s);
        break;
    case 1:
    case 2:
        step = s->phase == 2 ? "paused: probe on the open connection"
                             : "paused: probe that has to reconnect";
        EXPECT(r->state == MYSQL_PROBE_TIMEOUT, "probe: %s (%s)", mysql_probe_state_name(r->state),
               r->errmsg);
        EXPECT(r->took_us >= (uint64_t)s->timeout_ms * 1000 - 1000,
               "timed out after %.1f ms, before its %u ms deadline", took, s->timeout_ms);
        printf("%s: timeout after %.1f ms (%s)\n", step, took, r->errmsg);
        if (s->phase == 3) {
            resume_server();
            paused_pid = 0;
        }
        submit_probe(s);
        break;
    case 3:
        step = "paused: probe after SIGCONT";
        EXPECT(r->state == MYSQL_PROBE_UP, "probe: %s (%s)", mysql_probe_state_name(r->state),
               r->errmsg);
        EXPECT(r->reconnected, "the probe after a timeout must reconnect");
        /* Closing with jobs queued: each still gets its callback (run or cancelled), before
         * the close callback. */
        submit_probe(s);
        submit_probe(s);
        mysql_worker_close(s->worker, on_closed, s);
        EXPECT(mysql_worker_probe(s->worker, 10, on_paused_probe, s) == -ESHUTDOWN,
               "a closing worker accepted a job");
        break;
    default:
        step = "paused: jobs queued when the worker closed";
        EXPECT(r->state == MYSQL_PROBE_UP ||
                   (r->state == MYSQL_PROBE_ERROR && r->error == -ECANCELED),
               "probe: %s error %d", mysql_probe_state_name(r->state), r->error);
        s->cancelled += r->error == -ECANCELED;
        break;
    }
}

static void on_paused_hangup(void *arg)
{
    (void)arg;
    step = "paused: watch";
    EXPECT(false, "a paused server was taken for one that closed the connection");
}

static int cmd_paused(char **argv)
{
    struct paused_state s;
    memset(&s, 0, sizeof(s));
    s.loop = uv_default_loop();
    s.pid = (pid_t)atoi(argv[2]);
    s.timeout_ms = (unsigned)atoi(argv[3]);
    atexit(resume_server);
    char err[256];
    EXPECT(mysql_worker_start(s.loop, coordinator(argv[0], argv[1]), &s.worker, err, sizeof(err)) ==
               0,
           "worker: %s", err);
    /* Watching the connection as the daemon does: a paused server closes nothing, so only the
     * probes' deadlines find it. */
    mysql_worker_watch(s.worker, on_paused_hangup, &s);
    uv_timer_init(s.loop, &s.timer);
    s.timer.data = &s;
    s.next_due_us = clock_boottime_us() + 10000;
    uv_timer_start(&s.timer, on_tick, 10, 10);
    submit_probe(&s);
    uv_run(s.loop, UV_RUN_DEFAULT);
    step = "paused: loop timers";
    EXPECT(s.phase == 6 && s.closed, "only %d probes completed", s.phase);
    printf("worker closed with 2 jobs queued: %d cancelled\n", s.cancelled);
    printf("timer: %u ticks, max lateness %.3f ms (probe timeout %u ms)\n", s.ticks,
           s.max_late_us / 1000.0, s.timeout_ms);
    /* Far below the probe timeout: the loop never waited for the server. */
    EXPECT(s.max_late_us < (uint64_t)s.timeout_ms * 1000 / 3,
           "a 10 ms timer was %.1f ms late while the probe timed out after %u ms",
           s.max_late_us / 1000.0, s.timeout_ms);
    uv_loop_close(s.loop);
    return 0;
}

static int app_write(struct mysql_conn *conn, const char *what, char *err, size_t errlen)
{
    char sql[256];
    snprintf(sql, sizeof(sql), "INSERT INTO mmtest.fence (what) VALUES ('%s')", what);
    return mysql_conn_query(conn, sql, clock_boottime_ms() + 2000, NULL, err, errlen);
}

/* fence HOST PORT: the fence cycle on a master with a client connected. */
static int cmd_fence(char **argv)
{
    char err[512];
    struct mysql_conn *coord = coordinator(argv[0], argv[1]);
    struct mysql_conn *client = app(argv[0], argv[1]);

    step = "unfence";
    EXPECT(mysql_unfence(coord, 1000, err, sizeof(err)) == 0, "%s", err);
    EXPECT(mysql_unfence(coord, 1000, err, sizeof(err)) == 0, "again: %s", err);
    EXPECT(mysql_conn_query(client,
                            "CREATE TABLE IF NOT EXISTS mmtest.fence (id INT AUTO_INCREMENT "
                            "PRIMARY KEY, what VARCHAR(32))",
                            clock_boottime_ms() + 2000, NULL, err, sizeof(err)) == 0,
           "create table: %s", err);
    EXPECT(app_write(client, "before", err, sizeof(err)) == 0, "write before fencing: %s", err);
    unsigned long client_id = mysql_conn_thread_id(client);

    step = "fence";
    struct mysql_fence_result fr;
    EXPECT(mysql_fence(coord, 1000, &fr, err, sizeof(err)) == 0, "%s", err);
    EXPECT(fr.read_only, "read_only reads OFF after fencing");
    EXPECT(fr.killed >= 1, "the client connection (id %lu) was not killed", client_id);
    printf("fence: killed %u client connection(s), %u still listed\n", fr.killed, fr.still_listed);

    step = "fenced: the old client connection is gone";
    int rc = app_write(client, "old-session", err, sizeof(err));
    EXPECT(rc == -ECONNRESET, "write on the killed connection: rc=%d (%s)", rc, err);
    step = "fenced: a new client connection cannot write";
    rc = app_write(client, "new-session", err, sizeof(err));
    EXPECT(rc == -EIO && mysql_conn_server_errno(client) == 1290, "rc=%d errno=%u (%s)", rc,
           mysql_conn_server_errno(client), err);
    EXPECT(mysql_conn_connect_count(client) == 2, "client reconnected %u times",
           mysql_conn_connect_count(client));

    step = "fenced: replication threads survive";
    struct mysql_probe_result pr;
    EXPECT(mysql_probe_run(coord, 1000, &pr) == 0, "probe: %s", pr.errmsg);
    EXPECT(pr.read_only, "probe says read_only OFF");
    EXPECT(pr.replica.configured && pr.replica.sql_running &&
               pr.replica.io_state != MYSQL_IO_STOPPED,
           "replica threads stopped: io=%d sql=%d", pr.replica.io_state, pr.replica.sql_running);
    mysql_probe_result_clear(&pr);
    struct mysql_rows *rows = NULL;
    EXPECT(mysql_conn_query(coord,
                            "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE "
                            "COMMAND LIKE 'Binlog Dump%'",
                            clock_boottime_ms() + 1000, &rows, err, sizeof(err)) == 0,
           "%s", err);
    long dumps = strtol(mysql_rows_get(rows, 0, "n"), NULL, 10);
    mysql_rows_free(rows);
    EXPECT(dumps >= 2, "%ld binlog dump threads left (the other master and the replica)", dumps);

    step = "fence again (idempotent)";
    /* The client's second, refused session is left to kill (and, on a loaded machine, maybe a
     * replica's IO thread caught between its login and its binlog dump, which it retries). */
    EXPECT(mysql_fence(coord, 1000, &fr, err, sizeof(err)) == 0, "%s", err);
    EXPECT(fr.read_only && fr.killed >= 1, "second fence killed %u, expected at least 1",
           fr.killed);
    char who[256];
    snprintf(who, sizeof(who),
             "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = '%s'",
             mysql_conn_user(client));
    EXPECT(mysql_conn_query(coord, who, clock_boottime_ms() + 1000, &rows, err, sizeof(err)) == 0,
           "%s", err);
    long left = strtol(mysql_rows_get(rows, 0, "n"), NULL, 10);
    mysql_rows_free(rows);
    EXPECT(left == 0, "%ld session(s) of %s left after fencing twice", left,
           mysql_conn_user(client));
    mysql_conn_disconnect(client);
    EXPECT(mysql_fence(coord, 1000, &fr, err, sizeof(err)) == 0, "%s", err);
    EXPECT(fr.read_only, "third fence: read_only reads OFF");

    step = "unfence: writes work again";
    EXPECT(mysql_unfence(coord, 1000, err, sizeof(err)) == 0, "%s", err);
    EXPECT(app_write(client, "after", err, sizeof(err)) == 0, "write after unfencing: %s", err);
    bool ro, sro;
    EXPECT(mysql_read_only_get(coord, 1000, &ro, &sro, err, sizeof(err)) == 0 && !ro && !sro,
           "read_only=%d", ro);
    mysql_conn_free(client);
    mysql_conn_free(coord);
    return 0;
}

/* repoint HOST PORT SOURCE_HOST SOURCE_PORT: repoint, then again as a no-op. */
static int cmd_repoint(char **argv)
{
    char err[512];
    struct mysql_conn *conn = coordinator(argv[0], argv[1]);
    struct mysql_credentials repl = login("MARIADB_REPL_USER", "MARIADB_REPL_PASSWORD");
    struct mysql_source src = {.host = argv[2],
                               .port = (unsigned)atoi(argv[3]),
                               .user = repl.user,
                               .password = repl.password};
    bool changed = false;
    step = "repoint";
    EXPECT(mysql_repoint(conn, &src, 3000, &changed, err, sizeof(err)) == 0, "%s", err);
    EXPECT(changed, "repoint to a new source changed nothing");
    step = "repoint again (no-op)";
    EXPECT(mysql_repoint(conn, &src, 3000, &changed, err, sizeof(err)) == 0, "%s", err);
    EXPECT(!changed, "repointing to the current source changed something");
    mysql_conn_free(conn);
    return 0;
}

/* wait HOST PORT GTID TIMEOUT_MS reached|timeout */
static int cmd_wait(char **argv)
{
    char err[512];
    struct mysql_conn *conn = coordinator(argv[0], argv[1]);
    unsigned timeout = (unsigned)atoi(argv[3]);
    uint64_t start = clock_boottime_us();
    int rc = mysql_wait_gtid(conn, argv[2], timeout, err, sizeof(err));
    double took = (clock_boottime_us() - start) / 1000.0;
    step = "wait";
    if (strcmp(argv[4], "reached") == 0) {
        EXPECT(rc == 0, "wait for %s: rc=%d %s", argv[2], rc, err);
    } else {
        EXPECT(rc == -ETIMEDOUT, "wait for %s: rc=%d %s", argv[2], rc, err);
        EXPECT(took >= timeout - 30, "gave up after %.1f ms of %u", took, timeout);
        EXPECT(took < timeout + 1000.0, "took %.1f ms for a %u ms timeout", took, timeout);
        struct mysql_probe_result pr;
        EXPECT(mysql_probe_run(conn, 1000, &pr) == 0, "connection unusable after the timeout");
        mysql_probe_result_clear(&pr);
    }
    printf("wait for %s: %s after %.1f ms\n", argv[2], rc == 0 ? "reached" : "timed out", took);
    mysql_conn_free(conn);
    return 0;
}

/* errant HOST1 PORT1 HOST2 PORT2 none|some: transactions of server 1 that server 2 lacks. */
static int cmd_errant(char **argv)
{
    struct mysql_conn *a = coordinator(argv[0], argv[1]);
    struct mysql_conn *b = coordinator(argv[2], argv[3]);
    struct mysql_probe_result ra, rb;
    step = "errant";
    EXPECT(mysql_probe_run(a, 1000, &ra) == 0, "probe 1: %s", ra.errmsg);
    EXPECT(mysql_probe_run(b, 1000, &rb) == 0, "probe 2: %s", rb.errmsg);
    struct gtid_set *diff = NULL;
    EXPECT(gtid_set_difference(ra.executed, rb.executed, &diff) == 0, "difference");
    char *text = gtid_set_to_string(diff);
    printf("errant on %s:%s relative to %s:%s: '%s' (%s vs %s)\n", argv[0], argv[1], argv[2],
           argv[3], text, ra.executed_text, rb.executed_text);
    if (strcmp(argv[4], "none") == 0) {
        EXPECT(gtid_set_is_empty(diff), "unexpected errant transactions '%s'", text);
    } else {
        EXPECT(!gtid_set_is_empty(diff), "no errant transaction found");
        EXPECT(!gtid_set_contains(rb.executed, ra.executed), "contains disagrees");
    }
    free(text);
    gtid_set_free(diff);
    mysql_probe_result_clear(&ra);
    mysql_probe_result_clear(&rb);
    mysql_conn_free(a);
    mysql_conn_free(b);
    return 0;
}

/* epoch-write HOST PORT EPOCH WRITER ok|denied: the coordinator records the epoch on a fenced
 * server; the server stays read-only. denied: refused for lack of a privilege on mmcoord.*, and
 * the message says what to grant. */
static int cmd_epoch_write(char **argv)
{
    struct mysql_conn *conn = coordinator(argv[0], argv[1]);
    char err[512] = "";
    int rc = mysql_epoch_write(conn, strtoull(argv[2], NULL, 10), argv[3], 1000, err, sizeof err);
    if (strcmp(argv[4], "ok") == 0) {
        EXPECT(rc == 0, "mysql_epoch_write: %d (%s)", rc, err);
        printf("epoch %s of %s written on %s:%s\n", argv[2], argv[3], argv[0], argv[1]);
    } else {
        EXPECT(rc == -EACCES, "expected -EACCES, got %d (%s)", rc, err);
        EXPECT(strstr(err, "GRANT") != NULL && strstr(err, "mmcoord") != NULL,
               "the message does not say what to grant: %s", err);
        printf("refused as expected: %s\n", err);
    }
    bool read_only = false, super_read_only = false;
    EXPECT(mysql_read_only_get(conn, 1000, &read_only, &super_read_only, err, sizeof err) == 0,
           "read_only: %s", err);
    EXPECT(read_only, "the epoch write left the server writable");
    mysql_conn_free(conn);
    return 0;
}

/* semisync-wait HOST PORT TIMEOUT_MS off|ok|timeout: wait for a semi-sync replica to be
 * connected to the server. off: the source side is off (returns at once); ok: on, and one is (or
 * connects within the time); timeout: on, and none connects. */
static int cmd_semisync_wait(char **argv)
{
    struct mysql_conn *conn = coordinator(argv[0], argv[1]);
    char err[512] = "";
    struct mysql_semisync_state st;
    int rc = mysql_semisync_wait_clients(conn, (unsigned)strtoul(argv[2], NULL, 10), &st, err,
                                         sizeof err);
    if (strcmp(argv[3], "off") == 0) {
        EXPECT(rc == 0 && !st.enabled, "expected semi-sync off: rc %d, enabled %d (%s)", rc,
               st.enabled, err);
    } else if (strcmp(argv[3], "ok") == 0) {
        EXPECT(rc == 0 && st.enabled && st.clients >= 1, "expected a replica: rc %d, %u (%s)", rc,
               st.clients, err);
    } else {
        EXPECT(rc == -ETIMEDOUT && st.enabled && st.clients == 0,
               "expected a timeout: rc %d, enabled %d, %u replicas (%s)", rc, st.enabled,
               st.clients, err);
        EXPECT(strstr(err, "no semi-sync replica") != NULL, "message: %s", err);
    }
    printf("semi-sync on %s:%s: %s, %u replicas connected%s%s\n", argv[0], argv[1],
           st.enabled ? "on" : "off", st.clients, err[0] != '\0' ? ": " : "", err);
    mysql_conn_free(conn);
    return 0;
}

/* semisync-release HOST PORT N: a new writer's pause of the source side releases the commits
 * waiting for an acknowledgement (N of them; 0: none were waiting), and its resume puts the
 * source side back on. */
static int cmd_semisync_release(char **argv)
{
    struct mysql_conn *conn = coordinator(argv[0], argv[1]);
    char err[512] = "";
    struct mysql_semisync_pause pause;
    int rc = mysql_semisync_pause(conn, 2000, &pause, err, sizeof err);
    EXPECT(rc == 0 && pause.paused, "mysql_semisync_pause: %d, paused %d (%s)", rc, pause.paused,
           err);
    EXPECT(pause.released == (unsigned)strtoul(argv[2], NULL, 10), "released %u, expected %s",
           pause.released, argv[2]);
    struct mysql_semisync_state st;
    rc = mysql_semisync_wait_clients(conn, 200, &st, err, sizeof err);
    EXPECT(rc == 0 && !st.enabled, "the source side is still on while paused (%d: %s)", rc, err);
    rc = mysql_semisync_resume(conn, &pause, 2000, err, sizeof err);
    EXPECT(rc == 0, "mysql_semisync_resume: %d (%s)", rc, err);
    rc = mysql_semisync_wait_clients(conn, 200, &st, err, sizeof err);
    EXPECT(st.enabled, "the source side was left off (%d: %s)", rc, err);
    printf("semi-sync on %s:%s: paused (released %u waiting commit(s)), resumed\n", argv[0],
           argv[1], pause.released);
    mysql_conn_free(conn);
    return 0;
}

/* fence-only HOST PORT: mysql_fence within 1 s must succeed (read_only reads back ON). */
static int cmd_fence_only(char **argv)
{
    struct mysql_conn *conn = coordinator(argv[0], argv[1]);
    char err[512] = "";
    struct mysql_fence_result fr;
    int rc = mysql_fence(conn, 1000, &fr, err, sizeof err);
    EXPECT(rc == 0 && fr.read_only, "mysql_fence: %d (%s)", rc, err);
    printf("fenced %s:%s: read_only on, %u client connection(s) killed\n", argv[0], argv[1],
           fr.killed);
    mysql_conn_free(conn);
    return 0;
}

/* epoch-read HOST PORT EPOCH|none WRITER WAIT_MS: as a client would, within WAIT_MS (the row
 * replicates): the row says EPOCH and WRITER; none: there is no row or table yet. */
static int cmd_epoch_read(char **argv)
{
    struct mysql_conn *conn = app(argv[0], argv[1]);
    uint64_t until = clock_boottime_ms() + strtoull(argv[4], NULL, 10);
    uint64_t epoch = 0;
    char writer[64] = "", err[512] = "";
    int rc;
    for (;;) {
        rc = mysql_epoch_read(conn, 1000, &epoch, writer, sizeof writer, err, sizeof err);
        bool match =
            strcmp(argv[2], "none") == 0
                ? rc == -ENOENT
                : rc == 0 && epoch == strtoull(argv[2], NULL, 10) && strcmp(writer, argv[3]) == 0;
        if (match) {
            break;
        }
        EXPECT(clock_boottime_ms() < until, "on %s:%s: rc %d (%s), epoch %llu writer '%s'", argv[0],
               argv[1], rc, err, (unsigned long long)epoch, writer);
        usleep(20000);
    }
    printf("epoch row on %s:%s: %s\n", argv[0], argv[1], rc == 0 ? writer : "absent, as expected");
    mysql_conn_free(conn);
    return 0;
}

/* credentials FILE ok|eperm|einval */
static int cmd_credentials(char **argv)
{
    struct mysql_credentials c;
    char err[512];
    int rc = mysql_credentials_load(argv[0], &c, err, sizeof(err));
    step = "credentials";
    if (strcmp(argv[1], "ok") == 0) {
        EXPECT(rc == 0, "%s", err);
        EXPECT(strcmp(c.user, getenv("MARIADB_COORD_USER")) == 0, "user '%s'", c.user);
        EXPECT(strcmp(c.password, getenv("MARIADB_COORD_PASSWORD")) == 0, "password differs");
        printf("credentials: user %s\n", c.user);
    } else {
        EXPECT(rc == (strcmp(argv[1], "eperm") == 0 ? -EPERM : -EINVAL), "rc=%d (%s)", rc, err);
        EXPECT(strstr(err, getenv("MARIADB_COORD_PASSWORD")) == NULL, "password in '%s'", err);
        printf("credentials refused as expected: %s\n", err);
    }
    return 0;
}

/* check EXPECTED NODE...: run the preflight checks on NODEs ("id:host:port:master|replica").
 * EXPECTED is a space-separated list of "STATUS/check/node" results that must be present;
 * every FAIL found must be in it, so a good setup passes with EXPECTED "". */
static int cmd_check(char **argv)
{
    struct mysql_check_node nodes[8];
    char specs[8][128];
    size_t n = 0;
    for (char **a = argv + 1; *a != NULL && n < 8; a++, n++) {
        snprintf(specs[n], sizeof(specs[n]), "%s", *a);
        char *save = NULL;
        nodes[n].id = strtok_r(specs[n], ":", &save);
        nodes[n].host = strtok_r(NULL, ":", &save);
        const char *port = strtok_r(NULL, ":", &save);
        const char *role = strtok_r(NULL, ":", &save);
        EXPECT(nodes[n].id && nodes[n].host && port && role, "bad node '%s'", *a);
        nodes[n].port = (unsigned)atoi(port);
        nodes[n].is_master = strcmp(role, "master") == 0;
    }
    struct mysql_credentials c = login("MARIADB_COORD_USER", "MARIADB_COORD_PASSWORD");
    struct mysql_check_report report;
    memset(&report, 0, sizeof(report));
    step = "check";
    EXPECT(mysql_check_run(nodes, n, &c, 2000, &report) == 0, "mysql_check_run");
    mysql_check_print(&report, stdout);
    json_t *json = mysql_check_to_json(&report);
    EXPECT(json != NULL && json_array_size(json) == report.n, "json");
    json_decref(json);
    char expected[1024];
    snprintf(expected, sizeof(expected), " %s ", argv[0]);
    for (char *p = expected; *p; p++) {
        if (*p == '\n' || *p == '\t') {
            *p = ' ';
        }
    }
    for (size_t i = 0; i < report.n; i++) {
        const struct mysql_check_result *r = &report.results[i];
        char key[128];
        snprintf(key, sizeof(key), " %s/%s/%s ", mysql_check_status_name(r->status), r->name,
                 r->node);
        EXPECT(strstr(r->message, c.password) == NULL && strstr(r->fix, c.password) == NULL,
               "password in a check result");
        if (r->status == MYSQL_CHECK_FAIL) {
            EXPECT(strstr(expected, key) != NULL, "unexpected FAIL %s/%s: %s", r->name, r->node,
                   r->message);
        }
        char *hit = strstr(expected, key);
        if (hit != NULL) {
            memset(hit + 1, '.', strlen(key) - 2); /* mark as seen */
        }
    }
    for (char *save = NULL, *tok = strtok_r(expected, " ", &save); tok != NULL;
         tok = strtok_r(NULL, " ", &save)) {
        EXPECT(tok[0] == '.', "expected result %s not reported", tok);
    }
    mysql_check_report_free(&report);
    return 0;
}

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* bench-rtt HOST PORT N: probe round trips on a kept-open connection (figures, no assertion). */
static int cmd_bench_rtt(char **argv)
{
    struct mysql_conn *conn = coordinator(argv[0], argv[1]);
    int n = atoi(argv[2]);
    EXPECT(n > 0, "N must be positive");
    uint64_t *took = calloc((size_t)n, sizeof(*took));
    struct mysql_probe_result r;
    EXPECT(mysql_probe_run(conn, 1000, &r) == 0, "probe: %s", r.errmsg);
    mysql_probe_result_clear(&r);
    for (int i = 0; i < n; i++) {
        EXPECT(mysql_probe_run(conn, 1000, &r) == 0, "probe: %s", r.errmsg);
        took[i] = r.took_us;
        mysql_probe_result_clear(&r);
    }
    qsort(took, (size_t)n, sizeof(*took), compare_u64);
    printf("probe round trip over %d probes: median %.3f ms, p90 %.3f ms, p99 %.3f ms, max %.3f "
           "ms\n",
           n, took[n / 2] / 1000.0, took[n * 9 / 10] / 1000.0, took[n * 99 / 100] / 1000.0,
           took[n - 1] / 1000.0);
    free(took);
    mysql_conn_free(conn);
    return 0;
}

/* bench-down HOST PORT PID INTERVAL_MS: probe every INTERVAL_MS (0: back to back), SIGKILL
 * mariadbd at a random moment, print the milliseconds until a probe reports it down. */
static int cmd_bench_down(char **argv)
{
    struct mysql_conn *conn = coordinator(argv[0], argv[1]);
    pid_t pid = (pid_t)atoi(argv[2]);
    unsigned interval = (unsigned)atoi(argv[3]);
    struct mysql_probe_result r;
    EXPECT(mysql_probe_run(conn, 1000, &r) == 0, "probe: %s", r.errmsg);
    mysql_probe_result_clear(&r);
    srand((unsigned)clock_boottime_us());
    uint64_t start = clock_boottime_us();
    uint64_t kill_at = start + (interval ? (uint64_t)(rand() % (int)interval) * 1000 : 0);
    uint64_t killed = 0;
    for (uint64_t next = start;; next += interval * 1000ULL) {
        for (;;) {
            uint64_t now = clock_boottime_us();
            if (!killed && now >= kill_at) {
                EXPECT(kill(pid, SIGKILL) == 0, "kill: %s", strerror(errno));
                killed = clock_boottime_us();
            }
            uint64_t until = killed ? next : (next < kill_at ? next : kill_at);
            if (now >= until) {
                break;
            }
            usleep((useconds_t)(until - now));
        }
        if (!killed) {
            mysql_probe_run(conn, 1000, &r);
            mysql_probe_result_clear(&r);
            continue;
        }
        int rc = mysql_probe_run(conn, 1000, &r);
        if (rc != 0) {
            printf("%.3f %s %s\n", (clock_boottime_us() - killed) / 1000.0,
                   mysql_probe_state_name(r.state), r.errmsg);
            mysql_probe_result_clear(&r);
            break;
        }
        mysql_probe_result_clear(&r);
    }
    mysql_conn_free(conn);
    return 0;
}

/* down-event: the worker watches its connection, as the daemon's does; probes run every
 * INTERVAL ms (0: never, only when the worker reports a hang-up); mariadbd is SIGKILLed once the
 * first probe answered (bench: at a random moment within the interval). */
struct down_state {
    uv_loop_t *loop;
    uv_timer_t tick, kill_timer, watchdog;
    struct mysql_worker *worker;
    pid_t pid;
    unsigned interval_ms;
    bool bench;
    bool probing;
    uint64_t killed_us;
    uint64_t detected_us;
    enum mysql_probe_state state;
    char errmsg[512];
    unsigned probes_after_kill;
};

static void down_finish(struct down_state *d)
{
    uv_close((uv_handle_t *)&d->tick, NULL);
    uv_close((uv_handle_t *)&d->kill_timer, NULL);
    uv_close((uv_handle_t *)&d->watchdog, NULL);
    mysql_worker_close(d->worker, NULL, NULL);
}

static void on_down_kill(uv_timer_t *timer)
{
    struct down_state *d = timer->data;
    EXPECT(kill(d->pid, SIGKILL) == 0, "kill: %s", strerror(errno));
    d->killed_us = clock_boottime_us();
}

static void on_down_probe(const struct mysql_probe_result *r, void *arg)
{
    struct down_state *d = arg;
    d->probing = false;
    if (r->error == -ECANCELED || d->detected_us != 0) {
        return;
    }
    if (d->killed_us == 0) {
        EXPECT(r->state == MYSQL_PROBE_UP, "first probe: %s", r->errmsg);
        if (!uv_is_active((uv_handle_t *)&d->kill_timer)) {
            uint64_t delay =
                d->bench && d->interval_ms > 0 ? (uint64_t)(rand() % (int)d->interval_ms) : 0;
            uv_timer_start(&d->kill_timer, on_down_kill, delay, 0);
        }
        return;
    }
    d->probes_after_kill++;
    if (r->state != MYSQL_PROBE_UP) {
        d->detected_us = clock_boottime_us();
        d->state = r->state;
        snprintf(d->errmsg, sizeof d->errmsg, "%s", r->errmsg);
        down_finish(d);
    }
}

static void down_probe(struct down_state *d)
{
    if (!d->probing && d->detected_us == 0 &&
        mysql_worker_probe(d->worker, 1000, on_down_probe, d) == 0) {
        d->probing = true;
    }
}

static void on_down_tick(uv_timer_t *timer)
{
    down_probe(timer->data);
}

static void on_down_hangup(void *arg)
{
    down_probe(arg);
}

static void on_down_watchdog(uv_timer_t *timer)
{
    struct down_state *d = timer->data;
    EXPECT(false, "no probe reported the killed server down within 10 s (%u probes after the kill)",
           d->probes_after_kill);
}

/* down-event HOST PORT PID INTERVAL_MS test|bench. test: with INTERVAL_MS 0 nothing but the
 * hang-up can make the worker probe again: the kill must be reported as REFUSED. bench: print
 * "ms state hangups" from the kill to the probe that said so. */
static int cmd_down_event(char **argv)
{
    static struct down_state d;
    memset(&d, 0, sizeof d);
    d.loop = uv_default_loop();
    d.pid = (pid_t)atoi(argv[2]);
    d.interval_ms = (unsigned)atoi(argv[3]);
    d.bench = strcmp(argv[4], "bench") == 0;
    srand((unsigned)clock_boottime_us());
    char err[256];
    EXPECT(mysql_worker_start(d.loop, coordinator(argv[0], argv[1]), &d.worker, err, sizeof err) ==
               0,
           "worker: %s", err);
    mysql_worker_watch(d.worker, on_down_hangup, &d);
    uv_timer_init(d.loop, &d.tick);
    uv_timer_init(d.loop, &d.kill_timer);
    uv_timer_init(d.loop, &d.watchdog);
    d.tick.data = d.kill_timer.data = d.watchdog.data = &d;
    if (d.interval_ms > 0) {
        uv_timer_start(&d.tick, on_down_tick, d.interval_ms, d.interval_ms);
    }
    uv_timer_start(&d.watchdog, on_down_watchdog, 10000, 0);
    down_probe(&d);
    uv_run(d.loop, UV_RUN_DEFAULT);
    if (d.bench) {
        printf("%.3f %s\n", (d.detected_us - d.killed_us) / 1000.0,
               mysql_probe_state_name(d.state));
    } else {
        EXPECT(d.state == MYSQL_PROBE_REFUSED, "the killed server was reported %s: %s",
               mysql_probe_state_name(d.state), d.errmsg);
        printf("killed server reported %s %.3f ms after SIGKILL with no periodic probe (%s)\n",
               mysql_probe_state_name(d.state), (d.detected_us - d.killed_us) / 1000.0, d.errmsg);
    }
    uv_loop_close(d.loop);
    return 0;
}

struct command {
    const char *name;
    int argc;
    int (*run)(char **argv);
};

static const struct command commands[] = {
    {"probe", 3, cmd_probe},
    {"refused", 2, cmd_refused},
    {"paused", 4, cmd_paused},
    {"fence", 2, cmd_fence},
    {"repoint", 4, cmd_repoint},
    {"wait", 5, cmd_wait},
    {"errant", 5, cmd_errant},
    {"credentials", 2, cmd_credentials},
    {"check", 2, cmd_check},
    {"bench-rtt", 3, cmd_bench_rtt},
    {"bench-down", 4, cmd_bench_down},
    {"epoch-write", 5, cmd_epoch_write},
    {"epoch-read", 5, cmd_epoch_read},
    {"down-event", 5, cmd_down_event},
    {"semisync-wait", 4, cmd_semisync_wait},
    {"semisync-release", 3, cmd_semisync_release},
    {"fence-only", 2, cmd_fence_only},
};

int main(int argc, char **argv)
{
    for (size_t i = 0; argc >= 2 && i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(argv[1], commands[i].name) == 0 && argc - 2 >= commands[i].argc) {
            step = commands[i].name;
            return commands[i].run(argv + 2);
        }
    }
    fprintf(stderr, "usage: mysql_lab probe|refused|paused|fence|repoint|wait|errant|"
                    "credentials|check|epoch-write|epoch-read|down-event|semisync-wait|"
                    "semisync-release|fence-only ARGS...\n");
    return 2;
}
