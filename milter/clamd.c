/* clamd.c - the INSTREAM protocol: "zINSTREAM\0", length-prefixed chunks, a zero length, one reply. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>
#include "clamd.h"

#define CLAMD_TIMEOUT_S 60

/* clamd_connect - a connected socket to clamd, or -1 */
static int clamd_connect(const char *where)
{
    struct timeval tv = { CLAMD_TIMEOUT_S, 0 };
    int fd;

    if (where[0] == '/') {
        struct sockaddr_un sun = { .sun_family = AF_UNIX };
        if (strlen(where) >= sizeof(sun.sun_path) || (fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
            return -1;
        memcpy(sun.sun_path, where, strlen(where) + 1);
        if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
            close(fd);
            return -1;
        }
    } else {
        struct sockaddr_in sin = { .sin_family = AF_INET };
        char host[64];
        const char *colon = strrchr(where, ':');
        if (colon == NULL || (size_t)(colon - where) >= sizeof(host))
            return -1;
        memcpy(host, where, (size_t)(colon - where));
        host[colon - where] = '\0';
        sin.sin_port = htons((uint16_t)atoi(colon + 1));
        if (inet_pton(AF_INET, host, &sin.sin_addr) != 1 || (fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
            return -1;
        if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
            close(fd);
            return -1;
        }
    }
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    return fd;
}

/* send_all - write everything or fail */
static int send_all(int fd, const void *data, size_t len)
{
    const char *p = data;

    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* clamd_scan - scan one message */
int clamd_scan(const char *where, const void *data, size_t len, char *virus, size_t virus_len,
               struct pec_error *err)
{
    char reply[512];
    size_t got = 0, off;
    uint32_t zero = 0;
    char *found;
    int fd = clamd_connect(where);

    virus[0] = '\0';
    if (fd < 0) {
        pec_error_set(err, PEC_ERR_TEMPORARY, "clamd at %s: %s", where, strerror(errno));
        return -1;
    }
    if (send_all(fd, "zINSTREAM", 10) < 0)
        goto io;
    for (off = 0; off < len; off += 65536) {
        uint32_t n = (uint32_t)(len - off < 65536 ? len - off : 65536), be = htonl(n);
        if (send_all(fd, &be, 4) < 0 || send_all(fd, (const char *)data + off, n) < 0)
            goto io;
    }
    if (send_all(fd, &zero, 4) < 0)
        goto io;
    while (got < sizeof(reply) - 1) {
        ssize_t n = recv(fd, reply + got, sizeof(reply) - 1 - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
        if (memchr(reply, '\0', got))
            break;
    }
    close(fd);
    reply[got] = '\0';
    if (strstr(reply, "stream: OK") != NULL)
        return 0;
    if ((found = strstr(reply, " FOUND")) != NULL && strncmp(reply, "stream: ", 8) == 0) {
        snprintf(virus, virus_len, "%.*s", (int)(found - reply - 8), reply + 8);
        return 1;
    }
    pec_error_set(err, PEC_ERR_TEMPORARY, "clamd at %s answered \"%.100s\"", where, reply);
    return -1;
io:
    pec_error_set(err, PEC_ERR_TEMPORARY, "clamd at %s: %s", where, strerror(errno));
    close(fd);
    return -1;
}
