/* dbopt.c - options shared by the trace store subcommands: where the database is, who we are. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "dbcmd.h"

/* db_opts_init - defaults: everything from the configuration */
void db_opts_init(struct db_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->node = -1;
}

/* db_opt - consume one common option */
int db_opt(struct db_opts *o, const char *cmd, int argc, char **argv, int *i)
{
    static const char *const names[] = { "--config", "--db", "--node", "--cert", "--key" };
    const char *name = argv[*i], *val;
    size_t k;

    for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
        if (strcmp(name, names[k]) == 0)
            break;
    if (k == sizeof(names) / sizeof(names[0]))
        return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "pecctl %s: %s needs a value\n", cmd, name);
        return -1;
    }
    val = argv[++*i];
    if (k == 0)
        o->config_path = val;
    else if (k == 1)
        o->conninfo = val;
    else if (k == 3)
        o->cert = val;
    else if (k == 4)
        o->key = val;
    else {
        char *end;

        o->node = strtol(val, &end, 10);
        if (*end != '\0' || o->node < 0 || o->node > 9999) {
            fprintf(stderr, "pecctl %s: --node wants 0..9999\n", cmd);
            return -1;
        }
    }
    return 1;
}

/* load_config - the configuration, once */
static int load_config(struct db_opts *o, const char *cmd)
{
    struct pec_error err = { PEC_ERR_NONE, "" };

    if (o->cfg != NULL || o->config_path == NULL)
        return 0;
    o->cfg = pec_config_load(o->config_path, &err);
    if (o->cfg == NULL) {
        fprintf(stderr, "pecctl %s: %s\n", cmd, err.msg);
        return -1;
    }
    return 0;
}

/* db_open - the store named by --db or the configuration */
struct pec_trace *db_open(struct db_opts *o, const char *cmd)
{
    struct pec_error err = { PEC_ERR_NONE, "" };
    struct pec_trace_settings set;
    const char *conninfo = o->conninfo;
    struct pec_trace *t;

    if (load_config(o, cmd) < 0)
        return NULL;
    if (conninfo == NULL && o->cfg != NULL)
        conninfo = o->cfg->database;
    if (conninfo == NULL) {
        fprintf(stderr, "pecctl %s: no database: give --db CONNINFO, or --config FILE with a database key\n",
                cmd);
        return NULL;
    }
    memset(&set, 0, sizeof(set));
    set.node = o->node >= 0 ? (unsigned)o->node : o->cfg != NULL ? o->cfg->node_id : 0;
    t = pec_trace_open(conninfo, &set, &err);
    if (t == NULL)
        fprintf(stderr, "pecctl %s: %s\n", cmd, err.msg);
    return t;
}

/* db_signer - the provider's signing certificate and key */
struct pec_signer *db_signer(struct db_opts *o, const char *cmd)
{
    struct pec_error err = { PEC_ERR_NONE, "" };
    const char *cert = o->cert, *key = o->key, *chain = NULL;
    struct pec_signer *s;

    if (load_config(o, cmd) < 0)
        return NULL;
    if (o->cfg != NULL) {
        cert = cert ? cert : o->cfg->cert_file;
        key = key ? key : o->cfg->key_file;
        chain = o->cfg->chain_file;
    }
    if (cert == NULL || key == NULL) {
        fprintf(stderr, "pecctl %s: signing needs the provider key: give --cert FILE --key FILE or --config FILE\n",
                cmd);
        return NULL;
    }
    s = pec_signer_load(cert, key, chain, &err);
    if (s == NULL)
        fprintf(stderr, "pecctl %s: %s\n", cmd, err.msg);
    return s;
}

/* db_opts_clear - drop the configuration reference */
void db_opts_clear(struct db_opts *o)
{
    pec_config_unref(&o->cfg);
}

/* days_from_civil - days since 1970-01-01 of a Gregorian date (no time zone database needed) */
static long long days_from_civil(long long y, unsigned m, unsigned d)
{
    long long era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long long)doe - 719468;
}

/* db_parse_time - EPOCH, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS[Z], UTC */
int db_parse_time(const char *s, time_t *t_r)
{
    int y, mo, d, h = 0, mi = 0, se = 0, n = 0;
    char *end;
    long long v;

    if (strchr(s, '-') == NULL) {
        v = strtoll(s, &end, 10);
        if (*s == '\0' || *end != '\0')
            return -1;
        *t_r = (time_t)v;
        return 0;
    }
    if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3)
        return -1;
    if (s[n] == 'T' || s[n] == ' ') {
        int m = 0;

        if (sscanf(s + n + 1, "%2d:%2d:%2d%n", &h, &mi, &se, &m) != 3)
            return -1;
        n += 1 + m;
        if (s[n] == 'Z')
            n++;
    }
    if (s[n] != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
        return -1;
    *t_r = (time_t)(days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + se);
    return 0;
}

/* db_print_line - print a report line */
void db_print_line(const char *line, void *ctx)
{
    FILE *f = ctx ? ctx : stdout;

    fprintf(f, "%s\n", line);
}
