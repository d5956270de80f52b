// SPDX-License-Identifier: GPL-2.0-only
/*
 * Collector status: what became of every BPF program, the one-line notes for
 * the skipped ones, and libbpf's messages (only when asked for).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "collect_int.h"

static int verbose;
static FILE *notes;
static int notes_set;

void ms_bpf__set_verbose(int on)
{
	verbose = on;
}

void ms_bpf__set_notes(FILE *f)
{
	notes = f;
	notes_set = 1;
}

/* Where the last "prog '...'" warning of a load goes (collect_load.c), or NULL. */
static char *capture;
static size_t capture_len;

void ms_bpf__capture_warning(char *buf, size_t len)
{
	capture = buf;
	capture_len = len;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (capture && level == LIBBPF_WARN && strstr(fmt, "prog '")) {
		char line[256];
		va_list aq;

		va_copy(aq, ap);
		vsnprintf(line, sizeof(line), fmt, aq);
		va_end(aq);
		/* the first one names the program that failed; later ones are consequences */
		if (!capture[0] && strstr(line, "prog '"))
			snprintf(capture, capture_len, "%s", line);
	}
	if (!verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

void ms_bpf__init_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}

const char *ms_collector_state_name(int state)
{
	switch (state) {
	case MS_COLLECTOR_SKIPPED:
		return "skipped";
	case MS_COLLECTOR_LOADED:
		return "loaded";
	case MS_COLLECTOR_ATTACHED:
		return "attached";
	default:
		return "unknown";
	}
}

struct ms_collector_status *ms_status__add(struct ms_status_list *l, const char *group,
					   const char *name, const char *hook)
{
	struct ms_collector_status *st;

	if (l->nr == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		void *p = realloc(l->st, cap * sizeof(*l->st));

		if (!p)
			return NULL;
		l->st = p;
		l->cap = cap;
	}
	st = &l->st[l->nr++];
	memset(st, 0, sizeof(*st));
	st->group = group;
	snprintf(st->name, sizeof(st->name), "%s", name);
	snprintf(st->hook, sizeof(st->hook), "%s", hook);
	st->state = MS_COLLECTOR_SKIPPED;
	return st;
}

void ms_status__set(struct ms_collector_status *st, int state, const char *fmt, ...)
{
	va_list ap;

	st->state = state;
	va_start(ap, fmt);
	vsnprintf(st->reason, sizeof(st->reason), fmt, ap);
	va_end(ap);
}

/* Lines already printed by this process: a second session must not repeat them. */
#define MAX_NOTED 32
static char noted[MAX_NOTED][512];
static int nr_noted;

static int note_once(const char *line)
{
	for (int i = 0; i < nr_noted; i++)
		if (!strcmp(noted[i], line))
			return 0;
	if (nr_noted < MAX_NOTED)
		snprintf(noted[nr_noted++], sizeof(noted[0]), "%s", line);
	return 1;
}

void ms_status__note_skipped(const struct ms_status_list *l)
{
	FILE *f = notes_set ? notes : stderr;

	if (!f)
		return;
	for (size_t i = 0; i < l->nr; i++) {
		const struct ms_collector_status *a = &l->st[i];
		char line[512], names[200] = "";
		size_t n = 0, len = 0;

		if (a->state != MS_COLLECTOR_SKIPPED || a->quiet)
			continue;
		/* only the first program of a (group, reason) pair prints */
		for (size_t j = 0; j < i && !n; j++)
			n = !strcmp(l->st[j].group, a->group) && l->st[j].state == a->state &&
			    !strcmp(l->st[j].reason, a->reason);
		if (n)
			continue;
		for (size_t j = i; j < l->nr; j++) {
			const struct ms_collector_status *b = &l->st[j];

			if (strcmp(b->group, a->group) || b->state != a->state ||
			    strcmp(b->reason, a->reason))
				continue;
			if (len < sizeof(names))
				len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%s",
							n++ ? ", " : "", b->name);
		}
		snprintf(line, sizeof(line), "migscope: %s collector: skipping %s: %s", a->group,
			 names, a->reason);
		if (note_once(line))
			fprintf(f, "%s\n", line);
	}
}

void ms_status__free(struct ms_status_list *l)
{
	free(l->st);
	l->st = NULL;
	l->nr = l->cap = 0;
}
