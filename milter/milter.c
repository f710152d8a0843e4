/* milter.c - libmilter callbacks: feed the core's point engines phase by phase; at end of message the
 * engine runs the whole step (pec_access_run / pec_reception_run) and edits the message through the
 * smfi_* calls below.  Its answer becomes the milter's reply here and nowhere else. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <libmilter/mfapi.h>
#include "milter.h"
#include "pec/answer.h"
#include "pec/log.h"
#include "pec/mta.h"
#include "pec/privs.h"
#include "pec/slot.h"

/* The set-up new connections get (main.c replaces it at a reload): each connection holds the one it
 * started with until it closes, so a reload never changes a connection's configuration midway. */
static struct pec_slot *setups;

/* Per connection, reset at each MAIL FROM. */
struct conn {
    const struct pec_held *held;    /* the set-up this connection started with ... */
    const struct milter_app *app;   /* ... which is held->obj */
    const struct pec_index *index;  /* the index snapshot of this transaction */
    int index_from_cache;           /* index was acquired from app->index_cache */
    struct pec_access_ctx access_ctx;
    struct pec_reception_ctx reception_ctx;
    struct pec_access_txn *access;  /* access point transaction */
    struct pec_reception_txn *reception;
    unsigned long no_reply;         /* the SMFIP_NR_* steps the MTA agreed to send without waiting */
};

/* What we ask of the MTA.  Nothing before end-of-message refuses (the verdict is taken there), so the
 * connection, each header, the end of headers and each body chunk need no reply: one round trip (two
 * context switches) fewer per header line.  HELO, DATA and unknown commands are not sent at all. */
#define MILTER_ACTIONS (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY | SMFIF_ADDRCPT | SMFIF_ADDRCPT_PAR | SMFIF_DELRCPT)
#define NO_REPLY_STEPS (SMFIP_NR_CONN | SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY)
#define SKIPPED_STEPS (SMFIP_NOHELO | SMFIP_NODATA | SMFIP_NOUNKNOWN)

/* conn_reset - forget the current transaction */
static void conn_reset(struct conn *c)
{
    pec_access_free(&c->access);
    pec_reception_free(&c->reception);
    if (c->index_from_cache)
        pec_trace_index_cache_release(c->app->index_cache, &c->index);
    c->index = NULL;
    c->index_from_cache = 0;
}

/* conn_index - take the provider index for one transaction: the database copy (refreshed in the
 * background by the cache) when there is one, else the file the configuration names */
static void conn_index(struct conn *c)
{
    struct pec_error err = { 0 };

    c->index = c->app->rt->index;
    if (c->app->index_cache) {
        const struct pec_index *idx = pec_trace_index_cache_acquire(c->app->index_cache, &err);
        if (idx) {
            c->index = idx;
            c->index_from_cache = 1;
        } else if (c->app->rt->index == NULL) {
            /* no index: the engines answer 4xx rather than judge without one */
            pec_warn("provider index unavailable: %s", err.msg);
        }
    }
    c->access_ctx = c->app->access;
    c->access_ctx.index = c->index;
    c->reception_ctx = c->app->reception;
    c->reception_ctx.index = c->index;
}

/* reply - the engine's answer as the milter's */
static sfsistat reply(SMFICTX *ctx, const struct pec_answer *a)
{
    if (a->kind == PEC_ANSWER_CONTINUE)
        return SMFIS_CONTINUE;
    smfi_setreply(ctx, (char *)a->code, (char *)a->xcode, (char *)a->text);
    return a->kind == PEC_ANSWER_REJECT ? SMFIS_REJECT : SMFIS_TEMPFAIL;
}

/* no_state - a callback without its connection state: a bug of ours or of the MTA */
static sfsistat no_state(SMFICTX *ctx, const char *why)
{
    struct pec_error err = { PEC_ERR_INTERNAL, "" };
    struct pec_answer a;

    snprintf(err.msg, sizeof(err.msg), "%s", why);
    pec_answer_of_error(&a, &err);
    pec_warn("-: tempfail: %s", why);
    return reply(ctx, &a);
}

/* conn_of - the connection state, created on first use (negotiation comes before connect) */
static struct conn *conn_of(SMFICTX *ctx)
{
    struct conn *c = smfi_getpriv(ctx);

    if (c == NULL) {
        if ((c = calloc(1, sizeof(*c))) == NULL)
            pec_panic("out of memory");
        c->held = pec_slot_acquire(setups);
        c->app = c->held->obj;
        smfi_setpriv(ctx, c);
    }
    return c;
}

/* step_done - the answer to a step: none when the MTA agreed not to wait for one */
static sfsistat step_done(const struct conn *c, unsigned long step)
{
    return (c->no_reply & step) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

/* cb_negotiate - our actions, and the no-reply steps the MTA offers */
static sfsistat cb_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2, unsigned long f3,
                             unsigned long *pf0, unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
    struct conn *c = conn_of(ctx);

    (void)f2;
    (void)f3;
    if ((f0 & MILTER_ACTIONS) != MILTER_ACTIONS) {
        pec_warn("pec-milter: the MTA does not offer the actions we need (offered 0x%lx)", f0);
        return SMFIS_REJECT; /* libmilter then refuses the connection: the MTA applies its default */
    }
    c->no_reply = f1 & NO_REPLY_STEPS;
    *pf0 = MILTER_ACTIONS;
    *pf1 = c->no_reply | (f1 & SKIPPED_STEPS);
    *pf2 = *pf3 = 0;
    return SMFIS_CONTINUE;
}

/* cb_connect - a new SMTP connection */
static sfsistat cb_connect(SMFICTX *ctx, char *host, struct sockaddr *sa)
{
    (void)host;
    (void)sa;
    return step_done(conn_of(ctx), SMFIP_NR_CONN);
}

/* cb_envfrom - MAIL FROM: a new transaction */
static sfsistat cb_envfrom(SMFICTX *ctx, char **argv)
{
    struct conn *c = smfi_getpriv(ctx);
    const char *auth = smfi_getsymval(ctx, "{auth_authen}");

    if (c == NULL)
        return no_state(ctx, "no connection state");
    conn_reset(c);
    conn_index(c);
    if (c->app->role == ROLE_ACCESS)
        c->access = pec_access_begin(&c->access_ctx, auth ? auth : "", argv[0]);
    else
        c->reception = pec_reception_begin(&c->reception_ctx, argv[0]);
    return SMFIS_CONTINUE;
}

/* cb_envrcpt - RCPT TO */
static sfsistat cb_envrcpt(SMFICTX *ctx, char **argv)
{
    struct conn *c = smfi_getpriv(ctx);
    struct pec_answer a;

    if (c->access) {
        pec_access_rcpt(c->access, argv[0]);
        return SMFIS_CONTINUE;
    }
    pec_reception_rcpt(c->reception, argv[0], &a);
    if (a.kind == PEC_ANSWER_TEMPFAIL)
        pec_warn("%s: tempfail: %s", argv[0], a.reason);
    return reply(ctx, &a);
}

/* cb_header - one header field */
static sfsistat cb_header(SMFICTX *ctx, char *name, char *value)
{
    struct conn *c = smfi_getpriv(ctx);

    if (c->access)
        pec_access_header(c->access, name, value);
    else
        pec_reception_header(c->reception, name, value);
    return step_done(c, SMFIP_NR_HDR);
}

/* cb_eoh - end of headers */
static sfsistat cb_eoh(SMFICTX *ctx)
{
    struct conn *c = smfi_getpriv(ctx);

    if (c->access)
        pec_access_eoh(c->access);
    else
        pec_reception_eoh(c->reception);
    return step_done(c, SMFIP_NR_EOH);
}

/* cb_body - a body chunk */
static sfsistat cb_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
    struct conn *c = smfi_getpriv(ctx);

    if (c->access)
        pec_access_body(c->access, chunk, len);
    else
        pec_reception_body(c->reception, chunk, len);
    return step_done(c, SMFIP_NR_BODY);
}

/* The engines' edits, as libmilter calls (ctx: the SMFICTX). */
static int mta_delete_header(void *ctx, const char *name, int occurrence)
{
    return smfi_chgheader(ctx, (char *)name, occurrence, NULL) == MI_SUCCESS ? 0 : -1;
}

static int mta_add_header(void *ctx, const char *name, const char *value)
{
    return smfi_addheader(ctx, (char *)name, (char *)value) == MI_SUCCESS ? 0 : -1;
}

static int mta_replace_body(void *ctx, const void *chunk, size_t len)
{
    return smfi_replacebody(ctx, (unsigned char *)chunk, (int)len) == MI_SUCCESS ? 0 : -1;
}

/* mta_add_rcpt - without DSNs where the MTA lets us say so */
static int mta_add_rcpt(void *ctx, const char *rcpt)
{
    char r[600];

    snprintf(r, sizeof(r), "<%s>", rcpt);
    if (smfi_addrcpt_par(ctx, r, "NOTIFY=NEVER") == MI_SUCCESS)
        return 0;
    return smfi_addrcpt(ctx, r) == MI_SUCCESS ? 0 : -1;
}

static int mta_delete_rcpt(void *ctx, const char *rcpt)
{
    char r[600];

    snprintf(r, sizeof(r), "<%s>", rcpt);
    return smfi_delrcpt(ctx, r) == MI_SUCCESS ? 0 : -1;
}

/* cb_eom - end of message: the engine runs the whole step */
static sfsistat cb_eom(SMFICTX *ctx)
{
    struct conn *c = smfi_getpriv(ctx);
    const char *qid = smfi_getsymval(ctx, "i");
    const struct pec_mta_edits mta = { ctx, mta_delete_header, mta_add_header, mta_replace_body, mta_add_rcpt,
                                       mta_delete_rcpt };
    struct pec_answer a;

    if (c == NULL || (c->access == NULL && c->reception == NULL))
        return no_state(ctx, c ? "no transaction" : "no connection state");
    if (c->access) {
        const struct pec_access_point p = { c->app->own_reception ? &c->reception_ctx : NULL,
                                            c->app->rt->cfg->marker_domain };
        pec_access_run(c->access, &p, &c->app->effects, &mta, qid ? qid : "-", &a);
    } else {
        const struct pec_reception_point p = { c->app->rt->cfg->marker_domain };
        pec_reception_run(c->reception, &p, &c->app->effects, &mta, qid ? qid : "-", &a);
    }
    conn_reset(c);
    return reply(ctx, &a);
}

/* cb_abort - the transaction was abandoned */
static sfsistat cb_abort(SMFICTX *ctx)
{
    struct conn *c = smfi_getpriv(ctx);

    if (c)
        conn_reset(c);
    return SMFIS_CONTINUE;
}

/* cb_close - the connection is gone */
static sfsistat cb_close(SMFICTX *ctx)
{
    struct conn *c = smfi_getpriv(ctx);

    if (c) {
        conn_reset(c);
        pec_slot_release(setups, &c->held);
        free(c);
        smfi_setpriv(ctx, NULL);
    }
    return SMFIS_CONTINUE;
}

/* milter_run - register and serve */
int milter_run(struct pec_slot *slot, const char *socket, int timeout, const char *user, const char *group)
{
    struct pec_error err = { 0 };
    mode_t old_umask;
    struct smfiDesc desc = {
        .xxfi_name = "pec-milter",
        .xxfi_version = SMFI_VERSION,
        .xxfi_flags = MILTER_ACTIONS,
        .xxfi_connect = cb_connect,
        .xxfi_envfrom = cb_envfrom,
        .xxfi_envrcpt = cb_envrcpt,
        .xxfi_header = cb_header,
        .xxfi_eoh = cb_eoh,
        .xxfi_body = cb_body,
        .xxfi_eom = cb_eom,
        .xxfi_abort = cb_abort,
        .xxfi_close = cb_close,
        .xxfi_negotiate = cb_negotiate,
    };

    setups = slot;
    if (smfi_setconn((char *)socket) == MI_FAILURE || smfi_settimeout(timeout) == MI_FAILURE ||
        smfi_register(desc) == MI_FAILURE) {
        pec_warn("pec-milter: cannot set up libmilter on %s", socket);
        return 1;
    }
    old_umask = umask(0117); /* a unix socket for the service's user and group (Postfix), nobody else */
    if (smfi_opensocket(1) == MI_FAILURE) {
        pec_warn("pec-milter: cannot open %s", socket);
        return 1;
    }
    umask(old_umask);
    if ((user || group) && strncmp(socket, "inet", 4) != 0 && /* libmilter: unix:PATH, local:PATH or PATH */
        pec_privs_socket_owner(strncmp(socket, "unix:", 5) == 0 || strncmp(socket, "local:", 6) == 0
                                   ? strchr(socket, ':') + 1 : socket, user, group, &err) < 0) {
        pec_warn("pec-milter: %s", err.msg);
        return 1;
    }
    if (group && strncmp(socket, "inet", 4) == 0)
        pec_warn("pec-milter: -g %s ignored: %s is a TCP socket, which any local process reaches", group, socket);
    if (user && pec_privs_drop(user, &err) < 0) {
        pec_warn("pec-milter: %s", err.msg);
        return 1;
    }
    return smfi_main() == MI_SUCCESS ? 0 : 1;
}
