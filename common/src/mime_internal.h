/* mime_internal.h - GMime helpers shared by the modules that read and write messages.
 * Private to common/src: public headers never expose GMime types. */
#ifndef PEC_MIME_INTERNAL_H
#define PEC_MIME_INTERNAL_H

#include <gmime/gmime.h>
#include "pec/buf.h"
#include "pec/mime.h"

/* mime_set_warning_callback - GMime's parser warning callback, with no destroy notify where GMime takes
 * one (3.2.15) */
#ifdef PEC_GMIME_WARNING_NOTIFY
#define mime_set_warning_callback(opts, cb, data) g_mime_parser_options_set_warning_callback(opts, cb, data, NULL)
#else
#define mime_set_warning_callback(opts, cb, data) g_mime_parser_options_set_warning_callback(opts, cb, data)
#endif

/* mime_scan - raw bytes against limits (NULL: pec_mime_default_limits) before anything is built: 0
 * within them, -1 with why (a short English phrase naming the limit) when over one */
int mime_scan(const void *raw, size_t len, const struct pec_mime_limits *lim, char *why, size_t whylen);

/* mime_parse - parse raw bytes into a message (NULL when there is no message at all, or when the bytes
 * are over the default limits: then "MIME limit: ..." is among the problems); parser warnings that make
 * the message non-conformant are appended to problems when it is not NULL.  The message reads its
 * content from raw, which must stay unchanged as long as the message (and any part of it) lives. */
GMimeMessage *mime_parse(const void *raw, size_t len, struct pec_strv *problems);

/* mime_parse_headers - the top-level header section alone, as a message without body: what a message
 * over the limits still says about itself (sender, recipients, subject).  NULL when that section is
 * itself over the limits, or when there is none. */
GMimeMessage *mime_parse_headers(const void *raw, size_t len);

/* mime_make_7bit - re-encode m's 8-bit leaf parts (quoted-printable for text, base64 otherwise) and its
 * raw 8-bit header values (RFC 2047), so that it says the same in 7-bit; what lies inside a signed or
 * encrypted multipart is left as it is.  0 when m is now 7-bit clean, -1 when 8-bit bytes remain. */
int mime_make_7bit(GMimeMessage *m);

/* mime_write - serialise an object with CRLF line ends (the S/MIME canonical form) into out */
void mime_write(GMimeObject *obj, struct pec_buf *out);

/* mime_header - value of a header of obj (case-insensitive name), NULL when absent */
const char *mime_header(GMimeObject *obj, const char *name);

/* mime_header_text - the first field of that name as text (malloc'd UTF-8, NULL when absent), RFC 2047
 * words decoded one by one and adjacent ones of a charset joined as bytes: GMime 3.2 joins them as
 * base64 text first, and loses what follows a word padded with '=' (as its own encoder writes them) */
char *mime_header_text(GMimeObject *obj, const char *name);

/* mime_text_part - a text/<subtype> part in ISO-8859-1, quoted-printable, from UTF-8 text */
GMimePart *mime_text_part(const char *subtype, const char *utf8);

/* mime_file_part - an attachment part with Content-Disposition filename and Content-Type name */
GMimePart *mime_file_part(const char *type, const char *subtype, const char *filename, const char *disposition,
                          const void *data, size_t len, GMimeContentEncoding encoding);

/* mime_is_type - content type test that tolerates a missing Content-Type */
int mime_is_type(GMimeObject *obj, const char *type, const char *subtype);

/* mime_part_bytes - the decoded content of a leaf part, appended to out */
void mime_part_bytes(GMimePart *part, struct pec_buf *out);

/* mime_part_encoded_bytes - the content of a leaf part as transferred (still encoded), CRLF line ends */
void mime_part_encoded_bytes(GMimePart *part, struct pec_buf *out);

#endif
