/* pec-deliver.c - the delivery point's hook (see pec-deliver.h). */
#include "lib.h"
#include "ioloop.h"
#include "istream.h"
#include "str.h"
#include "smtp-address.h"
#include "mail-storage-private.h"
#include "mail-namespace.h"
#include "mail-user.h"
#include "mail-deliver.h"
#include "mail-search-build.h"
#include "raw-storage.h"
#include "pec-commit-watch.h"
#include "pec-glue.h"
#include "pec-settings.h"
#include "pec-state.h"
#include "pec-submit.h"
#include "pec-trace-glue.h"
#include "pec-deliver.h"
#include "pec/marks.h"

#include <sys/stat.h>

/* How long a mark is remembered: the sending provider gives up after 24 h (PEC-RULES §2.11), twice
   that covers any retry or duplicate relay.  Old marks are swept at most once an hour per mailbox. */
#define PEC_MARK_KEEP_SECS (2 * 24 * 3600)
#define PEC_MARK_SWEEP_EVERY_SECS 3600
/* the marks of a mailbox live in its owner's home directory */
#define PEC_MARKS_DIR ".pec-marks"

deliver_mail_func_t *pec_next_deliver_mail = NULL;

/* One recipient's delivery: what the core read and decided, and what it was decided on. */
struct pec_job {
	struct pec_settings set;
	const struct pec_state *state;
	struct pec_buf raw;
	char *recipient;
	char *reverse_path;
	struct pec_delivery_input in;
	struct pec_delivery_verdict v;
	/* the delivery the job was made for (the LMTP pre-check hands it to the hook) */
	struct mail_user *user;
	struct mail *src_mail;
	/* the lock of this busta's marks (pec_mark_lock), held from before the save until the delivery,
	   receipt included, is over: a second delivery of the same busta waits and then finds the marks */
	int mark_lock;
};

static struct pec_job *pending;
static bool warned_quota_tempfail;

static void pec_job_free(struct pec_job **_job)
{
	struct pec_job *job = *_job;

	if (job == NULL)
		return;
	*_job = NULL;
	pec_mark_unlock(&job->mark_lock);
	pec_delivery_verdict_clear(&job->v);
	pec_buf_release(&job->raw);
	i_free(job->recipient);
	i_free(job->reverse_path);
	i_free(job);
}

static const char *ascii(const char *text)
{
	size_t len = strlen(text) * 2 + 1;
	char *out = t_malloc0(len);

	pec_glue_ascii(text, out, len);
	return out;
}

/* read_mail - the message as Dovecot received it (with the headers LMTP/LDA prepended) */
static int read_mail(struct mail *mail, struct pec_buf *out, const char **error_r)
{
	struct istream *input;
	const unsigned char *data;
	size_t size;
	int ret;

	if (mail_get_stream(mail, NULL, NULL, &input) < 0) {
		*error_r = mailbox_get_last_internal_error(mail->box, NULL);
		return -1;
	}
	i_stream_seek(input, 0);
	while ((ret = i_stream_read_more(input, &data, &size)) > 0) {
		pec_buf_append(out, data, size);
		i_stream_skip(input, size);
	}
	if (input->stream_errno != 0 || ret == 0) {
		*error_r = input->stream_errno != 0 ? i_stream_get_error(input) : "unexpected non-blocking stream";
		return -1;
	}
	i_stream_seek(input, 0);
	return 0;
}

static int pec_job_create(struct mail_user *user, struct mail *src_mail, const struct smtp_address *mail_from,
			  const struct smtp_address *rcpt_to, struct pec_job **job_r, const char **tempfail_r)
{
	struct pec_job *job = i_new(struct pec_job, 1);
	struct pec_error err = { 0 };
	const char *error;

	job->mark_lock = -1;
	job->user = user;
	job->src_mail = src_mail;
	if (pec_settings_read(user, &job->set, &error) < 0) {
		*tempfail_r = t_strdup_printf("PEC plugin settings: %s", error);
		goto fail;
	}
	if (job->set.config_path == NULL) {
		*tempfail_r = "PEC plugin: pec_config is not set";
		goto fail;
	}
	if ((job->state = pec_state_get(job->set.config_path, &error)) == NULL) {
		*tempfail_r = t_strdup_printf("PEC configuration unavailable: %s", error);
		goto fail;
	}
	if (error != NULL)
		e_warning(user->event, "pec: %s changed but cannot be loaded, still using the previous one: %s",
			  job->set.config_path, error);
	if (read_mail(src_mail, &job->raw, &error) < 0) {
		*tempfail_r = t_strdup_printf("PEC plugin: reading the message failed: %s", error);
		goto fail;
	}
	job->recipient = i_strdup(smtp_address_encode(rcpt_to));
	job->reverse_path = i_strdup(smtp_address_isnull(mail_from) ? "" : smtp_address_encode(mail_from));
	job->in.raw = job->raw.data;
	job->in.len = job->raw.len;
	job->in.recipient = job->recipient;
	job->in.reverse_path = job->reverse_path;
	job->in.accepts_ordinary = job->set.accept_ordinary ? 1 : 0;
	job->in.now = time(NULL);
	if (pec_delivery_decide(&job->state->dctx, &job->in, &job->v, &err) < 0) {
		*tempfail_r = t_strdup_printf("PEC analysis failed: %s", err.msg);
		goto fail;
	}
	*job_r = job;
	return 0;
fail:
	pec_job_free(&job);
	return -1;
}

/* The recipient the PEC rules talk about: the original recipient when the MTA passed it. */
static const struct smtp_address *ctx_recipient(struct mail_deliver_context *ctx)
{
	return ctx->rcpt_params.orcpt.addr != NULL ? ctx->rcpt_params.orcpt.addr : ctx->rcpt_to;
}

static void log_decision(struct event *event, const struct pec_job *job, const char *outcome)
{
	e_info(event, "pec: identificativo=%s action=%s kind=%s rcpt=%s from=<%s>: %s",
	       ascii(pec_glue_identificativo(&job->v)), pec_delivery_action_name(job->v.action),
	       pec_kind_name(job->v.analysis.kind), job->recipient, job->reverse_path, outcome);
}

static int pec_tempfail(struct mail_deliver_context *ctx, const struct pec_job *job, const char *reason)
{
	if (job != NULL)
		log_decision(ctx->event, job, t_strdup_printf("temporary failure: %s", reason));
	else
		e_warning(ctx->event, "pec: temporary failure: %s", reason);
	ctx->tempfail_error = p_strdup(ctx->pool, ascii(reason));
	/* Dovecot answers 2xx when anything was saved: a retry must happen, so say nothing was */
	ctx->saved_mail = FALSE;
	return -1;
}

/* pec_store - store ctx->src_mail: through the previous hook (Sieve) for the default mailbox when one
 * is installed, else (or when it did nothing) into mailbox.  0 ok (see ctx->saved_mail), -1 failed. */
static int pec_store(struct mail_deliver_context *ctx, const char *mailbox, struct mail_storage **storage_r)
{
	if (pec_next_deliver_mail != NULL && strcmp(mailbox, ctx->rcpt_default_mailbox) == 0) {
		int ret = pec_next_deliver_mail(ctx, storage_r);

		if (ret > 0 || ctx->saved_mail)
			return 0;
		if (ctx->tempfail_error != NULL || ctx->tried_default_save)
			return -1;
	}
	return mail_deliver_save(ctx, mailbox, 0, NULL, storage_r);
}

/* receipt_to - where receipts about the busta go: the reverse path, else the certified sender */
static const char *receipt_to(const struct pec_job *job)
{
	return pec_delivery_receipt_to(&job->in, &job->v);
}

/* emit - submit a receipt/notice from the service address; 1 ok, 0 permanent, -1 temporary */
static int emit(struct mail_deliver_context *ctx, const struct pec_job *job, const char *to,
		const struct pec_buf *msg, const char **error_r)
{
	if (to == NULL || *to == '\0') {
		*error_r = "no address to send it to (null reverse path, no sender in daticert.xml)";
		return 0;
	}
	return pec_submit(ctx->smtp_set, ctx->event, job->state->rt->issuer.service_address, to, msg->data, msg->len,
			  error_r);
}

static void notify(struct mail_deliver_context *ctx, const struct pec_job *job, time_t when)
{
	struct pec_buf msg = PEC_BUF_INIT;
	const char *error;

	pec_delivery_notification(&job->state->dctx, &job->in, &job->v, job->set.notify, when, &msg);
	/* null reverse path: an automatic notice must not bounce back to the service */
	if (pec_submit(ctx->smtp_set, ctx->event, "", job->set.notify, msg.data, msg.len, &error) > 0) {
		/* best effort like the notice itself: the delivery is done and traced already */
		if (glue_trace_notified(ctx->event, job->state, &job->v, job->recipient, job->set.notify, when,
					&error) < 0)
			e_error(ctx->event, "pec: identificativo=%s: notification to %s sent but not traced: %s",
				ascii(pec_glue_identificativo(&job->v)), job->set.notify, error);
	} else
		e_warning(ctx->event, "pec: identificativo=%s: notification to %s not sent: %s",
			  ascii(pec_glue_identificativo(&job->v)), job->set.notify, error);
	pec_buf_release(&msg);
}

/* mancata - the busta could not be stored: the avviso di mancata consegna replaces the bounce */
static int mancata(struct mail_deliver_context *ctx, struct pec_job *job, enum pec_delivery_failure f,
		   const char *cause)
{
	struct pec_buf msg = PEC_BUF_INIT;
	struct pec_error err = { 0 };
	char msgid[PEC_ID_MAX], esteso[256];
	const char *error;
	time_t when = time(NULL);
	int ret;

	if (glue_trace_ready(ctx->event, job->state, &error) < 0)
		return pec_tempfail(ctx, job, error);
	pec_compose_errore_esteso(job->state->rt->issuer.gestore, f, esteso, sizeof(esteso));
	if (pec_delivery_mancata(&job->state->dctx, &job->in, &job->v, f, when, &msg, msgid, &err) < 0) {
		pec_buf_release(&msg);
		return pec_tempfail(ctx, job, t_strdup_printf("avviso di mancata consegna not built: %s", err.msg));
	}
	ret = emit(ctx, job, receipt_to(job), &msg, &error);
	pec_buf_release(&msg);
	if (ret < 0) {
		return pec_tempfail(ctx, job,
				    t_strdup_printf("avviso di mancata consegna not submitted: %s", error));
	}
	if (ret == 0)
		e_error(ctx->event, "pec: identificativo=%s: avviso di mancata consegna %s refused: %s",
			ascii(pec_glue_identificativo(&job->v)), msgid, error);
	/* submitted, then traced: if the trace fails now the retry sends the avviso again (never an
	   untraced one) */
	if (glue_trace_not_delivered(ctx->event, job->state, &job->v, job->recipient, esteso, msgid, when,
				     &error) < 0)
		return pec_tempfail(ctx, job, error);
	log_decision(ctx->event, job,
		     t_strdup_printf("not stored (%s%s%s), avviso di mancata consegna %s submitted", esteso,
				     cause != NULL ? ": " : "", cause != NULL ? ascii(cause) : "", msgid));
	/* handled: LMTP answers 2xx and the MTA sends no ordinary bounce */
	return 1;
}

/* user_home - the recipient's home directory setting (it may not exist yet), or NULL */
static const char *user_home(struct mail_deliver_context *ctx)
{
	const char *home;

	return mail_user_get_home(ctx->rcpt_user, &home) > 0 && home != NULL && *home != '\0' ? home : NULL;
}

/* marks_dir - the recipient's marks folder (t_strdup), or NULL when the user has no home directory.
   create: make the home directory (the first delivery to a new mailbox has not made it yet) and the
   folder, and sweep old marks when due; without create, a missing home gives the folder anyway (no
   mark can be found in it) */
static const char *marks_dir(struct mail_deliver_context *ctx, bool create)
{
	const char *home, *dir;
	struct pec_error err = { 0 };
	struct stat st;

	if ((home = user_home(ctx)) == NULL)
		return NULL;
	dir = t_strconcat(home, "/" PEC_MARKS_DIR, NULL);
	if (!create)
		return dir;
	if (stat(home, &st) < 0 && errno == ENOENT && mail_user_home_mkdir(ctx->rcpt_user) < 0)
		return NULL;
	if (pec_marks_prepare(dir, &err) < 0) {
		e_error(ctx->event, "pec: %s", err.msg);
		return NULL;
	}
	if (pec_marks_sweep_due(dir, ioloop_time, PEC_MARK_SWEEP_EVERY_SECS) > 0 &&
	    pec_marks_sweep(dir, ioloop_time - PEC_MARK_KEEP_SECS, &err) < 0)
		e_error(ctx->event, "pec: sweeping old marks: %s", err.msg);
	return dir;
}

/* mark_set - remember key; a failure is logged (the cost is at most a second copy on a retry) */
static void mark_set(struct mail_deliver_context *ctx, const char *dir, const char *key)
{
	struct pec_error err = { 0 };

	if (pec_mark_set(dir, key, &err) < 0)
		e_error(ctx->event, "pec: %s not recorded: %s", key, err.msg);
}

/* saved_at_of - when an earlier attempt stored the busta (its save date in mailbox), so a receipt sent
 * on a retry still carries the moment the message became available; 0 when not found */
static time_t saved_at_of(struct mail_deliver_context *ctx, const char *mailbox, const char *identificativo)
{
	struct mail_namespace *ns = mail_namespace_find(ctx->rcpt_user->namespaces, mailbox);
	struct mail_search_args *args;
	struct mail_search_arg *arg;
	struct mail_search_context *search;
	struct mailbox_transaction_context *t;
	struct mailbox *box;
	struct mail *mail;
	time_t latest = 0, date;

	box = mailbox_alloc(ns->list, mailbox, 0);
	if (mailbox_sync(box, MAILBOX_SYNC_FLAG_FAST) < 0) {
		mailbox_free(&box);
		return 0;
	}
	args = mail_search_build_init();
	arg = mail_search_build_add(args, SEARCH_HEADER);
	arg->hdr_field_name = "Message-ID";
	arg->value.str = p_strdup_printf(args->pool, "<%s>", identificativo);
	t = mailbox_transaction_begin(box, 0, __func__);
	search = mailbox_search_init(t, args, NULL, MAIL_FETCH_SAVE_DATE, NULL);
	while (mailbox_search_next(search, &mail)) {
		if (mail_get_save_date(mail, &date) > 0 && date > latest)
			latest = date;
	}
	(void)mailbox_search_deinit(&search);
	mailbox_transaction_rollback(&t);
	mail_search_args_unref(&args);
	mailbox_free(&box);
	return latest;
}

static int deliver_certified(struct mail_deliver_context *ctx, struct pec_job *job,
			     struct mail_storage **storage_r)
{
	char key_stored[PEC_GLUE_DUP_KEY_MAX], key_receipt[PEC_GLUE_DUP_KEY_MAX], msgid[PEC_ID_MAX];
	const char *id = pec_glue_identificativo(&job->v), *error, *variant, *marks = NULL;
	struct pec_error merr = { 0 };
	int seen;
	struct pec_buf msg = PEC_BUF_INIT;
	struct pec_error err = { 0 };
	enum pec_delivery_failure f;
	enum mail_error mail_error;
	bool stored_before = FALSE, idempotent;
	time_t saved_at;
	int ret, sent = 0;

	if (job->set.mailbox_disabled)
		return mancata(ctx, job, PEC_DELIVERY_FAIL_DISABLED, "pec_mailbox_disabled");

	idempotent = pec_glue_dup_key(PEC_GLUE_STAGE_STORED, id, job->recipient, key_stored) > 0 &&
		     pec_glue_dup_key(PEC_GLUE_STAGE_RECEIPT, id, job->recipient, key_receipt) > 0;
	if (idempotent && user_home(ctx) == NULL) {
		/* nowhere to keep marks: a repeated delivery may store a second copy; the trace store's
		   claim still allows one receipt */
		e_warning(ctx->event, "pec: %s has no home directory: no idempotence marks, a repeated "
			  "delivery may store a second copy", job->recipient);
		idempotent = FALSE;
	}
	if (idempotent) {
		if ((marks = marks_dir(ctx, TRUE)) == NULL)
			return pec_tempfail(ctx, job, "cannot create the home directory or its marks folder");
		/* released with the job: two deliveries of one busta never both store it or send its receipt */
		if ((job->mark_lock = pec_mark_lock(marks, key_stored, &merr)) < 0)
			return pec_tempfail(ctx, job, merr.msg);
		if ((seen = pec_mark_check(marks, key_receipt, &merr)) > 0) {
			glue_trace_duplicate(ctx->event, &job->v, job->recipient, time(NULL));
			log_decision(ctx->event, job, "already delivered and receipted: nothing stored, nothing sent");
			return 1;
		}
		if (seen == 0 && (seen = pec_mark_check(marks, key_stored, &merr)) > 0)
			stored_before = TRUE;
		if (seen < 0)
			return pec_tempfail(ctx, job, merr.msg);
	}

	/* nothing is stored while the trace store is down: the MTA retries */
	if (glue_trace_ready(ctx->event, job->state, &error) < 0)
		return pec_tempfail(ctx, job, error);

	if (stored_before) {
		/* stored by an earlier attempt whose receipt did not go out: do not store it twice; the
		   receipt keeps the time of that save when the message is still there */
		if ((saved_at = saved_at_of(ctx, ctx->rcpt_default_mailbox, id)) == 0)
			saved_at = time(NULL);
	} else {
		const char *mailbox = pec_glue_mailbox(job->v.action, ctx->rcpt_default_mailbox, NULL);
		unsigned int commits;

		pec_commit_watch_begin();
		ret = pec_store(ctx, mailbox, storage_r);
		commits = pec_commit_watch_end(&saved_at);
		if (ret < 0 && commits == 0) {
			if (ctx->tempfail_error != NULL)
				return pec_tempfail(ctx, job, ctx->tempfail_error);
			if (*storage_r != NULL)
				error = mail_storage_get_last_error(*storage_r, &mail_error);
			else {
				error = "unknown storage error";
				mail_error = MAIL_ERROR_TEMP;
			}
			if (pec_glue_save_failure(mail_error, ctx->mailbox_full, &f) > 0)
				return mancata(ctx, job, f, error);
			log_decision(ctx->event, job, t_strdup_printf("save failed, will be retried: %s", error));
			return -1; /* Dovecot answers 4xx from the storage error */
		}
		if (commits == 0 && !ctx->saved_mail) {
			log_decision(ctx->event, job, "not stored by the Sieve script: no avvenuta consegna");
			return 1;
		}
		/* a save has committed (ours, or a Sieve fileinto/keep): the first commit is the delivery
		   time (DPR 68/2005: the message is available in the mailbox) */
		if (saved_at == 0)
			saved_at = time(NULL);
		/* the message is in a mailbox even if another Sieve action failed: answer 2xx */
		ctx->saved_mail = TRUE;
		if (idempotent)
			mark_set(ctx, marks, key_stored);
	}

	variant = pec_ricevuta_name(job->v.variant);
	/* the right to emit this recipient's receipt, across processes and nodes.  0 is an earlier claim:
	   our own attempt whose submission or trace failed (this mailbox's marks say it stored the busta
	   and sent no receipt) - send it now; or a claim these marks do not know of (another node, an
	   expired mark, a mark lost in a crash): send it unless the store says it went out. */
	ret = glue_trace_claim(ctx->event, job->state, &job->v, job->recipient, time(NULL), &error);
	if (ret < 0)
		return pec_tempfail(ctx, job, error); /* the retry finds the stored mark */
	if (ret == 0 && idempotent && !stored_before &&
	    (sent = glue_trace_receipt_sent(ctx->event, job->state, &job->v, job->recipient, &error)) < 0)
		return pec_tempfail(ctx, job, error);
	if (ret == 0 && idempotent && !stored_before && sent > 0) {
		mark_set(ctx, marks, key_receipt);
		/* the copy is traced as a message stored without a receipt of its own */
		if (glue_trace_stored_plain(ctx->event, job->state, &job->v, job->recipient, saved_at, &error) < 0)
			e_error(ctx->event, "pec: identificativo=%s rcpt=%s: second copy not traced: %s", ascii(id),
				job->recipient, error);
		e_warning(ctx->event, "pec: identificativo=%s rcpt=%s: receipt already claimed by another delivery: "
			  "stored again, no second avvenuta consegna", ascii(id), job->recipient);
		log_decision(ctx->event, job, "stored, receipt already claimed: no avvenuta consegna sent");
		return 1;
	}
	if (pec_delivery_consegna(&job->state->dctx, &job->in, &job->v, saved_at, &msg, msgid, &err) < 0) {
		pec_buf_release(&msg);
		return pec_tempfail(ctx, job, t_strdup_printf("avvenuta consegna not built: %s", err.msg));
	}
	ret = emit(ctx, job, receipt_to(job), &msg, &error);
	pec_buf_release(&msg);
	if (ret < 0) {
		/* 4xx: the retry finds the stored mark and the claim, and only sends the receipt */
		return pec_tempfail(ctx, job, t_strdup_printf("avvenuta consegna not submitted: %s", error));
	}
	if (ret == 0)
		e_error(ctx->event, "pec: identificativo=%s: avvenuta consegna %s refused: %s", ascii(id), msgid, error);
	/* traced before the receipt mark: should the trace fail now, the retry sends the receipt again
	   and traces it (a second receipt in that narrow window, never an untraced one) */
	if (glue_trace_delivered(ctx->event, job->state, &job->v, job->recipient, variant, msgid, saved_at,
				 &error) < 0)
		return pec_tempfail(ctx, job, error);
	if (idempotent)
		mark_set(ctx, marks, key_receipt);
	log_decision(ctx->event, job,
		     t_strdup_printf("%s, avvenuta consegna %s (%s) submitted",
				     stored_before ? "stored by an earlier attempt" : "stored", msgid,
				     variant != NULL ? variant : "?"));
	if (job->set.notify != NULL)
		notify(ctx, job, saved_at);
	return 1;
}

/* plain_key - a key of a receipt, anomaly envelope or wrapped message by its own Message-ID: "untraced"
 * is set only when its trace failed after the save, so that the retry traces it without storing a second
 * copy; "plain" once stored and traced, so that a copy re-sent after a sender's crash (same Message-ID)
 * is not stored twice */
static bool plain_key(const struct pec_job *job, enum pec_glue_stage stage, char key[PEC_GLUE_DUP_KEY_MAX])
{
	return pec_glue_dup_key(stage, job->v.analysis.message_id, job->recipient, key) > 0;
}

/* plain_seen - 1 when the key of this stage was marked by an earlier delivery */
static bool plain_seen(struct mail_deliver_context *ctx, const struct pec_job *job, enum pec_glue_stage stage)
{
	char key[PEC_GLUE_DUP_KEY_MAX];
	const char *dir;

	/* no home directory yet: nothing was stored */
	if (!plain_key(job, stage, key) || (dir = marks_dir(ctx, FALSE)) == NULL)
		return FALSE;
	return pec_mark_check(dir, key, NULL) > 0;
}

/* plain_untraced - stored but the trace failed: remember the save, answer 4xx */
static int plain_untraced(struct mail_deliver_context *ctx, const struct pec_job *job, const char *error)
{
	char key[PEC_GLUE_DUP_KEY_MAX];
	const char *dir;

	if (ctx->saved_mail && plain_key(job, PEC_GLUE_STAGE_UNTRACED, key) && (dir = marks_dir(ctx, TRUE)) != NULL)
		mark_set(ctx, dir, key);
	return pec_tempfail(ctx, job, error);
}

static int deliver_plain(struct mail_deliver_context *ctx, struct pec_job *job, struct mail_storage **storage_r)
{
	const char *mailbox = pec_glue_mailbox(job->v.action, ctx->rcpt_default_mailbox, NULL), *error, *dir;
	char key[PEC_GLUE_DUP_KEY_MAX];

	if (glue_trace_ready(ctx->event, job->state, &error) < 0)
		return pec_tempfail(ctx, job, error);
	if (job->v.action == PEC_DELIVERY_STORE_PLAIN && plain_seen(ctx, job, PEC_GLUE_STAGE_PLAIN)) {
		log_decision(ctx->event, job, "already stored: a copy re-sent by its sender, dropped");
		return 1;
	}
	if (plain_seen(ctx, job, PEC_GLUE_STAGE_UNTRACED)) {
		ctx->saved_mail = TRUE;
	} else if (pec_store(ctx, mailbox, storage_r) < 0) {
		if (ctx->tempfail_error != NULL)
			return pec_tempfail(ctx, job, ctx->tempfail_error);
		log_decision(ctx->event, job, "save failed");
		return -1;
	}
	if (ctx->saved_mail &&
	    glue_trace_stored_plain(ctx->event, job->state, &job->v, job->recipient, time(NULL), &error) < 0)
		return plain_untraced(ctx, job, error);
	if (ctx->saved_mail && job->v.action == PEC_DELIVERY_STORE_PLAIN && plain_key(job, PEC_GLUE_STAGE_PLAIN, key) &&
	    (dir = marks_dir(ctx, TRUE)) != NULL)
		mark_set(ctx, dir, key);
	log_decision(ctx->event, job, ctx->saved_mail ? "stored as it is, no receipt" : "not stored by Sieve");
	return 1;
}

static int deliver_wrapped(struct mail_deliver_context *ctx, struct pec_job *job,
			   struct mail_storage **storage_r)
{
	const char *mailbox = pec_glue_mailbox(job->v.action, ctx->rcpt_default_mailbox, job->set.anomaly_mailbox);
	struct mail_user *raw_user;
	struct mailbox *box;
	struct mailbox_transaction_context *t;
	struct mail *mail, *received = ctx->src_mail;
	struct istream *input;
	const char *error;
	int ret;

	if (glue_trace_ready(ctx->event, job->state, &error) < 0)
		return pec_tempfail(ctx, job, error);
	if (plain_seen(ctx, job, PEC_GLUE_STAGE_UNTRACED)) {
		ctx->saved_mail = TRUE;
		goto traced;
	}
	raw_user = pec_settings_raw_user(ctx->rcpt_user);
	input = i_stream_create_from_data(job->v.wrapped.data, job->v.wrapped.len);
	if (raw_mailbox_alloc_stream(raw_user, input, (time_t)-1, job->reverse_path, &box) < 0) {
		const char *oerror = t_strdup(mailbox_get_last_internal_error(box, NULL));

		mailbox_free(&box);
		i_stream_unref(&input);
		mail_user_unref(&raw_user);
		return pec_tempfail(ctx, job, t_strdup_printf("busta di anomalia not opened: %s", oerror));
	}
	t = mailbox_transaction_begin(box, 0, __func__);
	mail = mail_alloc(t, 0, NULL);
	mail_set_seq(mail, 1);

	ctx->src_mail = mail;
	ret = pec_store(ctx, mailbox, storage_r);
	ctx->src_mail = received;

	mail_free(&mail);
	mailbox_transaction_rollback(&t);
	mailbox_free(&box);
	i_stream_unref(&input);
	mail_user_unref(&raw_user);

	if (ret < 0) {
		if (ctx->tempfail_error != NULL)
			return pec_tempfail(ctx, job, ctx->tempfail_error);
		log_decision(ctx->event, job, "busta di anomalia: save failed");
		return -1;
	}
traced:
	if (ctx->saved_mail &&
	    glue_trace_anomaly(ctx->event, job->state, &job->v, job->recipient, job->v.reason, time(NULL), &error) < 0)
		return plain_untraced(ctx, job, error);
	log_decision(ctx->event, job,
		     t_strdup_printf("stored inside a busta di anomalia in %s: %s", mailbox, ascii(job->v.reason)));
	return 1;
}

static const char *refusal_text(const struct pec_job *job)
{
	char *text = t_malloc0(PEC_DELIVERY_REFUSAL_MAX);

	return pec_delivery_refusal_text(&job->in, &job->v, text, PEC_DELIVERY_REFUSAL_MAX);
}

/* refusal_record - trace the refusal; -1 with *error_r when it could not be (answer 4xx, not 5xx) */
static int refusal_record(struct event *event, const struct pec_job *job, const char *text,
			  const char **error_r)
{
	if (glue_trace_refused(event, job->state, &job->v, job->recipient, text, time(NULL), error_r) < 0) {
		log_decision(event, job, t_strdup_printf("refusal not traced, temporary failure: %s", *error_r));
		return -1;
	}
	log_decision(event, job, text);
	return 0;
}

/* refuse - permanent refusal from inside the hook (LDA, or LMTP without the pre-check).  Dovecot 2.3
 * maps a failed delivery to a permanent answer only for a quota error (lib-lda mail_deliver():
 * NOQUOTA -> LMTP 552 5.2.2 / LDA rejection, anything else -> 4xx), so the refusal is reported as one,
 * with our text; quota_full_tempfail=yes would turn it into 4xx. */
static int deliver_refuse(struct mail_deliver_context *ctx, struct pec_job *job, struct mail_storage **storage_r)
{
	struct mail_namespace *ns = mail_namespace_find_inbox(ctx->rcpt_user->namespaces);
	struct mail_storage *storage = mail_namespace_get_default_storage(ns);
	const char *text = refusal_text(job), *error;

	if (pec_settings_quota_full_tempfail(ctx) && !warned_quota_tempfail) {
		warned_quota_tempfail = TRUE;
		e_warning(ctx->event, "pec: quota_full_tempfail=yes turns refusals of ordinary mail into 4xx");
	}
	if (refusal_record(ctx->event, job, text, &error) < 0) {
		/* nothing may be stored either way */
		ctx->tried_default_save = TRUE;
		ctx->rcpt_default_mailbox = "INBOX";
		return pec_tempfail(ctx, NULL, error);
	}
	mail_storage_set_error(storage, MAIL_ERROR_NOQUOTA, text);
	*storage_r = storage;
	/* nothing may be stored: stop Dovecot's fallback saves of the received message */
	ctx->tried_default_save = TRUE;
	ctx->rcpt_default_mailbox = "INBOX";
	ctx->saved_mail = FALSE;
	return -1;
}

int pec_deliver_mail(struct mail_deliver_context *ctx, struct mail_storage **storage_r)
{
	struct pec_job *job = NULL;
	const char *tempfail;
	int ret;

	/* LMTP hands recipient 1's saved copy to recipients 2..n when save_dest_mail is set: a busta di
	   anomalia stored for one must never reach another, so every recipient reads the received message */
	ctx->save_dest_mail = FALSE;

	if (pending != NULL && pending->user == ctx->rcpt_user && pending->src_mail == ctx->src_mail) {
		job = pending;
		pending = NULL;
	} else {
		pec_deliver_forget();
		if (pec_job_create(ctx->rcpt_user, ctx->src_mail, ctx->mail_from, ctx_recipient(ctx), &job,
				   &tempfail) < 0)
			return pec_tempfail(ctx, NULL, tempfail);
	}

	switch (job->v.action) {
	case PEC_DELIVERY_STORE_CERTIFIED:
		ret = deliver_certified(ctx, job, storage_r);
		break;
	case PEC_DELIVERY_STORE_PLAIN:
		ret = deliver_plain(ctx, job, storage_r);
		break;
	case PEC_DELIVERY_STORE_WRAPPED:
		ret = deliver_wrapped(ctx, job, storage_r);
		break;
	case PEC_DELIVERY_REFUSE:
	default:
		ret = deliver_refuse(ctx, job, storage_r);
		break;
	}
	pec_job_free(&job);
	return ret;
}

int pec_deliver_precheck(struct mail_user *user, struct mail *src_mail, const struct smtp_address *mail_from,
			 const struct smtp_address *rcpt_to, const char **refusal_r)
{
	struct pec_job *job;
	const char *tempfail, *error;
	int ret = 1;

	pec_deliver_forget();
	/* on failure the hook meets the same problem and answers 4xx with the reason */
	if (pec_job_create(user, src_mail, mail_from, rcpt_to, &job, &tempfail) < 0)
		return 0;
	if (job->v.action != PEC_DELIVERY_REFUSE) {
		pending = job;
		return 0;
	}
	*refusal_r = refusal_text(job);
	if (refusal_record(user->event, job, *refusal_r, &error) < 0) {
		char *reason = t_malloc0(strlen(error) * 2 + 1);

		pec_glue_ascii(error, reason, strlen(error) * 2 + 1);
		*refusal_r = reason;
		ret = -1;
	}
	pec_job_free(&job);
	return ret;
}

void pec_deliver_forget(void)
{
	pec_job_free(&pending);
}
