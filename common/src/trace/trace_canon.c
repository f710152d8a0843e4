/* trace_canon.c - the canonical form of an event row and its chained hash.
 *
 * hash = SHA-256(prev_hash || "pec-trace/1" || field...), each field a 4-byte big-endian length
 * followed by its bytes, or 0xffffffff for an absent field; numbers are decimal text.  Length prefixes
 * make the form unambiguous whatever bytes the fields hold, and every stored column except recorded_at
 * (the server's clock, informative) and the hashes themselves is covered, in this fixed order:
 * chain, seq, event time (µs), node, type, identificativo, message_id, queue_id, sender, number of
 * recipients, then each recipient and its type, subject, gestore, receipt_type, errore, errore_esteso,
 * virus.  Changing this is a new version tag, never an edit.
 */
#include <stdio.h>
#include <string.h>
#include "trace_internal.h"

static const char CANON_TAG[] = "pec-trace/1";

/* put_field - length-prefixed bytes, or the absent marker for NULL */
static void put_field(struct pec_buf *b, const void *data, size_t len)
{
    unsigned char q[4];
    uint32_t n = data == NULL ? 0xffffffffu : (uint32_t)len;

    q[0] = (unsigned char)(n >> 24);
    q[1] = (unsigned char)(n >> 16);
    q[2] = (unsigned char)(n >> 8);
    q[3] = (unsigned char)n;
    pec_buf_append(b, q, 4);
    if (data != NULL)
        pec_buf_append(b, data, len);
}

/* put_str - a C string field */
static void put_str(struct pec_buf *b, const char *str)
{
    put_field(b, str, str ? strlen(str) : 0);
}

/* put_num - a number as decimal text */
static void put_num(struct pec_buf *b, long long v)
{
    char buf[24];
    int n = snprintf(buf, sizeof(buf), "%lld", v);

    put_field(b, buf, (size_t)n);
}

/* trace_row_hash - SHA-256(prev || canonical serialisation of row): the serialisation is built whole,
 * then hashed once (pec_sha256) */
void trace_row_hash(const unsigned char prev[TRACE_HASH_LEN], const struct trace_flat *row,
                    unsigned char out[TRACE_HASH_LEN])
{
    struct pec_buf b = PEC_BUF_INIT;
    size_t i;

    pec_buf_append(&b, prev, TRACE_HASH_LEN);
    pec_buf_append(&b, CANON_TAG, sizeof(CANON_TAG) - 1);
    put_num(&b, row->chain);
    put_num(&b, row->seq);
    put_num(&b, row->time_us);
    put_num(&b, row->node);
    put_str(&b, row->type);
    put_str(&b, row->identificativo);
    put_str(&b, row->message_id);
    put_str(&b, row->queue_id);
    put_str(&b, row->sender);
    put_num(&b, (long long)row->n_rcpts);
    for (i = 0; i < row->n_rcpts; i++) {
        put_str(&b, row->rcpts[i]);
        put_str(&b, row->rcpt_types[i]);
    }
    put_field(&b, row->subject, row->subject_len);
    put_str(&b, row->gestore);
    put_str(&b, row->receipt_type);
    put_str(&b, row->errore);
    put_field(&b, row->errore_esteso, row->errore_esteso_len);
    put_str(&b, row->virus);
    pec_sha256(b.data, b.len, out);
    pec_buf_release(&b);
}
