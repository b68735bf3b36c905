/*
 * TCP reset responder (see tcpreset.h for why). Each window gets a socket of its own, created
 * with protocol 0 so that the kernel queues nothing on it before the filter is attached and it
 * is bound to ETH_P_IP on the interface; closing that socket is the only way to make an
 * AF_PACKET socket stop receiving (binding to protocol 0 keeps the old protocol). The socket
 * and its uv_poll handle live in a small heap block that is freed from the handle's close
 * callback, so a re-arm never waits for the old handle to finish closing.
 */
#include "netops/tcpreset.h"
#include "netops/error.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netpacket/packet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define ETHERNET_HEADER_SIZE 14
#define IPV4_MIN_HEADER_SIZE 20
#define IPV4_MAX_HEADER_SIZE 60
#define TCP_MIN_HEADER_SIZE  20
#define TCP_MAX_HEADER_SIZE  60
#define IPV4_FLAG_DF         0x4000
#define IPV4_FLAG_MF         0x2000
#define IPV4_OFFSET_MASK     0x1fff
#define IPV4_TTL             64
#define TCP_FIN              0x01
#define TCP_SYN              0x02
#define TCP_RST              0x04
#define TCP_ACK              0x10

/* Frames read per wake-up: under a flood of segments the loop still gets back to its other
 * work. */
#define FRAMES_PER_WAKEUP 64
/* The longest IPv4 packet in an Ethernet frame: data segments arrive merged by GRO, up to
 * 64 KiB, and one read truncated would be refused by the total-length check. A longer one
 * (BIG TCP, total length 0) is refused, which is the safe side. */
#define RECEIVE_BUFFER_SIZE (ETHERNET_HEADER_SIZE + 65535)

struct tcpreset_run {
    uv_poll_t poll;
    int fd;
    struct tcpreset *owner;             /* outlives the run: its close callback waits for ours */
    uint8_t frame[RECEIVE_BUFFER_SIZE]; /* too big for the loop's stack */
};

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void put16(uint8_t *p, uint16_t value)
{
    p[0] = (uint8_t)(value >> 8);
    p[1] = (uint8_t)(value & 0xff);
}

static void put32(uint8_t *p, uint32_t value)
{
    put16(p, (uint16_t)(value >> 16));
    put16(p + 2, (uint16_t)(value & 0xffff));
}

/* The Internet checksum's running sum (RFC 1071) over @len bytes, big-endian words. */
static uint32_t checksum_add(uint32_t sum, const uint8_t *p, size_t len)
{
    size_t i;

    for (i = 0; i + 1 < len; i += 2) {
        sum += get16(p + i);
    }
    if (len % 2 != 0) {
        sum += (uint32_t)p[len - 1] << 8;
    }
    return sum;
}

static uint16_t checksum_fold(uint32_t sum)
{
    while (sum >> 16 != 0) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return (uint16_t)~sum;
}

static bool unicast_mac(const uint8_t *mac)
{
    static const uint8_t zero[TCPRESET_MAC_SIZE];

    return (mac[0] & 0x01) == 0 && memcmp(mac, zero, TCPRESET_MAC_SIZE) != 0;
}

/* A source we may send to: not "this network", loopback, multicast, reserved or broadcast. */
static bool unicast_host(uint32_t address)
{
    uint32_t first = address >> 24;

    return first != 0 && first != 127 && first < 224;
}

size_t tcpreset_build_reply(const uint8_t *frame, size_t len, struct in_addr vip,
                            const uint8_t our_mac[TCPRESET_MAC_SIZE], uint8_t *out, size_t outlen)
{
    const uint8_t *ip;
    const uint8_t *tcp;
    size_t ip_header_size;
    size_t ip_total_size;
    size_t tcp_header_size;
    uint32_t source;
    uint32_t seg_len;
    uint16_t fragment;
    uint8_t flags;
    uint8_t *reply_ip;
    uint8_t *reply_tcp;
    uint32_t sum;

    if (frame == NULL || out == NULL || outlen < TCPRESET_REPLY_SIZE ||
        len < ETHERNET_HEADER_SIZE + IPV4_MIN_HEADER_SIZE) {
        return 0;
    }
    /* Ethernet: a unicast frame to us from a unicast station, carrying IPv4 directly. */
    if (memcmp(frame, our_mac, TCPRESET_MAC_SIZE) != 0 || !unicast_mac(frame + 6) ||
        get16(frame + 12) != ETH_P_IP) {
        return 0;
    }
    ip = frame + ETHERNET_HEADER_SIZE;
    if (ip[0] >> 4 != 4) {
        return 0;
    }
    ip_header_size = (size_t)(ip[0] & 0x0f) * 4;
    if (ip_header_size < IPV4_MIN_HEADER_SIZE || ip_header_size > len - ETHERNET_HEADER_SIZE) {
        return 0;
    }
    /* Whatever follows the total length is Ethernet padding (frames shorter than 60 bytes). */
    ip_total_size = get16(ip + 2);
    if (ip_total_size < ip_header_size + TCP_MIN_HEADER_SIZE ||
        ip_total_size > len - ETHERNET_HEADER_SIZE) {
        return 0;
    }
    if (checksum_fold(checksum_add(0, ip, ip_header_size)) != 0) {
        return 0;
    }
    fragment = get16(ip + 6);
    if ((fragment & (IPV4_FLAG_MF | IPV4_OFFSET_MASK)) != 0 || ip[9] != IPPROTO_TCP) {
        return 0;
    }
    if (memcmp(ip + 16, &vip.s_addr, 4) != 0) {
        return 0;
    }
    source = get32(ip + 12);
    if (!unicast_host(source) || source == ntohl(vip.s_addr)) {
        return 0;
    }
    tcp = ip + ip_header_size;
    tcp_header_size = (size_t)(tcp[12] >> 4) * 4;
    if (tcp_header_size < TCP_MIN_HEADER_SIZE || tcp_header_size > ip_total_size - ip_header_size) {
        return 0;
    }
    flags = tcp[13];
    /* Answering a reset with a reset could make two responders bounce them forever. */
    if ((flags & TCP_RST) != 0) {
        return 0;
    }

    memcpy(out, frame + 6, TCPRESET_MAC_SIZE);
    memcpy(out + 6, our_mac, TCPRESET_MAC_SIZE);
    put16(out + 12, ETH_P_IP);

    reply_ip = out + ETHERNET_HEADER_SIZE;
    reply_ip[0] = 0x45;
    reply_ip[1] = 0;
    put16(reply_ip + 2, IPV4_MIN_HEADER_SIZE + TCP_MIN_HEADER_SIZE);
    put16(reply_ip + 4, 0); /* identification: unused with DF (RFC 6864) */
    put16(reply_ip + 6, IPV4_FLAG_DF);
    reply_ip[8] = IPV4_TTL;
    reply_ip[9] = IPPROTO_TCP;
    put16(reply_ip + 10, 0);
    memcpy(reply_ip + 12, &vip.s_addr, 4);
    memcpy(reply_ip + 16, ip + 12, 4);
    put16(reply_ip + 10, checksum_fold(checksum_add(0, reply_ip, IPV4_MIN_HEADER_SIZE)));

    reply_tcp = reply_ip + IPV4_MIN_HEADER_SIZE;
    memcpy(reply_tcp, tcp + 2, 2);
    memcpy(reply_tcp + 2, tcp, 2);
    reply_tcp[12] = (TCP_MIN_HEADER_SIZE / 4) << 4;
    if ((flags & TCP_ACK) != 0) {
        /* RFC 9293 3.10.7.1: <SEQ=SEG.ACK><CTL=RST>. SEG.ACK is the sender's RCV.NXT, the one
         * sequence number it accepts a reset at without a challenge ACK (RFC 5961). */
        memcpy(reply_tcp + 4, tcp + 8, 4);
        put32(reply_tcp + 8, 0);
        reply_tcp[13] = TCP_RST;
    } else {
        /* <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>, SYN and FIN taking one sequence number
         * each: a client in SYN-SENT takes the reset only if it acknowledges its SYN. */
        seg_len = (uint32_t)(ip_total_size - ip_header_size - tcp_header_size);
        seg_len += (flags & TCP_SYN) != 0 ? 1 : 0;
        seg_len += (flags & TCP_FIN) != 0 ? 1 : 0;
        put32(reply_tcp + 4, 0);
        put32(reply_tcp + 8, get32(tcp + 4) + seg_len);
        reply_tcp[13] = TCP_RST | TCP_ACK;
    }
    put16(reply_tcp + 14, 0);
    put16(reply_tcp + 16, 0);
    put16(reply_tcp + 18, 0);
    sum = checksum_add(0, reply_ip + 12, 8); /* pseudo-header: addresses, */
    sum += IPPROTO_TCP;                      /* zero and protocol, */
    sum += TCP_MIN_HEADER_SIZE;              /* TCP length */
    sum = checksum_add(sum, reply_tcp, TCP_MIN_HEADER_SIZE);
    put16(reply_tcp + 16, checksum_fold(sum));
    return TCPRESET_REPLY_SIZE;
}

static struct sock_filter statement(uint16_t code, uint32_t k)
{
    struct sock_filter instruction = {.code = code, .jt = 0, .jf = 0, .k = k};
    return instruction;
}

static struct sock_filter jump(uint16_t code, uint32_t k, uint8_t jt, uint8_t jf)
{
    struct sock_filter instruction = {.code = code, .jt = jt, .jf = jf, .k = k};
    return instruction;
}

void tcpreset_filter_program(struct sock_filter program[TCPRESET_FILTER_LENGTH], struct in_addr vip)
{
    /* Jump offsets count from the next instruction; every "no" goes to the last one. */
    enum { ACCEPT = TCPRESET_FILTER_LENGTH - 2, REJECT = TCPRESET_FILTER_LENGTH - 1 };
    unsigned i = 0;

#define NO (uint8_t)(REJECT - i - 1)
    program[i] = statement(BPF_LD | BPF_W | BPF_ABS, (uint32_t)(SKF_AD_OFF + SKF_AD_PKTTYPE));
    i++;
    program[i] = jump(BPF_JMP | BPF_JEQ | BPF_K, PACKET_HOST, 0, NO);
    i++;
    program[i] = statement(BPF_LD | BPF_H | BPF_ABS, 12); /* EtherType */
    i++;
    program[i] = jump(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IP, 0, NO);
    i++;
    program[i] = statement(BPF_LD | BPF_B | BPF_ABS, ETHERNET_HEADER_SIZE); /* version, IHL */
    i++;
    program[i] = statement(BPF_ALU | BPF_AND | BPF_K, 0xf0);
    i++;
    program[i] = jump(BPF_JMP | BPF_JEQ | BPF_K, 0x40, 0, NO);
    i++;
    program[i] = statement(BPF_LD | BPF_B | BPF_ABS, ETHERNET_HEADER_SIZE + 9); /* protocol */
    i++;
    program[i] = jump(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_TCP, 0, NO);
    i++;
    program[i] = statement(BPF_LD | BPF_H | BPF_ABS, ETHERNET_HEADER_SIZE + 6); /* fragment */
    i++;
    program[i] = jump(BPF_JMP | BPF_JSET | BPF_K, IPV4_FLAG_MF | IPV4_OFFSET_MASK, NO, 0);
    i++;
    program[i] = statement(BPF_LD | BPF_W | BPF_ABS, ETHERNET_HEADER_SIZE + 16); /* dst */
    i++;
    program[i] = jump(BPF_JMP | BPF_JEQ | BPF_K, ntohl(vip.s_addr), 0, NO);
    i++;
    /* X = 4 * IHL: the TCP header's offset inside the IPv4 packet. */
    program[i] = statement(BPF_LDX | BPF_B | BPF_MSH, ETHERNET_HEADER_SIZE);
    i++;
    program[i] = statement(BPF_LD | BPF_B | BPF_IND, ETHERNET_HEADER_SIZE + 13); /* flags */
    i++;
    program[i] = jump(BPF_JMP | BPF_JSET | BPF_K, TCP_RST, NO, 0);
    i++;
#undef NO
    program[ACCEPT] = statement(BPF_RET | BPF_K, RECEIVE_BUFFER_SIZE);
    program[REJECT] = statement(BPF_RET | BPF_K, 0);
}

int tcpreset_init(struct tcpreset *responder, uv_loop_t *loop, char *errmsg, size_t errlen)
{
    int rv;

    memset(responder, 0, sizeof *responder);
    rv = uv_timer_init(loop, &responder->timer);
    if (rv != 0) {
        netops_set_error(errmsg, errlen, "TCP reset responder: cannot create a timer: %s",
                         uv_strerror(rv));
        return rv;
    }
    responder->timer.data = responder;
    responder->loop = loop;
    return 0;
}

static void maybe_closed(struct tcpreset *responder)
{
    if (responder->closed && responder->closing == 0 && responder->close_cb != NULL) {
        responder->close_cb(responder);
    }
}

static void on_run_closed(uv_handle_t *handle)
{
    struct tcpreset_run *run = handle->data;
    struct tcpreset *responder = run->owner;

    close(run->fd);
    free(run);
    responder->closing--;
    maybe_closed(responder);
}

/* Close the current socket, if any; its memory goes when libuv is done with the handle. */
static void close_run(struct tcpreset *responder)
{
    struct tcpreset_run *run = responder->run;

    if (run == NULL) {
        return;
    }
    responder->run = NULL;
    responder->closing++;
    uv_close((uv_handle_t *)&run->poll, on_run_closed);
}

void tcpreset_stop(struct tcpreset *responder)
{
    uv_timer_stop(&responder->timer);
    close_run(responder);
}

bool tcpreset_running(const struct tcpreset *responder)
{
    return responder->run != NULL;
}

uint64_t tcpreset_sent(const struct tcpreset *responder)
{
    return responder->sent;
}

uint64_t tcpreset_failed(const struct tcpreset *responder)
{
    return responder->failed;
}

/* End the window because of @status (0: it ran out) and tell the caller. */
static void finish(struct tcpreset *responder, int status)
{
    tcpreset_done_cb done_cb = responder->done_cb;

    tcpreset_stop(responder);
    if (done_cb != NULL) {
        done_cb(responder, status, status != 0 ? responder->errmsg : "");
    }
}

static void on_timer(uv_timer_t *timer)
{
    finish(timer->data, 0);
}

static void vip_text(struct in_addr vip, char text[INET_ADDRSTRLEN])
{
    if (inet_ntop(AF_INET, &vip, text, INET_ADDRSTRLEN) == NULL) {
        snprintf(text, INET_ADDRSTRLEN, "?");
    }
}

/* Read and clear the socket's pending error (the kernel sets ENETDOWN when the interface goes
 * down; the socket keeps its binding and receives again when it comes back up). */
static int take_socket_error(int fd)
{
    int error = 0;
    socklen_t size = sizeof error;

    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size) < 0) {
        return -errno;
    }
    return error;
}

static void answer_pending(struct tcpreset *responder, struct tcpreset_run *run)
{
    uint8_t reply[TCPRESET_REPLY_SIZE];
    int fd = run->fd;
    unsigned i;

    for (i = 0; i < FRAMES_PER_WAKEUP; i++) {
        ssize_t n = recv(fd, run->frame, sizeof run->frame, MSG_DONTWAIT);
        size_t reply_size;

        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                return;
            }
            /* A pending socket error (ENETDOWN) is returned once, then reading goes on. */
            continue;
        }
        reply_size = tcpreset_build_reply(run->frame, (size_t)n, responder->vip, responder->mac,
                                          reply, sizeof reply);
        if (reply_size == 0) {
            continue;
        }
        if (send(fd, reply, reply_size, MSG_DONTWAIT) == (ssize_t)reply_size) {
            responder->sent++;
        } else {
            responder->failed++;
        }
    }
}

static void on_readable(uv_poll_t *poll, int status, int events)
{
    struct tcpreset_run *run = poll->data;
    struct tcpreset *responder = run->owner;
    char text[INET_ADDRSTRLEN];
    int error;
    int rv;

    (void)events;
    if (status == 0) {
        answer_pending(responder, run);
        return;
    }
    /* libuv reports POLLERR as a failure and stops watching: clear the error and go on. */
    error = take_socket_error(run->fd);
    rv = error > 0 ? uv_poll_start(poll, UV_READABLE, on_readable) : status;
    if (rv != 0) {
        vip_text(responder->vip, text);
        netops_set_error(responder->errmsg, sizeof responder->errmsg,
                         "TCP reset responder for %s on %s: cannot watch the packet socket "
                         "(%s); stopped before the end of its window",
                         text, responder->ifname, uv_strerror(rv));
        finish(responder, rv);
    }
}

/* Open, filter and bind the socket for the current ifname/VIP; fills @fd. */
static int open_socket(struct tcpreset *responder, const char *text, int *fd, char *errmsg,
                       size_t errlen)
{
    struct sock_filter program[TCPRESET_FILTER_LENGTH];
    struct sock_fprog filter = {.len = TCPRESET_FILTER_LENGTH, .filter = program};
    struct sockaddr_ll address;
    struct ifreq request;
    const char *step;
    int one = 1;
    int error;

    *fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (*fd < 0) {
        error = errno;
        netops_set_error(errmsg, errlen,
                         "TCP reset responder for %s on %s: cannot open a packet socket: %s%s",
                         text, responder->ifname, strerror(error),
                         error == EPERM ? " (needs CAP_NET_RAW: run mmcoordd as root)" : "");
        return -error;
    }
    memset(&request, 0, sizeof request);
    snprintf(request.ifr_name, sizeof request.ifr_name, "%s", responder->ifname);
    step = "cannot find the interface";
    if (ioctl(*fd, SIOCGIFINDEX, &request) < 0) {
        goto failed;
    }
    memset(&address, 0, sizeof address);
    address.sll_family = AF_PACKET;
    address.sll_protocol = htons(ETH_P_IP);
    address.sll_ifindex = request.ifr_ifindex;
    step = "cannot read the MAC";
    if (ioctl(*fd, SIOCGIFHWADDR, &request) < 0) {
        goto failed;
    }
    if (request.ifr_hwaddr.sa_family != ARPHRD_ETHER) {
        netops_set_error(
            errmsg, errlen,
            "TCP reset responder for %s on %s: not an Ethernet interface (hardware type %u)", text,
            responder->ifname, (unsigned)request.ifr_hwaddr.sa_family);
        close(*fd);
        *fd = -1;
        return -EOPNOTSUPP;
    }
    memcpy(responder->mac, request.ifr_hwaddr.sa_data, TCPRESET_MAC_SIZE);
    /* Frames this host sends, our resets included, are never ours to answer (the filter's
     * PACKET_HOST test would drop them too). */
    step = "cannot ignore outgoing frames";
    if (setsockopt(*fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) < 0) {
        goto failed;
    }
    tcpreset_filter_program(program, responder->vip);
    step = "cannot attach the filter";
    if (setsockopt(*fd, SOL_SOCKET, SO_ATTACH_FILTER, &filter, sizeof filter) < 0) {
        goto failed;
    }
    /* Only now does the kernel start queueing frames on the socket, all filtered. */
    step = "cannot bind the packet socket";
    if (bind(*fd, (const struct sockaddr *)&address, sizeof address) < 0) {
        goto failed;
    }
    /* Binding to an interface that is down leaves ENETDOWN pending; nothing to report. */
    (void)take_socket_error(*fd);
    return 0;

failed:
    error = errno;
    netops_set_error(errmsg, errlen, "TCP reset responder for %s on %s: %s: %s%s", text,
                     responder->ifname, step, strerror(error),
                     error == ENODEV ? " (no such interface here; check [cluster] vip_interface)"
                                     : "");
    close(*fd);
    *fd = -1;
    return -error;
}

int tcpreset_start(struct tcpreset *responder, const char *ifname, struct in_addr vip,
                   uint64_t duration_ms, tcpreset_done_cb done_cb, char *errmsg, size_t errlen)
{
    struct tcpreset_run *run;
    char text[INET_ADDRSTRLEN];
    int fd;
    int rv;

    tcpreset_stop(responder);
    vip_text(vip, text);
    if (ifname == NULL || ifname[0] == '\0' || strlen(ifname) >= sizeof responder->ifname) {
        netops_set_error(errmsg, errlen,
                         "TCP reset responder for %s: bad interface name \"%s\" (1..15 bytes)",
                         text, ifname != NULL ? ifname : "");
        return -EINVAL;
    }
    if (duration_ms == 0 || duration_ms > TCPRESET_MAX_DURATION_MS) {
        netops_set_error(errmsg, errlen,
                         "TCP reset responder for %s on %s: duration %llu ms is out of range "
                         "(1..%u)",
                         text, ifname, (unsigned long long)duration_ms,
                         (unsigned)TCPRESET_MAX_DURATION_MS);
        return -EINVAL;
    }
    if (responder->closed) {
        netops_set_error(errmsg, errlen, "TCP reset responder for %s on %s: already closed", text,
                         ifname);
        return -EBADF;
    }
    snprintf(responder->ifname, sizeof responder->ifname, "%s", ifname);
    responder->vip = vip;
    responder->done_cb = done_cb;

    run = malloc(sizeof *run);
    if (run == NULL) {
        netops_set_error(errmsg, errlen, "TCP reset responder for %s on %s: out of memory", text,
                         ifname);
        return -ENOMEM;
    }
    rv = open_socket(responder, text, &fd, errmsg, errlen);
    if (rv != 0) {
        free(run);
        return rv;
    }
    rv = uv_poll_init(responder->loop, &run->poll, fd);
    if (rv != 0) {
        netops_set_error(errmsg, errlen, "TCP reset responder for %s on %s: cannot poll: %s", text,
                         ifname, uv_strerror(rv));
        close(fd);
        free(run);
        return rv;
    }
    run->poll.data = run;
    run->fd = fd;
    run->owner = responder;
    responder->run = run;
    rv = uv_poll_start(&run->poll, UV_READABLE, on_readable);
    if (rv != 0) {
        netops_set_error(errmsg, errlen, "TCP reset responder for %s on %s: cannot poll: %s", text,
                         ifname, uv_strerror(rv));
        close_run(responder);
        return rv;
    }
    /* uv_timer_start only fails on a closing handle, and a closed responder is refused above. */
    (void)uv_timer_start(&responder->timer, on_timer, duration_ms, 0);
    return 0;
}

static void on_timer_closed(uv_handle_t *handle)
{
    struct tcpreset *responder = handle->data;

    responder->closing--;
    maybe_closed(responder);
}

void tcpreset_close(struct tcpreset *responder, tcpreset_close_cb close_cb)
{
    tcpreset_stop(responder);
    responder->closed = true;
    responder->close_cb = close_cb;
    responder->closing++;
    uv_close((uv_handle_t *)&responder->timer, on_timer_closed);
}
