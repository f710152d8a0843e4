/* delivery.c - the delivery point's decisions and the receipts it emits. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "mime_internal.h"
#include "pec/anomaly.h"
#include "pec/clock.h"
#include "pec/delivery.h"
#include "pec/log.h"
#include "pec/text.h"

/* pec_delivery_action_name - stable names for logs and the trace */
const char *pec_delivery_action_name(enum pec_delivery_action a)
{
    switch (a) {
    case PEC_DELIVERY_STORE_CERTIFIED: return "store-certified";
    case PEC_DELIVERY_STORE_PLAIN: return "store-plain";
    case PEC_DELIVERY_STORE_WRAPPED: return "store-wrapped";
    case PEC_DELIVERY_REFUSE: return "refuse";
    }
    return "unknown";
}

/* recipient_in_to - 0 only when the recipient is a Cc recipient and not a To one (§2.8: ambiguous
 * membership counts as To) */
static int recipient_in_to(const void *raw, size_t len, const char *recipient)
{
    struct pec_strv to = PEC_STRV_INIT, cc = PEC_STRV_INIT;
    GMimeMessage *m = mime_parse(raw, len, NULL);
    const char *v;
    int in_to = 1;

    if (m == NULL)
        return 1;
    if ((v = mime_header(GMIME_OBJECT(m), "To")) != NULL)
        pec_addr_list_parse(v, &to, NULL);
    if ((v = mime_header(GMIME_OBJECT(m), "Cc")) != NULL)
        pec_addr_list_parse(v, &cc, NULL);
    if (pec_strv_has(&cc, recipient) && !pec_strv_has(&to, recipient))
        in_to = 0;
    pec_strv_clear(&to);
    pec_strv_clear(&cc);
    g_object_unref(m);
    return in_to;
}

/* requested_receipt - the receipt type the sender asked for: X-TipoRicevuta, else the daticert */
static enum pec_ricevuta requested_receipt(const struct pec_analysis *a)
{
    enum pec_ricevuta r = a->x_tiporicevuta ? pec_ricevuta_from_name(a->x_tiporicevuta) : PEC_RICEVUTA_NONE;

    if (r == PEC_RICEVUTA_NONE && a->has_daticert)
        r = a->daticert.ricevuta;
    return r;
}

/* summarise_errors - the first problems, joined, for the log */
static void summarise_errors(const struct pec_analysis *a, char *out, size_t outlen)
{
    size_t used = 0;

    out[0] = '\0';
    for (size_t i = 0; i < a->errors.n && i < 3 && used + 1 < outlen; i++) {
        int n = snprintf(out + used, outlen - used, "%s%s", i ? "; " : "", a->errors.v[i]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    if (out[0] == '\0')
        snprintf(out, outlen, "il messaggio non è un messaggio di posta certificata valido");
}

/* pec_delivery_decide - analyse and decide */
int pec_delivery_decide(const struct pec_delivery_ctx *ctx, const struct pec_delivery_input *in,
                        struct pec_delivery_verdict *v, struct pec_error *err)
{
    struct pec_analyze_opts opts = { ctx->trust, ctx->index, in->now };
    const struct pec_analysis *a = &v->analysis;
    enum pec_anomaly cause;

    memset(v, 0, sizeof(*v));
    if (pec_message_analyze(in->raw, in->len, &opts, &v->analysis, err) < 0)
        return -1;
    if (a->valid && a->kind == PEC_KIND_BUSTA_TRASPORTO) {
        v->action = PEC_DELIVERY_STORE_CERTIFIED;
        v->variant = pec_consegna_variant(requested_receipt(a), recipient_in_to(in->raw, in->len, in->recipient));
        return 0;
    }
    if (a->valid) {
        v->action = PEC_DELIVERY_STORE_PLAIN; /* receipts and anomalies: no receipt of their own */
        return 0;
    }
    summarise_errors(a, v->reason, sizeof(v->reason));
    /* what our reception point let through for wrapping is wrapped for any mailbox, with its cause */
    cause = pec_anomaly_by_name(a->anomaly_mark);
    if (cause == PEC_ANOMALY_NONE && !in->accepts_ordinary) {
        /* unmarked: it came from our own MTA (its bounces), not through a reception point */
        int answer = a->gestore_signed ? 0 : pec_inreply_answers(in->raw, in->len, &in->recipient, 1, in->sent,
                                                                 in->sent_ctx, err);

        if (answer < 0)
            return -1;
        if (answer == 0) {
            v->action = PEC_DELIVERY_REFUSE;
            return 0;
        }
        cause = PEC_ANOMALY_ANSWER;
    }
    if (cause == PEC_ANOMALY_NONE)
        cause = pec_anomaly_of(a);
    {
        struct pec_compose c = { 0 };
        char msgid[PEC_ID_MAX];

        c.type = PEC_MSG_BUSTA_ANOMALIA;
        c.when = in->now;
        c.original = in->raw;
        c.original_len = in->len;
        c.reason = pec_anomaly_text(cause); /* the user's reason; the analyser's stays in v->reason */
        if (pec_compose_build(ctx->issuer, &c, &v->wrapped, msgid, err) < 0)
            return -1;
    }
    v->action = PEC_DELIVERY_STORE_WRAPPED;
    return 0;
}

/* pec_delivery_verdict_clear - free and zero */
void pec_delivery_verdict_clear(struct pec_delivery_verdict *v)
{
    pec_analysis_clear(&v->analysis);
    pec_buf_release(&v->wrapped);
    memset(v, 0, sizeof(*v));
}

/* pec_delivery_receipt_to - where a receipt about this busta goes: the reverse path, else the certified
 * sender */
const char *pec_delivery_receipt_to(const struct pec_delivery_input *in, const struct pec_delivery_verdict *v)
{
    if (in->reverse_path && *in->reverse_path)
        return in->reverse_path;
    if (v->analysis.has_daticert && v->analysis.daticert.mittente && *v->analysis.daticert.mittente)
        return v->analysis.daticert.mittente;
    return NULL;
}

/* ascii_append - append text as printable US-ASCII at out[*used] */
static void ascii_append(const char *text, char *out, size_t outlen, size_t *used)
{
    if (*used < outlen)
        *used += pec_text_ascii(text, out + *used, outlen - *used);
}

/* pec_delivery_refusal_text - one ASCII line for the 5xx reply of a refusal */
char *pec_delivery_refusal_text(const struct pec_delivery_input *in, const struct pec_delivery_verdict *v,
                                char *out, size_t outlen)
{
    const char *problem = v->analysis.errors.n > 0 ? v->analysis.errors.v[0] : v->reason;
    size_t used = 0;

    if (outlen == 0)
        return out;
    out[0] = '\0';
    ascii_append("Messaggio rifiutato: la casella ", out, outlen, &used);
    ascii_append(in->recipient && *in->recipient ? in->recipient : "di destinazione", out, outlen, &used);
    ascii_append(" accetta solo posta certificata", out, outlen, &used);
    if (problem && *problem && outlen > 8) {
        ascii_append(" (", out, outlen, &used);
        ascii_append(problem, out, outlen, &used);
        /* the closing parenthesis always fits: cut the problem to make room */
        if (used + 2 > outlen)
            used = outlen - 2;
        out[used++] = ')';
        out[used] = '\0';
    }
    return out;
}

/* emit_about - build a receipt about the stored/refused busta with the facts adjusted by the caller */
static int emit_about(const struct pec_delivery_ctx *ctx, const struct pec_delivery_input *in,
                      const struct pec_delivery_verdict *v, struct pec_compose *c, struct pec_daticert *facts,
                      struct pec_buf *out, char msgid_out[PEC_ID_MAX], struct pec_error *err)
{
    const char *to[1];

    if (v->action != PEC_DELIVERY_STORE_CERTIFIED || !v->analysis.has_daticert) {
        pec_error_set(err, PEC_ERR_INTERNAL, "receipt requested for a message that is not a valid busta");
        return -1;
    }
    to[0] = pec_delivery_receipt_to(in, v);
    facts->consegna = (char *)in->recipient;
    facts->n_ricezione = 0;
    facts->ricezione = NULL;
    c->facts = facts;
    c->to = to;
    c->n_to = 1;
    return pec_compose_build(ctx->issuer, c, out, msgid_out, err);
}

/* pec_delivery_consegna - avvenuta consegna dated at the save */
int pec_delivery_consegna(const struct pec_delivery_ctx *ctx, const struct pec_delivery_input *in,
                          const struct pec_delivery_verdict *v, time_t saved_at, const char *msgid,
                          struct pec_buf *out, char msgid_out[PEC_ID_MAX], struct pec_error *err)
{
    struct pec_daticert facts = v->analysis.daticert;
    struct pec_compose c = { 0 };

    facts.errore = PEC_ERRORE_NESSUNO;
    facts.errore_esteso = NULL;
    facts.ricevuta = v->variant;
    c.type = PEC_MSG_AVVENUTA_CONSEGNA;
    c.when = saved_at;
    c.message_id = msgid;
    c.original = in->raw;
    c.original_len = in->len;
    return emit_about(ctx, in, v, &c, &facts, out, msgid_out, err);
}

/* pec_delivery_mancata - avviso di mancata consegna */
int pec_delivery_mancata(const struct pec_delivery_ctx *ctx, const struct pec_delivery_input *in,
                         const struct pec_delivery_verdict *v, enum pec_delivery_failure f, time_t when,
                         const char *msgid, struct pec_buf *out, char msgid_out[PEC_ID_MAX], struct pec_error *err)
{
    struct pec_daticert facts = v->analysis.daticert;
    struct pec_compose c = { 0 };
    char esteso[256];

    pec_compose_errore_esteso(ctx->issuer->gestore, f, esteso, sizeof(esteso));
    facts.errore = f == PEC_DELIVERY_FAIL_NO_MAILBOX ? PEC_ERRORE_NO_DEST : PEC_ERRORE_ALTRO;
    facts.errore_esteso = esteso;
    facts.ricevuta = PEC_RICEVUTA_NONE;
    c.type = PEC_MSG_ERRORE_CONSEGNA;
    c.when = when;
    c.reason = esteso;
    c.message_id = msgid;
    return emit_about(ctx, in, v, &c, &facts, out, msgid_out, err);
}

/* pec_delivery_notification - a short plain-text notice, without the message's content */
void pec_delivery_notification(const struct pec_delivery_ctx *ctx, const struct pec_delivery_input *in,
                               const struct pec_delivery_verdict *v, const char *notify_to, time_t when,
                               struct pec_buf *out)
{
    GMimeMessage *m;
    GMimePart *text;
    struct pec_legal_time lt;
    char date[64], id[PEC_ID_MAX], *body, *bracketed;
    const char *from = v->analysis.has_daticert ? v->analysis.daticert.mittente : v->analysis.from;

    pec_mime_init();
    pec_legal_time(when, &lt);
    pec_rfc5322_date(when, date, sizeof(date));
    pec_idgen_next(ctx->issuer->ids, when, id);
    m = g_mime_message_new(FALSE);
    g_mime_object_append_header(GMIME_OBJECT(m), "Date", date, NULL);
    g_mime_object_append_header(GMIME_OBJECT(m), "From", ctx->issuer->service_address, NULL);
    g_mime_object_append_header(GMIME_OBJECT(m), "To", notify_to, "utf-8");
    g_mime_object_append_header(GMIME_OBJECT(m), "Subject", "Nuovo messaggio di posta certificata", "utf-8");
    bracketed = g_strdup_printf("<%s>", id);
    g_mime_object_append_header(GMIME_OBJECT(m), "Message-ID", bracketed, NULL);
    g_free(bracketed);
    g_mime_object_append_header(GMIME_OBJECT(m), "Auto-Submitted", "auto-generated", NULL);
    body = g_strdup_printf("Il giorno %s alle ore %s (%s) nella casella di posta certificata\n%s\n"
                           "è stato consegnato un nuovo messaggio di posta certificata inviato da\n%s\n\n"
                           "Per leggerlo acceda alla sua casella di posta certificata.\n",
                           lt.giorno, lt.ora, lt.zona, in->recipient, from ? from : "(mittente sconosciuto)");
    text = mime_text_part("plain", body);
    g_mime_message_set_mime_part(m, GMIME_OBJECT(text));
    mime_write(GMIME_OBJECT(m), out);
    g_object_unref(text);
    g_object_unref(m);
    g_free(body);
}
