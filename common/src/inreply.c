/* inreply.c - the Message-IDs an ordinary message refers to and who answers (inreply.h). */
#include <string.h>
#include <strings.h>
#include "mime_internal.h"
#include "pec/inreply.h"

/* push_unique - add s to sv unless it is there or sv is full */
static void push_unique(struct pec_strv *sv, const char *s)
{
    if (s != NULL && *s != '\0' && sv->n < PEC_INREPLY_MAX && !pec_strv_has(sv, s))
        pec_strv_push(sv, s);
}

/* add_references - every Message-ID in a References or In-Reply-To value */
static void add_references(struct pec_inreply *r, const char *value)
{
    GMimeReferences *refs;

    if (value == NULL || (refs = g_mime_references_parse(NULL, value)) == NULL)
        return;
    for (int i = 0; i < g_mime_references_length(refs); i++)
        push_unique(&r->ids, g_mime_references_get_message_id(refs, i));
    g_mime_references_free(refs);
}

/* add_from - the From mailboxes (a list that does not parse answers nothing) */
static void add_from(struct pec_inreply *r, GMimeObject *obj)
{
    const char *value = mime_header(obj, "From");
    struct pec_strv addrs = PEC_STRV_INIT;
    struct pec_error err = { 0 };

    if (value != NULL && pec_addr_list_parse(value, &addrs, &err) > 0)
        for (size_t i = 0; i < addrs.n; i++)
            push_unique(&r->answerers, addrs.v[i]);
    pec_strv_clear(&addrs);
}

/* mailbox_like - printable ASCII without spaces, with an '@': what an rfc822 address of a delivery
 * status must look like before it is compared with the trace (a NUL inside would cut it short: found by
 * the fuzz.message CI run) */
static int mailbox_like(const char *v, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)v[i] <= ' ' || (unsigned char)v[i] >= 0x7f)
            return 0;
    return memchr(v, '@', len) != NULL;
}

/* add_status_recipients - Final-Recipient and Original-Recipient fields ("rfc822; addr") of a delivery
 * status; only the rfc822 address type names a mailbox */
static void add_status_recipients(struct pec_inreply *r, const char *text, size_t len)
{
    static const char *const fields[] = { "Final-Recipient:", "Original-Recipient:" };
    const char *p = text, *end = text + len;

    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((eol ? eol : end) - p);

        for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
            size_t fl = strlen(fields[f]);
            char addr[320];
            const char *v, *vend = p + n;

            if (n <= fl || strncasecmp(p, fields[f], fl) != 0)
                continue;
            for (v = p + fl; v < vend && (*v == ' ' || *v == '\t'); v++)
                ;
            if ((size_t)(vend - v) < 7 || strncasecmp(v, "rfc822;", 7) != 0)
                continue;
            for (v += 7; v < vend && (*v == ' ' || *v == '\t' || *v == '<'); v++)
                ;
            while (vend > v && (vend[-1] == '\r' || vend[-1] == ' ' || vend[-1] == '\t' || vend[-1] == '>'))
                vend--;
            if (vend > v && (size_t)(vend - v) < sizeof(addr) && mailbox_like(v, (size_t)(vend - v))) {
                memcpy(addr, v, (size_t)(vend - v));
                addr[vend - v] = '\0';
                push_unique(&r->answerers, addr);
            }
        }
        p = eol ? eol + 1 : end;
    }
}

/* add_returned_headers - the Message-ID of a returned message, whole or its header section alone */
static void add_returned_headers(struct pec_inreply *r, GMimePart *part)
{
    struct pec_buf b = PEC_BUF_INIT;
    GMimeMessage *m;

    mime_part_bytes(part, &b);
    if (b.len > 0 && (m = mime_parse_headers(b.data, b.len)) != NULL) {
        push_unique(&r->ids, g_mime_message_get_message_id(m));
        g_object_unref(m);
    }
    pec_buf_release(&b);
}

/* visit - one part of the message (the top-level ones: a report's parts are children of its root) */
static void visit(GMimeObject *parent, GMimeObject *part, gpointer data)
{
    struct pec_inreply *r = data;

    (void)parent;
    if (GMIME_IS_MESSAGE_PART(part)) {
        GMimeMessage *m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(part));

        if (m != NULL)
            push_unique(&r->ids, g_mime_message_get_message_id(m));
    } else if (GMIME_IS_PART(part) && mime_is_type(part, "text", "rfc822-headers")) {
        add_returned_headers(r, GMIME_PART(part));
    } else if (GMIME_IS_PART(part) && (mime_is_type(part, "message", "delivery-status") ||
                                       mime_is_type(part, "message", "global-delivery-status"))) {
        struct pec_buf b = PEC_BUF_INIT;

        mime_part_bytes(GMIME_PART(part), &b);
        add_status_recipients(r, b.data ? b.data : "", b.len);
        pec_buf_release(&b);
    }
}

/* pec_inreply_read - see inreply.h */
void pec_inreply_read(const void *raw, size_t len, struct pec_inreply *r)
{
    GMimeMessage *m;

    memset(r, 0, sizeof(*r));
    if ((m = mime_parse(raw, len, NULL)) == NULL)
        return;
    add_references(r, mime_header(GMIME_OBJECT(m), "In-Reply-To"));
    add_references(r, mime_header(GMIME_OBJECT(m), "References"));
    add_from(r, GMIME_OBJECT(m));
    if (g_mime_message_get_mime_part(m) != NULL)
        g_mime_message_foreach(m, visit, r);
    g_object_unref(m);
}

/* answers_one - whether rcpt sent one of the referenced messages to one of the answerers */
static int answers_one(const struct pec_inreply *r, const char *rcpt, pec_inreply_sent_fn sent, void *sent_ctx,
                       struct pec_error *err)
{
    for (size_t i = 0; i < r->ids.n; i++)
        for (size_t k = 0; k < r->answerers.n; k++) {
            int found = sent(sent_ctx, r->ids.v[i], rcpt, r->answerers.v[k], err);

            if (found != 0)
                return found;
        }
    return 0;
}

/* pec_inreply_answers - see inreply.h */
int pec_inreply_answers(const void *raw, size_t len, const char *const *rcpts, size_t n_rcpts,
                        pec_inreply_sent_fn sent, void *sent_ctx, struct pec_error *err)
{
    struct pec_inreply r;
    int rc = n_rcpts > 0 && sent != NULL;

    if (!rc)
        return 0;
    pec_inreply_read(raw, len, &r);
    for (size_t i = 0; i < n_rcpts && rc == 1; i++)
        rc = answers_one(&r, rcpts[i], sent, sent_ctx, err);
    pec_inreply_clear(&r);
    return rc;
}

/* pec_inreply_clear - free and zero */
void pec_inreply_clear(struct pec_inreply *r)
{
    pec_strv_clear(&r->ids);
    pec_strv_clear(&r->answerers);
}
