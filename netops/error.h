/*
 * The one error-message helper of netops/: every function there reports failures as a negative
 * errno code plus a message in the caller's buffer (which may be NULL or empty).
 */
#ifndef MMC_NETOPS_ERROR_H
#define MMC_NETOPS_ERROR_H

#include <stddef.h>

/* Format into @errmsg (capacity @errlen); does nothing when @errmsg is NULL or @errlen 0. */
void netops_set_error(char *errmsg, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* MMC_NETOPS_ERROR_H */
