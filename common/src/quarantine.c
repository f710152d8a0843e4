/* quarantine.c - infected messages kept as files (see quarantine.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "pec/file.h"
#include "pec/quarantine.h"

/* pec_quarantine_ref - where name is kept */
void pec_quarantine_ref(const char *dir, const char *name, char *ref, size_t ref_len)
{
    snprintf(ref, ref_len, "%s/%s.eml", dir ? dir : "", name);
}

/* pec_quarantine_write - keep one message */
int pec_quarantine_write(const char *dir, const char *name, const void *msg, size_t len, struct pec_error *err)
{
    char path[4096];
    int fd, rc;

    if (dir == NULL) {
        pec_error_set(err, PEC_ERR_INTERNAL, "virus found but no quarantine_dir configured");
        return -1;
    }
    pec_quarantine_ref(dir, name, path, sizeof(path));
    if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640)) < 0) {
        pec_error_set(err, PEC_ERR_TEMPORARY, "quarantine %s: %s", path, strerror(errno));
        return -1;
    }
    rc = pec_file_write_all(fd, msg, len) < 0 || fsync(fd) < 0 ? -1 : 0;
    if (close(fd) < 0)
        rc = -1;
    /* the new name must survive a crash as well as the bytes */
    if (rc == 0 && pec_file_sync_path(dir) < 0)
        rc = -1;
    if (rc < 0)
        pec_error_set(err, PEC_ERR_TEMPORARY, "quarantine %s: %s", path, strerror(errno));
    return rc;
}
