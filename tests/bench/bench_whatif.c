// SPDX-License-Identifier: GPL-2.0-only
/*
 * What-if accuracy: one profile recorded at 128 MiB/s and 300 ms predicts a
 * grid of bandwidths x downtime limits x REINIT policies; each is also run
 * live with the same seed.  BENCH whatif_error_pct is the largest relative
 * error of the predicted VM downtime over the settings the recording can
 * answer (the others are counted, not guessed).
 */
#include "../whatif_grid.h"

#define MS 1000000ull

int main(void)
{
	static const char *const devs[] = {
		"ref:state=256M,dirty=60M/s,ws=1G",
		"ref:state=64M,dirty=8M/s,ws=256M,reinit=1",
	};
	const struct wg_setting rec = { 128ull << 20, 300 * MS, 1, 1 };
	const uint64_t bws[] = { 96ull << 20, 128ull << 20, 192ull << 20, 256ull << 20 };
	const uint64_t limits[] = { 200 * MS, 300 * MS, 600 * MS, 1000 * MS };
	char cap[] = "/tmp/bench_whatif-XXXXXX";
	unsigned int answered = 0, total = 0;
	double worst = 0;
	int fd = mkstemp(cap);
	struct json_object *r;

	if (fd < 0 || !(r = wg_profile(devs, 2, &rec, cap))) {
		fprintf(stderr, "bench_whatif: failed to record the profile\n");
		return 1;
	}
	close(fd);
	json_object_put(r);
	for (size_t b = 0; b < 4; b++)
		for (size_t l = 0; l < 4; l++)
			for (int re = 1; re >= 0; re--) {
				struct wg_setting st = { bws[b], limits[l], 1, re };
				struct json_object *pred = wg_whatif(cap, &st);
				struct json_object *live = wg_profile(devs, 2, &st, NULL);
				double p, lv, e;

				if (!pred || !live) {
					fprintf(stderr, "bench_whatif: a run failed\n");
					return 1;
				}
				total++;
				p = wg_num(pred, "predicted", "downtime_ms");
				lv = wg_num(live, "migration", "downtime_ms");
				if (!isnan(p)) {
					answered++;
					e = fabs(p - lv) / lv * 100.0;
					worst = e > worst ? e : worst;
					printf("# %3llu MiB/s %4llu ms reinit %-3s: predicted "
					       "%7.1f ms, "
					       "live %7.1f ms, %4.1f %%\n",
					       (unsigned long long)(bws[b] >> 20),
					       (unsigned long long)(limits[l] / MS),
					       re ? "on" : "off", p, lv, e);
				} else {
					printf("# %3llu MiB/s %4llu ms reinit %-3s: cannot answer "
					       "(live "
					       "%7.1f ms)\n",
					       (unsigned long long)(bws[b] >> 20),
					       (unsigned long long)(limits[l] / MS),
					       re ? "on" : "off", lv);
				}
				json_object_put(pred);
				json_object_put(live);
			}
	unlink(cap);
	printf("BENCH whatif_error_pct %.1f %% (max over %u answered settings of %u; recorded "
	       "at 128 MiB/s, 300 ms; target 10)\n",
	       worst, answered, total);
	return 0;
}
