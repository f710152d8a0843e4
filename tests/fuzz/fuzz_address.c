/* fuzz_address - the address list parser (pec_addr_list_parse) alone, far faster than through a message:
 * every header that names mailboxes passes through it, and GMime's strict parser leaked on syntax that
 * the checks in front of it now refuse. */
#include "fuzz.h"

/* LLVMFuzzerInitialize - the parser needs no fixture */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    pec_log_set_sink(fuzz_quiet, NULL);
    return 0;
}

/* LLVMFuzzerTestOneInput - one header value (up to its first NUL, as a header holds) */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pec_strv out = PEC_STRV_INIT;
    struct pec_error err = { 0 };
    char *value = strndup((const char *)data, size);
    int n;

    if (value == NULL)
        abort();
    n = pec_addr_list_parse(value, &out, &err);
    if (n < 0 ? err.cls != PEC_ERR_INVALID || err.msg[0] == '\0' : (size_t)n != out.n)
        abort(); /* a refusal says why; a success adds what it counts */
    for (size_t i = 0; i < out.n; i++)
        if (strchr(out.v[i], '@') == NULL || pec_addr_domain(out.v[i])[0] == '\0')
            abort(); /* only mailboxes with a domain */
    pec_strv_clear(&out);
    free(value);
    return 0;
}
