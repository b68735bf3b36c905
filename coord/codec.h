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
#define CODEC_COMMAND_MAX  8192 /* largest encoded command */
#define CODEC_ID_SIZE      32   /* node ids, as in the config: 1..31 bytes */
#define CODEC_VERSION_SIZE 32   /* software version strings: 0..31 bytes */
#define CODEC_ERRMSG_SIZE  256
#define CODEC_GTID_SIZE    2048 /* a GTID set as text: 0..2047 bytes */
#define CODEC_HOST_SIZE    128  /* a replication source host: 0..127 bytes */
#define CODEC_REASON_SIZE  256  /* why a writer changed or released: 0..255 bytes */

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
int64_t codec_get_i64(struct codec_reader *r, const char *field);
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
void codec_put_i64(struct codec_writer *w, int64_t v);
void codec_put_string(struct codec_writer *w, const char *s);

/* ---- Commands ---- */

enum command_type {
    COMMAND_REPORT = 1,     /* a node's periodic liveness report */
    COMMAND_HEALTH = 2,     /* a node's view of its own MySQL server */
    COMMAND_RENEW = 3,      /* the writer renews its lease */
    COMMAND_RELEASE = 4,    /* the writer gives its epoch up (its mysqld is down, switchover) */
    COMMAND_SET_WRITER = 5, /* the leader names the writer of the next epoch */
    COMMAND_OPENED = 6,     /* the new writer has caught up and opened for writes */
    /* Issue 8: operator actions. A switchover is a sequence of entries (coord/switchover.h). */
    COMMAND_MAINTENANCE = 7,           /* automatic failover paused or resumed */
    COMMAND_SWITCHOVER_BEGIN = 8,      /* a planned switchover starts */
    COMMAND_SWITCHOVER_FENCED = 9,     /* the old writer fenced itself: its final position */
    COMMAND_SWITCHOVER_CAUGHT_UP = 10, /* the target applied that final position */
    COMMAND_SWITCHOVER_DONE = 11,      /* the target opened: the switchover is over */
    COMMAND_SWITCHOVER_ABORT = 12,     /* stop the sequence (and roll back when needed) */
    COMMAND_FAILOVER_FORCE = 13,       /* the operator's override of the automatic rules */
};
#define COMMAND_TYPE_MAX COMMAND_FAILOVER_FORCE

/* What a node knows of its own MySQL server. Until the daemon probes MySQL, UNKNOWN. */
enum mysql_view {
    MYSQL_VIEW_UNKNOWN = 0, /* not probed yet */
    MYSQL_VIEW_UP = 1,      /* answered the probe */
    MYSQL_VIEW_DOWN = 2,    /* connection refused: mysqld is not running */
    MYSQL_VIEW_TIMEOUT = 3, /* no answer in time: paused, overloaded or cut off */
    MYSQL_VIEW_DENIED = 4,  /* login or statement refused: the coordinator's GRANT */
    MYSQL_VIEW_ERROR = 5,   /* anything else */
};
#define MYSQL_VIEW_MAX MYSQL_VIEW_ERROR

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

/* HEALTH: what a node sees of its own MySQL server, sent at once when it changes and with every
 * report otherwise. GTID sets are text in the server's own flavour (mysql/gtid.h parses them);
 * they are compared by the leader, not by record_apply. */
struct command_health {
    char node_id[CODEC_ID_SIZE];
    uint64_t seq;          /* 1, 2, ... within one run of the daemon */
    uint64_t sent_wall_ms; /* the reporter's clock, for display */
    uint8_t mysql;         /* enum mysql_view */
    uint8_t read_only;     /* 0 or 1 (super_read_only counts as read_only) */
    uint8_t flavor;        /* 0 MariaDB, 1 MySQL (enum gtid_flavor) */
    uint8_t replicating;   /* 0 or 1: a replication source is configured */
    uint8_t io_running;    /* 0 or 1 */
    uint8_t sql_running;   /* 0 or 1 */
    uint16_t source_port;
    char source_host[CODEC_HOST_SIZE];
    int64_t lag_s;                  /* seconds behind the source, -1 when unknown */
    char executed[CODEC_GTID_SIZE]; /* what the server has executed */
    char received[CODEC_GTID_SIZE]; /* what its IO thread received (replicas), may be empty */
};

/* RENEW: the writer of @epoch asks for its lease to be extended; @nonce names the request so
 * that the writer can match the committed entry with the time it sent it (coord/lease.h). */
struct command_renew {
    uint64_t epoch;
    char node_id[CODEC_ID_SIZE];
    uint64_t nonce;
};

/* RELEASE: the writer of @epoch gives it up and has fenced itself; the leader may promote at
 * once instead of waiting out the lease. */
struct command_release {
    uint64_t epoch;
    char node_id[CODEC_ID_SIZE];
    char reason[CODEC_REASON_SIZE];
};

/* SET_WRITER: epoch @epoch (the current one plus one) belongs to @node_id ("" for none). The
 * times are the leader's wall clock, for the history: when the fault was first seen and when
 * the decision was taken. */
struct command_set_writer {
    uint64_t epoch;
    char node_id[CODEC_ID_SIZE];
    char reason[CODEC_REASON_SIZE];
    uint64_t detected_wall_ms;
    uint64_t decided_wall_ms;
};

/* OPENED: the writer of @epoch has caught up and opened for writes at @opened_wall_ms. */
struct command_opened {
    uint64_t epoch;
    char node_id[CODEC_ID_SIZE];
    uint64_t opened_wall_ms;
};

/* MAINTENANCE: automatic failover paused (@on 1) or resumed (@on 0). Leases are still held
 * and renewed either way. @uid is the peer uid on the control socket of @via, the daemon
 * that took the request; @wall_ms its clock (display only). */
struct command_maintenance {
    uint8_t on; /* 0 or 1 */
    uint32_t uid;
    uint64_t wall_ms;
    char via[CODEC_ID_SIZE];
    char reason[CODEC_REASON_SIZE];
};

/* How a switchover sequence started (record.h keeps one sequence at a time). */
enum switchover_kind {
    SWITCHOVER_KIND_PLANNED = 1, /* SWITCHOVER_BEGIN: fence, final position, catch up, switch */
    SWITCHOVER_KIND_FORCED = 2,  /* FAILOVER_FORCE: switch once the old lease is over */
};

/* SWITCHOVER_BEGIN: move the writer of @epoch (@from) to @to. @id (never 0) names the sequence
 * in every later entry; @timeout_ms is a duration, counted by each leader on its own clock from
 * when it applied this entry. @reason says why @to (named by the operator, or picked). */
struct command_switchover_begin {
    uint64_t id;
    uint64_t epoch;
    char from[CODEC_ID_SIZE];
    char to[CODEC_ID_SIZE];
    uint64_t timeout_ms; /* > 0 */
    uint32_t uid;
    uint64_t wall_ms;
    char via[CODEC_ID_SIZE];
    char reason[CODEC_REASON_SIZE];
};

/* FAILOVER_FORCE: make @to the writer after the current epoch (@epoch, whose writer may be
 * dead or "") even though the automatic rules refuse; @missing is what the operator accepted
 * to lose (GTID text, may be empty). The lease rule still holds: the leader waits until the
 * old writer fenced (SWITCHOVER_FENCED) or its lease ran out. */
struct command_failover_force {
    uint64_t id;
    uint64_t epoch;
    char to[CODEC_ID_SIZE];
    uint64_t timeout_ms; /* > 0 */
    uint32_t uid;
    uint64_t wall_ms;
    char via[CODEC_ID_SIZE];
    char missing[CODEC_GTID_SIZE];
};

/* SWITCHOVER_FENCED: @node, writer of @epoch, fenced itself for sequence @id; @executed is what
 * its server executed once read_only was seen ON (its final position; @flavor as in HEALTH).
 * Applying it releases the epoch, like RELEASE. */
struct command_switchover_fenced {
    uint64_t id;
    uint64_t epoch;
    char node[CODEC_ID_SIZE];
    uint8_t flavor; /* 0 MariaDB, 1 MySQL */
    char executed[CODEC_GTID_SIZE];
    uint64_t wall_ms;
};

/* SWITCHOVER_CAUGHT_UP: the target @node has executed the final position of sequence @id
 * (@executed: its set at that moment). */
struct command_switchover_caught_up {
    uint64_t id;
    char node[CODEC_ID_SIZE];
    char executed[CODEC_GTID_SIZE];
    uint64_t wall_ms;
};

/* SWITCHOVER_DONE: the new writer of @epoch opened; sequence @id is over. */
struct command_switchover_done {
    uint64_t id;
    uint64_t epoch;
    uint64_t wall_ms;
};

/* SWITCHOVER_ABORT: stop sequence @id; @reason says why (a refusal found by the leader, a
 * timeout, the operator). Before the old writer released its epoch it simply keeps it; after,
 * the leader rolls back by naming it writer of a new epoch (a fresh lease). */
struct command_switchover_abort {
    uint64_t id;
    uint64_t wall_ms;
    char reason[CODEC_REASON_SIZE];
};

struct command {
    uint8_t type; /* enum command_type */
    union {
        struct command_report report;
        struct command_health health;
        struct command_renew renew;
        struct command_release release;
        struct command_set_writer set_writer;
        struct command_opened opened;
        struct command_maintenance maintenance;
        struct command_switchover_begin switchover_begin;
        struct command_failover_force failover_force;
        struct command_switchover_fenced switchover_fenced;
        struct command_switchover_caught_up switchover_caught_up;
        struct command_switchover_done switchover_done;
        struct command_switchover_abort switchover_abort;
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

/* The body of a HEALTH command, also used by record snapshots. put returns -EINVAL when a field
 * is out of range (and writes nothing); get fails the reader with the field's name. */
int command_health_put(struct codec_writer *w, const struct command_health *c);
void command_health_get(struct codec_reader *r, struct command_health *c);

/* A short name for a command type ("report", "health", "renew", ..., "switchover_begin"), or
 * "unknown". */
const char *command_type_name(uint8_t type);

/* "unknown", "up", "down", "timeout", "denied", "error". */
const char *mysql_view_name(uint8_t view);

#endif /* MMC_CODEC_H */
