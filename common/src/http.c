/* http.c - HTTP/1.0 GET for CRLs: one request, the answer read to the end of the connection, a deadline
 * over the whole exchange and a ceiling on what is kept. */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "pec/http.h"

#define HEADER_MAX 16384 /* status line and headers together */

/* monotonic_ms - a clock that no time change moves */
static long long monotonic_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* left_ms - what remains before deadline, at least 0 */
static int left_ms(long long deadline)
{
    long long left = deadline - monotonic_ms();

    return left <= 0 ? 0 : left > 3600000 ? 3600000 : (int)left;
}

/* pec_http_parse_url - scheme, authority and path of an http:// URL */
int pec_http_parse_url(const char *url, char *host, size_t hostlen, unsigned *port, char *path, size_t pathlen)
{
    const char *p, *auth, *end, *h, *he;
    unsigned long n;
    char *e;

    for (p = url; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
            return -1; /* nothing that could end the request line or smuggle a header */
    if (strncasecmp(url, "http://", 7) != 0)
        return -1;
    auth = url + 7;
    end = auth + strcspn(auth, "/?#");
    if (memchr(auth, '@', (size_t)(end - auth)) != NULL || end == auth)
        return -1;
    if (*auth == '[') {
        h = auth + 1;
        he = memchr(h, ']', (size_t)(end - h));
        if (he == NULL || he == h)
            return -1;
        p = he + 1;
    } else {
        h = auth;
        he = memchr(auth, ':', (size_t)(end - auth));
        if (he == NULL)
            he = end;
        p = he;
    }
    if ((size_t)(he - h) >= hostlen || he == h)
        return -1;
    memcpy(host, h, (size_t)(he - h));
    host[he - h] = '\0';
    *port = 80;
    if (p < end) {
        if (*p != ':' || p + 1 == end || p[1] < '0' || p[1] > '9')
            return -1;
        n = strtoul(p + 1, &e, 10);
        if (e != end || n < 1 || n > 65535)
            return -1;
        *port = (unsigned)n;
    }
    p = *end == '/' ? end : NULL;
    n = p ? strcspn(p, "#") : 0;
    if (p == NULL) {
        if (*end == '?') { /* "http://host?x" asks for "/?x" */
            n = strcspn(end, "#");
            if (n + 2 > pathlen)
                return -1;
            path[0] = '/';
            memcpy(path + 1, end, n);
            path[n + 1] = '\0';
            return 0;
        }
        if (pathlen < 2)
            return -1;
        strcpy(path, "/");
        return 0;
    }
    if (n + 1 > pathlen)
        return -1;
    memcpy(path, p, n);
    path[n] = '\0';
    return 0;
}

/* wait_fd - poll fd for events until deadline: 1 ready, 0 timed out, -1 error */
static int wait_fd(int fd, short events, long long deadline)
{
    struct pollfd pfd = { fd, events, 0 };
    int r;

    do
        r = poll(&pfd, 1, left_ms(deadline));
    while (r < 0 && errno == EINTR);
    return r;
}

/* connect_one - a non-blocking connect to one address, finished before deadline; -1 with errno */
static int connect_one(const struct addrinfo *ai, long long deadline)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    int soerr = 0, r;
    socklen_t len = sizeof(soerr);

    if (fd < 0)
        return -1;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
        return fd;
    if (errno != EINPROGRESS)
        goto fail;
    r = wait_fd(fd, POLLOUT, deadline);
    if (r == 0)
        errno = ETIMEDOUT;
    if (r <= 0)
        goto fail;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
        goto fail;
    if (soerr != 0) {
        errno = soerr;
        goto fail;
    }
    return fd;
fail:
    r = errno;
    close(fd);
    errno = r;
    return -1;
}

/* connect_host - the first address of host:port that accepts before deadline; -1 with err */
static int connect_host(const char *host, unsigned port, long long deadline, struct pec_error *err)
{
    struct addrinfo hints, *res = NULL, *ai;
    char service[8];
    int fd = -1, r, saved = 0;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(service, sizeof(service), "%u", port);
    r = getaddrinfo(host, service, &hints, &res);
    if (r != 0) {
        pec_error_set(err, PEC_ERR_TEMPORARY, "cannot resolve %s: %s", host, gai_strerror(r));
        return -1;
    }
    for (ai = res; ai != NULL && fd < 0 && left_ms(deadline) > 0; ai = ai->ai_next) {
        fd = connect_one(ai, deadline);
        if (fd < 0)
            saved = errno;
    }
    freeaddrinfo(res);
    if (fd < 0)
        pec_error_set(err, PEC_ERR_TEMPORARY, "cannot connect to %s port %u: %s", host, port,
                      saved ? strerror(saved) : "timed out");
    return fd;
}

/* send_request - the whole request before deadline; -1 with err */
static int send_request(int fd, const char *req, size_t len, long long deadline, struct pec_error *err)
{
    while (len > 0) {
        ssize_t n = send(fd, req, len, MSG_NOSIGNAL);

        if (n > 0) {
            req += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int r = wait_fd(fd, POLLOUT, deadline);

            if (r > 0)
                continue;
            pec_error_set(err, PEC_ERR_TEMPORARY, "sending the request: %s", r == 0 ? "timed out" : strerror(errno));
            return -1;
        }
        pec_error_set(err, PEC_ERR_TEMPORARY, "sending the request: %s", n == 0 ? "connection closed" : strerror(errno));
        return -1;
    }
    return 0;
}

/* read_answer - everything until the server closes, at most limit bytes, before deadline; -1 with err */
static int read_answer(int fd, size_t limit, long long deadline, struct pec_buf *out, struct pec_error *err)
{
    char chunk[16384];

    for (;;) {
        ssize_t n = recv(fd, chunk, sizeof(chunk), 0);

        if (n == 0)
            return 0;
        if (n > 0) {
            if ((size_t)n > limit - out->len) {
                pec_error_set(err, PEC_ERR_TEMPORARY, "answer larger than %zu bytes", limit);
                return -1;
            }
            pec_buf_append(out, chunk, (size_t)n);
            continue;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int r = wait_fd(fd, POLLIN, deadline);

            if (r > 0)
                continue;
            pec_error_set(err, PEC_ERR_TEMPORARY, "reading the answer: %s", r == 0 ? "timed out" : strerror(errno));
            return -1;
        }
        pec_error_set(err, PEC_ERR_TEMPORARY, "reading the answer: %s", strerror(errno));
        return -1;
    }
}

/* header_value - the value of header name (case-insensitive) in the header block, into out; 1 found */
static int header_value(const char *headers, size_t len, const char *name, char *out, size_t outlen)
{
    size_t nl = strlen(name);
    const char *p = headers, *end = headers + len;

    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *le = eol ? eol : end;

        if ((size_t)(le - p) > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;

            while (v < le && (*v == ' ' || *v == '\t'))
                v++;
            while (le > v && (le[-1] == '\r' || le[-1] == ' ' || le[-1] == '\t'))
                le--;
            snprintf(out, outlen, "%.*s", (int)(le - v), v);
            return 1;
        }
        p = eol ? eol + 1 : end;
    }
    return 0;
}

/* parse_answer - status 200, a plain body within max_bytes, as long as Content-Length says; -1 with err */
static int parse_answer(const struct pec_buf *raw, size_t max_bytes, struct pec_buf *body, struct pec_error *err)
{
    const char *data = raw->data ? raw->data : "", *hend, *sep;
    size_t hlen, blen;
    char value[256];
    int major, minor, status, sl;
    unsigned long long cl;
    char *e;

    hend = raw->len ? memmem(data, raw->len, "\r\n\r\n", 4) : NULL;
    sep = "\r\n\r\n";
    if (hend == NULL && raw->len) {
        hend = memmem(data, raw->len, "\n\n", 2);
        sep = "\n\n";
    }
    if (hend == NULL || (size_t)(hend - data) > HEADER_MAX) {
        pec_error_set(err, PEC_ERR_TEMPORARY, "not an HTTP answer (%zu bytes, no end of headers)", raw->len);
        return -1;
    }
    hlen = (size_t)(hend - data);
    sl = (int)strcspn(data, "\r\n");
    if (sl > 80)
        sl = 80;
    if (sscanf(data, "HTTP/%d.%d %3d", &major, &minor, &status) != 3 || major != 1) {
        pec_error_set(err, PEC_ERR_TEMPORARY, "not an HTTP/1.x status line: \"%.*s\"", sl, data);
        return -1;
    }
    if (status != 200) {
        if (status >= 300 && status < 400 && header_value(data, hlen, "Location", value, sizeof(value)))
            pec_error_set(err, PEC_ERR_TEMPORARY, "HTTP %d, redirect to %s not followed", status, value);
        else
            pec_error_set(err, PEC_ERR_TEMPORARY, "HTTP %d: \"%.*s\"", status, sl, data);
        return -1;
    }
    if (header_value(data, hlen, "Transfer-Encoding", value, sizeof(value))) {
        pec_error_set(err, PEC_ERR_TEMPORARY, "Transfer-Encoding %s not supported by this HTTP/1.0 client", value);
        return -1;
    }
    blen = raw->len - hlen - strlen(sep);
    if (blen > max_bytes) {
        pec_error_set(err, PEC_ERR_TEMPORARY, "answer larger than %zu bytes", max_bytes);
        return -1;
    }
    if (header_value(data, hlen, "Content-Length", value, sizeof(value))) {
        cl = strtoull(value, &e, 10);
        if (*e != '\0' || value[0] < '0' || value[0] > '9' || cl != blen) {
            pec_error_set(err, PEC_ERR_TEMPORARY, "body of %zu bytes where Content-Length says \"%s\"", blen, value);
            return -1;
        }
    }
    pec_buf_append(body, hend + strlen(sep), blen);
    return 0;
}

/* pec_http_get - one GET, bounded in time and size */
int pec_http_get(const char *url, int timeout_s, size_t max_bytes, struct pec_buf *body, struct pec_error *err)
{
    char host[256], path[2048], hosthdr[300];
    struct pec_buf req = PEC_BUF_INIT, raw = PEC_BUF_INIT;
    long long deadline = monotonic_ms() + (long long)(timeout_s > 0 ? timeout_s : 1) * 1000;
    unsigned port;
    int fd, r = -1;

    if (pec_http_parse_url(url, host, sizeof(host), &port, path, sizeof(path)) < 0) {
        pec_error_set(err, PEC_ERR_INVALID, "%s: not an http:// URL this client takes", url);
        return -1;
    }
    if (strchr(host, ':') != NULL)
        snprintf(hosthdr, sizeof(hosthdr), "[%s]", host);
    else
        snprintf(hosthdr, sizeof(hosthdr), "%s", host);
    if (port != 80)
        snprintf(hosthdr + strlen(hosthdr), sizeof(hosthdr) - strlen(hosthdr), ":%u", port);
    if ((fd = connect_host(host, port, deadline, err)) < 0)
        goto prefix;
    pec_buf_printf(&req, "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: pec\r\nAccept: */*\r\nConnection: close\r\n\r\n",
                   path, hosthdr);
    if (send_request(fd, req.data, req.len, deadline, err) == 0 &&
        read_answer(fd, max_bytes + HEADER_MAX + 4, deadline, &raw, err) == 0 &&
        parse_answer(&raw, max_bytes, body, err) == 0)
        r = 0;
    close(fd);
prefix:
    if (r < 0) { /* name the URL in every message */
        char msg[sizeof(err->msg)];

        if (err != NULL) {
            snprintf(msg, sizeof(msg), "%s", err->msg);
            pec_error_set(err, err->cls, "%s: %s", url, msg);
        }
    }
    pec_buf_release(&req);
    pec_buf_release(&raw);
    return r;
}
