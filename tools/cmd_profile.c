// SPDX-License-Identifier: GPL-2.0-only
/* migscope profile: drive devices through a whole save and resume and report. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <migscope/parse.h>
#include <migscope/profile.h>
#include <migscope/session.h>

#include "cli.h"
#include "commands.h"

#define MAX_DEVICES 64

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "Usage: migscope profile [--device SPEC]... [--downtime-limit TIME]\n"
	    "                        [--bandwidth RATE] [--duration TIME] [--seed N] [options]\n\n"
	    "Drive devices through a whole live migration of their state: the source\n"
	    "save (RUNNING -> PRE_COPY, iterated until the switchover rule holds, ->\n"
	    "PRE_COPY_P2P -> STOP_COPY -> STOP) and the destination resume (RESUMING ->\n"
	    "STOP -> RUNNING_P2P -> RUNNING), every device quiesced (P2P) before any stops\n"
	    "or runs.  The saved data of each device is written to its destination and\n"
	    "checked.  Every arc, pre-copy sample, transfer and dirty report is an event;\n"
	    "the report shows per-device downtime and convergence.\n\n"
	    "Without --device: two reference devices with a moderate workload, on a\n"
	    "virtual clock (deterministic for --seed).\n\n"
	    "Options:\n"
	    "      --device SPEC        a device pair, repeatable:\n"
	    "                             ref[:key=value,...]  reference device (options below)\n"
	    "                             vfio:PATH[,dest=PATH][,name=NAME][,track=IOVA+LEN]\n"
	    "                           PATH: /dev/vfio/devices/vfioN, a PCI address,\n"
	    "                           /dev/vfio/N@ADDRESS, or /dev/vfio/N@UUID for an\n"
	    "                           mdev in group N; without dest= the device resumes\n"
	    "                           its own saved state\n"
	    "      --downtime-limit T   switch over once every device's stop-copy data,\n"
	    "                           summed, moves within T at the bandwidth and every\n"
	    "                           switchover-ack is given, as QEMU does (default\n"
	    "                           300ms; a bare number is milliseconds)\n"
	    "      --bandwidth RATE     migration link, e.g. 1G/s (default 128M/s; unlimited\n"
	    "                           for real devices)\n"
	    "      --duration T         longest pre-copy: a run that has not converged by\n"
	    "                           then is forced over, and the report says so (30s)\n"
	    "      --switchover-ack on|off  wait for every device's switchover-ack (on)\n"
	    "      --reinit on|off      REINIT-aware switchover: opt in to PRECOPY_INFOv2 and\n"
	    "                           ask a device's ack again after each REINIT (on); off\n"
	    "                           is a QEMU without it: one ack per device, new\n"
	    "                           initial data moves in STOP_COPY\n"
	    "      --collectors MODE    auto, on or off: with vfio: devices, watch the\n"
	    "                           kernel's own arcs (vfio_mig_get_next_state fexit)\n"
	    "                           and check them, arc for arc, against the arcs\n"
	    "                           driven; auto when BPF and the hook are there, on\n"
	    "                           fails without them (default auto)\n"
	    "      --seed N             workload seed of the reference devices "
	    "(1)\n" CLI_OUTPUT_HELP "\nReference device options (ref:key=value,...):\n%s"
	    "\nExamples:\n"
	    "  migscope profile\n"
	    "  migscope profile --device ref:state=256M,dirty=40M/s,ws=1G,reinit=2 --json\n"
	    "  migscope profile --device ref:iface=virtio,vqs=8 --device ref:hide=16\n"
	    "  migscope profile --device ref:dirty=300M/s --bandwidth 128M/s --duration 5s\n"
	    "  migscope profile --device ref:reinit=1,rgap=0 --reinit off   # seed 004's baseline\n"
	    "  migscope profile --device vfio:/dev/vfio/devices/vfio0 --record run.mscap\n"
	    "  migscope profile --device vfio:/dev/vfio/devices/vfio0,dest=/dev/vfio/devices/vfio1 "
	    "\\\n"
	    "      --collectors on --json | jq '.devices[].kernel_arcs'\n"
	    "  migscope profile --device vfio:/dev/vfio/3@83b8f4f2-509f-382f-3c1e-e6bfe0fa1001\n",
	    ms_ref_params_help);
}

int do_profile(int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_OUTPUT_OPTIONS,
		{ "device", required_argument, NULL, 'd' },
		{ "downtime-limit", required_argument, NULL, 'l' },
		{ "bandwidth", required_argument, NULL, 'b' },
		{ "duration", required_argument, NULL, 't' },
		{ "seed", required_argument, NULL, 's' },
		{ "switchover-ack", required_argument, NULL, 'a' },
		{ "reinit", required_argument, NULL, 'r' },
		{ "collectors", required_argument, NULL, 'c' },
		{ 0 },
	};
	struct ms_devspec *specs = calloc(MAX_DEVICES, sizeof(*specs));
	struct ms_profile_opts po = { .seed = 1 };
	struct ms_profile_result res;
	struct cli_output out = { 0 };
	struct ms_session_opts sopts = { .argc = argc, .argv = argv };
	struct ms_session *s;
	char err[MS_ERR_LEN];
	size_t n = 0;
	int opt, ret;

	if (!specs)
		return cli_error("failed to allocate: %s", strerror(ENOMEM));
	while ((opt = getopt_long(argc, argv, "hv", opts, NULL)) != -1) {
		if (cli_output_option(&out, opt, optarg))
			continue;
		switch (opt) {
		case 'h':
			usage(stdout);
			free(specs);
			return 0;
		case 'd':
			if (n == MAX_DEVICES) {
				free(specs);
				return cli_usage_error("profile", "--device: at most %d devices",
						       MAX_DEVICES);
			}
			if (ms_devspec__parse(optarg, &specs[n], err, sizeof(err))) {
				free(specs);
				return cli_usage_error("profile", "--device: %s", err);
			}
			n++;
			break;
		case 'l':
			if (ms_parse_duration(optarg, &po.downtime_limit_ns) ||
			    !po.downtime_limit_ns) {
				free(specs);
				return cli_usage_error(
				    "profile", "--downtime-limit: '%s' is not a time such as 300ms",
				    optarg);
			}
			break;
		case 'b':
			if (ms_parse_rate(optarg, &po.bandwidth_bps) || !po.bandwidth_bps) {
				free(specs);
				return cli_usage_error(
				    "profile", "--bandwidth: '%s' is not a rate such as 1G/s",
				    optarg);
			}
			break;
		case 't':
			if (ms_parse_duration(optarg, &po.duration_ns) || !po.duration_ns) {
				free(specs);
				return cli_usage_error("profile",
						       "--duration: '%s' is not a time such as 30s",
						       optarg);
			}
			break;
		case 'a':
		case 'r': {
			int on = !strcmp(optarg, "on");

			if (!on && strcmp(optarg, "off")) {
				free(specs);
				return cli_usage_error("profile", "--%s: '%s' is not on or off",
						       opt == 'a' ? "switchover-ack" : "reinit",
						       optarg);
			}
			if (opt == 'a')
				po.no_ack = !on;
			else
				po.no_reinit = !on;
			break;
		}
		case 'c':
			if (!strcmp(optarg, "auto")) {
				po.collectors = MS_PROFILE_COLLECT_AUTO;
			} else if (!strcmp(optarg, "on")) {
				po.collectors = MS_PROFILE_COLLECT_ON;
			} else if (!strcmp(optarg, "off")) {
				po.collectors = MS_PROFILE_COLLECT_OFF;
			} else {
				free(specs);
				return cli_usage_error(
				    "profile", "--collectors: '%s' is not auto, on or off", optarg);
			}
			break;
		case 's':
			if (ms_parse_u64(optarg, &po.seed)) {
				free(specs);
				return cli_usage_error("profile", "--seed: '%s' is not a number",
						       optarg);
			}
			break;
		default:
			free(specs);
			return cli_usage_error("profile", "unknown or incomplete option '%s'",
					       argv[optind - 1]);
		}
	}
	if (optind != argc) {
		free(specs);
		return cli_usage_error("profile", "unexpected argument '%s'", argv[optind]);
	}
	po.specs = specs;
	po.nr_specs = n;

	ret = cli_session_opts("profile", &out, 1, &sopts);
	if (ret) {
		free(specs);
		return ret;
	}
	s = ms_session__new(&sopts, err, sizeof(err));
	if (!s) {
		free(specs);
		return cli_error("%s", err);
	}
	ret = ms_profile__run(&s->stream, &po, &res);
	free(specs);
	if (!ret && res.arcs_note[0])
		fprintf(stderr, "migscope: profile: the kernel's arcs are not watched: %s\n",
			res.arcs_note);
	/* a failed run's capture says why, as its report will */
	if (ms_session__fail(s, res.end_ns, ret, ret ? res.err : NULL, err, sizeof(err))) {
		ms_session__free(s);
		return cli_error("%s", err);
	}
	if (ret) {
		ms_session__free(s);
		return cli_error("profile: %s", res.err);
	}
	ret = cli_print_report(s, &out);
	if (!ret && !out.quiet) {
		char b[32];

		fprintf(stderr,
			"migscope profile: %u device pair%s, %s moved, data verified intact; "
			"switchover %s\n",
			res.pairs, res.pairs == 1 ? "" : "s",
			ms_fmt_bytes(res.bytes_moved, b, sizeof(b)), res.reason);
	}
	ms_session__free(s);
	return ret;
}
