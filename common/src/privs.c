/* privs.c - give root up (see privs.h). */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>
#include "pec/privs.h"

/* pec_privs_drop - groups first (they need root), then the uid; check that root cannot come back */
int pec_privs_drop(const char *user, struct pec_error *err)
{
    struct passwd *pw = getpwnam(user);

    if (pw == NULL) {
        pec_error_set(err, PEC_ERR_INVALID, "no such user \"%s\"", user);
        return -1;
    }
    if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0) {
        pec_error_set(err, PEC_ERR_INTERNAL, "cannot become %s: %s", user, strerror(errno));
        return -1;
    }
    if (pw->pw_uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
        pec_error_set(err, PEC_ERR_INTERNAL, "root privileges came back after becoming %s", user);
        return -1;
    }
    return 0;
}

/* pec_privs_socket_owner - chown by names */
int pec_privs_socket_owner(const char *path, const char *user, const char *group, struct pec_error *err)
{
    struct passwd *pw = user ? getpwnam(user) : NULL;
    struct group *gr = group ? getgrnam(group) : NULL;

    if ((user && pw == NULL) || (group && gr == NULL)) {
        pec_error_set(err, PEC_ERR_INVALID, "no such %s \"%s\"", user && pw == NULL ? "user" : "group",
                      user && pw == NULL ? user : group);
        return -1;
    }
    if (chown(path, pw ? pw->pw_uid : (uid_t)-1, gr ? gr->gr_gid : (gid_t)-1) < 0) {
        pec_error_set(err, PEC_ERR_INTERNAL, "chown %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}
