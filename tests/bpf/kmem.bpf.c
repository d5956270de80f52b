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
