/* cmd_box.c - pecctl box show ADDRESS: the settings of one box as every point of the provider applies
 * them, read where the points read them (Dovecot's userdb, or the test-only mailbox file), the provider's
 * defaults filled in where the box has none.  What it prints is what a message would meet now (the
 * points keep userdb answers userdb_cache seconds, so a change reaches them within that time).
 *
 * pecctl box archive-report: for every box the userdb lists with an Archivio di sicurezza, its folder,
 * messages, bytes and own limit, asked of Dovecot with doveadm (the archives are the users' files).
 */
#include <errno.h>
#include <limits.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "pec/config.h"
#include "pec/mailboxes.h"
#include "pec/reception.h"
#include "pec/userdb.h"
#include "pecctl.h"

#define DEFAULT_CONFIG "/etc/pec/provider.conf"

/* box_usage - the box command summary */
static int box_usage(void)
{
    fputs("usage: pecctl box show [--config FILE] ADDRESS\n"
          "       pecctl box archive-report [--config FILE] [--doveconf FILE]\n", stderr);
    return PECCTL_USAGE;
}

/* yes_no - a flag for the listing */
static const char *yes_no(int v) { return v ? "yes" : "no"; }

/* print_box - the listing of a box the userdb has */
static void print_box(const struct pec_config *cfg, const char *address, const struct pec_box *b)
{
    printf("box: %s\nsource: userdb %s\nexists: yes\n", address, cfg->userdb_socket);
    printf("disabled: %s%s\n", yes_no(b->disabled),
           b->disabled ? " (every busta gets an avviso di mancata consegna 5.2.1)" : "");
    printf("accepts_ordinary: %s (%s)\n", yes_no(b->accepts_ordinary),
           b->accepts_ordinary ? "ordinary mail is delivered inside a busta di anomalia"
                               : "ordinary mail is refused, answers to its own messages are wrapped");
    printf("notify: %s\n", b->notify[0] ? b->notify : "none");
    if (b->max_message_size)
        printf("max_message_size: %llu (the box's)\n", b->max_message_size);
    else
        printf("max_message_size: %llu (the provider's)\n", cfg->max_message_size);
    if (b->max_recipients)
        printf("max_recipients: %lu (the box's)\n", b->max_recipients);
    else
        printf("max_recipients: %lu (the provider's)\n", cfg->max_recipients);
    printf("quota: %s\n", b->quota[0] ? b->quota : "Dovecot's default");
    if (b->archive[0] && b->archive_quota)
        printf("archive: %s (its own limit %llu bytes)\n", b->archive, b->archive_quota);
    else
        printf("archive: %s\n", b->archive[0] ? b->archive : "none");
}

/* show_userdb - the box in the userdb: the exit status */
static int show_userdb(const struct pec_config *cfg, const char *address)
{
    struct pec_userdb *u = pec_userdb_new(cfg->userdb_socket, PEC_USERDB_TIMEOUT_MS, 0);
    struct pec_error err = { 0 };
    struct pec_box b;
    int r = pec_userdb_lookup(u, address, time(NULL), &b, &err);

    pec_userdb_free(&u);
    if (r < 0) {
        fprintf(stderr, "pecctl box show: %s\n", err.msg);
        return PECCTL_NOT_VALID;
    }
    if (r == 0) {
        printf("box: %s\nsource: userdb %s\nexists: no (a busta for it gets the no-dest avviso, ordinary mail "
               "is refused)\n", address, cfg->userdb_socket);
        return PECCTL_NOT_VALID;
    }
    print_box(cfg, address, &b);
    return PECCTL_OK;
}

/* show_file - the box in the test-only mailbox file: the exit status */
static int show_file(const struct pec_config *cfg, const char *address)
{
    struct pec_error err = { 0 };
    struct pec_mailboxes *m = pec_mailboxes_load(cfg->mailbox_file, &err);
    enum pec_mailbox_policy p;

    if (m == NULL) {
        fprintf(stderr, "pecctl box show: %s\n", err.msg);
        return PECCTL_NOT_VALID;
    }
    p = pec_mailboxes_policy(m, address);
    pec_mailboxes_free(&m);
    printf("box: %s\nsource: mailbox_file %s (test-only: the delivery point reads Dovecot's userdb)\n", address,
           cfg->mailbox_file);
    if (p == PEC_MAILBOX_UNKNOWN) {
        printf("exists: no\n");
        return PECCTL_NOT_VALID;
    }
    printf("exists: yes\naccepts_ordinary: %s\nmax_message_size: %llu (the provider's)\n"
           "max_recipients: %lu (the provider's)\n", yes_no(p == PEC_MAILBOX_ACCEPTS_ORDINARY),
           cfg->max_message_size, cfg->max_recipients);
    return PECCTL_OK;
}

/* What archive-report walks with. */
struct report {
    struct pec_userdb *u;
    const char *doveconf;      /* doveadm -c, or NULL */
    unsigned long boxes, full, unknown;
    unsigned long long bytes;
};

/* folder_status - messages and vsize of folder of user, through doveadm: 0, or -1 */
static int folder_status(const char *doveconf, const char *user, const char *folder, unsigned long long *messages,
                         unsigned long long *bytes)
{
    const char *argv[12];
    char out[512];
    size_t len = 0, argc = 0;
    ssize_t n;
    int fds[2], status;
    pid_t pid;

    argv[argc++] = "doveadm";
    if (doveconf) {
        argv[argc++] = "-c";
        argv[argc++] = doveconf;
    }
    argv[argc++] = "-f";
    argv[argc++] = "tab";
    argv[argc++] = "mailbox";
    argv[argc++] = "status";
    argv[argc++] = "-u";
    argv[argc++] = user;
    argv[argc++] = "messages vsize";
    argv[argc++] = folder;
    argv[argc] = NULL;
    if (pipe(fds) < 0 || (pid = fork()) < 0)
        return -1;
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    while (len < sizeof(out) - 1 && (n = read(fds[0], out + len, sizeof(out) - 1 - len)) > 0)
        len += (size_t)n;
    out[len] = '\0';
    close(fds[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    /* a header line "mailbox\tmessages\tvsize", then the folder's values */
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 && strchr(out, '\n') != NULL &&
                   sscanf(strchr(out, '\n') + 1, "%*[^\t]\t%llu\t%llu", messages, bytes) == 2
               ? 0
               : -1;
}

/* report_box - one box of the walk: a line when it keeps an archive */
static int report_box(void *ctx, const char *user)
{
    struct report *r = ctx;
    struct pec_error err = { 0 };
    struct pec_box b;
    unsigned long long messages = 0, bytes = 0;

    if (pec_userdb_lookup(r->u, user, time(NULL), &b, &err) <= 0 || b.archive[0] == '\0')
        return 0;
    r->boxes++;
    if (folder_status(r->doveconf, user, b.archive, &messages, &bytes) < 0) {
        r->unknown++;
        printf("%s\t%s\t-\t-\t%llu\tunknown (doveadm could not tell)\n", user, b.archive, b.archive_quota);
        return 0;
    }
    r->bytes += bytes;
    if (b.archive_quota && bytes * 10 >= b.archive_quota * 9)
        r->full++;
    printf("%s\t%s\t%llu\t%llu\t%llu\t%s\n", user, b.archive, messages, bytes, b.archive_quota,
           b.archive_quota == 0 ? "no limit of its own"
           : bytes >= b.archive_quota ? "full: new messages are not archived"
           : bytes * 10 >= b.archive_quota * 9 ? "over 90%" : "ok");
    return 0;
}

/* archive_report - every archive of the userdb: the exit status (1 when one is 90% full or unknown) */
static int archive_report(const struct pec_config *cfg, const char *doveconf)
{
    struct report r = { pec_userdb_new(cfg->userdb_socket, PEC_USERDB_TIMEOUT_MS, 0), doveconf, 0, 0, 0, 0 };
    struct pec_error err = { 0 };
    int rc;

    printf("box\tfolder\tmessages\tbytes\tlimit\tstate\n");
    rc = pec_userdb_each(r.u, report_box, &r, &err);
    pec_userdb_free(&r.u);
    if (rc < 0) {
        fprintf(stderr, "pecctl box archive-report: %s\n", err.msg);
        return PECCTL_NOT_VALID;
    }
    printf("# %lu archives, %llu bytes, %lu at 90%% of their limit or more, %lu unknown\n", r.boxes, r.bytes,
           r.full, r.unknown);
    return r.full || r.unknown ? PECCTL_NOT_VALID : PECCTL_OK;
}

/* cmd_box - pecctl box show | archive-report */
int cmd_box(int argc, char **argv)
{
    const char *path = DEFAULT_CONFIG, *address = NULL, *doveconf = NULL;
    const struct pec_config *cfg;
    struct pec_error err = { 0 };
    int rc, report;

    if (argc < 2 || (strcmp(argv[1], "show") != 0 && strcmp(argv[1], "archive-report") != 0))
        return box_usage();
    report = strcmp(argv[1], "archive-report") == 0;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            path = argv[++i];
        else if (report && strcmp(argv[i], "--doveconf") == 0 && i + 1 < argc)
            doveconf = argv[++i];
        else if (!report && argv[i][0] != '-' && address == NULL)
            address = argv[i];
        else
            return box_usage();
    }
    if (!report && (address == NULL || strchr(address, '@') == NULL))
        return box_usage();
    if ((cfg = pec_config_load(path, &err)) == NULL) {
        fprintf(stderr, "pecctl box: %s\n", err.msg);
        return PECCTL_NOT_VALID;
    }
    if (report) {
        if (cfg->userdb_socket == NULL) {
            fprintf(stderr, "pecctl box archive-report: %s sets no userdb_socket\n", path);
            rc = PECCTL_NOT_VALID;
        } else
            rc = archive_report(cfg, doveconf);
    } else if (!pec_config_manages(cfg, strrchr(address, '@') + 1)) {
        printf("box: %s\nexists: no (not a domain of %s)\n", address, cfg->provider_name);
        rc = PECCTL_NOT_VALID;
    } else if (cfg->userdb_socket) {
        rc = show_userdb(cfg, address);
    } else if (cfg->mailbox_file) {
        rc = show_file(cfg, address);
    } else {
        fprintf(stderr, "pecctl box show: %s sets neither userdb_socket nor mailbox_file\n", path);
        rc = PECCTL_NOT_VALID;
    }
    pec_config_unref(&cfg);
    return rc;
}
