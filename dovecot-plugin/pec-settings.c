/* pec-settings.c - the only file that reads Dovecot settings (see pec-settings.h). */
#include "lib.h"
#include "master-service.h"
#include "master-service-settings.h"
#include "mail-user.h"
#include "mail-deliver.h"
#include "lda-settings.h"
#include "raw-storage.h"
#include "pec-glue.h"
#include "pec-settings.h"

static const char *nonempty(const char *value)
{
	return value != NULL && *value != '\0' ? value : NULL;
}

static int parse_bool(pec_settings_lookup_func_t *lookup, void *context, const char *key, bool *result_r,
		      const char **error_r)
{
	const char *value = lookup(key, context);

	if (pec_glue_parse_bool(value, FALSE, result_r) == 0) {
		*error_r = t_strdup_printf("%s: invalid value '%s' (expected yes or no)", key, value);
		return -1;
	}
	return 0;
}

int pec_settings_parse(pec_settings_lookup_func_t *lookup, void *context, struct pec_settings *set_r,
		       const char **error_r)
{
	i_zero(set_r);
	set_r->config_path = nonempty(lookup("pec_config", context));
	set_r->notify = nonempty(lookup("pec_notify", context));
	set_r->anomaly_mailbox = nonempty(lookup("pec_anomaly_mailbox", context));
	if (parse_bool(lookup, context, "pec_accept_ordinary", &set_r->accept_ordinary, error_r) < 0 ||
	    parse_bool(lookup, context, "pec_mailbox_disabled", &set_r->mailbox_disabled, error_r) < 0)
		return -1;
	if (set_r->notify != NULL && strchr(set_r->notify, '@') == NULL) {
		*error_r = t_strdup_printf("pec_notify: '%s' is not an address", set_r->notify);
		return -1;
	}
	return 0;
}

static const char *user_lookup(const char *key, void *context)
{
	return mail_user_plugin_getenv(context, key);
}

int pec_settings_read(struct mail_user *user, struct pec_settings *set_r, const char **error_r)
{
	return pec_settings_parse(user_lookup, user, set_r, error_r);
}

const char *pec_settings_global_config_path(void)
{
	void **sets;

	if (master_service == NULL)
		return NULL;
	sets = master_service_settings_get_others(master_service);
	if (sets == NULL || sets[0] == NULL)
		return NULL;
	return nonempty(mail_user_set_plugin_getenv(sets[0], "pec_config"));
}

struct mail_user *pec_settings_raw_user(struct mail_user *rcpt_user)
{
	return raw_storage_create_from_set(rcpt_user->set_info,
					   master_service_settings_get_others(master_service)[0]);
}

bool pec_settings_quota_full_tempfail(const struct mail_deliver_context *ctx)
{
	return ctx->set->quota_full_tempfail;
}
