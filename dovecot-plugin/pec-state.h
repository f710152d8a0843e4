/* pec-state.h - what the delivery point loads once per process and keeps: the core's runtime (the
 * provider configuration, its signing key, the trust anchors, the provider index, the identifier
 * generator) and the delivery context built on it.  Dovecot delivery processes are single-threaded;
 * the state is reloaded when the configuration file changes (new key, new index) or another file is
 * named.  A state inherited across fork() keeps its configuration but opens its own trace store. */
#ifndef PEC_STATE_H
#define PEC_STATE_H

#include "pec/delivery.h"
#include "pec/runtime.h"
#include "pec/trace.h"

struct pec_state {
	char *config_path;
	struct pec_runtime *rt;
	struct pec_delivery_ctx dctx;
	/* the trace store of the configuration's database, one connection (one delivery at a time);
	   NULL without a database */
	struct pec_trace *trace;
};

/* pec_state_get - the state for config_path, loading it when needed; NULL with *error_r (a static
 * buffer, valid until the next call) when the configuration, key, trust or index cannot be loaded.
 * A failed reload of the same file keeps serving the state loaded before, with *error_r set saying
 * why (the caller warns); *error_r is NULL otherwise. */
const struct pec_state *pec_state_get(const char *config_path, const char **error_r);

/* pec_state_deinit - free the cached state */
void pec_state_deinit(void);

#endif
