/* trace_checkpoint.c - signed checkpoints of the hash chains.
 *
 * A checkpoint is a short text, signed with the provider key as a CMS SignedData that embeds it:
 *
 *   pec-trace-checkpoint 1
 *   created <unix time>
 *   reason <daily|manual|purge>
 *   node <node that wrote it>
 *   head <chain> <seq> <sha256 hex>               one per chain: its last row
 *   purged <chain> <first> <last> <prev hex> <last hex>   (purge only) a dropped run of rows: the
 *                                                 prev_hash of its first row, the hash of its last
 *   partition <name>                              (purge only) a dropped partition
 *
 * The heads let verification notice rows deleted or rewritten after the checkpoint even when the
 * chain_heads table was rewritten to match; the purged runs let it bridge the gaps a purge leaves.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pec/text.h"
#include "trace_checkpoint.h"

static const char SQL_HEADS[] = "SELECT chain, seq, hash FROM chain_heads ORDER BY chain";
static const char SQL_INSERT[] =
    "INSERT INTO checkpoints (created_at, reason, node, content, signature)"
    " VALUES (to_timestamp($1::bigint), $2, $3, $4::bytea, $5::bytea) RETURNING id";

#define CKPT_MAGIC "pec-trace-checkpoint 1\n"

/* trace_ckpt_write - read the heads, sign them (plus extra lines) and store the checkpoint */
int trace_ckpt_write(struct trace_conn *c, unsigned node, const struct pec_signer *signer, time_t now,
                     const char *reason, const struct pec_buf *extra, long long *id_r, struct pec_error *err)
{
    struct pec_buf content = PEC_BUF_INIT, sig = PEC_BUF_INIT;
    struct trace_params p;
    PGresult *res;
    int i, r = -1;

    res = trace_exec(c, SQL_HEADS, NULL, 1, err);
    if (res == NULL)
        return -1;
    pec_buf_puts(&content, CKPT_MAGIC);
    pec_buf_printf(&content, "created %lld\nreason %s\nnode %u\n", (long long)now, reason, node);
    for (i = 0; i < PQntuples(res); i++) {
        char hex[2 * TRACE_HASH_LEN + 1];

        if (PQgetlength(res, i, 2) != TRACE_HASH_LEN)
            continue; /* verification reports a malformed head */
        pec_hex(PQgetvalue(res, i, 2), TRACE_HASH_LEN, hex);
        pec_buf_printf(&content, "head %lld %lld %s\n", trace_get_int(res, i, 0), trace_get_int(res, i, 1), hex);
    }
    PQclear(res);
    if (extra != NULL && extra->len > 0)
        pec_buf_append(&content, extra->data, extra->len);
    if (pec_smime_sign_embedded(signer, PEC_DIGEST_SHA256, now, content.data, content.len, &sig, err) < 0)
        goto done;
    tp_init(&p);
    tp_int(&p, (long long)now);
    tp_text(&p, reason);
    tp_int(&p, node);
    tp_bytes(&p, content.data, content.len);
    tp_bytes(&p, sig.data, sig.len);
    res = trace_exec(c, SQL_INSERT, &p, 0, err);
    if (res == NULL)
        goto done;
    if (id_r != NULL)
        *id_r = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    r = 0;
done:
    pec_buf_release(&content);
    pec_buf_release(&sig);
    return r;
}

struct checkpoint_arg {
    unsigned node;
    const struct pec_signer *signer;
    time_t now;
    const char *reason;
    long long id;
};

/* checkpoint_body - one checkpoint in its own transaction */
static int checkpoint_body(struct trace_conn *c, void *arg, struct pec_error *err)
{
    struct checkpoint_arg *a = arg;

    return trace_ckpt_write(c, a->node, a->signer, a->now, a->reason, NULL, &a->id, err);
}

/* pec_trace_checkpoint - sign and store the current chain heads */
int pec_trace_checkpoint(struct pec_trace *t, const struct pec_signer *signer, time_t now, const char *reason,
                         long long *id_r, struct pec_error *err)
{
    struct checkpoint_arg a = { pec_trace_node(t), signer, now, reason ? reason : "manual", 0 };
    size_t i;

    for (i = 0; a.reason[i]; i++)
        if (!(a.reason[i] >= 'a' && a.reason[i] <= 'z') && a.reason[i] != '-') {
            pec_error_set(err, PEC_ERR_INVALID, "checkpoint reason must be a lower-case word");
            return -1;
        }
    if (trace_run(t, NULL, 0, checkpoint_body, &a, err) < 0)
        return -1;
    if (id_r != NULL)
        *id_r = a.id;
    return 0;
}

/* ---- parsing ---- */

/* grow - room for one more element */
static void *grow(void *arr, size_t n, size_t size)
{
    if ((n & (n - 1)) == 0) { /* at 0, 1, 2, 4, ...: double */
        arr = realloc(arr, (n ? 2 * n : 1) * size);
        if (arr == NULL)
            pec_panic("out of memory");
    }
    return arr;
}

/* trace_ckpt_parse - read a checkpoint text; -1 with err on anything unexpected */
int trace_ckpt_parse(const char *text, size_t len, struct trace_ckpt *out, struct pec_error *err)
{
    const char *p = text, *end = text + len;
    size_t lineno = 0;

    memset(out, 0, sizeof(*out));
    if (len < sizeof(CKPT_MAGIC) - 1 || memcmp(text, CKPT_MAGIC, sizeof(CKPT_MAGIC) - 1) != 0) {
        pec_error_set(err, PEC_ERR_INVALID, "not a checkpoint (version 1)");
        return -1;
    }
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        char line[512], hx1[80], hx2[80];
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        long long a, b, d;

        lineno++;
        if (n >= sizeof(line)) {
            pec_error_set(err, PEC_ERR_INVALID, "checkpoint line %zu too long", lineno);
            goto bad;
        }
        memcpy(line, p, n);
        line[n] = '\0';
        p += n + (nl != NULL);
        if (lineno == 1)
            continue;
        if (sscanf(line, "created %lld", &a) == 1) {
            out->created = (time_t)a;
        } else if (sscanf(line, "reason %31s", out->reason) == 1 || sscanf(line, "node %lld", &a) == 1 ||
                   strncmp(line, "partition ", 10) == 0) {
            continue;
        } else if (sscanf(line, "head %lld %lld %79s", &a, &b, hx1) == 3 && strlen(hx1) == 64) {
            struct trace_ckpt_head *h;

            out->heads = grow(out->heads, out->n_heads, sizeof(*out->heads));
            h = &out->heads[out->n_heads++];
            h->chain = (unsigned)a;
            h->seq = b;
            if (pec_unhex(hx1, h->hash, TRACE_HASH_LEN) < 0)
                goto syntax;
        } else if (sscanf(line, "purged %lld %lld %lld %79s %79s", &a, &b, &d, hx1, hx2) == 5 &&
                   strlen(hx1) == 64 && strlen(hx2) == 64 && b >= 1 && d >= b) {
            struct trace_ckpt_run *r;

            out->runs = grow(out->runs, out->n_runs, sizeof(*out->runs));
            r = &out->runs[out->n_runs++];
            r->chain = (unsigned)a;
            r->first = b;
            r->last = d;
            if (pec_unhex(hx1, r->prev, TRACE_HASH_LEN) < 0 || pec_unhex(hx2, r->hash, TRACE_HASH_LEN) < 0)
                goto syntax;
        } else if (line[0] != '\0') {
            goto syntax;
        }
    }
    return 0;
syntax:
    pec_error_set(err, PEC_ERR_INVALID, "checkpoint line %zu malformed", lineno);
bad:
    trace_ckpt_clear(out);
    return -1;
}

/* trace_ckpt_clear - free what a parsed checkpoint holds */
void trace_ckpt_clear(struct trace_ckpt *ck)
{
    free(ck->heads);
    free(ck->runs);
    memset(ck, 0, sizeof(*ck));
}
