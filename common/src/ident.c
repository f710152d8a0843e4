/* ident.c - PEC identifiers unique across threads, processes and MTA nodes (format in ident.h). */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>
#include "pec/ident.h"
#include "pec/log.h"

struct pec_idgen {
    unsigned node;
    unsigned long pid;
    unsigned rnd;
    atomic_ulong seq;
    char domain[64];
};

/* idgen_alloc - common part of the constructors */
static struct pec_idgen *idgen_alloc(unsigned node, const char *domain)
{
    struct pec_idgen *g = calloc(1, sizeof(*g));

    if (g == NULL)
        pec_panic("out of memory");
    if (strlen(domain) >= sizeof(g->domain))
        pec_panic("pec_idgen: domain too long: %s", domain);
    g->node = node;
    snprintf(g->domain, sizeof(g->domain), "%s", domain);
    atomic_init(&g->seq, 0);
    return g;
}

/* pec_idgen_new - production generator: real pid and a random component */
struct pec_idgen *pec_idgen_new(unsigned node, const char *domain)
{
    struct pec_idgen *g = idgen_alloc(node, domain);

    g->pid = (unsigned long)getpid();
    if (getrandom(&g->rnd, sizeof(g->rnd), 0) != (ssize_t)sizeof(g->rnd))
        pec_panic("pec_idgen_new: no random numbers");
    return g;
}

/* pec_idgen_new_fixed - deterministic generator for tests */
struct pec_idgen *pec_idgen_new_fixed(unsigned node, const char *domain)
{
    struct pec_idgen *g = idgen_alloc(node, domain);

    g->pid = 4242;
    g->rnd = 0x5eed5eedU;
    return g;
}

/* pec_idgen_free - free and NULL */
void pec_idgen_free(struct pec_idgen **gen)
{
    if (gen == NULL || *gen == NULL)
        return;
    free(*gen);
    *gen = NULL;
}

/* pec_idgen_next - write the next identifier */
void pec_idgen_next(struct pec_idgen *gen, time_t t, char out[PEC_ID_MAX])
{
    unsigned long seq = atomic_fetch_add(&gen->seq, 1) + 1;
    struct tm tm;

    gmtime_r(&t, &tm);
    snprintf(out, PEC_ID_MAX, "pec%u.%04d%02d%02d%02d%02d%02d.%lu.%08x.%lu@%s", gen->node, tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, gen->pid, gen->rnd, seq, gen->domain);
}
