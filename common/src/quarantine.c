/* quarantine.c - infected messages kept as files (see quarantine.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>
#include "pec/buf.h"
#include "pec/file.h"
#include "pec/log.h"
#include "pec/quarantine.h"
#include "pec/text.h"

/* pec_quarantine_name - sanitised identificativo and a random suffix */
void pec_quarantine_name(const char *identificativo, char out[PEC_QUARANTINE_NAME_MAX])
{
    static const char safe[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.@_-";
    const char *id = identificativo != NULL && *identificativo != '\0' ? identificativo : "senza-identificativo";
    unsigned char rnd[8];
    char hex[17];
    size_t n = 0;

    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
        pec_panic("quarantine: no random numbers");
    pec_hex(rnd, sizeof(rnd), hex);
    for (; *id != '\0' && n < 120; id++)
        out[n++] = strchr(safe, *id) != NULL ? *id : '_';
    if (out[0] == '.')
        out[0] = '_';
    snprintf(out + n, PEC_QUARANTINE_NAME_MAX - n, ".%s", hex);
}

/* same_content - the file at fd holds exactly msg */
static int same_content(int fd, const void *msg, size_t len)
{
    struct pec_buf b = PEC_BUF_INIT;
    char chunk[65536];
    ssize_t n;
    int same;

    while ((n = read(fd, chunk, sizeof(chunk))) > 0)
        pec_buf_append(&b, chunk, (size_t)n);
    same = n == 0 && b.len == len && (len == 0 || memcmp(b.data, msg, len) == 0);
    pec_buf_release(&b);
    return same;
}

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
    if (name == NULL || *name == '\0' || name[0] == '.' || strchr(name, '/') != NULL) {
        pec_error_set(err, PEC_ERR_INTERNAL, "quarantine: unusable name");
        return -1;
    }
    pec_quarantine_ref(dir, name, path, sizeof(path));
    if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640)) < 0) {
        if (errno == EEXIST && (fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) >= 0) {
            int same = same_content(fd, msg, len);
            close(fd);
            if (same)
                return 0; /* a retry that wrote it before */
            pec_error_set(err, PEC_ERR_INTERNAL, "quarantine %s exists with other content: not overwritten", path);
            return -1;
        }
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
