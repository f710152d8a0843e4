/* mime.c - the GMime layer: parse, serialise in canonical form, build parts, parse addresses. */
#include <pthread.h>
#include <string.h>
#include "mime_internal.h"
#include "pec/log.h"

static pthread_once_t mime_once = PTHREAD_ONCE_INIT;

/* mime_init_once - GMime's process-wide set-up */
static void mime_init_once(void)
{
    g_mime_init();
}

/* pec_mime_init - initialise GMime once */
void pec_mime_init(void)
{
    pthread_once(&mime_once, mime_init_once);
}

/* warning_text - what a parser warning means, for the problem list; NULL for harmless ones */
static const char *warning_text(GMimeParserWarning code)
{
    switch (code) {
    case GMIME_WARN_TRUNCATED_MESSAGE: return "message truncated";
    case GMIME_WARN_MALFORMED_MESSAGE: return "malformed message";
    case GMIME_WARN_MALFORMED_MULTIPART: return "multipart without parts";
    case GMIME_CRIT_INVALID_HEADER_NAME: return "invalid header name";
    case GMIME_CRIT_CONFLICTING_HEADER: return "conflicting headers";
    case GMIME_CRIT_MULTIPART_WITHOUT_BOUNDARY: return "multipart without boundary";
    case GMIME_CRIT_NESTING_OVERFLOW: return "MIME nesting too deep";
    case GMIME_CRIT_PART_WITHOUT_HEADERS_OR_CONTENT: return "MIME part without headers or content";
    case GMIME_WARN_INVALID_ADDRESS_LIST: return "invalid address list";
    default: return NULL;
    }
}

/* on_parser_warning - collect the warnings that matter, once each */
static void on_parser_warning(gint64 offset, GMimeParserWarning code, const gchar *item, gpointer user)
{
    struct pec_strv *problems = user;
    const char *text = warning_text(code);
    char buf[256];

    (void)offset;
    if (problems == NULL || text == NULL)
        return;
    if (item && *item)
        snprintf(buf, sizeof(buf), "MIME: %s (%.80s)", text, item);
    else
        snprintf(buf, sizeof(buf), "MIME: %s", text);
    if (!pec_strv_has(problems, buf) && problems->n < 32)
        pec_strv_push(problems, buf);
}

/* release_view - the stream over the caller's bytes is gone: free the array header, never the bytes */
static void release_view(gpointer array, GObject *stream)
{
    (void)stream;
    g_byte_array_free(array, FALSE);
}

/* view_stream - a read-only memory stream over the caller's bytes, without the copy that
 * g_mime_stream_mem_new_with_buffer makes (the parsed message refers to the bytes, which outlive it in
 * every caller: a 50 MB message would otherwise cost 50 MB more for every parse) */
static GMimeStream *view_stream(const void *raw, size_t len)
{
    GByteArray *array = g_byte_array_new_take((guint8 *)raw, len); /* not owned: freed without its data */
    GMimeStream *stream = g_mime_stream_mem_new_with_byte_array(array);

    g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(stream), FALSE);
    g_object_weak_ref(G_OBJECT(stream), release_view, array);
    return stream;
}

/* gmime_parse - GMime's parser on bytes already measured against the limits; the message refers to them */
static GMimeMessage *gmime_parse(const void *raw, size_t len, struct pec_strv *problems)
{
    GMimeParserOptions *opts;
    GMimeStream *stream;
    GMimeParser *parser;
    GMimeMessage *msg;

    pec_mime_init();
    opts = g_mime_parser_options_new();
    mime_set_warning_callback(opts, on_parser_warning, problems);
    stream = view_stream(raw ? raw : "", len);
    parser = g_mime_parser_new_with_stream(stream);
    g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
    msg = g_mime_parser_construct_message(parser, opts);
    g_object_unref(parser);
    g_object_unref(stream);
    g_mime_parser_options_free(opts);
    return msg;
}

/* tree_within - the tree GMime built keeps to the part and nesting limits (the scan over-counts, so this
 * only fails if the two disagree: then the scan's promise is kept anyway) */
static int tree_within(GMimeObject *obj, unsigned level, unsigned long *parts)
{
    if (obj == NULL)
        return 1;
    if (++*parts > PEC_MIME_MAX_PARTS || level > PEC_MIME_MAX_DEPTH)
        return 0;
    if (GMIME_IS_MULTIPART(obj)) {
        for (int i = 0; i < g_mime_multipart_get_count(GMIME_MULTIPART(obj)); i++)
            if (!tree_within(g_mime_multipart_get_part(GMIME_MULTIPART(obj), i), level + 1, parts))
                return 0;
    } else if (GMIME_IS_MESSAGE_PART(obj)) {
        GMimeMessage *m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));

        if (m && !tree_within(g_mime_message_get_mime_part(m), level + 1, parts))
            return 0;
    }
    return 1;
}

/* limit_problem - a limit as one of the parser's problems */
static void limit_problem(struct pec_strv *problems, const char *why)
{
    char buf[256];

    snprintf(buf, sizeof(buf), "MIME limit: %s", why);
    if (problems && !pec_strv_has(problems, buf))
        pec_strv_push(problems, buf);
}

/* mime_parse - parse raw bytes into a message, never beyond the limits */
GMimeMessage *mime_parse(const void *raw, size_t len, struct pec_strv *problems)
{
    unsigned long parts = 0;
    GMimeMessage *msg;
    char why[160];

    if (mime_scan(raw, len, NULL, why, sizeof(why)) < 0) {
        limit_problem(problems, why);
        return NULL;
    }
    msg = gmime_parse(raw, len, problems);
    if (msg && !tree_within(g_mime_message_get_mime_part(msg), 0, &parts)) {
        limit_problem(problems, "the parsed structure is over the part or nesting limit");
        g_object_unref(msg);
        return NULL;
    }
    return msg;
}

/* mime_parse_headers - the top-level header section alone, within the header limits */
GMimeMessage *mime_parse_headers(const void *raw, size_t len)
{
    const char *start = raw, *end = start + len, *p, *next;
    unsigned fields = 0;

    for (p = start; p < end; p = next) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t l = (size_t)((nl ? nl : end) - p);

        next = nl ? nl + 1 : end;
        if (l == 0 || (l == 1 && p[0] == '\r')) {
            end = next;
            break;
        }
        if ((size_t)(next - start) > PEC_MIME_MAX_HEADER_SIZE ||
            (p[0] != ' ' && p[0] != '\t' && ++fields > PEC_MIME_MAX_HEADER_FIELDS))
            return NULL;
    }
    if (end == start)
        return NULL;
    return gmime_parse(start, (size_t)(end - start), NULL);
}

/* A write-only GMime stream that appends to a pec_buf: what GMime serialises lands in the caller's buffer
 * directly, not in a memory stream copied out afterwards (for a 50 MB message, one copy less at a time). */
typedef struct {
    GMimeStream parent;
    struct pec_buf *buf;
} BufStream;

typedef struct {
    GMimeStreamClass parent_class;
} BufStreamClass;

G_DEFINE_TYPE(BufStream, buf_stream, GMIME_TYPE_STREAM)

/* buf_stream_write - append, and keep GMime's idea of the position */
static ssize_t buf_stream_write(GMimeStream *stream, const char *data, size_t len)
{
    pec_buf_append(((BufStream *)stream)->buf, data, len);
    stream->position += (gint64)len;
    return (ssize_t)len;
}

/* buf_stream_read - write-only: nothing to read */
static ssize_t buf_stream_read(GMimeStream *stream, char *data, size_t len)
{
    (void)stream;
    (void)data;
    (void)len;
    return -1;
}

/* buf_stream_noop - flush and close have nothing to do */
static int buf_stream_noop(GMimeStream *stream)
{
    (void)stream;
    return 0;
}

/* buf_stream_eos - write-only: always at the end */
static gboolean buf_stream_eos(GMimeStream *stream)
{
    (void)stream;
    return TRUE;
}

/* buf_stream_reset - cannot go back */
static int buf_stream_reset(GMimeStream *stream)
{
    (void)stream;
    return -1;
}

/* buf_stream_seek - cannot seek */
static gint64 buf_stream_seek(GMimeStream *stream, gint64 offset, GMimeSeekWhence whence)
{
    (void)stream;
    (void)offset;
    (void)whence;
    return -1;
}

/* buf_stream_tell - bytes written so far */
static gint64 buf_stream_tell(GMimeStream *stream)
{
    return stream->position;
}

/* buf_stream_length - unknown */
static gint64 buf_stream_length(GMimeStream *stream)
{
    (void)stream;
    return -1;
}

/* buf_stream_substream - none */
static GMimeStream *buf_stream_substream(GMimeStream *stream, gint64 start, gint64 end)
{
    (void)stream;
    (void)start;
    (void)end;
    return NULL;
}

/* buf_stream_class_init - the methods above */
static void buf_stream_class_init(BufStreamClass *klass)
{
    GMimeStreamClass *k = GMIME_STREAM_CLASS(klass);

    k->read = buf_stream_read;
    k->write = buf_stream_write;
    k->flush = buf_stream_noop;
    k->close = buf_stream_noop;
    k->eos = buf_stream_eos;
    k->reset = buf_stream_reset;
    k->seek = buf_stream_seek;
    k->tell = buf_stream_tell;
    k->length = buf_stream_length;
    k->substream = buf_stream_substream;
}

/* buf_stream_init - nothing before construction */
static void buf_stream_init(BufStream *s)
{
    s->buf = NULL;
}

/* buf_stream_new - a stream appending to out */
static GMimeStream *buf_stream_new(struct pec_buf *out)
{
    BufStream *s = g_object_new(buf_stream_get_type(), NULL);

    s->buf = out;
    g_mime_stream_construct(GMIME_STREAM(s), 0, -1);
    return GMIME_STREAM(s);
}

/* mime_write - serialise with CRLF line ends.  GMime's DOS newline format leaves multipart prologues
 * and epilogues as they were stored, so the whole output also goes through a LF -> CRLF filter. */
void mime_write(GMimeObject *obj, struct pec_buf *out)
{
    GMimeFormatOptions *fmt = g_mime_format_options_new();
    GMimeStream *sink = buf_stream_new(out);
    GMimeStream *filtered = g_mime_stream_filter_new(sink);
    GMimeFilter *crlf = g_mime_filter_unix2dos_new(FALSE);

    g_mime_stream_filter_add(GMIME_STREAM_FILTER(filtered), crlf);
    g_object_unref(crlf);
    g_mime_format_options_set_newline_format(fmt, GMIME_NEWLINE_FORMAT_DOS);
    g_mime_object_write_to_stream(obj, fmt, filtered);
    g_mime_stream_flush(filtered);
    g_object_unref(filtered);
    g_object_unref(sink);
    g_mime_format_options_free(fmt);
}

/* mime_header - header value by case-insensitive name */
const char *mime_header(GMimeObject *obj, const char *name)
{
    return g_mime_object_get_header(obj, name);
}

/* raw_header - the raw (folded, undecoded) value of the first field of that name, or NULL */
static const char *raw_header(GMimeObject *obj, const char *name)
{
    GMimeHeaderList *hl = g_mime_object_get_header_list(obj);

    for (int i = 0; hl && i < g_mime_header_list_get_count(hl); i++) {
        GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);

        if (g_ascii_strcasecmp(g_mime_header_get_name(h), name) == 0)
            return g_mime_header_get_raw_value(h);
    }
    return NULL;
}

/* word_bytes - the bytes and charset of one RFC 2047 encoded word [p, e); 0 when it is not one */
static int word_bytes(const char *p, const char *e, char *cs, size_t cslen, GByteArray *out)
{
    const char *q, *t, *star;
    size_t n;

    if (e - p < 8 || p[0] != '=' || p[1] != '?' || e[-2] != '?' || e[-1] != '=')
        return 0;
    if ((q = memchr(p + 2, '?', (size_t)(e - p - 2))) == NULL || q + 3 > e - 2 || q[2] != '?')
        return 0;
    star = memchr(p + 2, '*', (size_t)(q - p - 2)); /* RFC 2231 language: charset*lang */
    n = (size_t)((star ? star : q) - (p + 2));
    if (n == 0 || n >= cslen)
        return 0;
    memcpy(cs, p + 2, n);
    cs[n] = '\0';
    t = q + 3;
    if (q[1] == 'B' || q[1] == 'b') {
        gint state = 0;
        guint save = 0;
        size_t len = (size_t)(e - 2 - t), start = out->len;

        g_byte_array_set_size(out, start + len + 3);
        n = g_base64_decode_step(t, len, out->data + start, &state, &save);
        g_byte_array_set_size(out, start + n);
        return 1;
    }
    if (q[1] != 'Q' && q[1] != 'q')
        return 0;
    for (; t < e - 2; t++) {
        guint8 c = (guint8)*t;

        if (c == '_') {
            c = ' ';
        } else if (c == '=' && t + 2 < e - 2 && g_ascii_isxdigit(t[1]) && g_ascii_isxdigit(t[2])) {
            c = (guint8)(g_ascii_xdigit_value(t[1]) * 16 + g_ascii_xdigit_value(t[2]));
            t += 2;
        }
        g_byte_array_append(out, &c, 1);
    }
    return 1;
}

/* flush_words - the bytes of adjacent encoded words of one charset, converted to UTF-8 */
static void flush_words(GString *out, GByteArray *bytes, const char *cs)
{
    gchar *u;

    if (bytes->len == 0)
        return;
    u = g_convert((const gchar *)bytes->data, (gssize)bytes->len, "UTF-8", cs, NULL, NULL, NULL);
    if (u == NULL)
        u = g_utf8_make_valid((const gchar *)bytes->data, (gssize)bytes->len);
    g_string_append(out, u);
    g_free(u);
    g_byte_array_set_size(bytes, 0);
}

/* mime_header_text - an unstructured field decoded word by word (see mime_internal.h) */
char *mime_header_text(GMimeObject *obj, const char *name)
{
    const char *raw = raw_header(obj, name), *p;
    GString *out;
    GByteArray *bytes, *word;
    char cs[64] = "", wcs[64];
    int after_word = 0;
    const char *held = NULL; /* blanks after an encoded word, dropped if another one follows */
    size_t held_len = 0;
    char *r;

    if (raw == NULL)
        return NULL;
    out = g_string_new(NULL);
    bytes = g_byte_array_new();
    word = g_byte_array_new();
    for (p = raw; *p;) {
        const char *e = p;
        int blank = *p == ' ' || *p == '\t' || *p == '\r' || *p == '\n';

        while (*e && (blank == (*e == ' ' || *e == '\t' || *e == '\r' || *e == '\n')))
            e++;
        if (blank && after_word) {
            held = p;
            held_len = (size_t)(e - p);
        } else if (blank) {
            for (const char *c = p; c < e; c++) /* unfold: line ends go, the blanks stay */
                if (*c != '\r' && *c != '\n')
                    g_string_append_c(out, *c);
        } else if (word_bytes(p, e, wcs, sizeof(wcs), word)) {
            if (bytes->len > 0 && g_ascii_strcasecmp(wcs, cs) != 0)
                flush_words(out, bytes, cs);
            g_byte_array_append(bytes, word->data, word->len);
            g_byte_array_set_size(word, 0);
            snprintf(cs, sizeof(cs), "%s", wcs);
            held = NULL;
            after_word = 1;
        } else {
            g_byte_array_set_size(word, 0);
            flush_words(out, bytes, cs);
            for (const char *c = held; c && c < held + held_len; c++)
                if (*c != '\r' && *c != '\n')
                    g_string_append_c(out, *c);
            held = NULL;
            after_word = 0;
            g_string_append_len(out, p, e - p);
        }
        p = e;
    }
    flush_words(out, bytes, cs);
    g_byte_array_free(bytes, TRUE);
    g_byte_array_free(word, TRUE);
    if (g_utf8_validate(out->str, (gssize)out->len, NULL)) {
        r = strdup(out->str);
    } else {
        gchar *u = g_convert(out->str, (gssize)out->len, "UTF-8", "ISO-8859-1", NULL, NULL, NULL);
        r = strdup(u ? u : "");
        g_free(u);
    }
    g_string_free(out, TRUE);
    if (r == NULL)
        pec_panic("out of memory");
    return r;
}

/* mime_set_content - attach bytes as the decoded content of part */
static void mime_set_content(GMimePart *part, const void *data, size_t len)
{
    GMimeStream *mem = g_mime_stream_mem_new_with_buffer(data, len);
    GMimeDataWrapper *w = g_mime_data_wrapper_new_with_stream(mem, GMIME_CONTENT_ENCODING_DEFAULT);

    g_mime_part_set_content(part, w);
    g_object_unref(w);
    g_object_unref(mem);
}

/* mime_text_part - ISO-8859-1 quoted-printable text part, so the message stays 7-bit clean */
GMimePart *mime_text_part(const char *subtype, const char *utf8)
{
    GMimePart *part = g_mime_part_new_with_type("text", subtype);
    gsize outlen = 0;
    gchar *latin1 = g_convert_with_fallback(utf8, -1, "ISO-8859-1", "UTF-8", "?", NULL, &outlen, NULL);

    if (latin1 == NULL)
        pec_panic("mime_text_part: cannot convert text to ISO-8859-1");
    g_mime_object_set_content_type_parameter(GMIME_OBJECT(part), "charset", "iso-8859-1");
    g_mime_part_set_content_encoding(part, GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
    mime_set_content(part, latin1, outlen);
    g_free(latin1);
    return part;
}

/* mime_file_part - an attachment part named in both Content-Type and Content-Disposition */
GMimePart *mime_file_part(const char *type, const char *subtype, const char *filename, const char *disposition,
                          const void *data, size_t len, GMimeContentEncoding encoding)
{
    GMimePart *part = g_mime_part_new_with_type(type, subtype);
    GMimeContentDisposition *disp = g_mime_content_disposition_new();

    g_mime_object_set_content_type_parameter(GMIME_OBJECT(part), "name", filename);
    g_mime_content_disposition_set_disposition(disp, disposition);
    g_mime_content_disposition_set_parameter(disp, "filename", filename);
    g_mime_object_set_content_disposition(GMIME_OBJECT(part), disp);
    g_object_unref(disp);
    g_mime_part_set_content_encoding(part, encoding);
    mime_set_content(part, data, len);
    return part;
}

/* mime_is_type - content type test */
int mime_is_type(GMimeObject *obj, const char *type, const char *subtype)
{
    GMimeContentType *ct = g_mime_object_get_content_type(obj);

    return ct != NULL && g_mime_content_type_is_type(ct, type, subtype);
}

/* stream_to_buf - copy a whole stream (from its start) into out */
static void stream_to_buf(GMimeStream *s, struct pec_buf *out)
{
    char chunk[8192];
    ssize_t n;

    g_mime_stream_reset(s);
    while ((n = g_mime_stream_read(s, chunk, sizeof(chunk))) > 0)
        pec_buf_append(out, chunk, (size_t)n);
}

/* mime_part_bytes - decoded content of a leaf part */
void mime_part_bytes(GMimePart *part, struct pec_buf *out)
{
    GMimeDataWrapper *w = g_mime_part_get_content(part);
    GMimeStream *mem;
    GByteArray *bytes;

    if (w == NULL)
        return;
    mem = g_mime_stream_mem_new();
    g_mime_data_wrapper_write_to_stream(w, mem);
    bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
    pec_buf_append(out, bytes->data, bytes->len);
    g_object_unref(mem);
}

/* mime_part_encoded_bytes - content as transferred, with CRLF line ends */
void mime_part_encoded_bytes(GMimePart *part, struct pec_buf *out)
{
    GMimeDataWrapper *w = g_mime_part_get_content(part);
    GMimeStream *mem, *filtered;
    GMimeFilter *crlf;

    if (w == NULL)
        return;
    mem = g_mime_stream_mem_new();
    filtered = g_mime_stream_filter_new(mem);
    crlf = g_mime_filter_unix2dos_new(FALSE);
    g_mime_stream_filter_add(GMIME_STREAM_FILTER(filtered), crlf);
    g_object_unref(crlf);
    if (g_mime_data_wrapper_get_encoding(w) == g_mime_part_get_content_encoding(part) ||
        g_mime_part_get_content_encoding(part) == GMIME_CONTENT_ENCODING_DEFAULT) {
        GMimeStream *raw = g_mime_data_wrapper_get_stream(w);
        char chunk[8192];
        ssize_t n;

        g_mime_stream_reset(raw);
        while ((n = g_mime_stream_read(raw, chunk, sizeof(chunk))) > 0)
            g_mime_stream_write(filtered, chunk, (size_t)n);
    } else {
        /* content held decoded (a part we built): encode it as it will be sent */
        GMimeFilter *enc = g_mime_filter_basic_new(g_mime_part_get_content_encoding(part), TRUE);
        GMimeStream *encoder = g_mime_stream_filter_new(filtered);

        g_mime_stream_filter_add(GMIME_STREAM_FILTER(encoder), enc);
        g_object_unref(enc);
        g_mime_data_wrapper_write_to_stream(w, encoder);
        g_mime_stream_flush(encoder);
        g_object_unref(encoder);
    }
    g_mime_stream_flush(filtered);
    g_object_unref(filtered);
    stream_to_buf(mem, out);
    g_object_unref(mem);
}

/* collect_mailboxes - flatten an address list (groups included) into bare addresses */
static int collect_mailboxes(InternetAddressList *list, struct pec_strv *out, struct pec_error *err)
{
    int n = 0;

    for (int i = 0; i < internet_address_list_length(list); i++) {
        InternetAddress *ia = internet_address_list_get_address(list, i);

        if (INTERNET_ADDRESS_IS_GROUP(ia)) {
            int k = collect_mailboxes(internet_address_group_get_members(INTERNET_ADDRESS_GROUP(ia)), out, err);
            if (k < 0)
                return -1;
            n += k;
        } else {
            const char *addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia));
            const char *at = addr ? strrchr(addr, '@') : NULL;

            if (at == NULL || at == addr || at[1] == '\0' || strpbrk(addr, " \t\r\n<>\"") != NULL) {
                pec_error_set(err, PEC_ERR_INVALID, "not a valid address: \"%s\"", addr ? addr : "");
                return -1;
            }
            pec_strv_push(out, addr);
            n++;
        }
    }
    return n;
}

/* route_malformed - an obsolete route ("@a,@b:" after the '<' of an angle-addr) that is not a list of
 * '@'-domains ended by ':' ("<@:x@y>", "<@a,b:x@y>"); GMime's strict parser leaks on those (3.2.13, fuzzing) */
static int route_malformed(const char *s)
{
    for (;;) {
        s += strspn(s, " \t\r\n");
        if (*s++ != '@')
            return 1;
        size_t len = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-");
        if (len == 0)
            return 1;
        s += len;
        s += strspn(s, " \t\r\n");
        if (*s == ':')
            return 0;
        if (*s++ != ',')
            return 1;
    }
}

/* gmime_unsafe - syntax that no address list has and on which GMime's strict address parser leaks memory
 * (3.2.13, found by fuzzing), so such a value must not reach it: a '>' that closes no '<' ("a>"); a '<'
 * inside <...>; an addr-spec and then an angle-addr in one address ("a@b <c@d>", "Per conto di: x@y <p@q>":
 * a display name holds no unquoted '@'); a ',' or ';' inside <...> past its obsolete route ("<a@b,c>",
 * "g: <a@b;c>;"); a malformed obsolete route; a quote, comment, domain literal or angle-addr left open
 * (":t(;i>") */
static int gmime_unsafe(const char *s)
{
    int quoted = 0, comment = 0, literal = 0, angle = 0, route = 0, at = 0;

    for (; *s; s++) {
        if (*s == '\\' && s[1]) {
            s++;
        } else if (quoted) {
            quoted = *s != '"';
        } else if (comment) {
            comment += *s == '(' ? 1 : *s == ')' ? -1 : 0;
        } else if (literal) {
            literal = *s != ']';
        } else if (*s == '"') {
            quoted = 1;
        } else if (*s == '(') {
            comment = 1;
        } else if (*s == '[') {
            literal = 1;
        } else if (*s == '<') {
            if (angle || at)
                return 1;
            angle = 1;
            route = s[1 + strspn(s + 1, " \t\r\n")] == '@'; /* "<@a,@b:x@y>" lists hosts before the ':' */
            if (route && route_malformed(s + 1))
                return 1;
        } else if (*s == '>') {
            if (!angle)
                return 1;
            angle = 0;
        } else if (angle) {
            if (route && *s == ':')
                route = 0;
            else if (!route && (*s == ',' || *s == ';'))
                return 1;
        } else if (*s == '@') {
            at = 1;
        } else if (*s == ',' || *s == ':' || *s == ';') {
            at = 0; /* the next address, or the members of a group */
        }
    }
    return quoted || comment || literal || angle;
}

/* note_bad_address - GMime's warning callback: an address it could not read, which it skips, going on at
 * the next ',' or ';' (even inside quotes), or two addresses without a ',' between them */
static void note_bad_address(gint64 offset, GMimeParserWarning code, const gchar *item, gpointer bad)
{
    (void)offset;
    (void)item;
    if (code == GMIME_WARN_INVALID_ADDRESS_LIST)
        *(int *)bad = 1;
}

/* parse_list - GMime's reading of value in one compliance mode; NULL when any address in it is bad */
static InternetAddressList *parse_list(const char *value, GMimeRfcComplianceMode mode)
{
    GMimeParserOptions *opts = g_mime_parser_options_new();
    InternetAddressList *list;
    int bad = 0;

    g_mime_parser_options_set_address_compliance_mode(opts, mode);
    mime_set_warning_callback(opts, note_bad_address, &bad);
    list = internet_address_list_parse(opts, value);
    g_mime_parser_options_free(opts);
    if (list != NULL && bad) {
        g_object_unref(list);
        list = NULL;
    }
    return list;
}

/* pec_addr_list_parse - bare addresses of a header value; a list with any bad address in it is refused
 * whole (GMime alone would drop it and return the rest: "a@b.test;c@d.test" gave one mailbox) */
int pec_addr_list_parse(const char *value, struct pec_strv *out, struct pec_error *err)
{
    InternetAddressList *list;
    int n;

    /* a blank value (an empty Cc:) holds no address; GMime would call it unparseable */
    if (value[strspn(value, " \t\r\n")] == '\0')
        return 0;
    if (gmime_unsafe(value))
        goto invalid;
    pec_mime_init();
    /* The strict reading decides, but only a value the loose one reads cleanly reaches it: the loose mode
     * has none of the strict mode's leaking error paths, and after a bad address GMime goes on from a
     * ',' or ';' that may lie inside quotes, where the checks above cannot follow it (3.2.13, fuzzing) */
    list = parse_list(value, GMIME_RFC_COMPLIANCE_LOOSE);
    if (list == NULL)
        goto invalid;
    g_object_unref(list);
    list = parse_list(value, GMIME_RFC_COMPLIANCE_STRICT);
    if (list == NULL)
        goto invalid;
    n = collect_mailboxes(list, out, err);
    g_object_unref(list);
    return n;
invalid:
    pec_error_set(err, PEC_ERR_INVALID, "not an address list: \"%.200s\"", value);
    return -1;
}

/* pec_addr_domain - domain part of an address */
const char *pec_addr_domain(const char *addr)
{
    const char *at = strrchr(addr, '@');

    return at ? at + 1 : "";
}
