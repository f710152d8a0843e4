/* daticert.h - the certification data (daticert.xml, RFC 6109 §4.4 / shared/spec/daticert.dtd).
 *
 * A plain record: the caller owns the strings it puts in (render never frees them); a parsed record
 * owns its strings and is released with pec_daticert_clear().
 */
#ifndef PEC_DATICERT_H
#define PEC_DATICERT_H

#include <stddef.h>
#include <time.h>
#include "pec/buf.h"
#include "pec/error.h"

enum pec_tipo {
    PEC_TIPO_NONE = 0,
    PEC_TIPO_ACCETTAZIONE,
    PEC_TIPO_NON_ACCETTAZIONE,
    PEC_TIPO_PRESA_IN_CARICO,
    PEC_TIPO_AVVENUTA_CONSEGNA,
    PEC_TIPO_POSTA_CERTIFICATA,
    PEC_TIPO_ERRORE_CONSEGNA,
    PEC_TIPO_PREAVVISO_ERRORE_CONSEGNA,
    PEC_TIPO_RILEVAZIONE_VIRUS,
};

enum pec_errore { PEC_ERRORE_NESSUNO = 0, PEC_ERRORE_NO_DEST, PEC_ERRORE_NO_DOMINIO, PEC_ERRORE_VIRUS,
                  PEC_ERRORE_ALTRO };

enum pec_ricevuta { PEC_RICEVUTA_NONE = 0, PEC_RICEVUTA_COMPLETA, PEC_RICEVUTA_BREVE, PEC_RICEVUTA_SINTETICA };

struct pec_destinatario {
    char *addr;
    int esterno; /* 0: tipo="certificato", 1: tipo="esterno" */
};

struct pec_daticert {
    enum pec_tipo tipo;
    enum pec_errore errore;
    /* intestazione: the original message */
    char *mittente;
    struct pec_destinatario *destinatari;
    size_t n_destinatari;
    char *risposte;
    char *oggetto;        /* NULL: element omitted */
    /* dati: the event */
    char *gestore;        /* gestore-emittente */
    time_t when;          /* rendered as giorno/ora/zona in Rome legal time */
    char *identificativo;
    char *msgid;          /* client Message-ID WITH angle brackets; NULL: omitted */
    enum pec_ricevuta ricevuta; /* NONE: omitted */
    char *consegna;       /* NULL: omitted */
    char **ricezione;
    size_t n_ricezione;
    char *errore_esteso;  /* NULL: omitted */
};

/* pec_tipo_name - DTD token of a tipo ("avvenuta-consegna"), NULL for NONE */
const char *pec_tipo_name(enum pec_tipo t);
/* pec_tipo_from_name - inverse; PEC_TIPO_NONE when unknown */
enum pec_tipo pec_tipo_from_name(const char *s);
const char *pec_errore_name(enum pec_errore e);
enum pec_errore pec_errore_from_name(const char *s, int *ok_r);
const char *pec_ricevuta_name(enum pec_ricevuta r);
enum pec_ricevuta pec_ricevuta_from_name(const char *s);

/* pec_daticert_render - append the UTF-8 XML document (with XML declaration, LF line ends) to out */
int pec_daticert_render(const struct pec_daticert *d, struct pec_buf *out, struct pec_error *err);

/* pec_daticert_parse - parse a document into *d (zeroed first); 0 ok, -1 with err (PEC_ERR_INVALID) on
 * malformed XML or a document that does not follow the DTD.  Never loads external entities or DTDs. */
int pec_daticert_parse(const void *xml, size_t len, struct pec_daticert *d, struct pec_error *err);

/* pec_daticert_clear - free what parse allocated and zero the record */
void pec_daticert_clear(struct pec_daticert *d);

#endif
