/* file.h - writing files that must survive a crash: the loops and fsyncs every writer needs, once. */
#ifndef PEC_FILE_H
#define PEC_FILE_H

#include <stddef.h>
#include <sys/types.h>
#include "pec/error.h"

/* pec_file_write_all - all len bytes to fd, across short writes and EINTR: 0, or -1 with errno */
int pec_file_write_all(int fd, const void *data, size_t len);
/* pec_file_sync_path - fsync a file or a folder by its path (a folder: the names in it): 0, or -1 with errno */
int pec_file_sync_path(const char *path);
/* pec_file_replace - replace path with data, mode mode, all or nothing: a temporary file beside it,
 * fsynced, renamed over path; then its folder is fsynced, best effort (the new file is in place
 * already).  0, or -1 with err, path untouched */
int pec_file_replace(const char *path, const void *data, size_t len, mode_t mode, struct pec_error *err);

#endif
