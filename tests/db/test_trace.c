/* test_trace.c - trace store tests against a throwaway PostgreSQL (run under tests/db/pg_harness.sh).
 *
 * Usage: test_trace MODE [ARG]   with $PEC_TEST_DB pointing at an empty database.
 *   hostile  quotes, backslashes, SQL fragments, UTF-8, invalid UTF-8, a 100 KB subject: verbatim
 *   outage   database stopped: PEC_ERR_TEMPORARY in bounded time; restarted: writes resume; a lock
 *            held elsewhere: statement timeout, TEMPORARY
 *   claim    delivery claims: 1 then 0, also under 8 racing threads; one receipt event
 *   timers   the four PEC-RULES §2.11 cases with an injected clock; notice claims race-free
 *   cache    index copy and the in-process cache: refresh, old snapshots stay valid
 *   fill NOW one message a month for the 40 months before NOW (the purge test's data)
 *   sample   two complete message records for the log tests
 * Exits 0 when every check passed.
 */
#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "../unit/check.h"
#include "pec/daticert.h"
#include "pec/trace.h"

#define T0 1795000000 /* 2026-11-18, an arbitrary fixed instant */

/* conninfo - the test database, from the harness */
static const char *conninfo(void)
{
    const char *c = getenv("PEC_TEST_DB");

    if (c == NULL) {
        fprintf(stderr, "PEC_TEST_DB is not set: run under tests/db/pg_harness.sh\n");
        exit(2);
    }
    return c;
}

/* open_store - a migrated store for node */
static struct pec_trace *open_store(const char *ci, unsigned node, unsigned stmt_ms)
{
    struct pec_error err = { PEC_ERR_NONE, "" };
    struct pec_trace_settings set = { node, 4, 2, stmt_ms };
    struct pec_trace *t = pec_trace_open(ci, &set, &err);

    if (t == NULL || pec_trace_migrate(t, NULL, NULL, &err) < 0) {
        fprintf(stderr, "cannot open the store: %s\n", err.msg);
        exit(1);
    }
    return t;
}

/* now_s - a monotonic clock in seconds */
static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* accept_simple - one accepted message with given recipients and an accettazione event */
static int accept_simple(struct pec_trace *t, const char *id, const char *sender, const char *subject,
                         const struct pec_trace_rcpt *r, size_t n, time_t when, struct pec_error *err)
{
    struct pec_trace_message m;
    struct pec_trace_event ev;

    memset(&m, 0, sizeof(m));
    m.identificativo = id;
    m.client_msgid = "<client@mua.test>";
    m.sender = sender;
    m.subject = subject;
    m.receipt_type = "completa";
    m.accepted_at = when;
    m.rcpts = r;
    m.n_rcpts = n;
    memset(&ev, 0, sizeof(ev));
    ev.time = when;
    ev.type = PEC_TRACE_ACCETTAZIONE;
    ev.identificativo = id;
    ev.message_id = "<accettazione@pec.test>";
    ev.sender = sender;
    ev.rcpts = r;
    ev.n_rcpts = n;
    ev.subject = subject;
    ev.gestore = "Gestore Test";
    return pec_trace_accept(t, &m, &ev, 1, err);
}

/* ---- hostile ---- */

struct captured {
    int n;
    char *subject, *sender, *errore_esteso, *rcpt, *queue_id;
};

/* capture - keep a copy of the first row's fields */
static int capture(const struct pec_trace_row *row, void *ctx)
{
    struct captured *c = ctx;

    if (c->n++ == 0) {
        c->subject = row->ev.subject ? strdup(row->ev.subject) : NULL;
        c->sender = row->ev.sender ? strdup(row->ev.sender) : NULL;
        c->errore_esteso = row->ev.errore_esteso ? strdup(row->ev.errore_esteso) : NULL;
        c->rcpt = row->ev.n_rcpts ? strdup(row->ev.rcpts[0].address) : NULL;
        c->queue_id = row->ev.queue_id ? strdup(row->ev.queue_id) : NULL;
    }
    return 0;
}

/* captured_clear - free the copies */
static void captured_clear(struct captured *c)
{
    free(c->subject);
    free(c->sender);
    free(c->errore_esteso);
    free(c->rcpt);
    free(c->queue_id);
    memset(c, 0, sizeof(*c));
}

/* count_rows - count search results */
static int count_rows(const struct pec_trace_row *row, void *ctx)
{
    (*(int *)ctx)++;
    return 0;
}

/* test_hostile - hostile strings go in and come back verbatim, or are refused as INVALID */
static void test_hostile(void)
{
    static const char *const texts[] = {
        "'); DROP TABLE events; --",
        "Robert'); DELETE FROM messages WHERE ('1'='1",
        "quote ' double \" backslash \\ \\\\ percent %s %n dollar $1 $$ semicolon ;",
        "E'\\x00' \\x27 \\' U&'\\0041' $tag$ body $tag$",
        "citt\xc3\xa0 \xe2\x80\x93 \xc3\xbc \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80 tab\there",
    };
    /* subjects are kept as bytes: also Latin-1 and broken sequences, and control characters */
    static const char latin1[] = "Oggetto in Latin-1: citt\xe0 perch\xe9 \xff\xfe \xc3 \xed\xa0\x80 end\r\n\x01";
    struct pec_error err = { PEC_ERR_NONE, "" };
    struct pec_trace *t = open_store(conninfo(), 1, 5000);
    struct pec_trace_rcpt r[2];
    struct pec_trace_query q;
    struct captured cap;
    size_t i, big_len = 100 * 1024;
    char *big = malloc(big_len + 1), id[64];

    /* a 100 KB subject: every non-NUL byte value, valid UTF-8 runs and not */
    for (i = 0; i < big_len; i++)
        big[i] = (char)(1 + (i * 7919) % 255);
    memcpy(big, texts[4], strlen(texts[4]));
    big[big_len] = '\0';

    for (i = 0; i < sizeof(texts) / sizeof(texts[0]) + 2; i++) {
        const char *text = i < 5 ? texts[i] : i == 5 ? latin1 : big;
        const char *addr_text = i < 5 ? texts[i] : texts[0];
        char sender[512], rcpt[512];
        struct pec_trace_event ev;
        struct pec_trace_update up;
        struct pec_trace_message_info *m = NULL;
        int n = 0;

        snprintf(id, sizeof(id), "hostile.%zu@pec.test", i);
        snprintf(sender, sizeof(sender), "\"%s\"%zu@pec.test", addr_text, i);
        snprintf(rcpt, sizeof(rcpt), "\"%s\"%zu@PEC-remoto.test", addr_text, i);
        r[0] = (struct pec_trace_rcpt){ rcpt, PEC_RCPT_CERTIFICATO, 0 };
        r[1] = (struct pec_trace_rcpt){ "plain@pec-remoto.test", PEC_RCPT_ESTERNO, 1 };
        CHECK(accept_simple(t, id, sender, text, r, 2, T0 + (time_t)i, &err) == 0);
        if (err.cls != PEC_ERR_NONE)
            fprintf(stderr, "accept %zu: %s\n", i, err.msg);

        memset(&ev, 0, sizeof(ev));
        ev.time = T0 + 100;
        ev.type = PEC_TRACE_ERRORE_CONSEGNA;
        ev.identificativo = id;
        ev.queue_id = addr_text;
        ev.sender = sender;
        ev.rcpts = r;
        ev.n_rcpts = 1;
        ev.subject = text;
        ev.errore = pec_errore_name(PEC_ERRORE_ALTRO);
        ev.errore_esteso = text;
        memset(&up, 0, sizeof(up));
        up.identificativo = id;
        up.address = rcpt;
        up.state = PEC_STATE_ERRORE;
        up.time = T0 + 100;
        up.errore_code = pec_errore_name(PEC_ERRORE_ALTRO);
        up.errore_text = text;
        CHECK(pec_trace_record(t, &ev, 1, &up, 1, &err) == 0);

        /* read back: the event, by identifier */
        memset(&q, 0, sizeof(q));
        memset(&cap, 0, sizeof(cap));
        q.identificativo = id;
        CHECK(pec_trace_search(t, &q, capture, &cap, &err) == 0);
        CHECK(cap.n == 2);
        CHECK(cap.subject != NULL && strcmp(cap.subject, text) == 0);
        CHECK_STR(cap.sender, sender);
        CHECK_STR(cap.rcpt, rcpt);
        captured_clear(&cap);

        /* by sender and by recipient (case-insensitive), which go through other statements */
        memset(&q, 0, sizeof(q));
        q.sender = sender;
        n = 0;
        CHECK(pec_trace_search(t, &q, count_rows, &n, &err) == 0);
        CHECK(n == 2);
        memset(&q, 0, sizeof(q));
        q.recipient = rcpt;
        q.from = T0 + 50;
        memset(&cap, 0, sizeof(cap));
        CHECK(pec_trace_search(t, &q, capture, &cap, &err) == 0);
        CHECK(cap.errore_esteso != NULL && strcmp(cap.errore_esteso, text) == 0);
        CHECK_STR(cap.queue_id, addr_text);
        captured_clear(&cap);

        /* the message and recipient state */
        CHECK(pec_trace_get_message(t, id, &m, &err) == 1);
        if (m != NULL) {
            CHECK(m->subject != NULL && strcmp(m->subject, text) == 0);
            CHECK_STR(m->sender, sender);
            CHECK(m->n_rcpts == 2);
            CHECK(m->n_rcpts == 2 && m->rcpts[0].errore_text && strcmp(m->rcpts[0].errore_text, text) == 0);
            CHECK(m->n_rcpts == 2 && m->rcpts[0].errore == T0 + 100 && m->rcpts[0].certified &&
                  !m->rcpts[1].certified && m->rcpts[1].cc);
        }
        pec_trace_message_info_free(&m);
    }

    /* what cannot be kept verbatim in a text column is refused, and nothing is written */
    {
        static const char bad_utf8[] = "mittente\xe0@pec.test";
        static const char ctl[] = "mittente\r\nX-Forged: yes@pec.test";
        struct pec_trace_message_info *m = NULL;

        r[0] = (struct pec_trace_rcpt){ "a@pec.test", PEC_RCPT_CERTIFICATO, 0 };
        err.cls = PEC_ERR_NONE;
        CHECK(accept_simple(t, "bad.1@pec.test", bad_utf8, "s", r, 1, T0, &err) < 0);
        CHECK(err.cls == PEC_ERR_INVALID);
        err.cls = PEC_ERR_NONE;
        CHECK(accept_simple(t, "bad.2@pec.test", ctl, "s", r, 1, T0, &err) < 0);
        CHECK(err.cls == PEC_ERR_INVALID);
        r[0].address = "\xc0\xaf@pec.test"; /* overlong '/' */
        err.cls = PEC_ERR_NONE;
        CHECK(accept_simple(t, "bad.3@pec.test", "ok@pec.test", "s", r, 1, T0, &err) < 0);
        CHECK(err.cls == PEC_ERR_INVALID);
        CHECK(pec_trace_get_message(t, "bad.1@pec.test", &m, &err) == 0);
        CHECK(pec_trace_get_message(t, "bad.3@pec.test", &m, &err) == 0);
        /* the same identifier twice is refused for good */
        err.cls = PEC_ERR_NONE;
        r[0].address = "a@pec.test";
        CHECK(accept_simple(t, "hostile.0@pec.test", "x@pec.test", "s", r, 1, T0, &err) < 0);
        CHECK(err.cls == PEC_ERR_PERMANENT);
    }
    /* the chain still verifies over all those bytes */
    CHECK(pec_trace_verify(t, NULL, NULL, NULL, &err) == 0);
    free(big);
    pec_trace_free(&t);
}

/* ---- outage ---- */

/* pgctl - stop or start the test cluster */
static int pgctl(const char *action)
{
    const char *ctl = getenv("PEC_TEST_PGCTL");
    char cmd[512];

    if (ctl == NULL)
        return -1;
    snprintf(cmd, sizeof(cmd), "%s %s", ctl, action);
    return system(cmd);
}

/* record_one - one event */
static int record_one(struct pec_trace *t, const char *id, struct pec_error *err)
{
    struct pec_trace_event ev;

    memset(&ev, 0, sizeof(ev));
    ev.time = time(NULL);
    ev.type = PEC_TRACE_RICEZIONE;
    ev.identificativo = id;
    ev.sender = "someone@pec-remoto.test";
    ev.gestore = "Gestore Remoto";
    return pec_trace_record(t, &ev, 1, NULL, 0, err);
}

/* outage_with - database stopped and restarted under a store opened with conninfo ci */
static void outage_with(const char *ci, const char *label)
{
    struct pec_error err = { PEC_ERR_NONE, "" };
    struct pec_trace *t = open_store(ci, 2, 3000);
    double t0, dt;
    int attempt, ok = 0;

    CHECK(record_one(t, "outage.before@pec.test", &err) == 0);
    CHECK(pgctl("stop") == 0);
    for (attempt = 0; attempt < 3; attempt++) {
        err.cls = PEC_ERR_NONE;
        t0 = now_s();
        CHECK(record_one(t, "outage.during@pec.test", &err) < 0);
        dt = now_s() - t0;
        printf("%s: database down, call %d failed in %.3f s: %s\n", label, attempt + 1, dt, err.msg);
        CHECK(err.cls == PEC_ERR_TEMPORARY);
        CHECK(dt < 10.0);
    }
    err.cls = PEC_ERR_NONE;
    CHECK(pec_trace_ping(t, &err) < 0 && err.cls == PEC_ERR_TEMPORARY);
    CHECK(pgctl("start") == 0);
    /* same store, no reopening: the first call after the restart already works */
    err.cls = PEC_ERR_NONE;
    ok = record_one(t, "outage.after@pec.test", &err) == 0;
    if (!ok)
        fprintf(stderr, "%s: after restart: %s\n", label, err.msg);
    CHECK(ok);
    CHECK(record_one(t, "outage.after2@pec.test", &err) == 0);
    pec_trace_free(&t);
}

/* test_outage - every way the database can fail to answer ends in TEMPORARY, quickly */
static void test_outage(void)
{
    const char *tcp = getenv("PEC_TEST_DB_TCP");
    struct pec_error err = { PEC_ERR_NONE, "" };
    struct pec_trace *t;
    PGconn *locker;
    PGresult *res;
    double t0, dt;

    outage_with(conninfo(), "unix socket");
    if (tcp != NULL)
        outage_with(tcp, "tcp");

    /* a server that accepts connections and never answers: bounded by the connect timeout */
    {
        struct sockaddr_in sa;
        socklen_t len = sizeof(sa);
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct pec_trace_settings set = { 2, 2, 2, 1000 };
        char ci[128];

        memset(&sa, 0, sizeof(sa));
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        CHECK(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(fd, 8) == 0 &&
              getsockname(fd, (struct sockaddr *)&sa, &len) == 0);
        snprintf(ci, sizeof(ci), "host=127.0.0.1 port=%d dbname=pec user=postgres", ntohs(sa.sin_port));
        t = pec_trace_open(ci, &set, &err);
        CHECK(t != NULL);
        t0 = now_s();
        err.cls = PEC_ERR_NONE;
        CHECK(t != NULL && record_one(t, "hung@pec.test", &err) < 0);
        dt = now_s() - t0;
        printf("server never answers: failed in %.3f s: %s\n", dt, err.msg);
        CHECK(err.cls == PEC_ERR_TEMPORARY);
        CHECK(dt < 10.0);
        pec_trace_free(&t);
        close(fd);
    }

    /* a transaction elsewhere holds every chain head of node 3: bounded by the statement timeout */
    t = open_store(conninfo(), 3, 1500);
    CHECK(record_one(t, "lock.before@pec.test", &err) == 0);
    locker = PQconnectdb(conninfo());
    CHECK(PQstatus(locker) == CONNECTION_OK);
    res = PQexec(locker, "BEGIN; SELECT * FROM chain_heads WHERE chain BETWEEN 300 AND 399 FOR UPDATE");
    CHECK(PQresultStatus(res) == PGRES_TUPLES_OK);
    PQclear(res);
    t0 = now_s();
    err.cls = PEC_ERR_NONE;
    CHECK(record_one(t, "lock.during@pec.test", &err) < 0);
    dt = now_s() - t0;
    printf("chain heads locked elsewhere: failed in %.3f s: %s\n", dt, err.msg);
    CHECK(err.cls == PEC_ERR_TEMPORARY);
    CHECK(dt < 10.0);
    PQclear(PQexec(locker, "ROLLBACK"));
    PQfinish(locker);
    CHECK(record_one(t, "lock.after@pec.test", &err) == 0);
    CHECK(pec_trace_verify(t, NULL, NULL, NULL, &err) == 0);
    pec_trace_free(&t);
}

/* ---- claims ---- */

struct racer {
    struct pec_trace *t;
    int kind; /* 0 delivery, else a notice kind */
    time_t now;
    int result;
    pthread_barrier_t *go;
};

/* race - one racer: wait for the others, then claim */
static void *race(void *arg)
{
    struct racer *r = arg;
    struct pec_error err = { PEC_ERR_NONE, "" };
    struct pec_trace_rcpt rc = { "race@pec.test", PEC_RCPT_CERTIFICATO, 0 };
    struct pec_trace_event ev;

    memset(&ev, 0, sizeof(ev));
    ev.time = r->now;
    ev.type = r->kind == 0 ? PEC_TRACE_AVVENUTA_CONSEGNA : PEC_TRACE_PREAVVISO_12H;
    ev.identificativo = "race@pec.test";
    ev.rcpts = &rc;
    ev.n_rcpts = 1;
    pthread_barrier_wait(r->go);
    if (r->kind == 0)
        r->result = pec_trace_claim_delivery(r->t, "race@pec.test", "race@pec.test", r->now, &ev, 1, &err);
    else if ((r->result = pec_trace_claim_notice(r->t, (enum pec_trace_notice)r->kind, "race@pec.test",
                                                 "race@pec.test", r->now, &err)) == 1 &&
             pec_trace_notice_sent(r->t, (enum pec_trace_notice)r->kind, "race@pec.test", "race@pec.test", r->now,
                                   &ev, 1, &err) < 0)
        r->result = -1;
    if (r->result < 0)
        fprintf(stderr, "racer: %s\n", err.msg);
    return NULL;
}

/* run_race - 8 threads (two stores: two "nodes") claim at once; how many won */
static int run_race(struct pec_trace *a, struct pec_trace *b, int kind, time_t now)
{
    pthread_t tid[8];
    struct racer r[8];
    pthread_barrier_t go;
    int i, won = 0;

    pthread_barrier_init(&go, NULL, 8);
    for (i = 0; i < 8; i++) {
        r[i] = (struct racer){ i % 2 ? a : b, kind, now, -1, &go };
        pthread_create(&tid[i], NULL, race, &r[i]);
    }
    for (i = 0; i < 8; i++) {
        pthread_join(tid[i], NULL);
        CHECK(r[i].result == 0 || r[i].result == 1);
        won += r[i].result == 1;
    }
    pthread_barrier_destroy(&go);
    return won;
}

static int count_type(struct pec_trace *t, const char *id, enum pec_trace_type type);

/* test_claim - a delivery receipt is claimed once, even by racing nodes */
static void test_claim(void)
{
    struct pec_error err = { PEC_ERR_NONE, "" };
    struct pec_trace *t = open_store(conninfo(), 4, 5000), *t2 = open_store(conninfo(), 5, 5000);
    struct pec_trace_rcpt rc = { "bob@pec.test", PEC_RCPT_CERTIFICATO, 0 };
    struct pec_trace_event ev;

    memset(&ev, 0, sizeof(ev));
    ev.time = T0;
    ev.type = PEC_TRACE_AVVENUTA_CONSEGNA;
    ev.identificativo = "claim.1@pec-remoto.test";
    ev.message_id = "<consegna.1@pec.test>";
    ev.rcpts = &rc;
    ev.n_rcpts = 1;
    CHECK(pec_trace_claim_delivery(t, "claim.1@pec-remoto.test", "bob@pec.test", T0, &ev, 1, &err) == 1);
    CHECK(pec_trace_claim_delivery(t, "claim.1@pec-remoto.test", "bob@pec.test", T0 + 5, &ev, 1, &err) == 0);
    CHECK(pec_trace_claim_delivery(t2, "claim.1@pec-remoto.test", "bob@pec.test", T0 + 9, &ev, 1, &err) == 0);
    /* another mailbox of the same envelope is its own claim */
    CHECK(pec_trace_claim_delivery(t, "claim.1@pec-remoto.test", "carol@pec.test", T0, NULL, 0, &err) == 1);
    CHECK(count_type(t, "claim.1@pec-remoto.test", PEC_TRACE_AVVENUTA_CONSEGNA) == 1);
    /* eight racers on two nodes: exactly one receipt */
    CHECK(run_race(t, t2, 0, T0) == 1);
    CHECK(count_type(t, "race@pec.test", PEC_TRACE_AVVENUTA_CONSEGNA) == 1);
    /* a quarantined message: the reference and its events in one transaction */
    {
        struct pec_trace_quarantine qr = { "virus.1@pec-remoto.test", T0, "Eicar-Signature",
                                           "/var/spool/pec/quarantine/2026/11/virus.1.eml", NULL, "m@pec.test" };
        struct pec_trace_event vev[2];

        memset(vev, 0, sizeof(vev));
        vev[0].time = vev[1].time = T0;
        vev[0].type = PEC_TRACE_RILEVAZIONE_VIRUS;
        vev[1].type = PEC_TRACE_ERRORE_CONSEGNA_VIRUS;
        vev[0].identificativo = vev[1].identificativo = "virus.1@pec-remoto.test";
        vev[0].virus = vev[1].virus = "Eicar-Signature";
        vev[1].errore = "virus";
        CHECK(pec_trace_quarantine(t, &qr, vev, 2, &err) == 0);
        CHECK(count_type(t, "virus.1@pec-remoto.test", PEC_TRACE_RILEVAZIONE_VIRUS) == 1);
        CHECK(count_type(t, "virus.1@pec-remoto.test", PEC_TRACE_ERRORE_CONSEGNA_VIRUS) == 1);
        qr.virus = NULL;
        err.cls = PEC_ERR_NONE;
        CHECK(pec_trace_quarantine(t, &qr, vev, 2, &err) < 0 && err.cls == PEC_ERR_INVALID);
    }
    CHECK(pec_trace_verify(t, NULL, NULL, NULL, &err) == 0);
    pec_trace_free(&t);
    pec_trace_free(&t2);
}

/* ---- timers ---- */

struct due_list {
    char items[32][160];
    int n;
};

/* collect_due - remember a due notice as "id/address/kind" */
static int collect_due(const struct pec_trace_due *d, void *ctx)
{
    struct due_list *l = ctx;

    if (l->n < 32)
        snprintf(l->items[l->n++], sizeof(l->items[0]), "%s/%s/%d", d->identificativo, d->address, (int)d->kind);
    return 0;
}

/* due_at - the due notices at now, as "id/address/kind" */
static void due_at(struct pec_trace *t, time_t now, struct due_list *l)
{
    struct pec_error err = { PEC_ERR_NONE, "" };

    memset(l, 0, sizeof(*l));
    CHECK(pec_trace_notices_due(t, now, 0, collect_due, l, &err) == 0);
}

/* has - whether the list holds id/address/kind */
static int has(const struct due_list *l, const char *id, const char *addr, int kind)
{
    char key[160];
    int i;

    snprintf(key, sizeof(key), "%s/%s/%d", id, addr, kind);
    for (i = 0; i < l->n; i++)
        if (strcmp(l->items[i], key) == 0)
            return 1;
    return 0;
}

/* state - record a received receipt for a recipient at time when */
static void state(struct pec_trace *t, const char *id, const char *addr, enum pec_trace_state st, time_t when)
{
    struct pec_error err = { PEC_ERR_NONE, "" };
    struct pec_trace_rcpt rc = { addr, PEC_RCPT_CERTIFICATO, 0 };
    struct pec_trace_update up = { id, addr, st, when, NULL, NULL };
    struct pec_trace_event ev;

    memset(&ev, 0, sizeof(ev));
    ev.time = when;
    ev.type = st == PEC_STATE_PRESA_IN_CARICO ? PEC_TRACE_PRESA_IN_CARICO : PEC_TRACE_AVVENUTA_CONSEGNA;
    ev.identificativo = id;
    ev.rcpts = &rc;
    ev.n_rcpts = 1;
    ev.gestore = "Gestore Remoto";
    CHECK(pec_trace_record(t, &ev, 1, &up, 1, &err) == 0);
}

/* claim - lease a notice at now, and when it is ours record it sent (with its event) */
static int claim(struct pec_trace *t, int kind, const char *id, const char *addr, time_t now)
{
    struct pec_error err = { PEC_ERR_NONE, "" };
    struct pec_trace_rcpt rc = { addr, PEC_RCPT_CERTIFICATO, 0 };
    struct pec_trace_event ev;
    int r;

    memset(&ev, 0, sizeof(ev));
    ev.time = now;
    ev.type = kind == 12 ? PEC_TRACE_PREAVVISO_12H : PEC_TRACE_PREAVVISO_24H;
    ev.identificativo = id;
    ev.rcpts = &rc;
    ev.n_rcpts = 1;
    r = pec_trace_claim_notice(t, (enum pec_trace_notice)kind, id, addr, now, &err);
    if (r == 1 && pec_trace_notice_sent(t, (enum pec_trace_notice)kind, id, addr, now, &ev, 1, &err) < 0)
        r = -1;
    if (r < 0)
        fprintf(stderr, "claim: %s\n", err.msg);
    return r;
}

/* test_timers - the §2.11 cases with an injected clock */
static void test_timers(void)
{
    struct pec_error err = { PEC_ERR_NONE, "" };
    struct pec_trace *t = open_store(conninfo(), 6, 5000), *t2 = open_store(conninfo(), 7, 5000);
    const time_t h = 3600;
    struct due_list l;
    /* A: presa in carico within 12 h, never consegna -> only the 24 h notice
     * B: no presa in carico, consegna between 12 h and 24 h -> only the 12 h notice
     * C: nothing at all -> both
     * D: esterno recipient -> none;  E: consegna within 12 h -> none */
    struct pec_trace_rcpt ra[] = { { "a@pec-remoto.test", PEC_RCPT_CERTIFICATO, 0 } };
    struct pec_trace_rcpt rb[] = { { "b@pec-remoto.test", PEC_RCPT_CERTIFICATO, 0 } };
    struct pec_trace_rcpt rc[] = { { "c@pec-remoto.test", PEC_RCPT_CERTIFICATO, 1 },
                                   { "d@example.org", PEC_RCPT_ESTERNO, 0 } };
    struct pec_trace_rcpt re[] = { { "e@pec-remoto.test", PEC_RCPT_CERTIFICATO, 0 } };

    CHECK(accept_simple(t, "A@pec.test", "m@pec.test", "A", ra, 1, T0, &err) == 0);
    CHECK(accept_simple(t, "B@pec.test", "m@pec.test", "B", rb, 1, T0, &err) == 0);
    CHECK(accept_simple(t, "C@pec.test", "m@pec.test", "C", rc, 2, T0, &err) == 0);
    CHECK(accept_simple(t, "E@pec.test", "m@pec.test", "E", re, 1, T0, &err) == 0);
    state(t, "A@pec.test", "A@PEC-REMOTO.TEST", PEC_STATE_PRESA_IN_CARICO, T0 + 1 * h); /* any case */
    state(t, "E@pec.test", "e@pec-remoto.test", PEC_STATE_PRESA_IN_CARICO, T0 + 10);
    state(t, "E@pec.test", "e@pec-remoto.test", PEC_STATE_CONSEGNA, T0 + 20);

    due_at(t, T0 + 12 * h - 1, &l);
    CHECK(l.n == 0);

    due_at(t, T0 + 12 * h, &l);
    CHECK(l.n == 2);
    CHECK(has(&l, "B@pec.test", "b@pec-remoto.test", 12));
    CHECK(has(&l, "C@pec.test", "c@pec-remoto.test", 12));
    /* two nodes racing for each notice: one wins */
    CHECK(claim(t, 12, "B@pec.test", "b@pec-remoto.test", T0 + 12 * h) == 1);
    CHECK(claim(t2, 12, "B@pec.test", "b@pec-remoto.test", T0 + 12 * h + 5) == 0);
    CHECK(claim(t2, 12, "C@pec.test", "c@pec-remoto.test", T0 + 12 * h + 5) == 1);
    CHECK(claim(t, 12, "C@pec.test", "c@pec-remoto.test", T0 + 12 * h + 6) == 0);
    /* not due: A had its presa in carico, D is esterno, E was delivered */
    CHECK(claim(t, 12, "A@pec.test", "a@pec-remoto.test", T0 + 12 * h) == 0);
    CHECK(claim(t, 12, "C@pec.test", "d@example.org", T0 + 12 * h) == 0);
    CHECK(claim(t, 12, "E@pec.test", "e@pec-remoto.test", T0 + 12 * h) == 0);
    due_at(t, T0 + 13 * h, &l);
    CHECK(l.n == 0);

    state(t, "B@pec.test", "b@pec-remoto.test", PEC_STATE_CONSEGNA, T0 + 13 * h);

    /* 24 h notice: not before 22 h */
    due_at(t, T0 + 22 * h - 1, &l);
    CHECK(l.n == 0);
    CHECK(claim(t, 24, "A@pec.test", "a@pec-remoto.test", T0 + 22 * h - 1) == 0);
    due_at(t, T0 + 22 * h, &l);
    CHECK(l.n == 2);
    CHECK(has(&l, "A@pec.test", "a@pec-remoto.test", 24));
    CHECK(has(&l, "C@pec.test", "c@pec-remoto.test", 24));
    CHECK(claim(t, 24, "A@pec.test", "a@pec-remoto.test", T0 + 22 * h) == 1);
    CHECK(claim(t2, 24, "C@pec.test", "c@pec-remoto.test", T0 + 22 * h) == 1);
    CHECK(claim(t, 24, "B@pec.test", "b@pec-remoto.test", T0 + 22 * h) == 0);
    CHECK(claim(t, 24, "C@pec.test", "d@example.org", T0 + 22 * h) == 0);
    /* after the 24 h notice the gestore stops tracking */
    due_at(t, T0 + 48 * h, &l);
    CHECK(l.n == 0);
    CHECK(count_type(t, "A@pec.test", PEC_TRACE_PREAVVISO_12H) == 0);
    CHECK(count_type(t, "A@pec.test", PEC_TRACE_PREAVVISO_24H) == 1);
    CHECK(count_type(t, "B@pec.test", PEC_TRACE_PREAVVISO_12H) == 1);
    CHECK(count_type(t, "B@pec.test", PEC_TRACE_PREAVVISO_24H) == 0);
    CHECK(count_type(t, "C@pec.test", PEC_TRACE_PREAVVISO_12H) == 1);
    CHECK(count_type(t, "C@pec.test", PEC_TRACE_PREAVVISO_24H) == 1);
    CHECK(count_type(t, "E@pec.test", PEC_TRACE_PREAVVISO_12H) == 0);

    /* a notice raced by eight threads on two nodes is claimed once */
    {
        struct pec_trace_rcpt rr = { "race@pec.test", PEC_RCPT_CERTIFICATO, 0 };

        CHECK(accept_simple(t, "race@pec.test", "m@pec.test", "R", &rr, 1, T0, &err) == 0);
        CHECK(run_race(t, t2, 12, T0 + 12 * h) == 1);
        CHECK(count_type(t, "race@pec.test", PEC_TRACE_PREAVVISO_12H) == 1);
    }
    /* issue 12 #4: a notice is leased, not marked sent, until it went out.  A lease held by a run that
     * died is taken over once it expired; a lease given back after a failed send is free at once. */
    {
        struct pec_trace_rcpt rl[] = { { "l@pec-remoto.test", PEC_RCPT_CERTIFICATO, 0 },
                                       { "m@pec-remoto.test", PEC_RCPT_CERTIFICATO, 0 } };
        const time_t at = T0 + 12 * h;

        CHECK(accept_simple(t, "L@pec.test", "m@pec.test", "L", rl, 2, T0, &err) == 0);
        CHECK(pec_trace_claim_notice(t, PEC_NOTICE_12H, "L@pec.test", "l@pec-remoto.test", at, &err) == 1);
        /* the run dies here: nothing sent, nothing recorded */
        due_at(t, at + 60, &l);
        CHECK(!has(&l, "L@pec.test", "l@pec-remoto.test", 12) && has(&l, "L@pec.test", "m@pec-remoto.test", 12));
        CHECK(pec_trace_claim_notice(t2, PEC_NOTICE_12H, "L@pec.test", "l@pec-remoto.test", at + 60, &err) == 0);
        due_at(t, at + PEC_TRACE_NOTICE_LEASE, &l);
        CHECK(has(&l, "L@pec.test", "l@pec-remoto.test", 12));
        CHECK(claim(t2, 12, "L@pec.test", "l@pec-remoto.test", at + PEC_TRACE_NOTICE_LEASE) == 1);
        CHECK(claim(t, 12, "L@pec.test", "l@pec-remoto.test", at + 3 * PEC_TRACE_NOTICE_LEASE) == 0);
        /* a failed send gives the lease back: the next run sends it */
        CHECK(pec_trace_claim_notice(t, PEC_NOTICE_12H, "L@pec.test", "m@pec-remoto.test", at, &err) == 1);
        CHECK(pec_trace_notice_release(t, PEC_NOTICE_12H, "L@pec.test", "m@pec-remoto.test", &err) == 0);
        CHECK(claim(t2, 12, "L@pec.test", "m@pec-remoto.test", at + 1) == 1);
        CHECK(count_type(t, "L@pec.test", PEC_TRACE_PREAVVISO_12H) == 2);
        due_at(t, at + 10 * PEC_TRACE_NOTICE_LEASE, &l);
        CHECK(!has(&l, "L@pec.test", "l@pec-remoto.test", 12) && !has(&l, "L@pec.test", "m@pec-remoto.test", 12));
    }
    /* issue 12 #6: a message certified at end of message but never queued by Postfix (no accettazione
     * was ever emitted for it) gets no notices; once its accettazione is recorded, it does */
    {
        struct pec_trace_rcpt ru = { "u@pec-remoto.test", PEC_RCPT_CERTIFICATO, 0 };
        struct pec_trace_message m;
        struct pec_trace_event ev;

        memset(&m, 0, sizeof(m));
        m.identificativo = "U@pec.test";
        m.sender = "m@pec.test";
        m.accepted_at = T0;
        m.rcpts = &ru;
        m.n_rcpts = 1;
        memset(&ev, 0, sizeof(ev));
        ev.time = T0;
        ev.type = PEC_TRACE_BUSTA_TRASPORTO;
        ev.identificativo = "U@pec.test";
        ev.sender = "m@pec.test";
        ev.rcpts = &ru;
        ev.n_rcpts = 1;
        CHECK(pec_trace_accept(t, &m, &ev, 1, &err) == 0);
        due_at(t, T0 + 13 * h, &l);
        CHECK(!has(&l, "U@pec.test", "u@pec-remoto.test", 12));
        CHECK(claim(t, 12, "U@pec.test", "u@pec-remoto.test", T0 + 13 * h) == 0);
        ev.type = PEC_TRACE_ACCETTAZIONE;
        ev.time = T0 + 1;
        CHECK(pec_trace_record(t, &ev, 1, NULL, 0, &err) == 0);
        due_at(t, T0 + 13 * h, &l);
        CHECK(has(&l, "U@pec.test", "u@pec-remoto.test", 12));
    }
    CHECK(pec_trace_verify(t, NULL, NULL, NULL, &err) == 0);
    pec_trace_free(&t);
    pec_trace_free(&t2);
}

struct type_count {
    enum pec_trace_type type;
    int n;
};

/* count_one_type - count rows of one event type */
static int count_one_type(const struct pec_trace_row *row, void *ctx)
{
    struct type_count *c = ctx;

    c->n += row->ev.type == c->type;
    return 0;
}

/* count_type - events of one type about id */
static int count_type(struct pec_trace *t, const char *id, enum pec_trace_type type)
{
    struct pec_error err = { PEC_ERR_NONE, "" };
    struct type_count c = { type, 0 };
    struct pec_trace_query q;

    memset(&q, 0, sizeof(q));
    q.identificativo = id;
    if (pec_trace_search(t, &q, count_one_type, &c, &err) < 0) {
        fprintf(stderr, "search: %s\n", err.msg);
        return -1;
    }
    return c.n;
}

/* ---- index copy and cache ---- */

static time_t fake_now;
/* fake_clock - the injected clock of the cache test */
static time_t fake_clock(void *ctx)
{
    return fake_now;
}

static const char LDIF_A[] = "dn: providerName=Gestore A,o=postacert\n"
                             "objectClass: provider\n"
                             "providerName: Gestore A\n"
                             "providerCertificateHash: 0123456789ABCDEF0123456789ABCDEF01234567\n"
                             "mailReceipt: posta-certificata@pec-a.test\n"
                             "managedDomains: pec-a.test\n";
static const char LDIF_B[] = "dn: providerName=Gestore B,o=postacert\n"
                             "objectClass: provider\n"
                             "providerName: Gestore B\n"
                             "providerCertificateHash: 89ABCDEF0123456789ABCDEF0123456789ABCDEF\n"
                             "mailReceipt: posta-certificata@pec-b.test\n"
                             "managedDomains: pec-b.test\n"
                             "managedDomains: pec-b2.test\n";
static const char LDIF_BAD[] = "dn: providerName=Gestore C,o=postacert\n"
                               "objectClass: provider\n"
                               "providerName: Gestore C\n"
                               "providerCertificateHash: 89ABCDEF0123456789ABCDEF0123456789ABCDEF\n"
                               "managedDomains: pec-c.test\n";

/* test_cache - index copy replaced atomically, cache refreshed, snapshots outlive refreshes */
static void test_cache(void)
{
    struct pec_error err = { PEC_ERR_NONE, "" };
    struct pec_trace *t = open_store(conninfo(), 8, 5000);
    struct pec_clock clock = { fake_clock, NULL };
    struct pec_trace_index_cache *c;
    const struct pec_index *i1, *i2, *i3;
    long long v1 = 0, v2 = 0;

    fake_now = T0;
    c = pec_trace_index_cache_new(t, 60, &clock);
    err.cls = PEC_ERR_NONE;
    CHECK(pec_trace_index_cache_acquire(c, &err) == NULL); /* nothing imported yet */
    CHECK(err.cls == PEC_ERR_PERMANENT);
    CHECK(pec_trace_index_replace(t, LDIF_A, sizeof(LDIF_A) - 1, "a.ldif", T0, &v1, &err) == 0);
    fake_now += 61;
    i1 = pec_trace_index_cache_acquire(c, &err);
    CHECK(i1 != NULL && pec_index_by_domain(i1, "PEC-A.test") != NULL);
    /* a malformed import leaves the copy alone */
    err.cls = PEC_ERR_NONE;
    CHECK(pec_trace_index_replace(t, LDIF_BAD, sizeof(LDIF_BAD) - 1, "bad.ldif", T0, NULL, &err) < 0);
    CHECK(err.cls == PEC_ERR_INVALID && strstr(err.msg, "mailReceipt") != NULL);
    CHECK(pec_trace_index_replace(t, "", 0, "empty.ldif", T0, NULL, &err) < 0);
    CHECK(pec_trace_index_replace(t, LDIF_B, sizeof(LDIF_B) - 1, "b.ldif", T0, &v2, &err) == 0);
    CHECK(v2 > v1);
    /* within the refresh period the snapshot stays */
    i2 = pec_trace_index_cache_acquire(c, &err);
    CHECK(i2 == i1);
    pec_trace_index_cache_release(c, &i2);
    fake_now += 61;
    i3 = pec_trace_index_cache_acquire(c, &err);
    CHECK(i3 != NULL && i3 != i1);
    CHECK(i3 != NULL && pec_index_by_domain(i3, "pec-b2.test") != NULL && pec_index_by_domain(i3, "pec-a.test") == NULL);
    /* the old snapshot is still usable until released */
    CHECK(i1 != NULL && pec_index_by_domain(i1, "pec-a.test") != NULL);
    pec_trace_index_cache_release(c, &i1);
    pec_trace_index_cache_release(c, &i3);
    CHECK(i1 == NULL && i3 == NULL);
    /* the database going away does not take the snapshot with it */
    CHECK(pgctl("stop") == 0);
    fake_now += 61;
    i1 = pec_trace_index_cache_acquire(c, &err);
    CHECK(i1 != NULL && pec_index_by_domain(i1, "pec-b.test") != NULL);
    pec_trace_index_cache_release(c, &i1);
    CHECK(pgctl("start") == 0);
    pec_trace_index_cache_free(&c);
    CHECK(c == NULL);
    pec_trace_free(&t);
}

/* ---- data for the shell tests ---- */

/* fill - one message a month for the 40 months before now (accepted mid-month), months shuffled */
static void fill(time_t now)
{
    struct pec_error err = { PEC_ERR_NONE, "" };
    struct pec_trace *t = open_store(conninfo(), 9, 5000);
    struct pec_trace_rcpt r = { "old@pec-remoto.test", PEC_RCPT_CERTIFICATO, 0 };
    int m;

    /* even months back first, then odd ones: the chain holds old and recent rows interleaved */
    for (m = 40; m != -1; m = m == 0 ? 39 : m - 2) {
        struct tm tm;
        time_t when;
        char id[64];

        gmtime_r(&now, &tm);
        tm.tm_mon -= m;
        tm.tm_mday = 15;
        tm.tm_hour = 12;
        when = timegm(&tm);
        snprintf(id, sizeof(id), "fill.%02d@pec.test", m);
        CHECK(accept_simple(t, id, "m@pec.test", "vecchio", &r, 1, when, &err) == 0);
        state(t, id, r.address, PEC_STATE_CONSEGNA, when + 60);
    }
    pec_trace_free(&t);
}

/* sample - two messages with full lifecycles for the log tests */
static void sample(void)
{
    struct pec_error err = { PEC_ERR_NONE, "" };
    struct pec_trace *t = open_store(conninfo(), 10, 5000);
    struct pec_trace_rcpt r[] = { { "Bob@Pec-Remoto.test", PEC_RCPT_CERTIFICATO, 0 },
                                  { "carol@example.org", PEC_RCPT_ESTERNO, 1 } };
    struct pec_trace_event ev[2];

    CHECK(accept_simple(t, "sample.1@pec.test", "alice@pec.test", "Contratto \"firmato\"\nriga 2", r, 2, T0,
                        &err) == 0);
    memset(ev, 0, sizeof(ev));
    ev[0].time = T0 + 1;
    ev[0].type = PEC_TRACE_BUSTA_TRASPORTO;
    ev[0].identificativo = "sample.1@pec.test";
    ev[0].message_id = "<sample.1@pec.test>";
    ev[0].queue_id = "4QX1";
    ev[0].sender = "alice@pec.test";
    ev[0].rcpts = r;
    ev[0].n_rcpts = 2;
    {
        struct pec_trace_update up[2] = { { "sample.1@pec.test", "bob@pec-remoto.test", PEC_STATE_RELAYED, T0 + 1,
                                            NULL, NULL },
                                          { "sample.1@pec.test", "carol@example.org", PEC_STATE_RELAYED, T0 + 1,
                                            NULL, NULL } };

        CHECK(pec_trace_record(t, ev, 1, up, 2, &err) == 0);
    }
    state(t, "sample.1@pec.test", "bob@pec-remoto.test", PEC_STATE_PRESA_IN_CARICO, T0 + 2);
    state(t, "sample.1@pec.test", "bob@pec-remoto.test", PEC_STATE_CONSEGNA, T0 + 3);
    CHECK(accept_simple(t, "sample.2@pec.test", "dave@pec.test", "Altro", r, 1, T0 + 7200, &err) == 0);
    if (err.cls != PEC_ERR_NONE)
        fprintf(stderr, "%s\n", err.msg);
    pec_trace_free(&t);
}

/* main - run one mode */
int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";

    if (strcmp(mode, "hostile") == 0)
        test_hostile();
    else if (strcmp(mode, "outage") == 0)
        test_outage();
    else if (strcmp(mode, "claim") == 0)
        test_claim();
    else if (strcmp(mode, "timers") == 0)
        test_timers();
    else if (strcmp(mode, "cache") == 0)
        test_cache();
    else if (strcmp(mode, "fill") == 0 && argc > 2)
        fill((time_t)strtoll(argv[2], NULL, 10));
    else if (strcmp(mode, "sample") == 0)
        sample();
    else {
        fprintf(stderr, "usage: test_trace hostile|outage|claim|timers|cache|fill NOW|sample\n");
        return 2;
    }
    return CHECK_DONE();
}
