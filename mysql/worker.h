/*
 * A worker thread per server: the bridge between the daemon's libuv loop and the synchronous,
 * deadline-bounded calls of conn.h / probe.h / fence.h / repoint.h.
 *
 * The loop submits jobs; the worker runs them one at a time, in order, on its own thread with
 * the server's connection, and each job's completion callback runs back on the loop (posted with
 * uv_async). The loop never touches the connection and never waits for the worker: a paused or
 * unreachable server delays only that server's jobs, each by at most the deadline the job
 * itself uses. Jobs must therefore pass deadlines to every call they make.
 *
 * Between jobs the worker waits on its wake-up eventfd and, when watching (mysql_worker_watch),
 * on the held connection's socket too: an idle MySQL connection receives nothing unless the
 * server goes away (a killed mysqld's socket is closed by the kernel; a shutdown sends an
 * error packet and closes). So a dead local mysqld is an event, not only something the next
 * periodic probe finds: the worker closes the connection and tells the loop, which probes at
 * once; that probe's reconnect is refused and reports the server down. A paused server sends
 * nothing and is still found by the probes' deadlines.
 */
#ifndef MMC_MYSQL_WORKER_H
#define MMC_MYSQL_WORKER_H

#include <stddef.h>
#include <uv.h>

#include "mysql/conn.h"
#include "mysql/probe.h"

struct mysql_worker; /* opaque */

/* Runs on the worker thread with the worker's connection. */
typedef void (*mysql_worker_job_fn)(struct mysql_conn *conn, void *arg);
/* Runs on the loop thread after the job ran (status 0) or when it was cancelled before it
 * started because the worker was closed (status -ECANCELED). */
typedef void (*mysql_worker_done_fn)(void *arg, int status);

/* Start a worker on @loop that owns @conn from now on (freed when the worker closes).
 * Returns 0, or -errno when the thread or the async handle cannot be created (errmsg says
 * which; @conn is then still the caller's). */
int mysql_worker_start(uv_loop_t *loop, struct mysql_conn *conn, struct mysql_worker **out,
                       char *errmsg, size_t errlen);

/* Queue @job. @arg is the caller's until @done has been called. Returns 0, -ENOMEM, or
 * -ESHUTDOWN after mysql_worker_close(). Call from the loop thread only. */
int mysql_worker_submit(struct mysql_worker *worker, mysql_worker_job_fn job,
                        mysql_worker_done_fn done, void *arg);

/* Runs on the loop thread when the server closed the connection while the worker was idle
 * (the worker has closed its end: the next job reconnects). */
typedef void (*mysql_worker_hangup_cb)(void *arg);

/* From now on, watch the held connection between jobs and call @cb (with @arg) on the loop each
 * time the server closes it; @cb NULL stops watching. Call from the loop thread only. */
void mysql_worker_watch(struct mysql_worker *worker, mysql_worker_hangup_cb cb, void *arg);

/* How many hang-ups the worker has seen while watching (for tests and benchmarks). */
unsigned mysql_worker_hangups(const struct mysql_worker *worker);

/* Jobs queued or running. */
size_t mysql_worker_pending(const struct mysql_worker *worker);

/* Stop: jobs not yet started complete with -ECANCELED, the running one finishes (bounded by
 * its deadline), then the thread is joined, the connection freed, the handle closed, and
 * @closed (may be NULL) runs on the loop. The worker must not be used after this call. */
void mysql_worker_close(struct mysql_worker *worker, void (*closed)(void *arg), void *arg);

/* Probe on the worker with @timeout_ms; @cb runs on the loop with the result, which is valid
 * during the callback only (cancelled probes report state ERROR with error -ECANCELED).
 * Returns what mysql_worker_submit() returns. */
typedef void (*mysql_worker_probe_cb)(const struct mysql_probe_result *result, void *arg);
int mysql_worker_probe(struct mysql_worker *worker, unsigned timeout_ms, mysql_worker_probe_cb cb,
                       void *arg);

#endif /* MMC_MYSQL_WORKER_H */
