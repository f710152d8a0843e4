/* daticert.c - render and parse daticert.xml (RFC 6109 §4.4, shared/spec/daticert.dtd).
 *
 * The only file of the library that includes libxml2: the rest of the core sees a plain record.
 * Rendering goes through xmlTextWriter so escaping is libxml2's, not ours; parsing builds a tree with
 * network and entity loading off and then checks by hand the structure the DTD imposes (we never load
 * the DTD itself: real files carry no DOCTYPE and loading one would be an external fetch).  A document
 * with a DOCTYPE is refused before libxml2 reads it (and, should one get past that, libxml2 is stopped
 * when it meets it), so no entity declaration is ever read, let alone expanded.
 */
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlwriter.h>
#include "pec/clock.h"
#include "pec/daticert.h"
#include "pec/log.h"
#include "pec/text.h"

/* Indexed by the enums; index 0 (NONE) has no token because the DTD has none. */
static const char *const tipo_names[] = {
    NULL,
    "accettazione",
    "non-accettazione",
    "presa-in-carico",
    "avvenuta-consegna",
    "posta-certificata",
    "errore-consegna",
    "preavviso-errore-consegna",
    "rilevazione-virus",
};
static const char *const errore_names[] = { "nessuno", "no-dest", "no-dominio", "virus", "altro" };
static const char *const ricevuta_names[] = { NULL, "completa", "breve", "sintetica" };

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* pec_tipo_name - DTD token of a tipo, NULL for NONE or out of range */
const char *pec_tipo_name(enum pec_tipo t)
{
    if ((unsigned)t >= NELEM(tipo_names))
        return NULL;
    return tipo_names[t];
}

/* pec_tipo_from_name - exact token match: the DTD enumerates them, so no case folding */
enum pec_tipo pec_tipo_from_name(const char *s)
{
    size_t i;

    if (s == NULL)
        return PEC_TIPO_NONE;
    for (i = 1; i < NELEM(tipo_names); i++)
        if (strcmp(s, tipo_names[i]) == 0)
            return (enum pec_tipo)i;
    return PEC_TIPO_NONE;
}

/* pec_errore_name - DTD token of an errore, NULL when out of range */
const char *pec_errore_name(enum pec_errore e)
{
    if ((unsigned)e >= NELEM(errore_names))
        return NULL;
    return errore_names[e];
}

/* pec_errore_from_name - inverse; needs ok_r because NESSUNO (0) is a real value, not "unknown" */
enum pec_errore pec_errore_from_name(const char *s, int *ok_r)
{
    size_t i;

    if (ok_r != NULL)
        *ok_r = 0;
    if (s == NULL)
        return PEC_ERRORE_NESSUNO;
    for (i = 0; i < NELEM(errore_names); i++)
        if (strcmp(s, errore_names[i]) == 0) {
            if (ok_r != NULL)
                *ok_r = 1;
            return (enum pec_errore)i;
        }
    return PEC_ERRORE_NESSUNO;
}

/* pec_ricevuta_name - DTD token of a ricevuta tipo, NULL for NONE (element omitted) */
const char *pec_ricevuta_name(enum pec_ricevuta r)
{
    if ((unsigned)r >= NELEM(ricevuta_names))
        return NULL;
    return ricevuta_names[r];
}

/* pec_ricevuta_from_name - inverse; NONE when unknown */
enum pec_ricevuta pec_ricevuta_from_name(const char *s)
{
    size_t i;

    if (s == NULL)
        return PEC_RICEVUTA_NONE;
    for (i = 1; i < NELEM(ricevuta_names); i++)
        if (strcmp(s, ricevuta_names[i]) == 0)
            return (enum pec_ricevuta)i;
    return PEC_RICEVUTA_NONE;
}

/* libxml2 docs require xmlInitParser once before multithreaded use; pthread_once makes that safe
 * whichever thread gets here first (the once-control is the only static state, and it is a lock). */
static pthread_once_t xml_init_once = PTHREAD_ONCE_INIT;

/* xml_init - run libxml2's one-time initialisation */
static void xml_init(void)
{
    xmlInitParser();
}

/* ---------------------------------------------------------------------------------------------- */
/* Rendering                                                                                       */

/* check_field - refuse a value the document cannot carry (not UTF-8, or a character XML 1.0 forbids:
 * libxml2's writer would copy it through and produce a document no parser accepts); required fields
 * must also be non-empty, since an empty sender or identifier would certify nothing */
static int check_field(const char *what, const char *s, int required, struct pec_error *err)
{
    long cp = -1;

    if (s == NULL) {
        if (!required)
            return 0;
        pec_error_set(err, PEC_ERR_INVALID, "daticert: %s is required", what);
        return -1;
    }
    if (required && s[0] == '\0') {
        pec_error_set(err, PEC_ERR_INVALID, "daticert: %s is empty", what);
        return -1;
    }
    if (pec_text_utf8_valid(s, PEC_TEXT_XML, NULL, &cp))
        return 0;
    if (cp < 0)
        pec_error_set(err, PEC_ERR_INVALID, "daticert: %s is not valid UTF-8", what);
    else
        pec_error_set(err, PEC_ERR_INVALID, "daticert: %s contains U+%04lX, which XML 1.0 forbids", what,
                      (unsigned long)cp);
    return -1;
}

/* check_record - everything render refuses, checked before writing so a refusal leaves out untouched */
static int check_record(const struct pec_daticert *d, struct pec_error *err)
{
    size_t i;

    if (pec_tipo_name(d->tipo) == NULL) {
        pec_error_set(err, PEC_ERR_INVALID, "daticert: no valid tipo (%d)", (int)d->tipo);
        return -1;
    }
    if (pec_errore_name(d->errore) == NULL) {
        pec_error_set(err, PEC_ERR_INVALID, "daticert: no valid errore (%d)", (int)d->errore);
        return -1;
    }
    if ((unsigned)d->ricevuta >= NELEM(ricevuta_names)) {
        pec_error_set(err, PEC_ERR_INVALID, "daticert: no valid ricevuta (%d)", (int)d->ricevuta);
        return -1;
    }
    if (check_field("<mittente>", d->mittente, 1, err) < 0)
        return -1;
    if (d->n_destinatari == 0 || d->destinatari == NULL) {
        pec_error_set(err, PEC_ERR_INVALID, "daticert: <destinatari> is required (no recipients)");
        return -1;
    }
    for (i = 0; i < d->n_destinatari; i++)
        if (check_field("<destinatari>", d->destinatari[i].addr, 1, err) < 0)
            return -1;
    /* risposte has no default in the DTD: the caller knows the sender, we do not guess */
    if (check_field("<risposte>", d->risposte, 1, err) < 0 || check_field("<oggetto>", d->oggetto, 0, err) < 0 ||
        check_field("<gestore-emittente>", d->gestore, 1, err) < 0 ||
        check_field("<identificativo>", d->identificativo, 1, err) < 0 ||
        check_field("<msgid>", d->msgid, 0, err) < 0 || check_field("<consegna>", d->consegna, 0, err) < 0 ||
        check_field("<errore-esteso>", d->errore_esteso, 0, err) < 0)
        return -1;
    if (d->n_ricezione > 0 && d->ricezione == NULL) {
        pec_error_set(err, PEC_ERR_INVALID, "daticert: %zu <ricezione> announced, none given", d->n_ricezione);
        return -1;
    }
    for (i = 0; i < d->n_ricezione; i++)
        if (check_field("<ricezione>", d->ricezione[i], 1, err) < 0)
            return -1;
    return 0;
}

/* wcheck - a writer call fails only when libxml2 cannot allocate (input was checked): treat as OOM */
static void wcheck(int rc)
{
    if (rc < 0)
        pec_panic("daticert: libxml2 writer failed (out of memory)");
}

/* write_text_element - <name>text</name>, escaped by libxml2 */
static void write_text_element(xmlTextWriterPtr w, const char *name, const char *text)
{
    wcheck(xmlTextWriterStartElement(w, BAD_CAST name));
    wcheck(xmlTextWriterWriteString(w, BAD_CAST text));
    wcheck(xmlTextWriterEndElement(w));
}

/* pec_daticert_render - append the UTF-8 XML document to out */
int pec_daticert_render(const struct pec_daticert *d, struct pec_buf *out, struct pec_error *err)
{
    struct pec_legal_time lt;
    xmlBufferPtr xb;
    xmlTextWriterPtr w;
    size_t i;

    if (d == NULL || out == NULL) {
        pec_error_set(err, PEC_ERR_INVALID, "daticert: no record to render");
        return -1;
    }
    if (check_record(d, err) < 0)
        return -1;
    pec_legal_time(d->when, &lt);
    if (lt.year < 1 || lt.year > 9999) { /* giorno has room for four digits only */
        pec_error_set(err, PEC_ERR_INVALID, "daticert: time %lld cannot be written as dd/mm/yyyy",
                      (long long)d->when);
        return -1;
    }
    pthread_once(&xml_init_once, xml_init);

    xb = xmlBufferCreate();
    if (xb == NULL)
        pec_panic("daticert: out of memory");
    w = xmlNewTextWriterMemory(xb, 0);
    if (w == NULL)
        pec_panic("daticert: out of memory");
    /* Real files are indented with four spaces; one element per line keeps them diffable. */
    wcheck(xmlTextWriterSetIndent(w, 1));
    wcheck(xmlTextWriterSetIndentString(w, BAD_CAST "    "));
    wcheck(xmlTextWriterStartDocument(w, "1.0", "UTF-8", NULL));

    wcheck(xmlTextWriterStartElement(w, BAD_CAST "postacert"));
    wcheck(xmlTextWriterWriteAttribute(w, BAD_CAST "tipo", BAD_CAST pec_tipo_name(d->tipo)));
    /* errore has a DTD default, but readers that skip the DTD (all of them) only see what is written */
    wcheck(xmlTextWriterWriteAttribute(w, BAD_CAST "errore", BAD_CAST pec_errore_name(d->errore)));

    wcheck(xmlTextWriterStartElement(w, BAD_CAST "intestazione"));
    write_text_element(w, "mittente", d->mittente);
    for (i = 0; i < d->n_destinatari; i++) {
        wcheck(xmlTextWriterStartElement(w, BAD_CAST "destinatari"));
        wcheck(xmlTextWriterWriteAttribute(w, BAD_CAST "tipo",
                                           BAD_CAST(d->destinatari[i].esterno ? "esterno" : "certificato")));
        wcheck(xmlTextWriterWriteString(w, BAD_CAST d->destinatari[i].addr));
        wcheck(xmlTextWriterEndElement(w));
    }
    write_text_element(w, "risposte", d->risposte);
    if (d->oggetto != NULL)
        write_text_element(w, "oggetto", d->oggetto);
    wcheck(xmlTextWriterEndElement(w)); /* intestazione */

    wcheck(xmlTextWriterStartElement(w, BAD_CAST "dati"));
    write_text_element(w, "gestore-emittente", d->gestore);
    wcheck(xmlTextWriterStartElement(w, BAD_CAST "data"));
    wcheck(xmlTextWriterWriteAttribute(w, BAD_CAST "zona", BAD_CAST lt.zona));
    write_text_element(w, "giorno", lt.giorno);
    write_text_element(w, "ora", lt.ora);
    wcheck(xmlTextWriterEndElement(w)); /* data */
    write_text_element(w, "identificativo", d->identificativo);
    if (d->msgid != NULL)
        write_text_element(w, "msgid", d->msgid);
    if (d->ricevuta != PEC_RICEVUTA_NONE) {
        wcheck(xmlTextWriterStartElement(w, BAD_CAST "ricevuta"));
        wcheck(xmlTextWriterWriteAttribute(w, BAD_CAST "tipo", BAD_CAST pec_ricevuta_name(d->ricevuta)));
        wcheck(xmlTextWriterEndElement(w)); /* EMPTY in the DTD: written as <ricevuta .../> */
    }
    if (d->consegna != NULL)
        write_text_element(w, "consegna", d->consegna);
    for (i = 0; i < d->n_ricezione; i++)
        write_text_element(w, "ricezione", d->ricezione[i]);
    if (d->errore_esteso != NULL)
        write_text_element(w, "errore-esteso", d->errore_esteso);
    wcheck(xmlTextWriterEndElement(w)); /* dati */

    wcheck(xmlTextWriterEndElement(w)); /* postacert */
    wcheck(xmlTextWriterEndDocument(w));
    xmlFreeTextWriter(w); /* flushes into xb */

    pec_buf_append(out, xmlBufferContent(xb), (size_t)xmlBufferLength(xb));
    xmlBufferFree(xb);
    return 0;
}

/* ---------------------------------------------------------------------------------------------- */
/* Parsing                                                                                         */

/* xstrndup - copy n bytes as a C string; the record is freed with free(), not xmlFree() */
static char *xstrndup(const char *s, size_t n)
{
    char *r = malloc(n + 1);

    if (r == NULL)
        pec_panic("daticert: out of memory (%zu bytes)", n + 1);
    memcpy(r, s, n);
    r[n] = '\0';
    return r;
}

/* is_space - XML whitespace (S production); the only characters trimmed or skipped between elements */
static int is_space(int c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* is_blank - whether text is only whitespace, i.e. indentation between elements */
static int is_blank(const xmlChar *s)
{
    if (s == NULL)
        return 1;
    for (; *s != '\0'; s++)
        if (!is_space(*s))
            return 0;
    return 1;
}

/* ename - node name for messages (callers print it with %.64s: names come from hostile input) */
static const char *ename(const xmlNode *n)
{
    return n->name != NULL ? (const char *)n->name : "?";
}

/* check_attrs - refuse attributes the DTD does not declare for this element (allowed: NULL-terminated) */
static int check_attrs(const xmlNode *el, const char *const *allowed, struct pec_error *err)
{
    const xmlAttr *a;
    size_t i;

    for (a = el->properties; a != NULL; a = a->next) {
        int known = 0;

        if (a->ns == NULL)
            for (i = 0; allowed != NULL && allowed[i] != NULL; i++)
                if (strcmp((const char *)a->name, allowed[i]) == 0)
                    known = 1;
        if (!known) {
            pec_error_set(err, PEC_ERR_INVALID, "daticert: unexpected attribute %.64s on <%.64s>",
                          (const char *)a->name, ename(el));
            return -1;
        }
    }
    return 0;
}

/* attr_value - trimmed copy of an attribute, NULL when absent; trimmed because a validating reader
 * would normalise enumerated values the same way */
static char *attr_value(const xmlNode *el, const char *name)
{
    xmlChar *v = xmlGetNoNsProp(el, BAD_CAST name);
    const char *s, *e;
    char *r;

    if (v == NULL)
        return NULL;
    s = (const char *)v;
    while (is_space(*s))
        s++;
    e = s + strlen(s);
    while (e > s && is_space(e[-1]))
        e--;
    r = xstrndup(s, (size_t)(e - s));
    xmlFree(v);
    return r;
}

/* element_text - trimmed character data of a #PCDATA element (malloc'd), NULL with err when the element
 * holds markup: the DTD allows none, and an unexpanded entity must not silently vanish */
static char *element_text(const xmlNode *el, struct pec_error *err)
{
    const xmlNode *c;
    size_t len = 0, pos = 0, start, end;
    char *all, *r;

    for (c = el->children; c != NULL; c = c->next) {
        switch (c->type) {
        case XML_TEXT_NODE:
        case XML_CDATA_SECTION_NODE:
            if (c->content != NULL)
                len += strlen((const char *)c->content);
            break;
        case XML_COMMENT_NODE:
        case XML_PI_NODE:
            break;
        case XML_ELEMENT_NODE:
            pec_error_set(err, PEC_ERR_INVALID, "daticert: unexpected element <%.64s> inside <%.64s>",
                          ename(c), ename(el));
            return NULL;
        case XML_ENTITY_REF_NODE:
            pec_error_set(err, PEC_ERR_INVALID, "daticert: <%.64s> uses entity &%.64s; (entities are not expanded)",
                          ename(el), ename(c));
            return NULL;
        default:
            pec_error_set(err, PEC_ERR_INVALID, "daticert: unexpected content in <%.64s>", ename(el));
            return NULL;
        }
    }
    all = malloc(len + 1);
    if (all == NULL)
        pec_panic("daticert: out of memory (%zu bytes)", len + 1);
    for (c = el->children; c != NULL; c = c->next)
        if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && c->content != NULL) {
            size_t n = strlen((const char *)c->content);

            memcpy(all + pos, c->content, n);
            pos += n;
        }
    start = 0;
    end = len;
    while (start < end && is_space((unsigned char)all[start]))
        start++;
    while (end > start && is_space((unsigned char)all[end - 1]))
        end--;
    r = xstrndup(all + start, end - start);
    free(all);
    return r;
}

/* One step of a DTD content model: a child element that must appear min..max times (max 0: no limit). */
struct slot {
    const char *name;
    unsigned min, max;
};

/* The record being filled, handed to each slot's handler. */
struct walk {
    struct pec_daticert *d;
    char *giorno, *ora; /* collected inside <data>, freed by parse_data */
};

typedef int (*slot_fn)(struct walk *w, size_t slot, const xmlNode *el, struct pec_error *err);

/* stray_content - refuse text or entity references between elements: the DTD has element-only content
 * there, so only whitespace, comments and processing instructions may appear */
static int stray_content(const xmlNode *parent, const xmlNode *c, struct pec_error *err)
{
    switch (c->type) {
    case XML_TEXT_NODE:
    case XML_CDATA_SECTION_NODE:
        if (is_blank(c->content))
            return 0;
        pec_error_set(err, PEC_ERR_INVALID, "daticert: stray text in <%.64s>", ename(parent));
        return -1;
    case XML_COMMENT_NODE:
    case XML_PI_NODE:
        return 0;
    case XML_ENTITY_REF_NODE:
        pec_error_set(err, PEC_ERR_INVALID, "daticert: entity &%.64s; in <%.64s> (entities are not expanded)",
                      ename(c), ename(parent));
        return -1;
    default:
        pec_error_set(err, PEC_ERR_INVALID, "daticert: unexpected content in <%.64s>", ename(parent));
        return -1;
    }
}

/* walk_sequence - match the element children of parent against an ordered content model and hand each
 * to fn; errors name the element that is missing, misplaced, repeated or unknown */
static int walk_sequence(const xmlNode *parent, const struct slot *slots, size_t n, slot_fn fn, struct walk *w,
                         struct pec_error *err)
{
    const xmlNode *c;
    size_t i = 0, j, k;
    unsigned count = 0; /* how many times slot i has matched so far */

    for (c = parent->children; c != NULL; c = c->next) {
        if (c->type != XML_ELEMENT_NODE) {
            if (stray_content(parent, c, err) < 0)
                return -1;
            continue;
        }
        if (c->ns != NULL) { /* the DTD has no namespace: <x:mittente> is a different element */
            pec_error_set(err, PEC_ERR_INVALID, "daticert: unexpected namespaced element <%.64s> in <%.64s>",
                          ename(c), ename(parent));
            return -1;
        }
        for (j = i; j < n && strcmp(slots[j].name, (const char *)c->name) != 0; j++)
            ;
        if (j == n) {
            for (k = 0; k < i && strcmp(slots[k].name, (const char *)c->name) != 0; k++)
                ;
            if (k < i)
                pec_error_set(err, PEC_ERR_INVALID, "daticert: <%.64s> out of order in <%.64s>", ename(c),
                              ename(parent));
            else
                pec_error_set(err, PEC_ERR_INVALID, "daticert: unexpected element <%.64s> in <%.64s>",
                              ename(c), ename(parent));
            return -1;
        }
        if (j == i && slots[i].max != 0 && count >= slots[i].max) {
            pec_error_set(err, PEC_ERR_INVALID, "daticert: <%.64s> repeated in <%.64s>", ename(c), ename(parent));
            return -1;
        }
        if (j > i) { /* skipping ahead: whatever lies between must be optional */
            for (k = i; k < j; k++)
                if ((k == i ? count : 0) < slots[k].min) {
                    pec_error_set(err, PEC_ERR_INVALID, "daticert: <%.64s> lacks <%s>", ename(parent),
                                  slots[k].name);
                    return -1;
                }
            i = j;
            count = 0;
        }
        count++;
        if (fn(w, j, c, err) < 0)
            return -1;
    }
    for (k = i; k < n; k++)
        if ((k == i ? count : 0) < slots[k].min) {
            pec_error_set(err, PEC_ERR_INVALID, "daticert: <%.64s> lacks <%s>", ename(parent), slots[k].name);
            return -1;
        }
    return 0;
}

/* take_text - store the text of an attribute-less element into *dst */
static int take_text(char **dst, const xmlNode *el, struct pec_error *err)
{
    if (check_attrs(el, NULL, err) < 0)
        return -1;
    *dst = element_text(el, err);
    return *dst == NULL ? -1 : 0;
}

/* grow - make room for one more array element; arrays grow one at a time since they stay tiny */
static void *grow(void *p, size_t n, size_t size)
{
    void *r = realloc(p, (n + 1) * size);

    if (r == NULL)
        pec_panic("daticert: out of memory");
    return r;
}

static const struct slot intestazione_slots[] = {
    { "mittente", 1, 1 }, { "destinatari", 1, 0 }, { "risposte", 1, 1 }, { "oggetto", 0, 1 },
};

/* on_intestazione - one child of <intestazione> */
static int on_intestazione(struct walk *w, size_t slot, const xmlNode *el, struct pec_error *err)
{
    static const char *const dest_attrs[] = { "tipo", NULL };
    struct pec_daticert *d = w->d;
    struct pec_destinatario *r;
    char *tipo;

    switch (slot) {
    case 0:
        return take_text(&d->mittente, el, err);
    case 1:
        if (check_attrs(el, dest_attrs, err) < 0)
            return -1;
        d->destinatari = grow(d->destinatari, d->n_destinatari, sizeof(*d->destinatari));
        r = &d->destinatari[d->n_destinatari];
        r->addr = NULL;
        r->esterno = 0;
        tipo = attr_value(el, "tipo");
        if (tipo != NULL && strcmp(tipo, "esterno") == 0)
            r->esterno = 1;
        else if (tipo != NULL && strcmp(tipo, "certificato") != 0) {
            pec_error_set(err, PEC_ERR_INVALID, "daticert: unknown <destinatari> tipo \"%.64s\"", tipo);
            free(tipo);
            return -1;
        }
        free(tipo);
        r->addr = element_text(el, err);
        if (r->addr == NULL)
            return -1;
        d->n_destinatari++;
        return 0;
    case 2:
        return take_text(&d->risposte, el, err);
    default:
        return take_text(&d->oggetto, el, err);
    }
}

static const struct slot data_slots[] = { { "giorno", 1, 1 }, { "ora", 1, 1 } };

/* on_data - <giorno> or <ora>, kept until both are known */
static int on_data(struct walk *w, size_t slot, const xmlNode *el, struct pec_error *err)
{
    return take_text(slot == 0 ? &w->giorno : &w->ora, el, err);
}

/* shaped - s matches pat, where '9' stands for one ASCII digit; clock's sscanf alone would also take
 * signs, spaces and short fields, which no real file has */
static int shaped(const char *s, const char *pat)
{
    for (; *pat != '\0'; s++, pat++) {
        if (*pat == '9' ? !(*s >= '0' && *s <= '9') : *s != *pat)
            return 0;
    }
    return *s == '\0';
}

/* parse_data - <data zona=".."><giorno/><ora/></data> into d->when */
static int parse_data(struct walk *w, const xmlNode *el, struct pec_error *err)
{
    static const char *const data_attrs[] = { "zona", NULL };
    char *zona = NULL;
    time_t t;
    int rc = -1;

    w->giorno = w->ora = NULL;
    if (check_attrs(el, data_attrs, err) < 0 || walk_sequence(el, data_slots, NELEM(data_slots), on_data, w, err) < 0)
        goto out;
    zona = attr_value(el, "zona");
    if (zona == NULL) {
        pec_error_set(err, PEC_ERR_INVALID, "daticert: <data> lacks the zona attribute");
        goto out;
    }
    if (!shaped(w->giorno, "99/99/9999") || !shaped(w->ora, "99:99:99") ||
        !(shaped(zona, "+9999") || shaped(zona, "-9999")) || pec_legal_time_parse(w->giorno, w->ora, zona, &t) < 0) {
        pec_error_set(err, PEC_ERR_INVALID, "daticert: bad <data>: giorno \"%.32s\" ora \"%.32s\" zona \"%.32s\"",
                      w->giorno, w->ora, zona);
        goto out;
    }
    w->d->when = t;
    rc = 0;
out:
    free(w->giorno);
    free(w->ora);
    free(zona);
    w->giorno = w->ora = NULL;
    return rc;
}

/* parse_ricevuta - <ricevuta tipo=".."/>: EMPTY in the DTD, so not even whitespace inside */
static int parse_ricevuta(struct pec_daticert *d, const xmlNode *el, struct pec_error *err)
{
    static const char *const ricevuta_attrs[] = { "tipo", NULL };
    char *tipo;

    if (check_attrs(el, ricevuta_attrs, err) < 0)
        return -1;
    if (el->children != NULL) {
        pec_error_set(err, PEC_ERR_INVALID, "daticert: <ricevuta> must be empty");
        return -1;
    }
    tipo = attr_value(el, "tipo");
    if (tipo == NULL) {
        pec_error_set(err, PEC_ERR_INVALID, "daticert: <ricevuta> lacks the tipo attribute");
        return -1;
    }
    d->ricevuta = pec_ricevuta_from_name(tipo);
    if (d->ricevuta == PEC_RICEVUTA_NONE) {
        pec_error_set(err, PEC_ERR_INVALID, "daticert: unknown <ricevuta> tipo \"%.64s\"", tipo);
        free(tipo);
        return -1;
    }
    free(tipo);
    return 0;
}

static const struct slot dati_slots[] = {
    { "gestore-emittente", 1, 1 }, { "data", 1, 1 },     { "identificativo", 1, 1 }, { "msgid", 0, 1 },
    { "ricevuta", 0, 1 },          { "consegna", 0, 1 }, { "ricezione", 0, 0 },      { "errore-esteso", 0, 1 },
};

/* on_dati - one child of <dati> */
static int on_dati(struct walk *w, size_t slot, const xmlNode *el, struct pec_error *err)
{
    struct pec_daticert *d = w->d;

    switch (slot) {
    case 0:
        return take_text(&d->gestore, el, err);
    case 1:
        return parse_data(w, el, err);
    case 2:
        return take_text(&d->identificativo, el, err);
    case 3:
        return take_text(&d->msgid, el, err);
    case 4:
        return parse_ricevuta(d, el, err);
    case 5:
        return take_text(&d->consegna, el, err);
    case 6:
        d->ricezione = grow(d->ricezione, d->n_ricezione, sizeof(*d->ricezione));
        if (take_text(&d->ricezione[d->n_ricezione], el, err) < 0)
            return -1;
        d->n_ricezione++;
        return 0;
    default:
        return take_text(&d->errore_esteso, el, err);
    }
}

static const struct slot postacert_slots[] = { { "intestazione", 1, 1 }, { "dati", 1, 1 } };

/* on_postacert - <intestazione> or <dati> */
static int on_postacert(struct walk *w, size_t slot, const xmlNode *el, struct pec_error *err)
{
    if (check_attrs(el, NULL, err) < 0)
        return -1;
    if (slot == 0)
        return walk_sequence(el, intestazione_slots, NELEM(intestazione_slots), on_intestazione, w, err);
    return walk_sequence(el, dati_slots, NELEM(dati_slots), on_dati, w, err);
}

/* parse_root - check <postacert tipo errore> and walk its content */
static int parse_root(const xmlNode *root, struct pec_daticert *d, struct pec_error *err)
{
    static const char *const root_attrs[] = { "tipo", "errore", NULL };
    struct walk w = { d, NULL, NULL };
    char *v;
    int ok;

    if (root == NULL) {
        pec_error_set(err, PEC_ERR_INVALID, "daticert: no root element");
        return -1;
    }
    if (root->ns != NULL) { /* the DTD declares no namespace, so a namespaced root is another vocabulary */
        pec_error_set(err, PEC_ERR_INVALID, "daticert: root element <%.64s> is in namespace \"%.64s\"", ename(root),
                      root->ns->href != NULL ? (const char *)root->ns->href : "");
        return -1;
    }
    if (strcmp(ename(root), "postacert") != 0) {
        pec_error_set(err, PEC_ERR_INVALID, "daticert: root element is <%.64s>, not <postacert>", ename(root));
        return -1;
    }
    if (check_attrs(root, root_attrs, err) < 0)
        return -1;
    v = attr_value(root, "tipo");
    if (v == NULL) {
        pec_error_set(err, PEC_ERR_INVALID, "daticert: <postacert> lacks the tipo attribute");
        return -1;
    }
    d->tipo = pec_tipo_from_name(v);
    if (d->tipo == PEC_TIPO_NONE) {
        pec_error_set(err, PEC_ERR_INVALID, "daticert: unknown <postacert> tipo \"%.64s\"", v);
        free(v);
        return -1;
    }
    free(v);
    v = attr_value(root, "errore");
    if (v != NULL) { /* absent: the DTD default, nessuno (already 0) */
        d->errore = pec_errore_from_name(v, &ok);
        if (!ok) {
            pec_error_set(err, PEC_ERR_INVALID, "daticert: unknown <postacert> errore \"%.64s\"", v);
            free(v);
            return -1;
        }
        free(v);
    }
    return walk_sequence(root, postacert_slots, NELEM(postacert_slots), on_postacert, &w, err);
}

/* quiet_error - swallow libxml2's report: the default handler prints to stderr, and the error is
 * still recorded in the context (ctxt->lastError) for us to quote */
static void quiet_error(void *ctx, xmlErrorPtr e)
{
    (void)ctx;
    (void)e;
}

/* doctype_in_prolog - a DOCTYPE before the root element (after an optional BOM, blanks, processing
 * instructions and comments): refused before libxml2 sees it, so no declaration is ever read */
static int doctype_in_prolog(const char *p, const char *e)
{
    if (e - p >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
        p += 3;
    for (;;) {
        const char *q;

        while (p < e && is_space((unsigned char)*p))
            p++;
        if (e - p >= 9 && memcmp(p, "<!DOCTYPE", 9) == 0)
            return 1;
        if (e - p >= 2 && memcmp(p, "<?", 2) == 0)
            q = "?>";
        else if (e - p >= 4 && memcmp(p, "<!--", 4) == 0)
            q = "-->";
        else
            return 0;
        for (p += 2; p < e && !(e - p >= (ptrdiff_t)strlen(q) && memcmp(p, q, strlen(q)) == 0); p++)
            ;
        p += strlen(q);
        if (p > e)
            return 0;
    }
}

/* on_doctype - libxml2 met a DOCTYPE anyway: stop before its subset (and any entity) is read */
static void on_doctype(void *ctx, const xmlChar *name, const xmlChar *external_id, const xmlChar *system_id)
{
    (void)name;
    (void)external_id;
    (void)system_id;
    xmlStopParser((xmlParserCtxtPtr)ctx);
}

/* pec_daticert_parse - parse a document into *d */
int pec_daticert_parse(const void *xml, size_t len, struct pec_daticert *d, struct pec_error *err)
{
    xmlParserCtxtPtr ctxt;
    xmlDocPtr doc;
    int rc;

    memset(d, 0, sizeof(*d));
    if (xml == NULL || len == 0) {
        pec_error_set(err, PEC_ERR_INVALID, "daticert: empty document");
        return -1;
    }
    if (len > INT_MAX) { /* libxml2 takes an int length */
        pec_error_set(err, PEC_ERR_INVALID, "daticert: document too large (%zu bytes)", len);
        return -1;
    }
    /* Real files have no DOCTYPE (PEC-RULES §6), and one is the way in for entity expansion: refused
     * whatever it holds, an internal subset or none. */
    if (doctype_in_prolog(xml, (const char *)xml + len)) {
        pec_error_set(err, PEC_ERR_INVALID, "daticert: a DOCTYPE declaration is not allowed");
        return -1;
    }
    pthread_once(&xml_init_once, xml_init);
    ctxt = xmlNewParserCtxt();
    if (ctxt == NULL)
        pec_panic("daticert: out of memory");
    /* Per-context handler, not xmlSetGenericErrorFunc: other threads may be parsing at the same time. */
    ctxt->sax->serror = quiet_error;
    ctxt->sax->internalSubset = on_doctype;
    /* NONET: no fetches; no NOENT/DTDLOAD/DTDATTR/DTDVALID: external entities and DTDs are never read,
     * entity references stay unexpanded (and are refused below).  Without HUGE, libxml2's own limits
     * on depth and text size hold.  UTF-8 is forced because daticert.xml is UTF-8 by rule, and because
     * a transcoding failure is reported through libxml2's process-wide channel, not the context. */
    doc = xmlCtxtReadMemory(ctxt, xml, (int)len, NULL, "UTF-8",
                            XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (ctxt->errNo == XML_ERR_USER_STOP || (doc != NULL && (doc->intSubset != NULL || doc->extSubset != NULL))) {
        pec_error_set(err, PEC_ERR_INVALID, "daticert: a DOCTYPE declaration is not allowed");
        if (doc != NULL)
            xmlFreeDoc(doc);
        xmlFreeParserCtxt(ctxt);
        return -1;
    }
    if (doc == NULL) {
        const xmlError *e = &ctxt->lastError;
        char msg[200], *p;
        size_t n;

        snprintf(msg, sizeof(msg), "%s", e->message != NULL ? e->message : "unknown error");
        n = strlen(msg);
        while (n > 0 && is_space((unsigned char)msg[n - 1]))
            msg[--n] = '\0';
        for (p = msg; *p != '\0'; p++) /* libxml2 adds a "Bytes: ..." line; keep logs one line each */
            if (*p == '\n' || *p == '\r')
                *p = ' ';
        pec_error_set(err, PEC_ERR_INVALID, "daticert: malformed XML (line %d): %s", e->line, msg);
        xmlFreeParserCtxt(ctxt);
        return -1;
    }
    rc = parse_root(xmlDocGetRootElement(doc), d, err);
    xmlFreeDoc(doc);
    xmlFreeParserCtxt(ctxt);
    if (rc < 0)
        pec_daticert_clear(d);
    return rc;
}

/* pec_daticert_clear - free what parse allocated and zero the record */
void pec_daticert_clear(struct pec_daticert *d)
{
    size_t i;

    if (d == NULL)
        return;
    free(d->mittente);
    for (i = 0; i < d->n_destinatari; i++)
        free(d->destinatari[i].addr);
    free(d->destinatari);
    free(d->risposte);
    free(d->oggetto);
    free(d->gestore);
    free(d->identificativo);
    free(d->msgid);
    free(d->consegna);
    for (i = 0; i < d->n_ricezione; i++)
        free(d->ricezione[i]);
    free(d->ricezione);
    free(d->errore_esteso);
    memset(d, 0, sizeof(*d));
}
