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

/* The source side switched off by mysql_semisync_pause(), for mysql_semisync_resume(). */
struct mysql_semisync_pause {
    bool paused;          /* it was on and is now off: resume it */
    const char *variable; /* the switch (a constant string) */
    unsigned released;    /* sessions that were waiting for an acknowledgement */
};

/* On a server that takes no client writes (a fenced master about to open and catch up): when the
 * source side is on, switch it off, which returns every waiting commit at once, and keeps the
 * relayed commits applied during the catch-up from waiting. They are the replication
 * applier's, committing transactions relayed from the old writer: acknowledged where they were
 * written, and with the old writer dead nobody acknowledges them here, so MariaDB would hold
 * the applier (and the catch-up behind it) for the whole rpl_semi_sync_master_timeout, again
 * for the next relayed transaction after each release. @out says what was done; the caller
 * must call mysql_semisync_resume() when out->paused, on every path. Returns 0, -EINVAL or the
 * errors of mysql_conn_query(). */
int mysql_semisync_pause(struct mysql_conn *conn, unsigned timeout_ms,
                         struct mysql_semisync_pause *out, char *errmsg, size_t errlen);

/* Switch the source side paused by mysql_semisync_pause() back on (nothing when it was not
 * paused). Returns 0 or the errors of mysql_conn_query(). */
int mysql_semisync_resume(struct mysql_conn *conn, const struct mysql_semisync_pause *pause,
                          unsigned timeout_ms, char *errmsg, size_t errlen);

/* Read the state of @conn's server, then, when the source side is on and no replica is
 * connected, poll every 10 ms until one is or @timeout_ms ran out. Returns 0 (semi-sync off,
 * or at least one replica connected), -ETIMEDOUT (on, and still none: @out says so), -EINVAL
 * (unparsable answer) or the errors of mysql_conn_query(). */
int mysql_semisync_wait_clients(struct mysql_conn *conn, unsigned timeout_ms,
                                struct mysql_semisync_state *out, char *errmsg, size_t errlen);

#endif /* MMC_MYSQL_SEMISYNC_H */
