/* text.c - printable US-ASCII renderings of UTF-8 text. */
#include "pec/text.h"

/* pec_text_ascii - one printable ASCII line */
size_t pec_text_ascii(const char *text, char *out, size_t outlen)
{
    /* second bytes of the UTF-8 (0xC3 ..) accented letters of Italian, and their base letter */
    static const struct { unsigned char b2; char base; } latin1[] = {
        { 0xa0, 'a' }, { 0xa1, 'a' }, { 0xa8, 'e' }, { 0xa9, 'e' }, { 0xac, 'i' }, { 0xad, 'i' },
        { 0xb2, 'o' }, { 0xb3, 'o' }, { 0xb9, 'u' }, { 0xba, 'u' }, { 0x80, 'A' }, { 0x81, 'A' },
        { 0x88, 'E' }, { 0x89, 'E' }, { 0x8c, 'I' }, { 0x8d, 'I' }, { 0x92, 'O' }, { 0x93, 'O' },
        { 0x99, 'U' }, { 0x9a, 'U' },
    };
    const unsigned char *p = (const unsigned char *)(text ? text : "");
    size_t o = 0;

    if (outlen == 0)
        return 0;
    while (*p && o + 1 < outlen) {
        if (*p == 0xc3 && p[1]) {
            char base = 0;

            for (size_t i = 0; i < sizeof(latin1) / sizeof(latin1[0]); i++)
                if (latin1[i].b2 == p[1])
                    base = latin1[i].base;
            if (base && o + 2 < outlen) {
                out[o++] = base;
                out[o++] = '\'';
                p += 2;
                continue;
            }
        }
        if (*p == '\r' || *p == '\n' || *p == '\t') {
            out[o++] = ' ';
        } else if (*p < 0x20 || *p == 0x7f) {
            out[o++] = '?';
        } else if (*p >= 0x80) {
            out[o++] = '?'; /* one per UTF-8 character */
            p++;
            while ((*p & 0xc0) == 0x80)
                p++;
            continue;
        } else {
            out[o++] = (char)*p;
        }
        p++;
    }
    out[o] = '\0';
    return o;
}
