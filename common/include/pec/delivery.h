/* delivery.h - the delivery point's decisions (RFC 6109 §3.3, PEC-RULES §5.3), host-agnostic.
 *
 * The Dovecot plugin (or any other delivery agent) feeds a received message and its envelope, applies
 * the verdict (store as is / store the anomaly envelope / refuse), and after the store commits (or fails)
 * asks for the receipt to emit.  Nothing here touches a mailbox, the network or the trace.
 */
#ifndef PEC_DELIVERY_H
#define PEC_DELIVERY_H

#include <stddef.h>
#include <time.h>
#include "pec/buf.h"
#include "pec/compose.h"
#include "pec/error.h"
#include "pec/message.h"

enum pec_delivery_action {
    PEC_DELIVERY_STORE_CERTIFIED, /* valid busta di trasporto: store unmodified, then avvenuta consegna */
    PEC_DELIVERY_STORE_PLAIN,     /* valid receipt, notice or anomaly envelope: store as is, emit nothing */
    PEC_DELIVERY_STORE_WRAPPED,   /* not valid PEC, mailbox accepts ordinary mail: store the anomaly */
    PEC_DELIVERY_REFUSE,          /* not valid PEC, mailbox refuses ordinary mail: permanent refusal */
};

/* pec_delivery_action_name - "store-certified", ... for logs and the trace */
const char *pec_delivery_action_name(enum pec_delivery_action a);

/* What the delivery point knows about itself. */
struct pec_delivery_ctx {
    const struct pec_issuer *issuer;   /* signs receipts and anomaly envelopes */
    const struct pec_trust *trust;     /* CAs of the providers (may be NULL) */
    const struct pec_index *index;     /* the provider index (may be NULL: no provider check) */
};

struct pec_delivery_input {
    const void *raw;          /* the message as the delivery agent got it */
    size_t len;
    const char *recipient;    /* envelope recipient (RCPT TO) */
    const char *reverse_path; /* envelope sender (MAIL FROM); receipts go there; may be "" */
    int accepts_ordinary;     /* the mailbox takes non-PEC mail (wrapped in an anomaly envelope) */
    time_t now;
};

struct pec_delivery_verdict {
    enum pec_delivery_action action;
    char reason[512];               /* why the message is not valid PEC (WRAPPED / REFUSE) */
    struct pec_analysis analysis;   /* what the core read in the message */
    enum pec_ricevuta variant;      /* STORE_CERTIFIED: the avvenuta consegna this recipient gets */
    struct pec_buf wrapped;         /* STORE_WRAPPED: the signed anomaly envelope to store instead */
};

/* pec_delivery_decide - analyse and decide; -1 with err only on internal failure (caller: tempfail) */
int pec_delivery_decide(const struct pec_delivery_ctx *ctx, const struct pec_delivery_input *in,
                        struct pec_delivery_verdict *v, struct pec_error *err);
void pec_delivery_verdict_clear(struct pec_delivery_verdict *v);

/* pec_delivery_receipt_to - where receipts about the busta go: the envelope reverse path, else the
 * sender in daticert.xml; NULL when there is neither (null reverse path and no daticert sender) */
const char *pec_delivery_receipt_to(const struct pec_delivery_input *in, const struct pec_delivery_verdict *v);

/* pec_delivery_refusal_text - the reply text for a message that is not valid PEC (REFUSE): a short fixed
 * Italian sentence naming the recipient, then the first problem found in parentheses, as one line of
 * printable US-ASCII (accented letters become the base letter plus an apostrophe, other non-ASCII
 * characters '?', controls ' '), cut to fit outlen; suitable for an SMTP/LMTP reply.  v->reason is
 * left as it is (UTF-8, up to three problems).  Returns out. */
#define PEC_DELIVERY_REFUSAL_MAX 400
char *pec_delivery_refusal_text(const struct pec_delivery_input *in, const struct pec_delivery_verdict *v,
                                char *out, size_t outlen);

/* pec_delivery_consegna - the avvenuta consegna for a stored busta, dated saved_at (the moment the
 * message became available in the mailbox) */
int pec_delivery_consegna(const struct pec_delivery_ctx *ctx, const struct pec_delivery_input *in,
                          const struct pec_delivery_verdict *v, time_t saved_at, struct pec_buf *out,
                          char msgid_out[PEC_ID_MAX], struct pec_error *err);

/* pec_delivery_mancata - the avviso di mancata consegna for a busta that could not be stored (f: see
 * enum pec_delivery_failure in compose.h) */
int pec_delivery_mancata(const struct pec_delivery_ctx *ctx, const struct pec_delivery_input *in,
                         const struct pec_delivery_verdict *v, enum pec_delivery_failure f, time_t when,
                         struct pec_buf *out, char msgid_out[PEC_ID_MAX], struct pec_error *err);

/* pec_delivery_notification - the optional short plain-text notice of a new PEC to an ordinary
 * address (no content of the message, unsigned) */
void pec_delivery_notification(const struct pec_delivery_ctx *ctx, const struct pec_delivery_input *in,
                               const struct pec_delivery_verdict *v, const char *notify_to, time_t when,
                               struct pec_buf *out);

#endif
