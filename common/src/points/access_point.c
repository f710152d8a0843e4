/* access_point.c - the access point's end-of-message step (pec_access_run, access.h).
 *
 * Invariants, in the order the steps keep them:
 *  0. Nothing is certified without the provider index (it tells certificato from esterno): 4xx.
 *  1. Nothing is certified unscanned: a scanner that cannot answer is a temporary failure (a host
 *     without a scanner must say so in its configuration: allow_unscanned).
 *  2. An infected submission is quarantined and its quarantine traced before it is refused.
 *  3. Accept: the accettazione (and, for our own recipients, the presa in carico and avvisi) is spooled
 *     first, then the certification is traced, and only then is the message rewritten into the busta:
 *     a failure at any of these is a temporary failure, and a message whose rewrite failed is not
 *     queued, so its spool entry is never claimed (nothing is sent for it).  The receipts go out only
 *     when the MTA delivers the marker recipient, i.e. after it durably queued the busta.
 *  4. Refuse: when an avviso is owed (an authenticated sender), the refusal is traced, then its avviso
 *     submitted, then the client is refused; when either fails the client gets a temporary failure and
 *     retries.  Window: traced, and the avviso could not be submitted: that attempt's event stays.  A
 *     refusal that owes no avviso (not authenticated) is only answered and logged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pec/access.h"
#include "pec/answer.h"
#include "pec/effects.h"
#include "pec/mime.h"
#include "pec/mta.h"
#include "pec/reception.h"
#include "pec/quarantine.h"
#include "points_internal.h"

/* trace_submission - the submitted message, its recipients and one event, in one transaction */
static int trace_submission(const struct pec_effects *fx, const struct pec_access_ctx *ctx,
                            const struct pec_access_verdict *v, enum pec_trace_type type, const char *qid,
                            const char *virus, struct pec_error *err)
{
    const struct pec_daticert *d = &v->facts;
    struct pec_trace_rcpt *rcpts = calloc(d->n_destinatari + 1, sizeof(*rcpts));
    struct pec_trace_message m = { 0 };
    struct pec_trace_event ev = { 0 };
    char msgid[PEC_ID_MAX + 2];
    enum pec_errore errore = type == PEC_TRACE_BUSTA_TRASPORTO ? PEC_ERRORE_NESSUNO
                             : virus                           ? PEC_ERRORE_VIRUS
                                                               : PEC_ERRORE_ALTRO;
    int rc;

    if (rcpts == NULL)
        pec_panic("out of memory");
    for (size_t i = 0; i < d->n_destinatari; i++) {
        rcpts[i].address = d->destinatari[i].addr;
        rcpts[i].kind = d->destinatari[i].esterno ? PEC_RCPT_ESTERNO : PEC_RCPT_CERTIFICATO;
        rcpts[i].cc = i >= v->n_to;
    }
    m.identificativo = v->identificativo;
    m.client_msgid = d->msgid;
    m.sender = d->mittente;
    m.reply_to = d->risposte;
    m.subject = d->oggetto;
    m.receipt_type = type == PEC_TRACE_BUSTA_TRASPORTO ? pec_ricevuta_name(d->ricevuta) : NULL;
    m.queue_id = qid;
    m.accepted_at = v->when;
    m.rcpts = rcpts;
    m.n_rcpts = d->n_destinatari;
    snprintf(msgid, sizeof(msgid), "<%s>", type == PEC_TRACE_BUSTA_TRASPORTO ? v->identificativo : v->receipt_id);
    ev.time = v->when;
    ev.type = type;
    ev.identificativo = v->identificativo;
    ev.message_id = msgid;
    ev.queue_id = qid;
    ev.sender = d->mittente;
    ev.rcpts = rcpts;
    ev.n_rcpts = d->n_destinatari;
    ev.subject = d->oggetto;
    ev.gestore = ctx->cfg->provider_name;
    ev.receipt_type = m.receipt_type;
    ev.errore = pec_errore_name(errore);
    ev.errore_esteso = errore == PEC_ERRORE_NESSUNO ? NULL : virus ? virus : v->reply_text;
    ev.virus = virus;
    rc = fx->trace_accept(fx->ctx, &m, &ev, 1, err);
    free(rcpts);
    return rc;
}

/* quarantine_submission - keep an infected submission and trace where (it is refused, never queued) */
static int quarantine_submission(const struct pec_effects *fx, const struct pec_access_txn *t,
                                 const struct pec_access_verdict *v, const char *virus, struct pec_error *err)
{
    size_t len;
    const void *raw = pec_access_raw(t, &len);
    char name[PEC_QUARANTINE_NAME_MAX];

    pec_quarantine_name(v->identificativo, name);
    if (fx->quarantine(fx->ctx, name, raw, len, err) < 0)
        return -1;
    return points_trace_quarantine(fx, v->identificativo, v->when, virus, name, pec_access_mail_from(t),
                                   PEC_TRACE_NON_ACCETTAZIONE_VIRUS, err);
}

/* own_reception - a busta between two users of this provider never crosses the port-25 reception
 * point, yet gets the complete treatment (RFC 6109 §3.4): run the reception point here for our own
 * recipients, for its presa in carico and the avvisi for mailboxes we do not have.  0 with *r filled,
 * -1 when there is nothing to do (no local recipient, or our own busta not recognised: logged) */
static int own_reception(const struct pec_access_point *p, const struct pec_effects *fx,
                         const struct pec_access_txn *t, const struct pec_access_verdict *v,
                         struct pec_reception_verdict *r)
{
    const struct pec_strv *rcpts = pec_access_rcpts(t);
    struct pec_strv local = PEC_STRV_INIT;
    struct pec_error err = { 0 };
    int rc = -1;

    if (p->reception == NULL)
        return -1;
    for (size_t i = 0; i < rcpts->n; i++)
        if (pec_config_manages(p->reception->cfg, pec_addr_domain(rcpts->v[i])))
            pec_strv_push(&local, rcpts->v[i]);
    if (local.n > 0 && pec_reception_decide(p->reception, v->busta.data, v->busta.len, (const char *const *)local.v,
                                            local.n, NULL, v->when, r, &err) == 0) {
        if (r->analysis.valid && r->analysis.kind == PEC_KIND_BUSTA_TRASPORTO)
            rc = 0;
        else {
            pec_effects_log(fx, PEC_LOG_WARN,
                            "id=%s: our own busta is not valid at our reception point (is this provider in the "
                            "index?): %s", v->identificativo, r->analysis.errors.n ? r->analysis.errors.v[0] : "");
            pec_reception_verdict_clear(r);
        }
    } else if (local.n > 0) {
        pec_reception_verdict_clear(r);
        pec_effects_log(fx, PEC_LOG_WARN, "id=%s: reception of our own busta: %s", v->identificativo, err.msg);
    }
    pec_strv_clear(&local);
    return rc;
}

/* accept - invariant 3 */
static void accept(struct pec_access_txn *t, const struct pec_access_point *p, const struct pec_effects *fx,
                   const struct pec_mta_edits *mta, const char *qid, struct pec_access_verdict *v,
                   struct pec_answer *a)
{
    struct pec_reception_verdict local;
    int have_local = own_reception(p, fx, t, v, &local) == 0;
    size_t n_owed = 1 + (have_local ? local.n_out : 0);
    struct pec_owed *owed = calloc(n_owed, sizeof(*owed));
    struct pec_error err = { 0 };
    char key[PEC_OUTBOX_KEY_MAX];

    if (owed == NULL)
        pec_panic("out of memory");
    owed[0] = (struct pec_owed){ v->receipt_to, v->receipt.data, v->receipt.len, v->receipt_facts.data,
                                 v->receipt_facts.len };
    for (size_t i = 1; i < n_owed; i++) {
        const struct pec_outgoing *o = &local.out[i - 1];
        owed[i] = (struct pec_owed){ o->to, o->bytes.data, o->bytes.len, o->facts.data, o->facts.len };
    }
    if (fx->spool(fx->ctx, owed, n_owed, NULL, key, &err) < 0 ||
        trace_submission(fx, pec_access_context(t), v, PEC_TRACE_BUSTA_TRASPORTO, qid, NULL, &err) < 0) {
        points_tempfail(fx, qid, &err, a);
    } else if (pec_mta_replace_message(mta, pec_access_header_names(t), v->busta.data, v->busta.len,
                                       v->busta_body_offset) < 0 ||
               points_add_marker(mta, key, p->marker_domain) < 0 ||
               (have_local && pec_mta_delete_rcpts(mta, &local.drop_rcpts) < 0)) {
        pec_error_set(&err, PEC_ERR_TEMPORARY, "cannot rewrite the message into the busta");
        points_tempfail(fx, qid, &err, a);
    } else {
        pec_effects_log(fx, PEC_LOG_INFO, "%s: id=%s: accettazione: mittente=%s destinatari=%zu", qid,
                        v->identificativo, pec_access_mail_from(t), pec_access_rcpts(t)->n);
        pec_answer_continue(a);
    }
    free(owed);
    if (have_local)
        pec_reception_verdict_clear(&local);
}

/* refuse - invariant 4 */
static void refuse(struct pec_access_txn *t, const struct pec_effects *fx, const char *qid,
                   const struct pec_access_verdict *v, const char *virus, struct pec_answer *a)
{
    const struct pec_access_ctx *ctx = pec_access_context(t);
    struct pec_error err = { 0 };

    if (v->receipt.len > 0 &&
        (trace_submission(fx, ctx, v, virus ? PEC_TRACE_NON_ACCETTAZIONE_VIRUS : PEC_TRACE_NON_ACCETTAZIONE, qid,
                          virus, &err) < 0 ||
         fx->submit(fx->ctx, ctx->issuer->service_address, v->receipt_to, v->receipt.data, v->receipt.len, &err) < 0)) {
        points_tempfail(fx, qid, &err, a);
        return;
    }
    pec_effects_log(fx, PEC_LOG_INFO, "%s: id=%s: non-accettazione: check=%s mittente=%s", qid, v->identificativo,
                    pec_access_check_name(v->failed), pec_access_mail_from(t));
    pec_answer_reply(a, v->reply_code, v->reply_xcode, v->reply_text);
}

/* pec_access_run - invariants 1 and 2, then accept or refuse */
void pec_access_run(struct pec_access_txn *t, const struct pec_access_point *p, const struct pec_effects *fx,
                    const struct pec_mta_edits *mta, const char *queue_id, struct pec_answer *a)
{
    struct pec_access_verdict v;
    struct pec_error err = { 0 };
    char virus[PEC_VIRUS_NAME_MAX];
    size_t len;
    const void *raw = pec_access_raw(t, &len);
    int infected;

    if (pec_access_context(t)->index == NULL) { /* certificato or esterno cannot be told without it */
        pec_error_set(&err, PEC_ERR_TEMPORARY, "no provider index: not certifying");
        points_tempfail(fx, queue_id, &err, a);
        return;
    }
    infected = fx->scan(fx->ctx, raw, len, virus, sizeof(virus), &err);
    if (infected < 0 || pec_access_end(t, fx->now(fx->ctx), infected ? virus : NULL, &v, &err) < 0) {
        points_tempfail(fx, queue_id, &err, a);
        return;
    }
    if (infected && quarantine_submission(fx, t, &v, virus, &err) < 0)
        points_tempfail(fx, queue_id, &err, a);
    else if (v.action == PEC_ACCESS_ACCEPT)
        accept(t, p, fx, mta, queue_id, &v, a);
    else
        refuse(t, fx, queue_id, &v, infected ? virus : NULL, a);
    pec_access_verdict_clear(&v);
}
