// SPDX-License-Identifier: GPL-2.0-only
/*
 * The reports: the JSON schema's telemetry keys with known answers, identical
 * JSON from a replay, the Perfetto trace parsed back as trace-event JSON, the
 * SVG's structure and series, the 100-column table and the progress line.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include <migscope/capture.h>
#include <migscope/json.h>
#include <migscope/report.h>
#include <migscope/session.h>

#include "testutil.h"
#include "tmbuild.h"

/* Three devices with known behaviour, limit 300 ms at 100 MiB/s (30 MiB fit). */
static const struct tb_load light = { .initial = 256 * TB_MIB,
				      .move_bps = 100 * TB_MIB,
				      .dirty_bps = 10 * TB_MIB,
				      .ws = 64 * TB_MIB,
				      .sizes = 1 };
static const struct tb_load fast = { .initial = 64 * TB_MIB,
				     .move_bps = 50 * TB_MIB,
				     .dirty_bps = 200 * TB_MIB,
				     .ws = 1024 * TB_MIB,
				     .sizes = 1 };
static const struct tb_load reinit = { .initial = 96 * TB_MIB,
				       .move_bps = 100 * TB_MIB,
				       .dirty_bps = 5 * TB_MIB,
				       .ws = 64 * TB_MIB,
				       .reinit_bytes = 48 * TB_MIB,
				       .reinit_every_ms = 1000,
				       .sizes = 1 };

static struct ms_session *profile_like(const char *record)
{
	struct ms_session *s = tb_session(record, 300, 100 * TB_MIB);

	tb_migrate_pair(s, "light", 3000, &light);
	tb_migrate_pair(s, "fast", 3000, &fast);
	tb_migrate_pair(s, "reinit", 3000, &reinit);
	tb_end(s, 14000);
	return s;
}

static struct json_object *device(struct json_object *report, const char *name)
{
	struct json_object *arr = tu_json_get(report, "devices");

	for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
		struct json_object *d = json_object_array_get_idx(arr, i);

		if (!strcmp(json_object_get_string(tu_json_get(d, "name")), name))
			return d;
	}
	fail_msg("no device %s in the report", name);
	return NULL;
}

static const char *str(struct json_object *o, const char *path)
{
	struct json_object *v = tu_json_get(o, path);

	assert_non_null(v);
	return json_object_get_string(v);
}

static double num(struct json_object *o, const char *path)
{
	struct json_object *v = tu_json_get(o, path);

	assert_non_null(v);
	return json_object_get_double(v);
}

static void json_report_gives_downtime_arcs_and_verdicts_the_workloads_imply(void **state)
{
	struct ms_session *s = profile_like(NULL);
	struct json_object *r = ms_report__json(&s->view), *d, *arcs;

	/*
	 * every pair stops at 3000 ms: 3 ms to STOP_COPY; the fast one then moves
	 * 499 + 4 MiB at 50 MiB/s and its destination runs 4 ms after that
	 */
	assert_string_equal(str(r, "migration.downtime_source"), "devices");
	assert_true(fabs(num(r, "migration.downtime_ms") - (3 + 503.0 / 50 * 1e3 + 4)) < 1e-3);
	assert_true(num(r, "migration.total_ms") > num(r, "migration.downtime_ms"));
	assert_int_equal((int64_t)num(r, "migration.threshold_bytes"), 30 * TB_MIB);
	assert_string_equal(str(r, "migration.convergence.verdict"), "diverging");

	d = device(r, "light");
	assert_string_equal(str(d, "convergence.verdict"), "converging");
	assert_int_equal((int)num(d, "convergence.samples"), 30); /* 10 ms, then every 100 ms */
	assert_int_equal((int)num(d, "convergence.reinit.count"), 0);
	/* light: 1 MiB pending + 4 MiB of state at 100 MiB/s = 50 ms of stop-copy */
	assert_true(fabs(num(d, "downtime.stopcopy_ms") - 50.5) < 1e-3);
	assert_true(fabs(num(d, "downtime_ms") - 57.0) < 1e-3);
	assert_string_equal(str(d, "peer"), "light-dst");
	arcs = tu_json_get(d, "arcs");
	assert_int_equal(json_object_array_length(arcs), 6);
	assert_string_equal(str(json_object_array_get_idx(arcs, 0), "from"), "PRE_COPY");
	assert_string_equal(str(json_object_array_get_idx(arcs, 0), "to"), "PRE_COPY_P2P");
	assert_true(fabs(num(json_object_array_get_idx(arcs, 0), "ms") - 1.0) < 1e-9);
	assert_string_equal(str(json_object_array_get_idx(arcs, 5), "to"), "RUNNING");
	assert_string_equal(str(json_object_array_get_idx(arcs, 5), "side"), "destination");

	d = device(r, "fast");
	assert_string_equal(str(d, "convergence.verdict"), "diverging");
	assert_true(fabs(num(d, "convergence.dirty_rate_bps") / TB_MIB - 200) < 1);
	assert_true(json_object_get_boolean(tu_json_get(d, "convergence.over_limit")));

	d = device(r, "reinit");
	assert_string_equal(str(d, "convergence.verdict"), "converging");
	assert_int_equal((int)num(d, "convergence.reinit.count"), 2);
	assert_true(fabs(json_object_get_double(
			     json_object_array_get_idx(tu_json_get(d, "convergence.reinit.at_ms"), 0)) -
			 1010.0) < 1e-9);

	/* destinations are counted in their source's row */
	d = device(r, "fast-dst");
	assert_string_equal(str(d, "counted_in"), "fast");
	assert_null(tu_json_get(d, "downtime_ms"));
	json_object_put(r);
	ms_session__free(s);
}

static char *json_text(struct ms_session *s)
{
	struct json_object *r = ms_report__json(&s->view);
	char *t = strdup(json_object_to_json_string_ext(r, JSON_C_TO_STRING_PRETTY));

	json_object_put(r);
	return t;
}

static char *text_report(struct ms_session *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ms_report__print_text(&s->view, f);
	fclose(f);
	return buf;
}

static struct ms_session *replay(const char *path)
{
	char err[MS_ERR_LEN];
	struct ms_capture_reader *r = ms_capture_reader__open(path, err, sizeof(err));
	struct ms_session_opts o = { 0 };
	struct ms_session *s;

	assert_non_null(r);
	o.info = ms_capture_reader__info(r);
	s = ms_session__new(&o, err, sizeof(err));
	assert_non_null(s);
	assert_int_equal(ms_capture_reader__replay(r, &s->bus, NULL, err, sizeof(err)), 0);
	ms_capture_reader__close(r);
	return s;
}

static void replayed_capture_gives_identical_json_and_text(void **state)
{
	char *path = tu_tmp_path(".mscap");
	struct ms_session *live = profile_like(path), *again, *twice;
	char *j_live = json_text(live), *t_live = text_report(live), *j1, *j2, *t1;

	again = replay(path);
	twice = replay(path);
	j1 = json_text(again);
	j2 = json_text(twice);
	t1 = text_report(again);
	assert_string_equal(j1, j_live);
	assert_string_equal(j2, j1);
	assert_string_equal(t1, t_live);
	assert_non_null(strstr(j1, "\"diverging\""));
	free(j_live);
	free(t_live);
	free(j1);
	free(j2);
	free(t1);
	ms_session__free(live);
	ms_session__free(again);
	ms_session__free(twice);
	unlink(path);
	free(path);
}

static void perfetto_trace_is_trace_event_json_with_slices_and_counters(void **state)
{
	struct ms_session *s = profile_like(NULL);
	char *path = tu_tmp_path(".json"), err[MS_ERR_LEN];
	struct json_object *root, *evs;
	int slices_arc = 0, slices_state = 0, pending = 0, dirty_rate = 0, names = 0, reinit = 0;
	int vm_downtime = 0, pass1 = 0;

	assert_int_equal(ms_report__perfetto(&s->view, path, err, sizeof(err)), 0);
	root = json_object_from_file(path);
	assert_non_null(root);
	assert_true(json_object_object_get_ex(root, "traceEvents", &evs));
	assert_true(json_object_is_type(evs, json_type_array));
	for (size_t i = 0; i < json_object_array_length(evs); i++) {
		struct json_object *e = json_object_array_get_idx(evs, i), *v;
		const char *ph = str(e, "ph"), *name = str(e, "name");

		/* every event has a phase, a process, a thread and a name; timed ones a time */
		assert_true(json_object_object_get_ex(e, "pid", NULL));
		assert_true(json_object_object_get_ex(e, "tid", NULL));
		if (strcmp(ph, "M"))
			assert_true(json_object_is_type(tu_json_get(e, "ts"), json_type_double) ||
				    json_object_is_type(tu_json_get(e, "ts"), json_type_int));
		if (!strcmp(ph, "X")) {
			assert_true(json_object_object_get_ex(e, "dur", &v));
			assert_true(json_object_get_double(v) >= 0);
			slices_arc += !strcmp(str(e, "cat"), "arc");
			slices_state += !strcmp(str(e, "cat"), "state");
			vm_downtime +=
			    !strcmp(name, "downtime") && json_object_get_int(tu_json_get(e, "tid")) == 0;
		} else if (!strcmp(ph, "C")) {
			if (!strcmp(name, "light pending bytes")) {
				assert_non_null(tu_json_get(e, "args.initial"));
				assert_non_null(tu_json_get(e, "args.dirty"));
				pending++;
			}
			dirty_rate += !strcmp(name, "fast dirty rate");
		} else if (!strcmp(ph, "M")) {
			names += !strcmp(name, "thread_name");
		} else if (!strcmp(ph, "i")) {
			reinit += !strcmp(name, "REINIT");
			pass1 += !strcmp(name, "pass 1");
		}
	}
	/* 4 source arcs + 6 destination arcs per pair */
	assert_int_equal(slices_arc, 30);
	assert_true(slices_state >= 24);
	assert_int_equal(pending, 30);
	assert_int_equal(dirty_rate, 29);
	assert_int_equal(names, 7); /* the VM and six devices */
	assert_int_equal(reinit, 2);
	/* each source's first pass boundary; the devices' sum has none of its own */
	assert_int_equal(pass1, 3);
	assert_int_equal(vm_downtime, 1);
	json_object_put(root);
	ms_session__free(s);
	unlink(path);
	free(path);
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* Every element opened is closed, in order (the SVG has no comments or CDATA). */
static void assert_balanced_xml(const char *doc)
{
	const char *stack[64];
	size_t lens[64];
	int depth = 0;

	for (const char *p = strchr(doc, '<'); p; p = strchr(p + 1, '<')) {
		const char *end = strchr(p, '>');
		size_t n;

		assert_non_null(end);
		if (p[1] == '?')
			continue;
		n = strcspn(p + 1 + (p[1] == '/'), " />");
		if (p[1] == '/') {
			assert_true(depth > 0);
			depth--;
			assert_int_equal(lens[depth], n);
			assert_memory_equal(stack[depth], p + 2, n);
		} else if (end[-1] != '/') {
			assert_true(depth < 64);
			stack[depth] = p + 1;
			lens[depth++] = n;
		}
	}
	assert_int_equal(depth, 0);
}

static void svg_is_well_formed_and_plots_each_device_with_threshold_and_switchover(void **state)
{
	struct ms_session *s = profile_like(NULL);
	char *path = tu_tmp_path(".svg"), err[MS_ERR_LEN];
	unsigned char *doc;

	assert_int_equal(ms_report__svg(&s->view, path, err, sizeof(err)), 0);
	tu_read_file(path, &doc);
	assert_non_null(strstr((char *)doc, "<svg xmlns=\"http://www.w3.org/2000/svg\""));
	assert_balanced_xml((char *)doc);
	/* the VM's (the devices' stop-copy sizes summed), then one per source device */
	assert_int_equal(count((char *)doc, "<g class=\"panel\""), 4);
	assert_non_null(strstr((char *)doc, ">VM (all devices) <tspan fill=\"#c62828\">diverging"));
	assert_non_null(strstr((char *)doc, ">light <tspan fill=\"#1a7f37\">converging</tspan>"));
	assert_non_null(strstr((char *)doc, ">fast <tspan fill=\"#c62828\">diverging</tspan>"));
	assert_int_equal(count((char *)doc, "threshold 30.0 MiB"), 5); /* the header and 4 panels */
	assert_int_equal(count((char *)doc, ">switchover</text>"), 4);
	assert_int_equal(count((char *)doc, ">REINIT</text>"), 2);
	/* each line labelled in its own colour (the first one is the VM panel's) */
	assert_non_null(
	    strstr((char *)doc, "fill=\"#D55E00\" text-anchor=\"start\">pending 1.0 MiB</text>"));
	assert_non_null(
	    strstr((char *)doc, "fill=\"#009E73\" text-anchor=\"start\">pending 499.0 MiB</text>"));
	assert_non_null(
	    strstr((char *)doc, "fill=\"#CC79A7\" text-anchor=\"start\">pending 512.0 KiB</text>"));
	/* pending lines (3) and stop-copy size lines (3 and the VM's) */
	assert_int_equal(count((char *)doc, "<polyline"), 7);
	free(doc);
	ms_session__free(s);
	unlink(path);
	free(path);
}

/*
 * A watch whose limits changed mid-run (another monitor) and whose downtime
 * QEMU 7.2's trace points bound: every report shows both.  JSON lists the
 * limits and the one judged against, with the bounds and the events they come
 * from; the table has a line per change and where the downtime was read; the
 * SVG draws the threshold as a step; Perfetto steps the limit counter.
 */
static struct ms_session *limits_changed_and_bounded(void)
{
	struct ms_session *s = tb_session(NULL, 300, 64 * TB_MIB);
	uint32_t ram = tb_dev(s, "ram", MS_DEV_KIND_QEMU_SECTION, MS_ROLE_SOURCE, MS_DEV_NONE);

	tb_status(s, 0, MS_MIG_SETUP);
	tb_status(s, 1, MS_MIG_ACTIVE);
	for (int i = 0; i < 8; i++) {
		tb_pending(s, ram, 50 + 100 * i, (64 - 7 * i) * TB_MIB, MS_STAT_UNSET);
		tb_stats(s, 60 + 100 * i, MS_MIG_ACTIVE, (64 - 7 * i) * TB_MIB,
			 (uint64_t)i * 7 * TB_MIB, MS_STAT_UNSET, 60 + 100 * i, 536871);
	}
	tb_config(s, 200, 20, 8 * TB_MIB, 150);
	tb_mark(s, 800.000, MS_MARK_LOW_PENDING);
	tb_mark(s, 800.500, MS_MARK_FINISH_MIGRATE);
	tb_runstate(s, 803.000, 0);
	tb_mark(s, 803.100, MS_MARK_VM_STOPPED);
	tb_status(s, 810.000, MS_MIG_COMPLETED);
	tb_mark(s, 810.200, MS_MARK_POSTMIGRATE);
	tb_stats(s, 870, MS_MIG_COMPLETED, 0, 64 * TB_MIB, 10, 810, 536871);
	tb_end(s, 900);
	return s;
}

static void limit_changes_and_downtime_bounds_are_in_every_report(void **state)
{
	struct ms_session *s = limits_changed_and_bounded();
	struct json_object *r = ms_report__json(&s->view), *m = tu_json_get(r, "migration"), *l, *b;
	char *text = text_report(s), *path = tu_tmp_path(".svg"), err[MS_ERR_LEN];
	unsigned char *doc;

	l = tu_json_get(m, "limits");
	assert_int_equal(json_object_array_length(l), 2);
	assert_true(num(json_object_array_get_idx(l, 0), "downtime_limit_ms") == 300);
	assert_null(tu_json_get(json_object_array_get_idx(l, 0), "changed_after_ms"));
	assert_true(num(json_object_array_get_idx(l, 1), "downtime_limit_ms") == 20);
	assert_true(num(json_object_array_get_idx(l, 1), "at_ms") == 200);
	assert_true(num(json_object_array_get_idx(l, 1), "changed_after_ms") == 150);
	assert_true(num(json_object_array_get_idx(l, 1), "bandwidth_bps") == 8 * TB_MIB);
	/* judged at the VM stop: the limit then */
	assert_true(num(m, "downtime_limit_ms") == 20);
	assert_true(num(m, "limits_judged_at_ms") == 800.5);
	assert_true(num(m, "convergence.downtime_limit_ms") == 20);
	/* read from finish-migrate to postmigrate; 810.0 - 800.5 .. 810.2 - 800.0, whole ms */
	assert_true(num(m, "downtime_ms") == 9.7);
	b = tu_json_get(m, "downtime_bounds_ms");
	assert_true(json_object_get_double(json_object_array_get_idx(b, 0)) == 9);
	assert_true(json_object_get_double(json_object_array_get_idx(b, 1)) == 11);
	assert_string_equal(str(m, "downtime_bounded_by.start.after"), "migration_thread_low_pending");
	assert_string_equal(str(m, "downtime_bounded_by.start.at"), "runstate finish-migrate");
	assert_string_equal(str(m, "downtime_bounded_by.end.after"), "MIGRATION completed");
	assert_string_equal(str(m, "downtime_bounded_by.end.before"), "runstate postmigrate");

	assert_non_null(strstr(text, "downtime 9.700 ms (qemu, between 9 and 11)"));
	assert_non_null(strstr(text, "limits at +0.000 s: limit 300.0 ms, bandwidth 64.0 MiB/s"));
	assert_non_null(
	    strstr(text, "changed by +0.200 s (after +0.150 s): limit 20.0 ms, bandwidth 8.0 MiB/s"));
	assert_non_null(strstr(text, "downtime read from runstate finish-migrate to runstate"));

	assert_int_equal(ms_report__svg(&s->view, path, err, sizeof(err)), 0);
	tu_read_file(path, &doc);
	assert_balanced_xml((char *)doc);
	/* the threshold steps where the limit changed: one path per panel */
	assert_true(count((char *)doc, "<path fill=\"none\" stroke=\"#c62828\"") >= 1);
	free(doc);
	/* the limit as a counter from the start, at the change and to the end */
	assert_int_equal(ms_report__perfetto(&s->view, path, err, sizeof(err)), 0);
	tu_read_file(path, &doc);
	assert_int_equal(count((char *)doc, "\"VM downtime limit\""), 3);
	assert_int_equal(count((char *)doc, "\"limits changed\""), 1);
	free(doc);
	unlink(path);
	free(path);
	free(text);
	json_object_put(r);
	ms_session__free(s);
}

static void output_file_errors_name_the_file(void **state)
{
	struct ms_session *s = profile_like(NULL);
	char err[MS_ERR_LEN];

	assert_int_equal(ms_report__svg(&s->view, "/nonexistent/dir/p.svg", err, sizeof(err)),
			 -ENOENT);
	assert_string_equal(err,
			    "/nonexistent/dir/p.svg: failed to create: No such file or directory");
	assert_int_equal(ms_report__perfetto(&s->view, "/nonexistent/t.json", err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/t.json: failed to create"));
	ms_session__free(s);
}

static void text_table_fits_100_columns_with_one_row_per_source(void **state)
{
	struct ms_session *s = profile_like(NULL);
	char *text = text_report(s), *save = NULL;
	int rows = 0;

	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		assert_true(strlen(line) <= 100);
		if (!strncmp(line, "light>light-dst ", 16) ||
		    !strncmp(line, "fast>fast-dst ", 14) ||
		    !strncmp(line, "reinit>reinit-dst ", 18))
			rows++;
		assert_true(strncmp(line, "fast-dst", 8)); /* counted in its source's row */
		if (!strncmp(line, "fast>fast-dst ", 14))
			assert_non_null(strstr(line, " diverging "));
		if (!strncmp(line, "light>light-dst ", 16))
			assert_non_null(strstr(line, " converging "));
	}
	assert_int_equal(rows, 3);
	free(text);
	text = text_report(s);
	assert_non_null(strstr(text, "DEVICE                   DOWNTIME  SHARE   PRE-COPY"));
	assert_non_null(strstr(text, "2 REINIT events"));
	assert_non_null(strstr(text, "limit 300.0 ms at 100.0 MiB/s (config): 30.0 MiB fit"));
	free(text);
	ms_session__free(s);
}

/*
 * A verdict only where one is expected: a destination (its source speaks for
 * it) and a QEMU section with no pre-copy show "-" in the table and null in
 * JSON; a source device with no samples yet is "unknown", a section with
 * pending samples has its verdict.
 */
static void no_verdict_where_none_is_expected(void **state)
{
	struct ms_session *s = tb_session(NULL, 300, 100 * TB_MIB);
	uint32_t src = tb_dev(s, "src", MS_DEV_KIND_REF, MS_ROLE_SOURCE, MS_DEV_NONE);
	uint32_t dst = tb_dev(s, "dst", MS_DEV_KIND_REF, MS_ROLE_DEST, MS_DEV_NONE);
	uint32_t apic = tb_dev(s, "apic", MS_DEV_KIND_QEMU_SECTION, MS_ROLE_SOURCE, MS_DEV_NONE);
	uint32_t ram = tb_dev(s, "ram", MS_DEV_KIND_QEMU_SECTION, MS_ROLE_SOURCE, MS_DEV_NONE);
	struct json_object *r;
	char *text, *save = NULL;
	int seen = 0;

	(void)src;
	(void)dst;
	(void)apic;
	tb_section(s, apic, 10, 3, MS_SECTION_SAVE_START);
	tb_section(s, apic, 11, 3, MS_SECTION_SAVE_END);
	tb_pending(s, ram, 10, 64 * TB_MIB, MS_STAT_UNSET);
	r = ms_report__json(&s->view);
	assert_string_equal(str(device(r, "src"), "convergence.verdict"), "unknown");
	assert_null(tu_json_get(device(r, "dst"), "convergence.verdict"));
	assert_null(tu_json_get(device(r, "apic"), "convergence.verdict"));
	assert_string_equal(str(device(r, "ram"), "convergence.verdict"), "unknown");
	json_object_put(r);
	text = text_report(s);
	/* the verdict column: after name 22, downtime 10, share 6, pre-copy, moved, pending 10 */
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[24], verdict[16];

		if (strlen(line) < 75 || sscanf(line, "%23s", name) != 1 ||
		    sscanf(line + 74, "%15s", verdict) != 1)
			continue;
		if (!strcmp(name, "src") || !strcmp(name, "ram"))
			seen += !strcmp(verdict, "unknown");
		if (!strcmp(name, "dst"))
			seen += !strcmp(verdict, "-");
		/* a section below 1% of the downtime is in the summary row, without a verdict */
		assert_true(strcmp(name, "apic"));
	}
	assert_int_equal(seen, 3);
	free(text);
	ms_session__free(s);
}

/* pass_list: every boundary up to 100, then the first and the last 99 */
static void pass_list_keeps_the_first_and_the_last_passes(void **state)
{
	struct ms_session *s = tb_session(NULL, 20, 4 * TB_MIB);
	uint32_t ram = tb_dev(s, "ram", MS_DEV_KIND_QEMU_SECTION, MS_ROLE_SOURCE, MS_DEV_NONE);
	struct json_object *r, *pl;

	for (uint32_t i = 0; i < 150; i++) {
		tb_pass(s, ram, 100.0 * i, i + 1, (2048 - i) * 1024ull);
		tb_pending(s, ram, 100.0 * i, (2048 - i) * 1024ull, 80 * 1024);
	}
	r = ms_report__json(&s->view);
	pl = tu_json_get(device(r, "ram"), "convergence.pass_list");
	assert_int_equal((int)num(device(r, "ram"), "convergence.passes"), 149);
	assert_int_equal(json_object_array_length(pl), 100);
	assert_true(num(json_object_array_get_idx(pl, 0), "t_ms") == 0);
	assert_null(tu_json_get(json_object_array_get_idx(pl, 0), "duration_ms"));
	assert_int_equal((int)num(json_object_array_get_idx(pl, 0), "left_bytes"), 2048 * 1024);
	assert_true(fabs(num(json_object_array_get_idx(pl, 1), "t_ms") - 5100) < 1e-9);
	assert_true(fabs(num(json_object_array_get_idx(pl, 99), "t_ms") - 14900) < 1e-9);
	assert_true(fabs(num(json_object_array_get_idx(pl, 99), "duration_ms") - 100) < 1e-9);
	json_object_put(r);
	ms_session__free(s);
}

static void progress_line_shows_state_pending_and_rate_and_stays_off_a_file(void **state)
{
	struct ms_session *s = tb_session(NULL, 300, 100 * TB_MIB);
	FILE *f = tmpfile();
	struct ms_progress p;
	char line[256];
	uint32_t d = tb_dev(s, "nic", MS_DEV_KIND_REF, MS_ROLE_SOURCE, MS_DEV_NONE);

	assert_false(ms_progress__wanted(f, 0));
	assert_false(ms_progress__wanted(f, 1));
	tb_arc(s, d, 2, 6, 10, 1);
	tb_precopy(s, d, 1000, 100 * TB_MIB, 0, 0);
	tb_precopy(s, d, 2000, 90 * TB_MIB, 0, 0);
	ms_progress__init(&p, f, &s->devices, &s->telemetry);
	p.now_ts = tb_ns(2000);
	assert_string_equal(ms_progress__line(&p, line, sizeof(line)),
			    "2.0s | nic PRE_COPY 90.0 MiB -10.0 MiB/s");
	p.width = 20;
	assert_string_equal(ms_progress__line(&p, line, sizeof(line)), "2.0s | nic PRE_C...");
	fclose(f);
	ms_session__free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(json_report_gives_downtime_arcs_and_verdicts_the_workloads_imply),
		cmocka_unit_test(replayed_capture_gives_identical_json_and_text),
		cmocka_unit_test(perfetto_trace_is_trace_event_json_with_slices_and_counters),
		cmocka_unit_test(
		    svg_is_well_formed_and_plots_each_device_with_threshold_and_switchover),
		cmocka_unit_test(limit_changes_and_downtime_bounds_are_in_every_report),
		cmocka_unit_test(output_file_errors_name_the_file),
		cmocka_unit_test(text_table_fits_100_columns_with_one_row_per_source),
		cmocka_unit_test(no_verdict_where_none_is_expected),
		cmocka_unit_test(pass_list_keeps_the_first_and_the_last_passes),
		cmocka_unit_test(progress_line_shows_state_pending_and_rate_and_stays_off_a_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
