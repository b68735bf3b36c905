/*
 * Wake the clients of an address this host gave away; see sockreset.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "netops/sockreset.h"

/* The kernel's TCP states (include/net/tcp_states.h) in which the peer may still wait for this
 * side: established, SYN received (which also selects the request sockets of handshakes not yet
 * accepted), FIN sent, FIN received, last ACK, closing. */
#define STATE_BIT(s) (1U << (s))
#define WAITED_ON_STATES                                                                           \
    (STATE_BIT(1) | STATE_BIT(3) | STATE_BIT(4) | STATE_BIT(8) | STATE_BIT(9) | STATE_BIT(11))

#define RECV_BUFFER 32768
#define SYN_SIZE    40

struct diag_request {
    struct nlmsghdr nlh;
    struct inet_diag_req_v2 req;
};

static int send_dump_request(int fd, uint8_t family, uint32_t seq)
{
    struct diag_request r;
    memset(&r, 0, sizeof r);
    r.nlh.nlmsg_len = sizeof r;
    r.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    r.nlh.nlmsg_flags = (uint16_t)(NLM_F_REQUEST | NLM_F_DUMP);
    r.nlh.nlmsg_seq = seq;
    r.req.sdiag_family = family;
    r.req.sdiag_protocol = IPPROTO_TCP;
    r.req.idiag_states = WAITED_ON_STATES;
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    return sendto(fd, &r, sizeof r, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0 ? -errno : 0;
}

struct peers {
    struct sockreset_peer *items;
    size_t count;
    size_t capacity;
};

static int peers_add(struct peers *peers, const struct sockreset_peer *peer)
{
    if (peers->count == peers->capacity) {
        size_t more = peers->capacity == 0 ? 16 : peers->capacity * 2;
        struct sockreset_peer *grown = realloc(peers->items, more * sizeof *grown);
        if (grown == NULL) {
            return -ENOMEM;
        }
        peers->items = grown;
        peers->capacity = more;
    }
    peers->items[peers->count++] = *peer;
    return 0;
}

/* Append to @peers the clients of @address among the sockets of one dump of @family. The
 * kernel answers a dump from within the calls: recv() never waits for the network. */
static int dump_peers(int fd, uint8_t family, struct in_addr address, struct peers *peers)
{
    int rv = send_dump_request(fd, family, family);
    if (rv != 0) {
        return rv;
    }
    char *buf = malloc(RECV_BUFFER);
    if (buf == NULL) {
        return -ENOMEM;
    }
    bool done = false;
    while (!done && rv == 0) {
        ssize_t len = recv(fd, buf, RECV_BUFFER, 0);
        if (len < 0) {
            if (errno != EINTR) {
                rv = -errno;
            }
            continue;
        }
        done = len == 0;
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; !done && rv == 0 && NLMSG_OK(h, len);
             h = NLMSG_NEXT(h, len)) {
            if (h->nlmsg_type == NLMSG_DONE) {
                done = true;
            } else if (h->nlmsg_type == NLMSG_ERROR) {
                const struct nlmsgerr *e = NLMSG_DATA(h);
                rv = e->error != 0 ? e->error : -EPROTO;
            } else if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY &&
                       h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct inet_diag_msg))) {
                const struct inet_diag_msg *m = NLMSG_DATA(h);
                struct sockreset_peer peer;
                if (sockreset_peer_of(m->idiag_family, &m->id, address, &peer)) {
                    rv = peers_add(peers, &peer);
                }
            }
        }
    }
    free(buf);
    return rv;
}

static bool is_mapped_ipv4(const uint32_t a[4])
{
    return a[0] == 0 && a[1] == 0 && a[2] == htonl(0xffff);
}

/* Not a unicast host address another machine could have: 0/8, 127/8, 224/3 (multicast,
 * reserved, broadcast). */
static bool is_unicast_host(in_addr_t address)
{
    uint32_t a = ntohl(address);
    return (a >> 24) != 0 && (a >> 24) != 127 && (a >> 29) != 7;
}

bool sockreset_peer_of(int family, const struct inet_diag_sockid *id, struct in_addr address,
                       struct sockreset_peer *peer)
{
    in_addr_t local, remote;
    if (family == AF_INET) {
        local = id->idiag_src[0];
        remote = id->idiag_dst[0];
    } else if (family == AF_INET6 && is_mapped_ipv4(id->idiag_src) &&
               is_mapped_ipv4(id->idiag_dst)) {
        local = id->idiag_src[3];
        remote = id->idiag_dst[3];
    } else {
        return false;
    }
    /* A peer at the address itself is this host's own client of the VIP: the address is not
     * local any more, so a packet to it would leave for the VIP's new holder. */
    if (local != address.s_addr || remote == address.s_addr || !is_unicast_host(remote) ||
        id->idiag_sport == 0 || id->idiag_dport == 0) {
        return false;
    }
    peer->local = local;
    peer->local_port = id->idiag_sport;
    peer->remote = remote;
    peer->remote_port = id->idiag_dport;
    return true;
}

static uint16_t checksum_fold(uint32_t sum)
{
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return (uint16_t)~sum;
}

static uint32_t checksum_add(uint32_t sum, const unsigned char *p, size_t len)
{
    for (size_t i = 0; i + 1 < len; i += 2) {
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    }
    if (len & 1) {
        sum += (uint32_t)(p[len - 1] << 8);
    }
    return sum;
}

size_t sockreset_build_syn(in_addr_t from, uint16_t from_port, in_addr_t to, uint16_t to_port,
                           uint32_t seq, unsigned char *out, size_t outlen)
{
    if (outlen < SYN_SIZE) {
        return 0;
    }
    memset(out, 0, SYN_SIZE);
    struct iphdr *ip = (struct iphdr *)out;
    ip->version = 4;
    ip->ihl = 5;
    ip->tot_len = htons(SYN_SIZE);
    ip->frag_off = htons(IP_DF);
    ip->ttl = 64;
    ip->protocol = IPPROTO_TCP;
    ip->saddr = from;
    ip->daddr = to;
    ip->check = htons(checksum_fold(checksum_add(0, out, 20)));
    struct tcphdr *tcp = (struct tcphdr *)(out + 20);
    tcp->source = from_port;
    tcp->dest = to_port;
    tcp->seq = htonl(seq);
    tcp->doff = 5;
    tcp->syn = 1;
    unsigned char pseudo[12];
    memcpy(pseudo, &from, 4);
    memcpy(pseudo + 4, &to, 4);
    pseudo[8] = 0;
    pseudo[9] = IPPROTO_TCP;
    pseudo[10] = 0;
    pseudo[11] = 20;
    tcp->check = htons(checksum_fold(checksum_add(checksum_add(0, pseudo, 12), out + 20, 20)));
    return SYN_SIZE;
}

static int list_peers(struct in_addr address, struct peers *peers, const char *text, char *errmsg,
                      size_t errlen)
{
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (fd < 0) {
        int rv = -errno;
        snprintf(errmsg, errlen,
                 "waking the clients of %s: cannot open a sock_diag netlink socket: %s; its "
                 "clients wait for their own timeouts",
                 text, strerror(-rv));
        return rv;
    }
    /* IPv6 too: a server listening on :: (MariaDB's default) holds its IPv4 clients' connections
     * in IPv6 sockets, with v4-mapped addresses. */
    static const uint8_t families[] = {AF_INET, AF_INET6};
    int rv = 0;
    for (size_t i = 0; i < sizeof families && rv == 0; i++) {
        rv = dump_peers(fd, families[i], address, peers);
        if (rv != 0) {
            snprintf(errmsg, errlen,
                     "waking the clients of %s: listing the TCP%s sockets (sock_diag): %s%s; its "
                     "clients wait for their own timeouts",
                     text, families[i] == AF_INET6 ? "/IPv6" : "", strerror(-rv),
                     rv == -ENOENT ? " (load the kernel module tcp_diag)" : "");
        }
    }
    close(fd);
    return rv;
}

int sockreset_wake_clients(struct in_addr address, unsigned *woken, char *errmsg, size_t errlen)
{
    *woken = 0;
    char text[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &address, text, sizeof text);
    struct peers peers = {.items = NULL};
    int rv = list_peers(address, &peers, text, errmsg, errlen);
    if (rv != 0 || peers.count == 0) {
        free(peers.items);
        return rv;
    }
    int raw = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
    if (raw < 0) {
        rv = -errno;
        snprintf(errmsg, errlen,
                 "waking the %zu client connection(s) of %s: cannot open a raw IPv4 socket: "
                 "%s%s; they wait for their own timeouts",
                 peers.count, text, strerror(-rv),
                 rv == -EPERM ? " (the daemon needs CAP_NET_RAW)" : "");
        free(peers.items);
        return rv;
    }
    /* Any sequence number draws the answer wanted (sockreset.h); varying it costs nothing. */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    size_t failed = 0;
    char first_peer[INET_ADDRSTRLEN] = "";
    for (size_t i = 0; i < peers.count; i++) {
        const struct sockreset_peer *p = &peers.items[i];
        unsigned char syn[SYN_SIZE];
        uint32_t seq = (uint32_t)ts.tv_nsec ^ (uint32_t)(i * 2654435761U);
        sockreset_build_syn(p->local, p->local_port, p->remote, p->remote_port, seq, syn,
                            sizeof syn);
        struct sockaddr_in to = {.sin_family = AF_INET, .sin_addr.s_addr = p->remote};
        /* One peer's failure (no route, a full socket buffer) must not cost the others theirs. */
        if (sendto(raw, syn, sizeof syn, MSG_DONTWAIT, (struct sockaddr *)&to, sizeof to) < 0) {
            if (failed++ == 0) {
                rv = -errno;
                inet_ntop(AF_INET, &to.sin_addr, first_peer, sizeof first_peer);
            }
            continue;
        }
        (*woken)++;
    }
    close(raw);
    if (failed > 0) {
        snprintf(errmsg, errlen,
                 "waking the clients of %s: %zu of %zu SYN(s) not sent, the first to %s: %s; "
                 "those clients wait for their own timeouts",
                 text, failed, peers.count, first_peer, strerror(-rv));
    }
    free(peers.items);
    return rv;
}
