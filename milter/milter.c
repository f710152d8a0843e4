/* milter.c - libmilter callbacks: feed the core's engines phase by phase, apply their verdicts.
 *
 * Error classes map to SMTP as everywhere in the project: anything internal or temporary is a 451
 * (never accept uncertified or untraced mail), refusals decided by the rules are 5xx.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <libmilter/mfapi.h>
#include "clamd.h"
#include "milter.h"
#include "outbox.h"
#include "pec/access.h"
#include "pec/log.h"
#include "pec/submit.h"
#include "pec/mime.h"
#include "pec/reception.h"
#include "pec/trace_facts.h"

static const struct milter_app *app; /* set once before smfi_main, read-only afterwards */

/* Per connection, reset at each MAIL FROM. */
struct conn {
    const struct pec_index *index;  /* the index snapshot of this transaction */
    int index_from_cache;           /* index was acquired from app->index_cache */
    struct pec_access_ctx access_ctx;
    struct pec_reception_ctx reception_ctx;
    char *mail_from;
    struct pec_strv rcpts;
    struct pec_strv header_names;   /* every header seen, to delete them when replacing */
    struct pec_access_txn *access;  /* access point transaction */
    struct pec_buf raw;             /* reception point: the message as received */
    unsigned long no_reply;         /* the SMFIP_NR_* steps the MTA agreed to send without waiting */
};

/* What we ask of the MTA.  Nothing before end-of-message refuses (the verdict is taken there), so the
 * connection, each header, the end of headers and each body chunk need no reply: one round trip (two
 * context switches) fewer per header line.  HELO, DATA and unknown commands are not sent at all. */
#define MILTER_ACTIONS (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY | SMFIF_ADDRCPT | SMFIF_ADDRCPT_PAR | SMFIF_DELRCPT)
#define NO_REPLY_STEPS (SMFIP_NR_CONN | SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY)
#define SKIPPED_STEPS (SMFIP_NOHELO | SMFIP_NODATA | SMFIP_NOUNKNOWN)

/* conn_reset - forget the current transaction */
static void conn_reset(struct conn *c)
{
    free(c->mail_from);
    c->mail_from = NULL;
    pec_strv_clear(&c->rcpts);
    pec_strv_clear(&c->header_names);
    pec_access_free(&c->access);
    pec_buf_release(&c->raw);
    if (c->index_from_cache)
        pec_trace_index_cache_release(app->index_cache, &c->index);
    c->index = NULL;
    c->index_from_cache = 0;
}

/* conn_index - take the provider index for one transaction: the database copy (refreshed in the
 * background by the cache) when there is one, else the file the configuration names */
static void conn_index(struct conn *c)
{
    struct pec_error err = { 0 };

    c->index = app->rt->index;
    if (app->index_cache) {
        const struct pec_index *idx = pec_trace_index_cache_acquire(app->index_cache, &err);
        if (idx) {
            c->index = idx;
            c->index_from_cache = 1;
        } else if (app->rt->index == NULL) {
            pec_warn("provider index: %s", err.msg);
        }
    }
    c->access_ctx = app->access;
    c->access_ctx.index = c->index;
    c->reception_ctx = app->reception;
    c->reception_ctx.index = c->index;
}

/* tempfail - the one way out for internal failures */
static sfsistat tempfail(SMFICTX *ctx, const char *why)
{
    const char *qid = smfi_getsymval(ctx, "i");

    pec_warn("%s: tempfail: %s", qid ? qid : "-", why);
    smfi_setreply(ctx, "451", "4.3.0", "Errore temporaneo del gestore PEC, riprovare / Temporary failure, try again");
    return SMFIS_TEMPFAIL;
}

/* bare - strip <> from an envelope address */
static char *bare(const char *addr)
{
    size_t n = strlen(addr);
    char *s;

    if (n >= 2 && addr[0] == '<' && addr[n - 1] == '>')
        s = strndup(addr + 1, n - 2);
    else
        s = strdup(addr);
    if (s == NULL)
        pec_panic("out of memory");
    return s;
}

/* conn_of - the connection state, created on first use (negotiation comes before connect) */
static struct conn *conn_of(SMFICTX *ctx)
{
    struct conn *c = smfi_getpriv(ctx);

    if (c == NULL) {
        if ((c = calloc(1, sizeof(*c))) == NULL)
            pec_panic("out of memory");
        smfi_setpriv(ctx, c);
    }
    return c;
}

/* step_done - the answer to a step: none when the MTA agreed not to wait for one */
static sfsistat step_done(const struct conn *c, unsigned long step)
{
    return (c->no_reply & step) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

/* cb_negotiate - our actions, and the no-reply steps the MTA offers */
static sfsistat cb_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2, unsigned long f3,
                             unsigned long *pf0, unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
    struct conn *c = conn_of(ctx);

    (void)f2;
    (void)f3;
    if ((f0 & MILTER_ACTIONS) != MILTER_ACTIONS) {
        pec_warn("pec-milter: the MTA does not offer the actions we need (offered 0x%lx)", f0);
        return SMFIS_REJECT; /* libmilter then refuses the connection: the MTA applies its default */
    }
    c->no_reply = f1 & NO_REPLY_STEPS;
    *pf0 = MILTER_ACTIONS;
    *pf1 = c->no_reply | (f1 & SKIPPED_STEPS);
    *pf2 = *pf3 = 0;
    return SMFIS_CONTINUE;
}

/* cb_connect - a new SMTP connection */
static sfsistat cb_connect(SMFICTX *ctx, char *host, struct sockaddr *sa)
{
    (void)host;
    (void)sa;
    return step_done(conn_of(ctx), SMFIP_NR_CONN);
}

/* cb_envfrom - MAIL FROM: a new transaction */
static sfsistat cb_envfrom(SMFICTX *ctx, char **argv)
{
    struct conn *c = smfi_getpriv(ctx);
    const char *auth = smfi_getsymval(ctx, "{auth_authen}");

    if (c == NULL)
        return tempfail(ctx, "no connection state");
    conn_reset(c);
    conn_index(c);
    c->mail_from = bare(argv[0]);
    if (app->role == ROLE_ACCESS)
        c->access = pec_access_begin(&c->access_ctx, auth ? auth : "", c->mail_from);
    return SMFIS_CONTINUE;
}

/* cb_envrcpt - RCPT TO */
static sfsistat cb_envrcpt(SMFICTX *ctx, char **argv)
{
    struct conn *c = smfi_getpriv(ctx);
    char *r = bare(argv[0]);

    pec_strv_push(&c->rcpts, r);
    if (c->access)
        pec_access_rcpt(c->access, r);
    free(r);
    return SMFIS_CONTINUE;
}

/* cb_header - one header field */
static sfsistat cb_header(SMFICTX *ctx, char *name, char *value)
{
    struct conn *c = smfi_getpriv(ctx);

    pec_strv_push(&c->header_names, name);
    if (c->access) {
        pec_access_header(c->access, name, value);
    } else if (strcasecmp(name, PEC_ANOMALY_MARK_HEADER) != 0) {
        /* our own mark never comes from outside: it is dropped here and deleted at the end */
        pec_buf_printf(&c->raw, "%s: %s\r\n", name, value);
    }
    return step_done(c, SMFIP_NR_HDR);
}

/* cb_eoh - end of headers */
static sfsistat cb_eoh(SMFICTX *ctx)
{
    struct conn *c = smfi_getpriv(ctx);

    if (c->access)
        pec_access_eoh(c->access);
    else
        pec_buf_puts(&c->raw, "\r\n");
    return step_done(c, SMFIP_NR_EOH);
}

/* cb_body - a body chunk */
static sfsistat cb_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
    struct conn *c = smfi_getpriv(ctx);

    if (c->access)
        pec_access_body(c->access, chunk, len);
    else
        pec_buf_append(&c->raw, chunk, len);
    return step_done(c, SMFIP_NR_BODY);
}

/* delete_headers - remove every header seen (all of them, or only those named `only`) */
static int delete_headers(SMFICTX *ctx, const struct conn *c, const char *only)
{
    for (size_t i = c->header_names.n; i-- > 0;) {
        const char *name = c->header_names.v[i];
        int occurrence = 0;

        if (only && strcasecmp(name, only) != 0)
            continue;
        for (size_t k = 0; k <= i; k++)
            if (strcasecmp(c->header_names.v[k], name) == 0)
                occurrence++;
        if (smfi_chgheader(ctx, (char *)name, occurrence, NULL) != MI_SUCCESS)
            return -1;
    }
    return 0;
}

/* replace_message - turn the message into `msg`: headers deleted and re-added, body replaced */
static int replace_message(SMFICTX *ctx, const struct conn *c, const struct pec_buf *msg, size_t body_offset)
{
    struct pec_strv names = PEC_STRV_INIT, values = PEC_STRV_INIT;
    struct pec_error err = { 0 };
    int rc = 0;

    if (delete_headers(ctx, c, NULL) < 0 || pec_message_header_fields(msg->data, msg->len, &names, &values, &err) < 0)
        rc = -1;
    for (size_t i = 0; rc == 0 && i < names.n; i++)
        if (smfi_addheader(ctx, names.v[i], values.v[i]) != MI_SUCCESS)
            rc = -1;
    for (size_t off = body_offset; rc == 0 && off < msg->len; off += 1000) {
        /* small chunks: miltertest (our protocol test driver) overflows its stack on chunks above ~1 KB, and
         * to Postfix they cost next to nothing */
        size_t n = msg->len - off < 1000 ? msg->len - off : 1000;
        if (smfi_replacebody(ctx, (unsigned char *)msg->data + off, (int)n) != MI_SUCCESS)
            rc = -1;
    }
    pec_strv_clear(&names);
    pec_strv_clear(&values);
    return rc;
}

/* add_marker - the internal recipient that makes Postfix tell the emitter once the message is queued */
static int add_marker(SMFICTX *ctx, const char *key)
{
    char rcpt[512];

    snprintf(rcpt, sizeof(rcpt), "<%s@%s>", key, app->rt->cfg->marker_domain);
    if (smfi_addrcpt_par(ctx, rcpt, "NOTIFY=NEVER") == MI_SUCCESS)
        return 0;
    return smfi_addrcpt(ctx, rcpt) == MI_SUCCESS ? 0 : -1;
}

/* owe - spool the messages owed once the message is queued; key_r gets the marker key */
static int owe(const struct pec_outgoing *out, size_t n, const char *rcpt1, const struct pec_buf *msg1,
               const char *quarantine, char key_r[OUTBOX_KEY_MAX], struct pec_error *err)
{
    struct outbox_entry *e = outbox_entry_new(app->rt->cfg->outbox_dir, err);
    int rc = 0;

    if (e == NULL)
        return -1;
    if (rcpt1)
        rc = outbox_entry_add(e, rcpt1, msg1->data, msg1->len, err);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = outbox_entry_add(e, out[i].to, out[i].bytes.data, out[i].bytes.len, err);
    if (rc == 0 && quarantine)
        rc = outbox_entry_quarantine(e, quarantine, err);
    if (rc == 0)
        rc = outbox_entry_commit(e, err);
    if (rc == 0)
        snprintf(key_r, OUTBOX_KEY_MAX, "%s", outbox_entry_key(e));
    outbox_entry_free(&e);
    return rc;
}

/* scan - ask clamd about the message when one is configured: 0 clean, 1 virus (name in virus), -1 error */
static int scan(const void *data, size_t len, char *virus, size_t virus_len, struct pec_error *err)
{
    if (app->rt->cfg->clamd_socket == NULL) {
        virus[0] = '\0';
        return 0;
    }
    return clamd_scan(app->rt->cfg->clamd_socket, data, len, virus, virus_len, err);
}

/* quarantine_now - keep an infected submission (it is refused, so never queued) for 30 months */
static int quarantine_now(const char *id, const void *data, size_t len, struct pec_error *err)
{
    char path[4096];
    FILE *f;

    if (app->rt->cfg->quarantine_dir == NULL) {
        pec_error_set(err, PEC_ERR_INTERNAL, "virus found but no quarantine_dir configured");
        return -1;
    }
    snprintf(path, sizeof(path), "%s/%s.eml", app->rt->cfg->quarantine_dir, id);
    if ((f = fopen(path, "wb")) == NULL || fwrite(data, 1, len, f) != len || fflush(f) != 0 || fsync(fileno(f)) != 0) {
        pec_error_set(err, PEC_ERR_TEMPORARY, "quarantine %s: %s", path, strerror(errno));
        if (f)
            fclose(f);
        return -1;
    }
    fclose(f);
    return 0;
}

/* trace_submission - the submitted message, its recipients and one event, in one transaction (no-op
 * without a trace store) */
static int trace_submission(const struct pec_access_verdict *v, enum pec_trace_type type, const char *qid,
                            const char *virus, struct pec_error *err)
{
    struct pec_trace_rcpt rcpts[PEC_TRACE_FACTS_MAX_RCPTS];
    const struct pec_daticert *d = &v->facts;
    struct pec_trace_message m = { 0 };
    struct pec_trace_event ev = { 0 };
    char msgid[PEC_ID_MAX + 2];
    size_t n = d->n_destinatari < PEC_TRACE_FACTS_MAX_RCPTS ? d->n_destinatari : PEC_TRACE_FACTS_MAX_RCPTS;

    if (app->trace == NULL)
        return 0;
    for (size_t i = 0; i < n; i++) {
        rcpts[i].address = d->destinatari[i].addr;
        rcpts[i].kind = d->destinatari[i].esterno ? PEC_RCPT_ESTERNO : PEC_RCPT_CERTIFICATO;
        rcpts[i].cc = i >= v->n_to;
    }
    m.identificativo = v->identificativo;
    m.client_msgid = d->msgid;
    m.sender = d->mittente;
    m.subject = d->oggetto;
    m.receipt_type = type == PEC_TRACE_BUSTA_TRASPORTO ? pec_ricevuta_name(d->ricevuta) : NULL;
    m.queue_id = qid;
    m.accepted_at = v->when;
    m.rcpts = rcpts;
    m.n_rcpts = n;
    snprintf(msgid, sizeof(msgid), "<%s>", type == PEC_TRACE_BUSTA_TRASPORTO ? v->identificativo : v->receipt_id);
    ev.time = v->when;
    ev.type = type;
    ev.identificativo = v->identificativo;
    ev.message_id = msgid;
    ev.queue_id = qid;
    ev.sender = d->mittente;
    ev.rcpts = rcpts;
    ev.n_rcpts = n;
    ev.subject = d->oggetto;
    ev.gestore = app->rt->cfg->provider_name;
    ev.receipt_type = m.receipt_type;
    ev.errore = type == PEC_TRACE_BUSTA_TRASPORTO ? "nessuno" : virus ? "virus" : "altro";
    ev.errore_esteso = type == PEC_TRACE_BUSTA_TRASPORTO ? NULL : virus ? virus : v->reply_text;
    ev.virus = virus;
    return pec_trace_accept(app->trace, &m, &ev, 1, err);
}

/* trace_quarantine - the reference to a kept infected message */
static int trace_quarantine(const char *id, time_t when, const char *virus, const char *ref, const char *sender,
                            enum pec_trace_type type, struct pec_error *err)
{
    struct pec_trace_quarantine q = { id, when, virus, ref, NULL, sender };
    struct pec_trace_event ev = { 0 };

    if (app->trace == NULL)
        return 0;
    ev.time = when;
    ev.type = type;
    ev.identificativo = id;
    ev.sender = sender;
    ev.virus = virus;
    ev.errore = "virus";
    return pec_trace_quarantine(app->trace, &q, &ev, 1, err);
}

/* drop_recipients - remove envelope recipients (handled by an avviso instead of a delivery) */
static int drop_recipients(SMFICTX *ctx, const struct pec_strv *rcpts)
{
    for (size_t i = 0; i < rcpts->n; i++) {
        char r[600];
        snprintf(r, sizeof(r), "<%s>", rcpts->v[i]);
        if (smfi_delrcpt(ctx, r) != MI_SUCCESS)
            return -1;
    }
    return 0;
}

/* own_reception - a busta between two users of this provider never crosses the port-25 reception point,
 * yet gets the complete treatment (RFC 6109 §3.4): run the reception point here for our own recipients,
 * for its presa in carico and the avvisi for mailboxes we do not have.  0 with *r filled, -1 when there is
 * nothing to do (no local recipient, no mailbox list, or our own busta not recognised: logged) */
static int own_reception(const struct conn *c, const struct pec_access_verdict *v, struct pec_reception_verdict *r)
{
    struct pec_strv local = PEC_STRV_INIT;
    struct pec_error err = { 0 };
    int rc = -1;

    if (app->mailboxes == NULL)
        return -1;
    for (size_t i = 0; i < c->rcpts.n; i++)
        if (pec_config_manages(app->rt->cfg, pec_addr_domain(c->rcpts.v[i])))
            pec_strv_push(&local, c->rcpts.v[i]);
    if (local.n > 0 &&
        pec_reception_decide(&c->reception_ctx, v->busta.data, v->busta.len, (const char *const *)local.v, local.n,
                             NULL, v->when, r, &err) == 0) {
        if (r->analysis.valid && r->analysis.kind == PEC_KIND_BUSTA_TRASPORTO)
            rc = 0;
        else {
            pec_warn("id=%s: our own busta is not valid at our reception point (is this provider in the index?): %s",
                     v->identificativo, r->analysis.errors.n ? r->analysis.errors.v[0] : "");
            pec_reception_verdict_clear(r);
        }
    } else if (local.n > 0) {
        pec_warn("id=%s: reception of our own busta: %s", v->identificativo, err.msg);
    }
    pec_strv_clear(&local);
    return rc;
}

/* eom_access - certify or refuse a submission */
static sfsistat eom_access(SMFICTX *ctx, struct conn *c, const char *qid)
{
    struct pec_access_verdict v;
    struct pec_error err = { 0 };
    char key[OUTBOX_KEY_MAX], virus[256];
    sfsistat rc = SMFIS_CONTINUE;
    size_t raw_len;
    const void *raw = pec_access_raw(c->access, &raw_len);
    int infected = scan(raw, raw_len, virus, sizeof(virus), &err);

    if (infected < 0)
        return tempfail(ctx, err.msg);
    if (pec_access_end(c->access, time(NULL), infected ? virus : NULL, &v, &err) < 0)
        return tempfail(ctx, err.msg);
    if (infected) {
        char ref[512];
        snprintf(ref, sizeof(ref), "%s/%s.eml", app->rt->cfg->quarantine_dir ? app->rt->cfg->quarantine_dir : "",
                 v.identificativo);
        if (quarantine_now(v.identificativo, raw, raw_len, &err) < 0 ||
            trace_quarantine(v.identificativo, v.when, virus, ref, c->mail_from, PEC_TRACE_NON_ACCETTAZIONE_VIRUS,
                             &err) < 0) {
            pec_access_verdict_clear(&v);
            return tempfail(ctx, err.msg);
        }
    }
    if (v.action == PEC_ACCESS_ACCEPT) {
        struct pec_reception_verdict local;
        int have_local = own_reception(c, &v, &local) == 0;

        /* the order keeps the invariants: the accettazione is spooled, the certification is traced, and
         * only then is the message rewritten and handed back to Postfix */
        if (owe(have_local ? local.out : NULL, have_local ? local.n_out : 0, v.receipt_to, &v.receipt, NULL, key,
                &err) < 0 ||
            trace_submission(&v, PEC_TRACE_BUSTA_TRASPORTO, qid, NULL, &err) < 0)
            rc = tempfail(ctx, err.msg);
        else if (replace_message(ctx, c, &v.busta, v.busta_body_offset) < 0 || add_marker(ctx, key) < 0 ||
                 (have_local && drop_recipients(ctx, &local.drop_rcpts) < 0))
            rc = tempfail(ctx, "cannot rewrite the message into the busta");
        else
            pec_info("%s: id=%s: accettazione: mittente=%s destinatari=%zu", qid, v.identificativo, c->mail_from,
                     c->rcpts.n);
        if (have_local)
            pec_reception_verdict_clear(&local);
    } else {
        /* a refused message is never queued: its avviso goes out now, or the client must retry */
        if (v.receipt.len > 0 &&
            (trace_submission(&v, infected ? PEC_TRACE_NON_ACCETTAZIONE_VIRUS : PEC_TRACE_NON_ACCETTAZIONE, qid,
                              infected ? virus : NULL, &err) < 0 ||
             pec_submit_one(app->rt->cfg, app->rt->cfg->service_address, v.receipt_to, v.receipt.data,
                            v.receipt.len, &err) < 0)) {
            rc = tempfail(ctx, err.msg);
        } else {
            pec_info("%s: id=%s: non-accettazione: check=%s mittente=%s", qid, v.identificativo,
                     pec_access_check_name(v.failed), c->mail_from);
            smfi_setreply(ctx, v.reply_code, v.reply_xcode, v.reply_text);
            rc = SMFIS_REJECT;
        }
    }
    pec_access_verdict_clear(&v);
    return rc;
}

/* quarantine_name - the file name an infected busta is kept under: its identificativo */
static const char *quarantine_name(const struct pec_reception_verdict *v)
{
    return v->identificativo[0] ? v->identificativo : "senza-identificativo";
}

/* trace_reception - what a valid incoming PEC message means for the trace: a busta received (with its
 * quarantine when infected), or a receipt that settles the state of one of our recipients */
static int trace_reception(const struct pec_reception_verdict *v, const struct conn *c, const char *qid,
                           const char *virus, struct pec_error *err)
{
    struct pec_trace_facts f;
    time_t now = time(NULL);

    if (app->trace == NULL || !v->analysis.valid || pec_trace_facts_of(&v->analysis, 1, now, qid, &f) < 0)
        return 0;
    if (v->analysis.kind == PEC_KIND_BUSTA_TRASPORTO) {
        /* the recipients this provider took in charge: those the envelope kept */
        f.ev.n_rcpts = 0;
        for (size_t i = 0; i < c->rcpts.n && i < PEC_TRACE_FACTS_MAX_RCPTS; i++)
            if (!pec_strv_has(&v->drop_rcpts, c->rcpts.v[i])) {
                f.rcpts[f.ev.n_rcpts].address = c->rcpts.v[i];
                f.rcpts[f.ev.n_rcpts].kind = PEC_RCPT_CERTIFICATO;
                f.ev.n_rcpts++;
            }
        if (virus) {
            f.ev.virus = virus;
            char ref[512];
            snprintf(ref, sizeof(ref), "%s/%s.eml", app->rt->cfg->quarantine_dir ? app->rt->cfg->quarantine_dir : "",
                     quarantine_name(v));
            return trace_quarantine(v->identificativo, now, virus, ref, f.ev.sender, PEC_TRACE_RICEZIONE, err);
        }
    }
    return pec_trace_record(app->trace, &f.ev, 1, f.up, f.n_up, err);
}

/* eom_reception - classify what arrived and apply the decision */
static sfsistat eom_reception(SMFICTX *ctx, struct conn *c, const char *qid)
{
    struct pec_reception_verdict v;
    struct pec_error err = { 0 };
    char key[OUTBOX_KEY_MAX], virus[256];
    sfsistat rc = SMFIS_CONTINUE;
    int infected = scan(c->raw.data ? c->raw.data : "", c->raw.len, virus, sizeof(virus), &err);

    if (infected < 0)
        return tempfail(ctx, err.msg);
    if (pec_reception_decide(&c->reception_ctx, c->raw.data ? c->raw.data : "", c->raw.len, (const char *const *)c->rcpts.v,
                             c->rcpts.n, infected ? virus : NULL, time(NULL), &v, &err) < 0)
        return tempfail(ctx, err.msg);
    if (v.action != PEC_RECEPTION_REJECT && trace_reception(&v, c, qid, infected ? virus : NULL, &err) < 0) {
        pec_reception_verdict_clear(&v);
        return tempfail(ctx, err.msg);
    }
    if (v.action == PEC_RECEPTION_REJECT) {
        pec_info("%s: rifiuto: %s", qid, v.reply_text);
        smfi_setreply(ctx, v.reply_code, v.reply_xcode, v.reply_text);
        pec_reception_verdict_clear(&v);
        return SMFIS_REJECT;
    }
    if (delete_headers(ctx, c, PEC_ANOMALY_MARK_HEADER) < 0)
        rc = tempfail(ctx, "cannot remove forged marks");
    /* dropped recipients get an avviso instead; a discarded busta keeps only the marker recipient
     * (drop_rcpts is a subset of the envelope's recipients) */
    if (rc == SMFIS_CONTINUE &&
        drop_recipients(ctx, v.action == PEC_RECEPTION_DISCARD ? &c->rcpts : &v.drop_rcpts) < 0)
        rc = tempfail(ctx, "cannot remove a recipient");
    if (rc == SMFIS_CONTINUE && v.mark_anomaly &&
        smfi_addheader(ctx, PEC_ANOMALY_MARK_HEADER, v.analysis.errors.n ? v.analysis.errors.v[0] : "non PEC") !=
            MI_SUCCESS)
        rc = tempfail(ctx, "cannot mark the message");
    if (rc == SMFIS_CONTINUE && (v.n_out > 0 || v.action == PEC_RECEPTION_DISCARD)) {
        if (owe(v.out, v.n_out, NULL, NULL, v.action == PEC_RECEPTION_DISCARD ? quarantine_name(&v) : NULL, key,
                &err) < 0)
            rc = tempfail(ctx, err.msg);
        else if (add_marker(ctx, key) < 0)
            rc = tempfail(ctx, "cannot add the marker recipient");
    }
    if (rc == SMFIS_CONTINUE)
        pec_info("%s: id=%s: %s %s: avvisi=%zu esclusi=%zu%s", qid, v.identificativo[0] ? v.identificativo : "-",
                 pec_kind_name(v.analysis.kind), v.analysis.valid ? "valido" : "non valido", v.n_out,
                 v.drop_rcpts.n, v.mark_anomaly ? " anomalia" : "");
    pec_reception_verdict_clear(&v);
    return rc;
}

/* cb_eom - end of message: decide and apply */
static sfsistat cb_eom(SMFICTX *ctx)
{
    struct conn *c = smfi_getpriv(ctx);
    const char *qid = smfi_getsymval(ctx, "i");
    sfsistat rc;

    if (c == NULL)
        return tempfail(ctx, "no connection state");
    if (qid == NULL)
        qid = "-";
    rc = app->role == ROLE_ACCESS ? (c->access ? eom_access(ctx, c, qid) : tempfail(ctx, "no transaction"))
                                  : eom_reception(ctx, c, qid);
    conn_reset(c);
    return rc;
}

/* cb_abort - the transaction was abandoned */
static sfsistat cb_abort(SMFICTX *ctx)
{
    struct conn *c = smfi_getpriv(ctx);

    if (c)
        conn_reset(c);
    return SMFIS_CONTINUE;
}

/* cb_close - the connection is gone */
static sfsistat cb_close(SMFICTX *ctx)
{
    struct conn *c = smfi_getpriv(ctx);

    if (c) {
        conn_reset(c);
        free(c);
        smfi_setpriv(ctx, NULL);
    }
    return SMFIS_CONTINUE;
}

/* milter_run - register and serve */
int milter_run(const struct milter_app *a, const char *socket, int timeout)
{
    struct smfiDesc desc = {
        .xxfi_name = "pec-milter",
        .xxfi_version = SMFI_VERSION,
        .xxfi_flags = MILTER_ACTIONS,
        .xxfi_connect = cb_connect,
        .xxfi_envfrom = cb_envfrom,
        .xxfi_envrcpt = cb_envrcpt,
        .xxfi_header = cb_header,
        .xxfi_eoh = cb_eoh,
        .xxfi_body = cb_body,
        .xxfi_eom = cb_eom,
        .xxfi_abort = cb_abort,
        .xxfi_close = cb_close,
        .xxfi_negotiate = cb_negotiate,
    };

    app = a;
    if (smfi_setconn((char *)socket) == MI_FAILURE || smfi_settimeout(timeout) == MI_FAILURE ||
        smfi_register(desc) == MI_FAILURE) {
        pec_warn("pec-milter: cannot set up libmilter on %s", socket);
        return 1;
    }
    if (smfi_opensocket(1) == MI_FAILURE) {
        pec_warn("pec-milter: cannot open %s", socket);
        return 1;
    }
    return smfi_main() == MI_SUCCESS ? 0 : 1;
}
