/*
 * jepsen/observe: the chaos harness's independent witnesses, which believe the kernel and not
 * the daemons. Two modes, each writing one JSON object per line (format: jepsen/HISTORY.md),
 * timed with CLOCK_MONOTONIC in milliseconds (the same clock in every namespace, so the client,
 * the nemesis and every observer share one timeline):
 *
 *   observe --vip ADDR/LEN --host NAME --out FILE [--interface IF]
 *       run inside a host's namespace: the VIP's state on IF (default eth0) once at start
 *       ("present" or "absent"), then every change ("add", "del") from netlink notifications
 *       (netops/watch.h);
 *   observe --arp --lab LAB_JSON --out FILE [--interface BRIDGE]
 *       run inside the switch namespace: every ARP frame crossing BRIDGE (default br0), with
 *       the sender's IP and MAC and the lab host that owns that MAC (from lab.json);
 *   observe --now
 *       print the time now on that clock, in the same format (for scripts: bash has no
 *       monotonic clock of its own).
 *
 * Each line is written with one write() as soon as it is known, so a killed observer leaves
 * whole lines and a reader sees them at once. SIGTERM or SIGINT stops it with exit status 0.
 * "observing" goes to stdout once the socket is subscribed: a caller may wait for it before
 * starting the faults the observer must see. Exit status: 0 stopped by a signal, 2 bad usage
 * or input, 3 a socket, file or netlink operation failed (the message on stderr says which).
 *
 * The bridge is put in promiscuous mode through a packet-socket membership (dropped when the
 * socket closes): a Linux bridge then hands every frame it forwards to its own stack as well,
 * so one socket on the bridge sees each frame between two ports once, unicast replies
 * included. Frames the bridge later refuses to forward (an nft rule in its forward hook) are
 * still seen: the observer reports what the hosts sent.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netpacket/packet.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "netops/vip.h"
#include "netops/watch.h"

#define EXIT_USAGE  2
#define EXIT_FAILED 3

#define OBSERVE_LINE_SIZE 512
#define OBSERVE_NAME_SIZE 32
#define OBSERVE_MAX_MACS  16
#define MAC_TEXT_SIZE     18 /* "aa:bb:cc:dd:ee:ff" and NUL */
#define ARP_IPV4_SIZE     28 /* ARP for IPv4 over Ethernet, without the Ethernet header */

struct cli {
    const char *vip;
    const char *host;
    const char *lab;
    const char *out;
    const char *ifname;
    bool arp;
};

/* One host (or the client) of the lab and its MAC, to name the sender of an ARP frame. */
struct mac_owner {
    uint8_t mac[6];
    char name[OBSERVE_NAME_SIZE];
};

struct arp_frame {
    bool reply; /* else a request */
    uint8_t sender_mac[6];
    struct in_addr sender_ip;
    struct in_addr target_ip;
};

static void usage(FILE *out)
{
    fprintf(out, "usage: observe --vip ADDR/LEN --host NAME --out FILE [--interface IF]\n"
                 "       observe --arp --lab LAB_JSON --out FILE [--interface BRIDGE]\n"
                 "       observe --now\n"
                 "Writes the VIP's state on IF (default eth0) and its changes, or every ARP frame\n"
                 "crossing BRIDGE (default br0), as JSON lines with CLOCK_MONOTONIC times in ms.\n"
                 "Stops on SIGTERM/SIGINT.\n");
}

/* Milliseconds of CLOCK_MONOTONIC as "seconds*1000.microseconds", e.g. "123456789.042". */
static void format_ms(char *buf, size_t len, const struct timespec *t)
{
    snprintf(buf, len, "%lld.%03ld", (long long)t->tv_sec * 1000 + t->tv_nsec / 1000000,
             (t->tv_nsec / 1000) % 1000);
}

static void now_ms(char *buf, size_t len)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    format_ms(buf, len, &t);
}

static void format_mac(char *buf, size_t len, const uint8_t mac[6])
{
    snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
             mac[5]);
}

static int parse_mac(const char *text, uint8_t mac[6])
{
    unsigned v[6];
    char tail;
    int i;

    if (sscanf(text, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
               &tail) != 6) {
        return -EINVAL;
    }
    for (i = 0; i < 6; i++) {
        mac[i] = (uint8_t)v[i];
    }
    return 0;
}

/* Append @line (which ends in '\n') to @fd in one write, so lines never interleave or tear. */
static int write_line(int fd, const char *path, const char *line)
{
    size_t len = strlen(line);
    ssize_t n;

    do {
        n = write(fd, line, len);
    } while (n < 0 && errno == EINTR);
    if (n < 0 || (size_t)n != len) {
        fprintf(stderr, "observe: writing %s: %s\n", path,
                n < 0 ? strerror(errno) : "short write (disk full?)");
        return -EIO;
    }
    return 0;
}

static int open_out(const char *path)
{
    /* Appending: an observer restarted on the same file adds to what its predecessor saw. */
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

    if (fd < 0) {
        fprintf(stderr, "observe: cannot open --out %s: %s\n", path, strerror(errno));
    }
    return fd;
}

/* A signalfd for SIGTERM and SIGINT (blocked first, so they only arrive through it). */
static int open_signals(void)
{
    sigset_t set;
    int fd;

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0) {
        fprintf(stderr, "observe: cannot block SIGTERM: %s\n", strerror(errno));
        return -1;
    }
    fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (fd < 0) {
        fprintf(stderr, "observe: cannot open a signalfd: %s\n", strerror(errno));
    }
    return fd;
}

static void announce_ready(const char *what)
{
    printf("observing %s\n", what);
    fflush(stdout);
}

/* ------------------------------------------------------------------------------------------ */
/* --vip: the address on this host's interface. */

struct vip_observer {
    int out;
    const char *path;
    const char *host;
    const char *ifname;
    struct vip_address address;
    struct vip *vip;
    bool present;
    int status; /* 0, or the exit status once a write or a read failed */
};

static int vip_line(struct vip_observer *o, const char *event)
{
    char line[OBSERVE_LINE_SIZE];
    char t[32];
    json_t *host = json_string(o->host);
    char *host_text = host != NULL ? json_dumps(host, JSON_ENCODE_ANY) : NULL;

    now_ms(t, sizeof t);
    snprintf(line, sizeof line, "{\"type\":\"vip\",\"host\":%s,\"event\":\"%s\",\"t\":%s}\n",
             host_text != NULL ? host_text : "null", event, t);
    free(host_text);
    json_decref(host);
    return write_line(o->out, o->path, line);
}

/* Ask the kernel (one address dump) and report a difference from what was last written. */
static void vip_reread(struct vip_observer *o)
{
    char errmsg[512];
    int rv = vip_has(o->vip, o->ifname, &o->address, errmsg, sizeof errmsg);

    if (rv < 0 && rv != -ENODEV) {
        fprintf(stderr, "observe: %s\n", errmsg);
        o->status = EXIT_FAILED;
        return;
    }
    if ((rv == 1) != o->present) {
        o->present = rv == 1;
        if (vip_line(o, o->present ? "add" : "del") != 0) {
            o->status = EXIT_FAILED;
        }
    }
}

static void on_watch_event(void *data, const struct watch_event *event)
{
    struct vip_observer *o = data;
    bool present;

    switch (event->kind) {
    case WATCH_VIP_ADDED:
    case WATCH_VIP_REMOVED:
        /* The watch reports its first notification even when it repeats the state read at
         * start (a lease renewal re-announces the address): only changes are written. */
        present = event->kind == WATCH_VIP_ADDED;
        if (present != o->present) {
            o->present = present;
            if (vip_line(o, present ? "add" : "del") != 0) {
                o->status = EXIT_FAILED;
            }
        }
        break;
    case WATCH_OVERRUN:
        vip_reread(o);
        break;
    case WATCH_LINK_UP:
    case WATCH_LINK_DOWN:
        /* An address stays configured on a link that is down; link faults are in the
         * nemesis's own history. */
        break;
    }
}

static int observe_vip(const struct cli *cli)
{
    struct vip_observer o;
    struct watch *watch = NULL;
    char errmsg[512];
    int signals, rv;

    memset(&o, 0, sizeof o);
    o.path = cli->out;
    o.host = cli->host;
    o.ifname = cli->ifname != NULL ? cli->ifname : "eth0";
    rv = vip_parse_address(cli->vip, &o.address, errmsg, sizeof errmsg);
    if (rv != 0) {
        fprintf(stderr, "observe: --vip: %s (the lab's is vip/vip_prefix_length of lab.json)\n",
                errmsg);
        return EXIT_USAGE;
    }
    o.out = open_out(cli->out);
    if (o.out < 0) {
        return EXIT_FAILED;
    }
    signals = open_signals();
    if (signals < 0) {
        close(o.out);
        return EXIT_FAILED;
    }
    /* Subscribe before reading the state: a change in between is then seen twice (harmless,
     * only changes are written), never missed. */
    rv = watch_open(&watch, o.ifname, &o.address, on_watch_event, &o, errmsg, sizeof errmsg);
    if (rv == 0) {
        rv = vip_open(&o.vip, errmsg, sizeof errmsg);
    }
    if (rv == 0) {
        rv = vip_has(o.vip, o.ifname, &o.address, errmsg, sizeof errmsg);
        if (rv == -ENODEV) {
            rv = 0; /* no interface yet: the address is not here */
        }
    }
    if (rv < 0) {
        fprintf(stderr, "observe: %s\n", errmsg);
        o.status = EXIT_FAILED;
    } else {
        o.present = rv == 1;
        if (vip_line(&o, o.present ? "present" : "absent") != 0) {
            o.status = EXIT_FAILED;
        } else {
            announce_ready(cli->vip);
        }
    }
    while (o.status == 0) {
        struct pollfd fds[2] = {{.fd = watch_fd(watch), .events = POLLIN},
                                {.fd = signals, .events = POLLIN}};

        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            fprintf(stderr, "observe: poll: %s\n", strerror(errno));
            o.status = EXIT_FAILED;
            break;
        }
        if (fds[1].revents != 0) {
            break;
        }
        if (fds[0].revents != 0 && watch_dispatch(watch, errmsg, sizeof errmsg) != 0) {
            fprintf(stderr, "observe: %s\n", errmsg);
            o.status = EXIT_FAILED;
        }
    }
    watch_close(watch);
    vip_close(o.vip);
    close(signals);
    close(o.out);
    return o.status;
}

/* ------------------------------------------------------------------------------------------ */
/* --arp: every ARP frame crossing the bridge. */

/* Read the MACs of hosts.* and of the client from lab.json into @owners. Returns the count,
 * or -1 with a message. */
static int read_lab_macs(const char *path, struct mac_owner *owners, int capacity)
{
    json_error_t error;
    json_t *lab = json_load_file(path, 0, &error);
    json_t *hosts, *value, *client;
    const char *name;
    int count = 0;

    if (lab == NULL) {
        fprintf(stderr, "observe: cannot read --lab %s: %s (line %d)\n", path, error.text,
                error.line);
        return -1;
    }
    hosts = json_object_get(lab, "hosts");
    if (!json_is_object(hosts)) {
        fprintf(stderr, "observe: --lab %s has no \"hosts\" object: is it a jepsen/lab lab.json?\n",
                path);
        json_decref(lab);
        return -1;
    }
    json_object_foreach(hosts, name, value)
    {
        const char *mac = json_string_value(json_object_get(value, "mac"));

        if (count == capacity || mac == NULL || parse_mac(mac, owners[count].mac) != 0 ||
            strlen(name) >= OBSERVE_NAME_SIZE) {
            fprintf(stderr,
                    "observe: --lab %s: host \"%s\" has no usable \"mac\" (or too many "
                    "hosts)\n",
                    path, name);
            json_decref(lab);
            return -1;
        }
        snprintf(owners[count].name, sizeof owners[count].name, "%s", name);
        count++;
    }
    client = json_object_get(lab, "client");
    if (json_is_object(client) && count < capacity) {
        const char *mac = json_string_value(json_object_get(client, "mac"));

        if (mac != NULL && parse_mac(mac, owners[count].mac) == 0) {
            snprintf(owners[count].name, sizeof owners[count].name, "client");
            count++;
        }
    }
    json_decref(lab);
    return count;
}

/* Decode an ARP packet for IPv4 over Ethernet (the Ethernet header already removed). Returns
 * 0, or -EINVAL for anything else (other hardware or protocol, short, unknown opcode). */
static int parse_arp(const uint8_t *p, size_t len, struct arp_frame *out)
{
    unsigned hardware, protocol, opcode;

    if (len < ARP_IPV4_SIZE) {
        return -EINVAL;
    }
    hardware = (unsigned)p[0] << 8 | p[1];
    protocol = (unsigned)p[2] << 8 | p[3];
    opcode = (unsigned)p[6] << 8 | p[7];
    if (hardware != ARPHRD_ETHER || protocol != ETH_P_IP || p[4] != 6 || p[5] != 4 ||
        (opcode != ARPOP_REQUEST && opcode != ARPOP_REPLY)) {
        return -EINVAL;
    }
    out->reply = opcode == ARPOP_REPLY;
    memcpy(out->sender_mac, p + 8, 6);
    memcpy(&out->sender_ip.s_addr, p + 14, 4);
    memcpy(&out->target_ip.s_addr, p + 24, 4);
    return 0;
}

static const char *owner_of(const struct mac_owner *owners, int count, const uint8_t mac[6])
{
    int i;

    for (i = 0; i < count; i++) {
        if (memcmp(owners[i].mac, mac, 6) == 0) {
            return owners[i].name;
        }
    }
    return NULL;
}

/* A packet socket for ARP on @ifname, with the interface in promiscuous mode (see top). */
static int open_arp_socket(const char *ifname)
{
    struct sockaddr_ll local;
    struct packet_mreq membership;
    unsigned ifindex = if_nametoindex(ifname);
    int fd;

    if (ifindex == 0) {
        fprintf(stderr,
                "observe: no interface %s here: run inside the lab's switch namespace "
                "(lab.json switch_namespace) and name its bridge\n",
                ifname);
        return -1;
    }
    fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_ARP));
    if (fd < 0) {
        fprintf(stderr, "observe: cannot open a packet socket: %s%s\n", strerror(errno),
                errno == EPERM ? " (needs CAP_NET_RAW: run as root)" : "");
        return -1;
    }
    memset(&local, 0, sizeof local);
    local.sll_family = AF_PACKET;
    local.sll_protocol = htons(ETH_P_ARP);
    local.sll_ifindex = (int)ifindex;
    if (bind(fd, (struct sockaddr *)&local, sizeof local) != 0) {
        fprintf(stderr, "observe: cannot bind the packet socket to %s: %s\n", ifname,
                strerror(errno));
        close(fd);
        return -1;
    }
    memset(&membership, 0, sizeof membership);
    membership.mr_ifindex = (int)ifindex;
    membership.mr_type = PACKET_MR_PROMISC;
    if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &membership, sizeof membership) != 0) {
        fprintf(stderr, "observe: cannot make %s promiscuous: %s\n", ifname, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static int arp_line(int out, const char *path, const struct arp_frame *frame, const char *owner)
{
    char line[OBSERVE_LINE_SIZE];
    char t[32], mac[MAC_TEXT_SIZE], sender[INET_ADDRSTRLEN], target[INET_ADDRSTRLEN];
    char host[OBSERVE_NAME_SIZE + 2];

    now_ms(t, sizeof t);
    format_mac(mac, sizeof mac, frame->sender_mac);
    inet_ntop(AF_INET, &frame->sender_ip, sender, sizeof sender);
    inet_ntop(AF_INET, &frame->target_ip, target, sizeof target);
    /* Host names come from lab.json keys checked to be short; the lab's are [a-z0-9]. */
    if (owner != NULL) {
        snprintf(host, sizeof host, "\"%s\"", owner);
    } else {
        snprintf(host, sizeof host, "null");
    }
    snprintf(line, sizeof line,
             "{\"type\":\"arp\",\"t\":%s,\"op\":\"%s\",\"sender_ip\":\"%s\",\"sender_mac\":\"%s\","
             "\"host\":%s,\"target_ip\":\"%s\"}\n",
             t, frame->reply ? "reply" : "request", sender, mac, host, target);
    return write_line(out, path, line);
}

/* A host name that is safe to print between quotes without escaping. */
static bool plain_name(const char *name)
{
    for (; *name != '\0'; name++) {
        if (*name == '"' || *name == '\\' || (unsigned char)*name < 0x20) {
            return false;
        }
    }
    return true;
}

static int observe_arp(const struct cli *cli)
{
    struct mac_owner owners[OBSERVE_MAX_MACS];
    const char *ifname = cli->ifname != NULL ? cli->ifname : "br0";
    int count, out, sock, signals, i, status = 0;

    count = read_lab_macs(cli->lab, owners, OBSERVE_MAX_MACS);
    if (count < 0) {
        return EXIT_USAGE;
    }
    for (i = 0; i < count; i++) {
        if (!plain_name(owners[i].name)) {
            fprintf(stderr, "observe: --lab %s: host name \"%s\" holds a quote or control byte\n",
                    cli->lab, owners[i].name);
            return EXIT_USAGE;
        }
    }
    out = open_out(cli->out);
    if (out < 0) {
        return EXIT_FAILED;
    }
    signals = open_signals();
    sock = signals >= 0 ? open_arp_socket(ifname) : -1;
    if (sock < 0) {
        if (signals >= 0) {
            close(signals);
        }
        close(out);
        return EXIT_FAILED;
    }
    announce_ready(ifname);
    while (status == 0) {
        struct pollfd fds[2] = {{.fd = sock, .events = POLLIN}, {.fd = signals, .events = POLLIN}};
        uint8_t packet[1600];
        struct sockaddr_ll from;
        socklen_t from_len = sizeof from;
        struct arp_frame frame;
        ssize_t n;

        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            fprintf(stderr, "observe: poll: %s\n", strerror(errno));
            status = EXIT_FAILED;
            break;
        }
        if (fds[1].revents != 0) {
            break;
        }
        if (fds[0].revents == 0) {
            continue;
        }
        n = recvfrom(sock, packet, sizeof packet, MSG_DONTWAIT, (struct sockaddr *)&from,
                     &from_len);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) {
                continue;
            }
            fprintf(stderr, "observe: reading ARP on %s: %s\n", ifname, strerror(errno));
            status = EXIT_FAILED;
            break;
        }
        /* The bridge sends nothing of its own; an outgoing copy would be a duplicate. */
        if (from.sll_pkttype == PACKET_OUTGOING || parse_arp(packet, (size_t)n, &frame) != 0) {
            continue;
        }
        if (arp_line(out, cli->out, &frame, owner_of(owners, count, frame.sender_mac)) != 0) {
            status = EXIT_FAILED;
        }
    }
    close(sock);
    close(signals);
    close(out);
    return status;
}

/* ------------------------------------------------------------------------------------------ */

static int parse_args(int argc, char **argv, struct cli *cli)
{
    int i;

    memset(cli, 0, sizeof *cli);
    for (i = 1; i < argc; i++) {
        const char *option = argv[i];
        const char **target = NULL;

        if (strcmp(option, "--arp") == 0) {
            cli->arp = true;
            continue;
        }
        if (strcmp(option, "--vip") == 0) {
            target = &cli->vip;
        } else if (strcmp(option, "--host") == 0) {
            target = &cli->host;
        } else if (strcmp(option, "--lab") == 0) {
            target = &cli->lab;
        } else if (strcmp(option, "--out") == 0) {
            target = &cli->out;
        } else if (strcmp(option, "--interface") == 0) {
            target = &cli->ifname;
        } else {
            fprintf(stderr, "observe: unknown option \"%s\"\n", option);
            usage(stderr);
            return -EINVAL;
        }
        if (i + 1 >= argc || argv[i + 1][0] == '\0') {
            fprintf(stderr, "observe: %s needs a value\n", option);
            return -EINVAL;
        }
        *target = argv[++i];
    }
    if (cli->out == NULL) {
        fprintf(stderr, "observe: --out FILE is required\n");
        usage(stderr);
        return -EINVAL;
    }
    if (cli->arp ? (cli->lab == NULL || cli->vip != NULL || cli->host != NULL)
                 : (cli->vip == NULL || cli->host == NULL || cli->lab != NULL)) {
        fprintf(stderr, "observe: give either --vip ADDR/LEN --host NAME, or --arp --lab FILE\n");
        usage(stderr);
        return -EINVAL;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct cli cli;

    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "--now") == 0) {
        char t[32];

        now_ms(t, sizeof t);
        printf("%s\n", t);
        return 0;
    }
    if (parse_args(argc, argv, &cli) != 0) {
        return EXIT_USAGE;
    }
    return cli.arp ? observe_arp(&cli) : observe_vip(&cli);
}
