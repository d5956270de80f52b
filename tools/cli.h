/* SPDX-License-Identifier: GPL-2.0-only */
/* What every migscope command shares: exit codes, errors, report output. */
#ifndef MIGSCOPE_CLI_H
#define MIGSCOPE_CLI_H

#include <getopt.h>
#include <stdio.h>

#include <migscope/session.h>

#define EXIT_USAGE 2
/* A capture cut short: the report covers its valid prefix (docs/capture-format.md). */
#define EXIT_SALVAGED 3

/* -v given before or after the command: libbpf and debug messages on stderr. */
extern int ms_verbose;

/* One line on stderr: "migscope: <msg>".  Returns 1 (runtime failure). */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * One line on stderr naming the command (NULL: migscope's own options), plus
 * where to get help.  Returns EXIT_USAGE.
 */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * The one place errors become JSON: with json set (--json given), a failed
 * run (ret not 0) whose error went through cli_error() or cli_usage_error()
 * also prints {"error": {"message", "command", "kind", "exit"[, "help"]}} on
 * stdout, unless a JSON document was printed there already (cli_json_print()).
 * The stderr line and the exit status stay.  Returns ret.
 */
int cli_finish(const char *cmd, int json, int ret);

/* Print o on stdout as the command's JSON document (cli_finish() adds no second one). */
int cli_json_print(struct json_object *o);

/* Options every report-printing command takes. */
struct cli_output {
	int json;	     /* --json: the JSON report on stdout */
	int quiet;	     /* --quiet: no progress line */
	const char *record;  /* --record FILE */
	const char *check;   /* --check EXPECTED.json (replay) */
	const char *perfetto; /* --perfetto FILE: Chrome trace-event JSON */
	const char *svg;     /* --svg FILE: the convergence plot */
	uint64_t record_sync_ns;  /* --record-sync DURATION (0: the default, 1 s) */
	uint64_t record_max_size; /* --record-max-size SIZE (0: no rotation) */
	char bad[160];	     /* a common option's bad value, reported by cli_session_opts() */
};

/* getopt_long entries for the options above; option values >= 0x1000 are ours. */
#define CLI_OPT_JSON 0x1000
#define CLI_OPT_RECORD 0x1001
#define CLI_OPT_QUIET 0x1002
#define CLI_OPT_PERFETTO 0x1003
#define CLI_OPT_SVG 0x1004
#define CLI_OPT_RECORD_SYNC 0x1005
#define CLI_OPT_RECORD_MAX_SIZE 0x1006
#define CLI_OPT_VERBOSE 'v'
#define CLI_OUTPUT_OPTIONS                                                                         \
	{ "json", no_argument, NULL, CLI_OPT_JSON },                                              \
		{ "record", required_argument, NULL, CLI_OPT_RECORD },                            \
		{ "record-sync", required_argument, NULL, CLI_OPT_RECORD_SYNC },                  \
		{ "record-max-size", required_argument, NULL, CLI_OPT_RECORD_MAX_SIZE },          \
		{ "quiet", no_argument, NULL, CLI_OPT_QUIET },                                    \
		{ "perfetto", required_argument, NULL, CLI_OPT_PERFETTO },                        \
		{ "svg", required_argument, NULL, CLI_OPT_SVG },                                  \
		{ "verbose", no_argument, NULL, CLI_OPT_VERBOSE },                                \
		{ "help", no_argument, NULL, 'h' }

/* Handle a common option; 1 if it was one, 0 if not. */
int cli_output_option(struct cli_output *out, int opt, const char *arg);

/* Text for the common options, for --help. */
#define CLI_OUTPUT_HELP                                                                            \
	"      --json          print the report as JSON (docs/report-schema.md)\n"                 \
	"      --record FILE   also write the event stream to FILE (mode 0600)\n"                 \
	"      --record-sync DURATION  put every record on disk within DURATION, so a\n"          \
	"                      crash loses at most that much (default 1s)\n"                      \
	"      --record-max-size SIZE  rotate into FILE.1, FILE.2, ... before a file grows\n"     \
	"                      past SIZE; replay FILE reads them as one\n"                        \
	"      --perfetto FILE write a Chrome trace-event timeline for Perfetto to FILE\n"          \
	"      --svg FILE      write the pending-bytes convergence plot to FILE\n"                 \
	"      --quiet         no progress line\n"                                                 \
	"  -v, --verbose       debug and libbpf messages on stderr\n"                              \
	"  -h, --help          this help\n"

/*
 * Session options from the common ones: the capture to record and, for a live
 * command on a terminal without --quiet, the progress line on stdout.  0, or
 * EXIT_USAGE after a one-line error when a common option had a bad value.
 */
int cli_session_opts(const char *cmd, const struct cli_output *out, int live,
		     struct ms_session_opts *o);

/* Write the --perfetto and --svg files asked for.  0 or 1. */
int cli_write_files(struct ms_session *s, const struct cli_output *out);

/*
 * Clear the progress line, write the --perfetto and --svg files and print the
 * session's report (text or JSON) on stdout.  0 or 1.
 */
int cli_print_report(struct ms_session *s, const struct cli_output *out);

/*
 * Replay the capture r (opened from path, every rotated part after it) onto
 * bus (a session's, or one in front of it).  0; EXIT_SALVAGED after a one-line warning with the offset and the time
 * covered when it was cut short; 1 after a one-line error on damage.
 */
int cli_replay_capture(struct ms_capture_reader *r, const char *path, struct ms_bus *bus);

/* Reset getopt for a command's own argv. */
void cli_reset_getopt(void);

#endif
