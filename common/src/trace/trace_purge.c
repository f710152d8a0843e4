/* trace_purge.c - retention: drop the monthly event partitions entirely older than the retention.
 *
 * Order matters for the legal record: first the whole log is verified (a purge must not launder a
 * tampered range), then in one transaction, with appends blocked: compute the runs of rows about to go,
 * sign a checkpoint recording them, drop the partitions, delete the expired message state.  A failure
 * anywhere leaves everything as it was.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pec/text.h"
#include "trace_checkpoint.h"

/* partitions whose whole month ends at or before now - months (UTC) */
static const char SQL_EXPIRED[] =
    "SELECT c.relname,"
    " extract(epoch FROM (to_date(substr(c.relname, 8), 'YYYYMM') + interval '1 month') AT TIME ZONE 'UTC')::bigint"
    " FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
    " WHERE i.inhparent = 'events'::regclass AND c.relname ~ '^events_[0-9]{6}$'"
    " AND to_date(substr(c.relname, 8), 'YYYYMM') + interval '1 month'"
    "     <= (to_timestamp($1::bigint) AT TIME ZONE 'UTC') - make_interval(months => $2::int)"
    " ORDER BY c.relname";
static const char SQL_LIMIT[] =
    "SELECT extract(epoch FROM ((to_timestamp($1::bigint) AT TIME ZONE 'UTC')"
    " - make_interval(months => $2::int)) AT TIME ZONE 'UTC')::bigint";
/* appends wait (they take ROW EXCLUSIVE) while reads go on; a second purge waits too */
static const char SQL_BLOCK[] = "LOCK TABLE events IN SHARE ROW EXCLUSIVE MODE";
/* maximal runs of consecutive sequence numbers among the rows before $1, per chain ("islands") */
static const char SQL_RUNS[] =
    "WITH g AS (SELECT chain, seq, seq - row_number() OVER (PARTITION BY chain ORDER BY seq) AS grp"
    "           FROM events WHERE event_time < to_timestamp($1::bigint)),"
    " r AS (SELECT chain, min(seq) AS first, max(seq) AS last FROM g GROUP BY chain, grp)"
    " SELECT r.chain, r.first, r.last, a.prev_hash, b.hash FROM r"
    " JOIN events a ON a.chain = r.chain AND a.seq = r.first AND a.event_time < to_timestamp($1::bigint)"
    " JOIN events b ON b.chain = r.chain AND b.seq = r.last AND b.event_time < to_timestamp($1::bigint)"
    " ORDER BY r.chain, r.first";
static const char SQL_DROP[] = "SELECT pec_events_partition_drop($1)";
static const char SQL_EXPIRE_MESSAGES[] = "DELETE FROM messages WHERE accepted_at < to_timestamp($1::bigint)";
static const char SQL_EXPIRE_DELIVERIES[] = "DELETE FROM deliveries WHERE claimed_at < to_timestamp($1::bigint)";
static const char SQL_EXPIRE_QUARANTINE[] = "DELETE FROM quarantine WHERE detected_at < to_timestamp($1::bigint)";

struct purge_arg {
    struct pec_trace *t;
    const struct pec_signer *signer;
    time_t now;
    unsigned months;
    int dry_run;
    pec_trace_report_fn report;
    void *ctx;
    int dropped;
};

/* say - a report line */
static void say(const struct purge_arg *a, const char *line)
{
    if (a->report != NULL)
        a->report(line, a->ctx);
}

/* exec_time - a statement taking one time parameter; its result (or NULL with err) */
static PGresult *exec_time(struct trace_conn *c, const char *sql, long long t, struct pec_error *err)
{
    struct trace_params p;

    tp_init(&p);
    tp_int(&p, t);
    return trace_exec(c, sql, &p, 0, err);
}

/* purged_runs - the "purged" lines of the checkpoint: every run of rows before hi */
static int purged_runs(struct trace_conn *c, long long hi, struct pec_buf *extra, struct pec_error *err)
{
    struct trace_params p;
    PGresult *res;
    int i;

    tp_init(&p);
    tp_int(&p, hi);
    res = trace_exec(c, SQL_RUNS, &p, 1, err);
    if (res == NULL)
        return -1;
    for (i = 0; i < PQntuples(res); i++) {
        char prev[2 * TRACE_HASH_LEN + 1], hash[2 * TRACE_HASH_LEN + 1];

        if (PQgetlength(res, i, 3) != TRACE_HASH_LEN || PQgetlength(res, i, 4) != TRACE_HASH_LEN) {
            PQclear(res);
            pec_error_set(err, PEC_ERR_INTERNAL, "purge: malformed hash in the rows to drop");
            return -1;
        }
        pec_hex(PQgetvalue(res, i, 3), TRACE_HASH_LEN, prev);
        pec_hex(PQgetvalue(res, i, 4), TRACE_HASH_LEN, hash);
        pec_buf_printf(extra, "purged %lld %lld %lld %s %s\n", trace_get_int(res, i, 0), trace_get_int(res, i, 1),
                       trace_get_int(res, i, 2), prev, hash);
    }
    PQclear(res);
    return 0;
}

/* purge_body - checkpoint, drop, expire; the number of partitions dropped */
static int purge_body(struct trace_conn *c, void *arg, struct pec_error *err)
{
    struct purge_arg *a = arg;
    struct pec_buf extra = PEC_BUF_INIT;
    struct trace_params p;
    PGresult *parts = NULL, *res;
    long long hi = 0, limit;
    char line[256];
    int i, n, r = -1;

    if (!a->dry_run && (trace_exec_simple(c, "SET LOCAL statement_timeout = 0", err) < 0 ||
                        trace_exec_simple(c, SQL_BLOCK, err) < 0))
        return -1;
    tp_init(&p);
    tp_int(&p, (long long)a->now);
    tp_int(&p, a->months);
    res = trace_exec(c, SQL_LIMIT, &p, 0, err);
    if (res == NULL)
        return -1;
    limit = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    parts = trace_exec(c, SQL_EXPIRED, &p, 0, err);
    if (parts == NULL)
        return -1;
    n = PQntuples(parts);
    a->dropped = n;
    for (i = 0; i < n; i++) {
        long long h = strtoll(PQgetvalue(parts, i, 1), NULL, 10);

        hi = h > hi ? h : hi;
        pec_buf_printf(&extra, "partition %s\n", PQgetvalue(parts, i, 0));
        snprintf(line, sizeof(line), "%s %s", a->dry_run ? "would drop" : "dropping", PQgetvalue(parts, i, 0));
        say(a, line);
    }
    if (n == 0)
        say(a, "no partition is older than the retention period");
    if (a->dry_run || n == 0) {
        r = n;
        goto done;
    }
    if (purged_runs(c, hi, &extra, err) < 0 ||
        trace_ckpt_write(c, pec_trace_node(a->t), a->signer, a->now, "purge", &extra, NULL, err) < 0)
        goto done;
    for (i = 0; i < n; i++) {
        tp_init(&p);
        tp_text(&p, PQgetvalue(parts, i, 0));
        res = trace_exec(c, SQL_DROP, &p, 0, err);
        if (res == NULL)
            goto done;
        PQclear(res);
    }
    /* the message state of the same age goes too: it is not the log, and 30 months is the limit */
    if ((res = exec_time(c, SQL_EXPIRE_MESSAGES, limit, err)) == NULL)
        goto done;
    PQclear(res);
    if ((res = exec_time(c, SQL_EXPIRE_DELIVERIES, limit, err)) == NULL)
        goto done;
    PQclear(res);
    if ((res = exec_time(c, SQL_EXPIRE_QUARANTINE, limit, err)) == NULL)
        goto done;
    PQclear(res);
    r = n;
done:
    PQclear(parts);
    pec_buf_release(&extra);
    return r;
}

/* report_problem - pass the pre-purge verification's findings on */
static void report_problem(const char *line, void *ctx)
{
    const struct purge_arg *a = ctx;
    char buf[1100];

    snprintf(buf, sizeof(buf), "verify: %s", line);
    say(a, buf);
}

/* pec_trace_purge - verify, checkpoint, drop the expired partitions */
int pec_trace_purge(struct pec_trace *t, const struct pec_signer *signer, time_t now, unsigned months,
                    int dry_run, pec_trace_report_fn report, void *ctx, struct pec_error *err)
{
    struct purge_arg a = { t, signer, now, months ? months : PEC_TRACE_RETENTION_MONTHS, dry_run, report, ctx, 0 };
    struct pec_trace_verify_options vo;
    int problems, r;

    if (signer == NULL && !dry_run) {
        pec_error_set(err, PEC_ERR_INVALID, "purge needs the provider key to sign its checkpoint");
        return -1;
    }
    /* integrity of every checkpoint, whoever signed it: the provider key may have been renewed */
    memset(&vo, 0, sizeof(vo));
    problems = pec_trace_verify(t, &vo, report_problem, &a, err);
    if (problems < 0)
        return -1;
    if (problems > 0) {
        pec_error_set(err, PEC_ERR_PERMANENT, "the trace failed verification (%d problems): nothing purged",
                      problems);
        return -1;
    }
    r = trace_run(t, NULL, 0, purge_body, &a, err);
    if (r > 0 && !dry_run)
        trace_forget_partitions(t);
    return r;
}
