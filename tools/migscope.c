// SPDX-License-Identifier: GPL-2.0-only
/* migscope: see what live migration of passthrough devices is doing. */
#include <stdio.h>
#include <string.h>

#include <bpf/libbpf.h>
#include <json-c/json_c_version.h>

#include <migscope/json.h>

#include <migscope/version.h>

#include "cli.h"
#include "commands.h"

static const struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
} cmds[] = {
	{ "bitmap", do_bitmap, "dirty pages per device and source in a capture, cross-checked" },
	{ "capture", do_capture, "check a capture file, or repair one that was cut short" },
	{ "features", do_features, "list the BPF collectors and what this kernel lets them do" },
	{ "import", do_import, "QEMU trace logs and a QMP transcript of a past migration into a capture" },
	{ "profile", do_profile, "drive devices through a save and resume; downtime per device" },
	{ "replay", do_replay, "feed a capture file through the consumers and report" },
	{ "synth", do_synth, "generate a synthetic event stream (benchmarks, demos)" },
	{ "watch", do_watch, "watch a migrating QEMU: QMP, its trace log; report at the end" },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: migscope [-v] [--json] <command> [options]\n"
		   "       migscope <command> --help\n"
		   "       migscope -V [--json]\n\n"
		   "Per-device dirty pages, downtime and pre-copy convergence for live\n"
		   "migration of VFIO and virtio passthrough devices.\n\n"
		   "Every command prints its own help with --help; with --json an error is\n"
		   "also printed on stdout as {\"error\": {\"message\", \"command\", \"kind\",\n"
		   "\"exit\"}}, beside the line on stderr, with the same exit status: 0 done,\n"
		   "1 failed, 2 usage, 3 a capture cut short whose valid prefix was reported.\n\n"
		   "Commands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-10s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(f, "\nOptions:\n"
		   "      --json      errors (and -V) as JSON on stdout\n"
		   "  -v, --verbose   debug and libbpf messages on stderr\n"
		   "  -V, --version   print the version, the libbpf version and the optional\n"
		   "                  features compiled in\n"
		   "  -h, --help      this help\n\n"
		   "Examples:\n"
		   "  migscope synth --events 100000 --record /tmp/s.mscap\n"
		   "  migscope replay /tmp/s.mscap --json\n"
		   "  migscope -V --json | jq .features\n");
}

static int version(int json)
{
	struct json_object *o, *f;
	int err;

	if (!json) {
		printf("migscope %s\nlibbpf %s (built with v%d.%d)\njson-c %s\nfeatures:",
		       MS_VERSION, libbpf_version_string(), LIBBPF_MAJOR_VERSION,
		       LIBBPF_MINOR_VERSION, json_c_version());
		for (size_t i = 0; i < MS_NR_FEATURES; i++)
			printf(" %c%s", ms_features[i].on ? '+' : '-', ms_features[i].name);
		printf("\n");
		return fflush(stdout) ? cli_error("failed to write the version") : 0;
	}
	o = json_object_new_object();
	f = json_object_new_object();
	ms_json_add(o, "version", json_object_new_string(MS_VERSION));
	ms_json_add(o, "libbpf", json_object_new_string(libbpf_version_string()));
	ms_json_add(o, "libbpf_major", json_object_new_int((int)libbpf_major_version()));
	ms_json_add(o, "libbpf_minor", json_object_new_int((int)libbpf_minor_version()));
	ms_json_add(o, "json_c", json_object_new_string(json_c_version()));
	for (size_t i = 0; i < MS_NR_FEATURES; i++)
		ms_json_add(f, ms_features[i].name, json_object_new_boolean(ms_features[i].on));
	ms_json_add(o, "features", f);
	err = cli_json_print(o);
	json_object_put(o);
	return err ? cli_error("failed to write the version: %s", strerror(-err)) : 0;
}

/* --json anywhere in a command's arguments (before a "--"): errors as JSON too. */
static int wants_json(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--json"))
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	int i = 1, json = 0, want_version = 0;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose")) {
			ms_verbose = 1;
		} else if (!strcmp(argv[i], "--json")) {
			json = 1;
		} else if (!strcmp(argv[i], "-V") || !strcmp(argv[i], "--version")) {
			want_version = 1;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else {
			return cli_finish(NULL, json || wants_json(argc, argv),
					  cli_usage_error(NULL, "unknown option '%s'", argv[i]));
		}
	}
	if (want_version)
		return cli_finish(NULL, json, version(json));
	if (i == argc) {
		usage(stderr);
		return cli_finish(NULL, json, cli_usage_error(NULL, "missing command"));
	}
	if (!strcmp(argv[i], "help")) {
		usage(stdout);
		return 0;
	}
	for (size_t c = 0; c < sizeof(cmds) / sizeof(cmds[0]); c++)
		if (!strcmp(argv[i], cmds[c].name)) {
			cli_reset_getopt();
			return cli_finish(cmds[c].name, json || wants_json(argc - i, argv + i),
					  cmds[c].fn(argc - i, argv + i));
		}
	return cli_finish(NULL, json || wants_json(argc - i, argv + i),
			  cli_usage_error(NULL, "unknown command '%s'", argv[i]));
}
