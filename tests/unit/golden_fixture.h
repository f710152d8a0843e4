/* golden_fixture.h - the unit tests' common fixture: the golden test PKI (tests/data/golden-pki) as a
 * signer, a trust store with its CA, and an index listing its certificate.  Included by one test
 * program each, so everything is static. */
#ifndef PEC_TEST_GOLDEN_FIXTURE_H
#define PEC_TEST_GOLDEN_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include "pec/compose.h"
#include "pec/index.h"
#include "pec/message.h"
#include "pec/smime.h"

#define NOW ((time_t)1795417200) /* 23/11/2026 08:00:00 +0100, inside the golden certificate's validity */
#define DOMAIN "pec-esempio.test"
#define PROVIDER "Gestore Esempio S.p.A."
#define SERVICE "posta-certificata@pec-esempio.test"

/* ---- fixture: golden signer, trust store with the golden CA, index listing the golden certificate ---- */

static struct pec_signer *signer;
static struct pec_trust *trust;
static struct pec_index *idx;
static struct pec_issuer iss;
static struct pec_analyze_opts aopts;

/* fixture_init - load the golden PKI; 0 or -1 */
static int fixture_init(void)
{
    static const char *const domains[] = { DOMAIN };
    const char *src = getenv("PEC_SRC_DIR");
    char cert[4096], key[4096], ca[4096];
    struct pec_error err = { 0 };
    struct pec_buf ldif = PEC_BUF_INIT;
    const void *der;
    size_t der_len;

    if (src == NULL)
        src = ".";
    snprintf(cert, sizeof(cert), "%s/tests/data/golden-pki/provider.pem", src);
    snprintf(key, sizeof(key), "%s/tests/data/golden-pki/provider.key", src);
    snprintf(ca, sizeof(ca), "%s/tests/data/golden-pki/ca.pem", src);
    if ((signer = pec_signer_load(cert, key, NULL, &err)) == NULL) {
        fprintf(stderr, "signer: %s\n", err.msg);
        return -1;
    }
    trust = pec_trust_new();
    if (pec_trust_add_file(trust, ca, &err) < 0) {
        fprintf(stderr, "trust: %s\n", err.msg);
        return -1;
    }
    der = pec_signer_cert_der(signer, &der_len);
    pec_index_render_root(&ldif, NULL);
    pec_index_render_entry(&ldif, PROVIDER, der, der_len, SERVICE, domains, 1);
    idx = pec_index_parse_ldif(ldif.data, ldif.len, &err);
    pec_buf_release(&ldif);
    if (idx == NULL) {
        fprintf(stderr, "index: %s\n", err.msg);
        return -1;
    }
    iss.gestore = PROVIDER;
    iss.service_address = SERVICE;
    iss.signer = signer;
    iss.digest = PEC_DIGEST_SHA256;
    iss.ids = pec_idgen_new_fixed(1, DOMAIN);
    aopts.trust = trust;
    aopts.index = idx;
    aopts.now = NOW;
    return 0;
}

/* fixture_free - release the fixture */
static void fixture_free(void)
{
    pec_idgen_free(&iss.ids);
    pec_index_free(&idx);
    pec_trust_free(&trust);
    pec_signer_free(&signer);
}

#endif
