/* privs.h - a daemon started as root gives root up once its sockets and keys are open. */
#ifndef PEC_PRIVS_H
#define PEC_PRIVS_H

#include "pec/error.h"

/* pec_privs_drop - become user (its uid, primary group and supplementary groups), for good: 0, or -1
 * with err when the user is unknown or a step fails (the caller stops: never run half-dropped) */
int pec_privs_drop(const char *user, struct pec_error *err);

/* pec_privs_socket_owner - give a unix socket the owner user and the group group (either may be NULL: kept),
 * so that the service account and the MTA's group reach it and nobody else: 0, or -1 with err */
int pec_privs_socket_owner(const char *path, const char *user, const char *group, struct pec_error *err);

#endif
