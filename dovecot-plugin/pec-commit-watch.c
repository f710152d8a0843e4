/* pec-commit-watch.c - count committed saves during a delivery (see pec-commit-watch.h). */
#include "lib.h"
#include "module-context.h"
#include "mail-storage-private.h"
#include "mail-storage-hooks.h"
#include "pec-commit-watch.h"

#define PEC_WATCH_CONTEXT(obj) MODULE_CONTEXT(obj, pec_watch_storage_module)
#define PEC_WATCH_CONTEXT_REQUIRE(obj) MODULE_CONTEXT_REQUIRE(obj, pec_watch_storage_module)

struct pec_watch_mailbox {
	union mailbox_module_context module_ctx;
};

struct pec_watch_transaction {
	union mailbox_transaction_module_context module_ctx;
	unsigned int saves;
};

static MODULE_CONTEXT_DEFINE_INIT(pec_watch_storage_module, &mail_storage_module_register);

static struct {
	bool active;
	unsigned int commits;
	time_t first_commit;
} watch;

static int pec_watch_save_finish(struct mail_save_context *ctx)
{
	struct mailbox_transaction_context *t = ctx->transaction;
	struct pec_watch_mailbox *wbox = PEC_WATCH_CONTEXT_REQUIRE(t->box);
	struct pec_watch_transaction *wt = PEC_WATCH_CONTEXT(t);

	if (wbox->module_ctx.super.save_finish(ctx) < 0)
		return -1;
	if (wt != NULL)
		wt->saves++;
	return 0;
}

static int pec_watch_copy(struct mail_save_context *ctx, struct mail *mail)
{
	struct pec_watch_mailbox *wbox = PEC_WATCH_CONTEXT_REQUIRE(ctx->transaction->box);
	struct mailbox_transaction_context *t = ctx->transaction;
	struct pec_watch_transaction *wt = PEC_WATCH_CONTEXT(t);

	if (wbox->module_ctx.super.copy(ctx, mail) < 0)
		return -1;
	if (wt != NULL)
		wt->saves++;
	return 0;
}

static struct mailbox_transaction_context *
pec_watch_transaction_begin(struct mailbox *box, enum mailbox_transaction_flags flags, const char *reason)
{
	struct pec_watch_mailbox *wbox = PEC_WATCH_CONTEXT_REQUIRE(box);
	struct mailbox_transaction_context *t;
	struct pec_watch_transaction *wt;

	t = wbox->module_ctx.super.transaction_begin(box, flags, reason);
	wt = p_new(box->pool, struct pec_watch_transaction, 1);
	MODULE_CONTEXT_SET(t, pec_watch_storage_module, wt);
	return t;
}

static int pec_watch_transaction_commit(struct mailbox_transaction_context *t,
					struct mail_transaction_commit_changes *changes_r)
{
	struct pec_watch_mailbox *wbox = PEC_WATCH_CONTEXT_REQUIRE(t->box);
	struct pec_watch_transaction *wt = PEC_WATCH_CONTEXT(t);
	unsigned int saves = wt != NULL ? wt->saves : 0;

	if (wbox->module_ctx.super.transaction_commit(t, changes_r) < 0)
		return -1;
	if (watch.active && saves > 0) {
		if (watch.commits++ == 0)
			watch.first_commit = time(NULL);
	}
	return 0;
}

static void pec_watch_mailbox_allocated(struct mailbox *box)
{
	struct mailbox_vfuncs *v = box->vlast;
	struct pec_watch_mailbox *wbox;

	if (!watch.active)
		return;
	wbox = p_new(box->pool, struct pec_watch_mailbox, 1);
	wbox->module_ctx.super = *v;
	box->vlast = &wbox->module_ctx.super;
	v->transaction_begin = pec_watch_transaction_begin;
	v->transaction_commit = pec_watch_transaction_commit;
	v->save_finish = pec_watch_save_finish;
	v->copy = pec_watch_copy;
	MODULE_CONTEXT_SET(box, pec_watch_storage_module, wbox);
}

static struct mail_storage_hooks pec_watch_hooks = {
	.mailbox_allocated = pec_watch_mailbox_allocated,
};

void pec_commit_watch_init(struct module *module)
{
	mail_storage_hooks_add(module, &pec_watch_hooks);
}

void pec_commit_watch_deinit(void)
{
	mail_storage_hooks_remove(&pec_watch_hooks);
}

void pec_commit_watch_begin(void)
{
	i_zero(&watch);
	watch.active = TRUE;
}

unsigned int pec_commit_watch_end(time_t *first_commit_r)
{
	watch.active = FALSE;
	*first_commit_r = watch.first_commit;
	return watch.commits;
}
