// SPDX-License-Identifier: GPL-2.0-only
/* migscope watch: alongside a migrating QEMU, through QMP and its trace log. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <migscope/loop.h>
#include <migscope/parse.h>
#include <migscope/qemu.h>
#include <migscope/qemu_trace.h>
#include <migscope/qmp.h>

#include "cli.h"
#include "commands.h"

#define MAX_DEVICES 64

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "Usage: migscope watch --qmp SOCK [--qemu-log FILE] [--qemu-pid PID] [--device "
	    "NAME]...\n"
	    "                      [options]\n\n"
	    "Watch a QEMU that migrates (or is about to): its migration events and a\n"
	    "query-migrate every interval over QMP, and its trace log when given.  Runs until\n"
	    "the migration completes, fails or is cancelled, or until interrupted, then\n"
	    "prints the report: per-device downtime and pending-byte convergence.\n\n"
	    "QEMU needs a QMP socket migscope may use (give QEMU a second -qmp if something\n"
	    "else holds the first) and, for the trace log, the options printed by\n"
	    "scripts/qemu-trace-args.sh (-D FILE -msg timestamp=on -trace enable=...).\n\n"
	    "Options:\n"
	    "      --qmp SOCK            QEMU's QMP unix socket (required)\n"
	    "      --qemu-log FILE       follow QEMU's trace log (-D FILE)\n"
	    "      --qemu-pid PID        the QEMU process (default: the QMP socket's peer)\n"
	    "      --device NAME         only this vfio device (as QEMU names it); repeatable\n"
	    "      --interval DURATION   query-migrate every DURATION (default 100ms)\n"
	    "      --downtime-limit DURATION  set QEMU's downtime-limit before it migrates\n"
	    "      --bandwidth RATE      set QEMU's max-bandwidth (e.g. 64M/s)\n"
	    "      --no-set              change nothing in QEMU (not even the events capability)\n"
	    "      --timeout DURATION    give up after DURATION (default: none)\n" CLI_OUTPUT_HELP
	    "\nExamples:\n"
	    "  migscope watch --qmp /run/vm1.qmp\n"
	    "  migscope watch --qmp /run/vm1.qmp --qemu-log /var/log/vm1-trace.log --json\n"
	    "  migscope watch --qmp vm.qmp --downtime-limit 300ms --bandwidth 1G/s --record "
	    "mig.mscap\n");
}

static void print_warning(const char *msg)
{
	fprintf(stderr, "migscope: warning: %s\n", msg);
}

static int parse_duration_opt(const char *opt, const char *arg, uint64_t *ns)
{
	if (ms_parse_duration(arg, ns) || !*ns)
		return cli_usage_error("watch", "%s: '%s' is not a duration (e.g. 100ms, 2s)", opt,
				       arg);
	return 0;
}

int do_watch(int argc, char **argv)
{
	enum {
		O_QMP = 0x2000,
		O_LOG,
		O_PID,
		O_DEVICE,
		O_INTERVAL,
		O_DOWNTIME,
		O_BW,
		O_NOSET,
		O_TIMEOUT
	};
	static const struct option opts[] = {
		CLI_OUTPUT_OPTIONS,
		{ "qmp", required_argument, NULL, O_QMP },
		{ "qemu-log", required_argument, NULL, O_LOG },
		{ "qemu-pid", required_argument, NULL, O_PID },
		{ "device", required_argument, NULL, O_DEVICE },
		{ "interval", required_argument, NULL, O_INTERVAL },
		{ "downtime-limit", required_argument, NULL, O_DOWNTIME },
		{ "bandwidth", required_argument, NULL, O_BW },
		{ "no-set", no_argument, NULL, O_NOSET },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ 0 },
	};
	struct cli_output out = { 0 };
	struct ms_session_opts sopts = { .argc = argc, .argv = argv };
	struct ms_qmp_opts qo = { .set_events = 1, .warn = print_warning };
	struct ms_qemu_trace_opts to = { 0 };
	const char *log_path = NULL, *devices[MAX_DEVICES + 1] = { 0 };
	unsigned int nr_devices = 0;
	uint64_t v, downtime_ns = 0, timeout_ns = 0, pid = 0;
	struct ms_qemu_trace *trace = NULL;
	struct ms_session *s = NULL;
	struct ms_loop *loop = NULL;
	struct ms_qmp *qmp = NULL;
	const struct ms_qmp_info *info;
	char err[MS_ERR_LEN];
	int opt, ret, exit_code = 1;
	int64_t wall_to_mono;

	while ((opt = getopt_long(argc, argv, "hv", opts, NULL)) != -1) {
		if (cli_output_option(&out, opt, optarg))
			continue;
		switch (opt) {
		case 'h':
			usage(stdout);
			return 0;
		case O_QMP:
			qo.path = optarg;
			break;
		case O_LOG:
			log_path = optarg;
			break;
		case O_PID:
			if (ms_parse_u64(optarg, &pid) || !pid || pid > 0x7fffffff)
				return cli_usage_error("watch", "--qemu-pid: '%s' is not a pid",
						       optarg);
			break;
		case O_DEVICE:
			if (nr_devices == MAX_DEVICES)
				return cli_usage_error("watch", "--device: at most %d devices",
						       MAX_DEVICES);
			devices[nr_devices++] = optarg;
			break;
		case O_INTERVAL:
			if (parse_duration_opt("--interval", optarg, &qo.interval_ns))
				return EXIT_USAGE;
			break;
		case O_DOWNTIME:
			if (parse_duration_opt("--downtime-limit", optarg, &downtime_ns))
				return EXIT_USAGE;
			/* QEMU takes milliseconds */
			qo.set_downtime_limit_ms = (downtime_ns + 999999) / 1000000;
			break;
		case O_BW:
			if (ms_parse_rate(optarg, &v) || !v)
				return cli_usage_error(
				    "watch", "--bandwidth: '%s' is not a rate (e.g. 64M/s)",
				    optarg);
			qo.set_bandwidth = v;
			break;
		case O_NOSET:
			qo.set_events = 0;
			break;
		case O_TIMEOUT:
			if (parse_duration_opt("--timeout", optarg, &timeout_ns))
				return EXIT_USAGE;
			break;
		default:
			return cli_usage_error("watch", "unknown or incomplete option '%s'",
					       argv[optind - 1]);
		}
	}
	if (optind != argc)
		return cli_usage_error("watch", "unexpected argument '%s'", argv[optind]);
	if (!qo.path)
		return cli_usage_error("watch", "--qmp SOCK is required");
	if (!qo.set_events && (qo.set_downtime_limit_ms || qo.set_bandwidth))
		return cli_usage_error("watch",
				       "--no-set contradicts --downtime-limit/--bandwidth");
	if (nr_devices)
		to.vfio_devices = devices;
	/* without a trace log, QMP's VFIO_MIGRATION events and ram.remaining stand in */
	qo.vfio_events = !log_path;
	qo.ram_pending = !log_path;

	sopts.record_path = out.record;
	s = ms_session__new(&sopts, err, sizeof(err));
	if (!s)
		return cli_error("%s", err);
	/* a QEMU that quits under us must not kill us before the report */
	signal(SIGPIPE, SIG_IGN);
	qmp = ms_qmp__new(s, &qo);
	loop = ms_loop__new(1);
	if (!qmp || !loop) {
		cli_error("failed to start: %s", strerror(ENOMEM));
		goto out;
	}
	ret = ms_qmp__connect(qmp, err, sizeof(err));
	if (ret) {
		cli_error("%s", err);
		goto out;
	}
	info = ms_qmp__info(qmp);
	if (!pid)
		pid = (uint64_t)info->pid;

	ms_session__begin(s, ms_now_ns(), MS_SESSION_WATCH, info->downtime_limit_ms * 1000000ull,
			  info->max_bandwidth, 0);
	/* docs/clock-alignment.md: one offset per session, from the clock pair */
	wall_to_mono = (int64_t)s->stats.session.mono_ns - (int64_t)s->stats.session.realtime_ns;
	ms_qmp__set_clock(qmp, wall_to_mono);

	if (log_path) {
		to.wall_to_mono_ns = wall_to_mono;
		/* the log may hold earlier migrations: keep only the one running now */
		to.not_before_wall_ns = s->stats.session.realtime_ns;
		if (info->total_time_ms)
			to.not_before_wall_ns -= info->total_time_ms * 1000000ull + 50000000ull;
		trace = ms_qemu_trace__new(s, &to);
		if (!trace) {
			cli_error("failed to start: %s", strerror(ENOMEM));
			goto out;
		}
		ret = ms_qemu_trace__follow(trace, log_path, loop, err, sizeof(err));
		if (ret) {
			cli_error("%s", err);
			goto out;
		}
	}
	fprintf(stderr, "migscope: watching QEMU %s (pid %llu) at %s%s%s; status %s\n",
		info->version, (unsigned long long)pid, qo.path, log_path ? ", log " : "",
		log_path ? log_path : "", ms_qemu_mig_status_name(info->status));
	ret = ms_qmp__start(qmp, loop, err, sizeof(err));
	if (ret) {
		cli_error("%s", err);
		goto out;
	}

	ret = ms_loop__run(loop, timeout_ns);
	if (ret == -EINTR)
		fprintf(stderr, "migscope: interrupted (%s); report from what was seen\n",
			strsignal(ms_loop__signal(loop)));
	else if (ret == -ETIMEDOUT)
		cli_error("--timeout reached with the migration %s; report from what was seen",
			  ms_qemu_mig_status_name(ms_qmp__status(qmp)));
	else if (ret)
		cli_error("%s; report from what was seen",
			  ms_qmp__error(qmp)[0] ? ms_qmp__error(qmp) : strerror(-ret));
	exit_code = ret && ret != -EINTR ? 1 : 0;

	if (trace) {
		const struct ms_qemu_trace_counts *n;

		ms_qemu_trace__close(trace, ms_now_ns());
		n = ms_qemu_trace__counts(trace);
		if (n->malformed || ms_verbose)
			fprintf(
			    stderr,
			    "migscope: qemu log %s: %llu lines, %llu used, %llu of other events, "
			    "%llu not trace lines, %llu from before, %llu not understood\n",
			    log_path, (unsigned long long)n->lines, (unsigned long long)n->accepted,
			    (unsigned long long)n->unknown, (unsigned long long)n->not_trace,
			    (unsigned long long)n->stale, (unsigned long long)n->malformed);
	}
	ms_qmp__close(qmp, ms_now_ns());
	if (ms_session__end(s, ms_now_ns(), ret == -EINTR ? 0 : ret, err, sizeof(err))) {
		cli_error("%s", err);
		exit_code = 1;
	}
	if (cli_print_report(s, &out))
		exit_code = 1;
out:
	ms_qemu_trace__free(trace);
	ms_qmp__free(qmp);
	ms_loop__free(loop);
	ms_session__free(s);
	return exit_code;
}
