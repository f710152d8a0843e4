/* pec-compat.h - the one switch between the Dovecot 2.3 and 2.4 APIs.  Include after lib.h.
 *
 * Dovecot 2.4 replaced the `plugin {}` settings (mail_user_plugin_getenv) with declared settings
 * (setting_parser_info, settings_get) that doveconf checks through a settings module, and dropped
 * smtp_submit_input.allow_root.  Only pec-settings.c, pec-settings-info.c and pec-submit.c test it. */
#ifndef PEC_COMPAT_H
#define PEC_COMPAT_H

#if DOVECOT_PREREQ(2, 4, 0)
#  define PEC_DOVECOT24 1
#  include "settings.h" /* 2.3 has an unrelated header of this name: never include it there */
#  include "settings-parser.h"
#else
#  define PEC_DOVECOT24 0
#endif

#endif
