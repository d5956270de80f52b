/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Fake kernel objects for driving the collectors with bpf_prog_test_run.
 *
 * kmem.bpf.c gives us 1 MiB of kernel memory (a BPF map's value) that we
 * can write from userspace and whose kernel address we know.  Here we lay out
 * struct device, struct iommu_group and struct scatterlist in it with the
 * running kernel's field offsets (from its BTF), so the collectors' CO-RE
 * reads of dev->kobj.name or sg->dma_address see what the test wants.
 *
 * Header-only: the unit tests (cmocka) and the benchmarks (no cmocka) both
 * use it.
 */
#ifndef MIGSCOPE_TESTS_KMEM_H
#define MIGSCOPE_TESTS_KMEM_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "kmem.skel.h"

struct kmem {
	struct kmem_bpf *skel;
	uint64_t base; /* kernel address of skel->bss->kmem */
	size_t used;
};

/* NULL when BPF can be used here, else why not (for tu_skip). */
static inline const char *kmem_bpf_unavailable(void)
{
	int fd;

	if (geteuid() != 0)
		return "needs root (CAP_BPF and CAP_PERFMON)";
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "ms_check", 4, 4, 1, NULL);
	if (fd < 0)
		return "BPF is not available in this kernel or container";
	close(fd);
	if (access("/sys/kernel/btf/vmlinux", R_OK))
		return "the kernel has no BTF (/sys/kernel/btf/vmlinux)";
	return NULL;
}

/* Run a raw_tp program once with args as its tracepoint arguments.  0 or -errno. */
static inline int kmem_run(int prog_fd, const uint64_t *args, size_t nr_args)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = args,
		    .ctx_size_in = nr_args * sizeof(*args));

	return bpf_prog_test_run_opts(prog_fd, &opts) ? -errno : 0;
}

static inline int kmem_open(struct kmem *k)
{
	uint64_t none = 0;

	memset(k, 0, sizeof(*k));
	k->skel = kmem_bpf__open_and_load();
	if (!k->skel)
		return -errno;
	if (kmem_run(bpf_program__fd(k->skel->progs.kmem_locate), &none, 1) ||
	    !k->skel->bss->kmem_addr) {
		kmem_bpf__destroy(k->skel);
		return -EIO;
	}
	k->base = k->skel->bss->kmem_addr;
	return 0;
}

static inline void kmem_close(struct kmem *k)
{
	kmem_bpf__destroy(k->skel);
	k->skel = NULL;
}

/* Zeroed kernel memory for size bytes: its kernel address; *user gets our view of it. */
static inline uint64_t kmem_alloc(struct kmem *k, size_t size, void **user)
{
	size_t off = (k->used + 15) & ~(size_t)15;

	if (off + size > sizeof(k->skel->bss->kmem))
		return 0;
	k->used = off + size;
	memset(&k->skel->bss->kmem[off], 0, size);
	if (user)
		*user = &k->skel->bss->kmem[off];
	return k->base + off;
}

static inline uint64_t kmem_str(struct kmem *k, const char *s)
{
	void *p;
	uint64_t addr = kmem_alloc(k, strlen(s) + 1, &p);

	if (addr)
		memcpy(p, s, strlen(s) + 1);
	return addr;
}

/* s at an address misalign bytes past a 16-byte boundary: its kernel address, or 0. */
static inline uint64_t kmem_str_misaligned(struct kmem *k, const char *s, size_t misalign)
{
	char *p;
	uint64_t addr = kmem_alloc(k, misalign + strlen(s) + 1, (void **)&p);

	if (!addr)
		return 0;
	memcpy(p + misalign, s, strlen(s) + 1);
	return addr + misalign;
}

/*
 * s with its NUL in the last byte before a page that is not mapped: the end
 * of the page that holds the end of kmem's .bss (a BPF map's vmalloc area,
 * followed by its guard page).  Its kernel address, or 0.
 */
static inline uint64_t kmem_str_at_page_end(struct kmem *k, const char *s)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t end = (sizeof(*k->skel->bss) + page - 1) / page * page, len = strlen(s) + 1;

	if (end - sizeof(*k->skel->bss) < len)
		return 0;
	memcpy((char *)k->skel->bss + end - len, s, len);
	return k->base + end - len;
}

/* The running kernel's BTF, loaded once. */
static inline struct btf *kmem_btf(void)
{
	static struct btf *btf;

	if (!btf)
		btf = btf__load_vmlinux_btf();
	return btf;
}

static inline int kmem_struct_id(const char *type)
{
	struct btf *btf = kmem_btf();

	return btf ? btf__find_by_name_kind(btf, type, BTF_KIND_STRUCT) : -ENOENT;
}

static inline long kmem_sizeof(const char *type)
{
	int id = kmem_struct_id(type);

	return id > 0 ? (long)btf__resolve_size(kmem_btf(), (__u32)id) : -ENOENT;
}

/* Byte offset of a member path ("kobj.name") in struct type, or -ENOENT. */
static inline long kmem_offsetof(const char *type, const char *path)
{
	struct btf *btf = kmem_btf();
	int id = kmem_struct_id(type);
	char buf[128], *part, *save = NULL;
	long off = 0;

	if (id <= 0 || strlen(path) >= sizeof(buf))
		return -ENOENT;
	snprintf(buf, sizeof(buf), "%s", path);
	for (part = strtok_r(buf, ".", &save); part; part = strtok_r(NULL, ".", &save)) {
		const struct btf_type *t =
		    btf__type_by_id(btf, (__u32)btf__resolve_type(btf, (__u32)id));
		const struct btf_member *m;
		int found = 0;

		if (!t || (!btf_is_struct(t) && !btf_is_union(t)))
			return -ENOENT;
		m = btf_members(t);
		for (int i = 0; i < btf_vlen(t); i++, m++) {
			if (strcmp(btf__name_by_offset(btf, m->name_off), part))
				continue;
			off += (long)(btf_member_bit_offset(t, (__u32)i) / 8);
			id = (int)m->type;
			found = 1;
			break;
		}
		if (!found)
			return -ENOENT;
	}
	return off;
}

static inline void kmem_put64(void *obj, long off, uint64_t v)
{
	memcpy((char *)obj + off, &v, sizeof(v));
}

static inline void kmem_put32(void *obj, long off, uint32_t v)
{
	memcpy((char *)obj + off, &v, sizeof(v));
}

/*
 * A struct device named name; with group >= 0 it is in an iommu_group of that
 * id.  Its kernel address, or 0.
 */
static inline uint64_t kmem_device(struct kmem *k, const char *name, int group)
{
	long size = kmem_sizeof("device"), name_off = kmem_offsetof("device", "kobj.name");
	long grp_off = kmem_offsetof("device", "iommu_group");
	uint64_t dev, str = kmem_str(k, name);
	void *p;

	if (size <= 0 || name_off < 0 || grp_off < 0 || !str)
		return 0;
	dev = kmem_alloc(k, (size_t)size, &p);
	if (!dev)
		return 0;
	kmem_put64(p, name_off, str);
	if (group >= 0) {
		long gsize = kmem_sizeof("iommu_group"),
		     id_off = kmem_offsetof("iommu_group", "id");
		void *g;
		uint64_t grp = gsize > 0 && id_off >= 0 ? kmem_alloc(k, (size_t)gsize, &g) : 0;

		if (!grp)
			return 0;
		kmem_put32(g, id_off, (uint32_t)group);
		kmem_put64(p, grp_off, grp);
	}
	return dev;
}

/* Point device dev's kobj.name at name (a kernel address): what dev_set_name() does. 0 or -1. */
static inline int kmem_set_name(struct kmem *k, uint64_t dev, uint64_t name)
{
	long name_off = kmem_offsetof("device", "kobj.name");

	if (name_off < 0 || dev < k->base || dev - k->base >= sizeof(k->skel->bss->kmem))
		return -1;
	kmem_put64(&k->skel->bss->kmem[dev - k->base], name_off, name);
	return 0;
}

struct kmem_seg {
	uint64_t addr;
	uint32_t len;
};

#define KMEM_SG_CHAIN 0x01ull
#define KMEM_SG_END   0x02ull

/*
 * A scatterlist of n mapped segments.  With chain_after > 0 the list is split
 * in two arrays after that many entries, joined by a chain entry, as
 * sg_chain() does.  The last entry carries the end mark.  Its kernel address, or 0.
 */
static inline uint64_t kmem_sg(struct kmem *k, const struct kmem_seg *segs, int n, int chain_after)
{
	long size = kmem_sizeof("scatterlist");
	long link = kmem_offsetof("scatterlist", "page_link");
	long addr = kmem_offsetof("scatterlist", "dma_address");
	long len = kmem_offsetof("scatterlist", "dma_length");
	long plen = kmem_offsetof("scatterlist", "length");
	int first = chain_after > 0 && chain_after < n ? chain_after : n;
	uint64_t head, tail = 0, cur;
	char *h, *t = NULL, *e;

	if (size <= 0 || link < 0 || addr < 0 || plen < 0 || n <= 0)
		return 0;
	/* the first array holds its entries plus the chain entry */
	head = kmem_alloc(k, (size_t)size * (size_t)(first + (first < n)), (void **)&h);
	if (first < n)
		tail = kmem_alloc(k, (size_t)size * (size_t)(n - first), (void **)&t);
	if (!head || (first < n && !tail))
		return 0;
	for (int i = 0; i < n; i++) {
		e = i < first ? h + (long)i * size : t + (long)(i - first) * size;
		kmem_put64(e, addr, segs[i].addr);
		kmem_put32(e, len >= 0 ? len : plen, segs[i].len);
		kmem_put32(e, plen, segs[i].len);
		if (i == n - 1)
			kmem_put64(e, link, KMEM_SG_END);
	}
	if (first < n) {
		cur = tail | KMEM_SG_CHAIN;
		kmem_put64(h + (long)first * size, link, cur);
	}
	return head;
}

#endif
