/* inreply.h - what an ordinary message says it answers: the Message-IDs it refers to and the addresses
 * that answer, so the reception point can tell a bounce or a reply to one of our users' PEC messages
 * (PEC-RULES §2.4, §10: delivered in a busta di anomalia) from unsolicited ordinary mail (refused).
 *
 * Referenced ids: In-Reply-To and References, and the Message-ID of the message a report returns
 * (a message/rfc822 or text/rfc822-headers part, RFC 3462).  Answerers: the From mailboxes, and the
 * Final-Recipient and Original-Recipient of a message/delivery-status part (RFC 3464).  Both lists are
 * bounded (PEC_INREPLY_MAX each): what a real bounce or reply needs, no lookup storm for a crafted one.
 */
#ifndef PEC_INREPLY_H
#define PEC_INREPLY_H

#include <stddef.h>
#include "pec/error.h"
#include "pec/strv.h"

#define PEC_INREPLY_MAX 16

struct pec_inreply {
    struct pec_strv ids;       /* Message-IDs without <>, in the order found, no duplicates */
    struct pec_strv answerers; /* bare addresses, no duplicates */
};

/* pec_inreply_read - fill r (zeroed first) from a raw message; never fails: what cannot be read is not
 * there */
void pec_inreply_read(const void *raw, size_t len, struct pec_inreply *r);
/* pec_inreply_clear - free and zero */
void pec_inreply_clear(struct pec_inreply *r);

/* Whether the trace holds a message identificativo that sender (one of our users) submitted with
 * recipient among its esterno recipients: 1 yes, 0 no, -1 with err when the store cannot tell. */
typedef int (*pec_inreply_sent_fn)(void *ctx, const char *identificativo, const char *sender, const char *recipient,
                                   struct pec_error *err);

/* pec_inreply_answers - whether raw answers, for every one of rcpts, a message that rcpt sent to one of
 * raw's answerers (a bounce or a reply to a PEC message of ours): 1 yes, 0 no, -1 with err (the caller
 * fails temporarily: an answer is neither lost nor let through unchecked) */
int pec_inreply_answers(const void *raw, size_t len, const char *const *rcpts, size_t n_rcpts,
                        pec_inreply_sent_fn sent, void *sent_ctx, struct pec_error *err);

#endif
