/* trace_metrics.c - the counts pecctl metrics exports, read in one transaction. */
#include <string.h>
#include "trace_internal.h"

/* $1 = now */
static const char SQL_EVENTS_24H[] =
    "SELECT type, count(*) FROM events WHERE event_time > to_timestamp($1::bigint - 86400) GROUP BY type";
/* the timers' own conditions (trace_claim.c), counted; $1 = now, $2 and $3 the notices' thresholds */
static const char SQL_RECIPIENTS[] =
    "SELECT count(*),"
    " count(*) FILTER (WHERE r.notice12_at IS NULL AND r.presa_in_carico_at IS NULL AND m.queued_at IS NOT NULL"
    "  AND m.accepted_at <= to_timestamp($1::bigint - $2::bigint)),"
    " count(*) FILTER (WHERE m.queued_at IS NOT NULL AND m.accepted_at <= to_timestamp($1::bigint - $3::bigint))"
    " FROM recipients r JOIN messages m ON m.identificativo = r.identificativo"
    " WHERE r.certified AND r.notice24_at IS NULL AND r.consegna_at IS NULL AND r.errore_at IS NULL";
static const char SQL_OTHERS[] =
    "SELECT (SELECT count(*) FROM quarantine), (SELECT max(created_at) FROM checkpoints)";

struct metrics_arg {
    time_t now;
    struct pec_trace_metrics *m;
};

/* metrics_body - the three reads */
static int metrics_body(struct trace_conn *c, void *arg, struct pec_error *err)
{
    struct metrics_arg *a = arg;
    struct trace_params p;
    PGresult *r;

    memset(a->m, 0, sizeof(*a->m));
    tp_init(&p);
    tp_int(&p, (long long)a->now);
    if ((r = trace_exec(c, SQL_EVENTS_24H, &p, 1, err)) == NULL)
        return -1;
    for (int i = 0; i < PQntuples(r); i++) {
        enum pec_trace_type type = pec_trace_type_parse(trace_get_str(r, i, 0));
        if (type != PEC_TRACE_NONE)
            a->m->events_24h[type] = (unsigned long)trace_get_int(r, i, 1);
    }
    PQclear(r);
    tp_int(&p, PEC_TRACE_NOTICE12_AFTER);
    tp_int(&p, PEC_TRACE_NOTICE24_AFTER);
    if ((r = trace_exec(c, SQL_RECIPIENTS, &p, 1, err)) == NULL)
        return -1;
    a->m->pending = (unsigned long)trace_get_int(r, 0, 0);
    a->m->due_12h = (unsigned long)trace_get_int(r, 0, 1);
    a->m->due_24h = (unsigned long)trace_get_int(r, 0, 2);
    PQclear(r);
    if ((r = trace_exec(c, SQL_OTHERS, NULL, 1, err)) == NULL)
        return -1;
    a->m->quarantined = (unsigned long)trace_get_int(r, 0, 0);
    a->m->last_checkpoint = trace_get_time(r, 0, 1);
    PQclear(r);
    return 0;
}

/* pec_trace_metrics - see trace.h */
int pec_trace_metrics(struct pec_trace *t, time_t now, struct pec_trace_metrics *m, struct pec_error *err)
{
    struct metrics_arg a = { now, m };

    return trace_run(t, NULL, 0, metrics_body, &a, err);
}
