/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What every collector shares: the ring buffer, the loss counters, and
 * reserve/submit with batched wake-ups.  The kernel collectors add the
 * device filter (devs.bpf.h).
 *
 * iommu.bpf.c, dma.bpf.c and vfio.bpf.c are separate objects (one that the
 * kernel refuses must not take the others down) but write into one ring
 * buffer through one filter: the agent loads the first object and hands its
 * maps to the others (bpf_map__reuse_fd), so records of all collectors reach
 * the agent in one stream, in the order they were reserved.  qemu.bpf.c has
 * a ring of its own.
 */
#ifndef MS_COLLECT_BPF_H
#define MS_COLLECT_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include <migscope/collect_abi.h>

/*
 * Wake the agent once per wake_mask + 1 bytes produced (a power of two; 0:
 * every record).  In between, the agent's poll timer reads the ring.
 */
const volatile __u64 wake_mask = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} ms_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MS_BPF_SLOTS);
	__type(key, __u32);
	__type(value, struct ms_bpf_counters);
} ms_counters SEC(".maps");

/*
 * Count one loss.  Atomic although per-CPU: a program in process context can
 * be interrupted by the same program in hard IRQ context (DMA unmaps happen
 * in both), and a lost increment would be an unreported loss.
 */
#define MS_COUNT(slot, field)                                                                      \
	do {                                                                                       \
		__u32 __slot = (slot);                                                             \
		struct ms_bpf_counters *__c = bpf_map_lookup_elem(&ms_counters, &__slot);          \
		if (__c)                                                                           \
			__sync_fetch_and_add(&__c->field, 1);                                      \
	} while (0)

static __always_inline void *ms_reserve(__u64 size, __u32 slot)
{
	void *e = bpf_ringbuf_reserve(&ms_events, size, 0);

	if (!e)
		MS_COUNT(slot, ringbuf_drops);
	return e;
}

/*
 * Reserve a record of struct type T and fill its header.  The payload is not
 * zeroed: every program sets every payload field.
 */
#define MS_RESERVE(T, evtype, devid, slot)                                                         \
	({                                                                                         \
		T *__e = ms_reserve(sizeof(T), (slot));                                            \
		if (__e) {                                                                         \
			__e->hdr.type = (evtype);                                                  \
			__e->hdr.len = sizeof(T) - sizeof(struct ms_event_hdr);                    \
			__e->hdr.dev = (devid);                                                    \
			__e->hdr.ts_ns = bpf_ktime_get_ns();                                       \
		}                                                                                  \
		__e;                                                                               \
	})

/*
 * Submit, waking the agent only for the record that crosses a multiple of
 * wake_mask + 1 bytes: a busy device must not pay a wake-up (an irq_work
 * and a context switch) per record, and asking the ring how much is unread
 * (bpf_ringbuf_query) would cost a helper call per record.  Records tile the
 * ring, so exactly one record (with its 8-byte header) spans each boundary;
 * its offset is taken against a fixed address, wake_mask's own (root may
 * subtract pointers), and the ring size is a multiple of the interval, so
 * the wrap-around keeps the count.
 */
static __always_inline void ms_submit(void *e, __u64 size)
{
	__u64 end = (__u64)((char *)e - (char *)&wake_mask) + size;
	__u64 flags = BPF_RB_NO_WAKEUP;

	if ((end & wake_mask) < size + BPF_RINGBUF_HDR_SZ)
		flags = BPF_RB_FORCE_WAKEUP;
	bpf_ringbuf_submit(e, flags);
}

/* Submit record e of the struct type e points to. */
#define MS_SUBMIT(e) ms_submit((e), sizeof(*(e)))

#endif /* MS_COLLECT_BPF_H */
