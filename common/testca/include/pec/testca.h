/* testca.h - a throwaway test PKI for `pecctl example`, the tests and the demo (library pectestca, never
 * linked into the production library pec: its keys are unencrypted files). */
#ifndef PEC_TESTCA_H
#define PEC_TESTCA_H

#include <time.h>
#include "pec/error.h"

/* pec_testca_create - write ca.pem/ca.key (self-signed test CA) into dir; existing files are replaced
 * and a ca.crl left by a previous CA is removed */
int pec_testca_create(const char *dir, const char *ca_name, time_t now, struct pec_error *err);
/* pec_testca_create_intermediate - write ca.pem/ca.key into dir: a CA certificate for ca_name issued by
 * parent_dir's CA (so dir issues certificates as a sub-CA; dir may lie under parent_dir, and
 * pec_testca_revoke(parent_dir, "<subdir>/ca", ...) then revokes it) */
int pec_testca_create_intermediate(const char *dir, const char *parent_dir, const char *ca_name, time_t now,
                                   struct pec_error *err);
/* pec_testca_issue - issue a provider signing certificate signed by dir's CA: writes
 * <stem>.pem and <stem>.key; subject O=<provider_name>, CN=Posta Certificata <provider_name>,
 * subjectAltName rfc822Name=<email>, keyUsage digitalSignature (critical), EKU emailProtection,
 * RSA-2048, valid from now-1h for 3 years. */
int pec_testca_issue(const char *dir, const char *stem, const char *provider_name, const char *email,
                     time_t now, struct pec_error *err);
/* pec_testca_issue_with_crl_url - pec_testca_issue, plus a cRLDistributionPoints extension naming
 * crl_url (where `pecctl crl refresh` fetches the CA's CRL); crl_url NULL: none */
int pec_testca_issue_with_crl_url(const char *dir, const char *stem, const char *provider_name, const char *email,
                                  const char *crl_url, time_t now, struct pec_error *err);
/* pec_testca_revoke - add <stem>.pem's serial (revoked at now, reason unspecified) to <dir>/ca.crl and
 * re-sign it: PEM, signed by the test CA, thisUpdate now, nextUpdate now + 7 days; the entries already
 * there are kept, so revoking twice lists both */
int pec_testca_revoke(const char *dir, const char *stem, time_t now, struct pec_error *err);
/* pec_testca_write_crl - re-sign <dir>/ca.crl (created empty when absent) with the given thisUpdate and
 * nextUpdate, keeping its entries: for fresh, stale and not-yet-valid CRLs */
int pec_testca_write_crl(const char *dir, time_t this_update, time_t next_update, struct pec_error *err);

#endif
