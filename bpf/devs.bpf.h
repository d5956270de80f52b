/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The in-kernel device filter of the kernel collectors: the agent puts the
 * names of the watched host devices in ms_devs, and an event of any other
 * device costs one name read and one hash lookup.
 */
#ifndef MS_DEVS_BPF_H
#define MS_DEVS_BPF_H

#include "collect.bpf.h"

/* How many devices the agent put in ms_devs; with none, device events return at once. */
const volatile __u32 nr_watched = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MS_BPF_MAX_DEVS);
	__type(key, struct ms_bpf_dev_key);
	__type(value, struct ms_bpf_dev);
} ms_devs SEC(".maps");

/*
 * The watched device dev is, or NULL.  A kernel name longer than the key is
 * cut to fit; the agent refuses to watch names that long, so a cut name can
 * only match a registered name it starts with.
 */
static __always_inline const struct ms_bpf_dev *ms_dev_lookup(const struct device *dev)
{
	struct ms_bpf_dev_key key;
	const char *name;

	if (!nr_watched || !dev)
		return NULL;
	__builtin_memset(&key, 0, sizeof(key));
	name = BPF_CORE_READ(dev, kobj.name);
	if (!name || bpf_probe_read_kernel_str(key.name, sizeof(key.name), name) <= 0)
		return NULL;
	return bpf_map_lookup_elem(&ms_devs, &key);
}

/* A device wrote (or may have written) [iova, iova + len). */
static __always_inline void ms_emit_write(__u32 id, __u32 slot, __u64 iova, __u64 len, __u32 source,
					  __u32 dir)
{
	struct ms_ev_dma_write *e = MS_RESERVE(struct ms_ev_dma_write, MS_EV_DMA_WRITE, id, slot);

	if (!e)
		return;
	e->iova = iova;
	e->len = len;
	e->source = source;
	e->dir = dir;
	MS_SUBMIT(e);
}

#endif /* MS_DEVS_BPF_H */
