// SPDX-License-Identifier: GPL-2.0-only
/*
 * The dirty tracker over a 4 TiB tracked span at 4 KiB pages, on one core,
 * each figure beside a baseline measured in the same run:
 *
 *   tracker_ingest_mrec_per_s_{clustered,random}: DMA write records of
 *     4-32 KiB published on a bus whose only subscriber is the tracker, against
 *     a flat bitmap of the span (128 MiB, already faulted in) set bit by bit.
 *     Clustered: each record follows the previous one, and one in 16 starts
 *     somewhere new (a device filling buffers); random: every record anywhere.
 *     ratio = tracker / flat (above 1: the tracker is faster).
 *   tracker_harvest_speedup_vs_flat: read-and-clear of the whole span with
 *     0.01 % of its pages dirty (107374 random pages), into a VFIO bitmap, by
 *     the tracker (export + the MS_EV_HARVEST that clears, checks and folds),
 *     against scanning the flat bitmap for set words, copying and clearing them.
 *   tracker_bytes_per_dirty_page: memory the tracker holds for that device at
 *     that density, per dirty page, against the flat bitmap's 128 MiB.
 *     ratio = flat / tracker.
 *
 * MIGSCOPE_BENCH_RECORDS overrides the number of records per ingest run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <migscope/bus.h>
#include <migscope/devices.h>
#include <migscope/rand.h>
#include <migscope/tracker.h>

#define PS 4096ull
#define SPAN (4ull << 40)
#define SPAN_PAGES (SPAN / PS)
#define FLAT_WORDS (SPAN_PAGES / 64)
#define RUNS 3

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A tracker on its own bus, with device 0 tracking the whole span. */
struct rig {
	struct ms_devices devs;
	struct ms_bus bus;
	struct ms_tracker *t;
};

static void rig_init(struct rig *r)
{
	struct {
		struct ms_ev_track_start t;
		struct ms_range r;
	} ts;

	ms_devices__init(&r->devs);
	ms_bus__init(&r->bus);
	r->t = ms_tracker__new(&r->devs);
	if (!r->t || ms_tracker__subscribe(r->t, &r->bus))
		exit(1);
	memset(&ts, 0, sizeof(ts));
	MS_EVENT_INIT(&ts.t, MS_EV_TRACK_START, ms_ev_track_start, 0, 1);
	ts.t.hdr.len += sizeof(ts.r);
	ts.t.page_size = PS;
	ts.t.nr_ranges = 1;
	ts.r.iova = 0;
	ts.r.len = SPAN;
	ms_bus__publish(&r->bus, &ts.t.hdr);
}

static void rig_free(struct rig *r)
{
	ms_tracker__free(r->t);
	ms_devices__free(&r->devs);
}

static struct ms_ev_dma_write *make_records(uint64_t n, int clustered, uint64_t seed)
{
	struct ms_ev_dma_write *w = calloc(n, sizeof(*w));
	struct ms_rand rnd;
	uint64_t cursor = 0;

	if (!w)
		exit(1);
	ms_rand__seed(&rnd, seed);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t len = PS << ms_rand__below(&rnd, 4); /* 4, 8, 16 or 32 KiB */

		if (!clustered || !ms_rand__below(&rnd, 16) || cursor + len > SPAN)
			cursor = ms_rand__below(&rnd, SPAN_PAGES - 8) * PS;
		MS_EVENT_INIT(&w[i], MS_EV_DMA_WRITE, ms_ev_dma_write, 0, i + 2);
		w[i].iova = cursor;
		w[i].len = len;
		w[i].source = MS_SRC_DMA_UNMAP;
		w[i].dir = 2;
		cursor += len;
	}
	return w;
}

static double ingest_tracker(const struct ms_ev_dma_write *w, uint64_t n)
{
	struct rig r;
	double t0, t1;

	rig_init(&r);
	t0 = now_s();
	for (uint64_t i = 0; i < n; i++)
		ms_bus__publish(&r.bus, &w[i].hdr);
	t1 = now_s();
	rig_free(&r);
	return t1 - t0;
}

static double ingest_flat(const struct ms_ev_dma_write *w, uint64_t n, uint64_t *flat)
{
	double t0, t1;

	memset(flat, 0, FLAT_WORDS * 8);
	t0 = now_s();
	for (uint64_t i = 0; i < n; i++) {
		uint64_t first = w[i].iova / PS, last = (w[i].iova + w[i].len - 1) / PS;

		for (uint64_t p = first; p <= last; p++)
			flat[p / 64] |= 1ull << (p % 64);
	}
	t1 = now_s();
	return t1 - t0;
}

static void bench_ingest(const char *kind, int clustered, uint64_t n, uint64_t *flat)
{
	struct ms_ev_dma_write *w = make_records(n, clustered, clustered ? 1 : 2);
	double best_t = 1e30, best_f = 1e30;

	for (int run = 0; run < RUNS; run++) {
		double t = ingest_tracker(w, n), f = ingest_flat(w, n, flat);

		best_t = t < best_t ? t : best_t;
		best_f = f < best_f ? f : best_f;
	}
	printf("BENCH tracker_ingest_mrec_per_s_%s %.1f Mrec/s baseline=%.1f ratio=%.2f\n", kind,
	       n / best_t / 1e6, n / best_f / 1e6, best_f / best_t);
	free(w);
}

/* 0.01 % of the span's pages, as one-page records from one source. */
static void dirty_sparse(struct rig *r, uint64_t *flat, uint64_t seed)
{
	struct ms_rand rnd;
	struct ms_ev_dma_write w = { 0 };
	uint64_t n = SPAN_PAGES / 10000;

	ms_rand__seed(&rnd, seed);
	MS_EVENT_INIT(&w, MS_EV_DMA_WRITE, ms_ev_dma_write, 0, 2);
	w.len = PS;
	w.source = MS_SRC_DMA_UNMAP;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t p = ms_rand__below(&rnd, SPAN_PAGES);

		w.iova = p * PS;
		ms_bus__publish(&r->bus, &w.hdr);
		flat[p / 64] |= 1ull << (p % 64);
	}
}

static void bench_harvest(uint64_t *flat)
{
	uint64_t *out_t = malloc(FLAT_WORDS * 8), *out_f = malloc(FLAT_WORDS * 8);
	double best_t = 1e30, best_f = 1e30, bytes_per_page = 0;
	uint64_t dirty = 0;
	char err[256];

	if (!out_t || !out_f)
		exit(1);
	for (int run = 0; run < RUNS; run++) {
		struct ms_dirty_summary s;
		struct rig r;
		double t0, t1;

		rig_init(&r);
		memset(flat, 0, FLAT_WORDS * 8);
		dirty_sparse(&r, flat, 100 + run);
		ms_tracker__device_summary(r.t, 0, &s);
		dirty = s.pending_pages;
		bytes_per_page = (double)s.mem_bytes / (double)dirty;

		/* the caller zeroes a VFIO bitmap before a report, for both */
		memset(out_t, 0, FLAT_WORDS * 8);
		memset(out_f, 0, FLAT_WORDS * 8);
		t0 = now_s();
		if (ms_tracker__read_and_clear(r.t, &r.bus, 3, 0, 0, SPAN, PS, out_t, FLAT_WORDS,
					       err, sizeof(err))) {
			fprintf(stderr, "bench_tracker: %s\n", err);
			exit(1);
		}
		t1 = now_s();
		best_t = t1 - t0 < best_t ? t1 - t0 : best_t;

		t0 = now_s();
		for (uint64_t i = 0; i < FLAT_WORDS; i++) {
			uint64_t v = flat[i];

			if (v) {
				out_f[i] |= v;
				flat[i] = 0;
			}
		}
		t1 = now_s();
		best_f = t1 - t0 < best_f ? t1 - t0 : best_f;

		/* both read the same pages, and the tracker has none left pending */
		ms_tracker__device_summary(r.t, 0, &s);
		if (memcmp(out_t, out_f, FLAT_WORDS * 8) || s.pending_pages) {
			fprintf(stderr, "bench_tracker: harvests differ\n");
			exit(1);
		}
		rig_free(&r);
	}
	printf("# harvest of %llu dirty pages over 4 TiB: tracker %.3f ms, flat scan %.3f ms\n",
	       (unsigned long long)dirty, best_t * 1e3, best_f * 1e3);
	printf("BENCH tracker_harvest_speedup_vs_flat %.1f x baseline=1.0 ratio=%.1f\n",
	       best_f / best_t, best_f / best_t);
	printf("BENCH tracker_bytes_per_dirty_page %.1f B baseline=%.1f ratio=%.1f\n",
	       bytes_per_page, (double)(FLAT_WORDS * 8) / dirty,
	       (double)(FLAT_WORDS * 8) / dirty / bytes_per_page);
	free(out_t);
	free(out_f);
}

int main(void)
{
	uint64_t *flat = malloc(FLAT_WORDS * 8);
	const char *env = getenv("MIGSCOPE_BENCH_RECORDS");
	uint64_t n = env ? strtoull(env, NULL, 0) : 4000000;

	if (!flat || !n)
		return 1;
	bench_ingest("clustered", 1, n, flat);
	bench_ingest("random", 0, n, flat);
	bench_harvest(flat);
	free(flat);
	return 0;
}
