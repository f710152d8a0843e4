/* outbox.c - durable spool of owed messages: written by the milter, emptied by the emitter. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "pec/outbox.h"
#include "pec/buf.h"
#include "pec/file.h"
#include "pec/log.h"
#include "pec/text.h"

#define ENTRY_MAGIC "pec-outbox 1 "

struct pec_outbox_entry {
    char dir[2048];
    char key[PEC_OUTBOX_KEY_MAX];
    char tmp[4096];
    int count;
    int committed;
};

/* write_file_durably - create path with data and fsync it */
static int write_file_durably(const char *path, const void *a, size_t alen, const void *b, size_t blen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0640);
    const void *parts[2] = { a, b };
    size_t lens[2] = { alen, blen };

    if (fd < 0)
        return -1;
    for (int i = 0; i < 2; i++) {
        if (pec_file_write_all(fd, parts[i], lens[i]) < 0) {
            close(fd);
            return -1;
        }
    }
    if (fsync(fd) < 0) {
        close(fd);
        return -1;
    }
    return close(fd);
}

/* pec_outbox_entry_new - a temporary folder for a new entry */
struct pec_outbox_entry *pec_outbox_entry_new(const char *dir, struct pec_error *err)
{
    struct pec_outbox_entry *e = calloc(1, sizeof(*e));
    unsigned char rnd[16];

    if (e == NULL)
        pec_panic("out of memory");
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
        pec_panic("outbox: no random numbers");
    pec_hex(rnd, sizeof(rnd), e->key);
    snprintf(e->dir, sizeof(e->dir), "%s", dir);
    snprintf(e->tmp, sizeof(e->tmp), "%s/tmp.%s", dir, e->key);
    if (mkdir(e->tmp, 0750) < 0) {
        pec_error_set(err, PEC_ERR_TEMPORARY, "outbox: mkdir %s: %s", e->tmp, strerror(errno));
        free(e);
        return NULL;
    }
    return e;
}

/* pec_outbox_entry_key - the entry's key */
const char *pec_outbox_entry_key(const struct pec_outbox_entry *e)
{
    return e->key;
}

/* pec_outbox_entry_add - one owed message */
int pec_outbox_entry_add(struct pec_outbox_entry *e, const char *rcpt, const void *msg, size_t len,
                         const void *facts, size_t facts_len, struct pec_error *err)
{
    char path[4200], head[600];
    int hl;

    if (strpbrk(rcpt, "\r\n") != NULL) {
        pec_error_set(err, PEC_ERR_INVALID, "outbox: bad recipient");
        return -1;
    }
    hl = snprintf(head, sizeof(head), ENTRY_MAGIC "%s\n", rcpt);
    snprintf(path, sizeof(path), "%s/%04d.facts", e->tmp, ++e->count);
    if (facts_len > 0 && write_file_durably(path, facts, facts_len, "", 0) < 0) {
        pec_error_set(err, PEC_ERR_TEMPORARY, "outbox: write %s: %s", path, strerror(errno));
        return -1;
    }
    snprintf(path, sizeof(path), "%s/%04d.msg", e->tmp, e->count);
    if (hl < 0 || (size_t)hl >= sizeof(head) || write_file_durably(path, head, (size_t)hl, msg, len) < 0) {
        pec_error_set(err, PEC_ERR_TEMPORARY, "outbox: write %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* pec_outbox_entry_quarantine - flag the entry so the emitter keeps the queued copy under name */
int pec_outbox_entry_quarantine(struct pec_outbox_entry *e, const char *name, struct pec_error *err)
{
    char path[4200];

    if (*name == '\0' || strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-@_") !=
                              strlen(name) || name[0] == '.') {
        pec_error_set(err, PEC_ERR_INVALID, "outbox: unusable quarantine name");
        return -1;
    }
    snprintf(path, sizeof(path), "%s/quarantine", e->tmp);
    if (write_file_durably(path, name, strlen(name), "", 0) < 0) {
        pec_error_set(err, PEC_ERR_TEMPORARY, "outbox: write %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* pec_outbox_entry_commit - rename into place and flush the folder */
int pec_outbox_entry_commit(struct pec_outbox_entry *e, struct pec_error *err)
{
    char final[4096];

    snprintf(final, sizeof(final), "%s/%s", e->dir, e->key);
    if (pec_file_sync_path(e->tmp) < 0 || rename(e->tmp, final) < 0 || pec_file_sync_path(e->dir) < 0) {
        pec_error_set(err, PEC_ERR_TEMPORARY, "outbox: commit %s: %s", final, strerror(errno));
        return -1;
    }
    e->committed = 1;
    return 0;
}

/* remove_tree - delete a flat folder and its files */
static void remove_tree(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *de;
    char file[4400];

    if (d == NULL)
        return;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(file, sizeof(file), "%s/%s", path, de->d_name);
        unlink(file);
    }
    closedir(d);
    rmdir(path);
}

/* pec_outbox_entry_free - drop an uncommitted entry */
void pec_outbox_entry_free(struct pec_outbox_entry **e)
{
    if (e == NULL || *e == NULL)
        return;
    if (!(*e)->committed)
        remove_tree((*e)->tmp);
    free(*e);
    *e = NULL;
}

/* read_all - a whole file */
static int read_all(const char *path, struct pec_buf *out)
{
    int fd = open(path, O_RDONLY);
    char chunk[65536];
    ssize_t n;

    if (fd < 0)
        return -1;
    while ((n = read(fd, chunk, sizeof(chunk))) > 0)
        pec_buf_append(out, chunk, (size_t)n);
    close(fd);
    return n < 0 ? -1 : 0;
}

/* cmp_names - sort entry files by name (their sequence) */
static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* set_aside - move an entry's file (and its facts) out of the way, to dir/<why>/<key>.<file>, so the rest
 * of the entry goes on; kept for the operator */
static void set_aside(const char *dir, const char *key, const char *file, const char *facts_file, const char *why)
{
    char sub[4096], to[4600];
    const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;

    snprintf(sub, sizeof(sub), "%s/%s", dir, why);
    mkdir(sub, 0750);
    snprintf(to, sizeof(to), "%s/%s.%s", sub, key, base);
    if (rename(file, to) < 0) {
        pec_warn("outbox: cannot move %s to %s: %s", file, to, strerror(errno));
        return;
    }
    snprintf(to, sizeof(to), "%s/%s.%.*s.facts", sub, key, (int)(strlen(base) - 4), base);
    if (rename(facts_file, to) < 0 && errno != ENOENT)
        pec_warn("outbox: cannot move %s: %s", facts_file, strerror(errno));
    pec_file_sync_path(sub);
}

/* process_one - inject one .msg file and delete it once sent; 0 done (sent, or set aside), -1 retry */
static int process_one(const char *dir, const char *key, const char *file, const struct pec_outbox_sink *sink,
                       struct pec_error *err)
{
    struct pec_buf b = PEC_BUF_INIT, facts = PEC_BUF_INIT;
    char *nl, facts_file[4400];
    int rc = -1, sent;

    /* NNNN.facts beside NNNN.msg: what to trace once it is sent (none for an entry without one) */
    snprintf(facts_file, sizeof(facts_file), "%.*s.facts", (int)(strlen(file) - 4), file);
    if (read_all(facts_file, &facts) < 0 && errno != ENOENT) {
        pec_error_set(err, PEC_ERR_TEMPORARY, "outbox: read %s: %s", facts_file, strerror(errno));
    } else if (read_all(file, &b) < 0) {
        pec_error_set(err, PEC_ERR_TEMPORARY, "outbox: read %s: %s", file, strerror(errno));
    } else if (b.len < sizeof(ENTRY_MAGIC) || strncmp(b.data, ENTRY_MAGIC, sizeof(ENTRY_MAGIC) - 1) != 0 ||
               (nl = memchr(b.data, '\n', b.len)) == NULL) {
        /* not something a milter wrote: it would block the entry for ever */
        pec_warn("outbox: %s is damaged: set aside in damaged/, not sent", file);
        set_aside(dir, key, file, facts_file, "damaged");
        rc = 0;
    } else {
        *nl = '\0';
        sent = sink->inject(sink->ctx, b.data + sizeof(ENTRY_MAGIC) - 1, nl + 1, b.len - (size_t)(nl + 1 - b.data),
                            facts.data, facts.len);
        if (sent < 0) {
            pec_error_set(err, PEC_ERR_TEMPORARY, "outbox: injection of %s failed", file);
        } else if (sent > 0) { /* refused for good, and traced so by the sink */
            pec_warn("outbox: %s refused for good: set aside in refused/", file);
            set_aside(dir, key, file, facts_file, "refused");
            rc = 0;
        } else if (unlink(file) < 0 || (unlink(facts_file) < 0 && errno != ENOENT)) {
            pec_error_set(err, PEC_ERR_TEMPORARY, "outbox: remove %s: %s", file, strerror(errno));
        } else {
            rc = 0;
        }
    }
    pec_buf_release(&b);
    pec_buf_release(&facts);
    return rc;
}

/* process_files - every .msg file of an entry in order, each on its own: one that fails does not hold
 * back the others.  0 when all are done, -1 when one must be retried */
static int process_files(const char *dir, const char *key, const char *path, const struct pec_outbox_sink *sink,
                         struct pec_error *err)
{
    DIR *d = opendir(path);
    struct dirent *de;
    char **names = NULL, file[4400];
    size_t n = 0;
    int rc = 0;

    if (d == NULL) {
        pec_error_set(err, PEC_ERR_TEMPORARY, "outbox: open %s: %s", path, strerror(errno));
        return -1;
    }
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        if (l > 4 && strcmp(de->d_name + l - 4, ".msg") == 0) {
            names = realloc(names, (n + 1) * sizeof(*names));
            if (names == NULL || (names[n++] = strdup(de->d_name)) == NULL)
                pec_panic("out of memory");
        }
    }
    closedir(d);
    if (n > 0)
        qsort(names, n, sizeof(*names), cmp_names);
    for (size_t i = 0; i < n; i++) {
        struct pec_error one = { 0 };

        snprintf(file, sizeof(file), "%s/%s", path, names[i]);
        if (process_one(dir, key, file, sink, &one) < 0) {
            if (rc == 0)
                *err = one;
            rc = -1;
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

/* is_key - 32 lower-case hex digits, as pec_outbox_entry_new makes them */
static int is_key(const char *name)
{
    return strlen(name) == 32 && strspn(name, "0123456789abcdef") == 32;
}

/* lock_entry - the entry's exclusive lock (held while it is worked on): a descriptor, -2 when another
 * process holds it, -1 when the entry is gone */
static int lock_entry(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

    if (fd < 0)
        return -1;
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        close(fd);
        return -2;
    }
    return fd;
}

/* work_entry - the locked entry at path: quarantine of the queued copy (when asked and given), the
 * queued flag, the files, then done/.  0 done, 1 queued and pending, -1 retry with the message */
static int work_entry(const char *dir, const char *key, const char *path, const void *queued_msg,
                      size_t queued_len, const struct pec_outbox_sink *sink, struct pec_error *err)
{
    char flag[4200], done[4200], donedir[4096];
    struct stat st;

    snprintf(flag, sizeof(flag), "%s/quarantine", path);
    if (stat(flag, &st) == 0) {
        struct pec_buf name = PEC_BUF_INIT;
        int rc = queued_msg == NULL || read_all(flag, &name) < 0 || name.len == 0
                     ? -1
                     : sink->quarantine(sink->ctx, name.data, queued_msg, queued_len);
        pec_buf_release(&name);
        if (rc < 0) {
            pec_error_set(err, PEC_ERR_TEMPORARY, "outbox: quarantine of %s failed", key);
            return -1;
        }
        if (unlink(flag) < 0 || pec_file_sync_path(path) < 0) {
            pec_error_set(err, PEC_ERR_TEMPORARY, "outbox: %s: %s", flag, strerror(errno));
            return -1;
        }
    }
    /* the marker came, so Postfix queued the message: from here on the emitter owns the entry and
     * retries it itself (pec_outbox_retry), whatever becomes of the marker */
    snprintf(flag, sizeof(flag), "%s/queued", path);
    if (stat(flag, &st) < 0) {
        int fd = open(flag, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
        if (fd < 0 || fsync(fd) < 0 || close(fd) < 0 || pec_file_sync_path(path) < 0) {
            pec_error_set(err, PEC_ERR_TEMPORARY, "outbox: %s: %s", flag, strerror(errno));
            if (fd >= 0)
                close(fd);
            return -1;
        }
    }
    if (process_files(dir, key, path, sink, err) < 0)
        return 1;
    unlink(flag);
    snprintf(donedir, sizeof(donedir), "%s/done", dir);
    snprintf(done, sizeof(done), "%s/%s", donedir, key);
    mkdir(donedir, 0750);
    if (rename(path, done) < 0 || pec_file_sync_path(donedir) < 0) {
        pec_error_set(err, PEC_ERR_TEMPORARY, "outbox: finish %s: %s", key, strerror(errno));
        return 1;
    }
    return 0;
}

/* pec_outbox_process - the emitter's work for one marker delivery */
int pec_outbox_process(const char *dir, const char *key, const void *queued_msg, size_t queued_len,
                   const struct pec_outbox_sink *sink, struct pec_error *err)
{
    char path[4096], done[4200], aside[4200];
    struct stat st;
    int fd, rc;

    if (!is_key(key)) {
        pec_warn("outbox: marker with a malformed key \"%.64s\" ignored", key);
        return 0;
    }
    snprintf(path, sizeof(path), "%s/%s", dir, key);
    snprintf(done, sizeof(done), "%s/done/%s", dir, key);
    snprintf(aside, sizeof(aside), "%s/unclaimed/%s", dir, key);
    if (stat(path, &st) < 0 && errno == ENOENT && stat(aside, &st) == 0) {
        if (rename(aside, path) < 0) {
            pec_error_set(err, PEC_ERR_TEMPORARY, "outbox: cannot bring %s back: %s", aside, strerror(errno));
            return -1;
        }
        pec_warn("outbox: the marker of %s came after the entry was set aside as unclaimed: serving it now", key);
    }
    if ((fd = lock_entry(path)) == -2) {
        pec_error_set(err, PEC_ERR_TEMPORARY, "outbox: %s is being served by another process", key);
        return -1;
    }
    if (fd < 0) {
        if (errno != ENOENT) { /* not "no such entry": Postfix must retry, never drop the marker */
            pec_error_set(err, PEC_ERR_TEMPORARY, "outbox: %s: %s", path, strerror(errno));
            return -1;
        }
        if (stat(done, &st) < 0)
            pec_warn("outbox: marker for unknown entry %s ignored", key);
        return 0; /* done before: Postfix retried a marker we had already served */
    }
    /* served while we waited for the lock? */
    rc = stat(path, &st) < 0 ? 0 : work_entry(dir, key, path, queued_msg, queued_len, sink, err);
    close(fd);
    return rc;
}

/* open_outbox - the outbox folder, for a walk over its entries; NULL with err */
static DIR *open_outbox(const char *dir, struct pec_error *err)
{
    DIR *d = opendir(dir);

    if (d == NULL)
        pec_error_set(err, PEC_ERR_TEMPORARY, "outbox: open %s: %s", dir, strerror(errno));
    return d;
}

/* entry_queued - the entry at path has its "queued" flag: its marker came */
static int entry_queued(const char *path)
{
    char flag[4500];
    struct stat st;

    snprintf(flag, sizeof(flag), "%s/queued", path);
    return stat(flag, &st) == 0;
}

/* pec_outbox_retry - serve again every queued entry not finished yet (not locked by another process) */
int pec_outbox_retry(const char *dir, const struct pec_outbox_sink *sink, unsigned *pending_r, struct pec_error *err)
{
    DIR *d = open_outbox(dir, err);
    struct dirent *de;
    unsigned done = 0, pending = 0;

    if (d == NULL)
        return -1;
    while ((de = readdir(d)) != NULL) {
        char path[4096];
        struct pec_error one = { 0 };
        int fd, rc;

        if (!is_key(de->d_name))
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (!entry_queued(path) || (fd = lock_entry(path)) < 0)
            continue; /* not queued yet (its marker has not come), or someone is on it */
        rc = !entry_queued(path) ? 0 : work_entry(dir, de->d_name, path, NULL, 0, sink, &one);
        close(fd);
        if (rc == 0) {
            done++;
        } else {
            pending++;
            pec_warn("outbox: %s still pending: %s", de->d_name, one.msg[0] ? one.msg : "not sent");
        }
    }
    closedir(d);
    if (pending_r)
        *pending_r = pending;
    return (int)done;
}

/* old_dir - a folder last changed before cut */
static int old_dir(int dfd, const char *name, time_t cut)
{
    struct stat st;

    return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode) && st.st_mtime < cut;
}

/* sweep_done - remove served entries older than cut from dir/done */
static unsigned sweep_done(const char *dir, time_t cut)
{
    char donedir[4096], path[4400];
    DIR *d;
    struct dirent *de;
    unsigned n = 0;

    snprintf(donedir, sizeof(donedir), "%s/done", dir);
    if ((d = opendir(donedir)) == NULL)
        return 0;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' || !old_dir(dirfd(d), de->d_name, cut))
            continue;
        snprintf(path, sizeof(path), "%s/%s", donedir, de->d_name);
        remove_tree(path);
        n++;
    }
    closedir(d);
    return n;
}

/* pec_outbox_sweep - see outbox.h */
int pec_outbox_sweep(const char *dir, time_t now, time_t keep_done, time_t keep_unclaimed,
                 struct pec_outbox_sweep_counts *counts, struct pec_error *err)
{
    char path[4400], aside[4400];
    DIR *d;
    struct dirent *de;

    memset(counts, 0, sizeof(*counts));
    if ((d = open_outbox(dir, err)) == NULL)
        return -1;
    while ((de = readdir(d)) != NULL) {
        int partial = strncmp(de->d_name, "tmp.", 4) == 0;

        /* only our own entries (a key, or tmp.<key>): never lost+found or an operator's folder */
        if (!is_key(partial ? de->d_name + 4 : de->d_name) || !old_dir(dirfd(d), de->d_name, now - keep_unclaimed))
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (!partial && entry_queued(path))
            continue; /* its marker came: pending, retried by the emitter (pec_outbox_retry) */
        if (partial) {
            pec_warn("outbox: removing %s, an entry a milter never finished writing", path);
            remove_tree(path);
            counts->partial++;
            continue;
        }
        snprintf(aside, sizeof(aside), "%s/unclaimed", dir);
        mkdir(aside, 0750);
        snprintf(aside, sizeof(aside), "%s/unclaimed/%s", dir, de->d_name);
        if (rename(path, aside) < 0) {
            pec_warn("outbox: cannot set %s aside: %s", path, strerror(errno));
            continue;
        }
        pec_warn("outbox: entry %s set aside in unclaimed/: not served in %ld hours (no marker came, or it "
                 "failed every time): what it still holds was not sent", de->d_name, (long)(keep_unclaimed / 3600));
        counts->unclaimed++;
    }
    closedir(d);
    counts->done = sweep_done(dir, now - keep_done);
    return 0;
}

/* count_messages - the .msg files of dir/sub */
static unsigned count_messages(const char *dir, const char *sub)
{
    char path[4400];
    DIR *d;
    struct dirent *de;
    unsigned n = 0;
    size_t len;

    snprintf(path, sizeof(path), "%s/%s", dir, sub);
    if ((d = opendir(path)) == NULL)
        return 0;
    while ((de = readdir(d)) != NULL)
        if ((len = strlen(de->d_name)) > 4 && strcmp(de->d_name + len - 4, ".msg") == 0)
            n++;
    closedir(d);
    return n;
}

/* pec_outbox_count - see outbox.h */
int pec_outbox_count(const char *dir, struct pec_outbox_counts *counts, struct pec_error *err)
{
    char path[4400];
    DIR *d;
    struct dirent *de;

    memset(counts, 0, sizeof(*counts));
    if ((d = open_outbox(dir, err)) == NULL)
        return -1;
    while ((de = readdir(d)) != NULL) {
        if (!is_key(de->d_name))
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (entry_queued(path))
            counts->queued++;
        else
            counts->waiting++;
    }
    closedir(d);
    snprintf(path, sizeof(path), "%s/unclaimed", dir);
    if ((d = opendir(path)) != NULL) {
        while ((de = readdir(d)) != NULL)
            counts->unclaimed += is_key(de->d_name);
        closedir(d);
    }
    counts->damaged = count_messages(dir, "damaged");
    counts->refused = count_messages(dir, "refused");
    return 0;
}
