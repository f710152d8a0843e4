/* trace_chain.c - appending events to one of this node's hash chains.
 *
 * Inside the caller's transaction: lock a chain head row, hash each event onto the previous one,
 * insert, move the head.  A node owns TRACE_CHAINS_PER_NODE chains (node * 100 + 0..15) and takes the
 * first one no other transaction holds (SKIP LOCKED): the head stays locked until the commit's disk
 * flush, so with a single chain every append of the node would wait for the previous flush, while with
 * several, concurrent appends commit together.  Other nodes' chains are never touched.  The caller does
 * its other writes first, so the head stays locked only for these few statements and the commit.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "trace_internal.h"

static const char SQL_HEAD_PICK[] = "SELECT chain, seq, hash FROM chain_heads WHERE chain BETWEEN $1 AND $2"
                                    " ORDER BY chain LIMIT 1 FOR UPDATE SKIP LOCKED";
static const char SQL_HEAD_LOCK[] = "SELECT chain, seq, hash FROM chain_heads WHERE chain = $1 FOR UPDATE";
static const char SQL_HEADS_INIT[] =
    "INSERT INTO chain_heads (chain, seq, hash) SELECT g, 0, $3::bytea FROM generate_series($1::int, $2::int) g"
    " ON CONFLICT (chain) DO NOTHING";
static const char SQL_HEAD_SET[] = "UPDATE chain_heads SET seq = $2, hash = $3::bytea, updated_at = now() "
                                   "WHERE chain = $1";
static const char SQL_EVENT[] =
    "INSERT INTO events (chain, seq, event_time, type, identificativo, message_id, queue_id, sender,"
    " recipients, recipient_types, subject, gestore, receipt_type, errore, errore_esteso, virus, node,"
    " prev_hash, hash)"
    " VALUES ($1, $2, to_timestamp($3::bigint), $4, $5, $6, $7, $8, $9::text[], $10::text[], $11::bytea,"
    " $12, $13, $14, $15::bytea, $16, $17, $18::bytea, $19::bytea)";

/* trace_chains_init - make sure the node's chain heads exist (before the transaction, autocommit) */
int trace_chains_init(struct pec_trace *t, struct trace_conn *c, struct pec_error *err)
{
    static const unsigned char zero[TRACE_HASH_LEN];
    struct trace_params p;
    PGresult *res;
    int ready;

    pthread_mutex_lock(&t->mu);
    ready = t->heads_ready;
    pthread_mutex_unlock(&t->mu);
    if (ready)
        return 0;
    tp_init(&p);
    tp_int(&p, (long long)t->set.node * 100);
    tp_int(&p, (long long)t->set.node * 100 + TRACE_CHAINS_PER_NODE - 1);
    tp_bytes(&p, zero, sizeof(zero));
    res = trace_exec(c, SQL_HEADS_INIT, &p, 0, err);
    if (res == NULL)
        return -1;
    PQclear(res);
    pthread_mutex_lock(&t->mu);
    t->heads_ready = 1;
    pthread_mutex_unlock(&t->mu);
    return 0;
}

/* take_head - read a locked head row */
static int take_head(PGresult *res, unsigned *chain, long long *seq, unsigned char hash[TRACE_HASH_LEN],
                     struct pec_error *err)
{
    *chain = (unsigned)trace_get_int(res, 0, 0);
    if (PQgetlength(res, 0, 2) != TRACE_HASH_LEN) {
        PQclear(res);
        pec_error_set(err, PEC_ERR_INTERNAL, "trace: chain %u head has a malformed hash", *chain);
        return -1;
    }
    *seq = trace_get_int(res, 0, 1);
    memcpy(hash, PQgetvalue(res, 0, 2), TRACE_HASH_LEN);
    PQclear(res);
    return 0;
}

/* lock_head - a free chain of the node, or, when all are busy, wait for one */
static int lock_head(struct pec_trace *t, struct trace_conn *c, unsigned *chain, long long *seq,
                     unsigned char hash[TRACE_HASH_LEN], struct pec_error *err)
{
    long long base = (long long)t->set.node * 100;
    struct trace_params p;
    PGresult *res;

    tp_init(&p);
    tp_int(&p, base);
    tp_int(&p, base + TRACE_CHAINS_PER_NODE - 1);
    res = trace_exec(c, SQL_HEAD_PICK, &p, 1, err);
    if (res == NULL)
        return -1;
    if (PQntuples(res) == 1)
        return take_head(res, chain, seq, hash, err);
    PQclear(res);
    /* every chain busy: queue on one, spread by connection */
    tp_init(&p);
    tp_int(&p, base + (long long)(((uintptr_t)c >> 6) % TRACE_CHAINS_PER_NODE));
    res = trace_exec(c, SQL_HEAD_LOCK, &p, 1, err);
    if (res == NULL)
        return -1;
    if (PQntuples(res) == 1)
        return take_head(res, chain, seq, hash, err);
    PQclear(res);
    pthread_mutex_lock(&t->mu);
    t->heads_ready = 0; /* someone removed heads: recreate them on the next attempt */
    pthread_mutex_unlock(&t->mu);
    pec_error_set(err, PEC_ERR_INTERNAL, "trace: the chain heads of node %u are missing", t->set.node);
    return -1;
}

/* insert_event - one row, hashed onto prev; hash receives the row's hash */
static int insert_event(struct trace_conn *c, unsigned chain, long long seq, unsigned node,
                        const struct pec_trace_event *ev, const unsigned char prev[TRACE_HASH_LEN],
                        unsigned char hash[TRACE_HASH_LEN], struct pec_error *err)
{
    const char **addrs = trace_xcalloc(ev->n_rcpts + 1, sizeof(char *));
    const char **kinds = trace_xcalloc(ev->n_rcpts + 1, sizeof(char *));
    struct trace_flat row;
    struct trace_params p;
    PGresult *res;
    size_t i;

    for (i = 0; i < ev->n_rcpts; i++) {
        addrs[i] = ev->rcpts[i].address;
        kinds[i] = pec_trace_rcpt_kind_name(ev->rcpts[i].kind);
    }
    memset(&row, 0, sizeof(row));
    row.chain = chain;
    row.seq = seq;
    row.time_us = (long long)ev->time * 1000000LL;
    row.node = node;
    row.type = pec_trace_type_name(ev->type);
    row.identificativo = ev->identificativo;
    row.message_id = ev->message_id;
    row.queue_id = ev->queue_id;
    row.sender = ev->sender;
    row.n_rcpts = ev->n_rcpts;
    row.rcpts = addrs;
    row.rcpt_types = kinds;
    row.subject = ev->subject;
    row.subject_len = ev->subject ? strlen(ev->subject) : 0;
    row.gestore = ev->gestore;
    row.receipt_type = ev->receipt_type;
    row.errore = ev->errore;
    row.errore_esteso = ev->errore_esteso;
    row.errore_esteso_len = ev->errore_esteso ? strlen(ev->errore_esteso) : 0;
    row.virus = ev->virus;
    trace_row_hash(prev, &row, hash);

    tp_init(&p);
    tp_int(&p, chain);
    tp_int(&p, seq);
    tp_int(&p, (long long)ev->time);
    tp_text(&p, row.type);
    tp_text(&p, ev->identificativo);
    tp_text(&p, ev->message_id);
    tp_text(&p, ev->queue_id);
    tp_text(&p, ev->sender);
    tp_text_array(&p, addrs, ev->n_rcpts);
    tp_text_array(&p, kinds, ev->n_rcpts);
    tp_bytes(&p, ev->subject, row.subject_len);
    tp_text(&p, ev->gestore);
    tp_text(&p, ev->receipt_type);
    tp_text(&p, ev->errore);
    tp_bytes(&p, ev->errore_esteso, row.errore_esteso_len);
    tp_text(&p, ev->virus);
    tp_int(&p, node);
    tp_bytes(&p, prev, TRACE_HASH_LEN);
    tp_bytes(&p, hash, TRACE_HASH_LEN);
    res = trace_exec(c, SQL_EVENT, &p, 0, err);
    tp_release(&p);
    free(addrs);
    free(kinds);
    PQclear(res);
    return res ? 0 : -1;
}

/* An accettazione (or a receipt refused for good) leaves only once its message is queued: the message
 * row is confirmed then (004_queued_at.sql). */
static const char SQL_QUEUED[] =
    "UPDATE messages SET queued_at = to_timestamp($2::bigint) WHERE identificativo = $1 AND queued_at IS NULL";

/* confirm_queued - queued_at of the message an emitted accettazione is about */
static int confirm_queued(struct trace_conn *c, const struct pec_trace_event *ev, struct pec_error *err)
{
    struct trace_params p;
    PGresult *res;

    if ((ev->type != PEC_TRACE_ACCETTAZIONE && ev->type != PEC_TRACE_RICEVUTA_RIFIUTATA) || ev->identificativo == NULL)
        return 0;
    tp_init(&p);
    tp_text(&p, ev->identificativo);
    tp_int(&p, (long long)ev->time);
    res = trace_exec(c, SQL_QUEUED, &p, 0, err);
    PQclear(res);
    return res ? 0 : -1;
}

/* trace_append_events - append events to one of this node's chains, inside the caller's transaction */
int trace_append_events(struct pec_trace *t, struct trace_conn *c, const struct pec_trace_event *ev, size_t n,
                        struct pec_error *err)
{
    unsigned char hash[TRACE_HASH_LEN];
    struct trace_params p;
    PGresult *res;
    unsigned chain;
    long long seq;
    size_t i;

    if (n == 0)
        return 0;
    if (lock_head(t, c, &chain, &seq, hash, err) < 0)
        return -1;
    for (i = 0; i < n; i++) {
        unsigned char next[TRACE_HASH_LEN];

        if (insert_event(c, chain, ++seq, t->set.node, &ev[i], hash, next, err) < 0 ||
            confirm_queued(c, &ev[i], err) < 0)
            return -1;
        memcpy(hash, next, sizeof(hash));
    }
    tp_init(&p);
    tp_int(&p, chain);
    tp_int(&p, seq);
    tp_bytes(&p, hash, sizeof(hash));
    res = trace_exec(c, SQL_HEAD_SET, &p, 0, err);
    PQclear(res);
    return res ? 0 : -1;
}
