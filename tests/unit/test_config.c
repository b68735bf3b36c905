/* The configuration: a good file read in full, defaults filled in, and every kind of mistake
 * refused with a message that points at the file, the line and the key. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coord/config.h"
#include "coord/lease.h"

/* Lines 1-3. */
#define CLUSTER_MIN "[cluster]\nname = test\nsecret_file = /etc/mmcoord/secret\n"
/* 11 lines: m1 and m2 candidates, s not. */
#define NODES                                                                                      \
    "[node m1]\n"                                                                                  \
    "raft_address = 127.0.0.1:7401\n"                                                              \
    "mysql_address = 127.0.0.1\n"                                                                  \
    "candidate = yes\n"                                                                            \
    "[node m2]\n"                                                                                  \
    "raft_address = 127.0.0.1:7402\n"                                                              \
    "mysql_address = 127.0.0.1:3307\n"                                                             \
    "candidate = true\n"                                                                           \
    "[node s]\n"                                                                                   \
    "raft_address = 127.0.0.1:7403\n"                                                              \
    "mysql_address = db-s.example.com\n"
/* 3 lines. */
#define LOCAL_MIN "[local]\nid = m1\ndata_dir = /var/lib/mmcoord\n"

static struct config config;
static char err[CONFIG_ERRMSG_SIZE];

static int parse(const char *text)
{
    err[0] = '\0';
    return config_parse_string(text, "t.conf", &config, err, sizeof err);
}

/* The parse fails with -EINVAL and the message holds every one of @wants, a NULL-ended list. */
static void expect_error_list(const char *text, const char *const *wants)
{
    ck_assert_int_eq(parse(text), -EINVAL);
    for (; *wants != NULL; wants++) {
        ck_assert_msg(strstr(err, *wants) != NULL, "message \"%s\" lacks \"%s\"", err, *wants);
    }
}

/* expect_error(text, "wanted", ..., NULL) */
#define expect_error(text, ...) expect_error_list((text), (const char *const[]){__VA_ARGS__})

START_TEST(full_file)
{
    const char *text = "; every key set\n"
                       "[cluster]\n"
                       "name = prod-db_1\n"
                       "secret_file = /etc/mmcoord/secret\n"
                       "heartbeat_ms = 50\n"
                       "election_timeout_ms = 500\n"
                       "lease_ms = 2000\n"
                       "lease_drift = 0.1\n"
                       "lease_margin_ms = 150\n"
                       "fence_budget_ms = 300\n"
                       "report_interval_ms = 500\n"
                       "snapshot_threshold = 4096\n"
                       "snapshot_trailing = 256\n"
                       "vip = 192.168.1.10/24\n"
                       "vip_interface = eth0\n"
                       "log_level = debug\n"
                       "\n"
                       "# the masters\n"
                       "[node m1]\n"
                       "raft_address = 192.168.1.11:7401\n"
                       "mysql_address = 192.168.1.11:3306\n"
                       "candidate = yes\n"
                       "[node m2]\n"
                       "  raft_address = 192.168.1.12:7401   ; indented, commented\n"
                       "  mysql_address = [fd00::12]:3307\n"
                       "  candidate = 1\n"
                       "[node s]\r\n"
                       "raft_address = 192.168.1.13:7401\r\n"
                       "mysql_address = replica.example.com\r\n"
                       "candidate = off\r\n"
                       "[local]\n"
                       "id = m2\n"
                       "data_dir = /var/lib/mmcoord\n"
                       "control_socket = /run/mmcoord/ctl.sock\n"
                       "control_group = root\n"
                       "mysql_credentials_file = /etc/mmcoord/my.cnf\n";
    ck_assert_msg(parse(text) == 0, "%s", err);
    ck_assert_str_eq(config.path, "t.conf");
    ck_assert_str_eq(config.cluster_name, "prod-db_1");
    ck_assert_str_eq(config.secret_file, "/etc/mmcoord/secret");
    ck_assert_uint_eq(config.heartbeat_ms, 50);
    ck_assert_uint_eq(config.election_timeout_ms, 500);
    ck_assert_uint_eq(config.lease_ms, 2000);
    ck_assert_double_eq_tol(config.lease_drift, 0.1, 1e-12);
    ck_assert_uint_eq(config.lease_margin_ms, 150);
    ck_assert_uint_eq(config.fence_budget_ms, 300);
    ck_assert_uint_eq(config.report_interval_ms, 500);
    ck_assert_uint_eq(config.snapshot_threshold, 4096);
    ck_assert_uint_eq(config.snapshot_trailing, 256);
    ck_assert_str_eq(config.vip, "192.168.1.10/24");
    ck_assert_str_eq(config.vip_interface, "eth0");
    ck_assert_int_eq(config.log_level, LOG_LEVEL_DEBUG);

    ck_assert_uint_eq(config.n_nodes, 3);
    ck_assert_str_eq(config.nodes[0].id, "m1");
    ck_assert_str_eq(config.nodes[0].raft_address, "192.168.1.11:7401");
    ck_assert_str_eq(config.nodes[0].mysql_host, "192.168.1.11");
    ck_assert_uint_eq(config.nodes[0].mysql_port, 3306);
    ck_assert(config.nodes[0].candidate);
    ck_assert_uint_eq(config.nodes[0].line, 19);
    ck_assert_str_eq(config.nodes[1].raft_address, "192.168.1.12:7401");
    ck_assert_str_eq(config.nodes[1].mysql_host, "fd00::12");
    ck_assert_uint_eq(config.nodes[1].mysql_port, 3307);
    ck_assert(config.nodes[1].candidate);
    ck_assert_str_eq(config.nodes[2].id, "s");
    ck_assert_str_eq(config.nodes[2].raft_address, "192.168.1.13:7401");
    ck_assert_str_eq(config.nodes[2].mysql_host, "replica.example.com");
    ck_assert_uint_eq(config.nodes[2].mysql_port, 3306);
    ck_assert(!config.nodes[2].candidate);
    for (unsigned i = 0; i < config.n_nodes; i++) {
        ck_assert_uint_eq(config.nodes[i].raft_id, config_raft_id(config.nodes[i].id));
    }

    ck_assert_str_eq(config.local_id, "m2");
    ck_assert_uint_eq(config.local_index, 1);
    ck_assert_str_eq(config.data_dir, "/var/lib/mmcoord");
    ck_assert_str_eq(config.control_socket, "/run/mmcoord/ctl.sock");
    ck_assert_str_eq(config.control_group, "root");
    ck_assert_str_eq(config.mysql_credentials_file, "/etc/mmcoord/my.cnf");
}
END_TEST

START_TEST(defaults)
{
    ck_assert_msg(parse(CLUSTER_MIN NODES LOCAL_MIN) == 0, "%s", err);
    ck_assert_uint_eq(config.heartbeat_ms, 50);
    ck_assert_uint_eq(config.election_timeout_ms, 300);
    ck_assert_uint_eq(config.probe_interval_ms, 100);
    ck_assert_uint_eq(config.probe_timeout_ms, 300);
    ck_assert(!config.promote_with_loss);
    ck_assert_uint_eq(config.garp_count, 5);
    ck_assert_uint_eq(config.garp_interval_ms, 200);
    ck_assert_uint_eq(config.garp_refresh_ms, 1000);
    ck_assert_str_eq(config.fencer_socket, "/run/mmcoord/fencer.sock");
    ck_assert_str_eq(config.replication_credentials_file, "");
    ck_assert_uint_eq(config.lease_ms, 1000);
    ck_assert_double_eq_tol(config.lease_drift, 0.05, 1e-12);
    ck_assert_uint_eq(config.lease_margin_ms, 100);
    ck_assert_uint_eq(config.fence_budget_ms, 200);
    ck_assert_uint_eq(config.report_interval_ms, 1000);
    ck_assert_uint_eq(config.snapshot_threshold, 1024);
    ck_assert_uint_eq(config.snapshot_trailing, 128);
    ck_assert_str_eq(config.vip, "");
    ck_assert_str_eq(config.vip_interface, "");
    ck_assert(config.vip_lifetime);
    ck_assert_uint_eq(config.vip_lifetime_late_ms, 400);
    ck_assert_uint_eq(config.tcp_reset_ms, 5000);
    ck_assert_int_eq(config.log_level, LOG_LEVEL_INFO);
    ck_assert(!config.nodes[2].candidate);
    ck_assert_uint_eq(config.nodes[0].mysql_port, 3306);
    ck_assert_str_eq(config.control_socket, "/run/mmcoord/mmcoordd.sock");
    ck_assert_str_eq(config.control_group, "");
    ck_assert_str_eq(config.mysql_credentials_file, "");
    ck_assert_uint_eq(config.local_index, 0);
}
END_TEST

START_TEST(unknown_section)
{
    expect_error(CLUSTER_MIN "[clutser]\nname = x\n" NODES LOCAL_MIN, "t.conf:4:", "[clutser]",
                 "[cluster], [node ID] or [local]", NULL);
}
END_TEST

START_TEST(unknown_key)
{
    expect_error(CLUSTER_MIN "heartbeat = 100\n" NODES LOCAL_MIN,
                 "t.conf:4: [cluster] heartbeat = 100: unknown key", "heartbeat_ms",
                 "election_timeout_ms", "log_level", NULL);
    expect_error(CLUSTER_MIN NODES "role = master\n" LOCAL_MIN,
                 "t.conf:15: [node s] role = master: unknown key",
                 "raft_address, mysql_address, candidate", NULL);
}
END_TEST

START_TEST(duplicate_key)
{
    expect_error(CLUSTER_MIN "name = other\n" NODES LOCAL_MIN,
                 "t.conf:4: [cluster] name = other: already set on line 2", NULL);
}
END_TEST

START_TEST(duplicate_section)
{
    expect_error(CLUSTER_MIN NODES LOCAL_MIN "[cluster]\nlog_level = warn\n",
                 "t.conf:18:", "[cluster] appears twice (first on line 1)", NULL);
}
END_TEST

START_TEST(bad_integer)
{
    expect_error(CLUSTER_MIN "heartbeat_ms = fast\n" NODES LOCAL_MIN,
                 "t.conf:4: [cluster] heartbeat_ms = fast: not an integer; expected an integer "
                 "from 10 to 10000 (milliseconds)",
                 NULL);
    expect_error(CLUSTER_MIN "heartbeat_ms = 100ms\n" NODES LOCAL_MIN,
                 "t.conf:4:", "heartbeat_ms = 100ms: not an integer", NULL);
    expect_error(CLUSTER_MIN "lease_ms = -1000\n" NODES LOCAL_MIN, "t.conf:4:", "lease_ms",
                 "not an integer", NULL);
}
END_TEST

START_TEST(out_of_range)
{
    expect_error(CLUSTER_MIN "heartbeat_ms = 5\n" NODES LOCAL_MIN,
                 "t.conf:4: [cluster] heartbeat_ms = 5: out of range; expected an integer from 10 "
                 "to 10000",
                 NULL);
    expect_error(CLUSTER_MIN "snapshot_threshold = 99999999999999999999999\n" NODES LOCAL_MIN,
                 "t.conf:4:", "snapshot_threshold", "out of range", NULL);
    expect_error(CLUSTER_MIN "lease_drift = 0.5\n" NODES LOCAL_MIN,
                 "t.conf:4: [cluster] lease_drift = 0.5: out of range", "not including 0.5", NULL);
    expect_error(CLUSTER_MIN "lease_drift = nan\n" NODES LOCAL_MIN, "t.conf:4:", "lease_drift",
                 "not a decimal number", NULL);
}
END_TEST

START_TEST(bad_boolean)
{
    expect_error(CLUSTER_MIN NODES "candidate = maybe\n" LOCAL_MIN,
                 "t.conf:15: [node s] candidate = maybe: not a boolean; expected yes or no", NULL);
}
END_TEST

START_TEST(bad_name)
{
    expect_error("[cluster]\nname = my.cluster\nsecret_file = /s\n" NODES LOCAL_MIN,
                 "t.conf:2: [cluster] name = my.cluster: contains '.'; expected 1 to 63 letters",
                 NULL);
    expect_error("[cluster]\nname = my cluster\nsecret_file = /s\n" NODES LOCAL_MIN,
                 "t.conf:2: [cluster] name = my cluster: contains a blank", NULL);
    expect_error(CLUSTER_MIN NODES "[local]\ndata_dir = /d\nid = "
                                   "a23456789012345678901234567890123\n",
                 "t.conf:17: [local] id = a2345", "longer than 31 characters", NULL);
}
END_TEST

START_TEST(bad_log_level)
{
    expect_error(CLUSTER_MIN "log_level = verbose\n" NODES LOCAL_MIN,
                 "t.conf:4: [cluster] log_level = verbose:", "debug, info, warn or error", NULL);
}
END_TEST

START_TEST(bad_address)
{
    static const char *const bad[] = {
        "localhost:7401", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:65536",
        "0.0.0.0:7401",   "10.1:7401", "[::1]:7401",  "127.0.0.1:port",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[1024];
        snprintf(text, sizeof text, CLUSTER_MIN "[node x]\nraft_address = %s\n" NODES LOCAL_MIN,
                 bad[i]);
        char want[128];
        snprintf(want, sizeof want, "t.conf:5: [node x] raft_address = %s:", bad[i]);
        expect_error(text, want, "expected an IPv4 address and a port", NULL);
    }
    static const char *const bad_mysql[] = {"::1", "db:0", "db:99999", "[::1", "a b", "db:"};
    for (size_t i = 0; i < sizeof bad_mysql / sizeof bad_mysql[0]; i++) {
        char text[1024];
        snprintf(text, sizeof text, CLUSTER_MIN NODES "[node x]\nmysql_address = %s\n" LOCAL_MIN,
                 bad_mysql[i]);
        char want[128];
        snprintf(want, sizeof want, "t.conf:16: [node x] mysql_address = %s:", bad_mysql[i]);
        expect_error(text, want, "HOST:PORT", NULL);
    }
}
END_TEST

START_TEST(bad_vip)
{
    static const char *const bad[] = {"192.168.1.10",     "192.168.1.10/33", "192.168.1.0/24",
                                      "192.168.1.255/24", "224.0.0.5/24",    "192.168.1/24"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[1024];
        snprintf(text, sizeof text, CLUSTER_MIN "vip = %s\nvip_interface = eth0\n" NODES LOCAL_MIN,
                 bad[i]);
        char want[128];
        snprintf(want, sizeof want, "t.conf:4: [cluster] vip = %s:", bad[i]);
        expect_error(text, want, "expected an IPv4 address and prefix length", NULL);
    }
    ck_assert_msg(parse(CLUSTER_MIN "vip = 10.0.0.5/32\nvip_interface = br-db\n" NODES LOCAL_MIN) ==
                      0,
                  "%s", err);
}
END_TEST

START_TEST(ipv6_vip)
{
    expect_error(CLUSTER_MIN "vip = fd00::10/64\nvip_interface = eth0\n" NODES LOCAL_MIN,
                 "t.conf:4: [cluster] vip = fd00::10/64: IPv6 VIPs are not supported yet", NULL);
}
END_TEST

START_TEST(vip_needs_interface)
{
    expect_error(CLUSTER_MIN "vip = 10.0.0.5/24\n" NODES LOCAL_MIN,
                 "t.conf:4: [cluster] vip = 10.0.0.5/24: no vip_interface", NULL);
    expect_error(CLUSTER_MIN "vip_interface = eth0\n" NODES LOCAL_MIN,
                 "t.conf:4: [cluster] vip_interface = eth0: set, but no vip", NULL);
    expect_error(CLUSTER_MIN
                 "vip = 10.0.0.5/24\nvip_interface = a-very-long-ifname\n" NODES LOCAL_MIN,
                 "t.conf:5: [cluster] vip_interface = a-very-long-ifname:", NULL);
}
END_TEST

/* The VIP's kernel lifetime is in the leader's wait exactly when a VIP is configured and
 * vip_lifetime is on; turning it off gives the lease-only wait back. */
START_TEST(vip_lifetime_sets_the_leader_wait)
{
    struct lease_params lp;
    ck_assert_msg(parse(CLUSTER_MIN "vip = 10.0.0.5/24\nvip_interface = eth0\n" NODES LOCAL_MIN) ==
                      0,
                  "%s", err);
    config_lease_params(&config, &lp);
    ck_assert(lp.vip_lifetime);
    ck_assert_uint_eq(lease_leader_wait_ms(&lp), 1716);
    ck_assert_msg(parse(CLUSTER_MIN "vip = 10.0.0.5/24\nvip_interface = eth0\nvip_lifetime = no\n"
                                    "tcp_reset_ms = 0\n" NODES LOCAL_MIN) == 0,
                  "%s", err);
    config_lease_params(&config, &lp);
    ck_assert(!lp.vip_lifetime);
    ck_assert_uint_eq(lease_leader_wait_ms(&lp), 1206);
    ck_assert_uint_eq(config.tcp_reset_ms, 0);
    ck_assert_msg(parse(CLUSTER_MIN NODES LOCAL_MIN) == 0, "%s", err);
    config_lease_params(&config, &lp);
    ck_assert(!lp.vip_lifetime); /* no VIP at all */
    ck_assert_uint_eq(lease_leader_wait_ms(&lp), 1206);
    expect_error(CLUSTER_MIN "tcp_reset_ms = 600001\n" NODES LOCAL_MIN, "tcp_reset_ms = 600001",
                 NULL);
    expect_error(CLUSTER_MIN "garp_refresh_ms = 500\n" NODES LOCAL_MIN, "garp_refresh_ms = 500",
                 "from 1000", NULL);
    ck_assert_msg(parse(CLUSTER_MIN "garp_refresh_ms = 0\n" NODES LOCAL_MIN) == 0, "%s", err);
    expect_error(CLUSTER_MIN "vip_lifetime = sometimes\n" NODES LOCAL_MIN,
                 "vip_lifetime = sometimes", NULL);
    /* A 4 s lease gives the VIP a 2 s lifetime, whose timer slot (256 ms at HZ=250) the
     * default K does not cover: refused with the value to use, accepted with it, or without
     * a VIP. */
    expect_error(CLUSTER_MIN
                 "vip = 10.0.0.5/24\nvip_interface = eth0\nlease_ms = 4000\n" NODES LOCAL_MIN,
                 "t.conf:6:", "vip_lifetime_late_ms = 400 with lease_ms = 4000", "2 s",
                 "at least 556", NULL);
    expect_error(CLUSTER_MIN "vip = 10.0.0.5/24\nvip_interface = eth0\nlease_ms = 4000\n"
                             "vip_lifetime_late_ms = 500\n" NODES LOCAL_MIN,
                 "t.conf:7:", "at least 556", NULL);
    ck_assert_msg(parse(CLUSTER_MIN "vip = 10.0.0.5/24\nvip_interface = eth0\nlease_ms = 4000\n"
                                    "vip_lifetime_late_ms = 556\n" NODES LOCAL_MIN) == 0,
                  "%s", err);
    ck_assert_msg(parse(CLUSTER_MIN "lease_ms = 4000\n" NODES LOCAL_MIN) == 0, "%s", err);
}
END_TEST

START_TEST(missing_required_key)
{
    expect_error("[cluster]\nname = test\n" NODES LOCAL_MIN, "t.conf:1: [cluster]: no secret_file",
                 NULL);
    expect_error(CLUSTER_MIN NODES "[node x]\nmysql_address = 10.0.0.1\n" LOCAL_MIN,
                 "t.conf:15: [node x]: no raft_address", NULL);
    expect_error(CLUSTER_MIN NODES "[local]\nid = m1\n", "t.conf:15: [local]: no data_dir", NULL);
}
END_TEST

START_TEST(missing_sections)
{
    expect_error(CLUSTER_MIN NODES, "t.conf: no [local] section", NULL);
    expect_error(NODES LOCAL_MIN, "t.conf: no [cluster] section", NULL);
    expect_error(CLUSTER_MIN LOCAL_MIN, "t.conf: no [node ID] section", NULL);
}
END_TEST

START_TEST(local_id_not_a_node)
{
    expect_error(CLUSTER_MIN NODES "[local]\ndata_dir = /var/lib/mmcoord\nid = m3\n",
                 "t.conf:17: [local] id = m3: no [node m3] section; expected one of: m1, m2, s",
                 NULL);
}
END_TEST

START_TEST(duplicate_node)
{
    expect_error(CLUSTER_MIN NODES "[node m2]\nraft_address = 127.0.0.1:7409\n" LOCAL_MIN,
                 "t.conf:15: [node m2]: node m2 is already defined on line 8", NULL);
}
END_TEST

START_TEST(invalid_node_id)
{
    expect_error(CLUSTER_MIN "[node m.1]\n" NODES LOCAL_MIN, "t.conf:4:", "invalid node id \"m.1\"",
                 NULL);
    expect_error(CLUSTER_MIN "[node]\n" NODES LOCAL_MIN, "t.conf:4:", "unknown section [node]",
                 NULL);
    expect_error(CLUSTER_MIN "[node 0123456789012345678901234567890123]\n" NODES LOCAL_MIN,
                 "t.conf:4:", "invalid node id", NULL);
}
END_TEST

START_TEST(too_many_nodes)
{
    char text[4096];
    size_t used = (size_t)snprintf(text, sizeof text, "%s", CLUSTER_MIN);
    for (int i = 1; i <= CONFIG_MAX_NODES + 1; i++) {
        used += (size_t)snprintf(text + used, sizeof text - used,
                                 "[node n%d]\nraft_address = 127.0.0.1:%d\nmysql_address = db\n"
                                 "candidate = yes\n",
                                 i, 7400 + i);
    }
    snprintf(text + used, sizeof text - used, "[local]\nid = n1\ndata_dir = /d\n");
    /* The eighth header is on line 4 + 7 * 4. */
    expect_error(text, "t.conf:32: [node n8]: too many nodes; expected at most 7", NULL);
}
END_TEST

START_TEST(relative_paths)
{
    expect_error(CLUSTER_MIN NODES "[local]\nid = m1\ndata_dir = var/lib/mmcoord\n",
                 "t.conf:17: [local] data_dir = var/lib/mmcoord: not an absolute path", NULL);
    expect_error("[cluster]\nname = test\nsecret_file = secret\n" NODES LOCAL_MIN,
                 "t.conf:3: [cluster] secret_file = secret: not an absolute path", NULL);
}
END_TEST

START_TEST(socket_path_too_long)
{
    char path[CONFIG_SOCKET_SIZE + 1];
    memset(path, 'a', sizeof path);
    path[0] = '/';
    path[sizeof path - 1] = '\0';
    char text[1024];
    snprintf(text, sizeof text, CLUSTER_MIN NODES LOCAL_MIN "control_socket = %s\n", path);
    expect_error(text, "t.conf:18: [local] control_socket = /aaa", "longer than 107 bytes",
                 "unix socket", NULL);
    path[CONFIG_SOCKET_SIZE - 1] = '\0'; /* 107 bytes: fits */
    snprintf(text, sizeof text, CLUSTER_MIN NODES LOCAL_MIN "control_socket = %s\n", path);
    ck_assert_msg(parse(text) == 0, "%s", err);
    ck_assert_str_eq(config.control_socket, path);
}
END_TEST

START_TEST(unknown_group)
{
    expect_error(CLUSTER_MIN NODES LOCAL_MIN "control_group = mmcoord-no-such-group\n",
                 "t.conf:18: [local] control_group = mmcoord-no-such-group: no such group", NULL);
}
END_TEST

START_TEST(cross_checks)
{
    expect_error(CLUSTER_MIN "heartbeat_ms = 100\nelection_timeout_ms = 150\n" NODES LOCAL_MIN,
                 "t.conf:5: [cluster] election_timeout_ms = 150: less than twice heartbeat_ms",
                 NULL);
    expect_error(CLUSTER_MIN "heartbeat_ms = 200\n" NODES LOCAL_MIN,
                 "t.conf:4: [cluster] heartbeat_ms = 200: more than half of election_timeout_ms",
                 NULL);
    /* The writer's serving window must outlast an election. */
    expect_error(CLUSTER_MIN "election_timeout_ms = 1000\n" NODES LOCAL_MIN,
                 "t.conf:4: [cluster] lease_ms = 1000 with election_timeout_ms = 1000", "1251",
                 NULL);
    expect_error(CLUSTER_MIN "lease_ms = 500\n" NODES LOCAL_MIN,
                 "t.conf:4: [cluster] lease_ms = 500 with election_timeout_ms = 300", NULL);
    expect_error(CLUSTER_MIN "fence_budget_ms = 500\n" NODES LOCAL_MIN,
                 "t.conf:4: [cluster] fence_budget_ms = 500: not less than half of lease_ms", NULL);
    expect_error(CLUSTER_MIN "lease_ms = 400\n" NODES LOCAL_MIN,
                 "t.conf:4: [cluster] lease_ms = 400: fence_budget_ms", NULL);
    expect_error(CLUSTER_MIN NODES "[node x]\nraft_address = 127.0.0.1:7402\nmysql_address = x\n"
                                   "candidate = yes\n" LOCAL_MIN,
                 "t.conf:16: [node x] raft_address = 127.0.0.1:7402: also the raft_address of "
                 "node m2 (line 9)",
                 NULL);
    expect_error(CLUSTER_MIN "[node a]\nraft_address = 127.0.0.1:1\nmysql_address = a\n"
                             "[node b]\nraft_address = 127.0.0.1:2\nmysql_address = b\n" LOCAL_MIN,
                 "t.conf:4: [node a]: no node is a candidate", NULL);
    /* Exactly at the limits is accepted. */
    ck_assert_msg(parse(CLUSTER_MIN "heartbeat_ms = 100\nelection_timeout_ms = 200\n"
                                    "lease_ms = 501\nfence_budget_ms = 200\n" NODES LOCAL_MIN) == 0,
                  "%s", err);
}
END_TEST

START_TEST(syntax_errors)
{
    expect_error(CLUSTER_MIN "this is not a key\n" NODES LOCAL_MIN,
                 "t.conf:4: syntax error in \"this is not a key\"", NULL);
    /* An indented line does not continue the previous value. */
    expect_error("[cluster]\nname = test\n   more\nsecret_file = /s\n" NODES LOCAL_MIN,
                 "t.conf:3: syntax error", NULL);
    expect_error(CLUSTER_MIN "[local\n" NODES LOCAL_MIN, "t.conf:4: section header without ']'",
                 NULL);
    expect_error("name = test\n" CLUSTER_MIN NODES LOCAL_MIN,
                 "t.conf:1: name = test: key outside any section", NULL);
    expect_error(CLUSTER_MIN "name2 =\n" NODES LOCAL_MIN, "t.conf:4:", "unknown key", NULL);
    expect_error("[cluster]\nname =\nsecret_file = /s\n" NODES LOCAL_MIN,
                 "t.conf:2: [cluster] name = : no value", NULL);
    char text[1024];
    char long_value[300];
    memset(long_value, 'x', sizeof long_value);
    long_value[0] = '/';
    long_value[sizeof long_value - 1] = '\0';
    snprintf(text, sizeof text, CLUSTER_MIN NODES LOCAL_MIN "mysql_credentials_file = %s\n",
             long_value);
    expect_error(text, "t.conf:18: line longer than", NULL);
}
END_TEST

START_TEST(first_error_wins)
{
    /* A syntax error that inih reports before a later key error. */
    expect_error(CLUSTER_MIN "oops\nheartbeat_ms = x\n" NODES LOCAL_MIN, "t.conf:4: syntax error",
                 NULL);
    expect_error(CLUSTER_MIN "heartbeat_ms = x\noops\n" NODES LOCAL_MIN,
                 "t.conf:4: [cluster] heartbeat_ms = x", NULL);
}
END_TEST

START_TEST(raft_ids)
{
    /* FNV-1a 64 test vectors: the ids must never change between releases. */
    ck_assert_uint_eq(config_raft_id("a"), 0xaf63dc4c8601ec8cull);
    ck_assert_uint_eq(config_raft_id("foobar"), 0x85944171f73967e8ull);
    uint64_t m1 = config_raft_id("m1"), m2 = config_raft_id("m2"), s = config_raft_id("s");
    ck_assert_uint_ne(m1, 0);
    ck_assert_uint_ne(m2, 0);
    ck_assert_uint_ne(s, 0);
    ck_assert_uint_ne(m1, m2);
    ck_assert_uint_ne(m1, s);
    ck_assert_uint_ne(m2, s);
    ck_assert_uint_eq(config_raft_id("m1"), m1);

    /* Reordering the nodes in the file keeps their ids. */
    ck_assert_msg(parse(CLUSTER_MIN NODES LOCAL_MIN) == 0, "%s", err);
    const struct config_node *node = config_find_raft_id(&config, s);
    ck_assert_ptr_nonnull(node);
    ck_assert_str_eq(node->id, "s");
    ck_assert_ptr_eq(config_find_node(&config, "m2"), &config.nodes[1]);
    ck_assert_ptr_null(config_find_node(&config, "m3"));
    ck_assert_ptr_null(config_find_raft_id(&config, 12345));
    ck_assert_msg(parse(CLUSTER_MIN "[node s]\nraft_address = 127.0.0.1:7403\n"
                                    "mysql_address = db\n"
                                    "[node m1]\nraft_address = 127.0.0.1:7401\n"
                                    "mysql_address = db\ncandidate = yes\n" LOCAL_MIN) == 0,
                  "%s", err);
    ck_assert_uint_eq(config.nodes[0].raft_id, s);
    ck_assert_uint_eq(config.nodes[1].raft_id, m1);
    ck_assert_uint_eq(config.local_index, 1);
}
END_TEST

/* ---- files ------------------------------------------------------------------------------- */

static char dir[64];

static void make_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/test_config.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void remove_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static void write_file(const char *path, const char *content, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, content, len), (ssize_t)len);
    ck_assert_int_eq(fchmod(fd, mode), 0);
    close(fd);
}

START_TEST(secret_files)
{
    char path[128];
    unsigned char secret[CONFIG_SECRET_MAX];
    size_t len = 0;
    const char *hex = "0123456789abcdef0123456789abcdef";
    snprintf(path, sizeof path, "%s/secret", dir);

    write_file(path, "0123456789abcdef0123456789abcdef\n", 33, 0600);
    ck_assert_msg(config_read_secret(path, secret, &len, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(len, 32);
    ck_assert_mem_eq(secret, hex, 32);

    write_file(path, hex, 32, 0400);
    ck_assert_msg(config_read_secret(path, secret, &len, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(len, 32);

    write_file(path, hex, 32, 0644);
    ck_assert_int_eq(config_read_secret(path, secret, &len, err, sizeof err), -EPERM);
    ck_assert_ptr_nonnull(strstr(err, path));
    ck_assert_ptr_nonnull(strstr(err, "readable by group/others (mode 0644)"));
    ck_assert_ptr_nonnull(strstr(err, "chmod 600"));

    write_file(path, hex, 32, 0620);
    ck_assert_int_eq(config_read_secret(path, secret, &len, err, sizeof err), -EPERM);
    ck_assert_ptr_nonnull(strstr(err, "writable"));

    write_file(path, "short\n", 6, 0600);
    ck_assert_int_eq(config_read_secret(path, secret, &len, err, sizeof err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "5 bytes"));

    static char big[CONFIG_SECRET_MAX + 1];
    memset(big, 'k', sizeof big);
    write_file(path, big, sizeof big, 0600);
    ck_assert_int_eq(config_read_secret(path, secret, &len, err, sizeof err), -EINVAL);
    write_file(path, big, CONFIG_SECRET_MAX, 0600);
    ck_assert_msg(config_read_secret(path, secret, &len, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(len, CONFIG_SECRET_MAX);

    snprintf(path, sizeof path, "%s/none", dir);
    ck_assert_int_eq(config_read_secret(path, secret, &len, err, sizeof err), -ENOENT);
    ck_assert_ptr_nonnull(strstr(err, path));
    ck_assert_int_eq(config_read_secret(dir, secret, &len, err, sizeof err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "not a regular file"));
}
END_TEST

START_TEST(private_files)
{
    char path[128];
    snprintf(path, sizeof path, "%s/my.cnf", dir);
    write_file(path, "[client]\n", 9, 0600);
    ck_assert_msg(config_check_private_file(path, err, sizeof err) == 0, "%s", err);
    write_file(path, "[client]\n", 9, 0640);
    ck_assert_int_eq(config_check_private_file(path, err, sizeof err), -EPERM);
    ck_assert_ptr_nonnull(strstr(err, path));
    ck_assert_ptr_nonnull(strstr(err, "chmod 600"));
    snprintf(path, sizeof path, "%s/none", dir);
    ck_assert_int_eq(config_check_private_file(path, err, sizeof err), -ENOENT);
}
END_TEST

START_TEST(load_files)
{
    char path[128];
    snprintf(path, sizeof path, "%s/m1.conf", dir);
    const char *good = CLUSTER_MIN NODES LOCAL_MIN;
    write_file(path, good, strlen(good), 0644);
    ck_assert_msg(config_load(path, &config, err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(config.path, path);

    const char *bad = CLUSTER_MIN "heartbeat_ms = 1\n" NODES LOCAL_MIN;
    write_file(path, bad, strlen(bad), 0644);
    ck_assert_int_eq(config_load(path, &config, err, sizeof err), -EINVAL);
    char want[160];
    snprintf(want, sizeof want, "%s:4: [cluster] heartbeat_ms = 1", path);
    ck_assert_msg(strstr(err, want) != NULL, "%s", err);

    write_file(path, "[cluster]\0name = x\n", 19, 0644);
    ck_assert_int_eq(config_load(path, &config, err, sizeof err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "NUL"));

    snprintf(path, sizeof path, "%s/missing.conf", dir);
    ck_assert_int_eq(config_load(path, &config, err, sizeof err), -ENOENT);
    ck_assert_ptr_nonnull(strstr(err, path));
}
END_TEST

static const char *top_srcdir(void)
{
    const char *top = getenv("top_srcdir");
    return top != NULL ? top : ".";
}

START_TEST(loopback_examples)
{
    static const char *const ids[] = {"m1", "m2", "s"};
    for (size_t i = 0; i < 3; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/examples/loopback/%s.conf", top_srcdir(), ids[i]);
        ck_assert_msg(config_load(path, &config, err, sizeof err) == 0, "%s", err);
        ck_assert_str_eq(config.local_id, ids[i]);
        ck_assert_uint_eq(config.n_nodes, 3);
        ck_assert_str_eq(config.nodes[config.local_index].id, ids[i]);
        ck_assert_str_eq(config.secret_file, "/tmp/mmcoord/secret");
        char want[128];
        snprintf(want, sizeof want, "/tmp/mmcoord/%s/data", ids[i]);
        ck_assert_str_eq(config.data_dir, want);
        snprintf(want, sizeof want, "/tmp/mmcoord/%s/mmcoordd.sock", ids[i]);
        ck_assert_str_eq(config.control_socket, want);
        snprintf(want, sizeof want, "127.0.0.1:%zu", 7401 + i);
        ck_assert_str_eq(config.nodes[config.local_index].raft_address, want);
        ck_assert(config.nodes[config.local_index].candidate == (i < 2));
        ck_assert_str_eq(config.vip, "");
    }
}
END_TEST

/* Every key in the table is documented in the man page. */
START_TEST(man_page_documents_every_key)
{
    char path[512];
    snprintf(path, sizeof path, "%s/docs/mmcoord.conf.5", top_srcdir());
    FILE *file = fopen(path, "r");
    ck_assert_msg(file != NULL, "cannot open %s", path);
    static char page[65536];
    size_t n = fread(page, 1, sizeof page - 1, file);
    fclose(file);
    page[n] = '\0';
    const char *section, *key, *help;
    size_t count = 0;
    for (size_t i = 0; config_key_at(i, &section, &key, &help); i++) {
        char want[128];
        snprintf(want, sizeof want, "\n.B %s\n", key);
        ck_assert_msg(strstr(page, want) != NULL, "%s does not document [%s] %s", path, section,
                      key);
        ck_assert(help[0] != '\0');
        count++;
    }
    ck_assert_uint_ge(count, 22);
}
END_TEST

static Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *parsing = tcase_create("parsing");
    tcase_add_test(parsing, full_file);
    tcase_add_test(parsing, defaults);
    tcase_add_test(parsing, unknown_section);
    tcase_add_test(parsing, unknown_key);
    tcase_add_test(parsing, duplicate_key);
    tcase_add_test(parsing, duplicate_section);
    tcase_add_test(parsing, bad_integer);
    tcase_add_test(parsing, out_of_range);
    tcase_add_test(parsing, bad_boolean);
    tcase_add_test(parsing, bad_name);
    tcase_add_test(parsing, bad_log_level);
    tcase_add_test(parsing, bad_address);
    tcase_add_test(parsing, bad_vip);
    tcase_add_test(parsing, ipv6_vip);
    tcase_add_test(parsing, vip_needs_interface);
    tcase_add_test(parsing, vip_lifetime_sets_the_leader_wait);
    tcase_add_test(parsing, missing_required_key);
    tcase_add_test(parsing, missing_sections);
    tcase_add_test(parsing, local_id_not_a_node);
    tcase_add_test(parsing, duplicate_node);
    tcase_add_test(parsing, invalid_node_id);
    tcase_add_test(parsing, too_many_nodes);
    tcase_add_test(parsing, relative_paths);
    tcase_add_test(parsing, socket_path_too_long);
    tcase_add_test(parsing, unknown_group);
    tcase_add_test(parsing, cross_checks);
    tcase_add_test(parsing, syntax_errors);
    tcase_add_test(parsing, first_error_wins);
    tcase_add_test(parsing, raft_ids);
    suite_add_tcase(s, parsing);

    TCase *files = tcase_create("files");
    tcase_add_checked_fixture(files, make_dir, remove_dir);
    tcase_add_test(files, secret_files);
    tcase_add_test(files, private_files);
    tcase_add_test(files, load_files);
    tcase_add_test(files, loopback_examples);
    tcase_add_test(files, man_page_documents_every_key);
    suite_add_tcase(s, files);
    return s;
}

int main(void)
{
    SRunner *runner = srunner_create(config_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
