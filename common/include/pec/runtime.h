/* runtime.h - everything a provider process needs, loaded once from the configuration file:
 * the configuration snapshot, the signer, the trust store, the provider index, the identifier
 * generator and the issuer built from them.  Immutable after loading (the id generator is thread-safe),
 * so the milter's threads share one. */
#ifndef PEC_RUNTIME_H
#define PEC_RUNTIME_H

#include <time.h>
#include "pec/compose.h"
#include "pec/config.h"
#include "pec/error.h"
#include "pec/index.h"
#include "pec/smime.h"

struct pec_runtime {
    const struct pec_config *cfg;
    struct pec_signer *signer;
    struct pec_trust *trust;     /* NULL when no trust_file is configured */
    struct pec_index *index;     /* NULL when no index_file is configured */
    struct pec_idgen *ids;
    struct pec_issuer issuer;
};

/* pec_runtime_load - load a configuration file and everything it names; NULL with err (the message
 * names the file at fault) */
struct pec_runtime *pec_runtime_load(const char *config_path, time_t now, struct pec_error *err);
/* pec_runtime_free - release and NULL */
void pec_runtime_free(struct pec_runtime **rt);

#endif
