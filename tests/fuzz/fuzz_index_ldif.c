/* fuzz_index_ldif - the provider index as plain LDIF (pec_index_parse_ldif), then every lookup on it. */
#include "fuzz.h"

/* LLVMFuzzerInitialize - the parser needs no fixture */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    pec_log_set_sink(fuzz_quiet, NULL);
    return 0;
}

/* LLVMFuzzerTestOneInput - one index.ldif */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pec_error err = { 0 };
    struct pec_index *idx = pec_index_parse_ldif(data, size, &err);

    if (idx == NULL)
        return 0;
    fuzz_index_walk(idx);
    (void)pec_index_by_address(idx, "user@" FUZZ_DOMAIN);
    (void)pec_index_by_cert_sha1(idx, "0123456789abcdef0123456789abcdef01234567");
    pec_index_free(&idx);
    return 0;
}
