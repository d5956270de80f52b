// SPDX-License-Identifier: GPL-2.0-only
/*
 * The Prometheus exposition (src/report/openmetrics.c) and the event lines
 * (src/consumers/events_json.c): escaping of label values, label-name rules,
 * every value equal to the JSON report's in both formats, the atomic file,
 * --listen addresses, a port in use, and each kind of event line.  A real
 * Prometheus and promtool read them in tests/unit/test_qemu_migration.c.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include <migscope/events_json.h>
#include <migscope/loop.h>
#include <migscope/openmetrics.h>
#include <migscope/report.h>
#include <migscope/session.h>
#include <migscope/version.h>

#include "testproc.h"
#include "testutil.h"
#include "tmbuild.h"

static char *render(struct json_object *rep, const struct ms_om_labels *l, enum ms_om_format f)
{
	char *buf;
	size_t len;

	assert_int_equal(ms_om__render(rep, l, f, &buf, &len), 0);
	assert_int_equal(strlen(buf), len);
	return buf;
}

/* A report with a device whose name has every character the format escapes. */
static const char *awkward_report =
    "{\"session\": {\"started\": \"2026-12-07T01:00:00.250Z\"},"
    " \"migration\": {\"total_ms\": 1500.5, \"total_start_ms\": 12.345, \"downtime_ms\": 7.042,"
    "  \"downtime_limit_ms\": 300.000, \"convergence\": {\"verdict\": \"stalled\","
    "  \"pending_bytes\": 4096, \"predicted_downtime_ms\": 0.001}},"
    " \"devices\": [{\"name\": \"a\\\"b\\\\c\\nd\", \"kind\": \"vfio\","
    "  \"downtime\": {\"stop_ms\": 11.000, \"stopcopy_ms\": 100.612, \"switchover_ack_ms\": 0,"
    "   \"wait_ms\": 17.396, \"resume_ms\": 9.000},"
    "  \"convergence\": {\"verdict\": null, \"initial_bytes\": 0, \"dirty_bytes\": 206000,"
    "   \"stopcopy_bytes\": null},"
    "  \"dirty\": {\"bytes\": 18149376, \"sources\": {\"dma_unmap\": {\"pages\": 4431}}}}]}";

static void label_values_are_escaped_and_label_names_checked(void **state)
{
	struct json_object *rep = json_tokener_parse(awkward_report);
	struct ms_om_labels l = { .vm = "vm \"one\"\\" };
	char err[160], *text, *om;
	static const char *const bad[] = { "1a=x",	  "a-b=x",	 "__name__=x", "device=x",
					   "vm=x",	  "phase=y",	 "=x",	       "noequals",
					   "ns=\xff\xfe", "ns=\xc0\xaf", NULL };

	assert_non_null(rep);
	assert_int_equal(ms_om_labels__add(&l, "namespace=prod\nx", err, sizeof(err)), 0);
	assert_int_equal(ms_om_labels__add(&l, "_node=n\"1", err, sizeof(err)), 0);
	for (const char *const *b = bad; *b; b++) {
		err[0] = 0;
		if (ms_om_labels__add(&l, *b, err, sizeof(err)) != -EINVAL)
			fail_msg("--label %s accepted", *b);
		assert_true(err[0] && !strchr(err, '\n'));
	}
	assert_int_equal(ms_om_labels__add(&l, "namespace=again", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "given twice"));
	assert_int_equal(l.nr, 2);

	text = render(rep, &l, MS_OM_TEXT);
	om = render(rep, &l, MS_OM_OPENMETRICS);
	/* \ " and newline escaped, in the device, the vm and an operator's label */
	assert_non_null(strstr(
	    text,
	    "migscope_device_last_downtime_seconds{device=\"a\\\"b\\\\c\\nd\",driver=\"vfio\","
	    "side=\"source\",phase=\"stop_copy\",vm=\"vm \\\"one\\\"\\\\\","
	    "namespace=\"prod\\nx\",_node=\"n\\\"1\"} 0.100612\n"));
	/* exact decimals: ms moved three places, never a neighbouring double */
	assert_non_null(strstr(text, "\nmigscope_migration_downtime_seconds{vm="));
	assert_non_null(strstr(text, "} 0.007042\n"));
	assert_non_null(strstr(text, "} 0.000001\n"));
	assert_non_null(strstr(text, "phase=\"stop\",vm=\"vm \\\"one\\\"\\\\\","
				     "namespace=\"prod\\nx\",_node=\"n\\\"1\"} 0.011\n"));
	/* 01:00:00.250 + 12.345 ms; then + 1500.5 ms */
	assert_non_null(strstr(text, "} 1796605200.262345\n"));
	assert_non_null(strstr(text, "} 1796605201.762845\n"));
	/* null in the report: no sample */
	assert_null(strstr(text, "kind=\"stop_copy\""));
	assert_non_null(strstr(text, "kind=\"precopy_dirty\",vm="));
	/* a device with no verdict expected has no StateSet samples; the VM's is stalled */
	assert_null(strstr(text, "migscope_device_convergence{"));
	assert_non_null(strstr(text,
			       "migscope_migration_convergence{migscope_migration_convergence="
			       "\"stalled\",vm="));
	assert_non_null(strstr(text, "source=\"dma_unmap\",vm="));
	/* one sample line, one line: nothing unescaped broke one */
	for (char *p = text; (p = strchr(p, '\n')); p++)
		assert_true(!p[1] || p[1] == '#' || !strncmp(p + 1, "migscope_", 9));

	/* the two formats: names and types */
	assert_non_null(strstr(text, "# TYPE migscope_device_dma_dirty_pages_total counter\n"));
	assert_non_null(strstr(om, "# TYPE migscope_device_dma_dirty_pages counter\n"));
	assert_non_null(strstr(text, "# TYPE migscope_build_info gauge\n"));
	assert_non_null(strstr(om, "# TYPE migscope_build info\n"));
	assert_non_null(strstr(om, "# TYPE migscope_migration_convergence stateset\n"));
	assert_non_null(strstr(om, "# UNIT migscope_device_last_downtime_seconds seconds\n"));
	assert_non_null(strstr(om, "# UNIT migscope_device_dma_dirty_bytes bytes\n"));
	assert_null(strstr(text, "# UNIT"));
	assert_null(strstr(text, "# EOF"));
	assert_string_equal(om + strlen(om) - 6, "# EOF\n");
	free(text);
	free(om);
	json_object_put(rep);

	/* without --vm, the report's session.vm (watch --domain's libvirt domain) */
	rep = json_tokener_parse("{\"session\": {\"vm\": \"dom1\"}}");
	text = render(rep, NULL, MS_OM_TEXT);
	assert_non_null(
	    strstr(text, "migscope_build_info{version=\"" MS_VERSION "\",vm=\"dom1\"} 1\n"));
	free(text);
	l.nr = 0;
	text = render(rep, &l, MS_OM_TEXT);
	assert_non_null(strstr(text, ",vm=\"vm \\\"one\\\"\\\\\"} 1\n"));
	free(text);
	json_object_put(rep);
}

/* The value of the first sample line starting with prefix, as text. */
static const char *value_of(const char *text, const char *prefix, char *buf, size_t len)
{
	const char *p = text;

	while ((p = strstr(p, prefix))) {
		if (p == text || p[-1] == '\n') {
			const char *sp = strchr(p, ' '), *nl = strchr(p, '\n');

			if (sp && nl && sp < nl) {
				snprintf(buf, len, "%.*s", (int)(nl - sp - 1), sp + 1);
				return buf;
			}
		}
		p++;
	}
	return NULL;
}

static double num(struct json_object *o, const char *a, const char *b)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, a, &v) || (b && !json_object_object_get_ex(v, b, &v)))
		return NAN;
	return json_object_get_double(v);
}

/* Every downtime phase and pending figure of a profile-like session, in both formats. */
static void exposition_agrees_with_the_json_report(void **state)
{
	static const struct tb_load load = { .initial = 64 * TB_MIB,
					     .move_bps = 100 * TB_MIB,
					     .dirty_bps = 10 * TB_MIB,
					     .ws = 64 * TB_MIB,
					     .sizes = 1 };
	static const char *const phases[][2] = { { "stop_ms", "stop" },
						 { "stopcopy_ms", "stop_copy" },
						 { "wait_ms", "wait" },
						 { "resume_ms", "resume" } };
	struct ms_session *s = tb_session(NULL, 300, 100 * TB_MIB);
	struct json_object *rep, *devs;
	char *fmt[2], prefix[256], buf[64];
	size_t checked = 0;

	tb_migrate_pair(s, "nic", 2000, &load);
	tb_migrate_pair(s, "gpu", 2000, &load);
	tb_end(s, 6000);
	rep = ms_report__json(&s->view);
	fmt[0] = render(rep, NULL, MS_OM_TEXT);
	fmt[1] = render(rep, NULL, MS_OM_OPENMETRICS);
	assert_true(json_object_object_get_ex(rep, "devices", &devs));
	for (int f = 0; f < 2; f++) {
		for (size_t i = 0; i < json_object_array_length(devs); i++) {
			struct json_object *d = json_object_array_get_idx(devs, i), *v;
			const char *name;

			assert_true(json_object_object_get_ex(d, "name", &v));
			name = json_object_get_string(v);
			if (!json_object_object_get_ex(d, "downtime", &v) || !v)
				continue;
			for (size_t p = 0; p < 4; p++) {
				snprintf(prefix, sizeof(prefix),
					 "migscope_device_last_downtime_seconds{device=\"%s\","
					 "driver=\"ref\",side=",
					 name);
				/* the phase label follows the side: find the line with both */
				for (const char *q = fmt[f]; (q = strstr(q, prefix)); q++) {
					char want[64];

					if (strncmp(strstr(q, "phase=\"") + 7, phases[p][1],
						    strlen(phases[p][1])) ||
					    strstr(q, "phase=\"")[7 + strlen(phases[p][1])] != '"')
						continue;
					snprintf(want, sizeof(want), "%.9g",
						 num(v, phases[p][0], NULL) / 1000);
					snprintf(buf, sizeof(buf), "%.9g",
						 strtod(strchr(q, ' ') + 1, NULL));
					assert_string_equal(buf, want);
					checked++;
					break;
				}
			}
			snprintf(prefix, sizeof(prefix),
				 "migscope_device_pending_bytes{device=\"%s\",driver=\"ref\","
				 "kind=\"precopy_dirty\"}",
				 name);
			assert_non_null(value_of(fmt[f], prefix, buf, sizeof(buf)));
			assert_true(strtod(buf, NULL) == num(d, "convergence", "dirty_bytes"));
			checked++;
		}
		assert_non_null(
		    value_of(fmt[f], "migscope_migration_downtime_seconds", buf, sizeof(buf)));
		assert_true(fabs(strtod(buf, NULL) * 1000 - num(rep, "migration", "downtime_ms")) <
			    1e-9);
	}
	/* two source devices, four phases and a pending line each, in both formats */
	assert_int_equal(checked, 2 * 2 * 5);
	free(fmt[0]);
	free(fmt[1]);
	json_object_put(rep);
	ms_session__free(s);
}

static void metrics_file_is_replaced_atomically(void **state)
{
	struct json_object *rep = json_tokener_parse(awkward_report);
	char dir[64], path[128], err[256], line[256];
	struct stat st;
	struct dirent *de;
	DIR *d;
	FILE *f;
	int files = 0;

	tp_mkdtemp(dir, "om");
	snprintf(path, sizeof(path), "%s/vm1.prom", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("old\n", f);
	fclose(f);
	assert_int_equal(ms_om__write_file(path, rep, NULL, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	/* *.prom: the text format the textfile collector reads */
	assert_string_equal(line, "# HELP migscope_build_info migscope's version.\n");
	/* no temporary file left beside it */
	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d)))
		files += de->d_name[0] != '.' || strstr(de->d_name, "tmp") != NULL;
	closedir(d);
	assert_int_equal(files, 1);
	assert_int_equal(ms_om__file_format("x.om"), MS_OM_OPENMETRICS);
	assert_int_equal(ms_om__file_format("x.prom"), MS_OM_TEXT);

	snprintf(path, sizeof(path), "%s/no/such/dir/vm1.prom", dir);
	assert_int_equal(ms_om__write_file(path, rep, NULL, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, path));
	tp_rmdir(dir);
	json_object_put(rep);
}

static void listen_addresses_parse_and_a_port_in_use_is_refused(void **state)
{
	static const char *const good[] = { "127.0.0.1:9464", "[::1]:9464",    ":9464",
					    "localhost:1",    "0.0.0.0:65535", NULL };
	static const char *const bad[] = { "127.0.0.1",
					   "127.0.0.1:0",
					   "127.0.0.1:65536",
					   "::1:9464",
					   "[::1:9464",
					   "example.com:80",
					   "127.0.0.1:-1",
					   "127.0.0.1:+80",
					   "1.2.3.4.5:80",
					   "127.0.0.1:80x",
					   NULL };
	struct sockaddr_storage sa;
	struct sockaddr_in *in = (struct sockaddr_in *)&sa;
	socklen_t slen = sizeof(sa);
	size_t len;
	char err[256], addr[32];
	struct ms_loop *loop;
	int fd;

	for (const char *const *g = good; *g; g++)
		if (ms_om_parse_listen(*g, &sa, &len, err, sizeof(err)))
			fail_msg("%s: %s", *g, err);
	for (const char *const *b = bad; *b; b++) {
		err[0] = 0;
		if (ms_om_parse_listen(*b, &sa, &len, err, sizeof(err)) != -EINVAL)
			fail_msg("--listen %s accepted", *b);
		assert_true(err[0] && strstr(err, *b));
	}

	/* a port someone else holds */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(ms_om_parse_listen("127.0.0.1:1", &sa, &len, err, sizeof(err)), 0);
	in->sin_port = 0;
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, (socklen_t)len), 0);
	assert_int_equal(listen(fd, 1), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &slen), 0);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", ntohs(in->sin_port));
	assert_int_equal(ms_om_parse_listen(addr, &sa, &len, err, sizeof(err)), 0);
	loop = ms_loop__new(0);
	assert_non_null(loop);
	assert_null(
	    ms_metrics_server__new(NULL, NULL, NULL, &sa, len, addr, loop, err, sizeof(err)));
	assert_non_null(strstr(err, "failed to listen on"));
	assert_non_null(strstr(err, strerror(EADDRINUSE)));
	close(fd);
	/* free now: the same address serves */
	{
		struct ms_metrics_server *m = ms_metrics_server__new(NULL, NULL, NULL, &sa, len,
								     addr, loop, err, sizeof(err));

		assert_non_null(m);
		assert_int_equal(ms_metrics_server__scrapes(m), 0);
		/* nothing scraped: no waiting for a final scrape */
		assert_int_equal(ms_metrics_server__final_scrape(m, TP_SEC), -ENOENT);
		ms_metrics_server__free(m);
	}
	ms_loop__free(loop);
}

/* --- the event lines -------------------------------------------------------------------- */

static struct json_object *line(char **p)
{
	char *nl = strchr(*p, '\n');
	struct json_object *o;

	assert_non_null(nl);
	*nl = 0;
	o = json_tokener_parse(*p);
	if (!o)
		fail_msg("not JSON: %s", *p);
	*p = nl + 1;
	return o;
}

static const char *str(struct json_object *o, const char *k)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, k, &v))
		fail_msg("no %s in %s", k, json_object_to_json_string(o));
	return v ? json_object_get_string(v) : NULL;
}

/* The next line of kind, skipping verdict lines when kind is not "verdict". */
static struct json_object *next_of(char **p, const char *kind)
{
	for (;;) {
		struct json_object *o = line(p);

		assert_int_equal(json_object_get_int(json_object_object_get(o, "v")), 1);
		if (!strcmp(str(o, "kind"), kind))
			return o;
		if (strcmp(str(o, "kind"), "verdict"))
			fail_msg("expected a %s line: %s", kind, json_object_to_json_string(o));
		json_object_put(o);
	}
}

static void event_lines_of_each_kind(void **state)
{
	struct ms_session_opts so = { 0 };
	struct ms_events_json ej;
	struct ms_session *s;
	char err[MS_ERR_LEN], *buf = NULL, *p, *copy;
	size_t len = 0;
	struct json_object *o;
	FILE *f = open_memstream(&buf, &len);
	uint32_t ram;
	int verdicts = 0;

	assert_non_null(f);
	s = ms_session__new(&so, err, sizeof(err));
	assert_non_null(s);
	ms_events_json__init(&ej, f, &s->devices, &s->telemetry);
	assert_int_equal(ms_events_json__subscribe(&ej, &s->bus), 0);
	ms_stream__begin(&s->stream, TB_T0, MS_SESSION_WATCH, 300 * 1000000ull, 1ull << 20, 4096);
	ram = tb_dev(s, "ram", MS_DEV_KIND_QEMU_SECTION, MS_ROLE_SOURCE, MS_DEV_NONE);
	tb_status(s, 10, MS_MIG_SETUP);
	tb_status(s, 20, MS_MIG_ACTIVE);
	tb_status(s, 21, MS_MIG_ACTIVE); /* no change: no line */
	/* 4 MiB left each pass at 1 MiB/s against 300 KiB: never fits */
	for (int i = 0; i < 4; i++) {
		tb_pending(s, ram, 30 + 1000.0 * i, 4u << 20, 300u << 10);
		tb_pass(s, ram, 30 + 1000.0 * i, i + 1, 4u << 20);
		tb_pending_between(s, ram, 500 + 1000.0 * i, 2u << 20, 300u << 10);
	}
	tb_config(s, 4500, 50, 2ull << 20, 4000);
	tb_arc(s, ram, 2, 6, 4600, 1); /* RUNNING -> PRE_COPY */
	tb_end(s, 5000);
	fclose(f);
	if (getenv("MIGSCOPE_SHOW"))
		fputs(buf, stderr);

	copy = strdup(buf);
	assert_non_null(copy);
	p = buf;
	o = next_of(&p, "limits");
	assert_string_equal(str(o, "t_ms"), "0.000");
	assert_string_equal(str(o, "downtime_limit_ms"), "300.000");
	assert_int_equal(json_object_get_int64(json_object_object_get(o, "bandwidth_bps")),
			 1 << 20);
	assert_null(json_object_object_get(o, "changed_after_ms"));
	assert_non_null(strstr(str(o, "time"), "Z"));
	json_object_put(o);
	o = next_of(&p, "status");
	assert_string_equal(str(o, "status"), "setup");
	json_object_put(o);
	o = next_of(&p, "status");
	assert_string_equal(str(o, "status"), "active");
	json_object_put(o);
	for (int i = 0; i < 4; i++) {
		o = next_of(&p, "pass");
		assert_string_equal(str(o, "device"), "ram");
		assert_int_equal(json_object_get_int(json_object_object_get(o, "pass")), i + 1);
		assert_int_equal(json_object_get_int64(json_object_object_get(o, "left_bytes")),
				 4 << 20);
		json_object_put(o);
	}
	o = next_of(&p, "limits");
	assert_string_equal(str(o, "downtime_limit_ms"), "50.000");
	assert_string_equal(str(o, "changed_after_ms"), "4000.000");
	json_object_put(o);
	o = next_of(&p, "arc");
	assert_string_equal(str(o, "device"), "ram");
	assert_string_equal(str(o, "side"), "source");
	assert_string_equal(str(o, "from"), "RUNNING");
	assert_string_equal(str(o, "to"), "PRE_COPY");
	assert_string_equal(str(o, "ms"), "1.000");
	json_object_put(o);
	o = next_of(&p, "end");
	assert_int_equal(json_object_get_int(json_object_object_get(o, "status")), 0);
	json_object_put(o);
	assert_string_equal(p, "");

	/* the verdicts: each a change from the one before, ram's ending not converging */
	for (p = copy; *p;) {
		const char *was, *now;

		o = line(&p);
		if (strcmp(str(o, "kind"), "verdict")) {
			json_object_put(o);
			continue;
		}
		was = str(o, "was");
		now = str(o, "verdict");
		assert_true(!was || !now || strcmp(was, now));
		assert_true(str(o, "reason")[0]);
		if (str(o, "device") && !strcmp(str(o, "device"), "ram") && now)
			assert_string_not_equal(now, "converging");
		verdicts++;
		json_object_put(o);
	}
	assert_true(verdicts >= 2);
	assert_int_equal(ej.err, 0);
	ms_events_json__free(&ej);
	ms_session__free(s);
	free(buf);
	free(copy);
}

/* A full disk: the first line fails, the error is kept, nothing more is tried. */
static void event_lines_onto_a_full_disk_stop_with_the_error(void **state)
{
	struct ms_session_opts so = { 0 };
	struct ms_events_json ej;
	struct ms_session *s;
	char err[MS_ERR_LEN];
	FILE *f = fopen("/dev/full", "w");
	uint32_t dev;

	if (!f)
		tu_skip("no /dev/full");
	s = ms_session__new(&so, err, sizeof(err));
	assert_non_null(s);
	ms_events_json__init(&ej, f, &s->devices, &s->telemetry);
	assert_int_equal(ms_events_json__subscribe(&ej, &s->bus), 0);
	ms_stream__begin(&s->stream, TB_T0, MS_SESSION_PROFILE, 300 * 1000000ull, 1ull << 20, 4096);
	dev = tb_dev(s, "ref0", MS_DEV_KIND_REF, MS_ROLE_SOURCE, MS_DEV_NONE);
	tb_arc(s, dev, 2, 6, 10, 1);
	tb_pass(s, dev, 20, 1, 4096);
	tb_end(s, 30);
	assert_int_equal(ej.err, -ENOSPC);
	assert_int_equal(ej.lines, 0);
	fclose(f);
	ms_events_json__free(&ej);
	ms_session__free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(label_values_are_escaped_and_label_names_checked),
		cmocka_unit_test(exposition_agrees_with_the_json_report),
		cmocka_unit_test(metrics_file_is_replaced_atomically),
		cmocka_unit_test(listen_addresses_parse_and_a_port_in_use_is_refused),
		cmocka_unit_test(event_lines_of_each_kind),
		cmocka_unit_test(event_lines_onto_a_full_disk_stop_with_the_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
