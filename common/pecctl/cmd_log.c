/* cmd_log.c - pecctl log: searching the trace and extracting the record of one message.
 *
 * search prints one event per line (a table, or JSON objects with --json); extract prints what a user
 * who lost the receipts needs: the message as accepted, each recipient's states, and every event
 * (receipts emitted or received) with its time in Italian legal time.  Stored bytes are shown as they
 * are, except control characters (escaped, so no field can forge a line) and, in JSON, bytes that are
 * not UTF-8 (shown as the Latin-1 character of the same value).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dbcmd.h"
#include "pec/clock.h"
#include "pec/text.h"
#include "pecctl.h"

/* log_usage - the log command summary */
static int log_usage(void)
{
    fputs("usage: pecctl log search [--id ID] [--msgid MSGID] [--sender ADDR] [--recipient ADDR]\n"
          "                         [--from TIME] [--to TIME] [--limit N] [--json] " DB_OPTS_USAGE "\n"
          "       pecctl log extract " DB_OPTS_USAGE " ID\n"
          "TIME: unix time, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS (UTC)\n",
          stderr);
    return PECCTL_USAGE;
}

/* put_json - a JSON string that is always valid UTF-8: the valid runs as they are (controls escaped),
 * each byte that is not UTF-8 as the Latin-1 character of its value */
static void put_json(struct pec_buf *o, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    if (s == NULL) {
        pec_buf_puts(o, "null");
        return;
    }
    pec_buf_puts(o, "\"");
    while (*p) {
        const char *bad = NULL;
        const unsigned char *stop = pec_text_utf8_valid((const char *)p, PEC_TEXT_ANY, &bad, NULL)
                                        ? NULL : (const unsigned char *)bad;

        for (; *p && p != stop; p++) {
            if (*p == '"' || *p == '\\')
                pec_buf_printf(o, "\\%c", *p);
            else if (*p < 0x20 || *p == 0x7f)
                pec_buf_printf(o, "\\u%04x", *p);
            else
                pec_buf_append(o, p, 1);
        }
        if (*p)
            pec_buf_printf(o, "\\u%04x", *p++);
    }
    pec_buf_puts(o, "\"");
}

/* put_text - a field for a terminal: control characters escaped */
static void put_text(struct pec_buf *o, const char *s)
{
    const unsigned char *p;

    if (s == NULL) {
        pec_buf_puts(o, "-");
        return;
    }
    for (p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            pec_buf_printf(o, "\\x%02x", *p);
        else if (*p == '\\')
            pec_buf_puts(o, "\\\\");
        else
            pec_buf_append(o, p, 1);
    }
}

/* put_time - Italian legal time, "23/11/2026 10:00:00 +0100" */
static void put_time(struct pec_buf *o, time_t t)
{
    struct pec_legal_time lt;

    pec_legal_time(t, &lt);
    pec_buf_printf(o, "%s %s %s", lt.giorno, lt.ora, lt.zona);
}

/* json_field - ,"key":value (value a JSON string or null) */
static void json_field(struct pec_buf *o, const char *key, const char *value)
{
    pec_buf_printf(o, ",\"%s\":", key);
    put_json(o, value);
}

/* row_json - one event as a JSON object */
static void row_json(struct pec_buf *o, const struct pec_trace_row *r)
{
    const struct pec_trace_event *e = &r->ev;
    size_t i;

    pec_buf_printf(o, "{\"chain\":%u,\"seq\":%lld,\"node\":%u,\"time\":%lld,\"data\":\"", r->chain, r->seq, r->node,
                   (long long)e->time);
    put_time(o, e->time);
    pec_buf_puts(o, "\"");
    json_field(o, "tipo", r->type_name);
    json_field(o, "identificativo", e->identificativo);
    json_field(o, "message_id", e->message_id);
    json_field(o, "queue_id", e->queue_id);
    json_field(o, "mittente", e->sender);
    pec_buf_puts(o, ",\"destinatari\":[");
    for (i = 0; i < e->n_rcpts; i++) {
        pec_buf_puts(o, i ? ",{\"indirizzo\":" : "{\"indirizzo\":");
        put_json(o, e->rcpts[i].address);
        json_field(o, "tipo", pec_trace_rcpt_kind_name(e->rcpts[i].kind));
        pec_buf_puts(o, "}");
    }
    pec_buf_puts(o, "]");
    json_field(o, "oggetto", e->subject);
    json_field(o, "gestore", e->gestore);
    json_field(o, "tipo_ricevuta", e->receipt_type);
    json_field(o, "errore", e->errore);
    json_field(o, "errore_esteso", e->errore_esteso);
    json_field(o, "virus", e->virus);
    pec_buf_puts(o, "}\n");
}

/* row_details - the optional fields of an event, "key=value" separated by spaces */
static void row_details(struct pec_buf *o, const struct pec_trace_event *e)
{
    static const char *const names[] = { "message-id", "queueid", "gestore", "tipo_ricevuta", "errore",
                                         "errore-esteso", "virus" };
    const char *vals[] = { e->message_id, e->queue_id, e->gestore, e->receipt_type, e->errore,
                           e->errore_esteso, e->virus };
    size_t i;

    for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        if (vals[i] == NULL)
            continue;
        pec_buf_printf(o, " %s=", names[i]);
        put_text(o, vals[i]);
    }
}

/* row_text - one event as a table line */
static void row_text(struct pec_buf *o, const struct pec_trace_row *r)
{
    const struct pec_trace_event *e = &r->ev;
    size_t i;

    put_time(o, e->time);
    pec_buf_puts(o, "  ");
    put_text(o, r->type_name);
    pec_buf_puts(o, "  ");
    put_text(o, e->identificativo);
    pec_buf_puts(o, "  mittente=");
    put_text(o, e->sender);
    pec_buf_puts(o, " destinatari=");
    for (i = 0; i < e->n_rcpts; i++) {
        pec_buf_puts(o, i ? "," : "");
        put_text(o, e->rcpts[i].address);
        if (e->rcpts[i].kind != PEC_RCPT_UNKNOWN)
            pec_buf_printf(o, "(%s)", pec_trace_rcpt_kind_name(e->rcpts[i].kind));
    }
    if (e->n_rcpts == 0)
        pec_buf_puts(o, "-");
    row_details(o, e);
    pec_buf_puts(o, " oggetto=");
    put_text(o, e->subject);
    pec_buf_puts(o, "\n");
}

struct print_ctx {
    int json;
    size_t n;
    int indent;
};

/* print_row - search callback */
static int print_row(const struct pec_trace_row *r, void *ctx)
{
    struct print_ctx *p = ctx;
    struct pec_buf o = PEC_BUF_INIT;

    if (p->indent)
        pec_buf_puts(&o, "  ");
    if (p->json)
        row_json(&o, r);
    else
        row_text(&o, r);
    fwrite(o.data, 1, o.len, stdout);
    pec_buf_release(&o);
    p->n++;
    return 0;
}

/* search - pecctl log search */
static int search(struct pec_trace *t, const struct pec_trace_query *q, int json)
{
    struct pec_error err = { PEC_ERR_NONE, "" };
    struct print_ctx p = { json, 0, 0 };

    if (pec_trace_search(t, q, print_row, &p, &err) < 0) {
        fprintf(stderr, "pecctl log search: %s\n", err.msg);
        return PECCTL_NOT_VALID;
    }
    if (!json)
        fprintf(stderr, "%zu events\n", p.n);
    return PECCTL_OK;
}

/* put_state - "label time; " when the state was reached */
static void put_state(struct pec_buf *o, const char *label, time_t t)
{
    if (t == 0)
        return;
    pec_buf_printf(o, "; %s ", label);
    put_time(o, t);
}

/* print_message - the submitted message and its recipients */
static void print_message(const struct pec_trace_message_info *m)
{
    struct pec_buf o = PEC_BUF_INIT;
    size_t i;

    pec_buf_puts(&o, "Identificativo:     ");
    put_text(&o, m->identificativo);
    pec_buf_puts(&o, "\nMessage-ID:         ");
    put_text(&o, m->client_msgid);
    pec_buf_puts(&o, "\nMittente:           ");
    put_text(&o, m->sender);
    pec_buf_puts(&o, "\nOggetto:            ");
    put_text(&o, m->subject);
    pec_buf_puts(&o, "\nAccettato:          ");
    put_time(&o, m->accepted_at);
    pec_buf_printf(&o, " (nodo %u, coda ", m->node);
    put_text(&o, m->queue_id);
    pec_buf_puts(&o, ")\nTipo di ricevuta:   ");
    put_text(&o, m->receipt_type);
    pec_buf_puts(&o, "\nDestinatari:\n");
    for (i = 0; i < m->n_rcpts; i++) {
        const struct pec_trace_rcpt_info *r = &m->rcpts[i];

        pec_buf_puts(&o, "  ");
        put_text(&o, r->address);
        pec_buf_printf(&o, " (%s, %s)", r->certified ? "certificato" : "esterno", r->cc ? "Cc" : "To");
        put_state(&o, "inoltrato", r->relayed);
        put_state(&o, "presa in carico", r->presa_in_carico);
        put_state(&o, "consegna", r->consegna);
        if (r->errore != 0) {
            put_state(&o, "errore", r->errore);
            pec_buf_puts(&o, " ");
            put_text(&o, r->errore_code);
            pec_buf_puts(&o, ": ");
            put_text(&o, r->errore_text);
        }
        put_state(&o, "preavviso 12h", r->notice12);
        put_state(&o, "preavviso 24h", r->notice24);
        if (r->certified && r->consegna == 0 && r->errore == 0)
            pec_buf_puts(&o, "; nessuna consegna registrata");
        pec_buf_puts(&o, "\n");
    }
    fwrite(o.data, 1, o.len, stdout);
    pec_buf_release(&o);
}

/* extract - pecctl log extract ID */
static int extract(struct pec_trace *t, const char *id)
{
    struct pec_error err = { PEC_ERR_NONE, "" };
    struct pec_trace_message_info *m = NULL;
    struct pec_trace_query q;
    struct print_ctx p = { 0, 0, 1 };
    int r;

    r = pec_trace_get_message(t, id, &m, &err);
    if (r < 0) {
        fprintf(stderr, "pecctl log extract: %s\n", err.msg);
        return PECCTL_NOT_VALID;
    }
    printf("Estratto del registro PEC (traccia dei log) per il messaggio %s\n\n", m ? m->identificativo : id);
    if (m != NULL)
        print_message(m);
    else
        printf("Il messaggio non e' stato accettato da questo gestore: seguono gli eventi registrati.\n");
    printf("\nEventi (ricevute e avvisi emessi o ricevuti):\n");
    memset(&q, 0, sizeof(q));
    q.identificativo = m ? m->identificativo : id;
    r = pec_trace_search(t, &q, print_row, &p, &err);
    pec_trace_message_info_free(&m);
    if (r < 0) {
        fprintf(stderr, "pecctl log extract: %s\n", err.msg);
        return PECCTL_NOT_VALID;
    }
    if (p.n == 0 && r == 0) {
        printf("  nessuno\n");
        fprintf(stderr, "pecctl log extract: no trace of %s\n", id);
        return PECCTL_NOT_VALID;
    }
    return PECCTL_OK;
}

/* cmd_log - search or extract */
int cmd_log(int argc, char **argv)
{
    struct pec_trace_query q;
    struct db_opts o;
    struct pec_trace *t;
    const char *id = NULL;
    int i, r, json = 0, status;

    if (argc < 2 || (strcmp(argv[1], "search") != 0 && strcmp(argv[1], "extract") != 0))
        return log_usage();
    memset(&q, 0, sizeof(q));
    db_opts_init(&o);
    for (i = 2; i < argc; i++) {
        const char *a = argv[i];
        int search_opt = strcmp(argv[1], "search") == 0;

        r = db_opt(&o, "log", argc, argv, &i);
        if (r < 0)
            goto usage;
        if (r > 0)
            continue;
        if (search_opt && strcmp(a, "--json") == 0) {
            json = 1;
        } else if (search_opt && a[0] == '-' && i + 1 < argc) {
            const char *v = argv[++i];
            char *end;

            if (strcmp(a, "--id") == 0)
                q.identificativo = v;
            else if (strcmp(a, "--msgid") == 0)
                q.msgid = v;
            else if (strcmp(a, "--sender") == 0)
                q.sender = v;
            else if (strcmp(a, "--recipient") == 0)
                q.recipient = v;
            else if (strcmp(a, "--from") == 0 && db_parse_time(v, &q.from) == 0)
                ;
            else if (strcmp(a, "--to") == 0 && db_parse_time(v, &q.to) == 0)
                ;
            else if (strcmp(a, "--limit") == 0 && (q.limit = strtoul(v, &end, 10), *end == '\0'))
                ;
            else {
                fprintf(stderr, "pecctl log: bad option %s %s\n", a, v);
                goto usage;
            }
        } else if (!search_opt && a[0] != '-' && id == NULL) {
            id = a;
        } else {
            fprintf(stderr, "pecctl log: unexpected argument %s\n", a);
            goto usage;
        }
    }
    if (strcmp(argv[1], "extract") == 0 && id == NULL)
        goto usage;
    t = db_open(&o, "log");
    if (t == NULL) {
        db_opts_clear(&o);
        return PECCTL_NOT_VALID;
    }
    status = strcmp(argv[1], "search") == 0 ? search(t, &q, json) : extract(t, id);
    pec_trace_free(&t);
    db_opts_clear(&o);
    return status;
usage:
    db_opts_clear(&o);
    return log_usage();
}
