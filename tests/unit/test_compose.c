/* test_compose.c - every message type built with the golden test PKI and read back by the classifier:
 * headers, subjects, daticert, one time reference, Message-ID handling, breve hashes, the §2.8 table,
 * and the certification data the access point takes from an original. */
#define _GNU_SOURCE /* memmem */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "check.h"
#include "pec/clock.h"
#include "pec/compose.h"
#include "pec/index.h"
#include "pec/message.h"

#include "golden_fixture.h"

#define CLIENT_ID "<client-0001@mua.example>"

/* ---- the client's original: text body, a base64 PDF-like attachment, a message/rfc822 attachment ---- */

#define ATT_PDF                                                                                     \
    "JVBERi0xLjQKJcOkw7zDtsOfCjEgMCBvYmoKPDwvVHlwZS9DYXRhbG9nPj4KZW5kb2JqCnRyYWls\r\n"              \
    "ZXIKPDwvUm9vdCAxIDAgUj4+CiUlRU9GCg==\r\n"
#define ATT_EML                                                                                     \
    "From: Zeno <zeno@example.org>\r\n"                                                             \
    "To: alice@pec-esempio.test\r\n"                                                                \
    "Subject: preventivo\r\n"                                                                       \
    "Message-ID: <zeno-7@example.org>\r\n"                                                          \
    "\r\n"                                                                                          \
    "Le invio il preventivo richiesto.\r\n"                                                         \
    "Saluti, Zeno\r\n"
#define BODY_TEXT "Testo del messaggio: in allegato contratto e preventivo.\r\n"

static const char original[] =
    "Return-Path: <alice@pec-esempio.test>\r\n"
    "Received: from mua.example by pec-esempio.test; Mon, 23 Nov 2026 07:59:59 +0100\r\n"
    "From: Alice Rossi <alice@pec-esempio.test>\r\n"
    "To: bob@pec-esempio.test, dave@example.org\r\n"
    "Cc: carol@pec-remoto.test\r\n"
    "Subject: Contratto di fornitura =?UTF-8?Q?=E2=80=93_citt=C3=A0?=\r\n"
    "Date: Mon, 23 Nov 2026 07:59:00 +0100\r\n"
    "Message-ID: " CLIENT_ID "\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
    "\r\n"
    "--b1\r\n"
    "Content-Type: text/plain; charset=us-ascii\r\n"
    "\r\n" BODY_TEXT "--b1\r\n"
    "Content-Type: application/pdf; name=\"contratto.pdf\"\r\n"
    "Content-Disposition: attachment; filename=\"contratto.pdf\"\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n" ATT_PDF "--b1\r\n"
    "Content-Type: message/rfc822; name=\"preventivo.eml\"\r\n"
    "Content-Disposition: attachment; filename=\"preventivo.eml\"\r\n"
    "\r\n" ATT_EML "--b1--\r\n";

#define SUBJECT_UTF8 "Contratto di fornitura \xe2\x80\x93 citt\xc3\xa0"

/* An ordinary message from the Internet, for the anomaly. */
static const char ordinary[] =
    "From: mallory@example.net\r\n"
    "To: bob@pec-esempio.test\r\n"
    "Cc: eve@pec-esempio.test\r\n"
    "Subject: Offerta imperdibile\r\n"
    "Date: Mon, 23 Nov 2026 07:05:00 +0100\r\n"
    "Message-ID: <spam-42@example.net>\r\n"
    "\r\n"
    "Posta ordinaria, non certificata.\r\n";

static struct pec_daticert facts; /* of original, with identificativo */
static struct pec_buf busta;      /* the busta di trasporto built from original */

/* ---- helpers ---- */

/* header_block_end - offset of the blank line ending the top-level header section */
static size_t header_block_end(const char *m, size_t len)
{
    const char *e = memmem(m, len, "\r\n\r\n", 4);

    return e ? (size_t)(e - m) + 2 : len;
}

/* top_header - the unfolded value of a top-level header (folds become one space) into out; 0 when found */
static int top_header(const char *m, size_t len, const char *name, char *out, size_t outlen)
{
    size_t hend = header_block_end(m, len), nl = strlen(name);

    for (size_t i = 0; i < hend; i++) {
        if ((i == 0 || m[i - 1] == '\n') && i + nl + 1 < hend && strncasecmp(m + i, name, nl) == 0 &&
            m[i + nl] == ':') {
            size_t o = 0, j = i + nl + 1;
            while (j < hend && m[j] == ' ')
                j++;
            for (; j < hend && o + 1 < outlen; j++) {
                if (m[j] == '\r' && j + 2 < hend && m[j + 1] == '\n' && (m[j + 2] == ' ' || m[j + 2] == '\t')) {
                    out[o++] = ' ';
                    for (j += 2; j + 1 < hend && (m[j + 1] == ' ' || m[j + 1] == '\t'); j++)
                        ;
                    continue;
                }
                if (m[j] == '\r')
                    break;
                out[o++] = m[j];
            }
            out[o] = '\0';
            return 0;
        }
    }
    return -1;
}

/* check_wire - 7-bit clean, CRLF only (no bare LF, no bare CR) */
static void check_wire(const char *what, const struct pec_buf *b)
{
    size_t high = 0, bare_lf = 0, bare_cr = 0;

    for (size_t i = 0; i < b->len; i++) {
        unsigned char c = (unsigned char)b->data[i];
        if (c & 0x80)
            high++;
        if (c == '\n' && (i == 0 || b->data[i - 1] != '\r'))
            bare_lf++;
        if (c == '\r' && (i + 1 >= b->len || b->data[i + 1] != '\n'))
            bare_cr++;
    }
    CHECK(high == 0 && bare_lf == 0 && bare_cr == 0);
    if (high || bare_lf || bare_cr)
        fprintf(stderr, "  %s: %zu 8-bit bytes, %zu bare LF, %zu bare CR\n", what, high, bare_lf, bare_cr);
}

/* print_errors - why an analysis is not valid */
static void print_errors(const char *what, const struct pec_analysis *a)
{
    for (size_t i = 0; i < a->errors.n; i++)
        fprintf(stderr, "  %s: %s\n", what, a->errors.v[i]);
}

/* build - pec_compose_build with the fixture issuer; 0 or -1 (message printed) */
static int build(const struct pec_compose *c, struct pec_buf *out, char msgid[PEC_ID_MAX])
{
    struct pec_error err = { 0 };
    int rc = pec_compose_build(&iss, c, out, msgid, &err);

    if (rc < 0)
        fprintf(stderr, "  build %s: %s\n", pec_msgtype_name(c->type), err.msg);
    return rc;
}

/* find_part_block - the header block (from its boundary line to the blank line) of the part whose
 * Content-Disposition/Content-Type names `name`, searching from `from`; NULL when absent.  *body_r points
 * after the blank line. */
static const char *find_part_block(const char *m, const char *from, const char *name, const char **body_r,
                                   size_t *hdr_len_r)
{
    char pat[256];
    const char *p, *start, *end;

    snprintf(pat, sizeof(pat), "filename=%s\r\n", name);
    if ((p = strstr(from, pat)) == NULL) {
        snprintf(pat, sizeof(pat), "filename=\"%s\"", name);
        if ((p = strstr(from, pat)) == NULL)
            return NULL;
    }
    for (start = p; start > m && !(start[-1] == '\n' && start[0] == '-' && start[1] == '-'); start--)
        ;
    if ((end = strstr(p, "\r\n\r\n")) == NULL)
        return NULL;
    *body_r = end + 4;
    *hdr_len_r = (size_t)(end - start);
    return start;
}

/* ---- tests ---- */

/* make_facts_and_busta - facts of the original and its busta di trasporto */
static int make_facts_and_busta(void)
{
    static const char *const own[] = { DOMAIN, "pec-remoto.test" };
    struct pec_error err = { 0 };
    struct pec_compose c = { 0 };
    char id[PEC_ID_MAX], msgid[PEC_ID_MAX];

    if (pec_message_facts(original, sizeof(original) - 1, idx, own, 2, &facts, &err) < 0) {
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
    if (build(&c, &busta, msgid) < 0)
        return -1;
    CHECK_STR(msgid, facts.identificativo);
    return 0;
}

struct expect {
    enum pec_msgtype type;
    enum pec_kind kind;
    enum pec_tipo tipo;
    const char *x_ricevuta, *x_trasporto, *prefix;
    enum pec_errore errore;
    int virus_header;
};

static const struct expect catalogue[PEC_MSG_COUNT] = {
    { PEC_MSG_BUSTA_TRASPORTO, PEC_KIND_BUSTA_TRASPORTO, PEC_TIPO_POSTA_CERTIFICATA, NULL, "posta-certificata",
      "POSTA CERTIFICATA: ", PEC_ERRORE_NESSUNO, 0 },
    { PEC_MSG_BUSTA_ANOMALIA, PEC_KIND_BUSTA_ANOMALIA, PEC_TIPO_NONE, NULL, "errore", "ANOMALIA MESSAGGIO: ",
      PEC_ERRORE_NESSUNO, 0 },
    { PEC_MSG_ACCETTAZIONE, PEC_KIND_RICEVUTA, PEC_TIPO_ACCETTAZIONE, "accettazione", NULL, "ACCETTAZIONE: ",
      PEC_ERRORE_NESSUNO, 0 },
    { PEC_MSG_NON_ACCETTAZIONE, PEC_KIND_RICEVUTA, PEC_TIPO_NON_ACCETTAZIONE, "non-accettazione", NULL,
      "AVVISO DI NON ACCETTAZIONE: ", PEC_ERRORE_ALTRO, 0 },
    { PEC_MSG_NON_ACCETTAZIONE_VIRUS, PEC_KIND_RICEVUTA, PEC_TIPO_NON_ACCETTAZIONE, "non-accettazione", NULL,
      "AVVISO DI NON ACCETTAZIONE PER VIRUS: ", PEC_ERRORE_VIRUS, 1 },
    { PEC_MSG_PRESA_IN_CARICO, PEC_KIND_RICEVUTA, PEC_TIPO_PRESA_IN_CARICO, "presa-in-carico", NULL,
      "PRESA IN CARICO: ", PEC_ERRORE_NESSUNO, 0 },
    { PEC_MSG_AVVENUTA_CONSEGNA, PEC_KIND_RICEVUTA, PEC_TIPO_AVVENUTA_CONSEGNA, "avvenuta-consegna", NULL,
      "CONSEGNA: ", PEC_ERRORE_NESSUNO, 0 },
    { PEC_MSG_ERRORE_CONSEGNA, PEC_KIND_RICEVUTA, PEC_TIPO_ERRORE_CONSEGNA, "errore-consegna", NULL,
      "AVVISO DI MANCATA CONSEGNA: ", PEC_ERRORE_NO_DEST, 0 },
    { PEC_MSG_ERRORE_CONSEGNA_VIRUS, PEC_KIND_RICEVUTA, PEC_TIPO_ERRORE_CONSEGNA, "errore-consegna", NULL,
      "AVVISO DI MANCATA CONSEGNA PER VIRUS: ", PEC_ERRORE_VIRUS, 1 },
    { PEC_MSG_PREAVVISO_12H, PEC_KIND_RICEVUTA, PEC_TIPO_PREAVVISO_ERRORE_CONSEGNA, "preavviso-errore-consegna", NULL,
      "AVVISO DI MANCATA CONSEGNA PER SUP. TEMPO MASSIMO: ", PEC_ERRORE_NESSUNO, 0 },
    { PEC_MSG_PREAVVISO_24H, PEC_KIND_RICEVUTA, PEC_TIPO_PREAVVISO_ERRORE_CONSEGNA, "preavviso-errore-consegna", NULL,
      "AVVISO DI MANCATA CONSEGNA PER SUP. TEMPO MASSIMO: ", PEC_ERRORE_NESSUNO, 0 },
    { PEC_MSG_RILEVAZIONE_VIRUS, PEC_KIND_RICEVUTA, PEC_TIPO_RILEVAZIONE_VIRUS, "rilevazione-virus", NULL,
      "PROBLEMA DI SICUREZZA: ", PEC_ERRORE_VIRUS, 0 },
};

/* same_or_both_null - two optional strings agree */
static int same_or_both_null(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

/* check_one - build one type and read it back */
static void check_one(const struct expect *e)
{
    static const char *const to_sender[] = { "alice@pec-esempio.test" };
    static const char *const to_remote[] = { "posta-certificata@pec-remoto.test" };
    static char *const ricezione[] = { "bob@pec-esempio.test", "eve@pec-esempio.test" };
    const char *name = pec_msgtype_name(e->type);
    struct pec_daticert f = facts;
    struct pec_compose c = { 0 };
    struct pec_buf out = PEC_BUF_INIT;
    struct pec_analysis a;
    struct pec_error err = { 0 };
    char msgid[PEC_ID_MAX], date[64], got[512];
    int receipt = e->type != PEC_MSG_BUSTA_TRASPORTO && e->type != PEC_MSG_BUSTA_ANOMALIA;

    c.type = e->type;
    c.when = NOW;
    c.facts = &f;
    c.to = to_sender;
    c.n_to = 1;
    switch (e->type) {
    case PEC_MSG_BUSTA_TRASPORTO:
        c.original = original;
        c.original_len = sizeof(original) - 1;
        break;
    case PEC_MSG_BUSTA_ANOMALIA:
        c.facts = NULL;
        c.original = ordinary;
        c.original_len = sizeof(ordinary) - 1;
        c.reason = "il messaggio non e' di posta certificata";
        break;
    case PEC_MSG_NON_ACCETTAZIONE:
        c.reason = "destinatario in copia nascosta";
        break;
    case PEC_MSG_NON_ACCETTAZIONE_VIRUS:
    case PEC_MSG_ERRORE_CONSEGNA_VIRUS:
        c.virus = "Eicar-Signature";
        f.consegna = e->type == PEC_MSG_ERRORE_CONSEGNA_VIRUS ? "bob@pec-esempio.test" : NULL;
        break;
    case PEC_MSG_PRESA_IN_CARICO:
        c.to = to_remote;
        f.ricezione = (char **)ricezione;
        f.n_ricezione = 2;
        break;
    case PEC_MSG_AVVENUTA_CONSEGNA:
        f.consegna = "bob@pec-esempio.test";
        f.ricevuta = PEC_RICEVUTA_COMPLETA;
        c.original = busta.data;
        c.original_len = busta.len;
        break;
    case PEC_MSG_ERRORE_CONSEGNA:
        f.consegna = "bob@pec-esempio.test";
        f.errore = PEC_ERRORE_NO_DEST;
        f.errore_esteso = "5.1.1 - " PROVIDER " - indirizzo non valido";
        break;
    case PEC_MSG_PREAVVISO_12H:
    case PEC_MSG_PREAVVISO_24H:
        f.consegna = "carol@pec-remoto.test";
        break;
    case PEC_MSG_RILEVAZIONE_VIRUS:
        c.to = to_remote;
        c.virus = "Eicar-Signature";
        c.x_mittente = "alice@pec-esempio.test";
        f.consegna = "bob@pec-esempio.test";
        break;
    default:
        break;
    }
    if (build(&c, &out, msgid) < 0) {
        CHECK(!"build failed");
        return;
    }
    check_wire(name, &out);
    CHECK(pec_message_analyze(out.data, out.len, &aopts, &a, &err) == 0);
    CHECK(a.valid == 1);
    if (!a.valid) {
        fprintf(stderr, "  %s not valid:\n", name);
        print_errors(name, &a);
    }
    CHECK(a.kind == e->kind);
    CHECK(a.tipo == e->tipo);
    CHECK(same_or_both_null(a.x_ricevuta, e->x_ricevuta));
    CHECK(same_or_both_null(a.x_trasporto, e->x_trasporto));
    if (!same_or_both_null(a.x_ricevuta, e->x_ricevuta) || !same_or_both_null(a.x_trasporto, e->x_trasporto))
        fprintf(stderr, "  %s: X-Ricevuta %s, X-Trasporto %s\n", name, a.x_ricevuta ? a.x_ricevuta : "-",
                a.x_trasporto ? a.x_trasporto : "-");
    /* the subject is the exact prefix followed by the original subject */
    {
        char want[512];
        snprintf(want, sizeof(want), "%s%s", e->prefix,
                 e->type == PEC_MSG_BUSTA_ANOMALIA ? "Offerta imperdibile" : SUBJECT_UTF8);
        CHECK_STR(a.subject, want);
    }
    /* X-VerificaSicurezza only on the two virus-induced notices */
    if (e->virus_header)
        CHECK_STR(a.x_verifica_sicurezza, "errore");
    else
        CHECK(a.x_verifica_sicurezza == NULL);
    if (e->type == PEC_MSG_RILEVAZIONE_VIRUS)
        CHECK_STR(a.x_mittente, "alice@pec-esempio.test");
    else
        CHECK(a.x_mittente == NULL);
    /* the sender of every provider message is the service address */
    CHECK_STR(a.from, SERVICE);
    CHECK(a.provider != NULL);
    CHECK(a.sig.status == PEC_SIG_VALID && a.sig.trusted == 1);
    CHECK(a.sig.digest == PEC_DIGEST_SHA256);
    CHECK_STR(a.micalg, "sha-256");
    CHECK_STR(a.protocol, "application/pkcs7-signature");
    /* one time reference: signingTime, Date and daticert */
    CHECK(a.sig.signing_time == NOW);
    pec_rfc5322_date(NOW, date, sizeof(date));
    CHECK(top_header(out.data, out.len, "Date", got, sizeof(got)) == 0);
    CHECK_STR(got, date);
    CHECK_STR(a.message_id, msgid);
    if (e->type == PEC_MSG_BUSTA_ANOMALIA) {
        /* the anomaly keeps the received Message-ID and carries no daticert */
        CHECK_STR(msgid, "spam-42@example.net");
        CHECK(a.has_daticert == 0);
        CHECK(memmem(out.data, out.len, "daticert.xml", 12) == NULL);
        CHECK(a.x_riferimento == NULL);
        CHECK(top_header(out.data, out.len, "To", got, sizeof(got)) == 0);
        CHECK_STR(got, "bob@pec-esempio.test");
        CHECK(top_header(out.data, out.len, "Reply-To", got, sizeof(got)) == 0);
        CHECK_STR(got, "mallory@example.net");
        CHECK(strstr(a.from ? a.from : "", "example.net") == NULL);
        pec_analysis_clear(&a);
        pec_buf_release(&out);
        return;
    }
    CHECK(a.has_daticert == 1);
    CHECK(a.daticert.tipo == e->tipo);
    CHECK(a.daticert.errore == e->errore);
    CHECK(a.daticert.when == NOW);
    CHECK_STR(a.daticert.gestore, PROVIDER);
    CHECK_STR(a.daticert.identificativo, facts.identificativo);
    CHECK_STR(a.daticert.msgid, CLIENT_ID);
    CHECK_STR(a.daticert.mittente, "alice@pec-esempio.test");
    CHECK_STR(a.daticert.oggetto, SUBJECT_UTF8);
    CHECK(a.daticert.n_destinatari == 3);
    CHECK(same_or_both_null(a.daticert.consegna, f.consegna));
    CHECK(a.daticert.n_ricezione == f.n_ricezione);
    for (size_t i = 0; i < a.daticert.n_ricezione && i < f.n_ricezione; i++)
        CHECK_STR(a.daticert.ricezione[i], f.ricezione[i]);
    CHECK(same_or_both_null(a.daticert.errore_esteso,
                            f.errore_esteso ? f.errore_esteso
                                            : (e->errore == PEC_ERRORE_VIRUS ? "Eicar-Signature" : NULL)));
    CHECK_STR(a.x_riferimento, CLIENT_ID);
    if (receipt) {
        /* a receipt has its own new Message-ID and goes to the given recipient */
        CHECK(strcmp(msgid, facts.identificativo) != 0);
        CHECK(top_header(out.data, out.len, "To", got, sizeof(got)) == 0);
        CHECK_STR(got, c.to[0]);
        CHECK(a.daticert.ricevuta == (e->type == PEC_MSG_AVVENUTA_CONSEGNA ? PEC_RICEVUTA_COMPLETA
                                                                            : PEC_RICEVUTA_NONE));
        /* only the busta and the completa/breve consegna carry the original */
        CHECK(a.has_postacert == (e->type == PEC_MSG_AVVENUTA_CONSEGNA));
    } else {
        const char *body, *blk;
        size_t hl;

        /* the busta: Message-ID = identificativo, the client's id moved to X-Riferimento-Message-ID */
        CHECK_STR(msgid, facts.identificativo);
        CHECK(a.has_postacert == 1);
        CHECK(a.daticert.ricevuta == PEC_RICEVUTA_COMPLETA);
        CHECK_STR(a.x_tiporicevuta, "completa");
        CHECK(top_header(out.data, out.len, "From", got, sizeof(got)) == 0);
        CHECK_STR(got, "\"Per conto di: alice@pec-esempio.test\" <" SERVICE ">");
        CHECK(top_header(out.data, out.len, "Reply-To", got, sizeof(got)) == 0);
        CHECK_STR(got, "alice@pec-esempio.test");
        CHECK(top_header(out.data, out.len, "Cc", got, sizeof(got)) == 0);
        CHECK_STR(got, "carol@pec-remoto.test");
        CHECK(top_header(out.data, out.len, "Return-Path", got, sizeof(got)) == 0);
        CHECK_STR(got, "<alice@pec-esempio.test>");
        blk = find_part_block(out.data, out.data, "postacert.eml", &body, &hl);
        CHECK(blk != NULL);
        if (blk) {
            size_t pend = header_block_end(body, strlen(body));
            char want[256];
            snprintf(want, sizeof(want), "\r\nMessage-ID: <%s>\r\n", facts.identificativo);
            CHECK(memmem(body, pend, want, strlen(want)) != NULL);
            CHECK(memmem(body, pend, "\r\nX-Riferimento-Message-ID: " CLIENT_ID "\r\n",
                         strlen("\r\nX-Riferimento-Message-ID: " CLIENT_ID "\r\n")) != NULL);
            CHECK(memmem(body, pend, "\nMessage-ID: " CLIENT_ID, strlen("\nMessage-ID: " CLIENT_ID)) == NULL);
            CHECK(strstr(body, ATT_PDF) != NULL && strstr(body, ATT_EML) != NULL);
        }
    }
    pec_analysis_clear(&a);
    pec_buf_release(&out);
}

/* test_catalogue - every type */
static void test_catalogue(void)
{
    for (int t = 0; t < PEC_MSG_COUNT; t++) {
        CHECK(catalogue[t].type == (enum pec_msgtype)t);
        check_one(&catalogue[t]);
    }
    CHECK_STR(pec_msgtype_name(PEC_MSG_AVVENUTA_CONSEGNA), "avvenuta-consegna");
    CHECK_STR(pec_msgtype_name(PEC_MSG_COUNT), "unknown");
}

/* consegna - build an avvenuta consegna of the busta in the given variant */
static int consegna(enum pec_ricevuta r, struct pec_buf *out, struct pec_analysis *a)
{
    static const char *const to_sender[] = { "alice@pec-esempio.test" };
    struct pec_daticert f = facts;
    struct pec_compose c = { 0 };
    struct pec_error err = { 0 };
    char msgid[PEC_ID_MAX];

    f.consegna = r == PEC_RICEVUTA_SINTETICA ? "carol@pec-remoto.test" : "bob@pec-esempio.test";
    f.ricevuta = r;
    c.type = PEC_MSG_AVVENUTA_CONSEGNA;
    c.when = NOW;
    c.facts = &f;
    c.to = to_sender;
    c.n_to = 1;
    c.original = busta.data;
    c.original_len = busta.len;
    if (build(&c, out, msgid) < 0)
        return -1;
    check_wire(pec_ricevuta_name(r), out);
    if (pec_message_analyze(out->data, out->len, &aopts, a, &err) < 0)
        return -1;
    CHECK(a->valid == 1);
    if (!a->valid)
        print_errors(pec_ricevuta_name(r), a);
    CHECK(a->daticert.ricevuta == r);
    CHECK_STR(a->daticert.consegna, f.consegna);
    return 0;
}

/* check_hash_part - the part named name.hash holds want and is text/plain */
static void check_hash_part(const char *msg, const char *name, const char *want)
{
    const char *body;
    size_t hl = 0;
    const char *blk = find_part_block(msg, msg, name, &body, &hl);

    CHECK(blk != NULL);
    if (blk == NULL) {
        fprintf(stderr, "  no part %s\n", name);
        return;
    }
    CHECK(memmem(blk, hl, "text/plain", 10) != NULL);
    CHECK(strncmp(body, want, 40) == 0 && strncmp(body + 40, "\r\n--", 4) == 0);
    if (strncmp(body, want, 40) != 0)
        fprintf(stderr, "  %s: got %.40s, expected %s\n", name, body, want);
}

/* test_breve - attachments replaced by their SHA-1 (transfer-encoded lines, CRLF), text body kept */
static void test_breve(void)
{
    struct pec_buf out = PEC_BUF_INIT;
    struct pec_analysis a;
    char want_pdf[41], want_eml[41];

    /* expected values from the literal text of the original, not from the library's MIME reading */
    pec_sha1_hex(ATT_PDF, strlen(ATT_PDF), want_pdf);
    pec_sha1_hex(ATT_EML, strlen(ATT_EML), want_eml);

    if (consegna(PEC_RICEVUTA_BREVE, &out, &a) == 0) {
        CHECK(a.has_postacert == 1);
        check_hash_part(out.data, "contratto.pdf.hash", want_pdf);
        check_hash_part(out.data, "preventivo.eml.hash", want_eml);
        CHECK(strstr(out.data, BODY_TEXT) != NULL);
        CHECK(strstr(out.data, "JVBERi0xLjQK") == NULL);
        CHECK(strstr(out.data, "Le invio il preventivo") == NULL);
        CHECK(strstr(out.data, "filename=contratto.pdf\r\n") == NULL &&
              strstr(out.data, "filename=\"contratto.pdf\"") == NULL);
        pec_analysis_clear(&a);
    }
    pec_buf_release(&out);

    if (consegna(PEC_RICEVUTA_SINTETICA, &out, &a) == 0) {
        CHECK(a.has_postacert == 0);
        CHECK(strstr(out.data, "postacert.eml") == NULL);
        CHECK(strstr(out.data, "JVBERi0xLjQK") == NULL);
        pec_analysis_clear(&a);
    }
    pec_buf_release(&out);

    if (consegna(PEC_RICEVUTA_COMPLETA, &out, &a) == 0) {
        CHECK(a.has_postacert == 1);
        CHECK(strstr(out.data, ATT_PDF) != NULL);
        CHECK(strstr(out.data, ATT_EML) != NULL);
        CHECK(strstr(out.data, ".hash") == NULL);
        pec_analysis_clear(&a);
    }
    pec_buf_release(&out);
}

/* test_x_mittente - a rilevazione virus names the original sender even when the caller does not */
static void test_x_mittente(void)
{
    static const char *const to_remote[] = { "posta-certificata@pec-remoto.test" };
    struct pec_daticert f = facts;
    struct pec_compose c = { 0 };
    struct pec_buf out = PEC_BUF_INIT;
    char msgid[PEC_ID_MAX], got[256];

    f.consegna = "bob@pec-esempio.test";
    c.type = PEC_MSG_RILEVAZIONE_VIRUS;
    c.when = NOW;
    c.facts = &f;
    c.to = to_remote;
    c.n_to = 1;
    c.virus = "Eicar-Signature";
    if (build(&c, &out, msgid) == 0) {
        CHECK(top_header(out.data, out.len, "X-Mittente", got, sizeof(got)) == 0);
        CHECK_STR(got, "alice@pec-esempio.test");
    }
    pec_buf_release(&out);
}

/* test_long_subject - a subject longer than a text line, non-ASCII: the text is cut between characters */
static void test_long_subject(void)
{
    static const char *const to_sender[] = { "alice@pec-esempio.test" };
    struct pec_buf subj = PEC_BUF_INIT, out = PEC_BUF_INIT, raw = PEC_BUF_INIT;
    struct pec_compose c = { 0 };
    struct pec_analysis a;
    struct pec_error err = { 0 };
    char msgid[PEC_ID_MAX];

    for (int odd = 0; odd < 4; odd++) {
        struct pec_daticert f = facts;

        pec_buf_reset(&subj);
        for (int i = 0; i < odd; i++)
            pec_buf_puts(&subj, "x");
        for (int i = 0; i < 2500; i++)
            pec_buf_puts(&subj, "\xc3\xa0"); /* à */
        f.oggetto = subj.data;
        memset(&c, 0, sizeof(c));
        c.type = PEC_MSG_ACCETTAZIONE;
        c.when = NOW;
        c.facts = &f;
        c.to = to_sender;
        c.n_to = 1;
        pec_buf_reset(&out);
        CHECK(build(&c, &out, msgid) == 0);
        check_wire("long subject", &out);
        CHECK(pec_message_analyze(out.data, out.len, &aopts, &a, &err) == 0);
        CHECK(a.valid == 1);
        CHECK_STR(a.daticert.oggetto, subj.data);
        pec_analysis_clear(&a);

        /* the same subject, 8-bit, on a message that arrives from the Internet */
        pec_buf_reset(&raw);
        pec_buf_printf(&raw, "From: x@example.net\r\nTo: bob@pec-esempio.test\r\nSubject: %s\r\n\r\nc\r\n", subj.data);
        memset(&c, 0, sizeof(c));
        c.type = PEC_MSG_BUSTA_ANOMALIA;
        c.when = NOW;
        c.original = raw.data;
        c.original_len = raw.len;
        pec_buf_reset(&out);
        CHECK(build(&c, &out, msgid) == 0);
    }
    pec_buf_release(&subj);
    pec_buf_release(&out);
    pec_buf_release(&raw);
}

/* test_eight_bit - issue 13 #4: an 8-bit original (raw UTF-8 header, 8bit text, 8bit binary part) is
 * embedded 7-bit (quoted-printable, base64, RFC 2047) in a busta and in an anomaly, and still says the
 * same; an original whose 8-bit bytes lie under its own signature is kept byte for byte, declared 8bit */
static void test_eight_bit(void)
{
    static const char eight[] =
        "From: alice@pec-esempio.test\r\nTo: bob@pec-esempio.test\r\nSubject: Caff\xc3\xa8 pronto\r\n"
        "Date: Mon, 23 Nov 2026 07:59:00 +0100\r\nMessage-ID: <e8@mua.example>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
        "--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        "Perch\xc3\xa9 s\xc3\xac\r\n"
        "--b\r\nContent-Type: application/octet-stream; name=\"x.bin\"\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        "\xff\xfe\xfd\r\n--b--\r\n";
    static const char signed8[] =
        "From: alice@pec-esempio.test\r\nTo: bob@pec-esempio.test\r\nSubject: firmato\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256; boundary=\"s\"\r\n\r\n"
        "--s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        "Citt\xc3\xa0 firmata\r\n"
        "--s\r\nContent-Type: application/pkcs7-signature; name=smime.p7s\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        "AAAA\r\n--s--\r\n";
    static const enum pec_msgtype types[] = { PEC_MSG_BUSTA_TRASPORTO, PEC_MSG_BUSTA_ANOMALIA };
    struct pec_compose c = { 0 };
    struct pec_buf out = PEC_BUF_INIT;
    struct pec_analysis a;
    struct pec_error err = { 0 };
    char msgid[PEC_ID_MAX];

    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        memset(&c, 0, sizeof(c));
        c.type = types[i];
        c.when = NOW;
        c.facts = types[i] == PEC_MSG_BUSTA_TRASPORTO ? &facts : NULL;
        c.original = eight;
        c.original_len = sizeof(eight) - 1;
        c.reason = "prova";
        pec_buf_reset(&out);
        CHECK(build(&c, &out, msgid) == 0);
        check_wire("8-bit original", &out);
        CHECK(memmem(out.data, out.len, "Perch=C3=A9 s=C3=AC", 19) != NULL);
        CHECK(memmem(out.data, out.len, "//79", 4) != NULL); /* base64 of ff fe fd */
        CHECK(memmem(out.data, out.len, "=?UTF-8?", 8) != NULL || memmem(out.data, out.len, "=?utf-8?", 8) != NULL);
        CHECK(memmem(out.data, out.len, "Content-Transfer-Encoding: 7bit", 31) != NULL);
        CHECK(pec_message_analyze(out.data, out.len, &aopts, &a, &err) == 0);
        CHECK(a.sig.status == PEC_SIG_VALID);
        pec_analysis_clear(&a);
    }
    c.original = signed8;
    c.original_len = sizeof(signed8) - 1;
    pec_buf_reset(&out);
    CHECK(build(&c, &out, msgid) == 0);
    CHECK(memmem(out.data, out.len, "Citt\xc3\xa0 firmata\r\n", 16) != NULL);
    CHECK(memmem(out.data, out.len, "Content-Transfer-Encoding: 8bit", 31) != NULL);
    pec_buf_release(&out);
}

/* test_build_errors - unusable input is refused, not signed */
static void test_build_errors(void)
{
    static const char *const to_sender[] = { "alice@pec-esempio.test" };
    static const char no_postacert[] = "From: a@b.test\r\nTo: c@d.test\r\nSubject: x\r\n\r\nniente\r\n";
    struct pec_daticert f = facts;
    struct pec_compose c = { 0 };
    struct pec_buf out = PEC_BUF_INIT;
    struct pec_error err = { 0 };
    char msgid[PEC_ID_MAX];

    c.type = PEC_MSG_ACCETTAZIONE;
    c.when = NOW;
    c.to = to_sender;
    c.n_to = 1;
    CHECK(pec_compose_build(&iss, &c, &out, msgid, &err) == -1); /* no facts */
    CHECK(err.cls == PEC_ERR_INVALID);
    CHECK(out.len == 0);
    c.type = PEC_MSG_BUSTA_TRASPORTO;
    c.facts = &f;
    CHECK(pec_compose_build(&iss, &c, &out, msgid, &err) == -1); /* no original */
    CHECK(err.cls == PEC_ERR_INVALID);
    c.type = PEC_MSG_AVVENUTA_CONSEGNA;
    f.ricevuta = PEC_RICEVUTA_COMPLETA;
    f.consegna = "bob@pec-esempio.test";
    c.original = no_postacert;
    c.original_len = sizeof(no_postacert) - 1;
    err.msg[0] = '\0';
    CHECK(pec_compose_build(&iss, &c, &out, msgid, &err) == -1);
    CHECK(err.cls == PEC_ERR_INVALID && strstr(err.msg, "postacert") != NULL);
    CHECK(out.len == 0);
    pec_buf_release(&out);
}

/* test_variant - the §2.8 table */
static void test_variant(void)
{
    CHECK(pec_consegna_variant(PEC_RICEVUTA_NONE, 1) == PEC_RICEVUTA_COMPLETA);
    CHECK(pec_consegna_variant(PEC_RICEVUTA_COMPLETA, 1) == PEC_RICEVUTA_COMPLETA);
    CHECK(pec_consegna_variant(PEC_RICEVUTA_BREVE, 1) == PEC_RICEVUTA_BREVE);
    CHECK(pec_consegna_variant(PEC_RICEVUTA_SINTETICA, 1) == PEC_RICEVUTA_SINTETICA);
    CHECK(pec_consegna_variant(PEC_RICEVUTA_NONE, 0) == PEC_RICEVUTA_SINTETICA);
    CHECK(pec_consegna_variant(PEC_RICEVUTA_COMPLETA, 0) == PEC_RICEVUTA_SINTETICA);
    CHECK(pec_consegna_variant(PEC_RICEVUTA_BREVE, 0) == PEC_RICEVUTA_SINTETICA);
    CHECK(pec_consegna_variant(PEC_RICEVUTA_SINTETICA, 0) == PEC_RICEVUTA_SINTETICA);
}

/* facts_of - pec_message_facts on a literal, own domain pec-esempio.test, the remote index */
static int facts_of(const char *msg, const struct pec_index *index, struct pec_daticert *d, struct pec_error *err)
{
    static const char *const own[] = { DOMAIN };

    return pec_message_facts(msg, strlen(msg), index, own, 1, d, err);
}

/* test_facts - what the access point records of an original */
static void test_facts(void)
{
    static const char *const remote_domains[] = { "pec-remoto.test" };
    static const char two_to[] =
        "From: Alice <alice@pec-esempio.test>\r\n"
        "Cc: Carol <carol@PEC-REMOTO.test>, zed@example.org\r\n"
        "To: \"Bob B.\" <bob@PEC-esempio.test>, dave@example.org\r\n"
        "Reply-To: Segreteria <segreteria@pec-esempio.test>\r\n"
        "Subject: =?ISO-8859-1?Q?Citt=E0?= e prova\r\n"
        "Message-ID: <id-1@mua.example>\r\n"
        "\r\n"
        "corpo\r\n";
    static const char no_reply[] =
        "From: alice@pec-esempio.test\r\nTo: bob@pec-esempio.test\r\n\r\ncorpo\r\n";
    static const char no_to[] = "From: alice@pec-esempio.test\r\nCc: bob@pec-esempio.test\r\nSubject: x\r\n\r\nc\r\n";
    static const char two_from[] =
        "From: alice@pec-esempio.test, mallory@pec-esempio.test\r\nTo: bob@pec-esempio.test\r\n\r\nc\r\n";
    static const char no_from[] = "To: bob@pec-esempio.test\r\n\r\nc\r\n";
    static const char bad_to[] = "From: alice@pec-esempio.test\r\nTo: bob\r\n\r\nc\r\n";
    static const char empty_cc[] = "From: alice@pec-esempio.test\r\nTo: bob@pec-esempio.test\r\nCc: \r\n\r\nc\r\n";
    static const char two_from_fields[] = "From: alice@pec-esempio.test\r\nTo: bob@pec-esempio.test\r\n"
                                          "from: ceo@pec-esempio.test\r\n\r\nc\r\n";
    static const char two_to_fields[] = "From: alice@pec-esempio.test\r\nTo: bob@pec-esempio.test\r\n"
                                        "To: eve@example.org\r\n\r\nc\r\n";
    struct pec_buf ldif = PEC_BUF_INIT;
    struct pec_index *remote;
    struct pec_daticert d;
    struct pec_error err = { 0 };
    size_t der_len;
    const void *der = pec_signer_cert_der(signer, &der_len);

    pec_index_render_entry(&ldif, "Gestore Remoto", der, der_len, "ricevute@pec-remoto.test", remote_domains, 1);
    remote = pec_index_parse_ldif(ldif.data, ldif.len, &err);
    pec_buf_release(&ldif);
    CHECK(remote != NULL);

    CHECK(facts_of(two_to, remote, &d, &err) == 0);
    CHECK_STR(d.mittente, "alice@pec-esempio.test");
    CHECK(d.n_destinatari == 4);
    if (d.n_destinatari == 4) {
        CHECK_STR(d.destinatari[0].addr, "bob@PEC-esempio.test");
        CHECK(d.destinatari[0].esterno == 0); /* own domain, case-insensitive */
        CHECK_STR(d.destinatari[1].addr, "dave@example.org");
        CHECK(d.destinatari[1].esterno == 1);
        CHECK_STR(d.destinatari[2].addr, "carol@PEC-REMOTO.test");
        CHECK(d.destinatari[2].esterno == 0); /* in the index */
        CHECK_STR(d.destinatari[3].addr, "zed@example.org");
        CHECK(d.destinatari[3].esterno == 1);
    }
    CHECK_STR(d.risposte, "segreteria@pec-esempio.test");
    CHECK_STR(d.oggetto, "Citt\xc3\xa0 e prova");
    CHECK_STR(d.msgid, "<id-1@mua.example>");
    CHECK(d.identificativo == NULL && d.consegna == NULL && d.tipo == PEC_TIPO_NONE);
    pec_daticert_clear(&d);

    /* without an index, the remote domain is esterno */
    CHECK(facts_of(two_to, NULL, &d, &err) == 0);
    CHECK(d.n_destinatari == 4 && d.destinatari[2].esterno == 1);
    pec_daticert_clear(&d);

    CHECK(facts_of(no_reply, remote, &d, &err) == 0);
    CHECK_STR(d.risposte, "alice@pec-esempio.test");
    CHECK(d.msgid == NULL);
    CHECK(d.oggetto == NULL);
    CHECK(d.n_destinatari == 1);
    pec_daticert_clear(&d);

    CHECK(facts_of(empty_cc, remote, &d, &err) == 0);
    CHECK(d.n_destinatari == 1);
    pec_daticert_clear(&d);

    err.msg[0] = '\0';
    CHECK(facts_of(no_to, remote, &d, &err) == -1);
    CHECK(err.cls == PEC_ERR_INVALID && strstr(err.msg, "To") != NULL);
    CHECK(d.mittente == NULL && d.destinatari == NULL);
    err.msg[0] = '\0';
    CHECK(facts_of(two_from, remote, &d, &err) == -1);
    CHECK(err.cls == PEC_ERR_INVALID && strstr(err.msg, "From") != NULL);
    err.msg[0] = '\0';
    CHECK(facts_of(two_from_fields, remote, &d, &err) == -1); /* a second From field, not just the first read */
    CHECK(err.cls == PEC_ERR_INVALID && strstr(err.msg, "From") != NULL);
    err.msg[0] = '\0';
    CHECK(facts_of(two_to_fields, remote, &d, &err) == -1);
    CHECK(strstr(err.msg, "To") != NULL);
    err.msg[0] = '\0';
    CHECK(facts_of(no_from, remote, &d, &err) == -1);
    CHECK(strstr(err.msg, "From") != NULL);
    err.msg[0] = '\0';
    CHECK(facts_of(bad_to, remote, &d, &err) == -1);
    CHECK(strstr(err.msg, "To") != NULL);
    CHECK(facts_of(bad_to, remote, &d, NULL) == -1); /* err may be NULL */
    pec_index_free(&remote);
}

int main(void)
{
    if (fixture_init() < 0) {
        CHECK(!"fixture");
        return CHECK_DONE();
    }
    if (make_facts_and_busta() == 0) {
        test_catalogue();
        test_breve();
        test_x_mittente();
        test_long_subject();
        test_eight_bit();
        test_build_errors();
    } else {
        CHECK(!"busta di trasporto");
    }
    test_variant();
    test_facts();
    pec_daticert_clear(&facts);
    pec_buf_release(&busta);
    fixture_free();
    return CHECK_DONE();
}
