#include "mysql/semisync.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "coord/clock.h"
#include "mysql/dialect.h"

#define POLL_MS 10

/* The source side's switch, in both spellings: the only names ever put into a SET. */
static const char *const source_switches[] = {"rpl_semi_sync_master_enabled",
                                              "rpl_semi_sync_source_enabled"};

static bool source_side(const char *name)
{
    return strstr(name, "master") != NULL || strstr(name, "source") != NULL;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

static int parse_count(const char *name, const char *value, unsigned *out, char *errmsg,
                       size_t errlen)
{
    char *end = NULL;
    errno = 0;
    unsigned long n = value != NULL ? strtoul(value, &end, 10) : 0;
    if (value == NULL || end == value || *end != '\0' || errno != 0 || n > 1000000 ||
        value[0] == '-') {
        snprintf(errmsg, errlen, "status %s = '%s': not a count", name,
                 value != NULL ? value : "NULL");
        return -EINVAL;
    }
    *out = (unsigned)n;
    return 0;
}

int mysql_semisync_parse(const struct mysql_rows *variables, const struct mysql_rows *status,
                         struct mysql_semisync_state *out, char *errmsg, size_t errlen)
{
    memset(out, 0, sizeof *out);
    for (unsigned i = 0; variables != NULL && i < variables->n_rows; i++) {
        const char *name = mysql_rows_get(variables, i, "Variable_name");
        const char *value = mysql_rows_get(variables, i, "Value");
        if (name == NULL || !source_side(name)) {
            continue;
        }
        bool on = false;
        if (mysql_dialect_parse_bool(value, &on) != 0) {
            snprintf(errmsg, errlen, "%s = '%s': not a boolean", name,
                     value != NULL ? value : "NULL");
            return -EINVAL;
        }
        for (size_t k = 0; k < sizeof source_switches / sizeof source_switches[0]; k++) {
            if (strcasecmp(name, source_switches[k]) == 0) {
                out->variable = source_switches[k];
                out->enabled |= on;
            }
        }
    }
    for (unsigned i = 0; status != NULL && i < status->n_rows; i++) {
        const char *name = mysql_rows_get(status, i, "Variable_name");
        const char *value = mysql_rows_get(status, i, "Value");
        if (name == NULL || !source_side(name)) {
            continue;
        }
        int rc = 0;
        if (ends_with(name, "_clients")) {
            rc = parse_count(name, value, &out->clients, errmsg, errlen);
            out->clients_known = rc == 0;
        } else if (ends_with(name, "_wait_sessions")) {
            rc = parse_count(name, value, &out->wait_sessions, errmsg, errlen);
        }
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

/* Both tables, parsed into @out. */
static int read_state(struct mysql_conn *conn, uint64_t deadline, struct mysql_semisync_state *out,
                      char *errmsg, size_t errlen)
{
    struct mysql_rows *variables = NULL, *status = NULL;
    int rc = mysql_conn_connect(conn, deadline, errmsg, errlen);
    if (rc == 0) {
        rc = mysql_conn_query(conn, MYSQL_SEMISYNC_VARIABLES_QUERY, deadline, &variables, errmsg,
                              errlen);
    }
    if (rc == 0) {
        rc = mysql_conn_query(conn, MYSQL_SEMISYNC_STATUS_QUERY, deadline, &status, errmsg, errlen);
    }
    if (rc == 0) {
        rc = mysql_semisync_parse(variables, status, out, errmsg, errlen);
    }
    mysql_rows_free(variables);
    mysql_rows_free(status);
    return rc;
}

int mysql_semisync_pause(struct mysql_conn *conn, unsigned timeout_ms,
                         struct mysql_semisync_pause *out, char *errmsg, size_t errlen)
{
    uint64_t deadline = clock_boottime_ms() + timeout_ms;
    struct mysql_semisync_state st;
    memset(out, 0, sizeof *out);
    int rc = read_state(conn, deadline, &st, errmsg, errlen);
    if (rc != 0 || !st.enabled || st.variable == NULL) {
        return rc;
    }
    char sql[96];
    snprintf(sql, sizeof sql, "SET GLOBAL %s = OFF", st.variable);
    rc = mysql_conn_query(conn, sql, deadline, NULL, errmsg, errlen);
    if (rc == 0) {
        out->paused = true;
        out->variable = st.variable;
        out->released = st.wait_sessions;
    }
    return rc;
}

int mysql_semisync_resume(struct mysql_conn *conn, const struct mysql_semisync_pause *pause,
                          unsigned timeout_ms, char *errmsg, size_t errlen)
{
    if (!pause->paused || pause->variable == NULL) {
        return 0;
    }
    uint64_t deadline = clock_boottime_ms() + timeout_ms;
    char sql[96];
    snprintf(sql, sizeof sql, "SET GLOBAL %s = ON", pause->variable);
    int rc = mysql_conn_connect(conn, deadline, errmsg, errlen);
    if (rc == 0) {
        rc = mysql_conn_query(conn, sql, deadline, NULL, errmsg, errlen);
    }
    return rc;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

int mysql_semisync_wait_clients(struct mysql_conn *conn, unsigned timeout_ms,
                                struct mysql_semisync_state *out, char *errmsg, size_t errlen)
{
    uint64_t deadline = clock_boottime_ms() + timeout_ms;
    bool none_yet = false; /* a read said: on, and no replica */
    int rc;
    while ((rc = read_state(conn, deadline, out, errmsg, errlen)) == 0 && out->enabled &&
           out->clients_known && out->clients == 0) {
        none_yet = true;
        if (clock_boottime_ms() + POLL_MS >= deadline) {
            rc = -ETIMEDOUT;
            break;
        }
        sleep_ms(POLL_MS);
    }
    if (rc == -ETIMEDOUT && none_yet) {
        /* Out of time, in the poll or in its last read: the answer is the same. */
        out->enabled = true;
        out->clients_known = true;
        out->clients = 0;
        snprintf(errmsg, errlen, "MySQL %s: no semi-sync replica connected within %u ms",
                 mysql_conn_address(conn), timeout_ms);
    }
    return rc;
}
