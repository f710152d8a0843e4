/* pec-state.c - the per-process cache of the core's runtime (see pec-state.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "pec-state.h"

static struct pec_state *cached;
static struct stat cached_stat;
static char state_error[600];

static void state_free(struct pec_state **_st)
{
	struct pec_state *st = *_st;

	if (st == NULL)
		return;
	*_st = NULL;
	pec_runtime_free(&st->rt);
	free(st->config_path);
	free(st);
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
	bool same_path = cached != NULL && strcmp(cached->config_path, config_path) == 0;

	*error_r = NULL;
	if (stat(config_path, &sb) < 0) {
		snprintf(state_error, sizeof(state_error), "%s: %s", config_path, strerror(errno));
		*error_r = state_error;
		return NULL;
	}
	if (same_path && same_file(&sb, &cached_stat))
		return cached;
	st = calloc(1, sizeof(*st));
	if (st == NULL || (st->config_path = strdup(config_path)) == NULL ||
	    (st->rt = pec_runtime_load(config_path, time(NULL), &err)) == NULL) {
		snprintf(state_error, sizeof(state_error), "%s", st == NULL || st->config_path == NULL ?
			 "out of memory" : err.msg);
		*error_r = state_error;
		state_free(&st);
		/* a half-written new version of the same file is no reason to stop; another file is */
		return same_path ? cached : NULL;
	}
	st->dctx.issuer = &st->rt->issuer;
	st->dctx.trust = st->rt->trust;
	st->dctx.index = st->rt->index;
	state_free(&cached);
	cached = st;
	cached_stat = sb;
	return cached;
}

void pec_state_deinit(void)
{
	state_free(&cached);
}
