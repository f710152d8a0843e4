/* test_message.c - the classifier: ordinary mail, header spellings seen in real traffic, inconsistent
 * PEC headers, LF-only input, forged and untrusted signatures. */
#define _GNU_SOURCE /* memmem, mkdtemp */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "check.h"
#include "pec/compose.h"
#include "pec/index.h"
#include "pec/message.h"
#include "pec/testca.h"

#include "golden_fixture.h"

static const char original[] =
    "From: Alice Rossi <alice@pec-esempio.test>\r\n"
    "To: bob@pec-esempio.test\r\n"
    "Subject: Prova\r\n"
    "Date: Mon, 23 Nov 2026 07:59:00 +0100\r\n"
    "Message-ID: <client-0002@mua.example>\r\n"
    "\r\n"
    "Testo della prova.\r\n";

static const char ordinary[] =
    "From: mallory@example.net\r\n"
    "To: bob@pec-esempio.test\r\n"
    "Subject: Offerta imperdibile\r\n"
    "Message-ID: <spam-42@example.net>\r\n"
    "\r\n"
    "Posta ordinaria, non certificata.\r\n";

static struct pec_daticert facts;
static struct pec_buf busta, accettazione;

/* ---- helpers ---- */

/* replace - copy of src with the first occurrence of from replaced by to; 0 when found */
static int replace(const struct pec_buf *src, const char *from, const char *to, struct pec_buf *out)
{
    const char *p = memmem(src->data, src->len, from, strlen(from));

    pec_buf_reset(out);
    if (p == NULL) {
        fprintf(stderr, "  replace: \"%s\" not found\n", from);
        pec_buf_append(out, src->data, src->len);
        return -1;
    }
    pec_buf_append(out, src->data, (size_t)(p - src->data));
    pec_buf_puts(out, to);
    pec_buf_append(out, p + strlen(from), src->len - (size_t)(p - src->data) - strlen(from));
    return 0;
}

/* has_error - some error contains frag */
static int has_error(const struct pec_analysis *a, const char *frag)
{
    for (size_t i = 0; i < a->errors.n; i++)
        if (strstr(a->errors.v[i], frag))
            return 1;
    return 0;
}

/* print_errors - the problems of an analysis */
static void print_errors(const char *what, const struct pec_analysis *a)
{
    for (size_t i = 0; i < a->errors.n; i++)
        fprintf(stderr, "  %s: %s\n", what, a->errors.v[i]);
}

/* analyze - pec_message_analyze with the fixture options, result must be 0 */
static void analyze(const void *raw, size_t len, struct pec_analysis *a)
{
    struct pec_error err = { 0 };

    CHECK(pec_message_analyze(raw, len, &aopts, a, &err) == 0);
}

/* expect_valid - the bytes are a valid PEC message of kind/tipo */
static void expect_valid(const char *what, const struct pec_buf *b, enum pec_kind kind, enum pec_tipo tipo)
{
    struct pec_analysis a;

    analyze(b->data, b->len, &a);
    CHECK(a.valid == 1);
    if (!a.valid)
        print_errors(what, &a);
    CHECK(a.kind == kind);
    CHECK(a.tipo == tipo);
    pec_analysis_clear(&a);
}

/* expect_invalid - not valid, an error containing frag */
static void expect_invalid(const char *what, const struct pec_buf *b, const char *frag)
{
    struct pec_analysis a;

    analyze(b->data, b->len, &a);
    CHECK(a.valid == 0);
    CHECK(has_error(&a, frag));
    if (!has_error(&a, frag)) {
        fprintf(stderr, "  %s: no error with \"%s\"; got:\n", what, frag);
        print_errors(what, &a);
    }
    pec_analysis_clear(&a);
}

/* make_messages - facts, a busta and an accettazione */
static int make_messages(void)
{
    static const char *const own[] = { DOMAIN };
    static const char *const to_sender[] = { "alice@pec-esempio.test" };
    struct pec_error err = { 0 };
    struct pec_compose c = { 0 };
    char id[PEC_ID_MAX];

    if (pec_message_facts(original, sizeof(original) - 1, idx, own, 1, &facts, &err) < 0) {
        fprintf(stderr, "facts: %s\n", err.msg);
        return -1;
    }
    pec_idgen_next(iss.ids, NOW, id);
    facts.identificativo = strdup(id);
    c.type = PEC_MSG_BUSTA_TRASPORTO;
    c.when = NOW;
    c.facts = &facts;
    c.original = original;
    c.original_len = sizeof(original) - 1;
    if (pec_compose_build(&iss, &c, &busta, id, &err) < 0) {
        fprintf(stderr, "busta: %s\n", err.msg);
        return -1;
    }
    c.type = PEC_MSG_ACCETTAZIONE;
    c.original = NULL;
    c.original_len = 0;
    c.to = to_sender;
    c.n_to = 1;
    if (pec_compose_build(&iss, &c, &accettazione, id, &err) < 0) {
        fprintf(stderr, "accettazione: %s\n", err.msg);
        return -1;
    }
    return 0;
}

/* ---- tests ---- */

/* test_ordinary - plain mail is ordinaria, not valid, with a reason */
static void test_ordinary(void)
{
    struct pec_analysis a;

    analyze(ordinary, sizeof(ordinary) - 1, &a);
    CHECK(a.kind == PEC_KIND_ORDINARIA);
    CHECK(a.valid == 0);
    CHECK(a.errors.n > 0);
    CHECK(a.tipo == PEC_TIPO_NONE);
    CHECK(a.sig.status == PEC_SIG_ABSENT);
    CHECK_STR(a.from, "mallory@example.net");
    CHECK_STR(a.message_id, "spam-42@example.net");
    CHECK_STR(a.subject, "Offerta imperdibile");
    CHECK_STR(pec_kind_name(a.kind), "ordinaria");
    pec_analysis_clear(&a);
    CHECK(a.errors.n == 0 && a.from == NULL);
    CHECK_STR(pec_kind_name(PEC_KIND_MALFORMATA), "malformata");
    CHECK_STR(pec_kind_name(PEC_KIND_BUSTA_TRASPORTO), "busta-trasporto");
    CHECK_STR(pec_kind_name(PEC_KIND_BUSTA_ANOMALIA), "busta-anomalia");
    CHECK_STR(pec_kind_name(PEC_KIND_RICEVUTA), "ricevuta");
}

/* test_spellings - header names are case-insensitive; Aruba's X-Tiporicevuta */
static void test_spellings(void)
{
    struct pec_buf b = PEC_BUF_INIT;
    struct pec_analysis a;

    expect_valid("busta", &busta, PEC_KIND_BUSTA_TRASPORTO, PEC_TIPO_POSTA_CERTIFICATA);
    expect_valid("accettazione", &accettazione, PEC_KIND_RICEVUTA, PEC_TIPO_ACCETTAZIONE);

    if (replace(&accettazione, "\r\nX-Ricevuta: accettazione\r\n", "\r\nx-ricevuta: accettazione\r\n", &b) == 0) {
        analyze(b.data, b.len, &a);
        CHECK(a.valid == 1);
        CHECK(a.kind == PEC_KIND_RICEVUTA && a.tipo == PEC_TIPO_ACCETTAZIONE);
        CHECK_STR(a.x_ricevuta, "accettazione");
        pec_analysis_clear(&a);
    } else {
        CHECK(!"X-Ricevuta header");
    }
    if (replace(&busta, "\r\nX-TipoRicevuta: completa\r\n", "\r\nX-Tiporicevuta: completa\r\n", &b) == 0) {
        analyze(b.data, b.len, &a);
        CHECK(a.valid == 1);
        CHECK_STR(a.x_tiporicevuta, "completa");
        CHECK(a.kind == PEC_KIND_BUSTA_TRASPORTO);
        pec_analysis_clear(&a);
    } else {
        CHECK(!"X-TipoRicevuta header");
    }
    if (replace(&busta, "\r\nX-Trasporto: posta-certificata\r\n", "\r\nX-TRASPORTO:   posta-certificata  \r\n", &b) ==
        0) {
        analyze(b.data, b.len, &a);
        CHECK(a.valid == 1);
        CHECK_STR(a.x_trasporto, "posta-certificata");
        pec_analysis_clear(&a);
    }
    pec_buf_release(&b);
}

/* test_protocols - the multipart/signed spellings real providers use */
static void test_protocols(void)
{
    static const char *const variants[][2] = {
        { "protocol=\"application/x-pkcs7-signature\"; micalg=sha1;", "sha1" },
        { "protocol=\"application/x-pkcs7-signature\"; micalg=\"sha1\";", "sha1" },
        { "protocol=\"application/pkcs7-signature\"; micalg=sha-1;", "sha-1" },
        { "protocol=\"application/pkcs7-signature\"; micalg=\"sha-256\";", "sha-256" },
        { "protocol=application/x-pkcs7-signature; micalg=SHA-256;", "SHA-256" },
    };
    static const char orig[] = "protocol=\"application/pkcs7-signature\"; micalg=sha-256;";
    struct pec_buf b = PEC_BUF_INIT;
    struct pec_analysis a;

    for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
        if (replace(&accettazione, orig, variants[i][0], &b) < 0) {
            CHECK(!"Content-Type line");
            break;
        }
        analyze(b.data, b.len, &a);
        CHECK(a.valid == 1);
        if (!a.valid)
            print_errors(variants[i][0], &a);
        CHECK(a.sig.status == PEC_SIG_VALID);
        CHECK_STR(a.micalg, variants[i][1]);
        CHECK(a.protocol != NULL && strstr(a.protocol, "pkcs7-signature") != NULL);
        pec_analysis_clear(&a);
    }
    /* a protocol that is not S/MIME is refused */
    if (replace(&accettazione, orig, "protocol=\"application/pgp-signature\"; micalg=pgp-sha256;", &b) == 0)
        expect_invalid("pgp protocol", &b, "protocol");
    pec_buf_release(&b);
}

/* test_inconsistent - PEC headers that contradict each other or the daticert */
static void test_inconsistent(void)
{
    struct pec_buf b = PEC_BUF_INIT;
    struct pec_analysis a;

    if (replace(&busta, "\r\nX-Trasporto: posta-certificata\r\n",
                "\r\nX-Trasporto: posta-certificata\r\nX-Ricevuta: accettazione\r\n", &b) == 0)
        expect_invalid("both headers", &b, "both X-Trasporto and X-Ricevuta");
    if (replace(&accettazione, "\r\nX-Ricevuta: accettazione\r\n", "\r\nX-Ricevuta: accettata\r\n", &b) == 0)
        expect_invalid("unknown X-Ricevuta", &b, "unknown X-Ricevuta value");
    if (replace(&accettazione, "\r\nX-Ricevuta: accettazione\r\n", "\r\nX-Ricevuta: posta-certificata\r\n", &b) ==
        0)
        expect_invalid("X-Ricevuta posta-certificata", &b, "unknown X-Ricevuta value");
    if (replace(&accettazione, "\r\nX-Ricevuta: accettazione\r\n", "\r\nX-Ricevuta: Accettazione\r\n", &b) == 0)
        expect_invalid("X-Ricevuta case", &b, "unknown X-Ricevuta value");
    if (replace(&busta, "\r\nX-Trasporto: posta-certificata\r\n", "\r\nX-Trasporto: certificata\r\n", &b) == 0)
        expect_invalid("unknown X-Trasporto", &b, "unknown X-Trasporto value");
    if (replace(&accettazione, "\r\nX-Ricevuta: accettazione\r\n", "\r\nX-Ricevuta: presa-in-carico\r\n", &b) == 0) {
        analyze(b.data, b.len, &a);
        CHECK(a.valid == 0);
        CHECK(a.kind == PEC_KIND_RICEVUTA && a.tipo == PEC_TIPO_PRESA_IN_CARICO);
        CHECK(a.has_daticert && a.daticert.tipo == PEC_TIPO_ACCETTAZIONE);
        CHECK(has_error(&a, "does not match X-Ricevuta"));
        CHECK(a.sig.status == PEC_SIG_VALID); /* only the header changed */
        pec_analysis_clear(&a);
    }
    /* a signed receipt without X-Ricevuta: classified by its daticert, and flagged */
    if (replace(&accettazione, "\r\nX-Ricevuta: accettazione\r\n", "\r\n", &b) == 0) {
        analyze(b.data, b.len, &a);
        CHECK(a.valid == 0);
        CHECK(a.kind == PEC_KIND_RICEVUTA && a.tipo == PEC_TIPO_ACCETTAZIONE);
        CHECK(has_error(&a, "lacks the X-Ricevuta header"));
        pec_analysis_clear(&a);
    }
    if (replace(&busta, "\r\nX-Trasporto: posta-certificata\r\n", "\r\n", &b) == 0) {
        analyze(b.data, b.len, &a);
        CHECK(a.valid == 0);
        CHECK(a.kind == PEC_KIND_BUSTA_TRASPORTO);
        CHECK(has_error(&a, "lacks the X-Trasporto header"));
        pec_analysis_clear(&a);
    }
    /* the signed content changed: the signature fails */
    if (replace(&accettazione, "Ricevuta di accettazione", "Ricevuta di accettaziona", &b) == 0) {
        analyze(b.data, b.len, &a);
        CHECK(a.valid == 0);
        CHECK(a.sig.status == PEC_SIG_INVALID);
        CHECK(has_error(&a, "signature invalid"));
        pec_analysis_clear(&a);
    }
    pec_buf_release(&b);
}

/* header_variant - the message with one header text replaced: valid, or invalid with an error holding frag */
static void header_variant(const char *what, const struct pec_buf *m, const char *from, const char *to, const char *frag)
{
    struct pec_buf b = PEC_BUF_INIT;

    if (replace(m, from, to, &b) < 0) {
        CHECK(!"header to replace");
    } else if (frag == NULL) {
        struct pec_analysis a;

        analyze(b.data, b.len, &a);
        CHECK(a.valid == 1);
        if (!a.valid)
            print_errors(what, &a);
        pec_analysis_clear(&a);
    } else {
        expect_invalid(what, &b, frag);
    }
    pec_buf_release(&b);
}

/* test_consistency - the unsigned headers the rules tie to the signed daticert must agree with it
 * (PEC-RULES §2.1, §2.3, §5.2); the signature still holds, only the headers change */
static void test_consistency(void)
{
    /* the Subject prefix of the kind, any case, blanks after the colon free; then the certified text */
    header_variant("prefix of another kind", &busta, "Subject: POSTA CERTIFICATA: Prova", "Subject: CONSEGNA: Prova",
                   "lacks the prefix \"POSTA CERTIFICATA: \"");
    header_variant("no prefix", &accettazione, "Subject: ACCETTAZIONE: Prova", "Subject: Prova", "lacks the prefix");
    header_variant("no Subject", &accettazione, "Subject: ACCETTAZIONE: Prova\r\n", "", "lacks the prefix");
    header_variant("prefix in lower case", &busta, "Subject: POSTA CERTIFICATA: Prova",
                   "Subject: posta certificata: Prova", NULL);
    header_variant("no blank after the colon", &accettazione, "Subject: ACCETTAZIONE: Prova",
                   "Subject: ACCETTAZIONE:Prova", NULL);
    header_variant("folded Subject", &busta, "Subject: POSTA CERTIFICATA: Prova",
                   "Subject: POSTA CERTIFICATA:\r\n   Prova  ", NULL);
    header_variant("encoded Subject", &busta, "Subject: POSTA CERTIFICATA: Prova",
                   "Subject: =?UTF-8?Q?POSTA_CERTIFICATA:_Prova?=", NULL);
    header_variant("other subject text", &busta, "Subject: POSTA CERTIFICATA: Prova",
                   "Subject: POSTA CERTIFICATA: Bonifico urgente", "differs from the daticert <oggetto> \"Prova\"");
    header_variant("subject text cut", &accettazione, "Subject: ACCETTAZIONE: Prova", "Subject: ACCETTAZIONE: Pro",
                   "differs from the daticert <oggetto>");
    /* From: the signer's service address; "Per conto di:" names the certified sender; Sender = From */
    header_variant("From another address", &accettazione, "From: posta-certificata@pec-esempio.test",
                   "From: ricevute@pec-esempio.test", "is not the service address of the signing provider");
    header_variant("From two addresses", &accettazione, "From: posta-certificata@pec-esempio.test",
                   "From: posta-certificata@pec-esempio.test, x@pec-esempio.test", "exactly one address");
    header_variant("Per conto di another sender", &busta, "\"Per conto di: alice@pec-esempio.test\"",
                   "\"Per conto di: mallory@example.net\"", "does not name the daticert <mittente>");
    header_variant("Per conto di in another case", &busta, "\"Per conto di: alice@pec-esempio.test\"",
                   "\"per conto di:  ALICE@pec-esempio.test \"", NULL);
    header_variant("another display name", &busta, "\"Per conto di: alice@pec-esempio.test\"",
                   "\"Posta certificata\"", NULL);
    header_variant("Sender differs", &accettazione, "X-Ricevuta: accettazione\r\n",
                   "X-Ricevuta: accettazione\r\nSender: mallory@example.net\r\n", "Sender");
    header_variant("Sender = From", &accettazione, "X-Ricevuta: accettazione\r\n",
                   "X-Ricevuta: accettazione\r\nSender: posta-certificata@pec-esempio.test\r\n", NULL);
    /* a busta's header recipients, Message-ID, X-TipoRicevuta and Reply-To are the certified ones */
    header_variant("To recipient added", &busta, "To: bob@pec-esempio.test\r\n",
                   "To: bob@pec-esempio.test, eve@pec-esempio.test\r\n", "To recipient eve@pec-esempio.test is not");
    header_variant("Cc recipient added", &busta, "To: bob@pec-esempio.test\r\n",
                   "To: bob@pec-esempio.test\r\nCc: eve@example.net\r\n", "Cc recipient eve@example.net is not");
    header_variant("second To", &busta, "To: bob@pec-esempio.test\r\n",
                   "To: bob@pec-esempio.test\r\nTo: bob@pec-esempio.test\r\n", "header To appears 2 times");
    header_variant("To with a display name and another case", &busta, "To: bob@pec-esempio.test\r\n",
                   "To: Bob <BOB@pec-esempio.test>\r\n", NULL);
    header_variant("Message-ID not the identificativo", &busta, "Message-ID: <pec1.", "Message-ID: <altro.",
                   "is not the daticert <identificativo>");
    header_variant("X-TipoRicevuta breve", &busta, "X-TipoRicevuta: completa", "X-TipoRicevuta: breve",
                   "X-TipoRicevuta breve differs from the daticert <ricevuta> completa");
    header_variant("X-TipoRicevuta unknown", &busta, "X-TipoRicevuta: completa", "X-TipoRicevuta: normale",
                   "unknown X-TipoRicevuta value");
    header_variant("X-TipoRicevuta absent (Aruba)", &busta, "X-TipoRicevuta: completa\r\n", "", NULL);
    header_variant("Reply-To another", &busta, "Reply-To: alice@pec-esempio.test", "Reply-To: mallory@example.net",
                   "differs from the daticert <risposte>");
    /* the client's Message-ID, the time, the virus flag */
    header_variant("X-Riferimento-Message-ID", &accettazione, "X-Riferimento-Message-ID: <client-0002@mua.example>",
                   "X-Riferimento-Message-ID: <altro@mua.example>", "differs from the daticert <msgid>");
    header_variant("Date a day later", &accettazione, "Date: Mon, 23 Nov 2026 08:00:00 +0100",
                   "Date: Tue, 24 Nov 2026 08:00:00 +0100", "Date differs from the daticert <data> by 86400 s");
    header_variant("Date a minute later", &accettazione, "Date: Mon, 23 Nov 2026 08:00:00 +0100",
                   "Date: Mon, 23 Nov 2026 08:01:00 +0100", NULL);
    header_variant("Date in UTC", &accettazione, "Date: Mon, 23 Nov 2026 08:00:00 +0100",
                   "Date: Mon, 23 Nov 2026 07:00:00 +0000", NULL);
    header_variant("no Date", &accettazione, "Date: Mon, 23 Nov 2026 08:00:00 +0100\r\n", "", "Date header missing");
    header_variant("X-VerificaSicurezza on an accettazione", &accettazione, "X-Ricevuta: accettazione\r\n",
                   "X-Ricevuta: accettazione\r\nX-VerificaSicurezza: errore\r\n", "X-VerificaSicurezza on a accettazione");
    header_variant("X-Mittente", &accettazione, "X-Ricevuta: accettazione\r\n",
                   "X-Ricevuta: accettazione\r\nX-Mittente: mallory@example.net\r\n", "differs from the daticert <mittente>");
}

/* test_own_kinds - every kind we compose passes all the checks, the virus and timeout variants with their
 * own Subject prefixes; subjects GMime 3.2 itself cannot read back (an '='-padded encoded word followed by
 * another) too; the PREAVVISO spelling some clients know is accepted */
static void test_own_kinds(void)
{
    static const struct {
        enum pec_msgtype type;
        enum pec_tipo tipo;
        const char *prefix;
    } kinds[] = {
        { PEC_MSG_NON_ACCETTAZIONE, PEC_TIPO_NON_ACCETTAZIONE, "AVVISO DI NON ACCETTAZIONE: " },
        { PEC_MSG_NON_ACCETTAZIONE_VIRUS, PEC_TIPO_NON_ACCETTAZIONE, "AVVISO DI NON ACCETTAZIONE PER VIRUS: " },
        { PEC_MSG_PRESA_IN_CARICO, PEC_TIPO_PRESA_IN_CARICO, "PRESA IN CARICO: " },
        { PEC_MSG_ERRORE_CONSEGNA, PEC_TIPO_ERRORE_CONSEGNA, "AVVISO DI MANCATA CONSEGNA: " },
        { PEC_MSG_ERRORE_CONSEGNA_VIRUS, PEC_TIPO_ERRORE_CONSEGNA, "AVVISO DI MANCATA CONSEGNA PER VIRUS: " },
        { PEC_MSG_PREAVVISO_12H, PEC_TIPO_PREAVVISO_ERRORE_CONSEGNA, "AVVISO DI MANCATA CONSEGNA PER SUP. TEMPO MASSIMO: " },
        { PEC_MSG_RILEVAZIONE_VIRUS, PEC_TIPO_RILEVAZIONE_VIRUS, "PROBLEMA DI SICUREZZA: " },
        { PEC_MSG_ACCETTAZIONE, PEC_TIPO_ACCETTAZIONE, "ACCETTAZIONE: " },
    };
    static const char *const to_sender[] = { "alice@pec-esempio.test" };
    static const char *const subjects[] = { "Prova", "perch\xc3\xa9 perch\xc3\xa9 perch\xc3\xa9 perch\xc3\xa9 perch\xc3\xa9",
                                            "a\xc3\xa8 a\xc3\xa8 a\xc3\xa8 a\xc3\xa8 a\xc3\xa8 a\xc3\xa8 a\xc3\xa8 a\xc3\xa8 a\xc3\xa8 a\xc3\xa8" };
    struct pec_buf out = PEC_BUF_INIT, b = PEC_BUF_INIT;
    struct pec_error err = { 0 };
    char id[PEC_ID_MAX];

    for (size_t s = 0; s < sizeof(subjects) / sizeof(subjects[0]); s++) {
        for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
            struct pec_daticert f = facts;
            struct pec_compose c = { 0 };
            struct pec_analysis a;

            f.oggetto = (char *)subjects[s];
            f.consegna = "bob@pec-esempio.test";
            c.type = kinds[i].type;
            c.when = NOW;
            c.facts = &f;
            c.to = to_sender;
            c.n_to = 1;
            c.virus = "Eicar-Signature";
            c.reason = "destinatari SMTP diversi dai campi To e Cc";
            pec_buf_reset(&out);
            CHECK(pec_compose_build(&iss, &c, &out, id, &err) == 0);
            analyze(out.data, out.len, &a);
            CHECK(a.valid == 1 && a.tipo == kinds[i].tipo);
            if (!a.valid)
                print_errors(pec_msgtype_name(kinds[i].type), &a);
            CHECK(a.subject && strncmp(a.subject, kinds[i].prefix, strlen(kinds[i].prefix)) == 0);
            pec_analysis_clear(&a);
            if (s == 0 && kinds[i].type == PEC_MSG_PREAVVISO_12H) {
                header_variant("PREAVVISO spelling", &out, "AVVISO DI MANCATA CONSEGNA PER SUP. TEMPO MASSIMO:",
                               "PREAVVISO DI MANCATA CONSEGNA:", NULL);
            }
            if (s == 0 && kinds[i].type == PEC_MSG_ERRORE_CONSEGNA_VIRUS) /* the signed errore is virus */
                header_variant("virus notice with the plain prefix", &out, "MANCATA CONSEGNA PER VIRUS:",
                               "MANCATA CONSEGNA:", "lacks the prefix \"AVVISO DI MANCATA CONSEGNA PER VIRUS: \"");
            if (s == 0 && kinds[i].type == PEC_MSG_ERRORE_CONSEGNA) {
                header_variant("plain notice flagged as a virus", &out, "X-Ricevuta: errore-consegna\r\n",
                               "X-Ricevuta: errore-consegna\r\nX-VerificaSicurezza: errore\r\n",
                               "X-VerificaSicurezza on a errore-consegna whose daticert errore is \"altro\"");
            }
            if (s == 0 && kinds[i].type == PEC_MSG_RILEVAZIONE_VIRUS)
                header_variant("X-Mittente another sender", &out, "X-Mittente: alice@pec-esempio.test",
                               "X-Mittente: mallory@example.net", "X-Mittente mallory@example.net differs");
        }
    }
    pec_buf_release(&out);
    pec_buf_release(&b);
}

/* to_lf - the same message with LF line ends */
static void to_lf(const struct pec_buf *src, struct pec_buf *out)
{
    pec_buf_reset(out);
    for (size_t i = 0; i < src->len; i++)
        if (!(src->data[i] == '\r' && i + 1 < src->len && src->data[i + 1] == '\n'))
            pec_buf_append(out, src->data + i, 1);
}

/* same_verdict - CRLF and LF forms of b give the same analysis */
static void same_verdict(const char *what, const struct pec_buf *b)
{
    struct pec_buf lf = PEC_BUF_INIT;
    struct pec_analysis x, y;

    to_lf(b, &lf);
    CHECK(memmem(lf.data, lf.len, "\r\n", 2) == NULL);
    analyze(b->data, b->len, &x);
    analyze(lf.data, lf.len, &y);
    CHECK(x.valid == y.valid);
    CHECK(x.kind == y.kind);
    CHECK(x.tipo == y.tipo);
    CHECK(x.sig.status == y.sig.status);
    CHECK(x.sig.trusted == y.sig.trusted);
    CHECK(x.has_daticert == y.has_daticert);
    CHECK(x.has_postacert == y.has_postacert);
    CHECK(x.errors.n == y.errors.n);
    if (x.valid != y.valid || x.errors.n != y.errors.n) {
        fprintf(stderr, "  %s: CRLF valid=%d, LF valid=%d\n", what, x.valid, y.valid);
        print_errors("CRLF", &x);
        print_errors("LF", &y);
    }
    pec_analysis_clear(&x);
    pec_analysis_clear(&y);
    pec_buf_release(&lf);
}

/* test_lf - LF-only input */
static void test_lf(void)
{
    struct pec_buf b = PEC_BUF_INIT;

    same_verdict("busta", &busta);
    same_verdict("accettazione", &accettazione);
    pec_buf_append(&b, ordinary, sizeof(ordinary) - 1);
    same_verdict("ordinary", &b);
    if (replace(&accettazione, "\r\nX-Ricevuta: accettazione\r\n", "\r\nX-Ricevuta: presa-in-carico\r\n", &b) == 0)
        same_verdict("mismatch", &b);
    {
        struct pec_buf lf = PEC_BUF_INIT;
        to_lf(&busta, &lf);
        expect_valid("busta LF", &lf, PEC_KIND_BUSTA_TRASPORTO, PEC_TIPO_POSTA_CERTIFICATA);
        pec_buf_release(&lf);
    }
    pec_buf_release(&b);
}

/* test_forged - PEC headers on an unsigned message */
static void test_forged(void)
{
    static const char forged[] =
        "From: \"Per conto di: alice@pec-esempio.test\" <posta-certificata@pec-esempio.test>\r\n"
        "To: bob@pec-esempio.test\r\n"
        "Subject: POSTA CERTIFICATA: Prova\r\n"
        "Message-ID: <forged-1@pec-esempio.test>\r\n"
        "X-Trasporto: posta-certificata\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain\r\n"
        "\r\n"
        "Messaggio di posta certificata (falso).\r\n";
    struct pec_analysis a;

    analyze(forged, sizeof(forged) - 1, &a);
    CHECK(a.valid == 0);
    CHECK(a.kind == PEC_KIND_BUSTA_TRASPORTO);
    CHECK(a.sig.status == PEC_SIG_ABSENT);
    CHECK(has_error(&a, "not signed"));
    pec_analysis_clear(&a);
}

/* test_untrusted - a well-formed message signed under another CA */
static void test_untrusted(void)
{
    char dir[] = "/tmp/pec-test-message-XXXXXX", cert[256], key[256], path[256];
    struct pec_error err = { 0 };
    struct pec_signer *other;
    struct pec_issuer oiss = iss;
    struct pec_compose c = { 0 };
    struct pec_buf out = PEC_BUF_INIT;
    struct pec_analysis a;
    struct pec_analyze_opts none = { NULL, NULL, NOW };
    static const char *const to_sender[] = { "alice@pec-esempio.test" };
    char id[PEC_ID_MAX];

    CHECK(mkdtemp(dir) != NULL);
    CHECK(pec_testca_create(dir, "Altra CA", NOW, &err) == 0);
    CHECK(pec_testca_issue(dir, "provider", PROVIDER, SERVICE, NOW, &err) == 0);
    snprintf(cert, sizeof(cert), "%s/provider.pem", dir);
    snprintf(key, sizeof(key), "%s/provider.key", dir);
    other = pec_signer_load(cert, key, NULL, &err);
    CHECK(other != NULL);
    if (other) {
        oiss.signer = other;
        c.type = PEC_MSG_ACCETTAZIONE;
        c.when = NOW;
        c.facts = &facts;
        c.to = to_sender;
        c.n_to = 1;
        CHECK(pec_compose_build(&oiss, &c, &out, id, &err) == 0);
        analyze(out.data, out.len, &a);
        CHECK(a.valid == 0);
        CHECK(a.sig.status == PEC_SIG_VALID);
        CHECK(a.sig.trusted == 0);
        CHECK(has_error(&a, "not trusted"));
        CHECK(a.provider == NULL);
        pec_analysis_clear(&a);
        /* with neither trust store nor index only integrity is checked */
        CHECK(pec_message_analyze(out.data, out.len, &none, &a, &err) == 0);
        CHECK(a.valid == 1);
        CHECK(a.sig.trusted == 0);
        pec_analysis_clear(&a);
        CHECK(pec_message_analyze(out.data, out.len, NULL, &a, &err) == 0);
        CHECK(a.valid == 1);
        pec_analysis_clear(&a);
        pec_signer_free(&other);
    }
    pec_buf_release(&out);
    snprintf(path, sizeof(path), "%s/ca.pem", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/ca.key", dir);
    unlink(path);
    unlink(cert);
    unlink(key);
    rmdir(dir);
}

/* test_index_checks - the golden signer, but the index does not list it or not its sender domain */
static void test_index_checks(void)
{
    static const char *const other_domains[] = { "pec-altro.test" };
    struct pec_buf ldif = PEC_BUF_INIT;
    struct pec_error err = { 0 };
    struct pec_index *other;
    struct pec_analyze_opts o = aopts;
    struct pec_analysis a;
    size_t der_len;
    const void *der = pec_signer_cert_der(signer, &der_len);

    pec_index_render_entry(&ldif, "Gestore Altro", "not a certificate", 17, "r@pec-altro.test", other_domains, 1);
    other = pec_index_parse_ldif(ldif.data, ldif.len, &err);
    CHECK(other != NULL);
    o.index = other;
    analyze(accettazione.data, accettazione.len, &a); /* reference: valid */
    CHECK(a.valid == 1 && a.provider != NULL);
    CHECK_STR(pec_provider_name(a.provider), PROVIDER);
    pec_analysis_clear(&a);
    CHECK(pec_message_analyze(accettazione.data, accettazione.len, &o, &a, &err) == 0);
    CHECK(a.valid == 0);
    CHECK(has_error(&a, "not in the provider index"));
    pec_analysis_clear(&a);
    pec_index_free(&other);

    /* listed, but its users' domains do not hold the sender: a receipt comes from the service address
     * (its mailReceipt), which the real index does not list among managedDomains, so it stays valid;
     * a busta certifies a sender that must be one of the provider's users */
    pec_buf_reset(&ldif);
    pec_index_render_entry(&ldif, PROVIDER, der, der_len, SERVICE, other_domains, 1);
    other = pec_index_parse_ldif(ldif.data, ldif.len, &err);
    CHECK(other != NULL);
    o.index = other;
    CHECK(pec_message_analyze(accettazione.data, accettazione.len, &o, &a, &err) == 0);
    CHECK(a.valid == 1 && a.gestore_signed == 1);
    pec_analysis_clear(&a);
    CHECK(pec_message_analyze(busta.data, busta.len, &o, &a, &err) == 0);
    CHECK(a.valid == 0 && a.gestore_signed == 1);
    CHECK(has_error(&a, "is not in a domain " PROVIDER " manages"));
    pec_analysis_clear(&a);
    pec_index_free(&other);
    pec_buf_release(&ldif);
}

/* anomaly_of - a busta di anomalia wrapping raw, read back: it must be a valid anomaly of ours */
static void anomaly_of(const char *what, const void *raw, size_t len)
{
    struct pec_compose c = { 0 };
    struct pec_buf out = PEC_BUF_INIT;
    struct pec_error err = { 0 };
    struct pec_analysis a;
    char id[PEC_ID_MAX];

    c.type = PEC_MSG_BUSTA_ANOMALIA;
    c.when = NOW;
    c.original = raw;
    c.original_len = len;
    c.reason = "messaggio non conforme";
    CHECK(pec_compose_build(&iss, &c, &out, id, &err) == 0);
    if (out.len == 0) {
        fprintf(stderr, "  %s: %s\n", what, err.msg);
        return;
    }
    analyze(out.data, out.len, &a);
    CHECK(a.kind == PEC_KIND_BUSTA_ANOMALIA);
    CHECK_STR(a.x_trasporto, "errore");
    CHECK(a.sig.status == PEC_SIG_VALID);
    CHECK(a.valid == 1);
    if (!a.valid) {
        fprintf(stderr, "  anomaly of %s:\n", what);
        print_errors(what, &a);
    }
    pec_analysis_clear(&a);
    pec_buf_release(&out);
}

/* test_anomalies - what a reception point wraps must come out as a valid anomaly: a damaged busta of ours
 * (same Message-ID, so the same derived boundaries), a message without sender or recipients, no headers */
static void test_anomalies(void)
{
    static const char nobody[] = "From: (sconosciuto)\r\nTo: \r\nCc: (nessuno)\r\nSubject: vuoto\r\n\r\nx\r\n";
    static const char headerless[] = "\x01\x02 nessuna intestazione\r\n";

    anomaly_of("the busta", busta.data, busta.len);
    anomaly_of("half the busta", busta.data, busta.len / 2);
    anomaly_of("no sender", nobody, sizeof(nobody) - 1);
    anomaly_of("no headers", headerless, sizeof(headerless) - 1);
    anomaly_of("nothing", "", 0);
}

int main(void)
{
    if (fixture_init() < 0 || make_messages() < 0) {
        CHECK(!"fixture");
        return CHECK_DONE();
    }
    test_ordinary();
    test_spellings();
    test_protocols();
    test_inconsistent();
    test_consistency();
    test_own_kinds();
    test_lf();
    test_forged();
    test_untrusted();
    test_index_checks();
    test_anomalies();
    pec_daticert_clear(&facts);
    pec_buf_release(&busta);
    pec_buf_release(&accettazione);
    fixture_free();
    return CHECK_DONE();
}
