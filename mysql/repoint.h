/*
 * Repointing replication and waiting for GTID positions.
 *
 * mysql_repoint() makes a server replicate from a given source with GTID auto-positioning
 * (MariaDB MASTER_USE_GTID=slave_pos, MySQL SOURCE_AUTO_POSITION=1), so that the source sends
 * exactly what the server lacks: nothing is skipped and nothing is applied twice, whichever
 * server it replicated from before. It is a no-op when the server already replicates from
 * there with GTID and both threads run.
 *
 * MariaDB note: slave_pos positions a server by what it applied through replication. A server
 * that wrote transactions itself (a former writer) has those only in gtid_binlog_pos; it is
 * repointed the same way because every master has its own gtid_domain_id (docs/mysql.md), so
 * the source never needs to send it its own domain.
 *
 * mysql_wait_gtid() waits until the server has executed a GTID set, with a timeout.
 */
#ifndef MMC_MYSQL_REPOINT_H
#define MMC_MYSQL_REPOINT_H

#include <stdbool.h>
#include <stddef.h>

#include "mysql/conn.h"
#include "mysql/dialect.h"

/* Point @conn's server at @source within @timeout_ms: STOP, CHANGE ... TO, START, then read the
 * replica status back. When the source changes, the IO thread is stopped first and the SQL
 * thread given up to 3 s more to apply what was received (CHANGE ... TO deletes the relay
 * logs, and what they hold may be acknowledged writes found nowhere else). *@changed (may be NULL)
 * says whether anything had to change. Returns 0 when the status reads back the new source with
 * GTID positioning and the SQL thread running (the IO thread may still be connecting); -EIO when it
 * does not (errmsg quotes the replica's last errors); the errors of mysql_conn_query(). The
 * password never appears in errmsg. */
int mysql_repoint(struct mysql_conn *conn, const struct mysql_source *source, unsigned timeout_ms,
                  bool *changed, char *errmsg, size_t errlen);

/* Stop replication (STOP SLAVE / STOP REPLICA) within @timeout_ms. Idempotent. */
int mysql_replication_stop(struct mysql_conn *conn, unsigned timeout_ms, char *errmsg,
                           size_t errlen);

/* Stop applying replicated transactions (STOP SLAVE / STOP REPLICA SQL_THREAD) within
 * @timeout_ms: what a new writer does before it opens, so that nothing its old source still
 * sends (an old writer back from a crash with transactions nobody else has) is applied on top
 * of the writes it takes. The IO thread is left alone: stopping it may wait on a dead source.
 * Idempotent; does nothing on a server that is no replica. */
int mysql_replication_stop_applier(struct mysql_conn *conn, unsigned timeout_ms, char *errmsg,
                                   size_t errlen);

/* Start applying what was received (START SLAVE / START REPLICA SQL_THREAD) within
 * @timeout_ms: a new writer whose applier was left stopped (a repoint cut short) applies its own
 * relay log before it opens. Idempotent. */
int mysql_replication_start_applier(struct mysql_conn *conn, unsigned timeout_ms, char *errmsg,
                                    size_t errlen);

/* Stop receiving from the source (STOP SLAVE / STOP REPLICA IO_THREAD) within @timeout_ms; the
 * SQL thread goes on applying what was received. On a semi-synchronous MariaDB replica this
 * waits up to rpl_semi_sync_slave_kill_conn_timeout when the source does not answer (the IO
 * thread tries to kill its dump connection there first), which is why the daemon does it ahead
 * of a likely repoint rather than in it. Idempotent. */
int mysql_replication_stop_receiver(struct mysql_conn *conn, unsigned timeout_ms, char *errmsg,
                                    size_t errlen);

/* Wait until the server has executed every transaction of @gtid_text (its executed set, which
 * includes what it wrote itself, contains the given set), at most @timeout_ms. Uses
 * MASTER_GTID_WAIT / WAIT_FOR_EXECUTED_GTID_SET in slices and re-reads the executed set
 * between them. Returns 0 when reached, -ETIMEDOUT when not reached in time (the connection
 * stays usable), -EINVAL when @gtid_text does not parse (errmsg says why), or the errors of
 * mysql_conn_query(). */
int mysql_wait_gtid(struct mysql_conn *conn, const char *gtid_text, unsigned timeout_ms,
                    char *errmsg, size_t errlen);

/* Read the server's executed GTID set (MariaDB gtid_current_pos, MySQL gtid_executed) into a
 * malloc'd string the caller frees. Returns 0 or the errors of mysql_conn_query(). */
int mysql_executed_gtid(struct mysql_conn *conn, unsigned timeout_ms, char **out, char *errmsg,
                        size_t errlen);

#endif /* MMC_MYSQL_REPOINT_H */
