/* mailboxes.h - the provider's mailboxes as the reception point sees them, from a text file:
 * one address per line, optionally followed by "ordinary" (the mailbox takes non-PEC mail, wrapped in an
 * anomaly envelope) or "pec" (the default); "#" comments.  Immutable once loaded. */
#ifndef PEC_MILTER_MAILBOXES_H
#define PEC_MILTER_MAILBOXES_H

#include "pec/error.h"
#include "pec/reception.h"

struct mailboxes;

/* mailboxes_load - read the file; NULL with err naming the line */
struct mailboxes *mailboxes_load(const char *path, struct pec_error *err);
void mailboxes_free(struct mailboxes **m);
/* mailboxes_policy - a pec_reception_ctx mailbox_policy callback (ctx = struct mailboxes *) */
enum pec_mailbox_policy mailboxes_policy(void *ctx, const char *addr);

#endif
