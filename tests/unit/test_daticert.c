/* test_daticert.c - daticert.xml: golden renders, DTD validation by xmllint, round trip, real provider
 * files, hostile and invalid input, render refusals.
 *
 * PEC_UPDATE_GOLDEN=1 rewrites tests/golden/daticert/<tipo>.ref from the current renderer: read the
 * diff before keeping it.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"
#include "pec/clock.h"
#include "pec/daticert.h"

#define WHEN_WINTER 1415985992 /* 14/11/2014 18:26:32 +0100 (the Aruba 2014 samples) */
#define WHEN_SUMMER 1721037600 /* 15/07/2024 12:00:00 +0200 */

#define NTIPI 8

/* ------------------------------------------------------------------------------------------ */
/* helpers                                                                                     */

/* read_file - whole file into a NUL-terminated malloc'd buffer, NULL when unreadable */
static char *read_file(const char *path, size_t *len_r)
{
    FILE *f = fopen(path, "rb");
    char *data = NULL;
    size_t len = 0, cap = 0, n;

    if (f == NULL)
        return NULL;
    for (;;) {
        if (cap - len < 4096) {
            cap = cap ? cap * 2 : 8192;
            data = realloc(data, cap + 1);
            if (data == NULL)
                abort();
        }
        n = fread(data + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    fclose(f);
    data[len] = '\0';
    *len_r = len;
    return data;
}

/* write_file - replace a file's content; 0 on success */
static int write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    int rc;

    if (f == NULL)
        return -1;
    rc = fwrite(data, 1, len, f) == len ? 0 : -1;
    if (fclose(f) != 0)
        rc = -1;
    return rc;
}

/* str_eq - equal strings, NULL equal only to NULL (an omitted element must stay omitted) */
static int str_eq(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

/* ------------------------------------------------------------------------------------------ */
/* the eight golden records                                                                    */

static struct pec_destinatario dest_one[] = { { "anna.bianchi@pec.example.org", 0 } };
static struct pec_destinatario dest_mixed[] = {
    { "anna.bianchi@pec.example.org", 0 },
    { "luca.verdi@example.com", 1 },
};
static char *ricezione_two[] = { "anna.bianchi@pec.example.org", "carlo.neri@pec.example.org" };

/* golden_record - a fixed record per tipo with every element the DTD and PEC-RULES §6 give that tipo */
static void golden_record(enum pec_tipo tipo, struct pec_daticert *d)
{
    memset(d, 0, sizeof(*d));
    d->tipo = tipo;
    d->errore = PEC_ERRORE_NESSUNO;
    d->mittente = "mario.rossi@pec.example.it";
    d->destinatari = dest_one;
    d->n_destinatari = 1;
    d->risposte = "segreteria@pec.example.it";
    /* accented UTF-8 and the characters XML must escape */
    d->oggetto = "Fattura n° 12 – caffè e più <urgente> & \"riservato\"";
    d->gestore = "Example PEC S.p.A.";
    d->when = WHEN_WINTER;
    d->identificativo = "opec275.20141114182632.23219.07.1.48@pec.example.it";
    d->msgid = "<1415985992.182905912399292@client.example.it>";
    switch (tipo) {
    case PEC_TIPO_ACCETTAZIONE:
        d->destinatari = dest_mixed; /* one esterno recipient */
        d->n_destinatari = 2;
        break;
    case PEC_TIPO_NON_ACCETTAZIONE:
        d->errore = PEC_ERRORE_VIRUS;
        d->errore_esteso = "Virus rilevato: Eicar-Test-Signature";
        break;
    case PEC_TIPO_PRESA_IN_CARICO:
        d->when = WHEN_SUMMER;
        d->ricezione = ricezione_two;
        d->n_ricezione = 2;
        break;
    case PEC_TIPO_AVVENUTA_CONSEGNA:
        d->ricevuta = PEC_RICEVUTA_COMPLETA;
        d->consegna = "anna.bianchi@pec.example.org";
        break;
    case PEC_TIPO_POSTA_CERTIFICATA:
        d->ricevuta = PEC_RICEVUTA_SINTETICA;
        break;
    case PEC_TIPO_ERRORE_CONSEGNA:
        d->errore = PEC_ERRORE_NO_DEST;
        d->consegna = "anna.bianchi@pec.example.org";
        d->errore_esteso = "5.1.1 - Gestore - indirizzo non valido";
        break;
    case PEC_TIPO_PREAVVISO_ERRORE_CONSEGNA:
        d->consegna = "anna.bianchi@pec.example.org";
        break;
    case PEC_TIPO_RILEVAZIONE_VIRUS:
        d->errore = PEC_ERRORE_VIRUS;
        d->consegna = "anna.bianchi@pec.example.org";
        d->errore_esteso = "Eicar-Test-Signature";
        break;
    case PEC_TIPO_NONE:
        break;
    }
}

/* same_record - field by field equality, reporting which field differs */
static void same_record(const struct pec_daticert *a, const struct pec_daticert *b, const char *what)
{
    size_t i;
    int same = 1;

#define SAME(cond)                                                                                  \
    do {                                                                                            \
        CHECK(cond);                                                                                \
        if (!(cond))                                                                                \
            same = 0;                                                                               \
    } while (0)
    SAME(a->tipo == b->tipo);
    SAME(a->errore == b->errore);
    SAME(str_eq(a->mittente, b->mittente));
    SAME(a->n_destinatari == b->n_destinatari);
    for (i = 0; i < a->n_destinatari && i < b->n_destinatari; i++) {
        SAME(str_eq(a->destinatari[i].addr, b->destinatari[i].addr));
        SAME(a->destinatari[i].esterno == b->destinatari[i].esterno);
    }
    SAME(str_eq(a->risposte, b->risposte));
    SAME(str_eq(a->oggetto, b->oggetto));
    SAME(str_eq(a->gestore, b->gestore));
    SAME(a->when == b->when);
    SAME(str_eq(a->identificativo, b->identificativo));
    SAME(str_eq(a->msgid, b->msgid));
    SAME(a->ricevuta == b->ricevuta);
    SAME(str_eq(a->consegna, b->consegna));
    SAME(a->n_ricezione == b->n_ricezione);
    for (i = 0; i < a->n_ricezione && i < b->n_ricezione; i++)
        SAME(str_eq(a->ricezione[i], b->ricezione[i]));
    SAME(str_eq(a->errore_esteso, b->errore_esteso));
#undef SAME
    if (!same)
        fprintf(stderr, "  (round trip of %s)\n", what);
}

/* xmllint_valid - run xmllint, a validator we did not write, against the real DTD; -1 when it cannot run */
static int xmllint_valid(const char *doc, size_t len, const char *what)
{
    static int have_xmllint = -1;
    const char *shared = getenv("PEC_SHARED_DIR");
    char dtd[4096], tmp[] = "/tmp/test_daticert_XXXXXX", cmd[8400];
    int fd, rc;

    if (shared == NULL)
        return -1;
    snprintf(dtd, sizeof(dtd), "%s/spec/daticert.dtd", shared);
    if (access(dtd, R_OK) != 0 || strchr(dtd, '\'') != NULL)
        return -1;
    if (have_xmllint < 0)
        have_xmllint = system("command -v xmllint >/dev/null 2>&1") == 0;
    if (!have_xmllint)
        return -1;
    fd = mkstemp(tmp);
    CHECK(fd >= 0);
    if (fd < 0)
        return -1;
    close(fd);
    CHECK(write_file(tmp, doc, len) == 0);
    snprintf(cmd, sizeof(cmd), "xmllint --noout --dtdvalid '%s' '%s'", dtd, tmp);
    rc = system(cmd);
    if (!(WIFEXITED(rc) && WEXITSTATUS(rc) == 0))
        fprintf(stderr, "xmllint rejects the %s document (kept in %s)\n", what, tmp);
    else
        unlink(tmp);
    return WIFEXITED(rc) && WEXITSTATUS(rc) == 0;
}

/* ------------------------------------------------------------------------------------------ */
/* tests                                                                                       */

/* test_names - the tables give the exact DTD tokens and invert */
static void test_names(void)
{
    int i, ok;

    CHECK(pec_tipo_name(PEC_TIPO_NONE) == NULL);
    CHECK_STR(pec_tipo_name(PEC_TIPO_ACCETTAZIONE), "accettazione");
    CHECK_STR(pec_tipo_name(PEC_TIPO_NON_ACCETTAZIONE), "non-accettazione");
    CHECK_STR(pec_tipo_name(PEC_TIPO_PRESA_IN_CARICO), "presa-in-carico");
    CHECK_STR(pec_tipo_name(PEC_TIPO_AVVENUTA_CONSEGNA), "avvenuta-consegna");
    CHECK_STR(pec_tipo_name(PEC_TIPO_POSTA_CERTIFICATA), "posta-certificata");
    CHECK_STR(pec_tipo_name(PEC_TIPO_ERRORE_CONSEGNA), "errore-consegna");
    CHECK_STR(pec_tipo_name(PEC_TIPO_PREAVVISO_ERRORE_CONSEGNA), "preavviso-errore-consegna");
    CHECK_STR(pec_tipo_name(PEC_TIPO_RILEVAZIONE_VIRUS), "rilevazione-virus");
    CHECK(pec_tipo_name((enum pec_tipo)99) == NULL);
    for (i = 1; i <= NTIPI; i++)
        CHECK(pec_tipo_from_name(pec_tipo_name((enum pec_tipo)i)) == (enum pec_tipo)i);
    CHECK(pec_tipo_from_name("Accettazione") == PEC_TIPO_NONE);
    CHECK(pec_tipo_from_name("") == PEC_TIPO_NONE);
    CHECK(pec_tipo_from_name(NULL) == PEC_TIPO_NONE);

    CHECK_STR(pec_errore_name(PEC_ERRORE_NESSUNO), "nessuno");
    CHECK_STR(pec_errore_name(PEC_ERRORE_NO_DEST), "no-dest");
    CHECK_STR(pec_errore_name(PEC_ERRORE_NO_DOMINIO), "no-dominio");
    CHECK_STR(pec_errore_name(PEC_ERRORE_VIRUS), "virus");
    CHECK_STR(pec_errore_name(PEC_ERRORE_ALTRO), "altro");
    CHECK(pec_errore_name((enum pec_errore)42) == NULL);
    for (i = 0; i <= PEC_ERRORE_ALTRO; i++) {
        ok = 0;
        CHECK(pec_errore_from_name(pec_errore_name((enum pec_errore)i), &ok) == (enum pec_errore)i && ok);
    }
    ok = 1;
    CHECK(pec_errore_from_name("no_dest", &ok) == PEC_ERRORE_NESSUNO && !ok);
    CHECK(pec_errore_from_name("virus", NULL) == PEC_ERRORE_VIRUS);

    CHECK(pec_ricevuta_name(PEC_RICEVUTA_NONE) == NULL);
    CHECK_STR(pec_ricevuta_name(PEC_RICEVUTA_COMPLETA), "completa");
    CHECK_STR(pec_ricevuta_name(PEC_RICEVUTA_BREVE), "breve");
    CHECK_STR(pec_ricevuta_name(PEC_RICEVUTA_SINTETICA), "sintetica");
    CHECK(pec_ricevuta_from_name("breve") == PEC_RICEVUTA_BREVE);
    CHECK(pec_ricevuta_from_name("sintetica") == PEC_RICEVUTA_SINTETICA);
    CHECK(pec_ricevuta_from_name("completa") == PEC_RICEVUTA_COMPLETA);
    CHECK(pec_ricevuta_from_name("lunga") == PEC_RICEVUTA_NONE);
}

/* test_golden - render the eight records, compare with the .ref files, validate with xmllint, parse back */
static void test_golden(void)
{
    const char *src = getenv("PEC_SRC_DIR");
    const char *update = getenv("PEC_UPDATE_GOLDEN");
    int i, validated = 0;

    if (src == NULL) {
        fprintf(stderr, "PEC_SRC_DIR not set: golden comparison skipped\n");
        check_failures++;
        return;
    }
    for (i = 1; i <= NTIPI; i++) {
        const char *name = pec_tipo_name((enum pec_tipo)i);
        struct pec_daticert d, back;
        struct pec_buf out = PEC_BUF_INIT;
        struct pec_error err = { 0 };
        char path[4096];
        char *ref;
        size_t ref_len, k;
        int v;

        golden_record((enum pec_tipo)i, &d);
        CHECK(pec_daticert_render(&d, &out, &err) == 0);
        if (out.data == NULL) {
            fprintf(stderr, "render of %s failed: %s\n", name, err.msg);
            continue;
        }
        /* properties every document must have, whatever the .ref says */
        CHECK(strncmp(out.data, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", 39) == 0);
        CHECK(strchr(out.data, '\r') == NULL);
        CHECK(strstr(out.data, "<!DOCTYPE") == NULL);
        CHECK(strstr(out.data, "errore=\"") != NULL);
        CHECK(strstr(out.data, "&lt;1415985992.182905912399292@client.example.it&gt;") != NULL);
        CHECK(strstr(out.data, "caffè e più &lt;urgente&gt; &amp;") != NULL);

        snprintf(path, sizeof(path), "%s/tests/golden/daticert/%s.ref", src, name);
        if (update != NULL && strcmp(update, "1") == 0) {
            CHECK(write_file(path, out.data, out.len) == 0);
            printf("wrote %s\n", path);
        } else {
            ref = read_file(path, &ref_len);
            CHECK(ref != NULL);
            if (ref == NULL) {
                fprintf(stderr, "missing %s (run with PEC_UPDATE_GOLDEN=1 to create it)\n", path);
            } else {
                CHECK(ref_len == out.len && memcmp(ref, out.data, out.len) == 0);
                if (ref_len != out.len || memcmp(ref, out.data, out.len) != 0) {
                    for (k = 0; k < ref_len && k < out.len && ref[k] == out.data[k]; k++)
                        ;
                    fprintf(stderr, "%s differs from the render at byte %zu; render:\n%s\n", path, k, out.data);
                }
                free(ref);
            }
        }

        v = xmllint_valid(out.data, out.len, name);
        if (v >= 0) {
            CHECK(v == 1);
            validated++;
        }

        CHECK(pec_daticert_parse(out.data, out.len, &back, &err) == 0);
        if (back.tipo == PEC_TIPO_NONE)
            fprintf(stderr, "parse of rendered %s failed: %s\n", name, err.msg);
        same_record(&d, &back, name);
        pec_daticert_clear(&back);
        CHECK(back.mittente == NULL && back.destinatari == NULL && back.n_destinatari == 0);
        pec_buf_release(&out);
    }
    if (validated == 0)
        printf("SKIP: xmllint or %s/spec/daticert.dtd unavailable, DTD validation not run\n",
               getenv("PEC_SHARED_DIR") ? getenv("PEC_SHARED_DIR") : "$PEC_SHARED_DIR");
    else
        printf("xmllint validated %d rendered documents against the DTD\n", validated);
}

/* test_render_appends - render appends to what the buffer already holds */
static void test_render_appends(void)
{
    struct pec_daticert d;
    struct pec_buf out = PEC_BUF_INIT;
    struct pec_error err = { 0 };

    golden_record(PEC_TIPO_ACCETTAZIONE, &d);
    pec_buf_puts(&out, "prefix");
    CHECK(pec_daticert_render(&d, &out, &err) == 0);
    CHECK(strncmp(out.data, "prefix<?xml ", 12) == 0);
    CHECK(out.len == strlen(out.data));
    pec_buf_release(&out);
}

/* test_roundtrip_variants - values at the edges of what render accepts survive a parse */
static void test_roundtrip_variants(void)
{
    static struct pec_destinatario many[50];
    static char addrs[50][40];
    struct pec_daticert d, back;
    struct pec_buf out = PEC_BUF_INIT;
    struct pec_error err = { 0 };
    size_t i;

    golden_record(PEC_TIPO_POSTA_CERTIFICATA, &d);
    for (i = 0; i < 50; i++) {
        snprintf(addrs[i], sizeof(addrs[i]), "utente%zu@pec%zu.example.it", i, i % 3);
        many[i].addr = addrs[i];
        many[i].esterno = (int)(i % 2);
    }
    d.destinatari = many;
    d.n_destinatari = 50;
    d.oggetto = "tab\there, ]]> and &amp; literally, emoji \xF0\x9F\x93\xA7, CR\rLF\nend";
    d.msgid = NULL;
    d.ricevuta = PEC_RICEVUTA_BREVE;
    d.when = 1729990800 - 1800; /* 02:30 +0200 in the repeated autumn hour: only zona tells it apart */
    CHECK(pec_daticert_render(&d, &out, &err) == 0);
    CHECK(strstr(out.data, "<msgid>") == NULL);
    CHECK(strstr(out.data, "<data zona=\"+0200\">") != NULL);
    CHECK(pec_daticert_parse(out.data, out.len, &back, &err) == 0);
    same_record(&d, &back, "variants");
    pec_daticert_clear(&back);
    pec_buf_release(&out);

    d.oggetto = NULL; /* omitted element stays omitted */
    d.when = 1729990800 + 1800; /* 02:30 again, now +0100 */
    CHECK(pec_daticert_render(&d, &out, &err) == 0);
    CHECK(strstr(out.data, "<oggetto") == NULL);
    CHECK(strstr(out.data, "<data zona=\"+0100\">") != NULL);
    CHECK(pec_daticert_parse(out.data, out.len, &back, &err) == 0);
    same_record(&d, &back, "variants without oggetto");
    pec_daticert_clear(&back);
    pec_buf_release(&out);
}

/* parse_sample - parse one file of shared/samples/daticert; 0 when it parsed */
static int parse_sample(const char *dir, const char *name, struct pec_daticert *d)
{
    struct pec_error err = { 0 };
    char path[4096];
    char *data;
    size_t len;
    int rc;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    data = read_file(path, &len);
    CHECK(data != NULL);
    if (data == NULL)
        return -1;
    rc = pec_daticert_parse(data, len, d, &err);
    CHECK(rc == 0);
    if (rc != 0)
        fprintf(stderr, "%s: %s\n", name, err.msg);
    free(data);
    return rc;
}

/* test_samples - daticert.xml files decoded from real providers' messages */
static void test_samples(void)
{
    const char *shared = getenv("PEC_SHARED_DIR");
    char dir[4096];
    struct dirent *de;
    struct pec_daticert d;
    DIR *dh;
    int n = 0;

    if (shared == NULL) {
        printf("SKIP: PEC_SHARED_DIR not set, real samples not parsed\n");
        return;
    }
    snprintf(dir, sizeof(dir), "%s/samples/daticert", shared);
    dh = opendir(dir);
    if (dh == NULL) {
        printf("SKIP: %s absent, real samples not parsed\n", dir);
        return;
    }
    while ((de = readdir(dh)) != NULL) {
        size_t l = strlen(de->d_name);

        if (l < 5 || strcmp(de->d_name + l - 4, ".xml") != 0)
            continue;
        if (parse_sample(dir, de->d_name, &d) == 0) {
            CHECK(d.tipo != PEC_TIPO_NONE && d.mittente != NULL && d.n_destinatari > 0 && d.risposte != NULL);
            CHECK(d.gestore != NULL && d.identificativo != NULL && d.when > 0);
            pec_daticert_clear(&d);
        }
        n++;
    }
    closedir(dh);
    CHECK(n >= 5);

    if (parse_sample(dir, "aruba-2014-accettazione.xml", &d) == 0) {
        CHECK(d.tipo == PEC_TIPO_ACCETTAZIONE);
        CHECK(d.errore == PEC_ERRORE_NESSUNO);
        CHECK_STR(d.mittente, "l.battistini@pec.it");
        CHECK(d.n_destinatari == 1);
        CHECK_STR(d.destinatari[0].addr, "thinkstudio@pec.it");
        CHECK(d.destinatari[0].esterno == 0);
        CHECK_STR(d.risposte, "l.battistini@pec.it");
        CHECK_STR(d.oggetto, "test private");
        CHECK_STR(d.gestore, "ARUBA PEC S.p.A.");
        CHECK_STR(d.identificativo, "opec275.20141114182632.23219.07.1.48@pec.aruba.it");
        CHECK(d.msgid != NULL && strncmp(d.msgid, "<1415985992", 11) == 0);
        CHECK(d.msgid != NULL && d.msgid[strlen(d.msgid) - 1] == '>');
        CHECK(d.when == 1415985992);
        CHECK(d.ricevuta == PEC_RICEVUTA_NONE && d.consegna == NULL && d.n_ricezione == 0);
        CHECK(d.errore_esteso == NULL);
        pec_daticert_clear(&d);
    }
    if (parse_sample(dir, "aruba-2014-avvenuta-consegna.xml", &d) == 0) {
        CHECK(d.tipo == PEC_TIPO_AVVENUTA_CONSEGNA);
        CHECK(d.ricevuta == PEC_RICEVUTA_COMPLETA);
        CHECK_STR(d.consegna, "thinkstudio@pec.it");
        pec_daticert_clear(&d);
    }
    if (parse_sample(dir, "sogei-2018-busta-breve.xml", &d) == 0) {
        CHECK(d.tipo == PEC_TIPO_POSTA_CERTIFICATA);
        CHECK(d.ricevuta == PEC_RICEVUTA_BREVE);
        pec_daticert_clear(&d);
    }
    if (parse_sample(dir, "postecom-2012-busta-esterno.xml", &d) == 0) {
        CHECK(d.n_destinatari == 1 && d.destinatari[0].esterno == 1);
        CHECK_STR(d.destinatari[0].addr, "java@gcc.gnu.org");
        CHECK(d.msgid == NULL);
        CHECK(d.when == 1348233398); /* 21/09/2012 15:16:38 +0200 */
        pec_daticert_clear(&d);
    }
    if (parse_sample(dir, "namirial-2024-busta.xml", &d) == 0) {
        CHECK(d.n_destinatari == 7);
        CHECK(d.n_destinatari == 7 && d.destinatari[6].esterno == 1);
        CHECK_STR(d.n_destinatari == 7 ? d.destinatari[6].addr : NULL, "osj12@yahoo.com");
        pec_daticert_clear(&d);
    }
}

/* A minimal valid document; the invalid cases below are small edits of it. */
#define DOC_HEAD "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
#define INTEST                                                                                      \
    "<intestazione><mittente>m@pec.it</mittente><destinatari tipo=\"certificato\">d@pec.it</destinatari>" \
    "<risposte>m@pec.it</risposte></intestazione>"
#define DATA "<data zona=\"+0100\"><giorno>14/11/2014</giorno><ora>18:26:32</ora></data>"
#define DATI "<dati><gestore-emittente>G</gestore-emittente>" DATA "<identificativo>id@x</identificativo></dati>"
#define ROOT(attrs, body) DOC_HEAD "<postacert " attrs ">" body "</postacert>\n"
#define MINIMAL ROOT("tipo=\"accettazione\" errore=\"nessuno\"", INTEST DATI)

/* expect_invalid - parse fails with PEC_ERR_INVALID, a message (containing want, if given), a zeroed record */
static void expect_invalid(const void *xml, size_t len, const char *label, const char *want)
{
    struct pec_daticert d;
    struct pec_error err = { 0 };
    int rc;

    memset(&d, 0x5A, sizeof(d));
    rc = pec_daticert_parse(xml, len, &d, &err);
    CHECK(rc == -1);
    CHECK(err.cls == PEC_ERR_INVALID);
    CHECK(err.msg[0] != '\0');
    CHECK(d.mittente == NULL && d.destinatari == NULL && d.ricezione == NULL && d.tipo == PEC_TIPO_NONE);
    if (want != NULL)
        CHECK(strstr(err.msg, want) != NULL);
    if (rc == 0)
        pec_daticert_clear(&d);
    printf("  %-28s -> %s\n", label, err.msg);
}

/* expect_invalid_str - expect_invalid on a C string */
static void expect_invalid_str(const char *xml, const char *label, const char *want)
{
    expect_invalid(xml, strlen(xml), label, want);
}

/* test_accepted_variants - what real writers vary: CRLF, BOM, defaults, whitespace, comments, CDATA */
static void test_accepted_variants(void)
{
    static const char *const docs[] = {
        MINIMAL,
        "\xEF\xBB\xBF" MINIMAL,
        ROOT("tipo=\"accettazione\"", INTEST DATI), /* errore defaults to nessuno */
        DOC_HEAD "<postacert tipo=\"accettazione\" errore=\"nessuno\">\r\n  <intestazione>\r\n"
                 "    <mittente>\r\n m@pec.it \r\n</mittente>\r\n    <destinatari>d@pec.it</destinatari>\r\n"
                 "    <risposte>m@pec.it</risposte>\r\n  </intestazione>\r\n  <!-- a comment -->\r\n"
                 "  <dati>\r\n    <gestore-emittente>G</gestore-emittente>\r\n    <data zona=\"+0100\">\r\n"
                 "      <giorno> 14/11/2014 </giorno>\r\n      <ora>18:26:32</ora>\r\n    </data>\r\n"
                 "    <identificativo><![CDATA[id]]>@x</identificativo>\r\n    <ricevuta tipo=\"completa\" />\r\n"
                 "  </dati>\r\n</postacert>\r\n",
        "<postacert tipo='accettazione'>" INTEST DATI "</postacert>", /* no XML declaration */
    };
    size_t i;

    for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        struct pec_daticert d;
        struct pec_error err = { 0 };
        int rc = pec_daticert_parse(docs[i], strlen(docs[i]), &d, &err);

        CHECK(rc == 0);
        if (rc != 0) {
            fprintf(stderr, "variant %zu refused: %s\n", i, err.msg);
            continue;
        }
        CHECK(d.tipo == PEC_TIPO_ACCETTAZIONE && d.errore == PEC_ERRORE_NESSUNO);
        CHECK_STR(d.mittente, "m@pec.it");
        CHECK(d.n_destinatari == 1 && d.destinatari[0].esterno == 0);
        CHECK_STR(d.identificativo, "id@x");
        CHECK(d.oggetto == NULL && d.msgid == NULL);
        CHECK(d.when == 1415985992);
        pec_daticert_clear(&d);
    }
}

/* test_invalid - malformed XML and documents the DTD does not allow */
static void test_invalid(void)
{
    char trunc[sizeof(MINIMAL)];
    size_t cut;

    printf("invalid documents:\n");
    expect_invalid("", 0, "empty", "empty");
    expect_invalid(NULL, 0, "NULL", NULL);
    expect_invalid_str("   \n", "only whitespace", NULL);
    expect_invalid_str("not xml at all", "plain text", NULL);
    memcpy(trunc, MINIMAL, sizeof(trunc));
    expect_invalid(trunc, strlen(MINIMAL) / 2, "truncated document", "malformed");
    for (cut = 0; cut + 1 < strlen(MINIMAL); cut++) { /* dropping only the final LF leaves it whole */
        struct pec_daticert d;
        struct pec_error err = { 0 };

        CHECK(pec_daticert_parse(trunc, cut, &d, &err) == -1);
    }
    expect_invalid_str(DOC_HEAD "<postacerts tipo=\"accettazione\">" INTEST DATI "</postacerts>", "wrong root",
                       "<postacerts>");
    expect_invalid_str(DOC_HEAD "<p:postacert xmlns:p=\"urn:x\" tipo=\"accettazione\">" INTEST DATI "</p:postacert>",
                       "namespaced root", "namespace");
    expect_invalid_str(ROOT("tipo=\"ricevuta-speciale\"", INTEST DATI), "unknown tipo", "ricevuta-speciale");
    expect_invalid_str(ROOT("errore=\"nessuno\"", INTEST DATI), "no tipo", "tipo");
    expect_invalid_str(ROOT("tipo=\"accettazione\" errore=\"grave\"", INTEST DATI), "unknown errore", "grave");
    expect_invalid_str(ROOT("tipo=\"accettazione\" colore=\"rosso\"", INTEST DATI), "unknown attribute", "colore");
    expect_invalid_str(ROOT("tipo=\"accettazione\"", INTEST), "no dati", "lacks <dati>");
    expect_invalid_str(ROOT("tipo=\"accettazione\"", DATI INTEST), "dati before intestazione", NULL);
    expect_invalid_str(ROOT("tipo=\"accettazione\"", INTEST DATI DATI), "two dati", "dati");
    expect_invalid_str(ROOT("tipo=\"accettazione\"", INTEST DATI "<extra/>"), "extra root child", "extra");
    expect_invalid_str(ROOT("tipo=\"accettazione\"", INTEST "stray" DATI), "stray text", "stray");
    expect_invalid_str(ROOT("tipo=\"accettazione\"", "<intestazione><destinatari>d@pec.it</destinatari>"
                                                     "<risposte>m</risposte></intestazione>" DATI),
                       "missing mittente", "lacks <mittente>");
    expect_invalid_str(ROOT("tipo=\"accettazione\"",
                            "<intestazione><mittente>m</mittente><risposte>m</risposte></intestazione>" DATI),
                       "missing destinatari", "lacks <destinatari>");
    expect_invalid_str(ROOT("tipo=\"accettazione\"",
                            "<intestazione><mittente>m</mittente><destinatari>d</destinatari></intestazione>" DATI),
                       "missing risposte", "lacks <risposte>");
    expect_invalid_str(ROOT("tipo=\"accettazione\"",
                            "<intestazione><mittente>m</mittente><mittente>n</mittente><destinatari>d</destinatari>"
                            "<risposte>m</risposte></intestazione>" DATI),
                       "two mittente", "repeated");
    expect_invalid_str(ROOT("tipo=\"accettazione\"",
                            "<intestazione><mittente>m</mittente><risposte>m</risposte><destinatari>d</destinatari>"
                            "</intestazione>" DATI),
                       "risposte before destinatari", NULL);
    expect_invalid_str(ROOT("tipo=\"accettazione\"",
                            "<intestazione><mittente>m</mittente><destinatari tipo=\"pec\">d</destinatari>"
                            "<risposte>m</risposte></intestazione>" DATI),
                       "bad destinatari tipo", "pec");
    expect_invalid_str(ROOT("tipo=\"accettazione\"",
                            "<intestazione><mittente>m<b>x</b></mittente><destinatari>d</destinatari>"
                            "<risposte>m</risposte></intestazione>" DATI),
                       "element inside mittente", "<b>");
    expect_invalid_str(ROOT("tipo=\"accettazione\"",
                            "<intestazione><mittente id=\"1\">m</mittente><destinatari>d</destinatari>"
                            "<risposte>m</risposte></intestazione>" DATI),
                       "attribute on mittente", "id");
    expect_invalid_str(ROOT("tipo=\"accettazione\"",
                            INTEST "<dati><gestore-emittente>G</gestore-emittente>" DATA "</dati>"),
                       "missing identificativo", "<dati> lacks <identificativo>");
    expect_invalid_str(ROOT("tipo=\"accettazione\"", INTEST "<dati><gestore-emittente>G</gestore-emittente>"
                                                            "<identificativo>i</identificativo></dati>"),
                       "missing data", "lacks <data>");
    expect_invalid_str(ROOT("tipo=\"accettazione\"",
                            INTEST "<dati>" DATA "<identificativo>i</identificativo></dati>"),
                       "missing gestore", "lacks <gestore-emittente>");
    expect_invalid_str(ROOT("tipo=\"accettazione\"",
                            INTEST "<dati><gestore-emittente>G</gestore-emittente>" DATA
                                   "<identificativo>i</identificativo><foo>x</foo></dati>"),
                       "extra unknown element", "<foo>");
    expect_invalid_str(ROOT("tipo=\"accettazione\"",
                            INTEST "<dati><gestore-emittente>G</gestore-emittente>" DATA
                                   "<identificativo>i</identificativo><consegna>c</consegna><msgid>m</msgid></dati>"),
                       "msgid after consegna", "out of order");
    expect_invalid_str(ROOT("tipo=\"accettazione\"",
                            INTEST "<dati><gestore-emittente>G</gestore-emittente>" DATA
                                   "<identificativo>i</identificativo><ricevuta tipo=\"lunga\"/></dati>"),
                       "bad ricevuta tipo", "lunga");
    expect_invalid_str(ROOT("tipo=\"accettazione\"",
                            INTEST "<dati><gestore-emittente>G</gestore-emittente>" DATA
                                   "<identificativo>i</identificativo><ricevuta/></dati>"),
                       "ricevuta without tipo", "tipo");
    expect_invalid_str(ROOT("tipo=\"accettazione\"",
                            INTEST "<dati><gestore-emittente>G</gestore-emittente>" DATA
                                   "<identificativo>i</identificativo><ricevuta tipo=\"breve\">x</ricevuta></dati>"),
                       "non-empty ricevuta", "empty");
    expect_invalid_str(ROOT("tipo=\"accettazione\"",
                            INTEST "<dati><gestore-emittente>G</gestore-emittente><data><giorno>14/11/2014</giorno>"
                                   "<ora>18:26:32</ora></data><identificativo>i</identificativo></dati>"),
                       "data without zona", "zona");
    expect_invalid_str(ROOT("tipo=\"accettazione\"",
                            INTEST "<dati><gestore-emittente>G</gestore-emittente><data zona=\"+0100\">"
                                   "<giorno>14/11/2014</giorno></data><identificativo>i</identificativo></dati>"),
                       "data without ora", "lacks <ora>");
    expect_invalid_str(ROOT("tipo=\"accettazione\"",
                            INTEST "<dati><gestore-emittente>G</gestore-emittente><data zona=\"+0100\">"
                                   "<giorno>2014-11-14</giorno><ora>18:26:32</ora></data>"
                                   "<identificativo>i</identificativo></dati>"),
                       "ISO giorno", "giorno");
    expect_invalid_str(ROOT("tipo=\"accettazione\"",
                            INTEST "<dati><gestore-emittente>G</gestore-emittente><data zona=\"+0100\">"
                                   "<giorno>14/11/2014</giorno><ora>-1:26:32</ora></data>"
                                   "<identificativo>i</identificativo></dati>"),
                       "negative hour", "ora");
    expect_invalid_str(ROOT("tipo=\"accettazione\"",
                            INTEST "<dati><gestore-emittente>G</gestore-emittente><data zona=\"CET\">"
                                   "<giorno>14/11/2014</giorno><ora>18:26:32</ora></data>"
                                   "<identificativo>i</identificativo></dati>"),
                       "zona CET", "zona");
    expect_invalid_str(DOC_HEAD "<postacert tipo=\"accettazione\">" INTEST DATI, "unclosed root", NULL);
    expect_invalid_str(MINIMAL "<postacert/>", "two roots", NULL);
    expect_invalid_str("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><postacert tipo=\"accettazione\">"
                       "<intestazione><mittente>caff\xE8</mittente></intestazione></postacert>",
                       "Latin-1 bytes", NULL);
    expect_invalid("\xFF\xFE<\0p\0\x00\xDC", 8, "UTF-16 BOM then junk", NULL);
}

/* test_doctype - any DOCTYPE is refused (real files have none, PEC-RULES §6): with an internal subset of
 * external or internal entities (the billion laughs), with an external DTD only, bare, after the XML
 * declaration, a BOM, comments or processing instructions; no entity is read or expanded on the way */
static void test_doctype(void)
{
    static const char *const docs[] = {
        DOC_HEAD "<!DOCTYPE postacert [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n"
                 "<postacert tipo=\"accettazione\"><intestazione><mittente>&x;</mittente>"
                 "<destinatari>d@pec.it</destinatari><risposte>m</risposte></intestazione>" DATI "</postacert>\n",
        DOC_HEAD "<!DOCTYPE postacert SYSTEM \"http://daticert.invalid/daticert.dtd\">\n"
                 "<postacert tipo=\"accettazione\">" INTEST DATI "</postacert>\n",
        DOC_HEAD "<!DOCTYPE postacert>\n<postacert tipo=\"accettazione\">" INTEST DATI "</postacert>\n",
        "<!DOCTYPE postacert []><postacert tipo=\"accettazione\">" INTEST DATI "</postacert>\n",
        "\xef\xbb\xbf" DOC_HEAD "<!-- a comment -->\n<?pi data?>\n  <!DOCTYPE postacert [ ]>\n"
        "<postacert tipo=\"accettazione\">" INTEST DATI "</postacert>\n",
        DOC_HEAD "<!DOCTYPE postacert [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">"
                 "<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\"><!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\">"
                 "<!ENTITY e \"&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;\"><!ENTITY f \"&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;\">"
                 "<!ENTITY g \"&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;\"><!ENTITY h \"&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;\">"
                 "<!ENTITY i \"&h;&h;&h;&h;&h;&h;&h;&h;&h;&h;\">]>\n"
                 "<postacert tipo=\"accettazione\"><intestazione><mittente>&i;</mittente>"
                 "<destinatari>d@pec.it</destinatari><risposte>m</risposte></intestazione>" DATI "</postacert>\n",
    };
    struct pec_daticert d;

    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        struct pec_error err = { 0 };
        int rc = pec_daticert_parse(docs[i], strlen(docs[i]), &d, &err);

        CHECK(rc == -1 && err.cls == PEC_ERR_INVALID);
        CHECK(strstr(err.msg, "DOCTYPE declaration is not allowed") != NULL);
        if (rc == 0)
            pec_daticert_clear(&d);
        else
            printf("  %-28s -> %s\n", "DOCTYPE", err.msg);
    }
    /* the word in a comment or in text is no declaration */
    {
        static const char ok[] = DOC_HEAD "<!-- no <!DOCTYPE here -->\n<postacert tipo=\"accettazione\">"
                                 "<intestazione><mittente>m@pec.it</mittente><destinatari>d@pec.it</destinatari>"
                                 "<risposte>m</risposte><oggetto>&lt;!DOCTYPE x&gt;</oggetto></intestazione>"
                                 DATI "</postacert>\n";
        struct pec_error err = { 0 };

        CHECK(pec_daticert_parse(ok, sizeof(ok) - 1, &d, &err) == 0);
        if (d.oggetto)
            CHECK_STR(d.oggetto, "<!DOCTYPE x>");
        pec_daticert_clear(&d);
    }
}

/* xorshift - a fixed-seed generator, so a failing case can be replayed */
static uint32_t xorshift(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* test_hostile - random bytes, mutations of a valid document, 1 MB text, deep nesting: errors, no crash */
static void test_hostile(void)
{
    struct pec_daticert d;
    struct pec_error err = { 0 };
    struct pec_buf doc = PEC_BUF_INIT, good = PEC_BUF_INIT;
    uint32_t seed = 0x9E3779B9u;
    unsigned char junk[1024];
    size_t i, j, n;
    int rc, accepted = 0;

    for (i = 0; i < 500; i++) {
        n = 1 + xorshift(&seed) % sizeof(junk);
        for (j = 0; j < n; j++)
            junk[j] = (unsigned char)xorshift(&seed);
        if (i % 2) /* start like XML so the parser gets further than the first byte */
            memcpy(junk, "<postacert tipo=\"accettazione\">", n < 31 ? n : 31);
        rc = pec_daticert_parse(junk, n, &d, &err);
        CHECK(rc == -1 && err.cls == PEC_ERR_INVALID && err.msg[0] != '\0');
        if (rc == 0)
            pec_daticert_clear(&d);
    }
    expect_invalid("\x8f\x00\xff\xfe\x01random", 11, "random bytes", NULL);

    /* Byte mutations of a valid render: either parse or fail cleanly. */
    golden_record(PEC_TIPO_ERRORE_CONSEGNA, &d);
    CHECK(pec_daticert_render(&d, &good, &err) == 0);
    for (i = 0; i < 3000; i++) {
        pec_buf_reset(&doc);
        pec_buf_append(&doc, good.data, good.len);
        for (j = 0; j < 1 + i % 4; j++) {
            size_t at = xorshift(&seed) % doc.len;

            doc.data[at] = (char)xorshift(&seed);
        }
        rc = pec_daticert_parse(doc.data, doc.len, &d, &err);
        if (rc == 0) {
            accepted++;
            pec_daticert_clear(&d);
        } else {
            CHECK(err.cls == PEC_ERR_INVALID && err.msg[0] != '\0');
        }
    }
    printf("  mutations: %d of 3000 still parsed\n", accepted);

    /* 1 MB oggetto: accepting it is fine, crashing or truncating silently is not */
    pec_buf_reset(&doc);
    pec_buf_puts(&doc, DOC_HEAD "<postacert tipo=\"accettazione\"><intestazione><mittente>m</mittente>"
                                "<destinatari>d</destinatari><risposte>m</risposte><oggetto>");
    for (i = 0; i < 1024 * 1024 / 16; i++)
        pec_buf_puts(&doc, "0123456789abcdef");
    pec_buf_puts(&doc, "</oggetto></intestazione>" DATI "</postacert>\n");
    rc = pec_daticert_parse(doc.data, doc.len, &d, &err);
    if (rc == 0) {
        CHECK(d.oggetto != NULL && strlen(d.oggetto) == 1024 * 1024);
        pec_daticert_clear(&d);
    } else {
        CHECK(err.cls == PEC_ERR_INVALID && err.msg[0] != '\0');
    }
    printf("  %-28s -> %s\n", "1 MB oggetto", rc == 0 ? "accepted" : err.msg);

    /* 10,000 nested elements */
    pec_buf_reset(&doc);
    pec_buf_puts(&doc, DOC_HEAD "<postacert tipo=\"accettazione\"><intestazione><mittente>");
    for (i = 0; i < 10000; i++)
        pec_buf_puts(&doc, "<a>");
    for (i = 0; i < 10000; i++)
        pec_buf_puts(&doc, "</a>");
    pec_buf_puts(&doc, "</mittente><destinatari>d</destinatari><risposte>m</risposte></intestazione>" DATI
                       "</postacert>\n");
    expect_invalid(doc.data, doc.len, "10,000 nested elements", NULL);

    /* and an unclosed version of the same, which ends the input mid-nesting */
    pec_buf_reset(&doc);
    for (i = 0; i < 10000; i++)
        pec_buf_puts(&doc, "<postacert>");
    expect_invalid(doc.data, doc.len, "10,000 unclosed elements", NULL);

    pec_buf_release(&doc);
    pec_buf_release(&good);
}

/* expect_refused - render fails with PEC_ERR_INVALID and leaves out untouched */
static void expect_refused(const struct pec_daticert *d, const char *label, const char *want)
{
    struct pec_buf out = PEC_BUF_INIT;
    struct pec_error err = { 0 };

    CHECK(pec_daticert_render(d, &out, &err) == -1);
    CHECK(err.cls == PEC_ERR_INVALID && err.msg[0] != '\0');
    CHECK(out.len == 0);
    if (want != NULL)
        CHECK(strstr(err.msg, want) != NULL);
    printf("  %-28s -> %s\n", label, err.msg);
    pec_buf_release(&out);
}

/* test_render_refusals - records that could not make a valid document */
static void test_render_refusals(void)
{
    static struct pec_destinatario bad_dest[] = { { "ok@pec.it", 0 }, { NULL, 0 } };
    static char *bad_ric[] = { "ok@pec.it", "bad\x01" };
    struct pec_daticert d;

    printf("render refusals:\n");
    golden_record(PEC_TIPO_AVVENUTA_CONSEGNA, &d);
    d.mittente = NULL;
    expect_refused(&d, "NULL mittente", "mittente");
    golden_record(PEC_TIPO_AVVENUTA_CONSEGNA, &d);
    d.mittente = "";
    expect_refused(&d, "empty mittente", "mittente");
    golden_record(PEC_TIPO_AVVENUTA_CONSEGNA, &d);
    d.oggetto = "caff\xE8 (Latin-1)";
    expect_refused(&d, "Latin-1 oggetto", "UTF-8");
    d.oggetto = "bad \xC3\x28 sequence";
    expect_refused(&d, "broken UTF-8 oggetto", "UTF-8");
    d.oggetto = "overlong \xC0\xBC";
    expect_refused(&d, "overlong UTF-8 oggetto", "UTF-8");
    d.oggetto = "surrogate \xED\xA0\x80";
    expect_refused(&d, "UTF-8 surrogate", "UTF-8");
    d.oggetto = "cut \xE2\x82";
    expect_refused(&d, "truncated UTF-8", "UTF-8");
    d.oggetto = "bell \x07";
    expect_refused(&d, "control character", "U+0007");
    d.oggetto = "nonchar \xEF\xBF\xBE";
    expect_refused(&d, "U+FFFE", "U+FFFE");
    golden_record(PEC_TIPO_AVVENUTA_CONSEGNA, &d);
    d.tipo = PEC_TIPO_NONE;
    expect_refused(&d, "tipo NONE", "tipo");
    golden_record(PEC_TIPO_AVVENUTA_CONSEGNA, &d);
    d.errore = (enum pec_errore)17;
    expect_refused(&d, "errore out of range", "errore");
    golden_record(PEC_TIPO_AVVENUTA_CONSEGNA, &d);
    d.n_destinatari = 0;
    expect_refused(&d, "no destinatari", "destinatari");
    golden_record(PEC_TIPO_AVVENUTA_CONSEGNA, &d);
    d.destinatari = bad_dest;
    d.n_destinatari = 2;
    expect_refused(&d, "NULL recipient address", "destinatari");
    golden_record(PEC_TIPO_AVVENUTA_CONSEGNA, &d);
    d.risposte = NULL;
    expect_refused(&d, "NULL risposte", "risposte");
    golden_record(PEC_TIPO_AVVENUTA_CONSEGNA, &d);
    d.identificativo = NULL;
    expect_refused(&d, "NULL identificativo", "identificativo");
    golden_record(PEC_TIPO_AVVENUTA_CONSEGNA, &d);
    d.gestore = NULL;
    expect_refused(&d, "NULL gestore", "gestore");
    golden_record(PEC_TIPO_PRESA_IN_CARICO, &d);
    d.ricezione = bad_ric;
    expect_refused(&d, "control char in ricezione", "ricezione");
    golden_record(PEC_TIPO_AVVENUTA_CONSEGNA, &d);
    d.consegna = "\x1B[31mred";
    expect_refused(&d, "escape in consegna", "consegna");
}

int main(void)
{
    test_names();
    test_golden();
    test_render_appends();
    test_roundtrip_variants();
    test_samples();
    test_accepted_variants();
    test_invalid();
    test_doctype();
    test_hostile();
    test_render_refusals();
    return CHECK_DONE();
}
