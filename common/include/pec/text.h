/* text.h - checking UTF-8 text, bytes as hex, and text for places that take only printable US-ASCII
 * (SMTP replies, log fields). */
#ifndef PEC_TEXT_H
#define PEC_TEXT_H

#include <stddef.h>

/* pec_text_ascii - copy UTF-8 text into out[outlen] as one printable US-ASCII line: Italian accented
 * letters become letter + apostrophe ("è" -> "e'"), line ends and tabs become spaces, other controls and
 * other non-ASCII characters one '?' each; cut to fit, always NUL-terminated.  Returns the length. */
size_t pec_text_ascii(const char *text, char *out, size_t outlen);

/* What a text may hold besides being UTF-8. */
enum pec_text_rule {
    PEC_TEXT_ANY = 0,      /* any character */
    PEC_TEXT_NO_CONTROLS,  /* no C0 control but TAB, no DEL: a line end in a field would forge lines */
    PEC_TEXT_XML,          /* only XML 1.0 Chars: TAB, LF, CR, U+0020..U+D7FF, U+E000..U+FFFD, U+10000.. */
};

/* pec_text_utf8_valid - 1 when s is well-formed UTF-8 (shortest forms, no surrogates, at most U+10FFFF)
 * made only of characters rule allows; NULL is valid.  Otherwise 0, with *bad_r (when bad_r is not NULL)
 * at the first byte of the first offending character and *cp_r (when not NULL) its code point, or -1 when
 * the bytes there are not UTF-8. */
int pec_text_utf8_valid(const char *s, enum pec_text_rule rule, const char **bad_r, long *cp_r);

/* pec_text_has_8bit - 1 when any of the len bytes is above 127 (8BITMIME, 7-bit output) */
int pec_text_has_8bit(const void *data, size_t len);

/* pec_hex - len bytes as lower-case hex digits; out holds 2 * len + 1 (NUL-terminated) */
void pec_hex(const void *data, size_t len, char *out);
/* pec_unhex - exactly 2 * len hex digits (either case) into len bytes; -1 on anything else */
int pec_unhex(const char *hex, void *out, size_t len);

#endif
