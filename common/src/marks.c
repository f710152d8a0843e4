/* marks.c - one file per idempotence mark (see marks.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include "pec/file.h"
#include "pec/marks.h"

#define MARK_KEY_MAX 100

/* mark_path - dir/key into path; -1 with err when the key is unusable as a file name */
static int mark_path(const char *dir, const char *key, char *path, size_t size, struct pec_error *err)
{
    size_t len = strlen(key);
    int n;

    if (len == 0 || len > MARK_KEY_MAX || key[0] == '.' ||
        strspn(key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789:._-") != len) {
        pec_error_set(err, PEC_ERR_INVALID, "marks: unusable key \"%.100s\"", key);
        return -1;
    }
    n = snprintf(path, size, "%s/%s", dir, key);
    if (n < 0 || (size_t)n >= size) {
        pec_error_set(err, PEC_ERR_INVALID, "marks: folder name too long");
        return -1;
    }
    return 0;
}

/* pec_marks_prepare - mkdir unless present */
int pec_marks_prepare(const char *dir, struct pec_error *err)
{
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        pec_error_set(err, PEC_ERR_TEMPORARY, "marks: mkdir %s: %s", dir, strerror(errno));
        return -1;
    }
    return 0;
}

/* pec_mark_check - a non-empty file is a mark */
int pec_mark_check(const char *dir, const char *key, struct pec_error *err)
{
    char path[4096];
    struct stat st;

    if (mark_path(dir, key, path, sizeof(path), err) < 0)
        return -1;
    if (stat(path, &st) < 0) {
        if (errno == ENOENT)
            return 0;
        pec_error_set(err, PEC_ERR_TEMPORARY, "marks: %s: %s", path, strerror(errno));
        return -1;
    }
    return st.st_size > 0;
}

/* pec_mark_set - a mark without a value */
int pec_mark_set(const char *dir, const char *key, struct pec_error *err)
{
    return pec_mark_set_value(dir, key, NULL, err);
}

/* pec_mark_set_value - give the file its content (a lock may have created it empty; a value replaces
 * what it held), then make it durable: the file and the folder entry are fsynced, so a crash after the
 * mark does not undo it.  A value is written over the old one (a new descriptor is at offset 0), then
 * the file is cut to its length: a process killed in between leaves the new value as the first line,
 * never an empty file (which would read as "not marked") */
int pec_mark_set_value(const char *dir, const char *key, const char *value, struct pec_error *err)
{
    char path[4096], line[PEC_MARK_VALUE_MAX + 2];
    struct stat st;
    int fd, n;

    if (mark_path(dir, key, path, sizeof(path), err) < 0)
        return -1;
    n = snprintf(line, sizeof(line), "%s\n", value != NULL ? value : "1");
    if (n < 2 || (size_t)n >= sizeof(line) || strchr(line, '\n') != line + n - 1) {
        pec_error_set(err, PEC_ERR_INVALID, "marks: %s: unusable value", key);
        return -1;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
        ((st.st_size == 0 || value != NULL) &&
         (pec_file_write_all(fd, line, (size_t)n) < 0 || ftruncate(fd, n) < 0)) || fsync(fd) < 0) {
        pec_error_set(err, PEC_ERR_TEMPORARY, "marks: %s: %s", path, fd >= 0 && !S_ISREG(st.st_mode) ?
                      "not a regular file" : strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (close(fd) < 0) {
        pec_error_set(err, PEC_ERR_TEMPORARY, "marks: close %s: %s", path, strerror(errno));
        return -1;
    }
    /* a new file (or one the lock created empty) has its folder entry synced too: once per mark */
    if (st.st_size == 0 && pec_file_sync_path(dir) < 0) {
        pec_error_set(err, PEC_ERR_TEMPORARY, "marks: fsync %s: %s", dir, strerror(errno));
        return -1;
    }
    return 0;
}

/* pec_mark_get - the first line of the mark's file */
int pec_mark_get(const char *dir, const char *key, char *value, size_t size, struct pec_error *err)
{
    char path[4096], line[PEC_MARK_VALUE_MAX + 2];
    ssize_t n;
    int fd;

    if (mark_path(dir, key, path, sizeof(path), err) < 0)
        return -1;
    if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
        if (errno == ENOENT)
            return 0;
        pec_error_set(err, PEC_ERR_TEMPORARY, "marks: %s: %s", path, strerror(errno));
        return -1;
    }
    n = read(fd, line, sizeof(line) - 1);
    close(fd);
    if (n < 0) {
        pec_error_set(err, PEC_ERR_TEMPORARY, "marks: %s: %s", path, strerror(errno));
        return -1;
    }
    if (n == 0)
        return 0; /* locked, never marked */
    line[n] = '\0';
    line[strcspn(line, "\n")] = '\0';
    if (strlen(line) >= size) {
        pec_error_set(err, PEC_ERR_INVALID, "marks: %s: value longer than %zu", path, size - 1);
        return -1;
    }
    memcpy(value, line, strlen(line) + 1);
    return 1;
}

/* pec_mark_lock - flock the key's file, creating it empty */
int pec_mark_lock(const char *dir, const char *key, struct pec_error *err)
{
    char path[4096];
    int fd;

    if (mark_path(dir, key, path, sizeof(path), err) < 0)
        return -1;
    for (;;) {
        struct stat held, named;

        if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0) {
            pec_error_set(err, PEC_ERR_TEMPORARY, "marks: %s: %s", path, strerror(errno));
            return -1;
        }
        while (flock(fd, LOCK_EX) < 0) {
            if (errno != EINTR) {
                pec_error_set(err, PEC_ERR_TEMPORARY, "marks: lock %s: %s", path, strerror(errno));
                close(fd);
                return -1;
            }
        }
        /* the sweep may have unlinked the file while we waited: a lock on a file no longer named is no
         * lock at all (the next delivery would create and lock a new one), so take it again */
        if (fstat(fd, &held) == 0 && lstat(path, &named) == 0 && held.st_ino == named.st_ino &&
            held.st_dev == named.st_dev)
            return fd;
        close(fd);
    }
}

/* pec_mark_unlock - closing the descriptor drops the flock */
void pec_mark_unlock(int *fd)
{
    if (fd == NULL || *fd < 0)
        return;
    close(*fd);
    *fd = -1;
}

/* pec_marks_sweep - unlink old entries (never the folder's own dot files) */
int pec_marks_sweep(const char *dir, time_t before, struct pec_error *err)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    struct stat st;
    int removed = 0;

    if (d == NULL) {
        if (errno == ENOENT)
            return 0;
        pec_error_set(err, PEC_ERR_TEMPORARY, "marks: open %s: %s", dir, strerror(errno));
        return -1;
    }
    while ((de = readdir(d)) != NULL) {
        int fd;

        if (de->d_name[0] == '.')
            continue;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_mtime >= before)
            continue;
        if (!S_ISREG(st.st_mode)) { /* nothing we wrote: a link or a folder is left to the owner */
            continue;
        }
        /* a file another delivery holds locked is in use: never pulled from under it */
        if ((fd = openat(dirfd(d), de->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)) < 0)
            continue;
        if (flock(fd, LOCK_EX | LOCK_NB) == 0 && unlinkat(dirfd(d), de->d_name, 0) == 0)
            removed++;
        close(fd);
    }
    closedir(d);
    return removed;
}

/* pec_marks_sweep_due - claim the sweep of this interval by touching dir/.swept */
int pec_marks_sweep_due(const char *dir, time_t now, time_t interval)
{
    char path[4096];
    struct stat st;
    int fd;

    if ((size_t)snprintf(path, sizeof(path), "%s/.swept", dir) >= sizeof(path))
        return 0;
    if (stat(path, &st) == 0 && st.st_mtime > now - interval && st.st_mtime <= now)
        return 0;
    if ((fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0)
        return 0;
    futimens(fd, NULL);
    close(fd);
    return 1;
}
