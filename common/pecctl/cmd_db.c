/* cmd_db.c - pecctl db: schema management of the trace store. */
#include <stdio.h>
#include <string.h>
#include "dbcmd.h"
#include "pecctl.h"

/* db_usage - the db command summary */
static int db_usage(void)
{
    fputs("usage: pecctl db migrate " DB_OPTS_USAGE "\n"
          "       pecctl db version " DB_OPTS_USAGE "\n",
          stderr);
    return PECCTL_USAGE;
}

/* cmd_db - migrate (apply the pending migrations, idempotent) or version */
int cmd_db(int argc, char **argv)
{
    struct pec_error err = { PEC_ERR_NONE, "" };
    struct db_opts o;
    struct pec_trace *t;
    int i, r, status = PECCTL_OK;

    if (argc < 2 || (strcmp(argv[1], "migrate") != 0 && strcmp(argv[1], "version") != 0))
        return db_usage();
    db_opts_init(&o);
    for (i = 2; i < argc; i++) {
        r = db_opt(&o, "db", argc, argv, &i);
        if (r <= 0) {
            if (r == 0)
                fprintf(stderr, "pecctl db: unknown option %s\n", argv[i]);
            db_opts_clear(&o);
            return db_usage();
        }
    }
    t = db_open(&o, "db");
    if (t == NULL) {
        db_opts_clear(&o);
        return PECCTL_NOT_VALID;
    }
    if (strcmp(argv[1], "migrate") == 0) {
        r = pec_trace_migrate(t, db_print_line, NULL, &err);
        if (r >= 0)
            r = pec_trace_schema_version(t, &err);
        if (r >= 0)
            printf("schema at version %d\n", r);
    } else {
        r = pec_trace_schema_version(t, &err);
        if (r >= 0)
            printf("%d (this program knows up to %d)\n", r, pec_trace_latest_version());
    }
    if (r < 0) {
        fprintf(stderr, "pecctl db %s: %s\n", argv[1], err.msg);
        status = PECCTL_NOT_VALID;
    }
    pec_trace_free(&t);
    db_opts_clear(&o);
    return status;
}
