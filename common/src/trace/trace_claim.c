/* trace_claim.c - what must happen once across nodes: a delivery receipt per (envelope, mailbox), each
 * timeout notice per recipient.  The claim is a row written or changed under the database's row
 * locks, with its events in the same transaction, so of two nodes racing exactly one sees 1. */
#include <stdlib.h>
#include <string.h>
#include "trace_internal.h"

static const char SQL_CLAIM_DELIVERY[] =
    "INSERT INTO deliveries (identificativo, address, claimed_at, node)"
    " VALUES ($1, $2, to_timestamp($3::bigint), $4) ON CONFLICT DO NOTHING";

/* The lease re-checks that the notice is still due (a receipt may have arrived since the query) and that
 * no live lease holds it.  $3 = now, $4 = seconds after acceptance from which the notice is due,
 * $5 = lease length. */
static const char SQL_LEASE_12H[] =
    "UPDATE recipients r SET notice12_leased_at = to_timestamp($3::bigint) FROM messages m"
    " WHERE r.identificativo = $1 AND lower(r.address) = lower($2) AND m.identificativo = r.identificativo"
    " AND r.certified AND r.notice12_at IS NULL AND r.notice24_at IS NULL AND r.presa_in_carico_at IS NULL"
    " AND r.consegna_at IS NULL AND r.errore_at IS NULL"
    " AND (r.notice12_leased_at IS NULL OR r.notice12_leased_at <= to_timestamp($3::bigint - $5::bigint))"
    " AND m.queued_at IS NOT NULL AND m.accepted_at <= to_timestamp($3::bigint - $4::bigint)";
static const char SQL_LEASE_24H[] =
    "UPDATE recipients r SET notice24_leased_at = to_timestamp($3::bigint) FROM messages m"
    " WHERE r.identificativo = $1 AND lower(r.address) = lower($2) AND m.identificativo = r.identificativo"
    " AND r.certified AND r.notice24_at IS NULL AND r.consegna_at IS NULL AND r.errore_at IS NULL"
    " AND (r.notice24_leased_at IS NULL OR r.notice24_leased_at <= to_timestamp($3::bigint - $5::bigint))"
    " AND m.queued_at IS NOT NULL AND m.accepted_at <= to_timestamp($3::bigint - $4::bigint)";
/* sent: $3 = now; the lease is dropped with it */
static const char SQL_SENT_12H[] =
    "UPDATE recipients SET notice12_at = to_timestamp($3::bigint), notice12_leased_at = NULL"
    " WHERE identificativo = $1 AND lower(address) = lower($2) AND notice12_at IS NULL";
static const char SQL_SENT_24H[] =
    "UPDATE recipients SET notice24_at = to_timestamp($3::bigint), notice24_leased_at = NULL"
    " WHERE identificativo = $1 AND lower(address) = lower($2) AND notice24_at IS NULL";
/* release: $3 (the time) is not used but typed, so every notice statement takes the same parameters */
static const char SQL_RELEASE_12H[] =
    "UPDATE recipients SET notice12_leased_at = NULL"
    " WHERE identificativo = $1 AND lower(address) = lower($2) AND $3::bigint IS NOT NULL";
static const char SQL_RELEASE_24H[] =
    "UPDATE recipients SET notice24_leased_at = NULL"
    " WHERE identificativo = $1 AND lower(address) = lower($2) AND $3::bigint IS NOT NULL";

/* $1 = now, $2 = 12 h threshold, $3 = 24 h threshold, $4 = limit (NULL: none), $5 = lease; the WHERE clause of
 * both halves implies the partial index recipients_open, so only open recipients are scanned */
static const char SQL_DUE[] =
    "SELECT * FROM ("
    " SELECT 12 AS kind, r.identificativo, r.address, m.sender, m.client_msgid, m.subject, m.receipt_type,"
    "  m.accepted_at, r.header = 'cc' AS cc, coalesce(m.reply_to, m.sender) AS reply_to"
    " FROM recipients r JOIN messages m ON m.identificativo = r.identificativo"
    " WHERE r.certified AND r.notice24_at IS NULL AND r.consegna_at IS NULL AND r.errore_at IS NULL"
    "  AND r.notice12_at IS NULL AND r.presa_in_carico_at IS NULL"
    "  AND (r.notice12_leased_at IS NULL OR r.notice12_leased_at <= to_timestamp($1::bigint - $5::bigint))"
    "  AND m.queued_at IS NOT NULL AND m.accepted_at <= to_timestamp($1::bigint - $2::bigint)"
    " UNION ALL"
    " SELECT 24, r.identificativo, r.address, m.sender, m.client_msgid, m.subject, m.receipt_type,"
    "  m.accepted_at, r.header = 'cc', coalesce(m.reply_to, m.sender)"
    " FROM recipients r JOIN messages m ON m.identificativo = r.identificativo"
    " WHERE r.certified AND r.notice24_at IS NULL AND r.consegna_at IS NULL AND r.errore_at IS NULL"
    "  AND (r.notice24_leased_at IS NULL OR r.notice24_leased_at <= to_timestamp($1::bigint - $5::bigint))"
    "  AND m.queued_at IS NOT NULL AND m.accepted_at <= to_timestamp($1::bigint - $3::bigint)"
    ") d ORDER BY accepted_at, identificativo, address, kind LIMIT $4::bigint";

struct claim_arg {
    struct pec_trace *t;
    const char *sql;
    struct trace_params *p;
    const struct pec_trace_event *ev;
    size_t n_ev;
};

/* claim_body - write the claim; log the events only when this transaction won it */
static int claim_body(struct trace_conn *c, void *arg, struct pec_error *err)
{
    struct claim_arg *a = arg;
    PGresult *res = trace_exec(c, a->sql, a->p, 0, err);
    int won;

    if (res == NULL)
        return -1;
    won = strcmp(PQcmdTuples(res), "0") != 0;
    PQclear(res);
    if (!won)
        return 0;
    return trace_append_events(a->t, c, a->ev, a->n_ev, err) < 0 ? -1 : 1;
}

/* check_claim - key fields and events */
static int check_claim(const char *identificativo, const char *address, const struct pec_trace_event *ev,
                       size_t n_ev, struct pec_error *err)
{
    size_t i;

    if (identificativo == NULL || address == NULL || (n_ev > 0 && ev == NULL)) {
        pec_error_set(err, PEC_ERR_INVALID, "trace: a claim needs an identificativo and an address");
        return -1;
    }
    if (trace_check_text("identificativo", identificativo, err) < 0 ||
        trace_check_text("recipient", address, err) < 0)
        return -1;
    for (i = 0; i < n_ev; i++)
        if (trace_check_event(&ev[i], err) < 0)
            return -1;
    return 0;
}

/* pec_trace_claim_delivery - 1 the first time (events logged), 0 afterwards */
int pec_trace_claim_delivery(struct pec_trace *t, const char *identificativo, const char *address, time_t now,
                             const struct pec_trace_event *ev, size_t n_ev, struct pec_error *err)
{
    struct trace_params p;
    struct claim_arg a = { t, SQL_CLAIM_DELIVERY, &p, ev, n_ev };

    if (check_claim(identificativo, address, ev, n_ev, err) < 0)
        return -1;
    tp_init(&p);
    tp_text(&p, identificativo);
    tp_text(&p, address);
    tp_int(&p, (long long)now);
    tp_int(&p, pec_trace_node(t));
    return trace_run(t, ev, n_ev, claim_body, &a, err);
}

/* notice_params - identificativo, address, now */
static int notice_params(enum pec_trace_notice kind, const char *identificativo, const char *address, time_t now,
                         const struct pec_trace_event *ev, size_t n_ev, struct trace_params *p, struct pec_error *err)
{
    if (kind != PEC_NOTICE_12H && kind != PEC_NOTICE_24H) {
        pec_error_set(err, PEC_ERR_INVALID, "trace: unknown notice kind %d", (int)kind);
        return -1;
    }
    if (check_claim(identificativo, address, ev, n_ev, err) < 0)
        return -1;
    tp_init(p);
    tp_text(p, identificativo);
    tp_text(p, address);
    tp_int(p, (long long)now);
    return 0;
}

/* pec_trace_claim_notice - 1 when the notice was still due and unleased: leased to us until now + lease */
int pec_trace_claim_notice(struct pec_trace *t, enum pec_trace_notice kind, const char *identificativo,
                           const char *address, time_t now, struct pec_error *err)
{
    struct trace_params p;
    struct claim_arg a = { t, kind == PEC_NOTICE_12H ? SQL_LEASE_12H : SQL_LEASE_24H, &p, NULL, 0 };

    if (notice_params(kind, identificativo, address, now, NULL, 0, &p, err) < 0)
        return -1;
    tp_int(&p, kind == PEC_NOTICE_12H ? PEC_TRACE_NOTICE12_AFTER : PEC_TRACE_NOTICE24_AFTER);
    tp_int(&p, PEC_TRACE_NOTICE_LEASE);
    return trace_run(t, NULL, 0, claim_body, &a, err);
}

/* pec_trace_notice_sent - the leased notice went out: its time and its events, in one transaction */
int pec_trace_notice_sent(struct pec_trace *t, enum pec_trace_notice kind, const char *identificativo,
                          const char *address, time_t now, const struct pec_trace_event *ev, size_t n_ev,
                          struct pec_error *err)
{
    struct trace_params p;
    struct claim_arg a = { t, kind == PEC_NOTICE_12H ? SQL_SENT_12H : SQL_SENT_24H, &p, ev, n_ev };
    int rc;

    if (notice_params(kind, identificativo, address, now, ev, n_ev, &p, err) < 0)
        return -1;
    /* 0: another run, taking over a lease it thought stale, recorded it first; it is logged all the
     * same, since this copy went out too */
    if ((rc = trace_run(t, ev, n_ev, claim_body, &a, err)) == 0)
        rc = pec_trace_record(t, ev, n_ev, NULL, 0, err) < 0 ? -1 : 0;
    return rc < 0 ? -1 : 0;
}

/* pec_trace_notice_release - give a lease back after a failed send: the next run retries at once */
int pec_trace_notice_release(struct pec_trace *t, enum pec_trace_notice kind, const char *identificativo,
                             const char *address, struct pec_error *err)
{
    struct trace_params p;
    struct claim_arg a = { t, kind == PEC_NOTICE_12H ? SQL_RELEASE_12H : SQL_RELEASE_24H, &p, NULL, 0 };

    if (notice_params(kind, identificativo, address, 0, NULL, 0, &p, err) < 0)
        return -1;
    return trace_run(t, NULL, 0, claim_body, &a, err) < 0 ? -1 : 0;
}

struct due_arg {
    time_t now;
    size_t limit;
    PGresult *res;
};

/* due_body - run the query; the rows are handed out after the connection went back to the pool, so a
 * callback may claim (with a pool of one connection too) */
static int due_body(struct trace_conn *c, void *arg, struct pec_error *err)
{
    struct due_arg *a = arg;
    struct trace_params p;

    tp_init(&p);
    tp_int(&p, (long long)a->now);
    tp_int(&p, PEC_TRACE_NOTICE12_AFTER);
    tp_int(&p, PEC_TRACE_NOTICE24_AFTER);
    if (a->limit > 0)
        tp_int(&p, (long long)a->limit);
    else
        tp_text(&p, NULL);
    tp_int(&p, PEC_TRACE_NOTICE_LEASE);
    a->res = trace_exec(c, SQL_DUE, &p, 1, err);
    return a->res ? 0 : -1;
}

/* pec_trace_notices_due - the notices due at now, oldest first; 1 when the callback stopped early */
int pec_trace_notices_due(struct pec_trace *t, time_t now, size_t limit, pec_trace_due_fn fn, void *ctx,
                          struct pec_error *err)
{
    struct due_arg a = { now, limit, NULL };
    int i, n, stop = 0;

    if (trace_run(t, NULL, 0, due_body, &a, err) < 0) {
        PQclear(a.res);
        return -1;
    }
    n = PQntuples(a.res);
    for (i = 0; i < n && !stop; i++) {
        struct pec_trace_due d;

        d.kind = trace_get_int(a.res, i, 0) == 12 ? PEC_NOTICE_12H : PEC_NOTICE_24H;
        d.identificativo = trace_get_str(a.res, i, 1);
        d.address = trace_get_str(a.res, i, 2);
        d.sender = trace_get_str(a.res, i, 3);
        d.client_msgid = trace_get_str(a.res, i, 4);
        d.subject = trace_get_str(a.res, i, 5);
        d.receipt_type = trace_get_str(a.res, i, 6);
        d.accepted_at = trace_get_time(a.res, i, 7);
        d.cc = trace_get_bool(a.res, i, 8);
        d.reply_to = trace_get_str(a.res, i, 9);
        stop = fn(&d, ctx) != 0;
    }
    PQclear(a.res);
    return stop;
}
