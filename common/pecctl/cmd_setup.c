/* cmd_setup.c - pecctl setup postfix|dovecot: print what to add to the host's Postfix and Dovecot for the
 * provider of a configuration file.  Nothing is edited: the administrator reviews the lines and applies
 * them (postconf -e / -M / -P commands for Postfix, a conf.d file for Dovecot).
 *
 * The paths of the daemons' sockets are the ones the systemd units use (/run/pec/<role>.sock); the
 * injection service is derived from submit_address, the transport from mail_domain, managed_domains and
 * marker_domain.  Dovecot's dialect (2.3 or 2.4) is the installed Dovecot's unless --dovecot says.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "pec/config.h"
#include "pec/mime.h"
#include "pecctl.h"

#define DEFAULT_CONFIG "/etc/pec/provider.conf"
#define RUN_DIR "/run/pec"
#define POSTFIX_PUBLIC "/var/spool/postfix/public/"
#define DOVECOT_MODULES "/usr/lib/dovecot/modules"
#define DOVECOT_PROTOCOLS "/usr/share/dovecot/protocols.d"
/* the folder of the Archivio di sicurezza, and Dovecot 2.3's ACL file for it (package dovecot-pec) */
#define PEC_ARCHIVE_FOLDER "Archivio"
#define PEC_ARCHIVE_ACL "/usr/share/dovecot-pec/archive.acl"

/* What the Dovecot snippet depends on, found on the host or forced by options. */
struct dovecot_host {
    int v24;                 /* Dovecot 2.4 dialect */
    int sieve, imap, pop3;   /* dovecot-sieve, dovecot-imapd, dovecot-pop3d installed */
};

/* setup_usage - the setup command summary */
static int setup_usage(void)
{
    fputs("usage: pecctl setup postfix [--config FILE]\n"
          "       pecctl setup dovecot [--config FILE] [--dovecot 2.3|2.4]\n", stderr);
    return PECCTL_USAGE;
}

/* domains_line - the managed domains, space separated, into out */
static void domains_line(const struct pec_config *cfg, char *out, size_t outlen)
{
    size_t used = 0;

    out[0] = '\0';
    for (size_t i = 0; i < cfg->n_managed_domains && used < outlen; i++)
        used += (size_t)snprintf(out + used, outlen - used, "%s%s", i ? " " : "", cfg->managed_domains[i]);
}

/* postconf_main - one main.cf setting as a postconf -e command, with its reason above it */
static void postconf_main(const char *why, const char *key, const char *value)
{
    if (*why != '\0')
        printf("# %s\n", why);
    printf("postconf -e '%s = %s'\n", key, value);
}

/* postconf_service - a master.cf service (postconf -M: not chrooted, so that the absolute socket paths
 * of the PEC daemons are reachable; private "n" for a server, "-" for a delivery agent) and its -o
 * options (postconf -P) */
static void postconf_service(const char *why, const char *name, const char *type, const char *private,
                             const char *command, const char *const *options)
{
    printf("\n# %s\npostconf -M '%s/%s=%s %s %s - n - - %s'\n", why, name, type, name, type, private, command);
    for (size_t i = 0; options[i] != NULL; i++)
        printf("postconf -P '%s/%s/%s'\n", name, type, options[i]);
}

/* print_postfix - the Postfix part */
static int print_postfix(const struct pec_config *cfg)
{
    static const char *const submission[] = {
        "syslog_name=postfix/submission", "smtpd_tls_security_level=encrypt", "smtpd_sasl_auth_enable=yes",
        "smtpd_tls_auth_only=yes", "smtpd_client_restrictions=permit_sasl_authenticated,reject",
        "smtpd_relay_restrictions=permit_sasl_authenticated,reject", "smtpd_milters=unix:" RUN_DIR "/access.sock",
        NULL };
    static const char *const smtps[] = {
        "syslog_name=postfix/smtps", "smtpd_tls_wrappermode=yes", "smtpd_sasl_auth_enable=yes",
        "smtpd_client_restrictions=permit_sasl_authenticated,reject",
        "smtpd_relay_restrictions=permit_sasl_authenticated,reject", "smtpd_milters=unix:" RUN_DIR "/access.sock",
        NULL };
    static const char *const reception[] = { "smtpd_milters=unix:" RUN_DIR "/reception.sock", NULL };
    static const char *const none[] = { NULL };
    static const char *const inject[] = {
        "syslog_name=postfix/pec-inject", "smtpd_milters=", "mynetworks=127.0.0.1/32",
        "smtpd_relay_restrictions=permit_mynetworks,reject", NULL };
    const char *sa = cfg->submit_address;
    char domains[2048], size[32];

    domains_line(cfg, domains, sizeof(domains));
    snprintf(size, sizeof(size), "%zu", PEC_MIME_MAX_SIZE);
    printf("# Postfix for the PEC provider %s (%s), from %s.\n"
           "# Nothing has been changed: review these commands, then run them as root.\n\n"
           "## main.cf\n", cfg->provider_name, cfg->mail_domain, cfg->path);
    postconf_main("never accept uncertified or untraced mail while a PEC daemon is away", "milter_default_action",
                  "tempfail");
    postconf_main("never rewrite 8-bit content in transit: it would break the signatures",
                  "disable_mime_output_conversion", "yes");
    postconf_main("the largest message the PEC analysis reads (larger ones are refused by SMTP)",
                  "message_size_limit", size);
    postconf_main("a PEC transport gives up after 24 hours, so that the sender hears of it",
                  "maximal_queue_lifetime", "1d");
    postconf_main("the same for bounces", "bounce_queue_lifetime", "1d");
    postconf_main("the PEC domains are delivered here (add any domain you already relay to this list)",
                  "relay_domains", domains);
    printf("# the boxes live in Dovecot's userdb only: keep the PEC domains out of relay_recipient_maps and\n"
           "# reject_unverified_recipient; pec-milter asks the userdb at RCPT time and refuses an address that is\n"
           "# no box unless the mail may be a busta, which must get its avviso di mancata consegna instead\n");
    postconf_main("the markers to pec-emitter, the mailboxes to Dovecot's LMTP (put your own maps after it)",
                  "transport_maps", "texthash:/etc/postfix/pec_transport");
    postconf_main("one recipient per LMTP transaction: each gets its own result and receipt",
                  "lmtp_destination_recipient_limit", "1");
    postconf_main("receipts are injected without a milter (the pec-inject service below)", "non_smtpd_milters", "");
    postconf_main("TLS offered on port 25 and required on submission (use your certificate)",
                  "smtpd_tls_security_level", "may");
    postconf_main("", "smtpd_tls_cert_file", "/etc/ssl/certs/ssl-cert-snakeoil.pem");
    postconf_main("", "smtpd_tls_key_file", "/etc/ssl/private/ssl-cert-snakeoil.key");
    postconf_main("provider to provider over TLS; require it per PEC domain in /etc/postfix/pec_tls_policy "
                  "(\"domain encrypt\" lines)", "smtp_tls_security_level", "may");
    postconf_main("", "smtp_tls_policy_maps", "texthash:/etc/postfix/pec_tls_policy");
    postconf_main("users authenticate through Dovecot (the auth listener of `pecctl setup dovecot`)",
                  "smtpd_sasl_type", "dovecot");
    postconf_main("", "smtpd_sasl_path", "private/auth");

    printf("\n## master.cf\n");
    postconf_service("access point: authenticated submission with STARTTLS (587), every message through "
                     "pec-milter@access", "submission", "inet", "n", "smtpd", submission);
    postconf_service("access point: SMTPS with implicit TLS (465)", "smtps", "inet", "n", "smtpd", smtps);
    postconf_service("reception point: port 25, every message through pec-milter@reception", "smtp", "inet",
                     "n", "smtpd", reception);
    if (sa != NULL && strncmp(sa, POSTFIX_PUBLIC, strlen(POSTFIX_PUBLIC)) == 0 &&
        strchr(sa + strlen(POSTFIX_PUBLIC), '/') == NULL)
        postconf_service("injection point (submit_address): receipts signed by the PEC daemons, no milter; a "
                         "socket in public/ that only the group postdrop reaches", sa + strlen(POSTFIX_PUBLIC),
                         "unix", "n", "smtpd", inject);
    else if (sa != NULL && sa[0] != '/')
        postconf_service("injection point (submit_address): receipts signed by the PEC daemons, no milter, on "
                         "loopback", sa, "inet", "n", "smtpd", inject);
    else
        printf("\n# submit_address is %s: no injection service printed (receipts go through %s)\n",
               sa ? sa : "unset", sa ? "that socket" : "sendmail_command");
    postconf_service("the queue markers to pec-emitter: an LMTP client of its own, not chrooted (Debian "
                     "chroots lmtp, and /run/pec is outside the chroot)", "pec-emitter", "unix", "-", "lmtp", none);

    printf("\n## /etc/postfix/pec_transport\ncat > /etc/postfix/pec_transport <<'EOF'\n");
    if (cfg->marker_domain != NULL)
        printf("%s pec-emitter:unix:%s/emitter.sock\n", cfg->marker_domain, RUN_DIR);
    for (size_t i = 0; i < cfg->n_managed_domains; i++)
        printf("%s lmtp:unix:private/dovecot-lmtp\n", cfg->managed_domains[i]);
    printf("EOF\ntouch /etc/postfix/pec_tls_policy\n");

    printf("\n## the PEC daemons, then Postfix\n"
           "systemctl enable --now pec-milter@access.service pec-milter@reception.service pec-emitter.service\n"
           "systemctl enable --now pec-timers.timer pec-trace-checkpoint.timer pec-trace-purge.timer "
           "pec-index-refresh.timer pec-crl-refresh.timer pec-metrics.timer\n"
           "postfix check && systemctl reload postfix\n");
    return PECCTL_OK;
}

/* dovecot_found - what the installed Dovecot has (the version from `dovecot --version`) */
static void dovecot_found(struct dovecot_host *h)
{
    FILE *p = popen("dovecot --version 2>/dev/null", "r");
    unsigned major = 0, minor = 0;

    if (p != NULL) {
        if (fscanf(p, "%u.%u", &major, &minor) != 2)
            major = minor = 0;
        pclose(p);
    }
    h->v24 = major > 2 || (major == 2 && minor >= 4);
    h->sieve = access(DOVECOT_MODULES "/lib90_sieve_plugin.so", F_OK) == 0;
    h->imap = access(DOVECOT_PROTOCOLS "/imapd.protocol", F_OK) == 0;
    h->pop3 = access(DOVECOT_PROTOCOLS "/pop3d.protocol", F_OK) == 0;
}

/* listener_block - a login service with its plain listener off and its TLS one on port; commented out
 * when the protocol's package is missing */
static void listener_block(const char *proto, const char *package, int installed, unsigned port)
{
    const char *c = installed ? "" : "#";

    if (!installed)
        printf("# %s is not installed (apt install %s), so this stays commented out:\n", package, package);
    printf("%sservice %s-login {\n%s  inet_listener %s {\n%s    port = 0\n%s  }\n%s  inet_listener %ss {\n"
           "%s    port = %u\n%s    ssl = yes\n%s  }\n%s}\n", c, proto, c, proto, c, c, c, proto, c, port, c, c, c);
}

/* mail_plugins - the plugin in LMTP and dovecot-lda, after sieve */
static void mail_plugins(const struct dovecot_host *h)
{
    static const char *const protocols[] = { "lmtp", "lda" };

    for (size_t i = 0; i < 2; i++) {
        if (h->v24)
            printf("protocol %s {\n  mail_plugins {\n%s    pec = yes\n  }\n}\n", protocols[i],
                   h->sieve ? "    sieve = yes\n" : "");
        else
            printf("protocol %s {\n  mail_plugins = $mail_plugins%s pec\n}\n", protocols[i], h->sieve ? " sieve" : "");
    }
}

/* archive_block - the Archivio di sicurezza of the boxes that have one (before the protocols' plugin
 * lists, which extend the global one on 2.3) */
static void archive_block(const struct dovecot_host *h)
{
    printf("# the Archivio di sicurezza of the boxes whose userdb fields name it (pec_archive=" PEC_ARCHIVE_FOLDER
           ", its own\n# limit pec_archive_quota): its owner may look it up, read it and mark it seen, nothing more (the\n"
           "# ACL plugin); it is outside the box's quota and kept 30 months.  Merge with your own quota rules.\n");
    if (h->v24)
        printf("mail_plugins {\n  acl = yes\n}\nacl_driver = vfile\nnamespace inbox {\n  inbox = yes\n"
               "  mailbox " PEC_ARCHIVE_FOLDER " {\n    autoexpunge = 913d\n    quota_ignore = yes\n"
               "    acl owner {\n      rights = lrs\n    }\n  }\n}\n");
    else
        printf("mail_plugins = $mail_plugins acl\nnamespace inbox {\n  inbox = yes\n  mailbox " PEC_ARCHIVE_FOLDER
               " {\n    autoexpunge = 913d\n  }\n}\nplugin {\n  acl = vfile:" PEC_ARCHIVE_ACL "\n"
               "  quota_rule2 = " PEC_ARCHIVE_FOLDER ":ignore\n}\n");
    printf("\n");
}

/* print_dovecot - the Dovecot part: one conf.d file */
static int print_dovecot(const struct pec_config *cfg, const struct dovecot_host *h)
{
    printf("# /etc/dovecot/conf.d/95-pec.conf - the PEC delivery point of %s (%s), from %s,\n"
           "# for Dovecot %s.  Nothing has been changed: review it, then write it there and reload Dovecot.\n\n",
           cfg->provider_name, cfg->mail_domain, cfg->path, h->v24 ? "2.4" : "2.3");
    if (!h->sieve)
        printf("# dovecot-sieve is not installed: the plugin stores directly (with it, after sieve)\n");
    archive_block(h);
    mail_plugins(h);
    printf("\n# a full mailbox must reach the plugin (avviso di mancata consegna), not be refused at RCPT\n"
           "lmtp_rcpt_check_quota = no\n"
           "# dovecot-lda: a full mailbox is a permanent quota error\n"
           "quota_full_tempfail = no\n"
           "# receipts go to Postfix's pec-inject socket, which only the group postdrop reaches\n"
           "mail_access_groups = postdrop\n\n");
    if (h->v24)
        printf("pec_config = %s\n", cfg->path);
    else
        printf("plugin {\n  pec_config = %s\n}\n", cfg->path);
    printf("# per mailbox, as userdb extra fields: pec_accept_ordinary, pec_notify, pec_mailbox_disabled,\n"
           "# pec_anomaly_mailbox, pec_archive, pec_archive_quota (dovecot-pec(7))\n\n"
           "# LMTP for Postfix (pec_transport) and the SASL listener of its submission services\n"
           "service lmtp {\n  unix_listener /var/spool/postfix/private/dovecot-lmtp {\n    mode = 0600\n"
           "    user = postfix\n    group = postfix\n  }\n}\n"
           "service auth {\n  unix_listener /var/spool/postfix/private/auth {\n    mode = 0660\n"
           "    user = postfix\n    group = postfix\n  }\n"
           "  # the reception point asks the userdb here (provider.conf: userdb_socket = /run/dovecot/pec-userdb): only\n"
           "  # pec may connect (a listener whose name ends in -userdb speaks the userdb protocol; on the\n"
           "  # world-writable auth-userdb Dovecot lets a client look up only users of its own uid)\n"
           "  unix_listener pec-userdb {\n    mode = 0600\n    user = pec\n  }\n}\n\n"
           "# users read their PEC mail over TLS only: IMAPS (993) and POP3S (995)\n"
           "ssl = required\n");
    if (h->v24)
        printf("ssl_server_cert_file = /etc/dovecot/private/dovecot.pem\n"
               "ssl_server_key_file = /etc/dovecot/private/dovecot.key\n");
    else
        printf("ssl_cert = </etc/dovecot/private/dovecot.pem\nssl_key = </etc/dovecot/private/dovecot.key\n"
               "disable_plaintext_auth = yes\n");
    listener_block("imap", "dovecot-imapd", h->imap, 993);
    listener_block("pop3", "dovecot-pop3d", h->pop3, 995);
    if (h->v24)
        printf("\n# Dovecot 2.4 starts an lmtp process per connection (restart_request_count = 1): the plugin\n"
               "# loads the configuration, the key and the index each time.  To keep one for many:\n"
               "#service lmtp {\n#  restart_request_count = unlimited\n#}\n");
    return PECCTL_OK;
}

/* cmd_setup - pecctl setup postfix|dovecot */
int cmd_setup(int argc, char **argv)
{
    const char *path = DEFAULT_CONFIG, *what = argc > 1 ? argv[1] : "";
    char *absolute;
    const struct pec_config *cfg;
    struct pec_error err = { 0 };
    struct dovecot_host h = { 0 };
    int forced = 0, rc;

    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            path = argv[++i];
        else if (strcmp(argv[i], "--dovecot") == 0 && i + 1 < argc && strcmp(what, "dovecot") == 0) {
            const char *v = argv[++i];
            if (strcmp(v, "2.3") != 0 && strcmp(v, "2.4") != 0)
                return setup_usage();
            forced = 1;
            h.v24 = strcmp(v, "2.4") == 0;
        } else
            return setup_usage();
    }
    if (strcmp(what, "postfix") != 0 && strcmp(what, "dovecot") != 0)
        return setup_usage();
    /* the printed lines name the file as the daemons must find it, wherever pecctl ran */
    absolute = realpath(path, NULL);
    cfg = pec_config_load(absolute ? absolute : path, &err);
    free(absolute);
    if (cfg == NULL) {
        fprintf(stderr, "pecctl setup: %s\n", err.msg);
        return PECCTL_NOT_VALID;
    }
    if (strcmp(what, "postfix") == 0) {
        rc = print_postfix(cfg);
    } else {
        int v24 = h.v24;
        dovecot_found(&h);
        if (forced)
            h.v24 = v24;
        rc = print_dovecot(cfg, &h);
    }
    pec_config_unref(&cfg);
    return rc;
}
