/* outbox.h - the durable spool of signed messages owed once Postfix has queued the message that caused
 * them (PLATFORM-NOTES: the milter's end-of-message runs before Postfix commits its queue file).
 *
 * The milter writes an entry under <outbox_dir>/<key>/ (written in a temporary folder, fsynced, renamed:
 * all or nothing) and adds the marker recipient <key>@<marker_domain> to the message.  Only when Postfix
 * has queued the message does it deliver the marker copy, over LMTP, to pec-emitter, which injects the
 * entry's messages and moves the entry to <outbox_dir>/done/.  A message never queued leaves an entry
 * nobody claims: nothing is sent for it.
 */
#ifndef PEC_OUTBOX_H
#define PEC_OUTBOX_H

#include <stddef.h>
#include <time.h>
#include "pec/error.h"

#define PEC_OUTBOX_KEY_MAX 64

struct pec_outbox_entry;

/* pec_outbox_entry_new - start an entry with a fresh random key (hex), written under dir */
struct pec_outbox_entry *pec_outbox_entry_new(const char *dir, struct pec_error *err);
/* pec_outbox_entry_key - the key that the marker recipient carries */
const char *pec_outbox_entry_key(const struct pec_outbox_entry *e);
/* pec_outbox_entry_add - one message for one envelope recipient, with the trace facts to record once it
 * is sent (pec_trace_facts_encode; facts_len 0: nothing to trace) */
int pec_outbox_entry_add(struct pec_outbox_entry *e, const char *rcpt, const void *msg, size_t len,
                         const void *facts, size_t facts_len, struct pec_error *err);
/* pec_outbox_entry_quarantine - ask the emitter to keep the queued message itself (virus) under `name`
 * (letters, digits, '.', '-', '@': the identificativo) */
int pec_outbox_entry_quarantine(struct pec_outbox_entry *e, const char *name, struct pec_error *err);
/* pec_outbox_entry_commit - make the entry visible, durably; after this the entry belongs to the emitter */
int pec_outbox_entry_commit(struct pec_outbox_entry *e, struct pec_error *err);
/* pec_outbox_entry_free - drop an uncommitted entry's files; release */
void pec_outbox_entry_free(struct pec_outbox_entry **e);

/* The emitter's side.  inject() sends one message and records its facts: 0 sent, -1 temporary failure
 * (retried), 1 refused for good (the sink traced the refusal; the file is set aside in refused/);
 * quarantine() keeps the queued copy.  An entry is worked on under an exclusive lock (flock of its
 * folder), so two deliveries of its marker, or a marker and a retry, never run it twice at once.  Each
 * file is on its own: one that fails does not hold back the others, a damaged one is set aside in
 * damaged/ with a warning.
 * pec_outbox_process: 0 when the entry is done (or unknown, or done before: a retried marker); 1 when
 * the message is known queued (the entry's flag "queued" is durable) but some file must be retried: the
 * emitter does so itself (pec_outbox_retry), so the marker may be answered 2xx and nothing depends on
 * Postfix's marker lifetime; -1 when the marker itself must be retried (flag not written, quarantine
 * of the queued copy failed, entry locked by another process). */
struct pec_outbox_sink {
    int (*inject)(void *ctx, const char *rcpt, const void *msg, size_t len, const void *facts, size_t facts_len);
    int (*quarantine)(void *ctx, const char *name, const void *msg, size_t len);
    void *ctx;
};
int pec_outbox_process(const char *dir, const char *key, const void *queued_msg, size_t queued_len,
                   const struct pec_outbox_sink *sink, struct pec_error *err);
/* pec_outbox_retry - work again on every queued entry that is not finished and not locked: how many it
 * finished (*pending_r: how many remain, each logged), or -1 with err */
int pec_outbox_retry(const char *dir, const struct pec_outbox_sink *sink, unsigned *pending_r, struct pec_error *err);

/* What a sweep did. */
struct pec_outbox_sweep_counts {
    unsigned done;      /* served entries removed: past the time Postfix could still retry their marker */
    unsigned unclaimed; /* entries whose marker has not come, moved aside to unclaimed/ */
    unsigned partial;   /* tmp.* folders of a milter that died while writing an entry, removed */
};

/* pec_outbox_sweep - housekeeping, run by the emitter: remove done/<key> older than keep_done seconds (a
 * marker is never retried after Postfix's maximal_queue_lifetime) and partial writes older than
 * keep_unclaimed; move committed entries older than keep_unclaimed, whose marker has not come (their
 * message was most likely never queued), to unclaimed/<key> with a warning naming the key.  They are
 * kept there for the operator, and a marker that still comes is served from there.  0, or -1 with err. */
int pec_outbox_sweep(const char *dir, time_t now, time_t keep_done, time_t keep_unclaimed,
                 struct pec_outbox_sweep_counts *counts, struct pec_error *err);

/* What the outbox holds now, for the metrics. */
struct pec_outbox_counts {
    unsigned waiting;   /* entries whose marker has not come yet */
    unsigned queued;    /* entries whose marker came, with a file still to send (the emitter retries them) */
    unsigned unclaimed; /* entries set aside in unclaimed/ */
    unsigned damaged;   /* messages set aside in damaged/ */
    unsigned refused;   /* messages Postfix refused for good, in refused/ */
};

/* pec_outbox_count - count what dir holds (read only): 0, or -1 with err when dir cannot be read */
int pec_outbox_count(const char *dir, struct pec_outbox_counts *counts, struct pec_error *err);

#endif
