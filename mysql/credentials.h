/*
 * The coordinator's MySQL login, read from a my.cnf-style file:
 *
 *     [client]
 *     user = mmcoord
 *     password = "secret"
 *
 * The file must not be readable or writable by group or others (mode 0600 or stricter), as ssh
 * insists for keys: a password that other local users can read is no password. Other sections
 * and keys (host, port, socket...) are ignored, so the same file can serve the mariadb client
 * (`mariadb --defaults-extra-file=FILE`). The password never appears in an error message.
 */
#ifndef MMC_MYSQL_CREDENTIALS_H
#define MMC_MYSQL_CREDENTIALS_H

#include <stddef.h>

#include "mysql/conn.h"

/* Read @path into @out. Returns 0; -EPERM when group or others have access (errmsg names the
 * file, its mode and the chmod to run); -EINVAL when [client] lacks user (or a value is too
 * long; errmsg names file:line); -errno when the file cannot be read. A missing password means
 * an empty one. On error @out is wiped. */
int mysql_credentials_load(const char *path, struct mysql_credentials *out, char *errmsg,
                           size_t errlen);

/* Overwrite @credentials with zeros (explicit_bzero: not optimised away). */
void mysql_credentials_wipe(struct mysql_credentials *credentials);

#endif /* MMC_MYSQL_CREDENTIALS_H */
