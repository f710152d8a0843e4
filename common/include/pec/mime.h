/* mime.h - what the adapters need from the MIME layer (GMime 3 underneath), without GMime types.
 *
 * Addresses are parsed by GMime's RFC 5322 parser, never by hand.
 */
#ifndef PEC_MIME_H
#define PEC_MIME_H

#include <stddef.h>
#include "pec/error.h"
#include "pec/strv.h"

/* pec_mime_init - initialise GMime once per process (thread-safe, idempotent) */
void pec_mime_init(void);

/* pec_addr_list_parse - append the bare addresses ("user@domain") of a To/Cc/From header value to out.
 * Returns the number appended, or -1 with err when the value holds something that is not a plain
 * mailbox with a domain (groups are flattened). */
int pec_addr_list_parse(const char *value, struct pec_strv *out, struct pec_error *err);

/* pec_addr_domain - the part after the last '@', or "" */
const char *pec_addr_domain(const char *addr);

#endif
