/* test_marks.c - idempotence marks: check/set, a lock that a second process waits for, the sweep of old
 * marks, the once-per-interval sweep claim, and keys that cannot be file names. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "check.h"
#include "pec/marks.h"

/* ms_now - wall clock in milliseconds */
static long long ms_now(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* age - set the modification time of dir/name to `secs` ago */
static void age(const char *dir, const char *name, time_t secs)
{
    char path[4096];
    struct timespec ts[2];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    ts[0].tv_sec = ts[1].tv_sec = time(NULL) - secs;
    ts[0].tv_nsec = ts[1].tv_nsec = 0;
    utimensat(AT_FDCWD, path, ts, 0);
}

int main(void)
{
    char base[] = "/tmp/pec-test-marks.XXXXXX", dir[4200], cmd[4300];
    struct pec_error err = { 0 };
    struct stat st;
    int fd, status, sync_fd[2];
    char ch;
    long long t0;
    pid_t pid;

    if (mkdtemp(base) == NULL)
        return 1;
    snprintf(dir, sizeof(dir), "%s/.pec-marks", base);

    /* a missing folder: nothing is marked; prepare creates it private, twice is fine */
    CHECK(pec_mark_check(dir, "pec-stored:abc", &err) == 0);
    CHECK(pec_marks_prepare(dir, &err) == 0);
    CHECK(pec_marks_prepare(dir, &err) == 0);
    CHECK(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700);

    /* set, check, set again */
    CHECK(pec_mark_check(dir, "pec-stored:abc", &err) == 0);
    CHECK(pec_mark_set(dir, "pec-stored:abc", &err) == 0);
    CHECK(pec_mark_check(dir, "pec-stored:abc", &err) == 1);
    CHECK(pec_mark_set(dir, "pec-stored:abc", &err) == 0);
    CHECK(pec_mark_check(dir, "pec-receipt:abc", &err) == 0);

    /* values: what the receipt that went out was; none reads as "1"; a new value replaces the old */
    {
        char value[64];

        CHECK(pec_mark_get(dir, "pec-sent:abc", value, sizeof(value), &err) == 0);
        CHECK(pec_mark_set_value(dir, "pec-sent:abc", "completa pec0.1@x.test", &err) == 0);
        CHECK(pec_mark_check(dir, "pec-sent:abc", &err) == 1);
        CHECK(pec_mark_get(dir, "pec-sent:abc", value, sizeof(value), &err) == 1);
        CHECK_STR(value, "completa pec0.1@x.test");
        CHECK(pec_mark_set_value(dir, "pec-sent:abc", "breve pec0.2@x.test", &err) == 0);
        CHECK(pec_mark_get(dir, "pec-sent:abc", value, sizeof(value), &err) == 1);
        CHECK_STR(value, "breve pec0.2@x.test");
        /* written over the longer one, then cut: nothing of the old value is left */
        snprintf(cmd, sizeof(cmd), "%s/pec-sent:abc", dir);
        CHECK(stat(cmd, &st) == 0 && st.st_size == (off_t)strlen("breve pec0.2@x.test\n"));
        CHECK(pec_mark_get(dir, "pec-stored:abc", value, sizeof(value), &err) == 1);
        CHECK_STR(value, "1");
        CHECK(pec_mark_get(dir, "pec-sent:abc", value, 5, &err) < 0); /* does not fit */
        CHECK(pec_mark_set_value(dir, "pec-sent:bad", "two\nlines", &err) < 0 && err.cls == PEC_ERR_INVALID);
        CHECK(pec_mark_check(dir, "pec-sent:bad", &err) == 0);
    }

    /* a lock alone is not a mark */
    fd = pec_mark_lock(dir, "pec-receipt:abc", &err);
    CHECK(fd >= 0);
    CHECK(pec_mark_check(dir, "pec-receipt:abc", &err) == 0);
    {
        char value[8];

        CHECK(pec_mark_get(dir, "pec-receipt:abc", value, sizeof(value), &err) == 0);
    }
    pec_mark_unlock(&fd);
    CHECK(fd == -1);
    pec_mark_unlock(&fd); /* no-op */

    /* a second process waits for the lock: it then sees the mark the first one set.  The child says
     * through a pipe when it holds the lock, and exits 0 only if its lock and mark both worked. */
    CHECK(pipe(sync_fd) == 0);
    pid = fork();
    if (pid == 0) {
        int cfd = pec_mark_lock(dir, "pec-stored:race", NULL), ok = cfd >= 0;
        (void)!write(sync_fd[1], "L", 1);
        usleep(300000);
        ok = ok && pec_mark_set(dir, "pec-stored:race", NULL) == 0;
        pec_mark_unlock(&cfd);
        _exit(ok ? 0 : 1);
    }
    CHECK(read(sync_fd[0], &ch, 1) == 1);
    t0 = ms_now();
    fd = pec_mark_lock(dir, "pec-stored:race", &err);
    CHECK(fd >= 0);
    CHECK(ms_now() - t0 >= 150); /* it waited for the child */
    CHECK(pec_mark_check(dir, "pec-stored:race", &err) == 1);
    pec_mark_unlock(&fd);
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(sync_fd[0]);
    close(sync_fd[1]);

    /* keys that are not file names are refused, with the class INVALID */
    err = (struct pec_error){ 0 };
    CHECK(pec_mark_set(dir, "../escape", &err) < 0 && err.cls == PEC_ERR_INVALID);
    CHECK(pec_mark_check(dir, ".swept", &err) < 0);
    CHECK(pec_mark_lock(dir, "", &err) < 0);
    CHECK(pec_mark_set(dir, "a/b", &err) < 0);

    /* the sweep removes marks older than the cut, keeps newer ones and the folder's own files */
    CHECK(pec_mark_set(dir, "pec-plain:old", &err) == 0);
    age(dir, "pec-plain:old", 3 * 24 * 3600);
    CHECK(pec_marks_sweep_due(dir, time(NULL), 3600) == 1); /* first time: due, and claimed */
    CHECK(pec_marks_sweep_due(dir, time(NULL), 3600) == 0); /* claimed for this hour */
    age(dir, ".swept", 2 * 3600);
    CHECK(pec_marks_sweep(dir, time(NULL) - 2 * 24 * 3600, &err) == 1);
    CHECK(pec_mark_check(dir, "pec-plain:old", &err) == 0);
    CHECK(pec_mark_check(dir, "pec-stored:abc", &err) == 1);
    snprintf(cmd, sizeof(cmd), "%s/.swept", dir);
    CHECK(stat(cmd, &st) == 0);
    CHECK(pec_marks_sweep_due(dir, time(NULL), 3600) == 1); /* an hour later: due again */
    CHECK(pec_marks_sweep(base, 0, &err) == 0);              /* nothing that old */

    /* a link planted where a mark goes is never followed: neither set nor lock writes through it
     * (issue 12 #9), and the sweep leaves it alone */
    {
        char victim[4300], link[4300];
        snprintf(victim, sizeof(victim), "%s/victim", base);
        snprintf(link, sizeof(link), "%s/pec-receipt:planted", dir);
        CHECK((fd = open(victim, O_WRONLY | O_CREAT, 0600)) >= 0);
        close(fd);
        CHECK(symlink(victim, link) == 0);
        CHECK(pec_mark_set(dir, "pec-receipt:planted", &err) < 0);
        CHECK(pec_mark_lock(dir, "pec-receipt:planted", &err) < 0);
        CHECK(stat(victim, &st) == 0 && st.st_size == 0);
        CHECK(pec_marks_sweep(dir, time(NULL) + 60, &err) >= 0);
        CHECK(lstat(link, &st) == 0);
        unlink(link);
    }

    /* the sweep never removes a file another delivery holds locked; once released it goes */
    fd = pec_mark_lock(dir, "pec-stored:held", &err);
    CHECK(fd >= 0);
    age(dir, "pec-stored:held", 3 * 24 * 3600);
    CHECK(pec_marks_sweep(dir, time(NULL) - 2 * 24 * 3600, &err) == 0);
    snprintf(cmd, sizeof(cmd), "%s/pec-stored:held", dir);
    CHECK(stat(cmd, &st) == 0);
    pec_mark_unlock(&fd);
    CHECK(pec_marks_sweep(dir, time(NULL) - 2 * 24 * 3600, &err) == 1);
    CHECK(stat(cmd, &st) < 0);

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
    (void)!system(cmd);
    return CHECK_DONE();
}
