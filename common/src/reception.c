/* reception.c - the reception point: what arrives from outside, and what the provider owes for it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "mime_internal.h"
#include "pec/inreply.h"
#include "pec/log.h"
#include "pec/reception.h"
#include "pec/trace_facts.h"

/* set_reply - an SMTP refusal */
static void set_reply(struct pec_reception_verdict *v, const char *code, const char *xcode, const char *text)
{
    v->action = PEC_RECEPTION_REJECT;
    snprintf(v->reply_code, sizeof(v->reply_code), "%s", code);
    snprintf(v->reply_xcode, sizeof(v->reply_xcode), "%s", xcode);
    snprintf(v->reply_text, sizeof(v->reply_text), "%s", text);
}

/* emit - build one signed message into the verdict's outgoing list */
static int emit(const struct pec_reception_ctx *ctx, struct pec_reception_verdict *v, enum pec_msgtype type,
                const char *to, const struct pec_daticert *facts, const char *virus, const char *x_mittente,
                time_t now, struct pec_error *err)
{
    struct pec_outgoing *o;
    struct pec_compose c = { 0 };
    const char *tos[1] = { to };

    v->out = realloc(v->out, (v->n_out + 1) * sizeof(*v->out));
    if (v->out == NULL)
        pec_panic("out of memory");
    o = &v->out[v->n_out];
    memset(o, 0, sizeof(*o));
    o->type = type;
    if ((o->to = strdup(to)) == NULL)
        pec_panic("out of memory");
    v->n_out++;
    c.type = type;
    c.when = now;
    c.facts = facts;
    c.to = tos;
    c.n_to = 1;
    c.virus = virus;
    c.x_mittente = x_mittente;
    c.reason = facts->errore_esteso;
    if (pec_compose_build(ctx->issuer, &c, &o->bytes, o->msgid, err) < 0)
        return -1;
    if (pec_trace_facts_compose(ctx->issuer, &c, o->msgid, &o->facts) < 0)
        pec_panic("trace facts of a %s: none", pec_msgtype_name(c.type)); /* every receipt has them */
    return 0;
}

/* sending_provider_mailbox - where presa in carico and rilevazione virus go: the signer's mailReceipt,
 * else the service address in the busta's From */
static const char *sending_provider_mailbox(const struct pec_analysis *a, GMimeMessage *m, char *buf, size_t len)
{
    InternetAddressList *from;

    if (a->provider)
        return pec_provider_mail_receipt(a->provider);
    from = m ? g_mime_message_get_from(m) : NULL;
    if (from && internet_address_list_length(from) > 0) {
        InternetAddress *ia = internet_address_list_get_address(from, 0);
        if (INTERNET_ADDRESS_IS_MAILBOX(ia)) {
            snprintf(buf, len, "%s", internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia)));
            return buf;
        }
    }
    return NULL;
}

/* policy_of - the mailbox policy of an envelope recipient (unknown outside our domains) */
static enum pec_mailbox_policy policy_of(const struct pec_reception_ctx *ctx, const char *rcpt)
{
    if (!pec_config_manages(ctx->cfg, pec_addr_domain(rcpt)))
        return PEC_MAILBOX_UNKNOWN;
    return ctx->mailbox_policy ? ctx->mailbox_policy(ctx->policy_ctx, rcpt) : PEC_MAILBOX_PEC_ONLY;
}

/* busta - a valid busta di trasporto: presa in carico, no-dest notices, or the virus path */
static int busta(const struct pec_reception_ctx *ctx, const char *const *rcpts,
                 const enum pec_mailbox_policy *policy, size_t n, const char *virus,
                 time_t now, struct pec_reception_verdict *v, GMimeMessage *m, struct pec_error *err)
{
    const struct pec_daticert *d = &v->analysis.daticert;
    struct pec_strv taken = PEC_STRV_INIT;
    struct pec_daticert f;
    char buf[320], esteso[256];
    const char *provider_box = sending_provider_mailbox(&v->analysis, m, buf, sizeof(buf));
    int rc = 0;

    for (size_t i = 0; i < n && rc == 0; i++) {
        if (policy[i] != PEC_MAILBOX_UNKNOWN) {
            pec_strv_push(&taken, rcpts[i]);
            continue;
        }
        /* RFC 6109 §3.3.3: a certified sender learns of an unknown address from a signed notice */
        pec_strv_push(&v->drop_rcpts, rcpts[i]);
        f = *d;
        f.consegna = (char *)rcpts[i];
        f.errore = PEC_ERRORE_NO_DEST;
        pec_compose_errore_esteso(ctx->issuer->gestore, PEC_DELIVERY_FAIL_NO_MAILBOX, esteso, sizeof(esteso));
        f.errore_esteso = esteso;
        f.ricevuta = PEC_RICEVUTA_NONE;
        f.ricezione = NULL;
        f.n_ricezione = 0;
        rc = emit(ctx, v, PEC_MSG_ERRORE_CONSEGNA, d->mittente, &f, NULL, NULL, now, err);
    }
    if (rc == 0 && taken.n > 0 && provider_box) {
        f = *d;
        f.consegna = NULL;
        f.errore_esteso = NULL;
        f.ricevuta = PEC_RICEVUTA_NONE;
        f.ricezione = taken.v;
        f.n_ricezione = taken.n;
        rc = emit(ctx, v, PEC_MSG_PRESA_IN_CARICO, provider_box, &f, NULL, NULL, now, err);
    }
    /* §2.10: a virus found after the formal checks: one rilevazione per recipient, nothing delivered.
     * When the sender is one of our users the rilevazione stays in our service mailbox and never crosses
     * a reception point, so the avviso di mancata consegna per virus it would cause is emitted here. */
    for (size_t i = 0; rc == 0 && virus && provider_box && i < taken.n; i++) {
        f = *d;
        f.consegna = taken.v[i];
        f.ricevuta = PEC_RICEVUTA_NONE;
        f.ricezione = NULL;
        f.n_ricezione = 0;
        f.errore_esteso = (char *)virus;
        rc = emit(ctx, v, PEC_MSG_RILEVAZIONE_VIRUS, provider_box, &f, virus, d->mittente, now, err);
        if (rc == 0 && d->mittente && pec_config_manages(ctx->cfg, pec_addr_domain(d->mittente))) {
            f.errore = PEC_ERRORE_VIRUS;
            rc = emit(ctx, v, PEC_MSG_ERRORE_CONSEGNA_VIRUS, d->mittente, &f, virus, NULL, now, err);
        }
    }
    v->action = virus || taken.n == 0 ? PEC_RECEPTION_DISCARD : PEC_RECEPTION_ACCEPT;
    pec_strv_clear(&taken);
    return rc;
}

/* receipt - a valid receipt: delivered as it is; a rilevazione virus also owes our sender a notice */
static int receipt(const struct pec_reception_ctx *ctx, time_t now, struct pec_reception_verdict *v,
                   struct pec_error *err)
{
    const struct pec_analysis *a = &v->analysis;
    struct pec_daticert f;
    const char *sender;

    v->action = PEC_RECEPTION_ACCEPT;
    if (a->tipo != PEC_TIPO_RILEVAZIONE_VIRUS)
        return 0;
    sender = a->x_mittente ? a->x_mittente : a->daticert.mittente;
    f = a->daticert;
    f.errore = PEC_ERRORE_VIRUS;
    f.ricevuta = PEC_RICEVUTA_NONE;
    f.ricezione = NULL;
    f.n_ricezione = 0;
    return emit(ctx, v, PEC_MSG_ERRORE_CONSEGNA_VIRUS, sender, &f, a->daticert.errore_esteso, NULL, now, err);
}

/* ordinary - not valid PEC: wrapped at delivery when every recipient takes ordinary mail, else refused;
 * what a listed provider signed validly but that fails a formal check is wrapped for every mailbox of
 * ours (PEC-RULES §5.2: the recipient learns a PEC message arrived broken) */
static void ordinary(const enum pec_mailbox_policy *policies, size_t n, const char *virus,
                     int envelope_ok, struct pec_reception_verdict *v)
{
    enum pec_anomaly cause = pec_anomaly_of(&v->analysis);

    /* a valid busta sent on to someone it does not certify is a replay, not a broken PEC message */
    if (cause == PEC_ANOMALY_FORMAL && !envelope_ok)
        cause = PEC_ANOMALY_ORDINARY;

    if (virus) {
        set_reply(v, "554", "5.7.0", "Virus rilevato nel messaggio / Virus found in the message");
        return;
    }
    v->answerable = !v->analysis.gestore_signed; /* a provider's signed mail answers as PEC, or is a replay */
    for (size_t i = 0; i < n; i++) {
        enum pec_mailbox_policy policy = policies[i];

        if (policy == PEC_MAILBOX_UNKNOWN)
            v->answerable = 0;
        if (policy == PEC_MAILBOX_UNKNOWN || (policy == PEC_MAILBOX_PEC_ONLY && cause != PEC_ANOMALY_FORMAL))
            set_reply(v, "554", "5.7.1",
                      "Indirizzo destinatario sconosciuto o non abilitato alla ricezione di posta non "
                      "certificata / Recipient unknown or not accepting non-certified mail");
    }
    if (v->action == PEC_RECEPTION_REJECT)
        return;
    v->answerable = 0;
    v->action = PEC_RECEPTION_ACCEPT;
    v->anomaly = cause;
}

/* check_envelope - a busta certifies its recipients (PEC-RULES §2.3: the forward path is the original's):
 * one that reaches an envelope recipient its daticert does not name is not valid PEC here, whatever its
 * signature, and takes the way of every message that is not */
static int check_envelope(struct pec_analysis *a, const char *const *rcpts, size_t n)
{
    char buf[512];
    int ok = 1;

    if (a->kind != PEC_KIND_BUSTA_TRASPORTO || !a->has_daticert)
        return 1;
    for (size_t i = 0; i < n; i++) {
        int found = 0;

        for (size_t k = 0; k < a->daticert.n_destinatari && !found; k++)
            found = a->daticert.destinatari[k].addr && strcasecmp(a->daticert.destinatari[k].addr, rcpts[i]) == 0;
        if (found)
            continue;
        snprintf(buf, sizeof(buf), "envelope recipient %.400s is not among the daticert <destinatari>", rcpts[i]);
        if (!pec_strv_has(&a->errors, buf))
            pec_strv_push(&a->errors, buf);
        a->valid = 0;
        ok = 0;
    }
    return ok;
}

/* pec_reception_decide - classify and decide */
int pec_reception_decide(const struct pec_reception_ctx *ctx, const void *raw, size_t len,
                         const char *const *rcpts, size_t n_rcpts, const char *virus, time_t now,
                         struct pec_reception_verdict *v, struct pec_error *err)
{
    struct pec_analyze_opts opts = { ctx->trust, ctx->index, now };
    const struct pec_analysis *a = &v->analysis;
    GMimeMessage *m;
    enum pec_mailbox_policy *policy;
    int rc = 0, envelope_ok;

    memset(v, 0, sizeof(*v));
    /* who our recipients are, asked once, before anything is judged: a list that cannot answer is a 4xx */
    if ((policy = calloc(n_rcpts ? n_rcpts : 1, sizeof(*policy))) == NULL)
        pec_panic("out of memory");
    for (size_t i = 0; i < n_rcpts; i++)
        if ((policy[i] = policy_of(ctx, rcpts[i])) == PEC_MAILBOX_LOOKUP_FAILED) {
            pec_error_set(err, PEC_ERR_TEMPORARY, "mailbox %.200s: the list of mailboxes did not answer", rcpts[i]);
            free(policy);
            return -1;
        }
    if (pec_message_analyze(raw, len, &opts, &v->analysis, err) < 0) {
        free(policy);
        return -1;
    }
    envelope_ok = check_envelope(&v->analysis, rcpts, n_rcpts);
    if (a->has_daticert && a->daticert.identificativo)
        snprintf(v->identificativo, sizeof(v->identificativo), "%s", a->daticert.identificativo);
    if (!a->valid) {
        ordinary(policy, n_rcpts, virus, envelope_ok, v);
        free(policy);
        return 0;
    }
    m = mime_parse(raw, len, NULL);
    if (a->kind == PEC_KIND_BUSTA_TRASPORTO)
        rc = busta(ctx, rcpts, policy, n_rcpts, virus, now, v, m, err);
    else if (a->kind == PEC_KIND_RICEVUTA)
        rc = receipt(ctx, now, v, err);
    else
        v->action = PEC_RECEPTION_ACCEPT; /* another provider's anomaly envelope: delivered as it is */
    if (m)
        g_object_unref(m);
    free(policy);
    return rc;
}

/* pec_reception_answer - see reception.h */
int pec_reception_answer(struct pec_reception_verdict *v, const void *raw, size_t len, const char *const *rcpts,
                         size_t n_rcpts, pec_inreply_sent_fn sent, void *sent_ctx, struct pec_error *err)
{
    int rc;

    if (v->action != PEC_RECEPTION_REJECT || !v->answerable)
        return 0;
    if ((rc = pec_inreply_answers(raw, len, rcpts, n_rcpts, sent, sent_ctx, err)) == 1) {
        v->action = PEC_RECEPTION_ACCEPT;
        v->anomaly = PEC_ANOMALY_ANSWER;
        v->answerable = 0;
        v->reply_code[0] = v->reply_xcode[0] = v->reply_text[0] = '\0';
    }
    return rc;
}

/* pec_reception_verdict_clear - free and zero */
void pec_reception_verdict_clear(struct pec_reception_verdict *v)
{
    for (size_t i = 0; i < v->n_out; i++) {
        free(v->out[i].to);
        pec_buf_release(&v->out[i].bytes);
        pec_buf_release(&v->out[i].facts);
    }
    free(v->out);
    pec_strv_clear(&v->drop_rcpts);
    pec_analysis_clear(&v->analysis);
    memset(v, 0, sizeof(*v));
}
