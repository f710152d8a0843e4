/* test_http.c - the CRL fetcher's HTTP/1.0 client against a canned one-shot server on 127.0.0.1 (a
 * child process): bodies with and without Content-Length, errors, size ceiling, truncation, silence,
 * refused connections, and the URLs it takes or refuses. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "check.h"
#include "pec/http.h"

/* serve_once - a child that accepts one connection, checks the request line, writes answer (then stays
 * silent for linger seconds) and exits 0 when the request was the expected one; the port in *port */
static pid_t serve_once(const char *answer, size_t len, int linger, unsigned *port)
{
    struct sockaddr_in sin = { .sin_family = AF_INET };
    socklen_t sl = sizeof(sin);
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    pid_t pid;

    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(lfd, 1) < 0 ||
        getsockname(lfd, (struct sockaddr *)&sin, &sl) < 0) {
        perror("server");
        exit(1);
    }
    *port = ntohs(sin.sin_port);
    fflush(NULL);
    pid = fork();
    if (pid == 0) {
        char req[4096];
        size_t got = 0;
        int fd = accept(lfd, NULL, NULL), ok;

        while (fd >= 0 && got < sizeof(req) - 1) {
            ssize_t n = read(fd, req + got, sizeof(req) - 1 - got);

            if (n <= 0)
                break;
            got += (size_t)n;
            req[got] = '\0';
            if (strstr(req, "\r\n\r\n"))
                break;
        }
        req[got] = '\0';
        ok = got >= 30 && memcmp(req, "GET /dir/ca.crl?x=1 HTTP/1.0\r\n", 30) == 0 && strstr(req, "\r\nHost: 127.0.0.1:") != NULL;
        if (fd >= 0 && len > 0 && write(fd, answer, len) < 0)
            ok = 0;
        if (linger > 0)
            sleep((unsigned)linger);
        _exit(ok ? 0 : 3);
    }
    close(lfd);
    return pid;
}

/* fetch - GET from a canned answer; returns pec_http_get's result, the body in body, the error in err */
static int fetch(const char *answer, size_t len, int linger, int timeout_s, size_t max, struct pec_buf *body,
                 struct pec_error *err, int *child_ok)
{
    char url[128];
    unsigned port;
    pid_t pid = serve_once(answer, len, linger, &port);
    int r, st = 0;

    snprintf(url, sizeof(url), "http://127.0.0.1:%u/dir/ca.crl?x=1#frag", port);
    pec_buf_reset(body);
    pec_error_clear(err);
    r = pec_http_get(url, timeout_s, max, body, err);
    if (linger > 0)
        kill(pid, SIGTERM);
    waitpid(pid, &st, 0);
    *child_ok = linger > 0 || (WIFEXITED(st) && WEXITSTATUS(st) == 0);
    return r;
}

#define ANSWER(s) s, sizeof(s) - 1

/* test_answers - what the server says and what the client makes of it */
static void test_answers(void)
{
    struct pec_buf body = PEC_BUF_INIT, big = PEC_BUF_INIT;
    struct pec_error err = { 0 };
    int ok;
    time_t t0;

    CHECK(fetch(ANSWER("HTTP/1.0 200 OK\r\nContent-Type: application/pkix-crl\r\ncontent-length: 5\r\n\r\nab\0de"),
                0, 5, 1024, &body, &err, &ok) == 0);
    CHECK(ok && body.len == 5 && memcmp(body.data, "ab\0de", 5) == 0);
    if (body.len != 5)
        fprintf(stderr, "  200: %s\n", err.msg);
    CHECK(fetch(ANSWER("HTTP/1.1 200 OK\r\n\r\nno length, ends at close"), 0, 5, 1024, &body, &err, &ok) == 0);
    CHECK(ok && body.len == 24);
    CHECK(fetch(ANSWER("HTTP/1.0 200 OK\nServer: lf-only\n\nxyz"), 0, 5, 1024, &body, &err, &ok) == 0);
    CHECK(body.len == 3 && memcmp(body.data, "xyz", 3) == 0);
    CHECK(fetch(ANSWER("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"), 0, 5, 1024, &body, &err, &ok) == 0);
    CHECK(body.len == 0);

    CHECK(fetch(ANSWER("HTTP/1.0 404 Not Found\r\nContent-Length: 3\r\n\r\nno!"), 0, 5, 1024, &body, &err, &ok) == -1);
    CHECK(ok && err.cls == PEC_ERR_TEMPORARY && strstr(err.msg, "HTTP 404") && strstr(err.msg, "http://127.0.0.1:"));
    CHECK(body.len == 0);
    CHECK(fetch(ANSWER("HTTP/1.0 301 Moved\r\nLocation: https://example.invalid/ca.crl\r\n\r\n"), 0, 5, 1024, &body,
                &err, &ok) == -1);
    CHECK(strstr(err.msg, "redirect to https://example.invalid/ca.crl not followed") != NULL);
    CHECK(fetch(ANSWER("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"), 0, 5, 1024, &body,
                &err, &ok) == -1);
    CHECK(strstr(err.msg, "Transfer-Encoding") != NULL && body.len == 0);
    CHECK(fetch(ANSWER("HTTP/1.0 200 OK\r\nContent-Length: 10\r\n\r\nshort"), 0, 5, 1024, &body, &err, &ok) == -1);
    CHECK(strstr(err.msg, "Content-Length") != NULL && body.len == 0);
    CHECK(fetch(ANSWER("HTTP/1.0 200 OK\r\nContent-Length: 1x\r\n\r\n1x"), 0, 5, 1024, &body, &err, &ok) == -1);
    CHECK(fetch(ANSWER("SSH-2.0-OpenSSH\r\n\r\n"), 0, 5, 1024, &body, &err, &ok) == -1);
    CHECK(strstr(err.msg, "status line") != NULL);
    CHECK(fetch(ANSWER("HTTP/1.0 200 OK\r\nno end of headers"), 0, 5, 1024, &body, &err, &ok) == -1);
    CHECK(strstr(err.msg, "not an HTTP answer") != NULL);
    CHECK(fetch("", 0, 0, 5, 1024, &body, &err, &ok) == -1); /* closed without a word */

    /* the ceiling: a body of max + 1 bytes, with and without Content-Length */
    pec_buf_puts(&big, "HTTP/1.0 200 OK\r\n\r\n");
    for (int i = 0; i < 1025; i++)
        pec_buf_append(&big, "z", 1);
    CHECK(fetch(big.data, big.len, 0, 5, 1024, &body, &err, &ok) == -1);
    CHECK(strstr(err.msg, "larger than 1024 bytes") != NULL && body.len == 0);
    CHECK(fetch(big.data, big.len - 1, 0, 5, 1024, &body, &err, &ok) == 0 && body.len == 1024);
    /* far over: the reading stops at the ceiling instead of keeping everything */
    for (int i = 0; i < 200000; i++)
        pec_buf_append(&big, "z", 1);
    CHECK(fetch(big.data, big.len, 0, 5, 1024, &body, &err, &ok) == -1);
    CHECK(strstr(err.msg, "larger than") != NULL);

    /* a server that accepts and says nothing: the deadline ends it */
    t0 = time(NULL);
    CHECK(fetch("", 0, 10, 1, 1024, &body, &err, &ok) == -1);
    CHECK(strstr(err.msg, "timed out") != NULL && time(NULL) - t0 <= 4);
    /* the headers, then silence */
    t0 = time(NULL);
    CHECK(fetch(ANSWER("HTTP/1.0 200 OK\r\nContent-Length: 100\r\n\r\nabc"), 10, 1, 1024, &body, &err, &ok) == -1);
    CHECK(strstr(err.msg, "timed out") != NULL && time(NULL) - t0 <= 4);
    pec_buf_release(&body);
    pec_buf_release(&big);
}

/* test_refused - nobody listening on the port */
static void test_refused(void)
{
    struct sockaddr_in sin = { .sin_family = AF_INET };
    socklen_t sl = sizeof(sin);
    struct pec_buf body = PEC_BUF_INIT;
    struct pec_error err = { 0 };
    char url[64];
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
          getsockname(fd, (struct sockaddr *)&sin, &sl) == 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/ca.crl", ntohs(sin.sin_port));
    close(fd); /* bound, never listened, closed: nothing answers there */
    CHECK(pec_http_get(url, 2, 1024, &body, &err) == -1);
    CHECK(err.cls == PEC_ERR_TEMPORARY && strstr(err.msg, "cannot connect") != NULL);
    /* (no name lookup here: without a reachable resolver it would take the resolver's own timeouts) */
    CHECK(pec_http_get("https://127.0.0.1/ca.crl", 2, 1024, &body, &err) == -1 && err.cls == PEC_ERR_INVALID);
    CHECK(body.len == 0);
    pec_buf_release(&body);
}

/* url_ok - parse and compare */
static void url_ok(const char *url, const char *host, unsigned port, const char *path)
{
    char h[64], p[64];
    unsigned po = 0;

    CHECK(pec_http_parse_url(url, h, sizeof(h), &po, p, sizeof(p)) == 0);
    CHECK_STR(h, host);
    CHECK(po == port);
    CHECK_STR(p, path);
}

/* url_bad - refused */
static void url_bad(const char *url)
{
    char h[64], p[64];
    unsigned po;

    CHECK(pec_http_parse_url(url, h, sizeof(h), &po, p, sizeof(p)) == -1);
    if (pec_http_parse_url(url, h, sizeof(h), &po, p, sizeof(p)) == 0)
        fprintf(stderr, "  taken: %s\n", url);
}

/* test_urls - what the client takes */
static void test_urls(void)
{
    url_ok("http://ca1.agid.gov.it/CRL", "ca1.agid.gov.it", 80, "/CRL");
    url_ok("HTTP://Example.test:8080", "Example.test", 8080, "/");
    url_ok("http://127.0.0.1:1/a/b.crl#x", "127.0.0.1", 1, "/a/b.crl");
    url_ok("http://[::1]:8000/ca.crl", "::1", 8000, "/ca.crl");
    url_ok("http://h.test?q=1", "h.test", 80, "/?q=1");
    url_ok("http://h.test/p?q=1#f", "h.test", 80, "/p?q=1");
    url_bad("https://ca1.agid.gov.it/CRL");
    url_bad("ldap://ca1.agid.gov.it/cn=CRL");
    url_bad("http://");
    url_bad("http:///path");
    url_bad("http://user:pw@h.test/");
    url_bad("http://h.test:0/");
    url_bad("http://h.test:65536/");
    url_bad("http://h.test:/");
    url_bad("http://h.test:8x/");
    url_bad("http://h.test/a b");
    url_bad("http://h.test/a\r\nX-Injected: 1");
    url_bad("http://[::1/");
    url_bad("http://[]/");
    url_bad("http://a-very-long-host-name-that-does-not-fit-in-the-buffer-given-here.example.test/");
    url_bad("http://h.test/a-very-long-path-that-does-not-fit-in-the-buffer-given-by-this-test-xxxxx");
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    test_urls();
    test_answers();
    test_refused();
    return CHECK_DONE();
}
