/* userdb.c - Dovecot's auth-userdb client and its answer cache (see userdb.h). */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "pec/file.h"
#include "pec/log.h"
#include "pec/userdb.h"

#define CACHE_SLOTS 512
#define ADDRESS_MAX 320
#define REPLY_MAX 16384

struct cached {
    char address[ADDRESS_MAX];
    int found;
    struct pec_box box;
    time_t expires; /* 0: slot free */
};

struct pec_userdb {
    char path[108];
    unsigned timeout_ms, ttl;
    pthread_mutex_t lock;
    struct cached cache[CACHE_SLOTS];
};

/* now_ms - a monotonic clock for the deadline */
static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* pec_userdb_new - nothing is connected yet */
struct pec_userdb *pec_userdb_new(const char *path, unsigned timeout_ms, unsigned ttl_secs)
{
    struct pec_userdb *u = calloc(1, sizeof(*u));

    if (u == NULL)
        pec_panic("out of memory");
    snprintf(u->path, sizeof(u->path), "%s", path);
    u->timeout_ms = timeout_ms ? timeout_ms : 1;
    u->ttl = ttl_secs;
    pthread_mutex_init(&u->lock, NULL);
    return u;
}

/* pec_userdb_free - the cache goes with it */
void pec_userdb_free(struct pec_userdb **u)
{
    if (*u == NULL)
        return;
    pthread_mutex_destroy(&(*u)->lock);
    free(*u);
    *u = NULL;
}

/* slot_of - the cache slot an address hashes to (FNV-1a of its lower-case form) */
static struct cached *slot_of(struct pec_userdb *u, const char *address)
{
    unsigned h = 2166136261u;

    for (const unsigned char *p = (const unsigned char *)address; *p; p++)
        h = (h ^ (unsigned)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p)) * 16777619u;
    return &u->cache[h % CACHE_SLOTS];
}

/* cache_get - a live answer for address: 1 found, 0 not found, -1 none */
static int cache_get(struct pec_userdb *u, const char *address, time_t now, struct pec_box *box)
{
    struct cached *c;
    int r = -1;

    pthread_mutex_lock(&u->lock);
    c = slot_of(u, address);
    if (c->expires > now && strcasecmp(c->address, address) == 0) {
        r = c->found;
        *box = c->box;
    }
    pthread_mutex_unlock(&u->lock);
    return r;
}

/* cache_put - keep an answer ttl seconds (a colliding address takes the slot over) */
static void cache_put(struct pec_userdb *u, const char *address, time_t now, int found, const struct pec_box *box)
{
    struct cached *c;

    if (u->ttl == 0)
        return;
    pthread_mutex_lock(&u->lock);
    c = slot_of(u, address);
    snprintf(c->address, sizeof(c->address), "%s", address);
    c->found = found;
    c->box = *box;
    c->expires = now + (time_t)u->ttl;
    pthread_mutex_unlock(&u->lock);
}

/* unescape - Dovecot's tab escaping in place: \001 followed by 1, t, r or n */
static void unescape(char *s)
{
    char *w = s;

    for (; *s; s++) {
        if (*s == '\001' && s[1] != '\0') {
            s++;
            *w++ = *s == 't' ? '\t' : *s == 'r' ? '\r' : *s == 'n' ? '\n' : *s == '1' ? '\001' : *s;
        } else {
            *w++ = *s;
        }
    }
    *w = '\0';
}

/* flag - a userdb yes/no value, as the Dovecot plugin reads it */
static int flag(const char *v)
{
    return strcasecmp(v, "yes") == 0 || strcasecmp(v, "true") == 0 || strcasecmp(v, "on") == 0 ||
           strcmp(v, "1") == 0;
}

/* number - a userdb count; 0 (the provider's default) when it is not a plain number */
static unsigned long long number(const char *v)
{
    char *end;
    unsigned long long n = strtoull(v, &end, 10);

    return *v >= '0' && *v <= '9' && *end == '\0' ? n : 0;
}

/* box_field - one "key=value" field of a USER reply, unescaped: the PEC ones go into box */
static void box_field(struct pec_box *box, char *field)
{
    char *eq = strchr(field, '=');
    const char *v;

    if (eq == NULL)
        return;
    *eq = '\0';
    v = eq + 1;
    if (strcmp(field, "pec_accept_ordinary") == 0)
        box->accepts_ordinary = flag(v);
    else if (strcmp(field, "pec_mailbox_disabled") == 0)
        box->disabled = flag(v);
    else if (strcmp(field, "pec_notify") == 0)
        snprintf(box->notify, sizeof(box->notify), "%s", v);
    else if (strcmp(field, "pec_max_message_size") == 0)
        box->max_message_size = number(v);
    else if (strcmp(field, "pec_max_recipients") == 0)
        box->max_recipients = (unsigned long)number(v);
    else if (strcmp(field, "pec_archive") == 0)
        snprintf(box->archive, sizeof(box->archive), "%s", v);
    else if (strcmp(field, "pec_archive_quota") == 0)
        (void)pec_userdb_size(v, &box->archive_quota); /* not a size: 0, no limit of its own */
    else if (strncmp(field, "quota", 5) == 0 && box->quota[0] == '\0')
        snprintf(box->quota, sizeof(box->quota), "%s=%s", field, v);
}

/* read_line - the next LF-terminated line of the answer into line, waiting until deadline: 0, or -1 */
static int read_line(int fd, char *buf, size_t *len, char *line, size_t size, long long deadline)
{
    for (;;) {
        char *nl = memchr(buf, '\n', *len);
        struct pollfd p = { fd, POLLIN, 0 };
        long long left = deadline - now_ms();
        ssize_t n;

        if (nl != NULL) {
            size_t l = (size_t)(nl - buf);
            if (l >= size)
                return -1;
            memcpy(line, buf, l);
            line[l] = '\0';
            *len -= l + 1;
            memmove(buf, nl + 1, *len);
            return 0;
        }
        if (*len == REPLY_MAX || left <= 0 || poll(&p, 1, (int)left) <= 0)
            return -1;
        if ((n = read(fd, buf + *len, REPLY_MAX - *len)) <= 0)
            return -1;
        *len += (size_t)n;
    }
}

/* connect_to - a new connection to the userdb socket: the descriptor, or -1 with err */
static int connect_to(const struct pec_userdb *u, struct pec_error *err)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd;

    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", u->path);
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
        connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        pec_error_set(err, PEC_ERR_TEMPORARY, "userdb %s: %s", u->path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* ask - one lookup over a new connection: 1 found, 0 not found, -1 with err */
static int ask(const struct pec_userdb *u, const char *address, struct pec_box *box, struct pec_error *err)
{
    char buf[REPLY_MAX], line[REPLY_MAX], request[ADDRESS_MAX + 64], *field, *save;
    size_t len = 0;
    long long deadline = now_ms() + u->timeout_ms;
    int fd, r = -1, n;

    if ((fd = connect_to(u, err)) < 0)
        return -1;
    n = snprintf(request, sizeof(request), "VERSION\t1\t0\nUSER\t1\t%s\tservice=pec\n", address);
    if (pec_file_write_all(fd, request, (size_t)n) < 0) {
        pec_error_set(err, PEC_ERR_TEMPORARY, "userdb %s: %s", u->path, strerror(errno));
        goto out;
    }
    /* the server's handshake (VERSION 1, SPID), then the answer to our id */
    for (;;) {
        if (read_line(fd, buf, &len, line, sizeof(line), deadline) < 0) {
            pec_error_set(err, PEC_ERR_TEMPORARY, "userdb %s: no answer in %u ms", u->path, u->timeout_ms);
            goto out;
        }
        if (strncmp(line, "VERSION\t", 8) == 0 && strncmp(line + 8, "1\t", 2) != 0) {
            pec_error_set(err, PEC_ERR_TEMPORARY, "userdb %s: protocol version %s, not 1", u->path, line + 8);
            goto out;
        }
        if (strncmp(line, "USER\t1\t", 7) == 0 || strcmp(line, "NOTFOUND\t1") == 0 || strncmp(line, "FAIL\t1", 6) == 0)
            break;
    }
    if (line[0] == 'N') {
        r = 0;
    } else if (line[0] == 'F') {
        pec_error_set(err, PEC_ERR_TEMPORARY, "userdb %s: lookup of %s failed (%s)", u->path, address,
                      line[6] == '\t' ? line + 7 : "no reason");
    } else {
        memset(box, 0, sizeof(*box));
        strtok_r(line + 7, "\t", &save); /* the user name */
        while ((field = strtok_r(NULL, "\t", &save)) != NULL) {
            unescape(field);
            box_field(box, field);
        }
        r = 1;
    }
out:
    close(fd);
    return r;
}

/* pec_userdb_lookup - the cache, else the userdb */
int pec_userdb_lookup(struct pec_userdb *u, const char *address, time_t now, struct pec_box *box,
                      struct pec_error *err)
{
    struct pec_box b = { 0 };
    int r;

    if (address == NULL || *address == '\0' || strlen(address) >= ADDRESS_MAX || strpbrk(address, "\t\r\n\001")) {
        pec_error_set(err, PEC_ERR_INVALID, "userdb: unusable address");
        return -1;
    }
    if ((r = cache_get(u, address, now, &b)) < 0) {
        if ((r = ask(u, address, &b, err)) < 0)
            return -1; /* never cached: the next message asks again */
        cache_put(u, address, now, r, &b);
    }
    *box = b;
    return r;
}

/* pec_userdb_policy - the lookup as the reception point needs it */
enum pec_mailbox_policy pec_userdb_policy(void *ctx, const char *addr)
{
    struct pec_error err = { 0 };
    struct pec_box box;
    int r = pec_userdb_lookup(ctx, addr, time(NULL), &box, &err);

    if (r < 0) {
        pec_warn("%s", err.msg);
        return PEC_MAILBOX_LOOKUP_FAILED;
    }
    return r == 0 ? PEC_MAILBOX_UNKNOWN : box.accepts_ordinary ? PEC_MAILBOX_ACCEPTS_ORDINARY : PEC_MAILBOX_PEC_ONLY;
}

/* pec_userdb_box - pec_userdb_lookup as a callback */
int pec_userdb_box(void *ctx, const char *address, time_t now, struct pec_box *box, struct pec_error *err)
{
    return pec_userdb_lookup(ctx, address, now, box, err);
}

/* pec_userdb_size - digits and an optional unit, without overflow */
int pec_userdb_size(const char *v, unsigned long long *bytes_r)
{
    static const char units[] = "kmgt";
    unsigned long long n = 0, scale = 1;
    const char *p = v, *u;

    *bytes_r = 0;
    if (v == NULL || *v == '\0')
        return 1;
    if (*p < '0' || *p > '9')
        return 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (n > (~0ULL - 9) / 10)
            return 0;
        n = n * 10 + (unsigned long long)(*p - '0');
    }
    if (*p != '\0') {
        if ((u = strchr(units, *p >= 'A' && *p <= 'Z' ? *p + 32 : *p)) == NULL || p[1] != '\0')
            return 0;
        for (const char *k = units; k <= u; k++)
            scale *= 1024;
    }
    if (n > ~0ULL / scale)
        return 0;
    *bytes_r = n * scale;
    return 1;
}

/* pec_userdb_each - LIST, answered by LIST lines and DONE */
int pec_userdb_each(struct pec_userdb *u, int (*fn)(void *ctx, const char *user), void *ctx, struct pec_error *err)
{
    /* with the mask: Dovecot 2.4 matches an absent one as the empty user name, so lists nobody */
    static const char request[] = "VERSION\t1\t0\nLIST\t1\tuser=*\n";
    char buf[REPLY_MAX], line[REPLY_MAX];
    size_t len = 0;
    int fd = connect_to(u, err), r = -1;

    if (fd < 0)
        return -1;
    if (pec_file_write_all(fd, request, sizeof(request) - 1) < 0) {
        pec_error_set(err, PEC_ERR_TEMPORARY, "userdb %s: %s", u->path, strerror(errno));
        goto out;
    }
    for (;;) {
        if (read_line(fd, buf, &len, line, sizeof(line), now_ms() + u->timeout_ms) < 0) {
            pec_error_set(err, PEC_ERR_TEMPORARY, "userdb %s: the user list stopped", u->path);
            break;
        }
        if (strncmp(line, "LIST\t1\t", 7) == 0) {
            unescape(line + 7);
            if (fn(ctx, line + 7) != 0) {
                r = 0;
                break;
            }
        } else if (strcmp(line, "DONE\t1") == 0 || strcmp(line, "DONE\t1\t") == 0) {
            r = 0; /* Dovecot ends a complete list with an empty field */
            break;
        } else if (strncmp(line, "DONE\t1\t", 7) == 0) {
            pec_error_set(err, PEC_ERR_TEMPORARY, "userdb %s: the user list failed (%s: does the userdb allow "
                          "iteration, and this client to list?)", u->path, line + 7);
            break;
        }
    }
out:
    close(fd);
    return r;
}
