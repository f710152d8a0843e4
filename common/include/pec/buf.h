/* buf.h - growable byte buffer, owned by the caller and filled by producers.
 *
 * The data is always NUL-terminated (not counted in len) so text can be used as a C string.
 * Allocation failure aborts: the core does not try to run out of memory gracefully.
 */
#ifndef PEC_BUF_H
#define PEC_BUF_H

#include <stddef.h>

struct pec_buf {
    char *data;
    size_t len;
    size_t cap;
};

#define PEC_BUF_INIT { NULL, 0, 0 }

/* pec_buf_reserve - make room for `extra` more bytes */
void pec_buf_reserve(struct pec_buf *b, size_t extra);
/* pec_buf_append - append raw bytes */
void pec_buf_append(struct pec_buf *b, const void *data, size_t len);
/* pec_buf_puts - append a C string */
void pec_buf_puts(struct pec_buf *b, const char *s);
/* pec_buf_printf - append formatted text */
void pec_buf_printf(struct pec_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* pec_buf_reset - empty the buffer, keep the storage */
void pec_buf_reset(struct pec_buf *b);
/* pec_buf_release - free the storage and reset to PEC_BUF_INIT */
void pec_buf_release(struct pec_buf *b);
/* pec_buf_steal - hand the storage to the caller (free() it) and reset the buffer */
char *pec_buf_steal(struct pec_buf *b, size_t *len_r);

#endif
