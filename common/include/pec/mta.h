/* mta.h - the edits an MTA filter (a milter) can make to the message it is filtering, as callbacks, so
 * the access and reception engines apply their verdicts themselves, in the order the rules need, and a
 * fake MTA in the unit tests can record them or fail at any one. */
#ifndef PEC_MTA_H
#define PEC_MTA_H

#include <stddef.h>
#include "pec/strv.h"

struct pec_mta_edits {
    void *ctx;
    /* delete the occurrence-th (from 1) header field called name */
    int (*delete_header)(void *ctx, const char *name, int occurrence);
    /* append a header field (value as it is, folding kept) */
    int (*add_header)(void *ctx, const char *name, const char *value);
    /* the new body, in chunks, in order (the first call replaces, later ones append) */
    int (*replace_body)(void *ctx, const void *chunk, size_t len);
    /* add an envelope recipient that gets no DSN (the outbox marker) */
    int (*add_rcpt)(void *ctx, const char *rcpt);
    /* remove an envelope recipient */
    int (*delete_rcpt)(void *ctx, const char *rcpt);
};

/* pec_mta_delete_headers - delete every field in names (the fields seen, in order), or only those
 * called only (case-insensitive) when only is not NULL */
int pec_mta_delete_headers(const struct pec_mta_edits *mta, const struct pec_strv *names, const char *only);
/* pec_mta_replace_message - turn the message (whose fields were names) into msg: fields deleted, msg's
 * fields added, body replaced by what follows body_offset */
int pec_mta_replace_message(const struct pec_mta_edits *mta, const struct pec_strv *names, const void *msg,
                            size_t len, size_t body_offset);
/* pec_mta_delete_rcpts - remove every recipient in rcpts */
int pec_mta_delete_rcpts(const struct pec_mta_edits *mta, const struct pec_strv *rcpts);

#endif
