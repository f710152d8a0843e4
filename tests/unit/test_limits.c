/* test_limits.c - the MIME limits (pec/mime.h): each one just under (read) and just over (refused, the
 * reason naming it) in the scan and in the analysis; the 100,000-part message refused at once with bounded
 * memory by the analysis and by the three points; the access point's room for the receipts (the busta of an
 * original just inside is still inside, and so is its consegna completa); and the scan's promise, checked
 * against GMime on generated structures: it never counts fewer parts or levels than GMime builds. */
#include <gmime/gmime.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include "check.h"
#include "pec/access.h"
#include "pec/delivery.h"
#include "pec/mime.h"
#include "pec/reception.h"

#include "golden_fixture.h"

#define HEAD "From: alice@pec-esempio.test\r\nTo: bob@pec-esempio.test\r\nSubject: limiti\r\n" \
             "Date: Mon, 23 Nov 2026 08:00:00 +0100\r\nMessage-ID: <lim@mua.example>\r\nMIME-Version: 1.0\r\n"

static const struct pec_config *cfg;

/* has_error - some error contains frag */
static int has_error(const struct pec_analysis *a, const char *frag)
{
    for (size_t i = 0; i < a->errors.n; i++)
        if (strstr(a->errors.v[i], frag))
            return 1;
    return 0;
}

/* seconds - monotonic clock */
static double seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* max_rss_mb - the process's peak resident size so far */
static long max_rss_mb(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024;
}

/* ---- messages at the edges ---- */

/* many_parts - a message of n entities: a multipart/mixed with n - 1 text parts */
static void many_parts(struct pec_buf *b, unsigned long n)
{
    pec_buf_reset(b);
    pec_buf_puts(b, HEAD "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n");
    for (unsigned long i = 1; i < n; i++)
        pec_buf_printf(b, "--b\r\nContent-Type: text/plain\r\n\r\nparte %lu\r\n", i);
    pec_buf_puts(b, "--b--\r\n");
}

/* nested - a leaf at level depth: depth multiparts, each the only part of the one above */
static void nested(struct pec_buf *b, unsigned depth)
{
    pec_buf_reset(b);
    pec_buf_puts(b, HEAD);
    for (unsigned i = 0; i < depth; i++)
        pec_buf_printf(b, "Content-Type: multipart/mixed; boundary=\"n%u\"\r\n\r\n--n%u\r\n", i, i);
    pec_buf_puts(b, "Content-Type: text/plain\r\n\r\nfondo\r\n");
    for (unsigned i = depth; i-- > 0;)
        pec_buf_printf(b, "--n%u--\r\n", i);
}

/* header_of - a message whose top-level header section is exactly size bytes (line ends included) */
static void header_of(struct pec_buf *b, size_t size)
{
    size_t pad;

    pec_buf_reset(b);
    pec_buf_puts(b, HEAD);
    pad = size - b->len - strlen("X-Pad: \r\n");
    pec_buf_puts(b, "X-Pad: ");
    for (size_t i = 0; i < pad; i++)
        pec_buf_append(b, i % 70 == 69 ? "\t" : "p", 1); /* a tab: one long value, folded nowhere */
    pec_buf_puts(b, "\r\n\r\ncorpo\r\n");
}

/* fields_of - a message of n header fields in all: the top section's 7, the rest in two parts */
static void fields_of(struct pec_buf *b, unsigned long n)
{
    unsigned long rest = n - 7 - 2, first = rest / 2; /* each part also has its Content-Type */

    pec_buf_reset(b);
    pec_buf_puts(b, HEAD "Content-Type: multipart/mixed; boundary=\"f\"\r\n\r\n");
    for (int part = 0; part < 2; part++) {
        pec_buf_puts(b, "--f\r\nContent-Type: text/plain\r\n");
        for (unsigned long i = 0; i < (part ? rest - first : first); i++)
            pec_buf_puts(b, "X-F: 1\r\n");
        pec_buf_puts(b, "\r\ntesto\r\n");
    }
    pec_buf_puts(b, "--f--\r\n");
}

/* sized - a message of exactly size bytes */
static void sized(struct pec_buf *b, size_t size)
{
    pec_buf_reset(b);
    pec_buf_puts(b, HEAD "\r\n");
    pec_buf_reserve(b, size);
    while (b->len + 72 <= size)
        pec_buf_puts(b, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
    while (b->len < size)
        pec_buf_append(b, "a", 1);
}

/* edge - under passes the scan and the analysis reads it; over is refused by both, naming the limit (and,
 * unless the header section itself is too large, still read as far as its sender) */
static void edge(const char *what, const struct pec_buf *under, const struct pec_buf *over, const char *reason)
{
    int header_read = strstr(reason, "header section") == NULL;

    struct pec_error err = { 0 };
    struct pec_analysis a;

    CHECK(pec_mime_check(under->data, under->len, NULL, &err) == 0);
    if (err.msg[0])
        fprintf(stderr, "  %s, just under: %s\n", what, err.msg);
    CHECK(pec_message_analyze(under->data, under->len, &aopts, &a, &err) == 0);
    CHECK(a.kind == PEC_KIND_ORDINARIA && !has_error(&a, "MIME limit"));
    pec_analysis_clear(&a);

    CHECK(pec_mime_check(over->data, over->len, NULL, &err) == -1 && err.cls == PEC_ERR_INVALID);
    CHECK(strstr(err.msg, reason) != NULL);
    if (strstr(err.msg, reason) == NULL)
        fprintf(stderr, "  %s, just over: \"%s\" lacks \"%s\"\n", what, err.msg, reason);
    CHECK(pec_message_analyze(over->data, over->len, &aopts, &a, &err) == 0);
    CHECK(a.valid == 0 && has_error(&a, "MIME limit: ") && has_error(&a, reason));
    if (header_read)
        CHECK_STR(a.from, "alice@pec-esempio.test"); /* read from the header section alone */
    else
        CHECK(a.kind == PEC_KIND_MALFORMATA && a.from == NULL);
    pec_analysis_clear(&a);
}

/* test_edges - every limit, one unit under and one over */
static void test_edges(void)
{
    struct pec_buf u = PEC_BUF_INIT, o = PEC_BUF_INIT;
    char reason[128];

    many_parts(&u, PEC_MIME_MAX_PARTS);
    many_parts(&o, PEC_MIME_MAX_PARTS + 1);
    snprintf(reason, sizeof(reason), "more than %u MIME parts", PEC_MIME_MAX_PARTS);
    edge("parts", &u, &o, reason);

    nested(&u, PEC_MIME_MAX_DEPTH);
    nested(&o, PEC_MIME_MAX_DEPTH + 1);
    snprintf(reason, sizeof(reason), "nesting deeper than %u levels", PEC_MIME_MAX_DEPTH);
    edge("depth", &u, &o, reason);

    header_of(&u, PEC_MIME_MAX_HEADER_SIZE);
    header_of(&o, PEC_MIME_MAX_HEADER_SIZE + 1);
    snprintf(reason, sizeof(reason), "header section is larger than %zu bytes", PEC_MIME_MAX_HEADER_SIZE);
    edge("header size", &u, &o, reason);

    fields_of(&u, PEC_MIME_MAX_HEADER_FIELDS);
    fields_of(&o, PEC_MIME_MAX_HEADER_FIELDS + 1);
    snprintf(reason, sizeof(reason), "more than %u header fields", PEC_MIME_MAX_HEADER_FIELDS);
    edge("header fields", &u, &o, reason);

    sized(&u, PEC_MIME_MAX_SIZE);
    sized(&o, PEC_MIME_MAX_SIZE + 1);
    CHECK(u.len == PEC_MIME_MAX_SIZE && o.len == PEC_MIME_MAX_SIZE + 1);
    snprintf(reason, sizeof(reason), "larger than %zu bytes", PEC_MIME_MAX_SIZE);
    edge("size", &u, &o, reason);

    /* limits of one's own: what pec_mime_check is given */
    {
        struct pec_mime_limits small = pec_mime_default_limits;
        struct pec_error err = { 0 };

        small.parts = 3;
        many_parts(&u, 3);
        many_parts(&o, 4);
        CHECK(pec_mime_check(u.data, u.len, &small, &err) == 0);
        CHECK(pec_mime_check(o.data, o.len, &small, &err) == -1 && strstr(err.msg, "more than 3 MIME parts"));
    }
    pec_buf_release(&u);
    pec_buf_release(&o);
}

/* ---- the attack of the issue: 100,000 parts in 3.6 MB ---- */

/* test_huge - refused by the analysis and by each point, quickly, with bounded memory (run first: the
 * process's peak memory is measured around it) */
static void test_huge(void)
{
    struct pec_buf b = PEC_BUF_INIT;
    struct pec_analysis a;
    struct pec_error err = { 0 };
    long before;
    double t0, dt;

    many_parts(&b, 100000);
    before = max_rss_mb();
    t0 = seconds();
    CHECK(pec_message_analyze(b.data, b.len, &aopts, &a, &err) == 0);
    dt = seconds() - t0;
    CHECK(a.valid == 0 && has_error(&a, "MIME limit: more than 10000 MIME parts"));
    CHECK(a.kind == PEC_KIND_ORDINARIA && a.from != NULL);
    pec_analysis_clear(&a);
    printf("100,000 parts (%zu bytes): analysis %.3f s, peak memory %ld -> %ld MB\n", b.len, dt, before,
           max_rss_mb());
    CHECK(dt < 5.0);
    CHECK(max_rss_mb() - before < 64);

    /* the reception point: refused (a PEC-only mailbox), nothing owed */
    {
        static const char *const bob[] = { "bob@pec-esempio.test" };
        struct pec_reception_ctx r = { cfg, &iss, trust, idx, NULL, NULL };
        struct pec_reception_verdict v;

        t0 = seconds();
        CHECK(pec_reception_decide(&r, b.data, b.len, bob, 1, NULL, NOW, &v, &err) == 0);
        CHECK(v.action == PEC_RECEPTION_REJECT && v.n_out == 0);
        CHECK(has_error(&v.analysis, "more than 10000 MIME parts"));
        pec_reception_verdict_clear(&v);
        CHECK(seconds() - t0 < 5.0);
    }
    /* the delivery point: refused, or wrapped whole (its headers read from the section alone) */
    {
        struct pec_delivery_ctx d = { &iss, trust, idx };
        struct pec_delivery_input in = { b.data, b.len, "bob@pec-esempio.test", "alice@pec-esempio.test", 0, 0, NULL, NOW, NULL, NULL };
        struct pec_delivery_verdict v;

        t0 = seconds();
        CHECK(pec_delivery_decide(&d, &in, &v, &err) == 0);
        CHECK(v.action == PEC_DELIVERY_REFUSE && strstr(v.reason, "more than 10000 MIME parts") != NULL);
        pec_delivery_verdict_clear(&v);
        in.accepts_ordinary = 1;
        CHECK(pec_delivery_decide(&d, &in, &v, &err) == 0);
        CHECK(v.action == PEC_DELIVERY_STORE_WRAPPED && v.wrapped.len > b.len);
        CHECK(v.wrapped.data && strstr(v.wrapped.data, "\r\nTo: bob@pec-esempio.test\r\n") != NULL);
        CHECK(v.wrapped.data && strstr(v.wrapped.data, "ANOMALIA MESSAGGIO: limiti") != NULL);
        pec_delivery_verdict_clear(&v);
        CHECK(seconds() - t0 < 10.0);
    }
    /* the access point: a formal exception, 552 naming the limit, and a signed avviso that says what it
     * refused (the header section is read, the rest is not) */
    {
        static const char *const bob[] = { "bob@pec-esempio.test" };
        struct pec_access_ctx actx = { cfg, &iss, idx, NULL, NULL, NULL, NULL };
        struct pec_access_txn *t = pec_access_begin(&actx, "alice@pec-esempio.test", "alice@pec-esempio.test");
        struct pec_access_verdict v;

        pec_access_rcpt(t, bob[0]);
        pec_access_body(t, b.data, b.len); /* the whole message as raw bytes: headers included */
        t0 = seconds();
        CHECK(pec_access_end(t, NOW, NULL, &v, &err) == 0);
        CHECK(v.action == PEC_ACCESS_REJECT && v.failed == PEC_CHECK_LIMITS);
        CHECK(strcmp(v.reply_code, "552") == 0 && strcmp(v.reply_xcode, "5.3.4") == 0);
        CHECK(strstr(v.reply_text, "(limits)") && strstr(v.reply_text, "more than 10000 MIME parts"));
        CHECK(v.receipt.len > 0);
        if (v.receipt.len > 0) {
            struct pec_analysis r;

            CHECK(pec_message_analyze(v.receipt.data, v.receipt.len, &aopts, &r, &err) == 0);
            CHECK(r.valid && r.tipo == PEC_TIPO_NON_ACCETTAZIONE);
            CHECK_STR(r.daticert.oggetto, "limiti");
            pec_analysis_clear(&r);
        }
        pec_access_verdict_clear(&v);
        pec_access_free(&t);
        CHECK(seconds() - t0 < 5.0);
    }
    pec_buf_release(&b);
}

/* ---- the access point's room ---- */

/* submit - an original of n entities through the access point */
static void submit(unsigned long n, struct pec_access_verdict *v)
{
    struct pec_access_ctx actx = { cfg, &iss, idx, NULL, NULL, NULL, NULL };
    struct pec_access_txn *t = pec_access_begin(&actx, "alice@pec-esempio.test", "alice@pec-esempio.test");
    struct pec_buf b = PEC_BUF_INIT;
    struct pec_error err = { 0 };

    many_parts(&b, n);
    pec_access_rcpt(t, "bob@pec-esempio.test");
    pec_access_body(t, b.data, b.len);
    CHECK(pec_access_end(t, NOW, NULL, v, &err) == 0);
    pec_access_free(&t);
    pec_buf_release(&b);
}

/* test_room - our busta has 8 entities of its own and must keep 16 inside the limit: an original of 9,976
 * entities is certified (and its busta and consegna completa are read by any reception point), one of
 * 9,977 is refused although it is inside the limit itself */
static void test_room(void)
{
    const unsigned long fits = PEC_MIME_MAX_PARTS - 16 - 8;
    struct pec_access_verdict v;
    struct pec_error err = { 0 };

    submit(fits, &v);
    CHECK(v.action == PEC_ACCESS_ACCEPT);
    if (v.action == PEC_ACCESS_ACCEPT) {
        struct pec_delivery_ctx d = { &iss, trust, idx };
        struct pec_delivery_input in = { v.busta.data, v.busta.len, "bob@pec-esempio.test",
                                         "alice@pec-esempio.test", 0, 0, NULL, NOW, NULL, NULL };
        struct pec_delivery_verdict dv;
        struct pec_buf consegna = PEC_BUF_INIT;
        struct pec_analysis a;
        char id[PEC_ID_MAX];

        CHECK(pec_delivery_decide(&d, &in, &dv, &err) == 0);
        CHECK(dv.action == PEC_DELIVERY_STORE_CERTIFIED && dv.variant == PEC_RICEVUTA_COMPLETA);
        if (!dv.analysis.valid)
            for (size_t i = 0; i < dv.analysis.errors.n; i++)
                fprintf(stderr, "  busta: %s\n", dv.analysis.errors.v[i]);
        CHECK(pec_delivery_consegna(&d, &in, &dv, NOW + 1, NULL, &consegna, id, &err) == 0);
        CHECK(pec_message_analyze(consegna.data, consegna.len, &aopts, &a, &err) == 0);
        CHECK(a.valid && a.tipo == PEC_TIPO_AVVENUTA_CONSEGNA && a.has_postacert);
        for (size_t i = 0; i < a.errors.n; i++)
            fprintf(stderr, "  consegna: %s\n", a.errors.v[i]);
        pec_analysis_clear(&a);
        pec_buf_release(&consegna);
        pec_delivery_verdict_clear(&dv);
    }
    pec_access_verdict_clear(&v);

    submit(fits + 1, &v);
    CHECK(v.action == PEC_ACCESS_REJECT && v.failed == PEC_CHECK_LIMITS);
    CHECK(strstr(v.reply_text, "its busta di trasporto would be over the limits") != NULL);
    CHECK(v.receipt.len > 0 && v.busta.len == 0);
    pec_access_verdict_clear(&v);
}

/* ---- the scan never counts less than GMime builds ---- */

static uint64_t rng_state = 0x2545f4914f6cdd1dULL; /* PEC_LIMITS_SEED overrides it, for longer hunts */

/* rng - xorshift64*, seeded: the same structures on every run */
static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dULL;
}

/* pick - one of n strings */
static const char *pick(const char *const *v, size_t n)
{
    return v[rng() % n];
}

/* gen_entity - a random entity at level: headers of many spellings, multiparts whose boundaries share
 * prefixes, delimiters with and without trailing blanks or closing, embedded messages, digests */
static void gen_entity(struct pec_buf *b, unsigned level, const char *outer)
{
    static const char *const bnds[] = { "b", "b1", "bb", "b-", "x y", "b--", "c" };
    static const char *const tails[] = { "", "", "", " ", "\t", "--", "x", "-- " };
    static const char *const eols[] = { "\r\n", "\n" };
    const char *eol = pick(eols, 2), *bnd = pick(bnds, sizeof(bnds) / sizeof(bnds[0]));
    unsigned kind = level > 6 ? 0 : (unsigned)(rng() % 6);

    if (rng() % 4 == 0)
        pec_buf_printf(b, "X-Junk: %d%s", (int)(rng() % 100), eol);
    if (rng() % 8 == 0)
        pec_buf_printf(b, "not a header line%s", eol);
    switch (kind) {
    case 1: case 2: { /* multipart */
        static const char *const forms[] = {
            "Content-Type: multipart/mixed; boundary=\"%s\"", "Content-Type: multipart/mixed; boundary=%s",
            "Content-Type: multipart/mixed;%s\tboundary=\"%s\"", "Content-type: MULTIPART/alternative; BOUNDARY=\"%s\"",
            "Content-Type: multipart/digest; boundary=\"%s\"", "Content-Type: (c) multipart/mixed; boundary=\"%s\"",
            "Content-Type: multipart/mixed; boundary*0=\"%s\"; boundary*1=\"z\"", "Content-Type: multipart/mixed",
            "Content-Type: multipart/mixed; boundary = \"%s\"", "Content-Type: multipart/mixed; boundary=\"%s\"; boundary=z",
            "CONTENT-TYPE: multipart/related; boundary=\"%s \"", "Content-Type : multipart/mixed; boundary=%s",
            "Content-Type: multipart/mixed; charset=\"boundary=q\"; boundary=\"%s\"",
        };
        unsigned f = (unsigned)(rng() % (sizeof(forms) / sizeof(forms[0])));
        int n = (int)(rng() % 5);

        if (f == 2)
            pec_buf_printf(b, forms[f], eol, bnd);
        else
            pec_buf_printf(b, forms[f], bnd);
        pec_buf_printf(b, "%s", eol);
        if (rng() % 10 == 0)
            pec_buf_printf(b, "Content-Type: multipart/mixed; boundary=\"%s\"%s", pick(bnds, 7), eol);
        pec_buf_printf(b, "%sprologo%s", eol, eol);
        for (int i = 0; i < n; i++) {
            pec_buf_printf(b, "--%s%s%s", bnd, rng() % 5 == 0 ? pick(tails, 8) : "", eol);
            if (f == 4 && rng() % 2) { /* a digest part without Content-Type: a message */
                pec_buf_printf(b, "%s", eol);
                gen_entity(b, level + 2, bnd);
            } else {
                gen_entity(b, level + 1, bnd);
            }
        }
        if (rng() % 4)
            pec_buf_printf(b, "--%s--%s", bnd, rng() % 6 == 0 ? " " : "");
        pec_buf_printf(b, "%sepilogo%s", eol, eol);
        break;
    }
    case 3: { /* an embedded message */
        static const char *const types[] = { "message/rfc822", "message/rfc822", "message/global", "Message/RFC822",
                                             "message/news", "message/partial" };

        pec_buf_printf(b, "Content-Type: %s%s", pick(types, 6), eol);
        if (rng() % 5 == 0)
            pec_buf_printf(b, "Content-Transfer-Encoding: 7bit%s", eol);
        pec_buf_printf(b, "%s", eol);
        pec_buf_printf(b, "From: x@y.test%s", eol);
        gen_entity(b, level + 1, outer);
        break;
    }
    default: /* a leaf, sometimes with lines that look like delimiters */
        pec_buf_printf(b, "Content-Type: text/plain%s%s", eol, eol);
        for (int i = (int)(rng() % 4); i > 0; i--)
            pec_buf_printf(b, "%s%s", rng() % 3 ? "testo" : rng() % 2 && outer ? "--" : "-- firma", eol);
        if (outer && rng() % 6 == 0)
            pec_buf_printf(b, "--%s%s%s", outer, pick(tails, 8), eol);
        break;
    }
}

/* soup - MIME syntax in random order (the test_hostile alphabet with boundaries that can match) */
static void soup(struct pec_buf *b)
{
    static const char *const tokens[] = { "\r\n", "\n", "\r\n\r\n", "\n\n", ": ", "Content-Type", "multipart/mixed",
                                          "multipart/digest", "message/rfc822", "; boundary=", "\"", "--", "b",
                                          "bb", " ", "\t", "(", ")", "text/plain", "X", "\\", "*0", "=" };
    size_t n = 20 + rng() % 400;

    for (size_t i = 0; i < n; i++)
        pec_buf_puts(b, pick(tokens, sizeof(tokens) / sizeof(tokens[0])));
}

/* gmime_count - entities and deepest level GMime built, counted as the limits count them */
static void gmime_count(GMimeObject *obj, unsigned level, unsigned long *parts, unsigned *depth)
{
    if (obj == NULL)
        return;
    ++*parts;
    if (level > *depth)
        *depth = level;
    if (GMIME_IS_MULTIPART(obj)) {
        for (int i = 0; i < g_mime_multipart_get_count(GMIME_MULTIPART(obj)); i++)
            gmime_count(g_mime_multipart_get_part(GMIME_MULTIPART(obj), i), level + 1, parts, depth);
    } else if (GMIME_IS_MESSAGE_PART(obj)) {
        GMimeMessage *m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));

        if (m)
            gmime_count(g_mime_message_get_mime_part(m), level + 1, parts, depth);
    }
}

/* test_bound - on generated structures, limits one under what GMime builds always refuse */
static void test_bound(void)
{
    struct pec_buf b = PEC_BUF_INIT;
    unsigned long worst_parts = 0;
    int failures = 0;

    pec_mime_init();
    int rounds = getenv("PEC_LIMITS_ROUNDS") ? atoi(getenv("PEC_LIMITS_ROUNDS")) : 4000;

    if (getenv("PEC_LIMITS_SEED"))
        rng_state = strtoull(getenv("PEC_LIMITS_SEED"), NULL, 0) | 1;

    for (int i = 0; i < rounds; i++) {
        GMimeStream *s;
        GMimeParser *p;
        GMimeMessage *m;
        unsigned long parts = 0;
        unsigned depth = 0;

        pec_buf_reset(&b);
        pec_buf_puts(&b, "From: a@b.test\r\nTo: c@d.test\r\nSubject: s\r\nMIME-Version: 1.0\r\n");
        if (i % 4 == 3)
            soup(&b);
        else
            gen_entity(&b, 0, NULL);
        s = g_mime_stream_mem_new_with_buffer(b.data, b.len);
        p = g_mime_parser_new_with_stream(s);
        m = g_mime_parser_construct_message(p, NULL);
        if (m)
            gmime_count(g_mime_message_get_mime_part(m), 0, &parts, &depth);
        if (parts > worst_parts)
            worst_parts = parts;
        if (parts > 0) {
            struct pec_mime_limits lim = pec_mime_default_limits;
            struct pec_error err = { 0 };
            int ok = 1;

            lim.parts = (unsigned)parts - 1;
            ok &= pec_mime_check(b.data, b.len, &lim, &err) == -1;
            if (depth > 0) {
                lim = pec_mime_default_limits;
                lim.depth = depth - 1;
                ok &= pec_mime_check(b.data, b.len, &lim, &err) == -1;
            }
            CHECK(ok);
            if (!ok && failures++ < 3)
                fprintf(stderr, "  structure #%d: GMime builds %lu parts, %u levels; the scan counts fewer:\n%s\n",
                        i, parts, depth, b.len < 3000 ? b.data : "(long)");
        }
        if (m)
            g_object_unref(m);
        g_object_unref(p);
        g_object_unref(s);
    }
    printf("scan >= GMime on %d generated structures (up to %lu parts)\n", rounds, worst_parts);
    pec_buf_release(&b);
}

int main(void)
{
    const char *src = getenv("PEC_SRC_DIR") ? getenv("PEC_SRC_DIR") : ".";
    struct pec_buf text = PEC_BUF_INIT;
    struct pec_error err = { 0 };

    if (fixture_init() < 0) {
        CHECK(!"fixture");
        return CHECK_DONE();
    }
    pec_buf_printf(&text,
                   "provider_name = \"" PROVIDER "\"\nmail_domain = " DOMAIN "\nmanaged_domains = " DOMAIN "\n"
                   "cert_file = %s/tests/data/golden-pki/provider.pem\n"
                   "key_file = %s/tests/data/golden-pki/provider.key\n"
                   "max_message_size = 1099511627776\n", src, src);
    cfg = pec_config_parse(text.data, text.len, "limits.conf", &err);
    pec_buf_release(&text);
    if (cfg == NULL) {
        fprintf(stderr, "config: %s\n", err.msg);
        return 1;
    }
    test_huge();
    test_edges();
    test_room();
    test_bound();
    pec_config_unref(&cfg);
    fixture_free();
    return CHECK_DONE();
}
