/* anomaly.h - why a message is delivered in a busta di anomalia (PEC-RULES §2.4), as the reception point
 * marks it and as the delivery point tells the user.
 *
 * The reception point marks what it lets through for wrapping with PEC_ANOMALY_MARK_HEADER, whose value
 * is a cause's name; the header is removed from everything that arrives first, so only we set it, and
 * from the original before it is wrapped, so it never reaches a mailbox. */
#ifndef PEC_ANOMALY_H
#define PEC_ANOMALY_H

#include "pec/message.h"

#define PEC_ANOMALY_MARK_HEADER "X-PEC-Anomalia"

enum pec_anomaly {
    PEC_ANOMALY_NONE = 0,
    PEC_ANOMALY_ORDINARY,  /* ordinary mail, for a mailbox that takes it */
    PEC_ANOMALY_ANSWER,    /* ordinary mail answering a message one of our users sent (a bounce, a reply) */
    PEC_ANOMALY_SIGNATURE, /* signed, but not validly by a provider the index lists */
    PEC_ANOMALY_FORMAL,    /* signed by a listed provider, but it fails a formal check (PEC-RULES §5.2) */
};

/* pec_anomaly_name - the mark's value ("ordinaria", "risposta", "firma", "formale") */
const char *pec_anomaly_name(enum pec_anomaly cause);
/* pec_anomaly_by_name - the cause a mark names; PEC_ANOMALY_NONE for anything else */
enum pec_anomaly pec_anomaly_by_name(const char *name);
/* pec_anomaly_text - the reason the user reads, in Italian */
const char *pec_anomaly_text(enum pec_anomaly cause);
/* pec_anomaly_of - the cause an invalid message's analysis shows */
enum pec_anomaly pec_anomaly_of(const struct pec_analysis *a);

#endif
