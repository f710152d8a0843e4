/* test_hostile.c - whatever arrives from the Internet: the classifier, the access point's reading of an
 * original and the anomaly builder must answer (never crash, never hang) and say why the input is bad.
 * Inputs: empty, seeded random bytes, truncated and mangled envelopes, huge headers, deep nesting, a
 * broken daticert.xml (with a bad and with a good signature), service parts twice or where they do not
 * belong (re-signed), NUL bytes in headers. */
#define _GNU_SOURCE /* memmem */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <glib.h>
#include "check.h"
#include "pec/compose.h"
#include "pec/index.h"
#include "pec/message.h"

#include "golden_fixture.h"

#define RANDOM_INPUTS 2000
#define RANDOM_MAX (64 * 1024)
#define TRUNCATIONS 200

static const char original[] =
    "From: Alice Rossi <alice@pec-esempio.test>\r\n"
    "To: bob@pec-esempio.test, dave@example.org\r\n"
    "Subject: Contratto\r\n"
    "Message-ID: <client-0003@mua.example>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
    "\r\n"
    "--b1\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "In allegato.\r\n"
    "--b1\r\n"
    "Content-Type: application/pdf; name=\"c.pdf\"\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "JVBERi0xLjQKJcOkw7zDtsOfCjEgMCBvYmoKPDwvVHlwZS9DYXRhbG9nPj4KZW5kb2JqCnRyYWls\r\n"
    "--b1--\r\n";

static struct pec_buf busta;

/* ---- the three entry points on one input ---- */

static unsigned long n_malformata, n_invalid, n_facts_ok, n_facts_err;

/* print_errors - the problems of an analysis */
static void print_errors(const char *what, const struct pec_analysis *a)
{
    for (size_t i = 0; i < a->errors.n; i++)
        fprintf(stderr, "  %s: %s\n", what, a->errors.v[i]);
}

/* feed_ex - analyze, facts and the anomaly wrapping it; check_anomaly also reads the anomaly back (it must
 * be a valid busta di anomalia); expect_valid: the input itself is a valid PEC message */
static void feed_ex(const char *what, const void *raw, size_t len, int check_anomaly, int expect_valid)
{
    static const char *const own[] = { DOMAIN };
    struct pec_analysis a;
    struct pec_daticert d;
    struct pec_error err = { 0 };
    struct pec_compose c = { 0 };
    struct pec_buf out = PEC_BUF_INIT;
    char msgid[PEC_ID_MAX];
    int rc;

    rc = pec_message_analyze(raw, len, &aopts, &a, &err);
    CHECK(rc == 0);
    if (rc == 0) {
        int ok = expect_valid ? a.valid == 1 && a.errors.n == 0
                              : (a.kind == PEC_KIND_MALFORMATA || a.valid == 0) && a.errors.n > 0;
        CHECK(ok);
        if (!ok) {
            fprintf(stderr, "  %s: kind %s valid %d, %zu errors\n", what, pec_kind_name(a.kind), a.valid,
                    a.errors.n);
            print_errors(what, &a);
        }
        for (size_t i = 0; i < a.errors.n; i++)
            CHECK(a.errors.v[i][0] != '\0');
        if (a.kind == PEC_KIND_MALFORMATA)
            n_malformata++;
        else
            n_invalid++;
        pec_analysis_clear(&a);
    } else {
        fprintf(stderr, "  %s: analyze failed: %s\n", what, err.msg);
    }

    err.msg[0] = '\0';
    rc = pec_message_facts(raw, len, idx, own, 1, &d, &err);
    CHECK(rc == 0 || (rc == -1 && err.msg[0] != '\0' && err.cls == PEC_ERR_INVALID));
    if (rc == 0) {
        CHECK(d.mittente != NULL && d.n_destinatari > 0);
        n_facts_ok++;
        pec_daticert_clear(&d);
    } else {
        n_facts_err++;
    }

    c.type = PEC_MSG_BUSTA_ANOMALIA;
    c.when = NOW;
    c.original = raw;
    c.original_len = len;
    c.reason = "messaggio non conforme";
    err.msg[0] = '\0';
    rc = pec_compose_build(&iss, &c, &out, msgid, &err);
    CHECK(rc == 0);
    if (rc < 0)
        fprintf(stderr, "  %s: anomaly not built: %s\n", what, err.msg);
    if (rc == 0) {
        CHECK(out.len > 0 && msgid[0] != '\0');
        if (check_anomaly) {
            rc = pec_message_analyze(out.data, out.len, &aopts, &a, &err);
            CHECK(rc == 0 && a.kind == PEC_KIND_BUSTA_ANOMALIA && a.valid == 1);
            if (rc == 0 && !a.valid) {
                fprintf(stderr, "  %s: its anomaly is not valid:\n", what);
                print_errors(what, &a);
            }
            if (rc == 0)
                pec_analysis_clear(&a);
        }
    }
    pec_buf_release(&out);
}

/* feed - an input that is no valid PEC message */
static void feed(const char *what, const void *raw, size_t len, int check_anomaly)
{
    feed_ex(what, raw, len, check_anomaly, 0);
}

/* ---- inputs ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

/* rng - xorshift64*, seeded: the same inputs on every run */
static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dULL;
}

/* test_random - raw random bytes, and random text made of MIME syntax */
static void test_random(void)
{
    static const char *const tokens[] = { "\r\n", "\n", ": ", "From", "To", "Content-Type", "multipart/signed",
                                          "multipart/mixed", "; boundary=", "\"", "--", "=?UTF-8?B?", "?=", "@",
                                          "<", ">", "X-Trasporto", "X-Ricevuta", "posta-certificata", "base64",
                                          "Content-Transfer-Encoding", "a", "\t", "\r\n\r\n", "daticert.xml" };
    unsigned char *buf = malloc(RANDOM_MAX);
    char what[64];

    CHECK(buf != NULL);
    if (buf == NULL)
        return;
    for (int i = 0; i < RANDOM_INPUTS; i++) {
        size_t len = (size_t)(rng() % (RANDOM_MAX + 1));

        if (i % 2 == 0) {
            for (size_t k = 0; k < len; k++)
                buf[k] = (unsigned char)rng();
        } else {
            size_t k = 0;
            while (k < len) {
                const char *t = tokens[rng() % (sizeof(tokens) / sizeof(tokens[0]))];
                size_t tl = strlen(t);
                if (k + tl > len)
                    tl = len - k;
                memcpy(buf + k, t, tl);
                k += tl;
            }
        }
        snprintf(what, sizeof(what), "random #%d (%zu bytes)", i, len);
        feed(what, buf, len, 0);
    }
    free(buf);
}

/* test_truncated - the busta cut at evenly spaced lengths */
static void test_truncated(void)
{
    char what[64];

    for (int i = 0; i < TRUNCATIONS; i++) {
        size_t len = busta.len * (size_t)i / TRUNCATIONS;
        snprintf(what, sizeof(what), "busta cut at %zu", len);
        feed(what, busta.data, len, i % 20 == 0);
    }
}

/* without - copy of src with [from, to) removed */
static void without(const struct pec_buf *src, const char *from, const char *to, struct pec_buf *out)
{
    pec_buf_reset(out);
    pec_buf_append(out, src->data, (size_t)(from - src->data));
    pec_buf_append(out, to, src->len - (size_t)(to - src->data));
}

/* test_mangled_busta - boundary parameter removed, closing delimiters removed */
static void test_mangled_busta(void)
{
    struct pec_buf b = PEC_BUF_INIT;
    const char *p, *q;

    /* the top-level boundary parameter (the first one in the message) */
    p = strstr(busta.data, "boundary=\"");
    CHECK(p != NULL);
    if (p) {
        q = strchr(p + 10, '"');
        without(&busta, p, q + 1, &b);
        CHECK(strstr(b.data, "_signed\"") == NULL);
        feed("busta without boundary", b.data, b.len, 1);
    }
    /* every closing delimiter "--...--" becomes an opening one */
    pec_buf_reset(&b);
    for (size_t i = 0; i < busta.len; i++) {
        if (i + 4 <= busta.len && memcmp(busta.data + i, "--\r\n", 4) == 0 && i > 0 && busta.data[i - 1] != '\n' &&
            busta.data[i - 1] != '-') {
            pec_buf_puts(&b, "\r\n");
            i += 3;
            continue;
        }
        pec_buf_append(&b, busta.data + i, 1);
    }
    CHECK(strstr(b.data, "_signed--") == NULL && strstr(b.data, "_mixed--") == NULL);
    feed("busta without closing delimiters", b.data, b.len, 1);
    pec_buf_release(&b);
}

/* test_unclosed - nested multiparts whose closing delimiters never come */
static void test_unclosed(void)
{
    static const char msg[] =
        "From: alice@pec-esempio.test\r\n"
        "To: bob@pec-esempio.test\r\n"
        "Subject: aperto\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256; boundary=\"s\"\r\n"
        "X-Trasporto: posta-certificata\r\n"
        "\r\n"
        "--s\r\n"
        "Content-Type: multipart/mixed; boundary=\"m\"\r\n"
        "\r\n"
        "--m\r\n"
        "Content-Type: multipart/alternative; boundary=\"a\"\r\n"
        "\r\n"
        "--a\r\n"
        "Content-Type: text/plain\r\n"
        "\r\n"
        "testo\r\n"
        "--a\r\n"
        "Content-Type: text/html\r\n"
        "\r\n"
        "<p>testo</p>\r\n";

    feed("unclosed multiparts", msg, sizeof(msg) - 1, 1);
}

/* test_huge_header - one header line of 1 MB; a long unknown field before a busta; 2,000 recipients */
static void test_huge_header(void)
{
    struct pec_buf b = PEC_BUF_INIT;
    size_t n = 1024 * 1024;
    char *line = malloc(n + 1);

    CHECK(line != NULL);
    if (line == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        line[i] = (char)('A' + i % 26);
    line[n] = '\0';
    pec_buf_puts(&b, "From: alice@pec-esempio.test\r\nTo: bob@pec-esempio.test\r\nSubject: ");
    pec_buf_puts(&b, line);
    pec_buf_puts(&b, "\r\nX-Trasporto: posta-certificata\r\n\r\ncorpo\r\n");
    /* (the anomaly is not read back here: GMime grows its header buffer linearly, which ASan's copying
     * realloc turns into minutes for a 2.5 MB anomaly) */
    feed("1 MB Subject", b.data, b.len, 0);
    pec_buf_reset(&b);
    pec_buf_puts(&b, "X-Lungo: ");
    pec_buf_append(&b, line, 64 * 1024);
    pec_buf_puts(&b, "\r\n");
    pec_buf_append(&b, busta.data, busta.len);
    feed_ex("busta after a 64 KB header", b.data, b.len, 1, 1); /* unsigned headers may be added */
    pec_buf_reset(&b);
    pec_buf_puts(&b, "To: ");
    for (int i = 0; i < 2000; i++)
        pec_buf_printf(&b, "%sutente%d@pec-esempio.test", i ? ", " : "", i);
    pec_buf_puts(&b, "\r\nFrom: alice@pec-esempio.test\r\nSubject: tanti\r\n\r\ncorpo\r\n");
    feed("2,000 recipients", b.data, b.len, 0);
    free(line);
    pec_buf_release(&b);
}

/* test_deep - 10,000 nested multiparts */
static void test_deep(void)
{
    struct pec_buf b = PEC_BUF_INIT;
    const int depth = 10000;

    pec_buf_puts(&b, "From: alice@pec-esempio.test\r\nTo: bob@pec-esempio.test\r\nSubject: profondo\r\n"
                     "MIME-Version: 1.0\r\n");
    for (int i = 0; i < depth; i++)
        pec_buf_printf(&b, "Content-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n--b%d\r\n", i, i);
    pec_buf_puts(&b, "Content-Type: text/plain\r\n\r\nfondo\r\n");
    for (int i = depth - 1; i >= 0; i--)
        pec_buf_printf(&b, "--b%d--\r\n", i);
    feed("10,000 nested multiparts", b.data, b.len, 0);
    pec_buf_release(&b);
}

/* daticert_body - the base64 body of the daticert.xml part of a message: [*start, *end) */
static int daticert_body(const struct pec_buf *m, const char **start, const char **end)
{
    const char *p = strstr(m->data, "filename=daticert.xml");

    if (p == NULL)
        p = strstr(m->data, "filename=\"daticert.xml\"");
    if (p == NULL || (p = strstr(p, "\r\n\r\n")) == NULL)
        return -1;
    *start = p + 4;
    if ((*end = strstr(*start, "\r\n\r\n--")) == NULL && (*end = strstr(*start, "\r\n--")) == NULL)
        return -1;
    *end += 2;
    return 0;
}

/* resign - the message with its signature recomputed over the (changed) first part, golden signer */
static int resign(const struct pec_buf *m, struct pec_buf *out)
{
    const char *b = strstr(m->data, "boundary=\""), *q, *first, *second, *sig_body, *sig_end;
    struct pec_buf der = PEC_BUF_INIT, delim = PEC_BUF_INIT;
    struct pec_error err = { 0 };
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t col = 0;

    if (b == NULL || (q = strchr(b + 10, '"')) == NULL)
        return -1;
    pec_buf_printf(&delim, "\r\n--%.*s", (int)(q - b - 10), b + 10);
    if ((first = strstr(m->data, delim.data)) == NULL)
        goto fail;
    first += delim.len + 2;
    if ((second = strstr(first, delim.data)) == NULL || (sig_body = strstr(second, "\r\n\r\n")) == NULL)
        goto fail;
    sig_body += 4;
    if ((sig_end = strstr(sig_body, delim.data + 2)) == NULL)
        goto fail;
    if (pec_smime_sign(signer, PEC_DIGEST_SHA256, NOW, first, (size_t)(second - first), &der, &err) < 0) {
        fprintf(stderr, "  resign: %s\n", err.msg);
        goto fail;
    }
    pec_buf_reset(out);
    pec_buf_append(out, m->data, (size_t)(sig_body - m->data));
    for (size_t i = 0; i < der.len; i += 3) {
        unsigned v = (unsigned char)der.data[i] << 16;
        size_t n = der.len - i < 3 ? der.len - i : 3;
        if (n > 1)
            v |= (unsigned char)der.data[i + 1] << 8;
        if (n > 2)
            v |= (unsigned char)der.data[i + 2];
        char quad[4] = { b64[v >> 18 & 63], b64[v >> 12 & 63], n > 1 ? b64[v >> 6 & 63] : '=',
                         n > 2 ? b64[v & 63] : '=' };
        pec_buf_append(out, quad, 4);
        if ((col += 4) == 76) {
            pec_buf_puts(out, "\r\n");
            col = 0;
        }
    }
    if (col)
        pec_buf_puts(out, "\r\n");
    pec_buf_puts(out, sig_end);
    pec_buf_release(&der);
    pec_buf_release(&delim);
    return 0;
fail:
    pec_buf_release(&der);
    pec_buf_release(&delim);
    return -1;
}

/* has_error - some error contains frag */
static int has_error(const struct pec_analysis *a, const char *frag)
{
    for (size_t i = 0; i < a->errors.n; i++)
        if (strstr(a->errors.v[i], frag))
            return 1;
    return 0;
}

/* test_bad_daticert - "<postacert" as daticert.xml: once with the now wrong signature, once re-signed */
static void test_bad_daticert(void)
{
    struct pec_buf b = PEC_BUF_INIT, s = PEC_BUF_INIT;
    struct pec_analysis a;
    struct pec_error err = { 0 };
    const char *start, *end;

    if (daticert_body(&busta, &start, &end) < 0) {
        CHECK(!"daticert.xml part of the busta");
        return;
    }
    pec_buf_append(&b, busta.data, (size_t)(start - busta.data));
    pec_buf_puts(&b, "PHBvc3RhY2VydA==\r\n"); /* base64 of "<postacert" */
    pec_buf_puts(&b, end);
    feed("daticert <postacert", b.data, b.len, 1);
    CHECK(pec_message_analyze(b.data, b.len, &aopts, &a, &err) == 0);
    CHECK(a.valid == 0 && a.has_daticert == 0);
    CHECK(has_error(&a, "daticert.xml"));
    pec_analysis_clear(&a);

    /* correctly signed, still broken: the daticert error is reported on its own */
    CHECK(resign(&busta, &s) == 0);
    CHECK(pec_message_analyze(s.data, s.len, &aopts, &a, &err) == 0);
    CHECK(a.valid == 1); /* the resign helper itself works */
    pec_analysis_clear(&a);
    CHECK(resign(&b, &s) == 0);
    CHECK(pec_message_analyze(s.data, s.len, &aopts, &a, &err) == 0);
    CHECK(a.sig.status == PEC_SIG_VALID);
    CHECK(a.valid == 0 && a.has_daticert == 0);
    CHECK(has_error(&a, "daticert.xml:"));
    if (!has_error(&a, "daticert.xml:"))
        print_errors("re-signed", &a);
    pec_analysis_clear(&a);
    feed("daticert <postacert, re-signed", s.data, s.len, 1);
    pec_buf_release(&b);
    pec_buf_release(&s);
}

/* splice - copy of src with [from, to) replaced by text */
static void splice(const struct pec_buf *src, const char *from, const char *to, const char *text, size_t len,
                   struct pec_buf *out)
{
    pec_buf_reset(out);
    pec_buf_append(out, src->data, (size_t)(from - src->data));
    pec_buf_append(out, text, len);
    pec_buf_append(out, to, src->len - (size_t)(to - src->data));
}

/* test_service_parts - re-signed variants of the busta (so that only the structure is wrong): a second
 * daticert.xml, and a receipt (its daticert and headers made an accettazione's) carrying postacert.eml */
static void test_service_parts(void)
{
    struct pec_buf b = PEC_BUF_INIT, s = PEC_BUF_INIT, t = PEC_BUF_INIT;
    struct pec_analysis a;
    struct pec_error err = { 0 };
    const char *ct = strstr(busta.data, "Content-Type: application/xml"), *part = ct, *close, *start, *end;

    CHECK(ct != NULL);
    if (ct == NULL)
        return;
    while (part > busta.data && !(part[-1] == '\n' && part[0] == '-' && part[1] == '-'))
        part--;
    close = strstr(ct, "\r\n--");
    CHECK(close != NULL);
    if (close == NULL)
        return;
    pec_buf_puts(&t, "\r\n");
    pec_buf_append(&t, part, (size_t)(close - part));
    splice(&busta, close, close, t.data, t.len, &b);
    CHECK(resign(&b, &s) == 0);
    CHECK(pec_message_analyze(s.data, s.len, &aopts, &a, &err) == 0);
    CHECK(a.sig.status == PEC_SIG_VALID && a.valid == 0 && has_error(&a, "holds 2 daticert.xml parts"));
    if (!has_error(&a, "holds 2 daticert.xml parts"))
        print_errors("two daticert.xml", &a);
    pec_analysis_clear(&a);

    /* the daticert of an accettazione in the busta's place, postacert.eml left in */
    if (daticert_body(&busta, &start, &end) == 0) {
        gsize n = 0;
        gchar *text = g_strndup(start, (gsize)(end - start));
        guchar *xml = g_base64_decode(text, &n);
        GString *x = g_string_new_len((const gchar *)xml, (gssize)n);
        gchar *b64;

        g_string_replace(x, "tipo=\"posta-certificata\"", "tipo=\"accettazione\"", 1);
        b64 = g_base64_encode((const guchar *)x->str, x->len);
        pec_buf_reset(&t);
        for (size_t i = 0; i < strlen(b64); i += 76) {
            pec_buf_append(&t, b64 + i, strlen(b64) - i < 76 ? strlen(b64) - i : 76);
            pec_buf_puts(&t, "\r\n");
        }
        splice(&busta, start, end, t.data, t.len, &b);
        pec_buf_reset(&t);
        pec_buf_append(&t, b.data, b.len);
        CHECK(strstr(t.data, "X-Trasporto: posta-certificata\r\n") && strstr(t.data, "Subject: POSTA CERTIFICATA: "));
        {
            char *h = strstr(t.data, "X-Trasporto: posta-certificata\r\n");
            splice(&t, h, h + strlen("X-Trasporto: posta-certificata\r\n"), "X-Ricevuta: accettazione\r\n", 26, &b);
            pec_buf_reset(&t);
            pec_buf_append(&t, b.data, b.len);
            h = strstr(t.data, "Subject: POSTA CERTIFICATA: ");
            splice(&t, h, h + strlen("Subject: POSTA CERTIFICATA: "), "Subject: ACCETTAZIONE: ", 23, &b);
        }
        CHECK(resign(&b, &s) == 0);
        CHECK(pec_message_analyze(s.data, s.len, &aopts, &a, &err) == 0);
        CHECK(a.kind == PEC_KIND_RICEVUTA && a.tipo == PEC_TIPO_ACCETTAZIONE && a.sig.status == PEC_SIG_VALID);
        CHECK(a.valid == 0 && has_error(&a, "a accettazione carries postacert.eml, which it must not"));
        if (!has_error(&a, "carries postacert.eml"))
            print_errors("accettazione with postacert", &a);
        pec_analysis_clear(&a);
        g_free(b64);
        g_string_free(x, TRUE);
        g_free(xml);
        g_free(text);
    } else {
        CHECK(!"daticert.xml part of the busta");
    }
    pec_buf_release(&b);
    pec_buf_release(&s);
    pec_buf_release(&t);
}

/* test_nul - NUL bytes in header names and values */
static void test_nul(void)
{
    static const char in_values[] = "From: ali\0ce@pec-esempio.test\r\nTo: bob@pec-esempio.test\0, x@y.test\r\n"
                                    "Subject: a\0b\r\nX-Ricevuta: accettazione\0\r\n\r\ncorpo\r\n";
    static const char in_names[] = "Fr\0om: alice@pec-esempio.test\r\nT\0o: bob@pec-esempio.test\r\n"
                                   "\0: x\r\n\r\ncorpo\0\r\n";
    struct pec_buf b = PEC_BUF_INIT;
    const char *p;

    feed("NUL in header values", in_values, sizeof(in_values) - 1, 1);
    feed("NUL in header names", in_names, sizeof(in_names) - 1, 1);
    feed("only NULs", "\0\0\0\0\0\0\0\0", 8, 1);
    /* a NUL inside the busta's X-Trasporto value */
    p = strstr(busta.data, "X-Trasporto: posta-");
    CHECK(p != NULL);
    if (p) {
        pec_buf_append(&b, busta.data, busta.len);
        b.data[p - busta.data + strlen("X-Trasporto: posta-")] = '\0';
        feed("busta with NUL in X-Trasporto", b.data, b.len, 1);
    }
    pec_buf_release(&b);
}

/* test_empty - no bytes at all, and a lone header */
static void test_empty(void)
{
    feed("empty", "", 0, 1);
    feed("blank line", "\r\n", 2, 1);
    feed("header only", "Subject: x", 10, 1);
    feed("body only", "\r\n\r\ncorpo senza intestazioni\r\n", 29, 1);
}

/* make_busta - a valid busta to mangle */
static int make_busta(void)
{
    static const char *const own[] = { DOMAIN };
    struct pec_daticert f;
    struct pec_error err = { 0 };
    struct pec_compose c = { 0 };
    struct pec_analysis a;
    char id[PEC_ID_MAX];
    int rc = -1;

    if (pec_message_facts(original, sizeof(original) - 1, idx, own, 1, &f, &err) < 0) {
        fprintf(stderr, "facts: %s\n", err.msg);
        return -1;
    }
    pec_idgen_next(iss.ids, NOW, id);
    f.identificativo = strdup(id);
    c.type = PEC_MSG_BUSTA_TRASPORTO;
    c.when = NOW;
    c.facts = &f;
    c.original = original;
    c.original_len = sizeof(original) - 1;
    if (pec_compose_build(&iss, &c, &busta, id, &err) == 0 &&
        pec_message_analyze(busta.data, busta.len, &aopts, &a, &err) == 0) {
        rc = a.valid ? 0 : -1;
        pec_analysis_clear(&a);
    }
    pec_daticert_clear(&f);
    return rc;
}

int main(void)
{
    if (fixture_init() < 0 || make_busta() < 0) {
        CHECK(!"fixture");
        return CHECK_DONE();
    }
    test_empty();
    test_nul();
    test_truncated();
    test_mangled_busta();
    test_unclosed();
    test_huge_header();
    test_deep();
    test_bad_daticert();
    test_service_parts();
    test_random();
    printf("%lu malformata, %lu not valid; facts: %lu read, %lu refused\n", n_malformata, n_invalid, n_facts_ok,
           n_facts_err);
    pec_buf_release(&busta);
    fixture_free();
    return CHECK_DONE();
}
