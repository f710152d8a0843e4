/* file.c - durable file writes (see file.h). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "pec/file.h"

/* pec_file_write_all - loop until everything is written */
int pec_file_write_all(int fd, const void *data, size_t len)
{
    const char *p = data;

    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = EIO;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* pec_file_sync_path - open read-only, fsync, close */
int pec_file_sync_path(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC), rc, saved;

    if (fd < 0)
        return -1;
    rc = fsync(fd);
    saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

/* pec_file_replace - write beside, fsync, rename, fsync the folder */
int pec_file_replace(const char *path, const void *data, size_t len, mode_t mode, struct pec_error *err)
{
    char tmp[4096], dir[4096];
    int fd;

    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= sizeof(tmp)) {
        pec_error_set(err, PEC_ERR_INVALID, "%s: path too long", path);
        return -1;
    }
    if ((fd = mkstemp(tmp)) < 0) {
        pec_error_set(err, PEC_ERR_INTERNAL, "cannot create a temporary file beside %s: %s", path, strerror(errno));
        return -1;
    }
    if (fchmod(fd, mode) < 0 || pec_file_write_all(fd, data, len) < 0 || fsync(fd) < 0) {
        pec_error_set(err, PEC_ERR_INTERNAL, "cannot write %s: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        return -1;
    }
    if (close(fd) < 0 || rename(tmp, path) < 0) {
        pec_error_set(err, PEC_ERR_INTERNAL, "cannot write %s: %s", tmp, strerror(errno));
        unlink(tmp);
        return -1;
    }
    snprintf(dir, sizeof(dir), "%s", path);
    (void)pec_file_sync_path(dirname(dir)); /* the rename itself on disk; the new file is in place anyway */
    return 0;
}
