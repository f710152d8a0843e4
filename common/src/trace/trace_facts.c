/* trace_facts.c - map a PEC message to its trace event and recipient state updates: one mapping for a
 * message read back (the reception point) and for one we build (the points, before spooling it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pec/log.h"
#include "pec/trace_facts.h"

/* type_of - the event type of an analysed message */
static enum pec_trace_type type_of(const struct pec_analysis *a, int received)
{
    int virus = a->x_verifica_sicurezza != NULL;

    switch (a->kind) {
    case PEC_KIND_BUSTA_TRASPORTO: return received ? PEC_TRACE_RICEZIONE : PEC_TRACE_BUSTA_TRASPORTO;
    case PEC_KIND_BUSTA_ANOMALIA: return PEC_TRACE_BUSTA_ANOMALIA;
    case PEC_KIND_RICEVUTA: break;
    default: return PEC_TRACE_NONE;
    }
    switch (a->tipo) {
    case PEC_TIPO_ACCETTAZIONE: return PEC_TRACE_ACCETTAZIONE;
    case PEC_TIPO_NON_ACCETTAZIONE: return virus ? PEC_TRACE_NON_ACCETTAZIONE_VIRUS : PEC_TRACE_NON_ACCETTAZIONE;
    case PEC_TIPO_PRESA_IN_CARICO: return PEC_TRACE_PRESA_IN_CARICO;
    case PEC_TIPO_AVVENUTA_CONSEGNA: return PEC_TRACE_AVVENUTA_CONSEGNA;
    case PEC_TIPO_ERRORE_CONSEGNA: return virus ? PEC_TRACE_ERRORE_CONSEGNA_VIRUS : PEC_TRACE_ERRORE_CONSEGNA;
    case PEC_TIPO_RILEVAZIONE_VIRUS: return PEC_TRACE_RILEVAZIONE_VIRUS;
    case PEC_TIPO_PREAVVISO_ERRORE_CONSEGNA: return PEC_TRACE_PREAVVISO_24H; /* the text alone tells 12 h */
    default: return PEC_TRACE_NONE;
    }
}

/* type_of_built - the event type of a message we build */
static enum pec_trace_type type_of_built(enum pec_msgtype t)
{
    static const enum pec_trace_type map[PEC_MSG_COUNT] = {
        [PEC_MSG_BUSTA_TRASPORTO] = PEC_TRACE_BUSTA_TRASPORTO,
        [PEC_MSG_BUSTA_ANOMALIA] = PEC_TRACE_BUSTA_ANOMALIA,
        [PEC_MSG_ACCETTAZIONE] = PEC_TRACE_ACCETTAZIONE,
        [PEC_MSG_NON_ACCETTAZIONE] = PEC_TRACE_NON_ACCETTAZIONE,
        [PEC_MSG_NON_ACCETTAZIONE_VIRUS] = PEC_TRACE_NON_ACCETTAZIONE_VIRUS,
        [PEC_MSG_PRESA_IN_CARICO] = PEC_TRACE_PRESA_IN_CARICO,
        [PEC_MSG_AVVENUTA_CONSEGNA] = PEC_TRACE_AVVENUTA_CONSEGNA,
        [PEC_MSG_ERRORE_CONSEGNA] = PEC_TRACE_ERRORE_CONSEGNA,
        [PEC_MSG_ERRORE_CONSEGNA_VIRUS] = PEC_TRACE_ERRORE_CONSEGNA_VIRUS,
        [PEC_MSG_PREAVVISO_12H] = PEC_TRACE_PREAVVISO_12H,
        [PEC_MSG_PREAVVISO_24H] = PEC_TRACE_PREAVVISO_24H,
        [PEC_MSG_RILEVAZIONE_VIRUS] = PEC_TRACE_RILEVAZIONE_VIRUS,
    };
    return t < PEC_MSG_COUNT ? map[t] : PEC_TRACE_NONE;
}

/* add_rcpt - one recipient of the event, and the state it reached when state is not 0 */
static void add_rcpt(struct pec_trace_facts *f, const struct pec_daticert *d, const char *addr,
                     enum pec_trace_state state, time_t when)
{
    size_t i = f->ev.n_rcpts;

    if (addr == NULL)
        return;
    pec_trace_facts_reserve(f, i + 1);
    f->rcpts[i].address = addr;
    f->rcpts[i].kind = PEC_RCPT_CERTIFICATO;
    f->ev.n_rcpts++;
    if (state == 0)
        return;
    f->up[f->n_up].identificativo = d->identificativo;
    f->up[f->n_up].address = addr;
    f->up[f->n_up].state = state;
    f->up[f->n_up].time = when;
    if (state == PEC_STATE_ERRORE) {
        f->up[f->n_up].errore_code = pec_errore_name(d->errore);
        f->up[f->n_up].errore_text = d->errore_esteso;
    }
    f->n_up++;
}

/* certified - the fields and recipients that the certification data gives */
static void certified(struct pec_trace_facts *f, const struct pec_daticert *d, time_t when)
{
    f->ev.identificativo = d->identificativo;
    f->ev.sender = d->mittente;
    f->ev.subject = d->oggetto;
    f->ev.gestore = d->gestore;
    f->ev.receipt_type = d->ricevuta ? pec_ricevuta_name(d->ricevuta) : NULL;
    f->ev.errore = pec_errore_name(d->errore);
    f->ev.errore_esteso = d->errore_esteso;
    if (f->ev.type == PEC_TRACE_RILEVAZIONE_VIRUS || f->ev.type == PEC_TRACE_ERRORE_CONSEGNA_VIRUS ||
        f->ev.type == PEC_TRACE_NON_ACCETTAZIONE_VIRUS)
        f->ev.virus = d->errore_esteso;
    switch (f->ev.type) {
    case PEC_TRACE_PRESA_IN_CARICO:
        for (size_t i = 0; i < d->n_ricezione; i++)
            add_rcpt(f, d, d->ricezione[i], PEC_STATE_PRESA_IN_CARICO, when);
        break;
    case PEC_TRACE_AVVENUTA_CONSEGNA:
        add_rcpt(f, d, d->consegna, PEC_STATE_CONSEGNA, when);
        break;
    case PEC_TRACE_ERRORE_CONSEGNA:
    case PEC_TRACE_ERRORE_CONSEGNA_VIRUS:
        add_rcpt(f, d, d->consegna, PEC_STATE_ERRORE, when);
        break;
    case PEC_TRACE_RILEVAZIONE_VIRUS:
    case PEC_TRACE_PREAVVISO_12H:
    case PEC_TRACE_PREAVVISO_24H:
        add_rcpt(f, d, d->consegna, 0, when);
        break;
    default:
        for (size_t i = 0; i < d->n_destinatari; i++) {
            if (d->destinatari[i].addr == NULL)
                continue;
            add_rcpt(f, d, d->destinatari[i].addr, 0, when);
            f->rcpts[f->ev.n_rcpts - 1].kind = d->destinatari[i].esterno ? PEC_RCPT_ESTERNO : PEC_RCPT_CERTIFICATO;
        }
    }
}

/* start - the fields every event has */
static void start(struct pec_trace_facts *f, enum pec_trace_type type, const char *msgid, time_t when,
                  const char *queue_id)
{
    memset(f, 0, sizeof(*f));
    pec_trace_facts_reserve(f, 1);
    f->ev.type = type;
    snprintf(f->message_id, sizeof(f->message_id), "<%s>", msgid ? msgid : "");
    f->ev.time = when;
    f->ev.message_id = f->message_id;
    f->ev.queue_id = queue_id;
    f->ev.rcpts = f->rcpts;
}

/* pec_trace_facts_reserve - grow both arrays to at least n entries */
void pec_trace_facts_reserve(struct pec_trace_facts *f, size_t n)
{
    size_t cap = f->cap ? f->cap : 8;

    if (n <= f->cap)
        return;
    while (cap < n)
        cap *= 2;
    if ((f->rcpts = realloc(f->rcpts, cap * sizeof(*f->rcpts))) == NULL ||
        (f->up = realloc(f->up, cap * sizeof(*f->up))) == NULL)
        pec_panic("out of memory (%zu trace recipients)", cap);
    memset(f->rcpts + f->cap, 0, (cap - f->cap) * sizeof(*f->rcpts));
    memset(f->up + f->cap, 0, (cap - f->cap) * sizeof(*f->up));
    f->cap = cap;
    f->ev.rcpts = f->rcpts;
}

/* pec_trace_facts_clear - free the arrays */
void pec_trace_facts_clear(struct pec_trace_facts *f)
{
    free(f->rcpts);
    free(f->up);
    f->rcpts = NULL;
    f->up = NULL;
    f->ev.rcpts = NULL;
    f->ev.n_rcpts = f->n_up = f->cap = 0;
}

/* pec_trace_facts_of - event and updates of one analysed message */
int pec_trace_facts_of(const struct pec_analysis *a, int received, time_t when, const char *queue_id,
                       struct pec_trace_facts *f)
{
    enum pec_trace_type type = type_of(a, received);

    if (type == PEC_TRACE_NONE)
        return -1;
    start(f, type, a->message_id, when, queue_id);
    f->ev.subject = a->subject;
    if (!a->has_daticert) { /* an anomaly: what its headers say */
        f->ev.sender = a->from;
        return 0;
    }
    certified(f, &a->daticert, when);
    return 0;
}

/* pec_trace_facts_built - event and updates of a message we built, from the data it was built of */
int pec_trace_facts_built(enum pec_msgtype type, const struct pec_daticert *written, const char *msgid,
                          struct pec_trace_facts *f)
{
    enum pec_trace_type t = type_of_built(type);

    if (t == PEC_TRACE_NONE || type == PEC_MSG_BUSTA_ANOMALIA)
        return -1;
    start(f, t, msgid, written->when, NULL);
    certified(f, written, written->when);
    return 0;
}

/* pec_trace_facts_compose - the encoded facts of the message pec_compose_build made of c (Message-ID
 * msgid), for the outbox entry that carries it to the sender */
int pec_trace_facts_compose(const struct pec_issuer *iss, const struct pec_compose *c, const char *msgid,
                            struct pec_buf *encoded)
{
    struct pec_trace_facts f;
    struct pec_daticert d;

    pec_compose_daticert(iss, c, &d);
    if (pec_trace_facts_built(c->type, &d, msgid, &f) < 0)
        return -1;
    pec_trace_facts_encode(&f.ev, f.up, f.n_up, encoded);
    pec_trace_facts_clear(&f);
    return 0;
}
