/* raft over raft/transport: three raft_uv servers on one loop (127.0.0.1, free ports,
 * data directories under a mkdtemp directory) elect a leader and apply an entry on
 * all three, which only works if every RPC crossed our authenticated transport
 * intact. A fourth transport with the wrong secret, claiming a member's id, is
 * turned away without disturbing the cluster. */
#define _XOPEN_SOURCE 700
#include <check.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "raft/transport.h"

#define SECRET      "the cluster secret, 32 bytes...."
#define N_SERVERS   3
#define DEADLINE_MS 20000

static uv_loop_t loop;

struct server {
    struct raft_uv_transport transport;
    struct raft_io io;
    struct raft_fsm fsm;
    struct raft raft;
    char dir[256];
    unsigned applied;
    int rejects;
    char reject_reason[256];
    bool closed;
};

static struct server servers[N_SERVERS];
static struct transport_peer peers[N_SERVERS];
static char top_dir[] = "/tmp/mmcoord-transport-raft-XXXXXX";

static int free_port(void)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

static int fsm_apply(struct raft_fsm *fsm, const struct raft_buffer *buf, void **result)
{
    struct server *s = fsm->data;
    (void)buf;
    s->applied++;
    *result = NULL;
    return 0;
}

static int fsm_snapshot(struct raft_fsm *fsm, struct raft_buffer *bufs[], unsigned *n_bufs)
{
    (void)fsm;
    (void)bufs;
    (void)n_bufs;
    return RAFT_NOTFOUND; /* never needed: far below the snapshot threshold */
}

static int fsm_restore(struct raft_fsm *fsm, struct raft_buffer *buf)
{
    (void)fsm;
    (void)buf;
    return RAFT_NOTFOUND;
}

static void on_reject(void *data, const char *peer, const char *reason)
{
    struct server *s = data;
    (void)peer;
    s->rejects++;
    snprintf(s->reject_reason, sizeof s->reject_reason, "%s", reason);
}

static void transport_start(struct raft_uv_transport *t, const char *secret, void *data)
{
    struct transport_options opts = {
        .cluster_name = "prod",
        .secret = (const unsigned char *)secret,
        .secret_len = strlen(secret),
        .peers = peers,
        .n_peers = N_SERVERS,
        .on_reject = on_reject,
        .data = data,
    };
    char err[256];
    ck_assert_msg(transport_init(t, &loop, &opts, err, sizeof err) == 0, "%s", err);
}

static void server_start(struct server *s, unsigned i)
{
    struct raft_configuration conf;
    memset(s, 0, sizeof *s);
    snprintf(s->dir, sizeof s->dir, "%s/%u", top_dir, i + 1);
    ck_assert_int_eq(mkdir(s->dir, 0700), 0);
    transport_start(&s->transport, SECRET, s);
    ck_assert_int_eq(raft_uv_init(&s->io, &loop, s->dir, &s->transport), 0);
    raft_uv_set_connect_retry_delay(&s->io, 100);
    s->fsm.version = 1;
    s->fsm.data = s;
    s->fsm.apply = fsm_apply;
    s->fsm.snapshot = fsm_snapshot;
    s->fsm.restore = fsm_restore;
    ck_assert_int_eq(raft_init(&s->raft, &s->io, &s->fsm, peers[i].id, peers[i].address), 0);
    raft_set_election_timeout(&s->raft, 300);
    raft_set_heartbeat_timeout(&s->raft, 50);
    raft_configuration_init(&conf);
    for (unsigned j = 0; j < N_SERVERS; j++) {
        ck_assert_int_eq(raft_configuration_add(&conf, peers[j].id, peers[j].address, RAFT_VOTER),
                         0);
    }
    ck_assert_int_eq(raft_bootstrap(&s->raft, &conf), 0);
    raft_configuration_close(&conf);
    ck_assert_int_eq(raft_start(&s->raft), 0);
}

static bool deadline_hit;

static void deadline_cb(uv_timer_t *timer)
{
    (void)timer;
    deadline_hit = true;
}

static void run_until(bool (*done)(void), const char *what)
{
    uv_timer_t deadline;
    deadline_hit = false;
    uv_timer_init(&loop, &deadline);
    uv_timer_start(&deadline, deadline_cb, DEADLINE_MS, 0);
    while (!done() && !deadline_hit) {
        uv_run(&loop, UV_RUN_ONCE);
    }
    uv_close((uv_handle_t *)&deadline, NULL);
    uv_run(&loop, UV_RUN_NOWAIT);
    ck_assert_msg(done(), "timed out waiting for %s", what);
}

static struct server *leader(void)
{
    for (unsigned i = 0; i < N_SERVERS; i++) {
        if (raft_state(&servers[i].raft) == RAFT_LEADER) {
            return &servers[i];
        }
    }
    return NULL;
}

static bool have_leader(void)
{
    return leader() != NULL;
}

static bool all_applied(void)
{
    for (unsigned i = 0; i < N_SERVERS; i++) {
        if (servers[i].applied < 1) {
            return false;
        }
    }
    return true;
}

static bool apply_done_flag;
static int apply_status;

static void apply_cb(struct raft_apply *req, int status, void *result)
{
    (void)req;
    (void)result;
    apply_done_flag = true;
    apply_status = status;
}

static bool apply_done(void)
{
    return apply_done_flag;
}

static void server_closed_cb(struct raft *r)
{
    for (unsigned i = 0; i < N_SERVERS; i++) {
        if (&servers[i].raft == r) {
            servers[i].closed = true;
        }
    }
}

static bool all_closed(void)
{
    for (unsigned i = 0; i < N_SERVERS; i++) {
        if (!servers[i].closed) {
            return false;
        }
    }
    return true;
}

/* The intruder: right cluster name, wrong secret, claims member 1's id. */
static struct {
    struct raft_uv_transport transport;
    struct raft_uv_connect req;
    bool done;
    int status;
    bool closed;
    int rejects;
} intruder;

static void intruder_reject(void *data, const char *peer, const char *reason)
{
    (void)data;
    (void)peer;
    (void)reason;
    intruder.rejects++;
}

static void intruder_connect_cb(struct raft_uv_connect *req, uv_stream_t *stream, int status)
{
    (void)req;
    intruder.done = true;
    intruder.status = status;
    ck_assert_ptr_null(stream);
}

static bool intruder_done(void)
{
    return intruder.done && servers[1].rejects > 0;
}

static void intruder_close_cb(struct raft_uv_transport *t)
{
    (void)t;
    intruder.closed = true;
}

static bool intruder_closed(void)
{
    return intruder.closed;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

START_TEST(test_raft_over_transport)
{
    struct raft_apply req;
    struct raft_buffer buf;
    struct server *l;
    struct transport_options opts = {
        .cluster_name = "prod",
        .secret = (const unsigned char *)"not the cluster secret at all!!!",
        .secret_len = 32,
        .peers = peers,
        .n_peers = N_SERVERS,
        .on_reject = intruder_reject,
    };
    char err[256];

    ck_assert_int_eq(uv_loop_init(&loop), 0);
    ck_assert_ptr_nonnull(mkdtemp(top_dir));
    for (unsigned i = 0; i < N_SERVERS; i++) {
        peers[i].id = i + 1;
        snprintf(peers[i].address, sizeof peers[i].address, "127.0.0.1:%d", free_port());
    }
    for (unsigned i = 0; i < N_SERVERS; i++) {
        server_start(&servers[i], i);
    }

    run_until(have_leader, "a leader");
    l = leader();
    buf.len = 8;
    buf.base = raft_malloc(buf.len);
    ck_assert_ptr_nonnull(buf.base);
    memset(buf.base, 0x42, buf.len);
    ck_assert_int_eq(raft_apply(&l->raft, &req, &buf, 1, apply_cb), 0);
    run_until(all_applied, "the entry applied on all three servers");
    ck_assert(apply_done_flag);
    ck_assert_int_eq(apply_status, 0);

    /* Nothing legitimate was ever rejected. */
    for (unsigned i = 0; i < N_SERVERS; i++) {
        ck_assert_msg(servers[i].rejects == 0, "server %u rejected: %s", i + 1,
                      servers[i].reject_reason);
    }

    ck_assert_msg(transport_init(&intruder.transport, &loop, &opts, err, sizeof err) == 0, "%s",
                  err);
    ck_assert_int_eq(intruder.transport.init(&intruder.transport, 1, peers[0].address), 0);
    ck_assert_int_eq(intruder.transport.connect(&intruder.transport, &intruder.req, 2,
                                                peers[1].address, intruder_connect_cb),
                     0);
    run_until(intruder_done, "the intruder to be turned away");
    ck_assert_int_eq(intruder.status, RAFT_NOCONNECTION);
    ck_assert_int_eq(intruder.rejects, 1);
    ck_assert_msg(strstr(servers[1].reject_reason, "wrong cluster secret") != NULL, "%s",
                  servers[1].reject_reason);
    intruder.transport.close(&intruder.transport, intruder_close_cb);
    run_until(intruder_closed, "the intruder's transport to close");
    transport_release(&intruder.transport);

    /* The cluster still commits. */
    run_until(have_leader, "a leader after the intrusion");
    l = leader();
    apply_done_flag = false;
    buf.base = raft_malloc(buf.len);
    ck_assert_ptr_nonnull(buf.base);
    memset(buf.base, 0x43, buf.len);
    ck_assert_int_eq(raft_apply(&l->raft, &req, &buf, 1, apply_cb), 0);
    run_until(apply_done, "a second entry to commit");
    ck_assert_int_eq(apply_status, 0);

    for (unsigned i = 0; i < N_SERVERS; i++) {
        raft_close(&servers[i].raft, server_closed_cb);
    }
    run_until(all_closed, "raft to close");
    for (unsigned i = 0; i < N_SERVERS; i++) {
        raft_uv_close(&servers[i].io);
        transport_release(&servers[i].transport);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
    nftw(top_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("transport_raft");
    TCase *tc = tcase_create("raft");
    SRunner *runner;
    int failed;
    signal(SIGPIPE, SIG_IGN); /* as the daemon does: peers may vanish mid-write */
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_raft_over_transport);
    suite_add_tcase(s, tc);
    runner = srunner_create(s);
    srunner_run_all(runner, CK_NORMAL);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
