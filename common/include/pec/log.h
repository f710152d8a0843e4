/* log.h - logging and the two kinds of fatal stop.
 *
 * Postfix style: pec_panic for our bugs (aborts, for a core dump), pec_fatal for a configuration that
 * cannot work (exits 1), pec_warn / pec_info for the rest.  The sink is per process, set once at
 * start-up by the host (stderr by default); it must be thread-safe.
 */
#ifndef PEC_LOG_H
#define PEC_LOG_H

#include <stdarg.h>

enum pec_log_level { PEC_LOG_DEBUG, PEC_LOG_INFO, PEC_LOG_WARN, PEC_LOG_ERROR };

typedef void (*pec_log_sink)(enum pec_log_level level, const char *msg, void *ctx);

/* pec_log_set_sink - route messages (call once, before threads start); NULL restores stderr */
void pec_log_set_sink(pec_log_sink sink, void *ctx);
/* pec_log_to_syslog - route messages to syslog, mail facility, under ident (the daemons' -S option) */
void pec_log_to_syslog(const char *ident);

void pec_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pec_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pec_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void pec_panic(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
