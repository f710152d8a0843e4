/* trace.h - the trace store (registro): the provider's 30-month legal log, in PostgreSQL.
 *
 * What it keeps (schema in sql/, explained in sql/README.md): the messages submitted to our access
 * point and the state of each recipient (relayed, presa in carico, consegna, errore, 12 h / 24 h
 * notices), delivery claims of the delivery point, the event log PEC-RULES §9 asks for (append-only,
 * partitioned by month, every row hash-chained to the previous row of its chain, one chain per node),
 * signed checkpoints of the chain heads, virus quarantine references and the local copy of the
 * provider index.
 *
 * Every operation is one transaction with synchronous commit, made of parameterised statements only.
 * A store is a small pool of connections guarded by a mutex: one store per process, shared by all
 * threads (the milter) or used by one thread (Dovecot).  Connections are opened lazily and replaced
 * after a failure, so when the database is down calls fail with PEC_ERR_TEMPORARY within the connect
 * or statement timeout, and work again once it is back, without reopening.  Do not share a store
 * across fork(): open it in the child.
 *
 * Text fields must be valid UTF-8 without control characters other than TAB (PEC_ERR_INVALID
 * otherwise); subject, errore_esteso and errore text are kept as verbatim bytes, whatever they hold.
 */
#ifndef PEC_TRACE_H
#define PEC_TRACE_H

#include <stddef.h>
#include <time.h>
#include "pec/clock.h"
#include "pec/error.h"
#include "pec/index.h"
#include "pec/smime.h"

struct pec_trace;

struct pec_trace_settings {
    unsigned node;              /* this node: its chain and the node column [0] */
    unsigned max_connections;   /* pool size [8] */
    unsigned connect_timeout;   /* seconds, at least 2 [3] */
    unsigned statement_timeout; /* milliseconds [5000] */
};

/* pec_trace_open - a store for a libpq conninfo ("host=... dbname=..." or a URI); settings may be NULL.
 * Nothing is connected yet: a database that is down makes the first call fail, not the open. */
struct pec_trace *pec_trace_open(const char *conninfo, const struct pec_trace_settings *settings,
                                 struct pec_error *err);
/* pec_trace_free - close every connection and free the store; NULL-safe, NULLs the pointer */
void pec_trace_free(struct pec_trace **t);
/* pec_trace_node - the node the store writes as */
unsigned pec_trace_node(const struct pec_trace *t);
/* pec_trace_ping - check that the database answers */
int pec_trace_ping(struct pec_trace *t, struct pec_error *err);

/* progress and findings of the long operations (migrate, verify, checkpoint, purge), one line each */
typedef void (*pec_trace_report_fn)(const char *line, void *ctx);

/* pec_trace_migrate - apply the pending migrations (embedded sql/NNN_*.sql) in order, each in its own
 * transaction; concurrent runs are serialised.  Returns how many were applied (0: up to date). */
int pec_trace_migrate(struct pec_trace *t, pec_trace_report_fn report, void *ctx, struct pec_error *err);
/* pec_trace_schema_version - the newest applied migration, 0 when none; -1 on error */
int pec_trace_schema_version(struct pec_trace *t, struct pec_error *err);
/* pec_trace_latest_version - the newest migration built into this program */
int pec_trace_latest_version(void);

/* ---- events ---- */

enum pec_trace_type {
    PEC_TRACE_NONE = 0,
    PEC_TRACE_ACCETTAZIONE,           /* ricevuta di accettazione emitted */
    PEC_TRACE_NON_ACCETTAZIONE,       /* avviso di non accettazione emitted */
    PEC_TRACE_NON_ACCETTAZIONE_VIRUS, /* ... for a virus */
    PEC_TRACE_BUSTA_TRASPORTO,        /* busta di trasporto emitted (or relayed: queue_id) */
    PEC_TRACE_PRESA_IN_CARICO,        /* presa in carico emitted, or received from gestore */
    PEC_TRACE_AVVENUTA_CONSEGNA,      /* avvenuta consegna emitted, or received */
    PEC_TRACE_ERRORE_CONSEGNA,        /* avviso di mancata consegna emitted, or received */
    PEC_TRACE_ERRORE_CONSEGNA_VIRUS,
    PEC_TRACE_PREAVVISO_12H,          /* timeout notices emitted */
    PEC_TRACE_PREAVVISO_24H,
    PEC_TRACE_RILEVAZIONE_VIRUS,
    PEC_TRACE_BUSTA_ANOMALIA,
    PEC_TRACE_RICEZIONE,              /* a busta di trasporto received by our reception point */
    PEC_TRACE_CONSEGNA,               /* a message stored in a mailbox (no receipt of its own) */
    PEC_TRACE_NOTIFICA,               /* a receipt received and delivered to its user */
    PEC_TRACE_RICEVUTA_RIFIUTATA,     /* a receipt or notice we built that the MTA refused for good (5xx):
                                       * not sent; errore_esteso holds the reply */
    PEC_TRACE_ARCHIVIO_MANCATO,       /* a message delivered but not copied into the box's Archivio di
                                       * sicurezza (full, or a storage error: errore_esteso) */
    PEC_TRACE_TYPE_COUNT
};

/* pec_trace_type_name - the stable name stored in the log ("accettazione", ...); NULL when unknown */
const char *pec_trace_type_name(enum pec_trace_type type);
/* pec_trace_type_parse - inverse of pec_trace_type_name; PEC_TRACE_NONE when unknown */
enum pec_trace_type pec_trace_type_parse(const char *name);

enum pec_trace_rcpt_kind { PEC_RCPT_UNKNOWN = 0, PEC_RCPT_CERTIFICATO, PEC_RCPT_ESTERNO };

/* pec_trace_rcpt_kind_name - "certificato", "esterno" or "" */
const char *pec_trace_rcpt_kind_name(enum pec_trace_rcpt_kind kind);

struct pec_trace_rcpt {
    const char *address;
    enum pec_trace_rcpt_kind kind;
    int cc; /* 1: the address was in Cc (only used for submitted messages) */
};

/* One logged event.  NULL pointers are absent fields; time is the event's legal time reference. */
struct pec_trace_event {
    time_t time;
    enum pec_trace_type type;
    const char *identificativo; /* PEC identifier of the message the event is about */
    const char *message_id;     /* Message-ID of the message this event generated (receipt, busta) */
    const char *queue_id;       /* MTA queue id */
    const char *sender;
    const struct pec_trace_rcpt *rcpts; /* destinatari / ricezione / consegna, per event type */
    size_t n_rcpts;
    const char *subject;        /* original subject, verbatim bytes */
    const char *gestore;        /* provider that emitted the message the event is about */
    const char *receipt_type;   /* completa | breve | sintetica */
    const char *errore;         /* nessuno | no-dest | no-dominio | virus | altro */
    const char *errore_esteso;  /* verbatim bytes */
    const char *virus;
};

/* A message submitted to our access point. */
struct pec_trace_message {
    const char *identificativo;
    const char *client_msgid;
    const char *sender;
    const char *reply_to; /* daticert <risposte>; NULL: the sender */
    const char *subject;
    const char *receipt_type;
    const char *queue_id;
    time_t accepted_at;
    const struct pec_trace_rcpt *rcpts; /* kind must be CERTIFICATO or ESTERNO */
    size_t n_rcpts;
};

/* pec_trace_accept - record a submitted message, its recipients and its events (accettazione and
 * busta-trasporto, or non-accettazione) in one transaction.  An identifier already recorded is
 * PEC_ERR_PERMANENT. */
int pec_trace_accept(struct pec_trace *t, const struct pec_trace_message *m, const struct pec_trace_event *ev,
                     size_t n_ev, struct pec_error *err);

enum pec_trace_state {
    PEC_STATE_RELAYED = 1,     /* busta handed to the next MTA */
    PEC_STATE_PRESA_IN_CARICO, /* presa in carico received */
    PEC_STATE_CONSEGNA,        /* avvenuta consegna received */
    PEC_STATE_ERRORE,          /* avviso di mancata consegna received: errore_code, errore_text */
};

/* A state reached by one recipient of a submitted message.  The first time is kept: repeating an
 * update changes nothing.  An update naming an unknown message or recipient changes nothing either
 * (the event is still logged). */
struct pec_trace_update {
    const char *identificativo;
    const char *address; /* compared case-insensitively */
    enum pec_trace_state state;
    time_t time;
    const char *errore_code;
    const char *errore_text; /* verbatim bytes */
};

/* pec_trace_record - log events and apply recipient state updates, in one transaction */
int pec_trace_record(struct pec_trace *t, const struct pec_trace_event *ev, size_t n_ev,
                     const struct pec_trace_update *up, size_t n_up, struct pec_error *err);

/* pec_trace_claim_delivery - take the right to emit the delivery receipt of (identificativo,
 * address): 1 the first time, with ev logged in the same transaction; 0 when already claimed (by any
 * node or process; nothing is logged), so a repeated LMTP delivery yields one receipt.  Claim after
 * the mailbox accepted the message. */
int pec_trace_claim_delivery(struct pec_trace *t, const char *identificativo, const char *address, time_t now,
                             const struct pec_trace_event *ev, size_t n_ev, struct pec_error *err);

/* ---- 12 h / 24 h timers (PEC-RULES §2.11) ---- */

enum pec_trace_notice { PEC_NOTICE_12H = 12, PEC_NOTICE_24H = 24 };

/* seconds after acceptance from which each notice is due: 12 h; 22 h (the 24 h notice is emitted by
 * the 24 h mark and not before 22 h, so the timer sends it from 22 h on) */
#define PEC_TRACE_NOTICE12_AFTER (12 * 3600)
#define PEC_TRACE_NOTICE24_AFTER (22 * 3600)

/* A certified recipient due for a notice.  Due, at time now, counting from the acceptance:
 *   12 h: no presa in carico, no consegna, no errore yet, and neither notice sent;
 *   24 h: no consegna and no errore yet, 24 h notice not sent (due from 22 h);
 * never for esterno recipients.  Pointers are valid during the callback only. */
struct pec_trace_due {
    enum pec_trace_notice kind;
    const char *identificativo;
    const char *address;
    const char *sender;
    const char *reply_to; /* the message's daticert <risposte>: the sender when it had none */
    const char *client_msgid;
    const char *subject;
    const char *receipt_type;
    time_t accepted_at;
    int cc;
};

/* nonzero return stops the iteration */
typedef int (*pec_trace_due_fn)(const struct pec_trace_due *due, void *ctx);

/* pec_trace_notices_due - the notices due at now (at most limit, 0: no limit), oldest first, handed
 * to fn after the query finished (fn may claim).  0 when all were seen, 1 when fn stopped early. */
int pec_trace_notices_due(struct pec_trace *t, time_t now, size_t limit, pec_trace_due_fn fn, void *ctx,
                          struct pec_error *err);
/* A notice is leased, sent, then marked sent: a failed send gives the lease back, a run that dies holding
 * one leaves it to expire after PEC_TRACE_NOTICE_LEASE seconds, when any run takes it again.  So a due
 * notice is sent at least once (twice only after a crash between the send and its record), never lost. */
#define PEC_TRACE_NOTICE_LEASE 600
/* pec_trace_claim_notice - lease a notice if it is still due at now and no live lease holds it: 1 ours
 * to send, 0 when it was sent, is being sent elsewhere, or a receipt arrived meanwhile */
int pec_trace_claim_notice(struct pec_trace *t, enum pec_trace_notice kind, const char *identificativo,
                           const char *address, time_t now, struct pec_error *err);
/* pec_trace_notice_sent - the notice went out at now: mark it sent and log ev in one transaction */
int pec_trace_notice_sent(struct pec_trace *t, enum pec_trace_notice kind, const char *identificativo,
                          const char *address, time_t now, const struct pec_trace_event *ev, size_t n_ev,
                          struct pec_error *err);
/* pec_trace_notice_release - the send failed: drop the lease so the next run retries */
int pec_trace_notice_release(struct pec_trace *t, enum pec_trace_notice kind, const char *identificativo,
                             const char *address, struct pec_error *err);

/* ---- virus quarantine ---- */

struct pec_trace_quarantine {
    const char *identificativo;
    time_t detected_at;
    const char *virus;
    const char *storage_ref; /* where the infected message is kept */
    const char *sha256;      /* of the kept message, hex; may be NULL */
    const char *sender;
};

/* pec_trace_quarantine - record a quarantined message with its events, in one transaction */
int pec_trace_quarantine(struct pec_trace *t, const struct pec_trace_quarantine *q,
                         const struct pec_trace_event *ev, size_t n_ev, struct pec_error *err);

/* ---- search (pecctl log) ---- */

struct pec_trace_query {
    const char *identificativo;
    const char *msgid;     /* client Message-ID, or Message-ID of a generated message */
    const char *sender;    /* case-insensitive */
    const char *recipient; /* case-insensitive */
    time_t from, to;       /* event time range [from, to); 0: open */
    size_t limit;          /* 0: no limit */
};

/* One event read back.  type is PEC_TRACE_NONE when type_name is not a known name. */
struct pec_trace_row {
    unsigned chain;
    long long seq;
    unsigned node;
    const char *type_name;
    struct pec_trace_event ev;
};

typedef int (*pec_trace_row_fn)(const struct pec_trace_row *row, void *ctx);

/* pec_trace_search - the events matching every given criterion, by time, then chain and seq */
int pec_trace_search(struct pec_trace *t, const struct pec_trace_query *q, pec_trace_row_fn fn, void *ctx,
                     struct pec_error *err);

struct pec_trace_rcpt_info {
    char *address;
    int certified, cc;
    time_t relayed, presa_in_carico, consegna, errore, notice12, notice24; /* 0: not yet */
    char *errore_code, *errore_text;
};

struct pec_trace_message_info {
    char *identificativo, *client_msgid, *sender, *subject, *receipt_type, *queue_id;
    time_t accepted_at;
    unsigned node;
    struct pec_trace_rcpt_info *rcpts;
    size_t n_rcpts;
};

/* pec_trace_get_message - a submitted message and its recipients: 1 found, 0 not ours, -1 error */
int pec_trace_get_message(struct pec_trace *t, const char *identificativo, struct pec_trace_message_info **out,
                          struct pec_error *err);
/* pec_trace_message_info_free - NULL-safe, NULLs the pointer */
void pec_trace_message_info_free(struct pec_trace_message_info **m);

/* ---- provider index copy ---- */

/* pec_trace_index_replace - parse ldif (already verified when it came signed) and make it the current
 * copy, atomically; a malformed entry is PEC_ERR_INVALID and leaves the previous copy in place.
 * source names the origin for the record (file name).  *version_r (may be NULL) gets the new version. */
int pec_trace_index_replace(struct pec_trace *t, const void *ldif, size_t len, const char *source, time_t now,
                            long long *version_r, struct pec_error *err);
enum pec_index_refresh {
    PEC_INDEX_REPLACED = 0, /* the fetched index is the new current copy */
    PEC_INDEX_UNCHANGED,    /* the current copy is that very index */
    PEC_INDEX_NOT_NEWER,    /* signed no later than the current copy: kept (a replay, or a stale mirror) */
};
struct pec_index_refresh_result {
    enum pec_index_refresh outcome;
    long long version;         /* the new version, or the current one that stands */
    time_t current_signed_at;  /* signing time of the copy it was compared with (0: unsigned or none) */
};
/* pec_trace_index_refresh - like pec_trace_index_replace for an index fetched from its published place
 * and verified (signed_at: its signingTime, required), but under the import lock it replaces the copy
 * only when its content differs and it was signed after the current copy.  0 with *r, -1 with err. */
int pec_trace_index_refresh(struct pec_trace *t, const void *ldif, size_t len, const char *source, time_t signed_at,
                            time_t now, struct pec_index_refresh_result *r, struct pec_error *err);
/* pec_trace_index_load - the current copy; NULL with PEC_ERR_PERMANENT when none was imported */
struct pec_index *pec_trace_index_load(struct pec_trace *t, long long *version_r, struct pec_error *err);

/* The in-process index cache of the adapters: lookups use an immutable snapshot, refreshed from the
 * database when it is older than refresh seconds and a newer version was imported.  When the database
 * is unreachable the last snapshot keeps being served.  Thread-safe. */
struct pec_trace_index_cache;

struct pec_trace_index_cache *pec_trace_index_cache_new(struct pec_trace *t, unsigned refresh,
                                                        const struct pec_clock *clock);
/* pec_trace_index_cache_free - every acquired snapshot must have been released; NULL-safe */
void pec_trace_index_cache_free(struct pec_trace_index_cache **c);
/* pec_trace_index_cache_acquire - the current snapshot, valid until released; NULL with err when no
 * snapshot could ever be loaded */
const struct pec_index *pec_trace_index_cache_acquire(struct pec_trace_index_cache *c, struct pec_error *err);
/* pec_trace_index_cache_release - give a snapshot back; NULLs the pointer */
void pec_trace_index_cache_release(struct pec_trace_index_cache *c, const struct pec_index **idx);

/* ---- tamper evidence and retention ---- */

/* pec_trace_checkpoint - sign the current chain heads (CMS, embedded content) and store them;
 * reason: "daily", "manual"...  *id_r (may be NULL) gets the checkpoint id. */
int pec_trace_checkpoint(struct pec_trace *t, const struct pec_signer *signer, time_t now, const char *reason,
                         long long *id_r, struct pec_error *err);

struct pec_trace_verify_options {
    time_t from;                  /* check the chains from the first event at or after this time; 0: all */
    const struct pec_trust *trust; /* checkpoint signatures must chain to it; NULL: integrity only */
    const void *cert_der;         /* checkpoints must be signed by this certificate; NULL: any */
    size_t cert_len;
};

/* pec_trace_verify - recompute every chain and check every checkpoint; each problem (modified,
 * inserted or deleted row, broken link, bad checkpoint) is reported naming the row.  Returns the
 * number of problems (0: intact), -1 when the check itself could not run. */
int pec_trace_verify(struct pec_trace *t, const struct pec_trace_verify_options *o, pec_trace_report_fn report,
                     void *ctx, struct pec_error *err);

/* ---- metrics ---- */

/* What the trace store says now (pecctl metrics). */
struct pec_trace_metrics {
    unsigned long events_24h[PEC_TRACE_TYPE_COUNT]; /* events of the last 24 hours, by type */
    unsigned long pending;          /* certified recipients still waiting for avvenuta or mancata consegna */
    unsigned long due_12h, due_24h; /* notices the timers owe now */
    unsigned long quarantined;      /* infected messages kept */
    time_t last_checkpoint;         /* the newest signed checkpoint; 0: none */
};

/* pec_trace_metrics - read them in one read-only transaction (the events through their time index, the
 * recipients through the index of open ones): 0, or -1 with err */
int pec_trace_metrics(struct pec_trace *t, time_t now, struct pec_trace_metrics *m, struct pec_error *err);

#define PEC_TRACE_RETENTION_MONTHS 30

/* pec_trace_purge - drop the monthly event partitions entirely older than months (and the message,
 * delivery and quarantine rows accepted before that limit), after verifying the chains and storing a
 * signed checkpoint that records the purged ranges, so verification still passes.  dry_run only
 * reports.  Returns the number of partitions dropped (or that would be). */
int pec_trace_purge(struct pec_trace *t, const struct pec_signer *signer, time_t now, unsigned months,
                    int dry_run, pec_trace_report_fn report, void *ctx, struct pec_error *err);

#endif
