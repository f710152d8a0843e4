/* smime.c - CMS (PKCS #7) SignedData with GnuTLS: signer, signing, verification, trust store, SHA-1.
 *
 * Everything here is read-only after construction, so signers and trust stores can be shared between
 * threads.  Verification separates integrity (the signature matches the bytes: VALID / INVALID) from
 * trust (the signer chains to an anchor at the given time), because a PEC reception point must report
 * both independently.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/pkcs7.h>
#include <gnutls/x509.h>
#include "pec/log.h"
#include "pec/smime.h"
#include "pec/text.h"

#define OID_SIGNING_TIME "1.2.840.113549.1.9.5"
#define OID_DELTA_CRL_INDICATOR "2.5.29.27"
#define OID_ISSUING_DIST_POINT "2.5.29.28"
#define MAX_CHAIN_DEPTH 8
#define SERIAL_MAX 64

/* Real PEC traffic still carries SHA-1 digests over RSA-1024 keys (2014 certificates) and chains whose
 * certificates are signed with SHA-1: GnuTLS 3.7 accepts the SHA-1 data signature and the 1024-bit key
 * by default, but rejects SHA-1 certificate signatures in the chain without ALLOW_SIGN_WITH_SHA1.  The
 * wall clock is never consulted: validity is checked against the caller's `now` (chain_valid_at). */
#define VERIFY_FLAGS                                                                                \
    (GNUTLS_VERIFY_ALLOW_SIGN_WITH_SHA1 | GNUTLS_VERIFY_DISABLE_TIME_CHECKS |                       \
     GNUTLS_VERIFY_DISABLE_TRUSTED_TIME_CHECKS)

struct pec_signer {
    gnutls_x509_crt_t crt;
    gnutls_privkey_t key;
    gnutls_x509_crt_t *chain;
    unsigned int n_chain;
    struct pec_buf der;
    char email[256];
};

/* GnuTLS judges a CRL's thisUpdate/nextUpdate by the wall clock even with DISABLE_TIME_CHECKS; we judge
 * them against the verification time, so these bits never reject a CRL by themselves */
#define CRL_TIME_BITS (GNUTLS_CERT_REVOCATION_DATA_SUPERSEDED | GNUTLS_CERT_REVOCATION_DATA_ISSUED_IN_FUTURE)

/* one entry of a CRL */
struct revoked {
    unsigned char len;
    unsigned char serial[SERIAL_MAX];
    time_t when;
};

/* a verified CRL reduced to what verification needs; read-only once added, except `warned` */
struct crl {
    unsigned char *issuer_dn; /* raw DER Name, compared with the certificates' raw issuer ... */
    unsigned int issuer_len;
    unsigned char *anchor_dn; /* ... and so is the verifying anchor's subject, should the CA have */
    unsigned int anchor_len;  /* encoded its name differently in the CRL and in the certificates */
    char issuer[256];         /* the same, for messages */
    time_t this_update, next_update; /* next_update -1: none */
    struct revoked *revoked;  /* sorted by serial_cmp */
    size_t n_revoked;
    atomic_int warned;        /* "past its nextUpdate" already logged */
};

struct pec_trust {
    gnutls_x509_trust_list_t tl;
    struct crl **crls;
    size_t n_crls;
    int refuse_stale;
};

/* pec_digest_micalg - the multipart/signed micalg token */
const char *pec_digest_micalg(enum pec_digest d)
{
    switch (d) {
    case PEC_DIGEST_SHA256:
        return "sha-256";
    case PEC_DIGEST_SHA1:
        return "sha1";
    default:
        return "unknown";
    }
}

/* pec_digest_name - short name for reports */
const char *pec_digest_name(enum pec_digest d)
{
    switch (d) {
    case PEC_DIGEST_SHA256:
        return "sha256";
    case PEC_DIGEST_SHA1:
        return "sha1";
    default:
        return "other";
    }
}

/* pec_sha1_hex - SHA-1 of data as 40 lower-case hex digits */
void pec_sha1_hex(const void *data, size_t len, char out[41])
{
    unsigned char md[20];

    if (gnutls_hash_fast(GNUTLS_DIG_SHA1, data, len, md) < 0)
        pec_panic("gnutls_hash_fast(SHA-1) failed");
    pec_hex(md, sizeof(md), out);
}

/* pec_sha256 - GnuTLS's SHA-256, so the trace needs no digest code of its own */
void pec_sha256(const void *data, size_t len, unsigned char out[32])
{
    if (gnutls_hash_fast(GNUTLS_DIG_SHA256, data, len, out) < 0)
        pec_panic("gnutls_hash_fast(SHA-256) failed");
}

/* gnutls_digest - our digest enum as a GnuTLS algorithm */
static gnutls_digest_algorithm_t gnutls_digest(enum pec_digest d)
{
    return d == PEC_DIGEST_SHA1 ? GNUTLS_DIG_SHA1 : GNUTLS_DIG_SHA256;
}

/* load_file - read a whole file into a GnuTLS datum (free with gnutls_free) */
static int load_file(const char *path, gnutls_datum_t *out, struct pec_error *err)
{
    int r = gnutls_load_file(path, out);

    if (r < 0) {
        pec_error_set(err, PEC_ERR_INTERNAL, "cannot read %s: %s", path, gnutls_strerror(r));
        return -1;
    }
    return 0;
}

/* crt_email - the first rfc822Name of the subjectAltName into out ("" when none) */
static void crt_email(gnutls_x509_crt_t crt, char *out, size_t outlen)
{
    unsigned int i;

    out[0] = '\0';
    for (i = 0; i < 64; i++) {
        char name[256];
        size_t len = sizeof(name);
        int type = gnutls_x509_crt_get_subject_alt_name(crt, i, name, &len, NULL);

        if (type == GNUTLS_E_SHORT_MEMORY_BUFFER)
            continue; /* longer than any address we could report */
        if (type < 0)
            return;
        if (type == GNUTLS_SAN_RFC822NAME) {
            snprintf(out, outlen, "%.*s", (int)len, name);
            return;
        }
    }
}

/* key_matches_crt - 1 when the private key belongs to the certificate */
static int key_matches_crt(gnutls_privkey_t key, gnutls_x509_crt_t crt)
{
    gnutls_pubkey_t pub;
    unsigned char id1[64], id2[64];
    size_t l1 = sizeof(id1), l2 = sizeof(id2);
    int ok;

    if (gnutls_pubkey_init(&pub) < 0)
        pec_panic("gnutls_pubkey_init failed");
    ok = gnutls_pubkey_import_privkey(pub, key, 0, 0) == 0 &&
         gnutls_pubkey_get_key_id(pub, 0, id1, &l1) == 0 &&
         gnutls_x509_crt_get_key_id(crt, 0, id2, &l2) == 0 && l1 == l2 && memcmp(id1, id2, l1) == 0;
    gnutls_pubkey_deinit(pub);
    return ok;
}

/* signer_load_chain - import the optional PEM chain file (one or more certificates) */
static int signer_load_chain(struct pec_signer *s, const char *chain_file, struct pec_error *err)
{
    gnutls_datum_t pem = { NULL, 0 };
    int r;

    if (load_file(chain_file, &pem, err) < 0)
        return -1;
    r = gnutls_x509_crt_list_import2(&s->chain, &s->n_chain, &pem, GNUTLS_X509_FMT_PEM, 0);
    gnutls_free(pem.data);
    if (r < 0) {
        pec_error_set(err, PEC_ERR_INVALID, "%s: bad PEM certificate chain: %s", chain_file,
                      gnutls_strerror(r));
        return -1;
    }
    return 0;
}

/* pec_signer_load - PEM certificate, PEM private key (PKCS#1 or PKCS#8), optional PEM chain */
struct pec_signer *pec_signer_load(const char *cert_file, const char *key_file, const char *chain_file,
                                   struct pec_error *err)
{
    struct pec_signer *s = calloc(1, sizeof(*s));
    gnutls_datum_t pem = { NULL, 0 }, der = { NULL, 0 };
    int r;

    if (s == NULL)
        pec_panic("out of memory");
    if (gnutls_x509_crt_init(&s->crt) < 0 || gnutls_privkey_init(&s->key) < 0)
        pec_panic("gnutls init failed");

    if (load_file(cert_file, &pem, err) < 0)
        goto fail;
    r = gnutls_x509_crt_import(s->crt, &pem, GNUTLS_X509_FMT_PEM);
    gnutls_free(pem.data);
    pem.data = NULL;
    if (r < 0) {
        pec_error_set(err, PEC_ERR_INVALID, "%s: bad PEM certificate: %s", cert_file, gnutls_strerror(r));
        goto fail;
    }

    if (load_file(key_file, &pem, err) < 0)
        goto fail;
    r = gnutls_privkey_import_x509_raw(s->key, &pem, GNUTLS_X509_FMT_PEM, NULL, 0);
    gnutls_free(pem.data);
    if (r < 0) {
        pec_error_set(err, PEC_ERR_INVALID, "%s: bad PEM private key: %s", key_file, gnutls_strerror(r));
        goto fail;
    }
    /* a mismatched pair would sign "successfully" and every recipient would report an anomaly */
    if (!key_matches_crt(s->key, s->crt)) {
        pec_error_set(err, PEC_ERR_INVALID, "%s does not belong to certificate %s", key_file, cert_file);
        goto fail;
    }

    if (chain_file != NULL && signer_load_chain(s, chain_file, err) < 0)
        goto fail;

    if (gnutls_x509_crt_export2(s->crt, GNUTLS_X509_FMT_DER, &der) < 0)
        pec_panic("gnutls_x509_crt_export2 failed");
    pec_buf_append(&s->der, der.data, der.size);
    gnutls_free(der.data);
    crt_email(s->crt, s->email, sizeof(s->email));
    return s;

fail:
    pec_signer_free(&s);
    return NULL;
}

/* pec_signer_free - release a signer; NULL-safe */
void pec_signer_free(struct pec_signer **sp)
{
    struct pec_signer *s;
    unsigned int i;

    if (sp == NULL || *sp == NULL)
        return;
    s = *sp;
    gnutls_x509_crt_deinit(s->crt);
    gnutls_privkey_deinit(s->key);
    for (i = 0; i < s->n_chain; i++)
        gnutls_x509_crt_deinit(s->chain[i]);
    gnutls_free(s->chain);
    pec_buf_release(&s->der);
    free(s);
    *sp = NULL;
}

/* pec_signer_email - rfc822Name of the certificate, or NULL */
const char *pec_signer_email(const struct pec_signer *s)
{
    return s->email[0] ? s->email : NULL;
}

/* pec_signer_cert_der - the signer certificate, DER */
const void *pec_signer_cert_der(const struct pec_signer *s, size_t *len_r)
{
    if (len_r)
        *len_r = s->der.len;
    return s->der.data;
}

/* der_time - DER Time for signingTime: UTCTime up to 2049, GeneralizedTime after (RFC 5652 §11.3) */
static int der_time(time_t t, unsigned char *out, size_t outlen, size_t *len_r)
{
    struct tm tm;
    char text[32];
    int n;

    if (gmtime_r(&t, &tm) == NULL)
        return -1;
    if (tm.tm_year + 1900 >= 1950 && tm.tm_year + 1900 < 2050)
        n = snprintf(text, sizeof(text), "%02d%02d%02d%02d%02d%02dZ", tm.tm_year % 100, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    else
        n = snprintf(text, sizeof(text), "%04d%02d%02d%02d%02d%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (n < 0 || (size_t)n + 2 > outlen || n > 127)
        return -1;
    out[0] = n == 13 ? 0x17 : 0x18;
    out[1] = (unsigned char)n;
    memcpy(out + 2, text, (size_t)n);
    *len_r = (size_t)n + 2;
    return 0;
}

/* cms_sign - SignedData over content with signingTime = signing_time; flags add EMBED_DATA or not */
static int cms_sign(const struct pec_signer *s, enum pec_digest d, time_t signing_time, const void *content,
                    size_t len, unsigned int flags, struct pec_buf *der_out, struct pec_error *err)
{
    gnutls_pkcs7_t p7 = NULL;
    gnutls_pkcs7_attrs_t attrs = NULL;
    gnutls_datum_t data, tval, out = { NULL, 0 };
    unsigned char tbuf[32];
    size_t tlen;
    unsigned int i;
    int r, ret = -1;

    if (len > UINT_MAX) {
        pec_error_set(err, PEC_ERR_INVALID, "content too large to sign (%zu bytes)", len);
        return -1;
    }
    if (der_time(signing_time, tbuf, sizeof(tbuf), &tlen) < 0) {
        pec_error_set(err, PEC_ERR_INVALID, "signing time %lld out of range", (long long)signing_time);
        return -1;
    }
    if (gnutls_pkcs7_init(&p7) < 0)
        pec_panic("gnutls_pkcs7_init failed");
    tval.data = tbuf;
    tval.size = (unsigned int)tlen;
    /* our own signingTime, not GNUTLS_PKCS7_INCLUDE_TIME: it must be the event time, not the clock */
    r = gnutls_pkcs7_add_attr(&attrs, OID_SIGNING_TIME, &tval, 0);
    if (r < 0)
        goto gnutls_fail;

    data.data = (unsigned char *)content;
    data.size = (unsigned int)len;
    r = gnutls_pkcs7_sign(p7, s->crt, s->key, &data, attrs, NULL, gnutls_digest(d),
                          flags | GNUTLS_PKCS7_INCLUDE_CERT);
    if (r < 0)
        goto gnutls_fail;
    for (i = 0; i < s->n_chain; i++) {
        r = gnutls_pkcs7_set_crt(p7, s->chain[i]);
        if (r < 0)
            goto gnutls_fail;
    }
    r = gnutls_pkcs7_export2(p7, GNUTLS_X509_FMT_DER, &out);
    if (r < 0)
        goto gnutls_fail;
    pec_buf_append(der_out, out.data, out.size);
    gnutls_free(out.data);
    ret = 0;
    goto done;

gnutls_fail:
    pec_error_set(err, PEC_ERR_INTERNAL, "CMS signing failed: %s", gnutls_strerror(r));
done:
    gnutls_pkcs7_attrs_deinit(attrs);
    gnutls_pkcs7_deinit(p7);
    return ret;
}

/* pec_smime_sign - detached CMS over content; DER appended to der_out */
int pec_smime_sign(const struct pec_signer *s, enum pec_digest d, time_t signing_time, const void *content,
                   size_t len, struct pec_buf *der_out, struct pec_error *err)
{
    return cms_sign(s, d, signing_time, content, len, 0, der_out, err);
}

/* pec_smime_sign_embedded - CMS SignedData that embeds content, DER appended to der_out */
int pec_smime_sign_embedded(const struct pec_signer *s, enum pec_digest d, time_t signing_time,
                            const void *content, size_t len, struct pec_buf *der_out, struct pec_error *err)
{
    return cms_sign(s, d, signing_time, content, len, GNUTLS_PKCS7_EMBED_DATA, der_out, err);
}

/* pec_trust_new - an empty trust store */
struct pec_trust *pec_trust_new(void)
{
    struct pec_trust *t = calloc(1, sizeof(*t));

    if (t == NULL || gnutls_x509_trust_list_init(&t->tl, 0) < 0)
        pec_panic("out of memory (trust list)");
    return t;
}

/* pec_trust_add_file - add the PEM CA certificates of a file as trust anchors */
int pec_trust_add_file(struct pec_trust *t, const char *pem_file, struct pec_error *err)
{
    int r = gnutls_x509_trust_list_add_trust_file(t->tl, pem_file, NULL, GNUTLS_X509_FMT_PEM, 0, 0);

    if (r < 0) {
        pec_error_set(err, PEC_ERR_INVALID, "%s: cannot load CA certificates: %s", pem_file,
                      gnutls_strerror(r));
        return -1;
    }
    if (r == 0) {
        pec_error_set(err, PEC_ERR_INVALID, "%s: no PEM certificate found", pem_file);
        return -1;
    }
    return 0;
}

/* crl_free - release one reduced CRL; NULL-safe */
static void crl_free(struct crl *c)
{
    if (c == NULL)
        return;
    free(c->issuer_dn);
    free(c->anchor_dn);
    free(c->revoked);
    free(c);
}

/* pec_trust_free - release a trust store; NULL-safe */
void pec_trust_free(struct pec_trust **tp)
{
    size_t i;

    if (tp == NULL || *tp == NULL)
        return;
    gnutls_x509_trust_list_deinit((*tp)->tl, 1);
    for (i = 0; i < (*tp)->n_crls; i++)
        crl_free((*tp)->crls[i]);
    free((*tp)->crls);
    free(*tp);
    *tp = NULL;
}

/* format_time - t as "YYYY-MM-DD HH:MM:SS UTC" for messages */
static void format_time(time_t t, char *out, size_t outlen)
{
    struct tm tm;

    if (gmtime_r(&t, &tm) == NULL || strftime(out, outlen, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
        snprintf(out, outlen, "@%lld", (long long)t);
}

/* dn_text - the printable form of a DER-decoded name datum into out ("" on failure) */
static void dn_text(int r, gnutls_datum_t *dn, char *out, size_t outlen)
{
    if (r < 0)
        dn->size = 0;
    snprintf(out, outlen, "%.*s", (int)dn->size, dn->size ? (const char *)dn->data : "");
    gnutls_free(dn->data);
    dn->data = NULL;
}

/* import_crls - the CRLs of a blob: PEM (one or more) unless it starts like DER (one) */
static int import_crls(const gnutls_datum_t *data, const char *name, gnutls_x509_crl_t **list, unsigned int *n,
                       struct pec_error *err)
{
    int r;

    *list = NULL;
    *n = 0;
    if (data->size > 0 && data->data[0] == 0x30) {
        if ((*list = gnutls_malloc(sizeof(**list))) == NULL || gnutls_x509_crl_init(&(*list)[0]) < 0)
            pec_panic("out of memory (CRL)");
        r = gnutls_x509_crl_import((*list)[0], data, GNUTLS_X509_FMT_DER);
        if (r < 0) {
            gnutls_x509_crl_deinit((*list)[0]);
            gnutls_free(*list);
            *list = NULL;
        } else {
            *n = 1;
        }
    } else {
        r = gnutls_x509_crl_list_import2(list, n, data, GNUTLS_X509_FMT_PEM, 0);
    }
    if (r < 0 || *n == 0) {
        pec_error_set(err, PEC_ERR_INVALID, "%s: not a CRL, neither PEM nor DER (%s)", name,
                      r < 0 ? gnutls_strerror(r) : "none found");
        return -1;
    }
    return 0;
}

/* free_crls - release what import_crls returned */
static void free_crls(gnutls_x509_crl_t *list, unsigned int n)
{
    unsigned int i;

    for (i = 0; i < n; i++)
        gnutls_x509_crl_deinit(list[i]);
    gnutls_free(list);
}

/* crl_extensions_ok - refuse delta CRLs and critical extensions we do not implement (RFC 5280 §5.2:
 * a CRL with an unrecognised critical extension must not be used) */
static int crl_extensions_ok(gnutls_x509_crl_t crl, const char *name, struct pec_error *err)
{
    unsigned int i, critical;

    for (i = 0;; i++) {
        char oid[128];
        size_t len = sizeof(oid);
        int r = gnutls_x509_crl_get_extension_info(crl, i, oid, &len, &critical);

        if (r == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
            return 0;
        if (r < 0) {
            pec_error_set(err, PEC_ERR_INVALID, "%s: unreadable CRL extension: %s", name, gnutls_strerror(r));
            return -1;
        }
        if (strcmp(oid, OID_DELTA_CRL_INDICATOR) == 0) {
            pec_error_set(err, PEC_ERR_INVALID, "%s: delta CRLs are not supported (give the full CRL)", name);
            return -1;
        }
        if (critical && strcmp(oid, OID_ISSUING_DIST_POINT) != 0) {
            pec_error_set(err, PEC_ERR_INVALID, "%s: CRL has an unsupported critical extension %s", name, oid);
            return -1;
        }
    }
}

/* crl_signed_by - 1 when ca's key verifies crl's signature (dates are judged elsewhere) */
static int crl_signed_by(gnutls_x509_crl_t crl, gnutls_x509_crt_t ca)
{
    unsigned int status = 0;

    if (gnutls_x509_crl_verify(crl, &ca, 1, VERIFY_FLAGS, &status) < 0)
        return 0;
    if (status & ~(CRL_TIME_BITS | GNUTLS_CERT_INVALID))
        return 0;
    return !(status & GNUTLS_CERT_INVALID) || (status & CRL_TIME_BITS);
}

/* crl_anchor - the anchor of tl that issued crl and whose key verifies it (a copy: deinit it), or NULL
 * with err saying whether no anchor has that name or the signature does not verify */
static gnutls_x509_crt_t crl_anchor(gnutls_x509_trust_list_t tl, gnutls_x509_crl_t crl, const char *name,
                                    struct pec_error *err)
{
    gnutls_x509_trust_list_iter_t iter = NULL;
    gnutls_x509_crt_t ca, found = NULL;
    gnutls_datum_t dn = { NULL, 0 };
    char issuer[256];
    int named = 0;

    while (found == NULL && gnutls_x509_trust_list_iter_get_ca(tl, &iter, &ca) == 0) {
        if (gnutls_x509_crl_check_issuer(crl, ca)) {
            named = 1;
            if (crl_signed_by(crl, ca)) {
                found = ca;
                break;
            }
        }
        gnutls_x509_crt_deinit(ca);
    }
    gnutls_x509_trust_list_iter_deinit(iter);
    if (found != NULL)
        return found;
    dn_text(gnutls_x509_crl_get_issuer_dn3(crl, &dn, 0), &dn, issuer, sizeof(issuer));
    if (named)
        pec_error_set(err, PEC_ERR_INVALID, "%s: the signature of the CRL of %s does not verify against the trust anchor",
                      name, issuer);
    else
        pec_error_set(err, PEC_ERR_INVALID, "%s: CRL issuer %s is not a trust anchor (add its trust_file first)",
                      name, issuer);
    return NULL;
}

/* serial_cmp - order of CRL entries: by length, then by bytes */
static int serial_cmp(const void *a, const void *b)
{
    const struct revoked *x = a, *y = b;

    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    return memcmp(x->serial, y->serial, x->len);
}

/* copy_datum - a malloc'd copy of d (never NULL) */
static unsigned char *copy_datum(const gnutls_datum_t *d, unsigned int *len_r)
{
    unsigned char *p = malloc(d->size ? d->size : 1);

    if (p == NULL)
        pec_panic("out of memory (CRL)");
    memcpy(p, d->data, d->size);
    *len_r = d->size;
    return p;
}

/* crl_reduce - the issuer, dates and sorted serials of a CRL verified by anchor; NULL with err */
static struct crl *crl_reduce(gnutls_x509_crl_t c, gnutls_x509_crt_t anchor, const char *name, struct pec_error *err)
{
    struct crl *out = calloc(1, sizeof(*out));
    gnutls_x509_crl_iter_t iter = NULL;
    gnutls_datum_t dn = { NULL, 0 };
    int count = gnutls_x509_crl_get_crt_count(c), r;

    if (out == NULL)
        pec_panic("out of memory (CRL)");
    atomic_init(&out->warned, 0);
    if ((r = gnutls_x509_crl_get_raw_issuer_dn(c, &dn)) < 0 || count < 0)
        goto bad;
    out->issuer_dn = copy_datum(&dn, &out->issuer_len);
    gnutls_free(dn.data);
    dn.data = NULL;
    if ((r = gnutls_x509_crt_get_raw_dn(anchor, &dn)) < 0)
        goto bad;
    out->anchor_dn = copy_datum(&dn, &out->anchor_len);
    gnutls_free(dn.data);
    dn.data = NULL;
    dn_text(gnutls_x509_crl_get_issuer_dn3(c, &dn, 0), &dn, out->issuer, sizeof(out->issuer));
    out->this_update = gnutls_x509_crl_get_this_update(c);
    out->next_update = gnutls_x509_crl_get_next_update(c);
    if ((out->revoked = calloc((size_t)count + 1, sizeof(*out->revoked))) == NULL)
        pec_panic("out of memory (CRL)");
    for (;;) {
        struct revoked *e = &out->revoked[out->n_revoked];
        size_t len = sizeof(e->serial);

        if (out->n_revoked == (size_t)count) {
            r = 0;
            break;
        }
        r = gnutls_x509_crl_iter_crt_serial(c, &iter, e->serial, &len, &e->when);
        if (r == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) {
            r = 0;
            break;
        }
        if (r < 0)
            goto bad;
        e->len = (unsigned char)len;
        out->n_revoked++;
    }
    gnutls_x509_crl_iter_deinit(iter);
    qsort(out->revoked, out->n_revoked, sizeof(*out->revoked), serial_cmp);
    return out;

bad:
    gnutls_x509_crl_iter_deinit(iter);
    gnutls_free(dn.data);
    pec_error_set(err, PEC_ERR_INVALID, "%s: unreadable CRL entry: %s", name,
                  r == GNUTLS_E_SHORT_MEMORY_BUFFER ? "serial number too long" : gnutls_strerror(r));
    crl_free(out);
    return NULL;
}

/* crl_load_one - check one imported CRL and reduce it; NULL with err */
static struct crl *crl_load_one(gnutls_x509_trust_list_t tl, gnutls_x509_crl_t c, const char *name,
                                struct pec_error *err)
{
    gnutls_x509_crt_t anchor;
    struct crl *out;

    if (crl_extensions_ok(c, name, err) < 0 || (anchor = crl_anchor(tl, c, name, err)) == NULL)
        return NULL;
    out = crl_reduce(c, anchor, name, err);
    gnutls_x509_crt_deinit(anchor);
    return out;
}

/* warn_stale - the one warning for a CRL past its nextUpdate (operators grep for it) */
static void warn_stale(struct crl *c)
{
    char when[64];

    if (atomic_exchange(&c->warned, 1) != 0)
        return;
    format_time(c->next_update, when, sizeof(when));
    pec_warn("CRL of %s is past its nextUpdate %s: refresh it (pecctl crl refresh)", c->issuer, when);
}

/* crl_stale_at - 1 when the CRL's nextUpdate has passed at now */
static int crl_stale_at(const struct crl *c, time_t now)
{
    return c->next_update != (time_t)-1 && c->next_update < now;
}

/* pec_trust_add_crl_file - add every CRL of a file, verified against the anchors; all or nothing */
int pec_trust_add_crl_file(struct pec_trust *t, const char *path, time_t now, struct pec_error *err)
{
    gnutls_datum_t data = { NULL, 0 };
    gnutls_x509_crl_t *list = NULL;
    struct crl **fresh;
    unsigned int n = 0, i, k;
    int ret = -1;

    if (load_file(path, &data, err) < 0)
        return -1;
    if (import_crls(&data, path, &list, &n, err) < 0)
        goto done;
    if ((fresh = calloc(n, sizeof(*fresh))) == NULL)
        pec_panic("out of memory (CRL)");
    for (i = 0; i < n; i++) {
        if ((fresh[i] = crl_load_one(t->tl, list[i], path, err)) == NULL) {
            for (k = 0; k < i; k++)
                crl_free(fresh[k]);
            free(fresh);
            goto done;
        }
    }
    if ((t->crls = realloc(t->crls, (t->n_crls + n) * sizeof(*t->crls))) == NULL)
        pec_panic("out of memory (CRL)");
    for (i = 0; i < n; i++) {
        t->crls[t->n_crls++] = fresh[i];
        if (crl_stale_at(fresh[i], now))
            warn_stale(fresh[i]);
    }
    free(fresh);
    ret = 0;
done:
    free_crls(list, n);
    gnutls_free(data.data);
    return ret;
}

/* pec_trust_refuse_stale_crls - set the crl_stale policy */
void pec_trust_refuse_stale_crls(struct pec_trust *t, int refuse)
{
    t->refuse_stale = refuse != 0;
}

/* pec_crl_check - verify one CRL from memory as the trust store would load it */
int pec_crl_check(const struct pec_trust *t, const void *data, size_t len, const char *name,
                  struct pec_crl_info *info, struct pec_error *err)
{
    gnutls_datum_t d, dn = { NULL, 0 };
    gnutls_x509_crl_t *list = NULL;
    gnutls_x509_crt_t anchor = NULL;
    unsigned char nr[20];
    size_t nr_len = sizeof(nr);
    unsigned int n = 0;
    int count, ret = -1;

    memset(info, 0, sizeof(*info));
    if (len == 0 || len > UINT_MAX) {
        pec_error_set(err, PEC_ERR_INVALID, "%s: not a CRL (%zu bytes)", name, len);
        return -1;
    }
    d.data = (unsigned char *)data;
    d.size = (unsigned int)len;
    if (import_crls(&d, name, &list, &n, err) < 0)
        return -1;
    if (n != 1) {
        pec_error_set(err, PEC_ERR_INVALID, "%s: %u CRLs where one was expected", name, n);
        goto done;
    }
    if (crl_extensions_ok(list[0], name, err) < 0 || (anchor = crl_anchor(t->tl, list[0], name, err)) == NULL)
        goto done;
    dn_text(gnutls_x509_crt_get_dn3(anchor, &dn, 0), &dn, info->anchor, sizeof(info->anchor));
    info->this_update = gnutls_x509_crl_get_this_update(list[0]);
    info->next_update = gnutls_x509_crl_get_next_update(list[0]);
    count = gnutls_x509_crl_get_crt_count(list[0]);
    info->revoked = count > 0 ? (unsigned long)count : 0;
    if (gnutls_x509_crl_get_number(list[0], nr, &nr_len, NULL) >= 0 && nr_len <= sizeof(nr))
        pec_hex(nr, nr_len, info->number);
    ret = 0;
done:
    gnutls_x509_crt_deinit(anchor);
    free_crls(list, n);
    return ret;
}

/* pec_trust_anchor_subjects - every anchor's subject DN */
void pec_trust_anchor_subjects(const struct pec_trust *t, struct pec_strv *out)
{
    gnutls_x509_trust_list_iter_t iter = NULL;
    gnutls_x509_crt_t ca;

    while (gnutls_x509_trust_list_iter_get_ca(t->tl, &iter, &ca) == 0) {
        gnutls_datum_t dn = { NULL, 0 };
        char subject[256];

        dn_text(gnutls_x509_crt_get_dn3(ca, &dn, 0), &dn, subject, sizeof(subject));
        pec_strv_push(out, subject);
        gnutls_x509_crt_deinit(ca);
    }
    gnutls_x509_trust_list_iter_deinit(iter);
}

/* add_dist_points - the URIs of crt's cRLDistributionPoints, appended to urls once each */
static void add_dist_points(gnutls_x509_crt_t crt, struct pec_strv *urls)
{
    unsigned int i, reasons, critical;

    for (i = 0; i < 64; i++) {
        char uri[1024], copy[1024];
        size_t len = sizeof(uri) - 1;
        int r = gnutls_x509_crt_get_crl_dist_points(crt, i, uri, &len, &reasons, &critical);

        if (r == GNUTLS_E_SHORT_MEMORY_BUFFER)
            continue;
        if (r < 0)
            return;
        if (r != GNUTLS_SAN_URI)
            continue;
        snprintf(copy, sizeof(copy), "%.*s", (int)len, uri);
        if (!pec_strv_has(urls, copy))
            pec_strv_push(urls, copy);
    }
}

/* import_crts - the certificates of a blob: PEM (one or more) unless it starts like DER (one) */
static int import_crts(const struct pec_buf *b, gnutls_x509_crt_t **list, unsigned int *n)
{
    gnutls_datum_t d;

    *list = NULL;
    *n = 0;
    if (b->len == 0 || b->len > UINT_MAX)
        return -1;
    d.data = (unsigned char *)b->data;
    d.size = (unsigned int)b->len;
    if (d.data[0] != 0x30)
        return gnutls_x509_crt_list_import2(list, n, &d, GNUTLS_X509_FMT_PEM, 0) < 0 ? -1 : 0;
    if ((*list = gnutls_malloc(sizeof(**list))) == NULL || gnutls_x509_crt_init(&(*list)[0]) < 0)
        pec_panic("out of memory (certificate)");
    if (gnutls_x509_crt_import((*list)[0], &d, GNUTLS_X509_FMT_DER) < 0) {
        gnutls_x509_crt_deinit((*list)[0]);
        gnutls_free(*list);
        *list = NULL;
        return -1;
    }
    *n = 1;
    return 0;
}

/* pec_trust_crl_urls - where the anchor's CRL is published, from its own and its issued certificates */
void pec_trust_crl_urls(const struct pec_trust *t, const char *anchor_subject, const struct pec_buf *certs,
                        size_t n_certs, struct pec_strv *urls)
{
    gnutls_x509_trust_list_iter_t iter = NULL;
    gnutls_x509_crt_t ca, anchor = NULL;
    size_t i;

    while (anchor == NULL && gnutls_x509_trust_list_iter_get_ca(t->tl, &iter, &ca) == 0) {
        gnutls_datum_t dn = { NULL, 0 };
        char subject[256];

        dn_text(gnutls_x509_crt_get_dn3(ca, &dn, 0), &dn, subject, sizeof(subject));
        if (strcmp(subject, anchor_subject) == 0)
            anchor = ca;
        else
            gnutls_x509_crt_deinit(ca);
    }
    gnutls_x509_trust_list_iter_deinit(iter);
    if (anchor == NULL)
        return;
    add_dist_points(anchor, urls);
    for (i = 0; i < n_certs; i++) {
        gnutls_x509_crt_t *list;
        unsigned int n, k;

        if (import_crts(&certs[i], &list, &n) < 0)
            continue;
        for (k = 0; k < n; k++) {
            if (!gnutls_x509_crt_equals(list[k], anchor) && gnutls_x509_crt_check_issuer(list[k], anchor))
                add_dist_points(list[k], urls);
            gnutls_x509_crt_deinit(list[k]);
        }
        gnutls_free(list);
    }
    gnutls_x509_crt_deinit(anchor);
}

/* pec_sig_info_clear - release what a verification stored and reset to ABSENT */
void pec_sig_info_clear(struct pec_sig_info *info)
{
    if (info == NULL)
        return;
    pec_buf_release(&info->signer_der);
    memset(info, 0, sizeof(*info));
}

/* info_reset - forget a previous verdict, keeping the signer_der storage */
static void info_reset(struct pec_sig_info *info)
{
    struct pec_buf keep = info->signer_der;

    memset(info, 0, sizeof(*info));
    info->signer_der = keep;
    pec_buf_reset(&info->signer_der);
}

/* embedded_crt - certificate i of the CMS certificate set, or NULL */
static gnutls_x509_crt_t embedded_crt(gnutls_pkcs7_t p7, unsigned int i)
{
    gnutls_datum_t der = { NULL, 0 };
    gnutls_x509_crt_t crt;

    if (gnutls_pkcs7_get_crt_raw2(p7, i, &der) < 0)
        return NULL;
    if (gnutls_x509_crt_init(&crt) < 0)
        pec_panic("gnutls_x509_crt_init failed");
    if (gnutls_x509_crt_import(crt, &der, GNUTLS_X509_FMT_DER) < 0) {
        gnutls_x509_crt_deinit(crt);
        crt = NULL;
    }
    gnutls_free(der.data);
    return crt;
}

/* names_signer - 1 when crt is the one the SignerInfo identifies (issuer+serial or key id) */
static int names_signer(gnutls_x509_crt_t crt, const gnutls_pkcs7_signature_info_st *si)
{
    unsigned char buf[128];
    size_t len = sizeof(buf);
    gnutls_datum_t issuer = { NULL, 0 };
    int same;

    if (si->issuer_dn.size > 0) {
        if (gnutls_x509_crt_get_serial(crt, buf, &len) < 0 || len != si->signer_serial.size ||
            memcmp(buf, si->signer_serial.data, len) != 0)
            return 0;
        if (gnutls_x509_crt_get_raw_issuer_dn(crt, &issuer) < 0)
            return 0;
        same = issuer.size == si->issuer_dn.size && memcmp(issuer.data, si->issuer_dn.data, issuer.size) == 0;
        gnutls_free(issuer.data);
        return same;
    }
    if (si->issuer_keyid.size > 0)
        return gnutls_x509_crt_get_subject_key_id(crt, buf, &len, NULL) == 0 &&
               len == si->issuer_keyid.size && memcmp(buf, si->issuer_keyid.data, len) == 0;
    return 0;
}

/* key_readable - the certificate's public key imports: GnuTLS 3.7 leaks the key object it made when
 * gnutls_pkcs7_verify_direct meets a signer key it cannot decode, once per hostile message */
static int key_readable(gnutls_x509_crt_t crt)
{
    gnutls_pubkey_t pub;
    int ok;

    if (gnutls_pubkey_init(&pub) < 0)
        pec_panic("gnutls_pubkey_init failed");
    ok = gnutls_pubkey_import_x509(pub, crt, 0) == 0;
    gnutls_pubkey_deinit(pub);
    return ok;
}

/* find_signer - the embedded certificate named by the SignerInfo; when none is named properly, any
 * embedded certificate whose key verifies the signature (some producers write odd SignerIdentifiers) */
static gnutls_x509_crt_t find_signer(gnutls_pkcs7_t p7, const gnutls_pkcs7_signature_info_st *si,
                                     const gnutls_datum_t *data)
{
    int n = gnutls_pkcs7_get_crt_count(p7);
    int pass, i;

    for (pass = 0; pass < 2; pass++) {
        for (i = 0; i < n; i++) {
            gnutls_x509_crt_t crt = embedded_crt(p7, (unsigned int)i);

            if (crt == NULL)
                continue;
            if (pass == 0 ? names_signer(crt, si)
                          : key_readable(crt) &&
                                gnutls_pkcs7_verify_direct(p7, crt, 0, data, VERIFY_FLAGS) == 0)
                return crt;
            gnutls_x509_crt_deinit(crt);
        }
    }
    return NULL;
}

/* describe_signer - fill the signer fields of info from the certificate */
static void describe_signer(gnutls_x509_crt_t crt, struct pec_sig_info *info)
{
    gnutls_datum_t der = { NULL, 0 }, dn = { NULL, 0 };

    if (gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &der) == 0) {
        pec_buf_append(&info->signer_der, der.data, der.size);
        pec_sha1_hex(der.data, der.size, info->signer_sha1);
        gnutls_free(der.data);
    }
    if (gnutls_x509_crt_get_dn3(crt, &dn, 0) == 0) {
        snprintf(info->signer_subject, sizeof(info->signer_subject), "%.*s", (int)dn.size,
                 (const char *)dn.data);
        gnutls_free(dn.data);
    }
    crt_email(crt, info->signer_email, sizeof(info->signer_email));
}

/* valid_at - 1 when now lies in the certificate's validity period, else the reason in why */
static int valid_at(gnutls_x509_crt_t crt, time_t now, char *why, size_t whylen)
{
    time_t from = gnutls_x509_crt_get_activation_time(crt);
    time_t until = gnutls_x509_crt_get_expiration_time(crt);
    gnutls_datum_t dn = { NULL, 0 };

    if (now >= from && now <= until)
        return 1;
    if (gnutls_x509_crt_get_dn3(crt, &dn, 0) < 0)
        dn.size = 0;
    snprintf(why, whylen, "certificate %.*s %s", (int)dn.size, dn.size ? (const char *)dn.data : "",
             now < from ? "is not yet valid" : "has expired");
    gnutls_free(dn.data);
    return 0;
}

/* embedded_issuer - the embedded certificate that issued crt, or NULL */
static gnutls_x509_crt_t embedded_issuer(gnutls_pkcs7_t p7, gnutls_x509_crt_t crt)
{
    int n = gnutls_pkcs7_get_crt_count(p7);
    int i;

    for (i = 0; i < n; i++) {
        gnutls_x509_crt_t cand = embedded_crt(p7, (unsigned int)i);

        if (cand == NULL)
            continue;
        if (!gnutls_x509_crt_equals(cand, crt) && gnutls_x509_crt_check_issuer(crt, cand))
            return cand;
        gnutls_x509_crt_deinit(cand);
    }
    return NULL;
}

/* set_why - a reason into why, cut to fit (reasons name certificates and are bounded by pec_sig_info) */
static void set_why(char *why, size_t whylen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_why(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
}

/* crl_entry - the entry of c listing serial, or NULL */
static const struct revoked *crl_entry(const struct crl *c, const unsigned char *serial, size_t len)
{
    struct revoked key;

    if (len == 0 || len > sizeof(key.serial))
        return NULL;
    key.len = (unsigned char)len;
    memcpy(key.serial, serial, len);
    return bsearch(&key, c->revoked, c->n_revoked, sizeof(*c->revoked), serial_cmp);
}

/* not_revoked - 1 unless a CRL of t lists crt, or (crl_stale = refuse) every CRL of its issuer is past
 * its nextUpdate at now; else 0 and the reason in why.  Certificates of issuers without a CRL pass. */
static int not_revoked(const struct pec_trust *t, gnutls_x509_crt_t crt, int is_signer, time_t now, char *why,
                       size_t whylen)
{
    gnutls_datum_t issuer = { NULL, 0 }, dn = { NULL, 0 };
    unsigned char serial[SERIAL_MAX];
    size_t slen = sizeof(serial), i;
    struct crl *stale = NULL;
    const struct revoked *e = NULL;
    const struct crl *by = NULL;
    char what[300], hex[2 * SERIAL_MAX + 1], when[64];
    int covered = 0, fresh = 0;

    if (t->n_crls == 0)
        return 1;
    if (gnutls_x509_crt_get_raw_issuer_dn(crt, &issuer) < 0)
        issuer.size = 0;
    if (gnutls_x509_crt_get_serial(crt, serial, &slen) < 0)
        slen = 0;
    for (i = 0; i < t->n_crls && e == NULL; i++) {
        struct crl *c = t->crls[i];

        if ((c->issuer_len != issuer.size || memcmp(c->issuer_dn, issuer.data, issuer.size) != 0) &&
            (c->anchor_len != issuer.size || memcmp(c->anchor_dn, issuer.data, issuer.size) != 0))
            continue;
        covered = 1;
        if ((e = crl_entry(c, serial, slen)) != NULL)
            by = c;
        else if (crl_stale_at(c, now))
            stale = c;
        else
            fresh = 1;
    }
    gnutls_free(issuer.data);
    if (!covered || (fresh && e == NULL && slen > 0))
        return 1;
    if (is_signer) {
        snprintf(what, sizeof(what), "signer certificate");
    } else {
        char subject[256];

        dn_text(gnutls_x509_crt_get_dn3(crt, &dn, 0), &dn, subject, sizeof(subject));
        snprintf(what, sizeof(what), "intermediate certificate %s", subject);
    }
    if (e != NULL) {
        pec_hex(e->serial, e->len, hex);
        format_time(e->when, when, sizeof(when));
        set_why(why, whylen, "%s revoked (serial %s, by %s, on %s)", what, hex, by->issuer, when);
        return 0;
    }
    if (slen == 0) { /* covered by a CRL but too odd to look up: never pass it as not revoked */
        set_why(why, whylen, "%s has a serial number that cannot be checked against the CRL", what);
        return 0;
    }
    warn_stale(stale);
    if (!t->refuse_stale)
        return 1;
    format_time(stale->next_update, when, sizeof(when));
    set_why(why, whylen, "%s not checkable: the CRL of %s is past its nextUpdate %s (crl_stale = refuse)", what,
            stale->issuer, when);
    return 0;
}

/* chain_valid_at - the signer, the embedded CAs above it and the anchor are all valid at now, and no
 * certificate below the anchor is revoked.  GnuTLS only knows the wall clock, so it runs with time
 * checks off and this walk does them; it has no CRLs either (see not_revoked). */
static int chain_valid_at(const struct pec_trust *t, gnutls_pkcs7_t p7, gnutls_x509_crt_t signer,
                          time_t now, char *why, size_t whylen)
{
    gnutls_x509_crt_t cur = signer, next;
    int depth, ok = 1;

    for (depth = 0; ok && depth < MAX_CHAIN_DEPTH; depth++) {
        if (gnutls_x509_crt_check_issuer(cur, cur)) {
            ok = valid_at(cur, now, why, whylen);
            break;
        }
        ok = not_revoked(t, cur, depth == 0, now, why, whylen) && valid_at(cur, now, why, whylen);
        if (!ok)
            break;
        next = embedded_issuer(p7, cur);
        if (next == NULL) {
            if (gnutls_x509_trust_list_get_issuer(t->tl, cur, &next, GNUTLS_TL_GET_COPY) == 0) {
                ok = valid_at(next, now, why, whylen);
                gnutls_x509_crt_deinit(next);
            }
            break;
        }
        if (cur != signer)
            gnutls_x509_crt_deinit(cur);
        cur = next;
    }
    if (cur != signer)
        gnutls_x509_crt_deinit(cur);
    return ok;
}

/* check_trust - set info->trusted: the chain reaches an anchor of t and is valid at now */
static void check_trust(const struct pec_trust *t, gnutls_pkcs7_t p7, const gnutls_datum_t *data,
                        gnutls_x509_crt_t signer, time_t now, struct pec_sig_info *info)
{
    int r = gnutls_pkcs7_verify(p7, t->tl, NULL, 0, 0, data, VERIFY_FLAGS);

    if (r < 0) {
        snprintf(info->reason, sizeof(info->reason),
                 "signer certificate does not chain to a trusted CA (%s)", gnutls_strerror(r));
        return;
    }
    if (!chain_valid_at(t, p7, signer, now, info->reason, sizeof(info->reason)))
        return;
    info->trusted = 1;
}

/* verify_cms - integrity then trust of an imported SignedData; data NULL means embedded content */
static void verify_cms(const struct pec_trust *trust, gnutls_pkcs7_t p7, const gnutls_datum_t *data,
                       time_t now, struct pec_sig_info *info)
{
    gnutls_pkcs7_signature_info_st si;
    gnutls_digest_algorithm_t dig;
    gnutls_x509_crt_t signer;
    int r;

    r = gnutls_pkcs7_get_signature_info(p7, 0, &si);
    if (r < 0) {
        info->status = PEC_SIG_INVALID;
        snprintf(info->reason, sizeof(info->reason), "no usable SignerInfo: %s", gnutls_strerror(r));
        return;
    }
    dig = gnutls_sign_get_hash_algorithm(si.algo);
    info->digest = dig == GNUTLS_DIG_SHA1 ? PEC_DIGEST_SHA1
                   : dig == GNUTLS_DIG_SHA256 ? PEC_DIGEST_SHA256 : PEC_DIGEST_OTHER;
    info->signing_time = si.signing_time == (time_t)-1 ? 0 : si.signing_time;

    signer = find_signer(p7, &si, data);
    gnutls_pkcs7_signature_info_deinit(&si);
    if (signer == NULL) {
        info->status = PEC_SIG_INVALID;
        snprintf(info->reason, sizeof(info->reason), "signer certificate not found in the signature");
        return;
    }
    describe_signer(signer, info);
    if (!key_readable(signer)) {
        info->status = PEC_SIG_INVALID;
        snprintf(info->reason, sizeof(info->reason), "signer certificate has an unreadable public key");
        gnutls_x509_crt_deinit(signer);
        return;
    }

    r = gnutls_pkcs7_verify_direct(p7, signer, 0, data, VERIFY_FLAGS);
    if (r < 0) {
        info->status = PEC_SIG_INVALID;
        snprintf(info->reason, sizeof(info->reason), "signature does not match the content: %s",
                 gnutls_strerror(r));
    } else {
        info->status = PEC_SIG_VALID;
        if (trust != NULL)
            check_trust(trust, p7, data, signer, now, info);
    }
    gnutls_x509_crt_deinit(signer);
}

/* import_cms - parse DER SignedData; NULL (and the reason in info) when it is not one */
static gnutls_pkcs7_t import_cms(const void *der, size_t len, struct pec_sig_info *info)
{
    gnutls_pkcs7_t p7;
    gnutls_datum_t d;
    int r;

    if (len == 0 || len > UINT_MAX) {
        info->status = PEC_SIG_INVALID;
        snprintf(info->reason, sizeof(info->reason), "malformed CMS signature (%zu bytes)", len);
        return NULL;
    }
    if (gnutls_pkcs7_init(&p7) < 0)
        pec_panic("gnutls_pkcs7_init failed");
    d.data = (unsigned char *)der;
    d.size = (unsigned int)len;
    r = gnutls_pkcs7_import(p7, &d, GNUTLS_X509_FMT_DER);
    if (r < 0) {
        gnutls_pkcs7_deinit(p7);
        info->status = PEC_SIG_INVALID;
        snprintf(info->reason, sizeof(info->reason), "malformed CMS signature: %s", gnutls_strerror(r));
        return NULL;
    }
    return p7;
}

/* pec_smime_verify - check a detached signature over content */
int pec_smime_verify(const struct pec_trust *trust, const void *content, size_t len, const void *sig_der,
                     size_t sig_len, time_t now, struct pec_sig_info *info, struct pec_error *err)
{
    gnutls_pkcs7_t p7;
    gnutls_datum_t data;

    info_reset(info);
    if (len > UINT_MAX) {
        pec_error_set(err, PEC_ERR_INVALID, "content too large to verify (%zu bytes)", len);
        return -1;
    }
    p7 = import_cms(sig_der, sig_len, info);
    if (p7 == NULL)
        return 0;
    /* a zero-length entity still has to be hashed, not replaced by the (absent) eContent */
    data.data = (unsigned char *)(content != NULL && len > 0 ? content : "");
    data.size = (unsigned int)len;
    verify_cms(trust, p7, &data, now, info);
    gnutls_pkcs7_deinit(p7);
    return 0;
}

/* pec_smime_verify_embedded - verify a SignedData with embedded content; the content is appended to
 * content_out only when the signature is VALID, so unverified bytes never reach a caller by mistake */
int pec_smime_verify_embedded(const struct pec_trust *trust, const void *der, size_t len, time_t now,
                              struct pec_buf *content_out, struct pec_sig_info *info, struct pec_error *err)
{
    gnutls_pkcs7_t p7;
    gnutls_datum_t data = { NULL, 0 };
    int r;

    info_reset(info);
    p7 = import_cms(der, len, info);
    if (p7 == NULL)
        return 0;
    r = gnutls_pkcs7_get_embedded_data(p7, 0, &data);
    if (r < 0) {
        info->status = PEC_SIG_INVALID;
        snprintf(info->reason, sizeof(info->reason), "no embedded content: %s", gnutls_strerror(r));
    } else {
        verify_cms(trust, p7, &data, now, info);
        if (info->status == PEC_SIG_VALID)
            pec_buf_append(content_out, data.data, data.size);
        gnutls_free(data.data);
    }
    gnutls_pkcs7_deinit(p7);
    return 0;
}
