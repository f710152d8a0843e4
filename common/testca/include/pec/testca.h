/* testca.h - a throwaway test PKI for `pecctl example`, the tests and the demo (library pectestca, never
 * linked into the production library pec: its keys are unencrypted files). */
#ifndef PEC_TESTCA_H
#define PEC_TESTCA_H

#include <time.h>
#include "pec/error.h"

/* pec_testca_create - write ca.pem/ca.key (self-signed test CA) into dir; existing files are replaced */
int pec_testca_create(const char *dir, const char *ca_name, time_t now, struct pec_error *err);
/* pec_testca_issue - issue a provider signing certificate signed by dir's CA: writes
 * <stem>.pem and <stem>.key; subject O=<provider_name>, CN=Posta Certificata <provider_name>,
 * subjectAltName rfc822Name=<email>, keyUsage digitalSignature (critical), EKU emailProtection,
 * RSA-2048, valid from now-1h for 3 years. */
int pec_testca_issue(const char *dir, const char *stem, const char *provider_name, const char *email,
                     time_t now, struct pec_error *err);

#endif
