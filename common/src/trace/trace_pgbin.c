/* trace_pgbin.c - values of binary-format results: exact bytes back, no text parsing or quoting. */
#include <stdlib.h>
#include <string.h>
#include "trace_internal.h"

/* microseconds between 1970-01-01 and PostgreSQL's epoch 2000-01-01 */
#define PG_EPOCH_US 946684800000000LL

/* be - a big-endian unsigned integer of n bytes */
static uint64_t be(const unsigned char *p, int n)
{
    uint64_t v = 0;
    int i;

    for (i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* trace_get_int - an int2 / int4 / int8 column; 0 for NULL */
long long trace_get_int(const PGresult *r, int row, int col)
{
    const unsigned char *p = (const unsigned char *)PQgetvalue(r, row, col);
    int n = PQgetlength(r, row, col);

    if (PQgetisnull(r, row, col))
        return 0;
    if (n == 2)
        return (int16_t)be(p, 2);
    if (n == 4)
        return (int32_t)be(p, 4);
    return (long long)(int64_t)be(p, 8);
}

/* trace_get_time_us - a timestamptz as microseconds since the Unix epoch; 0 for NULL */
long long trace_get_time_us(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col) || PQgetlength(r, row, col) != 8)
        return 0;
    return (long long)(int64_t)be((const unsigned char *)PQgetvalue(r, row, col), 8) + PG_EPOCH_US;
}

/* trace_get_time - a timestamptz as whole seconds (rounded down); 0 for NULL */
time_t trace_get_time(const PGresult *r, int row, int col)
{
    long long us = trace_get_time_us(r, row, col);

    return (time_t)(us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000));
}

/* trace_get_bool - a boolean column; 0 for NULL */
int trace_get_bool(const PGresult *r, int row, int col)
{
    return !PQgetisnull(r, row, col) && PQgetlength(r, row, col) == 1 && PQgetvalue(r, row, col)[0] != 0;
}

/* trace_get_str - text or bytea as a C string (libpq terminates every value); NULL for SQL NULL */
const char *trace_get_str(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

/* trace_get_text_array - decode a binary one-dimensional text[] into one block: pointers, then strings */
const char **trace_get_text_array(const PGresult *r, int row, int col, size_t *n_r)
{
    const unsigned char *p = (const unsigned char *)PQgetvalue(r, row, col), *q, *end;
    size_t len = (size_t)PQgetlength(r, row, col), n = 0, i, bytes = 0;
    const char **items;
    char *store;
    uint32_t ndim;

    *n_r = 0;
    if (PQgetisnull(r, row, col) || len < 12)
        return NULL;
    end = p + len;
    ndim = (uint32_t)be(p, 4);
    if (ndim > 1 || be(p + 4, 4) != 0)
        return NULL;
    q = p + 12;
    if (ndim == 1) {
        if (len < 20)
            return NULL;
        n = (size_t)be(p + 12, 4);
        q = p + 20;
    }
    /* first pass: check the layout and size the block */
    {
        const unsigned char *s = q;

        for (i = 0; i < n; i++) {
            uint32_t l;

            if (end - s < 4)
                return NULL;
            l = (uint32_t)be(s, 4);
            if (l == 0xffffffffu || (size_t)(end - s - 4) < l)
                return NULL;
            bytes += l + 1;
            s += 4 + l;
        }
    }
    items = trace_xmalloc((n + 1) * sizeof(*items) + bytes);
    store = (char *)(items + n + 1);
    for (i = 0; i < n; i++) {
        uint32_t l = (uint32_t)be(q, 4);

        memcpy(store, q + 4, l);
        store[l] = '\0';
        items[i] = store;
        store += l + 1;
        q += 4 + l;
    }
    items[n] = NULL;
    *n_r = n;
    return items;
}
