/*
 * One connection to one MySQL or MariaDB server, with hard millisecond deadlines.
 *
 * Why this design: the daemon runs on one libuv loop that must never wait on a database. The
 * blocking client API only has whole-second timeouts (MYSQL_OPT_*_TIMEOUT), and a paused
 * (SIGSTOPped) server accepts TCP connections and then says nothing, so a blocking call could
 * hold the loop for seconds. Every call here therefore drives the connector's non-blocking API
 * (mysql_real_connect_start/_cont, mysql_real_query_start/_cont, mysql_store_result_start/_cont)
 * with poll() until an absolute deadline on CLOCK_BOOTTIME (coord/clock.h), and gives up at
 * that deadline to the millisecond. The calls are synchronous for their caller: the daemon
 * runs them on a worker thread per server (mysql/worker.h) and gets results back on the loop
 * through uv_async; mmctl and tests call them directly. Straight-line code on a worker is far
 * easier to get right for multi-step operations (fence, repoint) than a callback chain per
 * statement, and the deadline is still enforced inside the worker, so a hung server costs at
 * most the caller's budget and never the loop.
 *
 * A connection that failed or hit a deadline is closed (its socket shut down first, so that
 * closing never waits for the server) and reopened by the next call: reconnection is implicit.
 * Host names are resolved by the connector with a blocking getaddrinfo(): configure addresses
 * as IP literals.
 *
 * Not thread-safe: one thread uses a connection at a time. Credentials are copied into the
 * connection, wiped when it is freed, and never appear in error messages.
 */
#ifndef MMC_MYSQL_CONN_H
#define MMC_MYSQL_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mysql/dialect.h"
#include "mysql/rows.h"

#define MYSQL_CONN_USER_SIZE     128
#define MYSQL_CONN_PASSWORD_SIZE 256

struct mysql_credentials {
    char user[MYSQL_CONN_USER_SIZE];
    char password[MYSQL_CONN_PASSWORD_SIZE];
};

struct mysql_conn; /* opaque */

/* Initialise the client library once per process (mysql_library_init). Idempotent and
 * thread-safe; mysql_conn_new() calls it. Returns 0 or -EIO. */
int mysql_conn_library_init(void);

/* A new, not yet connected connection to @host:@port logging in with @credentials (copied).
 * Returns NULL when out of memory or the library cannot be initialised. */
struct mysql_conn *mysql_conn_new(const char *host, unsigned port,
                                  const struct mysql_credentials *credentials);

/* Close (without waiting for the server) and free; wipes the stored password. NULL is fine. */
void mysql_conn_free(struct mysql_conn *conn);

/* Connect unless connected, by @deadline_ms (clock_boottime_ms()). Returns 0 or:
 *   -ECONNREFUSED  nothing listens there (mysqld is gone: act at once),
 *   -ETIMEDOUT     no complete answer by the deadline (slow, paused or unreachable host),
 *   -EACCES        the server refused the login,
 *   -ENOTSUP       a server version we do not drive,
 *   -EIO           anything else (message from the connector).
 * errmsg names host:port and what happened. */
int mysql_conn_connect(struct mysql_conn *conn, uint64_t deadline_ms, char *errmsg, size_t errlen);

/* From now on, every connect also fails (-ETIMEDOUT, errmsg saying so) when the TCP handshake
 * alone has not completed within @reach_ms, however far its deadline: a host that is down or
 * cut off answers no SYN, while a live host's kernel answers at once even when its mysqld is
 * stopped or slow (that one still gets the whole deadline for its greeting). 0: no such bound.
 * Only for peers on a LAN, where a handshake takes well under a millisecond. */
void mysql_conn_set_reach_ms(struct mysql_conn *conn, unsigned reach_ms);

/* Whether the connection is open (as far as we know without asking the server). */
bool mysql_conn_is_connected(const struct mysql_conn *conn);

/* The connection's socket while it is open and idle (no operation pending), else -1. A worker
 * waits on it between jobs: an idle connection receives nothing unless the server goes away
 * (mysqld killed or shut down closes it; a shutdown or KILL sends an error packet first). */
int mysql_conn_socket(const struct mysql_conn *conn);

/* Close the connection now (the next call reconnects). */
void mysql_conn_disconnect(struct mysql_conn *conn);

/* Run @sql, connecting first if needed, by @deadline_ms. When @out is not NULL and the
 * statement returns rows, *out receives them (caller frees with mysql_rows_free()); it is
 * set to NULL for statements without a result. Returns 0, the errors of mysql_conn_connect(),
 * or:
 *   -ECONNRESET  the connection broke during the statement (it is closed; the statement may
 *                or may not have run),
 *   -EACCES      the server refused the statement for lack of a privilege,
 *   -EIO         the server refused the statement for another reason (connection kept).
 * The server's error number is available from mysql_conn_server_errno(). The statement text
 * is never copied into errmsg (it may hold a password): callers add their own context. */
int mysql_conn_query(struct mysql_conn *conn, const char *sql, uint64_t deadline_ms,
                     struct mysql_rows **out, char *errmsg, size_t errlen);

/* The server or client error number of the last failure, 0 when the last call succeeded. */
unsigned mysql_conn_server_errno(const struct mysql_conn *conn);

/* The dialect of the connected server (valid after a successful connect; the session's
 * NO_BACKSLASH_ESCAPES flag is kept up to date). */
const struct mysql_dialect *mysql_conn_dialect(const struct mysql_conn *conn);

/* The server's version string ("" before the first connect). */
const char *mysql_conn_version(const struct mysql_conn *conn);

/* The server's id for this connection (CONNECTION_ID()), 0 when not connected. */
unsigned long mysql_conn_thread_id(const struct mysql_conn *conn);

/* The login user name (not secret) and "host:port", for messages. */
const char *mysql_conn_user(const struct mysql_conn *conn);
const char *mysql_conn_address(const struct mysql_conn *conn);

/* Count of successful connects so far (tests see reconnections with it). */
unsigned mysql_conn_connect_count(const struct mysql_conn *conn);

#endif /* MMC_MYSQL_CONN_H */
