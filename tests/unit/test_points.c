/* test_points.c - the three point engines against a fake host that fails at every step in turn.
 *
 * For each point a clean run gives the order of its effects (compared with the order the engine's
 * header comment promises: a reordering fails here) and their number n.  Then for k = 1..n the host
 * fails its k-th fallible call, the step is retried the way the MTA would retry it (a new SMTP
 * transaction for the access and reception points, the same delivery for the delivery point), and the
 * durable state of the fake world (spool, trace, mailbox, marks, claims, what was sent) is checked:
 * a failed step is a temporary failure that sent nothing; after the retry exactly one receipt went out
 * and exactly one trace event records it; no receipt leaves without its busta queued or stored.
 * The windows the engines' comments name remain, and are asserted as they are so that a change to them
 * shows (the exactly-once work): a refused submission whose avviso could not be submitted keeps the
 * trace event of the failed attempt; an avviso di mancata consegna submitted whose trace write failed is
 * sent again on the retry (an avvenuta consegna is not: its "sent" mark lets the retry trace it).  Marks that cannot be read or written cost at most a
 * second copy, never a lost message. */
#define _GNU_SOURCE /* memmem */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "golden_fixture.h"
#include "pec/access.h"
#include "pec/delivery.h"
#include "pec/effects.h"
#include "pec/mta.h"
#include "pec/reception.h"
#include "pec/trace_facts.h"

#define MARKER_DOMAIN "outbox.invalid"

/* The fake world: what lasts across attempts, and the calls of the current attempt. */
struct world {
    int calls, fail_at;           /* fallible calls of this attempt; the one that fails (0: none) */
    struct pec_strv order;        /* this attempt's calls, by name */
    struct pec_strv edits;        /* this attempt's MTA edits (lost when the transaction fails) */
    struct pec_strv events;       /* trace events: "type id msgid" */
    struct pec_strv updates;      /* recipient states: "state id address" */
    struct pec_strv sent;         /* submitted messages: "Message-ID" */
    struct pec_strv spool;        /* spooled entries: "key\nto\nfacts" per owed message */
    struct pec_strv mailbox;      /* stored copies: "id" */
    struct pec_strv marks, claims;
    struct pec_strv mark_values;  /* marks set with a value: "key value" */
    int spool_seq, unqueued_receipts;
    const char *virus;
    int no_marks;                 /* the mailbox has no home: no marks at all */
    int only_unknown;             /* the reception envelope names only the unknown mailbox */
    struct pec_strv spool_quarantine; /* quarantine names the spooled entries asked for */
    const char *refuse_with;      /* the fake MTA refuses for good (5xx) a message containing this */
    int refused;                  /* how many it refused */
    struct pec_strv sent_to;      /* messages our users submitted: "id sender esterno-recipient" */
    int die_after_store;          /* the delivery dies once the message is in the mailbox */
    int die_after_submit;         /* the delivery dies once the MTA took the receipt */
    int archive_mode;             /* the box's Archivio di sicurezza: 0 none, 1 saves, 2 full */
    int search_fails;             /* the mailbox cannot be searched for an earlier copy */
    int archived;                 /* copies saved into it */
};

static struct world w;
static const struct pec_config *cfg;
static struct pec_reception_ctx rctx;
static struct pec_access_ctx actx;
static struct pec_delivery_ctx dctx;

/* reset - a new world */
static void reset(void)
{
    struct pec_strv *all[] = { &w.order, &w.edits, &w.events, &w.sent, &w.spool, &w.mailbox, &w.marks, &w.claims,
                               &w.spool_quarantine, &w.updates, &w.sent_to, &w.mark_values };

    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        pec_strv_clear(all[i]);
    memset(&w, 0, sizeof(w));
}

/* attempt - a new attempt failing at call k (0: none) */
static void attempt(int k)
{
    pec_strv_clear(&w.order);
    pec_strv_clear(&w.edits);
    w.calls = 0;
    w.fail_at = k;
}

/* step - record a fallible call; -1 when it is the one that fails */
static int step(const char *name, struct pec_error *err)
{
    pec_strv_push(&w.order, name);
    if (++w.calls == w.fail_at) {
        pec_error_set(err, PEC_ERR_TEMPORARY, "injected failure at %s", name);
        return -1;
    }
    return 0;
}

/* count - entries of sv starting with prefix */
static int count(const struct pec_strv *sv, const char *prefix)
{
    int n = 0;

    for (size_t i = 0; i < sv->n; i++)
        n += strncmp(sv->v[i], prefix, strlen(prefix)) == 0;
    return n;
}

/* order_of - this attempt's calls, consecutive repeats collapsed, comma-separated */
static const char *order_of(char *out, size_t len)
{
    out[0] = '\0';
    for (size_t i = 0; i < w.order.n; i++)
        if (i == 0 || strcmp(w.order.v[i], w.order.v[i - 1]) != 0)
            snprintf(out + strlen(out), len - strlen(out), "%s%s", i ? "," : "", w.order.v[i]);
    return out;
}

/* full_order - a copy of this attempt's calls, to look at after a later attempt */
static void full_order(struct pec_strv *out)
{
    pec_strv_clear(out);
    for (size_t i = 0; i < w.order.n; i++)
        pec_strv_push(out, w.order.v[i]);
}

/* lost_mark_tolerated - call k (1-based) of the full order is a mark whose loss costs at most a second
 * copy: a mark_check, or a mark_set other than the write-ahead mark that a store waits for */
static int lost_mark_tolerated(const struct pec_strv *full, int k, int checks_too)
{
    const char *name = full->v[k - 1];

    if (checks_too && strcmp(name, "mark_check") == 0)
        return 1;
    return strcmp(name, "mark_set") == 0 && !((size_t)k < full->n && strcmp(full->v[k], "store") == 0);
}

/* message_id - the Message-ID of a message we built */
static void message_id(const void *msg, size_t len, char *out, size_t outlen)
{
    char *copy = strndup(msg, len), *p = strstr(copy, "\r\nMessage-ID: <"), *end;

    out[0] = '\0';
    if (p && (end = strchr(p + 15, '>')))
        snprintf(out, outlen, "%.*s", (int)(end - p - 15), p + 15);
    free(copy);
}

/* event - record a trace event */
static void event(const struct pec_trace_event *ev)
{
    char line[1024];

    snprintf(line, sizeof(line), "%s %s %s", pec_trace_type_name(ev->type), ev->identificativo ? ev->identificativo : "-",
             ev->message_id ? ev->message_id : "-");
    pec_strv_push(&w.events, line);
}

/* ---- the fake effects ---- */

static time_t fx_now(void *ctx)
{
    return NOW;
}

static int fx_scan(void *ctx, const void *msg, size_t len, char *virus, size_t vlen, struct pec_error *err)
{
    if (step("scan", err) < 0)
        return -1;
    snprintf(virus, vlen, "%s", w.virus ? w.virus : "");
    return w.virus != NULL;
}

static int fx_quarantine(void *ctx, const char *name, const void *msg, size_t len, struct pec_error *err)
{
    return step("quarantine", err);
}

static void fx_quarantine_ref(void *ctx, const char *name, char *ref, size_t len)
{
    snprintf(ref, len, "q/%s", name);
}

static int fx_spool(void *ctx, const struct pec_owed *owed, size_t n, const char *qname, char key[PEC_OUTBOX_KEY_MAX],
                    struct pec_error *err)
{
    if (step("spool", err) < 0)
        return -1;
    if (qname != NULL)
        pec_strv_push(&w.spool_quarantine, qname);
    snprintf(key, PEC_OUTBOX_KEY_MAX, "k%d", ++w.spool_seq);
    for (size_t i = 0; i < n; i++) {
        struct pec_buf b = PEC_BUF_INIT;
        pec_buf_printf(&b, "%s\n%s\n", key, owed[i].to);
        pec_buf_append(&b, owed[i].facts, owed[i].facts_len);
        pec_strv_push(&w.spool, b.data);
        pec_buf_release(&b);
    }
    return 0;
}

/* record_sent - a message handed to the MTA; a receipt about a busta that is not stored is a violation */
static void record_sent(const void *msg, size_t len)
{
    char id[PEC_ID_MAX];

    message_id(msg, len, id, sizeof(id));
    pec_strv_push(&w.sent, id);
    if (memmem(msg, len, "X-Ricevuta: avvenuta-consegna", 29) && w.mailbox.n == 0)
        w.unqueued_receipts++;
}

static int fx_submit(void *ctx, const char *from, const char *to, const void *msg, size_t len, struct pec_error *err)
{
    if (step("submit", err) < 0)
        return -1;
    if (w.refuse_with != NULL && memmem(msg, len, w.refuse_with, strlen(w.refuse_with))) {
        w.refused++;
        pec_error_set(err, PEC_ERR_PERMANENT, "552 5.3.4 Message size exceeds fixed limit");
        return -1;
    }
    record_sent(msg, len);
    if (w.die_after_submit) {
        pec_error_set(err, PEC_ERR_TEMPORARY, "killed after the submission");
        return -1;
    }
    return 0;
}

static int fx_trace_ready(void *ctx, struct pec_error *err)
{
    return step("trace_ready", err);
}

static int fx_trace_accept(void *ctx, const struct pec_trace_message *m, const struct pec_trace_event *ev, size_t n,
                           struct pec_error *err)
{
    if (step("trace_accept", err) < 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        event(&ev[i]);
    return 0;
}

static int fx_trace_record(void *ctx, const struct pec_trace_event *ev, size_t n, const struct pec_trace_update *up,
                           size_t n_up, struct pec_error *err)
{
    if (step("trace_record", err) < 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        event(&ev[i]);
    for (size_t i = 0; i < n_up; i++) {
        char line[1024];

        snprintf(line, sizeof(line), "%s %s %s", up[i].state == PEC_STATE_CONSEGNA ? "consegna"
                 : up[i].state == PEC_STATE_ERRORE ? "errore" : "other", up[i].identificativo, up[i].address);
        pec_strv_push(&w.updates, line);
    }
    return 0;
}

static int fx_trace_quarantine(void *ctx, const struct pec_trace_quarantine *q, const struct pec_trace_event *ev,
                               size_t n, struct pec_error *err)
{
    return fx_trace_record(ctx, ev, n, NULL, 0, err);
}

static int fx_trace_claim(void *ctx, const char *id, const char *addr, time_t now, struct pec_error *err)
{
    char key[600];

    if (step("trace_claim", err) < 0)
        return -1;
    snprintf(key, sizeof(key), "%s %s", id, addr);
    if (pec_strv_has(&w.claims, key))
        return 0;
    pec_strv_push(&w.claims, key);
    return 1;
}

static int fx_trace_receipt_sent(void *ctx, const char *id, const char *addr, struct pec_error *err)
{
    char prefix[600];

    if (step("trace_receipt_sent", err) < 0)
        return -1;
    snprintf(prefix, sizeof(prefix), "avvenuta-consegna %s", id);
    return count(&w.events, prefix) > 0;
}

/* fx_trace_sent_to - the world's submitted messages: "id sender recipient" lines */
static int fx_trace_sent_to(void *ctx, const char *id, const char *sender, const char *rcpt, struct pec_error *err)
{
    char key[1200];

    if (step("trace_sent_to", err) < 0)
        return -1;
    snprintf(key, sizeof(key), "%s %s %s", id, sender, rcpt);
    return pec_strv_has(&w.sent_to, key);
}

static void fx_log(void *ctx, enum pec_log_level level, const char *line)
{
    if (getenv("TEST_POINTS_VERBOSE"))
        fprintf(stderr, "log: %s\n", line);
}

static const struct pec_effects fx = { NULL, fx_now, fx_scan, fx_quarantine, fx_quarantine_ref, fx_spool, fx_submit,
                                       fx_trace_ready, fx_trace_accept, fx_trace_record, fx_trace_quarantine,
                                       fx_trace_claim, fx_trace_receipt_sent, fx_trace_sent_to, fx_log };

/* ---- the fake MTA ---- */

static int edit(const char *name, const char *what, struct pec_error *err)
{
    char line[1200];

    if (step(name, err) < 0)
        return -1;
    snprintf(line, sizeof(line), "%s %s", name, what);
    pec_strv_push(&w.edits, line);
    return 0;
}

static int mta_delete_header(void *ctx, const char *name, int occurrence)
{
    return edit("delete_header", name, NULL);
}

static int mta_add_header(void *ctx, const char *name, const char *value)
{
    return edit("add_header", name, NULL);
}

static int mta_replace_body(void *ctx, const void *chunk, size_t len)
{
    return edit("replace_body", "", NULL);
}

static int mta_add_rcpt(void *ctx, const char *rcpt)
{
    return edit("add_rcpt", rcpt, NULL);
}

static int mta_delete_rcpt(void *ctx, const char *rcpt)
{
    return edit("delete_rcpt", rcpt, NULL);
}

static const struct pec_mta_edits mta = { NULL, mta_delete_header, mta_add_header, mta_replace_body, mta_add_rcpt,
                                          mta_delete_rcpt };

/* queue - the MTA queued the transaction: its marker is delivered to the emitter, which sends the spooled
 * messages of that key and records the facts they carry (never failing here) */
static void queue(void)
{
    char key[64] = "";

    for (size_t i = 0; i < w.edits.n; i++)
        if (strncmp(w.edits.v[i], "add_rcpt ", 9) == 0 && strstr(w.edits.v[i], "@" MARKER_DOMAIN))
            snprintf(key, sizeof(key), "%.*s", (int)(strcspn(w.edits.v[i] + 9, "@")), w.edits.v[i] + 9);
    for (size_t i = 0; key[0] && i < w.spool.n; i++) {
        const char *e = w.spool.v[i], *facts = strchr(strchr(e, '\n') + 1, '\n') + 1;
        struct pec_trace_facts_copy f;

        if (strncmp(e, key, strlen(key)) != 0 || e[strlen(key)] != '\n')
            continue;
        CHECK(pec_trace_facts_decode(facts, strlen(facts), &f, NULL) == 0);
        pec_strv_push(&w.sent, f.ev.message_id + 1); /* "<id>": the sent message's id, as its facts say */
        w.sent.v[w.sent.n - 1][strlen(w.sent.v[w.sent.n - 1]) - 1] = '\0';
        event(&f.ev);
        pec_trace_facts_copy_clear(&f);
    }
}

/* ---- the access point ---- */

/* access_once - one submission through the phases; returns the answer kind */
static enum pec_answer_kind access_once(const char *login, int k)
{
    static const char headers[] = "From: alice@" DOMAIN "\nTo: bob@pec-remoto.test\nSubject: prova\n"
                                  "Message-ID: <m1@mua>\nDate: Mon, 23 Nov 2026 08:00:00 +0100\n";
    const struct pec_access_point p = { NULL, MARKER_DOMAIN };
    struct pec_access_txn *t = pec_access_begin(&actx, login, "<alice@" DOMAIN ">");
    char *copy = strdup(headers), *save = NULL;
    struct pec_answer a;

    attempt(k);
    pec_access_rcpt(t, "<bob@pec-remoto.test>");
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        *strchr(line, ':') = '\0';
        pec_access_header(t, line, line + strlen(line) + 2);
    }
    pec_access_eoh(t);
    pec_access_body(t, "testo\r\n", 7);
    pec_access_run(t, &p, &fx, &mta, "Q1", &a);
    if (a.kind == PEC_ANSWER_CONTINUE)
        queue();
    pec_access_free(&t);
    free(copy);
    return a.kind;
}

/* test_access_accept - a certified submission: accettazione once, traced once */
static void test_access_accept(void)
{
    char order[512];
    int n;

    reset();
    CHECK(access_once("alice@" DOMAIN, 0) == PEC_ANSWER_CONTINUE);
    CHECK_STR(order_of(order, sizeof(order)), "scan,spool,trace_accept,delete_header,add_header,replace_body,add_rcpt");
    n = w.calls;
    for (int k = 1; k <= n; k++) {
        char name[64];
        reset();
        CHECK(access_once("alice@" DOMAIN, k) == PEC_ANSWER_TEMPFAIL);
        snprintf(name, sizeof(name), "%s", w.order.v[k - 1]);
        CHECK(w.sent.n == 0); /* not queued: its spool entry is never served */
        CHECK(access_once("alice@" DOMAIN, 0) == PEC_ANSWER_CONTINUE);
        CHECK(w.sent.n == 1);
        CHECK(count(&w.events, "accettazione ") == 1);
        if (count(&w.events, "accettazione ") != 1 || w.sent.n != 1)
            fprintf(stderr, "access accept: failure at call %d (%s)\n", k, name);
    }
}

/* test_access_refuse - a refused submission: the avviso once, after its refusal is traced */
static void test_access_refuse(void)
{
    char order[512];
    int n;

    reset();
    CHECK(access_once("mallory@" DOMAIN, 0) == PEC_ANSWER_REJECT);
    CHECK_STR(order_of(order, sizeof(order)), "scan,trace_accept,submit");
    CHECK(w.sent.n == 1 && count(&w.events, "non-accettazione ") == 1);
    n = w.calls;
    for (int k = 1; k <= n; k++) {
        int submit_failed;
        reset();
        CHECK(access_once("mallory@" DOMAIN, k) == PEC_ANSWER_TEMPFAIL);
        submit_failed = strcmp(w.order.v[k - 1], "submit") == 0;
        CHECK(w.sent.n == 0);
        CHECK(access_once("mallory@" DOMAIN, 0) == PEC_ANSWER_REJECT);
        CHECK(w.sent.n == 1);
        /* the known window: the failed attempt's event stays when only its submission failed */
        CHECK(count(&w.events, "non-accettazione ") == 1 + submit_failed);
    }
}

/* test_access_virus - an infected submission: kept and its quarantine traced before it is refused */
static void test_access_virus(void)
{
    char order[512];
    int n;

    reset();
    w.virus = "Eicar-Test-Signature";
    CHECK(access_once("alice@" DOMAIN, 0) == PEC_ANSWER_REJECT);
    CHECK_STR(order_of(order, sizeof(order)), "scan,quarantine,trace_record,trace_accept,submit");
    CHECK(count(&w.events, "non-accettazione-virus ") == 2 && w.sent.n == 1);
    n = w.calls;
    for (int k = 1; k <= n; k++) {
        reset();
        w.virus = "Eicar-Test-Signature";
        CHECK(access_once("alice@" DOMAIN, k) == PEC_ANSWER_TEMPFAIL);
        CHECK(w.sent.n == 0);
        CHECK(access_once("alice@" DOMAIN, 0) == PEC_ANSWER_REJECT);
        CHECK(w.sent.n == 1);
    }
    w.virus = NULL;
}

/* ---- the reception point ---- */

static enum pec_mailbox_policy policy(void *ctx, const char *addr)
{
    return strcmp(addr, "bob@" DOMAIN) == 0 ? PEC_MAILBOX_PEC_ONLY : PEC_MAILBOX_UNKNOWN;
}

/* busta_for - a busta signed by the golden provider for bob (ours) and zed (no such mailbox) */
static void busta_for(const char *id, struct pec_buf *out)
{
    static const char original[] = "From: alice@" DOMAIN "\r\nTo: bob@" DOMAIN ", zed@" DOMAIN "\r\n"
                                   "Subject: ciao\r\nMessage-ID: <c9@mua>\r\nDate: Mon, 23 Nov 2026 08:00:00 +0100\r\n"
                                   "\r\ntesto\r\n";
    static const char *const own[] = { DOMAIN };
    struct pec_compose c = { 0 };
    struct pec_daticert f;
    struct pec_error err = { 0 };
    char msgid[PEC_ID_MAX];

    CHECK(pec_message_facts(original, sizeof(original) - 1, idx, own, 1, &f, &err) == 0);
    f.identificativo = strdup(id);
    c.type = PEC_MSG_BUSTA_TRASPORTO;
    c.when = NOW;
    c.facts = &f;
    c.original = original;
    c.original_len = sizeof(original) - 1;
    CHECK(pec_compose_build(&iss, &c, out, msgid, &err) == 0);
    pec_daticert_clear(&f);
}

/* feed_headers - each field of msg's header section to fn, its value with the folding kept (as the
 * milter gets it); returns where the body starts */
static const char *feed_headers(const char *msg, void (*fn)(void *, const char *, const char *), void *t)
{
    const char *p = msg;

    while (*p && strncmp(p, "\r\n", 2) != 0) {
        const char *colon = strchr(p, ':'), *end = p;
        char *name, *value;

        do
            end = strstr(end, "\r\n") + 2;
        while (*end == ' ' || *end == '\t');
        name = strndup(p, (size_t)(colon - p));
        value = strndup(colon + 2, (size_t)(end - 2 - colon - 2));
        fn(t, name, value);
        free(name);
        free(value);
        p = end;
    }
    return p + 2;
}

static void reception_header(void *t, const char *name, const char *value)
{
    pec_reception_header(t, name, value);
}

/* receipt_for - an accettazione signed by the golden provider, addressed to bob */
static void receipt_for(struct pec_buf *out)
{
    static const char original[] = "From: bob@" DOMAIN "\r\nTo: carl@" DOMAIN "\r\nSubject: ciao\r\n"
                                   "Message-ID: <r9@mua>\r\nDate: Mon, 23 Nov 2026 08:00:00 +0100\r\n\r\ntesto\r\n";
    static const char *const own[] = { DOMAIN };
    static const char *const to[] = { "bob@" DOMAIN };
    struct pec_compose c = { 0 };
    struct pec_daticert f;
    struct pec_error err = { 0 };
    char msgid[PEC_ID_MAX];

    CHECK(pec_message_facts(original, sizeof(original) - 1, idx, own, 1, &f, &err) == 0);
    f.identificativo = strdup("pec1.ricevuta.1@" DOMAIN);
    c.type = PEC_MSG_ACCETTAZIONE;
    c.when = NOW;
    c.facts = &f;
    c.to = to;
    c.n_to = 1;
    CHECK(pec_compose_build(&iss, &c, out, msgid, &err) == 0);
    pec_daticert_clear(&f);
}

/* reception_once - the busta through the phases, with a forged anomaly mark */
static enum pec_answer_kind reception_once(const struct pec_buf *busta, int k)
{
    const struct pec_reception_point p = { MARKER_DOMAIN };
    struct pec_reception_txn *t = pec_reception_begin(&rctx, "<posta-certificata@" DOMAIN ">");
    const char *body;
    struct pec_answer a;

    attempt(k);
    if (!w.only_unknown) {
        pec_reception_rcpt(t, "<bob@" DOMAIN ">", &a);
        CHECK(a.kind == PEC_ANSWER_CONTINUE);
    }
    /* no such box, but the reverse path is a listed provider's: kept, a busta gets its avviso */
    pec_reception_rcpt(t, "<zed@" DOMAIN ">", &a);
    CHECK(a.kind == PEC_ANSWER_CONTINUE);
    pec_reception_header(t, PEC_ANOMALY_MARK_HEADER, "forged");
    body = feed_headers(busta->data, reception_header, t);
    pec_reception_eoh(t);
    pec_reception_body(t, body, busta->len - (size_t)(body - busta->data));
    pec_reception_run(t, &p, &fx, &mta, "Q2", &a);
    if (a.kind == PEC_ANSWER_CONTINUE)
        queue();
    pec_reception_free(&t);
    return a.kind;
}

/* test_reception - a busta for a known and an unknown mailbox: one presa in carico, one avviso, each
 * sent once and traced once, only after the busta was queued */
static void test_reception(void)
{
    struct pec_buf busta = PEC_BUF_INIT;
    char order[512];
    int n;

    busta_for("pec1.ricezione.1@" DOMAIN, &busta);
    reset();
    CHECK(reception_once(&busta, 0) == PEC_ANSWER_CONTINUE);
    CHECK_STR(order_of(order, sizeof(order)), "scan,trace_record,delete_header,delete_rcpt,spool,add_rcpt");
    CHECK(count(&w.events, "presa-in-carico ") == 1 && count(&w.events, "errore-consegna ") == 1);
    CHECK(count(&w.edits, "delete_rcpt zed@") == 1 && count(&w.edits, "delete_header " PEC_ANOMALY_MARK_HEADER) == 1);
    n = w.calls;
    for (int k = 1; k <= n; k++) {
        reset();
        CHECK(reception_once(&busta, k) == PEC_ANSWER_TEMPFAIL);
        CHECK(w.sent.n == 0);
        CHECK(reception_once(&busta, 0) == PEC_ANSWER_CONTINUE);
        CHECK(w.sent.n == 2);
        CHECK(count(&w.events, "presa-in-carico ") == 1);
        CHECK(count(&w.events, "errore-consegna ") == 1);
    }
    pec_buf_release(&busta);
}

/* failing_policy - a userdb that cannot answer */
static enum pec_mailbox_policy failing_policy(void *ctx, const char *addr)
{
    (void)ctx;
    (void)addr;
    return PEC_MAILBOX_LOOKUP_FAILED;
}

/* test_reception_rcpt - at RCPT time: no box and a reverse path no listed provider has is 550 5.1.1
 * (no busta can come from it: nothing to certify), a box kept; a lookup that fails is 451 */
static void test_reception_rcpt(void)
{
    static const char *const from[] = { "<x@example.org>", "<>" };
    struct pec_reception_txn *t;
    struct pec_answer a;

    for (size_t i = 0; i < 2; i++) {
        t = pec_reception_begin(&rctx, from[i]);
        pec_reception_rcpt(t, "<zed@" DOMAIN ">", &a);
        CHECK(a.kind == PEC_ANSWER_REJECT && strcmp(a.code, "550") == 0 && strcmp(a.xcode, "5.1.1") == 0);
        pec_reception_rcpt(t, "<bob@" DOMAIN ">", &a);
        CHECK(a.kind == PEC_ANSWER_CONTINUE);
        pec_reception_rcpt(t, "<someone@example.net>", &a); /* not ours: Postfix's relay rules decide */
        CHECK(a.kind == PEC_ANSWER_CONTINUE);
        pec_reception_free(&t);
    }
    rctx.mailbox_policy = failing_policy;
    t = pec_reception_begin(&rctx, "<x@example.org>");
    pec_reception_rcpt(t, "<bob@" DOMAIN ">", &a);
    CHECK(a.kind == PEC_ANSWER_TEMPFAIL && a.code[0] == '4');
    pec_reception_free(&t);
    rctx.mailbox_policy = policy;
}

/* raw_once - an ordinary message from outside for bob, through the phases */
static enum pec_answer_kind raw_once(const char *raw, int k)
{
    const struct pec_reception_point p = { MARKER_DOMAIN };
    struct pec_reception_txn *t = pec_reception_begin(&rctx, "<>");
    const char *body;
    struct pec_answer a;

    attempt(k);
    pec_reception_rcpt(t, "<bob@" DOMAIN ">", &a);
    CHECK(a.kind == PEC_ANSWER_CONTINUE);
    body = feed_headers(raw, reception_header, t);
    pec_reception_eoh(t);
    pec_reception_body(t, body, strlen(body));
    pec_reception_run(t, &p, &fx, &mta, "Q3", &a);
    pec_reception_free(&t);
    return a.kind;
}

/* test_reception_answer - issue 13 #1: a bounce for an esterno recipient of a message bob sent, and a
 * reply from that recipient, reach PEC-only bob marked as an answer; the same mail for a message bob
 * did not send, or unsolicited, is refused; a trace that cannot tell is a temporary failure */
static void test_reception_answer(void)
{
    static const char dsn[] =
        "From: MAILER-DAEMON@mx.example.org (Mail Delivery System)\r\nTo: bob@" DOMAIN "\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <b1@mx.example.org>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/report; report-type=delivery-status; boundary=\"R\"\r\n\r\n"
        "--R\r\nContent-Type: text/plain\r\n\r\nI'm sorry.\r\n"
        "--R\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n\r\n"
        "Final-Recipient: rfc822; dave@example.org\r\nOriginal-Recipient: rfc822;<dave@example.org>\r\n"
        "Action: failed\r\nStatus: 5.1.1\r\n"
        "--R\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: \"Per conto di: bob@" DOMAIN "\" <posta-certificata@"
        DOMAIN ">\r\nMessage-ID: <opec1.risposta.1@" DOMAIN ">\r\nSubject: POSTA CERTIFICATA: ciao\r\n"
        "--R--\r\n";
    static const char reply[] =
        "From: Dave <dave@example.org>\r\nTo: bob@" DOMAIN "\r\nSubject: Re: POSTA CERTIFICATA: ciao\r\n"
        "In-Reply-To: <opec1.risposta.1@" DOMAIN ">\r\nMessage-ID: <r1@example.org>\r\n\r\nricevuto\r\n";
    static const char unsolicited[] =
        "From: Eve <eve@example.org>\r\nTo: bob@" DOMAIN "\r\nSubject: offerta\r\nMessage-ID: <u1@example.org>\r\n"
        "\r\ncompra\r\n";
    char order[512];
    int n;

    reset();
    CHECK(raw_once(unsolicited, 0) == PEC_ANSWER_REJECT);
    CHECK(count(&w.order, "trace_sent_to") == 0); /* nothing referred to: no lookup */
    CHECK(raw_once(dsn, 0) == PEC_ANSWER_REJECT);  /* bob sent no such message */
    CHECK(raw_once(reply, 0) == PEC_ANSWER_REJECT);
    pec_strv_push(&w.sent_to, "opec1.risposta.1@" DOMAIN " bob@" DOMAIN " eve@example.org");
    CHECK(raw_once(dsn, 0) == PEC_ANSWER_REJECT); /* it went to someone else */
    pec_strv_push(&w.sent_to, "opec1.risposta.1@" DOMAIN " bob@" DOMAIN " dave@example.org");
    CHECK(raw_once(dsn, 0) == PEC_ANSWER_CONTINUE);
    CHECK_STR(order_of(order, sizeof(order)), "scan,trace_sent_to,add_header");
    CHECK(count(&w.edits, "add_header " PEC_ANOMALY_MARK_HEADER) == 1);
    CHECK(w.events.n == 0 && w.sent.n == 0); /* nothing certified, nothing owed */
    n = w.calls;
    for (int k = 1; k <= n; k++) {
        CHECK(raw_once(dsn, k) == PEC_ANSWER_TEMPFAIL);
        CHECK(count(&w.edits, "add_header " PEC_ANOMALY_MARK_HEADER) == 0);
    }
    CHECK(raw_once(reply, 0) == PEC_ANSWER_CONTINUE);
    CHECK(raw_once(unsolicited, 0) == PEC_ANSWER_REJECT);
}

/* test_reception_quarantine - only an infected busta is quarantined (issue 12 #7: a clean busta for
 * unknown mailboxes only was kept as if infected), and two copies of one busta get two names */
static void test_reception_quarantine(void)
{
    struct pec_buf busta = PEC_BUF_INIT;

    busta_for("pec1.ricezione.2@" DOMAIN, &busta);
    reset();
    w.only_unknown = 1;
    CHECK(reception_once(&busta, 0) == PEC_ANSWER_CONTINUE);
    CHECK(count(&w.events, "errore-consegna ") == 1);
    CHECK(w.spool_quarantine.n == 0);
    reset();
    w.only_unknown = 1;
    w.virus = "Eicar-Test-Signature";
    CHECK(reception_once(&busta, 0) == PEC_ANSWER_CONTINUE);
    CHECK(reception_once(&busta, 0) == PEC_ANSWER_CONTINUE); /* relayed twice */
    CHECK(w.spool_quarantine.n == 2);
    if (w.spool_quarantine.n == 2) {
        CHECK(strncmp(w.spool_quarantine.v[0], "pec1.ricezione.2@", 17) == 0);
        CHECK(strcmp(w.spool_quarantine.v[0], w.spool_quarantine.v[1]) != 0);
    }
    reset();
    pec_buf_release(&busta);
}

/* ---- the delivery point ---- */

static int dh_store(void *ctx, const struct pec_buf *wrapped, time_t *saved_at_r, enum pec_store_failure *f,
                    struct pec_error *err)
{
    *f = PEC_STORE_RETRY;
    if (step("store", err) < 0)
        return -1;
    pec_strv_push(&w.mailbox, "busta");
    *saved_at_r = NOW + 1;
    if (w.die_after_store) {
        pec_error_set(err, PEC_ERR_TEMPORARY, "killed after the save");
        return -1;
    }
    return 1;
}

static time_t dh_stored_at(void *ctx, const char *id)
{
    if (w.search_fails)
        return (time_t)-1;
    return w.mailbox.n ? NOW + 1 : 0;
}

static int dh_has_marks(void *ctx)
{
    return !w.no_marks;
}

static int dh_mark_lock(void *ctx, const char *key, struct pec_error *err)
{
    return step("mark_lock", err);
}

static int dh_mark_check(void *ctx, const char *key, struct pec_error *err)
{
    if (step("mark_check", err) < 0)
        return -1;
    return pec_strv_has(&w.marks, key);
}

static int dh_mark_set(void *ctx, const char *key, const char *value, struct pec_error *err)
{
    char line[600];

    if (step("mark_set", err) < 0)
        return -1;
    pec_strv_push(&w.marks, key);
    if (value != NULL) {
        snprintf(line, sizeof(line), "%s %s", key, value);
        pec_strv_push(&w.mark_values, line);
    }
    return 0;
}

static int dh_mark_get(void *ctx, const char *key, char *value, size_t size, struct pec_error *err)
{
    size_t len = strlen(key);

    if (step("mark_get", err) < 0)
        return -1;
    for (size_t i = w.mark_values.n; i-- > 0;)
        if (strncmp(w.mark_values.v[i], key, len) == 0 && w.mark_values.v[i][len] == ' ') {
            snprintf(value, size, "%s", w.mark_values.v[i] + len + 1);
            return 1;
        }
    if (!pec_strv_has(&w.marks, key))
        return 0;
    snprintf(value, size, "1");
    return 1;
}

static int dh_archive(void *ctx, struct pec_error *err)
{
    if (w.archive_mode == 2) {
        pec_error_set(err, PEC_ERR_TEMPORARY, "3 GB used of 3 GB");
        return 0;
    }
    w.archived++;
    return 1;
}

static const struct pec_delivery_host dhost = { NULL, dh_store, dh_stored_at, dh_has_marks, dh_mark_lock,
                                                dh_mark_check, dh_mark_set, dh_mark_get, NULL };
static const struct pec_delivery_host dhost_archive = { NULL, dh_store, dh_stored_at, dh_has_marks, dh_mark_lock,
                                                        dh_mark_check, dh_mark_set, dh_mark_get, dh_archive };

/* input_for - msg delivered to bob, relayed by the golden provider */
static void input_for(const struct pec_buf *msg, struct pec_delivery_input *in)
{
    memset(in, 0, sizeof(*in));
    in->raw = msg->data;
    in->len = msg->len;
    in->recipient = "bob@" DOMAIN;
    in->reverse_path = "posta-certificata@" DOMAIN;
    in->now = NOW;
}

/* delivery_once - one delivery attempt of the verdict */
static enum pec_answer_kind delivery_once(const struct pec_delivery_input *in, const struct pec_delivery_verdict *v,
                                          int k)
{
    struct pec_delivery_outcome o;

    attempt(k);
    pec_delivery_run(&dctx, in, v, &fx, w.archive_mode ? &dhost_archive : &dhost, &o);
    return o.answer.kind;
}

/* archive_once - a fresh world whose box keeps an archive in mode, and one delivery of msg */
static enum pec_answer_kind archive_once(const struct pec_buf *msg, int accepts_ordinary, int mode)
{
    struct pec_delivery_input in;
    struct pec_delivery_verdict v;
    struct pec_error err = { 0 };
    enum pec_answer_kind kind;

    input_for(msg, &in);
    in.accepts_ordinary = accepts_ordinary;
    CHECK(pec_delivery_decide(&dctx, &in, &v, &err) == 0);
    reset();
    w.archive_mode = mode;
    kind = delivery_once(&in, &v, 0);
    pec_delivery_verdict_clear(&v);
    return kind;
}

/* test_archive - a box with an Archivio di sicurezza: a busta and a receipt are copied into it once each,
 * ordinary mail wrapped is not; a full archive never holds the delivery back, and is traced */
static void test_archive(void)
{
    static const char ordinary[] = "From: x@example.org\r\nTo: bob@" DOMAIN "\r\nSubject: hi\r\n"
                                   "Message-ID: <o2@example.org>\r\n\r\nciao\r\n";
    struct pec_buf busta = PEC_BUF_INIT, rec = PEC_BUF_INIT, plain = PEC_BUF_INIT;

    busta_for("pec1.archivio.1@" DOMAIN, &busta);
    receipt_for(&rec);
    pec_buf_append(&plain, ordinary, sizeof(ordinary) - 1);
    CHECK(archive_once(&busta, 0, 1) == PEC_ANSWER_CONTINUE && w.archived == 1 && w.mailbox.n == 1 && w.sent.n == 1);
    CHECK(archive_once(&rec, 0, 1) == PEC_ANSWER_CONTINUE && w.archived == 1 && w.mailbox.n == 1);
    CHECK(archive_once(&plain, 1, 1) == PEC_ANSWER_CONTINUE && w.archived == 0 && w.mailbox.n == 1);
    /* full: delivered and receipted all the same, the miss traced */
    CHECK(archive_once(&busta, 0, 2) == PEC_ANSWER_CONTINUE && w.mailbox.n == 1 && w.sent.n == 1);
    CHECK(count(&w.events, "archivio-mancato ") == 1);
    reset();
    pec_buf_release(&busta);
    pec_buf_release(&rec);
    pec_buf_release(&plain);
}

/* test_delivery - a busta for bob: stored once, receipted once, the receipt never ahead of the store */
static void test_delivery(void)
{
    struct pec_buf busta = PEC_BUF_INIT;
    struct pec_delivery_input in = { 0 };
    struct pec_delivery_verdict v;
    struct pec_error err = { 0 };
    struct pec_strv full = PEC_STRV_INIT;
    char order[512];
    int n;

    busta_for("pec1.consegna.1@" DOMAIN, &busta);
    input_for(&busta, &in);
    CHECK(pec_delivery_decide(&dctx, &in, &v, &err) == 0);
    CHECK(v.action == PEC_DELIVERY_STORE_CERTIFIED);
    reset();
    CHECK(delivery_once(&in, &v, 0) == PEC_ANSWER_CONTINUE);
    CHECK_STR(order_of(order, sizeof(order)),
              "mark_lock,mark_check,trace_ready,mark_check,mark_set,store,mark_set,trace_claim,mark_get,mark_set,"
              "submit,mark_set,trace_record,mark_set");
    full_order(&full);
    n = w.calls;
    for (int k = 1; k <= n; k++) {
        char name[64];
        int tolerated;

        enum pec_answer_kind first;

        reset();
        first = delivery_once(&in, &v, k);
        snprintf(name, sizeof(name), "%s", w.order.v[k - 1]);
        /* a lost mark costs nothing now, but the write-ahead mark before the store is required; a failed
         * lock, check, store, claim, submission or trace is retried */
        tolerated = lost_mark_tolerated(&full, k, 0);
        CHECK(first == (tolerated ? PEC_ANSWER_CONTINUE : PEC_ANSWER_TEMPFAIL));
        /* before the retry: a receipt only when the failure was after its submission */
        CHECK(w.sent.n == (tolerated || strcmp(name, "trace_record") == 0 ? 1u : 0u));
        /* submitted, then the trace write failed: the retry traces the receipt the "sent" mark names */
        CHECK(delivery_once(&in, &v, 0) == PEC_ANSWER_CONTINUE);
        CHECK(w.mailbox.n == 1);
        CHECK(w.sent.n == 1);
        CHECK(count(&w.events, "avvenuta-consegna ") == 1);
        CHECK(w.unqueued_receipts == 0);
        if (w.mailbox.n != 1 || w.sent.n != 1 || count(&w.events, "avvenuta-consegna ") != 1)
            fprintf(stderr, "delivery: failure at call %d (%s)\n", k, name);
    }
    /* and a repeated delivery after a complete one changes nothing */
    reset();
    CHECK(delivery_once(&in, &v, 0) == PEC_ANSWER_CONTINUE);
    CHECK(delivery_once(&in, &v, 0) == PEC_ANSWER_CONTINUE);
    CHECK(w.mailbox.n == 1 && w.sent.n == 1 && count(&w.events, "avvenuta-consegna ") == 1);
    /* the recipient's state moves with the receipt's event: a local sender's message gets no other */
    {
        char want[600];

        snprintf(want, sizeof(want), "consegna pec1.consegna.1@" DOMAIN " %s", in.recipient);
        CHECK(w.updates.n == 1 && strcmp(w.updates.v[0], want) == 0);
    }
    /* killed between the store and its stored mark: the pending mark written ahead makes the retry find
     * the copy, one copy and one receipt (before the write-ahead mark: two copies) */
    reset();
    w.die_after_store = 1;
    CHECK(delivery_once(&in, &v, 0) == PEC_ANSWER_TEMPFAIL);
    w.die_after_store = 0;
    w.search_fails = 1;
    CHECK(delivery_once(&in, &v, 0) == PEC_ANSWER_TEMPFAIL && w.mailbox.n == 1 && w.sent.n == 0);
    w.search_fails = 0;
    CHECK(delivery_once(&in, &v, 0) == PEC_ANSWER_CONTINUE);
    CHECK(w.mailbox.n == 1 && w.sent.n == 1);
    pec_strv_clear(&full);
    pec_delivery_verdict_clear(&v);
    pec_buf_release(&busta);
}

/* test_delivery_killed_after_submit - an attempt that dies between the MTA taking the receipt and the
 * mark saying so (the fault suite, seed 13574): the retry sends that receipt again with the same
 * Message-ID (the sender's provider keeps one copy), traced once */
static void test_delivery_killed_after_submit(void)
{
    struct pec_buf busta = PEC_BUF_INIT;
    struct pec_delivery_input in = { 0 };
    struct pec_delivery_verdict v;
    struct pec_error err = { 0 };

    busta_for("pec1.killed.1@" DOMAIN, &busta);
    input_for(&busta, &in);
    CHECK(pec_delivery_decide(&dctx, &in, &v, &err) == 0);
    reset();
    w.die_after_submit = 1;
    CHECK(delivery_once(&in, &v, 0) == PEC_ANSWER_TEMPFAIL);
    w.die_after_submit = 0;
    CHECK(w.sent.n == 1 && count(&w.events, "avvenuta-consegna ") == 0);
    CHECK(delivery_once(&in, &v, 0) == PEC_ANSWER_CONTINUE);
    CHECK(w.mailbox.n == 1 && w.sent.n == 2 && count(&w.events, "avvenuta-consegna ") == 1);
    if (w.sent.n == 2)
        CHECK_STR(w.sent.v[1], w.sent.v[0]);
    /* done now: a third attempt sends nothing */
    CHECK(delivery_once(&in, &v, 0) == PEC_ANSWER_CONTINUE);
    CHECK(w.sent.n == 2 && count(&w.events, "avvenuta-consegna ") == 1);
    reset();
    pec_delivery_verdict_clear(&v);
    pec_buf_release(&busta);
}

/* test_delivery_refused - a receipt the MTA refuses for good is never traced as sent (issue 12 #2): the
 * avvenuta consegna falls back to the smaller forms, and what is refused in every form is traced as
 * ricevuta-rifiutata, once, and not retried for ever; the same for an avviso di mancata consegna */
static void test_delivery_refused(void)
{
    struct pec_buf busta = PEC_BUF_INIT;
    struct pec_delivery_input in = { 0 };
    struct pec_delivery_verdict v;
    struct pec_error err = { 0 };

    busta_for("pec1.refused.1@" DOMAIN, &busta);
    input_for(&busta, &in);
    CHECK(pec_delivery_decide(&dctx, &in, &v, &err) == 0);
    CHECK(v.variant == PEC_RICEVUTA_COMPLETA);
    /* too large with the original attached (completa, breve): the sintetica goes out */
    reset();
    w.refuse_with = "postacert.eml";
    CHECK(delivery_once(&in, &v, 0) == PEC_ANSWER_CONTINUE);
    CHECK(w.refused == 2 && w.sent.n == 1);
    CHECK(count(&w.events, "avvenuta-consegna ") == 1 && count(&w.events, "ricevuta-rifiutata ") == 0);
    /* refused in every form: traced as refused, never as sent; a repeated delivery changes nothing */
    reset();
    w.refuse_with = "X-Ricevuta: avvenuta-consegna";
    CHECK(delivery_once(&in, &v, 0) == PEC_ANSWER_CONTINUE);
    CHECK(w.refused == 3 && w.sent.n == 0 && w.mailbox.n == 1);
    CHECK(count(&w.events, "avvenuta-consegna ") == 0 && count(&w.events, "ricevuta-rifiutata ") == 1);
    CHECK(delivery_once(&in, &v, 0) == PEC_ANSWER_CONTINUE);
    CHECK(w.refused == 3 && w.sent.n == 0 && w.mailbox.n == 1 && count(&w.events, "ricevuta-rifiutata ") == 1);
    pec_delivery_verdict_clear(&v);
    pec_buf_release(&busta);
}

/* test_delivery_no_marks - the busta delivered again to a mailbox without marks (no home), or whose marks
 * were lost in a crash: a second copy may be stored, but one avvenuta consegna only (issue 12 #3) */
static void test_delivery_no_marks(void)
{
    struct pec_buf busta = PEC_BUF_INIT;
    struct pec_delivery_input in = { 0 };
    struct pec_delivery_verdict v;
    struct pec_error err = { 0 };

    busta_for("pec1.nomarks.1@" DOMAIN, &busta);
    input_for(&busta, &in);
    CHECK(pec_delivery_decide(&dctx, &in, &v, &err) == 0);
    reset();
    w.no_marks = 1;
    CHECK(delivery_once(&in, &v, 0) == PEC_ANSWER_CONTINUE);
    CHECK(delivery_once(&in, &v, 0) == PEC_ANSWER_CONTINUE);
    CHECK(w.sent.n == 1 && count(&w.events, "avvenuta-consegna ") == 1);
    /* marks kept, then lost (a crash before they reached the disk) */
    reset();
    CHECK(delivery_once(&in, &v, 0) == PEC_ANSWER_CONTINUE);
    pec_strv_clear(&w.marks);
    CHECK(delivery_once(&in, &v, 0) == PEC_ANSWER_CONTINUE);
    CHECK(w.sent.n == 1 && count(&w.events, "avvenuta-consegna ") == 1);
    reset();
    pec_delivery_verdict_clear(&v);
    pec_buf_release(&busta);
}

/* test_delivery_refused_mancata - the avviso di mancata consegna of a disabled mailbox, refused for good */
static void test_delivery_refused_mancata(void)
{
    struct pec_buf busta = PEC_BUF_INIT;
    struct pec_delivery_input in = { 0 };
    struct pec_delivery_verdict v;
    struct pec_error err = { 0 };

    busta_for("pec1.refused.2@" DOMAIN, &busta);
    input_for(&busta, &in);
    CHECK(pec_delivery_decide(&dctx, &in, &v, &err) == 0);
    reset();
    in.disabled = 1;
    w.refuse_with = "X-Ricevuta: errore-consegna";
    CHECK(delivery_once(&in, &v, 0) == PEC_ANSWER_CONTINUE);
    CHECK(w.refused == 1 && w.sent.n == 0 && w.mailbox.n == 0);
    CHECK(count(&w.events, "errore-consegna ") == 0 && count(&w.events, "ricevuta-rifiutata ") == 1);
    reset();
    pec_delivery_verdict_clear(&v);
    pec_buf_release(&busta);
}

/* test_facts_codec - the facts carried in the outbox come back as they were written, odd bytes included */
static void test_facts_codec(void)
{
    const struct pec_trace_rcpt rcpts[] = { { "a b@x.test", PEC_RCPT_ESTERNO, 1 } };
    const struct pec_trace_update up = { "id%1", "c@x.test", PEC_STATE_ERRORE, NOW, "-", "" };
    struct pec_trace_event ev = { 0 };
    struct pec_trace_facts_copy c;
    struct pec_buf b = PEC_BUF_INIT;

    ev.time = NOW;
    ev.type = PEC_TRACE_ERRORE_CONSEGNA;
    ev.identificativo = "id%1";
    ev.subject = "Oggetto: perché\r\n100%";
    ev.errore = "-";
    ev.errore_esteso = "";
    ev.rcpts = rcpts;
    ev.n_rcpts = 1;
    pec_trace_facts_encode(&ev, &up, 1, &b);
    CHECK(pec_trace_facts_decode(b.data, b.len, &c, NULL) == 0);
    CHECK(c.ev.type == PEC_TRACE_ERRORE_CONSEGNA && c.ev.time == NOW && c.ev.sender == NULL);
    CHECK_STR(c.ev.identificativo, "id%1");
    CHECK_STR(c.ev.subject, ev.subject);
    CHECK_STR(c.ev.errore, "-");
    CHECK_STR(c.ev.errore_esteso, "");
    CHECK(c.ev.n_rcpts == 1 && c.ev.rcpts[0].kind == PEC_RCPT_ESTERNO && c.ev.rcpts[0].cc == 1);
    CHECK_STR(c.ev.rcpts[0].address, "a b@x.test");
    CHECK(c.n_up == 1 && c.up[0].state == PEC_STATE_ERRORE && c.up[0].time == NOW);
    CHECK_STR(c.up[0].errore_code, "-");
    CHECK_STR(c.up[0].errore_text, "");
    pec_trace_facts_copy_clear(&c);
    CHECK(pec_trace_facts_decode(b.data, b.len - 2, &c, NULL) < 0); /* a cut line */
    CHECK(pec_trace_facts_decode("pec-facts 1\nbogus 1\n", 20, &c, NULL) < 0);
    pec_buf_release(&b);
}

/* test_facts_many_rcpts - every recipient of a large message is traced and settled (issue 12 #1: the
 * facts kept 64, so recipients 65+ had no row and a presa in carico listing them left them open) */
static void test_facts_many_rcpts(void)
{
    enum { N = 130 };
    struct pec_destinatario dest[N];
    char *addrs[N];
    struct pec_daticert d = { 0 };
    struct pec_trace_facts f;

    for (int i = 0; i < N; i++) {
        if (asprintf(&addrs[i], "r%03d@b.test", i) < 0)
            abort();
        memset(&dest[i], 0, sizeof(dest[i]));
        dest[i].addr = addrs[i];
        dest[i].esterno = i == N - 1;
    }
    d.mittente = "alice@a.test";
    d.destinatari = dest;
    d.n_destinatari = N;
    d.gestore = "A";
    d.identificativo = "id-many";
    d.when = NOW;
    d.ricezione = addrs;
    d.n_ricezione = N;
    CHECK(pec_trace_facts_built(PEC_MSG_BUSTA_TRASPORTO, &d, "m@a.test", &f) == 0);
    CHECK(f.ev.n_rcpts == N && f.n_up == 0);
    CHECK_STR(f.ev.rcpts[N - 1].address, "r129@b.test");
    CHECK(f.ev.rcpts[N - 1].kind == PEC_RCPT_ESTERNO && f.ev.rcpts[N - 2].kind == PEC_RCPT_CERTIFICATO);
    pec_trace_facts_clear(&f);
    CHECK(pec_trace_facts_built(PEC_MSG_PRESA_IN_CARICO, &d, "p@a.test", &f) == 0);
    CHECK(f.ev.n_rcpts == N && f.n_up == N);
    CHECK(f.up[N - 1].state == PEC_STATE_PRESA_IN_CARICO);
    CHECK_STR(f.up[N - 1].address, "r129@b.test");
    pec_trace_facts_clear(&f);
    pec_trace_facts_clear(&f); /* twice is harmless */
    for (int i = 0; i < N; i++)
        free(addrs[i]);
}

/* other_path - a verdict other than a plain store of a busta: its order, then every failure retried
 * gives one stored copy (stored_expected) and one event of event_type */
static void other_path(const char *what, const struct pec_delivery_input *in, const char *expected_order,
                       enum pec_answer_kind done_kind, size_t stored_expected, const char *event_prefix)
{
    struct pec_delivery_verdict v;
    struct pec_error err = { 0 };
    struct pec_strv full = PEC_STRV_INIT;
    char order[512];
    int n;

    CHECK(pec_delivery_decide(&dctx, in, &v, &err) == 0);
    reset();
    CHECK(delivery_once(in, &v, 0) == done_kind);
    CHECK_STR(order_of(order, sizeof(order)), expected_order);
    full_order(&full);
    n = w.calls;
    for (int k = 1; k <= n; k++) {
        enum pec_answer_kind first;
        int tolerated;

        reset();
        first = delivery_once(in, &v, k);
        /* a mark that cannot be read or written costs at most a second copy, never a lost message */
        tolerated = lost_mark_tolerated(&full, k, 1);
        CHECK(first == (tolerated ? done_kind : PEC_ANSWER_TEMPFAIL));
        if (first == PEC_ANSWER_TEMPFAIL)
            CHECK(delivery_once(in, &v, 0) == done_kind);
        CHECK(w.mailbox.n == stored_expected);
        CHECK(count(&w.events, event_prefix) == 1);
        if (w.mailbox.n != stored_expected || count(&w.events, event_prefix) != 1)
            fprintf(stderr, "%s: failure at call %d\n", what, k);
    }
    pec_strv_clear(&full);
    pec_delivery_verdict_clear(&v);
}

/* test_delivery_others - mancata consegna, a receipt stored as it is, ordinary mail wrapped or refused */
static void test_delivery_others(void)
{
    static const char ordinary[] = "From: x@example.org\r\nTo: bob@" DOMAIN "\r\nSubject: hi\r\n"
                                   "Message-ID: <o1@example.org>\r\n\r\nciao\r\n";
    struct pec_buf busta = PEC_BUF_INIT, rec = PEC_BUF_INIT;
    struct pec_delivery_input in = { 0 };

    busta_for("pec1.altri.1@" DOMAIN, &busta);
    input_for(&busta, &in);
    in.disabled = 1; /* the avviso di mancata consegna: submitted, then traced */
    /* the busta's lock first: two deliveries at once to a disabled box send one avviso */
    other_path("mancata", &in, "mark_lock,trace_ready,mark_get,mark_set,submit,mark_set,trace_record",
               PEC_ANSWER_CONTINUE, 0, "errore-consegna ");
    {
        /* killed between the MTA taking the avviso and its mark: the retry sends the same Message-ID;
         * a trace write that failed after the submission: the retry traces it and sends nothing */
        struct pec_delivery_verdict v;
        struct pec_error err = { 0 };

        CHECK(pec_delivery_decide(&dctx, &in, &v, &err) == 0);
        reset();
        w.die_after_submit = 1;
        CHECK(delivery_once(&in, &v, 0) == PEC_ANSWER_TEMPFAIL);
        w.die_after_submit = 0;
        CHECK(delivery_once(&in, &v, 0) == PEC_ANSWER_CONTINUE);
        CHECK(w.sent.n == 2 && strcmp(w.sent.v[0], w.sent.v[1]) == 0 && count(&w.events, "errore-consegna ") == 1);
        reset();
        CHECK(delivery_once(&in, &v, 7) == PEC_ANSWER_TEMPFAIL); /* call 7: the trace write */
        CHECK(delivery_once(&in, &v, 0) == PEC_ANSWER_CONTINUE);
        CHECK(w.sent.n == 1 && count(&w.events, "errore-consegna ") == 1);
        pec_delivery_verdict_clear(&v);
    }
    in.disabled = 0;
    receipt_for(&rec); /* a receipt for bob: stored as it is, traced once */
    input_for(&rec, &in);
    /* the lock first: two copies of one receipt delivered at once store one (likely fault seed 18251) */
    other_path("plain", &in, "mark_lock,trace_ready,mark_check,mark_set,store,trace_record,mark_set",
               PEC_ANSWER_CONTINUE, 1, "consegna ");
    {
        /* killed between the store and its marks (the fault suite, seed 3559): the MTA delivers it again,
         * the pending mark makes the retry find the copy, one copy in the mailbox */
        struct pec_delivery_verdict v;
        struct pec_error err = { 0 };

        CHECK(pec_delivery_decide(&dctx, &in, &v, &err) == 0);
        reset();
        w.die_after_store = 1;
        CHECK(delivery_once(&in, &v, 0) == PEC_ANSWER_TEMPFAIL);
        w.die_after_store = 0;
        /* a mailbox that cannot be searched is no proof there is no copy: 4xx, nothing stored */
        w.search_fails = 1;
        CHECK(delivery_once(&in, &v, 0) == PEC_ANSWER_TEMPFAIL && w.mailbox.n == 1);
        w.search_fails = 0;
        CHECK(delivery_once(&in, &v, 0) == PEC_ANSWER_CONTINUE);
        CHECK(w.mailbox.n == 1 && count(&w.events, "consegna ") == 1);
        pec_delivery_verdict_clear(&v);
    }
    in.raw = ordinary;
    in.len = sizeof(ordinary) - 1;
    in.accepts_ordinary = 1; /* wrapped: stored, then traced */
    other_path("wrapped", &in, "trace_ready,mark_check,store,trace_record", PEC_ANSWER_CONTINUE, 1, "busta-anomalia ");
    in.accepts_ordinary = 0; /* refused: traced, then answered */
    other_path("refused", &in, "trace_record", PEC_ANSWER_REJECT, 0, "errore-consegna ");
    pec_buf_release(&busta);
    pec_buf_release(&rec);
}

/* test_no_index - without the index or the trust anchors no point judges anything: 4xx, nothing done */
static void test_no_index(void)
{
    struct pec_buf busta = PEC_BUF_INIT;
    struct pec_delivery_input in;
    struct pec_delivery_verdict v;
    struct pec_delivery_outcome o;
    const struct pec_index *saved = idx;

    reset();
    actx.index = NULL;
    CHECK(access_once("alice@" DOMAIN, 0) == PEC_ANSWER_TEMPFAIL && w.calls == 0);
    actx.index = saved;
    busta_for("pec1.senza.1@" DOMAIN, &busta);
    rctx.trust = NULL;
    CHECK(reception_once(&busta, 0) == PEC_ANSWER_TEMPFAIL && w.calls == 0);
    rctx.trust = trust;
    input_for(&busta, &in);
    CHECK(pec_delivery_decide(&dctx, &in, &v, NULL) == 0);
    dctx.index = NULL;
    attempt(0);
    pec_delivery_run(&dctx, &in, &v, &fx, &dhost, &o);
    CHECK(o.answer.kind == PEC_ANSWER_TEMPFAIL && w.calls == 0 && strstr(o.answer.reason, "provider index"));
    dctx.index = saved;
    pec_delivery_verdict_clear(&v);
    pec_buf_release(&busta);
}

/* setup - the provider of the golden fixture as access, reception and delivery point */
static void setup(void)
{
    const char *src = getenv("PEC_SRC_DIR") ? getenv("PEC_SRC_DIR") : ".";
    struct pec_buf text = PEC_BUF_INIT;
    struct pec_error err = { 0 };

    if (fixture_init() < 0)
        exit(1);
    pec_buf_printf(&text, "provider_name = \"" PROVIDER "\"\nmail_domain = " DOMAIN "\nmanaged_domains = " DOMAIN "\n"
                          "cert_file = %s/tests/data/golden-pki/provider.pem\n"
                          "key_file = %s/tests/data/golden-pki/provider.key\n", src, src);
    if ((cfg = pec_config_parse(text.data, text.len, "points.conf", &err)) == NULL) {
        fprintf(stderr, "setup: %s\n", err.msg);
        exit(1);
    }
    pec_buf_release(&text);
    actx = (struct pec_access_ctx){ cfg, &iss, idx, NULL, NULL, NULL, NULL };
    rctx = (struct pec_reception_ctx){ cfg, &iss, trust, idx, policy, NULL };
    dctx = (struct pec_delivery_ctx){ &iss, trust, idx };
}

int main(void)
{
    setup();
    test_facts_codec();
    test_facts_many_rcpts();
    test_access_accept();
    test_access_refuse();
    test_access_virus();
    test_reception();
    test_reception_rcpt();
    test_archive();
    test_reception_quarantine();
    test_reception_answer();
    test_delivery();
    test_delivery_killed_after_submit();
    test_delivery_refused();
    test_delivery_refused_mancata();
    test_delivery_no_marks();
    test_delivery_others();
    test_no_index();
    reset();
    pec_config_unref(&cfg);
    fixture_free();
    return CHECK_DONE();
}
