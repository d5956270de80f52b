/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What-if against reality, shared by tests/unit/test_whatif.c and
 * tests/bench/bench_whatif.c: record a profile at one setting, predict
 * another from the capture, run the profile live at that setting with the
 * same seed, and compare.
 */
#ifndef MIGSCOPE_WHATIF_GRID_H
#define MIGSCOPE_WHATIF_GRID_H

#include <math.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <migscope/capture.h>
#include <migscope/devspec.h>
#include <migscope/profile.h>
#include <migscope/report.h>
#include <migscope/session.h>
#include <migscope/whatif.h>

struct wg_setting {
	uint64_t bps, limit_ns;
	int ack, reinit;
};

static double wg_num(struct json_object *o, const char *a, const char *b)
{
	struct json_object *x, *y;

	if (!json_object_object_get_ex(o, a, &x) || !json_object_object_get_ex(x, b, &y))
		return NAN;
	return json_object_get_double(y);
}

/* Run the profile of the device specs at a setting; its JSON report (NULL on failure). */
static struct json_object *wg_profile(const char *const *devs, size_t n,
				      const struct wg_setting *st, const char *record)
{
	struct ms_devspec specs[8];
	struct ms_profile_opts po = { .seed = 3 };
	struct ms_session_opts so = { .record_path = record };
	struct ms_profile_result res;
	struct json_object *rep = NULL;
	char err[MS_ERR_LEN];
	struct ms_session *s;

	for (size_t i = 0; i < n; i++)
		if (ms_devspec__parse(devs[i], &specs[i], err, sizeof(err))) {
			fprintf(stderr, "%s\n", err);
			return NULL;
		}
	po.specs = specs;
	po.nr_specs = n;
	po.bandwidth_bps = st->bps;
	po.downtime_limit_ns = st->limit_ns;
	po.no_ack = !st->ack;
	po.no_reinit = !st->reinit;
	s = ms_session__new(&so, err, sizeof(err));
	if (!s)
		return NULL;
	if (ms_profile__run(&s->stream, &po, &res) == 0 &&
	    ms_session__end(s, res.end_ns, 0, err, sizeof(err)) == 0)
		rep = ms_report__json(&s->view);
	ms_session__free(s);
	return rep;
}

/* The what-if report of a capture at a setting (NULL when it fails). */
static struct json_object *wg_whatif(const char *capture, const struct wg_setting *st)
{
	struct ms_whatif_opts o = {
		.bps = st->bps, .limit_ns = st->limit_ns, .ack = st->ack, .reinit = st->reinit
	};
	struct ms_session_opts so = { 0 };
	struct ms_whatif_result res;
	struct json_object *out = NULL;
	struct ms_capture_reader *r;
	struct ms_session *s;
	struct ms_whatif w;
	char err[MS_ERR_LEN];

	r = ms_capture_reader__open(capture, err, sizeof(err));
	if (!r)
		return NULL;
	so.info = ms_capture_reader__info(r);
	s = ms_session__new(&so, err, sizeof(err));
	ms_whatif__init(&w);
	if (s && !ms_whatif__subscribe(&w, &s->bus) &&
	    !ms_capture_reader__replay(r, &s->bus, NULL, err, sizeof(err)) &&
	    !ms_whatif__predict(&w, ms_telemetry__config_at(&s->telemetry, w.decided_ts), &o, &res))
		out = ms_report__whatif(&s->view, &res);
	ms_whatif__free(&w);
	ms_session__free(s);
	ms_capture_reader__close(r);
	return out;
}

#endif
