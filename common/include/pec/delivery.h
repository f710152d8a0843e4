/* delivery.h - the delivery point's decisions (RFC 6109 §3.3, PEC-RULES §5.3), host-agnostic.
 *
 * pec_delivery_decide reads a received message and its envelope and decides (store as is / store the
 * anomaly envelope / refuse); it touches nothing.  pec_delivery_run then carries the decision out through
 * the host's callbacks (store, idempotence marks) and the effects (trace, submission): the Dovecot plugin
 * (or any other delivery agent) only translates.
 */
#ifndef PEC_DELIVERY_H
#define PEC_DELIVERY_H

#include <stddef.h>
#include <time.h>
#include "pec/answer.h"
#include "pec/buf.h"
#include "pec/compose.h"
#include "pec/error.h"
#include "pec/inreply.h"
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
    int disabled;             /* the mailbox is disabled: a busta gets the avviso di mancata consegna */
    const char *notify;       /* ordinary address told of every new PEC (NULL: none) */
    time_t now;
    /* the trace lookup that tells a bounce or a reply to a message this mailbox sent (the bounces our own
     * Postfix writes reach the delivery point without a reception point's mark); NULL: none, refused */
    pec_inreply_sent_fn sent;
    void *sent_ctx;
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
 * message became available in the mailbox), with Message-ID msgid (NULL: a new one) */
int pec_delivery_consegna(const struct pec_delivery_ctx *ctx, const struct pec_delivery_input *in,
                          const struct pec_delivery_verdict *v, time_t saved_at, const char *msgid,
                          struct pec_buf *out, char msgid_out[PEC_ID_MAX], struct pec_error *err);

/* pec_delivery_mancata - the avviso di mancata consegna for a busta that could not be stored (f: see
 * enum pec_delivery_failure in compose.h), with Message-ID msgid (NULL: a new one) */
int pec_delivery_mancata(const struct pec_delivery_ctx *ctx, const struct pec_delivery_input *in,
                         const struct pec_delivery_verdict *v, enum pec_delivery_failure f, time_t when,
                         const char *msgid, struct pec_buf *out, char msgid_out[PEC_ID_MAX], struct pec_error *err);

/* pec_delivery_notification - the optional short plain-text notice of a new PEC to an ordinary
 * address (no content of the message, unsigned) */
void pec_delivery_notification(const struct pec_delivery_ctx *ctx, const struct pec_delivery_input *in,
                               const struct pec_delivery_verdict *v, const char *notify_to, time_t when,
                               struct pec_buf *out);

/* pec_delivery_identificativo - the identificativo of a verdict for logs and keys: the daticert's, else
 * the Message-ID, else "" */
const char *pec_delivery_identificativo(const struct pec_delivery_verdict *v);

/* ---- the delivery point's whole step ---- */

/* The steps of a delivery remembered as idempotence marks (pec/marks.h). */
enum pec_mark_stage {
    PEC_MARK_STORED,   /* the busta is in the mailbox */
    PEC_MARK_RECEIPT,  /* its avvenuta consegna was submitted and traced */
    PEC_MARK_UNTRACED, /* a receipt, anomaly envelope or wrapped message stored, its trace failed */
    PEC_MARK_PLAIN,    /* a receipt or anomaly envelope stored and traced (keyed by its Message-ID) */
    PEC_MARK_PENDING,  /* a receipt or anomaly envelope about to be stored: if the attempt dies before
                        * its PLAIN mark, the retry looks for the copy instead of storing a second one */
    PEC_MARK_SENT,     /* the busta's avvenuta consegna or avviso was submitted, not yet traced; its value
                        * names it ("<variant> <Message-ID>"), so a retry traces it instead of sending
                        * another */
};

#define PEC_MARK_KEY_MAX 64

/* pec_delivery_mark_key - the mark key of (identificativo, recipient) for one stage:
 * "pec-stored:", "pec-receipt:", "pec-untraced:", "pec-plain:", "pec-pending:" or "pec-sent:" + SHA-1 hex of identificativo LF
 * recipient, where the identificativo loses surrounding blanks and angle brackets and the recipient is
 * lower-cased.  Returns the key length, or 0 when either is empty (no key: no idempotence). */
size_t pec_delivery_mark_key(enum pec_mark_stage stage, const char *identificativo, const char *recipient,
                             char key_r[PEC_MARK_KEY_MAX]);

/* Why a store did not happen. */
enum pec_store_failure {
    PEC_STORE_RETRY,      /* temporary, with a reason to give the client (err) */
    PEC_STORE_FULL,       /* definitive: the mailbox is full (a busta gets the avviso, 5.2.2) */
    PEC_STORE_HOST_ERROR, /* temporary, and the host answers from its own error state */
};

/* What the delivery agent does to the mailbox. */
struct pec_delivery_host {
    void *ctx;
    /* store the received message (wrapped NULL) or the busta di anomalia wrapped: 1 stored, with
     * *saved_at_r the moment its save committed (0: unknown); 0 nothing stored (the user's filter chose
     * so); -1 not stored, *failure_r saying why (err: the reason) */
    int (*store)(void *ctx, const struct pec_buf *wrapped, time_t *saved_at_r, enum pec_store_failure *failure_r,
                 struct pec_error *err);
    /* the save time of an earlier copy of the busta identificativo in the mailbox, 0 when there is none,
     * (time_t)-1 when the mailbox cannot be searched (never "none" then: a second copy could follow) */
    time_t (*stored_at)(void *ctx, const char *identificativo);
    /* whether the mailbox has somewhere to keep marks (a home directory) */
    int (*has_marks)(void *ctx);
    /* the exclusive lock of key, held until the host ends the delivery; 0 or -1 */
    int (*mark_lock)(void *ctx, const char *key, struct pec_error *err);
    /* 1 marked, 0 not, -1 error */
    int (*mark_check)(void *ctx, const char *key, struct pec_error *err);
    /* mark key, with a one-line value or none (NULL): 0 or -1 */
    int (*mark_set)(void *ctx, const char *key, const char *value, struct pec_error *err);
    /* the value of the mark key into value (size bytes, "1" for a mark without one): 1, 0 not marked, -1 */
    int (*mark_get)(void *ctx, const char *key, char *value, size_t size, struct pec_error *err);
    /* one more copy of the message as received into the box's Archivio di sicurezza, which the user can
     * read but not change (NULL: the box keeps none): 1 saved, 0 the archive is full, -1 not saved (err
     * says why in both cases) */
    int (*archive)(void *ctx, struct pec_error *err);
};

struct pec_effects;

/* What the host answers. */
struct pec_delivery_outcome {
    struct pec_answer answer; /* CONTINUE: 2xx; REJECT: 5xx with text; TEMPFAIL: 4xx with reason */
    int stored;               /* something is in the mailbox now (the host answers 2xx for it) */
    int host_error;           /* TEMPFAIL: answer from the host's own storage error, not from reason */
};

/* pec_delivery_run - carry out v for one recipient; the order and what each failure means are written in
 * delivery_point.c.  Always fills *o. */
void pec_delivery_run(const struct pec_delivery_ctx *ctx, const struct pec_delivery_input *in,
                      const struct pec_delivery_verdict *v, const struct pec_effects *fx,
                      const struct pec_delivery_host *h, struct pec_delivery_outcome *o);

/* pec_delivery_refuse - the refusal of a REFUSE verdict alone, for hosts that answer it before the
 * delivery proper (LMTP at the end of DATA): traced, then refused; TEMPFAIL when it cannot be traced */
void pec_delivery_refuse(const struct pec_delivery_input *in, const struct pec_delivery_verdict *v,
                         const struct pec_effects *fx, struct pec_delivery_outcome *o);

#endif
