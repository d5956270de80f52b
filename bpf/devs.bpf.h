/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The in-kernel device filter of the kernel collectors: the agent puts the
 * names of the watched host devices in ms_devs (collect_abi.h), and an event
 * of any other device ends here.
 *
 * The filter costs what reading the name costs, so it reads it without
 * helper calls where the kernel allows (name_reads, MS_BPF_NAME_* in
 * collect_abi.h): dev->kobj.name through bpf_rdonly_cast() to struct device
 * (6.2+), the name's bytes through bpf_rdonly_cast() to void (6.17+).  Such
 * loads are fault-handled: a bad address reads as zero.  bpf_rdonly_cast is
 * a weak symbol, so kernels without it load the programs too, with the
 * helper calls.  The table lookup is an inlined array access.  A cache keyed by the device
 * pointer would save nothing: a device can be freed and another allocated
 * at its address (and its name at its name's), so the name must be read
 * for every event anyway.
 */
#ifndef MS_DEVS_BPF_H
#define MS_DEVS_BPF_H

#include "runs.bpf.h"

/* How many devices the agent put in ms_devs; with none, device events return at once. */
const volatile __u32 nr_watched = 0;
/* The seed of ms_bpf_dev_home() with which the agent placed every name. */
const volatile __u64 dev_seed = 0;
/* How names are read: MS_BPF_NAME_*, what the agent found this kernel allows. */
const volatile __u32 name_reads = MS_BPF_NAME_HELPERS;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MS_BPF_DEV_TABLE);
	__type(key, __u32);
	__type(value, struct ms_bpf_dev);
} ms_devs SEC(".maps");

extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;

/*
 * Zero w past the first NUL.  -1: no NUL in w (a name too long to watch);
 * 1: the NUL opens a word, which then reads as all zero; 0: otherwise.
 */
static __always_inline int name_end(__u64 w[MS_BPF_NAME_WORDS])
{
	int end = -1;

	for (int i = 0; i < MS_BPF_NAME_WORDS; i++) {
		__u64 zero = (w[i] - 0x0101010101010101ull) & ~w[i] & 0x8080808080808080ull;

		if (end >= 0) {
			w[i] = 0;
		} else if (zero) {
			end = w[i] == 0;
			w[i] &= zero ^ (zero - 1); /* through the first zero byte */
		}
	}
	return end;
}

/*
 * The device's name as NUL-padded words; false when it has none or one too
 * long to be watched (no NUL in the first MS_BPF_DEV_NAME_LEN bytes: a name
 * is never cut to fit).
 *
 * A fault-handled load of a word that reaches past the string into a page
 * that is not mapped reads as zero, just like a word of padding after a name
 * whose length is a multiple of 8: for those names (and names the helper
 * could not read in one go) the helper's byte-wise copy settles it.
 */
static __always_inline bool ms_dev_name(const struct device *dev, __u64 w[MS_BPF_NAME_WORDS])
{
	__u64 raw[MS_BPF_NAME_WORDS + 1];
	const char *name;
	long n;

	if (name_reads == MS_BPF_NAME_HELPERS)
		name = BPF_CORE_READ(dev, kobj.name);
	else
		name = ((const struct device *)bpf_rdonly_cast(
			    dev, bpf_core_type_id_kernel(struct device)))
			   ->kobj.name;
	if (!name)
		return false;
	if (name_reads == MS_BPF_NAME_DIRECT) {
		const __u64 *p = bpf_rdonly_cast(name, 0);

		for (int i = 0; i < MS_BPF_NAME_WORDS; i++)
			w[i] = p[i];
		n = name_end(w);
		if (n == 0 || n < 0)
			return n == 0;
	} else if (!bpf_probe_read_kernel(w, MS_BPF_NAME_WORDS * 8, name)) {
		n = name_end(w);
		return n >= 0 && w[0];
	}
	__builtin_memset(raw, 0, sizeof(raw));
	n = bpf_probe_read_kernel_str(raw, sizeof(raw), name);
	if (n <= 1 || n > MS_BPF_DEV_NAME_LEN)
		return false;
	for (int i = 0; i < MS_BPF_NAME_WORDS; i++)
		w[i] = raw[i];
	return true;
}

/* The watched device dev is, or NULL. */
static __always_inline const struct ms_bpf_dev *ms_dev_lookup(const struct device *dev)
{
	__u64 w[MS_BPF_NAME_WORDS];
	__u32 home;

	if (!nr_watched || !ms_dev_name(dev, w))
		return NULL;
	home = ms_bpf_dev_home(w, dev_seed);
	for (__u32 p = 0; p < MS_BPF_DEV_PROBES; p++) {
		__u32 k = (home + p) & (MS_BPF_DEV_TABLE - 1);
		const struct ms_bpf_dev *e = bpf_map_lookup_elem(&ms_devs, &k);
		bool same = true;

		if (!e || !e->name[0])
			return NULL;
		for (int i = 0; i < MS_BPF_NAME_WORDS; i++)
			same &= e->name[i] == w[i];
		if (same)
			return e;
	}
	return NULL;
}

/* A device wrote (or may have written) [iova, iova + len): into the device's run. */
static __always_inline void ms_emit_write(__u32 id, __u32 slot, __u64 iova, __u64 len, __u32 source,
					  __u32 dir)
{
	ms_run_add(slot < MS_BPF_SLOTS ? slot : MS_BPF_SLOT_NONE, MS_EV_DMA_WRITE, id, slot, iova,
		   len, source | (__u64)dir << 32);
}

#endif /* MS_DEVS_BPF_H */
