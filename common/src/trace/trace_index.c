/* trace_index.c - the local copy of the provider index, and the adapters' in-process cache of it.
 *
 * The copy is the LDIF exactly as imported (after its signature was verified), one row per version,
 * the newest current; index_providers mirrors the current version for SQL use.  Keeping the LDIF
 * itself means the cache rebuilds the very index the import checked, with pec_index_parse_ldif.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pec/log.h"
#include "pec/text.h"
#include "trace_internal.h"

static const char SQL_LOCK[] = "SELECT pg_advisory_xact_lock(hashtext('pec_index_import'))";
static const char SQL_VERSION_ADD[] =
    "INSERT INTO index_versions (imported_at, source, sha256, providers, ldif, signed_at)"
    " VALUES (to_timestamp($1::bigint), $2, $3, $4, $5::bytea, to_timestamp(nullif($6::bigint, 0)))"
    " RETURNING version";
static const char SQL_CURRENT_META[] =
    "SELECT version, sha256, coalesce(extract(epoch FROM signed_at)::bigint, 0) FROM index_versions"
    " ORDER BY version DESC LIMIT 1";
static const char SQL_PROVIDERS_CLEAR[] = "DELETE FROM index_providers";
static const char SQL_PROVIDER_ADD[] =
    "INSERT INTO index_providers (name, mail_receipt, unit, ldif_url, domains, version)"
    " VALUES ($1, $2, $3, $4, $5::text[], $6)";
static const char SQL_CURRENT[] = "SELECT version, ldif FROM index_versions ORDER BY version DESC LIMIT 1";
static const char SQL_LATEST[] = "SELECT coalesce(max(version), 0) FROM index_versions";

struct replace_arg {
    const struct pec_index *idx;
    const void *ldif;
    size_t len;
    const char *source;
    time_t now;
    time_t signed_at;     /* 0: not signed (or no signingTime) */
    int only_newer;       /* refresh: keep the current copy unless this one is different and newer */
    enum pec_index_refresh kept;
    time_t current_signed_at;
    char sha[65];
    long long version;
};

/* newer_than_current - refresh: whether the current copy stands (a->kept says why) */
static int newer_than_current(struct trace_conn *c, struct replace_arg *a, struct pec_error *err)
{
    PGresult *res = trace_exec(c, SQL_CURRENT_META, NULL, 0, err);

    if (res == NULL)
        return -1;
    a->kept = PEC_INDEX_REPLACED;
    if (PQntuples(res) == 1) {
        a->current_signed_at = (time_t)strtoll(PQgetvalue(res, 0, 2), NULL, 10);
        if (strcmp(PQgetvalue(res, 0, 1), a->sha) == 0) {
            a->kept = PEC_INDEX_UNCHANGED;
            a->version = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        } else if (a->current_signed_at != 0 && a->signed_at <= a->current_signed_at) {
            a->kept = PEC_INDEX_NOT_NEWER;
            a->version = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        }
    }
    PQclear(res);
    return 0;
}

/* add_provider - mirror one provider of the new version */
static int add_provider(struct trace_conn *c, const struct pec_provider *pv, long long version,
                        struct pec_error *err)
{
    size_t i, n = pec_provider_domain_count(pv);
    const char **domains = trace_xcalloc(n + 1, sizeof(char *));
    struct trace_params p;
    PGresult *res;

    for (i = 0; i < n; i++)
        domains[i] = pec_provider_domain_at(pv, i);
    tp_init(&p);
    tp_text(&p, pec_provider_name(pv));
    tp_text(&p, pec_provider_mail_receipt(pv));
    tp_text(&p, pec_provider_unit(pv));
    tp_text(&p, pec_provider_ldif_url(pv));
    tp_text_array(&p, domains, n);
    tp_int(&p, version);
    res = trace_exec(c, SQL_PROVIDER_ADD, &p, 0, err);
    tp_release(&p);
    free(domains);
    PQclear(res);
    return res ? 0 : -1;
}

/* replace_body - new version row, then the mirror replaced, all or nothing */
static int replace_body(struct trace_conn *c, void *arg, struct pec_error *err)
{
    struct replace_arg *a = arg;
    struct trace_params p;
    PGresult *res;
    size_t i;

    if (trace_exec_simple(c, SQL_LOCK, err) < 0)
        return -1;
    if (a->only_newer && (newer_than_current(c, a, err) < 0 || a->kept != PEC_INDEX_REPLACED))
        return a->kept == PEC_INDEX_REPLACED ? -1 : 0;
    tp_init(&p);
    tp_int(&p, (long long)a->now);
    tp_text(&p, a->source);
    tp_text(&p, a->sha);
    tp_int(&p, (long long)pec_index_count(a->idx));
    tp_bytes(&p, a->ldif, a->len);
    tp_int(&p, (long long)a->signed_at);
    res = trace_exec(c, SQL_VERSION_ADD, &p, 0, err);
    if (res == NULL)
        return -1;
    a->version = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    res = trace_exec(c, SQL_PROVIDERS_CLEAR, NULL, 0, err);
    if (res == NULL)
        return -1;
    PQclear(res);
    for (i = 0; i < pec_index_count(a->idx); i++)
        if (add_provider(c, pec_index_at(a->idx, i), a->version, err) < 0)
            return -1;
    return 0;
}

/* index_store - parse, then store under the lock (replace, or refresh when only_newer) */
static int index_store(struct pec_trace *t, struct replace_arg *a0, long long *version_r, struct pec_error *err)
{
    struct replace_arg a = *a0;
    unsigned char digest[32];
    struct pec_index *idx;
    int r;

    idx = pec_index_parse_ldif(a.ldif, a.len, err);
    if (idx == NULL)
        return -1;
    if (pec_index_count(idx) == 0) {
        pec_error_set(err, PEC_ERR_INVALID, "the index holds no provider entry");
        pec_index_free(&idx);
        return -1;
    }
    a.idx = idx;
    pec_sha256(a.ldif, a.len, digest);
    pec_hex(digest, sizeof(digest), a.sha);
    if (trace_check_text("index source", a.source, err) < 0) {
        pec_index_free(&idx);
        return -1;
    }
    r = trace_run(t, NULL, 0, replace_body, &a, err);
    pec_index_free(&idx);
    a.idx = NULL;
    if (r < 0)
        return -1;
    if (version_r != NULL)
        *version_r = a.version;
    *a0 = a;
    return 0;
}

/* pec_trace_index_replace - make ldif the current copy, atomically */
int pec_trace_index_replace(struct pec_trace *t, const void *ldif, size_t len, const char *source, time_t now,
                            long long *version_r, struct pec_error *err)
{
    struct replace_arg a = { .ldif = ldif, .len = len, .source = source ? source : "", .now = now };

    return index_store(t, &a, version_r, err);
}

/* pec_trace_index_refresh - a fetched signed index replaces the copy only when different and newer */
int pec_trace_index_refresh(struct pec_trace *t, const void *ldif, size_t len, const char *source, time_t signed_at,
                            time_t now, struct pec_index_refresh_result *r, struct pec_error *err)
{
    struct replace_arg a = { .ldif = ldif, .len = len, .source = source ? source : "", .now = now,
                             .signed_at = signed_at, .only_newer = 1 };

    memset(r, 0, sizeof(*r));
    if (signed_at == 0) {
        pec_error_set(err, PEC_ERR_INVALID, "%s: the signature has no signing time: cannot tell it is newer",
                      a.source);
        return -1;
    }
    if (index_store(t, &a, &r->version, err) < 0)
        return -1;
    r->outcome = a.kept;
    r->current_signed_at = a.current_signed_at;
    return 0;
}

struct load_arg {
    PGresult *res;
};

/* load_body - the current version's LDIF */
static int load_body(struct trace_conn *c, void *arg, struct pec_error *err)
{
    struct load_arg *a = arg;

    a->res = trace_exec(c, SQL_CURRENT, NULL, 1, err);
    return a->res ? 0 : -1;
}

/* pec_trace_index_load - the current copy as an index */
struct pec_index *pec_trace_index_load(struct pec_trace *t, long long *version_r, struct pec_error *err)
{
    struct load_arg a = { NULL };
    struct pec_index *idx = NULL;

    if (trace_run(t, NULL, 0, load_body, &a, err) < 0) {
        PQclear(a.res);
        return NULL;
    }
    if (PQntuples(a.res) == 0) {
        pec_error_set(err, PEC_ERR_PERMANENT, "no provider index was imported (pecctl index import)");
    } else {
        idx = pec_index_parse_ldif(PQgetvalue(a.res, 0, 1), (size_t)PQgetlength(a.res, 0, 1), err);
        if (idx != NULL && version_r != NULL)
            *version_r = trace_get_int(a.res, 0, 0);
    }
    PQclear(a.res);
    return idx;
}

struct latest_arg {
    long long version;
};

/* latest_body - the newest version number (cheap: the cache polls it) */
static int latest_body(struct trace_conn *c, void *arg, struct pec_error *err)
{
    struct latest_arg *a = arg;
    PGresult *res = trace_exec(c, SQL_LATEST, NULL, 0, err);

    if (res == NULL)
        return -1;
    a->version = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return 0;
}

/* ---- the cache ---- */

/* one loaded version; retired ones live until their last user releases them */
struct snap {
    struct pec_index *idx;
    long long version;
    unsigned refs;
    struct snap *next;
};

struct pec_trace_index_cache {
    struct pec_trace *t;
    unsigned refresh;
    const struct pec_clock *clock;
    pthread_mutex_t mu;
    struct snap *current;
    struct snap *retired;
    time_t checked;
    int refreshing;
    struct pec_error last; /* why the last refresh failed, for callers without a snapshot */
};

/* pec_trace_index_cache_new - a cache refreshed every refresh seconds at most */
struct pec_trace_index_cache *pec_trace_index_cache_new(struct pec_trace *t, unsigned refresh,
                                                        const struct pec_clock *clock)
{
    struct pec_trace_index_cache *c = trace_xcalloc(1, sizeof(*c));

    c->t = t;
    c->refresh = refresh;
    c->clock = clock;
    pthread_mutex_init(&c->mu, NULL);
    return c;
}

/* snap_free - free a snapshot */
static void snap_free(struct snap *s)
{
    pec_index_free(&s->idx);
    free(s);
}

/* pec_trace_index_cache_free - free the cache and its snapshots */
void pec_trace_index_cache_free(struct pec_trace_index_cache **cp)
{
    struct pec_trace_index_cache *c;

    if (cp == NULL || *cp == NULL)
        return;
    c = *cp;
    if ((c->current && c->current->refs) || c->retired)
        pec_warn("index cache freed while snapshots are in use");
    if (c->current)
        snap_free(c->current);
    while (c->retired) {
        struct snap *s = c->retired;

        c->retired = s->next;
        snap_free(s);
    }
    pthread_mutex_destroy(&c->mu);
    free(c);
    *cp = NULL;
}

/* refresh - load a newer version if there is one (outside the mutex: the database may be slow) */
static struct snap *refresh(struct pec_trace_index_cache *c, long long have, struct pec_error *err)
{
    struct latest_arg a = { 0 };
    struct snap *s;

    if (have > 0 && trace_run(c->t, NULL, 0, latest_body, &a, err) < 0)
        return NULL;
    if (have > 0 && a.version == have)
        return NULL;
    s = trace_xcalloc(1, sizeof(*s));
    s->idx = pec_trace_index_load(c->t, &s->version, err);
    if (s->idx == NULL) {
        free(s);
        return NULL;
    }
    return s;
}

/* install - make s current; the old one is freed now or retired until released */
static void install(struct pec_trace_index_cache *c, struct snap *s)
{
    struct snap *old = c->current;

    c->current = s;
    if (old == NULL)
        return;
    if (old->refs == 0) {
        snap_free(old);
    } else {
        old->next = c->retired;
        c->retired = old;
    }
}

/* pec_trace_index_cache_acquire - the current snapshot, refreshed first when it is due */
const struct pec_index *pec_trace_index_cache_acquire(struct pec_trace_index_cache *c, struct pec_error *err)
{
    time_t now = pec_clock_now(c->clock);
    const struct pec_index *idx;

    pthread_mutex_lock(&c->mu);
    if (!c->refreshing && (c->current == NULL || now - c->checked >= (time_t)c->refresh)) {
        long long have = c->current ? c->current->version : 0;
        struct pec_error e = { PEC_ERR_NONE, "" };
        struct snap *s;

        c->refreshing = 1;
        c->checked = now;
        pthread_mutex_unlock(&c->mu);
        s = refresh(c, have, &e);
        pthread_mutex_lock(&c->mu);
        c->refreshing = 0;
        if (s != NULL)
            install(c, s);
        else if (e.cls != PEC_ERR_NONE) {
            if (c->current != NULL)
                pec_warn("provider index not refreshed, keeping version %lld: %s", c->current->version, e.msg);
            c->last = e;
        }
    }
    if (c->current == NULL) {
        if (err != NULL)
            *err = c->last.cls != PEC_ERR_NONE ? c->last
                                               : (struct pec_error){ PEC_ERR_TEMPORARY, "provider index not loaded yet" };
        pthread_mutex_unlock(&c->mu);
        return NULL;
    }
    c->current->refs++;
    idx = c->current->idx;
    pthread_mutex_unlock(&c->mu);
    return idx;
}

/* pec_trace_index_cache_release - give a snapshot back */
void pec_trace_index_cache_release(struct pec_trace_index_cache *c, const struct pec_index **idxp)
{
    struct snap **pp;
    int found = 0;

    if (idxp == NULL || *idxp == NULL)
        return;
    pthread_mutex_lock(&c->mu);
    if (c->current != NULL && c->current->idx == *idxp) {
        c->current->refs--;
        found = 1;
    }
    for (pp = &c->retired; !found && *pp != NULL; pp = &(*pp)->next) {
        struct snap *s = *pp;

        if (s->idx != *idxp)
            continue;
        found = 1;
        if (--s->refs == 0) {
            *pp = s->next;
            snap_free(s);
        }
        break;
    }
    pthread_mutex_unlock(&c->mu);
    if (!found)
        pec_panic("index cache: releasing a snapshot it never gave out");
    *idxp = NULL;
}
