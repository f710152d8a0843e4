/* answer.h - what a point engine answers its host, and the one table from error class to answer.
 *
 * The engines fill a pec_answer; the adapters only translate its kind into their host's terms
 * (libmilter SMFIS_*, Dovecot's delivery result).  A failure inside an engine becomes an answer
 * through pec_answer_of_error, the only place where error classes meet SMTP replies.
 */
#ifndef PEC_ANSWER_H
#define PEC_ANSWER_H

#include "pec/error.h"

enum pec_answer_kind {
    PEC_ANSWER_CONTINUE, /* accept (with whatever edits the engine made) */
    PEC_ANSWER_REJECT,   /* permanent refusal: code/xcode/text */
    PEC_ANSWER_TEMPFAIL, /* try again later: code/xcode/text for the client, reason for the log */
};

struct pec_answer {
    enum pec_answer_kind kind;
    char code[4];
    char xcode[8];
    char text[512];   /* the reply text (ASCII) */
    char reason[512]; /* TEMPFAIL: why, for the log and for hosts that pass a reason on */
};

/* pec_answer_continue - accept */
void pec_answer_continue(struct pec_answer *a);
/* pec_answer_reply - a refusal decided by the rules, with its reply */
void pec_answer_reply(struct pec_answer *a, const char *code, const char *xcode, const char *text);
/* pec_answer_of_error - the table:
 *   TEMPORARY -> 451 4.3.0  retry later (database down, scanner busy, spool full)
 *   INTERNAL  -> 451 4.3.0  our bug or environment (signer, I/O): never accept uncertified mail
 *   INVALID   -> 451 4.3.0  the engines turn invalid input into a PEC outcome (anomaly, non accettazione);
 *                           invalid data reaching here is our misreading, so it is retried, not refused
 *   PERMANENT -> 554 5.3.0  will never succeed
 * reason gets err's message. */
void pec_answer_of_error(struct pec_answer *a, const struct pec_error *err);

#endif
