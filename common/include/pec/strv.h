/* strv.h - a growable list of owned C strings (recipients, header names, problems found). */
#ifndef PEC_STRV_H
#define PEC_STRV_H

#include <stddef.h>

/* A list of owned strings. */
struct pec_strv {
    char **v;
    size_t n;
};
#define PEC_STRV_INIT { NULL, 0 }

/* pec_strv_push - append a copy of s */
void pec_strv_push(struct pec_strv *sv, const char *s);
/* pec_strv_clear - free every string and the array */
void pec_strv_clear(struct pec_strv *sv);
/* pec_strv_has - 1 when sv holds s (case-insensitive) */
int pec_strv_has(const struct pec_strv *sv, const char *s);

#endif
