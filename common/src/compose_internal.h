/* compose_internal.h - pieces of the message builder shared between its files. */
#ifndef PEC_COMPOSE_INTERNAL_H
#define PEC_COMPOSE_INTERNAL_H

#include <gmime/gmime.h>
#include "pec/compose.h"
#include "pec/strv.h"

/* What each message type looks like on the wire. */
struct msg_shape {
    const char *name;            /* pec_msgtype_name */
    const char *x_ricevuta;      /* NULL for the two envelopes */
    const char *subject_prefix;
    enum pec_tipo tipo;          /* daticert tipo; NONE: no daticert (anomaly) */
    enum pec_errore errore;      /* default errore attribute */
    int virus_header;            /* X-VerificaSicurezza: errore */
};

extern const struct msg_shape compose_shapes[PEC_MSG_COUNT];

/* compose_text - the readable Italian text of a message as lines (UTF-8), appended to lines */
void compose_text(const struct pec_compose *c, const struct pec_daticert *d, struct pec_strv *lines);

/* compose_breve - replace, in place, every attachment of msg by a text/plain "<name>.hash" part holding
 * the SHA-1 of the attachment as transferred (RFC 6109 §3.3.2.2) */
void compose_breve(GMimeMessage *msg);

#endif
