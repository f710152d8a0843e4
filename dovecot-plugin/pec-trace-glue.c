/* pec-trace-glue.c - trace records, for now as log lines (see pec-trace-glue.h).  Format:
 *   pec-trace: event=<name> identificativo=<id> mittente=<addr> destinatario=<addr> oggetto="<subject>"
 *              [field=value ...] time=<epoch>
 * Values are sanitised to one ASCII line. */
#include "lib.h"
#include "str.h"
#include "pec-glue.h"
#include "pec-trace-glue.h"

static const char *field(const char *value)
{
	char *out;
	size_t len = value == NULL ? 1 : strlen(value) * 2 + 1;

	if (len > 400)
		len = 400;
	out = t_malloc0(len);
	pec_glue_ascii(value != NULL ? value : "", out, len);
	return out;
}

static void trace_line(struct event *event, const char *name, const struct pec_delivery_verdict *v,
		       const char *recipient, time_t when, const char *extra)
{
	const struct pec_analysis *a = &v->analysis;
	const char *sender = a->has_daticert && a->daticert.mittente != NULL ? a->daticert.mittente : a->from;

	e_info(event, "pec-trace: event=%s identificativo=%s mittente=%s destinatario=%s oggetto=\"%s\"%s time=%ld",
	       name, field(pec_glue_identificativo(v)), field(sender), field(recipient), field(a->subject),
	       extra, (long)when);
}

void glue_trace_delivered(struct event *event, const struct pec_delivery_verdict *v, const char *recipient,
			  const char *variant, const char *receipt_msgid, time_t saved_at)
{
	trace_line(event, "consegna", v, recipient, saved_at,
		   t_strdup_printf(" tipo_ricevuta=%s ricevuta=%s", field(variant), field(receipt_msgid)));
}

void glue_trace_not_delivered(struct event *event, const struct pec_delivery_verdict *v,
			      const char *recipient, const char *errore_esteso, const char *notice_msgid,
			      time_t when)
{
	trace_line(event, "mancata-consegna", v, recipient, when,
		   t_strdup_printf(" errore-esteso=\"%s\" avviso=%s", field(errore_esteso), field(notice_msgid)));
}

void glue_trace_stored_plain(struct event *event, const struct pec_delivery_verdict *v,
			     const char *recipient, time_t when)
{
	trace_line(event, "memorizzato", v, recipient, when,
		   t_strdup_printf(" tipo=%s", field(pec_kind_name(v->analysis.kind))));
}

void glue_trace_anomaly(struct event *event, const struct pec_delivery_verdict *v, const char *recipient,
			const char *reason, time_t when)
{
	trace_line(event, "anomalia", v, recipient, when, t_strdup_printf(" motivo=\"%s\"", field(reason)));
}

void glue_trace_refused(struct event *event, const struct pec_delivery_verdict *v, const char *recipient,
			const char *reason, time_t when)
{
	trace_line(event, "rifiuto", v, recipient, when, t_strdup_printf(" motivo=\"%s\"", field(reason)));
}

void glue_trace_duplicate(struct event *event, const struct pec_delivery_verdict *v, const char *recipient,
			  time_t when)
{
	trace_line(event, "duplicato", v, recipient, when, "");
}

void glue_trace_notified(struct event *event, const struct pec_delivery_verdict *v, const char *recipient,
			 const char *notify_to, time_t when)
{
	trace_line(event, "notifica", v, recipient, when, t_strdup_printf(" notifica_a=%s", field(notify_to)));
}
