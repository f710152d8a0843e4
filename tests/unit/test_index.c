/* test_index.c - the provider index: LDIF parsing, lookups, errors, rendering, signed .ldif.p7m. */
#define _GNU_SOURCE /* memmem */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "check.h"
#include "pec/index.h"
#include "pec/smime.h"
#include "pec/testca.h"

/* Two providers: one plain, one with base64 values (dn, providerName) and folded lines; mixed-case
 * attribute names, comments, a version line and the o=postacert root entry. */
static const char two_providers[] =
    "# indice dei gestori di posta certificata (test)\n"
    "version: 1\n"
    "\n"
    "dn: o=postacert\n"
    "objectClass: organization\n"
    "o: postacert\n"
    "LDIFLocationURL: https://www.example.invalid/indice.ldif\n"
    "\n"
    "# first provider\n"
    "dn: providerName=Alfa PEC S.p.A.,o=postacert\n"
    "objectclass: provider\n"
    "PROVIDERNAME: Alfa PEC S.p.A.\n"
    "providerCertificateHash: AAA71BFD2DBC9FE67AA23C9F33AAF3316DF1AA66\n"
    "mailReceipt: posta-certificata@pec.alfa.example\n"
    "managedDomains: pec.alfa.example\n"
    "ManagedDomains: PEC.Alfa-Two.example\n"
    "LDIFLocationURL: https://www.alfa.example/pec.ldif\n"
    "providerUnit: Unita 1\n"
    "\n"
    "\n"
    "dn:: cHJvdmlkZXJOYW1lPUJldGEgUG9zdGEgU2ljdXJhLG89cG9zdGFjZXJ0\n"
    "objectClass: provider\n"
    "providerName:: QmV0YSBQb3N0YSBTaWN1cmE=\n"
    "providerCertificateHash: 0123456789abcdef0123456789ABCDEF01234567\n"
    "providerCertificateHash: 1111111111111111111111111111111111111111\n"
    "mailReceipt: ricevute@pec.beta.exa\n"
    " mple\n"
    "managedDomains: pec.beta.example\n"
    "description: a description folded\n"
    "  over two lines\n";

/* test_parse - providers, values and lookups */
static void test_parse(const char *ldif, size_t len)
{
    struct pec_error err = { 0 };
    struct pec_index *idx = pec_index_parse_ldif(ldif, len, &err);
    const struct pec_provider *alfa, *beta;

    CHECK(idx != NULL);
    if (idx == NULL) {
        fprintf(stderr, "parse: %s\n", err.msg);
        return;
    }
    CHECK(pec_index_count(idx) == 2);
    alfa = pec_index_at(idx, 0);
    beta = pec_index_at(idx, 1);
    CHECK(pec_index_at(idx, 2) == NULL);
    CHECK_STR(pec_provider_name(alfa), "Alfa PEC S.p.A.");
    CHECK_STR(pec_provider_mail_receipt(alfa), "posta-certificata@pec.alfa.example");
    CHECK_STR(pec_provider_unit(alfa), "Unita 1");
    CHECK_STR(pec_provider_ldif_url(alfa), "https://www.alfa.example/pec.ldif");
    CHECK(pec_provider_domain_count(alfa) == 2);
    CHECK_STR(pec_provider_domain_at(alfa, 1), "pec.alfa-two.example");
    CHECK(pec_provider_manages(alfa, "PEC.ALFA.example") == 1);
    CHECK(pec_provider_manages(alfa, "pec.beta.example") == 0);
    CHECK(pec_provider_has_certificate(alfa, "x", 1) == -1);

    CHECK_STR(pec_provider_name(beta), "Beta Posta Sicura");
    CHECK_STR(pec_provider_mail_receipt(beta), "ricevute@pec.beta.example");
    CHECK(pec_provider_unit(beta) == NULL);
    CHECK(pec_provider_ldif_url(beta) == NULL);

    CHECK(pec_index_by_domain(idx, "PEC.Alfa.Example") == alfa);
    CHECK(pec_index_by_domain(idx, "pec.alfa-two.example") == alfa);
    CHECK(pec_index_by_domain(idx, "pec.beta.example") == beta);
    CHECK(pec_index_by_domain(idx, "pec.gamma.example") == NULL);
    CHECK(pec_index_by_domain(idx, "") == NULL);
    CHECK(pec_index_by_address(idx, "Mario.Rossi@Pec.Beta.Example") == beta);
    CHECK(pec_index_by_address(idx, "posta-certificata@pec.alfa.example") == alfa);
    CHECK(pec_index_by_address(idx, "nobody@pec.gamma.example") == NULL);
    CHECK(pec_index_by_address(idx, "no-domain") == NULL);
    CHECK(pec_index_by_cert_sha1(idx, "aaa71bfd2dbc9fe67aa23c9f33aaf3316df1aa66") == alfa);
    CHECK(pec_index_by_cert_sha1(idx, "AAA71BFD2DBC9FE67AA23C9F33AAF3316DF1AA66") == alfa);
    CHECK(pec_index_by_cert_sha1(idx, "0123456789ABCDEF0123456789abcdef01234567") == beta);
    CHECK(pec_index_by_cert_sha1(idx, "1111111111111111111111111111111111111111") == beta);
    CHECK(pec_index_by_cert_sha1(idx, "2222222222222222222222222222222222222222") == NULL);
    pec_index_free(&idx);
    CHECK(idx == NULL);
    pec_index_free(&idx);
}

/* to_crlf - the same text with CRLF line ends */
static char *to_crlf(const char *s)
{
    struct pec_buf b = PEC_BUF_INIT;

    for (; *s; s++) {
        if (*s == '\n')
            pec_buf_append(&b, "\r", 1);
        pec_buf_append(&b, s, 1);
    }
    return pec_buf_steal(&b, NULL);
}

/* expect_error - parsing fails with PEC_ERR_INVALID and a message containing both words */
static void expect_error(const char *ldif, const char *word1, const char *word2)
{
    struct pec_error err = { 0 };
    struct pec_index *idx = pec_index_parse_ldif(ldif, strlen(ldif), &err);

    CHECK(idx == NULL);
    CHECK(err.cls == PEC_ERR_INVALID);
    CHECK(strstr(err.msg, word1) != NULL);
    CHECK(word2 == NULL || strstr(err.msg, word2) != NULL);
    if (idx != NULL || strstr(err.msg, word1) == NULL || (word2 && strstr(err.msg, word2) == NULL))
        fprintf(stderr, "unexpected error message: %s\n", err.msg);
    pec_index_free(&idx);
}

/* test_errors - incomplete or malformed provider entries */
static void test_errors(void)
{
    expect_error("dn: providerName=Gamma,o=postacert\n"
                 "providerName: Gamma\n"
                 "providerCertificateHash: AAA71BFD2DBC9FE67AA23C9F33AAF3316DF1AA66\n"
                 "managedDomains: pec.gamma.example\n",
                 "providerName=Gamma,o=postacert", "mailReceipt");
    expect_error("dn: providerName=Gamma,o=postacert\n"
                 "providerName: Gamma\n"
                 "providerCertificateHash: AAA71BFD2DBC9FE67AA23C9F33AAF3316DF1AA66\n"
                 "mailReceipt: r@pec.gamma.example\n",
                 "providerName=Gamma,o=postacert", "managedDomains");
    expect_error("dn: providerName=Gamma,o=postacert\n"
                 "providerName: Gamma\n"
                 "mailReceipt: r@pec.gamma.example\n"
                 "managedDomains: pec.gamma.example\n",
                 "Gamma", "providerCertificateHash");
    expect_error("dn: cn=Delta,o=postacert\n"
                 "objectClass: provider\n"
                 "mailReceipt: r@pec.delta.example\n",
                 "cn=Delta,o=postacert", "providerName");
    expect_error("dn: providerName=Gamma,o=postacert\n"
                 "providerName: Gamma\n"
                 "providerCertificateHash: AAA71BFD2DBC9FE67AA23C9F33AAF3316DF1AA6\n"
                 "mailReceipt: r@pec.gamma.example\n"
                 "managedDomains: pec.gamma.example\n",
                 "providerCertificateHash", "providerName=Gamma");
    expect_error("dn: providerName=Gamma,o=postacert\n"
                 "providerName: Gamma\n"
                 "providerCertificateHash: AAA71BFD2DBC9FE67AA23C9F33AAF3316DF1AAZZ\n",
                 "providerCertificateHash", NULL);
    expect_error("dn: o=postacert\nthis line has no colon\n", "line 2", NULL);
    expect_error("dn: o=postacert\nproviderName:: not*base64\n", "base64", NULL);
}

/* test_render - render_entry output is well-folded LDIF that parses back to the same provider */
static struct pec_buf test_render(const void *der, size_t der_len)
{
    static const char *const domains[] = { "pec.gamma.example", "Posta.Gamma.example" };
    struct pec_error err = { 0 };
    struct pec_buf out = PEC_BUF_INIT;
    struct pec_index *idx;
    const struct pec_provider *p;
    char sha1[41], upper[41];
    const char *line;
    size_t i;

    pec_index_render_entry(&out, "Gamma PEC, S.r.l.", der, der_len, "posta-certificata@pec.gamma.example",
                           domains, 2);
    pec_sha1_hex(der, der_len, sha1);
    for (i = 0; i < 41; i++)
        upper[i] = (char)(sha1[i] >= 'a' ? sha1[i] - 32 : sha1[i]);
    CHECK(strncmp(out.data, "dn: providerName=Gamma PEC\\, S.r.l.,o=postacert\n", 48) == 0);
    CHECK(strstr(out.data, upper) != NULL);
    CHECK(strstr(out.data, "\nproviderCertificate;binary:: MII") != NULL);
    CHECK(out.len > 2 && strcmp(out.data + out.len - 2, "\n\n") == 0);
    for (line = out.data; *line; line = strchr(line, '\n') + 1)
        CHECK(strchr(line, '\n') - line <= 76);

    idx = pec_index_parse_ldif(out.data, out.len, &err);
    CHECK(idx != NULL && pec_index_count(idx) == 1);
    if (idx == NULL) {
        fprintf(stderr, "render parse: %s\n", err.msg);
        return out;
    }
    p = pec_index_at(idx, 0);
    CHECK_STR(pec_provider_name(p), "Gamma PEC, S.r.l.");
    CHECK_STR(pec_provider_mail_receipt(p), "posta-certificata@pec.gamma.example");
    CHECK(pec_index_by_cert_sha1(idx, sha1) == p);
    CHECK(pec_index_by_domain(idx, "posta.gamma.example") == p);
    CHECK(pec_provider_has_certificate(p, der, der_len) == 1);
    CHECK(pec_provider_has_certificate(p, der, der_len - 1) == 0);
    CHECK(pec_provider_has_certificate(p, "\x30\x82", 2) == 0);
    pec_index_free(&idx);
    return out;
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

/* test_signed - .ldif.p7m loads when the signature is good (and trusted), is refused otherwise */
static void test_signed(const char *dir, const struct pec_signer *s, const struct pec_buf *ldif, time_t now)
{
    struct pec_error err = { 0 };
    struct pec_buf der = PEC_BUF_INIT;
    struct pec_trust *ca = pec_trust_new(), *other = pec_trust_new();
    struct pec_index *idx;
    char p7m[256], plain[256], ca_pem[256], other_pem[256];
    char *hit;

    snprintf(p7m, sizeof(p7m), "%s/index.ldif.p7m", dir);
    snprintf(plain, sizeof(plain), "%s/index.ldif", dir);
    snprintf(ca_pem, sizeof(ca_pem), "%s/ca.pem", dir);
    snprintf(other_pem, sizeof(other_pem), "%s/other/ca.pem", dir);
    CHECK(pec_trust_add_file(ca, ca_pem, &err) == 0);
    CHECK(pec_trust_add_file(other, other_pem, &err) == 0);

    CHECK(pec_smime_sign_embedded(s, PEC_DIGEST_SHA256, now, ldif->data, ldif->len, &der, &err) == 0);
    write_file(p7m, der.data, der.len);
    write_file(plain, ldif->data, ldif->len);

    idx = pec_index_load_file(plain, NULL, now, &err);
    CHECK(idx != NULL && pec_index_count(idx) == 1);
    pec_index_free(&idx);
    idx = pec_index_load_file(p7m, ca, now, &err);
    CHECK(idx != NULL && pec_index_count(idx) == 1);
    if (idx == NULL)
        fprintf(stderr, "p7m: %s\n", err.msg);
    pec_index_free(&idx);
    idx = pec_index_load_file(p7m, NULL, now, &err); /* fail closed: nobody to judge the signature */
    CHECK(idx == NULL && strstr(err.msg, "no trust anchors were given") != NULL);

    pec_error_clear(&err);
    idx = pec_index_load_file(p7m, other, now, &err);
    CHECK(idx == NULL && err.cls == PEC_ERR_INVALID && strstr(err.msg, "index signature") != NULL);

    hit = memmem(der.data, der.len, "managedDomains", 14);
    CHECK(hit != NULL);
    if (hit)
        hit[0] = 'M';
    write_file(p7m, der.data, der.len);
    pec_error_clear(&err);
    idx = pec_index_load_file(p7m, ca, now, &err);
    CHECK(idx == NULL && err.cls == PEC_ERR_INVALID && strstr(err.msg, "index signature") != NULL);
    pec_error_clear(&err);
    idx = pec_index_load_file(p7m, NULL, now, &err);
    CHECK(idx == NULL && strstr(err.msg, "index signature") != NULL);

    pec_error_clear(&err);
    snprintf(p7m, sizeof(p7m), "%s/missing.ldif", dir);
    CHECK(pec_index_load_file(p7m, NULL, now, &err) == NULL && err.cls != PEC_ERR_NONE);

    pec_trust_free(&ca);
    pec_trust_free(&other);
    pec_buf_release(&der);
}

int main(void)
{
    struct pec_error err = { 0 };
    char dir[64] = "/tmp/pec-index-XXXXXX", path[128], key[128], cmd[128];
    struct pec_signer *s = NULL;
    char *crlf = to_crlf(two_providers);
    time_t now = time(NULL);

    test_parse(two_providers, strlen(two_providers));
    test_parse(crlf, strlen(crlf));
    free(crlf);
    test_errors();

    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(path, sizeof(path), "%s/other", dir);
    CHECK(pec_testca_create(dir, "Index Test CA", now, &err) == 0);
    CHECK(pec_testca_issue(dir, "gamma", "Gamma PEC, S.r.l.", "posta-certificata@pec.gamma.example", now, &err) == 0);
    CHECK(mkdir(path, 0700) == 0);
    CHECK(pec_testca_create(path, "Other CA", now, &err) == 0);
    snprintf(path, sizeof(path), "%s/gamma.pem", dir);
    snprintf(key, sizeof(key), "%s/gamma.key", dir);
    s = pec_signer_load(path, key, NULL, &err);
    CHECK(s != NULL);
    if (s != NULL) {
        size_t der_len;
        const void *der = pec_signer_cert_der(s, &der_len);
        struct pec_buf ldif = test_render(der, der_len);

        test_signed(dir, s, &ldif, now);
        pec_buf_release(&ldif);
    } else {
        fprintf(stderr, "signer: %s\n", err.msg);
    }
    pec_signer_free(&s);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (check_failures == 0 && system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
    return CHECK_DONE();
}
