/* slot.h - the current set-up of a daemon, replaced at a reload while its users keep the one they took.
 *
 * A slot holds one object (a loaded configuration and what it names).  A connection takes it with
 * pec_slot_acquire and gives it back with pec_slot_release; pec_slot_replace puts a new object in the
 * slot, and the old one is released (its release function called) once the last connection that took it
 * gave it back.  Thread-safe.
 */
#ifndef PEC_SLOT_H
#define PEC_SLOT_H

#include <signal.h>
#include "pec/error.h"

struct pec_slot;
/* A taken object: obj is what the slot held when it was taken. */
struct pec_held {
    void *obj;
};

/* pec_slot_new - a slot holding obj (released with release(obj) once replaced and given back) */
struct pec_slot *pec_slot_new(void *obj, void (*release)(void *obj));
/* pec_slot_acquire - take the current object; never NULL */
const struct pec_held *pec_slot_acquire(struct pec_slot *slot);
/* pec_slot_release - give a taken object back and NULL the pointer (NULL-safe) */
void pec_slot_release(struct pec_slot *slot, const struct pec_held **held);
/* pec_slot_replace - obj is the current object from now on */
void pec_slot_replace(struct pec_slot *slot, void *obj);
/* pec_slot_free - release the current object and the slot, NULL the pointer; nothing may hold it */
void pec_slot_free(struct pec_slot **slot);

/* A daemon's load of its configuration: the new object, with the start-up check's problems counted in
 * *problems (reported by the loader), or NULL with err. */
typedef void *(*pec_slot_load_fn)(void *ctx, int *problems, struct pec_error *err);

/* pec_slot_reload_forever - a daemon's reload thread: wait for one of signals (blocked in every thread
 * before any was made, so that only this one takes them), then load; an object that loads and passes its
 * check replaces the slot's, anything else is logged (who: the daemon's name) and released, and the
 * current one stays.  Never returns. */
void pec_slot_reload_forever(struct pec_slot *slot, const sigset_t *signals, const char *who, const char *config,
                             pec_slot_load_fn load, void *ctx) __attribute__((noreturn));

#endif
