/* transport: an authenticated TCP transport for raft (struct raft_uv_transport).
 *
 * The stock raft TCP transport trusts whoever connects: its accept path reads a
 * preamble and allocates the address length the peer asks for before anything is
 * known about the peer. This transport runs a mutual HMAC-SHA256 challenge-response
 * over the cluster secret on every connection, in both directions, and only then
 * hands the stream to raft (or, for FORWARD channels, to the daemon). No byte from
 * an unauthenticated peer reaches raft, and no byte after the handshake is consumed
 * here: every handshake read asks libuv for exactly the bytes of the frame still
 * expected, and reading is stopped before the stream is handed over.
 *
 * Wire protocol (all integers big-endian, all frames of fixed size):
 *
 *   HELLO     client -> server, 48 bytes:
 *             "MMH1" | version (u8 = 1) | kind (u8: 1 RAFT, 2 FORWARD) | 0 (u16) |
 *             client raft id (u64) | Nc (32 random bytes)
 *   CHALLENGE server -> client, 80 bytes:
 *             "MMC1" | version (u8) | kind (u8, echoed) | 0 (u16) |
 *             server raft id (u64) | Ns (32 random bytes) | MAC_s (32)
 *   PROOF     client -> server, 40 bytes: "MMP1" | 0 (u32) | MAC_c (32)
 *   ACCEPT    server -> client, 4 bytes:  "MMA1"
 *
 *   MAC_x = HMAC-SHA256(secret, label | version (u8) | kind (u8) | len (u16) |
 *                       cluster name | client id (u64) | server id (u64) | Nc | Ns)
 *   with label "server" for MAC_s and "client" for MAC_c, so that neither MAC can be
 *   replayed as the other, and fresh nonces from both sides, so that no MAC can be
 *   replayed on another connection.
 *
 * The server drops a HELLO whose claimed id is not a configured peer (or is its own
 * id). The client checks that the server's id is the one it dialled and verifies
 * MAC_s before it proves anything; it never sends a PROOF to an unauthenticated
 * server. The server checks MAC_c in constant time, sends ACCEPT and hands the
 * stream over. The client hands its stream over after reading ACCEPT, so a connect
 * callback with status 0 means the server has accepted the connection. A whole
 * handshake, TCP connect included, must finish within the handshake timeout.
 *
 * Any failure closes the TCP handle, never calls raft, and (for failures after the
 * TCP connection exists, on both sides) is reported through on_reject so that the
 * daemon can log e.g. "rejected peer 127.0.0.1:5555: bad MAC (wrong cluster secret
 * or cluster name?)". At most TRANSPORT_MAX_HANDSHAKES incoming handshakes run at
 * once; further connections are closed at once.
 *
 * Everything runs on the loop given at init; nothing here is thread-safe. libuv does not
 * ignore SIGPIPE: the process must (a peer may vanish while a frame is being written).
 */
#ifndef MMCOORD_RAFT_TRANSPORT_H
#define MMCOORD_RAFT_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include <raft.h>
#include <raft/uv.h>
#include <uv.h>

#define TRANSPORT_ADDRESS_MAX        128
#define TRANSPORT_CLUSTER_NAME_MAX   255
#define TRANSPORT_SECRET_MAX         1024
#define TRANSPORT_MAX_HANDSHAKES     64
#define TRANSPORT_DEFAULT_TIMEOUT_MS 2000

#define TRANSPORT_VERSION       1
#define TRANSPORT_NONCE_LEN     32
#define TRANSPORT_MAC_LEN       32
#define TRANSPORT_HELLO_LEN     48
#define TRANSPORT_CHALLENGE_LEN 80
#define TRANSPORT_PROOF_LEN     40
#define TRANSPORT_ACCEPT_LEN    4

enum transport_kind {
    TRANSPORT_KIND_RAFT = 1,   /* the stream goes to raft */
    TRANSPORT_KIND_FORWARD = 2 /* the stream goes to the daemon's on_forward */
};

/* One node of the cluster: its raft id and its raft address "IPv4:port". */
struct transport_peer {
    uint64_t id;
    char address[TRANSPORT_ADDRESS_MAX];
};

/* Called when an incoming FORWARD stream has been authenticated. The callee owns
 * @stream from then on: it must close it with
 * uv_close((uv_handle_t *)stream, transport_stream_close_cb) (or free it with
 * raft_free() in its own close callback). @stream->data is NULL and reading is
 * stopped. */
typedef void (*transport_forward_cb)(void *data, uint64_t from, struct uv_stream_s *stream);

/* Called once per rejected or failed handshake. @peer is "IP:port" of the remote end
 * (the dialled address for outgoing connections), @reason a human-readable sentence
 * fragment. Neither string outlives the call. Must not call back into the transport
 * synchronously except transport_connect_forward. */
typedef void (*transport_reject_cb)(void *data, const char *peer, const char *reason);

struct transport_options {
    const char *cluster_name;           /* 1..TRANSPORT_CLUSTER_NAME_MAX bytes */
    const unsigned char *secret;        /* the cluster secret, shared by all nodes */
    size_t secret_len;                  /* 1..TRANSPORT_SECRET_MAX */
    const struct transport_peer *peers; /* all nodes, including this one */
    unsigned n_peers;                   /* at least 1 */
    unsigned handshake_timeout_ms;      /* 0 means TRANSPORT_DEFAULT_TIMEOUT_MS */
    transport_reject_cb on_reject;      /* may be NULL */
    transport_forward_cb on_forward;    /* NULL: incoming FORWARD channels are refused */
    void *data;                         /* passed to on_reject and on_forward */
};

/* How the struct raft_uv_transport methods behave (raft calls them; tests may too):
 * - init(t, id, address): RAFT_INVALID unless (id, address) is one of the peers.
 * - listen(t, accept_cb): binds to our own peer address. accept_cb gets the peer's
 *   authenticated id, the address configured for that id (never one the peer sent) and
 *   a stream that is a raft_malloc'd uv_tcp_t with reading stopped; raft frees it with
 *   raft_free after uv_close, as it does for the stock transport.
 * - connect(t, req, id, address, cb): 0, then cb fires exactly once, never from inside
 *   connect: status 0 with such a stream, RAFT_NOCONNECTION (refused, timed out, or the
 *   peer failed authentication) or RAFT_CANCELED (the transport was closed).
 * - close(t, cb): stops listening, abandons every handshake (pending connects get
 *   RAFT_CANCELED), and calls cb from the loop, never from inside close, once nothing of
 *   ours is open. Streams already handed over are not touched.
 *
 * Fill @t with this transport's methods and copy everything needed from @opts
 * (the caller may free @opts, its strings, secret and peers afterwards). @t->data
 * is left alone: raft_uv_init() takes it. Raft's init method later checks that
 * the id and address raft runs with are one of the peers.
 * Returns 0, or -EINVAL (bad option: empty or too long cluster name, secret, no
 * peers, an unparsable or duplicate peer) or -ENOMEM, with a message in @errmsg. */
int transport_init(struct raft_uv_transport *t, struct uv_loop_s *loop,
                   const struct transport_options *opts, char *errmsg, size_t errlen);

/* Free what transport_init allocated and wipe the copy of the secret. Call it after
 * the close callback given to t->close has fired, or if the transport never
 * listened nor connected. */
void transport_release(struct raft_uv_transport *t);

/* Called with the result of transport_connect_forward. On status 0, @stream is an
 * authenticated connection to the peer, owned by the callee under the same rules
 * as transport_forward_cb. Otherwise @stream is NULL and status is a negative
 * errno-style code: -ECANCELED (the transport was closed), -ETIMEDOUT (handshake
 * timeout), -EACCES (the peer failed authentication, see on_reject), or a libuv
 * connect/read error (e.g. UV_ECONNREFUSED). The callback is never invoked from
 * inside transport_connect_forward. */
typedef void (*transport_connect_cb)(void *data, struct uv_stream_s *stream, int status);

/* Open an authenticated FORWARD channel to node @id at @address ("IPv4:port").
 * Needs raft's init method to have run (our own id is part of the handshake).
 * Returns 0 (then @cb fires exactly once), -EINVAL (bad address, not initialised),
 * -ESHUTDOWN (transport closing), -ENOMEM, or a libuv error; @cb is not called
 * then. */
int transport_connect_forward(struct raft_uv_transport *t, uint64_t id, const char *address,
                              transport_connect_cb cb, void *data);

/* A uv_close_cb that frees a stream handed over by this transport (raft_free). */
void transport_stream_close_cb(uv_handle_t *handle);

/* Decoded frames, exposed so that the decoders can be tested and fuzzed. */
struct transport_hello {
    uint8_t version;
    uint8_t kind;
    uint64_t client_id;
    unsigned char nonce[TRANSPORT_NONCE_LEN];
};

struct transport_challenge {
    uint8_t version;
    uint8_t kind;
    uint64_t server_id;
    unsigned char nonce[TRANSPORT_NONCE_LEN];
    unsigned char mac[TRANSPORT_MAC_LEN];
};

/* Encode @hello into exactly TRANSPORT_HELLO_LEN bytes at @out. */
void transport_encode_hello(const struct transport_hello *hello,
                            unsigned char out[TRANSPORT_HELLO_LEN]);

/* Decode a HELLO frame. Pure: reads at most @len bytes of @buf.
 * Returns 0; -EMSGSIZE if @len is not TRANSPORT_HELLO_LEN; -EPROTO on a wrong magic
 * or nonzero reserved bytes; -EPROTONOSUPPORT on another version; -EINVAL on an
 * unknown kind or a zero client id. */
int transport_decode_hello(const void *buf, size_t len, struct transport_hello *out);

/* Encode @challenge into exactly TRANSPORT_CHALLENGE_LEN bytes at @out. */
void transport_encode_challenge(const struct transport_challenge *challenge,
                                unsigned char out[TRANSPORT_CHALLENGE_LEN]);

/* Decode a CHALLENGE frame; same errors as transport_decode_hello (a zero server id
 * is -EINVAL). The MAC is not checked here. */
int transport_decode_challenge(const void *buf, size_t len, struct transport_challenge *out);

/* Decode a PROOF frame into @mac. Returns 0, -EMSGSIZE or -EPROTO. */
int transport_decode_proof(const void *buf, size_t len, unsigned char mac[TRANSPORT_MAC_LEN]);

#endif /* MMCOORD_RAFT_TRANSPORT_H */
