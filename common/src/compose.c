/* compose.c - assemble and sign the messages a provider emits. */
#define _GNU_SOURCE /* memmem */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "compose_internal.h"
#include "mime_internal.h"
#include "pec/anomaly.h"
#include "pec/clock.h"
#include "pec/log.h"
#include "pec/text.h"

/* pec_msgtype_name - stable name of a message type */
const char *pec_msgtype_name(enum pec_msgtype t)
{
    return t < PEC_MSG_COUNT ? compose_shapes[t].name : "unknown";
}

/* pec_consegna_variant - the §2.8 table */
enum pec_ricevuta pec_consegna_variant(enum pec_ricevuta requested, int recipient_in_to)
{
    if (!recipient_in_to)
        return PEC_RICEVUTA_SINTETICA;
    return requested == PEC_RICEVUTA_NONE ? PEC_RICEVUTA_COMPLETA : requested;
}

/* html_of - the HTML alternative: the same lines, escaped, no external references */
static char *html_of(const struct pec_strv *lines)
{
    struct pec_buf b = PEC_BUF_INIT;

    pec_buf_puts(&b, "<!DOCTYPE html>\n<html><head><meta http-equiv=\"Content-Type\" "
                     "content=\"text/html; charset=iso-8859-1\"><title>Posta certificata</title></head>\n<body>\n");
    for (size_t i = 0; i < lines->n; i++) {
        gchar *esc = g_markup_escape_text(lines->v[i], -1);
        if (i == 0)
            pec_buf_printf(&b, "<h3>%s</h3>\n", esc);
        else if (*esc)
            pec_buf_printf(&b, "<p>%s</p>\n", esc);
        g_free(esc);
    }
    pec_buf_puts(&b, "</body></html>\n");
    return pec_buf_steal(&b, NULL);
}

/* text_of - the plain text: the lines joined */
static char *text_of(const struct pec_strv *lines)
{
    struct pec_buf b = PEC_BUF_INIT;

    for (size_t i = 0; i < lines->n; i++)
        pec_buf_printf(&b, "%s\n", lines->v[i]);
    return pec_buf_steal(&b, NULL);
}

/* boundary_for - a deterministic boundary, so the same event always renders the same bytes.  It is drawn
 * again while the attached original holds it: an anomaly keeps the received Message-ID, so a message of
 * ours (or one made to look like it) would otherwise carry the very delimiters that close our parts. */
static void boundary_for(const struct pec_compose *c, const char *msgid, const char *tag, char out[64])
{
    char hex[41], *seed;

    for (unsigned n = 0;; n++) {
        seed = n ? g_strdup_printf("%s#%u", msgid, n) : g_strdup(msgid);
        pec_sha1_hex(seed, strlen(seed), hex);
        g_free(seed);
        snprintf(out, 64, "----=_PEC_%.24s_", hex);
        if (c->original == NULL || memmem(c->original, c->original_len, out, strlen(out)) == NULL)
            break;
    }
    snprintf(out, 64, "----=_PEC_%.24s_%s", hex, tag);
}

/* alternative_part - text/plain and text/html of the readable text */
static GMimeObject *alternative_part(const struct pec_compose *c, const struct pec_strv *lines, const char *msgid)
{
    GMimeMultipart *alt = g_mime_multipart_new_with_subtype("alternative");
    char *text = text_of(lines), *html = html_of(lines);
    GMimePart *tp = mime_text_part("plain", text), *hp = mime_text_part("html", html);
    char bnd[64];

    boundary_for(c, msgid, "alt", bnd);
    g_mime_multipart_set_boundary(alt, bnd);
    g_mime_multipart_add(alt, GMIME_OBJECT(tp));
    g_mime_multipart_add(alt, GMIME_OBJECT(hp));
    g_object_unref(tp);
    g_object_unref(hp);
    free(text);
    free(html);
    return GMIME_OBJECT(alt);
}

/* message_part - embed msg as message/rfc822 named filename */
static GMimeObject *message_part(GMimeMessage *msg, const char *filename, int eightbit)
{
    GMimeMessagePart *mp = g_mime_message_part_new_with_message("rfc822", msg);
    GMimeContentDisposition *disp = g_mime_content_disposition_new();

    g_mime_object_set_content_type_parameter(GMIME_OBJECT(mp), "name", filename);
    g_mime_content_disposition_set_disposition(disp, "inline");
    g_mime_content_disposition_set_parameter(disp, "filename", filename);
    g_mime_object_set_content_disposition(GMIME_OBJECT(mp), disp);
    g_object_unref(disp);
    g_mime_object_set_header(GMIME_OBJECT(mp), "Content-Transfer-Encoding", eightbit ? "8bit" : "7bit", NULL);
    return GMIME_OBJECT(mp);
}

/* original_part - m as postacert.eml, 7-bit whenever its content allows (mime_make_7bit) */
static GMimeObject *original_part(GMimeMessage *m, int eightbit)
{
    return message_part(m, "postacert.eml", eightbit && mime_make_7bit(m) < 0);
}

/* find_postacert - the postacert.eml message of a busta di trasporto, referenced, or NULL */
static GMimeMessage *find_postacert(GMimeMessage *busta)
{
    GMimeObject *body = g_mime_message_get_mime_part(busta), *content;

    if (body == NULL || !GMIME_IS_MULTIPART(body) || g_mime_multipart_get_count(GMIME_MULTIPART(body)) < 1)
        return NULL;
    content = g_mime_multipart_get_part(GMIME_MULTIPART(body), 0);
    if (!GMIME_IS_MULTIPART(content))
        return NULL;
    for (int i = 0; i < g_mime_multipart_get_count(GMIME_MULTIPART(content)); i++) {
        GMimeObject *child = g_mime_multipart_get_part(GMIME_MULTIPART(content), i);
        const char *n = g_mime_object_get_content_disposition_parameter(child, "filename");
        if (n == NULL)
            n = g_mime_object_get_content_type_parameter(child, "name");
        if (GMIME_IS_MESSAGE_PART(child) && n && strcasecmp(n, "postacert.eml") == 0) {
            GMimeMessage *m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(child));
            return m ? g_object_ref(m) : NULL;
        }
    }
    return NULL;
}

/* attachment_for - the message/rfc822 part a type carries, or NULL; -1 with err when unusable */
static int attachment_for(const struct pec_compose *c, const struct pec_daticert *d, GMimeObject **part_r,
                          struct pec_error *err)
{
    GMimeMessage *m;
    int eightbit = c->original ? pec_text_has_8bit(c->original, c->original_len) : 0;

    *part_r = NULL;
    switch (c->type) {
    case PEC_MSG_BUSTA_TRASPORTO:
        if ((m = mime_parse(c->original, c->original_len, NULL)) == NULL)
            break;
        /* RFC 6109 §3.1.5: the original carries the PEC identifier, the client's id moves aside */
        g_mime_message_set_message_id(m, d->identificativo);
        if (d->msgid) {
            g_mime_object_remove_header(GMIME_OBJECT(m), "X-Riferimento-Message-ID");
            g_mime_object_append_header(GMIME_OBJECT(m), "X-Riferimento-Message-ID", d->msgid, NULL);
        }
        *part_r = original_part(m, eightbit);
        g_object_unref(m);
        return 0;
    case PEC_MSG_BUSTA_ANOMALIA:
        if ((m = mime_parse(c->original, c->original_len, NULL)) == NULL) {
            /* not even a header section: what arrived is still delivered, attached byte for byte (in
             * base64 when 8-bit: a message/rfc822 part may not be encoded, and this is no message) */
            *part_r = GMIME_OBJECT(eightbit ? mime_file_part("application", "octet-stream", "postacert.eml",
                                                             "inline", c->original, c->original_len,
                                                             GMIME_CONTENT_ENCODING_BASE64)
                                            : mime_file_part("message", "rfc822", "postacert.eml", "inline",
                                                             c->original, c->original_len,
                                                             GMIME_CONTENT_ENCODING_7BIT));
            return 0;
        }
        /* our reception point's mark is for the delivery point, never for the mailbox */
        g_mime_object_remove_header(GMIME_OBJECT(m), PEC_ANOMALY_MARK_HEADER);
        *part_r = original_part(m, eightbit);
        g_object_unref(m);
        return 0;
    case PEC_MSG_AVVENUTA_CONSEGNA: {
        GMimeMessage *busta, *orig;

        if (d->ricevuta == PEC_RICEVUTA_SINTETICA)
            return 0;
        if ((busta = mime_parse(c->original, c->original_len, NULL)) == NULL)
            break;
        orig = find_postacert(busta);
        g_object_unref(busta);
        if (orig == NULL) {
            pec_error_set(err, PEC_ERR_INVALID, "consegna %s: the busta has no postacert.eml",
                          pec_ricevuta_name(d->ricevuta));
            return -1;
        }
        if (d->ricevuta == PEC_RICEVUTA_BREVE)
            compose_breve(orig);
        *part_r = original_part(orig, eightbit);
        g_object_unref(orig);
        return 0;
    }
    default:
        return 0;
    }
    pec_error_set(err, PEC_ERR_INVALID, "%s: the message to attach is not an Internet message",
                  pec_msgtype_name(c->type));
    return -1;
}

/* signed_content - the multipart/mixed that gets signed, serialised in canonical form */
static int signed_content(const struct pec_compose *c, const struct pec_daticert *d, const char *msgid,
                          struct pec_buf *out, struct pec_error *err)
{
    GMimeMultipart *mixed = g_mime_multipart_new_with_subtype("mixed");
    struct pec_strv lines = PEC_STRV_INIT;
    GMimeObject *alt, *attached;
    char bnd[64];

    if (attachment_for(c, d, &attached, err) < 0) {
        g_object_unref(mixed);
        return -1;
    }
    boundary_for(c, msgid, "mixed", bnd);
    g_mime_multipart_set_boundary(mixed, bnd);
    g_mime_multipart_set_prologue(mixed, "This is a multi-part message in MIME format.");
    compose_text(c, d, &lines);
    alt = alternative_part(c, &lines, msgid);
    g_mime_multipart_add(mixed, alt);
    g_object_unref(alt);
    pec_strv_clear(&lines);
    if (attached) {
        g_mime_multipart_add(mixed, attached);
        g_object_unref(attached);
    }
    if (compose_shapes[c->type].tipo != PEC_TIPO_NONE) {
        struct pec_buf xml = PEC_BUF_INIT;
        GMimePart *xp;

        if (pec_daticert_render(d, &xml, err) < 0) {
            pec_buf_release(&xml);
            g_object_unref(mixed);
            return -1;
        }
        xp = mime_file_part("application", "xml", "daticert.xml", "inline", xml.data, xml.len,
                            GMIME_CONTENT_ENCODING_BASE64);
        g_mime_multipart_add(mixed, GMIME_OBJECT(xp));
        g_object_unref(xp);
        pec_buf_release(&xml);
    }
    mime_write(GMIME_OBJECT(mixed), out);
    g_object_unref(mixed);
    return 0;
}

/* append_header - append a header; an address header is left out when it holds no address, because
 * GMime then writes it without its line end and glues the next header (X-Trasporto...) to it */
static void append_header(GMimeObject *dst, const char *name, const char *value)
{
    static const char *const addr_headers[] = { "To", "Cc", "Reply-To", "From", "Sender" };

    for (size_t i = 0; i < sizeof(addr_headers) / sizeof(addr_headers[0]); i++) {
        if (g_ascii_strcasecmp(name, addr_headers[i]) == 0) {
            InternetAddressList *l = internet_address_list_parse(NULL, value);
            int n = l ? internet_address_list_length(l) : 0;
            if (l)
                g_object_unref(l);
            if (n == 0)
                return;
        }
    }
    g_mime_object_append_header(dst, name, value, "utf-8");
}

/* copy_header - copy every occurrence of a header from src to dst, in order */
static void copy_header(GMimeObject *dst, GMimeObject *src, const char *name)
{
    GMimeHeaderList *hl = g_mime_object_get_header_list(src);

    for (int i = 0; i < g_mime_header_list_get_count(hl); i++) {
        GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
        if (g_ascii_strcasecmp(g_mime_header_get_name(h), name) == 0)
            append_header(dst, name, g_mime_header_get_value(h));
    }
}

/* top_headers - the top-level header section (CRLF, without MIME-Version/Content-Type) */
static void top_headers(const struct pec_issuer *iss, const struct pec_compose *c, const struct pec_daticert *d,
                        GMimeMessage *orig, const char *msgid, struct pec_buf *out)
{
    const struct msg_shape *shape = &compose_shapes[c->type];
    GMimeMessage *m = g_mime_message_new(FALSE);
    GMimeObject *o = GMIME_OBJECT(m);
    GMimeFormatOptions *fmt = g_mime_format_options_new();
    GMimeStream *mem = g_mime_stream_mem_new();
    GByteArray *bytes;
    char date[64], *subject, *from;

    pec_rfc5322_date(c->when, date, sizeof(date));
    subject = g_strconcat(shape->subject_prefix, d->oggetto ? d->oggetto : "", NULL);
    if (c->type == PEC_MSG_BUSTA_TRASPORTO || c->type == PEC_MSG_BUSTA_ANOMALIA) {
        static const char *const inherited[] = { "Received", "Return-Path", "To", "Cc", "Reply-To" };
        for (size_t i = 0; i < sizeof(inherited) / sizeof(inherited[0]); i++)
            if (orig)
                copy_header(o, GMIME_OBJECT(orig), inherited[i]);
        if (orig == NULL || mime_header(GMIME_OBJECT(orig), "Reply-To") == NULL)
            append_header(o, "Reply-To", d->mittente);
        g_mime_object_append_header(o, "X-Trasporto",
                                    c->type == PEC_MSG_BUSTA_TRASPORTO ? "posta-certificata" : "errore", NULL);
        from = g_strdup_printf("\"Per conto di: %s\" <%s>", d->mittente, iss->service_address);
    } else {
        from = g_strdup(iss->service_address);
    }
    g_mime_object_append_header(o, "Date", date, NULL);
    g_mime_object_append_header(o, "Subject", subject, "utf-8");
    g_mime_object_append_header(o, "From", from, "utf-8");
    if (c->type != PEC_MSG_BUSTA_TRASPORTO && c->type != PEC_MSG_BUSTA_ANOMALIA) {
        GString *to = g_string_new(NULL);
        for (size_t i = 0; i < c->n_to; i++)
            g_string_append_printf(to, "%s%s", i ? ", " : "", c->to[i]);
        append_header(o, "To", to->str);
        g_string_free(to, TRUE);
    }
    {
        char *bracketed = g_strdup_printf("<%s>", msgid);
        g_mime_object_append_header(o, "Message-ID", bracketed, NULL);
        g_free(bracketed);
    }
    if (d->msgid && c->type != PEC_MSG_BUSTA_ANOMALIA)
        g_mime_object_append_header(o, "X-Riferimento-Message-ID", d->msgid, NULL);
    if (shape->x_ricevuta)
        g_mime_object_append_header(o, "X-Ricevuta", shape->x_ricevuta, NULL);
    if (c->type == PEC_MSG_BUSTA_TRASPORTO)
        g_mime_object_append_header(o, "X-TipoRicevuta", pec_ricevuta_name(d->ricevuta), NULL);
    if (shape->virus_header)
        g_mime_object_append_header(o, "X-VerificaSicurezza", "errore", NULL);
    /* §2.10: a rilevazione virus always names the original sender, which the facts hold anyway */
    if (c->type == PEC_MSG_RILEVAZIONE_VIRUS)
        g_mime_object_append_header(o, "X-Mittente", c->x_mittente ? c->x_mittente : d->mittente, "utf-8");

    g_mime_format_options_set_newline_format(fmt, GMIME_NEWLINE_FORMAT_DOS);
    g_mime_header_list_write_to_stream(g_mime_object_get_header_list(o), fmt, mem);
    bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
    pec_buf_append(out, bytes->data, bytes->len);
    g_object_unref(mem);
    g_mime_format_options_free(fmt);
    g_object_unref(m);
    g_free(subject);
    g_free(from);
}

/* append_base64 - DER as base64 in 76-column CRLF lines */
static void append_base64(struct pec_buf *out, const struct pec_buf *der)
{
    gchar *b64 = g_base64_encode((const guchar *)der->data, der->len);
    size_t n = strlen(b64);

    for (size_t i = 0; i < n; i += 76) {
        pec_buf_append(out, b64 + i, n - i < 76 ? n - i : 76);
        pec_buf_puts(out, "\r\n");
    }
    g_free(b64);
}

/* anomaly_facts - what an anomaly says about the received message (which may be badly broken) */
static void anomaly_facts(GMimeMessage *orig, struct pec_daticert *d, struct pec_strv *to, struct pec_strv *from)
{
    const char *v;

    if (orig && (v = mime_header(GMIME_OBJECT(orig), "From")) != NULL)
        pec_addr_list_parse(v, from, NULL);
    if (orig && (v = mime_header(GMIME_OBJECT(orig), "To")) != NULL)
        pec_addr_list_parse(v, to, NULL);
    if (orig && (v = mime_header(GMIME_OBJECT(orig), "Cc")) != NULL)
        pec_addr_list_parse(v, to, NULL);
    d->mittente = from->n ? from->v[0] : "(mittente sconosciuto)";
    d->oggetto = orig ? (char *)g_mime_message_get_subject(orig) : NULL;
    d->n_destinatari = to->n;
    d->destinatari = calloc(to->n ? to->n : 1, sizeof(*d->destinatari));
    if (d->destinatari == NULL)
        pec_panic("out of memory");
    for (size_t i = 0; i < to->n; i++)
        d->destinatari[i].addr = to->v[i];
}

/* pec_compose_build - build and sign one message */
/* pec_compose_daticert - the certification data a message of c's type carries (see compose.h) */
void pec_compose_daticert(const struct pec_issuer *iss, const struct pec_compose *c, struct pec_daticert *d)
{
    const struct msg_shape *shape = &compose_shapes[c->type];

    *d = *c->facts;
    d->tipo = shape->tipo;
    d->gestore = (char *)iss->gestore;
    d->when = c->when;
    if (d->errore == PEC_ERRORE_NESSUNO || shape->errore == PEC_ERRORE_VIRUS)
        d->errore = shape->errore;
    if (c->virus && shape->errore == PEC_ERRORE_VIRUS && d->errore_esteso == NULL)
        d->errore_esteso = (char *)c->virus;
    if (c->type == PEC_MSG_BUSTA_TRASPORTO && d->ricevuta == PEC_RICEVUTA_NONE)
        d->ricevuta = PEC_RICEVUTA_COMPLETA;
    if (c->type == PEC_MSG_AVVENUTA_CONSEGNA && d->ricevuta == PEC_RICEVUTA_NONE)
        d->ricevuta = PEC_RICEVUTA_COMPLETA;
    if (c->type != PEC_MSG_BUSTA_TRASPORTO && c->type != PEC_MSG_AVVENUTA_CONSEGNA)
        d->ricevuta = PEC_RICEVUTA_NONE; /* the DTD gives <ricevuta> to these two only */
}

int pec_compose_build(const struct pec_issuer *iss, const struct pec_compose *c, struct pec_buf *out,
                      char msgid_out[PEC_ID_MAX], struct pec_error *err)
{
    const struct msg_shape *shape;
    struct pec_strv an_to = PEC_STRV_INIT, an_from = PEC_STRV_INIT;
    struct pec_buf der = PEC_BUF_INIT;
    struct pec_daticert d;
    GMimeMessage *orig = NULL;
    size_t start = out->len, content_at;
    char bnd[64];
    int rc = -1;

    if (c->type >= PEC_MSG_COUNT)
        pec_panic("pec_compose_build: bad message type %d", (int)c->type);
    shape = &compose_shapes[c->type];
    pec_mime_init();
    memset(&d, 0, sizeof(d));
    if (c->type == PEC_MSG_BUSTA_TRASPORTO || c->type == PEC_MSG_BUSTA_ANOMALIA) {
        /* an anomaly wraps whatever arrived, even bytes GMime cannot read as a message (orig NULL), or may
         * not read whole (over the MIME limits: its header section alone still names sender and recipients) */
        if (c->original != NULL && c->type == PEC_MSG_BUSTA_ANOMALIA &&
            (orig = mime_parse(c->original, c->original_len, NULL)) == NULL)
            orig = mime_parse_headers(c->original, c->original_len);
        else if (c->original != NULL && c->type == PEC_MSG_BUSTA_TRASPORTO)
            orig = mime_parse(c->original, c->original_len, NULL);
        if (c->original == NULL || (orig == NULL && c->type == PEC_MSG_BUSTA_TRASPORTO)) {
            pec_error_set(err, PEC_ERR_INVALID, "%s: no original message to wrap", shape->name);
            return -1;
        }
    }
    if (c->type == PEC_MSG_BUSTA_ANOMALIA) {
        const char *id = orig ? g_mime_message_get_message_id(orig) : NULL;
        anomaly_facts(orig, &d, &an_to, &an_from);
        /* RFC 6109 §3.2.2: the anomaly keeps the Message-ID it arrived with */
        if (id && *id)
            snprintf(msgid_out, PEC_ID_MAX, "%s", id);
        else
            pec_idgen_next(iss->ids, c->when, msgid_out);
    } else {
        if (c->facts == NULL || c->facts->mittente == NULL || c->facts->identificativo == NULL) {
            pec_error_set(err, PEC_ERR_INVALID, "%s: certification data incomplete", shape->name);
            goto out;
        }
        pec_compose_daticert(iss, c, &d);
        if (c->type == PEC_MSG_BUSTA_TRASPORTO)
            snprintf(msgid_out, PEC_ID_MAX, "%s", d.identificativo);
        else if (c->message_id != NULL && *c->message_id != '\0')
            snprintf(msgid_out, PEC_ID_MAX, "%s", c->message_id);
        else
            pec_idgen_next(iss->ids, c->when, msgid_out);
    }
    /* the message is written in place: headers, then the signed content straight into out (a consegna
     * completa of a 50 MB original would otherwise hold it twice), signed where it lies */
    top_headers(iss, c, &d, orig, msgid_out, out);
    boundary_for(c, msgid_out, "signed", bnd);
    pec_buf_printf(out,
                   "MIME-Version: 1.0\r\n"
                   "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=%s;\r\n"
                   "\tboundary=\"%s\"\r\n"
                   "\r\n"
                   "This is an S/MIME signed message\r\n"
                   "\r\n--%s\r\n",
                   pec_digest_micalg(iss->digest), bnd, bnd);
    content_at = out->len;
    if (signed_content(c, &d, msgid_out, out, err) < 0 ||
        pec_smime_sign(iss->signer, iss->digest, c->when, out->data + content_at, out->len - content_at, &der,
                       err) < 0)
        goto out;
    /* the CRLF before the next delimiter belongs to the delimiter, not to the signed content */
    pec_buf_printf(out,
                   "\r\n--%s\r\n"
                   "Content-Type: application/pkcs7-signature; name=\"smime.p7s\"\r\n"
                   "Content-Transfer-Encoding: base64\r\n"
                   "Content-Disposition: attachment; filename=\"smime.p7s\"\r\n"
                   "Content-Description: S/MIME Cryptographic Signature\r\n"
                   "\r\n",
                   bnd);
    append_base64(out, &der);
    pec_buf_printf(out, "--%s--\r\n", bnd);
    rc = 0;
out:
    if (rc < 0 && out->len > start) { /* nothing of a message that could not be built */
        out->len = start;
        out->data[start] = '\0';
    }
    if (c->type == PEC_MSG_BUSTA_ANOMALIA)
        free(d.destinatari);
    pec_strv_clear(&an_to);
    pec_strv_clear(&an_from);
    pec_buf_release(&der);
    if (orig)
        g_object_unref(orig);
    return rc;
}
