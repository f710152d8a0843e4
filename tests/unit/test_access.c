/* test_access.c - the access point engine: every §5.1 check, and the busta/accettazione it signs. */
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "pec/access.h"
#include "pec/message.h"

#define T0 1795417200

static const struct pec_config *cfg;
static struct pec_signer *signer;
static struct pec_trust *trust;
static struct pec_idgen *ids;
static struct pec_issuer iss;
static struct pec_access_ctx actx;

/* setup - a configuration with the golden PKI and small limits */
static void setup(void)
{
    const char *src = getenv("PEC_SRC_DIR") ? getenv("PEC_SRC_DIR") : ".";
    struct pec_buf text = PEC_BUF_INIT;
    struct pec_error err = { 0 };
    char ca[4096];

    pec_buf_printf(&text,
                   "provider_name = \"Gestore Esempio S.p.A.\"\n"
                   "mail_domain = pec-esempio.test\n"
                   "managed_domains = pec-esempio.test\n"
                   "cert_file = %s/tests/data/golden-pki/provider.pem\n"
                   "key_file = %s/tests/data/golden-pki/provider.key\n"
                   "max_recipients = 3\n"
                   "max_message_size = 4096\n",
                   src, src);
    cfg = pec_config_parse(text.data, text.len, "test.conf", &err);
    if (cfg == NULL) {
        fprintf(stderr, "setup: %s\n", err.msg);
        exit(1);
    }
    pec_buf_release(&text);
    signer = pec_signer_load(cfg->cert_file, cfg->key_file, NULL, &err);
    CHECK(signer != NULL);
    snprintf(ca, sizeof(ca), "%s/tests/data/golden-pki/ca.pem", src);
    trust = pec_trust_new();
    pec_trust_add_file(trust, ca, &err);
    ids = pec_idgen_new_fixed(1, "pec-esempio.test");
    iss.gestore = cfg->provider_name;
    iss.service_address = cfg->service_address;
    iss.signer = signer;
    iss.digest = PEC_DIGEST_SHA256;
    iss.ids = ids;
    actx.cfg = cfg;
    actx.issuer = &iss;
}

/* feed - run one transaction through the phases, headers given as "Name: value" lines */
static void feed(const char *login, const char *from, const char *const *rcpts, const char *headers,
                 const char *body, const char *virus, struct pec_access_verdict *v)
{
    struct pec_access_txn *t = pec_access_begin(&actx, login, from);
    struct pec_error err = { 0 };
    char *copy = strdup(headers), *line, *save = NULL;

    for (; *rcpts; rcpts++)
        pec_access_rcpt(t, *rcpts);
    for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *colon = strchr(line, ':');
        *colon = '\0';
        pec_access_header(t, line, colon + 1);
    }
    pec_access_eoh(t);
    pec_access_body(t, body, strlen(body));
    CHECK(pec_access_end(t, T0, virus, v, &err) == 0);
    pec_access_free(&t);
    CHECK(t == NULL);
    free(copy);
}

#define HDRS(extra) "From: alice@pec-esempio.test\nTo: bob@pec-esempio.test\nCc: carol@remote.test\n" \
                    "Subject: prova\nDate: Mon, 23 Nov 2026 08:00:00 +0100\nMessage-ID: <c1@mua>\n" extra

/* verify_receipt - the receipt is a valid signed PEC message of tipo t for the sender */
static void verify_receipt(const struct pec_access_verdict *v, enum pec_tipo tipo, enum pec_errore errore)
{
    struct pec_analyze_opts o = { trust, NULL, T0 };
    struct pec_analysis a;
    struct pec_error err = { 0 };

    CHECK(v->receipt.len > 0);
    CHECK(pec_message_analyze(v->receipt.data, v->receipt.len, &o, &a, &err) == 0);
    CHECK(a.valid);
    CHECK(a.tipo == tipo);
    CHECK(a.daticert.errore == errore);
    CHECK(a.sig.signing_time == T0);
    CHECK_STR(a.daticert.identificativo, v->identificativo);
    pec_analysis_clear(&a);
}

/* test_accept - a good submission becomes a signed busta plus an accettazione */
static void test_accept(void)
{
    static const char *const rcpts[] = { "<bob@pec-esempio.test>", "carol@remote.test", NULL };
    struct pec_analyze_opts o = { trust, NULL, T0 };
    struct pec_strv names = PEC_STRV_INIT, values = PEC_STRV_INIT;
    struct pec_access_verdict v;
    struct pec_analysis a;
    struct pec_error err = { 0 };

    feed("alice@pec-esempio.test", "<alice@pec-esempio.test>", rcpts, HDRS("X-TipoRicevuta: breve\n"), "ciao\r\n",
         NULL, &v);
    CHECK(v.action == PEC_ACCESS_ACCEPT);
    CHECK(v.failed == PEC_CHECK_NONE);
    CHECK(pec_message_analyze(v.busta.data, v.busta.len, &o, &a, &err) == 0);
    CHECK(a.valid && a.kind == PEC_KIND_BUSTA_TRASPORTO);
    CHECK_STR(a.message_id, v.identificativo);
    CHECK_STR(a.x_riferimento, "<c1@mua>");
    CHECK_STR(a.x_tiporicevuta, "breve");
    CHECK(a.daticert.n_destinatari == 2);
    CHECK(a.daticert.n_destinatari == 2 && !a.daticert.destinatari[0].esterno && a.daticert.destinatari[1].esterno);
    pec_analysis_clear(&a);
    verify_receipt(&v, PEC_TIPO_ACCETTAZIONE, PEC_ERRORE_NESSUNO);
    CHECK_STR(v.receipt_to, "alice@pec-esempio.test");
    /* the header fields plus the body rebuild the busta */
    CHECK(pec_message_header_fields(v.busta.data, v.busta.len, &names, &values, &err) == 0);
    CHECK(names.n >= 8);
    CHECK(pec_strv_has(&names, "X-Trasporto") && pec_strv_has(&names, "Content-Type"));
    CHECK(strncmp(v.busta.data + v.busta_body_offset, "This is an S/MIME signed message", 32) == 0);
    pec_strv_clear(&names);
    pec_strv_clear(&values);
    pec_access_verdict_clear(&v);
}

/* expect_refusal - one failing check, its reply and its avviso */
static void expect_refusal(const char *what, const char *login, const char *from, const char *const *rcpts,
                           const char *headers, const char *body, const char *virus, enum pec_access_check check,
                           int notice)
{
    struct pec_access_verdict v;

    feed(login, from, rcpts, headers, body, virus, &v);
    if (v.action != PEC_ACCESS_REJECT || v.failed != check)
        fprintf(stderr, "%s: action %d failed %s\n", what, v.action, pec_access_check_name(v.failed));
    CHECK(v.action == PEC_ACCESS_REJECT);
    CHECK(v.failed == check);
    CHECK(v.reply_code[0] == '5' && v.reply_xcode[0] == '5');
    CHECK(strstr(v.reply_text, pec_access_check_name(check)) != NULL);
    if (notice) {
        verify_receipt(&v, PEC_TIPO_NON_ACCETTAZIONE, check == PEC_CHECK_VIRUS ? PEC_ERRORE_VIRUS : PEC_ERRORE_ALTRO);
        CHECK_STR(v.receipt_to, "alice@pec-esempio.test");
        CHECK((strstr(v.receipt.data, "X-VerificaSicurezza: errore") != NULL) == (check == PEC_CHECK_VIRUS));
    } else {
        CHECK(v.receipt.len == 0);
    }
    pec_access_verdict_clear(&v);
}

/* test_refusals - every check of §5.1 */
static void test_refusals(void)
{
    static const char *const ok[] = { "bob@pec-esempio.test", "carol@remote.test", NULL };
    static const char *const fewer[] = { "bob@pec-esempio.test", NULL };
    static const char *const extra[] = { "bob@pec-esempio.test", "carol@remote.test", "eve@remote.test", NULL };
    static const char *const four[] = { "a@x.test", "b@x.test", "c@x.test", "d@x.test", NULL };
    static const char big[5000] = { [0 ... 4998] = 'x' };
    const char *alice = "alice@pec-esempio.test";

    expect_refusal("auth", "", alice, ok, HDRS(""), "b\r\n", NULL, PEC_CHECK_AUTH, 0);
    expect_refusal("sender", alice, "mallory@pec-esempio.test", ok, HDRS(""), "b\r\n", NULL, PEC_CHECK_SENDER, 1);
    expect_refusal("from", alice, alice, ok,
                   "From: mallory@pec-esempio.test\nTo: bob@pec-esempio.test\nCc: carol@remote.test\n"
                   "Date: Mon, 23 Nov 2026 08:00:00 +0100\n", "b\r\n", NULL, PEC_CHECK_FROM, 1);
    expect_refusal("two from", alice, alice, ok,
                   "From: alice@pec-esempio.test, bob@pec-esempio.test\nTo: bob@pec-esempio.test\n"
                   "Cc: carol@remote.test\nDate: Mon, 23 Nov 2026 08:00:00 +0100\n", "b\r\n", NULL, PEC_CHECK_FROM, 1);
    expect_refusal("no to", alice, alice, ok,
                   "From: alice@pec-esempio.test\nCc: carol@remote.test\nDate: Mon, 23 Nov 2026 08:00:00 +0100\n",
                   "b\r\n", NULL, PEC_CHECK_TO, 1);
    expect_refusal("rcpt missing", alice, alice, fewer, HDRS(""), "b\r\n", NULL, PEC_CHECK_RCPT, 1);
    expect_refusal("rcpt extra", alice, alice, extra, HDRS(""), "b\r\n", NULL, PEC_CHECK_RCPT, 1);
    expect_refusal("bcc", alice, alice, ok, HDRS("Bcc: eve@remote.test\n"), "b\r\n", NULL, PEC_CHECK_BCC, 1);
    expect_refusal("no date", alice, alice, ok,
                   "From: alice@pec-esempio.test\nTo: bob@pec-esempio.test\nCc: carol@remote.test\n", "b\r\n",
                   NULL, PEC_CHECK_SYNTAX, 1);
    expect_refusal("recipients", alice, alice, four,
                   "From: alice@pec-esempio.test\nTo: a@x.test, b@x.test, c@x.test, d@x.test\n"
                   "Date: Mon, 23 Nov 2026 08:00:00 +0100\n", "b\r\n", NULL, PEC_CHECK_RECIPIENTS, 1);
    expect_refusal("size", alice, alice, ok, HDRS(""), big, NULL, PEC_CHECK_SIZE, 1);
    expect_refusal("virus", alice, alice, ok, HDRS(""), "b\r\n", "Eicar-Signature", PEC_CHECK_VIRUS, 1);
    {
        /* an empty Bcc is allowed (some clients write one) */
        struct pec_access_verdict v;
        feed(alice, alice, ok, HDRS("Bcc: \n"), "b\r\n", NULL, &v);
        CHECK(v.action == PEC_ACCESS_ACCEPT);
        pec_access_verdict_clear(&v);
    }
}

/* fake_box - the sender box a userdb would give: alice may send to 1 recipient, 200 bytes; "down" fails */
static int fake_box(void *ctx, const char *mailbox, time_t now, struct pec_box *box, struct pec_error *err)
{
    (void)now;
    if (ctx != NULL) {
        pec_error_set(err, PEC_ERR_TEMPORARY, "userdb down");
        return -1;
    }
    if (strcmp(mailbox, "alice@pec-esempio.test") != 0)
        return 0;
    memset(box, 0, sizeof(*box));
    box->max_recipients = 1;
    box->max_message_size = 2000;
    return 1;
}

/* try_with_box - one submission of alice's to rcpts with the fake box: pec_access_end's result and *v */
static int try_with_box(const char *const *rcpts, const char *body, int down, struct pec_access_verdict *v)
{
    struct pec_access_txn *t;
    struct pec_error err = { 0 };
    int rc;

    actx.sender_box = fake_box;
    actx.box_ctx = down ? (void *)"down" : NULL;
    t = pec_access_begin(&actx, "alice@pec-esempio.test", "alice@pec-esempio.test");
    pec_access_header(t, "From", " alice@pec-esempio.test");
    pec_access_header(t, "To", " bob@pec-esempio.test");
    for (size_t i = 0; rcpts[i]; i++) {
        pec_access_rcpt(t, rcpts[i]);
        if (i > 0) /* rcpts after the first are in Cc */
            pec_access_header(t, "Cc", rcpts[i]);
    }
    pec_access_header(t, "Date", " Mon, 23 Nov 2026 08:00:00 +0100");
    pec_access_eoh(t);
    pec_access_body(t, body, strlen(body));
    rc = pec_access_end(t, T0, NULL, v, &err);
    CHECK(rc < 0 ? err.cls == PEC_ERR_TEMPORARY : 1);
    pec_access_free(&t);
    actx.sender_box = NULL;
    actx.box_ctx = NULL;
    return rc;
}

/* test_box_limits - the sender's box limits replace the provider's; a box lookup that fails is 4xx */
static void test_box_limits(void)
{
    static const char *const one[] = { "bob@pec-esempio.test", NULL };
    static const char *const two[] = { "bob@pec-esempio.test", "carol@remote.test", NULL };
    char big[2100];
    struct pec_access_verdict v;

    CHECK(try_with_box(one, "b\r\n", 0, &v) == 0 && v.action == PEC_ACCESS_ACCEPT);
    pec_access_verdict_clear(&v);
    /* two recipients: the provider allows 3, the box 1 */
    CHECK(try_with_box(two, "b\r\n", 0, &v) == 0 && v.failed == PEC_CHECK_RECIPIENTS);
    CHECK(strstr(v.reply_text, "al massimo 1") != NULL);
    verify_receipt(&v, PEC_TIPO_NON_ACCETTAZIONE, PEC_ERRORE_ALTRO);
    pec_access_verdict_clear(&v);
    /* 2000 bytes are below the provider's 4096, above the box's */
    memset(big, 'x', sizeof(big) - 3);
    memcpy(big + sizeof(big) - 3, "\r\n", 3);
    CHECK(try_with_box(one, big, 0, &v) == 0 && v.failed == PEC_CHECK_SIZE);
    CHECK(strstr(v.reply_text, "2000 byte") != NULL);
    pec_access_verdict_clear(&v);
    /* the userdb cannot answer: no verdict, a temporary failure */
    CHECK(try_with_box(one, "b\r\n", 1, &v) < 0);
}

int main(void)
{
    setup();
    test_accept();
    test_refusals();
    test_box_limits();
    pec_signer_free(&signer);
    pec_trust_free(&trust);
    pec_idgen_free(&ids);
    pec_config_unref(&cfg);
    return CHECK_DONE();
}
