/* emitter.c - pec-emitter: the LMTP listener that receives the marker copies Postfix delivers once a
 * message is durably queued, and sends what the outbox owes for them (see outbox.h).
 *
 * Each owed message carries the trace facts its point computed (pec/trace_facts.h): they are recorded
 * once the message is handed to Postfix, without reading the message again.
 * usage: pec-emitter -c CONFIG -l unix:/PATH|HOST:PORT [-u USER] [-g GROUP] [-R SECS] [-S]
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

static const struct pec_config *cfg; /* set once in main, read-only afterwards */
static int retry_secs = 60;          /* -R: how often pending outbox entries are retried */
static atomic_int sessions;          /* open LMTP sessions */
static struct pec_trace *trace;      /* thread-safe store; NULL when no database is configured */

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
    struct pec_trace_facts_copy f;
    struct pec_error err = { 0 };
    int rc = 0;

    if (read_facts(facts, facts_len, msg, len, &f) < 0)
        return -1;
    if (pec_submitter_send(ctx, cfg->service_address, rcpt, msg, len, &err) < 0) {
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
    struct pec_error err = { 0 };

    (void)ctx;
    if (pec_quarantine_write(cfg->quarantine_dir, name, msg, len, &err) < 0) {
        pec_warn("pec-emitter: %s", err.msg);
        return -1;
    }
    return 0;
}

/* marker_key - the outbox key of a marker recipient "<key@marker_domain>", or NULL */
static char *marker_key(const char *arg)
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
    struct pec_submitter *submitter = pec_submitter_new(cfg);
    const struct pec_outbox_sink sink = { sink_inject, sink_quarantine, submitter };

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
            char *key = marker_key(cmd + 8);
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
    pec_submitter_free(&submitter);
    close(c->fd);
    free(c);
    atomic_fetch_sub(&sessions, 1);
    return NULL;
}

/* housekeeping - retry the pending entries now and every retry_secs (they are ours once their marker
 * came: also those a previous run left), sweep the outbox now and every SWEEP_EVERY_SECS */
static void *housekeeping(void *arg)
{
    struct pec_submitter *submitter = pec_submitter_new(cfg);
    const struct pec_outbox_sink sink = { sink_inject, sink_quarantine, submitter };
    time_t last_sweep = 0;

    (void)arg;
    for (;;) {
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

int main(int argc, char **argv)
{
    const char *config = NULL, *listen_spec = NULL, *user = NULL, *group = NULL;
    struct pec_runtime *rt;
    struct pec_error err = { 0 };
    int opt, lfd;

    while ((opt = getopt(argc, argv, "c:l:u:g:R:S")) != -1) {
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
        else
            return 2;
    }
    if (config == NULL || listen_spec == NULL) {
        fprintf(stderr, "usage: pec-emitter -c CONFIG -l unix:/PATH|HOST:PORT [-u USER] [-g GROUP] [-R SECS] [-S]\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    pec_mime_init();
    if ((rt = pec_runtime_load(config, time(NULL), &err)) == NULL)
        pec_fatal("pec-emitter: %s", err.msg);
    cfg = rt->cfg;
    if (pec_runtime_check(rt, PEC_ROLE_EMITTER, 1, log_line, log_line, NULL) > 0)
        pec_fatal("pec-emitter: %s: not starting: the configuration above would send untraced receipts", config);
    if (cfg->outbox_dir == NULL || cfg->marker_domain == NULL)
        pec_fatal("pec-emitter: %s: outbox_dir and marker_domain are required", config);
    if (cfg->database) {
        struct pec_trace_settings ts = { cfg->node_id, 8, 3, 5000 };
        if ((trace = pec_trace_open(cfg->database, &ts, &err)) == NULL)
            pec_fatal("pec-emitter: %s: database: %s", config, err.msg);
    }
    lfd = listen_on(listen_spec, user, group);
    if (user && pec_privs_drop(user, &err) < 0)
        pec_fatal("pec-emitter: %s", err.msg);
    if (user == NULL && geteuid() == 0)
        pec_warn("pec-emitter: running as root: start it with -u USER (the service account)");
    {
        pthread_t th;
        if (pthread_create(&th, NULL, housekeeping, NULL) != 0)
            pec_fatal("pec-emitter: cannot start the outbox housekeeping");
        pthread_detach(th);
    }
    pec_info("pec-emitter: %s listening on %s", cfg->mail_domain, listen_spec);
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
