/*
 * GTID sets of both server flavours, as pure values: parse the text a server prints, print a
 * canonical form, and answer the failover questions "has N everything W acknowledged?"
 * (contains) and "which transactions does the old writer have that N never received?"
 * (difference: the errant transactions). No I/O, no clock, no logging; docs/gtid.md has the
 * longer story.
 *
 * MySQL (8.0, 8.4): a set is a list of members `uuid:interval[:interval...]` separated by
 * commas, with optional whitespace or newlines around the commas (the server prints ",\n").
 * An interval is `n` or `a-b` with 1 <= a <= b <= 2^63-1. Tagged GTIDs of MySQL 8.3+ are
 * supported: `uuid:1-5:tag:1-3` (a tag is a letter or underscore followed by up to 31
 * letters, digits or underscores, case-insensitive; the intervals after it belong to it).
 * The canonical form has uuids in lower case and sorted, untagged intervals first and then the
 * tags in sorted order, intervals merged and sorted, members separated by "," alone (one line,
 * so that it fits a log line; the server's ",\n" parses back to the same set).
 *
 * MariaDB (10.x, 11.x): a GTID position is a comma-separated list of `domain-server-seq`, at
 * most one per domain (@@gtid_current_pos, @@gtid_slave_pos, @@gtid_binlog_pos). Within a
 * domain seqs are totally ordered, so `0-1-100` means "transactions 1..100 of domain 0", and
 * internally a domain holds intervals of seqs exactly as a MySQL uuid does. A difference is
 * not a position any more, so the text form extends the position syntax:
 *     domain-server-ranges    ranges = range[:range...]
 *     range = `a..b` (seqs a to b) or, first only, a bare `n` (seqs 1 to n)
 * e.g. `0-1-101..105` (domain 0, seqs 101 to 105), `0-1-49:61..100`. A domain whose only
 * interval starts at 1 prints as the plain position `d-s-n`, so a position round-trips
 * unchanged. domain and server are 0..2^32-1, seqs 1..2^64-1. The server id is that of the
 * set's last transaction in the domain; it is carried for printing only and ignored by the
 * algebra (a transaction is identified by domain and seq). @@gtid_binlog_state, which lists
 * one GTID per server and domain, is refused: read @@gtid_binlog_pos instead.
 *
 * Errant transactions with MariaDB positions: the old writer W has errant transactions when
 * difference(W, N) is not empty, i.e. W has a domain N lacks, or a seq beyond N's in some
 * domain. Limitation: a position cannot express gaps (it says "everything up to seq"), so a
 * server that skipped a transaction looks as if it had it, and two servers that each wrote a
 * different transaction with the same seq look equal to the algebra;
 * gtid_set_last_server_differs() detects the latter case where it is visible.
 *
 * Bounds: a text may hold at most GTID_SET_MAX_INTERVALS intervals (each bare position counts
 * as one); longer input is refused, never truncated. Every operation is linear or n log n.
 */
#ifndef MMC_GTID_H
#define MMC_GTID_H

#include <stdbool.h>
#include <stddef.h>

enum gtid_flavor { GTID_FLAVOR_MARIADB, GTID_FLAVOR_MYSQL };

/* Largest number of intervals gtid_set_parse() accepts in one text. */
#define GTID_SET_MAX_INTERVALS 65536

struct gtid_set; /* opaque */

/* Parses `text` (NUL-terminated) of the given flavour into a new set stored in *out, which the
 * caller frees with gtid_set_free(). "" or whitespace alone parses to the empty set.
 * Returns 0; -EINVAL on malformed input, with errmsg naming the offending member, its byte
 * offset and what is wrong (bad uuid or tag, seq 0 or overflow, a-b with a > b, empty member,
 * duplicate domain, too many intervals); -ENOMEM. On error *out is NULL. errmsg may be NULL. */
int gtid_set_parse(enum gtid_flavor flavor, const char *text, struct gtid_set **out, char *errmsg,
                   size_t errlen);

/* A new empty set of the flavour, owned by the caller; NULL when out of memory. */
struct gtid_set *gtid_set_new(enum gtid_flavor flavor);

/* Frees the set; NULL is fine. */
void gtid_set_free(struct gtid_set *set);

enum gtid_flavor gtid_set_flavor(const struct gtid_set *set);

/* The canonical text of the set (see the top of this file), malloc'd: the caller frees it.
 * The empty set prints as "". NULL when out of memory. */
char *gtid_set_to_string(const struct gtid_set *set);

bool gtid_set_is_empty(const struct gtid_set *set);

/* True when both hold exactly the same transactions (MariaDB server ids are not compared).
 * Sets of different flavours are never equal. */
bool gtid_set_equal(const struct gtid_set *a, const struct gtid_set *b);

/* True when a holds every transaction of b (a ⊇ b). With MariaDB positions: for every domain
 * of b, a has the domain with a seq >= b's. False when the flavours differ. */
bool gtid_set_contains(const struct gtid_set *a, const struct gtid_set *b);

/* *out = a \ b, the transactions of a that b lacks, a new set the caller frees. For MariaDB
 * positions, domain by domain, the seqs (b.seq, a.seq]; a domain b lacks comes whole. Returns 0,
 * -ENOMEM, or -EINVAL when the flavours differ; on error *out is NULL. */
int gtid_set_difference(const struct gtid_set *a, const struct gtid_set *b, struct gtid_set **out);

/* *out = a ∪ b, e.g. the executed set plus the received one: "everything this server has".
 * For MariaDB each domain keeps the server id of the operand with the higher last seq (a's on
 * a tie). Returns 0, -ENOMEM, or -EINVAL when the flavours differ; on error *out is NULL. */
int gtid_set_union(const struct gtid_set *a, const struct gtid_set *b, struct gtid_set **out);

/* MariaDB only: true when some domain ends at the same seq in a and b but with a different
 * server id, i.e. the two servers wrote different transactions under the same GTID seq (the
 * histories diverged although the algebra sees them equal). When true and detail is not NULL,
 * it receives the domain and both GTIDs. False for MySQL sets and mismatched flavours. */
bool gtid_set_last_server_differs(const struct gtid_set *a, const struct gtid_set *b, char *detail,
                                  size_t detail_len);

#endif /* MMC_GTID_H */
