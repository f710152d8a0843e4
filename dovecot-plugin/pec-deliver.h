/* pec-deliver.h - the delivery point (PEC-RULES §5.3): Dovecot's deliver_mail hook, for LMTP and LDA.
 *
 * Every decision is the core's (pec_delivery_decide); this file applies the verdict to Dovecot:
 *   store-certified  store unmodified, then submit the avvenuta consegna dated at the save; a full or
 *                    disabled mailbox gets the avviso di mancata consegna instead (and a 2xx answer, so
 *                    the MTA sends no ordinary bounce)
 *   store-plain      receipts and anomaly envelopes: store as they are, emit nothing
 *   store-wrapped    store the core's busta di anomalia instead of the received message
 *   refuse           permanent refusal (5xx)
 * Internal failures (configuration, key, core error, submission, trace store) answer 4xx: never accept
 * uncertified or untraced mail (the order of save, claim, submission and trace: README.md).
 */
#ifndef PEC_DELIVER_H
#define PEC_DELIVER_H

struct mail;
struct mail_user;
struct mail_storage;
struct mail_deliver_context;
struct smtp_address;

/* The hook that was installed before ours (Sieve's lda-sieve when loaded): it stores for us. */
extern int (*pec_next_deliver_mail)(struct mail_deliver_context *ctx, struct mail_storage **storage_r);

/* pec_deliver_mail - the deliver_mail hook */
int pec_deliver_mail(struct mail_deliver_context *ctx, struct mail_storage **storage_r);

/* pec_deliver_precheck - LMTP only, before Dovecot's delivery of one recipient: analyse and decide.
 * Returns 1 when the message must be refused (*refusal_r: the reply text, already logged and traced);
 * -1 when it must be refused but the refusal could not be traced (*refusal_r: the reason, answer 4xx);
 * 0 otherwise, keeping the verdict for the deliver_mail hook of the same delivery. */
int pec_deliver_precheck(struct mail_user *user, struct mail *src_mail, const struct smtp_address *mail_from,
			 const struct smtp_address *rcpt_to, const char **refusal_r);

/* pec_deliver_forget - drop a verdict the hook did not take */
void pec_deliver_forget(void);

#endif
