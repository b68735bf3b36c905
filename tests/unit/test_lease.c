/*
 * The lease arithmetic (coord/lease.h): the writer's and the leader's bookkeeping, the
 * parameter checks, and a randomized check of the safety argument itself: for random clock
 * rates within the drift bound and random network, commit and stall delays, the leader's first
 * permitted promotion never comes before the last instant the old writer may still serve.
 * The same check run with two broken rules (no wait; t_last taken at apply instead of append)
 * must find violations: that is what shows the check can fail.
 */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord/lease.h"

static const struct lease_params defaults = {
    .lease_ms = 1000, .drift = 0.05, .margin_ms = 100, .fence_ms = 200};

START_TEST(leader_wait_covers_both_drifts)
{
    /* ceil(1000 * 1.05 / 0.95) + 100 */
    ck_assert_uint_eq(lease_leader_wait_ms(&defaults), 1106 + 100);
    struct lease_params no_drift = defaults;
    no_drift.drift = 0;
    ck_assert_uint_eq(lease_leader_wait_ms(&no_drift), 1100);
    ck_assert_uint_eq(lease_renew_interval_ms(&defaults), 250);
}
END_TEST

START_TEST(writer_serves_only_inside_its_lease)
{
    struct lease_writer w;
    lease_writer_init(&w, 3);
    ck_assert(!lease_writer_may_serve(&w, &defaults, 0)); /* nothing renewed yet */
    uint64_t n1 = lease_writer_renew(&w, 100);
    uint64_t n2 = lease_writer_renew(&w, 350);
    ck_assert_uint_ne(n1, n2);
    ck_assert(!lease_writer_applied(&w, &defaults, 2, n1));  /* another epoch */
    ck_assert(!lease_writer_applied(&w, &defaults, 3, 999)); /* not ours (before a restart) */
    ck_assert(lease_writer_applied(&w, &defaults, 3, n1));
    ck_assert_uint_eq(w.until_ms, 1100);
    ck_assert(lease_writer_may_serve(&w, &defaults, 899));
    ck_assert(!lease_writer_may_serve(&w, &defaults, 900)); /* until - F */
    ck_assert(lease_writer_applied(&w, &defaults, 3, n2));
    ck_assert_uint_eq(lease_writer_fence_at(&w, &defaults), 1150);
    /* Applying an older RENEW after a newer one never shortens the lease. */
    ck_assert(!lease_writer_applied(&w, &defaults, 3, n1));
    ck_assert_uint_eq(w.until_ms, 1350);
}
END_TEST

START_TEST(a_writer_whose_renewals_never_come_back_stalls)
{
    struct lease_writer w;
    lease_writer_init(&w, 1);
    ck_assert(!lease_writer_stalled(&w, &defaults, 5000)); /* nothing outstanding */
    uint64_t n = lease_writer_renew(&w, 1000);
    lease_writer_renew(&w, 1250);
    uint64_t wait = lease_leader_wait_ms(&defaults);
    ck_assert(!lease_writer_stalled(&w, &defaults, 1000 + wait));
    ck_assert(lease_writer_stalled(&w, &defaults, 1000 + wait + 1));
    /* One of them comes back: only the newer one is still outstanding. */
    ck_assert(lease_writer_applied(&w, &defaults, 1, n));
    ck_assert(!lease_writer_stalled(&w, &defaults, 1000 + wait + 1));
    ck_assert(lease_writer_stalled(&w, &defaults, 1250 + wait + 1));
}
END_TEST

START_TEST(writer_forgets_the_oldest_pending)
{
    struct lease_writer w;
    lease_writer_init(&w, 1);
    uint64_t first = lease_writer_renew(&w, 0);
    for (int i = 1; i <= LEASE_PENDING_MAX; i++) {
        lease_writer_renew(&w, (uint64_t)i * 10);
    }
    ck_assert_uint_eq(w.n_pending, LEASE_PENDING_MAX);
    ck_assert(!lease_writer_applied(&w, &defaults, 1, first));
}
END_TEST

START_TEST(leader_waits_from_the_last_append_or_barrier)
{
    struct lease_leader l;
    lease_leader_init(&l, 5);
    ck_assert(!lease_leader_may_promote(&l, &defaults, 1000000)); /* no barrier yet */
    ck_assert_uint_eq(lease_leader_remaining_ms(&l, &defaults, 0), UINT64_MAX);
    lease_leader_barrier_applied(&l, 10);
    ck_assert_uint_eq(lease_leader_remaining_ms(&l, &defaults, 10), 1206);
    ck_assert(lease_leader_append_renew(&l, 5, 500));
    ck_assert(!lease_leader_append_renew(&l, 4, 600)); /* an old epoch's RENEW */
    ck_assert(!lease_leader_may_promote(&l, &defaults, 1705));
    ck_assert(lease_leader_may_promote(&l, &defaults, 1706));
    lease_leader_close(&l);
    ck_assert(!lease_leader_append_renew(&l, 5, 1707)); /* refused once SET_WRITER is in */
    lease_leader_init(&l, 6);
    lease_leader_barrier_applied(&l, 2000);
    lease_leader_released(&l, 5); /* another epoch: ignored */
    ck_assert(!lease_leader_may_promote(&l, &defaults, 2001));
    lease_leader_released(&l, 6);
    ck_assert(lease_leader_may_promote(&l, &defaults, 2001));
}
END_TEST

START_TEST(parameters_that_break_the_argument_are_refused)
{
    char err[512];
    ck_assert_int_eq(lease_params_check(&defaults, 50, 300, err, sizeof err), 0);
    struct lease_params p = defaults;
    p.drift = 0.5;
    ck_assert_int_eq(lease_params_check(&p, 50, 300, err, sizeof err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "lease_drift"));
    p = defaults;
    p.fence_ms = 500;
    ck_assert_int_eq(lease_params_check(&p, 50, 300, err, sizeof err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "fence_budget_ms"));
    ck_assert_int_eq(lease_params_check(&defaults, 100, 1000, err, sizeof err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "election_timeout_ms = 1000"));
    ck_assert_ptr_nonnull(strstr(err, "lease_ms >= 1301"));
}
END_TEST

START_TEST(the_vip_lifetime_is_inside_the_wait)
{
    struct lease_params p = defaults;
    p.vip_lifetime = true;
    p.vip_late_ms = 400;
    ck_assert_uint_eq(lease_vip_window_ms(&p), 62);
    ck_assert_uint_eq(lease_vip_lifetime_s(&p), 1);
    ck_assert_uint_eq(lease_vip_bound_ms(&p), 62 + 1000 + 400);
    /* ceil(1462 * 1.05 / 0.95) + 100: the VIP's bound, not the lease, sets the wait. */
    ck_assert_uint_eq(lease_leader_wait_ms(&p), 1616 + 100);
    p.vip_lifetime = false; /* no VIP configured: the lease alone */
    ck_assert_uint_eq(lease_leader_wait_ms(&p), 1106 + 100);
    /* A long lease outlives the VIP's bound, and the lifetime grows to outlast a renewal. */
    p = defaults;
    p.lease_ms = 8000;
    p.fence_ms = 1000;
    p.vip_lifetime = true;
    p.vip_late_ms = 400;
    ck_assert_uint_eq(lease_vip_lifetime_s(&p), 3); /* 2000 + 500 + 50 ms */
    ck_assert_uint_eq(lease_vip_bound_ms(&p), 500 + 3000 + 400);
    ck_assert_uint_eq(lease_leader_wait_ms(&p), 8843 + 100);
}
END_TEST

/* K must cover the kernel's rounding and the timer slot of the lifetime the lease gives. */
START_TEST(the_kernel_lateness_grows_with_the_lifetime)
{
    struct lease_params p = defaults;
    p.vip_lifetime = true;
    ck_assert_uint_eq(lease_vip_lifetime_s(&p), 1);
    ck_assert_uint_eq(lease_vip_late_min_ms(&p), 380); /* the default K, 400, covers it */
    p.lease_ms = 4000;                                 /* 1000 + 250 + 50 ms: T = 2 */
    ck_assert_uint_eq(lease_vip_late_min_ms(&p), 556);
    p.lease_ms = 12000; /* T = 4 */
    ck_assert_uint_eq(lease_vip_late_min_ms(&p), 812);
    p.lease_ms = 20000; /* T = 7 */
    ck_assert_uint_eq(lease_vip_late_min_ms(&p), 940);
    p.lease_ms = 60000; /* T = 19 */
    ck_assert_uint_eq(lease_vip_late_min_ms(&p), 2348);
}
END_TEST

START_TEST(the_vip_is_set_only_just_after_a_renewal_was_sent)
{
    struct lease_params p = defaults;
    p.vip_lifetime = true;
    p.vip_late_ms = 400;
    /* The RENEW behind a lease ending at 1100 was sent at 100: the window is [100, 162]. */
    ck_assert(lease_vip_refresh_due(&p, 1100, 0, 150));
    ck_assert(lease_vip_refresh_due(&p, 1100, 0, 162));
    ck_assert(!lease_vip_refresh_due(&p, 1100, 0, 163));    /* committed too late: wait */
    ck_assert(!lease_vip_refresh_due(&p, 1100, 1100, 150)); /* already set for it */
    ck_assert(lease_vip_refresh_due(&p, 1350, 1100, 400));  /* the next RENEW */
    ck_assert(!lease_vip_refresh_due(&p, 1350, 1350, 400));
    ck_assert(!lease_vip_refresh_due(&p, 0, 0, 0)); /* no RENEW applied yet */
    ck_assert(!lease_vip_refresh_due(&p, 999, 0, 0));
    /* The check after the setting: still inside the window, or undo it. */
    ck_assert(lease_vip_window_open(&p, 1350, 412));
    ck_assert(!lease_vip_window_open(&p, 1350, 413));
    /* The window scales with the lease. */
    p.lease_ms = 8000;
    p.fence_ms = 1000;
    ck_assert(lease_vip_window_open(&p, 12000, 4500));
    ck_assert(!lease_vip_window_open(&p, 12000, 4501));
}
END_TEST

/* ---- The randomized check of the argument ---- */

static uint64_t rng_state;

static double uniform(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / (double)(1ULL << 53);
}

enum rule { RULE_CORRECT, RULE_NO_WAIT, RULE_T_LAST_AT_APPLY };

#define RENEWS 12

/*
 * One schedule, in real time (ms). The writer's clock runs at rate rw, the leader's at rl,
 * both within [1-rho, 1+rho]. The writer sends RENEW i at its clock i*L/4; the leader appends
 * it after a network delay, unless the writer is cut off (from RENEW `cut` on nothing reaches
 * the leader) or SET_WRITER is already appended; entries commit and apply in log order after a
 * delay that is sometimes a long stall. The leader appends SET_WRITER at the first instant its
 * rule permits; every RENEW appended before that commits first and the writer applies it, so
 * the writer's writes may last until its clock reads t_send + L for each of them (it serves to
 * until - F, and fencing takes up to F). Returns the margin (promotion minus the writer's last
 * write, negative when two writers overlap).
 */
static double run_schedule(enum rule rule, const struct lease_params *p)
{
    double rho = p->drift;
    double rw = 1.0 - rho + uniform() * 2 * rho;
    double rl = 1.0 - rho + uniform() * 2 * rho;
    if (uniform() < 0.3) { /* the worst pair, often */
        rw = 1.0 - rho;
        rl = 1.0 + rho;
    }
    unsigned cut = 1 + (unsigned)(uniform() * (RENEWS - 1));
    double wait_real = (rule == RULE_NO_WAIT ? 0.0 : (double)lease_leader_wait_ms(p)) / rl;
    double send[RENEWS], append[RENEWS], apply[RENEWS];
    double last_apply = 0;
    for (unsigned i = 0; i < RENEWS; i++) {
        send[i] = (double)i * (double)lease_renew_interval_ms(p) / rw;
        append[i] = send[i] + uniform() * 50;
        double commit = uniform() < 0.2 ? uniform() * 3000 : uniform() * 20;
        apply[i] = fmax(last_apply, append[i] + commit);
        last_apply = apply[i];
    }
    /* The barrier was applied at real time 0, before the first RENEW. */
    double t_last = 0;
    double promote = wait_real;
    unsigned appended = 0; /* RENEWs 0..appended-1 made it into the log before SET_WRITER */
    for (unsigned i = 0; i < cut; i++) {
        double t = rule == RULE_T_LAST_AT_APPLY ? apply[i] : append[i];
        if (append[i] >= promote) {
            break; /* SET_WRITER came first: this RENEW is refused */
        }
        appended = i + 1;
        if (rule == RULE_T_LAST_AT_APPLY && t >= promote) {
            continue; /* appended, but the leader only counts it once applied */
        }
        t_last = fmax(t_last, t);
        promote = t_last + wait_real;
    }
    double last_write = 0;
    for (unsigned i = 0; i < appended; i++) {
        last_write = fmax(last_write, send[i] + (double)p->lease_ms / rw);
    }
    return promote - last_write;
}

/* How the writer sets the VIP's lifetime: the rule in lease.h, or the lease's remaining time
 * rounded up on every extension (what the daemon did before). */
enum vip_rule { VIP_WINDOW, VIP_REMAINING };

/*
 * One schedule of the VIP's kernel lifetime, in real time (ms): the writer renews as above,
 * sets the VIP's lifetime by @vip_rule when a RENEW applies (its reconciler a little later),
 * and at a random instant its daemon and fencer die together, so the kernel alone removes the
 * VIP: after the lifetime on the writer's clock plus up to K (the worst, here). RENEWs sent
 * before that still reach the leader, which promotes once its wait (with or without the VIP's
 * bound, as @p says) has passed since the last one it appended. Returns the margin between the
 * promotion and the VIP's removal (negative when two hosts may hold it).
 */
static double run_vip_schedule(enum vip_rule vip_rule, const struct lease_params *p)
{
    double rho = p->drift;
    double rw = 1.0 - rho + uniform() * 2 * rho;
    double rl = 1.0 - rho + uniform() * 2 * rho;
    if (uniform() < 0.3) {
        rw = 1.0 - rho;
        rl = 1.0 + rho;
    }
    double interval = (double)lease_renew_interval_ms(p);
    double kill = uniform() * RENEWS * interval / rw;
    double wait_real = (double)lease_leader_wait_ms(p) / rl;
    double promote = wait_real; /* the barrier was applied at 0 */
    double last_apply = 0;
    double vip_end = 0; /* real time the VIP is surely gone from the writer's host */
    uint64_t set_for = 0;
    for (unsigned i = 0; i < RENEWS; i++) {
        double send_local = (double)i * interval;
        double send = send_local / rw;
        if (send >= kill) {
            break;
        }
        double append = send + uniform() * 50;
        if (append >= promote) {
            break; /* refused: SET_WRITER came first */
        }
        promote = append + wait_real;
        double commit = uniform() < 0.2 ? uniform() * 1500 : uniform() * 40;
        double apply = fmax(last_apply, append + commit);
        last_apply = apply;
        double set_at = apply + uniform() * 30; /* the reconciler's turn */
        if (set_at >= kill) {
            continue; /* the writer died before it saw this RENEW */
        }
        uint64_t until = (uint64_t)send_local + p->lease_ms;
        uint64_t now = (uint64_t)ceil(set_at * rw);
        if (now + p->fence_ms >= until) {
            continue; /* not serving on this lease: the VIP stays as it is */
        }
        unsigned lifetime = 0;
        if (vip_rule == VIP_WINDOW) {
            if (lease_vip_refresh_due(p, until, set_for, now)) {
                lifetime = lease_vip_lifetime_s(p);
            }
        } else if (until > set_for) {
            lifetime = (unsigned)((until - now + 999) / 1000);
        }
        if (lifetime != 0) {
            set_for = until;
            vip_end = ((double)now + lifetime * 1000.0 + (double)p->vip_late_ms) / rw;
        }
    }
    if (vip_end == 0) {
        return 1; /* the VIP was never set */
    }
    /* Had the writer fenced before it died, its daemon removed the VIP then. */
    double fence = ((double)set_for - (double)p->fence_ms) / rw;
    if (fence < kill) {
        vip_end = fmin(vip_end, fence);
    }
    return promote - vip_end;
}

static unsigned vip_violations(enum vip_rule vip_rule, const struct lease_params *p, uint64_t seed,
                               unsigned runs)
{
    unsigned bad = 0;
    for (unsigned run = 0; run < runs; run++) {
        rng_state = seed + run * 0x9E3779B97F4A7C15ULL;
        if (rng_state == 0) {
            rng_state = 1;
        }
        if (run_vip_schedule(vip_rule, p) <= 0) {
            bad++;
        }
    }
    return bad;
}

START_TEST(the_vip_outlives_no_wait_when_every_process_dies)
{
    struct lease_params p = defaults;
    p.vip_lifetime = true;
    p.vip_late_ms = 400;
    ck_assert_uint_eq(vip_violations(VIP_WINDOW, &p, 7, 200000), 0);
    /* The same draw catches the wrong arithmetic: a wait for the lease alone, and a lifetime
     * set to the lease's remaining time (on every extension, however late it committed). */
    struct lease_params lease_only = p;
    lease_only.vip_lifetime = false;
    ck_assert_uint_gt(vip_violations(VIP_WINDOW, &lease_only, 7, 200000), 0);
    ck_assert_uint_gt(vip_violations(VIP_REMAINING, &lease_only, 7, 200000), 0);
    ck_assert_uint_gt(vip_violations(VIP_REMAINING, &p, 7, 200000), 0);
}
END_TEST

static unsigned violations(enum rule rule, uint64_t seed, unsigned runs, uint64_t *first_bad)
{
    unsigned bad = 0;
    for (unsigned run = 0; run < runs; run++) {
        rng_state = seed + run * 0x9E3779B97F4A7C15ULL;
        if (rng_state == 0) {
            rng_state = 1;
        }
        if (run_schedule(rule, &defaults) <= 0) {
            if (bad++ == 0) {
                *first_bad = seed + run * 0x9E3779B97F4A7C15ULL;
            }
        }
    }
    return bad;
}

START_TEST(the_rule_holds_under_random_drift_and_stalls)
{
    uint64_t first = 0;
    unsigned bad = violations(RULE_CORRECT, 42, 200000, &first);
    ck_assert_msg(bad == 0, "%u violations; replay with rng seed %llu", bad,
                  (unsigned long long)first);
}
END_TEST

START_TEST(a_leader_that_does_not_wait_is_caught)
{
    uint64_t first = 0;
    ck_assert_uint_gt(violations(RULE_NO_WAIT, 42, 20000, &first), 0);
}
END_TEST

START_TEST(t_last_taken_at_apply_is_caught)
{
    uint64_t first = 0;
    ck_assert_uint_gt(violations(RULE_T_LAST_AT_APPLY, 42, 200000, &first), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("lease");
    TCase *tc = tcase_create("lease");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, leader_wait_covers_both_drifts);
    tcase_add_test(tc, writer_serves_only_inside_its_lease);
    tcase_add_test(tc, writer_forgets_the_oldest_pending);
    tcase_add_test(tc, a_writer_whose_renewals_never_come_back_stalls);
    tcase_add_test(tc, leader_waits_from_the_last_append_or_barrier);
    tcase_add_test(tc, parameters_that_break_the_argument_are_refused);
    tcase_add_test(tc, the_vip_lifetime_is_inside_the_wait);
    tcase_add_test(tc, the_vip_is_set_only_just_after_a_renewal_was_sent);
    tcase_add_test(tc, the_kernel_lateness_grows_with_the_lifetime);
    tcase_add_test(tc, the_vip_outlives_no_wait_when_every_process_dies);
    tcase_add_test(tc, the_rule_holds_under_random_drift_and_stalls);
    tcase_add_test(tc, a_leader_that_does_not_wait_is_caught);
    tcase_add_test(tc, t_last_taken_at_apply_is_caught);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
