/* transport: the authenticated raft transport; see transport.h for the protocol.
 *
 * Each connection, incoming or outgoing, is a `struct handshake` until it has been
 * authenticated. The TCP handle is a separate raft_malloc'd uv_tcp_t because raft
 * frees the stream it receives with raft_free() on the handle pointer itself (see
 * canonical/raft src/uv_recv.c and src/uv_send.c), so the handle cannot live inside
 * a bigger object. Frame writes carry their own buffer and request in one
 * allocation freed by the write callback, so a write may outlive the handshake (the
 * ACCEPT frame is still in flight when the server hands the stream over).
 */
#include "raft/transport.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

static const unsigned char magic_hello[4] = {'M', 'M', 'H', '1'};
static const unsigned char magic_challenge[4] = {'M', 'M', 'C', '1'};
static const unsigned char magic_proof[4] = {'M', 'M', 'P', '1'};
static const unsigned char magic_accept[4] = {'M', 'M', 'A', '1'};

enum handshake_state {
    STATE_CONNECTING,     /* client: TCP connect in progress */
    STATE_WAIT_HELLO,     /* server */
    STATE_WAIT_CHALLENGE, /* client */
    STATE_WAIT_PROOF,     /* server */
    STATE_WAIT_ACCEPT,    /* client */
    STATE_DONE            /* handed over or failed; handles closing */
};

struct transport;

struct handshake {
    struct transport *transport;
    struct handshake *prev, *next;
    uv_tcp_t *tcp; /* NULL once handed over or closed */
    uv_timer_t timer;
    uv_connect_t connect_req;
    bool outgoing;
    enum handshake_state state;
    uint8_t kind;
    uint64_t peer_id;
    char peer[TRANSPORT_ADDRESS_MAX];
    unsigned char client_nonce[TRANSPORT_NONCE_LEN];
    unsigned char server_nonce[TRANSPORT_NONCE_LEN];
    unsigned char frame[TRANSPORT_CHALLENGE_LEN]; /* the largest frame we read */
    size_t frame_have, frame_want;
    unsigned open_handles; /* handles of ours still to be closed */
    int status;            /* result for an outgoing connect's callback */
    struct raft_uv_connect *raft_req;
    raft_uv_connect_cb raft_cb;
    transport_connect_cb forward_cb;
    void *forward_data;
};

struct transport {
    uv_loop_t *loop;
    char cluster_name[TRANSPORT_CLUSTER_NAME_MAX + 1];
    size_t cluster_name_len;
    unsigned char secret[TRANSPORT_SECRET_MAX];
    size_t secret_len;
    struct transport_peer *peers;
    unsigned n_peers;
    unsigned timeout_ms;
    transport_reject_cb on_reject;
    transport_forward_cb on_forward;
    void *data;

    bool initialized;
    uint64_t self_id;
    char self_address[TRANSPORT_ADDRESS_MAX];

    uv_tcp_t listener;
    bool listening;
    raft_uv_accept_cb accept_cb;

    struct handshake *handshakes;
    unsigned n_incoming;

    bool closing;
    raft_uv_transport_close_cb close_cb;
    struct raft_uv_transport *raft_transport;
    uv_timer_t close_kick; /* closed at once so that close_cb is always deferred */
    unsigned closing_handles;
};

struct frame_write {
    uv_write_t req;
    unsigned char bytes[TRANSPORT_CHALLENGE_LEN];
};

/* ---- codecs (pure) ---- */

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

static bool valid_kind(uint8_t kind)
{
    return kind == TRANSPORT_KIND_RAFT || kind == TRANSPORT_KIND_FORWARD;
}

void transport_encode_hello(const struct transport_hello *hello,
                            unsigned char out[TRANSPORT_HELLO_LEN])
{
    memcpy(out, magic_hello, 4);
    out[4] = hello->version;
    out[5] = hello->kind;
    out[6] = 0;
    out[7] = 0;
    put_u64(out + 8, hello->client_id);
    memcpy(out + 16, hello->nonce, TRANSPORT_NONCE_LEN);
}

int transport_decode_hello(const void *buf, size_t len, struct transport_hello *out)
{
    const unsigned char *p = buf;
    if (len != TRANSPORT_HELLO_LEN) {
        return -EMSGSIZE;
    }
    if (memcmp(p, magic_hello, 4) != 0 || p[6] != 0 || p[7] != 0) {
        return -EPROTO;
    }
    if (p[4] != TRANSPORT_VERSION) {
        return -EPROTONOSUPPORT;
    }
    out->version = p[4];
    out->kind = p[5];
    out->client_id = get_u64(p + 8);
    memcpy(out->nonce, p + 16, TRANSPORT_NONCE_LEN);
    if (!valid_kind(out->kind) || out->client_id == 0) {
        return -EINVAL;
    }
    return 0;
}

void transport_encode_challenge(const struct transport_challenge *challenge,
                                unsigned char out[TRANSPORT_CHALLENGE_LEN])
{
    memcpy(out, magic_challenge, 4);
    out[4] = challenge->version;
    out[5] = challenge->kind;
    out[6] = 0;
    out[7] = 0;
    put_u64(out + 8, challenge->server_id);
    memcpy(out + 16, challenge->nonce, TRANSPORT_NONCE_LEN);
    memcpy(out + 16 + TRANSPORT_NONCE_LEN, challenge->mac, TRANSPORT_MAC_LEN);
}

int transport_decode_challenge(const void *buf, size_t len, struct transport_challenge *out)
{
    const unsigned char *p = buf;
    if (len != TRANSPORT_CHALLENGE_LEN) {
        return -EMSGSIZE;
    }
    if (memcmp(p, magic_challenge, 4) != 0 || p[6] != 0 || p[7] != 0) {
        return -EPROTO;
    }
    if (p[4] != TRANSPORT_VERSION) {
        return -EPROTONOSUPPORT;
    }
    out->version = p[4];
    out->kind = p[5];
    out->server_id = get_u64(p + 8);
    memcpy(out->nonce, p + 16, TRANSPORT_NONCE_LEN);
    memcpy(out->mac, p + 16 + TRANSPORT_NONCE_LEN, TRANSPORT_MAC_LEN);
    if (!valid_kind(out->kind) || out->server_id == 0) {
        return -EINVAL;
    }
    return 0;
}

int transport_decode_proof(const void *buf, size_t len, unsigned char mac[TRANSPORT_MAC_LEN])
{
    const unsigned char *p = buf;
    if (len != TRANSPORT_PROOF_LEN) {
        return -EMSGSIZE;
    }
    if (memcmp(p, magic_proof, 4) != 0 || p[4] != 0 || p[5] != 0 || p[6] != 0 || p[7] != 0) {
        return -EPROTO;
    }
    memcpy(mac, p + 8, TRANSPORT_MAC_LEN);
    return 0;
}

/* ---- helpers ---- */

static int parse_address(const char *address, struct sockaddr_in *sa)
{
    char host[TRANSPORT_ADDRESS_MAX];
    const char *colon = strrchr(address, ':');
    char *end;
    unsigned long port;
    size_t host_len;

    if (colon == NULL || colon == address) {
        return -EINVAL;
    }
    host_len = (size_t)(colon - address);
    if (host_len >= sizeof host) {
        return -EINVAL;
    }
    memcpy(host, address, host_len);
    host[host_len] = '\0';
    errno = 0;
    port = strtoul(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || errno != 0 || port == 0 || port > 65535) {
        return -EINVAL;
    }
    if (uv_ip4_addr(host, (int)port, sa) != 0) {
        return -EINVAL;
    }
    return 0;
}

static const struct transport_peer *find_peer(const struct transport *tr, uint64_t id)
{
    for (unsigned i = 0; i < tr->n_peers; i++) {
        if (tr->peers[i].id == id) {
            return &tr->peers[i];
        }
    }
    return NULL;
}

static void compute_mac(const struct transport *tr, const char *label, uint8_t kind,
                        uint64_t client_id, uint64_t server_id,
                        const unsigned char client_nonce[TRANSPORT_NONCE_LEN],
                        const unsigned char server_nonce[TRANSPORT_NONCE_LEN],
                        unsigned char mac[TRANSPORT_MAC_LEN])
{
    unsigned char msg[6 + 2 + 2 + TRANSPORT_CLUSTER_NAME_MAX + 16 + 2 * TRANSPORT_NONCE_LEN];
    size_t n = 0;
    unsigned int mac_len = TRANSPORT_MAC_LEN;

    memcpy(msg + n, label, 6);
    n += 6;
    msg[n++] = TRANSPORT_VERSION;
    msg[n++] = kind;
    msg[n++] = (unsigned char)(tr->cluster_name_len >> 8);
    msg[n++] = (unsigned char)(tr->cluster_name_len & 0xff);
    memcpy(msg + n, tr->cluster_name, tr->cluster_name_len);
    n += tr->cluster_name_len;
    put_u64(msg + n, client_id);
    n += 8;
    put_u64(msg + n, server_id);
    n += 8;
    memcpy(msg + n, client_nonce, TRANSPORT_NONCE_LEN);
    n += TRANSPORT_NONCE_LEN;
    memcpy(msg + n, server_nonce, TRANSPORT_NONCE_LEN);
    n += TRANSPORT_NONCE_LEN;
    if (HMAC(EVP_sha256(), tr->secret, (int)tr->secret_len, msg, n, mac, &mac_len) == NULL ||
        mac_len != TRANSPORT_MAC_LEN) {
        /* A MAC nobody can match: the handshake then fails as a bad MAC. */
        RAND_bytes(mac, TRANSPORT_MAC_LEN);
    }
}

static void format_sockaddr(const struct sockaddr_storage *ss, char *out, size_t len)
{
    char ip[64] = "?";
    int port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
        uv_ip4_name(sin, ip, sizeof ip);
        port = ntohs(sin->sin_port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
        uv_ip6_name(sin6, ip, sizeof ip);
        port = ntohs(sin6->sin6_port);
    }
    snprintf(out, len, "%s:%d", ip, port);
}

/* ---- handshake lifecycle ---- */

static void transport_maybe_closed(struct transport *tr)
{
    if (!tr->closing || tr->closing_handles > 0 || tr->handshakes != NULL) {
        return;
    }
    if (tr->close_cb != NULL) {
        raft_uv_transport_close_cb cb = tr->close_cb;
        tr->close_cb = NULL;
        cb(tr->raft_transport);
    }
}

static void handshake_unlink(struct handshake *hs)
{
    struct transport *tr = hs->transport;
    if (hs->prev != NULL) {
        hs->prev->next = hs->next;
    } else {
        tr->handshakes = hs->next;
    }
    if (hs->next != NULL) {
        hs->next->prev = hs->prev;
    }
    if (!hs->outgoing) {
        tr->n_incoming--;
    }
}

/* Called as each of our handles of @hs finishes closing; the last one reports the
 * outcome of an outgoing attempt and frees @hs. */
static void handshake_maybe_free(struct handshake *hs)
{
    struct transport *tr = hs->transport;
    if (hs->open_handles > 0) {
        return;
    }
    handshake_unlink(hs);
    if (hs->status != 0) {
        if (hs->raft_cb != NULL) {
            hs->raft_cb(hs->raft_req, NULL, hs->status);
        } else if (hs->forward_cb != NULL) {
            hs->forward_cb(hs->forward_data, NULL, hs->status);
        }
    }
    free(hs);
    transport_maybe_closed(tr);
}

static void handshake_tcp_close_cb(uv_handle_t *handle)
{
    struct handshake *hs = handle->data;
    raft_free(handle);
    hs->open_handles--;
    handshake_maybe_free(hs);
}

static void handshake_timer_close_cb(uv_handle_t *handle)
{
    struct handshake *hs = handle->data;
    hs->open_handles--;
    handshake_maybe_free(hs);
}

/* Abandon @hs. @reason (NULL: nothing to report) goes to on_reject; @raft_status
 * and @errno_status are what an outgoing attempt's callback will receive. */
static void handshake_fail(struct handshake *hs, const char *reason, int raft_status,
                           int errno_status)
{
    struct transport *tr = hs->transport;
    if (hs->state == STATE_DONE) {
        return;
    }
    hs->state = STATE_DONE;
    if (hs->outgoing) {
        hs->status = hs->raft_cb != NULL ? raft_status : errno_status;
    }
    if (reason != NULL && tr->on_reject != NULL) {
        tr->on_reject(tr->data, hs->peer, reason);
    }
    uv_close((uv_handle_t *)hs->tcp, handshake_tcp_close_cb);
    hs->tcp = NULL;
    uv_close((uv_handle_t *)&hs->timer, handshake_timer_close_cb);
}

/* The handshake succeeded: hand the stream over and let the timer close. */
static void handshake_succeed(struct handshake *hs)
{
    struct transport *tr = hs->transport;
    uv_stream_t *stream = (uv_stream_t *)hs->tcp;
    const struct transport_peer *peer;

    uv_read_stop(stream);
    stream->data = NULL;
    hs->tcp = NULL;
    hs->open_handles--; /* the stream is no longer ours to close */
    hs->state = STATE_DONE;
    hs->status = 0;
    uv_close((uv_handle_t *)&hs->timer, handshake_timer_close_cb);

    if (hs->outgoing) {
        if (hs->raft_cb != NULL) {
            hs->raft_cb(hs->raft_req, stream, 0);
        } else {
            hs->forward_cb(hs->forward_data, stream, 0);
        }
        return;
    }
    if (hs->kind == TRANSPORT_KIND_FORWARD) {
        tr->on_forward(tr->data, hs->peer_id, stream);
        return;
    }
    peer = find_peer(tr, hs->peer_id);
    tr->accept_cb(tr->raft_transport, hs->peer_id, peer->address, stream);
}

static void frame_write_cb(uv_write_t *req, int status)
{
    (void)status; /* a failed write shows up as a failed read on the same stream */
    free(req->data);
}

static int handshake_write(struct handshake *hs, const unsigned char *bytes, size_t len)
{
    struct frame_write *w = malloc(sizeof *w);
    uv_buf_t buf;
    int rv;
    if (w == NULL) {
        return UV_ENOMEM;
    }
    memcpy(w->bytes, bytes, len);
    w->req.data = w;
    buf = uv_buf_init((char *)w->bytes, (unsigned int)len);
    rv = uv_write(&w->req, (uv_stream_t *)hs->tcp, &buf, 1, frame_write_cb);
    if (rv != 0) {
        free(w);
    }
    return rv;
}

static void handshake_expect(struct handshake *hs, enum handshake_state state, size_t frame_len)
{
    hs->state = state;
    hs->frame_have = 0;
    hs->frame_want = frame_len;
}

/* Only ever offer libuv the bytes still missing from the current frame, so that
 * nothing past the handshake is read from the socket. */
static void handshake_alloc_cb(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    struct handshake *hs = handle->data;
    (void)suggested;
    *buf = uv_buf_init((char *)hs->frame + hs->frame_have,
                       (unsigned int)(hs->frame_want - hs->frame_have));
}

static void server_on_hello(struct handshake *hs)
{
    struct transport *tr = hs->transport;
    struct transport_hello hello;
    struct transport_challenge challenge;
    unsigned char out[TRANSPORT_CHALLENGE_LEN];
    char reason[160];
    int rv = transport_decode_hello(hs->frame, hs->frame_have, &hello);

    if (rv == -EPROTONOSUPPORT) {
        snprintf(reason, sizeof reason, "unsupported handshake version %u", hs->frame[4]);
        handshake_fail(hs, reason, 0, 0);
        return;
    }
    if (rv != 0) {
        handshake_fail(hs, "malformed HELLO (not an mmcoord node?)", 0, 0);
        return;
    }
    if (hello.client_id == tr->self_id || find_peer(tr, hello.client_id) == NULL) {
        snprintf(reason, sizeof reason, "claims raft id %llu, which is not a configured peer",
                 (unsigned long long)hello.client_id);
        handshake_fail(hs, reason, 0, 0);
        return;
    }
    if (hello.kind == TRANSPORT_KIND_FORWARD && tr->on_forward == NULL) {
        handshake_fail(hs, "asks for a FORWARD channel, which this node does not accept", 0, 0);
        return;
    }
    hs->kind = hello.kind;
    hs->peer_id = hello.client_id;
    memcpy(hs->client_nonce, hello.nonce, TRANSPORT_NONCE_LEN);
    if (RAND_bytes(hs->server_nonce, TRANSPORT_NONCE_LEN) != 1) {
        handshake_fail(hs, "no random bytes for a nonce (RAND_bytes failed)", 0, 0);
        return;
    }
    challenge.version = TRANSPORT_VERSION;
    challenge.kind = hs->kind;
    challenge.server_id = tr->self_id;
    memcpy(challenge.nonce, hs->server_nonce, TRANSPORT_NONCE_LEN);
    compute_mac(tr, "server", hs->kind, hs->peer_id, tr->self_id, hs->client_nonce,
                hs->server_nonce, challenge.mac);
    transport_encode_challenge(&challenge, out);
    rv = handshake_write(hs, out, sizeof out);
    if (rv != 0) {
        snprintf(reason, sizeof reason, "write CHALLENGE: %s", uv_strerror(rv));
        handshake_fail(hs, reason, 0, 0);
        return;
    }
    handshake_expect(hs, STATE_WAIT_PROOF, TRANSPORT_PROOF_LEN);
}

static void server_on_proof(struct handshake *hs)
{
    struct transport *tr = hs->transport;
    unsigned char got[TRANSPORT_MAC_LEN];
    unsigned char want[TRANSPORT_MAC_LEN];
    char reason[160];
    int rv;

    if (transport_decode_proof(hs->frame, hs->frame_have, got) != 0) {
        handshake_fail(hs, "malformed PROOF", 0, 0);
        return;
    }
    compute_mac(tr, "client", hs->kind, hs->peer_id, tr->self_id, hs->client_nonce,
                hs->server_nonce, want);
    if (CRYPTO_memcmp(got, want, TRANSPORT_MAC_LEN) != 0) {
        handshake_fail(hs, "bad MAC (wrong cluster secret or cluster name?)", 0, 0);
        return;
    }
    rv = handshake_write(hs, magic_accept, TRANSPORT_ACCEPT_LEN);
    if (rv != 0) {
        snprintf(reason, sizeof reason, "write ACCEPT: %s", uv_strerror(rv));
        handshake_fail(hs, reason, 0, 0);
        return;
    }
    handshake_succeed(hs);
}

static void client_on_challenge(struct handshake *hs)
{
    struct transport *tr = hs->transport;
    struct transport_challenge challenge;
    unsigned char want[TRANSPORT_MAC_LEN];
    unsigned char proof[TRANSPORT_PROOF_LEN];
    char reason[160];
    int rv = transport_decode_challenge(hs->frame, hs->frame_have, &challenge);

    if (rv != 0 || challenge.kind != hs->kind) {
        handshake_fail(hs, "malformed CHALLENGE (not an mmcoord node?)", RAFT_NOCONNECTION,
                       -EACCES);
        return;
    }
    if (challenge.server_id != hs->peer_id) {
        snprintf(reason, sizeof reason, "answers as raft id %llu, expected %llu",
                 (unsigned long long)challenge.server_id, (unsigned long long)hs->peer_id);
        handshake_fail(hs, reason, RAFT_NOCONNECTION, -EACCES);
        return;
    }
    compute_mac(tr, "server", hs->kind, tr->self_id, hs->peer_id, hs->client_nonce, challenge.nonce,
                want);
    if (CRYPTO_memcmp(challenge.mac, want, TRANSPORT_MAC_LEN) != 0) {
        handshake_fail(hs, "bad MAC (wrong cluster secret or cluster name?)", RAFT_NOCONNECTION,
                       -EACCES);
        return;
    }
    memcpy(hs->server_nonce, challenge.nonce, TRANSPORT_NONCE_LEN);
    memcpy(proof, magic_proof, 4);
    memset(proof + 4, 0, 4);
    compute_mac(tr, "client", hs->kind, tr->self_id, hs->peer_id, hs->client_nonce,
                hs->server_nonce, proof + 8);
    rv = handshake_write(hs, proof, sizeof proof);
    if (rv != 0) {
        snprintf(reason, sizeof reason, "write PROOF: %s", uv_strerror(rv));
        handshake_fail(hs, reason, RAFT_NOCONNECTION, rv);
        return;
    }
    handshake_expect(hs, STATE_WAIT_ACCEPT, TRANSPORT_ACCEPT_LEN);
}

static void client_on_accept(struct handshake *hs)
{
    if (memcmp(hs->frame, magic_accept, TRANSPORT_ACCEPT_LEN) != 0) {
        handshake_fail(hs, "malformed ACCEPT", RAFT_NOCONNECTION, -EACCES);
        return;
    }
    handshake_succeed(hs);
}

static void handshake_read_cb(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    struct handshake *hs = stream->data;
    char reason[160];
    (void)buf;

    if (nread == 0) {
        return;
    }
    if (nread < 0) {
        if (nread == UV_EOF) {
            const char *hint = "";
            if (hs->state == STATE_WAIT_PROOF) {
                hint = " after our challenge (wrong cluster secret or cluster name there?)";
            } else if (hs->state == STATE_WAIT_CHALLENGE) {
                hint = " after our HELLO (is this node in its peer list?)";
            } else if (hs->state == STATE_WAIT_ACCEPT) {
                hint = " after our proof (it did not accept it)";
            }
            snprintf(reason, sizeof reason, "closed the connection during the handshake%s", hint);
        } else {
            snprintf(reason, sizeof reason, "read during the handshake: %s",
                     uv_strerror((int)nread));
        }
        handshake_fail(hs, reason, RAFT_NOCONNECTION,
                       hs->state == STATE_WAIT_ACCEPT ? -EACCES : (int)nread);
        return;
    }
    hs->frame_have += (size_t)nread;
    if (hs->frame_have < hs->frame_want) {
        return;
    }
    switch (hs->state) {
    case STATE_WAIT_HELLO:
        server_on_hello(hs);
        break;
    case STATE_WAIT_PROOF:
        server_on_proof(hs);
        break;
    case STATE_WAIT_CHALLENGE:
        client_on_challenge(hs);
        break;
    case STATE_WAIT_ACCEPT:
        client_on_accept(hs);
        break;
    default:
        handshake_fail(hs, "internal error: data in an unexpected state", RAFT_NOCONNECTION,
                       -EPROTO);
        break;
    }
}

static void handshake_timer_cb(uv_timer_t *timer)
{
    struct handshake *hs = timer->data;
    char reason[96];
    if (hs->state == STATE_CONNECTING) {
        /* Not a rejection: nobody answered. raft retries by itself. */
        handshake_fail(hs, NULL, RAFT_NOCONNECTION, -ETIMEDOUT);
        return;
    }
    snprintf(reason, sizeof reason, "handshake timed out after %u ms", hs->transport->timeout_ms);
    handshake_fail(hs, reason, RAFT_NOCONNECTION, -ETIMEDOUT);
}

/* Allocate a handshake around @tcp (already initialised on the loop, data unset),
 * link it and start its timer. */
static struct handshake *handshake_new(struct transport *tr, uv_tcp_t *tcp, bool outgoing)
{
    struct handshake *hs = calloc(1, sizeof *hs);
    if (hs == NULL) {
        return NULL;
    }
    hs->transport = tr;
    hs->tcp = tcp;
    hs->outgoing = outgoing;
    tcp->data = hs;
    uv_timer_init(tr->loop, &hs->timer);
    hs->timer.data = hs;
    uv_timer_start(&hs->timer, handshake_timer_cb, tr->timeout_ms, 0);
    hs->open_handles = 2;
    hs->next = tr->handshakes;
    if (tr->handshakes != NULL) {
        tr->handshakes->prev = hs;
    }
    tr->handshakes = hs;
    if (!outgoing) {
        tr->n_incoming++;
    }
    return hs;
}

/* ---- server side ---- */

static void reject_close_cb(uv_handle_t *handle)
{
    raft_free(handle);
}

static void listener_connection_cb(uv_stream_t *server, int status)
{
    struct transport *tr = server->data;
    struct sockaddr_storage ss;
    int ss_len = sizeof ss;
    char peer[TRANSPORT_ADDRESS_MAX] = "?";
    uv_tcp_t *tcp;
    struct handshake *hs;
    int rv;

    if (status < 0 || tr->closing) {
        return;
    }
    tcp = raft_malloc(sizeof *tcp);
    if (tcp == NULL) {
        /* Out of memory: without a handle we cannot accept, and libuv stops watching the
         * listener until we do; the daemon is in deeper trouble than this anyway. */
        return;
    }
    uv_tcp_init(tr->loop, tcp);
    rv = uv_accept(server, (uv_stream_t *)tcp);
    if (rv == 0 && uv_tcp_getpeername(tcp, (struct sockaddr *)&ss, &ss_len) == 0) {
        format_sockaddr(&ss, peer, sizeof peer);
    }
    if (rv != 0 || tr->n_incoming >= TRANSPORT_MAX_HANDSHAKES) {
        if (rv == 0 && tr->on_reject != NULL) {
            tr->on_reject(tr->data, peer, "too many handshakes in progress");
        }
        uv_close((uv_handle_t *)tcp, reject_close_cb);
        return;
    }
    hs = handshake_new(tr, tcp, false);
    if (hs == NULL) {
        uv_close((uv_handle_t *)tcp, reject_close_cb);
        return;
    }
    memcpy(hs->peer, peer, sizeof hs->peer);
    uv_tcp_nodelay(tcp, 1);
    handshake_expect(hs, STATE_WAIT_HELLO, TRANSPORT_HELLO_LEN);
    rv = uv_read_start((uv_stream_t *)tcp, handshake_alloc_cb, handshake_read_cb);
    if (rv != 0) {
        char reason[96];
        snprintf(reason, sizeof reason, "start reading: %s", uv_strerror(rv));
        handshake_fail(hs, reason, 0, 0);
    }
}

/* ---- client side ---- */

static void client_connect_cb(uv_connect_t *req, int status)
{
    struct handshake *hs = req->data;
    struct transport *tr = hs->transport;
    struct transport_hello hello;
    unsigned char out[TRANSPORT_HELLO_LEN];
    char reason[96];
    int rv;

    if (hs->state == STATE_DONE) {
        return; /* failed or cancelled while connecting; the handle is closing */
    }
    if (status != 0) {
        handshake_fail(hs, NULL, RAFT_NOCONNECTION, status);
        return;
    }
    uv_tcp_nodelay(hs->tcp, 1);
    if (RAND_bytes(hs->client_nonce, TRANSPORT_NONCE_LEN) != 1) {
        handshake_fail(hs, "no random bytes for a nonce (RAND_bytes failed)", RAFT_NOCONNECTION,
                       -EIO);
        return;
    }
    hello.version = TRANSPORT_VERSION;
    hello.kind = hs->kind;
    hello.client_id = tr->self_id;
    memcpy(hello.nonce, hs->client_nonce, TRANSPORT_NONCE_LEN);
    transport_encode_hello(&hello, out);
    handshake_expect(hs, STATE_WAIT_CHALLENGE, TRANSPORT_CHALLENGE_LEN);
    rv = handshake_write(hs, out, sizeof out);
    if (rv == 0) {
        rv = uv_read_start((uv_stream_t *)hs->tcp, handshake_alloc_cb, handshake_read_cb);
    }
    if (rv != 0) {
        snprintf(reason, sizeof reason, "start the handshake: %s", uv_strerror(rv));
        handshake_fail(hs, reason, RAFT_NOCONNECTION, rv);
    }
}

/* Start an outgoing handshake; the result goes to exactly one of the callbacks. */
static int start_connect(struct transport *tr, uint64_t id, const char *address, uint8_t kind,
                         struct raft_uv_connect *raft_req, raft_uv_connect_cb raft_cb,
                         transport_connect_cb forward_cb, void *forward_data)
{
    struct sockaddr_in sa;
    uv_tcp_t *tcp;
    struct handshake *hs;
    int rv;

    rv = parse_address(address, &sa);
    if (rv != 0) {
        return rv;
    }
    tcp = raft_malloc(sizeof *tcp);
    if (tcp == NULL) {
        return -ENOMEM;
    }
    uv_tcp_init(tr->loop, tcp);
    hs = handshake_new(tr, tcp, true);
    if (hs == NULL) {
        uv_close((uv_handle_t *)tcp, reject_close_cb);
        return -ENOMEM;
    }
    hs->kind = kind;
    hs->peer_id = id;
    snprintf(hs->peer, sizeof hs->peer, "%s", address);
    hs->raft_req = raft_req;
    hs->raft_cb = raft_cb;
    hs->forward_cb = forward_cb;
    hs->forward_data = forward_data;
    hs->state = STATE_CONNECTING;
    hs->connect_req.data = hs;
    rv = uv_tcp_connect(&hs->connect_req, tcp, (const struct sockaddr *)&sa, client_connect_cb);
    if (rv != 0) {
        /* The callbacks must not fire: this failure is reported by our return value. */
        hs->raft_cb = NULL;
        hs->forward_cb = NULL;
        handshake_fail(hs, NULL, 0, 0);
        return rv;
    }
    return 0;
}

/* ---- struct raft_uv_transport methods ---- */

static int method_init(struct raft_uv_transport *t, raft_id id, const char *address)
{
    struct transport *tr = t->impl;
    const struct transport_peer *peer = find_peer(tr, id);
    if (peer == NULL) {
        snprintf(t->errmsg, sizeof t->errmsg,
                 "raft id %llu is not one of the configured peers; add it to the peer list",
                 (unsigned long long)id);
        return RAFT_INVALID;
    }
    if (strcmp(peer->address, address) != 0) {
        snprintf(t->errmsg, sizeof t->errmsg,
                 "raft runs node %llu at %s but the peer list says %s; make them agree",
                 (unsigned long long)id, address, peer->address);
        return RAFT_INVALID;
    }
    tr->self_id = id;
    snprintf(tr->self_address, sizeof tr->self_address, "%s", address);
    tr->initialized = true;
    return 0;
}

static void closing_handle_cb(uv_handle_t *handle)
{
    struct transport *tr = handle->data;
    tr->closing_handles--;
    transport_maybe_closed(tr);
}

static int method_listen(struct raft_uv_transport *t, raft_uv_accept_cb cb)
{
    struct transport *tr = t->impl;
    struct sockaddr_in sa;
    int rv;

    if (!tr->initialized || tr->listening || tr->closing) {
        snprintf(t->errmsg, sizeof t->errmsg, "listen: transport not initialised or in use");
        return RAFT_INVALID;
    }
    if (parse_address(tr->self_address, &sa) != 0) {
        snprintf(t->errmsg, sizeof t->errmsg, "listen: cannot parse address %s (want IPv4:port)",
                 tr->self_address);
        return RAFT_INVALID;
    }
    uv_tcp_init(tr->loop, &tr->listener);
    tr->listener.data = tr;
    tr->listening = true;
    tr->accept_cb = cb;
    rv = uv_tcp_bind(&tr->listener, (const struct sockaddr *)&sa, 0);
    if (rv == 0) {
        rv = uv_listen((uv_stream_t *)&tr->listener, 128, listener_connection_cb);
    }
    if (rv != 0) {
        snprintf(t->errmsg, sizeof t->errmsg, "listen on %s: %s", tr->self_address,
                 uv_strerror(rv));
        /* The handle exists: close() waits for it like for a working listener. */
        tr->listening = false;
        tr->closing_handles++;
        uv_close((uv_handle_t *)&tr->listener, closing_handle_cb);
        return RAFT_IOERR;
    }
    return 0;
}

static int method_connect(struct raft_uv_transport *t, struct raft_uv_connect *req, raft_id id,
                          const char *address, raft_uv_connect_cb cb)
{
    struct transport *tr = t->impl;
    int rv;
    if (tr->closing) {
        return RAFT_CANCELED;
    }
    if (!tr->initialized) {
        snprintf(t->errmsg, sizeof t->errmsg, "connect: transport not initialised");
        return RAFT_INVALID;
    }
    rv = start_connect(tr, id, address, TRANSPORT_KIND_RAFT, req, cb, NULL, NULL);
    if (rv == -EINVAL) {
        snprintf(t->errmsg, sizeof t->errmsg, "connect to %llu: bad address %s (want IPv4:port)",
                 (unsigned long long)id, address);
        return RAFT_INVALID;
    }
    if (rv == -ENOMEM) {
        return RAFT_NOMEM;
    }
    if (rv != 0) {
        snprintf(t->errmsg, sizeof t->errmsg, "connect to %llu at %s: %s", (unsigned long long)id,
                 address, uv_strerror(rv));
        return RAFT_NOCONNECTION;
    }
    return 0;
}

static void method_close(struct raft_uv_transport *t, raft_uv_transport_close_cb cb)
{
    struct transport *tr = t->impl;
    struct handshake *hs;

    tr->closing = true;
    tr->close_cb = cb;
    tr->raft_transport = t;
    if (tr->listening) {
        tr->listening = false;
        tr->closing_handles++;
        uv_close((uv_handle_t *)&tr->listener, closing_handle_cb);
    }
    for (hs = tr->handshakes; hs != NULL; hs = hs->next) {
        handshake_fail(hs, NULL, RAFT_CANCELED, -ECANCELED);
    }
    uv_timer_init(tr->loop, &tr->close_kick);
    tr->close_kick.data = tr;
    tr->closing_handles++;
    uv_close((uv_handle_t *)&tr->close_kick, closing_handle_cb);
}

/* ---- public API ---- */

void transport_stream_close_cb(uv_handle_t *handle)
{
    raft_free(handle);
}

int transport_init(struct raft_uv_transport *t, struct uv_loop_s *loop,
                   const struct transport_options *opts, char *errmsg, size_t errlen)
{
    struct transport *tr;
    size_t name_len = opts->cluster_name != NULL ? strlen(opts->cluster_name) : 0;

    if (name_len == 0 || name_len > TRANSPORT_CLUSTER_NAME_MAX) {
        snprintf(errmsg, errlen, "cluster name must be 1 to %d bytes long (got %zu)",
                 TRANSPORT_CLUSTER_NAME_MAX, name_len);
        return -EINVAL;
    }
    if (opts->secret == NULL || opts->secret_len == 0 || opts->secret_len > TRANSPORT_SECRET_MAX) {
        snprintf(errmsg, errlen, "cluster secret must be 1 to %d bytes long (got %zu)",
                 TRANSPORT_SECRET_MAX, opts->secret == NULL ? 0 : opts->secret_len);
        return -EINVAL;
    }
    if (opts->peers == NULL || opts->n_peers == 0) {
        snprintf(errmsg, errlen, "no peers configured; list every node, this one included");
        return -EINVAL;
    }
    for (unsigned i = 0; i < opts->n_peers; i++) {
        struct sockaddr_in sa;
        const struct transport_peer *p = &opts->peers[i];
        if (p->id == 0) {
            snprintf(errmsg, errlen, "peer %u (%.*s): raft id 0 is not allowed", i,
                     TRANSPORT_ADDRESS_MAX, p->address);
            return -EINVAL;
        }
        if (memchr(p->address, '\0', sizeof p->address) == NULL ||
            parse_address(p->address, &sa) != 0) {
            snprintf(errmsg, errlen, "peer %llu: bad address \"%.*s\" (want IPv4:port)",
                     (unsigned long long)p->id, TRANSPORT_ADDRESS_MAX - 1, p->address);
            return -EINVAL;
        }
        for (unsigned j = 0; j < i; j++) {
            if (opts->peers[j].id == p->id) {
                snprintf(errmsg, errlen, "peer id %llu is listed twice", (unsigned long long)p->id);
                return -EINVAL;
            }
        }
    }

    tr = calloc(1, sizeof *tr);
    if (tr == NULL) {
        snprintf(errmsg, errlen, "out of memory allocating the transport");
        return -ENOMEM;
    }
    tr->peers = calloc(opts->n_peers, sizeof *tr->peers);
    if (tr->peers == NULL) {
        free(tr);
        snprintf(errmsg, errlen, "out of memory allocating the peer list");
        return -ENOMEM;
    }
    memcpy(tr->peers, opts->peers, opts->n_peers * sizeof *tr->peers);
    tr->n_peers = opts->n_peers;
    tr->loop = loop;
    memcpy(tr->cluster_name, opts->cluster_name, name_len);
    tr->cluster_name_len = name_len;
    memcpy(tr->secret, opts->secret, opts->secret_len);
    tr->secret_len = opts->secret_len;
    tr->timeout_ms =
        opts->handshake_timeout_ms != 0 ? opts->handshake_timeout_ms : TRANSPORT_DEFAULT_TIMEOUT_MS;
    tr->on_reject = opts->on_reject;
    tr->on_forward = opts->on_forward;
    tr->data = opts->data;
    tr->raft_transport = t;

    t->impl = tr;
    t->errmsg[0] = '\0';
    t->init = method_init;
    t->listen = method_listen;
    t->connect = method_connect;
    t->close = method_close;
    return 0;
}

void transport_release(struct raft_uv_transport *t)
{
    struct transport *tr = t->impl;
    if (tr == NULL) {
        return;
    }
    OPENSSL_cleanse(tr->secret, sizeof tr->secret);
    free(tr->peers);
    free(tr);
    t->impl = NULL;
}

int transport_connect_forward(struct raft_uv_transport *t, uint64_t id, const char *address,
                              transport_connect_cb cb, void *data)
{
    struct transport *tr = t->impl;
    if (tr->closing) {
        return -ESHUTDOWN;
    }
    if (!tr->initialized || cb == NULL) {
        return -EINVAL;
    }
    return start_connect(tr, id, address, TRANSPORT_KIND_FORWARD, NULL, NULL, cb, data);
}
