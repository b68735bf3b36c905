/* Fencing: see fence.h. */
#include "mysql/fence.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord/clock.h"

#define ER_NO_SUCH_THREAD 1094

static int read_back(struct mysql_conn *conn, uint64_t deadline, bool *read_only,
                     bool *super_read_only, char *errmsg, size_t errlen)
{
    struct mysql_rows *rows = NULL;
    const struct mysql_dialect *d = mysql_conn_dialect(conn);
    int rc = mysql_conn_connect(conn, deadline, errmsg, errlen);
    if (rc != 0) {
        return rc;
    }
    rc = mysql_conn_query(conn, mysql_dialect_read_only_query(d), deadline, &rows, errmsg, errlen);
    if (rc != 0) {
        return rc;
    }
    if (rows == NULL || rows->n_rows != 1 ||
        mysql_dialect_parse_bool(mysql_rows_get(rows, 0, "read_only"), read_only) != 0 ||
        mysql_dialect_parse_bool(mysql_rows_get(rows, 0, "super_read_only"), super_read_only) !=
            0) {
        snprintf(errmsg, errlen, "MySQL %s: cannot read read_only back", mysql_conn_address(conn));
        mysql_rows_free(rows);
        return -EPROTO;
    }
    mysql_rows_free(rows);
    return 0;
}

int mysql_read_only_get(struct mysql_conn *conn, unsigned timeout_ms, bool *read_only,
                        bool *super_read_only, char *errmsg, size_t errlen)
{
    return read_back(conn, clock_boottime_ms() + timeout_ms, read_only, super_read_only, errmsg,
                     errlen);
}

/* Kill every connection that is not protected. Counts kills and the clients still listed. */
static int kill_clients(struct mysql_conn *conn, uint64_t deadline, unsigned *killed,
                        unsigned *listed, char *errmsg, size_t errlen)
{
    const struct mysql_dialect *d = mysql_conn_dialect(conn);
    struct mysql_rows *rows = NULL;
    int rc =
        mysql_conn_query(conn, mysql_dialect_processlist_query(d), deadline, &rows, errmsg, errlen);
    if (rc != 0) {
        return rc;
    }
    *listed = 0;
    for (unsigned i = 0; rows != NULL && i < rows->n_rows; i++) {
        const char *id = mysql_rows_get(rows, i, "id");
        if (id == NULL || mysql_dialect_thread_is_protected(mysql_rows_get(rows, i, "user"),
                                                            mysql_rows_get(rows, i, "command"),
                                                            mysql_conn_user(conn))) {
            continue;
        }
        (*listed)++;
        if (killed == NULL) {
            continue;
        }
        char sql[64];
        mysql_dialect_kill(strtoull(id, NULL, 10), sql, sizeof(sql));
        rc = mysql_conn_query(conn, sql, deadline, NULL, errmsg, errlen);
        if (rc == -EIO && mysql_conn_server_errno(conn) == ER_NO_SUCH_THREAD) {
            continue; /* it ended by itself meanwhile */
        }
        if (rc != 0) {
            mysql_rows_free(rows);
            return rc;
        }
        (*killed)++;
    }
    mysql_rows_free(rows);
    return 0;
}

int mysql_fence(struct mysql_conn *conn, unsigned timeout_ms, struct mysql_fence_result *out,
                char *errmsg, size_t errlen)
{
    struct mysql_fence_result local = {0};
    out = out != NULL ? out : &local;
    memset(out, 0, sizeof(*out));
    uint64_t deadline = clock_boottime_ms() + timeout_ms;
    int rc = mysql_conn_connect(conn, deadline, errmsg, errlen);
    if (rc != 0) {
        return rc;
    }
    const struct mysql_dialect *d = mysql_conn_dialect(conn);
    char detail[384];
    /* Clients first: a commit waiting for a semi-sync acknowledgement (a writer cut off from
     * its replicas) holds SET GLOBAL read_only up, and when the wait times out
     * (rpl_semi_sync_master_timeout) the server acknowledges it to its client: a write made
     * after the lease, that the new writer never received. Killed, that client gets an error
     * instead, and read_only goes on at once. The VIP is gone by now, so nobody reconnects
     * through it; a client that came in directly meanwhile is killed by the pass below. */
    unsigned first_killed = 0, first_listed = 0;
    rc = kill_clients(conn, deadline, &first_killed, &first_listed, detail, sizeof(detail));
    if (rc != 0) {
        snprintf(errmsg, errlen, "fence: killing client connections: %s", detail);
        return rc;
    }
    rc = mysql_conn_query(conn, mysql_dialect_fence_statement(d), deadline, NULL, detail,
                          sizeof(detail));
    if (rc == -EIO) {
        /* A client holding a table lock can make SET GLOBAL read_only fail with a lock wait
         * timeout: kill the clients, then try again. */
        unsigned listed;
        rc = kill_clients(conn, deadline, &out->killed, &listed, detail, sizeof(detail));
        if (rc == 0) {
            rc = mysql_conn_query(conn, mysql_dialect_fence_statement(d), deadline, NULL, detail,
                                  sizeof(detail));
        }
    }
    if (rc != 0) {
        snprintf(errmsg, errlen, "fence: setting read_only: %s", detail);
        return rc;
    }
    unsigned listed = 0;
    rc = kill_clients(conn, deadline, &out->killed, &listed, detail, sizeof(detail));
    if (rc != 0) {
        snprintf(errmsg, errlen, "fence: killing client connections: %s", detail);
        return rc;
    }
    out->killed += first_killed;
    rc = kill_clients(conn, deadline, NULL, &out->still_listed, detail, sizeof(detail));
    if (rc == 0) {
        rc = read_back(conn, deadline, &out->read_only, &out->super_read_only, detail,
                       sizeof(detail));
    }
    if (rc != 0) {
        snprintf(errmsg, errlen, "fence: reading back: %s", detail);
        return rc;
    }
    if (!out->read_only || (mysql_dialect_has_super_read_only(d) && !out->super_read_only)) {
        snprintf(errmsg, errlen, "fence: MySQL %s still reads read_only=%d super_read_only=%d",
                 mysql_conn_address(conn), out->read_only, out->super_read_only);
        return -EIO;
    }
    return 0;
}

int mysql_unfence(struct mysql_conn *conn, unsigned timeout_ms, char *errmsg, size_t errlen)
{
    uint64_t deadline = clock_boottime_ms() + timeout_ms;
    char detail[384];
    int rc = mysql_conn_connect(conn, deadline, detail, sizeof(detail));
    if (rc == 0) {
        rc = mysql_conn_query(conn, mysql_dialect_unfence_statement(mysql_conn_dialect(conn)),
                              deadline, NULL, detail, sizeof(detail));
    }
    bool read_only = true, super_read_only = true;
    if (rc == 0) {
        rc = read_back(conn, deadline, &read_only, &super_read_only, detail, sizeof(detail));
    }
    if (rc != 0) {
        snprintf(errmsg, errlen, "unfence: %s", detail);
        return rc;
    }
    if (read_only || super_read_only) {
        snprintf(errmsg, errlen, "unfence: MySQL %s still reads read_only=%d super_read_only=%d",
                 mysql_conn_address(conn), read_only, super_read_only);
        return -EIO;
    }
    return 0;
}
