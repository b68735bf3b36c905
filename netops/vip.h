/*
 * The virtual IP on this host: make sure an IPv4 address is present on (or absent from) an
 * interface, and ask whether it is there. This is the daemon's hand on the address; deciding
 * WHEN to hold it belongs to the coordinator, and telling the neighbours belongs to arp.h.
 *
 * Every call is one netlink request and its answer (libnl-route-3) on a socket opened once in
 * vip_open(), so the daemon may call it from its libuv loop: the cost is one kernel round trip.
 * The interface name is resolved to an index on each call with if_nametoindex() (an ioctl, no
 * netlink message), so an interface that is deleted and created again is found under its new
 * index; a cached link table would go stale exactly then.
 *
 * The address is put there with a label "<ifname>:mmc" (shortened for long interface names,
 * see vip_label()) so that `ip addr` shows who added it, and optionally with a valid/preferred
 * lifetime: the kernel removes the address by itself when it runs out, a backstop for the
 * writer lease when every process on the host is dead. A renewal is vip_add() again with a
 * fresh lifetime.
 *
 * Only IPv4: an IPv6 VIP would need unsolicited neighbour advertisements and DAD handling,
 * which mmcoord does not do; vip_parse_address() refuses IPv6 with a message saying so.
 */
#ifndef MMC_NETOPS_VIP_H
#define MMC_NETOPS_VIP_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

/* "255.255.255.255/32" plus the terminating NUL. */
#define VIP_ADDRESS_TEXT_SIZE 19
/* IFNAMSIZ: the kernel keeps at most 15 bytes of an address label. */
#define VIP_LABEL_SIZE 16
/* What vip_label() appends to the interface name when there is room. */
#define VIP_LABEL_SUFFIX ":mmc"

struct vip_address {
    struct in_addr address; /* network byte order */
    unsigned prefix_length; /* 1..32 */
};

/* A netlink route socket. Opaque; one per daemon (or per thread using it). */
struct vip;

/* Parse "a.b.c.d/len" into @out. The prefix length is required (no silent default) and must
 * be 1..32; the address must be a dotted quad usable as a host address (not 0.0.0.0, not
 * loopback, multicast, reserved or broadcast, nor the network or broadcast address of its
 * own subnet when the prefix is 30 or shorter). Returns 0, -EAFNOSUPPORT for an IPv6 address
 * (the message says IPv6 VIPs are not supported), or -EINVAL with a message naming the text
 * and what is expected. Pure. */
int vip_parse_address(const char *text, struct vip_address *out, char *errmsg, size_t errlen);

/* Write "a.b.c.d/len" into @buf (VIP_ADDRESS_TEXT_SIZE is enough; shorter buffers truncate). */
void vip_format_address(const struct vip_address *vip, char *buf, size_t len);

/* The label put on the address for interface @ifname: "<ifname>:mmc" when it fits in 15 bytes,
 * otherwise as much of ":mmc" as fits (the kernel and `ip` want labels that start with the
 * interface name), down to the bare interface name for a 15-byte name. Returns 0, or -EINVAL
 * when @ifname is empty or longer than 15 bytes, or @len is smaller than VIP_LABEL_SIZE.
 * Pure. */
int vip_label(const char *ifname, char *buf, size_t len);

/* Open a netlink route socket. On success *@out is a handle the caller frees with
 * vip_close(). Fails with -ENOMEM or -errno of the socket (message says which). */
int vip_open(struct vip **out, char *errmsg, size_t errlen);

/* Close the socket and free @vip (NULL is allowed). */
void vip_close(struct vip *vip);

/* Ensure @address is on @ifname, labelled (vip_label()), with a valid and preferred lifetime
 * of @lifetime_s seconds (0: forever). The request replaces an address already there, so the
 * call is idempotent and doubles as the lease renewal: after it returns 0 the address is there
 * and its lifetime starts again from now. A label set by someone else is left as it was.
 * Fails with -ENODEV (no such interface), -EPERM (not root / no CAP_NET_ADMIN), -EINVAL for a
 * lifetime above 2^32-2 seconds, or another -errno; the message names the interface, the
 * address and the kernel's reason. */
int vip_add(struct vip *vip, const char *ifname, const struct vip_address *address,
            unsigned lifetime_s, char *errmsg, size_t errlen);

/* Ensure @address (with its prefix length) is not on @ifname, whoever put it there. Removing
 * an absent address is not an error (returns 0). Fails like vip_add(). Note: when the VIP is
 * the primary address of its subnet on that interface the kernel also removes the secondaries
 * of that subnet unless net.ipv4.conf.<if>.promote_secondaries is set; a /32 VIP is always its
 * own primary and touches nothing else. */
int vip_del(struct vip *vip, const char *ifname, const struct vip_address *address, char *errmsg,
            size_t errlen);

/* Returns 1 when @address with its prefix length is on @ifname, 0 when not, or a negative
 * errno (-ENODEV for a missing interface) with a message. One address dump of that interface
 * (the kernel filters by interface when it supports strict dump checks). */
int vip_has(struct vip *vip, const char *ifname, const struct vip_address *address, char *errmsg,
            size_t errlen);

#endif /* MMC_NETOPS_VIP_H */
