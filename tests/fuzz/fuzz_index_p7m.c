/* fuzz_index_p7m - the signed provider index (.ldif.p7m, CMS SignedData in DER) as pecctl index import and
 * pec_index_load_file read it: unwrapped against the golden trust store, then parsed when it verifies. */
#include "fuzz.h"

/* LLVMFuzzerInitialize - the golden trust store, once */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_fixture();
    return 0;
}

/* LLVMFuzzerTestOneInput - one index.ldif.p7m */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pec_buf ldif = PEC_BUF_INIT;
    struct pec_error err = { 0 };
    struct pec_index *idx;

    if (pec_index_unwrap("fuzz.ldif.p7m", data, size, fuzz_trust, FUZZ_NOW, &ldif, NULL, &err) == 0 &&
        (idx = pec_index_parse_ldif(ldif.data, ldif.len, &err)) != NULL) {
        fuzz_index_walk(idx);
        pec_index_free(&idx);
    }
    pec_buf_release(&ldif);
    return 0;
}
