/*
 * Netlink notifications about one address and one interface (see watch.h). The socket is a
 * plain non-blocking AF_NETLINK socket; libnl parses the attributes of each message.
 */
#include "netops/watch.h"
#include "netops/error.h"

#include <errno.h>
#include <net/if.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <netlink/attr.h>
#include <netlink/msg.h>

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

#define WATCH_BUFFER_SIZE   (64 * 1024)
#define WATCH_SOCKET_BUFFER (1024 * 1024)

enum state { STATE_UNKNOWN = -1, STATE_OFF = 0, STATE_ON = 1 };

struct watch {
    int fd;
    char ifname[IFNAMSIZ];
    struct vip_address address;
    watch_cb cb;
    void *data;
    unsigned ifindex; /* last index seen for ifname; 0 when unknown */
    enum state address_state;
    enum state link_state;
    uint8_t buffer[WATCH_BUFFER_SIZE];
};

const char *watch_event_name(enum watch_event_kind kind)
{
    switch (kind) {
    case WATCH_VIP_ADDED:
        return "vip-added";
    case WATCH_VIP_REMOVED:
        return "vip-removed";
    case WATCH_LINK_UP:
        return "link-up";
    case WATCH_LINK_DOWN:
        return "link-down";
    case WATCH_OVERRUN:
        return "overrun";
    }
    return "unknown";
}

int watch_open(struct watch **out, const char *ifname, const struct vip_address *address,
               watch_cb cb, void *data, char *errmsg, size_t errlen)
{
    struct sockaddr_nl local;
    struct watch *watch;
    int groups[] = {RTNLGRP_IPV4_IFADDR, RTNLGRP_LINK};
    int size = WATCH_SOCKET_BUFFER;
    size_t i;

    if (ifname == NULL || ifname[0] == '\0' || strlen(ifname) >= IFNAMSIZ) {
        netops_set_error(errmsg, errlen, "watch: bad interface name \"%s\" (1..15 bytes)",
                         ifname != NULL ? ifname : "");
        return -EINVAL;
    }
    watch = calloc(1, sizeof *watch);
    if (watch == NULL) {
        netops_set_error(errmsg, errlen, "watch on %s: out of memory", ifname);
        return -ENOMEM;
    }
    snprintf(watch->ifname, sizeof watch->ifname, "%s", ifname);
    watch->address = *address;
    watch->cb = cb;
    watch->data = data;
    watch->address_state = STATE_UNKNOWN;
    watch->link_state = STATE_UNKNOWN;
    /* 0 when the interface does not exist yet: its creation notification will name it. */
    watch->ifindex = if_nametoindex(ifname);
    watch->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (watch->fd < 0) {
        int error = errno;
        netops_set_error(errmsg, errlen, "watch on %s: cannot open a netlink socket: %s", ifname,
                         strerror(error));
        free(watch);
        return -error;
    }
    /* A bigger buffer makes an overrun during a burst of link changes less likely; failing to
     * get it only makes WATCH_OVERRUN more likely, which is handled. */
    (void)setsockopt(watch->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    memset(&local, 0, sizeof local);
    local.nl_family = AF_NETLINK;
    if (bind(watch->fd, (struct sockaddr *)&local, sizeof local) < 0) {
        int error = errno;
        netops_set_error(errmsg, errlen, "watch on %s: cannot bind the netlink socket: %s", ifname,
                         strerror(error));
        watch_close(watch);
        return -error;
    }
    for (i = 0; i < sizeof groups / sizeof groups[0]; i++) {
        if (setsockopt(watch->fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &groups[i],
                       sizeof groups[i]) < 0) {
            int error = errno;
            netops_set_error(errmsg, errlen,
                             "watch on %s: cannot subscribe to netlink group %d: %s", ifname,
                             groups[i], strerror(error));
            watch_close(watch);
            return -error;
        }
    }
    *out = watch;
    return 0;
}

int watch_fd(const struct watch *watch)
{
    return watch->fd;
}

void watch_close(struct watch *watch)
{
    if (watch == NULL) {
        return;
    }
    if (watch->fd >= 0) {
        close(watch->fd);
    }
    free(watch);
}

static void report(struct watch *watch, enum watch_event_kind kind)
{
    struct watch_event event = {.kind = kind, .ifindex = watch->ifindex};

    if (watch->cb != NULL) {
        watch->cb(watch->data, &event);
    }
}

static void set_link_state(struct watch *watch, enum state state)
{
    if (watch->link_state == state) {
        return;
    }
    watch->link_state = state;
    report(watch, state == STATE_ON ? WATCH_LINK_UP : WATCH_LINK_DOWN);
}

static void set_address_state(struct watch *watch, enum state state)
{
    if (watch->address_state == state) {
        return;
    }
    watch->address_state = state;
    report(watch, state == STATE_ON ? WATCH_VIP_ADDED : WATCH_VIP_REMOVED);
}

static void on_link(struct watch *watch, struct nlmsghdr *header)
{
    struct nlattr *attributes[IFLA_MAX + 1];
    const struct ifinfomsg *info;
    bool ours;

    if (!nlmsg_valid_hdr(header, sizeof *info) ||
        nlmsg_parse(header, sizeof *info, attributes, IFLA_MAX, NULL) < 0) {
        return;
    }
    info = nlmsg_data(header);
    ours =
        attributes[IFLA_IFNAME] != NULL && nla_strcmp(attributes[IFLA_IFNAME], watch->ifname) == 0;
    if (!ours) {
        /* Renamed away from our name: for us the interface is gone. */
        if (watch->ifindex != 0 && (unsigned)info->ifi_index == watch->ifindex) {
            watch->ifindex = 0;
            set_link_state(watch, STATE_OFF);
        }
        return;
    }
    if (header->nlmsg_type == RTM_DELLINK) {
        watch->ifindex = 0;
        set_link_state(watch, STATE_OFF);
        return;
    }
    watch->ifindex = (unsigned)info->ifi_index;
    set_link_state(watch, (info->ifi_flags & IFF_UP) && (info->ifi_flags & IFF_RUNNING)
                              ? STATE_ON
                              : STATE_OFF);
}

static void on_address(struct watch *watch, struct nlmsghdr *header)
{
    struct nlattr *attributes[IFA_MAX + 1];
    const struct ifaddrmsg *ifa;
    struct nlattr *local;

    if (!nlmsg_valid_hdr(header, sizeof *ifa) ||
        nlmsg_parse(header, sizeof *ifa, attributes, IFA_MAX, NULL) < 0) {
        return;
    }
    ifa = nlmsg_data(header);
    if (ifa->ifa_family != AF_INET || ifa->ifa_prefixlen != watch->address.prefix_length) {
        return;
    }
    local = attributes[IFA_LOCAL] != NULL ? attributes[IFA_LOCAL] : attributes[IFA_ADDRESS];
    if (local == NULL || nla_len(local) != 4 ||
        memcmp(nla_data(local), &watch->address.address, 4) != 0) {
        return;
    }
    if (ifa->ifa_index != watch->ifindex) {
        return;
    }
    set_address_state(watch, header->nlmsg_type == RTM_NEWADDR ? STATE_ON : STATE_OFF);
}

int watch_dispatch(struct watch *watch, char *errmsg, size_t errlen)
{
    for (;;) {
        struct sockaddr_nl sender;
        socklen_t sender_len = sizeof sender;
        struct nlmsghdr *header;
        int remaining;
        ssize_t n;

        memset(&sender, 0, sizeof sender);
        n = recvfrom(watch->fd, watch->buffer, sizeof watch->buffer, 0, (struct sockaddr *)&sender,
                     &sender_len);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                return 0;
            }
            if (errno == ENOBUFS) {
                watch->address_state = STATE_UNKNOWN;
                watch->link_state = STATE_UNKNOWN;
                report(watch, WATCH_OVERRUN);
                continue;
            }
            int error = errno;
            netops_set_error(errmsg, errlen, "watch on %s: reading netlink notifications: %s",
                             watch->ifname, strerror(error));
            return -error;
        }
        if (sender_len != sizeof sender || sender.nl_pid != 0) {
            continue; /* not from the kernel */
        }
        remaining = (int)n;
        for (header = (struct nlmsghdr *)watch->buffer; nlmsg_ok(header, remaining);
             header = nlmsg_next(header, &remaining)) {
            switch (header->nlmsg_type) {
            case RTM_NEWLINK:
            case RTM_DELLINK:
                on_link(watch, header);
                break;
            case RTM_NEWADDR:
            case RTM_DELADDR:
                on_address(watch, header);
                break;
            default:
                break;
            }
        }
    }
}
