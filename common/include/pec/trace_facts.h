/* trace_facts.h - what a PEC message means for the trace: the event to log and the recipient states it
 * settles.  One mapping, used by every point that emits or receives a receipt (the emitter when it sends
 * a receipt, the reception point when one arrives), so that the state of our own submitted messages is
 * updated whichever way its receipts travel (a receipt between two users of the same provider never
 * crosses the reception point). */
#ifndef PEC_TRACE_FACTS_H
#define PEC_TRACE_FACTS_H

#include <stddef.h>
#include "pec/buf.h"
#include "pec/compose.h"
#include "pec/message.h"
#include "pec/trace.h"

/* Every recipient is kept, however many (up to the trace's own bound, far above max_recipients): the
 * arrays grow with the message; release them with pec_trace_facts_clear. */
struct pec_trace_facts {
    struct pec_trace_event ev;
    struct pec_trace_rcpt *rcpts; /* ev.rcpts; capacity cap */
    struct pec_trace_update *up;  /* n_up used; capacity cap */
    size_t n_up, cap;
    char message_id[256];  /* "<...>" of the message itself */
};

/* pec_trace_facts_of - fill f from an analysed message; received: 1 when it arrived from another
 * provider (a busta becomes a "ricezione"), 0 when we emit it.  The pointers in f lend from a, which
 * must outlive f.  Returns 0, or -1 when the message is not one the trace knows (ordinary mail). */
int pec_trace_facts_of(const struct pec_analysis *a, int received, time_t when, const char *queue_id,
                       struct pec_trace_facts *f);

/* pec_trace_facts_built - fill f for a message we built: type, the certification data as written in its
 * daticert.xml (pec_compose_daticert) and its Message-ID, so nothing has to be read back to trace it.
 * The pointers in f lend from written and msgid.  -1 for a busta di anomalia (its facts come from the
 * wrapped message). */
int pec_trace_facts_built(enum pec_msgtype type, const struct pec_daticert *written, const char *msgid,
                          struct pec_trace_facts *f);

/* pec_trace_facts_reserve - room for n recipients and n updates in f (a caller that lists recipients itself) */
void pec_trace_facts_reserve(struct pec_trace_facts *f, size_t n);
/* pec_trace_facts_clear - release what pec_trace_facts_of / _built allocated; f may be cleared twice */
void pec_trace_facts_clear(struct pec_trace_facts *f);

/* pec_trace_facts_compose - the facts of the message pec_compose_build made of c with Message-ID msgid,
 * encoded (pec_trace_facts_encode) and appended to encoded; -1 for a type without facts */
int pec_trace_facts_compose(const struct pec_issuer *iss, const struct pec_compose *c, const char *msgid,
                            struct pec_buf *encoded);

/* The facts of a message carried to the process that sends it (the outbox entry holds them beside the
 * message): one event and its updates as bytes, read back with every pointer owned by the copy. */
struct pec_trace_facts_copy {
    struct pec_trace_event ev;
    struct pec_trace_update *up;
    size_t n_up;
    struct pec_trace_rcpt *rcpts;
    struct pec_strv strings; /* owns every string the pointers above lend */
};

/* pec_trace_facts_encode - ev and its updates as text lines (values percent-encoded), appended to out */
void pec_trace_facts_encode(const struct pec_trace_event *ev, const struct pec_trace_update *up, size_t n_up,
                            struct pec_buf *out);
/* pec_trace_facts_decode - read what pec_trace_facts_encode wrote: 0, or -1 with err (PEC_ERR_INVALID)
 * for anything else; release with pec_trace_facts_copy_clear */
int pec_trace_facts_decode(const void *data, size_t len, struct pec_trace_facts_copy *c, struct pec_error *err);
void pec_trace_facts_copy_clear(struct pec_trace_facts_copy *c);

#endif
