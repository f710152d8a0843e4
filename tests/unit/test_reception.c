/* test_reception.c - the reception point's decisions for each class of incoming mail. */
#define _GNU_SOURCE /* mkdtemp */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "pec/index.h"
#include "pec/message.h"
#include "pec/reception.h"
#include "pec/testca.h"

#define T0 1795417200

static const struct pec_config *cfg_b;
static struct pec_signer *signer, *signer_b;
static char pki_b[] = "/tmp/pec-test-reception-XXXXXX";
static struct pec_trust *trust;
static struct pec_index *idx;
static struct pec_idgen *ids;
static struct pec_issuer iss_a, iss_b;
static struct pec_reception_ctx rctx;

/* policy - bob takes PEC only, olga takes ordinary mail too, nobody else exists */
static enum pec_mailbox_policy policy(void *ctx, const char *addr)
{
    (void)ctx;
    if (strcmp(addr, "bob@pec-b.test") == 0 || strcmp(addr, "carl@pec-b.test") == 0)
        return PEC_MAILBOX_PEC_ONLY;
    if (strcmp(addr, "olga@pec-b.test") == 0)
        return PEC_MAILBOX_ACCEPTS_ORDINARY;
    if (strcmp(addr, "down@pec-b.test") == 0)
        return PEC_MAILBOX_LOOKUP_FAILED;
    return PEC_MAILBOX_UNKNOWN;
}

/* setup - provider A (sender, in the index: the golden key) and provider B (us: a key of its own, since a
 * provider signs From the address of its certificate, PEC-RULES §7) */
static void setup(void)
{
    static const char *const domains[] = { "pec-esempio.test" };
    const char *src = getenv("PEC_SRC_DIR") ? getenv("PEC_SRC_DIR") : ".";
    struct pec_buf text = PEC_BUF_INIT, ldif = PEC_BUF_INIT;
    struct pec_error err = { 0 };
    const void *der;
    size_t der_len;
    char ca[4096], cert[4096], key[4096];

    CHECK(mkdtemp(pki_b) != NULL);
    CHECK(pec_testca_create(pki_b, "CA di B", T0, &err) == 0);
    CHECK(pec_testca_issue(pki_b, "b", "Gestore B", "posta-certificata@pec-b.test", T0, &err) == 0);
    pec_buf_printf(&text, "provider_name = Gestore B\nmail_domain = pec-b.test\nmanaged_domains = pec-b.test\n"
                          "cert_file = %s/b.pem\nkey_file = %s/b.key\n", pki_b, pki_b);
    cfg_b = pec_config_parse(text.data, text.len, "b.conf", &err);
    CHECK(cfg_b != NULL);
    signer_b = pec_signer_load(cfg_b->cert_file, cfg_b->key_file, NULL, &err);
    CHECK(signer_b != NULL);
    snprintf(cert, sizeof(cert), "%s/tests/data/golden-pki/provider.pem", src);
    snprintf(key, sizeof(key), "%s/tests/data/golden-pki/provider.key", src);
    signer = pec_signer_load(cert, key, NULL, &err);
    CHECK(signer != NULL);
    trust = pec_trust_new();
    snprintf(ca, sizeof(ca), "%s/tests/data/golden-pki/ca.pem", src);
    pec_trust_add_file(trust, ca, &err);
    snprintf(ca, sizeof(ca), "%s/ca.pem", pki_b);
    pec_trust_add_file(trust, ca, &err);
    der = pec_signer_cert_der(signer, &der_len);
    pec_index_render_entry(&ldif, "Gestore Esempio S.p.A.", der, der_len, "ricevute@pec-esempio.test", domains, 1);
    idx = pec_index_parse_ldif(ldif.data, ldif.len, &err);
    ids = pec_idgen_new_fixed(2, "pec-b.test");
    iss_a = (struct pec_issuer){ "Gestore Esempio S.p.A.", "posta-certificata@pec-esempio.test", signer,
                                 PEC_DIGEST_SHA256, ids };
    iss_b = (struct pec_issuer){ "Gestore B", "posta-certificata@pec-b.test", signer_b, PEC_DIGEST_SHA256, ids };
    rctx = (struct pec_reception_ctx){ cfg_b, &iss_b, trust, idx, policy, NULL };
    pec_buf_release(&text);
    pec_buf_release(&ldif);
}

static const char original[] = "From: alice@pec-esempio.test\r\nTo: bob@pec-b.test, zed@pec-b.test\r\n"
                               "Subject: ciao\r\nMessage-ID: <c9@mua>\r\nDate: Mon, 23 Nov 2026 08:00:00 +0100\r\n"
                               "\r\ntesto\r\n";

/* build_a - a message signed by provider A about `original` */
static void build_a(enum pec_msgtype type, struct pec_buf *out)
{
    static const char *const own[] = { "pec-esempio.test", "pec-b.test" };
    static const char *const to[] = { "alice@pec-esempio.test" };
    struct pec_compose c = { 0 };
    struct pec_daticert f;
    struct pec_error err = { 0 };
    char id[PEC_ID_MAX];

    CHECK(pec_message_facts(original, sizeof(original) - 1, NULL, own, 2, &f, &err) == 0);
    f.identificativo = strdup("pec1.x.1@pec-esempio.test");
    f.consegna = type == PEC_MSG_RILEVAZIONE_VIRUS ? strdup("bob@pec-b.test") : NULL;
    c.type = type;
    c.when = T0;
    c.facts = &f;
    c.original = original;
    c.original_len = sizeof(original) - 1;
    c.to = to;
    c.n_to = 1;
    c.virus = "Eicar-Signature";
    c.x_mittente = "alice@pec-esempio.test";
    CHECK(pec_compose_build(&iss_a, &c, out, id, &err) == 0);
    pec_daticert_clear(&f);
}

/* decide - run the reception point */
static void decide(const struct pec_buf *msg, const char *const *rcpts, size_t n, const char *virus,
                   struct pec_reception_verdict *v)
{
    struct pec_error err = { 0 };

    CHECK(pec_reception_decide(&rctx, msg->data, msg->len, rcpts, n, virus, T0 + 5, v, &err) == 0);
}

/* out_of - the outgoing message of a type, or NULL */
static const struct pec_outgoing *out_of(const struct pec_reception_verdict *v, enum pec_msgtype t, const char *to)
{
    for (size_t i = 0; i < v->n_out; i++)
        if (v->out[i].type == t && strcmp(v->out[i].to, to) == 0)
            return &v->out[i];
    return NULL;
}

/* valid_as - the outgoing message verifies and has that tipo; returns its daticert consegna check */
static void valid_as(const struct pec_outgoing *o, enum pec_tipo tipo, const char *consegna)
{
    struct pec_analyze_opts opts = { trust, NULL, T0 };
    struct pec_analysis a;
    struct pec_error err = { 0 };

    CHECK(o != NULL);
    if (o == NULL)
        return;
    CHECK(pec_message_analyze(o->bytes.data, o->bytes.len, &opts, &a, &err) == 0);
    CHECK(a.valid && a.tipo == tipo);
    if (consegna)
        CHECK_STR(a.daticert.consegna, consegna);
    CHECK_STR(a.daticert.identificativo, "pec1.x.1@pec-esempio.test");
    pec_analysis_clear(&a);
}

static void test_busta(void)
{
    static const char *const rcpts[] = { "bob@pec-b.test", "zed@pec-b.test" };
    struct pec_buf msg = PEC_BUF_INIT;
    struct pec_reception_verdict v;
    const struct pec_outgoing *o;

    build_a(PEC_MSG_BUSTA_TRASPORTO, &msg);
    decide(&msg, rcpts, 2, NULL, &v);
    CHECK(v.action == PEC_RECEPTION_ACCEPT);
    CHECK(v.drop_rcpts.n == 1 && pec_strv_has(&v.drop_rcpts, "zed@pec-b.test"));
    CHECK(v.n_out == 2);
    o = out_of(&v, PEC_MSG_PRESA_IN_CARICO, "ricevute@pec-esempio.test");
    valid_as(o, PEC_TIPO_PRESA_IN_CARICO, NULL);
    CHECK(o && strstr(o->bytes.data, "X-Ricevuta: presa-in-carico") != NULL);
    valid_as(out_of(&v, PEC_MSG_ERRORE_CONSEGNA, "alice@pec-esempio.test"), PEC_TIPO_ERRORE_CONSEGNA,
             "zed@pec-b.test");
    CHECK_STR(v.identificativo, "pec1.x.1@pec-esempio.test");
    pec_reception_verdict_clear(&v);

    /* a virus inside: presa in carico, one rilevazione virus per recipient, nothing delivered */
    decide(&msg, rcpts, 1, "Eicar-Signature", &v);
    CHECK(v.action == PEC_RECEPTION_DISCARD);
    valid_as(out_of(&v, PEC_MSG_RILEVAZIONE_VIRUS, "ricevute@pec-esempio.test"), PEC_TIPO_RILEVAZIONE_VIRUS,
             "bob@pec-b.test");
    CHECK(out_of(&v, PEC_MSG_PRESA_IN_CARICO, "ricevute@pec-esempio.test") != NULL);
    CHECK(out_of(&v, PEC_MSG_ERRORE_CONSEGNA_VIRUS, "alice@pec-esempio.test") == NULL); /* A's own job */
    pec_reception_verdict_clear(&v);

    /* the list of mailboxes not answering for one recipient: a temporary failure for the message, never a
     * "no such mailbox" notice (issue 16) */
    {
        static const char *const with_down[] = { "bob@pec-b.test", "down@pec-b.test" };
        struct pec_error err = { 0 };

        CHECK(pec_reception_decide(&rctx, msg.data, msg.len, with_down, 2, NULL, T0 + 5, &v, &err) < 0);
        CHECK(err.cls == PEC_ERR_TEMPORARY && strstr(err.msg, "down@pec-b.test") != NULL);
        CHECK(v.n_out == 0);
        pec_reception_verdict_clear(&v);
    }
    pec_buf_release(&msg);
}

/* test_envelope - a busta reaching an envelope recipient its daticert does not name is not valid PEC: refused
 * for a PEC-only mailbox, wrapped for one that takes ordinary mail (never a presa in carico) */
static void test_envelope(void)
{
    static const char *const carl[] = { "carl@pec-b.test" };
    static const char *const bob_carl[] = { "BOB@pec-b.test", "carl@pec-b.test" };
    static const char *const olga[] = { "olga@pec-b.test" };
    static const char *const bob[] = { "Bob@PEC-B.test" };
    struct pec_buf msg = PEC_BUF_INIT;
    struct pec_reception_verdict v;
    const char *why = "envelope recipient carl@pec-b.test is not among the daticert <destinatari>";

    build_a(PEC_MSG_BUSTA_TRASPORTO, &msg);
    decide(&msg, carl, 1, NULL, &v);
    CHECK(v.action == PEC_RECEPTION_REJECT && strcmp(v.reply_code, "554") == 0 && v.n_out == 0);
    CHECK(!v.analysis.valid && v.analysis.sig.status == PEC_SIG_VALID);
    CHECK(pec_strv_has(&v.analysis.errors, why));
    pec_reception_verdict_clear(&v);
    decide(&msg, bob_carl, 2, NULL, &v); /* one stranger spoils the transaction: no partial presa in carico */
    CHECK(v.action == PEC_RECEPTION_REJECT && v.n_out == 0 && pec_strv_has(&v.analysis.errors, why));
    pec_reception_verdict_clear(&v);
    decide(&msg, olga, 1, NULL, &v);
    CHECK(v.action == PEC_RECEPTION_ACCEPT && v.anomaly && v.n_out == 0 && !v.analysis.valid);
    pec_reception_verdict_clear(&v);
    decide(&msg, bob, 1, NULL, &v); /* addresses compare without case */
    CHECK(v.analysis.valid && !v.anomaly);
    pec_reception_verdict_clear(&v);
    pec_buf_release(&msg);
}

static void test_receipts(void)
{
    static const char *const to_alice[] = { "alice@pec-b.test" };
    static const char *const to_service[] = { "posta-certificata@pec-b.test" };
    struct pec_buf msg = PEC_BUF_INIT;
    struct pec_reception_verdict v;

    build_a(PEC_MSG_ACCETTAZIONE, &msg);
    decide(&msg, to_alice, 1, NULL, &v);
    CHECK(v.action == PEC_RECEPTION_ACCEPT && v.n_out == 0 && !v.anomaly);
    CHECK(v.analysis.tipo == PEC_TIPO_ACCETTAZIONE);
    pec_reception_verdict_clear(&v);
    pec_buf_reset(&msg);

    build_a(PEC_MSG_RILEVAZIONE_VIRUS, &msg);
    decide(&msg, to_service, 1, NULL, &v);
    CHECK(v.action == PEC_RECEPTION_ACCEPT);
    CHECK(v.n_out == 1);
    valid_as(out_of(&v, PEC_MSG_ERRORE_CONSEGNA_VIRUS, "alice@pec-esempio.test"), PEC_TIPO_ERRORE_CONSEGNA,
             "bob@pec-b.test");
    pec_reception_verdict_clear(&v);
    pec_buf_release(&msg);
}

static void test_ordinary(void)
{
    static const char plain[] = "From: x@example.net\r\nTo: bob@pec-b.test\r\nSubject: hi\r\n\r\nhi\r\n";
    static const char forged[] = "From: x@example.net\r\nTo: olga@pec-b.test\r\nX-Trasporto: posta-certificata\r\n"
                                 "Subject: hi\r\n\r\nhi\r\n";
    static const char *const bob[] = { "bob@pec-b.test" };
    static const char *const olga[] = { "olga@pec-b.test" };
    static const char *const both[] = { "olga@pec-b.test", "bob@pec-b.test" };
    struct pec_buf msg = PEC_BUF_INIT;
    struct pec_reception_verdict v;

    pec_buf_append(&msg, plain, sizeof(plain) - 1);
    decide(&msg, bob, 1, NULL, &v);
    CHECK(v.action == PEC_RECEPTION_REJECT && strcmp(v.reply_code, "554") == 0);
    CHECK(strstr(v.reply_text, "non certificata") != NULL);
    pec_reception_verdict_clear(&v);
    decide(&msg, olga, 1, NULL, &v);
    CHECK(v.action == PEC_RECEPTION_ACCEPT && v.anomaly);
    pec_reception_verdict_clear(&v);
    decide(&msg, both, 2, NULL, &v);
    CHECK(v.action == PEC_RECEPTION_REJECT); /* never a silent drop of bob's copy */
    pec_reception_verdict_clear(&v);
    decide(&msg, olga, 1, "Eicar-Signature", &v);
    CHECK(v.action == PEC_RECEPTION_REJECT && strcmp(v.reply_xcode, "5.7.0") == 0);
    pec_reception_verdict_clear(&v);

    pec_buf_reset(&msg);
    pec_buf_append(&msg, forged, sizeof(forged) - 1);
    decide(&msg, olga, 1, NULL, &v);
    CHECK(v.action == PEC_RECEPTION_ACCEPT && v.anomaly && !v.analysis.valid);
    pec_reception_verdict_clear(&v);
    pec_buf_release(&msg);
}

int main(void)
{
    setup();
    test_busta();
    test_envelope();
    test_receipts();
    test_ordinary();
    pec_index_free(&idx);
    pec_trust_free(&trust);
    pec_signer_free(&signer);
    pec_signer_free(&signer_b);
    pec_idgen_free(&ids);
    pec_config_unref(&cfg_b);
    for (size_t i = 0; i < 4; i++) {
        static const char *const files[] = { "ca.pem", "ca.key", "b.pem", "b.key" };
        char path[256];

        snprintf(path, sizeof(path), "%s/%s", pki_b, files[i]);
        unlink(path);
    }
    rmdir(pki_b);
    return CHECK_DONE();
}
