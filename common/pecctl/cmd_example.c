/* cmd_example.c - pecctl example: a throwaway test PKI and one signed instance of every PEC message.
 *
 * Integrators of PEC client libraries need real-looking samples of every receipt type; none are
 * published for most of them.  Everything here is made with the library's own builders.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "pec/compose.h"
#include "pec/index.h"
#include "pec/message.h"
#include "pec/testca.h"
#include "pecctl.h"

#define EX_PROVIDER "Gestore Esempio S.p.A."
#define EX_DOMAIN "pec-esempio.test"
#define EX_SERVICE "posta-certificata@pec-esempio.test"
#define EX_REMOTE_RECEIPT "posta-certificata@pec-remoto.test"

/* The client's original message: To, Cc, an ordinary recipient, accents, an attachment. */
static const char example_original[] =
    "From: Alice Rossi <alice@pec-esempio.test>\r\n"
    "To: bob@pec-esempio.test, dave@example.org\r\n"
    "Cc: carol@pec-remoto.test\r\n"
    "Subject: =?UTF-8?Q?Contratto_di_fornitura_=E2=80=93_citt=C3=A0?=\r\n"
    "Date: Mon, 23 Nov 2026 10:00:00 +0100\r\n"
    "Message-ID: <client-0001@mua.example>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
    "\r\n"
    "--b1\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "In allegato il contratto. Cordiali saluti, Alice =E2=80=93 citt=C3=A0.\r\n"
    "--b1\r\n"
    "Content-Type: application/pdf; name=\"contratto.pdf\"\r\n"
    "Content-Disposition: attachment; filename=\"contratto.pdf\"\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "JVBERi0xLjQKJcOkw7zDtsOfCjEgMCBvYmoKPDwvVHlwZS9DYXRhbG9nPj4KZW5kb2JqCnRyYWls\r\n"
    "ZXIKPDwvUm9vdCAxIDAgUj4+CiUlRU9GCg==\r\n"
    "--b1--\r\n";

/* An ordinary (non-PEC) message arriving from the Internet: the anomaly example wraps it. */
static const char example_ordinary[] =
    "From: mallory@example.net\r\n"
    "To: bob@pec-esempio.test\r\n"
    "Subject: Offerta imperdibile\r\n"
    "Date: Mon, 23 Nov 2026 10:05:00 +0100\r\n"
    "Message-ID: <spam-42@example.net>\r\n"
    "\r\n"
    "Posta ordinaria, non certificata.\r\n";

struct example_ctx {
    const char *dir;
    struct pec_issuer iss;
    time_t when;
    struct pec_daticert facts; /* of example_original */
    struct pec_buf busta;
    int count;
};

/* emit - build one message and write it as DIR/<name>.eml */
static int emit(struct example_ctx *x, const char *name, struct pec_compose *c)
{
    struct pec_buf out = PEC_BUF_INIT;
    struct pec_error err = { 0 };
    char msgid[PEC_ID_MAX], path[4096];
    int rc;

    c->when = x->when;
    if (c->facts == NULL && c->type != PEC_MSG_BUSTA_ANOMALIA)
        c->facts = &x->facts;
    rc = pec_compose_build(&x->iss, c, &out, msgid, &err);
    if (rc == 0) {
        snprintf(path, sizeof(path), "%s/%s.eml", x->dir, name);
        rc = write_file(path, out.data, out.len, &err);
    }
    if (rc < 0)
        fprintf(stderr, "pecctl example: %s: %s\n", name, err.msg);
    else
        x->count++;
    if (rc == 0 && c->type == PEC_MSG_BUSTA_TRASPORTO)
        pec_buf_append(&x->busta, out.data, out.len);
    pec_buf_release(&out);
    return rc;
}

/* emit_catalogue - every message type of PEC-RULES §2 */
static int emit_catalogue(struct example_ctx *x)
{
    static const char *const to_sender[] = { "alice@pec-esempio.test" };
    static const char *const to_remote[] = { EX_REMOTE_RECEIPT };
    static const char *const ricezione[] = { "bob@pec-esempio.test" };
    struct pec_daticert f = x->facts;
    struct pec_compose c;
    int rc = 0;

#define EMIT(name, ...)                                                                                     \
    do {                                                                                                    \
        memset(&c, 0, sizeof(c));                                                                           \
        struct pec_compose tmpl_ = { __VA_ARGS__ };                                                         \
        c = tmpl_;                                                                                          \
        rc |= emit(x, name, &c);                                                                            \
    } while (0)

    EMIT("busta-trasporto", .type = PEC_MSG_BUSTA_TRASPORTO, .original = example_original,
         .original_len = sizeof(example_original) - 1);
    if (x->busta.len == 0)
        return -1;
    EMIT("accettazione", .type = PEC_MSG_ACCETTAZIONE, .to = to_sender, .n_to = 1);
    EMIT("non-accettazione", .type = PEC_MSG_NON_ACCETTAZIONE, .to = to_sender, .n_to = 1,
         .reason = "il destinatario in copia nascosta (Bcc) non è ammesso");
    EMIT("non-accettazione-virus", .type = PEC_MSG_NON_ACCETTAZIONE_VIRUS, .to = to_sender, .n_to = 1,
         .virus = "Eicar-Signature");
    f.n_ricezione = 1;
    f.ricezione = (char **)ricezione;
    EMIT("presa-in-carico", .type = PEC_MSG_PRESA_IN_CARICO, .facts = &f, .to = to_remote, .n_to = 1);
    f = x->facts;
    f.consegna = "bob@pec-esempio.test";
    f.ricevuta = PEC_RICEVUTA_COMPLETA;
    EMIT("avvenuta-consegna-completa", .type = PEC_MSG_AVVENUTA_CONSEGNA, .facts = &f, .to = to_sender, .n_to = 1,
         .original = x->busta.data, .original_len = x->busta.len);
    f.ricevuta = PEC_RICEVUTA_BREVE;
    EMIT("avvenuta-consegna-breve", .type = PEC_MSG_AVVENUTA_CONSEGNA, .facts = &f, .to = to_sender, .n_to = 1,
         .original = x->busta.data, .original_len = x->busta.len);
    f.ricevuta = PEC_RICEVUTA_SINTETICA;
    f.consegna = "carol@pec-remoto.test";
    EMIT("avvenuta-consegna-sintetica", .type = PEC_MSG_AVVENUTA_CONSEGNA, .facts = &f, .to = to_sender,
         .n_to = 1, .original = x->busta.data, .original_len = x->busta.len);
    f = x->facts;
    f.consegna = "bob@pec-esempio.test";
    f.errore = PEC_ERRORE_NO_DEST;
    f.errore_esteso = "5.1.1 - " EX_PROVIDER " - indirizzo non valido";
    EMIT("errore-consegna", .type = PEC_MSG_ERRORE_CONSEGNA, .facts = &f, .to = to_sender, .n_to = 1);
    f.errore = PEC_ERRORE_VIRUS;
    f.errore_esteso = NULL;
    EMIT("errore-consegna-virus", .type = PEC_MSG_ERRORE_CONSEGNA_VIRUS, .facts = &f, .to = to_sender, .n_to = 1,
         .virus = "Eicar-Signature");
    f = x->facts;
    f.consegna = "carol@pec-remoto.test";
    EMIT("preavviso-errore-consegna-12h", .type = PEC_MSG_PREAVVISO_12H, .facts = &f, .to = to_sender, .n_to = 1);
    EMIT("preavviso-errore-consegna-24h", .type = PEC_MSG_PREAVVISO_24H, .facts = &f, .to = to_sender, .n_to = 1);
    f.consegna = "bob@pec-esempio.test";
    EMIT("rilevazione-virus", .type = PEC_MSG_RILEVAZIONE_VIRUS, .facts = &f, .to = to_remote, .n_to = 1,
         .virus = "Eicar-Signature", .x_mittente = "alice@pec-esempio.test");
    EMIT("busta-anomalia", .type = PEC_MSG_BUSTA_ANOMALIA, .original = example_ordinary,
         .original_len = sizeof(example_ordinary) - 1,
         .reason = "il messaggio non è un messaggio di posta certificata");
#undef EMIT
    return rc;
}

/* write_index - the provider index LDIF listing the example provider */
static int write_index(struct example_ctx *x)
{
    static const char *const domains[] = { EX_DOMAIN };
    struct pec_buf ldif = PEC_BUF_INIT;
    struct pec_error err = { 0 };
    char path[4096];
    size_t der_len;
    const void *der = pec_signer_cert_der(x->iss.signer, &der_len);
    int rc;

    pec_index_render_root(&ldif, NULL);
    pec_index_render_entry(&ldif, EX_PROVIDER, der, der_len, EX_SERVICE, domains, 1);
    snprintf(path, sizeof(path), "%s/index.ldif", x->dir);
    rc = write_file(path, ldif.data, ldif.len, &err);
    if (rc < 0)
        fprintf(stderr, "pecctl example: %s\n", err.msg);
    pec_buf_release(&ldif);
    return rc;
}

/* cmd_example - pecctl example --out DIR [--time EPOCH] [--fixed-ids] [--signer CERT KEY] */
int cmd_example(int argc, char **argv)
{
    struct example_ctx x = { 0 };
    struct pec_signer *signer = NULL;
    struct pec_error err = { 0 };
    const char *cert = NULL, *key = NULL;
    char certp[4096], keyp[4096];
    int fixed_ids = 0, rc = PECCTL_USAGE;

    x.when = time(NULL);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
            x.dir = argv[++i];
        else if (strcmp(argv[i], "--time") == 0 && i + 1 < argc)
            x.when = (time_t)strtoll(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--fixed-ids") == 0)
            fixed_ids = 1;
        else if (strcmp(argv[i], "--signer") == 0 && i + 2 < argc) {
            cert = argv[++i];
            key = argv[++i];
        } else {
            fprintf(stderr, "usage: pecctl example --out DIR [--time EPOCH] [--fixed-ids] [--signer CERT KEY]\n");
            return PECCTL_USAGE;
        }
    }
    if (x.dir == NULL) {
        fprintf(stderr, "usage: pecctl example --out DIR [--time EPOCH] [--fixed-ids] [--signer CERT KEY]\n");
        return PECCTL_USAGE;
    }
    if (mkdir(x.dir, 0755) < 0 && errno != EEXIST) {
        fprintf(stderr, "pecctl example: %s: %s\n", x.dir, strerror(errno));
        return PECCTL_NOT_VALID;
    }
    if (cert == NULL) {
        if (pec_testca_create(x.dir, "PEC Test CA", x.when, &err) < 0 ||
            pec_testca_issue(x.dir, "provider", EX_PROVIDER, EX_SERVICE, x.when, &err) < 0) {
            fprintf(stderr, "pecctl example: %s\n", err.msg);
            return PECCTL_NOT_VALID;
        }
        snprintf(certp, sizeof(certp), "%s/provider.pem", x.dir);
        snprintf(keyp, sizeof(keyp), "%s/provider.key", x.dir);
        cert = certp;
        key = keyp;
    }
    if ((signer = pec_signer_load(cert, key, NULL, &err)) == NULL) {
        fprintf(stderr, "pecctl example: %s\n", err.msg);
        return PECCTL_NOT_VALID;
    }
    x.iss.gestore = EX_PROVIDER;
    x.iss.service_address = EX_SERVICE;
    x.iss.signer = signer;
    x.iss.digest = PEC_DIGEST_SHA256;
    x.iss.ids = fixed_ids ? pec_idgen_new_fixed(1, EX_DOMAIN) : pec_idgen_new(1, EX_DOMAIN);
    {
        static const char *const own[] = { EX_DOMAIN, "pec-remoto.test" };
        char id[PEC_ID_MAX];

        if (pec_message_facts(example_original, sizeof(example_original) - 1, NULL, own, 2, &x.facts, &err) < 0) {
            fprintf(stderr, "pecctl example: %s\n", err.msg);
            goto out;
        }
        pec_idgen_next(x.iss.ids, x.when, id);
        x.facts.identificativo = strdup(id);
    }
    rc = emit_catalogue(&x) == 0 && write_index(&x) == 0 ? PECCTL_OK : PECCTL_NOT_VALID;
    if (rc == PECCTL_OK)
        printf("pecctl example: %d messages, ca.pem and index.ldif written to %s\n", x.count, x.dir);
out:
    pec_daticert_clear(&x.facts);
    pec_buf_release(&x.busta);
    pec_idgen_free(&x.iss.ids);
    pec_signer_free(&signer);
    return rc;
}
