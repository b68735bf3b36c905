/*
 * Fencing: make a server stop taking writes, now. Kill every client connection, set
 * read_only=ON (and super_read_only=ON on MySQL, so that privileged accounts stop too), then
 * kill every client connection again, so that a client holding an open transaction cannot
 * commit it later and no client keeps a session that was opened while the server was writable.
 * The first kill matters under semi-sync: a commit waiting for an acknowledgement that will not
 * come (the writer cut off) blocks SET GLOBAL read_only, and would be acknowledged to its client
 * when the wait times out; killed, its client gets an error instead. Replication threads (the
 * replica's own IO/SQL threads, and binlog dumps feeding other servers) and the coordinator's own
 * connections survive. Unfencing sets read_only=OFF (and super_read_only with it).
 *
 * Both are idempotent and both read the variables back: success means the server says so.
 * On MariaDB the READ_ONLY ADMIN privilege (root has it) bypasses read_only; killing the
 * connections is what stops such sessions, and new ones must come through the VIP.
 */
#ifndef MMC_MYSQL_FENCE_H
#define MMC_MYSQL_FENCE_H

#include <stdbool.h>
#include <stddef.h>

#include "mysql/conn.h"

struct mysql_fence_result {
    bool read_only;        /* read back after the change */
    bool super_read_only;  /* MySQL only */
    unsigned killed;       /* client connections killed */
    unsigned still_listed; /* killed clients still listed at the end (exiting threads) */
};

/* Fence through @conn within @timeout_ms. Returns 0 when read_only (and super_read_only) read
 * back ON and every client found was sent a KILL; -EIO when the read-back disagrees; the
 * errors of mysql_conn_query() (-ETIMEDOUT, -ECONNREFUSED, -EACCES when the GRANT lacks
 * READ_ONLY ADMIN / CONNECTION ADMIN / PROCESS ...). errmsg says which step failed. @out may
 * be NULL. */
int mysql_fence(struct mysql_conn *conn, unsigned timeout_ms, struct mysql_fence_result *out,
                char *errmsg, size_t errlen);

/* Unfence: read_only=OFF, read back. Returns 0, -EIO when it still reads ON, or the errors of
 * mysql_conn_query(). */
int mysql_unfence(struct mysql_conn *conn, unsigned timeout_ms, char *errmsg, size_t errlen);

/* Read read_only / super_read_only. Returns 0 or the errors of mysql_conn_query(). */
int mysql_read_only_get(struct mysql_conn *conn, unsigned timeout_ms, bool *read_only,
                        bool *super_read_only, char *errmsg, size_t errlen);

#endif /* MMC_MYSQL_FENCE_H */
