/* facts.c - the certification data of an original message, as the access point records it. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "mime_internal.h"
#include "pec/log.h"
#include "pec/message.h"

/* xstrdup - strdup that aborts on exhaustion */
static char *xstrdup(const char *s)
{
    char *d = strdup(s);

    if (d == NULL)
        pec_panic("out of memory");
    return d;
}

/* is_certified - a recipient is certificato when a PEC provider (us included) manages its domain */
static int is_certified(const char *addr, const struct pec_index *index, const char *const *own, size_t n_own)
{
    const char *dom = pec_addr_domain(addr);

    for (size_t i = 0; i < n_own; i++)
        if (strcasecmp(own[i], dom) == 0)
            return 1;
    return index != NULL && pec_index_by_domain(index, dom) != NULL;
}

/* header_addresses - bare addresses of one header of the message (none when absent) */
static int header_addresses(GMimeMessage *m, const char *name, struct pec_strv *out, struct pec_error *err)
{
    GMimeHeaderList *hl = g_mime_object_get_header_list(GMIME_OBJECT(m));
    const char *v = mime_header(GMIME_OBJECT(m), name);
    int count = 0;

    /* RFC 5322 §3.6 allows each of these once; reading only the first would certify a sender or a
     * recipient list other than the one a mail reader may show */
    for (int i = 0; i < g_mime_header_list_get_count(hl); i++)
        count += g_ascii_strcasecmp(g_mime_header_get_name(g_mime_header_list_get_header_at(hl, i)), name) == 0;
    if (count > 1) {
        pec_error_set(err, PEC_ERR_INVALID, "%s appears %d times", name, count);
        return -1;
    }
    if (v == NULL)
        return 0;
    if (pec_addr_list_parse(v, out, err) < 0) {
        char msg[sizeof(err->msg)];
        snprintf(msg, sizeof(msg), "%s", err ? err->msg : "");
        pec_error_set(err, PEC_ERR_INVALID, "%s: %s", name, msg);
        return -1;
    }
    return 0;
}

/* pec_message_facts - fill intestazione and msgid from the original */
int pec_message_facts(const void *raw, size_t len, const struct pec_index *index, const char *const *own_domains,
                      size_t n_own_domains, struct pec_daticert *facts, struct pec_error *err)
{
    struct pec_strv from = PEC_STRV_INIT, to = PEC_STRV_INIT, cc = PEC_STRV_INIT, reply = PEC_STRV_INIT;
    GMimeMessage *m = mime_parse_headers(raw, len); /* the facts are all in the top-level section */
    const char *subject, *msgid;
    int rc = -1;

    memset(facts, 0, sizeof(*facts));
    if (m == NULL) {
        pec_error_set(err, PEC_ERR_INVALID, "not an Internet message");
        return -1;
    }
    if (header_addresses(m, "From", &from, err) < 0 || header_addresses(m, "To", &to, err) < 0 ||
        header_addresses(m, "Cc", &cc, err) < 0 || header_addresses(m, "Reply-To", &reply, err) < 0)
        goto out;
    if (from.n != 1) {
        pec_error_set(err, PEC_ERR_INVALID, "From must hold exactly one address (found %zu)", from.n);
        goto out;
    }
    if (to.n == 0) {
        pec_error_set(err, PEC_ERR_INVALID, "To must hold at least one address");
        goto out;
    }
    facts->mittente = xstrdup(from.v[0]);
    facts->risposte = xstrdup(reply.n ? reply.v[0] : from.v[0]);
    facts->n_destinatari = to.n + cc.n;
    facts->destinatari = calloc(facts->n_destinatari, sizeof(*facts->destinatari));
    if (facts->destinatari == NULL)
        pec_panic("out of memory");
    for (size_t i = 0; i < facts->n_destinatari; i++) {
        const char *addr = i < to.n ? to.v[i] : cc.v[i - to.n];
        facts->destinatari[i].addr = xstrdup(addr);
        facts->destinatari[i].esterno = !is_certified(addr, index, own_domains, n_own_domains);
    }
    if ((subject = g_mime_message_get_subject(m)) != NULL)
        facts->oggetto = xstrdup(subject);
    if ((msgid = g_mime_message_get_message_id(m)) != NULL && *msgid) {
        facts->msgid = malloc(strlen(msgid) + 3);
        if (facts->msgid == NULL)
            pec_panic("out of memory");
        sprintf(facts->msgid, "<%s>", msgid);
    }
    rc = 0;
out:
    if (rc < 0)
        pec_daticert_clear(facts);
    pec_strv_clear(&from);
    pec_strv_clear(&to);
    pec_strv_clear(&cc);
    pec_strv_clear(&reply);
    g_object_unref(m);
    return rc;
}
