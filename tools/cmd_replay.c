// SPDX-License-Identifier: GPL-2.0-only
/* migscope replay: a capture through the same consumers as the live run. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <migscope/capture.h>
#include <migscope/json.h>
#include <migscope/parse.h>
#include <migscope/report.h>
#include <migscope/parse.h>
#include <migscope/session.h>
#include <migscope/whatif.h>

#include "cli.h"
#include "commands.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: migscope replay FILE [--json] [--check EXPECTED.json] [--record OUT]\n"
		   "                       [--until DURATION] [--perfetto TRACE.json] [--svg PLOT.svg]\n"
		   "       migscope replay FILE [--bandwidth RATE] [--downtime-limit TIME]\n"
		   "                       [--switchover-ack on|off] [--reinit on|off] [--json]\n\n"
		   "Feed a capture (written by --record) through the same consumers as the live\n"
		   "run and print the same report.  Replaying a file twice gives identical output.\n"
		   "The parts of a rotated capture (FILE.1, FILE.2, ... of --record-max-size)\n"
		   "replay as one.  A capture cut short (a recorder killed, a full disk) replays\n"
		   "its valid prefix with a warning naming the offset and the time covered, and\n"
		   "exits with status 3; damage inside it is an error (status 1).  FILE - reads\n"
		   "standard input (a pipe) a chunk at a time; there a bad chunk followed by more\n"
		   "than zeros is damage (a pipe cannot be searched ahead for an intact chunk).\n\n"
		   "What if: with any of --bandwidth, --downtime-limit, --switchover-ack or\n"
		   "--reinit, re-run the switchover decision of a recorded profile under those\n"
		   "settings (the rest as recorded) with the profile's own switchover rule, and\n"
		   "print for each device the predicted switchover time, downtime and its split\n"
		   "beside the recorded ones.  Where the recording cannot answer (the rule would\n"
		   "hold only after the recorded decision, whose later rounds were never taken)\n"
		   "it says so.  docs/telemetry.md, \"What if\".\n\n"
		   "Options:\n"
		   "      --until DURATION  only the records of the first DURATION after the\n"
		   "                      first one: the report as it stood then, mid-run (the\n"
		   "                      verdicts a live watch would have shown)\n"
		   "      --check FILE    compare the JSON report with FILE; exit 1 and print the\n"
		   "                      differences when they differ (--perfetto and --svg\n"
		   "                      files are written either way)\n"
		   "      --bandwidth RATE          what if the link had RATE (e.g. 1G/s)\n"
		   "      --downtime-limit TIME     what if the limit were TIME (e.g. 500ms)\n"
		   "      --switchover-ack on|off   what if acks were (not) waited for\n"
		   "      --reinit on|off           what if switchover were (not) REINIT-aware\n" CLI_OUTPUT_HELP
		   "\nExamples:\n"
		   "  migscope replay run.mscap\n"
		   "  migscope replay run.mscap --json > expected.json\n"
		   "  migscope replay run.mscap --check expected.json   # in CI\n"
		   "  migscope replay run.mscap --downtime-limit 1s --bandwidth 256M/s\n"
		   "  migscope replay run.mscap --reinit off --json | jq .predicted\n"
		   "  migscope replay run.mscap --until 2.5s --json | jq '.devices[].convergence'\n"
		   "  migscope replay run.mscap --events-json - | jq -c 'select(.kind == \"verdict\")'\n"
		   "  migscope replay run.mscap --metrics run.prom --vm vm1   # docs/metrics.md\n"
		   "  zcat run.mscap.gz | migscope replay -\n");
}

/* --until: records up to a time pass on to the session's bus, the rest are left out. */
struct until {
	struct ms_bus bus; /* the reader publishes here */
	struct ms_bus *to;
	uint64_t after_ns, t0_ns, cut;
	int have_t0;
};

static void until_forward(void *ctx, const struct ms_event_hdr *ev)
{
	struct until *u = ctx;

	if (!u->have_t0) {
		u->t0_ns = ev->ts_ns;
		u->have_t0 = 1;
	}
	if (ev->ts_ns > u->t0_ns && ev->ts_ns - u->t0_ns > u->after_ns) {
		u->cut++;
		return;
	}
	ms_bus__publish(u->to, ev);
}

static int check_report(struct ms_session *s, const char *expected_path)
{
	struct json_object *expected, *got;
	unsigned int n;

	expected = json_object_from_file(expected_path);
	if (!expected)
		return cli_error("%s: not a readable JSON report: %s", expected_path,
				 json_util_get_last_err() ? json_util_get_last_err() : "unknown error");
	got = ms_report__json(&s->view);
	/* compare what would be printed, so number formats count too */
	n = ms_json_diff(expected, got, stderr, 20);
	json_object_put(expected);
	json_object_put(got);
	if (n) {
		return cli_error("replay: report differs from %s in %u place%s (above)",
				 expected_path, n, n == 1 ? "" : "s");
	}
	fprintf(stderr, "migscope replay: report matches %s\n", expected_path);
	return 0;
}

static int print_whatif(struct ms_session *s, const struct ms_whatif *wi,
			const struct ms_whatif_opts *wo, const struct cli_output *out)
{
	struct ms_whatif_result res;
	struct json_object *o;
	int err = 0;

	/* the limits the recorded decision was judged by */
	if (ms_whatif__predict(wi, ms_telemetry__config_at(&s->telemetry, wi->decided_ts), wo,
			       &res))
		return cli_error("what-if: %s", res.reason);
	o = ms_report__whatif(&s->view, &res);
	if (out->json)
		err = cli_json_print(o);
	else
		ms_report__print_whatif(o, stdout);
	json_object_put(o);
	if (err || fflush(stdout))
		return cli_error("failed to write the what-if report");
	return 0;
}

int do_replay(int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_OUTPUT_OPTIONS,
		{ "check", required_argument, NULL, 'c' },
		{ "bandwidth", required_argument, NULL, 'b' },
		{ "downtime-limit", required_argument, NULL, 'l' },
		{ "switchover-ack", required_argument, NULL, 'a' },
		{ "reinit", required_argument, NULL, 'r' },
		{ "until", required_argument, NULL, 'u' },
		{ 0 },
	};
	static struct until until; /* a bus is large for a stack */
	uint64_t until_ns = 0;
	struct ms_whatif_opts wo = { .ack = -1, .reinit = 1 };
	struct ms_whatif wi;
	int whatif = 0;
	struct cli_output out = { 0 };
	struct ms_session_opts sopts = { 0 };
	struct ms_capture_reader *r;
	struct ms_session *s;
	char err[MS_ERR_LEN];
	const char *path;
	int opt, ret, salvaged;

	while ((opt = getopt_long(argc, argv, "hv", opts, NULL)) != -1) {
		if (cli_output_option(&out, opt, optarg))
			continue;
		switch (opt) {
		case 'h':
			usage(stdout);
			return 0;
		case 'c':
			out.check = optarg;
			break;
		case 'b':
			if (ms_parse_rate(optarg, &wo.bps) || !wo.bps)
				return cli_usage_error("replay",
						       "--bandwidth: '%s' is not a rate such as 1G/s",
						       optarg);
			whatif = 1;
			break;
		case 'l':
			if (ms_parse_duration(optarg, &wo.limit_ns) || !wo.limit_ns)
				return cli_usage_error(
				    "replay", "--downtime-limit: '%s' is not a time such as 300ms",
				    optarg);
			whatif = 1;
			break;
		case 'a':
		case 'r': {
			int on = !strcmp(optarg, "on");

			if (!on && strcmp(optarg, "off"))
				return cli_usage_error("replay", "--%s: '%s' is not on or off",
						       opt == 'a' ? "switchover-ack" : "reinit",
						       optarg);
			if (opt == 'a')
				wo.ack = on;
			else
				wo.reinit = on;
			whatif = 1;
			break;
		}
		case 'u':
			if (ms_parse_duration(optarg, &until_ns) || !until_ns)
				return cli_usage_error(
				    "replay", "--until: '%s' is not a duration (e.g. 2.5s, 800ms)",
				    optarg);
			break;
		default:
			return cli_usage_error("replay", "unknown or incomplete option '%s'",
					       argv[optind - 1]);
		}
	}
	if (optind != argc - 1)
		return cli_usage_error("replay", optind == argc ? "missing capture FILE" :
								  "expected one capture FILE");
	path = argv[optind];
	if (whatif && (out.check || out.perfetto || out.svg || out.metrics))
		return cli_usage_error("replay", "the what-if options print their own report: no "
						 "--check, --perfetto, --svg or --metrics with them");

	r = ms_capture_reader__open(path, err, sizeof(err));
	if (!r)
		return cli_error("%s", err);
	ret = cli_session_opts("replay", &out, 0, &sopts);
	if (ret) {
		ms_capture_reader__close(r);
		return ret;
	}
	sopts.info = ms_capture_reader__info(r);
	s = ms_session__new(&sopts, err, sizeof(err));
	if (!s) {
		ms_capture_reader__close(r);
		return cli_error("%s", err);
	}
	if (cli_attach_outputs(s, &out)) {
		ms_capture_reader__close(r);
		ms_session__free(s);
		return 1;
	}
	if (until_ns) {
		memset(&until, 0, sizeof(until));
		ms_bus__init(&until.bus);
		until.to = &s->bus;
		until.after_ns = until_ns;
		ms_bus__subscribe(&until.bus, MS_EV_ALL, until_forward, &until);
	}
	ms_whatif__init(&wi);
	if (whatif && ms_whatif__subscribe(&wi, &s->bus)) {
		ms_capture_reader__close(r);
		ms_session__free(s);
		return cli_error("failed to start the what-if: %s", strerror(ENOMEM));
	}
	salvaged = cli_replay_capture(r, path, until_ns ? &until.bus : &s->bus);
	ms_capture_reader__close(r);
	if (salvaged == 1) {
		ms_whatif__free(&wi);
		ms_session__free(s);
		return 1;
	}
	if (ms_session__close_capture(s, err, sizeof(err))) {
		cli_error("%s", err);
		ms_session__free(s);
		return 1;
	}
	if (whatif) {
		ret = print_whatif(s, &wi, &wo, &out);
		ms_whatif__free(&wi);
		ms_session__free(s);
		return ret ? ret : salvaged;
	}
	if (out.check) {
		/* the files also when the reports differ: they help to see why */
		ret = check_report(s, out.check) | cli_write_files(s, &out);
		out.perfetto = out.svg = NULL; /* written */
		if (!ret && out.json)
			ret = cli_print_report(s, &out);
	} else {
		ret = cli_print_report(s, &out);
	}
	ms_session__free(s);
	return ret ? ret : salvaged;
}
