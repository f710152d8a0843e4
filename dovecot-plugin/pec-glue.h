/* pec-glue.h - the small pure decisions of the Dovecot adapter (no storage, no network), unit-tested
 * with Dovecot's lib-test (tests/dovecot/).  All PEC decisions are the core's; these only map the
 * core's verdicts and Dovecot's errors onto each other. */
#ifndef PEC_GLUE_H
#define PEC_GLUE_H

#include <stdbool.h>
#include <stddef.h>
#include "mail-error.h"
#include "pec/delivery.h"

/* pec_glue_mailbox - where a verdict is stored: the delivery's default mailbox for certified and
 * plain messages, anomaly_mailbox (when set) for a wrapped one, NULL for a refusal. */
const char *pec_glue_mailbox(enum pec_delivery_action action, const char *default_mailbox,
			     const char *anomaly_mailbox);

/* pec_glue_save_failure - a failed save of a valid busta: 1 with *failure_r when it is definitive
 * (the sender gets an avviso di mancata consegna), 0 when it is temporary (LMTP 4xx, retried). */
int pec_glue_save_failure(enum mail_error error, bool mailbox_full, enum pec_delivery_failure *failure_r);

/* pec_glue_parse_bool - a yes/no setting: NULL or "" gives def; 1 on success, 0 on a bad value */
int pec_glue_parse_bool(const char *value, bool def, bool *result_r);

/* pec_glue_ascii - copy text into out as one printable US-ASCII line (SMTP replies, log fields):
 * Italian accented letters become their base letter plus an apostrophe, other non-ASCII bytes and
 * controls become '?' or ' '. */
void pec_glue_ascii(const char *text, char *out, size_t outlen);

#endif
