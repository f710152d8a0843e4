/* pec-submit.h - hand a message the plugin emits (receipt, notice, notification) to the MTA through
 * Dovecot's lib-smtp (submission_host, else sendmail_path). */
#ifndef PEC_DOVECOT_SUBMIT_H
#define PEC_DOVECOT_SUBMIT_H

#include <stddef.h>

struct event;
struct smtp_submit_settings;

/* pec_submit - send data (a complete RFC 5322 message, CRLF) from mail_from to rcpt_to.
 * 1 submitted, 0 permanently refused, -1 temporary failure; *error_r set when not 1. */
int pec_submit(const struct smtp_submit_settings *smtp_set, struct event *event, const char *mail_from,
	       const char *rcpt_to, const void *data, size_t size, const char **error_r);

#endif
