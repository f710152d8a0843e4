/* index.h - the PEC provider index (indice dei gestori, RFC 6109 §4.5/§5.6), read from LDIF.
 *
 * An index is immutable once built and can be shared between threads.  Lookups are case-insensitive.
 */
#ifndef PEC_INDEX_H
#define PEC_INDEX_H

#include <stddef.h>
#include <time.h>
#include "pec/buf.h"
#include "pec/error.h"

struct pec_index;
struct pec_provider;
struct pec_trust;

/* pec_index_parse_ldif - parse LDIF text (folded lines, base64 "::" values, comments).  Entries with a
 * providerName become providers; a provider entry missing providerName, mailReceipt, managedDomains or
 * a certificate hash is an error naming the entry (PEC_ERR_INVALID). */
struct pec_index *pec_index_parse_ldif(const void *ldif, size_t len, struct pec_error *err);
/* pec_index_unwrap - the LDIF embedded in a signed index (CMS SignedData, DER) appended to ldif, only
 * when its signature is valid and chains to trust (NULL trust: refused); -1 with err (INVALID) otherwise.
 * signed_at_r (may be NULL) gets the signature's signingTime, 0 when it has none. */
int pec_index_unwrap(const char *path, const void *der, size_t len, const struct pec_trust *trust, time_t now,
                     struct pec_buf *ldif, time_t *signed_at_r, struct pec_error *err);
/* pec_index_load_file - read FILE.ldif, or FILE.ldif.p7m (CMS with embedded LDIF, verified against
 * trust; a bad signature is an error) */
struct pec_index *pec_index_load_file(const char *path, const struct pec_trust *trust, time_t now,
                                      struct pec_error *err);
void pec_index_free(struct pec_index **idx);

size_t pec_index_count(const struct pec_index *idx);
const struct pec_provider *pec_index_at(const struct pec_index *idx, size_t i);
/* pec_index_by_domain - the provider managing a mail domain, or NULL */
const struct pec_provider *pec_index_by_domain(const struct pec_index *idx, const char *domain);
/* pec_index_by_address - same, taking the domain of an address "user@domain" */
const struct pec_provider *pec_index_by_address(const struct pec_index *idx, const char *addr);
/* pec_index_by_cert_sha1 - the provider listing this certificate hash (40 hex, any case), or NULL */
const struct pec_provider *pec_index_by_cert_sha1(const struct pec_index *idx, const char *sha1_hex);

const char *pec_provider_name(const struct pec_provider *p);
const char *pec_provider_mail_receipt(const struct pec_provider *p);
const char *pec_provider_unit(const struct pec_provider *p);   /* NULL when absent */
const char *pec_provider_ldif_url(const struct pec_provider *p); /* NULL when absent */
size_t pec_provider_domain_count(const struct pec_provider *p);
const char *pec_provider_domain_at(const struct pec_provider *p, size_t i);
/* pec_provider_manages - 1 when domain is in managedDomains */
int pec_provider_manages(const struct pec_provider *p, const char *domain);
/* pec_provider_has_certificate - 1 when the DER certificate is listed (providerCertificate;binary);
 * -1 when the record carries no certificate to compare with; 0 otherwise */
int pec_provider_has_certificate(const struct pec_provider *p, const void *der, size_t len);
/* pec_provider_certificate_count, pec_provider_certificate_at - the providerCertificate values (DER), i <
 * count: where their CA publishes its CRL is in them (pecctl crl refresh) */
size_t pec_provider_certificate_count(const struct pec_provider *p);
const void *pec_provider_certificate_at(const struct pec_provider *p, size_t i, size_t *len_r);

/* pec_index_render_root - append the root entry o=postacert (LDIFLocationURL when ldif_url is not NULL) */
void pec_index_render_root(struct pec_buf *out, const char *ldif_url);

/* pec_index_render_entry - append one provider entry as LDIF (base DN o=postacert), for pecctl example
 * and tests: the hash is computed from cert_der */
void pec_index_render_entry(struct pec_buf *out, const char *provider_name, const void *cert_der,
                            size_t cert_len, const char *mail_receipt, const char *const *domains,
                            size_t n_domains);

#endif
