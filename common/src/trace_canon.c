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
static void put_field(struct trace_sha256 *s, const void *data, size_t len)
{
    unsigned char q[4];
    uint32_t n = data == NULL ? 0xffffffffu : (uint32_t)len;

    q[0] = (unsigned char)(n >> 24);
    q[1] = (unsigned char)(n >> 16);
    q[2] = (unsigned char)(n >> 8);
    q[3] = (unsigned char)n;
    trace_sha256_update(s, q, 4);
    if (data != NULL)
        trace_sha256_update(s, data, len);
}

/* put_str - a C string field */
static void put_str(struct trace_sha256 *s, const char *str)
{
    put_field(s, str, str ? strlen(str) : 0);
}

/* put_num - a number as decimal text */
static void put_num(struct trace_sha256 *s, long long v)
{
    char buf[24];
    int n = snprintf(buf, sizeof(buf), "%lld", v);

    put_field(s, buf, (size_t)n);
}

/* trace_row_hash - SHA-256(prev || canonical serialisation of row) */
void trace_row_hash(const unsigned char prev[TRACE_HASH_LEN], const struct trace_flat *row,
                    unsigned char out[TRACE_HASH_LEN])
{
    struct trace_sha256 s;
    size_t i;

    trace_sha256_init(&s);
    trace_sha256_update(&s, prev, TRACE_HASH_LEN);
    trace_sha256_update(&s, CANON_TAG, sizeof(CANON_TAG) - 1);
    put_num(&s, row->chain);
    put_num(&s, row->seq);
    put_num(&s, row->time_us);
    put_num(&s, row->node);
    put_str(&s, row->type);
    put_str(&s, row->identificativo);
    put_str(&s, row->message_id);
    put_str(&s, row->queue_id);
    put_str(&s, row->sender);
    put_num(&s, (long long)row->n_rcpts);
    for (i = 0; i < row->n_rcpts; i++) {
        put_str(&s, row->rcpts[i]);
        put_str(&s, row->rcpt_types[i]);
    }
    put_field(&s, row->subject, row->subject_len);
    put_str(&s, row->gestore);
    put_str(&s, row->receipt_type);
    put_str(&s, row->errore);
    put_field(&s, row->errore_esteso, row->errore_esteso_len);
    put_str(&s, row->virus);
    trace_sha256_final(&s, out);
}
