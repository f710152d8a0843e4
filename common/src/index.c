/* index.c - the PEC provider index (indice dei gestori) read from LDIF, plain or CMS-signed (.p7m).
 *
 * The parser covers the RFC 2849 subset the index uses: entries separated by blank lines, comments,
 * folded lines, "attr: value", "attr:: base64" and attribute options (";binary").  Once built the index
 * is immutable; lookups go through sorted tables of lower-case keys.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <glib.h>
#include "pec/index.h"
#include "pec/log.h"
#include "pec/smime.h"

#define LDIF_COLUMNS 76

struct cert {
    unsigned char *der;
    size_t len;
};

struct pec_provider {
    char *dn;
    char *name;
    char *mail_receipt;
    char *unit;
    char *url;
    char **domains; /* lower-case */
    size_t n_domains;
    char (*hashes)[41]; /* lower-case hex */
    size_t n_hashes;
    struct cert *certs;
    size_t n_certs;
};

/* one row of a lookup table: a lower-case key owned by a provider */
struct key_ref {
    const char *key;
    size_t provider;
};

struct pec_index {
    struct pec_provider *providers;
    size_t n;
    struct key_ref *by_domain;
    size_t n_domain;
    struct key_ref *by_hash;
    size_t n_hash;
};

/* one attribute of an LDIF entry being read */
struct attr {
    char *name; /* lower-case, options stripped */
    struct pec_buf value;
};

struct entry {
    struct attr *attrs;
    size_t n, cap;
    size_t line; /* where the entry starts, for messages without a dn */
};

struct reader {
    const char *data;
    size_t len, pos, line;
};

/* xmalloc - malloc that never returns NULL */
static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (p == NULL)
        pec_panic("out of memory (%zu bytes)", n);
    return p;
}

/* xgrow - make room for one more element in a growable array */
static void *xgrow(void *arr, size_t n, size_t *cap, size_t size)
{
    if (n < *cap)
        return arr;
    *cap = *cap ? *cap * 2 : 8;
    arr = realloc(arr, *cap * size);
    if (arr == NULL)
        pec_panic("out of memory");
    return arr;
}

/* xstrdup - strdup that never returns NULL */
static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;

    return memcpy(xmalloc(n), s, n);
}

/* lower_dup - a lower-case copy */
static char *lower_dup(const char *s)
{
    char *d = xstrdup(s), *p;

    for (p = d; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return d;
}

/* b64_decode - g_base64_decode, but strict as LDIF wants (-1 on a character GLib would skip) and, like
 * before, tolerant of blanks and missing '=' (GLib needs whole groups of four; a lone digit is no byte) */
static int b64_decode(const char *s, size_t len, struct pec_buf *out)
{
    struct pec_buf digits = PEC_BUF_INIT;
    size_t i, n = 0;

    for (i = 0; i < len && s[i] != '='; i++) {
        if (s[i] == ' ' || s[i] == '\t')
            continue;
        if (!g_ascii_isalnum(s[i]) && s[i] != '+' && s[i] != '/') {
            pec_buf_release(&digits);
            return -1;
        }
        pec_buf_append(&digits, &s[i], 1);
    }
    for (; i < len; i++)
        if (s[i] != '=' && s[i] != ' ' && s[i] != '\t') {
            pec_buf_release(&digits);
            return -1;
        }
    if (digits.len % 4 == 1)
        digits.len--;
    while (digits.len % 4 != 0)
        pec_buf_append(&digits, "=", 1);
    if (digits.len > 0) {
        guchar *bytes = g_base64_decode(digits.data, &n);

        pec_buf_append(out, bytes, n);
        g_free(bytes);
    }
    pec_buf_release(&digits);
    return 0;
}

/* b64_encode - append the base64 of data to out, unfolded */
static void b64_encode(const unsigned char *p, size_t len, struct pec_buf *out)
{
    gchar *b64 = g_base64_encode(p, len);

    pec_buf_puts(out, b64);
    g_free(b64);
}

/* phys_line - the next physical line without its line end; 0 at the end of input */
static int phys_line(struct reader *r, const char **p, size_t *n)
{
    const char *nl;
    size_t len;

    if (r->pos >= r->len)
        return 0;
    *p = r->data + r->pos;
    nl = memchr(*p, '\n', r->len - r->pos);
    len = nl ? (size_t)(nl - *p) : r->len - r->pos;
    r->pos += len + (nl != NULL);
    r->line++;
    if (len > 0 && (*p)[len - 1] == '\r')
        len--;
    *n = len;
    return 1;
}

/* logical_line - the next line with its continuation lines (leading space) joined; 0 at the end */
static int logical_line(struct reader *r, struct pec_buf *out, size_t *lineno)
{
    const char *p;
    size_t n;
    int blank;

    if (!phys_line(r, &p, &n))
        return 0;
    *lineno = r->line;
    pec_buf_reset(out);
    pec_buf_append(out, p, n);
    /* a blank line ends the entry: nothing folds into it */
    blank = n == 0;
    while (!blank && r->pos < r->len && r->data[r->pos] == ' ' && phys_line(r, &p, &n))
        pec_buf_append(out, p + 1, n - 1);
    return 1;
}

/* entry_clear - free the attributes of an entry and empty it */
static void entry_clear(struct entry *e)
{
    size_t i;

    for (i = 0; i < e->n; i++) {
        free(e->attrs[i].name);
        pec_buf_release(&e->attrs[i].value);
    }
    e->n = 0;
}

/* parse_attr_line - add "name[;opts]: value" / "name:: base64" to the entry */
static int parse_attr_line(struct entry *e, const char *line, size_t len, size_t lineno, struct pec_error *err)
{
    const char *colon = memchr(line, ':', len), *v, *end = line + len, *semi;
    size_t name_len, i;
    struct attr *a;

    if (colon == NULL || colon == line) {
        pec_error_set(err, PEC_ERR_INVALID, "LDIF line %zu: expected \"attribute: value\"", lineno);
        return -1;
    }
    name_len = (size_t)(colon - line);
    for (i = 0; i < name_len; i++)
        if (!isalnum((unsigned char)line[i]) && line[i] != '-' && line[i] != ';' && line[i] != '.') {
            pec_error_set(err, PEC_ERR_INVALID, "LDIF line %zu: bad attribute name", lineno);
            return -1;
        }
    semi = memchr(line, ';', name_len);
    if (semi != NULL) /* options such as ";binary" do not change the meaning */
        name_len = (size_t)(semi - line);

    e->attrs = xgrow(e->attrs, e->n, &e->cap, sizeof(*e->attrs));
    a = &e->attrs[e->n++];
    a->name = xmalloc(name_len + 1);
    for (i = 0; i < name_len; i++)
        a->name[i] = (char)tolower((unsigned char)line[i]);
    a->name[name_len] = '\0';
    a->value = (struct pec_buf)PEC_BUF_INIT;
    pec_buf_append(&a->value, "", 0); /* always a C string, even when empty */

    v = colon + 1;
    if (v < end && *v == '<') {
        pec_error_set(err, PEC_ERR_INVALID, "LDIF line %zu: URL values are not supported", lineno);
        return -1;
    }
    if (v < end && *v == ':') {
        if (b64_decode(v + 1, (size_t)(end - v - 1), &a->value) < 0) {
            pec_error_set(err, PEC_ERR_INVALID, "LDIF line %zu: bad base64 value", lineno);
            return -1;
        }
        return 0;
    }
    while (v < end && *v == ' ')
        v++;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t')) /* stray blanks would defeat lookups */
        end--;
    pec_buf_append(&a->value, v, (size_t)(end - v));
    return 0;
}

/* first_value - the first value of an attribute (lower-case name), or NULL when absent or empty */
static const char *first_value(const struct entry *e, const char *name)
{
    size_t i;

    for (i = 0; i < e->n; i++)
        if (strcmp(e->attrs[i].name, name) == 0 && e->attrs[i].value.len > 0)
            return e->attrs[i].value.data;
    return NULL;
}

/* is_provider - the entry describes a provider (has providerName or objectClass provider) */
static int is_provider(const struct entry *e)
{
    size_t i;

    for (i = 0; i < e->n; i++) {
        if (strcmp(e->attrs[i].name, "providername") == 0)
            return 1;
        if (strcmp(e->attrs[i].name, "objectclass") == 0 && strcasecmp(e->attrs[i].value.data, "provider") == 0)
            return 1;
    }
    return 0;
}

/* is_sha1_hex - 40 hex digits */
static int is_sha1_hex(const char *s)
{
    size_t i;

    for (i = 0; i < 40; i++)
        if (!isxdigit((unsigned char)s[i]))
            return 0;
    return s[40] == '\0';
}

/* provider_free_fields - release what a provider owns */
static void provider_free_fields(struct pec_provider *p)
{
    size_t i;

    for (i = 0; i < p->n_domains; i++)
        free(p->domains[i]);
    for (i = 0; i < p->n_certs; i++)
        free(p->certs[i].der);
    free(p->domains);
    free(p->hashes);
    free(p->certs);
    free(p->dn);
    free(p->name);
    free(p->mail_receipt);
    free(p->unit);
    free(p->url);
    memset(p, 0, sizeof(*p));
}

/* provider_collect - the multi-valued attributes (domains, hashes, certificates) into p */
static int provider_collect(struct pec_provider *p, const struct entry *e, struct pec_error *err)
{
    size_t i, cap_d = 0, cap_h = 0, cap_c = 0;

    for (i = 0; i < e->n; i++) {
        const struct attr *a = &e->attrs[i];

        if (a->value.len == 0)
            continue;
        /* text values are used as C strings: a NUL would cut "pec.it\0x" to another domain silently */
        if (strcmp(a->name, "providercertificate") != 0 && memchr(a->value.data, '\0', a->value.len) != NULL) {
            pec_error_set(err, PEC_ERR_INVALID, "index entry \"%s\": %s holds a NUL byte", p->dn, a->name);
            return -1;
        }
        if (strcmp(a->name, "manageddomains") == 0) {
            p->domains = xgrow(p->domains, p->n_domains, &cap_d, sizeof(*p->domains));
            p->domains[p->n_domains++] = lower_dup(a->value.data);
        } else if (strcmp(a->name, "providercertificatehash") == 0) {
            char *h;

            if (!is_sha1_hex(a->value.data)) {
                pec_error_set(err, PEC_ERR_INVALID,
                              "index entry \"%s\": providerCertificateHash \"%.60s\" is not 40 hex digits",
                              p->dn, a->value.data);
                return -1;
            }
            p->hashes = xgrow(p->hashes, p->n_hashes, &cap_h, sizeof(*p->hashes));
            h = lower_dup(a->value.data);
            memcpy(p->hashes[p->n_hashes++], h, 41);
            free(h);
        } else if (strcmp(a->name, "providercertificate") == 0) {
            p->certs = xgrow(p->certs, p->n_certs, &cap_c, sizeof(*p->certs));
            p->certs[p->n_certs].len = a->value.len;
            p->certs[p->n_certs].der = memcpy(xmalloc(a->value.len), a->value.data, a->value.len);
            p->n_certs++;
        }
    }
    return 0;
}

/* provider_build - turn a provider entry into p; error naming the entry when incomplete */
static int provider_build(struct pec_provider *p, const struct entry *e, struct pec_error *err)
{
    const char *dn = first_value(e, "dn");
    const char *name = first_value(e, "providername");
    const char *receipt = first_value(e, "mailreceipt");
    const char *missing = NULL;
    char where[64];

    memset(p, 0, sizeof(*p));
    if (dn == NULL) {
        snprintf(where, sizeof(where), "(entry at line %zu)", e->line);
        dn = where;
    }
    p->dn = xstrdup(dn);
    if (provider_collect(p, e, err) < 0)
        goto fail;
    if (name == NULL)
        missing = "providerName";
    else if (receipt == NULL)
        missing = "mailReceipt";
    else if (p->n_domains == 0)
        missing = "managedDomains";
    else if (p->n_hashes == 0)
        missing = "providerCertificateHash";
    if (missing != NULL) {
        pec_error_set(err, PEC_ERR_INVALID, "index entry \"%s\": missing %s", p->dn, missing);
        goto fail;
    }
    p->name = xstrdup(name);
    p->mail_receipt = xstrdup(receipt);
    if (first_value(e, "providerunit"))
        p->unit = xstrdup(first_value(e, "providerunit"));
    if (first_value(e, "ldiflocationurl"))
        p->url = xstrdup(first_value(e, "ldiflocationurl"));
    return 0;

fail:
    provider_free_fields(p);
    return -1;
}

/* key_cmp - order of lookup-table rows: key, then provider position (first listed wins) */
static int key_cmp(const void *a, const void *b)
{
    const struct key_ref *x = a, *y = b;
    int c = strcmp(x->key, y->key);

    if (c != 0)
        return c;
    return x->provider < y->provider ? -1 : x->provider > y->provider;
}

/* build_tables - the sorted domain and hash tables of a complete index */
static void build_tables(struct pec_index *idx)
{
    size_t i, j, nd = 0, nh = 0;

    for (i = 0; i < idx->n; i++) {
        nd += idx->providers[i].n_domains;
        nh += idx->providers[i].n_hashes;
    }
    idx->by_domain = xmalloc(nd * sizeof(*idx->by_domain));
    idx->by_hash = xmalloc(nh * sizeof(*idx->by_hash));
    for (i = 0; i < idx->n; i++) {
        const struct pec_provider *p = &idx->providers[i];

        for (j = 0; j < p->n_domains; j++)
            idx->by_domain[idx->n_domain++] = (struct key_ref){ p->domains[j], i };
        for (j = 0; j < p->n_hashes; j++)
            idx->by_hash[idx->n_hash++] = (struct key_ref){ p->hashes[j], i };
    }
    qsort(idx->by_domain, idx->n_domain, sizeof(*idx->by_domain), key_cmp);
    qsort(idx->by_hash, idx->n_hash, sizeof(*idx->by_hash), key_cmp);
}

/* finish_entry - make a provider of a complete entry (other entries are skipped) */
static int finish_entry(struct pec_index *idx, size_t *cap, struct entry *e, struct pec_error *err)
{
    int r = 0;

    if (e->n > 0 && is_provider(e)) {
        idx->providers = xgrow(idx->providers, idx->n, cap, sizeof(*idx->providers));
        r = provider_build(&idx->providers[idx->n], e, err);
        if (r == 0)
            idx->n++;
    }
    entry_clear(e);
    return r;
}

/* pec_index_parse_ldif - parse LDIF text into an index */
struct pec_index *pec_index_parse_ldif(const void *ldif, size_t len, struct pec_error *err)
{
    struct pec_index *idx = xmalloc(sizeof(*idx));
    struct reader r = { ldif, len, 0, 0 };
    struct entry e = { NULL, 0, 0, 0 };
    struct pec_buf line = PEC_BUF_INIT;
    size_t cap = 0, lineno;
    int ok = 1, first = 1;

    memset(idx, 0, sizeof(*idx));
    while (ok && logical_line(&r, &line, &lineno)) {
        if (line.len == 0) {
            ok = finish_entry(idx, &cap, &e, err) == 0;
            continue;
        }
        if (line.data[0] == '#')
            continue;
        if (e.n == 0)
            e.line = lineno;
        ok = parse_attr_line(&e, line.data, line.len, lineno, err) == 0;
        /* "version: 1" heads the file (RFC 2849), it is not part of the first entry */
        if (ok && first && strcmp(e.attrs[0].name, "version") == 0)
            entry_clear(&e);
        first = 0;
    }
    if (ok)
        ok = finish_entry(idx, &cap, &e, err) == 0;
    entry_clear(&e);
    free(e.attrs);
    pec_buf_release(&line);
    if (!ok) {
        pec_index_free(&idx);
        return NULL;
    }
    build_tables(idx);
    return idx;
}

/* read_file - the whole file into out */
static int read_file(const char *path, struct pec_buf *out, struct pec_error *err)
{
    FILE *f = fopen(path, "rb");
    char chunk[65536];
    size_t n;
    int bad;

    if (f == NULL) {
        pec_error_set(err, PEC_ERR_INVALID, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        pec_buf_append(out, chunk, n);
    bad = ferror(f);
    fclose(f);
    if (bad) {
        pec_error_set(err, PEC_ERR_INTERNAL, "cannot read %s", path);
        return -1;
    }
    return 0;
}

/* pec_index_unwrap - the LDIF inside a signed index, once its signature is valid and trusted */
int pec_index_unwrap(const char *path, const void *der, size_t len, const struct pec_trust *trust, time_t now,
                     struct pec_buf *ldif, time_t *signed_at_r, struct pec_error *err)
{
    struct pec_sig_info info = { 0 };
    int ret = -1;

    if (signed_at_r != NULL)
        *signed_at_r = 0;
    if (pec_smime_verify_embedded(trust, der, len, now, ldif, &info, err) < 0)
        goto done;
    if (info.status != PEC_SIG_VALID)
        pec_error_set(err, PEC_ERR_INVALID, "%s: index signature is invalid: %s", path,
                      info.reason[0] ? info.reason : "no valid signature");
    else if (trust == NULL)
        /* a signature nobody can judge proves nothing: a signed index needs the anchors to verify it */
        pec_error_set(err, PEC_ERR_INVALID, "%s is signed but no trust anchors were given to verify it", path);
    else if (!info.trusted)
        pec_error_set(err, PEC_ERR_INVALID, "%s: index signature is not trusted: %s", path, info.reason);
    else
        ret = 0;
    if (ret == 0 && signed_at_r != NULL)
        *signed_at_r = info.signing_time;
done:
    pec_sig_info_clear(&info);
    return ret;
}

/* pec_index_load_file - read FILE.ldif, or FILE.ldif.p7m verified against trust */
struct pec_index *pec_index_load_file(const char *path, const struct pec_trust *trust, time_t now,
                                      struct pec_error *err)
{
    struct pec_buf raw = PEC_BUF_INIT, ldif = PEC_BUF_INIT;
    struct pec_index *idx = NULL;
    size_t n = strlen(path);

    if (read_file(path, &raw, err) < 0)
        goto done;
    if (n >= 4 && strcasecmp(path + n - 4, ".p7m") == 0) {
        if (pec_index_unwrap(path, raw.data, raw.len, trust, now, &ldif, NULL, err) == 0)
            idx = pec_index_parse_ldif(ldif.data, ldif.len, err);
    } else {
        idx = pec_index_parse_ldif(raw.data, raw.len, err);
    }
done:
    pec_buf_release(&raw);
    pec_buf_release(&ldif);
    return idx;
}

/* pec_index_free - release an index; NULL-safe */
void pec_index_free(struct pec_index **idxp)
{
    struct pec_index *idx;
    size_t i;

    if (idxp == NULL || *idxp == NULL)
        return;
    idx = *idxp;
    for (i = 0; i < idx->n; i++)
        provider_free_fields(&idx->providers[i]);
    free(idx->providers);
    free(idx->by_domain);
    free(idx->by_hash);
    free(idx);
    *idxp = NULL;
}

/* pec_index_count - number of providers */
size_t pec_index_count(const struct pec_index *idx)
{
    return idx->n;
}

/* pec_index_at - provider i (in file order) */
const struct pec_provider *pec_index_at(const struct pec_index *idx, size_t i)
{
    return i < idx->n ? &idx->providers[i] : NULL;
}

/* table_find - the first provider whose key equals key (any case), or NULL */
static const struct pec_provider *table_find(const struct pec_index *idx, const struct key_ref *tab, size_t n,
                                             const char *key)
{
    const struct pec_provider *hit;
    char *lc = lower_dup(key);
    size_t lo = 0, hi = n;

    /* lower bound: rows with equal keys are in file order, and the first listed provider wins */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (strcmp(tab[mid].key, lc) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    hit = lo < n && strcmp(tab[lo].key, lc) == 0 ? &idx->providers[tab[lo].provider] : NULL;
    free(lc);
    return hit;
}

/* pec_index_by_domain - the provider managing a mail domain, or NULL */
const struct pec_provider *pec_index_by_domain(const struct pec_index *idx, const char *domain)
{
    return table_find(idx, idx->by_domain, idx->n_domain, domain);
}

/* pec_index_by_address - the provider managing the domain of "user@domain", or NULL */
const struct pec_provider *pec_index_by_address(const struct pec_index *idx, const char *addr)
{
    const char *at = strrchr(addr, '@');

    return at ? pec_index_by_domain(idx, at + 1) : NULL;
}

/* pec_index_by_cert_sha1 - the provider listing this certificate hash, or NULL */
const struct pec_provider *pec_index_by_cert_sha1(const struct pec_index *idx, const char *sha1_hex)
{
    return table_find(idx, idx->by_hash, idx->n_hash, sha1_hex);
}

/* pec_provider_name - providerName */
const char *pec_provider_name(const struct pec_provider *p)
{
    return p->name;
}

/* pec_provider_mail_receipt - mailReceipt, the provider's receipt address */
const char *pec_provider_mail_receipt(const struct pec_provider *p)
{
    return p->mail_receipt;
}

/* pec_provider_unit - providerUnit or NULL */
const char *pec_provider_unit(const struct pec_provider *p)
{
    return p->unit;
}

/* pec_provider_ldif_url - LDIFLocationURL or NULL */
const char *pec_provider_ldif_url(const struct pec_provider *p)
{
    return p->url;
}

/* pec_provider_domain_count - number of managedDomains */
size_t pec_provider_domain_count(const struct pec_provider *p)
{
    return p->n_domains;
}

/* pec_provider_domain_at - managedDomains value i, lower-case */
const char *pec_provider_domain_at(const struct pec_provider *p, size_t i)
{
    return i < p->n_domains ? p->domains[i] : NULL;
}

/* pec_provider_manages - 1 when domain is in managedDomains */
int pec_provider_manages(const struct pec_provider *p, const char *domain)
{
    size_t i;

    for (i = 0; i < p->n_domains; i++)
        if (strcasecmp(p->domains[i], domain) == 0)
            return 1;
    return 0;
}

/* pec_provider_has_certificate - 1 listed, 0 not listed, -1 no certificate to compare with */
int pec_provider_has_certificate(const struct pec_provider *p, const void *der, size_t len)
{
    size_t i;

    if (p->n_certs == 0)
        return -1;
    for (i = 0; i < p->n_certs; i++)
        if (p->certs[i].len == len && memcmp(p->certs[i].der, der, len) == 0)
            return 1;
    return 0;
}

/* pec_provider_certificate_count - how many providerCertificate values the record has */
size_t pec_provider_certificate_count(const struct pec_provider *p)
{
    return p->n_certs;
}

/* pec_provider_certificate_at - providerCertificate i, DER */
const void *pec_provider_certificate_at(const struct pec_provider *p, size_t i, size_t *len_r)
{
    *len_r = p->certs[i].len;
    return p->certs[i].der;
}

/* put_folded - append one LDIF line, folded at 76 columns with continuation lines starting " " */
static void put_folded(struct pec_buf *out, const char *line, size_t len)
{
    size_t take = len < LDIF_COLUMNS ? len : LDIF_COLUMNS;

    pec_buf_append(out, line, take);
    pec_buf_puts(out, "\n");
    while (take < len) {
        size_t n = len - take < LDIF_COLUMNS - 1 ? len - take : LDIF_COLUMNS - 1;

        pec_buf_puts(out, " ");
        pec_buf_append(out, line + take, n);
        pec_buf_puts(out, "\n");
        take += n;
    }
}

/* is_safe_string - RFC 2849 SAFE-STRING (else the value must be written base64) */
static int is_safe_string(const unsigned char *v, size_t len)
{
    size_t i;

    if (len > 0 && (v[0] == ' ' || v[0] == ':' || v[0] == '<' || v[len - 1] == ' '))
        return 0;
    for (i = 0; i < len; i++)
        if (v[i] == 0 || v[i] == '\n' || v[i] == '\r' || v[i] > 0x7f)
            return 0;
    return 1;
}

/* put_attr - append "name: value" or "name:: base64" as needed, folded */
static void put_attr(struct pec_buf *out, const char *name, const void *value, size_t len, int binary)
{
    struct pec_buf line = PEC_BUF_INIT;

    pec_buf_puts(&line, name);
    if (binary || !is_safe_string(value, len)) {
        pec_buf_puts(&line, ":: ");
        b64_encode(value, len, &line);
    } else {
        pec_buf_puts(&line, ": ");
        pec_buf_append(&line, value, len);
    }
    put_folded(out, line.data, line.len);
    pec_buf_release(&line);
}

/* put_text - put_attr for a C string */
static void put_text(struct pec_buf *out, const char *name, const char *value)
{
    put_attr(out, name, value, strlen(value), 0);
}

/* pec_index_render_root - append the directory's root entry: an organization carrying the auxiliary
 * LDIFLocationURLObject (PEC-RULES §8), with the whole directory's location when it is known */
void pec_index_render_root(struct pec_buf *out, const char *ldif_url)
{
    put_text(out, "dn", "o=postacert");
    put_text(out, "objectClass", "top");
    put_text(out, "objectClass", "organization");
    put_text(out, "objectClass", "LDIFLocationURLObject");
    put_text(out, "o", "postacert");
    if (ldif_url != NULL && *ldif_url != '\0')
        put_text(out, "LDIFLocationURL", ldif_url);
    pec_buf_puts(out, "\n");
}

/* pec_index_render_entry - append one provider entry as LDIF (base DN o=postacert) */
void pec_index_render_entry(struct pec_buf *out, const char *provider_name, const void *cert_der,
                            size_t cert_len, const char *mail_receipt, const char *const *domains,
                            size_t n_domains)
{
    struct pec_buf dn = PEC_BUF_INIT;
    char hash[41];
    const char *c;
    size_t i;

    /* RFC 4514: the name becomes an RDN value, so DN specials are escaped */
    pec_buf_puts(&dn, "providerName=");
    for (c = provider_name; *c; c++) {
        if (strchr(",+\"\\<>;=", *c) != NULL || ((*c == ' ' || *c == '#') && c == provider_name) ||
            (*c == ' ' && c[1] == '\0'))
            pec_buf_puts(&dn, "\\");
        pec_buf_append(&dn, c, 1);
    }
    pec_buf_puts(&dn, ",o=postacert");
    pec_sha1_hex(cert_der, cert_len, hash);
    for (i = 0; i < 40; i++)
        hash[i] = (char)toupper((unsigned char)hash[i]);

    put_text(out, "dn", dn.data);
    put_text(out, "objectClass", "provider");
    put_text(out, "providerName", provider_name);
    put_text(out, "providerCertificateHash", hash);
    if (cert_len > 0)
        put_attr(out, "providerCertificate;binary", cert_der, cert_len, 1);
    put_text(out, "mailReceipt", mail_receipt);
    for (i = 0; i < n_domains; i++)
        put_text(out, "managedDomains", domains[i]);
    pec_buf_puts(out, "\n");
    pec_buf_release(&dn);
}
