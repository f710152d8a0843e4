/* quarantine.h - the one writer of the virus quarantine: infected messages kept 30 months as
 * <quarantine_dir>/<name>.eml, written by the access point (a refused submission is never queued) and by
 * pec-emitter (an infected busta, once Postfix has queued it). */
#ifndef PEC_QUARANTINE_H
#define PEC_QUARANTINE_H

#include <stddef.h>
#include "pec/error.h"

/* A name in the quarantine: the identificativo with anything but [A-Za-z0-9.@_-] as '_' (at most 120
 * characters; a remote identificativo may hold anything), a '.', and 16 random hex digits, so that two
 * copies of one busta (relayed twice) never share a file.  Made once per message by its point, which
 * traces the same name it spools. */
#define PEC_QUARANTINE_NAME_MAX 160
/* pec_quarantine_name - a fresh name for the message with this identificativo (NULL or "": none) */
void pec_quarantine_name(const char *identificativo, char out[PEC_QUARANTINE_NAME_MAX]);

/* pec_quarantine_ref - the path the message named name is kept under (dir may be NULL: "") */
void pec_quarantine_ref(const char *dir, const char *name, char *ref, size_t ref_len);
/* pec_quarantine_write - write it durably (created exclusively, never through a link, file and folder
 * fsynced, mode 0640): 0, or -1 with err (INTERNAL without a folder or when name holds other content
 * already, TEMPORARY when the write fails).  Writing the same bytes under the same name again (a retry)
 * is no error; nothing is ever overwritten. */
int pec_quarantine_write(const char *dir, const char *name, const void *msg, size_t len, struct pec_error *err);

#endif
