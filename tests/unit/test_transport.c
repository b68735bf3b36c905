/* Tests of raft/transport: real TCP on 127.0.0.1, ports chosen free at run time, all
 * transports on one uv loop. Each test checks what a node operator would notice: a
 * node with the right secret gets through with its bytes intact, anything else is
 * turned away with a reason and never reaches raft. */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "raft/transport.h"

#define SECRET           "0123456789abcdef0123456789abcdef"
#define LOOP_DEADLINE_MS 5000

static uv_loop_t loop;

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

/* ---- a node: one transport and what it saw ---- */

struct node {
    struct raft_uv_transport t; /* first: tests map t back to the node */
    uint64_t id;
    char address[TRANSPORT_ADDRESS_MAX];
    int accepts;
    uint64_t accepted_id;
    char accepted_address[TRANSPORT_ADDRESS_MAX];
    uv_stream_t *accepted;
    int rejects;
    char reject_peer[TRANSPORT_ADDRESS_MAX];
    char reject_reason[256];
    int forwards;
    uint64_t forward_from;
    uv_stream_t *forwarded;
    bool closed;
};

static struct transport_peer peers[4];
static unsigned n_peers;

static void on_reject(void *data, const char *peer, const char *reason)
{
    struct node *n = data;
    n->rejects++;
    snprintf(n->reject_peer, sizeof n->reject_peer, "%s", peer);
    snprintf(n->reject_reason, sizeof n->reject_reason, "%s", reason);
}

static void write_bytes(uv_stream_t *stream, const void *bytes, size_t len);

static void on_forward(void *data, uint64_t from, uv_stream_t *stream)
{
    struct node *n = data;
    n->forwards++;
    n->forward_from = from;
    n->forwarded = stream;
    /* Answer at once, right behind our ACCEPT frame: the client must not swallow it. */
    write_bytes(stream, "pong", 4);
}

static void accept_cb(struct raft_uv_transport *t, raft_id id, const char *address,
                      uv_stream_t *stream)
{
    struct node *n = (struct node *)t;
    n->accepts++;
    n->accepted_id = id;
    snprintf(n->accepted_address, sizeof n->accepted_address, "%s", address);
    if (n->accepted != NULL) {
        uv_close((uv_handle_t *)stream, transport_stream_close_cb);
        return;
    }
    n->accepted = stream;
}

static void setup_peers(unsigned count)
{
    n_peers = count;
    for (unsigned i = 0; i < count; i++) {
        peers[i].id = i + 1;
        snprintf(peers[i].address, sizeof peers[i].address, "127.0.0.1:%d", free_port());
    }
}

static void node_start(struct node *n, uint64_t id, const char *cluster, const char *secret,
                       unsigned timeout_ms, bool listen)
{
    struct transport_options opts = {
        .cluster_name = cluster,
        .secret = (const unsigned char *)secret,
        .secret_len = strlen(secret),
        .peers = peers,
        .n_peers = n_peers,
        .handshake_timeout_ms = timeout_ms,
        .on_reject = on_reject,
        .on_forward = on_forward,
        .data = n,
    };
    char err[256];
    memset(n, 0, sizeof *n);
    n->id = id;
    snprintf(n->address, sizeof n->address, "%s", peers[id - 1].address);
    ck_assert_msg(transport_init(&n->t, &loop, &opts, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(n->t.init(&n->t, id, n->address), 0);
    if (listen) {
        ck_assert_msg(n->t.listen(&n->t, accept_cb) == 0, "%s", n->t.errmsg);
    }
}

static void node_close_cb(struct raft_uv_transport *t)
{
    ((struct node *)t)->closed = true;
}

/* ---- running the loop ---- */

static bool deadline_hit;

static void deadline_cb(uv_timer_t *timer)
{
    (void)timer;
    deadline_hit = true;
}

/* Run the loop until @done returns true; fail the test after LOOP_DEADLINE_MS. */
static void run_until(bool (*done)(void *), void *arg, const char *what)
{
    uv_timer_t deadline;
    deadline_hit = false;
    uv_timer_init(&loop, &deadline);
    uv_timer_start(&deadline, deadline_cb, LOOP_DEADLINE_MS, 0);
    while (!done(arg) && !deadline_hit) {
        uv_run(&loop, UV_RUN_ONCE);
    }
    uv_close((uv_handle_t *)&deadline, NULL);
    uv_run(&loop, UV_RUN_NOWAIT);
    ck_assert_msg(done(arg), "timed out waiting for %s", what);
}

/* Let the loop run for @ms milliseconds (for "nothing else happens" checks). */
static void run_for(unsigned ms)
{
    uv_timer_t timer;
    deadline_hit = false;
    uv_timer_init(&loop, &timer);
    uv_timer_start(&timer, deadline_cb, ms, 0);
    while (!deadline_hit) {
        uv_run(&loop, UV_RUN_ONCE);
    }
    uv_close((uv_handle_t *)&timer, NULL);
    uv_run(&loop, UV_RUN_NOWAIT);
}

static bool node_closed(void *arg)
{
    return ((struct node *)arg)->closed;
}

static void node_stop(struct node *n)
{
    if (n->accepted != NULL) {
        uv_close((uv_handle_t *)n->accepted, transport_stream_close_cb);
    }
    if (n->forwarded != NULL) {
        uv_close((uv_handle_t *)n->forwarded, transport_stream_close_cb);
    }
    n->t.close(&n->t, node_close_cb);
    run_until(node_closed, n, "transport close");
    transport_release(&n->t);
}

static void loop_setup(void)
{
    ck_assert_int_eq(uv_loop_init(&loop), 0);
}

static void walk_cb(uv_handle_t *handle, void *arg)
{
    (void)arg;
    fprintf(stderr, "leaked handle type %s\n", uv_handle_type_name(handle->type));
}

static void loop_teardown(void)
{
    uv_run(&loop, UV_RUN_NOWAIT);
    uv_walk(&loop, walk_cb, NULL);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
}

/* ---- stream reading helper ---- */

struct sink {
    char data[65536];
    size_t len;
    bool eof;
};

static void sink_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    struct sink *s = handle->data;
    (void)suggested;
    *buf = uv_buf_init(s->data + s->len, (unsigned)(sizeof s->data - s->len));
}

static void sink_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    struct sink *s = stream->data;
    (void)buf;
    if (nread > 0) {
        s->len += (size_t)nread;
    } else if (nread < 0) {
        s->eof = true;
        uv_read_stop(stream);
    }
}

struct wait_len {
    struct sink *sink;
    size_t len;
};

static bool sink_has(void *arg)
{
    struct wait_len *w = arg;
    return w->sink->len >= w->len;
}

static bool sink_eof(void *arg)
{
    return ((struct sink *)arg)->eof;
}

static void write_done(uv_write_t *req, int status)
{
    (void)status;
    free(req);
}

static void write_bytes(uv_stream_t *stream, const void *bytes, size_t len)
{
    uv_write_t *req = malloc(sizeof *req);
    uv_buf_t buf = uv_buf_init((char *)bytes, (unsigned)len);
    ck_assert_ptr_nonnull(req);
    ck_assert_int_eq(uv_write(req, stream, &buf, 1, write_done), 0);
}

/* ---- raft connect requests ---- */

static char payload[20000];

struct connect_result {
    struct raft_uv_connect req;
    bool done;
    int status;
    uv_stream_t *stream;
    bool write_payload;
};

static void connect_cb(struct raft_uv_connect *req, uv_stream_t *stream, int status)
{
    struct connect_result *r = req->data;
    r->done = true;
    r->status = status;
    r->stream = stream;
    if (status == 0 && r->write_payload) {
        /* Write at once: if the server side consumed anything past the handshake,
         * the bytes would not arrive intact. */
        write_bytes(stream, payload, sizeof payload);
    }
}

static bool connect_done(void *arg)
{
    return ((struct connect_result *)arg)->done;
}

static void connect_raft(struct node *from, struct node *to, struct connect_result *r)
{
    memset(r, 0, sizeof *r);
    r->req.data = r;
    ck_assert_int_eq(from->t.connect(&from->t, &r->req, to->id, to->address, connect_cb), 0);
}

static bool node_has_accept(void *arg)
{
    return ((struct node *)arg)->accepts > 0;
}

static bool node_has_reject(void *arg)
{
    return ((struct node *)arg)->rejects > 0;
}

/* ---- tests ---- */

START_TEST(test_good_handshake_both_ways)
{
    struct node a, b;
    struct connect_result r;
    struct sink sink;
    struct wait_len want = {&sink, sizeof payload};

    for (size_t i = 0; i < sizeof payload; i++) {
        payload[i] = (char)(i * 7 + 3);
    }
    setup_peers(2);
    node_start(&a, 1, "prod", SECRET, 0, true);
    node_start(&b, 2, "prod", SECRET, 0, true);

    for (int direction = 0; direction < 2; direction++) {
        struct node *client = direction == 0 ? &a : &b;
        struct node *server = direction == 0 ? &b : &a;
        connect_raft(client, server, &r);
        r.write_payload = true;
        run_until(connect_done, &r, "connect cb");
        ck_assert_int_eq(r.status, 0);
        run_until(node_has_accept, server, "accept cb");
        ck_assert_int_eq(server->accepts, 1);
        ck_assert_uint_eq(server->accepted_id, client->id);
        ck_assert_str_eq(server->accepted_address, client->address);

        /* Start reading only now, as raft would: every payload byte must be there. */
        memset(&sink, 0, sizeof sink);
        server->accepted->data = &sink;
        ck_assert_int_eq(uv_read_start(server->accepted, sink_alloc, sink_read), 0);
        run_until(sink_has, &want, "payload");
        ck_assert_uint_eq(sink.len, sizeof payload);
        ck_assert_int_eq(memcmp(sink.data, payload, sizeof payload), 0);
        ck_assert_int_eq(client->rejects + server->rejects, 0);

        uv_close((uv_handle_t *)r.stream, transport_stream_close_cb);
        uv_read_stop(server->accepted);
        uv_close((uv_handle_t *)server->accepted, transport_stream_close_cb);
        server->accepted = NULL;
    }
    node_stop(&a);
    node_stop(&b);
}
END_TEST

static void check_mismatch(const char *cluster_b, const char *secret_b)
{
    struct node a, b;
    struct connect_result r;

    setup_peers(2);
    node_start(&a, 1, "prod", SECRET, 0, true);
    node_start(&b, 2, cluster_b, secret_b, 0, true);

    connect_raft(&b, &a, &r);
    run_until(connect_done, &r, "connect cb");
    ck_assert_int_ne(r.status, 0);
    ck_assert_ptr_null(r.stream);
    /* The dialling side saw a server MAC it cannot match. */
    run_until(node_has_reject, &b, "reject on the client");
    ck_assert_str_eq(b.reject_peer, a.address);
    ck_assert_msg(strstr(b.reject_reason, "bad MAC") != NULL, "%s", b.reject_reason);
    /* The server saw the client give up after its challenge. */
    run_until(node_has_reject, &a, "reject on the server");
    ck_assert_msg(strncmp(a.reject_peer, "127.0.0.1:", 10) == 0, "%s", a.reject_peer);
    ck_assert_msg(strstr(a.reject_reason, "wrong cluster secret") != NULL, "%s", a.reject_reason);
    ck_assert_int_eq(a.accepts, 0);
    ck_assert_int_eq(b.accepts, 0);
    node_stop(&a);
    node_stop(&b);
}

START_TEST(test_wrong_secret_rejected)
{
    check_mismatch("prod", "another secret of the same size!");
}
END_TEST

START_TEST(test_wrong_cluster_name_rejected)
{
    check_mismatch("staging", SECRET);
}
END_TEST

/* A client that does not speak our protocol (or lies in it). */
struct raw_client {
    uv_tcp_t tcp;
    uv_connect_t connect;
    struct sink sink;
    const void *bytes;
    size_t len;
    uv_read_cb read_cb; /* NULL: sink_read */
};

static void raw_connect_cb(uv_connect_t *req, int status)
{
    struct raw_client *c = req->data;
    ck_assert_int_eq(status, 0);
    if (c->len > 0) {
        write_bytes((uv_stream_t *)&c->tcp, c->bytes, c->len);
    }
    ck_assert_int_eq(uv_read_start((uv_stream_t *)&c->tcp, sink_alloc,
                                   c->read_cb != NULL ? c->read_cb : sink_read),
                     0);
}

static void raw_start(struct raw_client *c, const char *address, const void *bytes, size_t len)
{
    struct sockaddr_in sa;
    const char *colon = strrchr(address, ':');
    memset(c, 0, sizeof *c);
    ck_assert_int_eq(uv_ip4_addr("127.0.0.1", atoi(colon + 1), &sa), 0);
    c->bytes = bytes;
    c->len = len;
    uv_tcp_init(&loop, &c->tcp);
    c->tcp.data = &c->sink;
    c->connect.data = c;
    ck_assert_int_eq(
        uv_tcp_connect(&c->connect, &c->tcp, (const struct sockaddr *)&sa, raw_connect_cb), 0);
}

static void raw_close_cb(uv_handle_t *handle)
{
    (void)handle;
}

static void raw_stop(struct raw_client *c)
{
    uv_close((uv_handle_t *)&c->tcp, raw_close_cb);
    uv_run(&loop, UV_RUN_NOWAIT);
}

/* Feed @bytes to a listening node and check it is dropped with a reason containing
 * @reason_part, without raft ever hearing of it. */
static void check_raw_rejected(const void *bytes, size_t len, unsigned timeout_ms,
                               const char *reason_part)
{
    struct node a;
    struct raw_client c;
    setup_peers(2);
    node_start(&a, 1, "prod", SECRET, timeout_ms, true);
    raw_start(&c, a.address, bytes, len);
    run_until(sink_eof, &c.sink, "the server to drop the raw client");
    run_until(node_has_reject, &a, "reject");
    ck_assert_msg(strstr(a.reject_reason, reason_part) != NULL, "reason: %s", a.reject_reason);
    ck_assert_msg(strncmp(a.reject_peer, "127.0.0.1:", 10) == 0, "%s", a.reject_peer);
    ck_assert_int_eq(a.accepts, 0);
    ck_assert_int_eq(a.forwards, 0);
    ck_assert_uint_eq(c.sink.len, 0); /* not even a challenge */
    raw_stop(&c);
    node_stop(&a);
}

START_TEST(test_garbage_rejected)
{
    char junk[TRANSPORT_HELLO_LEN];
    for (size_t i = 0; i < sizeof junk; i++) {
        junk[i] = (char)(0xa5 ^ i);
    }
    check_raw_rejected(junk, sizeof junk, 0, "malformed HELLO");
}
END_TEST

START_TEST(test_huge_claimed_length_rejected)
{
    /* What the stock transport's preamble looks like: protocol, id, then an address
     * length of 2^64-1 that it would try to allocate. */
    unsigned char stock[64];
    memset(stock, 0, sizeof stock);
    stock[7] = 1;
    stock[15] = 2;
    memset(stock + 16, 0xff, 8);
    check_raw_rejected(stock, sizeof stock, 0, "malformed HELLO");
}
END_TEST

START_TEST(test_truncated_hello_times_out)
{
    struct transport_hello hello = {TRANSPORT_VERSION, TRANSPORT_KIND_RAFT, 2, {0}};
    unsigned char frame[TRANSPORT_HELLO_LEN];
    transport_encode_hello(&hello, frame);
    check_raw_rejected(frame, 20, 200, "timed out");
}
END_TEST

START_TEST(test_unknown_id_rejected)
{
    struct transport_hello hello = {TRANSPORT_VERSION, TRANSPORT_KIND_RAFT, 99, {0}};
    unsigned char frame[TRANSPORT_HELLO_LEN];
    transport_encode_hello(&hello, frame);
    check_raw_rejected(frame, sizeof frame, 0, "not a configured peer");
}
END_TEST

START_TEST(test_own_id_rejected)
{
    struct transport_hello hello = {TRANSPORT_VERSION, TRANSPORT_KIND_FORWARD, 1, {0}};
    unsigned char frame[TRANSPORT_HELLO_LEN];
    transport_encode_hello(&hello, frame);
    check_raw_rejected(frame, sizeof frame, 0, "not a configured peer");
}
END_TEST

/* A client that knows the protocol but not the secret: it answers the challenge with a
 * made-up proof. Only the server's own MAC check stands between it and raft. */
static void forger_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    struct sink *s = stream->data;
    sink_read(stream, nread, buf);
    if (nread > 0 && s->len == TRANSPORT_CHALLENGE_LEN) {
        static unsigned char proof[TRANSPORT_PROOF_LEN] = {'M', 'M', 'P', '1'};
        write_bytes(stream, proof, sizeof proof);
    }
}

START_TEST(test_forged_proof_rejected)
{
    struct node a;
    struct raw_client c;
    struct transport_hello hello = {TRANSPORT_VERSION, TRANSPORT_KIND_RAFT, 2, {7}};
    unsigned char frame[TRANSPORT_HELLO_LEN];

    transport_encode_hello(&hello, frame);
    setup_peers(2);
    node_start(&a, 1, "prod", SECRET, 0, true);
    raw_start(&c, a.address, frame, sizeof frame);
    c.read_cb = forger_read;
    run_until(sink_eof, &c.sink, "the server to drop the forger");
    ck_assert_uint_eq(c.sink.len, TRANSPORT_CHALLENGE_LEN); /* a challenge, but no ACCEPT */
    ck_assert_int_eq(a.rejects, 1);
    ck_assert_msg(strstr(a.reject_reason, "bad MAC") != NULL, "%s", a.reject_reason);
    ck_assert_int_eq(a.accepts, 0);
    raw_stop(&c);
    node_stop(&a);
}
END_TEST

START_TEST(test_handshake_limit)
{
    enum { N = TRANSPORT_MAX_HANDSHAKES + 3 };
    struct node a;
    static struct raw_client c[N];
    setup_peers(2);
    node_start(&a, 1, "prod", SECRET, 3000, true);
    for (int i = 0; i < N; i++) {
        raw_start(&c[i], a.address, NULL, 0);
    }
    run_until(node_has_reject, &a, "the connections over the limit to be dropped");
    run_for(200);
    ck_assert_int_eq(a.rejects, N - TRANSPORT_MAX_HANDSHAKES);
    ck_assert_str_eq(a.reject_reason, "too many handshakes in progress");
    for (int i = 0; i < N; i++) {
        raw_stop(&c[i]);
    }
    node_stop(&a);
}
END_TEST

/* ---- FORWARD channels ---- */

struct forward_result {
    bool done;
    int status;
    uv_stream_t *stream;
};

static void forward_cb(void *data, uv_stream_t *stream, int status)
{
    struct forward_result *r = data;
    r->done = true;
    r->status = status;
    r->stream = stream;
    if (status == 0) {
        write_bytes(stream, "ping", 4);
    }
}

static bool forward_done(void *arg)
{
    return ((struct forward_result *)arg)->done;
}

static bool node_has_forward(void *arg)
{
    return ((struct node *)arg)->forwards > 0;
}

START_TEST(test_forward_round_trip)
{
    struct node a, b;
    struct forward_result r = {0};
    struct sink at_b, at_a;
    struct wait_len want_b = {&at_b, 4}, want_a = {&at_a, 4};

    setup_peers(2);
    node_start(&a, 1, "prod", SECRET, 0, true);
    node_start(&b, 2, "prod", SECRET, 0, true);
    ck_assert_int_eq(transport_connect_forward(&a.t, 2, b.address, forward_cb, &r), 0);
    run_until(forward_done, &r, "forward connect");
    ck_assert_int_eq(r.status, 0);
    run_until(node_has_forward, &b, "on_forward");
    ck_assert_uint_eq(b.forward_from, 1);
    ck_assert_int_eq(b.accepts, 0); /* raft never sees a FORWARD channel */

    memset(&at_b, 0, sizeof at_b);
    b.forwarded->data = &at_b;
    uv_read_start(b.forwarded, sink_alloc, sink_read);
    run_until(sink_has, &want_b, "ping");
    ck_assert_int_eq(memcmp(at_b.data, "ping", 4), 0);
    run_for(50); /* let the pong arrive before the client starts reading */

    memset(&at_a, 0, sizeof at_a);
    r.stream->data = &at_a;
    uv_read_start(r.stream, sink_alloc, sink_read);
    run_until(sink_has, &want_a, "pong");
    ck_assert_int_eq(memcmp(at_a.data, "pong", 4), 0);

    uv_close((uv_handle_t *)r.stream, transport_stream_close_cb);
    node_stop(&a);
    node_stop(&b);
}
END_TEST

/* ---- cancellation and timeouts ---- */

/* Bind and listen on peer 2's address without ever answering: the kernel completes the
 * TCP connect, nobody sends a CHALLENGE. */
static int silent_listener(void)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    uv_ip4_addr("127.0.0.1", atoi(strrchr(peers[1].address, ':') + 1), &sa);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(listen(fd, 8), 0);
    return fd;
}

START_TEST(test_close_cancels_pending_connects)
{
    struct node a;
    struct connect_result r;
    struct forward_result f = {0};
    int fd;

    setup_peers(2);
    fd = silent_listener();

    node_start(&a, 1, "prod", SECRET, 0, false);
    memset(&r, 0, sizeof r);
    r.req.data = &r;
    ck_assert_int_eq(a.t.connect(&a.t, &r.req, 2, peers[1].address, connect_cb), 0);
    run_for(50);
    ck_assert(!r.done);
    ck_assert_int_eq(transport_connect_forward(&a.t, 2, peers[1].address, forward_cb, &f), 0);
    run_for(50);
    ck_assert(!f.done);

    a.t.close(&a.t, node_close_cb);
    ck_assert(!r.done); /* never from inside close() */
    run_until(node_closed, &a, "transport close");
    ck_assert(r.done);
    ck_assert_int_eq(r.status, RAFT_CANCELED);
    ck_assert(f.done);
    ck_assert_int_eq(f.status, -ECANCELED);
    ck_assert_int_eq(a.rejects, 0);
    transport_release(&a.t);
    close(fd);
}
END_TEST

START_TEST(test_silent_server_times_out)
{
    struct node a;
    struct connect_result r;
    struct forward_result f = {0};
    int fd;

    setup_peers(2);
    fd = silent_listener();
    node_start(&a, 1, "prod", SECRET, 200, false);
    memset(&r, 0, sizeof r);
    r.req.data = &r;
    ck_assert_int_eq(a.t.connect(&a.t, &r.req, 2, peers[1].address, connect_cb), 0);
    ck_assert_int_eq(transport_connect_forward(&a.t, 2, peers[1].address, forward_cb, &f), 0);
    run_until(connect_done, &r, "the raft connect to time out");
    ck_assert_int_eq(r.status, RAFT_NOCONNECTION);
    run_until(forward_done, &f, "the forward connect to time out");
    ck_assert_int_eq(f.status, -ETIMEDOUT);
    ck_assert_int_eq(a.rejects, 2);
    ck_assert_str_eq(a.reject_peer, peers[1].address);
    ck_assert_str_eq(a.reject_reason, "handshake timed out after 200 ms");
    node_stop(&a);
    close(fd);
}
END_TEST

START_TEST(test_bad_options)
{
    struct raft_uv_transport t;
    struct transport_peer p[2] = {{1, "127.0.0.1:7401"}, {1, "127.0.0.1:7402"}};
    struct transport_options opts = {
        .cluster_name = "prod",
        .secret = (const unsigned char *)SECRET,
        .secret_len = strlen(SECRET),
        .peers = p,
        .n_peers = 2,
    };
    char err[256];
    ck_assert_int_eq(transport_init(&t, &loop, &opts, err, sizeof err), -EINVAL);
    ck_assert_msg(strstr(err, "listed twice") != NULL, "%s", err);
    p[1].id = 2;
    snprintf(p[1].address, sizeof p[1].address, "localhost");
    ck_assert_int_eq(transport_init(&t, &loop, &opts, err, sizeof err), -EINVAL);
    ck_assert_msg(strstr(err, "bad address") != NULL, "%s", err);
    snprintf(p[1].address, sizeof p[1].address, "127.0.0.1:7402");
    opts.secret_len = 0;
    ck_assert_int_eq(transport_init(&t, &loop, &opts, err, sizeof err), -EINVAL);
    opts.secret_len = strlen(SECRET);
    ck_assert_int_eq(transport_init(&t, &loop, &opts, err, sizeof err), 0);
    ck_assert_int_eq(t.init(&t, 3, "127.0.0.1:7403"), RAFT_INVALID);
    ck_assert_int_eq(t.init(&t, 2, "127.0.0.1:9999"), RAFT_INVALID);
    ck_assert_msg(strstr(t.errmsg, "127.0.0.1:7402") != NULL, "%s", t.errmsg);
    transport_release(&t);
}
END_TEST

/* ---- pure codecs ---- */

START_TEST(test_codecs)
{
    struct transport_hello hello = {TRANSPORT_VERSION,
                                    TRANSPORT_KIND_FORWARD,
                                    0x0102030405060708ULL,
                                    {0}},
                           back;
    struct transport_challenge ch = {TRANSPORT_VERSION, TRANSPORT_KIND_RAFT, 7, {1}, {2}}, ch2;
    unsigned char frame[TRANSPORT_CHALLENGE_LEN];

    transport_encode_hello(&hello, frame);
    ck_assert_int_eq(frame[8], 1); /* big-endian id */
    ck_assert_int_eq(frame[15], 8);
    ck_assert_int_eq(transport_decode_hello(frame, TRANSPORT_HELLO_LEN, &back), 0);
    ck_assert_uint_eq(back.client_id, hello.client_id);
    ck_assert_int_eq(back.kind, TRANSPORT_KIND_FORWARD);
    ck_assert_int_eq(transport_decode_hello(frame, TRANSPORT_HELLO_LEN - 1, &back), -EMSGSIZE);
    frame[4] = 2;
    ck_assert_int_eq(transport_decode_hello(frame, TRANSPORT_HELLO_LEN, &back), -EPROTONOSUPPORT);
    frame[4] = TRANSPORT_VERSION;
    frame[5] = 9;
    ck_assert_int_eq(transport_decode_hello(frame, TRANSPORT_HELLO_LEN, &back), -EINVAL);
    frame[0] = 'X';
    ck_assert_int_eq(transport_decode_hello(frame, TRANSPORT_HELLO_LEN, &back), -EPROTO);

    transport_encode_challenge(&ch, frame);
    ck_assert_int_eq(transport_decode_challenge(frame, sizeof frame, &ch2), 0);
    ck_assert_uint_eq(ch2.server_id, 7);
    ck_assert_int_eq(memcmp(ch2.nonce, ch.nonce, TRANSPORT_NONCE_LEN), 0);
    ck_assert_int_eq(memcmp(ch2.mac, ch.mac, TRANSPORT_MAC_LEN), 0);
    ck_assert_int_eq(transport_decode_hello(frame, TRANSPORT_HELLO_LEN, &back), -EPROTO);
}
END_TEST

static Suite *transport_suite(void)
{
    Suite *s = suite_create("transport");
    TCase *tc = tcase_create("tcp");
    tcase_add_checked_fixture(tc, loop_setup, loop_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_codecs);
    tcase_add_test(tc, test_bad_options);
    tcase_add_test(tc, test_good_handshake_both_ways);
    tcase_add_test(tc, test_wrong_secret_rejected);
    tcase_add_test(tc, test_wrong_cluster_name_rejected);
    tcase_add_test(tc, test_garbage_rejected);
    tcase_add_test(tc, test_huge_claimed_length_rejected);
    tcase_add_test(tc, test_truncated_hello_times_out);
    tcase_add_test(tc, test_unknown_id_rejected);
    tcase_add_test(tc, test_own_id_rejected);
    tcase_add_test(tc, test_forged_proof_rejected);
    tcase_add_test(tc, test_handshake_limit);
    tcase_add_test(tc, test_forward_round_trip);
    tcase_add_test(tc, test_close_cancels_pending_connects);
    tcase_add_test(tc, test_silent_server_times_out);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *runner = srunner_create(transport_suite());
    int failed;
    signal(SIGPIPE, SIG_IGN); /* as the daemon does: peers may vanish mid-write */
    srunner_run_all(runner, CK_NORMAL);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
