/* The fencer's line protocol; see fencer_proto.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "coord/fencer_proto.h"

struct cursor {
    const char *p;
    const char *end;
};

/* Consume @word when the input continues with exactly it, followed by a space or the end. */
static bool take_word(struct cursor *c, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0) {
        return false;
    }
    if (c->p + n != c->end && c->p[n] != ' ') {
        return false;
    }
    c->p += n;
    return true;
}

/* Consume " <decimal>" into *@out; refuses overflow, empty numbers and leading zeros. */
static bool take_number(struct cursor *c, uint64_t *out)
{
    if (c->p == c->end || *c->p != ' ') {
        return false;
    }
    const char *start = ++c->p;
    uint64_t value = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        unsigned digit = (unsigned)(*c->p - '0');
        if (value > (UINT64_MAX - digit) / 10) {
            return false;
        }
        value = value * 10 + digit;
        c->p++;
    }
    size_t digits = (size_t)(c->p - start);
    if (digits == 0 || (digits > 1 && *start == '0')) {
        return false;
    }
    *out = value;
    return true;
}

int fencer_proto_parse_request(const char *line, size_t len, struct fencer_proto_request *out,
                               char *errmsg, size_t errlen)
{
    struct cursor c = {line, line + len};
    memset(out, 0, sizeof *out);
    const char *expected;
    if (take_word(&c, "ARM")) {
        out->kind = FENCER_PROTO_ARM;
        expected = "ARM <epoch> <fence_at_ms>";
        if (!take_number(&c, &out->epoch) || !take_number(&c, &out->fence_at_ms)) {
            goto bad;
        }
    } else if (take_word(&c, "DISARM")) {
        out->kind = FENCER_PROTO_DISARM;
        expected = "DISARM <epoch>";
        if (!take_number(&c, &out->epoch)) {
            goto bad;
        }
    } else if (take_word(&c, "PING")) {
        out->kind = FENCER_PROTO_PING;
        expected = "PING";
    } else {
        snprintf(errmsg, errlen, "unknown request: expected ARM, DISARM or PING");
        return -EINVAL;
    }
    if (c.p != c.end) {
        goto bad;
    }
    if (out->kind != FENCER_PROTO_PING && out->epoch == 0) {
        snprintf(errmsg, errlen, "epoch 0 is not an epoch (they start at 1)");
        return -EINVAL;
    }
    return 0;
bad:
    snprintf(errmsg, errlen, "malformed request: expected \"%s\" (decimal numbers, one space)",
             expected);
    return -EINVAL;
}

int fencer_proto_format_request(const struct fencer_proto_request *request, char *buf, size_t len)
{
    if (len < FENCER_PROTO_LINE_MAX) {
        return -ENOSPC;
    }
    switch (request->kind) {
    case FENCER_PROTO_ARM:
        return snprintf(buf, len, "ARM %" PRIu64 " %" PRIu64 "\n", request->epoch,
                        request->fence_at_ms);
    case FENCER_PROTO_DISARM:
        return snprintf(buf, len, "DISARM %" PRIu64 "\n", request->epoch);
    case FENCER_PROTO_PING:
        break;
    }
    return snprintf(buf, len, "PING\n");
}

static const char *const state_names[] = {
    [FENCER_PROTO_DISARMED] = "disarmed",
    [FENCER_PROTO_ARMED] = "armed",
    [FENCER_PROTO_FENCING] = "fencing",
    [FENCER_PROTO_FENCED] = "fenced",
};

const char *fencer_proto_state_name(enum fencer_proto_state state)
{
    if (state < FENCER_PROTO_DISARMED || state > FENCER_PROTO_FENCED) {
        return "?";
    }
    return state_names[state];
}

int fencer_proto_parse_reply(const char *line, size_t len, struct fencer_proto_reply *out,
                             char *errmsg, size_t errlen)
{
    struct cursor c = {line, line + len};
    memset(out, 0, sizeof *out);
    if (take_word(&c, "ERR")) {
        size_t n = c.p == c.end ? 0 : (size_t)(c.end - c.p - 1);
        if (n == 0 || n >= sizeof out->reason) {
            snprintf(errmsg, errlen, "malformed reply: ERR needs a reason of 1..%zu bytes",
                     sizeof out->reason - 1);
            return -EINVAL;
        }
        memcpy(out->reason, c.p + 1, n);
        return 0;
    }
    if (!take_word(&c, "OK") || c.p == c.end) {
        snprintf(errmsg, errlen, "malformed reply: expected \"OK <state>\" or \"ERR <reason>\"");
        return -EINVAL;
    }
    c.p++;
    out->ok = true;
    bool good;
    if (take_word(&c, "disarmed")) {
        out->state = FENCER_PROTO_DISARMED;
        good = true;
    } else if (take_word(&c, "armed")) {
        out->state = FENCER_PROTO_ARMED;
        good = take_number(&c, &out->epoch) && take_number(&c, &out->fence_at_ms);
    } else if (take_word(&c, "fencing")) {
        out->state = FENCER_PROTO_FENCING;
        good = take_number(&c, &out->epoch);
    } else if (take_word(&c, "fenced")) {
        out->state = FENCER_PROTO_FENCED;
        good = take_number(&c, &out->epoch);
    } else {
        good = false;
    }
    if (!good || c.p != c.end) {
        snprintf(errmsg, errlen,
                 "malformed reply: expected OK disarmed | armed <epoch> <fence_at_ms> | "
                 "fencing <epoch> | fenced <epoch>");
        return -EINVAL;
    }
    return 0;
}

int fencer_proto_format_reply(const struct fencer_proto_reply *reply, char *buf, size_t len)
{
    if (len < FENCER_PROTO_LINE_MAX) {
        return -ENOSPC;
    }
    if (!reply->ok) {
        /* "ERR " + reason + "\n" within the line limit; control bytes would split the line. */
        char reason[FENCER_PROTO_LINE_MAX - 5];
        size_t n = strnlen(reply->reason, sizeof reason - 1);
        for (size_t i = 0; i < n; i++) {
            unsigned char ch = (unsigned char)reply->reason[i];
            reason[i] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
        }
        if (n == 0) {
            reason[n++] = '?';
        }
        reason[n] = '\0';
        return snprintf(buf, len, "ERR %s\n", reason);
    }
    switch (reply->state) {
    case FENCER_PROTO_ARMED:
        return snprintf(buf, len, "OK armed %" PRIu64 " %" PRIu64 "\n", reply->epoch,
                        reply->fence_at_ms);
    case FENCER_PROTO_FENCING:
    case FENCER_PROTO_FENCED:
        return snprintf(buf, len, "OK %s %" PRIu64 "\n", fencer_proto_state_name(reply->state),
                        reply->epoch);
    case FENCER_PROTO_DISARMED:
        break;
    }
    return snprintf(buf, len, "OK disarmed\n");
}
