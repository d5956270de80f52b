// SPDX-License-Identifier: GPL-2.0-only
/*
 * What-if replay against reality: a profile recorded at one setting predicts
 * another, and the profile run live at that setting with the same seed must
 * agree within 10 % on the VM downtime and every device's; where the
 * recording cannot answer, the what-if says so instead of guessing.  The
 * real component here is the profile driver on reference devices (virtual
 * clock); no QEMU takes part.
 */
#include <errno.h>
#include <unistd.h>

#include "testutil.h"
#include "../whatif_grid.h"

#define MS 1000000ull
static const char *const devs[] = {
	"ref:state=64M,dirty=15M/s,ws=256M",
	"ref:state=16M,dirty=2M/s,ws=64M,reinit=1",
};

static double rel_err(double pred, double live)
{
	return fabs(pred - live) / live * 100.0;
}

static void predicted_downtime_is_within_10_percent_of_the_live_run(void **state)
{
	const struct wg_setting rec = { 32ull << 20, 300 * MS, 1, 1 };
	const struct wg_setting grid[] = {
		{ 32ull << 20, 300 * MS, 1, 1 }, /* itself: exact */
		{ 32ull << 20, 600 * MS, 1, 1 }, { 32ull << 20, 1000 * MS, 1, 1 },
		{ 48ull << 20, 300 * MS, 1, 1 }, { 64ull << 20, 200 * MS, 1, 1 },
		{ 64ull << 20, 600 * MS, 1, 0 }, { 48ull << 20, 600 * MS, 0, 1 },
	};
	char *cap = tu_tmp_path(".mscap");
	struct json_object *live, *pred;
	double worst = 0;

	live = wg_profile(devs, 2, &rec, cap);
	assert_non_null(live);
	json_object_put(live);
	for (size_t g = 0; g < sizeof(grid) / sizeof(grid[0]); g++) {
		struct json_object *pd, *ld;
		double p, l;

		pred = wg_whatif(cap, &grid[g]);
		live = wg_profile(devs, 2, &grid[g], NULL);
		assert_non_null(pred);
		assert_non_null(live);
		if (!json_object_get_boolean(json_object_object_get(pred, "answerable")))
			fail_msg("setting %zu: %s", g,
				 json_object_get_string(json_object_object_get(pred, "reason")));
		p = wg_num(pred, "predicted", "downtime_ms");
		l = wg_num(live, "migration", "downtime_ms");
		printf("setting %zu (%llu MiB/s, %llu ms, ack %d, reinit %d): predicted %.1f ms, "
		       "live %.1f ms (%.1f %%)\n",
		       g, (unsigned long long)(grid[g].bps >> 20),
		       (unsigned long long)(grid[g].limit_ns / MS), grid[g].ack, grid[g].reinit, p,
		       l, rel_err(p, l));
		if (rel_err(p, l) > 10.0)
			fail_msg("setting %zu: predicted %.1f ms, live %.1f ms", g, p, l);
		if (g == 0) /* the recorded setting predicts the recording itself */
			assert_true(rel_err(p, l) < 0.001);
		worst = rel_err(p, l) > worst ? rel_err(p, l) : worst;
		/* and every device's */
		pd = json_object_object_get(pred, "devices");
		for (size_t i = 0; i < json_object_array_length(pd); i++) {
			struct json_object *d = json_object_array_get_idx(pd, i);
			uint32_t id =
			    (uint32_t)json_object_get_int64(json_object_object_get(d, "id"));

			ld = ms_report__device(live, id);
			assert_non_null(ld);
			p = wg_num(d, "predicted", "downtime_ms");
			l = json_object_get_double(json_object_object_get(ld, "downtime_ms"));
			if (rel_err(p, l) > 10.0)
				fail_msg("setting %zu device %u: predicted %.1f ms, live %.1f ms",
					 g, id, p, l);
		}
		json_object_put(pred);
		json_object_put(live);
	}
	printf("worst error %.1f %%\n", worst);
	unlink(cap);
	free(cap);
}

static void a_switchover_after_the_recorded_rounds_cannot_be_answered(void **state)
{
	const struct wg_setting rec = { 64ull << 20, 1000 * MS, 1, 1 };
	const struct wg_setting tighter = { 64ull << 20, 100 * MS, 1, 1 };
	char *cap = tu_tmp_path(".mscap");
	struct json_object *rep = wg_profile(devs, 2, &rec, cap), *pred;

	assert_non_null(rep);
	json_object_put(rep);
	pred = wg_whatif(cap, &tighter);
	assert_non_null(pred);
	assert_false(json_object_get_boolean(json_object_object_get(pred, "answerable")));
	assert_non_null(strstr(json_object_get_string(json_object_object_get(pred, "reason")),
			       "cannot answer"));
	assert_null(json_object_object_get(pred, "predicted"));
	json_object_put(pred);
	unlink(cap);
	free(cap);
}

static void a_capture_without_a_decision_is_a_clear_error(void **state)
{
	struct ms_whatif w;
	struct ms_whatif_opts o = { .ack = -1, .reinit = 1 };
	struct ms_whatif_result res;

	ms_whatif__init(&w);
	assert_int_equal(ms_whatif__predict(&w, NULL, &o, &res), -EINVAL);
	assert_non_null(strstr(res.reason, "no switchover decision"));
	ms_whatif__free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(predicted_downtime_is_within_10_percent_of_the_live_run),
		cmocka_unit_test(a_switchover_after_the_recorded_rounds_cannot_be_answered),
		cmocka_unit_test(a_capture_without_a_decision_is_a_clear_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
