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
/* A stream longer than clamd's StreamMaxLength is refused ("INSTREAM size limit exceeded"): the scan
 * then fails with PEC_ERR_INTERNAL naming the setting, since no retry can make that message fit.
 * Debian's shipped clamd.conf says StreamMaxLength 25M (clamd's own default is 100M), below the default
 * max_message_size (50 MB). */
/* pec_clamd_stream_fits - whether clamd takes a stream of len bytes: 1 yes, 0 no (its StreamMaxLength
 * is smaller), -1 with err when it could not tell (not reachable, odd answer) */
int pec_clamd_stream_fits(const char *where, size_t len, struct pec_error *err);

#endif
