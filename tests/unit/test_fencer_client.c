/*
 * The daemon's side of the fencer against the real mmcoord-fencer program: fencer_spawn()
 * starts it detached (own session) and only when none answers; the client connects, ARMs,
 * notices the fencer's death, reconnects to a new one and replays the ARM, reports a fence it
 * did not ask for, and DISARMs. The fencer is pointed at a MySQL port nobody listens on and an
 * interface that does not exist, so its fence fails harmlessly (state "fencing"); no root
 * needed. Needs $top_builddir (make check sets it).
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "coord/clock.h"
#include "coord/fencer_client.h"

static char dir[64], sock[128], logfile[128], cred[128], program[512], iface[16];
static char *argv_fencer[16];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/test_fencer_client.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(sock, sizeof sock, "%s/fencer.sock", dir);
    snprintf(logfile, sizeof logfile, "%s/fencer.log", dir);
    snprintf(cred, sizeof cred, "%s/client.cnf", dir);
    snprintf(iface, sizeof iface, "mmtn%d", (int)(getpid() % 10000000));
    FILE *f = fopen(cred, "w");
    ck_assert_ptr_nonnull(f);
    fputs("[client]\nuser = nobody\n", f);
    fclose(f);
    chmod(cred, 0600);
    const char *top = getenv("top_builddir");
    snprintf(program, sizeof program, "%s/coord/mmcoord-fencer", top != NULL ? top : ".");
    char *args[] = {program,
                    "--socket",
                    sock,
                    "--vip",
                    "10.254.254.1/32",
                    "--interface",
                    iface,
                    "--mysql",
                    "127.0.0.1:1",
                    "--credentials",
                    cred,
                    "--fence-timeout-ms",
                    "50",
                    NULL};
    memcpy(argv_fencer, args, sizeof args);
}

static bool answers(void)
{
    struct fencer_proto_reply reply;
    char err[256];
    return fencer_client_probe(sock, 200, &reply, err, sizeof err) == 0;
}

static pid_t spawn_and_wait(void)
{
    char err[256] = "";
    pid_t pid = fencer_spawn(sock, argv_fencer, logfile, err, sizeof err);
    ck_assert_msg(pid > 0, "fencer_spawn: %d %s", (int)pid, err);
    for (int i = 0; i < 200 && !answers(); i++) {
        usleep(10000);
    }
    ck_assert_msg(answers(), "the spawned fencer does not answer on %s", sock);
    return pid;
}

struct seen {
    unsigned changes;
    struct fencer_client_status last;
};

static void on_status(struct fencer_client *client, const struct fencer_client_status *status,
                      void *data)
{
    struct seen *seen = data;
    (void)client;
    seen->changes++;
    seen->last = *status;
}

/* Run @loop until the client reports @connected and (when connected) @state, or 5 s pass. */
static bool run_until(uv_loop_t *loop, struct seen *seen, bool connected,
                      enum fencer_proto_state state, uint64_t epoch)
{
    uint64_t deadline = clock_boottime_ms() + 5000;
    while (clock_boottime_ms() < deadline) {
        if (seen->last.connected == connected &&
            (!connected || (seen->last.state == state && seen->last.epoch == epoch))) {
            return true;
        }
        uv_run(loop, UV_RUN_ONCE);
    }
    return false;
}

START_TEST(spawn_arm_reconnect_replay_fence_disarm)
{
    setup();
    char err[256] = "";
    pid_t pid = spawn_and_wait();
    /* Another session and process group: signals to the daemon's group do not reach it. */
    ck_assert_int_ne(getsid(pid), getsid(0));
    ck_assert_int_ne(getpgid(pid), getpgid(0));
    ck_assert_int_eq(fencer_spawn(sock, argv_fencer, logfile, err, sizeof err), 0);

    uv_loop_t loop;
    uv_loop_init(&loop);
    struct seen seen = {0};
    struct fencer_client *client;
    ck_assert_int_eq(
        fencer_client_start(&loop, sock, 50, on_status, &seen, &client, err, sizeof err), 0);
    ck_assert(run_until(&loop, &seen, true, FENCER_PROTO_DISARMED, 0));

    uint64_t fence_at = clock_boottime_ms() + 60000;
    fencer_client_arm(client, 3, fence_at);
    ck_assert(run_until(&loop, &seen, true, FENCER_PROTO_ARMED, 3));
    ck_assert_uint_eq(seen.last.fence_at_ms, fence_at);

    /* The fencer dies; a new one learns the deadline from the client without being told. */
    kill(pid, SIGKILL);
    ck_assert(run_until(&loop, &seen, false, 0, 0));
    ck_assert_str_ne(fencer_client_status(client)->error, "");
    pid = spawn_and_wait();
    ck_assert(run_until(&loop, &seen, true, FENCER_PROTO_ARMED, 3));
    ck_assert_uint_eq(seen.last.fence_at_ms, fence_at);

    /* A stale epoch is refused and reported; the state stays. */
    fencer_client_arm(client, 2, fence_at);
    uint64_t until = clock_boottime_ms() + 5000;
    while (strstr(seen.last.error, "older") == NULL && clock_boottime_ms() < until) {
        uv_run(&loop, UV_RUN_ONCE);
    }
    ck_assert_msg(strstr(seen.last.error, "older") != NULL, "error: '%s'", seen.last.error);
    ck_assert_int_eq(seen.last.state, FENCER_PROTO_ARMED);

    /* A deadline in the past: the fencer fences by itself (here the MySQL step fails: it keeps
     * retrying), and the client learns it from its PINGs. */
    fencer_client_arm(client, 3, clock_boottime_ms() - 1);
    ck_assert(run_until(&loop, &seen, true, FENCER_PROTO_FENCING, 3));

    fencer_client_disarm(client, 3);
    ck_assert(run_until(&loop, &seen, true, FENCER_PROTO_DISARMED, 0));

    fencer_client_close(client);
    uv_run(&loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(uv_loop_close(&loop), 0);

    /* Disarmed: SIGTERM stops it without fencing, and it removes its socket. */
    kill(pid, SIGTERM);
    for (int i = 0; i < 200 && access(sock, F_OK) == 0; i++) {
        usleep(10000);
    }
    ck_assert_int_ne(access(sock, F_OK), 0);
    FILE *log = fopen(logfile, "r");
    ck_assert_ptr_nonnull(log);
    char line[512];
    bool fenced = false, refused_mysql = false;
    while (fgets(line, sizeof line, log) != NULL) {
        fenced |= strstr(line, "deadline passed without a new ARM") != NULL;
        refused_mysql |= strstr(line, "NOT fenced") != NULL;
    }
    fclose(log);
    ck_assert(fenced && refused_mysql);
    char rm[160];
    snprintf(rm, sizeof rm, "rm -rf %s", dir);
    ck_assert_int_eq(system(rm), 0);
}
END_TEST

START_TEST(spawn_reports_a_missing_program)
{
    setup();
    char err[256] = "";
    char missing[600];
    snprintf(missing, sizeof missing, "%s/no-such-fencer", dir);
    argv_fencer[0] = missing;
    pid_t pid = fencer_spawn(sock, argv_fencer, logfile, err, sizeof err);
    ck_assert_int_eq(pid, -ENOENT);
    ck_assert_ptr_nonnull(strstr(err, "no-such-fencer"));
    char rm[160];
    snprintf(rm, sizeof rm, "rm -rf %s", dir);
    ck_assert_int_eq(system(rm), 0);
}
END_TEST

START_TEST(a_path_too_long_is_refused)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    char path[300];
    memset(path, 'a', sizeof path - 1);
    path[sizeof path - 1] = '\0';
    struct fencer_client *client = NULL;
    char err[256] = "";
    ck_assert_int_eq(fencer_client_start(&loop, path, 50, NULL, NULL, &client, err, sizeof err),
                     -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "longer than"));
    ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("fencer_client");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, spawn_arm_reconnect_replay_fence_disarm);
    tcase_add_test(tc, spawn_reports_a_missing_program);
    tcase_add_test(tc, a_path_too_long_is_refused);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
