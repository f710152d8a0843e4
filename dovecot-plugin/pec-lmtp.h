/* pec-lmtp.h - LMTP only: refuse ordinary mail with a proper 550 5.7.1 per recipient.
 *
 * Dovecot 2.3's lib-lda gives a deliver_mail hook no way to answer 5xx except as a quota error, so in
 * the lmtp binary the plugin also wraps the client's local_deliver (lmtp_client_created_hook_set, as
 * Dovecot's own lmtp plugins do): the verdict is taken there first and a refusal is answered directly.
 * In other binaries (dovecot-lda) the symbols are absent (weak) and this does nothing. */
#ifndef PEC_LMTP_H
#define PEC_LMTP_H

void pec_lmtp_init(void);
void pec_lmtp_deinit(void);

#endif
