/*
 * The daemon's logger: one line per event on stderr, with wall-clock time (for the operator
 * reading it next to other logs), the CLOCK_BOOTTIME time in seconds (what every duration in
 * mmcoord is measured with), the node id and a level. Every decision the daemon takes logs
 * its reason through here.
 *
 * Libraries under raft/, netops/ and mysql/ do not log: they return an error code and fill a
 * caller's errmsg buffer, and the caller decides what to say.
 */
#ifndef MMC_LOG_H
#define MMC_LOG_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

enum log_level {
    LOG_LEVEL_DEBUG = 0,
    LOG_LEVEL_INFO = 1,
    LOG_LEVEL_WARN = 2,
    LOG_LEVEL_ERROR = 3,
};

/* Set the node id printed on each line (copied, truncated to 31 bytes) and the lowest level
 * printed. Not thread-safe against concurrent log calls; call it before starting threads. */
void log_setup(const char *node_id, enum log_level min_level);

/* Write lines to @stream instead of stderr (tests). NULL restores stderr. */
void log_set_stream(FILE *stream);

/* Parse "debug", "info", "warn" or "error". Returns 0, or -EINVAL for anything else. */
int log_level_parse(const char *text, enum log_level *out);

/* Print one line at @level. A line is written with a single write so that concurrent
 * writers (the fencer, threads) never interleave within a line. */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vmsg(enum log_level level, const char *fmt, va_list ap);

#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)

#endif /* MMC_LOG_H */
