/* config.h - the provider configuration file, shared by the milter, the Dovecot plugin and pecctl.
 *
 * Format: one `key = value` per line, `#` starts a comment line, blank lines ignored, values may be
 * "double-quoted".  Unknown keys, repeated single-valued keys and bad values are errors that name the
 * file and line.  A loaded configuration is an immutable snapshot: share it between threads freely,
 * take a reference for as long as you use it (pec_config_ref/unref), swap in a new one on reload.
 *
 * Keys (defaults in brackets):
 *   provider_name      gestore-emittente text, e.g. "Gestore A S.p.A." (required)
 *   mail_domain        the provider's mail domain: service address posta-certificata@<mail_domain> (required)
 *   service_address    overrides the service address
 *   managed_domains    space/comma separated user domains of this provider (required)
 *   cert_file, key_file  PEM signing certificate and key (required); chain_file  PEM intermediates
 *   trust_file         PEM CA file for verifying other providers (repeatable; required where we verify)
 *   crl_file           CRL of a trust anchor's issuer, PEM or DER (repeatable): checked on every verification
 *   crl_stale          warn | refuse [warn]: a CRL past its nextUpdate is used with a warning, or makes
 *                      every signature it covers invalid until it is refreshed
 *   index_file         provider index, .ldif or .ldif.p7m (or the copy imported into the database)
 *   index_url          where the signed index is published (http:// or a local file), for pecctl index refresh
 *   sign_digest        sha256 | sha1 [sha256]
 *   node_id            0..9999, distinct per MTA node of the provider [0]
 *   max_recipients     [500]
 *   max_message_size   bytes × recipients limit [52428800]
 *   database           libpq connection string for the trace store
 *   outbox_dir         spool of messages owed once Postfix has queued (milter, emitter)
 *   marker_domain      domain of the internal marker recipients, routed to pec-emitter
 *   submit_address     IPv4:PORT (or absolute unix socket path) of a loopback Postfix smtpd without milters:
 *                      where receipts are handed to Postfix (fast: a kept SMTP connection)
 *   sendmail_command   how receipts are handed to Postfix without submit_address [/usr/sbin/sendmail]
 *   mailbox_file       our mailboxes: "address [pec|ordinary]" per line (reception point; a test backend
 *                      once userdb_socket is set)
 *   userdb_socket      Dovecot's auth-userdb socket: our mailboxes and their PEC fields (userdb.h)
 *   userdb_cache       seconds a userdb answer is kept [30]
 *   quarantine_dir     where infected messages are kept (30 months)
 *   clamd_socket       clamd to scan with: an absolute unix socket path or IPv4:PORT (required)
 *   allow_untraced     yes | no [no]: run without `database` (events only logged): a documented opt-out,
 *                      logged at start; never for a provider in service
 *   allow_unscanned    yes | no [no]: run without `clamd_socket` (nothing scanned), logged at start
 */
#ifndef PEC_CONFIG_H
#define PEC_CONFIG_H

#include <stddef.h>
#include "pec/error.h"
#include "pec/smime.h"

struct pec_config {
    const char *path;
    const char *provider_name;
    const char *mail_domain;
    const char *service_address;
    const char *const *managed_domains;
    size_t n_managed_domains;
    const char *cert_file, *key_file, *chain_file;
    const char *const *trust_files;
    size_t n_trust_files;
    const char *const *crl_files;
    size_t n_crl_files;
    int crl_stale_refuse;         /* crl_stale = refuse */
    const char *index_file;
    const char *index_url;
    enum pec_digest sign_digest;
    unsigned node_id;
    unsigned long max_recipients;
    unsigned long long max_message_size;
    const char *database;
    const char *outbox_dir;
    const char *marker_domain;
    const char *submit_address;
    const char *sendmail_command;
    const char *mailbox_file;
    const char *userdb_socket;
    unsigned long userdb_cache;
    const char *quarantine_dir;
    const char *clamd_socket;
    int allow_untraced, allow_unscanned;
};

/* pec_config_load - read and check a file; NULL with err naming the line on any problem */
const struct pec_config *pec_config_load(const char *path, struct pec_error *err);
/* pec_config_parse - same from a string (name is used in messages) */
const struct pec_config *pec_config_parse(const char *text, size_t len, const char *name,
                                          struct pec_error *err);
/* pec_config_ref - take another reference */
const struct pec_config *pec_config_ref(const struct pec_config *cfg);
/* pec_config_unref - drop a reference (frees on the last one) and NULL the pointer */
void pec_config_unref(const struct pec_config **cfg);
/* pec_config_manages - 1 when domain (case-insensitive) is one of managed_domains */
int pec_config_manages(const struct pec_config *cfg, const char *domain);

/* pec_config_key_line - the line of the file that set key (the last one for a repeatable key), 0 when
 * the key is not set */
unsigned pec_config_key_line(const struct pec_config *cfg, const char *key);

#endif
