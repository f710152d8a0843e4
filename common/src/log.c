/* log.c - log sink and fatal stops. */
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>
#include "pec/log.h"

static pec_log_sink log_sink; /* set once at start-up, read-only afterwards */
static void *log_ctx;

/* pec_log_set_sink - route messages */
void pec_log_set_sink(pec_log_sink sink, void *ctx)
{
    log_sink = sink;
    log_ctx = ctx;
}

/* log_emit - format and hand one message to the sink */
static void log_emit(enum pec_log_level level, const char *fmt, va_list ap)
{
    static const char *const prefix[] = { "debug", "info", "warning", "error" };
    char msg[2048];

    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (log_sink)
        log_sink(level, msg, log_ctx);
    else
        fprintf(stderr, "pec: %s: %s\n", prefix[level], msg);
}

void pec_info(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_emit(PEC_LOG_INFO, fmt, ap);
    va_end(ap);
}

void pec_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_emit(PEC_LOG_WARN, fmt, ap);
    va_end(ap);
}

/* pec_fatal - unusable configuration: report and exit */
void pec_fatal(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_emit(PEC_LOG_ERROR, fmt, ap);
    va_end(ap);
    exit(1);
}

/* pec_panic - a bug: report and abort for a core dump */
void pec_panic(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_emit(PEC_LOG_ERROR, fmt, ap);
    va_end(ap);
    abort();
}

/* syslog_sink - one message to syslog with its level */
static void syslog_sink(enum pec_log_level level, const char *msg, void *ctx)
{
    static const int prio[] = { LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR };

    (void)ctx;
    syslog(prio[level], "%s", msg);
}

/* pec_log_to_syslog - the mail facility, as Postfix logs */
void pec_log_to_syslog(const char *ident)
{
    openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
    pec_log_set_sink(syslog_sink, NULL);
}
