/*
 * Connections with millisecond deadlines over the connector's non-blocking API: see conn.h.
 * Each operation is a _start call followed by _cont calls whenever poll() says the socket is
 * ready; when the deadline comes first the socket is shut down, which makes the pending
 * operation fail at once, and the connection is closed.
 */
#include "mysql/conn.h"

#include <errno.h>
#include <mysql.h>
#include <errmsg.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "coord/clock.h"

enum pending_op {
    PENDING_NONE,
    PENDING_CONNECT,
    PENDING_QUERY,
    PENDING_STORE,
};

struct mysql_conn {
    MYSQL *mysql; /* NULL when not connected */
    char host[256];
    unsigned port;
    char address[300];
    struct mysql_credentials credentials;
    char version[128];
    struct mysql_dialect dialect;
    unsigned long thread_id;
    unsigned last_errno;
    unsigned connects;
    enum pending_op pending;
    int pending_status; /* what the pending operation last asked to wait for */
    MYSQL_RES *pending_result;
    unsigned reach_ms;          /* mysql_conn_set_reach_ms(); 0: none */
    uint64_t reach_deadline_ms; /* while a connect waits for the TCP handshake, else 0 */
};

static pthread_once_t library_once = PTHREAD_ONCE_INIT;
static int library_status;

static void library_init_once(void)
{
    library_status = mysql_library_init(0, NULL, NULL) == 0 ? 0 : -EIO;
}

int mysql_conn_library_init(void)
{
    pthread_once(&library_once, library_init_once);
    return library_status;
}

struct mysql_conn *mysql_conn_new(const char *host, unsigned port,
                                  const struct mysql_credentials *credentials)
{
    if (mysql_conn_library_init() != 0) {
        return NULL;
    }
    struct mysql_conn *conn = calloc(1, sizeof(*conn));
    if (conn == NULL) {
        return NULL;
    }
    snprintf(conn->host, sizeof(conn->host), "%s", host);
    conn->port = port;
    snprintf(conn->address, sizeof(conn->address), "%s:%u", host, port);
    conn->credentials = *credentials;
    return conn;
}

/* Wait until the socket is ready for what @status asks, or the connector's own timeout, or
 * our deadline. Returns the ready bits to hand to the _cont call, or -ETIMEDOUT. */
static int await_socket(MYSQL *mysql, int status, uint64_t deadline_ms)
{
    for (;;) {
        uint64_t now = clock_boottime_ms();
        if (now >= deadline_ms) {
            return -ETIMEDOUT;
        }
        uint64_t wait_ms = deadline_ms - now;
        bool connector_timeout = false;
        if (status & MYSQL_WAIT_TIMEOUT) {
            unsigned ms = mysql_get_timeout_value_ms(mysql);
            if (ms < wait_ms) {
                wait_ms = ms;
                connector_timeout = true;
            }
        }
        struct pollfd pfd = {.fd = mysql_get_socket(mysql), .events = 0};
        if (status & MYSQL_WAIT_READ) {
            pfd.events |= POLLIN;
        }
        if (status & MYSQL_WAIT_WRITE) {
            pfd.events |= POLLOUT;
        }
        if (status & MYSQL_WAIT_EXCEPT) {
            pfd.events |= POLLPRI;
        }
        int n = poll(&pfd, 1, (int)wait_ms);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        if (n == 0) {
            if (connector_timeout) {
                return MYSQL_WAIT_TIMEOUT;
            }
            continue; /* the loop head sees the deadline */
        }
        int ready = 0;
        if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
            ready |= MYSQL_WAIT_READ;
        }
        if (pfd.revents & (POLLOUT | POLLHUP | POLLERR)) {
            ready |= MYSQL_WAIT_WRITE;
        }
        if (pfd.revents & POLLPRI) {
            ready |= MYSQL_WAIT_EXCEPT;
        }
        return ready & status ? ready & status : status & ~MYSQL_WAIT_TIMEOUT;
    }
}

/* Resume the pending operation once with @ready; returns the connector's next wait status. */
static int resume(struct mysql_conn *conn, int ready, MYSQL **connect_ret, int *query_ret)
{
    switch (conn->pending) {
    case PENDING_CONNECT:
        return mysql_real_connect_cont(connect_ret, conn->mysql, ready);
    case PENDING_QUERY:
        return mysql_real_query_cont(query_ret, conn->mysql, ready);
    case PENDING_STORE:
        return mysql_store_result_cont(&conn->pending_result, conn->mysql, ready);
    case PENDING_NONE:
        break;
    }
    return 0;
}

/* Close without waiting for the server: shut the socket down so that a pending operation and
 * the goodbye packet fail at once instead of waiting, finish the operation, then close. */
static void close_now(struct mysql_conn *conn)
{
    if (conn->mysql == NULL) {
        return;
    }
    my_socket fd = mysql_get_socket(conn->mysql);
    if (fd != MARIADB_INVALID_SOCKET) {
        shutdown(fd, SHUT_RDWR);
    }
    MYSQL *connect_ret = NULL;
    int query_ret = 0;
    /* Report everything it waits for as ready: on a shut-down socket every read and write
     * fails at once, so the operation ends with an error after a few steps. */
    int status = conn->pending_status;
    for (int i = 0; conn->pending != PENDING_NONE && status != 0 && i < 1000; i++) {
        status = resume(conn, status, &connect_ret, &query_ret);
    }
    if (conn->pending_result != NULL) {
        mysql_free_result(conn->pending_result);
        conn->pending_result = NULL;
    }
    conn->pending = PENDING_NONE;
    mysql_close(conn->mysql);
    conn->mysql = NULL;
    conn->thread_id = 0;
}

void mysql_conn_disconnect(struct mysql_conn *conn)
{
    close_now(conn);
}

void mysql_conn_free(struct mysql_conn *conn)
{
    if (conn == NULL) {
        return;
    }
    close_now(conn);
    explicit_bzero(&conn->credentials, sizeof(conn->credentials));
    free(conn);
}

int mysql_conn_socket(const struct mysql_conn *conn)
{
    if (conn->mysql == NULL || conn->pending != PENDING_NONE) {
        return -1;
    }
    my_socket fd = mysql_get_socket(conn->mysql);
    return fd == MARIADB_INVALID_SOCKET ? -1 : (int)fd;
}

bool mysql_conn_is_connected(const struct mysql_conn *conn)
{
    return conn->mysql != NULL;
}

/* Drive the pending operation to completion or to the deadline. Returns 0 when it completed
 * (its own result says whether it succeeded) or -ETIMEDOUT / -errno. */
static int drive(struct mysql_conn *conn, int status, uint64_t deadline_ms, MYSQL **connect_ret,
                 int *query_ret)
{
    while (status != 0) {
        conn->pending_status = status;
        uint64_t until = deadline_ms;
        if (conn->reach_deadline_ms != 0) {
            if (status & MYSQL_WAIT_READ) {
                conn->reach_deadline_ms = 0; /* connected: the server's greeting is awaited */
            } else if (conn->reach_deadline_ms < until) {
                until = conn->reach_deadline_ms;
            }
        }
        int ready = await_socket(conn->mysql, status, until);
        if (ready < 0) {
            return ready == -ETIMEDOUT && until < deadline_ms ? -EHOSTUNREACH : ready;
        }
        status = resume(conn, ready, connect_ret, query_ret);
    }
    conn->pending = PENDING_NONE;
    conn->pending_status = 0;
    return 0;
}

static bool refused_message(const char *message)
{
    /* The connector reports the socket errno in parentheses: ECONNREFUSED is 111 on Linux. */
    char code[16];
    snprintf(code, sizeof(code), "(%d)", ECONNREFUSED);
    return strstr(message, code) != NULL || strstr(message, "refused") != NULL;
}

static void update_session_flags(struct mysql_conn *conn)
{
    conn->dialect.no_backslash_escapes =
        (conn->mysql->server_status & SERVER_STATUS_NO_BACKSLASH_ESCAPES) != 0;
}

void mysql_conn_set_reach_ms(struct mysql_conn *conn, unsigned reach_ms)
{
    conn->reach_ms = reach_ms;
}

int mysql_conn_connect(struct mysql_conn *conn, uint64_t deadline_ms, char *errmsg, size_t errlen)
{
    if (conn->mysql != NULL) {
        return 0;
    }
    uint64_t now = clock_boottime_ms();
    if (now >= deadline_ms) {
        snprintf(errmsg, errlen, "MySQL %s: no time left to connect", conn->address);
        conn->last_errno = CR_CONN_HOST_ERROR;
        return -ETIMEDOUT;
    }
    conn->mysql = mysql_init(NULL);
    if (conn->mysql == NULL) {
        snprintf(errmsg, errlen, "MySQL %s: out of memory", conn->address);
        return -ENOMEM;
    }
    /* The connector's own timeouts (whole seconds) are only a backstop behind our deadline. */
    unsigned seconds = (unsigned)((deadline_ms - now + 999) / 1000) + 1;
    unsigned protocol = MYSQL_PROTOCOL_TCP;
    my_bool no = 0;
    mysql_options(conn->mysql, MYSQL_OPT_NONBLOCK, 0);
    mysql_options(conn->mysql, MYSQL_OPT_CONNECT_TIMEOUT, &seconds);
    mysql_options(conn->mysql, MYSQL_OPT_READ_TIMEOUT, &seconds);
    mysql_options(conn->mysql, MYSQL_OPT_WRITE_TIMEOUT, &seconds);
    mysql_options(conn->mysql, MYSQL_OPT_PROTOCOL, &protocol);
    mysql_options(conn->mysql, MYSQL_OPT_RECONNECT, &no);
    mysql_options(conn->mysql, MYSQL_OPT_LOCAL_INFILE, &no);
    mysql_options(conn->mysql, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    /* No option files: what we connect with is exactly what the caller said. */

    MYSQL *ret = NULL;
    conn->pending = PENDING_CONNECT;
    conn->reach_deadline_ms = conn->reach_ms != 0 ? now + conn->reach_ms : 0;
    int status = mysql_real_connect_start(&ret, conn->mysql, conn->host, conn->credentials.user,
                                          conn->credentials.password, NULL, conn->port, NULL, 0);
    int rc = drive(conn, status, deadline_ms, &ret, NULL);
    conn->reach_deadline_ms = 0;
    if (rc == -EHOSTUNREACH) {
        close_now(conn);
        conn->last_errno = CR_CONN_HOST_ERROR;
        snprintf(errmsg, errlen,
                 "MySQL %s: no TCP answer within %u ms (host down or cut off from this one)",
                 conn->address, conn->reach_ms);
        return -ETIMEDOUT;
    }
    if (rc != 0) {
        close_now(conn);
        conn->last_errno = CR_CONN_HOST_ERROR;
        snprintf(errmsg, errlen, "MySQL %s: no answer to the connection within the deadline",
                 conn->address);
        return rc == -ETIMEDOUT ? -ETIMEDOUT : rc;
    }
    if (ret == NULL) {
        unsigned code = mysql_errno(conn->mysql);
        char message[512];
        snprintf(message, sizeof(message), "%s", mysql_error(conn->mysql));
        close_now(conn);
        conn->last_errno = code;
        if ((code == CR_CONN_HOST_ERROR || code == CR_CONNECTION_ERROR) &&
            refused_message(message)) {
            snprintf(errmsg, errlen, "MySQL %s: connection refused (is mysqld running?)",
                     conn->address);
            return -ECONNREFUSED;
        }
        if (code == 1045 || code == 1044 || code == 1698) {
            snprintf(errmsg, errlen,
                     "MySQL %s: login refused for user '%s' (error %u): check "
                     "the credentials file and the GRANT in docs/mysql.md",
                     conn->address, conn->credentials.user, code);
            return -EACCES;
        }
        snprintf(errmsg, errlen, "MySQL %s: cannot connect (error %u: %s)", conn->address, code,
                 message);
        return code == CR_SERVER_LOST || code == CR_SERVER_GONE_ERROR ? -ECONNRESET : -EIO;
    }
    snprintf(conn->version, sizeof(conn->version), "%s", mysql_get_server_info(conn->mysql));
    char derr[256];
    rc = mysql_dialect_from_version(conn->version, &conn->dialect, derr, sizeof(derr));
    if (rc != 0) {
        close_now(conn);
        snprintf(errmsg, errlen, "MySQL %s: %s", conn->address, derr);
        return rc;
    }
    update_session_flags(conn);
    conn->thread_id = mysql_thread_id(conn->mysql);
    conn->last_errno = 0;
    conn->connects++;
    return 0;
}

static bool access_error(unsigned code)
{
    /* access denied to database, user, table, column, routine, or a missing privilege */
    return code == 1044 || code == 1045 || code == 1142 || code == 1143 || code == 1227 ||
           code == 1370 || code == 1698;
}

static bool connection_gone(unsigned code)
{
    /* client-side errors (2000-2999), server shutting down, connection killed */
    return (code >= 2000 && code < 3000) || code == 1053 || code == 1927;
}

static int copy_rows(MYSQL_RES *res, struct mysql_rows **out)
{
    unsigned n = mysql_num_fields(res);
    MYSQL_FIELD *fields = mysql_fetch_fields(res);
    const char **names = calloc(n ? n : 1, sizeof(char *));
    if (names == NULL) {
        return -ENOMEM;
    }
    for (unsigned i = 0; i < n; i++) {
        names[i] = fields[i].name;
    }
    struct mysql_rows *rows = mysql_rows_new(n, names);
    free(names);
    if (rows == NULL) {
        return -ENOMEM;
    }
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res)) != NULL) {
        if (mysql_rows_add(rows, (const char *const *)row) != 0) {
            mysql_rows_free(rows);
            return -ENOMEM;
        }
    }
    *out = rows;
    return 0;
}

static int query_failed(struct mysql_conn *conn, char *errmsg, size_t errlen)
{
    unsigned code = mysql_errno(conn->mysql);
    conn->last_errno = code;
    snprintf(errmsg, errlen, "MySQL %s: error %u: %s", conn->address, code,
             mysql_error(conn->mysql));
    if (connection_gone(code)) {
        close_now(conn);
        return -ECONNRESET;
    }
    return access_error(code) ? -EACCES : -EIO;
}

int mysql_conn_query(struct mysql_conn *conn, const char *sql, uint64_t deadline_ms,
                     struct mysql_rows **out, char *errmsg, size_t errlen)
{
    if (out != NULL) {
        *out = NULL;
    }
    int rc = mysql_conn_connect(conn, deadline_ms, errmsg, errlen);
    if (rc != 0) {
        return rc;
    }
    int query_ret = 0;
    conn->pending = PENDING_QUERY;
    int status = mysql_real_query_start(&query_ret, conn->mysql, sql, strlen(sql));
    rc = drive(conn, status, deadline_ms, NULL, &query_ret);
    if (rc != 0) {
        close_now(conn);
        conn->last_errno = CR_SERVER_LOST;
        snprintf(errmsg, errlen, "MySQL %s: no answer to a statement within the deadline",
                 conn->address);
        return rc;
    }
    if (query_ret != 0) {
        return query_failed(conn, errmsg, errlen);
    }
    conn->pending = PENDING_STORE;
    conn->pending_result = NULL;
    status = mysql_store_result_start(&conn->pending_result, conn->mysql);
    rc = drive(conn, status, deadline_ms, NULL, NULL);
    if (rc != 0) {
        close_now(conn);
        conn->last_errno = CR_SERVER_LOST;
        snprintf(errmsg, errlen, "MySQL %s: no complete result within the deadline", conn->address);
        return rc;
    }
    MYSQL_RES *res = conn->pending_result;
    conn->pending_result = NULL;
    if (res == NULL) {
        if (mysql_field_count(conn->mysql) != 0) {
            return query_failed(conn, errmsg, errlen);
        }
        update_session_flags(conn);
        conn->last_errno = 0;
        return 0;
    }
    rc = 0;
    if (out != NULL) {
        rc = copy_rows(res, out);
        if (rc != 0) {
            snprintf(errmsg, errlen, "MySQL %s: out of memory reading a result", conn->address);
        }
    }
    mysql_free_result(res);
    update_session_flags(conn);
    conn->last_errno = 0;
    return rc;
}

unsigned mysql_conn_server_errno(const struct mysql_conn *conn)
{
    return conn->last_errno;
}

const struct mysql_dialect *mysql_conn_dialect(const struct mysql_conn *conn)
{
    return &conn->dialect;
}

const char *mysql_conn_version(const struct mysql_conn *conn)
{
    return conn->version;
}

unsigned long mysql_conn_thread_id(const struct mysql_conn *conn)
{
    return conn->thread_id;
}

const char *mysql_conn_user(const struct mysql_conn *conn)
{
    return conn->credentials.user;
}

const char *mysql_conn_address(const struct mysql_conn *conn)
{
    return conn->address;
}

unsigned mysql_conn_connect_count(const struct mysql_conn *conn)
{
    return conn->connects;
}
