// SPDX-License-Identifier: GPL-2.0-only
/* migscope: see what live migration of passthrough devices is doing. */
#include <stdio.h>
#include <string.h>

#include <migscope/version.h>

#include "cli.h"
#include "commands.h"

static const struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
} cmds[] = {
	{ "bitmap", do_bitmap, "dirty pages per device and source in a capture, cross-checked" },
	{ "features", do_features, "list the BPF collectors and what this kernel lets them do" },
	{ "import", do_import, "QEMU trace logs and a QMP transcript of a past migration into a capture" },
	{ "profile", do_profile, "drive devices through a save and resume; downtime per device" },
	{ "replay", do_replay, "feed a capture file through the consumers and report" },
	{ "synth", do_synth, "generate a synthetic event stream (benchmarks, demos)" },
	{ "watch", do_watch, "watch a migrating QEMU: QMP, its trace log; report at the end" },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: migscope [-v] <command> [options]\n"
		   "       migscope <command> --help\n\n"
		   "Per-device dirty pages, downtime and pre-copy convergence for live\n"
		   "migration of VFIO and virtio passthrough devices.\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-10s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(f, "\nOptions:\n"
		   "  -v, --verbose   debug and libbpf messages on stderr\n"
		   "  -V, --version   print the version\n"
		   "  -h, --help      this help\n\n"
		   "Examples:\n"
		   "  migscope synth --events 100000 --record /tmp/s.mscap\n"
		   "  migscope replay /tmp/s.mscap --json\n");
}

int main(int argc, char **argv)
{
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose")) {
			ms_verbose = 1;
		} else if (!strcmp(argv[i], "-V") || !strcmp(argv[i], "--version")) {
			printf("migscope %s\n", MS_VERSION);
			return 0;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "migscope: unknown option '%s' (see 'migscope --help')\n",
				argv[i]);
			return EXIT_USAGE;
		}
	}
	if (i == argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[i], "help")) {
		usage(stdout);
		return 0;
	}
	for (size_t c = 0; c < sizeof(cmds) / sizeof(cmds[0]); c++)
		if (!strcmp(argv[i], cmds[c].name)) {
			cli_reset_getopt();
			return cmds[c].fn(argc - i, argv + i);
		}
	fprintf(stderr, "migscope: unknown command '%s' (see 'migscope --help')\n", argv[i]);
	return EXIT_USAGE;
}
