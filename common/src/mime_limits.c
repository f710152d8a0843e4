/* mime_limits.c - the resource limits of the MIME layer: one pass over the raw bytes, before GMime builds
 * anything, that counts the entities, levels and header fields a parser would make of them.
 *
 * The pass reads RFC 2045/2046 structure the way a lenient parser does and, where it cannot be sure, errs
 * towards counting more, so that its counts bound what GMime builds from the same bytes:
 *  - a line starting with "--" and the boundary of an open multipart opens a part; only a delimiter as
 *    RFC 2046 writes it ("--boundary" and blanks, "--boundary--") closes what is open inside it, so the
 *    multiparts a parser may still consider open are open here too;
 *  - a header section runs to the blank line (lines that are no header field included), or to a delimiter;
 *  - a message/ * body (and a part without Content-Type in a multipart/digest) is read as a message;
 *  - a multipart whose boundary cannot be read with certainty (RFC 2231 or escaped parameters, comments,
 *    several Content-Type fields, no boundary) makes every later line starting with "--" a part.
 * Memory: one frame per open multipart (at most 2 * (depth + 2)) and the Content-Type value being read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "mime_internal.h"
#include "pec/log.h"

const struct pec_mime_limits pec_mime_default_limits = {
    PEC_MIME_MAX_SIZE, PEC_MIME_MAX_PARTS, PEC_MIME_MAX_DEPTH, PEC_MIME_MAX_HEADER_SIZE, PEC_MIME_MAX_HEADER_FIELDS,
};

/* An open multipart. */
struct frame {
    char *bnd;      /* NULL: the boundary is not known for sure, every "--" line opens a part */
    size_t blen;
    unsigned level; /* of the multipart entity; its parts are one level below */
    int digest;     /* multipart/digest: a part without Content-Type is a message */
};

struct scan {
    const char *p, *end;
    const struct pec_mime_limits *lim;
    struct frame *frames;
    size_t n, cap;
    unsigned long parts, fields;
    char *why;
    size_t whylen;
};

/* What the Content-Type fields of one header section say. */
struct ctype {
    int n;          /* fields seen */
    int multipart, message, digest;
    int unsure;     /* the boundary cannot be read with certainty */
    int nbnd;       /* boundary parameters seen */
    char *bnd;
    size_t blen;
};

/* over - record why the bytes are refused */
static int over(struct scan *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int over(struct scan *s, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(s->why, s->whylen, fmt, ap);
    va_end(ap);
    return -1;
}

/* ws - whitespace inside a (possibly folded) field value */
static int ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* has_ci - the value contains word, ignoring case (a comment could hide the type from a strict reading) */
static int has_ci(const char *v, size_t n, const char *word)
{
    size_t wl = strlen(word);

    for (size_t i = 0; i + wl <= n; i++)
        if (strncasecmp(v + i, word, wl) == 0)
            return 1;
    return 0;
}

/* take_boundary - one boundary parameter value [v, e), quoted or not; escapes make it unsure */
static void take_boundary(struct ctype *ct, const char *v, const char *e)
{
    const char *q;

    ct->nbnd++;
    if (v < e && *v == '"') {
        for (q = ++v; q < e && *q != '"'; q++)
            if (*q == '\\')
                ct->unsure = 1;
        e = q;
    } else {
        for (q = v; q < e && *q != ';' && !ws(*q); q++)
            ;
        e = q;
    }
    if (e > v && ws(e[-1])) /* blanks at the end: parsers disagree on them, trust no reading */
        ct->unsure = 1;
    if (e == v) {
        ct->unsure = 1;
        return;
    }
    free(ct->bnd);
    if ((ct->bnd = strndup(v, (size_t)(e - v))) == NULL)
        pec_panic("out of memory");
    ct->blen = (size_t)(e - v);
}

/* parse_ctype - type, subtype and boundary of one Content-Type value [v, v + n) */
static void parse_ctype(struct ctype *ct, const char *v, size_t n)
{
    const char *p = v, *e = v + n, *t;
    int quoted = 0, commented = 0;

    ct->n++;
    /* a NUL ends the value for a C-string parser and not for us: no boundary read here is certain */
    if (n > 0 && memchr(v, '\0', n) != NULL)
        ct->unsure = 1;
    while (p < e && ws(*p))
        p++;
    for (t = p; p < e && *p != '/' && *p != ';' && *p != '(' && !ws(*p); p++)
        ;
    ct->multipart |= p - t == 9 && strncasecmp(t, "multipart", 9) == 0;
    ct->message |= p - t == 7 && strncasecmp(t, "message", 7) == 0;
    while (p < e && ws(*p))
        p++;
    if (p < e && *p == '/') {
        for (p++; p < e && ws(*p); p++)
            ;
        for (t = p; p < e && *p != ';' && *p != '(' && !ws(*p); p++)
            ;
        ct->digest |= p - t == 6 && strncasecmp(t, "digest", 6) == 0;
    }
    for (; p < e; p++) {
        const char *name, *ne;

        if (quoted) {
            if (*p == '\\' && p + 1 < e)
                p++;
            else if (*p == '"')
                quoted = 0;
            continue;
        }
        if (*p == '"') {
            quoted = 1;
            continue;
        }
        if (*p == '(') { /* comments: read the words anywhere (once: the whole value), and trust no boundary */
            if (!commented) {
                ct->unsure = 1;
                ct->multipart |= has_ci(v, n, "multipart");
                ct->message |= has_ci(v, n, "message");
                ct->digest |= has_ci(v, n, "digest");
                commented = 1;
            }
            continue;
        }
        if (*p != ';')
            continue;
        for (name = p + 1; name < e && ws(*name); name++)
            ;
        for (ne = name; ne < e && *ne != '=' && *ne != ';' && !ws(*ne); ne++)
            ;
        if (ne - name >= 8 && strncasecmp(name, "boundary", 8) == 0) {
            const char *val = ne;

            if (ne - name > 8) { /* boundary*, boundary*0*: RFC 2231 forms */
                ct->unsure = 1;
                continue;
            }
            while (val < e && ws(*val))
                val++;
            if (val >= e || *val != '=') {
                ct->unsure = 1;
                continue;
            }
            for (val++; val < e && ws(*val); val++)
                ;
            take_boundary(ct, val, e);
        }
    }
    if (has_ci(v, n, "boundary") && ct->nbnd == 0)
        ct->unsure = 1;
}

/* match_frame - the innermost open multipart the line [p, p + l) (starting with "--") belongs to, or -1 */
static long match_frame(const struct scan *s, const char *p, size_t l)
{
    for (size_t i = s->n; i-- > 0;) {
        const struct frame *f = &s->frames[i];

        if (f->bnd == NULL || (l >= 2 + f->blen && memcmp(p + 2, f->bnd, f->blen) == 0))
            return (long)i;
    }
    return -1;
}

/* next_part - the level and digest default of a part the line may open: a parser that closed what the
 * scan keeps open may take it for a delimiter of any multipart open here, so the deepest level of those it
 * matches, and a message by default when one of them is a multipart/digest */
static unsigned next_part(const struct scan *s, const char *p, size_t l, int *digest)
{
    unsigned level = 0;

    *digest = 0;
    for (size_t i = 0; i < s->n; i++) {
        const struct frame *f = &s->frames[i];

        if (f->bnd == NULL || (l >= 2 + f->blen && memcmp(p + 2, f->bnd, f->blen) == 0)) {
            if (f->level + 1 > level)
                level = f->level + 1;
            *digest |= f->digest;
        }
    }
    return level;
}

/* lwsp_only - blanks only after the boundary: what a parser takes as a delimiter (RFC 2046 §5.1.1) */
static int lwsp_only(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t')
            return 0;
    return 1;
}

/* line_end - the length of the line at p without its line end, and where the next one starts */
static size_t line_end(const struct scan *s, const char *p, const char **next)
{
    const char *nl = memchr(p, '\n', (size_t)(s->end - p));
    size_t l;

    *next = nl ? nl + 1 : s->end;
    l = (size_t)((nl ? nl : s->end) - p);
    if (l > 0 && p[l - 1] == '\r')
        l--;
    return l;
}

/* scan_headers - one header section from s->p: count its fields and read its Content-Type; it ends after
 * the blank line, before a delimiter of an open multipart (*at_delim), or at the end of the bytes */
static int scan_headers(struct scan *s, struct ctype *ct, int *at_delim)
{
    const char *start = s->p, *next;
    struct pec_buf value = PEC_BUF_INIT; /* the Content-Type field being read, folded lines included */
    int in_ct = 0, rc = 0;

    *at_delim = 0;
    while (s->p < s->end) {
        size_t l = line_end(s, s->p, &next);

        if (l == 0) {
            s->p = next;
            break;
        }
        if (l >= 2 && s->p[0] == '-' && s->p[1] == '-' && match_frame(s, s->p, l) >= 0) {
            *at_delim = 1;
            break;
        }
        if ((size_t)(next - start) > s->lim->header_size) {
            rc = over(s, "a header section is larger than %zu bytes", s->lim->header_size);
            break;
        }
        if (s->p[0] == ' ' || s->p[0] == '\t') {
            if (in_ct)
                pec_buf_append(&value, s->p, (size_t)(next - s->p));
        } else {
            const char *colon = memchr(s->p, ':', l), *ne = colon;

            if (in_ct)
                parse_ctype(ct, value.data, value.len);
            in_ct = 0;
            if (++s->fields > s->lim->header_fields) {
                rc = over(s, "more than %u header fields", s->lim->header_fields);
                break;
            }
            while (ne && ne > s->p && ws(ne[-1]))
                ne--;
            if (ne && ne - s->p == 12 && strncasecmp(s->p, "Content-Type", 12) == 0) {
                in_ct = 1;
                pec_buf_reset(&value);
                pec_buf_append(&value, colon + 1, (size_t)(next - colon - 1));
            }
        }
        s->p = next;
    }
    if (rc == 0 && in_ct)
        parse_ctype(ct, value.data, value.len);
    pec_buf_release(&value);
    return rc;
}

/* push - open a multipart at level */
static int push(struct scan *s, unsigned level, const struct ctype *ct)
{
    struct frame *f;

    /* levels grow along the stack, so depth + 1 frames hold any message read with certainty; under a
     * multipart whose boundary is unknown parts stay open (see mime_scan), hence the room for as many */
    if (s->n == s->cap)
        return over(s, "MIME nesting deeper than %u levels", s->lim->depth);
    f = &s->frames[s->n++];
    f->bnd = NULL;
    f->blen = 0;
    f->level = level;
    f->digest = ct->digest;
    if (!ct->unsure && ct->n == 1 && ct->nbnd == 1 && ct->bnd != NULL) {
        if ((f->bnd = strndup(ct->bnd, ct->blen)) == NULL)
            pec_panic("out of memory");
        f->blen = ct->blen;
    }
    return 0;
}

/* pop - close the open multiparts from index k up */
static void pop(struct scan *s, size_t k)
{
    while (s->n > k)
        free(s->frames[--s->n].bnd);
}

/* count - one more entity at level */
static int count(struct scan *s, unsigned level)
{
    if (++s->parts > s->lim->parts)
        return over(s, "more than %u MIME parts", s->lim->parts);
    if (level > s->lim->depth)
        return over(s, "MIME nesting deeper than %u levels", s->lim->depth);
    return 0;
}

/* enter - the entity whose header section starts at s->p, at level, and the messages it embeds */
static int enter(struct scan *s, unsigned level, int in_digest)
{
    for (;;) {
        struct ctype ct = { 0 };
        int at_delim, rc;

        if (count(s, level) < 0)
            return -1;
        rc = scan_headers(s, &ct, &at_delim);
        if (rc == 0 && ct.n == 0 && in_digest)
            ct.message = 1;
        if (rc == 0 && ct.multipart) /* without exactly one clean boundary: trust none */
            rc = push(s, level, &ct);
        free(ct.bnd);
        if (rc < 0)
            return -1;
        if (!ct.message) /* a multipart that also says message is read both ways */
            return 0;
        level++;
        in_digest = 0;
        if (at_delim || s->p >= s->end) /* an empty embedded message is still one */
            return count(s, level);
    }
}

/* mime_scan - see mime_internal.h */
int mime_scan(const void *raw, size_t len, const struct pec_mime_limits *lim, char *why, size_t whylen)
{
    struct scan s = { 0 };
    const struct frame *f;
    const char *next;
    unsigned level;
    int rc = -1, digest;

    s.lim = lim ? lim : &pec_mime_default_limits;
    s.p = raw ? raw : "";
    s.end = s.p + len;
    s.why = why;
    s.whylen = whylen;
    if (whylen)
        why[0] = '\0';
    if (len > s.lim->size)
        return over(&s, "the message is larger than %zu bytes", s.lim->size);
    s.cap = 2 * ((size_t)s.lim->depth + 2);
    if ((s.frames = calloc(s.cap, sizeof(*s.frames))) == NULL)
        pec_panic("out of memory");
    if (len > 0 && (rc = enter(&s, 0, 0)) < 0)
        goto out;
    while (s.p < s.end) {
        const char *p = s.p;
        size_t l = line_end(&s, p, &next);
        long k;

        s.p = next;
        if (l < 2 || p[0] != '-' || p[1] != '-' || (k = match_frame(&s, p, l)) < 0)
            continue;
        f = &s.frames[k];
        if (f->bnd && l == f->blen + 4 && p[l - 2] == '-' && p[l - 1] == '-') { /* "--boundary--" */
            pop(&s, (size_t)k);
            /* if that multipart was one the scan only supposed, the line may open a part of one below it */
            if ((k = match_frame(&s, p, l)) < 0)
                continue;
            f = &s.frames[k];
            if (f->bnd && l == f->blen + 4 && p[l - 2] == '-' && p[l - 1] == '-')
                continue;
        } else if (f->bnd && lwsp_only(p + 2 + f->blen, l - 2 - f->blen)) { /* "--boundary": the next part */
            pop(&s, (size_t)k + 1);
        }
        /* otherwise the boundary and more, or a multipart whose boundary is unknown: maybe a part, maybe text
         * of a part open above it; counted as a part, and nothing is closed, so that every multipart a
         * parser may still have open stays open here too */
        level = next_part(&s, p, l, &digest);
        if ((rc = enter(&s, level, digest)) < 0)
            goto out;
    }
    rc = 0;
out:
    pop(&s, 0);
    free(s.frames);
    return rc;
}

/* pec_mime_check - the limits as an error */
int pec_mime_check(const void *raw, size_t len, const struct pec_mime_limits *lim, struct pec_error *err)
{
    char why[160];

    if (mime_scan(raw, len, lim, why, sizeof(why)) == 0)
        return 0;
    pec_error_set(err, PEC_ERR_INVALID, "over the MIME limits: %s", why);
    return -1;
}
