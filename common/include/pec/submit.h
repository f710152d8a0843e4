/* submit.h - hand a message to the local MTA through its sendmail command (Postfix: postdrop, then
 * pickup, which runs no milter, so receipts are not filtered again). */
#ifndef PEC_SUBMIT_H
#define PEC_SUBMIT_H

#include <stddef.h>
#include "pec/error.h"

/* pec_submit_sendmail - run `command` (argv split on blanks, e.g. "/usr/sbin/sendmail -C /etc/postfix")
 * with -i -f from -- rcpt, the message on its input: 0 when it exits 0, else -1 with err (TEMPORARY) */
int pec_submit_sendmail(const char *command, const char *from, const char *rcpt, const void *msg, size_t len,
                        struct pec_error *err);

#endif
