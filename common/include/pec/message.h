/* message.h - read any incoming message: classify it, verify its signature, parse its daticert.xml.
 *
 * The classification never looks at the Subject: it follows X-Trasporto / X-Ricevuta and, when a signed
 * message lacks them, the daticert tipo.  The result is a plain record the caller owns.
 */
#ifndef PEC_MESSAGE_H
#define PEC_MESSAGE_H

#include <stddef.h>
#include <time.h>
#include "pec/daticert.h"
#include "pec/error.h"
#include "pec/index.h"
#include "pec/smime.h"
#include "pec/strv.h"

enum pec_kind {
    PEC_KIND_MALFORMATA = 0, /* not a parseable message */
    PEC_KIND_ORDINARIA,      /* ordinary mail: no PEC headers, no provider signature */
    PEC_KIND_BUSTA_TRASPORTO,
    PEC_KIND_BUSTA_ANOMALIA,
    PEC_KIND_RICEVUTA,       /* any X-Ricevuta type */
};

/* pec_kind_name - "busta-trasporto", "ricevuta", ... */
const char *pec_kind_name(enum pec_kind k);

struct pec_analyze_opts {
    const struct pec_trust *trust; /* NULL: no chain check (trusted stays 0) */
    const struct pec_index *index; /* NULL: no provider check */
    time_t now;                    /* for certificate validity */
};

struct pec_analysis {
    enum pec_kind kind;
    enum pec_tipo tipo;            /* X-Ricevuta, else the daticert tipo; NONE for anomalies/ordinary */
    char *x_trasporto, *x_ricevuta, *x_tiporicevuta, *x_verifica_sicurezza, *x_mittente, *x_riferimento;
    char *anomaly_mark;            /* PEC_ANOMALY_MARK_HEADER (pec/anomaly.h): set by our reception point */
    char *from;                    /* first From: address */
    char *subject;                 /* decoded, UTF-8 */
    char *message_id;              /* without angle brackets */
    char *micalg, *protocol;       /* of multipart/signed */
    struct pec_sig_info sig;
    const struct pec_provider *provider; /* signer's provider in the index, or NULL */
    int gestore_signed;            /* the signature is valid, trusted (when a trust store was given) and
                                      by the certificate the index lists for provider */
    int has_daticert;
    struct pec_daticert daticert;
    int has_postacert;
    struct pec_strv errors;        /* why it is not a valid PEC message; empty when valid */
    int valid;                     /* a conformant PEC message, signature valid (and trusted/indexed
                                      when a trust store/index was given) */
};

/* pec_message_analyze - analyse raw bytes (LF or CRLF).  Returns 0 with *a filled (even for garbage:
 * kind MALFORMATA and errors), -1 only on internal failure. */
int pec_message_analyze(const void *raw, size_t len, const struct pec_analyze_opts *opts, struct pec_analysis *a,
                        struct pec_error *err);
void pec_analysis_clear(struct pec_analysis *a);

/* pec_message_facts - the certification data of an original message as the access point sees it:
 * mittente (From), destinatari (To then Cc, each certificato when its domain is in the index or in
 * own_domains, else esterno), risposte (Reply-To, else the sender), oggetto, msgid.  The record's strings
 * are owned (pec_daticert_clear).  -1 with err (PEC_ERR_INVALID) when From/To cannot be read. */
int pec_message_facts(const void *raw, size_t len, const struct pec_index *index, const char *const *own_domains,
                      size_t n_own_domains, struct pec_daticert *facts, struct pec_error *err);

#endif
