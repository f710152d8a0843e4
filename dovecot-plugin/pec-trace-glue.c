/* pec-trace-glue.c - trace records: events of the PostgreSQL trace store, and one log line each (see
 * pec-trace-glue.h).  Log values are sanitised to one ASCII line; event text fields that are not valid
 * UTF-8 without controls (the store refuses them) are sanitised the same way, subject and
 * errore_esteso are kept as verbatim bytes. */
#include "lib.h"
#include "str.h"
#include "pec/trace.h"
#include "pec-glue.h"
#include "pec-state.h"
#include "pec-trace-glue.h"

#include <unistd.h>

/* the process's store: opened on first use, for the conninfo and node it was opened with */
static struct pec_trace *store;
static char *store_conninfo;
static unsigned store_node;
static pid_t store_pid;
static bool warned_no_database;

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

/* utf8_ok - valid UTF-8 (shortest forms, no surrogates) without controls other than TAB */
static bool utf8_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p != '\0') {
		unsigned int n, i, cp;

		if (*p < 0x80) {
			if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
				return FALSE;
			p++;
			continue;
		}
		if (*p >= 0xc2 && *p <= 0xdf) {
			n = 1; cp = *p & 0x1f;
		} else if (*p >= 0xe0 && *p <= 0xef) {
			n = 2; cp = *p & 0x0f;
		} else if (*p >= 0xf0 && *p <= 0xf4) {
			n = 3; cp = *p & 0x07;
		} else
			return FALSE;
		for (i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return FALSE;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return FALSE;
		p += n + 1;
	}
	return TRUE;
}

/* text - a text field the store accepts: as it is when it can, else its ASCII rendering */
static const char *text(const char *value)
{
	char *out;
	size_t len;

	if (value == NULL || utf8_ok(value))
		return value;
	len = strlen(value) * 2 + 1;
	out = t_malloc0(len);
	pec_glue_ascii(value, out, len);
	return out;
}

static const char *v_sender(const struct pec_delivery_verdict *v)
{
	const struct pec_analysis *a = &v->analysis;

	return a->has_daticert && a->daticert.mittente != NULL ? a->daticert.mittente : a->from;
}

/* the original subject: daticert's oggetto for PEC messages, else the Subject */
static const char *v_subject(const struct pec_delivery_verdict *v)
{
	const struct pec_analysis *a = &v->analysis;

	return a->has_daticert && a->daticert.oggetto != NULL ? a->daticert.oggetto : a->subject;
}

static void trace_line(struct event *event, const char *name, const struct pec_delivery_verdict *v,
		       const char *recipient, time_t when, const char *extra)
{
	e_info(event, "pec-trace: event=%s identificativo=%s mittente=%s destinatario=%s oggetto=\"%s\"%s time=%ld",
	       name, field(pec_glue_identificativo(v)), field(v_sender(v)), field(recipient),
	       field(v->analysis.subject), extra, (long)when);
}

/* get_store - the process's store for st's configuration: NULL without a database (*error_r NULL) or
 * when it cannot be opened (*error_r set) */
static struct pec_trace *get_store(struct event *event, const struct pec_state *st, const char **error_r)
{
	const struct pec_config *cfg = st->rt->cfg;
	struct pec_trace_settings set = { 0 };
	struct pec_error err = { 0 };

	*error_r = NULL;
	if (store != NULL && store_pid != getpid()) {
		/* inherited across fork(): the connections belong to the parent; leave them alone */
		store = NULL;
		i_free(store_conninfo);
	}
	if (cfg->database == NULL || *cfg->database == '\0') {
		if (!warned_no_database) {
			warned_no_database = TRUE;
			if (event != NULL)
				e_warning(event, "pec: %s sets no database: trace records are written to the log only",
					  st->config_path);
			else
				i_warning("pec: %s sets no database: trace records are written to the log only",
					  st->config_path);
		}
		return NULL;
	}
	if (store != NULL && strcmp(store_conninfo, cfg->database) == 0 && store_node == cfg->node_id)
		return store;
	pec_trace_free(&store);
	i_free(store_conninfo);
	/* one connection: the process delivers one message at a time */
	set.node = cfg->node_id;
	set.max_connections = 1;
	store = pec_trace_open(cfg->database, &set, &err);
	if (store == NULL) {
		*error_r = t_strdup_printf("trace store not opened: %s", err.msg);
		return NULL;
	}
	store_conninfo = i_strdup(cfg->database);
	store_node = cfg->node_id;
	store_pid = getpid();
	return store;
}

void glue_trace_init(struct event *event, const struct pec_state *st)
{
	const char *error;

	if (st->rt->cfg->database == NULL || *st->rt->cfg->database == '\0')
		(void)get_store(event, st, &error);
}

int glue_trace_ready(struct event *event, const struct pec_state *st, const char **error_r)
{
	struct pec_error err = { 0 };
	struct pec_trace *t = get_store(event, st, error_r);

	if (t == NULL)
		return *error_r == NULL ? 0 : -1;
	if (pec_trace_ping(t, &err) < 0) {
		*error_r = t_strdup_printf("trace store unavailable: %s", err.msg);
		return -1;
	}
	return 0;
}

int glue_trace_claim(struct event *event, const struct pec_state *st, const struct pec_delivery_verdict *v,
		     const char *recipient, time_t now, const char **error_r)
{
	struct pec_error err = { 0 };
	struct pec_trace *t = get_store(event, st, error_r);
	int ret;

	if (t == NULL)
		return *error_r == NULL ? 1 : -1;
	ret = pec_trace_claim_delivery(t, text(pec_glue_identificativo(v)), text(recipient), now, NULL, 0, &err);
	if (ret < 0)
		*error_r = t_strdup_printf("trace store: delivery not claimed: %s", err.msg);
	return ret;
}

/* is_receipt - pec_trace_search callback: stop (1) at an avvenuta consegna */
static int is_receipt(const struct pec_trace_row *row, void *ctx)
{
	(void)ctx;
	return row->ev.type == PEC_TRACE_AVVENUTA_CONSEGNA ? 1 : 0;
}

int glue_trace_receipt_sent(struct event *event, const struct pec_state *st, const struct pec_delivery_verdict *v,
			    const char *recipient, const char **error_r)
{
	struct pec_error err = { 0 };
	struct pec_trace *t = get_store(event, st, error_r);
	struct pec_trace_query q = { 0 };
	int ret;

	if (t == NULL)
		return *error_r == NULL ? 1 : -1;
	q.identificativo = text(pec_glue_identificativo(v));
	q.recipient = text(recipient);
	ret = pec_trace_search(t, &q, is_receipt, NULL, &err);
	if (ret < 0) {
		*error_r = t_strdup_printf("trace store: cannot tell whether the receipt went out: %s", err.msg);
		return -1;
	}
	return ret > 0 ? 1 : 0;
}

/* record - write one event about v for recipient; the log line follows a kept record */
static int record(struct event *event, const struct pec_state *st, struct pec_trace_event *ev,
		  const struct pec_delivery_verdict *v, const char *recipient, enum pec_trace_rcpt_kind kind,
		  const char *line_name, const char *line_extra, const char **error_r)
{
	struct pec_error err = { 0 };
	struct pec_trace *t = get_store(event, st, error_r);
	struct pec_trace_rcpt rcpt;

	if (t == NULL && *error_r != NULL)
		return -1;
	if (t != NULL) {
		rcpt.address = text(recipient);
		rcpt.kind = kind;
		rcpt.cc = 0;
		ev->identificativo = text(pec_glue_identificativo(v));
		ev->sender = text(v_sender(v));
		ev->rcpts = &rcpt;
		ev->n_rcpts = 1;
		ev->subject = v_subject(v);
		if (v->analysis.has_daticert)
			ev->gestore = text(v->analysis.daticert.gestore);
		/* Message-IDs are logged in angle brackets, identifiers without (as the milter does) */
		if (ev->message_id != NULL && ev->message_id[0] != '<')
			ev->message_id = t_strdup_printf("<%s>", ev->message_id);
		ev->message_id = text(ev->message_id);
		ev->receipt_type = text(ev->receipt_type);
		if (pec_trace_record(t, ev, 1, NULL, 0, &err) < 0) {
			*error_r = t_strdup_printf("trace store: %s event not recorded: %s",
						   pec_trace_type_name(ev->type), err.msg);
			return -1;
		}
	}
	trace_line(event, line_name, v, recipient, ev->time, line_extra);
	return 0;
}

int glue_trace_delivered(struct event *event, const struct pec_state *st, const struct pec_delivery_verdict *v,
			 const char *recipient, const char *variant, const char *receipt_msgid, time_t saved_at,
			 const char **error_r)
{
	struct pec_trace_event ev = { 0 };

	ev.time = saved_at;
	ev.type = PEC_TRACE_AVVENUTA_CONSEGNA;
	ev.message_id = receipt_msgid;
	ev.receipt_type = variant;
	ev.errore = "nessuno";
	return record(event, st, &ev, v, recipient, PEC_RCPT_CERTIFICATO, "consegna",
		      t_strdup_printf(" tipo_ricevuta=%s ricevuta=%s", field(variant), field(receipt_msgid)), error_r);
}

int glue_trace_not_delivered(struct event *event, const struct pec_state *st,
			     const struct pec_delivery_verdict *v, const char *recipient,
			     const char *errore_esteso, const char *notice_msgid, time_t when, const char **error_r)
{
	struct pec_trace_event ev = { 0 };

	ev.time = when;
	ev.type = PEC_TRACE_ERRORE_CONSEGNA;
	ev.message_id = notice_msgid;
	ev.errore = strncmp(errore_esteso, "5.1.1", 5) == 0 ? "no-dest" : "altro";
	ev.errore_esteso = errore_esteso;
	return record(event, st, &ev, v, recipient, PEC_RCPT_CERTIFICATO, "mancata-consegna",
		      t_strdup_printf(" errore-esteso=\"%s\" avviso=%s", field(errore_esteso), field(notice_msgid)),
		      error_r);
}

int glue_trace_stored_plain(struct event *event, const struct pec_state *st, const struct pec_delivery_verdict *v,
			    const char *recipient, time_t when, const char **error_r)
{
	struct pec_trace_event ev = { 0 };

	ev.time = when;
	ev.type = PEC_TRACE_CONSEGNA;
	/* the stored message's own id (a receipt's or anomaly's Message-ID) */
	ev.message_id = v->analysis.message_id;
	return record(event, st, &ev, v, recipient, PEC_RCPT_CERTIFICATO, "memorizzato",
		      t_strdup_printf(" tipo=%s", field(pec_kind_name(v->analysis.kind))), error_r);
}

int glue_trace_anomaly(struct event *event, const struct pec_state *st, const struct pec_delivery_verdict *v,
		       const char *recipient, const char *reason, time_t when, const char **error_r)
{
	struct pec_trace_event ev = { 0 };

	ev.time = when;
	ev.type = PEC_TRACE_BUSTA_ANOMALIA;
	ev.errore = "altro";
	ev.errore_esteso = reason;
	return record(event, st, &ev, v, recipient, PEC_RCPT_CERTIFICATO, "anomalia",
		      t_strdup_printf(" motivo=\"%s\"", field(reason)), error_r);
}

int glue_trace_refused(struct event *event, const struct pec_state *st, const struct pec_delivery_verdict *v,
		       const char *recipient, const char *reply, time_t when, const char **error_r)
{
	struct pec_trace_event ev = { 0 };

	ev.time = when;
	ev.type = PEC_TRACE_ERRORE_CONSEGNA; /* no message_id: nothing was emitted, the MTA bounces */
	ev.errore = "altro";
	ev.errore_esteso = t_strdup_printf("5.7.1 %s", reply);
	return record(event, st, &ev, v, recipient, PEC_RCPT_CERTIFICATO, "rifiuto",
		      t_strdup_printf(" motivo=\"%s\"", field(v->reason)), error_r);
}

int glue_trace_notified(struct event *event, const struct pec_state *st, const struct pec_delivery_verdict *v,
			const char *recipient, const char *notify_to, time_t when, const char **error_r)
{
	struct pec_trace_event ev = { 0 };
	struct pec_trace_rcpt rcpts[2];
	struct pec_error err = { 0 };
	struct pec_trace *t = get_store(event, st, error_r);

	if (t == NULL && *error_r != NULL)
		return -1;
	if (t != NULL) {
		/* the mailbox the PEC was delivered to, then the ordinary address told of it */
		rcpts[0].address = text(recipient);
		rcpts[0].kind = PEC_RCPT_CERTIFICATO;
		rcpts[0].cc = 0;
		rcpts[1].address = text(notify_to);
		rcpts[1].kind = PEC_RCPT_ESTERNO;
		rcpts[1].cc = 0;
		ev.time = when;
		ev.type = PEC_TRACE_NOTIFICA;
		ev.identificativo = text(pec_glue_identificativo(v));
		ev.sender = text(v_sender(v));
		ev.rcpts = rcpts;
		ev.n_rcpts = 2;
		ev.subject = v_subject(v);
		if (pec_trace_record(t, &ev, 1, NULL, 0, &err) < 0) {
			*error_r = t_strdup_printf("trace store: notifica event not recorded: %s", err.msg);
			return -1;
		}
	}
	trace_line(event, "notifica", v, recipient, when, t_strdup_printf(" notifica_a=%s", field(notify_to)));
	return 0;
}

void glue_trace_duplicate(struct event *event, const struct pec_delivery_verdict *v, const char *recipient,
			  time_t when)
{
	trace_line(event, "duplicato", v, recipient, when, "");
}

void glue_trace_deinit(void)
{
	if (store != NULL && store_pid == getpid())
		pec_trace_free(&store);
	store = NULL;
	i_free(store_conninfo);
}
