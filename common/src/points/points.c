/* points.c - steps the three point engines share (see points_internal.h). */
#include <stdio.h>
#include "pec/daticert.h"
#include "pec/mta.h"
#include "points_internal.h"

/* points_tempfail - one way out for every failed step */
void points_tempfail(const struct pec_effects *fx, const char *qid, const struct pec_error *err, struct pec_answer *a)
{
    struct pec_error e = *err;

    if (e.cls == PEC_ERR_PERMANENT)
        e.cls = PEC_ERR_TEMPORARY;
    pec_answer_of_error(a, &e);
    pec_effects_log(fx, PEC_LOG_WARN, "%s: tempfail: %s", qid, a->reason);
}

/* points_trace_quarantine - the quarantine reference and its event */
int points_trace_quarantine(const struct pec_effects *fx, const char *identificativo, time_t when,
                            const char *virus, const char *name, const char *sender, enum pec_trace_type type,
                            struct pec_error *err)
{
    struct pec_trace_quarantine q = { 0 };
    struct pec_trace_event ev = { 0 };
    char ref[PEC_QUARANTINE_REF_MAX];

    fx->quarantine_ref(fx->ctx, name, ref, sizeof(ref));
    q.identificativo = identificativo;
    q.detected_at = when;
    q.virus = virus;
    q.storage_ref = ref;
    q.sender = sender;
    ev.time = when;
    ev.type = type;
    ev.identificativo = identificativo;
    ev.sender = sender;
    ev.virus = virus;
    ev.errore = pec_errore_name(PEC_ERRORE_VIRUS);
    return fx->trace_quarantine(fx->ctx, &q, &ev, 1, err);
}

/* points_add_marker - one more envelope recipient */
int points_add_marker(const struct pec_mta_edits *mta, const char *key, const char *domain)
{
    char rcpt[512];

    snprintf(rcpt, sizeof(rcpt), "%s@%s", key, domain);
    return mta->add_rcpt(mta->ctx, rcpt);
}
