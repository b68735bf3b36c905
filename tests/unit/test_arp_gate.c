/*
 * The announcer's gate (netops/arp.h, arp_announcer_set_gate): a frame the gate refuses is
 * never attempted, the schedule goes on, and frames go again once it says yes. Same seam as
 * tests/unit/test_netops.c: a sender whose socket is closed, so that every attempted frame
 * shows as an -EBADF report and a held-back one as -ECANCELED, without root. Includes the
 * chaos run's case in miniature: a loop stalled past the lease end runs the overdue refresh
 * before the timer that would have stopped it, and the gate, asked at that moment, refuses.
 * As root, the same on the wire: frames captured on the far end of a veth pair in a private
 * network namespace (skipped, saying so, otherwise).
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <net/if.h>
#include <netpacket/packet.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "netops/arp.h"

struct gate {
    unsigned asked;
    unsigned open_from;   /* says yes from this ask on (1-based); 0: never */
    unsigned open_until;  /* and no again after this ask; 0: never */
    uint64_t deadline_ms; /* when not 0: yes only while the boot clock is before it */
};

static uint64_t boottime_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_BOOTTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static bool gate_answer(void *data)
{
    struct gate *gate = data;
    gate->asked++;
    if (gate->deadline_ms != 0) {
        return boottime_ms() < gate->deadline_ms;
    }
    return gate->open_from != 0 && gate->asked >= gate->open_from &&
           (gate->open_until == 0 || gate->asked <= gate->open_until);
}

struct reports {
    unsigned attempted; /* -EBADF: the frame reached the (closed) socket */
    unsigned held_back; /* -ECANCELED */
    unsigned other;
    unsigned bursts_done;
    int burst_status;             /* the status reported with burst_done */
    unsigned stop_after_attempts; /* stop the announcer after this many attempts; 0: never */
    char last_held_back[ARP_ERRMSG_SIZE];
};

static void on_report(struct arp_announcer *announcer, int status, bool burst_done,
                      const char *errmsg)
{
    struct reports *r = announcer->data;
    if (status == -EBADF) {
        r->attempted++;
    } else if (status == -ECANCELED) {
        r->held_back++;
        snprintf(r->last_held_back, sizeof r->last_held_back, "%s", errmsg);
    } else if (status != 0) {
        r->other++;
    }
    if (burst_done) {
        r->bursts_done++;
        r->burst_status = status;
    }
    if (r->stop_after_attempts > 0 && r->attempted == r->stop_after_attempts) {
        arp_announcer_stop(announcer);
    }
}

struct run {
    uv_loop_t loop;
    struct arp_announcer announcer;
    struct arp_sender sender;
    struct reports reports;
    int start_status;
    char start_errmsg[ARP_ERRMSG_SIZE];
};

/* @ifname NULL: the closed sender ("test0"); else a real one on that interface. */
static void run_init_on(struct run *run, const struct arp_options *options, struct gate *gate,
                        const char *ifname)
{
    char errmsg[ARP_ERRMSG_SIZE];

    memset(run, 0, sizeof *run);
    if (ifname == NULL) {
        run->sender.fd = -1;
        snprintf(run->sender.ifname, sizeof run->sender.ifname, "test0");
    } else {
        ck_assert_msg(arp_sender_open(&run->sender, ifname, errmsg, sizeof errmsg) == 0, "%s",
                      errmsg);
    }
    ck_assert_int_eq(uv_loop_init(&run->loop), 0);
    ck_assert_int_eq(arp_announcer_init(&run->loop, &run->announcer, &run->sender, options, errmsg,
                                        sizeof errmsg),
                     0);
    run->announcer.data = &run->reports;
    if (gate != NULL) {
        arp_announcer_set_gate(&run->announcer, gate_answer, gate);
    }
}

static void run_init(struct run *run, const struct arp_options *options, struct gate *gate)
{
    run_init_on(run, options, gate, NULL);
}

static void run_start(struct run *run)
{
    struct in_addr address = {.s_addr = htonl(0x0A000001)};
    run->start_status = arp_announcer_start(&run->announcer, address, on_report, run->start_errmsg,
                                            sizeof run->start_errmsg);
}

static void run_finish(struct run *run)
{
    uv_run(&run->loop, UV_RUN_DEFAULT); /* returns when the announcer has nothing left to do */
    arp_announcer_close(&run->announcer, NULL);
    uv_run(&run->loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(uv_loop_close(&run->loop), 0);
    arp_sender_close(&run->sender);
}

START_TEST(test_gate_no_sends_nothing)
{
    struct arp_options options = {.count = 3, .interval_ms = 1, .refresh_ms = 0};
    struct gate gate = {0}; /* never opens */
    struct run run;

    run_init(&run, &options, &gate);
    run_start(&run);
    /* The first frame, due inside start, is held back and start says so. */
    ck_assert_int_eq(run.start_status, -ECANCELED);
    ck_assert_ptr_nonnull(strstr(run.start_errmsg, "10.0.0.1 on test0 held back"));
    run_finish(&run);
    /* Asked once per frame of the burst, and no frame reached the socket. */
    ck_assert_uint_eq(gate.asked, 3);
    ck_assert_uint_eq(run.reports.attempted, 0);
    ck_assert_uint_eq(run.reports.held_back, 3);
    ck_assert_uint_eq(run.reports.other, 0);
    /* The schedule went on: the burst ended on time and the announcer stopped by itself. */
    ck_assert_uint_eq(run.reports.bursts_done, 1);
    ck_assert_int_eq(run.reports.burst_status, -ECANCELED);
    ck_assert_ptr_nonnull(strstr(run.reports.last_held_back, "may not announce it now"));
}
END_TEST

START_TEST(test_gate_opening_mid_burst)
{
    struct arp_options options = {.count = 5, .interval_ms = 1, .refresh_ms = 0};
    struct gate gate = {.open_from = 3};
    struct run run;

    run_init(&run, &options, &gate);
    run_start(&run);
    ck_assert_int_eq(run.start_status, -ECANCELED);
    run_finish(&run);
    /* Held-back frames keep their slots: 2 held back, then the last 3 of the burst go. */
    ck_assert_uint_eq(gate.asked, 5);
    ck_assert_uint_eq(run.reports.held_back, 2);
    ck_assert_uint_eq(run.reports.attempted, 3);
    ck_assert_uint_eq(run.reports.bursts_done, 1);
    ck_assert_int_eq(run.reports.burst_status, -EBADF);
}
END_TEST

START_TEST(test_gate_closing_mid_burst)
{
    struct arp_options options = {.count = 4, .interval_ms = 1, .refresh_ms = 0};
    struct gate gate = {.open_from = 1, .open_until = 1};
    struct run run;

    run_init(&run, &options, &gate);
    run_start(&run);
    ck_assert_int_eq(run.start_status, -EBADF); /* the first frame was let through */
    run_finish(&run);
    ck_assert_uint_eq(gate.asked, 4);
    ck_assert_uint_eq(run.reports.attempted, 1);
    ck_assert_uint_eq(run.reports.held_back, 3);
}
END_TEST

START_TEST(test_gate_reopening_resumes_refresh)
{
    /* The whole burst held back; the announcer keeps running, and the first refresh frame
     * after the gate opens goes without a new start. */
    struct arp_options options = {.count = 2, .interval_ms = 0, .refresh_ms = 1000};
    struct gate gate = {.open_from = 3};
    struct run run;

    run_init(&run, &options, &gate);
    run.reports.stop_after_attempts = 1;
    run_start(&run);
    run_finish(&run);
    ck_assert_uint_eq(run.reports.held_back, 2);
    ck_assert_uint_eq(run.reports.bursts_done, 1);
    ck_assert_uint_eq(run.reports.attempted, 1);
    ck_assert_uint_eq(gate.asked, 3);
}
END_TEST

START_TEST(test_gate_removed)
{
    struct arp_options options = {.count = 2, .interval_ms = 1, .refresh_ms = 0};
    struct gate gate = {0};
    struct run run;

    run_init(&run, &options, &gate);
    arp_announcer_set_gate(&run.announcer, NULL, NULL); /* NULL: every frame goes */
    run_start(&run);
    run_finish(&run);
    ck_assert_uint_eq(gate.asked, 0);
    ck_assert_uint_eq(run.reports.attempted, 2);
    ck_assert_uint_eq(run.reports.held_back, 0);
}
END_TEST

/* The chaos run in miniature: the loop stalls past the lease's end; when it runs again libuv
 * runs the overdue timers in due order, the announcer's refresh before the owner's reconcile
 * that would have stopped it. The gate, asked right then, must refuse. */
struct stall {
    struct run *run;
    uv_timer_t stall_timer;
    uv_timer_t reconcile_timer;
    unsigned stall_ms;
    bool reconciled;
};

static void on_stall(uv_timer_t *timer)
{
    struct stall *s = timer->data;
    usleep(s->stall_ms * 1000); /* the whole loop is stopped, as by SIGSTOP */
}

static void on_reconcile(uv_timer_t *timer)
{
    struct stall *s = timer->data;
    s->reconciled = true;
    arp_announcer_stop(&s->run->announcer); /* the release of the VIP */
}

static void run_stall(struct gate *gate, const char *ifname, struct reports *out)
{
    struct arp_options options = {.count = 1, .interval_ms = 0, .refresh_ms = 1000};
    struct run run;
    struct stall s = {.run = &run, .stall_ms = 1500};

    run_init_on(&run, &options, gate, ifname);
    ck_assert_int_eq(uv_timer_init(&run.loop, &s.stall_timer), 0);
    ck_assert_int_eq(uv_timer_init(&run.loop, &s.reconcile_timer), 0);
    s.stall_timer.data = &s;
    s.reconcile_timer.data = &s;
    /* The lease runs out at +500 ms; the owner would stop the announcer at +1005 ms, just after
     * the refresh due at +1000 ms; the loop stalls from +10 ms to +1510 ms. */
    if (gate != NULL) {
        gate->deadline_ms = boottime_ms() + 500;
    }
    run_start(&run);
    ck_assert_int_eq(uv_timer_start(&s.reconcile_timer, on_reconcile, 1005, 0), 0);
    ck_assert_int_eq(uv_timer_start(&s.stall_timer, on_stall, 10, 0), 0);
    uv_run(&run.loop, UV_RUN_DEFAULT);
    ck_assert(s.reconciled);
    uv_close((uv_handle_t *)&s.stall_timer, NULL);
    uv_close((uv_handle_t *)&s.reconcile_timer, NULL);
    *out = run.reports;
    run_finish(&run);
}

START_TEST(test_gate_after_stall)
{
    struct gate gate = {0};
    struct reports without_gate;
    struct reports with_gate;

    /* Without a gate the overdue refresh frame is sent after the lease ran out: the bug. */
    run_stall(NULL, NULL, &without_gate);
    ck_assert_uint_eq(without_gate.attempted, 2);
    /* With the gate only the first frame, sent while the lease ran, is attempted. */
    run_stall(&gate, NULL, &with_gate);
    ck_assert_uint_eq(gate.asked, 2);
    ck_assert_uint_eq(with_gate.attempted, 1);
    ck_assert_uint_eq(with_gate.held_back, 1);
}
END_TEST

/* --- on the wire: a veth pair in a private network namespace (root only) --- */

#define SEND_IF    "garp0"
#define CAPTURE_IF "garp1"
#define VIP_HOST   0x0A000001 /* 10.0.0.1, only inside the private namespace */

/* Move this test's process (libcheck forks one per test) into a network namespace of its own
 * with a veth pair, both ends up. False when that is not possible. */
static bool private_veth(void)
{
    if (geteuid() != 0 || unshare(CLONE_NEWNET) != 0) {
        return false;
    }
    if (system("ip link add " SEND_IF " type veth peer name " CAPTURE_IF " && ip link set " SEND_IF
               " up && ip link set " CAPTURE_IF " up") != 0) {
        return false;
    }
    /* Frames sent before the pair has carrier are dropped. */
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    for (int waited = 0; waited < 2000; waited += 10) {
        struct ifreq request = {0};
        snprintf(request.ifr_name, sizeof request.ifr_name, "%s", SEND_IF);
        ck_assert_int_eq(ioctl(fd, SIOCGIFFLAGS, &request), 0);
        if (request.ifr_flags & IFF_RUNNING) {
            break;
        }
        usleep(10000);
    }
    close(fd);
    return true;
}

/* A packet socket on the peer end: it receives every ARP frame that left SEND_IF. */
static int capture_open(void)
{
    struct sockaddr_ll where = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ARP)};
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ARP));

    ck_assert_int_ge(fd, 0);
    where.sll_ifindex = (int)if_nametoindex(CAPTURE_IF);
    ck_assert_int_gt(where.sll_ifindex, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&where, sizeof where), 0);
    return fd;
}

/* The announcements for the VIP that reached the peer, waiting until none came for 300 ms
 * (delivery over a veth is immediate; the wait only makes a late frame count). */
static unsigned capture_count(int fd)
{
    uint32_t vip = htonl(VIP_HOST);
    unsigned frames = 0;
    uint8_t frame[128];
    struct pollfd p = {.fd = fd, .events = POLLIN};

    while (poll(&p, 1, 300) == 1) {
        ssize_t n = recv(fd, frame, sizeof frame, MSG_DONTWAIT);
        /* Ethernet (14) + ARP: sender protocol address at 14 + 14, target at 14 + 24. */
        if (n >= ARP_FRAME_SIZE && memcmp(frame + 28, &vip, 4) == 0 &&
            memcmp(frame + 38, &vip, 4) == 0) {
            frames++;
        }
    }
    close(fd);
    return frames;
}

START_TEST(test_wire_gate_no)
{
    struct arp_options options = {.count = 3, .interval_ms = 10, .refresh_ms = 0};
    struct gate gate = {0};
    struct run run;
    int fd;

    if (!private_veth()) {
        printf("test_wire_gate_no: skipped (needs root, unshare and ip)\n");
        return;
    }
    /* Control: with the gate open every frame of the burst reaches the peer. */
    fd = capture_open();
    run_init_on(&run, &options, NULL, SEND_IF);
    run_start(&run);
    ck_assert_int_eq(run.start_status, 0);
    run_finish(&run);
    ck_assert_uint_eq(capture_count(fd), 3);
    /* Gate shut: nothing leaves the host. */
    fd = capture_open();
    run_init_on(&run, &options, &gate, SEND_IF);
    run_start(&run);
    ck_assert_int_eq(run.start_status, -ECANCELED);
    run_finish(&run);
    ck_assert_uint_eq(gate.asked, 3);
    ck_assert_uint_eq(run.reports.held_back, 3);
    ck_assert_uint_eq(capture_count(fd), 0);
}
END_TEST

START_TEST(test_wire_after_stall)
{
    struct gate gate = {0};
    struct reports reports;
    int fd;

    if (!private_veth()) {
        printf("test_wire_after_stall: skipped (needs root, unshare and ip)\n");
        return;
    }
    /* Without the gate the refresh that was overdue after the stall leaves the host, after the
     * lease's end; with it only the first frame does. */
    fd = capture_open();
    run_stall(NULL, SEND_IF, &reports);
    ck_assert_uint_eq(capture_count(fd), 2);
    fd = capture_open();
    run_stall(&gate, SEND_IF, &reports);
    ck_assert_uint_eq(gate.asked, 2);
    ck_assert_uint_eq(reports.held_back, 1);
    ck_assert_uint_eq(capture_count(fd), 1);
}
END_TEST

static Suite *arp_gate_suite(void)
{
    Suite *suite = suite_create("arp_gate");
    TCase *gate = tcase_create("gate");
    TCase *wire = tcase_create("wire");

    tcase_set_timeout(gate, 20);
    tcase_add_test(gate, test_gate_no_sends_nothing);
    tcase_add_test(gate, test_gate_opening_mid_burst);
    tcase_add_test(gate, test_gate_closing_mid_burst);
    tcase_add_test(gate, test_gate_reopening_resumes_refresh);
    tcase_add_test(gate, test_gate_removed);
    tcase_add_test(gate, test_gate_after_stall);
    suite_add_tcase(suite, gate);
    tcase_set_timeout(wire, 30);
    tcase_add_test(wire, test_wire_gate_no);
    tcase_add_test(wire, test_wire_after_stall);
    suite_add_tcase(suite, wire);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(arp_gate_suite());
    int failed;

    srunner_run_all(runner, CK_NORMAL);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? 0 : 1;
}
