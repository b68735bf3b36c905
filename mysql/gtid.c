/*
 * GTID-set algebra. Both flavours share one representation: a sorted array of members (a MySQL
 * uuid plus tag, or a MariaDB domain) each owning a run of sorted, disjoint, non-adjacent
 * intervals in one flat array. Parsing collects every interval with its member's key, sorts
 * them once and merges, so that no input shape costs more than n log n; the set operations are
 * merge walks over two such arrays.
 */
#include "mysql/gtid.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UUID_TEXT_LEN  36
#define TAG_MAX_LEN    32
#define MYSQL_GNO_MAX  ((uint64_t)INT64_MAX)
#define MARIADB_ID_MAX ((uint64_t)UINT32_MAX)

struct gtid_interval {
    uint64_t first;
    uint64_t last;
};

/* The key of a member and where its intervals are. MySQL uses uuid and tag ("" when untagged);
 * MariaDB uses domain and carries server_id for printing. */
struct gtid_member {
    unsigned char uuid[16];
    char tag[TAG_MAX_LEN + 1];
    uint32_t domain;
    uint32_t server_id;
    size_t first_interval;
    size_t interval_count;
};

struct gtid_set {
    enum gtid_flavor flavor;
    struct gtid_member *members;
    size_t member_count;
    size_t member_capacity;
    struct gtid_interval *intervals;
    size_t interval_count;
    size_t interval_capacity;
};

static int member_key_compare(enum gtid_flavor flavor, const struct gtid_member *a,
                              const struct gtid_member *b)
{
    if (flavor == GTID_FLAVOR_MARIADB) {
        return (a->domain > b->domain) - (a->domain < b->domain);
    }
    int c = memcmp(a->uuid, b->uuid, sizeof(a->uuid));
    return c != 0 ? c : strcmp(a->tag, b->tag);
}

/* ---- building a set in key order ---- */

static int set_begin_member(struct gtid_set *set, const struct gtid_member *key)
{
    if (set->member_count == set->member_capacity) {
        size_t capacity = set->member_capacity ? set->member_capacity * 2 : 8;
        struct gtid_member *grown = realloc(set->members, capacity * sizeof(*grown));
        if (grown == NULL) {
            return -ENOMEM;
        }
        set->members = grown;
        set->member_capacity = capacity;
    }
    struct gtid_member *member = &set->members[set->member_count++];
    *member = *key;
    member->first_interval = set->interval_count;
    member->interval_count = 0;
    return 0;
}

/* Adds an interval to the member begun last; intervals must come in ascending order of first.
 * Overlapping or adjacent ones are merged so the set stays canonical. */
static int set_add_interval(struct gtid_set *set, uint64_t first, uint64_t last)
{
    struct gtid_member *member = &set->members[set->member_count - 1];
    if (member->interval_count > 0) {
        struct gtid_interval *previous = &set->intervals[set->interval_count - 1];
        if (previous->last == UINT64_MAX || first <= previous->last + 1) {
            if (last > previous->last) {
                previous->last = last;
            }
            return 0;
        }
    }
    if (set->interval_count == set->interval_capacity) {
        size_t capacity = set->interval_capacity ? set->interval_capacity * 2 : 16;
        struct gtid_interval *grown = realloc(set->intervals, capacity * sizeof(*grown));
        if (grown == NULL) {
            return -ENOMEM;
        }
        set->intervals = grown;
        set->interval_capacity = capacity;
    }
    set->intervals[set->interval_count].first = first;
    set->intervals[set->interval_count].last = last;
    set->interval_count++;
    member->interval_count++;
    return 0;
}

/* Drops the member begun last if it ended up with no interval (e.g. a difference emptied it). */
static void set_end_member(struct gtid_set *set)
{
    if (set->members[set->member_count - 1].interval_count == 0) {
        set->member_count--;
    }
}

static const struct gtid_interval *member_intervals(const struct gtid_set *set,
                                                    const struct gtid_member *member)
{
    return set->intervals + member->first_interval;
}

static uint64_t member_last_seq(const struct gtid_set *set, const struct gtid_member *member)
{
    return member_intervals(set, member)[member->interval_count - 1].last;
}

struct gtid_set *gtid_set_new(enum gtid_flavor flavor)
{
    struct gtid_set *set = calloc(1, sizeof(*set));
    if (set != NULL) {
        set->flavor = flavor;
    }
    return set;
}

void gtid_set_free(struct gtid_set *set)
{
    if (set == NULL) {
        return;
    }
    free(set->members);
    free(set->intervals);
    free(set);
}

enum gtid_flavor gtid_set_flavor(const struct gtid_set *set)
{
    return set->flavor;
}

bool gtid_set_is_empty(const struct gtid_set *set)
{
    return set->member_count == 0;
}

/* ---- parsing ---- */

/* One interval as read, with the key of the member it belongs to; sorted all at once. */
struct parsed_interval {
    struct gtid_member key;
    uint64_t first;
    uint64_t last;
    size_t member_index; /* 0-based position of its member in the text */
    size_t member_offset;
};

struct parser {
    enum gtid_flavor flavor;
    const char *text;
    char *errmsg;
    size_t errlen;
    struct parsed_interval *items;
    size_t item_count;
    size_t item_capacity;
    /* the member being parsed, for error messages */
    size_t member_index;
    size_t member_start;
    size_t member_end;
};

static const char *flavor_name(enum gtid_flavor flavor)
{
    return flavor == GTID_FLAVOR_MARIADB ? "MariaDB" : "MySQL";
}

/* Error about the member being parsed: names it (made printable, shortened), its position and
 * its byte offset in the text. */
static int __attribute__((format(printf, 2, 3))) parse_error(struct parser *p, const char *fmt, ...)
{
    if (p->errmsg == NULL || p->errlen == 0) {
        return -EINVAL;
    }
    char shown[52];
    size_t length = p->member_end - p->member_start;
    size_t shown_length = length < 40 ? length : 40;
    for (size_t i = 0; i < shown_length; i++) {
        unsigned char c = (unsigned char)p->text[p->member_start + i];
        shown[i] = (c >= 0x20 && c < 0x7f && c != '"') ? (char)c : '?';
    }
    strcpy(shown + shown_length, length > shown_length ? "..." : "");
    char reason[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    snprintf(p->errmsg, p->errlen, "%s GTID set: member %zu \"%s\" at offset %zu: %s",
             flavor_name(p->flavor), p->member_index + 1, shown, p->member_start, reason);
    return -EINVAL;
}

static int parser_add(struct parser *p, const struct gtid_member *key, uint64_t first,
                      uint64_t last)
{
    if (p->item_count == GTID_SET_MAX_INTERVALS) {
        return parse_error(p, "more than %d intervals in one set; refusing the text",
                           GTID_SET_MAX_INTERVALS);
    }
    if (p->item_count == p->item_capacity) {
        size_t capacity = p->item_capacity ? p->item_capacity * 2 : 16;
        struct parsed_interval *grown = realloc(p->items, capacity * sizeof(*grown));
        if (grown == NULL) {
            return -ENOMEM;
        }
        p->items = grown;
        p->item_capacity = capacity;
    }
    struct parsed_interval *item = &p->items[p->item_count++];
    item->key = *key;
    item->first = first;
    item->last = last;
    item->member_index = p->member_index;
    item->member_offset = p->member_start;
    return 0;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Reads a decimal number at *pos (before end) into *value, at most max. */
static int parse_number(struct parser *p, size_t *pos, size_t end, uint64_t max, const char *what,
                        uint64_t *value)
{
    size_t start = *pos;
    uint64_t v = 0;
    *value = 0;
    if (start == end || !is_digit(p->text[start])) {
        return parse_error(p, "%s is missing or not a number at offset %zu", what, start);
    }
    while (*pos < end && is_digit(p->text[*pos])) {
        unsigned digit = (unsigned)(p->text[*pos] - '0');
        if (v > (max - digit) / 10) {
            return parse_error(p, "%s at offset %zu is larger than %" PRIu64, what, start, max);
        }
        v = v * 10 + digit;
        (*pos)++;
    }
    *value = v;
    return 0;
}

static int check_interval(struct parser *p, uint64_t first, uint64_t last, size_t offset)
{
    if (first == 0 || last == 0) {
        return parse_error(p, "transaction number 0 at offset %zu (numbering starts at 1)", offset);
    }
    if (first > last) {
        return parse_error(p, "interval at offset %zu runs backwards (%" PRIu64 " > %" PRIu64 ")",
                           offset, first, last);
    }
    return 0;
}

static int parse_uuid(struct parser *p, size_t pos, struct gtid_member *key)
{
    if (p->member_end - pos < UUID_TEXT_LEN) {
        return parse_error(p, "bad uuid: expected 36 characters like "
                              "3e11fa47-71ca-11e1-9e33-c80aa9429562");
    }
    size_t byte = 0;
    for (size_t i = 0; i < UUID_TEXT_LEN; i++) {
        char c = p->text[pos + i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-') {
                return parse_error(p, "bad uuid: expected '-' at offset %zu", pos + i);
            }
            continue;
        }
        int high = hex_value(c);
        int low = hex_value(p->text[pos + i + 1]);
        if (high < 0 || low < 0) {
            return parse_error(p, "bad uuid: not a hex digit at offset %zu",
                               high < 0 ? pos + i : pos + i + 1);
        }
        key->uuid[byte++] = (unsigned char)(high << 4 | low);
        i++;
    }
    return 0;
}

/* uuid:interval[:interval...][:tag:interval[:interval...]...] */
static int parse_mysql_member(struct parser *p)
{
    struct gtid_member key;
    memset(&key, 0, sizeof(key));
    size_t pos = p->member_start;
    size_t end = p->member_end;
    int rc = parse_uuid(p, pos, &key);
    if (rc != 0) {
        return rc;
    }
    pos += UUID_TEXT_LEN;
    if (pos == end) {
        return parse_error(p, "uuid with no interval (expected uuid:1-5)");
    }
    bool interval_since_tag = false;
    bool any_interval = false;
    while (pos < end) {
        if (p->text[pos] != ':') {
            return parse_error(p, "expected ':' at offset %zu", pos);
        }
        pos++;
        size_t token = pos;
        char c = token < end ? p->text[token] : '\0';
        if (is_digit(c)) {
            uint64_t first;
            uint64_t last;
            rc = parse_number(p, &pos, end, MYSQL_GNO_MAX, "transaction number", &first);
            if (rc != 0) {
                return rc;
            }
            last = first;
            if (pos < end && p->text[pos] == '-') {
                pos++;
                rc = parse_number(p, &pos, end, MYSQL_GNO_MAX, "interval end", &last);
                if (rc != 0) {
                    return rc;
                }
            }
            if (pos < end && p->text[pos] != ':') {
                return parse_error(p, "unexpected character at offset %zu in an interval", pos);
            }
            rc = check_interval(p, first, last, token);
            if (rc == 0) {
                rc = parser_add(p, &key, first, last);
            }
            if (rc != 0) {
                return rc;
            }
            interval_since_tag = true;
            any_interval = true;
        } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') {
            if (key.tag[0] != '\0' && !interval_since_tag) {
                return parse_error(p, "tag \"%s\" has no interval", key.tag);
            }
            size_t length = 0;
            while (pos < end && p->text[pos] != ':') {
                c = p->text[pos];
                bool ok =
                    (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || is_digit(c);
                if (!ok) {
                    return parse_error(p, "bad tag at offset %zu: only letters, digits and '_'",
                                       token);
                }
                if (length == TAG_MAX_LEN) {
                    return parse_error(p, "tag at offset %zu is longer than %d characters", token,
                                       TAG_MAX_LEN);
                }
                key.tag[length++] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
                pos++;
            }
            key.tag[length] = '\0';
            interval_since_tag = false;
        } else if (token == end || c == ':') {
            return parse_error(p, "empty interval at offset %zu", token);
        } else {
            return parse_error(p, "expected an interval or a tag at offset %zu", token);
        }
    }
    if (!any_interval || !interval_since_tag) {
        return parse_error(
            p, key.tag[0] != '\0' ? "tag \"%s\" has no interval" : "uuid with no interval%s",
            key.tag);
    }
    return 0;
}

/* domain-server-ranges, ranges = range[:range...], range = a..b, or a bare n first */
static int parse_mariadb_member(struct parser *p)
{
    struct gtid_member key;
    memset(&key, 0, sizeof(key));
    size_t pos = p->member_start;
    size_t end = p->member_end;
    uint64_t value;
    int rc = parse_number(p, &pos, end, MARIADB_ID_MAX, "domain id", &value);
    if (rc != 0) {
        return rc;
    }
    key.domain = (uint32_t)value;
    if (pos == end || p->text[pos] != '-') {
        return parse_error(p,
                           "expected '-' after the domain id at offset %zu "
                           "(a GTID is domain-server-seq)",
                           pos);
    }
    pos++;
    rc = parse_number(p, &pos, end, MARIADB_ID_MAX, "server id", &value);
    if (rc != 0) {
        return rc;
    }
    key.server_id = (uint32_t)value;
    if (pos == end || p->text[pos] != '-') {
        return parse_error(p,
                           "expected '-' after the server id at offset %zu "
                           "(a GTID is domain-server-seq)",
                           pos);
    }
    pos++;
    bool first_range = true;
    for (;;) {
        size_t token = pos;
        uint64_t first;
        uint64_t last;
        rc = parse_number(p, &pos, end, UINT64_MAX, "seq", &first);
        if (rc != 0) {
            return rc;
        }
        if (end - pos >= 2 && p->text[pos] == '.' && p->text[pos + 1] == '.') {
            pos += 2;
            rc = parse_number(p, &pos, end, UINT64_MAX, "range end", &last);
            if (rc != 0) {
                return rc;
            }
        } else if (first_range) {
            /* a position: every transaction of the domain up to seq */
            last = first;
            first = first == 0 ? 0 : 1;
        } else {
            return parse_error(p,
                               "bare seq at offset %zu after the first range: "
                               "write a..b (only the first may be a bare position)",
                               token);
        }
        rc = check_interval(p, first, last, token);
        if (rc == 0) {
            rc = parser_add(p, &key, first, last);
        }
        if (rc != 0) {
            return rc;
        }
        first_range = false;
        if (pos == end) {
            return 0;
        }
        if (p->text[pos] != ':') {
            return parse_error(p, "unexpected character at offset %zu after a seq", pos);
        }
        pos++;
    }
}

static int parsed_interval_compare(const void *left, const void *right, void *context)
{
    const struct parsed_interval *a = left;
    const struct parsed_interval *b = right;
    int c = member_key_compare(*(const enum gtid_flavor *)context, &a->key, &b->key);
    if (c != 0) {
        return c;
    }
    return (a->first > b->first) - (a->first < b->first);
}

/* Sorted items into a set; MariaDB refuses a domain given by two members of one position. */
static int parser_build(struct parser *p, struct gtid_set *set)
{
    enum gtid_flavor flavor = p->flavor;
    if (p->item_count == 0) {
        return 0;
    }
    qsort_r(p->items, p->item_count, sizeof(*p->items), parsed_interval_compare, &flavor);
    for (size_t i = 0; i < p->item_count; i++) {
        const struct parsed_interval *item = &p->items[i];
        bool new_member =
            i == 0 || member_key_compare(flavor, &p->items[i - 1].key, &item->key) != 0;
        if (!new_member && flavor == GTID_FLAVOR_MARIADB &&
            p->items[i - 1].member_index != item->member_index) {
            /* name the later of the two members */
            const struct parsed_interval *later =
                item->member_index > p->items[i - 1].member_index ? item : &p->items[i - 1];
            const struct parsed_interval *earlier = later == item ? &p->items[i - 1] : item;
            p->member_index = later->member_index;
            p->member_start = later->member_offset;
            p->member_end = p->member_start;
            while (p->text[p->member_end] != '\0' && p->text[p->member_end] != ',') {
                p->member_end++;
            }
            while (p->member_end > p->member_start && is_space(p->text[p->member_end - 1])) {
                p->member_end--;
            }
            return parse_error(p,
                               "domain %" PRIu32 " already given by member %zu; a position has "
                               "one GTID per domain (for @@gtid_binlog_state, read "
                               "@@gtid_binlog_pos instead)",
                               item->key.domain, earlier->member_index + 1);
        }
        if (new_member) {
            if (i > 0) {
                set_end_member(set);
            }
            int rc = set_begin_member(set, &item->key);
            if (rc != 0) {
                return rc;
            }
        }
        int rc = set_add_interval(set, item->first, item->last);
        if (rc != 0) {
            return rc;
        }
    }
    set_end_member(set);
    return 0;
}

static int parse_members(struct parser *p)
{
    const char *text = p->text;
    size_t pos = 0;
    while (is_space(text[pos])) {
        pos++;
    }
    if (text[pos] == '\0') {
        return 0;
    }
    for (size_t index = 0;; index++) {
        size_t end = pos;
        while (text[end] != '\0' && text[end] != ',') {
            end++;
        }
        size_t trimmed = end;
        while (trimmed > pos && is_space(text[trimmed - 1])) {
            trimmed--;
        }
        p->member_index = index;
        p->member_start = pos;
        p->member_end = trimmed;
        if (trimmed == pos) {
            return parse_error(p, "empty member (two commas in a row, or a comma at an end)");
        }
        int rc = p->flavor == GTID_FLAVOR_MARIADB ? parse_mariadb_member(p) : parse_mysql_member(p);
        if (rc != 0) {
            return rc;
        }
        if (text[end] == '\0') {
            return 0;
        }
        pos = end + 1;
        while (is_space(text[pos])) {
            pos++;
        }
        if (text[pos] == '\0') {
            p->member_index = index + 1;
            p->member_start = pos;
            p->member_end = pos;
            return parse_error(p, "empty member after the last comma");
        }
    }
}

int gtid_set_parse(enum gtid_flavor flavor, const char *text, struct gtid_set **out, char *errmsg,
                   size_t errlen)
{
    *out = NULL;
    if (errmsg != NULL && errlen > 0) {
        errmsg[0] = '\0';
    }
    struct parser p = {.flavor = flavor, .text = text, .errmsg = errmsg, .errlen = errlen};
    struct gtid_set *set = gtid_set_new(flavor);
    if (set == NULL) {
        return -ENOMEM;
    }
    int rc = parse_members(&p);
    if (rc == 0) {
        rc = parser_build(&p, set);
    }
    free(p.items);
    if (rc != 0) {
        if (rc == -ENOMEM && errmsg != NULL && errlen > 0) {
            snprintf(errmsg, errlen, "%s GTID set: out of memory while parsing",
                     flavor_name(flavor));
        }
        gtid_set_free(set);
        return rc;
    }
    *out = set;
    return 0;
}

/* ---- printing ---- */

static size_t append(char *buffer, size_t used, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static size_t append(char *buffer, size_t used, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int written = vsnprintf(buffer + used, size - used, fmt, ap);
    va_end(ap);
    return used + (size_t)written;
}

char *gtid_set_to_string(const struct gtid_set *set)
{
    /* generous upper bounds: uuid, tag and separators per member; two 20-digit numbers and
     * separators per interval */
    size_t size = set->member_count * (UUID_TEXT_LEN + TAG_MAX_LEN + 8) +
                  set->interval_count * (2 * 20 + 4) + 1;
    char *buffer = malloc(size);
    if (buffer == NULL) {
        return NULL;
    }
    buffer[0] = '\0';
    size_t used = 0;
    for (size_t m = 0; m < set->member_count; m++) {
        const struct gtid_member *member = &set->members[m];
        const struct gtid_interval *intervals = member_intervals(set, member);
        if (set->flavor == GTID_FLAVOR_MARIADB) {
            used = append(buffer, used, size, "%s%" PRIu32 "-%" PRIu32 "-", m > 0 ? "," : "",
                          member->domain, member->server_id);
            for (size_t i = 0; i < member->interval_count; i++) {
                const char *separator = i > 0 ? ":" : "";
                if (i == 0 && intervals[i].first == 1) {
                    used = append(buffer, used, size, "%" PRIu64, intervals[i].last);
                } else {
                    used = append(buffer, used, size, "%s%" PRIu64 "..%" PRIu64, separator,
                                  intervals[i].first, intervals[i].last);
                }
            }
            continue;
        }
        bool same_uuid = m > 0 && memcmp(set->members[m - 1].uuid, member->uuid, 16) == 0;
        if (!same_uuid) {
            const unsigned char *u = member->uuid;
            used = append(buffer, used, size,
                          "%s%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
                          "%02x%02x%02x%02x%02x%02x",
                          m > 0 ? "," : "", u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8],
                          u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
        }
        if (member->tag[0] != '\0') {
            used = append(buffer, used, size, ":%s", member->tag);
        }
        for (size_t i = 0; i < member->interval_count; i++) {
            if (intervals[i].first == intervals[i].last) {
                used = append(buffer, used, size, ":%" PRIu64, intervals[i].first);
            } else {
                used = append(buffer, used, size, ":%" PRIu64 "-%" PRIu64, intervals[i].first,
                              intervals[i].last);
            }
        }
    }
    return buffer;
}

/* ---- algebra ---- */

bool gtid_set_equal(const struct gtid_set *a, const struct gtid_set *b)
{
    if (a->flavor != b->flavor || a->member_count != b->member_count) {
        return false;
    }
    for (size_t m = 0; m < a->member_count; m++) {
        const struct gtid_member *ma = &a->members[m];
        const struct gtid_member *mb = &b->members[m];
        if (member_key_compare(a->flavor, ma, mb) != 0 ||
            ma->interval_count != mb->interval_count ||
            memcmp(member_intervals(a, ma), member_intervals(b, mb),
                   ma->interval_count * sizeof(struct gtid_interval)) != 0) {
            return false;
        }
    }
    return true;
}

/* Both interval runs are canonical, so each interval of b must sit inside one interval of a. */
static bool intervals_contain(const struct gtid_interval *a, size_t a_count,
                              const struct gtid_interval *b, size_t b_count)
{
    size_t i = 0;
    for (size_t j = 0; j < b_count; j++) {
        while (i < a_count && a[i].last < b[j].first) {
            i++;
        }
        if (i == a_count || a[i].first > b[j].first || a[i].last < b[j].last) {
            return false;
        }
    }
    return true;
}

bool gtid_set_contains(const struct gtid_set *a, const struct gtid_set *b)
{
    if (a->flavor != b->flavor) {
        return false;
    }
    size_t i = 0;
    for (size_t j = 0; j < b->member_count; j++) {
        const struct gtid_member *mb = &b->members[j];
        while (i < a->member_count && member_key_compare(a->flavor, &a->members[i], mb) < 0) {
            i++;
        }
        if (i == a->member_count || member_key_compare(a->flavor, &a->members[i], mb) != 0) {
            return false;
        }
        const struct gtid_member *ma = &a->members[i];
        if (!intervals_contain(member_intervals(a, ma), ma->interval_count, member_intervals(b, mb),
                               mb->interval_count)) {
            return false;
        }
    }
    return true;
}

static int copy_member(struct gtid_set *out, const struct gtid_set *from,
                       const struct gtid_member *member)
{
    int rc = set_begin_member(out, member);
    const struct gtid_interval *intervals = member_intervals(from, member);
    for (size_t i = 0; rc == 0 && i < member->interval_count; i++) {
        rc = set_add_interval(out, intervals[i].first, intervals[i].last);
    }
    return rc;
}

/* Adds to out's current member the parts of a's intervals that no interval of b covers. */
static int subtract_intervals(struct gtid_set *out, const struct gtid_interval *a, size_t a_count,
                              const struct gtid_interval *b, size_t b_count)
{
    size_t j = 0;
    for (size_t i = 0; i < a_count; i++) {
        uint64_t first = a[i].first;
        uint64_t last = a[i].last;
        while (j < b_count && b[j].last < first) {
            j++;
        }
        /* b[j..] may cut into [first, last]; the survivors come in ascending order */
        size_t k = j;
        bool remaining = true;
        while (remaining && k < b_count && b[k].first <= last) {
            if (b[k].first > first) {
                int rc = set_add_interval(out, first, b[k].first - 1);
                if (rc != 0) {
                    return rc;
                }
            }
            if (b[k].last >= last) {
                remaining = false;
            } else {
                first = b[k].last + 1;
                k++;
            }
        }
        if (remaining) {
            int rc = set_add_interval(out, first, last);
            if (rc != 0) {
                return rc;
            }
        }
    }
    return 0;
}

int gtid_set_difference(const struct gtid_set *a, const struct gtid_set *b, struct gtid_set **out)
{
    *out = NULL;
    if (a->flavor != b->flavor) {
        return -EINVAL;
    }
    struct gtid_set *result = gtid_set_new(a->flavor);
    if (result == NULL) {
        return -ENOMEM;
    }
    int rc = 0;
    size_t j = 0;
    for (size_t i = 0; rc == 0 && i < a->member_count; i++) {
        const struct gtid_member *ma = &a->members[i];
        while (j < b->member_count && member_key_compare(a->flavor, &b->members[j], ma) < 0) {
            j++;
        }
        if (j == b->member_count || member_key_compare(a->flavor, &b->members[j], ma) != 0) {
            rc = copy_member(result, a, ma);
            continue;
        }
        const struct gtid_member *mb = &b->members[j];
        rc = set_begin_member(result, ma);
        if (rc == 0) {
            rc = subtract_intervals(result, member_intervals(a, ma), ma->interval_count,
                                    member_intervals(b, mb), mb->interval_count);
            set_end_member(result);
        }
    }
    if (rc != 0) {
        gtid_set_free(result);
        return rc;
    }
    *out = result;
    return 0;
}

static int merge_members(struct gtid_set *out, const struct gtid_set *a,
                         const struct gtid_member *ma, const struct gtid_set *b,
                         const struct gtid_member *mb)
{
    struct gtid_member key = *ma;
    if (member_last_seq(b, mb) > member_last_seq(a, ma)) {
        key.server_id = mb->server_id;
    }
    int rc = set_begin_member(out, &key);
    const struct gtid_interval *ia = member_intervals(a, ma);
    const struct gtid_interval *ib = member_intervals(b, mb);
    size_t i = 0;
    size_t j = 0;
    while (rc == 0 && (i < ma->interval_count || j < mb->interval_count)) {
        bool take_a =
            j == mb->interval_count || (i < ma->interval_count && ia[i].first <= ib[j].first);
        const struct gtid_interval *next = take_a ? &ia[i++] : &ib[j++];
        rc = set_add_interval(out, next->first, next->last);
    }
    return rc;
}

int gtid_set_union(const struct gtid_set *a, const struct gtid_set *b, struct gtid_set **out)
{
    *out = NULL;
    if (a->flavor != b->flavor) {
        return -EINVAL;
    }
    struct gtid_set *result = gtid_set_new(a->flavor);
    if (result == NULL) {
        return -ENOMEM;
    }
    int rc = 0;
    size_t i = 0;
    size_t j = 0;
    while (rc == 0 && (i < a->member_count || j < b->member_count)) {
        int c;
        if (i == a->member_count) {
            c = 1;
        } else if (j == b->member_count) {
            c = -1;
        } else {
            c = member_key_compare(a->flavor, &a->members[i], &b->members[j]);
        }
        if (c < 0) {
            rc = copy_member(result, a, &a->members[i++]);
        } else if (c > 0) {
            rc = copy_member(result, b, &b->members[j++]);
        } else {
            rc = merge_members(result, a, &a->members[i++], b, &b->members[j++]);
        }
    }
    if (rc != 0) {
        gtid_set_free(result);
        return rc;
    }
    *out = result;
    return 0;
}

bool gtid_set_last_server_differs(const struct gtid_set *a, const struct gtid_set *b, char *detail,
                                  size_t detail_len)
{
    if (a->flavor != GTID_FLAVOR_MARIADB || b->flavor != GTID_FLAVOR_MARIADB) {
        return false;
    }
    size_t j = 0;
    for (size_t i = 0; i < a->member_count; i++) {
        const struct gtid_member *ma = &a->members[i];
        while (j < b->member_count && b->members[j].domain < ma->domain) {
            j++;
        }
        if (j == b->member_count) {
            return false;
        }
        const struct gtid_member *mb = &b->members[j];
        uint64_t seq = member_last_seq(a, ma);
        if (mb->domain == ma->domain && member_last_seq(b, mb) == seq &&
            mb->server_id != ma->server_id) {
            if (detail != NULL && detail_len > 0) {
                snprintf(detail, detail_len,
                         "domain %" PRIu32 ": %" PRIu32 "-%" PRIu32 "-%" PRIu64 " versus %" PRIu32
                         "-%" PRIu32 "-%" PRIu64 ": two servers wrote seq %" PRIu64
                         " (diverged histories)",
                         ma->domain, ma->domain, ma->server_id, seq, mb->domain, mb->server_id, seq,
                         seq);
            }
            return true;
        }
    }
    return false;
}
