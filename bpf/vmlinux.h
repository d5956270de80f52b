/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The kernel types the collectors read, and nothing else.
 *
 * Every struct here is declared with only the fields bpf/ touches and marked
 * preserve_access_index, so each access is a CO-RE relocation that libbpf
 * resolves against the running kernel's BTF at load time: field offsets and
 * sizes come from the kernel, not from this file.  That is why one small,
 * committed header serves every kernel (see the Makefile) instead of a
 * 130,000-line dump of the build machine's kernel.
 *
 * Types the optional vfio hooks need are declared in vfio.bpf.c with a
 * ___ms flavour suffix, because kernels without VFIO do not have them.
 */
#ifndef __VMLINUX_H__
#define __VMLINUX_H__

#include <linux/types.h>
#include <linux/bpf.h>

typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef __s32 s32;
typedef __s64 s64;
typedef __u64 dma_addr_t;
typedef __u64 phys_addr_t;
typedef __SIZE_TYPE__ size_t;
typedef _Bool bool;
enum { false = 0, true = 1 };

enum dma_data_direction {
	DMA_BIDIRECTIONAL = 0,
	DMA_TO_DEVICE = 1,
	DMA_FROM_DEVICE = 2,
	DMA_NONE = 3,
};

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

struct kobject {
	const char *name;
};

struct iommu_group {
	int id;
};

struct device {
	struct kobject kobj;
	struct iommu_group *iommu_group;
};

/* dma_length exists only with CONFIG_NEED_SG_DMA_LENGTH: check before use. */
struct scatterlist {
	unsigned long page_link;
	unsigned int offset;
	unsigned int length;
	dma_addr_t dma_address;
	unsigned int dma_length;
};

struct file {
	void *private_data;
};

/* USDT programs read the instruction pointer (PT_REGS_IP). */
#if defined(__TARGET_ARCH_x86)
struct pt_regs {
	unsigned long ip;
};
#elif defined(__TARGET_ARCH_arm64)
struct user_pt_regs {
	__u64 regs[31];
	__u64 sp;
	__u64 pc;
	__u64 pstate;
};
struct pt_regs {
	struct user_pt_regs user_regs;
};
#endif

#pragma clang attribute pop

#endif /* __VMLINUX_H__ */
