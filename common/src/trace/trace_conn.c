/* trace_conn.c - the store: a pool of libpq connections, statement execution, error classes.
 *
 * Connections are opened on demand, up to max_connections, and pooled; one that failed is closed and
 * the pool generation bumped, so every pooled connection of the same age (likely dead too after a
 * server restart) is dropped instead of being handed out.  Timeouts are set on every connection so no
 * call blocks long: connect_timeout, statement_timeout (covers lock waits), TCP keepalives.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "pec/log.h"
#include "trace_internal.h"

/* trace_xmalloc - malloc that never returns NULL */
void *trace_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (p == NULL)
        pec_panic("out of memory (%zu bytes)", n);
    return p;
}

/* trace_xcalloc - zeroed allocation that never returns NULL */
void *trace_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);

    if (p == NULL)
        pec_panic("out of memory");
    return p;
}

/* trace_xstrdup - strdup that never returns NULL (NULL stays NULL) */
char *trace_xstrdup(const char *s)
{
    size_t n;

    if (s == NULL)
        return NULL;
    n = strlen(s) + 1;
    return memcpy(trace_xmalloc(n), s, n);
}

/* ---- parameters ---- */

/* tp_init - no parameters yet */
void tp_init(struct trace_params *p)
{
    memset(p, 0, sizeof(*p));
}

/* tp_slot - the next parameter slot */
static int tp_slot(struct trace_params *p)
{
    if (p->n >= TRACE_MAX_PARAMS)
        pec_panic("trace: too many statement parameters");
    return p->n++;
}

/* tp_text - a text parameter (NULL: SQL NULL) */
void tp_text(struct trace_params *p, const char *s)
{
    int i = tp_slot(p);

    p->v[i] = s;
    p->len[i] = 0;
    p->fmt[i] = 0;
}

/* tp_int - an integer parameter, formatted as text */
void tp_int(struct trace_params *p, long long v)
{
    int i = tp_slot(p);

    snprintf(p->num[i], sizeof(p->num[i]), "%lld", v);
    p->v[i] = p->num[i];
    p->fmt[i] = 0;
}

/* tp_bytes - a binary parameter (bytea); NULL: SQL NULL */
void tp_bytes(struct trace_params *p, const void *data, size_t len)
{
    int i = tp_slot(p);

    if (len > 0x7fffffff)
        pec_panic("trace: parameter too large");
    p->v[i] = data;
    p->len[i] = (int)len;
    p->fmt[i] = 1;
}

/* put_be32 - append a 32-bit big-endian integer */
static void put_be32(struct pec_buf *b, uint32_t v)
{
    unsigned char q[4] = { (unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8),
                           (unsigned char)v };

    pec_buf_append(b, q, 4);
}

/* tp_text_array - a text[] in the binary array format, so no quoting of the items is ever needed */
void tp_text_array(struct trace_params *p, const char *const *items, size_t n)
{
    struct pec_buf *b;
    size_t i;

    if (p->n_bin >= (int)(sizeof(p->bin) / sizeof(p->bin[0])))
        pec_panic("trace: too many array parameters");
    b = &p->bin[p->n_bin++];
    *b = (struct pec_buf)PEC_BUF_INIT;
    put_be32(b, n > 0 ? 1 : 0); /* dimensions: an empty array has none */
    put_be32(b, 0);             /* no NULL items */
    put_be32(b, 25);            /* element type: text */
    if (n > 0) {
        put_be32(b, (uint32_t)n);
        put_be32(b, 1); /* lower bound */
    }
    for (i = 0; i < n; i++) {
        size_t len = strlen(items[i]);

        put_be32(b, (uint32_t)len);
        pec_buf_append(b, items[i], len);
    }
    tp_bytes(p, b->data, b->len);
}

/* tp_release - free the binary arrays */
void tp_release(struct trace_params *p)
{
    int i;

    for (i = 0; i < p->n_bin; i++)
        pec_buf_release(&p->bin[i]);
    p->n_bin = 0;
}

/* ---- opening ---- */

/* add_param - append keyword=value to growing NULL-terminated arrays */
static void add_param(struct pec_trace *t, size_t *n, const char *kw, const char *val)
{
    t->keywords = realloc(t->keywords, (*n + 2) * sizeof(char *));
    t->values = realloc(t->values, (*n + 2) * sizeof(char *));
    if (t->keywords == NULL || t->values == NULL)
        pec_panic("out of memory");
    t->keywords[*n] = trace_xstrdup(kw);
    t->values[*n] = trace_xstrdup(val);
    (*n)++;
    t->keywords[*n] = NULL;
    t->values[*n] = NULL;
}

/* build_params - the caller's conninfo plus our timeouts and session settings; the caller's own
 * connect_timeout and keepalive settings win, our session options are appended to theirs */
static int build_params(struct pec_trace *t, const char *conninfo, struct pec_error *err)
{
    PQconninfoOption *opts, *o;
    char *msg = NULL, buf[512];
    const char *user_options = NULL;
    int have_ct = 0, have_ka = 0, have_ut = 0;
    size_t n = 0;

    opts = PQconninfoParse(conninfo, &msg);
    if (opts == NULL) {
        pec_error_set(err, PEC_ERR_INVALID, "trace store: bad database connection string: %s",
                      msg ? msg : "out of memory");
        PQfreemem(msg);
        return -1;
    }
    for (o = opts; o->keyword != NULL; o++) {
        if (o->val == NULL || o->val[0] == '\0')
            continue;
        if (strcmp(o->keyword, "options") == 0) {
            user_options = o->val;
            continue;
        }
        have_ct |= strcmp(o->keyword, "connect_timeout") == 0;
        have_ka |= strncmp(o->keyword, "keepalives", 10) == 0;
        have_ut |= strcmp(o->keyword, "tcp_user_timeout") == 0;
        add_param(t, &n, o->keyword, o->val);
    }
    if (!have_ct) {
        snprintf(buf, sizeof(buf), "%u", t->set.connect_timeout);
        add_param(t, &n, "connect_timeout", buf);
    }
    if (!have_ka) {
        add_param(t, &n, "keepalives_idle", "5");
        add_param(t, &n, "keepalives_interval", "2");
        add_param(t, &n, "keepalives_count", "3");
    }
    if (!have_ut)
        add_param(t, &n, "tcp_user_timeout", "10000");
    add_param(t, &n, "fallback_application_name", "pec");
    add_param(t, &n, "client_encoding", "UTF8");
    /* the legal record is durable at commit; no statement may hang a caller; UTC for month math */
    snprintf(buf, sizeof(buf),
             "%s%s-c synchronous_commit=on -c statement_timeout=%u -c idle_in_transaction_session_timeout=%u"
             " -c TimeZone=UTC",
             user_options ? user_options : "", user_options ? " " : "", t->set.statement_timeout,
             t->set.statement_timeout * 4 + 10000);
    add_param(t, &n, "options", buf);
    PQconninfoFree(opts);
    return 0;
}

/* pec_trace_open - a store for a conninfo; no connection is made yet */
struct pec_trace *pec_trace_open(const char *conninfo, const struct pec_trace_settings *settings,
                                 struct pec_error *err)
{
    struct pec_trace *t;

    if (!PQisthreadsafe())
        pec_fatal("libpq was built without thread safety");
    if (settings != NULL && settings->node > 9999) {
        pec_error_set(err, PEC_ERR_INVALID, "trace store: node %u out of range 0..9999", settings->node);
        return NULL;
    }
    t = trace_xcalloc(1, sizeof(*t));
    if (settings != NULL)
        t->set = *settings;
    if (t->set.max_connections == 0)
        t->set.max_connections = 8;
    if (t->set.connect_timeout == 0)
        t->set.connect_timeout = 3;
    if (t->set.connect_timeout < 2) /* libpq treats 1 as 2 */
        t->set.connect_timeout = 2;
    if (t->set.statement_timeout == 0)
        t->set.statement_timeout = 5000;
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv, NULL);
    if (build_params(t, conninfo ? conninfo : "", err) < 0) {
        pec_trace_free(&t);
        return NULL;
    }
    return t;
}

/* conn_close - disconnect and free one connection */
static void conn_close(struct trace_conn *c)
{
    if (c->pg != NULL)
        PQfinish(c->pg);
    free(c);
}

/* pec_trace_free - close every pooled connection and free the store */
void pec_trace_free(struct pec_trace **tp)
{
    struct pec_trace *t;
    size_t i;

    if (tp == NULL || *tp == NULL)
        return;
    t = *tp;
    while (t->idle != NULL) {
        struct trace_conn *c = t->idle;

        t->idle = c->next;
        t->n_open--;
        conn_close(c);
    }
    if (t->n_open > 0)
        pec_warn("trace store freed with %u connection(s) still in use", t->n_open);
    for (i = 0; t->keywords != NULL && t->keywords[i] != NULL; i++) {
        free(t->keywords[i]);
        free(t->values[i]);
    }
    free(t->keywords);
    free(t->values);
    pthread_mutex_destroy(&t->mu);
    pthread_cond_destroy(&t->cv);
    free(t);
    *tp = NULL;
}

/* pec_trace_node - the node the store writes as */
unsigned pec_trace_node(const struct pec_trace *t)
{
    return t->set.node;
}

/* ---- pool ---- */

/* one_line - libpq messages span lines ("...failed: X\n\tIs the server running..."): join them */
static void one_line(char *msg)
{
    size_t n;
    char *p;

    for (p = msg; *p; p++)
        if (*p == '\n' || *p == '\t')
            *p = ' ';
    n = strlen(msg);
    while (n > 0 && msg[n - 1] == ' ')
        msg[--n] = '\0';
    for (p = msg; (p = strstr(p, "  ")) != NULL;)
        memmove(p, p + 1, strlen(p));
}

/* notice_sink - keep server notices (migrations' RAISE NOTICE) out of stderr: log them */
static void notice_sink(void *arg, const char *message)
{
    size_t n = strlen(message);

    pec_info("trace store: %.*s", (int)(n > 0 && message[n - 1] == '\n' ? n - 1 : n), message);
}

/* conn_open - a new connection; TEMPORARY when the server cannot be reached */
static struct trace_conn *conn_open(struct pec_trace *t, unsigned generation, struct pec_error *err)
{
    struct trace_conn *c = trace_xcalloc(1, sizeof(*c));

    c->pg = PQconnectdbParams((const char *const *)t->keywords, (const char *const *)t->values, 0);
    if (c->pg == NULL)
        pec_panic("out of memory (libpq connection)");
    if (PQstatus(c->pg) != CONNECTION_OK) {
        char msg[400];

        snprintf(msg, sizeof(msg), "%s", PQerrorMessage(c->pg));
        one_line(msg);
        pec_error_set(err, PEC_ERR_TEMPORARY, "trace store: cannot connect to the database: %s", msg);
        conn_close(c);
        return NULL;
    }
    PQsetNoticeProcessor(c->pg, notice_sink, NULL);
    c->generation = generation;
    return c;
}

/* wait_deadline - how long a caller may wait for a busy pool */
static void wait_deadline(const struct pec_trace *t, struct timespec *ts)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += t->set.connect_timeout + t->set.statement_timeout / 1000 + 2;
}

/* trace_conn_acquire - a pooled connection, or a new one when the pool is not full */
int trace_conn_acquire(struct pec_trace *t, struct trace_conn **cp, struct pec_error *err)
{
    struct timespec deadline;
    unsigned generation;
    int waited = 0;

    pthread_mutex_lock(&t->mu);
    for (;;) {
        while (t->idle != NULL) {
            struct trace_conn *c = t->idle;

            t->idle = c->next;
            if (c->generation == t->generation) {
                pthread_mutex_unlock(&t->mu);
                c->next = NULL;
                c->sqlstate[0] = '\0';
                *cp = c;
                return 0;
            }
            t->n_open--;
            conn_close(c); /* older than the last failure: probably dead as well */
        }
        if (t->n_open < t->set.max_connections)
            break;
        if (!waited) {
            wait_deadline(t, &deadline);
            waited = 1;
        }
        if (pthread_cond_timedwait(&t->cv, &t->mu, &deadline) == ETIMEDOUT && t->idle == NULL &&
            t->n_open >= t->set.max_connections) {
            pthread_mutex_unlock(&t->mu);
            pec_error_set(err, PEC_ERR_TEMPORARY, "trace store: all %u database connections are busy",
                          t->set.max_connections);
            return -1;
        }
    }
    t->n_open++;
    generation = t->generation;
    pthread_mutex_unlock(&t->mu);

    *cp = conn_open(t, generation, err);
    if (*cp != NULL)
        return 0;
    pthread_mutex_lock(&t->mu);
    t->n_open--;
    pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->mu);
    return -1;
}

/* trace_conn_release - pool a healthy idle connection, close any other */
void trace_conn_release(struct pec_trace *t, struct trace_conn **cp)
{
    struct trace_conn *c = *cp;
    int keep;

    if (c == NULL)
        return;
    *cp = NULL;
    keep = !c->broken && PQstatus(c->pg) == CONNECTION_OK && PQtransactionStatus(c->pg) == PQTRANS_IDLE;
    pthread_mutex_lock(&t->mu);
    if (!keep && c->broken && c->generation == t->generation)
        t->generation++;
    if (keep && c->generation == t->generation) {
        c->next = t->idle;
        t->idle = c;
    } else {
        t->n_open--;
        conn_close(c);
    }
    pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->mu);
}

/* ---- statements ---- */

/* classify - the error class of a failed statement; marks the connection broken when it is */
static enum pec_error_class classify(struct trace_conn *c, const PGresult *res)
{
    const char *st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

    snprintf(c->sqlstate, sizeof(c->sqlstate), "%s", st ? st : "");
    if (PQstatus(c->pg) != CONNECTION_OK || st == NULL) {
        c->broken = 1;
        return PEC_ERR_TEMPORARY;
    }
    if (strncmp(st, "08", 2) == 0 || strncmp(st, "57P", 3) == 0 || strcmp(st, "25P03") == 0) {
        c->broken = 1; /* connection exception, admin/crash shutdown, idle timeout */
        return PEC_ERR_TEMPORARY;
    }
    if (strcmp(st, "57014") == 0 || strcmp(st, "55P03") == 0 || strcmp(st, "40001") == 0 ||
        strcmp(st, "40P01") == 0 || strncmp(st, "53", 2) == 0)
        return PEC_ERR_TEMPORARY; /* timeout, lock, serialisation, deadlock, resources */
    if (strncmp(st, "22", 2) == 0)
        return PEC_ERR_INVALID; /* data exception: the input */
    if (strcmp(st, "23505") == 0)
        return PEC_ERR_PERMANENT; /* already recorded */
    return PEC_ERR_INTERNAL;
}

/* fail - set err from a failed result (NULL: no result at all) */
static void fail(struct trace_conn *c, const PGresult *res, const char *what, struct pec_error *err)
{
    enum pec_error_class cls = classify(c, res);
    const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    char text[400];

    snprintf(text, sizeof(text), "%s", msg ? msg : PQerrorMessage(c->pg));
    one_line(text);
    if (strcmp(c->sqlstate, "42P01") == 0 || strcmp(c->sqlstate, "42883") == 0)
        pec_error_set(err, cls, "trace store: %s: %s (is the schema installed? run pecctl db migrate)", what,
                      text);
    else
        pec_error_set(err, cls, "trace store: %s: %s%s%s%s", what, text[0] ? text : "no answer",
                      c->sqlstate[0] ? " [" : "", c->sqlstate, c->sqlstate[0] ? "]" : "");
}

/* first_words - the start of a statement, to name it in messages */
static void first_words(const char *sql, char *out, size_t outlen)
{
    size_t i = 0;

    while (*sql == ' ' || *sql == '\n')
        sql++;
    for (; sql[i] && sql[i] != '(' && sql[i] != '\n' && i + 1 < outlen && i < 40; i++)
        out[i] = sql[i];
    while (i > 0 && out[i - 1] == ' ')
        i--;
    out[i] = '\0';
}

/* prepared_name - the name of sql on this connection, preparing it first when needed */
static int prepared_name(struct trace_conn *c, const char *sql, int nparams, char name[16], struct pec_error *err)
{
    PGresult *res;
    size_t i;

    for (i = 0; i < c->n_prepared; i++)
        if (c->prepared[i] == sql)
            break;
    snprintf(name, 16, "s%zu", i);
    if (i < c->n_prepared)
        return 0;
    if (c->n_prepared >= TRACE_MAX_STMTS)
        pec_panic("trace: more than %d distinct statements", TRACE_MAX_STMTS);
    res = PQprepare(c->pg, name, sql, nparams, NULL);
    if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
        char what[64];

        first_words(sql, what, sizeof(what));
        fail(c, res, what, err);
        PQclear(res);
        return -1;
    }
    PQclear(res);
    c->prepared[c->n_prepared++] = sql;
    return 0;
}

/* trace_exec - run a static statement with parameters */
PGresult *trace_exec(struct trace_conn *c, const char *sql, const struct trace_params *p, int binary_result,
                     struct pec_error *err)
{
    static const struct trace_params none;
    PGresult *res;
    char name[16];

    if (p == NULL)
        p = &none;
    c->sqlstate[0] = '\0';
    if (prepared_name(c, sql, p->n, name, err) < 0)
        return NULL;
    res = PQexecPrepared(c->pg, name, p->n, p->v, p->len, p->fmt, binary_result);
    if (res == NULL || (PQresultStatus(res) != PGRES_TUPLES_OK && PQresultStatus(res) != PGRES_COMMAND_OK)) {
        char what[64];

        first_words(sql, what, sizeof(what));
        fail(c, res, what, err);
        PQclear(res);
        return NULL;
    }
    return res;
}

/* trace_exec_simple - a fixed command without parameters, possibly several statements */
int trace_exec_simple(struct trace_conn *c, const char *sql, struct pec_error *err)
{
    PGresult *res;

    c->sqlstate[0] = '\0';
    res = PQexec(c->pg, sql);
    if (res == NULL || (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)) {
        char what[64];

        first_words(sql, what, sizeof(what));
        fail(c, res, what, err);
        PQclear(res);
        return -1;
    }
    PQclear(res);
    return 0;
}

/* pec_trace_ping - check that the database answers: one statement, no transaction (one round trip,
 * not three: the delivery point pings before every delivery); a pooled connection found dead is
 * replaced once */
int pec_trace_ping(struct pec_trace *t, struct pec_error *err)
{
    for (int attempt = 1; attempt <= 2; attempt++) {
        struct trace_conn *c = NULL;
        PGresult *res;
        int ok, dead;

        if (trace_conn_acquire(t, &c, err) < 0)
            return -1;
        res = trace_exec(c, "SELECT 1", NULL, 0, err);
        ok = res != NULL;
        dead = !ok && c->broken;
        PQclear(res);
        trace_conn_release(t, &c);
        if (ok)
            return 0;
        if (!dead)
            break;
    }
    return -1;
}
