/*
 * Preflight checks (`mmctl check`): is each server configured the way failover without loss
 * needs it? Each check yields PASS, WARN or FAIL with a message saying what was seen and a fix
 * saying what to do. docs/mysql.md explains every check.
 *
 * Split in two so that the judgement is pure and unit-tested: mysql_check_gather() reads the
 * facts of one server (I/O, with a deadline), mysql_check_evaluate() turns the facts of all
 * servers into results (pure: no I/O, no clock). mysql_check_run() does both.
 *
 * What a running server cannot tell: whether read_only=ON is in its my.cnf. MariaDB and MySQL
 * do report where the current value came from (configuration, compiled-in default, or a SET
 * GLOBAL at run time), so the read_only_at_boot check FAILs when the value is the compiled-in
 * default or a configured OFF, PASSes when the configuration set it ON, and WARNs when it was
 * changed at run time (as mmcoord itself does when fencing and opening), which hides what the
 * configuration says.
 */
#ifndef MMC_MYSQL_CHECK_H
#define MMC_MYSQL_CHECK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "mysql/conn.h"
#include "mysql/dialect.h"

enum mysql_check_status {
    MYSQL_CHECK_PASS,
    MYSQL_CHECK_WARN,
    MYSQL_CHECK_FAIL,
};

struct mysql_check_node {
    const char *id;
    const char *host;
    unsigned port;
    bool is_master; /* a candidate writer (m1, m2); false for a replica */
};

struct mysql_check_result {
    char name[32]; /* e.g. "server_id", "log_bin", "privileges" */
    char node[32]; /* node id, or "cluster" for checks across nodes */
    enum mysql_check_status status;
    char message[384]; /* what was seen */
    char fix[384];     /* what to do; empty on PASS */
};

struct mysql_check_report {
    struct mysql_check_result *results;
    size_t n;
    size_t capacity;
};

/* Where a variable's current value came from. */
enum mysql_check_origin {
    MYSQL_ORIGIN_UNKNOWN,
    MYSQL_ORIGIN_DEFAULT, /* compiled-in default: not in any configuration */
    MYSQL_ORIGIN_CONFIG,  /* option file or command line */
    MYSQL_ORIGIN_RUNTIME, /* SET GLOBAL since the server started */
};

/* The facts one server reports. Strings are empty when unknown. */
struct mysql_check_facts {
    char node[32];
    bool is_master;
    bool reachable;
    char error[384]; /* why not reachable */
    struct mysql_dialect dialect;
    char version[128];
    unsigned long server_id;
    bool log_bin;
    bool log_slave_updates;
    char binlog_format[16];
    bool gtid_strict_mode;         /* MariaDB */
    unsigned long gtid_domain_id;  /* MariaDB */
    char gtid_mode[24];            /* MySQL: ON, OFF, ON_PERMISSIVE ... */
    bool enforce_gtid_consistency; /* MySQL */
    unsigned long auto_increment_increment;
    unsigned long auto_increment_offset;
    bool read_only;
    enum mysql_check_origin read_only_origin;
    bool semi_sync_known;  /* the semi-sync variables exist (plugin loaded on MySQL) */
    bool semi_sync_master; /* rpl_semi_sync_master_enabled / _source_enabled */
    bool semi_sync_slave;  /* rpl_semi_sync_slave_enabled / _replica_enabled */
    bool replicating;      /* has a replication source configured */
    bool replica_uses_gtid;
    char grants[1024];      /* the global privileges, comma-separated, upper case */
    char epoch_grants[256]; /* the privileges on mmcoord.* (the epoch table), the same way */
};

/* Read the facts of @node with the coordinator's @credentials within @timeout_ms. Never fails:
 * an unreachable server yields reachable=false and error set. */
void mysql_check_gather(const struct mysql_check_node *node,
                        const struct mysql_credentials *credentials, unsigned timeout_ms,
                        struct mysql_check_facts *out);

/* Judge the facts of @n servers (pure). Appends to @report. Returns 0 or -ENOMEM. */
int mysql_check_evaluate(const struct mysql_check_facts *facts, size_t n,
                         struct mysql_check_report *report);

/* Gather from every node, then evaluate. @report must be zeroed (or from a previous
 * mysql_check_report_free()). Returns 0 or -ENOMEM. */
int mysql_check_run(const struct mysql_check_node *nodes, size_t n,
                    const struct mysql_credentials *credentials, unsigned timeout_ms,
                    struct mysql_check_report *report);

/* Free the results and zero the report. */
void mysql_check_report_free(struct mysql_check_report *report);

/* The worst status in the report (PASS for an empty report). */
enum mysql_check_status mysql_check_worst(const struct mysql_check_report *report);

/* "PASS", "WARN", "FAIL". */
const char *mysql_check_status_name(enum mysql_check_status status);

/* Print the report as a table: status, node, check, message, and the fix on the next line. */
void mysql_check_print(const struct mysql_check_report *report, FILE *out);

/* The report as a JSON array of {name, node, status, message, fix}; NULL when out of memory.
 * The caller owns the reference. */
json_t *mysql_check_to_json(const struct mysql_check_report *report);

/* Parse the global privileges out of SHOW GRANTS lines (pure): the privilege lists of every
 * `GRANT ... ON *.* TO` line, upper-cased, joined with ", " into @out. Returns 0 or -ENOSPC. */
int mysql_check_global_privileges(const char *const *lines, size_t n, char *out, size_t outlen);

/* The same for the privileges on database @db (`GRANT ... ON `db`.* TO` or `ON db.* TO`).
 * Returns 0 or -ENOSPC. */
int mysql_check_db_privileges(const char *const *lines, size_t n, const char *db, char *out,
                              size_t outlen);

/* What the coordinator needs on mmcoord.* on a master, where the writer records its epoch
 * (mysql/epoch.h): "CREATE, INSERT, DELETE". */
#define MYSQL_CHECK_EPOCH_PRIVILEGES "CREATE, INSERT, DELETE"

/* The privileges the coordinator needs on @d's servers, as a GRANT list (static string). */
const char *mysql_check_required_privileges(const struct mysql_dialect *d);

#endif /* MMC_MYSQL_CHECK_H */
