/* error.c - the core's error carrier. */
#include <stdio.h>
#include <string.h>
#include "pec/answer.h"
#include "pec/error.h"

#define TEMPFAIL_TEXT "Errore temporaneo del gestore PEC, riprovare / Temporary failure, try again"

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

/* The error class -> answer table (answer.h). */
static const struct {
    enum pec_answer_kind kind;
    const char *code, *xcode, *text;
} answer_of_class[] = {
    [PEC_ERR_NONE] = { PEC_ANSWER_TEMPFAIL, "451", "4.3.0", TEMPFAIL_TEXT },
    [PEC_ERR_TEMPORARY] = { PEC_ANSWER_TEMPFAIL, "451", "4.3.0", TEMPFAIL_TEXT },
    [PEC_ERR_PERMANENT] = { PEC_ANSWER_REJECT, "554", "5.3.0",
                            "Messaggio rifiutato dal gestore PEC / Message refused by the PEC provider" },
    [PEC_ERR_INVALID] = { PEC_ANSWER_TEMPFAIL, "451", "4.3.0", TEMPFAIL_TEXT },
    [PEC_ERR_INTERNAL] = { PEC_ANSWER_TEMPFAIL, "451", "4.3.0", TEMPFAIL_TEXT },
};

/* pec_answer_continue - accept */
void pec_answer_continue(struct pec_answer *a)
{
    memset(a, 0, sizeof(*a));
    a->kind = PEC_ANSWER_CONTINUE;
}

/* pec_answer_reply - a refusal with its reply */
void pec_answer_reply(struct pec_answer *a, const char *code, const char *xcode, const char *text)
{
    memset(a, 0, sizeof(*a));
    a->kind = code[0] == '4' ? PEC_ANSWER_TEMPFAIL : PEC_ANSWER_REJECT;
    snprintf(a->code, sizeof(a->code), "%s", code);
    snprintf(a->xcode, sizeof(a->xcode), "%s", xcode);
    snprintf(a->text, sizeof(a->text), "%s", text);
}

/* pec_answer_of_error - the table */
void pec_answer_of_error(struct pec_answer *a, const struct pec_error *err)
{
    enum pec_error_class cls = err && err->cls <= PEC_ERR_INTERNAL ? err->cls : PEC_ERR_INTERNAL;

    pec_answer_reply(a, answer_of_class[cls].code, answer_of_class[cls].xcode, answer_of_class[cls].text);
    a->kind = answer_of_class[cls].kind;
    snprintf(a->reason, sizeof(a->reason), "%s", err && err->msg[0] ? err->msg : "unknown failure");
}
