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

/* Why @n cannot be the new writer, or NULL when it can. */
static const char *ineligible(const struct decide_node *n, const char *old_writer)
{
    if (!n->candidate) {
        return "not a candidate";
    }
    if (old_writer[0] != '\0' && strcmp(n->id, old_writer) == 0) {
        return "the old writer";
    }
    if (n->health == NULL) {
        return "no health report";
    }
    if (!n->fresh) {
        return "health report stale";
    }
    if (n->health->mysql != MYSQL_VIEW_UP) {
        return mysql_view_name(n->health->mysql);
    }
    return NULL;
}

/* Everything @n has: executed plus received. NULL with @why set when a text does not parse. */
static struct gtid_set *holdings(const struct decide_node *n, char *why, size_t whylen)
{
    enum gtid_flavor flavor = n->health->flavor ? GTID_FLAVOR_MYSQL : GTID_FLAVOR_MARIADB;
    struct gtid_set *executed = NULL, *received = NULL, *all = NULL;
    char err[256];
    if (gtid_set_parse(flavor, n->health->executed, &executed, err, sizeof err) != 0 ||
        gtid_set_parse(flavor, n->health->received, &received, err, sizeof err) != 0) {
        snprintf(why, whylen, "%s: unreadable GTID set (%.120s)", n->id, err);
        gtid_set_free(executed);
        return NULL;
    }
    if (gtid_set_union(executed, received, &all) != 0) {
        snprintf(why, whylen, "%s: out of memory", n->id);
    }
    gtid_set_free(executed);
    gtid_set_free(received);
    return all;
}

/* Choose the new writer (rule 2). */
static int choose(const struct decide_input *in, const char *why_needed, struct decision *out)
{
    const char *old = in->record->writer.node;
    struct gtid_set *has[RECORD_MAX_NODES] = {0};
    struct gtid_set *reference = NULL;
    struct gtid_set *best_missing = NULL;
    char notes[CODEC_REASON_SIZE] = "";
    size_t used = 0;
    int rv = 0;
    unsigned n = in->n_nodes < RECORD_MAX_NODES ? in->n_nodes : RECORD_MAX_NODES;

    /* What the reachable servers hold together. */
    for (unsigned i = 0; i < n; i++) {
        if (!up(&in->nodes[i])) {
            continue;
        }
        char why[200];
        has[i] = holdings(&in->nodes[i], why, sizeof why);
        if (has[i] == NULL) {
            used += (size_t)snprintf(notes + used, used < sizeof notes ? sizeof notes - used : 0,
                                     "%s; ", why);
            continue;
        }
        if (reference == NULL) {
            reference = gtid_set_new(gtid_set_flavor(has[i]));
            if (reference == NULL) {
                rv = -ENOMEM;
                goto done;
            }
        }
        struct gtid_set *merged = NULL;
        if (gtid_set_union(reference, has[i], &merged) != 0) {
            /* Mixed flavours: not a setup we can compare. */
            gtid_set_free(has[i]);
            has[i] = NULL;
            used += (size_t)snprintf(notes + used, used < sizeof notes ? sizeof notes - used : 0,
                                     "%s: another GTID flavour; ", in->nodes[i].id);
            continue;
        }
        gtid_set_free(reference);
        reference = merged;
    }

    int best = -1;
    char refused[CODEC_REASON_SIZE] = "";
    size_t rused = 0;
    /* The old writer comes last: only when no other candidate can take over (it released or
     * lost its lease, and is healthy again with nobody else to hand over to). */
    for (int pass = 0; pass < 2 && best < 0; pass++) {
        for (unsigned i = 0; i < n; i++) {
            const char *why = ineligible(&in->nodes[i], pass == 0 ? old : "");
            if (why == NULL && has[i] == NULL) {
                why = "unreadable GTID set";
            }
            if (why != NULL) {
                if (pass == 0 && in->nodes[i].candidate) {
                    rused += (size_t)snprintf(
                        refused + rused, rused < sizeof refused ? sizeof refused - rused : 0,
                        "%s%s: %s", rused > 0 ? ", " : "", in->nodes[i].id, why);
                }
                continue;
            }
            struct gtid_set *missing = NULL;
            if (gtid_set_difference(reference, has[i], &missing) != 0) {
                rv = -ENOMEM;
                goto done;
            }
            /* Fewer missing is better; the first in configuration order wins ties. */
            if (best < 0 || (gtid_set_contains(best_missing, missing) &&
                             !gtid_set_equal(best_missing, missing))) {
                gtid_set_free(best_missing);
                best_missing = missing;
                best = (int)i;
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
    const struct decide_node *pick = &in->nodes[best];
    snprintf(out->node, sizeof out->node, "%s", pick->id);
    if (gtid_set_is_empty(best_missing)) {
        out->kind = DECISION_PROMOTE;
        set_reason(out, "%s: %s has every transaction the reachable servers hold", why_needed,
                   pick->id);
        goto done;
    }
    char *text = gtid_set_to_string(best_missing);
    snprintf(out->missing, sizeof out->missing, "%s", text != NULL ? text : "?");
    free(text);
    /* A reachable server that holds what the pick lacks can feed it before it opens. */
    for (unsigned i = 0; i < n; i++) {
        if (has[i] != NULL && (int)i != best && gtid_set_contains(has[i], best_missing)) {
            snprintf(out->catch_up_from, sizeof out->catch_up_from, "%s", in->nodes[i].id);
            break;
        }
    }
    if (out->catch_up_from[0] != '\0') {
        out->kind = DECISION_PROMOTE;
        set_reason(out, "%s: %s lacks %s, which %s holds: it catches up before it opens",
                   why_needed, pick->id, out->missing, out->catch_up_from);
    } else if (in->allow_loss) {
        out->kind = DECISION_PROMOTE;
        set_reason(out,
                   "%s: %s lacks %s and no reachable server holds all of it; promoting "
                   "anyway because the configuration allows loss",
                   why_needed, pick->id, out->missing);
    } else {
        out->kind = DECISION_WAIT;
        out->node[0] = '\0';
        set_reason(out,
                   "%s, but the best candidate %s lacks %s and no reachable server holds all "
                   "of it: waiting",
                   why_needed, pick->id, out->missing);
    }
done:
    if (notes[0] != '\0' && rv == 0) {
        size_t len = strlen(out->reason);
        snprintf(out->reason + len, sizeof out->reason - len, " [%.*s]", (int)(used - 2), notes);
    }
    for (unsigned i = 0; i < n; i++) {
        gtid_set_free(has[i]);
    }
    gtid_set_free(reference);
    gtid_set_free(best_missing);
    return rv;
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
