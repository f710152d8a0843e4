/* trace_checkpoint.h - signed checkpoints, shared by checkpoint, verify and purge (internal). */
#ifndef PEC_TRACE_CHECKPOINT_H
#define PEC_TRACE_CHECKPOINT_H

#include "pec/log.h"
#include "trace_internal.h"

struct trace_ckpt_head {
    unsigned chain;
    long long seq;
    unsigned char hash[TRACE_HASH_LEN];
};

/* a run of consecutive rows of one chain dropped by a purge */
struct trace_ckpt_run {
    unsigned chain;
    long long first, last;
    unsigned char prev[TRACE_HASH_LEN]; /* prev_hash of the first row */
    unsigned char hash[TRACE_HASH_LEN]; /* hash of the last row */
};

struct trace_ckpt {
    time_t created;
    char reason[32];
    struct trace_ckpt_head *heads;
    size_t n_heads;
    struct trace_ckpt_run *runs;
    size_t n_runs;
};

/* trace_ckpt_write - sign the chain heads plus extra lines (purge) and store them, in the caller's
 * transaction; *id_r (may be NULL) gets the id */
int trace_ckpt_write(struct trace_conn *c, unsigned node, const struct pec_signer *signer, time_t now,
                     const char *reason, const struct pec_buf *extra, long long *id_r, struct pec_error *err);
/* trace_ckpt_parse - parse a checkpoint text */
int trace_ckpt_parse(const char *text, size_t len, struct trace_ckpt *out, struct pec_error *err);
/* trace_ckpt_clear - free a parsed checkpoint */
void trace_ckpt_clear(struct trace_ckpt *ck);

#endif
