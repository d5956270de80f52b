// SPDX-License-Identifier: GPL-2.0-only
/*
 * The kernel's arcs against the driven ones (arccheck): records published
 * into a session as profile and the vfio collector publish them, and the
 * report's kernel_arcs object and table section built from them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include <migscope/capture.h>
#include <migscope/report.h>
#include <migscope/session.h>
#include <migscope/vfio_compat.h>

#include "testutil.h"

enum { STOP = 1, RUNNING = 2, STOP_COPY = 3, RESUMING = 4, RP = 5, PC = 6, PCP = 7 };

static uint64_t ts = 1000;

static struct ms_session *new_session_rec(const char *record)
{
	struct ms_session_opts so = { .record_path = record };
	char err[MS_ERR_LEN];
	struct ms_session *s = ms_session__new(&so, err, sizeof(err));

	assert_non_null(s);
	ms_stream__begin(&s->stream, ts, MS_SESSION_PROFILE, 300000000, 0, 4096);
	return s;
}

static struct ms_session *new_session(void)
{
	return new_session_rec(NULL);
}

static uint32_t add(struct ms_session *s, uint16_t kind, const char *name)
{
	return ms_stream__add_device(&s->stream, ts, kind, MS_ROLE_BOTH,
				     VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P |
					 VFIO_MIGRATION_PRE_COPY,
				     MS_DEV_NONE, name);
}

static void watch(struct ms_session *s, uint32_t dev, uint32_t state)
{
	struct ms_ev_arc_watch ev = { 0 };

	MS_EVENT_INIT(&ev, MS_EV_ARC_WATCH, ms_ev_arc_watch, dev, ts);
	ev.state = state;
	ms_stream__publish(&s->stream, &ev.hdr);
}

static void arc(struct ms_session *s, unsigned int type, uint32_t dev, int from, int to, int err)
{
	struct ms_ev_dev_state ev = { 0 };

	MS_EVENT_INIT(&ev, type, ms_ev_dev_state, dev, ts += 1000);
	ev.domain = MS_DOMAIN_VFIO;
	ev.from = (__u8)from;
	ev.to = (__u8)to;
	ev.err = err;
	ev.dur_ns = 500;
	ms_stream__publish(&s->stream, &ev.hdr);
}

/* The arcs profile drives on a source that saves and then resumes its own state. */
static const int save_resume[][2] = {
	{ RUNNING, PC },    { PC, PCP },	{ PCP, STOP_COPY }, { STOP_COPY, STOP },
	{ STOP, RESUMING }, { RESUMING, STOP }, { STOP, RP },	    { RP, RUNNING },
};
#define NR_ARCS (sizeof(save_resume) / sizeof(save_resume[0]))

static struct json_object *kernel_arcs(struct ms_session *s, uint32_t id)
{
	struct json_object *rep = ms_report__json(&s->view), *o = ms_report__device(rep, id),
			   *k = NULL;

	assert_non_null(o);
	if (json_object_object_get_ex(o, "kernel_arcs", &k))
		json_object_get(k);
	json_object_put(rep);
	return k;
}

static int64_t geti(struct json_object *o, const char *key)
{
	struct json_object *v = tu_json_get(o, key);

	assert_non_null(v);
	return json_object_get_int64(v);
}

static const char *gets(struct json_object *o, const char *key)
{
	struct json_object *v = tu_json_get(o, key);

	return v ? json_object_get_string(v) : NULL;
}

static void every_driven_arc_seen_by_the_kernel_is_a_match(void **state)
{
	struct ms_session *s = new_session();
	uint32_t d = add(s, MS_DEV_KIND_VFIO, "vfio0");
	struct json_object *k;

	watch(s, d, MS_ARC_WATCHED);
	for (size_t i = 0; i < NR_ARCS; i++)
		arc(s, MS_EV_DEV_STATE, d, save_resume[i][0], save_resume[i][1], 0);
	/* the collector's records arrive after the fact, as the ring is read at the end */
	for (size_t i = 0; i < NR_ARCS; i++)
		arc(s, MS_EV_KERNEL_ARC, d, save_resume[i][0], save_resume[i][1], 0);
	k = kernel_arcs(s, d);
	assert_non_null(k);
	assert_true(json_object_get_boolean(tu_json_get(k, "watched")));
	assert_int_equal(geti(k, "driven"), NR_ARCS);
	assert_int_equal(geti(k, "seen"), NR_ARCS);
	assert_int_equal(geti(k, "matched"), NR_ARCS);
	assert_int_equal(geti(k, "missing"), 0);
	assert_int_equal(geti(k, "extra"), 0);
	assert_string_equal(gets(k, "verdict"), "match");
	assert_null(gets(k, "first_missing"));
	json_object_put(k);
	ms_session__free(s);
}

static void a_missing_and_an_extra_arc_make_a_visible_mismatch(void **state)
{
	struct ms_session *s = new_session();
	uint32_t d = add(s, MS_DEV_KIND_VFIO, "vfio0");
	struct json_object *k;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	watch(s, d, MS_ARC_WATCHED);
	for (size_t i = 0; i < NR_ARCS; i++)
		arc(s, MS_EV_DEV_STATE, d, save_resume[i][0], save_resume[i][1], 0);
	/* the kernel missed STOP_COPY -> STOP and saw an arc nobody asked for */
	for (size_t i = 0; i < NR_ARCS; i++) {
		if (save_resume[i][0] == STOP_COPY)
			continue;
		arc(s, MS_EV_KERNEL_ARC, d, save_resume[i][0], save_resume[i][1], 0);
		if (save_resume[i][0] == RP)
			arc(s, MS_EV_KERNEL_ARC, d, RUNNING, RP, 0);
	}
	k = kernel_arcs(s, d);
	assert_int_equal(geti(k, "driven"), NR_ARCS);
	assert_int_equal(geti(k, "seen"), NR_ARCS);
	assert_int_equal(geti(k, "matched"), NR_ARCS - 1);
	assert_int_equal(geti(k, "missing"), 1);
	assert_int_equal(geti(k, "extra"), 1);
	assert_string_equal(gets(k, "verdict"), "mismatch");
	assert_string_equal(gets(k, "first_missing"), "STOP_COPY->STOP");
	assert_string_equal(gets(k, "first_extra"), "RUNNING->RUNNING_P2P");
	json_object_put(k);

	f = open_memstream(&text, &len);
	ms_report__print_text(&s->view, f);
	fclose(f);
	assert_non_null(strstr(text, "kernel arcs (vfio_mig_get_next_state against the arcs "
				     "driven):"));
	assert_non_null(strstr(text, "\nvfio0  "));
	assert_non_null(strstr(text, "mismatch: first missing STOP_COPY->STOP; first extra "
				     "RUNNING->RUNNING_P2P"));
	free(text);
	ms_session__free(s);
}

/* A failed arc: the kernel says ERROR, the driver's record where the device was found. */
static void a_failed_arc_matches_the_kernel_s_failed_arc_and_a_reset_is_not_driven(void **state)
{
	struct ms_session *s = new_session();
	uint32_t d = add(s, MS_DEV_KIND_VFIO, "vfio0");
	struct json_object *k;

	watch(s, d, MS_ARC_WATCHED);
	arc(s, MS_EV_DEV_STATE, d, RUNNING, PC, 0);
	arc(s, MS_EV_DEV_STATE, d, PC, PCP, -5);
	arc(s, MS_EV_DEV_STATE, d, 0 /* ERROR */, RUNNING, 0); /* VFIO_DEVICE_RESET */
	arc(s, MS_EV_KERNEL_ARC, d, RUNNING, PC, 0);
	arc(s, MS_EV_KERNEL_ARC, d, PC, 0, -5);
	k = kernel_arcs(s, d);
	assert_int_equal(geti(k, "driven"), 2);
	assert_int_equal(geti(k, "matched"), 2);
	assert_string_equal(gets(k, "verdict"), "match");
	json_object_put(k);
	ms_session__free(s);
}

static void devices_the_kernel_cannot_see_say_why_instead_of_a_mismatch(void **state)
{
	struct ms_session *s = new_session();
	uint32_t ref = add(s, MS_DEV_KIND_REF, "ref0");
	uint32_t off = add(s, MS_DEV_KIND_VFIO, "vfio1");
	uint32_t noname = add(s, MS_DEV_KIND_VFIO, "vfio2");
	uint32_t host = add(s, MS_DEV_KIND_HOST, "0000:3b:00.1");
	struct json_object *k;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	watch(s, ref, MS_ARC_REFERENCE);
	watch(s, off, MS_ARC_UNWATCHED);
	watch(s, noname, MS_ARC_NO_NAME);
	arc(s, MS_EV_DEV_STATE, ref, RUNNING, PC, 0);
	arc(s, MS_EV_DEV_STATE, off, RUNNING, PC, 0);
	/* a watch session's host device: the kernel's arcs are its timeline, nothing to check */
	arc(s, MS_EV_DEV_STATE, host, RUNNING, PC, 0);
	k = kernel_arcs(s, ref);
	assert_false(json_object_get_boolean(tu_json_get(k, "watched")));
	assert_string_equal(gets(k, "why_not"), "reference device: no kernel arcs");
	assert_null(gets(k, "verdict"));
	assert_null(tu_json_get(k, "missing"));
	json_object_put(k);
	k = kernel_arcs(s, off);
	assert_string_equal(gets(k, "why_not"),
			    "not watched: the vfio_mig_get_next_state collector is not attached");
	json_object_put(k);
	k = kernel_arcs(s, noname);
	assert_string_equal(gets(k, "why_not"), "not watched: the device's kernel name is unknown");
	json_object_put(k);
	assert_null(kernel_arcs(s, host));

	f = open_memstream(&text, &len);
	ms_report__print_text(&s->view, f);
	fclose(f);
	assert_non_null(strstr(text, "\nref0  "));
	assert_non_null(strstr(text, "reference device: no kernel arcs"));
	assert_null(strstr(text, "mismatch"));
	free(text);
	ms_session__free(s);
}

static void without_an_arc_watch_the_report_has_no_kernel_arcs(void **state)
{
	struct ms_session *s = new_session();
	uint32_t d = add(s, MS_DEV_KIND_VFIO, "vfio0");
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	arc(s, MS_EV_DEV_STATE, d, RUNNING, PC, 0);
	assert_null(kernel_arcs(s, d));
	f = open_memstream(&text, &len);
	ms_report__print_text(&s->view, f);
	fclose(f);
	assert_null(strstr(text, "kernel arcs"));
	free(text);
	ms_session__free(s);
}

/*
 * Recorded and replayed, the check comes out the same: the watch and both
 * lists are in the stream.  MIGSCOPE_SEED_OUT=FILE keeps the capture (the
 * fuzz seed tests/fuzz/corpus/capture/kernel-arcs.mscap was made so).
 */
static void the_check_replays_from_a_capture(void **state)
{
	const char *keep = getenv("MIGSCOPE_SEED_OUT");
	char path[] = "/tmp/ms-arccheck-XXXXXX", err[MS_ERR_LEN];
	struct ms_session *s, *r;
	struct ms_capture_reader *rd;
	struct json_object *a, *b;
	uint32_t d, ref;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	s = new_session_rec(keep ? keep : path);
	d = add(s, MS_DEV_KIND_VFIO, "vfio0");
	ref = add(s, MS_DEV_KIND_REF, "ref1");
	watch(s, d, MS_ARC_WATCHED);
	watch(s, ref, MS_ARC_REFERENCE);
	for (size_t i = 0; i < NR_ARCS; i++)
		arc(s, MS_EV_DEV_STATE, d, save_resume[i][0], save_resume[i][1], 0);
	for (size_t i = 1; i < NR_ARCS; i++)
		arc(s, MS_EV_KERNEL_ARC, d, save_resume[i][0], save_resume[i][1], 0);
	assert_int_equal(ms_session__end(s, ts += 1000, 0, err, sizeof(err)), 0);
	a = kernel_arcs(s, d);
	assert_string_equal(gets(a, "first_missing"), "RUNNING->PRE_COPY");
	assert_int_equal(ms_session__close_capture(s, err, sizeof(err)), 0);

	r = ms_session__new(&(struct ms_session_opts){ 0 }, err, sizeof(err));
	assert_non_null(r);
	rd = ms_capture_reader__open(keep ? keep : path, err, sizeof(err));
	assert_non_null(rd);
	assert_int_equal(ms_capture_reader__replay(rd, &r->bus, NULL, err, sizeof(err)), 0);
	ms_capture_reader__close(rd);
	b = kernel_arcs(r, d);
	assert_true(json_object_equal(a, b));
	json_object_put(b);
	b = kernel_arcs(r, ref);
	assert_string_equal(gets(b, "why_not"), "reference device: no kernel arcs");
	json_object_put(a);
	json_object_put(b);
	ms_session__free(s);
	ms_session__free(r);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_driven_arc_seen_by_the_kernel_is_a_match),
		cmocka_unit_test(a_missing_and_an_extra_arc_make_a_visible_mismatch),
		cmocka_unit_test(
		    a_failed_arc_matches_the_kernel_s_failed_arc_and_a_reset_is_not_driven),
		cmocka_unit_test(devices_the_kernel_cannot_see_say_why_instead_of_a_mismatch),
		cmocka_unit_test(without_an_arc_watch_the_report_has_no_kernel_arcs),
		cmocka_unit_test(the_check_replays_from_a_capture),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
