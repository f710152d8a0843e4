/* error.c - the core's error carrier. */
#include <stdio.h>
#include "pec/error.h"

/* pec_error_set - record class and message */
void pec_error_set(struct pec_error *err, enum pec_error_class cls, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL)
        return;
    err->cls = cls;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
}

/* pec_error_clear - reset to no error */
void pec_error_clear(struct pec_error *err)
{
    if (err == NULL)
        return;
    err->cls = PEC_ERR_NONE;
    err->msg[0] = '\0';
}

/* pec_error_class_name - stable name of a class */
const char *pec_error_class_name(enum pec_error_class cls)
{
    switch (cls) {
    case PEC_ERR_NONE: return "none";
    case PEC_ERR_TEMPORARY: return "temporary";
    case PEC_ERR_PERMANENT: return "permanent";
    case PEC_ERR_INVALID: return "invalid";
    case PEC_ERR_INTERNAL: return "internal";
    }
    return "internal";
}
