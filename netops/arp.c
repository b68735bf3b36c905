/*
 * Gratuitous ARP over AF_PACKET (see arp.h for the frame and why that form). The socket is
 * opened with protocol 0 so the kernel never queues received frames on it, and the interface
 * index and MAC are read with ioctls on every send: cheap, and right after an interface is
 * recreated or its MAC changed.
 */
#include "netops/arp.h"
#include "netops/error.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if_arp.h>
#include <linux/if_ether.h>
#include <netpacket/packet.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

struct arp_options arp_options_default(void)
{
    struct arp_options options = {
        .count = ARP_DEFAULT_COUNT,
        .interval_ms = ARP_DEFAULT_INTERVAL_MS,
        .refresh_ms = ARP_DEFAULT_REFRESH_MS,
    };
    return options;
}

int arp_options_check(const struct arp_options *options, char *errmsg, size_t errlen)
{
    if (options->count < 1 || options->count > ARP_MAX_COUNT) {
        netops_set_error(errmsg, errlen, "gratuitous ARP count %u is out of range (1..%u)",
                         options->count, ARP_MAX_COUNT);
        return -EINVAL;
    }
    if (options->interval_ms > ARP_MAX_INTERVAL_MS) {
        netops_set_error(errmsg, errlen, "gratuitous ARP interval %u ms is out of range (0..%u)",
                         options->interval_ms, ARP_MAX_INTERVAL_MS);
        return -EINVAL;
    }
    if (options->refresh_ms != 0 &&
        (options->refresh_ms < ARP_MIN_REFRESH_MS || options->refresh_ms > ARP_MAX_REFRESH_MS)) {
        netops_set_error(errmsg, errlen,
                         "gratuitous ARP refresh %u ms is out of range (0 for off, or %u..%u)",
                         options->refresh_ms, ARP_MIN_REFRESH_MS, ARP_MAX_REFRESH_MS);
        return -EINVAL;
    }
    return 0;
}

static uint8_t *put16(uint8_t *p, uint16_t value)
{
    p[0] = (uint8_t)(value >> 8);
    p[1] = (uint8_t)(value & 0xff);
    return p + 2;
}

void arp_build_announcement(uint8_t frame[ARP_FRAME_SIZE], const uint8_t mac[ARP_MAC_SIZE],
                            struct in_addr address)
{
    uint8_t *p = frame;

    /* Ethernet: to everyone on the segment, from us, carrying ARP. */
    memset(p, 0xff, ARP_MAC_SIZE);
    p += ARP_MAC_SIZE;
    memcpy(p, mac, ARP_MAC_SIZE);
    p += ARP_MAC_SIZE;
    p = put16(p, ETH_P_ARP);

    /* ARP, IPv4 over Ethernet: "who has VIP? tell VIP at mac" */
    p = put16(p, ARPHRD_ETHER);
    p = put16(p, ETH_P_IP);
    *p++ = ARP_MAC_SIZE;
    *p++ = 4;
    p = put16(p, ARPOP_REQUEST);
    memcpy(p, mac, ARP_MAC_SIZE);
    p += ARP_MAC_SIZE;
    memcpy(p, &address.s_addr, 4);
    p += 4;
    memset(p, 0, ARP_MAC_SIZE);
    p += ARP_MAC_SIZE;
    memcpy(p, &address.s_addr, 4);
}

int arp_sender_open(struct arp_sender *sender, const char *ifname, char *errmsg, size_t errlen)
{
    sender->fd = -1;
    if (ifname == NULL || ifname[0] == '\0' || strlen(ifname) >= sizeof sender->ifname) {
        netops_set_error(errmsg, errlen, "gratuitous ARP: bad interface name \"%s\" (1..15 bytes)",
                         ifname != NULL ? ifname : "");
        return -EINVAL;
    }
    snprintf(sender->ifname, sizeof sender->ifname, "%s", ifname);
    sender->fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (sender->fd < 0) {
        int error = errno;
        netops_set_error(errmsg, errlen, "gratuitous ARP on %s: cannot open a packet socket: %s%s",
                         ifname, strerror(error),
                         error == EPERM ? " (needs CAP_NET_RAW: run mmcoordd as root)" : "");
        return -error;
    }
    return 0;
}

int arp_sender_send(struct arp_sender *sender, struct in_addr address, char *errmsg, size_t errlen)
{
    char text[INET_ADDRSTRLEN];
    uint8_t frame[ARP_FRAME_SIZE];
    struct sockaddr_ll destination;
    struct ifreq request;
    int ifindex;
    ssize_t n;

    if (inet_ntop(AF_INET, &address, text, sizeof text) == NULL) {
        snprintf(text, sizeof text, "?");
    }
    if (sender->fd < 0) {
        netops_set_error(errmsg, errlen, "gratuitous ARP for %s on %s: the socket is not open",
                         text, sender->ifname);
        return -EBADF;
    }
    memset(&request, 0, sizeof request);
    snprintf(request.ifr_name, sizeof request.ifr_name, "%s", sender->ifname);
    if (ioctl(sender->fd, SIOCGIFINDEX, &request) < 0) {
        int error = errno;
        netops_set_error(errmsg, errlen, "gratuitous ARP for %s on %s: %s", text, sender->ifname,
                         strerror(error));
        return -error;
    }
    ifindex = request.ifr_ifindex;
    if (ioctl(sender->fd, SIOCGIFHWADDR, &request) < 0) {
        int error = errno;
        netops_set_error(errmsg, errlen, "gratuitous ARP for %s on %s: cannot read the MAC: %s",
                         text, sender->ifname, strerror(error));
        return -error;
    }
    if (request.ifr_hwaddr.sa_family != ARPHRD_ETHER) {
        netops_set_error(
            errmsg, errlen,
            "gratuitous ARP for %s on %s: not an Ethernet interface (hardware type %u)", text,
            sender->ifname, (unsigned)request.ifr_hwaddr.sa_family);
        return -EOPNOTSUPP;
    }
    arp_build_announcement(frame, (const uint8_t *)request.ifr_hwaddr.sa_data, address);

    memset(&destination, 0, sizeof destination);
    destination.sll_family = AF_PACKET;
    destination.sll_protocol = htons(ETH_P_ARP);
    destination.sll_ifindex = ifindex;
    destination.sll_halen = ARP_MAC_SIZE;
    memset(destination.sll_addr, 0xff, ARP_MAC_SIZE);
    n = sendto(sender->fd, frame, sizeof frame, 0, (const struct sockaddr *)&destination,
               sizeof destination);
    if (n < 0) {
        int error = errno;
        netops_set_error(errmsg, errlen, "gratuitous ARP for %s on %s: %s", text, sender->ifname,
                         strerror(error));
        return -error;
    }
    if ((size_t)n != sizeof frame) {
        netops_set_error(errmsg, errlen,
                         "gratuitous ARP for %s on %s: short send (%zd of %zu bytes)", text,
                         sender->ifname, n, sizeof frame);
        return -EIO;
    }
    return 0;
}

void arp_sender_close(struct arp_sender *sender)
{
    if (sender->fd >= 0) {
        close(sender->fd);
        sender->fd = -1;
    }
}

int arp_announcer_init(uv_loop_t *loop, struct arp_announcer *announcer, struct arp_sender *sender,
                       const struct arp_options *options, char *errmsg, size_t errlen)
{
    int rv;

    rv = arp_options_check(options, errmsg, errlen);
    if (rv != 0) {
        return rv;
    }
    memset(announcer, 0, sizeof *announcer);
    rv = uv_timer_init(loop, &announcer->timer);
    if (rv != 0) {
        netops_set_error(errmsg, errlen, "gratuitous ARP on %s: cannot create a timer: %s",
                         sender->ifname, uv_strerror(rv));
        return rv;
    }
    announcer->timer.data = announcer;
    announcer->sender = sender;
    announcer->options = *options;
    return 0;
}

static void on_timer(uv_timer_t *timer);

static void schedule_next(struct arp_announcer *announcer)
{
    uint64_t delay;

    if (announcer->sent < announcer->options.count) {
        delay = announcer->options.interval_ms;
    } else if (announcer->options.refresh_ms > 0) {
        delay = announcer->options.refresh_ms;
    } else {
        announcer->running = false;
        return;
    }
    /* uv_timer_start only fails on a closing handle, which cannot be running here. */
    (void)uv_timer_start(&announcer->timer, on_timer, delay, 0);
}

void arp_announcer_set_gate(struct arp_announcer *announcer, arp_may_announce_cb may_announce,
                            void *data)
{
    announcer->may_announce = may_announce;
    announcer->gate_data = data;
}

/* Send the next frame, unless the gate holds it back (asked here, right before the send, so
 * that a timer run late after a stall asks about now), and tell the caller what it needs to
 * hear. Returns the send status, -ECANCELED when held back. */
static int send_one(struct arp_announcer *announcer)
{
    bool in_burst = announcer->sent < announcer->options.count;
    bool burst_done;
    int status;

    if (announcer->may_announce != NULL && !announcer->may_announce(announcer->gate_data)) {
        char text[INET_ADDRSTRLEN];
        if (inet_ntop(AF_INET, &announcer->address, text, sizeof text) == NULL) {
            snprintf(text, sizeof text, "?");
        }
        netops_set_error(announcer->errmsg, sizeof announcer->errmsg,
                         "gratuitous ARP for %s on %s held back: its owner may not announce it "
                         "now",
                         text, announcer->sender->ifname);
        status = -ECANCELED;
    } else {
        status = arp_sender_send(announcer->sender, announcer->address, announcer->errmsg,
                                 sizeof announcer->errmsg);
    }
    if (in_burst) {
        announcer->sent++;
    }
    burst_done = in_burst && announcer->sent == announcer->options.count;
    if (announcer->cb != NULL && (status != 0 || burst_done)) {
        announcer->cb(announcer, status, burst_done, status != 0 ? announcer->errmsg : "");
    }
    return status;
}

static void on_timer(uv_timer_t *timer)
{
    struct arp_announcer *announcer = timer->data;

    if (!announcer->running) {
        return;
    }
    send_one(announcer);
    /* The callback may have stopped or restarted us. */
    if (announcer->running && !uv_is_active((uv_handle_t *)&announcer->timer)) {
        schedule_next(announcer);
    }
}

int arp_announcer_start(struct arp_announcer *announcer, struct in_addr address, arp_announce_cb cb,
                        char *errmsg, size_t errlen)
{
    int status;

    uv_timer_stop(&announcer->timer);
    announcer->address = address;
    announcer->cb = cb;
    announcer->sent = 0;
    announcer->running = true;
    status = send_one(announcer);
    if (status != 0) {
        netops_set_error(errmsg, errlen, "%s", announcer->errmsg);
    }
    if (announcer->running && !uv_is_active((uv_handle_t *)&announcer->timer)) {
        schedule_next(announcer);
    }
    return status;
}

void arp_announcer_stop(struct arp_announcer *announcer)
{
    announcer->running = false;
    uv_timer_stop(&announcer->timer);
}

static void on_timer_closed(uv_handle_t *handle)
{
    struct arp_announcer *announcer = handle->data;

    if (announcer->close_cb != NULL) {
        announcer->close_cb(announcer);
    }
}

void arp_announcer_close(struct arp_announcer *announcer, arp_close_cb close_cb)
{
    arp_announcer_stop(announcer);
    announcer->close_cb = close_cb;
    uv_close((uv_handle_t *)&announcer->timer, on_timer_closed);
}
