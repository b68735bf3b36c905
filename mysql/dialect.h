/*
 * What differs between MariaDB 10.x/11.x, MySQL 8.0 and MySQL 8.4+: the spelling of the
 * replication statements, the variables that hold GTID positions and read-only state, and the
 * column names of the replica status. The dialect is chosen from the server's version string
 * once per connection; everything here is pure (no I/O, no clock) and is unit-tested for every
 * flavour, which is how the MySQL dialect is tested at all (Debian ships no MySQL server).
 *
 * Statements that embed values (host, user, password, GTID text) quote them with
 * mysql_dialect_quote(), which escapes the way the session expects (backslash escapes, or only
 * doubled quotes under sql_mode NO_BACKSLASH_ESCAPES). A statement built by
 * mysql_dialect_change_source() contains the replication password: callers must never log it
 * or copy it into an error message.
 */
#ifndef MMC_MYSQL_DIALECT_H
#define MMC_MYSQL_DIALECT_H

#include <stdbool.h>
#include <stddef.h>

#include "mysql/rows.h"

enum mysql_flavor {
    MYSQL_FLAVOR_MARIADB,
    MYSQL_FLAVOR_MYSQL,
};

struct mysql_dialect {
    enum mysql_flavor flavor;
    unsigned major, minor, patch;
    /* The session has sql_mode NO_BACKSLASH_ESCAPES: a backslash is an ordinary character in
     * string literals. The connection sets this from the server's status flags. */
    bool no_backslash_escapes;
};

/* Choose the dialect from @version (what `SELECT VERSION()` or the handshake reports, e.g.
 * "10.11.19-MariaDB-0+deb12u1", "5.5.5-10.6.16-MariaDB", "8.0.36", "8.4.2-log", "9.1.0").
 * Returns 0, -EINVAL when the string is not a version, or -ENOTSUP for servers we do not drive
 * (MySQL before 8.0, MariaDB before 10.4: they lack the statements or GTID mode we rely on).
 * no_backslash_escapes is set to false. */
int mysql_dialect_from_version(const char *version, struct mysql_dialect *out, char *errmsg,
                               size_t errlen);

/* "MariaDB" or "MySQL". */
const char *mysql_flavor_name(enum mysql_flavor flavor);

/* True when the server has super_read_only (MySQL); on MariaDB the READ ONLY ADMIN / SUPER
 * privilege bypasses read_only and there is no switch to stop that. */
bool mysql_dialect_has_super_read_only(const struct mysql_dialect *d);

/* Whether the version is at least major.minor.patch. */
bool mysql_dialect_at_least(const struct mysql_dialect *d, unsigned major, unsigned minor,
                            unsigned patch);

/* Fixed statements. The strings are static. */
const char *mysql_dialect_show_replica_status(const struct mysql_dialect *d);
const char *mysql_dialect_start_replica(const struct mysql_dialect *d);
const char *mysql_dialect_stop_replica(const struct mysql_dialect *d);
/* One row: the executed GTID set (MariaDB gtid_current_pos, MySQL gtid_executed) and the set
 * applied by replication (MariaDB gtid_slave_pos, MySQL gtid_executed again). Columns
 * `executed`, `applied`. */
const char *mysql_dialect_gtid_query(const struct mysql_dialect *d);
/* One row with columns `read_only` and `super_read_only` (always 0 on MariaDB). */
const char *mysql_dialect_read_only_query(const struct mysql_dialect *d);
/* Turn read-only on (MySQL: super_read_only, which implies read_only) / off. */
const char *mysql_dialect_fence_statement(const struct mysql_dialect *d);
const char *mysql_dialect_unfence_statement(const struct mysql_dialect *d);
/* Rows with columns `id`, `user`, `command` for every other connection. */
const char *mysql_dialect_processlist_query(const struct mysql_dialect *d);

/* Write @in as a quoted SQL string literal (with its quotes) into @out (capacity @outlen).
 * Returns 0, or -ENOSPC when it does not fit. */
int mysql_dialect_quote(const struct mysql_dialect *d, const char *in, char *out, size_t outlen);

/* Where a replica should replicate from. */
struct mysql_source {
    const char *host;
    unsigned port;
    const char *user;
    const char *password;
};

/* Build the statement that points replication at @src with GTID auto-positioning:
 * MariaDB `CHANGE MASTER TO ... MASTER_USE_GTID=slave_pos`, MySQL 8.0.23+ `CHANGE REPLICATION
 * SOURCE TO ... SOURCE_AUTO_POSITION=1`, older 8.0 `CHANGE MASTER TO ... MASTER_AUTO_POSITION=1`.
 * The statement holds the password. Returns 0, -EINVAL (empty host or user, port not in
 * 1..65535; errmsg says which, never the password) or -ENOSPC. */
int mysql_dialect_change_source(const struct mysql_dialect *d, const struct mysql_source *src,
                                char *out, size_t outlen, char *errmsg, size_t errlen);

/* Build `SELECT MASTER_GTID_WAIT(...)` / `SELECT WAIT_FOR_EXECUTED_GTID_SET(...)` waiting for
 * @gtid_text at most @timeout_ms (MariaDB takes fractional seconds; MySQL's is rounded up to
 * whole seconds). The result has one column, `reached`. Returns 0 or -ENOSPC. */
int mysql_dialect_wait_gtid(const struct mysql_dialect *d, const char *gtid_text,
                            unsigned timeout_ms, char *out, size_t outlen);

/* Read the value the wait returned: 0 when the position was reached, -ETIMEDOUT when the wait
 * timed out, -EIO for anything else (NULL, killed, error). */
int mysql_dialect_wait_result(const struct mysql_dialect *d, const char *value);

/* Build `KILL CONNECTION <id>`. Returns 0 or -ENOSPC. */
int mysql_dialect_kill(unsigned long long id, char *out, size_t outlen);

/* Whether fencing must leave this connection alone: replication threads (user `system user`,
 * commands Binlog Dump*, Slave_*), server daemons (event scheduler) and connections of the
 * coordinator's own user @our_user (its own probes). Everything else is a client and is
 * killed. NULL fields count as empty strings. */
bool mysql_dialect_thread_is_protected(const char *user, const char *command, const char *our_user);

enum mysql_io_state {
    MYSQL_IO_STOPPED,
    MYSQL_IO_CONNECTING,
    MYSQL_IO_RUNNING,
};

/* What `SHOW SLAVE STATUS` / `SHOW REPLICA STATUS` says, under either spelling. */
struct mysql_replica_status {
    bool configured; /* a source is configured (the statement returned a row) */
    char source_host[256];
    unsigned source_port;
    enum mysql_io_state io_state;
    bool sql_running;
    unsigned last_io_errno;
    char last_io_error[512];
    unsigned last_sql_errno;
    char last_sql_error[512];
    long long lag_seconds; /* Seconds_Behind_*; -1 when the server reports NULL */
    bool auto_position;    /* MariaDB Using_Gtid Slave_Pos/Current_Pos, MySQL Auto_Position=1 */
    char *received_gtid;   /* MariaDB Gtid_IO_Pos, MySQL Retrieved_Gtid_Set; malloc'd, may be "" */
    char *applied_gtid; /* MariaDB Gtid_Slave_Pos, MySQL Executed_Gtid_Set; malloc'd, may be "" */
};

/* Parse the result of the replica status statement (zero rows: not a replica). Whitespace
 * (MySQL wraps long GTID sets over lines) is removed from GTID sets. On success the caller
 * frees with mysql_replica_status_clear(). Returns 0, -EPROTO when a required column is
 * missing or a number is malformed (errmsg names it), -ENOMEM. */
int mysql_dialect_parse_replica_status(const struct mysql_rows *rows,
                                       struct mysql_replica_status *out, char *errmsg,
                                       size_t errlen);

/* Free the strings of @status and zero it. */
void mysql_replica_status_clear(struct mysql_replica_status *status);

/* Parse a boolean-ish server value ("1", "0", "ON", "OFF", "YES", "NO"). Returns 0 or -EINVAL. */
int mysql_dialect_parse_bool(const char *value, bool *out);

#endif /* MMC_MYSQL_DIALECT_H */
