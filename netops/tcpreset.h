/*
 * TCP reset responder for the host that just gave the VIP away.
 *
 * Why: when the VIP moves from host A to host B, A removes the address and B announces it with
 * gratuitous ARP some tens of milliseconds later. Until then, clients still have A's MAC for the
 * VIP, and every TCP segment they send to the VIP reaches A, whose kernel no longer owns the
 * address and drops it without a word:
 *   - a new connection's SYN: the client retries only after its initial retransmission timeout
 *     (1 s on Linux);
 *   - a segment of a connection opened with A before it let the VIP go (data, its ACK, a FIN):
 *     the client retransmits into the void, or waits for a greeting A can no longer send, until
 *     its own timeout (hundreds of milliseconds to seconds).
 * If A answers such a segment with a TCP reset instead, as RFC 9293 has a host do for a segment
 * that belongs to no connection, the client learns at once: connect() fails with ECONNREFUSED,
 * an open connection with ECONNRESET, and its retry (after the GARP) reaches B. A never accepts
 * or serves anything: it only ends connections that could not reach the VIP's holder anyway
 * (an open one's server is being fenced). It never answers a reset, so two responders cannot
 * bounce resets between them.
 *
 * Safety: the responder answers segments to the VIP whether or not this host holds it, so while
 * it runs on a host that holds the VIP it resets that host's own clients. It must run only
 * around giving the VIP away: the daemon starts it just before removing the address (starting
 * takes milliseconds, and a SYN dropped meanwhile would cost its client a 1 s retransmission),
 * accepting that what it resets in those milliseconds belongs to connections about to lose the
 * address anyway; it stops it at once if the removal fails, and before adding the VIP back
 * (tcpreset_stop()). It stops by itself after a bounded time in any case. It must already run
 * when sockreset_wake_clients() (sockreset.h) makes stranded clients speak: it is what answers
 * them.
 *
 * Three layers, as in arp.h:
 *   tcpreset_build_reply()    the decision and the reply frame, pure: untrusted bytes in, the
 *                             reset frame out, or 0 for anything that is not a TCP segment to
 *                             the VIP without RST;
 *   tcpreset_filter_program() the classic BPF program that lets only such segments reach the
 *                             socket (so the daemon's loop never wakes for other traffic), pure;
 *   struct tcpreset           an AF_PACKET socket bound to one interface, watched with uv_poll,
 *                             answering each segment on the same socket until a uv_timer ends the
 *                             window. Nothing blocks: the socket is non-blocking and a frame that
 *                             cannot be sent at once is counted and dropped.
 *
 * Proposed configuration key ([cluster], owned by coord/config): tcp_reset_ms (0 = off, else
 * 1..TCPRESET_MAX_DURATION_MS; default TCPRESET_DEFAULT_DURATION_MS).
 */
#ifndef MMC_NETOPS_TCPRESET_H
#define MMC_NETOPS_TCPRESET_H

#include <linux/filter.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#define TCPRESET_MAC_SIZE    6
#define TCPRESET_IFNAME_SIZE 16 /* IFNAMSIZ */
#define TCPRESET_ERRMSG_SIZE 256
/* Ethernet header (14) + IPv4 header without options (20) + TCP header without options (20). */
#define TCPRESET_REPLY_SIZE 54
/* Instructions in the program tcpreset_filter_program() writes. */
#define TCPRESET_FILTER_LENGTH 18

#define TCPRESET_DEFAULT_DURATION_MS 5000
#define TCPRESET_MAX_DURATION_MS     600000

/* Decide whether @frame (@len bytes, starting at the Ethernet header, as an AF_PACKET SOCK_RAW
 * socket reads it) is a TCP segment to @vip that this host should answer with a reset, and if
 * so write the reply into @out (capacity @outlen) and return its length (TCPRESET_REPLY_SIZE).
 * Returns 0, writing nothing, unless all of these hold:
 *   - Ethernet: destination is @our_mac (not broadcast, multicast or another host's frame seen
 *     in promiscuous mode), source is a unicast MAC, EtherType IPv4 (no VLAN tag);
 *   - IPv4: version 4, header length 20..60 bytes and within the frame, total length covering
 *     the IPv4 and TCP headers and within the frame (Ethernet padding after it is allowed),
 *     header checksum correct, not a fragment (neither MF nor an offset), protocol TCP,
 *     destination @vip, source a unicast host address (not 0/8, 127/8, multicast, 240/4,
 *     broadcast, nor @vip itself);
 *   - TCP: data offset 20..60 bytes and within the IPv4 payload, RST clear (any other flags:
 *     a SYN, data, a bare ACK, a FIN are all answered);
 *   - @outlen >= TCPRESET_REPLY_SIZE.
 * The TCP checksum of the segment is not verified: a frame looped through a veth from a local
 * sender may carry a partial checksum that the kernel would complete later.
 * The reply (RFC 9293 section 3.10.7.1, a segment arriving for a closed connection): Ethernet
 * from @our_mac to the segment's source MAC; IPv4 without options, DF, TTL 64, identification
 * 0, from @vip to the segment's source; TCP from its destination port to its source port,
 * window 0, both checksums correct, and
 *   - when the segment has ACK set: sequence = its acknowledgment number, acknowledgment 0,
 *     flags RST;
 *   - otherwise: sequence 0, acknowledgment = its sequence + payload length (from the IPv4
 *     total length) + 1 for SYN + 1 for FIN, flags RST|ACK.
 * Pure; @frame is only read. */
size_t tcpreset_build_reply(const uint8_t *frame, size_t len, struct in_addr vip,
                            const uint8_t our_mac[TCPRESET_MAC_SIZE], uint8_t *out, size_t outlen);

/* Fill @program with a classic BPF program for an AF_PACKET socket that accepts a frame only
 * when it was addressed to this host's MAC (packet type PACKET_HOST), is IPv4, TCP, not a
 * fragment, to @vip, with RST clear (the TCP header found from the IHL), and then passes it
 * whole (up to 64 KiB of IPv4). A coarse sieve: tcpreset_build_reply() still checks
 * everything. Pure. */
void tcpreset_filter_program(struct sock_filter program[TCPRESET_FILTER_LENGTH],
                             struct in_addr vip);

struct tcpreset;
struct tcpreset_run; /* private: one socket and its poll handle, per tcpreset_start() */

/* Called once when a window ends by itself: @status 0 when its duration ran out, or < 0 when
 * the socket failed and could not be watched any more (@errmsg says why). Not called after
 * tcpreset_stop(), tcpreset_close() or a re-arm. It may call tcpreset_start(). */
typedef void (*tcpreset_done_cb)(struct tcpreset *responder, int status, const char *errmsg);
typedef void (*tcpreset_close_cb)(struct tcpreset *responder);

/* The responder. Caller-allocated; fields are private except `data`. */
struct tcpreset {
    void *data; /* free for the caller */
    uv_loop_t *loop;
    uv_timer_t timer;         /* ends the window */
    struct tcpreset_run *run; /* the current socket; NULL when stopped */
    char ifname[TCPRESET_IFNAME_SIZE];
    uint8_t mac[TCPRESET_MAC_SIZE];
    struct in_addr vip;
    tcpreset_done_cb done_cb;
    tcpreset_close_cb close_cb;
    uint64_t sent;    /* resets sent since tcpreset_init() */
    uint64_t failed;  /* resets the socket would not take (dropped) */
    unsigned closing; /* handles whose close callback has not run yet */
    bool closed;
    char errmsg[TCPRESET_ERRMSG_SIZE];
};

/* Prepare @responder on @loop (its timer; no socket yet). Returns 0, or a uv error with a
 * message; on failure tcpreset_close() must not be called. */
int tcpreset_init(struct tcpreset *responder, uv_loop_t *loop, char *errmsg, size_t errlen);

/* Open an AF_PACKET socket on @ifname that receives only what tcpreset_filter_program()
 * passes, and answer every TCP segment to @vip arriving there (resets excepted) with the reset
 * tcpreset_build_reply() writes, for @duration_ms (1..TCPRESET_MAX_DURATION_MS), then stop by
 * itself and call @done_cb (may be NULL). Calling it while running re-arms it with the new
 * interface, VIP, duration and callback. The interface's index and MAC are read here; the
 * interface may be down (segments are answered once it is up, within the window). Fails with
 * -EINVAL (bad name or duration), -EPERM (needs CAP_NET_RAW), -ENODEV (no such interface),
 * -EOPNOTSUPP (not Ethernet), -ENOMEM or another -errno, the message naming the interface and
 * the VIP; on failure the responder is stopped. */
int tcpreset_start(struct tcpreset *responder, const char *ifname, struct in_addr vip,
                   uint64_t duration_ms, tcpreset_done_cb done_cb, char *errmsg, size_t errlen);

/* Stop answering now (e.g. before this host adds the VIP again): the socket is closed, no
 * callback follows. Idempotent. */
void tcpreset_stop(struct tcpreset *responder);

/* True between tcpreset_start() and the end of its window or tcpreset_stop(). */
bool tcpreset_running(const struct tcpreset *responder);

/* Resets sent, and resets dropped because the socket would not take them, since
 * tcpreset_init() (for the daemon's log; re-arming does not reset them). */
uint64_t tcpreset_sent(const struct tcpreset *responder);
uint64_t tcpreset_failed(const struct tcpreset *responder);

/* Stop and close everything; @close_cb (may be NULL) runs on the loop when the responder's
 * memory may be freed. */
void tcpreset_close(struct tcpreset *responder, tcpreset_close_cb close_cb);

#endif /* MMC_NETOPS_TCPRESET_H */
