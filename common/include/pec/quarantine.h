/* quarantine.h - the one writer of the virus quarantine: infected messages kept 30 months as
 * <quarantine_dir>/<name>.eml, written by the access point (a refused submission is never queued) and by
 * pec-emitter (an infected busta, once Postfix has queued it). */
#ifndef PEC_QUARANTINE_H
#define PEC_QUARANTINE_H

#include <stddef.h>
#include "pec/error.h"

/* pec_quarantine_ref - the path the message named name is kept under (dir may be NULL: "") */
void pec_quarantine_ref(const char *dir, const char *name, char *ref, size_t ref_len);
/* pec_quarantine_write - write it durably (file and folder fsynced, mode 0640): 0, or -1 with err
 * (INTERNAL without a folder, TEMPORARY when the write fails) */
int pec_quarantine_write(const char *dir, const char *name, const void *msg, size_t len, struct pec_error *err);

#endif
