/* test_delivery.c - the delivery point's decisions and receipts, with the golden test PKI. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "pec/delivery.h"
#include "pec/index.h"

#define T0 1795417200 /* 23/11/2026 08:00:00 +0100 */

static struct pec_signer *signer;
static struct pec_trust *trust;
static struct pec_index *idx;
static struct pec_idgen *ids;
static struct pec_issuer iss;
static struct pec_delivery_ctx dctx;

static const char original[] =
    "From: alice@pec-esempio.test\r\n"
    "To: bob@pec-esempio.test\r\n"
    "Cc: carol@pec-esempio.test\r\n"
    "Subject: prova\r\n"
    "Message-ID: <m1@mua>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"b\"\r\n"
    "\r\n"
    "--b\r\n"
    "Content-Type: text/plain\r\n\r\n"
    "corpo\r\n"
    "--b\r\n"
    "Content-Type: application/octet-stream; name=\"a.bin\"\r\n"
    "Content-Disposition: attachment; filename=\"a.bin\"\r\n"
    "Content-Transfer-Encoding: base64\r\n\r\n"
    "AAECAwQF\r\n"
    "--b--\r\n";

/* setup - load the golden PKI and an index listing its provider */
static void setup(void)
{
    static const char *const domains[] = { "pec-esempio.test" };
    const char *src = getenv("PEC_SRC_DIR");
    char cert[4096], key[4096], ca[4096];
    struct pec_buf ldif = PEC_BUF_INIT;
    struct pec_error err = { 0 };
    const void *der;
    size_t der_len;

    snprintf(cert, sizeof(cert), "%s/tests/data/golden-pki/provider.pem", src ? src : ".");
    snprintf(key, sizeof(key), "%s/tests/data/golden-pki/provider.key", src ? src : ".");
    snprintf(ca, sizeof(ca), "%s/tests/data/golden-pki/ca.pem", src ? src : ".");
    signer = pec_signer_load(cert, key, NULL, &err);
    if (signer == NULL) {
        fprintf(stderr, "setup: %s\n", err.msg);
        exit(1);
    }
    trust = pec_trust_new();
    CHECK(pec_trust_add_file(trust, ca, &err) == 0);
    der = pec_signer_cert_der(signer, &der_len);
    pec_index_render_entry(&ldif, "Gestore Esempio S.p.A.", der, der_len, "posta-certificata@pec-esempio.test",
                           domains, 1);
    idx = pec_index_parse_ldif(ldif.data, ldif.len, &err);
    CHECK(idx != NULL);
    pec_buf_release(&ldif);
    ids = pec_idgen_new_fixed(1, "pec-esempio.test");
    iss.gestore = "Gestore Esempio S.p.A.";
    iss.service_address = "posta-certificata@pec-esempio.test";
    iss.signer = signer;
    iss.digest = PEC_DIGEST_SHA256;
    iss.ids = ids;
    dctx.issuer = &iss;
    dctx.trust = trust;
    dctx.index = idx;
}

/* make_busta - a signed busta for `original`, asking for `ricevuta` */
static void make_busta(enum pec_ricevuta ricevuta, struct pec_buf *out)
{
    static const char *const own[] = { "pec-esempio.test" };
    struct pec_daticert facts;
    struct pec_compose c = { 0 };
    struct pec_error err = { 0 };
    char msgid[PEC_ID_MAX];

    CHECK(pec_message_facts(original, sizeof(original) - 1, idx, own, 1, &facts, &err) == 0);
    facts.identificativo = strdup("pec1.20261123070000.1.00000000.1@pec-esempio.test");
    facts.ricevuta = ricevuta;
    c.type = PEC_MSG_BUSTA_TRASPORTO;
    c.when = T0;
    c.facts = &facts;
    c.original = original;
    c.original_len = sizeof(original) - 1;
    CHECK(pec_compose_build(&iss, &c, out, msgid, &err) == 0);
    pec_daticert_clear(&facts);
}

/* decide - run the decision for one recipient */
static void decide(const struct pec_buf *msg, const char *rcpt, int ordinary_ok, struct pec_delivery_input *in,
                   struct pec_delivery_verdict *v)
{
    struct pec_error err = { 0 };

    memset(in, 0, sizeof(*in));
    in->raw = msg->data;
    in->len = msg->len;
    in->recipient = rcpt;
    in->reverse_path = "alice@pec-esempio.test";
    in->accepts_ordinary = ordinary_ok;
    in->now = T0 + 60;
    CHECK(pec_delivery_decide(&dctx, in, v, &err) == 0);
}

/* analyse - the core's reading of an emitted message */
static void analyse(const struct pec_buf *msg, struct pec_analysis *a)
{
    struct pec_analyze_opts o = { trust, idx, T0 + 3600 };
    struct pec_error err = { 0 };

    CHECK(pec_message_analyze(msg->data, msg->len, &o, a, &err) == 0);
}

/* test_certified - To gets the requested variant, Cc the sintetica, the receipt is right */
static void test_certified(void)
{
    struct pec_buf busta = PEC_BUF_INIT, rec = PEC_BUF_INIT;
    struct pec_delivery_input in;
    struct pec_delivery_verdict v;
    struct pec_analysis a;
    struct pec_error err = { 0 };
    char msgid[PEC_ID_MAX];

    make_busta(PEC_RICEVUTA_NONE, &busta);
    decide(&busta, "bob@pec-esempio.test", 0, &in, &v);
    CHECK(v.action == PEC_DELIVERY_STORE_CERTIFIED);
    CHECK(v.variant == PEC_RICEVUTA_COMPLETA);
    CHECK(pec_delivery_consegna(&dctx, &in, &v, T0 + 120, NULL, &rec, msgid, &err) == 0);
    analyse(&rec, &a);
    CHECK(a.valid);
    CHECK(a.tipo == PEC_TIPO_AVVENUTA_CONSEGNA);
    CHECK_STR(a.daticert.consegna, "bob@pec-esempio.test");
    CHECK(a.daticert.ricevuta == PEC_RICEVUTA_COMPLETA);
    CHECK(a.daticert.when == T0 + 120);
    CHECK(a.sig.signing_time == T0 + 120);
    CHECK(a.has_postacert);
    CHECK_STR(a.daticert.identificativo, "pec1.20261123070000.1.00000000.1@pec-esempio.test");
    pec_analysis_clear(&a);
    pec_delivery_verdict_clear(&v);
    pec_buf_reset(&rec);

    decide(&busta, "carol@pec-esempio.test", 0, &in, &v);
    CHECK(v.action == PEC_DELIVERY_STORE_CERTIFIED);
    CHECK(v.variant == PEC_RICEVUTA_SINTETICA);
    CHECK(pec_delivery_consegna(&dctx, &in, &v, T0 + 120, NULL, &rec, msgid, &err) == 0);
    analyse(&rec, &a);
    CHECK(a.valid && !a.has_postacert && a.daticert.ricevuta == PEC_RICEVUTA_SINTETICA);
    pec_analysis_clear(&a);
    pec_delivery_verdict_clear(&v);
    pec_buf_reset(&rec);

    /* quota: mancata consegna with the observed errore-esteso coding */
    decide(&busta, "bob@pec-esempio.test", 0, &in, &v);
    CHECK(pec_delivery_mancata(&dctx, &in, &v, PEC_DELIVERY_FAIL_QUOTA, T0 + 130, NULL, &rec, msgid, &err) == 0);
    analyse(&rec, &a);
    CHECK(a.valid && a.tipo == PEC_TIPO_ERRORE_CONSEGNA && a.daticert.errore == PEC_ERRORE_ALTRO);
    CHECK_STR(a.daticert.errore_esteso, "5.2.2 - Gestore Esempio S.p.A. - casella piena");
    pec_analysis_clear(&a);
    pec_buf_reset(&rec);
    CHECK(pec_delivery_mancata(&dctx, &in, &v, PEC_DELIVERY_FAIL_NO_MAILBOX, T0 + 130, NULL, &rec, msgid, &err) == 0);
    analyse(&rec, &a);
    CHECK(a.valid && a.daticert.errore == PEC_ERRORE_NO_DEST);
    pec_analysis_clear(&a);
    pec_buf_reset(&rec);

    /* the notification names no content */
    pec_delivery_notification(&dctx, &in, &v, "bob@example.org", T0 + 130, &rec);
    CHECK(strstr(rec.data, "To: bob@example.org") != NULL);
    CHECK(strstr(rec.data, "prova") == NULL);
    CHECK(strstr(rec.data, "corpo") == NULL);
    pec_delivery_verdict_clear(&v);

    /* breve asked: To gets breve with the attachment hashed */
    pec_buf_reset(&busta);
    pec_buf_reset(&rec);
    make_busta(PEC_RICEVUTA_BREVE, &busta);
    decide(&busta, "bob@pec-esempio.test", 0, &in, &v);
    CHECK(v.variant == PEC_RICEVUTA_BREVE);
    CHECK(pec_delivery_consegna(&dctx, &in, &v, T0 + 120, NULL, &rec, msgid, &err) == 0);
    CHECK(strstr(rec.data, "a.bin.hash") != NULL);
    pec_delivery_verdict_clear(&v);

    /* receipts go to the reverse path, else the daticert sender */
    decide(&busta, "bob@pec-esempio.test", 0, &in, &v);
    CHECK_STR(pec_delivery_receipt_to(&in, &v), "alice@pec-esempio.test");
    in.reverse_path = "";
    CHECK(v.analysis.daticert.mittente != NULL);
    CHECK_STR(pec_delivery_receipt_to(&in, &v), v.analysis.daticert.mittente);
    in.reverse_path = NULL;
    CHECK_STR(pec_delivery_receipt_to(&in, &v), v.analysis.daticert.mittente);
    pec_delivery_verdict_clear(&v);

    /* a receipt is stored as it is */
    decide(&rec, "alice@pec-esempio.test", 0, &in, &v);
    CHECK(v.action == PEC_DELIVERY_STORE_PLAIN);
    pec_delivery_verdict_clear(&v);
    pec_buf_release(&busta);
    pec_buf_release(&rec);
}

/* test_not_pec - ordinary mail and forgeries: refused by default, wrapped when allowed */
static void test_not_pec(void)
{
    static const char ordinary[] = "From: x@example.net\r\nTo: bob@pec-esempio.test\r\nSubject: ciao\r\n"
                                   "Message-ID: <o1@example.net>\r\n\r\nciao\r\n";
    static const char forged[] = "From: x@example.net\r\nTo: bob@pec-esempio.test\r\nSubject: finta\r\n"
                                 "X-Trasporto: posta-certificata\r\n\r\nnon firmato\r\n";
    struct pec_buf msg = PEC_BUF_INIT;
    struct pec_delivery_input in;
    struct pec_delivery_verdict v;
    struct pec_analysis a;

    pec_buf_append(&msg, ordinary, sizeof(ordinary) - 1);
    decide(&msg, "bob@pec-esempio.test", 0, &in, &v);
    CHECK(v.action == PEC_DELIVERY_REFUSE);
    CHECK(v.reason[0] != '\0');
    pec_delivery_verdict_clear(&v);
    decide(&msg, "bob@pec-esempio.test", 1, &in, &v);
    CHECK(v.action == PEC_DELIVERY_STORE_WRAPPED);
    analyse(&v.wrapped, &a);
    CHECK(a.valid && a.kind == PEC_KIND_BUSTA_ANOMALIA);
    CHECK_STR(a.message_id, "o1@example.net");
    CHECK(a.subject && strcmp(a.subject, "ANOMALIA MESSAGGIO: ciao") == 0);
    pec_analysis_clear(&a);
    pec_delivery_verdict_clear(&v);

    pec_buf_reset(&msg);
    pec_buf_append(&msg, forged, sizeof(forged) - 1);
    decide(&msg, "bob@pec-esempio.test", 0, &in, &v);
    CHECK(v.action == PEC_DELIVERY_REFUSE);
    CHECK(strstr(v.reason, "not signed") != NULL);
    {
        char text[PEC_DELIVERY_REFUSAL_MAX], small[40];
        const unsigned char *p;
        static const char head[] =
            "Messaggio rifiutato: la casella bob@pec-esempio.test accetta solo posta certificata (";

        pec_delivery_refusal_text(&in, &v, text, sizeof(text));
        CHECK(strncmp(text, head, sizeof(head) - 1) == 0);
        CHECK(strstr(text, "not signed") != NULL);
        CHECK(text[strlen(text) - 1] == ')');
        /* only the first problem, not the whole reason */
        CHECK(v.analysis.errors.n < 2 || strstr(text, v.analysis.errors.v[1]) == NULL);
        for (p = (const unsigned char *)text; *p; p++)
            CHECK(*p >= 0x20 && *p < 0x7f);
        /* cut to fit, still closed */
        pec_delivery_refusal_text(&in, &v, small, sizeof(small));
        CHECK(strlen(small) < sizeof(small));
        /* v->reason kept as it was */
        CHECK(strstr(v.reason, "not signed") != NULL);
    }
    /* the problem transliterated to ASCII: accented letters, other UTF-8, controls */
    {
        char text[PEC_DELIVERY_REFUSAL_MAX];
        const unsigned char *p;

        pec_strv_clear(&v.analysis.errors);
        pec_strv_push(&v.analysis.errors, "firma non verificabile: perch\xc3\xa9 \xc3\x88 scaduta \xe2\x82\xac\r\nX");
        pec_delivery_refusal_text(&in, &v, text, sizeof(text));
        CHECK(strstr(text, "(firma non verificabile: perche' E' scaduta ?  X)") != NULL);
        for (p = (const unsigned char *)text; *p; p++)
            CHECK(*p >= 0x20 && *p < 0x7f);
    }
    /* receipts go to the reverse path, else the daticert sender, else nowhere */
    CHECK_STR(pec_delivery_receipt_to(&in, &v), "alice@pec-esempio.test");
    in.reverse_path = "";
    CHECK(pec_delivery_receipt_to(&in, &v) == NULL);
    pec_delivery_verdict_clear(&v);
    pec_buf_release(&msg);
}

/* sent_by_bob - a trace in which bob sent pec1.x.1 to dave (esterno); fails when fail_lookup is set */
static int fail_lookup;
static int sent_by_bob(void *ctx, const char *id, const char *sender, const char *rcpt, struct pec_error *err)
{
    (void)ctx;
    if (fail_lookup) {
        pec_error_set(err, PEC_ERR_TEMPORARY, "trace down");
        return -1;
    }
    return strcmp(id, "pec1.x.1@pec-esempio.test") == 0 && strcmp(sender, "bob@pec-esempio.test") == 0 &&
           strcmp(rcpt, "dave@example.org") == 0;
}

/* test_own_bounce - a bounce our own Postfix writes reaches the delivery point unmarked: wrapped as an
 * answer for PEC-only bob when the trace shows he sent that busta to the bounced address, refused
 * otherwise; a trace that cannot tell is an internal failure (tempfail) */
static void test_own_bounce(void)
{
    static const char bounce[] =
        "From: MAILER-DAEMON@pec-esempio.test (Mail Delivery System)\r\nTo: bob@pec-esempio.test\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <b2@pec-esempio.test>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/report; report-type=delivery-status; boundary=\"R\"\r\n\r\n"
        "--R\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; pec-esempio.test\r\n\r\n"
        "Final-Recipient: rfc822; dave@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
        "--R\r\nContent-Type: message/rfc822\r\n\r\nFrom: posta-certificata@pec-esempio.test\r\n"
        "Message-ID: <pec1.x.1@pec-esempio.test>\r\nSubject: POSTA CERTIFICATA: ciao\r\n\r\nbusta\r\n--R--\r\n";
    struct pec_buf msg = PEC_BUF_INIT;
    struct pec_delivery_input in;
    struct pec_delivery_verdict v;
    struct pec_error err = { 0 };
    struct pec_analysis a;

    pec_buf_append(&msg, bounce, sizeof(bounce) - 1);
    decide(&msg, "bob@pec-esempio.test", 0, &in, &v); /* no lookup given: refused as before */
    CHECK(v.action == PEC_DELIVERY_REFUSE);
    pec_delivery_verdict_clear(&v);
    in.sent = sent_by_bob;
    CHECK(pec_delivery_decide(&dctx, &in, &v, &err) == 0);
    CHECK(v.action == PEC_DELIVERY_STORE_WRAPPED);
    analyse(&v.wrapped, &a);
    CHECK(a.valid && a.kind == PEC_KIND_BUSTA_ANOMALIA);
    pec_analysis_clear(&a);
    CHECK(memmem(v.wrapped.data, v.wrapped.len, "avviso di mancato recapito", 26) != NULL);
    pec_delivery_verdict_clear(&v);
    in.recipient = "carl@pec-esempio.test"; /* carl sent nothing */
    CHECK(pec_delivery_decide(&dctx, &in, &v, &err) == 0 && v.action == PEC_DELIVERY_REFUSE);
    pec_delivery_verdict_clear(&v);
    fail_lookup = 1;
    CHECK(pec_delivery_decide(&dctx, &in, &v, &err) == -1 && err.cls == PEC_ERR_TEMPORARY);
    pec_delivery_verdict_clear(&v);
    pec_buf_release(&msg);
}

int main(void)
{
    setup();
    test_certified();
    test_not_pec();
    test_own_bounce();
    pec_index_free(&idx);
    pec_trust_free(&trust);
    pec_signer_free(&signer);
    pec_idgen_free(&ids);
    return CHECK_DONE();
}
