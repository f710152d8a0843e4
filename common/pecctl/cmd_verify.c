/* cmd_verify.c - pecctl verify: classify and verify messages, one JSON object per line. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "json.h"
#include "pec/index.h"
#include "pec/message.h"
#include "pecctl.h"

/* daticert_json - the certification data as a JSON object */
static void daticert_json(struct pec_buf *o, const struct pec_daticert *d)
{
    int first = 1;

    pec_buf_puts(o, "{");
    json_key(o, "tipo", &first);
    json_str(o, pec_tipo_name(d->tipo));
    json_key(o, "errore", &first);
    json_str(o, pec_errore_name(d->errore));
    json_key(o, "mittente", &first);
    json_str(o, d->mittente);
    json_key(o, "destinatari", &first);
    pec_buf_puts(o, "[");
    for (size_t i = 0; i < d->n_destinatari; i++) {
        int f2 = 1;
        pec_buf_puts(o, i ? ",{" : "{");
        json_key(o, "indirizzo", &f2);
        json_str(o, d->destinatari[i].addr);
        json_key(o, "tipo", &f2);
        json_str(o, d->destinatari[i].esterno ? "esterno" : "certificato");
        pec_buf_puts(o, "}");
    }
    pec_buf_puts(o, "]");
    json_key(o, "risposte", &first);
    json_str(o, d->risposte);
    json_key(o, "oggetto", &first);
    json_str(o, d->oggetto);
    json_key(o, "gestore", &first);
    json_str(o, d->gestore);
    json_key(o, "data", &first);
    pec_buf_printf(o, "%lld", (long long)d->when);
    json_key(o, "identificativo", &first);
    json_str(o, d->identificativo);
    json_key(o, "msgid", &first);
    json_str(o, d->msgid);
    json_key(o, "ricevuta", &first);
    json_str(o, d->ricevuta ? pec_ricevuta_name(d->ricevuta) : NULL);
    json_key(o, "consegna", &first);
    json_str(o, d->consegna);
    json_key(o, "ricezione", &first);
    pec_buf_puts(o, "[");
    for (size_t i = 0; i < d->n_ricezione; i++) {
        if (i)
            pec_buf_puts(o, ",");
        json_str(o, d->ricezione[i]);
    }
    pec_buf_puts(o, "]");
    json_key(o, "errore_esteso", &first);
    json_str(o, d->errore_esteso);
    pec_buf_puts(o, "}");
}

/* verdict_json - one line for one message */
static void verdict_json(struct pec_buf *o, const char *file, const struct pec_analysis *a)
{
    const char *status = a->sig.status == PEC_SIG_VALID ? "valid" : a->sig.status == PEC_SIG_INVALID ? "invalid"
                                                                                                     : "absent";
    const char *tipo = a->x_ricevuta ? a->x_ricevuta : a->tipo ? pec_tipo_name(a->tipo) : NULL;
    int first = 1, f2 = 1;

    pec_buf_puts(o, "{");
    json_key(o, "file", &first);
    json_str(o, file);
    json_key(o, "kind", &first);
    json_str(o, pec_kind_name(a->kind));
    json_key(o, "tipo", &first);
    json_str(o, tipo);
    json_key(o, "valid", &first);
    pec_buf_puts(o, a->valid ? "true" : "false");
    json_key(o, "signature", &first);
    pec_buf_puts(o, "{");
    json_key(o, "status", &f2);
    json_str(o, status);
    json_key(o, "signer_sha1", &f2);
    json_str(o, a->sig.signer_sha1[0] ? a->sig.signer_sha1 : NULL);
    json_key(o, "signer", &f2);
    json_str(o, a->sig.signer_subject[0] ? a->sig.signer_subject : NULL);
    json_key(o, "digest", &f2);
    json_str(o, a->sig.status != PEC_SIG_ABSENT ? pec_digest_name(a->sig.digest) : NULL);
    json_key(o, "micalg", &f2);
    json_str(o, a->micalg);
    json_key(o, "provider", &f2);
    json_str(o, a->provider ? pec_provider_name(a->provider) : NULL);
    json_key(o, "trusted", &f2);
    pec_buf_puts(o, a->sig.trusted ? "true" : "false");
    pec_buf_puts(o, "}");
    json_key(o, "daticert", &first);
    if (a->has_daticert)
        daticert_json(o, &a->daticert);
    else
        pec_buf_puts(o, "null");
    json_key(o, "errors", &first);
    pec_buf_puts(o, "[");
    for (size_t i = 0; i < a->errors.n; i++) {
        if (i)
            pec_buf_puts(o, ",");
        json_str(o, a->errors.v[i]);
    }
    pec_buf_puts(o, "]}\n");
}

/* cmd_verify - pecctl verify [--strict] [--ca FILE]... [--crl FILE]... [--index FILE] MESSAGE...  (--strict:
 * judge as a reception point does, so trust anchors and an index are required) */
int cmd_verify(int argc, char **argv)
{
    struct pec_analyze_opts opts = { NULL, NULL, time(NULL) };
    struct pec_trust *trust = NULL;
    struct pec_index *index = NULL;
    struct pec_error err = { 0 };
    const char *index_file = NULL, *crls[32];
    int i, k, status = PECCTL_OK, nfiles = 0, n_crls = 0, strict = 0;

    for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        }
        if (strcmp(argv[i], "--strict") == 0) {
            strict = 1;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "pecctl verify: %s needs a value\n", argv[i]);
            status = PECCTL_USAGE;
            goto out;
        }
        if (strcmp(argv[i], "--ca") == 0) {
            if (trust == NULL)
                trust = pec_trust_new();
            if (pec_trust_add_file(trust, argv[++i], &err) < 0) {
                fprintf(stderr, "pecctl verify: %s\n", err.msg);
                status = PECCTL_USAGE;
                goto out;
            }
        } else if (strcmp(argv[i], "--crl") == 0 && n_crls < 32) {
            crls[n_crls++] = argv[++i];
        } else if (strcmp(argv[i], "--index") == 0) {
            index_file = argv[++i];
        } else {
            fprintf(stderr, "pecctl verify: unknown option %s\n", argv[i]);
            status = PECCTL_USAGE;
            goto out;
        }
    }
    if (strict && (trust == NULL || index_file == NULL)) {
        fprintf(stderr, "pecctl verify: --strict judges trust: it needs --ca and --index\n");
        status = PECCTL_USAGE;
        goto out;
    }
    /* after every --ca: a CRL must verify against one of them */
    for (k = 0; k < n_crls; k++) {
        if (trust == NULL) {
            fprintf(stderr, "pecctl verify: --crl needs --ca (the CA that signs the CRL)\n");
            status = PECCTL_USAGE;
            goto out;
        }
        if (pec_trust_add_crl_file(trust, crls[k], opts.now, &err) < 0) {
            fprintf(stderr, "pecctl verify: %s\n", err.msg);
            status = PECCTL_USAGE;
            goto out;
        }
    }
    if (index_file && (index = pec_index_load_file(index_file, trust, opts.now, &err)) == NULL) {
        fprintf(stderr, "pecctl verify: %s\n", err.msg);
        status = PECCTL_USAGE;
        goto out;
    }
    opts.trust = trust;
    opts.index = index;
    for (; i < argc; i++, nfiles++) {
        struct pec_buf raw = PEC_BUF_INIT, line = PEC_BUF_INIT;
        struct pec_analysis a;

        if (read_file(argv[i], &raw, &err) < 0) {
            memset(&a, 0, sizeof(a));
            a.kind = PEC_KIND_MALFORMATA;
            pec_strv_push(&a.errors, err.msg);
        } else if (pec_message_analyze(raw.data ? raw.data : "", raw.len, &opts, &a, &err) < 0) {
            memset(&a, 0, sizeof(a));
            a.kind = PEC_KIND_MALFORMATA;
            pec_strv_push(&a.errors, err.msg);
        }
        verdict_json(&line, argv[i], &a);
        fwrite(line.data, 1, line.len, stdout);
        if (!a.valid)
            status = PECCTL_NOT_VALID;
        pec_analysis_clear(&a);
        pec_buf_release(&raw);
        pec_buf_release(&line);
    }
    if (nfiles == 0) {
        fprintf(stderr, "usage: pecctl verify [--strict] [--ca FILE]... [--crl FILE]... [--index FILE] MESSAGE...\n");
        status = PECCTL_USAGE;
    }
out:
    pec_index_free(&index);
    pec_trust_free(&trust);
    return status;
}
