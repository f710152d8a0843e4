/* cmd_trace_bench.c - pecctl trace bench: message lifecycles per second written to the trace.
 *
 * A lifecycle is what the trace sees of one certified message with one recipient: accepted (message,
 * recipient and accettazione event), relayed (busta-trasporto), presa in carico received, avvenuta
 * consegna received: four transactions, each committed with synchronous commit.  Threads share one
 * store, as the milter's connection threads do.  Also the load of the concurrency test: identifiers are
 * unique per --prefix (default: the pid), so processes can run side by side.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "dbcmd.h"
#include "pecctl.h"

struct bench {
    struct pec_trace *t;
    const char *prefix;
    unsigned long per_thread;
    unsigned long done, failed; /* guarded by mu */
    pthread_mutex_t mu;
};

struct worker {
    struct bench *b;
    unsigned index;
};

/* lifecycle - the four transactions of message n of a thread; -1 on the first failure */
static int lifecycle(struct bench *b, unsigned thread, unsigned long n, struct pec_error *err)
{
    char id[128], msgid[160], rid[4][160], rcpt[64], sender[64], subject[96];
    struct pec_trace_rcpt r;
    struct pec_trace_message m;
    struct pec_trace_event ev;
    struct pec_trace_update up;
    static const enum pec_trace_type types[4] = { PEC_TRACE_ACCETTAZIONE, PEC_TRACE_BUSTA_TRASPORTO,
                                                  PEC_TRACE_PRESA_IN_CARICO, PEC_TRACE_AVVENUTA_CONSEGNA };
    static const enum pec_trace_state states[4] = { 0, PEC_STATE_RELAYED, PEC_STATE_PRESA_IN_CARICO,
                                                    PEC_STATE_CONSEGNA };
    time_t now = time(NULL);
    int k;

    snprintf(id, sizeof(id), "bench.%s.%u.%lu@pec-bench.test", b->prefix, thread, n);
    snprintf(msgid, sizeof(msgid), "<client.%s.%u.%lu@mua.test>", b->prefix, thread, n);
    snprintf(rcpt, sizeof(rcpt), "dest%lu@pec-remoto.test", n % 1000);
    snprintf(sender, sizeof(sender), "mitt%u@pec-bench.test", thread);
    snprintf(subject, sizeof(subject), "Fattura n. %lu del thread %u", n, thread);
    for (k = 0; k < 4; k++)
        snprintf(rid[k], sizeof(rid[k]), "<r%d.%s.%u.%lu@pec-bench.test>", k, b->prefix, thread, n);
    r.address = rcpt;
    r.kind = PEC_RCPT_CERTIFICATO;
    r.cc = 0;
    for (k = 0; k < 4; k++) {
        memset(&ev, 0, sizeof(ev));
        ev.time = now;
        ev.type = types[k];
        ev.identificativo = id;
        ev.message_id = k == 1 ? id : rid[k];
        ev.queue_id = k < 2 ? "4BQX1k2Fz9z9sQ" : NULL;
        ev.sender = sender;
        ev.rcpts = &r;
        ev.n_rcpts = 1;
        ev.subject = subject;
        ev.gestore = k < 2 ? "Gestore Bench S.p.A." : "Gestore Remoto S.p.A.";
        ev.receipt_type = "completa";
        if (k == 0) {
            memset(&m, 0, sizeof(m));
            m.identificativo = id;
            m.client_msgid = msgid;
            m.sender = sender;
            m.subject = subject;
            m.receipt_type = "completa";
            m.queue_id = "4BQX1k2Fz9z9sQ";
            m.accepted_at = now;
            m.rcpts = &r;
            m.n_rcpts = 1;
            if (pec_trace_accept(b->t, &m, &ev, 1, err) < 0)
                return -1;
            continue;
        }
        memset(&up, 0, sizeof(up));
        up.identificativo = id;
        up.address = rcpt;
        up.state = states[k];
        up.time = now;
        if (pec_trace_record(b->t, &ev, 1, &up, 1, err) < 0)
            return -1;
    }
    return 0;
}

/* work - one thread's share of the lifecycles */
static void *work(void *arg)
{
    struct worker *w = arg;
    struct bench *b = w->b;
    unsigned long n, ok = 0, bad = 0;

    for (n = 0; n < b->per_thread; n++) {
        struct pec_error err = { PEC_ERR_NONE, "" };

        if (lifecycle(b, w->index, n, &err) < 0) {
            if (bad++ < 5)
                fprintf(stderr, "pecctl trace bench: thread %u message %lu: %s\n", w->index, n, err.msg);
        } else {
            ok++;
        }
    }
    pthread_mutex_lock(&b->mu);
    b->done += ok;
    b->failed += bad;
    pthread_mutex_unlock(&b->mu);
    return NULL;
}

/* seconds - a monotonic clock reading */
static double seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* cmd_trace_bench - run the benchmark and print the rate */
int cmd_trace_bench(int argc, char **argv)
{
    struct bench b;
    struct db_opts o;
    struct worker *w;
    pthread_t *tid;
    unsigned long messages = 1000, threads = 4, i;
    char pid[32];
    double t0, dt;
    int r;

    memset(&b, 0, sizeof(b));
    snprintf(pid, sizeof(pid), "%ld", (long)getpid());
    b.prefix = pid;
    db_opts_init(&o);
    for (i = 1; i < (unsigned long)argc; i++) {
        int k = (int)i;
        char *end;

        r = db_opt(&o, "trace bench", argc, argv, &k);
        i = (unsigned long)k;
        if (r < 0)
            goto usage;
        if (r > 0)
            continue;
        if (i + 1 >= (unsigned long)argc)
            goto usage;
        if (strcmp(argv[i], "--messages") == 0 && (messages = strtoul(argv[i + 1], &end, 10)) > 0 && !*end)
            i++;
        else if (strcmp(argv[i], "--threads") == 0 && (threads = strtoul(argv[i + 1], &end, 10)) > 0 &&
                 threads <= 64 && !*end)
            i++;
        else if (strcmp(argv[i], "--prefix") == 0)
            b.prefix = argv[++i];
        else
            goto usage;
    }
    b.t = db_open(&o, "trace bench");
    if (b.t == NULL) {
        db_opts_clear(&o);
        return PECCTL_NOT_VALID;
    }
    /* db_open sized the pool at 8; more threads than connections would only measure the pool */
    if (threads > 8) {
        struct pec_error err = { PEC_ERR_NONE, "" };
        struct pec_trace_settings set = { pec_trace_node(b.t), (unsigned)threads, 0, 0 };
        const char *conninfo = o.conninfo ? o.conninfo : o.cfg ? o.cfg->database : "";

        pec_trace_free(&b.t);
        b.t = pec_trace_open(conninfo, &set, &err);
        if (b.t == NULL) {
            fprintf(stderr, "pecctl trace bench: %s\n", err.msg);
            db_opts_clear(&o);
            return PECCTL_NOT_VALID;
        }
    }
    b.per_thread = (messages + threads - 1) / threads;
    pthread_mutex_init(&b.mu, NULL);
    w = calloc(threads, sizeof(*w));
    tid = calloc(threads, sizeof(*tid));
    if (w == NULL || tid == NULL) {
        fprintf(stderr, "pecctl trace bench: out of memory\n");
        return PECCTL_NOT_VALID;
    }
    t0 = seconds();
    for (i = 0; i < threads; i++) {
        w[i].b = &b;
        w[i].index = (unsigned)i;
        if (pthread_create(&tid[i], NULL, work, &w[i]) != 0) {
            fprintf(stderr, "pecctl trace bench: cannot start thread %lu\n", i);
            threads = i;
            break;
        }
    }
    for (i = 0; i < threads; i++)
        pthread_join(tid[i], NULL);
    dt = seconds() - t0;
    printf("%lu lifecycles (%lu transactions, synchronous commit) by %lu threads in %.2f s: "
           "%.0f lifecycles/s, %.0f transactions/s; %lu failed\n",
           b.done, 4 * b.done, threads, dt, (double)b.done / dt, 4.0 * (double)b.done / dt, b.failed);
    free(w);
    free(tid);
    pthread_mutex_destroy(&b.mu);
    pec_trace_free(&b.t);
    db_opts_clear(&o);
    return b.failed ? PECCTL_NOT_VALID : PECCTL_OK;
usage:
    db_opts_clear(&o);
    fputs("usage: pecctl trace bench [--messages N] [--threads N] [--prefix P] " DB_OPTS_USAGE "\n", stderr);
    return PECCTL_USAGE;
}
