/* Credentials file: see credentials.h. */
#include "mysql/credentials.h"

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct load_state {
    struct mysql_credentials *out;
    bool have_user;
    const char *error_key;
};

/* Copy a value, dropping one pair of matching surrounding quotes (my.cnf allows them). */
static bool copy_value(char *dst, size_t size, const char *value)
{
    size_t len = strlen(value);
    if (len >= 2 && (value[0] == '"' || value[0] == '\'') && value[len - 1] == value[0]) {
        value++;
        len -= 2;
    }
    if (len >= size) {
        return false;
    }
    memcpy(dst, value, len);
    dst[len] = '\0';
    return true;
}

static int on_entry(void *user, const char *section, const char *name, const char *value)
{
    struct load_state *state = user;
    if (strcmp(section, "client") != 0) {
        return 1;
    }
    if (strcmp(name, "user") == 0) {
        if (!copy_value(state->out->user, sizeof(state->out->user), value) ||
            state->out->user[0] == '\0') {
            state->error_key = "user";
            return 0;
        }
        state->have_user = true;
    } else if (strcmp(name, "password") == 0) {
        if (!copy_value(state->out->password, sizeof(state->out->password), value)) {
            state->error_key = "password";
            return 0;
        }
    }
    return 1;
}

void mysql_credentials_wipe(struct mysql_credentials *credentials)
{
    explicit_bzero(credentials, sizeof(*credentials));
}

int mysql_credentials_load(const char *path, struct mysql_credentials *out, char *errmsg,
                           size_t errlen)
{
    mysql_credentials_wipe(out);
    /* Check the mode of the file we actually read (no race between stat and open). */
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int err = errno;
        snprintf(errmsg, errlen, "%s: cannot open the MySQL credentials file: %s", path,
                 strerror(err));
        return -err;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int err = errno;
        close(fd);
        snprintf(errmsg, errlen, "%s: cannot stat: %s", path, strerror(err));
        return -err;
    }
    if (st.st_mode & 077) {
        close(fd);
        snprintf(errmsg, errlen,
                 "%s: mode %04o lets group or others read the MySQL password; run "
                 "`chmod 600 %s`",
                 path, (unsigned)(st.st_mode & 07777), path);
        return -EPERM;
    }
    FILE *file = fdopen(fd, "r");
    if (file == NULL) {
        int err = errno;
        close(fd);
        snprintf(errmsg, errlen, "%s: cannot read: %s", path, strerror(err));
        return -err;
    }
    struct load_state state = {.out = out};
    int rc = ini_parse_file(file, on_entry, &state);
    fclose(file);
    if (rc < 0) {
        snprintf(errmsg, errlen, "%s: cannot read", path);
        mysql_credentials_wipe(out);
        return -EIO;
    }
    if (state.error_key != NULL) {
        snprintf(errmsg, errlen, "%s:%d: [client] %s is empty or longer than %zu bytes", path, rc,
                 state.error_key,
                 strcmp(state.error_key, "user") == 0 ? sizeof(out->user) - 1
                                                      : sizeof(out->password) - 1);
        mysql_credentials_wipe(out);
        return -EINVAL;
    }
    if (rc > 0) {
        snprintf(errmsg, errlen,
                 "%s:%d: not INI syntax (expected [client] with user= and "
                 "password=)",
                 path, rc);
        mysql_credentials_wipe(out);
        return -EINVAL;
    }
    if (!state.have_user) {
        snprintf(errmsg, errlen, "%s: no user= in a [client] section", path);
        mysql_credentials_wipe(out);
        return -EINVAL;
    }
    return 0;
}
