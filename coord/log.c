/* The daemon's line logger; see log.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "coord/clock.h"
#include "coord/log.h"

static char log_node_id[32] = "-";
static enum log_level log_min_level = LOG_LEVEL_INFO;
static FILE *log_stream;

static const char *const level_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};

void log_setup(const char *node_id, enum log_level min_level)
{
    snprintf(log_node_id, sizeof log_node_id, "%s", node_id != NULL ? node_id : "-");
    log_min_level = min_level;
}

void log_set_stream(FILE *stream)
{
    log_stream = stream;
}

int log_level_parse(const char *text, enum log_level *out)
{
    for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++) {
        if (strcasecmp(text, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -EINVAL;
}

void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
    if (level < log_min_level) {
        return;
    }
    char line[2048];
    uint64_t wall = clock_wall_ms();
    uint64_t boot = clock_boottime_ms();
    time_t secs = (time_t)(wall / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ %llu.%03u %s %s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     (unsigned)(wall % 1000), (unsigned long long)(boot / 1000),
                     (unsigned)(boot % 1000), log_node_id, level_names[level]);
    if (n < 0) {
        return;
    }
    size_t used = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    int m = vsnprintf(line + used, sizeof line - used, fmt, ap);
    if (m > 0) {
        used += (size_t)m < sizeof line - used ? (size_t)m : sizeof line - used - 1;
    }
    if (used >= sizeof line - 1) {
        used = sizeof line - 2;
    }
    line[used++] = '\n';
    FILE *out = log_stream != NULL ? log_stream : stderr;
    fflush(out);
    ssize_t ignored = write(fileno(out), line, used);
    (void)ignored;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(level, fmt, ap);
    va_end(ap);
}
