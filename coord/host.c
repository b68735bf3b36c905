/*
 * The host's hands: probes, VIP and ARP, fencing and repointing; see host.h.
 */
#include <errno.h>
#include <stdatomic.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord/clock.h"
#include "coord/host.h"
#include "mysql/credentials.h"
#include "mysql/epoch.h"
#include "mysql/gtid.h"
#include "mysql/probe.h"
#include "mysql/fence.h"
#include "mysql/repoint.h"
#include "mysql/semisync.h"
#include "mysql/worker.h"
#include "netops/arp.h"
#include "netops/sockreset.h"
#include "netops/tcpreset.h"
#include "netops/vip.h"

#define JOB_TIMEOUT_MS   1000 /* one fence, unfence or repoint */
#define REPOINT_RETRY_MS 1000
#define OPEN_RETRY_MS    1000
#define PEER_PROBE_MS    300 /* asking another server what it holds, before opening */
/* Of which the TCP handshake: a live host's kernel answers it at once (even for a stopped
 * mysqld), a dead or cut-off host never; this bound is what a dead old writer costs an open. */
#define PEER_REACH_MS  100
#define CATCH_UP_MS    10000 /* applying what the new writer lacks, before opening */
#define RELAY_GRACE_MS 300   /* a slice of waiting for what servers received, not applied */
/* A new writer waits at most this long for its first semi-sync replica before its first write. */
#define SEMISYNC_WAIT_MS 2000
/* Stopping the receiver from a silent source: covers MariaDB's default
 * rpl_semi_sync_slave_kill_conn_timeout (5 s), which the STOP waits out on a dead source. */
#define STOP_RECEIVER_MS 6000
/* A slice of waiting for a switchover's final position: short, so that a probe follows each
 * slice and the target's health (its lag) stays current while it catches up. */
#define CATCH_UP_SLICE_MS 200
/* A planned handover keeps the VIP while it fences so that clients meet the fenced server; a
 * fence that takes longer than this is not answering clients quickly anyway: the VIP goes. */
#define HANDOVER_VIP_MS 250

enum job_kind { JOB_FENCE, JOB_OPEN, JOB_REPOINT, JOB_CATCH_UP, JOB_STOP_RECEIVER };

struct peer {
    char id[CONFIG_ID_SIZE];
    char host[CONFIG_ADDRESS_SIZE];
    unsigned port;
};

struct job {
    struct host *host;
    enum job_kind kind;
    char source_host[CONFIG_ADDRESS_SIZE];
    unsigned source_port;
    struct mysql_credentials repl;
    /* JOB_OPEN: the other servers to ask, and the coordinator's login for them. */
    struct peer peers[CONFIG_MAX_NODES];
    unsigned n_peers;
    bool reachable[CONFIG_MAX_NODES]; /* answered when asked what it holds */
    struct mysql_credentials coord;
    bool allow_loss;
    uint64_t epoch; /* JOB_OPEN: written to mmcoord.epoch before read_only goes off */
    char writer_id[CONFIG_ID_SIZE];    /* JOB_OPEN: this node */
    char catch_up_to[CODEC_GTID_SIZE]; /* JOB_CATCH_UP: the position to apply */
    bool handover; /* JOB_FENCE: a planned handover's, run with the VIP kept: it goes after */
    /* The loop keeps the lease's fence time here (0 once this host must not be writable); the
     * open job reads it last thing before read_only goes off. */
    _Atomic uint64_t *fence_at_ms;
    int status;
    bool read_only; /* after a fence: read back */
    unsigned killed;
    char info[512]; /* what an open did before opening */
    char errmsg[512];
};

struct host {
    uv_loop_t *loop;
    const struct config *config;
    host_health_cb on_health;
    host_log_cb on_log;
    void *data;

    struct mysql_worker *worker; /* NULL without MySQL credentials */
    uv_timer_t probe_timer;
    bool probing;
    bool job_running;
    uint64_t last_repoint_ms;
    char last_repoint_to[CODEC_HOST_SIZE + 8]; /* "host:port" of the last repoint job */
    bool io_connecting; /* the last probe saw the IO thread reconnecting to its source */
    bool repl_known;
    struct mysql_credentials repl;
    struct mysql_credentials coord; /* to ask the other servers before opening */
    uint64_t last_open_ms;
    _Atomic uint64_t fence_at_ms; /* see struct job */
    uint64_t last_fence_try_ms;
    char caught_up_to[CODEC_GTID_SIZE]; /* the last catch-up position this server reached */
    uint64_t last_catch_up_error_ms;
    uint64_t last_stop_receiver_ms;
    bool probe_again; /* a probe was asked for while one ran: run one more when it ends */
    /* A planned handover (target->vip_keep_until_ms): since when the VIP has been kept while
     * fencing (0: not in one), and whether its fence job ended (the VIP then goes for good). */
    uint64_t handover_since_ms;
    bool handover_fenced;
    uint64_t vip_keep_until_ms; /* the target's, for the ARP gate between two reconciles */

    struct vip *vip; /* NULL without a VIP */
    struct vip_address vip_address;
    struct arp_sender sender;
    struct arp_announcer announcer;
    bool arp_held_back;       /* the ARP gate's last answer was no (logged once per run of them) */
    struct tcpreset resetter; /* refuses stale-ARP SYNs for a while after the VIP left */
    bool resetter_ready;
    uint64_t resets_before; /* tcpreset_sent() when the current window began */
    /* The lease end the VIP's lifetime was last set for, when it was set, and the lease end
     * whose renewal applied too late for a refresh (logged once). */
    uint64_t vip_until_ms;
    uint64_t vip_set_ms;
    uint64_t vip_late_for_ms;
    uint64_t vip_late_warned_ms; /* when a late renewal was last logged as a warning */
    struct lease_params lease;   /* when the VIP's kernel lifetime may be set (coord/lease.h) */
    bool vip_assumed;            /* held only as far as we know at start: removed quietly */

    struct host_view view;
    bool closing;
    unsigned open_handles;
    void (*close_cb)(void *data);
    void *close_data;
};

static void host_log(struct host *host, enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void host_log(struct host *host, enum log_level level, const char *fmt, ...)
{
    char message[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    if (level >= LOG_LEVEL_INFO) {
        snprintf(host->view.last_action, sizeof host->view.last_action, "%.200s", message);
    }
    if (host->on_log != NULL) {
        host->on_log(host->data, level, message);
    }
}

/* ---- Probes ---- */

static uint8_t view_of(enum mysql_probe_state state)
{
    switch (state) {
    case MYSQL_PROBE_UP:
        return MYSQL_VIEW_UP;
    case MYSQL_PROBE_REFUSED:
        return MYSQL_VIEW_DOWN;
    case MYSQL_PROBE_TIMEOUT:
        return MYSQL_VIEW_TIMEOUT;
    case MYSQL_PROBE_DENIED:
        return MYSQL_VIEW_DENIED;
    default:
        return MYSQL_VIEW_ERROR;
    }
}

static bool copy_text(char *dst, size_t size, const char *src)
{
    if (src == NULL) {
        dst[0] = '\0';
        return true;
    }
    if (strlen(src) >= size) {
        dst[0] = '\0';
        return false;
    }
    memcpy(dst, src, strlen(src) + 1);
    return true;
}

static void probe_now(struct host *host);

static void probe_done(const struct mysql_probe_result *r, void *arg)
{
    struct host *host = arg;
    host->probing = false;
    if (host->closing || r->error == -ECANCELED) {
        return;
    }
    struct command_health h;
    memset(&h, 0, sizeof h);
    snprintf(h.node_id, sizeof h.node_id, "%s", host->config->local_id);
    h.mysql = view_of(r->state);
    h.lag_s = -1;
    if (r->state == MYSQL_PROBE_UP) {
        h.read_only = r->read_only || r->super_read_only;
        h.flavor = mysql_probe_gtid_flavor(&r->dialect) == GTID_FLAVOR_MYSQL;
        const struct mysql_replica_status *rs = &r->replica;
        host->io_connecting = rs->configured && rs->io_state == MYSQL_IO_CONNECTING;
        if (rs->configured) {
            h.replicating = 1;
            h.io_running = rs->io_state == MYSQL_IO_RUNNING;
            h.sql_running = rs->sql_running;
            snprintf(h.source_host, sizeof h.source_host, "%.127s", rs->source_host);
            h.source_port = (uint16_t)rs->source_port;
            h.lag_s = rs->lag_seconds;
        }
        if (!copy_text(h.executed, sizeof h.executed, r->executed_text) ||
            !copy_text(h.received, sizeof h.received, rs->configured ? rs->received_gtid : NULL)) {
            /* The record holds at most CODEC_GTID_SIZE-1 bytes of a set: say so, do not cut. */
            h.mysql = MYSQL_VIEW_ERROR;
            host_log(host, LOG_LEVEL_WARN,
                     "mysql: the GTID set is longer than %d bytes: not reported, node ineligible",
                     CODEC_GTID_SIZE - 1);
        }
    } else if (host->view.health.mysql != h.mysql) {
        host_log(host, LOG_LEVEL_WARN, "mysql: %s (%s)", mysql_probe_state_name(r->state),
                 r->errmsg);
    }
    if (host->view.probed && host->view.health.mysql != MYSQL_VIEW_UP && h.mysql == MYSQL_VIEW_UP) {
        host_log(host, LOG_LEVEL_INFO, "mysql: up again (%s)", r->version);
    }
    host->view.health = h;
    host->view.probed = true;
    if (host->on_health != NULL) {
        host->on_health(host->data, &h);
    }
    /* Last: @r is the worker's, valid only until the next probe is submitted. */
    if (host->probe_again) {
        host->probe_again = false;
        probe_now(host);
    }
}

static void on_probe_timer(uv_timer_t *timer)
{
    struct host *host = timer->data;
    if (host->probing || host->closing) {
        return;
    }
    if (mysql_worker_probe(host->worker, host->config->probe_timeout_ms, probe_done, host) == 0) {
        host->probing = true;
    }
}

/* Probe as soon as the worker is free, rather than at the next tick: after a fence, an open or
 * a catch-up, so that what changed reaches the cluster (a switchover's FENCED and CAUGHT_UP,
 * the new writer's OPENED) in milliseconds. A probe already running may have read the server
 * before the change: one more follows it. */
static void probe_now(struct host *host)
{
    if (host->closing || host->worker == NULL) {
        return;
    }
    if (host->probing) {
        host->probe_again = true;
        return;
    }
    on_probe_timer(&host->probe_timer);
}

/* The server closed our idle connection: mysqld was killed or shut down. Probe now rather
 * than at the next tick; the probe's reconnect is refused and reports it down. */
static void on_hangup(void *arg)
{
    struct host *host = arg;
    host_log(host, LOG_LEVEL_DEBUG, "mysql: the server closed the connection: probing now");
    on_probe_timer(&host->probe_timer);
}

/* ---- MySQL jobs ---- */

/* Everything a server has or will apply: executed plus received. Another server's received
 * set counts only while its SQL thread runs (as coord/decide.c counts them): a stopped applier
 * applies nothing and its binlog cannot serve what it only received. The new writer's own
 * (@own) always counts: open_after_catch_up starts its applier. NULL on failure. */
static struct gtid_set *holdings_of(const struct mysql_probe_result *r, bool own)
{
    enum gtid_flavor flavor = mysql_probe_gtid_flavor(&r->dialect);
    struct gtid_set *all = NULL;
    struct gtid_set *empty = gtid_set_new(flavor);
    const struct gtid_set *executed = r->executed != NULL ? r->executed : empty;
    bool applying = own || !r->replica.configured || r->replica.sql_running;
    const struct gtid_set *received = r->received != NULL && applying ? r->received : empty;
    if (executed != NULL && received != NULL) {
        gtid_set_union(executed, received, &all);
    }
    gtid_set_free(empty);
    return all;
}

/* A connection to another host's server, for a probe before opening or of a lapsed source. */
static struct mysql_conn *peer_conn(const char *host, unsigned port,
                                    const struct mysql_credentials *credentials)
{
    struct mysql_conn *pc = mysql_conn_new(host, port, credentials);
    if (pc != NULL) {
        mysql_conn_set_reach_ms(pc, PEER_REACH_MS);
    }
    return pc;
}

/* The executed sets of this server and of every peer that answered when asked what it holds
 * (one that did not would only cost a connection timeout here), as one text (to see whether
 * anyone is still applying). malloc'd; NULL when this server cannot be read. */
static char *everyone_executed(struct mysql_conn *conn, struct job *job)
{
    char *own = NULL;
    char err[256];
    if (mysql_executed_gtid(conn, JOB_TIMEOUT_MS, &own, err, sizeof err) != 0) {
        return NULL;
    }
    size_t len = strlen(own) + 2;
    char *all = malloc(len);
    if (all == NULL) {
        free(own);
        return NULL;
    }
    snprintf(all, len, "%s;", own);
    free(own);
    for (unsigned i = 0; i < job->n_peers; i++) {
        if (!job->reachable[i]) {
            continue;
        }
        struct mysql_conn *pc = peer_conn(job->peers[i].host, job->peers[i].port, &job->coord);
        char *theirs = NULL;
        if (pc != NULL && mysql_executed_gtid(pc, PEER_PROBE_MS, &theirs, err, sizeof err) == 0) {
            size_t more = strlen(all) + strlen(theirs) + 2;
            char *bigger = realloc(all, more);
            if (bigger != NULL) {
                all = bigger;
                strcat(all, theirs);
                strcat(all, ";");
            }
        }
        free(theirs);
        mysql_conn_free(pc);
    }
    return all;
}

/*
 * Open as the new writer without losing what the old one acknowledged (DESIGN-NOTES, "Promotion
 * without loss"): ask every other reachable server what it holds, and when one holds
 * transactions this server neither executed nor received, replicate from it; then wait until
 * everything the reachable servers hold (and this server's own relay log) is applied; only
 * then set read_only off. Runs on the worker; every step has a deadline.
 */
/* Defence in depth, never a precondition: another server that answers writable while this
 * one is about to open (an old writer whose daemon and fencer are gone) is fenced over SQL
 * first. A server out of reach is fenced by its own lease, fencer and kernel lifetime. */
static void fence_peer(struct mysql_conn *pc, struct job *job, unsigned i)
{
    struct mysql_fence_result fr = {0};
    char err[160];
    int rv = mysql_fence(pc, PEER_PROBE_MS, &fr, err, sizeof err);
    size_t used = strlen(job->info);
    snprintf(job->info + used, sizeof job->info - used, "%s%s was writable: %s%s",
             used > 0 ? "; " : "", job->peers[i].id,
             rv == 0 ? "fenced over SQL" : "fencing it over SQL failed: ", rv == 0 ? "" : err);
}

/* Append @fmt to job->info, "; "-separated. */
static void job_info_add(struct job *job, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void job_info_add(struct job *job, const char *fmt, ...)
{
    size_t used = strlen(job->info);
    if (used > 0 && used + 2 < sizeof job->info) {
        snprintf(job->info + used, sizeof job->info - used, "; ");
        used += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(job->info + used, sizeof job->info - used, fmt, ap);
    va_end(ap);
}

static int open_after_catch_up(struct mysql_conn *conn, struct job *job)
{
    uint64_t t_start = clock_boottime_ms();
    struct mysql_probe_result own = {0};
    int rv = mysql_probe_run(conn, JOB_TIMEOUT_MS, &own);
    if (rv != 0) {
        snprintf(job->errmsg, sizeof job->errmsg, "own server: %.480s", own.errmsg);
        mysql_probe_result_clear(&own);
        return rv;
    }
    /* No acknowledgements during the catch-up (only relayed commits happen here, and the old
     * writer that would acknowledge them may be dead); back on before the first own write,
     * and on every path out of here. */
    struct mysql_semisync_pause pause;
    char pause_err[256];
    if (mysql_semisync_pause(conn, JOB_TIMEOUT_MS, &pause, pause_err, sizeof pause_err) == 0 &&
        pause.released > 0) {
        job_info_add(job,
                     "released %u replicated commit(s) waiting for a semi-sync acknowledgement "
                     "from the old writer",
                     pause.released);
    }
    /* An applier left stopped (a repoint cut short by a paused server) would keep its relay
     * log, maybe holding acknowledged writes found nowhere else, unapplied for good; a chaos
     * run saw a new writer wait on it for minutes. */
    char start_err[256];
    if (own.replica.configured && !own.replica.sql_running && own.received != NULL &&
        own.executed != NULL && !gtid_set_contains(own.executed, own.received)) {
        if (mysql_replication_start_applier(conn, JOB_TIMEOUT_MS, start_err, sizeof start_err) ==
            0) {
            job_info_add(job, "started its stopped applier to apply its relay log");
        } else {
            job_info_add(job, "its applier is stopped and would not start: %.200s", start_err);
        }
    }
    struct gtid_set *mine = holdings_of(&own, true);
    struct gtid_set *reference = mine != NULL ? gtid_set_new(gtid_set_flavor(mine)) : NULL;
    struct gtid_set *peer_has[CONFIG_MAX_NODES] = {0};
    /* What some server executed: complete transactions, which must all be applied here. */
    struct gtid_set *executed_all = NULL;
    if (mine != NULL && own.executed != NULL) {
        gtid_set_union(own.executed, own.executed, &executed_all);
    }
    rv = mine != NULL && reference != NULL ? 0 : -ENOMEM;
    for (unsigned i = 0; rv == 0 && i < job->n_peers; i++) {
        struct mysql_conn *pc = peer_conn(job->peers[i].host, job->peers[i].port, &job->coord);
        if (pc == NULL) {
            continue;
        }
        struct mysql_probe_result r = {0};
        if (mysql_probe_run(pc, PEER_PROBE_MS, &r) == 0) {
            job->reachable[i] = true;
            if (!r.read_only) {
                fence_peer(pc, job, i);
            }
            peer_has[i] = holdings_of(&r, false);
            struct gtid_set *merged_exec = NULL;
            if (executed_all != NULL && r.executed != NULL &&
                gtid_set_union(executed_all, r.executed, &merged_exec) == 0) {
                gtid_set_free(executed_all);
                executed_all = merged_exec;
            }
            struct gtid_set *merged = NULL;
            if (peer_has[i] != NULL && gtid_set_union(reference, peer_has[i], &merged) == 0) {
                gtid_set_free(reference);
                reference = merged;
            }
        }
        mysql_probe_result_clear(&r);
        mysql_conn_free(pc);
    }
    uint64_t t_asked = clock_boottime_ms();
    struct gtid_set *lacking = NULL;
    if (rv == 0 && gtid_set_difference(reference, mine, &lacking) != 0) {
        rv = -ENOMEM;
    }
    if (rv == 0 && !gtid_set_is_empty(lacking)) {
        char *text = gtid_set_to_string(lacking);
        int source = -1;
        for (unsigned i = 0; i < job->n_peers; i++) {
            if (peer_has[i] != NULL && gtid_set_contains(peer_has[i], lacking)) {
                source = (int)i;
                break;
            }
        }
        if (source >= 0) {
            struct mysql_source src = {.host = job->peers[source].host,
                                       .port = job->peers[source].port,
                                       .user = job->repl.user,
                                       .password = job->repl.password};
            /* Its STOP first waits out the semi-sync receiver's attempt to reach a dead old
             * writer (rpl_semi_sync_slave_kill_conn_timeout): give it that time rather than
             * fail the open and start over a retry interval later. */
            rv = mysql_repoint(conn, &src, STOP_RECEIVER_MS, NULL, job->errmsg, sizeof job->errmsg);
            job_info_add(job, "caught up %s from %s", text != NULL ? text : "?",
                         job->peers[source].id);
        } else if (job->allow_loss) {
            job_info_add(job,
                         "opening without %s: no reachable server holds all of it "
                         "(promote_with_loss = yes)",
                         text != NULL ? text : "?");
        } else {
            snprintf(job->errmsg, sizeof job->errmsg,
                     "lacks %s and no reachable server holds all of it: not opening",
                     text != NULL ? text : "?");
            rv = -ENODATA;
        }
        free(text);
    }
    if (rv == 0 && executed_all != NULL) {
        /* Every transaction some reachable server executed is complete: apply them all. */
        char *text = gtid_set_to_string(executed_all);
        if (text != NULL && text[0] != '\0') {
            rv = mysql_wait_gtid(conn, text, CATCH_UP_MS, job->errmsg, sizeof job->errmsg);
            if (rv == -ETIMEDOUT) {
                snprintf(job->errmsg, sizeof job->errmsg,
                         "did not apply %.300s within %d ms: not opening", text, CATCH_UP_MS);
            }
        }
        free(text);
    }
    if (rv == 0) {
        /* Then what servers received (relay logs, this one's included): semi-sync acknowledges
         * a transaction once a replica received it, so these may be acknowledged writes still
         * being applied. Wait while anyone is still applying (some executed set grows); a
         * transaction cut off halfway by the fault never applies and was never acknowledged:
         * when nothing moves any more for a whole slice, open without it and say so. */
        struct gtid_set *need = NULL;
        if (gtid_set_union(reference, mine, &need) == 0) {
            char *text = gtid_set_to_string(need);
            char *progress = everyone_executed(conn, job);
            uint64_t until = clock_boottime_ms() + CATCH_UP_MS;
            while (text != NULL && text[0] != '\0') {
                char wait_err[256];
                if (mysql_wait_gtid(conn, text, RELAY_GRACE_MS, wait_err, sizeof wait_err) !=
                    -ETIMEDOUT) {
                    break;
                }
                char *now = everyone_executed(conn, job);
                bool moved = now == NULL || progress == NULL || strcmp(now, progress) != 0;
                free(progress);
                progress = now;
                if (!moved || clock_boottime_ms() >= until) {
                    job_info_add(job,
                                 "left %.200s: received somewhere but no longer being applied "
                                 "(a transaction cut off by the fault)",
                                 text);
                    break;
                }
            }
            free(progress);
            free(text);
            gtid_set_free(need);
        }
    }
    uint64_t t_applied = clock_boottime_ms();
    if (rv == 0 && own.replica.configured) {
        /* Caught up: from here on this server applies nothing it is sent, so that an old
         * writer coming back with transactions nobody else has cannot overwrite newer writes
         * (it is fenced and repointed here when it returns). */
        rv = mysql_replication_stop_applier(conn, JOB_TIMEOUT_MS, job->errmsg, sizeof job->errmsg);
    }
    if (rv == 0) {
        rv = mysql_semisync_resume(conn, &pause, JOB_TIMEOUT_MS, job->errmsg, sizeof job->errmsg);
        pause.paused = rv != 0 && pause.paused; /* done, or retried below */
    }
    if (rv == 0) {
        /* The replicas are being repointed here at this moment. On MariaDB a commit that
         * starts while no semi-sync replica is connected waits out the whole
         * rpl_semi_sync_master_timeout even when one connects a moment later: wait (bounded)
         * for the first one, so that the epoch row below is acknowledged as soon as it can. */
        struct mysql_semisync_state semisync;
        char wait_err[256];
        if (mysql_semisync_wait_clients(conn, SEMISYNC_WAIT_MS, &semisync, wait_err,
                                        sizeof wait_err) == -ETIMEDOUT) {
            job_info_add(job, "%s", wait_err);
        }
    }
    uint64_t t_replica = clock_boottime_ms();
    if (rv == 0) {
        /* The epoch goes into the database before the first client write can: every write
         * after the unfence is made under it. No row, no opening. */
        rv = mysql_epoch_write(conn, job->epoch, job->writer_id, JOB_TIMEOUT_MS, job->errmsg,
                               sizeof job->errmsg);
    }
    /* The catch-up may have taken long: open only if the lease still allows it now (the loop
     * zeroes the fence time as soon as the target is no longer writable). Opening just before
     * the fence time is safe: the loop and the armed fencer fence at that time anyway. */
    if (rv == 0 && clock_boottime_ms() >= atomic_load(job->fence_at_ms)) {
        snprintf(job->errmsg, sizeof job->errmsg,
                 "the lease no longer covers opening (caught up, will retry)");
        rv = -ETIME;
    }
    uint64_t t_epoch = clock_boottime_ms();
    if (rv == 0) {
        rv = mysql_unfence(conn, JOB_TIMEOUT_MS, job->errmsg, sizeof job->errmsg);
    }
    if (rv == 0) {
        job_info_add(
            job,
            "in %llu ms: servers asked %llu, applied %llu, semi-sync replica %llu, "
            "epoch row %llu, unfenced %llu",
            (unsigned long long)(clock_boottime_ms() - t_start),
            (unsigned long long)(t_asked - t_start), (unsigned long long)(t_applied - t_asked),
            (unsigned long long)(t_replica - t_applied), (unsigned long long)(t_epoch - t_replica),
            (unsigned long long)(clock_boottime_ms() - t_epoch));
    }
    if (pause.paused) {
        /* Not opening: the source side goes back on all the same (never leave it off). */
        char err[256];
        if (mysql_semisync_resume(conn, &pause, JOB_TIMEOUT_MS, err, sizeof err) != 0) {
            job_info_add(job, "semi-sync source side left OFF: %s", err);
        }
    }
    for (unsigned i = 0; i < job->n_peers; i++) {
        gtid_set_free(peer_has[i]);
    }
    gtid_set_free(lacking);
    gtid_set_free(executed_all);
    gtid_set_free(reference);
    gtid_set_free(mine);
    mysql_probe_result_clear(&own);
    return rv;
}

/* The source's writer lease lapsed as this node sees it: when the source's server does not
 * answer either, stop receiving from it now. A repoint after the coming change of writer then
 * goes at once instead of first waiting, in STOP SLAVE, for the semi-sync IO thread's attempt
 * to reach the dead source (rpl_semi_sync_slave_kill_conn_timeout): that wait held up the new
 * writer's first acknowledged commit by a second. A source that answers is left alone (only
 * the log is slow; replication is fine). Sets job->info to what it did. */
static int stop_receiver_if_silent(struct mysql_conn *conn, struct job *job)
{
    struct mysql_conn *src = peer_conn(job->source_host, job->source_port, &job->coord);
    if (src != NULL) {
        char err[256];
        int rc = mysql_conn_connect(src, clock_boottime_ms() + PEER_PROBE_MS, err, sizeof err);
        mysql_conn_free(src);
        if (rc == 0) {
            snprintf(job->info, sizeof job->info, "kept: the source answers");
            return 0;
        }
        snprintf(job->info, sizeof job->info, "stopped: %.400s", err);
    }
    return mysql_replication_stop_receiver(conn, STOP_RECEIVER_MS, job->errmsg, sizeof job->errmsg);
}

static void job_run(struct mysql_conn *conn, void *arg)
{
    struct job *job = arg;
    switch (job->kind) {
    case JOB_FENCE: {
        struct mysql_fence_result res;
        job->status = mysql_fence(conn, JOB_TIMEOUT_MS, &res, job->errmsg, sizeof job->errmsg);
        job->read_only = res.read_only || res.super_read_only;
        job->killed = res.killed;
        break;
    }
    case JOB_OPEN:
        job->status = open_after_catch_up(conn, job);
        break;
    case JOB_REPOINT: {
        struct mysql_source src = {.host = job->source_host,
                                   .port = job->source_port,
                                   .user = job->repl.user,
                                   .password = job->repl.password};
        bool changed = false;
        job->status =
            mysql_repoint(conn, &src, JOB_TIMEOUT_MS, &changed, job->errmsg, sizeof job->errmsg);
        break;
    }
    case JOB_CATCH_UP:
        job->status = mysql_wait_gtid(conn, job->catch_up_to, CATCH_UP_SLICE_MS, job->errmsg,
                                      sizeof job->errmsg);
        break;
    case JOB_STOP_RECEIVER:
        job->status = stop_receiver_if_silent(conn, job);
        break;
    }
}

static void vip_release(struct host *host);

static void job_done(void *arg, int status)
{
    struct job *job = arg;
    struct host *host = job->host;
    host->job_running = false;
    if (status == 0 && !host->closing) {
        switch (job->kind) {
        case JOB_FENCE:
            if (job->status == 0) {
                host->view.health.read_only = job->read_only;
                host_log(host, LOG_LEVEL_INFO,
                         "fenced: read_only on, %u client connections killed%s", job->killed,
                         job->handover ? " (VIP kept meanwhile: it goes now)" : "");
            } else {
                host_log(host, LOG_LEVEL_WARN, "fencing failed: %s", job->errmsg);
            }
            if (job->handover && host->handover_since_ms != 0) {
                /* At once, not at the next reconcile: a client that connects between the
                 * fence's last kill and the VIP's removal is left without an answer. (A
                 * handover that ended meanwhile, aborted say, leaves the VIP to reconcile.) */
                host->handover_fenced = true;
                if (host->vip != NULL && host->view.vip_held) {
                    vip_release(host);
                }
            }
            if (job->status == 0) {
                probe_now(host); /* after the VIP left: that probe may yield FENCED */
            }
            break;
        case JOB_OPEN:
            if (job->status == 0) {
                host->view.health.read_only = 0;
                host_log(host, LOG_LEVEL_INFO,
                         "opened: read_only off (epoch %llu written to mmcoord.epoch)%s%s",
                         (unsigned long long)job->epoch, job->info[0] != '\0' ? ": " : "",
                         job->info);
                probe_now(host);
            } else {
                host_log(host, LOG_LEVEL_WARN, "not opened: %s", job->errmsg);
            }
            break;
        case JOB_REPOINT:
            if (job->status == 0) {
                host_log(host, LOG_LEVEL_INFO, "replication now from %s:%u", job->source_host,
                         job->source_port);
            } else {
                host_log(host, LOG_LEVEL_WARN, "repointing to %s:%u failed: %s", job->source_host,
                         job->source_port, job->errmsg);
            }
            break;
        case JOB_STOP_RECEIVER:
            if (job->status != 0) {
                host_log(host, LOG_LEVEL_WARN, "stopping replication from %s:%u failed: %s",
                         job->source_host, job->source_port, job->errmsg);
            } else if (strncmp(job->info, "stopped", 7) == 0) {
                host_log(host, LOG_LEVEL_INFO,
                         "stopped receiving from %s:%u: its writer's lease lapsed and it does not "
                         "answer (%s); the repoint to the next writer will not wait on it",
                         job->source_host, job->source_port, job->info);
                probe_now(host);
            }
            break;
        case JOB_CATCH_UP:
            if (job->status == 0) {
                snprintf(host->caught_up_to, sizeof host->caught_up_to, "%s", job->catch_up_to);
                host_log(host, LOG_LEVEL_INFO, "switchover: applied the final position %s",
                         job->catch_up_to);
                probe_now(host);
            } else if (job->status == -ETIMEDOUT) {
                probe_now(host); /* not there yet: the next slice follows the probe */
            } else {
                host->last_catch_up_error_ms = clock_boottime_ms();
                host_log(host, LOG_LEVEL_WARN, "switchover: waiting for %s failed: %s",
                         job->catch_up_to, job->errmsg);
            }
            break;
        }
    }
    mysql_credentials_wipe(&job->repl);
    mysql_credentials_wipe(&job->coord);
    free(job);
}

static void submit_job(struct host *host, struct job *job)
{
    job->host = host;
    if (mysql_worker_submit(host->worker, job_run, job_done, job) != 0) {
        mysql_credentials_wipe(&job->repl);
        mysql_credentials_wipe(&job->coord);
        free(job);
        return;
    }
    host->job_running = true;
}

/* ---- VIP ---- */

/* A window of the reset responder ended by itself: say what it did. */
static void resetter_done(struct tcpreset *r, int status, const char *errmsg)
{
    struct host *host = r->data;
    uint64_t sent = tcpreset_sent(r) - host->resets_before;
    if (status != 0) {
        host_log(host, LOG_LEVEL_WARN, "VIP %s: refusing connection attempts stopped: %s",
                 host->config->vip, errmsg);
    } else if (sent > 0) {
        host_log(host, LOG_LEVEL_INFO,
                 "VIP %s: sent %llu TCP reset(s) to clients still sending here after it left (old "
                 "ARP entry: new connections refused, open ones reset, instead of waiting for "
                 "their timeouts)",
                 host->config->vip, (unsigned long long)sent);
    }
}

static void vip_release(struct host *host)
{
    char errmsg[256];
    arp_announcer_stop(&host->announcer);
    /* Until the new holder's gratuitous ARP reaches them, clients still send here: reset their
     * TCP segments so that they retry at once (netops/tcpreset.h). Started just before the
     * address goes, because starting takes milliseconds (binding the packet socket waits for
     * the kernel's RCU grace period): a SYN arriving between the removal and the start was
     * dropped and its client waited a whole second (seen on the lab in a switchover). What it
     * resets while the address is still here belongs to connections about to lose it. */
    bool resetting = false;
    if (host->view.vip_held && !host->vip_assumed && host->config->tcp_reset_ms > 0 &&
        host->resetter_ready && !host->closing) {
        host->resets_before = tcpreset_sent(&host->resetter);
        if (tcpreset_start(&host->resetter, host->config->vip_interface, host->vip_address.address,
                           host->config->tcp_reset_ms, resetter_done, errmsg, sizeof errmsg) != 0) {
            host_log(host, LOG_LEVEL_WARN, "%s", errmsg);
        } else {
            resetting = true;
        }
    }
    if (vip_del(host->vip, host->config->vip_interface, &host->vip_address, errmsg,
                sizeof errmsg) != 0) {
        host_log(host, LOG_LEVEL_ERROR, "%s", errmsg);
        if (resetting) {
            tcpreset_stop(&host->resetter); /* still here: never refuse its own clients */
        }
        return;
    }
    if (host->view.vip_held && !host->vip_assumed) {
        /* A client connected at the removal hears nothing more from here: make it speak, so
         * that the reset above (or the new holder) ends its connection (netops/sockreset.h). */
        unsigned woken = 0;
        if (resetting &&
            sockreset_wake_clients(host->vip_address.address, &woken, errmsg, sizeof errmsg) != 0) {
            host_log(host, LOG_LEVEL_WARN, "%s", errmsg);
        }
        if (woken > 0) {
            host_log(host, LOG_LEVEL_INFO,
                     "VIP %s removed from %s; woke %u client connection(s) still on it",
                     host->config->vip, host->config->vip_interface, woken);
        } else {
            host_log(host, LOG_LEVEL_INFO, "VIP %s removed from %s", host->config->vip,
                     host->config->vip_interface);
        }
    }
    host->vip_assumed = false;
    host->view.vip_held = false;
    host->vip_until_ms = 0;
}

static void vip_hold(struct host *host, const struct host_target *target, uint64_t now_ms)
{
    /* The kernel drops the VIP by itself when nobody renews it (every user-space process on the
     * host dead). Its lifetime counts from when it is set, so it is set only just after a RENEW
     * was sent, for T whole seconds: the leader's wait covers that (coord/lease.h). Between two
     * such moments the address keeps the expiry it has. */
    if (host->lease.vip_lifetime) {
        uint64_t set_for = host->view.vip_held ? host->vip_until_ms : 0;
        if (!lease_vip_refresh_due(&host->lease, target->lease_until_ms, set_for, now_ms)) {
            if (target->lease_until_ms > set_for &&
                target->lease_until_ms > host->vip_late_for_ms) {
                /* Committed too late for this renewal: the next will do, unless every one of
                 * them does (the VIP would then lapse while the lease is valid). */
                host->vip_late_for_ms = target->lease_until_ms;
                uint64_t sent = target->lease_until_ms - host->lease.lease_ms;
                uint64_t next_window_end = sent + lease_renew_interval_ms(&host->lease) +
                                           lease_vip_window_ms(&host->lease);
                bool missing = !host->view.vip_held;
                bool lapses = !missing && host->vip_set_ms + host->view.vip_lifetime_s * 1000ULL <
                                              next_window_end;
                /* Serving without the VIP, or about to lose it: say so, every 10 s at most
                 * (a network or disk slower than the window misses every renewal). */
                bool warn = (missing || lapses) && (host->vip_late_warned_ms == 0 ||
                                                    now_ms - host->vip_late_warned_ms >= 10000);
                if (warn) {
                    host->vip_late_warned_ms = now_ms;
                }
                host_log(host, warn ? LOG_LEVEL_WARN : LOG_LEVEL_DEBUG,
                         "VIP %s: lifetime not refreshed: the renewal was applied %llu ms after "
                         "it was sent, past the %llu ms window (lease_ms / 16)%s",
                         host->config->vip, (unsigned long long)(now_ms - sent),
                         (unsigned long long)lease_vip_window_ms(&host->lease),
                         missing  ? "; the VIP is not on this host and goes up only with a "
                                    "renewal applied within the window: this host, its disk or "
                                    "the network to the raft leader is too slow for it"
                         : lapses ? "; its kernel lifetime may run out before the next renewal "
                                    "can refresh it (the VIP then drops until one does): this "
                                    "host, its disk or the network to the raft leader is slow"
                                  : "");
            }
            return;
        }
    } else if (host->view.vip_held) {
        return; /* vip_lifetime = no: added for good once */
    }
    unsigned lifetime = host->lease.vip_lifetime ? lease_vip_lifetime_s(&host->lease) : 0;
    char errmsg[256];
    if (host->resetter_ready) {
        tcpreset_stop(&host->resetter); /* never refuse this host's own clients */
    }
    if (vip_add(host->vip, host->config->vip_interface, &host->vip_address, lifetime, errmsg,
                sizeof errmsg) != 0) {
        host_log(host, LOG_LEVEL_ERROR, "%s", errmsg);
        return;
    }
    if (host->lease.vip_lifetime &&
        !lease_vip_window_open(&host->lease, target->lease_until_ms, clock_boottime_ms())) {
        /* Descheduled between the check and the netlink call: this expiry is later than the
         * leader's wait allows for. */
        host_log(host, LOG_LEVEL_WARN,
                 "VIP %s: lifetime set too long after its renewal was sent; removed until the "
                 "next renewal",
                 host->config->vip);
        vip_release(host);
        return;
    }
    if (host->lease.vip_lifetime) {
        host_log(host, LOG_LEVEL_DEBUG,
                 "VIP %s: lifetime %u s set %llu ms after its renewal was sent", host->config->vip,
                 lifetime,
                 (unsigned long long)(now_ms + host->lease.lease_ms - target->lease_until_ms));
    }
    host->view.vip_lifetime_s = lifetime;
    host->vip_set_ms = now_ms;
    host->vip_until_ms = target->lease_until_ms;
    if (!host->view.vip_held) {
        host->view.vip_held = true;
        host_log(host, LOG_LEVEL_INFO, "VIP %s added on %s, announcing it", host->config->vip,
                 host->config->vip_interface);
        if (arp_announcer_start(&host->announcer, host->vip_address.address, NULL, errmsg,
                                sizeof errmsg) != 0) {
            host_log(host, LOG_LEVEL_WARN, "gratuitous ARP: %s", errmsg);
        }
    }
}

/* Whether a planned handover keeps the VIP while it fences (see host_reconcile) at @now_ms:
 * asked by host_reconcile, and by the ARP gate between two reconciles. */
static bool handover_keeps_vip(const struct host *host, uint64_t now_ms)
{
    bool mysql_up = host->view.probed && host->view.health.mysql == MYSQL_VIEW_UP;
    return host->handover_since_ms != 0 && !host->handover_fenced && host->worker != NULL &&
           mysql_up && now_ms < host->vip_keep_until_ms &&
           now_ms - host->handover_since_ms < HANDOVER_VIP_MS;
}

/* The announcer's gate (netops/arp.h), asked right before each gratuitous ARP, burst and
 * refresh alike: a frame leaves only while this host may serve from the VIP at that moment.
 * The announcer's timer and the one whose reconcile releases the VIP are separate: after a
 * stall of the loop (the daemon paused, say) libuv runs the overdue ones in due order, the
 * announcer's first, and a chaos run saw a paused daemon announce the VIP after its lease had
 * run out and its fencer had removed it, pointing the clients at it for seconds. So:
 * - the VIP is held in this host's view, and
 * - the lease's fence time (fence_at_ms, set by host_reconcile while writable) is still ahead
 *   on the clock read now, or a planned handover keeps the VIP (the same test as
 *   host_reconcile's: not fenced yet, within HANDOVER_VIP_MS and the old lease's fence time),
 * - and the address really is on the interface: one netlink round trip (a dump of the
 *   interface's addresses, as vip_hold's add costs), because the fencer, the kernel's lifetime
 *   or an operator may have removed it behind the daemon's back, and a frame for an address
 *   this host no longer has draws the clients' packets to where nothing answers them. A failed
 *   check holds the frame back too: the next one asks again.
 * A "no" only holds frames back (netops/arp.h): the release that follows stops the announcer.
 */
static bool may_announce_vip(void *data)
{
    struct host *host = data;
    uint64_t now_ms = clock_boottime_ms();
    uint64_t fence_at_ms = atomic_load(&host->fence_at_ms);
    char why[320] = "";
    if (host->closing || host->vip == NULL || !host->view.vip_held) {
        snprintf(why, sizeof why, "not held");
    } else if (now_ms >= fence_at_ms && !handover_keeps_vip(host, now_ms)) {
        if (fence_at_ms != 0) {
            snprintf(why, sizeof why, "the lease's fence time passed %llu ms ago",
                     (unsigned long long)(now_ms - fence_at_ms));
        } else {
            snprintf(why, sizeof why, "this host may not serve from it now");
        }
    } else {
        char errmsg[256];
        int rv = vip_has(host->vip, host->config->vip_interface, &host->vip_address, errmsg,
                         sizeof errmsg);
        if (rv == 0) {
            snprintf(why, sizeof why, "it is no longer on %s", host->config->vip_interface);
        } else if (rv < 0) {
            snprintf(why, sizeof why, "cannot tell whether it is on %s: %s",
                     host->config->vip_interface, errmsg);
        }
    }
    if (why[0] == '\0') {
        host->arp_held_back = false;
        return true;
    }
    if (!host->arp_held_back) {
        host->arp_held_back = true;
        host_log(host, LOG_LEVEL_INFO, "VIP %s: gratuitous ARP held back: %s", host->config->vip,
                 why);
    }
    return false;
}

/* ---- Reconcile ---- */

void host_reconcile(struct host *host, const struct host_target *target,
                    const struct record *record, uint64_t now_ms)
{
    (void)record;
    if (host->closing) {
        return;
    }
    const struct command_health *h = &host->view.health;
    bool mysql_up = host->view.probed && h->mysql == MYSQL_VIEW_UP;
    atomic_store(&host->fence_at_ms, target->writable ? target->fence_at_ms : 0);
    /* A planned handover fences first and removes the VIP after (in job_done): the fence's
     * kills then reach the clients, and one that connects meanwhile gets the fenced server's
     * answer. Without a lease, a working server, or once HANDOVER_VIP_MS has gone by, the VIP
     * goes at once, as whenever this host must not be writable. */
    bool keep_vip = false;
    if (target->writable || target->vip_keep_until_ms == 0) {
        host->handover_since_ms = 0;
        host->handover_fenced = false;
        host->vip_keep_until_ms = 0;
    } else {
        if (host->handover_since_ms == 0) {
            host->handover_since_ms = now_ms;
        }
        host->vip_keep_until_ms = target->vip_keep_until_ms;
        keep_vip = handover_keeps_vip(host, now_ms);
    }
    if (host->vip != NULL) {
        if (!target->writable) {
            if (host->view.vip_held && !keep_vip) {
                vip_release(host);
            }
        } else if (host->worker == NULL || (mysql_up && !h->read_only)) {
            vip_hold(host, target, now_ms);
        }
    }
    if (host->worker == NULL || host->job_running) {
        return;
    }
    if (!mysql_up) {
        /* A server that does not answer may still take writes from its open connections: keep
         * trying to fence it (bounded jobs, once a second) unless it refused the connection. */
        if (!target->writable && host->view.probed && h->mysql != MYSQL_VIEW_DOWN &&
            now_ms - host->last_fence_try_ms >= OPEN_RETRY_MS) {
            struct job *job = calloc(1, sizeof *job);
            if (job != NULL) {
                job->kind = JOB_FENCE;
                host->last_fence_try_ms = now_ms;
                submit_job(host, job);
            }
        }
        return;
    }
    if (target->writable && h->read_only) {
        if (now_ms - host->last_open_ms < OPEN_RETRY_MS) {
            return;
        }
        struct job *job = calloc(1, sizeof *job);
        if (job == NULL) {
            return;
        }
        job->kind = JOB_OPEN;
        job->fence_at_ms = &host->fence_at_ms;
        job->repl = host->repl;
        job->coord = host->coord;
        job->allow_loss = host->config->promote_with_loss;
        job->epoch = record->writer.epoch;
        snprintf(job->writer_id, sizeof job->writer_id, "%s", host->config->local_id);
        for (unsigned i = 0; i < host->config->n_nodes; i++) {
            const struct config_node *n = &host->config->nodes[i];
            if (i == host->config->local_index) {
                continue;
            }
            struct peer *p = &job->peers[job->n_peers++];
            snprintf(p->id, sizeof p->id, "%s", n->id);
            snprintf(p->host, sizeof p->host, "%s", n->mysql_host);
            p->port = n->mysql_port;
        }
        host->last_open_ms = now_ms;
        submit_job(host, job);
        return;
    }
    if (!target->writable && (!h->read_only || keep_vip)) {
        struct job *job = calloc(1, sizeof *job);
        if (job != NULL) {
            job->kind = JOB_FENCE;
            job->handover = keep_vip;
            submit_job(host, job);
        }
        return;
    }
    /* A switchover's target applies the old writer's final position, in slices with a probe
     * after each, while replication runs (otherwise the repoint below comes first). */
    if (target->catch_up_to[0] != '\0' && strcmp(target->catch_up_to, host->caught_up_to) != 0 &&
        h->replicating && h->io_running && h->sql_running &&
        now_ms - host->last_catch_up_error_ms >= REPOINT_RETRY_MS) {
        struct job *job = calloc(1, sizeof *job);
        if (job != NULL) {
            job->kind = JOB_CATCH_UP;
            snprintf(job->catch_up_to, sizeof job->catch_up_to, "%s", target->catch_up_to);
            submit_job(host, job);
        }
        return;
    }
    if (target->replicate_from[0] == '\0' || !host->repl_known) {
        return;
    }
    const struct config_node *source = config_find_node(host->config, target->replicate_from);
    if (source == NULL) {
        return;
    }
    bool from_source = h->replicating && strcmp(h->source_host, source->mysql_host) == 0 &&
                       h->source_port == source->mysql_port;
    if (target->source_lapsed) {
        /* Its lease lapsed: a change of writer may follow. Stop receiving from it ahead of
         * that if it is dead (checked in the job), at most once a retry interval; never
         * repoint to it meanwhile. */
        if (from_source && (h->io_running || host->io_connecting) &&
            now_ms - host->last_stop_receiver_ms >= REPOINT_RETRY_MS) {
            struct job *job = calloc(1, sizeof *job);
            if (job != NULL) {
                job->kind = JOB_STOP_RECEIVER;
                snprintf(job->source_host, sizeof job->source_host, "%s", source->mysql_host);
                job->source_port = source->mysql_port;
                job->coord = host->coord;
                host->last_stop_receiver_ms = now_ms;
                submit_job(host, job);
            }
        }
        return;
    }
    /* From the right source with the IO thread reconnecting by itself: a repoint would only
     * block in STOP SLAVE on the dead source. */
    if (h->replicating && (h->io_running || host->io_connecting) && h->sql_running &&
        strcmp(h->source_host, source->mysql_host) == 0 && h->source_port == source->mysql_port) {
        return;
    }
    /* Retrying the same source waits a while (its IO thread reconnects by itself); a new
     * source, after a change of writer, goes at once. */
    char to[sizeof host->last_repoint_to];
    snprintf(to, sizeof to, "%s:%u", source->mysql_host, (unsigned)source->mysql_port);
    if (strcmp(to, host->last_repoint_to) == 0 &&
        now_ms - host->last_repoint_ms < REPOINT_RETRY_MS) {
        return;
    }
    struct job *job = calloc(1, sizeof *job);
    if (job == NULL) {
        return;
    }
    job->kind = JOB_REPOINT;
    snprintf(job->source_host, sizeof job->source_host, "%s", source->mysql_host);
    job->source_port = source->mysql_port;
    job->repl = host->repl;
    host->last_repoint_ms = now_ms;
    snprintf(host->last_repoint_to, sizeof host->last_repoint_to, "%s", to);
    submit_job(host, job);
}

void host_view(const struct host *host, struct host_view *out)
{
    if (host == NULL) { /* closed at shutdown */
        memset(out, 0, sizeof *out);
        return;
    }
    *out = host->view;
}

/* ---- Start and close ---- */

int host_start(const struct host_options *opts, struct host **out, char *errmsg, size_t errlen)
{
    const struct config *config = opts->config;
    struct host *host = calloc(1, sizeof *host);
    if (host == NULL) {
        snprintf(errmsg, errlen, "out of memory");
        return -ENOMEM;
    }
    host->loop = opts->loop;
    host->config = config;
    config_lease_params(config, &host->lease);
    host->on_health = opts->on_health;
    host->on_log = opts->on_log;
    host->data = opts->data;
    host->view.health.lag_s = -1;
    int rv = 0;
    if (config->vip[0] != '\0') {
        host->view.vip_configured = true;
        struct arp_options arp = {.count = config->garp_count,
                                  .interval_ms = config->garp_interval_ms,
                                  .refresh_ms = config->garp_refresh_ms};
        rv = vip_parse_address(config->vip, &host->vip_address, errmsg, errlen);
        if (rv == 0) {
            rv = arp_options_check(&arp, errmsg, errlen);
        }
        if (rv == 0) {
            rv = vip_open(&host->vip, errmsg, errlen);
        }
        if (rv == 0) {
            rv = arp_sender_open(&host->sender, config->vip_interface, errmsg, errlen);
            if (rv != 0) {
                vip_close(host->vip);
                host->vip = NULL;
            }
        }
        if (rv == 0) {
            rv = arp_announcer_init(host->loop, &host->announcer, &host->sender, &arp, errmsg,
                                    errlen);
            if (rv != 0) {
                arp_sender_close(&host->sender);
                vip_close(host->vip);
                host->vip = NULL;
            } else {
                arp_announcer_set_gate(&host->announcer, may_announce_vip, host);
            }
        }

        if (rv != 0) {
            free(host);
            return rv;
        }
        /* Whatever a previous run left: the target decides, starting from "held". */
        host->view.vip_held = true;
        host->vip_assumed = true;
        host->open_handles++; /* the announcer's timer */
        rv = tcpreset_init(&host->resetter, host->loop, errmsg, errlen);
        if (rv != 0) {
            host->closing = true;
            host_close(host, NULL, NULL);
            return rv;
        }
        host->resetter.data = host;
        host->resetter_ready = true;
        host->open_handles++; /* the reset responder's handles */
    }
    if (config->mysql_credentials_file[0] != '\0') {
        struct mysql_credentials creds;
        rv = mysql_credentials_load(config->mysql_credentials_file, &creds, errmsg, errlen);
        if (rv == 0 && config->replication_credentials_file[0] != '\0') {
            rv = mysql_credentials_load(config->replication_credentials_file, &host->repl, errmsg,
                                        errlen);
            host->repl_known = rv == 0;
        }
        const struct config_node *self = &config->nodes[config->local_index];
        struct mysql_conn *conn = NULL;
        if (rv == 0) {
            conn = mysql_conn_new(self->mysql_host, self->mysql_port, &creds);
            if (conn == NULL) {
                snprintf(errmsg, errlen, "mysql: cannot create a connection (out of memory)");
                rv = -ENOMEM;
            }
        }
        host->coord = creds;
        mysql_credentials_wipe(&creds);
        if (rv == 0) {
            rv = mysql_worker_start(host->loop, conn, &host->worker, errmsg, errlen);
            if (rv != 0) {
                mysql_conn_free(conn);
            }
        }
        if (rv != 0) {
            host->closing = true;
            host_close(host, NULL, NULL);
            return rv;
        }
        host->view.mysql_configured = true;
        mysql_worker_watch(host->worker, on_hangup, host);
        uv_timer_init(host->loop, &host->probe_timer);
        host->probe_timer.data = host;
        host->open_handles++;
        uv_timer_start(&host->probe_timer, on_probe_timer, 0, config->probe_interval_ms);
    }
    *out = host;
    return 0;
}

static void maybe_finish(struct host *host)
{
    if (host->open_handles > 0) {
        return;
    }
    void (*cb)(void *) = host->close_cb;
    void *data = host->close_data;
    mysql_credentials_wipe(&host->repl);
    mysql_credentials_wipe(&host->coord);
    free(host);
    if (cb != NULL) {
        cb(data);
    }
}

static void timer_closed(uv_handle_t *handle)
{
    struct host *host = handle->data;
    host->open_handles--;
    maybe_finish(host);
}

static void announcer_closed(struct arp_announcer *announcer)
{
    struct host *host = announcer->data;
    arp_sender_close(&host->sender);
    host->open_handles--;
    maybe_finish(host);
}

static void resetter_closed(struct tcpreset *r)
{
    struct host *host = r->data;
    host->open_handles--;
    maybe_finish(host);
}

static void worker_closed(void *arg)
{
    struct host *host = arg;
    host->open_handles--;
    maybe_finish(host);
}

void host_close(struct host *host, void (*cb)(void *data), void *data)
{
    host->closing = true;
    host->close_cb = cb;
    host->close_data = data;
    host->open_handles++; /* held until everything below is started */
    if (host->vip != NULL) {
        if (host->view.vip_held) {
            vip_release(host);
        }
        vip_close(host->vip);
        host->vip = NULL;
        host->announcer.data = host;
        arp_announcer_close(&host->announcer, announcer_closed);
        if (host->resetter_ready) {
            tcpreset_close(&host->resetter, resetter_closed);
        }
    }
    if (host->view.mysql_configured) {
        uv_timer_stop(&host->probe_timer);
        uv_close((uv_handle_t *)&host->probe_timer, timer_closed);
    }
    if (host->worker != NULL) {
        host->open_handles++;
        mysql_worker_close(host->worker, worker_closed, host);
        host->worker = NULL;
    }
    host->open_handles--;
    maybe_finish(host);
}
