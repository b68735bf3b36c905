/*
 * The pure parts of netops: VIP parsing and labels, the gratuitous ARP frame byte for byte,
 * option ranges, and the announcer's schedule (on a real libuv loop, with a sender whose
 * socket is closed so every frame fails visibly without needing root).
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <string.h>

#include "netops/arp.h"
#include "netops/vip.h"
#include "netops/watch.h"

static int parse(const char *text, struct vip_address *out, char *errmsg)
{
    return vip_parse_address(text, out, errmsg, 256);
}

START_TEST(test_parse_valid)
{
    struct vip_address vip;
    char errmsg[256] = "";
    char text[VIP_ADDRESS_TEXT_SIZE];

    ck_assert_int_eq(parse("192.168.1.10/32", &vip, errmsg), 0);
    ck_assert_uint_eq(vip.prefix_length, 32);
    ck_assert_uint_eq(ntohl(vip.address.s_addr), 0xC0A8010A);
    vip_format_address(&vip, text, sizeof text);
    ck_assert_str_eq(text, "192.168.1.10/32");

    ck_assert_int_eq(parse("10.0.0.1/24", &vip, errmsg), 0);
    ck_assert_uint_eq(vip.prefix_length, 24);
    ck_assert_int_eq(parse("1.2.3.4/1", &vip, errmsg), 0);
    ck_assert_uint_eq(vip.prefix_length, 1);
    /* /31 (RFC 3021) and /32 have no network or broadcast address to refuse. */
    ck_assert_int_eq(parse("10.0.0.4/31", &vip, errmsg), 0);
    ck_assert_int_eq(parse("10.0.0.255/32", &vip, errmsg), 0);
    ck_assert_int_eq(parse("10.0.0.0/32", &vip, errmsg), 0);
    ck_assert_int_eq(parse("223.255.255.254/32", &vip, errmsg), 0);
    vip_format_address(&vip, text, sizeof text);
    ck_assert_str_eq(text, "223.255.255.254/32");
}
END_TEST

struct bad_case {
    const char *text;
    int error;
    const char *message_part;
};

static const struct bad_case bad_cases[] = {
    {"", -EINVAL, "empty VIP"},
    {"fd00::10/64", -EAFNOSUPPORT, "IPv6 VIPs are not supported"},
    {"::ffff:10.0.0.1/128", -EAFNOSUPPORT, "IPv6 VIPs are not supported"},
    {"10.0.0.1", -EINVAL, "has no prefix length"},
    {"10.0.0.1/", -EINVAL, "empty prefix length"},
    {"/32", -EINVAL, "is not an IPv4 address"},
    {"10.0.0/32", -EINVAL, "\"10.0.0\" is not an IPv4 address"},
    {"10.0.0.256/32", -EINVAL, "is not an IPv4 address"},
    {" 10.0.0.1/32", -EINVAL, "is not an IPv4 address"},
    {"vip.example/32", -EINVAL, "is not an IPv4 address"},
    {"10.0.0.1/33", -EINVAL, "prefix length 33 is out of range (1..32)"},
    {"10.0.0.1/0", -EINVAL, "prefix length 0 is out of range (1..32)"},
    {"10.0.0.1/-1", -EINVAL, "is not a number in 1..32"},
    {"10.0.0.1/3a", -EINVAL, "is not a number in 1..32"},
    {"10.0.0.1/32 ", -EINVAL, "is not a number in 1..32"},
    {"10.0.0.1/99999999999999999999999", -EINVAL, "is not a number in 1..32"},
    {"0.0.0.0/32", -EINVAL, "not a host address"},
    {"0.1.2.3/32", -EINVAL, "not a host address"},
    {"127.0.0.2/32", -EINVAL, "loopback"},
    {"224.0.0.18/32", -EINVAL, "multicast"},
    {"240.0.0.1/32", -EINVAL, "reserved"},
    {"255.255.255.255/32", -EINVAL, "broadcast"},
    {"192.168.1.0/24", -EINVAL, "network address of its /24 subnet"},
    {"192.168.1.255/24", -EINVAL, "broadcast address of its /24 subnet"},
    {"10.0.0.4/30", -EINVAL, "network address of its /30 subnet"},
    {"10.0.0.7/30", -EINVAL, "broadcast address of its /30 subnet"},
};

START_TEST(test_parse_invalid)
{
    const struct bad_case *c = &bad_cases[_i];
    struct vip_address vip;
    char errmsg[256] = "";

    ck_assert_msg(parse(c->text, &vip, errmsg) == c->error, "\"%s\" should fail with %d", c->text,
                  c->error);
    ck_assert_msg(strstr(errmsg, c->message_part) != NULL,
                  "message for \"%s\" is \"%s\", expected to contain \"%s\"", c->text, errmsg,
                  c->message_part);
}
END_TEST

START_TEST(test_label)
{
    char label[VIP_LABEL_SIZE];

    ck_assert_int_eq(vip_label("eth0", label, sizeof label), 0);
    ck_assert_str_eq(label, "eth0:mmc");
    ck_assert_int_eq(vip_label("abcdefghijk", label, sizeof label), 0);
    ck_assert_str_eq(label, "abcdefghijk:mmc");
    ck_assert_int_eq(vip_label("abcdefghijkl", label, sizeof label), 0);
    ck_assert_str_eq(label, "abcdefghijkl:mm");
    ck_assert_int_eq(vip_label("abcdefghijklm", label, sizeof label), 0);
    ck_assert_str_eq(label, "abcdefghijklm:m");
    /* Only room for a bare ':' (meaningless) or nothing: the interface name alone. */
    ck_assert_int_eq(vip_label("abcdefghijklmn", label, sizeof label), 0);
    ck_assert_str_eq(label, "abcdefghijklmn");
    ck_assert_int_eq(vip_label("abcdefghijklmno", label, sizeof label), 0);
    ck_assert_str_eq(label, "abcdefghijklmno");

    ck_assert_int_eq(vip_label("abcdefghijklmnop", label, sizeof label), -EINVAL);
    ck_assert_int_eq(vip_label("", label, sizeof label), -EINVAL);
    ck_assert_int_eq(vip_label("eth0", label, 8), -EINVAL);
}
END_TEST

START_TEST(test_arp_frame_bytes)
{
    static const uint8_t mac[ARP_MAC_SIZE] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
    static const uint8_t expected[ARP_FRAME_SIZE] = {
        /* Ethernet: broadcast, from mac, ARP */
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x11, 0x22, 0x33, 0x44, 0x55, 0x08, 0x06,
        /* htype Ethernet, ptype IPv4, hlen 6, plen 4, opcode request */
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,
        /* sender: mac, 192.168.7.42 */
        0x02, 0x11, 0x22, 0x33, 0x44, 0x55, 192, 168, 7, 42,
        /* target: zero MAC, 192.168.7.42 */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 192, 168, 7, 42};
    uint8_t frame[ARP_FRAME_SIZE];
    struct in_addr address;
    size_t i;

    ck_assert_int_eq(inet_pton(AF_INET, "192.168.7.42", &address), 1);
    memset(frame, 0xAA, sizeof frame);
    arp_build_announcement(frame, mac, address);
    for (i = 0; i < ARP_FRAME_SIZE; i++) {
        ck_assert_msg(frame[i] == expected[i], "byte %zu is 0x%02x, expected 0x%02x", i, frame[i],
                      expected[i]);
    }
}
END_TEST

START_TEST(test_arp_options)
{
    struct arp_options options = arp_options_default();
    char errmsg[256] = "";

    ck_assert_uint_eq(options.count, 5);
    ck_assert_uint_eq(options.interval_ms, 200);
    ck_assert_uint_eq(options.refresh_ms, 0);
    ck_assert_int_eq(arp_options_check(&options, errmsg, sizeof errmsg), 0);

    options.count = 0;
    ck_assert_int_eq(arp_options_check(&options, errmsg, sizeof errmsg), -EINVAL);
    ck_assert_ptr_nonnull(strstr(errmsg, "count 0 is out of range (1..100)"));
    options.count = 101;
    ck_assert_int_eq(arp_options_check(&options, errmsg, sizeof errmsg), -EINVAL);
    options.count = 100;
    options.interval_ms = 0;
    ck_assert_int_eq(arp_options_check(&options, errmsg, sizeof errmsg), 0);
    options.interval_ms = 10001;
    ck_assert_int_eq(arp_options_check(&options, errmsg, sizeof errmsg), -EINVAL);
    ck_assert_ptr_nonnull(strstr(errmsg, "interval 10001 ms"));
    options.interval_ms = 200;
    options.refresh_ms = 999;
    ck_assert_int_eq(arp_options_check(&options, errmsg, sizeof errmsg), -EINVAL);
    ck_assert_ptr_nonnull(strstr(errmsg, "refresh 999 ms"));
    options.refresh_ms = 1000;
    ck_assert_int_eq(arp_options_check(&options, errmsg, sizeof errmsg), 0);
}
END_TEST

struct schedule_log {
    unsigned failures;
    unsigned bursts_done;
    unsigned stop_after; /* stop the announcer after this many callbacks; 0: never */
    char last_error[ARP_ERRMSG_SIZE];
};

static void on_announce(struct arp_announcer *announcer, int status, bool burst_done,
                        const char *errmsg)
{
    struct schedule_log *log = announcer->data;

    if (status != 0) {
        log->failures++;
        snprintf(log->last_error, sizeof log->last_error, "%s", errmsg);
    }
    if (burst_done) {
        log->bursts_done++;
    }
    if (log->stop_after > 0 && log->failures == log->stop_after) {
        arp_announcer_stop(announcer);
    }
}

static void run_announcer(const struct arp_options *options, struct schedule_log *log)
{
    struct arp_announcer announcer;
    struct arp_sender sender = {.fd = -1, .ifname = "test0"};
    struct in_addr address = {.s_addr = htonl(0x0A000001)};
    char errmsg[ARP_ERRMSG_SIZE];
    uv_loop_t loop;

    ck_assert_int_eq(uv_loop_init(&loop), 0);
    ck_assert_int_eq(arp_announcer_init(&loop, &announcer, &sender, options, errmsg, sizeof errmsg),
                     0);
    announcer.data = log;
    ck_assert_int_eq(arp_announcer_start(&announcer, address, on_announce, errmsg, sizeof errmsg),
                     -EBADF);
    ck_assert_ptr_nonnull(strstr(errmsg, "10.0.0.1 on test0"));
    uv_run(&loop, UV_RUN_DEFAULT); /* returns when the announcer has nothing left to do */
    arp_announcer_close(&announcer, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
}

START_TEST(test_announcer_burst)
{
    struct arp_options options = {.count = 4, .interval_ms = 1, .refresh_ms = 0};
    struct schedule_log log = {0};

    run_announcer(&options, &log);
    /* Every frame of the burst was attempted (each failed visibly), then it stopped. */
    ck_assert_uint_eq(log.failures, 4);
    ck_assert_uint_eq(log.bursts_done, 1);
    ck_assert_ptr_nonnull(strstr(log.last_error, "socket is not open"));
}
END_TEST

START_TEST(test_announcer_refresh)
{
    struct arp_options options = {.count = 2, .interval_ms = 0, .refresh_ms = 1000};
    struct schedule_log log = {.stop_after = 3};

    /* Burst of 2, then refresh frames until stopped after the first refresh frame. */
    run_announcer(&options, &log);
    ck_assert_uint_eq(log.failures, 3);
    ck_assert_uint_eq(log.bursts_done, 1);
}
END_TEST

START_TEST(test_event_names)
{
    ck_assert_str_eq(watch_event_name(WATCH_VIP_ADDED), "vip-added");
    ck_assert_str_eq(watch_event_name(WATCH_VIP_REMOVED), "vip-removed");
    ck_assert_str_eq(watch_event_name(WATCH_LINK_UP), "link-up");
    ck_assert_str_eq(watch_event_name(WATCH_LINK_DOWN), "link-down");
    ck_assert_str_eq(watch_event_name(WATCH_OVERRUN), "overrun");
}
END_TEST

static Suite *netops_suite(void)
{
    Suite *suite = suite_create("netops");
    TCase *vip = tcase_create("vip");
    TCase *arp = tcase_create("arp");
    TCase *watch = tcase_create("watch");

    tcase_add_test(vip, test_parse_valid);
    tcase_add_loop_test(vip, test_parse_invalid, 0, (int)(sizeof bad_cases / sizeof bad_cases[0]));
    tcase_add_test(vip, test_label);
    tcase_add_test(arp, test_arp_frame_bytes);
    tcase_add_test(arp, test_arp_options);
    tcase_add_test(arp, test_announcer_burst);
    tcase_add_test(arp, test_announcer_refresh);
    tcase_add_test(watch, test_event_names);
    suite_add_tcase(suite, vip);
    suite_add_tcase(suite, arp);
    suite_add_tcase(suite, watch);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(netops_suite());
    int failed;

    srunner_run_all(runner, CK_NORMAL);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? 0 : 1;
}
