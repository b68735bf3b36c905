/*
 * A worker thread per server: the bridge between the daemon's libuv loop and the synchronous,
 * deadline-bounded calls of conn.h / probe.h / fence.h / repoint.h.
 *
 * The loop submits jobs; the worker runs them one at a time, in order, on its own thread with
 * the server's connection, and each job's completion callback runs back on the loop (posted with
 * uv_async). The loop never touches the connection and never waits for the worker: a paused or
 * unreachable server delays only that server's jobs, each by at most the deadline the job
 * itself uses. Jobs must therefore pass deadlines to every call they make.
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
