/*
 * The VIP on an interface through rtnetlink (see vip.h). Adds use NLM_F_REPLACE so that one
 * request both creates the address and renews its lifetime; deletes treat "no such address"
 * as done; the presence query is one RTM_GETADDR dump restricted to the interface.
 */
#include "netops/vip.h"
#include "netops/error.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/socket.h>

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif
#ifndef NETLINK_GET_STRICT_CHK
#define NETLINK_GET_STRICT_CHK 12
#endif

struct vip {
    struct nl_sock *socket;
};

/* libnl folds the kernel's errno into its own codes; turn them back into errno values so
 * callers see one kind of error code across mmcoord. */
static int errno_from_nl(int nl_error)
{
    switch (nl_error < 0 ? -nl_error : nl_error) {
    case NLE_SUCCESS:
        return 0;
    case NLE_INTR:
        return -EINTR;
    case NLE_AGAIN:
        return -EAGAIN;
    case NLE_NOMEM:
        return -ENOMEM;
    case NLE_EXIST:
        return -EEXIST;
    case NLE_INVAL:
        return -EINVAL;
    case NLE_RANGE:
        return -ERANGE;
    case NLE_MSGSIZE:
        return -EMSGSIZE;
    case NLE_OPNOTSUPP:
        return -EOPNOTSUPP;
    case NLE_AF_NOSUPPORT:
        return -EAFNOSUPPORT;
    case NLE_OBJ_NOTFOUND:
        return -ENOENT;
    case NLE_NOADDR:
        return -EADDRNOTAVAIL;
    case NLE_BUSY:
        return -EBUSY;
    case NLE_NOACCESS:
    case NLE_PERM:
        return -EPERM;
    case NLE_NODEV:
        return -ENODEV;
    case NLE_BAD_SOCK:
        return -EBADF;
    default:
        return -EIO;
    }
}

static const char *hint_for(int error)
{
    switch (error) {
    case -EPERM:
        return " (changing addresses needs CAP_NET_ADMIN: run mmcoordd as root)";
    case -ENODEV:
        return " (the interface disappeared; check [cluster] vip_interface)";
    default:
        return "";
    }
}

int vip_parse_address(const char *text, struct vip_address *out, char *errmsg, size_t errlen)
{
    char host[INET_ADDRSTRLEN];
    const char *slash;
    const char *p;
    size_t host_len;
    unsigned long prefix = 0;
    uint32_t host_order;

    if (text == NULL || text[0] == '\0') {
        netops_set_error(errmsg, errlen,
                         "empty VIP: expected an IPv4 address with a prefix length, "
                         "e.g. 192.168.1.10/32");
        return -EINVAL;
    }
    if (strchr(text, ':') != NULL) {
        netops_set_error(errmsg, errlen,
                         "VIP \"%s\" looks like an IPv6 address: IPv6 VIPs are not supported "
                         "(mmcoord sends no neighbour advertisements); use an IPv4 address/prefix",
                         text);
        return -EAFNOSUPPORT;
    }
    slash = strchr(text, '/');
    if (slash == NULL) {
        netops_set_error(errmsg, errlen,
                         "VIP \"%s\" has no prefix length: write it as a.b.c.d/len, e.g. %s/32",
                         text, text);
        return -EINVAL;
    }
    host_len = (size_t)(slash - text);
    if (host_len == 0 || host_len >= sizeof host) {
        netops_set_error(errmsg, errlen, "VIP \"%s\": \"%.*s\" is not an IPv4 address (a.b.c.d)",
                         text, (int)host_len, text);
        return -EINVAL;
    }
    memcpy(host, text, host_len);
    host[host_len] = '\0';
    if (inet_pton(AF_INET, host, &out->address) != 1) {
        netops_set_error(errmsg, errlen, "VIP \"%s\": \"%s\" is not an IPv4 address (a.b.c.d)",
                         text, host);
        return -EINVAL;
    }
    p = slash + 1;
    if (*p == '\0') {
        netops_set_error(errmsg, errlen,
                         "VIP \"%s\": empty prefix length after '/' (expected 1..32)", text);
        return -EINVAL;
    }
    for (; *p != '\0'; p++) {
        if (*p < '0' || *p > '9' || prefix > 32) {
            netops_set_error(errmsg, errlen,
                             "VIP \"%s\": prefix length \"%s\" is not a number in 1..32", text,
                             slash + 1);
            return -EINVAL;
        }
        prefix = prefix * 10 + (unsigned long)(*p - '0');
    }
    if (prefix < 1 || prefix > 32) {
        netops_set_error(errmsg, errlen, "VIP \"%s\": prefix length %lu is out of range (1..32)",
                         text, prefix);
        return -EINVAL;
    }
    out->prefix_length = (unsigned)prefix;

    host_order = ntohl(out->address.s_addr);
    if (host_order == 0 || (host_order >> 24) == 0) {
        netops_set_error(errmsg, errlen, "VIP \"%s\": %s is in 0.0.0.0/8, not a host address", text,
                         host);
        return -EINVAL;
    }
    if ((host_order >> 24) == 127) {
        netops_set_error(errmsg, errlen, "VIP \"%s\": %s is a loopback address", text, host);
        return -EINVAL;
    }
    if ((host_order >> 28) >= 0xE) {
        netops_set_error(errmsg, errlen,
                         "VIP \"%s\": %s is a multicast, reserved or broadcast address, not a host "
                         "address",
                         text, host);
        return -EINVAL;
    }
    if (out->prefix_length <= 30) {
        uint32_t host_mask = (uint32_t)0xFFFFFFFFu >> out->prefix_length;
        if ((host_order & host_mask) == 0 || (host_order & host_mask) == host_mask) {
            netops_set_error(
                errmsg, errlen,
                "VIP \"%s\": %s is the %s address of its /%u subnet, not a host address", text,
                host, (host_order & host_mask) == 0 ? "network" : "broadcast", out->prefix_length);
            return -EINVAL;
        }
    }
    return 0;
}

void vip_format_address(const struct vip_address *vip, char *buf, size_t len)
{
    char host[INET_ADDRSTRLEN];

    if (len == 0) {
        return;
    }
    if (inet_ntop(AF_INET, &vip->address, host, sizeof host) == NULL) {
        snprintf(host, sizeof host, "?");
    }
    snprintf(buf, len, "%s/%u", host, vip->prefix_length);
}

int vip_label(const char *ifname, char *buf, size_t len)
{
    size_t name_len;
    size_t room;
    size_t suffix_len = strlen(VIP_LABEL_SUFFIX);

    if (ifname == NULL || buf == NULL || len < VIP_LABEL_SIZE) {
        return -EINVAL;
    }
    name_len = strlen(ifname);
    if (name_len == 0 || name_len >= VIP_LABEL_SIZE) {
        return -EINVAL;
    }
    room = VIP_LABEL_SIZE - 1 - name_len;
    /* A lone ":" says nothing; either some of the suffix after it or none at all. */
    if (room > suffix_len) {
        room = suffix_len;
    }
    if (room < 2) {
        room = 0;
    }
    memcpy(buf, ifname, name_len);
    memcpy(buf + name_len, VIP_LABEL_SUFFIX, room);
    buf[name_len + room] = '\0';
    return 0;
}

int vip_open(struct vip **out, char *errmsg, size_t errlen)
{
    struct vip *vip;
    int one = 1;
    int rv;

    vip = calloc(1, sizeof *vip);
    if (vip == NULL) {
        netops_set_error(errmsg, errlen, "vip: out of memory");
        return -ENOMEM;
    }
    vip->socket = nl_socket_alloc();
    if (vip->socket == NULL) {
        free(vip);
        netops_set_error(errmsg, errlen, "vip: out of memory allocating a netlink socket");
        return -ENOMEM;
    }
    rv = nl_connect(vip->socket, NETLINK_ROUTE);
    if (rv < 0) {
        netops_set_error(errmsg, errlen, "vip: cannot open a netlink route socket: %s",
                         nl_geterror(rv));
        nl_socket_free(vip->socket);
        free(vip);
        return errno_from_nl(rv);
    }
    /* Lets the kernel filter the address dump by interface (Linux >= 4.20). Without it the
     * dump covers every interface and vip_has() filters it here: slower, same answer. */
    (void)setsockopt(nl_socket_get_fd(vip->socket), SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one,
                     sizeof one);
    *out = vip;
    return 0;
}

void vip_close(struct vip *vip)
{
    if (vip == NULL) {
        return;
    }
    nl_socket_free(vip->socket);
    free(vip);
}

static int resolve_interface(const char *ifname, const char *action, const char *address_text,
                             char *errmsg, size_t errlen)
{
    unsigned index;

    if (ifname == NULL || ifname[0] == '\0' || strlen(ifname) >= IF_NAMESIZE) {
        netops_set_error(errmsg, errlen,
                         "cannot %s VIP %s: bad interface name \"%s\" (1..15 bytes)", action,
                         address_text, ifname != NULL ? ifname : "");
        return -EINVAL;
    }
    index = if_nametoindex(ifname);
    if (index == 0) {
        int error = errno;
        netops_set_error(
            errmsg, errlen, "cannot %s VIP %s on %s: %s%s", action, address_text, ifname,
            strerror(error),
            error == ENODEV ? " (no such interface here; check [cluster] vip_interface)" : "");
        return -error;
    }
    return (int)index;
}

static int build_request(int ifindex, const struct vip_address *address, struct rtnl_addr **out)
{
    struct rtnl_addr *request;
    struct nl_addr *local;
    int rv;

    request = rtnl_addr_alloc();
    if (request == NULL) {
        return -NLE_NOMEM;
    }
    local = nl_addr_build(AF_INET, &address->address, sizeof address->address);
    if (local == NULL) {
        rtnl_addr_put(request);
        return -NLE_NOMEM;
    }
    nl_addr_set_prefixlen(local, (int)address->prefix_length);
    rtnl_addr_set_ifindex(request, ifindex);
    rv = rtnl_addr_set_local(request, local);
    nl_addr_put(local);
    if (rv < 0) {
        rtnl_addr_put(request);
        return rv;
    }
    rtnl_addr_set_prefixlen(request, (int)address->prefix_length);
    *out = request;
    return 0;
}

int vip_add(struct vip *vip, const char *ifname, const struct vip_address *address,
            unsigned lifetime_s, char *errmsg, size_t errlen)
{
    char text[VIP_ADDRESS_TEXT_SIZE];
    char label[VIP_LABEL_SIZE];
    struct rtnl_addr *request;
    int ifindex;
    int rv;

    vip_format_address(address, text, sizeof text);
    ifindex = resolve_interface(ifname, "add", text, errmsg, errlen);
    if (ifindex < 0) {
        return ifindex;
    }
    if (lifetime_s == UINT32_MAX) {
        netops_set_error(errmsg, errlen,
                         "cannot add VIP %s on %s: lifetime %u s is too long (at most %u; 0 means "
                         "forever)",
                         text, ifname, lifetime_s, UINT32_MAX - 1);
        return -EINVAL;
    }
    if (vip_label(ifname, label, sizeof label) != 0) {
        netops_set_error(errmsg, errlen, "cannot add VIP %s on %s: cannot make a label", text,
                         ifname);
        return -EINVAL;
    }
    rv = build_request(ifindex, address, &request);
    if (rv < 0) {
        netops_set_error(errmsg, errlen, "cannot add VIP %s on %s: %s", text, ifname,
                         nl_geterror(rv));
        return errno_from_nl(rv);
    }
    rv = rtnl_addr_set_label(request, label);
    if (rv == 0 && lifetime_s != 0) {
        rtnl_addr_set_valid_lifetime(request, lifetime_s);
        rtnl_addr_set_preferred_lifetime(request, lifetime_s);
    }
    if (rv == 0) {
        rv = rtnl_addr_add(vip->socket, request, NLM_F_REPLACE);
    }
    rtnl_addr_put(request);
    if (rv < 0) {
        int error = errno_from_nl(rv);
        netops_set_error(errmsg, errlen, "cannot add VIP %s on %s: %s%s", text, ifname,
                         nl_geterror(rv), hint_for(error));
        return error;
    }
    return 0;
}

int vip_del(struct vip *vip, const char *ifname, const struct vip_address *address, char *errmsg,
            size_t errlen)
{
    char text[VIP_ADDRESS_TEXT_SIZE];
    struct rtnl_addr *request = NULL;
    int ifindex;
    int rv;

    vip_format_address(address, text, sizeof text);
    ifindex = resolve_interface(ifname, "remove", text, errmsg, errlen);
    if (ifindex < 0) {
        return ifindex;
    }
    /* No label in the request: the kernel would then only match that label, and an address
     * someone added by hand must go too. */
    rv = build_request(ifindex, address, &request);
    if (rv == 0) {
        rv = rtnl_addr_delete(vip->socket, request, 0);
        rtnl_addr_put(request);
    }
    if (rv == -NLE_NOADDR) {
        return 0; /* already absent */
    }
    if (rv < 0) {
        int error = errno_from_nl(rv);
        netops_set_error(errmsg, errlen, "cannot remove VIP %s from %s: %s%s", text, ifname,
                         nl_geterror(rv), hint_for(error));
        return error;
    }
    return 0;
}

struct has_query {
    int ifindex;
    const struct vip_address *address;
    bool found;
};

static int has_visit(struct nl_msg *msg, void *arg)
{
    struct has_query *query = arg;
    struct nlmsghdr *header = nlmsg_hdr(msg);
    struct nlattr *attributes[IFA_MAX + 1];
    const struct ifaddrmsg *ifa;
    struct nlattr *local;

    if (header->nlmsg_type != RTM_NEWADDR || !nlmsg_valid_hdr(header, sizeof *ifa)) {
        return NL_OK;
    }
    ifa = nlmsg_data(header);
    if (ifa->ifa_family != AF_INET || (int)ifa->ifa_index != query->ifindex ||
        ifa->ifa_prefixlen != query->address->prefix_length) {
        return NL_OK;
    }
    if (nlmsg_parse(header, sizeof *ifa, attributes, IFA_MAX, NULL) < 0) {
        return NL_OK;
    }
    local = attributes[IFA_LOCAL] != NULL ? attributes[IFA_LOCAL] : attributes[IFA_ADDRESS];
    if (local != NULL && nla_len(local) == 4 &&
        memcmp(nla_data(local), &query->address->address, 4) == 0) {
        query->found = true;
    }
    return NL_OK;
}

int vip_has(struct vip *vip, const char *ifname, const struct vip_address *address, char *errmsg,
            size_t errlen)
{
    char text[VIP_ADDRESS_TEXT_SIZE];
    struct ifaddrmsg filter;
    struct has_query query;
    struct nl_cb *socket_callbacks;
    struct nl_cb *callbacks;
    int ifindex;
    int rv;

    vip_format_address(address, text, sizeof text);
    ifindex = resolve_interface(ifname, "look up", text, errmsg, errlen);
    if (ifindex < 0) {
        return ifindex;
    }
    memset(&filter, 0, sizeof filter);
    filter.ifa_family = AF_INET;
    filter.ifa_index = (unsigned)ifindex;
    query.ifindex = ifindex;
    query.address = address;
    query.found = false;

    socket_callbacks = nl_socket_get_cb(vip->socket); /* a new reference */
    callbacks = nl_cb_clone(socket_callbacks);
    nl_cb_put(socket_callbacks);
    if (callbacks == NULL) {
        netops_set_error(errmsg, errlen, "cannot look up VIP %s on %s: out of memory", text,
                         ifname);
        return -ENOMEM;
    }
    nl_cb_set(callbacks, NL_CB_VALID, NL_CB_CUSTOM, has_visit, &query);
    rv = nl_send_simple(vip->socket, RTM_GETADDR, NLM_F_DUMP, &filter, sizeof filter);
    if (rv >= 0) {
        rv = nl_recvmsgs(vip->socket, callbacks);
    }
    nl_cb_put(callbacks);
    if (rv < 0) {
        int error = errno_from_nl(rv);
        netops_set_error(errmsg, errlen, "cannot look up VIP %s on %s: %s%s", text, ifname,
                         nl_geterror(rv), hint_for(error));
        return error;
    }
    return query.found ? 1 : 0;
}
