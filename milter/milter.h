/* milter.h - pec-milter: the libmilter adapter of the access point and the reception point. */
#ifndef PEC_MILTER_H
#define PEC_MILTER_H

#include "pec/access.h"
#include "pec/effects.h"
#include "pec/reception.h"
#include "pec/runtime.h"
#include "pec/slot.h"
#include "pec/trace.h"

enum milter_role { ROLE_ACCESS, ROLE_RECEPTION };

/* What every connection thread reads: built at start and at each reload (a pec_slot holds the current
 * one), never changed after. */
struct milter_app {
    enum milter_role role;
    const struct pec_runtime *rt;
    struct pec_trace_index_cache *index_cache; /* the index copy in the trace store, cached; NULL: rt->index */
    struct pec_effects effects;                /* the core's standard effects (thread-safe) */
    struct pec_access_ctx access;              /* the engines' contexts; index set per transaction */
    struct pec_reception_ctx reception;
    int own_reception;                         /* access point: run the reception point for our recipients */
};

/* milter_run - register the callbacks (each connection takes its struct milter_app from setups, which
 * the caller replaces at a reload), open socket (a unix socket gets mode 0660, owner user and group
 * group when given: the service account and the MTA only), become user when not NULL, and serve until
 * stopped; returns the exit status */
int milter_run(struct pec_slot *setups, const char *socket, int timeout, const char *user, const char *group);

#endif
