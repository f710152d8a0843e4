/* mime.h - what the adapters need from the MIME layer (GMime 3 underneath), without GMime types.
 *
 * Addresses are parsed by GMime's RFC 5322 parser, never by hand.
 */
#ifndef PEC_MIME_H
#define PEC_MIME_H

#include <stddef.h>
#include "pec/error.h"
#include "pec/strv.h"

/* Resource limits of every MIME analysis (PEC-RULES §5.2 leaves them to the gestore).  A message over any
 * of them is not read at all: GMime would build a tree of objects roughly 2 KB each per part, and a few
 * megabytes of tiny parts would take hundreds of megabytes.  The defaults are generous for real PEC: a
 * busta or a consegna completa of a 50 MB original with ordinary attachments is well inside them.
 *   size            bytes of the whole message [64 MiB]
 *   parts           MIME entities: the message itself, every body part, every embedded message [10,000]
 *   depth           nesting: the message is at level 0, the parts of a multipart one level below it, an
 *                   embedded message one level below its message/rfc822 part [50]
 *   header_size     bytes of one header section (the message's or a part's) [256 KiB]
 *   header_fields   header fields of all the sections together [50,000] */
#define PEC_MIME_MAX_SIZE ((size_t)64 * 1024 * 1024)
#define PEC_MIME_MAX_PARTS 10000u
#define PEC_MIME_MAX_DEPTH 50u
#define PEC_MIME_MAX_HEADER_SIZE ((size_t)256 * 1024)
#define PEC_MIME_MAX_HEADER_FIELDS 50000u

struct pec_mime_limits {
    size_t size;
    unsigned parts;
    unsigned depth;
    size_t header_size;
    unsigned header_fields;
};

/* The limits above, which mime parsing inside the library always applies. */
extern const struct pec_mime_limits pec_mime_default_limits;

/* pec_mime_check - measure raw bytes against limits (NULL: the defaults) with one pass over the bytes,
 * without building anything: 0 within them, -1 with err (PEC_ERR_INVALID) naming the first one exceeded.
 * It over-counts rather than under-counts what a MIME parser would build from the same bytes. */
int pec_mime_check(const void *raw, size_t len, const struct pec_mime_limits *lim, struct pec_error *err);

/* pec_mime_init - initialise GMime once per process (thread-safe, idempotent) */
void pec_mime_init(void);

/* pec_addr_list_parse - append the bare addresses ("user@domain") of a To/Cc/From header value to out.
 * Returns the number appended, or -1 with err when the value holds something that is not a plain
 * mailbox with a domain (groups are flattened). */
int pec_addr_list_parse(const char *value, struct pec_strv *out, struct pec_error *err);

/* pec_addr_domain - the part after the last '@', or "" */
const char *pec_addr_domain(const char *addr);

#endif
