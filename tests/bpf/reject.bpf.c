// SPDX-License-Identifier: GPL-2.0-only
/*
 * Test helper: an object with one program every verifier accepts and one it
 * refuses, for the per-program load isolation (src/sources/collect_load.c).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

__u64 runs;

SEC("raw_tp")
int accepted(void *ctx)
{
	runs++;
	return 0;
}

/* A scalar used as a pointer: "R0 invalid mem access 'scalar'" on every kernel. */
SEC("raw_tp")
int refused(void *ctx)
{
	volatile int *p = (volatile int *)(long)bpf_get_prandom_u32();

	return *p;
}

SEC("raw_tp")
int accepted_too(void *ctx)
{
	runs += 2;
	return 0;
}
