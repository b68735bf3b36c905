/*
 * The wire and disk format of the cluster record's commands: what the raft log carries.
 *
 * Every command is an 8-byte header followed by a body:
 *
 *   byte 0     codec version (CODEC_VERSION)
 *   byte 1     command type (enum command_type)
 *   bytes 2-3  reserved, zero
 *   bytes 4-7  body length, little-endian
 *   then the body, then 0 to 7 zero bytes so that the whole is a multiple of 8 bytes (raft's
 *   libuv log in 0.15 reloads entries of other lengths from the wrong offset)
 *
 * Bodies are sequences of little-endian integers and length-prefixed strings (u16 length, then
 * the bytes, no terminator), each string with its own maximum. The decoder checks every length
 * against what is left and against the field's maximum, so truncated, oversized or garbage input
 * gives an error that says which field was wrong, never a crash or an over-read. It is fuzzed
 * (tests/fuzz/fuzz_command.c).
 *
 * Versioning: a new command type is added with a new type number; a change to an existing
 * body bumps CODEC_VERSION and keeps the decoder for the older version. A node that meets a
 * version or type it does not know refuses the command with a message saying so (the whole
 * cluster must run a release that knows it before it is proposed).
 *
 * The small reader and writer below are also what record.c uses for snapshots.
 */
#ifndef MMC_CODEC_H
#define MMC_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CODEC_VERSION      1
#define CODEC_HEADER_SIZE  8
#define CODEC_ALIGN        8    /* encoded commands are padded to a multiple of this */
#define CODEC_COMMAND_MAX  4096 /* largest encoded command */
#define CODEC_ID_SIZE      32   /* node ids, as in the config: 1..31 bytes */
#define CODEC_VERSION_SIZE 32   /* software version strings: 0..31 bytes */
#define CODEC_ERRMSG_SIZE  256

/* A cursor over bytes being decoded. Every getter checks bounds; after the first failure all
 * later getters fail too and errmsg holds the first reason, so callers check once at the end. */
struct codec_reader {
    const uint8_t *data;
    size_t size;
    size_t offset;
    int error; /* 0 or -EINVAL */
    char errmsg[CODEC_ERRMSG_SIZE];
};

/* A cursor over a caller-owned buffer being encoded. Overflow sets error to -ENOSPC. */
struct codec_writer {
    uint8_t *data;
    size_t capacity;
    size_t offset;
    int error;
};

void codec_reader_init(struct codec_reader *r, const void *data, size_t size);
uint8_t codec_get_u8(struct codec_reader *r, const char *field);
uint16_t codec_get_u16(struct codec_reader *r, const char *field);
uint32_t codec_get_u32(struct codec_reader *r, const char *field);
uint64_t codec_get_u64(struct codec_reader *r, const char *field);
/* Reads a string into @out (capacity @size, so at most size-1 bytes; NUL-terminated). A string
 * longer than that, or one holding a NUL byte, is an error naming @field. */
void codec_get_string(struct codec_reader *r, const char *field, char *out, size_t size);
/* Fails unless every byte was consumed (trailing garbage is an error). */
void codec_expect_end(struct codec_reader *r, const char *what);

void codec_writer_init(struct codec_writer *w, void *data, size_t capacity);
void codec_put_u8(struct codec_writer *w, uint8_t v);
void codec_put_u16(struct codec_writer *w, uint16_t v);
void codec_put_u32(struct codec_writer *w, uint32_t v);
void codec_put_u64(struct codec_writer *w, uint64_t v);
void codec_put_string(struct codec_writer *w, const char *s);

/* ---- Commands ---- */

enum command_type {
    COMMAND_REPORT = 1, /* a node's periodic liveness report */
};

/* What a node knows of its own MySQL server. Until the daemon probes MySQL, UNKNOWN. */
enum mysql_view {
    MYSQL_VIEW_UNKNOWN = 0,
    MYSQL_VIEW_UP = 1,
    MYSQL_VIEW_DOWN = 2,
};
#define MYSQL_VIEW_MAX MYSQL_VIEW_DOWN

/* REPORT: sent by every node every report interval (forwarded to the leader). The times are
 * the reporter's own wall clock: they are for display; durations never come from them. */
struct command_report {
    char node_id[CODEC_ID_SIZE];
    char version[CODEC_VERSION_SIZE];
    uint64_t start_wall_ms; /* when the reporting daemon started */
    uint64_t sent_wall_ms;  /* when it sent this report */
    uint64_t seq;           /* 1, 2, ... within one run of the daemon */
    uint8_t mysql;          /* enum mysql_view */
};

struct command {
    uint8_t type; /* enum command_type */
    union {
        struct command_report report;
    };
};

/* Encode @cmd into @buf (capacity @cap). Returns 0 and sets *@len, -ENOSPC if it does not fit,
 * -EINVAL for an unknown type or a field out of range (a string too long for its field). */
int command_encode(const struct command *cmd, uint8_t *buf, size_t cap, size_t *len);

/* Decode @len bytes at @buf into @out. Returns 0, or -EINVAL with errmsg saying what is wrong:
 * truncated header, unknown codec version (and which one this build reads), unknown type,
 * length mismatch, or which field is out of bounds. Never reads outside [buf, buf+len). */
int command_decode(const uint8_t *buf, size_t len, struct command *out, char *errmsg,
                   size_t errlen);

/* A short name for a command type ("report"), or "unknown". */
const char *command_type_name(uint8_t type);

/* "unknown", "up", "down". */
const char *mysql_view_name(uint8_t view);

#endif /* MMC_CODEC_H */
