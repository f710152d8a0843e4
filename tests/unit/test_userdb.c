/* test_userdb.c - the auth-userdb client against a fake Dovecot auth server on a unix socket: a box's
 * PEC fields (escaped values too), an unknown user, FAIL, a server too slow, no server at all; answers
 * cached for their TTL, errors never; the user list (LIST, with the mask Dovecot 2.4 needs). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"
#include "pec/userdb.h"

static char sock_path[100];

/* serve - the fake auth server: one answer per connection, after the handshake, by user name */
static void serve(int lfd)
{
    for (;;) {
        int c = accept(lfd, NULL, NULL);
        char req[1024] = "", *user, *end, reply[1024];
        ssize_t n;
        size_t got = 0;

        if (c < 0)
            continue;
        if (write(c, "VERSION\t1\t1\nSPID\t4242\n", 22) != 22) {
            close(c);
            continue;
        }
        /* until the USER or LIST line has come */
        while (got < sizeof(req) - 1 && (n = read(c, req + got, sizeof(req) - 1 - got)) > 0) {
            got += (size_t)n;
            req[got] = '\0';
            if (((user = strstr(req, "USER\t1\t")) != NULL || (user = strstr(req, "LIST\t1")) != NULL) &&
                strchr(user, '\n'))
                break;
        }
        if ((user = strstr(req, "LIST\t1")) != NULL) {
            /* as 2.4: without a mask the list is empty; a complete list ends with an empty field */
            const char *list = strncmp(user, "LIST\t1\tuser=*\n", 14) == 0
                                   ? "LIST\t1\talice@pec.test\nLIST\t1\tbob@pec.test\nDONE\t1\t\n"
                                   : "DONE\t1\t\n";
            (void)!write(c, list, strlen(list));
            close(c);
            continue;
        }
        user = strstr(req, "USER\t1\t");
        if (user == NULL || strstr(req, "VERSION\t1\t") != req) {
            close(c);
            continue;
        }
        user += 7;
        end = strchr(user, '\t');
        if (end)
            *end = '\0';
        if (strcmp(user, "alice@pec.test") == 0)
            snprintf(reply, sizeof(reply), "USER\t1\t%s\tuid=5000\thome=/var/vmail/alice\tpec_accept_ordinary=yes\t"
                     "pec_notify=a\001tb@example.org\tpec_max_recipients=7\tpec_max_message_size=12x\t"
                     "pec_archive=Archivio\tpec_archive_quota=3G\tquota_rule=*:storage=2G\n", user);
        else if (strcmp(user, "bob@pec.test") == 0)
            snprintf(reply, sizeof(reply), "USER\t1\t%s\tpec_mailbox_disabled=true\n", user);
        else if (strcmp(user, "broken@pec.test") == 0)
            snprintf(reply, sizeof(reply), "FAIL\t1\treason=backend down\n");
        else if (strcmp(user, "slow@pec.test") == 0) {
            sleep(2);
            snprintf(reply, sizeof(reply), "NOTFOUND\t1\n");
        } else
            snprintf(reply, sizeof(reply), "NOTFOUND\t1\n");
        (void)!write(c, reply, strlen(reply));
        close(c);
    }
}

/* start_server - the fake server in a child process; its pid */
static pid_t start_server(void)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    pid_t pid;

    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
    unlink(sock_path);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 16) < 0)
        abort();
    if ((pid = fork()) == 0) {
        serve(lfd);
        _exit(0);
    }
    close(lfd);
    return pid;
}

/* collect - append each listed user to the string ctx */
static int collect(void *ctx, const char *user)
{
    strcat(strcat((char *)ctx, user), " ");
    return 0;
}

int main(void)
{
    char names[256];
    char dir[] = "/tmp/pec-test-userdb.XXXXXX";
    struct pec_error err = { 0 };
    struct pec_box box;
    struct pec_userdb *u;
    time_t now = 1000000;
    pid_t server;

    if (mkdtemp(dir) == NULL)
        return 1;
    snprintf(sock_path, sizeof(sock_path), "%s/auth-userdb", dir);
    server = start_server();
    u = pec_userdb_new(sock_path, 300, 60);

    /* a box and its fields: flags, an escaped value, a count, a count that is not one */
    CHECK(pec_userdb_lookup(u, "alice@pec.test", now, &box, &err) == 1);
    CHECK(box.accepts_ordinary == 1 && box.disabled == 0);
    CHECK_STR(box.notify, "a\tb@example.org");
    CHECK(box.max_recipients == 7 && box.max_message_size == 0);
    CHECK_STR(box.archive, "Archivio");
    CHECK(box.archive_quota == 3ULL << 30);
    CHECK_STR(box.quota, "quota_rule=*:storage=2G");
    /* the user list */
    names[0] = '\0';
    CHECK(pec_userdb_each(u, collect, names, &err) == 0);
    CHECK_STR(names, "alice@pec.test bob@pec.test ");
    CHECK(pec_userdb_lookup(u, "bob@pec.test", now, &box, &err) == 1);
    CHECK(box.disabled == 1 && box.accepts_ordinary == 0 && box.notify[0] == '\0');
    /* no such user: 0; the backend failing, or too slow: a temporary error, never "no such user" */
    CHECK(pec_userdb_lookup(u, "nobody@pec.test", now, &box, &err) == 0);
    CHECK(pec_userdb_lookup(u, "broken@pec.test", now, &box, &err) < 0 && err.cls == PEC_ERR_TEMPORARY);
    CHECK(strstr(err.msg, "backend down") != NULL);
    CHECK(pec_userdb_lookup(u, "slow@pec.test", now, &box, &err) < 0 && err.cls == PEC_ERR_TEMPORARY);
    CHECK(strstr(err.msg, "no answer in 300 ms") != NULL);
    /* an address no lookup can carry */
    CHECK(pec_userdb_lookup(u, "a\tb@pec.test", now, &box, &err) < 0 && err.cls == PEC_ERR_INVALID);

    /* the server gone: answers within their TTL come from the cache (found and not found alike) */
    kill(server, SIGKILL);
    waitpid(server, NULL, 0);
    unlink(sock_path);
    CHECK(pec_userdb_lookup(u, "ALICE@pec.test", now + 30, &box, &err) == 1 && box.max_recipients == 7);
    CHECK(pec_userdb_lookup(u, "nobody@pec.test", now + 30, &box, &err) == 0);
    /* a failure is never cached, and past the TTL the userdb is asked again: here it is not there */
    CHECK(pec_userdb_lookup(u, "broken@pec.test", now + 30, &box, &err) < 0 && err.cls == PEC_ERR_TEMPORARY);
    CHECK(pec_userdb_lookup(u, "alice@pec.test", now + 61, &box, &err) < 0 && err.cls == PEC_ERR_TEMPORARY);
    CHECK(pec_userdb_each(u, collect, names, &err) < 0 && err.cls == PEC_ERR_TEMPORARY);
    pec_userdb_free(&u);
    CHECK(u == NULL);
    {
        unsigned long long n = 1;
        CHECK(pec_userdb_size("8k", &n) == 1 && n == 8192);
        CHECK(pec_userdb_size("3G", &n) == 1 && n == 3ULL << 30);
        CHECK(pec_userdb_size("12x", &n) == 0 && n == 0);
        CHECK(pec_userdb_size("G", &n) == 0 && n == 0);
    }
    pec_userdb_free(&u);
    rmdir(dir);
    return CHECK_DONE();
}
