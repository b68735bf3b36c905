/*
 * The control socket server on the daemon's libuv loop; see control.h.
 */
#include <errno.h>
#include <grp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "coord/control.h"

struct client {
    uv_pipe_t pipe;
    struct control *control;
    uid_t uid;
    size_t used;
    char buf[CONTROL_LINE_MAX + 1];
    bool closing;
    struct client *next;
};

struct control {
    uv_loop_t *loop;
    uv_pipe_t server;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    control_handler handler;
    void *data;
    struct client *clients;
    unsigned n_clients;
    unsigned open_handles;
    void (*close_cb)(void *data);
    void *close_data;
    bool closing;
};

json_t *control_error(const char *fmt, ...)
{
    char message[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    return json_pack("{s:b, s:s}", "ok", 0, "error", message);
}

char *control_handle_line(const char *line, size_t len, control_handler handler, void *data,
                          uid_t peer_uid)
{
    json_error_t jerr;
    json_t *response = NULL;
    json_t *request = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
    if (request == NULL) {
        response = control_error("malformed request: %s at column %d", jerr.text, jerr.column);
    } else if (!json_is_object(request)) {
        response = control_error("malformed request: expected a JSON object");
    } else {
        json_t *cmd = json_object_get(request, "cmd");
        if (!json_is_string(cmd)) {
            response = control_error("malformed request: missing string field \"cmd\"");
        } else {
            response = handler(data, json_string_value(cmd), request, peer_uid);
            if (response == NULL) {
                response = control_error("internal error answering \"%s\"", json_string_value(cmd));
            }
        }
    }
    json_decref(request);
    char *text = json_dumps(response, JSON_COMPACT);
    json_decref(response);
    return text;
}

static void maybe_finish(struct control *control)
{
    if (!control->closing || control->open_handles > 0) {
        return;
    }
    void (*cb)(void *) = control->close_cb;
    void *data = control->close_data;
    free(control);
    if (cb != NULL) {
        cb(data);
    }
}

static void server_closed(uv_handle_t *handle)
{
    struct control *control = handle->data;
    control->open_handles--;
    maybe_finish(control);
}

static void client_closed(uv_handle_t *handle)
{
    struct client *client = handle->data;
    struct control *control = client->control;
    struct client **p = &control->clients;
    while (*p != NULL && *p != client) {
        p = &(*p)->next;
    }
    if (*p == client) {
        *p = client->next;
    }
    control->n_clients--;
    free(client);
    control->open_handles--;
    maybe_finish(control);
}

static void client_close(struct client *client)
{
    if (client->closing) {
        return;
    }
    client->closing = true;
    uv_close((uv_handle_t *)&client->pipe, client_closed);
}

struct write_req {
    uv_write_t req;
    char *text;
    bool close_after;
};

static void write_done(uv_write_t *req, int status)
{
    struct write_req *w = (struct write_req *)req;
    struct client *client = req->handle->data;
    if (status != 0 || w->close_after) {
        client_close(client);
    }
    free(w->text);
    free(w);
}

static void client_send(struct client *client, char *text, bool close_after)
{
    struct write_req *w = malloc(sizeof *w);
    if (text == NULL || w == NULL) {
        free(text);
        free(w);
        client_close(client);
        return;
    }
    size_t n = strlen(text);
    w->text = text;
    w->close_after = close_after;
    uv_buf_t bufs[2] = {uv_buf_init(text, (unsigned)n), uv_buf_init("\n", 1)};
    if (uv_write(&w->req, (uv_stream_t *)&client->pipe, bufs, 2, write_done) != 0) {
        free(text);
        free(w);
        client_close(client);
    }
}

static void client_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct client *client = handle->data;
    buf->base = client->buf + client->used;
    buf->len = CONTROL_LINE_MAX + 1 - client->used;
}

static void client_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    struct client *client = stream->data;
    if (nread < 0) {
        client_close(client);
        return;
    }
    client->used += (size_t)nread;
    for (;;) {
        char *nl = memchr(client->buf, '\n', client->used);
        if (nl == NULL) {
            if (client->used > CONTROL_LINE_MAX) {
                uv_read_stop(stream);
                client_send(
                    client,
                    json_dumps(control_error("request longer than %d bytes", CONTROL_LINE_MAX),
                               JSON_COMPACT),
                    true);
            }
            return;
        }
        size_t len = (size_t)(nl - client->buf);
        struct control *control = client->control;
        char *text =
            control_handle_line(client->buf, len, control->handler, control->data, client->uid);
        client_send(client, text, false);
        memmove(client->buf, nl + 1, client->used - len - 1);
        client->used -= len + 1;
    }
}

static void on_connection(uv_stream_t *server, int status)
{
    struct control *control = server->data;
    if (status != 0 || control->closing) {
        return;
    }
    struct client *client = calloc(1, sizeof *client);
    if (client == NULL) {
        return;
    }
    client->control = control;
    uv_pipe_init(control->loop, &client->pipe, 0);
    client->pipe.data = client;
    client->next = control->clients;
    control->clients = client;
    control->n_clients++;
    control->open_handles++;
    if (uv_accept(server, (uv_stream_t *)&client->pipe) != 0) {
        client_close(client);
        return;
    }
    if (control->n_clients > CONTROL_MAX_CLIENTS) {
        client_send(client,
                    json_dumps(control_error("too many control connections (at most %d)",
                                             CONTROL_MAX_CLIENTS),
                               JSON_COMPACT),
                    true);
        return;
    }
    uv_os_fd_t fd;
    struct ucred cred;
    socklen_t len = sizeof cred;
    client->uid = (uid_t)-1;
    if (uv_fileno((uv_handle_t *)&client->pipe, &fd) == 0 &&
        getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
        client->uid = cred.uid;
    }
    uv_read_start((uv_stream_t *)&client->pipe, client_alloc, client_read);
}

/* True when something answers on @path: another daemon owns it. */
static bool socket_is_live(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return false;
    }
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path);
    bool live = connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0;
    close(fd);
    return live;
}

static int make_parent_dir(const char *path, char *errmsg, size_t errlen)
{
    char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
    snprintf(dir, sizeof dir, "%s", path);
    for (char *p = dir + 1; *p != '\0'; p++) {
        if (*p != '/') {
            continue;
        }
        *p = '\0';
        if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
            int err = errno;
            snprintf(errmsg, errlen, "control socket %s: cannot create %s: %s", path, dir,
                     strerror(err));
            return -err;
        }
        *p = '/';
    }
    return 0;
}

int control_start(uv_loop_t *loop, const char *path, const char *group, control_handler handler,
                  void *data, struct control **out, char *errmsg, size_t errlen)
{
    gid_t gid = 0;
    if (group != NULL && group[0] != '\0') {
        struct group *g = getgrnam(group);
        if (g == NULL) {
            snprintf(errmsg, errlen, "control socket %s: group '%s' does not exist", path, group);
            return -ENOENT;
        }
        gid = g->gr_gid;
    }
    int rv = make_parent_dir(path, errmsg, errlen);
    if (rv != 0) {
        return rv;
    }
    if (access(path, F_OK) == 0) {
        if (socket_is_live(path)) {
            snprintf(errmsg, errlen,
                     "control socket %s is in use: another mmcoordd runs with this config", path);
            return -EADDRINUSE;
        }
        unlink(path); /* left behind by a daemon that died */
    }
    struct control *control = calloc(1, sizeof *control);
    if (control == NULL) {
        snprintf(errmsg, errlen, "out of memory");
        return -ENOMEM;
    }
    control->loop = loop;
    control->handler = handler;
    control->data = data;
    snprintf(control->path, sizeof control->path, "%s", path);
    uv_pipe_init(loop, &control->server, 0);
    control->server.data = control;
    control->open_handles = 1;
    /* Created 0660 from the start: no window in which others could connect. */
    mode_t old = umask(0117);
    rv = uv_pipe_bind(&control->server, path);
    umask(old);
    if (rv == 0 && chown(path, 0, gid) != 0 && geteuid() == 0) {
        rv = -errno;
    }
    if (rv == 0) {
        rv = uv_listen((uv_stream_t *)&control->server, 16, on_connection);
    }
    if (rv != 0) {
        snprintf(errmsg, errlen, "control socket %s: %s", path, strerror(-rv));
        control->closing = true;
        uv_close((uv_handle_t *)&control->server, server_closed);
        return rv;
    }
    *out = control;
    return 0;
}

void control_close(struct control *control, void (*cb)(void *data), void *data)
{
    control->closing = true;
    control->close_cb = cb;
    control->close_data = data;
    for (struct client *c = control->clients; c != NULL; c = c->next) {
        client_close(c);
    }
    unlink(control->path);
    uv_close((uv_handle_t *)&control->server, server_closed);
}
