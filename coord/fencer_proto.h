/*
 * The fencer's line protocol (coord/fencer.c serves it, coord/fencer_client.c speaks it): one
 * text line per message over a Unix stream socket, each ended by '\n'.
 *
 *     ARM <epoch> <fence_at_ms>   the writer of <epoch> is writable until <fence_at_ms>
 *                                 (CLOCK_BOOTTIME milliseconds of this host); replaces the
 *                                 deadline of an earlier ARM of the same or an older epoch
 *     DISARM <epoch>              the daemon fenced by itself: drop the deadline of <epoch>
 *     PING                        report the state
 *
 * Every request gets one reply line: "OK disarmed", "OK armed <epoch> <fence_at_ms>",
 * "OK fenced <epoch>" (the fencer fenced that epoch, both steps succeeded), "OK fencing <epoch>"
 * (it fenced but the MySQL step failed and is being retried), or "ERR <reason>".
 *
 * Why text: an operator can talk to it with socat, and the parser is small enough to fuzz
 * exhaustively. Numbers are plain decimal (no sign, no leading '+', at most 20 digits, no
 * overflow); fields are separated by exactly one space; nothing may follow the last field. Pure.
 */
#ifndef MMC_FENCER_PROTO_H
#define MMC_FENCER_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest line either side sends, '\n' included; longer input is a protocol error. */
#define FENCER_PROTO_LINE_MAX 96

enum fencer_proto_request_kind {
    FENCER_PROTO_ARM = 1,
    FENCER_PROTO_DISARM,
    FENCER_PROTO_PING,
};

struct fencer_proto_request {
    enum fencer_proto_request_kind kind;
    uint64_t epoch;       /* ARM, DISARM */
    uint64_t fence_at_ms; /* ARM */
};

enum fencer_proto_state {
    FENCER_PROTO_DISARMED = 1,
    FENCER_PROTO_ARMED,
    FENCER_PROTO_FENCING, /* deadline passed, MySQL step not yet confirmed: retrying */
    FENCER_PROTO_FENCED,
};

struct fencer_proto_reply {
    bool ok;
    enum fencer_proto_state state;      /* when ok */
    uint64_t epoch;                     /* ARMED, FENCING, FENCED */
    uint64_t fence_at_ms;               /* ARMED */
    char reason[FENCER_PROTO_LINE_MAX]; /* when !ok */
};

/* Parse one request line of @len bytes (without its '\n'; a trailing '\r' is refused like any
 * other stray byte). Epoch 0 is refused (epochs start at 1). Returns 0, or -EINVAL with a
 * message saying what was expected. */
int fencer_proto_parse_request(const char *line, size_t len, struct fencer_proto_request *out,
                               char *errmsg, size_t errlen);

/* Write @request as a line with its '\n' into @buf. Returns the length, or -ENOSPC when
 * @len < FENCER_PROTO_LINE_MAX. */
int fencer_proto_format_request(const struct fencer_proto_request *request, char *buf, size_t len);

/* Parse one reply line (without its '\n'). "ERR <reason>" is a valid reply with ok=false and
 * the reason copied. Returns 0, or -EINVAL with a message. */
int fencer_proto_parse_reply(const char *line, size_t len, struct fencer_proto_reply *out,
                             char *errmsg, size_t errlen);

/* Write @reply as a line with its '\n' (an ERR reason is cut to fit and its control bytes
 * replaced). Returns the length, or -ENOSPC when @len < FENCER_PROTO_LINE_MAX. */
int fencer_proto_format_reply(const struct fencer_proto_reply *reply, char *buf, size_t len);

/* "disarmed", "armed", "fencing", "fenced" ("?" for anything else). */
const char *fencer_proto_state_name(enum fencer_proto_state state);

#endif /* MMC_FENCER_PROTO_H */
