/*
 * Lease arithmetic: why at most one master serves writes at any instant, even when the network
 * splits, a leader stalls or clocks drift. Pure: every function takes the time as an argument
 * (CLOCK_BOOTTIME milliseconds of the host it runs on) and touches nothing else.
 *
 * The writer W renews by proposing RENEW(epoch, W, nonce) every L/4 and notes its own send time
 * t_send. When W applies its own committed RENEW, its lease runs until t_send + L on W's clock,
 * and W serves only while now < lease_until - F (F: the time fencing takes, so that the last
 * write ends by lease_until).
 *
 * The raft leader may commit SET_WRITER(epoch+1, N) only when W's RELEASE(epoch) is committed,
 * or when now >= t_last + L(1+rho)/(1-rho) + delta on the leader's clock, where t_last is when
 * the leader APPENDED the latest RENEW of the epoch, or applied its own term's barrier, whichever
 * is later. Once it has appended SET_WRITER it refuses further RENEW(epoch).
 *
 * Why it holds: W sent its RENEW before the leader appended it (t_send precedes t_last in real
 * time). W's clock may run slow, so its L lasts at most L/(1-rho) of real time; the leader's may
 * run fast, so its wait lasts at least wait/(1+rho) of real time; with the wait above, the
 * leader's real wait is at least L/(1-rho) + delta/(1+rho), which ends after W's last serving
 * instant. A RENEW appended under an earlier term was applied by the new leader before its
 * barrier, hence the barrier term. Why "appended" and not "applied": a RENEW the leader appended
 * but had not yet committed when it appended SET_WRITER still commits first, and W may apply it
 * and extend its lease while its apply of SET_WRITER is delayed; its t_send is bounded only by
 * the append. tests/unit/test_lease.c checks this against random drifts and delays, and shows
 * that the two broken rules (no wait, t_last at apply) are caught.
 */
#ifndef MMC_LEASE_H
#define MMC_LEASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LEASE_PENDING_MAX 16 /* RENEWs a writer keeps track of before they apply */

struct lease_params {
    uint64_t lease_ms;  /* L */
    double drift;       /* rho, 0 <= rho < 0.5 */
    uint64_t margin_ms; /* delta */
    uint64_t fence_ms;  /* F */
    /* The writer's VIP carries a kernel lifetime (valid_lft), set by lease_vip_refresh_due()'s
     * rule, and the leader's wait covers it: the backstop when every mmcoord process on the
     * writer's host is dead. False when no VIP is configured. */
    bool vip_lifetime;
    uint64_t vip_late_ms; /* K: how late the kernel may remove an address whose lifetime ran out */
};

/* Check that @p can carry the argument, and that a writer renewing every L/4 through a raft
 * with @election_timeout_ms can keep its lease across one leader change. Returns 0, or -EINVAL
 * with errmsg naming the parameter, its value and the bound it breaks. */
int lease_params_check(const struct lease_params *p, unsigned heartbeat_ms,
                       unsigned election_timeout_ms, char *errmsg, size_t errlen);

/* How long the leader waits after t_last before it may promote:
 * ceil(max(L, V)(1+rho)/(1-rho)) + delta, where V is lease_vip_bound_ms() when the VIP carries a
 * kernel lifetime and 0 otherwise. */
uint64_t lease_leader_wait_ms(const struct lease_params *p);

/* How often the writer renews: L/4. */
uint64_t lease_renew_interval_ms(const struct lease_params *p);

/* ---- The VIP's kernel lifetime ----
 *
 * The kernel counts an address lifetime in whole seconds and removes an expired address up to
 * K late (K = vip_late_ms; measured up to about 0.4 s on Debian 12). It is the last backstop,
 * for a host whose daemon and fencer are both dead, so its end must come before the leader's
 * wait does. A lifetime counts from when it is set, so the writer sets it only within a window
 * B of the send time of the RENEW whose lease it serves under (a RENEW that committed
 * promptly), with a fixed lifetime T: the address is gone by t_send + B + T + K on the writer's
 * clock. That RENEW was appended before the leader's t_last (the lease argument in the top
 * comment), so a leader wait that covers V = B + T + K the way it covers L keeps the VIP on
 * one host at a time. Setting it on every reconcile, or to the lease's remaining time rounded
 * up, would let it outlive the wait by up to (L - F) + 1 s + K.
 */

/* B: how long after a RENEW's send time the writer may still set the VIP's lifetime for it:
 * L/16, a quarter of a renewal interval. A RENEW's commit is pushed to the followers at once
 * (coord/daemon.c), so a writer applies its own within a few milliseconds on a LAN (1 ms
 * median, 20 ms max measured idle on the lab); one applied later only skips a refresh, and the
 * lifetime outlasts two more chances. */
uint64_t lease_vip_window_ms(const struct lease_params *p);

/* T: the lifetime to give the VIP, in whole seconds: the least that outlasts a renewal interval
 * plus the window (and the kernel removing up to 20 ms early), at least 1. */
unsigned lease_vip_lifetime_s(const struct lease_params *p);

/* The least K that covers the kernel for a lifetime of T = lease_vip_lifetime_s(): its check
 * rounds an expiry up by less than a quarter second, its timer wheel adds up to one slot (the
 * widest over HZ = 100, 250 and 1000 for a delay of T + 0.25 s: 80 ms for T = 1, 256 ms for
 * 2-3, 512 ms for 4, 640 ms for 5-15, 2048 ms beyond), and 50 ms are left for its worker. */
uint64_t lease_vip_late_min_ms(const struct lease_params *p);

/* V = B + T + K: how long after the send time of the RENEW it was set for the VIP may still be
 * on the writer's host, on the writer's clock. */
uint64_t lease_vip_bound_ms(const struct lease_params *p);

/* True when the VIP may be (re)set now with lease_vip_lifetime_s(): the writer serves under a
 * lease ending at @lease_until_ms (its RENEW was sent at lease_until - L), @now_ms is within
 * the window B of that send time and before the fence time, and the VIP was last set for an
 * older lease end (@vip_set_for_until_ms; 0 when the VIP is not on the host). Call it just
 * before setting the address, and lease_vip_window_open() just after: a setting that landed
 * after the window (the process was descheduled in between) must be undone. */
bool lease_vip_refresh_due(const struct lease_params *p, uint64_t lease_until_ms,
                           uint64_t vip_set_for_until_ms, uint64_t now_ms);

/* True while @now_ms is inside the window B after the send time of the RENEW that gave
 * @lease_until_ms, and before its fence time. */
bool lease_vip_window_open(const struct lease_params *p, uint64_t lease_until_ms, uint64_t now_ms);

/* ---- The writer's side ---- */

struct lease_writer {
    uint64_t epoch;    /* the epoch this lease belongs to */
    uint64_t until_ms; /* t_send + L of the newest own RENEW applied; 0 when none */
    uint64_t next_nonce;
    unsigned n_pending;
    struct {
        uint64_t nonce;
        uint64_t sent_ms;
    } pending[LEASE_PENDING_MAX];
};

/* Start a new lease for @epoch with nothing renewed yet (the writer may not serve). */
void lease_writer_init(struct lease_writer *w, uint64_t epoch);

/* Note a RENEW about to be proposed at @now; returns its nonce. When more than
 * LEASE_PENDING_MAX are outstanding the oldest is forgotten (it can only extend less). */
uint64_t lease_writer_renew(struct lease_writer *w, uint64_t now);

/* A committed RENEW(@epoch, this writer, @nonce) was applied: extend the lease to
 * sent_ms + L if that is later. RENEWs of another epoch, or unknown nonces (sent before a
 * restart), extend nothing. Returns true when the lease was extended. */
bool lease_writer_applied(struct lease_writer *w, const struct lease_params *p, uint64_t epoch,
                          uint64_t nonce);

/* True while the writer may serve: now < until - F. */
bool lease_writer_may_serve(const struct lease_writer *w, const struct lease_params *p,
                            uint64_t now);

/* True when the writer's own RENEWs have stopped coming back to it: the oldest one it still
 * waits for was sent longer ago than a leader's wait (lease_leader_wait_ms). The writer then
 * stops renewing. Its raft may be broken in a way that still lets it forward RENEWs (its log
 * unwritable: the others commit them, it never applies them): renewing on would keep a leader
 * from ever replacing a writer that cannot serve. A writer that is merely cut off stops too;
 * the leader replaces it after the wait, or names it again in a new epoch when nobody else can
 * take over. */
bool lease_writer_stalled(const struct lease_writer *w, const struct lease_params *p, uint64_t now);

/* When the writer must have fenced (until - F, saturating at 0). */
uint64_t lease_writer_fence_at(const struct lease_writer *w, const struct lease_params *p);

/* ---- The leader's side ---- */

struct lease_leader {
    uint64_t epoch;     /* the writer's epoch this tracks */
    bool barrier_done;  /* this term's barrier has been applied */
    uint64_t t_last_ms; /* latest RENEW append or barrier apply, leader's clock */
    bool released;      /* RELEASE(epoch) committed */
    bool closed;        /* SET_WRITER(epoch+1) appended: RENEW(epoch) refused from now on */
};

/* A new leader (or a new epoch under the same leader) starts tracking @epoch. Until the term's
 * barrier is applied it may not promote. */
void lease_leader_init(struct lease_leader *l, uint64_t epoch);

/* The leader's barrier for its term was applied at @now. */
void lease_leader_barrier_applied(struct lease_leader *l, uint64_t now);

/* The leader is about to append RENEW(@epoch) at @now. Returns false (do not append) when
 * the epoch is not the one tracked or SET_WRITER was appended already. */
bool lease_leader_append_renew(struct lease_leader *l, uint64_t epoch, uint64_t now);

/* RELEASE(@epoch) was committed. */
void lease_leader_released(struct lease_leader *l, uint64_t epoch);

/* True when SET_WRITER(epoch+1) may be appended at @now. */
bool lease_leader_may_promote(const struct lease_leader *l, const struct lease_params *p,
                              uint64_t now);

/* Milliseconds until lease_leader_may_promote() turns true (0 when it is already), or
 * UINT64_MAX while the barrier is not applied. */
uint64_t lease_leader_remaining_ms(const struct lease_leader *l, const struct lease_params *p,
                                   uint64_t now);

/* SET_WRITER(epoch+1) was appended: refuse RENEW(epoch) from now on. */
void lease_leader_close(struct lease_leader *l);

#endif /* MMC_LEASE_H */
