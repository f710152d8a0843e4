/* text.h - text for places that take only printable US-ASCII (SMTP replies, log fields). */
#ifndef PEC_TEXT_H
#define PEC_TEXT_H

#include <stddef.h>

/* pec_text_ascii - copy UTF-8 text into out[outlen] as one printable US-ASCII line: Italian accented
 * letters become letter + apostrophe ("è" -> "e'"), line ends and tabs become spaces, other controls and
 * other non-ASCII characters one '?' each; cut to fit, always NUL-terminated.  Returns the length. */
size_t pec_text_ascii(const char *text, char *out, size_t outlen);

#endif
