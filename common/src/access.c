/* access.c - the access point: formal checks of a submitted message, busta and receipts (§5.1). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "mime_internal.h"
#include "pec/access.h"
#include "pec/log.h"
#include "pec/message.h"
#include "pec/trace_facts.h"

struct pec_access_txn {
    const struct pec_access_ctx *ctx;
    char *login;
    char *mail_from;
    struct pec_strv rcpts;
    struct pec_strv header_names; /* every field seen, so that the busta can replace them all */
    struct pec_buf raw; /* the message as received, rebuilt from the phases */
};

/* One row per check: SMTP reply and the cause written in the avviso di non accettazione. */
static const struct check_reply {
    const char *name, *code, *xcode, *text, *cause;
} check_replies[] = {
    [PEC_CHECK_NONE] = { "none", "250", "2.0.0", "", "" },
    [PEC_CHECK_AUTH] = { "auth", "530", "5.7.0", "Autenticazione richiesta / Authentication required",
                         "utente non autenticato" },
    [PEC_CHECK_SENDER] = { "sender", "553", "5.7.1",
                           "Il mittente non corrisponde all'utente autenticato / "
                           "Sender address does not match the authenticated user",
                           "mittente non corrispondente all'utente autenticato" },
    [PEC_CHECK_SYNTAX] = { "syntax", "554", "5.6.0",
                           "Messaggio non conforme allo standard RFC 5322 / Message is not RFC 5322 compliant",
                           "messaggio non conforme allo standard RFC 5322" },
    [PEC_CHECK_FROM] = { "from", "553", "5.7.1",
                         "Il campo From deve contenere un solo indirizzo, uguale al mittente SMTP / "
                         "From must hold exactly one address, equal to the SMTP sender",
                         "campo From assente, multiplo o diverso dal mittente" },
    [PEC_CHECK_TO] = { "to", "554", "5.6.0", "Nessun destinatario nel campo To / No recipient in To",
                       "nessun destinatario nel campo To" },
    [PEC_CHECK_RCPT] = { "rcpt", "554", "5.7.1",
                         "I destinatari SMTP non corrispondono ai campi To e Cc / "
                         "SMTP recipients differ from the To and Cc fields",
                         "destinatari SMTP diversi dai campi To e Cc" },
    [PEC_CHECK_BCC] = { "bcc", "554", "5.7.1",
                        "Destinatari in copia nascosta (Bcc) non ammessi / Bcc recipients are not allowed",
                        "destinatari in copia nascosta (Bcc) non ammessi" },
    [PEC_CHECK_RECIPIENTS] = { "recipients", "552", "5.5.3", "Troppi destinatari / Too many recipients",
                               "numero di destinatari superiore al limite" },
    [PEC_CHECK_SIZE] = { "size", "552", "5.3.4",
                         "Dimensione per numero di destinatari oltre il limite / "
                         "Message size times recipients over the limit",
                         "dimensione del messaggio per numero di destinatari oltre il limite" },
    [PEC_CHECK_VIRUS] = { "virus", "554", "5.7.0", "Virus rilevato nel messaggio / Virus found in the message",
                          "virus informatico" },
    [PEC_CHECK_LIMITS] = { "limits", "552", "5.3.4",
                           "Messaggio oltre i limiti di dimensione o di struttura / "
                           "Message over the size or structure limits",
                           "messaggio oltre i limiti di dimensione o di struttura (parti MIME, annidamento, "
                           "intestazioni)" },
};

/* The busta must leave room for the receipts that carry the original back: a consegna completa wraps it
 * in another envelope of about the same size, possibly with a provider's own extra parts.  So the busta
 * keeps this far inside the MIME limits that every reception point applies (pec/mime.h). */
#define ENVELOPE_ROOM_SIZE ((size_t)1024 * 1024)
#define ENVELOPE_ROOM_PARTS 16u
#define ENVELOPE_ROOM_DEPTH 1u
#define ENVELOPE_ROOM_FIELDS 64u

/* pec_access_check_name - short name of a check */
const char *pec_access_check_name(enum pec_access_check c)
{
    return c <= PEC_CHECK_LIMITS ? check_replies[c].name : "unknown";
}

/* xstrdup - strdup that aborts on exhaustion, NULL -> "" */
static char *xstrdup(const char *s)
{
    char *d = strdup(s ? s : "");

    if (d == NULL)
        pec_panic("out of memory");
    return d;
}

/* strip_brackets - "<a@b>" -> "a@b" in place */
static char *strip_brackets(char *s)
{
    size_t n = strlen(s);

    if (n >= 2 && s[0] == '<' && s[n - 1] == '>') {
        memmove(s, s + 1, n - 2);
        s[n - 2] = '\0';
    }
    return s;
}

/* pec_access_begin - start a transaction */
struct pec_access_txn *pec_access_begin(const struct pec_access_ctx *ctx, const char *auth_login,
                                        const char *mail_from)
{
    struct pec_access_txn *t = calloc(1, sizeof(*t));

    if (t == NULL)
        pec_panic("out of memory");
    t->ctx = ctx;
    t->login = xstrdup(auth_login);
    t->mail_from = strip_brackets(xstrdup(mail_from));
    return t;
}

/* pec_access_rcpt - remember one recipient */
void pec_access_rcpt(struct pec_access_txn *t, const char *rcpt)
{
    char *r = strip_brackets(xstrdup(rcpt));

    pec_strv_push(&t->rcpts, r);
    free(r);
}

/* pec_access_header - rebuild one header line */
void pec_access_header(struct pec_access_txn *t, const char *name, const char *value)
{
    pec_strv_push(&t->header_names, name);
    pec_buf_printf(&t->raw, "%s:%s%s\r\n", name, (value[0] == ' ' || value[0] == '\t') ? "" : " ", value);
}

/* pec_access_eoh - the blank line */
void pec_access_eoh(struct pec_access_txn *t)
{
    pec_buf_puts(&t->raw, "\r\n");
}

/* pec_access_body - append body bytes */
void pec_access_body(struct pec_access_txn *t, const void *chunk, size_t len)
{
    pec_buf_append(&t->raw, chunk, len);
}

/* pec_access_free - free and NULL */
void pec_access_free(struct pec_access_txn **t)
{
    if (t == NULL || *t == NULL)
        return;
    free((*t)->login);
    free((*t)->mail_from);
    pec_strv_clear(&(*t)->rcpts);
    pec_strv_clear(&(*t)->header_names);
    pec_buf_release(&(*t)->raw);
    free(*t);
    *t = NULL;
}

/* pec_access_raw - the rebuilt message */
const void *pec_access_raw(const struct pec_access_txn *t, size_t *len_r)
{
    *len_r = t->raw.len;
    return t->raw.data ? t->raw.data : "";
}

/* pec_access_header_names - the fields seen */
const struct pec_strv *pec_access_header_names(const struct pec_access_txn *t)
{
    return &t->header_names;
}

/* pec_access_rcpts - the envelope recipients */
const struct pec_strv *pec_access_rcpts(const struct pec_access_txn *t)
{
    return &t->rcpts;
}

/* pec_access_context - what the transaction was begun with */
const struct pec_access_ctx *pec_access_context(const struct pec_access_txn *t)
{
    return t->ctx;
}

/* pec_access_mail_from - the envelope sender */
const char *pec_access_mail_from(const struct pec_access_txn *t)
{
    return t->mail_from;
}

/* authenticated_mailbox - the mailbox the login may send as, or NULL */
static const char *authenticated_mailbox(const struct pec_access_txn *t)
{
    if (t->login[0] == '\0')
        return NULL;
    if (t->ctx->mailbox_of)
        return t->ctx->mailbox_of(t->ctx->map_ctx, t->login);
    return strchr(t->login, '@') ? t->login : NULL;
}

/* header_list - addresses of one header, -1 when it cannot be read */
static int header_list(GMimeMessage *m, const char *name, struct pec_strv *out)
{
    const char *v = mime_header(GMIME_OBJECT(m), name);

    return v == NULL ? 0 : pec_addr_list_parse(v, out, NULL);
}

/* run_checks - §5.1 in order; the first failing check, or NONE; detail gets what the parser objected to */
static enum pec_access_check run_checks(const struct pec_access_txn *t, const struct pec_box *box,
                                        const char *virus, char *detail, size_t detail_len)
{
    struct pec_strv problems = PEC_STRV_INIT, from = PEC_STRV_INIT, to = PEC_STRV_INIT, cc = PEC_STRV_INIT,
                    bcc = PEC_STRV_INIT;
    const struct pec_config *cfg = t->ctx->cfg;
    const char *mailbox = authenticated_mailbox(t), *bccv;
    enum pec_access_check failed = PEC_CHECK_NONE;
    GMimeMessage *m = NULL;
    char why[160];

    if (mailbox == NULL)
        return PEC_CHECK_AUTH;
    if (strcasecmp(mailbox, t->mail_from) != 0)
        return PEC_CHECK_SENDER;
    /* before anything is built from the bytes: the MIME layer will not read beyond its limits */
    if (mime_scan(t->raw.data ? t->raw.data : "", t->raw.len, NULL, why, sizeof(why)) < 0) {
        snprintf(detail, detail_len, "%s", why);
        return PEC_CHECK_LIMITS;
    }
    m = mime_parse(t->raw.data ? t->raw.data : "", t->raw.len, &problems);
    if (m == NULL || problems.n > 0 || mime_header(GMIME_OBJECT(m), "Date") == NULL) {
        snprintf(detail, detail_len, "%s", problems.n ? problems.v[0] : m ? "Date header missing" : "no message");
        failed = PEC_CHECK_SYNTAX;
        goto out;
    }
    if (header_list(m, "From", &from) < 0 || from.n != 1 || strcasecmp(from.v[0], t->mail_from) != 0) {
        failed = PEC_CHECK_FROM;
        goto out;
    }
    if (header_list(m, "To", &to) <= 0) {
        failed = PEC_CHECK_TO;
        goto out;
    }
    bccv = mime_header(GMIME_OBJECT(m), "Bcc");
    if (bccv && (header_list(m, "Bcc", &bcc) != 0 || strspn(bccv, " \t\r\n") != strlen(bccv))) {
        failed = PEC_CHECK_BCC;
        goto out;
    }
    if (header_list(m, "Cc", &cc) < 0) {
        failed = PEC_CHECK_SYNTAX;
        goto out;
    }
    /* RCPT TO set == To ∪ Cc set (case-insensitive, duplicates ignored) */
    for (size_t i = 0; i < t->rcpts.n && !failed; i++)
        if (!pec_strv_has(&to, t->rcpts.v[i]) && !pec_strv_has(&cc, t->rcpts.v[i]))
            failed = PEC_CHECK_RCPT;
    for (size_t i = 0; i < to.n + cc.n && !failed; i++)
        if (!pec_strv_has(&t->rcpts, i < to.n ? to.v[i] : cc.v[i - to.n]))
            failed = PEC_CHECK_RCPT;
    if (failed)
        goto out;
    if (t->rcpts.n > (box->max_recipients ? box->max_recipients : cfg->max_recipients)) {
        failed = PEC_CHECK_RECIPIENTS;
        if (box->max_recipients)
            snprintf(detail, detail_len, "la casella ne ammette al massimo %lu", box->max_recipients);
    } else if ((unsigned long long)t->raw.len * t->rcpts.n >
               (box->max_message_size ? box->max_message_size : cfg->max_message_size)) {
        failed = PEC_CHECK_SIZE;
        if (box->max_message_size)
            snprintf(detail, detail_len, "la casella ammette al massimo %llu byte per messaggio (per il numero "
                     "dei destinatari)", box->max_message_size);
    } else if (virus)
        failed = PEC_CHECK_VIRUS;
out:
    pec_strv_clear(&problems);
    pec_strv_clear(&from);
    pec_strv_clear(&to);
    pec_strv_clear(&cc);
    pec_strv_clear(&bcc);
    if (m)
        g_object_unref(m);
    return failed;
}

/* refusal_facts - what the avviso di non accettazione certifies when the headers may be unreadable */
static void refusal_facts(const struct pec_access_txn *t, const char *mailbox, struct pec_daticert *f)
{
    const char *const *own = (const char *const *)t->ctx->cfg->managed_domains;
    const char *subject = NULL;
    GMimeMessage *m;

    if (pec_message_facts(t->raw.data ? t->raw.data : "", t->raw.len, t->ctx->index, own,
                          t->ctx->cfg->n_managed_domains, f, NULL) == 0) {
        free(f->mittente);
        f->mittente = xstrdup(mailbox); /* certify the authenticated sender, not a forged From */
        return;
    }
    memset(f, 0, sizeof(*f));
    f->mittente = xstrdup(mailbox);
    f->risposte = xstrdup(mailbox);
    f->n_destinatari = t->rcpts.n;
    f->destinatari = calloc(t->rcpts.n ? t->rcpts.n : 1, sizeof(*f->destinatari));
    if (f->destinatari == NULL)
        pec_panic("out of memory");
    for (size_t i = 0; i < t->rcpts.n; i++) {
        f->destinatari[i].addr = xstrdup(t->rcpts.v[i]);
        f->destinatari[i].esterno = !pec_config_manages(t->ctx->cfg, pec_addr_domain(t->rcpts.v[i])) &&
                                    !(t->ctx->index && pec_index_by_address(t->ctx->index, t->rcpts.v[i]));
    }
    /* the header section alone: the whole message may be over the MIME limits */
    if ((m = mime_parse_headers(t->raw.data ? t->raw.data : "", t->raw.len)) != NULL) {
        if ((subject = g_mime_message_get_subject(m)) != NULL)
            f->oggetto = xstrdup(subject);
        g_object_unref(m);
    }
}

/* build_receipt - accettazione or non accettazione for the sender */
static int build_receipt(const struct pec_access_txn *t, struct pec_access_verdict *v, enum pec_msgtype type,
                         const char *virus, struct pec_error *err)
{
    struct pec_compose c = { 0 };
    const char *to[1] = { v->receipt_to };

    c.type = type;
    c.when = v->when;
    c.facts = &v->facts;
    c.to = to;
    c.n_to = 1;
    c.virus = virus;
    c.reason = v->failed ? check_replies[v->failed].cause : NULL;
    if (pec_compose_build(t->ctx->issuer, &c, &v->receipt, v->receipt_id, err) < 0)
        return -1;
    if (pec_trace_facts_compose(t->ctx->issuer, &c, v->receipt_id, &v->receipt_facts) < 0)
        pec_panic("trace facts of a %s: none", pec_msgtype_name(c.type)); /* every receipt has them */
    return 0;
}

/* refuse - fill the reply of a failed check and the avviso owed to an authenticated sender */
static int refuse(const struct pec_access_txn *t, enum pec_access_check failed, const char *virus,
                  const char *detail, struct pec_access_verdict *v, struct pec_error *err)
{
    const struct check_reply *r = &check_replies[failed];
    const char *mailbox = authenticated_mailbox(t);

    v->action = PEC_ACCESS_REJECT;
    v->failed = failed;
    snprintf(v->reply_code, sizeof(v->reply_code), "%s", r->code);
    snprintf(v->reply_xcode, sizeof(v->reply_xcode), "%s", r->xcode);
    snprintf(v->reply_text, sizeof(v->reply_text), "PEC non accettato (%s): %s%s%s", r->name, r->text,
             virus || *detail ? ": " : "", virus ? virus : detail);
    if (mailbox == NULL)
        return 0; /* nobody to certify a refusal to */
    refusal_facts(t, mailbox, &v->facts);
    v->facts.identificativo = xstrdup(v->identificativo);
    if (virus)
        v->facts.errore_esteso = xstrdup(virus);
    v->receipt_to = xstrdup(mailbox);
    return build_receipt(t, v, failed == PEC_CHECK_VIRUS ? PEC_MSG_NON_ACCETTAZIONE_VIRUS
                                                         : PEC_MSG_NON_ACCETTAZIONE, virus, err);
}

/* requested_receipt - X-TipoRicevuta of the original, completa when absent or unknown */
static enum pec_ricevuta requested_receipt(const struct pec_access_txn *t)
{
    GMimeMessage *m = mime_parse(t->raw.data, t->raw.len, NULL);
    enum pec_ricevuta r = PEC_RICEVUTA_COMPLETA;
    const char *v;

    if (m && (v = mime_header(GMIME_OBJECT(m), "X-TipoRicevuta")) != NULL) {
        gchar *s = g_strstrip(g_strdup(v));
        if (pec_ricevuta_from_name(s) != PEC_RICEVUTA_NONE)
            r = pec_ricevuta_from_name(s);
        g_free(s);
    }
    if (m)
        g_object_unref(m);
    return r;
}

/* count_to - how many addresses the To field holds (pec_message_facts lists them first) */
static size_t count_to(const struct pec_access_txn *t)
{
    struct pec_strv to = PEC_STRV_INIT;
    GMimeMessage *m = mime_parse(t->raw.data, t->raw.len, NULL);
    size_t n;

    if (m)
        header_list(m, "To", &to);
    n = to.n;
    pec_strv_clear(&to);
    if (m)
        g_object_unref(m);
    return n;
}

/* busta_within - the busta leaves the room of ENVELOPE_ROOM_* inside the MIME limits; detail says why not */
static int busta_within(const struct pec_buf *busta, char *detail, size_t detail_len)
{
    struct pec_mime_limits room = pec_mime_default_limits;
    char why[160];

    room.size -= ENVELOPE_ROOM_SIZE;
    room.parts -= ENVELOPE_ROOM_PARTS;
    room.depth -= ENVELOPE_ROOM_DEPTH;
    room.header_fields -= ENVELOPE_ROOM_FIELDS;
    if (mime_scan(busta->data, busta->len, &room, why, sizeof(why)) == 0)
        return 1;
    snprintf(detail, detail_len, "its busta di trasporto would be over the limits: %s", why);
    return 0;
}

/* accept - certify: facts, busta, accettazione; 1 (nothing signed but the busta, which is dropped) when the
 * busta would be over the limits */
static int accept(const struct pec_access_txn *t, struct pec_access_verdict *v, char *detail, size_t detail_len,
                  struct pec_error *err)
{
    const char *const *own = (const char *const *)t->ctx->cfg->managed_domains;
    struct pec_compose c = { 0 };
    char busta_id[PEC_ID_MAX];
    const char *sep;

    if (pec_message_facts(t->raw.data, t->raw.len, t->ctx->index, own, t->ctx->cfg->n_managed_domains, &v->facts,
                          err) < 0) {
        pec_error_set(err, PEC_ERR_INTERNAL, "facts of a checked message: %s", err ? err->msg : "");
        return -1;
    }
    v->facts.identificativo = xstrdup(v->identificativo);
    v->facts.ricevuta = requested_receipt(t);
    v->n_to = count_to(t);
    c.type = PEC_MSG_BUSTA_TRASPORTO;
    c.when = v->when;
    c.facts = &v->facts;
    c.original = t->raw.data;
    c.original_len = t->raw.len;
    if (pec_compose_build(t->ctx->issuer, &c, &v->busta, busta_id, err) < 0)
        return -1;
    if (!busta_within(&v->busta, detail, detail_len))
        return 1;
    sep = strstr(v->busta.data, "\r\n\r\n");
    if (sep == NULL)
        pec_panic("pec_access: busta without a header section");
    v->busta_body_offset = (size_t)(sep - v->busta.data) + 4;
    v->receipt_to = xstrdup(t->mail_from);
    v->action = PEC_ACCESS_ACCEPT;
    return build_receipt(t, v, PEC_MSG_ACCETTAZIONE, NULL, err);
}

/* sender_limits - the authenticated sender's own limits (none: zeros): 0, or -1 with err when its box
 * cannot be looked up (a temporary failure: the limits that apply are unknown) */
static int sender_limits(const struct pec_access_txn *t, time_t now, struct pec_box *box, struct pec_error *err)
{
    const char *mailbox = authenticated_mailbox(t);
    int found;

    memset(box, 0, sizeof(*box));
    if (t->ctx->sender_box == NULL || mailbox == NULL)
        return 0;
    if ((found = t->ctx->sender_box(t->ctx->box_ctx, mailbox, now, box, err)) < 0)
        return -1;
    if (found == 0)
        memset(box, 0, sizeof(*box));
    return 0;
}

/* pec_access_end - decide */
int pec_access_end(struct pec_access_txn *t, time_t now, const char *virus, struct pec_access_verdict *v,
                   struct pec_error *err)
{
    enum pec_access_check failed;
    char detail[256] = "", id[PEC_ID_MAX];
    struct pec_box box;
    int rc;

    memset(v, 0, sizeof(*v));
    if (sender_limits(t, now, &box, err) < 0)
        return -1;
    v->when = now;
    pec_idgen_next(t->ctx->issuer->ids, now, v->identificativo);
    failed = run_checks(t, &box, virus, detail, sizeof(detail));
    if (failed != PEC_CHECK_NONE) {
        rc = refuse(t, failed, virus, detail, v, err);
    } else if ((rc = accept(t, v, detail, sizeof(detail), err)) == 1) {
        /* the original fits, its busta would not: refused like any other formal exception */
        snprintf(id, sizeof(id), "%s", v->identificativo);
        pec_access_verdict_clear(v);
        v->when = now;
        snprintf(v->identificativo, sizeof(v->identificativo), "%s", id);
        rc = refuse(t, PEC_CHECK_LIMITS, NULL, detail, v, err);
    }
    if (rc < 0) /* the caller tempfails and has nothing half-built to free */
        pec_access_verdict_clear(v);
    return rc;
}

/* pec_access_verdict_clear - free and zero */
void pec_access_verdict_clear(struct pec_access_verdict *v)
{
    pec_daticert_clear(&v->facts);
    pec_buf_release(&v->busta);
    pec_buf_release(&v->receipt);
    pec_buf_release(&v->receipt_facts);
    free(v->receipt_to);
    memset(v, 0, sizeof(*v));
}

/* pec_message_header_fields - top-level fields in order, raw values */
int pec_message_header_fields(const void *raw, size_t len, struct pec_strv *names, struct pec_strv *values,
                              struct pec_error *err)
{
    GMimeMessage *m = mime_parse(raw, len, NULL);
    GMimeObject *lists[2];

    if (m == NULL) {
        pec_error_set(err, PEC_ERR_INVALID, "not an Internet message");
        return -1;
    }
    /* GMime keeps Content-* and MIME-Version on the body part: message fields first, then those */
    lists[0] = GMIME_OBJECT(m);
    lists[1] = g_mime_message_get_mime_part(m);
    for (int k = 0; k < 2; k++) {
        GMimeHeaderList *hl = lists[k] ? g_mime_object_get_header_list(lists[k]) : NULL;
        for (int i = 0; hl && i < g_mime_header_list_get_count(hl); i++) {
            GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
            gchar *val = g_strdup(g_mime_header_get_raw_value(h));
            size_t n = strlen(val);

            while (n > 0 && (val[n - 1] == '\n' || val[n - 1] == '\r'))
                val[--n] = '\0';
            pec_strv_push(names, g_mime_header_get_name(h));
            pec_strv_push(values, val[0] == ' ' ? val + 1 : val);
            g_free(val);
        }
    }
    g_object_unref(m);
    return 0;
}
