// SPDX-License-Identifier: GPL-2.0-only
/*
 * What a scrape of watch --listen costs the watch's loop: the JSON report
 * built (ms_report__json, which a scrape needs anyway) and the exposition
 * rendered from it, for sessions of 2 and 64 synthetic devices.  Baseline, same
 * run: the report built and printed as --json would.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <migscope/json.h>
#include <migscope/openmetrics.h>
#include <migscope/report.h>
#include <migscope/session.h>
#include <migscope/synth.h>

#define RUNS 50

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int bench(uint32_t devices)
{
	struct ms_synth_opts so = { .seed = 1, .devices = devices, .events = 1000000 };
	struct ms_session_opts o = { 0 };
	double best_scrape = 1e30, best_json = 1e30;
	char err[MS_ERR_LEN];
	struct ms_session *s = ms_session__new(&o, err, sizeof(err));
	size_t bytes = 0;
	FILE *null = fopen("/dev/null", "w");

	if (!s || !null) {
		fprintf(stderr, "bench_metrics: %s\n", s ? "no /dev/null" : err);
		return 1;
	}
	ms_synth__run(&s->stream, &so);
	for (int i = 0; i < RUNS; i++) {
		double t0 = now_s(), t1, t2, t3;
		struct json_object *r = ms_report__json(&s->view);
		char *buf;
		size_t len;

		if (ms_om__render(r, NULL, MS_OM_OPENMETRICS, &buf, &len))
			return 1;
		t1 = now_s();
		json_object_put(r);
		free(buf);
		bytes = len;
		t2 = now_s();
		r = ms_report__json(&s->view);
		ms_json_print(null, r);
		t3 = now_s();
		json_object_put(r);
		best_scrape = t1 - t0 < best_scrape ? t1 - t0 : best_scrape;
		best_json = t3 - t2 < best_json ? t3 - t2 : best_json;
	}
	printf("BENCH metrics_scrape_%udev_ms %.3f ms baseline=%.3f ratio=%.2f (%u devices, 1M "
	       "records; report + OpenMetrics, %zu bytes; baseline: report + --json)\n",
	       devices, best_scrape * 1e3, best_json * 1e3, best_scrape / best_json, devices,
	       bytes);
	fclose(null);
	ms_session__free(s);
	return 0;
}

int main(void)
{
	return bench(2) || bench(64);
}
