/*
 * Rendering a checked run: text, JSON (jansson), markdown and a hand-written SVG timeline.
 * Times on screen are seconds since the run's origin (checks_report.t0); the records quoted as
 * evidence keep their raw CLOCK_MONOTONIC milliseconds.
 */
#include "jepsen/report.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static double rel(const struct checks_report *r, double t)
{
    return (t - r->t0) / 1000.0;
}

static const char *system_name(const struct history *h)
{
    return h->system[0] ? h->system : "unknown";
}

static double span_end(const struct history *h)
{
    return h->run_end > h->t_max ? h->run_end : h->t_max;
}

static int finish(FILE *out)
{
    return fflush(out) == 0 && !ferror(out) ? 0 : -EIO;
}

/* ---- text ---- */

int report_text(FILE *out, const struct history *h, const struct checks_report *r,
                const struct checks_options *opt)
{
    fprintf(out,
            "run %s: system %s, seed %" PRId64 ", %.1f s; %zu ops (ok %zu, fail %zu, "
            "unknown %zu); %zu faults; %zu observer file(s)%s\n",
            h->dir, system_name(h), h->seed, (span_end(h) - r->t0) / 1000.0, h->n_ops, r->n_ok,
            r->n_fail, r->n_unknown, h->n_faults, h->n_observe_files,
            h->n_torn ? "; a torn last line skipped" : "");
    for (int i = 0; i < CHECKS_N; i++) {
        fprintf(out, "%-15s %s  %s\n", checks_invariant_name(i),
                checks_verdict_name(r->results[i].verdict), r->results[i].summary);
    }
    if (r->n_pauses > 0) {
        fprintf(out,
                "write pauses per fault kind (longest gap between ok writes from the "
                "fault's start to %.0f ms after its end):\n",
                opt->grace_ms);
        fprintf(out, "  %-24s %5s %10s %10s %10s\n", "fault", "n", "median ms", "p99 ms", "max ms");
        for (size_t i = 0; i < r->n_pauses; i++) {
            const struct checks_pause *p = &r->pauses[i];
            fprintf(out, "  %-24s %5zu %10.1f %10.1f %10.1f\n", p->fault, p->n, p->median_ms,
                    p->p99_ms, p->max_ms);
        }
    }
    fprintf(out, "write-unavailability windows over %.0f ms: %zu\n", opt->gap_ms, r->n_windows);
    for (size_t i = 0; i < r->n_windows && i < 50; i++) {
        const struct checks_window *w = &r->windows[i];
        fprintf(out, "  %+.3fs .. %+.3fs %9.1f ms  faults: %s%s%s\n", rel(r, w->start),
                rel(r, w->end), w->end - w->start, w->faults[0] ? w->faults : "none",
                w->resumed ? "" : "  (not resumed)",
                w->n_arp_wrong ? "  (ARP from non-holder)" : "");
    }
    if (r->n_windows > 50) {
        fprintf(out, "  ... %zu more (see --json or --md)\n", r->n_windows - 50);
    }
    for (int i = 0; i < CHECKS_N; i++) {
        const struct checks_result *res = &r->results[i];
        if (res->verdict != CHECKS_FAIL) {
            continue;
        }
        fprintf(out, "FAIL %s: evidence\n", checks_invariant_name(i));
        for (size_t k = 0; k < res->n_evidence; k++) {
            fprintf(out, "  %s\n", res->evidence[k]);
        }
        if (res->n_evidence_dropped) {
            fprintf(out, "  ... %zu more line(s)\n", res->n_evidence_dropped);
        }
    }
    fprintf(out, "verdict: %s\n", checks_failed(r) ? "FAIL" : "PASS");
    return finish(out);
}

/* ---- JSON ---- */

static json_t *number(double v)
{
    return json_real(round(v * 1000.0) / 1000.0);
}

int report_json(FILE *out, const struct history *h, const struct checks_report *r,
                const struct checks_options *opt)
{
    json_t *root = json_object();
    json_object_set_new(root, "verdict", json_string(checks_failed(r) ? "FAIL" : "PASS"));
    json_object_set_new(root, "run",
                        json_pack("{s:s, s:s, s:I, s:o, s:o, s:I}", "dir", h->dir, "system",
                                  system_name(h), "seed", (json_int_t)h->seed, "t0", number(r->t0),
                                  "end", number(span_end(h)), "torn_lines", (json_int_t)h->n_torn));
    json_object_set_new(root, "ops",
                        json_pack("{s:I, s:I, s:I, s:I}", "total", (json_int_t)h->n_ops, "ok",
                                  (json_int_t)r->n_ok, "fail", (json_int_t)r->n_fail, "unknown",
                                  (json_int_t)r->n_unknown));
    json_object_set_new(root, "options",
                        json_pack("{s:o, s:o, s:o, s:o}", "gap_ms", number(opt->gap_ms), "grace_ms",
                                  number(opt->grace_ms), "max_quiet_pause_ms",
                                  number(opt->max_quiet_pause_ms), "max_pause_ms",
                                  number(opt->max_pause_ms)));
    json_t *invariants = json_array();
    for (int i = 0; i < CHECKS_N; i++) {
        const struct checks_result *res = &r->results[i];
        json_t *counts = json_object();
        for (size_t k = 0; k < res->n_counts; k++) {
            json_object_set_new(counts, res->counts[k].name, number(res->counts[k].value));
        }
        json_t *evidence = json_array();
        for (size_t k = 0; k < res->n_evidence; k++) {
            json_array_append_new(evidence, json_string(res->evidence[k]));
        }
        json_array_append_new(invariants,
                              json_pack("{s:s, s:s, s:s, s:o, s:o, s:I}", "name",
                                        checks_invariant_name(i), "verdict",
                                        checks_verdict_name(res->verdict), "summary", res->summary,
                                        "counts", counts, "evidence", evidence, "evidence_dropped",
                                        (json_int_t)res->n_evidence_dropped));
    }
    json_object_set_new(root, "invariants", invariants);
    json_t *pauses = json_array();
    for (size_t i = 0; i < r->n_pauses; i++) {
        const struct checks_pause *p = &r->pauses[i];
        json_array_append_new(pauses,
                              json_pack("{s:s, s:I, s:o, s:o, s:o}", "fault", p->fault, "n",
                                        (json_int_t)p->n, "median_ms", number(p->median_ms),
                                        "p99_ms", number(p->p99_ms), "max_ms", number(p->max_ms)));
    }
    json_object_set_new(root, "pauses", pauses);
    json_t *windows = json_array();
    for (size_t i = 0; i < r->n_windows; i++) {
        const struct checks_window *w = &r->windows[i];
        json_array_append_new(windows,
                              json_pack("{s:o, s:o, s:o, s:b, s:s, s:I}", "start", number(w->start),
                                        "end", number(w->end), "ms", number(w->end - w->start),
                                        "resumed", w->resumed, "faults", w->faults, "arp_wrong",
                                        (json_int_t)w->n_arp_wrong));
    }
    json_object_set_new(root, "windows", windows);
    json_t *dual = json_array();
    for (size_t i = 0; i < r->n_dual; i++) {
        const struct checks_span *s = &r->dual[i];
        json_array_append_new(dual, json_pack("{s:o, s:o, s:s}", "start", number(s->start), "end",
                                              number(s->end), "hosts", s->host));
    }
    json_object_set_new(root, "dual", dual);
    json_object_set_new(root, "dual_ms", number(r->dual_ms));
    int rc = json_dumpf(root, out, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    json_decref(root);
    fputc('\n', out);
    return rc == 0 ? finish(out) : -EIO;
}

/* ---- markdown ---- */

static void md_cell(FILE *out, const char *text)
{
    for (const char *p = text; *p; p++) {
        if (*p == '|') {
            fputs("\\|", out);
        } else if (*p == '\n') {
            fputc(' ', out);
        } else {
            fputc(*p, out);
        }
    }
}

int report_markdown(FILE *out, const struct history *h, const struct checks_report *r,
                    const struct checks_options *opt)
{
    fprintf(out, "# Chaos run: %s\n\n", checks_failed(r) ? "FAIL" : "PASS");
    fprintf(out,
            "Run directory `%s`, system **%s**, seed %" PRId64 ", %.1f s, %zu operations "
            "(ok %zu, fail %zu, unknown %zu), %zu fault(s).\n\n",
            h->dir, system_name(h), h->seed, (span_end(h) - r->t0) / 1000.0, h->n_ops, r->n_ok,
            r->n_fail, r->n_unknown, h->n_faults);
    fprintf(out, "## Invariants\n\n| invariant | verdict | counts | what was checked |\n"
                 "|---|---|---|---|\n");
    for (int i = 0; i < CHECKS_N; i++) {
        const struct checks_result *res = &r->results[i];
        fprintf(out, "| %s | **%s** | ", checks_invariant_name(i),
                checks_verdict_name(res->verdict));
        for (size_t k = 0; k < res->n_counts; k++) {
            fprintf(out, "%s%s %g", k ? ", " : "", res->counts[k].name, res->counts[k].value);
        }
        fputs(" | ", out);
        md_cell(out, res->summary);
        fputs(" |\n", out);
    }
    fprintf(out,
            "\n## Write pauses per fault kind\n\nThe longest gap between two ok writes "
            "from the fault's start to %.0f ms after its end, per fault; then the median, "
            "99th percentile and maximum over the faults of each kind.\n\n",
            opt->grace_ms);
    fprintf(out, "| fault | n | median ms | p99 ms | max ms |\n|---|---:|---:|---:|---:|\n");
    for (size_t i = 0; i < r->n_pauses; i++) {
        const struct checks_pause *p = &r->pauses[i];
        fprintf(out, "| %s | %zu | %.1f | %.1f | %.1f |\n", p->fault, p->n, p->median_ms, p->p99_ms,
                p->max_ms);
    }
    if (r->n_pauses == 0) {
        fprintf(out, "| (no faults) | 0 | | | |\n");
    }
    fprintf(out, "\nTwo VIP holders at once: %zu interval(s), %.1f ms in total.\n", r->n_dual,
            r->dual_ms);
    fprintf(out, "\n## Write-unavailability windows (no ok write for over %.0f ms)\n\n",
            opt->gap_ms);
    fprintf(out, "| from s | to s | ms | faults active or just ended | note |\n"
                 "|---:|---:|---:|---|---|\n");
    for (size_t i = 0; i < r->n_windows && i < 200; i++) {
        const struct checks_window *w = &r->windows[i];
        fprintf(out, "| %.3f | %.3f | %.1f | ", rel(r, w->start), rel(r, w->end),
                w->end - w->start);
        md_cell(out, w->faults[0] ? w->faults : "none");
        fprintf(out, " | %s%s |\n", w->resumed ? "" : "not resumed ",
                w->n_arp_wrong ? "ARP from a non-holder" : "");
    }
    if (r->n_windows > 200) {
        fprintf(out, "\n%zu more windows: see `jepsen/check --json`.\n", r->n_windows - 200);
    }
    for (int i = 0; i < CHECKS_N; i++) {
        const struct checks_result *res = &r->results[i];
        if (res->n_evidence == 0) {
            continue;
        }
        fprintf(out, "\n## Evidence: %s (%s)\n\n```\n", checks_invariant_name(i),
                checks_verdict_name(res->verdict));
        for (size_t k = 0; k < res->n_evidence; k++) {
            fprintf(out, "%s\n", res->evidence[k]);
        }
        if (res->n_evidence_dropped) {
            fprintf(out, "... %zu more line(s)\n", res->n_evidence_dropped);
        }
        fputs("```\n", out);
    }
    return finish(out);
}

/* ---- SVG timeline ---- */

/* A short run is one panel. A long one is an overview of the whole run, then the run cut into
 * strips of equal length drawn one under the other at one scale: on a single line 1800 s wide a
 * five-second fault is three pixels and a failover a hairline, in a 120-second strip they are 44
 * pixels wide and labelled. */
#define SVG_WIDTH       1200
#define SVG_LEFT        120
#define SVG_RIGHT       20
#define SVG_MAX_ROWS    16
#define SVG_ONE_PANEL_S 180.0 /* runs up to this long: one panel */
#define SVG_STRIP_S     120.0 /* the strip length, unless that makes more than SVG_MAX_STRIPS */
#define SVG_MAX_STRIPS  24
#define SVG_CHAR_SMALL  5.6 /* width of a character of class "small", for fitting labels */

struct svg {
    FILE *out;
    const struct history *h;
    const struct checks_report *r;
    double t0, t1; /* the time range of the panel being drawn, ms */
    double plot_width;
    double row, gap; /* this panel's row height and the space under each row */
    char vip_hosts[SVG_MAX_ROWS][HISTORY_NAME_SIZE];
    size_t n_vip_hosts;
    int64_t servers[SVG_MAX_ROWS];
    size_t n_servers;
};

static double svg_x(const struct svg *s, double t)
{
    double x = SVG_LEFT + (t - s->t0) / (s->t1 - s->t0) * s->plot_width;
    return x < SVG_LEFT ? SVG_LEFT : x > SVG_LEFT + s->plot_width ? SVG_LEFT + s->plot_width : x;
}

/* Whether [t_a, t_b] shows in the panel: what lies outside is not clamped onto its edge. */
static bool svg_visible(const struct svg *s, double t_a, double t_b)
{
    return t_b >= s->t0 && t_a <= s->t1;
}

static void svg_text_escaped(FILE *out, const char *text)
{
    for (const char *p = text; *p; p++) {
        switch (*p) {
        case '<':
            fputs("&lt;", out);
            break;
        case '>':
            fputs("&gt;", out);
            break;
        case '&':
            fputs("&amp;", out);
            break;
        case '"':
            fputs("&quot;", out);
            break;
        default:
            fputc(*p, out);
        }
    }
}

static void svg_label(const struct svg *s, double y, const char *label)
{
    fprintf(s->out, "<text x=\"%d\" y=\"%.1f\" class=\"lbl\">", SVG_LEFT - 8, y + s->row * 0.72);
    svg_text_escaped(s->out, label);
    fputs("</text>\n", s->out);
}

static void svg_rect(const struct svg *s, double t_a, double t_b, double y, double height,
                     const char *fill, const char *title)
{
    if (!svg_visible(s, t_a, t_b)) {
        return;
    }
    double x0 = svg_x(s, t_a), x1 = svg_x(s, t_b);
    if (x1 - x0 < 1) {
        x1 = x0 + 1;
    }
    fprintf(s->out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\">", x0,
            y, x1 - x0, height, fill);
    if (title != NULL) {
        fputs("<title>", s->out);
        svg_text_escaped(s->out, title);
        fputs("</title>", s->out);
    }
    fputs("</rect>\n", s->out);
}

/* @text inside the bar [t_a, t_b] of row @y when it fits. Returns whether it was drawn. */
static bool svg_bar_text(const struct svg *s, double t_a, double t_b, double y, const char *text,
                         bool dark)
{
    if (!svg_visible(s, t_a, t_b) || text[0] == '\0') {
        return false;
    }
    double width = svg_x(s, t_b) - svg_x(s, t_a);
    if (width < SVG_CHAR_SMALL * (double)strlen(text) + 4) {
        return false;
    }
    fprintf(s->out, "<text x=\"%.1f\" y=\"%.1f\" class=\"small%s\">", svg_x(s, t_a) + 2,
            y + s->row * 0.72, dark ? "" : " inv");
    svg_text_escaped(s->out, text);
    fputs("</text>\n", s->out);
    return true;
}

/* One colour per fault kind, the same in every run (runs are compared side by side), and a short
 * name for bars too narrow for the full one. No green (ok writes), red (failures, two holders)
 * or dark grey (pauses). */
struct fault_style {
    const char *fault, *short_name, *fill;
    bool dark_text; /* a light fill: black text */
};

static const struct fault_style fault_styles[] = {
    {"kill-mysqld", "km", "#e6550d", false},
    {"kill-daemon", "kd", "#756bb1", false},
    {"kill-host", "kh", "#3182bd", false},
    {"pause-daemon", "pd", "#8c6d31", false},
    {"pause-mysqld", "pm", "#bcbd22", true},
    {"pause-both", "pb", "#17becf", true},
    {"partition-host", "ph", "#e377c2", true},
    {"partition-writer-client", "pwc", "#9c9ede", true},
    {"partition-oneway", "p1w", "#fdae6b", true},
    {"arp-drop", "arp", "#7b4173", false},
    {"link-down", "ld", "#e7ba52", true},
    {"packet-loss", "loss", "#393b79", false},
    {"kill-daemon-fencer", "kdf", "#6baed6", true},
    {"raft-unwritable", "raft", "#a55194", false},
};

#define N_FAULT_STYLES (sizeof(fault_styles) / sizeof(fault_styles[0]))

static const struct fault_style *fault_style(const char *fault)
{
    unsigned hash = 5381;
    for (size_t i = 0; i < N_FAULT_STYLES; i++) {
        if (strcmp(fault_styles[i].fault, fault) == 0) {
            return &fault_styles[i];
        }
    }
    for (const char *p = fault; *p; p++) { /* a kind this file does not know: any colour */
        hash = hash * 33 + (unsigned char)*p;
    }
    return &fault_styles[hash % N_FAULT_STYLES];
}

/* The fault's short name: its own for a known kind, else the kind itself. */
static const char *fault_short_name(const char *fault)
{
    const struct fault_style *st = fault_style(fault);
    return strcmp(st->fault, fault) == 0 ? st->short_name : fault;
}

/* The host a fault hit: "m1" of "m1", "writer->m1" or "writer->m1:out"; "" for "-". */
static void fault_host(const char *target, char *out, size_t size)
{
    const char *arrow = strstr(target, "->");
    const char *host = arrow != NULL ? arrow + 2 : target;
    size_t len = strcspn(host, ":");
    if (strcmp(target, "-") == 0) {
        len = 0;
    }
    snprintf(out, size, "%.*s", (int)(len < size ? len : size - 1), host);
}

static const char *host_color(size_t i)
{
    static const char *const palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b"};
    return palette[i % 5];
}

/* A tick step of 1, 2 or 5 times a power of ten seconds, giving about ten ticks. */
static double tick_step(double seconds)
{
    double raw = seconds / 10.0, base = pow(10.0, floor(log10(raw > 0 ? raw : 1)));
    return raw <= base ? base : raw <= 2 * base ? 2 * base : raw <= 5 * base ? 5 * base : 10 * base;
}

/* Writes of one kind per column of pixels: a bar whose height grows with the count. */
static void svg_op_row(const struct svg *s, double y, int64_t server, enum history_outcome outcome,
                       const char *fill)
{
    enum { COLUMNS = (SVG_WIDTH - SVG_LEFT - SVG_RIGHT) / 2 };
    const struct history *h = s->h;
    unsigned counts[COLUMNS] = {0};
    unsigned most = 0;
    for (size_t i = 0; i < h->n_ops; i++) {
        const struct history_op *op = &h->ops[i];
        if (op->outcome != outcome || (outcome == HISTORY_OK && op->server_id != server)) {
            continue;
        }
        double t = outcome == HISTORY_OK ? op->end : op->start;
        if (!svg_visible(s, t, t)) {
            continue;
        }
        int column = (int)((svg_x(s, t) - SVG_LEFT) / s->plot_width * (COLUMNS - 1));
        if (column >= 0 && column < COLUMNS && ++counts[column] > most) {
            most = counts[column];
        }
    }
    for (int i = 0; i < COLUMNS; i++) {
        if (counts[i] == 0) {
            continue;
        }
        double frac = 0.3 + 0.7 * log1p(counts[i]) / log1p(most);
        double height = (s->row - 4) * frac;
        double x = SVG_LEFT + (double)i / (COLUMNS - 1) * s->plot_width;
        fprintf(s->out,
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>\n", x,
                y + s->row - 2 - height, s->plot_width / COLUMNS, height, fill);
    }
}

static size_t svg_rows(const struct svg *s)
{
    /* faults, VIP per host, two holders, epoch (when there are epochs), ok writes per server,
     * failed, unknown, pauses */
    return 1 + s->n_vip_hosts + 1 + (s->r->n_epochs > 0) + s->n_servers + 2 + 1;
}

static double svg_panel_height(const struct svg *s)
{
    return 18 + (double)svg_rows(s) * (s->row + s->gap) + 26;
}

static void svg_fault_row(const struct svg *s, double y)
{
    const struct history *h = s->h;
    const struct checks_report *r = s->r;
    svg_label(s, y, "faults");
    for (size_t i = 0; i < h->n_faults; i++) {
        const struct history_fault *f = &h->faults[i];
        const struct fault_style *st = fault_style(f->fault);
        char title[256], host[64], label[160];
        snprintf(title, sizeof(title), "%s %s: %+.3fs .. %+.3fs (%.1f s)", f->fault, f->target,
                 rel(r, f->start), rel(r, f->end), (f->end - f->start) / 1000.0);
        svg_rect(s, f->start, f->end, y + 1, s->row - 2, st->fill, title);
        /* The longest label that fits: kind and target, kind and host, short name and host,
         * short name (the legend says what a short name stands for). */
        fault_host(f->target, host, sizeof(host));
        const char *short_name = fault_short_name(f->fault);
        snprintf(label, sizeof(label), "%s %s", f->fault, f->target);
        if (svg_bar_text(s, f->start, f->end, y, label, st->dark_text)) {
            continue;
        }
        snprintf(label, sizeof(label), "%s %s", f->fault, host);
        if (svg_bar_text(s, f->start, f->end, y, label, st->dark_text)) {
            continue;
        }
        snprintf(label, sizeof(label), "%s %s", short_name, host);
        if (!svg_bar_text(s, f->start, f->end, y, label, st->dark_text)) {
            svg_bar_text(s, f->start, f->end, y, short_name, st->dark_text);
        }
    }
}

/* One panel: the time range [from, to] (ms) with every row and its own time axis, at @y.
 * Returns the y below it. */
static double svg_panel(struct svg *s, double y, double from, double to, const char *heading)
{
    const struct history *h = s->h;
    const struct checks_report *r = s->r;
    FILE *out = s->out;
    s->t0 = from;
    s->t1 = to;
    fputs("<text x=\"10\" y=\"", out);
    fprintf(out, "%.1f\" class=\"head\">", y + 12);
    svg_text_escaped(out, heading);
    fputs("</text>\n", out);
    double top = y + 18;
    double plot_height = (double)svg_rows(s) * (s->row + s->gap);

    /* The VIP rows' grey ground, then the fault windows as bands over every row, so that a
     * pause lines up with its cause. */
    for (size_t k = 0; k < s->n_vip_hosts; k++) {
        fprintf(out,
                "<rect x=\"%d\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#f4f4f4\"/>\n",
                SVG_LEFT, top + (double)(k + 1) * (s->row + s->gap), s->plot_width, s->row);
    }
    for (size_t i = 0; i < h->n_faults; i++) {
        const struct history_fault *f = &h->faults[i];
        if (!svg_visible(s, f->start, f->end)) {
            continue;
        }
        double x0 = svg_x(s, f->start), x1 = svg_x(s, f->end);
        fprintf(out,
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" "
                "fill-opacity=\"0.12\"/>\n",
                x0, top, x1 - x0 > 1 ? x1 - x0 : 1, plot_height, fault_style(f->fault)->fill);
    }
    y = top;
    svg_fault_row(s, y);
    y += s->row + s->gap;
    for (size_t k = 0; k < s->n_vip_hosts; k++) {
        char label[64];
        snprintf(label, sizeof(label), "VIP on %s", s->vip_hosts[k]);
        svg_label(s, y, label);
        for (size_t i = 0; i < r->n_holdings; i++) {
            const struct checks_span *sp = &r->holdings[i];
            if (strcmp(sp->host, s->vip_hosts[k]) == 0) {
                char title[128];
                snprintf(title, sizeof(title), "%s holds the VIP %+.3fs .. %+.3fs", sp->host,
                         rel(r, sp->start), rel(r, sp->end));
                svg_rect(s, sp->start, sp->end, y + 2, s->row - 4, host_color(k), title);
            }
        }
        y += s->row + s->gap;
    }
    svg_label(s, y, "two holders");
    for (size_t i = 0; i < r->n_dual; i++) {
        char title[128], text[32];
        snprintf(title, sizeof(title), "%s hold the VIP %+.3fs .. %+.3fs (%.1f ms)",
                 r->dual[i].host, rel(r, r->dual[i].start), rel(r, r->dual[i].end),
                 r->dual[i].end - r->dual[i].start);
        svg_rect(s, r->dual[i].start, r->dual[i].end, y, s->row, "#d62728", title);
        snprintf(text, sizeof(text), "%s", r->dual[i].host);
        svg_bar_text(s, r->dual[i].start, r->dual[i].end, y, text, false);
    }
    y += s->row + s->gap;
    if (r->n_epochs > 0) {
        svg_label(s, y, "writer epoch");
        for (size_t i = 0; i < r->n_epochs; i++) {
            const struct checks_span *sp = &r->epochs[i];
            char title[128], text[64];
            snprintf(text, sizeof(text), "e%" PRId64 " %s", sp->epoch, sp->host);
            snprintf(title, sizeof(title), "epoch %" PRId64 " on %s: %+.3fs .. %+.3fs", sp->epoch,
                     sp->host, rel(r, sp->start), rel(r, sp->end));
            svg_rect(s, sp->start, sp->end, y + 2, s->row - 4, i % 2 ? "#9ecae1" : "#c6dbef",
                     title);
            if (!svg_bar_text(s, sp->start, sp->end, y, text, true)) {
                snprintf(text, sizeof(text), "e%" PRId64, sp->epoch);
                svg_bar_text(s, sp->start, sp->end, y, text, true);
            }
        }
        y += s->row + s->gap;
    }
    for (size_t k = 0; k < s->n_servers; k++) {
        char label[64];
        const char *host = history_host_of_server(h, s->servers[k]);
        if (host != NULL) {
            snprintf(label, sizeof(label), "ok writes %s", host);
        } else {
            snprintf(label, sizeof(label), "ok writes id %" PRId64, s->servers[k]);
        }
        svg_label(s, y, label);
        svg_op_row(s, y, s->servers[k], HISTORY_OK, "#2ca02c");
        y += s->row + s->gap;
    }
    svg_label(s, y, "failed writes");
    svg_op_row(s, y, -1, HISTORY_FAIL, "#d62728");
    y += s->row + s->gap;
    svg_label(s, y, "unknown writes");
    svg_op_row(s, y, -1, HISTORY_UNKNOWN, "#ff9896");
    y += s->row + s->gap;
    svg_label(s, y, "write pauses");
    for (size_t i = 0; i < r->n_windows; i++) {
        const struct checks_window *w = &r->windows[i];
        char title[384], text[32];
        snprintf(title, sizeof(title), "no ok write %+.3fs .. %+.3fs (%.1f ms); faults: %s",
                 rel(r, w->start), rel(r, w->end), w->end - w->start,
                 w->faults[0] ? w->faults : "none");
        svg_rect(s, w->start, w->end, y + 2, s->row - 4, w->faults[0] ? "#555555" : "#d62728",
                 title);
        snprintf(text, sizeof(text), "%.0f ms", w->end - w->start);
        if (!svg_bar_text(s, w->start, w->end, y, text, false)) {
            snprintf(text, sizeof(text), "%.1f s", (w->end - w->start) / 1000.0);
            svg_bar_text(s, w->start, w->end, y, text, false);
        }
    }
    y += s->row + s->gap;

    /* Time axis in seconds since the run's origin. */
    double first = (s->t0 - r->t0) / 1000.0, seconds = (s->t1 - s->t0) / 1000.0;
    double step = tick_step(seconds);
    fprintf(out, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n",
            SVG_LEFT, y, SVG_LEFT + s->plot_width, y);
    for (double t = ceil(first / step - 1e-9) * step; t <= first + seconds + 1e-9; t += step) {
        double x = svg_x(s, r->t0 + t * 1000.0);
        fprintf(out,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ccc\"/>\n"
                "<text x=\"%.1f\" y=\"%.1f\" class=\"tick\">%g</text>\n",
                x, top, x, y + 4, x, y + 15, fabs(t) < 1e-9 ? 0.0 : t);
    }
    return y + 26;
}

/* The row legend and the fault kinds of this run with their colour and short name, from @y.
 * Returns the y below it; draws only when @draw (else it measures). */
static double svg_legend(const struct svg *s, double y, bool draw)
{
    FILE *out = s->out;
    struct {
        const char *color, *text;
    } legend[] = {{"#2ca02c", "ok write (bar height: count)"},
                  {"#d62728", "failed write / two VIP holders / pause without fault"},
                  {"#ff9896", "unknown outcome"},
                  {"#555555", "write pause during a fault"},
                  {"#c6dbef", "writer epoch"}};
    double x = SVG_LEFT;
    y += 12;
    for (size_t i = 0; i < sizeof(legend) / sizeof(legend[0]) && draw; i++) {
        fprintf(out,
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"10\" height=\"10\" fill=\"%s\"/>"
                "<text x=\"%.1f\" y=\"%.1f\">%s</text>\n",
                x, y - 9, legend[i].color, x + 14, y, legend[i].text);
        x += 30 + 6.2 * (double)strlen(legend[i].text);
    }
    const struct history *h = s->h;
    if (h->n_faults == 0) {
        return y + 8;
    }
    y += 18;
    x = SVG_LEFT;
    if (draw) {
        fprintf(out, "<text x=\"%d\" y=\"%.1f\" class=\"lbl\">fault kinds</text>\n", SVG_LEFT - 8,
                y);
    }
    for (size_t i = 0; i < h->n_faults; i++) {
        bool seen = false;
        for (size_t k = 0; k < i && !seen; k++) {
            seen = strcmp(h->faults[k].fault, h->faults[i].fault) == 0;
        }
        if (seen) {
            continue;
        }
        const char *name = h->faults[i].fault, *short_name = fault_short_name(name);
        bool has_short = strcmp(short_name, name) != 0;
        char text[96];
        snprintf(text, sizeof(text), "%s%s%s", has_short ? short_name : "", has_short ? " = " : "",
                 name);
        double width = 30 + 6.2 * (double)strlen(text);
        if (x + width > SVG_WIDTH - SVG_RIGHT) {
            x = SVG_LEFT;
            y += 16;
        }
        if (draw) {
            fprintf(out,
                    "<rect x=\"%.1f\" y=\"%.1f\" width=\"10\" height=\"10\" fill=\"%s\"/>"
                    "<text x=\"%.1f\" y=\"%.1f\">",
                    x, y - 9, fault_style(name)->fill, x + 14, y);
            svg_text_escaped(out, text);
            fputs("</text>\n", out);
        }
        x += width;
    }
    return y + 8;
}

/* The header: the run, its counts and every invariant's verdict in its colour. */
static void svg_header(const struct svg *s, double strip_s)
{
    const struct history *h = s->h;
    const struct checks_report *r = s->r;
    FILE *out = s->out;
    fputs("<text x=\"10\" y=\"20\" font-size=\"14\" font-weight=\"bold\">", out);
    svg_text_escaped(out, h->dir);
    fprintf(out,
            "</text>\n<text x=\"10\" y=\"38\">system %s, seed %" PRId64 ", %.0f s, %zu ops "
            "(ok %zu, fail %zu, unknown %zu), %zu faults; two VIP holders %.1f s in all</text>\n",
            system_name(h), h->seed, (span_end(h) - r->t0) / 1000.0, h->n_ops, r->n_ok, r->n_fail,
            r->n_unknown, h->n_faults, r->dual_ms / 1000.0);
    fputs("<text x=\"10\" y=\"56\">", out);
    for (int i = 0; i < CHECKS_N; i++) {
        enum checks_verdict v = r->results[i].verdict;
        fprintf(out, "%s%s <tspan font-weight=\"bold\" fill=\"%s\">%s</tspan>", i ? ",  " : "",
                checks_invariant_name(i),
                v == CHECKS_FAIL   ? "#d62728"
                : v == CHECKS_PASS ? "#1a7f1a"
                                   : "#777777",
                checks_verdict_name(v));
    }
    fputs("</text>\n", out);
    fputs("<text x=\"10\" y=\"72\" class=\"note\">Seconds since the start of the run. A "
          "failover: a fault band, writes stop (a grey pause), the VIP moves to another host's "
          "row and ok writes resume on another server.</text>\n",
          out);
    if (r->n_epochs == 0) {
        fputs("<text x=\"10\" y=\"86\" class=\"note\">No writer epochs in this run "
              "(keepalived has none, or mmcoord.epoch was not readable): the ok-write rows say "
              "which server took writes.</text>\n",
              out);
    }
    fprintf(out, "<text x=\"10\" y=\"%d\" class=\"note\">", r->n_epochs == 0 ? 100 : 86);
    if (strip_s > 0) {
        fprintf(out, "The whole run first, then cut into strips of %.0f s at one scale. ", strip_s);
    }
    fputs("Hover over a bar for its exact times.</text>\n", out);
}

int report_svg(FILE *out, const struct history *h, const struct checks_report *r)
{
    struct svg s = {.out = out, .h = h, .r = r};
    double t0 = r->t0, t1 = span_end(h);
    if (t1 <= t0) {
        t1 = t0 + 1000;
    }
    s.plot_width = SVG_WIDTH - SVG_LEFT - SVG_RIGHT;
    for (size_t i = 0; i < h->n_vip && s.n_vip_hosts < SVG_MAX_ROWS; i++) {
        size_t k = 0;
        while (k < s.n_vip_hosts && strcmp(s.vip_hosts[k], h->vip[i].host) != 0) {
            k++;
        }
        if (k == s.n_vip_hosts) {
            snprintf(s.vip_hosts[s.n_vip_hosts++], HISTORY_NAME_SIZE, "%s", h->vip[i].host);
        }
    }
    for (size_t i = 0; i < h->n_ops && s.n_servers < SVG_MAX_ROWS; i++) {
        int64_t id = h->ops[i].server_id;
        size_t k = 0;
        while (k < s.n_servers && s.servers[k] != id) {
            k++;
        }
        if (id >= 0 && h->ops[i].outcome == HISTORY_OK && k == s.n_servers) {
            s.servers[s.n_servers++] = id;
        }
    }
    for (size_t i = 0; i < s.n_servers; i++) { /* by server id: m1 above m2 */
        for (size_t j = i + 1; j < s.n_servers; j++) {
            if (s.servers[j] < s.servers[i]) {
                int64_t t = s.servers[i];
                s.servers[i] = s.servers[j];
                s.servers[j] = t;
            }
        }
    }

    double seconds = (t1 - t0) / 1000.0, strip_s = 0;
    size_t n_strips = 0;
    if (seconds > SVG_ONE_PANEL_S) {
        strip_s = SVG_STRIP_S;
        if (seconds / strip_s > SVG_MAX_STRIPS) {
            strip_s = ceil(seconds / SVG_MAX_STRIPS / 60.0) * 60.0;
        }
        n_strips = (size_t)ceil(seconds / strip_s - 1e-9);
    }
    double header = r->n_epochs == 0 ? 112 : 98;
    s.row = 18;
    s.gap = 6;
    double legend = svg_legend(&s, 0, false);
    double height = header + svg_panel_height(&s) + legend + 10;
    if (n_strips > 0) {
        s.row = 14;
        s.gap = 4;
        height += (double)n_strips * (svg_panel_height(&s) + 6);
    }

    fprintf(out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%.0f\" "
            "viewBox=\"0 0 %d %.0f\" font-family=\"DejaVu Sans, Arial, sans-serif\" "
            "font-size=\"11\">\n",
            SVG_WIDTH, height, SVG_WIDTH, height);
    fputs("<style>.lbl{text-anchor:end;fill:#222}.tick{fill:#555;text-anchor:middle}"
          ".small{font-size:9px;fill:#111}.inv{fill:white}.head{font-weight:bold;fill:#333}"
          ".note{fill:#555}</style>\n",
          out);
    fprintf(out, "<rect width=\"%d\" height=\"%.0f\" fill=\"white\"/>\n", SVG_WIDTH, height);
    svg_header(&s, strip_s);

    s.row = 18;
    s.gap = 6;
    char heading[128];
    snprintf(heading, sizeof(heading), "%s: 0 .. %.0f s", n_strips ? "The whole run" : "The run",
             seconds);
    double y = svg_panel(&s, header, t0, t1, heading);
    y = svg_legend(&s, y, true);
    if (n_strips > 0) {
        s.row = 14;
        s.gap = 4;
        for (size_t k = 0; k < n_strips; k++) {
            double a = (double)k * strip_s;
            snprintf(heading, sizeof(heading), "%.0f .. %.0f s", a, a + strip_s);
            y = svg_panel(&s, y + 6, t0 + a * 1000.0, t0 + (a + strip_s) * 1000.0, heading);
        }
    }
    fputs("</svg>\n", out);
    return finish(out);
}
