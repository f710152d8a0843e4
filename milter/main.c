/* main.c - pec-milter: the access point or the reception point, one role per process and socket.
 *
 * usage: pec-milter -c CONFIG -r access|reception (-s SOCKET [-t TIMEOUT] [-u USER] [-g GROUP] [-S] | -n)
 * -u: started as root, become USER once the key is loaded and the socket open; a unix socket is mode 0660,
 * owned by USER and of group GROUP (the MTA's), so nobody else reaches it.
 * -S logs to syslog (mail facility) instead of standard error; -n checks the configuration for the role
 * (every problem with its file and line) and exits: 0 when it would serve.
 * It refuses to start when pec_runtime_check finds a problem: it never certifies with a loose setup.
 * SOCKET as libmilter spells it: inet:PORT@127.0.0.1 or unix:/path.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "milter.h"
#include "pec/log.h"
#include "pec/mailboxes.h"
#include "pec/mime.h"

/* usage - print the synopsis and give the exit status for bad usage */
static int usage(void)
{
    fprintf(stderr, "usage: pec-milter -c CONFIG -r access|reception (-s SOCKET [-t TIMEOUT] [-u USER] [-g GROUP] [-S] | -n)\n");
    return 2;
}

/* print_line - a problem or notice of the configuration check (-n) */
static void print_line(void *ctx, const char *line)
{
    printf("%s%s\n", (const char *)ctx, line);
}

/* warn_line - the same at start-up, to the log */
static void warn_line(void *ctx, const char *line)
{
    pec_warn("pec-milter: %s%s", (const char *)ctx, line);
}

/* login_is_mailbox - the SASL login is the mailbox address */
static const char *login_is_mailbox(void *ctx, const char *login)
{
    (void)ctx;
    return strchr(login, '@') ? login : NULL;
}

int main(int argc, char **argv)
{
    static struct milter_app app;
    static struct pec_effects_std std;
    const char *config = NULL, *role = NULL, *sock = NULL, *user = NULL, *group = NULL;
    struct pec_runtime *rt;
    struct pec_mailboxes *boxes = NULL;
    struct pec_error err = { 0 };
    int opt, timeout = 300, status, check_only = 0, have_index;

    while ((opt = getopt(argc, argv, "c:r:s:t:u:g:Sn")) != -1) {
        switch (opt) {
        case 'c': config = optarg; break;
        case 'r': role = optarg; break;
        case 's': sock = optarg; break;
        case 't': timeout = atoi(optarg); break;
        case 'S': pec_log_to_syslog("pec-milter"); break;
        case 'n': check_only = 1; break;
        case 'u': user = optarg; break;
        case 'g': group = optarg; break;
        default: return usage();
        }
    }
    if (config == NULL || role == NULL || (sock == NULL && !check_only))
        return usage();
    if (strcmp(role, "access") == 0)
        app.role = ROLE_ACCESS;
    else if (strcmp(role, "reception") == 0)
        app.role = ROLE_RECEPTION;
    else
        return usage();
    signal(SIGPIPE, SIG_IGN);
    pec_mime_init();
    if ((rt = pec_runtime_load(config, time(NULL), &err)) == NULL)
        pec_fatal("pec-milter: %s", err.msg);
    if (rt->cfg->outbox_dir == NULL || rt->cfg->marker_domain == NULL)
        pec_fatal("pec-milter: %s: outbox_dir and marker_domain are required", config);
    /* the access point needs the mailboxes too: mail between two of our users is received here */
    if (app.role == ROLE_RECEPTION && rt->cfg->mailbox_file == NULL)
        pec_fatal("pec-milter: %s: mailbox_file is required for the reception point", config);
    if (rt->cfg->mailbox_file && (boxes = pec_mailboxes_load(rt->cfg->mailbox_file, &err)) == NULL)
        pec_fatal("pec-milter: %s", err.msg);
    if (rt->cfg->database) {
        struct pec_trace_settings ts = { rt->cfg->node_id, 8, 3, 5000 };
        if ((std.trace = pec_trace_open(rt->cfg->database, &ts, &err)) == NULL)
            pec_fatal("pec-milter: %s: database: %s", config, err.msg);
        /* the provider index as imported with pecctl index import, looked up in a cached snapshot */
        app.index_cache = pec_trace_index_cache_new(std.trace, 60, NULL);
    }
    /* the index: the file's, or the database copy.  -n insists that the copy loads now; a daemon starting
     * while PostgreSQL is not up yet (or before it may connect as its service user) serves anyway and
     * answers 4xx until the copy loads (the engines never judge without an index) */
    have_index = rt->index != NULL || (app.index_cache != NULL && !check_only);
    if (rt->index == NULL && app.index_cache) {
        const struct pec_index *idx = pec_trace_index_cache_acquire(app.index_cache, &err);
        if (idx == NULL && check_only)
            printf("%s: the provider index copy in the database cannot be loaded: %s\n", config, err.msg);
        else if (idx == NULL)
            pec_warn("pec-milter: provider index copy not loaded yet (4xx until it is): %s", err.msg);
        have_index = have_index || idx != NULL;
        pec_trace_index_cache_release(app.index_cache, &idx);
    }
    if (check_only) {
        int n = pec_runtime_check(rt, app.role == ROLE_ACCESS ? PEC_ROLE_ACCESS : PEC_ROLE_RECEPTION, have_index,
                                  print_line, print_line, (void *)"");
        printf("%s: %d problem%s for the %s point\n", config, n, n == 1 ? "" : "s", role);
        return n == 0 ? 0 : 1;
    }
    if (pec_runtime_check(rt, app.role == ROLE_ACCESS ? PEC_ROLE_ACCESS : PEC_ROLE_RECEPTION, have_index, warn_line,
                          warn_line, (void *)"") > 0)
        pec_fatal("pec-milter: %s: not starting: the configuration above would certify with a loose setup "
                  "(pec-milter -n lists the problems)", config);
    app.rt = rt;
    /* one submission per avviso, the rare message sent while the client waits */
    std.cfg = rt->cfg;
    pec_effects_standard(&app.effects, &std);
    app.own_reception = boxes != NULL;
    app.access = (struct pec_access_ctx){ rt->cfg, &rt->issuer, rt->index, login_is_mailbox, NULL };
    app.reception = (struct pec_reception_ctx){ rt->cfg, &rt->issuer, rt->trust, rt->index, pec_mailboxes_policy, boxes };
    pec_info("pec-milter: %s point for %s on %s", role, rt->cfg->mail_domain, sock);
    if (user == NULL && geteuid() == 0)
        pec_warn("pec-milter: running as root: start it with -u USER (the service account)");
    status = milter_run(&app, sock, timeout, user, group);
    pec_mailboxes_free(&boxes);
    pec_trace_index_cache_free(&app.index_cache);
    pec_trace_free(&std.trace);
    pec_runtime_free(&rt);
    return status;
}
