/* cmd_index_refresh.c - pecctl index refresh and pecctl index entry: the provider index as published.
 *
 * refresh fetches the signed index from where it is published (index_url: http:// or a local file, e.g.
 * a mirror of the LDAP directory), verifies its signature against the anchors, and makes it the current
 * copy only when it differs from it and was signed after it, so that a replayed or stale index never
 * replaces a newer one; the copy in the trace store changes in one transaction, index_file (when
 * configured) is replaced atomically.  entry prints this provider's own entry, signed, for the index
 * maintainer.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "dbcmd.h"
#include "pec/file.h"
#include "pec/http.h"
#include "pec/index.h"
#include "pecctl.h"

#define INDEX_MAX_BYTES (64UL * 1024 * 1024)
#define INDEX_TIMEOUT 60

/* fetch - the published bytes: http:// through the HTTP client, file:// or a path read; -1 reported */
static int fetch(const char *url, struct pec_buf *out)
{
    struct pec_error err = { PEC_ERR_NONE, "" };
    int rc;

    if (strncasecmp(url, "http://", 7) == 0)
        rc = pec_http_get(url, INDEX_TIMEOUT, INDEX_MAX_BYTES, out, &err);
    else if (strncasecmp(url, "file://", 7) == 0 || url[0] == '/')
        rc = read_file(url[0] == '/' ? url : url + 7, out, &err);
    else {
        /* the signature, not the transport, makes the index trustworthy: a mirror is as good */
        fprintf(stderr, "pecctl index refresh: %s: only http:// URLs and local files are fetched; mirror an "
                        "https:// or ldap:// index to one of those\n", url);
        return -1;
    }
    if (rc < 0)
        fprintf(stderr, "pecctl index refresh: %s: %s\n", url, err.msg);
    return rc;
}

/* time_text - a time for the report (UTC), "-" for none */
static const char *time_text(time_t t, char *buf, size_t len)
{
    struct tm tm;

    if (t == 0 || gmtime_r(&t, &tm) == NULL)
        return "-";
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

/* mirror_file - index_file replaced with what was verified: the signed bytes for .p7m, the LDIF else */
static int mirror_file(const char *path, const struct pec_buf *der, const struct pec_buf *ldif)
{
    struct pec_error err = { PEC_ERR_NONE, "" };
    size_t n = strlen(path);
    const struct pec_buf *what = n >= 4 && strcasecmp(path + n - 4, ".p7m") == 0 ? der : ldif;

    if (pec_file_replace(path, what->data, what->len, 0644, &err) < 0) {
        fprintf(stderr, "pecctl index refresh: %s: %s\n", path, err.msg);
        return -1;
    }
    return 0;
}

/* index_refresh - see the file comment; 0 when the current copy is (now) the published one */
int index_refresh(struct pec_trace *t, const struct pec_config *cfg, const char *url, const struct pec_trust *trust)
{
    struct pec_error err = { PEC_ERR_NONE, "" };
    struct pec_buf der = PEC_BUF_INIT, ldif = PEC_BUF_INIT;
    struct pec_index_refresh_result r;
    char a[32], b[32];
    time_t signed_at = 0;
    int rc = -1;

    if (url == NULL) {
        fprintf(stderr, "pecctl index refresh: no index_url in the configuration and no --url\n");
        return -1;
    }
    if (trust == NULL) {
        fprintf(stderr, "pecctl index refresh: no --ca or trust_file: a fetched index is taken only once its "
                        "signature verified\n");
        return -1;
    }
    if (fetch(url, &der) < 0)
        goto done;
    if (pec_index_unwrap(url, der.data, der.len, trust, time(NULL), &ldif, &signed_at, &err) < 0 ||
        pec_trace_index_refresh(t, ldif.data, ldif.len, url, signed_at, time(NULL), &r, &err) < 0) {
        index_report("refresh", url, err.msg);
        goto done;
    }
    switch (r.outcome) {
    case PEC_INDEX_REPLACED:
        printf("index version %lld from %s (signed %s)\n", r.version, url, time_text(signed_at, a, sizeof(a)));
        break;
    case PEC_INDEX_UNCHANGED:
        printf("index unchanged: %s is version %lld\n", url, r.version);
        break;
    case PEC_INDEX_NOT_NEWER:
        /* a failure, so that the daily timer reports it: a stale mirror or a replay */
        fprintf(stderr, "pecctl index refresh: %s was signed %s, not after the current copy (version %lld, signed "
                        "%s): kept the current copy\n", url, time_text(signed_at, a, sizeof(a)), r.version,
                time_text(r.current_signed_at, b, sizeof(b)));
        goto done;
    }
    rc = cfg != NULL && cfg->index_file != NULL ? mirror_file(cfg->index_file, &der, &ldif) : 0;
done:
    pec_buf_release(&der);
    pec_buf_release(&ldif);
    return rc;
}

/* index_entry - this provider's entry (LDIF), signed as a .ldif.p7m unless plain; written to out_path or
 * stdout */
int index_entry(struct db_opts *o, const char *out_path, int plain)
{
    struct pec_error err = { PEC_ERR_NONE, "" };
    struct pec_buf ldif = PEC_BUF_INIT, der = PEC_BUF_INIT;
    struct pec_signer *s = db_signer(o, "index entry");
    const struct pec_buf *out = plain ? &ldif : &der;
    const void *cert;
    size_t cert_len;
    int rc = -1;

    if (s == NULL)
        return -1;
    if (o->cfg == NULL) {
        fprintf(stderr, "pecctl index entry: the entry is made from the configuration: give --config FILE\n");
        goto done;
    }
    cert = pec_signer_cert_der(s, &cert_len);
    pec_index_render_entry(&ldif, o->cfg->provider_name, cert, cert_len, o->cfg->service_address,
                           o->cfg->managed_domains, o->cfg->n_managed_domains);
    if (!plain && pec_smime_sign_embedded(s, o->cfg->sign_digest, time(NULL), ldif.data, ldif.len, &der, &err) < 0) {
        fprintf(stderr, "pecctl index entry: %s\n", err.msg);
        goto done;
    }
    if (out_path != NULL)
        rc = pec_file_replace(out_path, out->data, out->len, 0644, &err);
    else
        rc = fwrite(out->data, 1, out->len, stdout) == out->len && fflush(stdout) == 0 ? 0 : -1;
    if (rc < 0)
        fprintf(stderr, "pecctl index entry: %s\n", out_path && err.msg[0] ? err.msg : "cannot write");
done:
    pec_buf_release(&ldif);
    pec_buf_release(&der);
    pec_signer_free(&s);
    return rc;
}
