/* submit.h - hand a message we emit (receipt, avviso, notice) to the local MTA.
 *
 * Two ways, chosen by the configuration:
 *   submit_address    SMTP to a loopback Postfix smtpd that runs no milter (so receipts are not
 *                     filtered again); one connection per submitter, kept open between messages.
 *                     Postfix answers the end of DATA once the queue file is safely written.
 *   sendmail_command  otherwise: the sendmail command (postdrop, then pickup: no milter either).
 *                     A fork and two execs per message: the slow way, for hosts without the listener.
 */
#ifndef PEC_SUBMIT_H
#define PEC_SUBMIT_H

#include <stddef.h>
#include "pec/config.h"
#include "pec/error.h"

struct pec_submitter;

/* pec_submitter_new - a submitter for one thread (it owns at most one SMTP connection); cfg must
 * outlive it */
struct pec_submitter *pec_submitter_new(const struct pec_config *cfg);
/* pec_submitter_send - envelope from -> rcpt, message bytes (CRLF or LF lines): 0 once the MTA has
 * queued it; -1 with err: TEMPORARY (retry later) or PERMANENT (the MTA refused it with 5xx) */
int pec_submitter_send(struct pec_submitter *s, const char *from, const char *rcpt, const void *msg, size_t len,
                       struct pec_error *err);
/* pec_submit_one - one message through a submitter of its own (for rare messages: no kept connection) */
int pec_submit_one(const struct pec_config *cfg, const char *from, const char *rcpt, const void *msg, size_t len,
                   struct pec_error *err);
/* pec_submitter_free - close the connection (QUIT), release and NULL */
void pec_submitter_free(struct pec_submitter **s);

/* pec_submit_sendmail - run `command` (argv split on blanks, e.g. "/usr/sbin/sendmail -C /etc/postfix")
 * with -i -f from -- rcpt, the message on its input: 0 when it exits 0, else -1 with err (TEMPORARY) */
int pec_submit_sendmail(const char *command, const char *from, const char *rcpt, const void *msg, size_t len,
                        struct pec_error *err);

#endif
