// SPDX-License-Identifier: GPL-2.0-only
/*
 * The dirty tracker over a 4 TiB tracked span at 4 KiB pages, on one core,
 * each figure beside a baseline measured in the same run:
 *
 *   tracker_ingest_mrec_per_s_{clustered,random}: DMA write records of
 *     4-32 KiB published on a bus whose only subscriber is the tracker, in
 *     batches of MS_BUS_BATCH as the ring and capture readers publish them
 *     (record by record printed beside it), against
 *     the naive tracker: a subscriber on the same bus setting them bit by bit
 *     in a flat bitmap of the span (128 MiB, allocated when tracking starts,
 *     faulted in as it is written, as the tracker's own memory is).  Clustered:
 *     each record follows the previous one, and one in 16 starts somewhere new
 *     (a device filling buffers); random: every record anywhere in the span.
 *     ratio = tracker / flat (above 1: the tracker is faster).
 *   tracker_harvest_speedup_vs_flat: read-and-clear of the whole span with
 *     0.01 % of its pages dirty (107374 random pages): the tracker's
 *     MS_EV_HARVEST (count the dirty pages, check the sources, clear), against
 *     scanning the flat bitmap for set words, counting and clearing them.
 *   tracker_harvest_crosscheck_speedup_vs_flat: the same, with every page
 *     reported by two sources (DMA unmap and virtio write records, as the
 *     reference device publishes them), so the harvest also checks each
 *     source against the other; against a flat tracker doing the same (one
 *     flat bitmap per source: both differences, the union count, clear).
 *   tracker_export_vfio_speedup_vs_flat: the same state written out as a VFIO
 *     bitmap of the span (128 MiB, zeroed by the caller), against the scan
 *     copying the flat bitmap's set words into one.  Touching the 32768 pages
 *     of the output bounds this one.
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
#include <migscope/rand.h>
#include <migscope/tracker.h>

#define PS	   4096ull
#define SPAN	   (4ull << 40)
#define SPAN_PAGES (SPAN / PS)
#define FLAT_WORDS (SPAN_PAGES / 64)
#define RUNS	   4

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A tracker on its own bus, with device 0 tracking the whole span. */
struct rig {
	struct ms_bus bus;
	struct ms_tracker *t;
};

static void rig_init(struct rig *r)
{
	struct {
		struct ms_ev_track_start t;
		struct ms_range r;
	} ts;

	ms_bus__init(&r->bus);
	r->t = ms_tracker__new();
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

/* Record by record, or (batched) as the ring and capture readers publish: MS_BUS_BATCH at a time. */
static double ingest_tracker(const struct ms_ev_dma_write *w, uint64_t n, int batched)
{
	const struct ms_event_hdr *batch[MS_BUS_BATCH];
	struct rig r;
	double t0, t1;

	rig_init(&r);
	t0 = now_s();
	if (batched) {
		for (uint64_t i = 0; i < n; i += MS_BUS_BATCH) {
			uint64_t k = n - i < MS_BUS_BATCH ? n - i : MS_BUS_BATCH;

			for (uint64_t j = 0; j < k; j++)
				batch[j] = &w[i + j].hdr;
			ms_bus__publish_batch(&r.bus, batch, k);
		}
	} else {
		for (uint64_t i = 0; i < n; i++)
			ms_bus__publish(&r.bus, &w[i].hdr);
	}
	t1 = now_s();
	rig_free(&r);
	return t1 - t0;
}

/* The naive tracker: every page of every record, one bit at a time. */
static void flat_on_write(void *ctx, const struct ms_event_hdr *ev)
{
	const struct ms_ev_dma_write *w = (const void *)ev;
	uint64_t *flat = ctx, first = w->iova / PS, last = (w->iova + w->len - 1) / PS;

	for (uint64_t p = first; p <= last; p++)
		flat[p / 64] |= 1ull << (p % 64);
}

static double ingest_flat(const struct ms_ev_dma_write *w, uint64_t n)
{
	struct ms_bus bus;
	uint64_t *flat;
	double t0, t1;

	ms_bus__init(&bus);
	t0 = now_s();
	flat = calloc(FLAT_WORDS, 8);
	if (!flat)
		exit(1);
	ms_bus__subscribe(&bus, MS_EV_BIT(MS_EV_DMA_WRITE), flat_on_write, flat);
	for (uint64_t i = 0; i < n; i++)
		ms_bus__publish(&bus, &w[i].hdr);
	t1 = now_s();
	free(flat);
	return t1 - t0;
}

static void bench_ingest(const char *kind, int clustered, uint64_t n)
{
	struct ms_ev_dma_write *w = make_records(n, clustered, clustered ? 1 : 2);
	double best_t = 1e30, best_f = 1e30, best_r = 1e30;

	for (int run = 0; run < RUNS; run++) {
		/* in turns, first one then the other: the first run after the flat one pays more faults */
		double r = run & 1 ? ingest_tracker(w, n, 0) : 0, t = ingest_tracker(w, n, 1),
		       f = ingest_flat(w, n);

		if (!(run & 1))
			r = ingest_tracker(w, n, 0);

		best_t = t < best_t ? t : best_t;
		best_f = f < best_f ? f : best_f;
		best_r = r < best_r ? r : best_r;
	}
	printf("BENCH tracker_ingest_mrec_per_s_%s %.1f Mrec/s baseline=%.1f ratio=%.2f\n", kind,
	       n / best_t / 1e6, n / best_f / 1e6, best_f / best_t);
	printf("#   %s record by record: %.1f Mrec/s (batched / record by record %.2f)\n", kind,
	       n / best_r / 1e6, best_r / best_t);
	free(w);
}

/* 0.01 % of the span's pages, as one-page records from one source (or two). */
static void dirty_sparse(struct rig *r, uint64_t *flat, uint64_t seed, int two)
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
		w.source = MS_SRC_DMA_UNMAP;
		ms_bus__publish(&r->bus, &w.hdr);
		if (two) {
			w.source = MS_SRC_VIRTIO_WR;
			ms_bus__publish(&r->bus, &w.hdr);
		}
		flat[p / 64] |= 1ull << (p % 64);
	}
}

/* One harvest record over the span, timed. */
static double time_harvest(struct rig *r)
{
	struct ms_ev_harvest h = { 0 };
	double t0;

	MS_EVENT_INIT(&h, MS_EV_HARVEST, ms_ev_harvest, 0, 3);
	h.len = SPAN;
	h.page_size = PS;
	t0 = now_s();
	ms_bus__publish(&r->bus, &h.hdr);
	return now_s() - t0;
}

/* The flat bitmap's read-and-clear: scan, count, clear. */
static double time_flat_harvest(uint64_t *flat, uint64_t *count)
{
	double t0 = now_s();

	*count = 0;
	for (uint64_t i = 0; i < FLAT_WORDS; i++) {
		uint64_t v = flat[i];

		if (v) {
			*count += (uint64_t)__builtin_popcountll(v);
			flat[i] = 0;
		}
	}
	return now_s() - t0;
}

/* The flat tracker's cross-checked read-and-clear of two sources' bitmaps. */
static double time_flat_crosscheck(uint64_t *a, uint64_t *b, uint64_t *count, uint64_t *missed)
{
	double t0 = now_s();

	*count = *missed = 0;
	for (uint64_t i = 0; i < FLAT_WORDS; i++) {
		uint64_t x = a[i], y = b[i];

		if (x | y) {
			*count += (uint64_t)__builtin_popcountll(x | y);
			*missed += (uint64_t)__builtin_popcountll(x & ~y) +
				   (uint64_t)__builtin_popcountll(y & ~x);
			a[i] = b[i] = 0;
		}
	}
	return now_s() - t0;
}

static void bench_harvest_crosscheck(uint64_t *flat)
{
	uint64_t *flat2 = malloc(FLAT_WORDS * 8);
	double best_h = 1e30, best_s = 1e30;

	if (!flat2)
		exit(1);
	for (int run = 0; run < RUNS; run++) {
		struct ms_dirty_summary s;
		uint64_t count, missed;
		struct rig r;
		double t;

		rig_init(&r);
		memset(flat, 0, FLAT_WORDS * 8);
		dirty_sparse(&r, flat, 200 + run, 1);
		memcpy(flat2, flat, FLAT_WORDS * 8);
		t = time_harvest(&r);
		best_h = t < best_h ? t : best_h;
		t = time_flat_crosscheck(flat, flat2, &count, &missed);
		best_s = t < best_s ? t : best_s;
		ms_tracker__device_summary(r.t, 0, &s);
		if (s.harvested_pages != count || s.pending_pages ||
		    s.discrepancy_pages != missed) {
			fprintf(stderr, "bench_tracker: cross-checked harvests differ\n");
			exit(1);
		}
		rig_free(&r);
	}
	printf("# cross-checked harvest %.3f ms, flat (two bitmaps) %.3f ms\n", best_h * 1e3,
	       best_s * 1e3);
	free(flat2);
	printf("BENCH tracker_harvest_crosscheck_speedup_vs_flat %.1f x baseline=1.0 ratio=%.1f\n",
	       best_s / best_h, best_s / best_h);
}

static void bench_harvest(uint64_t *flat)
{
	uint64_t *out_t = malloc(FLAT_WORDS * 8), *out_f = malloc(FLAT_WORDS * 8);
	double best_h = 1e30, best_s = 1e30, best_x = 1e30, best_c = 1e30, bytes_per_page = 0;
	uint64_t dirty = 0;
	char err[256];

	if (!out_t || !out_f)
		exit(1);
	for (int run = 0; run < RUNS; run++) {
		struct ms_dirty_summary s;
		uint64_t count = 0;
		struct rig r;
		double t0, t1, t;

		rig_init(&r);
		memset(flat, 0, FLAT_WORDS * 8);
		dirty_sparse(&r, flat, 100 + run, 0);
		ms_tracker__device_summary(r.t, 0, &s);
		dirty = s.pending_pages;
		bytes_per_page = (double)s.mem_bytes / (double)dirty;

		/* the VFIO export, into a bitmap the caller zeroed, for both */
		memset(out_t, 0, FLAT_WORDS * 8);
		memset(out_f, 0, FLAT_WORDS * 8);
		t0 = now_s();
		if (ms_tracker__export(r.t, 0, 0, SPAN, PS, out_t, FLAT_WORDS, err, sizeof(err))) {
			fprintf(stderr, "bench_tracker: %s\n", err);
			exit(1);
		}
		t1 = now_s();
		best_x = t1 - t0 < best_x ? t1 - t0 : best_x;
		t0 = now_s();
		for (uint64_t i = 0; i < FLAT_WORDS; i++)
			if (flat[i])
				out_f[i] |= flat[i];
		t1 = now_s();
		best_c = t1 - t0 < best_c ? t1 - t0 : best_c;
		if (memcmp(out_t, out_f, FLAT_WORDS * 8)) {
			fprintf(stderr, "bench_tracker: exports differ\n");
			exit(1);
		}

		/* the read-and-clear: the harvest record, against scan-count-clear */
		t = time_harvest(&r);
		best_h = t < best_h ? t : best_h;
		t = time_flat_harvest(flat, &count);
		best_s = t < best_s ? t : best_s;

		/* both took the same pages, and the tracker has none left pending */
		ms_tracker__device_summary(r.t, 0, &s);
		if (s.harvested_pages != count || s.pending_pages) {
			fprintf(stderr, "bench_tracker: harvests differ\n");
			exit(1);
		}
		rig_free(&r);
	}
	printf("# %llu dirty pages over 4 TiB: harvest %.3f ms, flat scan-and-clear %.3f ms; "
	       "VFIO export %.3f ms, flat scan-and-copy %.3f ms\n",
	       (unsigned long long)dirty, best_h * 1e3, best_s * 1e3, best_x * 1e3, best_c * 1e3);
	printf("BENCH tracker_harvest_speedup_vs_flat %.1f x baseline=1.0 ratio=%.1f\n",
	       best_s / best_h, best_s / best_h);
	printf("BENCH tracker_export_vfio_speedup_vs_flat %.1f x baseline=1.0 ratio=%.1f\n",
	       best_c / best_x, best_c / best_x);
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
	bench_ingest("clustered", 1, n);
	bench_ingest("random", 0, n);
	bench_harvest(flat);
	bench_harvest_crosscheck(flat);
	free(flat);
	return 0;
}
