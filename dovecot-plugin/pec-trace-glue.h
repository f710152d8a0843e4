/* pec-trace-glue.h - every trace record the delivery point writes goes through these functions (the
 * legal log, PEC-RULES §9).
 *
 * When the provider configuration names a `database`, each record is an event of the PostgreSQL trace
 * store (common/include/pec/trace.h), written in its own transaction before the function returns; the
 * store is opened lazily, once per process (Dovecot delivery processes are single-threaded; a store
 * inherited across fork() is abandoned, never used).  A failed write returns -1 with the reason: the
 * caller answers 4xx rather than accept untraced mail.  Without `database` the records are only log
 * lines (a warning says so once per process) and the functions always succeed.  Either way one
 *   pec-trace: event=<name> identificativo=<id> mittente=<addr> destinatario=<addr> oggetto="<subject>"
 *              [field=value ...] time=<epoch>
 * log line is written per record that was kept.
 *
 * Event types (see README.md): avvenuta-consegna (busta stored, receipt submitted), errore-consegna
 * (avviso di mancata consegna submitted; also a refusal of mail that is not PEC, without a message id),
 * busta-anomalia (ordinary mail stored inside a busta di anomalia), consegna (a receipt or anomaly
 * envelope stored as it is, no receipt of its own), notifica (the short notice sent to pec_notify).
 */
#ifndef PEC_TRACE_GLUE_H
#define PEC_TRACE_GLUE_H

#include <time.h>

struct event;
struct pec_state;
struct pec_delivery_verdict;

/* glue_trace_init - at plugin load, with the configuration loaded then: warn (once per process) when
 * it names no database */
void glue_trace_init(struct event *event, const struct pec_state *st);

/* glue_trace_ready - before storing anything: 0 when the store answers (or no database is configured),
 * -1 with *error_r when it does not, so that nothing is stored while the trace is down */
int glue_trace_ready(struct event *event, const struct pec_state *st, const char **error_r);

/* glue_trace_claim - take the right to emit the delivery receipt of (identificativo, recipient) in the
 * store (pec_trace_claim_delivery, nothing logged): 1 the first time, 0 when it was claimed before,
 * -1 with *error_r.  1 without a database. */
int glue_trace_claim(struct event *event, const struct pec_state *st, const struct pec_delivery_verdict *v,
		     const char *recipient, time_t now, const char **error_r);

/* glue_trace_receipt_sent - whether an avvenuta consegna of (identificativo, recipient) was recorded as
 * sent: 1 yes, 0 no, -1 with *error_r.  1 without a database (nothing to ask: keep the old answer). */
int glue_trace_receipt_sent(struct event *event, const struct pec_state *st, const struct pec_delivery_verdict *v,
			    const char *recipient, const char **error_r);

/* a busta stored and its avvenuta consegna submitted (receipt_msgid, variant completa/breve/sintetica),
 * dated at the save */
int glue_trace_delivered(struct event *event, const struct pec_state *st, const struct pec_delivery_verdict *v,
			 const char *recipient, const char *variant, const char *receipt_msgid, time_t saved_at,
			 const char **error_r);
/* a busta not stored; the avviso di mancata consegna submitted */
int glue_trace_not_delivered(struct event *event, const struct pec_state *st,
			     const struct pec_delivery_verdict *v, const char *recipient,
			     const char *errore_esteso, const char *notice_msgid, time_t when, const char **error_r);
/* a receipt or anomaly envelope stored as it is */
int glue_trace_stored_plain(struct event *event, const struct pec_state *st, const struct pec_delivery_verdict *v,
			    const char *recipient, time_t when, const char **error_r);
/* a message that is not valid PEC stored inside a busta di anomalia */
int glue_trace_anomaly(struct event *event, const struct pec_state *st, const struct pec_delivery_verdict *v,
		       const char *recipient, const char *reason, time_t when, const char **error_r);
/* a message that is not valid PEC refused (reply: the SMTP reply text) */
int glue_trace_refused(struct event *event, const struct pec_state *st, const struct pec_delivery_verdict *v,
		       const char *recipient, const char *reply, time_t when, const char **error_r);
/* the optional notification of a new PEC sent to an ordinary address */
int glue_trace_notified(struct event *event, const struct pec_state *st, const struct pec_delivery_verdict *v,
			const char *recipient, const char *notify_to, time_t when, const char **error_r);
/* the same busta delivered again to the same recipient: nothing stored, nothing emitted (log line
 * only: the delivery was traced the first time) */
void glue_trace_duplicate(struct event *event, const struct pec_delivery_verdict *v, const char *recipient,
			  time_t when);

/* glue_trace_deinit - close the store (plugin unload) */
void glue_trace_deinit(void);

#endif
