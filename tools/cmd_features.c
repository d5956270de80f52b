// SPDX-License-Identifier: GPL-2.0-only
/* migscope features: what every BPF collector can do on this kernel. */
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include <migscope/collect.h>
#include <migscope/json.h>
#include <migscope/session.h>

#include "cli.h"
#include "commands.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: migscope features [--json] [-v]\n\n"
		   "List every BPF collector and what this kernel lets it do: attached (it\n"
		   "sees events now), loaded (verified, waiting for a target: the QEMU probes\n"
		   "attach to a QEMU process) or skipped, with the reason.  The collectors are\n"
		   "attached for a moment and detached again; nothing is recorded.\n\n"
		   "Options:\n"
		   "      --json          print the list as JSON\n"
		   "  -v, --verbose       libbpf messages on stderr\n"
		   "  -h, --help          this help\n"
		   "\nExamples:\n"
		   "  migscope features\n"
		   "  migscope features --json | jq '.summary'\n");
}

struct list {
	const struct ms_collector_status *st[2];
	size_t nr[2];
};

static void count(const struct list *l, size_t counts[3])
{
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; i < l->nr[k]; i++)
			counts[l->st[k][i].state]++;
}

static int print_text(const struct list *l, const char *kernel)
{
	size_t counts[3] = { 0 };

	printf("%-10s %-32s %-44s %-9s %s\n", "GROUP", "COLLECTOR", "HOOK", "STATE", "REASON");
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; i < l->nr[k]; i++) {
			const struct ms_collector_status *st = &l->st[k][i];

			printf("%-10s %-32s %-44s ", st->group, st->name, st->hook);
			if (st->reason[0])
				printf("%-9s %s\n", ms_collector_state_name(st->state), st->reason);
			else
				printf("%s\n", ms_collector_state_name(st->state));
		}
	count(l, counts);
	printf("\nLinux %s: %zu attached, %zu loaded, %zu skipped\n", kernel,
	       counts[MS_COLLECTOR_ATTACHED], counts[MS_COLLECTOR_LOADED],
	       counts[MS_COLLECTOR_SKIPPED]);
	return fflush(stdout) ? cli_error("failed to write the list") : 0;
}

static int print_json(const struct list *l, const char *kernel)
{
	struct json_object *root = json_object_new_object(), *arr = json_object_new_array();
	struct json_object *sum = json_object_new_object();
	size_t counts[3] = { 0 };
	int err;

	ms_json_add(root, "kernel", json_object_new_string(kernel));
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; i < l->nr[k]; i++) {
			const struct ms_collector_status *st = &l->st[k][i];
			struct json_object *o = json_object_new_object();

			ms_json_add(o, "group", json_object_new_string(st->group));
			ms_json_add(o, "name", json_object_new_string(st->name));
			ms_json_add(o, "hook", json_object_new_string(st->hook));
			ms_json_add(o, "state",
				    json_object_new_string(ms_collector_state_name(st->state)));
			ms_json_add(o, "reason", json_object_new_string(st->reason));
			json_object_array_add(arr, o);
		}
	ms_json_add(root, "collectors", arr);
	count(l, counts);
	for (int s = 0; s < 3; s++)
		ms_json_add(sum, ms_collector_state_name(s), ms_json_u64(counts[s]));
	ms_json_add(root, "summary", sum);
	err = ms_json_print(stdout, root);
	json_object_put(root);
	return err ? cli_error("failed to write the list: %s", strerror(-err)) : 0;
}

int do_features(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, CLI_OPT_JSON },
		{ "verbose", no_argument, NULL, CLI_OPT_VERBOSE },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct ms_session_opts sopts = { .argc = argc, .argv = argv };
	struct cli_output out = { 0 };
	struct ms_session *s;
	struct ms_collect *c;
	struct ms_usdt *u;
	struct utsname uts;
	struct list l = { 0 };
	char err[MS_ERR_LEN];
	int opt, ret;

	while ((opt = getopt_long(argc, argv, "hv", opts, NULL)) != -1) {
		if (opt == 'h') {
			usage(stdout);
			return 0;
		}
		if (!cli_output_option(&out, opt, optarg))
			return cli_usage_error("features", "unknown or incomplete option '%s'",
					       argv[optind - 1]);
	}
	if (optind != argc)
		return cli_usage_error("features", "unexpected argument '%s'", argv[optind]);
	uname(&uts);

	s = ms_session__new(&sopts, err, sizeof(err));
	if (!s)
		return cli_error("%s", err);
	ms_bpf__set_verbose(ms_verbose);
	ms_bpf__set_notes(NULL); /* the reasons are in the list */
	c = ms_collect__open(&s->stream, NULL, err, sizeof(err));
	if (!c) {
		ms_session__free(s);
		return cli_error("%s", err);
	}
	u = ms_usdt__open(&s->stream, 0, NULL, err, sizeof(err));
	if (!u) {
		ms_collect__close(c);
		ms_session__free(s);
		return cli_error("%s", err);
	}
	l.nr[0] = ms_collect__status(c, &l.st[0]);
	l.nr[1] = ms_usdt__status(u, &l.st[1]);
	ret = out.json ? print_json(&l, uts.release) : print_text(&l, uts.release);
	ms_usdt__close(u);
	ms_collect__close(c);
	ms_session__free(s);
	return ret;
}
