/* testca.c - a throwaway test PKI (CA + provider signing certificates) for tests, demos and
 * `pecctl example`.  Never for production: keys are unencrypted files.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>
#include "pec/file.h"
#include "pec/log.h"
#include "pec/testca.h"

#define KEY_BITS 2048
#define YEAR_SECONDS (365L * 24 * 3600)
#define CA_YEARS 10
#define PROVIDER_YEARS 3
#define CRL_DAYS 7

/* join - dir/name into out; -1 when it does not fit */
static int join(char *out, size_t outlen, const char *dir, const char *name, const char *ext,
                struct pec_error *err)
{
    int n = snprintf(out, outlen, "%s/%s%s", dir, name, ext);

    if (n < 0 || (size_t)n >= outlen) {
        pec_error_set(err, PEC_ERR_INVALID, "path too long: %s/%s%s", dir, name, ext);
        return -1;
    }
    return 0;
}


/* write_crt - certificate as PEM, world-readable */
static int write_crt(const char *path, gnutls_x509_crt_t crt, struct pec_error *err)
{
    gnutls_datum_t pem = { NULL, 0 };
    int r;

    if (gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &pem) < 0)
        pec_panic("gnutls_x509_crt_export2 failed");
    r = pec_file_replace(path, pem.data, pem.size, 0644, err);
    gnutls_free(pem.data);
    return r;
}

/* write_key - private key as unencrypted PKCS#8 PEM, mode 0600 */
static int write_key(const char *path, gnutls_x509_privkey_t key, struct pec_error *err)
{
    gnutls_datum_t pem = { NULL, 0 };
    int r;

    if (gnutls_x509_privkey_export2_pkcs8(key, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN, &pem) < 0)
        pec_panic("gnutls_x509_privkey_export2_pkcs8 failed");
    r = pec_file_replace(path, pem.data, pem.size, 0600, err);
    gnutls_free(pem.data);
    return r;
}

/* new_key - a fresh RSA key */
static gnutls_x509_privkey_t new_key(void)
{
    gnutls_x509_privkey_t key;

    if (gnutls_x509_privkey_init(&key) < 0 || gnutls_x509_privkey_generate(key, GNUTLS_PK_RSA, KEY_BITS, 0) < 0)
        pec_panic("RSA key generation failed");
    return key;
}

/* new_crt - v3 certificate for key: random positive 16-byte serial, validity now-1h for years,
 * subject O (optional) + CN, subject key identifier */
static gnutls_x509_crt_t new_crt(gnutls_x509_privkey_t key, const char *org, const char *cn, time_t now,
                                 long years)
{
    gnutls_x509_crt_t crt;
    unsigned char serial[16], ski[64];
    size_t ski_len = sizeof(ski);
    int r;

    if (gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof(serial)) < 0)
        pec_panic("gnutls_rnd failed");
    serial[0] = (unsigned char)((serial[0] & 0x7f) | 0x40); /* positive, no leading zero byte */
    if (gnutls_x509_crt_init(&crt) < 0)
        pec_panic("gnutls_x509_crt_init failed");
    /* set_dn_by_oid takes the raw value, so names with commas or dots need no escaping */
    r = gnutls_x509_crt_set_version(crt, 3);
    if (r == 0)
        r = gnutls_x509_crt_set_serial(crt, serial, sizeof(serial));
    if (r == 0)
        r = gnutls_x509_crt_set_key(crt, key);
    if (r == 0)
        r = gnutls_x509_crt_set_activation_time(crt, now - 3600);
    if (r == 0)
        r = gnutls_x509_crt_set_expiration_time(crt, now - 3600 + years * YEAR_SECONDS);
    if (r == 0 && org != NULL)
        r = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_ORGANIZATION_NAME, 0, org, strlen(org));
    if (r == 0)
        r = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn, strlen(cn));
    if (r == 0)
        r = gnutls_x509_crt_get_key_id(crt, 0, ski, &ski_len);
    if (r == 0)
        r = gnutls_x509_crt_set_subject_key_id(crt, ski, ski_len);
    if (r < 0)
        pec_panic("building test certificate failed: %s", gnutls_strerror(r));
    return crt;
}

/* drop_old_crl - remove dir/ca.crl: a CRL of the CA just replaced carries the old key's entries */
static int drop_old_crl(const char *dir, struct pec_error *err)
{
    char path[4096];

    if (join(path, sizeof(path), dir, "ca", ".crl", err) < 0)
        return -1;
    if (unlink(path) < 0 && errno != ENOENT) {
        pec_error_set(err, PEC_ERR_INTERNAL, "cannot remove %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* pec_testca_create - write ca.pem/ca.key (self-signed test CA) into dir, remove its old ca.crl */
int pec_testca_create(const char *dir, const char *ca_name, time_t now, struct pec_error *err)
{
    char crt_path[4096], key_path[4096];
    gnutls_x509_privkey_t key;
    gnutls_x509_crt_t crt;
    int r, ret = -1;

    if (join(crt_path, sizeof(crt_path), dir, "ca", ".pem", err) < 0 ||
        join(key_path, sizeof(key_path), dir, "ca", ".key", err) < 0)
        return -1;
    key = new_key();
    crt = new_crt(key, NULL, ca_name, now, CA_YEARS);
    r = gnutls_x509_crt_set_basic_constraints(crt, 1, -1);
    if (r == 0)
        r = gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN);
    if (r == 0)
        r = gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0);
    if (r < 0) {
        pec_error_set(err, PEC_ERR_INTERNAL, "creating test CA failed: %s", gnutls_strerror(r));
        goto done;
    }
    if (write_key(key_path, key, err) == 0 && write_crt(crt_path, crt, err) == 0 && drop_old_crl(dir, err) == 0)
        ret = 0;
done:
    gnutls_x509_crt_deinit(crt);
    gnutls_x509_privkey_deinit(key);
    return ret;
}

/* load_ca - read dir's ca.pem and ca.key */
static int load_ca(const char *dir, gnutls_x509_crt_t *crt, gnutls_x509_privkey_t *key, struct pec_error *err)
{
    char path[4096];
    gnutls_datum_t pem = { NULL, 0 };
    int r;

    if (gnutls_x509_crt_init(crt) < 0 || gnutls_x509_privkey_init(key) < 0)
        pec_panic("gnutls init failed");
    if (join(path, sizeof(path), dir, "ca", ".pem", err) < 0)
        return -1;
    if ((r = gnutls_load_file(path, &pem)) < 0 || (r = gnutls_x509_crt_import(*crt, &pem, GNUTLS_X509_FMT_PEM)) < 0)
        goto fail;
    gnutls_free(pem.data);
    pem.data = NULL;
    if (join(path, sizeof(path), dir, "ca", ".key", err) < 0)
        return -1;
    if ((r = gnutls_load_file(path, &pem)) < 0 ||
        (r = gnutls_x509_privkey_import2(*key, &pem, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0)
        goto fail;
    gnutls_free(pem.data);
    return 0;

fail:
    gnutls_free(pem.data);
    pec_error_set(err, PEC_ERR_INVALID, "cannot load test CA %s: %s", path, gnutls_strerror(r));
    return -1;
}

/* pec_testca_create_intermediate - a sub-CA in dir, signed by parent_dir's CA */
int pec_testca_create_intermediate(const char *dir, const char *parent_dir, const char *ca_name, time_t now,
                                   struct pec_error *err)
{
    char crt_path[4096], key_path[4096];
    gnutls_x509_crt_t parent_crt = NULL, crt;
    gnutls_x509_privkey_t parent_key = NULL, key;
    unsigned char aki[64];
    size_t aki_len = sizeof(aki);
    int r, ret = -1;

    if (join(crt_path, sizeof(crt_path), dir, "ca", ".pem", err) < 0 ||
        join(key_path, sizeof(key_path), dir, "ca", ".key", err) < 0)
        return -1;
    if (load_ca(parent_dir, &parent_crt, &parent_key, err) < 0) {
        gnutls_x509_crt_deinit(parent_crt);
        gnutls_x509_privkey_deinit(parent_key);
        return -1;
    }
    key = new_key();
    crt = new_crt(key, NULL, ca_name, now, CA_YEARS);
    r = gnutls_x509_crt_set_basic_constraints(crt, 1, 0);
    if (r == 0)
        r = gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN);
    if (r == 0)
        r = gnutls_x509_crt_get_subject_key_id(parent_crt, aki, &aki_len, NULL);
    if (r == 0)
        r = gnutls_x509_crt_set_authority_key_id(crt, aki, aki_len);
    if (r == 0)
        r = gnutls_x509_crt_sign2(crt, parent_crt, parent_key, GNUTLS_DIG_SHA256, 0);
    if (r < 0) {
        pec_error_set(err, PEC_ERR_INTERNAL, "creating test sub-CA failed: %s", gnutls_strerror(r));
        goto done;
    }
    if (write_key(key_path, key, err) == 0 && write_crt(crt_path, crt, err) == 0 && drop_old_crl(dir, err) == 0)
        ret = 0;
done:
    gnutls_x509_crt_deinit(crt);
    gnutls_x509_privkey_deinit(key);
    gnutls_x509_crt_deinit(parent_crt);
    gnutls_x509_privkey_deinit(parent_key);
    return ret;
}

/* pec_testca_issue - issue a provider signing certificate signed by dir's CA (<stem>.pem/.key) */
int pec_testca_issue(const char *dir, const char *stem, const char *provider_name, const char *email,
                     time_t now, struct pec_error *err)
{
    return pec_testca_issue_with_crl_url(dir, stem, provider_name, email, NULL, now, err);
}

/* pec_testca_issue_with_crl_url - the same, with a CRL distribution point when crl_url is given */
int pec_testca_issue_with_crl_url(const char *dir, const char *stem, const char *provider_name, const char *email,
                                  const char *crl_url, time_t now, struct pec_error *err)
{
    char crt_path[4096], key_path[4096], cn[512];
    gnutls_x509_crt_t ca_crt = NULL, crt = NULL;
    gnutls_x509_privkey_t ca_key = NULL, key = NULL;
    unsigned char aki[64];
    size_t aki_len = sizeof(aki);
    int r, ret = -1;

    if (join(crt_path, sizeof(crt_path), dir, stem, ".pem", err) < 0 ||
        join(key_path, sizeof(key_path), dir, stem, ".key", err) < 0)
        return -1;
    if ((size_t)snprintf(cn, sizeof(cn), "Posta Certificata %s", provider_name) >= sizeof(cn)) {
        pec_error_set(err, PEC_ERR_INVALID, "provider name too long");
        return -1;
    }
    if (load_ca(dir, &ca_crt, &ca_key, err) < 0)
        goto done;

    key = new_key();
    crt = new_crt(key, provider_name, cn, now, PROVIDER_YEARS);
    r = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_RFC822NAME, email, (unsigned int)strlen(email),
                                             GNUTLS_FSAN_SET);
    if (r == 0)
        r = gnutls_x509_crt_set_basic_constraints(crt, 0, -1);
    if (r == 0)
        r = gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE);
    /* openssl's smimesign purpose wants emailProtection (or no EKU at all) */
    if (r == 0)
        r = gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_EMAIL_PROTECTION, 0);
    if (r == 0)
        r = gnutls_x509_crt_get_subject_key_id(ca_crt, aki, &aki_len, NULL);
    if (r == 0)
        r = gnutls_x509_crt_set_authority_key_id(crt, aki, aki_len);
    if (r == 0 && crl_url != NULL)
        r = gnutls_x509_crt_set_crl_dist_points(crt, GNUTLS_SAN_URI, crl_url, 0);
    if (r == 0)
        r = gnutls_x509_crt_sign2(crt, ca_crt, ca_key, GNUTLS_DIG_SHA256, 0);
    if (r < 0) {
        pec_error_set(err, PEC_ERR_INTERNAL, "issuing test certificate failed: %s", gnutls_strerror(r));
        goto done;
    }
    if (write_key(key_path, key, err) == 0 && write_crt(crt_path, crt, err) == 0)
        ret = 0;
done:
    gnutls_x509_crt_deinit(crt);
    gnutls_x509_privkey_deinit(key);
    gnutls_x509_crt_deinit(ca_crt);
    gnutls_x509_privkey_deinit(ca_key);
    return ret;
}

/* load_old_crl - dir's current ca.crl, or NULL when there is none yet (-1 when it is unreadable) */
static int load_old_crl(const char *path, gnutls_x509_crl_t *crl, struct pec_error *err)
{
    gnutls_datum_t pem = { NULL, 0 };
    int r;

    *crl = NULL;
    if (access(path, F_OK) < 0 && errno == ENOENT)
        return 0;
    if (gnutls_x509_crl_init(crl) < 0)
        pec_panic("gnutls_x509_crl_init failed");
    if ((r = gnutls_load_file(path, &pem)) < 0 || (r = gnutls_x509_crl_import(*crl, &pem, GNUTLS_X509_FMT_PEM)) < 0) {
        gnutls_free(pem.data);
        gnutls_x509_crl_deinit(*crl);
        *crl = NULL;
        pec_error_set(err, PEC_ERR_INVALID, "cannot load test CRL %s: %s", path, gnutls_strerror(r));
        return -1;
    }
    gnutls_free(pem.data);
    return 0;
}

/* copy_entries - the revoked serials of old into crl, skipping skip (the one being added again) */
static int copy_entries(gnutls_x509_crl_t old, gnutls_x509_crl_t crl, const unsigned char *skip, size_t skip_len)
{
    gnutls_x509_crl_iter_t iter = NULL;
    unsigned char serial[64];
    size_t len;
    time_t when;
    int r;

    for (;;) {
        len = sizeof(serial);
        r = gnutls_x509_crl_iter_crt_serial(old, &iter, serial, &len, &when);
        if (r == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) {
            r = 0;
            break;
        }
        if (r < 0)
            break;
        if (skip != NULL && len == skip_len && memcmp(serial, skip, len) == 0)
            continue;
        if ((r = gnutls_x509_crl_set_crt_serial(crl, serial, len, when)) < 0)
            break;
    }
    gnutls_x509_crl_iter_deinit(iter);
    return r;
}

/* next_number - the old CRL's cRLNumber plus one (1 for the first CRL), as 8 big-endian bytes */
static void next_number(gnutls_x509_crl_t old, unsigned char out[8])
{
    unsigned char nr[32];
    size_t len = sizeof(nr), i;
    unsigned long long n = 0;

    if (old != NULL && gnutls_x509_crl_get_number(old, nr, &len, NULL) >= 0 && len <= 8)
        for (i = 0; i < len; i++)
            n = n << 8 | nr[i];
    n++;
    for (i = 0; i < 8; i++)
        out[i] = (unsigned char)(n >> (8 * (7 - i)));
}

/* resign_crl - write dir/ca.crl: the old entries, plus serial (revoked at revoked_at) when given */
static int resign_crl(const char *dir, const unsigned char *serial, size_t serial_len, time_t revoked_at,
                      time_t this_update, time_t next_update, struct pec_error *err)
{
    char path[4096];
    gnutls_x509_crt_t ca_crt = NULL;
    gnutls_x509_privkey_t ca_key = NULL;
    gnutls_x509_crl_t old = NULL, crl = NULL;
    gnutls_datum_t pem = { NULL, 0 };
    unsigned char aki[64], number[8];
    size_t aki_len = sizeof(aki);
    int r, ret = -1;

    if (join(path, sizeof(path), dir, "ca", ".crl", err) < 0)
        return -1;
    if (load_ca(dir, &ca_crt, &ca_key, err) < 0 || load_old_crl(path, &old, err) < 0)
        goto done;
    if (gnutls_x509_crl_init(&crl) < 0)
        pec_panic("gnutls_x509_crl_init failed");
    next_number(old, number);
    r = gnutls_x509_crl_set_version(crl, 2);
    if (r == 0 && old != NULL)
        r = copy_entries(old, crl, serial, serial_len);
    if (r == 0 && serial != NULL)
        r = gnutls_x509_crl_set_crt_serial(crl, serial, serial_len, revoked_at);
    if (r == 0)
        r = gnutls_x509_crl_set_this_update(crl, this_update);
    if (r == 0)
        r = gnutls_x509_crl_set_next_update(crl, next_update);
    if (r == 0)
        r = gnutls_x509_crl_set_number(crl, number, sizeof(number));
    if (r == 0)
        r = gnutls_x509_crt_get_subject_key_id(ca_crt, aki, &aki_len, NULL);
    if (r == 0)
        r = gnutls_x509_crl_set_authority_key_id(crl, aki, aki_len);
    if (r == 0)
        r = gnutls_x509_crl_sign2(crl, ca_crt, ca_key, GNUTLS_DIG_SHA256, 0);
    if (r == 0)
        r = gnutls_x509_crl_export2(crl, GNUTLS_X509_FMT_PEM, &pem);
    if (r < 0) {
        pec_error_set(err, PEC_ERR_INTERNAL, "signing test CRL failed: %s", gnutls_strerror(r));
        goto done;
    }
    ret = pec_file_replace(path, pem.data, pem.size, 0644, err);
done:
    gnutls_free(pem.data);
    gnutls_x509_crl_deinit(crl);
    gnutls_x509_crl_deinit(old);
    gnutls_x509_crt_deinit(ca_crt);
    gnutls_x509_privkey_deinit(ca_key);
    return ret;
}

/* pec_testca_revoke - list <stem>.pem in dir's CRL, revoked at now; the CRL is valid for 7 days */
int pec_testca_revoke(const char *dir, const char *stem, time_t now, struct pec_error *err)
{
    char path[4096];
    gnutls_datum_t pem = { NULL, 0 };
    gnutls_x509_crt_t crt;
    unsigned char serial[64];
    size_t len = sizeof(serial);
    int r;

    if (join(path, sizeof(path), dir, stem, ".pem", err) < 0)
        return -1;
    if (gnutls_x509_crt_init(&crt) < 0)
        pec_panic("gnutls_x509_crt_init failed");
    if ((r = gnutls_load_file(path, &pem)) < 0 || (r = gnutls_x509_crt_import(crt, &pem, GNUTLS_X509_FMT_PEM)) < 0 ||
        (r = gnutls_x509_crt_get_serial(crt, serial, &len)) < 0) {
        pec_error_set(err, PEC_ERR_INVALID, "cannot load certificate %s: %s", path, gnutls_strerror(r));
        gnutls_free(pem.data);
        gnutls_x509_crt_deinit(crt);
        return -1;
    }
    gnutls_free(pem.data);
    gnutls_x509_crt_deinit(crt);
    return resign_crl(dir, serial, len, now, now, now + CRL_DAYS * 86400L, err);
}

/* pec_testca_write_crl - re-sign dir's CRL with the given dates (stale or fresh on demand) */
int pec_testca_write_crl(const char *dir, time_t this_update, time_t next_update, struct pec_error *err)
{
    return resign_crl(dir, NULL, 0, 0, this_update, next_update, err);
}
