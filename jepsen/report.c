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
        fprintf(out, "  +%.3fs .. +%.3fs %9.1f ms  faults: %s%s%s\n", rel(r, w->start),
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

#define SVG_WIDTH    1200
#define SVG_LEFT     120
#define SVG_RIGHT    20
#define SVG_ROW      18
#define SVG_MAX_ROWS 16

struct svg {
    FILE *out;
    double t0, t1; /* the time range shown, ms */
    double plot_width;
};

static double svg_x(const struct svg *s, double t)
{
    double x = SVG_LEFT + (t - s->t0) / (s->t1 - s->t0) * s->plot_width;
    return x < SVG_LEFT ? SVG_LEFT : x > SVG_LEFT + s->plot_width ? SVG_LEFT + s->plot_width : x;
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
    fprintf(s->out, "<text x=\"%d\" y=\"%.1f\" class=\"lbl\">", SVG_LEFT - 8, y + SVG_ROW * 0.7);
    svg_text_escaped(s->out, label);
    fputs("</text>\n", s->out);
}

static void svg_rect(const struct svg *s, double t_a, double t_b, double y, double height,
                     const char *fill, const char *title)
{
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

static const char *fault_color(const char *fault)
{
    /* No green (ok writes), red (failures) or dark grey (pauses). */
    static const char *const palette[] = {"#e6550d", "#756bb1", "#3182bd", "#8c6d31",
                                          "#bcbd22", "#17becf", "#e377c2", "#9c9ede"};
    unsigned hash = 5381;
    for (const char *p = fault; *p; p++) {
        hash = hash * 33 + (unsigned char)*p;
    }
    return palette[hash % (sizeof(palette) / sizeof(palette[0]))];
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
static void svg_op_row(const struct svg *s, const struct history *h, double y, int64_t server,
                       enum history_outcome outcome, const char *fill)
{
    enum { COLUMNS = 1060 / 2 };
    unsigned counts[COLUMNS] = {0};
    unsigned most = 0;
    for (size_t i = 0; i < h->n_ops; i++) {
        const struct history_op *op = &h->ops[i];
        if (op->outcome != outcome || (outcome == HISTORY_OK && op->server_id != server)) {
            continue;
        }
        double t = outcome == HISTORY_OK ? op->end : op->start;
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
        double height = (SVG_ROW - 4) * frac;
        double x = SVG_LEFT + (double)i / (COLUMNS - 1) * s->plot_width;
        fprintf(s->out,
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>\n", x,
                y + SVG_ROW - 2 - height, s->plot_width / COLUMNS, height, fill);
    }
}

int report_svg(FILE *out, const struct history *h, const struct checks_report *r)
{
    struct svg s = {.out = out, .t0 = r->t0, .t1 = span_end(h)};
    if (s.t1 <= s.t0) {
        s.t1 = s.t0 + 1000;
    }
    s.plot_width = SVG_WIDTH - SVG_LEFT - SVG_RIGHT;

    /* The rows: faults, one per VIP host, two holders, epoch, ok writes per server, failed,
     * unknown, pauses. */
    char vip_hosts[SVG_MAX_ROWS][HISTORY_NAME_SIZE];
    size_t n_vip_hosts = 0;
    for (size_t i = 0; i < h->n_vip && n_vip_hosts < SVG_MAX_ROWS; i++) {
        size_t k = 0;
        while (k < n_vip_hosts && strcmp(vip_hosts[k], h->vip[i].host) != 0) {
            k++;
        }
        if (k == n_vip_hosts) {
            snprintf(vip_hosts[n_vip_hosts++], HISTORY_NAME_SIZE, "%s", h->vip[i].host);
        }
    }
    int64_t servers[SVG_MAX_ROWS];
    size_t n_servers = 0;
    for (size_t i = 0; i < h->n_ops && n_servers < SVG_MAX_ROWS; i++) {
        int64_t id = h->ops[i].server_id;
        size_t k = 0;
        while (k < n_servers && servers[k] != id) {
            k++;
        }
        if (id >= 0 && h->ops[i].outcome == HISTORY_OK && k == n_servers) {
            servers[n_servers++] = id;
        }
    }
    for (size_t i = 0; i < n_servers; i++) { /* by server id: m1 above m2 */
        for (size_t j = i + 1; j < n_servers; j++) {
            if (servers[j] < servers[i]) {
                int64_t t = servers[i];
                servers[i] = servers[j];
                servers[j] = t;
            }
        }
    }
    size_t rows = 1 + n_vip_hosts + 1 + 1 + n_servers + 2 + 1;
    double top = 56, gap = 6;
    double plot_height = (double)rows * (SVG_ROW + gap);
    int height = (int)(top + plot_height + 80);

    fprintf(out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" font-family=\"DejaVu Sans, Arial, sans-serif\" "
            "font-size=\"11\">\n",
            SVG_WIDTH, height, SVG_WIDTH, height);
    fputs("<style>.lbl{text-anchor:end;fill:#222}.tick{fill:#555;text-anchor:middle}"
          ".small{font-size:9px;fill:#111}.inv{fill:white}</style>\n",
          out);
    fprintf(out, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", SVG_WIDTH, height);
    fputs("<text x=\"10\" y=\"20\" font-size=\"14\" font-weight=\"bold\">", out);
    svg_text_escaped(out, h->dir);
    fprintf(out,
            "</text>\n<text x=\"10\" y=\"38\">system %s, seed %" PRId64 ", %zu ops "
            "(ok %zu, fail %zu, unknown %zu), %zu faults —",
            system_name(h), h->seed, h->n_ops, r->n_ok, r->n_fail, r->n_unknown, h->n_faults);
    for (int i = 0; i < CHECKS_N; i++) {
        fprintf(out, " %s %s", checks_invariant_name(i),
                checks_verdict_name(r->results[i].verdict));
    }
    fputs("</text>\n", out);

    /* Fault windows as bands behind every row, so a pause lines up with its cause. */
    for (size_t i = 0; i < h->n_faults; i++) {
        const struct history_fault *f = &h->faults[i];
        double x0 = svg_x(&s, f->start), x1 = svg_x(&s, f->end);
        fprintf(out,
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" "
                "fill-opacity=\"0.10\"/>\n",
                x0, top, x1 - x0 > 1 ? x1 - x0 : 1, plot_height, fault_color(f->fault));
    }
    double y = top;
    svg_label(&s, y, "faults");
    for (size_t i = 0; i < h->n_faults; i++) {
        const struct history_fault *f = &h->faults[i];
        char title[256];
        snprintf(title, sizeof(title), "%s %s: +%.3fs .. +%.3fs", f->fault, f->target,
                 rel(r, f->start), rel(r, f->end));
        svg_rect(&s, f->start, f->end, y + 1, SVG_ROW - 2, fault_color(f->fault), title);
        /* The fault and its target when they fit, else the fault alone. */
        char label[128];
        double width = svg_x(&s, f->end) - svg_x(&s, f->start);
        snprintf(label, sizeof(label), "%s %s", f->fault, f->target);
        if (width <= 5.5 * (double)strlen(label)) {
            snprintf(label, sizeof(label), "%s", f->fault);
        }
        if (width > 5.5 * (double)strlen(label)) {
            fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" class=\"small inv\">",
                    svg_x(&s, f->start) + 3, y + SVG_ROW * 0.7);
            svg_text_escaped(out, label);
            fputs("</text>\n", out);
        }
    }
    y += SVG_ROW + gap;
    for (size_t k = 0; k < n_vip_hosts; k++) {
        char label[64];
        snprintf(label, sizeof(label), "VIP on %s", vip_hosts[k]);
        svg_label(&s, y, label);
        fprintf(out, "<rect x=\"%d\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" fill=\"#f4f4f4\"/>\n",
                SVG_LEFT, y, s.plot_width, SVG_ROW);
        for (size_t i = 0; i < r->n_holdings; i++) {
            const struct checks_span *sp = &r->holdings[i];
            if (strcmp(sp->host, vip_hosts[k]) == 0) {
                char title[128];
                snprintf(title, sizeof(title), "%s holds the VIP +%.3fs .. +%.3fs", sp->host,
                         rel(r, sp->start), rel(r, sp->end));
                svg_rect(&s, sp->start, sp->end, y + 2, SVG_ROW - 4, host_color(k), title);
            }
        }
        y += SVG_ROW + gap;
    }
    svg_label(&s, y, "two holders");
    for (size_t i = 0; i < r->n_dual; i++) {
        char title[128];
        snprintf(title, sizeof(title), "%s hold the VIP +%.3fs .. +%.3fs", r->dual[i].host,
                 rel(r, r->dual[i].start), rel(r, r->dual[i].end));
        svg_rect(&s, r->dual[i].start, r->dual[i].end, y, SVG_ROW, "#d62728", title);
    }
    y += SVG_ROW + gap;
    svg_label(&s, y, "writer epoch");
    for (size_t i = 0; i < r->n_epochs; i++) {
        const struct checks_span *sp = &r->epochs[i];
        char title[128], text[64];
        snprintf(text, sizeof(text), "e%" PRId64 " %s", sp->epoch, sp->host);
        snprintf(title, sizeof(title), "epoch %" PRId64 " on %s: +%.3fs .. +%.3fs", sp->epoch,
                 sp->host, rel(r, sp->start), rel(r, sp->end));
        svg_rect(&s, sp->start, sp->end, y + 2, SVG_ROW - 4, i % 2 ? "#9ecae1" : "#c6dbef", title);
        if (svg_x(&s, sp->end) - svg_x(&s, sp->start) > 7.0 * (double)strlen(text)) {
            fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" class=\"small\">%s</text>\n",
                    svg_x(&s, sp->start) + 3, y + SVG_ROW * 0.7, text);
        }
    }
    if (r->n_epochs == 0) {
        fprintf(out,
                "<text x=\"%d\" y=\"%.1f\" class=\"small\">no epochs (keepalived, or no "
                "mmcoord.epoch readable)</text>\n",
                SVG_LEFT + 4, y + SVG_ROW * 0.7);
    }
    y += SVG_ROW + gap;
    for (size_t k = 0; k < n_servers; k++) {
        char label[64];
        const char *host = history_host_of_server(h, servers[k]);
        if (host != NULL) {
            snprintf(label, sizeof(label), "ok writes %s", host);
        } else {
            snprintf(label, sizeof(label), "ok writes id %" PRId64, servers[k]);
        }
        svg_label(&s, y, label);
        svg_op_row(&s, h, y, servers[k], HISTORY_OK, "#2ca02c");
        y += SVG_ROW + gap;
    }
    svg_label(&s, y, "failed writes");
    svg_op_row(&s, h, y, -1, HISTORY_FAIL, "#d62728");
    y += SVG_ROW + gap;
    svg_label(&s, y, "unknown writes");
    svg_op_row(&s, h, y, -1, HISTORY_UNKNOWN, "#ff9896");
    y += SVG_ROW + gap;
    svg_label(&s, y, "write pauses");
    for (size_t i = 0; i < r->n_windows; i++) {
        const struct checks_window *w = &r->windows[i];
        char title[384], text[32];
        snprintf(title, sizeof(title), "no ok write +%.3fs .. +%.3fs (%.1f ms); faults: %s",
                 rel(r, w->start), rel(r, w->end), w->end - w->start,
                 w->faults[0] ? w->faults : "none");
        svg_rect(&s, w->start, w->end, y + 2, SVG_ROW - 4, w->faults[0] ? "#555555" : "#d62728",
                 title);
        snprintf(text, sizeof(text), "%.0f ms", w->end - w->start);
        if (svg_x(&s, w->end) - svg_x(&s, w->start) > 7.0 * (double)strlen(text)) {
            fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" class=\"small inv\">%s</text>\n",
                    svg_x(&s, w->start) + 2, y + SVG_ROW * 0.7, text);
        }
    }
    y += SVG_ROW + gap;

    /* Time axis in seconds since the run's origin. */
    double seconds = (s.t1 - s.t0) / 1000.0, step = tick_step(seconds);
    fprintf(out, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n",
            SVG_LEFT, y, SVG_LEFT + s.plot_width, y);
    for (double t = 0; t <= seconds + 1e-9; t += step) {
        double x = svg_x(&s, s.t0 + t * 1000.0);
        fprintf(out,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ccc\"/>\n"
                "<text x=\"%.1f\" y=\"%.1f\" class=\"tick\">%g</text>\n",
                x, top, x, y + 4, x, y + 16, t);
    }
    fprintf(out,
            "<text x=\"%.1f\" y=\"%.1f\" class=\"tick\">seconds since the start of the "
            "run</text>\n",
            SVG_LEFT + s.plot_width / 2, y + 32);
    /* Legend. */
    double ly = y + 52;
    struct {
        const char *color, *text;
    } legend[] = {{"#2ca02c", "ok write (bar height: count)"},
                  {"#d62728", "failed write / two VIP holders / pause without fault"},
                  {"#ff9896", "unknown outcome"},
                  {"#555555", "write pause during a fault"},
                  {"#c6dbef", "writer epoch"}};
    double lx = SVG_LEFT;
    for (size_t i = 0; i < sizeof(legend) / sizeof(legend[0]); i++) {
        fprintf(out,
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"10\" height=\"10\" fill=\"%s\"/>"
                "<text x=\"%.1f\" y=\"%.1f\">%s</text>\n",
                lx, ly - 9, legend[i].color, lx + 14, ly, legend[i].text);
        lx += 30 + 6.2 * (double)strlen(legend[i].text);
    }
    fputs("</svg>\n", out);
    return finish(out);
}
