/* fuzz_config - the provider configuration parser (pec_config_parse), then every accessor on a snapshot. */
#include "fuzz.h"
#include "pec/config.h"

/* LLVMFuzzerInitialize - the parser needs no fixture */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    pec_log_set_sink(fuzz_quiet, NULL);
    return 0;
}

/* LLVMFuzzerTestOneInput - one provider.conf */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const keys[] = { "provider_name", "managed_domains", "trust_file", "crl_file", "node_id",
                                        "no_such_key" };
    struct pec_error err = { 0 };
    const struct pec_config *cfg = pec_config_parse((const char *)data, size, "fuzz.conf", &err), *ref;

    if (cfg == NULL) {
        if (err.cls != PEC_ERR_INVALID)
            abort(); /* a refused file always says why */
        return 0;
    }
    /* what the daemons rely on after a successful load */
    if (cfg->provider_name == NULL || cfg->mail_domain == NULL || cfg->service_address == NULL ||
        cfg->n_managed_domains == 0 || cfg->cert_file == NULL || cfg->key_file == NULL ||
        cfg->sendmail_command == NULL)
        abort();
    for (size_t i = 0; i < cfg->n_managed_domains; i++)
        if (!pec_config_manages(cfg, cfg->managed_domains[i]))
            abort();
    for (size_t i = 0; i < cfg->n_trust_files; i++)
        (void)strlen(cfg->trust_files[i]);
    for (size_t i = 0; i < cfg->n_crl_files; i++)
        (void)strlen(cfg->crl_files[i]);
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        (void)pec_config_key_line(cfg, keys[i]);
    ref = pec_config_ref(cfg);
    pec_config_unref(&ref);
    pec_config_unref(&cfg);
    return 0;
}
