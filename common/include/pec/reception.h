/* reception.h - the reception point (punto di ricezione, RFC 6109 §3.2, PEC-RULES §5.2).
 *
 * Decides, for one SMTP transaction arriving from outside (port 25), what the MTA does with it and which
 * signed messages the provider owes: a presa in carico per transaction for a valid busta, avvisi di
 * mancata consegna (no-dest) for recipients we do not have, rilevazione virus, and for incoming receipts
 * the facts to apply to the trace.  Like the access point, the verdict is data; adapters apply it.
 */
#ifndef PEC_RECEPTION_H
#define PEC_RECEPTION_H

#include <stddef.h>
#include <time.h>
#include "pec/anomaly.h"
#include "pec/buf.h"
#include "pec/compose.h"
#include "pec/config.h"
#include "pec/error.h"
#include "pec/inreply.h"
#include "pec/message.h"
#include "pec/strv.h"


enum pec_mailbox_policy {
    PEC_MAILBOX_UNKNOWN = 0,     /* no such mailbox in our domains */
    PEC_MAILBOX_PEC_ONLY,        /* accepts PEC only (the default) */
    PEC_MAILBOX_ACCEPTS_ORDINARY, /* takes ordinary mail too, wrapped in an anomaly envelope */
    PEC_MAILBOX_LOOKUP_FAILED     /* the list of mailboxes did not answer: a temporary failure, never
                                   * "no such mailbox" */
};

struct pec_reception_ctx {
    const struct pec_config *cfg;
    const struct pec_issuer *issuer;
    const struct pec_trust *trust;
    const struct pec_index *index;
    /* the policy of one of our addresses */
    enum pec_mailbox_policy (*mailbox_policy)(void *ctx, const char *addr);
    void *policy_ctx;
};

enum pec_reception_action {
    PEC_RECEPTION_ACCEPT,   /* deliver to the accepted recipients (others removed) */
    PEC_RECEPTION_REJECT,   /* 5xx for the whole transaction */
    PEC_RECEPTION_DISCARD,  /* accept and drop (virus inside a busta: quarantined by the adapter) */
};

/* One signed message the provider must send because of this transaction. */
struct pec_outgoing {
    enum pec_msgtype type;
    char *to;                    /* envelope and header recipient */
    char msgid[PEC_ID_MAX];
    struct pec_buf bytes;
    struct pec_buf facts;        /* what to trace once it is sent (pec_trace_facts_encode) */
};

struct pec_reception_verdict {
    enum pec_reception_action action;
    char reply_code[4], reply_xcode[8], reply_text[512];
    struct pec_analysis analysis;
    enum pec_anomaly anomaly;        /* not NONE: add PEC_ANOMALY_MARK_HEADER naming it (deliver wrapped) */
    struct pec_strv drop_rcpts;      /* recipients to remove from the envelope (handled by a notice) */
    struct pec_outgoing *out;        /* messages to emit after the MTA has durably queued the message */
    size_t n_out;
    char identificativo[PEC_ID_MAX]; /* of the busta or the receipt, "" for other mail */
    int answerable;                  /* refused only because a mailbox takes PEC only: it may be an answer */
};

/* pec_reception_decide - analyse one message with its envelope recipients.  virus: what the adapter's
 * scanner found, or NULL.  0 with *v filled; -1 with err on internal failure (adapter: tempfail). */
int pec_reception_decide(const struct pec_reception_ctx *ctx, const void *raw, size_t len,
                         const char *const *rcpts, size_t n_rcpts, const char *virus, time_t now,
                         struct pec_reception_verdict *v, struct pec_error *err);
void pec_reception_verdict_clear(struct pec_reception_verdict *v);

/* pec_reception_answer - a verdict refused as answerable: when every envelope recipient sent a message
 * the mail refers to to one of its answerers (pec_inreply_answers), it becomes an accepted anomaly
 * (PEC_ANOMALY_ANSWER: a bounce or a reply reaches the PEC mailbox wrapped, PEC-RULES §2.4, §10).
 * 1 accepted, 0 still refused (not an answer to our users), -1 with err (adapter: tempfail). */
int pec_reception_answer(struct pec_reception_verdict *v, const void *raw, size_t len, const char *const *rcpts,
                         size_t n_rcpts, pec_inreply_sent_fn sent, void *sent_ctx, struct pec_error *err);

/* ---- the reception point's whole step, fed with the milter's phases ---- */

struct pec_effects;
struct pec_mta_edits;
struct pec_answer;

/* One SMTP transaction arriving from outside. */
struct pec_reception_txn;

/* pec_reception_begin - MAIL FROM */
struct pec_reception_txn *pec_reception_begin(const struct pec_reception_ctx *ctx, const char *mail_from);
/* pec_reception_rcpt - one RCPT TO and its answer *a: continue; 550 5.1.1 for an address of ours that is
 * no box when the reverse path is empty or no address of a provider in the index (no busta can come
 * from it); 451 when the box cannot be looked up.  A refused recipient is not kept. */
void pec_reception_rcpt(struct pec_reception_txn *t, const char *rcpt, struct pec_answer *a);
/* pec_reception_header - one field; PEC_ANOMALY_MARK_HEADER never comes from outside: it is left out of
 * what is analysed here (and deleted from the message by pec_reception_run) */
void pec_reception_header(struct pec_reception_txn *t, const char *name, const char *value);
/* pec_reception_eoh - end of the header section */
void pec_reception_eoh(struct pec_reception_txn *t);
/* pec_reception_body - a body chunk */
void pec_reception_body(struct pec_reception_txn *t, const void *chunk, size_t len);
/* pec_reception_free - release and NULL */
void pec_reception_free(struct pec_reception_txn **t);

struct pec_reception_point {
    const char *marker_domain; /* the outbox marker recipient's domain */
};

/* pec_reception_run - end of message: scan, decide, trace, and apply (forged marks removed, recipients
 * handled by an avviso removed, anomaly mark added, owed messages spooled behind a marker); the order
 * and what each failure means are written in reception_point.c.  Always fills *a. */
void pec_reception_run(struct pec_reception_txn *t, const struct pec_reception_point *p,
                       const struct pec_effects *fx, const struct pec_mta_edits *mta, const char *queue_id,
                       struct pec_answer *a);

#endif
