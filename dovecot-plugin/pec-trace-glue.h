/* pec-trace-glue.h - every trace record the delivery point writes goes through these functions (the
 * legal log, PEC-RULES §9).  For now they write one "pec-trace:" log line each; the PostgreSQL trace
 * store (common/include/pec/trace.h) replaces the bodies in pec-trace-glue.c only. */
#ifndef PEC_TRACE_GLUE_H
#define PEC_TRACE_GLUE_H

#include <time.h>

struct event;
struct pec_delivery_verdict;

/* a busta stored; receipt_msgid: the avvenuta consegna emitted (variant completa/breve/sintetica) */
void glue_trace_delivered(struct event *event, const struct pec_delivery_verdict *v, const char *recipient,
			  const char *variant, const char *receipt_msgid, time_t saved_at);
/* a busta not stored; the avviso di mancata consegna emitted */
void glue_trace_not_delivered(struct event *event, const struct pec_delivery_verdict *v,
			      const char *recipient, const char *errore_esteso, const char *notice_msgid,
			      time_t when);
/* a receipt or anomaly envelope stored as it is */
void glue_trace_stored_plain(struct event *event, const struct pec_delivery_verdict *v,
			     const char *recipient, time_t when);
/* a message that is not valid PEC stored inside a busta di anomalia */
void glue_trace_anomaly(struct event *event, const struct pec_delivery_verdict *v, const char *recipient,
			const char *reason, time_t when);
/* a message that is not valid PEC refused */
void glue_trace_refused(struct event *event, const struct pec_delivery_verdict *v, const char *recipient,
			const char *reason, time_t when);
/* the same busta delivered again to the same recipient: nothing stored, nothing emitted */
void glue_trace_duplicate(struct event *event, const struct pec_delivery_verdict *v, const char *recipient,
			  time_t when);
/* the optional notification of a new PEC sent to an ordinary address */
void glue_trace_notified(struct event *event, const struct pec_delivery_verdict *v, const char *recipient,
			 const char *notify_to, time_t when);

#endif
