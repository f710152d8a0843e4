/* pec-testpki.c - a test PKI for several providers under one CA (the e2e harness, make demo, make bench).
 *
 * Usage: pec-testpki [--crl-url URL] DIR DOMAIN "PROVIDER NAME" [DOMAIN "PROVIDER NAME"]...
 *        pec-testpki revoke DIR STEM
 *        pec-testpki crl DIR [--this-update WHEN] [--next-update WHEN]
 * The first form writes DIR/ca.pem, DIR/ca.key, DIR/<DOMAIN>.pem and DIR/<DOMAIN>.key (signing
 * certificate of the provider whose service address is posta-certificata@<DOMAIN>) and DIR/index.ldif
 * listing every provider (mailReceipt posta-certificata@<DOMAIN>, managedDomains <DOMAIN>).  With
 * --crl-url the provider certificates name URL as their CRL distribution point and DIR/ca.crl (empty,
 * valid 7 days) is written.
 * revoke lists DIR/<STEM>.pem in DIR/ca.crl (re-signed: thisUpdate now, nextUpdate now + 7 days).
 * crl re-signs DIR/ca.crl (created empty when absent) with the dates given: WHEN is seconds since the
 * epoch or a day offset from now such as -1d or +7d [now, +7d] (a stale CRL: --next-update -1d).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "pec/buf.h"
#include "pec/index.h"
#include "pec/smime.h"
#include "pec/testca.h"

/* parse_when - EPOCH or [+-]Nd relative to now; -1 when malformed */
static int parse_when(const char *s, time_t now, time_t *t_r)
{
    char *end;
    long long v = strtoll(s, &end, 10);

    if (end == s)
        return -1;
    if (*end == 'd' && end[1] == '\0' && (s[0] == '+' || s[0] == '-')) {
        *t_r = now + (time_t)v * 86400;
        return 0;
    }
    if (*end != '\0' || v < 0)
        return -1;
    *t_r = (time_t)v;
    return 0;
}

/* cmd_crl - re-sign DIR/ca.crl with the dates given */
static int cmd_crl(int argc, char **argv, time_t now)
{
    struct pec_error err = { 0 };
    time_t this_update = now, next_update = now + 7 * 86400L;
    int i;

    if (argc < 3)
        goto usage;
    for (i = 3; i < argc; i++) {
        time_t *t = strcmp(argv[i], "--this-update") == 0   ? &this_update
                    : strcmp(argv[i], "--next-update") == 0 ? &next_update
                                                            : NULL;

        if (t == NULL || i + 1 >= argc || parse_when(argv[i + 1], now, t) < 0)
            goto usage;
        i++;
    }
    if (pec_testca_write_crl(argv[2], this_update, next_update, &err) < 0) {
        fprintf(stderr, "pec-testpki: %s\n", err.msg);
        return 1;
    }
    return 0;
usage:
    fprintf(stderr, "usage: pec-testpki crl DIR [--this-update WHEN] [--next-update WHEN]\n");
    return 2;
}

/* cmd_revoke - list DIR/STEM.pem in DIR/ca.crl */
static int cmd_revoke(int argc, char **argv, time_t now)
{
    struct pec_error err = { 0 };

    if (argc != 4) {
        fprintf(stderr, "usage: pec-testpki revoke DIR STEM\n");
        return 2;
    }
    if (pec_testca_revoke(argv[2], argv[3], now, &err) < 0) {
        fprintf(stderr, "pec-testpki: %s\n", err.msg);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct pec_error err = { 0 };
    struct pec_buf ldif = PEC_BUF_INIT;
    time_t now = time(NULL);
    const char *crl_url = NULL;
    char path[4096], key[4096], email[512];
    int first = 1;

    if (argc >= 2 && strcmp(argv[1], "revoke") == 0)
        return cmd_revoke(argc, argv, now);
    if (argc >= 2 && strcmp(argv[1], "crl") == 0)
        return cmd_crl(argc, argv, now);
    if (argc >= 3 && strcmp(argv[1], "--crl-url") == 0) {
        crl_url = argv[2];
        first = 3;
    }
    if (argc - first < 3 || (argc - first - 1) % 2 != 0) {
        fprintf(stderr, "usage: pec-testpki [--crl-url URL] DIR DOMAIN NAME [DOMAIN NAME]...\n"
                        "       pec-testpki revoke DIR STEM\n"
                        "       pec-testpki crl DIR [--this-update WHEN] [--next-update WHEN]\n");
        return 2;
    }
    const char *dir = argv[first];
    if (pec_testca_create(dir, "PEC Test CA", now, &err) < 0 ||
        (crl_url != NULL && pec_testca_write_crl(dir, now, now + 7 * 86400L, &err) < 0)) {
        fprintf(stderr, "pec-testpki: %s\n", err.msg);
        return 1;
    }
    pec_buf_puts(&ldif, "dn: o=postacert\nobjectClass: organization\no: postacert\n\n");
    for (int i = first + 1; i + 1 < argc; i += 2) {
        const char *domain = argv[i], *name = argv[i + 1];
        const char *domains[] = { domain };
        struct pec_signer *s;
        size_t der_len;
        const void *der;

        snprintf(email, sizeof(email), "posta-certificata@%s", domain);
        if (pec_testca_issue_with_crl_url(dir, domain, name, email, crl_url, now, &err) < 0) {
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
