/* make-busta.c - test tool: sign an arbitrary original into a busta di trasporto, as a provider's access
 * point would (no checks), so integration tests can send a peer's busta carrying anything (a virus).
 * usage: make-busta CONFIG ORIGINAL > busta.eml */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "pec/compose.h"
#include "pec/message.h"
#include "pec/runtime.h"

int main(int argc, char **argv)
{
    struct pec_error err = { 0 };
    struct pec_buf orig = PEC_BUF_INIT, out = PEC_BUF_INIT;
    struct pec_daticert facts;
    struct pec_compose c = { 0 };
    struct pec_runtime *rt;
    char id[PEC_ID_MAX], chunk[65536];
    size_t n;
    FILE *f;

    if (argc != 3) {
        fprintf(stderr, "usage: make-busta CONFIG ORIGINAL\n");
        return 2;
    }
    if ((rt = pec_runtime_load(argv[1], time(NULL), &err)) == NULL || (f = fopen(argv[2], "rb")) == NULL) {
        fprintf(stderr, "make-busta: %s\n", err.msg[0] ? err.msg : argv[2]);
        return 1;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        pec_buf_append(&orig, chunk, n);
    fclose(f);
    if (pec_message_facts(orig.data, orig.len, rt->index, (const char *const *)rt->cfg->managed_domains,
                          rt->cfg->n_managed_domains, &facts, &err) < 0) {
        fprintf(stderr, "make-busta: %s\n", err.msg);
        return 1;
    }
    c.type = PEC_MSG_BUSTA_TRASPORTO;
    c.when = time(NULL);
    pec_idgen_next(rt->ids, c.when, id);
    facts.identificativo = strdup(id);
    c.facts = &facts;
    c.original = orig.data;
    c.original_len = orig.len;
    if (pec_compose_build(&rt->issuer, &c, &out, id, &err) < 0) {
        fprintf(stderr, "make-busta: %s\n", err.msg);
        return 1;
    }
    fwrite(out.data, 1, out.len, stdout);
    pec_daticert_clear(&facts);
    pec_buf_release(&orig);
    pec_buf_release(&out);
    pec_runtime_free(&rt);
    return 0;
}
