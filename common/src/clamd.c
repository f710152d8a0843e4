/* clamd.c - the INSTREAM protocol: "zINSTREAM\0", length-prefixed chunks, a zero length, one reply. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "pec/clamd.h"
#include "pec/net.h"

#define CLAMD_TIMEOUT_S 60

/* size_refused - clamd closed the stream at its StreamMaxLength */
static int size_refused(const char *reply)
{
    return strstr(reply, "size limit exceeded") != NULL;
}

/* read_reply - clamd's one NUL-terminated reply into reply (closes fd) */
static void read_reply(int fd, char *reply, size_t size)
{
    size_t got = 0;

    while (got < size - 1) {
        ssize_t n = recv(fd, reply + got, size - 1 - got, 0);
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
}

/* pec_clamd_scan - scan one message */
int pec_clamd_scan(const char *where, const void *data, size_t len, char *virus, size_t virus_len,
               struct pec_error *err)
{
    char reply[512];
    size_t off;
    uint32_t zero = 0;
    char *found;
    int fd = pec_net_connect(where, CLAMD_TIMEOUT_S);

    virus[0] = '\0';
    if (fd < 0) {
        pec_error_set(err, PEC_ERR_TEMPORARY, "clamd at %s: %s", where, strerror(errno));
        return -1;
    }
    if (pec_net_send_all(fd, "zINSTREAM", 10) < 0)
        goto io;
    for (off = 0; off < len; off += 65536) {
        uint32_t n = (uint32_t)(len - off < 65536 ? len - off : 65536), be = htonl(n);
        if (pec_net_send_all(fd, &be, 4) < 0 || pec_net_send_all(fd, (const char *)data + off, n) < 0)
            break; /* clamd may have closed the stream at its limit: its reply says so */
    }
    if (off >= len && pec_net_send_all(fd, &zero, 4) < 0 && errno != EPIPE && errno != ECONNRESET)
        goto io;
    read_reply(fd, reply, sizeof(reply));
    if (size_refused(reply)) {
        /* not a passing trouble: this message will never fit, and neither will any as large */
        pec_error_set(err, PEC_ERR_INTERNAL, "clamd at %s refuses a stream of %zu bytes (its StreamMaxLength is "
                      "smaller): set StreamMaxLength in clamd.conf to at least max_message_size", where, len);
        return -1;
    }
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

/* pec_clamd_stream_fits - stream len zero bytes (they scan clean and fast) and see whether clamd took them */
int pec_clamd_stream_fits(const char *where, size_t len, struct pec_error *err)
{
    static const char zeros[65536];
    char reply[512];
    uint32_t zero = 0;
    size_t off;
    int fd = pec_net_connect(where, CLAMD_TIMEOUT_S);

    if (fd < 0) {
        pec_error_set(err, PEC_ERR_TEMPORARY, "clamd at %s: %s", where, strerror(errno));
        return -1;
    }
    if (pec_net_send_all(fd, "zINSTREAM", 10) < 0) {
        pec_error_set(err, PEC_ERR_TEMPORARY, "clamd at %s: %s", where, strerror(errno));
        close(fd);
        return -1;
    }
    for (off = 0; off < len; off += sizeof(zeros)) {
        uint32_t n = (uint32_t)(len - off < sizeof(zeros) ? len - off : sizeof(zeros)), be = htonl(n);
        if (pec_net_send_all(fd, &be, 4) < 0 || pec_net_send_all(fd, zeros, n) < 0)
            break;
    }
    if (off >= len)
        (void)pec_net_send_all(fd, &zero, 4);
    read_reply(fd, reply, sizeof(reply));
    if (size_refused(reply))
        return 0;
    if (strstr(reply, "stream: OK") != NULL)
        return 1;
    pec_error_set(err, PEC_ERR_TEMPORARY, "clamd at %s answered \"%.100s\"", where, reply);
    return -1;
}
