/*
 * The host's hands, driven by the coordinator's level-triggered target (coord/coordinator.h):
 * this module probes the local MySQL server on a timer (mysql/probe.h on a worker thread, so a
 * hung server never stalls the loop) and turns each probe into a health report, and it makes
 * the host match the target every time it is asked: the VIP present with a kernel lifetime and
 * announced by gratuitous ARP, or absent (netops/); read_only off or on with client connections
 * killed (mysql/fence.h); replication pointed at the writer (mysql/repoint.h). Every action is
 * idempotent and is repeated until what the probe reads back matches, so a restarted daemon, a
 * VIP removed by hand or a server restarted with read_only=ON all converge the same way.
 *
 * Order when fencing: the VIP goes at once (a netlink call on the loop) while read_only is set
 * on the worker, so a hung mysqld cannot delay the VIP's removal. The one exception is the old
 * writer of a planned switchover whose lease still runs (target->vip_keep_until_ms): it fences
 * with the VIP kept and removes it the moment the fence job ends (or after 250 ms, or at the
 * lease's fence time, whichever comes first), because a host cannot send anything from an
 * address it no longer has: a client connected at the removal would wait for its own timeout,
 * whereas the fence's kills and the fenced server's errors reach it at once. When opening:
 * read_only off first, the VIP once the server answered writable.
 */
#ifndef MMC_HOST_H
#define MMC_HOST_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "coord/codec.h"
#include "coord/config.h"
#include "coord/coordinator.h"
#include "coord/log.h"
#include "coord/record.h"

struct host;

/* A probe finished: @health is the local server as the cluster should see it. */
typedef void (*host_health_cb)(void *data, const struct command_health *health);
/* Something to log, with its level. */
typedef void (*host_log_cb)(void *data, enum log_level level, const char *message);

struct host_options {
    uv_loop_t *loop;
    const struct config *config; /* must outlive the host */
    host_health_cb on_health;
    host_log_cb on_log;
    void *data;
};

/* What the host looks like as far as this module knows, for status. */
struct host_view {
    bool mysql_configured; /* a credentials file is set: the server is probed */
    bool probed;           /* at least one probe finished */
    struct command_health health;
    bool vip_configured;
    bool vip_held;
    uint64_t vip_lifetime_s; /* the lifetime last given to the kernel */
    char last_action[CODEC_REASON_SIZE];
};

/* Start probing (when the config has MySQL credentials) and open the netlink handles (when it
 * has a VIP). Returns 0, or a negative error with errmsg naming the file, interface or
 * address. */
int host_start(const struct host_options *opts, struct host **out, char *errmsg, size_t errlen);

/* Make the host match @target at @now_ms (CLOCK_BOOTTIME); @record gives the nodes' MySQL
 * addresses for repointing. Cheap when nothing differs. */
void host_reconcile(struct host *host, const struct host_target *target,
                    const struct record *record, uint64_t now_ms);

/* What the host looks like now (all zero for NULL: a host already closed). */
void host_view(const struct host *host, struct host_view *out);

/* Stop the probes and the worker, close the handles; the VIP is removed when held (a daemon
 * that stops hands over through its lease: it must not keep serving). @cb runs when done. */
void host_close(struct host *host, void (*cb)(void *data), void *data);

#endif /* MMC_HOST_H */
