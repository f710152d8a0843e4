/* pec-glue.c - pure mappings between the core's verdicts and Dovecot (see pec-glue.h). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "pec-glue.h"
#include "pec/text.h"

const char *pec_glue_mailbox(enum pec_delivery_action action, const char *default_mailbox,
			     const char *anomaly_mailbox)
{
	switch (action) {
	case PEC_DELIVERY_STORE_CERTIFIED:
	case PEC_DELIVERY_STORE_PLAIN:
		return default_mailbox;
	case PEC_DELIVERY_STORE_WRAPPED:
		return anomaly_mailbox != NULL && *anomaly_mailbox != '\0' ? anomaly_mailbox : default_mailbox;
	case PEC_DELIVERY_REFUSE:
		break;
	}
	return NULL;
}

int pec_glue_save_failure(enum mail_error error, bool mailbox_full, enum pec_delivery_failure *failure_r)
{
	/* Only a full mailbox is certainly definitive; anything else (locks, I/O, permissions, a lost
	   index) is the provider's problem and must be retried, never turned into a legal notice. */
	if (error == MAIL_ERROR_NOQUOTA || mailbox_full) {
		*failure_r = PEC_DELIVERY_FAIL_QUOTA;
		return 1;
	}
	return 0;
}

int pec_glue_parse_bool(const char *value, bool def, bool *result_r)
{
	static const char *const yes[] = { "yes", "y", "true", "1", "on" };
	static const char *const no[] = { "no", "n", "false", "0", "off" };

	if (value == NULL || *value == '\0') {
		*result_r = def;
		return 1;
	}
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(value, yes[i]) == 0) {
			*result_r = true;
			return 1;
		}
		if (strcasecmp(value, no[i]) == 0) {
			*result_r = false;
			return 1;
		}
	}
	return 0;
}

void pec_glue_ascii(const char *text, char *out, size_t outlen)
{
	(void)pec_text_ascii(text, out, outlen);
}
