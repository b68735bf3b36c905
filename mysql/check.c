/* Preflight checks: see check.h. */
#include "mysql/check.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "coord/clock.h"

#define MARIADB_PRIVILEGES                                                                         \
    "PROCESS, CONNECTION ADMIN, READ_ONLY ADMIN, REPLICATION MASTER ADMIN, "                       \
    "REPLICATION SLAVE ADMIN, SLAVE MONITOR"
#define MYSQL_PRIVILEGES                                                                           \
    "PROCESS, REPLICATION CLIENT, CONNECTION_ADMIN, SYSTEM_VARIABLES_ADMIN, "                      \
    "REPLICATION_SLAVE_ADMIN"

const char *mysql_check_required_privileges(const struct mysql_dialect *d)
{
    return d->flavor == MYSQL_FLAVOR_MARIADB ? MARIADB_PRIVILEGES : MYSQL_PRIVILEGES;
}

const char *mysql_check_status_name(enum mysql_check_status status)
{
    switch (status) {
    case MYSQL_CHECK_PASS:
        return "PASS";
    case MYSQL_CHECK_WARN:
        return "WARN";
    case MYSQL_CHECK_FAIL:
        break;
    }
    return "FAIL";
}

void mysql_check_report_free(struct mysql_check_report *report)
{
    free(report->results);
    memset(report, 0, sizeof(*report));
}

enum mysql_check_status mysql_check_worst(const struct mysql_check_report *report)
{
    enum mysql_check_status worst = MYSQL_CHECK_PASS;
    for (size_t i = 0; i < report->n; i++) {
        if (report->results[i].status > worst) {
            worst = report->results[i].status;
        }
    }
    return worst;
}

static int add(struct mysql_check_report *report, const char *name, const char *node,
               enum mysql_check_status status, const char *fix, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static int add(struct mysql_check_report *report, const char *name, const char *node,
               enum mysql_check_status status, const char *fix, const char *fmt, ...)
{
    if (report->n == report->capacity) {
        size_t capacity = report->capacity ? report->capacity * 2 : 32;
        struct mysql_check_result *r = realloc(report->results, capacity * sizeof(*r));
        if (r == NULL) {
            return -ENOMEM;
        }
        report->results = r;
        report->capacity = capacity;
    }
    struct mysql_check_result *r = &report->results[report->n++];
    memset(r, 0, sizeof(*r));
    snprintf(r->name, sizeof(r->name), "%s", name);
    snprintf(r->node, sizeof(r->node), "%s", node);
    r->status = status;
    snprintf(r->fix, sizeof(r->fix), "%s", status == MYSQL_CHECK_PASS || fix == NULL ? "" : fix);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->message, sizeof(r->message), fmt, ap);
    va_end(ap);
    return 0;
}

#define ADD(...)                                                                                   \
    do {                                                                                           \
        if (add(report, __VA_ARGS__) != 0) {                                                       \
            return -ENOMEM;                                                                        \
        }                                                                                          \
    } while (0)

/* ---- privileges ---------------------------------------------------------------------------- */

/* The privilege lists of the GRANT lines on one of the @ons (" ON x TO "), joined. */
static int privileges_on(const char *const *lines, size_t n, const char *const *ons, char *out,
                         size_t outlen)
{
    size_t used = 0;
    if (outlen == 0) {
        return -ENOSPC;
    }
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const char *line = lines[i];
        if (line == NULL || strncasecmp(line, "GRANT ", 6) != 0) {
            continue;
        }
        const char *on = NULL;
        for (const char *const *o = ons; *o != NULL && on == NULL; o++) {
            on = strcasestr(line, *o);
        }
        if (on == NULL) {
            continue; /* a role, a proxy grant, or privileges on something else */
        }
        /* Split the list at commas; MySQL prints dynamic privileges without spaces. */
        const char *p = line + 6;
        while (p < on) {
            while (p < on && (*p == ' ' || *p == ',')) {
                p++;
            }
            const char *start = p;
            while (p < on && *p != ',') {
                p++;
            }
            const char *end = p;
            while (end > start && end[-1] == ' ') {
                end--;
            }
            if (end == start) {
                continue;
            }
            size_t len = (size_t)(end - start);
            if (used + len + 3 > outlen) {
                return -ENOSPC;
            }
            if (used > 0) {
                memcpy(out + used, ", ", 2);
                used += 2;
            }
            for (size_t k = 0; k < len; k++) {
                out[used++] = (char)toupper((unsigned char)start[k]);
            }
            out[used] = '\0';
        }
    }
    return 0;
}

int mysql_check_global_privileges(const char *const *lines, size_t n, char *out, size_t outlen)
{
    static const char *const ons[] = {" ON *.* TO ", NULL};
    return privileges_on(lines, n, ons, out, outlen);
}

int mysql_check_db_privileges(const char *const *lines, size_t n, const char *db, char *out,
                              size_t outlen)
{
    char quoted[96], plain[96];
    snprintf(quoted, sizeof quoted, " ON `%s`.* TO ", db);
    snprintf(plain, sizeof plain, " ON %s.* TO ", db);
    const char *const ons[] = {quoted, plain, NULL};
    return privileges_on(lines, n, ons, out, outlen);
}

/* Whether @privilege (upper case) is in the ", "-separated @list. */
static bool has_privilege(const char *list, const char *privilege)
{
    size_t len = strlen(privilege);
    for (const char *p = list; (p = strstr(p, privilege)) != NULL; p += len) {
        bool starts = p == list || (p >= list + 2 && p[-2] == ',' && p[-1] == ' ');
        bool ends = p[len] == '\0' || p[len] == ',';
        if (starts && ends) {
            return true;
        }
    }
    return false;
}

static const char *canonical_privilege(const char *privilege)
{
    /* MariaDB accepts REPLICA for SLAVE in these names. */
    if (strcmp(privilege, "REPLICA MONITOR") == 0) {
        return "SLAVE MONITOR";
    }
    if (strcmp(privilege, "REPLICATION REPLICA ADMIN") == 0) {
        return "REPLICATION SLAVE ADMIN";
    }
    return privilege;
}

static int check_privileges(const struct mysql_check_facts *f, struct mysql_check_report *report)
{
    const char *required = mysql_check_required_privileges(&f->dialect);
    char grant_fix[384];
    snprintf(grant_fix, sizeof(grant_fix),
             "run on %s: GRANT %s ON *.* TO '<coordinator user>'@'<coordinator host>' "
             "(see docs/mysql.md)",
             f->node, required);
    char have[1024];
    snprintf(have, sizeof(have), "%s", f->grants);
    bool all = has_privilege(have, "ALL PRIVILEGES") || has_privilege(have, "ALL");

    char missing[384] = "", extra[384] = "";
    char list[512];
    snprintf(list, sizeof(list), "%s", required);
    for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok != NULL;
         tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ') {
            tok++;
        }
        bool found = all || has_privilege(have, tok);
        if (!found && strcmp(tok, "SLAVE MONITOR") == 0) {
            found = has_privilege(have, "REPLICA MONITOR");
        }
        if (!found && strcmp(tok, "REPLICATION SLAVE ADMIN") == 0) {
            found = has_privilege(have, "REPLICATION REPLICA ADMIN");
        }
        if (!found) {
            size_t used = strlen(missing);
            snprintf(missing + used, sizeof(missing) - used, "%s%s", used ? ", " : "", tok);
        }
    }
    for (char *save = NULL, *tok = strtok_r(have, ",", &save); tok != NULL;
         tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ') {
            tok++;
        }
        if (strcmp(tok, "USAGE") == 0 || has_privilege(required, canonical_privilege(tok))) {
            continue;
        }
        size_t used = strlen(extra);
        snprintf(extra + used, sizeof(extra) - used, "%s%s", used ? ", " : "", tok);
    }
    if (missing[0] != '\0') {
        ADD("privileges", f->node, MYSQL_CHECK_FAIL, grant_fix,
            "the coordinator's user lacks %s (fencing, repointing or probing will fail)", missing);
    } else if (extra[0] != '\0') {
        char fix[384];
        snprintf(fix, sizeof(fix), "REVOKE what it does not need: it needs exactly %s", required);
        ADD("privileges", f->node, MYSQL_CHECK_WARN, fix,
            "the coordinator's user has more than it needs: %s", extra);
    } else {
        ADD("privileges", f->node, MYSQL_CHECK_PASS, NULL, "exactly %s", required);
    }
    if (!f->is_master) {
        return 0;
    }
    /* The writer records its epoch in mmcoord.epoch before it opens: without these it never
     * opens. Granted on *.* counts too. */
    char epoch_missing[128] = "";
    char epoch_list[64];
    snprintf(epoch_list, sizeof(epoch_list), "%s", MYSQL_CHECK_EPOCH_PRIVILEGES);
    bool epoch_all = all || has_privilege(f->epoch_grants, "ALL PRIVILEGES") ||
                     has_privilege(f->epoch_grants, "ALL");
    for (char *save = NULL, *tok = strtok_r(epoch_list, ",", &save); tok != NULL;
         tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ') {
            tok++;
        }
        if (!epoch_all && !has_privilege(f->epoch_grants, tok) && !has_privilege(f->grants, tok)) {
            size_t used = strlen(epoch_missing);
            snprintf(epoch_missing + used, sizeof(epoch_missing) - used, "%s%s", used ? ", " : "",
                     tok);
        }
    }
    if (epoch_missing[0] != '\0') {
        char fix[256];
        snprintf(fix, sizeof(fix),
                 "run on %s: GRANT " MYSQL_CHECK_EPOCH_PRIVILEGES
                 " ON mmcoord.* TO '<coordinator user>'@'<coordinator host>' (see docs/mysql.md)",
                 f->node);
        ADD("epoch_table", f->node, MYSQL_CHECK_FAIL, fix,
            "the coordinator's user lacks %s on mmcoord.*: as the writer it cannot record its "
            "epoch, and does not open",
            epoch_missing);
    } else {
        ADD("epoch_table", f->node, MYSQL_CHECK_PASS, NULL,
            "the coordinator's user may write mmcoord.epoch (" MYSQL_CHECK_EPOCH_PRIVILEGES ")");
    }
    return 0;
}

/* ---- one server ---------------------------------------------------------------------------- */

static int check_node(const struct mysql_check_facts *f, struct mysql_check_report *report)
{
    bool maria = f->dialect.flavor == MYSQL_FLAVOR_MARIADB;
    const char *cnf = maria ? "[mariadbd] in my.cnf" : "[mysqld] in my.cnf";
    char fix[384];

    ADD("version", f->node, MYSQL_CHECK_PASS, NULL, "%s %s", mysql_flavor_name(f->dialect.flavor),
        f->version);

    if (f->log_bin) {
        ADD("log_bin", f->node, MYSQL_CHECK_PASS, NULL, "binary log on");
    } else {
        snprintf(fix, sizeof(fix), "set log_bin=<basename> under %s and restart", cnf);
        ADD("log_bin", f->node, MYSQL_CHECK_FAIL, fix,
            "binary log off: the server cannot be a replication source (nobody can catch up "
            "from it) and its own writes get no GTID");
    }
    if (f->log_slave_updates) {
        ADD("log_slave_updates", f->node, MYSQL_CHECK_PASS, NULL, "replicated transactions logged");
    } else {
        snprintf(fix, sizeof(fix), "set %s=ON under %s and restart",
                 maria ? "log_slave_updates" : "log_replica_updates", cnf);
        ADD("log_slave_updates", f->node, MYSQL_CHECK_FAIL, fix,
            "replicated transactions are not written to the binary log: this server cannot "
            "pass on what it received when a new writer needs to catch up from it");
    }
    if (strcasecmp(f->binlog_format, "ROW") == 0) {
        ADD("binlog_format", f->node, MYSQL_CHECK_PASS, NULL, "ROW");
    } else {
        snprintf(fix, sizeof(fix), "SET GLOBAL binlog_format=ROW and binlog_format=ROW under %s",
                 cnf);
        ADD("binlog_format", f->node, MYSQL_CHECK_FAIL, fix,
            "binlog_format is %s: statement-based replication can diverge between masters",
            f->binlog_format[0] ? f->binlog_format : "unknown");
    }
    if (maria) {
        if (f->gtid_strict_mode) {
            ADD("gtid", f->node, MYSQL_CHECK_PASS, NULL, "gtid_strict_mode on, domain %lu",
                f->gtid_domain_id);
        } else {
            snprintf(fix, sizeof(fix),
                     "SET GLOBAL gtid_strict_mode=ON and gtid_strict_mode=ON "
                     "under %s",
                     cnf);
            ADD("gtid", f->node, MYSQL_CHECK_FAIL, fix,
                "gtid_strict_mode off: out-of-order or diverging GTIDs would go unnoticed");
        }
    } else {
        if (strcasecmp(f->gtid_mode, "ON") == 0 && f->enforce_gtid_consistency) {
            ADD("gtid", f->node, MYSQL_CHECK_PASS, NULL, "gtid_mode ON, enforce_gtid_consistency");
        } else {
            snprintf(fix, sizeof(fix),
                     "set enforce_gtid_consistency=ON, then gtid_mode step by step "
                     "(OFF_PERMISSIVE, ON_PERMISSIVE, ON) with SET PERSIST, and the same under %s",
                     cnf);
            ADD("gtid", f->node, MYSQL_CHECK_FAIL, fix,
                "gtid_mode is %s, enforce_gtid_consistency %s: GTID auto-positioning unavailable",
                f->gtid_mode[0] ? f->gtid_mode : "unknown",
                f->enforce_gtid_consistency ? "ON" : "OFF");
        }
    }
    if (f->replicating && !f->replica_uses_gtid) {
        ADD("replication_gtid", f->node, MYSQL_CHECK_FAIL,
            maria ? "CHANGE MASTER TO MASTER_USE_GTID=slave_pos (after STOP SLAVE)"
                  : "CHANGE REPLICATION SOURCE TO SOURCE_AUTO_POSITION=1 (after STOP REPLICA)",
            "replicates by binary log file and offset, not by GTID");
    } else if (f->replicating) {
        ADD("replication_gtid", f->node, MYSQL_CHECK_PASS, NULL, "replicates with GTID");
    }
    if (f->is_master) {
        switch (f->read_only_origin) {
        case MYSQL_ORIGIN_CONFIG:
            if (f->read_only) {
                ADD("read_only_at_boot", f->node, MYSQL_CHECK_PASS, NULL,
                    "read_only=ON comes from the configuration");
            } else {
                snprintf(fix, sizeof(fix), "set read_only=ON under %s", cnf);
                ADD("read_only_at_boot", f->node, MYSQL_CHECK_FAIL, fix,
                    "the configuration sets read_only=OFF: a restarted master comes up writable");
            }
            break;
        case MYSQL_ORIGIN_DEFAULT:
            snprintf(fix, sizeof(fix), "set read_only=ON under %s", cnf);
            ADD("read_only_at_boot", f->node, MYSQL_CHECK_FAIL, fix,
                "read_only is not in the configuration (compiled-in default OFF): a restarted "
                "master comes up writable before mmcoord can fence it");
            break;
        case MYSQL_ORIGIN_RUNTIME:
        case MYSQL_ORIGIN_UNKNOWN:
            snprintf(fix, sizeof(fix), "make sure read_only=ON is under %s", cnf);
            ADD("read_only_at_boot", f->node, MYSQL_CHECK_WARN, fix,
                "read_only was changed at run time (now %s), which hides what the configuration "
                "says; a running server cannot tell what it booted with",
                f->read_only ? "ON" : "OFF");
            break;
        }
    }
    /* Semi-sync: without it a crash of the writer loses what the others had not received. */
    bool semi = f->is_master ? f->semi_sync_master && f->semi_sync_slave : f->semi_sync_slave;
    if (semi) {
        ADD("semi_sync", f->node, MYSQL_CHECK_PASS, NULL, "semi-synchronous replication on");
    } else {
        snprintf(fix, sizeof(fix),
                 maria ? "SET GLOBAL rpl_semi_sync_master_enabled=ON, "
                         "rpl_semi_sync_slave_enabled=ON (and in my.cnf) on the masters; "
                         "rpl_semi_sync_slave_enabled=ON on replicas"
                       : "INSTALL PLUGIN rpl_semi_sync_source / rpl_semi_sync_replica, then "
                         "enable rpl_semi_sync_source_enabled / rpl_semi_sync_replica_enabled");
        ADD("semi_sync", f->node, MYSQL_CHECK_WARN, fix,
            "%s: replication is asynchronous, and a crash of the writer loses the transactions "
            "the other servers had not received yet",
            f->semi_sync_known ? "semi-sync is off" : "semi-sync is not available");
    }
    return check_privileges(f, report);
}

/* ---- across servers ------------------------------------------------------------------------ */

static int check_cluster(const struct mysql_check_facts *facts, size_t n,
                         struct mysql_check_report *report)
{
    size_t writable = 0;
    char writable_nodes[128] = "";
    size_t masters = 0;
    for (size_t i = 0; i < n; i++) {
        const struct mysql_check_facts *f = &facts[i];
        if (!f->reachable) {
            continue;
        }
        /* server_id: nonzero and unique. */
        const char *clash = NULL;
        for (size_t j = 0; j < n; j++) {
            if (j != i && facts[j].reachable && facts[j].server_id == f->server_id) {
                clash = facts[j].node;
            }
        }
        if (f->server_id == 0) {
            ADD("server_id", f->node, MYSQL_CHECK_FAIL, "set a unique server_id under [mysqld]",
                "server_id is 0: the server cannot replicate");
        } else if (clash != NULL) {
            ADD("server_id", f->node, MYSQL_CHECK_FAIL,
                "give every server its own server_id in my.cnf (SET GLOBAL server_id now)",
                "server_id %lu is also %s's: replication drops events it believes are its own",
                f->server_id, clash);
        } else {
            ADD("server_id", f->node, MYSQL_CHECK_PASS, NULL, "%lu, unique", f->server_id);
        }
        if (!f->is_master) {
            continue;
        }
        masters++;
        if (!f->read_only) {
            writable++;
            size_t used = strlen(writable_nodes);
            snprintf(writable_nodes + used, sizeof(writable_nodes) - used, "%s%s", used ? ", " : "",
                     f->node);
        }
        /* auto_increment: every master generates keys the others never do. */
        const char *offset_clash = NULL;
        const char *domain_clash = NULL;
        for (size_t j = 0; j < n; j++) {
            if (j == i || !facts[j].reachable || !facts[j].is_master) {
                continue;
            }
            if (facts[j].auto_increment_offset == f->auto_increment_offset) {
                offset_clash = facts[j].node;
            }
            if (f->dialect.flavor == MYSQL_FLAVOR_MARIADB &&
                facts[j].gtid_domain_id == f->gtid_domain_id) {
                domain_clash = facts[j].node;
            }
        }
        if (f->auto_increment_increment < 2) {
            ADD("auto_increment", f->node, MYSQL_CHECK_FAIL,
                "set auto_increment_increment=2 and a distinct auto_increment_offset (1, 2) on "
                "each master",
                "auto_increment_increment is %lu: both masters would hand out the same keys",
                f->auto_increment_increment);
        } else if (offset_clash != NULL) {
            ADD("auto_increment", f->node, MYSQL_CHECK_FAIL,
                "give each master its own auto_increment_offset (1, 2)",
                "auto_increment_offset %lu is also %s's", f->auto_increment_offset, offset_clash);
        } else if (f->auto_increment_offset > f->auto_increment_increment) {
            ADD("auto_increment", f->node, MYSQL_CHECK_WARN,
                "keep auto_increment_offset <= auto_increment_increment",
                "auto_increment_offset %lu > increment %lu is ignored by the server",
                f->auto_increment_offset, f->auto_increment_increment);
        } else {
            ADD("auto_increment", f->node, MYSQL_CHECK_PASS, NULL, "increment %lu, offset %lu",
                f->auto_increment_increment, f->auto_increment_offset);
        }
        if (f->dialect.flavor == MYSQL_FLAVOR_MARIADB) {
            if (domain_clash != NULL) {
                ADD("gtid_domain_id", f->node, MYSQL_CHECK_FAIL,
                    "give each master its own gtid_domain_id in my.cnf (SET GLOBAL now)",
                    "gtid_domain_id %lu is also %s's: \"has N everything W wrote\" is no longer a "
                    "per-domain comparison",
                    f->gtid_domain_id, domain_clash);
            } else {
                ADD("gtid_domain_id", f->node, MYSQL_CHECK_PASS, NULL, "%lu, own domain",
                    f->gtid_domain_id);
            }
        }
    }
    if (writable > 1) {
        ADD("single_writer", "cluster", MYSQL_CHECK_FAIL,
            "fence all but one (SET GLOBAL read_only=ON) and let mmcoord choose the writer",
            "%zu masters are writable now (%s): writes can diverge", writable, writable_nodes);
    } else if (masters > 0) {
        ADD("single_writer", "cluster", MYSQL_CHECK_PASS, NULL, "%zu writable master(s)%s%s",
            writable, writable ? ": " : "", writable_nodes);
    }
    bool mixed = false;
    for (size_t i = 1; i < n; i++) {
        mixed |= facts[i].reachable && facts[0].reachable &&
                 facts[i].dialect.flavor != facts[0].dialect.flavor;
    }
    if (mixed) {
        ADD("flavour", "cluster", MYSQL_CHECK_FAIL,
            "use one flavour: MariaDB and MySQL GTIDs do not mix",
            "the servers mix MariaDB and MySQL");
    }
    return 0;
}

int mysql_check_evaluate(const struct mysql_check_facts *facts, size_t n,
                         struct mysql_check_report *report)
{
    for (size_t i = 0; i < n; i++) {
        if (!facts[i].reachable) {
            ADD("reachable", facts[i].node, MYSQL_CHECK_FAIL,
                "start the server, check mysql_address in the configuration and the credentials "
                "file, and the GRANT in docs/mysql.md",
                "%s", facts[i].error);
            continue;
        }
        ADD("reachable", facts[i].node, MYSQL_CHECK_PASS, NULL, "logged in");
        if (check_node(&facts[i], report) != 0) {
            return -ENOMEM;
        }
    }
    return check_cluster(facts, n, report);
}

/* ---- gathering ----------------------------------------------------------------------------- */

static bool value_bool(const struct mysql_rows *rows, const char *column)
{
    bool b = false;
    mysql_dialect_parse_bool(mysql_rows_get(rows, 0, column), &b);
    return b;
}

static unsigned long value_ulong(const struct mysql_rows *rows, const char *column)
{
    const char *v = mysql_rows_get(rows, 0, column);
    return v ? strtoul(v, NULL, 10) : 0;
}

static enum mysql_check_origin origin_of(const char *v)
{
    if (v == NULL) {
        return MYSQL_ORIGIN_UNKNOWN;
    }
    /* MariaDB GLOBAL_VALUE_ORIGIN: COMPILE-TIME, CONFIG, COMMAND-LINE, AUTO, SQL, ENVIRONMENT.
     * MySQL VARIABLE_SOURCE: COMPILED, GLOBAL, SERVER, EXPLICIT, EXTRA, USER, LOGIN,
     * COMMAND_LINE, PERSISTED, DYNAMIC. */
    if (strcasecmp(v, "COMPILE-TIME") == 0 || strcasecmp(v, "COMPILED") == 0) {
        return MYSQL_ORIGIN_DEFAULT;
    }
    if (strcasecmp(v, "SQL") == 0 || strcasecmp(v, "DYNAMIC") == 0) {
        return MYSQL_ORIGIN_RUNTIME;
    }
    if (strcasecmp(v, "AUTO") == 0) {
        return MYSQL_ORIGIN_UNKNOWN;
    }
    return MYSQL_ORIGIN_CONFIG;
}

static int gather(struct mysql_conn *conn, uint64_t deadline, struct mysql_check_facts *f)
{
    struct mysql_rows *rows = NULL;
    int rc = mysql_conn_connect(conn, deadline, f->error, sizeof(f->error));
    if (rc != 0) {
        return rc;
    }
    f->dialect = *mysql_conn_dialect(conn);
    snprintf(f->version, sizeof(f->version), "%s", mysql_conn_version(conn));
    bool maria = f->dialect.flavor == MYSQL_FLAVOR_MARIADB;
    const char *vars =
        maria ? "SELECT @@server_id AS server_id, @@log_bin AS log_bin, @@log_slave_updates AS "
                "log_slave_updates, @@binlog_format AS binlog_format, @@gtid_strict_mode AS "
                "gtid_strict_mode, @@gtid_domain_id AS gtid_domain_id, @@auto_increment_increment "
                "AS aii, @@auto_increment_offset AS aio, @@GLOBAL.read_only AS read_only, "
                "'' AS gtid_mode, 0 AS enforce_gtid_consistency"
              : "SELECT @@server_id AS server_id, @@log_bin AS log_bin, @@log_replica_updates AS "
                "log_slave_updates, @@binlog_format AS binlog_format, 0 AS gtid_strict_mode, 0 "
                "AS gtid_domain_id, @@auto_increment_increment AS aii, @@auto_increment_offset "
                "AS aio, @@GLOBAL.read_only AS read_only, @@gtid_mode AS gtid_mode, "
                "@@enforce_gtid_consistency AS enforce_gtid_consistency";
    if (!maria && !mysql_dialect_at_least(&f->dialect, 8, 0, 26)) {
        vars = "SELECT @@server_id AS server_id, @@log_bin AS log_bin, @@log_slave_updates AS "
               "log_slave_updates, @@binlog_format AS binlog_format, 0 AS gtid_strict_mode, 0 "
               "AS gtid_domain_id, @@auto_increment_increment AS aii, @@auto_increment_offset "
               "AS aio, @@GLOBAL.read_only AS read_only, @@gtid_mode AS gtid_mode, "
               "@@enforce_gtid_consistency AS enforce_gtid_consistency";
    }
    rc = mysql_conn_query(conn, vars, deadline, &rows, f->error, sizeof(f->error));
    if (rc != 0) {
        return rc;
    }
    if (rows == NULL || rows->n_rows != 1) {
        snprintf(f->error, sizeof(f->error), "unexpected answer reading variables");
        mysql_rows_free(rows);
        return -EPROTO;
    }
    f->server_id = value_ulong(rows, "server_id");
    f->log_bin = value_bool(rows, "log_bin");
    f->log_slave_updates = value_bool(rows, "log_slave_updates");
    snprintf(f->binlog_format, sizeof(f->binlog_format), "%s",
             mysql_rows_get(rows, 0, "binlog_format") ? mysql_rows_get(rows, 0, "binlog_format")
                                                      : "");
    f->gtid_strict_mode = value_bool(rows, "gtid_strict_mode");
    f->gtid_domain_id = value_ulong(rows, "gtid_domain_id");
    f->auto_increment_increment = value_ulong(rows, "aii");
    f->auto_increment_offset = value_ulong(rows, "aio");
    f->read_only = value_bool(rows, "read_only");
    snprintf(f->gtid_mode, sizeof(f->gtid_mode), "%s",
             mysql_rows_get(rows, 0, "gtid_mode") ? mysql_rows_get(rows, 0, "gtid_mode") : "");
    const char *egc = mysql_rows_get(rows, 0, "enforce_gtid_consistency");
    f->enforce_gtid_consistency = egc != NULL && strcasecmp(egc, "ON") == 0;
    mysql_rows_free(rows);

    const char *origin =
        maria ? "SELECT GLOBAL_VALUE_ORIGIN AS origin FROM information_schema.SYSTEM_VARIABLES "
                "WHERE VARIABLE_NAME = 'READ_ONLY'"
              : "SELECT VARIABLE_SOURCE AS origin FROM performance_schema.variables_info WHERE "
                "VARIABLE_NAME = 'read_only'";
    if (mysql_conn_query(conn, origin, deadline, &rows, f->error, sizeof(f->error)) == 0 &&
        rows != NULL) {
        f->read_only_origin = origin_of(mysql_rows_get(rows, 0, "origin"));
    }
    mysql_rows_free(rows);
    rows = NULL;

    rc = mysql_conn_query(conn, "SHOW GLOBAL VARIABLES LIKE 'rpl_semi_sync_%enabled'", deadline,
                          &rows, f->error, sizeof(f->error));
    if (rc != 0) {
        return rc;
    }
    for (unsigned i = 0; rows != NULL && i < rows->n_rows; i++) {
        const char *name = mysql_rows_get(rows, i, "Variable_name");
        bool on = false;
        mysql_dialect_parse_bool(mysql_rows_get(rows, i, "Value"), &on);
        if (name == NULL) {
            continue;
        }
        f->semi_sync_known = true;
        if (strstr(name, "master") != NULL || strstr(name, "source") != NULL) {
            f->semi_sync_master |= on;
        } else if (strstr(name, "slave") != NULL || strstr(name, "replica") != NULL) {
            f->semi_sync_slave |= on;
        }
    }
    mysql_rows_free(rows);
    rows = NULL;

    rc = mysql_conn_query(conn, mysql_dialect_show_replica_status(&f->dialect), deadline, &rows,
                          f->error, sizeof(f->error));
    if (rc == 0 && rows != NULL) {
        struct mysql_replica_status st;
        if (mysql_dialect_parse_replica_status(rows, &st, f->error, sizeof(f->error)) == 0) {
            f->replicating = st.configured;
            f->replica_uses_gtid = st.auto_position;
            mysql_replica_status_clear(&st);
        }
    }
    mysql_rows_free(rows);
    rows = NULL;
    /* A missing privilege shows up in the privileges check, not as unreachable. */
    if (rc != 0 && rc != -EACCES) {
        return rc;
    }

    rc = mysql_conn_query(conn, "SHOW GRANTS", deadline, &rows, f->error, sizeof(f->error));
    if (rc != 0) {
        return rc;
    }
    const char **lines = calloc(rows && rows->n_rows ? rows->n_rows : 1, sizeof(char *));
    if (lines == NULL) {
        mysql_rows_free(rows);
        return -ENOMEM;
    }
    for (unsigned i = 0; rows != NULL && i < rows->n_rows; i++) {
        lines[i] = rows->cells[(size_t)i * rows->n_columns];
    }
    mysql_check_global_privileges(lines, rows ? rows->n_rows : 0, f->grants, sizeof(f->grants));
    mysql_check_db_privileges(lines, rows ? rows->n_rows : 0, "mmcoord", f->epoch_grants,
                              sizeof(f->epoch_grants));
    free(lines);
    mysql_rows_free(rows);
    f->error[0] = '\0';
    return 0;
}

void mysql_check_gather(const struct mysql_check_node *node,
                        const struct mysql_credentials *credentials, unsigned timeout_ms,
                        struct mysql_check_facts *out)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->node, sizeof(out->node), "%s", node->id);
    out->is_master = node->is_master;
    struct mysql_conn *conn = mysql_conn_new(node->host, node->port, credentials);
    if (conn == NULL) {
        snprintf(out->error, sizeof(out->error), "out of memory");
        return;
    }
    out->reachable = gather(conn, clock_boottime_ms() + timeout_ms, out) == 0;
    mysql_conn_free(conn);
}

int mysql_check_run(const struct mysql_check_node *nodes, size_t n,
                    const struct mysql_credentials *credentials, unsigned timeout_ms,
                    struct mysql_check_report *report)
{
    struct mysql_check_facts *facts = calloc(n ? n : 1, sizeof(*facts));
    if (facts == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        mysql_check_gather(&nodes[i], credentials, timeout_ms, &facts[i]);
    }
    int rc = mysql_check_evaluate(facts, n, report);
    free(facts);
    return rc;
}

/* ---- output -------------------------------------------------------------------------------- */

void mysql_check_print(const struct mysql_check_report *report, FILE *out)
{
    fprintf(out, "%-6s %-10s %-18s %s\n", "STATUS", "NODE", "CHECK", "DETAIL");
    for (size_t i = 0; i < report->n; i++) {
        const struct mysql_check_result *r = &report->results[i];
        fprintf(out, "%-6s %-10s %-18s %s\n", mysql_check_status_name(r->status), r->node, r->name,
                r->message);
        if (r->fix[0] != '\0') {
            fprintf(out, "%-6s %-10s %-18s fix: %s\n", "", "", "", r->fix);
        }
    }
}

json_t *mysql_check_to_json(const struct mysql_check_report *report)
{
    json_t *array = json_array();
    if (array == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < report->n; i++) {
        const struct mysql_check_result *r = &report->results[i];
        json_t *item =
            json_pack("{s:s, s:s, s:s, s:s, s:s}", "name", r->name, "node", r->node, "status",
                      mysql_check_status_name(r->status), "message", r->message, "fix", r->fix);
        if (item == NULL || json_array_append_new(array, item) != 0) {
            json_decref(array);
            return NULL;
        }
    }
    return array;
}
