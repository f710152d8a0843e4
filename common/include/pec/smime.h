/* smime.h - S/MIME CMS signatures (GnuTLS), certificates and digests.
 *
 * The only module that includes GnuTLS.  Signing makes a detached CMS SignedData over exactly the
 * bytes given (the caller passes the CRLF-canonical MIME entity), with the signer certificate and its
 * chain, and signingTime = the event time (so Date, daticert and signature agree).
 */
#ifndef PEC_SMIME_H
#define PEC_SMIME_H

#include <stddef.h>
#include <time.h>
#include "pec/buf.h"
#include "pec/error.h"
#include "pec/strv.h"

enum pec_digest { PEC_DIGEST_SHA256 = 0, PEC_DIGEST_SHA1, PEC_DIGEST_OTHER };

/* pec_digest_micalg - the multipart/signed micalg token ("sha-256", "sha1") */
const char *pec_digest_micalg(enum pec_digest d);
/* pec_digest_name - short name for reports ("sha256", "sha1") */
const char *pec_digest_name(enum pec_digest d);

/* pec_sha1_hex - SHA-1 of data as 40 lower-case hex digits + NUL */
void pec_sha1_hex(const void *data, size_t len, char out[41]);
/* pec_sha256 - SHA-256 of data, 32 bytes (the trace's hash chain, migration and index digests) */
void pec_sha256(const void *data, size_t len, unsigned char out[32]);

/* ---- signing ---- */
struct pec_signer;

/* pec_signer_load - PEM certificate, PEM private key, optional PEM chain (intermediates) */
struct pec_signer *pec_signer_load(const char *cert_file, const char *key_file, const char *chain_file,
                                   struct pec_error *err);
void pec_signer_free(struct pec_signer **s);
/* pec_signer_email - rfc822Name of the certificate's subjectAltName (the service address), or NULL */
const char *pec_signer_email(const struct pec_signer *s);
/* pec_signer_cert_der - the signer certificate, DER */
const void *pec_signer_cert_der(const struct pec_signer *s, size_t *len_r);

/* pec_smime_sign - detached CMS over content; DER appended to der_out */
int pec_smime_sign(const struct pec_signer *s, enum pec_digest d, time_t signing_time, const void *content,
                   size_t len, struct pec_buf *der_out, struct pec_error *err);
/* pec_smime_sign_embedded - CMS SignedData that embeds content (signed index .ldif.p7m), DER */
int pec_smime_sign_embedded(const struct pec_signer *s, enum pec_digest d, time_t signing_time,
                            const void *content, size_t len, struct pec_buf *der_out, struct pec_error *err);

/* ---- verifying ---- */
struct pec_trust;

/* A trust store is built once (anchors first, then their CRLs, then the stale policy) and is read-only
 * afterwards, so threads share it; the only thing verification writes is an atomic "stale CRL already
 * reported" flag per CRL. */
struct pec_trust *pec_trust_new(void);
/* pec_trust_add_file - add the PEM CA certificates of a file as trust anchors */
int pec_trust_add_file(struct pec_trust *t, const char *pem_file, struct pec_error *err);
/* pec_trust_add_crl_file - add the CRL(s) of a file (PEM, possibly several, or DER).  Each must be issued
 * by one of the anchors already added and its signature must verify against it: otherwise an error
 * naming the file.  Delta CRLs and unknown critical extensions are refused.  A CRL already past its
 * nextUpdate at now is accepted with a warning (logged once, here). */
int pec_trust_add_crl_file(struct pec_trust *t, const char *path, time_t now, struct pec_error *err);
/* pec_trust_refuse_stale_crls - crl_stale = refuse: a certificate whose issuer's CRLs are all past their
 * nextUpdate at the verification time is untrusted (default: used anyway, reported once with pec_warn) */
void pec_trust_refuse_stale_crls(struct pec_trust *t, int refuse);
void pec_trust_free(struct pec_trust **t);

/* ---- CRL maintenance (pecctl crl refresh) ---- */
struct pec_crl_info {
    char anchor[256];      /* subject DN of the trust anchor whose key verified the CRL */
    time_t this_update;
    time_t next_update;    /* -1 when the CRL has none */
    unsigned long revoked; /* number of entries */
    char number[41];       /* cRLNumber in hex, "" when absent */
};

/* pec_crl_check - parse one CRL (PEM or DER) from memory and verify it against t's anchors, as
 * pec_trust_add_crl_file would; name is used in messages.  0 and info, or -1 with err */
int pec_crl_check(const struct pec_trust *t, const void *data, size_t len, const char *name,
                  struct pec_crl_info *info, struct pec_error *err);
/* pec_trust_anchor_subjects - the subject DN of every anchor of t, appended to out */
void pec_trust_anchor_subjects(const struct pec_trust *t, struct pec_strv *out);
/* pec_trust_crl_urls - the URIs of the cRLDistributionPoints naming where the CRL of the anchor with
 * this subject is published: from the anchor's own certificate and from every certificate in certs
 * (n_certs blobs, each PEM with one or more certificates, or DER) whose issuer is that anchor.
 * Appended to urls without duplicates. */
void pec_trust_crl_urls(const struct pec_trust *t, const char *anchor_subject, const struct pec_buf *certs,
                        size_t n_certs, struct pec_strv *urls);

enum pec_sig_status { PEC_SIG_ABSENT = 0, PEC_SIG_VALID, PEC_SIG_INVALID };

struct pec_sig_info {
    enum pec_sig_status status;
    int trusted;               /* chain verified to an anchor of the trust store (0 when none given) */
    enum pec_digest digest;
    time_t signing_time;       /* 0 when the attribute is absent */
    char signer_sha1[41];      /* SHA-1 of the signer certificate DER, hex; "" when unknown */
    char signer_subject[256];
    char signer_email[256];    /* subjectAltName rfc822Name */
    char reason[256];          /* why invalid / untrusted, for reports */
    struct pec_buf signer_der; /* owned; released by pec_sig_info_clear */
};

/* pec_smime_verify - check a detached signature over content (already CRLF-canonical).
 * Returns 0 when a verdict was reached (see info->status, info->trusted); -1 only on internal failure.
 * trust may be NULL (integrity only).  now is the time used for certificate validity. */
int pec_smime_verify(const struct pec_trust *trust, const void *content, size_t len, const void *sig_der,
                     size_t sig_len, time_t now, struct pec_sig_info *info, struct pec_error *err);
/* pec_smime_verify_embedded - verify a SignedData with embedded content; content appended to out */
int pec_smime_verify_embedded(const struct pec_trust *trust, const void *der, size_t len, time_t now,
                              struct pec_buf *content_out, struct pec_sig_info *info, struct pec_error *err);
void pec_sig_info_clear(struct pec_sig_info *info);

#endif
