/* clamd.h - a virus scan by a running clamd (INSTREAM command), for the access and reception points. */
#ifndef PEC_CLAMD_H
#define PEC_CLAMD_H

#include <stddef.h>
#include "pec/error.h"

/* pec_clamd_scan - scan data through clamd at `where` ("/path/to/socket" or "HOST:PORT").  Returns 0 when
 * clean, 1 when infected (virus name in virus[]), -1 with err (PEC_ERR_TEMPORARY) when clamd could not
 * answer: the caller then refuses temporarily rather than pass unscanned mail. */
int pec_clamd_scan(const char *where, const void *data, size_t len, char *virus, size_t virus_len,
               struct pec_error *err);

#endif
