/* test_crl.c - revocation: a test CA issues two providers and revokes one; the CRL is checked on every
 * verification (detached, embedded, message analysis, through pec_runtime_load), stale CRLs are used with
 * one warning or refused, CRLs that do not verify against an anchor are load errors, an intermediate can
 * be revoked, expired certificates are untrusted. */
#define _GNU_SOURCE /* mkdtemp */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <glib.h>
#include "check.h"
#include "pec/compose.h"
#include "pec/index.h"
#include "pec/log.h"
#include "pec/message.h"
#include "pec/runtime.h"
#include "pec/smime.h"
#include "pec/testca.h"
#include "pec/text.h"

#define DAY 86400L
#define GOOD_DOMAIN "pec-buono.test"
#define BAD_DOMAIN "pec-revocato.test"

static const char content[] = "Content-Type: text/plain\r\n\r\nFirmato da un gestore.\r\n";
static char dir[64];
static time_t now;
static int stale_warnings, other_warnings;

/* path - dir/name in a rotating static buffer */
static const char *path(const char *name)
{
    static char bufs[8][256];
    static int next;
    char *b = bufs[next++ % 8];

    snprintf(b, 256, "%s/%s", dir, name);
    return b;
}

/* count_warnings - log sink: count the stale-CRL warnings, echo everything to stderr */
static void count_warnings(enum pec_log_level level, const char *msg, void *ctx)
{
    (void)ctx;
    if (level == PEC_LOG_WARN && strstr(msg, "past its nextUpdate") && strstr(msg, "pecctl crl refresh"))
        stale_warnings++;
    else if (level >= PEC_LOG_WARN)
        other_warnings++;
    fprintf(stderr, "log: %s\n", msg);
}

/* write_text - a whole file from a string */
static void write_text(const char *p, const void *data, size_t len)
{
    FILE *f = fopen(p, "wb");

    CHECK(f != NULL);
    if (f) {
        CHECK(fwrite(data, 1, len, f) == len);
        fclose(f);
    }
}

/* pem_to_der - the DER inside a one-object PEM file, written to out_path */
static void pem_to_der(const char *pem_path, const char *out_path)
{
    gchar *text = NULL, *b, *e;
    gsize n = 0;

    CHECK(g_file_get_contents(pem_path, &text, NULL, NULL));
    if (text == NULL)
        return;
    b = strstr(text, "-----\n");
    e = b ? strstr(b, "\n-----END") : NULL;
    CHECK(b != NULL && e != NULL);
    if (b && e) {
        gchar *b64 = g_strndup(b + 6, (gsize)(e - b - 6));
        guchar *der = g_base64_decode(b64, &n);

        CHECK(n > 100 && der[0] == 0x30);
        write_text(out_path, der, n);
        g_free(der);
        g_free(b64);
    }
    g_free(text);
}

/* copy_file - src to dst */
static void copy_file(const char *src, const char *dst)
{
    gchar *text = NULL;
    gsize n = 0;

    CHECK(g_file_get_contents(src, &text, &n, NULL));
    if (text)
        write_text(dst, text, n);
    g_free(text);
}

/* signer_of - load dir/<stem>.pem/.key (chain optional) */
static struct pec_signer *signer_of(const char *stem, const char *chain)
{
    char cert[64], key[64];
    struct pec_error err = { 0 };
    struct pec_signer *s;

    snprintf(cert, sizeof(cert), "%s.pem", stem);
    snprintf(key, sizeof(key), "%s.key", stem);
    s = pec_signer_load(path(cert), path(key), chain ? path(chain) : NULL, &err);
    CHECK(s != NULL);
    if (s == NULL)
        fprintf(stderr, "signer %s: %s\n", stem, err.msg);
    return s;
}

/* sign - detached signature by s over content */
static void sign(const struct pec_signer *s, struct pec_buf *sig)
{
    struct pec_error err = { 0 };

    CHECK(pec_smime_sign(s, PEC_DIGEST_SHA256, now, content, strlen(content), sig, &err) == 0);
}

/* verify_at - verify sig with trust at t into info */
static void verify_at(const struct pec_trust *trust, const struct pec_buf *sig, time_t t, struct pec_sig_info *info)
{
    struct pec_error err = { 0 };

    CHECK(pec_smime_verify(trust, content, strlen(content), sig->data, sig->len, t, info, &err) == 0);
    CHECK(info->status == PEC_SIG_VALID);
}

/* trust_with - anchors dir/ca.pem plus the CRL file given (NULL: none); NULL when the CRL is refused */
static struct pec_trust *trust_with(const char *crl, time_t load_time, int refuse, struct pec_error *err)
{
    struct pec_trust *t = pec_trust_new();

    CHECK(pec_trust_add_file(t, path("ca.pem"), err) == 0);
    if (crl != NULL && pec_trust_add_crl_file(t, crl, load_time, err) < 0) {
        pec_trust_free(&t);
        return NULL;
    }
    pec_trust_refuse_stale_crls(t, refuse);
    return t;
}

/* expect_revoked - untrusted, and the reason says revoked, by whom, and what (signer or intermediate) */
static void expect_revoked(const struct pec_sig_info *info, const char *what)
{
    CHECK(info->trusted == 0);
    CHECK(strstr(info->reason, "revoked") != NULL);
    CHECK(strstr(info->reason, what) != NULL);
    CHECK(strstr(info->reason, "CN=PEC Test CA") != NULL);
    if (info->trusted || strstr(info->reason, what) == NULL)
        fprintf(stderr, "  expected \"%s ... revoked\", got trusted=%d \"%s\"\n", what, info->trusted, info->reason);
}

/* make_pki - CA, providers good/bad (bad revoked), an old expired provider, an unrelated CA, a CA with
 * the same name and another key, and a sub-CA with its own provider */
static void make_pki(void)
{
    struct pec_error err = { 0 };

    CHECK(pec_testca_create(dir, "PEC Test CA", now, &err) == 0);
    CHECK(pec_testca_issue_with_crl_url(dir, "good", "Gestore Buono S.p.A.", "posta-certificata@" GOOD_DOMAIN,
                                        "http://127.0.0.1:9/ca.crl", now, &err) == 0);
    CHECK(pec_testca_issue(dir, "bad", "Gestore Revocato S.p.A.", "posta-certificata@" BAD_DOMAIN, now, &err) == 0);
    /* issued four years ago for three years: expired a year ago */
    CHECK(pec_testca_issue(dir, "old", "Gestore Scaduto S.p.A.", "posta-certificata@pec-scaduto.test",
                           now - 4 * 365 * DAY, &err) == 0);
    CHECK(mkdir(path("other"), 0700) == 0 && mkdir(path("twin"), 0700) == 0 && mkdir(path("sub"), 0700) == 0);
    CHECK(pec_testca_create(path("other"), "Other CA", now, &err) == 0);
    CHECK(pec_testca_create(path("twin"), "PEC Test CA", now, &err) == 0);
    CHECK(pec_testca_create_intermediate(path("sub"), dir, "PEC Test Sub CA", now, &err) == 0);
    CHECK(pec_testca_issue(path("sub"), "leaf", "Gestore Sub S.p.A.", "posta-certificata@pec-sub.test", now, &err) ==
          0);
    /* nothing revoked yet: the empty CRL, kept for later */
    CHECK(pec_testca_write_crl(dir, now, now + 7 * DAY, &err) == 0);
    copy_file(path("ca.crl"), path("empty.crl"));
    CHECK(pec_testca_revoke(dir, "bad", now, &err) == 0);
    copy_file(path("ca.crl"), path("bad.crl"));
    CHECK(pec_testca_revoke(dir, "sub/ca", now, &err) == 0); /* both listed now */
    copy_file(path("ca.crl"), path("both.crl"));
    CHECK(pec_testca_write_crl(path("other"), now, now + 7 * DAY, &err) == 0);
    CHECK(pec_testca_write_crl(path("twin"), now, now + 7 * DAY, &err) == 0);
    if (err.cls != PEC_ERR_NONE)
        fprintf(stderr, "pki: %s\n", err.msg);
}

/* test_revoked - the revoked provider is untrusted with the reason, the other one trusted, detached and
 * embedded, PEM and DER, with and without the CA in the signature's chain */
static void test_revoked(void)
{
    struct pec_error err = { 0 };
    struct pec_signer *good = signer_of("good", NULL), *bad = signer_of("bad", NULL),
                      *bad_chain = signer_of("bad", "ca.pem");
    struct pec_buf gsig = PEC_BUF_INIT, bsig = PEC_BUF_INIT, csig = PEC_BUF_INIT, emb = PEC_BUF_INIT,
                   out = PEC_BUF_INIT;
    struct pec_sig_info info = { 0 };
    struct pec_trust *plain = trust_with(NULL, now, 0, &err), *pem = trust_with(path("bad.crl"), now, 0, &err),
                     *der;
    const void *bad_der;
    size_t bad_len;

    if (good == NULL || bad == NULL || bad_chain == NULL || pem == NULL) {
        CHECK(!"revoked fixture");
        fprintf(stderr, "  %s\n", err.msg);
        goto done;
    }
    pem_to_der(path("bad.crl"), path("bad.der"));
    der = trust_with(path("bad.der"), now, 0, &err);
    CHECK(der != NULL);
    sign(good, &gsig);
    sign(bad, &bsig);
    sign(bad_chain, &csig);

    verify_at(plain, &bsig, now, &info);
    CHECK(info.trusted == 1); /* without the CRL nobody knows */
    verify_at(pem, &gsig, now, &info);
    CHECK(info.trusted == 1);
    verify_at(pem, &bsig, now, &info);
    expect_revoked(&info, "signer certificate revoked (serial ");
    verify_at(pem, &csig, now, &info);
    expect_revoked(&info, "signer certificate revoked");
    if (der) {
        verify_at(der, &bsig, now, &info);
        expect_revoked(&info, "signer certificate revoked");
        verify_at(der, &gsig, now, &info);
        CHECK(info.trusted == 1);
    }
    /* the serial in the reason is the certificate's: its DER holds the same bytes */
    bad_der = pec_signer_cert_der(bad, &bad_len);
    {
        const char *s;
        char hex[33];

        CHECK(pec_smime_verify(pem, content, strlen(content), bsig.data, bsig.len, now, &info, &err) == 0);
        s = strstr(info.reason, "serial ");
        CHECK(s != NULL && bad_len > 40);
        if (s && bad_len > 40) {
            /* new_crt writes a 16-byte serial: find its hex in the DER's hex */
            char *all = malloc(2 * bad_len + 1);

            snprintf(hex, sizeof(hex), "%.32s", s + 7);
            pec_hex(bad_der, bad_len, all);
            CHECK(strlen(hex) == 32 && strstr(all, hex) != NULL);
            free(all);
        }
    }
    /* the revocation is permanent: also when verifying at a later time the CRL still covers */
    verify_at(pem, &bsig, now + 3 * DAY, &info);
    expect_revoked(&info, "signer certificate revoked");

    /* embedded content (the signed index) goes through the same check */
    CHECK(pec_smime_sign_embedded(bad, PEC_DIGEST_SHA256, now, content, strlen(content), &emb, &err) == 0);
    CHECK(pec_smime_verify_embedded(pem, emb.data, emb.len, now, &out, &info, &err) == 0);
    CHECK(info.status == PEC_SIG_VALID);
    expect_revoked(&info, "signer certificate revoked");

    /* the empty CRL of the same CA revokes nobody */
    pec_trust_free(&der);
    der = trust_with(path("empty.crl"), now, 0, &err);
    CHECK(der != NULL);
    if (der) {
        verify_at(der, &bsig, now, &info);
        CHECK(info.trusted == 1);
    }
    pec_trust_free(&der);
done:
    pec_sig_info_clear(&info);
    pec_trust_free(&plain);
    pec_trust_free(&pem);
    pec_signer_free(&good);
    pec_signer_free(&bad);
    pec_signer_free(&bad_chain);
    pec_buf_release(&gsig);
    pec_buf_release(&bsig);
    pec_buf_release(&csig);
    pec_buf_release(&emb);
    pec_buf_release(&out);
}

/* test_intermediate - a provider under a revoked sub-CA is untrusted; the reason names the sub-CA */
static void test_intermediate(void)
{
    struct pec_error err = { 0 };
    struct pec_signer *leaf = signer_of("sub/leaf", "sub/ca.pem");
    struct pec_buf sig = PEC_BUF_INIT;
    struct pec_sig_info info = { 0 };
    struct pec_trust *bad_only = trust_with(path("bad.crl"), now, 0, &err),
                     *both = trust_with(path("both.crl"), now, 0, &err);

    if (leaf != NULL && bad_only != NULL && both != NULL) {
        sign(leaf, &sig);
        verify_at(bad_only, &sig, now, &info);
        CHECK(info.trusted == 1);
        if (!info.trusted)
            fprintf(stderr, "  sub-CA leaf: %s\n", info.reason);
        verify_at(both, &sig, now, &info);
        expect_revoked(&info, "intermediate certificate CN=PEC Test Sub CA revoked");
    } else {
        CHECK(!"intermediate fixture");
    }
    pec_sig_info_clear(&info);
    pec_buf_release(&sig);
    pec_signer_free(&leaf);
    pec_trust_free(&bad_only);
    pec_trust_free(&both);
}

/* test_stale - a CRL past its nextUpdate: warn uses it and says so once; refuse untrusts every
 * certificate it covers (the revoked one stays revoked) */
static void test_stale(void)
{
    struct pec_error err = { 0 };
    struct pec_signer *good = signer_of("good", NULL), *bad = signer_of("bad", NULL);
    struct pec_buf gsig = PEC_BUF_INIT, bsig = PEC_BUF_INIT;
    struct pec_sig_info info = { 0 };
    struct pec_trust *warn, *refuse, *late;

    if (good == NULL || bad == NULL) {
        CHECK(!"stale fixture");
        goto out;
    }
    sign(good, &gsig);
    sign(bad, &bsig);
    /* bad.crl says nextUpdate now + 7 days: at now + 8 days it is stale */
    stale_warnings = 0;
    warn = trust_with(path("bad.crl"), now + 8 * DAY, 0, &err);
    CHECK(warn != NULL && stale_warnings == 1); /* told at load */
    refuse = trust_with(path("bad.crl"), now + 8 * DAY, 1, &err);
    CHECK(refuse != NULL && stale_warnings == 2); /* another store, its own warning */
    if (warn == NULL || refuse == NULL)
        goto done;
    verify_at(warn, &gsig, now + 8 * DAY, &info);
    CHECK(info.trusted == 1);
    verify_at(warn, &bsig, now + 8 * DAY, &info);
    expect_revoked(&info, "signer certificate revoked");
    verify_at(warn, &gsig, now + 9 * DAY, &info);
    CHECK(info.trusted == 1);
    CHECK(stale_warnings == 2); /* no more for the same CRL */

    verify_at(refuse, &gsig, now + 8 * DAY, &info);
    CHECK(info.trusted == 0 && strstr(info.reason, "past its nextUpdate") != NULL &&
          strstr(info.reason, "refuse") != NULL);
    if (info.trusted || strstr(info.reason, "past its nextUpdate") == NULL)
        fprintf(stderr, "  stale refuse: trusted=%d %s\n", info.trusted, info.reason);
    verify_at(refuse, &bsig, now + 8 * DAY, &info);
    expect_revoked(&info, "signer certificate revoked");
    /* before nextUpdate the same store trusts */
    verify_at(refuse, &gsig, now + 6 * DAY, &info);
    CHECK(info.trusted == 1);
    CHECK(stale_warnings == 2);

    /* fresh at load, stale later: the first verification that meets it warns, once */
    late = trust_with(path("bad.crl"), now, 0, &err);
    CHECK(late != NULL && stale_warnings == 2);
    if (late) {
        verify_at(late, &gsig, now + 1 * DAY, &info);
        CHECK(info.trusted == 1 && stale_warnings == 2);
        verify_at(late, &gsig, now + 8 * DAY, &info);
        CHECK(info.trusted == 1 && stale_warnings == 3);
        verify_at(late, &gsig, now + 10 * DAY, &info);
        CHECK(info.trusted == 1 && stale_warnings == 3);
    }
    pec_trust_free(&late);
done:
    pec_trust_free(&warn);
    pec_trust_free(&refuse);
out:
    pec_sig_info_clear(&info);
    pec_signer_free(&good);
    pec_signer_free(&bad);
    pec_buf_release(&gsig);
    pec_buf_release(&bsig);
}

/* test_load_errors - CRLs that do not verify against an anchor, or are not CRLs, name the file */
static void test_load_errors(void)
{
    struct pec_error err = { 0 };
    struct pec_trust *t;
    struct pec_buf crl = PEC_BUF_INIT;
    struct pec_crl_info info;
    gchar *text = NULL;
    gsize n = 0;

    t = trust_with(path("other/ca.crl"), now, 0, &err);
    CHECK(t == NULL && err.cls == PEC_ERR_INVALID && strstr(err.msg, path("other/ca.crl")) != NULL &&
          strstr(err.msg, "not a trust anchor") != NULL);
    pec_error_clear(&err);
    /* same issuer name, another key: the signature does not verify */
    t = trust_with(path("twin/ca.crl"), now, 0, &err);
    CHECK(t == NULL && err.cls == PEC_ERR_INVALID && strstr(err.msg, path("twin/ca.crl")) != NULL &&
          strstr(err.msg, "does not verify") != NULL);
    if (t != NULL || strstr(err.msg, "does not verify") == NULL)
        fprintf(stderr, "  twin CRL: %s\n", err.msg);
    pec_trust_free(&t);
    pec_error_clear(&err);
    t = trust_with(path("good.pem"), now, 0, &err);
    CHECK(t == NULL && strstr(err.msg, "not a CRL") != NULL && strstr(err.msg, path("good.pem")) != NULL);
    pec_error_clear(&err);
    t = trust_with(path("missing.crl"), now, 0, &err);
    CHECK(t == NULL && strstr(err.msg, path("missing.crl")) != NULL);
    pec_error_clear(&err);
    /* no anchors at all */
    t = pec_trust_new();
    CHECK(pec_trust_add_crl_file(t, path("bad.crl"), now, &err) == -1 && strstr(err.msg, "not a trust anchor"));
    pec_trust_free(&t);

    /* a PEM file with two CRLs: both must verify, or neither is added */
    CHECK(g_file_get_contents(path("bad.crl"), &text, &n, NULL));
    pec_buf_append(&crl, text, n);
    g_free(text);
    CHECK(g_file_get_contents(path("twin/ca.crl"), &text, &n, NULL));
    pec_buf_append(&crl, text, n);
    g_free(text);
    write_text(path("mixed.crl"), crl.data, crl.len);
    t = trust_with(path("mixed.crl"), now, 0, &err);
    CHECK(t == NULL && strstr(err.msg, "does not verify") != NULL);

    /* pec_crl_check: the same verdicts from memory, plus what pecctl crl refresh reports */
    t = trust_with(NULL, now, 0, &err);
    CHECK(pec_crl_check(t, crl.data, crl.len, "mixed", &info, &err) == -1 && strstr(err.msg, "2 CRLs"));
    pec_buf_reset(&crl);
    CHECK(g_file_get_contents(path("both.crl"), &text, &n, NULL));
    pec_buf_append(&crl, text, n);
    g_free(text);
    CHECK(pec_crl_check(t, crl.data, crl.len, "both", &info, &err) == 0);
    CHECK_STR(info.anchor, "CN=PEC Test CA");
    CHECK(info.revoked == 2 && info.this_update == now && info.next_update == now + 7 * DAY);
    CHECK_STR(info.number, "03"); /* empty, +bad, +sub: GnuTLS gives the minimal INTEGER */
    crl.data[crl.len / 2] ^= 1; /* one base64 letter */
    CHECK(pec_crl_check(t, crl.data, crl.len, "flipped", &info, &err) == -1);
    CHECK(pec_crl_check(t, "", 0, "empty", &info, &err) == -1 && strstr(err.msg, "not a CRL"));
    pec_trust_free(&t);
    pec_buf_release(&crl);
}

/* test_expired - a certificate past its validity is untrusted at now, whatever the CRL says */
static void test_expired(void)
{
    struct pec_error err = { 0 };
    struct pec_signer *old = signer_of("old", NULL);
    struct pec_buf sig = PEC_BUF_INIT;
    struct pec_sig_info info = { 0 };
    struct pec_trust *t = trust_with(path("bad.crl"), now, 0, &err);

    if (old != NULL && t != NULL) {
        sign(old, &sig);
        verify_at(t, &sig, now, &info);
        CHECK(info.trusted == 0 && strstr(info.reason, "expired") != NULL);
        if (info.trusted || strstr(info.reason, "expired") == NULL)
            fprintf(stderr, "  expired: %s\n", info.reason);
    } else {
        CHECK(!"expired fixture");
    }
    pec_sig_info_clear(&info);
    pec_buf_release(&sig);
    pec_signer_free(&old);
    pec_trust_free(&t);
}

/* test_urls - the distribution point of issued certificates and anchor subjects, for crl refresh */
static void test_urls(void)
{
    struct pec_error err = { 0 };
    struct pec_trust *t = trust_with(NULL, now, 0, &err);
    struct pec_strv subjects = PEC_STRV_INIT, urls = PEC_STRV_INIT;
    struct pec_buf certs[3] = { PEC_BUF_INIT, PEC_BUF_INIT, PEC_BUF_INIT };
    gchar *text = NULL;
    gsize n = 0;

    pec_trust_anchor_subjects(t, &subjects);
    CHECK(subjects.n == 1 && strcmp(subjects.v[0], "CN=PEC Test CA") == 0);
    CHECK(g_file_get_contents(path("good.pem"), &text, &n, NULL));
    pec_buf_append(&certs[0], text, n);
    pec_buf_append(&certs[1], text, n); /* twice: listed once */
    g_free(text);
    CHECK(g_file_get_contents(path("other/ca.pem"), &text, &n, NULL));
    pec_buf_append(&certs[2], text, n);
    g_free(text);
    pec_trust_crl_urls(t, "CN=PEC Test CA", certs, 3, &urls);
    CHECK(urls.n == 1 && strcmp(urls.v[0], "http://127.0.0.1:9/ca.crl") == 0);
    pec_strv_clear(&urls);
    pec_trust_crl_urls(t, "CN=Nobody", certs, 3, &urls);
    CHECK(urls.n == 0);
    pec_strv_clear(&urls);
    pec_strv_clear(&subjects);
    for (int i = 0; i < 3; i++)
        pec_buf_release(&certs[i]);
    pec_trust_free(&t);
}

/* make_busta - a transport envelope from the provider whose signer is s */
static int make_busta(struct pec_signer *s, const char *domain, const char *name, const struct pec_index *idx,
                      struct pec_buf *out)
{
    char original[512], service[128], id[PEC_ID_MAX];
    const char *own[] = { domain };
    struct pec_error err = { 0 };
    struct pec_daticert facts = { 0 };
    struct pec_compose c = { 0 };
    struct pec_issuer iss = { 0 };
    int r;

    snprintf(service, sizeof(service), "posta-certificata@%s", domain);
    snprintf(original, sizeof(original),
             "From: Alice <alice@%s>\r\nTo: bob@%s\r\nSubject: Prova\r\nDate: Mon, 23 Nov 2026 07:59:00 +0100\r\n"
             "Message-ID: <crl-test@mua.example>\r\n\r\nTesto.\r\n",
             domain, GOOD_DOMAIN);
    if (pec_message_facts(original, strlen(original), idx, own, 1, &facts, &err) < 0) {
        fprintf(stderr, "facts: %s\n", err.msg);
        return -1;
    }
    iss.gestore = name;
    iss.service_address = service;
    iss.signer = s;
    iss.digest = PEC_DIGEST_SHA256;
    iss.ids = pec_idgen_new_fixed(1, domain);
    pec_idgen_next(iss.ids, now, id);
    facts.identificativo = strdup(id);
    c.type = PEC_MSG_BUSTA_TRASPORTO;
    c.when = now;
    c.facts = &facts;
    c.original = original;
    c.original_len = strlen(original);
    r = pec_compose_build(&iss, &c, out, id, &err);
    if (r < 0)
        fprintf(stderr, "busta: %s\n", err.msg);
    pec_daticert_clear(&facts);
    pec_idgen_free(&iss.ids);
    return r;
}

/* has_error - some analysis error contains frag */
static int has_error(const struct pec_analysis *a, const char *frag)
{
    for (size_t i = 0; i < a->errors.n; i++)
        if (strstr(a->errors.v[i], frag))
            return 1;
    return 0;
}

/* test_analysis - end to end: the reception point's analysis calls the revoked provider's busta not
 * valid PEC with the revocation in its errors, the other one valid */
static void test_analysis(void)
{
    static const char *const good_domains[] = { GOOD_DOMAIN }, *const bad_domains[] = { BAD_DOMAIN };
    struct pec_error err = { 0 };
    struct pec_signer *good = signer_of("good", NULL), *bad = signer_of("bad", NULL);
    struct pec_buf ldif = PEC_BUF_INIT, gb = PEC_BUF_INIT, bb = PEC_BUF_INIT;
    struct pec_trust *t = trust_with(path("bad.crl"), now, 0, &err);
    struct pec_index *idx = NULL;
    struct pec_analyze_opts opts = { t, NULL, now };
    struct pec_analysis a;
    const void *der;
    size_t der_len;

    if (good == NULL || bad == NULL || t == NULL)
        goto done;
    pec_index_render_root(&ldif, NULL);
    der = pec_signer_cert_der(good, &der_len);
    pec_index_render_entry(&ldif, "Gestore Buono S.p.A.", der, der_len, "posta-certificata@" GOOD_DOMAIN,
                           good_domains, 1);
    pec_buf_puts(&ldif, "\n");
    der = pec_signer_cert_der(bad, &der_len);
    pec_index_render_entry(&ldif, "Gestore Revocato S.p.A.", der, der_len, "posta-certificata@" BAD_DOMAIN,
                           bad_domains, 1);
    idx = pec_index_parse_ldif(ldif.data, ldif.len, &err);
    CHECK(idx != NULL);
    opts.index = idx;
    if (idx == NULL || make_busta(good, GOOD_DOMAIN, "Gestore Buono S.p.A.", idx, &gb) < 0 ||
        make_busta(bad, BAD_DOMAIN, "Gestore Revocato S.p.A.", idx, &bb) < 0) {
        CHECK(!"analysis fixture");
        goto done;
    }
    CHECK(pec_message_analyze(gb.data, gb.len, &opts, &a, &err) == 0);
    CHECK(a.valid == 1 && a.kind == PEC_KIND_BUSTA_TRASPORTO);
    for (size_t i = 0; i < a.errors.n; i++)
        fprintf(stderr, "  good busta: %s\n", a.errors.v[i]);
    pec_analysis_clear(&a);
    CHECK(pec_message_analyze(bb.data, bb.len, &opts, &a, &err) == 0);
    CHECK(a.valid == 0 && a.sig.status == PEC_SIG_VALID && a.sig.trusted == 0);
    CHECK(has_error(&a, "not trusted: signer certificate revoked (serial "));
    if (!has_error(&a, "revoked"))
        for (size_t i = 0; i < a.errors.n; i++)
            fprintf(stderr, "  revoked busta: %s\n", a.errors.v[i]);
    pec_analysis_clear(&a);
done:
    CHECK(good != NULL && bad != NULL && t != NULL);
    pec_index_free(&idx);
    pec_trust_free(&t);
    pec_signer_free(&good);
    pec_signer_free(&bad);
    pec_buf_release(&ldif);
    pec_buf_release(&gb);
    pec_buf_release(&bb);
}

/* write_config - a provider configuration naming our files, plus extra lines */
static void write_config(const char *extra)
{
    char text[2048];

    snprintf(text, sizeof(text),
             "provider_name = Gestore Buono S.p.A.\nmail_domain = " GOOD_DOMAIN "\nmanaged_domains = " GOOD_DOMAIN
             "\ncert_file = %s\nkey_file = %s\ntrust_file = %s\n%s",
             path("good.pem"), path("good.key"), path("ca.pem"), extra);
    write_text(path("provider.conf"), text, strlen(text));
}

/* test_runtime - pec_runtime_load puts the configured CRLs and the crl_stale policy in the trust store,
 * and refuses a CRL that does not verify, naming it */
static void test_runtime(void)
{
    struct pec_error err = { 0 };
    struct pec_signer *bad = signer_of("bad", NULL);
    struct pec_buf sig = PEC_BUF_INIT;
    struct pec_sig_info info = { 0 };
    struct pec_runtime *rt;
    char extra[1024];

    if (bad == NULL)
        return;
    sign(bad, &sig);
    snprintf(extra, sizeof(extra), "crl_file = %s\ncrl_file = %s\n", path("empty.crl"), path("bad.der"));
    write_config(extra);
    rt = pec_runtime_load(path("provider.conf"), now, &err);
    CHECK(rt != NULL && rt->trust != NULL);
    if (rt && rt->trust) {
        verify_at(rt->trust, &sig, now, &info);
        expect_revoked(&info, "signer certificate revoked");
    } else {
        fprintf(stderr, "  runtime: %s\n", err.msg);
    }
    pec_runtime_free(&rt);

    snprintf(extra, sizeof(extra), "crl_file = %s\ncrl_stale = refuse\n", path("empty.crl"));
    write_config(extra);
    stale_warnings = 0;
    rt = pec_runtime_load(path("provider.conf"), now + 8 * DAY, &err);
    CHECK(rt != NULL && stale_warnings == 1);
    if (rt && rt->trust) {
        verify_at(rt->trust, &sig, now + 8 * DAY, &info);
        CHECK(info.trusted == 0 && strstr(info.reason, "past its nextUpdate"));
    }
    pec_runtime_free(&rt);

    snprintf(extra, sizeof(extra), "crl_file = %s\ncrl_file = %s\n", path("bad.crl"), path("twin/ca.crl"));
    write_config(extra);
    rt = pec_runtime_load(path("provider.conf"), now, &err);
    CHECK(rt == NULL && strstr(err.msg, path("twin/ca.crl")) != NULL);
    pec_error_clear(&err);
    {
        static const char no_anchor[] = "provider_name = X\nmail_domain = a.test\nmanaged_domains = a.test\n"
                                        "cert_file = c\nkey_file = k\ncrl_file = /x.crl\n";

        write_text(path("provider.conf"), no_anchor, sizeof(no_anchor) - 1);
    }
    rt = pec_runtime_load(path("provider.conf"), now, &err);
    CHECK(rt == NULL && strstr(err.msg, "without any trust_file") != NULL);
    pec_sig_info_clear(&info);
    pec_buf_release(&sig);
    pec_signer_free(&bad);
}

int main(void)
{
    char cmd[128];

    now = time(NULL);
    pec_log_set_sink(count_warnings, NULL);
    snprintf(dir, sizeof(dir), "/tmp/pec-crl-XXXXXX");
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    make_pki();
    test_revoked();
    test_intermediate();
    test_stale();
    test_load_errors();
    test_expired();
    test_urls();
    test_analysis();
    test_runtime();
    CHECK(other_warnings == 0);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (check_failures == 0) {
        if (system(cmd) != 0)
            fprintf(stderr, "cannot remove %s\n", dir);
    } else {
        fprintf(stderr, "files kept in %s\n", dir);
    }
    return CHECK_DONE();
}
