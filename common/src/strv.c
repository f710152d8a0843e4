/* strv.c - a list of owned strings, NULL-terminated so v can also be passed as a char ** vector. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "pec/log.h"
#include "pec/strv.h"

/* pec_strv_push - append a copy */
void pec_strv_push(struct pec_strv *sv, const char *s)
{
    sv->v = realloc(sv->v, (sv->n + 2) * sizeof(*sv->v));
    if (sv->v == NULL || (sv->v[sv->n] = strdup(s)) == NULL)
        pec_panic("out of memory");
    sv->v[++sv->n] = NULL;
}

/* pec_strv_clear - free all */
void pec_strv_clear(struct pec_strv *sv)
{
    for (size_t i = 0; i < sv->n; i++)
        free(sv->v[i]);
    free(sv->v);
    sv->v = NULL;
    sv->n = 0;
}

/* pec_strv_has - case-insensitive membership */
int pec_strv_has(const struct pec_strv *sv, const char *s)
{
    for (size_t i = 0; i < sv->n; i++)
        if (strcasecmp(sv->v[i], s) == 0)
            return 1;
    return 0;
}
