/* emitter.c - pec-emitter: the LMTP listener that receives the marker copies Postfix delivers once a
 * message is durably queued, and sends what the outbox owes for them (see outbox.h).
 *
 * Each owed message carries the trace facts its point computed (pec/trace_facts.h): they are recorded
 * once the message is handed to Postfix, without reading the message again.
 * usage: pec-emitter -c CONFIG -l unix:/PATH|HOST:PORT [-u USER] [-g GROUP] [-R SECS] [-S]
 *        pec-emitter -n -c CONFIG [-u USER]   (check the configuration as USER, exit 0 when it would serve)
 * SIGHUP or SIGUSR1 loads the configuration again (reloader below).
 *   -S: log to syslog, mail facility; -u: started as root, become USER once the key is loaded and the
 *   socket open; a unix socket is mode 0660, owned by USER and of group GROUP, the MTA's; -R: retry the
 *   pending outbox entries every SECS (default 60)
 * A session silent for READ_TIMEOUT_SECS is closed; at most MAX_SESSIONS at once (more: 421).
 * One thread per LMTP connection, each with its own submitter (a kept SMTP connection to Postfix when
 * submit_address is set); per-recipient replies as LMTP requires: 250 once the entry's messages
 * are handed to Postfix, or once the entry is durably flagged queued (what could not be sent yet is
 * retried here every -R seconds, across restarts: Postfix's marker lifetime no longer matters), 451 when
 * not even that could be done (Postfix retries the marker later).
 */
#define _GNU_SOURCE /* accept4 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "pec/buf.h"
#include "pec/log.h"
#include "pec/submit.h"
#include "pec/mime.h"
#include "pec/net.h"
#include "pec/message.h"
#include "pec/outbox.h"
#include "pec/privs.h"
#include "pec/quarantine.h"
#include "pec/runtime.h"
#include "pec/slot.h"
#include "pec/trace_facts.h"

/* Outbox housekeeping: Postfix gives up on a message (and on its marker) after maximal_queue_lifetime,
 * one day for PEC; served entries are kept twice that so a late retried marker is still recognised,
 * and an entry whose marker has not come in three days is reported and set aside (kept). */
#define SWEEP_EVERY_SECS 3600
#define KEEP_DONE_SECS (2 * 24 * 3600)
#define KEEP_UNCLAIMED_SECS (3 * 24 * 3600)

/* A session whose client sends nothing for this long is closed (Postfix's LMTP client gives up on us after
 * about as long). */
#define READ_TIMEOUT_SECS 300
/* Sessions at once: above Postfix's default_process_limit (100), the most LMTP clients it runs; more is a
 * misconfiguration or someone else, answered 421 (Postfix retries). */
#define MAX_SESSIONS 128

/* One load of the configuration: what a session or a retry round works with, from start to end. */
struct setup {
    struct pec_runtime *rt;   /* loaded for the start-up check (the emitter signs nothing itself) */
    const struct pec_config *cfg;
    struct pec_trace *trace;  /* thread-safe store; NULL when no database is configured */
};

/* What a sink works with: the set-up its session took, and the session's submitter. */
struct sink_ctx {
    const struct setup *setup;
    struct pec_submitter *submitter;
};

static struct pec_slot *setups;      /* the current set-up; replaced at a reload (SIGHUP, SIGUSR1) */
static int retry_secs = 60;          /* -R: how often pending outbox entries are retried */
static atomic_int sessions;          /* open LMTP sessions */

/* read_facts - what to trace for one owed message: the facts its point spooled beside it, or, for an
 * entry written by an older pec-milter without them, the message read back.  0, or -1 (nothing is sent:
 * the entry waits, its marker retried). */
static int read_facts(const void *facts, size_t facts_len, const void *msg, size_t len,
                      struct pec_trace_facts_copy *f)
{
    struct pec_analysis a;
    struct pec_trace_facts old;
    struct pec_error err = { 0 };
    int rc = 0;

    memset(f, 0, sizeof(*f));
    if (facts_len > 0) {
        if (pec_trace_facts_decode(facts, facts_len, f, &err) == 0)
            return 0;
        pec_warn("pec-emitter: %s", err.msg);
        return -1;
    }
    if (pec_message_analyze(msg, len, NULL, &a, &err) < 0) {
        pec_warn("pec-emitter: cannot read back a message spooled without facts: %s", err.msg);
        return -1;
    }
    pec_warn("pec-emitter: a message spooled without trace facts (older pec-milter): traced from its content");
    if (pec_trace_facts_of(&a, 0, a.has_daticert ? a.daticert.when : time(NULL), NULL, &old) == 0) {
        struct pec_buf b = PEC_BUF_INIT;
        pec_trace_facts_encode(&old.ev, old.up, old.n_up, &b);
        rc = pec_trace_facts_decode(b.data, b.len, f, &err);
        pec_buf_release(&b);
        pec_trace_facts_clear(&old);
    }
    pec_analysis_clear(&a);
    return rc;
}

struct lmtp_conn {
    int fd;
    char in[65536];
    size_t in_len;
};

/* send_line - one reply line */
static int send_line(struct lmtp_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int send_line(struct lmtp_conn *c, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(buf) - 2, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(buf) - 2)
        n = (int)sizeof(buf) - 3;
    memcpy(buf + n, "\r\n", 2);
    return send(c->fd, buf, (size_t)n + 2, MSG_NOSIGNAL) == n + 2 ? 0 : -1;
}

/* read_line - the next CRLF/LF-terminated line into line (without its end); -1 on EOF */
static int read_line(struct lmtp_conn *c, struct pec_buf *line)
{
    pec_buf_reset(line);
    for (;;) {
        char *nl = memchr(c->in, '\n', c->in_len);
        ssize_t n;

        if (nl) {
            size_t len = (size_t)(nl - c->in);
            pec_buf_append(line, c->in, len > 0 && nl[-1] == '\r' ? len - 1 : len);
            c->in_len -= len + 1;
            memmove(c->in, nl + 1, c->in_len);
            return 0;
        }
        if (c->in_len == sizeof(c->in)) { /* an overlong line: keep it, read on */
            pec_buf_append(line, c->in, c->in_len);
            c->in_len = 0;
        }
        n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, 0);
        if (n <= 0)
            return -1;
        c->in_len += (size_t)n;
    }
}

/* sink_inject - hand one owed message to Postfix (ctx: the session's submitter), then record its facts:
 * a failure of the record retries the message, and a re-sent copy keeps its Message-ID.  A message
 * Postfix refuses for good (5xx) is traced as ricevuta-rifiutata and not retried (1). */
static int sink_inject(void *ctx, const char *rcpt, const void *msg, size_t len, const void *facts, size_t facts_len)
{
    const struct sink_ctx *sc = ctx;
    const struct pec_config *cfg = sc->setup->cfg;
    struct pec_trace *trace = sc->setup->trace;
    struct pec_trace_facts_copy f;
    struct pec_error err = { 0 };
    int rc = 0;

    if (read_facts(facts, facts_len, msg, len, &f) < 0)
        return -1;
    if (pec_submitter_send(sc->submitter, cfg->service_address, rcpt, msg, len, &err) < 0) {
        pec_warn("pec-emitter: %s", err.msg);
        rc = -1;
        if (err.cls == PEC_ERR_PERMANENT) {
            /* refused for good: retrying cannot help; traced as refused, never as sent */
            struct pec_error terr = { 0 };
            char reason[sizeof(err.msg)];
            snprintf(reason, sizeof(reason), "%s", err.msg);
            f.ev.type = PEC_TRACE_RICEVUTA_RIFIUTATA;
            f.ev.errore = pec_errore_name(PEC_ERRORE_ALTRO);
            f.ev.errore_esteso = reason;
            if (!trace || pec_trace_record(trace, &f.ev, 1, NULL, 0, &terr) == 0)
                rc = 1;
            else
                pec_warn("pec-emitter: trace: %s", terr.msg);
        }
    } else if (trace && f.ev.type != PEC_TRACE_NONE && pec_trace_record(trace, &f.ev, 1, f.up, f.n_up, &err) < 0) {
        pec_warn("pec-emitter: trace: %s", err.msg);
        rc = -1;
    }
    pec_trace_facts_copy_clear(&f);
    return rc;
}

/* sink_quarantine - keep an infected message for 30 months (the folder is the operator's archive) */
static int sink_quarantine(void *ctx, const char *name, const void *msg, size_t len)
{
    const struct sink_ctx *sc = ctx;
    struct pec_error err = { 0 };

    if (pec_quarantine_write(sc->setup->cfg->quarantine_dir, name, msg, len, &err) < 0) {
        pec_warn("pec-emitter: %s", err.msg);
        return -1;
    }
    return 0;
}

/* marker_key - the outbox key of a marker recipient "<key@marker_domain>", or NULL */
static char *marker_key(const struct pec_config *cfg, const char *arg)
{
    const char *lt = strchr(arg, '<'), *at, *gt;

    if (lt == NULL || (gt = strchr(lt, '>')) == NULL || (at = memchr(lt, '@', (size_t)(gt - lt))) == NULL)
        return NULL;
    if ((size_t)(gt - at - 1) != strlen(cfg->marker_domain) ||
        strncasecmp(at + 1, cfg->marker_domain, (size_t)(gt - at - 1)) != 0)
        return NULL;
    return strndup(lt + 1, (size_t)(at - lt - 1));
}

/* read_data - the message after DATA, dot-unstuffed, up to the lone dot */
static int read_data(struct lmtp_conn *c, struct pec_buf *msg)
{
    struct pec_buf line = PEC_BUF_INIT;
    int rc = -1;

    while (read_line(c, &line) == 0) {
        if (line.len == 1 && line.data[0] == '.') {
            rc = 0;
            break;
        }
        pec_buf_append(msg, line.data[0] == '.' ? line.data + 1 : line.data, line.data[0] == '.' ? line.len - 1 : line.len);
        pec_buf_puts(msg, "\r\n");
    }
    pec_buf_release(&line);
    return rc;
}

/* serve - one LMTP session */
static void *serve(void *arg)
{
    struct lmtp_conn *c = arg;
    struct pec_buf line = PEC_BUF_INIT, msg = PEC_BUF_INIT;
    struct pec_strv keys = PEC_STRV_INIT;
    const struct pec_held *held = pec_slot_acquire(setups); /* this session's set-up, whatever reloads */
    const struct setup *setup = held->obj;
    const struct pec_config *cfg = setup->cfg;
    struct sink_ctx sc = { setup, pec_submitter_new(cfg) };
    const struct pec_outbox_sink sink = { sink_inject, sink_quarantine, &sc };

    send_line(c, "220 %s pec-emitter LMTP", cfg->mail_domain);
    while (read_line(c, &line) == 0) {
        const char *cmd = line.data ? line.data : "";

        if (strncasecmp(cmd, "LHLO", 4) == 0) {
            send_line(c, "250-%s", cfg->mail_domain);
            send_line(c, "250-8BITMIME");
            send_line(c, "250 ENHANCEDSTATUSCODES");
        } else if (strncasecmp(cmd, "MAIL FROM:", 10) == 0) {
            pec_strv_clear(&keys);
            send_line(c, "250 2.1.0 OK");
        } else if (strncasecmp(cmd, "RCPT TO:", 8) == 0) {
            char *key = marker_key(cfg, cmd + 8);
            if (key == NULL) {
                send_line(c, "550 5.1.1 not an outbox marker");
            } else {
                pec_strv_push(&keys, key);
                send_line(c, "250 2.1.5 OK");
                free(key);
            }
        } else if (strcasecmp(cmd, "DATA") == 0) {
            if (keys.n == 0) {
                send_line(c, "503 5.5.1 no valid recipients");
                continue;
            }
            send_line(c, "354 go ahead");
            pec_buf_reset(&msg);
            if (read_data(c, &msg) < 0)
                break;
            for (size_t i = 0; i < keys.n; i++) {
                struct pec_error err = { 0 };
                int rc = pec_outbox_process(cfg->outbox_dir, keys.v[i], msg.data, msg.len, &sink, &err);
                if (rc == 0) {
                    pec_info("pec-emitter: outbox %s sent", keys.v[i]);
                    send_line(c, "250 2.0.0 %s sent", keys.v[i]);
                } else if (rc > 0) { /* known queued, durably: we retry it ourselves */
                    pec_warn("pec-emitter: outbox %s: %s; kept, retried every %d s", keys.v[i], err.msg, retry_secs);
                    send_line(c, "250 2.0.0 %s kept, retried by pec-emitter", keys.v[i]);
                } else {
                    pec_warn("pec-emitter: outbox %s: %s", keys.v[i], err.msg);
                    send_line(c, "451 4.3.0 %s not sent, retry", keys.v[i]);
                }
            }
            pec_strv_clear(&keys);
        } else if (strcasecmp(cmd, "RSET") == 0) {
            pec_strv_clear(&keys);
            send_line(c, "250 2.0.0 OK");
        } else if (strcasecmp(cmd, "NOOP") == 0) {
            send_line(c, "250 2.0.0 OK");
        } else if (strcasecmp(cmd, "QUIT") == 0) {
            send_line(c, "221 2.0.0 bye");
            break;
        } else {
            send_line(c, "500 5.5.2 unknown command");
        }
    }
    pec_strv_clear(&keys);
    pec_buf_release(&line);
    pec_buf_release(&msg);
    pec_submitter_free(&sc.submitter);
    pec_slot_release(setups, &held);
    close(c->fd);
    free(c);
    atomic_fetch_sub(&sessions, 1);
    return NULL;
}

/* housekeeping - retry the pending entries now and every retry_secs (they are ours once their marker
 * came: also those a previous run left), sweep the outbox now and every SWEEP_EVERY_SECS; each round
 * with the set-up current when it starts */
static void *housekeeping(void *arg)
{
    time_t last_sweep = 0;

    (void)arg;
    for (;;) {
        const struct pec_held *held = pec_slot_acquire(setups);
        const struct setup *setup = held->obj;
        const struct pec_config *cfg = setup->cfg;
        struct sink_ctx sc = { setup, pec_submitter_new(cfg) };
        const struct pec_outbox_sink sink = { sink_inject, sink_quarantine, &sc };
        struct pec_outbox_sweep_counts n;
        struct pec_error err = { 0 };
        unsigned pending = 0;
        int finished = pec_outbox_retry(cfg->outbox_dir, &sink, &pending, &err);

        if (finished < 0)
            pec_warn("pec-emitter: %s", err.msg);
        else if (finished + (int)pending > 0)
            pec_info("pec-emitter: outbox retry: %d entries finished, %u still pending", finished, pending);
        if (time(NULL) - last_sweep >= SWEEP_EVERY_SECS) {
            last_sweep = time(NULL);
            if (pec_outbox_sweep(cfg->outbox_dir, time(NULL), KEEP_DONE_SECS, KEEP_UNCLAIMED_SECS, &n, &err) < 0)
                pec_warn("pec-emitter: %s", err.msg);
            else if (n.done + n.unclaimed + n.partial > 0)
                pec_info("pec-emitter: outbox swept: %u served entries removed, %u unclaimed set aside, %u partial "
                         "removed", n.done, n.unclaimed, n.partial);
        }
        pec_submitter_free(&sc.submitter);
        pec_slot_release(setups, &held);
        sleep((unsigned)retry_secs);
    }
    return NULL;
}

/* log_line - a problem or notice of the start-up check */
static void log_line(void *ctx, const char *line)
{
    (void)ctx;
    pec_warn("pec-emitter: %s", line);
}

/* listen_on - a listener: "unix:/path" (mode 0660: the service's user and group, i.e. Postfix, only) or
 * IPv4:PORT */
static int listen_on(const char *spec, const char *user, const char *group)
{
    struct sockaddr_in sa;
    struct sockaddr_un su;
    struct pec_error err = { 0 };
    int fd, one = 1;

    if (strncmp(spec, "unix:", 5) == 0) {
        mode_t old;
        if (strlen(spec + 5) >= sizeof(su.sun_path) || spec[5] != '/')
            pec_fatal("pec-emitter: unix socket path must be absolute and short: %s", spec);
        memset(&su, 0, sizeof(su));
        su.sun_family = AF_UNIX;
        memcpy(su.sun_path, spec + 5, strlen(spec + 5));
        unlink(su.sun_path); /* a socket left by a previous run */
        old = umask(0117);
        if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 || bind(fd, (struct sockaddr *)&su, sizeof(su)) < 0 ||
            listen(fd, 64) < 0)
            pec_fatal("pec-emitter: cannot listen on %s: %s", spec, strerror(errno));
        umask(old);
        if ((user || group) && pec_privs_socket_owner(su.sun_path, user, group, &err) < 0)
            pec_fatal("pec-emitter: %s", err.msg);
        return fd;
    }
    if (pec_net_inet_address(spec, &sa) < 0)
        pec_fatal("pec-emitter: listen address must be unix:/PATH or IPv4-ADDRESS:PORT, not %s", spec);
    if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0)
        pec_fatal("pec-emitter: cannot listen on %s: %s", spec, strerror(errno));
    return fd;
}

/* print_line - a problem of the configuration check (-n) */
static void print_line(void *ctx, const char *line)
{
    (void)ctx;
    printf("%s\n", line);
}

/* setup_free - everything one load made (the slot's release function) */
static void setup_free(void *obj)
{
    struct setup *s = obj;

    pec_trace_free(&s->trace);
    pec_runtime_free(&s->rt);
    free(s);
}

/* setup_load - the configuration and what it names, checked for the emitter's role: the set-up, with
 * the check's problems reported through report and counted in *problems; NULL with err when something
 * does not load */
static struct setup *setup_load(const char *config, pec_report_fn report, int *problems, struct pec_error *err)
{
    struct setup *s = calloc(1, sizeof(*s));

    if (s == NULL)
        pec_panic("out of memory");
    if ((s->rt = pec_runtime_load(config, time(NULL), err)) == NULL)
        goto fail;
    s->cfg = s->rt->cfg;
    if (s->cfg->outbox_dir == NULL || s->cfg->marker_domain == NULL) {
        pec_error_set(err, PEC_ERR_INVALID, "%s: outbox_dir and marker_domain are required", config);
        goto fail;
    }
    *problems = pec_runtime_check(s->rt, PEC_ROLE_EMITTER, 1, report, report, NULL);
    if (s->cfg->database) {
        struct pec_trace_settings ts = { s->cfg->node_id, 8, 3, 5000 };
        if ((s->trace = pec_trace_open(s->cfg->database, &ts, err)) == NULL)
            goto fail;
    }
    return s;
fail:
    setup_free(s);
    return NULL;
}

/* reload_load - pec_slot_load_fn: the configuration again */
static void *reload_load(void *ctx, int *problems, struct pec_error *err)
{
    return setup_load(ctx, log_line, problems, err);
}

/* reloader - SIGHUP or SIGUSR1: the configuration again; sessions and the retry round already under way
 * finish with the set-up they took */
static void *reloader(void *arg)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1);
    pec_slot_reload_forever(setups, &set, "pec-emitter", arg, reload_load, arg);
}

int main(int argc, char **argv)
{
    const char *config = NULL, *listen_spec = NULL, *user = NULL, *group = NULL;
    struct setup *s;
    struct pec_error err = { 0 };
    int opt, lfd, check_only = 0, problems = 0;
    sigset_t reload_signals;

    while ((opt = getopt(argc, argv, "c:l:u:g:R:Sn")) != -1) {
        if (opt == 'R' && (retry_secs = atoi(optarg)) < 1)
            return 2;
        if (opt == 'R')
            continue;
        if (opt == 'u')
            user = optarg;
        else if (opt == 'g')
            group = optarg;
        else if (opt == 'S')
            pec_log_to_syslog("pec-emitter");
        else if (opt == 'c')
            config = optarg;
        else if (opt == 'l')
            listen_spec = optarg;
        else if (opt == 'n')
            check_only = 1;
        else
            return 2;
    }
    if (config == NULL || (listen_spec == NULL && !check_only)) {
        fprintf(stderr, "usage: pec-emitter -c CONFIG -l unix:/PATH|HOST:PORT [-u USER] [-g GROUP] [-R SECS] [-S]\n"
                        "       pec-emitter -n -c CONFIG [-u USER]\n");
        return 2;
    }
    /* before any thread exists, so that every thread inherits it: the reload signals are the reloader's */
    sigemptyset(&reload_signals);
    sigaddset(&reload_signals, SIGHUP);
    sigaddset(&reload_signals, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &reload_signals, NULL);
    signal(SIGPIPE, SIG_IGN);
    pec_mime_init();
    /* -n -u USER: check as the daemon will run (its files, its database role) */
    if (check_only && user && pec_privs_drop(user, &err) < 0)
        pec_fatal("pec-emitter: %s", err.msg);
    s = setup_load(config, check_only ? print_line : log_line, &problems, &err);
    if (check_only) {
        if (s == NULL)
            printf("%s\n", err.msg);
        problems = s ? problems : 1;
        printf("%s: %d problem%s for pec-emitter\n", config, problems, problems == 1 ? "" : "s");
        if (s)
            setup_free(s);
        return s != NULL && problems == 0 ? 0 : 1;
    }
    if (s == NULL)
        pec_fatal("pec-emitter: %s", err.msg);
    if (problems > 0)
        pec_fatal("pec-emitter: %s: not starting: the configuration above would send untraced receipts", config);
    setups = pec_slot_new(s, setup_free);
    lfd = listen_on(listen_spec, user, group);
    if (user && pec_privs_drop(user, &err) < 0)
        pec_fatal("pec-emitter: %s", err.msg);
    if (user == NULL && geteuid() == 0)
        pec_warn("pec-emitter: running as root: start it with -u USER (the service account)");
    {
        pthread_t keeper, reload;
        if (pthread_create(&keeper, NULL, housekeeping, NULL) != 0 ||
            pthread_create(&reload, NULL, reloader, (void *)config) != 0)
            pec_fatal("pec-emitter: cannot start the outbox housekeeping or the reloader");
        pthread_detach(keeper);
        pthread_detach(reload);
    }
    pec_info("pec-emitter: %s listening on %s", s->cfg->mail_domain, listen_spec);
    for (;;) {
        struct lmtp_conn *c;
        pthread_t th;
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            pec_fatal("pec-emitter: accept: %s", strerror(errno));
        }
        if (atomic_fetch_add(&sessions, 1) >= MAX_SESSIONS) {
            static const char busy[] = "421 4.3.2 too many sessions, try again later\r\n";
            (void)!send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL);
            close(fd);
            atomic_fetch_sub(&sessions, 1);
            continue;
        }
        {
            struct timeval tv = { READ_TIMEOUT_SECS, 0 };
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)); /* an idle client cannot hold a thread */
        }
        if ((c = calloc(1, sizeof(*c))) == NULL)
            pec_panic("out of memory");
        c->fd = fd;
        if (pthread_create(&th, NULL, serve, c) != 0) {
            close(fd);
            free(c);
            atomic_fetch_sub(&sessions, 1);
            continue;
        }
        pthread_detach(th);
    }
}
