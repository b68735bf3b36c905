/* Probes: see probe.h. */
#include "mysql/probe.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coord/clock.h"

const char *mysql_probe_state_name(enum mysql_probe_state state)
{
    switch (state) {
    case MYSQL_PROBE_UP:
        return "up";
    case MYSQL_PROBE_REFUSED:
        return "refused";
    case MYSQL_PROBE_TIMEOUT:
        return "timeout";
    case MYSQL_PROBE_DENIED:
        return "denied";
    case MYSQL_PROBE_ERROR:
        break;
    }
    return "error";
}

enum gtid_flavor mysql_probe_gtid_flavor(const struct mysql_dialect *dialect)
{
    return dialect->flavor == MYSQL_FLAVOR_MARIADB ? GTID_FLAVOR_MARIADB : GTID_FLAVOR_MYSQL;
}

void mysql_probe_result_clear(struct mysql_probe_result *result)
{
    free(result->executed_text);
    free(result->applied_text);
    gtid_set_free(result->executed);
    gtid_set_free(result->applied);
    gtid_set_free(result->received);
    mysql_replica_status_clear(&result->replica);
    memset(result, 0, sizeof(*result));
}

static enum mysql_probe_state state_of(int error)
{
    switch (error) {
    case 0:
        return MYSQL_PROBE_UP;
    case -ECONNREFUSED:
        return MYSQL_PROBE_REFUSED;
    case -ETIMEDOUT:
        return MYSQL_PROBE_TIMEOUT;
    case -EACCES:
        return MYSQL_PROBE_DENIED;
    default:
        return MYSQL_PROBE_ERROR;
    }
}

/* In the few milliseconds while a killed mysqld is torn down, the kernel may still accept a
 * connection on its port and then reset it. That is a server going away, not a slow one: try
 * again a few times (until the port refuses), within the deadline. */
#define RESET_RETRIES  5
#define RESET_PAUSE_US 2000

static int connect_retrying(struct mysql_conn *conn, uint64_t deadline,
                            struct mysql_probe_result *out)
{
    int rc = 0;
    for (int attempt = 0; attempt < RESET_RETRIES; attempt++) {
        rc = mysql_conn_connect(conn, deadline, out->errmsg, sizeof(out->errmsg));
        if (rc != -ECONNRESET || clock_boottime_ms() + RESET_PAUSE_US / 1000 >= deadline) {
            break;
        }
        usleep(RESET_PAUSE_US);
    }
    return rc;
}

/* Run a statement; a connection that broke since the last use is reopened once. */
static int query(struct mysql_conn *conn, const char *sql, uint64_t deadline,
                 struct mysql_rows **rows, struct mysql_probe_result *out)
{
    int rc = mysql_conn_query(conn, sql, deadline, rows, out->errmsg, sizeof(out->errmsg));
    if (rc == -ECONNRESET) {
        out->reconnected = true;
        rc = connect_retrying(conn, deadline, out);
        if (rc == 0) {
            rc = mysql_conn_query(conn, sql, deadline, rows, out->errmsg, sizeof(out->errmsg));
        }
    }
    return rc;
}

static int parse_set(const struct mysql_dialect *d, const char *what, const char *text,
                     struct gtid_set **set, struct mysql_probe_result *out)
{
    char err[200];
    int rc = gtid_set_parse(mysql_probe_gtid_flavor(d), text, set, err, sizeof(err));
    if (rc != 0) {
        snprintf(out->errmsg, sizeof(out->errmsg), "%.60s: %s set '%.100s' does not parse: %.200s",
                 out->version, what, text, err);
        return rc == -ENOMEM ? rc : -EPROTO;
    }
    return 0;
}

static int probe(struct mysql_conn *conn, uint64_t deadline, struct mysql_probe_result *out)
{
    struct mysql_rows *rows = NULL;
    /* The dialect is only known once connected: connect (or reuse) first. */
    bool was_connected = mysql_conn_is_connected(conn);
    int rc = connect_retrying(conn, deadline, out);
    if (rc != 0) {
        return rc;
    }
    out->reconnected = !was_connected;
    const struct mysql_dialect *d = mysql_conn_dialect(conn);
    char sql[512];
    const char *ro = d->flavor == MYSQL_FLAVOR_MARIADB ? "0" : "@@GLOBAL.super_read_only";
    const char *executed =
        d->flavor == MYSQL_FLAVOR_MARIADB ? "@@GLOBAL.gtid_current_pos" : "@@GLOBAL.gtid_executed";
    const char *applied =
        d->flavor == MYSQL_FLAVOR_MARIADB ? "@@GLOBAL.gtid_slave_pos" : "@@GLOBAL.gtid_executed";
    snprintf(sql, sizeof(sql),
             "SELECT @@GLOBAL.server_id AS server_id, @@GLOBAL.read_only AS read_only, %s AS "
             "super_read_only, %s AS executed, %s AS applied",
             ro, executed, applied);
    rc = query(conn, sql, deadline, &rows, out);
    if (rc != 0) {
        return rc;
    }
    /* The connection may have been reopened to another server version. */
    d = mysql_conn_dialect(conn);
    out->dialect = *d;
    snprintf(out->version, sizeof(out->version), "%s", mysql_conn_version(conn));
    const char *v;
    if (rows == NULL || rows->n_rows != 1 || (v = mysql_rows_get(rows, 0, "server_id")) == NULL ||
        mysql_dialect_parse_bool(mysql_rows_get(rows, 0, "read_only"), &out->read_only) != 0 ||
        mysql_dialect_parse_bool(mysql_rows_get(rows, 0, "super_read_only"),
                                 &out->super_read_only) != 0) {
        snprintf(out->errmsg, sizeof(out->errmsg), "MySQL %s: unexpected answer to the probe",
                 mysql_conn_address(conn));
        mysql_rows_free(rows);
        return -EPROTO;
    }
    out->server_id = strtoul(v, NULL, 10);
    v = mysql_rows_get(rows, 0, "executed");
    out->executed_text = strdup(v ? v : "");
    v = mysql_rows_get(rows, 0, "applied");
    out->applied_text = strdup(v ? v : "");
    mysql_rows_free(rows);
    rows = NULL;
    if (out->executed_text == NULL || out->applied_text == NULL) {
        return -ENOMEM;
    }
    /* MySQL prints long sets over several lines. */
    for (char *p = out->executed_text; *p; p++) {
        if (*p == '\n') {
            *p = ' ';
        }
    }
    if ((rc = parse_set(d, "executed GTID", out->executed_text, &out->executed, out)) != 0 ||
        (rc = parse_set(d, "applied GTID", out->applied_text, &out->applied, out)) != 0) {
        return rc;
    }

    rc = query(conn, mysql_dialect_show_replica_status(d), deadline, &rows, out);
    if (rc != 0) {
        return rc;
    }
    if (rows == NULL) {
        snprintf(out->errmsg, sizeof(out->errmsg), "MySQL %s: replica status returned nothing",
                 mysql_conn_address(conn));
        return -EPROTO;
    }
    rc = mysql_dialect_parse_replica_status(rows, &out->replica, out->errmsg, sizeof(out->errmsg));
    mysql_rows_free(rows);
    if (rc != 0) {
        return rc;
    }
    if (out->replica.configured) {
        rc = parse_set(d, "received GTID", out->replica.received_gtid, &out->received, out);
    }
    return rc;
}

int mysql_probe_run(struct mysql_conn *conn, unsigned timeout_ms, struct mysql_probe_result *out)
{
    memset(out, 0, sizeof(*out));
    out->replica.lag_seconds = -1;
    uint64_t start_us = clock_boottime_us();
    int rc = probe(conn, start_us / 1000 + timeout_ms, out);
    out->took_us = clock_boottime_us() - start_us;
    out->error = rc;
    out->state = state_of(rc);
    if (rc == 0) {
        out->errmsg[0] = '\0';
    }
    return rc;
}
