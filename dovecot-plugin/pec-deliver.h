/* pec-deliver.h - the delivery point (PEC-RULES §5.3): Dovecot's deliver_mail hook, for LMTP and LDA.
 *
 * The core decides (pec_delivery_decide) and runs the whole delivery (pec_delivery_run): the order of
 * store, marks, claim, receipt and trace, and what each failure means, are in
 * common/src/points/delivery_point.c.  This file gives the engine Dovecot's primitives (store through
 * Sieve or into a mailbox, the save time of an earlier copy, marks in the user's home, lib-smtp
 * submission, Dovecot's log) and turns its outcome into the hook's result: 2xx, a refusal reported as a
 * quota error (Dovecot 2.3's only permanent answer), or 4xx with the reason.
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
