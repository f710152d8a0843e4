/* slot.c - a reference-counted current object (see slot.h). */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include "pec/log.h"
#include "pec/slot.h"

struct held_obj {
    struct pec_held pub;
    unsigned refs; /* the slot's own reference while current, plus one per taker */
};

struct pec_slot {
    pthread_mutex_t lock;
    struct held_obj *current;
    void (*release)(void *obj);
};

/* held_new - a new current object with the slot's reference */
static struct held_obj *held_new(void *obj)
{
    struct held_obj *h = calloc(1, sizeof(*h));

    if (h == NULL)
        pec_panic("out of memory");
    h->pub.obj = obj;
    h->refs = 1;
    return h;
}

/* drop - one reference less: the last one releases the object (called without the lock) */
static void drop(struct pec_slot *slot, struct held_obj *h)
{
    unsigned left;

    pthread_mutex_lock(&slot->lock);
    left = --h->refs;
    pthread_mutex_unlock(&slot->lock);
    if (left == 0) {
        slot->release(h->pub.obj);
        free(h);
    }
}

/* pec_slot_new - one object, its slot reference */
struct pec_slot *pec_slot_new(void *obj, void (*release)(void *obj))
{
    struct pec_slot *slot = calloc(1, sizeof(*slot));

    if (slot == NULL)
        pec_panic("out of memory");
    pthread_mutex_init(&slot->lock, NULL);
    slot->current = held_new(obj);
    slot->release = release;
    return slot;
}

/* pec_slot_acquire - a reference more on the current object */
const struct pec_held *pec_slot_acquire(struct pec_slot *slot)
{
    struct held_obj *h;

    pthread_mutex_lock(&slot->lock);
    h = slot->current;
    h->refs++;
    pthread_mutex_unlock(&slot->lock);
    return &h->pub;
}

/* pec_slot_release - a reference less */
void pec_slot_release(struct pec_slot *slot, const struct pec_held **held)
{
    if (*held == NULL)
        return;
    drop(slot, (struct held_obj *)*held);
    *held = NULL;
}

/* pec_slot_replace - swap, then drop the slot's reference on the old one */
void pec_slot_replace(struct pec_slot *slot, void *obj)
{
    struct held_obj *next = held_new(obj), *old;

    pthread_mutex_lock(&slot->lock);
    old = slot->current;
    slot->current = next;
    pthread_mutex_unlock(&slot->lock);
    drop(slot, old);
}

/* pec_slot_free - the slot's reference on the current object, then the slot */
void pec_slot_free(struct pec_slot **slot)
{
    if (*slot == NULL)
        return;
    drop(*slot, (*slot)->current);
    pthread_mutex_destroy(&(*slot)->lock);
    free(*slot);
    *slot = NULL;
}

/* pec_slot_reload_forever - see slot.h */
void pec_slot_reload_forever(struct pec_slot *slot, const sigset_t *signals, const char *who, const char *config,
                             pec_slot_load_fn load, void *ctx)
{
    for (;;) {
        struct pec_error err = { 0 };
        void *obj;
        int sig, problems = 0;

        if (sigwait(signals, &sig) != 0)
            continue;
        pec_info("%s: reloading %s", who, config);
        if ((obj = load(ctx, &problems, &err)) == NULL) {
            pec_warn("%s: reload refused, still serving with the previous configuration: %s", who, err.msg);
        } else if (problems > 0) {
            pec_warn("%s: reload refused (%d problem%s above), still serving with the previous configuration", who,
                     problems, problems == 1 ? "" : "s");
            slot->release(obj);
        } else {
            pec_slot_replace(slot, obj);
            pec_info("%s: reloaded %s: new connections use it", who, config);
        }
    }
}
