/* main.c - pecctl: the provider's command-line tool. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "pec/mime.h"
#include "dbcmd.h"
#include "pecctl.h"

/* usage - the command summary */
static int usage(FILE *f)
{
    fputs("usage: pecctl verify [--strict] [--ca FILE]... [--crl FILE]... [--index FILE] MESSAGE...\n"
          "       pecctl example --out DIR\n"
          "       pecctl db migrate|version [--config FILE] [--db CONNINFO]\n"
          "       pecctl index import|show ...\n"
          "       pecctl log search|extract ...\n"
          "       pecctl trace verify|checkpoint|purge|bench ...\n"
          "       pecctl crl refresh -c|--config FILE [--timeout SECONDS] [--url URL --out FILE]\n"
          "       pecctl timers run --config FILE ...\n"
          "       pecctl setup postfix|dovecot [--config FILE]\n"
          "       pecctl metrics [--config FILE] [--out FILE]\n"
          "       pecctl box show [--config FILE] ADDRESS\n"
          "       pecctl box archive-report [--config FILE] [--doveconf FILE]\n",
          f);
    return PECCTL_USAGE;
}

/* read_file - whole file into out */
int read_file(const char *path, struct pec_buf *out, struct pec_error *err)
{
    FILE *f = fopen(path, "rb");
    char chunk[65536];
    size_t n;

    if (f == NULL) {
        pec_error_set(err, PEC_ERR_INVALID, "%s: %s", path, strerror(errno));
        return -1;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        pec_buf_append(out, chunk, n);
    if (ferror(f)) {
        pec_error_set(err, PEC_ERR_INVALID, "%s: read error", path);
        fclose(f);
        return -1;
    }
    fclose(f);
    return 0;
}

/* write_file - bytes to a file */
int write_file(const char *path, const void *data, size_t len, struct pec_error *err)
{
    FILE *f = fopen(path, "wb");

    if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        pec_error_set(err, PEC_ERR_INTERNAL, "%s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage(stderr);
    pec_mime_init();
    if (strcmp(argv[1], "verify") == 0)
        return cmd_verify(argc - 1, argv + 1);
    if (strcmp(argv[1], "example") == 0)
        return cmd_example(argc - 1, argv + 1);
    if (strcmp(argv[1], "db") == 0)
        return cmd_db(argc - 1, argv + 1);
    if (strcmp(argv[1], "index") == 0)
        return cmd_index(argc - 1, argv + 1);
    if (strcmp(argv[1], "log") == 0)
        return cmd_log(argc - 1, argv + 1);
    if (strcmp(argv[1], "timers") == 0)
        return cmd_timers(argc - 1, argv + 1);
    if (strcmp(argv[1], "trace") == 0)
        return cmd_trace(argc - 1, argv + 1);
    if (strcmp(argv[1], "crl") == 0)
        return cmd_crl(argc - 1, argv + 1);
    if (strcmp(argv[1], "metrics") == 0)
        return cmd_metrics(argc - 1, argv + 1);
    if (strcmp(argv[1], "setup") == 0)
        return cmd_setup(argc - 1, argv + 1);
    if (strcmp(argv[1], "box") == 0)
        return cmd_box(argc - 1, argv + 1);
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return PECCTL_OK;
    }
    fprintf(stderr, "pecctl: unknown command \"%s\"\n", argv[1]);
    return usage(stderr);
}
