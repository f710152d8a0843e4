/* reception_point.c - the reception point's transaction and end-of-message step (reception.h).
 *
 * Invariants, in the order the steps keep them:
 *  0. Nothing is judged without trust anchors and a provider index: a temporary failure instead.
 *  1. Nothing is taken in charge unscanned: a scanner that cannot answer is a temporary failure (a host
 *     without a scanner must say so in its configuration: allow_unscanned).
 *  1b. Ordinary mail refused only because a mailbox takes PEC only is looked up in the trace first: a
 *     bounce or a reply to a message that mailbox sent is delivered wrapped; a lookup that fails is a
 *     temporary failure.
 *  2. What the message means for the trace (a busta received, a quarantine, a receipt settling the
 *     state of one of our recipients) is recorded before anything is accepted; a failed record is a
 *     temporary failure, so the sending provider retries and no receipt goes out untraced.
 *  3. The message is then edited (forged marks removed, recipients handled by an avviso removed, the
 *     anomaly mark added) and the owed messages spooled behind a marker recipient: they are sent only
 *     once the MTA has durably queued the message.  Any failure: temporary, nothing queued.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "pec/log.h"
#include "pec/mta.h"
#include "pec/reception.h"
#include "pec/trace_facts.h"
#include "pec/quarantine.h"
#include "points_internal.h"

struct pec_reception_txn {
    const struct pec_reception_ctx *ctx;
    char *mail_from;              /* the reverse path, without <> ("" for a bounce) */
    struct pec_strv rcpts;
    struct pec_strv header_names; /* every field seen, our mark among them if it was forged */
    struct pec_buf raw;           /* the message as received, without our mark */
};

/* push_bare - append an envelope address without its <> */
static void push_bare(struct pec_strv *sv, const char *addr)
{
    size_t n = strlen(addr);
    char *s = n >= 2 && addr[0] == '<' && addr[n - 1] == '>' ? strndup(addr + 1, n - 2) : strdup(addr);

    if (s == NULL)
        pec_panic("out of memory");
    pec_strv_push(sv, s);
    free(s);
}

/* pec_reception_begin - a new transaction */
struct pec_reception_txn *pec_reception_begin(const struct pec_reception_ctx *ctx, const char *mail_from)
{
    struct pec_reception_txn *t = calloc(1, sizeof(*t));
    struct pec_strv one = PEC_STRV_INIT;

    if (t == NULL)
        pec_panic("out of memory");
    t->ctx = ctx;
    push_bare(&one, mail_from ? mail_from : "");
    if ((t->mail_from = strdup(one.v[0])) == NULL)
        pec_panic("out of memory");
    pec_strv_clear(&one);
    return t;
}

/* pec_reception_rcpt - one recipient: refused here only when it is certainly no box of ours and the
 * message certainly no busta (the reverse path is no address of a listed provider); a busta for it
 * still gets its avviso after the data, which only the message's content can tell */
void pec_reception_rcpt(struct pec_reception_txn *t, const char *rcpt, struct pec_answer *a)
{
    const struct pec_reception_ctx *ctx = t->ctx;
    struct pec_strv one = PEC_STRV_INIT;
    const char *addr;
    enum pec_mailbox_policy policy;

    pec_answer_continue(a);
    push_bare(&one, rcpt);
    addr = one.v[0];
    if (ctx->mailbox_policy != NULL && ctx->index != NULL && strchr(addr, '@') != NULL &&
        pec_config_manages(ctx->cfg, strrchr(addr, '@') + 1)) {
        if ((policy = ctx->mailbox_policy(ctx->policy_ctx, addr)) == PEC_MAILBOX_LOOKUP_FAILED) {
            struct pec_error err = { PEC_ERR_TEMPORARY, "" };
            snprintf(err.msg, sizeof(err.msg), "the mailbox of %s cannot be looked up", addr);
            pec_answer_of_error(a, &err);
        } else if (policy == PEC_MAILBOX_UNKNOWN &&
                   (t->mail_from[0] == '\0' || pec_index_by_address(ctx->index, t->mail_from) == NULL)) {
            pec_answer_reply(a, "550", "5.1.1", "Casella inesistente / No such mailbox");
        }
    }
    if (a->kind == PEC_ANSWER_CONTINUE)
        pec_strv_push(&t->rcpts, addr);
    pec_strv_clear(&one);
}

/* pec_reception_header - one field, our mark left out */
void pec_reception_header(struct pec_reception_txn *t, const char *name, const char *value)
{
    pec_strv_push(&t->header_names, name);
    if (strcasecmp(name, PEC_ANOMALY_MARK_HEADER) != 0)
        pec_buf_printf(&t->raw, "%s: %s\r\n", name, value);
}

/* pec_reception_eoh - the blank line */
void pec_reception_eoh(struct pec_reception_txn *t)
{
    pec_buf_puts(&t->raw, "\r\n");
}

/* pec_reception_body - body bytes */
void pec_reception_body(struct pec_reception_txn *t, const void *chunk, size_t len)
{
    pec_buf_append(&t->raw, chunk, len);
}

/* pec_reception_free - free and NULL */
void pec_reception_free(struct pec_reception_txn **t)
{
    if (t == NULL || *t == NULL)
        return;
    free((*t)->mail_from);
    pec_strv_clear(&(*t)->rcpts);
    pec_strv_clear(&(*t)->header_names);
    pec_buf_release(&(*t)->raw);
    free(*t);
    *t = NULL;
}

/* trace_reception - invariant 2: a busta received (with its quarantine when infected), or a receipt
 * that settles the state of one of our recipients; nothing for mail that is not valid PEC */
static int trace_reception(const struct pec_effects *fx, const struct pec_reception_txn *t,
                           const struct pec_reception_verdict *v, time_t now, const char *qid, const char *virus,
                           const char *quarantine_name, struct pec_error *err)
{
    struct pec_trace_facts f;
    int rc;

    if (!v->analysis.valid || pec_trace_facts_of(&v->analysis, 1, now, qid, &f) < 0)
        return 0;
    if (v->analysis.kind == PEC_KIND_BUSTA_TRASPORTO) {
        /* the recipients this provider took in charge: those the envelope keeps */
        f.ev.n_rcpts = 0;
        pec_trace_facts_reserve(&f, t->rcpts.n);
        for (size_t i = 0; i < t->rcpts.n; i++)
            if (!pec_strv_has(&v->drop_rcpts, t->rcpts.v[i])) {
                f.rcpts[f.ev.n_rcpts].address = t->rcpts.v[i];
                f.rcpts[f.ev.n_rcpts].kind = PEC_RCPT_CERTIFICATO;
                f.ev.n_rcpts++;
            }
        if (virus) {
            rc = points_trace_quarantine(fx, v->identificativo, now, virus, quarantine_name, f.ev.sender,
                                         PEC_TRACE_RICEZIONE, err);
            pec_trace_facts_clear(&f);
            return rc;
        }
    }
    rc = fx->trace_record(fx->ctx, &f.ev, 1, f.up, f.n_up, err);
    pec_trace_facts_clear(&f);
    return rc;
}

/* spool_owed - the owed messages (and, for an infected busta, the quarantine of the queued copy: a clean
 * busta discarded because none of its recipients is ours is no evidence of anything) */
static int spool_owed(const struct pec_effects *fx, const struct pec_reception_verdict *v,
                      const char *quarantine_name, char key[PEC_OUTBOX_KEY_MAX], struct pec_error *err)
{
    struct pec_owed *owed = calloc(v->n_out + 1, sizeof(*owed));
    int rc;

    if (owed == NULL)
        pec_panic("out of memory");
    for (size_t i = 0; i < v->n_out; i++)
        owed[i] = (struct pec_owed){ v->out[i].to, v->out[i].bytes.data, v->out[i].bytes.len, v->out[i].facts.data,
                                     v->out[i].facts.len };
    rc = fx->spool(fx->ctx, owed, v->n_out, quarantine_name, key, err);
    free(owed);
    return rc;
}

/* apply - invariant 3 */
static void apply(const struct pec_reception_txn *t, const struct pec_reception_point *p,
                  const struct pec_effects *fx, const struct pec_mta_edits *mta, const char *qid,
                  const struct pec_reception_verdict *v, const char *quarantine_name, struct pec_answer *a)
{
    struct pec_error err = { 0 };
    char key[PEC_OUTBOX_KEY_MAX];
    const char *failed = NULL;
    int owed = 0;

    if (pec_mta_delete_headers(mta, &t->header_names, PEC_ANOMALY_MARK_HEADER) < 0)
        failed = "cannot remove forged marks";
    /* dropped recipients get an avviso instead; a discarded busta keeps only the marker recipient */
    else if (pec_mta_delete_rcpts(mta, v->action == PEC_RECEPTION_DISCARD ? &t->rcpts : &v->drop_rcpts) < 0)
        failed = "cannot remove a recipient";
    else if (v->anomaly != PEC_ANOMALY_NONE &&
             mta->add_header(mta->ctx, PEC_ANOMALY_MARK_HEADER, pec_anomaly_name(v->anomaly)) < 0)
        failed = "cannot mark the message";
    else if ((owed = v->n_out > 0 || v->action == PEC_RECEPTION_DISCARD || quarantine_name != NULL) &&
             spool_owed(fx, v, quarantine_name, key, &err) < 0) {
        points_tempfail(fx, qid, &err, a);
        return;
    } else if (owed && points_add_marker(mta, key, p->marker_domain) < 0)
        failed = "cannot add the marker recipient";
    if (failed) {
        pec_error_set(&err, PEC_ERR_TEMPORARY, "%s", failed);
        points_tempfail(fx, qid, &err, a);
        return;
    }
    pec_effects_log(fx, PEC_LOG_INFO, "%s: id=%s: %s %s: avvisi=%zu esclusi=%zu%s%s", qid,
                    v->identificativo[0] ? v->identificativo : "-", pec_kind_name(v->analysis.kind),
                    v->analysis.valid ? "valido" : "non valido", v->n_out, v->drop_rcpts.n,
                    v->anomaly != PEC_ANOMALY_NONE ? " anomalia=" : "",
                    v->anomaly != PEC_ANOMALY_NONE ? pec_anomaly_name(v->anomaly) : "");
    pec_answer_continue(a);
}

/* pec_reception_run - invariants 1 and 2, then refuse or apply */
void pec_reception_run(struct pec_reception_txn *t, const struct pec_reception_point *p,
                       const struct pec_effects *fx, const struct pec_mta_edits *mta, const char *queue_id,
                       struct pec_answer *a)
{
    struct pec_reception_verdict v;
    struct pec_error err = { 0 };
    char virus[PEC_VIRUS_NAME_MAX];
    const char *raw = t->raw.data ? t->raw.data : "";
    int infected;
    time_t now;

    if (t->ctx->trust == NULL || t->ctx->index == NULL) { /* never judge a signature nobody can judge */
        pec_error_set(&err, PEC_ERR_TEMPORARY, "no %s: not judging incoming mail",
                      t->ctx->trust == NULL ? "trust anchors" : "provider index");
        points_tempfail(fx, queue_id, &err, a);
        return;
    }
    infected = fx->scan(fx->ctx, raw, t->raw.len, virus, sizeof(virus), &err);
    if (infected < 0) {
        points_tempfail(fx, queue_id, &err, a);
        return;
    }
    now = fx->now(fx->ctx);
    if (pec_reception_decide(t->ctx, raw, t->raw.len, (const char *const *)t->rcpts.v, t->rcpts.n,
                             infected ? virus : NULL, now, &v, &err) < 0) {
        pec_reception_verdict_clear(&v);
        points_tempfail(fx, queue_id, &err, a);
        return;
    }
    /* ordinary mail a PEC-only mailbox refuses may be a bounce or a reply to one of its messages: the trace
     * tells; when it cannot, a temporary failure (the answer is not lost, nor let through unchecked) */
    if (v.action == PEC_RECEPTION_REJECT && v.answerable &&
        pec_reception_answer(&v, raw, t->raw.len, (const char *const *)t->rcpts.v, t->rcpts.n, fx->trace_sent_to,
                             fx->ctx, &err) < 0) {
        pec_reception_verdict_clear(&v);
        points_tempfail(fx, queue_id, &err, a);
        return;
    }
    if (v.action == PEC_RECEPTION_REJECT) {
        pec_effects_log(fx, PEC_LOG_INFO, "%s: rifiuto: %s (%s)", queue_id, v.reply_text,
                        v.analysis.errors.n ? v.analysis.errors.v[0] : "virus");
        pec_answer_reply(a, v.reply_code, v.reply_xcode, v.reply_text);
    } else {
        char qname[PEC_QUARANTINE_NAME_MAX];

        if (infected)
            pec_quarantine_name(v.identificativo, qname);
        if (trace_reception(fx, t, &v, now, queue_id, infected ? virus : NULL, infected ? qname : NULL, &err) < 0)
            points_tempfail(fx, queue_id, &err, a);
        else
            apply(t, p, fx, mta, queue_id, &v, infected ? qname : NULL, a);
    }
    pec_reception_verdict_clear(&v);
}
