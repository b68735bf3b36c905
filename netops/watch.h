/*
 * Watch the VIP and its interface: a netlink socket subscribed to the kernel's IPv4 address and
 * link notifications (RTNLGRP_IPV4_IFADDR, RTNLGRP_LINK), so the daemon hears at once when
 * someone removes the VIP by hand, when it appears, or when the interface goes down or up, and
 * its reconciler can act (re-add while the lease allows, or report the node unable to serve).
 *
 * The socket is non-blocking; the daemon polls watch_fd() with uv_poll (UV_READABLE) and calls
 * watch_dispatch() when it is readable. Events are reported on changes only: the watch keeps the
 * last state it saw of the address and of the link (both unknown at first, so the first
 * notification about each is always reported), because the kernel repeats notifications (a
 * lease renewal re-announces the address, a statistics or MTU change re-announces the link).
 * When the kernel dropped notifications (socket buffer overrun) the watch reports
 * WATCH_OVERRUN and forgets both states: the daemon must then ask (vip_has()) instead of
 * trusting its idea of the address.
 *
 * The interface is matched by name, so one deleted and created again is followed to its new
 * index. Only messages sent by the kernel are believed.
 */
#ifndef MMC_NETOPS_WATCH_H
#define MMC_NETOPS_WATCH_H

#include <stddef.h>

#include "netops/vip.h"

enum watch_event_kind {
    WATCH_VIP_ADDED,   /* the address (with this prefix length) is now on the interface */
    WATCH_VIP_REMOVED, /* it is gone from the interface (by hand, lifetime expiry, link removal) */
    WATCH_LINK_UP,     /* the interface is administratively up and has carrier */
    WATCH_LINK_DOWN,   /* set down, lost carrier, or deleted */
    WATCH_OVERRUN,     /* notifications were lost: re-read the state */
};

struct watch_event {
    enum watch_event_kind kind;
    unsigned ifindex; /* the interface's index when known, else 0 */
};

/* Called from watch_dispatch() for each event, in the order the kernel sent them. */
typedef void (*watch_cb)(void *data, const struct watch_event *event);

struct watch;

/* Subscribe to notifications about @address on @ifname (the interface need not exist yet).
 * @cb and @data are kept for watch_dispatch(). On success *@out is owned by the caller (free
 * with watch_close()). Fails with -EINVAL (bad name), -ENOMEM, or -errno of the socket. */
int watch_open(struct watch **out, const char *ifname, const struct vip_address *address,
               watch_cb cb, void *data, char *errmsg, size_t errlen);

/* The socket to poll for reading. Owned by the watch: do not close it. */
int watch_fd(const struct watch *watch);

/* Read every notification queued on the socket without blocking and report the events.
 * Returns 0 when the socket is drained (also after an overrun, reported as an event), or
 * -errno with a message when reading failed otherwise. */
int watch_dispatch(struct watch *watch, char *errmsg, size_t errlen);

/* Close the socket and free @watch (NULL is allowed). Stop polling the fd first. */
void watch_close(struct watch *watch);

/* "vip-added", "vip-removed", "link-up", "link-down", "overrun". */
const char *watch_event_name(enum watch_event_kind kind);

#endif /* MMC_NETOPS_WATCH_H */
