/*
 * Semi-synchronous replication as seen from a source: is it on, and how many replicas are
 * connected to acknowledge. A new writer asks this just before its first write (the epoch
 * row): on MariaDB a commit that starts while no semi-sync replica is connected waits out the
 * whole rpl_semi_sync_master_timeout (10 s by default) even when a replica connects a moment
 * later, and a new writer's replicas are being repointed to it at that very moment. Waiting,
 * bounded, for the first one to connect turns a 10 s stall into a few milliseconds.
 *
 * Both spellings are read: MariaDB and MySQL before 8.0.26 (rpl_semi_sync_master_enabled,
 * Rpl_semi_sync_master_clients) and MySQL 8.0.26 on (rpl_semi_sync_source_enabled,
 * Rpl_semi_sync_source_clients). A server without the variables (plugin not loaded) has
 * semi-sync off.
 */
#ifndef MMC_MYSQL_SEMISYNC_H
#define MMC_MYSQL_SEMISYNC_H

#include <stdbool.h>
#include <stddef.h>

#include "mysql/conn.h"
#include "mysql/rows.h"

#define MYSQL_SEMISYNC_VARIABLES_QUERY "SHOW GLOBAL VARIABLES LIKE 'rpl_semi_sync_%enabled'"
#define MYSQL_SEMISYNC_STATUS_QUERY    "SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_%'"

struct mysql_semisync_state {
    bool enabled;         /* the source side is on (waits for acknowledgements) */
    const char *variable; /* its variable (a constant string), NULL when the server has none */
    bool clients_known;
    unsigned clients;       /* semi-sync replicas connected now */
    unsigned wait_sessions; /* sessions waiting for an acknowledgement now */
};

/* Fill @out from the rows of MYSQL_SEMISYNC_VARIABLES_QUERY (@variables) and, when not NULL,
 * of MYSQL_SEMISYNC_STATUS_QUERY (@status): Variable_name / Value columns. Rows of the replica
 * side are ignored. Returns 0, or -EINVAL when a value does not parse (the message names the
 * variable and the value). Pure. */
int mysql_semisync_parse(const struct mysql_rows *variables, const struct mysql_rows *status,
                         struct mysql_semisync_state *out, char *errmsg, size_t errlen);

/* On a server that takes no client writes (a fenced master about to open): when sessions wait
 * for an acknowledgement, switch the source side off and on again, which returns every waiting
 * commit at once. The sessions that wait there are its replication applier's, committing
 * transactions relayed from the old writer: they were acknowledged where they were written,
 * and with the old writer dead nobody acknowledges them here, so MariaDB would hold the
 * applier (and with it the new writer's catch-up) for the whole rpl_semi_sync_master_timeout.
 * *@released: the sessions found waiting (0: nothing done). Returns 0, -EINVAL or the errors
 * of mysql_conn_query(). */
int mysql_semisync_release_waiters(struct mysql_conn *conn, unsigned timeout_ms, unsigned *released,
                                   char *errmsg, size_t errlen);

/* Read the state of @conn's server, then, when the source side is on and no replica is
 * connected, poll every 10 ms until one is or @timeout_ms ran out. Returns 0 (semi-sync off,
 * or at least one replica connected), -ETIMEDOUT (on, and still none: @out says so), -EINVAL
 * (unparsable answer) or the errors of mysql_conn_query(). */
int mysql_semisync_wait_clients(struct mysql_conn *conn, unsigned timeout_ms,
                                struct mysql_semisync_state *out, char *errmsg, size_t errlen);

#endif /* MMC_MYSQL_SEMISYNC_H */
