/* test_smime.c - CMS signing/verification with the test PKI, cross-checked with openssl, plus a real
 * 2014 Aruba PEC signature (SHA-1, RSA-1024) when ../shared/samples is present. */
#define _GNU_SOURCE /* memmem */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <glib.h>
#include "check.h"
#include "pec/smime.h"
#include "pec/testca.h"

/* 2014-11-07 15:52:01 UTC, the time of the real Aruba sample */
#define SIGN_TIME ((time_t)1415375521)
#define SIGN_TIME_OPENSSL "Nov  7 15:52:01 2014 GMT"

static const char content[] = "Content-Type: text/plain\r\n\r\nQuesto e' un messaggio di prova.\r\n";
static char dir[64];
static int have_openssl;

/* path - dir/name in a rotating static buffer (enough for one call's arguments) */
static const char *path(const char *name)
{
    static char bufs[4][256];
    static int next;
    char *b = bufs[next++ % 4];

    snprintf(b, 256, "%s/%s", dir, name);
    return b;
}

/* write_file - whole file from memory */
static void write_file(const char *p, const void *data, size_t len)
{
    FILE *f = fopen(p, "wb");

    CHECK(f != NULL);
    if (f) {
        CHECK(fwrite(data, 1, len, f) == len);
        fclose(f);
    }
}

/* read_file - whole file into buf; -1 when absent */
static int read_file(const char *p, struct pec_buf *buf)
{
    FILE *f = fopen(p, "rb");
    char chunk[4096];
    size_t n;

    if (f == NULL)
        return -1;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        pec_buf_append(buf, chunk, n);
    fclose(f);
    return 0;
}

/* run - system() with the exit status, output discarded unless redirected by cmd */
static int run(const char *cmd)
{
    int st = system(cmd);

    return st == -1 ? -1 : WEXITSTATUS(st);
}

/* test_sha1 - known SHA-1 vectors and digest names */
static void test_sha1(void)
{
    char hex[41];

    pec_sha1_hex("abc", 3, hex);
    CHECK_STR(hex, "a9993e364706816aba3e25717850c26c9cd0d89d");
    pec_sha1_hex("", 0, hex);
    CHECK_STR(hex, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    CHECK_STR(pec_digest_micalg(PEC_DIGEST_SHA256), "sha-256");
    CHECK_STR(pec_digest_micalg(PEC_DIGEST_SHA1), "sha1");
    CHECK_STR(pec_digest_name(PEC_DIGEST_SHA256), "sha256");
    CHECK_STR(pec_digest_name(PEC_DIGEST_SHA1), "sha1");
    CHECK_STR(pec_digest_name(PEC_DIGEST_OTHER), "other");
}

/* make_pki - test CA + provider certificate in dir, a second unrelated CA in dir/other */
static void make_pki(time_t now)
{
    struct pec_error err = { 0 };
    struct stat st;
    char other[128];

    CHECK(pec_testca_create(dir, "PEC Test CA", now, &err) == 0);
    CHECK(pec_testca_issue(dir, "provider", "Test PEC S.p.A.", "posta-certificata@pec.test.example", now, &err) ==
          0);
    CHECK(stat(path("provider.key"), &st) == 0 && (st.st_mode & 0777) == 0600);
    CHECK(stat(path("ca.key"), &st) == 0 && (st.st_mode & 0777) == 0600);
    snprintf(other, sizeof(other), "%s/other", dir);
    CHECK(mkdir(other, 0700) == 0);
    CHECK(pec_testca_issue(other, "orphan", "No CA", "x@pec.test.example", now, &err) == -1);
    CHECK(err.cls == PEC_ERR_INVALID);
    pec_error_clear(&err);
    CHECK(pec_testca_create(other, "Other CA", now, &err) == 0);
    if (err.cls != PEC_ERR_NONE)
        fprintf(stderr, "pki: %s\n", err.msg);
}

/* test_signer_load - good and bad signer files */
static struct pec_signer *test_signer_load(void)
{
    struct pec_error err = { 0 };
    struct pec_signer *s, *bad;
    size_t len = 0;

    bad = pec_signer_load(path("provider.pem"), path("other/ca.key"), NULL, &err);
    CHECK(bad == NULL && err.cls == PEC_ERR_INVALID && strstr(err.msg, "does not belong") != NULL);
    pec_error_clear(&err);
    bad = pec_signer_load(path("missing.pem"), path("provider.key"), NULL, &err);
    CHECK(bad == NULL && err.cls != PEC_ERR_NONE);
    pec_signer_free(&bad);
    CHECK(bad == NULL);

    s = pec_signer_load(path("provider.pem"), path("provider.key"), path("ca.pem"), &err);
    CHECK(s != NULL);
    if (s == NULL) {
        fprintf(stderr, "signer: %s\n", err.msg);
        return NULL;
    }
    CHECK_STR(pec_signer_email(s), "posta-certificata@pec.test.example");
    CHECK(pec_signer_cert_der(s, &len) != NULL && len > 500);
    return s;
}

/* check_openssl - openssl accepts the detached signature and reports our signing time */
static void check_openssl(const char *sig_name)
{
    char cmd[1024];
    struct pec_buf out = PEC_BUF_INIT;

    if (!have_openssl)
        return;
    snprintf(cmd, sizeof(cmd),
             "openssl smime -verify -binary -inform DER -in %s -content %s -CAfile %s -purpose any "
             ">/dev/null 2>%s",
             path(sig_name), path("content.txt"), path("ca.pem"), path("openssl.err"));
    CHECK(run(cmd) == 0);
    /* without -purpose any: the default S/MIME signing purpose must accept our test certificate too */
    snprintf(cmd, sizeof(cmd),
             "openssl cms -verify -binary -inform DER -in %s -content %s -CAfile %s >/dev/null 2>&1",
             path(sig_name), path("content.txt"), path("ca.pem"));
    CHECK(run(cmd) == 0);
    snprintf(cmd, sizeof(cmd), "openssl cms -cmsout -print -inform DER -in %s >%s 2>&1", path(sig_name),
             path("print.txt"));
    CHECK(run(cmd) == 0);
    CHECK(read_file(path("print.txt"), &out) == 0 && out.data && strstr(out.data, SIGN_TIME_OPENSSL) != NULL);
    pec_buf_release(&out);
}

/* check_verdicts - VALID and trusted with the CA; untrusted elsewhere; INVALID when tampered */
static void check_verdicts(const struct pec_signer *s, const struct pec_buf *sig, enum pec_digest d, time_t now)
{
    struct pec_error err = { 0 };
    struct pec_trust *ca = pec_trust_new(), *empty = pec_trust_new(), *other = pec_trust_new();
    struct pec_sig_info info = { 0 };
    char *tampered = strdup(content);
    size_t der_len;
    const void *der = pec_signer_cert_der(s, &der_len);
    char sha1[41];

    pec_sha1_hex(der, der_len, sha1);
    CHECK(pec_trust_add_file(ca, path("ca.pem"), &err) == 0);
    CHECK(pec_trust_add_file(other, path("other/ca.pem"), &err) == 0);
    CHECK(pec_trust_add_file(other, path("content.txt"), &err) == -1 && err.cls == PEC_ERR_INVALID);

    CHECK(pec_smime_verify(ca, content, strlen(content), sig->data, sig->len, now, &info, &err) == 0);
    CHECK(info.status == PEC_SIG_VALID);
    CHECK(info.trusted == 1);
    CHECK(info.digest == d);
    CHECK(info.signing_time == SIGN_TIME);
    CHECK_STR(info.signer_sha1, sha1);
    CHECK_STR(info.signer_email, "posta-certificata@pec.test.example");
    CHECK(strstr(info.signer_subject, "CN=Posta Certificata Test PEC S.p.A.") != NULL);
    CHECK(info.signer_der.len == der_len && memcmp(info.signer_der.data, der, der_len) == 0);

    /* reusing info: the previous verdict and signer must not leak into the next one */
    CHECK(pec_smime_verify(empty, content, strlen(content), sig->data, sig->len, now, &info, &err) == 0);
    CHECK(info.status == PEC_SIG_VALID && info.trusted == 0 && info.reason[0] != '\0');
    CHECK(info.signer_der.len == der_len);
    CHECK(pec_smime_verify(other, content, strlen(content), sig->data, sig->len, now, &info, &err) == 0);
    CHECK(info.status == PEC_SIG_VALID && info.trusted == 0);
    CHECK(pec_smime_verify(NULL, content, strlen(content), sig->data, sig->len, now, &info, &err) == 0);
    CHECK(info.status == PEC_SIG_VALID && info.trusted == 0);
    /* validity is judged at the given time, not the wall clock */
    CHECK(pec_smime_verify(ca, content, strlen(content), sig->data, sig->len, now + 4 * 366 * 86400L, &info,
                           &err) == 0);
    CHECK(info.status == PEC_SIG_VALID && info.trusted == 0 && strstr(info.reason, "expired") != NULL);
    CHECK(pec_smime_verify(ca, content, strlen(content), sig->data, sig->len, now - 86400, &info, &err) == 0);
    CHECK(info.status == PEC_SIG_VALID && info.trusted == 0 && strstr(info.reason, "not yet valid") != NULL);

    tampered[30] ^= 1;
    CHECK(pec_smime_verify(ca, tampered, strlen(tampered), sig->data, sig->len, now, &info, &err) == 0);
    CHECK(info.status == PEC_SIG_INVALID && info.trusted == 0 && info.reason[0] != '\0');
    CHECK(pec_smime_verify(ca, content, strlen(content) - 2, sig->data, sig->len, now, &info, &err) == 0);
    CHECK(info.status == PEC_SIG_INVALID);

    pec_sig_info_clear(&info);
    CHECK(info.status == PEC_SIG_ABSENT && info.signer_der.data == NULL);
    free(tampered);
    pec_trust_free(&ca);
    pec_trust_free(&empty);
    pec_trust_free(&other);
    CHECK(ca == NULL);
    pec_trust_free(&ca);
}

/* test_sign_verify - detached signatures with both digests */
static void test_sign_verify(const struct pec_signer *s, time_t now)
{
    static const enum pec_digest digests[] = { PEC_DIGEST_SHA256, PEC_DIGEST_SHA1 };
    struct pec_error err = { 0 };
    size_t i;

    write_file(path("content.txt"), content, strlen(content));
    for (i = 0; i < 2; i++) {
        struct pec_buf sig = PEC_BUF_INIT;
        char name[32];

        CHECK(pec_smime_sign(s, digests[i], SIGN_TIME, content, strlen(content), &sig, &err) == 0);
        CHECK(sig.len > 1000);
        check_verdicts(s, &sig, digests[i], now);
        snprintf(name, sizeof(name), "sig-%s.der", pec_digest_name(digests[i]));
        write_file(path(name), sig.data, sig.len);
        check_openssl(name);
        pec_buf_release(&sig);
    }
}

/* test_far_signing_time - signingTime from 2050 on is a GeneralizedTime and still round-trips */
static void test_far_signing_time(const struct pec_signer *s, time_t now)
{
    struct pec_error err = { 0 };
    struct pec_buf sig = PEC_BUF_INIT;
    struct pec_sig_info info = { 0 };
    const time_t t2050 = (time_t)2524608000; /* 2050-01-01 00:00:00 UTC */

    CHECK(pec_smime_sign(s, PEC_DIGEST_SHA256, t2050 + 61, content, strlen(content), &sig, &err) == 0);
    CHECK(pec_smime_verify(NULL, content, strlen(content), sig.data, sig.len, now, &info, &err) == 0);
    CHECK(info.status == PEC_SIG_VALID && info.signing_time == t2050 + 61);
    pec_sig_info_clear(&info);
    pec_buf_release(&sig);
}

/* test_garbage - malformed signatures give INVALID with a reason, never a crash */
static void test_garbage(const struct pec_signer *s, time_t now)
{
    struct pec_error err = { 0 };
    struct pec_buf sig = PEC_BUF_INIT;
    struct pec_sig_info info = { 0 };
    unsigned char junk[512];
    size_t i, cut;

    CHECK(pec_smime_sign(s, PEC_DIGEST_SHA256, SIGN_TIME, content, strlen(content), &sig, &err) == 0);
    for (cut = 0; cut < sig.len; cut += sig.len / 17 + 1) {
        CHECK(pec_smime_verify(NULL, content, strlen(content), sig.data, cut, now, &info, &err) == 0);
        CHECK(info.status == PEC_SIG_INVALID && info.reason[0] != '\0');
    }
    for (i = 0; i < sizeof(junk); i++)
        junk[i] = (unsigned char)(i * 131 + 7);
    CHECK(pec_smime_verify(NULL, content, strlen(content), junk, sizeof(junk), now, &info, &err) == 0);
    CHECK(info.status == PEC_SIG_INVALID);
    CHECK(pec_smime_verify(NULL, content, strlen(content), "", 0, now, &info, &err) == 0);
    CHECK(info.status == PEC_SIG_INVALID);
    /* the last bytes are the RSA signature value itself */
    sig.data[sig.len - 5] ^= 0x20;
    CHECK(pec_smime_verify(NULL, content, strlen(content), sig.data, sig.len, now, &info, &err) == 0);
    CHECK(info.status == PEC_SIG_INVALID);
    pec_sig_info_clear(&info);
    pec_buf_release(&sig);
}

/* test_embedded - signed index style: content inside the SignedData */
static void test_embedded(const struct pec_signer *s, time_t now)
{
    static const char ldif[] = "dn: o=postacert\nLDIFLocationURL: https://example.invalid/index.ldif\n\n";
    struct pec_error err = { 0 };
    struct pec_buf der = PEC_BUF_INIT, out = PEC_BUF_INIT;
    struct pec_sig_info info = { 0 };
    struct pec_trust *ca = pec_trust_new();
    char *hit;
    char cmd[512];

    CHECK(pec_trust_add_file(ca, path("ca.pem"), &err) == 0);
    CHECK(pec_smime_sign_embedded(s, PEC_DIGEST_SHA256, SIGN_TIME, ldif, strlen(ldif), &der, &err) == 0);
    CHECK(pec_smime_verify_embedded(ca, der.data, der.len, now, &out, &info, &err) == 0);
    CHECK(info.status == PEC_SIG_VALID && info.trusted == 1 && info.signing_time == SIGN_TIME);
    CHECK(out.len == strlen(ldif) && memcmp(out.data, ldif, out.len) == 0);
    if (have_openssl) {
        write_file(path("index.ldif.p7m"), der.data, der.len);
        snprintf(cmd, sizeof(cmd), "openssl cms -verify -inform DER -in %s -CAfile %s -out %s 2>/dev/null",
                 path("index.ldif.p7m"), path("ca.pem"), path("index.out"));
        CHECK(run(cmd) == 0);
    }

    hit = memmem(der.data, der.len, "LDIFLocationURL", 15);
    CHECK(hit != NULL);
    if (hit)
        *hit = 'l';
    pec_buf_reset(&out);
    CHECK(pec_smime_verify_embedded(ca, der.data, der.len, now, &out, &info, &err) == 0);
    CHECK(info.status == PEC_SIG_INVALID && out.len == 0);

    /* a detached signature has nothing embedded */
    pec_buf_reset(&der);
    CHECK(pec_smime_sign(s, PEC_DIGEST_SHA256, SIGN_TIME, ldif, strlen(ldif), &der, &err) == 0);
    CHECK(pec_smime_verify_embedded(ca, der.data, der.len, now, &out, &info, &err) == 0);
    CHECK(info.status == PEC_SIG_INVALID && out.len == 0);

    pec_sig_info_clear(&info);
    pec_trust_free(&ca);
    pec_buf_release(&der);
    pec_buf_release(&out);
}

/* test_openssl_legacy - a 2014-style signature made by openssl (RSA-1024, SHA-1 digest, chain signed
 * with SHA-1) must be VALID and trusted by its CA */
static void test_openssl_legacy(time_t now)
{
    static const char ext[] = "[leaf]\nkeyUsage=critical,digitalSignature,nonRepudiation\n"
                              "subjectAltName=email:old@pec.legacy.example\n";
    struct pec_error err = { 0 };
    struct pec_buf sig = PEC_BUF_INIT;
    struct pec_sig_info info = { 0 };
    struct pec_trust *ca = pec_trust_new();
    char cmd[2048];

    if (!have_openssl) {
        printf("legacy openssl signature: skipped (no openssl)\n");
        return;
    }
    write_file(path("legacy.ext"), ext, strlen(ext));
    snprintf(cmd, sizeof(cmd),
             "(cd %s && openssl req -x509 -newkey rsa:1024 -nodes -sha1 -keyout lca.key -out lca.pem -subj /CN=LegacyCA "
             "-days 30 -addext basicConstraints=critical,CA:TRUE -addext keyUsage=keyCertSign,cRLSign && "
             "openssl req -newkey rsa:1024 -nodes -sha1 -keyout old.key -out old.csr -subj /CN=Old && "
             "openssl x509 -req -in old.csr -CA lca.pem -CAkey lca.key -set_serial 7 -out old.pem -days 30 -sha1 "
             "-extfile legacy.ext -extensions leaf && "
             "openssl smime -sign -binary -md sha1 -in content.txt -signer old.pem -inkey old.key "
             "-certfile lca.pem -outform DER -out old.der) >/dev/null 2>&1",
             dir);
    if (run(cmd) != 0 || read_file(path("old.der"), &sig) < 0) {
        printf("legacy openssl signature: skipped (openssl refused RSA-1024/SHA-1)\n");
        pec_trust_free(&ca);
        return;
    }
    CHECK(pec_trust_add_file(ca, path("lca.pem"), &err) == 0);
    /* openssl dates the certificates from its own clock, a moment after `now` */
    CHECK(pec_smime_verify(ca, content, strlen(content), sig.data, sig.len, now + 3600, &info, &err) == 0);
    CHECK(info.status == PEC_SIG_VALID);
    CHECK(info.trusted == 1);
    CHECK(info.digest == PEC_DIGEST_SHA1);
    CHECK_STR(info.signer_email, "old@pec.legacy.example");
    if (!info.trusted)
        fprintf(stderr, "legacy: %s\n", info.reason);
    pec_sig_info_clear(&info);
    pec_trust_free(&ca);
    pec_buf_release(&sig);
}

/* split_signed - ad-hoc multipart/signed splitter for one known sample (test only): the first part as
 * CRLF-canonical bytes and the decoded signature of the second part */
static int split_signed(const char *msg, struct pec_buf *entity, struct pec_buf *sig)
{
    char delim[128];
    const char *b = strstr(msg, "boundary=\""), *q, *start, *end, *body, *close;

    if (b == NULL || (q = strchr(b + 10, '"')) == NULL || q - (b + 10) > 100)
        return -1;
    snprintf(delim, sizeof(delim), "\n--%.*s", (int)(q - (b + 10)), b + 10);
    start = strstr(q, delim);
    if (start == NULL || (start = strchr(start + 1, '\n')) == NULL)
        return -1;
    start++;
    end = strstr(start - 1, delim); /* the LF before the delimiter belongs to the delimiter */
    if (end == NULL)
        return -1;
    for (q = start; q < end; q++) {
        if (*q == '\n' && (q == start || q[-1] != '\r'))
            pec_buf_append(entity, "\r", 1);
        pec_buf_append(entity, q, 1);
    }
    body = strstr(end + 1, "\n\n");
    close = body ? strstr(body, delim) : NULL;
    if (close == NULL)
        return -1;
    {
        gchar *b64 = g_strndup(body, (gsize)(close - body));
        gsize n = 0;
        guchar *der = g_base64_decode(b64, &n);

        pec_buf_append(sig, der, n);
        g_free(der);
        g_free(b64);
    }
    return 0;
}

/* test_real_aruba - the 2014 Aruba transport envelope verifies (SHA-1 digest, RSA-1024 key) */
static void test_real_aruba(void)
{
    const char *shared = getenv("PEC_SHARED_DIR");
    char file[1024];
    struct pec_buf msg = PEC_BUF_INIT, entity = PEC_BUF_INIT, sig = PEC_BUF_INIT;
    struct pec_sig_info info = { 0 };
    struct pec_error err = { 0 };

    snprintf(file, sizeof(file), "%s/samples/real/aruba-2014/busta-trasporto-1.eml", shared ? shared : "../shared");
    if (read_file(file, &msg) < 0) {
        printf("real aruba-2014 sample: skipped (%s absent)\n", file);
        return;
    }
    CHECK(split_signed(msg.data, &entity, &sig) == 0);
    CHECK(pec_smime_verify(NULL, entity.data, entity.len, sig.data, sig.len, SIGN_TIME, &info, &err) == 0);
    CHECK(info.status == PEC_SIG_VALID);
    CHECK_STR(info.signer_sha1, "aaa71bfd2dbc9fe67aa23c9f33aaf3316df1aa66");
    CHECK(info.digest == PEC_DIGEST_SHA1);
    CHECK(strstr(info.signer_subject, "ARUBA PEC") != NULL);
    if (info.status != PEC_SIG_VALID)
        fprintf(stderr, "aruba: %s\n", info.reason);
    entity.data[entity.len / 2] ^= 1;
    CHECK(pec_smime_verify(NULL, entity.data, entity.len, sig.data, sig.len, SIGN_TIME, &info, &err) == 0);
    CHECK(info.status == PEC_SIG_INVALID);
    printf("real aruba-2014 sample: verified\n");
    pec_sig_info_clear(&info);
    pec_buf_release(&msg);
    pec_buf_release(&entity);
    pec_buf_release(&sig);
}

int main(void)
{
    time_t now = time(NULL);
    struct pec_signer *s;
    char cmd[128];

    test_sha1();
    test_real_aruba();
    snprintf(dir, sizeof(dir), "/tmp/pec-smime-XXXXXX");
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    have_openssl = run("openssl version >/dev/null 2>&1") == 0;
    if (!have_openssl)
        printf("openssl cross-checks: skipped (no openssl)\n");
    make_pki(now);
    s = test_signer_load();
    if (s != NULL) {
        test_sign_verify(s, now);
        test_far_signing_time(s, now);
        test_garbage(s, now);
        test_embedded(s, now);
    }
    test_openssl_legacy(now);
    pec_signer_free(&s);
    CHECK(s == NULL);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (check_failures == 0)
        run(cmd);
    else
        fprintf(stderr, "files kept in %s\n", dir);
    return CHECK_DONE();
}
