/* json.c - minimal JSON string output for pecctl. */
#include <stdio.h>
#include "json.h"

/* json_str - append a JSON string literal; bytes >= 0x80 pass through (input is UTF-8 or replaced) */
void json_str(struct pec_buf *out, const char *s)
{
    const unsigned char *p;

    if (s == NULL) {
        pec_buf_puts(out, "null");
        return;
    }
    pec_buf_puts(out, "\"");
    for (p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': pec_buf_puts(out, "\\\""); break;
        case '\\': pec_buf_puts(out, "\\\\"); break;
        case '\n': pec_buf_puts(out, "\\n"); break;
        case '\r': pec_buf_puts(out, "\\r"); break;
        case '\t': pec_buf_puts(out, "\\t"); break;
        default:
            if (*p < 0x20 || *p == 0x7f)
                pec_buf_printf(out, "\\u%04x", *p);
            else
                pec_buf_append(out, p, 1);
        }
    }
    pec_buf_puts(out, "\"");
}

/* json_key - append a member name */
void json_key(struct pec_buf *out, const char *key, int *first)
{
    if (!*first)
        pec_buf_puts(out, ",");
    *first = 0;
    json_str(out, key);
    pec_buf_puts(out, ":");
}
