/*
 * The TCP reset responder's pure parts: the reply to SYNs and to segments of open connections
 * (ACK, data, FIN) field by field (checksums recomputed here, and two replies compared byte for
 * byte with frames computed outside C), every kind of frame that must not be answered (resets
 * above all), and the BPF filter run by a small classic-BPF interpreter on the same frames, so
 * that the filter and the builder are seen to agree. Also the responder's argument checks on a
 * real loop, and (as root) its life cycle over a veth pair in a network namespace private to
 * the test process: answer a SYN, data and a FIN but not a reset, re-arm, link down and up,
 * stop, the window's end, close while running.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netops/tcpreset.h"

/* Room for a segment merged by GRO, longer than one Ethernet frame. */
#define FRAME_MAX 4096

static const uint8_t our_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x0a, 0x01};
static const uint8_t client_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x0c, 0xfe};
#define VIP_TEXT    "10.77.1.100"
#define CLIENT_TEXT "10.77.1.254"
#define CLIENT_PORT 45678
#define SERVER_PORT 3306
#define SYN_SEQ     0x89abcdefu
#define PEER_ACK    0x01234567u /* the client's acknowledgment number: our RCV.NXT */
#define TCP_FIN     0x01
#define TCP_SYN     0x02
#define TCP_RST     0x04
#define TCP_PSH     0x08
#define TCP_ACK     0x10

/* What the hand-made frame looks like; tests change one thing at a time. */
struct syn {
    uint8_t dst_mac[6];
    uint8_t src_mac[6];
    uint16_t ethertype;
    unsigned ihl;      /* 32-bit words; > 5 adds NOP options */
    int total_length;  /* -1: computed */
    uint16_t fragment; /* flags and offset */
    uint8_t protocol;
    const char *source;
    const char *destination;
    unsigned data_offset; /* 32-bit words; > 5 adds NOP options */
    uint8_t flags;
    size_t payload; /* bytes of data after the TCP header */
    uint32_t seq;
    uint32_t ack; /* written whatever the flags, as a sender may leave garbage there */
    bool bad_ip_checksum;
};

static struct in_addr address(const char *text)
{
    struct in_addr a;
    ck_assert_int_eq(inet_pton(AF_INET, text, &a), 1);
    return a;
}

static struct syn good_syn(void)
{
    struct syn syn = {
        .ethertype = 0x0800,
        .ihl = 5,
        .total_length = -1,
        .fragment = 0x4000, /* DF, as Linux sends */
        .protocol = 6,
        .source = CLIENT_TEXT,
        .destination = VIP_TEXT,
        .data_offset = 10, /* 20 bytes of options, as a Linux SYN has */
        .flags = TCP_SYN,
        .seq = SYN_SEQ,
        .ack = PEER_ACK,
    };
    memcpy(syn.dst_mac, our_mac, 6);
    memcpy(syn.src_mac, client_mac, 6);
    return syn;
}

/* Ones' complement sum written differently from the module's: 64-bit accumulator, bytes
 * paired by hand, folded once at the end. */
static uint16_t ones_sum(const uint8_t *p, size_t len, uint64_t start)
{
    uint64_t sum = start;
    for (size_t i = 0; i < len; i++) {
        sum += (i % 2 == 0) ? (uint64_t)p[i] * 256 : p[i];
    }
    while (sum > 0xffff) {
        sum = (sum >> 16) + (sum & 0xffff);
    }
    return (uint16_t)sum;
}

static size_t make_frame(const struct syn *syn, uint8_t *frame)
{
    size_t ip_size = syn->ihl * 4;
    size_t tcp_size = syn->data_offset * 4;
    size_t total = ip_size + tcp_size + syn->payload;
    uint8_t *ip = frame + 14;
    uint8_t *tcp = ip + ip_size;
    struct in_addr source = address(syn->source);
    struct in_addr destination = address(syn->destination);

    memset(frame, 0, FRAME_MAX);
    memcpy(frame, syn->dst_mac, 6);
    memcpy(frame + 6, syn->src_mac, 6);
    frame[12] = (uint8_t)(syn->ethertype >> 8);
    frame[13] = (uint8_t)syn->ethertype;
    ip[0] = (uint8_t)(0x40 | (syn->ihl & 0x0f));
    uint16_t length = syn->total_length >= 0 ? (uint16_t)syn->total_length : (uint16_t)total;
    ip[2] = (uint8_t)(length >> 8);
    ip[3] = (uint8_t)length;
    ip[4] = 0x12;
    ip[5] = 0x34;
    ip[6] = (uint8_t)(syn->fragment >> 8);
    ip[7] = (uint8_t)syn->fragment;
    ip[8] = 64;
    ip[9] = syn->protocol;
    memcpy(ip + 12, &source, 4);
    memcpy(ip + 16, &destination, 4);
    for (size_t i = 20; i < ip_size; i++) {
        ip[i] = 0x01; /* NOP options */
    }
    uint16_t check = (uint16_t)~ones_sum(ip, ip_size < 20 ? 20 : ip_size, 0);
    if (syn->bad_ip_checksum) {
        check ^= 0x0101;
    }
    ip[10] = (uint8_t)(check >> 8);
    ip[11] = (uint8_t)check;
    tcp[0] = CLIENT_PORT >> 8;
    tcp[1] = CLIENT_PORT & 0xff;
    tcp[2] = SERVER_PORT >> 8;
    tcp[3] = SERVER_PORT & 0xff;
    tcp[4] = (uint8_t)(syn->seq >> 24);
    tcp[5] = (uint8_t)(syn->seq >> 16);
    tcp[6] = (uint8_t)(syn->seq >> 8);
    tcp[7] = (uint8_t)syn->seq;
    tcp[8] = (uint8_t)(syn->ack >> 24);
    tcp[9] = (uint8_t)(syn->ack >> 16);
    tcp[10] = (uint8_t)(syn->ack >> 8);
    tcp[11] = (uint8_t)syn->ack;
    tcp[12] = (uint8_t)((syn->data_offset & 0x0f) << 4);
    tcp[13] = syn->flags;
    tcp[14] = 0xfa;
    tcp[15] = 0xf0;
    tcp[16] = 0xde; /* the SYN's checksum is not checked (veth partial checksums) */
    tcp[17] = 0xad;
    for (size_t i = 20; i < tcp_size; i++) {
        tcp[i] = 0x01;
    }
    for (size_t i = 0; i < syn->payload; i++) {
        tcp[tcp_size + i] = (uint8_t)('a' + i % 26);
    }
    return 14 + total;
}

static size_t reply_to(const uint8_t *frame, size_t len, uint8_t *out, size_t outlen)
{
    return tcpreset_build_reply(frame, len, address(VIP_TEXT), our_mac, out, outlen);
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)get16(p) << 16 | get16(p + 2);
}

/* Every field of a reset with sequence @want_seq, acknowledgment @want_ack and @want_flags. */
static void check_reset(const uint8_t *reply, size_t n, uint32_t want_seq, uint32_t want_ack,
                        uint8_t want_flags)
{
    struct in_addr vip = address(VIP_TEXT);
    struct in_addr client = address(CLIENT_TEXT);
    const uint8_t *ip = reply + 14;
    const uint8_t *tcp = ip + 20;

    ck_assert_uint_eq(n, TCPRESET_REPLY_SIZE);
    ck_assert_mem_eq(reply, client_mac, 6);
    ck_assert_mem_eq(reply + 6, our_mac, 6);
    ck_assert_uint_eq(get16(reply + 12), 0x0800);

    ck_assert_uint_eq(ip[0], 0x45);
    ck_assert_uint_eq(ip[1], 0);
    ck_assert_uint_eq(get16(ip + 2), 40);
    ck_assert_uint_eq(get16(ip + 4), 0);
    ck_assert_uint_eq(get16(ip + 6), 0x4000); /* DF, offset 0 */
    ck_assert_uint_eq(ip[8], 64);
    ck_assert_uint_eq(ip[9], 6);
    ck_assert_mem_eq(ip + 12, &vip, 4);
    ck_assert_mem_eq(ip + 16, &client, 4);
    ck_assert_uint_ne(get16(ip + 10), 0);
    ck_assert_uint_eq(ones_sum(ip, 20, 0), 0xffff); /* a correct header sums to all ones */

    ck_assert_uint_eq(get16(tcp), SERVER_PORT);
    ck_assert_uint_eq(get16(tcp + 2), CLIENT_PORT);
    ck_assert_uint_eq(get32(tcp + 4), want_seq);
    ck_assert_uint_eq(get32(tcp + 8), want_ack);
    ck_assert_uint_eq(tcp[12], 0x50);
    ck_assert_uint_eq(tcp[13], want_flags);
    ck_assert_uint_eq(get16(tcp + 14), 0);
    ck_assert_uint_eq(get16(tcp + 18), 0);
    /* pseudo-header: source, destination, zero, protocol 6, TCP length 20 */
    uint8_t pseudo[12];
    memcpy(pseudo, ip + 12, 8);
    pseudo[8] = 0;
    pseudo[9] = 6;
    pseudo[10] = 0;
    pseudo[11] = 20;
    ck_assert_uint_eq(ones_sum(tcp, 20, ones_sum(pseudo, sizeof pseudo, 0)), 0xffff);
}

/* The reply to a SYN with sequence @seq and @payload bytes of data: RST|ACK acknowledging it. */
static void check_reply(const uint8_t *reply, size_t n, uint32_t seq, size_t payload)
{
    check_reset(reply, n, 0, (uint32_t)(seq + 1 + payload), TCP_RST | TCP_ACK);
}

START_TEST(test_reply_to_syn)
{
    struct syn syn = good_syn();
    uint8_t frame[FRAME_MAX];
    uint8_t reply[TCPRESET_REPLY_SIZE];
    size_t len = make_frame(&syn, frame);
    uint8_t copy[FRAME_MAX];

    memcpy(copy, frame, sizeof copy);
    check_reply(reply, reply_to(frame, len, reply, sizeof reply), SYN_SEQ, 0);
    ck_assert_mem_eq(frame, copy, sizeof copy); /* input only read */

    /* The same reply computed outside C (Python's struct and its own checksum code). */
    static const uint8_t expected[TCPRESET_REPLY_SIZE] = {
        0x02, 0x00, 0x00, 0x00, 0x0c, 0xfe, 0x02, 0x00, 0x00, 0x00, 0x0a, 0x01, 0x08, 0x00,
        0x45, 0x00, 0x00, 0x28, 0x00, 0x00, 0x40, 0x00, 0x40, 0x06, 0x22, 0xd5, 0x0a, 0x4d,
        0x01, 0x64, 0x0a, 0x4d, 0x01, 0xfe, 0x0c, 0xea, 0xb2, 0x6e, 0x00, 0x00, 0x00, 0x00,
        0x89, 0xab, 0xcd, 0xf0, 0x50, 0x14, 0x00, 0x00, 0x80, 0xe0, 0x00, 0x00};
    ck_assert_mem_eq(reply, expected, sizeof expected);
}
END_TEST

START_TEST(test_reply_variants)
{
    uint8_t frame[FRAME_MAX];
    uint8_t reply[TCPRESET_REPLY_SIZE + 10];
    struct syn syn = good_syn();
    size_t len;

    /* IP options: the TCP header is found after them (IHL 6, and the longest header, 15). */
    syn.ihl = 6;
    len = make_frame(&syn, frame);
    check_reply(reply, reply_to(frame, len, reply, sizeof reply), SYN_SEQ, 0);
    syn.ihl = 15;
    len = make_frame(&syn, frame);
    check_reply(reply, reply_to(frame, len, reply, sizeof reply), SYN_SEQ, 0);

    /* The sequence number wraps. */
    syn = good_syn();
    syn.seq = 0xffffffffu;
    len = make_frame(&syn, frame);
    check_reply(reply, reply_to(frame, len, reply, sizeof reply), 0xffffffffu, 0);
    ck_assert_uint_eq(get32(reply + 14 + 20 + 8), 0);

    /* A bare SYN (no TCP options) padded to the 60-byte Ethernet minimum: padding is no data. */
    syn = good_syn();
    syn.data_offset = 5;
    len = make_frame(&syn, frame);
    ck_assert_uint_eq(len, 54);
    check_reply(reply, reply_to(frame, 60, reply, sizeof reply), SYN_SEQ, 0);

    /* Data on the SYN (TCP Fast Open) is acknowledged too: SEG.LEN counts it. */
    syn = good_syn();
    syn.payload = 17;
    len = make_frame(&syn, frame);
    check_reply(reply, reply_to(frame, len, reply, sizeof reply), SYN_SEQ, 17);

    /* Flags that do not matter: ECN setup (ECE|CWR), PSH, URG. */
    syn = good_syn();
    syn.flags = 0x02 | 0x40 | 0x80 | 0x08 | 0x20;
    len = make_frame(&syn, frame);
    check_reply(reply, reply_to(frame, len, reply, sizeof reply), SYN_SEQ, 0);

    /* A fragment's DF bit alone is not fragmentation. */
    syn = good_syn();
    syn.fragment = 0;
    len = make_frame(&syn, frame);
    check_reply(reply, reply_to(frame, len, reply, sizeof reply), SYN_SEQ, 0);
}
END_TEST

/* Segments that are not connection attempts, each with the reset RFC 9293 3.10.7.1 asks for. */
struct answer {
    const char *what;
    void (*change)(struct syn *syn);
    uint32_t want_seq;
    uint32_t want_ack;
    uint8_t want_flags;
};

static void set_bare_ack(struct syn *s)
{
    s->flags = TCP_ACK;
    s->data_offset = 8; /* timestamps, as Linux sends on an open connection */
}
static void set_data(struct syn *s)
{
    s->flags = TCP_PSH | TCP_ACK;
    s->data_offset = 8;
    s->payload = 100;
}
static void set_gro_data(struct syn *s)
{
    s->flags = TCP_ACK;
    s->data_offset = 8;
    s->payload = 3000; /* two segments merged by GRO: longer than an Ethernet frame */
}
static void set_fin_ack(struct syn *s)
{
    s->flags = TCP_FIN | TCP_ACK;
    s->data_offset = 8;
}
static void set_data_fin_ack(struct syn *s)
{
    s->flags = TCP_FIN | TCP_PSH | TCP_ACK;
    s->payload = 9;
}
static void set_syn_ack(struct syn *s)
{
    s->flags = TCP_SYN | TCP_ACK;
}
static void set_ack_on_syn_options(struct syn *s)
{
    s->flags = TCP_ACK;
    s->ihl = 15;
    s->data_offset = 15;
}
static void set_fin(struct syn *s)
{
    s->flags = TCP_FIN;
    s->data_offset = 5;
}
static void set_data_fin(struct syn *s)
{
    s->flags = TCP_FIN | TCP_PSH;
    s->payload = 10;
}
static void set_no_flags(struct syn *s)
{
    s->flags = 0;
}
static void set_no_flags_data(struct syn *s)
{
    s->flags = 0;
    s->payload = 5;
}
static void set_syn_fin(struct syn *s)
{
    s->flags = TCP_SYN | TCP_FIN;
}
static void set_fin_wraps(struct syn *s)
{
    s->flags = TCP_FIN;
    s->seq = 0xfffffffeu;
    s->payload = 3;
}

static const struct answer answers[] = {
    {"ACK", set_bare_ack, PEER_ACK, 0, TCP_RST},
    {"PSH|ACK with 100 bytes", set_data, PEER_ACK, 0, TCP_RST},
    {"ACK with 3000 bytes (GRO)", set_gro_data, PEER_ACK, 0, TCP_RST},
    {"FIN|ACK", set_fin_ack, PEER_ACK, 0, TCP_RST},
    {"FIN|PSH|ACK with 9 bytes", set_data_fin_ack, PEER_ACK, 0, TCP_RST},
    {"SYN|ACK", set_syn_ack, PEER_ACK, 0, TCP_RST},
    {"ACK with 60-byte IP and TCP headers", set_ack_on_syn_options, PEER_ACK, 0, TCP_RST},
    {"FIN", set_fin, 0, SYN_SEQ + 1, TCP_RST | TCP_ACK},
    {"FIN|PSH with 10 bytes", set_data_fin, 0, SYN_SEQ + 10 + 1, TCP_RST | TCP_ACK},
    {"no flags", set_no_flags, 0, SYN_SEQ, TCP_RST | TCP_ACK},
    {"no flags with 5 bytes", set_no_flags_data, 0, SYN_SEQ + 5, TCP_RST | TCP_ACK},
    {"SYN|FIN", set_syn_fin, 0, SYN_SEQ + 2, TCP_RST | TCP_ACK},
    {"FIN with 3 bytes, sequence wraps", set_fin_wraps, 0, 2, TCP_RST | TCP_ACK},
};
#define ANSWER_COUNT ((int)(sizeof answers / sizeof answers[0]))

START_TEST(test_reply_to_segment)
{
    const struct answer *answer = &answers[_i];
    struct syn syn = good_syn();
    uint8_t frame[FRAME_MAX];
    uint8_t copy[FRAME_MAX];
    uint8_t reply[TCPRESET_REPLY_SIZE];
    size_t len;
    size_t n;

    answer->change(&syn);
    len = make_frame(&syn, frame);
    memcpy(copy, frame, sizeof copy);
    n = reply_to(frame, len, reply, sizeof reply);
    ck_assert_msg(n == TCPRESET_REPLY_SIZE, "%s: not answered", answer->what);
    check_reset(reply, n, answer->want_seq, answer->want_ack, answer->want_flags);
    ck_assert_mem_eq(frame, copy, sizeof copy);
}
END_TEST

START_TEST(test_reply_to_ack)
{
    struct syn syn = good_syn();
    uint8_t frame[FRAME_MAX];
    uint8_t reply[TCPRESET_REPLY_SIZE];
    size_t len;

    /* A bare ACK, padded to the Ethernet minimum, computed outside C (Python): RST at the
     * client's acknowledgment number, no ACK flag, acknowledgment field 0. */
    syn.flags = TCP_ACK;
    syn.data_offset = 5;
    len = make_frame(&syn, frame);
    ck_assert_uint_eq(len, 54);
    static const uint8_t expected[TCPRESET_REPLY_SIZE] = {
        0x02, 0x00, 0x00, 0x00, 0x0c, 0xfe, 0x02, 0x00, 0x00, 0x00, 0x0a, 0x01, 0x08, 0x00,
        0x45, 0x00, 0x00, 0x28, 0x00, 0x00, 0x40, 0x00, 0x40, 0x06, 0x22, 0xd5, 0x0a, 0x4d,
        0x01, 0x64, 0x0a, 0x4d, 0x01, 0xfe, 0x0c, 0xea, 0xb2, 0x6e, 0x01, 0x23, 0x45, 0x67,
        0x00, 0x00, 0x00, 0x00, 0x50, 0x04, 0x00, 0x00, 0x92, 0x02, 0x00, 0x00};
    ck_assert_uint_eq(reply_to(frame, 60, reply, sizeof reply), TCPRESET_REPLY_SIZE);
    ck_assert_mem_eq(reply, expected, sizeof expected);

    /* The reply to an ACK does not depend on the payload or on the sequence number. */
    syn.payload = 1000;
    syn.seq = 7;
    len = make_frame(&syn, frame);
    ck_assert_uint_eq(reply_to(frame, len, reply, sizeof reply), TCPRESET_REPLY_SIZE);
    ck_assert_mem_eq(reply, expected, sizeof expected);

    /* Still strict about the length: a data segment whose IPv4 total length says more than
     * the frame holds is refused even though the reply would not need the payload. */
    ck_assert_uint_eq(reply_to(frame, len - 1, reply, sizeof reply), 0);
}
END_TEST

struct refusal {
    const char *what;
    void (*change)(struct syn *syn);
};

static void set_rst(struct syn *s)
{
    s->flags = TCP_RST;
}
static void set_rst_ack(struct syn *s)
{
    s->flags = TCP_RST | TCP_ACK;
}
static void set_rst_ack_data(struct syn *s)
{
    s->flags = TCP_RST | TCP_PSH | TCP_ACK;
    s->payload = 10;
}
static void set_syn_rst(struct syn *s)
{
    s->flags = TCP_SYN | TCP_RST;
}
static void set_fin_rst(struct syn *s)
{
    s->flags = TCP_FIN | TCP_RST;
}
static void set_all_flags(struct syn *s)
{
    s->flags = 0xff;
}
static void set_other_destination(struct syn *s)
{
    s->destination = "10.77.1.101";
}
static void set_udp(struct syn *s)
{
    s->protocol = 17;
}
static void set_icmp(struct syn *s)
{
    s->protocol = 1;
}
static void set_arp(struct syn *s)
{
    s->ethertype = 0x0806;
}
static void set_ipv6(struct syn *s)
{
    s->ethertype = 0x86dd;
}
static void set_vlan(struct syn *s)
{
    s->ethertype = 0x8100;
}
static void set_ihl_4(struct syn *s)
{
    s->ihl = 4;
}
static void set_ihl_0(struct syn *s)
{
    s->ihl = 0;
}
static void set_more_fragments(struct syn *s)
{
    s->fragment = 0x2000;
}
static void set_fragment_offset(struct syn *s)
{
    s->fragment = 0x0001;
}
static void set_fragment_offset_df(struct syn *s)
{
    s->fragment = 0x4000 | 0x00b9;
}
static void set_bad_ip_checksum(struct syn *s)
{
    s->bad_ip_checksum = true;
}
static void set_broadcast_mac(struct syn *s)
{
    memset(s->dst_mac, 0xff, 6);
}
static void set_other_host_mac(struct syn *s)
{
    s->dst_mac[5] ^= 0x10;
}
static void set_multicast_source_mac(struct syn *s)
{
    s->src_mac[0] |= 0x01;
}
static void set_zero_source_mac(struct syn *s)
{
    memset(s->src_mac, 0, 6);
}
static void set_source_zero(struct syn *s)
{
    s->source = "0.0.0.0";
}
static void set_source_this_network(struct syn *s)
{
    s->source = "0.1.2.3";
}
static void set_source_loopback(struct syn *s)
{
    s->source = "127.0.0.1";
}
static void set_source_multicast(struct syn *s)
{
    s->source = "224.0.0.18";
}
static void set_source_reserved(struct syn *s)
{
    s->source = "240.1.2.3";
}
static void set_source_broadcast(struct syn *s)
{
    s->source = "255.255.255.255";
}
static void set_source_vip(struct syn *s)
{
    s->source = VIP_TEXT;
}
static void set_data_offset_4(struct syn *s)
{
    s->data_offset = 4;
}
static void set_data_offset_beyond(struct syn *s)
{
    s->total_length = 20 + 20; /* the IPv4 packet ends inside the 40-byte TCP header */
}
static void set_total_length_short(struct syn *s)
{
    s->total_length = 20 + 19;
}
static void set_total_length_below_header(struct syn *s)
{
    s->total_length = 10;
}
static void set_total_length_beyond(struct syn *s)
{
    s->total_length = 20 + 40 + 1;
}

static const struct refusal refusals[] = {
    {"RST", set_rst},
    {"RST+ACK", set_rst_ack},
    {"RST+PSH+ACK with data", set_rst_ack_data},
    {"SYN+RST", set_syn_rst},
    {"FIN+RST", set_fin_rst},
    {"every flag", set_all_flags},
    {"another destination", set_other_destination},
    {"UDP", set_udp},
    {"ICMP", set_icmp},
    {"ARP EtherType", set_arp},
    {"IPv6 EtherType", set_ipv6},
    {"VLAN tag", set_vlan},
    {"IHL 4", set_ihl_4},
    {"IHL 0", set_ihl_0},
    {"more fragments", set_more_fragments},
    {"fragment offset", set_fragment_offset},
    {"fragment offset with DF", set_fragment_offset_df},
    {"bad IPv4 checksum", set_bad_ip_checksum},
    {"broadcast destination MAC", set_broadcast_mac},
    {"another host's MAC", set_other_host_mac},
    {"multicast source MAC", set_multicast_source_mac},
    {"zero source MAC", set_zero_source_mac},
    {"source 0.0.0.0", set_source_zero},
    {"source in 0/8", set_source_this_network},
    {"loopback source", set_source_loopback},
    {"multicast source", set_source_multicast},
    {"reserved source", set_source_reserved},
    {"broadcast source", set_source_broadcast},
    {"source is the VIP", set_source_vip},
    {"TCP data offset 4", set_data_offset_4},
    {"TCP header beyond the IPv4 packet", set_data_offset_beyond},
    {"total length shorter than the headers", set_total_length_short},
    {"total length shorter than the IPv4 header", set_total_length_below_header},
    {"total length beyond the frame", set_total_length_beyond},
};
#define REFUSAL_COUNT ((int)(sizeof refusals / sizeof refusals[0]))

START_TEST(test_refused)
{
    const struct refusal *refusal = &refusals[_i];
    struct syn syn = good_syn();
    uint8_t frame[FRAME_MAX];
    uint8_t reply[TCPRESET_REPLY_SIZE];
    size_t len;

    refusal->change(&syn);
    len = make_frame(&syn, frame);
    memset(reply, 0xaa, sizeof reply);
    ck_assert_msg(reply_to(frame, len, reply, sizeof reply) == 0, "answered: %s", refusal->what);
    for (size_t i = 0; i < sizeof reply; i++) {
        ck_assert_msg(reply[i] == 0xaa, "%s: wrote into the reply buffer", refusal->what);
    }
}
END_TEST

START_TEST(test_refused_truncated)
{
    const unsigned ihls[] = {5, 6, 5, 6};
    uint8_t frame[FRAME_MAX];
    uint8_t reply[TCPRESET_REPLY_SIZE];

    /* A SYN, then a data segment of an open connection (its reply needs no payload length,
     * but a frame cut short is still refused). */
    for (size_t k = 0; k < sizeof ihls / sizeof ihls[0]; k++) {
        struct syn syn = good_syn();
        syn.ihl = ihls[k];
        if (k >= 2) {
            set_data(&syn);
        }
        size_t full = make_frame(&syn, frame);
        ck_assert_uint_eq(reply_to(frame, full, reply, sizeof reply), TCPRESET_REPLY_SIZE);
        for (size_t len = 0; len < full; len++) {
            ck_assert_msg(reply_to(frame, len, reply, sizeof reply) == 0,
                          "answered a frame truncated to %zu of %zu bytes (IHL %u)", len, full,
                          ihls[k]);
        }
    }
}
END_TEST

START_TEST(test_refused_odd_calls)
{
    struct syn syn = good_syn();
    uint8_t frame[FRAME_MAX];
    uint8_t reply[TCPRESET_REPLY_SIZE];
    size_t len;

    /* IHL 15 (60 bytes of header) in a frame that ends before it. */
    syn.ihl = 15;
    syn.data_offset = 5;
    len = make_frame(&syn, frame);
    ck_assert_uint_eq(reply_to(frame, 14 + 50, reply, sizeof reply), 0);
    ck_assert_uint_eq(reply_to(frame, len, reply, sizeof reply), TCPRESET_REPLY_SIZE);

    /* The reply buffer too small, and absent inputs. */
    syn = good_syn();
    len = make_frame(&syn, frame);
    ck_assert_uint_eq(reply_to(frame, len, reply, TCPRESET_REPLY_SIZE - 1), 0);
    ck_assert_uint_eq(reply_to(NULL, len, reply, sizeof reply), 0);
    ck_assert_uint_eq(reply_to(frame, len, NULL, sizeof reply), 0);

    /* IP version 6 behind an IPv4 EtherType. */
    frame[14] = (uint8_t)(0x60 | (frame[14] & 0x0f));
    ck_assert_uint_eq(reply_to(frame, len, reply, sizeof reply), 0);
}
END_TEST

/* A classic BPF interpreter for what tcpreset_filter_program() may use; anything else fails
 * the test. Returns the accepted length (0: dropped). */
static uint32_t run_filter(const struct sock_filter *program, size_t count, const uint8_t *frame,
                           size_t len, uint32_t packet_type)
{
    uint32_t a = 0;
    uint32_t x = 0;
    size_t pc = 0;

    while (pc < count) {
        const struct sock_filter *in = &program[pc++];
        uint32_t at;
        switch (in->code) {
        case BPF_LD | BPF_W | BPF_ABS:
            if (in->k == (uint32_t)(SKF_AD_OFF + SKF_AD_PKTTYPE)) {
                a = packet_type;
                break;
            }
            if (in->k + 4 > len) {
                return 0;
            }
            a = get32(frame + in->k);
            break;
        case BPF_LD | BPF_H | BPF_ABS:
            if (in->k + 2 > len) {
                return 0;
            }
            a = get16(frame + in->k);
            break;
        case BPF_LD | BPF_B | BPF_ABS:
            if (in->k + 1 > len) {
                return 0;
            }
            a = frame[in->k];
            break;
        case BPF_LD | BPF_B | BPF_IND:
            at = x + in->k;
            if (at + 1 > len) {
                return 0;
            }
            a = frame[at];
            break;
        case BPF_LDX | BPF_B | BPF_MSH:
            if (in->k + 1 > len) {
                return 0;
            }
            x = (uint32_t)(frame[in->k] & 0x0f) * 4;
            break;
        case BPF_ALU | BPF_AND | BPF_K:
            a &= in->k;
            break;
        case BPF_JMP | BPF_JEQ | BPF_K:
            pc += a == in->k ? in->jt : in->jf;
            break;
        case BPF_JMP | BPF_JSET | BPF_K:
            pc += (a & in->k) != 0 ? in->jt : in->jf;
            break;
        case BPF_RET | BPF_K:
            return in->k;
        default:
            ck_abort_msg("filter uses opcode 0x%x at %zu", in->code, pc - 1);
        }
    }
    ck_abort_msg("filter runs off its end");
    return 0;
}

static uint32_t filter(const uint8_t *frame, size_t len, uint32_t packet_type)
{
    struct sock_filter program[TCPRESET_FILTER_LENGTH];

    tcpreset_filter_program(program, address(VIP_TEXT));
    return run_filter(program, TCPRESET_FILTER_LENGTH, frame, len, packet_type);
}

static const struct refusal *find_refusal(const char *what)
{
    for (int i = 0; i < REFUSAL_COUNT; i++) {
        if (strcmp(refusals[i].what, what) == 0) {
            return &refusals[i];
        }
    }
    return NULL;
}

START_TEST(test_filter_agrees)
{
    uint8_t frame[FRAME_MAX];
    uint8_t reply[TCPRESET_REPLY_SIZE];
    struct syn syn = good_syn();
    size_t len;

    len = make_frame(&syn, frame);
    ck_assert_uint_ge(filter(frame, len, PACKET_HOST), len);
    ck_assert_uint_eq(filter(frame, len, PACKET_OTHERHOST), 0);
    ck_assert_uint_eq(filter(frame, len, PACKET_BROADCAST), 0);
    ck_assert_uint_eq(filter(frame, len, PACKET_MULTICAST), 0);
    ck_assert_uint_eq(filter(frame, len, PACKET_OUTGOING), 0);
    syn.ihl = 6;
    len = make_frame(&syn, frame);
    ck_assert_uint_ge(filter(frame, len, PACKET_HOST), len);
    syn.ihl = 15;
    len = make_frame(&syn, frame);
    ck_assert_uint_ge(filter(frame, len, PACKET_HOST), len);

    /* Every segment the builder answers passes whole: the builder needs all of it to check
     * the total length (the GRO-sized one included); only to our MAC. */
    for (int i = 0; i < ANSWER_COUNT; i++) {
        syn = good_syn();
        answers[i].change(&syn);
        len = make_frame(&syn, frame);
        ck_assert_msg(reply_to(frame, len, reply, sizeof reply) == TCPRESET_REPLY_SIZE,
                      "%s: not answered", answers[i].what);
        ck_assert_msg(filter(frame, len, PACKET_HOST) >= len, "filter drops or cuts: %s",
                      answers[i].what);
        ck_assert_msg(filter(frame, len, PACKET_OTHERHOST) == 0, "filter passes another's: %s",
                      answers[i].what);
    }

    /* Whatever the filter drops, the builder refuses too (the filter may pass more). */
    for (int i = 0; i < REFUSAL_COUNT; i++) {
        syn = good_syn();
        refusals[i].change(&syn);
        len = make_frame(&syn, frame);
        if (filter(frame, len, PACKET_HOST) == 0) {
            ck_assert_msg(reply_to(frame, len, reply, sizeof reply) == 0,
                          "%s: filter drops it but the builder answers", refusals[i].what);
        }
    }
    /* And it drops what it must, so that the loop is not woken: every reset, other addresses,
     * other protocols, fragments. */
    static const char *const must_drop[] = {
        "RST",
        "RST+ACK",
        "RST+PSH+ACK with data",
        "SYN+RST",
        "FIN+RST",
        "every flag",
        "another destination",
        "UDP",
        "ICMP",
        "ARP EtherType",
        "IPv6 EtherType",
        "VLAN tag",
        "more fragments",
        "fragment offset",
        "fragment offset with DF",
    };
    for (size_t m = 0; m < sizeof must_drop / sizeof must_drop[0]; m++) {
        const struct refusal *refusal = find_refusal(must_drop[m]);
        ck_assert_ptr_nonnull(refusal);
        syn = good_syn();
        refusal->change(&syn);
        len = make_frame(&syn, frame);
        ck_assert_msg(filter(frame, len, PACKET_HOST) == 0, "filter passes: %s", must_drop[m]);
    }
    /* Truncated frames never make the filter read out of bounds (the interpreter drops). */
    syn = good_syn();
    len = make_frame(&syn, frame);
    for (size_t cut = 0; cut < 14 + 20 + 14; cut++) {
        ck_assert_uint_eq(filter(frame, cut, PACKET_HOST), 0);
    }
}
END_TEST

/* --- the responder on a loop, without root: argument checks and the life cycle --- */

static int closes;

static void on_closed(struct tcpreset *responder)
{
    (void)responder;
    closes++;
}

START_TEST(test_responder_arguments)
{
    struct tcpreset responder;
    char errmsg[TCPRESET_ERRMSG_SIZE];
    uv_loop_t loop;

    ck_assert_int_eq(uv_loop_init(&loop), 0);
    ck_assert_int_eq(tcpreset_init(&responder, &loop, errmsg, sizeof errmsg), 0);
    ck_assert(!tcpreset_running(&responder));
    ck_assert_uint_eq(tcpreset_sent(&responder), 0);
    ck_assert_uint_eq(tcpreset_failed(&responder), 0);

    ck_assert_int_eq(
        tcpreset_start(&responder, "", address(VIP_TEXT), 1000, NULL, errmsg, sizeof errmsg),
        -EINVAL);
    ck_assert_ptr_nonnull(strstr(errmsg, "bad interface name"));
    ck_assert_ptr_nonnull(strstr(errmsg, VIP_TEXT));
    ck_assert_int_eq(tcpreset_start(&responder, "a-name-too-long-0", address(VIP_TEXT), 1000, NULL,
                                    errmsg, sizeof errmsg),
                     -EINVAL);
    ck_assert_int_eq(
        tcpreset_start(&responder, "eth0", address(VIP_TEXT), 0, NULL, errmsg, sizeof errmsg),
        -EINVAL);
    ck_assert_ptr_nonnull(strstr(errmsg, "duration 0 ms is out of range"));
    ck_assert_int_eq(tcpreset_start(&responder, "eth0", address(VIP_TEXT),
                                    TCPRESET_MAX_DURATION_MS + 1, NULL, errmsg, sizeof errmsg),
                     -EINVAL);
    /* As root: no such interface; otherwise: no CAP_NET_RAW. Either way a clear message. */
    int rv =
        tcpreset_start(&responder, "nosuch0", address(VIP_TEXT), 1000, NULL, errmsg, sizeof errmsg);
    ck_assert_msg(rv == -ENODEV || rv == -EPERM, "rv %d: %s", rv, errmsg);
    ck_assert_ptr_nonnull(strstr(errmsg, "nosuch0"));
    ck_assert_ptr_nonnull(strstr(errmsg, VIP_TEXT));
    ck_assert(!tcpreset_running(&responder));

    tcpreset_stop(&responder);
    tcpreset_stop(&responder);
    closes = 0;
    tcpreset_close(&responder, on_closed);
    ck_assert_int_eq(closes, 0); /* on the loop, not inside close */
    ck_assert_int_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
    ck_assert_int_eq(closes, 1);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

static int done_calls;
static int done_status;

static void on_done(struct tcpreset *responder, int status, const char *errmsg)
{
    (void)responder;
    (void)errmsg;
    done_calls++;
    done_status = status;
}

/* Not Ethernet ("lo") as root, or no CAP_NET_RAW: refused with a message, nothing running. */
START_TEST(test_responder_refused)
{
    struct tcpreset responder;
    char errmsg[TCPRESET_ERRMSG_SIZE];
    uv_loop_t loop;
    int rv;

    ck_assert_int_eq(uv_loop_init(&loop), 0);
    ck_assert_int_eq(tcpreset_init(&responder, &loop, errmsg, sizeof errmsg), 0);
    rv = tcpreset_start(&responder, "lo", address(VIP_TEXT), 50, on_done, errmsg, sizeof errmsg);
    ck_assert_msg(rv == -EOPNOTSUPP || rv == -EPERM, "rv %d: %s", rv, errmsg);
    if (rv == -EOPNOTSUPP) {
        ck_assert_ptr_nonnull(strstr(errmsg, "not an Ethernet interface"));
    } else {
        ck_assert_ptr_nonnull(strstr(errmsg, "CAP_NET_RAW"));
    }
    ck_assert(!tcpreset_running(&responder));
    closes = 0;
    done_calls = 0;
    tcpreset_close(&responder, on_closed);
    ck_assert_int_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
    ck_assert_int_eq(done_calls, 0);
    ck_assert_int_eq(closes, 1);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

/* --- round trips over a veth pair in a private network namespace (root only) --- */

#define RESPONDER_IF "rst0"
#define CLIENT_IF    "rst1"
#define VIP2_TEXT    "10.77.1.101"

/* Move this test's process into a network namespace of its own with a veth pair whose MACs
 * are our_mac (the responder's side) and client_mac. False when that is not possible. */
static bool private_veth(void)
{
    if (geteuid() != 0 || unshare(CLONE_NEWNET) != 0) {
        return false;
    }
    return system("ip link add " RESPONDER_IF
                  " address 02:00:00:00:0a:01 type veth peer name " CLIENT_IF
                  " address 02:00:00:00:0c:fe && ip link set " RESPONDER_IF
                  " up && ip link set " CLIENT_IF " up") == 0;
}

static int client_socket(void)
{
    struct sockaddr_ll where = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP)};
    int one = 1;
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_IP));

    ck_assert_int_ge(fd, 0);
    where.sll_ifindex = (int)if_nametoindex(CLIENT_IF);
    ck_assert_int_gt(where.sll_ifindex, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&where, sizeof where), 0);
    ck_assert_int_eq(setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one), 0);
    return fd;
}

/* Send the SYN good_syn() describes, to @destination, changed by @change when not NULL. */
static void send_segment(int fd, const char *destination, void (*change)(struct syn *syn))
{
    struct syn syn = good_syn();
    uint8_t frame[FRAME_MAX];
    size_t len;

    if (change != NULL) {
        change(&syn);
    }
    syn.destination = destination;
    len = make_frame(&syn, frame);
    ck_assert_int_eq(send(fd, frame, len, 0), (ssize_t)len);
}

static void send_syn(int fd, const char *destination)
{
    send_segment(fd, destination, NULL);
}

/* Run the loop for up to @ms, returning the first IPv4 TCP frame the client receives (its
 * length, or 0 when none came). */
static size_t pump(uv_loop_t *loop, int fd, uint8_t *buffer, size_t size, int ms)
{
    for (int waited = 0; waited <= ms; waited += 5) {
        uv_run(loop, UV_RUN_NOWAIT);
        ssize_t n = recv(fd, buffer, size, MSG_DONTWAIT);
        if (n >= 14 + 20 && get16(buffer + 12) == 0x0800 && buffer[14 + 9] == 6) {
            return (size_t)n;
        }
        if (n < 0) {
            usleep(5000);
        }
    }
    return 0;
}

START_TEST(test_responder_round_trip)
{
    struct tcpreset responder;
    char errmsg[TCPRESET_ERRMSG_SIZE];
    uint8_t buffer[2048];
    struct in_addr vip2 = address(VIP2_TEXT);
    uv_loop_t loop;
    size_t n;
    int fd;

    if (!private_veth()) {
        printf("test_responder_round_trip: skipped (needs root, unshare and ip)\n");
        return;
    }
    fd = client_socket();
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    ck_assert_int_eq(tcpreset_init(&responder, &loop, errmsg, sizeof errmsg), 0);
    done_calls = 0;
    closes = 0;

    /* A SYN to the VIP gets exactly the reply the builder promises, on the wire. */
    ck_assert_msg(tcpreset_start(&responder, RESPONDER_IF, address(VIP_TEXT), 10000, on_done,
                                 errmsg, sizeof errmsg) == 0,
                  "%s", errmsg);
    ck_assert(tcpreset_running(&responder));
    send_syn(fd, VIP_TEXT);
    n = pump(&loop, fd, buffer, sizeof buffer, 2000);
    check_reply(buffer, n, SYN_SEQ, 0);
    ck_assert_uint_eq(tcpreset_sent(&responder), 1);
    /* A data segment of an open connection too, and a FIN; a reset is never answered. */
    send_segment(fd, VIP_TEXT, set_data);
    n = pump(&loop, fd, buffer, sizeof buffer, 2000);
    check_reset(buffer, n, PEER_ACK, 0, TCP_RST);
    send_segment(fd, VIP_TEXT, set_fin);
    n = pump(&loop, fd, buffer, sizeof buffer, 2000);
    check_reset(buffer, n, 0, SYN_SEQ + 1, TCP_RST | TCP_ACK);
    send_segment(fd, VIP_TEXT, set_rst_ack);
    ck_assert_uint_eq(pump(&loop, fd, buffer, sizeof buffer, 200), 0);
    ck_assert_uint_eq(tcpreset_sent(&responder), 3);
    send_syn(fd, VIP2_TEXT);
    ck_assert_uint_eq(pump(&loop, fd, buffer, sizeof buffer, 200), 0);

    /* Re-armed for another VIP: the old one is no longer answered, the new one is. */
    ck_assert_int_eq(
        tcpreset_start(&responder, RESPONDER_IF, vip2, 10000, on_done, errmsg, sizeof errmsg), 0);
    send_syn(fd, VIP_TEXT);
    ck_assert_uint_eq(pump(&loop, fd, buffer, sizeof buffer, 200), 0);
    send_syn(fd, VIP2_TEXT);
    n = pump(&loop, fd, buffer, sizeof buffer, 2000);
    ck_assert_uint_eq(n, TCPRESET_REPLY_SIZE);
    ck_assert_mem_eq(buffer + 14 + 12, &vip2, 4);
    ck_assert_uint_eq(tcpreset_sent(&responder), 4);

    /* The link goes down and up inside the window: answered again once it is back. */
    ck_assert_int_eq(system("ip link set " RESPONDER_IF " down"), 0);
    ck_assert_uint_eq(pump(&loop, fd, buffer, sizeof buffer, 100), 0);
    ck_assert_int_eq(system("ip link set " RESPONDER_IF " up"), 0);
    n = 0;
    for (int attempt = 0; attempt < 20 && n == 0; attempt++) {
        send_syn(fd, VIP2_TEXT);
        n = pump(&loop, fd, buffer, sizeof buffer, 100);
    }
    ck_assert_uint_eq(n, TCPRESET_REPLY_SIZE);
    ck_assert(tcpreset_running(&responder));

    /* Stopped: silent, no callback. */
    tcpreset_stop(&responder);
    tcpreset_stop(&responder);
    ck_assert(!tcpreset_running(&responder));
    send_syn(fd, VIP2_TEXT);
    ck_assert_uint_eq(pump(&loop, fd, buffer, sizeof buffer, 200), 0);
    ck_assert_int_eq(done_calls, 0);

    /* A window ends by itself, with one callback, and then nothing is answered. */
    ck_assert_int_eq(tcpreset_start(&responder, RESPONDER_IF, address(VIP_TEXT), 50, on_done,
                                    errmsg, sizeof errmsg),
                     0);
    for (int waited = 0; waited < 2000 && done_calls == 0; waited += 5) {
        uv_run(&loop, UV_RUN_NOWAIT);
        usleep(5000);
    }
    ck_assert_int_eq(done_calls, 1);
    ck_assert_int_eq(done_status, 0);
    ck_assert(!tcpreset_running(&responder));
    send_syn(fd, VIP_TEXT);
    ck_assert_uint_eq(pump(&loop, fd, buffer, sizeof buffer, 200), 0);
    ck_assert_uint_eq(tcpreset_failed(&responder), 0);

    /* Closed while running: the close callback, no done callback, every handle gone. */
    ck_assert_int_eq(tcpreset_start(&responder, RESPONDER_IF, address(VIP_TEXT), 10000, on_done,
                                    errmsg, sizeof errmsg),
                     0);
    tcpreset_close(&responder, on_closed);
    ck_assert_int_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
    ck_assert_int_eq(closes, 1);
    ck_assert_int_eq(done_calls, 1);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
    close(fd);
}
END_TEST

static Suite *tcpreset_suite(void)
{
    Suite *suite = suite_create("tcpreset");
    TCase *build = tcase_create("build");
    TCase *filter_case = tcase_create("filter");
    TCase *responder = tcase_create("responder");

    tcase_add_test(build, test_reply_to_syn);
    tcase_add_test(build, test_reply_variants);
    tcase_add_loop_test(build, test_reply_to_segment, 0, ANSWER_COUNT);
    tcase_add_test(build, test_reply_to_ack);
    tcase_add_loop_test(build, test_refused, 0, REFUSAL_COUNT);
    tcase_add_test(build, test_refused_truncated);
    tcase_add_test(build, test_refused_odd_calls);
    tcase_add_test(filter_case, test_filter_agrees);
    tcase_add_test(responder, test_responder_arguments);
    tcase_add_test(responder, test_responder_refused);
    tcase_add_test(responder, test_responder_round_trip);
    suite_add_tcase(suite, build);
    suite_add_tcase(suite, filter_case);
    suite_add_tcase(suite, responder);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(tcpreset_suite());
    int failed;

    srunner_run_all(runner, CK_NORMAL);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? 0 : 1;
}
