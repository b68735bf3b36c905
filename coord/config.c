/*
 * Configuration: see config.h. inih splits the file into sections and key = value pairs; this
 * module feeds it one line at a time through its own reader, so that it knows the line number
 * of every key (Debian builds inih without INI_HANDLER_LINENO) and sees every section header,
 * even one with no keys under it. Every key is one row of key_table: to add a key, add a field
 * to struct config or struct config_node, a row here and a paragraph in docs/mmcoord.conf.5.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <ini.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coord/config.h"
#include "netops/arp.h"

/* A configuration file larger than this is not one. */
#define CONFIG_FILE_MAX (1024 * 1024)

/* Room for the longest message: file name, line, value, and the list of valid keys. */
#define MESSAGE_SIZE 1024

/* Values are quoted in messages up to this many bytes. */
#define VALUE_QUOTE_MAX 80

#define MYSQL_DEFAULT_PORT 3306

enum section_kind {
    SECTION_NONE = 0,
    SECTION_CLUSTER,
    SECTION_NODE,
    SECTION_LOCAL,
};

enum value_type {
    TYPE_UINT,          /* unsigned, min..max */
    TYPE_FRACTION,      /* double, min <= v < max */
    TYPE_BOOL,          /* bool */
    TYPE_LOG_LEVEL,     /* enum log_level */
    TYPE_NAME,          /* char[size]: [A-Za-z0-9_-]{1,size-1} */
    TYPE_PATH,          /* char[size]: absolute path */
    TYPE_GROUP,         /* char[size]: an existing group */
    TYPE_IFNAME,        /* char[size]: a network interface name */
    TYPE_VIP,           /* char[size]: "a.b.c.d/len" */
    TYPE_RAFT_ADDRESS,  /* char[size]: "a.b.c.d:port" */
    TYPE_MYSQL_ADDRESS, /* char[size] host at offset, uint16_t port at port_offset */
};

struct key {
    enum section_kind section;
    const char *name;
    enum value_type type;
    double min, max;      /* TYPE_UINT, TYPE_FRACTION */
    const char *unit;     /* TYPE_UINT, TYPE_PATH: shown after the range, or NULL */
    bool required;        /* no default: the file must set it */
    const char *fallback; /* the default, parsed like a value from the file; NULL: empty */
    size_t offset;        /* in struct config, or struct config_node for SECTION_NODE */
    size_t size;          /* of the field at offset (strings) */
    size_t port_offset;   /* TYPE_MYSQL_ADDRESS only */
    const char *help;     /* one line: what the key means */
};

#define CLUSTER(field) offsetof(struct config, field), sizeof(((struct config *)0)->field)
#define LOCAL(field)   CLUSTER(field)
#define NODE(field)    offsetof(struct config_node, field), sizeof(((struct config_node *)0)->field)

static const struct key key_table[] = {
    {SECTION_CLUSTER, "name", TYPE_NAME, 0, 0, NULL, true, NULL, CLUSTER(cluster_name), 0,
     "the cluster's name, shown in logs and by mmctl"},
    {SECTION_CLUSTER, "secret_file", TYPE_PATH, 0, 0, NULL, true, NULL, CLUSTER(secret_file), 0,
     "the file holding the secret shared by all nodes"},
    {SECTION_CLUSTER, "heartbeat_ms", TYPE_UINT, 10, 10000, "milliseconds", false, "50",
     CLUSTER(heartbeat_ms), 0, "raft heartbeat interval"},
    {SECTION_CLUSTER, "election_timeout_ms", TYPE_UINT, 50, 60000, "milliseconds", false, "300",
     CLUSTER(election_timeout_ms), 0, "raft election timeout"},
    {SECTION_CLUSTER, "lease_ms", TYPE_UINT, 100, 600000, "milliseconds", false, "1000",
     CLUSTER(lease_ms), 0, "length of the writer's lease"},
    {SECTION_CLUSTER, "lease_drift", TYPE_FRACTION, 0, 0.5, NULL, false, "0.05",
     CLUSTER(lease_drift), 0, "bound on any host's clock-rate error against real time"},
    {SECTION_CLUSTER, "lease_margin_ms", TYPE_UINT, 0, 60000, "milliseconds", false, "100",
     CLUSTER(lease_margin_ms), 0, "extra wait before a lease is taken as expired"},
    {SECTION_CLUSTER, "fence_budget_ms", TYPE_UINT, 1, 300000, "milliseconds", false, "200",
     CLUSTER(fence_budget_ms), 0, "time a writer keeps for fencing before its lease ends"},
    {SECTION_CLUSTER, "report_interval_ms", TYPE_UINT, 10, 60000, "milliseconds", false, "1000",
     CLUSTER(report_interval_ms), 0, "how often each node reports its health"},
    {SECTION_CLUSTER, "snapshot_threshold", TYPE_UINT, 1, 10000000, "log entries", false, "1024",
     CLUSTER(snapshot_threshold), 0, "raft log entries between snapshots"},
    {SECTION_CLUSTER, "snapshot_trailing", TYPE_UINT, 0, 10000000, "log entries", false, "128",
     CLUSTER(snapshot_trailing), 0, "raft log entries kept after a snapshot"},
    {SECTION_CLUSTER, "vip", TYPE_VIP, 0, 0, NULL, false, NULL, CLUSTER(vip), 0,
     "the virtual IP the writer holds"},
    {SECTION_CLUSTER, "vip_interface", TYPE_IFNAME, 0, 0, NULL, false, NULL, CLUSTER(vip_interface),
     0, "the interface the virtual IP is added to"},
    {SECTION_CLUSTER, "tcp_reset_ms", TYPE_UINT, 0, 600000, "milliseconds", false, "5000",
     CLUSTER(tcp_reset_ms), 0,
     "after giving the virtual IP away, refuse connection attempts still sent here this long "
     "(0: off)"},
    {SECTION_CLUSTER, "vip_lifetime", TYPE_BOOL, 0, 0, NULL, false, "yes", CLUSTER(vip_lifetime), 0,
     "give the virtual IP a kernel lifetime, so that a host whose mmcoordd and fencer are both "
     "dead drops it by itself (the leader's wait after a silent writer covers it)"},
    {SECTION_CLUSTER, "vip_lifetime_late_ms", TYPE_UINT, 300, 10000, "milliseconds", false, "400",
     CLUSTER(vip_lifetime_late_ms), 0,
     "how late the kernel may remove the virtual IP once its lifetime has run out"},
    {SECTION_CLUSTER, "probe_interval_ms", TYPE_UINT, 10, 60000, "milliseconds", false, "100",
     CLUSTER(probe_interval_ms), 0, "how often each node probes its own MySQL server"},
    {SECTION_CLUSTER, "probe_timeout_ms", TYPE_UINT, 20, 60000, "milliseconds", false, "300",
     CLUSTER(probe_timeout_ms), 0,
     "how long a probe may take before MySQL counts as not answering"},
    {SECTION_CLUSTER, "promote_with_loss", TYPE_BOOL, 0, 0, NULL, false, "no",
     CLUSTER(promote_with_loss), 0,
     "promote a candidate even when no reachable server holds every acknowledged transaction"},
    {SECTION_CLUSTER, "garp_count", TYPE_UINT, 1, 100, "announcements", false, "5",
     CLUSTER(garp_count), 0, "gratuitous ARP announcements sent after the VIP is added"},
    {SECTION_CLUSTER, "garp_interval_ms", TYPE_UINT, 0, 10000, "milliseconds", false, "200",
     CLUSTER(garp_interval_ms), 0, "time between those announcements"},
    {SECTION_CLUSTER, "garp_refresh_ms", TYPE_UINT, 0, 3600000, "milliseconds (0: off)", false,
     "1000", CLUSTER(garp_refresh_ms), 0, "re-announce the VIP this often while it is held"},
    {SECTION_CLUSTER, "log_level", TYPE_LOG_LEVEL, 0, 0, NULL, false, "info", CLUSTER(log_level), 0,
     "lowest level of messages logged"},

    {SECTION_NODE, "raft_address", TYPE_RAFT_ADDRESS, 0, 0, NULL, true, NULL, NODE(raft_address), 0,
     "where the node's daemon listens for raft traffic"},
    {SECTION_NODE, "mysql_address", TYPE_MYSQL_ADDRESS, 0, 0, NULL, true, NULL, NODE(mysql_host),
     offsetof(struct config_node, mysql_port), "where the node's MySQL server listens"},
    {SECTION_NODE, "candidate", TYPE_BOOL, 0, 0, NULL, false, "no", NODE(candidate), 0,
     "whether the node may become the writer"},

    {SECTION_LOCAL, "id", TYPE_NAME, 0, 0, NULL, true, NULL, LOCAL(local_id), 0,
     "the id of the node this file is for"},
    {SECTION_LOCAL, "data_dir", TYPE_PATH, 0, 0, NULL, true, NULL, LOCAL(data_dir), 0,
     "the directory of the raft log and snapshots"},
    {SECTION_LOCAL, "control_socket", TYPE_PATH, 0, 0, "the limit of a unix socket address", false,
     "/run/mmcoord/mmcoordd.sock", LOCAL(control_socket), 0, "the unix socket mmctl talks to"},
    {SECTION_LOCAL, "control_group", TYPE_GROUP, 0, 0, NULL, false, NULL, LOCAL(control_group), 0,
     "the group allowed to use the control socket"},
    {SECTION_LOCAL, "mysql_credentials_file", TYPE_PATH, 0, 0, NULL, false, NULL,
     LOCAL(mysql_credentials_file), 0, "a my.cnf-style file with [client] user and password"},
    {SECTION_LOCAL, "replication_credentials_file", TYPE_PATH, 0, 0, NULL, false, NULL,
     LOCAL(replication_credentials_file), 0,
     "the replication user ([client] user and password) for pointing replication at the writer"},
    {SECTION_LOCAL, "fencer_socket", TYPE_PATH, 0, 0, "the limit of a unix socket address", false,
     "/run/mmcoord/fencer.sock", LOCAL(fencer_socket), 0,
     "the unix socket of this host's fencer process"},
};

#define N_KEYS (sizeof key_table / sizeof key_table[0])

/* Where each key of one section instance was set: 0 when it was not. */
struct seen {
    unsigned line[N_KEYS];
};

struct parser {
    struct config *config;
    const char *name;   /* the file, as messages name it */
    const char *text;   /* the whole file */
    const char *cursor; /* the start of the next line */
    unsigned lineno;    /* the line the reader handed to inih last */

    enum section_kind section;
    struct config_node *node; /* SECTION_NODE: the node being read */
    unsigned cluster_line, local_line;
    struct seen cluster_seen, local_seen, node_seen[CONFIG_MAX_NODES];

    int error; /* the first error, or 0 */
    unsigned error_line;
    char message[MESSAGE_SIZE];
};

static const char *const section_names[] = {[SECTION_NONE] = "",
                                            [SECTION_CLUSTER] = "cluster",
                                            [SECTION_NODE] = "node",
                                            [SECTION_LOCAL] = "local"};

/* ---- messages ---------------------------------------------------------------------------- */

static void copy_message(char *errmsg, size_t errlen, const char *message)
{
    if (errmsg != NULL && errlen > 0) {
        snprintf(errmsg, errlen, "%s", message);
    }
}

/* Record the first error only: later ones are often consequences of it. */
__attribute__((format(printf, 3, 4))) static int fail(struct parser *p, unsigned line,
                                                      const char *fmt, ...)
{
    if (p->error != 0) {
        return -EINVAL;
    }
    p->error = -EINVAL;
    p->error_line = line;
    int n = line > 0 ? snprintf(p->message, sizeof p->message, "%s:%u: ", p->name, line)
                     : snprintf(p->message, sizeof p->message, "%s: ", p->name);
    if (n < 0 || (size_t)n >= sizeof p->message) {
        return -EINVAL;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->message + n, sizeof p->message - (size_t)n, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

/* "[cluster]", "[node m1]", "[local]". */
static const char *section_label(enum section_kind kind, const struct config_node *node, char *buf,
                                 size_t size)
{
    if (kind == SECTION_NODE && node != NULL) {
        snprintf(buf, size, "[node %s]", node->id);
    } else {
        snprintf(buf, size, "[%s]", section_names[kind]);
    }
    return buf;
}

/* A value as messages show it: cut short, and control characters replaced. */
static const char *quote_value(const char *value, char *buf, size_t size)
{
    size_t n = 0;
    for (; value[n] != '\0' && n + 1 < size && n < VALUE_QUOTE_MAX; n++) {
        buf[n] = iscntrl((unsigned char)value[n]) ? '?' : value[n];
    }
    buf[n] = '\0';
    if (value[n] != '\0' && n >= 3) {
        memcpy(buf + n - 3, "...", 3);
    }
    return buf;
}

/* What a key accepts, as the end of a message says it. */
static const char *describe_expected(const struct key *key, char *buf, size_t size)
{
    switch (key->type) {
    case TYPE_UINT:
        snprintf(buf, size, "an integer from %.0f to %.0f%s%s%s", key->min, key->max,
                 key->unit != NULL ? " (" : "", key->unit != NULL ? key->unit : "",
                 key->unit != NULL ? ")" : "");
        break;
    case TYPE_FRACTION:
        snprintf(buf, size, "a decimal number from %g up to but not including %g, like 0.05",
                 key->min, key->max);
        break;
    case TYPE_BOOL:
        snprintf(buf, size, "yes or no (or true/false, 1/0)");
        break;
    case TYPE_LOG_LEVEL:
        snprintf(buf, size, "debug, info, warn or error");
        break;
    case TYPE_NAME:
        snprintf(buf, size, "1 to %zu letters, digits, '_' or '-'", key->size - 1);
        break;
    case TYPE_PATH:
        snprintf(buf, size, "an absolute path of at most %zu bytes%s%s%s", key->size - 1,
                 key->unit != NULL ? " (" : "", key->unit != NULL ? key->unit : "",
                 key->unit != NULL ? ")" : "");
        break;
    case TYPE_GROUP:
        snprintf(buf, size, "the name of an existing group (see: getent group)");
        break;
    case TYPE_IFNAME:
        snprintf(buf, size, "a network interface name of 1 to %zu characters, like eth0",
                 key->size - 1);
        break;
    case TYPE_VIP:
        snprintf(buf, size, "an IPv4 address and prefix length, like 192.168.1.10/24");
        break;
    case TYPE_RAFT_ADDRESS:
        snprintf(buf, size, "an IPv4 address and a port from 1 to 65535, like 192.168.1.11:7401");
        break;
    case TYPE_MYSQL_ADDRESS:
        snprintf(buf, size,
                 "HOST or HOST:PORT, HOST an IPv4 address, a host name or [IPv6 address], "
                 "PORT from 1 to 65535 (default %d)",
                 MYSQL_DEFAULT_PORT);
        break;
    }
    return buf;
}

/* "FILE:LINE: [section] key = value: WHAT; expected ..." */
static int fail_value(struct parser *p, unsigned line, const char *label, const struct key *key,
                      const char *value, const char *what)
{
    char quoted[VALUE_QUOTE_MAX + 1];
    char expected[256];
    return fail(p, line, "%s %s = %s: %s; expected %s", label, key->name,
                quote_value(value, quoted, sizeof quoted), what,
                describe_expected(key, expected, sizeof expected));
}

/* ---- values ------------------------------------------------------------------------------ */

#define NAME_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"

/* Node ids and the cluster name: plain ASCII, so that they are safe in logs, file names and
 * shell commands, and hash to the same raft id on every host. */
static bool is_valid_name(const char *text, size_t size)
{
    size_t n = strlen(text);
    return n > 0 && n < size && strspn(text, NAME_CHARS) == n;
}

/* Decimal digits only: no sign, no spaces, no hex, no octal surprises. */
static int parse_unsigned(const char *text, unsigned long long max, unsigned long long *out)
{
    if (*text == '\0') {
        return -EINVAL;
    }
    unsigned long long v = 0;
    for (const char *c = text; *c != '\0'; c++) {
        if (!isdigit((unsigned char)*c)) {
            return -EINVAL;
        }
        v = v * 10 + (unsigned long long)(*c - '0');
        if (v > max) {
            return -ERANGE;
        }
    }
    *out = v;
    return 0;
}

/* Digits, an optional point and more digits: strtod alone would take "nan", "1e3" or hex. */
static int parse_fraction(const char *text, double *out)
{
    const char *c = text;
    size_t digits = 0;
    while (isdigit((unsigned char)*c)) {
        c++;
        digits++;
    }
    if (*c == '.') {
        c++;
        while (isdigit((unsigned char)*c)) {
            c++;
            digits++;
        }
    }
    if (*c != '\0' || digits == 0) {
        return -EINVAL;
    }
    *out = strtod(text, NULL);
    return 0;
}

static int parse_bool(const char *text, bool *out)
{
    static const char *const truths[] = {"yes", "true", "1", "on"};
    static const char *const falsehoods[] = {"no", "false", "0", "off"};
    for (size_t i = 0; i < sizeof truths / sizeof truths[0]; i++) {
        if (strcasecmp(text, truths[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(text, falsehoods[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -EINVAL;
}

/* A dotted-quad IPv4 address, as inet_pton takes it (no shorthand like "10.1"). */
static bool parse_ipv4(const char *text, struct in_addr *out)
{
    return inet_pton(AF_INET, text, out) == 1;
}

/* Split "HOST:PORT" at the last colon into @host (capacity @size) and the port. */
static int split_port(const char *text, char *host, size_t size, const char **port)
{
    const char *colon = strrchr(text, ':');
    if (colon == NULL) {
        return -EINVAL;
    }
    size_t n = (size_t)(colon - text);
    if (n >= size) {
        return -ENAMETOOLONG;
    }
    memcpy(host, text, n);
    host[n] = '\0';
    *port = colon + 1;
    return 0;
}

/* Check a value of @key and store it at @field. On failure, fill @what (what is wrong). */
static int check_raft_address(const char *value, char *what, size_t whatlen)
{
    char host[INET_ADDRSTRLEN + 8];
    const char *port_text;
    struct in_addr addr;
    unsigned long long port;
    if (strchr(value, '[') != NULL || strchr(value, ':') != strrchr(value, ':')) {
        snprintf(what, whatlen, "IPv6 raft addresses are not supported yet");
        return -EINVAL;
    }
    if (split_port(value, host, sizeof host, &port_text) != 0) {
        snprintf(what, whatlen, "not an IPv4 address and port");
        return -EINVAL;
    }
    if (!parse_ipv4(host, &addr)) {
        snprintf(what, whatlen, "%s is not an IPv4 address", host);
        return -EINVAL;
    }
    if (addr.s_addr == htonl(INADDR_ANY)) {
        snprintf(what, whatlen, "0.0.0.0 is not an address other nodes can connect to");
        return -EINVAL;
    }
    if (parse_unsigned(port_text, 65535, &port) != 0 || port == 0) {
        snprintf(what, whatlen, "bad port \"%s\"", port_text);
        return -EINVAL;
    }
    return 0;
}

static bool is_host_name(const char *host)
{
    size_t n = strlen(host);
    if (n == 0 || n > 253 || host[0] == '.' || host[0] == '-') {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!isalnum((unsigned char)host[i]) && host[i] != '-' && host[i] != '.') {
            return false;
        }
    }
    return true;
}

static int store_mysql_address(const char *value, char *host, size_t size, uint16_t *port_out,
                               char *what, size_t whatlen)
{
    const char *port_text = NULL;
    struct in6_addr addr6;
    if (value[0] == '[') {
        const char *close = strchr(value, ']');
        if (close == NULL) {
            snprintf(what, whatlen, "'[' without ']'");
            return -EINVAL;
        }
        size_t n = (size_t)(close - value - 1);
        if (n >= size) {
            snprintf(what, whatlen, "host too long");
            return -EINVAL;
        }
        memcpy(host, value + 1, n);
        host[n] = '\0';
        if (inet_pton(AF_INET6, host, &addr6) != 1) {
            snprintf(what, whatlen, "%s is not an IPv6 address", host);
            return -EINVAL;
        }
        if (close[1] == ':') {
            port_text = close + 2;
        } else if (close[1] != '\0') {
            snprintf(what, whatlen, "unexpected text after ']'");
            return -EINVAL;
        }
    } else if (strchr(value, ':') != strrchr(value, ':')) {
        snprintf(what, whatlen, "an IPv6 address must be written in brackets, like [::1]:3306");
        return -EINVAL;
    } else if (strchr(value, ':') != NULL) {
        if (split_port(value, host, size, &port_text) != 0) {
            snprintf(what, whatlen, "host too long");
            return -EINVAL;
        }
    } else {
        if (strlen(value) >= size) {
            snprintf(what, whatlen, "host too long");
            return -EINVAL;
        }
        snprintf(host, size, "%s", value);
    }
    if (value[0] != '[' && !is_host_name(host)) {
        snprintf(what, whatlen, "\"%s\" is not a host name or address", host);
        return -EINVAL;
    }
    unsigned long long port = MYSQL_DEFAULT_PORT;
    if (port_text != NULL && (parse_unsigned(port_text, 65535, &port) != 0 || port == 0)) {
        snprintf(what, whatlen, "bad port \"%s\"", port_text);
        return -EINVAL;
    }
    *port_out = (uint16_t)port;
    return 0;
}

static int check_vip(const char *value, char *what, size_t whatlen)
{
    char host[INET6_ADDRSTRLEN + 8];
    const char *slash = strchr(value, '/');
    struct in_addr addr;
    unsigned long long prefix;
    if (strchr(value, ':') != NULL) {
        snprintf(what, whatlen, "IPv6 VIPs are not supported yet");
        return -EINVAL;
    }
    if (slash == NULL) {
        snprintf(what, whatlen, "no prefix length");
        return -EINVAL;
    }
    size_t n = (size_t)(slash - value);
    if (n >= sizeof host) {
        snprintf(what, whatlen, "not an IPv4 address");
        return -EINVAL;
    }
    memcpy(host, value, n);
    host[n] = '\0';
    if (!parse_ipv4(host, &addr)) {
        snprintf(what, whatlen, "%s is not an IPv4 address", host);
        return -EINVAL;
    }
    if (parse_unsigned(slash + 1, 32, &prefix) != 0 || prefix == 0) {
        snprintf(what, whatlen, "bad prefix length \"%s\"", slash + 1);
        return -EINVAL;
    }
    uint32_t a = ntohl(addr.s_addr);
    if ((a >> 24) == 0 || (a >> 28) >= 0xe) {
        snprintf(what, whatlen, "%s is not a unicast host address", host);
        return -EINVAL;
    }
    if (prefix <= 30) {
        uint32_t host_mask = (uint32_t)((1ull << (32 - prefix)) - 1);
        if ((a & host_mask) == 0 || (a & host_mask) == host_mask) {
            snprintf(what, whatlen, "%s is the %s address of the /%llu network", host,
                     (a & host_mask) == 0 ? "network" : "broadcast", prefix);
            return -EINVAL;
        }
    }
    return 0;
}

static int check_ifname(const char *value, size_t size, char *what, size_t whatlen)
{
    size_t n = strlen(value);
    if (n >= size) {
        snprintf(what, whatlen, "longer than %zu characters", size - 1);
        return -EINVAL;
    }
    if (strcmp(value, ".") == 0 || strcmp(value, "..") == 0) {
        snprintf(what, whatlen, "not an interface name");
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        if (value[i] == '/' || value[i] == ':' || isspace((unsigned char)value[i]) ||
            !isgraph((unsigned char)value[i])) {
            snprintf(what, whatlen, "an interface name cannot contain '%c'",
                     isgraph((unsigned char)value[i]) ? value[i] : '?');
            return -EINVAL;
        }
    }
    return 0;
}

static int store_value(const struct key *key, const char *value, void *base, char *what,
                       size_t whatlen)
{
    char *field = (char *)base + key->offset;
    unsigned long long u;
    double d;
    int rv;

    if (*value == '\0') {
        snprintf(what, whatlen, "no value");
        return -EINVAL;
    }
    switch (key->type) {
    case TYPE_UINT:
        rv = parse_unsigned(value, (unsigned long long)key->max, &u);
        if (rv == -EINVAL) {
            snprintf(what, whatlen, "not an integer");
            return rv;
        }
        if (rv != 0 || u < (unsigned long long)key->min) {
            snprintf(what, whatlen, "out of range");
            return -EINVAL;
        }
        *(unsigned *)(void *)field = (unsigned)u;
        return 0;
    case TYPE_FRACTION:
        if (parse_fraction(value, &d) != 0) {
            snprintf(what, whatlen, "not a decimal number");
            return -EINVAL;
        }
        if (d < key->min || d >= key->max) {
            snprintf(what, whatlen, "out of range");
            return -EINVAL;
        }
        *(double *)(void *)field = d;
        return 0;
    case TYPE_BOOL:
        if (parse_bool(value, (bool *)(void *)field) != 0) {
            snprintf(what, whatlen, "not a boolean");
            return -EINVAL;
        }
        return 0;
    case TYPE_LOG_LEVEL:
        if (log_level_parse(value, (enum log_level *)(void *)field) != 0) {
            snprintf(what, whatlen, "not a log level");
            return -EINVAL;
        }
        return 0;
    case TYPE_NAME:
        if (strlen(value) >= key->size) {
            snprintf(what, whatlen, "longer than %zu characters", key->size - 1);
            return -EINVAL;
        }
        if (!is_valid_name(value, key->size)) {
            char bad = value[strspn(value, NAME_CHARS)];
            if (isgraph((unsigned char)bad)) {
                snprintf(what, whatlen, "contains '%c'", bad);
            } else {
                snprintf(what, whatlen, "contains a blank or a non-ASCII character");
            }
            return -EINVAL;
        }
        break;
    case TYPE_PATH:
        if (value[0] != '/') {
            snprintf(what, whatlen, "not an absolute path");
            return -EINVAL;
        }
        if (strlen(value) >= key->size) {
            snprintf(what, whatlen, "longer than %zu bytes", key->size - 1);
            return -EINVAL;
        }
        break;
    case TYPE_GROUP:
        if (strlen(value) >= key->size) {
            snprintf(what, whatlen, "longer than %zu bytes", key->size - 1);
            return -EINVAL;
        }
        if (getgrnam(value) == NULL) {
            snprintf(what, whatlen, "no such group on this host");
            return -EINVAL;
        }
        break;
    case TYPE_IFNAME:
        rv = check_ifname(value, key->size, what, whatlen);
        if (rv != 0) {
            return rv;
        }
        break;
    case TYPE_VIP:
        rv = check_vip(value, what, whatlen);
        if (rv != 0) {
            return rv;
        }
        break;
    case TYPE_RAFT_ADDRESS:
        rv = check_raft_address(value, what, whatlen);
        if (rv != 0) {
            return rv;
        }
        break;
    case TYPE_MYSQL_ADDRESS:
        return store_mysql_address(value, field, key->size,
                                   (uint16_t *)(void *)((char *)base + key->port_offset), what,
                                   whatlen);
    }
    /* Every string type lands here, checked; the size check is the last line of defence. */
    if (strlen(value) >= key->size) {
        snprintf(what, whatlen, "longer than %zu bytes", key->size - 1);
        return -EINVAL;
    }
    memcpy(field, value, strlen(value) + 1);
    return 0;
}

/* ---- sections and keys ------------------------------------------------------------------- */

static const struct key *find_key(enum section_kind section, const char *name)
{
    for (size_t i = 0; i < N_KEYS; i++) {
        if (key_table[i].section == section && strcmp(key_table[i].name, name) == 0) {
            return &key_table[i];
        }
    }
    return NULL;
}

/* "a, b, c": the keys a section accepts. */
static const char *list_keys(enum section_kind section, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < N_KEYS && used < size; i++) {
        if (key_table[i].section == section) {
            int n =
                snprintf(buf + used, size - used, "%s%s", used > 0 ? ", " : "", key_table[i].name);
            if (n < 0) {
                break;
            }
            used += (size_t)n;
        }
    }
    return buf;
}

static struct seen *seen_of(struct parser *p, enum section_kind kind,
                            const struct config_node *node)
{
    switch (kind) {
    case SECTION_CLUSTER:
        return &p->cluster_seen;
    case SECTION_LOCAL:
        return &p->local_seen;
    case SECTION_NODE:
        return &p->node_seen[node - p->config->nodes];
    case SECTION_NONE:
        break;
    }
    return NULL;
}

static void *base_of(struct parser *p, enum section_kind kind, struct config_node *node)
{
    return kind == SECTION_NODE ? (void *)node : (void *)p->config;
}

/* The line a key was set on, or the line of its section's header when it was left out. */
static unsigned line_of(struct parser *p, enum section_kind kind, const struct config_node *node,
                        const char *name)
{
    const struct key *key = find_key(kind, name);
    unsigned line = seen_of(p, kind, node)->line[key - key_table];
    if (line != 0) {
        return line;
    }
    switch (kind) {
    case SECTION_CLUSTER:
        return p->cluster_line;
    case SECTION_LOCAL:
        return p->local_line;
    case SECTION_NODE:
        return node->line;
    case SECTION_NONE:
        break;
    }
    return 0;
}

static int begin_node(struct parser *p, const char *id, const char *header)
{
    struct config *config = p->config;
    if (!is_valid_name(id, CONFIG_ID_SIZE)) {
        char quoted[VALUE_QUOTE_MAX + 1];
        return fail(p, p->lineno,
                    "[%s]: invalid node id \"%s\"; expected 1 to %d letters, digits, '_' or '-'",
                    header, quote_value(id, quoted, sizeof quoted), CONFIG_ID_SIZE - 1);
    }
    for (unsigned i = 0; i < config->n_nodes; i++) {
        if (strcmp(config->nodes[i].id, id) == 0) {
            return fail(p, p->lineno,
                        "[node %s]: node %s is already defined on line %u; expected each node "
                        "once",
                        id, id, config->nodes[i].line);
        }
    }
    if (config->n_nodes == CONFIG_MAX_NODES) {
        return fail(p, p->lineno, "[node %s]: too many nodes; expected at most %d", id,
                    CONFIG_MAX_NODES);
    }
    struct config_node *node = &config->nodes[config->n_nodes++];
    snprintf(node->id, sizeof node->id, "%s", id);
    node->raft_id = config_raft_id(id);
    node->line = p->lineno;
    p->section = SECTION_NODE;
    p->node = node;
    return 0;
}

/* A section header: the text between '[' and ']'. */
static int begin_section(struct parser *p, const char *header)
{
    unsigned *line = NULL;
    enum section_kind kind = SECTION_NONE;
    if (strcmp(header, "cluster") == 0) {
        kind = SECTION_CLUSTER;
        line = &p->cluster_line;
    } else if (strcmp(header, "local") == 0) {
        kind = SECTION_LOCAL;
        line = &p->local_line;
    } else if (strncmp(header, "node", 4) == 0 && (header[4] == ' ' || header[4] == '\t')) {
        const char *id = header + 4;
        while (*id == ' ' || *id == '\t') {
            id++;
        }
        return begin_node(p, id, header);
    } else {
        char quoted[VALUE_QUOTE_MAX + 1];
        return fail(p, p->lineno, "unknown section [%s]; expected [cluster], [node ID] or [local]",
                    quote_value(header, quoted, sizeof quoted));
    }
    if (*line != 0) {
        return fail(p, p->lineno, "[%s] appears twice (first on line %u); expected it once", header,
                    *line);
    }
    *line = p->lineno;
    p->section = kind;
    p->node = NULL;
    return 0;
}

/* inih's handler: one key = value under the current section. Returns 0 to stop inih. */
static int handle_key(void *user, const char *section, const char *name, const char *value)
{
    struct parser *p = user;
    char label[CONFIG_ID_SIZE + 16];
    char quoted[VALUE_QUOTE_MAX + 1];
    (void)section; /* the reader has seen the header already: p->section */

    if (p->error != 0) {
        return 0;
    }
    if (p->section == SECTION_NONE) {
        return !fail(p, p->lineno,
                     "%s = %s: key outside any section; expected [cluster], [node ID] or [local] "
                     "before it",
                     name, quote_value(value, quoted, sizeof quoted));
    }
    section_label(p->section, p->node, label, sizeof label);
    const struct key *key = find_key(p->section, name);
    if (key == NULL) {
        char keys[512];
        return !fail(p, p->lineno, "%s %s = %s: unknown key; expected one of: %s", label, name,
                     quote_value(value, quoted, sizeof quoted),
                     list_keys(p->section, keys, sizeof keys));
    }
    struct seen *seen = seen_of(p, p->section, p->node);
    unsigned *line = &seen->line[key - key_table];
    if (*line != 0) {
        return !fail(p, p->lineno, "%s %s = %s: already set on line %u; expected each key once",
                     label, name, quote_value(value, quoted, sizeof quoted), *line);
    }
    *line = p->lineno;
    char what[160];
    if (store_value(key, value, base_of(p, p->section, p->node), what, sizeof what) != 0) {
        return !fail_value(p, p->lineno, label, key, value, what);
    }
    return 1;
}

/* ---- the reader -------------------------------------------------------------------------- */

/* Find the section name in a header line "[name]  ; comment". Returns 0, or fails. */
static int read_header(struct parser *p, const char *line, char *name, size_t size)
{
    const char *close = strchr(line, ']');
    if (close == NULL) {
        return fail(p, p->lineno,
                    "section header without ']'; expected [cluster], [node ID] or "
                    "[local]");
    }
    for (const char *c = close + 1; *c != '\0'; c++) {
        if (*c == ';' || *c == '#') {
            break;
        }
        if (!isspace((unsigned char)*c)) {
            return fail(p, p->lineno, "text after a section header; expected a comment (;)");
        }
    }
    size_t n = (size_t)(close - line - 1);
    if (n >= size) {
        n = size - 1;
    }
    memcpy(name, line + 1, n);
    name[n] = '\0';
    return 0;
}

/*
 * inih's reader, like fgets: hands inih the next line, with leading blanks removed so that an
 * indented line never continues the previous value (inih's multi-line values would make a
 * stray indent silently change a value), and notes section headers as it passes them.
 * Returns NULL at the end, or after the first error so that parsing stops there.
 */
static char *read_line(char *str, int num, void *stream)
{
    struct parser *p = stream;
    if (p->error != 0 || *p->cursor == '\0' || num < 2) {
        return NULL;
    }
    const char *start = p->cursor;
    const char *end = strchr(start, '\n');
    if (end == NULL) {
        end = start + strlen(start);
    }
    p->cursor = *end == '\n' ? end + 1 : end;
    p->lineno++;

    if (p->lineno == 1 && strncmp(start, "\xEF\xBB\xBF", 3) == 0) {
        start += 3;
    }
    while (start < end && (*start == ' ' || *start == '\t')) {
        start++;
    }
    if (end > start && end[-1] == '\r') {
        end--;
    }
    size_t n = (size_t)(end - start);
    if (n >= (size_t)num - 1) {
        fail(p, p->lineno,
             "line longer than %d characters (without indentation); expected a "
             "shorter line",
             num - 2);
        return NULL;
    }
    memcpy(str, start, n);
    str[n] = '\0';

    if (str[0] == '[') {
        char header[MESSAGE_SIZE / 4];
        if (read_header(p, str, header, sizeof header) != 0 || begin_section(p, header) != 0) {
            return NULL;
        }
    }
    return str;
}

/* The text of line @lineno, for a syntax error message. */
static const char *line_text(const char *text, unsigned lineno, char *buf, size_t size)
{
    for (unsigned i = 1; i < lineno && text != NULL; i++) {
        text = strchr(text, '\n');
        text = text != NULL ? text + 1 : NULL;
    }
    if (text == NULL) {
        buf[0] = '\0';
        return buf;
    }
    size_t n = strcspn(text, "\r\n");
    if (n >= size) {
        n = size - 1;
    }
    memcpy(buf, text, n);
    buf[n] = '\0';
    return quote_value(buf, buf, size);
}

/* ---- after the file: defaults, required keys, cross-checks -------------------------------- */

static int apply_defaults(struct parser *p, enum section_kind kind, struct config_node *node,
                          unsigned header_line)
{
    char label[CONFIG_ID_SIZE + 16];
    char what[160];
    struct seen *seen = seen_of(p, kind, node);
    section_label(kind, node, label, sizeof label);
    for (size_t i = 0; i < N_KEYS; i++) {
        const struct key *key = &key_table[i];
        if (key->section != kind || seen->line[i] != 0) {
            continue;
        }
        if (key->required) {
            char expected[256];
            return fail(p, header_line, "%s: no %s (%s); expected %s = %s in this section", label,
                        key->name, key->help, key->name,
                        describe_expected(key, expected, sizeof expected));
        }
        if (key->fallback != NULL &&
            store_value(key, key->fallback, base_of(p, kind, node), what, sizeof what) != 0) {
            return fail(p, header_line, "%s %s: the built-in default %s is invalid (%s): a bug",
                        label, key->name, key->fallback, what);
        }
    }
    return 0;
}

static int check_timing(struct parser *p)
{
    const struct config *c = p->config;
    const struct seen *seen = &p->cluster_seen;
    unsigned election_line = line_of(p, SECTION_CLUSTER, NULL, "election_timeout_ms");
    unsigned heartbeat_line = line_of(p, SECTION_CLUSTER, NULL, "heartbeat_ms");
    unsigned fence_line = line_of(p, SECTION_CLUSTER, NULL, "fence_budget_ms");
    unsigned lease_line = line_of(p, SECTION_CLUSTER, NULL, "lease_ms");
    bool election_set = seen->line[find_key(SECTION_CLUSTER, "election_timeout_ms") - key_table];
    bool fence_set = seen->line[find_key(SECTION_CLUSTER, "fence_budget_ms") - key_table];

    /* Raft needs several heartbeats per election timeout, or followers start elections while
     * the leader is healthy. */
    if (c->election_timeout_ms < 2 * c->heartbeat_ms) {
        if (election_set) {
            return fail(p, election_line,
                        "[cluster] election_timeout_ms = %u: less than twice heartbeat_ms (%u); "
                        "expected at least %u",
                        c->election_timeout_ms, c->heartbeat_ms, 2 * c->heartbeat_ms);
        }
        return fail(p, heartbeat_line,
                    "[cluster] heartbeat_ms = %u: more than half of election_timeout_ms (%u, the "
                    "default); expected at most %u, or a larger election_timeout_ms",
                    c->heartbeat_ms, c->election_timeout_ms, c->election_timeout_ms / 2);
    }
    /* The writer renews every lease_ms/4 and stops serving fence_budget_ms before its lease
     * ends: a budget of half the lease or more leaves it fenced most of the time. */
    if (2 * (unsigned long long)c->fence_budget_ms >= c->lease_ms) {
        if (fence_set) {
            return fail(p, fence_line,
                        "[cluster] fence_budget_ms = %u: not less than half of lease_ms (%u); "
                        "expected less than %u, or a longer lease_ms",
                        c->fence_budget_ms, c->lease_ms, (c->lease_ms + 1) / 2);
        }
        return fail(p, lease_line,
                    "[cluster] lease_ms = %u: fence_budget_ms (%u, the default) must be less "
                    "than half of it; expected more than %u",
                    c->lease_ms, c->fence_budget_ms, 2 * c->fence_budget_ms);
    }
    /* Renewals go through the log, which takes nothing while a leader is elected: a writer
     * serving less than an election timeout plus a heartbeat per renewal would fence at every
     * leader change (coord/lease.c:lease_params_check). */
    unsigned long long serve = c->lease_ms - c->fence_budget_ms;
    unsigned long long needed = (unsigned long long)c->election_timeout_ms + c->heartbeat_ms;
    if (serve <= needed) {
        bool lease_set = seen->line[find_key(SECTION_CLUSTER, "lease_ms") - key_table];
        return fail(p, lease_set || !election_set ? lease_line : election_line,
                    "[cluster] lease_ms = %u with election_timeout_ms = %u: a writer serves "
                    "lease_ms - fence_budget_ms = %llu ms per renewal, which must be more than "
                    "an election timeout plus a heartbeat (%llu ms); expected lease_ms of at "
                    "least %llu, or a shorter election_timeout_ms",
                    c->lease_ms, c->election_timeout_ms, serve, needed,
                    needed + c->fence_budget_ms + 1);
    }
    /* A refresh more often than once a second is refused when the daemon starts the
     * announcer (netops/arp.h: arp_options_check); say so here, with the line. */
    /* The kernel's lateness K must cover its rounding and timer slot for the lifetime the
     * lease gives the VIP (coord/lease.h), or the leader's wait would not cover the VIP. */
    struct lease_params lp;
    config_lease_params(c, &lp);
    if (lp.vip_lifetime && lp.vip_late_ms < lease_vip_late_min_ms(&lp)) {
        bool late_set = seen->line[find_key(SECTION_CLUSTER, "vip_lifetime_late_ms") - key_table];
        return fail(
            p, late_set ? line_of(p, SECTION_CLUSTER, NULL, "vip_lifetime_late_ms") : lease_line,
            "[cluster] vip_lifetime_late_ms = %u with lease_ms = %u: the VIP's kernel "
            "lifetime is then %u s, which the kernel may remove up to %llu ms late; "
            "expected vip_lifetime_late_ms of at least %llu, a shorter lease_ms, or "
            "vip_lifetime = no",
            c->vip_lifetime_late_ms, c->lease_ms, lease_vip_lifetime_s(&lp),
            (unsigned long long)lease_vip_late_min_ms(&lp),
            (unsigned long long)lease_vip_late_min_ms(&lp));
    }
    unsigned refresh_line = line_of(p, SECTION_CLUSTER, NULL, "garp_refresh_ms");
    if (c->garp_refresh_ms != 0 && c->garp_refresh_ms < ARP_MIN_REFRESH_MS) {
        return fail(p, refresh_line,
                    "[cluster] garp_refresh_ms = %u: expected 0 (off) or from %u to %u",
                    c->garp_refresh_ms, ARP_MIN_REFRESH_MS, ARP_MAX_REFRESH_MS);
    }
    return 0;
}

static int check_vip_pair(struct parser *p)
{
    const struct config *c = p->config;
    if (c->vip[0] != '\0' && c->vip_interface[0] == '\0') {
        return fail(p, line_of(p, SECTION_CLUSTER, NULL, "vip"),
                    "[cluster] vip = %s: no vip_interface; expected vip_interface = the "
                    "interface to add the VIP to, like eth0",
                    c->vip);
    }
    if (c->vip[0] == '\0' && c->vip_interface[0] != '\0') {
        return fail(p, line_of(p, SECTION_CLUSTER, NULL, "vip_interface"),
                    "[cluster] vip_interface = %s: set, but no vip; expected vip = "
                    "ADDRESS/PREFIX, or no vip_interface",
                    c->vip_interface);
    }
    return 0;
}

static int check_nodes(struct parser *p)
{
    struct config *c = p->config;
    bool any_candidate = false;
    for (unsigned i = 0; i < c->n_nodes; i++) {
        const struct config_node *node = &c->nodes[i];
        any_candidate = any_candidate || node->candidate;
        for (unsigned j = 0; j < i; j++) {
            const struct config_node *other = &c->nodes[j];
            if (strcmp(node->raft_address, other->raft_address) == 0) {
                return fail(p, line_of(p, SECTION_NODE, node, "raft_address"),
                            "[node %s] raft_address = %s: also the raft_address of node %s "
                            "(line %u); expected a distinct address for each node",
                            node->id, node->raft_address, other->id,
                            line_of(p, SECTION_NODE, other, "raft_address"));
            }
            if (node->raft_id == other->raft_id) {
                return fail(p, node->line,
                            "[node %s]: the ids %s and %s hash to the same raft id %llu; "
                            "expected another id for one of them",
                            node->id, node->id, other->id, (unsigned long long)node->raft_id);
            }
        }
    }
    if (!any_candidate) {
        return fail(p, c->nodes[0].line,
                    "[node %s]: no node is a candidate, so none can become the writer; expected "
                    "candidate = yes in at least one [node ID] section",
                    c->nodes[0].id);
    }
    const struct config_node *local = config_find_node(c, c->local_id);
    if (local == NULL) {
        char ids[CONFIG_MAX_NODES * (CONFIG_ID_SIZE + 2)];
        size_t used = 0;
        ids[0] = '\0';
        for (unsigned i = 0; i < c->n_nodes; i++) {
            int n =
                snprintf(ids + used, sizeof ids - used, "%s%s", i > 0 ? ", " : "", c->nodes[i].id);
            used += n > 0 ? (size_t)n : 0;
        }
        return fail(p, line_of(p, SECTION_LOCAL, NULL, "id"),
                    "[local] id = %s: no [node %s] section; expected one of: %s", c->local_id,
                    c->local_id, ids);
    }
    c->local_index = (unsigned)(local - c->nodes);
    return 0;
}

static int finish(struct parser *p)
{
    struct config *c = p->config;
    if (p->cluster_line == 0) {
        return fail(p, 0,
                    "no [cluster] section; expected one, with at least name and "
                    "secret_file");
    }
    if (c->n_nodes == 0) {
        return fail(p, 0,
                    "no [node ID] section; expected one per node, with raft_address and "
                    "mysql_address");
    }
    if (p->local_line == 0) {
        return fail(p, 0, "no [local] section; expected one, with at least id and data_dir");
    }
    int rv = apply_defaults(p, SECTION_CLUSTER, NULL, p->cluster_line);
    for (unsigned i = 0; rv == 0 && i < c->n_nodes; i++) {
        rv = apply_defaults(p, SECTION_NODE, &c->nodes[i], c->nodes[i].line);
    }
    if (rv == 0) {
        rv = apply_defaults(p, SECTION_LOCAL, NULL, p->local_line);
    }
    if (rv == 0) {
        rv = check_timing(p);
    }
    if (rv == 0) {
        rv = check_vip_pair(p);
    }
    if (rv == 0) {
        rv = check_nodes(p);
    }
    return rv;
}

int config_parse_string(const char *text, const char *name, struct config *out, char *errmsg,
                        size_t errlen)
{
    struct parser *p = calloc(1, sizeof *p);
    if (p == NULL) {
        copy_message(errmsg, errlen, "out of memory reading the configuration");
        return -ENOMEM;
    }
    memset(out, 0, sizeof *out);
    snprintf(out->path, sizeof out->path, "%s", name);
    p->config = out;
    p->name = name;
    p->text = text;
    p->cursor = text;

    int rv = ini_parse_stream(read_line, p, handle_key, p);
    if (rv == -2) {
        free(p);
        copy_message(errmsg, errlen, "out of memory reading the configuration");
        return -ENOMEM;
    }
    /* inih reports lines it could not split into key = value; its line numbers are ours, since
     * the reader hands it exactly one line per call. Report whichever error comes first. */
    if (rv > 0 && (p->error == 0 || (unsigned)rv < p->error_line)) {
        char shown[VALUE_QUOTE_MAX + 1];
        p->error = 0;
        fail(p, (unsigned)rv,
             "syntax error in \"%s\"; expected [section], key = value, or a comment (; or #)",
             line_text(text, (unsigned)rv, shown, sizeof shown));
    }
    if (p->error == 0) {
        finish(p);
    }
    rv = p->error;
    if (rv != 0) {
        copy_message(errmsg, errlen, p->message);
    }
    free(p);
    return rv;
}

int config_load(const char *path, struct config *out, char *errmsg, size_t errlen)
{
    FILE *file = fopen(path, "re");
    if (file == NULL) {
        int err = errno;
        snprintf(errmsg, errlen, "cannot open configuration file %s: %s", path, strerror(err));
        return -err;
    }
    char *text = malloc(CONFIG_FILE_MAX + 1);
    if (text == NULL) {
        fclose(file);
        snprintf(errmsg, errlen, "out of memory reading %s", path);
        return -ENOMEM;
    }
    size_t n = fread(text, 1, CONFIG_FILE_MAX + 1, file);
    int err = ferror(file) ? errno : 0;
    fclose(file);
    int rv = 0;
    if (err != 0) {
        snprintf(errmsg, errlen, "cannot read configuration file %s: %s", path, strerror(err));
        rv = -err;
    } else if (n > CONFIG_FILE_MAX) {
        snprintf(errmsg, errlen, "%s: larger than %d bytes; expected a configuration file", path,
                 CONFIG_FILE_MAX);
        rv = -EINVAL;
    } else if (memchr(text, '\0', n) != NULL) {
        snprintf(errmsg, errlen, "%s: contains a NUL byte; expected a text file", path);
        rv = -EINVAL;
    } else {
        text[n] = '\0';
        rv = config_parse_string(text, path, out, errmsg, errlen);
    }
    free(text);
    return rv;
}

/* ---- private files ----------------------------------------------------------------------- */

/* Refuse a file group or others may use, as ssh refuses a private key. */
static int check_mode(const char *what, const char *path, mode_t mode, char *errmsg, size_t errlen)
{
    if (!S_ISREG(mode)) {
        snprintf(errmsg, errlen, "%s %s is not a regular file", what, path);
        return -EINVAL;
    }
    if ((mode & 077) == 0) {
        return 0;
    }
    const char *access = (mode & 044) && (mode & 022) ? "readable and writable"
                         : (mode & 044)               ? "readable"
                         : (mode & 022)               ? "writable"
                                                      : "usable";
    snprintf(errmsg, errlen, "%s %s is %s by group/others (mode %04o); run: chmod 600 %s", what,
             path, access, (unsigned)(mode & 07777), path);
    return -EPERM;
}

int config_check_private_file(const char *path, char *errmsg, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        int err = errno;
        snprintf(errmsg, errlen, "cannot stat credentials file %s: %s", path, strerror(err));
        return -err;
    }
    return check_mode("credentials file", path, st.st_mode, errmsg, errlen);
}

int config_read_secret(const char *path, unsigned char *buf, size_t *len, char *errmsg,
                       size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int err = errno;
        snprintf(errmsg, errlen, "cannot open secret file %s: %s", path, strerror(err));
        return -err;
    }
    /* fstat on the open file: the mode checked is the mode of what is read. */
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int err = errno;
        close(fd);
        snprintf(errmsg, errlen, "cannot stat secret file %s: %s", path, strerror(err));
        return -err;
    }
    int rv = check_mode("secret file", path, st.st_mode, errmsg, errlen);
    if (rv != 0) {
        close(fd);
        return rv;
    }
    /* One byte more than a secret with its newline, to tell a too-long file. */
    unsigned char data[CONFIG_SECRET_MAX + 2];
    size_t n = 0;
    while (n < sizeof data) {
        ssize_t got = read(fd, data + n, sizeof data - n);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got < 0) {
            int err = errno;
            close(fd);
            explicit_bzero(data, sizeof data);
            snprintf(errmsg, errlen, "cannot read secret file %s: %s", path, strerror(err));
            return -err;
        }
        if (got == 0) {
            break;
        }
        n += (size_t)got;
    }
    close(fd);
    if (n > 0 && data[n - 1] == '\n' && n <= CONFIG_SECRET_MAX + 1) {
        n--;
    }
    if (n < CONFIG_SECRET_MIN || n > CONFIG_SECRET_MAX) {
        explicit_bzero(data, sizeof data);
        snprintf(errmsg, errlen,
                 "secret file %s: the secret is %s%zu bytes; expected %d to %d bytes (e.g. "
                 "run: openssl rand -hex 32 > %s)",
                 path, n > CONFIG_SECRET_MAX ? "more than " : "",
                 n > CONFIG_SECRET_MAX ? (size_t)CONFIG_SECRET_MAX : n, CONFIG_SECRET_MIN,
                 CONFIG_SECRET_MAX, path);
        return -EINVAL;
    }
    memcpy(buf, data, n);
    explicit_bzero(data, sizeof data);
    *len = n;
    return 0;
}

/* ---- lookups ----------------------------------------------------------------------------- */

uint64_t config_raft_id(const char *node_id)
{
    uint64_t hash = 0xcbf29ce484222325ull; /* FNV-1a 64 offset basis */
    for (const unsigned char *c = (const unsigned char *)node_id; *c != '\0'; c++) {
        hash ^= *c;
        hash *= 0x100000001b3ull; /* FNV-1a 64 prime */
    }
    /* raft reserves id 0 for "no server". */
    return hash != 0 ? hash : 1;
}

const struct config_node *config_find_node(const struct config *config, const char *id)
{
    for (unsigned i = 0; i < config->n_nodes; i++) {
        if (strcmp(config->nodes[i].id, id) == 0) {
            return &config->nodes[i];
        }
    }
    return NULL;
}

const struct config_node *config_find_raft_id(const struct config *config, uint64_t raft_id)
{
    for (unsigned i = 0; i < config->n_nodes; i++) {
        if (config->nodes[i].raft_id == raft_id) {
            return &config->nodes[i];
        }
    }
    return NULL;
}

bool config_key_at(size_t index, const char **section, const char **key, const char **help)
{
    if (index >= N_KEYS) {
        return false;
    }
    *section = section_names[key_table[index].section];
    *key = key_table[index].name;
    *help = key_table[index].help;
    return true;
}

void config_lease_params(const struct config *c, struct lease_params *out)
{
    *out = (struct lease_params){.lease_ms = c->lease_ms,
                                 .drift = c->lease_drift,
                                 .margin_ms = c->lease_margin_ms,
                                 .fence_ms = c->fence_budget_ms,
                                 .vip_lifetime = c->vip[0] != '\0' && c->vip_lifetime,
                                 .vip_late_ms = c->vip_lifetime_late_ms};
}
