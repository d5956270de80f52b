// SPDX-License-Identifier: GPL-2.0-only
/*
 * vm_iommu_map: VM check 4's probe.  Opens a PCI device bound to vfio-pci
 * through its IOMMU group and a type1 container (behind QEMU's emulated
 * VT-d), maps three buffers for DMA at known IOVAs and unmaps them again,
 * while migscope's iommu collectors (raw_tp iommu:map / iommu:unmap, only
 * from this process) feed a session.  It checks, against what it asked the
 * kernel for:
 *
 *   - the map records cover exactly the mapped IOVA ranges (the kernel may
 *     split a range where its pages are not physically contiguous, and the
 *     collectors coalesce contiguous maps into runs, so the union is
 *     compared, not the record count), each with a physical address;
 *   - the unmap records likewise, for each unmap;
 *   - the dirty tracker's mapped set follows: every mapped byte after the
 *     maps, what is left after each unmap, 0 at the end; and it counts the
 *     events the records stand for (their runs' counts), not the records.
 *
 *   vm_iommu_map 0000:00:03.0
 *
 * One line per finding on stdout; exit 0 when all hold, 1 when one does not,
 * 2 on a usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <json-c/json.h>

#include <migscope/bus.h>
#include <migscope/collect.h>
#include <migscope/event.h>
#include <migscope/session.h>
#include <migscope/vfio_compat.h>

struct map {
	uint64_t iova, size;
	void *buf;
};

/* Three buffers: a small one, one larger than a huge page, one page high up. */
static struct map maps[] = {
	{ .iova = 0x100000, .size = 64 << 10 },
	{ .iova = 0x40000000, .size = 2 << 20 },
	{ .iova = 0x7fff000000, .size = 4 << 10 },
};
#define NR_MAPS (sizeof(maps) / sizeof(maps[0]))

#define MAX_RECS 4096
struct rec {
	uint64_t iova, size, paddr;
};
struct seen {
	struct rec map[MAX_RECS], unmap[MAX_RECS];
	size_t nr_map, nr_unmap, overflow;
	uint64_t map_events, unmap_events; /* the records' run counts, summed */
};

static int failures;

static void bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void bad(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("  BAD ", stdout);
	vprintf(fmt, ap);
	putchar('\n');
	va_end(ap);
	failures++;
}

static void on_event(void *ctx, const struct ms_event_hdr *ev)
{
	struct seen *s = ctx;

	if (ev->type == MS_EV_IOMMU_MAP) {
		const struct ms_ev_iommu_map *m = (const void *)ev;

		if (s->nr_map == MAX_RECS) {
			s->overflow++;
			return;
		}
		s->map[s->nr_map++] = (struct rec){ m->iova, m->size, m->paddr };
		s->map_events += MS_RUN_EVENTS(m->run);
	} else if (ev->type == MS_EV_IOMMU_UNMAP) {
		const struct ms_ev_iommu_unmap *u = (const void *)ev;

		if (s->nr_unmap == MAX_RECS) {
			s->overflow++;
			return;
		}
		s->unmap[s->nr_unmap++] = (struct rec){ u->iova, u->unmapped, 0 };
		s->unmap_events += MS_RUN_EVENTS(u->run);
	}
}

static int cmp_rec(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;

	return x->iova < y->iova ? -1 : x->iova > y->iova;
}

/*
 * recs[0..n) must tile exactly the ranges want[] (sorted, disjoint): no gap,
 * no overlap, nothing outside.  what names them in the findings.
 */
static void expect_tiling(const char *what, struct rec *recs, size_t n, const struct map *want,
			  size_t nr_want, int need_paddr)
{
	size_t r = 0;
	uint64_t bytes = 0;

	qsort(recs, n, sizeof(*recs), cmp_rec);
	for (size_t w = 0; w < nr_want; w++) {
		uint64_t at = want[w].iova, end = want[w].iova + want[w].size;
		size_t first = r;

		while (r < n && recs[r].iova < end) {
			if (recs[r].iova != at) {
				bad("%s: record at 0x%llx, expected one at 0x%llx", what,
				    (unsigned long long)recs[r].iova, (unsigned long long)at);
				return;
			}
			if (need_paddr && !recs[r].paddr)
				bad("%s: record at 0x%llx has no physical address", what,
				    (unsigned long long)recs[r].iova);
			at += recs[r].size;
			bytes += recs[r].size;
			r++;
		}
		if (at != end) {
			bad("%s: [0x%llx, +0x%llx) covered up to 0x%llx only", what,
			    (unsigned long long)want[w].iova, (unsigned long long)want[w].size,
			    (unsigned long long)at);
			return;
		}
		printf("  %s [0x%llx, +0x%llx): %zu record%s\n", what,
		       (unsigned long long)want[w].iova, (unsigned long long)want[w].size,
		       r - first, r - first == 1 ? "" : "s");
	}
	if (r != n)
		bad("%s: %zu record(s) outside the ranges, first at 0x%llx size 0x%llx", what,
		    n - r, (unsigned long long)recs[r].iova, (unsigned long long)recs[r].size);
}

/* The tracker's dirty_tracker object: mapped_bytes and the map/unmap counts. */
static void expect_tracker(struct ms_session *s, const char *when, uint64_t mapped,
			   uint64_t maps_seen, uint64_t unmaps_seen)
{
	struct json_object *root = json_object_new_object(), *dt, *v;
	uint64_t got_mapped = UINT64_MAX, got_maps = UINT64_MAX, got_unmaps = UINT64_MAX;

	ms_report__tracker_json(s->tracker, root);
	if (json_object_object_get_ex(root, "dirty_tracker", &dt)) {
		if (json_object_object_get_ex(dt, "mapped_bytes", &v))
			got_mapped = json_object_get_uint64(v);
		if (json_object_object_get_ex(dt, "iommu_maps", &v))
			got_maps = json_object_get_uint64(v);
		if (json_object_object_get_ex(dt, "iommu_unmaps", &v))
			got_unmaps = json_object_get_uint64(v);
	}
	json_object_put(root);
	printf("  tracker %s: mapped_bytes %llu, iommu_maps %llu, iommu_unmaps %llu\n", when,
	       (unsigned long long)got_mapped, (unsigned long long)got_maps,
	       (unsigned long long)got_unmaps);
	if (got_mapped != mapped)
		bad("tracker %s: mapped_bytes %llu, expected %llu", when,
		    (unsigned long long)got_mapped, (unsigned long long)mapped);
	if (got_maps != maps_seen || got_unmaps != unmaps_seen)
		bad("tracker %s: counted %llu maps and %llu unmaps, the collectors delivered %llu "
		    "and %llu",
		    when, (unsigned long long)got_maps, (unsigned long long)got_unmaps,
		    (unsigned long long)maps_seen, (unsigned long long)unmaps_seen);
}

static int open_container(const char *addr, int *group_out)
{
	char link[PATH_MAX], target[PATH_MAX], group[64];
	struct vfio_group_status st = { .argsz = sizeof(st) };
	ssize_t n;
	int container, grp;

	snprintf(link, sizeof(link), "/sys/bus/pci/devices/%s/iommu_group", addr);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0) {
		printf("vm_iommu_map: failed to read %s: %s\n", link, strerror(errno));
		return -1;
	}
	target[n] = 0;
	snprintf(group, sizeof(group), "/dev/vfio/%s", basename(target));
	container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (container < 0) {
		printf("vm_iommu_map: failed to open /dev/vfio/vfio: %s\n", strerror(errno));
		return -1;
	}
	if (ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) != 1) {
		printf("vm_iommu_map: the container has no type1v2 IOMMU\n");
		return -1;
	}
	grp = open(group, O_RDWR | O_CLOEXEC);
	if (grp < 0) {
		printf("vm_iommu_map: failed to open %s: %s\n", group, strerror(errno));
		return -1;
	}
	if (ioctl(grp, VFIO_GROUP_GET_STATUS, &st) < 0 || !(st.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		printf("vm_iommu_map: %s is not viable (every device of the group must be bound "
		       "to vfio-pci)\n",
		       group);
		return -1;
	}
	if (ioctl(grp, VFIO_GROUP_SET_CONTAINER, &container) < 0 ||
	    ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0) {
		printf("vm_iommu_map: failed to set up the type1 container for %s: %s\n", group,
		       strerror(errno));
		return -1;
	}
	printf("  %s: group %s, type1v2 container\n", addr, group);
	*group_out = grp;
	return container;
}

static int dma_map(int container, const struct map *m)
{
	struct vfio_iommu_type1_dma_map dm = {
		.argsz = sizeof(dm),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)m->buf,
		.iova = m->iova,
		.size = m->size,
	};

	if (ioctl(container, VFIO_IOMMU_MAP_DMA, &dm) < 0) {
		bad("failed to map [0x%llx, +0x%llx): %s", (unsigned long long)m->iova,
		    (unsigned long long)m->size, strerror(errno));
		return -1;
	}
	return 0;
}

static int dma_unmap(int container, const struct map *m)
{
	struct vfio_iommu_type1_dma_unmap du = {
		.argsz = sizeof(du),
		.iova = m->iova,
		.size = m->size,
	};

	if (ioctl(container, VFIO_IOMMU_UNMAP_DMA, &du) < 0 || du.size != m->size) {
		bad("failed to unmap [0x%llx, +0x%llx): %s", (unsigned long long)m->iova,
		    (unsigned long long)m->size, strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct ms_session_opts so = { .argc = argc, .argv = argv };
	static struct seen seen;
	struct ms_collect_opts co = { .groups = MS_COLLECT_IOMMU };
	const struct ms_collector_status *st;
	struct ms_collect *c = NULL;
	struct ms_session *s;
	char err[MS_ERR_LEN];
	pid_t self = getpid();
	int container = -1, group = -1;
	uint64_t total = 0;
	size_t nst;
	uint64_t base_maps = 0, base_unmaps = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: vm_iommu_map PCI-ADDRESS (a device bound to vfio-pci)\n");
		return 2;
	}
	s = ms_session__new(&so, err, sizeof(err));
	if (!s) {
		printf("vm_iommu_map: %s\n", err);
		return 1;
	}
	ms_bus__subscribe(&s->bus, MS_EV_BIT(MS_EV_IOMMU_MAP) | MS_EV_BIT(MS_EV_IOMMU_UNMAP),
			  on_event, &seen);
	/* only this process's maps: the kernel's own DMA API maps go through the same IOMMU */
	co.iommu_pids = &self;
	co.nr_iommu_pids = 1;
	c = ms_collect__open(&s->stream, &co, err, sizeof(err));
	if (!c) {
		printf("vm_iommu_map: %s\n", err);
		goto out;
	}
	nst = ms_collect__status(c, &st);
	for (size_t i = 0; i < nst; i++)
		if ((!strcmp(st[i].name, "iommu_map") || !strcmp(st[i].name, "iommu_unmap")) &&
		    st[i].state != MS_COLLECTOR_ATTACHED)
			bad("collector %s not attached: %s", st[i].name, st[i].reason);
	if (failures)
		goto out;

	container = open_container(argv[1], &group);
	if (container < 0) {
		failures++;
		goto out;
	}
	/*
	 * Attaching the group maps and unmaps two pages itself (type1 probes
	 * whether the IOMMU splits superpages): whatever it maps it unmaps, so the
	 * mapped set must be empty again before our maps.
	 */
	ms_collect__poll(c);
	base_maps = seen.map_events;
	base_unmaps = seen.unmap_events;
	printf("  container set-up: %zu map and %zu unmap record(s) of %llu and %llu events\n",
	       seen.nr_map, seen.nr_unmap, (unsigned long long)base_maps,
	       (unsigned long long)base_unmaps);
	expect_tracker(s, "after the set-up", 0, base_maps, base_unmaps);
	seen.nr_map = seen.nr_unmap = 0;
	seen.map_events = seen.unmap_events = 0;
	for (size_t i = 0; i < NR_MAPS; i++) {
		maps[i].buf = mmap(NULL, maps[i].size, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		if (maps[i].buf == MAP_FAILED) {
			bad("failed to allocate 0x%llx bytes: %s", (unsigned long long)maps[i].size,
			    strerror(errno));
			goto out;
		}
		if (dma_map(container, &maps[i]))
			goto out;
		total += maps[i].size;
	}
	ms_collect__poll(c);
	expect_tiling("map", seen.map, seen.nr_map, maps, NR_MAPS, 1);
	if (seen.nr_unmap)
		bad("%zu unmap records before any unmap", seen.nr_unmap);
	expect_tracker(s, "after the maps", total, base_maps + seen.map_events, base_unmaps);

	/* the middle one first: the mapped set must lose exactly that */
	if (dma_unmap(container, &maps[1]))
		goto out;
	ms_collect__poll(c);
	expect_tiling("unmap", seen.unmap, seen.nr_unmap, &maps[1], 1, 0);
	expect_tracker(s, "after one unmap", total - maps[1].size, base_maps + seen.map_events,
		       base_unmaps + seen.unmap_events);

	if (dma_unmap(container, &maps[0]) || dma_unmap(container, &maps[2]))
		goto out;
	ms_collect__poll(c);
	expect_tiling("unmap", seen.unmap, seen.nr_unmap, maps, NR_MAPS, 0);
	expect_tracker(s, "after every unmap", 0, base_maps + seen.map_events,
		       base_unmaps + seen.unmap_events);
	if (seen.map_events < seen.nr_map || seen.unmap_events < seen.nr_unmap)
		bad("fewer events than records: %llu maps in %zu records, %llu unmaps in %zu",
		    (unsigned long long)seen.map_events, seen.nr_map,
		    (unsigned long long)seen.unmap_events, seen.nr_unmap);
	if (seen.overflow)
		bad("more than %d records", MAX_RECS);
out:
	if (c)
		ms_collect__close(c);
	if (group >= 0)
		close(group);
	if (container >= 0)
		close(container);
	ms_session__free(s);
	if (failures) {
		printf("vm_iommu_map: %d finding(s) against the real mappings\n", failures);
		return 1;
	}
	printf("vm_iommu_map: %zu map and %zu unmap records (runs of %llu and %llu events) tile the "
	       "%zu mappings (%llu bytes) exactly; the mapped set followed to 0\n",
	       seen.nr_map, seen.nr_unmap, (unsigned long long)seen.map_events,
	       (unsigned long long)seen.unmap_events, NR_MAPS, (unsigned long long)total);
	return 0;
}
