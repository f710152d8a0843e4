/* ident.h - PEC identifier generator.
 *
 * Format (documented in README.md):  pec<node>.<yyyymmddHHMMSS>.<pid>.<rnd>.<seq>@<mail domain>
 *   node  - the provider node number from the configuration (distinct per MTA node)
 *   pid   - the process id, distinct among live processes of one node
 *   rnd   - 8 hex digits drawn once per generator, so a recycled pid after a restart cannot collide
 *   seq   - a per-generator counter, atomic, so threads of one process never collide
 * The time is UTC when the id is made.  All characters are [a-z0-9.], as real providers' ids are.
 *
 * A generator is thread-safe.  Tests create a deterministic one.
 */
#ifndef PEC_IDENT_H
#define PEC_IDENT_H

#include <stddef.h>
#include <time.h>
#include "pec/error.h"

struct pec_idgen;

/* pec_idgen_new - production generator for one process */
struct pec_idgen *pec_idgen_new(unsigned node, const char *domain);
/* pec_idgen_new_fixed - deterministic generator: pid and rnd fixed, seq from 1 (tests, golden files) */
struct pec_idgen *pec_idgen_new_fixed(unsigned node, const char *domain);
/* pec_idgen_free - free and NULL the pointer; NULL-safe */
void pec_idgen_free(struct pec_idgen **gen);

#define PEC_ID_MAX 128
/* pec_idgen_next - write a new identifier (no angle brackets) for time t into out[PEC_ID_MAX] */
void pec_idgen_next(struct pec_idgen *gen, time_t t, char out[PEC_ID_MAX]);

#endif
