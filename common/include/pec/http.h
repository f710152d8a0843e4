/* http.h - the smallest HTTP client that fetches a CRL: HTTP/1.0 GET over plain TCP, no TLS, no
 * redirects, no proxies, no keep-alive.  CRLs are signed, so the transport need not be trusted: what
 * matters is that every failure is reported and nothing waits or grows without bound. */
#ifndef PEC_HTTP_H
#define PEC_HTTP_H

#include <stddef.h>
#include "pec/buf.h"
#include "pec/error.h"

/* pec_http_parse_url - split "http://HOST[:PORT][/PATH]" (HOST a name, an IPv4 address or [IPv6]; no
 * user info, no blanks or control characters) into host, port (80 by default) and path ("/" by default,
 * the fragment dropped): 0, or -1 when it is not such a URL */
int pec_http_parse_url(const char *url, char *host, size_t hostlen, unsigned *port, char *path, size_t pathlen);

/* pec_http_get - GET url and append the body of a 200 answer to body.  The connection, the request and
 * the answer together take at most timeout_s seconds (the name lookup is the resolver's own); an answer
 * body over max_bytes, a body shorter than its Content-Length, a Transfer-Encoding, any status but 200
 * are errors.  0, or -1 with err: PEC_ERR_INVALID for a URL we do not take, PEC_ERR_TEMPORARY else. */
int pec_http_get(const char *url, int timeout_s, size_t max_bytes, struct pec_buf *body, struct pec_error *err);

#endif
