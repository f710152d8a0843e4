/* compose_breve.c - the "breve" form of an original: attachments replaced by their SHA-1 (RFC 6109
 * §3.3.2.2).  The hash is computed on the attachment as transferred (still transfer-encoded) with CRLF
 * line ends; a message/rfc822 attachment is hashed whole as it appears in the message. */
#include <string.h>
#include "compose_internal.h"
#include "mime_internal.h"
#include "pec/smime.h"

/* hash_part - a text/plain "<name>.hash" part holding the SHA-1 of bytes */
static GMimeObject *hash_part(const char *name, struct pec_buf *bytes)
{
    char hex[41], *fname = g_strdup_printf("%s.hash", name);
    GMimePart *p;

    /* GMime gives the content without the CRLF it leaves to the next delimiter; the last line is hashed
     * with its line end like the others, as the sender gets it by encoding the file */
    if (bytes->len > 0 && bytes->data[bytes->len - 1] != '\n')
        pec_buf_puts(bytes, "\r\n");
    pec_sha1_hex(bytes->data ? bytes->data : "", bytes->len, hex);
    p = mime_file_part("text", "plain", fname, "attachment", hex, 40, GMIME_CONTENT_ENCODING_7BIT);
    g_free(fname);
    return GMIME_OBJECT(p);
}

/* attachment_name - the file name that makes a part an attachment, or NULL */
static const char *attachment_name(GMimeObject *obj)
{
    const char *n = g_mime_object_get_content_disposition_parameter(obj, "filename");

    return n ? n : g_mime_object_get_content_type_parameter(obj, "name");
}

/* replacement - the hash part that stands for child, or NULL when child stays */
static GMimeObject *replacement(GMimeObject *child)
{
    struct pec_buf bytes = PEC_BUF_INIT;
    GMimeObject *rep = NULL;
    const char *name;

    if (GMIME_IS_MESSAGE_PART(child)) {
        GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(child));
        name = attachment_name(child);
        if (inner)
            mime_write(GMIME_OBJECT(inner), &bytes);
        rep = hash_part(name ? name : "messaggio.eml", &bytes);
    } else if (GMIME_IS_PART(child) && (name = attachment_name(child)) != NULL) {
        mime_part_encoded_bytes(GMIME_PART(child), &bytes);
        rep = hash_part(name, &bytes);
    }
    pec_buf_release(&bytes);
    return rep;
}

/* breve_walk - replace attachments below obj; signed and encrypted S/MIME content is left alone */
static void breve_walk(GMimeObject *obj)
{
    GMimeMultipart *mp;
    int n;

    if (!GMIME_IS_MULTIPART(obj))
        return;
    mp = GMIME_MULTIPART(obj);
    /* multipart/signed: only the signed content is walked, the signature stays (it will then fail) */
    n = GMIME_IS_MULTIPART_SIGNED(obj) || mime_is_type(obj, "multipart", "signed") ? 1 : g_mime_multipart_get_count(mp);
    for (int i = 0; i < n && i < g_mime_multipart_get_count(mp); i++) {
        GMimeObject *child = g_mime_multipart_get_part(mp, i);
        GMimeObject *rep = replacement(child);

        if (rep) {
            GMimeObject *old = g_mime_multipart_replace(mp, i, rep);
            if (old)
                g_object_unref(old);
            g_object_unref(rep);
        } else {
            breve_walk(child);
        }
    }
}

/* compose_breve - hash the attachments of msg in place */
void compose_breve(GMimeMessage *msg)
{
    GMimeObject *body = g_mime_message_get_mime_part(msg);
    GMimeObject *rep;

    if (body == NULL || mime_is_type(body, "application", "pkcs7-mime") ||
        mime_is_type(body, "application", "x-pkcs7-mime"))
        return; /* encrypted or opaque-signed: nothing can be replaced, breve equals completa */
    if ((rep = replacement(body)) != NULL) {
        g_mime_message_set_mime_part(msg, rep);
        g_object_unref(rep);
        return;
    }
    breve_walk(body);
}
