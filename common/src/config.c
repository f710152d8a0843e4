/* config.c - parse the provider configuration file into an immutable, reference-counted snapshot. */
#include <ctype.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "pec/buf.h"
#include "pec/config.h"
#include "pec/log.h"
#include "pec/net.h"

/* The snapshot and its private bookkeeping; the public part comes first so it can be cast back. */
struct config_snapshot {
    struct pec_config pub;
    atomic_int refs;
    char **strings; /* every string the snapshot owns */
    size_t n_strings;
    char **domains, **trust, **crls;
    unsigned *key_lines; /* per key_table entry: the line it was (last) set on, 0 when unset */
};

/* keep - remember an owned string so unref can free it */
static char *keep(struct config_snapshot *c, const char *s, size_t len)
{
    char *copy = strndup(s, len);

    if (copy == NULL)
        pec_panic("out of memory");
    c->strings = realloc(c->strings, (c->n_strings + 1) * sizeof(*c->strings));
    if (c->strings == NULL)
        pec_panic("out of memory");
    c->strings[c->n_strings++] = copy;
    return copy;
}

/* push - append to a growable string array */
static char **push(char **arr, size_t *n, char *s)
{
    arr = realloc(arr, (*n + 2) * sizeof(*arr));
    if (arr == NULL)
        pec_panic("out of memory");
    arr[(*n)++] = s;
    arr[*n] = NULL;
    return arr;
}

/* parse_ulong - decimal number within [lo, hi] */
static int parse_ulong(const char *v, unsigned long long lo, unsigned long long hi, unsigned long long *r)
{
    char *end;

    if (!isdigit((unsigned char)*v))
        return -1;
    errno = 0;
    *r = strtoull(v, &end, 10);
    return (errno || *end || *r < lo || *r > hi) ? -1 : 0;
}

/* valid_domain - letters, digits, dots and hyphens only: these go into addresses and ids */
static int valid_domain(const char *d)
{
    if (*d == '\0' || strlen(d) > 253)
        return 0;
    for (; *d; d++)
        if (!isalnum((unsigned char)*d) && *d != '.' && *d != '-')
            return 0;
    return 1;
}

enum key_kind { K_STRING, K_DOMAIN, K_LIST_DOMAINS, K_REPEAT, K_DIGEST, K_NUMBER, K_ENDPOINT, K_BOOL, K_CRL_STALE };

struct key_spec {
    const char *name;
    enum key_kind kind;
    size_t offset;                /* of the field in struct pec_config */
    unsigned long long lo, hi;    /* K_NUMBER bounds */
};

#define OFF(f) offsetof(struct pec_config, f)
static const struct key_spec key_table[] = {
    { "provider_name", K_STRING, OFF(provider_name), 0, 0 },
    { "mail_domain", K_DOMAIN, OFF(mail_domain), 0, 0 },
    { "service_address", K_STRING, OFF(service_address), 0, 0 },
    { "managed_domains", K_LIST_DOMAINS, OFF(managed_domains), 0, 0 },
    { "cert_file", K_STRING, OFF(cert_file), 0, 0 },
    { "key_file", K_STRING, OFF(key_file), 0, 0 },
    { "chain_file", K_STRING, OFF(chain_file), 0, 0 },
    { "trust_file", K_REPEAT, OFF(trust_files), 0, 0 },
    { "crl_file", K_REPEAT, OFF(crl_files), 0, 0 },
    { "crl_stale", K_CRL_STALE, OFF(crl_stale_refuse), 0, 0 },
    { "index_file", K_STRING, OFF(index_file), 0, 0 },
    { "index_url", K_STRING, OFF(index_url), 0, 0 },
    { "sign_digest", K_DIGEST, OFF(sign_digest), 0, 0 },
    { "node_id", K_NUMBER, OFF(node_id), 0, 9999 },
    { "max_recipients", K_NUMBER, OFF(max_recipients), 1, 1000000 },
    { "max_message_size", K_NUMBER, OFF(max_message_size), 1024, 1ULL << 40 },
    { "database", K_STRING, OFF(database), 0, 0 },
    { "outbox_dir", K_STRING, OFF(outbox_dir), 0, 0 },
    { "marker_domain", K_DOMAIN, OFF(marker_domain), 0, 0 },
    { "submit_address", K_ENDPOINT, OFF(submit_address), 0, 0 },
    { "sendmail_command", K_STRING, OFF(sendmail_command), 0, 0 },
    { "mailbox_file", K_STRING, OFF(mailbox_file), 0, 0 },
    { "userdb_socket", K_STRING, OFF(userdb_socket), 0, 0 },
    { "userdb_cache", K_NUMBER, OFF(userdb_cache), 0, 3600 },
    { "quarantine_dir", K_STRING, OFF(quarantine_dir), 0, 0 },
    { "clamd_socket", K_ENDPOINT, OFF(clamd_socket), 0, 0 },
    { "allow_untraced", K_BOOL, OFF(allow_untraced), 0, 0 },
    { "allow_unscanned", K_BOOL, OFF(allow_unscanned), 0, 0 },
};

/* set_value - apply one key = value; -1 with err on a bad value */
static int set_value(struct config_snapshot *c, const struct key_spec *k, const char *v, const char *where,
                     struct pec_error *err)
{
    char *base = (char *)&c->pub;
    unsigned long long n;
    char *list, *tok, *save = NULL;

    switch (k->kind) {
    case K_ENDPOINT:
        if (!pec_net_endpoint_valid(v)) /* what pec_net_connect takes */
            goto bad;
        *(const char **)(base + k->offset) = keep(c, v, strlen(v));
        return 0;
    case K_DOMAIN:
        /* the mail domain ends every PEC identifier: longer ones do not fit PEC_ID_MAX (pec_idgen panics) */
        if (!valid_domain(v) || strlen(v) > 63)
            goto bad;
        /* fall through */
    case K_STRING:
        if (*v == '\0')
            goto bad;
        *(const char **)(base + k->offset) = keep(c, v, strlen(v));
        return 0;
    case K_LIST_DOMAINS:
        list = keep(c, v, strlen(v));
        for (tok = strtok_r(list, " ,\t", &save); tok; tok = strtok_r(NULL, " ,\t", &save)) {
            if (!valid_domain(tok))
                goto bad;
            for (char *p = tok; *p; p++)
                *p = (char)tolower((unsigned char)*p);
            c->domains = push(c->domains, &c->pub.n_managed_domains, tok);
        }
        if (c->pub.n_managed_domains == 0)
            goto bad;
        c->pub.managed_domains = (const char *const *)c->domains;
        return 0;
    case K_REPEAT:
        if (*v == '\0')
            goto bad;
        if (k->offset == OFF(crl_files)) {
            c->crls = push(c->crls, &c->pub.n_crl_files, keep(c, v, strlen(v)));
            c->pub.crl_files = (const char *const *)c->crls;
        } else {
            c->trust = push(c->trust, &c->pub.n_trust_files, keep(c, v, strlen(v)));
            c->pub.trust_files = (const char *const *)c->trust;
        }
        return 0;
    case K_BOOL:
        if (strcasecmp(v, "yes") == 0 || strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0)
            *(int *)(base + k->offset) = 1;
        else if (strcasecmp(v, "no") == 0 || strcasecmp(v, "false") == 0 || strcmp(v, "0") == 0)
            *(int *)(base + k->offset) = 0;
        else
            goto bad;
        return 0;
    case K_CRL_STALE:
        if (strcasecmp(v, "warn") != 0 && strcasecmp(v, "refuse") != 0)
            goto bad;
        c->pub.crl_stale_refuse = strcasecmp(v, "refuse") == 0;
        return 0;
    case K_DIGEST:
        if (strcasecmp(v, "sha256") == 0 || strcasecmp(v, "sha-256") == 0)
            c->pub.sign_digest = PEC_DIGEST_SHA256;
        else if (strcasecmp(v, "sha1") == 0 || strcasecmp(v, "sha-1") == 0)
            c->pub.sign_digest = PEC_DIGEST_SHA1;
        else
            goto bad;
        return 0;
    case K_NUMBER:
        if (parse_ulong(v, k->lo, k->hi, &n) < 0)
            goto bad;
        if (k->offset == OFF(node_id))
            c->pub.node_id = (unsigned)n;
        else if (k->offset == OFF(max_recipients))
            c->pub.max_recipients = (unsigned long)n;
        else if (k->offset == OFF(userdb_cache))
            c->pub.userdb_cache = (unsigned long)n;
        else
            c->pub.max_message_size = n;
        return 0;
    }
bad:
    pec_error_set(err, PEC_ERR_INVALID, "%s: bad value for %s: \"%s\"", where, k->name, v);
    return -1;
}

/* trim - strip surrounding blanks in place */
static char *trim(char *s)
{
    char *e;

    while (isspace((unsigned char)*s))
        s++;
    e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

/* parse_line - handle one line; -1 with err */
static int parse_line(struct config_snapshot *c, char *line, const char *where, unsigned lineno,
                      unsigned char *seen, struct pec_error *err)
{
    char *eq, *key, *val;
    size_t i, vl;

    line = trim(line);
    if (*line == '\0' || *line == '#')
        return 0;
    if ((eq = strchr(line, '=')) == NULL) {
        pec_error_set(err, PEC_ERR_INVALID, "%s: expected \"key = value\"", where);
        return -1;
    }
    *eq = '\0';
    key = trim(line);
    val = trim(eq + 1);
    vl = strlen(val);
    if (vl >= 2 && val[0] == '"' && val[vl - 1] == '"') {
        val[vl - 1] = '\0';
        val++;
    }
    for (i = 0; i < sizeof(key_table) / sizeof(key_table[0]); i++) {
        if (strcmp(key, key_table[i].name) != 0)
            continue;
        if (seen[i] && key_table[i].kind != K_REPEAT) {
            pec_error_set(err, PEC_ERR_INVALID, "%s: %s given twice", where, key);
            return -1;
        }
        seen[i] = 1;
        c->key_lines[i] = lineno;
        return set_value(c, &key_table[i], val, where, err);
    }
    pec_error_set(err, PEC_ERR_INVALID, "%s: unknown key \"%s\"", where, key);
    return -1;
}

/* free_snapshot - release everything a snapshot owns */
static void free_snapshot(struct config_snapshot *c)
{
    for (size_t i = 0; i < c->n_strings; i++)
        free(c->strings[i]);
    free(c->strings);
    free(c->domains);
    free(c->trust);
    free(c->crls);
    free(c->key_lines);
    free(c);
}

/* pec_config_parse - parse configuration text */
const struct pec_config *pec_config_parse(const char *text, size_t len, const char *name,
                                          struct pec_error *err)
{
    static const char *const required[] = { "provider_name", "mail_domain", "managed_domains", "cert_file",
                                            "key_file" };
    unsigned char seen[sizeof(key_table) / sizeof(key_table[0])] = { 0 };
    struct config_snapshot *c = calloc(1, sizeof(*c));
    size_t pos = 0, lineno = 0;
    char where[512];

    if (c == NULL)
        pec_panic("out of memory");
    atomic_init(&c->refs, 1);
    if ((c->key_lines = calloc(sizeof(key_table) / sizeof(key_table[0]), sizeof(*c->key_lines))) == NULL)
        pec_panic("out of memory");
    c->pub.path = keep(c, name, strlen(name));
    c->pub.sign_digest = PEC_DIGEST_SHA256;
    c->pub.max_recipients = 500;
    c->pub.userdb_cache = 30;
    c->pub.max_message_size = 52428800ULL;
    while (pos < len) {
        size_t end = pos;
        char *line;
        int rc;

        while (end < len && text[end] != '\n')
            end++;
        lineno++;
        snprintf(where, sizeof(where), "%s:%zu", name, lineno);
        if (memchr(text + pos, '\0', end - pos)) {
            pec_error_set(err, PEC_ERR_INVALID, "%s: NUL byte in line", where);
            free_snapshot(c);
            return NULL;
        }
        line = strndup(text + pos, end - pos);
        if (line == NULL)
            pec_panic("out of memory");
        rc = parse_line(c, line, where, (unsigned)lineno, seen, err);
        free(line);
        if (rc < 0) {
            free_snapshot(c);
            return NULL;
        }
        pos = end + 1;
    }
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
        for (size_t k = 0; k < sizeof(key_table) / sizeof(key_table[0]); k++) {
            if (strcmp(key_table[k].name, required[i]) == 0 && !seen[k]) {
                pec_error_set(err, PEC_ERR_INVALID, "%s: required key \"%s\" missing", name, required[i]);
                free_snapshot(c);
                return NULL;
            }
        }
    }
    /* a CRL is only ever checked against a trust anchor: without one it would silently check nothing */
    if (c->pub.n_crl_files > 0 && c->pub.n_trust_files == 0) {
        pec_error_set(err, PEC_ERR_INVALID, "%s: crl_file given without any trust_file (the CA that signs the CRL)",
                      name);
        free_snapshot(c);
        return NULL;
    }
    if (c->pub.sendmail_command == NULL)
        c->pub.sendmail_command = keep(c, "/usr/sbin/sendmail", strlen("/usr/sbin/sendmail"));
    if (c->pub.service_address == NULL) {
        struct pec_buf b = PEC_BUF_INIT;
        pec_buf_printf(&b, "posta-certificata@%s", c->pub.mail_domain);
        c->pub.service_address = keep(c, b.data, b.len);
        pec_buf_release(&b);
    }
    return &c->pub;
}

/* pec_config_load - read a configuration file */
const struct pec_config *pec_config_load(const char *path, struct pec_error *err)
{
    struct pec_buf b = PEC_BUF_INIT;
    const struct pec_config *cfg;
    char chunk[8192];
    size_t n;
    FILE *f = fopen(path, "r");

    if (f == NULL) {
        pec_error_set(err, PEC_ERR_INVALID, "%s: %s", path, strerror(errno));
        return NULL;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        pec_buf_append(&b, chunk, n);
    fclose(f);
    cfg = pec_config_parse(b.data ? b.data : "", b.len, path, err);
    pec_buf_release(&b);
    return cfg;
}

/* pec_config_ref - take another reference */
const struct pec_config *pec_config_ref(const struct pec_config *cfg)
{
    struct config_snapshot *c = (struct config_snapshot *)cfg;

    atomic_fetch_add(&c->refs, 1);
    return cfg;
}

/* pec_config_unref - drop a reference */
void pec_config_unref(const struct pec_config **cfg)
{
    struct config_snapshot *c;

    if (cfg == NULL || *cfg == NULL)
        return;
    c = (struct config_snapshot *)*cfg;
    *cfg = NULL;
    if (atomic_fetch_sub(&c->refs, 1) == 1)
        free_snapshot(c);
}

/* pec_config_manages - is domain one of ours */
int pec_config_manages(const struct pec_config *cfg, const char *domain)
{
    for (size_t i = 0; i < cfg->n_managed_domains; i++)
        if (strcasecmp(cfg->managed_domains[i], domain) == 0)
            return 1;
    return 0;
}

/* pec_config_key_line - where key was set, for messages that point at the line */
unsigned pec_config_key_line(const struct pec_config *cfg, const char *key)
{
    const struct config_snapshot *c = (const struct config_snapshot *)cfg;

    for (size_t i = 0; i < sizeof(key_table) / sizeof(key_table[0]); i++)
        if (strcmp(key_table[i].name, key) == 0)
            return c->key_lines[i];
    return 0;
}
