/*
 * Wake the clients of an address this host just gave away, so that they learn at once.
 *
 * Why: once the VIP is removed from a host, that host can no longer send anything from it (the
 * kernel finds no route for a source address that is not local), so a connection a client
 * opened to the VIP just before the removal is left hanging: its SYN-ACK came back, but the
 * server's greeting, the answer to a query, or the FIN of a kill can no longer reach the
 * client, and the client sends nothing that the reset responder (tcpreset.h) could answer: it
 * waits for its own timeout. Measured on the lab (planned switchover, a client opening one
 * connection per write): 1 switchover in 10 to 50 left such a connection, costing the client
 * 230 to 520 ms.
 *
 * After the address is gone, sockreset_wake_clients() lists the TCP connections still bound to
 * it on this host (sock_diag netlink; IPv4 sockets and IPv6 ones with v4-mapped addresses, as a
 * server listening on :: has) and sends each client one SYN from the address, by a raw IPv4
 * socket (the kernel routes a header-included packet whatever its source). A client whose
 * connection is synchronized answers a SYN, whatever its sequence number, with a "challenge"
 * ACK (RFC 5961 4.2; a stack without RFC 5961 resets the connection on an in-window SYN and
 * ACKs an out-of-window one: both end well). That ACK carries the client's exact sequence
 * number; it reaches this host's reset responder (or the new holder's kernel, once it has the
 * address), whose RST is then accepted: the client's connection fails with ECONNRESET at once
 * and its retry reaches the new holder. A client still in SYN-SENT takes the SYN as a
 * simultaneous open, answers SYN-ACK, is reset the same way and sees ECONNREFUSED. A client
 * that has no such connection any more answers with a RST, which the responder ignores.
 *
 * Caveats:
 *   - the reset responder must already be running (or the new holder must have the address)
 *     when the challenge ACK arrives, a round trip after the SYN: otherwise the ACK is dropped
 *     and the client waits as before;
 *   - a Linux client sends at most one challenge ACK per connection per
 *     net.ipv4.tcp_invalid_ratelimit (500 ms), and at most net.ipv4.tcp_challenge_ack_limit per
 *     second in all (kernels before 6.0: 1000 a second, host-wide, randomized; since: per
 *     network namespace, unlimited by default). A client host with more stranded connections
 *     than that at once, or one being probed by a blind-injection attacker, leaves some
 *     unanswered: those clients wait for their own timeouts, as without the wake. Sending again
 *     would not help, so each client gets one SYN;
 *   - a stateful firewall between here and the client (or on it) may take a SYN on an
 *     established connection for an invalid packet and drop it: that client waits as before;
 *   - connections between two ends that are both the address (this host's own clients of the
 *     VIP) are left alone: a packet to the address would now leave for its new holder.
 *
 * Safety: it sends only to the peers of TCP sockets of this host whose local address is
 * @address, only from @address and the socket's own port, and only a bare SYN. Nothing must be
 * sent while this host holds the address (the SYN would be answered by this host's own socket,
 * harmlessly, but to no purpose): the caller calls it after the removal.
 *
 * Cost: two sock_diag dumps (the kernel answers them from within the calls; a few round trips
 * of 32 KiB for thousands of sockets, all of which are listed, then filtered here) and one
 * non-blocking datagram per connection found, on sockets opened per call: fine for the daemon's
 * loop at the moment it gives the VIP away. Needs CAP_NET_RAW.
 */
#ifndef MMC_NETOPS_SOCKRESET_H
#define MMC_NETOPS_SOCKRESET_H

#include <linux/inet_diag.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One connection to wake; addresses and ports in network byte order. */
struct sockreset_peer {
    in_addr_t local; /* the address given away */
    uint16_t local_port;
    in_addr_t remote; /* the client */
    uint16_t remote_port;
};

/* Send one SYN, from @address, to the peer of every TCP connection of this network namespace
 * whose local address is @address and whose peer may still wait for this side (established,
 * SYN received, closing states), as sockreset_peer_of() selects them. Sets *@woken to how many
 * SYNs were sent. Returns 0, or a negative errno with @errmsg naming the address, the step that
 * failed and its consequence: listing the sockets failed (-ENOENT: no tcp_diag in the kernel;
 * nothing sent), the raw socket could not be opened (-EPERM: no CAP_NET_RAW; nothing sent), or
 * some SYNs could not be sent (the first failure's errno; the others were still sent and are
 * counted in *@woken). */
int sockreset_wake_clients(struct in_addr address, unsigned *woken, char *errmsg, size_t errlen);

/* Whether the socket @id of address @family (AF_INET, or AF_INET6 with both ends v4-mapped),
 * as sock_diag lists it, is a connection of @address to a client to wake, and if so its ends in
 * *@peer. False for another local address, a peer that is @address itself, a peer that is not
 * a unicast host address (0/8, 127/8, 224/3), a zero port, or any other family. Pure. */
bool sockreset_peer_of(int family, const struct inet_diag_sockid *id, struct in_addr address,
                       struct sockreset_peer *peer);

/* The SYN for one connection, pure: IPv4 header (no options, DF, TTL 64, identification 0,
 * checksum filled) and TCP header (SYN alone, acknowledgment 0, window 0, no options, checksum
 * filled), 40 bytes into @out (capacity @outlen >= 40). @seq is the sequence number to use.
 * Returns 40, or 0 (writing nothing) when @outlen is too small. Addresses and ports in network
 * byte order. */
size_t sockreset_build_syn(in_addr_t from, uint16_t from_port, in_addr_t to, uint16_t to_port,
                           uint32_t seq, unsigned char *out, size_t outlen);

#endif /* MMC_NETOPS_SOCKRESET_H */
