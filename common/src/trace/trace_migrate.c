/* trace_migrate.c - apply the embedded sql/NNN_*.sql migrations, forward only.
 *
 * Each pending migration runs in its own transaction together with its row in pec_schema_version, so
 * a failure leaves the schema at the previous version.  An advisory lock serialises concurrent
 * migrators (two nodes upgraded at once).  The SHA-256 of each applied file is recorded: a file edited
 * after it was applied is reported, since forward-only means add a new file instead.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pec/text.h"
#include "trace_internal.h"

static const char SQL_LOCK[] = "SELECT pg_advisory_xact_lock(hashtext('pec_schema_migrate'))";
static const char SQL_BOOTSTRAP[] =
    "CREATE TABLE IF NOT EXISTS pec_schema_version (version integer PRIMARY KEY, name text NOT NULL,"
    " sha256 text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())";
static const char SQL_APPLIED[] = "SELECT sha256 FROM pec_schema_version WHERE version = $1";
static const char SQL_RECORD[] = "INSERT INTO pec_schema_version (version, name, sha256) VALUES ($1, $2, $3)";
static const char SQL_HAS_TABLE[] = "SELECT to_regclass('pec_schema_version') IS NOT NULL";
static const char SQL_VERSION[] = "SELECT coalesce(max(version), 0) FROM pec_schema_version";

struct migrate_arg {
    const struct trace_migration *m;
    char sha[65];
    char old_sha[65]; /* of the applied version, when it was already applied */
};

/* migrate_body - apply one migration unless already applied: 1 applied, 0 already there */
static int migrate_body(struct trace_conn *c, void *arg, struct pec_error *err)
{
    struct migrate_arg *a = arg;
    struct trace_params p;
    PGresult *res;
    int has;

    if (trace_exec_simple(c, SQL_LOCK, err) < 0)
        return -1;
    /* only the first run creates the version table: an up-to-date schema needs no right to create */
    res = trace_exec(c, SQL_HAS_TABLE, NULL, 0, err);
    if (res == NULL)
        return -1;
    has = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    if (!has && trace_exec_simple(c, SQL_BOOTSTRAP, err) < 0)
        return -1;
    tp_init(&p);
    tp_int(&p, a->m->version);
    res = trace_exec(c, SQL_APPLIED, &p, 0, err);
    if (res == NULL)
        return -1;
    if (PQntuples(res) > 0) {
        snprintf(a->old_sha, sizeof(a->old_sha), "%s", PQgetvalue(res, 0, 0));
        PQclear(res);
        return 0;
    }
    PQclear(res);
    /* the file is our own code, embedded at build time: it runs as a script */
    if (trace_exec_simple(c, a->m->sql, err) < 0) {
        char msg[sizeof(err->msg)];

        if (err != NULL) {
            snprintf(msg, sizeof(msg), "%s", err->msg);
            pec_error_set(err, err->cls, "migration %s failed: %s", a->m->name, msg);
        }
        return -1;
    }
    tp_text(&p, a->m->name);
    tp_text(&p, a->sha);
    res = trace_exec(c, SQL_RECORD, &p, 0, err);
    PQclear(res);
    return res ? 1 : -1;
}

/* say - one report line */
static void say(pec_trace_report_fn report, void *ctx, const char *fmt, const char *a, const char *b)
{
    char line[512];

    if (report == NULL)
        return;
    snprintf(line, sizeof(line), fmt, a, b);
    report(line, ctx);
}

/* pec_trace_migrate - apply the pending migrations in order */
int pec_trace_migrate(struct pec_trace *t, pec_trace_report_fn report, void *ctx, struct pec_error *err)
{
    int applied = 0, last = 0;
    size_t i;

    for (i = 0; i < trace_n_migrations; i++) {
        struct migrate_arg a;
        unsigned char digest[32];
        int r;

        memset(&a, 0, sizeof(a));
        a.m = &trace_migrations[i];
        if (a.m->version <= last) {
            pec_error_set(err, PEC_ERR_INTERNAL, "migration %s: version numbers must increase", a.m->name);
            return -1;
        }
        last = a.m->version;
        pec_sha256(a.m->sql, a.m->len, digest);
        pec_hex(digest, sizeof(digest), a.sha);
        r = trace_run(t, NULL, 0, migrate_body, &a, err);
        if (r < 0)
            return -1;
        if (r > 0) {
            applied++;
            say(report, ctx, "applied %s%s", a.m->name, "");
        } else if (strcmp(a.old_sha, a.sha) != 0) {
            say(report, ctx, "warning: %s differs from the version applied (%.12s...): migrations are "
                "forward-only, add a new file instead", a.m->name, a.old_sha);
        }
    }
    return applied;
}

struct version_arg {
    int version;
};

/* version_body - newest applied version, 0 without the version table */
static int version_body(struct trace_conn *c, void *arg, struct pec_error *err)
{
    struct version_arg *a = arg;
    PGresult *res = trace_exec(c, SQL_HAS_TABLE, NULL, 0, err);
    int has;

    if (res == NULL)
        return -1;
    has = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    a->version = 0;
    if (!has)
        return 0;
    res = trace_exec(c, SQL_VERSION, NULL, 0, err);
    if (res == NULL)
        return -1;
    a->version = (int)strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return 0;
}

/* pec_trace_schema_version - the newest applied migration, 0 when none */
int pec_trace_schema_version(struct pec_trace *t, struct pec_error *err)
{
    struct version_arg a = { 0 };

    if (trace_run(t, NULL, 0, version_body, &a, err) < 0)
        return -1;
    return a.version;
}

/* pec_trace_latest_version - the newest migration built in */
int pec_trace_latest_version(void)
{
    return trace_n_migrations > 0 ? trace_migrations[trace_n_migrations - 1].version : 0;
}
