/* buf.c - growable, caller-owned byte buffer. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pec/buf.h"
#include "pec/log.h"

/* pec_buf_reserve - make room for extra bytes plus the terminating NUL */
void pec_buf_reserve(struct pec_buf *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    size_t cap;

    if (need < b->len)
        pec_panic("pec_buf_reserve: size overflow");
    if (need <= b->cap)
        return;
    cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap * 2 > cap ? cap * 2 : need;
    b->data = realloc(b->data, cap);
    if (b->data == NULL)
        pec_panic("out of memory (%zu bytes)", cap);
    b->cap = cap;
}

/* pec_buf_append - append raw bytes */
void pec_buf_append(struct pec_buf *b, const void *data, size_t len)
{
    pec_buf_reserve(b, len);
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

/* pec_buf_puts - append a C string */
void pec_buf_puts(struct pec_buf *b, const char *s)
{
    pec_buf_append(b, s, strlen(s));
}

/* pec_buf_printf - append formatted text */
void pec_buf_printf(struct pec_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        pec_panic("pec_buf_printf: bad format");
    pec_buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* pec_buf_reset - empty, keep storage */
void pec_buf_reset(struct pec_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

/* pec_buf_release - free storage */
void pec_buf_release(struct pec_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

/* pec_buf_steal - hand storage to the caller */
char *pec_buf_steal(struct pec_buf *b, size_t *len_r)
{
    char *p;

    pec_buf_reserve(b, 0);
    p = b->data;
    if (len_r)
        *len_r = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}
