/* pec-glue.c - pure mappings between the core's verdicts and Dovecot (see pec-glue.h). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "pec-glue.h"
#include "pec/text.h"
#include "pec/smime.h"

size_t pec_glue_dup_key(enum pec_glue_stage stage, const char *identificativo, const char *recipient,
			char key_r[PEC_GLUE_DUP_KEY_MAX])
{
	struct pec_buf b = PEC_BUF_INIT;
	const char *id = identificativo, *end;
	char hex[41];
	int n;

	key_r[0] = '\0';
	if (id == NULL || recipient == NULL)
		return 0;
	while (*id == ' ' || *id == '\t' || *id == '<')
		id++;
	end = id + strlen(id);
	while (end > id && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '>' ||
			    end[-1] == '\r' || end[-1] == '\n'))
		end--;
	if (end == id || *recipient == '\0')
		return 0;
	pec_buf_append(&b, id, (size_t)(end - id));
	pec_buf_append(&b, "\n", 1);
	for (const char *p = recipient; *p != '\0'; p++) {
		char c = (char)tolower((unsigned char)*p);
		pec_buf_append(&b, &c, 1);
	}
	pec_sha1_hex(b.data, b.len, hex);
	pec_buf_release(&b);
	n = snprintf(key_r, PEC_GLUE_DUP_KEY_MAX, "%s:%s",
		     stage == PEC_GLUE_STAGE_STORED ? "pec-stored" :
		     stage == PEC_GLUE_STAGE_RECEIPT ? "pec-receipt" :
		     stage == PEC_GLUE_STAGE_PLAIN ? "pec-plain" : "pec-untraced", hex);
	return n > 0 ? (size_t)n : 0;
}

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

const char *pec_glue_identificativo(const struct pec_delivery_verdict *v)
{
	const struct pec_analysis *a = &v->analysis;

	if (a->has_daticert && a->daticert.identificativo != NULL && *a->daticert.identificativo != '\0')
		return a->daticert.identificativo;
	if (a->message_id != NULL)
		return a->message_id;
	return "";
}
