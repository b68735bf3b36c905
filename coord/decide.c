/*
 * The leader's decision about the writer; the rules are in decide.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord/decide.h"
#include "mysql/gtid.h"

const char *decision_kind_name(enum decision_kind kind)
{
    switch (kind) {
    case DECISION_NONE:
        return "none";
    case DECISION_WAIT:
        return "wait";
    case DECISION_PROMOTE:
        return "promote";
    }
    return "invalid";
}

static void set_reason(struct decision *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void set_reason(struct decision *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->reason, sizeof out->reason, fmt, ap);
    va_end(ap);
}

static bool up(const struct decide_node *n)
{
    return n->fresh && n->health != NULL && n->health->mysql == MYSQL_VIEW_UP;
}

/* Append to a fixed buffer; @used keeps counting past the end so that truncation is harmless. */
static void append(char *buf, size_t size, size_t *used, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void append(char *buf, size_t size, size_t *used, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + (*used < size ? *used : size - 1), *used < size ? size - *used : 1, fmt,
                      ap);
    va_end(ap);
    if (n > 0) {
        *used += (size_t)n;
    }
}

/* The set as text into @buf; "?" when out of memory. */
static void set_text(const struct gtid_set *set, char *buf, size_t len)
{
    char *text = gtid_set_to_string(set);
    snprintf(buf, len, "%s", text != NULL ? text : "?");
    free(text);
}

/* What the GTID sets of the reported health say, worked out once for all nodes. */
struct facts {
    int writer;                                /* index of the epoch's writer, or -1 */
    struct gtid_set *writer_executed;          /* when its health is fresh and up, else NULL */
    struct gtid_set *has[RECORD_MAX_NODES];    /* up: executed ∪ received, errant left out */
    struct gtid_set *errant[RECORD_MAX_NODES]; /* judged against the writer (maybe empty) */
    char unreadable[RECORD_MAX_NODES][200];    /* why its GTID text does not parse, or "" */
    char diverged[RECORD_MAX_NODES][200];      /* same seq, another server: the detail, or "" */
    bool other_flavour[RECORD_MAX_NODES];
    struct gtid_set *reference; /* what the up servers hold together */
    char notes[CODEC_REASON_SIZE];
    size_t used;
};

static void facts_free(struct facts *f)
{
    gtid_set_free(f->writer_executed);
    for (unsigned i = 0; i < RECORD_MAX_NODES; i++) {
        gtid_set_free(f->has[i]);
        gtid_set_free(f->errant[i]);
    }
    gtid_set_free(f->reference);
    free(f);
}

static enum gtid_flavor flavor_of(const struct command_health *h)
{
    return h->flavor ? GTID_FLAVOR_MYSQL : GTID_FLAVOR_MARIADB;
}

/* The transactions of @executed the writer never executed (see decide.h, rule 3). */
static int errant_of(struct facts *f, unsigned i, const struct gtid_set *executed,
                     const struct gtid_set *received)
{
    struct gtid_set *slack = NULL, *errant = NULL;
    if (gtid_set_union(f->writer_executed, received, &slack) != 0 ||
        gtid_set_difference(executed, slack, &errant) != 0) {
        gtid_set_free(slack);
        return -ENOMEM;
    }
    gtid_set_free(slack);
    unsigned domain, server;
    unsigned long long seq;
    if (gtid_set_last_server_differs(executed, f->writer_executed, f->diverged[i],
                                     sizeof f->diverged[i]) &&
        sscanf(f->diverged[i], "domain %*u: %u-%u-%llu", &domain, &server, &seq) == 3) {
        /* The algebra sees one transaction where there are two: name ours. */
        char text[80];
        struct gtid_set *one = NULL, *both = NULL;
        snprintf(text, sizeof text, "%u-%u-%llu..%llu", domain, server, seq, seq);
        if (gtid_set_parse(GTID_FLAVOR_MARIADB, text, &one, NULL, 0) == 0 &&
            gtid_set_union(errant, one, &both) == 0) {
            gtid_set_free(errant);
            errant = both;
        }
        gtid_set_free(one);
    }
    f->errant[i] = errant;
    return 0;
}

static int gather(const struct decide_input *in, unsigned n, struct facts **out)
{
    struct facts *f = calloc(1, sizeof *f);
    if (f == NULL) {
        return -ENOMEM;
    }
    *out = f;
    const char *writer = in->record->writer.node;
    f->writer = -1;
    for (unsigned i = 0; i < n; i++) {
        if (writer[0] != '\0' && strcmp(in->nodes[i].id, writer) == 0) {
            f->writer = (int)i;
        }
    }
    /* Errant transactions are judged against a writer that opened its epoch: one that was named
     * but never opened (its server cannot catch up, say) wrote nothing, and judged against it
     * the others' transactions would all look errant, the one that holds everything included.
     * An epoch the record no longer lists counts as opened. */
    const struct record_epoch *epoch = record_find_epoch(in->record, in->record->writer.epoch);
    bool opened = epoch == NULL || epoch->opened_wall_ms != 0;
    if (f->writer >= 0 && up(&in->nodes[f->writer]) && opened) {
        const struct command_health *h = in->nodes[f->writer].health;
        if (gtid_set_parse(flavor_of(h), h->executed, &f->writer_executed, NULL, 0) == -ENOMEM) {
            return -ENOMEM;
        }
    }
    for (unsigned i = 0; i < n; i++) {
        const struct decide_node *node = &in->nodes[i];
        if (node->health == NULL || node->health->mysql != MYSQL_VIEW_UP) {
            continue;
        }
        enum gtid_flavor flavor = flavor_of(node->health);
        struct gtid_set *executed = NULL, *received = NULL, *all = NULL;
        char err[160] = "";
        int rv = gtid_set_parse(flavor, node->health->executed, &executed, err, sizeof err);
        if (rv == 0) {
            rv = gtid_set_parse(flavor, node->health->received, &received, err, sizeof err);
        }
        if (rv == -ENOMEM) {
            gtid_set_free(executed);
            return -ENOMEM;
        }
        if (rv != 0) {
            snprintf(f->unreadable[i], sizeof f->unreadable[i], "%s", err);
            if (up(node)) {
                append(f->notes, sizeof f->notes, &f->used, "%s: unreadable GTID set (%.120s); ",
                       node->id, err);
            }
            gtid_set_free(executed);
            continue;
        }
        if (f->writer_executed != NULL && (int)i != f->writer &&
            gtid_set_flavor(f->writer_executed) == flavor) {
            rv = errant_of(f, i, executed, received);
        }
        if (rv == 0 && up(node) && node->health->replicating && !node->health->sql_running) {
            /* Received but not being applied (the SQL thread stopped, maybe on an error that
             * will stop it again): this server does not hold those transactions in any way
             * that helps. They still count in the reference through their source. */
            gtid_set_free(received);
            received = gtid_set_new(flavor);
            rv = received != NULL ? 0 : -ENOMEM;
        }
        if (rv == 0 && up(node)) {
            rv = gtid_set_union(executed, received, &all);
            if (rv == 0 && f->errant[i] != NULL) {
                struct gtid_set *kept = NULL;
                rv = gtid_set_difference(all, f->errant[i], &kept);
                gtid_set_free(all);
                all = kept;
            }
        }
        gtid_set_free(executed);
        gtid_set_free(received);
        if (rv != 0) {
            gtid_set_free(all);
            return -ENOMEM;
        }
        if (all == NULL) {
            continue;
        }
        if (f->reference == NULL) {
            f->reference = gtid_set_new(flavor);
            if (f->reference == NULL) {
                gtid_set_free(all);
                return -ENOMEM;
            }
        }
        if (gtid_set_flavor(f->reference) != flavor) {
            /* Mixed flavours: not a setup we can compare. */
            f->other_flavour[i] = true;
            append(f->notes, sizeof f->notes, &f->used, "%s: another GTID flavour; ", node->id);
            gtid_set_free(all);
            continue;
        }
        struct gtid_set *merged = NULL;
        if (gtid_set_union(f->reference, all, &merged) != 0) {
            gtid_set_free(all);
            return -ENOMEM;
        }
        gtid_set_free(f->reference);
        f->reference = merged;
        f->has[i] = all;
    }
    return 0;
}

/* The verdict on node @i. @eligible: it passed every rule but the one about what it lacks;
 * then *@missing is what it lacks (the caller frees it). @as_old_writer: judge the epoch's
 * writer as a candidate for a new epoch (decide()'s last resort) rather than as the writer. */
static int judge(const struct decide_input *in, const struct facts *f, unsigned i,
                 bool as_old_writer, struct decide_verdict *v, bool *eligible,
                 struct gtid_set **missing)
{
    const struct decide_node *n = &in->nodes[i];
    const struct record_writer *w = &in->record->writer;
    memset(v, 0, sizeof *v);
    *eligible = false;
    *missing = NULL;
    bool errant = f->errant[i] != NULL && !gtid_set_is_empty(f->errant[i]);
    if (errant) {
        set_text(f->errant[i], v->errant, sizeof v->errant);
    }
    if ((int)i == f->writer && !as_old_writer) {
        snprintf(v->why, sizeof v->why, "the writer of epoch %llu%s%.150s%s",
                 (unsigned long long)w->epoch, w->released ? " (released: " : "",
                 w->released ? w->release_reason : "", w->released ? ")" : "");
    } else if (!n->candidate) {
        snprintf(v->why, sizeof v->why, "not a candidate");
    } else if (n->health == NULL) {
        snprintf(v->why, sizeof v->why, "no health report");
    } else if (!n->fresh) {
        snprintf(v->why, sizeof v->why, "health report stale");
    } else if (n->health->mysql != MYSQL_VIEW_UP) {
        snprintf(v->why, sizeof v->why, "MySQL %s", mysql_view_name(n->health->mysql));
    } else if (f->unreadable[i][0] != '\0') {
        snprintf(v->why, sizeof v->why, "unreadable GTID set (%.200s)", f->unreadable[i]);
    } else if (f->other_flavour[i] || f->has[i] == NULL) {
        snprintf(v->why, sizeof v->why, "another GTID flavour than the other servers");
    } else if (errant) {
        snprintf(v->why, sizeof v->why,
                 "errant transactions %.45s: executed here, never by the writer %s (undo them or "
                 "rebuild from the writer)%s%.80s",
                 v->errant, w->node, f->diverged[i][0] != '\0' ? "; " : "", f->diverged[i]);
    } else {
        *eligible = true;
    }
    if (!*eligible) {
        return 0;
    }
    if (gtid_set_difference(f->reference, f->has[i], missing) != 0) {
        return -ENOMEM;
    }
    if (gtid_set_is_empty(*missing)) {
        v->promotable = true;
        snprintf(v->why, sizeof v->why,
                 "could be promoted now: holds every transaction the reachable servers hold");
        return 0;
    }
    set_text(*missing, v->missing, sizeof v->missing);
    for (unsigned j = 0; j < in->n_nodes && j < RECORD_MAX_NODES; j++) {
        if (j != i && f->has[j] != NULL && gtid_set_contains(f->has[j], *missing)) {
            snprintf(v->catch_up_from, sizeof v->catch_up_from, "%s", in->nodes[j].id);
            break;
        }
    }
    if (v->catch_up_from[0] != '\0') {
        v->promotable = true;
        snprintf(v->why, sizeof v->why,
                 "could be promoted now after catching up: lacks %.120s, which %s holds",
                 v->missing, v->catch_up_from);
    } else {
        v->promotable = in->allow_loss;
        snprintf(v->why, sizeof v->why, "lacks %.120s and no reachable server holds all of it%s",
                 v->missing,
                 in->allow_loss ? ": could be promoted with that loss (promote_with_loss)" : "");
    }
    return 0;
}

/* 0 has everything, 1 can catch up, 2 would lose transactions. */
static int rank_of(const struct decide_verdict *v)
{
    return v->missing[0] == '\0' ? 0 : v->catch_up_from[0] != '\0' ? 1 : 2;
}

/* Choose the new writer (rule 2). */
static int choose(const struct decide_input *in, const char *why_needed, struct decision *out)
{
    unsigned n = in->n_nodes < RECORD_MAX_NODES ? in->n_nodes : RECORD_MAX_NODES;
    struct facts *f = NULL;
    struct gtid_set *best_missing = NULL;
    struct decide_verdict *v = malloc(2 * sizeof *v);
    int rv = v == NULL ? -ENOMEM : gather(in, n, &f);
    if (rv != 0) {
        goto done;
    }
    struct decide_verdict *best_v = &v[1];
    int best = -1;
    char refused[CODEC_REASON_SIZE] = "";
    size_t rused = 0;
    /* The old writer comes last: only when no other candidate can take over (it released or
     * lost its lease, and is healthy again with nobody else to hand over to). */
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1 &&
            (f->writer < 0 || (best >= 0 && (rank_of(best_v) < 2 || in->allow_loss)))) {
            break;
        }
        for (unsigned i = 0; i < n; i++) {
            if (pass == 1 && (int)i != f->writer) {
                continue;
            }
            bool eligible;
            struct gtid_set *missing = NULL;
            rv = judge(in, f, i, pass == 1, &v[0], &eligible, &missing);
            if (rv != 0) {
                goto done;
            }
            if (!eligible) {
                if (pass == 0 && in->nodes[i].candidate) {
                    append(refused, sizeof refused, &rused, "%s%s: %s", rused > 0 ? ", " : "",
                           in->nodes[i].id, v[0].why);
                }
                continue;
            }
            /* Has everything, then can catch up, then the rest; fewer missing is better; the
             * first in configuration order wins ties. */
            int rank = rank_of(&v[0]);
            if (best < 0 || rank < rank_of(best_v) ||
                (rank == rank_of(best_v) && rank > 0 && gtid_set_contains(best_missing, missing) &&
                 !gtid_set_equal(best_missing, missing))) {
                gtid_set_free(best_missing);
                best_missing = missing;
                best = (int)i;
                *best_v = v[0];
            } else {
                gtid_set_free(missing);
            }
        }
    }

    if (best < 0) {
        out->kind = DECISION_WAIT;
        set_reason(out, "%s, but no candidate can take over (%s)", why_needed,
                   refused[0] != '\0' ? refused : "no candidates configured");
        goto done;
    }
    const char *pick = in->nodes[best].id;
    snprintf(out->node, sizeof out->node, "%s", pick);
    snprintf(out->missing, sizeof out->missing, "%s", best_v->missing);
    snprintf(out->catch_up_from, sizeof out->catch_up_from, "%s", best_v->catch_up_from);
    if (best_v->missing[0] == '\0') {
        out->kind = DECISION_PROMOTE;
        set_reason(out, "%s: %s has every transaction the reachable servers hold", why_needed,
                   pick);
    } else if (out->catch_up_from[0] != '\0') {
        out->kind = DECISION_PROMOTE;
        set_reason(out, "%s: %s lacks %s, which %s holds: it catches up before it opens",
                   why_needed, pick, out->missing, out->catch_up_from);
    } else if (in->allow_loss) {
        out->kind = DECISION_PROMOTE;
        set_reason(out,
                   "%s: %s lacks %s and no reachable server holds all of it; promoting "
                   "anyway because the configuration allows loss",
                   why_needed, pick, out->missing);
    } else {
        out->kind = DECISION_WAIT;
        out->node[0] = '\0';
        set_reason(out,
                   "%s, but the best candidate %s lacks %s and no reachable server holds all "
                   "of it: waiting",
                   why_needed, pick, out->missing);
    }
done:
    if (rv == 0 && f->notes[0] != '\0') {
        size_t len = strlen(out->reason);
        snprintf(out->reason + len, sizeof out->reason - len, " [%.*s]",
                 (int)(strlen(f->notes) >= 2 ? strlen(f->notes) - 2 : 0), f->notes);
    }
    if (f != NULL) {
        facts_free(f);
    }
    free(v);
    gtid_set_free(best_missing);
    return rv;
}

int decide_explain(const struct decide_input *in, struct decide_explanation *out)
{
    memset(out, 0, sizeof *out);
    unsigned n = in->n_nodes < RECORD_MAX_NODES ? in->n_nodes : RECORD_MAX_NODES;
    out->n_nodes = n;
    struct facts *f = NULL;
    int rv = gather(in, n, &f);
    if (rv != 0) {
        if (f != NULL) {
            facts_free(f);
        }
        return rv;
    }
    const struct record_writer *w = &in->record->writer;
    char can[DECIDE_SUMMARY_SIZE] = "", cannot[DECIDE_SUMMARY_SIZE] = "";
    size_t cused = 0, nused = 0;
    for (unsigned i = 0; i < n; i++) {
        bool eligible;
        struct gtid_set *missing = NULL;
        rv = judge(in, f, i, false, &out->nodes[i], &eligible, &missing);
        gtid_set_free(missing);
        if (rv != 0) {
            facts_free(f);
            return rv;
        }
        const struct decide_verdict *v = &out->nodes[i];
        if ((int)i == f->writer) {
            continue;
        }
        if (v->promotable) {
            out->standby = true;
            append(can, sizeof can, &cused, "%s%s", cused > 0 ? ", " : "", in->nodes[i].id);
            if (v->catch_up_from[0] != '\0') {
                append(can, sizeof can, &cused, " (after catching up from %s)", v->catch_up_from);
            } else if (v->missing[0] != '\0') {
                append(can, sizeof can, &cused, " (losing %.100s)", v->missing);
            }
        } else if (in->nodes[i].candidate) {
            append(cannot, sizeof cannot, &nused, "%s%s: %s", nused > 0 ? "; " : "",
                   in->nodes[i].id, v->why);
        }
    }
    if (out->standby) {
        snprintf(out->standby_why, sizeof out->standby_why, "could take over now: %s", can);
    } else if (f->writer >= 0) {
        snprintf(out->standby_why, sizeof out->standby_why,
                 "no candidate other than the writer %s could be promoted now%s%s", w->node,
                 nused > 0 ? ": " : " (no other candidate is configured)", cannot);
    } else {
        snprintf(out->standby_why, sizeof out->standby_why,
                 "no candidate could be promoted now%s%s",
                 nused > 0 ? ": " : " (no candidate is configured)", cannot);
    }
    char head[CODEC_REASON_SIZE + 64] = "";
    if (w->node[0] == '\0') {
        snprintf(head, sizeof head, w->epoch == 0 ? "no writer yet" : "epoch %llu has no writer",
                 (unsigned long long)w->epoch);
    } else if (w->released) {
        snprintf(head, sizeof head, "writer %s released epoch %llu (%.150s)", w->node,
                 (unsigned long long)w->epoch, w->release_reason);
    }
    if (head[0] != '\0') {
        snprintf(out->no_writer, sizeof out->no_writer, "%.300s; %.700s", head, out->standby_why);
    }
    facts_free(f);
    return 0;
}

int decide(const struct decide_input *in, struct decision *out)
{
    memset(out, 0, sizeof *out);
    const struct record_writer *w = &in->record->writer;
    const struct decide_node *writer = NULL;
    for (unsigned i = 0; i < in->n_nodes; i++) {
        if (w->node[0] != '\0' && strcmp(in->nodes[i].id, w->node) == 0) {
            writer = &in->nodes[i];
        }
    }
    if (w->node[0] == '\0') {
        char why[96];
        snprintf(why, sizeof why, w->epoch == 0 ? "no writer yet" : "epoch %llu has no writer",
                 (unsigned long long)w->epoch);
        return choose(in, why, out);
    }
    if (!in->lease_over) {
        if (writer != NULL && up(writer) && !w->released) {
            out->kind = DECISION_NONE;
            set_reason(out, "writer %s is healthy (epoch %llu)", w->node,
                       (unsigned long long)w->epoch);
        } else {
            out->kind = DECISION_WAIT;
            const char *state = writer == NULL           ? "not configured"
                                : writer->health == NULL ? "no health report"
                                : !writer->fresh         ? "health report stale"
                                                         : mysql_view_name(writer->health->mysql);
            set_reason(out, "writer %s: %s; its lease runs %llu ms more unless it releases",
                       w->node, w->released ? "released" : state,
                       (unsigned long long)in->lease_remaining_ms);
        }
        return 0;
    }
    char why[CODEC_REASON_SIZE];
    if (w->released) {
        snprintf(why, sizeof why, "writer %s released epoch %llu (%.150s)", w->node,
                 (unsigned long long)w->epoch, w->release_reason);
    } else {
        snprintf(why, sizeof why, "writer %s's lease of epoch %llu ran out", w->node,
                 (unsigned long long)w->epoch);
    }
    return choose(in, why, out);
}
