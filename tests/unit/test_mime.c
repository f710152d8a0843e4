/* test_mime.c - address lists as the access point reads From/To/Cc: GMime's parser, flattened groups. */
#include <stdio.h>
#include <string.h>
#include "check.h"
#include "pec/mime.h"

/* expect_list - value parses to exactly the n addresses given (appended after what out held) */
static void expect_list(const char *value, int n, const char *const *want)
{
    struct pec_strv out = PEC_STRV_INIT;
    struct pec_error err = { 0 };
    int rc;

    pec_strv_push(&out, "pre@existing.test");
    rc = pec_addr_list_parse(value, &out, &err);
    CHECK(rc == n);
    if (rc != n)
        fprintf(stderr, "  \"%s\": rc %d (%s)\n", value, rc, err.msg);
    CHECK(out.n == (size_t)n + 1);
    CHECK_STR(out.v[0], "pre@existing.test");
    for (int i = 0; i < n && (size_t)i + 1 < out.n; i++)
        CHECK_STR(out.v[i + 1], want[i]);
    if (out.n > 0)
        CHECK(out.v[out.n] == NULL);
    pec_strv_clear(&out);
    CHECK(out.n == 0 && out.v == NULL);
}

/* expect_invalid - value refused with a message */
static void expect_invalid(const char *value)
{
    struct pec_strv out = PEC_STRV_INIT;
    struct pec_error err = { 0 };
    int rc = pec_addr_list_parse(value, &out, &err);

    CHECK(rc == -1);
    if (rc != -1)
        fprintf(stderr, "  \"%s\" accepted (%d addresses, first %s)\n", value, rc, out.n ? out.v[0] : "-");
    CHECK(err.cls == PEC_ERR_INVALID);
    CHECK(err.msg[0] != '\0');
    pec_strv_clear(&out);
}

/* test_valid - shapes a real To/Cc/From takes */
static void test_valid(void)
{
    static const char *const one[] = { "alice@pec-esempio.test" };
    static const char *const three[] = { "alice@pec-esempio.test", "bob@example.org", "carol@pec-remoto.test" };
    static const char *const grp[] = { "a@x.test", "b@y.test", "c@z.test" };
    static const char *const enc[] = { "citta@pec-esempio.test", "bob@example.org" };

    expect_list("alice@pec-esempio.test", 1, one);
    expect_list("<alice@pec-esempio.test>", 1, one);
    expect_list("Alice Rossi <alice@pec-esempio.test>", 1, one);
    expect_list("\"Rossi, Alice\" <alice@pec-esempio.test>", 1, one);
    expect_list("alice@pec-esempio.test (Alice Rossi)", 1, one);
    expect_list("alice@pec-esempio.test, \"Bob\" <bob@example.org>,\r\n\tcarol@pec-remoto.test", 3, three);
    expect_list("Squadra: a@x.test, B <b@y.test>;, c@z.test", 3, grp);
    expect_list("undisclosed-recipients:;, a@x.test, Altri: b@y.test, c@z.test;", 3, grp);
    expect_list("=?UTF-8?Q?Citt=C3=A0_di_Roma?= <citta@pec-esempio.test>, =?ISO-8859-1?B?Qm9i?= <bob@example.org>",
                2, enc);
    expect_list("", 0, NULL);
    expect_list(" \t", 0, NULL); /* an empty Cc: */
    {
        static const char *const q[] = { "a@b.test" };
        expect_list("\"x > y\" <a@b.test>", 1, q); /* '>' inside quotes and comments is no stray */
        expect_list("a@b.test (x>y)", 1, q);
        /* an '@' before the angle-addr is fine quoted, in a comment or in the previous address */
        expect_list("\"Per conto di: x@y.test\" <a@b.test>", 1, q);
        expect_list("(x@y.test) A <a@b.test>", 1, q);
        /* ',' is fine quoted, in a comment or in an obsolete route */
        expect_list("\"Rossi, A\" <a@b.test>, (c,d) <a@b.test>", 2, (const char *const[]){ "a@b.test", "a@b.test" });
        expect_list("<@r1.test,@r2.test:a@b.test>", 1, q);
        expect_list("< @r1.test , @r2.test : a@b.test>", 1, q);
    }
}

/* test_invalid - anything that is not a mailbox with a domain */
static void test_invalid(void)
{
    expect_invalid("alice");
    expect_invalid("Alice Rossi <alice>");
    expect_invalid("@pec-esempio.test");
    expect_invalid("<@pec-esempio.test>");
    expect_invalid("alice@");
    expect_invalid("alice@pec-esempio.test, bob");
    expect_invalid("Gruppo: a@x.test, nobody;");
    expect_invalid("!!! ### %%%");
    expect_invalid("<<>>");
    expect_invalid("a>");
    expect_invalid("Gruppo: a>, b@c.test;");
    expect_invalid("a@b.test <c@d.test>");
    expect_invalid("Per conto di: x@y.test <p@q.test>");
    expect_invalid("<a@b,c.test>"); /* a list separator inside an angle-addr */
    expect_invalid("\"x\" <a,b@c.test>");
    expect_invalid("Gruppo: <a@b;c.test>;");
    expect_invalid("a@b.test, <c@d;e.test>");
    expect_invalid(":t(;i>"); /* left open: a comment, a quote, a domain literal, an angle-addr */
    expect_invalid("\"Rossi <a@b.test>");
    expect_invalid("a@[1.2.3.4");
    expect_invalid("A <a@b.test");
    expect_invalid("<<a@b.test>>");
    expect_invalid("a@b.test;c@d.test"); /* GMime drops the bad part and returns the rest */
    expect_invalid("a@b.test c@d.test"); /* no ',' between two addresses */
    expect_invalid(":a\";t>\""); /* GMime goes on from the ';' inside the quotes */
    expect_invalid("<@:a@b.test>"); /* an obsolete route is '@'-domains ended by ':' */
    expect_invalid("A <@r1.test,r2.test:a@b.test>");
}

/* test_domain - the part after the last @ */
static void test_domain(void)
{
    CHECK_STR(pec_addr_domain("alice@pec-esempio.test"), "pec-esempio.test");
    CHECK_STR(pec_addr_domain("\"a@b\"@pec.test"), "pec.test");
    CHECK_STR(pec_addr_domain("alice"), "");
    CHECK_STR(pec_addr_domain(""), "");
    CHECK_STR(pec_addr_domain("alice@"), "");
}

/* test_strv - membership is case-insensitive */
static void test_strv(void)
{
    struct pec_strv sv = PEC_STRV_INIT;

    pec_strv_push(&sv, "Alice@PEC.test");
    CHECK(pec_strv_has(&sv, "alice@pec.test") == 1);
    CHECK(pec_strv_has(&sv, "bob@pec.test") == 0);
    pec_strv_clear(&sv);
    CHECK(pec_strv_has(&sv, "alice@pec.test") == 0);
}

int main(void)
{
    pec_mime_init();
    pec_mime_init();
    test_valid();
    test_invalid();
    test_domain();
    test_strv();
    return CHECK_DONE();
}
