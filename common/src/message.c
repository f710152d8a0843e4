/* message.c - classify an incoming message, verify its signature, read its certification data. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "mime_internal.h"
#include "pec/log.h"
#include "pec/anomaly.h"
#include "pec/message.h"

/* pec_kind_name - report name of a kind */
const char *pec_kind_name(enum pec_kind k)
{
    switch (k) {
    case PEC_KIND_ORDINARIA: return "ordinaria";
    case PEC_KIND_BUSTA_TRASPORTO: return "busta-trasporto";
    case PEC_KIND_BUSTA_ANOMALIA: return "busta-anomalia";
    case PEC_KIND_RICEVUTA: return "ricevuta";
    case PEC_KIND_MALFORMATA: break;
    }
    return "malformata";
}

/* dup_or_null - strdup that passes NULL through */
static char *dup_or_null(const char *s)
{
    char *d;

    if (s == NULL)
        return NULL;
    if ((d = strdup(s)) == NULL)
        pec_panic("out of memory");
    return d;
}

/* trimmed_header - a header value without surrounding blanks, owned copy or NULL */
static char *trimmed_header(GMimeObject *obj, const char *name)
{
    const char *v = mime_header(obj, name);
    char *d;

    if (v == NULL)
        return NULL;
    d = g_strstrip(g_strdup(v));
    v = d;
    d = dup_or_null(v);
    g_free((char *)v);
    return d;
}

/* add_error - append one formatted problem */
static void add_error(struct pec_analysis *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_error(struct pec_analysis *a, const char *fmt, ...)
{
    char buf[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (!pec_strv_has(&a->errors, buf))
        pec_strv_push(&a->errors, buf);
}

/* part_name - the file name of a part: disposition filename, else content-type name */
static const char *part_name(GMimeObject *obj)
{
    const char *n = g_mime_object_get_content_disposition_parameter(obj, "filename");

    return n ? n : g_mime_object_get_content_type_parameter(obj, "name");
}

/* find_service_parts - locate daticert.xml and postacert.eml among the parts of the signed content; a
 * second one of either would let two readers see two different certifications, so it is an error */
static void find_service_parts(GMimeObject *content, GMimePart **daticert_r, GMimeObject **postacert_r,
                               struct pec_analysis *a)
{
    GMimeMultipart *mp;
    int n_daticert = 0, n_postacert = 0;

    *daticert_r = NULL;
    *postacert_r = NULL;
    if (!GMIME_IS_MULTIPART(content))
        return;
    mp = GMIME_MULTIPART(content);
    for (int i = 0; i < g_mime_multipart_get_count(mp); i++) {
        GMimeObject *child = g_mime_multipart_get_part(mp, i);
        const char *name = part_name(child);

        if (name == NULL)
            continue;
        if (GMIME_IS_PART(child) && strcasecmp(name, "daticert.xml") == 0 && n_daticert++ == 0)
            *daticert_r = GMIME_PART(child);
        else if (GMIME_IS_MESSAGE_PART(child) && strcasecmp(name, "postacert.eml") == 0 && n_postacert++ == 0)
            *postacert_r = child;
    }
    if (n_daticert > 1)
        add_error(a, "the signed content holds %d daticert.xml parts", n_daticert);
    if (n_postacert > 1)
        add_error(a, "the signed content holds %d postacert.eml parts", n_postacert);
}

/* find_delimiter - the next line at or after p that is a "--boundary" delimiter, or NULL */
static const char *find_delimiter(const char *start, const char *p, const char *end, const char *bnd, size_t bl)
{
    while (p + 2 + bl <= end) {
        const char *nl;

        if ((p == start || p[-1] == '\n') && p[0] == '-' && p[1] == '-' && memcmp(p + 2, bnd, bl) == 0) {
            char c = p + 2 + bl < end ? p[2 + bl] : '\n';
            if (c == '\r' || c == '\n' || c == ' ' || c == '\t' || c == '-')
                return p;
        }
        if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
            break;
        p = nl + 1; /* only a line start can be a delimiter */
    }
    return NULL;
}

/* signed_bytes - the first part of a multipart/signed exactly as received, CRLF-canonical: the signature
 * covers those bytes, and GMime's re-serialisation of a damaged or unusual part need not reproduce them */
static int signed_bytes(const char *raw, size_t len, const char *bnd, struct pec_buf *out)
{
    const char *end = raw + len, *d1, *c, *d2, *e;
    size_t bl = bnd ? strlen(bnd) : 0;

    if (bl == 0 || (d1 = find_delimiter(raw, raw, end, bnd, bl)) == NULL ||
        (c = memchr(d1, '\n', (size_t)(end - d1))) == NULL || (d2 = find_delimiter(raw, ++c, end, bnd, bl)) == NULL)
        return -1;
    /* the line end before the next delimiter belongs to the delimiter */
    e = d2 > c ? d2 - 1 : c;
    if (e > c && e[-1] == '\r')
        e--;
    /* line by line: a call per byte was most of the time spent on a large message */
    pec_buf_reserve(out, (size_t)(e - c));
    for (const char *p = c; p < e;) {
        const char *nl = memchr(p, '\n', (size_t)(e - p));

        pec_buf_append(out, p, (size_t)((nl ? nl : e) - p));
        if (nl == NULL)
            break;
        if (nl == c || nl[-1] != '\r')
            pec_buf_append(out, "\r", 1);
        pec_buf_append(out, "\n", 1);
        p = nl + 1;
    }
    return 0;
}

/* check_signed - verify a multipart/signed body and read its service parts */
static int check_signed(const void *raw, size_t len, GMimeObject *body, const struct pec_analyze_opts *opts,
                        struct pec_analysis *a, struct pec_error *err)
{
    GMimeMultipart *mp = GMIME_MULTIPART(body);
    struct pec_buf content = PEC_BUF_INIT, sig = PEC_BUF_INIT;
    GMimeObject *signed_part, *sig_part, *postacert;
    GMimePart *daticert;
    int rc = 0;

    a->protocol = dup_or_null(g_mime_object_get_content_type_parameter(body, "protocol"));
    a->micalg = dup_or_null(g_mime_object_get_content_type_parameter(body, "micalg"));
    if (a->protocol == NULL || (strcasecmp(a->protocol, "application/pkcs7-signature") != 0 &&
                                strcasecmp(a->protocol, "application/x-pkcs7-signature") != 0))
        add_error(a, "multipart/signed protocol is not S/MIME: %s", a->protocol ? a->protocol : "(none)");
    if (g_mime_multipart_get_count(mp) != 2) {
        add_error(a, "multipart/signed has %d parts instead of 2", g_mime_multipart_get_count(mp));
        a->sig.status = PEC_SIG_INVALID;
        return 0;
    }
    signed_part = g_mime_multipart_get_part(mp, 0);
    sig_part = g_mime_multipart_get_part(mp, 1);
    if (!GMIME_IS_PART(sig_part) || !(mime_is_type(sig_part, "application", "pkcs7-signature") ||
                                      mime_is_type(sig_part, "application", "x-pkcs7-signature"))) {
        add_error(a, "second part of multipart/signed is not an S/MIME signature");
        a->sig.status = PEC_SIG_INVALID;
        return 0;
    }
    if (signed_bytes(raw, len, g_mime_multipart_get_boundary(mp), &content) < 0)
        mime_write(signed_part, &content);
    mime_part_bytes(GMIME_PART(sig_part), &sig);
    if (pec_smime_verify(opts->trust, content.data ? content.data : "", content.len, sig.data, sig.len, opts->now,
                         &a->sig, err) < 0)
        rc = -1;
    pec_buf_release(&content);
    pec_buf_release(&sig);
    if (rc < 0)
        return -1;

    find_service_parts(signed_part, &daticert, &postacert, a);
    a->has_postacert = postacert != NULL;
    if (daticert) {
        struct pec_buf xml = PEC_BUF_INIT;
        struct pec_error derr = { 0 };

        mime_part_bytes(daticert, &xml);
        if (pec_daticert_parse(xml.data ? xml.data : "", xml.len, &a->daticert, &derr) == 0)
            a->has_daticert = 1;
        else
            add_error(a, "daticert.xml: %s", derr.msg);
        pec_buf_release(&xml);
    }
    return 0;
}

/* classify - decide the kind from the PEC headers, falling back on the daticert tipo */
static void classify(struct pec_analysis *a, int is_signed)
{
    if (a->x_trasporto && a->x_ricevuta)
        add_error(a, "both X-Trasporto and X-Ricevuta are present");
    if (a->x_trasporto) {
        if (strcmp(a->x_trasporto, "posta-certificata") == 0) {
            a->kind = PEC_KIND_BUSTA_TRASPORTO;
            a->tipo = PEC_TIPO_POSTA_CERTIFICATA;
        } else if (strcmp(a->x_trasporto, "errore") == 0) {
            a->kind = PEC_KIND_BUSTA_ANOMALIA;
        } else {
            add_error(a, "unknown X-Trasporto value \"%s\"", a->x_trasporto);
            a->kind = PEC_KIND_BUSTA_TRASPORTO;
        }
        return;
    }
    if (a->x_ricevuta) {
        a->kind = PEC_KIND_RICEVUTA;
        a->tipo = pec_tipo_from_name(a->x_ricevuta);
        if (a->tipo == PEC_TIPO_NONE || a->tipo == PEC_TIPO_POSTA_CERTIFICATA)
            add_error(a, "unknown X-Ricevuta value \"%s\"", a->x_ricevuta);
        return;
    }
    if (is_signed && a->has_daticert) {
        a->tipo = a->daticert.tipo;
        if (a->tipo == PEC_TIPO_POSTA_CERTIFICATA) {
            a->kind = PEC_KIND_BUSTA_TRASPORTO;
            add_error(a, "signed transport envelope lacks the X-Trasporto header");
        } else {
            a->kind = PEC_KIND_RICEVUTA;
            add_error(a, "signed receipt lacks the X-Ricevuta header");
        }
        return;
    }
    a->kind = PEC_KIND_ORDINARIA;
}

/* check_provider - the signer must be a provider of the index, with the certificate the index lists; a
 * busta certifies a sender, who must be a user of a domain that provider manages (PEC-RULES §5.2, §8).
 * The From of every signed message is the provider's service address (check_from), whose domain the
 * real index does not list among managedDomains (posta-certificata@pec.aruba.it serves pec.it), so
 * it is not the sender this checks; a receipt's daticert names another provider's user as mittente. */
static void check_provider(const struct pec_analyze_opts *opts, struct pec_analysis *a)
{
    int same;

    if (opts->trust && a->sig.status == PEC_SIG_VALID && !a->sig.trusted)
        add_error(a, "signer certificate not trusted: %s", a->sig.reason[0] ? a->sig.reason : "unknown CA");
    if (opts->index == NULL || a->sig.status != PEC_SIG_VALID)
        return;
    a->provider = pec_index_by_cert_sha1(opts->index, a->sig.signer_sha1);
    if (a->provider == NULL) {
        add_error(a, "signer certificate %s is not in the provider index", a->sig.signer_sha1);
        return;
    }
    same = pec_provider_has_certificate(a->provider, a->sig.signer_der.data, a->sig.signer_der.len);
    if (same == 0) {
        add_error(a, "signer certificate differs from the one the index lists for %s", pec_provider_name(a->provider));
        return;
    }
    a->gestore_signed = opts->trust == NULL || a->sig.trusted;
    if (a->kind == PEC_KIND_BUSTA_TRASPORTO && a->has_daticert && a->daticert.mittente &&
        !pec_provider_manages(a->provider, pec_addr_domain(a->daticert.mittente)))
        add_error(a, "daticert <mittente> %s is not in a domain %s manages", a->daticert.mittente,
                  pec_provider_name(a->provider));
}

/* check_structure - what each kind must carry (RFC 6109 §3) */
static void check_structure(struct pec_analysis *a)
{
    if (a->sig.status == PEC_SIG_ABSENT)
        add_error(a, "not signed: no S/MIME multipart/signed body");
    else if (a->sig.status == PEC_SIG_INVALID)
        add_error(a, "signature invalid: %s", a->sig.reason[0] ? a->sig.reason : "verification failed");
    if (a->kind == PEC_KIND_BUSTA_ANOMALIA)
        return;
    if (!a->has_daticert) {
        add_error(a, "daticert.xml missing");
        return;
    }
    if (a->kind == PEC_KIND_BUSTA_TRASPORTO) {
        if (a->daticert.tipo != PEC_TIPO_POSTA_CERTIFICATA)
            add_error(a, "daticert tipo \"%s\" in a transport envelope", pec_tipo_name(a->daticert.tipo));
        if (!a->has_postacert)
            add_error(a, "transport envelope lacks postacert.eml");
    } else if (a->tipo != PEC_TIPO_NONE && a->daticert.tipo != a->tipo) {
        add_error(a, "daticert tipo \"%s\" does not match X-Ricevuta \"%s\"", pec_tipo_name(a->daticert.tipo),
                  a->x_ricevuta ? a->x_ricevuta : "");
    }
    if (a->kind == PEC_KIND_RICEVUTA && a->tipo == PEC_TIPO_AVVENUTA_CONSEGNA &&
        a->daticert.ricevuta != PEC_RICEVUTA_SINTETICA && !a->has_postacert)
        add_error(a, "avvenuta-consegna %s lacks postacert.eml", pec_ricevuta_name(a->daticert.ricevuta));
    /* §2.1: these never carry the original (presa in carico and mancata consegna: the rules are silent) */
    if (a->kind == PEC_KIND_RICEVUTA && a->has_postacert &&
        (a->daticert.tipo == PEC_TIPO_ACCETTAZIONE || a->daticert.tipo == PEC_TIPO_NON_ACCETTAZIONE ||
         a->daticert.tipo == PEC_TIPO_RILEVAZIONE_VIRUS || a->daticert.tipo == PEC_TIPO_PREAVVISO_ERRORE_CONSEGNA ||
         (a->daticert.tipo == PEC_TIPO_AVVENUTA_CONSEGNA && a->daticert.ricevuta == PEC_RICEVUTA_SINTETICA)))
        add_error(a, "a %s%s%s carries postacert.eml, which it must not", pec_tipo_name(a->daticert.tipo),
                  a->daticert.ricevuta == PEC_RICEVUTA_SINTETICA ? " " : "",
                  a->daticert.ricevuta == PEC_RICEVUTA_SINTETICA ? "sintetica" : "");
    if (a->x_verifica_sicurezza && strcmp(a->x_verifica_sicurezza, "errore") != 0)
        add_error(a, "unknown X-VerificaSicurezza value \"%s\"", a->x_verifica_sicurezza);
}

/* ---- consistency of the unsigned headers with the signed content (PEC-RULES §2, §5.2 item 5) ---- */

/* Subject prefixes (§2.1), compared without case and without the blank after the colon. */
static const struct subject_rule {
    enum pec_tipo tipo;
    int virus;                   /* daticert errore="virus" */
    const char *prefix, *alt;    /* alt: another spelling seen in the wild, accepted */
} subject_rules[] = {
    { PEC_TIPO_POSTA_CERTIFICATA, -1, "POSTA CERTIFICATA:", NULL },
    { PEC_TIPO_ACCETTAZIONE, -1, "ACCETTAZIONE:", NULL },
    { PEC_TIPO_NON_ACCETTAZIONE, 0, "AVVISO DI NON ACCETTAZIONE:", NULL },
    { PEC_TIPO_NON_ACCETTAZIONE, 1, "AVVISO DI NON ACCETTAZIONE PER VIRUS:", NULL },
    { PEC_TIPO_PRESA_IN_CARICO, -1, "PRESA IN CARICO:", NULL },
    { PEC_TIPO_AVVENUTA_CONSEGNA, -1, "CONSEGNA:", NULL },
    { PEC_TIPO_ERRORE_CONSEGNA, 0, "AVVISO DI MANCATA CONSEGNA:", NULL },
    { PEC_TIPO_ERRORE_CONSEGNA, 1, "AVVISO DI MANCATA CONSEGNA PER VIRUS:", NULL },
    { PEC_TIPO_PREAVVISO_ERRORE_CONSEGNA, -1, "AVVISO DI MANCATA CONSEGNA PER SUP. TEMPO MASSIMO:",
      "PREAVVISO DI MANCATA CONSEGNA:" },
    { PEC_TIPO_RILEVAZIONE_VIRUS, -1, "PROBLEMA DI SICUREZZA:", NULL },
};

/* How far Date may be from the daticert time: one time reference per event (§2.3, RFC 6109 §4.1), but the
 * header and the XML need not be written in the same second. */
#define DATE_SLACK_SECONDS 120

/* collapse - text with runs of blanks made one space, trimmed: folding and re-encoding move blanks */
static char *collapse(const char *s)
{
    char *d = malloc(strlen(s ? s : "") + 1), *o = d;
    int blank = 0;

    if (d == NULL)
        pec_panic("out of memory");
    for (; s && *s; s++) {
        if (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n') {
            blank = o > d;
            continue;
        }
        if (blank)
            *o++ = ' ';
        blank = 0;
        *o++ = *s;
    }
    *o = '\0';
    return d;
}

/* after_prefix - the Subject text after prefix (ASCII case ignored), or NULL when it does not start so */
static const char *after_prefix(const char *subject, const char *prefix)
{
    const char *p = subject;

    while (*p == ' ' || *p == '\t')
        p++;
    return g_ascii_strncasecmp(p, prefix, strlen(prefix)) == 0 ? p + strlen(prefix) : NULL;
}

/* subject_text_matches - the text after prefix in either decoding of the Subject is the oggetto */
static int subject_text_matches(const char *text, const char *oggetto)
{
    char *want = collapse(oggetto), *got = collapse(text);
    int same = strcmp(want, got) == 0;

    free(want);
    free(got);
    return same;
}

/* check_subject - the prefix of the kind and tipo, then the original subject the daticert certifies; the
 * text is compared as GMime decodes it and as mime_header_text does (GMime 3.2 loses the end of some
 * subjects its own encoder wrote), and passes when either matches */
static void check_subject(GMimeMessage *m, struct pec_analysis *a)
{
    enum pec_tipo tipo = a->has_daticert ? a->daticert.tipo : a->tipo;
    int virus = a->has_daticert && a->daticert.errore == PEC_ERRORE_VIRUS;
    const char *prefix = NULL, *alt = NULL, *rest = NULL;
    char *want, *got, *own;

    if (a->kind == PEC_KIND_BUSTA_ANOMALIA) {
        prefix = "ANOMALIA MESSAGGIO:";
    } else {
        for (size_t i = 0; i < sizeof(subject_rules) / sizeof(subject_rules[0]); i++) {
            const struct subject_rule *r = &subject_rules[i];

            if (r->tipo != tipo || (r->virus >= 0 && r->virus != virus))
                continue;
            prefix = r->prefix;
            alt = r->alt;
            rest = a->subject ? after_prefix(a->subject, r->prefix) : NULL;
            if (rest == NULL && r->alt && a->subject)
                rest = after_prefix(a->subject, r->alt);
            break;
        }
    }
    if (prefix == NULL)
        return; /* tipo unknown: reported elsewhere */
    if (rest == NULL && a->subject)
        rest = after_prefix(a->subject, prefix);
    if (rest == NULL) {
        add_error(a, "Subject \"%.80s\" lacks the prefix \"%s \" of a %s", a->subject ? a->subject : "",
                  prefix, tipo != PEC_TIPO_NONE ? pec_tipo_name(tipo) : pec_kind_name(a->kind));
        return;
    }
    if (!a->has_daticert || subject_text_matches(rest, a->daticert.oggetto))
        return;
    if ((own = mime_header_text(GMIME_OBJECT(m), "Subject")) != NULL) {
        const char *own_rest = after_prefix(own, prefix);

        if (own_rest == NULL && alt)
            own_rest = after_prefix(own, alt);
        if (own_rest && subject_text_matches(own_rest, a->daticert.oggetto)) {
            free(own);
            return;
        }
        free(own);
    }
    want = collapse(a->daticert.oggetto);
    got = collapse(rest);
    add_error(a, "Subject text \"%.80s\" differs from the daticert <oggetto> \"%.80s\"", got, want);
    free(want);
    free(got);
}

/* first_mailbox - the first mailbox of an address list header GMime has read, or NULL */
static InternetAddressMailbox *first_mailbox(InternetAddressList *l, int *n_r)
{
    InternetAddressMailbox *first = NULL;

    *n_r = 0;
    for (int i = 0; l && i < internet_address_list_length(l); i++) {
        InternetAddress *ia = internet_address_list_get_address(l, i);

        if (INTERNET_ADDRESS_IS_MAILBOX(ia) && (*n_r)++ == 0)
            first = INTERNET_ADDRESS_MAILBOX(ia);
    }
    return first;
}

/* check_from - §2.1, §7: a provider signs its messages From its service address (the certificate's
 * rfc822Name, the index's mailReceipt); "Per conto di: X" names the certified sender; Sender = From */
static void check_from(GMimeMessage *m, struct pec_analysis *a)
{
    static const char per_conto[] = "Per conto di:";
    int n;
    InternetAddressMailbox *from = first_mailbox(g_mime_message_get_from(m), &n);
    const char *addr = from ? internet_address_mailbox_get_addr(from) : NULL;
    const char *name = from ? internet_address_get_name(INTERNET_ADDRESS(from)) : NULL;
    const char *san = a->sig.status == PEC_SIG_VALID && a->sig.signer_email[0] ? a->sig.signer_email : NULL;
    const char *box = a->provider ? pec_provider_mail_receipt(a->provider) : NULL;
    const char *v;

    if (addr == NULL || n != 1) {
        add_error(a, "From must hold exactly one address (found %d)", n);
        return;
    }
    if ((san || box) && !(san && strcasecmp(addr, san) == 0) && !(box && strcasecmp(addr, box) == 0))
        add_error(a, "From %s is not the service address of the signing provider (%s)", addr, san ? san : box);
    if (name && a->has_daticert && g_ascii_strncasecmp(name, per_conto, sizeof(per_conto) - 1) == 0) {
        char *who = g_strstrip(g_strdup(name + sizeof(per_conto) - 1));

        if (a->daticert.mittente == NULL || strcasecmp(who, a->daticert.mittente) != 0)
            add_error(a, "From display name \"%.80s\" does not name the daticert <mittente> %s", name,
                      a->daticert.mittente ? a->daticert.mittente : "");
        g_free(who);
    }
    if ((v = mime_header(GMIME_OBJECT(m), "Sender")) != NULL) {
        struct pec_strv sender = PEC_STRV_INIT;

        if (pec_addr_list_parse(v, &sender, NULL) != 1 || strcasecmp(sender.v[0], addr) != 0)
            add_error(a, "Sender \"%.80s\" differs from From %s", v, addr);
        pec_strv_clear(&sender);
    }
}

/* has_destinatario - addr is one of the daticert recipients */
static int has_destinatario(const struct pec_daticert *d, const char *addr)
{
    for (size_t i = 0; i < d->n_destinatari; i++)
        if (d->destinatari[i].addr && strcasecmp(d->destinatari[i].addr, addr) == 0)
            return 1;
    return 0;
}

/* header_count - how many fields of that name the top-level section has */
static int header_count(GMimeObject *obj, const char *name)
{
    GMimeHeaderList *hl = g_mime_object_get_header_list(obj);
    int n = 0;

    for (int i = 0; i < g_mime_header_list_get_count(hl); i++)
        n += g_ascii_strcasecmp(g_mime_header_get_name(g_mime_header_list_get_header_at(hl, i)), name) == 0;
    return n;
}

/* check_busta_headers - §2.3: the header recipients, Message-ID, X-TipoRicevuta and Reply-To of a busta
 * are the original's, which its daticert certifies */
static void check_busta_headers(GMimeMessage *m, struct pec_analysis *a)
{
    static const char *const lists[] = { "To", "Cc" };
    const struct pec_daticert *d = &a->daticert;
    GMimeObject *obj = GMIME_OBJECT(m);
    const char *v;

    for (size_t k = 0; k < 2; k++) {
        struct pec_strv addrs = PEC_STRV_INIT;
        struct pec_error err = { 0 };
        int n = header_count(obj, lists[k]);

        if (n > 1)
            add_error(a, "header %s appears %d times", lists[k], n);
        if ((v = mime_header(obj, lists[k])) != NULL && pec_addr_list_parse(v, &addrs, &err) < 0)
            add_error(a, "%s of the busta cannot be read: %s", lists[k], err.msg);
        for (size_t i = 0; i < addrs.n; i++)
            if (!has_destinatario(d, addrs.v[i]))
                add_error(a, "%s recipient %s is not among the daticert <destinatari>", lists[k], addrs.v[i]);
        pec_strv_clear(&addrs);
    }
    if (d->identificativo && (a->message_id == NULL || strcmp(a->message_id, d->identificativo) != 0))
        add_error(a, "Message-ID <%s> is not the daticert <identificativo> %s", a->message_id ? a->message_id : "",
                  d->identificativo);
    if (a->x_tiporicevuta) {
        enum pec_ricevuta r = pec_ricevuta_from_name(a->x_tiporicevuta);

        if (r == PEC_RICEVUTA_NONE)
            add_error(a, "unknown X-TipoRicevuta value \"%s\"", a->x_tiporicevuta);
        else if (r != d->ricevuta)
            add_error(a, "X-TipoRicevuta %s differs from the daticert <ricevuta> %s", a->x_tiporicevuta,
                      d->ricevuta != PEC_RICEVUTA_NONE ? pec_ricevuta_name(d->ricevuta) : "(none)");
    }
    if ((v = mime_header(obj, "Reply-To")) != NULL) {
        struct pec_strv reply = PEC_STRV_INIT;

        if (pec_addr_list_parse(v, &reply, NULL) < 1 || d->risposte == NULL || strcasecmp(reply.v[0], d->risposte) != 0)
            add_error(a, "Reply-To \"%.80s\" differs from the daticert <risposte> %s", v, d->risposte ? d->risposte : "");
        pec_strv_clear(&reply);
    }
}

/* check_consistency - every unsigned header the rules tie to the signed content agrees with it */
static void check_consistency(GMimeMessage *m, struct pec_analysis *a)
{
    const struct pec_daticert *d = &a->daticert;
    GDateTime *date;

    check_subject(m, a);
    check_from(m, a);
    if (!a->has_daticert)
        return; /* an anomaly (or a message already found without one) */
    if (a->kind == PEC_KIND_BUSTA_TRASPORTO)
        check_busta_headers(m, a);
    if (a->x_riferimento && (d->msgid == NULL || strcmp(a->x_riferimento, d->msgid) != 0))
        add_error(a, "X-Riferimento-Message-ID %s differs from the daticert <msgid> %s", a->x_riferimento,
                  d->msgid ? d->msgid : "(none)");
    if (a->x_mittente) {
        struct pec_strv who = PEC_STRV_INIT;

        if (pec_addr_list_parse(a->x_mittente, &who, NULL) != 1 || d->mittente == NULL ||
            strcasecmp(who.v[0], d->mittente) != 0)
            add_error(a, "X-Mittente %s differs from the daticert <mittente> %s", a->x_mittente,
                      d->mittente ? d->mittente : "");
        pec_strv_clear(&who);
    }
    if (a->x_verifica_sicurezza &&
        (d->errore != PEC_ERRORE_VIRUS || (d->tipo != PEC_TIPO_NON_ACCETTAZIONE && d->tipo != PEC_TIPO_ERRORE_CONSEGNA)))
        add_error(a, "X-VerificaSicurezza on a %s whose daticert errore is \"%s\"", pec_tipo_name(d->tipo),
                  pec_errore_name(d->errore));
    if ((date = g_mime_message_get_date(m)) == NULL) {
        add_error(a, "Date header missing or unreadable");
    } else {
        long long diff = (long long)g_date_time_to_unix(date) - (long long)d->when;

        if (diff > DATE_SLACK_SECONDS || diff < -DATE_SLACK_SECONDS)
            add_error(a, "Date differs from the daticert <data> by %lld s", diff);
    }
}

/* read_headers - the top-level fields the report needs */
static void read_headers(GMimeMessage *m, struct pec_analysis *a)
{
    static const char *const single[] = { "X-Trasporto", "X-Ricevuta", "X-TipoRicevuta", "X-VerificaSicurezza",
                                          "X-Mittente", "X-Riferimento-Message-ID" };
    GMimeObject *obj = GMIME_OBJECT(m);
    GMimeHeaderList *hl = g_mime_object_get_header_list(obj);
    InternetAddressList *from = g_mime_message_get_from(m);

    /* a PEC header given twice could make two readers see two different messages */
    for (size_t k = 0; k < sizeof(single) / sizeof(single[0]); k++) {
        int n = 0;
        for (int i = 0; i < g_mime_header_list_get_count(hl); i++)
            if (g_ascii_strcasecmp(g_mime_header_get_name(g_mime_header_list_get_header_at(hl, i)), single[k]) == 0)
                n++;
        if (n > 1)
            add_error(a, "header %s appears %d times", single[k], n);
    }

    a->x_trasporto = trimmed_header(obj, "X-Trasporto");
    a->x_ricevuta = trimmed_header(obj, "X-Ricevuta");
    a->x_tiporicevuta = trimmed_header(obj, "X-TipoRicevuta");
    a->x_verifica_sicurezza = trimmed_header(obj, "X-VerificaSicurezza");
    a->x_mittente = trimmed_header(obj, "X-Mittente");
    a->x_riferimento = trimmed_header(obj, "X-Riferimento-Message-ID");
    a->anomaly_mark = trimmed_header(obj, PEC_ANOMALY_MARK_HEADER);
    a->subject = dup_or_null(g_mime_message_get_subject(m));
    a->message_id = dup_or_null(g_mime_message_get_message_id(m));
    if (from && internet_address_list_length(from) > 0) {
        InternetAddress *ia = internet_address_list_get_address(from, 0);
        if (INTERNET_ADDRESS_IS_MAILBOX(ia))
            a->from = dup_or_null(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia)));
    }
}

/* has_headers - any header at all, the Content-* ones GMime keeps on the body part included */
static int has_headers(GMimeMessage *m)
{
    GMimeObject *body = g_mime_message_get_mime_part(m);

    if (g_mime_header_list_get_count(g_mime_object_get_header_list(GMIME_OBJECT(m))) > 0)
        return 1;
    return body != NULL && g_mime_header_list_get_count(g_mime_object_get_header_list(body)) > 0;
}

/* over_limits - a message the MIME layer does not read (pec/mime.h limits): what its header section says
 * about it, and why it is not valid */
static void over_limits(const void *raw, size_t len, const char *why, struct pec_analysis *a)
{
    GMimeMessage *m = mime_parse_headers(raw, len);

    add_error(a, "MIME limit: %s", why);
    if (m == NULL) {
        a->kind = PEC_KIND_MALFORMATA;
        return;
    }
    read_headers(m, a);
    g_object_unref(m);
    classify(a, 0);
    if (a->kind == PEC_KIND_ORDINARIA)
        add_error(a, "not a PEC message: ordinary mail");
}

/* pec_message_analyze - classify, verify, parse */
int pec_message_analyze(const void *raw, size_t len, const struct pec_analyze_opts *opts, struct pec_analysis *a,
                        struct pec_error *err)
{
    static const struct pec_analyze_opts no_opts;
    struct pec_strv problems = PEC_STRV_INIT;
    GMimeMessage *m;
    GMimeObject *body;
    char why[160];
    int is_signed;

    memset(a, 0, sizeof(*a));
    if (opts == NULL)
        opts = &no_opts;
    if (mime_scan(raw, len, NULL, why, sizeof(why)) < 0) {
        over_limits(raw, len, why, a);
        return 0;
    }
    m = mime_parse(raw, len, &problems);
    if (m == NULL || !has_headers(m)) {
        a->kind = PEC_KIND_MALFORMATA;
        a->errors = problems;
        add_error(a, "not an Internet message: no header section");
        if (m)
            g_object_unref(m);
        return 0;
    }
    read_headers(m, a);
    body = g_mime_message_get_mime_part(m);
    is_signed = body != NULL && GMIME_IS_MULTIPART(body) && mime_is_type(body, "multipart", "signed");
    if (is_signed && check_signed(raw, len, body, opts, a, err) < 0) {
        g_object_unref(m);
        pec_strv_clear(&problems);
        pec_analysis_clear(a); /* nothing half-filled for the caller to free */
        return -1;
    }
    classify(a, is_signed);
    /* an anomaly carries a defective message by design: when the provider's signature holds, the parser's
     * complaints are about what it wraps (and the headers it inherited), not about the envelope */
    if (!(a->kind == PEC_KIND_BUSTA_ANOMALIA && a->sig.status == PEC_SIG_VALID))
        for (size_t i = 0; i < problems.n; i++)
            add_error(a, "%s", problems.v[i]);
    pec_strv_clear(&problems);
    if (a->kind == PEC_KIND_ORDINARIA) {
        add_error(a, "not a PEC message: ordinary mail");
        g_object_unref(m);
        return 0;
    }
    check_structure(a);
    check_provider(opts, a);
    check_consistency(m, a);
    g_object_unref(m);
    a->valid = a->errors.n == 0;
    return 0;
}

/* pec_analysis_clear - free everything and zero */
void pec_analysis_clear(struct pec_analysis *a)
{
    free(a->x_trasporto);
    free(a->x_ricevuta);
    free(a->x_tiporicevuta);
    free(a->x_verifica_sicurezza);
    free(a->x_mittente);
    free(a->x_riferimento);
    free(a->anomaly_mark);
    free(a->from);
    free(a->subject);
    free(a->message_id);
    free(a->micalg);
    free(a->protocol);
    pec_sig_info_clear(&a->sig);
    if (a->has_daticert)
        pec_daticert_clear(&a->daticert);
    pec_strv_clear(&a->errors);
    memset(a, 0, sizeof(*a));
}
