/* raft/node.c's I/O guard over a fake raft_io whose writes fail on demand. libraft 0.15 goes on
 * after a failed write and its uv I/O writes the next appends right behind the gap, so the
 * guard must end the process (status 3) on the first failure, before the fake "disk" takes any
 * later append, and say what failed on which data dir. Each case runs in a forked child: the
 * child reports through a pipe what reached the disk, what raft was told and what was logged;
 * the parent checks that and the child's exit status. */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "raft/node.h"

#define MAX_QUEUED 8

/* ---- The fake I/O: appends queue up and are "written" in order when the test says so ---- */

struct fake {
    struct raft_io io;
    int report_fd;
    struct raft_io_append *queued[MAX_QUEUED];
    unsigned n_queued[MAX_QUEUED];
    unsigned queue_len;
    int append_returns;   /* what append returns at once */
    int set_term_returns; /* what set_term returns */
    int truncate_returns;
    struct raft_io_snapshot_put *put;
    bool closed;
};

static struct fake fake;

static void report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void report(const char *fmt, ...)
{
    char line[1400];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return;
    }
    if ((size_t)n > sizeof line - 2) {
        n = sizeof line - 2;
    }
    line[n++] = '\n';
    ssize_t ignored = write(fake.report_fd, line, (size_t)n);
    (void)ignored;
}

static int fake_init(struct raft_io *io, raft_id id, const char *address)
{
    (void)io, (void)id, (void)address;
    return 0;
}

static void fake_close(struct raft_io *io, raft_io_close_cb cb)
{
    fake.closed = true;
    if (cb != NULL) {
        cb(io);
    }
}

static int fake_load(struct raft_io *io, raft_term *term, raft_id *voted_for,
                     struct raft_snapshot **snapshot, raft_index *start_index,
                     struct raft_entry *entries[], size_t *n_entries)
{
    (void)io;
    *term = 0;
    *voted_for = 0;
    *snapshot = NULL;
    *start_index = 1;
    *entries = NULL;
    *n_entries = 0;
    return 0;
}

static int fake_start(struct raft_io *io, unsigned msecs, raft_io_tick_cb tick,
                      raft_io_recv_cb recv)
{
    (void)io, (void)msecs, (void)tick, (void)recv;
    return 0;
}

static int fake_bootstrap(struct raft_io *io, const struct raft_configuration *conf)
{
    (void)io, (void)conf;
    return 0;
}

static int fake_set_term(struct raft_io *io, raft_term term)
{
    (void)io;
    if (fake.set_term_returns == 0) {
        report("DISK term %llu", (unsigned long long)term);
    } else {
        snprintf(fake.io.errmsg, sizeof fake.io.errmsg, "open metadata1: permission denied");
    }
    return fake.set_term_returns;
}

static int fake_set_vote(struct raft_io *io, raft_id id)
{
    (void)io, (void)id;
    return 0;
}

static int fake_send(struct raft_io *io, struct raft_io_send *req,
                     const struct raft_message *message, raft_io_send_cb cb)
{
    (void)io, (void)req, (void)message, (void)cb;
    return 0;
}

static int fake_append(struct raft_io *io, struct raft_io_append *req,
                       const struct raft_entry entries[], unsigned n, raft_io_append_cb cb)
{
    (void)io, (void)entries;
    if (fake.append_returns != 0) {
        return fake.append_returns;
    }
    ck_assert_uint_lt(fake.queue_len, MAX_QUEUED);
    req->cb = cb;
    fake.queued[fake.queue_len] = req;
    fake.n_queued[fake.queue_len] = n;
    fake.queue_len++;
    return 0;
}

static int fake_truncate(struct raft_io *io, raft_index index)
{
    (void)io;
    if (fake.truncate_returns == 0) {
        report("DISK truncate %llu", (unsigned long long)index);
    }
    return fake.truncate_returns;
}

static int fake_snapshot_put(struct raft_io *io, unsigned trailing,
                             struct raft_io_snapshot_put *req, const struct raft_snapshot *snapshot,
                             raft_io_snapshot_put_cb cb)
{
    (void)io, (void)trailing, (void)snapshot;
    req->cb = cb;
    fake.put = req;
    return 0;
}

static int fake_snapshot_get(struct raft_io *io, struct raft_io_snapshot_get *req,
                             raft_io_snapshot_get_cb cb)
{
    (void)io, (void)req, (void)cb;
    return RAFT_NOTFOUND;
}

static raft_time fake_time(struct raft_io *io)
{
    (void)io;
    return 0;
}

static int fake_random(struct raft_io *io, int min, int max)
{
    (void)io, (void)max;
    return min;
}

/* Complete the queued appends in order, the first with @first_status and the rest with 0, the
 * way raft_uv does: after a failed write's callback it goes on and writes the next appends. */
static void fake_complete_all(int first_status)
{
    for (unsigned i = 0; i < fake.queue_len; i++) {
        int status = i == 0 ? first_status : 0;
        if (status == 0) {
            report("DISK append of %u entries", fake.n_queued[i]);
        } else {
            snprintf(fake.io.errmsg, sizeof fake.io.errmsg, "write failed: -1");
        }
        fake.queued[i]->cb(fake.queued[i], status);
    }
    fake.queue_len = 0;
}

static void fake_setup(int report_fd)
{
    memset(&fake, 0, sizeof fake);
    fake.report_fd = report_fd;
    struct raft_io *io = &fake.io;
    io->version = 2;
    io->init = fake_init;
    io->close = fake_close;
    io->load = fake_load;
    io->start = fake_start;
    io->bootstrap = fake_bootstrap;
    io->set_term = fake_set_term;
    io->set_vote = fake_set_vote;
    io->send = fake_send;
    io->append = fake_append;
    io->truncate = fake_truncate;
    io->snapshot_put = fake_snapshot_put;
    io->snapshot_get = fake_snapshot_get;
    io->time = fake_time;
    io->random = fake_random;
}

/* ---- What raft would see ---- */

static void on_event(void *data, enum log_level level, const char *message)
{
    (void)data;
    report("EVENT %d %s", (int)level, message);
}

static void raft_append_done(struct raft_io_append *req, int status)
{
    report("RAFT append %s done: %d", (const char *)req->data, status);
}

static void raft_put_done(struct raft_io_snapshot_put *req, int status)
{
    (void)req;
    report("RAFT snapshot done: %d", status);
}

static struct raft_entry entry = {.term = 1, .type = RAFT_COMMAND};
static struct raft_io_append first = {.data = "first"};
static struct raft_io_append second = {.data = "second"};

/* ---- Running a scenario in a child ---- */

struct outcome {
    int exit_status; /* -signal when killed */
    char report[16384];
};

static void run_child(void (*scenario)(struct raft_io *io), const char *data_dir,
                      struct outcome *out)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(fds[0]);
        fake_setup(fds[1]);
        static struct node_io_guard guard;
        node_io_guard_init(&guard, &fake.io, data_dir, on_event, NULL);
        struct raft_io *io = node_io_guard_io(&guard);
        io->data = &guard; /* raft_init would put the raft here */
        ck_assert_int_eq(io->init(io, 1, "127.0.0.1:1"), 0);
        scenario(io);
        report("ALIVE");
        _exit(0);
    }
    close(fds[1]);
    size_t used = 0;
    for (;;) {
        ssize_t n = read(fds[0], out->report + used, sizeof out->report - 1 - used);
        if (n <= 0) {
            break;
        }
        used += (size_t)n;
    }
    out->report[used] = '\0';
    close(fds[0]);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    out->exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

static void append_two_then_fail_first(struct raft_io *io)
{
    ck_assert_int_eq(io->append(io, &first, &entry, 1, raft_append_done), 0);
    ck_assert_int_eq(io->append(io, &second, &entry, 1, raft_append_done), 0);
    fake_complete_all(RAFT_IOERR);
}

START_TEST(failed_append_exits_before_the_next_reaches_the_disk)
{
    struct outcome out;
    run_child(append_two_then_fail_first, "/nonexistent/mmc-test-raft", &out);
    ck_assert_msg(out.exit_status == NODE_EXIT_STORAGE_FAILED, "exit %d, report:\n%s",
                  out.exit_status, out.report);
    ck_assert_int_eq(NODE_EXIT_STORAGE_FAILED, 3);
    /* Nothing after the failed append was written, and raft was never told to go on. */
    ck_assert_msg(strstr(out.report, "DISK append") == NULL, "%s", out.report);
    ck_assert_msg(strstr(out.report, "RAFT append") == NULL, "%s", out.report);
    ck_assert_msg(strstr(out.report, "ALIVE") == NULL, "%s", out.report);
    /* One error naming what failed, where, raft_uv's detail, the data dir's state, the way
     * out. */
    char expected_level[16];
    snprintf(expected_level, sizeof expected_level, "EVENT %d ", (int)LOG_LEVEL_ERROR);
    ck_assert_msg(strstr(out.report, expected_level) == out.report, "%s", out.report);
    ck_assert_msg(strstr(out.report, "appending 1 log entry failed in data dir "
                                     "/nonexistent/mmc-test-raft: I/O error (write failed: -1)"),
                  "%s", out.report);
    ck_assert_msg(strstr(out.report, "creating a file there fails now: No such file or "
                                     "directory"),
                  "%s", out.report);
    ck_assert_msg(strstr(out.report, "exits now with status 3"), "%s", out.report);
}
END_TEST

static void append_refused_at_once(struct raft_io *io)
{
    fake.append_returns = RAFT_NOMEM;
    io->append(io, &first, &entry, 1, raft_append_done);
    report("RAFT append returned");
}

START_TEST(append_refused_at_once_exits)
{
    struct outcome out;
    run_child(append_refused_at_once, "/nonexistent/mmc-test-raft", &out);
    ck_assert_int_eq(out.exit_status, NODE_EXIT_STORAGE_FAILED);
    ck_assert_msg(strstr(out.report, "RAFT append returned") == NULL, "%s", out.report);
    ck_assert_msg(strstr(out.report, "appending 1 log entry failed"), "%s", out.report);
}
END_TEST

static void term_not_saved(struct raft_io *io)
{
    fake.set_term_returns = RAFT_IOERR;
    io->set_term(io, 7);
    report("RAFT set_term returned");
}

START_TEST(unsaved_term_exits)
{
    struct outcome out;
    run_child(term_not_saved, "/nonexistent/mmc-test-raft", &out);
    ck_assert_int_eq(out.exit_status, NODE_EXIT_STORAGE_FAILED);
    ck_assert_msg(strstr(out.report, "RAFT set_term returned") == NULL, "%s", out.report);
    ck_assert_msg(strstr(out.report, "saving term 7 failed in data dir /nonexistent/mmc-test-raft: "
                                     "I/O error (open metadata1: permission denied)"),
                  "%s", out.report);
}
END_TEST

static void truncate_refused(struct raft_io *io)
{
    fake.truncate_returns = RAFT_IOERR;
    io->truncate(io, 42);
    report("RAFT truncate returned");
}

START_TEST(refused_truncate_exits)
{
    struct outcome out;
    run_child(truncate_refused, "/nonexistent/mmc-test-raft", &out);
    ck_assert_int_eq(out.exit_status, NODE_EXIT_STORAGE_FAILED);
    ck_assert_msg(strstr(out.report, "truncating the log from index 42 failed"), "%s", out.report);
}
END_TEST

static void snapshot_not_written(struct raft_io *io)
{
    struct raft_snapshot snapshot = {.index = 99, .term = 2};
    static struct raft_io_snapshot_put put;
    ck_assert_int_eq(io->snapshot_put(io, 128, &put, &snapshot, raft_put_done), 0);
    fake.put->cb(fake.put, RAFT_IOERR);
}

START_TEST(failed_snapshot_exits)
{
    struct outcome out;
    run_child(snapshot_not_written, "/nonexistent/mmc-test-raft", &out);
    ck_assert_int_eq(out.exit_status, NODE_EXIT_STORAGE_FAILED);
    ck_assert_msg(strstr(out.report, "RAFT snapshot done") == NULL, "%s", out.report);
    ck_assert_msg(strstr(out.report, "writing the snapshot at index 99 failed"), "%s", out.report);
}
END_TEST

/* Writes that succeed reach raft unchanged; appends cancelled because raft closed the I/O are
 * the normal end of a clean stop, not a failure. */
static void healthy_then_closed(struct raft_io *io)
{
    ck_assert_int_eq(io->set_term(io, 3), 0);
    ck_assert_int_eq(io->truncate(io, 5), 0);
    ck_assert_int_eq(io->append(io, &first, &entry, 1, raft_append_done), 0);
    fake_complete_all(0);
    ck_assert_int_eq(io->append(io, &second, &entry, 1, raft_append_done), 0);
    io->close(io, NULL);
    fake.queued[0]->cb(fake.queued[0], RAFT_CANCELED);
}

START_TEST(successes_pass_through_and_a_close_cancels_quietly)
{
    char dir[] = "/tmp/mmc-node-io-fail-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    struct outcome out;
    run_child(healthy_then_closed, dir, &out);
    rmdir(dir);
    ck_assert_msg(out.exit_status == 0, "exit %d, report:\n%s", out.exit_status, out.report);
    ck_assert_str_eq(out.report, "DISK term 3\n"
                                 "DISK truncate 5\n"
                                 "DISK append of 1 entries\n"
                                 "RAFT append first done: 0\n"
                                 "RAFT append second done: 13\n"
                                 "ALIVE\n");
}
END_TEST

/* The error says what the data dir does now, from a real write attempt there. */
static void fail_one_append(struct raft_io *io)
{
    ck_assert_int_eq(io->append(io, &first, &entry, 1, raft_append_done), 0);
    fake_complete_all(RAFT_IOERR);
}

START_TEST(the_error_probes_the_data_dir)
{
    char dir[] = "/tmp/mmc-node-io-fail-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    struct outcome out;
    run_child(fail_one_append, dir, &out);
    char probe[64];
    snprintf(probe, sizeof probe, "%s/.mmc-write-probe", dir);
    ck_assert_int_ne(access(probe, F_OK), 0); /* the probe cleans up after itself */
    ck_assert_int_eq(rmdir(dir), 0);
    ck_assert_int_eq(out.exit_status, NODE_EXIT_STORAGE_FAILED);
    ck_assert_msg(strstr(out.report, "a test write there succeeds now"), "%s", out.report);
}
END_TEST

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    Suite *s = suite_create("node_io_fail");
    TCase *tc = tcase_create("guard");
    tcase_add_test(tc, failed_append_exits_before_the_next_reaches_the_disk);
    tcase_add_test(tc, append_refused_at_once_exits);
    tcase_add_test(tc, unsaved_term_exits);
    tcase_add_test(tc, refused_truncate_exits);
    tcase_add_test(tc, failed_snapshot_exits);
    tcase_add_test(tc, successes_pass_through_and_a_close_cancels_quietly);
    tcase_add_test(tc, the_error_probes_the_data_dir);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
