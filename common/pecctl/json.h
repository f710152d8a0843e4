/* json.h - the little JSON writer pecctl needs (strings escaped per RFC 8259). */
#ifndef PECCTL_JSON_H
#define PECCTL_JSON_H

#include "pec/buf.h"

/* json_str - append s as a JSON string literal, or null when s is NULL */
void json_str(struct pec_buf *out, const char *s);
/* json_key - append "key": (with a comma first unless *first) */
void json_key(struct pec_buf *out, const char *key, int *first);

#endif
