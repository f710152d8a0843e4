/* net.h - the two socket chores every client of a local service needs (clamd, Postfix's smtpd). */
#ifndef PEC_NET_H
#define PEC_NET_H

#include <netinet/in.h>
#include <stddef.h>

/* pec_net_inet_address - IPv4-ADDRESS:PORT (port 1..65535) into sin: 0, or -1 with errno EINVAL */
int pec_net_inet_address(const char *where, struct sockaddr_in *sin);
/* pec_net_endpoint_valid - 1 when where is an endpoint pec_net_connect takes, else 0 */
int pec_net_endpoint_valid(const char *where);
/* pec_net_connect - a stream socket connected to `where` (an absolute unix socket path or
 * IPv4-HOST:PORT), with send and receive timeouts of timeout_s seconds; -1 with errno set */
int pec_net_connect(const char *where, int timeout_s);
/* pec_net_send_all - write all len bytes (no SIGPIPE): 0, or -1 with errno set */
int pec_net_send_all(int fd, const void *data, size_t len);

#endif
