/* test_outbox.c - the outbox's life: an entry committed by the milter is served once by the emitter
 * (a retried marker is recognised, an unknown one ignored), an uncommitted one leaves nothing, and
 * the sweep, only once they are old, removes served entries and partial writes and sets aside the
 * entries whose marker has not come (a marker that still comes is served from there). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "check.h"
#include "pec/outbox.h"

static int injected;
static char last_rcpt[256];

/* count_inject - the emitter's sink: remember what was sent */
static int count_inject(void *ctx, const char *rcpt, const void *msg, size_t len, const void *facts, size_t facts_len)
{
    (void)ctx;
    (void)msg;
    (void)len;
    injected++;
    snprintf(last_rcpt, sizeof(last_rcpt), "%s", rcpt);
    return 0;
}

static int fail_temporarily; /* inject fails (-1) for rcpt "flaky@..." while set */

/* picky_inject - refuses "refused@..." for good, fails "flaky@..." while fail_temporarily */
static int picky_inject(void *ctx, const char *rcpt, const void *msg, size_t len, const void *facts, size_t facts_len)
{
    if (strncmp(rcpt, "refused@", 8) == 0)
        return 1;
    if (strncmp(rcpt, "flaky@", 6) == 0 && fail_temporarily)
        return -1;
    return count_inject(ctx, rcpt, msg, len, facts, facts_len);
}

/* no_quarantine - not used here */
static int no_quarantine(void *ctx, const char *name, const void *msg, size_t len)
{
    (void)ctx;
    (void)name;
    (void)msg;
    (void)len;
    return -1;
}

/* exists - a path is there */
static int exists(const char *dir, const char *sub)
{
    char path[4400];
    struct stat st;

    snprintf(path, sizeof(path), "%s/%s", dir, sub);
    return stat(path, &st) == 0;
}

/* committed_entry - a committed entry with one message; its key into key */
static void committed_entry(const char *dir, char *key, size_t size)
{
    struct pec_error err = { 0 };
    struct pec_outbox_entry *e = pec_outbox_entry_new(dir, &err);

    CHECK(e != NULL);
    CHECK(pec_outbox_entry_add(e, "mario@pec-esempio.test", "Subject: x\r\n\r\nx\r\n", 17, NULL, 0, &err) == 0);
    snprintf(key, size, "%s", pec_outbox_entry_key(e));
    CHECK(pec_outbox_entry_commit(e, &err) == 0);
    pec_outbox_entry_free(&e);
    CHECK(e == NULL);
}

int main(void)
{
    char dir[] = "/tmp/pec-test-outbox.XXXXXX", served[PEC_OUTBOX_KEY_MAX], waiting[PEC_OUTBOX_KEY_MAX], sub[200], cmd[200];
    const struct pec_outbox_sink sink = { count_inject, no_quarantine, NULL };
    struct pec_outbox_sweep_counts n;
    struct pec_error err = { 0 };
    struct pec_outbox_entry *e;
    time_t now = time(NULL), day = 24 * 3600;

    if (mkdtemp(dir) == NULL)
        return 1;

    /* served once; the retried marker finds it done; an unknown key is ignored */
    committed_entry(dir, served, sizeof(served));
    CHECK(pec_outbox_process(dir, served, "m", 1, &sink, &err) == 0);
    CHECK(injected == 1);
    CHECK_STR(last_rcpt, "mario@pec-esempio.test");
    CHECK(pec_outbox_process(dir, served, "m", 1, &sink, &err) == 0);
    CHECK(injected == 1);
    CHECK(pec_outbox_process(dir, "0123456789abcdef0123456789abcdef", "m", 1, &sink, &err) == 0);
    CHECK(injected == 1);
    snprintf(sub, sizeof(sub), "done/%s", served);
    CHECK(exists(dir, sub));

    /* an entry the milter dropped (transaction failed) leaves nothing behind */
    e = pec_outbox_entry_new(dir, &err);
    CHECK(pec_outbox_entry_add(e, "x@pec-esempio.test", "m", 1, NULL, 0, &err) == 0);
    snprintf(sub, sizeof(sub), "tmp.%s", pec_outbox_entry_key(e));
    CHECK(exists(dir, sub));
    pec_outbox_entry_free(&e);
    CHECK(!exists(dir, sub));

    /* a committed entry whose marker has not come yet, and a partial write of a dead milter */
    committed_entry(dir, waiting, sizeof(waiting));
    snprintf(cmd, sizeof(cmd), "%s/tmp.deadbeefdeadbeefdeadbeefdeadbeef", dir);
    CHECK(mkdir(cmd, 0750) == 0);
    /* and a folder that is not ours (the outbox may be a mount root) */
    snprintf(cmd, sizeof(cmd), "%s/lost+found", dir);
    CHECK(mkdir(cmd, 0700) == 0);

    /* the metrics' counts: one waiting for its marker, the partial write and lost+found not counted */
    {
        struct pec_outbox_counts c;
        CHECK(pec_outbox_count(dir, &c, &err) == 0);
        CHECK(c.waiting == 1 && c.queued == 0 && c.unclaimed == 0 && c.damaged == 0 && c.refused == 0);
        CHECK(pec_outbox_count("/nonexistent/outbox", &c, &err) < 0);
    }

    /* young: nothing is removed */
    CHECK(pec_outbox_sweep(dir, now, 2 * day, 3 * day, &n, &err) == 0);
    CHECK(n.done == 0 && n.unclaimed == 0 && n.partial == 0);
    CHECK(exists(dir, waiting));
    snprintf(sub, sizeof(sub), "done/%s", served);
    CHECK(exists(dir, sub));

    /* two and a half days later: the served entry goes, the waiting one stays */
    CHECK(pec_outbox_sweep(dir, now + 2 * day + day / 2, 2 * day, 3 * day, &n, &err) == 0);
    CHECK(n.done == 1 && n.unclaimed == 0 && n.partial == 0);
    CHECK(!exists(dir, sub));
    CHECK(exists(dir, waiting));

    /* four days later: the partial write goes, the unclaimed entry is set aside, not lost */
    CHECK(pec_outbox_sweep(dir, now + 4 * day, 2 * day, 3 * day, &n, &err) == 0);
    CHECK(n.unclaimed == 1 && n.partial == 1);
    CHECK(!exists(dir, waiting));
    CHECK(!exists(dir, "tmp.deadbeefdeadbeefdeadbeefdeadbeef"));
    CHECK(exists(dir, "lost+found"));
    CHECK(exists(dir, "done"));
    snprintf(sub, sizeof(sub), "unclaimed/%s", waiting);
    CHECK(exists(dir, sub));
    /* the sweep leaves it there, whatever its age */
    CHECK(pec_outbox_sweep(dir, now + 40 * day, 2 * day, 3 * day, &n, &err) == 0);
    CHECK(n.unclaimed == 0 && exists(dir, sub));
    {
        struct pec_outbox_counts c;
        CHECK(pec_outbox_count(dir, &c, &err) == 0);
        CHECK(c.waiting == 0 && c.unclaimed == 1);
    }
    /* its marker after all: served from there, once */
    CHECK(pec_outbox_process(dir, waiting, "m", 1, &sink, &err) == 0);
    CHECK(injected == 2);
    CHECK(!exists(dir, sub));
    snprintf(sub, sizeof(sub), "done/%s", waiting);
    CHECK(exists(dir, sub));

    /* issue 12 #5, #8: one file refused for good, one damaged, one failing for a while: the others go
     * out at once; the entry is flagged queued and finished by the emitter's own retry (no marker
     * needed), never set aside as unclaimed; a locked entry is never worked on twice at once */
    {
        const struct pec_outbox_sink picky = { picky_inject, no_quarantine, NULL };
        char key[PEC_OUTBOX_KEY_MAX], path[4400];
        unsigned pending = 9;
        int fd, lock;

        e = pec_outbox_entry_new(dir, &err);
        CHECK(pec_outbox_entry_add(e, "refused@pec-esempio.test", "m1", 2, "f1", 2, &err) == 0);
        CHECK(pec_outbox_entry_add(e, "damaged@pec-esempio.test", "m2", 2, NULL, 0, &err) == 0);
        CHECK(pec_outbox_entry_add(e, "flaky@pec-esempio.test", "m3", 2, NULL, 0, &err) == 0);
        CHECK(pec_outbox_entry_add(e, "ok@pec-esempio.test", "m4", 2, NULL, 0, &err) == 0);
        snprintf(key, sizeof(key), "%s", pec_outbox_entry_key(e));
        CHECK(pec_outbox_entry_commit(e, &err) == 0);
        pec_outbox_entry_free(&e);
        snprintf(path, sizeof(path), "%s/%s/0002.msg", dir, key);
        CHECK((fd = open(path, O_WRONLY | O_TRUNC)) >= 0);
        CHECK(write(fd, "garbage", 7) == 7);
        close(fd);

        /* locked by another process (here: this one): the marker is answered "retry", nothing sent */
        snprintf(path, sizeof(path), "%s/%s", dir, key);
        CHECK((lock = open(path, O_RDONLY | O_DIRECTORY)) >= 0 && flock(lock, LOCK_EX) == 0);
        injected = 0;
        CHECK(pec_outbox_process(dir, key, "m", 1, &picky, &err) < 0);
        CHECK(pec_outbox_retry(dir, &picky, &pending, &err) == 0 && pending == 0);
        CHECK(injected == 0);
        close(lock);

        fail_temporarily = 1;
        CHECK(pec_outbox_process(dir, key, "m", 1, &picky, &err) == 1);
        CHECK(injected == 1 && strcmp(last_rcpt, "ok@pec-esempio.test") == 0);
        snprintf(sub, sizeof(sub), "refused/%s.0001.msg", key);
        CHECK(exists(dir, sub));
        snprintf(sub, sizeof(sub), "refused/%s.0001.facts", key);
        CHECK(exists(dir, sub));
        snprintf(sub, sizeof(sub), "damaged/%s.0002.msg", key);
        CHECK(exists(dir, sub));
        snprintf(sub, sizeof(sub), "%s/queued", key);
        CHECK(exists(dir, sub));
        {
            struct pec_outbox_counts c;
            CHECK(pec_outbox_count(dir, &c, &err) == 0);
            CHECK(c.queued == 1 && c.refused == 1 && c.damaged == 1);
        }
        /* however old, a queued entry is pending, not unclaimed */
        CHECK(pec_outbox_sweep(dir, now + 10 * day, 2 * day, 3 * day, &n, &err) == 0);
        CHECK(exists(dir, key));
        CHECK(pec_outbox_retry(dir, &picky, &pending, &err) == 0 && pending == 1);
        fail_temporarily = 0;
        CHECK(pec_outbox_retry(dir, &picky, &pending, &err) == 1 && pending == 0);
        CHECK(injected == 2 && strcmp(last_rcpt, "flaky@pec-esempio.test") == 0);
        snprintf(sub, sizeof(sub), "done/%s", key);
        CHECK(exists(dir, sub) && !exists(dir, key));
        /* the marker, retried by Postfix after all: done before */
        CHECK(pec_outbox_process(dir, key, "m", 1, &picky, &err) == 0 && injected == 2);
    }

    /* a missing folder is an error the emitter logs */
    CHECK(pec_outbox_sweep("/nonexistent/outbox", now, day, day, &n, &err) < 0);

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    (void)!system(cmd);
    return CHECK_DONE();
}
