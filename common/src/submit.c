/* submit.c - the sendmail command as the way to hand a message to the MTA. */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "pec/log.h"
#include "pec/submit.h"

/* pec_submit_sendmail - run the sendmail command with the message on its input */
int pec_submit_sendmail(const char *command, const char *from, const char *rcpt, const void *msg, size_t len,
                           struct pec_error *err)
{
    char *copy = strdup(command), *argv[32], *save = NULL, *tok;
    int argc = 0, pipefd[2], status;
    pid_t pid;

    if (copy == NULL)
        pec_panic("out of memory");
    for (tok = strtok_r(copy, " \t", &save); tok && argc < 26; tok = strtok_r(NULL, " \t", &save))
        argv[argc++] = tok;
    argv[argc++] = "-i";
    argv[argc++] = "-f";
    argv[argc++] = (char *)from;
    argv[argc++] = "--";
    argv[argc++] = (char *)rcpt;
    argv[argc] = NULL;
    if (pipe2(pipefd, O_CLOEXEC) < 0 || (pid = fork()) < 0) {
        pec_error_set(err, PEC_ERR_TEMPORARY, "sendmail: %s", strerror(errno));
        free(copy);
        return -1;
    }
    if (pid == 0) {
        dup2(pipefd[0], 0);
        close(pipefd[0]);
        close(pipefd[1]);
        execv(argv[0], argv);
        _exit(75);
    }
    close(pipefd[0]);
    {
        const char *p = msg;
        size_t left = len;
        while (left > 0) {
            ssize_t n = write(pipefd[1], p, left);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            p += n;
            left -= (size_t)n;
        }
    }
    close(pipefd[1]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    free(copy);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        pec_error_set(err, PEC_ERR_TEMPORARY, "sendmail for %s failed (status %d)", rcpt, status);
        return -1;
    }
    return 0;
}
