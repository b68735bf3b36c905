/* Dialects of MariaDB and MySQL: see dialect.h. */
#include "mysql/dialect.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int parse_triplet(const char *s, unsigned v[3], const char **end)
{
    for (int i = 0; i < 3; i++) {
        if (!isdigit((unsigned char)*s)) {
            return -EINVAL;
        }
        unsigned long n = strtoul(s, (char **)&s, 10);
        if (n > 100000) {
            return -EINVAL;
        }
        v[i] = (unsigned)n;
        if (i < 2) {
            if (*s != '.') {
                return -EINVAL;
            }
            s++;
        }
    }
    *end = s;
    return 0;
}

int mysql_dialect_from_version(const char *version, struct mysql_dialect *out, char *errmsg,
                               size_t errlen)
{
    unsigned v[3];
    const char *rest;
    memset(out, 0, sizeof(*out));
    if (version == NULL || parse_triplet(version, v, &rest) != 0) {
        snprintf(errmsg, errlen, "server version '%s' is not of the form X.Y.Z",
                 version ? version : "(none)");
        return -EINVAL;
    }
    bool mariadb = strcasestr(version, "mariadb") != NULL;
    /* Old MariaDB servers prefix "5.5.5-" so that ancient clients accept them. */
    if (mariadb && v[0] == 5 && v[1] == 5 && v[2] == 5 && *rest == '-' &&
        parse_triplet(rest + 1, v, &rest) != 0) {
        snprintf(errmsg, errlen, "server version '%s' is not of the form X.Y.Z", version);
        return -EINVAL;
    }
    out->flavor = mariadb ? MYSQL_FLAVOR_MARIADB : MYSQL_FLAVOR_MYSQL;
    out->major = v[0];
    out->minor = v[1];
    out->patch = v[2];
    if (mariadb && !mysql_dialect_at_least(out, 10, 4, 0)) {
        snprintf(errmsg, errlen,
                 "server version '%s': MariaDB before 10.4 is not supported; upgrade to 10.6 or "
                 "later",
                 version);
        return -ENOTSUP;
    }
    if (!mariadb && out->major < 8) {
        snprintf(errmsg, errlen,
                 "server version '%s': MySQL before 8.0 is not supported; upgrade to 8.0 or 8.4",
                 version);
        return -ENOTSUP;
    }
    return 0;
}

const char *mysql_flavor_name(enum mysql_flavor flavor)
{
    return flavor == MYSQL_FLAVOR_MARIADB ? "MariaDB" : "MySQL";
}

bool mysql_dialect_at_least(const struct mysql_dialect *d, unsigned major, unsigned minor,
                            unsigned patch)
{
    if (d->major != major) {
        return d->major > major;
    }
    if (d->minor != minor) {
        return d->minor > minor;
    }
    return d->patch >= patch;
}

bool mysql_dialect_has_super_read_only(const struct mysql_dialect *d)
{
    return d->flavor == MYSQL_FLAVOR_MYSQL;
}

/* MySQL renamed SLAVE to REPLICA in 8.0.22 and removed the old words in 8.4. */
static bool mysql_replica_words(const struct mysql_dialect *d)
{
    return d->flavor == MYSQL_FLAVOR_MYSQL && mysql_dialect_at_least(d, 8, 0, 22);
}

const char *mysql_dialect_show_replica_status(const struct mysql_dialect *d)
{
    return mysql_replica_words(d) ? "SHOW REPLICA STATUS" : "SHOW SLAVE STATUS";
}

const char *mysql_dialect_start_replica(const struct mysql_dialect *d)
{
    return mysql_replica_words(d) ? "START REPLICA" : "START SLAVE";
}

const char *mysql_dialect_stop_replica(const struct mysql_dialect *d)
{
    return mysql_replica_words(d) ? "STOP REPLICA" : "STOP SLAVE";
}

const char *mysql_dialect_gtid_query(const struct mysql_dialect *d)
{
    if (d->flavor == MYSQL_FLAVOR_MARIADB) {
        return "SELECT @@GLOBAL.gtid_current_pos AS executed, @@GLOBAL.gtid_slave_pos AS applied";
    }
    return "SELECT @@GLOBAL.gtid_executed AS executed, @@GLOBAL.gtid_executed AS applied";
}

const char *mysql_dialect_read_only_query(const struct mysql_dialect *d)
{
    if (d->flavor == MYSQL_FLAVOR_MARIADB) {
        return "SELECT @@GLOBAL.read_only AS read_only, 0 AS super_read_only";
    }
    return "SELECT @@GLOBAL.read_only AS read_only, @@GLOBAL.super_read_only AS super_read_only";
}

const char *mysql_dialect_fence_statement(const struct mysql_dialect *d)
{
    return d->flavor == MYSQL_FLAVOR_MARIADB ? "SET GLOBAL read_only=ON"
                                             : "SET GLOBAL super_read_only=ON";
}

const char *mysql_dialect_unfence_statement(const struct mysql_dialect *d)
{
    /* On MySQL, turning read_only off turns super_read_only off too. */
    (void)d;
    return "SET GLOBAL read_only=OFF";
}

const char *mysql_dialect_processlist_query(const struct mysql_dialect *d)
{
    (void)d;
    return "SELECT ID AS id, USER AS user, COMMAND AS command FROM information_schema.PROCESSLIST "
           "WHERE ID <> CONNECTION_ID()";
}

int mysql_dialect_quote(const struct mysql_dialect *d, const char *in, char *out, size_t outlen)
{
    size_t n = 0;
#define PUT(c)                                                                                     \
    do {                                                                                           \
        if (n + 1 >= outlen) {                                                                     \
            return -ENOSPC;                                                                        \
        }                                                                                          \
        out[n++] = (c);                                                                            \
    } while (0)
    PUT('\'');
    for (const char *p = in; *p != '\0'; p++) {
        char c = *p;
        if (d->no_backslash_escapes) {
            if (c == '\'') {
                PUT('\'');
            }
            PUT(c);
            continue;
        }
        switch (c) {
        case '\n':
            PUT('\\');
            PUT('n');
            break;
        case '\r':
            PUT('\\');
            PUT('r');
            break;
        case '\032':
            PUT('\\');
            PUT('Z');
            break;
        case '\\':
        case '\'':
        case '"':
            PUT('\\');
            PUT(c);
            break;
        default:
            PUT(c);
        }
    }
    PUT('\'');
#undef PUT
    out[n] = '\0';
    return 0;
}

int mysql_dialect_change_source(const struct mysql_dialect *d, const struct mysql_source *src,
                                char *out, size_t outlen, char *errmsg, size_t errlen)
{
    if (src->host == NULL || src->host[0] == '\0') {
        snprintf(errmsg, errlen, "replication source: empty host");
        return -EINVAL;
    }
    if (src->port == 0 || src->port > 65535) {
        snprintf(errmsg, errlen, "replication source %s: port %u is not in 1..65535", src->host,
                 src->port);
        return -EINVAL;
    }
    if (src->user == NULL || src->user[0] == '\0') {
        snprintf(errmsg, errlen, "replication source %s:%u: empty replication user", src->host,
                 src->port);
        return -EINVAL;
    }
    char host[600], user[600], password[1100];
    if (mysql_dialect_quote(d, src->host, host, sizeof(host)) != 0 ||
        mysql_dialect_quote(d, src->user, user, sizeof(user)) != 0 ||
        mysql_dialect_quote(d, src->password ? src->password : "", password, sizeof(password)) !=
            0) {
        snprintf(errmsg, errlen, "replication source %s:%u: host, user or password too long",
                 src->host, src->port);
        return -EINVAL;
    }
    int n;
    if (d->flavor == MYSQL_FLAVOR_MARIADB) {
        n = snprintf(out, outlen,
                     "CHANGE MASTER TO MASTER_HOST=%s, MASTER_PORT=%u, MASTER_USER=%s, "
                     "MASTER_PASSWORD=%s, MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1",
                     host, src->port, user, password);
    } else if (mysql_dialect_at_least(d, 8, 0, 23)) {
        n = snprintf(out, outlen,
                     "CHANGE REPLICATION SOURCE TO SOURCE_HOST=%s, SOURCE_PORT=%u, "
                     "SOURCE_USER=%s, SOURCE_PASSWORD=%s, SOURCE_AUTO_POSITION=1, "
                     "SOURCE_CONNECT_RETRY=1, GET_SOURCE_PUBLIC_KEY=1",
                     host, src->port, user, password);
    } else {
        n = snprintf(out, outlen,
                     "CHANGE MASTER TO MASTER_HOST=%s, MASTER_PORT=%u, MASTER_USER=%s, "
                     "MASTER_PASSWORD=%s, MASTER_AUTO_POSITION=1, MASTER_CONNECT_RETRY=1, "
                     "GET_MASTER_PUBLIC_KEY=1",
                     host, src->port, user, password);
    }
    /* The buffers held the password: do not leave copies on the stack. */
    explicit_bzero(password, sizeof(password));
    if (n < 0 || (size_t)n >= outlen) {
        if (outlen > 0) {
            explicit_bzero(out, outlen);
        }
        snprintf(errmsg, errlen, "replication source %s:%u: statement too long", src->host,
                 src->port);
        return -ENOSPC;
    }
    return 0;
}

int mysql_dialect_wait_gtid(const struct mysql_dialect *d, const char *gtid_text,
                            unsigned timeout_ms, char *out, size_t outlen)
{
    size_t qlen = strlen(gtid_text) * 2 + 3;
    char *quoted = malloc(qlen);
    if (quoted == NULL) {
        return -ENOMEM;
    }
    int rc = mysql_dialect_quote(d, gtid_text, quoted, qlen);
    int n = -1;
    if (rc == 0 && d->flavor == MYSQL_FLAVOR_MARIADB) {
        n = snprintf(out, outlen, "SELECT MASTER_GTID_WAIT(%s, %u.%03u) AS reached", quoted,
                     timeout_ms / 1000, timeout_ms % 1000);
    } else if (rc == 0) {
        n = snprintf(out, outlen, "SELECT WAIT_FOR_EXECUTED_GTID_SET(%s, %u) AS reached", quoted,
                     (timeout_ms + 999) / 1000);
    }
    free(quoted);
    if (rc != 0 || n < 0 || (size_t)n >= outlen) {
        return -ENOSPC;
    }
    return 0;
}

int mysql_dialect_wait_result(const struct mysql_dialect *d, const char *value)
{
    if (value == NULL) {
        return -EIO;
    }
    if (strcmp(value, "0") == 0) {
        return 0;
    }
    /* MariaDB returns -1 on timeout; MySQL returns 1 (and 2 when killed). */
    if (d->flavor == MYSQL_FLAVOR_MARIADB && strcmp(value, "-1") == 0) {
        return -ETIMEDOUT;
    }
    if (d->flavor == MYSQL_FLAVOR_MYSQL && strcmp(value, "1") == 0) {
        return -ETIMEDOUT;
    }
    return -EIO;
}

int mysql_dialect_kill(unsigned long long id, char *out, size_t outlen)
{
    int n = snprintf(out, outlen, "KILL CONNECTION %llu", id);
    return n < 0 || (size_t)n >= outlen ? -ENOSPC : 0;
}

bool mysql_dialect_thread_is_protected(const char *user, const char *command, const char *our_user)
{
    static const char *const commands[] = {"Binlog Dump", "Binlog Dump GTID", "Slave_IO",
                                           "Slave_SQL",   "Slave_worker",     "Daemon"};
    user = user ? user : "";
    command = command ? command : "";
    if (strcmp(user, "system user") == 0 || strcmp(user, "event_scheduler") == 0) {
        return true;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcasecmp(command, commands[i]) == 0) {
            return true;
        }
    }
    return our_user != NULL && our_user[0] != '\0' && strcmp(user, our_user) == 0;
}

int mysql_dialect_parse_bool(const char *value, bool *out)
{
    if (value == NULL) {
        return -EINVAL;
    }
    if (strcmp(value, "1") == 0 || strcasecmp(value, "ON") == 0 || strcasecmp(value, "YES") == 0) {
        *out = true;
        return 0;
    }
    if (strcmp(value, "0") == 0 || strcasecmp(value, "OFF") == 0 || strcasecmp(value, "NO") == 0) {
        *out = false;
        return 0;
    }
    return -EINVAL;
}

/* The value of the first of @names that the table has, or NULL; *found says whether any of
 * the columns exists (a NULL value in an existing column is not a missing column). */
static const char *get_either(const struct mysql_rows *rows, const char *const *names, bool *found)
{
    for (; *names != NULL; names++) {
        if (mysql_rows_column(rows, *names) >= 0) {
            *found = true;
            return mysql_rows_get(rows, 0, *names);
        }
    }
    *found = false;
    return NULL;
}

static char *strdup_no_space(const char *s)
{
    s = s ? s : "";
    char *copy = malloc(strlen(s) + 1);
    if (copy == NULL) {
        return NULL;
    }
    char *w = copy;
    for (; *s; s++) {
        if (!isspace((unsigned char)*s)) {
            *w++ = *s;
        }
    }
    *w = '\0';
    return copy;
}

static int parse_unsigned(const char *value, unsigned long long max, unsigned long long *out)
{
    if (value == NULL || !isdigit((unsigned char)value[0])) {
        return -EINVAL;
    }
    char *end;
    errno = 0;
    unsigned long long n = strtoull(value, &end, 10);
    if (errno != 0 || *end != '\0' || n > max) {
        return -EINVAL;
    }
    *out = n;
    return 0;
}

int mysql_dialect_parse_replica_status(const struct mysql_rows *rows,
                                       struct mysql_replica_status *out, char *errmsg,
                                       size_t errlen)
{
    static const char *const host_cols[] = {"Source_Host", "Master_Host", NULL};
    static const char *const port_cols[] = {"Source_Port", "Master_Port", NULL};
    static const char *const io_cols[] = {"Replica_IO_Running", "Slave_IO_Running", NULL};
    static const char *const sql_cols[] = {"Replica_SQL_Running", "Slave_SQL_Running", NULL};
    static const char *const lag_cols[] = {"Seconds_Behind_Source", "Seconds_Behind_Master", NULL};
    static const char *const io_errno_cols[] = {"Last_IO_Errno", NULL};
    static const char *const io_error_cols[] = {"Last_IO_Error", NULL};
    static const char *const sql_errno_cols[] = {"Last_SQL_Errno", NULL};
    static const char *const sql_error_cols[] = {"Last_SQL_Error", NULL};
    static const char *const received_cols[] = {"Gtid_IO_Pos", "Retrieved_Gtid_Set", NULL};
    static const char *const applied_cols[] = {"Gtid_Slave_Pos", "Executed_Gtid_Set", NULL};
    bool found;
    unsigned long long n;
    const char *v;

    memset(out, 0, sizeof(*out));
    out->lag_seconds = -1;
    if (rows->n_rows == 0) {
        out->received_gtid = strdup("");
        out->applied_gtid = strdup("");
        if (out->received_gtid == NULL || out->applied_gtid == NULL) {
            mysql_replica_status_clear(out);
            return -ENOMEM;
        }
        return 0;
    }
    out->configured = true;

    v = get_either(rows, host_cols, &found);
    if (!found) {
        snprintf(errmsg, errlen, "replica status: no Source_Host/Master_Host column");
        return -EPROTO;
    }
    snprintf(out->source_host, sizeof(out->source_host), "%s", v ? v : "");

    v = get_either(rows, port_cols, &found);
    if (!found || parse_unsigned(v, 65535, &n) != 0) {
        snprintf(errmsg, errlen, "replica status: source port '%s' is not a port number",
                 v ? v : "(missing)");
        return -EPROTO;
    }
    out->source_port = (unsigned)n;

    v = get_either(rows, io_cols, &found);
    if (!found || v == NULL) {
        snprintf(errmsg, errlen, "replica status: no IO thread state");
        return -EPROTO;
    }
    if (strcasecmp(v, "Yes") == 0) {
        out->io_state = MYSQL_IO_RUNNING;
    } else if (strcasecmp(v, "Connecting") == 0 || strcasecmp(v, "Preparing") == 0) {
        /* MariaDB says Preparing while the IO thread sets itself up after START SLAVE. */
        out->io_state = MYSQL_IO_CONNECTING;
    } else if (strcasecmp(v, "No") == 0) {
        out->io_state = MYSQL_IO_STOPPED;
    } else {
        snprintf(errmsg, errlen, "replica status: unknown IO thread state '%s'", v);
        return -EPROTO;
    }

    v = get_either(rows, sql_cols, &found);
    if (!found || v == NULL || (strcasecmp(v, "Yes") != 0 && strcasecmp(v, "No") != 0)) {
        snprintf(errmsg, errlen, "replica status: SQL thread state '%s' is not Yes or No",
                 v ? v : "(missing)");
        return -EPROTO;
    }
    out->sql_running = strcasecmp(v, "Yes") == 0;

    v = get_either(rows, lag_cols, &found);
    if (!found) {
        snprintf(errmsg, errlen, "replica status: no Seconds_Behind column");
        return -EPROTO;
    }
    if (v != NULL) {
        if (parse_unsigned(v, 1ULL << 40, &n) != 0) {
            snprintf(errmsg, errlen, "replica status: lag '%s' is not a number of seconds", v);
            return -EPROTO;
        }
        out->lag_seconds = (long long)n;
    }

    v = get_either(rows, io_errno_cols, &found);
    if (found && v != NULL && parse_unsigned(v, 1000000, &n) == 0) {
        out->last_io_errno = (unsigned)n;
    }
    v = get_either(rows, io_error_cols, &found);
    snprintf(out->last_io_error, sizeof(out->last_io_error), "%s", v ? v : "");
    v = get_either(rows, sql_errno_cols, &found);
    if (found && v != NULL && parse_unsigned(v, 1000000, &n) == 0) {
        out->last_sql_errno = (unsigned)n;
    }
    v = get_either(rows, sql_error_cols, &found);
    snprintf(out->last_sql_error, sizeof(out->last_sql_error), "%s", v ? v : "");

    v = mysql_rows_get(rows, 0, "Using_Gtid");
    if (v != NULL) {
        out->auto_position = strcasecmp(v, "No") != 0;
    } else {
        v = mysql_rows_get(rows, 0, "Auto_Position");
        out->auto_position = v != NULL && strcmp(v, "1") == 0;
    }

    out->received_gtid = strdup_no_space(get_either(rows, received_cols, &found));
    out->applied_gtid = strdup_no_space(get_either(rows, applied_cols, &found));
    if (out->received_gtid == NULL || out->applied_gtid == NULL) {
        mysql_replica_status_clear(out);
        return -ENOMEM;
    }
    return 0;
}

void mysql_replica_status_clear(struct mysql_replica_status *status)
{
    free(status->received_gtid);
    free(status->applied_gtid);
    memset(status, 0, sizeof(*status));
    status->lag_seconds = -1;
}
