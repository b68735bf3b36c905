/*
 * mmc-vip: the netops library from the command line, for tests, benchmarks and operators who
 * want to see what mmcoordd would do to the VIP without running it.
 *
 *   mmc-vip add      IFACE ADDR/LEN [--lifetime S] [--announce] [--count N] [--interval-ms M]
 *   mmc-vip del      IFACE ADDR/LEN
 *   mmc-vip has      IFACE ADDR/LEN            exit 0 when present, 1 when absent
 *   mmc-vip announce IFACE ADDR/LEN [--count N] [--interval-ms M]
 *   mmc-vip watch    IFACE ADDR/LEN [--events N]
 *   mmc-vip reset    IFACE ADDR SECONDS        answer TCP segments to ADDR with resets (tcpreset.h)
 *   mmc-vip wake     ADDR                      SYN to every client still connected to ADDR
 *                                              (sockreset.h; run after removing ADDR)
 *
 * Exit status: 0 done, 1 "absent" (has), 2 bad usage or input, 3 the operation failed. Errors
 * go to stderr prefixed with "mmc-vip: ". `watch` prints "watching" once subscribed, then one
 * line per event ("vip-removed", "link-down" ...) until SIGINT/SIGTERM or N events. With
 * --trace, `add` prints "add-call <unix time>" just before the netlink request (benchmarks).
 * `reset` prints "responding" once its socket is filtered and bound, then, when SECONDS have
 * passed or on SIGINT/SIGTERM, "sent N" (resets sent) and "dropped M" (resets the socket would
 * not take). `wake` prints "woken N" (SYNs sent), also when some failed.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uv.h>

#include "netops/arp.h"
#include "netops/sockreset.h"
#include "netops/tcpreset.h"
#include "netops/vip.h"
#include "netops/watch.h"

#define EXIT_ABSENT 1
#define EXIT_USAGE  2
#define EXIT_FAILED 3

struct cli {
    const char *command;
    const char *ifname;
    struct vip_address address;
    struct arp_options arp;
    unsigned lifetime_s;
    unsigned events;
    bool announce;
    bool trace;
};

static void usage(FILE *out)
{
    fprintf(out, "usage: mmc-vip add IFACE ADDR/LEN [--lifetime S] [--announce] [--count N] "
                 "[--interval-ms M] [--trace]\n"
                 "       mmc-vip del IFACE ADDR/LEN\n"
                 "       mmc-vip has IFACE ADDR/LEN\n"
                 "       mmc-vip announce IFACE ADDR/LEN [--count N] [--interval-ms M]\n"
                 "       mmc-vip watch IFACE ADDR/LEN [--events N]\n"
                 "       mmc-vip reset IFACE ADDR SECONDS\n"
                 "       mmc-vip wake ADDR\n");
}

static int parse_unsigned(const char *option, const char *text, unsigned *out)
{
    char *end;
    unsigned long value;

    errno = 0;
    value = strtoul(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || *end != '\0' || errno != 0 || value > UINT_MAX) {
        fprintf(stderr, "mmc-vip: %s wants a non-negative integer, not \"%s\"\n", option, text);
        return -EINVAL;
    }
    *out = (unsigned)value;
    return 0;
}

static int parse_args(int argc, char **argv, struct cli *cli)
{
    char errmsg[256];
    int i;

    memset(cli, 0, sizeof *cli);
    cli->arp = arp_options_default();
    if (argc < 4) {
        usage(stderr);
        return -EINVAL;
    }
    cli->command = argv[1];
    cli->ifname = argv[2];
    if (vip_parse_address(argv[3], &cli->address, errmsg, sizeof errmsg) != 0) {
        fprintf(stderr, "mmc-vip: %s\n", errmsg);
        return -EINVAL;
    }
    for (i = 4; i < argc; i++) {
        const char *option = argv[i];
        unsigned *target = NULL;

        if (strcmp(option, "--announce") == 0) {
            cli->announce = true;
            continue;
        }
        if (strcmp(option, "--trace") == 0) {
            cli->trace = true;
            continue;
        }
        if (strcmp(option, "--count") == 0) {
            target = &cli->arp.count;
        } else if (strcmp(option, "--interval-ms") == 0) {
            target = &cli->arp.interval_ms;
        } else if (strcmp(option, "--lifetime") == 0) {
            target = &cli->lifetime_s;
        } else if (strcmp(option, "--events") == 0) {
            target = &cli->events;
        } else {
            fprintf(stderr, "mmc-vip: unknown option \"%s\"\n", option);
            usage(stderr);
            return -EINVAL;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "mmc-vip: %s needs a value\n", option);
            return -EINVAL;
        }
        if (parse_unsigned(option, argv[++i], target) != 0) {
            return -EINVAL;
        }
    }
    if (arp_options_check(&cli->arp, errmsg, sizeof errmsg) != 0) {
        fprintf(stderr, "mmc-vip: %s\n", errmsg);
        return -EINVAL;
    }
    return 0;
}

struct announce_run {
    int failures;
};

static void on_announced(struct arp_announcer *announcer, int status, bool burst_done,
                         const char *errmsg)
{
    struct announce_run *run = announcer->data;

    if (status != 0) {
        fprintf(stderr, "mmc-vip: %s\n", errmsg);
        run->failures++;
    }
    if (burst_done) {
        arp_announcer_close(announcer, NULL);
    }
}

static int announce(const struct cli *cli)
{
    struct arp_announcer announcer;
    struct announce_run run = {0};
    struct arp_sender sender;
    char errmsg[ARP_ERRMSG_SIZE];
    uv_loop_t loop;
    int rv;

    if (arp_sender_open(&sender, cli->ifname, errmsg, sizeof errmsg) != 0) {
        fprintf(stderr, "mmc-vip: %s\n", errmsg);
        return EXIT_FAILED;
    }
    rv = uv_loop_init(&loop);
    if (rv != 0) {
        fprintf(stderr, "mmc-vip: cannot start an event loop: %s\n", uv_strerror(rv));
        arp_sender_close(&sender);
        return EXIT_FAILED;
    }
    rv = arp_announcer_init(&loop, &announcer, &sender, &cli->arp, errmsg, sizeof errmsg);
    if (rv != 0) {
        fprintf(stderr, "mmc-vip: %s\n", errmsg);
    } else {
        announcer.data = &run;
        /* A first-frame failure is also reported through the callback. */
        (void)arp_announcer_start(&announcer, cli->address.address, on_announced, errmsg,
                                  sizeof errmsg);
        uv_run(&loop, UV_RUN_DEFAULT);
    }
    uv_loop_close(&loop);
    arp_sender_close(&sender);
    return rv != 0 || run.failures > 0 ? EXIT_FAILED : 0;
}

struct watch_run {
    uv_poll_t poll;
    uv_signal_t sigint;
    uv_signal_t sigterm;
    struct watch *watch;
    unsigned seen;
    unsigned wanted;
    int status;
};

static void stop_watching(struct watch_run *run)
{
    if (!uv_is_closing((uv_handle_t *)&run->poll)) {
        uv_close((uv_handle_t *)&run->poll, NULL);
        uv_close((uv_handle_t *)&run->sigint, NULL);
        uv_close((uv_handle_t *)&run->sigterm, NULL);
    }
}

static void on_event(void *data, const struct watch_event *event)
{
    struct watch_run *run = data;

    printf("%s\n", watch_event_name(event->kind));
    fflush(stdout);
    run->seen++;
    if (run->wanted > 0 && run->seen >= run->wanted) {
        stop_watching(run);
    }
}

static void on_readable(uv_poll_t *poll, int status, int events)
{
    struct watch_run *run = poll->data;
    char errmsg[256];

    (void)events;
    if (status < 0) {
        fprintf(stderr, "mmc-vip: polling the netlink socket: %s\n", uv_strerror(status));
        run->status = EXIT_FAILED;
        stop_watching(run);
        return;
    }
    if (watch_dispatch(run->watch, errmsg, sizeof errmsg) != 0) {
        fprintf(stderr, "mmc-vip: %s\n", errmsg);
        run->status = EXIT_FAILED;
        stop_watching(run);
    }
}

static void on_signal(uv_signal_t *handle, int signum)
{
    (void)signum;
    stop_watching(handle->data);
}

static int watch_until_stopped(const struct cli *cli)
{
    struct watch_run run;
    char errmsg[256];
    uv_loop_t loop;
    int rv;

    memset(&run, 0, sizeof run);
    run.wanted = cli->events;
    rv = watch_open(&run.watch, cli->ifname, &cli->address, on_event, &run, errmsg, sizeof errmsg);
    if (rv != 0) {
        fprintf(stderr, "mmc-vip: %s\n", errmsg);
        return EXIT_FAILED;
    }
    rv = uv_loop_init(&loop);
    if (rv == 0) {
        rv = uv_poll_init(&loop, &run.poll, watch_fd(run.watch));
        if (rv == 0) {
            run.poll.data = &run;
            uv_signal_init(&loop, &run.sigint);
            uv_signal_init(&loop, &run.sigterm);
            run.sigint.data = &run;
            run.sigterm.data = &run;
            uv_signal_start(&run.sigint, on_signal, SIGINT);
            uv_signal_start(&run.sigterm, on_signal, SIGTERM);
            rv = uv_poll_start(&run.poll, UV_READABLE, on_readable);
        }
        if (rv == 0) {
            printf("watching\n");
            fflush(stdout);
            uv_run(&loop, UV_RUN_DEFAULT);
        } else {
            fprintf(stderr, "mmc-vip: cannot poll the netlink socket: %s\n", uv_strerror(rv));
            run.status = EXIT_FAILED;
            stop_watching(&run);
            uv_run(&loop, UV_RUN_DEFAULT);
        }
        uv_loop_close(&loop);
    } else {
        fprintf(stderr, "mmc-vip: cannot start an event loop: %s\n", uv_strerror(rv));
        run.status = EXIT_FAILED;
    }
    watch_close(run.watch);
    return run.status;
}

static int address_command(const struct cli *cli)
{
    char errmsg[512];
    struct vip *vip;
    int rv;

    if (vip_open(&vip, errmsg, sizeof errmsg) != 0) {
        fprintf(stderr, "mmc-vip: %s\n", errmsg);
        return EXIT_FAILED;
    }
    if (strcmp(cli->command, "add") == 0) {
        if (cli->trace) {
            struct timespec now;
            clock_gettime(CLOCK_REALTIME, &now);
            printf("add-call %lld.%09ld\n", (long long)now.tv_sec, now.tv_nsec);
            fflush(stdout);
        }
        rv = vip_add(vip, cli->ifname, &cli->address, cli->lifetime_s, errmsg, sizeof errmsg);
    } else if (strcmp(cli->command, "del") == 0) {
        rv = vip_del(vip, cli->ifname, &cli->address, errmsg, sizeof errmsg);
    } else {
        rv = vip_has(vip, cli->ifname, &cli->address, errmsg, sizeof errmsg);
        if (rv >= 0) {
            printf("%s\n", rv == 1 ? "present" : "absent");
            vip_close(vip);
            return rv == 1 ? 0 : EXIT_ABSENT;
        }
    }
    vip_close(vip);
    if (rv < 0) {
        fprintf(stderr, "mmc-vip: %s\n", errmsg);
        return EXIT_FAILED;
    }
    if (strcmp(cli->command, "add") == 0 && cli->announce) {
        return announce(cli);
    }
    return 0;
}

struct reset_run {
    uv_signal_t sigint;
    uv_signal_t sigterm;
    int status;
};

static void stop_resetting(struct tcpreset *responder)
{
    struct reset_run *run = responder->data;

    tcpreset_close(responder, NULL);
    uv_close((uv_handle_t *)&run->sigint, NULL);
    uv_close((uv_handle_t *)&run->sigterm, NULL);
}

static void on_reset_done(struct tcpreset *responder, int status, const char *errmsg)
{
    struct reset_run *run = responder->data;

    if (status != 0) {
        fprintf(stderr, "mmc-vip: %s\n", errmsg);
        run->status = EXIT_FAILED;
    }
    stop_resetting(responder);
}

static void on_reset_signal(uv_signal_t *handle, int signum)
{
    (void)signum;
    stop_resetting(handle->data);
}

/* An address given with or without a prefix length (which is ignored); says what is wrong. */
static int parse_host_address(const char *arg, struct vip_address *out)
{
    char text[VIP_ADDRESS_TEXT_SIZE + 3];
    char errmsg[256];
    snprintf(text, sizeof text, "%s%s", arg, strchr(arg, '/') != NULL ? "" : "/32");
    if (vip_parse_address(text, out, errmsg, sizeof errmsg) != 0) {
        fprintf(stderr, "mmc-vip: %s\n", errmsg);
        return -EINVAL;
    }
    return 0;
}

/* mmc-vip reset IFACE ADDR SECONDS: ADDR may carry a prefix length, which is ignored. */
static int reset_command(int argc, char **argv)
{
    struct tcpreset responder;
    struct reset_run run = {.status = 0};
    struct vip_address vip;
    char errmsg[TCPRESET_ERRMSG_SIZE];
    unsigned seconds;
    uv_loop_t loop;
    int rv;

    if (argc != 5) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (parse_host_address(argv[3], &vip) != 0) {
        return EXIT_USAGE;
    }
    if (parse_unsigned("SECONDS", argv[4], &seconds) != 0) {
        return EXIT_USAGE;
    }
    if (seconds < 1 || seconds > TCPRESET_MAX_DURATION_MS / 1000) {
        fprintf(stderr, "mmc-vip: SECONDS %u is out of range (1..%u)\n", seconds,
                (unsigned)(TCPRESET_MAX_DURATION_MS / 1000));
        return EXIT_USAGE;
    }
    rv = uv_loop_init(&loop);
    if (rv != 0) {
        fprintf(stderr, "mmc-vip: cannot start an event loop: %s\n", uv_strerror(rv));
        return EXIT_FAILED;
    }
    rv = tcpreset_init(&responder, &loop, errmsg, sizeof errmsg);
    if (rv != 0) {
        fprintf(stderr, "mmc-vip: %s\n", errmsg);
        uv_loop_close(&loop);
        return EXIT_FAILED;
    }
    responder.data = &run;
    uv_signal_init(&loop, &run.sigint);
    uv_signal_init(&loop, &run.sigterm);
    run.sigint.data = &responder;
    run.sigterm.data = &responder;
    rv = tcpreset_start(&responder, argv[2], vip.address, (uint64_t)seconds * 1000, on_reset_done,
                        errmsg, sizeof errmsg);
    if (rv != 0) {
        fprintf(stderr, "mmc-vip: %s\n", errmsg);
        run.status = EXIT_FAILED;
        stop_resetting(&responder);
    } else {
        uv_signal_start(&run.sigint, on_reset_signal, SIGINT);
        uv_signal_start(&run.sigterm, on_reset_signal, SIGTERM);
        printf("responding\n");
        fflush(stdout);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    if (rv == 0) {
        printf("sent %llu\ndropped %llu\n", (unsigned long long)tcpreset_sent(&responder),
               (unsigned long long)tcpreset_failed(&responder));
    }
    return run.status;
}

/* mmc-vip wake ADDR: ADDR may carry a prefix length, which is ignored. */
static int wake_command(int argc, char **argv)
{
    struct vip_address vip;
    char errmsg[256];
    unsigned woken;

    if (argc != 3) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (parse_host_address(argv[2], &vip) != 0) {
        return EXIT_USAGE;
    }
    int rv = sockreset_wake_clients(vip.address, &woken, errmsg, sizeof errmsg);
    printf("woken %u\n", woken);
    if (rv != 0) {
        fprintf(stderr, "mmc-vip: %s\n", errmsg);
        return EXIT_FAILED;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct cli cli;

    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "reset") == 0) {
        return reset_command(argc, argv);
    }
    if (argc >= 2 && strcmp(argv[1], "wake") == 0) {
        return wake_command(argc, argv);
    }
    if (parse_args(argc, argv, &cli) != 0) {
        return EXIT_USAGE;
    }
    if (strcmp(cli.command, "add") == 0 || strcmp(cli.command, "del") == 0 ||
        strcmp(cli.command, "has") == 0) {
        return address_command(&cli);
    }
    if (strcmp(cli.command, "announce") == 0) {
        return announce(&cli);
    }
    if (strcmp(cli.command, "watch") == 0) {
        return watch_until_stopped(&cli);
    }
    fprintf(stderr, "mmc-vip: unknown command \"%s\"\n", cli.command);
    usage(stderr);
    return EXIT_USAGE;
}
