/* delivery_point.c - the delivery point's whole step for one recipient (pec_delivery_run, delivery.h).
 *
 * Nothing is delivered on a verdict reached without trust anchors and a provider index (4xx instead).
 * A busta (STORE_CERTIFIED) is delivered once and receipted once, whatever fails and is retried, by these
 * invariants in this order (the known windows are named; they are the subject of the exactly-once work):
 *  1. Two deliveries of one busta to one mailbox never interleave: the mark lock of the busta is held
 *     from before the store until the receipt is out, or until the avviso of a disabled mailbox is (the
 *     host releases it when the delivery ends).
 *     Without a home directory there are no marks and no lock: a repeated delivery may store a second
 *     copy (logged), and step 5 still allows one receipt.
 *  2. A busta whose receipt mark is set is done: nothing is stored, nothing is sent.
 *  3. Nothing is stored while the trace store is down (a temporary failure, nothing lost).
 *  4. A busta stored by an earlier attempt (stored mark) is not stored again; its receipt carries the
 *     time of that save (the time of the retry when the copy can no longer be found).  A full mailbox
 *     gets the avviso di mancata consegna instead of a receipt (marked as the receipt in 6).  Before the
 *     store a "pending" mark is written (or the delivery is a 4xx): a retry after an attempt killed
 *     between its store and its stored mark looks for the copy by its Message-ID instead of storing
 *     another.
 *  5. The receipt is claimed in the trace store after the store.  A claim taken before (an earlier
 *     attempt, another node, whatever the marks say: they may be lost or absent) is honoured only when
 *     the trace holds the receipt's event; otherwise the receipt is owed and sent.  Window: two
 *     concurrent deliveries on two nodes, the second seeing the claim before the first traced its
 *     receipt, both send.
 *  6. The receipt's Message-ID and form are marked "sent" before it is submitted, the mark completed
 *     ("submitted") after it, then the receipt is traced and marked done.  A retry after a failed trace
 *     write finds the completed mark and traces that receipt instead of sending another (never an
 *     untraced receipt, never two); a retry after an attempt killed around the submission finds the
 *     mark incomplete and submits the same receipt again with the same Message-ID, which the sender's
 *     delivery point stores once (its "plain" mark).  Window: the "sent" mark itself could not be
 *     written (logged), then the retry sends a receipt with a new Message-ID.  A receipt the MTA
 *     refuses for good (5xx) is never traced as sent: an avvenuta consegna completa or breve is tried
 *     again in the smaller variants (breve, then sintetica: a consegna completa of a message near the
 *     size limit is larger than the message), and what is refused in every variant is traced as
 *     ricevuta-rifiutata with the reply and logged as an error; the delivery is done (the busta is in
 *     the mailbox).
 * Receipts, anomaly envelopes and ordinary mail (STORE_PLAIN, STORE_WRAPPED) are stored, then traced; a
 * store whose trace failed is marked "untraced" so the retry traces it without storing a second copy.  A
 * receipt or anomaly envelope is marked "pending" before its store: an attempt killed between the store
 * and its marks (the MTA then delivers it again) leaves that mark, and the retry looks for the copy in
 * the mailbox (by Message-ID) instead of storing a second one (found by the fault suite, seed 3559).
 * Two deliveries of one receipt to one mailbox hold its lock from the first check to the last mark.
 * A refusal (REFUSE) is traced before it is answered: untraced, it is a temporary failure instead. */
#define _GNU_SOURCE /* asprintf */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pec/compose.h"
#include "pec/delivery.h"
#include "pec/effects.h"
#include "pec/smime.h"
#include "pec/text.h"

/* One delivery: what it works on and what it answers. */
struct run {
    const struct pec_delivery_ctx *ctx;
    const struct pec_delivery_input *in;
    const struct pec_delivery_verdict *v;
    const struct pec_effects *fx;
    const struct pec_delivery_host *h;
    struct pec_delivery_outcome *o;
    const char *id;
};

/* ascii - text as one printable ASCII line for a log field (at most 399 characters) */
static const char *ascii(const char *text, char *out, size_t outlen)
{
    pec_text_ascii(text ? text : "", out, outlen);
    return out;
}

/* store_text - a text field the trace store accepts (UTF-8, no controls but TAB): as it is when it
 * can, else its ASCII rendering in out */
static const char *store_text(const char *value, char *out, size_t outlen)
{
    if (value == NULL || pec_text_utf8_valid(value, PEC_TEXT_NO_CONTROLS, NULL, NULL))
        return value;
    return ascii(value, out, outlen);
}

/* sender_of - the certified sender, else the From address */
static const char *sender_of(const struct pec_delivery_verdict *v)
{
    const struct pec_analysis *a = &v->analysis;

    return a->has_daticert && a->daticert.mittente != NULL ? a->daticert.mittente : a->from;
}

/* subject_of - the original subject: daticert's oggetto for PEC messages, else the Subject */
static const char *subject_of(const struct pec_delivery_verdict *v)
{
    const struct pec_analysis *a = &v->analysis;

    return a->has_daticert && a->daticert.oggetto != NULL ? a->daticert.oggetto : a->subject;
}

/* decision - the one log line of the outcome */
static void decision(const struct run *r, enum pec_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void decision(const struct run *r, enum pec_log_level level, const char *fmt, ...)
{
    char what[1024], id[400];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    pec_effects_log(r->fx, level, "pec: identificativo=%s action=%s kind=%s rcpt=%s from=<%s>: %s",
                    ascii(r->id, id, sizeof(id)), pec_delivery_action_name(r->v->action),
                    pec_kind_name(r->v->analysis.kind), r->in->recipient, r->in->reverse_path, what);
}

/* trace_line - the log line of a trace record that was kept */
static void trace_line(const struct run *r, const char *name, time_t when, const char *extra)
{
    char id[400], from[400], to[400], subj[400];

    pec_effects_log(r->fx, PEC_LOG_INFO,
                    "pec-trace: event=%s identificativo=%s mittente=%s destinatario=%s oggetto=\"%s\"%s time=%ld", name,
                    ascii(r->id, id, sizeof(id)), ascii(sender_of(r->v), from, sizeof(from)),
                    ascii(r->in->recipient, to, sizeof(to)), ascii(r->v->analysis.subject, subj, sizeof(subj)), extra,
                    (long)when);
}

/* tempfail - a temporary failure with its reason */
static void tempfail(const struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tempfail(const struct run *r, const char *fmt, ...)
{
    struct pec_error err = { PEC_ERR_TEMPORARY, "" };
    char reason[sizeof(err.msg)];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    ascii(reason, err.msg, sizeof(err.msg));
    pec_answer_of_error(&r->o->answer, &err);
    r->o->stored = 0; /* the host answers 2xx when anything was saved: a retry must happen */
    decision(r, PEC_LOG_INFO, "temporary failure: %s", err.msg);
}

/* done - 2xx */
static void done(const struct run *r)
{
    pec_answer_continue(&r->o->answer);
}

/* record - one event about the message for this recipient (plus the notified address for NOTIFICA) */
static int record(const struct run *r, struct pec_trace_event *ev, const char *notified, struct pec_error *err)
{
    char b[7][400];
    struct pec_trace_rcpt rcpts[2] = { { store_text(r->in->recipient, b[0], 400), PEC_RCPT_CERTIFICATO, 0 },
                                       { store_text(notified, b[1], 400), PEC_RCPT_ESTERNO, 0 } };
    struct pec_trace_update up = { 0 };
    size_t n_up = 0;
    char *msgid = NULL;
    int rc = 0;

    ev->identificativo = store_text(r->id, b[2], 400);
    ev->sender = store_text(sender_of(r->v), b[3], 400);
    ev->rcpts = rcpts;
    ev->n_rcpts = notified ? 2 : 1;
    ev->subject = subject_of(r->v);
    if (r->v->analysis.has_daticert && ev->type != PEC_TRACE_NOTIFICA)
        ev->gestore = store_text(r->v->analysis.daticert.gestore, b[4], 400);
    /* Message-IDs are logged in angle brackets, identifiers without (as the milter does) */
    if (ev->message_id != NULL && ev->message_id[0] != '<') {
        if (asprintf(&msgid, "<%s>", ev->message_id) < 0)
            pec_panic("out of memory");
        ev->message_id = msgid;
    }
    ev->message_id = store_text(ev->message_id, b[5], 400);
    ev->receipt_type = store_text(ev->receipt_type, b[6], 400);
    /* the recipient's state, for a message this provider accepted: its own receipt to a local sender is
     * delivered here and never passes a reception point, so without this its 24 h notice would go out
     * all the same; a remote sender's message has no recipient row here and the update changes nothing */
    if (ev->type == PEC_TRACE_AVVENUTA_CONSEGNA || ev->type == PEC_TRACE_ERRORE_CONSEGNA ||
        ev->type == PEC_TRACE_ERRORE_CONSEGNA_VIRUS) {
        up.identificativo = ev->identificativo;
        up.address = rcpts[0].address;
        up.state = ev->type == PEC_TRACE_AVVENUTA_CONSEGNA ? PEC_STATE_CONSEGNA : PEC_STATE_ERRORE;
        up.time = ev->time;
        up.errore_code = ev->errore;
        up.errore_text = ev->errore_esteso;
        n_up = 1;
    }
    if (r->fx->trace_record(r->fx->ctx, ev, 1, n_up ? &up : NULL, n_up, err) < 0) {
        char why[sizeof(err->msg)];
        snprintf(why, sizeof(why), "%s", err->msg);
        pec_error_set(err, PEC_ERR_TEMPORARY, "trace store: %s event not recorded: %s",
                      pec_trace_type_name(ev->type), why);
        rc = -1;
    }
    free(msgid);
    return rc;
}

/* trace_stored - a receipt or anomaly envelope stored as it is (no receipt of its own) */
static int trace_stored(const struct run *r, time_t when, struct pec_error *err)
{
    struct pec_trace_event ev = { 0 };
    char extra[300], kind[100];

    ev.time = when;
    ev.type = PEC_TRACE_CONSEGNA;
    ev.message_id = r->v->analysis.message_id; /* the stored message's own id */
    if (record(r, &ev, NULL, err) < 0)
        return -1;
    snprintf(extra, sizeof(extra), " tipo=%s", ascii(pec_kind_name(r->v->analysis.kind), kind, sizeof(kind)));
    trace_line(r, "memorizzato", when, extra);
    return 0;
}

/* submit - a receipt from the service address: 1 submitted, 0 refused for good (logged by the caller),
 * -1 to retry; error gets the reason */
static int submit(const struct run *r, const char *from, const char *to, const struct pec_buf *msg,
                  struct pec_error *err)
{
    if (to == NULL || *to == '\0') {
        pec_error_set(err, PEC_ERR_PERMANENT, "no address to send it to (null reverse path, no sender in daticert.xml)");
        return 0;
    }
    if (r->fx->submit(r->fx->ctx, from, to, msg->data, msg->len, err) == 0)
        return 1;
    return err->cls == PEC_ERR_PERMANENT ? 0 : -1;
}

/* send_built - submit a receipt whose builder returned built: 1 submitted, 0 refused for good (err says
 * why), -1 not built or not submitted (answered with a temporary failure) */
static int send_built(const struct run *r, const char *what, int built, struct pec_buf *msg, const char *msgid,
                      struct pec_error *err)
{
    int ret;

    if (built < 0) {
        pec_buf_release(msg);
        tempfail(r, "%s not built: %s", what, err->msg);
        return -1;
    }
    ret = submit(r, r->ctx->issuer->service_address, pec_delivery_receipt_to(r->in, r->v), msg, err);
    pec_buf_release(msg);
    if (ret < 0) {
        tempfail(r, "%s not submitted: %s", what, err->msg);
        return -1;
    }
    return ret;
}

/* mark_set_value - remember key with a value (NULL: none); a failure is logged (the cost is at most a
 * second copy, or a second receipt, on a retry) */
static void mark_set_value(const struct run *r, const char *key, const char *value)
{
    struct pec_error err = { 0 };

    if (r->h->mark_set(r->h->ctx, key, value, &err) < 0)
        pec_effects_log(r->fx, PEC_LOG_ERROR, "pec: %s not recorded: %s", key, err.msg);
}

/* mark_set - remember key */
static void mark_set(const struct run *r, const char *key) { mark_set_value(r, key, NULL); }

#define SENT_MARK_SUBMITTED " submitted"

/* sent_before - the receipt of an earlier attempt, from its PEC_MARK_SENT mark "<variant> <Message-ID>"
 * (written before the submission) with SENT_MARK_SUBMITTED appended once the MTA took it: SENT_INTENDED
 * or SENT_SUBMITTED_BEFORE with *variant_r and msgid_r, SENT_NONE, or -1 when the mark cannot be read */
enum { SENT_NONE, SENT_INTENDED, SENT_SUBMITTED_BEFORE };
static int sent_before(const struct run *r, const char *key_sent, enum pec_ricevuta *variant_r,
                       char msgid_r[PEC_ID_MAX], struct pec_error *err)
{
    char value[PEC_ID_MAX + 48], *id, *end;
    enum pec_ricevuta variant;
    int ret = r->h->mark_get(r->h->ctx, key_sent, value, sizeof(value), err), submitted;

    if (ret <= 0)
        return ret;
    if ((id = strchr(value, ' ')) == NULL)
        return SENT_NONE; /* not ours: as if absent */
    *id++ = '\0';
    end = strchr(id, ' ');
    submitted = end != NULL && strcmp(end, SENT_MARK_SUBMITTED) == 0;
    if (end != NULL && !submitted)
        return SENT_NONE;
    if (end != NULL)
        *end = '\0';
    if (*id == '\0' || strlen(id) >= PEC_ID_MAX || (variant = pec_ricevuta_from_name(value)) == PEC_RICEVUTA_NONE)
        return SENT_NONE;
    *variant_r = variant;
    snprintf(msgid_r, PEC_ID_MAX, "%s", id);
    return submitted ? SENT_SUBMITTED_BEFORE : SENT_INTENDED;
}

/* mark_sent - the PEC_MARK_SENT mark of the receipt about to be submitted, or submitted */
static void mark_sent(const struct run *r, const char *key_sent, enum pec_ricevuta variant, const char *msgid,
                      int submitted)
{
    char value[PEC_ID_MAX + 48];

    snprintf(value, sizeof(value), "%s %s%s", pec_ricevuta_name(variant), msgid, submitted ? SENT_MARK_SUBMITTED : "");
    mark_set_value(r, key_sent, value);
}

/* refused_for_good - a receipt refused with 5xx in every form: traced as refused (not sent), then the
 * delivery is done; a trace failure is a temporary failure (the retry tries the receipt again) */
static void refused_for_good(const struct run *r, const char *what, const char *msgid, time_t when,
                             const char *reason, const char *key_receipt)
{
    struct pec_trace_event ev = { 0 };
    struct pec_error err = { 0 };
    char extra[800], a1[300], a2[400];

    ev.time = when;
    ev.type = PEC_TRACE_RICEVUTA_RIFIUTATA;
    ev.message_id = msgid;
    ev.errore = pec_errore_name(PEC_ERRORE_ALTRO);
    ev.errore_esteso = reason;
    if (record(r, &ev, NULL, &err) < 0) {
        tempfail(r, "%s", err.msg);
        return;
    }
    snprintf(extra, sizeof(extra), " ricevuta=%s motivo=\"%s\"", ascii(msgid, a1, sizeof(a1)),
             ascii(reason, a2, sizeof(a2)));
    trace_line(r, "ricevuta-rifiutata", when, extra);
    if (key_receipt != NULL)
        mark_set(r, key_receipt);
    decision(r, PEC_LOG_ERROR, "%s %s refused by the MTA, not sent: %s", what, msgid, a2);
    done(r);
}

/* trace_ready - invariant 3 */
static int trace_ready(const struct run *r)
{
    struct pec_error err = { 0 };

    if (r->fx->trace_ready(r->fx->ctx, &err) == 0)
        return 0;
    tempfail(r, "trace store unavailable: %s", err.msg);
    return -1;
}

#define SENT_MARK_MANCATA "mancata"

/* mancata_before - the avviso of an earlier attempt, from its PEC_MARK_SENT mark "mancata <Message-ID>"
 * (written before the submission, SENT_MARK_SUBMITTED appended once the MTA took it): SENT_NONE,
 * SENT_INTENDED or SENT_SUBMITTED_BEFORE with msgid_r, or -1 with err when the mark cannot be read */
static int mancata_before(const struct run *r, const char *key_sent, char msgid_r[PEC_ID_MAX], struct pec_error *err)
{
    char value[PEC_ID_MAX + 48], *end;
    int ret = r->h->mark_get(r->h->ctx, key_sent, value, sizeof(value), err);
    size_t n = strlen(SENT_MARK_MANCATA);

    if (ret <= 0)
        return ret;
    if (strncmp(value, SENT_MARK_MANCATA " ", n + 1) != 0)
        return SENT_NONE;
    end = strchr(value + n + 1, ' ');
    if (end != NULL && strcmp(end, SENT_MARK_SUBMITTED) != 0)
        return SENT_NONE;
    if (end != NULL)
        *end = '\0';
    if (strlen(value + n + 1) >= PEC_ID_MAX)
        return SENT_NONE; /* not ours: as if absent */
    memcpy(msgid_r, value + n + 1, strlen(value + n + 1) + 1);
    return end != NULL ? SENT_SUBMITTED_BEFORE : SENT_INTENDED;
}

/* mancata - the busta could not be stored: the avviso di mancata consegna replaces the bounce.  As the
 * consegna (invariant 6): its Message-ID is marked before the submission and the mark completed after,
 * so a retry after a failed trace write traces that avviso, and one after a kill around the submission
 * sends it again with the same Message-ID (stored once by the sender's delivery point) */
static void mancata(const struct run *r, enum pec_delivery_failure f, const char *cause)
{
    struct pec_buf msg = PEC_BUF_INIT;
    struct pec_error err = { 0 };
    struct pec_trace_event ev = { 0 };
    char msgid[PEC_ID_MAX] = "", esteso[256], extra[1024], a1[300], a2[300], c[300], key_sent[PEC_MARK_KEY_MAX];
    char value[PEC_ID_MAX + 48], built_id[PEC_ID_MAX];
    time_t when = r->fx->now(r->fx->ctx);
    int marks = r->h->has_marks(r->h->ctx) && pec_delivery_mark_key(PEC_MARK_SENT, r->id, r->in->recipient, key_sent) > 0;
    int before = SENT_NONE;

    if (trace_ready(r) < 0)
        return;
    if (marks && (before = mancata_before(r, key_sent, msgid, &err)) < 0) {
        tempfail(r, "%s", err.msg);
        return;
    }
    pec_compose_errore_esteso(r->ctx->issuer->gestore, f, esteso, sizeof(esteso));
    if (before != SENT_SUBMITTED_BEFORE) {
        if (before == SENT_NONE)
            pec_idgen_next(r->ctx->issuer->ids, when, msgid);
        if (marks) {
            snprintf(value, sizeof(value), SENT_MARK_MANCATA " %s", msgid);
            mark_set_value(r, key_sent, value);
        }
        switch (send_built(r, "avviso di mancata consegna",
                           pec_delivery_mancata(r->ctx, r->in, r->v, f, when, msgid, &msg, built_id, &err), &msg,
                           msgid, &err)) {
        case -1: return;
        case 0: refused_for_good(r, "avviso di mancata consegna", msgid, when, err.msg, NULL); return;
        }
        if (marks) {
            snprintf(value, sizeof(value), SENT_MARK_MANCATA " %s" SENT_MARK_SUBMITTED, msgid);
            mark_set_value(r, key_sent, value);
        }
    }
    /* submitted, then traced: a retry after a failed trace write traces the avviso the mark names */
    ev.time = when;
    ev.type = PEC_TRACE_ERRORE_CONSEGNA;
    ev.message_id = msgid;
    ev.errore = pec_errore_name(f == PEC_DELIVERY_FAIL_NO_MAILBOX ? PEC_ERRORE_NO_DEST : PEC_ERRORE_ALTRO);
    ev.errore_esteso = esteso;
    if (record(r, &ev, NULL, &err) < 0) {
        tempfail(r, "%s", err.msg);
        return;
    }
    snprintf(extra, sizeof(extra), " errore-esteso=\"%s\" avviso=%s", ascii(esteso, a1, sizeof(a1)),
             ascii(msgid, a2, sizeof(a2)));
    trace_line(r, "mancata-consegna", when, extra);
    decision(r, PEC_LOG_INFO, "not stored (%s%s%s), avviso di mancata consegna %s submitted", esteso,
             cause ? ": " : "", cause ? ascii(cause, c, sizeof(c)) : "", msgid);
    done(r); /* handled: 2xx, and the MTA sends no ordinary bounce */
}

/* notify - the optional notice of a new PEC to an ordinary address: best effort, the delivery is done */
static void notify(const struct run *r, time_t when)
{
    struct pec_buf msg = PEC_BUF_INIT;
    struct pec_error err = { 0 };
    struct pec_trace_event ev = { 0 };
    char id[400], extra[500], n[400];

    pec_delivery_notification(r->ctx, r->in, r->v, r->in->notify, when, &msg);
    /* null reverse path: an automatic notice must not bounce back to the service */
    if (r->fx->submit(r->fx->ctx, "", r->in->notify, msg.data, msg.len, &err) == 0) {
        ev.time = when;
        ev.type = PEC_TRACE_NOTIFICA;
        if (record(r, &ev, r->in->notify, &err) < 0)
            pec_effects_log(r->fx, PEC_LOG_ERROR, "pec: identificativo=%s: notification to %s sent but not traced: %s",
                            ascii(r->id, id, sizeof(id)), r->in->notify, err.msg);
        else {
            snprintf(extra, sizeof(extra), " notifica_a=%s", ascii(r->in->notify, n, sizeof(n)));
            trace_line(r, "notifica", when, extra);
        }
    } else {
        pec_effects_log(r->fx, PEC_LOG_WARN, "pec: identificativo=%s: notification to %s not sent: %s",
                        ascii(r->id, id, sizeof(id)), r->in->notify, err.msg);
    }
    pec_buf_release(&msg);
}

/* archive - the copy for the box's Archivio di sicurezza, right after the message itself was stored (so
 * at most one copy: a retry finds the message stored and does not come here).  A full archive or a failed
 * save never holds the delivery back: logged and traced (archivio-mancato) for the provider to act on. */
static void archive(const struct run *r)
{
    struct pec_error err = { 0 }, terr = { 0 };
    struct pec_trace_event ev = { 0 };
    char id[400], why[600];
    int ret;

    if (r->h->archive == NULL)
        return;
    if ((ret = r->h->archive(r->h->ctx, &err)) > 0) {
        pec_effects_log(r->fx, PEC_LOG_INFO, "pec: identificativo=%s rcpt=%s: copied into the archivio di sicurezza",
                        ascii(r->id, id, sizeof(id)), r->in->recipient);
        return;
    }
    snprintf(why, sizeof(why), "%s: %s", ret == 0 ? "archivio di sicurezza pieno" : "archivio di sicurezza non "
             "disponibile", err.msg);
    pec_effects_log(r->fx, PEC_LOG_WARN, "pec: identificativo=%s rcpt=%s: delivered, not archived: %s",
                    ascii(r->id, id, sizeof(id)), r->in->recipient, why);
    ev.time = r->fx->now(r->fx->ctx);
    ev.type = PEC_TRACE_ARCHIVIO_MANCATO;
    ev.errore_esteso = why;
    if (record(r, &ev, NULL, &terr) < 0)
        pec_effects_log(r->fx, PEC_LOG_ERROR, "pec: identificativo=%s rcpt=%s: archivio-mancato not traced: %s",
                        ascii(r->id, id, sizeof(id)), r->in->recipient, terr.msg);
}

/* store_failed - a store that did not happen: the avviso for a full mailbox, else a temporary failure */
static void store_failed(const struct run *r, enum pec_store_failure f, const struct pec_error *err, int busta)
{
    if (f == PEC_STORE_FULL && busta) {
        mancata(r, PEC_DELIVERY_FAIL_QUOTA, err->msg);
    } else if (f == PEC_STORE_RETRY) {
        tempfail(r, "%s", err->msg);
    } else {
        decision(r, PEC_LOG_INFO, "save failed, will be retried: %s", err->msg);
        pec_answer_of_error(&r->o->answer, err);
        r->o->host_error = 1;
        r->o->stored = 0;
    }
}

/* receipt - invariants 5 and 6 for a busta now in the mailbox */
static void receipt(const struct run *r, int idempotent, int stored_before, time_t saved_at,
                    const char *key_receipt)
{
    struct pec_buf msg = PEC_BUF_INIT;
    struct pec_error err = { 0 };
    struct pec_trace_event ev = { 0 };
    struct pec_delivery_verdict form = *r->v; /* the variant actually sent */
    const char *variant;
    char msgid[PEC_ID_MAX], built_id[PEC_ID_MAX], extra[600], a1[200], a2[300], id[400];
    char key_sent[PEC_MARK_KEY_MAX] = "";
    int ret, before = SENT_NONE;
    int claimed = r->fx->trace_claim(r->fx->ctx, store_text(r->id, id, sizeof(id)),
                                     store_text(r->in->recipient, a2, sizeof(a2)), r->fx->now(r->fx->ctx), &err);
    int sent = 0;

    if (claimed < 0) {
        tempfail(r, "trace store: delivery not claimed: %s", err.msg); /* the retry finds the stored mark */
        return;
    }
    if (claimed == 0 && (sent = r->fx->trace_receipt_sent(r->fx->ctx, store_text(r->id, id, sizeof(id)),
                                                          store_text(r->in->recipient, a2, sizeof(a2)), &err)) < 0) {
        tempfail(r, "trace store: cannot tell whether the receipt went out: %s", err.msg);
        return;
    }
    if (sent > 0) {
        if (idempotent)
            mark_set(r, key_receipt);
        if (!stored_before && trace_stored(r, saved_at, &err) < 0) /* a copy without a receipt of its own */
            pec_effects_log(r->fx, PEC_LOG_ERROR, "pec: identificativo=%s rcpt=%s: second copy not traced: %s",
                            ascii(r->id, id, sizeof(id)), r->in->recipient, err.msg);
        pec_effects_log(r->fx, PEC_LOG_WARN,
                        "pec: identificativo=%s rcpt=%s: receipt already claimed by another delivery: %s, no "
                        "second avvenuta consegna", ascii(r->id, id, sizeof(id)), r->in->recipient,
                        stored_before ? "stored before" : "stored again");
        decision(r, PEC_LOG_INFO, "stored, receipt already claimed: no avvenuta consegna sent");
        done(r);
        return;
    }
    /* invariant 6: an earlier attempt submitted it and could not trace it: trace it, do not send it
     * again; an attempt killed around its submission: send it again with the same Message-ID */
    if (idempotent && pec_delivery_mark_key(PEC_MARK_SENT, r->id, r->in->recipient, key_sent) > 0 &&
        (before = sent_before(r, key_sent, &form.variant, msgid, &err)) < 0) {
        tempfail(r, "%s", err.msg);
        return;
    }
    if (before == SENT_NONE)
        pec_idgen_next(r->ctx->issuer->ids, saved_at, msgid);
    while (before != SENT_SUBMITTED_BEFORE) {
        if (idempotent)
            mark_sent(r, key_sent, form.variant, msgid, 0);
        ret = send_built(r, "avvenuta consegna",
                         pec_delivery_consegna(r->ctx, r->in, &form, saved_at, msgid, &msg, built_id, &err), &msg,
                         msgid, &err);
        if (ret < 0)
            return;
        if (ret > 0)
            break;
        if (form.variant == PEC_RICEVUTA_SINTETICA) {
            refused_for_good(r, "avvenuta consegna", msgid, saved_at, err.msg, idempotent ? key_receipt : NULL);
            return;
        }
        pec_effects_log(r->fx, PEC_LOG_WARN, "pec: identificativo=%s rcpt=%s: avvenuta consegna %s (%s) refused by "
                        "the MTA: %s; trying the %s form", ascii(r->id, id, sizeof(id)), r->in->recipient, msgid,
                        pec_ricevuta_name(form.variant), err.msg,
                        form.variant == PEC_RICEVUTA_BREVE ? "sintetica" : "breve");
        form.variant = form.variant == PEC_RICEVUTA_BREVE ? PEC_RICEVUTA_SINTETICA : PEC_RICEVUTA_BREVE;
        memset(&err, 0, sizeof(err));
    }
    variant = pec_ricevuta_name(form.variant);
    if (idempotent && before != SENT_SUBMITTED_BEFORE)
        mark_sent(r, key_sent, form.variant, msgid, 1);
    ev.time = saved_at;
    ev.type = PEC_TRACE_AVVENUTA_CONSEGNA;
    ev.message_id = msgid;
    ev.receipt_type = variant;
    ev.errore = pec_errore_name(PEC_ERRORE_NESSUNO);
    if (record(r, &ev, NULL, &err) < 0) {
        tempfail(r, "%s", err.msg);
        return;
    }
    snprintf(extra, sizeof(extra), " tipo_ricevuta=%s ricevuta=%s", ascii(variant, a1, sizeof(a1)),
             ascii(msgid, a2, sizeof(a2)));
    trace_line(r, "consegna", saved_at, extra);
    if (idempotent)
        mark_set(r, key_receipt);
    decision(r, PEC_LOG_INFO, "%s, avvenuta consegna %s (%s) %s",
             stored_before ? "stored by an earlier attempt" : "stored", msgid, variant ? variant : "?",
             before == SENT_SUBMITTED_BEFORE ? "submitted by an earlier attempt, traced now"
             : before == SENT_INTENDED ? "submitted again with the Message-ID of an attempt that did not finish"
             : "submitted");
    if (r->in->notify != NULL)
        notify(r, saved_at);
    done(r);
}

/* write_ahead - set key before a store that a retry must be able to find: 0, or -1 answered with a
 * temporary failure (a store without it could be repeated by the retry: a second copy) */
static int write_ahead(const struct run *r, const char *key)
{
    struct pec_error err = { 0 };

    if (r->h->mark_set(r->h->ctx, key, NULL, &err) == 0)
        return 0;
    tempfail(r, "%s not recorded, not stored until it can be: %s", key, err.msg);
    return -1;
}

/* certified - a valid busta: invariants 1 to 4, then the receipt */
static void certified(const struct run *r)
{
    char key_stored[PEC_MARK_KEY_MAX], key_receipt[PEC_MARK_KEY_MAX], key_pending[PEC_MARK_KEY_MAX];
    struct pec_error err = { 0 };
    enum pec_store_failure failure = PEC_STORE_RETRY;
    int idempotent, stored_before = 0, seen;
    time_t saved_at = 0;

    idempotent = pec_delivery_mark_key(PEC_MARK_STORED, r->id, r->in->recipient, key_stored) > 0 &&
                 pec_delivery_mark_key(PEC_MARK_RECEIPT, r->id, r->in->recipient, key_receipt) > 0;
    if (idempotent && !r->h->has_marks(r->h->ctx)) {
        /* nowhere to keep marks: a repeated delivery may store a second copy; the claim still allows one
         * receipt */
        pec_effects_log(r->fx, PEC_LOG_WARN, "pec: %s has no home directory: no idempotence marks, a repeated "
                        "delivery may store a second copy", r->in->recipient);
        idempotent = 0;
    }
    if (idempotent && r->h->mark_lock(r->h->ctx, key_stored, &err) < 0) {
        tempfail(r, "%s", err.msg);
        return;
    }
    if (r->in->disabled) { /* under the lock: two deliveries at once find one avviso's sent mark */
        mancata(r, PEC_DELIVERY_FAIL_DISABLED, "pec_mailbox_disabled");
        return;
    }
    if (idempotent) {
        if ((seen = r->h->mark_check(r->h->ctx, key_receipt, &err)) > 0) {
            trace_line(r, "duplicato", r->fx->now(r->fx->ctx), "");
            decision(r, PEC_LOG_INFO, "already delivered and receipted: nothing stored, nothing sent");
            done(r);
            return;
        }
        if (seen == 0 && (seen = r->h->mark_check(r->h->ctx, key_stored, &err)) > 0)
            stored_before = 1;
        if (seen < 0) {
            tempfail(r, "%s", err.msg);
            return;
        }
    }
    if (trace_ready(r) < 0)
        return;
    if (idempotent && !stored_before &&
        pec_delivery_mark_key(PEC_MARK_PENDING, r->id, r->in->recipient, key_pending) > 0) {
        /* an attempt killed between its store and its stored mark left the pending mark: look for the copy */
        if ((seen = r->h->mark_check(r->h->ctx, key_pending, &err)) < 0) {
            tempfail(r, "%s", err.msg);
            return;
        }
        if (seen > 0 && (saved_at = r->h->stored_at(r->h->ctx, r->id)) == (time_t)-1) {
            tempfail(r, "the mailbox cannot be searched for the copy of an attempt that did not finish");
            return;
        }
        if (seen > 0 && saved_at > 0) {
            stored_before = 1;
            mark_set(r, key_stored);
        } else if (seen == 0 && write_ahead(r, key_pending) < 0)
            return;
    }
    if (stored_before) {
        /* (the pending-mark path above already found the copy and its time) */
        if (saved_at <= 0 && ((saved_at = r->h->stored_at(r->h->ctx, r->id)) == 0 || saved_at == (time_t)-1))
            saved_at = r->fx->now(r->fx->ctx);
    } else {
        int ret = r->h->store(r->h->ctx, NULL, &saved_at, &failure, &err);
        if (ret < 0) {
            store_failed(r, failure, &err, 1);
            return;
        }
        if (ret == 0) {
            decision(r, PEC_LOG_INFO, "not stored by the Sieve script: no avvenuta consegna");
            done(r);
            return;
        }
        /* the first commit is the delivery time (DPR 68/2005: the message is available in the mailbox) */
        if (saved_at == 0)
            saved_at = r->fx->now(r->fx->ctx);
        r->o->stored = 1;
        if (idempotent)
            mark_set(r, key_stored);
        archive(r);
    }
    receipt(r, idempotent, stored_before, saved_at, key_receipt);
}

/* plain_seen - the mark of this stage was set by an earlier delivery of the same message */
static int plain_seen(const struct run *r, enum pec_mark_stage stage)
{
    char key[PEC_MARK_KEY_MAX];

    return pec_delivery_mark_key(stage, r->v->analysis.message_id, r->in->recipient, key) > 0 &&
           r->h->has_marks(r->h->ctx) && r->h->mark_check(r->h->ctx, key, NULL) > 0;
}

/* plain_mark - set the mark of this stage (when there is somewhere to keep it) */
static void plain_mark(const struct run *r, enum pec_mark_stage stage)
{
    char key[PEC_MARK_KEY_MAX];

    if (pec_delivery_mark_key(stage, r->v->analysis.message_id, r->in->recipient, key) > 0 && r->h->has_marks(r->h->ctx))
        mark_set(r, key);
}

/* plain_lock - two deliveries of one receipt to one mailbox (its sender sent it twice, and both copies
 * were delivered at once after a queue flush) never interleave their check-store-mark sequences, as
 * invariant 1 for a busta (the likeliest path of the fault suite's seed 18251: four receipts stored twice
 * at once): 0, or -1 answered with a temporary failure */
static int plain_lock(const struct run *r)
{
    char key[PEC_MARK_KEY_MAX];
    struct pec_error err = { 0 };

    if (pec_delivery_mark_key(PEC_MARK_PLAIN, r->v->analysis.message_id, r->in->recipient, key) == 0 ||
        !r->h->has_marks(r->h->ctx) || r->h->mark_lock(r->h->ctx, key, &err) == 0)
        return 0;
    tempfail(r, "%s", err.msg);
    return -1;
}

/* stored_untraced - stored, but its trace failed: remember the save, answer 4xx */
static void stored_untraced(const struct run *r, const struct pec_error *err)
{
    if (r->o->stored)
        plain_mark(r, PEC_MARK_UNTRACED);
    tempfail(r, "%s", err->msg);
}

/* other - a receipt or anomaly envelope stored as it is, or ordinary mail wrapped: stored, then traced */
static void other(const struct run *r)
{
    int wrapped = r->v->action == PEC_DELIVERY_STORE_WRAPPED, ret;
    enum pec_store_failure failure = PEC_STORE_RETRY;
    struct pec_error err = { 0 };
    time_t saved_at = 0, now, earlier = 0;

    if (!wrapped && plain_lock(r) < 0)
        return;
    if (trace_ready(r) < 0)
        return;
    if (!wrapped && plain_seen(r, PEC_MARK_PLAIN)) {
        decision(r, PEC_LOG_INFO, "already stored: a copy re-sent by its sender, dropped");
        done(r);
        return;
    }
    if (!wrapped && plain_seen(r, PEC_MARK_PENDING) &&
        (earlier = r->h->stored_at(r->h->ctx, r->v->analysis.message_id)) == (time_t)-1) {
        tempfail(r, "the mailbox cannot be searched for the copy of an attempt that did not finish");
        return;
    }
    if (plain_seen(r, PEC_MARK_UNTRACED)) {
        r->o->stored = 1;
    } else if (!wrapped && earlier > 0) {
        /* an earlier attempt stored it and died before its mark (the MTA delivers it again): one copy */
        decision(r, PEC_LOG_INFO, "stored by an attempt that did not finish: not stored again");
        r->o->stored = 1;
    } else {
        char key[PEC_MARK_KEY_MAX];

        if (!wrapped && r->h->has_marks(r->h->ctx) &&
            pec_delivery_mark_key(PEC_MARK_PENDING, r->v->analysis.message_id, r->in->recipient, key) > 0 &&
            write_ahead(r, key) < 0)
            return;
        if ((ret = r->h->store(r->h->ctx, wrapped ? &r->v->wrapped : NULL, &saved_at, &failure, &err)) < 0) {
            store_failed(r, failure, &err, 0);
            return;
        }
        r->o->stored = ret > 0;
        if (r->o->stored && !wrapped) /* a receipt or a provider's busta di anomalia */
            archive(r);
    }
    now = r->fx->now(r->fx->ctx);
    if (r->o->stored && wrapped) {
        struct pec_trace_event ev = { 0 };
        char extra[600], a[500];

        ev.time = now;
        ev.type = PEC_TRACE_BUSTA_ANOMALIA;
        ev.errore = pec_errore_name(PEC_ERRORE_ALTRO);
        ev.errore_esteso = r->v->reason;
        if (record(r, &ev, NULL, &err) < 0) {
            stored_untraced(r, &err);
            return;
        }
        snprintf(extra, sizeof(extra), " motivo=\"%s\"", ascii(r->v->reason, a, sizeof(a)));
        trace_line(r, "anomalia", now, extra);
    } else if (r->o->stored && trace_stored(r, now, &err) < 0) {
        stored_untraced(r, &err);
        return;
    }
    if (r->o->stored && !wrapped)
        plain_mark(r, PEC_MARK_PLAIN);
    if (wrapped && r->o->stored) {
        char a[500];
        decision(r, PEC_LOG_INFO, "stored inside a busta di anomalia: %s", ascii(r->v->reason, a, sizeof(a)));
    } else
        decision(r, PEC_LOG_INFO, r->o->stored ? "stored as it is, no receipt" : "not stored by Sieve");
    done(r);
}

/* refuse - traced, then refused */
static void refuse(const struct run *r)
{
    struct pec_trace_event ev = { 0 };
    struct pec_error err = { 0 };
    char text[PEC_DELIVERY_REFUSAL_MAX], esteso[PEC_DELIVERY_REFUSAL_MAX + 8], extra[600], a[500];
    time_t now = r->fx->now(r->fx->ctx);

    pec_delivery_refusal_text(r->in, r->v, text, sizeof(text));
    snprintf(esteso, sizeof(esteso), "5.7.1 %s", text);
    ev.time = now;
    ev.type = PEC_TRACE_ERRORE_CONSEGNA; /* no message_id: nothing was emitted, the MTA bounces */
    ev.errore = pec_errore_name(PEC_ERRORE_ALTRO);
    ev.errore_esteso = esteso;
    if (record(r, &ev, NULL, &err) < 0) {
        decision(r, PEC_LOG_INFO, "refusal not traced, temporary failure: %s", err.msg);
        pec_answer_of_error(&r->o->answer, &err);
        return;
    }
    snprintf(extra, sizeof(extra), " motivo=\"%s\"", ascii(r->v->reason, a, sizeof(a)));
    trace_line(r, "rifiuto", now, extra);
    decision(r, PEC_LOG_INFO, "%s", text);
    pec_answer_reply(&r->o->answer, "550", "5.7.1", text);
}

/* pec_delivery_run - by action */
void pec_delivery_run(const struct pec_delivery_ctx *ctx, const struct pec_delivery_input *in,
                      const struct pec_delivery_verdict *v, const struct pec_effects *fx,
                      const struct pec_delivery_host *h, struct pec_delivery_outcome *o)
{
    const struct run r = { ctx, in, v, fx, h, o, pec_delivery_identificativo(v) };

    memset(o, 0, sizeof(*o));
    if (ctx->trust == NULL || ctx->index == NULL) { /* the verdict was reached without judging the signer */
        tempfail(&r, "no %s: not delivering", ctx->trust == NULL ? "trust anchors" : "provider index");
        return;
    }
    switch (v->action) {
    case PEC_DELIVERY_STORE_CERTIFIED: certified(&r); break;
    case PEC_DELIVERY_STORE_PLAIN:
    case PEC_DELIVERY_STORE_WRAPPED: other(&r); break;
    case PEC_DELIVERY_REFUSE:
    default: refuse(&r); break;
    }
}

/* pec_delivery_refuse - the refusal alone */
void pec_delivery_refuse(const struct pec_delivery_input *in, const struct pec_delivery_verdict *v,
                         const struct pec_effects *fx, struct pec_delivery_outcome *o)
{
    const struct run r = { NULL, in, v, fx, NULL, o, pec_delivery_identificativo(v) };

    memset(o, 0, sizeof(*o));
    refuse(&r);
}

/* pec_delivery_identificativo - daticert's, else the Message-ID */
const char *pec_delivery_identificativo(const struct pec_delivery_verdict *v)
{
    const struct pec_analysis *a = &v->analysis;

    if (a->has_daticert && a->daticert.identificativo != NULL && *a->daticert.identificativo != '\0')
        return a->daticert.identificativo;
    return a->message_id != NULL ? a->message_id : "";
}

/* pec_delivery_mark_key - see delivery.h */
size_t pec_delivery_mark_key(enum pec_mark_stage stage, const char *identificativo, const char *recipient,
                             char key_r[PEC_MARK_KEY_MAX])
{
    static const char *const prefix[] = { [PEC_MARK_STORED] = "pec-stored", [PEC_MARK_RECEIPT] = "pec-receipt",
                                          [PEC_MARK_UNTRACED] = "pec-untraced", [PEC_MARK_PLAIN] = "pec-plain",
                                          [PEC_MARK_PENDING] = "pec-pending", [PEC_MARK_SENT] = "pec-sent" };
    struct pec_buf b = PEC_BUF_INIT;
    const char *id = identificativo, *end;
    char hex[41];
    int n;

    key_r[0] = '\0';
    if (id == NULL || recipient == NULL)
        return 0;
    while (*id == ' ' || *id == '\t' || *id == '<')
        id++;
    end = id + strlen(id);
    while (end > id && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '>' || end[-1] == '\r' || end[-1] == '\n'))
        end--;
    if (end == id || *recipient == '\0')
        return 0;
    pec_buf_append(&b, id, (size_t)(end - id));
    pec_buf_append(&b, "\n", 1);
    for (const char *p = recipient; *p != '\0'; p++) {
        char c = (char)tolower((unsigned char)*p);
        pec_buf_append(&b, &c, 1);
    }
    pec_sha1_hex(b.data, b.len, hex);
    pec_buf_release(&b);
    n = snprintf(key_r, PEC_MARK_KEY_MAX, "%s:%s", prefix[stage], hex);
    return n > 0 ? (size_t)n : 0;
}
