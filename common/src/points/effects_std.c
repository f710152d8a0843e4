/* effects_std.c - the standard effects of the point engines: the core's own modules (see effects.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "pec/clamd.h"
#include "pec/effects.h"
#include "pec/quarantine.h"

/* std_now - the wall clock */
static time_t std_now(void *ctx)
{
    (void)ctx;
    return time(NULL);
}

/* std_scan - clamd when configured; without one nothing is scanned */
static int std_scan(void *ctx, const void *msg, size_t len, char *virus, size_t virus_len, struct pec_error *err)
{
    const struct pec_effects_std *s = ctx;

    virus[0] = '\0';
    if (s->cfg->clamd_socket == NULL)
        return 0;
    return pec_clamd_scan(s->cfg->clamd_socket, msg, len, virus, virus_len, err);
}

/* std_quarantine - the quarantine folder */
static int std_quarantine(void *ctx, const char *name, const void *msg, size_t len, struct pec_error *err)
{
    const struct pec_effects_std *s = ctx;

    return pec_quarantine_write(s->cfg->quarantine_dir, name, msg, len, err);
}

/* std_quarantine_ref - the path in the quarantine folder */
static void std_quarantine_ref(void *ctx, const char *name, char *ref, size_t ref_len)
{
    const struct pec_effects_std *s = ctx;

    pec_quarantine_ref(s->cfg->quarantine_dir, name, ref, ref_len);
}

/* std_spool - one outbox entry, committed all at once */
static int std_spool(void *ctx, const struct pec_owed *owed, size_t n, const char *quarantine_name,
                     char key_r[PEC_OUTBOX_KEY_MAX], struct pec_error *err)
{
    const struct pec_effects_std *s = ctx;
    struct pec_outbox_entry *e = pec_outbox_entry_new(s->cfg->outbox_dir, err);
    int rc = 0;

    if (e == NULL)
        return -1;
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = pec_outbox_entry_add(e, owed[i].to, owed[i].msg, owed[i].len, owed[i].facts, owed[i].facts_len, err);
    if (rc == 0 && quarantine_name)
        rc = pec_outbox_entry_quarantine(e, quarantine_name, err);
    if (rc == 0)
        rc = pec_outbox_entry_commit(e, err);
    if (rc == 0)
        snprintf(key_r, PEC_OUTBOX_KEY_MAX, "%s", pec_outbox_entry_key(e));
    pec_outbox_entry_free(&e);
    return rc;
}

/* std_submit - the kept SMTP connection, else one per message */
static int std_submit(void *ctx, const char *from, const char *to, const void *msg, size_t len,
                      struct pec_error *err)
{
    const struct pec_effects_std *s = ctx;

    if (s->submitter)
        return pec_submitter_send(s->submitter, from, to, msg, len, err);
    return pec_submit_one(s->cfg, from, to, msg, len, err);
}

/* std_trace_ready - the store answers (no store: nothing to wait for) */
static int std_trace_ready(void *ctx, struct pec_error *err)
{
    const struct pec_effects_std *s = ctx;

    return s->trace ? pec_trace_ping(s->trace, err) : 0;
}

/* std_trace_accept - a submitted message and its events */
static int std_trace_accept(void *ctx, const struct pec_trace_message *m, const struct pec_trace_event *ev,
                            size_t n_ev, struct pec_error *err)
{
    const struct pec_effects_std *s = ctx;

    return s->trace ? pec_trace_accept(s->trace, m, ev, n_ev, err) : 0;
}

/* std_trace_record - events and recipient states */
static int std_trace_record(void *ctx, const struct pec_trace_event *ev, size_t n_ev,
                            const struct pec_trace_update *up, size_t n_up, struct pec_error *err)
{
    const struct pec_effects_std *s = ctx;

    return s->trace ? pec_trace_record(s->trace, ev, n_ev, up, n_up, err) : 0;
}

/* std_trace_quarantine - a quarantine reference and its events */
static int std_trace_quarantine(void *ctx, const struct pec_trace_quarantine *q, const struct pec_trace_event *ev,
                                size_t n_ev, struct pec_error *err)
{
    const struct pec_effects_std *s = ctx;

    return s->trace ? pec_trace_quarantine(s->trace, q, ev, n_ev, err) : 0;
}

/* std_trace_claim - the delivery claim (no store: always the first) */
static int std_trace_claim(void *ctx, const char *identificativo, const char *address, time_t now,
                           struct pec_error *err)
{
    const struct pec_effects_std *s = ctx;

    return s->trace ? pec_trace_claim_delivery(s->trace, identificativo, address, now, NULL, 0, err) : 1;
}

/* is_receipt - pec_trace_search callback: stop (1) at an avvenuta consegna */
static int is_receipt(const struct pec_trace_row *row, void *ctx)
{
    (void)ctx;
    return row->ev.type == PEC_TRACE_AVVENUTA_CONSEGNA ? 1 : 0;
}

/* std_trace_receipt_sent - an avvenuta consegna event exists (no store: assume it does) */
static int std_trace_receipt_sent(void *ctx, const char *identificativo, const char *address,
                                  struct pec_error *err)
{
    const struct pec_effects_std *s = ctx;
    struct pec_trace_query q = { 0 };
    int ret;

    if (s->trace == NULL)
        return 1;
    q.identificativo = identificativo;
    q.recipient = address;
    ret = pec_trace_search(s->trace, &q, is_receipt, NULL, err);
    return ret < 0 ? -1 : ret > 0 ? 1 : 0;
}

/* std_trace_sent_to - the submitted message's sender and esterno recipients (no store: nothing was) */
static int std_trace_sent_to(void *ctx, const char *identificativo, const char *sender, const char *recipient,
                             struct pec_error *err)
{
    const struct pec_effects_std *s = ctx;
    struct pec_trace_message_info *m = NULL;
    int found;

    if (s->trace == NULL)
        return 0;
    if ((found = pec_trace_get_message(s->trace, identificativo, &m, err)) <= 0)
        return found;
    found = 0;
    if (m->sender && strcasecmp(m->sender, sender) == 0)
        for (size_t i = 0; i < m->n_rcpts && !found; i++)
            found = !m->rcpts[i].certified && m->rcpts[i].address && strcasecmp(m->rcpts[i].address, recipient) == 0;
    pec_trace_message_info_free(&m);
    return found;
}

/* std_log - the process's log */
static void std_log(void *ctx, enum pec_log_level level, const char *line)
{
    (void)ctx;
    if (level >= PEC_LOG_WARN)
        pec_warn("%s", line);
    else
        pec_info("%s", line);
}

/* pec_effects_standard - see effects.h */
void pec_effects_standard(struct pec_effects *e, struct pec_effects_std *std)
{
    memset(e, 0, sizeof(*e));
    e->ctx = std;
    e->now = std_now;
    e->scan = std_scan;
    e->quarantine = std_quarantine;
    e->quarantine_ref = std_quarantine_ref;
    e->spool = std_spool;
    e->submit = std_submit;
    e->trace_ready = std_trace_ready;
    e->trace_accept = std_trace_accept;
    e->trace_record = std_trace_record;
    e->trace_quarantine = std_trace_quarantine;
    e->trace_claim = std_trace_claim;
    e->trace_receipt_sent = std_trace_receipt_sent;
    e->trace_sent_to = std_trace_sent_to;
    e->log = std_log;
}

/* pec_effects_log - format, then e->log */
void pec_effects_log(const struct pec_effects *e, enum pec_log_level level, const char *fmt, ...)
{
    char line[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    e->log(e->ctx, level, line);
}
