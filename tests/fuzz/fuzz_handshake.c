/*
 * Fuzz target for the transport's handshake frame decoders (raft/transport.h), the only code
 * that looks at bytes from a peer before it has proved it knows the cluster secret. Every input
 * goes to the three decoders whole, and its leading bytes go to each decoder in exactly the
 * frame size the transport reads from the socket. Whatever decodes must encode back to the same
 * bytes and respect the documented limits; every failure must be one of the documented codes.
 * A broken promise aborts, which libFuzzer and the replay driver both report as a crash.
 */
#include "raft/transport.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "tests/fuzz/require.h"

static int documented(int rv)
{
    return rv == 0 || rv == -EMSGSIZE || rv == -EPROTO || rv == -EPROTONOSUPPORT || rv == -EINVAL;
}

static void check_hello(const uint8_t *data, size_t size)
{
    struct transport_hello hello;
    unsigned char again[TRANSPORT_HELLO_LEN];
    int rv = transport_decode_hello(data, size, &hello);
    REQUIRE(documented(rv));
    if (rv != 0) {
        return;
    }
    REQUIRE(size == TRANSPORT_HELLO_LEN);
    REQUIRE(hello.version == TRANSPORT_VERSION);
    REQUIRE(hello.kind == TRANSPORT_KIND_RAFT || hello.kind == TRANSPORT_KIND_FORWARD);
    REQUIRE(hello.client_id != 0);
    transport_encode_hello(&hello, again);
    REQUIRE(memcmp(again, data, TRANSPORT_HELLO_LEN) == 0);
}

static void check_challenge(const uint8_t *data, size_t size)
{
    struct transport_challenge challenge;
    unsigned char again[TRANSPORT_CHALLENGE_LEN];
    int rv = transport_decode_challenge(data, size, &challenge);
    REQUIRE(documented(rv));
    if (rv != 0) {
        return;
    }
    REQUIRE(size == TRANSPORT_CHALLENGE_LEN);
    REQUIRE(challenge.version == TRANSPORT_VERSION);
    REQUIRE(challenge.kind == TRANSPORT_KIND_RAFT || challenge.kind == TRANSPORT_KIND_FORWARD);
    REQUIRE(challenge.server_id != 0);
    transport_encode_challenge(&challenge, again);
    REQUIRE(memcmp(again, data, TRANSPORT_CHALLENGE_LEN) == 0);
}

static void check_proof(const uint8_t *data, size_t size)
{
    unsigned char mac[TRANSPORT_MAC_LEN];
    int rv = transport_decode_proof(data, size, mac);
    REQUIRE(rv == 0 || rv == -EMSGSIZE || rv == -EPROTO);
    if (rv != 0) {
        return;
    }
    REQUIRE(size == TRANSPORT_PROOF_LEN);
    REQUIRE(memcmp(mac, data + TRANSPORT_PROOF_LEN - TRANSPORT_MAC_LEN, TRANSPORT_MAC_LEN) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_hello(data, size);
    check_challenge(data, size);
    check_proof(data, size);
    if (size >= TRANSPORT_HELLO_LEN) {
        check_hello(data, TRANSPORT_HELLO_LEN);
    }
    if (size >= TRANSPORT_CHALLENGE_LEN) {
        check_challenge(data, TRANSPORT_CHALLENGE_LEN);
    }
    if (size >= TRANSPORT_PROOF_LEN) {
        check_proof(data, TRANSPORT_PROOF_LEN);
    }
    return 0;
}
