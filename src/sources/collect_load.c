// SPDX-License-Identifier: GPL-2.0-only
/*
 * Loading a BPF object so that one program the verifier refuses takes down
 * only itself.  libbpf loads an object's programs all or nothing, and an
 * object that failed cannot be loaded again: so every autoloaded program gets
 * a log buffer of its own (libbpf asks the verifier for a log only when a
 * load fails, and writes it there), the program whose buffer filled is the
 * one refused, and the caller reopens the object without it and tries again.
 * The reason kept is the verifier's own, not just the errno.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "collect_int.h"

#define LOG_SIZE (128u << 10)

/* Lines of a verifier log that say nothing about why it refused. */
static int log_noise(const char *l, size_t n)
{
	static const char *const prefixes[] = { "processed ",  "verification time",
						"stack depth", "-- BEGIN",
						"-- END",      "Validating " };

	while (n && (*l == ' ' || *l == '\t')) {
		l++;
		n--;
	}
	if (!n)
		return 1;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (n >= strlen(prefixes[i]) && !strncmp(l, prefixes[i], strlen(prefixes[i])))
			return 1;
	return 0;
}

void ms_load__verifier_reason(const char *log, char *out, size_t len)
{
	const char *line[2] = { NULL, NULL }, *end = log + strlen(log), *p = end;
	size_t n[2] = { 0, 0 }, off = 0;
	int found = 0;

	if (!len)
		return;
	out[0] = 0;
	/* the last two meaningful lines, walking back from the end */
	while (p > log && found < 2) {
		const char *e = p, *b;

		while (e > log && e[-1] == '\n')
			e--;
		b = e;
		while (b > log && b[-1] != '\n')
			b--;
		if (b == e && b == log)
			break;
		if (!log_noise(b, (size_t)(e - b))) {
			line[1 - found] = b;
			n[1 - found] = (size_t)(e - b);
			found++;
		}
		p = b;
	}
	for (int i = 2 - found; i < 2; i++) {
		int w =
		    snprintf(out + off, len - off, "%s%.*s", off ? " / " : "", (int)n[i], line[i]);

		if (w < 0 || (size_t)w >= len - off)
			break;
		off += (size_t)w;
	}
}

const char *ms_load__reason(const struct ms_rejects *rej, const char *name)
{
	for (size_t i = 0; i < rej->nr; i++)
		if (!strcmp(rej->r[i].name, name))
			return rej->r[i].reason;
	return NULL;
}

void ms_load__apply(struct bpf_object *obj, const struct ms_rejects *rej)
{
	struct bpf_program *p;

	bpf_object__for_each_program(p, obj) if (ms_load__reason(rej, bpf_program__name(p)))
	    bpf_program__set_autoload(p, false);
}

/* libbpf's "prog 'NAME': ..." warning of this load, when no log names the program. */
static struct bpf_program *warned_prog(struct bpf_object *obj, const char *warn, const char **why)
{
	const char *q = strstr(warn, "prog '"), *e;
	struct bpf_program *p;

	if (!q)
		return NULL;
	q += 6;
	e = strchr(q, '\'');
	if (!e)
		return NULL;
	bpf_object__for_each_program(p, obj) if (strlen(bpf_program__name(p)) == (size_t)(e - q) &&
						 !strncmp(bpf_program__name(p), q, (size_t)(e - q)))
	{
		*why = e[1] == ':' ? e + 2 + (e[2] == ' ') : e + 1;
		return p;
	}
	return NULL;
}

int ms_load__try(struct bpf_object *obj, int (*load)(void *arg), void *arg, struct ms_rejects *rej)
{
	struct bpf_program *p, *bad = NULL;
	char *logs[MS_MAX_REJECTS] = { NULL }, warn[256] = "";
	const char *why = NULL;
	size_t i = 0;
	int err, from_log = 0;

	bpf_object__for_each_program(p, obj)
	{
		if (i == MS_MAX_REJECTS)
			break;
		if (!bpf_program__autoload(p)) {
			i++;
			continue;
		}
		logs[i] = calloc(1, LOG_SIZE);
		if (logs[i])
			bpf_program__set_log_buf(p, logs[i], LOG_SIZE);
		i++;
	}
	ms_bpf__capture_warning(warn, sizeof(warn));
	err = load(arg);
	ms_bpf__capture_warning(NULL, 0);
	if (err) {
		i = 0;
		bpf_object__for_each_program(p, obj)
		{
			if (i == MS_MAX_REJECTS)
				break;
			if (logs[i] && logs[i][0] && !bad) {
				bad = p;
				why = logs[i];
				from_log = 1;
			}
			i++;
		}
		if (!bad)
			bad = warned_prog(obj, warn, &why);
		if (bad && rej->nr < MS_MAX_REJECTS && !ms_load__reason(rej, bpf_program__name(bad))) {
			struct ms_prog_reject *r = &rej->r[rej->nr++];

			snprintf(r->name, sizeof(r->name), "%s", bpf_program__name(bad));
			if (from_log) {
				char reason[sizeof(r->reason) - 32];

				ms_load__verifier_reason(why, reason, sizeof(reason));
				snprintf(r->reason, sizeof(r->reason),
					 "refused by the verifier: %s",
					 reason[0] ? reason : strerror(-err));
			} else {
				snprintf(r->reason, sizeof(r->reason), "failed to load: %s",
					 why && why[0] ? why : strerror(-err));
			}
			/* libbpf's warning ends in a newline */
			r->reason[strcspn(r->reason, "\n")] = 0;
			err = -EAGAIN;
		}
	}
	bpf_object__for_each_program(p, obj) bpf_program__set_log_buf(p, NULL, 0);
	for (i = 0; i < MS_MAX_REJECTS; i++)
		free(logs[i]);
	return err;
}
