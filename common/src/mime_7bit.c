/* mime_7bit.c - make an embedded original 7-bit clean without changing what it says (PEC-RULES §3: every
 * part with bytes above 127 is quoted-printable or base64, so the whole busta is 7-bit safe). */
#include <string.h>
#include "mime_internal.h"
#include "pec/text.h"

/* headers_7bit - raw 8-bit field values (RFC 6532) written again as RFC 2047 words of their UTF-8 text */
static void headers_7bit(GMimeObject *obj)
{
    GMimeHeaderList *list = g_mime_object_get_header_list(obj);
    int n = list ? g_mime_header_list_get_count(list) : 0;

    for (int i = 0; i < n; i++) {
        GMimeHeader *h = g_mime_header_list_get_header_at(list, i);
        const char *raw = g_mime_header_get_raw_value(h);
        char *text;

        if (raw == NULL || !pec_text_has_8bit(raw, strlen(raw)))
            continue;
        text = g_strdup(g_mime_header_get_value(h));
        g_mime_header_set_value(h, NULL, text ? text : "", "UTF-8");
        g_free(text);
    }
}

/* leaf_7bit - an 8bit or binary leaf part (or one declared 7bit that is not) re-encoded: quoted-printable
 * for text, base64 for anything else; its decoded content stays the same */
static void leaf_7bit(GMimePart *part)
{
    GMimeContentEncoding enc = g_mime_part_get_content_encoding(part);
    struct pec_buf b = PEC_BUF_INIT;

    if (enc == GMIME_CONTENT_ENCODING_BASE64 || enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE ||
        enc == GMIME_CONTENT_ENCODING_UUENCODE)
        return;
    mime_part_encoded_bytes(part, &b);
    if (pec_text_has_8bit(b.data, b.len))
        g_mime_part_set_content_encoding(part, mime_is_type(GMIME_OBJECT(part), "text", "*")
                                                   ? GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE
                                                   : GMIME_CONTENT_ENCODING_BASE64);
    pec_buf_release(&b);
}

/* object_7bit - one object and what it holds; a signed or encrypted multipart is left byte for byte
 * (its signature covers those bytes: re-encoding would break the user's own signature) */
static void object_7bit(GMimeObject *obj)
{
    headers_7bit(obj);
    if (GMIME_IS_MULTIPART_SIGNED(obj) || GMIME_IS_MULTIPART_ENCRYPTED(obj))
        return;
    if (GMIME_IS_MULTIPART(obj)) {
        for (int i = 0; i < g_mime_multipart_get_count(GMIME_MULTIPART(obj)); i++)
            object_7bit(g_mime_multipart_get_part(GMIME_MULTIPART(obj), i));
    } else if (GMIME_IS_MESSAGE_PART(obj)) {
        GMimeMessage *m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));

        if (m != NULL)
            mime_make_7bit(m);
    } else if (GMIME_IS_PART(obj)) {
        leaf_7bit(GMIME_PART(obj));
    }
}

/* mime_make_7bit - see mime_internal.h */
int mime_make_7bit(GMimeMessage *m)
{
    GMimeObject *body = g_mime_message_get_mime_part(m);
    struct pec_buf out = PEC_BUF_INIT;
    int clean;

    headers_7bit(GMIME_OBJECT(m));
    if (body != NULL)
        object_7bit(body);
    mime_write(GMIME_OBJECT(m), &out);
    clean = !pec_text_has_8bit(out.data, out.len);
    pec_buf_release(&out);
    return clean ? 0 : -1;
}
