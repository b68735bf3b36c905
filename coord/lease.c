/*
 * Lease arithmetic for the writer and the leader; the argument is in lease.h.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "coord/lease.h"

/* The kernel may remove an expired address this much before its lifetime is over (its check
 * rounds the age up by a fiftieth of a second); the lifetime keeps this much spare. */
#define VIP_KERNEL_EARLY_MS 50

uint64_t lease_vip_window_ms(const struct lease_params *p)
{
    return p->lease_ms / 16;
}

unsigned lease_vip_lifetime_s(const struct lease_params *p)
{
    uint64_t needed = lease_renew_interval_ms(p) + lease_vip_window_ms(p) + VIP_KERNEL_EARLY_MS;
    uint64_t s = (needed + 999) / 1000;
    return s == 0 ? 1 : (unsigned)s;
}

uint64_t lease_vip_late_min_ms(const struct lease_params *p)
{
    unsigned t = lease_vip_lifetime_s(p);
    uint64_t slot = t <= 1 ? 80 : t <= 3 ? 256 : t <= 4 ? 512 : t <= 15 ? 640 : 2048;
    return 250 + slot + 50;
}

uint64_t lease_vip_bound_ms(const struct lease_params *p)
{
    return lease_vip_window_ms(p) + (uint64_t)lease_vip_lifetime_s(p) * 1000 + p->vip_late_ms;
}

uint64_t lease_leader_wait_ms(const struct lease_params *p)
{
    /* The VIP's kernel lifetime is a second lease, counted from the same send time: the
     * leader waits out whichever of the two ends later. */
    uint64_t covered = p->lease_ms;
    if (p->vip_lifetime && lease_vip_bound_ms(p) > covered) {
        covered = lease_vip_bound_ms(p);
    }
    double wait = (double)covered * (1.0 + p->drift) / (1.0 - p->drift);
    return (uint64_t)ceil(wait) + p->margin_ms;
}

bool lease_vip_window_open(const struct lease_params *p, uint64_t lease_until_ms, uint64_t now_ms)
{
    if (lease_until_ms < p->lease_ms) {
        return false; /* no RENEW applied: no send time to count from */
    }
    uint64_t sent = lease_until_ms - p->lease_ms;
    return now_ms <= sent + lease_vip_window_ms(p) && now_ms + p->fence_ms < lease_until_ms;
}

bool lease_vip_refresh_due(const struct lease_params *p, uint64_t lease_until_ms,
                           uint64_t vip_set_for_until_ms, uint64_t now_ms)
{
    return lease_until_ms > vip_set_for_until_ms &&
           lease_vip_window_open(p, lease_until_ms, now_ms);
}

uint64_t lease_renew_interval_ms(const struct lease_params *p)
{
    return p->lease_ms / 4;
}

int lease_params_check(const struct lease_params *p, unsigned heartbeat_ms,
                       unsigned election_timeout_ms, char *errmsg, size_t errlen)
{
    if (!(p->drift >= 0.0 && p->drift < 0.5)) {
        snprintf(errmsg, errlen, "lease_drift = %g: must be at least 0 and below 0.5", p->drift);
        return -EINVAL;
    }
    if (p->fence_ms * 2 >= p->lease_ms) {
        snprintf(errmsg, errlen,
                 "fence_budget_ms = %llu: must be below half of lease_ms = %llu, or the writer "
                 "would fence before its first renewal could extend the lease",
                 (unsigned long long)p->fence_ms, (unsigned long long)p->lease_ms);
        return -EINVAL;
    }
    /* Renewals go through the log, which accepts nothing while a new leader is elected: a
     * writer whose serving window is shorter than an election timeout plus a heartbeat would
     * fence at every leader change. */
    uint64_t serve = p->lease_ms - p->fence_ms;
    uint64_t needed = (uint64_t)election_timeout_ms + heartbeat_ms;
    if (serve <= needed) {
        snprintf(errmsg, errlen,
                 "lease_ms = %llu is too short for election_timeout_ms = %u: a writer serves "
                 "lease_ms - fence_budget_ms = %llu ms after each renewal, which must outlast "
                 "an election timeout plus a heartbeat (%llu ms); use lease_ms >= %llu or a "
                 "shorter election timeout",
                 (unsigned long long)p->lease_ms, election_timeout_ms, (unsigned long long)serve,
                 (unsigned long long)needed, (unsigned long long)(needed + p->fence_ms + 1));
        return -EINVAL;
    }
    return 0;
}

void lease_writer_init(struct lease_writer *w, uint64_t epoch)
{
    memset(w, 0, sizeof *w);
    w->epoch = epoch;
    w->next_nonce = 1;
}

uint64_t lease_writer_renew(struct lease_writer *w, uint64_t now)
{
    if (w->n_pending == LEASE_PENDING_MAX) {
        memmove(&w->pending[0], &w->pending[1], (LEASE_PENDING_MAX - 1) * sizeof w->pending[0]);
        w->n_pending--;
    }
    uint64_t nonce = w->next_nonce++;
    w->pending[w->n_pending].nonce = nonce;
    w->pending[w->n_pending].sent_ms = now;
    w->n_pending++;
    return nonce;
}

bool lease_writer_applied(struct lease_writer *w, const struct lease_params *p, uint64_t epoch,
                          uint64_t nonce)
{
    if (epoch != w->epoch) {
        return false;
    }
    for (unsigned i = 0; i < w->n_pending; i++) {
        if (w->pending[i].nonce != nonce) {
            continue;
        }
        uint64_t until = w->pending[i].sent_ms + p->lease_ms;
        /* The log applies in order: older pending RENEWs were lost or will extend less. */
        memmove(&w->pending[0], &w->pending[i + 1], (w->n_pending - i - 1) * sizeof w->pending[0]);
        w->n_pending -= i + 1;
        if (until > w->until_ms) {
            w->until_ms = until;
            return true;
        }
        return false;
    }
    return false;
}

bool lease_writer_stalled(const struct lease_writer *w, const struct lease_params *p, uint64_t now)
{
    return w->n_pending > 0 && now > w->pending[0].sent_ms &&
           now - w->pending[0].sent_ms > lease_leader_wait_ms(p);
}

uint64_t lease_writer_fence_at(const struct lease_writer *w, const struct lease_params *p)
{
    return w->until_ms > p->fence_ms ? w->until_ms - p->fence_ms : 0;
}

bool lease_writer_may_serve(const struct lease_writer *w, const struct lease_params *p,
                            uint64_t now)
{
    return now < lease_writer_fence_at(w, p);
}

void lease_leader_init(struct lease_leader *l, uint64_t epoch)
{
    memset(l, 0, sizeof *l);
    l->epoch = epoch;
}

void lease_leader_barrier_applied(struct lease_leader *l, uint64_t now)
{
    l->barrier_done = true;
    if (now > l->t_last_ms) {
        l->t_last_ms = now;
    }
}

bool lease_leader_append_renew(struct lease_leader *l, uint64_t epoch, uint64_t now)
{
    if (epoch != l->epoch || l->closed) {
        return false;
    }
    if (now > l->t_last_ms) {
        l->t_last_ms = now;
    }
    return true;
}

void lease_leader_released(struct lease_leader *l, uint64_t epoch)
{
    if (epoch == l->epoch) {
        l->released = true;
    }
}

uint64_t lease_leader_remaining_ms(const struct lease_leader *l, const struct lease_params *p,
                                   uint64_t now)
{
    if (!l->barrier_done) {
        return UINT64_MAX;
    }
    if (l->released) {
        return 0;
    }
    uint64_t at = l->t_last_ms + lease_leader_wait_ms(p);
    return now >= at ? 0 : at - now;
}

bool lease_leader_may_promote(const struct lease_leader *l, const struct lease_params *p,
                              uint64_t now)
{
    return lease_leader_remaining_ms(l, p, now) == 0;
}

void lease_leader_close(struct lease_leader *l)
{
    l->closed = true;
}
