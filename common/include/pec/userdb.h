/* userdb.h - Dovecot's userdb as the provider's list of mailboxes (issue 16): a client of Dovecot's
 * auth-userdb socket (the auth master protocol: both sides send VERSION 1; the client asks USER with an
 * id, the name and service=pec; the server answers USER with the user's fields, NOTFOUND, or FAIL),
 * with a small cache of the answers for ttl seconds and a bounded wait.
 *
 * A box's PEC settings are its userdb extra fields (pec_accept_ordinary, pec_mailbox_disabled,
 * pec_notify, pec_max_message_size, pec_max_recipients), the same the Dovecot plugin reads; the
 * reception point uses whether the box exists and pec_accept_ordinary (the per-box limits are read
 * here but not applied yet).  A lookup
 * that cannot be answered (socket missing, refused, slow, FAIL, garbage) is a temporary error, never
 * "no such mailbox": the caller answers 4xx.  Thread-safe: one client per process.
 */
#ifndef PEC_USERDB_H
#define PEC_USERDB_H

#include <time.h>
#include "pec/error.h"
#include "pec/reception.h"

#define PEC_BOX_TEXT_MAX 256

/* A mailbox's PEC settings, as its userdb fields give them (0 / "": the provider's default). */
struct pec_box {
    int accepts_ordinary;              /* pec_accept_ordinary: ordinary mail wrapped, not refused */
    int disabled;                      /* pec_mailbox_disabled: every busta gets a mancata consegna */
    char notify[PEC_BOX_TEXT_MAX];     /* pec_notify: where a notice of each new PEC goes */
    unsigned long long max_message_size; /* pec_max_message_size */
    unsigned long max_recipients;        /* pec_max_recipients */
    char quota[PEC_BOX_TEXT_MAX];      /* Dovecot's own quota field (quota_rule, quota_storage_size), as given */
    char archive[PEC_BOX_TEXT_MAX];    /* pec_archive: the folder of its Archivio di sicurezza ("": none) */
    unsigned long long archive_quota;  /* pec_archive_quota, bytes (0: no limit of its own) */
};

struct pec_userdb;

/* how long the points (and pecctl, to see what they see) wait for the userdb: a longer wait is a 4xx */
#define PEC_USERDB_TIMEOUT_MS 3000

/* pec_userdb_new - a client of the auth-userdb socket at path (absolute), waiting at most timeout_ms
 * for an answer and keeping answers (found or not) ttl_secs (0: none) */
struct pec_userdb *pec_userdb_new(const char *path, unsigned timeout_ms, unsigned ttl_secs);
/* pec_userdb_lookup - the box of address at time now: 1 with *box, 0 when the userdb has no such user,
 * -1 with err (TEMPORARY: the userdb could not answer; INVALID: an address no userdb can be asked for) */
int pec_userdb_lookup(struct pec_userdb *u, const char *address, time_t now, struct pec_box *box,
                      struct pec_error *err);
/* pec_userdb_policy - a pec_reception_ctx mailbox_policy callback (ctx: struct pec_userdb *, the time
 * the wall clock's): ACCEPTS_ORDINARY, PEC_ONLY, UNKNOWN, or LOOKUP_FAILED (logged with the reason) */
enum pec_mailbox_policy pec_userdb_policy(void *ctx, const char *addr);
/* pec_userdb_box - a pec_access_ctx sender_box callback (ctx: struct pec_userdb *): pec_userdb_lookup */
int pec_userdb_box(void *ctx, const char *address, time_t now, struct pec_box *box, struct pec_error *err);
/* pec_userdb_each - call fn for each user the userdb lists (Dovecot's LIST, which passwd-file, SQL and
 * LDAP userdbs support when iteration is configured), waiting at most timeout_ms between two of them:
 * 0, or -1 with err (TEMPORARY); fn returning nonzero stops the walk */
int pec_userdb_each(struct pec_userdb *u, int (*fn)(void *ctx, const char *user), void *ctx, struct pec_error *err);
/* pec_userdb_size - a size as the userdb fields and the plugin's settings write it (digits with an
 * optional k, M, G or T, powers of 1024) into *bytes_r; NULL or "" is 0 (no limit): 1, or 0 when v is
 * not a size (then *bytes_r is 0) */
int pec_userdb_size(const char *v, unsigned long long *bytes_r);
/* pec_userdb_free - release and NULL; NULL-safe */
void pec_userdb_free(struct pec_userdb **u);

#endif
