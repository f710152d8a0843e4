/* cmd_index.c - pecctl index: the provider index copy kept in the trace store.
 *
 * import replaces the copy atomically with FILE.ldif, or with the LDIF embedded in FILE.ldif.p7m once
 * its signature verified (against --ca / trust_file anchors when given); show prints the current copy;
 * refresh and entry (cmd_index_refresh.c) deal with the index as published.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "dbcmd.h"
#include "pec/index.h"
#include "pecctl.h"

/* index_usage - the index command summary */
static int index_usage(void)
{
    fputs("usage: pecctl index import [--ca FILE]... " DB_OPTS_USAGE " FILE.ldif|FILE.ldif.p7m\n"
          "       pecctl index show " DB_OPTS_USAGE "\n"
          "       pecctl index refresh [--url URL] [--ca FILE]... " DB_OPTS_USAGE "\n"
          "       pecctl index entry --config FILE [--cert FILE --key FILE] [--ldif] [--out FILE]\n",
          stderr);
    return PECCTL_USAGE;
}

/* load_trust - anchors from --ca options, else from the configuration's trust_file keys (with its crl_file
 * keys); NULL if none */
static struct pec_trust *load_trust(char **cas, int n_cas, const struct pec_config *cfg, int *failed)
{
    struct pec_error err = { PEC_ERR_NONE, "" };
    struct pec_trust *trust;
    size_t i, n = n_cas > 0 ? (size_t)n_cas : cfg ? cfg->n_trust_files : 0;

    *failed = 0;
    if (n == 0)
        return NULL;
    trust = pec_trust_new();
    for (i = 0; i < n; i++) {
        const char *f = n_cas > 0 ? cas[i] : cfg->trust_files[i];

        if (pec_trust_add_file(trust, f, &err) < 0) {
            fprintf(stderr, "pecctl index: %s\n", err.msg);
            pec_trust_free(&trust);
            *failed = 1;
            return NULL;
        }
    }
    /* the configuration's anchors come with its CRLs, as in the daemons */
    for (i = 0; n_cas == 0 && i < cfg->n_crl_files; i++) {
        if (pec_trust_add_crl_file(trust, cfg->crl_files[i], time(NULL), &err) < 0) {
            fprintf(stderr, "pecctl index: %s\n", err.msg);
            pec_trust_free(&trust);
            *failed = 1;
            return NULL;
        }
    }
    if (n_cas == 0)
        pec_trust_refuse_stale_crls(trust, cfg->crl_stale_refuse);
    return trust;
}

/* index_report - "pecctl index SUB: SOURCE: MSG" on stderr, SOURCE left out when MSG already names it */
void index_report(const char *sub, const char *source, const char *msg)
{
    int named = strncmp(msg, source, strlen(source)) == 0;

    fprintf(stderr, "pecctl index %s: %s%s%s\n", sub, named ? "" : source, named ? "" : ": ", msg);
}

/* import - verify, parse and store one file */
static int import(struct pec_trace *t, const char *path, const struct pec_trust *trust)
{
    struct pec_error err = { PEC_ERR_NONE, "" };
    struct pec_buf raw = PEC_BUF_INIT, ldif = PEC_BUF_INIT;
    const struct pec_buf *text = &raw;
    size_t n = strlen(path);
    long long version = 0;
    int r = -1;

    if (read_file(path, &raw, &err) < 0)
        goto done;
    if (n >= 4 && strcasecmp(path + n - 4, ".p7m") == 0) {
        if (trust == NULL)
            fprintf(stderr, "pecctl index import: warning: no --ca or trust_file: checking the signature's "
                            "integrity only\n");
        if (pec_index_unwrap(path, raw.data, raw.len, trust, time(NULL), &ldif, NULL, &err) < 0)
            goto done;
        text = &ldif;
    }
    r = pec_trace_index_replace(t, text->data, text->len, path, time(NULL), &version, &err);
done:
    if (r < 0)
        index_report("import", path, err.msg);
    else
        printf("imported %s as index version %lld\n", path, version);
    pec_buf_release(&raw);
    pec_buf_release(&ldif);
    return r;
}

/* show - the current copy, one provider per line */
static int show(struct pec_trace *t)
{
    struct pec_error err = { PEC_ERR_NONE, "" };
    long long version = 0;
    struct pec_index *idx = pec_trace_index_load(t, &version, &err);
    size_t i, k;

    if (idx == NULL) {
        fprintf(stderr, "pecctl index show: %s\n", err.msg);
        return -1;
    }
    printf("version %lld, %zu providers\n", version, pec_index_count(idx));
    for (i = 0; i < pec_index_count(idx); i++) {
        const struct pec_provider *p = pec_index_at(idx, i);

        printf("%s\t%s\t", pec_provider_name(p), pec_provider_mail_receipt(p));
        for (k = 0; k < pec_provider_domain_count(p); k++)
            printf("%s%s", k ? " " : "", pec_provider_domain_at(p, k));
        printf("\n");
    }
    pec_index_free(&idx);
    return 0;
}

/* cmd_index - import or show */
int cmd_index(int argc, char **argv)
{
    struct db_opts o;
    struct pec_trust *trust = NULL;
    struct pec_trace *t = NULL;
    const char *file = NULL, *url = NULL, *out = NULL;
    char *cas[32];
    int i, r, n_cas = 0, failed = 0, plain = 0, status = PECCTL_NOT_VALID;
    const char *sub = argc >= 2 ? argv[1] : "";

    if (strcmp(sub, "import") != 0 && strcmp(sub, "show") != 0 && strcmp(sub, "refresh") != 0 &&
        strcmp(sub, "entry") != 0)
        return index_usage();
    db_opts_init(&o);
    for (i = 2; i < argc; i++) {
        r = db_opt(&o, "index", argc, argv, &i);
        if (r < 0)
            goto usage;
        if (r > 0)
            continue;
        if (strcmp(argv[i], "--ca") == 0 && i + 1 < argc && n_cas < 32) {
            cas[n_cas++] = argv[++i];
        } else if (strcmp(argv[i], "--url") == 0 && i + 1 < argc && strcmp(sub, "refresh") == 0) {
            url = argv[++i];
        } else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc && strcmp(sub, "entry") == 0) {
            out = argv[++i];
        } else if (strcmp(argv[i], "--ldif") == 0 && strcmp(sub, "entry") == 0) {
            plain = 1;
        } else if (argv[i][0] != '-' && file == NULL && strcmp(argv[1], "import") == 0) {
            file = argv[i];
        } else {
            fprintf(stderr, "pecctl index: unexpected argument %s\n", argv[i]);
            goto usage;
        }
    }
    if (strcmp(argv[1], "import") == 0 && file == NULL)
        goto usage;
    if (strcmp(sub, "entry") == 0) {
        status = index_entry(&o, out, plain) < 0 ? PECCTL_NOT_VALID : PECCTL_OK;
        goto done;
    }
    t = db_open(&o, "index");
    if (t == NULL)
        goto done;
    if (strcmp(argv[1], "show") == 0) {
        status = show(t) < 0 ? PECCTL_NOT_VALID : PECCTL_OK;
        goto done;
    }
    trust = load_trust(cas, n_cas, o.cfg, &failed);
    if (!failed && strcmp(sub, "refresh") == 0)
        status = index_refresh(t, o.cfg, url ? url : o.cfg ? o.cfg->index_url : NULL, trust) < 0 ? PECCTL_NOT_VALID
                                                                                             : PECCTL_OK;
    else if (!failed)
        status = import(t, file, trust) < 0 ? PECCTL_NOT_VALID : PECCTL_OK;
done:
    pec_trust_free(&trust);
    pec_trace_free(&t);
    db_opts_clear(&o);
    return status;
usage:
    db_opts_clear(&o);
    return index_usage();
}
