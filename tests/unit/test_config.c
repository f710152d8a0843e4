/* test_config.c - the configuration file: defaults, quoting, comments, repeated keys and every error,
 * which must name the file and the line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "check.h"
#include "pec/config.h"
#include "pec/ident.h"

#define REQUIRED                                                                                    \
    "provider_name = Gestore Esempio S.p.A.\n"                                                      \
    "mail_domain = pec-esempio.test\n"                                                              \
    "managed_domains = pec-esempio.test\n"                                                          \
    "cert_file = /etc/pec/provider.pem\n"                                                           \
    "key_file = /etc/pec/provider.key\n"

/* parse - parse a NUL-terminated text */
static const struct pec_config *parse(const char *text, struct pec_error *err)
{
    return pec_config_parse(text, strlen(text), "test.conf", err);
}

/* test_full - every key, comments, blank lines, quotes, repeated trust_file */
static void test_full(void)
{
    static const char text[] =
        "# configurazione del gestore\n"
        "\n"
        "   # indented comment\n"
        "provider_name = \"Gestore A S.p.A.\"\n"
        "mail_domain=pec.gestore-a.test\r\n"
        "\t\n"
        "managed_domains = PEC.Gestore-A.test, clienti.test  altri.test\n"
        "cert_file = \"/etc/pec/a cert.pem\"\n"
        "key_file = /etc/pec/a.key\n"
        "chain_file = /etc/pec/chain.pem\n"
        "trust_file = /etc/pec/ca1.pem\n"
        "trust_file = \"/etc/pec/ca2.pem\"\n"
        "index_file = /var/lib/pec/indice.ldif.p7m\n"
        "sign_digest = sha1\n"
        "node_id = 9999\n"
        "max_recipients = 50\n"
        "max_message_size = 31457280\n"
        "userdb_socket = /run/dovecot/auth-userdb\n"
        "userdb_cache = 5\n"
        "database = \"host=db dbname=pec user=pec\"\n"
        "service_address = ricevute@pec.gestore-a.test\n";
    struct pec_error err = { 0 };
    const struct pec_config *cfg = parse(text, &err);

    CHECK(cfg != NULL);
    if (cfg == NULL) {
        fprintf(stderr, "full: %s\n", err.msg);
        return;
    }
    CHECK_STR(cfg->path, "test.conf");
    CHECK_STR(cfg->provider_name, "Gestore A S.p.A.");
    CHECK_STR(cfg->mail_domain, "pec.gestore-a.test");
    CHECK_STR(cfg->service_address, "ricevute@pec.gestore-a.test");
    CHECK(cfg->n_managed_domains == 3);
    if (cfg->n_managed_domains == 3) {
        CHECK_STR(cfg->managed_domains[0], "pec.gestore-a.test");
        CHECK_STR(cfg->managed_domains[1], "clienti.test");
        CHECK_STR(cfg->managed_domains[2], "altri.test");
    }
    CHECK_STR(cfg->cert_file, "/etc/pec/a cert.pem");
    CHECK_STR(cfg->key_file, "/etc/pec/a.key");
    CHECK_STR(cfg->chain_file, "/etc/pec/chain.pem");
    CHECK(cfg->n_trust_files == 2);
    if (cfg->n_trust_files == 2) {
        CHECK_STR(cfg->trust_files[0], "/etc/pec/ca1.pem");
        CHECK_STR(cfg->trust_files[1], "/etc/pec/ca2.pem");
    }
    CHECK_STR(cfg->index_file, "/var/lib/pec/indice.ldif.p7m");
    CHECK(cfg->sign_digest == PEC_DIGEST_SHA1);
    CHECK(cfg->node_id == 9999);
    CHECK(cfg->max_recipients == 50);
    CHECK(cfg->max_message_size == 31457280ULL);
    CHECK_STR(cfg->userdb_socket, "/run/dovecot/auth-userdb");
    CHECK(cfg->userdb_cache == 5);
    CHECK_STR(cfg->database, "host=db dbname=pec user=pec");
    CHECK(pec_config_manages(cfg, "pec.gestore-a.test") == 1);
    CHECK(pec_config_manages(cfg, "PEC.GESTORE-A.TEST") == 1);
    CHECK(pec_config_manages(cfg, "Clienti.Test") == 1);
    CHECK(pec_config_manages(cfg, "gestore-a.test") == 0);
    CHECK(pec_config_manages(cfg, "") == 0);
    pec_config_unref(&cfg);
    CHECK(cfg == NULL);
}

/* test_defaults - only the required keys */
static void test_defaults(void)
{
    struct pec_error err = { 0 };
    const struct pec_config *cfg = parse(REQUIRED, &err), *ref;

    CHECK(cfg != NULL);
    if (cfg == NULL) {
        fprintf(stderr, "defaults: %s\n", err.msg);
        return;
    }
    CHECK(cfg->sign_digest == PEC_DIGEST_SHA256);
    CHECK(cfg->max_recipients == 500);
    CHECK(cfg->max_message_size == 52428800ULL);
    CHECK(cfg->userdb_cache == 30 && cfg->userdb_socket == NULL);
    CHECK(cfg->node_id == 0);
    CHECK_STR(cfg->service_address, "posta-certificata@pec-esempio.test");
    CHECK(cfg->chain_file == NULL);
    CHECK(cfg->index_file == NULL);
    CHECK(cfg->database == NULL);
    CHECK(cfg->n_trust_files == 0);
    CHECK(cfg->n_managed_domains == 1);

    /* ref/unref: the snapshot survives until the last reference goes */
    ref = pec_config_ref(cfg);
    CHECK(ref == cfg);
    pec_config_unref(&cfg);
    CHECK(cfg == NULL);
    CHECK_STR(ref->provider_name, "Gestore Esempio S.p.A."); /* still alive (ASan would catch a free) */
    CHECK(pec_config_manages(ref, "PEC-ESEMPIO.TEST") == 1);
    pec_config_unref(&ref);
    CHECK(ref == NULL);
    pec_config_unref(&ref); /* NULL-safe */
    pec_config_unref(NULL);
}

/* expect_error - text must be refused with a message containing each of the fragments */
static void expect_error(const char *what, const char *text, size_t len, const char *frag1, const char *frag2)
{
    struct pec_error err = { 0 };
    const struct pec_config *cfg = pec_config_parse(text, len, "test.conf", &err);

    CHECK(cfg == NULL);
    CHECK(err.cls == PEC_ERR_INVALID);
    if (frag1 && strstr(err.msg, frag1) == NULL) {
        CHECK(!"error message lacks the expected fragment");
        fprintf(stderr, "  %s: \"%s\" lacks \"%s\"\n", what, err.msg, frag1);
    }
    if (frag2 && strstr(err.msg, frag2) == NULL) {
        CHECK(!"error message lacks the expected fragment");
        fprintf(stderr, "  %s: \"%s\" lacks \"%s\"\n", what, err.msg, frag2);
    }
    if (cfg)
        pec_config_unref(&cfg);
}

/* refused - expect_error on a NUL-terminated text */
static void refused(const char *what, const char *text, const char *frag1, const char *frag2)
{
    expect_error(what, text, strlen(text), frag1, frag2);
}

#define LONG63 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.test" /* 63 characters */

/* test_errors - each problem names file and line */
static void test_errors(void)
{
    static const char nul_text[] = REQUIRED "database = a\0b\n";

    refused("unknown key", REQUIRED "# c\nfoo_bar = 1\n", "test.conf:7", "foo_bar");
    refused("repeated key", REQUIRED "\nmail_domain = other.test\n", "test.conf:7", "mail_domain");
    refused("repeated list", REQUIRED "managed_domains = b.test\n", "test.conf:6", "managed_domains");
    refused("bad number", REQUIRED "max_recipients = 12abc\n", "test.conf:6", "max_recipients");
    refused("negative number", REQUIRED "max_message_size = -5\n", "test.conf:6", "max_message_size");
    refused("huge number", REQUIRED "max_recipients = 99999999999999999999999\n", "test.conf:6", "max_recipients");
    refused("cache too long", REQUIRED "userdb_cache = 3601\n", "test.conf:6", "userdb_cache");
    refused("node_id 10000", "node_id = 10000\n" REQUIRED, "test.conf:1", "node_id");
    refused("bad digest", REQUIRED "sign_digest = md5\n", "test.conf:6", "sign_digest");
    refused("bad mail_domain", "provider_name = X\nmail_domain = pec_esempio.test\n", "test.conf:2", "mail_domain");
    refused("mail_domain too long for identifiers", "mail_domain = a" LONG63 "\n", "test.conf:1", "mail_domain");
    refused("bad managed domain", "managed_domains = a.test, b/c.test\n", "test.conf:1", "managed_domains");
    refused("empty managed domains", "managed_domains = \" , \"\n", "test.conf:1", "managed_domains");
    refused("empty value", "provider_name = \"\"\n", "test.conf:1", "provider_name");
    refused("missing key_file", "provider_name = X\nmail_domain = a.test\nmanaged_domains = a.test\ncert_file = c\n",
            "test.conf", "key_file");
    refused("empty file", "", "test.conf", "provider_name");
    refused("no equals", REQUIRED "\n\njust some words\n", "test.conf:8", "key = value");
    refused("submit_address without a port", REQUIRED "submit_address = 127.0.0.1\n", "test.conf:6", "submit_address");
    refused("submit_address with a host name", REQUIRED "submit_address = localhost:10025\n", "test.conf:6",
            "submit_address");
    refused("submit_address port 0", REQUIRED "submit_address = 127.0.0.1:0\n", "test.conf:6", "submit_address");
    refused("clamd_socket relative path", REQUIRED "clamd_socket = run/clamd.ctl\n", "test.conf:6", "clamd_socket");
    expect_error("NUL byte", nul_text, sizeof(nul_text) - 1, "test.conf:6", "NUL");
    /* the line count goes on across comments and CRLF lines */
    refused("CRLF lines", "# a\r\n\r\nprovider_name = X\r\nbogus\r\n", "test.conf:4", NULL);
}

/* test_domain_lengths - the longest mail domain accepted still makes identifiers */
static void test_domain_lengths(void)
{
    static const char text[] = "provider_name = X\nmail_domain = " LONG63 "\n"
                               "managed_domains = a.test\ncert_file = c\nkey_file = k\n";
    struct pec_error err = { 0 };
    const struct pec_config *cfg = parse(text, &err);
    struct pec_idgen *g;
    char id[PEC_ID_MAX];

    CHECK(cfg != NULL);
    if (cfg == NULL)
        return;
    CHECK(strlen(cfg->mail_domain) == 63);
    g = pec_idgen_new(9999, cfg->mail_domain);
    pec_idgen_next(g, (time_t)4102444799, id);
    CHECK(strlen(id) < PEC_ID_MAX - 1 && strstr(id, cfg->mail_domain) != NULL);
    pec_idgen_free(&g);
    pec_config_unref(&cfg);
}

/* test_load - from a file, and a file that does not exist */
static void test_load(void)
{
    char path[] = "/tmp/pec-test-config-XXXXXX";
    struct pec_error err = { 0 };
    const struct pec_config *cfg;
    int fd = mkstemp(path);
    FILE *f;

    CHECK(fd >= 0);
    if (fd < 0)
        return;
    f = fdopen(fd, "w");
    fputs(REQUIRED "bogus line\n", f);
    fclose(f);
    cfg = pec_config_load(path, &err);
    CHECK(cfg == NULL);
    CHECK(strstr(err.msg, path) != NULL && strstr(err.msg, ":6") != NULL);
    f = fopen(path, "w");
    fputs(REQUIRED, f);
    fclose(f);
    cfg = pec_config_load(path, &err);
    CHECK(cfg != NULL);
    if (cfg) {
        CHECK_STR(cfg->path, path);
        pec_config_unref(&cfg);
    }
    unlink(path);
    cfg = pec_config_load(path, &err);
    CHECK(cfg == NULL);
    CHECK(strstr(err.msg, path) != NULL);
}

/* test_crl_keys - crl_file repeats, crl_stale takes warn|refuse, and a CRL needs an anchor */
static void test_crl_keys(void)
{
    struct pec_error err = { 0 };
    const struct pec_config *cfg =
        parse(REQUIRED "trust_file = /etc/pec/ca.pem\ncrl_file = /var/lib/pec/ca.crl\n"
                       "crl_file = \"/var/lib/pec/ca 2.crl\"\ncrl_stale = Refuse\n",
              &err);

    CHECK(cfg != NULL);
    if (cfg == NULL) {
        fprintf(stderr, "crl keys: %s\n", err.msg);
        return;
    }
    CHECK(cfg->n_crl_files == 2);
    if (cfg->n_crl_files == 2) {
        CHECK_STR(cfg->crl_files[0], "/var/lib/pec/ca.crl");
        CHECK_STR(cfg->crl_files[1], "/var/lib/pec/ca 2.crl");
    }
    CHECK(cfg->crl_stale_refuse == 1);
    pec_config_unref(&cfg);
    cfg = parse(REQUIRED "trust_file = /etc/pec/ca.pem\ncrl_file = /var/lib/pec/ca.crl\n", &err);
    CHECK(cfg != NULL && cfg->crl_stale_refuse == 0 && cfg->n_crl_files == 1);
    pec_config_unref(&cfg);
    cfg = parse(REQUIRED "crl_stale = warn\n", &err);
    CHECK(cfg != NULL && cfg->crl_stale_refuse == 0 && cfg->n_crl_files == 0);
    pec_config_unref(&cfg);
    refused("bad crl_stale", REQUIRED "crl_stale = ignore\n", "test.conf:6", "crl_stale");
    refused("empty crl_file", REQUIRED "crl_file = \"\"\n", "test.conf:6", "crl_file");
    refused("crl_file without trust_file", REQUIRED "crl_file = /var/lib/pec/ca.crl\n", "test.conf", "trust_file");
}

int main(void)
{
    test_full();
    test_defaults();
    test_errors();
    test_crl_keys();
    test_domain_lengths();
    test_load();
    return CHECK_DONE();
}
