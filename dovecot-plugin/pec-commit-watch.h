/* pec-commit-watch.h - notice when a save commits during the current delivery.
 *
 * Sieve (Pigeonhole) stores with its own transactions and does not set mail_deliver_context's
 * saved_mail, and the avvenuta consegna must carry the moment the message became available: a
 * mail-storage hook counts the transactions that commit with saved mails while a watch is open and
 * keeps the time of the first commit. */
#ifndef PEC_COMMIT_WATCH_H
#define PEC_COMMIT_WATCH_H

#include <time.h>

struct module;

void pec_commit_watch_init(struct module *module);
void pec_commit_watch_deinit(void);

/* pec_commit_watch_begin - start counting (mailboxes allocated from now on are watched) */
void pec_commit_watch_begin(void);
/* pec_commit_watch_end - stop; the number of committed transactions that saved mail, and the time of
 * the first such commit (0 when none) */
unsigned int pec_commit_watch_end(time_t *first_commit_r);

#endif
