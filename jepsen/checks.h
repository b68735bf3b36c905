/*
 * The checkers of a chaos run: one verdict per invariant of ../shared/DESIGN-NOTES.md, each with
 * the evidence that proves a failure, and the measurements the report shows (write pauses per
 * fault kind, dual-holder time, who held the VIP when, which epoch wrote when).
 *
 * Pure: checks_run() reads only the history it is given (jepsen/history.h) and its options; it
 * never reads a file or a clock. What each verdict means exactly, and why, is in
 * jepsen/HISTORY.md ("What the checker concludes").
 */
#ifndef MMC_JEPSEN_CHECKS_H
#define MMC_JEPSEN_CHECKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jepsen/history.h"

enum checks_invariant {
    CHECKS_ONE_HOLDER,    /* (a) at no instant two hosts hold the VIP */
    CHECKS_ONE_WRITER,    /* (b) at no instant two servers commit client writes */
    CHECKS_NO_LOST_WRITE, /* (c) every acknowledged write is there at the end */
    CHECKS_CONVERGENCE,   /* (d) equal data on every server after healing */
    CHECKS_LIVENESS,      /* (e) writes resume after a fault; no failover without one */
    CHECKS_N
};

enum checks_verdict { CHECKS_PASS, CHECKS_FAIL, CHECKS_SKIP };

struct checks_options {
    double gap_ms;             /* a write-unavailability window is a gap longer than this */
    double grace_ms;           /* a fault "just ended" this long after its end record */
    double max_quiet_pause_ms; /* a window with no fault to explain it fails above this */
    double max_pause_ms;       /* any window fails above this (0: no bound) */
    double max_heal_pause_ms;  /* writes must resume this soon after a fault ends */
    size_t max_evidence;       /* evidence lines kept per invariant */
};

/* The defaults documented in HISTORY.md: 200 ms, 5000 ms, 1000 ms, 30000 ms, 2000 ms, 40 lines. */
void checks_options_default(struct checks_options *opt);

struct checks_count {
    char name[32];
    double value;
};

#define CHECKS_MAX_COUNTS 8

struct checks_result {
    enum checks_verdict verdict;
    char summary[512]; /* one line: what was checked and the counts */
    struct checks_count counts[CHECKS_MAX_COUNTS];
    size_t n_counts;
    char **evidence; /* lines: explanations, then "file:line: <the record>" */
    size_t n_evidence;
    size_t n_evidence_dropped; /* beyond max_evidence */
};

/* A time span during which something held; host or label says what. */
struct checks_span {
    double start, end;
    char host[HISTORY_NAME_SIZE];
    int64_t epoch; /* epoch spans only; -1 otherwise */
};

struct checks_window {
    double start, end;  /* the last ok write before, the first ok write after (or the last op) */
    bool resumed;       /* false: no ok write came after it */
    char faults[256];   /* the faults active or just ended, "" when none */
    size_t n_arp_wrong; /* ARP for the VIP from a host not holding it, inside the window */
    double stall_start, stall_end; /* the longest stretch after a heal with no fault active */
};

struct checks_pause {
    char fault[HISTORY_NAME_SIZE];
    size_t n;
    double median_ms, p99_ms, max_ms;
};

struct checks_report {
    struct checks_result results[CHECKS_N];
    /* VIP holdings per host (from the observers) and the intervals with two or more holders */
    struct checks_span *holdings;
    size_t n_holdings;
    struct checks_span *dual;
    size_t n_dual;
    double dual_ms;
    /* which epoch ok writes carried, from its first ok write's start to its last one's end */
    struct checks_span *epochs;
    size_t n_epochs;
    struct checks_window *windows;
    size_t n_windows;
    struct checks_pause *pauses; /* one per fault kind, in order of first appearance */
    size_t n_pauses;
    size_t n_ok, n_fail, n_unknown;
    double t0; /* the origin of relative times: run start, else the first record */
};

/* Check @h against every invariant with @opt. Fills @out (zeroed first; free it with
 * checks_report_free()). Returns 0 or -ENOMEM. */
int checks_run(const struct history *h, const struct checks_options *opt,
               struct checks_report *out);

void checks_report_free(struct checks_report *r);

/* "one-vip-holder", "one-writer", "no-lost-write", "convergence", "liveness". */
const char *checks_invariant_name(enum checks_invariant inv);

/* "PASS", "FAIL", "SKIP". */
const char *checks_verdict_name(enum checks_verdict verdict);

/* Whether any invariant failed. */
bool checks_failed(const struct checks_report *r);

#endif /* MMC_JEPSEN_CHECKS_H */
