/* net.c - connect to a local service and write to it. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>
#include "pec/net.h"

/* pec_net_inet_address - split at the last colon, parse both halves */
int pec_net_inet_address(const char *where, struct sockaddr_in *sin)
{
    const char *colon = strrchr(where, ':');
    char host[64], *end;
    long port;

    memset(sin, 0, sizeof(*sin));
    sin->sin_family = AF_INET;
    if (colon == NULL || (size_t)(colon - where) >= sizeof(host))
        goto bad;
    memcpy(host, where, (size_t)(colon - where));
    host[colon - where] = '\0';
    port = strtol(colon + 1, &end, 10);
    if (inet_pton(AF_INET, host, &sin->sin_addr) != 1 || *end != '\0' || port < 1 || port > 65535)
        goto bad;
    sin->sin_port = htons((uint16_t)port);
    return 0;
bad:
    errno = EINVAL;
    return -1;
}

/* pec_net_endpoint_valid - an absolute socket path that fits, or an IPv4 address and port */
int pec_net_endpoint_valid(const char *where)
{
    struct sockaddr_in sin;

    if (where[0] == '/')
        return strlen(where) < sizeof(((struct sockaddr_un *)0)->sun_path);
    return pec_net_inet_address(where, &sin) == 0;
}

/* set_timeouts - bound every send, receive and (SO_SNDTIMEO, on Linux) the connect itself */
static void set_timeouts(int fd, int timeout_s)
{
    struct timeval tv = { timeout_s, 0 };

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* pec_net_connect - unix path or IPv4-ADDRESS:PORT, with timeouts */
int pec_net_connect(const char *where, int timeout_s)
{
    int fd, saved;

    if (where[0] == '/') {
        struct sockaddr_un sun = { .sun_family = AF_UNIX };

        if (strlen(where) >= sizeof(sun.sun_path)) {
            errno = ENAMETOOLONG;
            return -1;
        }
        if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
            return -1;
        set_timeouts(fd, timeout_s);
        memcpy(sun.sun_path, where, strlen(where) + 1);
        if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
            goto fail;
    } else {
        struct sockaddr_in sin;

        if (pec_net_inet_address(where, &sin) < 0)
            return -1;
        if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
            return -1;
        set_timeouts(fd, timeout_s);
        if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
            goto fail;
    }
    return fd;
fail:
    saved = errno;
    close(fd);
    errno = saved;
    return -1;
}

/* pec_net_send_all - loop over short writes */
int pec_net_send_all(int fd, const void *data, size_t len)
{
    const char *p = data;

    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = EPIPE;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}
