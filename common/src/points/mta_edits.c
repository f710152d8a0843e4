/* mta_edits.c - message and envelope rewrites in terms of the MTA's primitive edits (see mta.h). */
#include <string.h>
#include <strings.h>
#include "pec/access.h"
#include "pec/mta.h"

/* Body chunks handed to the MTA: miltertest (our protocol test driver) overflows its stack on chunks
 * above ~1 KB, and to Postfix small ones cost next to nothing. */
#define BODY_CHUNK 1000

/* pec_mta_delete_headers - last first, so every occurrence number stays right */
int pec_mta_delete_headers(const struct pec_mta_edits *mta, const struct pec_strv *names, const char *only)
{
    for (size_t i = names->n; i-- > 0;) {
        const char *name = names->v[i];
        int occurrence = 0;

        if (only && strcasecmp(name, only) != 0)
            continue;
        for (size_t k = 0; k <= i; k++)
            if (strcasecmp(names->v[k], name) == 0)
                occurrence++;
        if (mta->delete_header(mta->ctx, name, occurrence) < 0)
            return -1;
    }
    return 0;
}

/* pec_mta_replace_message - delete, add, replace the body */
int pec_mta_replace_message(const struct pec_mta_edits *mta, const struct pec_strv *names, const void *msg,
                            size_t len, size_t body_offset)
{
    struct pec_strv fnames = PEC_STRV_INIT, values = PEC_STRV_INIT;
    const char *bytes = msg;
    int rc = 0;

    if (pec_mta_delete_headers(mta, names, NULL) < 0 || pec_message_header_fields(msg, len, &fnames, &values, NULL) < 0)
        rc = -1;
    for (size_t i = 0; rc == 0 && i < fnames.n; i++)
        if (mta->add_header(mta->ctx, fnames.v[i], values.v[i]) < 0)
            rc = -1;
    for (size_t off = body_offset; rc == 0 && off < len; off += BODY_CHUNK)
        if (mta->replace_body(mta->ctx, bytes + off, len - off < BODY_CHUNK ? len - off : BODY_CHUNK) < 0)
            rc = -1;
    pec_strv_clear(&fnames);
    pec_strv_clear(&values);
    return rc;
}

/* pec_mta_delete_rcpts - one by one */
int pec_mta_delete_rcpts(const struct pec_mta_edits *mta, const struct pec_strv *rcpts)
{
    for (size_t i = 0; i < rcpts->n; i++)
        if (mta->delete_rcpt(mta->ctx, rcpts->v[i]) < 0)
            return -1;
    return 0;
}
