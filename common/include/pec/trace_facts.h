/* trace_facts.h - what a PEC message means for the trace: the event to log and the recipient states it
 * settles.  One mapping, used by every point that emits or receives a receipt (the emitter when it sends
 * a receipt, the reception point when one arrives), so that the state of our own submitted messages is
 * updated whichever way its receipts travel (a receipt between two users of the same provider never
 * crosses the reception point). */
#ifndef PEC_TRACE_FACTS_H
#define PEC_TRACE_FACTS_H

#include <stddef.h>
#include "pec/message.h"
#include "pec/trace.h"

#define PEC_TRACE_FACTS_MAX_RCPTS 64

struct pec_trace_facts {
    struct pec_trace_event ev;
    struct pec_trace_rcpt rcpts[PEC_TRACE_FACTS_MAX_RCPTS];
    struct pec_trace_update up[PEC_TRACE_FACTS_MAX_RCPTS];
    size_t n_up;
    char message_id[256];  /* "<...>" of the message itself */
};

/* pec_trace_facts_of - fill f from an analysed message; received: 1 when it arrived from another
 * provider (a busta becomes a "ricezione"), 0 when we emit it.  The pointers in f lend from a, which
 * must outlive f.  Returns 0, or -1 when the message is not one the trace knows (ordinary mail). */
int pec_trace_facts_of(const struct pec_analysis *a, int received, time_t when, const char *queue_id,
                       struct pec_trace_facts *f);

#endif
