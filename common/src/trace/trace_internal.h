/* trace_internal.h - what the trace*.c files share: the store, its connections, statements, hashing.
 * The only header of the core that includes libpq. */
#ifndef PEC_TRACE_INTERNAL_H
#define PEC_TRACE_INTERNAL_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdint.h>
#include "pec/buf.h"
#include "pec/trace.h"

#define TRACE_MAX_STMTS 64
#define TRACE_MAX_MONTHS 32
#define TRACE_HASH_LEN 32
/* chains of one node: node * 100 + 0 .. TRACE_CHAINS_PER_NODE - 1 (see trace_chain.c) */
#define TRACE_CHAINS_PER_NODE 16

/* one pooled connection and the statements already prepared on it */
struct trace_conn {
    PGconn *pg;
    unsigned generation;
    int broken;          /* the connection failed: close it instead of pooling it */
    char sqlstate[6];    /* of the last failed statement, "" when none */
    const char *prepared[TRACE_MAX_STMTS]; /* SQL texts (by address) prepared as "s<i>" */
    size_t n_prepared;
    struct trace_conn *next;
};

struct pec_trace {
    char **keywords, **values; /* libpq connection parameters, NULL-terminated */
    struct pec_trace_settings set;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct trace_conn *idle;
    unsigned n_open;
    unsigned generation;       /* bumped on a broken connection: pooled older ones are dropped */
    int months[TRACE_MAX_MONTHS]; /* event partitions known to exist (year * 12 + month - 1) */
    size_t n_months;
    int heads_ready;              /* this node's chain heads exist */
};

/* ---- trace_conn.c: pool, statements, errors ---- */

/* statement parameters: each is text, binary bytes or SQL NULL; numbers are formatted in place */
#define TRACE_MAX_PARAMS 24
struct trace_params {
    int n;
    const char *v[TRACE_MAX_PARAMS];
    int len[TRACE_MAX_PARAMS];
    int fmt[TRACE_MAX_PARAMS];
    char num[TRACE_MAX_PARAMS][24];
    struct pec_buf bin[6]; /* storage of binary arrays */
    int n_bin;
};

void tp_init(struct trace_params *p);
/* tp_text - a text parameter (NULL: SQL NULL) */
void tp_text(struct trace_params *p, const char *s);
/* tp_int - an integer parameter */
void tp_int(struct trace_params *p, long long v);
/* tp_bytes - a binary (bytea) parameter; NULL: SQL NULL */
void tp_bytes(struct trace_params *p, const void *data, size_t len);
/* tp_text_array - a binary text[] parameter */
void tp_text_array(struct trace_params *p, const char *const *items, size_t n);
/* tp_release - free what the parameters own */
void tp_release(struct trace_params *p);

int trace_conn_acquire(struct pec_trace *t, struct trace_conn **cp, struct pec_error *err);
void trace_conn_release(struct pec_trace *t, struct trace_conn **cp);

/* trace_exec - run a static statement (prepared on first use on this connection); the result (tuples
 * or command ok) or NULL with err classified (connection trouble, timeouts, deadlocks: TEMPORARY) */
PGresult *trace_exec(struct trace_conn *c, const char *sql, const struct trace_params *p, int binary_result,
                     struct pec_error *err);
/* trace_exec_simple - a fixed command without parameters (BEGIN, COMMIT, a migration script) */
int trace_exec_simple(struct trace_conn *c, const char *sql, struct pec_error *err);

/* ---- trace_tx.c: transactions with retry ---- */

/* the body of a transaction: -1 with err, or a result >= 0 */
typedef int (*trace_tx_body)(struct trace_conn *c, void *arg, struct pec_error *err);

/* trace_run - BEGIN, body, COMMIT on one pooled connection.  Before BEGIN, makes sure the event
 * partitions of the events about to be appended exist.  Retried (a few times) when it could not have
 * committed and the cause is transient: a dead pooled connection, a deadlock, a partition dropped
 * under us. */
int trace_run(struct pec_trace *t, const struct pec_trace_event *ev, size_t n_ev, trace_tx_body body, void *arg,
              struct pec_error *err);
/* trace_forget_partitions - the partition cache is stale (after a purge) */
void trace_forget_partitions(struct pec_trace *t);

/* ---- trace_chain.c: appending events ---- */

/* trace_check_event - reject what the log cannot hold verbatim (PEC_ERR_INVALID) */
int trace_check_event(const struct pec_trace_event *ev, struct pec_error *err);
/* trace_check_text - valid UTF-8 without control characters (other than TAB); NULL is fine */
int trace_check_text(const char *what, const char *s, struct pec_error *err);
/* trace_chains_init - create this node's chain heads if needed (outside a transaction) */
int trace_chains_init(struct pec_trace *t, struct trace_conn *c, struct pec_error *err);
/* trace_append_events - append events to one of this node's chains, inside the caller's transaction */
int trace_append_events(struct pec_trace *t, struct trace_conn *c, const struct pec_trace_event *ev, size_t n,
                        struct pec_error *err);

/* ---- trace_canon.c: the hashed form of a row ---- */

/* a logged row as stored: every field as the database gives it back */
struct trace_flat {
    unsigned chain;
    long long seq;
    long long time_us; /* event time, microseconds since the Unix epoch */
    unsigned node;
    const char *type;
    const char *identificativo, *message_id, *queue_id, *sender;
    size_t n_rcpts;
    const char *const *rcpts;
    const char *const *rcpt_types;
    const char *subject;
    size_t subject_len;
    const char *gestore, *receipt_type, *errore;
    const char *errore_esteso;
    size_t errore_esteso_len;
    const char *virus;
};

/* trace_row_hash - SHA-256(prev || canonical serialisation of row) */
void trace_row_hash(const unsigned char prev[TRACE_HASH_LEN], const struct trace_flat *row,
                    unsigned char out[TRACE_HASH_LEN]);

/* ---- trace_pgbin.c: reading binary results ---- */

long long trace_get_int(const PGresult *r, int row, int col);        /* int4 / int8 */
long long trace_get_time_us(const PGresult *r, int row, int col);    /* timestamptz → µs since 1970 */
time_t trace_get_time(const PGresult *r, int row, int col);          /* timestamptz → seconds; 0 NULL */
int trace_get_bool(const PGresult *r, int row, int col);
/* trace_get_str - text or bytea as a C string (NULL for SQL NULL); valid while r lives */
const char *trace_get_str(const PGresult *r, int row, int col);
/* trace_get_text_array - a binary text[] as strings, in one malloc'ed block (free() it; the strings
 * live in it); NULL when the value is not a one-dimensional array without NULLs */
const char **trace_get_text_array(const PGresult *r, int row, int col, size_t *n_r);

/* ---- trace_sql.c (generated from sql/): the migrations, in version order ---- */

struct trace_migration {
    int version;
    const char *name;
    const char *sql;
    size_t len;
};

extern const struct trace_migration trace_migrations[];
extern const size_t trace_n_migrations;

/* ---- memory ---- */
void *trace_xmalloc(size_t n);
void *trace_xcalloc(size_t n, size_t size);
char *trace_xstrdup(const char *s); /* NULL stays NULL */

#endif
