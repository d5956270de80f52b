// SPDX-License-Identifier: GPL-2.0-only
/* migscope replay: a capture through the same consumers as the live run. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <migscope/capture.h>
#include <migscope/json.h>
#include <migscope/report.h>
#include <migscope/session.h>

#include "cli.h"
#include "commands.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: migscope replay FILE [--json] [--check EXPECTED.json] [--record OUT]\n"
		   "                       [--perfetto TRACE.json] [--svg PLOT.svg]\n\n"
		   "Feed a capture (written by --record) through the same consumers as the live\n"
		   "run and print the same report.  Replaying a file twice gives identical output.\n"
		   "The parts of a rotated capture (FILE.1, FILE.2, ... of --record-max-size)\n"
		   "replay as one.  A capture cut short (a recorder killed, a full disk) replays\n"
		   "its valid prefix with a warning naming the offset and the time covered, and\n"
		   "exits with status 3; damage inside it is an error (status 1).\n\n"
		   "Options:\n"
		   "      --check FILE    compare the JSON report with FILE; exit 1 and print the\n"
		   "                      differences when they differ (--perfetto and --svg\n"
		   "                      files are written either way)\n" CLI_OUTPUT_HELP
		   "\nExamples:\n"
		   "  migscope replay run.mscap\n"
		   "  migscope replay run.mscap --json > expected.json\n"
		   "  migscope replay run.mscap --check expected.json   # in CI\n");
}

static int check_report(struct ms_session *s, const char *expected_path)
{
	struct json_object *expected, *got;
	unsigned int n;

	expected = json_object_from_file(expected_path);
	if (!expected)
		return cli_error("%s: not a readable JSON report: %s", expected_path,
				 json_util_get_last_err() ? json_util_get_last_err() : "unknown error");
	got = ms_report__json(s);
	/* compare what would be printed, so number formats count too */
	n = ms_json_diff(expected, got, stderr, 20);
	json_object_put(expected);
	json_object_put(got);
	if (n) {
		fprintf(stderr, "migscope replay: report differs from %s in %u place%s (above)\n",
			expected_path, n, n == 1 ? "" : "s");
		return 1;
	}
	fprintf(stderr, "migscope replay: report matches %s\n", expected_path);
	return 0;
}

int do_replay(int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_OUTPUT_OPTIONS,
		{ "check", required_argument, NULL, 'c' },
		{ 0 },
	};
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
		default:
			return cli_usage_error("replay", "unknown or incomplete option '%s'",
					       argv[optind - 1]);
		}
	}
	if (optind != argc - 1)
		return cli_usage_error("replay", optind == argc ? "missing capture FILE" :
								  "expected one capture FILE");
	path = argv[optind];

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
	salvaged = cli_replay_capture(r, path, s);
	ms_capture_reader__close(r);
	if (salvaged == 1) {
		ms_session__free(s);
		return 1;
	}
	if (ms_session__close_capture(s, err, sizeof(err))) {
		cli_error("%s", err);
		ms_session__free(s);
		return 1;
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
