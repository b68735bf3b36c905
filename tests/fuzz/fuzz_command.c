/*
 * Fuzz target for the decoders of what the raft log and snapshots carry (coord/codec.h,
 * coord/record.h): every input goes to command_decode() and to record_decode(). What decodes
 * must encode back to a form that decodes to the same value; every failure must be -EINVAL
 * with a reason. A broken promise aborts.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord/codec.h"
#include "coord/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "tests/fuzz/require.h"

static void check_command(const uint8_t *data, size_t size)
{
    struct command cmd;
    char err[CODEC_ERRMSG_SIZE] = "";
    int rv = command_decode(data, size, &cmd, err, sizeof err);
    if (rv != 0) {
        REQUIRE(rv == -EINVAL && err[0] != '\0');
        return;
    }
    uint8_t again[CODEC_COMMAND_MAX];
    size_t len;
    REQUIRE(command_encode(&cmd, again, sizeof again, &len) == 0);
    REQUIRE(len % CODEC_ALIGN == 0);
    struct command back;
    REQUIRE(command_decode(again, len, &back, err, sizeof err) == 0);
    REQUIRE(back.type == cmd.type);
    REQUIRE(memcmp(&back, &cmd, sizeof cmd) == 0); /* decode zeroes, so padding matches */
}

static void check_snapshot(const uint8_t *data, size_t size)
{
    static struct record record;
    char err[CODEC_ERRMSG_SIZE] = "";
    int rv = record_decode(data, size, &record, err, sizeof err);
    if (rv != 0) {
        REQUIRE(rv == -EINVAL && err[0] != '\0');
        return;
    }
    REQUIRE(record.n_nodes <= RECORD_MAX_NODES && record.n_history <= RECORD_HISTORY_MAX);
    static uint8_t again[RECORD_SNAPSHOT_MAX];
    size_t len;
    REQUIRE(record_encode(&record, again, sizeof again, &len) == 0);
    if (data[4] == RECORD_FORMAT_VERSION) {
        /* The current format round-trips byte for byte. */
        REQUIRE(len == size && memcmp(again, data, size) == 0);
    } else {
        /* An older format is rewritten in the current one, holding the same record. */
        static struct record back;
        REQUIRE(record_decode(again, len, &back, err, sizeof err) == 0);
        REQUIRE(memcmp(&back, &record, sizeof record) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Exact-size heap copies, so that ASan catches any read past the end. */
    uint8_t *copy = malloc(size + 1);
    if (copy == NULL) {
        return 0;
    }
    memcpy(copy, data, size);
    check_command(copy, size);
    check_snapshot(copy, size);
    free(copy);
    return 0;
}
