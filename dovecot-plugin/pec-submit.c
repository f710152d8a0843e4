/* pec-submit.c - synchronous submission through lib-smtp (smtp_submit_run runs its own ioloop). */
#include "lib.h"
#include "ostream.h"
#include "smtp-address.h"
#include "smtp-submit.h"
#include "pec-compat.h"
#include "pec-submit.h"

int pec_submit(const struct smtp_submit_settings *smtp_set, struct event *event, const char *mail_from,
	       const char *rcpt_to, const void *data, size_t size, const char **error_r)
{
	struct smtp_submit_input input;
	struct smtp_submit *subm;
	struct smtp_address *from = NULL, *to;
	struct ostream *output;
	const char *error;
	int ret;

	if (mail_from != NULL && *mail_from != '\0' &&
	    smtp_address_parse_mailbox(pool_datastack_create(), mail_from, 0, &from, &error) < 0) {
		*error_r = t_strdup_printf("invalid sender <%s>: %s", mail_from, error);
		return 0;
	}
	if (smtp_address_parse_mailbox(pool_datastack_create(), rcpt_to, 0, &to, &error) < 0) {
		*error_r = t_strdup_printf("invalid recipient <%s>: %s", rcpt_to, error);
		return 0;
	}
	i_zero(&input);
	input.event_parent = event;
#if !PEC_DOVECOT24
	input.allow_root = TRUE; /* 2.4 runs sendmail as the delivering process, with no such check */
#endif
	subm = smtp_submit_init_simple(&input, smtp_set, from);
	smtp_submit_add_rcpt(subm, to);
	output = smtp_submit_send(subm);
	o_stream_nsend(output, data, size);
	ret = smtp_submit_run(subm, &error);
	if (ret <= 0)
		*error_r = t_strdup(error != NULL ? error : "unknown submission error");
	smtp_submit_deinit(&subm);
	return ret;
}
