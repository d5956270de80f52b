// SPDX-License-Identifier: GPL-2.0-only
/*
 * The BPF collectors' costs.
 *
 * bpf_event_ns: what one event costs in the kernel, for the iommu map and the
 * DMA unmap programs (the unmap of a watched device, the full path: name
 * read, filter lookup, live-table delete, reserve, submit).  raw_tp programs
 * take no repeat count in bpf_prog_test_run (EINVAL) and report no duration,
 * so each program is run by the syscall in a loop with the kernel's BPF run
 * time statistics on (BPF_ENABLE_STATS): run_time_ns / run_cnt is the time
 * inside the program, without the syscall.  Batches are interleaved with an
 * empty raw_tp program measured the same way (what the statistics themselves
 * cost); the value is the difference of the medians, the baseline the empty
 * program's time per run.
 *
 * ring_to_tracker_mrec_per_s: records per second from a full ring buffer
 * through the agent (ms_collect__poll: frame checks, loss counters, the
 * session bus with every consumer a watch has) into the dirty tracker, which
 * sets their pages in the device's bitmap, against a bare libbpf consumer
 * that only counts them: same program, same records, same run, one core.
 * The device is tracked as `migscope watch --device` tracks it (every
 * address below 2^57, 4 KiB pages), and every round writes pages no round
 * wrote before, so the tracker's set keeps growing (its costly case; a NIC
 * that recycles its RX buffers writes the same pages again and again).
 * ring_to_bus_mrec_per_s is the same before the device is tracked: the agent,
 * the bus and the consumers' bookkeeping without the bitmaps, to show which
 * part of the cost is whose.
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <migscope/collect.h>
#include <migscope/collect_abi.h>
#include <migscope/tracker.h>

#include "../bpf/kmem.h"
#include "dma.skel.h"

#define DEV_NAME "0000:3b:00.1"

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "bench_bpf: %s\n", what);
	exit(1);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

/* ns inside prog per run, over calls test_runs, by the kernel's statistics */
static double time_runs(int prog, const uint64_t *args, size_t nr_args, int calls)
{
	struct bpf_prog_info a = { 0 }, b = { 0 };
	__u32 len = sizeof(a);

	if (bpf_obj_get_info_by_fd(prog, &a, &len))
		die("failed to read program statistics");
	for (int i = 0; i < calls; i++)
		if (kmem_run(prog, args, nr_args))
			die("bpf_prog_test_run failed");
	len = sizeof(b);
	if (bpf_obj_get_info_by_fd(prog, &b, &len) || b.run_cnt - a.run_cnt != (__u64)calls)
		die("program statistics are off");
	return (double)(b.run_time_ns - a.run_time_ns) / calls;
}

#define BATCHES 15
#define CALLS	20000

static int drop_sample(void *ctx, void *data, size_t len)
{
	return 0;
}

/* prog against kmem's empty program; the rings are drained between batches, not timed */
static void bench_event(struct ms_collect *c, struct kmem *k, struct ring_buffer *floor_rb,
			const char *name, int prog, const uint64_t *args, size_t nr_args)
{
	int empty = bpf_program__fd(k->skel->progs.empty);
	double base[BATCHES], cost[BATCHES], b, p;

	if (prog < 0)
		die("program not loaded");
	for (int i = 0; i < BATCHES; i++) {
		base[i] = time_runs(empty, args, nr_args, CALLS);
		cost[i] = time_runs(prog, args, nr_args, CALLS);
		ms_collect__poll(c);
		ring_buffer__consume(floor_rb);
	}
	b = median(base, BATCHES);
	p = median(cost, BATCHES);
	printf("BENCH bpf_event_ns.%s %.1f ns baseline=%.1f ratio=%.3f\n", name, p - b, b, p / b);
}

static int bare_sample(void *ctx, void *data, size_t len)
{
	(*(uint64_t *)ctx)++;
	return 0;
}

/*
 * The agent reads the ring when the programs wake it, once per wakeup_bytes
 * (1/4 of the ring by default): a round is that much, 1 MiB of records.
 */
#define RING   (4u << 20)
#define FILL   ((1u << 20) / 56)
#define ROUNDS 60

/* One round's records: FILL pages from base on, one record each. */
static void fill(int prog, uint64_t dev, uint64_t base)
{
	for (unsigned int i = 0; i < FILL; i++) {
		uint64_t args[] = { dev, base + (uint64_t)i * 4096, 4096, MS_DMA_FROM_DEVICE, 0 };

		if (kmem_run(prog, args, 5))
			die("bpf_prog_test_run failed");
	}
}

/* Track the device as the watch does. */
static void track(struct ms_session *s, uint32_t id)
{
	_Alignas(8) unsigned char buf[sizeof(struct ms_ev_track_start) + sizeof(struct ms_range)];
	struct ms_ev_track_start *t = (void *)buf;

	memset(buf, 0, sizeof(buf));
	MS_EVENT_INIT(t, MS_EV_TRACK_START, ms_ev_track_start, id, 0);
	t->hdr.len += sizeof(struct ms_range);
	t->page_size = 4096;
	t->nr_ranges = 1;
	t->ranges[0].len = 1ull << 57;
	ms_session__publish(s, &t->hdr);
}

/* The agent and the bare consumer, each fed the same records by the same program. */
struct ring_pair {
	struct ms_collect *c;
	struct ring_buffer *rb; /* the bare consumer's */
	int bare_prog;
	uint64_t dev;
	uint64_t seen; /* records the bare consumer counted */
};

/* ROUNDS rounds of fresh pages from base on, timed; name's BENCH line. */
static void rounds(struct ring_pair *p, const char *name, uint64_t base)
{
	double agent = 0, plain = 0; /* ns spent reading */
	uint64_t seen = p->seen;

	for (int r = 0; r < ROUNDS; r++, base += (uint64_t)FILL * 4096) {
		double t0, t1;

		fill(p->bare_prog, p->dev, base);
		t0 = now_ns();
		ring_buffer__consume(p->rb);
		t1 = now_ns();
		plain += t1 - t0;

		fill(ms_collect__prog_fd(p->c, "dma_unmap_phys"), p->dev, base);
		t0 = now_ns();
		ms_collect__poll(p->c);
		t1 = now_ns();
		agent += t1 - t0;
	}
	if (p->seen - seen != (uint64_t)FILL * ROUNDS)
		die("records went missing");
	/* records per ns = 1000 M records per s */
	printf("BENCH %s %.2f Mrec/s baseline=%.2f ratio=%.3f\n", name, FILL * ROUNDS / agent * 1e3,
	       FILL * ROUNDS / plain * 1e3, plain / agent);
}

static void bench_ring(struct ms_session *s, struct ms_collect *c, uint32_t id, uint64_t dev)
{
	struct ms_bpf_dev_key key = { DEV_NAME };
	struct ms_bpf_dev val = { .id = 0, .slot = 0 };
	struct ring_pair p = { .c = c, .dev = dev };
	uint64_t tracked = (uint64_t)FILL * ROUNDS * 4096;
	struct ms_dirty_summary sum;
	struct dma_bpf *bare;

	/* the bare consumer: the same program in its own object, read by libbpf alone */
	bare = dma_bpf__open();
	if (!bare)
		die("failed to open dma_bpf");
	bare->rodata->nr_watched = 1;
	bpf_map__set_max_entries(bare->maps.ms_events, RING);
	if (dma_bpf__load(bare) ||
	    bpf_map_update_elem(bpf_map__fd(bare->maps.ms_devs), &key, &val, BPF_ANY))
		die("failed to load dma_bpf");
	p.bare_prog = bpf_program__fd(bare->progs.dma_unmap_phys);
	p.rb = ring_buffer__new(bpf_map__fd(bare->maps.ms_events), bare_sample, &p.seen, NULL);
	if (!p.rb)
		die("failed to read the ring");

	/* the device not tracked yet: the agent, the bus and the consumers' bookkeeping */
	rounds(&p, "ring_to_bus_mrec_per_s", 0);
	track(s, id);
	rounds(&p, "ring_to_tracker_mrec_per_s", tracked);
	if (ms_tracker__device_summary(s->tracker, id, &sum) ||
	    sum.pending_pages != (uint64_t)FILL * ROUNDS)
		die("pages went missing");
	ring_buffer__free(p.rb);
	dma_bpf__destroy(bare);
}

int main(void)
{
	struct ms_collect_opts o = { .no_attach = 1, .ringbuf_bytes = RING };
	struct ms_session_opts so = { 0 };
	const char *why = kmem_bpf_unavailable();
	char err[MS_ERR_LEN];
	struct ms_session *s;
	struct ms_collect *c;
	cpu_set_t one;
	struct kmem k;
	uint64_t dev;
	uint32_t id;

	if (why) {
		printf("# bench_bpf skipped: %s\n", why);
		return 0;
	}
	if (bpf_enable_stats(BPF_STATS_RUN_TIME) < 0) /* on while the fd is open */
		die("failed to turn on BPF run time statistics");
	CPU_ZERO(&one);
	CPU_SET(0, &one);
	sched_setaffinity(0, sizeof(one), &one); /* producer and consumer on one core */

	s = ms_session__new(&so, err, sizeof(err));
	if (!s)
		die(err);
	id = ms_session__add_device(s, 0, MS_DEV_KIND_HOST, MS_ROLE_SOURCE, 0, MS_DEV_NONE,
				    DEV_NAME);
	ms_bpf__set_notes(NULL);
	c = ms_collect__open(s, &o, err, sizeof(err));
	if (!c)
		die(err);
	if (kmem_open(&k))
		die("failed to load the kmem helper");
	dev = kmem_device(&k, DEV_NAME, -1);
	if (!dev)
		die("failed to build a fake device");

	{
		uint64_t map[] = { 0xfee00000, 0x12345000, 0x1000 };
		uint64_t unmap[] = { dev, 0x100000, 0x1000, MS_DMA_FROM_DEVICE, 0 };
		struct ring_buffer *floor_rb =
		    ring_buffer__new(bpf_map__fd(k.skel->maps.floor_ring), drop_sample, NULL, NULL);

		if (!floor_rb)
			die("failed to read floor_ring");
		printf("# bpf_event_ns: ns per event above an empty raw_tp program (target < 60);\n"
		       "# record_floor: bpf_ktime_get_ns + ringbuf reserve/submit only, the least "
		       "a record costs\n");
		bench_event(c, &k, floor_rb, "record_floor",
			    bpf_program__fd(k.skel->progs.record_floor), map, 3);
		bench_event(c, &k, floor_rb, "iommu_map", ms_collect__prog_fd(c, "iommu_map"), map,
			    3);
		bench_event(c, &k, floor_rb, "dma_unmap_phys",
			    ms_collect__prog_fd(c, "dma_unmap_phys"), unmap, 5);
		ring_buffer__free(floor_rb);
	}
	printf("# ring_to_bus_mrec_per_s: ring -> agent -> session bus, device not tracked;\n"
	       "# ring_to_tracker_mrec_per_s: ring -> agent -> session bus -> dirty tracker"
	       " (fresh pages);\n# both vs a bare libbpf consumer that only counts (target ratio"
	       " >= 0.8)\n");
	bench_ring(s, c, id, dev);

	ms_collect__close(c);
	kmem_close(&k);
	ms_session__free(s);
	return 0;
}
