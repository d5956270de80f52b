// SPDX-License-Identifier: GPL-2.0-only
/* migscope synth: a deterministic synthetic event stream. */
#include <stdio.h>

#include <migscope/parse.h>
#include <migscope/session.h>
#include <migscope/synth.h>

#include "cli.h"
#include "commands.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: migscope synth [--events N] [--devices N] [--guest SIZE] [--pool SIZE] "
		"[--seed N] [options]\n\n"
		"Generate a deterministic stream of device DMA writes, iommu maps, pre-copy\n"
		"samples and save arcs in virtual time, and report on it.  For benchmarks and\n"
		"for trying the consumers without devices.  Every device tracks the whole guest\n"
		"memory, mapped in the IOMMU up front; --guest 4T --devices 64 is a large host's\n"
		"shape (the scale benchmark's, docs/dirty-tracking.md): with --guest, a\n"
		"pre-copy sample comes once per 65536 records rather than in 3 %% of them.\n\n"
		"Options:\n"
		"      --events N      records to generate (default 100000)\n"
		"      --devices N     devices, 1-64 (default 2)\n"
		"      --guest SIZE    guest memory the devices write into, 1M-1P (default 4G)\n"
		"      --pool SIZE     each device writes SIZE of buffers in a slice of the guest\n"
		"                      of its own (a NIC recycling its receive buffers; default:\n"
		"                      anywhere in the guest)\n"
		"      --seed N        random seed (default 1)\n" CLI_OUTPUT_HELP "\nExamples:\n"
		"  migscope synth\n"
		"  migscope synth --events 10000000 --record /tmp/big.mscap\n"
		"  migscope synth --guest 4T --devices 64 --pool 1G --events 1000000000 \\\n"
		"      --record /dev/fd/3 3>&1 >/dev/null | migscope replay -\n");
}

int do_synth(int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_OUTPUT_OPTIONS,
		{ "events", required_argument, NULL, 'e' },
		{ "devices", required_argument, NULL, 'd' },
		{ "seed", required_argument, NULL, 's' },
		{ "guest", required_argument, NULL, 'g' },
		{ "pool", required_argument, NULL, 'p' },
		{ 0 },
	};
	struct ms_synth_opts so = { .seed = 1, .devices = 2, .events = 100000 };
	struct cli_output out = { 0 };
	struct ms_session_opts sopts = { .argc = argc, .argv = argv };
	struct ms_session *s;
	char err[MS_ERR_LEN];
	uint64_t v, end;
	int opt, ret;

	while ((opt = getopt_long(argc, argv, "hv", opts, NULL)) != -1) {
		if (cli_output_option(&out, opt, optarg))
			continue;
		switch (opt) {
		case 'h':
			usage(stdout);
			return 0;
		case 'e':
			if (ms_parse_u64(optarg, &so.events))
				return cli_usage_error("synth", "--events: '%s' is not a number",
						       optarg);
			break;
		case 'd':
			if (ms_parse_u64(optarg, &v) || v < 1 || v > 64)
				return cli_usage_error("synth", "--devices: '%s' is not in 1-64",
						       optarg);
			so.devices = (uint32_t)v;
			break;
		case 'g':
			if (ms_parse_size(optarg, &v) || v < MS_SYNTH_MIN_GUEST || v > (1ull << 50))
				return cli_usage_error(
				    "synth", "--guest: '%s' is not a size in 1M-1P", optarg);
			so.guest_bytes = v;
			so.precopy_every = 65536;
			break;
		case 'p':
			if (ms_parse_size(optarg, &v) || v < 4096)
				return cli_usage_error(
				    "synth", "--pool: '%s' is not a size of 4K or more", optarg);
			so.pool_bytes = v;
			break;
		case 's':
			if (ms_parse_u64(optarg, &so.seed))
				return cli_usage_error("synth", "--seed: '%s' is not a number",
						       optarg);
			break;
		default:
			return cli_usage_error("synth", "unknown or incomplete option '%s'",
					       argv[optind - 1]);
		}
	}
	if (optind != argc)
		return cli_usage_error("synth", "unexpected argument '%s'", argv[optind]);

	ret = cli_session_opts("synth", &out, 1, &sopts);
	if (ret)
		return ret;
	s = ms_session__new(&sopts, err, sizeof(err));
	if (!s)
		return cli_error("%s", err);
	if (cli_attach_outputs(s, &out)) {
		ms_session__free(s);
		return 1;
	}
	end = ms_synth__run(&s->stream, &so);
	if (ms_session__end(s, end, 0, err, sizeof(err))) {
		ms_session__free(s);
		return cli_error("%s", err);
	}
	ret = cli_print_report(s, &out);
	ms_session__free(s);
	return ret;
}
