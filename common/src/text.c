/* text.c - checking UTF-8 text (GLib's validator), hex, printable US-ASCII renderings of UTF-8 text. */
#include <glib.h>
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

/* allowed - whether rule lets the character c through */
static int allowed(gunichar c, enum pec_text_rule rule)
{
    switch (rule) {
    case PEC_TEXT_NO_CONTROLS:
        return (c >= 0x20 || c == '\t') && c != 0x7f;
    case PEC_TEXT_XML:
        return c == 0x9 || c == 0xa || c == 0xd || (c >= 0x20 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd) ||
               c >= 0x10000;
    case PEC_TEXT_ANY:
        break;
    }
    return 1;
}

/* pec_text_utf8_valid - g_utf8_validate for the encoding, then the rule on each character of the valid
 * part, so the first problem in the text is the one reported whatever its kind */
int pec_text_utf8_valid(const char *s, enum pec_text_rule rule, const char **bad_r, long *cp_r)
{
    const gchar *end, *p;

    if (s == NULL)
        return 1;
    g_utf8_validate(s, -1, &end);
    for (p = s; p < end; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);

        if (!allowed(c, rule)) {
            if (bad_r)
                *bad_r = p;
            if (cp_r)
                *cp_r = (long)c;
            return 0;
        }
    }
    if (*end == '\0')
        return 1;
    if (bad_r)
        *bad_r = end;
    if (cp_r)
        *cp_r = -1;
    return 0;
}

/* pec_text_has_8bit - any byte above 127 */
int pec_text_has_8bit(const void *data, size_t len)
{
    const unsigned char *p = data;

    for (size_t i = 0; i < len; i++)
        if (p[i] & 0x80)
            return 1;
    return 0;
}

/* pec_hex - the one hex encoder (digests, chain hashes, certificate fingerprints) */
void pec_hex(const void *data, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    const unsigned char *p = data;

    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * len] = '\0';
}

/* pec_unhex - its inverse, strict: a short or non-hex input is refused, not guessed at */
int pec_unhex(const char *hex, void *out, size_t len)
{
    unsigned char *o = out;

    for (size_t i = 0; i < len; i++) {
        int hi = g_ascii_xdigit_value(hex[2 * i]), lo = hi < 0 ? -1 : g_ascii_xdigit_value(hex[2 * i + 1]);

        if (hi < 0 || lo < 0)
            return -1;
        o[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}
