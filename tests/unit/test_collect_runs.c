// SPDX-License-Identifier: GPL-2.0-only
/*
 * Coalescing in the kernel (bpf/runs.bpf.h), in the real kernel: the DMA and
 * IOMMU programs run by bpf_prog_test_run on a CPU the test names
 * (BPF_F_TEST_RUN_ON_CPU), in bursts the test also replays into a reference
 * set of bytes.  At every harvest (ms_collect__poll: the forced flush of
 * every CPU, then the ring) the records delivered since the last one cover
 * exactly the bytes written since the last one: no byte lost, none moved
 * past the harvest that it preceded, and the records' counts add up to the
 * events.  Then the coalesced stream, through a capture file, replays to the
 * same dirty set as the uncoalesced events.
 */
#include <sched.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include <migscope/capture.h>
#include <migscope/tracker.h>

#include "collect_fx.h"

#define FROM_DEV MS_DMA_FROM_DEVICE
#define BIDIR	 MS_DMA_BIDIRECTIONAL

/* The bytes the bursts write: a 16 MiB IOVA space per device, in 256-byte granules. */
#define SPACE	(16ull << 20)
#define GRAIN	256ull
#define NGRAINS (SPACE / GRAIN)
#define WINDOW	200000ull /* run window of these tests: 200 us */
#define NR_DEV	2

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(uint64_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state % n;
}

/* Run collector program name once on CPU cpu with the given tracepoint arguments. */
static void run_on(struct fx *f, int cpu, const char *name, const uint64_t *args, size_t n)
{
	int fd = ms_collect__prog_fd(f->c, name);
	LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = args, .ctx_size_in = n * sizeof(*args),
		    .flags = BPF_F_TEST_RUN_ON_CPU, .cpu = (__u32)cpu);

	assert_true(fd >= 0);
	assert_int_equal(bpf_prog_test_run_opts(fd, &o), 0);
}

static void unmap_on(struct fx *f, int cpu, uint64_t kdev, uint64_t iova, uint64_t len, int dir)
{
	const uint64_t a[] = { kdev, iova, len, (uint64_t)dir, 0 };

	run_on(f, cpu, "dma_unmap_phys", a, 5);
}

static void sync_on(struct fx *f, int cpu, uint64_t kdev, uint64_t iova, uint64_t len, int dir)
{
	const uint64_t a[] = { kdev, iova, len, (uint64_t)dir };

	run_on(f, cpu, "dma_sync_single_for_cpu", a, 4);
}

struct ref {
	uint8_t want[NR_DEV][NGRAINS]; /* bytes written since the last harvest, by granule */
	uint8_t got[NR_DEV][NGRAINS];  /* bytes the records delivered since then cover */
	uint64_t events[NR_DEV], counted[NR_DEV];
	size_t seen;	/* records of the recorder already checked */
	uint64_t since; /* CLOCK_MONOTONIC before the first write since the last harvest */
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void mark(uint8_t *g, uint64_t iova, uint64_t len)
{
	for (uint64_t i = iova / GRAIN; i < (iova + len) / GRAIN; i++)
		g[i] = 1;
}

/*
 * A harvest: flush and read the ring, then the records since the last
 * harvest must cover exactly what was written since, and count its events.
 */
static void harvest(struct fx *f, struct ref *r, const uint32_t *ids)
{
	uint64_t until;
	size_t n;

	assert_true(ms_collect__poll(f->c) >= 0);
	until = mono_ns();
	n = fx_count(f, MS_EV_DMA_WRITE);
	for (; r->seen < n; r->seen++) {
		const struct ms_ev_dma_write *w = fx_nth(f, MS_EV_DMA_WRITE, r->seen);
		int d = w->hdr.dev == ids[0] ? 0 : 1;

		assert_true(w->hdr.dev == ids[d]);
		assert_int_equal(w->hdr.len, MS_PAYLOAD_LEN(ms_ev_dma_write));
		assert_true(w->run.count >= 1);
		/* every event of the run lies in [ts - span, ts], and all of them in this harvest
		 */
		assert_true(w->hdr.ts_ns - w->run.span_ns >= r->since);
		assert_true(w->hdr.ts_ns <= until);
		assert_true(w->iova + w->len <= SPACE && w->len);
		mark(r->got[d], w->iova, w->len);
		r->counted[d] += w->run.count;
	}
	for (int d = 0; d < NR_DEV; d++) {
		assert_memory_equal(r->want[d], r->got[d], NGRAINS);
		assert_int_equal(r->counted[d], r->events[d]);
		memset(r->want[d], 0, NGRAINS);
		memset(r->got[d], 0, NGRAINS);
		r->events[d] = r->counted[d] = 0;
	}
	assert_int_equal(fx_count(f, MS_EV_LOSS), 0);
	r->since = mono_ns();
}

/* One write of device d on cpu, into the reference too. */
static void write_on(struct fx *f, struct ref *r, const uint64_t *kdev, int d, int cpu,
		     uint64_t iova, uint64_t len, int kind)
{
	if (kind == 2)
		sync_on(f, cpu, kdev[d], iova, len, BIDIR);
	else
		unmap_on(f, cpu, kdev[d], iova, len, kind ? BIDIR : FROM_DEV);
	mark(r->want[d], iova, len);
	r->events[d]++;
}

static int fx_open_two(struct fx *f, const struct ms_collect_opts *o, uint32_t *ids, uint64_t *kdev)
{
	const char *names[NR_DEV] = { FX_DEV_NAME, "0000:3b:00.3" };

	if (fx_open_names(f, o, names, NR_DEV, ids))
		return 1;
	kdev[0] = kmem_device(&f->k, names[0], 7);
	kdev[1] = kmem_device(&f->k, names[1], 9);
	assert_true(kdev[0] && kdev[1]);
	return 0;
}

/* A device filling its next buffers, one CPU: one record of all of them. */
static void clustered_burst_is_one_record_counting_its_events(void **state)
{
	struct ms_collect_opts o = { .run_window_ns = 1000000000ull };
	const struct ms_ev_dma_write *w;
	struct fx f;

	if (fx_open(&f, &o))
		return;
	for (int i = 0; i < 64; i++)
		unmap_on(&f, 0, f.kdev, 0x100000 + (uint64_t)i * 0x800, 0x800, FROM_DEV);
	assert_int_equal(ms_collect__poll(f.c), 1);
	w = fx_nth(&f, MS_EV_DMA_WRITE, 0);
	fx_assert_write(w, f.dev, 0x100000, 64 * 0x800, MS_SRC_DMA_UNMAP, FROM_DEV);
	assert_int_equal(w->run.count, 64);
	assert_true(w->run.span_ns > 0 && w->run.span_ns < 1000000000u);
	/* a different direction, source or device breaks the run: a record each */
	unmap_on(&f, 0, f.kdev, 0x200000, 0x1000, FROM_DEV);
	unmap_on(&f, 0, f.kdev, 0x201000, 0x1000, BIDIR);
	sync_on(&f, 0, f.kdev, 0x202000, 0x1000, BIDIR);
	unmap_on(&f, 0, f.kdev, 0x204000, 0x1000, BIDIR); /* a gap */
	assert_int_equal(ms_collect__poll(f.c), 4);
	for (size_t i = 1; i < 5; i++)
		assert_int_equal(
		    ((const struct ms_ev_dma_write *)fx_nth(&f, MS_EV_DMA_WRITE, i))->run.count, 1);
	fx_close(&f);
}

/*
 * Bursts of every shape on every CPU, two devices, harvests at random
 * points: clustered (ascending and descending), random, overlapping the
 * run, interleaved devices, mixed sources, and pauses past the window.
 */
static void bursts_cover_exactly_the_reference_at_every_harvest(void **state)
{
	struct ms_collect_opts o = { .run_window_ns = WINDOW };
	int ncpus = get_nprocs();
	static struct ref r;
	uint32_t ids[NR_DEV];
	uint64_t kdev[NR_DEV];
	size_t events = 0;
	struct fx f;

	if (fx_open_two(&f, &o, ids, kdev))
		return;
	memset(&r, 0, sizeof(r));
	r.since = mono_ns();
	for (int burst = 0; burst < 400; burst++) {
		int shape = (int)rnd(6), cpu = (int)rnd((uint64_t)ncpus), d = (int)rnd(NR_DEV);
		uint64_t n = 1 + rnd(48), len = GRAIN * (1 + rnd(32));
		uint64_t at = GRAIN * rnd((SPACE - 64 * 0x2000) / GRAIN);

		for (uint64_t i = 0; i < n; i++, events++) {
			switch (shape) {
			case 0: /* clustered, ascending */
				write_on(&f, &r, kdev, d, cpu, at + i * len, len, 0);
				break;
			case 1: /* clustered, descending */
				write_on(&f, &r, kdev, d, cpu, at + (n - i) * len, len, 1);
				break;
			case 2: /* random */
				write_on(&f, &r, kdev, d, cpu,
					 GRAIN * rnd((SPACE - 0x2000) / GRAIN),
					 GRAIN * (1 + rnd(32)), (int)rnd(3));
				break;
			case 3: /* overlapping the run */
				write_on(&f, &r, kdev, d, cpu, at + GRAIN * rnd(16),
					 GRAIN * (1 + rnd(16)), 0);
				break;
			case 4: /* two devices interleaved, on two CPUs */
				write_on(&f, &r, kdev, (int)(i & 1), (cpu + (int)(i & 1)) % ncpus,
					 at + (i / 2) * len, len, 0);
				break;
			default: /* a run across the window: it must end and a new one start */
				write_on(&f, &r, kdev, d, cpu, at + i * len, len, 0);
				if (i == n / 2)
					usleep(WINDOW / 1000 * 2);
				break;
			}
		}
		if (!rnd(8))
			harvest(&f, &r, ids);
	}
	harvest(&f, &r, ids);
	/* coalesced: fewer records than events, and every event counted */
	assert_true(fx_count(&f, MS_EV_DMA_WRITE) < events);
	fx_close(&f);
}

/* The IOMMU's maps and unmaps: runs only of what is contiguous, in their order on the CPU. */
static void iommu_runs_keep_contiguity_and_order(void **state)
{
	struct ms_collect_opts o = { .run_window_ns = 1000000000ull };
	const struct ms_ev_iommu_map *m;
	const struct ms_ev_iommu_unmap *u;
	struct fx f;

	if (fx_open(&f, &o))
		return;
	for (uint64_t i = 0; i < 16; i++) {
		const uint64_t a[] = { 0x10000 + i * 0x1000, 0x7000000 + i * 0x1000, 0x1000 };

		run_on(&f, 0, "iommu_map", a, 3);
	}
	{
		/* contiguous IOVA, not contiguous memory: a record of its own */
		const uint64_t a[] = { 0x20000, 0x9000000, 0x1000 };

		run_on(&f, 0, "iommu_map", a, 3);
	}
	for (uint64_t i = 0; i < 8; i++) {
		const uint64_t a[] = { 0x10000 + i * 0x1000, 0x1000, 0x1000 };

		run_on(&f, 0, "iommu_unmap", a, 3);
	}
	{
		/* an unmap that unmapped more than it asked stays as it was */
		const uint64_t a[] = { 0x18000, 0x1000, 0x200000 };

		run_on(&f, 0, "iommu_unmap", a, 3);
	}
	{
		const uint64_t a[] = { 0x10000, 0x7000000, 0x1000 };

		run_on(&f, 0, "iommu_map", a, 3); /* mapped again: after its unmap */
	}
	ms_collect__poll(f.c);
	assert_int_equal(fx_count(&f, MS_EV_IOMMU_MAP), 3);
	assert_int_equal(fx_count(&f, MS_EV_IOMMU_UNMAP), 2);
	m = fx_nth(&f, MS_EV_IOMMU_MAP, 0);
	assert_int_equal(m->iova, 0x10000);
	assert_int_equal(m->paddr, 0x7000000);
	assert_int_equal(m->size, 0x10000);
	assert_int_equal(m->run.count, 16);
	m = fx_nth(&f, MS_EV_IOMMU_MAP, 1);
	assert_int_equal(m->iova, 0x20000);
	assert_int_equal(m->run.count, 1);
	u = fx_nth(&f, MS_EV_IOMMU_UNMAP, 0);
	assert_int_equal(u->iova, 0x10000);
	assert_int_equal(u->size, 0x8000);
	assert_int_equal(u->unmapped, 0x8000);
	assert_int_equal(u->run.count, 8);
	u = fx_nth(&f, MS_EV_IOMMU_UNMAP, 1);
	assert_int_equal(u->size, 0x1000);
	assert_int_equal(u->unmapped, 0x200000);
	assert_int_equal(u->run.count, 1);
	/* the stream's order is the CPU's: map run, map, unmap run, unmap, map */
	{
		static const uint16_t order[] = { MS_EV_IOMMU_MAP, MS_EV_IOMMU_MAP,
						  MS_EV_IOMMU_UNMAP, MS_EV_IOMMU_UNMAP,
						  MS_EV_IOMMU_MAP };
		size_t k = 0;

		for (size_t i = 0; i < f.rec.count; i++) {
			const struct ms_event_hdr *ev = tu_recorder__get(&f.rec, i);

			if (ev->type == MS_EV_IOMMU_MAP || ev->type == MS_EV_IOMMU_UNMAP) {
				assert_true(k < 5);
				assert_int_equal(ev->type, order[k++]);
			}
		}
		assert_int_equal(k, 5);
	}
	fx_close(&f);
}

/* ms_runs of the loaded collectors, found through a program that uses it. */
static int runs_map_fd(struct fx *f)
{
	int prog = ms_collect__prog_fd(f->c, "dma_unmap_phys");
	struct bpf_prog_info info = { 0 };
	__u32 ids[16], len = sizeof(info);

	info.nr_map_ids = 16;
	info.map_ids = (__u64)(unsigned long)ids;
	assert_int_equal(bpf_obj_get_info_by_fd(prog, &info, &len), 0);
	for (__u32 i = 0; i < info.nr_map_ids && i < 16; i++) {
		int fd = bpf_map_get_fd_by_id(ids[i]);
		struct bpf_map_info mi = { 0 };
		__u32 ml = sizeof(mi);

		if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &mi, &ml) && !strcmp(mi.name, "ms_runs"))
			return fd;
		if (fd >= 0)
			close(fd);
	}
	fail_msg("no ms_runs map");
	return -1;
}

/*
 * The handshake with a program the flush interrupted, which a test_run
 * cannot produce: a run marked busy on every CPU (written from here) is
 * left by the flush, which after its tries widens every device (a loss);
 * an event that finds its run busy is a record of its own at once; once
 * the run is free the next flush makes its record.
 */
static void a_run_held_by_an_interrupted_program_is_never_lost(void **state)
{
	struct ms_collect_opts o = { .run_window_ns = 1000000000ull };
	int ncpus = libbpf_num_possible_cpus(), fd;
	struct ms_bpf_run *v;
	uint64_t first = mono_ns(), before;
	const struct ms_ev_loss *l;
	const struct ms_ev_dma_write *w;
	__u32 key;
	struct fx f;

	if (fx_open(&f, &o))
		return;
	fd = runs_map_fd(&f);
	v = calloc((size_t)ncpus, sizeof(*v));
	assert_non_null(v);
	key = 0; /* the watched device's counter slot */
	for (int c = 0; c < ncpus; c++)
		v[c] = (struct ms_bpf_run){ .busy = 1,
					    .type = MS_EV_DMA_WRITE,
					    .dev = f.dev,
					    .count = 3,
					    .first_ns = first,
					    .last_ns = first,
					    .iova = 0x40000,
					    .len = 0x3000,
					    .aux = MS_SRC_DMA_UNMAP | (uint64_t)FROM_DEV << 32 };
	assert_int_equal(bpf_map_update_elem(fd, &key, v, BPF_ANY), 0);
	unmap_on(&f, 0, f.kdev, 0x43000, 0x1000, FROM_DEV);
	ms_collect__poll(f.c);
	assert_int_equal(fx_count(&f, MS_EV_DMA_WRITE), 1);
	w = fx_nth(&f, MS_EV_DMA_WRITE, 0);
	fx_assert_write(w, f.dev, 0x43000, 0x1000, MS_SRC_DMA_UNMAP, FROM_DEV);
	assert_int_equal(w->run.count, 1);
	assert_int_equal(fx_count(&f, MS_EV_LOSS), (size_t)ncpus);
	l = fx_nth(&f, MS_EV_LOSS, 0);
	assert_int_equal(l->hdr.dev, MS_DEV_NONE);
	assert_int_equal(l->len, 0);

	for (int c = 0; c < ncpus; c++)
		v[c].busy = 0;
	assert_int_equal(bpf_map_update_elem(fd, &key, v, BPF_ANY), 0);
	before = mono_ns();
	assert_int_equal(ms_collect__poll(f.c), ncpus);
	for (int c = 0; c < ncpus; c++) {
		w = fx_nth(&f, MS_EV_DMA_WRITE, 1 + (size_t)c);
		fx_assert_write(w, f.dev, 0x40000, 0x3000, MS_SRC_DMA_UNMAP, FROM_DEV);
		assert_int_equal(w->run.count, 3);
		/* the flush ended the run: its time, the first event's kept */
		assert_true(w->hdr.ts_ns >= before && w->hdr.ts_ns <= mono_ns());
		assert_int_equal(w->hdr.ts_ns - w->run.span_ns, first);
	}
	assert_int_equal(ms_collect__poll(f.c), 0); /* flushed once */
	free(v);
	close(fd);
	fx_close(&f);
}

/*
 * Runs pending when the collectors close are records before their totals.
 * With MIGSCOPE_SEED_OUT set, the stream is written there: the fuzz seed
 * of runs (tests/fuzz/corpus/README.md).
 */
static void close_flushes_what_is_pending(void **state)
{
	struct ms_collect_opts o = { .run_window_ns = 1000000000ull };
	const char *seed = getenv("MIGSCOPE_SEED_OUT");
	struct ms_capture_writer *cw = NULL;
	struct ms_host_info info = { 0 };
	const struct ms_ev_source_stats *st;
	char err[MS_ERR_LEN];
	uint64_t events = 0;
	struct fx f;

	if (fx_open(&f, &o))
		return;
	if (seed) {
		cw = ms_capture_writer__open(seed, &info, NULL, err, sizeof(err));
		if (!cw)
			fail_msg("capture: %s", err);
		ms_bus__subscribe(&f.s->bus, MS_EV_ALL, ms_capture_writer__on_event, cw);
	}
	for (int i = 0; i < 10; i++)
		unmap_on(&f, i % 2, f.kdev, 0x1000 * (uint64_t)i, 0x1000, FROM_DEV);
	for (uint64_t i = 0; i < 4; i++) {
		const uint64_t a[] = { 0x10000 + i * 0x1000, 0x7000000 + i * 0x1000, 0x1000 };

		run_on(&f, 0, "iommu_map", a, 3);
	}
	ms_collect__close(f.c);
	f.c = NULL;
	if (cw)
		assert_int_equal(ms_capture_writer__close(cw, err, sizeof(err)), 0);
	assert_true(fx_count(&f, MS_EV_DMA_WRITE) >= 1);
	assert_int_equal(fx_count(&f, MS_EV_IOMMU_MAP), 1);
	assert_int_equal(
	    ((const struct ms_ev_iommu_map *)fx_nth(&f, MS_EV_IOMMU_MAP, 0))->run.count, 4);
	st = fx_nth(&f, MS_EV_SOURCE_STATS, 0);
	assert_int_equal(st->accepted, fx_count(&f, MS_EV_DMA_WRITE) + 1);
	for (size_t i = 0; i < fx_count(&f, MS_EV_DMA_WRITE); i++)
		events +=
		    ((const struct ms_ev_dma_write *)fx_nth(&f, MS_EV_DMA_WRITE, i))->run.count;
	assert_int_equal(events, 10);
	fx_close(&f);
}

/* The device's dirty set in tracker t, as a bitmap of 4 KiB pages over SPACE. */
static void dirty_set(struct ms_tracker *t, uint32_t dev, uint64_t *bm, size_t words)
{
	char err[MS_ERR_LEN];

	memset(bm, 0, words * 8);
	if (ms_tracker__export(t, dev, 0, SPACE, 4096, bm, words, err, sizeof(err)))
		fail_msg("export: %s", err);
}

static void track_start(struct ms_bus *bus, uint32_t dev)
{
	uint64_t buf[(sizeof(struct ms_ev_track_start) + sizeof(struct ms_range)) / 8 + 1] = { 0 };
	struct ms_ev_track_start *ts = (void *)buf;

	ts->hdr.type = MS_EV_TRACK_START;
	ts->hdr.len = MS_PAYLOAD_LEN(ms_ev_track_start) + sizeof(struct ms_range);
	ts->hdr.dev = dev;
	ts->hdr.ts_ns = 1;
	ts->page_size = 4096;
	ts->nr_ranges = 1;
	ts->ranges[0] = (struct ms_range){ 0, SPACE };
	ms_bus__publish(bus, &ts->hdr);
}

/*
 * Record the coalesced stream to a capture file; its replay and the same
 * events published one record each give the tracker the same dirty set.
 */
static void a_coalesced_capture_replays_to_the_uncoalesced_dirty_set(void **state)
{
	struct ms_collect_opts o = { .run_window_ns = WINDOW };
	enum { WORDS = SPACE / 4096 / 64 };
	static uint64_t live[WORDS], replayed[WORDS], plain[WORDS];
	struct ms_session_opts so = { 0 };
	struct ms_capture_writer *cw;
	struct ms_capture_reader *cr;
	struct ms_session *rs, *ps;
	struct ms_replay_stats rst = { 0 };
	struct ms_host_info info = { 0 };
	char err[MS_ERR_LEN], *path = tu_tmp_path(".msc");
	int ncpus = get_nprocs();
	size_t events = 0;
	struct fx f;

	if (fx_open(&f, &o))
		return;
	cw = ms_capture_writer__open(path, &info, NULL, err, sizeof(err));
	if (!cw)
		fail_msg("capture: %s", err);
	assert_int_equal(ms_bus__subscribe(&f.s->bus, MS_EV_ALL, ms_capture_writer__on_event, cw),
			 0);
	track_start(&f.s->bus, f.dev);
	ps = ms_session__new(&so, err, sizeof(err));
	assert_non_null(ps);
	ms_stream__add_device(&ps->stream, 1, MS_DEV_KIND_HOST, MS_ROLE_SOURCE, 0, MS_DEV_NONE,
			      FX_DEV_NAME);
	track_start(&ps->bus, f.dev);
	for (int b = 0; b < 200; b++) {
		uint64_t at = 4096 * rnd(SPACE / 4096 - 256), n = 1 + rnd(32),
			 len = 512 * (1 + rnd(8));

		for (uint64_t i = 0; i < n; i++, events++) {
			struct ms_ev_dma_write w = { 0 };
			int cpu = (int)rnd((uint64_t)ncpus);
			uint64_t iova = b % 3 ? at + i * len : 512 * rnd(SPACE / 512 - 64);

			unmap_on(&f, cpu, f.kdev, iova, len, FROM_DEV);
			MS_EVENT_INIT(&w, MS_EV_DMA_WRITE, ms_ev_dma_write, f.dev, 2 + events);
			w.iova = iova;
			w.len = len;
			w.source = MS_SRC_DMA_UNMAP;
			w.dir = FROM_DEV;
			ms_stream__publish(&ps->stream, &w.hdr);
		}
	}
	ms_collect__poll(f.c);
	assert_true(fx_count(&f, MS_EV_DMA_WRITE) < events);
	dirty_set(f.s->tracker, f.dev, live, WORDS);
	dirty_set(ps->tracker, f.dev, plain, WORDS);
	assert_memory_equal(live, plain, sizeof(live));
	ms_collect__close(f.c);
	f.c = NULL;
	assert_int_equal(ms_capture_writer__close(cw, err, sizeof(err)), 0);

	rs = ms_session__new(&so, err, sizeof(err));
	assert_non_null(rs);
	cr = ms_capture_reader__open(path, err, sizeof(err));
	if (!cr)
		fail_msg("replay: %s", err);
	assert_int_equal(ms_capture_reader__replay(cr, &rs->bus, &rst, err, sizeof(err)), 0);
	ms_capture_reader__close(cr);
	dirty_set(rs->tracker, f.dev, replayed, WORDS);
	assert_memory_equal(replayed, plain, sizeof(plain));
	ms_session__free(rs);
	ms_session__free(ps);
	unlink(path);
	free(path);
	fx_close(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(clustered_burst_is_one_record_counting_its_events),
		cmocka_unit_test(bursts_cover_exactly_the_reference_at_every_harvest),
		cmocka_unit_test(iommu_runs_keep_contiguity_and_order),
		cmocka_unit_test(a_run_held_by_an_interrupted_program_is_never_lost),
		cmocka_unit_test(close_flushes_what_is_pending),
		cmocka_unit_test(a_coalesced_capture_replays_to_the_uncoalesced_dirty_set),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
