/*
 * The history of one chaos run (jepsen/HISTORY.md), read into memory, and the one line format
 * the workload client writes.
 *
 * A run directory holds one file per producer: client.jsonl (the workload's operations),
 * nemesis.jsonl (fault windows), observe-HOST.jsonl (the VIP on each host, from netlink),
 * arp.jsonl (ARP for the VIP seen on the bridge), final.json (the servers' data after healing)
 * and run.json (what was run). history_load() reads them all; the checkers (jepsen/checks.h)
 * and the report (jepsen/report.h) work on the result and never read a file themselves.
 *
 * Times are milliseconds of CLOCK_MONOTONIC, kept as doubles (microsecond precision): every
 * producer on the machine shares that clock, so the files merge into one timeline.
 *
 * Every record keeps its source line (file name and line number and the text), so that a
 * verdict can print the slice of history that proves it.
 */
#ifndef MMC_JEPSEN_HISTORY_H
#define MMC_JEPSEN_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HISTORY_NAME_SIZE 32 /* host names, fault kinds, MAC addresses */

enum history_f { HISTORY_INSERT, HISTORY_INCR };
enum history_outcome { HISTORY_OK, HISTORY_FAIL, HISTORY_UNKNOWN };

/* Where a record came from: "client.jsonl:42" and the line itself. */
struct history_source {
    const char *file; /* points into struct history's file names */
    size_t line;
    char *text; /* owned by the history */
};

struct history_op {
    int worker;
    bool new_conn;
    enum history_f f;
    int64_t key;       /* counter id (incr); 0 for insert */
    int64_t value;     /* row id (insert) or the counter's new value (incr) */
    bool has_value;    /* false when an incr failed before it read the counter */
    double start, end; /* ms, CLOCK_MONOTONIC */
    enum history_outcome outcome;
    int64_t server_id; /* -1: null (not reached) */
    int64_t epoch;     /* -1: null (no epoch table, or not reached) */
    struct history_source src;
};

struct history_fault {
    int64_t id; /* the nemesis's own number for the fault, -1 when it gives none */
    char fault[HISTORY_NAME_SIZE];
    char target[64];
    double start, end; /* end: the "end" record, or the run's end when it has none */
    bool ended;        /* an "end" record was seen */
    struct history_source src_start, src_end;
};

enum history_vip_event {
    HISTORY_VIP_ADD,
    HISTORY_VIP_DEL,
    HISTORY_VIP_PRESENT,
    HISTORY_VIP_ABSENT
};

struct history_vip {
    char host[HISTORY_NAME_SIZE];
    enum history_vip_event event;
    double t;
    struct history_source src;
};

struct history_arp {
    double t;
    bool reply; /* false: request */
    char sender_ip[64];
    char sender_mac[HISTORY_NAME_SIZE];
    char target_ip[64];           /* "" when absent */
    char host[HISTORY_NAME_SIZE]; /* "" when null */
    struct history_source src;
};

struct history_counter {
    int64_t key;
    int64_t value;
};

struct history_server {
    char name[HISTORY_NAME_SIZE];
    int64_t server_id; /* -1 unknown */
    bool reachable;
    bool has_rows; /* rows[] holds every row id; otherwise only rows_count */
    int64_t *rows; /* sorted ascending */
    size_t n_rows;
    int64_t rows_count;
    struct history_counter *counters;
    size_t n_counters;
    char checksum_rows[128];     /* "" when absent */
    char checksum_counters[128]; /* "" when absent */
};

struct history_host {
    char name[HISTORY_NAME_SIZE];
    char mac[HISTORY_NAME_SIZE];
    int64_t server_id; /* -1 unknown */
};

struct history {
    char dir[4096];
    /* client.jsonl, sorted by start */
    struct history_op *ops;
    size_t n_ops;
    /* nemesis.jsonl, paired start/end, sorted by start */
    struct history_fault *faults;
    size_t n_faults;
    /* observe-*.jsonl, merged and sorted by t */
    struct history_vip *vip;
    size_t n_vip;
    size_t n_observe_files;
    /* arp.jsonl, sorted by t */
    struct history_arp *arp;
    size_t n_arp;
    /* final.json */
    bool has_final;
    struct history_server *servers;
    size_t n_servers;
    double healed_at; /* -1 when absent */
    /* run.json */
    bool has_run;
    char system[HISTORY_NAME_SIZE]; /* "" when unknown */
    char vip_address[64];
    int64_t seed;
    double run_start, run_end; /* -1 when absent */
    struct history_host *hosts;
    size_t n_hosts;
    /* the span every record falls in: for lines with no end of their own */
    double t_min, t_max;
    /* lines ignored: a torn last line of a killed producer */
    size_t n_torn;
    char **file_names; /* owned; records point into these */
    size_t n_file_names;
};

/* Read the run directory @dir into @h (zeroed first). client.jsonl must exist; every other file
 * is optional (a checker without its data says so). A last line without its newline that does
 * not parse is counted in n_torn and skipped (a producer killed mid-write); any other line that
 * does not parse, or lacks a field HISTORY.md makes mandatory, fails the load. Returns 0,
 * -ENOENT (no client.jsonl), -EINVAL (errmsg: file:line and what is wrong), -ENOMEM, or -errno
 * of a read. On error @h is freed. */
int history_load(const char *dir, struct history *h, char *errmsg, size_t errlen);

/* Free everything @h owns; @h is then empty. */
void history_free(struct history *h);

/* The host name of @server_id (run.json hosts, else final.json servers), or NULL. */
const char *history_host_of_server(const struct history *h, int64_t server_id);

/* The host name owning MAC address @mac (run.json hosts), or NULL. */
const char *history_host_of_mac(const struct history *h, const char *mac);

/* Format @op as one line of client.jsonl (with its newline) into @buf; @error may be NULL.
 * Returns the length, or -ENOSPC when @buf is too small. */
int history_format_op(const struct history_op *op, const char *error, char *buf, size_t size);

/* "ok", "fail", "unknown"; "insert", "incr". */
const char *history_outcome_name(enum history_outcome outcome);
const char *history_f_name(enum history_f f);

#endif /* MMC_JEPSEN_HISTORY_H */
