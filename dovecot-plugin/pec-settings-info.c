/* pec-settings-info.c - the plugin's settings declared the Dovecot 2.4 way (pec-settings.h lists them).
 *
 * Compiled into the plugin (which reads them with settings_get) and, alone, into the settings module
 * libpec_settings.so that doveconf loads from the modules' settings/ folder, so that `doveconf -n`
 * knows and checks them: settings_get() insists that both carry the same keys in the same order, which
 * one source file guarantees.  Every key is a string, parsed by pec_settings_parse() as on 2.3 (2.4's
 * booleans would refuse "true" and "on", which 2.3 installations may use).  No plugin_dependency: doveconf
 * would then look for the plugin in its own module folder only, and the tests load it from another one;
 * the module and the plugin ship together.  Empty on Dovecot 2.3. */
#include "lib.h"
#include "pec-compat.h"

#if PEC_DOVECOT24
#include "pec-settings-info.h"

#undef DEF
#define DEF(name) SETTING_DEFINE_STRUCT_STR(#name, name, struct pec_dovecot_settings)

static const struct setting_define pec_setting_defines[] = {
	DEF(pec_config),
	DEF(pec_accept_ordinary),
	DEF(pec_notify),
	DEF(pec_mailbox_disabled),
	DEF(pec_anomaly_mailbox),
	DEF(pec_archive),
	DEF(pec_archive_quota),
	SETTING_DEFINE_LIST_END
};

static const struct pec_dovecot_settings pec_default_settings = {
	.pec_config = "",
	.pec_accept_ordinary = "",
	.pec_notify = "",
	.pec_mailbox_disabled = "",
	.pec_anomaly_mailbox = "",
	.pec_archive = "",
	.pec_archive_quota = "",
};

const struct setting_parser_info pec_setting_parser_info = {
	.name = "pec",
	.defines = pec_setting_defines,
	.defaults = &pec_default_settings,
	.struct_size = sizeof(struct pec_dovecot_settings),
	.pool_offset1 = 1 + offsetof(struct pec_dovecot_settings, pool),
};

/* what doveconf looks up in libpec_settings.so (module "pec_settings") */
const char *pec_settings_version = DOVECOT_ABI_VERSION;
const struct setting_parser_info *const pec_settings_set_infos[] = { &pec_setting_parser_info, NULL };
#endif
