// SPDX-License-Identifier: GPL-2.0-only
/*
 * The kernel collectors, agent side: open -> configure -> probe and set
 * autoload -> load -> fill the device filter -> attach; then the ring buffer
 * is read into the session until close.  See include/migscope/collect.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "collect_int.h"
#include "dma.skel.h"
#include "iommu.skel.h"
#include "vfio.skel.h"

#define DEFAULT_RINGBUF (4u << 20)
#define DEFAULT_POLL_NS 20000000ull
#define MAX_PROGS	64
_Static_assert(MAX_PROGS <= MS_RING_MAX_PROGS, "every attached program is watched for recursion misses");

struct ms_collect {
	struct ms_stream *s;
	struct iommu_bpf *iommu;
	struct dma_bpf *dma;
	struct vfio_bpf *vfio;
	struct ms_status_list status;
	struct bpf_program *progs[MAX_PROGS]; /* by status index */
	struct bpf_link *links[MAX_PROGS];
	struct ms_ring ring;
	uint64_t poll_ns;
	uint32_t nr_watched;
	uint32_t name_reads; /* MS_BPF_NAME_*: how the programs read device names */
	/* the device filter, placed before the load (its seed is rodata) */
	uint64_t dev_seed;
	struct ms_bpf_dev devtab[MS_BPF_DEV_TABLE];
	/* the maps every object shares, owned by the first object loaded */
	int events_fd, devs_fd, counters_fd, runs_fd;
	int flush_fd;			       /* the first ms_flush that loaded (any flushes all) */
	int ncpus;
	struct ms_bpf_run *percpu_run;	       /* one key's runs of every CPU (offline CPUs) */
	const struct ms_bpf_live_bucket *live; /* dma's live-mapping table, mapped */
	struct ms_rejects rejects;		/* of the group being loaded */
};

/*
 * dma_map_page/dma_unmap_page and dma_map_resource/dma_unmap_resource
 * (6.12-6.16) became dma_map_phys/dma_unmap_phys in 6.17: a kernel has one
 * generation or the other, and the missing one is not worth a line.
 */
static const struct {
	const char *tp, *other;
} generations[] = {
	{ "dma_map_page", "dma_map_phys" },	{ "dma_unmap_page", "dma_unmap_phys" },
	{ "dma_map_resource", "dma_map_phys" }, { "dma_unmap_resource", "dma_unmap_phys" },
	{ "dma_map_phys", "dma_map_page" },	{ "dma_unmap_phys", "dma_unmap_page" },
};

/* Why a raw_tp program cannot attach here, or 0 if it can. */
static int raw_tp_missing(const char *tp, struct ms_collector_status *st)
{
	if (ms_probe__tracepoint(tp))
		return 0;
	for (size_t i = 0; i < sizeof(generations) / sizeof(generations[0]); i++)
		if (!strcmp(generations[i].tp, tp) && ms_probe__tracepoint(generations[i].other)) {
			ms_status__set(st, MS_COLLECTOR_SKIPPED, "this kernel has %s instead",
				       generations[i].other);
			st->quiet = 1;
			return 1;
		}
	ms_status__set(st, MS_COLLECTOR_SKIPPED, "no tracepoint %s in this kernel%s", tp,
		       !strncmp(tp, "dma_", 4) ? " (the dma tracepoints are 6.12+)" : "");
	return 1;
}

/* Why a fentry/fexit program cannot load here, or 0 if it can. */
static int tracing_missing(const char *fn, struct ms_collector_status *st)
{
	int fentry = ms_probe__fentry();

	if (!ms_probe__kfunc(fn)) {
		ms_status__set(st, MS_COLLECTOR_SKIPPED,
			       "not in this kernel (VFIO/iommufd not built or not loaded)%s%s",
			       fentry ? "; fentry is refused here too: " : "",
			       fentry ? strerror(-fentry) : "");
		return 1;
	}
	if (fentry) {
		ms_status__set(st, MS_COLLECTOR_SKIPPED, "fentry/fexit refused by this kernel: %s",
			       strerror(-fentry));
		return 1;
	}
	return 0;
}

/*
 * Add a status row per program and turn off the programs this kernel cannot
 * run.  With no_attach (tests), raw_tp programs load whatever the kernel's
 * tracepoints: bpf_prog_test_run drives them.
 */
static int arc_program(const char *name)
{
	return !strcmp(name, "vfio_ioctl_enter") || !strcmp(name, "vfio_ioctl_exit") ||
	       !strcmp(name, "vfio_mig_get_next_state");
}

static void probe_programs(struct ms_collect *c, const char *group, struct bpf_object *obj,
			   const struct ms_collect_opts *o)
{
	int no_attach = o->no_attach;

	struct bpf_program *p;

	bpf_object__for_each_program(p, obj)
	{
		const char *sec = bpf_program__section_name(p);
		const char *target = strchr(sec, '/') ? strchr(sec, '/') + 1 : "";
		struct ms_collector_status *st;
		int off = 0;

		if (!strcmp(bpf_program__name(p), "ms_flush"))
			continue; /* not a collector: the agent runs it, it is never attached */
		if (c->status.nr == MAX_PROGS)
			st = NULL;
		else
			st = ms_status__add(&c->status, group, bpf_program__name(p), sec);
		if (!st)
			off = 1;
		else if (o->arc_witness && !arc_program(bpf_program__name(p))) {
			ms_status__set(st, MS_COLLECTOR_SKIPPED, "not a witness of migration arcs");
			st->quiet = 1;
			off = 1;
		} else if (!strncmp(sec, "raw_tp/", 7))
			off = !no_attach && raw_tp_missing(target, st);
		else
			off = tracing_missing(target, st);
		if (off)
			bpf_program__set_autoload(p, false);
		if (st)
			c->progs[c->status.nr - 1] = p;
	}
}

static int share_maps(struct ms_collect *c, struct bpf_object *obj, uint32_t ringbuf_bytes)
{
	struct bpf_map *events = bpf_object__find_map_by_name(obj, "ms_events");
	struct bpf_map *devs = bpf_object__find_map_by_name(obj, "ms_devs");
	struct bpf_map *counters = bpf_object__find_map_by_name(obj, "ms_counters");
	struct bpf_map *runs = bpf_object__find_map_by_name(obj, "ms_runs");
	int err;

	if (c->events_fd < 0)
		return bpf_map__set_max_entries(events, ringbuf_bytes);
	err = bpf_map__reuse_fd(events, c->events_fd);
	if (!err)
		err = bpf_map__reuse_fd(devs, c->devs_fd);
	if (!err)
		err = bpf_map__reuse_fd(counters, c->counters_fd);
	if (!err)
		err = bpf_map__reuse_fd(runs, c->runs_fd);
	return err;
}

static int load_skeleton(void *skel)
{
	return bpf_object__load_skeleton(skel);
}

/*
 * Load one object without the programs rej names.  A program the verifier
 * refuses is added to rej and -EAGAIN returned: the caller reopens the object
 * and tries again without it.  A failure of the whole object skips its
 * programs with the reason and leaves the other objects running.
 */
static int load_group(struct ms_collect *c, const char *group, struct bpf_object_skeleton *skel,
		      struct bpf_object *obj, const struct ms_collect_opts *o,
		      uint32_t ringbuf_bytes, struct ms_rejects *rej)
{
	size_t first = c->status.nr;
	int err;

	probe_programs(c, group, obj, o);
	ms_load__apply(obj, rej);
	err = share_maps(c, obj, ringbuf_bytes);
	if (!err)
		err = ms_load__try(obj, load_skeleton, skel, rej);
	if (err == -EAGAIN) {
		c->status.nr = first; /* the rows are made again with the new object */
		return err;
	}
	for (size_t i = first; i < c->status.nr; i++) {
		struct ms_collector_status *st = &c->status.st[i];
		const char *why = ms_load__reason(rej, st->name);

		if (why)
			ms_status__set(st, MS_COLLECTOR_SKIPPED, "%s", why);
		if (!bpf_program__autoload(c->progs[i]))
			continue;
		if (err)
			ms_status__set(st, MS_COLLECTOR_SKIPPED, "failed to load: %s",
				       strerror(-err));
		else
			ms_status__set(st, MS_COLLECTOR_LOADED, "%s",
				       o->no_attach ? "not attached (load only)" : "");
	}
	if (err)
		return err;
	if (c->events_fd < 0) {
		c->events_fd = bpf_object__find_map_fd_by_name(obj, "ms_events");
		c->devs_fd = bpf_object__find_map_fd_by_name(obj, "ms_devs");
		c->counters_fd = bpf_object__find_map_fd_by_name(obj, "ms_counters");
		c->runs_fd = bpf_object__find_map_fd_by_name(obj, "ms_runs");
	}
	/* any object's flush flushes the shared runs; one whose flush was refused makes none */
	if (c->flush_fd < 0 && !ms_load__reason(rej, "ms_flush"))
		c->flush_fd = bpf_program__fd(bpf_object__find_program_by_name(obj, "ms_flush"));
	return 0;
}

static void name_words(const char *name, __u64 w[MS_BPF_NAME_WORDS])
{
	memset(w, 0, MS_BPF_NAME_WORDS * sizeof(*w));
	memcpy(w, name, strlen(name));
}

/* Put w in c->devtab at most MS_BPF_DEV_PROBES slots after its home; the slot or -1. */
static int place_name(struct ms_collect *c, const __u64 *w)
{
	uint32_t home = ms_bpf_dev_home(w, c->dev_seed);

	for (uint32_t p = 0; p < MS_BPF_DEV_PROBES; p++) {
		uint32_t k = (home + p) & (MS_BPF_DEV_TABLE - 1);

		if (!c->devtab[k].name[0]) {
			memcpy(c->devtab[k].name, w, sizeof(c->devtab[k].name));
			return (int)k;
		}
	}
	return -1;
}

/*
 * The session's host devices, checked and placed in the filter table before
 * anything is loaded: the programs look a name up at most
 * MS_BPF_DEV_PROBES slots from its home, so the seed is the first one with
 * which every name fits (with 64 names in 256 slots, nearly always the
 * first tried).
 */
/* The i-th device to watch: from opts->watch, or the session's host devices. */
static int watched(struct ms_collect *c, const struct ms_collect_opts *o, uint32_t i,
		   const char **name, uint32_t *id)
{
	const struct ms_devices *d = c->s->devices;
	const struct ms_device_info *di;

	if (o->watch) {
		if (i >= o->nr_watch)
			return -1;
		*name = o->watch[i].name;
		*id = o->watch[i].id;
		return 1;
	}
	if (i >= d->nr)
		return -1;
	di = ms_devices__get(d, i);
	if (!di || di->kind != MS_DEV_KIND_HOST)
		return 0;
	*name = di->name;
	*id = i;
	return 1;
}

static int build_filter(struct ms_collect *c, const struct ms_collect_opts *o, char *err,
			size_t errlen)
{
	const char *name;
	uint32_t id;
	int w;

	for (uint32_t i = 0; (w = watched(c, o, i, &name, &id)) >= 0; i++) {
		if (!w)
			continue;
		if (!name[0] || strlen(name) >= MS_BPF_DEV_NAME_LEN) {
			snprintf(err, errlen,
				 "host device name '%s' cannot go in the kernel filter (1 to %d "
				 "characters)",
				 name, MS_BPF_DEV_NAME_LEN - 1);
			return name[0] ? -ENAMETOOLONG : -EINVAL;
		}
		if (c->nr_watched == MS_BPF_MAX_DEVS) {
			snprintf(err, errlen, "more than %d host devices to watch",
				 MS_BPF_MAX_DEVS);
			return -E2BIG;
		}
		c->nr_watched++;
	}
	for (uint32_t attempt = 0; attempt < 1000; attempt++) {
		uint32_t slot = 0, i;
		int placed = 1;

		c->dev_seed = attempt * 0x9e3779b97f4a7c15ull;
		memset(c->devtab, 0, sizeof(c->devtab));
		for (i = 0; placed && (w = watched(c, o, i, &name, &id)) >= 0; i++) {
			__u64 words[MS_BPF_NAME_WORDS];
			int k;

			if (!w)
				continue;
			name_words(name, words);
			k = place_name(c, words);
			if (k < 0) {
				placed = 0;
				break;
			}
			c->devtab[k].id = id;
			c->devtab[k].slot = slot++;
		}
		if (placed)
			return 0;
	}
	snprintf(err, errlen, "failed to place %u device names in the kernel filter",
		 c->nr_watched);
	return -ENOSPC;
}

static int fill_devices(struct ms_collect *c, char *err, size_t errlen)
{
	for (uint32_t k = 0; k < MS_BPF_DEV_TABLE; k++) {
		const struct ms_bpf_dev *e = &c->devtab[k];

		if (!e->name[0])
			continue;
		if (bpf_map_update_elem(c->devs_fd, &k, e, BPF_ANY)) {
			snprintf(err, errlen, "failed to watch device '%.*s': %s",
				 MS_BPF_DEV_NAME_LEN, (const char *)e->name, strerror(errno));
			return -errno;
		}
		ms_ring__set_slot(&c->ring, e->slot, e->id);
	}
	return 0;
}

static void set_tgids(struct iommu_bpf *iommu, const struct ms_collect_opts *o)
{
	iommu->rodata->nr_tgids = (__u32)o->nr_iommu_pids;
	for (size_t i = 0; i < o->nr_iommu_pids; i++)
		iommu->rodata->tgids[i] = (__u32)o->iommu_pids[i];
}

/* The live-mapping table, mapped read-only: the agent reads it while the programs write. */
static int map_live(struct ms_collect *c, char *err, size_t errlen)
{
	void *p = mmap(NULL, sizeof(*c->live) * MS_BPF_LIVE_BUCKETS, PROT_READ, MAP_SHARED,
		       bpf_map__fd(c->dma->maps.ms_live), 0);

	if (p == MAP_FAILED) {
		snprintf(err, errlen, "failed to map the live-mapping table: %s", strerror(errno));
		return -errno;
	}
	c->live = p;
	return 0;
}

static void attach_all(struct ms_collect *c)
{
	for (size_t i = 0; i < c->status.nr; i++) {
		struct ms_collector_status *st = &c->status.st[i];

		if (st->state != MS_COLLECTOR_LOADED)
			continue;
		c->links[i] = bpf_program__attach(c->progs[i]);
		if (c->links[i]) {
			ms_status__set(st, MS_COLLECTOR_ATTACHED, "%s", "");
			/* cannot fail: MAX_PROGS <= MS_RING_MAX_PROGS (asserted above) */
			ms_ring__watch_prog(&c->ring, bpf_program__fd(c->progs[i]));
		}
		else
			ms_status__set(st, MS_COLLECTOR_LOADED, "failed to attach: %s",
				       strerror(errno));
	}
}

/*
 * Open skeleton T into c->field, set the rodata every collector shares, then
 * extra; load it as group name.  A program the verifier refuses is left out
 * and the object opened again without it (its row says why); a group the
 * kernel refuses as a whole is destroyed, its programs say why, and the
 * others go on.
 */
#define OPEN_GROUP(field, T, name, extra)                                                          \
	do {                                                                                       \
		int __err;                                                                         \
		memset(&c->rejects, 0, sizeof(c->rejects));                                        \
		do {                                                                               \
			c->field = T##__open();                                                    \
			if (!c->field)                                                             \
				goto fail_open;                                                    \
			c->field->rodata->wake_mask = wake_mask;                                   \
			c->field->rodata->nr_watched = c->nr_watched;                              \
			c->field->rodata->dev_seed = c->dev_seed;                                  \
			c->field->rodata->name_reads = c->name_reads;                              \
			c->field->rodata->run_window_ns =                                          \
			    ms_load__reason(&c->rejects, "ms_flush") ? 0 : run_window;             \
			extra;                                                                     \
			__err = load_group(c, name, c->field->skeleton, c->field->obj, o, ringbuf, \
					   &c->rejects);                                           \
			if (__err) {                                                               \
				T##__destroy(c->field);                                            \
				c->field = NULL;                                                   \
			}                                                                          \
		} while (__err == -EAGAIN);                                                        \
	} while (0)

static int flush_hook(void *ctx);

struct ms_collect *ms_collect__open(struct ms_stream *s, const struct ms_collect_opts *opts,
				    char *err, size_t errlen)
{
	static const struct ms_collect_opts defaults;
	const struct ms_collect_opts *o = opts ? opts : &defaults;
	unsigned int groups = o->arc_witness ? MS_COLLECT_VFIO
			      : o->groups   ? o->groups
					    : MS_COLLECT_ALL;
	uint32_t ringbuf = o->ringbuf_bytes ? o->ringbuf_bytes : DEFAULT_RINGBUF;
	uint64_t wake = o->wakeup_bytes ? o->wakeup_bytes : ringbuf / 4, wake_mask;
	uint64_t run_window = o->run_window_ns == MS_COLLECT_NO_RUNS ? 0
			      : o->run_window_ns		     ? o->run_window_ns
								     : MS_BPF_RUN_WINDOW_NS;
	struct ms_collect *c;
	int ret;

	ms_bpf__init_libbpf();
	c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "failed to allocate collectors: %s", strerror(ENOMEM));
		return NULL;
	}
	/* a power of two, at most the ring: the BPF side counts boundaries */
	while (wake & (wake - 1))
		wake &= wake - 1;
	wake_mask = (wake < ringbuf ? wake : ringbuf) - 1;
	c->s = s;
	c->poll_ns = o->poll_ns ? o->poll_ns : DEFAULT_POLL_NS;
	c->events_fd = c->devs_fd = c->counters_fd = c->runs_fd = c->flush_fd = -1;
	if (run_window > UINT32_MAX) {
		snprintf(err, errlen, "run window of %" PRIu64 " ns: at most %u ns", run_window,
			 UINT32_MAX);
		goto fail;
	}
	c->ncpus = libbpf_num_possible_cpus();
	if (c->ncpus <= 0) {
		snprintf(err, errlen, "failed to count the CPUs: %s", strerror(-c->ncpus));
		goto fail;
	}
	c->percpu_run = calloc((size_t)c->ncpus, sizeof(*c->percpu_run));
	if (!c->percpu_run) {
		snprintf(err, errlen, "failed to allocate collectors: %s", strerror(ENOMEM));
		goto fail;
	}
	if (ms_probe__bpf(err, errlen) || build_filter(c, o, err, errlen))
		goto fail;
	if (o->nr_iommu_pids > MS_BPF_MAX_TGIDS) {
		snprintf(err, errlen, "more than %d QEMU processes to watch", MS_BPF_MAX_TGIDS);
		goto fail;
	}
	c->name_reads = o->name_reads ? (uint32_t)o->name_reads : (uint32_t)ms_probe__name_reads();

	if (groups & MS_COLLECT_IOMMU)
		OPEN_GROUP(iommu, iommu_bpf, "iommu", set_tgids(c->iommu, o));
	if (groups & MS_COLLECT_DMA)
		OPEN_GROUP(dma, dma_bpf, "dma", (void)0);
	if (c->dma && map_live(c, err, errlen))
		goto fail;
	if (groups & MS_COLLECT_VFIO)
		OPEN_GROUP(vfio, vfio_bpf, "vfio", {
			c->vfio->rodata->page_size = (uint64_t)sysconf(_SC_PAGESIZE);
			c->vfio->rodata->arc_type = o->arc_witness ? MS_EV_KERNEL_ARC
								   : MS_EV_DEV_STATE;
		});
	if (c->events_fd < 0) {
		snprintf(err, errlen, "no BPF collector could be loaded (see 'migscope features')");
		goto fail;
	}
	ret = ms_ring__init(&c->ring, s, c->events_fd, c->counters_fd, NULL, NULL, MS_SOURCE_BPF);
	if (ret) {
		snprintf(err, errlen, "failed to read the BPF ring buffer: %s", strerror(-ret));
		goto fail;
	}
	c->ring.flush = flush_hook;
	c->ring.flush_ctx = c;
	if (fill_devices(c, err, errlen))
		goto fail;
	if (!o->no_attach)
		attach_all(c);
	ms_status__note_skipped(&c->status);
	return c;

fail_open:
	snprintf(err, errlen, "failed to open BPF collectors: %s", strerror(errno));
fail:
	ms_collect__close(c);
	return NULL;
}

/* --- the pending runs (bpf/runs.bpf.h) ------------------------------------------------ */

/* Tries of a CPU's flush while a program it interrupted holds a run (each try is an IPI). */
#define FLUSH_TRIES 1000

/*
 * Run r, read from the map of an offline CPU, as the record the kernel would
 * have made of it.  Nothing runs there to flush it or to change it, and it
 * stays until the CPU comes back: it is published at every flush until then
 * (the same pages again: never fewer).
 */
static void publish_offline_run(struct ms_collect *c, const struct ms_bpf_run *r)
{
	union {
		struct ms_event_hdr hdr;
		struct ms_ev_dma_write w;
		struct ms_ev_iommu_map m;
		struct ms_ev_iommu_unmap u;
	} ev;
	uint64_t span = r->last_ns - r->first_ns;
	struct ms_run run = { r->count, span > UINT32_MAX ? UINT32_MAX : (uint32_t)span };

	memset(&ev, 0, sizeof(ev));
	switch (r->type) {
	case MS_EV_DMA_WRITE:
		MS_EVENT_INIT(&ev.w, MS_EV_DMA_WRITE, ms_ev_dma_write, r->dev, r->last_ns);
		ev.w.iova = r->iova;
		ev.w.len = r->len;
		ev.w.source = (uint32_t)r->aux;
		ev.w.dir = (uint32_t)(r->aux >> 32);
		ev.w.run = run;
		break;
	case MS_EV_IOMMU_MAP:
		MS_EVENT_INIT(&ev.m, MS_EV_IOMMU_MAP, ms_ev_iommu_map, r->dev, r->last_ns);
		ev.m.iova = r->iova;
		ev.m.paddr = r->aux;
		ev.m.size = r->len;
		ev.m.run = run;
		break;
	case MS_EV_IOMMU_UNMAP:
		MS_EVENT_INIT(&ev.u, MS_EV_IOMMU_UNMAP, ms_ev_iommu_unmap, r->dev, r->last_ns);
		ev.u.iova = r->iova;
		ev.u.size = r->len;
		ev.u.unmapped = r->aux;
		ev.u.run = run;
		break;
	default:
		return;
	}
	ms_ring__publish(&c->ring, &ev.hdr);
}

static int flush_offline_cpu(struct ms_collect *c, int cpu)
{
	for (__u32 k = 0; k < MS_BPF_RUNS; k++) {
		if (bpf_map_lookup_elem(c->runs_fd, &k, c->percpu_run))
			return -errno;
		if (c->percpu_run[cpu].type && !c->percpu_run[cpu].busy)
			publish_offline_run(c, &c->percpu_run[cpu]);
	}
	return 0;
}

/*
 * ms_flush on CPU cpu until it leaves no run behind.  It runs there in an
 * IPI (or right here, on our own CPU), so a program it finds holding a run
 * is one it interrupted: that one finishes as soon as the IPI returns, and
 * the next try flushes what it left.
 */
static int flush_cpu(struct ms_collect *c, int cpu)
{
	__u64 ctx = 0;
	LIBBPF_OPTS(bpf_test_run_opts, t, .ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
		    .flags = BPF_F_TEST_RUN_ON_CPU, .cpu = (__u32)cpu);

	for (int tries = 0; tries < FLUSH_TRIES; tries++) {
		if (bpf_prog_test_run_opts(c->flush_fd, &t))
			return errno == ENXIO ? flush_offline_cpu(c, cpu) : -errno;
		if (!t.retval)
			return 0;
	}
	/* a run held that long is not ordered against this read: every device widens */
	ms_ring__loss(&c->ring, MS_DEV_NONE, MS_LOSS_SOURCE_ERROR, t.retval);
	return 0;
}

int ms_collect__flush(struct ms_collect *c)
{
	if (c->flush_fd < 0)
		return 0;
	for (int cpu = 0; cpu < c->ncpus; cpu++) {
		int err = flush_cpu(c, cpu);

		if (err)
			return err;
	}
	return 0;
}

static int flush_hook(void *ctx)
{
	return ms_collect__flush(ctx);
}

int ms_collect__add_to_loop(struct ms_collect *c, struct ms_loop *l)
{
	return ms_ring__add_to_loop(&c->ring, l, c->poll_ns);
}

int ms_collect__poll(struct ms_collect *c)
{
	return ms_ring__poll(&c->ring);
}

/*
 * Slot s of bucket bk as it was at one moment: seq, the fields, seq again
 * (the programs change a slot's fields only while it is BUSY).  0 when it
 * holds no live buffer; a slot freed while we read was unmapped, and its
 * unmap made the record.
 */
static int live_read(const struct ms_bpf_live_bucket *bk, int s, struct ms_ev_dma_write *ev,
		     uint32_t *dev)
{
	for (;;) {
		__u64 seq = __atomic_load_n(&bk->slot[s].seq, __ATOMIC_ACQUIRE);

		if (MS_LIVE_STATE(seq) != MS_LIVE_LIVE)
			return 0;
		ev->iova = __atomic_load_n(&bk->slot[s].addr, __ATOMIC_RELAXED);
		ev->len = __atomic_load_n(&bk->slot[s].len, __ATOMIC_RELAXED);
		*dev = __atomic_load_n(&bk->slot[s].dev, __ATOMIC_RELAXED);
		ev->dir = __atomic_load_n(&bk->slot[s].dir, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&bk->slot[s].seq, __ATOMIC_RELAXED) == seq)
			return 1;
	}
}

int ms_collect__publish_live_mappings(struct ms_collect *c)
{
	int n = 0;

	if (!c->live)
		return 0;
	for (uint32_t b = 0; b < MS_BPF_LIVE_BUCKETS; b++) {
		for (int s = 0; s < MS_BPF_LIVE_BUCKET; s++) {
			struct ms_ev_dma_write ev = { 0 };
			uint32_t dev;

			if (!live_read(&c->live[b], s, &ev, &dev))
				continue;
			MS_EVENT_INIT(&ev, MS_EV_DMA_WRITE, ms_ev_dma_write, dev, ms_now_ns());
			ev.source = MS_SRC_DMA_UNMAP;
			ms_ring__publish(&c->ring, &ev.hdr);
			n++;
		}
	}
	return n;
}

size_t ms_collect__status(const struct ms_collect *c, const struct ms_collector_status **st)
{
	*st = c->status.st;
	return c->status.nr;
}

int ms_collect__claim_thread(struct ms_collect *c, uint32_t dev)
{
	struct ms_bpf_call call = { .id = dev, .slot = MS_BPF_SLOT_NONE };
	__u32 tid = (__u32)gettid();
	int fd;

	if (!c->vfio)
		return -ENOENT;
	fd = bpf_map__fd(c->vfio->maps.ms_vfio_calls);
	if (dev == MS_DEV_NONE)
		return bpf_map_delete_elem(fd, &tid) && errno != ENOENT ? -errno : 0;
	/* a watched device's drops are its own; any other's are every device's */
	for (uint32_t k = 0; k < MS_BPF_DEV_TABLE; k++)
		if (c->devtab[k].name[0] && c->devtab[k].id == dev)
			call.slot = c->devtab[k].slot;
	return bpf_map_update_elem(fd, &tid, &call, BPF_ANY) ? -errno : 0;
}

int ms_collect__prog_fd(const struct ms_collect *c, const char *name)
{
	for (size_t i = 0; i < c->status.nr; i++)
		if (!strcmp(c->status.st[i].name, name) &&
		    c->status.st[i].state != MS_COLLECTOR_SKIPPED)
			return bpf_program__fd(c->progs[i]);
	return -ENOENT;
}

void ms_collect__close(struct ms_collect *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < MAX_PROGS; i++)
		bpf_link__destroy(c->links[i]);
	if (c->ring.consumer_pos) {
		/* detached: nothing changes under us any more */
		ms_ring__poll(&c->ring);
		ms_collect__publish_live_mappings(c);
		ms_ring__fini(&c->ring);
	}
	if (c->live)
		munmap((void *)c->live, sizeof(*c->live) * MS_BPF_LIVE_BUCKETS);
	vfio_bpf__destroy(c->vfio);
	dma_bpf__destroy(c->dma);
	iommu_bpf__destroy(c->iommu);
	ms_status__free(&c->status);
	free(c->percpu_run);
	free(c);
}
