/* compose.h - build and sign every message a provider emits (RFC 6109 §3, shared/spec/PEC-RULES.md §2).
 *
 * One entry point, driven by a table of message types: the caller says which message, for which event
 * (one time reference), about which original (its certification data), and gets the signed RFC 5322
 * message with CRLF line ends, 7-bit clean in everything we write.
 */
#ifndef PEC_COMPOSE_H
#define PEC_COMPOSE_H

#include <stddef.h>
#include <time.h>
#include "pec/buf.h"
#include "pec/daticert.h"
#include "pec/error.h"
#include "pec/ident.h"
#include "pec/smime.h"

enum pec_msgtype {
    PEC_MSG_BUSTA_TRASPORTO,
    PEC_MSG_BUSTA_ANOMALIA,
    PEC_MSG_ACCETTAZIONE,
    PEC_MSG_NON_ACCETTAZIONE,
    PEC_MSG_NON_ACCETTAZIONE_VIRUS,
    PEC_MSG_PRESA_IN_CARICO,
    PEC_MSG_AVVENUTA_CONSEGNA,      /* completa / breve / sintetica from facts->ricevuta */
    PEC_MSG_ERRORE_CONSEGNA,
    PEC_MSG_ERRORE_CONSEGNA_VIRUS,
    PEC_MSG_PREAVVISO_12H,
    PEC_MSG_PREAVVISO_24H,
    PEC_MSG_RILEVAZIONE_VIRUS,
    PEC_MSG_COUNT
};

/* pec_msgtype_name - stable file-name-friendly name ("avvenuta-consegna", "preavviso-12h", ...) */
const char *pec_msgtype_name(enum pec_msgtype t);

/* The provider that emits (from the configuration). */
struct pec_issuer {
    const char *gestore;          /* gestore-emittente */
    const char *service_address;  /* posta-certificata@<mail domain>, From: of every message */
    const struct pec_signer *signer;
    enum pec_digest digest;
    struct pec_idgen *ids;        /* new Message-IDs for receipts */
};

struct pec_compose {
    enum pec_msgtype type;
    time_t when;                        /* the event's single time reference */
    /* Certification data of the original message (intestazione, identificativo, msgid, ricevuta,
     * consegna, ricezione, errore, errore_esteso).  tipo, gestore and when are set by the builder.
     * Unused for BUSTA_ANOMALIA (read from the received message). */
    const struct pec_daticert *facts;
    const char *const *to;              /* recipients of a receipt/notice (sender or mailReceipt) */
    size_t n_to;
    /* BUSTA_TRASPORTO: the client's original; AVVENUTA_CONSEGNA: the busta di trasporto (its
     * postacert.eml is attached whole or with hashes); BUSTA_ANOMALIA: the received message. */
    const void *original;
    size_t original_len;
    const char *reason;                 /* human-readable cause (non-accettazione, anomalia, errore) */
    const char *virus;                  /* virus name for the virus notices */
    const char *x_mittente;             /* RILEVAZIONE_VIRUS: the original sender */
    const char *message_id;             /* a receipt's Message-ID chosen by the caller (the resend of one
                                         * that may have gone out: the same id, so the recipient's
                                         * provider keeps one copy); NULL: a new one */
};

/* pec_compose_build - build and sign; message appended to out, its Message-ID (no brackets) written
 * to msgid_out (the PEC identificativo for a busta, the received id for an anomaly, c->message_id or a
 * new id otherwise).
 * -1 with err: PEC_ERR_INVALID for unusable input, PEC_ERR_INTERNAL when signing fails. */
int pec_compose_build(const struct pec_issuer *iss, const struct pec_compose *c, struct pec_buf *out,
                      char msgid_out[PEC_ID_MAX], struct pec_error *err);

/* pec_compose_daticert - the certification data that pec_compose_build writes into the daticert.xml of
 * a message of c's type (not BUSTA_ANOMALIA): c->facts with tipo, gestore, when, errore and ricevuta
 * as the type requires.  The strings are lent from c and iss. */
void pec_compose_daticert(const struct pec_issuer *iss, const struct pec_compose *c, struct pec_daticert *d);

/* pec_consegna_variant - which avvenuta consegna a recipient gets (§2.8): the requested type for a To
 * recipient (completa when none), sintetica for a Cc recipient */
enum pec_ricevuta pec_consegna_variant(enum pec_ricevuta requested, int recipient_in_to);

/* Why a busta could not be delivered: the errore_esteso of its avviso di mancata consegna. */
enum pec_delivery_failure {
    PEC_DELIVERY_FAIL_QUOTA,      /* 5.2.2 casella piena */
    PEC_DELIVERY_FAIL_DISABLED,   /* 5.2.1 casella disattivata */
    PEC_DELIVERY_FAIL_NO_MAILBOX, /* 5.1.1 indirizzo non valido (errore no-dest) */
    PEC_DELIVERY_FAIL_OTHER,      /* 5.0.0 errore di consegna */
};

/* pec_compose_errore_esteso - "<status> - <gestore> - <text>" as observed at real providers */
void pec_compose_errore_esteso(const char *gestore, enum pec_delivery_failure f, char *out, size_t outlen);

#endif
