/* test_ident.c - PEC identifiers: format, determinism, uniqueness across threads and processes. */
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "check.h"
#include "pec/ident.h"

#define T0 ((time_t)1795417200) /* 2026-11-23 07:00:00 UTC */
#define THREADS 8
#define PER_THREAD 20000

static regex_t id_re;

/* matches - the id has the documented shape for node 7 and domain pec-esempio.test */
static int matches(const char *id)
{
    return regexec(&id_re, id, 0, NULL, 0) == 0;
}

/* test_format - regex, UTC time, allowed characters */
static void test_format(void)
{
    struct pec_idgen *g = pec_idgen_new(7, "pec-esempio.test");
    char id[PEC_ID_MAX];

    pec_idgen_next(g, T0, id);
    CHECK(matches(id));
    CHECK(strncmp(id, "pec7.20261123070000.", 20) == 0);
    CHECK(strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789.@-") == strlen(id));
    {
        /* the pid field is the process id */
        char want[32];
        snprintf(want, sizeof(want), ".%lu.", (unsigned long)getpid());
        CHECK(strstr(id, want) == id + 19);
    }
    pec_idgen_free(&g);
    CHECK(g == NULL);
    pec_idgen_free(&g);
    pec_idgen_free(NULL);

    g = pec_idgen_new(9999, "pec-esempio.test");
    pec_idgen_next(g, (time_t)4102444799, id); /* 2099-12-31 23:59:59 UTC */
    CHECK(strncmp(id, "pec9999.20991231235959.", 23) == 0);
    pec_idgen_free(&g);
}

/* test_fixed - two fixed generators give the same sequence, which counts from 1 */
static void test_fixed(void)
{
    struct pec_idgen *a = pec_idgen_new_fixed(7, "pec-esempio.test"), *b = pec_idgen_new_fixed(7, "pec-esempio.test");
    char ia[PEC_ID_MAX], ib[PEC_ID_MAX], prev[PEC_ID_MAX] = "";

    for (int i = 0; i < 5; i++) {
        pec_idgen_next(a, T0 + i, ia);
        pec_idgen_next(b, T0 + i, ib);
        CHECK_STR(ia, ib);
        CHECK(matches(ia));
        CHECK(strcmp(ia, prev) != 0);
        snprintf(prev, sizeof(prev), "%s", ia);
    }
    pec_idgen_free(&a);
    a = pec_idgen_new_fixed(7, "pec-esempio.test");
    pec_idgen_next(a, T0, ia);
    {
        size_t n = strlen(ia);
        CHECK(n > 19 && strcmp(ia + n - 19, ".1@pec-esempio.test") == 0);
    }
    pec_idgen_next(a, T0, ib);
    CHECK(strstr(ib, ".2@pec-esempio.test") != NULL);
    pec_idgen_free(&a);
    pec_idgen_free(&b);
}

struct worker {
    struct pec_idgen *gen;
    char (*out)[PEC_ID_MAX];
};

/* work - PER_THREAD ids, all at the same second */
static void *work(void *arg)
{
    struct worker *w = arg;

    for (int i = 0; i < PER_THREAD; i++)
        pec_idgen_next(w->gen, T0, w->out[i]);
    return NULL;
}

/* cmp - qsort of ids */
static int cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* count_duplicates - sort and count equal neighbours */
static size_t count_duplicates(char (*ids)[PEC_ID_MAX], size_t n)
{
    size_t dups = 0;

    qsort(ids, n, PEC_ID_MAX, cmp);
    for (size_t i = 1; i < n; i++)
        if (strcmp(ids[i - 1], ids[i]) == 0)
            dups++;
    return dups;
}

/* test_threads - one generator shared by 8 threads */
static void test_threads(void)
{
    struct pec_idgen *g = pec_idgen_new(3, "pec-esempio.test");
    char (*ids)[PEC_ID_MAX] = calloc((size_t)THREADS * PER_THREAD, PEC_ID_MAX);
    pthread_t th[THREADS];
    struct worker w[THREADS];
    size_t bad = 0;

    CHECK(ids != NULL);
    if (ids == NULL)
        return;
    for (int t = 0; t < THREADS; t++) {
        w[t].gen = g;
        w[t].out = ids + (size_t)t * PER_THREAD;
        CHECK(pthread_create(&th[t], NULL, work, &w[t]) == 0);
    }
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    for (size_t i = 0; i < (size_t)THREADS * PER_THREAD; i++)
        if (!matches(ids[i]))
            bad++;
    CHECK(bad == 0);
    CHECK(count_duplicates(ids, (size_t)THREADS * PER_THREAD) == 0);
    free(ids);
    pec_idgen_free(&g);
}

#define PER_CHILD 1000

/* test_processes - two production generators made in two processes, same second, disjoint ids */
static void test_processes(void)
{
    char (*ids)[PEC_ID_MAX] = calloc(2 * PER_CHILD, PEC_ID_MAX);
    int fds[2][2];
    pid_t pids[2];

    CHECK(ids != NULL);
    if (ids == NULL)
        return;
    for (int c = 0; c < 2; c++) {
        CHECK(pipe(fds[c]) == 0);
        pids[c] = fork();
        CHECK(pids[c] >= 0);
        if (pids[c] == 0) {
            struct pec_idgen *g = pec_idgen_new(1, "pec-esempio.test");
            char id[PEC_ID_MAX];

            close(fds[c][0]);
            for (int i = 0; i < PER_CHILD; i++) {
                memset(id, 0, sizeof(id));
                pec_idgen_next(g, T0, id);
                if (write(fds[c][1], id, PEC_ID_MAX) != PEC_ID_MAX)
                    _exit(2);
            }
            pec_idgen_free(&g);
            _exit(0);
        }
        close(fds[c][1]);
    }
    for (int c = 0; c < 2; c++) {
        size_t got = 0;
        ssize_t n;
        char *dst = (char *)ids[c * PER_CHILD];

        while (got < (size_t)PER_CHILD * PEC_ID_MAX &&
               (n = read(fds[c][0], dst + got, (size_t)PER_CHILD * PEC_ID_MAX - got)) > 0)
            got += (size_t)n;
        CHECK(got == (size_t)PER_CHILD * PEC_ID_MAX);
        close(fds[c][0]);
    }
    for (int c = 0; c < 2; c++) {
        int st;
        CHECK(waitpid(pids[c], &st, 0) == pids[c]);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    CHECK(matches(ids[0]) && matches(ids[PER_CHILD]));
    CHECK(strcmp(ids[0], ids[PER_CHILD]) != 0);
    /* within a child they are unique too, so one sort over both finds any cross-process collision */
    CHECK(count_duplicates(ids, 2 * PER_CHILD) == 0);
    free(ids);
}

int main(void)
{
    CHECK(regcomp(&id_re, "^pec[0-9]+\\.[0-9]{14}\\.[0-9]+\\.[0-9a-f]{8}\\.[0-9]+@pec-esempio\\.test$",
                  REG_EXTENDED | REG_NOSUB) == 0);
    test_format();
    test_fixed();
    test_threads();
    test_processes();
    regfree(&id_re);
    return CHECK_DONE();
}
