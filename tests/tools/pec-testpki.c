/* pec-testpki.c - a test PKI for several providers under one CA (the e2e harness, make demo, make bench).
 *
 * Usage: pec-testpki DIR DOMAIN "PROVIDER NAME" [DOMAIN "PROVIDER NAME"]...
 * Writes DIR/ca.pem, DIR/ca.key, DIR/<DOMAIN>.pem and DIR/<DOMAIN>.key (signing certificate of the
 * provider whose service address is posta-certificata@<DOMAIN>) and DIR/index.ldif listing every provider
 * (mailReceipt posta-certificata@<DOMAIN>, managedDomains <DOMAIN>).
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "pec/buf.h"
#include "pec/index.h"
#include "pec/smime.h"
#include "pec/testca.h"

int main(int argc, char **argv)
{
    struct pec_error err = { 0 };
    struct pec_buf ldif = PEC_BUF_INIT;
    time_t now = time(NULL);
    char path[4096], key[4096], email[512];

    if (argc < 4 || (argc - 2) % 2 != 0) {
        fprintf(stderr, "usage: pec-testpki DIR DOMAIN NAME [DOMAIN NAME]...\n");
        return 2;
    }
    const char *dir = argv[1];
    if (pec_testca_create(dir, "PEC Test CA", now, &err) < 0) {
        fprintf(stderr, "pec-testpki: %s\n", err.msg);
        return 1;
    }
    pec_buf_puts(&ldif, "dn: o=postacert\nobjectClass: organization\no: postacert\n\n");
    for (int i = 2; i + 1 < argc; i += 2) {
        const char *domain = argv[i], *name = argv[i + 1];
        const char *domains[] = { domain };
        struct pec_signer *s;
        size_t der_len;
        const void *der;

        snprintf(email, sizeof(email), "posta-certificata@%s", domain);
        if (pec_testca_issue(dir, domain, name, email, now, &err) < 0) {
            fprintf(stderr, "pec-testpki: %s: %s\n", domain, err.msg);
            return 1;
        }
        snprintf(path, sizeof(path), "%s/%s.pem", dir, domain);
        snprintf(key, sizeof(key), "%s/%s.key", dir, domain);
        if ((s = pec_signer_load(path, key, NULL, &err)) == NULL) {
            fprintf(stderr, "pec-testpki: %s: %s\n", domain, err.msg);
            return 1;
        }
        der = pec_signer_cert_der(s, &der_len);
        pec_index_render_entry(&ldif, name, der, der_len, email, domains, 1);
        pec_buf_puts(&ldif, "\n");
        pec_signer_free(&s);
    }
    snprintf(path, sizeof(path), "%s/index.ldif", dir);
    FILE *f = fopen(path, "w");
    if (f == NULL || fwrite(ldif.data, 1, ldif.len, f) != ldif.len || fclose(f) != 0) {
        fprintf(stderr, "pec-testpki: cannot write %s\n", path);
        return 1;
    }
    pec_buf_release(&ldif);
    return 0;
}
