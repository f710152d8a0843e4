/* mailboxes.h - the provider's mailboxes as the reception point sees them, from a text file:
 * one address per line, optionally followed by "ordinary" (the mailbox takes non-PEC mail, wrapped in an
 * anomaly envelope) or "pec" (the default); "#" comments.  Immutable once loaded. */
#ifndef PEC_MAILBOXES_H
#define PEC_MAILBOXES_H

#include "pec/error.h"
#include "pec/reception.h"

struct pec_mailboxes;

/* pec_mailboxes_load - read the file; NULL with err naming the line */
struct pec_mailboxes *pec_mailboxes_load(const char *path, struct pec_error *err);
void pec_mailboxes_free(struct pec_mailboxes **m);
/* pec_mailboxes_policy - a pec_reception_ctx mailbox_policy callback (ctx = struct pec_mailboxes *) */
enum pec_mailbox_policy pec_mailboxes_policy(void *ctx, const char *addr);

#endif
