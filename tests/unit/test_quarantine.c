/* test_quarantine.c - the virus quarantine keeps every copy (issue 12 #7): names made from any
 * identificativo are usable and unique, a file is never overwritten nor written through a link, and a
 * retry that writes the same bytes again is no error. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check.h"
#include "pec/quarantine.h"

/* file_is - the file at path holds exactly text */
static int file_is(const char *path, const char *text)
{
    char buf[256];
    int fd = open(path, O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf)) : -1;

    if (fd >= 0)
        close(fd);
    return n == (ssize_t)strlen(text) && memcmp(buf, text, (size_t)n) == 0;
}

int main(void)
{
    char dir[] = "/tmp/pec-test-quarantine.XXXXXX", a[PEC_QUARANTINE_NAME_MAX], b[PEC_QUARANTINE_NAME_MAX];
    char path[4096], victim[4096], cmd[4200];
    struct pec_error err = { 0 };
    struct stat st;
    int fd;

    if (mkdtemp(dir) == NULL)
        return 1;
    /* a remote identificativo with characters no file name should hold: made safe, and unique */
    pec_quarantine_name("opec/../x y\r\n<id>@gestore.it", a);
    pec_quarantine_name("opec/../x y\r\n<id>@gestore.it", b);
    CHECK(strcmp(a, b) != 0);
    CHECK(strspn(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.@_-") == strlen(a));
    CHECK(strncmp(a, "opec_.._x_y___id_@gestore.it.", 29) == 0);
    pec_quarantine_name(".hidden", a);
    CHECK(a[0] != '.');
    pec_quarantine_name(NULL, a);
    CHECK(strncmp(a, "senza-identificativo.", 21) == 0);

    /* write, a retry with the same bytes, a clash with other bytes (kept, refused) */
    pec_quarantine_name("id@x", a);
    CHECK(pec_quarantine_write(dir, a, "virus-1", 7, &err) == 0);
    pec_quarantine_ref(dir, a, path, sizeof(path));
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0640);
    CHECK(pec_quarantine_write(dir, a, "virus-1", 7, &err) == 0);
    CHECK(pec_quarantine_write(dir, a, "virus-2", 7, &err) < 0 && err.cls == PEC_ERR_INTERNAL);
    CHECK(file_is(path, "virus-1"));
    CHECK(pec_quarantine_write(dir, "../escape", "x", 1, &err) < 0);

    /* a link planted under the name is not written through */
    snprintf(victim, sizeof(victim), "%s/victim", dir);
    CHECK((fd = open(victim, O_WRONLY | O_CREAT, 0600)) >= 0);
    close(fd);
    pec_quarantine_name("id@x", b);
    pec_quarantine_ref(dir, b, path, sizeof(path));
    CHECK(symlink(victim, path) == 0);
    CHECK(pec_quarantine_write(dir, b, "virus-3", 7, &err) < 0);
    CHECK(stat(victim, &st) == 0 && st.st_size == 0);
    CHECK(pec_quarantine_write(NULL, b, "x", 1, &err) < 0 && err.cls == PEC_ERR_INTERNAL);

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    (void)!system(cmd);
    return CHECK_DONE();
}
