/* mailboxes.c - the mailbox list file, looked up by binary search. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "pec/mailboxes.h"
#include "pec/log.h"

struct mailbox_row {
    char *addr; /* lower case */
    enum pec_mailbox_policy policy;
};

struct pec_mailboxes {
    struct mailbox_row *rows;
    size_t n;
};

/* cmp_rows - order by address */
static int cmp_rows(const void *a, const void *b)
{
    return strcmp(((const struct mailbox_row *)a)->addr, ((const struct mailbox_row *)b)->addr);
}

/* pec_mailboxes_load - parse the file */
struct pec_mailboxes *pec_mailboxes_load(const char *path, struct pec_error *err)
{
    struct pec_mailboxes *m = calloc(1, sizeof(*m));
    FILE *f = fopen(path, "r");
    char line[1024], addr[512], kind[64];
    unsigned lineno = 0;

    if (m == NULL)
        pec_panic("out of memory");
    if (f == NULL) {
        pec_error_set(err, PEC_ERR_INVALID, "%s: %s", path, strerror(errno));
        free(m);
        return NULL;
    }
    while (fgets(line, sizeof(line), f)) {
        int n;
        lineno++;
        if (line[strspn(line, " \t")] == '#' || line[strspn(line, " \t\r\n")] == '\0')
            continue;
        kind[0] = '\0';
        n = sscanf(line, "%511s %63s", addr, kind);
        if (n < 1 || strchr(addr, '@') == NULL || (n == 2 && strcmp(kind, "ordinary") && strcmp(kind, "pec"))) {
            pec_error_set(err, PEC_ERR_INVALID, "%s:%u: expected \"address [pec|ordinary]\"", path, lineno);
            fclose(f);
            pec_mailboxes_free(&m);
            return NULL;
        }
        m->rows = realloc(m->rows, (m->n + 1) * sizeof(*m->rows));
        if (m->rows == NULL || (m->rows[m->n].addr = strdup(addr)) == NULL)
            pec_panic("out of memory");
        for (char *p = m->rows[m->n].addr; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        m->rows[m->n].policy = strcmp(kind, "ordinary") == 0 ? PEC_MAILBOX_ACCEPTS_ORDINARY : PEC_MAILBOX_PEC_ONLY;
        m->n++;
    }
    fclose(f);
    if (m->n)
        qsort(m->rows, m->n, sizeof(*m->rows), cmp_rows);
    return m;
}

/* pec_mailboxes_free - release */
void pec_mailboxes_free(struct pec_mailboxes **m)
{
    if (m == NULL || *m == NULL)
        return;
    for (size_t i = 0; i < (*m)->n; i++)
        free((*m)->rows[i].addr);
    free((*m)->rows);
    free(*m);
    *m = NULL;
}

/* pec_mailboxes_policy - look an address up */
enum pec_mailbox_policy pec_mailboxes_policy(void *ctx, const char *addr)
{
    const struct pec_mailboxes *m = ctx;
    struct mailbox_row key, *hit;
    char lower[512];
    size_t i;

    if (m == NULL)
        return PEC_MAILBOX_UNKNOWN;
    for (i = 0; addr[i] && i + 1 < sizeof(lower); i++)
        lower[i] = (char)tolower((unsigned char)addr[i]);
    lower[i] = '\0';
    key.addr = lower;
    hit = m->n ? bsearch(&key, m->rows, m->n, sizeof(*m->rows), cmp_rows) : NULL;
    return hit ? hit->policy : PEC_MAILBOX_UNKNOWN;
}
