/*
 * jepsen/check: the verdicts of one chaos run. Reads the run directory (jepsen/HISTORY.md),
 * checks every invariant (jepsen/checks.h), prints the verdicts (or JSON with --json) and
 * writes the markdown report and the SVG timeline when asked. Exit status: 0 when every
 * invariant holds (or could not be checked for lack of its file), 1 when one fails, 2 on bad
 * input or usage.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jepsen/checks.h"
#include "jepsen/history.h"
#include "jepsen/report.h"

static void usage(FILE *out)
{
    fputs("usage: jepsen/check --dir DIR [--json] [--svg FILE] [--md FILE]\n"
          "                    [--gap-ms MS] [--grace-ms MS] [--max-quiet-pause-ms MS]\n"
          "                    [--max-pause-ms MS] [--max-heal-pause-ms MS] [--max-evidence N]\n"
          "Checks the chaos run in DIR (client.jsonl, nemesis.jsonl, observe-*.jsonl, arp.jsonl,\n"
          "final.json, run.json: see jepsen/HISTORY.md). Exit 0: every invariant holds; 1: one\n"
          "fails (its evidence is printed); 2: bad input.\n",
          out);
}

static int parse_ms(const char *name, const char *text, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || v < 0) {
        fprintf(stderr, "jepsen/check: %s wants a number of milliseconds >= 0, not '%s'\n", name,
                text);
        return -EINVAL;
    }
    *out = v;
    return 0;
}

/* Write one report file with @render; a failure names the file. */
static int write_file(const char *path, const struct history *h, const struct checks_report *r,
                      const struct checks_options *opt, int kind)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "jepsen/check: cannot create %s: %s\n", path, strerror(errno));
        return -errno;
    }
    int rc = kind == 0 ? report_markdown(f, h, r, opt) : report_svg(f, h, r);
    if (fclose(f) != 0 || rc != 0) {
        fprintf(stderr, "jepsen/check: writing %s failed: %s\n", path, strerror(errno));
        return -EIO;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"dir", required_argument, NULL, 'd'},
        {"json", no_argument, NULL, 'j'},
        {"svg", required_argument, NULL, 's'},
        {"md", required_argument, NULL, 'm'},
        {"gap-ms", required_argument, NULL, 'g'},
        {"grace-ms", required_argument, NULL, 'G'},
        {"max-quiet-pause-ms", required_argument, NULL, 'q'},
        {"max-pause-ms", required_argument, NULL, 'p'},
        {"max-heal-pause-ms", required_argument, NULL, 'H'},
        {"max-evidence", required_argument, NULL, 'e'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *dir = NULL, *svg = NULL, *md = NULL;
    bool json = false;
    struct checks_options opt;
    checks_options_default(&opt);
    double evidence;
    int c;
    while ((c = getopt_long(argc, argv, "d:js:m:h", options, NULL)) != -1) {
        int rc = 0;
        switch (c) {
        case 'd':
            dir = optarg;
            break;
        case 'j':
            json = true;
            break;
        case 's':
            svg = optarg;
            break;
        case 'm':
            md = optarg;
            break;
        case 'g':
            rc = parse_ms("--gap-ms", optarg, &opt.gap_ms);
            break;
        case 'G':
            rc = parse_ms("--grace-ms", optarg, &opt.grace_ms);
            break;
        case 'q':
            rc = parse_ms("--max-quiet-pause-ms", optarg, &opt.max_quiet_pause_ms);
            break;
        case 'p':
            rc = parse_ms("--max-pause-ms", optarg, &opt.max_pause_ms);
            break;
        case 'H':
            rc = parse_ms("--max-heal-pause-ms", optarg, &opt.max_heal_pause_ms);
            break;
        case 'e':
            rc = parse_ms("--max-evidence", optarg, &evidence);
            opt.max_evidence = (size_t)evidence;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
        if (rc != 0) {
            return 2;
        }
    }
    if (dir == NULL || optind != argc) {
        usage(stderr);
        return 2;
    }
    struct history h;
    char errmsg[1024];
    int rc = history_load(dir, &h, errmsg, sizeof(errmsg));
    if (rc != 0) {
        fprintf(stderr, "jepsen/check: %s\n", errmsg);
        return 2;
    }
    struct checks_report r;
    rc = checks_run(&h, &opt, &r);
    if (rc != 0) {
        fprintf(stderr, "jepsen/check: out of memory checking %s\n", dir);
        history_free(&h);
        return 2;
    }
    rc = json ? report_json(stdout, &h, &r, &opt) : report_text(stdout, &h, &r, &opt);
    if (rc == 0 && md != NULL) {
        rc = write_file(md, &h, &r, &opt, 0);
    }
    if (rc == 0 && svg != NULL) {
        rc = write_file(svg, &h, &r, &opt, 1);
    }
    int status = rc != 0 ? 2 : checks_failed(&r) ? 1 : 0;
    checks_report_free(&r);
    history_free(&h);
    return status;
}
