/* Repointing and GTID waits: see repoint.h. */
#include "mysql/repoint.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord/clock.h"
#include "mysql/gtid.h"
#include "mysql/probe.h"

/* How long a repoint lets the SQL thread apply what was received before the source changes. */
#define REPOINT_DRAIN_MS 3000

static int replica_status(struct mysql_conn *conn, uint64_t deadline,
                          struct mysql_replica_status *status, char *errmsg, size_t errlen)
{
    struct mysql_rows *rows = NULL;
    int rc = mysql_conn_query(conn, mysql_dialect_show_replica_status(mysql_conn_dialect(conn)),
                              deadline, &rows, errmsg, errlen);
    if (rc != 0) {
        return rc;
    }
    if (rows == NULL) {
        snprintf(errmsg, errlen, "MySQL %s: replica status returned nothing",
                 mysql_conn_address(conn));
        return -EPROTO;
    }
    rc = mysql_dialect_parse_replica_status(rows, status, errmsg, errlen);
    mysql_rows_free(rows);
    return rc;
}

static bool points_at(const struct mysql_replica_status *st, const struct mysql_source *source)
{
    return st->configured && strcmp(st->source_host, source->host) == 0 &&
           st->source_port == source->port && st->auto_position;
}

int mysql_replication_stop(struct mysql_conn *conn, unsigned timeout_ms, char *errmsg,
                           size_t errlen)
{
    uint64_t deadline = clock_boottime_ms() + timeout_ms;
    int rc = mysql_conn_connect(conn, deadline, errmsg, errlen);
    if (rc == 0) {
        rc = mysql_conn_query(conn, mysql_dialect_stop_replica(mysql_conn_dialect(conn)), deadline,
                              NULL, errmsg, errlen);
    }
    return rc;
}

/* STOP SLAVE / STOP REPLICA of one thread (@thread: "SQL_THREAD" or "IO_THREAD"). */
static int thread_statement(struct mysql_conn *conn, bool start, const char *thread,
                            unsigned timeout_ms, char *errmsg, size_t errlen)
{
    uint64_t deadline = clock_boottime_ms() + timeout_ms;
    int rc = mysql_conn_connect(conn, deadline, errmsg, errlen);
    if (rc == 0) {
        const struct mysql_dialect *d = mysql_conn_dialect(conn);
        char sql[64];
        snprintf(sql, sizeof sql, "%s %s",
                 start ? mysql_dialect_start_replica(d) : mysql_dialect_stop_replica(d), thread);
        rc = mysql_conn_query(conn, sql, deadline, NULL, errmsg, errlen);
    }
    return rc;
}

static int stop_thread(struct mysql_conn *conn, const char *thread, unsigned timeout_ms,
                       char *errmsg, size_t errlen)
{
    return thread_statement(conn, false, thread, timeout_ms, errmsg, errlen);
}

int mysql_replication_start_applier(struct mysql_conn *conn, unsigned timeout_ms, char *errmsg,
                                    size_t errlen)
{
    return thread_statement(conn, true, "SQL_THREAD", timeout_ms, errmsg, errlen);
}

int mysql_replication_stop_applier(struct mysql_conn *conn, unsigned timeout_ms, char *errmsg,
                                   size_t errlen)
{
    return stop_thread(conn, "SQL_THREAD", timeout_ms, errmsg, errlen);
}

int mysql_replication_stop_receiver(struct mysql_conn *conn, unsigned timeout_ms, char *errmsg,
                                    size_t errlen)
{
    return stop_thread(conn, "IO_THREAD", timeout_ms, errmsg, errlen);
}

int mysql_repoint(struct mysql_conn *conn, const struct mysql_source *source, unsigned timeout_ms,
                  bool *changed, char *errmsg, size_t errlen)
{
    uint64_t deadline = clock_boottime_ms() + timeout_ms;
    bool local_changed = false;
    changed = changed != NULL ? changed : &local_changed;
    *changed = false;
    char detail[384];
    int rc = mysql_conn_connect(conn, deadline, detail, sizeof(detail));
    if (rc != 0) {
        snprintf(errmsg, errlen, "repoint: %s", detail);
        return rc;
    }
    const struct mysql_dialect *d = mysql_conn_dialect(conn);
    struct mysql_replica_status st;
    rc = replica_status(conn, deadline, &st, detail, sizeof(detail));
    if (rc != 0) {
        snprintf(errmsg, errlen, "repoint: reading replica status: %s", detail);
        return rc;
    }
    bool already = points_at(&st, source);
    bool running = st.io_state != MYSQL_IO_STOPPED && st.sql_running;
    bool configured = st.configured;
    mysql_replica_status_clear(&st);
    if (already && running) {
        return 0;
    }
    *changed = true;
    if (!already && configured) {
        /* CHANGE MASTER/SOURCE TO a new source deletes the relay logs: whatever the server
         * received and did not apply yet (acknowledged by semi-sync, maybe held nowhere else)
         * would be lost. Stop receiving, let the SQL thread apply what is there, then change.
         * A transaction cut off halfway never applies: the drain is bounded. */
        char stop_io[64];
        snprintf(stop_io, sizeof stop_io, "%s IO_THREAD", mysql_dialect_stop_replica(d));
        if (mysql_conn_query(conn, stop_io, deadline, NULL, detail, sizeof(detail)) == 0 &&
            replica_status(conn, deadline, &st, detail, sizeof(detail)) == 0) {
            if (st.sql_running && st.received_gtid != NULL && st.received_gtid[0] != '\0') {
                mysql_wait_gtid(conn, st.received_gtid, REPOINT_DRAIN_MS, detail, sizeof(detail));
                deadline = clock_boottime_ms() + timeout_ms;
            }
            mysql_replica_status_clear(&st);
        }
    }
    rc = mysql_conn_query(conn, mysql_dialect_stop_replica(d), deadline, NULL, detail,
                          sizeof(detail));
    if (rc == 0 && !already) {
        size_t len = 2048;
        char *sql = malloc(len);
        if (sql == NULL) {
            return -ENOMEM;
        }
        rc = mysql_dialect_change_source(d, source, sql, len, detail, sizeof(detail));
        if (rc == 0) {
            rc = mysql_conn_query(conn, sql, deadline, NULL, detail, sizeof(detail));
            /* A syntax error message quotes the statement from the error on. */
            if (rc != 0 && source->password != NULL && source->password[0] != '\0' &&
                strstr(detail, source->password) != NULL) {
                snprintf(detail, sizeof(detail),
                         "MySQL %s: error %u (message withheld: it quotes the password)",
                         mysql_conn_address(conn), mysql_conn_server_errno(conn));
            }
        }
        explicit_bzero(sql, len);
        free(sql);
    }
    if (rc == 0) {
        rc = mysql_conn_query(conn, mysql_dialect_start_replica(d), deadline, NULL, detail,
                              sizeof(detail));
    }
    if (rc != 0) {
        snprintf(errmsg, errlen, "repoint to %s:%u: %s", source->host, source->port, detail);
        return rc;
    }
    rc = replica_status(conn, deadline, &st, detail, sizeof(detail));
    if (rc != 0) {
        snprintf(errmsg, errlen, "repoint to %s:%u: reading back: %s", source->host, source->port,
                 detail);
        return rc;
    }
    if (!points_at(&st, source) || !st.sql_running) {
        snprintf(errmsg, errlen,
                 "repoint to %s:%u: replica status reads source %s:%u, GTID %s, SQL thread %s "
                 "(last IO error: %.100s; last SQL error: %.100s)",
                 source->host, source->port, st.source_host, st.source_port,
                 st.auto_position ? "on" : "off", st.sql_running ? "running" : "stopped",
                 st.last_io_error, st.last_sql_error);
        mysql_replica_status_clear(&st);
        return -EIO;
    }
    mysql_replica_status_clear(&st);
    return 0;
}

static int executed(struct mysql_conn *conn, uint64_t deadline, char **out, char *errmsg,
                    size_t errlen)
{
    struct mysql_rows *rows = NULL;
    int rc = mysql_conn_connect(conn, deadline, errmsg, errlen);
    if (rc == 0) {
        rc = mysql_conn_query(conn, mysql_dialect_gtid_query(mysql_conn_dialect(conn)), deadline,
                              &rows, errmsg, errlen);
    }
    if (rc != 0) {
        return rc;
    }
    const char *v = rows != NULL ? mysql_rows_get(rows, 0, "executed") : NULL;
    *out = strdup(v ? v : "");
    mysql_rows_free(rows);
    return *out == NULL ? -ENOMEM : 0;
}

int mysql_executed_gtid(struct mysql_conn *conn, unsigned timeout_ms, char **out, char *errmsg,
                        size_t errlen)
{
    return executed(conn, clock_boottime_ms() + timeout_ms, out, errmsg, errlen);
}

/* Whether the server's executed set contains @target. */
static int reached(struct mysql_conn *conn, uint64_t deadline, const struct gtid_set *target,
                   bool *yes, char *errmsg, size_t errlen)
{
    char *text = NULL;
    int rc = executed(conn, deadline, &text, errmsg, errlen);
    if (rc != 0) {
        return rc;
    }
    struct gtid_set *set = NULL;
    char err[200];
    rc = gtid_set_parse(gtid_set_flavor(target), text, &set, err, sizeof(err));
    if (rc != 0) {
        snprintf(errmsg, errlen, "MySQL %s: executed set '%.100s' does not parse: %s",
                 mysql_conn_address(conn), text, err);
        free(text);
        return -EPROTO;
    }
    free(text);
    *yes = gtid_set_contains(set, target);
    gtid_set_free(set);
    return 0;
}

/* MariaDB's MASTER_GTID_WAIT looks at what replication applied, not at what the server wrote
 * itself, so a wait is only a way to sleep until replication progresses: the executed set is
 * what decides. Slices keep that re-check frequent. */
#define WAIT_SLICE_MS  200
#define WAIT_MARGIN_MS 20

int mysql_wait_gtid(struct mysql_conn *conn, const char *gtid_text, unsigned timeout_ms,
                    char *errmsg, size_t errlen)
{
    uint64_t deadline = clock_boottime_ms() + timeout_ms;
    int rc = mysql_conn_connect(conn, deadline, errmsg, errlen);
    if (rc != 0) {
        return rc;
    }
    const struct mysql_dialect *d = mysql_conn_dialect(conn);
    struct gtid_set *target = NULL;
    char err[200];
    rc = gtid_set_parse(mysql_probe_gtid_flavor(d), gtid_text, &target, err, sizeof(err));
    if (rc != 0) {
        snprintf(errmsg, errlen, "wait for GTID '%.100s': %s", gtid_text, err);
        return -EINVAL;
    }
    size_t len = strlen(gtid_text) * 2 + 128;
    char *sql = malloc(len);
    if (sql == NULL) {
        gtid_set_free(target);
        return -ENOMEM;
    }
    for (;;) {
        bool yes = false;
        rc = reached(conn, deadline, target, &yes, errmsg, errlen);
        if (rc != 0 || yes) {
            break;
        }
        uint64_t now = clock_boottime_ms();
        if (now + WAIT_MARGIN_MS >= deadline) {
            snprintf(errmsg, errlen, "MySQL %s: GTID set '%.100s' not executed within %u ms",
                     mysql_conn_address(conn), gtid_text, timeout_ms);
            rc = -ETIMEDOUT;
            break;
        }
        unsigned slice = (unsigned)(deadline - now - WAIT_MARGIN_MS);
        if (d->flavor == MYSQL_FLAVOR_MARIADB) {
            slice = slice < WAIT_SLICE_MS ? slice : WAIT_SLICE_MS;
            rc = mysql_dialect_wait_gtid(d, gtid_text, slice, sql, len);
        } else if (slice >= 1000) {
            /* MySQL's timeout is whole seconds. */
            rc = mysql_dialect_wait_gtid(d, gtid_text, slice / 1000 * 1000, sql, len);
        } else {
            snprintf(sql, len, "SELECT SLEEP(%u.%03u) AS reached", 0U, slice < 100 ? slice : 100);
        }
        if (rc != 0) {
            snprintf(errmsg, errlen, "wait for GTID: statement too long");
            break;
        }
        rc = mysql_conn_query(conn, sql, deadline, NULL, errmsg, errlen);
        if (rc != 0) {
            break;
        }
    }
    free(sql);
    gtid_set_free(target);
    return rc;
}
