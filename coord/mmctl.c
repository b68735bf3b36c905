/*
 * mmctl: the operator's command-line client. It sends one JSON request to a daemon's control
 * socket and prints the answer as text a person reads at a glance, or as JSON with --json.
 * Exit statuses are documented in mmctl(8): 0 success, 1 the daemon could not be reached or
 * answered with an error (or an operator's request was refused, failed, aborted, rolled back
 * or timed out), 2 bad usage, 3 no leader known.
 *
 * The operator's requests (maintenance, switchover, failover --force) are checked and recorded
 * by the daemon; mmctl then polls it until the request has taken effect or ended, and prints
 * each step as it appears.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "coord/config.h"
#include "mysql/check.h"
#include "mysql/credentials.h"

#define DEFAULT_SOCKET      "/run/mmcoord/mmcoordd.sock"
#define EXIT_FAIL           1
#define EXIT_USAGE          2
#define EXIT_NO_LEADER      3
#define CHECK_TIMEOUT_MS    3000
#define POLL_SWITCHOVER_MS  20
#define POLL_MAINTENANCE_MS 50

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: mmctl [--socket PATH | --config FILE] [--json] [--timeout SECONDS] COMMAND\n"
            "             [COMMAND OPTIONS]\n"
            "\n"
            "Commands:\n"
            "  leader   print the raft leader's node id and address (exit 3 if none is known)\n"
            "  status   the cluster at a glance: term, leader, writer, epoch, lease, the leader's\n"
            "           decision, whether the writer has a standby, and every node with its\n"
            "           MySQL state, whether it could be promoted now (or why not) and its\n"
            "           errant transactions\n"
            "  history  the epochs: who wrote when, why the writer changed, the write pause;\n"
            "           and the operator's events (maintenance, switchovers, forced failovers)\n"
            "  maintenance on|off [--reason TEXT]\n"
            "           pause (on) or resume (off) automatic failover; leases are still held\n"
            "  switchover [--to NODE] [--timeout SECONDS]\n"
            "           move the writer to NODE (default: the best candidate, and why) without\n"
            "           losing a write; prints each step and the write pause. --timeout: the\n"
            "           switchover's own (default 10); past it, it rolls back\n"
            "  failover --to NODE --force [--yes] [--timeout SECONDS]\n"
            "           make NODE the writer although the automatic rules refuse; says what may\n"
            "           be lost and asks for \"yes\" on stdin unless --yes\n"
            "  check    preflight: ask every node's MySQL server whether it is set up for\n"
            "           failover without loss (needs --config; talks to MySQL, not to mmcoordd);\n"
            "           exit 1 when any check FAILs\n"
            "\n"
            "Options:\n"
            "  -s, --socket PATH    the daemon's control socket (default " DEFAULT_SOCKET ")\n"
            "  -c, --config FILE    read control_socket from this mmcoordd configuration\n"
            "  -j, --json           print the daemon's answer as JSON (fields in mmctl(8))\n"
            "  -t, --timeout SECS   how long to wait for the daemon (default 5)\n"
            "  -h, --help           show this help and exit\n"
            "  -V, --version        show the version and exit\n"
            "\n"
            "Options after COMMAND belong to it; every command takes --json.\n"
            "\n"
            "Exit status: 0 success; 1 daemon unreachable, error, a check FAILed, or a request\n"
            "refused, failed, aborted, rolled back or timed out; 2 bad usage (also an unknown\n"
            "node, a node that is not a candidate, a switchover to the current writer);\n"
            "3 no leader.\n");
}

/* Send @request to the socket at @path and return the parsed response, or NULL with a message
 * printed on @err. */
static json_t *call_to(const char *path, json_t *request, double timeout, FILE *err)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        fprintf(err, "mmctl: socket: %s\n", strerror(errno));
        return NULL;
    }
    struct timeval tv = {.tv_sec = (time_t)timeout,
                         .tv_usec = (suseconds_t)((timeout - (time_t)timeout) * 1e6)};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof addr.sun_path) {
        fprintf(err, "mmctl: socket path %s is too long\n", path);
        close(fd);
        return NULL;
    }
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        int errnum = errno;
        fprintf(err, "mmctl: cannot connect to %s: %s%s\n", path, strerror(errnum),
                errnum == ENOENT || errnum == ECONNREFUSED ? " (is mmcoordd running?)"
                : errnum == EACCES                         ? " (run as root or a member of the "
                                                             "socket's group)"
                                                           : "");
        close(fd);
        return NULL;
    }
    char *text = json_dumps(request, JSON_COMPACT);
    if (text == NULL) {
        fprintf(err, "mmctl: out of memory\n");
        close(fd);
        return NULL;
    }
    /* The request and its newline in one write: the daemon reads lines. */
    struct iovec iov[2] = {{.iov_base = text, .iov_len = strlen(text)},
                           {.iov_base = "\n", .iov_len = 1}};
    ssize_t sent = writev(fd, iov, 2);
    if (sent != (ssize_t)(iov[0].iov_len + 1)) {
        fprintf(err, "mmctl: writing to %s: %s\n", path,
                sent < 0 ? strerror(errno) : "short write");
        free(text);
        close(fd);
        return NULL;
    }
    free(text);
    size_t cap = 65536, used = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (buf == NULL) {
            fprintf(err, "mmctl: out of memory\n");
            close(fd);
            return NULL;
        }
        if (used == cap) {
            char *bigger = realloc(buf, cap * 2);
            if (bigger == NULL) {
                free(buf);
                buf = NULL;
                continue;
            }
            buf = bigger;
            cap *= 2;
        }
        ssize_t n = read(fd, buf + used, cap - used);
        if (n < 0) {
            fprintf(err, "mmctl: reading from %s: %s\n", path,
                    errno == EAGAIN ? "no answer within the timeout" : strerror(errno));
            free(buf);
            close(fd);
            return NULL;
        }
        if (n == 0 || memchr(buf + used, '\n', (size_t)n) != NULL) {
            used += (size_t)n;
            break;
        }
        used += (size_t)n;
    }
    close(fd);
    json_error_t jerr;
    json_t *response = json_loadb(buf, used, JSON_DISABLE_EOF_CHECK, &jerr);
    free(buf);
    if (response == NULL) {
        fprintf(err, "mmctl: unreadable answer from %s: %s\n", path, jerr.text);
    }
    return response;
}

static bool call_quiet; /* while polling: a daemon briefly unreachable is no news */

/* Send @request to the socket at @path and return the parsed response, or NULL with a message
 * printed (unless call_quiet). */
static json_t *call(const char *path, json_t *request, double timeout)
{
    FILE *err = call_quiet ? fopen("/dev/null", "w") : stderr;
    if (err == NULL) {
        err = stderr;
    }
    json_t *response = call_to(path, request, timeout, err);
    if (err != stderr) {
        fclose(err);
    }
    return response;
}

static const char *str(json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s != NULL ? s : "-";
}

static long long num(json_t *obj, const char *key)
{
    return (long long)json_integer_value(json_object_get(obj, key));
}

static void format_wall_ms(long long wall_ms, char *buf, size_t len)
{
    if (wall_ms <= 0) {
        snprintf(buf, len, "-");
        return;
    }
    time_t secs = (time_t)(wall_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, len - n, ".%03lldZ", wall_ms % 1000);
}

static void format_age(json_t *ms, char *buf, size_t len)
{
    if (!json_is_integer(ms)) {
        snprintf(buf, len, "never");
        return;
    }
    long long v = (long long)json_integer_value(ms);
    if (v < 1000) {
        snprintf(buf, len, "%lldms ago", v);
    } else if (v < 120000) {
        snprintf(buf, len, "%.1fs ago", (double)v / 1000.0);
    } else {
        snprintf(buf, len, "%lldm ago", v / 60000);
    }
}

/* When an event happened, for ordering it among the epochs. */
static long long event_time(json_t *e)
{
    long long begun = num(e, "begun_wall_ms");
    return begun > 0 ? begun : num(e, "ended_wall_ms");
}

static void print_event(json_t *e)
{
    char at[40];
    format_wall_ms(event_time(e), at, sizeof at);
    const char *kind = str(e, "kind");
    const char *reason = str(e, "reason");
    if (strncmp(kind, "maintenance", 11) == 0) {
        printf("%-6s %-6s %-6s %-24s %-9s %s by uid %lld via %s%s%s\n", "*", "-", "-", at, "-",
               strcmp(kind, "maintenance_on") == 0 ? "MAINTENANCE ON" : "maintenance off",
               num(e, "uid"), str(e, "via"), reason[0] != '\0' ? ": " : "", reason);
        return;
    }
    char pause[32] = "-";
    json_t *p = json_object_get(e, "write_pause_ms");
    if (json_is_integer(p)) {
        snprintf(pause, sizeof pause, "%lld ms", (long long)json_integer_value(p));
    }
    const char *from = str(e, "from");
    printf("%-6s %-6s %-6s %-24s %-9s %s %lld %s by uid %lld via %s: %s\n", "*",
           from[0] != '\0' ? from : "-", str(e, "to"), at, pause,
           strcmp(kind, "forced_failover") == 0 ? "forced failover" : "switchover", num(e, "id"),
           str(e, "outcome"), num(e, "uid"), str(e, "via"), reason);
}

static void print_history(json_t *h)
{
    printf("%-6s %-6s %-6s %-24s %-9s %s\n", "EPOCH", "FROM", "TO", "DECIDED", "PAUSE", "WHY");
    json_t *epochs = json_object_get(h, "epochs");
    json_t *events = json_object_get(h, "events");
    size_t next_event = 0;
    size_t i;
    json_t *e;
    json_array_foreach(epochs, i, e)
    {
        /* The operator's events (lines starting with "*") before the epoch decided after
         * them. */
        while (next_event < json_array_size(events) &&
               event_time(json_array_get(events, next_event)) <= num(e, "decided_wall_ms")) {
            print_event(json_array_get(events, next_event++));
        }
        char pause[32] = "-";
        json_t *p = json_object_get(e, "detected_to_opened_ms");
        if (json_is_integer(p)) {
            snprintf(pause, sizeof pause, "%lld ms", (long long)json_integer_value(p));
        }
        const char *from = str(e, "old_writer");
        const char *to = str(e, "new_writer");
        printf("%-6lld %-6s %-6s %-24s %-9s %s\n", num(e, "epoch"), from[0] ? from : "-",
               to[0] ? to : "-", str(e, "decided_at"), pause, str(e, "reason"));
    }
    while (next_event < json_array_size(events)) {
        print_event(json_array_get(events, next_event++));
    }
}

static void print_maintenance_line(json_t *m);

static void print_status(json_t *s)
{
    json_t *maintenance = json_object_get(s, "maintenance");
    if (json_is_true(json_object_get(maintenance, "on"))) {
        print_maintenance_line(maintenance);
        printf("\n");
    }
    json_t *leader = json_object_get(s, "leader");
    char leader_text[200];
    if (json_is_object(leader)) {
        snprintf(leader_text, sizeof leader_text, "%s (%s)", str(leader, "id"),
                 str(leader, "address"));
    } else {
        snprintf(leader_text, sizeof leader_text, "none known");
    }
    printf("cluster %s   term %lld   leader %s\n", str(s, "cluster"), num(s, "term"), leader_text);
    printf("asked   %s (%s, version %s)   commit %lld   applied %lld   last %lld\n", str(s, "node"),
           str(s, "role"), str(s, "version"), num(s, "commit_index"), num(s, "applied_index"),
           num(s, "last_index"));
    json_t *writer = json_object_get(s, "writer");
    if (json_is_object(writer)) {
        json_t *wnode = json_object_get(writer, "node");
        printf("writer  %s   epoch %lld%s%s   renewals %lld\n",
               json_is_string(wnode) ? json_string_value(wnode) : "none", num(writer, "epoch"),
               json_is_true(json_object_get(writer, "released")) ? "   released: " : "",
               json_is_true(json_object_get(writer, "released")) ? str(writer, "release_reason")
                                                                 : "",
               num(writer, "renewals"));
        json_t *lease = json_object_get(writer, "local_lease");
        if (json_is_object(lease)) {
            printf("lease   %lld ms left on this node (fences in %lld ms)\n",
                   num(lease, "remaining_ms"), num(lease, "fence_in_ms"));
        }
    }
    json_t *sw = json_object_get(s, "switchover");
    if (json_is_object(sw)) {
        printf("%s %lld in progress: %s -> %s, step %s (uid %lld via %s, timeout %lld ms): %s\n",
               strcmp(str(sw, "kind"), "forced") == 0 ? "forced failover" : "switchover",
               num(sw, "id"), str(sw, "from")[0] != '\0' ? str(sw, "from") : "none", str(sw, "to"),
               str(sw, "step"), num(sw, "uid"), str(sw, "via"), num(sw, "timeout_ms"),
               str(sw, "reason"));
    }
    json_t *decision = json_object_get(s, "decision");
    if (json_is_object(decision)) {
        printf("leader's decision: %s: %s\n", str(decision, "kind"), str(decision, "reason"));
    }
    json_t *host = json_object_get(s, "host");
    if (json_is_object(host)) {
        printf("this host: %s (%s)%s\n",
               json_is_true(json_object_get(host, "writable")) ? "writable" : "fenced",
               str(host, "reason"),
               json_is_true(json_object_get(host, "vip_held")) ? ", holds the VIP" : "");
    }
    json_t *no_writer = json_object_get(s, "no_writer");
    if (json_is_string(no_writer)) {
        printf("no writer: %s\n", json_string_value(no_writer));
    }
    json_t *standby = json_object_get(s, "standby");
    if (json_is_object(standby)) {
        printf("standby: %s\n", str(standby, "why"));
    }
    printf("\n%-8s %-21s %-11s %-9s %-12s %-8s %-9s %-9s %-18s %s\n", "NODE", "ADDRESS", "ROLE",
           "CANDIDATE", "LAST CONTACT", "VERSION", "MYSQL", "READ_ONLY", "REPLICATES", "GTID");
    size_t i;
    json_t *n;
    json_array_foreach(json_object_get(s, "nodes"), i, n)
    {
        char contact[32];
        bool self = strcmp(str(n, "id"), str(s, "node")) == 0;
        if (self) {
            snprintf(contact, sizeof contact, "(this node)");
        } else {
            format_age(json_object_get(n, "last_contact_ms"), contact, sizeof contact);
        }
        json_t *report = json_object_get(n, "report");
        json_t *health = json_object_get(n, "health");
        char repl[64] = "-";
        const char *mysql = json_is_object(report) ? str(report, "mysql") : "-";
        const char *read_only = "-";
        const char *gtid = "-";
        if (json_is_object(health)) {
            mysql = str(health, "mysql");
            read_only = json_is_true(json_object_get(health, "read_only")) ? "ON" : "OFF";
            gtid = str(health, "executed");
            json_t *r = json_object_get(health, "replication");
            if (json_is_object(r)) {
                snprintf(repl, sizeof repl, "%s:%lld%s", str(r, "source_host"),
                         num(r, "source_port"),
                         json_is_true(json_object_get(r, "io_running")) &&
                                 json_is_true(json_object_get(r, "sql_running"))
                             ? ""
                             : " (stopped)");
            }
        }
        printf("%-8s %-21s %-11s %-9s %-12s %-8s %-9s %-9s %-18s %s\n", str(n, "id"),
               str(n, "address"), str(n, "raft_role"),
               json_is_true(json_object_get(n, "candidate")) ? "yes" : "no", contact,
               json_is_object(report) ? str(report, "version") : "-", mysql, read_only, repl, gtid);
    }
    printf("\n%-8s %-10s %s\n", "NODE", "PROMOTABLE", "WHY");
    json_array_foreach(json_object_get(s, "nodes"), i, n)
    {
        json_t *promotable = json_object_get(n, "promotable");
        printf("%-8s %-10s %s\n", str(n, "id"),
               !json_is_boolean(promotable) ? "-"
               : json_is_true(promotable)   ? "yes"
                                            : "no",
               str(n, "why"));
        const char *errant = str(n, "errant");
        if (strcmp(errant, "-") != 0 && errant[0] != '\0') {
            printf("%-8s %-10s errant: %s\n", "", "", errant);
        }
    }
}

/* `mmctl check`: the preflight checks of mysql/check.h against every configured node, with the
 * coordinator's credentials from the config. Needs no running daemon. */
static int run_check(const struct config *config, bool as_json)
{
    if (config->mysql_credentials_file[0] == '\0') {
        fprintf(stderr,
                "mmctl: check: %s sets no [local] mysql_credentials_file: the checks log in "
                "as the coordinator's MySQL user from that file\n",
                config->path);
        return EXIT_USAGE;
    }
    struct mysql_credentials credentials;
    char errmsg[512];
    if (mysql_credentials_load(config->mysql_credentials_file, &credentials, errmsg,
                               sizeof errmsg) != 0) {
        fprintf(stderr, "mmctl: check: %s\n", errmsg);
        return EXIT_USAGE;
    }
    struct mysql_check_node nodes[CONFIG_MAX_NODES];
    for (unsigned i = 0; i < config->n_nodes; i++) {
        nodes[i].id = config->nodes[i].id;
        nodes[i].host = config->nodes[i].mysql_host;
        nodes[i].port = config->nodes[i].mysql_port;
        nodes[i].is_master = config->nodes[i].candidate;
    }
    struct mysql_check_report report = {0};
    int rv = mysql_check_run(nodes, config->n_nodes, &credentials, CHECK_TIMEOUT_MS, &report);
    mysql_credentials_wipe(&credentials);
    if (rv != 0) {
        fprintf(stderr, "mmctl: check: out of memory\n");
        return EXIT_FAIL;
    }
    enum mysql_check_status worst = mysql_check_worst(&report);
    if (as_json) {
        json_t *results = mysql_check_to_json(&report);
        json_t *doc = json_pack("{s:b, s:s, s:o}", "ok", worst != MYSQL_CHECK_FAIL, "worst",
                                mysql_check_status_name(worst), "checks",
                                results != NULL ? results : json_array());
        json_dumpf(doc, stdout, JSON_INDENT(2));
        printf("\n");
        json_decref(doc);
    } else {
        mysql_check_print(&report, stdout);
    }
    mysql_check_report_free(&report);
    return worst == MYSQL_CHECK_FAIL ? EXIT_FAIL : 0;
}

/* ---- The operator's requests ---- */

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static uint64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void print_json(json_t *doc)
{
    json_dumpf(doc, stdout, JSON_INDENT(2));
    printf("\n");
    fflush(stdout);
}

/* The exit status a refusal asks for ("exit" in the answer), 1 when it names none. */
static int refusal_exit(json_t *response)
{
    json_t *e = json_object_get(response, "exit");
    int status = json_is_integer(e) ? (int)json_integer_value(e) : EXIT_FAIL;
    return status >= EXIT_FAIL && status <= EXIT_NO_LEADER ? status : EXIT_FAIL;
}

/* Print a refused request and return its exit status. */
static int report_refusal(json_t *response, const char *what, bool as_json)
{
    int status = refusal_exit(response);
    if (as_json) {
        json_object_set_new(response, "exit", json_integer(status));
        print_json(response);
    } else {
        fprintf(stderr, "mmctl: %s refused: %s\n", what, str(response, "error"));
    }
    return status;
}

static void print_maintenance_line(json_t *m)
{
    char since[40];
    format_wall_ms(num(m, "since_wall_ms"), since, sizeof since);
    const char *reason = str(m, "reason");
    if (json_is_true(json_object_get(m, "on"))) {
        printf("MAINTENANCE ON since %s (uid %lld via %s%s%s): automatic failover paused; leases "
               "still held\n",
               since, num(m, "uid"), str(m, "via"), reason[0] != '\0' ? ": " : "", reason);
    } else {
        printf("maintenance off since %s (uid %lld via %s): automatic failover active\n", since,
               num(m, "uid"), str(m, "via"));
    }
}

/* `mmctl maintenance on|off [--reason TEXT]`: record it, then wait until this daemon has
 * applied it. */
static int run_maintenance(const char *path, double timeout, bool on, const char *reason,
                           bool as_json)
{
    json_t *request = json_pack("{s:s, s:b}", "cmd", "maintenance", "on", on);
    if (reason != NULL) {
        json_object_set_new(request, "reason", json_string(reason));
    }
    json_t *answer = call(path, request, timeout);
    json_decref(request);
    if (answer == NULL) {
        return EXIT_FAIL;
    }
    if (!json_is_true(json_object_get(answer, "ok"))) {
        int status = report_refusal(answer, "maintenance", as_json);
        json_decref(answer);
        return status;
    }
    bool changed = json_is_true(json_object_get(answer, "changed"));
    uint64_t deadline = monotonic_ms() + (uint64_t)(timeout * 1000);
    json_t *maintenance = NULL;
    json_t *status_request = json_pack("{s:s}", "cmd", "status");
    call_quiet = true;
    for (;;) {
        json_t *st = call(path, status_request, timeout);
        json_t *m = json_object_get(st, "maintenance");
        if (json_is_object(m) && json_is_true(json_object_get(m, "on")) == on) {
            maintenance = json_incref(m);
            json_decref(st);
            break;
        }
        json_decref(st);
        if (monotonic_ms() >= deadline) {
            break;
        }
        sleep_ms(POLL_MAINTENANCE_MS);
    }
    call_quiet = false;
    json_decref(status_request);
    int status = 0;
    if (maintenance == NULL) {
        status = EXIT_FAIL;
        if (!as_json) {
            fprintf(stderr,
                    "mmctl: maintenance %s was submitted but not applied within %.1f s (a leader "
                    "change?): check `mmctl status` and try again\n",
                    on ? "on" : "off", timeout);
        }
    }
    if (as_json) {
        json_t *doc =
            json_pack("{s:b, s:b, s:b, s:o}", "ok", status == 0, "on", on, "changed", changed,
                      "maintenance", maintenance != NULL ? json_incref(maintenance) : json_null());
        print_json(doc);
        json_decref(doc);
    } else if (maintenance != NULL) {
        if (!changed) {
            printf("maintenance was %s already\n", on ? "on" : "off");
        }
        print_maintenance_line(maintenance);
    }
    json_decref(maintenance);
    json_decref(answer);
    return status;
}

/* The steps of a sequence, in order, with the field that says when each happened. */
static const struct {
    const char *name;
    const char *field;
} steps[] = {
    {"fenced", "fenced_wall_ms"},
    {"caught_up", "caught_up_wall_ms"},
    {"switched", "switched_wall_ms"},
    {"opened", "opened_wall_ms"},
};
#define N_STEPS (sizeof steps / sizeof steps[0])

/* Print every step of @st (a switchover-status answer) not printed yet, with the time since
 * the previous step. @printed: which were; @last_ms: the wall time of the latest printed. */
static void print_new_steps(json_t *st, bool *printed, long long *last_ms)
{
    for (size_t i = 0; i < N_STEPS; i++) {
        long long at = num(st, steps[i].field);
        if (printed[i] || at <= 0) {
            continue;
        }
        printed[i] = true;
        long long since = *last_ms > 0 && at >= *last_ms ? at - *last_ms : 0;
        *last_ms = at;
        char what[400];
        /* In progress: "final"; ended: the event's "gtid", which for a forced failover is the
         * accepted loss, not a position. */
        const char *final = json_is_string(json_object_get(st, "final")) ? str(st, "final")
                            : strcmp(str(st, "kind"), "switchover") == 0 ? str(st, "gtid")
                                                                         : "";
        switch (i) {
        case 0:
            snprintf(what, sizeof what, "%s fenced%s%s", str(st, "from"),
                     final[0] != '\0' ? "; final position " : "", final);
            break;
        case 1:
            snprintf(what, sizeof what, "%s applied it", str(st, "to"));
            break;
        case 2:
            snprintf(what, sizeof what, "epoch %lld goes to %s", num(st, "new_epoch"),
                     str(st, "to"));
            break;
        default:
            snprintf(what, sizeof what, "%s opened epoch %lld", str(st, "to"),
                     num(st, "new_epoch"));
            break;
        }
        printf("  %-10s +%6lld ms  %s\n", steps[i].name, since, what);
    }
    fflush(stdout);
}

/* Poll switchover-status for @answer's id until the sequence ends; print it as it goes. */
static int follow_sequence(const char *path, double timeout, json_t *answer, bool as_json)
{
    long long id = num(answer, "id");
    long long timeout_ms = num(answer, "timeout_ms");
    long long lease_ms = num(answer, "lease_ms");
    uint64_t deadline = monotonic_ms() + (uint64_t)(timeout_ms + 2 * lease_ms + 5000);
    if (!as_json) {
        printf("%s %lld: %s -> %s (%s)\n",
               strcmp(str(answer, "kind"), "forced") == 0 ? "forced failover" : "switchover", id,
               str(answer, "from")[0] != '\0' ? str(answer, "from") : "none", str(answer, "to"),
               str(answer, "reason"));
        fflush(stdout);
    }
    json_t *request = json_pack("{s:s, s:I}", "cmd", "switchover-status", "id", (json_int_t)id);
    bool printed[N_STEPS] = {false};
    long long last_ms = 0;
    json_t *st = NULL;
    const char *state = "unknown";
    call_quiet = true;
    for (;;) {
        json_t *next = call(path, request, timeout);
        if (next != NULL && json_is_true(json_object_get(next, "ok"))) {
            json_decref(st);
            st = next;
            state = str(st, "state");
            if (last_ms == 0 && num(st, "begun_wall_ms") > 0) {
                last_ms = num(st, "begun_wall_ms");
            }
            if (!as_json) {
                print_new_steps(st, printed, &last_ms);
            }
            if (strcmp(state, "in_progress") != 0 && strcmp(state, "submitted") != 0) {
                break;
            }
        } else {
            json_decref(next);
        }
        if (monotonic_ms() >= deadline) {
            state = "timed_out";
            break;
        }
        sleep_ms(POLL_SWITCHOVER_MS);
    }
    call_quiet = false;
    json_decref(request);
    int status = strcmp(state, "done") == 0 ? 0 : EXIT_FAIL;
    if (as_json) {
        json_t *doc = st != NULL ? json_deep_copy(st) : json_object();
        json_object_set_new(doc, "ok", json_boolean(status == 0));
        json_object_set_new(doc, "exit", json_integer(status));
        json_object_set_new(doc, "state", json_string(state));
        json_object_set_new(doc, "request", json_incref(answer));
        print_json(doc);
        json_decref(doc);
    } else if (strcmp(state, "done") == 0) {
        json_t *pause = json_object_get(st, "write_pause_ms");
        if (json_is_integer(pause)) {
            printf("done: %s writes in epoch %lld; write pause %lld ms (begun -> opened)\n",
                   str(st, "to"), num(st, "new_epoch"), (long long)json_integer_value(pause));
        } else {
            printf("done: %s writes in epoch %lld\n", str(st, "to"), num(st, "new_epoch"));
        }
    } else if (strcmp(state, "rolled_back") == 0) {
        printf("rolled back: %s\n", str(st, "reason"));
        printf("%s reopened in epoch %lld\n", str(st, "from"), num(st, "new_epoch"));
    } else if (strcmp(state, "aborted") == 0) {
        printf("aborted: %s\n", str(st, "reason"));
    } else if (strcmp(state, "timed_out") == 0) {
        fprintf(stderr,
                "mmctl: gave up waiting after %lld ms; the sequence is still at step %s: see "
                "`mmctl status` (it completes or rolls back by itself)\n",
                timeout_ms + 2 * lease_ms + 5000, st != NULL ? str(st, "step") : "?");
    } else {
        json_t *refused = json_object_get(st, "refused");
        fprintf(stderr, "mmctl: sequence %lld is not in the record%s%s\n", id,
                json_is_string(refused) ? ": " : " (its event is no longer kept?)",
                json_is_string(refused) ? json_string_value(refused) : "");
    }
    json_decref(st);
    return status;
}

/* `mmctl switchover` and `mmctl failover --force`. */
static int run_switchover(const char *path, double timeout, bool forced, const char *to,
                          long long timeout_ms, bool yes, bool as_json)
{
    json_t *request = json_pack("{s:s}", "cmd", forced ? "failover" : "switchover");
    if (to != NULL) {
        json_object_set_new(request, "to", json_string(to));
    }
    if (timeout_ms > 0) {
        json_object_set_new(request, "timeout_ms", json_integer(timeout_ms));
    }
    if (forced) {
        json_object_set_new(request, "force", json_true());
    }
    const char *what = forced ? "failover" : "switchover";
    json_t *answer = call(path, request, timeout);
    if (answer != NULL && json_is_true(json_object_get(answer, "ok")) &&
        json_is_true(json_object_get(answer, "confirm"))) {
        const char *missing = str(answer, "missing");
        if (!as_json) {
            if (missing[0] != '\0') {
                printf("%s lacks %s (may be lost)\n", str(answer, "to"), missing);
            } else {
                printf("%s lacks nothing the reachable servers hold\n", str(answer, "to"));
            }
        }
        if (!yes) {
            printf("type yes to make %s the writer: ", str(answer, "to"));
            fflush(stdout);
            char line[64] = "";
            if (fgets(line, sizeof line, stdin) == NULL || strcmp(line, "yes\n") != 0) {
                printf("\nnot confirmed: nothing changed\n");
                json_decref(answer);
                json_decref(request);
                return EXIT_FAIL;
            }
        }
        json_object_set_new(request, "accept_missing", json_string(missing));
        json_decref(answer);
        answer = call(path, request, timeout);
    }
    json_decref(request);
    if (answer == NULL) {
        return EXIT_FAIL;
    }
    if (!json_is_true(json_object_get(answer, "ok"))) {
        int status = report_refusal(answer, what, as_json);
        json_decref(answer);
        return status;
    }
    int status = follow_sequence(path, timeout, answer, as_json);
    json_decref(answer);
    return status;
}

/* Seconds on the command line, 0 < n <= 3600. */
static int parse_seconds(const char *text, double *out)
{
    char *end;
    double v = strtod(text, &end);
    if (end == text || *end != '\0' || !(v > 0) || v > 3600) {
        return -1;
    }
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"socket", required_argument, NULL, 's'},
        {"config", required_argument, NULL, 'c'},
        {"json", no_argument, NULL, 'j'},
        {"timeout", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    /* After the command: the global options still (but --timeout of a switchover or failover
     * is the sequence's own), and the command's. */
    static const struct option command_options[] = {
        {"socket", required_argument, NULL, 's'}, {"config", required_argument, NULL, 'c'},
        {"json", no_argument, NULL, 'j'},         {"timeout", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},         {"to", required_argument, NULL, 'T'},
        {"reason", required_argument, NULL, 'r'}, {"force", no_argument, NULL, 'f'},
        {"yes", no_argument, NULL, 'y'},          {NULL, 0, NULL, 0},
    };
    const char *socket_path = NULL;
    const char *config_path = NULL;
    bool as_json = false;
    double timeout = 5.0;
    int opt;
    while ((opt = getopt_long(argc, argv, "+s:c:jt:hV", options, NULL)) != -1) {
        switch (opt) {
        case 's':
            socket_path = optarg;
            break;
        case 'c':
            config_path = optarg;
            break;
        case 'j':
            as_json = true;
            break;
        case 't':
            if (parse_seconds(optarg, &timeout) != 0) {
                fprintf(stderr, "mmctl: --timeout '%s': expected seconds, 0 < n <= 3600\n", optarg);
                return EXIT_USAGE;
            }
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("mmctl %s\n", PACKAGE_VERSION);
            return 0;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "mmctl: no command given\n");
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *command = argv[optind];
    static const char *const commands[] = {"leader",      "status",     "check",   "history",
                                           "maintenance", "switchover", "failover"};
    bool known = false;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        known = known || strcmp(command, commands[i]) == 0;
    }
    if (!known) {
        fprintf(stderr, "mmctl: unknown command '%s'\n", command);
        usage(stderr);
        return EXIT_USAGE;
    }
    bool sequence = strcmp(command, "switchover") == 0 || strcmp(command, "failover") == 0;
    const char *to = NULL;
    const char *reason = NULL;
    bool force = false, yes = false;
    double sequence_timeout = 0;
    int sub_argc = argc - optind;
    char **sub_argv = argv + optind;
    char progname[64]; /* getopt's messages name it: "mmctl switchover: option ..." */
    snprintf(progname, sizeof progname, "mmctl %s", command);
    sub_argv[0] = progname;
    optind = 0; /* glibc: start over on the command's arguments */
    while ((opt = getopt_long(sub_argc, sub_argv, "s:c:jt:hy", command_options, NULL)) != -1) {
        switch (opt) {
        case 's':
            socket_path = optarg;
            break;
        case 'c':
            config_path = optarg;
            break;
        case 'j':
            as_json = true;
            break;
        case 't':
            if (parse_seconds(optarg, sequence ? &sequence_timeout : &timeout) != 0) {
                fprintf(stderr, "mmctl: %s --timeout '%s': expected seconds, 0 < n <= 3600\n",
                        command, optarg);
                return EXIT_USAGE;
            }
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'T':
            if (!sequence) {
                fprintf(stderr, "mmctl: --to belongs to switchover and failover, not %s\n",
                        command);
                return EXIT_USAGE;
            }
            to = optarg;
            break;
        case 'r':
            if (strcmp(command, "maintenance") != 0) {
                fprintf(stderr, "mmctl: --reason belongs to maintenance, not %s\n", command);
                return EXIT_USAGE;
            }
            reason = optarg;
            break;
        case 'f':
        case 'y':
            if (strcmp(command, "failover") != 0) {
                fprintf(stderr, "mmctl: --%s belongs to failover, not %s\n",
                        opt == 'f' ? "force" : "yes", command);
                return EXIT_USAGE;
            }
            force = force || opt == 'f';
            yes = yes || opt == 'y';
            break;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    bool maintenance_on = false;
    if (strcmp(command, "maintenance") == 0) {
        if (optind != sub_argc - 1 ||
            (strcmp(sub_argv[optind], "on") != 0 && strcmp(sub_argv[optind], "off") != 0)) {
            fprintf(stderr, "mmctl: maintenance needs on or off\n");
            return EXIT_USAGE;
        }
        maintenance_on = strcmp(sub_argv[optind], "on") == 0;
    } else if (optind != sub_argc) {
        fprintf(stderr, "mmctl: %s: unexpected argument '%s' (one command at a time)\n", command,
                sub_argv[optind]);
        usage(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(command, "failover") == 0) {
        if (to == NULL || !force) {
            fprintf(stderr, "mmctl: failover needs --to NODE and --force: it overrides the "
                            "automatic rules and may lose transactions\n");
            return EXIT_USAGE;
        }
        if (as_json && !yes) {
            fprintf(stderr, "mmctl: failover --json cannot ask for confirmation: add --yes\n");
            return EXIT_USAGE;
        }
    }
    if (sequence && to != NULL && to[0] == '\0') {
        fprintf(stderr, "mmctl: %s --to: empty node name\n", command);
        return EXIT_USAGE;
    }
    if (socket_path != NULL && config_path != NULL) {
        fprintf(stderr, "mmctl: give --socket or --config, not both\n");
        return EXIT_USAGE;
    }
    static struct config config;
    if (config_path != NULL) {
        char errmsg[CONFIG_ERRMSG_SIZE];
        if (config_load(config_path, &config, errmsg, sizeof errmsg) != 0) {
            fprintf(stderr, "mmctl: %s\n", errmsg);
            return EXIT_USAGE;
        }
        socket_path = config.control_socket;
    }
    if (strcmp(command, "check") == 0) {
        if (config_path == NULL) {
            fprintf(stderr, "mmctl: check needs --config FILE (the nodes and the credentials)\n");
            return EXIT_USAGE;
        }
        return run_check(&config, as_json);
    }
    if (socket_path == NULL) {
        socket_path = DEFAULT_SOCKET;
    }
    if (strcmp(command, "maintenance") == 0) {
        return run_maintenance(socket_path, timeout, maintenance_on, reason, as_json);
    }
    if (sequence) {
        return run_switchover(socket_path, timeout, strcmp(command, "failover") == 0, to,
                              (long long)(sequence_timeout * 1000 + 0.5), yes, as_json);
    }

    json_t *request = json_pack("{s:s}", "cmd", command);
    json_t *response = call(socket_path, request, timeout);
    json_decref(request);
    if (response == NULL) {
        return EXIT_FAIL;
    }
    int status = 0;
    if (!json_is_true(json_object_get(response, "ok"))) {
        fprintf(stderr, "mmctl: %s\n", str(response, "error"));
        status = EXIT_FAIL;
    } else if (strcmp(command, "leader") == 0) {
        json_t *leader = json_object_get(response, "leader");
        if (!json_is_object(leader)) {
            status = EXIT_NO_LEADER;
        }
        if (as_json) {
            json_dumpf(response, stdout, JSON_INDENT(2));
            printf("\n");
        } else if (status == EXIT_NO_LEADER) {
            fprintf(stderr, "mmctl: no leader known (election in progress, or no quorum)\n");
        } else {
            printf("%s %s\n", str(leader, "id"), str(leader, "address"));
        }
    } else {
        if (as_json) {
            json_dumpf(response, stdout, JSON_INDENT(2));
            printf("\n");
        } else if (strcmp(command, "history") == 0) {
            print_history(response);
        } else {
            print_status(response);
        }
    }
    json_decref(response);
    return status;
}
