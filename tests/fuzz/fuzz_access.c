/* fuzz_access.c - the access point engine fed phase by phase as the milter feeds it.
 *
 * Input: an envelope, a blank line, then the message.  Envelope lines: the authenticated login (empty:
 * not authenticated), the MAIL FROM, then one RCPT TO per line; a line "!NAME" says the scanner found
 * virus NAME.  The message is cut the way an MTA passes it: each header field (continuation lines kept,
 * the one blank after the colon dropped), end of headers at the first empty line or at a line that is
 * no header, and the body in chunks whose size depends on the input only.  Clock and identifiers are
 * the tests' deterministic ones. */
#include <string.h>
#include "fuzz.h"
#include "pec/access.h"
#include "pec/config.h"

#ifndef PEC_FUZZ_SIGNER_DIR
#define PEC_FUZZ_SIGNER_DIR "."
#endif

static const struct pec_config *fuzz_cfg;
static struct pec_signer *fuzz_fast_signer;

/* LLVMFuzzerInitialize - the golden provider's configuration and index, with the ECDSA signer the build
 * made (tests/fuzz/CMakeLists.txt: RSA signing was most of the time of a run), once */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *cert = PEC_FUZZ_SIGNER_DIR "/signer.pem", *key = PEC_FUZZ_SIGNER_DIR "/signer.key";
    struct pec_buf text = PEC_BUF_INIT;
    struct pec_error err = { 0 };

    fuzz_fixture();
    pec_buf_printf(&text,
                   "provider_name = \"" FUZZ_PROVIDER "\"\nmail_domain = " FUZZ_DOMAIN "\n"
                   "managed_domains = " FUZZ_DOMAIN "\ncert_file = %s\nkey_file = %s\n"
                   "max_recipients = 20\nmax_message_size = 1048576\n",
                   cert, key);
    if ((fuzz_cfg = pec_config_parse(text.data, text.len, "fuzz.conf", &err)) == NULL ||
        (fuzz_fast_signer = pec_signer_load(cert, key, NULL, &err)) == NULL) {
        fprintf(stderr, "fuzz_access: %s\n", err.msg);
        exit(1);
    }
    pec_buf_release(&text);
    return 0;
}

/* next_line - the line at *pos (without its LF or CRLF) as a C string the caller frees; NULL at the end */
static char *next_line(const uint8_t *data, size_t size, size_t *pos)
{
    const uint8_t *start = data + *pos, *nl;
    size_t n;

    if (*pos >= size)
        return NULL;
    nl = memchr(start, '\n', size - *pos);
    n = nl ? (size_t)(nl - start) : size - *pos;
    *pos += nl ? n + 1 : n;
    if (n > 0 && start[n - 1] == '\r')
        n--;
    return strndup((const char *)start, n);
}

/* field_end - where the header field starting at pos ends: after its last continuation line */
static size_t field_end(const uint8_t *data, size_t size, size_t pos)
{
    const uint8_t *nl;

    while ((nl = memchr(data + pos, '\n', size - pos)) != NULL) {
        pos = (size_t)(nl - data) + 1;
        if (pos >= size || (data[pos] != ' ' && data[pos] != '\t'))
            return pos;
    }
    return size;
}

/* is_field - the line at pos starts a header field: a name of printable characters, then a colon */
static size_t is_field(const uint8_t *data, size_t size, size_t pos)
{
    size_t i;

    for (i = pos; i < size && data[i] > ' ' && data[i] < 0x7f && data[i] != ':'; i++)
        ;
    return i > pos && i < size && data[i] == ':' ? i - pos : 0;
}

/* feed_headers - one pec_access_header per field; returns where the body starts */
static size_t feed_headers(struct pec_access_txn *t, const uint8_t *data, size_t size, size_t pos)
{
    size_t name_len, end;

    while (pos < size && (name_len = is_field(data, size, pos)) > 0) {
        char *name = strndup((const char *)data + pos, name_len), *value;
        size_t v = pos + name_len + 1;

        end = field_end(data, size, pos);
        if (v < end && data[v] == ' ')
            v++;
        /* the MTA hands the value without the field's own line end, NUL-terminated */
        value = strndup((const char *)data + v, end - v);
        for (size_t n = strlen(value); n > 0 && (value[n - 1] == '\n' || value[n - 1] == '\r');)
            value[--n] = '\0';
        pec_access_header(t, name, value);
        free(name);
        free(value);
        pos = end;
    }
    /* the empty line belongs to neither part */
    if (pos < size && data[pos] == '\n')
        pos++;
    else if (pos + 1 < size && data[pos] == '\r' && data[pos + 1] == '\n')
        pos += 2;
    return pos;
}

/* LLVMFuzzerTestOneInput - one SMTP transaction */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pec_issuer iss = fuzz_issuer();
    struct pec_access_ctx ctx = { fuzz_cfg, &iss, fuzz_index, NULL, NULL, NULL, NULL };
    struct pec_access_txn *t;
    struct pec_access_verdict v;
    struct pec_error err = { 0 };
    char *login, *from, *line, *virus = NULL;
    size_t pos = 0, chunk;

    iss.signer = fuzz_fast_signer;

    login = next_line(data, size, &pos);
    from = next_line(data, size, &pos);
    t = pec_access_begin(&ctx, login, from);
    while ((line = next_line(data, size, &pos)) != NULL && *line != '\0') {
        if (*line == '!' && virus == NULL)
            virus = strdup(line + 1);
        else
            pec_access_rcpt(t, line);
        free(line);
    }
    free(line);
    pos = feed_headers(t, data, size, pos);
    pec_access_eoh(t);
    /* the MTA's chunking is not ours to choose: any cut must give the same message */
    chunk = 1 + (size * 7919) % 4096;
    for (; pos < size; pos += chunk)
        pec_access_body(t, data + pos, size - pos < chunk ? size - pos : chunk);
    if (pec_access_end(t, FUZZ_NOW, virus, &v, &err) == 0) {
        if (v.action == PEC_ACCESS_ACCEPT && (v.busta.len == 0 || v.busta_body_offset >= v.busta.len ||
                                              v.receipt.len == 0 || v.failed != PEC_CHECK_NONE))
            abort();
        if (v.action == PEC_ACCESS_REJECT && (v.failed == PEC_CHECK_NONE || v.busta.len != 0))
            abort();
        pec_access_verdict_clear(&v);
    }
    pec_access_free(&t);
    pec_idgen_free(&iss.ids);
    free(login);
    free(from);
    free(virus);
    return 0;
}
