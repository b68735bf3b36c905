/*
 * mmctl: the operator's command-line client. It sends one JSON request to a daemon's control
 * socket and prints the answer as text a person reads at a glance, or as JSON with --json.
 * Exit statuses are documented in mmctl(8): 0 success, 1 the daemon could not be reached or
 * answered with an error, 2 bad usage, 3 no leader known (for `leader`).
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
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

#define DEFAULT_SOCKET   "/run/mmcoord/mmcoordd.sock"
#define EXIT_FAIL        1
#define EXIT_USAGE       2
#define EXIT_NO_LEADER   3
#define CHECK_TIMEOUT_MS 3000

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: mmctl [--socket PATH | --config FILE] [--json] [--timeout SECONDS] COMMAND\n"
            "\n"
            "Commands:\n"
            "  leader   print the raft leader's node id and address (exit 3 if none is known)\n"
            "  status   the cluster at a glance: term, leader, writer, epoch, lease, the leader's\n"
            "           decision, whether the writer has a standby, and every node with its\n"
            "           MySQL state, whether it could be promoted now (or why not) and its\n"
            "           errant transactions\n"
            "  history  the epochs: who wrote when, why the writer changed, the write pause\n"
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
            "Exit status: 0 success, 1 daemon unreachable, error, or a check FAILed, 2 bad usage,\n"
            "3 no leader.\n");
}

/* Send @request to the socket at @path and return the parsed response, or NULL with a message
 * printed. */
static json_t *call(const char *path, json_t *request, double timeout)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        fprintf(stderr, "mmctl: socket: %s\n", strerror(errno));
        return NULL;
    }
    struct timeval tv = {.tv_sec = (time_t)timeout,
                         .tv_usec = (suseconds_t)((timeout - (time_t)timeout) * 1e6)};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof addr.sun_path) {
        fprintf(stderr, "mmctl: socket path %s is too long\n", path);
        close(fd);
        return NULL;
    }
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        int err = errno;
        fprintf(stderr, "mmctl: cannot connect to %s: %s%s\n", path, strerror(err),
                err == ENOENT || err == ECONNREFUSED ? " (is mmcoordd running?)"
                : err == EACCES                      ? " (run as root or a member of the "
                                                       "socket's group)"
                                                     : "");
        close(fd);
        return NULL;
    }
    char *text = json_dumps(request, JSON_COMPACT);
    if (text == NULL) {
        fprintf(stderr, "mmctl: out of memory\n");
        close(fd);
        return NULL;
    }
    /* The request and its newline in one write: the daemon reads lines. */
    struct iovec iov[2] = {{.iov_base = text, .iov_len = strlen(text)},
                           {.iov_base = "\n", .iov_len = 1}};
    ssize_t sent = writev(fd, iov, 2);
    if (sent != (ssize_t)(iov[0].iov_len + 1)) {
        fprintf(stderr, "mmctl: writing to %s: %s\n", path,
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
            fprintf(stderr, "mmctl: out of memory\n");
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
            fprintf(stderr, "mmctl: reading from %s: %s\n", path,
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
        fprintf(stderr, "mmctl: unreadable answer from %s: %s\n", path, jerr.text);
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

static void print_history(json_t *h)
{
    printf("%-6s %-6s %-6s %-24s %-9s %s\n", "EPOCH", "FROM", "TO", "DECIDED", "PAUSE", "WHY");
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(h, "epochs"), i, e)
    {
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
}

static void print_status(json_t *s)
{
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
    const char *socket_path = NULL;
    const char *config_path = NULL;
    bool as_json = false;
    double timeout = 5.0;
    int opt;
    while ((opt = getopt_long(argc, argv, "s:c:jt:hV", options, NULL)) != -1) {
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
        case 't': {
            char *end;
            timeout = strtod(optarg, &end);
            if (*end != '\0' || timeout <= 0 || timeout > 3600) {
                fprintf(stderr, "mmctl: --timeout '%s': expected seconds, 0 < n <= 3600\n", optarg);
                return EXIT_USAGE;
            }
            break;
        }
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
    if (optind != argc - 1) {
        fprintf(stderr,
                optind == argc ? "mmctl: no command given\n" : "mmctl: one command at a time\n");
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *command = argv[optind];
    if (strcmp(command, "leader") != 0 && strcmp(command, "status") != 0 &&
        strcmp(command, "check") != 0 && strcmp(command, "history") != 0) {
        fprintf(stderr, "mmctl: unknown command '%s'\n", command);
        usage(stderr);
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
