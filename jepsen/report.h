/*
 * What jepsen/check prints and writes from a checked run: the text verdicts on stdout, the same
 * as JSON (--json), a markdown report (--md: a table per invariant and per fault kind) and a
 * timeline picture (--svg: writes ok and failed over time, fault windows, the VIP's holder per
 * host and the writer's epoch, so that a person sees a failover at a glance).
 *
 * Every function writes to a FILE the caller opened and owns; they read only @h and @r.
 * They return 0, or -EIO when writing failed (the caller names the file).
 */
#ifndef MMC_JEPSEN_REPORT_H
#define MMC_JEPSEN_REPORT_H

#include <stdio.h>

#include "jepsen/checks.h"
#include "jepsen/history.h"

/* The verdict lines, the pause table, the windows and, for each FAIL, its evidence. */
int report_text(FILE *out, const struct history *h, const struct checks_report *r,
                const struct checks_options *opt);

/* One JSON object: {"verdict", "run", "ops", "invariants":[...], "pauses":[...],
 * "windows":[...], "dual":[...]} (HISTORY.md lists the fields). */
int report_json(FILE *out, const struct history *h, const struct checks_report *r,
                const struct checks_options *opt);

/* The markdown report. */
int report_markdown(FILE *out, const struct history *h, const struct checks_report *r,
                    const struct checks_options *opt);

/* The timeline as a standalone SVG document (hand-written, no scripts, no external fonts). */
int report_svg(FILE *out, const struct history *h, const struct checks_report *r);

#endif /* MMC_JEPSEN_REPORT_H */
