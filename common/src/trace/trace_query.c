/* trace_query.c - reading the log back: event search (pecctl log search) and one submitted message
 * with its recipients (pecctl log extract).  Results are read whole, in binary form (exact bytes), and
 * handed to the caller after the connection went back to the pool. */
#include <stdlib.h>
#include <string.h>
#include "trace_internal.h"

/* Every criterion is optional (NULL).  Message-IDs and identifiers are matched with and without
 * angle brackets ($n and its alternative form). */
static const char SQL_SEARCH[] =
    "SELECT chain, seq, node, event_time, type, identificativo, message_id, queue_id, sender, recipients,"
    " recipient_types, subject, gestore, receipt_type, errore, errore_esteso, virus"
    " FROM events"
    " WHERE ($1::text IS NULL OR identificativo IN ($1, $2))"
    " AND ($3::text IS NULL OR message_id IN ($3, $4) OR identificativo IN ($3, $4)"
    "      OR identificativo IN (SELECT identificativo FROM messages WHERE client_msgid IN ($3, $4)))"
    " AND ($5::text IS NULL OR lower(sender) = lower($5))"
    " AND ($6::text IS NULL OR pec_lower_array(recipients) @> ARRAY[lower($6)])"
    " AND ($7::bigint IS NULL OR event_time >= to_timestamp($7::bigint))"
    " AND ($8::bigint IS NULL OR event_time < to_timestamp($8::bigint))"
    " ORDER BY event_time, chain, seq LIMIT $9::bigint";

static const char SQL_MESSAGE[] =
    "SELECT identificativo, client_msgid, sender, subject, receipt_type, queue_id, accepted_at, node"
    " FROM messages WHERE identificativo IN ($1, $2)";
static const char SQL_RECIPIENTS[] =
    "SELECT address, certified, header = 'cc', relayed_at, presa_in_carico_at, consegna_at, errore_at,"
    " notice12_at, notice24_at, errore_code, errore_text"
    " FROM recipients WHERE identificativo = $1 ORDER BY header = 'cc', address";

/* alt_form - the other spelling of an id: without its angle brackets, or with them */
static char *alt_form(const char *id)
{
    size_t n;
    char *alt;

    if (id == NULL)
        return NULL;
    n = strlen(id);
    if (n >= 2 && id[0] == '<' && id[n - 1] == '>') {
        alt = trace_xmalloc(n - 1);
        memcpy(alt, id + 1, n - 2);
        alt[n - 2] = '\0';
    } else {
        alt = trace_xmalloc(n + 3);
        alt[0] = '<';
        memcpy(alt + 1, id, n);
        alt[n + 1] = '>';
        alt[n + 2] = '\0';
    }
    return alt;
}

struct search_arg {
    const struct pec_trace_query *q;
    PGresult *res;
};

/* search_body - run the search */
static int search_body(struct trace_conn *c, void *arg, struct pec_error *err)
{
    struct search_arg *a = arg;
    const struct pec_trace_query *q = a->q;
    char *alt_id = alt_form(q->identificativo), *alt_msgid = alt_form(q->msgid);
    struct trace_params p;

    tp_init(&p);
    tp_text(&p, q->identificativo);
    tp_text(&p, alt_id);
    tp_text(&p, q->msgid);
    tp_text(&p, alt_msgid);
    tp_text(&p, q->sender);
    tp_text(&p, q->recipient);
    if (q->from != 0)
        tp_int(&p, (long long)q->from);
    else
        tp_text(&p, NULL);
    if (q->to != 0)
        tp_int(&p, (long long)q->to);
    else
        tp_text(&p, NULL);
    if (q->limit > 0)
        tp_int(&p, (long long)q->limit);
    else
        tp_text(&p, NULL);
    a->res = trace_exec(c, SQL_SEARCH, &p, 1, err);
    free(alt_id);
    free(alt_msgid);
    return a->res ? 0 : -1;
}

/* emit_row - decode one result row and give it to the callback */
static int emit_row(const PGresult *res, int i, pec_trace_row_fn fn, void *ctx)
{
    struct pec_trace_row row;
    struct pec_trace_rcpt *rcpts;
    const char **addrs, **kinds;
    size_t n_addrs, n_kinds, k;
    int r;

    memset(&row, 0, sizeof(row));
    row.chain = (unsigned)trace_get_int(res, i, 0);
    row.seq = trace_get_int(res, i, 1);
    row.node = (unsigned)trace_get_int(res, i, 2);
    row.ev.time = trace_get_time(res, i, 3);
    row.type_name = trace_get_str(res, i, 4);
    row.ev.type = pec_trace_type_parse(row.type_name);
    row.ev.identificativo = trace_get_str(res, i, 5);
    row.ev.message_id = trace_get_str(res, i, 6);
    row.ev.queue_id = trace_get_str(res, i, 7);
    row.ev.sender = trace_get_str(res, i, 8);
    addrs = trace_get_text_array(res, i, 9, &n_addrs);
    kinds = trace_get_text_array(res, i, 10, &n_kinds);
    rcpts = trace_xcalloc(n_addrs + 1, sizeof(*rcpts));
    for (k = 0; k < n_addrs; k++) {
        const char *kind = k < n_kinds ? kinds[k] : "";

        rcpts[k].address = addrs[k];
        rcpts[k].kind = strcmp(kind, "certificato") == 0 ? PEC_RCPT_CERTIFICATO
                        : strcmp(kind, "esterno") == 0   ? PEC_RCPT_ESTERNO
                                                         : PEC_RCPT_UNKNOWN;
    }
    row.ev.rcpts = rcpts;
    row.ev.n_rcpts = n_addrs;
    row.ev.subject = trace_get_str(res, i, 11);
    row.ev.gestore = trace_get_str(res, i, 12);
    row.ev.receipt_type = trace_get_str(res, i, 13);
    row.ev.errore = trace_get_str(res, i, 14);
    row.ev.errore_esteso = trace_get_str(res, i, 15);
    row.ev.virus = trace_get_str(res, i, 16);
    r = fn(&row, ctx);
    free(rcpts);
    free(addrs);
    free(kinds);
    return r;
}

/* pec_trace_search - the matching events, oldest first; 1 when the callback stopped early */
int pec_trace_search(struct pec_trace *t, const struct pec_trace_query *q, pec_trace_row_fn fn, void *ctx,
                     struct pec_error *err)
{
    struct search_arg a = { q, NULL };
    int i, n, stop = 0;

    if (trace_run(t, NULL, 0, search_body, &a, err) < 0) {
        PQclear(a.res);
        return -1;
    }
    n = PQntuples(a.res);
    for (i = 0; i < n && !stop; i++)
        stop = emit_row(a.res, i, fn, ctx) != 0;
    PQclear(a.res);
    return stop;
}

struct message_arg {
    const char *id;
    PGresult *msg, *rcpts;
};

/* message_body - the message row, then its recipients */
static int message_body(struct trace_conn *c, void *arg, struct pec_error *err)
{
    struct message_arg *a = arg;
    char *alt = alt_form(a->id);
    struct trace_params p;

    tp_init(&p);
    tp_text(&p, a->id);
    tp_text(&p, alt);
    a->msg = trace_exec(c, SQL_MESSAGE, &p, 1, err);
    free(alt);
    if (a->msg == NULL)
        return -1;
    if (PQntuples(a->msg) == 0)
        return 0;
    tp_init(&p);
    tp_text(&p, PQgetvalue(a->msg, 0, 0));
    a->rcpts = trace_exec(c, SQL_RECIPIENTS, &p, 1, err);
    return a->rcpts ? 1 : -1;
}

/* pec_trace_get_message - a submitted message and its recipients */
int pec_trace_get_message(struct pec_trace *t, const char *identificativo, struct pec_trace_message_info **out,
                          struct pec_error *err)
{
    struct message_arg a = { identificativo, NULL, NULL };
    struct pec_trace_message_info *m;
    int r, i, n;

    *out = NULL;
    r = trace_run(t, NULL, 0, message_body, &a, err);
    if (r <= 0) {
        PQclear(a.msg);
        PQclear(a.rcpts);
        return r;
    }
    m = trace_xcalloc(1, sizeof(*m));
    m->identificativo = trace_xstrdup(trace_get_str(a.msg, 0, 0));
    m->client_msgid = trace_xstrdup(trace_get_str(a.msg, 0, 1));
    m->sender = trace_xstrdup(trace_get_str(a.msg, 0, 2));
    m->subject = trace_xstrdup(trace_get_str(a.msg, 0, 3));
    m->receipt_type = trace_xstrdup(trace_get_str(a.msg, 0, 4));
    m->queue_id = trace_xstrdup(trace_get_str(a.msg, 0, 5));
    m->accepted_at = trace_get_time(a.msg, 0, 6);
    m->node = (unsigned)trace_get_int(a.msg, 0, 7);
    n = PQntuples(a.rcpts);
    m->rcpts = trace_xcalloc((size_t)n + 1, sizeof(*m->rcpts));
    for (i = 0; i < n; i++) {
        struct pec_trace_rcpt_info *ri = &m->rcpts[m->n_rcpts++];

        ri->address = trace_xstrdup(trace_get_str(a.rcpts, i, 0));
        ri->certified = trace_get_bool(a.rcpts, i, 1);
        ri->cc = trace_get_bool(a.rcpts, i, 2);
        ri->relayed = trace_get_time(a.rcpts, i, 3);
        ri->presa_in_carico = trace_get_time(a.rcpts, i, 4);
        ri->consegna = trace_get_time(a.rcpts, i, 5);
        ri->errore = trace_get_time(a.rcpts, i, 6);
        ri->notice12 = trace_get_time(a.rcpts, i, 7);
        ri->notice24 = trace_get_time(a.rcpts, i, 8);
        ri->errore_code = trace_xstrdup(trace_get_str(a.rcpts, i, 9));
        ri->errore_text = trace_xstrdup(trace_get_str(a.rcpts, i, 10));
    }
    PQclear(a.msg);
    PQclear(a.rcpts);
    *out = m;
    return 1;
}

/* pec_trace_message_info_free - free a message and its recipients */
void pec_trace_message_info_free(struct pec_trace_message_info **mp)
{
    struct pec_trace_message_info *m;
    size_t i;

    if (mp == NULL || *mp == NULL)
        return;
    m = *mp;
    for (i = 0; i < m->n_rcpts; i++) {
        free(m->rcpts[i].address);
        free(m->rcpts[i].errore_code);
        free(m->rcpts[i].errore_text);
    }
    free(m->rcpts);
    free(m->identificativo);
    free(m->client_msgid);
    free(m->sender);
    free(m->subject);
    free(m->receipt_type);
    free(m->queue_id);
    free(m);
    *mp = NULL;
}
