/* anomaly.c - the causes of a busta di anomalia: the reception point's mark and the user's reason. */
#include <string.h>
#include <strings.h>
#include "pec/anomaly.h"

static const struct {
    const char *name, *text;
} causes[] = {
    [PEC_ANOMALY_ORDINARY] = { "ordinaria", "il messaggio non è un messaggio di posta certificata" },
    [PEC_ANOMALY_ANSWER] = { "risposta", "il messaggio è una risposta o un avviso di mancato recapito inviato da "
                                         "un sistema di posta non certificata a un messaggio di posta certificata" },
    [PEC_ANOMALY_SIGNATURE] = { "firma", "la firma digitale del messaggio non risulta valida o attendibile" },
    [PEC_ANOMALY_FORMAL] = { "formale", "il messaggio di posta certificata non ha superato i controlli formali "
                                        "previsti dalle regole tecniche" },
};

/* pec_anomaly_name - the mark's value */
const char *pec_anomaly_name(enum pec_anomaly cause)
{
    return cause > PEC_ANOMALY_NONE && cause <= PEC_ANOMALY_FORMAL ? causes[cause].name : "ordinaria";
}

/* pec_anomaly_by_name - the cause a mark names */
enum pec_anomaly pec_anomaly_by_name(const char *name)
{
    for (int i = PEC_ANOMALY_ORDINARY; name && i <= PEC_ANOMALY_FORMAL; i++)
        if (strcasecmp(name, causes[i].name) == 0)
            return (enum pec_anomaly)i;
    return PEC_ANOMALY_NONE;
}

/* pec_anomaly_text - the user's reason */
const char *pec_anomaly_text(enum pec_anomaly cause)
{
    return causes[cause > PEC_ANOMALY_NONE && cause <= PEC_ANOMALY_FORMAL ? cause : PEC_ANOMALY_ORDINARY].text;
}

/* pec_anomaly_of - a listed provider's valid signature makes the failure formal; any other signature, or
 * one that does not hold, is a signature failure; unsigned mail is ordinary */
enum pec_anomaly pec_anomaly_of(const struct pec_analysis *a)
{
    if (a->gestore_signed)
        return PEC_ANOMALY_FORMAL;
    if (a->sig.status != PEC_SIG_ABSENT)
        return PEC_ANOMALY_SIGNATURE;
    return PEC_ANOMALY_ORDINARY;
}
