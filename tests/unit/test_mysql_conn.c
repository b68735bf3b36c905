/* mysql/conn.c deadlines without a server: a port where nothing listens is refused at once, a
 * listener that never answers (what a SIGSTOPped mysqld looks like) times out at the deadline
 * to the millisecond, and a listener that accepts and resets is reported as a reset. Loopback
 * only; the ports are the kernel's choice. */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "coord/clock.h"
#include "mysql/conn.h"
#include "mysql/probe.h"

static const struct mysql_credentials creds = {.user = "nobody", .password = "not-a-secret-x9"};

/* A listening socket on 127.0.0.1 with a kernel-chosen port. */
static int listener(unsigned *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(listen(fd, 8), 0);
    socklen_t len = sizeof(sa);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

START_TEST(test_refused)
{
    unsigned port;
    close(listener(&port)); /* nothing listens there any more */
    struct mysql_conn *conn = mysql_conn_new("127.0.0.1", port, &creds);
    ck_assert_ptr_nonnull(conn);
    char err[256];
    ck_assert_int_eq(mysql_conn_connect(conn, clock_boottime_ms() + 1000, err, sizeof(err)),
                     -ECONNREFUSED);
    ck_assert_ptr_nonnull(strstr(err, "refused"));
    ck_assert_ptr_null(strstr(err, creds.password));
    ck_assert(!mysql_conn_is_connected(conn));

    struct mysql_probe_result r;
    ck_assert_int_eq(mysql_probe_run(conn, 500, &r), -ECONNREFUSED);
    ck_assert_int_eq(r.state, MYSQL_PROBE_REFUSED);
    ck_assert_str_eq(mysql_probe_state_name(r.state), "refused");
    mysql_probe_result_clear(&r);
    mysql_conn_free(conn);
}
END_TEST

START_TEST(test_silent_listener_times_out)
{
    unsigned port;
    int fd = listener(&port); /* the kernel completes the handshake; nobody ever speaks */
    struct mysql_conn *conn = mysql_conn_new("127.0.0.1", port, &creds);
    char err[256];
    uint64_t start = clock_boottime_us();
    ck_assert_int_eq(mysql_conn_connect(conn, start / 1000 + 250, err, sizeof(err)), -ETIMEDOUT);
    uint64_t took = clock_boottime_us() - start;
    /* At the deadline, not before it and not at the connector's whole-second timeout. */
    ck_assert_uint_ge(took, 249000);
    ck_assert_uint_lt(took, 900000);
    ck_assert_ptr_nonnull(strstr(err, "deadline"));

    struct mysql_probe_result r;
    ck_assert_int_eq(mysql_probe_run(conn, 100, &r), -ETIMEDOUT);
    ck_assert_int_eq(r.state, MYSQL_PROBE_TIMEOUT);
    mysql_probe_result_clear(&r);

    /* A query reconnects first and fails the same way. */
    ck_assert_int_eq(
        mysql_conn_query(conn, "SELECT 1", clock_boottime_ms() + 50, NULL, err, sizeof(err)),
        -ETIMEDOUT);
    mysql_conn_free(conn);
    close(fd);
}
END_TEST

START_TEST(test_reset_during_handshake)
{
    unsigned port;
    int fd = listener(&port);
    struct mysql_conn *conn = mysql_conn_new("127.0.0.1", port, &creds);
    char err[256];
    /* Accept in a child and reset at once (SO_LINGER 0), as a dying server does. */
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        int c = accept(fd, NULL, NULL);
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        close(c);
        _exit(0);
    }
    int rc = mysql_conn_connect(conn, clock_boottime_ms() + 2000, err, sizeof(err));
    ck_assert_msg(rc == -ECONNRESET || rc == -EIO, "rc=%d %s", rc, err);
    ck_assert(!mysql_conn_is_connected(conn));
    mysql_conn_free(conn);
    close(fd);
    waitpid(child, NULL, 0);
}
END_TEST

/* A listener whose accept queue is full drops SYNs: on loopback, what a dead or cut-off host
 * looks like to a connect. */
static int blackhole(unsigned *port, int queued[2])
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(listen(fd, 0), 0);
    socklen_t len = sizeof(sa);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    *port = ntohs(sa.sin_port);
    for (int i = 0; i < 2; i++) { /* a backlog of 0 queues one; the second waits in SYN_RECV */
        queued[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        ck_assert_int_ge(queued[i], 0);
        int rc = connect(queued[i], (struct sockaddr *)&sa, sizeof(sa));
        ck_assert(rc == 0 || errno == EINPROGRESS);
    }
    usleep(20000);
    return fd;
}

START_TEST(test_reach_bound_on_a_silent_host)
{
    unsigned port;
    int queued[2];
    int fd = blackhole(&port, queued);
    struct mysql_conn *conn = mysql_conn_new("127.0.0.1", port, &creds);
    mysql_conn_set_reach_ms(conn, 100);
    char err[256];
    uint64_t start = clock_boottime_ms();
    ck_assert_int_eq(mysql_conn_connect(conn, start + 3000, err, sizeof(err)), -ETIMEDOUT);
    /* Given up when the handshake did not come, long before the deadline; and said so. */
    ck_assert_uint_lt(clock_boottime_ms() - start, 2000);
    ck_assert_msg(strstr(err, "no TCP answer within 100 ms") != NULL, "%s", err);
    mysql_conn_free(conn);
    close(queued[0]);
    close(queued[1]);
    close(fd);
}
END_TEST

START_TEST(test_reach_bound_spares_a_silent_server)
{
    unsigned port;
    int fd = listener(&port); /* the kernel answers the handshake: a stopped mysqld */
    struct mysql_conn *conn = mysql_conn_new("127.0.0.1", port, &creds);
    mysql_conn_set_reach_ms(conn, 20);
    char err[256];
    uint64_t start = clock_boottime_ms();
    ck_assert_int_eq(mysql_conn_connect(conn, start + 300, err, sizeof(err)), -ETIMEDOUT);
    /* The greeting gets the whole deadline. */
    ck_assert_uint_ge(clock_boottime_ms() - start, 299);
    ck_assert_msg(strstr(err, "within the deadline") != NULL, "%s", err);
    mysql_conn_free(conn);
    close(fd);
}
END_TEST

START_TEST(test_deadline_in_the_past)
{
    struct mysql_conn *conn = mysql_conn_new("127.0.0.1", 9, &creds);
    char err[256];
    ck_assert_int_eq(mysql_conn_connect(conn, clock_boottime_ms() - 1, err, sizeof(err)),
                     -ETIMEDOUT);
    ck_assert_str_eq(mysql_conn_address(conn), "127.0.0.1:9");
    ck_assert_str_eq(mysql_conn_user(conn), "nobody");
    ck_assert_uint_eq(mysql_conn_connect_count(conn), 0);
    mysql_conn_free(conn);
    mysql_conn_free(NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mysql_conn");
    TCase *tc = tcase_create("conn");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_refused);
    tcase_add_test(tc, test_silent_listener_times_out);
    tcase_add_test(tc, test_reset_during_handshake);
    tcase_add_test(tc, test_deadline_in_the_past);
    tcase_add_test(tc, test_reach_bound_on_a_silent_host);
    tcase_add_test(tc, test_reach_bound_spares_a_silent_server);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
