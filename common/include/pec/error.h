/* error.h - the one error carrier of the core.
 *
 * Every fallible core function takes a `struct pec_error *err` (may be NULL) and returns -1 on failure,
 * 0 (or a documented positive value) on success.  A class becomes an SMTP/LMTP answer in one place:
 * pec_answer_of_error (answer.h).
 */
#ifndef PEC_ERROR_H
#define PEC_ERROR_H

#include <stdarg.h>

enum pec_error_class {
    PEC_ERR_NONE = 0,
    PEC_ERR_TEMPORARY, /* try again later: database down, resource busy */
    PEC_ERR_PERMANENT, /* will never succeed for this input: policy refusal */
    PEC_ERR_INVALID,   /* the input (message, file, argument) is malformed */
    PEC_ERR_INTERNAL,  /* our bug or environment failure (signer, I/O) */
};

struct pec_error {
    enum pec_error_class cls;
    char msg[512];
};

/* pec_error_set - record class and printf-style message; no-op when err is NULL */
void pec_error_set(struct pec_error *err, enum pec_error_class cls, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* pec_error_clear - reset to "no error" */
void pec_error_clear(struct pec_error *err);

/* pec_error_class_name - stable lower-case name of a class ("temporary", ...) */
const char *pec_error_class_name(enum pec_error_class cls);

#endif
