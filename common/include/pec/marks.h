/* marks.h - idempotence marks of one mailbox ("this busta is stored", "its receipt went out"), kept as
 * one small file per key in a folder of the mailbox owner (e.g. ~/.pec-marks).
 *
 * Why not a single database file: Dovecot's duplicate database is read whole and rewritten whole at
 * every change, so a mailbox that receives thousands of receipts pays for all of them at each
 * delivery.  Here every operation touches one file.  A mark is a file with content; a lock is an
 * flock() on the same file, which may exist empty (locked, never marked).  A mark is fsynced (file and,
 * the first time, its folder entry) before pec_mark_set returns; were one lost anyway, the trace store's
 * delivery claim still allows a single receipt, and the cost is at most a second stored copy.  Files
 * are opened without following links; the sweep never removes a file another process holds locked.
 *
 * Keys: 1..100 characters out of [A-Za-z0-9:._-], not starting with '.'.
 */
#ifndef PEC_MARKS_H
#define PEC_MARKS_H

#include <time.h>
#include "pec/error.h"

/* pec_marks_prepare - create dir (mode 0700) if it is missing: 0, or -1 with err (TEMPORARY) */
int pec_marks_prepare(const char *dir, struct pec_error *err);
/* pec_mark_check - 1 when key is marked, 0 when not, -1 with err */
int pec_mark_check(const char *dir, const char *key, struct pec_error *err);
/* the longest value a mark keeps */
#define PEC_MARK_VALUE_MAX 400

/* pec_mark_set - mark key (marking twice is no error): 0, or -1 with err */
int pec_mark_set(const char *dir, const char *key, struct pec_error *err);
/* pec_mark_set_value - mark key with a value (one line of up to PEC_MARK_VALUE_MAX characters; NULL: none),
 * replacing an earlier one: 0, or -1 with err */
int pec_mark_set_value(const char *dir, const char *key, const char *value, struct pec_error *err);
/* pec_mark_get - the value of a mark into value (size bytes): 1, 0 when key is not marked, -1 with err
 * (a mark set without a value reads as "1") */
int pec_mark_get(const char *dir, const char *key, char *value, size_t size, struct pec_error *err);
/* pec_mark_lock - wait for the exclusive lock of key, for a check-act-mark sequence that two deliveries
 * of the same message must not interleave: a descriptor to give to pec_mark_unlock, or -1 with err */
int pec_mark_lock(const char *dir, const char *key, struct pec_error *err);
/* pec_mark_unlock - release a lock from pec_mark_lock and set *fd to -1 (no-op when already -1) */
void pec_mark_unlock(int *fd);
/* pec_marks_sweep - remove the marks last changed before `before`: how many, or -1 with err */
int pec_marks_sweep(const char *dir, time_t before, struct pec_error *err);
/* pec_marks_sweep_due - at most once per `interval` seconds per folder (the time of the last sweep is
 * the modification time of dir/.swept, touched here): 1 when the caller should sweep now, else 0 */
int pec_marks_sweep_due(const char *dir, time_t now, time_t interval);

#endif
