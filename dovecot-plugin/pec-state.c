/* pec-state.c - the per-process cache of the core's runtime (see pec-state.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "pec-state.h"

static struct pec_state *cached;
static struct stat cached_stat;
static pid_t cached_pid;
static char state_error[600];

static void state_free(struct pec_state **_st)
{
	struct pec_state *st = *_st;

	if (st == NULL)
		return;
	*_st = NULL;
	if (cached_pid == getpid())
		pec_trace_free(&st->trace); /* a parent's connections are left to the parent */
	pec_runtime_free(&st->rt);
	free(st->config_path);
	free(st);
}

/* open_trace - the configuration's store in *t (not connected yet: a database that is down fails the
 * first delivery, not the load), NULL without a database; -1 with err when it cannot be opened */
static int open_trace(const struct pec_config *cfg, struct pec_trace **t, struct pec_error *err)
{
	struct pec_trace_settings set = { 0 };

	*t = NULL;
	if (cfg->database == NULL || *cfg->database == '\0')
		return 0;
	set.node = cfg->node_id;
	set.max_connections = 1;
	return (*t = pec_trace_open(cfg->database, &set, err)) != NULL ? 0 : -1;
}

/* The start-up check's problems: the first is the reason every delivery is answered 4xx. */
struct problems {
	char first[400];
	bool more;
};

/* collect - keep the first problem, note that there are more */
static void collect(void *ctx, const char *line)
{
	struct problems *p = ctx;

	if (p->first[0] == '\0')
		snprintf(p->first, sizeof(p->first), "%s", line);
	else
		p->more = true;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_mtime == b->st_mtime &&
	       a->st_size == b->st_size;
}

const struct pec_state *pec_state_get(const char *config_path, const char **error_r)
{
	struct pec_error err = { 0 };
	struct pec_state *st;
	struct stat sb;
	struct problems problems = { "", false };
	bool same_path = cached != NULL && strcmp(cached->config_path, config_path) == 0;

	*error_r = NULL;
	if (stat(config_path, &sb) < 0) {
		snprintf(state_error, sizeof(state_error), "%s: %s", config_path, strerror(errno));
		*error_r = state_error;
		return NULL;
	}
	if (cached != NULL && cached_pid != getpid()) {
		/* inherited across fork(): the connections belong to the parent; leave them alone */
		if (open_trace(cached->rt->cfg, &cached->trace, &err) < 0) {
			snprintf(state_error, sizeof(state_error), "%s", err.msg);
			*error_r = state_error;
			return NULL;
		}
		cached_pid = getpid();
	}
	if (same_path && same_file(&sb, &cached_stat))
		return cached;
	st = calloc(1, sizeof(*st));
	if (st == NULL || (st->config_path = strdup(config_path)) == NULL ||
	    (st->rt = pec_runtime_load(config_path, time(NULL), &err)) == NULL ||
	    open_trace(st->rt->cfg, &st->trace, &err) < 0) {
		snprintf(state_error, sizeof(state_error), "%s", st == NULL || st->config_path == NULL ?
			 "out of memory" : err.msg);
		*error_r = state_error;
		if (st != NULL)
			pec_trace_free(&st->trace);
		state_free(&st);
		/* a half-written new version of the same file is no reason to stop; another file is */
		return same_path ? cached : NULL;
	}
	if (pec_runtime_check(st->rt, PEC_ROLE_DELIVERY, st->rt->index != NULL, collect, NULL, &problems) > 0) {
		/* fail closed: every delivery answers 4xx with the first reason until the file is fixed */
		snprintf(state_error, sizeof(state_error), "not serving: %s%s", problems.first,
			 problems.more ? " (and more)" : "");
		*error_r = state_error;
		pec_trace_free(&st->trace); /* opened by this process, never cached: free it whatever the pid */
		state_free(&st);
		return NULL;
	}
	st->dctx.issuer = &st->rt->issuer;
	st->dctx.trust = st->rt->trust;
	st->dctx.index = st->rt->index;
	state_free(&cached);
	cached = st;
	cached_pid = getpid();
	cached_stat = sb;
	return cached;
}

void pec_state_deinit(void)
{
	state_free(&cached);
}
