/*
 * The probe: one look at a server, as the failover logic needs it. Is it up, and if not, is it
 * gone (connection refused: mysqld is dead, act at once) or just not answering in time (slow,
 * paused, or the network; maybe wait)? Which flavour and version, is it read-only, what has it
 * executed, and when it replicates: from where, are its IO and SQL threads running, with what
 * errors and lag, what has it received versus applied.
 *
 * Two round trips on a kept-open connection (one SELECT of variables, one replica status);
 * a connection broken since the last probe is reopened within the same deadline, so a server
 * restart looks like one probe that reconnected, not a failure. For a few milliseconds after
 * mysqld is killed the kernel may still accept a connection on its port and reset it; the probe
 * then tries again (a few times, 2 ms apart, within the deadline) until the port refuses, so a
 * killed server is reported as REFUSED rather than as an ambiguous error.
 */
#ifndef MMC_MYSQL_PROBE_H
#define MMC_MYSQL_PROBE_H

#include <stdbool.h>
#include <stdint.h>

#include "mysql/conn.h"
#include "mysql/dialect.h"
#include "mysql/gtid.h"

enum mysql_probe_state {
    MYSQL_PROBE_UP,      /* answered everything */
    MYSQL_PROBE_REFUSED, /* connection refused: nothing listens on the port */
    MYSQL_PROBE_TIMEOUT, /* no answer within the deadline */
    MYSQL_PROBE_DENIED,  /* login or a statement refused: fix the GRANT */
    MYSQL_PROBE_ERROR,   /* anything else (message in errmsg) */
};

struct mysql_probe_result {
    enum mysql_probe_state state;
    int error;        /* 0 when UP, else the negative errno code of the failure */
    char errmsg[512]; /* why, when not UP */
    uint64_t took_us; /* how long the probe took */
    bool reconnected; /* the probe had to (re)open the connection */

    /* The rest is valid only when state == MYSQL_PROBE_UP. */
    struct mysql_dialect dialect;
    char version[128];
    unsigned long server_id;
    bool read_only;
    bool super_read_only; /* always false on MariaDB */
    char *executed_text;  /* MariaDB gtid_current_pos, MySQL gtid_executed (malloc'd) */
    struct gtid_set *executed;
    char *applied_text; /* set applied by replication (MariaDB gtid_slave_pos) (malloc'd) */
    struct gtid_set *applied;
    struct mysql_replica_status replica; /* replica.configured false when not a replica */
    struct gtid_set *received;           /* parsed replica.received_gtid, NULL if none */
};

/* Probe through @conn within @timeout_ms. Always fills @out (clear it with
 * mysql_probe_result_clear() afterwards) and returns out->error: 0, -ECONNREFUSED,
 * -ETIMEDOUT, -EACCES, -EPROTO (an answer we cannot parse, e.g. a malformed GTID set), or
 * another negative errno. */
int mysql_probe_run(struct mysql_conn *conn, unsigned timeout_ms, struct mysql_probe_result *out);

/* Free what a probe result holds and zero it. */
void mysql_probe_result_clear(struct mysql_probe_result *result);

/* "up", "refused", "timeout", "denied", "error". */
const char *mysql_probe_state_name(enum mysql_probe_state state);

/* The GTID flavour of a dialect. */
enum gtid_flavor mysql_probe_gtid_flavor(const struct mysql_dialect *dialect);

#endif /* MMC_MYSQL_PROBE_H */
