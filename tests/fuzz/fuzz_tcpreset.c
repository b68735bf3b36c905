/*
 * Fuzz target for the TCP reset responder's frame decoder (netops/tcpreset.h), which reads
 * frames from the network as they arrive. The input is the frame itself. Whatever it is, the
 * builder must stay inside the frame and the reply buffer (the sanitizers watch), leave the
 * frame alone, and either refuse it or return a reply that answers exactly that frame: our MAC
 * to its sender, from the VIP to its source address and port, never to a reset, with both
 * checksums correct, and the reset RFC 9293 asks for: at the segment's acknowledgment number
 * when it has ACK set, else acknowledging its sequence plus its length (payload, SYN, FIN).
 * The BPF filter, run on the same bytes, must not drop or cut a frame the builder answers. A broken
 * promise aborts, which libFuzzer and the replay driver both report as a crash.
 */
#include "netops/tcpreset.h"

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "tests/fuzz/require.h"

static const uint8_t our_mac[TCPRESET_MAC_SIZE] = {0x02, 0x00, 0x00, 0x00, 0x0a, 0x01};

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static uint16_t ones_sum(const uint8_t *p, size_t len, uint64_t sum)
{
    for (size_t i = 0; i < len; i++) {
        sum += (i % 2 == 0) ? (uint64_t)p[i] << 8 : p[i];
    }
    while (sum > 0xffff) {
        sum = (sum >> 16) + (sum & 0xffff);
    }
    return (uint16_t)sum;
}

/* Enough of a classic BPF interpreter for the program tcpreset_filter_program() writes. */
static uint32_t run_filter(const struct sock_filter *program, const uint8_t *frame, size_t len)
{
    uint32_t a = 0;
    uint32_t x = 0;
    size_t pc = 0;

    while (pc < TCPRESET_FILTER_LENGTH) {
        const struct sock_filter *in = &program[pc++];
        size_t at = in->code == (BPF_LD | BPF_B | BPF_IND) ? (size_t)x + in->k : in->k;
        switch (in->code) {
        case BPF_LD | BPF_W | BPF_ABS:
            if (in->k == (uint32_t)(SKF_AD_OFF + SKF_AD_PKTTYPE)) {
                a = PACKET_HOST;
                break;
            }
            if (at + 4 > len) {
                return 0;
            }
            a = get32(frame + at);
            break;
        case BPF_LD | BPF_H | BPF_ABS:
            if (at + 2 > len) {
                return 0;
            }
            a = get16(frame + at);
            break;
        case BPF_LD | BPF_B | BPF_ABS:
        case BPF_LD | BPF_B | BPF_IND:
            if (at + 1 > len) {
                return 0;
            }
            a = frame[at];
            break;
        case BPF_LDX | BPF_B | BPF_MSH:
            if (at + 1 > len) {
                return 0;
            }
            x = (uint32_t)(frame[at] & 0x0f) * 4;
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
            REQUIRE(!"opcode the interpreter does not know");
        }
    }
    REQUIRE(!"filter runs off its end");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct in_addr vip;
    struct sock_filter program[TCPRESET_FILTER_LENGTH];
    uint8_t reply[TCPRESET_REPLY_SIZE + 1];
    uint8_t *frame;
    size_t n;

    /* The VIP is the destination the frame names when it is long enough, so that mutations
     * reach the deep checks; a fixed one otherwise. */
    vip.s_addr = htonl(0x0a4d0164);
    if (size >= 34) {
        memcpy(&vip.s_addr, data + 30, 4);
    }
    /* An exact-size heap copy: the sanitizers catch a read one byte past the frame. */
    frame = malloc(size > 0 ? size : 1);
    if (frame == NULL) {
        return 0;
    }
    memcpy(frame, data, size);
    memset(reply, 0x5a, sizeof reply);
    n = tcpreset_build_reply(frame, size, vip, our_mac, reply, TCPRESET_REPLY_SIZE);
    REQUIRE(memcmp(frame, data, size) == 0);
    REQUIRE(reply[TCPRESET_REPLY_SIZE] == 0x5a);
    tcpreset_filter_program(program, vip);
    if (n == 0) {
        for (size_t i = 0; i < TCPRESET_REPLY_SIZE; i++) {
            REQUIRE(reply[i] == 0x5a);
        }
        free(frame);
        return 0;
    }
    REQUIRE(n == TCPRESET_REPLY_SIZE);
    REQUIRE(run_filter(program, frame, size) >= size);

    const uint8_t *ip = frame + 14;
    size_t ip_header = (size_t)(ip[0] & 0x0f) * 4;
    size_t total = get16(ip + 2);
    const uint8_t *tcp = ip + ip_header;
    size_t tcp_header = (size_t)(tcp[12] >> 4) * 4;
    const uint8_t *reply_ip = reply + 14;
    const uint8_t *reply_tcp = reply_ip + 20;

    REQUIRE(ip_header >= 20 && 14 + total <= size && ip_header + tcp_header <= total);
    REQUIRE(memcmp(frame, our_mac, 6) == 0);
    REQUIRE(memcmp(reply, frame + 6, 6) == 0);
    REQUIRE(memcmp(reply + 6, our_mac, 6) == 0);
    REQUIRE(get16(reply + 12) == 0x0800);
    REQUIRE(reply_ip[0] == 0x45 && get16(reply_ip + 2) == 40 && reply_ip[9] == 6);
    REQUIRE(memcmp(reply_ip + 12, &vip.s_addr, 4) == 0);
    REQUIRE(memcmp(reply_ip + 16, ip + 12, 4) == 0);
    REQUIRE(ones_sum(reply_ip, 20, 0) == 0xffff);
    REQUIRE(get16(reply_tcp) == get16(tcp + 2) && get16(reply_tcp + 2) == get16(tcp));
    REQUIRE((tcp[13] & 0x04) == 0);
    if ((tcp[13] & 0x10) != 0) {
        REQUIRE(get32(reply_tcp + 4) == get32(tcp + 8));
        REQUIRE(get32(reply_tcp + 8) == 0);
        REQUIRE(reply_tcp[13] == 0x04);
    } else {
        size_t seg_len =
            total - ip_header - tcp_header + (tcp[13] & 0x02 ? 1 : 0) + (tcp[13] & 0x01 ? 1 : 0);
        REQUIRE(get32(reply_tcp + 4) == 0);
        REQUIRE(get32(reply_tcp + 8) == (uint32_t)(get32(tcp + 4) + seg_len));
        REQUIRE(reply_tcp[13] == 0x14);
    }
    REQUIRE(reply_tcp[12] == 0x50 && get16(reply_tcp + 14) == 0 && get16(reply_tcp + 18) == 0);
    uint8_t pseudo[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 6, 0, 20};
    memcpy(pseudo, reply_ip + 12, 8);
    REQUIRE(ones_sum(reply_tcp, 20, ones_sum(pseudo, sizeof pseudo, 0)) == 0xffff);
    free(frame);
    return 0;
}
