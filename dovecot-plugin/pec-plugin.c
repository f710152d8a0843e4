/* pec-plugin.c - Dovecot 2.3 plugin "pec" (lib95_pec_plugin.so): the PEC delivery point for LMTP and
 * LDA.  Load it after Sieve so that it wraps Sieve's hook:
 *   protocol lmtp { mail_plugins = $mail_plugins pec }
 *   plugin { pec_config = /etc/pec/provider.conf }   (see pec-settings.h for the other keys)
 */
#include "lib.h"
#include "module-dir.h"
#include "mail-deliver.h"
#include "pec-commit-watch.h"
#include "pec-deliver.h"
#include "pec-lmtp.h"
#include "pec-settings.h"
#include "pec-state.h"

void pec_plugin_init(struct module *module);
void pec_plugin_deinit(void);

const char *pec_plugin_version = DOVECOT_ABI_VERSION;
const char pec_plugin_binary_dependency[] = "lda lmtp";

void pec_plugin_init(struct module *module)
{
	const char *path, *error;

	pec_commit_watch_init(module);
	pec_next_deliver_mail = mail_deliver_hook_set(pec_deliver_mail);
	pec_lmtp_init();
	/* Load the configuration and the signing key now, while the process may still be privileged (the
	   key can stay readable by root only).  Best effort: on failure every delivery retries and
	   answers 4xx with the reason. */
	if ((path = pec_settings_global_config_path()) != NULL) {
		if (pec_state_get(path, &error) == NULL)
			i_error("pec: loading %s failed: %s", path, error);
	}
}

void pec_plugin_deinit(void)
{
	mail_deliver_hook_set(pec_next_deliver_mail);
	pec_lmtp_deinit();
	pec_commit_watch_deinit();
	pec_deliver_forget();
	pec_state_deinit();
}
