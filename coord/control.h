/*
 * The control socket: a Unix stream socket on which mmctl (or any tool) sends one JSON request
 * per line and reads one JSON response per line. Access is by file mode: the socket is 0660,
 * owned by root and the configured group, so only root and that group can connect at all.
 *
 * Requests are objects with a string "cmd" ({"cmd":"status"}); responses are objects with a
 * boolean "ok" and, when it is false, a string "error". A malformed request (not JSON, not an
 * object, no "cmd", a line longer than CONTROL_LINE_MAX) gets an error response, never a crash;
 * an over-long line also closes the connection, since its end cannot be found safely.
 * control_handle_line() is the pure part and is fuzzed (tests/fuzz/fuzz_control.c).
 */
#ifndef MMC_CONTROL_H
#define MMC_CONTROL_H

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>
#include <uv.h>

#define CONTROL_LINE_MAX    65536
#define CONTROL_MAX_CLIENTS 32

/* Answer one request: @cmd is the request's "cmd", @request the whole object (borrowed),
 * @peer_uid the connecting process's uid (SO_PEERCRED). Returns a new reference to the
 * response object, which must hold "ok"; NULL is answered as an internal error. */
typedef json_t *(*control_handler)(void *data, const char *cmd, json_t *request, uid_t peer_uid);

/* Parse one request line (without its newline), dispatch it, and return the response as a
 * malloc'd NUL-terminated JSON text without newline (never NULL unless out of memory). */
char *control_handle_line(const char *line, size_t len, control_handler handler, void *data,
                          uid_t peer_uid);

/* A response {"ok":false,"error":message}. */
json_t *control_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

struct control;

/* Listen on @path. A stale socket file left by a dead daemon is replaced; a socket another
 * process still answers on is not (-EADDRINUSE: another daemon runs). The parent directory
 * is created (0755) if missing. @group: name of the group owning the socket, or empty/NULL
 * for root's group. Returns 0, or a negative error with errmsg naming the path and cause. */
int control_start(uv_loop_t *loop, const char *path, const char *group, control_handler handler,
                  void *data, struct control **out, char *errmsg, size_t errlen);

/* Stop listening, close every client, unlink the socket file; @cb runs when all handles are
 * closed (the control object is freed before it). */
void control_close(struct control *control, void (*cb)(void *data), void *data);

#endif /* MMC_CONTROL_H */
