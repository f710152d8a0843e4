/* trace_event.c - event type names and the checks an event passes before it reaches the log. */
#include <string.h>
#include "pec/text.h"
#include "trace_internal.h"

/* the largest field we accept: a 100 KB subject fits, a runaway buffer does not */
#define TRACE_FIELD_MAX (1024 * 1024)
#define TRACE_RCPTS_MAX 100000

/* stable names: they are stored in the log and hashed, never rename one */
static const char *const type_names[PEC_TRACE_TYPE_COUNT] = {
    [PEC_TRACE_ACCETTAZIONE] = "accettazione",
    [PEC_TRACE_NON_ACCETTAZIONE] = "non-accettazione",
    [PEC_TRACE_NON_ACCETTAZIONE_VIRUS] = "non-accettazione-virus",
    [PEC_TRACE_BUSTA_TRASPORTO] = "busta-trasporto",
    [PEC_TRACE_PRESA_IN_CARICO] = "presa-in-carico",
    [PEC_TRACE_AVVENUTA_CONSEGNA] = "avvenuta-consegna",
    [PEC_TRACE_ERRORE_CONSEGNA] = "errore-consegna",
    [PEC_TRACE_ERRORE_CONSEGNA_VIRUS] = "errore-consegna-virus",
    [PEC_TRACE_PREAVVISO_12H] = "preavviso-errore-consegna-12h",
    [PEC_TRACE_PREAVVISO_24H] = "preavviso-errore-consegna-24h",
    [PEC_TRACE_RILEVAZIONE_VIRUS] = "rilevazione-virus",
    [PEC_TRACE_BUSTA_ANOMALIA] = "busta-anomalia",
    [PEC_TRACE_RICEZIONE] = "ricezione",
    [PEC_TRACE_CONSEGNA] = "consegna",
    [PEC_TRACE_NOTIFICA] = "notifica",
    [PEC_TRACE_ARCHIVIO_MANCATO] = "archivio-mancato",
    [PEC_TRACE_RICEVUTA_RIFIUTATA] = "ricevuta-rifiutata",
};

/* pec_trace_type_name - the stored name of a type, NULL when unknown */
const char *pec_trace_type_name(enum pec_trace_type type)
{
    return (unsigned)type < PEC_TRACE_TYPE_COUNT ? type_names[type] : NULL;
}

/* pec_trace_type_parse - the type of a stored name */
enum pec_trace_type pec_trace_type_parse(const char *name)
{
    int i;

    for (i = 1; name != NULL && i < PEC_TRACE_TYPE_COUNT; i++)
        if (strcmp(type_names[i], name) == 0)
            return (enum pec_trace_type)i;
    return PEC_TRACE_NONE;
}

/* pec_trace_rcpt_kind_name - "certificato", "esterno" or "" */
const char *pec_trace_rcpt_kind_name(enum pec_trace_rcpt_kind kind)
{
    return kind == PEC_RCPT_CERTIFICATO ? "certificato" : kind == PEC_RCPT_ESTERNO ? "esterno" : "";
}

/* trace_check_text - valid UTF-8, no control characters but TAB (they would forge lines in reports) */
int trace_check_text(const char *what, const char *s, struct pec_error *err)
{
    const char *bad;
    long cp;

    if (s == NULL)
        return 0;
    if (strlen(s) > TRACE_FIELD_MAX) {
        pec_error_set(err, PEC_ERR_INVALID, "trace: %s longer than %d bytes", what, TRACE_FIELD_MAX);
        return -1;
    }
    if (pec_text_utf8_valid(s, PEC_TEXT_NO_CONTROLS, &bad, &cp))
        return 0;
    if (cp >= 0)
        pec_error_set(err, PEC_ERR_INVALID, "trace: %s contains control character 0x%02x", what, (unsigned)cp);
    else
        pec_error_set(err, PEC_ERR_INVALID, "trace: %s is not valid UTF-8 (byte 0x%02x at offset %zu)", what,
                      (unsigned char)*bad, (size_t)(bad - s));
    return -1;
}

/* check_bytes - any bytes are kept verbatim; only the size is bounded */
static int check_bytes(const char *what, const char *s, struct pec_error *err)
{
    if (s != NULL && strlen(s) > TRACE_FIELD_MAX) {
        pec_error_set(err, PEC_ERR_INVALID, "trace: %s longer than %d bytes", what, TRACE_FIELD_MAX);
        return -1;
    }
    return 0;
}

/* trace_check_event - reject what the log cannot hold verbatim */
int trace_check_event(const struct pec_trace_event *ev, struct pec_error *err)
{
    size_t i;

    if (pec_trace_type_name(ev->type) == NULL) {
        pec_error_set(err, PEC_ERR_INVALID, "trace: unknown event type %d", (int)ev->type);
        return -1;
    }
    if (ev->n_rcpts > TRACE_RCPTS_MAX || (ev->n_rcpts > 0 && ev->rcpts == NULL)) {
        pec_error_set(err, PEC_ERR_INVALID, "trace: bad recipient list (%zu)", ev->n_rcpts);
        return -1;
    }
    for (i = 0; i < ev->n_rcpts; i++) {
        if (ev->rcpts[i].address == NULL) {
            pec_error_set(err, PEC_ERR_INVALID, "trace: recipient %zu has no address", i + 1);
            return -1;
        }
        if (trace_check_text("recipient", ev->rcpts[i].address, err) < 0)
            return -1;
    }
    if (trace_check_text("identificativo", ev->identificativo, err) < 0 ||
        trace_check_text("message-id", ev->message_id, err) < 0 ||
        trace_check_text("queue id", ev->queue_id, err) < 0 || trace_check_text("sender", ev->sender, err) < 0 ||
        trace_check_text("gestore", ev->gestore, err) < 0 ||
        trace_check_text("receipt type", ev->receipt_type, err) < 0 ||
        trace_check_text("errore", ev->errore, err) < 0 || trace_check_text("virus", ev->virus, err) < 0 ||
        check_bytes("subject", ev->subject, err) < 0 || check_bytes("errore-esteso", ev->errore_esteso, err) < 0)
        return -1;
    return 0;
}
