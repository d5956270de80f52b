/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Coalescing in the kernel: per CPU, a pending run for each watched device's
 * writes and one for the IOMMU's maps and unmaps (collect_abi.h).  A busy
 * device unmaps buffer after buffer at adjacent addresses: an event that
 * extends its run (same device and kind, adjacent or overlapping range,
 * within run_window_ns of the run's first event) grows it, and only a run
 * that ends makes a record, of the events' union with their count and their
 * first and last time.  A run is exactly the bytes its events named: writes
 * are joined only when they touch or overlap, maps only when contiguous in
 * both IOVA and physical address, unmaps only when each unmapped what it
 * asked.
 *
 * A run ends when the next event cannot join it (it becomes a record, the
 * event starts the next run), when the ring is nearly full, and when the
 * agent runs ms_flush on that CPU (bpf_prog_test_run with
 * BPF_F_TEST_RUN_ON_CPU), which it does before every read of the ring, so
 * every run begun before a harvest is a record in the ring before the
 * agent reads the ring for that harvest.
 *
 * Concurrency: a run is only ever touched on its own CPU (the flush runs
 * there too), so the only race is nesting: a program interrupted (by an
 * IRQ, or by the flush's IPI) by another that wants the same run.  Nesting
 * is last-in first-out, so a plain flag does: the owner sets busy before it
 * reads the run and clears it after its last write; a nested program that
 * finds busy does not wait (it cannot: the owner resumes only after it
 * returns) but makes a record of its own event at once, and a nested flush
 * leaves the run and returns how many it left, so the agent runs it again
 * on that CPU once the owner has finished.  The compiler barriers keep the
 * flag's stores around the run's accesses; the CPU sees its own stores in
 * order.
 */
#ifndef MS_RUNS_BPF_H
#define MS_RUNS_BPF_H

#include "collect.bpf.h"

/* From a run's first event, how long later events may join it; 0: no coalescing. */
const volatile __u64 run_window_ns = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MS_BPF_RUNS);
	__type(key, __u32);
	__type(value, struct ms_bpf_run);
} ms_runs SEC(".maps");

#ifndef READ_ONCE
#define READ_ONCE(x) (*(const volatile typeof(x) *)&(x))
#endif
#define WRITE_ONCE(x, v) (*(volatile typeof(x) *)&(x) = (v))
#define ms_barrier()	 asm volatile("" ::: "memory")

/*
 * Read the clock every this many events of a run (a power of two): the clock
 * costs about what the rest of a joined event does (bpf_event_ns.clock), so
 * a run reads it at its start, at every RUN_CLOCK_EVERY-th event (the window,
 * the ring) and when it ends.
 */
#define RUN_CLOCK_EVERY 8
/* Look at the ring every this many events of a run (a power of two): two helper calls. */
#define RUN_RING_CHECK 256

/* From the first event to the end of the run, saturated (a flush 4.3 s late). */
static __always_inline __u32 run_span(const struct ms_bpf_run *r)
{
	__u64 d = r->last_ns - r->first_ns;

	return d > 0xffffffffull ? 0xffffffffu : (__u32)d;
}

#define RUN_RESERVE(T, r)                                                                          \
	({                                                                                         \
		T *__e = ms_reserve(sizeof(T), (r)->slot);                                         \
		if (__e) {                                                                         \
			__e->hdr.type = (r)->type;                                                 \
			__e->hdr.len = sizeof(T) - sizeof(struct ms_event_hdr);                    \
			__e->hdr.dev = (r)->dev;                                                   \
			__e->hdr.ts_ns = (r)->last_ns;                                             \
			__e->run.count = (r)->count;                                               \
			__e->run.span_ns = run_span(r);                                            \
		}                                                                                  \
		__e;                                                                               \
	})

/* Run r as one record.  force: wake the agent whatever the boundary (the ring is nearly full). */
static __always_inline void run_emit(const struct ms_bpf_run *r, bool force)
{
	void *rec = NULL;
	__u64 size = 0;

	if (r->type == MS_EV_DMA_WRITE) {
		struct ms_ev_dma_write *e = RUN_RESERVE(struct ms_ev_dma_write, r);

		if (e) {
			e->iova = r->iova;
			e->len = r->len;
			e->source = (__u32)r->aux;
			e->dir = (__u32)(r->aux >> 32);
		}
		rec = e;
		size = sizeof(*e);
	} else if (r->type == MS_EV_IOMMU_MAP) {
		struct ms_ev_iommu_map *e = RUN_RESERVE(struct ms_ev_iommu_map, r);

		if (e) {
			e->iova = r->iova;
			e->paddr = r->aux;
			e->size = r->len;
		}
		rec = e;
		size = sizeof(*e);
	} else if (r->type == MS_EV_IOMMU_UNMAP) {
		struct ms_ev_iommu_unmap *e = RUN_RESERVE(struct ms_ev_iommu_unmap, r);

		if (e) {
			e->iova = r->iova;
			e->size = r->len;
			e->unmapped = r->aux;
		}
		rec = e;
		size = sizeof(*e);
	}
	if (!rec)
		return;
	if (force)
		bpf_ringbuf_submit(rec, BPF_RB_FORCE_WAKEUP);
	else
		ms_submit(rec, size);
}

/*
 * Can the event (type, dev, [iova, iova + len), aux) join run r?  The
 * event's range is known not to be empty or to wrap; the window is checked
 * at the clock reads.
 */
static __always_inline bool run_joins(const struct ms_bpf_run *r, __u16 type, __u32 dev, __u64 iova,
				      __u64 len, __u64 aux)
{
	__u64 end = r->iova + r->len;

	if (r->type != type || r->dev != dev || r->count == ~0u)
		return false;
	if (type == MS_EV_DMA_WRITE) /* touching or overlapping, same source and direction */
		return aux == r->aux && iova <= end && iova + len >= r->iova;
	if (type == MS_EV_IOMMU_MAP) /* the next IOVA to the next physical address */
		return iova == end && aux == r->aux + r->len;
	/* unmaps: the next IOVA, each unmapping exactly what it asked */
	return iova == end && aux == len && r->aux == r->len;
}

/* The event as a record of its own. */
static __always_inline void emit_one(__u16 type, __u32 dev, __u32 slot, __u64 iova, __u64 len,
				     __u64 aux, __u64 now)
{
	struct ms_bpf_run one;

	one.type = type;
	one.dev = dev;
	one.slot = slot;
	one.count = 1;
	one.first_ns = now;
	one.last_ns = now;
	one.iova = iova;
	one.len = len;
	one.aux = aux;
	run_emit(&one, false);
}

/*
 * One event: joined to its run (key in ms_runs), or the run becomes a
 * record and the event starts the next.  An event that can join no run (an
 * empty or wrapping range, a partial unmap: the tracker must see it as it
 * was) ends the run and is a record of its own, after the run's.  Without
 * coalescing, or while a program this one interrupted holds the run, the
 * event is a record at once.
 *
 * Time: a run's first event reads the clock (first_ns); the events that
 * join it do not, but every RUN_CLOCK_EVERY-th does, and ends the run once
 * run_window_ns have passed since its first.  The record carries the time
 * the run was last seen (the clock read when it ended: by the event after
 * it, the flush, the window), so every event of it lies within
 * [hdr.ts_ns - span_ns, hdr.ts_ns].
 */
static __always_inline void ms_run_add(__u32 key, __u16 type, __u32 dev, __u32 slot, __u64 iova,
				       __u64 len, __u64 aux)
{
	struct ms_bpf_run *r = NULL;
	bool joinable = len && iova + len > iova && (type != MS_EV_IOMMU_UNMAP || aux == len);
	__u64 now;

	if (run_window_ns)
		r = bpf_map_lookup_elem(&ms_runs, &key);
	if (!r || READ_ONCE(r->busy)) {
		emit_one(type, dev, slot, iova, len, aux, bpf_ktime_get_ns());
		return;
	}
	WRITE_ONCE(r->busy, 1);
	ms_barrier();
	if (joinable && r->type && run_joins(r, type, dev, iova, len, aux)) {
		__u64 end = r->iova + r->len;

		if (iova + len > end)
			end = iova + len;
		if (iova < r->iova)
			r->iova = iova;
		r->len = end - r->iova;
		if (type == MS_EV_IOMMU_UNMAP)
			r->aux = r->len;
		r->count++;
		if (!(r->count & (RUN_CLOCK_EVERY - 1))) {
			now = bpf_ktime_get_ns();
			r->last_ns = now;
			/*
			 * Past the window, the run ends here.  And an agent that is
			 * behind gets what is pending, with a wake-up, before the
			 * ring fills.
			 */
			if (now - r->first_ns > run_window_ns) {
				run_emit(r, false);
				r->type = 0;
			} else if (!(r->count & (RUN_RING_CHECK - 1)) &&
				   bpf_ringbuf_query(&ms_events, BPF_RB_AVAIL_DATA) >
				       bpf_ringbuf_query(&ms_events, BPF_RB_RING_SIZE) / 4 * 3) {
				run_emit(r, true);
				r->type = 0;
			}
		}
	} else {
		now = bpf_ktime_get_ns();
		if (r->type) {
			r->last_ns = now;
			run_emit(r, false);
		}
		r->type = 0;
		if (joinable) {
			r->type = type;
			r->dev = dev;
			r->slot = slot;
			r->count = 1;
			r->first_ns = now;
			r->last_ns = now;
			r->iova = iova;
			r->len = len;
			r->aux = aux;
		} else {
			emit_one(type, dev, slot, iova, len, aux, now);
		}
	}
	ms_barrier();
	WRITE_ONCE(r->busy, 0);
}

/* One key of the flush: the run becomes a record, unless a program holds it (counted in *busy). */
static long flush_one(__u32 k, int *busy)
{
	struct ms_bpf_run *r = bpf_map_lookup_elem(&ms_runs, &k);

	if (!r)
		return 0;
	if (READ_ONCE(r->busy)) {
		*busy += 1;
		return 0;
	}
	if (!r->type)
		return 0;
	WRITE_ONCE(r->busy, 1);
	ms_barrier();
	r->last_ns = bpf_ktime_get_ns();
	run_emit(r, false);
	r->type = 0;
	ms_barrier();
	WRITE_ONCE(r->busy, 0);
	return 0;
}

/*
 * The agent's flush of this CPU's runs: every pending run becomes a record.
 * Returns how many runs it had to leave because the program it interrupted
 * holds them: the agent runs it again.  Never attached: bpf_prog_test_run
 * runs it on the CPU the agent names.  (bpf_loop: one callback to verify,
 * not a path per key.)
 */
SEC("raw_tp")
int ms_flush(void *ctx)
{
	int busy = 0;

	bpf_loop(MS_BPF_RUNS, flush_one, &busy, 0);
	return busy;
}

#endif /* MS_RUNS_BPF_H */
