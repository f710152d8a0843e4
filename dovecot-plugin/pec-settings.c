/* pec-settings.c - the only file that reads Dovecot settings (see pec-settings.h): the Dovecot 2.3
 * `plugin {}` keys and userdb extra fields, or the Dovecot 2.4 declared settings (pec-settings-info.c),
 * which userdb extra fields of the same names override. */
#include "lib.h"
#include "pec-compat.h"
#include "master-service.h"
#include "master-service-settings.h"
#include "mail-user.h"
#include "mail-deliver.h"
#include "lda-settings.h"
#include "raw-storage.h"
#include "pec-glue.h"
#include "pec-settings.h"
#include "pec/userdb.h"
#if PEC_DOVECOT24
#include "mail-storage-service.h"
#include "pec-settings-info.h"
#endif

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
	set_r->archive = nonempty(lookup("pec_archive", context));
	/* the same sizes as the userdb fields the milter reads (pec/userdb.h) */
	if (pec_userdb_size(lookup("pec_archive_quota", context), &set_r->archive_quota) == 0) {
		*error_r = t_strdup_printf("pec_archive_quota: invalid size '%s' (expected e.g. 3G)",
					   lookup("pec_archive_quota", context));
		return -1;
	}
	if (parse_bool(lookup, context, "pec_accept_ordinary", &set_r->accept_ordinary, error_r) < 0 ||
	    parse_bool(lookup, context, "pec_mailbox_disabled", &set_r->mailbox_disabled, error_r) < 0)
		return -1;
	if (set_r->notify != NULL && strchr(set_r->notify, '@') == NULL) {
		*error_r = t_strdup_printf("pec_notify: '%s' is not an address", set_r->notify);
		return -1;
	}
	return 0;
}

#if PEC_DOVECOT24
/* declared_lookup - a key of the declared settings ("" is unset), found through their defines */
static const char *declared_lookup(const char *key, void *context)
{
	const struct setting_define *def;

	for (def = pec_setting_parser_info.defines; def->key != NULL; def++) {
		if (strcmp(def->key, key) == 0)
			return *(const char *const *)CONST_PTR_OFFSET(context, def->offset);
	}
	i_unreached();
}

/* user_pool_copy - a value kept as long as the user, after the settings are freed */
static const char *user_pool_copy(struct mail_user *user, const char *value)
{
	return value == NULL ? NULL : p_strdup(user->pool, value);
}

int pec_settings_read(struct mail_user *user, struct pec_settings *set_r, const char **error_r)
{
	const struct pec_dovecot_settings *s;
	const char *error;
	int ret;

	if (settings_get(user->event, &pec_setting_parser_info, 0, &s, &error) < 0) {
		*error_r = t_strdup_printf("reading the pec settings: %s", error);
		return -1;
	}
	ret = pec_settings_parse(declared_lookup, (void *)s, set_r, error_r);
	set_r->config_path = user_pool_copy(user, set_r->config_path);
	set_r->notify = user_pool_copy(user, set_r->notify);
	set_r->anomaly_mailbox = user_pool_copy(user, set_r->anomaly_mailbox);
	set_r->archive = user_pool_copy(user, set_r->archive);
	if (ret < 0)
		*error_r = t_strdup(*error_r);
	settings_free(s);
	return ret;
}

const char *pec_settings_global_config_path(void)
{
	const struct pec_dovecot_settings *s;
	const char *error, *path;

	if (master_service == NULL ||
	    settings_get(master_service_get_event(master_service), &pec_setting_parser_info,
			 SETTINGS_GET_FLAG_NO_EXPAND, &s, &error) < 0)
		return NULL;
	path = nonempty(s->pec_config) ? t_strdup(s->pec_config) : NULL;
	settings_free(s);
	return path;
}

struct mail_user *pec_settings_raw_user(struct mail_user *rcpt_user)
{
	struct mail_storage_service_user *service_user = rcpt_user->service_user;

	return raw_storage_create_from_set(mail_storage_service_user_get_service_ctx(service_user),
					   mail_storage_service_user_get_settings_instance(service_user));
}
#else
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

#endif

bool pec_settings_quota_full_tempfail(const struct mail_deliver_context *ctx)
{
	return ctx->set->quota_full_tempfail;
}
