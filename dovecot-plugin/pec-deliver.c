/* pec-deliver.c - the delivery point's hook (see pec-deliver.h): Dovecot's side of pec_delivery_run.
 * The engine decides and orders every effect; this file stores through Dovecot (Sieve first), keeps
 * the idempotence marks in the user's home, submits through lib-smtp and logs through Dovecot. */
#include "lib.h"
#include "ioloop.h"
#include "istream.h"
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
#include "pec-deliver.h"
#include "pec/effects.h"
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
	/* the lock of this busta's marks, held until the delivery, receipt included, is over */
	int mark_lock;
};

/* The engine's callbacks see this (the standard effects' state first, see effects.h). */
struct pec_host {
	struct pec_effects_std std;
	struct mail_deliver_context *ctx; /* NULL in the LMTP pre-check */
	struct event *event;
	struct pec_job *job;
	struct mail_storage **storage_r;
};

static struct pec_job *pending;
static bool warned_quota_tempfail, warned_no_database;

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
	if (job->state->trace == NULL && !warned_no_database) {
		warned_no_database = TRUE;
		e_warning(user->event, "pec: %s sets no database: trace records are written to the log only",
			  job->set.config_path);
	}
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
	job->in.disabled = job->set.mailbox_disabled ? 1 : 0;
	job->in.notify = job->set.notify;
	job->in.now = time(NULL);
	{
		/* the trace lookup for a bounce of our own Postfix (pec_delivery_input.sent) */
		struct pec_effects_std std = { job->state->rt->cfg, job->state->trace, NULL };
		struct pec_effects fx;
		int ret;

		pec_effects_standard(&fx, &std);
		job->in.sent = fx.trace_sent_to;
		job->in.sent_ctx = &std;
		ret = pec_delivery_decide(&job->state->dctx, &job->in, &job->v, &err);
		job->in.sent = NULL;
		job->in.sent_ctx = NULL;
		if (ret < 0) {
			*tempfail_r = t_strdup_printf("PEC analysis failed: %s", err.msg);
			goto fail;
		}
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

/* host_log - the engine's lines as Dovecot events */
static void host_log(void *context, enum pec_log_level level, const char *line)
{
	struct pec_host *host = context;

	if (level >= PEC_LOG_ERROR)
		e_error(host->event, "%s", line);
	else if (level == PEC_LOG_WARN)
		e_warning(host->event, "%s", line);
	else
		e_info(host->event, "%s", line);
}

/* host_submit - through the configuration's submit_address, else lib-smtp (submission_host or sendmail) */
static int host_submit(void *context, const char *from, const char *to, const void *msg, size_t len,
		       struct pec_error *err)
{
	struct pec_host *host = context;
	const char *error;
	int ret;

	/* the provider's own injection listener when the configuration names one (a unix socket only the
	   PEC services reach), else whatever Dovecot submits through */
	if (host->std.cfg->submit_address != NULL)
		return pec_submit_one(host->std.cfg, from, to, msg, len, err);
	if (host->ctx == NULL) {
		pec_error_set(err, PEC_ERR_INTERNAL, "no submission outside a delivery");
		return -1;
	}
	ret = pec_submit(host->ctx->smtp_set, host->event, from, to, msg, len, &error);
	if (ret > 0)
		return 0;
	pec_error_set(err, ret == 0 ? PEC_ERR_PERMANENT : PEC_ERR_TEMPORARY, "%s", error);
	return -1;
}

/* host_effects - the standard effects over this state's store, with Dovecot's submission and log */
static void host_effects(struct pec_host *host, struct pec_effects *fx)
{
	host->std.cfg = host->job->state->rt->cfg;
	host->std.trace = host->job->state->trace;
	pec_effects_standard(fx, &host->std);
	fx->submit = host_submit;
	fx->log = host_log;
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

/* store_failure - why a store failed, from Dovecot's state after it */
static int store_failure(struct pec_host *host, enum pec_store_failure *failure_r, struct pec_error *err)
{
	struct mail_deliver_context *ctx = host->ctx;
	enum mail_error mail_error = MAIL_ERROR_TEMP;
	enum pec_delivery_failure f;
	const char *error = "unknown storage error";

	if (ctx->tempfail_error != NULL) {
		*failure_r = PEC_STORE_RETRY;
		pec_error_set(err, PEC_ERR_TEMPORARY, "%s", ctx->tempfail_error);
		return -1;
	}
	if (*host->storage_r != NULL)
		error = mail_storage_get_last_error(*host->storage_r, &mail_error);
	*failure_r = pec_glue_save_failure(mail_error, ctx->mailbox_full, &f) > 0 ? PEC_STORE_FULL : PEC_STORE_HOST_ERROR;
	pec_error_set(err, PEC_ERR_TEMPORARY, "%s", error);
	return -1;
}

/* store_wrapped - store the busta di anomalia instead of the received message */
static int store_wrapped(struct pec_host *host, const char *mailbox, const struct pec_buf *wrapped,
			 struct pec_error *err)
{
	struct mail_deliver_context *ctx = host->ctx;
	struct mail_user *raw_user = pec_settings_raw_user(ctx->rcpt_user);
	struct istream *input = i_stream_create_from_data(wrapped->data, wrapped->len);
	struct mail *mail, *received = ctx->src_mail;
	struct mailbox_transaction_context *t;
	struct mailbox *box;
	int ret;

	if (raw_mailbox_alloc_stream(raw_user, input, (time_t)-1, host->job->reverse_path, &box) < 0) {
		pec_error_set(err, PEC_ERR_TEMPORARY, "busta di anomalia not opened: %s",
			      mailbox_get_last_internal_error(box, NULL));
		mailbox_free(&box);
		i_stream_unref(&input);
		mail_user_unref(&raw_user);
		return -2;
	}
	t = mailbox_transaction_begin(box, 0, __func__);
	mail = mail_alloc(t, 0, NULL);
	mail_set_seq(mail, 1);
	ctx->src_mail = mail;
	ret = pec_store(ctx, mailbox, host->storage_r);
	ctx->src_mail = received;
	mail_free(&mail);
	mailbox_transaction_rollback(&t);
	mailbox_free(&box);
	i_stream_unref(&input);
	mail_user_unref(&raw_user);
	return ret;
}

/* host_store - the engine's store: the received message (Sieve may file it) or the busta di anomalia */
static int host_store(void *context, const struct pec_buf *wrapped, time_t *saved_at_r,
		      enum pec_store_failure *failure_r, struct pec_error *err)
{
	struct pec_host *host = context;
	struct mail_deliver_context *ctx = host->ctx;
	const char *mailbox = pec_glue_mailbox(host->job->v.action, ctx->rcpt_default_mailbox,
					       host->job->set.anomaly_mailbox);
	unsigned int commits;
	int ret;

	*saved_at_r = 0;
	if (wrapped != NULL) {
		if ((ret = store_wrapped(host, mailbox, wrapped, err)) == -2) {
			*failure_r = PEC_STORE_RETRY;
			return -1;
		}
		return ret < 0 ? store_failure(host, failure_r, err) : ctx->saved_mail ? 1 : 0;
	}
	pec_commit_watch_begin();
	ret = pec_store(ctx, mailbox, host->storage_r);
	commits = pec_commit_watch_end(saved_at_r);
	if (host->job->v.action != PEC_DELIVERY_STORE_CERTIFIED)
		return ret < 0 ? store_failure(host, failure_r, err) : ctx->saved_mail ? 1 : 0;
	if (ret < 0 && commits == 0)
		return store_failure(host, failure_r, err);
	if (commits == 0 && !ctx->saved_mail)
		return 0;
	/* a save has committed (ours, or a Sieve fileinto/keep): the message is in a mailbox even if
	   another Sieve action failed, so the answer is 2xx */
	ctx->saved_mail = TRUE;
	return 1;
}

/* host_stored_at - when an earlier attempt stored the busta (its save date in the default mailbox), so a
 * receipt sent on a retry still carries the moment the message became available; 0 when not found,
 * (time_t)-1 when the mailbox cannot be synced or searched */
static time_t host_stored_at(void *context, const char *identificativo)
{
	struct pec_host *host = context;
	struct mail_deliver_context *ctx = host->ctx;
	struct mail_namespace *ns = mail_namespace_find(ctx->rcpt_user->namespaces, ctx->rcpt_default_mailbox);
	struct mailbox *box = mailbox_alloc(ns->list, ctx->rcpt_default_mailbox, 0);
	struct mail_search_args *args;
	struct mail_search_arg *arg;
	struct mail_search_context *search;
	struct mailbox_transaction_context *t;
	struct mail *mail;
	time_t latest = 0, date;

	if (mailbox_sync(box, MAILBOX_SYNC_FLAG_FAST) < 0) {
		e_warning(host->event, "pec: %s cannot be searched: %s", ctx->rcpt_default_mailbox,
			  mailbox_get_last_internal_error(box, NULL));
		mailbox_free(&box);
		return (time_t)-1;
	}
	args = mail_search_build_init();
	arg = mail_search_build_add(args, SEARCH_HEADER);
	arg->hdr_field_name = "Message-ID";
	arg->value.str = p_strdup_printf(args->pool, "<%s>", identificativo);
	t = mailbox_transaction_begin(box, 0, __func__);
	search = mailbox_search_init(t, args, NULL, MAIL_FETCH_SAVE_DATE, NULL);
	while (mailbox_search_next(search, &mail)) {
		/* a copy whose save date is unknown still is a copy: its arrival time stands in for it */
		if (mail_get_save_date(mail, &date) < 0 || date <= 0)
			date = mail_get_received_date(mail, &date) == 0 && date > 0 ? date : ioloop_time;
		if (date > latest)
			latest = date;
	}
	if (mailbox_search_deinit(&search) < 0) {
		e_warning(host->event, "pec: %s cannot be searched: %s", ctx->rcpt_default_mailbox,
			  mailbox_get_last_internal_error(box, NULL));
		latest = (time_t)-1;
	}
	mailbox_transaction_rollback(&t);
	mail_search_args_unref(&args);
	mailbox_free(&box);
	return latest;
}

/* archive_open - the box's archive folder, opened (created the first time) past the user's ACLs, which
 * let the user only read it: NULL with err */
static struct mailbox *archive_open(struct mail_deliver_context *ctx, const char *name, struct pec_error *err)
{
	struct mail_namespace *ns = mail_namespace_find(ctx->rcpt_user->namespaces, name);
	struct mailbox *box = mailbox_alloc(ns->list, name, MAILBOX_FLAG_IGNORE_ACLS);
	enum mail_error error;

	if (mailbox_open(box) == 0)
		return box;
	(void)mailbox_get_last_error(box, &error);
	if (error == MAIL_ERROR_NOTFOUND) {
		error = MAIL_ERROR_NONE;
		if (mailbox_create(box, NULL, FALSE) < 0)
			(void)mailbox_get_last_error(box, &error);
		if ((error == MAIL_ERROR_NONE || error == MAIL_ERROR_EXISTS) && mailbox_open(box) == 0)
			return box;
	}
	pec_error_set(err, PEC_ERR_TEMPORARY, "%s: %s", name, mailbox_get_last_internal_error(box, NULL));
	mailbox_free(&box);
	return NULL;
}

/* host_archive - the engine's archive: a copy of the message as received into the pec_archive folder,
 * within pec_archive_quota (the folder is left out of the user's quota by the configuration) */
static int host_archive(void *context, struct pec_error *err)
{
	struct pec_host *host = context;
	struct mail_deliver_context *ctx = host->ctx;
	const struct pec_settings *set = &host->job->set;
	struct mailbox *box = archive_open(ctx, set->archive, err);
	struct mailbox_transaction_context *t;
	struct mail_save_context *save;
	struct mailbox_metadata md;
	uoff_t size;

	if (box == NULL)
		return -1;
	if (set->archive_quota > 0) {
		if (mailbox_get_metadata(box, MAILBOX_METADATA_VIRTUAL_SIZE, &md) < 0 ||
		    mail_get_virtual_size(ctx->src_mail, &size) < 0) {
			pec_error_set(err, PEC_ERR_TEMPORARY, "%s: size unknown: %s", set->archive,
				      mailbox_get_last_internal_error(box, NULL));
			mailbox_free(&box);
			return -1;
		}
		if (md.virtual_size + size > set->archive_quota) {
			pec_error_set(err, PEC_ERR_PERMANENT, "%s: %llu of %llu bytes used, the message has %llu",
				      set->archive, (unsigned long long)md.virtual_size, set->archive_quota,
				      (unsigned long long)size);
			mailbox_free(&box);
			return 0;
		}
	}
	t = mailbox_transaction_begin(box, MAILBOX_TRANSACTION_FLAG_EXTERNAL, __func__);
	save = mailbox_save_alloc(t);
	if (mailbox_copy(&save, ctx->src_mail) < 0 || mailbox_transaction_commit(&t) < 0) {
		enum mail_error error;
		const char *why = mailbox_get_last_internal_error(box, &error);

		if (t != NULL)
			mailbox_transaction_rollback(&t);
		pec_error_set(err, PEC_ERR_TEMPORARY, "%s: %s", set->archive, why);
		mailbox_free(&box);
		return error == MAIL_ERROR_NOQUOTA ? 0 : -1;
	}
	mailbox_free(&box);
	return 1;
}

/* user_home - the recipient's home directory setting (it may not exist yet), or NULL */
static const char *user_home(struct mail_deliver_context *ctx)
{
	const char *home;

	return mail_user_get_home(ctx->rcpt_user, &home) > 0 && home != NULL && *home != '\0' ? home : NULL;
}

/* host_has_marks - marks live in the home directory */
static int host_has_marks(void *context)
{
	struct pec_host *host = context;

	return user_home(host->ctx) != NULL;
}

/* marks_dir - the recipient's marks folder (t_strdup).  create: make the home directory (the first
   delivery to a new mailbox has not made it yet) and the folder, and sweep old marks when due */
static const char *marks_dir(struct pec_host *host, bool create, struct pec_error *err)
{
	struct mail_deliver_context *ctx = host->ctx;
	const char *home = user_home(ctx), *dir;
	struct pec_error serr = { 0 };
	struct stat st;

	if (home == NULL) {
		pec_error_set(err, PEC_ERR_TEMPORARY, "no home directory for the marks");
		return NULL;
	}
	dir = t_strconcat(home, "/" PEC_MARKS_DIR, NULL);
	if (!create)
		return dir;
	if (stat(home, &st) < 0 && errno == ENOENT && mail_user_home_mkdir(ctx->rcpt_user) < 0) {
		pec_error_set(err, PEC_ERR_TEMPORARY, "cannot create the home directory or its marks folder");
		return NULL;
	}
	if (pec_marks_prepare(dir, err) < 0)
		return NULL;
	if (pec_marks_sweep_due(dir, ioloop_time, PEC_MARK_SWEEP_EVERY_SECS) > 0 &&
	    pec_marks_sweep(dir, ioloop_time - PEC_MARK_KEEP_SECS, &serr) < 0)
		e_error(host->event, "pec: sweeping old marks: %s", serr.msg);
	return dir;
}

static int host_mark_lock(void *context, const char *key, struct pec_error *err)
{
	struct pec_host *host = context;
	const char *dir = marks_dir(host, TRUE, err);

	/* released with the job: two deliveries of one busta never both store it or send its receipt */
	if (dir == NULL || (host->job->mark_lock = pec_mark_lock(dir, key, err)) < 0)
		return -1;
	return 0;
}

static int host_mark_check(void *context, const char *key, struct pec_error *err)
{
	const char *dir = marks_dir(context, FALSE, err);

	return dir == NULL ? -1 : pec_mark_check(dir, key, err);
}

static int host_mark_set(void *context, const char *key, const char *value, struct pec_error *err)
{
	const char *dir = marks_dir(context, TRUE, err);

	return dir == NULL ? -1 : pec_mark_set_value(dir, key, value, err);
}

static int host_mark_get(void *context, const char *key, char *value, size_t size, struct pec_error *err)
{
	const char *dir = marks_dir(context, FALSE, err);

	return dir == NULL ? -1 : pec_mark_get(dir, key, value, size, err);
}

/* deliver_refuse - a refusal from inside the hook (LDA, or LMTP without the pre-check).  Dovecot 2.3
 * maps a failed delivery to a permanent answer only for a quota error (lib-lda mail_deliver():
 * NOQUOTA -> LMTP 552 5.2.2 / LDA rejection, anything else -> 4xx), so the refusal is reported as one,
 * with our text; quota_full_tempfail=yes would turn it into 4xx. */
static int deliver_refuse(struct mail_deliver_context *ctx, const struct pec_delivery_outcome *o,
			  struct mail_storage **storage_r)
{
	struct mail_namespace *ns = mail_namespace_find_inbox(ctx->rcpt_user->namespaces);
	struct mail_storage *storage = mail_namespace_get_default_storage(ns);

	if (pec_settings_quota_full_tempfail(ctx) && !warned_quota_tempfail) {
		warned_quota_tempfail = TRUE;
		e_warning(ctx->event, "pec: quota_full_tempfail=yes turns refusals of ordinary mail into 4xx");
	}
	mail_storage_set_error(storage, MAIL_ERROR_NOQUOTA, o->answer.text);
	*storage_r = storage;
	ctx->saved_mail = FALSE;
	return -1;
}

/* answer - the engine's outcome as the hook's result */
static int answer(struct mail_deliver_context *ctx, const struct pec_job *job, const struct pec_delivery_outcome *o,
		  struct mail_storage **storage_r)
{
	if (job->v.action == PEC_DELIVERY_REFUSE) {
		/* nothing may be stored either way: stop Dovecot's fallback saves of the received message */
		ctx->tried_default_save = TRUE;
		ctx->rcpt_default_mailbox = "INBOX";
		if (o->answer.kind == PEC_ANSWER_REJECT)
			return deliver_refuse(ctx, o, storage_r);
	}
	if (o->answer.kind == PEC_ANSWER_CONTINUE) {
		if (o->stored)
			ctx->saved_mail = TRUE;
		return 1;
	}
	if (!o->host_error)
		ctx->tempfail_error = p_strdup(ctx->pool, ascii(o->answer.reason));
	/* Dovecot answers 2xx when anything was saved: a retry must happen, so say nothing was */
	ctx->saved_mail = FALSE;
	return -1;
}

int pec_deliver_mail(struct mail_deliver_context *ctx, struct mail_storage **storage_r)
{
	struct pec_job *job = NULL;
	struct pec_delivery_outcome o;
	struct pec_effects fx;
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
				   &tempfail) < 0) {
			e_warning(ctx->event, "pec: temporary failure: %s", tempfail);
			ctx->tempfail_error = p_strdup(ctx->pool, ascii(tempfail));
			ctx->saved_mail = FALSE;
			return -1;
		}
	}
	{
		struct pec_host host = { .ctx = ctx, .event = ctx->event, .job = job, .storage_r = storage_r };
		const struct pec_delivery_host h = { &host, host_store, host_stored_at, host_has_marks,
						     host_mark_lock, host_mark_check, host_mark_set,
						     host_mark_get, job->set.archive ? host_archive : NULL };

		host_effects(&host, &fx);
		pec_delivery_run(&job->state->dctx, &job->in, &job->v, &fx, &h, &o);
		ret = answer(ctx, job, &o, storage_r);
	}
	pec_job_free(&job);
	return ret;
}

int pec_deliver_precheck(struct mail_user *user, struct mail *src_mail, const struct smtp_address *mail_from,
			 const struct smtp_address *rcpt_to, const char **refusal_r)
{
	struct pec_job *job;
	struct pec_delivery_outcome o;
	struct pec_effects fx;
	const char *tempfail;

	pec_deliver_forget();
	/* on failure the hook meets the same problem and answers 4xx with the reason */
	if (pec_job_create(user, src_mail, mail_from, rcpt_to, &job, &tempfail) < 0)
		return 0;
	if (job->v.action != PEC_DELIVERY_REFUSE) {
		pending = job;
		return 0;
	}
	{
		struct pec_host host = { .event = user->event, .job = job };

		host_effects(&host, &fx);
		pec_delivery_refuse(&job->in, &job->v, &fx, &o);
	}
	*refusal_r = o.answer.kind == PEC_ANSWER_REJECT ? t_strdup(o.answer.text) : ascii(o.answer.reason);
	pec_job_free(&job);
	return o.answer.kind == PEC_ANSWER_REJECT ? 1 : -1;
}

void pec_deliver_forget(void)
{
	pec_job_free(&pending);
}
