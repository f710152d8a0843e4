/* test_runtime.c - fail closed at start: pec_runtime_check names every reason a daemon must not serve
 * (no trust anchors, no index, no scanner, no trace store, a key others can read, a certificate that
 * does not name the service address) with the file and line, and reports the opt-outs in force. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include "check.h"
#include "pec/clamd.h"
#include "pec/runtime.h"

static char dir[] = "/tmp/pec-test-runtime.XXXXXX";
static char lines[16][1200];
static int n_lines;

/* collect - remember the reported lines */
static void collect(void *ctx, const char *line)
{
    (void)ctx;
    if (n_lines < 16)
        snprintf(lines[n_lines++], sizeof(lines[0]), "%s", line);
}

/* reported - some line holds text */
static int reported(const char *text)
{
    for (int i = 0; i < n_lines; i++)
        if (strstr(lines[i], text))
            return 1;
    return 0;
}

/* copy - src to dir/name with mode */
static void copy(const char *src, const char *name, mode_t mode)
{
    char path[512], buf[8192];
    FILE *in = fopen(src, "rb"), *out;
    size_t n;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    out = fopen(path, "wb");
    CHECK(in != NULL && out != NULL);
    while (in && out && (n = fread(buf, 1, sizeof(buf), in)) > 0)
        fwrite(buf, 1, n, out);
    if (in)
        fclose(in);
    if (out)
        fclose(out);
    chmod(path, mode);
}

/* fake_clamd - a clamd on dir/clamd.sock whose StreamMaxLength is limit bytes, serving `serve` streams
 * (a child process); returns its pid */
static pid_t fake_clamd(size_t limit, int serve)
{
    struct sockaddr_un su = { .sun_family = AF_UNIX };
    int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    pid_t pid;

    snprintf(su.sun_path, sizeof(su.sun_path), "%s/clamd.sock", dir);
    unlink(su.sun_path);
    CHECK(lfd >= 0 && bind(lfd, (struct sockaddr *)&su, sizeof(su)) == 0 && listen(lfd, 4) == 0);
    if ((pid = fork()) != 0) {
        close(lfd);
        return pid;
    }
    for (int i = 0; i < serve; i++) {
        int fd = accept(lfd, NULL, NULL);
        char cmd[10], chunk[65536];
        size_t total = 0;
        uint32_t be;
        const char *reply = "stream: OK";

        if (fd < 0 || read(fd, cmd, sizeof(cmd)) != (ssize_t)sizeof(cmd))
            _exit(1);
        while (recv(fd, &be, 4, MSG_WAITALL) == 4 && ntohl(be) > 0) {
            size_t n = ntohl(be);
            if ((total += n) > limit) {
                reply = "INSTREAM size limit exceeded. ERROR";
                break;
            }
            if (recv(fd, chunk, n, MSG_WAITALL) != (ssize_t)n)
                _exit(1);
        }
        (void)!write(fd, reply, strlen(reply) + 1);
        close(fd);
    }
    _exit(0);
}

/* check - write a configuration with extra lines, load it, run the check for role */
static int check(const char *extra, enum pec_role role, int have_index, int *notices)
{
    char path[512];
    struct pec_error err = { 0 };
    struct pec_runtime *rt;
    FILE *f;
    int n, before;

    snprintf(path, sizeof(path), "%s/provider.conf", dir);
    f = fopen(path, "w");
    fprintf(f, "provider_name = \"Gestore Esempio S.p.A.\"\nmail_domain = pec-esempio.test\n"
               "managed_domains = pec-esempio.test\ncert_file = %s/provider.pem\nkey_file = %s/provider.key\n%s",
            dir, dir, extra);
    fclose(f);
    if ((rt = pec_runtime_load(path, 1795417200, &err)) == NULL) {
        fprintf(stderr, "runtime: %s\n", err.msg);
        return -1;
    }
    n_lines = 0;
    n = pec_runtime_check(rt, role, have_index, collect, NULL, NULL);
    before = n_lines;
    pec_runtime_check(rt, role, have_index, NULL, collect, NULL);
    *notices = n_lines - before;
    pec_runtime_free(&rt);
    return n;
}

int main(void)
{
    const char *src = getenv("PEC_SRC_DIR") ? getenv("PEC_SRC_DIR") : ".";
    char pki[512], full[2048];
    int notices;

    CHECK(mkdtemp(dir) != NULL);
    snprintf(pki, sizeof(pki), "%s/tests/data/golden-pki/provider.pem", src);
    copy(pki, "provider.pem", 0644);
    snprintf(pki, sizeof(pki), "%s/tests/data/golden-pki/provider.key", src);
    copy(pki, "provider.key", 0600);
    snprintf(pki, sizeof(pki), "%s/tests/data/golden-pki/ca.pem", src);
    copy(pki, "ca.pem", 0644);
    snprintf(full, sizeof(full), "trust_file = %s/ca.pem\ndatabase = \"dbname=pec\"\nclamd_socket = /run/clamd.ctl\n",
             dir);

    /* everything there: every role serves (clamd is not running: its limit cannot be checked, said once) */
    CHECK(check(full, PEC_ROLE_RECEPTION, 1, &notices) == 0 && notices == 1 && reported("StreamMaxLength"));
    CHECK(check(full, PEC_ROLE_ACCESS, 1, &notices) == 0);
    CHECK(check(full, PEC_ROLE_DELIVERY, 1, &notices) == 0);
    /* nothing but the signer: a verifying role has four problems, each named */
    CHECK(check("", PEC_ROLE_RECEPTION, 0, &notices) == 4);
    CHECK(reported("trust_file") && reported("index") && reported("clamd_socket") && reported("database"));
    CHECK(reported("provider.conf: "));
    /* the emitter verifies and scans nothing, but traces */
    CHECK(check("", PEC_ROLE_EMITTER, 0, &notices) == 1 && reported("database is required"));
    /* the delivery point scans nothing */
    CHECK(check("", PEC_ROLE_DELIVERY, 0, &notices) == 3 && !reported("clamd"));
    /* the opt-outs: no problem, and each one reported as a notice with its line */
    snprintf(full, sizeof(full), "trust_file = %s/ca.pem\nallow_untraced = yes\nallow_unscanned = yes\n", dir);
    CHECK(check(full, PEC_ROLE_RECEPTION, 1, &notices) == 0 && notices == 2);
    CHECK(reported("provider.conf:7: allow_untraced") && reported("provider.conf:8: allow_unscanned"));
    /* a key the group can read, named with its line */
    snprintf(full, sizeof(full), "%s/provider.key", dir);
    chmod(full, 0640);
    snprintf(full, sizeof(full), "trust_file = %s/ca.pem\nallow_untraced = yes\nallow_unscanned = yes\n", dir);
    CHECK(check(full, PEC_ROLE_RECEPTION, 1, &notices) == 1 && reported("provider.conf:5: key_file") &&
          reported("mode 0640"));
    snprintf(full, sizeof(full), "%s/provider.key", dir);
    chmod(full, 0600);
    /* a service address the certificate does not name */
    snprintf(full, sizeof(full), "trust_file = %s/ca.pem\nallow_untraced = yes\nallow_unscanned = yes\n"
                                 "service_address = ricevute@pec-esempio.test\n", dir);
    CHECK(check(full, PEC_ROLE_ACCESS, 1, &notices) == 1 && reported("rfc822Name") &&
          reported("ricevute@pec-esempio.test"));
    /* issue 12 #10: a clamd that cuts streams below max_message_size is a configuration error at start,
     * and a message above its limit a clear INTERNAL error naming the setting, not a passing trouble */
    {
        char sock[600], big[3 * 65536], virus[64];
        struct pec_error err = { 0 };
        pid_t pid = fake_clamd(100000, 5);
        int status;

        snprintf(sock, sizeof(sock), "%s/clamd.sock", dir);
        memset(big, 'x', sizeof(big));
        CHECK(pec_clamd_stream_fits(sock, 50000, &err) == 1);
        CHECK(pec_clamd_stream_fits(sock, 200000, &err) == 0);
        CHECK(pec_clamd_scan(sock, big, sizeof(big), virus, sizeof(virus), &err) < 0 && err.cls == PEC_ERR_INTERNAL &&
              strstr(err.msg, "StreamMaxLength") != NULL);
        snprintf(full, sizeof(full), "trust_file = %s/ca.pem\nallow_untraced = yes\nclamd_socket = %s\n"
                                     "max_message_size = 200000\n", dir, sock);
        CHECK(check(full, PEC_ROLE_ACCESS, 1, &notices) == 1 && reported("provider.conf:8: clamd at") &&
              reported("StreamMaxLength"));
        CHECK(waitpid(pid, &status, 0) == pid);
    }
    snprintf(full, sizeof(full), "rm -rf %s", dir);
    CHECK(system(full) == 0);
    return CHECK_DONE();
}
