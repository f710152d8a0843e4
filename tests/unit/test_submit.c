/* test_submit.c - the SMTP submitter against a scripted SMTP server in a thread: line ends and dot
 * stuffing on the wire, BODY=8BITMIME only when needed, one kept connection for many messages, a
 * reconnect when the server dropped the idle connection, 4xx -> TEMPORARY and 5xx -> PERMANENT with
 * the session reset and still usable, and a server that is not there. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include "check.h"
#include "pec/buf.h"
#include "pec/config.h"
#include "pec/submit.h"

/* what the server does, set by the test before each step (the test waits for each reply, so the
 * server thread reads these only while the test is blocked) */
static struct {
    int listen_fd;
    int connections;          /* accepted so far */
    int rcpt_code;            /* the answer to RCPT */
    int close_after_data;     /* drop the connection after the next accepted message */
    int say_421;              /* and first say "421 timeout", as Postfix's smtpd does when idle */
    int close_before_reply;   /* take the next message, then drop the connection without a reply */
    int rsets;                /* RSET commands seen */
    char mail_line[600];      /* the last MAIL FROM line */
    char rcpt_line[600];      /* the last RCPT TO line */
    struct pec_buf data;      /* the last message as sent on the wire, final dot included */
} srv;

/* srv_line - read one line (without CRLF) from fd; -1 at EOF */
static int srv_line(int fd, char *line, size_t size)
{
    size_t n = 0;
    char ch;

    while (recv(fd, &ch, 1, 0) == 1) {
        if (ch == '\n') {
            if (n > 0 && line[n - 1] == '\r')
                n--;
            line[n] = '\0';
            return 0;
        }
        if (n + 1 < size)
            line[n++] = ch;
    }
    return -1;
}

/* srv_say - one reply */
static void srv_say(int fd, const char *text)
{
    (void)!send(fd, text, strlen(text), MSG_NOSIGNAL);
}

/* srv_session - one SMTP session, as scripted by srv */
static void srv_session(int fd)
{
    char line[2048];

    srv_say(fd, "220 test ESMTP\r\n");
    while (srv_line(fd, line, sizeof(line)) == 0) {
        if (strncasecmp(line, "EHLO ", 5) == 0) {
            srv_say(fd, "250-test\r\n250-PIPELINING\r\n250 8BITMIME\r\n");
        } else if (strncasecmp(line, "MAIL FROM:", 10) == 0) {
            snprintf(srv.mail_line, sizeof(srv.mail_line), "%.590s", line);
            srv_say(fd, "250 2.1.0 Ok\r\n");
        } else if (strncasecmp(line, "RCPT TO:", 8) == 0) {
            char reply[64];
            snprintf(srv.rcpt_line, sizeof(srv.rcpt_line), "%.590s", line);
            snprintf(reply, sizeof(reply), "%d %s\r\n", srv.rcpt_code, srv.rcpt_code == 250 ? "2.1.5 Ok" : "x.y.z no");
            srv_say(fd, reply);
        } else if (strcasecmp(line, "DATA") == 0) {
            srv_say(fd, "354 go\r\n");
            pec_buf_reset(&srv.data);
            while (srv_line(fd, line, sizeof(line)) == 0) {
                pec_buf_puts(&srv.data, line);
                pec_buf_puts(&srv.data, "\r\n");
                if (strcmp(line, ".") == 0)
                    break;
            }
            if (srv.close_before_reply) {
                srv.close_before_reply = 0;
                break;
            }
            srv_say(fd, "250 2.0.0 Ok: queued as X\r\n");
            if (srv.close_after_data) {
                srv.close_after_data = 0;
                if (srv.say_421) {
                    usleep(20000);
                    srv_say(fd, "421 4.4.2 test Error: timeout exceeded\r\n");
                }
                break;
            }
        } else if (strcasecmp(line, "RSET") == 0) {
            srv.rsets++;
            srv_say(fd, "250 2.0.0 Ok\r\n");
        } else if (strcasecmp(line, "QUIT") == 0) {
            srv_say(fd, "221 2.0.0 Bye\r\n");
            break;
        } else {
            srv_say(fd, "502 5.5.2 what\r\n");
        }
    }
    close(fd);
}

/* srv_main - accept sessions one after another */
static void *srv_main(void *arg)
{
    (void)arg;
    for (;;) {
        int fd = accept(srv.listen_fd, NULL, NULL);
        if (fd < 0)
            return NULL;
        srv.connections++;
        srv_session(fd);
    }
}

/* srv_start - listen on 127.0.0.1, a free port; returns "127.0.0.1:PORT" */
static void srv_start(char *where, size_t size)
{
    struct sockaddr_in sa = { .sin_family = AF_INET };
    socklen_t sl = sizeof(sa);
    pthread_t th;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    srv.listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    if (srv.listen_fd < 0 || bind(srv.listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        listen(srv.listen_fd, 4) < 0 || getsockname(srv.listen_fd, (struct sockaddr *)&sa, &sl) < 0) {
        perror("test server");
        exit(1);
    }
    snprintf(where, size, "127.0.0.1:%u", ntohs(sa.sin_port));
    srv.rcpt_code = 250;
    pthread_create(&th, NULL, srv_main, NULL);
    pthread_detach(th);
}

/* config_for - a configuration whose submit_address is `where` */
static const struct pec_config *config_for(const char *where)
{
    char text[1024];
    struct pec_error err = { 0 };
    const struct pec_config *cfg;

    snprintf(text, sizeof(text),
             "provider_name = \"Gestore di prova\"\nmail_domain = pec-esempio.test\nmanaged_domains = pec-esempio.test\n"
             "cert_file = /nonexistent.pem\nkey_file = /nonexistent.key\nsubmit_address = %s\n", where);
    cfg = pec_config_parse(text, strlen(text), "test.conf", &err);
    if (cfg == NULL) {
        fprintf(stderr, "config: %s\n", err.msg);
        exit(1);
    }
    return cfg;
}

int main(void)
{
    char where[64];
    const struct pec_config *cfg, *nobody;
    struct pec_submitter *s;
    struct pec_error err = { 0 };
    static const char lf_msg[] = "Subject: prova\n\n.leading dot\nmiddle\n..two dots\nlast line without end";
    static const char crlf_msg[] = "Subject: due\r\n\r\nriga\r\n.\r\n";
    static const char eight_msg[] = "Subject: =?utf-8?q?perch=C3=A9?=\r\n\r\nperch\xc3\xa9\r\n";

    signal(SIGPIPE, SIG_IGN);
    srv_start(where, sizeof(where));
    cfg = config_for(where);
    s = pec_submitter_new(cfg);

    /* LF lines become CRLF, leading dots are doubled, a last line without end is ended, the dot follows */
    CHECK(pec_submitter_send(s, "posta-certificata@pec-esempio.test", "mario@pec-esempio.test", lf_msg,
                             strlen(lf_msg), &err) == 0);
    CHECK_STR(srv.data.data, "Subject: prova\r\n\r\n..leading dot\r\nmiddle\r\n...two dots\r\n"
                             "last line without end\r\n.\r\n");
    CHECK_STR(srv.mail_line, "MAIL FROM:<posta-certificata@pec-esempio.test>");
    CHECK_STR(srv.rcpt_line, "RCPT TO:<mario@pec-esempio.test>");
    /* a CRLF message is not doubled up; a line with a lone dot is stuffed */
    CHECK(pec_submitter_send(s, "a@pec-esempio.test", "b@pec-esempio.test", crlf_msg, strlen(crlf_msg), &err) == 0);
    CHECK_STR(srv.data.data, "Subject: due\r\n\r\nriga\r\n..\r\n.\r\n");
    /* 8-bit content is declared, 7-bit is not */
    CHECK(pec_submitter_send(s, "a@pec-esempio.test", "b@pec-esempio.test", eight_msg, strlen(eight_msg), &err) == 0);
    CHECK_STR(srv.mail_line, "MAIL FROM:<a@pec-esempio.test> BODY=8BITMIME");
    /* three messages, one connection */
    CHECK(srv.connections == 1);

    /* the server drops the connection after the next message: the one after it reconnects, once */
    srv.close_after_data = 1;
    CHECK(pec_submitter_send(s, "a@pec-esempio.test", "b@pec-esempio.test", crlf_msg, strlen(crlf_msg), &err) == 0);
    usleep(100000);
    CHECK(pec_submitter_send(s, "a@pec-esempio.test", "c@pec-esempio.test", crlf_msg, strlen(crlf_msg), &err) == 0);
    CHECK(srv.connections == 2);
    CHECK_STR(srv.rcpt_line, "RCPT TO:<c@pec-esempio.test>");

    /* the same after a "421 timeout" greeting of the closing server, as Postfix does it */
    srv.close_after_data = 1;
    srv.say_421 = 1;
    CHECK(pec_submitter_send(s, "a@pec-esempio.test", "b@pec-esempio.test", crlf_msg, strlen(crlf_msg), &err) == 0);
    usleep(100000);
    CHECK(pec_submitter_send(s, "a@pec-esempio.test", "g@pec-esempio.test", crlf_msg, strlen(crlf_msg), &err) == 0);
    CHECK(srv.connections == 3);
    CHECK_STR(srv.rcpt_line, "RCPT TO:<g@pec-esempio.test>");
    srv.say_421 = 0;

    /* the connection lost after the message went out: not sent again (it may be queued), temporary */
    srv.close_before_reply = 1;
    err = (struct pec_error){ 0 };
    CHECK(pec_submitter_send(s, "a@pec-esempio.test", "h@pec-esempio.test", crlf_msg, strlen(crlf_msg), &err) < 0);
    CHECK(err.cls == PEC_ERR_TEMPORARY && strstr(err.msg, "end of data") != NULL);
    CHECK(srv.connections == 3);
    /* the next message opens a new connection */
    CHECK(pec_submitter_send(s, "a@pec-esempio.test", "i@pec-esempio.test", crlf_msg, strlen(crlf_msg), &err) == 0);
    CHECK(srv.connections == 4);

    /* 4xx: temporary, the session is reset and kept */
    srv.rcpt_code = 451;
    CHECK(pec_submitter_send(s, "a@pec-esempio.test", "d@pec-esempio.test", crlf_msg, strlen(crlf_msg), &err) < 0);
    CHECK(err.cls == PEC_ERR_TEMPORARY);
    CHECK(strstr(err.msg, "RCPT TO") != NULL && strstr(err.msg, "451") != NULL);
    CHECK(srv.rsets == 1);
    /* 5xx: permanent */
    srv.rcpt_code = 550;
    err = (struct pec_error){ 0 };
    CHECK(pec_submitter_send(s, "a@pec-esempio.test", "e@pec-esempio.test", crlf_msg, strlen(crlf_msg), &err) < 0);
    CHECK(err.cls == PEC_ERR_PERMANENT);
    srv.rcpt_code = 250;
    CHECK(pec_submitter_send(s, "a@pec-esempio.test", "f@pec-esempio.test", crlf_msg, strlen(crlf_msg), &err) == 0);
    CHECK(srv.connections == 4);

    /* an envelope address that would break the command line is refused before anything is sent */
    err = (struct pec_error){ 0 };
    CHECK(pec_submitter_send(s, "a@pec-esempio.test", "x>\r\nRCPT TO:<y@z", crlf_msg, strlen(crlf_msg), &err) < 0);
    CHECK(err.cls == PEC_ERR_INVALID);
    pec_submitter_free(&s);
    CHECK(s == NULL);
    pec_submitter_free(&s); /* NULL-safe */

    /* nothing listening: a temporary failure naming the address */
    shutdown(srv.listen_fd, SHUT_RDWR); /* wakes the server thread's accept */
    close(srv.listen_fd);
    usleep(100000);
    nobody = config_for(where);
    err = (struct pec_error){ 0 };
    CHECK(pec_submit_one(nobody, "a@pec-esempio.test", "b@pec-esempio.test", crlf_msg, strlen(crlf_msg), &err) < 0);
    CHECK(err.cls == PEC_ERR_TEMPORARY && strstr(err.msg, where) != NULL);

    pec_config_unref(&nobody);
    pec_config_unref(&cfg);
    pec_buf_release(&srv.data);
    return CHECK_DONE();
}
