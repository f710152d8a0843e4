/* cmd_metrics.c - pecctl metrics: the provider's state in the Prometheus text exposition format, for
 * node_exporter's textfile collector (pec-metrics.timer writes it every minute).
 *
 * From the trace store: events of the last 24 hours by type (the receipts, the anomalies, the accepted
 * and refused messages), receipts still owed, timer notices due, infected messages kept, the age of the
 * newest signed checkpoint.  From the folders of the configuration: the outbox (waiting for a marker,
 * queued with a file to retry, unclaimed, set aside) and the quarantine's size.  A trace store that
 * cannot be read gives pec_trace_up 0 (and exit status 1), the rest is still written: the alert is the
 * point.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "dbcmd.h"
#include "pec/buf.h"
#include "pec/file.h"
#include "pec/outbox.h"
#include "pecctl.h"

/* metrics_usage - the metrics command summary */
static int metrics_usage(void)
{
    fputs("usage: pecctl metrics " DB_OPTS_USAGE " [--out FILE] [--now EPOCH]\n", stderr);
    return PECCTL_USAGE;
}

/* metric_head - the HELP and TYPE lines of a gauge */
static void metric_head(struct pec_buf *b, const char *name, const char *help)
{
    pec_buf_printf(b, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

/* trace_part - what the trace store says */
static void trace_part(struct pec_buf *b, const struct pec_trace_metrics *m, time_t now)
{
    unsigned long accepted = m->events_24h[PEC_TRACE_ACCETTAZIONE];
    unsigned long refused = m->events_24h[PEC_TRACE_NON_ACCETTAZIONE] + m->events_24h[PEC_TRACE_NON_ACCETTAZIONE_VIRUS];

    metric_head(b, "pec_trace_events_last_24h", "Events of the trace store (receipts, envelopes, anomalies) in "
                "the last 24 hours, by type.");
    for (int t = 1; t < PEC_TRACE_TYPE_COUNT; t++)
        pec_buf_printf(b, "pec_trace_events_last_24h{type=\"%s\"} %lu\n", pec_trace_type_name((enum pec_trace_type)t),
                       m->events_24h[t]);
    metric_head(b, "pec_messages_last_24h", "Messages submitted at the access point in the last 24 hours, by "
                "outcome.");
    pec_buf_printf(b, "pec_messages_last_24h{outcome=\"accepted\"} %lu\n", accepted);
    pec_buf_printf(b, "pec_messages_last_24h{outcome=\"refused\"} %lu\n", refused);
    metric_head(b, "pec_anomalies_last_24h", "Buste di anomalia in the last 24 hours.");
    pec_buf_printf(b, "pec_anomalies_last_24h %lu\n", m->events_24h[PEC_TRACE_BUSTA_ANOMALIA]);
    metric_head(b, "pec_receipts_pending", "Certified recipients still waiting for their avvenuta or mancata "
                "consegna.");
    pec_buf_printf(b, "pec_receipts_pending %lu\n", m->pending);
    metric_head(b, "pec_timer_notices_due", "Timeout notices owed now (pec-timers.timer sends them).");
    pec_buf_printf(b, "pec_timer_notices_due{notice=\"12h\"} %lu\n", m->due_12h);
    pec_buf_printf(b, "pec_timer_notices_due{notice=\"24h\"} %lu\n", m->due_24h);
    metric_head(b, "pec_quarantine_messages", "Infected messages kept in the quarantine (trace store).");
    pec_buf_printf(b, "pec_quarantine_messages %lu\n", m->quarantined);
    metric_head(b, "pec_trace_checkpoint_age_seconds", "Seconds since the newest signed checkpoint of the trace "
                "(+Inf: none yet).");
    if (m->last_checkpoint == 0)
        pec_buf_printf(b, "pec_trace_checkpoint_age_seconds +Inf\n");
    else
        pec_buf_printf(b, "pec_trace_checkpoint_age_seconds %lld\n", (long long)(now - m->last_checkpoint));
}

/* folder_bytes - the files of dir and their size (not recursive: the quarantine is flat) */
static int folder_bytes(const char *dir, unsigned long *files, unsigned long long *bytes)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char path[4400];
    struct stat st;

    *files = 0;
    *bytes = 0;
    if (d == NULL)
        return -1;
    while ((de = readdir(d)) != NULL) {
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (de->d_name[0] != '.' && lstat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            (*files)++;
            *bytes += (unsigned long long)st.st_size;
        }
    }
    closedir(d);
    return 0;
}

/* folders_part - the outbox and the quarantine folder; 0, or -1 when one could not be read */
static int folders_part(struct pec_buf *b, const struct pec_config *cfg)
{
    struct pec_outbox_counts oc;
    struct pec_error err = { 0 };
    unsigned long files;
    unsigned long long bytes;
    int rc = 0;

    if (cfg->outbox_dir != NULL && pec_outbox_count(cfg->outbox_dir, &oc, &err) == 0) {
        metric_head(b, "pec_outbox_entries", "Outbox entries: waiting for their queue marker, queued with a "
                    "message still to send, unclaimed (set aside after 3 days without a marker).");
        pec_buf_printf(b, "pec_outbox_entries{state=\"waiting\"} %u\n", oc.waiting);
        pec_buf_printf(b, "pec_outbox_entries{state=\"queued\"} %u\n", oc.queued);
        pec_buf_printf(b, "pec_outbox_entries{state=\"unclaimed\"} %u\n", oc.unclaimed);
        metric_head(b, "pec_outbox_set_aside", "Outbox messages set aside for the operator, by reason.");
        pec_buf_printf(b, "pec_outbox_set_aside{reason=\"damaged\"} %u\n", oc.damaged);
        pec_buf_printf(b, "pec_outbox_set_aside{reason=\"refused\"} %u\n", oc.refused);
    } else if (cfg->outbox_dir != NULL) {
        fprintf(stderr, "pecctl metrics: %s\n", err.msg);
        rc = -1;
    }
    if (cfg->quarantine_dir != NULL && folder_bytes(cfg->quarantine_dir, &files, &bytes) == 0) {
        metric_head(b, "pec_quarantine_bytes", "Size of the quarantine folder's files.");
        pec_buf_printf(b, "pec_quarantine_bytes %llu\n", bytes);
        metric_head(b, "pec_quarantine_files", "Files in the quarantine folder.");
        pec_buf_printf(b, "pec_quarantine_files %lu\n", files);
    } else if (cfg->quarantine_dir != NULL) {
        fprintf(stderr, "pecctl metrics: cannot read %s\n", cfg->quarantine_dir);
        rc = -1;
    }
    return rc;
}

/* cmd_metrics - pecctl metrics */
int cmd_metrics(int argc, char **argv)
{
    struct pec_buf b = PEC_BUF_INIT;
    struct pec_trace_metrics m;
    struct pec_error err = { 0 };
    struct db_opts o;
    struct pec_trace *t;
    const char *out = NULL;
    time_t now = time(NULL);
    int status = PECCTL_OK, up;

    db_opts_init(&o);
    for (int i = 1; i < argc; i++) {
        int r = db_opt(&o, "metrics", argc, argv, &i);
        if (r < 0 || (r == 0 && i + 1 >= argc)) {
            db_opts_clear(&o);
            return metrics_usage();
        }
        if (r == 1)
            continue;
        if (strcmp(argv[i], "--out") == 0)
            out = argv[++i];
        else if (strcmp(argv[i], "--now") == 0 && db_parse_time(argv[i + 1], &now) == 0)
            i++;
        else {
            db_opts_clear(&o);
            return metrics_usage();
        }
    }
    if ((t = db_open(&o, "metrics")) == NULL) {
        db_opts_clear(&o);
        return PECCTL_NOT_VALID;
    }
    up = pec_trace_metrics(t, now, &m, &err) == 0;
    if (!up) {
        fprintf(stderr, "pecctl metrics: trace store: %s\n", err.msg);
        status = PECCTL_NOT_VALID;
    }
    metric_head(&b, "pec_trace_up", "1 when the trace store could be read.");
    pec_buf_printf(&b, "pec_trace_up %d\n", up);
    if (up)
        trace_part(&b, &m, now);
    if (o.cfg != NULL && folders_part(&b, o.cfg) < 0)
        status = PECCTL_NOT_VALID;
    metric_head(&b, "pec_metrics_timestamp_seconds", "When these metrics were read.");
    pec_buf_printf(&b, "pec_metrics_timestamp_seconds %lld\n", (long long)now);
    if (out == NULL)
        fwrite(b.data, 1, b.len, stdout);
    else if (pec_file_replace(out, b.data, b.len, 0644, &err) < 0) { /* never a half-written file */
        fprintf(stderr, "pecctl metrics: %s\n", err.msg);
        status = PECCTL_NOT_VALID;
    }
    pec_buf_release(&b);
    pec_trace_free(&t);
    db_opts_clear(&o);
    return status;
}
