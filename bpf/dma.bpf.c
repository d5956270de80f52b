// SPDX-License-Identifier: GPL-2.0-only
/*
 * DMA API collector: which buffers a watched device wrote.
 *
 * A buffer mapped FROM_DEVICE or BIDIRECTIONAL may be written by the device
 * until the driver unmaps it or syncs it for the CPU; at that point the
 * driver is about to read what the device wrote, so the range is a write
 * record (MS_SRC_DMA_UNMAP, MS_SRC_DMA_SYNC).  TO_DEVICE buffers are only
 * read by the device and never make a record.
 *
 * Buffers that are mapped writable and not yet unmapped are kept in ms_live,
 * so the agent can count them as written when it stops watching: nobody will
 * unmap an RX ring before the device stops, yet the device wrote into it.
 *
 * Tracepoints: dma_map_phys/dma_unmap_phys (6.17+), which replaced
 * dma_map_page/dma_unmap_page and dma_map_resource/dma_unmap_resource
 * (6.12-6.16, same arguments); dma_map_sg, dma_unmap_sg,
 * dma_sync_single_for_cpu, dma_sync_sg_for_cpu (6.12+).
 */
#include "devs.bpf.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, MS_BPF_LIVE_BUCKETS);
	__type(key, __u32);
	__type(value, struct ms_bpf_live_bucket);
} ms_live SEC(".maps");

/* scatterlist page_link low bits (include/linux/scatterlist.h) */
#define SG_CHAIN 0x01ul
#define SG_END	 0x02ul

/* the dma_addr_t a failed mapping returns */
#define DMA_MAPPING_ERROR (~(dma_addr_t)0)

/*
 * The live-mapping table (collect_abi.h) without a lock: a BPF hash map
 * takes a bucket lock and a free-list lock on every insert and delete, over
 * 100 ns each here, for what is a claim and a release of one slot.
 *
 * Slot life: FREE --claim (cmpxchg)--> BUSY --fields, then xchg--> LIVE
 * --release (cmpxchg)--> FREE of the next generation.  Only the mapping that
 * claimed a slot writes its fields, and only the unmap of that buffer frees
 * it: the driver cannot unmap a buffer before its map returned, and the map
 * tracepoint fires before it returns.  BPF's fetching atomics are full
 * barriers, so the fields are visible before the slot is LIVE.
 */
static __always_inline struct ms_bpf_live_bucket *live_bucket(__u32 b)
{
	return bpf_map_lookup_elem(&ms_live, &b);
}

/*
 * A slot's seq, with the loads after it kept after it.  x86 does not reorder
 * loads with loads, and volatile keeps the compiler from doing so; elsewhere
 * a compare-and-swap that changes nothing is the barrier BPF has.
 */
static __always_inline __u64 live_seq_acquire(__u64 *seq)
{
#ifdef __TARGET_ARCH_x86
	return READ_ONCE(*seq);
#else
	return __sync_val_compare_and_swap(seq, 0, 0);
#endif
}

/* Free slots in bucket bk, counted without a branch per slot (the verifier walks each). */
static __always_inline __u32 live_free_slots(struct ms_bpf_live_bucket *bk)
{
	__u64 n = 0;

	for (int s = 0; s < MS_BPF_LIVE_BUCKET; s++)
		n += ((READ_ONCE(bk->slot[s].seq) & 3) - 1) >> 63; /* 1 when FREE */
	return n;
}

static __always_inline bool live_claim(struct ms_bpf_live_bucket *bk, __u32 id, __u64 addr,
				       __u64 len, __u32 dir)
{
	for (int s = 0; s < MS_BPF_LIVE_BUCKET; s++) {
		__u64 seq = READ_ONCE(bk->slot[s].seq);

		if (MS_LIVE_STATE(seq) != MS_LIVE_FREE ||
		    __sync_val_compare_and_swap(&bk->slot[s].seq, seq, seq + MS_LIVE_BUSY) != seq)
			continue;
		bk->slot[s].addr = addr;
		bk->slot[s].len = len;
		bk->slot[s].dev = id;
		bk->slot[s].dir = dir;
		__sync_lock_test_and_set(&bk->slot[s].seq, seq + MS_LIVE_LIVE);
		return true;
	}
	return false;
}

/* A buffer the device may write until it is unmapped; no free slot is a loss. */
static __always_inline void live_add(__u32 id, __u32 slot, __u64 addr, __u64 len, __u32 dir)
{
	struct ms_bpf_live_bucket *b0, *b1, *t;
	__u32 b[2], free0;

	ms_bpf_live_buckets(id, addr, b);
	b0 = live_bucket(b[0]);
	b1 = live_bucket(b[1]);
	if (!b0 || !b1) { /* cannot happen: b[] are in range */
		MS_COUNT(slot, live_full);
		return;
	}
	/* the emptier bucket, but a half-empty first one is good enough: one line less to read */
	free0 = live_free_slots(b0);
	if (free0 < MS_BPF_LIVE_BUCKET / 2 && live_free_slots(b1) > free0) {
		t = b0;
		b0 = b1;
		b1 = t;
	}
	if (!live_claim(b0, id, addr, len, dir) && !live_claim(b1, id, addr, len, dir))
		MS_COUNT(slot, live_full);
}

static __always_inline bool live_release(struct ms_bpf_live_bucket *bk, __u32 id, __u64 addr)
{
	for (int s = 0; s < MS_BPF_LIVE_BUCKET; s++) {
		__u64 seq;

		if (READ_ONCE(bk->slot[s].addr) != addr)
			continue;
		seq = live_seq_acquire(&bk->slot[s].seq);
		if (MS_LIVE_STATE(seq) != MS_LIVE_LIVE || READ_ONCE(bk->slot[s].addr) != addr ||
		    READ_ONCE(bk->slot[s].dev) != id)
			continue;
		/* LIVE + 2: FREE, next generation; fails only if the slot is no longer seq's */
		if (__sync_val_compare_and_swap(&bk->slot[s].seq, seq, seq + 2) == seq)
			return true;
	}
	return false;
}

/* The buffer is unmapped: its slot is free again (none if it was mapped before we looked). */
static __always_inline void live_del(__u32 id, __u64 addr)
{
	struct ms_bpf_live_bucket *bk;
	__u32 b[2];

	ms_bpf_live_buckets(id, addr, b);
	bk = live_bucket(b[0]);
	if (bk && live_release(bk, id, addr))
		return;
	bk = live_bucket(b[1]);
	if (bk)
		live_release(bk, id, addr);
}

static __always_inline int on_map(struct device *dev, dma_addr_t addr, size_t size, int dir)
{
	const struct ms_bpf_dev *d;

	if (!MS_DMA_DEVICE_WRITES(dir) || addr == DMA_MAPPING_ERROR)
		return 0;
	d = ms_dev_lookup(dev);
	if (d)
		live_add(d->id, d->slot, addr, size, dir);
	return 0;
}

/* The DMA API requires unmap and sync with the direction of the map. */
static __always_inline int on_unmap(struct device *dev, dma_addr_t addr, size_t size, int dir,
				    __u32 source)
{
	const struct ms_bpf_dev *d;

	if (!MS_DMA_DEVICE_WRITES(dir))
		return 0;
	d = ms_dev_lookup(dev);
	if (!d)
		return 0;
	if (source == MS_SRC_DMA_UNMAP)
		live_del(d->id, addr);
	ms_emit_write(d->id, d->slot, addr, size, source, dir);
	return 0;
}

/* one program per kernel generation's tracepoint, same arguments */
#define DMA_MAP_PROG(tp)                                                                           \
	SEC("raw_tp/" #tp)                                                                         \
	int BPF_PROG(tp, struct device *dev, phys_addr_t phys, dma_addr_t addr, size_t size,       \
		     int dir, unsigned long attrs)                                                 \
	{                                                                                          \
		return on_map(dev, addr, size, dir);                                               \
	}

#define DMA_UNMAP_PROG(tp)                                                                         \
	SEC("raw_tp/" #tp)                                                                         \
	int BPF_PROG(tp, struct device *dev, dma_addr_t addr, size_t size, int dir,                \
		     unsigned long attrs)                                                          \
	{                                                                                          \
		return on_unmap(dev, addr, size, dir, MS_SRC_DMA_UNMAP);                           \
	}

DMA_MAP_PROG(dma_map_phys)
DMA_MAP_PROG(dma_map_page)
DMA_MAP_PROG(dma_map_resource)
DMA_UNMAP_PROG(dma_unmap_phys)
DMA_UNMAP_PROG(dma_unmap_page)
DMA_UNMAP_PROG(dma_unmap_resource)

SEC("raw_tp/dma_sync_single_for_cpu")
int BPF_PROG(dma_sync_single_for_cpu, struct device *dev, dma_addr_t addr, size_t size, int dir)
{
	return on_unmap(dev, addr, size, dir, MS_SRC_DMA_SYNC);
}

/* --- scatterlists ------------------------------------------------------- */

enum sg_op { SG_MAP, SG_UNMAP, SG_SYNC };

struct sg_walk {
	__u64 sg;   /* next entry to read */
	__u32 left; /* entries still to visit (chain links do not count) */
	__u32 op;   /* enum sg_op */
	__u32 dir;
	__u32 id;
	__u32 slot;
	__u32 failed;
};

/*
 * One bpf_loop step: read one entry, follow a chain link, or act on a mapped
 * segment.  Entries past the mapped ones have a zero DMA length (dma-iommu
 * merges segments), and are skipped.
 */
static long sg_step(__u32 i, struct sg_walk *w)
{
	struct scatterlist *sg = (struct scatterlist *)w->sg;
	unsigned long link;
	dma_addr_t addr;
	unsigned int len;

	if (!w->left)
		return 1;
	if (bpf_core_read(&link, sizeof(link), &sg->page_link))
		goto fail;
	if (link & SG_CHAIN) {
		w->sg = link & ~(SG_CHAIN | SG_END);
		return 0;
	}
	if (bpf_core_read(&addr, sizeof(addr), &sg->dma_address))
		goto fail;
	if (bpf_core_field_exists(sg->dma_length)) {
		if (bpf_core_read(&len, sizeof(len), &sg->dma_length))
			goto fail;
	} else if (bpf_core_read(&len, sizeof(len), &sg->length)) {
		goto fail;
	}
	w->left--;
	if (len && addr != DMA_MAPPING_ERROR) {
		if (w->op == SG_MAP) {
			live_add(w->id, w->slot, addr, len, w->dir);
		} else {
			if (w->op == SG_UNMAP)
				live_del(w->id, addr);
			ms_emit_write(w->id, w->slot, addr, len,
				      w->op == SG_UNMAP ? MS_SRC_DMA_UNMAP : MS_SRC_DMA_SYNC,
				      w->dir);
		}
	}
	if (link & SG_END) {
		w->left = 0;
		return 1;
	}
	w->sg += bpf_core_type_size(struct scatterlist);
	return 0;
fail:
	w->failed = 1;
	return 1;
}

/*
 * Walk n entries of sgl.  A list too long to walk, or one that cannot be
 * read, is counted: the agent turns it into a loss of unknown extent, so the
 * device's whole tracked range becomes dirty instead of a silent miss.
 */
static __always_inline int walk_sg(struct device *dev, struct scatterlist *sgl, int n, int dir,
				   enum sg_op op)
{
	const struct ms_bpf_dev *d;
	struct sg_walk w = {};

	if (!MS_DMA_DEVICE_WRITES(dir) || n <= 0)
		return 0;
	d = ms_dev_lookup(dev);
	if (!d)
		return 0;
	w.sg = (__u64)sgl;
	w.left = (__u32)n;
	w.op = op;
	w.dir = (__u32)dir;
	w.id = d->id;
	w.slot = d->slot;
	bpf_loop(MS_BPF_SG_MAX, sg_step, &w, 0);
	if (w.failed)
		MS_COUNT(w.slot, read_errors);
	else if (w.left)
		MS_COUNT(w.slot, sg_truncated);
	return 0;
}

/* ents: the mapped segments, at the head of the list */
SEC("raw_tp/dma_map_sg")
int BPF_PROG(dma_map_sg, struct device *dev, struct scatterlist *sgl, int nents, int ents, int dir,
	     unsigned long attrs)
{
	return walk_sg(dev, sgl, ents, dir, SG_MAP);
}

SEC("raw_tp/dma_unmap_sg")
int BPF_PROG(dma_unmap_sg, struct device *dev, struct scatterlist *sgl, int nents, int dir,
	     unsigned long attrs)
{
	return walk_sg(dev, sgl, nents, dir, SG_UNMAP);
}

SEC("raw_tp/dma_sync_sg_for_cpu")
int BPF_PROG(dma_sync_sg_for_cpu, struct device *dev, struct scatterlist *sgl, int nents, int dir)
{
	return walk_sg(dev, sgl, nents, dir, SG_SYNC);
}
