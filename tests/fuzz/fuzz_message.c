/* fuzz_message.c - pec_message_analyze as the reception and delivery points call it (trust store and
 * index given, so the signature, chain and provider checks run), then the access point's readers of an
 * original: pec_message_facts and pec_message_header_fields, and what the reception and delivery points
 * read of an ordinary answer (pec_inreply_read: its referenced ids, its answerers). */
#include <string.h>
#include "fuzz.h"
#include "pec/access.h"
#include "pec/inreply.h"
#include "pec/message.h"

/* LLVMFuzzerInitialize - the golden trust store and index, once */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_fixture();
    return 0;
}

/* LLVMFuzzerTestOneInput - one raw message */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const own[] = { FUZZ_DOMAIN };
    struct pec_analyze_opts opts = { fuzz_trust, fuzz_index, FUZZ_NOW };
    struct pec_strv names = PEC_STRV_INIT, values = PEC_STRV_INIT;
    struct pec_analysis a;
    struct pec_daticert facts;
    struct pec_error err = { 0 };
    struct pec_inreply r;

    if (pec_message_analyze(data, size, &opts, &a, &err) == 0) {
        /* a verdict is consistent: valid means no reasons, and a kind was decided */
        if (a.valid && (a.errors.n != 0 || a.kind == PEC_KIND_MALFORMATA || a.sig.status != PEC_SIG_VALID))
            abort();
        pec_analysis_clear(&a);
    }
    memset(&facts, 0, sizeof(facts));
    if (pec_message_facts(data, size, fuzz_index, own, 1, &facts, &err) == 0)
        pec_daticert_clear(&facts);
    if (pec_message_header_fields(data, size, &names, &values, &err) == 0 && names.n != values.n)
        abort();
    pec_strv_clear(&names);
    pec_strv_clear(&values);
    pec_inreply_read(data, size, &r);
    if (r.ids.n > PEC_INREPLY_MAX || r.answerers.n > PEC_INREPLY_MAX)
        abort();
    for (size_t i = 0; i < r.answerers.n; i++)
        if (strchr(r.answerers.v[i], '@') == NULL)
            abort();
    pec_inreply_clear(&r);
    return 0;
}
