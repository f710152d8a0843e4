/* cmd_trace.c - pecctl trace: tamper evidence and retention of the trace.
 *
 *   verify [--from DATE] [--ca FILE]   recompute the hash chains and check the signed checkpoints;
 *                                      exit 1 naming every modified, inserted or deleted row
 *   checkpoint [--reason WORD] [--now EPOCH]   sign the chain heads (run daily, after midnight)
 *   purge [--now EPOCH] [--months N] [--dry-run]   drop the event partitions older than 30 months
 *   bench ...                           see cmd_trace_bench.c
 * Checkpoint signers: with --ca, any certificate chaining to it; otherwise the provider certificate
 * (--cert, or cert_file of --config); with neither, only the signatures' integrity is checked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <glib.h>
#include "dbcmd.h"
#include "pecctl.h"

/* trace_usage - the trace command summary */
static int trace_usage(void)
{
    fputs("usage: pecctl trace verify [--from DATE] [--ca FILE] [--cert FILE] " DB_OPTS_USAGE "\n"
          "       pecctl trace checkpoint [--reason WORD] [--now EPOCH] [--cert FILE --key FILE] " DB_OPTS_USAGE "\n"
          "       pecctl trace purge [--now EPOCH] [--months N] [--dry-run] [--cert FILE --key FILE] " DB_OPTS_USAGE "\n"
          "       pecctl trace bench [--messages N] [--threads N] [--prefix P] " DB_OPTS_USAGE "\n",
          stderr);
    return PECCTL_USAGE;
}

/* pem_cert - the DER of the first certificate of a PEM file (g_base64_decode skips the line ends) */
static int pem_cert(const char *path, struct pec_buf *der, struct pec_error *err)
{
    static const char begin[] = "-----BEGIN CERTIFICATE-----", end[] = "-----END CERTIFICATE-----";
    struct pec_buf pem = PEC_BUF_INIT;
    const char *p, *q;
    gchar *body;
    guchar *bytes;
    gsize n = 0;

    if (read_file(path, &pem, err) < 0)
        return -1;
    p = pem.data ? strstr(pem.data, begin) : NULL;
    q = p ? strstr(p, end) : NULL;
    if (p == NULL || q == NULL) {
        pec_error_set(err, PEC_ERR_INVALID, "%s: no PEM certificate", path);
        pec_buf_release(&pem);
        return -1;
    }
    p += sizeof(begin) - 1;
    body = g_strndup(p, (gsize)(q - p));
    bytes = g_base64_decode(body, &n);
    pec_buf_append(der, bytes, n);
    g_free(bytes);
    g_free(body);
    pec_buf_release(&pem);
    return 0;
}

/* verify - pecctl trace verify */
static int verify(struct pec_trace *t, struct db_opts *o, time_t from, const char *ca)
{
    struct pec_error err = { PEC_ERR_NONE, "" };
    struct pec_trace_verify_options vo;
    struct pec_trust *trust = NULL;
    struct pec_buf der = PEC_BUF_INIT;
    const char *cert = o->cert ? o->cert : o->cfg ? o->cfg->cert_file : NULL;
    int problems = -1;

    memset(&vo, 0, sizeof(vo));
    vo.from = from;
    if (ca != NULL) {
        trust = pec_trust_new();
        if (pec_trust_add_file(trust, ca, &err) < 0)
            goto done;
        vo.trust = trust;
    } else if (cert != NULL) {
        if (pem_cert(cert, &der, &err) < 0)
            goto done;
        vo.cert_der = der.data;
        vo.cert_len = der.len;
    } else {
        printf("note: no --ca, --cert or --config: checkpoint signers are not checked, only integrity\n");
    }
    problems = pec_trace_verify(t, &vo, db_print_line, NULL, &err);
done:
    if (problems < 0)
        fprintf(stderr, "pecctl trace verify: %s\n", err.msg);
    pec_trust_free(&trust);
    pec_buf_release(&der);
    return problems == 0 ? PECCTL_OK : PECCTL_NOT_VALID;
}

/* checkpoint - pecctl trace checkpoint */
static int checkpoint(struct pec_trace *t, struct db_opts *o, time_t now, const char *reason)
{
    struct pec_error err = { PEC_ERR_NONE, "" };
    struct pec_signer *s = db_signer(o, "trace checkpoint");
    long long id = 0;
    int r;

    if (s == NULL)
        return PECCTL_NOT_VALID;
    r = pec_trace_checkpoint(t, s, now, reason, &id, &err);
    pec_signer_free(&s);
    if (r < 0) {
        fprintf(stderr, "pecctl trace checkpoint: %s\n", err.msg);
        return PECCTL_NOT_VALID;
    }
    printf("checkpoint %lld stored\n", id);
    return PECCTL_OK;
}

/* purge - pecctl trace purge */
static int purge(struct pec_trace *t, struct db_opts *o, time_t now, unsigned months, int dry_run)
{
    struct pec_error err = { PEC_ERR_NONE, "" };
    struct pec_signer *s = NULL;
    int r;

    if (!dry_run && (s = db_signer(o, "trace purge")) == NULL)
        return PECCTL_NOT_VALID;
    r = pec_trace_purge(t, s, now, months, dry_run, db_print_line, NULL, &err);
    pec_signer_free(&s);
    if (r < 0) {
        fprintf(stderr, "pecctl trace purge: %s\n", err.msg);
        return PECCTL_NOT_VALID;
    }
    printf("%d partition(s) %s\n", r, dry_run ? "would be dropped" : "dropped");
    return PECCTL_OK;
}

/* cmd_trace - verify, checkpoint, purge, bench */
int cmd_trace(int argc, char **argv)
{
    struct db_opts o;
    struct pec_trace *t;
    const char *sub, *ca = NULL, *reason = "manual";
    time_t from = 0, now = time(NULL);
    unsigned long months = PEC_TRACE_RETENTION_MONTHS;
    int i, r, dry_run = 0, status;

    if (argc < 2)
        return trace_usage();
    sub = argv[1];
    if (strcmp(sub, "bench") == 0)
        return cmd_trace_bench(argc - 1, argv + 1);
    if (strcmp(sub, "verify") != 0 && strcmp(sub, "checkpoint") != 0 && strcmp(sub, "purge") != 0)
        return trace_usage();
    db_opts_init(&o);
    for (i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;

        r = db_opt(&o, "trace", argc, argv, &i);
        if (r < 0)
            goto usage;
        if (r > 0)
            continue;
        if (strcmp(a, "--dry-run") == 0 && strcmp(sub, "purge") == 0) {
            dry_run = 1;
            continue;
        }
        if (v == NULL)
            goto bad;
        i++;
        if (strcmp(a, "--from") == 0 && strcmp(sub, "verify") == 0 && db_parse_time(v, &from) == 0)
            continue;
        if (strcmp(a, "--ca") == 0 && strcmp(sub, "verify") == 0) {
            ca = v;
            continue;
        }
        if (strcmp(a, "--reason") == 0 && strcmp(sub, "checkpoint") == 0) {
            reason = v;
            continue;
        }
        if (strcmp(a, "--now") == 0 && strcmp(sub, "verify") != 0 && db_parse_time(v, &now) == 0)
            continue;
        if (strcmp(a, "--months") == 0 && strcmp(sub, "purge") == 0 && (months = strtoul(v, &end, 10)) > 0 &&
            *end == '\0' && months < 1200)
            continue;
    bad:
        fprintf(stderr, "pecctl trace %s: bad argument %s\n", sub, a);
        goto usage;
    }
    t = db_open(&o, "trace");
    if (t == NULL) {
        db_opts_clear(&o);
        return PECCTL_NOT_VALID;
    }
    if (strcmp(sub, "verify") == 0)
        status = verify(t, &o, from, ca);
    else if (strcmp(sub, "checkpoint") == 0)
        status = checkpoint(t, &o, now, reason);
    else
        status = purge(t, &o, now, (unsigned)months, dry_run);
    pec_trace_free(&t);
    db_opts_clear(&o);
    return status;
usage:
    db_opts_clear(&o);
    return trace_usage();
}
