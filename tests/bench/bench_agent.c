// SPDX-License-Identifier: GPL-2.0-only
/*
 * The agent's CPU at a NIC's DMA rate.
 *
 * agent_cpu_pct_1m_events: 1 M DMA write records a second go through the real
 * BPF ring buffer the collectors write (their ms_events map, their reserve
 * and submit with batched wake-ups: tests/bpf/feed.bpf.c) into the agent's
 * real consumer: the collectors' ring reader on the agent's event loop
 * (ms_collect__add_to_loop: wake-ups and the poll timer), publishing to a
 * full session (every consumer a watch has) whose tracked device's tracker
 * sets the pages.  The figure is the consumer thread's CPU time
 * (CLOCK_THREAD_CPUTIME_ID) over the wall time, in % of one core.
 * Baseline, same run: a bare libbpf consumer (ring_buffer__poll, a callback
 * that counts) of the same feeder at the same rate, measured the same way.
 *
 * The feeder runs on the other thread: every millisecond one
 * bpf_prog_test_run makes the records due by then (bpf_loop inside the
 * program; a syscall per record would cost more than the agent).  The pages
 * cycle through a 256 MiB working set, as a NIC recycles its receive
 * buffers.  MIGSCOPE_BENCH_SECONDS sets each phase's length (default 3).
 *
 * agent_cpu_pct_watch, the agent beside a real QEMU 7.2 migration, is the
 * e2e test's bench mode (tests/unit/test_qemu_migration.c, run by
 * scripts/run-bench.sh).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <migscope/collect.h>
#include <migscope/collect_abi.h>
#include <migscope/loop.h>
#include <migscope/session.h>
#include <migscope/tracker.h>

#include "../bpf/kmem.h"
#include "feed.skel.h"

#define RING	  (4u << 20)
#define RATE	  1000000ull /* records per second */
#define WS_PAGES  65536ull   /* 256 MiB of 4 KiB pages */
#define BASE_IOVA (1ull << 32)
#define TICK_NS	  1000000ull

static void die(const char *what)
{
	fprintf(stderr, "bench_agent: %s\n", what);
	exit(1);
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/* The ring buffer map a loaded program writes (the collectors' ms_events): its fd. */
static int ring_of(int prog_fd)
{
	struct bpf_prog_info info = { 0 };
	__u32 ids[16], len = sizeof(info);

	info.nr_map_ids = 16;
	info.map_ids = (__u64)(unsigned long)ids;
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len))
		die("failed to read the program's maps");
	for (__u32 i = 0; i < info.nr_map_ids && i < 16; i++) {
		struct bpf_map_info mi = { 0 };
		__u32 ml = sizeof(mi);
		int fd = bpf_map_get_fd_by_id(ids[i]);

		if (fd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(fd, &mi, &ml) && mi.type == BPF_MAP_TYPE_RINGBUF &&
		    !strcmp(mi.name, "ms_events"))
			return fd;
		close(fd);
	}
	die("the collectors' ring buffer was not found");
	return -1;
}

/* A feeder, writing into ring_fd (the collectors') or, with -1, into a ring of its own. */
static struct feed_bpf *feeder(int ring_fd)
{
	struct feed_bpf *f = feed_bpf__open();

	if (!f)
		die("failed to open feed_bpf");
	f->rodata->wake_mask = RING / 4 - 1; /* the collectors' default wakeup_bytes */
	bpf_map__set_max_entries(f->maps.ms_events, RING);
	if (ring_fd >= 0 && bpf_map__reuse_fd(f->maps.ms_events, ring_fd))
		die("failed to share the collectors' ring");
	if (feed_bpf__load(f))
		die("failed to load feed_bpf");
	return f;
}

struct phase {
	atomic_int stop;
	uint64_t cpu_ns, wall_ns;
	/* the agent's */
	struct ms_loop *loop;
	/* the bare consumer's */
	struct ring_buffer *rb;
	uint64_t seen;
};

static int bare_sample(void *ctx, void *data, size_t len)
{
	(*(uint64_t *)ctx)++;
	return 0;
}

static int stop_check(void *ctx, uint32_t events)
{
	struct phase *p = ctx;

	if (atomic_load(&p->stop))
		ms_loop__stop(p->loop, 0);
	return 0;
}

static void *consumer(void *arg)
{
	struct phase *p = arg;
	uint64_t c0, w0;

	pin(1);
	c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	w0 = clock_ns(CLOCK_MONOTONIC);
	if (p->loop) {
		if (ms_loop__run(p->loop, 0) < 0)
			die("the agent's loop failed");
	} else {
		while (!atomic_load(&p->stop))
			if (ring_buffer__poll(p->rb, 20) < 0)
				die("ring_buffer__poll failed");
		ring_buffer__consume(p->rb);
	}
	p->cpu_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
	p->wall_ns = clock_ns(CLOCK_MONOTONIC) - w0;
	return NULL;
}

/* Feed RATE records a second into f for secs seconds while p's consumer runs; records fed. */
static uint64_t run_phase(struct feed_bpf *f, uint32_t dev, struct phase *p, double secs)
{
	int prog = bpf_program__fd(f->progs.feed);
	uint64_t t0, fed = 0, end;
	pthread_t th;

	if (pthread_create(&th, NULL, consumer, p))
		die("failed to start the consumer");
	pin(0);
	t0 = clock_ns(CLOCK_MONOTONIC);
	end = t0 + (uint64_t)(secs * 1e9);
	for (uint64_t next = t0 + TICK_NS;; next += TICK_NS) {
		uint64_t now = clock_ns(CLOCK_MONOTONIC);
		uint64_t due = (now - t0) * RATE / 1000000000ull;
		struct timespec ts = { .tv_sec = next / 1000000000ull,
				       .tv_nsec = next % 1000000000ull };

		if (now >= end)
			break;
		if (due > fed) {
			uint64_t args[] = { dev, BASE_IOVA, due - fed, WS_PAGES };

			if (kmem_run(prog, args, 4))
				die("bpf_prog_test_run failed");
			fed = due;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
	}
	atomic_store(&p->stop, 1);
	pthread_join(th, NULL);
	return fed;
}

int main(void)
{
	const char *why = kmem_bpf_unavailable();
	const char *env = getenv("MIGSCOPE_BENCH_SECONDS");
	double secs = env ? atof(env) : 3;
	struct ms_session_opts so = { 0 };
	struct ms_collect_opts co = { .no_attach = 1,
				      .ringbuf_bytes = RING,
				      .groups = MS_COLLECT_DMA };
	char err[MS_ERR_LEN];
	struct ms_session *s;
	struct ms_collect *c;
	struct feed_bpf *bare_feed, *agent_feed;
	struct phase bare = { 0 }, agent = { 0 };
	struct ms_dirty_summary sum;
	uint64_t bare_fed, agent_fed;
	uint32_t id;
	double bare_pct, agent_pct;

	if (why) {
		printf("# bench_agent skipped: %s\n", why);
		return 0;
	}
	if (secs <= 0)
		secs = 3;
	ms_bpf__set_notes(NULL);
	s = ms_session__new(&so, err, sizeof(err));
	if (!s)
		die(err);
	id = ms_stream__add_device(&s->stream, 0, MS_DEV_KIND_HOST, MS_ROLE_SOURCE, 0, MS_DEV_NONE,
				   "0000:3b:00.1");
	{
		/* the working set mapped by the IOMMU, the device tracked as watch --device does */
		struct ms_ev_iommu_map m = { 0 };

		MS_EVENT_INIT(&m, MS_EV_IOMMU_MAP, ms_ev_iommu_map, MS_DEV_NONE, 0);
		m.iova = BASE_IOVA;
		m.size = WS_PAGES * 4096;
		ms_stream__publish(&s->stream, &m.hdr);
		ms_stream__track_range(&s->stream, 0, id, 4096, 0, 1ull << 57);
	}
	c = ms_collect__open(&s->stream, &co, err, sizeof(err));
	if (!c)
		die(err);
	agent.loop = ms_loop__new(0);
	if (!agent.loop || ms_collect__add_to_loop(c, agent.loop) ||
	    ms_loop__add_timer(agent.loop, 10000000, stop_check, &agent) < 0)
		die("failed to set up the agent's loop");
	agent_feed = feeder(ring_of(ms_collect__prog_fd(c, "dma_unmap_phys")));
	bare_feed = feeder(-1);
	bare.rb =
	    ring_buffer__new(bpf_map__fd(bare_feed->maps.ms_events), bare_sample, &bare.seen, NULL);
	if (!bare.rb)
		die("failed to read the bare ring");

	bare_fed = run_phase(bare_feed, id, &bare, secs);
	agent_fed = run_phase(agent_feed, id, &agent, secs);
	ms_collect__poll(c);
	if (bare.seen != bare_fed)
		die("the bare consumer missed records");
	if (ms_tracker__device_summary(s->tracker, id, &sum) || sum.records != agent_fed ||
	    sum.widened_pages || sum.pending_pages != (agent_fed < WS_PAGES ? agent_fed : WS_PAGES))
		die("the agent missed records");

	bare_pct = 100.0 * (double)bare.cpu_ns / (double)bare.wall_ns;
	agent_pct = 100.0 * (double)agent.cpu_ns / (double)agent.wall_ns;
	printf("# agent_cpu_pct_1m_events: the consumer thread's CPU in %% of one core while %.0f "
	       "M DMA records/s\n# go through the collectors' ring into a full session (target "
	       "< 10); baseline: a bare\n# libbpf consumer that counts, same feeder, same rate; "
	       "%.1f s each\n",
	       RATE / 1e6, secs);
	printf("BENCH agent_cpu_pct_1m_events %.2f %% baseline=%.2f ratio=%.2f\n", agent_pct,
	       bare_pct, bare_pct > 0 ? agent_pct / bare_pct : 0);
	printf("#   agent: %llu records in %.2f s (%.2f M/s), %.1f ns CPU each; bare: %llu records,"
	       " %.1f ns each\n",
	       (unsigned long long)agent_fed, agent.wall_ns / 1e9,
	       agent_fed / (agent.wall_ns / 1e3), (double)agent.cpu_ns / (double)agent_fed,
	       (unsigned long long)bare_fed, (double)bare.cpu_ns / (double)bare_fed);

	ring_buffer__free(bare.rb);
	feed_bpf__destroy(bare_feed);
	feed_bpf__destroy(agent_feed);
	ms_loop__free(agent.loop);
	ms_collect__close(c);
	ms_session__free(s);
	return 0;
}
