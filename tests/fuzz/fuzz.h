/* fuzz.h - what every fuzz target shares: the entry points libFuzzer calls, and a fixture made once in
 * LLVMFuzzerInitialize from the golden test PKI (tests/data/golden-pki) - a signer, a trust store with
 * its CA and an index listing its certificate.  Included by one target each, so everything is static
 * (inline: not every target uses all of it).  Once the fixture is made nothing here is written again,
 * so every run sees the same state. */
#ifndef PEC_FUZZ_H
#define PEC_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pec/compose.h"
#include "pec/index.h"
#include "pec/log.h"
#include "pec/mime.h"
#include "pec/smime.h"

#ifndef PEC_FUZZ_SRC_DIR
#define PEC_FUZZ_SRC_DIR "."
#endif

#define FUZZ_NOW ((time_t)1795417200) /* 23/11/2026 08:00:00 +0100: inside the golden certificate's validity */
#define FUZZ_DOMAIN "pec-esempio.test"
#define FUZZ_PROVIDER "Gestore Esempio S.p.A."
#define FUZZ_SERVICE "posta-certificata@pec-esempio.test"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct pec_signer *fuzz_signer;
static struct pec_trust *fuzz_trust;
static struct pec_index *fuzz_index;

/* fuzz_quiet - the core's warnings would drown libFuzzer's own output */
static inline void fuzz_quiet(enum pec_log_level level, const char *msg, void *ctx)
{
}

/* fuzz_path - a file of the source tree (PEC_SRC_DIR overrides the path compiled in) */
static inline const char *fuzz_path(char *buf, size_t len, const char *rel)
{
    const char *src = getenv("PEC_SRC_DIR");

    snprintf(buf, len, "%s/%s", src && *src ? src : PEC_FUZZ_SRC_DIR, rel);
    return buf;
}

/* fuzz_fixture - load the golden PKI and build its index once; exits when the files are missing */
static inline void fuzz_fixture(void)
{
    static const char *const domains[] = { FUZZ_DOMAIN };
    struct pec_error err = { 0 };
    struct pec_buf ldif = PEC_BUF_INIT;
    char cert[4096], key[4096], ca[4096];
    const void *der;
    size_t der_len;

    pec_log_set_sink(fuzz_quiet, NULL);
    pec_mime_init();
    fuzz_path(cert, sizeof(cert), "tests/data/golden-pki/provider.pem");
    fuzz_path(key, sizeof(key), "tests/data/golden-pki/provider.key");
    fuzz_path(ca, sizeof(ca), "tests/data/golden-pki/ca.pem");
    fuzz_signer = pec_signer_load(cert, key, NULL, &err);
    fuzz_trust = pec_trust_new();
    if (fuzz_signer == NULL || pec_trust_add_file(fuzz_trust, ca, &err) < 0) {
        fprintf(stderr, "fuzz fixture: %s (set PEC_SRC_DIR to the source tree)\n", err.msg);
        exit(1);
    }
    der = pec_signer_cert_der(fuzz_signer, &der_len);
    pec_buf_puts(&ldif, "dn: o=postacert\nobjectClass: organization\no: postacert\n\n");
    pec_index_render_entry(&ldif, FUZZ_PROVIDER, der, der_len, FUZZ_SERVICE, domains, 1);
    fuzz_index = pec_index_parse_ldif(ldif.data, ldif.len, &err);
    pec_buf_release(&ldif);
    if (fuzz_index == NULL) {
        fprintf(stderr, "fuzz fixture: index: %s\n", err.msg);
        exit(1);
    }
}

/* fuzz_issuer - the golden provider as issuer, with a fresh deterministic id generator the caller frees */
static inline struct pec_issuer fuzz_issuer(void)
{
    struct pec_issuer iss = { FUZZ_PROVIDER, FUZZ_SERVICE, fuzz_signer, PEC_DIGEST_SHA256, NULL };

    iss.ids = pec_idgen_new_fixed(1, FUZZ_DOMAIN);
    return iss;
}

/* fuzz_index_walk - every lookup on a parsed index, and one property: each provider rendered back to LDIF
 * parses to the same name, receipt address and domains (pecctl example and the tests write indexes so) */
static inline void fuzz_index_walk(const struct pec_index *idx)
{
    struct pec_error err = { 0 };

    for (size_t i = 0; i < pec_index_count(idx); i++) {
        const struct pec_provider *p = pec_index_at(idx, i), *q;
        const char **domains = calloc(pec_provider_domain_count(p) + 1, sizeof(*domains));
        struct pec_buf ldif = PEC_BUF_INIT;
        struct pec_index *again;
        const void *der = NULL;
        size_t der_len = 0;

        if (domains == NULL)
            abort();
        for (size_t k = 0; k < pec_provider_domain_count(p); k++) {
            domains[k] = pec_provider_domain_at(p, k);
            if (!pec_provider_manages(p, domains[k]) || pec_index_by_domain(idx, domains[k]) == NULL)
                abort();
        }
        if (pec_provider_certificate_count(p) > 0)
            der = pec_provider_certificate_at(p, 0, &der_len);
        if (der != NULL && pec_provider_has_certificate(p, der, der_len) != 1)
            abort();
        (void)pec_provider_unit(p);
        (void)pec_provider_ldif_url(p);
        pec_index_render_entry(&ldif, pec_provider_name(p), der, der_len, pec_provider_mail_receipt(p), domains,
                               pec_provider_domain_count(p));
        if ((again = pec_index_parse_ldif(ldif.data, ldif.len, &err)) == NULL) {
            fprintf(stderr, "rendered entry does not parse: %s\n%.*s", err.msg, (int)ldif.len, ldif.data);
            abort();
        }
        q = pec_index_at(again, 0);
        if (pec_index_count(again) != 1 || strcmp(pec_provider_name(q), pec_provider_name(p)) != 0 ||
            strcmp(pec_provider_mail_receipt(q), pec_provider_mail_receipt(p)) != 0 ||
            pec_provider_domain_count(q) != pec_provider_domain_count(p)) {
            fprintf(stderr, "rendered entry reads back differently:\n%.*s", (int)ldif.len, ldif.data);
            abort();
        }
        for (size_t k = 0; k < pec_provider_domain_count(p); k++)
            if (strcmp(pec_provider_domain_at(q, k), domains[k]) != 0)
                abort();
        pec_index_free(&again);
        pec_buf_release(&ldif);
        free(domains);
    }
}

#endif
