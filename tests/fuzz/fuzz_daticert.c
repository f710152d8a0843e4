/* fuzz_daticert.c - pec_daticert_parse; a document it accepts must survive render and parse again with
 * the same certification data (a reception point re-renders what it read into its own receipts). */
#include <string.h>
#include "fuzz.h"
#include "pec/daticert.h"

/* LLVMFuzzerInitialize - nothing to load: the parser needs no fixture */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    pec_log_set_sink(fuzz_quiet, NULL);
    return 0;
}

/* same_str - both NULL or equal */
static int same_str(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* same_facts - what a render/parse round trip must keep */
static int same_facts(const struct pec_daticert *a, const struct pec_daticert *b)
{
    if (a->tipo != b->tipo || a->errore != b->errore || a->when != b->when || a->ricevuta != b->ricevuta ||
        a->n_destinatari != b->n_destinatari || a->n_ricezione != b->n_ricezione)
        return 0;
    if (!same_str(a->mittente, b->mittente) || !same_str(a->risposte, b->risposte) ||
        !same_str(a->oggetto, b->oggetto) || !same_str(a->gestore, b->gestore) ||
        !same_str(a->identificativo, b->identificativo) || !same_str(a->msgid, b->msgid) ||
        !same_str(a->consegna, b->consegna) || !same_str(a->errore_esteso, b->errore_esteso))
        return 0;
    for (size_t i = 0; i < a->n_destinatari; i++)
        if (!same_str(a->destinatari[i].addr, b->destinatari[i].addr) ||
            a->destinatari[i].esterno != b->destinatari[i].esterno)
            return 0;
    for (size_t i = 0; i < a->n_ricezione; i++)
        if (!same_str(a->ricezione[i], b->ricezione[i]))
            return 0;
    return 1;
}

/* LLVMFuzzerTestOneInput - one daticert.xml */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pec_daticert d, again;
    struct pec_buf xml = PEC_BUF_INIT;
    struct pec_error err = { 0 };

    if (pec_daticert_parse(data, size, &d, &err) < 0)
        return 0;
    if (pec_daticert_render(&d, &xml, &err) == 0) {
        if (pec_daticert_parse(xml.data, xml.len, &again, &err) < 0) {
            fprintf(stderr, "rendered daticert does not parse: %s\n%.*s\n", err.msg, (int)xml.len, xml.data);
            abort();
        }
        if (!same_facts(&d, &again)) {
            fprintf(stderr, "round trip changed the daticert:\n%.*s\n", (int)xml.len, xml.data);
            abort();
        }
        pec_daticert_clear(&again);
    }
    pec_buf_release(&xml);
    pec_daticert_clear(&d);
    return 0;
}
