/* trace_verify.c - recompute the hash chains and check the signed checkpoints.
 *
 * One read-only snapshot (REPEATABLE READ) of checkpoints, chain heads and events; the events are
 * streamed in chain and sequence order, one row at a time, so memory does not grow with the log.
 * What each finding means:
 *   modified   - the stored hash does not match the row's content (a field was changed)
 *   missing    - a gap in the sequence numbers not covered by a signed purge record (rows deleted)
 *   duplicate  - two rows with one sequence number (a row inserted)
 *   link       - a row's prev_hash is not the previous row's hash (a row inserted, or rewritten with
 *                its hash recomputed)
 *   head       - the chain head disagrees with the last row (rows deleted or appended at the end)
 *   checkpoint - a bad signature, or a signed head that the rows no longer match
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "trace_checkpoint.h"

static const char SQL_CHECKPOINTS[] =
    "SELECT id, created_at, reason, content, signature FROM checkpoints ORDER BY id";
static const char SQL_HEADS[] = "SELECT chain, seq, hash FROM chain_heads ORDER BY chain";
static const char SQL_ROW_HASH[] = "SELECT hash FROM events WHERE chain = $1 AND seq = $2";
#define EVENT_COLUMNS                                                                                         \
    "e.chain, e.seq, e.event_time, e.node, e.type, e.identificativo, e.message_id, e.queue_id, e.sender,"    \
    " e.recipients, e.recipient_types, e.subject, e.gestore, e.receipt_type, e.errore, e.errore_esteso,"     \
    " e.virus, e.prev_hash, e.hash"
static const char SQL_EVENTS_ALL[] = "SELECT " EVENT_COLUMNS " FROM events e ORDER BY e.chain, e.seq, e.event_time";
/* from a date: each chain from its first row at or after the date, in sequence order */
static const char SQL_EVENTS_FROM[] =
    "WITH s AS (SELECT chain, min(seq) AS m FROM events WHERE event_time >= to_timestamp($1::bigint)"
    " GROUP BY chain)"
    " SELECT " EVENT_COLUMNS " FROM events e JOIN s ON s.chain = e.chain WHERE e.seq >= s.m"
    " ORDER BY e.chain, e.seq, e.event_time";

static const unsigned char ZERO[TRACE_HASH_LEN];

struct head {
    unsigned chain;
    long long seq;
    unsigned char hash[TRACE_HASH_LEN];
    int seen;
};

struct vstate {
    const struct pec_trace_verify_options *o;
    pec_trace_report_fn report;
    void *ctx;
    int problems;
    struct trace_ckpt *ckpts;     /* valid checkpoints */
    long long *ckpt_ids;
    size_t n_ckpts;
    struct trace_ckpt_run *runs;  /* purged runs of the valid checkpoints, by chain and first */
    size_t n_runs;
    struct head *heads;
    size_t n_heads;
    /* the chain being streamed */
    int in_chain;
    unsigned chain;
    long long last_seq, rows, chains;
    unsigned char last_hash[TRACE_HASH_LEN];
    char last_desc[300];
};

static void say(struct vstate *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* say - a report line */
static void say(struct vstate *v, const char *fmt, ...)
{
    char line[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (v->report)
        v->report(line, v->ctx);
}

/* utc - "2026-11-23 01:02:03Z" */
static void utc(time_t t, char out[32])
{
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%d %H:%M:%SZ", &tm);
}

/* ---- checkpoints ---- */

/* check_checkpoint - signature, signer and content of one stored checkpoint; parsed into ck when good */
static int check_checkpoint(struct vstate *v, const PGresult *res, int i, struct trace_ckpt *ck)
{
    long long id = trace_get_int(res, i, 0);
    time_t created = trace_get_time(res, i, 1);
    struct pec_buf content = PEC_BUF_INIT;
    struct pec_sig_info info;
    struct pec_error e = { PEC_ERR_NONE, "" };
    char when[32];
    int ok = 0;

    memset(&info, 0, sizeof(info));
    utc(created, when);
    if (pec_smime_verify_embedded(v->o->trust, PQgetvalue(res, i, 4), (size_t)PQgetlength(res, i, 4), created,
                                  &content, &info, &e) < 0) {
        say(v, "checkpoint %lld (%s): cannot check the signature: %s", id, when, e.msg);
    } else if (info.status != PEC_SIG_VALID) {
        say(v, "checkpoint %lld (%s): signature invalid: %s", id, when, info.reason);
    } else if (v->o->trust != NULL && !info.trusted) {
        say(v, "checkpoint %lld (%s): signer not trusted: %s", id, when, info.reason);
    } else if (v->o->cert_der != NULL) {
        char want[41];

        pec_sha1_hex(v->o->cert_der, v->o->cert_len, want);
        ok = strcmp(want, info.signer_sha1) == 0;
        if (!ok)
            say(v, "checkpoint %lld (%s): signed by %s, not by the provider certificate", id, when,
                info.signer_subject);
    } else {
        ok = 1;
    }
    if (ok && (content.len != (size_t)PQgetlength(res, i, 3) ||
               memcmp(content.data, PQgetvalue(res, i, 3), content.len) != 0)) {
        say(v, "checkpoint %lld (%s): stored text differs from the signed one", id, when);
        ok = 0;
    }
    if (ok && trace_ckpt_parse(content.data, content.len, ck, &e) < 0) {
        say(v, "checkpoint %lld (%s): %s", id, when, e.msg);
        ok = 0;
    }
    pec_sig_info_clear(&info);
    pec_buf_release(&content);
    if (!ok)
        v->problems++;
    return ok;
}

/* run_cmp - order of purged runs */
static int run_cmp(const void *a, const void *b)
{
    const struct trace_ckpt_run *x = a, *y = b;

    if (x->chain != y->chain)
        return x->chain < y->chain ? -1 : 1;
    return x->first < y->first ? -1 : x->first > y->first;
}

/* load_checkpoints - check every checkpoint, keep the good ones and their purged runs */
static int load_checkpoints(struct vstate *v, struct trace_conn *c, struct pec_error *err)
{
    PGresult *res = trace_exec(c, SQL_CHECKPOINTS, NULL, 1, err);
    int i, n;

    if (res == NULL)
        return -1;
    n = PQntuples(res);
    v->ckpts = trace_xcalloc((size_t)n + 1, sizeof(*v->ckpts));
    v->ckpt_ids = trace_xcalloc((size_t)n + 1, sizeof(*v->ckpt_ids));
    for (i = 0; i < n; i++) {
        struct trace_ckpt *ck = &v->ckpts[v->n_ckpts];
        size_t k;

        if (!check_checkpoint(v, res, i, ck))
            continue;
        v->ckpt_ids[v->n_ckpts++] = trace_get_int(res, i, 0);
        if (ck->n_runs == 0)
            continue;
        v->runs = realloc(v->runs, (v->n_runs + ck->n_runs) * sizeof(*v->runs));
        if (v->runs == NULL)
            pec_panic("out of memory");
        for (k = 0; k < ck->n_runs; k++)
            v->runs[v->n_runs++] = ck->runs[k];
    }
    PQclear(res);
    if (v->n_runs > 1)
        qsort(v->runs, v->n_runs, sizeof(*v->runs), run_cmp);
    return 0;
}

/* load_heads - the chain heads */
static int load_heads(struct vstate *v, struct trace_conn *c, struct pec_error *err)
{
    PGresult *res = trace_exec(c, SQL_HEADS, NULL, 1, err);
    int i, n;

    if (res == NULL)
        return -1;
    n = PQntuples(res);
    v->heads = trace_xcalloc((size_t)n + 1, sizeof(*v->heads));
    for (i = 0; i < n; i++) {
        struct head *h = &v->heads[v->n_heads++];

        h->chain = (unsigned)trace_get_int(res, i, 0);
        h->seq = trace_get_int(res, i, 1);
        if (PQgetlength(res, i, 2) == TRACE_HASH_LEN)
            memcpy(h->hash, PQgetvalue(res, i, 2), TRACE_HASH_LEN);
        else
            say(v, "chain %u: head has a malformed hash", h->chain), v->problems++;
    }
    PQclear(res);
    return 0;
}

/* find_head - the head of a chain, or NULL */
static struct head *find_head(struct vstate *v, unsigned chain)
{
    size_t i;

    for (i = 0; i < v->n_heads; i++)
        if (v->heads[i].chain == chain)
            return &v->heads[i];
    return NULL;
}

/* find_run - the purged run of chain starting at seq first, or NULL */
static const struct trace_ckpt_run *find_run(const struct vstate *v, unsigned chain, long long first)
{
    size_t lo = 0, hi = v->n_runs;
    struct trace_ckpt_run key;

    key.chain = chain;
    key.first = first;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = run_cmp(&v->runs[mid], &key);

        if (c == 0)
            return &v->runs[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* covering_run - the purged run of chain containing seq, or NULL */
static const struct trace_ckpt_run *covering_run(const struct vstate *v, unsigned chain, long long seq)
{
    size_t i;

    for (i = 0; i < v->n_runs; i++)
        if (v->runs[i].chain == chain && v->runs[i].first <= seq && seq <= v->runs[i].last)
            return &v->runs[i];
    return NULL;
}

/* check_gap - rows first..last of chain are absent: fine only when signed purge records cover them
 * exactly and link before (hash of the row before) to after (prev_hash of the row after, or the head) */
static void check_gap(struct vstate *v, unsigned chain, long long first, long long last,
                      const unsigned char *before, const unsigned char *after, const char *where)
{
    const unsigned char *expect = before;
    long long pos = first;

    while (pos <= last) {
        const struct trace_ckpt_run *r = find_run(v, chain, pos);

        if (r == NULL || r->last > last) {
            if (pos == first)
                say(v, "chain %u: seq %lld..%lld missing (rows deleted) %s", chain, first, last, where);
            else
                say(v, "chain %u: seq %lld..%lld missing (rows deleted; %lld..%lld were purged) %s", chain, pos,
                    last, first, pos - 1, where);
            v->problems++;
            return;
        }
        if (memcmp(r->prev, expect, TRACE_HASH_LEN) != 0) {
            say(v, "chain %u: purged seq %lld..%lld does not link to the row before it %s", chain, r->first,
                r->last, where);
            v->problems++;
            return;
        }
        expect = r->hash;
        pos = r->last + 1;
    }
    if (memcmp(expect, after, TRACE_HASH_LEN) != 0) {
        say(v, "chain %u: the row after purged seq %lld..%lld does not link to it %s", chain, first, last, where);
        v->problems++;
    }
}

/* finish_chain - the end of a streamed chain against its head */
static void finish_chain(struct vstate *v)
{
    struct head *h;

    if (!v->in_chain)
        return;
    v->in_chain = 0;
    h = find_head(v, v->chain);
    if (h == NULL) {
        say(v, "chain %u: rows up to seq %lld but no chain head (rows inserted)", v->chain, v->last_seq);
        v->problems++;
        return;
    }
    h->seen = 1;
    if (h->seq > v->last_seq) {
        char where[360];

        snprintf(where, sizeof(where), "at the end of the chain, after %s", v->last_desc);
        check_gap(v, v->chain, v->last_seq + 1, h->seq, v->last_hash, h->hash, where);
    } else if (h->seq < v->last_seq) {
        say(v, "chain %u: seq %lld..%lld lie beyond the chain head (rows inserted)", v->chain, h->seq + 1,
            v->last_seq);
        v->problems++;
    } else if (memcmp(h->hash, v->last_hash, TRACE_HASH_LEN) != 0) {
        say(v, "chain %u: the chain head does not match seq %lld %s", v->chain, v->last_seq, v->last_desc);
        v->problems++;
    }
}

/* describe - "[time type id=...]" naming a row in reports */
static void describe(const struct trace_flat *f, char *out, size_t outlen)
{
    char when[32];

    utc((time_t)(f->time_us / 1000000), when);
    snprintf(out, outlen, "[%s %s id=%s]", when, f->type ? f->type : "?",
             f->identificativo ? f->identificativo : "-");
}

/* check_row - one streamed row: its own hash, then its place in the chain */
static void check_row(struct vstate *v, const PGresult *res)
{
    struct trace_flat f;
    const char **addrs, **kinds;
    size_t n_addrs, n_kinds;
    unsigned char prev[TRACE_HASH_LEN], hash[TRACE_HASH_LEN], calc[TRACE_HASH_LEN];
    char desc[256];
    int malformed = 0;

    memset(&f, 0, sizeof(f));
    f.chain = (unsigned)trace_get_int(res, 0, 0);
    f.seq = trace_get_int(res, 0, 1);
    f.time_us = trace_get_time_us(res, 0, 2);
    f.node = (unsigned)trace_get_int(res, 0, 3);
    f.type = trace_get_str(res, 0, 4);
    f.identificativo = trace_get_str(res, 0, 5);
    f.message_id = trace_get_str(res, 0, 6);
    f.queue_id = trace_get_str(res, 0, 7);
    f.sender = trace_get_str(res, 0, 8);
    addrs = trace_get_text_array(res, 0, 9, &n_addrs);
    kinds = trace_get_text_array(res, 0, 10, &n_kinds);
    malformed = addrs == NULL || kinds == NULL || n_addrs != n_kinds || PQgetlength(res, 0, 17) != TRACE_HASH_LEN ||
                PQgetlength(res, 0, 18) != TRACE_HASH_LEN;
    f.n_rcpts = n_addrs;
    f.rcpts = addrs;
    f.rcpt_types = kinds;
    f.subject = trace_get_str(res, 0, 11);
    f.subject_len = (size_t)PQgetlength(res, 0, 11);
    f.gestore = trace_get_str(res, 0, 12);
    f.receipt_type = trace_get_str(res, 0, 13);
    f.errore = trace_get_str(res, 0, 14);
    f.errore_esteso = trace_get_str(res, 0, 15);
    f.errore_esteso_len = (size_t)PQgetlength(res, 0, 15);
    f.virus = trace_get_str(res, 0, 16);
    describe(&f, desc, sizeof(desc));
    memset(prev, 0, sizeof(prev));
    memset(hash, 0xff, sizeof(hash));
    if (PQgetlength(res, 0, 17) == TRACE_HASH_LEN)
        memcpy(prev, PQgetvalue(res, 0, 17), TRACE_HASH_LEN);
    if (PQgetlength(res, 0, 18) == TRACE_HASH_LEN)
        memcpy(hash, PQgetvalue(res, 0, 18), TRACE_HASH_LEN);

    if (malformed) {
        say(v, "chain %u seq %lld %s: modified (malformed hash or recipient columns)", f.chain, f.seq, desc);
        v->problems++;
    } else {
        trace_row_hash(prev, &f, calc);
        if (memcmp(calc, hash, TRACE_HASH_LEN) != 0) {
            say(v, "chain %u seq %lld %s: modified (content does not match its hash)", f.chain, f.seq, desc);
            v->problems++;
        }
    }
    free(addrs);
    free(kinds);

    if (!v->in_chain || f.chain != v->chain) {
        finish_chain(v);
        v->in_chain = 1;
        v->chain = f.chain;
        v->chains++;
        if (v->o->from == 0 && f.seq > 1) {
            char where[340];

            snprintf(where, sizeof(where), "at the start of the chain, before seq %lld %s", f.seq, desc);
            check_gap(v, f.chain, 1, f.seq - 1, ZERO, prev, where);
        } else if (v->o->from == 0 && memcmp(prev, ZERO, TRACE_HASH_LEN) != 0) {
            say(v, "chain %u seq %lld %s: first row does not start the chain", f.chain, f.seq, desc);
            v->problems++;
        }
    } else if (f.seq == v->last_seq) {
        say(v, "chain %u seq %lld %s: duplicate sequence number (row inserted)", f.chain, f.seq, desc);
        v->problems++;
    } else if (f.seq > v->last_seq + 1) {
        char where[640];

        snprintf(where, sizeof(where), "between %s and seq %lld %s", v->last_desc, f.seq, desc);
        check_gap(v, f.chain, v->last_seq + 1, f.seq - 1, v->last_hash, prev, where);
    } else if (memcmp(prev, v->last_hash, TRACE_HASH_LEN) != 0) {
        say(v, "chain %u seq %lld %s: does not link to seq %lld (row inserted, or seq %lld rewritten)", f.chain,
            f.seq, desc, v->last_seq, v->last_seq);
        v->problems++;
    }
    v->last_seq = f.seq;
    memcpy(v->last_hash, hash, TRACE_HASH_LEN);
    snprintf(v->last_desc, sizeof(v->last_desc), "seq %lld %s", f.seq, desc);
    v->rows++;
}

/* stream_events - every row in chain order, one at a time */
static int stream_events(struct vstate *v, struct trace_conn *c, struct pec_error *err)
{
    char from[24];
    const char *values[1] = { from };
    PGresult *res;
    int failed = 0;

    snprintf(from, sizeof(from), "%lld", (long long)v->o->from);
    if (!PQsendQueryParams(c->pg, v->o->from ? SQL_EVENTS_FROM : SQL_EVENTS_ALL, v->o->from ? 1 : 0, NULL,
                           values, NULL, NULL, 1) ||
        !PQsetSingleRowMode(c->pg)) {
        c->broken = 1;
        pec_error_set(err, PEC_ERR_TEMPORARY, "trace store: reading the events: %s", PQerrorMessage(c->pg));
        return -1;
    }
    while ((res = PQgetResult(c->pg)) != NULL) {
        ExecStatusType st = PQresultStatus(res);

        if (st == PGRES_SINGLE_TUPLE && !failed)
            check_row(v, res);
        else if (st != PGRES_TUPLES_OK && st != PGRES_SINGLE_TUPLE && !failed) {
            const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

            if (PQstatus(c->pg) != CONNECTION_OK)
                c->broken = 1;
            pec_error_set(err, PQstatus(c->pg) != CONNECTION_OK ? PEC_ERR_TEMPORARY : PEC_ERR_INTERNAL,
                          "trace store: reading the events: %s", msg ? msg : PQerrorMessage(c->pg));
            failed = 1;
        }
        PQclear(res);
    }
    if (failed)
        return -1;
    finish_chain(v);
    return 0;
}

/* unseen_heads - chains with a head but no row left: all purged (signed) or all deleted */
static void unseen_heads(struct vstate *v)
{
    size_t i;

    if (v->o->from != 0)
        return; /* rows before the date were not read */
    for (i = 0; i < v->n_heads; i++) {
        struct head *h = &v->heads[i];

        if (!h->seen && h->seq > 0)
            check_gap(v, h->chain, 1, h->seq, ZERO, h->hash, "(no row of the chain is left)");
    }
}

/* check_signed_heads - each signed head still matches its row, or lies in a signed purged run */
static int check_signed_heads(struct vstate *v, struct trace_conn *c, struct pec_error *err)
{
    size_t i, k;

    for (i = 0; i < v->n_ckpts; i++) {
        const struct trace_ckpt *ck = &v->ckpts[i];
        char when[32];

        if (v->o->from != 0 && ck->created < v->o->from)
            continue;
        utc(ck->created, when);
        for (k = 0; k < ck->n_heads; k++) {
            const struct trace_ckpt_head *h = &ck->heads[k];
            const struct trace_ckpt_run *r;
            struct trace_params p;
            PGresult *res;
            int j, n, match = 0;

            if (h->seq == 0)
                continue;
            tp_init(&p);
            tp_int(&p, h->chain);
            tp_int(&p, h->seq);
            res = trace_exec(c, SQL_ROW_HASH, &p, 1, err);
            if (res == NULL)
                return -1;
            n = PQntuples(res);
            for (j = 0; j < n; j++)
                match |= PQgetlength(res, j, 0) == TRACE_HASH_LEN &&
                         memcmp(PQgetvalue(res, j, 0), h->hash, TRACE_HASH_LEN) == 0;
            PQclear(res);
            if (match)
                continue;
            if (n > 0) {
                say(v, "checkpoint %lld (%s): chain %u seq %lld no longer has the signed hash (row rewritten)",
                    v->ckpt_ids[i], when, h->chain, h->seq);
                v->problems++;
                continue;
            }
            r = covering_run(v, h->chain, h->seq);
            if (r == NULL) {
                say(v, "checkpoint %lld (%s): chain %u seq %lld is missing (rows deleted)", v->ckpt_ids[i], when,
                    h->chain, h->seq);
                v->problems++;
            } else if (r->last == h->seq && memcmp(r->hash, h->hash, TRACE_HASH_LEN) != 0) {
                say(v, "checkpoint %lld (%s): chain %u seq %lld was purged with a different hash",
                    v->ckpt_ids[i], when, h->chain, h->seq);
                v->problems++;
            }
        }
    }
    return 0;
}

static void vstate_clear(struct vstate *v);

/* verify_body - the whole check in one snapshot (from scratch when retried) */
static int verify_body(struct trace_conn *c, void *arg, struct pec_error *err)
{
    struct vstate *v = arg;
    const struct pec_trace_verify_options *o = v->o;
    pec_trace_report_fn report = v->report;
    void *ctx = v->ctx;

    vstate_clear(v);
    memset(v, 0, sizeof(*v));
    v->o = o;
    v->report = report;
    v->ctx = ctx;

    if (trace_exec_simple(c, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", err) < 0 ||
        trace_exec_simple(c, "SET LOCAL statement_timeout = 0", err) < 0)
        return -1;
    if (load_checkpoints(v, c, err) < 0 || load_heads(v, c, err) < 0 || stream_events(v, c, err) < 0)
        return -1;
    unseen_heads(v);
    return check_signed_heads(v, c, err);
}

/* vstate_clear - free what the check collected */
static void vstate_clear(struct vstate *v)
{
    size_t i;

    for (i = 0; i < v->n_ckpts; i++)
        trace_ckpt_clear(&v->ckpts[i]);
    free(v->ckpts);
    free(v->ckpt_ids);
    free(v->runs);
    free(v->heads);
}

/* pec_trace_verify - recompute the chains and check the checkpoints; the number of problems */
int pec_trace_verify(struct pec_trace *t, const struct pec_trace_verify_options *o, pec_trace_report_fn report,
                     void *ctx, struct pec_error *err)
{
    static const struct pec_trace_verify_options none;
    struct vstate v;
    int r;

    memset(&v, 0, sizeof(v));
    v.o = o ? o : &none;
    v.report = report;
    v.ctx = ctx;
    r = trace_run(t, NULL, 0, verify_body, &v, err);
    if (r == 0)
        say(&v, "checked %lld rows in %lld chains and %zu valid checkpoints: %s", v.rows, v.chains, v.n_ckpts,
            v.problems ? "PROBLEMS FOUND" : "intact");
    vstate_clear(&v);
    return r < 0 ? -1 : v.problems;
}
