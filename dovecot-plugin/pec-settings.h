/* pec-settings.h - every Dovecot settings access of the plugin is in pec-settings.c: Dovecot 2.3
 * `plugin {}` keys, or Dovecot 2.4 top-level settings declared in pec-settings-info.c; on both, userdb
 * extra fields of the same names override them per user.
 *
 *   pec_config           path of the provider configuration file (common/include/pec/config.h); required
 *   pec_accept_ordinary  yes|no [no]: the mailbox takes ordinary mail, wrapped in a busta di anomalia
 *   pec_notify           ordinary address told of every new PEC (short text, no content) [unset]
 *   pec_mailbox_disabled yes|no [no]: the mailbox is disabled (avviso di mancata consegna, 5.2.1)
 *   pec_anomaly_mailbox  folder for wrapped ordinary mail [the delivery's default mailbox]
 *   pec_archive          the box's Archivio di sicurezza: a folder the user may read only, where a copy
 *                        of each certified message and receipt is kept [unset: none]
 *   pec_archive_quota    its own size limit (k, M, G, T) [unset: none]
 */
#ifndef PEC_SETTINGS_H
#define PEC_SETTINGS_H

#include <stdbool.h>

struct mail_user;
struct mail_user_settings;
struct mail_deliver_context;

struct pec_settings {
	const char *config_path;
	bool accept_ordinary;
	bool mailbox_disabled;
	const char *notify;          /* NULL when unset */
	const char *anomaly_mailbox; /* NULL when unset */
	const char *archive;         /* NULL when unset */
	unsigned long long archive_quota; /* bytes, 0: no limit of its own */
};

/* A key lookup: the value or NULL when unset. */
typedef const char *pec_settings_lookup_func_t(const char *key, void *context);

/* pec_settings_parse - read every key through lookup; 0, or -1 with *error_r naming the bad key */
int pec_settings_parse(pec_settings_lookup_func_t *lookup, void *context, struct pec_settings *set_r,
		       const char **error_r);

/* pec_settings_read - the settings of a recipient (with its userdb extra fields); strings live as long as
 * the user */
int pec_settings_read(struct mail_user *user, struct pec_settings *set_r, const char **error_r);

/* pec_settings_global_config_path - pec_config from the process-wide settings, before any user exists
 * (to load the signing key once, before privileges are dropped); NULL when unavailable */
const char *pec_settings_global_config_path(void);

/* pec_settings_raw_user - a user of the raw storage that holds a busta di anomalia before it is saved,
 * made from the process's mail_user settings (the recipient's are already expanded); unref it */
struct mail_user *pec_settings_raw_user(struct mail_user *rcpt_user);

/* pec_settings_quota_full_tempfail - Dovecot's quota_full_tempfail for this delivery */
bool pec_settings_quota_full_tempfail(const struct mail_deliver_context *ctx);

#endif
