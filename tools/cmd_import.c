// SPDX-License-Identifier: GPL-2.0-only
/*
 * migscope import: a past migration from what it left behind (QEMU's trace
 * logs of the source and the destination, and the QMP conversation with the
 * source) into a capture that `migscope replay` reports on.  The lines go
 * through the sources the watch uses (the trace-log parser, the QMP client
 * fed from a transcript instead of a socket), merged in time order, so an
 * imported run and a watched one give the same records.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include <migscope/json.h>
#include <migscope/qemu_trace.h>
#include <migscope/qmp.h>
#include <migscope/session.h>

#include "cli.h"
#include "commands.h"

/* A CI artifact may be large, but not this large: a bound, not a limit anyone meets. */
#define MAX_INPUT (1ull << 30)

enum input_kind { IN_SRC_LOG, IN_DST_LOG, IN_QMP, IN__MAX };

struct input {
	const char *path;
	char *buf;
	size_t len;
	struct ms_qemu_trace *trace; /* the logs */
	/* the transcript */
	uint64_t lines, messages, bad;
	uint64_t first_bad; /* its line number, 1-based */
	char bad_why[96];
};

/* One line of one input, with the wall time that orders it. */
struct item {
	uint64_t wall_ns;
	uint32_t input;
	uint32_t seq; /* position in its input: equal times keep their order */
	const char *line;
	size_t len;
	struct json_object *msg; /* the transcript's message */
	int sent;		 /* ... sent to QEMU (a command) */
};

struct import {
	struct input in[IN__MAX];
	struct item *items;
	size_t nr, cap;
	uint64_t records;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: migscope import --qemu-log SRC.log [--dst-qemu-log DST.log]\n"
		"                       [--qmp-transcript FILE] --record OUT.mscap [--json]\n\n"
		"Turn what a past QEMU migration left behind into a capture, which 'migscope\n"
		"replay' then reports on as if 'migscope watch' had watched it: QEMU's trace\n"
		"logs (-D FILE -msg timestamp=on -trace ..., the options\n"
		"scripts/qemu-trace-args.sh prints) of the source and, optionally, the\n"
		"destination, and the QMP conversation with the source.  Their lines are\n"
		"merged in time order and read by the same trace-log parser and QMP client as\n"
		"the watch's.  A CI artifact of a migration can so be judged without a QEMU.\n\n"
		"The transcript has one JSON object per line:\n"
		"  {\"dir\": D, \"t\": EPOCH_SECONDS, \"msg\": {...the QMP message...}}\n"
		"with D \"send\" (to QEMU) or \"recv\" (from QEMU), or \"in\"/\"out\"; the\n"
		"message says which way it went (a command has \"execute\"), so either\n"
		"perspective of in/out is read right.  Replies are matched to the commands\n"
		"in order.  The session begins at the first \"migrate\" command (log lines\n"
		"before it belong to an earlier run and are skipped); the limits in force\n"
		"then, and any set later, come from migrate-set-parameters and\n"
		"query-migrate-parameters in the transcript.  Lines that are not such\n"
		"objects are counted and skipped, and one line on stderr says how many and\n"
		"which was first; the logs' lines are counted as the watch counts them.\n\n"
		"Options:\n"
		"      --qemu-log FILE        the source QEMU's trace log\n"
		"      --dst-qemu-log FILE    the destination QEMU's trace log\n"
		"      --qmp-transcript FILE  the QMP conversation with the source (JSON lines)\n"
		"      --record FILE          the capture to write (required; mode 0600)\n"
		"      --json                 print the summary as JSON\n"
		"  -v, --verbose              debug messages on stderr\n"
		"  -h, --help                 this help\n"
		"At least one of --qemu-log and --qmp-transcript is needed.\n"
		"\nExamples:\n"
		"  migscope import --qemu-log src.log --dst-qemu-log dst.log \\\n"
		"      --qmp-transcript qmp.jsonl --record run.mscap\n"
		"  migscope replay run.mscap --svg plot.svg\n"
		"  migscope import --qmp-transcript qmp.jsonl --record run.mscap --json | jq "
		".records\n");
}

static int read_input(struct input *in)
{
	FILE *f = fopen(in->path, "rb");
	size_t cap = 65536;

	if (!f)
		return cli_error("%s: failed to open: %s", in->path, strerror(errno));
	in->buf = malloc(cap);
	while (in->buf) {
		size_t n = fread(in->buf + in->len, 1, cap - in->len, f);

		in->len += n;
		if (in->len < cap)
			break;
		if (cap >= MAX_INPUT) {
			fclose(f);
			return cli_error("%s: larger than %llu bytes", in->path,
					 (unsigned long long)MAX_INPUT);
		}
		cap *= 2;
		char *b = realloc(in->buf, cap);

		if (!b)
			free(in->buf);
		in->buf = b;
	}
	if (!in->buf) {
		fclose(f);
		return cli_error("failed to read %s: %s", in->path, strerror(ENOMEM));
	}
	if (ferror(f)) {
		int e = errno;

		fclose(f);
		return cli_error("failed to read %s: %s", in->path, strerror(e));
	}
	fclose(f);
	return 0;
}

static struct item *add_item(struct import *im)
{
	if (im->nr == im->cap) {
		size_t cap = im->cap ? im->cap * 2 : 1024;
		struct item *n = realloc(im->items, cap * sizeof(*n));

		if (!n)
			return NULL;
		im->items = n;
		im->cap = cap;
	}
	memset(&im->items[im->nr], 0, sizeof(im->items[0]));
	return &im->items[im->nr++];
}

/*
 * A log's lines.  A line without a stamp (QEMU's own messages) keeps the
 * time of the line before it, so it stays where it was.
 */
static int split_log(struct import *im, uint32_t idx)
{
	struct input *in = &im->in[idx];
	const char *p = in->buf, *end = in->buf + in->len;
	uint64_t last = 0;
	uint32_t seq = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		struct item *it = add_item(im);
		uint64_t wall;

		if (!it)
			return cli_error("failed to read %s: %s", in->path, strerror(ENOMEM));
		if (!ms_qemu_trace_line_time(p, len, &wall))
			last = wall;
		it->wall_ns = last;
		it->input = idx;
		it->seq = seq++;
		it->line = p;
		it->len = len;
		p += len + (nl ? 1 : 0);
	}
	return 0;
}

static void bad_line(struct input *in, uint64_t lineno, const char *why)
{
	if (!in->bad++) {
		in->first_bad = lineno;
		snprintf(in->bad_why, sizeof(in->bad_why), "%s", why);
	}
}

/* One transcript line: 0 when it became an item, 1 when counted as bad, -1 out of memory. */
static int transcript_line(struct import *im, struct input *in, const char *line, size_t len,
			   uint64_t lineno, uint32_t seq)
{
	struct ms_qmp_line l;
	struct item *it;
	int ret = ms_qmp_transcript_line(line, len, &l);

	if (ret == -ENOMEM)
		return -1;
	if (ret) {
		bad_line(in, lineno, l.why);
		return 1;
	}
	it = add_item(im);
	if (!it) {
		json_object_put(l.msg);
		return -1;
	}
	it->wall_ns = l.wall_ns;
	it->input = IN_QMP;
	it->seq = seq;
	it->line = line;
	it->len = len;
	it->msg = l.msg;
	it->sent = l.sent;
	return 0;
}

static int split_transcript(struct import *im)
{
	struct input *in = &im->in[IN_QMP];
	const char *p = in->buf, *end = in->buf + in->len;
	uint64_t lineno = 0;
	uint32_t seq = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		const char *line = p;

		p += len + (nl ? 1 : 0);
		lineno++;
		if (strspn(line, " \t\r") >= len)
			continue; /* blank */
		in->lines++;
		if (transcript_line(im, in, line, len, lineno, seq++) < 0)
			return cli_error("failed to read %s: %s", in->path, strerror(ENOMEM));
	}
	return 0;
}

static int by_time(const void *a, const void *b)
{
	const struct item *x = a, *y = b;

	if (x->wall_ns != y->wall_ns)
		return x->wall_ns < y->wall_ns ? -1 : 1;
	if (x->input != y->input)
		return x->input < y->input ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int is_migrate(const struct item *it)
{
	struct json_object *v;

	return it->sent && json_object_object_get_ex(it->msg, "execute", &v) &&
	       json_object_is_type(v, json_type_string) &&
	       !strcmp(json_object_get_string(v), "migrate");
}

/*
 * Where the session begins: the first migrate command, else the first
 * MIGRATION event, else the first stamped log line.  0 when there is none.
 */
static uint64_t session_start(const struct import *im)
{
	uint64_t first_log = 0;

	for (size_t i = 0; i < im->nr; i++) {
		const struct item *it = &im->items[i];

		if (it->input == IN_QMP) {
			struct json_object *v;

			if (is_migrate(it) ||
			    (!it->sent && json_object_object_get_ex(it->msg, "event", &v) &&
			     json_object_is_type(v, json_type_string) &&
			     !strcmp(json_object_get_string(v), "MIGRATION")))
				return it->wall_ns;
		} else if (!first_log && it->wall_ns) {
			first_log = it->wall_ns;
		}
	}
	return first_log;
}

static void count_record(void *ctx, const struct ms_event_hdr *ev)
{
	(*(uint64_t *)ctx)++;
}

static const char *const input_names[] = {
	[IN_SRC_LOG] = "source",
	[IN_DST_LOG] = "destination",
	[IN_QMP] = "qmp",
};

static void print_summary(const struct import *im, const struct ms_qmp *q, const char *out,
			  int json)
{
	const struct ms_qmp_info *info = q ? ms_qmp__info(q) : NULL;

	if (json) {
		struct json_object *o = json_object_new_object(), *srcs = json_object_new_array();

		ms_json_add(o, "capture", json_object_new_string(out));
		ms_json_add(o, "records", json_object_new_uint64(im->records));
		ms_json_add(o, "qemu_version",
			    info && info->version[0] ? json_object_new_string(info->version)
						     : NULL);
		for (int i = 0; i < IN__MAX; i++) {
			const struct input *in = &im->in[i];
			struct json_object *s;

			if (!in->path)
				continue;
			s = json_object_new_object();
			ms_json_add(s, "input", json_object_new_string(input_names[i]));
			ms_json_add(s, "path", json_object_new_string(in->path));
			if (in->trace) {
				const struct ms_qemu_trace_counts *n =
				    ms_qemu_trace__counts(in->trace);

				ms_json_add(s, "lines", json_object_new_uint64(n->lines));
				ms_json_add(s, "used", json_object_new_uint64(n->accepted));
				ms_json_add(s, "other_events", json_object_new_uint64(n->unknown));
				ms_json_add(s, "not_trace", json_object_new_uint64(n->not_trace));
				ms_json_add(s, "before_session", json_object_new_uint64(n->stale));
				ms_json_add(s, "not_understood",
					    json_object_new_uint64(n->malformed));
			} else {
				ms_json_add(s, "lines", json_object_new_uint64(in->lines));
				ms_json_add(s, "messages", json_object_new_uint64(in->messages));
				ms_json_add(s, "bad_lines", json_object_new_uint64(in->bad));
				ms_json_add(s, "first_bad_line",
					    in->bad ? json_object_new_uint64(in->first_bad) : NULL);
			}
			json_object_array_add(srcs, s);
		}
		ms_json_add(o, "inputs", srcs);
		cli_json_print(o);
		json_object_put(o);
		return;
	}
	printf("migscope import: %s: %" PRIu64 " records", out, im->records);
	if (info && info->version[0])
		printf(" (QEMU %s)", info->version);
	printf("\n");
	for (int i = 0; i < IN__MAX; i++) {
		const struct input *in = &im->in[i];

		if (!in->path)
			continue;
		if (in->trace) {
			const struct ms_qemu_trace_counts *n = ms_qemu_trace__counts(in->trace);

			printf("  qemu log %s (%s): %" PRIu64 " lines, %" PRIu64 " used, %" PRIu64
			       " of other events, %" PRIu64 " not trace lines, %" PRIu64
			       " from before, %" PRIu64 " not understood\n",
			       in->path, input_names[i], n->lines, n->accepted, n->unknown,
			       n->not_trace, n->stale, n->malformed);
		} else {
			printf("  qmp transcript %s: %" PRIu64 " lines, %" PRIu64
			       " messages, %" PRIu64 " bad lines\n",
			       in->path, in->lines, in->messages, in->bad);
		}
	}
}

static void free_import(struct import *im)
{
	for (size_t i = 0; i < im->nr; i++)
		json_object_put(im->items[i].msg);
	free(im->items);
	for (int i = 0; i < IN__MAX; i++) {
		ms_qemu_trace__free(im->in[i].trace);
		free(im->in[i].buf);
	}
}

/* Feed every item in time order; 0, or 1 when the QMP client failed (said why). */
static int feed(struct import *im, struct ms_session *s, struct ms_qmp *q, uint64_t start)
{
	int begun = 0;

	for (size_t i = 0; i < im->nr; i++) {
		struct item *it = &im->items[i];
		int ret;

		if (!begun && it->wall_ns >= start) {
			const struct ms_qmp_info *info = q ? ms_qmp__info(q) : NULL;

			/* stream time is wall time: the offset to wall clock is 0 */
			ms_stream__begin_at(&s->stream, start, start, start, MS_SESSION_IMPORT,
					    info ? info->downtime_limit_ms * 1000000ull : 0,
					    info ? info->max_bandwidth : 0, 0);
			if (q)
				ms_qmp__connected(q, start);
			begun = 1;
		}
		if (it->input != IN_QMP) {
			ms_qemu_trace__line(im->in[it->input].trace, it->line, it->len);
			continue;
		}
		im->in[IN_QMP].messages++;
		ret = it->sent ? ms_qmp__sent(q, it->msg, it->wall_ns)
			       : ms_qmp__received(q, it->msg, it->wall_ns);
		if (ret)
			return cli_error("%s", ms_qmp__error(q));
	}
	return 0;
}

int do_import(int argc, char **argv)
{
	enum { O_LOG = 0x2000, O_DST_LOG, O_QMP, O_RECORD, O_JSON };
	static const struct option opts[] = {
		{ "qemu-log", required_argument, NULL, O_LOG },
		{ "dst-qemu-log", required_argument, NULL, O_DST_LOG },
		{ "qmp-transcript", required_argument, NULL, O_QMP },
		{ "record", required_argument, NULL, O_RECORD },
		{ "json", no_argument, NULL, O_JSON },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct ms_session_opts sopts = { .argc = argc, .argv = argv };
	struct ms_qmp_opts qo = { 0 };
	struct import im = { 0 };
	struct ms_session *s = NULL;
	struct ms_qmp *q = NULL;
	char err[MS_ERR_LEN];
	const char *out = NULL;
	int opt, json = 0, exit_code = 1;
	uint64_t start, end;

	while ((opt = getopt_long(argc, argv, "hv", opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			usage(stdout);
			return 0;
		case 'v':
			ms_verbose = 1;
			break;
		case O_LOG:
			im.in[IN_SRC_LOG].path = optarg;
			break;
		case O_DST_LOG:
			im.in[IN_DST_LOG].path = optarg;
			break;
		case O_QMP:
			im.in[IN_QMP].path = optarg;
			break;
		case O_RECORD:
			out = optarg;
			break;
		case O_JSON:
			json = 1;
			break;
		default:
			return cli_usage_error("import", "unknown or incomplete option '%s'",
					       argv[optind - 1]);
		}
	}
	if (optind != argc)
		return cli_usage_error("import", "unexpected argument '%s'", argv[optind]);
	if (!out)
		return cli_usage_error("import", "--record OUT.mscap is required");
	if (!im.in[IN_SRC_LOG].path && !im.in[IN_QMP].path)
		return cli_usage_error("import", "--qemu-log or --qmp-transcript is required");

	for (int i = 0; i < IN__MAX; i++)
		if (im.in[i].path && read_input(&im.in[i]))
			goto out;
	for (int i = IN_SRC_LOG; i <= IN_DST_LOG; i++)
		if (im.in[i].path && split_log(&im, (uint32_t)i))
			goto out;
	if (im.in[IN_QMP].path && split_transcript(&im))
		goto out;
	if (im.in[IN_QMP].bad)
		fprintf(stderr,
			"migscope: qmp transcript %s: %" PRIu64
			" bad line%s skipped (first: line %" PRIu64 ": %s)\n",
			im.in[IN_QMP].path, im.in[IN_QMP].bad, im.in[IN_QMP].bad == 1 ? "" : "s",
			im.in[IN_QMP].first_bad, im.in[IN_QMP].bad_why);
	qsort(im.items, im.nr, sizeof(im.items[0]), by_time);
	start = session_start(&im);
	if (!start) {
		cli_error("nothing to import: no migrate command or MIGRATION event in %s, and no "
			  "stamped trace line in the logs",
			  im.in[IN_QMP].path ? im.in[IN_QMP].path : "the transcript");
		goto out;
	}
	end = im.items[im.nr - 1].wall_ns > start ? im.items[im.nr - 1].wall_ns : start;

	sopts.record_path = out;
	s = ms_session__new(&sopts, err, sizeof(err));
	if (!s) {
		cli_error("%s", err);
		goto out;
	}
	ms_bus__subscribe(&s->bus, MS_EV_ALL, count_record, &im.records);
	for (int i = IN_SRC_LOG; i <= IN_DST_LOG; i++) {
		struct ms_qemu_trace_opts to = {
			.not_before_wall_ns = start,
			.side = i == IN_DST_LOG ? MS_ROLE_DEST : MS_ROLE_SOURCE,
		};

		if (!im.in[i].path)
			continue;
		im.in[i].trace = ms_qemu_trace__new(&s->stream, &to);
		if (!im.in[i].trace) {
			cli_error("failed to start: %s", strerror(ENOMEM));
			goto out;
		}
	}
	if (im.in[IN_QMP].path) {
		qo.path = im.in[IN_QMP].path;
		/* without the source's log, QMP's VFIO_MIGRATION and ram.remaining stand in */
		qo.vfio_events = qo.ram_pending = !im.in[IN_SRC_LOG].path;
		q = ms_qmp__new(&s->stream, &qo);
		if (!q) {
			cli_error("failed to start: %s", strerror(ENOMEM));
			goto out;
		}
		ms_qmp__transcript(q);
	}
	if (feed(&im, s, q, start))
		goto out;
	for (int i = IN_SRC_LOG; i <= IN_DST_LOG; i++) {
		const struct ms_qemu_trace_counts *n;

		if (!im.in[i].trace)
			continue;
		ms_qemu_trace__close(im.in[i].trace, end);
		n = ms_qemu_trace__counts(im.in[i].trace);
		if (n->malformed)
			fprintf(stderr,
				"migscope: qemu log %s: %" PRIu64 " lines of known events not "
				"understood, skipped\n",
				im.in[i].path, n->malformed);
	}
	if (q)
		ms_qmp__close(q, end);
	if (ms_session__end(s, end, 0, err, sizeof(err))) {
		cli_error("%s", err);
		goto out;
	}
	print_summary(&im, q, out, json);
	exit_code = 0;
out:
	ms_qmp__free(q);
	ms_session__free(s);
	free_import(&im);
	return exit_code;
}
