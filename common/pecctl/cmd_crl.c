/* cmd_crl.c - pecctl crl refresh: fetch the CRL of each trust anchor over HTTP and replace the
 * configured crl_file with it, only once it verified.
 *
 * Which file belongs to which anchor: a crl_file that holds a CRL verifying against an anchor is that
 * anchor's; a single crl_file not yet written goes with the single anchor that has no file.  Where the
 * CRL is published: the cRLDistributionPoints (http:// URIs) of the anchor's own certificate and of the
 * certificates it issued that we know of (cert_file, chain_file, the index's providerCertificate
 * values).  --url URL --out FILE fetches one CRL explicitly (e.g. the first time).  A download is
 * verified against the anchor before anything is replaced; an older CRL than the file's never replaces
 * it; the file is replaced atomically (temporary file in the same directory, fsync, rename).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "pec/file.h"
#include "pec/config.h"
#include "pec/http.h"
#include "pec/index.h"
#include "pec/smime.h"
#include "pecctl.h"

#define CRL_MAX_BYTES (64UL * 1024 * 1024) /* big public CAs publish CRLs of tens of MB */
#define DEFAULT_TIMEOUT 30

/* one crl_file and the anchor it belongs to */
struct target {
    const char *file;
    const char *anchor;      /* NULL while unknown */
    struct pec_crl_info old; /* valid when have_old */
    int have_old;
    struct pec_buf old_raw;
};

/* crl_usage - the crl command summary */
static int crl_usage(void)
{
    fputs("usage: pecctl crl refresh -c|--config FILE [--timeout SECONDS] [--url URL --out FILE]\n", stderr);
    return PECCTL_USAGE;
}

/* format_utc - t for messages */
static const char *format_utc(time_t t, char *out, size_t outlen)
{
    struct tm tm;

    if (t == (time_t)-1)
        snprintf(out, outlen, "none");
    else if (gmtime_r(&t, &tm) == NULL || strftime(out, outlen, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
        snprintf(out, outlen, "@%lld", (long long)t);
    return out;
}

/* load_old - what the target file holds now, when it is a CRL verifying against an anchor */
static void load_old(const struct pec_trust *trust, struct target *t)
{
    struct pec_error err = { PEC_ERR_NONE, "" };

    if (access(t->file, F_OK) < 0 && errno == ENOENT)
        return;
    if (read_file(t->file, &t->old_raw, &err) < 0 ||
        pec_crl_check(trust, t->old_raw.data, t->old_raw.len, t->file, &t->old, &err) < 0) {
        fprintf(stderr, "pecctl crl refresh: note: %s\n", err.msg);
        return;
    }
    t->have_old = 1;
}

/* install - verify a downloaded CRL for t and replace t's file with it; 0, or -1 after reporting */
static int install(const struct pec_trust *trust, struct target *t, const char *url, const struct pec_buf *crl)
{
    struct pec_error err = { PEC_ERR_NONE, "" };
    struct pec_crl_info info;
    char a[64], b[64];
    time_t now = time(NULL);

    if (pec_crl_check(trust, crl->data, crl->len, url, &info, &err) < 0) {
        fprintf(stderr, "pecctl crl refresh: %s: refused, %s kept\n", err.msg, t->file);
        return -1;
    }
    if (t->anchor != NULL && strcmp(info.anchor, t->anchor) != 0) {
        fprintf(stderr, "pecctl crl refresh: %s: a CRL of %s where one of %s was expected: refused, %s kept\n", url,
                info.anchor, t->anchor, t->file);
        return -1;
    }
    if (t->have_old && strcmp(t->old.anchor, info.anchor) == 0 && info.this_update < t->old.this_update) {
        fprintf(stderr, "pecctl crl refresh: %s: older than the CRL in %s (thisUpdate %s < %s): refused, file kept\n",
                url, t->file, format_utc(info.this_update, a, sizeof(a)), format_utc(t->old.this_update, b, sizeof(b)));
        return -1;
    }
    if (t->have_old && t->old_raw.len == crl->len && memcmp(t->old_raw.data, crl->data, crl->len) == 0) {
        printf("%s: unchanged (CRL of %s, nextUpdate %s)\n", t->file, info.anchor,
               format_utc(info.next_update, a, sizeof(a)));
    } else {
        if (pec_file_replace(t->file, crl->data, crl->len, 0644, &err) < 0) {
            fprintf(stderr, "pecctl crl refresh: %s\n", err.msg);
            return -1;
        }
        printf("%s: CRL of %s from %s: thisUpdate %s, nextUpdate %s, %lu revoked\n", t->file, info.anchor, url,
               format_utc(info.this_update, a, sizeof(a)), format_utc(info.next_update, b, sizeof(b)), info.revoked);
    }
    if (info.next_update != (time_t)-1 && info.next_update < now)
        fprintf(stderr, "pecctl crl refresh: warning: the CRL published at %s is itself past its nextUpdate %s\n", url,
                format_utc(info.next_update, a, sizeof(a)));
    return 0;
}

/* fetch_install - download url and install it for t; 0, or -1 after reporting */
static int fetch_install(const struct pec_trust *trust, struct target *t, const char *url, int timeout)
{
    struct pec_error err = { PEC_ERR_NONE, "" };
    struct pec_buf crl = PEC_BUF_INIT;
    int r;

    if (pec_http_get(url, timeout, CRL_MAX_BYTES, &crl, &err) < 0) {
        fprintf(stderr, "pecctl crl refresh: %s (%s kept)\n", err.msg, t->file);
        r = -1;
    } else {
        r = install(trust, t, url, &crl);
    }
    pec_buf_release(&crl);
    return r;
}

/* add_file_blob - a certificate file's bytes to the list of certificates to read distribution points from */
static void add_file_blob(const char *path, struct pec_buf *blobs, size_t *n, size_t max)
{
    struct pec_error err = { PEC_ERR_NONE, "" };

    if (path == NULL || *n >= max)
        return;
    if (read_file(path, &blobs[*n], &err) < 0) {
        fprintf(stderr, "pecctl crl refresh: note: %s\n", err.msg);
        return;
    }
    (*n)++;
}

/* known_certs - the certificates whose distribution points may name an anchor's CRL: cert_file,
 * chain_file and the index's provider certificates; *blobs malloc'd, release each */
static struct pec_buf *known_certs(const struct pec_config *cfg, const struct pec_trust *trust, size_t *n_r)
{
    struct pec_error err = { PEC_ERR_NONE, "" };
    struct pec_index *idx = NULL;
    size_t max = 2, n = 0, i, k;
    struct pec_buf *blobs;

    if (cfg->index_file != NULL && (idx = pec_index_load_file(cfg->index_file, trust, time(NULL), &err)) == NULL)
        fprintf(stderr, "pecctl crl refresh: note: index not read: %s\n", err.msg);
    for (i = 0; idx != NULL && i < pec_index_count(idx); i++)
        max += pec_provider_certificate_count(pec_index_at(idx, i));
    if ((blobs = calloc(max, sizeof(*blobs))) == NULL) {
        fprintf(stderr, "pecctl crl refresh: out of memory\n");
        exit(1);
    }
    add_file_blob(cfg->cert_file, blobs, &n, max);
    add_file_blob(cfg->chain_file, blobs, &n, max);
    for (i = 0; idx != NULL && i < pec_index_count(idx); i++) {
        const struct pec_provider *p = pec_index_at(idx, i);

        for (k = 0; k < pec_provider_certificate_count(p) && n < max; k++) {
            size_t len;
            const void *der = pec_provider_certificate_at(p, k, &len);

            pec_buf_append(&blobs[n++], der, len);
        }
    }
    pec_index_free(&idx);
    *n_r = n;
    return blobs;
}

/* refresh_target - try each http:// distribution point of t's anchor until one installs; 0 or -1 */
static int refresh_target(const struct pec_trust *trust, struct target *t, const struct pec_buf *certs,
                          size_t n_certs, int timeout)
{
    struct pec_strv urls = PEC_STRV_INIT;
    char host[256], path[2048];
    unsigned port;
    size_t i;
    int tried = 0, r = -1;

    pec_trust_crl_urls(trust, t->anchor, certs, n_certs, &urls);
    for (i = 0; i < urls.n && r < 0; i++) {
        if (pec_http_parse_url(urls.v[i], host, sizeof(host), &port, path, sizeof(path)) < 0) {
            fprintf(stderr, "pecctl crl refresh: note: %s: skipped (only http:// is fetched)\n", urls.v[i]);
            continue;
        }
        tried++;
        r = fetch_install(trust, t, urls.v[i], timeout);
    }
    if (tried == 0)
        fprintf(stderr,
                "pecctl crl refresh: no http:// CRL distribution point found for %s (its certificate, cert_file, "
                "chain_file, the index): use --url URL --out %s (%s kept)\n",
                t->anchor, t->file, t->file);
    else if (r < 0)
        fprintf(stderr, "pecctl crl refresh: no usable CRL for %s: %s kept\n", t->anchor, t->file);
    pec_strv_clear(&urls);
    return r;
}

/* assign - each crl_file to its anchor (see the top of the file); -1 when some file stays unassigned */
static int assign(struct target *ts, size_t n, const struct pec_strv *anchors, const char *config)
{
    size_t i, k, unassigned = 0, free_anchors = 0, free_at = 0, file_at = 0;
    int failed = 0;

    for (i = 0; i < n; i++)
        if (ts[i].have_old)
            ts[i].anchor = ts[i].old.anchor;
    for (k = 0; k < anchors->n; k++) {
        int has = 0;

        for (i = 0; i < n; i++)
            if (ts[i].anchor != NULL && strcmp(ts[i].anchor, anchors->v[k]) == 0)
                has = 1;
        if (!has) {
            free_anchors++;
            free_at = k;
        }
    }
    for (i = 0; i < n; i++)
        if (ts[i].anchor == NULL) {
            unassigned++;
            file_at = i;
        }
    if (unassigned == 1 && free_anchors == 1) {
        ts[file_at].anchor = anchors->v[free_at];
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (ts[i].anchor != NULL)
            continue;
        fprintf(stderr,
                "pecctl crl refresh: %s: cannot tell which trust anchor of %s it is for (%zu without a CRL file): "
                "fetch it once with --url URL --out %s\n",
                ts[i].file, config, free_anchors, ts[i].file);
        failed = 1;
    }
    for (k = 0; k < anchors->n; k++) {
        int has = 0;

        for (i = 0; i < n; i++)
            if (ts[i].anchor != NULL && strcmp(ts[i].anchor, anchors->v[k]) == 0)
                has = 1;
        if (!has && unassigned == 0)
            fprintf(stderr, "pecctl crl refresh: note: no crl_file for %s: its certificates are not checked for "
                            "revocation\n", anchors->v[k]);
    }
    return failed ? -1 : 0;
}

/* refresh - the whole command once the options are read */
static int refresh(const char *config, const char *url, const char *out, int timeout)
{
    struct pec_error err = { PEC_ERR_NONE, "" };
    const struct pec_config *cfg = pec_config_load(config, &err);
    struct pec_trust *trust = NULL;
    struct pec_strv anchors = PEC_STRV_INIT;
    struct target *ts = NULL;
    struct pec_buf *certs = NULL;
    size_t i, n = 0, n_certs = 0;
    int status = PECCTL_NOT_VALID;

    if (cfg == NULL) {
        fprintf(stderr, "pecctl crl refresh: %s\n", err.msg);
        return PECCTL_USAGE;
    }
    if (cfg->n_trust_files == 0) {
        fprintf(stderr, "pecctl crl refresh: %s has no trust_file: no anchor to fetch a CRL for\n", config);
        goto done;
    }
    trust = pec_trust_new();
    for (i = 0; i < cfg->n_trust_files; i++)
        if (pec_trust_add_file(trust, cfg->trust_files[i], &err) < 0) {
            fprintf(stderr, "pecctl crl refresh: %s\n", err.msg);
            goto done;
        }
    pec_trust_anchor_subjects(trust, &anchors);
    if (url != NULL) {
        struct target t;
        int listed = 0;

        memset(&t, 0, sizeof(t));
        t.file = out;

        for (i = 0; i < cfg->n_crl_files; i++)
            listed |= strcmp(cfg->crl_files[i], out) == 0;
        if (!listed)
            fprintf(stderr, "pecctl crl refresh: note: %s is not a crl_file of %s: the provider does not read it\n",
                    out, config);
        load_old(trust, &t);
        if (t.have_old)
            t.anchor = t.old.anchor; /* never swap one anchor's CRL for another's */
        if (fetch_install(trust, &t, url, timeout) == 0)
            status = PECCTL_OK;
        pec_buf_release(&t.old_raw);
        goto done;
    }
    if (cfg->n_crl_files == 0) {
        fprintf(stderr, "pecctl crl refresh: %s has no crl_file: nothing to refresh\n", config);
        goto done;
    }
    n = cfg->n_crl_files;
    if ((ts = calloc(n, sizeof(*ts))) == NULL) {
        fprintf(stderr, "pecctl crl refresh: out of memory\n");
        goto done;
    }
    for (i = 0; i < n; i++) {
        ts[i].file = cfg->crl_files[i];
        load_old(trust, &ts[i]);
    }
    status = assign(ts, n, &anchors, config) < 0 ? PECCTL_NOT_VALID : PECCTL_OK;
    certs = known_certs(cfg, trust, &n_certs);
    for (i = 0; i < n; i++)
        if (ts[i].anchor != NULL && refresh_target(trust, &ts[i], certs, n_certs, timeout) < 0)
            status = PECCTL_NOT_VALID;
done:
    for (i = 0; i < n; i++)
        pec_buf_release(&ts[i].old_raw);
    free(ts);
    for (i = 0; i < n_certs; i++)
        pec_buf_release(&certs[i]);
    free(certs);
    pec_strv_clear(&anchors);
    pec_trust_free(&trust);
    pec_config_unref(&cfg);
    return status;
}

/* cmd_crl - pecctl crl refresh */
int cmd_crl(int argc, char **argv)
{
    const char *config = NULL, *url = NULL, *out = NULL;
    int i, timeout = DEFAULT_TIMEOUT;

    if (argc < 2 || strcmp(argv[1], "refresh") != 0)
        return crl_usage();
    for (i = 2; i < argc; i++) {
        const char *opt = argv[i];
        char *end;

        if (i + 1 >= argc) {
            fprintf(stderr, "pecctl crl refresh: %s needs a value\n", opt);
            return crl_usage();
        }
        if (strcmp(opt, "-c") == 0 || strcmp(opt, "--config") == 0) {
            config = argv[++i];
        } else if (strcmp(opt, "--url") == 0) {
            url = argv[++i];
        } else if (strcmp(opt, "--out") == 0) {
            out = argv[++i];
        } else if (strcmp(opt, "--timeout") == 0) {
            long v = strtol(argv[++i], &end, 10);

            if (*end != '\0' || v < 1 || v > 3600) {
                fprintf(stderr, "pecctl crl refresh: --timeout wants 1..3600 seconds\n");
                return crl_usage();
            }
            timeout = (int)v;
        } else {
            fprintf(stderr, "pecctl crl refresh: unexpected argument %s\n", opt);
            return crl_usage();
        }
    }
    if (config == NULL || (url == NULL) != (out == NULL))
        return crl_usage();
    return refresh(config, url, out, timeout);
}
