/* cmd_timers.c - pecctl timers run: send the 12 h / 24 h notices that are due (PEC-RULES §2.11).
 *
 * Meant to run every minute (cron or a systemd timer) on any node: each notice is leased in the trace
 * before it is sent, so two nodes never both send one, and marked sent after it went out; a failed send
 * gives the lease back (the next run retries), a run that dies holding one lets it expire
 * (PEC_TRACE_NOTICE_LEASE), so no due notice is lost.  --now injects the clock (tests). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "dbcmd.h"
#include "pec/compose.h"
#include "pec/runtime.h"
#include "pec/submit.h"
#include "pecctl.h"

struct timers_run {
    struct pec_trace *trace;
    const struct pec_runtime *rt;
    struct pec_submitter *submitter; /* one kept connection for the whole run */
    time_t now;
    int sent, failed;
};

/* notice_facts - the certification data of a notice about one recipient of one of our messages */
static int notice_facts(struct timers_run *r, const struct pec_trace_due *due, struct pec_daticert *d,
                        struct pec_trace_message_info **info)
{
    struct pec_error err = { 0 };

    if (pec_trace_get_message(r->trace, due->identificativo, info, &err) != 1) {
        fprintf(stderr, "pecctl timers: %s: %s\n", due->identificativo, err.msg[0] ? err.msg : "not found");
        return -1;
    }
    memset(d, 0, sizeof(*d));
    d->mittente = (char *)due->sender;
    d->risposte = (char *)(due->reply_to ? due->reply_to : due->sender); /* the original Reply-To */
    d->oggetto = (char *)due->subject;
    d->identificativo = (char *)due->identificativo;
    d->msgid = (char *)due->client_msgid;
    d->consegna = (char *)due->address;
    d->n_destinatari = (*info)->n_rcpts;
    d->destinatari = calloc(d->n_destinatari ? d->n_destinatari : 1, sizeof(*d->destinatari));
    if (d->destinatari == NULL)
        abort();
    for (size_t i = 0; i < d->n_destinatari; i++) {
        d->destinatari[i].addr = (*info)->rcpts[i].address;
        d->destinatari[i].esterno = !(*info)->rcpts[i].certified;
    }
    return 0;
}

/* one_notice - build, claim, send one due notice */
static int one_notice(const struct pec_trace_due *due, void *ctx)
{
    struct timers_run *r = ctx;
    struct pec_trace_message_info *info = NULL;
    struct pec_buf msg = PEC_BUF_INIT;
    struct pec_error err = { 0 };
    struct pec_compose c = { 0 };
    struct pec_trace_event ev = { 0 };
    struct pec_trace_rcpt rcpt = { due->address, PEC_RCPT_CERTIFICATO, due->cc };
    struct pec_daticert d;
    const char *to[1] = { due->sender };
    char id[PEC_ID_MAX], bracketed[PEC_ID_MAX + 2];
    int claimed;

    if (notice_facts(r, due, &d, &info) < 0) {
        r->failed++;
        return 0;
    }
    c.type = due->kind == PEC_NOTICE_12H ? PEC_MSG_PREAVVISO_12H : PEC_MSG_PREAVVISO_24H;
    c.when = r->now;
    c.facts = &d;
    c.to = to;
    c.n_to = 1;
    if (pec_compose_build(&r->rt->issuer, &c, &msg, id, &err) < 0) {
        fprintf(stderr, "pecctl timers: %s: %s\n", due->identificativo, err.msg);
        r->failed++;
        goto out;
    }
    snprintf(bracketed, sizeof(bracketed), "<%s>", id);
    ev.time = r->now;
    ev.type = due->kind == PEC_NOTICE_12H ? PEC_TRACE_PREAVVISO_12H : PEC_TRACE_PREAVVISO_24H;
    ev.identificativo = due->identificativo;
    ev.message_id = bracketed;
    ev.sender = due->sender;
    ev.rcpts = &rcpt;
    ev.n_rcpts = 1;
    ev.subject = due->subject;
    ev.gestore = r->rt->cfg->provider_name;
    /* leased first: at most one notice per recipient, whichever node runs the timers */
    claimed = pec_trace_claim_notice(r->trace, due->kind, due->identificativo, due->address, r->now, &err);
    if (claimed < 0) {
        fprintf(stderr, "pecctl timers: claim %s %s: %s\n", due->identificativo, due->address, err.msg);
        r->failed++;
    } else if (claimed == 1) {
        if (pec_submitter_send(r->submitter, r->rt->cfg->service_address, due->sender, msg.data, msg.len, &err) < 0) {
            struct pec_error rel = { 0 };
            if (err.cls == PEC_ERR_PERMANENT) {
                /* refused for good: traced as such, never as sent, and not retried for ever */
                ev.type = PEC_TRACE_RICEVUTA_RIFIUTATA;
                ev.errore = pec_errore_name(PEC_ERRORE_ALTRO);
                ev.errore_esteso = err.msg;
                if (pec_trace_notice_sent(r->trace, due->kind, due->identificativo, due->address, r->now, &ev, 1,
                                          &rel) < 0)
                    pec_trace_notice_release(r->trace, due->kind, due->identificativo, due->address, &rel);
            } else if (pec_trace_notice_release(r->trace, due->kind, due->identificativo, due->address, &rel) < 0) {
                fprintf(stderr, "pecctl timers: lease of %s %s kept until it expires: %s\n", due->identificativo,
                        due->address, rel.msg);
            }
            fprintf(stderr, "pecctl timers: NOT SENT (%s): %s %dh for %s: %s\n",
                    err.cls == PEC_ERR_PERMANENT ? "refused for good" : "will be retried", due->identificativo,
                    (int)due->kind, due->address, err.msg);
            r->failed++;
        } else if (pec_trace_notice_sent(r->trace, due->kind, due->identificativo, due->address, r->now, &ev, 1,
                                         &err) < 0) {
            /* sent, not recorded: the lease expires and a later run sends it again, recorded then */
            fprintf(stderr, "pecctl timers: SENT, NOT TRACED (sent again after the lease): %s %dh for %s: %s\n",
                    due->identificativo, (int)due->kind, due->address, err.msg);
            r->failed++;
        } else {
            printf("preavviso %dh: %s %s -> %s\n", (int)due->kind, due->identificativo, due->address, due->sender);
            r->sent++;
        }
    }
out:
    free(d.destinatari);
    pec_trace_message_info_free(&info);
    pec_buf_release(&msg);
    return 0;
}

/* cmd_timers - pecctl timers run --config FILE [--db CONNINFO] [--now TIME] [--limit N] */
int cmd_timers(int argc, char **argv)
{
    struct timers_run r = { 0 };
    struct db_opts o;
    struct pec_error err = { 0 };
    struct pec_runtime *rt = NULL;
    size_t limit = 0;
    int i, rc = PECCTL_USAGE;

    db_opts_init(&o);
    r.now = time(NULL);
    if (argc < 2 || strcmp(argv[1], "run") != 0)
        goto usage;
    for (i = 2; i < argc; i++) {
        int k = db_opt(&o, "timers", argc, argv, &i);
        if (k < 0)
            goto out;
        if (k == 1)
            continue;
        if (strcmp(argv[i], "--now") == 0 && i + 1 < argc) {
            if (db_parse_time(argv[++i], &r.now) < 0)
                goto usage;
        } else if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc) {
            limit = (size_t)strtoul(argv[++i], NULL, 10);
        } else {
            goto usage;
        }
    }
    if (o.config_path == NULL)
        goto usage;
    if ((rt = pec_runtime_load(o.config_path, r.now, &err)) == NULL) {
        fprintf(stderr, "pecctl timers: %s\n", err.msg);
        rc = PECCTL_NOT_VALID;
        goto out;
    }
    if ((r.trace = db_open(&o, "timers")) == NULL) {
        rc = PECCTL_NOT_VALID;
        goto out;
    }
    r.rt = rt;
    r.submitter = pec_submitter_new(rt->cfg);
    if (pec_trace_notices_due(r.trace, r.now, limit, one_notice, &r, &err) < 0) {
        fprintf(stderr, "pecctl timers: %s\n", err.msg);
        rc = PECCTL_NOT_VALID;
        goto out;
    }
    printf("timers: %d sent, %d failed\n", r.sent, r.failed);
    rc = r.failed ? PECCTL_NOT_VALID : PECCTL_OK;
    goto out;
usage:
    fprintf(stderr, "usage: pecctl timers run --config FILE [--db CONNINFO] [--now TIME] [--limit N]\n");
out:
    pec_submitter_free(&r.submitter);
    pec_trace_free(&r.trace);
    pec_runtime_free(&rt);
    db_opts_clear(&o);
    return rc;
}
