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
/* The daemons, for what each must have before it serves (pec_runtime_check). */
enum pec_role {
    PEC_ROLE_ACCESS,    /* pec-milter -r access: signs, scans, traces, verifies our own busta */
    PEC_ROLE_RECEPTION, /* pec-milter -r reception: verifies, scans, traces */
    PEC_ROLE_EMITTER,   /* pec-emitter: traces what it sends */
    PEC_ROLE_DELIVERY,  /* the Dovecot plugin: verifies, traces */
};

typedef void (*pec_report_fn)(void *ctx, const char *line);

/* pec_runtime_check - fail closed: every reason rt must not serve role, one line each through problem,
 * naming the file and, where a value is at fault, its line.  A verifying role needs trust anchors
 * (trust_file) and an index (have_index: the file's, or the database copy the caller could load); every
 * role but the emitter's a scanner (clamd_socket) unless allow_unscanned, every role a trace store
 * (database) unless allow_untraced; the signing key must be readable by its owner only and the signing
 * certificate's rfc822Name must be the service address.  The opt-outs in force are reported through
 * notice (may be NULL), for the start-up log.  Returns the number of problems. */
int pec_runtime_check(const struct pec_runtime *rt, enum pec_role role, int have_index, pec_report_fn problem,
                      pec_report_fn notice, void *ctx);

/* pec_runtime_free - release and NULL */
void pec_runtime_free(struct pec_runtime **rt);

#endif
