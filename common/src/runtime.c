/* runtime.c - load a provider's configuration and the objects it names. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include "pec/log.h"
#include "pec/clamd.h"
#include "pec/runtime.h"

/* pec_runtime_load - configuration, signer, trust, index, identifiers */
struct pec_runtime *pec_runtime_load(const char *config_path, time_t now, struct pec_error *err)
{
    struct pec_runtime *rt = calloc(1, sizeof(*rt));

    if (rt == NULL)
        pec_panic("out of memory");
    if ((rt->cfg = pec_config_load(config_path, err)) == NULL)
        goto fail;
    if ((rt->signer = pec_signer_load(rt->cfg->cert_file, rt->cfg->key_file, rt->cfg->chain_file, err)) == NULL)
        goto fail;
    if (rt->cfg->n_trust_files > 0) {
        rt->trust = pec_trust_new();
        for (size_t i = 0; i < rt->cfg->n_trust_files; i++)
            if (pec_trust_add_file(rt->trust, rt->cfg->trust_files[i], err) < 0)
                goto fail;
        /* after the anchors: each CRL must verify against one of them */
        for (size_t i = 0; i < rt->cfg->n_crl_files; i++)
            if (pec_trust_add_crl_file(rt->trust, rt->cfg->crl_files[i], now, err) < 0)
                goto fail;
        pec_trust_refuse_stale_crls(rt->trust, rt->cfg->crl_stale_refuse);
    }
    if (rt->cfg->index_file && (rt->index = pec_index_load_file(rt->cfg->index_file, rt->trust, now, err)) == NULL)
        goto fail;
    rt->ids = pec_idgen_new(rt->cfg->node_id, rt->cfg->mail_domain);
    rt->issuer.gestore = rt->cfg->provider_name;
    rt->issuer.service_address = rt->cfg->service_address;
    rt->issuer.signer = rt->signer;
    rt->issuer.digest = rt->cfg->sign_digest;
    rt->issuer.ids = rt->ids;
    return rt;
fail:
    pec_runtime_free(&rt);
    return NULL;
}

/* pec_runtime_free - release everything */
void pec_runtime_free(struct pec_runtime **rt)
{
    if (rt == NULL || *rt == NULL)
        return;
    pec_idgen_free(&(*rt)->ids);
    pec_index_free(&(*rt)->index);
    pec_trust_free(&(*rt)->trust);
    pec_signer_free(&(*rt)->signer);
    pec_config_unref(&(*rt)->cfg);
    free(*rt);
    *rt = NULL;
}

/* report - one line "file[:line]: text" through fn */
static void report(pec_report_fn fn, void *ctx, const struct pec_config *cfg, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void report(pec_report_fn fn, void *ctx, const struct pec_config *cfg, const char *key, const char *fmt, ...)
{
    char text[1024], line[1200];
    unsigned at = key ? pec_config_key_line(cfg, key) : 0;
    va_list ap;

    if (fn == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    if (at > 0)
        snprintf(line, sizeof(line), "%s:%u: %s", cfg->path, at, text);
    else
        snprintf(line, sizeof(line), "%s: %s", cfg->path, text);
    fn(ctx, line);
}

/* pec_runtime_check - see runtime.h */
int pec_runtime_check(const struct pec_runtime *rt, enum pec_role role, int have_index, pec_report_fn problem,
                      pec_report_fn notice, void *ctx)
{
    static const char *const names[] = { "access point", "reception point", "emitter", "delivery point" };
    const struct pec_config *cfg = rt->cfg;
    int verifies = role != PEC_ROLE_EMITTER, scans = role == PEC_ROLE_ACCESS || role == PEC_ROLE_RECEPTION;
    const char *email = pec_signer_email(rt->signer), *name = names[role];
    struct stat st;
    int n = 0;

    if (verifies && rt->trust == NULL && ++n)
        report(problem, ctx, cfg, NULL, "the %s verifies signatures: trust_file (the providers' CA) is required", name);
    if (verifies && !have_index && ++n)
        report(problem, ctx, cfg, "index_file", "the %s needs the provider index: %s", name,
               role == PEC_ROLE_DELIVERY ? "index_file is required"
                                         : "index_file, or `pecctl index import` into the database");
    if (scans && cfg->clamd_socket == NULL && !cfg->allow_unscanned && ++n)
        report(problem, ctx, cfg, NULL, "the %s scans for viruses: clamd_socket is required (or allow_unscanned = "
               "yes)", name);
    if (cfg->database == NULL && !cfg->allow_untraced && ++n)
        report(problem, ctx, cfg, NULL, "the %s writes the trace: database is required (or allow_untraced = yes)",
               name);
    if (stat(cfg->key_file, &st) < 0 && ++n)
        report(problem, ctx, cfg, "key_file", "key_file %s: %s", cfg->key_file, strerror(errno));
    else if ((st.st_mode & 077) != 0 && ++n)
        report(problem, ctx, cfg, "key_file", "key_file %s is readable by group or others (mode %04o): it must be "
               "the owner's only (chmod 600)", cfg->key_file, (unsigned)(st.st_mode & 07777));
    if ((email == NULL || strcasecmp(email, cfg->service_address) != 0) && ++n)
        report(problem, ctx, cfg, "cert_file", "the certificate %s names %s in its rfc822Name, not the service "
               "address %s", cfg->cert_file, email ? email : "no address", cfg->service_address);
    if (scans && cfg->clamd_socket != NULL) {
        /* a clamd that cuts streams below max_message_size would tempfail every large message for ever */
        struct pec_error e = { 0 };
        int fits = pec_clamd_stream_fits(cfg->clamd_socket, (size_t)cfg->max_message_size, &e);
        if (fits == 0 && ++n)
            report(problem, ctx, cfg, "clamd_socket", "clamd at %s refuses streams of max_message_size (%llu bytes): "
                   "set StreamMaxLength in clamd.conf to at least that", cfg->clamd_socket, cfg->max_message_size);
        else if (fits < 0)
            report(notice, ctx, cfg, "clamd_socket", "cannot check clamd's StreamMaxLength now: %s", e.msg);
    }
    if (scans && cfg->clamd_socket == NULL && cfg->allow_unscanned)
        report(notice, ctx, cfg, "allow_unscanned", "allow_unscanned = yes: messages are NOT scanned for viruses");
    if (cfg->database == NULL && cfg->allow_untraced)
        report(notice, ctx, cfg, "allow_untraced", "allow_untraced = yes: events are only logged, NOT traced (never "
               "for a provider in service)");
    return n;
}
