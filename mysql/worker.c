/* Worker thread per server: see worker.h. */
#include "mysql/worker.h"

#include <errno.h>
#include <mysql.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct job {
    struct job *next;
    mysql_worker_job_fn fn;
    mysql_worker_done_fn done;
    void *arg;
    int status;
};

struct mysql_worker {
    uv_loop_t *loop;
    uv_async_t async;
    pthread_t thread;
    pthread_mutex_t lock;
    int wake_fd; /* eventfd: a job was queued, the watch changed, or stop */
    struct mysql_conn *conn;
    /* Guarded by lock. */
    struct job *todo_head, *todo_tail;
    struct job *done_head, *done_tail;
    bool stopping;
    bool exited;
    bool watching;
    bool hangup_posted; /* a hang-up for the loop to report */
    _Atomic unsigned hangups;
    /* Loop thread only. */
    mysql_worker_hangup_cb hangup_cb;
    void *hangup_arg;
    size_t pending;
    bool closing;
    void (*closed)(void *arg);
    void *closed_arg;
};

static void push(struct job **head, struct job **tail, struct job *job)
{
    job->next = NULL;
    if (*tail != NULL) {
        (*tail)->next = job;
    } else {
        *head = job;
    }
    *tail = job;
}

static struct job *pop(struct job **head, struct job **tail)
{
    struct job *job = *head;
    if (job != NULL) {
        *head = job->next;
        if (*head == NULL) {
            *tail = NULL;
        }
    }
    return job;
}

static void wake(struct mysql_worker *worker)
{
    uint64_t one = 1;
    /* Cannot fail but for an overflow of the counter, which still leaves it readable. */
    ssize_t n = write(worker->wake_fd, &one, sizeof one);
    (void)n;
}

/* Idle: wait for a wake-up and, when watching, for the server to close the connection. Called
 * and returns with the lock held. */
static void wait_idle(struct mysql_worker *worker)
{
    int fd = worker->watching ? mysql_conn_socket(worker->conn) : -1;
    pthread_mutex_unlock(&worker->lock);
    struct pollfd p[2] = {{.fd = worker->wake_fd, .events = POLLIN},
                          {.fd = fd, .events = POLLIN | POLLRDHUP}};
    int n = poll(p, fd >= 0 ? 2 : 1, -1);
    if (n > 0 && (p[0].revents & POLLIN)) {
        uint64_t count;
        ssize_t got = read(worker->wake_fd, &count, sizeof count);
        (void)got;
    }
    bool hung_up = n > 0 && fd >= 0 && p[1].revents != 0;
    if (hung_up) {
        /* Whatever came (EOF, a reset, or the error packet of a shutdown or KILL), the
         * connection is finished: close it here, so the next job reconnects and a dead server
         * refuses at once. */
        mysql_conn_disconnect(worker->conn);
    }
    pthread_mutex_lock(&worker->lock);
    if (hung_up) {
        worker->hangups++;
        worker->hangup_posted = true;
        uv_async_send(&worker->async);
    }
}

static void *worker_main(void *arg)
{
    struct mysql_worker *worker = arg;
    mysql_thread_init();
    pthread_mutex_lock(&worker->lock);
    for (;;) {
        while (!worker->stopping && worker->todo_head == NULL) {
            wait_idle(worker);
        }
        if (worker->stopping) {
            break;
        }
        struct job *job = pop(&worker->todo_head, &worker->todo_tail);
        pthread_mutex_unlock(&worker->lock);
        job->fn(worker->conn, job->arg);
        job->status = 0;
        pthread_mutex_lock(&worker->lock);
        push(&worker->done_head, &worker->done_tail, job);
        uv_async_send(&worker->async);
    }
    /* Signal while still holding the lock: once the loop can see `exited` it may free the
     * worker, so nothing below the unlock may touch it. */
    worker->exited = true;
    uv_async_send(&worker->async);
    pthread_mutex_unlock(&worker->lock);
    mysql_thread_end();
    return NULL;
}

static void on_handle_closed(uv_handle_t *handle)
{
    struct mysql_worker *worker = handle->data;
    void (*closed)(void *) = worker->closed;
    void *closed_arg = worker->closed_arg;
    pthread_mutex_destroy(&worker->lock);
    close(worker->wake_fd);
    free(worker);
    if (closed != NULL) {
        closed(closed_arg);
    }
}

static void on_async(uv_async_t *async)
{
    struct mysql_worker *worker = async->data;
    pthread_mutex_lock(&worker->lock);
    struct job *done = worker->done_head;
    worker->done_head = worker->done_tail = NULL;
    bool exited = worker->exited;
    bool hangup = worker->hangup_posted;
    worker->hangup_posted = false;
    pthread_mutex_unlock(&worker->lock);
    if (hangup && !worker->closing && worker->hangup_cb != NULL) {
        worker->hangup_cb(worker->hangup_arg);
    }
    while (done != NULL) {
        struct job *next = done->next;
        worker->pending--;
        done->done(done->arg, done->status);
        free(done);
        done = next;
    }
    if (exited && worker->closing && !uv_is_closing((uv_handle_t *)&worker->async)) {
        /* The thread has left its loop: joining only waits for it to return. */
        pthread_join(worker->thread, NULL);
        mysql_conn_free(worker->conn);
        worker->conn = NULL;
        uv_close((uv_handle_t *)&worker->async, on_handle_closed);
    }
}

int mysql_worker_start(uv_loop_t *loop, struct mysql_conn *conn, struct mysql_worker **out,
                       char *errmsg, size_t errlen)
{
    struct mysql_worker *worker = calloc(1, sizeof(*worker));
    if (worker == NULL) {
        snprintf(errmsg, errlen, "MySQL worker for %s: out of memory", mysql_conn_address(conn));
        return -ENOMEM;
    }
    worker->loop = loop;
    worker->conn = conn;
    worker->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (worker->wake_fd < 0) {
        int err = errno;
        snprintf(errmsg, errlen, "MySQL worker for %s: eventfd: %s", mysql_conn_address(conn),
                 strerror(err));
        free(worker);
        return -err;
    }
    pthread_mutex_init(&worker->lock, NULL);
    int rc = uv_async_init(loop, &worker->async, on_async);
    if (rc != 0) {
        snprintf(errmsg, errlen, "MySQL worker for %s: uv_async_init: %s", mysql_conn_address(conn),
                 uv_strerror(rc));
        pthread_mutex_destroy(&worker->lock);
        close(worker->wake_fd);
        free(worker);
        return rc;
    }
    worker->async.data = worker;
    rc = pthread_create(&worker->thread, NULL, worker_main, worker);
    if (rc != 0) {
        snprintf(errmsg, errlen, "MySQL worker for %s: cannot start a thread: %s",
                 mysql_conn_address(conn), strerror(rc));
        worker->conn = NULL;
        worker->closed = NULL;
        uv_close((uv_handle_t *)&worker->async, on_handle_closed);
        return -rc;
    }
    *out = worker;
    return 0;
}

int mysql_worker_submit(struct mysql_worker *worker, mysql_worker_job_fn fn,
                        mysql_worker_done_fn done, void *arg)
{
    if (worker->closing) {
        return -ESHUTDOWN;
    }
    struct job *job = calloc(1, sizeof(*job));
    if (job == NULL) {
        return -ENOMEM;
    }
    job->fn = fn;
    job->done = done;
    job->arg = arg;
    pthread_mutex_lock(&worker->lock);
    push(&worker->todo_head, &worker->todo_tail, job);
    wake(worker);
    pthread_mutex_unlock(&worker->lock);
    worker->pending++;
    return 0;
}

void mysql_worker_watch(struct mysql_worker *worker, mysql_worker_hangup_cb cb, void *arg)
{
    worker->hangup_cb = cb;
    worker->hangup_arg = arg;
    pthread_mutex_lock(&worker->lock);
    worker->watching = cb != NULL;
    wake(worker);
    pthread_mutex_unlock(&worker->lock);
}

unsigned mysql_worker_hangups(const struct mysql_worker *worker)
{
    return atomic_load(&worker->hangups);
}

size_t mysql_worker_pending(const struct mysql_worker *worker)
{
    return worker->pending;
}

void mysql_worker_close(struct mysql_worker *worker, void (*closed)(void *arg), void *arg)
{
    worker->closing = true;
    worker->closed = closed;
    worker->closed_arg = arg;
    pthread_mutex_lock(&worker->lock);
    worker->stopping = true;
    struct job *job;
    while ((job = pop(&worker->todo_head, &worker->todo_tail)) != NULL) {
        job->status = -ECANCELED;
        push(&worker->done_head, &worker->done_tail, job);
    }
    wake(worker);
    pthread_mutex_unlock(&worker->lock);
    uv_async_send(&worker->async);
}

struct probe_job {
    unsigned timeout_ms;
    mysql_worker_probe_cb cb;
    void *arg;
    struct mysql_probe_result result;
};

static void probe_run(struct mysql_conn *conn, void *arg)
{
    struct probe_job *job = arg;
    mysql_probe_run(conn, job->timeout_ms, &job->result);
}

static void probe_done(void *arg, int status)
{
    struct probe_job *job = arg;
    if (status != 0) {
        memset(&job->result, 0, sizeof(job->result));
        job->result.state = MYSQL_PROBE_ERROR;
        job->result.error = status;
        snprintf(job->result.errmsg, sizeof(job->result.errmsg), "probe cancelled");
    }
    job->cb(&job->result, job->arg);
    mysql_probe_result_clear(&job->result);
    free(job);
}

int mysql_worker_probe(struct mysql_worker *worker, unsigned timeout_ms, mysql_worker_probe_cb cb,
                       void *arg)
{
    struct probe_job *job = calloc(1, sizeof(*job));
    if (job == NULL) {
        return -ENOMEM;
    }
    job->timeout_ms = timeout_ms;
    job->cb = cb;
    job->arg = arg;
    int rc = mysql_worker_submit(worker, probe_run, probe_done, job);
    if (rc != 0) {
        free(job);
    }
    return rc;
}
