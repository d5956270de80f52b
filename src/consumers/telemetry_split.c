// SPDX-License-Identifier: GPL-2.0-only
/*
 * Both sides of the VM's downtime (docs/telemetry.md, "Both sides"): how much
 * of it was the source stopping and saving, the state in flight, and the
 * destination loading and resuming.
 *
 * The two QEMUs work at once (the destination loads RAM and devices while the
 * source still sends), so the parts are not each side's busy time but
 * consecutive intervals of the downtime cut at the marks that hand the work
 * on: the source saved its last section, the destination starts on what was
 * left, has loaded everything, runs the VM.  Each interval goes to the side
 * that was still to finish, so the parts add up to the downtime by
 * construction; what lies after the destination's resume inside QEMU's clock
 * (QEMU < 8.2 stops it only once the source has completed) is unaccounted,
 * and says why.
 */
#include <string.h>

#include <migscope/qemu.h>
#include <migscope/telemetry.h>

/* vmstate_downtime_checkpoint names of the destination (ms_qemu_checkpoint_name order) */
#define CKPT_SRC_NON_ITERABLE_SAVED 3
#define CKPT_DST_LOADVM_COMPLETED   5
#define CKPT_DST_VM_STARTED	    8

static uint64_t clamp64(uint64_t v, uint64_t lo, uint64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

static int is_kind(const struct ms_devices *d, uint32_t id, uint16_t kind, uint16_t role)
{
	const struct ms_device_info *info = ms_devices__get(d, id);

	return info && info->kind == kind && info->role == role;
}

/* The source's last section saved inside [s, e]: 10.0's checkpoint, else 7.2's section ends. */
static int source_saved(const struct ms_telemetry *t, const struct ms_devices *d, uint64_t s,
			uint64_t e, struct ms_tm_split *sp)
{
	uint64_t ck = t->checkpoints[CKPT_SRC_NON_ITERABLE_SAVED], last = 0;

	if (ck && ck >= s && ck <= e) {
		sp->saved_ns = ck;
		sp->saved_by = "src-non-iterable-saved";
		return 1;
	}
	for (uint32_t id = 0; id < t->nr; id++) {
		const struct ms_tm_device *dev = &t->dev[id];

		if (!is_kind(d, id, MS_DEV_KIND_QEMU_SECTION, MS_ROLE_SOURCE))
			continue;
		for (uint32_t i = 0; i < dev->saves.nr; i++)
			if (dev->saves.v[i].end_ns >= s && dev->saves.v[i].end_ns <= e &&
			    dev->saves.v[i].end_ns > last)
				last = dev->saves.v[i].end_ns;
	}
	if (!last)
		return 0;
	sp->saved_ns = last;
	sp->saved_by = "savevm_section_end";
	return 1;
}

/*
 * The destination's loads ending after s: where it starts on what is left at
 * from (loading then, else its first load after; from when it loads nothing
 * after), its first load that starts after from (UINT64_MAX: none), and where
 * it has loaded everything (its last load's end).  0 without any load.
 */
static int dest_loads(const struct ms_telemetry *t, const struct ms_devices *d, uint64_t s,
		      uint64_t from, uint64_t *start, uint64_t *first, uint64_t *loaded)
{
	uint64_t next = UINT64_MAX, busy = 0, last = 0;

	for (uint32_t id = 0; id < t->nr; id++) {
		const struct ms_tm_device *dev = &t->dev[id];

		if (!is_kind(d, id, MS_DEV_KIND_QEMU_SECTION, MS_ROLE_DEST))
			continue;
		for (uint32_t i = 0; i < dev->loads.nr; i++) {
			const struct ms_tm_span *sp = &dev->loads.v[i];

			if (sp->end_ns < s)
				continue;
			if (sp->end_ns > last)
				last = sp->end_ns;
			if (sp->start_ns <= from && sp->end_ns > from)
				busy = 1;
			else if (sp->start_ns > from && sp->start_ns < next)
				next = sp->start_ns;
		}
	}
	if (!last)
		return 0;
	*start = busy || next == UINT64_MAX ? from : next;
	*first = next;
	*loaded = last;
	return 1;
}

/* The destination's resume at or after s: its RESUME (QMP or trace), else 8.2+'s checkpoint. */
static int dest_running(const struct ms_telemetry *t, uint32_t vm, uint64_t s,
			struct ms_tm_split *sp)
{
	uint64_t ck = t->checkpoints[CKPT_DST_VM_STARTED];

	uint64_t first = UINT64_MAX;

	/* its trace's runstate_set, else its QMP RESUME (the QMP client takes one or the other) */
	if (vm != MS_DEV_NONE && vm < t->nr)
		for (uint32_t i = 0; i < t->dev[vm].runstate.nr; i++)
			if (t->dev[vm].runstate.v[i].v && t->dev[vm].runstate.v[i].ts_ns >= s &&
			    t->dev[vm].runstate.v[i].ts_ns < first)
				first = t->dev[vm].runstate.v[i].ts_ns;
	if (first != UINT64_MAX) {
		sp->running_ns = first;
		sp->running_by = "runstate running";
		return 1;
	}
	if (ck && ck >= s) {
		sp->running_ns = ck;
		sp->running_by = "dst-precopy-bh-vm-started";
		return 1;
	}
	return 0;
}

/* Each destination section's load inside [s, e]: QEMU's own figure (8.2+), else its spans. */
static void section_loads(const struct ms_telemetry *t, const struct ms_devices *d, uint64_t s,
			  uint64_t e, struct ms_tm_report *r)
{
	for (uint32_t id = 0; id < t->nr && id < r->nr; id++) {
		const struct ms_tm_device *dev = &t->dev[id];
		struct ms_tm_dev_result *x = &r->dev[id];

		if (!is_kind(d, id, MS_DEV_KIND_QEMU_SECTION, MS_ROLE_DEST))
			continue;
		for (uint32_t i = 0; i < dev->qdowntime_load.nr; i++)
			if (dev->qdowntime_load.v[i].ts_ns >= s &&
			    dev->qdowntime_load.v[i].ts_ns <= e) {
				x->downtime_load_ns += dev->qdowntime_load.v[i].v;
				x->downtime_load_by = "vmstate_downtime_load";
			}
		if (x->downtime_load_by)
			continue;
		for (uint32_t i = 0; i < dev->loads.nr; i++) {
			uint64_t a = clamp64(dev->loads.v[i].start_ns, s, e);
			uint64_t b = clamp64(dev->loads.v[i].end_ns, s, e);

			if (b > a) {
				x->downtime_load_ns += b - a;
				x->downtime_load_by = "loadvm_section";
			}
		}
	}
}

void ms_tm__split(const struct ms_telemetry *t, const struct ms_devices *d, struct ms_tm_report *r)
{
	struct ms_tm_vm *vm = &r->vm;
	struct ms_tm_split *sp = &vm->split;
	uint64_t s = vm->downtime_start_ns, e = vm->downtime_end_ns;
	uint64_t start = 0, first = 0, loaded = 0, t1, t2, t3, tl;
	uint32_t dst = ms_devices__find(d, MS_DEV_KIND_QEMU_VM, MS_QEMU_DST_VM);
	int loads;

	memset(sp, 0, sizeof(*sp));
	sp->watched = dst != MS_DEV_NONE;
	if (dst != MS_DEV_NONE && dst < t->nr)
		sp->lost_ns = t->dev[dst].lost_ns;
	/* with no downtime to cut, the destination's resume and loss are still told */
	sp->have_running = dest_running(t, dst, vm->have_downtime ? s : 0, sp);
	if (!vm->have_downtime || e < s)
		return;
	sp->have_saved = source_saved(t, d, s, e, sp);
	/* where the destination starts on what is left: from the source's end, or its first load */
	loads = dest_loads(t, d, s, sp->have_saved ? sp->saved_ns : s, &start, &first, &loaded);
	if (!loads && !sp->have_running)
		return; /* the destination was not watched */
	sp->have = 1;
	section_loads(t, d, s, sp->have_running ? sp->running_ns : e, r);

	/* without the source's end: from the destination's first load after the stop */
	t1 = sp->have_saved ? clamp64(sp->saved_ns, s, e)
			    : clamp64(loads && first != UINT64_MAX ? first : s, s, e);
	t2 = loads && sp->have_saved ? clamp64(start, t1, e) : t1;
	/* loaded: the last section's end, or 8.2+'s checkpoint when that comes later */
	tl = loads ? loaded : t2;
	sp->loaded_by = loads ? "qemu_loadvm_state_post_main" : NULL;
	if (t->checkpoints[CKPT_DST_LOADVM_COMPLETED] > tl && loads) {
		tl = t->checkpoints[CKPT_DST_LOADVM_COMPLETED];
		sp->loaded_by = "dst-precopy-loadvm-completed";
	}
	sp->loaded_ns = tl; /* the mark as QEMU traced it; the cut is inside the downtime */
	tl = clamp64(tl, t2, e);
	t3 = sp->have_running ? clamp64(sp->running_ns, tl, e) : tl;

	sp->dst_start_ns = t2;
	/* it starts where the source ended unless a load of its own starts later */
	sp->dst_start_by = t2 > t1 ? "qemu_loadvm_state_section" : sp->saved_by;
	sp->source_ns = t1 - s;
	sp->transfer_ns = t2 - t1;
	sp->load_ns = tl - t2;
	sp->resume_ns = t3 - tl;
	sp->unaccounted_ns = e - t3;
	if (sp->have_running && sp->running_ns > e)
		sp->beyond_ns = sp->running_ns - e;
	if (!sp->unaccounted_ns)
		sp->unaccounted = NULL;
	else if (!sp->have_running && sp->lost_ns)
		sp->unaccounted = "the destination went away before it resumed";
	else if (!sp->have_running)
		sp->unaccounted = "the destination's resume was not seen";
	else
		sp->unaccounted = "QEMU's downtime clock ran on after the destination resumed";
}
