/*
 * netops/sockreset.h: the SYN that wakes a client still connected to an address this host gave
 * away, and the choice of whom to wake. The frame must be one the client's kernel accepts: both
 * checksums right, the ports and addresses of the connection, the SYN flag alone. Only peers of
 * sockets on the address are woken, never a packet to the address itself or to a non-host
 * address.
 */
#include <arpa/inet.h>
#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "netops/sockreset.h"

static uint32_t sum16(const unsigned char *p, size_t len, uint32_t sum)
{
    for (size_t i = 0; i + 1 < len; i += 2) {
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    }
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return sum;
}

START_TEST(the_syn_is_well_formed)
{
    unsigned char f[64];
    in_addr_t vip = inet_addr("10.1.2.100"), client = inet_addr("10.1.2.254");
    ck_assert_uint_eq(
        sockreset_build_syn(vip, htons(3306), client, htons(40123), 0x01020304, f, sizeof f), 40);
    ck_assert_uint_eq(f[0], 0x45);              /* IPv4, 20-byte header */
    ck_assert_uint_eq(f[2] << 8 | f[3], 40);    /* total length */
    ck_assert_uint_eq(f[9], 6);                 /* TCP */
    ck_assert_uint_eq(sum16(f, 20, 0), 0xffff); /* IP header checksum */
    ck_assert_mem_eq(f + 12, &vip, 4);
    ck_assert_mem_eq(f + 16, &client, 4);
    ck_assert_uint_eq(f[20] << 8 | f[21], 3306);  /* from the VIP's port */
    ck_assert_uint_eq(f[22] << 8 | f[23], 40123); /* to the client's */
    ck_assert_uint_eq((uint32_t)f[24] << 24 | f[25] << 16 | f[26] << 8 | f[27], 0x01020304);
    ck_assert_uint_eq(f[32] >> 4, 5); /* no options */
    ck_assert_uint_eq(f[33], 0x02);   /* SYN alone */
    unsigned char pseudo[12] = {0};
    memcpy(pseudo, &vip, 4);
    memcpy(pseudo + 4, &client, 4);
    pseudo[9] = 6;
    pseudo[11] = 20;
    ck_assert_uint_eq(sum16(f + 20, 20, sum16(pseudo, 12, 0)), 0xffff); /* TCP checksum */
}
END_TEST

START_TEST(a_short_buffer_gets_nothing)
{
    unsigned char f[39];
    memset(f, 0xaa, sizeof f);
    ck_assert_uint_eq(sockreset_build_syn(1, 2, 3, 4, 5, f, sizeof f), 0);
    ck_assert_uint_eq(f[0], 0xaa);
}
END_TEST

static struct inet_diag_sockid v4_socket(const char *local, uint16_t lport, const char *remote,
                                         uint16_t rport)
{
    struct inet_diag_sockid id;
    memset(&id, 0, sizeof id);
    id.idiag_src[0] = inet_addr(local);
    id.idiag_dst[0] = inet_addr(remote);
    id.idiag_sport = htons(lport);
    id.idiag_dport = htons(rport);
    return id;
}

static struct inet_diag_sockid mapped(struct inet_diag_sockid id)
{
    id.idiag_src[3] = id.idiag_src[0];
    id.idiag_dst[3] = id.idiag_dst[0];
    id.idiag_src[0] = id.idiag_dst[0] = 0;
    id.idiag_src[2] = id.idiag_dst[2] = htonl(0xffff);
    return id;
}

START_TEST(a_client_of_the_address_is_woken)
{
    struct in_addr vip = {.s_addr = inet_addr("10.1.2.100")};
    struct inet_diag_sockid id = v4_socket("10.1.2.100", 3306, "10.1.2.254", 40123);
    struct sockreset_peer peer;
    ck_assert(sockreset_peer_of(AF_INET, &id, vip, &peer));
    ck_assert_uint_eq(peer.local, vip.s_addr);
    ck_assert_uint_eq(peer.local_port, htons(3306));
    ck_assert_uint_eq(peer.remote, inet_addr("10.1.2.254"));
    ck_assert_uint_eq(peer.remote_port, htons(40123));
}
END_TEST

START_TEST(a_client_of_a_dual_stack_listener_is_woken)
{
    struct in_addr vip = {.s_addr = inet_addr("10.1.2.100")};
    struct inet_diag_sockid id = mapped(v4_socket("10.1.2.100", 3306, "10.1.2.254", 40123));
    struct sockreset_peer peer;
    ck_assert(sockreset_peer_of(AF_INET6, &id, vip, &peer));
    ck_assert_uint_eq(peer.local, vip.s_addr);
    ck_assert_uint_eq(peer.remote, inet_addr("10.1.2.254"));
    ck_assert_uint_eq(peer.remote_port, htons(40123));
    /* Read as IPv4, the same bytes are not on the VIP. */
    ck_assert(!sockreset_peer_of(AF_INET, &id, vip, &peer));
}
END_TEST

START_TEST(nothing_else_is_woken)
{
    struct in_addr vip = {.s_addr = inet_addr("10.1.2.100")};
    struct sockreset_peer peer;
    struct inet_diag_sockid other = v4_socket("10.1.2.1", 3306, "10.1.2.254", 40123);
    ck_assert(!sockreset_peer_of(AF_INET, &other, vip, &peer));
    /* This host's own client of the VIP: both ends on it. */
    struct inet_diag_sockid self = v4_socket("10.1.2.100", 3306, "10.1.2.100", 40123);
    ck_assert(!sockreset_peer_of(AF_INET, &self, vip, &peer));
    const char *not_hosts[] = {"0.0.0.0", "127.0.0.1", "224.0.0.1", "255.255.255.255", "240.0.0.1"};
    for (size_t i = 0; i < sizeof not_hosts / sizeof *not_hosts; i++) {
        struct inet_diag_sockid id = v4_socket("10.1.2.100", 3306, not_hosts[i], 40123);
        ck_assert_msg(!sockreset_peer_of(AF_INET, &id, vip, &peer), "%s woken", not_hosts[i]);
    }
    struct inet_diag_sockid no_port = v4_socket("10.1.2.100", 3306, "10.1.2.254", 0);
    ck_assert(!sockreset_peer_of(AF_INET, &no_port, vip, &peer));
    /* A real IPv6 connection whose low 32 bits happen to match. */
    struct inet_diag_sockid v6 = mapped(v4_socket("10.1.2.100", 3306, "10.1.2.254", 40123));
    v6.idiag_src[0] = v6.idiag_dst[0] = htonl(0x20010db8);
    ck_assert(!sockreset_peer_of(AF_INET6, &v6, vip, &peer));
    ck_assert(!sockreset_peer_of(AF_UNIX, &other, vip, &peer));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sockreset");
    TCase *t = tcase_create("syn");
    tcase_add_test(t, the_syn_is_well_formed);
    tcase_add_test(t, a_short_buffer_gets_nothing);
    suite_add_tcase(s, t);
    TCase *w = tcase_create("whom");
    tcase_add_test(w, a_client_of_the_address_is_woken);
    tcase_add_test(w, a_client_of_a_dual_stack_listener_is_woken);
    tcase_add_test(w, nothing_else_is_woken);
    suite_add_tcase(s, w);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed == 0 ? 0 : 1;
}
