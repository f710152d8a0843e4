/* access.h - the access point (punto di accesso, RFC 6109 §3.1, PEC-RULES §5.1) as a streaming engine.
 *
 * The API mirrors the milter phases so the milter, other adapters and the unit tests feed it the same
 * way: begin (envelope) -> header... -> end_of_headers -> body... -> end -> verdict.  The verdict is data:
 * accept with the signed busta di trasporto that replaces the message and the acceptance receipt to emit
 * once the MTA has durably queued it, or refuse with an SMTP reply and the signed avviso di non
 * accettazione for the sender, or tempfail.  Nothing here talks to the MTA, the network or the trace.
 */
#ifndef PEC_ACCESS_H
#define PEC_ACCESS_H

#include <stddef.h>
#include <time.h>
#include "pec/buf.h"
#include "pec/compose.h"
#include "pec/config.h"
#include "pec/daticert.h"
#include "pec/error.h"
#include "pec/index.h"
#include "pec/strv.h"
#include "pec/userdb.h"

struct pec_access_ctx {
    const struct pec_config *cfg;      /* limits, own domains */
    const struct pec_issuer *issuer;   /* signs the busta and the receipts; makes identifiers */
    const struct pec_index *index;     /* certificato / esterno per recipient (may be NULL) */
    /* login -> mailbox map (NULL: the login is the mailbox address); returns NULL when unknown */
    const char *(*mailbox_of)(void *map_ctx, const char *login);
    void *map_ctx;
    /* the sender's box (NULL: none kept): 1 with *box, 0 when unknown, -1 with err; its
     * max_message_size and max_recipients, when not 0, replace the provider's for what it sends */
    int (*sender_box)(void *box_ctx, const char *mailbox, time_t now, struct pec_box *box, struct pec_error *err);
    void *box_ctx;
};

/* One SMTP transaction. */
struct pec_access_txn;

/* pec_access_begin - a transaction: authenticated login ("" or NULL when not authenticated) and MAIL FROM */
struct pec_access_txn *pec_access_begin(const struct pec_access_ctx *ctx, const char *auth_login,
                                        const char *mail_from);
/* pec_access_rcpt - one RCPT TO */
void pec_access_rcpt(struct pec_access_txn *t, const char *rcpt);
/* pec_access_header - one header field as the MTA passes it (value unfolded or folded) */
void pec_access_header(struct pec_access_txn *t, const char *name, const char *value);
/* pec_access_eoh - end of the header section */
void pec_access_eoh(struct pec_access_txn *t);
/* pec_access_body - a body chunk (CRLF or LF) */
void pec_access_body(struct pec_access_txn *t, const void *chunk, size_t len);
void pec_access_free(struct pec_access_txn **t);
/* pec_access_raw - the message as received so far (for a virus scan or a quarantine copy) */
const void *pec_access_raw(const struct pec_access_txn *t, size_t *len_r);
/* the envelope and the header field names seen so far */
const struct pec_strv *pec_access_header_names(const struct pec_access_txn *t);
const struct pec_strv *pec_access_rcpts(const struct pec_access_txn *t);
const char *pec_access_mail_from(const struct pec_access_txn *t);
const struct pec_access_ctx *pec_access_context(const struct pec_access_txn *t);

enum pec_access_action { PEC_ACCESS_ACCEPT, PEC_ACCESS_REJECT, PEC_ACCESS_TEMPFAIL };

/* The check that failed (PEC-RULES §5.1), for logs, the trace and tests. */
enum pec_access_check {
    PEC_CHECK_NONE = 0,
    PEC_CHECK_AUTH,        /* not authenticated */
    PEC_CHECK_SENDER,      /* MAIL FROM is not the authenticated mailbox */
    PEC_CHECK_SYNTAX,      /* not a well-formed RFC 5322 message */
    PEC_CHECK_FROM,        /* From: missing, several addresses, or not MAIL FROM */
    PEC_CHECK_TO,          /* no To: recipient */
    PEC_CHECK_RCPT,        /* RCPT TO set differs from To + Cc */
    PEC_CHECK_BCC,         /* Bcc: with content */
    PEC_CHECK_RECIPIENTS,  /* too many recipients */
    PEC_CHECK_SIZE,        /* size × recipients over the limit */
    PEC_CHECK_VIRUS,       /* set by the adapter after a virus scan */
    PEC_CHECK_LIMITS,      /* over the MIME limits (pec/mime.h), or its busta would be */
};

/* pec_access_check_name - short stable name ("sender", "rcpt", ...) */
const char *pec_access_check_name(enum pec_access_check c);

struct pec_access_verdict {
    enum pec_access_action action;
    enum pec_access_check failed;
    char reply_code[4];            /* REJECT / TEMPFAIL: "550", "451" */
    char reply_xcode[8];           /* enhanced status: "5.7.1" */
    char reply_text[512];          /* Italian + English, names the check */
    char identificativo[PEC_ID_MAX];
    struct pec_daticert facts;     /* owned: what was certified (or refused) */
    size_t n_to;                   /* facts.destinatari: the first n_to come from To, the rest from Cc */
    struct pec_buf busta;          /* ACCEPT: the signed busta di trasporto, whole message, CRLF */
    size_t busta_body_offset;      /* where its body starts in busta (after the blank line) */
    struct pec_buf receipt;        /* ACCEPT: accettazione; REJECT: non accettazione (when one is owed) */
    char receipt_id[PEC_ID_MAX];
    struct pec_buf receipt_facts;  /* what to trace once the receipt is sent (pec_trace_facts_encode) */
    char *receipt_to;              /* the sender */
    time_t when;                   /* the single time reference of this event */
};

/* pec_access_end - run the checks at end of message; on success build and sign the busta and the
 * acceptance.  Returns 0 with *v filled (any action), -1 with err on internal failure (adapter: tempfail,
 * never accept uncertified mail; *v is left empty).  virus: name of a virus the adapter's scanner found, or NULL. */
int pec_access_end(struct pec_access_txn *t, time_t now, const char *virus, struct pec_access_verdict *v,
                   struct pec_error *err);
void pec_access_verdict_clear(struct pec_access_verdict *v);

/* pec_message_header_fields - the top-level header fields of a message in order, as name/raw-value pairs
 * (values keep their folding, without the trailing line end): what an MTA adapter needs to replace the
 * headers of the message it is filtering by those of the busta */
int pec_message_header_fields(const void *raw, size_t len, struct pec_strv *names, struct pec_strv *values,
                              struct pec_error *err);

/* The access point's whole step at end of message. */
struct pec_effects;
struct pec_mta_edits;
struct pec_answer;
struct pec_reception_ctx;

struct pec_access_point {
    const struct pec_reception_ctx *reception; /* our own recipients' reception point (NULL: none) */
    const char *marker_domain;                 /* the outbox marker recipient's domain */
};

/* pec_access_run - scan, decide, and apply: quarantine, spool the owed receipts, trace, rewrite the
 * message into the busta (accept) or send the avviso (refuse); the order and what each failure means are
 * written in access_point.c.  Always fills *a; queue_id names the message in the trace and the log. */
void pec_access_run(struct pec_access_txn *t, const struct pec_access_point *p, const struct pec_effects *fx,
                    const struct pec_mta_edits *mta, const char *queue_id, struct pec_answer *a);

#endif
