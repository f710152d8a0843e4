/* main.c - pec-milter: the access point or the reception point, one role per process and socket.
 *
 * usage: pec-milter -c CONFIG -r access|reception (-s SOCKET [-t TIMEOUT] [-u USER] [-g GROUP] [-S] | -n)
 * -u: started as root, become USER once the key is loaded and the socket open; a unix socket is mode 0660,
 * owned by USER and of group GROUP (the MTA's), so nobody else reaches it.
 * -S logs to syslog (mail facility) instead of standard error; -n checks the configuration for the role
 * (every problem with its file and line) and exits: 0 when it would serve.
 * It refuses to start when pec_runtime_check finds a problem: it never certifies with a loose setup.
 * SIGUSR1 loads the configuration and everything it names again (reloader below).
 * SOCKET as libmilter spells it: inet:PORT@127.0.0.1 or unix:/path.
 */
#include <pthread.h>
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
#include "pec/privs.h"
#include "pec/userdb.h"

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

/* The set-up one load of the configuration gives, with what it owns. */
struct setup {
    struct milter_app app; /* first: what the connections see is &app */
    struct pec_effects_std std;
    struct pec_runtime *rt;
    struct pec_mailboxes *boxes;
    struct pec_userdb *userdb;
};

/* What a reload needs to load the configuration again, and where the set-up goes. */
struct reload_args {
    const char *config;
    enum milter_role role;
    struct pec_slot *setups;
};

/* setup_free - everything one load made (the slot's release function) */
static void setup_free(void *obj)
{
    struct setup *s = obj;

    pec_mailboxes_free(&s->boxes);
    pec_userdb_free(&s->userdb);
    pec_trace_index_cache_free(&s->app.index_cache);
    pec_trace_free(&s->std.trace);
    pec_runtime_free(&s->rt);
    free(s);
}

/* setup_load - the configuration and everything it names, checked for the role: the set-up, with the
 * start-up check's problems reported through report and counted in *problems; NULL with err when
 * something does not load.  check_only insists that the index copy in the database loads now; a daemon
 * starting while PostgreSQL is not up yet (or before it may connect as its service user) serves anyway
 * and answers 4xx until the copy loads (the engines never judge without an index) */
static struct setup *setup_load(const char *config, enum milter_role role, int check_only, pec_report_fn report,
                                int *problems, struct pec_error *err)
{
    struct setup *s = calloc(1, sizeof(*s));
    const struct pec_config *cfg;
    int have_index;

    if (s == NULL)
        pec_panic("out of memory");
    s->app.role = role;
    if ((s->rt = pec_runtime_load(config, time(NULL), err)) == NULL)
        goto fail;
    cfg = s->rt->cfg;
    if (cfg->outbox_dir == NULL || cfg->marker_domain == NULL) {
        pec_error_set(err, PEC_ERR_INVALID, "%s: outbox_dir and marker_domain are required", config);
        goto fail;
    }
    /* the mailboxes: Dovecot's userdb, or a file (tests); the access point needs them too, since mail
     * between two of our users is received here */
    if (role == ROLE_RECEPTION && cfg->mailbox_file == NULL && cfg->userdb_socket == NULL) {
        pec_error_set(err, PEC_ERR_INVALID, "%s: userdb_socket (or mailbox_file) is required for the reception "
                      "point", config);
        goto fail;
    }
    if (cfg->userdb_socket)
        s->userdb = pec_userdb_new(cfg->userdb_socket, PEC_USERDB_TIMEOUT_MS, (unsigned)cfg->userdb_cache);
    else if (cfg->mailbox_file && (s->boxes = pec_mailboxes_load(cfg->mailbox_file, err)) == NULL)
        goto fail;
    if (cfg->database) {
        struct pec_trace_settings ts = { cfg->node_id, 8, 3, 5000 };
        if ((s->std.trace = pec_trace_open(cfg->database, &ts, err)) == NULL) {
            char why[sizeof(err->msg)];
            snprintf(why, sizeof(why), "%s", err->msg);
            pec_error_set(err, PEC_ERR_INVALID, "%s: database: %s", config, why);
            goto fail;
        }
        /* the provider index as imported with pecctl index import, looked up in a cached snapshot */
        s->app.index_cache = pec_trace_index_cache_new(s->std.trace, 60, NULL);
    }
    /* the index: the file's, or the database copy */
    have_index = s->rt->index != NULL || (s->app.index_cache != NULL && !check_only);
    if (s->rt->index == NULL && s->app.index_cache) {
        struct pec_error ierr = { 0 };
        const struct pec_index *idx = pec_trace_index_cache_acquire(s->app.index_cache, &ierr);
        if (idx == NULL && check_only)
            printf("%s: the provider index copy in the database cannot be loaded: %s\n", config, ierr.msg);
        else if (idx == NULL)
            pec_warn("pec-milter: provider index copy not loaded yet (4xx until it is): %s", ierr.msg);
        have_index = have_index || idx != NULL;
        pec_trace_index_cache_release(s->app.index_cache, &idx);
    }
    *problems = pec_runtime_check(s->rt, role == ROLE_ACCESS ? PEC_ROLE_ACCESS : PEC_ROLE_RECEPTION, have_index,
                                  report, report, (void *)"");
    /* one submission per avviso, the rare message sent while the client waits */
    s->std.cfg = cfg;
    pec_effects_standard(&s->app.effects, &s->std);
    s->app.rt = s->rt;
    s->app.own_reception = s->boxes != NULL || s->userdb != NULL;
    s->app.access = (struct pec_access_ctx){ cfg, &s->rt->issuer, s->rt->index, login_is_mailbox, NULL,
                                             s->userdb ? pec_userdb_box : NULL, s->userdb };
    s->app.reception = (struct pec_reception_ctx){ cfg, &s->rt->issuer, s->rt->trust, s->rt->index,
                                                   s->userdb ? pec_userdb_policy : pec_mailboxes_policy,
                                                   s->userdb ? (void *)s->userdb : (void *)s->boxes };
    return s;
fail:
    setup_free(s);
    return NULL;
}

/* reload_load - pec_slot_load_fn: the configuration again, for the same role */
static void *reload_load(void *ctx, int *problems, struct pec_error *err)
{
    const struct reload_args *r = ctx;

    return setup_load(r->config, r->role, 0, warn_line, problems, err);
}

/* reloader - SIGUSR1: the configuration, keys, trust anchors, CRLs and index again; new connections
 * get them once they load and pass the start-up check, the open ones finish with theirs.  (SIGHUP is
 * libmilter's: its signal thread stops the milter on SIGHUP and SIGTERM.) */
static void *reloader(void *arg)
{
    const struct reload_args *r = arg;
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    pec_slot_reload_forever(r->setups, &set, "pec-milter", r->config, reload_load, arg);
}

int main(int argc, char **argv)
{
    static struct reload_args reload;
    const char *config = NULL, *role = NULL, *sock = NULL, *user = NULL, *group = NULL;
    struct setup *s;
    struct pec_error err = { 0 };
    enum milter_role r;
    int opt, timeout = 300, check_only = 0, problems = 0;
    sigset_t usr1;
    pthread_t th;

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
        r = ROLE_ACCESS;
    else if (strcmp(role, "reception") == 0)
        r = ROLE_RECEPTION;
    else
        return usage();
    /* before any thread exists, so that every thread inherits it: SIGUSR1 is the reloader's alone */
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &usr1, NULL);
    signal(SIGPIPE, SIG_IGN);
    pec_mime_init();
    /* -n -u USER: check as the daemon will run (its files, its database role) */
    if (check_only && user && pec_privs_drop(user, &err) < 0)
        pec_fatal("pec-milter: %s", err.msg);
    s = setup_load(config, r, check_only, check_only ? print_line : warn_line, &problems, &err);
    if (check_only) {
        if (s == NULL)
            printf("%s\n", err.msg);
        problems = s ? problems : 1;
        printf("%s: %d problem%s for the %s point\n", config, problems, problems == 1 ? "" : "s", role);
        if (s)
            setup_free(s);
        return s != NULL && problems == 0 ? 0 : 1;
    }
    if (s == NULL)
        pec_fatal("pec-milter: %s", err.msg);
    if (problems > 0)
        pec_fatal("pec-milter: %s: not starting: the configuration above would certify with a loose setup "
                  "(pec-milter -n lists the problems)", config);
    reload = (struct reload_args){ config, r, pec_slot_new(s, setup_free) };
    if (pthread_create(&th, NULL, reloader, &reload) != 0)
        pec_fatal("pec-milter: cannot start the reload thread");
    pthread_detach(th);
    pec_info("pec-milter: %s point for %s on %s", role, s->rt->cfg->mail_domain, sock);
    if (user == NULL && geteuid() == 0)
        pec_warn("pec-milter: running as root: start it with -u USER (the service account)");
    return milter_run(reload.setups, sock, timeout, user, group);
}
