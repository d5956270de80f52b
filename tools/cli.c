// SPDX-License-Identifier: GPL-2.0-only
/* Shared command-line plumbing. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <migscope/json.h>
#include <migscope/parse.h>
#include <migscope/report.h>
#include <migscope/session.h>

#include "cli.h"

int ms_verbose;

/*
 * The first error of the run, kept for the JSON error object main() prints
 * under --json (cli_finish()).  The first one is the cause; what follows is
 * usually its consequence.
 */
static struct {
	char msg[4096];
	const char *kind; /* "usage" or "runtime"; NULL: no error yet */
	int printed;	  /* a JSON document is on stdout already */
} cli_err;

static void cli_err__note(const char *kind, const char *msg)
{
	if (cli_err.kind)
		return;
	snprintf(cli_err.msg, sizeof(cli_err.msg), "%s", msg);
	cli_err.kind = kind;
}

int cli_error(const char *fmt, ...)
{
	char msg[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "migscope: %s\n", msg);
	cli_err__note("runtime", msg);
	return 1;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	char msg[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (cmd)
		fprintf(stderr, "migscope %s: %s (see 'migscope %s --help')\n", cmd, msg, cmd);
	else
		fprintf(stderr, "migscope: %s (see 'migscope --help')\n", msg);
	cli_err__note("usage", msg);
	return EXIT_USAGE;
}

int cli_json_print(struct json_object *o)
{
	cli_err.printed = 1;
	return ms_json_print(stdout, o);
}

int cli_finish(const char *cmd, int json, int ret)
{
	struct json_object *o, *e;
	char help[64];

	/*
	 * One JSON document on stdout: a result already printed stands (it says
	 * what failed: capture check's verdict, features' capabilities).  A cut
	 * capture's valid prefix (EXIT_SALVAGED) is a report, with a warning.
	 */
	if (!json || !ret || cli_err.printed || (ret == EXIT_SALVAGED && !cli_err.kind))
		return ret;
	if (!cli_err.kind) /* every failure should say why; this one did only on stderr */
		cli_err__note("runtime", "failed; see the messages on stderr");
	o = json_object_new_object();
	e = json_object_new_object();
	ms_json_add(e, "message", json_object_new_string(cli_err.msg));
	ms_json_add(e, "command", cmd ? json_object_new_string(cmd) : NULL);
	ms_json_add(e, "kind", json_object_new_string(cli_err.kind));
	ms_json_add(e, "exit", json_object_new_int(ret));
	if (!strcmp(cli_err.kind, "usage")) {
		snprintf(help, sizeof(help), "migscope%s%s --help", cmd ? " " : "", cmd ? cmd : "");
		ms_json_add(e, "help", json_object_new_string(help));
	}
	ms_json_add(o, "error", e);
	ms_json_print(stdout, o);
	json_object_put(o);
	fflush(stdout);
	return ret;
}

int cli_output_option(struct cli_output *out, int opt, const char *arg)
{
	switch (opt) {
	case CLI_OPT_JSON:
		out->json = 1;
		return 1;
	case CLI_OPT_RECORD:
		out->record = arg;
		return 1;
	case CLI_OPT_QUIET:
		out->quiet = 1;
		return 1;
	case CLI_OPT_PERFETTO:
		out->perfetto = arg;
		return 1;
	case CLI_OPT_SVG:
		out->svg = arg;
		return 1;
	case CLI_OPT_RECORD_SYNC:
		if (ms_parse_duration(arg, &out->record_sync_ns) || !out->record_sync_ns)
			snprintf(out->bad, sizeof(out->bad),
				 "--record-sync: '%s' is not a duration above zero", arg);
		return 1;
	case CLI_OPT_RECORD_MAX_SIZE:
		/* room for the header, one chunk of one largest record and the end */
		if (ms_parse_size(arg, &out->record_max_size) || out->record_max_size < (1u << 20))
			snprintf(out->bad, sizeof(out->bad),
				 "--record-max-size: '%s' is not a size of at least 1M", arg);
		return 1;
	case CLI_OPT_VERBOSE:
		ms_verbose = 1;
		return 1;
	default:
		return 0;
	}
}

int cli_session_opts(const char *cmd, const struct cli_output *out, int live,
		     struct ms_session_opts *o)
{
	if (out->bad[0])
		return cli_usage_error(cmd, "%s", out->bad);
	if (!out->record && (out->record_sync_ns || out->record_max_size))
		return cli_usage_error(cmd, "--record-sync and --record-max-size need --record FILE");
	o->record_path = out->record;
	o->record.sync_ns = out->record_sync_ns;
	o->record.max_size = out->record_max_size;
	o->progress = live && ms_progress__wanted(stdout, out->quiet) ? stdout : NULL;
	return 0;
}

int cli_write_files(struct ms_session *s, const struct cli_output *out)
{
	char err[MS_ERR_LEN];

	if (out->perfetto && ms_report__perfetto(&s->view, out->perfetto, err, sizeof(err)))
		return cli_error("%s", err);
	if (out->svg && ms_report__svg(&s->view, out->svg, err, sizeof(err)))
		return cli_error("%s", err);
	return 0;
}

int cli_print_report(struct ms_session *s, const struct cli_output *out)
{
	ms_progress__clear(&s->progress);
	if (cli_write_files(s, out))
		return 1;
	if (out->json) {
		struct json_object *r = ms_report__json(&s->view);
		int err = cli_json_print(r);

		json_object_put(r);
		if (err)
			return cli_error("failed to write report: %s", strerror(-err));
	} else {
		ms_report__print_text(&s->view, stdout);
	}
	if (fflush(stdout))
		return cli_error("failed to write report");
	return 0;
}

int cli_replay_capture(struct ms_capture_reader *r, const char *path, struct ms_bus *bus)
{
	struct ms_replay_stats st;
	char err[MS_ERR_LEN];
	int ret = ms_capture_reader__replay_parts(r, path, bus, 1, &st, err, sizeof(err));

	if (ret < 0)
		return cli_error("%s", err);
	if (ret == MS_CAPTURE_SALVAGED) {
		fprintf(stderr,
			"migscope: warning: %s; replayed the valid prefix: %llu records, %.3f s of "
			"stream time%s (exit status %d)\n",
			err, (unsigned long long)st.events,
			st.events ? (double)(st.last_ts - st.first_ts) / 1e9 : 0.0,
			st.parts > 1 ? " over every part" : "", EXIT_SALVAGED);
		return EXIT_SALVAGED;
	}
	return 0;
}

void cli_reset_getopt(void)
{
	optind = 0; /* glibc: 0 also resets its internal state */
	opterr = 0; /* we print our own one-line errors */
}
