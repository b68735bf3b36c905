/* The error-message helper of netops/; see error.h. */
#include <stdarg.h>
#include <stdio.h>

#include "netops/error.h"

void netops_set_error(char *errmsg, size_t errlen, const char *fmt, ...)
{
    if (errmsg == NULL || errlen == 0) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errmsg, errlen, fmt, ap);
    va_end(ap);
}
