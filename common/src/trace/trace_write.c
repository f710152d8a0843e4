/* trace_write.c - recording operations: a submitted message, events with recipient state updates,
 * a quarantined message.  Each call is one transaction; the inputs are checked before the database is
 * touched, so a malformed field is PEC_ERR_INVALID and never a half-written operation. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "trace_internal.h"

static const char SQL_MESSAGE[] =
    "INSERT INTO messages (identificativo, client_msgid, sender, subject, receipt_type, queue_id, accepted_at,"
    " node, reply_to) VALUES ($1, $2, $3, $4::bytea, $5, $6, to_timestamp($7::bigint), $8, $9)";
/* a message may name the same address twice (To and Cc): the first wins */
static const char SQL_RECIPIENTS[] =
    "INSERT INTO recipients (identificativo, address, certified, header)"
    " SELECT $1, a, k = 'certificato', h FROM unnest($2::text[], $3::text[], $4::text[]) AS u(a, k, h)"
    " ON CONFLICT DO NOTHING";

/* the first time a state is reached is the one kept */
static const char SQL_RELAYED[] =
    "UPDATE recipients SET relayed_at = to_timestamp($3::bigint)"
    " WHERE identificativo = $1 AND lower(address) = lower($2) AND relayed_at IS NULL";
static const char SQL_PRESA[] =
    "UPDATE recipients SET presa_in_carico_at = to_timestamp($3::bigint)"
    " WHERE identificativo = $1 AND lower(address) = lower($2) AND presa_in_carico_at IS NULL";
static const char SQL_CONSEGNA[] =
    "UPDATE recipients SET consegna_at = to_timestamp($3::bigint)"
    " WHERE identificativo = $1 AND lower(address) = lower($2) AND consegna_at IS NULL";
static const char SQL_ERRORE[] =
    "UPDATE recipients SET errore_at = to_timestamp($3::bigint), errore_code = $4, errore_text = $5::bytea"
    " WHERE identificativo = $1 AND lower(address) = lower($2) AND errore_at IS NULL";

static const char SQL_QUARANTINE[] =
    "INSERT INTO quarantine (identificativo, detected_at, virus, storage_ref, sha256, sender, node)"
    " VALUES ($1, to_timestamp($2::bigint), $3, $4, $5, $6, $7)";

/* check_events - every event must be storable */
static int check_events(const struct pec_trace_event *ev, size_t n, struct pec_error *err)
{
    size_t i;

    if (n > 0 && ev == NULL) {
        pec_error_set(err, PEC_ERR_INVALID, "trace: no events given");
        return -1;
    }
    for (i = 0; i < n; i++)
        if (trace_check_event(&ev[i], err) < 0)
            return -1;
    return 0;
}

/* ---- a submitted message ---- */

struct accept_arg {
    struct pec_trace *t;
    const struct pec_trace_message *m;
    const struct pec_trace_event *ev;
    size_t n_ev;
};

/* accept_body - message row, recipient rows, then the events (the chain head is locked last) */
static int accept_body(struct trace_conn *c, void *arg, struct pec_error *err)
{
    struct accept_arg *a = arg;
    const struct pec_trace_message *m = a->m;
    const char **addrs = trace_xcalloc(m->n_rcpts + 1, sizeof(char *));
    const char **kinds = trace_xcalloc(m->n_rcpts + 1, sizeof(char *));
    const char **hdrs = trace_xcalloc(m->n_rcpts + 1, sizeof(char *));
    struct trace_params p;
    PGresult *res;
    size_t i;
    int r = -1;

    tp_init(&p);
    tp_text(&p, m->identificativo);
    tp_text(&p, m->client_msgid);
    tp_text(&p, m->sender);
    tp_bytes(&p, m->subject, m->subject ? strlen(m->subject) : 0);
    tp_text(&p, m->receipt_type);
    tp_text(&p, m->queue_id);
    tp_int(&p, (long long)m->accepted_at);
    tp_int(&p, pec_trace_node(a->t));
    tp_text(&p, m->reply_to != NULL && strcasecmp(m->reply_to, m->sender) != 0 ? m->reply_to : NULL);
    res = trace_exec(c, SQL_MESSAGE, &p, 0, err);
    if (res == NULL)
        goto done;
    PQclear(res);
    if (m->n_rcpts > 0) {
        for (i = 0; i < m->n_rcpts; i++) {
            addrs[i] = m->rcpts[i].address;
            kinds[i] = pec_trace_rcpt_kind_name(m->rcpts[i].kind);
            hdrs[i] = m->rcpts[i].cc ? "cc" : "to";
        }
        tp_init(&p);
        tp_text(&p, m->identificativo);
        tp_text_array(&p, addrs, m->n_rcpts);
        tp_text_array(&p, kinds, m->n_rcpts);
        tp_text_array(&p, hdrs, m->n_rcpts);
        res = trace_exec(c, SQL_RECIPIENTS, &p, 0, err);
        tp_release(&p);
        if (res == NULL)
            goto done;
        PQclear(res);
    }
    r = trace_append_events(a->t, c, a->ev, a->n_ev, err);
done:
    free(addrs);
    free(kinds);
    free(hdrs);
    return r;
}

/* check_message - the submitted message's own fields */
static int check_message(const struct pec_trace_message *m, struct pec_error *err)
{
    size_t i;

    if (m->identificativo == NULL || m->identificativo[0] == '\0' || m->sender == NULL) {
        pec_error_set(err, PEC_ERR_INVALID, "trace: a submitted message needs an identificativo and a sender");
        return -1;
    }
    if (m->n_rcpts > 0 && m->rcpts == NULL) {
        pec_error_set(err, PEC_ERR_INVALID, "trace: bad recipient list");
        return -1;
    }
    for (i = 0; i < m->n_rcpts; i++) {
        if (m->rcpts[i].address == NULL ||
            (m->rcpts[i].kind != PEC_RCPT_CERTIFICATO && m->rcpts[i].kind != PEC_RCPT_ESTERNO)) {
            pec_error_set(err, PEC_ERR_INVALID, "trace: recipient %zu needs an address and a kind", i + 1);
            return -1;
        }
        if (trace_check_text("recipient", m->rcpts[i].address, err) < 0)
            return -1;
    }
    if (trace_check_text("identificativo", m->identificativo, err) < 0 ||
        trace_check_text("client message-id", m->client_msgid, err) < 0 ||
        trace_check_text("sender", m->sender, err) < 0 ||
        trace_check_text("receipt type", m->receipt_type, err) < 0 ||
        trace_check_text("queue id", m->queue_id, err) < 0)
        return -1;
    return 0;
}

/* pec_trace_accept - a submitted message, its recipients and its events */
int pec_trace_accept(struct pec_trace *t, const struct pec_trace_message *m, const struct pec_trace_event *ev,
                     size_t n_ev, struct pec_error *err)
{
    struct accept_arg a = { t, m, ev, n_ev };

    if (check_message(m, err) < 0 || check_events(ev, n_ev, err) < 0)
        return -1;
    return trace_run(t, ev, n_ev, accept_body, &a, err) < 0 ? -1 : 0;
}

/* ---- events and recipient states ---- */

struct record_arg {
    struct pec_trace *t;
    const struct pec_trace_event *ev;
    size_t n_ev;
    const struct pec_trace_update *up;
    size_t n_up;
};

/* apply_update - one recipient state; 0 rows changed is fine */
static int apply_update(struct trace_conn *c, const struct pec_trace_update *u, struct pec_error *err)
{
    const char *sql = u->state == PEC_STATE_RELAYED           ? SQL_RELAYED
                      : u->state == PEC_STATE_PRESA_IN_CARICO ? SQL_PRESA
                      : u->state == PEC_STATE_CONSEGNA        ? SQL_CONSEGNA
                                                              : SQL_ERRORE;
    struct trace_params p;
    PGresult *res;

    tp_init(&p);
    tp_text(&p, u->identificativo);
    tp_text(&p, u->address);
    tp_int(&p, (long long)u->time);
    if (u->state == PEC_STATE_ERRORE) {
        tp_text(&p, u->errore_code);
        tp_bytes(&p, u->errore_text, u->errore_text ? strlen(u->errore_text) : 0);
    }
    res = trace_exec(c, sql, &p, 0, err);
    PQclear(res);
    return res ? 0 : -1;
}

/* record_body - updates first, events (and the chain head lock) last */
static int record_body(struct trace_conn *c, void *arg, struct pec_error *err)
{
    struct record_arg *a = arg;
    size_t i;

    for (i = 0; i < a->n_up; i++)
        if (apply_update(c, &a->up[i], err) < 0)
            return -1;
    return trace_append_events(a->t, c, a->ev, a->n_ev, err);
}

/* check_updates - every update names a message, an address and a known state */
static int check_updates(const struct pec_trace_update *up, size_t n, struct pec_error *err)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (up[i].identificativo == NULL || up[i].address == NULL || up[i].state < PEC_STATE_RELAYED ||
            up[i].state > PEC_STATE_ERRORE) {
            pec_error_set(err, PEC_ERR_INVALID, "trace: update %zu is incomplete", i + 1);
            return -1;
        }
        if (trace_check_text("identificativo", up[i].identificativo, err) < 0 ||
            trace_check_text("recipient", up[i].address, err) < 0 ||
            trace_check_text("errore", up[i].errore_code, err) < 0)
            return -1;
    }
    return 0;
}

/* pec_trace_record - events and recipient state updates in one transaction */
int pec_trace_record(struct pec_trace *t, const struct pec_trace_event *ev, size_t n_ev,
                     const struct pec_trace_update *up, size_t n_up, struct pec_error *err)
{
    struct record_arg a = { t, ev, n_ev, up, n_up };

    if (n_up > 0 && up == NULL) {
        pec_error_set(err, PEC_ERR_INVALID, "trace: no updates given");
        return -1;
    }
    if (check_events(ev, n_ev, err) < 0 || check_updates(up, n_up, err) < 0)
        return -1;
    return trace_run(t, ev, n_ev, record_body, &a, err) < 0 ? -1 : 0;
}

/* ---- quarantine ---- */

struct quarantine_arg {
    struct pec_trace *t;
    const struct pec_trace_quarantine *q;
    const struct pec_trace_event *ev;
    size_t n_ev;
};

/* quarantine_body - the reference row, then the events */
static int quarantine_body(struct trace_conn *c, void *arg, struct pec_error *err)
{
    struct quarantine_arg *a = arg;
    struct trace_params p;
    PGresult *res;

    tp_init(&p);
    tp_text(&p, a->q->identificativo);
    tp_int(&p, (long long)a->q->detected_at);
    tp_text(&p, a->q->virus);
    tp_text(&p, a->q->storage_ref);
    tp_text(&p, a->q->sha256);
    tp_text(&p, a->q->sender);
    tp_int(&p, pec_trace_node(a->t));
    res = trace_exec(c, SQL_QUARANTINE, &p, 0, err);
    if (res == NULL)
        return -1;
    PQclear(res);
    return trace_append_events(a->t, c, a->ev, a->n_ev, err);
}

/* pec_trace_quarantine - a quarantined message and its events */
int pec_trace_quarantine(struct pec_trace *t, const struct pec_trace_quarantine *q,
                         const struct pec_trace_event *ev, size_t n_ev, struct pec_error *err)
{
    struct quarantine_arg a = { t, q, ev, n_ev };

    if (q->virus == NULL || q->storage_ref == NULL) {
        pec_error_set(err, PEC_ERR_INVALID, "trace: a quarantine record needs a virus name and a storage reference");
        return -1;
    }
    if (trace_check_text("identificativo", q->identificativo, err) < 0 ||
        trace_check_text("virus", q->virus, err) < 0 || trace_check_text("storage reference", q->storage_ref, err) < 0 ||
        trace_check_text("sha256", q->sha256, err) < 0 || trace_check_text("sender", q->sender, err) < 0 ||
        check_events(ev, n_ev, err) < 0)
        return -1;
    return trace_run(t, ev, n_ev, quarantine_body, &a, err) < 0 ? -1 : 0;
}
