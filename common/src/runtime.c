/* runtime.c - load a provider's configuration and the objects it names. */
#include <stdlib.h>
#include "pec/log.h"
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
