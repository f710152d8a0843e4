/* effects.h - everything a point engine (access, reception, delivery) does to the world, as callbacks.
 *
 * The engines (pec_access_run, pec_reception_run, pec_delivery_run) decide and order the effects; the
 * host fills this struct with its primitives.  pec_effects_standard fills it with the core's own
 * modules (clamd, quarantine folder, outbox, SMTP submitter, PostgreSQL trace store); an adapter then
 * replaces what its host does differently (the Dovecot plugin submits through lib-smtp and logs through
 * Dovecot's events), and the unit tests put a fake host behind it that can fail at any step.
 * Every fallible callback returns -1 with err on failure; the engines turn a failure into a temporary
 * failure of the whole step (a PERMANENT class counts as TEMPORARY there), except a receipt the MTA
 * refuses for good at the delivery point, which is logged (delivery_point.c, invariant 6).
 */
#ifndef PEC_EFFECTS_H
#define PEC_EFFECTS_H

#include <stddef.h>
#include <time.h>
#include "pec/config.h"
#include "pec/error.h"
#include "pec/log.h"
#include "pec/outbox.h"
#include "pec/submit.h"
#include "pec/trace.h"

#define PEC_VIRUS_NAME_MAX 256
#define PEC_QUARANTINE_REF_MAX 512

/* One message owed once the MTA has durably queued the message that caused it. */
struct pec_owed {
    const char *to;
    const void *msg;
    size_t len;
    const void *facts; /* pec_trace_facts_encode of its event, recorded when it is sent; may be empty */
    size_t facts_len;
};

struct pec_effects {
    void *ctx; /* passed to every callback */
    /* the legal time reference of the event being processed */
    time_t (*now)(void *ctx);
    /* virus scan: 0 clean, 1 infected (name in virus), -1 the scanner could not answer */
    int (*scan)(void *ctx, const void *msg, size_t len, char *virus, size_t virus_len, struct pec_error *err);
    /* keep an infected message now under name (access point: it is refused, so never queued) */
    int (*quarantine)(void *ctx, const char *name, const void *msg, size_t len, struct pec_error *err);
    /* where the quarantined copy named name is (or will be) kept, for the trace */
    void (*quarantine_ref)(void *ctx, const char *name, char *ref, size_t ref_len);
    /* spool the owed messages, all or nothing; key_r gets the key the marker recipient carries.
     * quarantine_name: also keep the queued message itself under that name (NULL: no) */
    int (*spool)(void *ctx, const struct pec_owed *owed, size_t n, const char *quarantine_name,
                 char key_r[PEC_OUTBOX_KEY_MAX], struct pec_error *err);
    /* hand a message to the MTA now: 0 once queued */
    int (*submit)(void *ctx, const char *from, const char *to, const void *msg, size_t len, struct pec_error *err);
    /* the trace store (pec/trace.h has the meaning of each) */
    int (*trace_ready)(void *ctx, struct pec_error *err);
    int (*trace_accept)(void *ctx, const struct pec_trace_message *m, const struct pec_trace_event *ev, size_t n_ev,
                        struct pec_error *err);
    int (*trace_record)(void *ctx, const struct pec_trace_event *ev, size_t n_ev, const struct pec_trace_update *up,
                        size_t n_up, struct pec_error *err);
    int (*trace_quarantine)(void *ctx, const struct pec_trace_quarantine *q, const struct pec_trace_event *ev,
                            size_t n_ev, struct pec_error *err);
    /* the right to emit the avvenuta consegna of (identificativo, address): 1 first, 0 claimed before */
    int (*trace_claim)(void *ctx, const char *identificativo, const char *address, time_t now, struct pec_error *err);
    /* whether that avvenuta consegna was recorded as sent: 1 yes, 0 no */
    int (*trace_receipt_sent)(void *ctx, const char *identificativo, const char *address, struct pec_error *err);
    /* whether sender submitted identificativo with recipient among its esterno recipients: 1 yes, 0 no
     * (what a bounce or a reply from an ordinary host must match to reach a PEC-only mailbox) */
    int (*trace_sent_to)(void *ctx, const char *identificativo, const char *sender, const char *recipient,
                         struct pec_error *err);
    /* one log line */
    void (*log)(void *ctx, enum pec_log_level level, const char *line);
};

/* What the standard effects are made of.  Must outlive the effects.  Their callbacks take e->ctx as a
 * struct pec_effects_std *: an adapter that replaces some of them with its own and needs more state
 * makes this struct the first member of its own and points e->ctx there. */
struct pec_effects_std {
    const struct pec_config *cfg;    /* clamd_socket, quarantine_dir, outbox_dir, service address */
    struct pec_trace *trace;         /* NULL: no database (trace calls succeed; claims are always first) */
    struct pec_submitter *submitter; /* NULL: one connection per submitted message */
};

/* pec_effects_standard - fill e with the core's modules over std */
void pec_effects_standard(struct pec_effects *e, struct pec_effects_std *std);

/* pec_effects_log - a printf-style line through e->log */
void pec_effects_log(const struct pec_effects *e, enum pec_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
