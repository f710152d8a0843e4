/* compose_text.c - the Italian texts of the messages a provider emits (one table, one function) and the
 * errore_esteso coding of the mancata consegna. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "compose_internal.h"
#include "pec/clock.h"
#include "pec/buf.h"

const struct msg_shape compose_shapes[PEC_MSG_COUNT] = {
    [PEC_MSG_BUSTA_TRASPORTO] = { "busta-trasporto", NULL, "POSTA CERTIFICATA: ", PEC_TIPO_POSTA_CERTIFICATA,
                                  PEC_ERRORE_NESSUNO, 0 },
    [PEC_MSG_BUSTA_ANOMALIA] = { "busta-anomalia", NULL, "ANOMALIA MESSAGGIO: ", PEC_TIPO_NONE, PEC_ERRORE_NESSUNO,
                                 0 },
    [PEC_MSG_ACCETTAZIONE] = { "accettazione", "accettazione", "ACCETTAZIONE: ", PEC_TIPO_ACCETTAZIONE,
                               PEC_ERRORE_NESSUNO, 0 },
    [PEC_MSG_NON_ACCETTAZIONE] = { "non-accettazione", "non-accettazione", "AVVISO DI NON ACCETTAZIONE: ",
                                   PEC_TIPO_NON_ACCETTAZIONE, PEC_ERRORE_ALTRO, 0 },
    [PEC_MSG_NON_ACCETTAZIONE_VIRUS] = { "non-accettazione-virus", "non-accettazione",
                                         "AVVISO DI NON ACCETTAZIONE PER VIRUS: ", PEC_TIPO_NON_ACCETTAZIONE,
                                         PEC_ERRORE_VIRUS, 1 },
    [PEC_MSG_PRESA_IN_CARICO] = { "presa-in-carico", "presa-in-carico", "PRESA IN CARICO: ",
                                  PEC_TIPO_PRESA_IN_CARICO, PEC_ERRORE_NESSUNO, 0 },
    [PEC_MSG_AVVENUTA_CONSEGNA] = { "avvenuta-consegna", "avvenuta-consegna", "CONSEGNA: ",
                                    PEC_TIPO_AVVENUTA_CONSEGNA, PEC_ERRORE_NESSUNO, 0 },
    [PEC_MSG_ERRORE_CONSEGNA] = { "errore-consegna", "errore-consegna", "AVVISO DI MANCATA CONSEGNA: ",
                                  PEC_TIPO_ERRORE_CONSEGNA, PEC_ERRORE_ALTRO, 0 },
    [PEC_MSG_ERRORE_CONSEGNA_VIRUS] = { "errore-consegna-virus", "errore-consegna",
                                        "AVVISO DI MANCATA CONSEGNA PER VIRUS: ", PEC_TIPO_ERRORE_CONSEGNA,
                                        PEC_ERRORE_VIRUS, 1 },
    [PEC_MSG_PREAVVISO_12H] = { "preavviso-errore-consegna-12h", "preavviso-errore-consegna",
                                "AVVISO DI MANCATA CONSEGNA PER SUP. TEMPO MASSIMO: ",
                                PEC_TIPO_PREAVVISO_ERRORE_CONSEGNA, PEC_ERRORE_NESSUNO, 0 },
    [PEC_MSG_PREAVVISO_24H] = { "preavviso-errore-consegna-24h", "preavviso-errore-consegna",
                                "AVVISO DI MANCATA CONSEGNA PER SUP. TEMPO MASSIMO: ",
                                PEC_TIPO_PREAVVISO_ERRORE_CONSEGNA, PEC_ERRORE_NESSUNO, 0 },
    [PEC_MSG_RILEVAZIONE_VIRUS] = { "rilevazione-virus", "rilevazione-virus", "PROBLEMA DI SICUREZZA: ",
                                    PEC_TIPO_RILEVAZIONE_VIRUS, PEC_ERRORE_VIRUS, 0 },
};

/* line - append one formatted line */
static void line(struct pec_strv *lines, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void line(struct pec_strv *lines, const char *fmt, ...)
{
    char buf[4096], *valid;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    /* a long subject is cut here, possibly inside a character: the ISO-8859-1 conversion (which aborts)
     * and the HTML escaping need valid UTF-8 */
    valid = g_utf8_make_valid(buf, -1);
    pec_strv_push(lines, valid);
    g_free(valid);
}

/* recipient_lines - every original recipient, marked certified or ordinary as the acceptance does */
static void recipient_lines(struct pec_strv *lines, const struct pec_daticert *d, int mark)
{
    for (size_t i = 0; i < d->n_destinatari; i++)
        if (mark)
            line(lines, "%s (\"%s\")", d->destinatari[i].addr,
                 d->destinatari[i].esterno ? "posta ordinaria" : "posta certificata");
        else
            line(lines, "%s", d->destinatari[i].addr);
}

/* compose_text - the readable text, a few lines per type */
void compose_text(const struct pec_compose *c, const struct pec_daticert *d, struct pec_strv *lines)
{
    struct pec_legal_time lt;
    const char *subj = d->oggetto ? d->oggetto : "";
    const char *who = d->consegna ? d->consegna : "";
    const char *cause = c->reason ? c->reason : (d->errore_esteso ? d->errore_esteso : "errore non specificato");
    const char *virus = c->virus ? c->virus : (d->errore_esteso ? d->errore_esteso : "sconosciuto");

    pec_legal_time(c->when, &lt);
    switch (c->type) {
    case PEC_MSG_BUSTA_TRASPORTO:
        line(lines, "Messaggio di posta certificata");
        line(lines, "%s", "");
        line(lines, "Il giorno %s alle ore %s (%s) il messaggio", lt.giorno, lt.ora, lt.zona);
        line(lines, "\"%s\" è stato inviato da \"%s\"", subj, d->mittente);
        line(lines, "indirizzato a:");
        recipient_lines(lines, d, 0);
        line(lines, "Il messaggio originale è incluso in allegato.");
        break;
    case PEC_MSG_BUSTA_ANOMALIA:
        line(lines, "Anomalia nel messaggio");
        line(lines, "%s", "");
        line(lines, "Il giorno %s alle ore %s (%s) è stato ricevuto", lt.giorno, lt.ora, lt.zona);
        line(lines, "il messaggio \"%s\" proveniente da \"%s\"", subj, d->mittente);
        line(lines, "ed indirizzato a:");
        recipient_lines(lines, d, 0);
        line(lines, "Tali dati non sono stati certificati per il seguente errore:");
        line(lines, "%s", cause);
        line(lines, "Il messaggio originale è incluso in allegato.");
        return; /* an anomaly has no identificativo */
    case PEC_MSG_ACCETTAZIONE:
        line(lines, "Ricevuta di accettazione");
        line(lines, "%s", "");
        line(lines, "Il giorno %s alle ore %s (%s) il messaggio", lt.giorno, lt.ora, lt.zona);
        line(lines, "\"%s\" proveniente da \"%s\"", subj, d->mittente);
        line(lines, "ed indirizzato a:");
        recipient_lines(lines, d, 1);
        line(lines, "è stato accettato dal sistema ed inoltrato.");
        break;
    case PEC_MSG_NON_ACCETTAZIONE:
    case PEC_MSG_NON_ACCETTAZIONE_VIRUS:
        line(lines, "Avviso di non accettazione");
        line(lines, "%s", "");
        line(lines, "Il giorno %s alle ore %s (%s) il messaggio", lt.giorno, lt.ora, lt.zona);
        line(lines, "\"%s\" proveniente da \"%s\"", subj, d->mittente);
        line(lines, "ed indirizzato a:");
        recipient_lines(lines, d, 1);
        if (c->type == PEC_MSG_NON_ACCETTAZIONE_VIRUS)
            line(lines, "non può essere accettato perché contiene un virus informatico: %s", virus);
        else
            line(lines, "non può essere accettato a causa di: %s", cause);
        line(lines, "Il messaggio non è stato accettato.");
        break;
    case PEC_MSG_PRESA_IN_CARICO:
        line(lines, "Ricevuta di presa in carico");
        line(lines, "%s", "");
        line(lines, "Il giorno %s alle ore %s (%s) il messaggio", lt.giorno, lt.ora, lt.zona);
        line(lines, "\"%s\" proveniente da \"%s\"", subj, d->mittente);
        line(lines, "ed indirizzato a:");
        for (size_t i = 0; i < d->n_ricezione; i++)
            line(lines, "%s", d->ricezione[i]);
        line(lines, "è stato accettato dal sistema (presa in carico).");
        break;
    case PEC_MSG_AVVENUTA_CONSEGNA:
        line(lines, "Ricevuta di avvenuta consegna");
        line(lines, "%s", "");
        line(lines, "Il giorno %s alle ore %s (%s) il messaggio", lt.giorno, lt.ora, lt.zona);
        line(lines, "\"%s\" proveniente da \"%s\"", subj, d->mittente);
        line(lines, "ed indirizzato a \"%s\"", who);
        line(lines, "è stato correttamente consegnato al destinatario.");
        if (d->ricevuta == PEC_RICEVUTA_BREVE)
            line(lines, "In allegato il messaggio originale, con gli allegati sostituiti dai loro codici hash SHA-1.");
        else if (d->ricevuta != PEC_RICEVUTA_SINTETICA)
            line(lines, "Il messaggio originale è incluso in allegato.");
        break;
    case PEC_MSG_ERRORE_CONSEGNA:
    case PEC_MSG_ERRORE_CONSEGNA_VIRUS:
        line(lines, "Avviso di mancata consegna");
        line(lines, "%s", "");
        line(lines, "Il giorno %s alle ore %s (%s) nel messaggio", lt.giorno, lt.ora, lt.zona);
        line(lines, "\"%s\" proveniente da \"%s\"", subj, d->mittente);
        line(lines, "e destinato all'utente \"%s\"", who);
        if (c->type == PEC_MSG_ERRORE_CONSEGNA_VIRUS)
            line(lines, "è stato rilevato un virus informatico: %s", virus);
        else
            line(lines, "è stato rilevato un errore: %s", cause);
        line(lines, "Il messaggio non è stato consegnato.");
        break;
    case PEC_MSG_PREAVVISO_12H:
    case PEC_MSG_PREAVVISO_24H:
        line(lines, "Avviso di mancata consegna per superamento dei tempi massimi");
        line(lines, "%s", "");
        line(lines, "Il giorno %s alle ore %s (%s) il messaggio", lt.giorno, lt.ora, lt.zona);
        line(lines, "\"%s\" proveniente da \"%s\"", subj, d->mittente);
        line(lines, "ed indirizzato a \"%s\"", who);
        if (c->type == PEC_MSG_PREAVVISO_12H) {
            line(lines, "non è stato consegnato nelle prime 12 ore dal suo invio.");
            line(lines, "Il messaggio potrebbe ancora essere consegnato: se non lo sarà nelle prossime 12 ore,");
            line(lines, "riceverà un ulteriore avviso.");
        } else {
            line(lines, "non è stato consegnato entro 24 ore dal suo invio.");
            line(lines, "La trasmissione è da considerarsi conclusa con esito negativo.");
        }
        break;
    case PEC_MSG_RILEVAZIONE_VIRUS:
        line(lines, "Problema di sicurezza");
        line(lines, "%s", "");
        line(lines, "Il giorno %s alle ore %s (%s) nel messaggio", lt.giorno, lt.ora, lt.zona);
        line(lines, "\"%s\" proveniente da \"%s\"", subj, d->mittente);
        line(lines, "ed indirizzato a \"%s\"", who);
        line(lines, "è stato rilevato un virus informatico: %s", virus);
        line(lines, "Il messaggio non è stato consegnato.");
        break;
    case PEC_MSG_COUNT:
        break;
    }
    line(lines, "Identificativo messaggio: %s", d->identificativo ? d->identificativo : "");
    if (compose_shapes[c->type].tipo != PEC_TIPO_NONE)
        line(lines, "L'allegato daticert.xml contiene informazioni di servizio sulla trasmissione.");
}

/* pec_compose_errore_esteso - the observed "<status> - <gestore> - <text>" coding (NOTA 12 style), here
 * with the other texts of the receipts: the delivery and the reception point both write it */
void pec_compose_errore_esteso(const char *gestore, enum pec_delivery_failure f, char *out, size_t outlen)
{
    static const char *const code[] = { "5.2.2", "5.2.1", "5.1.1", "5.0.0" };
    static const char *const text[] = { "casella piena", "casella disattivata", "indirizzo non valido",
                                        "errore di consegna" };

    snprintf(out, outlen, "%s - %s - %s", code[f], gestore, text[f]);
}
