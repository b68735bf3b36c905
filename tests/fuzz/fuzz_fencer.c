/*
 * Fuzz target for the fencer's line protocol (coord/fencer_proto.h): every input is parsed as
 * a request and as a reply. The parsers are strict, so whatever parses is in canonical form:
 * formatting it again must give back the input byte for byte (plus its '\n'). Failures must be
 * -EINVAL with a message. A broken promise aborts.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord/fencer_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "tests/fuzz/require.h"

static void check_request(const char *line, size_t size)
{
    struct fencer_proto_request rq;
    char err[128] = "";
    int rv = fencer_proto_parse_request(line, size, &rq, err, sizeof err);
    if (rv != 0) {
        REQUIRE(rv == -EINVAL && err[0] != '\0');
        return;
    }
    REQUIRE(rq.kind == FENCER_PROTO_PING || rq.epoch != 0);
    char again[FENCER_PROTO_LINE_MAX];
    int n = fencer_proto_format_request(&rq, again, sizeof again);
    REQUIRE(n > 0 && (size_t)n == size + 1 && again[n - 1] == '\n');
    REQUIRE(memcmp(again, line, size) == 0);
}

static void check_reply(const char *line, size_t size)
{
    struct fencer_proto_reply reply;
    char err[256] = "";
    int rv = fencer_proto_parse_reply(line, size, &reply, err, sizeof err);
    if (rv != 0) {
        REQUIRE(rv == -EINVAL && err[0] != '\0');
        return;
    }
    char again[FENCER_PROTO_LINE_MAX];
    int n = fencer_proto_format_reply(&reply, again, sizeof again);
    REQUIRE(n > 0 && n < (int)sizeof again && again[n - 1] == '\n');
    REQUIRE(memchr(again, '\n', (size_t)n - 1) == NULL); /* one line, whatever the reason held */
    struct fencer_proto_reply back;
    REQUIRE(fencer_proto_parse_reply(again, (size_t)n - 1, &back, err, sizeof err) == 0);
    REQUIRE(back.ok == reply.ok);
    if (reply.ok) {
        REQUIRE((size_t)n == size + 1 && memcmp(again, line, size) == 0);
        REQUIRE(memcmp(&back, &reply, sizeof back) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size heap copy, so that ASan catches any read past the end. */
    char *copy = malloc(size + 1);
    if (copy == NULL) {
        return 0;
    }
    memcpy(copy, data, size);
    check_request(copy, size);
    check_reply(copy, size);
    free(copy);
    return 0;
}
