// SPDX-License-Identifier: GPL-2.0-only
/*
 * Benchmark helper: DMA write records at a NIC's rate into the collectors' ring.
 *
 * One bpf_prog_test_run of a raw_tp program makes one call, and a syscall per
 * record would cost the feeder more than the agent it feeds.  feed makes
 * nr records per run with bpf_loop, through the collectors' own reserve and
 * submit (collect.bpf.h: the same record, the same batched wake-ups), into
 * the ring the agent reads: the benchmark hands this object the collectors'
 * ms_events map (bpf_map__reuse_fd) before it loads.
 *
 * Arguments: device id, first IOVA, records, pages in the working set (the
 * IOVAs cycle through it, as a NIC recycles its receive buffers).
 */
#include "../../bpf/collect.bpf.h"

char LICENSE[] SEC("license") = "GPL";

struct feed_ctx {
	__u32 dev;
	__u64 base;
	__u64 pages;
	__u64 next;
};

/* Where the next run continues in the working set. */
__u64 feed_next;

static long feed_one(__u64 i, void *data)
{
	struct feed_ctx *f = data;
	struct ms_ev_dma_write *e = MS_RESERVE(struct ms_ev_dma_write, MS_EV_DMA_WRITE, f->dev, 0);

	if (!e)
		return 0;
	e->iova = f->base + (f->next % f->pages) * 4096;
	e->len = 4096;
	e->source = MS_SRC_DMA_UNMAP;
	e->dir = MS_DMA_FROM_DEVICE;
	e->run.count = 1; /* one event a record: the feeder does not coalesce */
	e->run.span_ns = 0;
	MS_SUBMIT(e);
	f->next++;
	return 0;
}

SEC("raw_tp")
int BPF_PROG(feed, __u64 dev, __u64 base, __u64 nr, __u64 pages)
{
	struct feed_ctx f = { .dev = (__u32)dev, .base = base, .pages = pages ?: 1 };

	f.next = feed_next;
	bpf_loop((__u32)nr, feed_one, &f, 0);
	feed_next = f.next;
	return 0;
}
