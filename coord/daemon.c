/*
 * mmcoordd: the coordinator daemon. It loads and validates the configuration, starts the raft
 * node and the control socket on one libuv loop, reports this node's liveness into the
 * replicated record every report interval, logs every change of raft leadership, and answers
 * mmctl. SIGINT and SIGTERM stop it cleanly.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coord/clock.h"
#include "coord/daemon.h"
#include "coord/log.h"

#define EXIT_CONFIG 2

static void format_wall(uint64_t wall_ms, char *buf, size_t len)
{
    time_t secs = (time_t)(wall_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

json_t *daemon_leader_json(struct daemon *daemon)
{
    uint64_t id;
    const char *address;
    node_leader(daemon->node, &id, &address);
    const struct config_node *leader = config_find_raft_id(&daemon->config, id);
    if (id == 0 || leader == NULL) {
        return json_null();
    }
    return json_pack("{s:s, s:s}", "id", leader->id, "address", address);
}

static json_t *report_json(const struct record_node *r)
{
    if (r == NULL) {
        return json_null();
    }
    char started[32], sent[32];
    format_wall(r->start_wall_ms, started, sizeof started);
    format_wall(r->report_wall_ms, sent, sizeof sent);
    return json_pack("{s:I, s:s, s:s, s:s, s:s, s:I}", "seq", (json_int_t)r->report_seq, "version",
                     r->version, "started_at", started, "sent_at", sent, "mysql",
                     mysql_view_name(r->mysql), "count", (json_int_t)r->n_reports);
}

json_t *daemon_status_json(struct daemon *daemon, uint64_t now_ms)
{
    struct raft *raft = node_raft(daemon->node);
    const struct config *config = &daemon->config;
    const struct record *record = node_record(daemon->node);
    uint64_t leader_id;
    const char *leader_address;
    node_leader(daemon->node, &leader_id, &leader_address);

    json_t *nodes = json_array();
    for (unsigned i = 0; i < config->n_nodes; i++) {
        const struct config_node *n = &config->nodes[i];
        const char *role;
        if (i == config->local_index) {
            role = node_role_name(raft_state(raft));
        } else {
            role = n->raft_id == leader_id ? "leader" : "follower";
        }
        json_t *contact;
        if (i == config->local_index) {
            contact = json_integer(0);
        } else if (daemon->last_report_ms[i] == 0) {
            contact = json_null();
        } else {
            contact = json_integer((json_int_t)(now_ms - daemon->last_report_ms[i]));
        }
        struct node_peer_progress progress;
        node_peer_progress(daemon->node, n->raft_id, &progress);
        json_t *replication = progress.known ? json_pack("{s:I, s:b}", "match_index",
                                                         (json_int_t)progress.match_index,
                                                         "recent_contact", progress.recent_contact)
                                             : json_null();
        json_array_append_new(
            nodes, json_pack("{s:s, s:s, s:s, s:b, s:b, s:o, s:o, s:o}", "id", n->id, "address",
                             n->raft_address, "raft_role", role, "voter", 1, "candidate",
                             n->candidate, "last_contact_ms", contact, "replication", replication,
                             "report", report_json(record_find_node(record, n->id))));
    }
    return json_pack(
        "{s:b, s:s, s:s, s:s, s:s, s:I, s:o, s:I, s:I, s:I, s:I, s:o}", "ok", 1, "cluster",
        config->cluster_name, "node", config->local_id, "version", PACKAGE_VERSION, "role",
        node_role_name(raft_state(raft)), "term", (json_int_t)raft->current_term, "leader",
        daemon_leader_json(daemon), "commit_index", (json_int_t)raft->commit_index, "applied_index",
        (json_int_t)raft_last_applied(raft), "last_index", (json_int_t)raft_last_index(raft),
        "record_commands", (json_int_t)record->n_applied, "nodes", nodes);
}

static json_t *handle_request(void *data, const char *cmd, json_t *request, uid_t peer_uid)
{
    (void)request;
    (void)peer_uid;
    struct daemon *daemon = data;
    if (strcmp(cmd, "leader") == 0) {
        return json_pack("{s:b, s:o}", "ok", 1, "leader", daemon_leader_json(daemon));
    }
    if (strcmp(cmd, "status") == 0) {
        return daemon_status_json(daemon, clock_boottime_ms());
    }
    return control_error("unknown command \"%s\" (known: leader, status)", cmd);
}

static void submit_report(struct daemon *daemon)
{
    struct command cmd;
    memset(&cmd, 0, sizeof cmd);
    cmd.type = COMMAND_REPORT;
    snprintf(cmd.report.node_id, sizeof cmd.report.node_id, "%s", daemon->config.local_id);
    snprintf(cmd.report.version, sizeof cmd.report.version, "%s", PACKAGE_VERSION);
    cmd.report.start_wall_ms = daemon->start_wall_ms;
    cmd.report.sent_wall_ms = clock_wall_ms();
    cmd.report.seq = ++daemon->report_seq;
    cmd.report.mysql = MYSQL_VIEW_UNKNOWN;
    char errmsg[256];
    int rv = node_submit(daemon->node, &cmd, errmsg, sizeof errmsg);
    if (rv != 0) {
        log_debug("report #%llu not sent: %s", (unsigned long long)cmd.report.seq, errmsg);
    }
}

static void on_report_timer(uv_timer_t *timer)
{
    submit_report(timer->data);
}

/* Log every change of this node's raft role or of the leader, with the term. */
static void on_watch_timer(uv_timer_t *timer)
{
    struct daemon *daemon = timer->data;
    struct raft *raft = node_raft(daemon->node);
    int state = raft_state(raft);
    uint64_t leader;
    const char *address;
    node_leader(daemon->node, &leader, &address);
    if (state == daemon->logged_state && leader == daemon->logged_leader) {
        return;
    }
    bool leader_changed = leader != daemon->logged_leader;
    daemon->logged_state = state;
    daemon->logged_leader = leader;
    daemon->logged_term = raft->current_term;
    const struct config_node *l = config_find_raft_id(&daemon->config, leader);
    if (state == RAFT_LEADER) {
        log_info("raft: this node is the leader (term %llu)",
                 (unsigned long long)raft->current_term);
    } else if (l != NULL) {
        log_info("raft: %s, leader is %s at %s (term %llu)", node_role_name(state), l->id, address,
                 (unsigned long long)raft->current_term);
    } else {
        log_info("raft: %s, no leader known (term %llu)", node_role_name(state),
                 (unsigned long long)raft->current_term);
    }
    if (leader_changed && leader != 0) {
        submit_report(daemon); /* fill the record at once rather than at the next tick */
    }
}

static void on_applied(void *data, const struct command *cmd, int status, const char *errmsg)
{
    struct daemon *daemon = data;
    if (status != 0) {
        log_warn("record: entry refused: %s", errmsg);
        return;
    }
    if (cmd == NULL) {
        log_info("record: %s", errmsg);
        return;
    }
    if (cmd->type == COMMAND_REPORT) {
        const struct config_node *n = config_find_node(&daemon->config, cmd->report.node_id);
        if (n != NULL) {
            daemon->last_report_ms[n - daemon->config.nodes] = clock_boottime_ms();
        } else {
            log_warn("record: report from '%s', which is not in %s", cmd->report.node_id,
                     daemon->config.path);
        }
    }
}

static void on_node_event(void *data, enum log_level level, const char *message)
{
    (void)data;
    log_msg(level, "%s", message);
}

static void handle_closed(uv_handle_t *handle)
{
    (void)handle;
}

static void control_closed(void *data)
{
    struct daemon *daemon = data;
    daemon->control = NULL;
}

static void node_closed(void *data)
{
    struct daemon *daemon = data;
    daemon->node = NULL;
    log_info("stopped");
}

static void daemon_stop(struct daemon *daemon)
{
    if (daemon->stopping) {
        return;
    }
    daemon->stopping = true;
    uv_timer_stop(&daemon->report_timer);
    uv_timer_stop(&daemon->watch_timer);
    uv_close((uv_handle_t *)&daemon->report_timer, handle_closed);
    uv_close((uv_handle_t *)&daemon->watch_timer, handle_closed);
    uv_close((uv_handle_t *)&daemon->sigint, handle_closed);
    uv_close((uv_handle_t *)&daemon->sigterm, handle_closed);
    if (daemon->control != NULL) {
        control_close(daemon->control, control_closed, daemon);
    }
    if (daemon->node != NULL) {
        node_close(daemon->node, node_closed, daemon);
    }
}

static void on_signal(uv_signal_t *handle, int signum)
{
    struct daemon *daemon = handle->data;
    log_info("received %s: shutting down", strsignal(signum));
    daemon_stop(daemon);
}

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: mmcoordd --config FILE [--check] [--log-level LEVEL]\n"
            "       mmcoordd --help | --version\n"
            "\n"
            "The mmcoord coordinator daemon: runs in the foreground and logs to stderr.\n"
            "\n"
            "  -c, --config FILE      configuration file (see mmcoord.conf(5)); required\n"
            "  -t, --check            validate the configuration, the secret file and the\n"
            "                         credentials file, then exit (0 valid, 2 invalid)\n"
            "  -l, --log-level LEVEL  debug, info, warn or error (overrides the config)\n"
            "  -h, --help             show this help and exit\n"
            "  -V, --version          show the version and exit\n"
            "\n"
            "Exit status: 0 after a clean shutdown (SIGINT or SIGTERM), 1 when it cannot run\n"
            "(address in use, data dir unusable), 2 for a bad command line or configuration.\n");
}

/* Load and check everything the daemon needs before it touches the network. */
static int load(struct daemon *daemon, const char *path, bool *level_override,
                enum log_level override)
{
    char errmsg[CONFIG_ERRMSG_SIZE];
    int rv = config_load(path, &daemon->config, errmsg, sizeof errmsg);
    if (rv != 0) {
        fprintf(stderr, "mmcoordd: %s\n", errmsg);
        return EXIT_CONFIG;
    }
    rv = config_read_secret(daemon->config.secret_file, daemon->secret, &daemon->secret_len, errmsg,
                            sizeof errmsg);
    if (rv != 0) {
        fprintf(stderr, "mmcoordd: %s\n", errmsg);
        return EXIT_CONFIG;
    }
    if (daemon->config.mysql_credentials_file[0] != '\0') {
        rv =
            config_check_private_file(daemon->config.mysql_credentials_file, errmsg, sizeof errmsg);
        if (rv != 0) {
            fprintf(stderr, "mmcoordd: %s\n", errmsg);
            return EXIT_CONFIG;
        }
    }
    if (*level_override) {
        daemon->config.log_level = override;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'},    {"check", no_argument, NULL, 't'},
        {"log-level", required_argument, NULL, 'l'}, {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},         {NULL, 0, NULL, 0},
    };
    const char *config_path = NULL;
    bool check_only = false;
    bool level_override = false;
    enum log_level level = LOG_LEVEL_INFO;
    int opt;
    while ((opt = getopt_long(argc, argv, "c:tl:hV", options, NULL)) != -1) {
        switch (opt) {
        case 'c':
            config_path = optarg;
            break;
        case 't':
            check_only = true;
            break;
        case 'l':
            if (log_level_parse(optarg, &level) != 0) {
                fprintf(stderr, "mmcoordd: --log-level '%s': expected debug, info, warn or error\n",
                        optarg);
                return EXIT_CONFIG;
            }
            level_override = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("mmcoordd %s\n", PACKAGE_VERSION);
            return 0;
        default:
            usage(stderr);
            return EXIT_CONFIG;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "mmcoordd: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return EXIT_CONFIG;
    }
    if (config_path == NULL) {
        fprintf(stderr, "mmcoordd: --config FILE is required\n");
        usage(stderr);
        return EXIT_CONFIG;
    }

    static struct daemon daemon;
    int rv = load(&daemon, config_path, &level_override, level);
    if (rv != 0) {
        return rv;
    }
    if (check_only) {
        printf("mmcoordd: %s is valid (node %s, %u nodes, cluster %s)\n", config_path,
               daemon.config.local_id, daemon.config.n_nodes, daemon.config.cluster_name);
        return 0;
    }
    log_setup(daemon.config.local_id, daemon.config.log_level);
    /* libuv does not ignore SIGPIPE: a write to a peer that died would kill the daemon. */
    signal(SIGPIPE, SIG_IGN);

    daemon.loop = uv_default_loop();
    daemon.start_wall_ms = clock_wall_ms();
    daemon.logged_state = -1;
    const struct config_node *self = &daemon.config.nodes[daemon.config.local_index];
    log_info("mmcoordd %s starting: cluster %s, node %s, raft %s, data dir %s", PACKAGE_VERSION,
             daemon.config.cluster_name, self->id, self->raft_address, daemon.config.data_dir);

    char errmsg[512];
    struct node_options nopts = {
        .config = &daemon.config,
        .secret = daemon.secret,
        .secret_len = daemon.secret_len,
        .on_applied = on_applied,
        .on_event = on_node_event,
        .data = &daemon,
    };
    rv = node_start(daemon.loop, &nopts, &daemon.node, errmsg, sizeof errmsg);
    if (rv != 0) {
        log_error("cannot start raft: %s", errmsg);
        return 1;
    }
    rv = control_start(daemon.loop, daemon.config.control_socket, daemon.config.control_group,
                       handle_request, &daemon, &daemon.control, errmsg, sizeof errmsg);
    if (rv != 0) {
        log_error("%s", errmsg);
        daemon.exit_status = 1;
        daemon.control = NULL;
    }
    uv_timer_init(daemon.loop, &daemon.report_timer);
    uv_timer_init(daemon.loop, &daemon.watch_timer);
    daemon.report_timer.data = &daemon;
    daemon.watch_timer.data = &daemon;
    uv_signal_init(daemon.loop, &daemon.sigint);
    uv_signal_init(daemon.loop, &daemon.sigterm);
    daemon.sigint.data = &daemon;
    daemon.sigterm.data = &daemon;
    if (daemon.exit_status != 0) {
        daemon_stop(&daemon);
    } else {
        uv_timer_start(&daemon.report_timer, on_report_timer, daemon.config.report_interval_ms,
                       daemon.config.report_interval_ms);
        uv_timer_start(&daemon.watch_timer, on_watch_timer, 0, daemon.config.heartbeat_ms);
        uv_signal_start(&daemon.sigint, on_signal, SIGINT);
        uv_signal_start(&daemon.sigterm, on_signal, SIGTERM);
        log_info("control socket %s ready", daemon.config.control_socket);
    }
    uv_run(daemon.loop, UV_RUN_DEFAULT);
    uv_loop_close(daemon.loop);
    explicit_bzero(daemon.secret, sizeof daemon.secret);
    return daemon.exit_status;
}
