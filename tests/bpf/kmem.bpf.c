// SPDX-License-Identifier: GPL-2.0-only
/*
 * Test helper: kernel memory the tests can fill from userspace.
 *
 * The collectors read struct device, scatterlists and names through kernel
 * pointers, and bpf_prog_test_run hands a raw_tp program whatever argument
 * array we craft.  kmem[] is this object's .bss: a BPF map the test maps
 * into its address space, so it can lay out fake kernel objects there and
 * pass their kernel addresses (kmem_addr + offset) as tracepoint arguments.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

#define KMEM_SIZE (1 << 20)

__u8 kmem[KMEM_SIZE];
__u64 kmem_addr;

/* Root may leak a map value's address: that is the whole point here. */
SEC("raw_tp")
int kmem_locate(void *ctx)
{
	kmem_addr = (__u64)(unsigned long)kmem;
	return 0;
}

/* The baseline of the bpf_event_ns benchmark: a program that does nothing. */
SEC("raw_tp")
int empty(void *ctx)
{
	return 0;
}

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} floor_ring SEC(".maps");

/*
 * The least a collector does per record, for bpf_event_ns: a timestamp and a
 * 48-byte record reserved and submitted without a wake-up.  The benchmark
 * drains floor_ring between its batches.
 */
SEC("raw_tp")
int record_floor(void *ctx)
{
	__u64 *e = bpf_ringbuf_reserve(&floor_ring, 48, 0);

	if (!e)
		return 0;
	e[0] = bpf_ktime_get_ns();
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
	return 0;
}

__u64 clock_sink;

/* The record's timestamp alone (CLOCK_MONOTONIC, the clock every source stamps with). */
SEC("raw_tp")
int clock(void *ctx)
{
	clock_sink = bpf_ktime_get_ns();
	return 0;
}
