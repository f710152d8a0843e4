/* trace_tx.c - one operation = one transaction on one pooled connection, retried when that is safe.
 *
 * A retry is safe when the transaction cannot have committed: the failure came before COMMIT was sent,
 * or COMMIT itself was refused by a live server.  Causes worth a retry: a pooled connection found dead
 * (the server restarted since it was opened), a deadlock or serialisation failure, an event partition
 * that a purge dropped after we cached its existence.
 */
#include <string.h>
#include <time.h>
#include "pec/log.h"
#include "trace_internal.h"

#define TRACE_ATTEMPTS 3

/* month_of - year * 12 + month - 1 of a UTC instant: the partition it belongs to */
static int month_of(time_t t)
{
    struct tm tm;

    gmtime_r(&t, &tm);
    return (tm.tm_year + 1900) * 12 + tm.tm_mon;
}

/* month_known - 1 when the partition of month m is known to exist */
static int month_known(struct pec_trace *t, int m)
{
    size_t i;
    int found = 0;

    pthread_mutex_lock(&t->mu);
    for (i = 0; i < t->n_months && !found; i++)
        found = t->months[i] == m;
    pthread_mutex_unlock(&t->mu);
    return found;
}

/* month_remember - note that month m exists (the oldest note goes when full) */
static void month_remember(struct pec_trace *t, int m)
{
    pthread_mutex_lock(&t->mu);
    if (t->n_months == TRACE_MAX_MONTHS) {
        memmove(t->months, t->months + 1, (TRACE_MAX_MONTHS - 1) * sizeof(t->months[0]));
        t->n_months--;
    }
    t->months[t->n_months++] = m;
    pthread_mutex_unlock(&t->mu);
}

/* trace_forget_partitions - drop the partition notes (a purge may have removed some) */
void trace_forget_partitions(struct pec_trace *t)
{
    pthread_mutex_lock(&t->mu);
    t->n_months = 0;
    pthread_mutex_unlock(&t->mu);
}

/* ensure_partitions - create missing partitions, each in its own autocommit statement: creating one
 * locks the whole events table, which must never happen while we hold a chain head */
static int ensure_partitions(struct pec_trace *t, struct trace_conn *c, const struct pec_trace_event *ev,
                             size_t n, struct pec_error *err)
{
    static const char sql[] = "SELECT pec_events_partition_ensure(to_timestamp($1::bigint))";
    size_t i;

    for (i = 0; i < n; i++) {
        struct trace_params p;
        PGresult *res;
        int m = month_of(ev[i].time);

        if (month_known(t, m))
            continue;
        tp_init(&p);
        tp_int(&p, (long long)ev[i].time);
        res = trace_exec(c, sql, &p, 0, err);
        if (res == NULL)
            return -1;
        PQclear(res);
        month_remember(t, m);
    }
    return 0;
}

/* retryable - whether a failed attempt may run again */
static int retryable(struct pec_trace *t, const struct trace_conn *c, int committing)
{
    if (c->broken)
        return !committing; /* a lost COMMIT may have committed: never replay it */
    if (strcmp(c->sqlstate, "40P01") == 0 || strcmp(c->sqlstate, "40001") == 0)
        return 1;
    if (strcmp(c->sqlstate, "23514") == 0 && !committing) { /* no partition for the row */
        trace_forget_partitions(t);
        return 1;
    }
    return 0;
}

/* trace_run - BEGIN, body, COMMIT, retried when safe */
int trace_run(struct pec_trace *t, const struct pec_trace_event *ev, size_t n_ev, trace_tx_body body, void *arg,
              struct pec_error *err)
{
    struct pec_error e = { PEC_ERR_NONE, "" };
    int attempt;

    for (attempt = 1;; attempt++) {
        struct trace_conn *c = NULL;
        int r = -1, committing = 0, again;

        if (trace_conn_acquire(t, &c, &e) < 0)
            break;
        if ((n_ev == 0 || trace_chains_init(t, c, &e) == 0) && ensure_partitions(t, c, ev, n_ev, &e) == 0 &&
            trace_exec_simple(c, "BEGIN", &e) == 0) {
            r = body(c, arg, &e);
            if (r >= 0) {
                committing = 1;
                if (trace_exec_simple(c, "COMMIT", &e) == 0) {
                    trace_conn_release(t, &c);
                    return r;
                }
            }
        }
        again = attempt < TRACE_ATTEMPTS && retryable(t, c, committing);
        if (!c->broken && PQtransactionStatus(c->pg) != PQTRANS_IDLE) {
            PGresult *res = PQexec(c->pg, "ROLLBACK");

            PQclear(res);
        }
        trace_conn_release(t, &c);
        if (!again)
            break;
    }
    if (err != NULL)
        *err = e;
    return -1;
}
