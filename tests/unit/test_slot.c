/* test_slot.c - a replaced set-up is released only when the last connection that took it gives it back,
 * and a connection keeps the set-up it took across a reload (pec-milter's and pec-emitter's reloads). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include "check.h"
#include "pec/slot.h"

static char released[64]; /* the names of the released objects, in order */
static pthread_mutex_t released_lock = PTHREAD_MUTEX_INITIALIZER;

/* release - remember that obj went (the last giver releases it, on whatever thread it runs) */
static void release(void *obj)
{
    pthread_mutex_lock(&released_lock);
    strncat(released, (const char *)obj, sizeof(released) - strlen(released) - 1);
    pthread_mutex_unlock(&released_lock);
}

/* test_replace_while_held - the old set-up outlives the reload while a connection holds it */
static void test_replace_while_held(void)
{
    struct pec_slot *slot = pec_slot_new("A", release);
    const struct pec_held *first = pec_slot_acquire(slot), *second;

    released[0] = '\0';
    pec_slot_replace(slot, "B");
    CHECK_STR(released, "");                 /* still held by the first connection */
    CHECK_STR((const char *)first->obj, "A"); /* which keeps what it started with */
    second = pec_slot_acquire(slot);
    CHECK_STR((const char *)second->obj, "B");
    pec_slot_release(slot, &first);
    CHECK(first == NULL);
    CHECK_STR(released, "A");
    pec_slot_replace(slot, "C");             /* B is still held */
    CHECK_STR(released, "A");
    pec_slot_release(slot, &second);
    CHECK_STR(released, "AB");
    pec_slot_release(slot, &second);         /* NULL-safe */
    pec_slot_free(&slot);
    CHECK_STR(released, "ABC");
    CHECK(slot == NULL);
}

static struct pec_slot *shared;

/* taker - take and give back, many times */
static void *taker(void *arg)
{
    (void)arg;
    for (int i = 0; i < 20000; i++) {
        const struct pec_held *h = pec_slot_acquire(shared);
        pec_slot_release(shared, &h);
    }
    return NULL;
}

/* test_threads - takers on four threads while the slot is replaced: every object released once */
static void test_threads(void)
{
    static char names[200][2];
    pthread_t th[4];

    released[0] = '\0';
    shared = pec_slot_new("a", release);
    for (int i = 0; i < 4; i++)
        CHECK(pthread_create(&th[i], NULL, taker, NULL) == 0);
    for (int i = 0; i < 26 - 1; i++) {
        names[i][0] = (char)('b' + i);
        pec_slot_replace(shared, names[i]);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    pec_slot_free(&shared);
    CHECK(strlen(released) == 26);
    for (char ch = 'a'; ch <= 'z'; ch++)
        CHECK(strchr(released, ch) != NULL);
}

int main(void)
{
    test_replace_while_held();
    test_threads();
    return CHECK_DONE();
}
