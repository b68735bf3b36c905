/* The epoch table: see epoch.h. */
#include "mysql/epoch.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord/clock.h"
#include "mysql/fence.h"
#include "mysql/rows.h"

#define ER_NO_SUCH_TABLE 1146
#define ER_BAD_DB_ERROR  1049

int mysql_epoch_statements(const struct mysql_dialect *d, uint64_t epoch, const char *node_id,
                           char out[MYSQL_EPOCH_STATEMENTS][MYSQL_EPOCH_SQL_SIZE])
{
    size_t len = strlen(node_id);
    if (len == 0 || len > MYSQL_EPOCH_WRITER_MAX) {
        return -EINVAL;
    }
    char quoted[2 * MYSQL_EPOCH_WRITER_MAX + 3];
    if (mysql_dialect_quote(d, node_id, quoted, sizeof quoted) != 0) {
        return -ENOSPC;
    }
    snprintf(out[0], MYSQL_EPOCH_SQL_SIZE, "CREATE DATABASE IF NOT EXISTS mmcoord");
    snprintf(out[1], MYSQL_EPOCH_SQL_SIZE,
             "CREATE TABLE IF NOT EXISTS mmcoord.epoch (id TINYINT UNSIGNED PRIMARY KEY, "
             "epoch BIGINT UNSIGNED NOT NULL, writer VARCHAR(31) NOT NULL, "
             "opened_at DATETIME(6) NOT NULL) ENGINE=InnoDB");
    int n =
        snprintf(out[2], MYSQL_EPOCH_SQL_SIZE,
                 "REPLACE INTO mmcoord.epoch VALUES (1, %" PRIu64 ", %s, NOW(6))", epoch, quoted);
    return n < 0 || n >= MYSQL_EPOCH_SQL_SIZE ? -ENOSPC : 0;
}

static const char *step_name(unsigned i)
{
    static const char *const names[MYSQL_EPOCH_STATEMENTS] = {
        "creating database mmcoord", "creating table mmcoord.epoch", "writing the epoch row"};
    return names[i];
}

int mysql_epoch_write(struct mysql_conn *conn, uint64_t epoch, const char *node_id,
                      unsigned timeout_ms, char *errmsg, size_t errlen)
{
    uint64_t deadline = clock_boottime_ms() + timeout_ms;
    char detail[384];
    int rc = mysql_conn_connect(conn, deadline, detail, sizeof detail);
    if (rc != 0) {
        snprintf(errmsg, errlen, "epoch table: %s", detail);
        return rc;
    }
    const struct mysql_dialect *d = mysql_conn_dialect(conn);
    char sql[MYSQL_EPOCH_STATEMENTS][MYSQL_EPOCH_SQL_SIZE];
    rc = mysql_epoch_statements(d, epoch, node_id, sql);
    if (rc != 0) {
        snprintf(errmsg, errlen, "epoch table: writer id '%.64s' is empty or longer than %d bytes",
                 node_id, MYSQL_EPOCH_WRITER_MAX);
        return rc;
    }
    /* MySQL: super_read_only stops even this account; read_only alone still stops clients. */
    bool lifted = false;
    if (mysql_dialect_has_super_read_only(d)) {
        bool read_only = false, super_read_only = false;
        uint64_t now = clock_boottime_ms();
        rc = mysql_read_only_get(conn, now < deadline ? (unsigned)(deadline - now) : 1, &read_only,
                                 &super_read_only, detail, sizeof detail);
        if (rc == 0 && super_read_only) {
            rc = mysql_conn_query(conn, "SET GLOBAL super_read_only = OFF", deadline, NULL, detail,
                                  sizeof detail);
            lifted = rc == 0;
        }
        if (rc != 0) {
            snprintf(errmsg, errlen, "epoch table: lifting super_read_only on %s: %s",
                     mysql_conn_address(conn), detail);
            return rc;
        }
    }
    /* The schema only when it is missing: CREATE ... IF NOT EXISTS is binlogged (with a GTID of
     * its own) even when there is nothing to create, and DDL does not update the replicas'
     * gtid_slave_pos atomically: a replica killed inside one came back unable to apply the
     * next event (gtid strict mode), for good (seen in a chaos run). */
    unsigned first = 0;
    struct mysql_rows *rows = NULL;
    if (mysql_conn_query(conn,
                         "SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE "
                         "TABLE_SCHEMA = 'mmcoord' AND TABLE_NAME = 'epoch'",
                         deadline, &rows, detail, sizeof detail) == 0 &&
        rows != NULL) {
        const char *n = mysql_rows_get(rows, 0, "n");
        if (n != NULL && strcmp(n, "1") == 0) {
            first = MYSQL_EPOCH_STATEMENTS - 1; /* only the REPLACE */
        }
    }
    mysql_rows_free(rows);
    for (unsigned i = first; i < MYSQL_EPOCH_STATEMENTS; i++) {
        rc = mysql_conn_query(conn, sql[i], deadline, NULL, detail, sizeof detail);
        if (rc != 0) {
            snprintf(errmsg, errlen, "epoch table: %s on %s: %s%s", step_name(i),
                     mysql_conn_address(conn), detail,
                     rc == -EACCES ? " (GRANT CREATE, INSERT, DELETE ON mmcoord.* to the "
                                     "coordinator's user: see docs/mysql.md)"
                                   : "");
            break;
        }
    }
    if (rc != 0 && lifted) {
        /* Put it back as we found it; the caller does not open anyway. */
        mysql_conn_query(conn, "SET GLOBAL super_read_only = ON", clock_boottime_ms() + timeout_ms,
                         NULL, detail, sizeof detail);
    }
    return rc;
}

int mysql_epoch_read(struct mysql_conn *conn, unsigned timeout_ms, uint64_t *epoch, char *writer,
                     size_t writer_len, char *errmsg, size_t errlen)
{
    uint64_t deadline = clock_boottime_ms() + timeout_ms;
    struct mysql_rows *rows = NULL;
    char detail[384];
    int rc = mysql_conn_query(conn, "SELECT epoch, writer FROM mmcoord.epoch WHERE id = 1",
                              deadline, &rows, detail, sizeof detail);
    if (rc != 0) {
        unsigned server_errno = mysql_conn_server_errno(conn);
        if (server_errno == ER_NO_SUCH_TABLE || server_errno == ER_BAD_DB_ERROR) {
            rc = -ENOENT;
        }
        snprintf(errmsg, errlen, "epoch table: reading it on %s: %s", mysql_conn_address(conn),
                 detail);
        return rc;
    }
    if (rows == NULL || rows->n_rows == 0) {
        snprintf(errmsg, errlen, "epoch table: %s has no row yet", mysql_conn_address(conn));
        mysql_rows_free(rows);
        return -ENOENT;
    }
    const char *e = mysql_rows_get(rows, 0, "epoch");
    const char *w = mysql_rows_get(rows, 0, "writer");
    char *end = NULL;
    unsigned long long value = e != NULL ? strtoull(e, &end, 10) : 0;
    if (e == NULL || w == NULL || end == e || *end != '\0') {
        snprintf(errmsg, errlen, "epoch table: %s: unreadable row", mysql_conn_address(conn));
        mysql_rows_free(rows);
        return -EPROTO;
    }
    *epoch = value;
    snprintf(writer, writer_len, "%s", w);
    mysql_rows_free(rows);
    return 0;
}
