/* trace_facts_codec.c - trace facts as text lines, so that the process that sends a message records the
 * event its builder computed instead of parsing the message again.
 *
 *   pec-facts 1
 *   type <name>            time <epoch>           then optional fields by name:
 *   identificativo, message_id, queue_id, sender, subject, gestore, receipt_type, errore, errore_esteso, virus
 *   rcpt <kind> <cc> <address>
 *   up <state> <epoch> <identificativo> <address> <errore_code|-> <errore_text|->
 * Values are percent-encoded (bytes up to space, '%', '-' alone and 0x7f up), so every value is one word.
 * A line this reader does not know is skipped, so an older reader takes a newer writer's record.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pec/log.h"
#include "pec/text.h"
#include "pec/trace_facts.h"

#define MAGIC "pec-facts 1\n"

/* The optional text fields of an event, by name. */
static const struct {
    const char *name;
    size_t off;
} fields[] = {
    { "identificativo", offsetof(struct pec_trace_event, identificativo) },
    { "message_id", offsetof(struct pec_trace_event, message_id) },
    { "queue_id", offsetof(struct pec_trace_event, queue_id) },
    { "sender", offsetof(struct pec_trace_event, sender) },
    { "subject", offsetof(struct pec_trace_event, subject) },
    { "gestore", offsetof(struct pec_trace_event, gestore) },
    { "receipt_type", offsetof(struct pec_trace_event, receipt_type) },
    { "errore", offsetof(struct pec_trace_event, errore) },
    { "errore_esteso", offsetof(struct pec_trace_event, errore_esteso) },
    { "virus", offsetof(struct pec_trace_event, virus) },
};

#define FIELD(ev, i) (*(const char **)((char *)(ev) + fields[i].off))

/* put - one value as a word; NULL as "-" */
static void put(struct pec_buf *out, const char *v)
{
    pec_buf_puts(out, " ");
    if (v == NULL) {
        pec_buf_puts(out, "-");
        return;
    }
    if (*v == '\0' || strcmp(v, "-") == 0) { /* a word cannot be empty, and "-" alone is NULL */
        pec_buf_puts(out, *v ? "%2D" : "%00");
        return;
    }
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if (*p <= ' ' || *p == '%' || *p >= 0x7f)
            pec_buf_printf(out, "%%%02X", *p);
        else
            pec_buf_append(out, p, 1);
    }
}

/* field - "name value" when the value is present */
static void field(struct pec_buf *out, const char *name, const char *v)
{
    if (v == NULL)
        return;
    pec_buf_puts(out, name);
    put(out, v);
    pec_buf_puts(out, "\n");
}

/* pec_trace_facts_encode - see trace_facts.h */
void pec_trace_facts_encode(const struct pec_trace_event *ev, const struct pec_trace_update *up, size_t n_up,
                            struct pec_buf *out)
{
    pec_buf_puts(out, MAGIC);
    pec_buf_printf(out, "type %s\ntime %lld\n", pec_trace_type_name(ev->type), (long long)ev->time);
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        field(out, fields[i].name, FIELD(ev, i));
    for (size_t i = 0; i < ev->n_rcpts; i++) {
        pec_buf_printf(out, "rcpt %d %d", (int)ev->rcpts[i].kind, ev->rcpts[i].cc ? 1 : 0);
        put(out, ev->rcpts[i].address);
        pec_buf_puts(out, "\n");
    }
    for (size_t i = 0; i < n_up; i++) {
        pec_buf_printf(out, "up %d %lld", (int)up[i].state, (long long)up[i].time);
        put(out, up[i].identificativo);
        put(out, up[i].address);
        put(out, up[i].errore_code);
        put(out, up[i].errore_text);
        pec_buf_puts(out, "\n");
    }
}

/* word - decode the next word of *line into an owned string (NULL for "-"); -1 when malformed */
static int word(char **line, struct pec_strv *strings, const char **v)
{
    char *p = *line, *end, *s, *o;

    if (*p != ' ')
        return -1;
    p++;
    end = p + strcspn(p, " ");
    *line = end;
    if (end == p)
        return -1;
    if (end - p == 1 && *p == '-') {
        *v = NULL;
        return 0;
    }
    if ((s = o = malloc((size_t)(end - p) + 1)) == NULL)
        pec_panic("out of memory");
    for (; p < end; p++) {
        if (*p == '%') {
            unsigned char byte;
            if (p + 2 >= end || pec_unhex(p + 1, &byte, 1) < 0) {
                free(s);
                return -1;
            }
            if (byte) /* %00 is the empty word */
                *o++ = (char)byte;
            p += 2;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
    pec_strv_push(strings, s); /* the copy in strings is the one lent */
    free(s);
    *v = strings->v[strings->n - 1];
    return 0;
}

/* number - the next word as a number */
static int number(char **line, long long *n)
{
    char *p = *line, *end;

    if (*p != ' ')
        return -1;
    *n = strtoll(p + 1, &end, 10);
    if (end == p + 1)
        return -1;
    *line = end;
    return 0;
}

/* decode_line - one line into c; -1 when malformed */
static int decode_line(char *line, struct pec_trace_facts_copy *c)
{
    char *rest = line + strcspn(line, " ");
    size_t nl = (size_t)(rest - line);
    long long a, b;
    const char *v;

    if (nl == 4 && strncmp(line, "type", 4) == 0) {
        if (*rest != ' ')
            return -1;
        c->ev.type = pec_trace_type_parse(rest + 1);
        return c->ev.type == PEC_TRACE_NONE ? -1 : 0;
    }
    if (nl == 4 && strncmp(line, "time", 4) == 0) {
        if (number(&rest, &a) < 0 || *rest)
            return -1;
        c->ev.time = (time_t)a;
        return 0;
    }
    if (nl == 4 && strncmp(line, "rcpt", 4) == 0) {
        struct pec_trace_rcpt *r;
        if (number(&rest, &a) < 0 || number(&rest, &b) < 0 || word(&rest, &c->strings, &v) < 0 || *rest || !v)
            return -1;
        if ((c->rcpts = realloc(c->rcpts, (c->ev.n_rcpts + 1) * sizeof(*c->rcpts))) == NULL)
            pec_panic("out of memory");
        r = &c->rcpts[c->ev.n_rcpts++];
        r->kind = (enum pec_trace_rcpt_kind)a;
        r->cc = (int)b;
        r->address = v;
        return 0;
    }
    if (nl == 2 && strncmp(line, "up", 2) == 0) {
        struct pec_trace_update *u;
        if ((c->up = realloc(c->up, (c->n_up + 1) * sizeof(*c->up))) == NULL)
            pec_panic("out of memory");
        u = &c->up[c->n_up];
        memset(u, 0, sizeof(*u));
        if (number(&rest, &a) < 0 || number(&rest, &b) < 0 || word(&rest, &c->strings, &u->identificativo) < 0 ||
            word(&rest, &c->strings, &u->address) < 0 || word(&rest, &c->strings, &u->errore_code) < 0 ||
            word(&rest, &c->strings, &u->errore_text) < 0 || *rest)
            return -1;
        u->state = (enum pec_trace_state)a;
        u->time = (time_t)b;
        c->n_up++;
        return 0;
    }
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        if (strlen(fields[i].name) == nl && strncmp(line, fields[i].name, nl) == 0) {
            if (word(&rest, &c->strings, &v) < 0 || *rest)
                return -1;
            FIELD(&c->ev, i) = v;
            return 0;
        }
    }
    return 0; /* a field a newer writer added: an older reader records what it knows */
}

/* pec_trace_facts_decode - see trace_facts.h */
int pec_trace_facts_decode(const void *data, size_t len, struct pec_trace_facts_copy *c, struct pec_error *err)
{
    char *text, *line, *next;
    int rc = 0;

    memset(c, 0, sizeof(*c));
    if (len < sizeof(MAGIC) - 1 || memcmp(data, MAGIC, sizeof(MAGIC) - 1) != 0 || memchr(data, '\0', len)) {
        pec_error_set(err, PEC_ERR_INVALID, "trace facts: not a facts record");
        return -1;
    }
    if ((text = malloc(len + 1)) == NULL)
        pec_panic("out of memory");
    memcpy(text, data, len);
    text[len] = '\0';
    for (line = text + sizeof(MAGIC) - 1; rc == 0 && *line; line = next) {
        if ((next = strchr(line, '\n')) == NULL) {
            rc = -1;
            break;
        }
        *next++ = '\0';
        rc = decode_line(line, c);
    }
    free(text);
    if (rc == 0 && c->ev.type == PEC_TRACE_NONE)
        rc = -1;
    c->ev.rcpts = c->rcpts;
    if (rc < 0) {
        pec_trace_facts_copy_clear(c);
        pec_error_set(err, PEC_ERR_INVALID, "trace facts: malformed record");
    }
    return rc;
}

/* pec_trace_facts_copy_clear - free and zero */
void pec_trace_facts_copy_clear(struct pec_trace_facts_copy *c)
{
    free(c->up);
    free(c->rcpts);
    pec_strv_clear(&c->strings);
    memset(c, 0, sizeof(*c));
}
