/* pec-lmtp.c - the LMTP client hook (see pec-lmtp.h). */
#include "lib.h"
#include "module-context.h"
#include "lmtp-common.h"
#include "lmtp-recipient.h"
#include "smtp-server.h"
#include "pec-deliver.h"
#include "pec-lmtp.h"

/* present only in the lmtp binary */
#pragma weak lmtp_client_created_hook_set
#pragma weak lmtp_module_register

#define PEC_LMTP_CONTEXT(obj) MODULE_CONTEXT_REQUIRE(obj, pec_lmtp_module)

struct pec_lmtp_client {
	union lmtp_module_context module_ctx;
};

static MODULE_CONTEXT_DEFINE_INIT(pec_lmtp_module, &lmtp_module_register);
static lmtp_client_created_func_t *next_hook_client_created;
static bool hooked;

static int pec_lmtp_local_deliver(struct client *client, struct lmtp_recipient *lrcpt,
				  struct smtp_server_cmd_ctx *cmd, struct smtp_server_transaction *trans,
				  struct lmtp_local_deliver_context *lldctx)
{
	struct pec_lmtp_client *pclient = PEC_LMTP_CONTEXT(client);
	struct smtp_server_recipient *rcpt = lrcpt->rcpt;
	const char *refusal;
	int ret;

	ret = pec_deliver_precheck(lldctx->rcpt_user, lldctx->src_mail, trans->mail_from,
				   smtp_server_recipient_get_original(rcpt), &refusal);
	if (ret > 0) {
		smtp_server_recipient_reply(rcpt, 550, "5.7.1", "%s", refusal);
		return -1;
	}
	if (ret < 0) {
		/* never refuse (nor accept) untraced: the MTA retries */
		smtp_server_recipient_reply(rcpt, 451, "4.3.0", "%s", refusal);
		return -1;
	}
	ret = pclient->module_ctx.super.local_deliver(client, lrcpt, cmd, trans, lldctx);
	pec_deliver_forget();
	return ret;
}

static void pec_lmtp_client_created(struct client **_client)
{
	struct client *client = *_client;
	struct pec_lmtp_client *pclient = p_new(client->pool, struct pec_lmtp_client, 1);

	pclient->module_ctx.super = client->v;
	client->v.local_deliver = pec_lmtp_local_deliver;
	MODULE_CONTEXT_SET(client, pec_lmtp_module, pclient);

	if (next_hook_client_created != NULL)
		next_hook_client_created(_client);
}

void pec_lmtp_init(void)
{
	if (lmtp_client_created_hook_set == NULL || &lmtp_module_register == NULL)
		return;
	next_hook_client_created = lmtp_client_created_hook_set(pec_lmtp_client_created);
	hooked = TRUE;
}

void pec_lmtp_deinit(void)
{
	if (hooked)
		lmtp_client_created_hook_set(next_hook_client_created);
	hooked = FALSE;
}
