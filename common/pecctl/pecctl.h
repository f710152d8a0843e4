/* pecctl.h - subcommands of the pecctl tool. Each returns the process exit status. */
#ifndef PECCTL_H
#define PECCTL_H

#include "pec/buf.h"
#include "pec/error.h"

/* exit statuses shared by the subcommands */
enum { PECCTL_OK = 0, PECCTL_NOT_VALID = 1, PECCTL_USAGE = 2 };

int cmd_verify(int argc, char **argv);
int cmd_example(int argc, char **argv);
/* cmd_crl - pecctl crl refresh: fetch, verify and install the trust anchors' CRLs */
int cmd_crl(int argc, char **argv);
/* cmd_setup - pecctl setup postfix|dovecot: print the lines to add to the host's Postfix and Dovecot */
int cmd_setup(int argc, char **argv);
/* cmd_box - pecctl box show ADDRESS: the settings of one box as the points apply them */
int cmd_box(int argc, char **argv);

/* read_file - whole file into out; -1 with err */
int read_file(const char *path, struct pec_buf *out, struct pec_error *err);
/* write_file - bytes to a new file (mode 0644); -1 with err */
int write_file(const char *path, const void *data, size_t len, struct pec_error *err);

#endif
