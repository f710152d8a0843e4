/* points_internal.h - what the three point engines share. */
#ifndef PEC_POINTS_INTERNAL_H
#define PEC_POINTS_INTERNAL_H

#include "pec/answer.h"
#include "pec/effects.h"

/* points_tempfail - a failed step: the answer from the error table (an effect's PERMANENT failure
 * counts as TEMPORARY: it never decides the message's fate), and one log line */
void points_tempfail(const struct pec_effects *fx, const char *qid, const struct pec_error *err, struct pec_answer *a);

/* points_trace_quarantine - record where an infected message is kept, with its one event of type */
int points_trace_quarantine(const struct pec_effects *fx, const char *identificativo, time_t when,
                            const char *virus, const char *name, const char *sender, enum pec_trace_type type,
                            struct pec_error *err);

/* points_add_marker - the recipient <key>@<domain> whose delivery tells pec-emitter the message is queued */
int points_add_marker(const struct pec_mta_edits *mta, const char *key, const char *domain);

#endif
