/* submit_smtp.c - the submitter: SMTP to a milter-free loopback smtpd, or the sendmail command.
 *
 * The SMTP side is the minimum RFC 5321 client for a trusted local server: EHLO once per connection,
 * then MAIL / RCPT / DATA per message, no pipelining, no TLS, no AUTH.  A connection that went stale
 * between messages (smtpd's idle timeout) is reopened once. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include "pec/buf.h"
#include "pec/log.h"
#include "pec/net.h"
#include "pec/submit.h"
#include "pec/text.h"

#define SMTP_TIMEOUT_S 120

struct pec_submitter {
    const struct pec_config *cfg;
    int fd;                   /* -1: not connected */
    int eightbit;             /* the server announced 8BITMIME */
    char in[4096];            /* received, not yet consumed */
    size_t in_len;
    char reply[512];          /* last reply line, for error messages */
};

/* pec_submitter_new - not connected yet: the first message connects */
struct pec_submitter *pec_submitter_new(const struct pec_config *cfg)
{
    struct pec_submitter *s = calloc(1, sizeof(*s));

    if (s == NULL)
        pec_panic("out of memory");
    s->cfg = cfg;
    s->fd = -1;
    return s;
}

/* disconnect - drop the connection without ceremony */
static void disconnect(struct pec_submitter *s)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    s->in_len = 0;
}

/* read_reply - one whole (possibly multi-line) reply: its code, or -1 on I/O error or garbage.
 * Each line is offered to `line_cb` (EHLO keywords) */
static int read_reply(struct pec_submitter *s, void (*line_cb)(struct pec_submitter *, const char *))
{
    for (;;) {
        char *nl = memchr(s->in, '\n', s->in_len);
        ssize_t n;

        if (nl != NULL) {
            size_t len = (size_t)(nl - s->in);
            int last, code;

            if (len > 0 && s->in[len - 1] == '\r')
                len--;
            snprintf(s->reply, sizeof(s->reply), "%.*s", (int)len, s->in);
            s->in_len -= (size_t)(nl + 1 - s->in);
            memmove(s->in, nl + 1, s->in_len);
            if (strlen(s->reply) < 3 || s->reply[0] < '2' || s->reply[0] > '5' || s->reply[1] < '0' ||
                s->reply[1] > '9' || s->reply[2] < '0' || s->reply[2] > '9')
                return -1;
            code = atoi(s->reply);
            last = s->reply[3] != '-';
            if (line_cb)
                line_cb(s, s->reply + (s->reply[3] ? 4 : 3));
            if (last)
                return code;
            continue;
        }
        if (s->in_len == sizeof(s->in))
            return -1; /* a reply line longer than any server sends */
        n = recv(s->fd, s->in + s->in_len, sizeof(s->in) - s->in_len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        s->in_len += (size_t)n;
    }
}

/* command - send one command line and read its reply code (-1: I/O) */
static int command(struct pec_submitter *s, const char *line)
{
    char buf[1100];
    int n = snprintf(buf, sizeof(buf), "%s\r\n", line);

    if (n < 0 || (size_t)n >= sizeof(buf) || pec_net_send_all(s->fd, buf, (size_t)n) < 0)
        return -1;
    return read_reply(s, NULL);
}

/* ehlo_keyword - note the extensions we use */
static void ehlo_keyword(struct pec_submitter *s, const char *kw)
{
    if (strcasecmp(kw, "8BITMIME") == 0)
        s->eightbit = 1;
}

/* connect_session - connect, greeting, EHLO; 0 or -1 with err */
static int connect_session(struct pec_submitter *s, struct pec_error *err)
{
    const char *where = s->cfg->submit_address;
    char ehlo[300];
    int code;

    if ((s->fd = pec_net_connect(where, SMTP_TIMEOUT_S)) < 0) {
        pec_error_set(err, PEC_ERR_TEMPORARY, "submit: connect to %s: %s", where, strerror(errno));
        return -1;
    }
    s->eightbit = 0;
    if ((code = read_reply(s, NULL)) != 220)
        goto refused;
    snprintf(ehlo, sizeof(ehlo), "EHLO %s", s->cfg->mail_domain);
    if (pec_net_send_all(s->fd, ehlo, strlen(ehlo)) < 0 || pec_net_send_all(s->fd, "\r\n", 2) < 0)
        goto refused;
    if ((code = read_reply(s, ehlo_keyword)) != 250)
        goto refused;
    return 0;
refused:
    pec_error_set(err, PEC_ERR_TEMPORARY, "submit: %s: %s", where, code < 0 ? "connection lost" : s->reply);
    disconnect(s);
    return -1;
}

/* append_data - the message as SMTP DATA: CRLF line ends, leading dots doubled, the final dot line */
static void append_data(struct pec_buf *out, const char *msg, size_t len)
{
    size_t pos = 0;

    pec_buf_reserve(out, len + len / 40 + 8);
    while (pos < len) {
        const char *nl = memchr(msg + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - msg) : len, line_len = end - pos;

        if (line_len > 0 && msg[pos + line_len - 1] == '\r')
            line_len--;
        if (line_len > 0 && msg[pos] == '.')
            pec_buf_append(out, ".", 1);
        pec_buf_append(out, msg + pos, line_len);
        pec_buf_append(out, "\r\n", 2);
        pos = nl ? end + 1 : len;
    }
    pec_buf_append(out, ".\r\n", 3);
}

/* transaction - one message on an open session: the reply code that ended it (250 = queued), -1 on
 * I/O error; `stage` names the command that failed */
static int transaction(struct pec_submitter *s, const char *from, const char *rcpt, const void *msg, size_t len,
                       const char **stage)
{
    char line[1100];
    struct pec_buf data = PEC_BUF_INIT;
    int code;

    *stage = "MAIL FROM";
    snprintf(line, sizeof(line), "MAIL FROM:<%s>%s", from,
             s->eightbit && pec_text_has_8bit(msg, len) ? " BODY=8BITMIME" : "");
    if ((code = command(s, line)) != 250)
        return code;
    *stage = "RCPT TO";
    snprintf(line, sizeof(line), "RCPT TO:<%s>", rcpt);
    if ((code = command(s, line)) != 250 && code != 251)
        return code;
    *stage = "DATA";
    if ((code = command(s, "DATA")) != 354)
        return code;
    *stage = "end of data";
    append_data(&data, msg, len);
    code = pec_net_send_all(s->fd, data.data, data.len) < 0 ? -1 : read_reply(s, NULL);
    pec_buf_release(&data);
    return code;
}

/* pec_submitter_send - SMTP when submit_address is set, else sendmail */
int pec_submitter_send(struct pec_submitter *s, const char *from, const char *rcpt, const void *msg, size_t len,
                       struct pec_error *err)
{
    const char *stage = "connect";
    int code, reused;

    if (s->cfg->submit_address == NULL)
        return pec_submit_sendmail(s->cfg->sendmail_command, from, rcpt, msg, len, err);
    if (strpbrk(from, "\r\n<>") != NULL || strpbrk(rcpt, "\r\n<>") != NULL || strlen(from) > 512 || strlen(rcpt) > 512) {
        pec_error_set(err, PEC_ERR_INVALID, "submit: unusable envelope address");
        return -1;
    }
    reused = s->fd >= 0;
    if (!reused && connect_session(s, err) < 0)
        return -1;
    code = transaction(s, from, rcpt, msg, len, &stage);
    if (reused && strcmp(stage, "end of data") != 0 && (code < 0 || code == 421)) {
        /* the kept connection had been closed by the server while idle (Postfix first says "421 ...
         * timeout exceeded", which we read as the answer to MAIL FROM); nothing can have been queued
         * before the end of data: one fresh attempt */
        disconnect(s);
        if (connect_session(s, err) < 0)
            return -1;
        code = transaction(s, from, rcpt, msg, len, &stage);
    }
    if (code == 250)
        return 0;
    if (code < 0) {
        pec_error_set(err, PEC_ERR_TEMPORARY, "submit to %s for %s: connection lost at %s", s->cfg->submit_address,
                      rcpt, stage);
        disconnect(s);
        return -1;
    }
    pec_error_set(err, code >= 500 ? PEC_ERR_PERMANENT : PEC_ERR_TEMPORARY, "submit to %s for %s: %s: %s",
                  s->cfg->submit_address, rcpt, stage, s->reply);
    /* a refused transaction leaves the session usable once reset; anything odd: start afresh */
    if (command(s, "RSET") != 250)
        disconnect(s);
    return -1;
}

/* pec_submitter_free - QUIT politely, then release */
void pec_submitter_free(struct pec_submitter **s)
{
    if (s == NULL || *s == NULL)
        return;
    if ((*s)->fd >= 0)
        (void)command(*s, "QUIT");
    disconnect(*s);
    free(*s);
    *s = NULL;
}

/* pec_submit_one - new, send, free */
int pec_submit_one(const struct pec_config *cfg, const char *from, const char *rcpt, const void *msg, size_t len,
                   struct pec_error *err)
{
    struct pec_submitter *s = pec_submitter_new(cfg);
    int rc = pec_submitter_send(s, from, rcpt, msg, len, err);

    pec_submitter_free(&s);
    return rc;
}
