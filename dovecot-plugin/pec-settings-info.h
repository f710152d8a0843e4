/* pec-settings-info.h - the Dovecot 2.4 settings struct of the plugin (pec-settings-info.c). */
#ifndef PEC_SETTINGS_INFO_H
#define PEC_SETTINGS_INFO_H

struct pec_dovecot_settings {
	pool_t pool;
	const char *pec_config;
	const char *pec_accept_ordinary;
	const char *pec_notify;
	const char *pec_mailbox_disabled;
	const char *pec_anomaly_mailbox;
	const char *pec_archive;
	const char *pec_archive_quota;
};

extern const struct setting_parser_info pec_setting_parser_info;
extern const char *pec_settings_version;
extern const struct setting_parser_info *const pec_settings_set_infos[];

#endif
