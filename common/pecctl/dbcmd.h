/* dbcmd.h - the trace store subcommands of pecctl (db, index, log, trace) and their common options. */
#ifndef PECCTL_DBCMD_H
#define PECCTL_DBCMD_H

#include "pec/config.h"
#include "pec/smime.h"
#include "pec/trace.h"

int cmd_db(int argc, char **argv);
int cmd_index(int argc, char **argv);
int cmd_log(int argc, char **argv);
int cmd_trace(int argc, char **argv);
/* cmd_timers - pecctl timers run: the 12 h / 24 h notices */
int cmd_timers(int argc, char **argv);
/* cmd_metrics - pecctl metrics: the Prometheus text format */
int cmd_metrics(int argc, char **argv);
/* cmd_trace_bench - pecctl trace bench (argv[0] is "bench") */
int cmd_trace_bench(int argc, char **argv);

/* The options every trace store command takes:
 *   --config FILE   the provider configuration: database, node_id, cert_file/key_file, trust_file
 *   --db CONNINFO   the database (overrides the configuration's)
 *   --node N        the node to write as (overrides node_id)
 *   --cert FILE --key FILE   the signing certificate and key (override cert_file/key_file)  */
struct db_opts {
    const char *config_path;
    const char *conninfo;
    const char *cert, *key;
    long node; /* -1: from the configuration, else 0 */
    const struct pec_config *cfg;
};

#define DB_OPTS_USAGE "[--config FILE] [--db CONNINFO] [--node N]"

/* db_opts_init - no option seen yet */
void db_opts_init(struct db_opts *o);
/* db_opt - consume the common option at argv[*i] (and its value): 1 taken, 0 not a common option,
 * -1 missing or bad value (reported on stderr) */
int db_opt(struct db_opts *o, const char *cmd, int argc, char **argv, int *i);
/* db_open - load the configuration if given and open the store; NULL after reporting on stderr */
struct pec_trace *db_open(struct db_opts *o, const char *cmd);
/* db_signer - the provider signer from --cert/--key or the configuration; NULL after reporting */
struct pec_signer *db_signer(struct db_opts *o, const char *cmd);
/* db_opts_clear - release the configuration */
void db_opts_clear(struct db_opts *o);
/* index_report - an index command's failure about source (cmd_index.c) */
void index_report(const char *sub, const char *source, const char *msg);
/* index_refresh - pecctl index refresh from url (cmd_index_refresh.c): 0 when the copy is the published one */
int index_refresh(struct pec_trace *t, const struct pec_config *cfg, const char *url, const struct pec_trust *trust);
/* index_entry - pecctl index entry: our signed (or, plain, unsigned) entry to out_path or stdout */
int index_entry(struct db_opts *o, const char *out_path, int plain);

/* db_parse_time - "EPOCH", "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SS[Z]" (UTC) */
int db_parse_time(const char *s, time_t *t_r);
/* db_print_line - a report callback printing each line on stdout */
void db_print_line(const char *line, void *ctx);

#endif
