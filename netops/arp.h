/*
 * Gratuitous ARP: tell the hosts and switches of the segment that the VIP now lives at this
 * host's MAC address, so that clients stop sending to the old holder without waiting for their
 * ARP entries to age out (tens of seconds on Linux).
 *
 * Form chosen: an ARP *request* broadcast, sender and target protocol address both the VIP,
 * sender hardware address our MAC, target hardware address zero (an "ARP announcement",
 * RFC 5227 section 2.3). keepalived sends requests too; Linux and common switches update an
 * existing entry from it (Linux bypasses its locktime for a gratuitous ARP), and a request is
 * also what makes a switch relearn the port. Replies are not sent: some stacks ignore
 * unsolicited replies, none we know ignore the request form.
 *
 * Three layers:
 *   arp_build_announcement()  the frame bytes, pure;
 *   struct arp_sender         an AF_PACKET socket on one interface, sends one frame per call;
 *   struct arp_announcer      a libuv timer sending a burst of `count` frames `interval_ms`
 *                             apart, then (when refresh_ms > 0) one frame every refresh_ms
 *                             while the VIP is held. Nothing sleeps: the loop keeps running.
 *
 * The owner may give the announcer a gate (arp_announcer_set_gate()), asked right before every
 * frame: a timer that fires late, after a stall of the loop (a paused process, a slow disk),
 * runs before whatever timer of the owner's would have stopped it, and its frame would point
 * the clients at a host that may no longer hold the address. The gate is where the owner's
 * rules (a lease, in mmcoordd) meet the frame; this module knows nothing of them.
 *
 * Configuration keys ([cluster], coord/config.c): garp_count (1..100, default 5),
 * garp_interval_ms (0..10000, default 200), garp_refresh_ms (0 = off, else 1000..3600000;
 * mmcoordd's default 1000, this module's ARP_DEFAULT_REFRESH_MS 0).
 */
#ifndef MMC_NETOPS_ARP_H
#define MMC_NETOPS_ARP_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#define ARP_FRAME_SIZE  42 /* Ethernet header (14) + ARP for IPv4 over Ethernet (28) */
#define ARP_MAC_SIZE    6
#define ARP_IFNAME_SIZE 16 /* IFNAMSIZ */
#define ARP_ERRMSG_SIZE 256

#define ARP_DEFAULT_COUNT       5
#define ARP_DEFAULT_INTERVAL_MS 200
#define ARP_DEFAULT_REFRESH_MS  0
#define ARP_MAX_COUNT           100
#define ARP_MAX_INTERVAL_MS     10000
#define ARP_MIN_REFRESH_MS      1000
#define ARP_MAX_REFRESH_MS      3600000

struct arp_options {
    unsigned count;       /* frames in the burst after an add, >= 1 */
    unsigned interval_ms; /* gap between frames of the burst */
    unsigned refresh_ms;  /* after the burst, one frame every refresh_ms; 0: none */
};

/* The defaults above (keepalived sends 5 per burst too). */
struct arp_options arp_options_default(void);

/* 0 when @options is inside the ranges above, else -EINVAL with a message naming the field,
 * the value and the range. Pure. */
int arp_options_check(const struct arp_options *options, char *errmsg, size_t errlen);

/* Fill @frame with the announcement for @address from @mac (layout in the top comment):
 * broadcast destination, EtherType 0x0806, request opcode. Pure. */
void arp_build_announcement(uint8_t frame[ARP_FRAME_SIZE], const uint8_t mac[ARP_MAC_SIZE],
                            struct in_addr address);

/* An AF_PACKET socket bound to nothing (it only sends, never receives) and the name of the
 * interface it sends on. The fields are private. */
struct arp_sender {
    int fd;
    char ifname[ARP_IFNAME_SIZE];
};

/* Open the socket for @ifname. The interface need not exist yet: it is looked up on each send,
 * so a recreated interface is found. Fails with -EINVAL (bad name), -EPERM (needs CAP_NET_RAW)
 * or -errno of socket(); the message says which. */
int arp_sender_open(struct arp_sender *sender, const char *ifname, char *errmsg, size_t errlen);

/* Send one announcement for @address on the interface, with its current MAC. Never blocks
 * (non-blocking socket; a full queue is -EAGAIN). Fails with -ENODEV (no such interface),
 * -ENETDOWN (interface down), -EOPNOTSUPP (not an Ethernet interface) or another -errno; the
 * message names the interface and the address. */
int arp_sender_send(struct arp_sender *sender, struct in_addr address, char *errmsg, size_t errlen);

/* Close the socket (safe on a sender that failed to open, and twice). */
void arp_sender_close(struct arp_sender *sender);

struct arp_announcer;

/* Called after each send that failed or that the gate held back (@status < 0, -ECANCELED for
 * held back; @errmsg says why) and once when the burst is over (@burst_done true; @status is
 * that last frame's result). For the first frame it is called from inside
 * arp_announcer_start(), for the others from the loop's timer. A failed send does not stop the
 * burst or the refresh: the next frame is still sent on time. The callback may call
 * arp_announcer_stop() or arp_announcer_start(). */
typedef void (*arp_announce_cb)(struct arp_announcer *announcer, int status, bool burst_done,
                                const char *errmsg);
typedef void (*arp_close_cb)(struct arp_announcer *announcer);

/* The gate: asked right before each frame (the first one too, inside arp_announcer_start()),
 * with the @data given to arp_announcer_set_gate(). true lets the frame go; false holds it
 * back: nothing is sent, and the frame is reported like a failed send with status -ECANCELED.
 * It must answer for the moment it is asked (read the clock then, not earlier) and must not
 * stop, restart or close the announcer (the announce callback may). */
typedef bool (*arp_may_announce_cb)(void *data);

/* Drives one sender with a uv timer. Caller-allocated; fields are private except `data`. */
struct arp_announcer {
    void *data; /* free for the caller */
    uv_timer_t timer;
    struct arp_sender *sender;
    struct arp_options options;
    struct in_addr address;
    arp_announce_cb cb;
    arp_close_cb close_cb;
    arp_may_announce_cb may_announce; /* NULL: every frame goes */
    void *gate_data;
    unsigned sent; /* frames of the current burst already sent */
    bool running;
    char errmsg[ARP_ERRMSG_SIZE];
};

/* Prepare @announcer on @loop for @sender (not owned; it must outlive the announcer) with
 * @options (copied; checked with arp_options_check()). Returns 0 or -EINVAL / a uv error. */
int arp_announcer_init(uv_loop_t *loop, struct arp_announcer *announcer, struct arp_sender *sender,
                       const struct arp_options *options, char *errmsg, size_t errlen);

/* Start announcing @address: the first frame goes out before this returns (it is the one the
 * clients need first), the rest of the burst and the refresh on the timer. Restarting while
 * running begins a new burst. @cb may be NULL. Returns the first frame's status (0 or -errno
 * with @errmsg filled; -ECANCELED when the gate held it back); the burst continues either
 * way. */
int arp_announcer_start(struct arp_announcer *announcer, struct in_addr address, arp_announce_cb cb,
                        char *errmsg, size_t errlen);

/* Ask @may_announce (NULL: none, every frame goes) before each frame from now on, with @data.
 * Call it after arp_announcer_init(), which clears it; it holds across starts and stops.
 *
 * A frame held back keeps its place in the schedule: it counts as one of the burst, the next
 * frame is due when it would have been, and the announcer keeps running. It does not stop by
 * itself, because a "no" need not be final: the owner stops it when it gives the address up
 * (mmcoordd releases the VIP on its next reconcile), and a passing "no" (the address removed
 * behind the owner's back and added again, a lease renewal applied late) must not silence the
 * refresh for the rest of the hold, which only a new start would otherwise bring back. Retrying
 * a held-back burst frame instead of moving on would spin the loop with interval_ms 0. A burst
 * held back in full is not sent again later: the refresh frames cover a gate that opens
 * again, and an owner that adds the address anew starts a new burst. */
void arp_announcer_set_gate(struct arp_announcer *announcer, arp_may_announce_cb may_announce,
                            void *data);

/* Stop sending (the VIP was released). No callback follows. */
void arp_announcer_stop(struct arp_announcer *announcer);

/* Stop and close the timer; @close_cb (may be NULL) runs on the loop when the announcer's
 * memory may be freed. */
void arp_announcer_close(struct arp_announcer *announcer, arp_close_cb close_cb);

#endif /* MMC_NETOPS_ARP_H */
