// SPDX-License-Identifier: GPL-2.0-only
/*
 * The telemetry analysis: per-device downtime and its breakdown, the VM's
 * downtime and total time, and every device's convergence (docs/telemetry.md).
 * A pure function of what the consumer kept.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <migscope/vfio_compat.h>

#include <migscope/parse.h>
#include <migscope/pass.h>
#include <migscope/telemetry.h>

#define VIRTIO_ACTIVE 0
#define VIRTIO_FREEZE 2

const char *ms_tm_state_name(unsigned int domain, unsigned int state)
{
	static const char *const vfio[MS_VFIO_NR_STATES] = {
		[VFIO_DEVICE_STATE_ERROR] = "ERROR",
		[VFIO_DEVICE_STATE_STOP] = "STOP",
		[VFIO_DEVICE_STATE_RUNNING] = "RUNNING",
		[VFIO_DEVICE_STATE_STOP_COPY] = "STOP_COPY",
		[VFIO_DEVICE_STATE_RESUMING] = "RESUMING",
		[VFIO_DEVICE_STATE_RUNNING_P2P] = "RUNNING_P2P",
		[VFIO_DEVICE_STATE_PRE_COPY] = "PRE_COPY",
		[VFIO_DEVICE_STATE_PRE_COPY_P2P] = "PRE_COPY_P2P",
	};
	static const char *const virtio[] = { "Active", "Stop", "Freeze" };

	if (domain == MS_DOMAIN_VFIO && state < MS_VFIO_NR_STATES)
		return vfio[state];
	if (domain == MS_DOMAIN_VIRTIO && state < sizeof(virtio) / sizeof(virtio[0]))
		return virtio[state];
	return "unknown";
}

const char *ms_tm_method_name(unsigned int m)
{
	switch (m) {
	case MS_TM_ARCS:
		return "arcs";
	case MS_TM_VMSTATE_DOWNTIME:
		return "vmstate_downtime";
	default:
		return "sections";
	}
}

/* The guest's device runs: VFIO RUNNING or PRE_COPY, virtio Active. */
static int running(unsigned int domain, unsigned int s)
{
	if (domain == MS_DOMAIN_VIRTIO)
		return s == VIRTIO_ACTIVE;
	return s == VFIO_DEVICE_STATE_RUNNING || s == VFIO_DEVICE_STATE_PRE_COPY;
}

/* The state in which the stopped device's data is read: STOP_COPY, virtio Freeze. */
static int transfer(unsigned int domain, unsigned int s)
{
	if (domain == MS_DOMAIN_VIRTIO)
		return s == VIRTIO_FREEZE;
	return s == VFIO_DEVICE_STATE_STOP_COPY;
}

static uint64_t arc_start(const struct ms_tm_arc *a)
{
	return a->end_ns - a->dur_ns;
}

static uint64_t max64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static uint64_t min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t overlap(uint64_t a0, uint64_t a1, uint64_t b0, uint64_t b1)
{
	uint64_t lo = max64(a0, b0), hi = min64(a1, b1);

	return hi > lo ? hi - lo : 0;
}

/* Time within [a, b) spent between a switchover-ack request and its ack. */
static uint64_t ack_wait(const struct ms_tm_point *p, uint32_t n, uint64_t a, uint64_t b)
{
	uint64_t open = 0, sum = 0;
	int waiting = 0;

	for (uint32_t i = 0; i < n; i++) {
		if (p[i].v == MS_SWITCHOVER_ACK_REQUESTED && !waiting) {
			open = p[i].ts_ns;
			waiting = 1;
		} else if (p[i].v == MS_SWITCHOVER_ACKED && waiting) {
			sum += overlap(open, p[i].ts_ns, a, b);
			waiting = 0;
		}
	}
	/* a request never acked still waits at the end of the window */
	if (waiting && b != UINT64_MAX)
		sum += overlap(open, b, a, b);
	return sum;
}

/*
 * The destination device of a source device, by either side's peer field; a
 * device that resumes its own saved state (role both) is its own.
 */
static uint32_t find_peer(const struct ms_devices *d, uint32_t id)
{
	const struct ms_device_info *me = ms_devices__get(d, id), *p;

	if (me && me->role == MS_ROLE_BOTH)
		return id;
	if (!me || me->role != MS_ROLE_SOURCE)
		return MS_DEV_NONE;
	p = ms_devices__get(d, me->peer);
	if (p && p->role == MS_ROLE_DEST)
		return p->id;
	for (uint32_t k = 0; k < d->nr; k++) {
		p = ms_devices__get(d, k);
		if (p && p->role == MS_ROLE_DEST && p->peer == id)
			return k;
	}
	return MS_DEV_NONE;
}

static int warc_cmp(const void *a, const void *b)
{
	const struct ms_tm_warc *x = a, *y = b;
	uint64_t sx = arc_start(x->arc), sy = arc_start(y->arc);

	if (sx != sy)
		return sx < sy ? -1 : 1;
	if (x->arc->end_ns != y->arc->end_ns)
		return x->arc->end_ns < y->arc->end_ns ? -1 : 1;
	return x->dest - y->dest;
}

/*
 * Both sides' arcs that touch [start, end], in time order.  A device that
 * resumes itself is one side: its arcs from the resume on are the destination's.
 */
static int window_arcs(const struct ms_tm_device *src, const struct ms_tm_device *dst,
		       struct ms_tm_dev_result *r)
{
	const struct ms_tm_device *side[2] = { src, dst != src ? dst : NULL };
	uint64_t resume = r->dt.end_ns - r->dt.resume_ns;
	uint32_t n = ms_tm_timeline(src)->nr + (side[1] ? ms_tm_timeline(dst)->nr : 0);

	r->arcs = calloc(n ? n : 1, sizeof(*r->arcs));
	if (!r->arcs)
		return -ENOMEM;
	for (int s = 0; s < 2; s++) {
		if (!side[s])
			continue;
		for (uint32_t i = 0; i < ms_tm_timeline(side[s])->nr; i++) {
			const struct ms_tm_arc *a = &ms_tm_timeline(side[s])->v[i];

			if (a->end_ns < r->dt.start_ns || arc_start(a) > r->dt.end_ns)
				continue;
			r->arcs[r->arcs_nr].arc = a;
			r->arcs[r->arcs_nr].dest = s || (dst == src && arc_start(a) >= resume);
			r->arcs_nr++;
		}
	}
	qsort(r->arcs, r->arcs_nr, sizeof(*r->arcs), warc_cmp);
	return 0;
}

/*
 * Downtime from the state timeline: from the source leaving RUNNING/PRE_COPY
 * (Active) until its destination peer is RUNNING (Active), cut at three marks:
 * quiesced (reached STOP_COPY / Freeze), saved (left STOP_COPY, or its last
 * stop-copy data), resuming (the destination's first arc after that).  The
 * segments are split further by split_waits() once every device has its marks.
 */
static void arcs_downtime(const struct ms_tm_device *src, const struct ms_tm_device *dst,
			  uint32_t peer, struct ms_tm_downtime *dt)
{
	const struct ms_tm_arc *a = ms_tm_timeline(src)->v;
	uint32_t n = ms_tm_timeline(src)->nr, leave = n, q = n;
	uint64_t t_start, t_q, t_saved, t_resume, t_end;

	for (uint32_t i = 0; i < n; i++)
		if (running(a[i].domain, a[i].from) && !running(a[i].domain, a[i].to))
			leave = i;
	if (leave == n)
		return;
	t_start = arc_start(&a[leave]);

	t_end = a[n - 1].end_ns;
	for (uint32_t j = 0; dst && j < ms_tm_timeline(dst)->nr; j++) {
		const struct ms_tm_arc *b = &ms_tm_timeline(dst)->v[j];

		if (running(b->domain, b->to) && b->end_ns >= t_start) {
			t_end = b->end_ns;
			dt->complete = 1;
			break;
		}
	}
	/* without the destination: until the source runs again (rolled back) */
	for (uint32_t i = leave + 1; !dt->complete && i < n; i++)
		if (running(a[i].domain, a[i].to)) {
			t_end = a[i].end_ns;
			break;
		}
	t_end = max64(t_end, t_start);

	t_q = t_start;
	for (uint32_t i = leave; i < n && a[i].end_ns <= t_end; i++) {
		t_q = a[i].end_ns;
		if (transfer(a[i].domain, a[i].to)) {
			q = i;
			break;
		}
	}
	t_saved = t_q;
	for (uint32_t i = q + 1; q < n && i < n && a[i].end_ns <= t_end; i++)
		if (a[i].from == a[q].to) {
			t_saved = a[i].end_ns;
			dt->exit_ns = a[i].dur_ns;
			break;
		}
	if (t_saved == t_q && src->data_last_ns[MS_PHASE_STOPCOPY] > t_q &&
	    src->data_last_ns[MS_PHASE_STOPCOPY] <= t_end)
		t_saved = src->data_last_ns[MS_PHASE_STOPCOPY];

	t_resume = t_end;
	for (uint32_t j = 0; dt->complete && j < ms_tm_timeline(dst)->nr; j++)
		if (ms_tm_timeline(dst)->v[j].end_ns > t_saved) {
			t_resume = arc_start(&ms_tm_timeline(dst)->v[j]);
			break;
		}

	/* in a well-formed stream the marks are in order already; a corrupt one must not wrap */
	t_q = min64(max64(t_q, t_start), t_end);
	t_saved = min64(max64(t_saved, t_q), t_end);
	t_resume = min64(max64(t_resume, t_saved), t_end);

	dt->have = 1;
	dt->method = MS_TM_ARCS;
	dt->peer = peer;
	dt->start_ns = t_start;
	dt->end_ns = t_end;
	dt->quiesced_ns = t_q;
	dt->saved_ns = t_saved;
	dt->resuming_ns = t_resume;
	dt->exit_ns = min64(dt->exit_ns, t_saved - t_q);
	dt->stop_ns = t_q - t_start;
	dt->stopcopy_ns = t_saved - t_q;
	dt->wait_ns = t_resume - t_saved;
	dt->resume_ns = t_end - t_resume;
}

/* Something a device was doing, [start, end): an arc, or moving its stop-copy data. */
struct activity {
	uint64_t start, end;
	uint32_t dev;
};

/*
 * When a device moved its stop-copy data: from its first data record to its
 * last one plus that record's bytes at the link's bandwidth.  Without a
 * bandwidth the device counts as moving data until it left STOP_COPY (own:
 * that mark) or until its last record (another device's, own = 0).
 */
static int transfer_span(const struct ms_tm_device *d, uint64_t bw, uint64_t own_until,
			 struct activity *out)
{
	if (!d->data[MS_PHASE_STOPCOPY])
		return 0;
	out->start = d->data_first_ns[MS_PHASE_STOPCOPY];
	out->end = d->data_last_ns[MS_PHASE_STOPCOPY];
	if (bw)
		out->end +=
		    ms_tm_u64((double)d->data_last_bytes[MS_PHASE_STOPCOPY] * 1e9 / (double)bw);
	else
		out->end = max64(out->end, own_until);
	return out->end > out->start;
}

static int is_in(const struct activity *a, uint32_t n, uint64_t t, uint32_t dev, uint32_t peer,
		 int own)
{
	for (uint32_t i = 0; i < n; i++)
		if ((a[i].dev == dev || a[i].dev == peer) == own && a[i].start <= t && t < a[i].end)
			return 1;
	return 0;
}

/* Time in [lo, hi) when the pair (dev, peer) did nothing and another device did something. */
static uint64_t idle_while_others_work(const struct activity *a, uint32_t n, uint32_t dev,
				       uint32_t peer, uint64_t lo, uint64_t hi)
{
	uint64_t t = lo, sum = 0;

	while (t < hi) {
		uint64_t next = hi;

		/* the next boundary of any activity after t */
		for (uint32_t i = 0; i < n; i++) {
			if (a[i].start > t && a[i].start < next)
				next = a[i].start;
			if (a[i].end > t && a[i].end < next)
				next = a[i].end;
		}
		if (!is_in(a, n, t, dev, peer, 1) && is_in(a, n, t, dev, peer, 0))
			sum += next - t;
		t = next;
	}
	return sum;
}

/*
 * Devices are driven in turns and share the migration link: a device that
 * reached STOP_COPY while another was still quiescing, or whose data waited
 * for another's on the link, sat idle because of the other one.  That time is
 * moved from its stop, stop-copy and resume segments into its wait, so each
 * segment is the device's own time and busy = stop + stop-copy + resume.
 */
static int split_waits(const struct ms_telemetry *t, struct ms_tm_report *r, uint64_t bw)
{
	uint32_t cap = 0, n = 0;
	struct activity *a;

	for (uint32_t id = 0; id < t->nr; id++)
		cap += ms_tm_timeline(&t->dev[id])->nr + 1;
	a = calloc(cap ? cap : 1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	for (uint32_t id = 0; id < t->nr; id++) {
		const struct ms_tm_arcs *arcs = ms_tm_timeline(&t->dev[id]);
		const struct ms_tm_downtime *dt = id < r->nr ? &r->dev[id].dt : NULL;
		uint64_t until = dt && ms_tm_downtime__by_arcs(dt) ? dt->saved_ns - dt->exit_ns : 0;

		for (uint32_t i = 0; i < arcs->nr; i++)
			a[n++] = (struct activity){ arc_start(&arcs->v[i]), arcs->v[i].end_ns, id };
		if (transfer_span(&t->dev[id], bw, until, &a[n]))
			a[n++].dev = id;
	}
	for (uint32_t id = 0; id < r->nr; id++) {
		struct ms_tm_downtime *dt = &r->dev[id].dt;
		uint32_t peer = dt->peer;
		uint64_t w[3];

		if (!ms_tm_downtime__by_arcs(dt))
			continue;
		w[0] = idle_while_others_work(a, n, id, peer, dt->start_ns, dt->quiesced_ns);
		w[1] = idle_while_others_work(a, n, id, peer, dt->quiesced_ns, dt->saved_ns);
		w[2] = idle_while_others_work(a, n, id, peer, dt->resuming_ns, dt->end_ns);
		dt->stop_ns -= w[0];
		dt->stopcopy_ns -= w[1];
		dt->resume_ns -= w[2];
		dt->wait_ns += w[0] + w[1] + w[2];
		dt->busy_ns = dt->stop_ns + dt->stopcopy_ns + dt->resume_ns;
	}
	free(a);
	return 0;
}

/* A QEMU section's part of the VM's downtime: its saves while the VM was stopped. */
static void sections_downtime(const struct ms_tm_device *dev, const struct ms_tm_vm *vm,
			      struct ms_tm_downtime *dt)
{
	uint64_t s = vm->downtime_start_ns, e = vm->downtime_end_ns, sum = 0;
	uint64_t first = UINT64_MAX, last = 0;
	int seen = 0;

	for (uint32_t i = 0; i < dev->qdowntime.nr; i++) {
		const struct ms_tm_point *p = &dev->qdowntime.v[i];

		if (p->ts_ns < s || p->ts_ns > e)
			continue;
		sum += p->v;
		first = min64(first, p->ts_ns - min64(p->v, p->ts_ns));
		last = max64(last, p->ts_ns);
		seen = 1;
	}
	dt->method = MS_TM_VMSTATE_DOWNTIME;
	for (uint32_t i = 0; !seen && i < dev->saves.nr; i++) {
		const struct ms_tm_span *sp = &dev->saves.v[i];
		uint64_t in = overlap(sp->start_ns, sp->end_ns, s, e);

		if (sp->end_ns < s || sp->start_ns > e)
			continue;
		sum += in;
		first = min64(first, max64(sp->start_ns, s));
		last = max64(last, min64(sp->end_ns, e));
		dt->method = MS_TM_SECTIONS;
		seen = 2;
	}
	if (!seen)
		return;
	dt->have = 1;
	dt->complete = 1;
	dt->peer = MS_DEV_NONE;
	dt->start_ns = first;
	dt->end_ns = max64(last, first);
	dt->stopcopy_ns = sum;
	dt->busy_ns = sum;
}

static int is_terminal(uint64_t status)
{
	return status == MS_MIG_COMPLETED || status == MS_MIG_FAILED || status == MS_MIG_CANCELLED;
}

/* The last time at or before ts that a device's samples of QEMU's pending carry, or 0. */
static uint64_t last_pending_before(const struct ms_telemetry *t, uint64_t ts)
{
	uint64_t last = 0;

	for (uint32_t id = 0; id < t->nr; id++) {
		const struct ms_tm_device *d = &t->dev[id];

		if (d->basis != MS_EV_QEMU_PENDING || d->origin == MS_PENDING_QMP)
			continue;
		for (uint32_t i = 0; i < d->samples.nr && d->samples.v[i].ts_ns <= ts; i++)
			last = max64(last, d->samples.v[i].ts_ns);
	}
	return last;
}

static void set_edge(struct ms_tm_dt_edge *b, uint64_t at, const char *at_name, uint64_t after,
		     const char *after_name, uint64_t before, const char *before_name)
{
	b->at_ns = at;
	b->at = at_name;
	b->after_ns = min64(after, at);
	b->after = after_name;
	b->before_ns = max64(before, at);
	b->before = before_name;
}

/*
 * Where QEMU's downtime clock started, stop being the VM's last stop (QMP's
 * STOP) and prev_run the resume before it.  QEMU >= 8.2 traces
 * src-downtime-start just before it reads its clock.  Before 8.2 nothing
 * marks it: the migration thread decides to stop (migration_thread_low_pending),
 * waits for the BQL, reads the clock, sets the run state to finish-migrate
 * (traced) and only then pauses the vCPUs, which under TCG and load takes
 * milliseconds before STOP.  The start is after the decision and before the
 * run state; without the trace, before STOP and after the last word from the
 * migration before it.
 */
static void downtime_start(const struct ms_telemetry *t, uint64_t stop, uint64_t prev_run,
			   struct ms_tm_vm *vm)
{
	uint64_t ck = t->checkpoints[MS_TM_CKPT_DOWNTIME_START];
	uint64_t fm = t->marks[MS_MARK_FINISH_MIGRATE], lp = t->marks[MS_MARK_LOW_PENDING];
	uint64_t at = stop, lo;
	const char *at_name = "STOP", *lo_name;

	if (ck && ck <= stop && ck >= prev_run) {
		set_edge(&vm->start, ck, "src-downtime-start", ck, "src-downtime-start", ck,
			 "src-downtime-start");
		return;
	}
	if (fm && fm <= stop && fm >= prev_run) {
		at = fm;
		at_name = "runstate finish-migrate";
	}
	if (lp && lp <= at && lp >= prev_run) {
		lo = lp;
		lo_name = "migration_thread_low_pending";
	} else if ((lo = last_pending_before(t, at)) && lo >= prev_run) {
		lo_name = "migrate_pending";
	} else {
		lo = prev_run;
		lo_name = prev_run ? "RESUME" : "session start";
		for (uint32_t i = 0; i < t->stats.nr && t->stats.v[i].ts_ns <= at; i++)
			if (t->stats.v[i].ts_ns >= lo) {
				lo = t->stats.v[i].ts_ns;
				lo_name = "query-migrate reply";
			}
		if (!lo)
			lo = t->t0_ns;
	}
	set_edge(&vm->start, at, at_name, lo, lo_name, at, at_name);
}

/*
 * Where QEMU's downtime clock stopped, end being the first end status (or
 * resume) after the stop.  QEMU >= 8.2 traces src-downtime-end just after it
 * reads its clock.  Before 8.2 it reads the clock once the migration thread
 * has the BQL back after MIGRATION completed, and sets the run state to
 * postmigrate (traced) right after; without the trace, before the first
 * query-migrate reply that carries the downtime.
 */
static void downtime_end(const struct ms_telemetry *t, uint64_t end, const char *end_name,
			 int completed, struct ms_tm_vm *vm)
{
	uint64_t ck = t->checkpoints[MS_TM_CKPT_DOWNTIME_END];
	uint64_t pm = t->marks[MS_MARK_POSTMIGRATE], hi = end;
	const char *hi_name = end_name;

	if (!strcmp(vm->start.at, "src-downtime-start") && ck >= vm->start.at_ns) {
		set_edge(&vm->end, ck, "src-downtime-end", ck, "src-downtime-end", ck,
			 "src-downtime-end");
		return;
	}
	if (completed && pm >= end) {
		set_edge(&vm->end, pm, "runstate postmigrate", end, end_name, pm,
			 "runstate postmigrate");
		return;
	}
	for (uint32_t i = 0; completed && i < t->stats.nr; i++)
		if (t->stats.v[i].status == MS_MIG_COMPLETED && t->stats.v[i].ts_ns >= end &&
		    t->stats.v[i].downtime_ms != MS_STAT_UNSET) {
			hi = t->stats.v[i].ts_ns;
			hi_name = "query-migrate reply";
			break;
		}
	set_edge(&vm->end, end, end_name, end, end_name, hi, hi_name);
}

/* VM downtime from QEMU: the last VM stop until completion (or failure, or resume). */
static int qemu_downtime(const struct ms_telemetry *t, struct ms_tm_vm *vm)
{
	uint64_t stop = 0, end = UINT64_MAX, prev_run = 0, lo, hi;
	const char *end_name = NULL;
	int stopped = 0, completed = 0;

	for (uint32_t i = 0; i < t->runstate.nr; i++)
		if (!t->runstate.v[i].v) {
			stop = t->runstate.v[i].ts_ns;
			stopped = 1;
		}
	if (!stopped)
		return 0;
	for (uint32_t i = 0; i < t->runstate.nr; i++)
		if (t->runstate.v[i].v && t->runstate.v[i].ts_ns < stop)
			prev_run = max64(prev_run, t->runstate.v[i].ts_ns);
	vm->downtime_source = "qemu";
	for (uint32_t i = 0; i < t->status.nr; i++)
		if (is_terminal(t->status.v[i].v) && t->status.v[i].ts_ns >= stop) {
			end = t->status.v[i].ts_ns;
			completed = t->status.v[i].v == MS_MIG_COMPLETED;
			end_name = completed ? "MIGRATION completed" : "MIGRATION end";
			break;
		}
	for (uint32_t i = 0; i < t->runstate.nr; i++)
		if (t->runstate.v[i].v && t->runstate.v[i].ts_ns >= stop) {
			if (t->runstate.v[i].ts_ns < end) {
				end = t->runstate.v[i].ts_ns;
				end_name = "RESUME";
				completed = 0;
			}
			break;
		}
	for (uint32_t i = 0; i < t->stats.nr; i++)
		if (is_terminal(t->stats.v[i].status) && t->stats.v[i].ts_ns >= stop) {
			if (t->stats.v[i].ts_ns < end) {
				end = t->stats.v[i].ts_ns;
				end_name = "query-migrate reply";
				completed = t->stats.v[i].status == MS_MIG_COMPLETED;
			}
			break;
		}
	if (end == UINT64_MAX)
		return 1;
	downtime_start(t, stop, prev_run, vm);
	downtime_end(t, end, end_name, completed, vm);
	vm->have_downtime = 1;
	vm->downtime_start_ns = vm->start.at_ns;
	vm->downtime_end_ns = max64(vm->end.at_ns, vm->start.at_ns);
	/* QEMU's clock counts whole milliseconds: so do the bounds of what it can say */
	lo = vm->end.after_ns > vm->start.before_ns ? vm->end.after_ns - vm->start.before_ns : 0;
	hi = vm->end.before_ns > vm->start.after_ns ? vm->end.before_ns - vm->start.after_ns : 0;
	vm->have_bounds = 1;
	vm->bound_lo_ns = lo / 1000000 * 1000000;
	vm->bound_hi_ns = hi > UINT64_MAX - 999999 ? hi : (hi + 999999) / 1000000 * 1000000;
	return 1;
}

/* VM total time from QEMU: migration setup until its terminal status. */
static void qemu_total(const struct ms_telemetry *t, struct ms_tm_vm *vm)
{
	uint64_t start = UINT64_MAX, end = 0;
	int ended = 0;

	for (uint32_t i = 0; i < t->status.nr; i++) {
		const struct ms_tm_point *p = &t->status.v[i];

		if (p->v == MS_MIG_SETUP && start == UINT64_MAX)
			start = p->ts_ns;
		if (is_terminal(p->v)) {
			end = p->ts_ns;
			ended = 1;
		}
	}
	if (start == UINT64_MAX && t->status.nr)
		start = t->status.v[0].ts_ns;
	if (!ended || start > end)
		return;
	vm->have_total = 1;
	vm->total_start_ns = start;
	vm->total_end_ns = end;
}

/*
 * The moment the limits are judged at: where the VM's downtime began (QEMU's
 * downtime clock when a trace point marks it, else its last stop), else the
 * switchover a driver decided, else the end of the stream (UINT64_MAX: the
 * latest limits).
 */
static uint64_t judged_at(const struct ms_telemetry *t)
{
	uint64_t stop = 0, prev_run = 0, at;

	for (uint32_t i = t->runstate.nr; i-- > 0 && !stop;)
		if (!t->runstate.v[i].v)
			stop = t->runstate.v[i].ts_ns;
	if (stop) {
		for (uint32_t i = 0; i < t->runstate.nr; i++)
			if (t->runstate.v[i].v && t->runstate.v[i].ts_ns < stop)
				prev_run = max64(prev_run, t->runstate.v[i].ts_ns);
		at = t->checkpoints[MS_TM_CKPT_DOWNTIME_START];
		if (!at || at > stop || at < prev_run)
			at = t->marks[MS_MARK_FINISH_MIGRATE];
		return at && at <= stop && at >= prev_run ? at : stop;
	}
	for (uint32_t i = 0; i < t->switchover.nr; i++)
		if (t->switchover.v[i].v == MS_SWITCHOVER_DECIDED)
			return t->switchover.v[i].ts_ns;
	return UINT64_MAX;
}

static uint64_t limit_at(const struct ms_telemetry *t, uint64_t ts)
{
	return ms_telemetry__config_at(t, ts)->downtime_limit_ns;
}

/*
 * QEMU's threshold from a sample at sample_ts, for the limit in force at
 * `at`: QEMU computed it as its bandwidth estimate times the limit in force
 * then, so after a change of limit it is that estimate times the new one
 * (until QEMU's next sample says so itself).  A change is taken from when a
 * read showed it, so a sample in the poll interval before may already have
 * used the new limit: docs/telemetry.md, "Limits followed live".
 */
static uint64_t qemu_threshold_at(const struct ms_telemetry *t, uint64_t thr, uint64_t sample_ts,
				  uint64_t at)
{
	uint64_t then = limit_at(t, sample_ts), now = limit_at(t, at);

	if (thr == MS_STAT_UNSET || !then || !now || then == now)
		return thr;
	return ms_switchover_threshold(ms_tm_u64((double)thr * 1e9 / (double)then), now);
}

static void vm_facts(const struct ms_telemetry *t, struct ms_tm_vm *vm)
{
	const struct ms_ev_config *l;
	uint64_t qmp_bps = 0, ts = 0, thr_limit = 0;

	vm->qmp_downtime_ms = vm->qmp_total_ms = vm->qmp_expected_downtime_ms = MS_STAT_UNSET;
	vm->threshold = MS_STAT_UNSET;
	vm->downtime_source = "none";
	vm->bandwidth_source = "none";
	vm->limits_at_ns = judged_at(t);
	l = ms_telemetry__config_at(t, vm->limits_at_ns);
	vm->limit_ns = l->downtime_limit_ns;

	for (uint32_t i = 0; i < t->stats.nr; i++) {
		const struct ms_tm_stats *s = &t->stats.v[i];

		if (s->downtime_ms != MS_STAT_UNSET)
			vm->qmp_downtime_ms = s->downtime_ms;
		if (s->total_time_ms != MS_STAT_UNSET)
			vm->qmp_total_ms = s->total_time_ms;
		if (s->expected_downtime_ms != MS_STAT_UNSET)
			vm->qmp_expected_downtime_ms = s->expected_downtime_ms;
		/* QEMU's measured bandwidth while it was still sending (mbps in megabits/s) */
		if (s->mbps_milli != MS_STAT_UNSET && s->mbps_milli && !is_terminal(s->status))
			qmp_bps = s->mbps_milli * 125;
	}
	/*
	 * The bandwidth switchover is judged at, measured first: QEMU's own
	 * estimate (its migrate_pending threshold is that estimate times the
	 * limit in force when QEMU computed it), then QMP's ram.mbps, then the
	 * configured rate in force.
	 */
	for (uint32_t id = 0; id < t->nr; id++) {
		const struct ms_tm_device *d = &t->dev[id];

		for (uint32_t i = d->samples.nr; i-- > 0;)
			if (d->samples.v[i].threshold != MS_STAT_UNSET) {
				if (d->samples.v[i].ts_ns >= ts &&
				    limit_at(t, d->samples.v[i].ts_ns)) {
					ts = d->samples.v[i].ts_ns;
					vm->threshold = d->samples.v[i].threshold;
					thr_limit = limit_at(t, ts);
				}
				break;
			}
	}
	if (vm->threshold != MS_STAT_UNSET) {
		vm->bandwidth_bps = ms_tm_u64((double)vm->threshold * 1e9 / (double)thr_limit);
		vm->bandwidth_source = "qemu";
		vm->threshold = qemu_threshold_at(t, vm->threshold, ts, vm->limits_at_ns);
	}
	if (!vm->bandwidth_bps && qmp_bps) {
		vm->bandwidth_bps = qmp_bps;
		vm->bandwidth_source = "qmp";
	} else if (!vm->bandwidth_bps && l->bandwidth_bps) {
		vm->bandwidth_bps = l->bandwidth_bps;
		vm->bandwidth_source = "config";
	}
	/* the profile driver's own arithmetic, so its decision and this judgement agree */
	if (vm->threshold == MS_STAT_UNSET)
		vm->threshold = ms_telemetry__threshold_at(t, vm->limits_at_ns, vm->bandwidth_bps);
	/* the latest word on the migration's status, from events or from query-migrate */
	if (t->status.nr) {
		vm->have_status = 1;
		vm->status = (uint32_t)t->status.v[t->status.nr - 1].v;
	}
	if (t->stats.nr && (!t->status.nr || t->stats.v[t->stats.nr - 1].ts_ns >
						 t->status.v[t->status.nr - 1].ts_ns)) {
		vm->have_status = 1;
		vm->status = t->stats.v[t->stats.nr - 1].status;
	}
}

/* Time in PRE_COPY: from each arc into it until the next arc starts. */
static int precopy_time(const struct ms_tm_device *dev, uint64_t cut, uint64_t *ns)
{
	const struct ms_tm_arc *a = ms_tm_timeline(dev)->v;
	uint32_t n = ms_tm_timeline(dev)->nr;
	int seen = 0;

	*ns = 0;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t until;

		if (a[i].domain != MS_DOMAIN_VFIO || a[i].to != VFIO_DEVICE_STATE_PRE_COPY)
			continue;
		seen = 1;
		until = i + 1 < n	  ? arc_start(&a[i + 1])
			: dev->samples.nr ? dev->samples.v[dev->samples.nr - 1].ts_ns
					  : a[i].end_ns;
		*ns += until > a[i].end_ns ? until - a[i].end_ns : 0;
	}
	if (seen || !dev->samples.nr)
		return seen;
	/* no arcs (a QEMU section): from its first sample until the VM stopped */
	{
		uint64_t first = dev->samples.v[0].ts_ns;
		uint64_t last = min64(cut, dev->samples.v[dev->samples.nr - 1].ts_ns);

		*ns = last > first ? last - first : 0;
	}
	return 1;
}

/* Samples at or before cut (the series is in time order). */
static uint32_t before(const struct ms_tm_sample *s, uint32_t n, uint64_t cut)
{
	uint32_t k = 0;

	while (k < n && s[k].ts_ns <= cut)
		k++;
	return k;
}

/* REINIT: the device flagged it, or initial bytes grew again after reaching zero. */
static void find_reinits(const struct ms_tm_sample *s, uint32_t n, struct ms_tm_convergence *c,
			 uint64_t *last_ns)
{
	int seen_initial = 0;

	c->reinits = 0;
	for (uint32_t i = 0; i < n; i++) {
		int grew = i && seen_initial && !s[i - 1].initial && s[i].initial;

		if ((s[i].flags & MS_PRECOPY_REINIT) || grew) {
			if (c->reinits < sizeof(c->reinit_idx) / sizeof(c->reinit_idx[0]))
				c->reinit_idx[c->reinits] = i;
			c->reinits++;
			*last_ns = s[i].ts_ns;
		}
		if (s[i].initial)
			seen_initial = 1;
	}
}

/* Samples of a device that count: those before it stopped (its downtime start, else the VM's). */
static uint64_t device_cut(const struct ms_tm_dev_result *x, const struct ms_tm_vm *vm)
{
	return ms_tm_downtime__by_arcs(&x->dt) ? x->dt.start_ns
	       : vm->have_downtime	       ? vm->downtime_start_ns
					       : UINT64_MAX;
}

/*
 * The series a device is judged on: what would have to move if it stopped
 * now.  Its stop-copy size when it reports one (what QEMU calls the exact
 * pending: pre-copy can drain initial and dirty bytes to nothing while most of
 * the state only moves in STOP_COPY), else its pre-copy pending.  Sets *n to
 * the samples before cut; returns the series (stop-copy: *stopcopy = 1).
 */
static const struct ms_tm_sample *judged_series(const struct ms_tm_device *dev, uint64_t cut,
						uint32_t *n, int *stopcopy)
{
	uint32_t ns = before(dev->stopcopy.v, dev->stopcopy.nr, cut);

	*stopcopy = ns > 0;
	*n = ns ? ns : before(dev->samples.v, dev->samples.nr, cut);
	return ns ? dev->stopcopy.v : dev->samples.v;
}

static int bound_cmp(const void *a, const void *b)
{
	const struct ms_tm_bound *x = a, *y = b;

	return x->ts_ns < y->ts_ns ? -1 : x->ts_ns > y->ts_ns;
}

/* Where a series' boundaries come from, and what its moved counts mean. */
struct pass_src {
	const struct ms_tm_bounds *bounds; /* MS_EV_PASS records */
	const struct ms_tm_sample *pre;	   /* pre-copy samples (devices), else NULL */
	uint32_t npre;
	int moves_pending; /* moved counts bytes of the judged series (a device's data) */
};

/* The transfer rate QEMU measured at a sample: its threshold over the limit, or QMP's mbps. */
static double link_rate(const struct ms_telemetry *t, const struct ms_tm_sample *x)
{
	const struct ms_ev_config *cfg = ms_telemetry__config_at(t, x->ts_ns);
	double bps = (double)x->link_bps;

	if (x->threshold != MS_STAT_UNSET && cfg->downtime_limit_ns) {
		double q = (double)x->threshold * 1e9 / (double)cfg->downtime_limit_ns;

		bps = q > bps ? q : bps;
	}
	/* QEMU never sends faster than max-bandwidth; a burst measured over 100 ms can */
	if (cfg->bandwidth_bps && bps > (double)cfg->bandwidth_bps)
		bps = (double)cfg->bandwidth_bps;
	return bps;
}

/*
 * The passes of a judged series (docs/telemetry.md, "Passes").  Boundaries:
 * the stream's MS_EV_PASS records; for a capture without them, the rule the
 * sources use (ms_pass__precopy) over the pre-copy samples, or QEMU's samples
 * taken right after a sync.  A device's pass also ends where everything the
 * last boundary left has moved.  A boundary falls on the first sample at or
 * after it (what it left); boundaries with no sample between them are one.
 */
static int build_passes(const struct ms_telemetry *t, const struct pass_src *src,
			const struct ms_tm_sample *s, uint32_t n, struct ms_tm_pass **out,
			uint32_t *np)
{
	struct ms_tm_bound *b = NULL;
	struct ms_tm_pass *p;
	uint32_t nb = 0, i = 0, k = 0;

	*out = NULL;
	*np = 0;
	if (!n)
		return 0;
	if (src->bounds && src->bounds->nr) {
		nb = src->bounds->nr;
		b = malloc(nb * sizeof(*b));
		if (!b)
			return -ENOMEM;
		memcpy(b, src->bounds->v, nb * sizeof(*b));
		qsort(b, nb, sizeof(*b), bound_cmp);
	} else {
		struct ms_pass_seen seen = { 0 };
		struct ms_ev_pass ev;

		b = calloc(src->pre ? src->npre + 1 : n + 1, sizeof(*b));
		if (!b)
			return -ENOMEM;
		for (uint32_t j = 0; src->pre && j < src->npre; j++)
			if (ms_pass__precopy(&seen, 0, src->pre[j].ts_ns, src->pre[j].initial,
					     src->pre[j].dirty, src->pre[j].flags, &ev)) {
				b[nb].ts_ns = ev.hdr.ts_ns;
				b[nb++].flags = ev.flags;
			}
		for (uint32_t j = 0; !src->pre && j < n; j++)
			if (s[j].flags & MS_TM_EXACT)
				b[nb++].ts_ns = s[j].ts_ns;
	}
	p = calloc(n, sizeof(*p));
	if (!p) {
		free(b);
		return -ENOMEM;
	}
	for (uint32_t j = 0; j < n; j++) {
		int at = 0;
		uint32_t flags = 0;

		while (i < nb && b[i].ts_ns <= s[j].ts_ns) {
			flags |= b[i++].flags;
			at = 1;
		}
		/* everything the last boundary left has moved: the device's next pass */
		if (!at && k && src->moves_pending && p[k - 1].left &&
		    s[j].moved >= s[p[k - 1].idx].moved &&
		    s[j].moved - s[p[k - 1].idx].moved >= p[k - 1].left)
			at = 1;
		if (!at)
			continue;
		p[k].ts_ns = s[j].ts_ns;
		p[k].left = ms_tm_sample__pending(&s[j]);
		p[k].idx = j;
		p[k].flags = flags;
		if (k) {
			const struct ms_tm_pass *q = &p[k - 1];
			uint64_t moved =
			    s[j].moved >= s[q->idx].moved ? s[j].moved - s[q->idx].moved : 0;
			double dur = (double)(p[k].ts_ns - q->ts_ns) / 1e9, link = 0;

			p[k].dur_ns = p[k].ts_ns - q->ts_ns;
			p[k].moved = src->moves_pending ? moved : 0;
			/* the change plus what moved; QEMU's RAM: what the sync left */
			p[k].dirty =
			    src->moves_pending
				? (p[k].left + moved > q->left ? p[k].left + moved - q->left : 0)
				: p[k].left;
			for (uint32_t x = q->idx + 1; x <= j; x++) {
				double l = link_rate(t, &s[x]);

				link = l > link ? l : link;
			}
			if (dur > 0) {
				uint64_t cap =
				    ms_telemetry__config_at(t, s[j].ts_ns)->bandwidth_bps;

				p[k].dirty_bps = (double)p[k].dirty / dur;
				if (s[j].dirty_bps != MS_STAT_UNSET &&
				    (double)s[j].dirty_bps > p[k].dirty_bps)
					p[k].dirty_bps = (double)s[j].dirty_bps;
				p[k].transfer_bps = link > 0		 ? link
						    : src->moves_pending ? (double)moved / dur
									 : (double)q->left / dur;
				/*
				 * What a QEMU pass drained counts zero pages, which cost
				 * nearly nothing to send: what dirty pages compete for is
				 * the link, at most max-bandwidth.
				 */
				if (!src->moves_pending && cap && p[k].transfer_bps > (double)cap)
					p[k].transfer_bps = (double)cap;
			}
		}
		k++;
	}
	free(b);
	*out = p;
	*np = k;
	return 0;
}

/*
 * The judgement's options for a series whose last sample is x: the limit in
 * force at the moment the report judges (the VM's limits_at_ns), as the VM
 * shows it, not the one of the last sample: a limit changed since is in force.
 */
static void judge_opts(const struct ms_telemetry *t, const struct ms_tm_vm *vm,
		       const struct ms_tm_sample *x, struct ms_tm_judge_opts *o)
{
	o->limit_ns = limit_at(t, vm->limits_at_ns);
	if (x && x->threshold != MS_STAT_UNSET) {
		o->threshold = qemu_threshold_at(t, x->threshold, x->ts_ns, vm->limits_at_ns);
		o->threshold_source = "qemu";
	} else {
		o->threshold = ms_telemetry__threshold_at(t, vm->limits_at_ns, vm->bandwidth_bps);
		o->threshold_source = "limit";
	}
}

/*
 * A dirty sync inside a calc-dirty-rate window makes QEMU count a page once
 * per sync that found it, not once: such a window says nothing about the
 * rate at its length.  A boundary is stamped at or after its sync's end (the
 * sample after it; by polling, query-migrate's dirty-sync-count, up to a
 * poll after), and QEMU starts its window a little after the command, so it
 * also ends a little after the window's end; and the trace log's times
 * reach the watch's clock through one offset taken at its start, so the two
 * may drift apart: both ends take a slack.  The setup's sync is the one
 * known without clocks: QEMU makes it before it reports `active`, and a
 * window started once `active` was seen cannot hold it.
 */
#define SYNC_LAG_NS	150000000ull
#define WINDOW_SLACK_NS 20000000ull

static int rate_cmp(const void *a, const void *b)
{
	const struct ms_tm_rate *x = a, *y = b;

	return x->ts_ns < y->ts_ns ? -1 : x->ts_ns > y->ts_ns;
}

/*
 * The dirty-rate windows QEMU measured up to `until` that no dirty sync fell
 * into, in time order (the caller frees *out).  Without any boundary known
 * nobody can tell where the syncs fell: none then.
 */
static int clean_rates(const struct ms_telemetry *t, const struct ms_tm_bounds *bounds,
		       const struct ms_tm_pass *passes, uint32_t np, uint64_t until,
		       struct ms_tm_rate **out, uint32_t *nr)
{
	uint32_t nb = bounds && bounds->nr ? bounds->nr : np;
	uint64_t active = 0; /* when the migration was first seen active */

	*out = NULL;
	*nr = 0;
	if (!t->rates.nr || !nb)
		return 0;
	*out = malloc(t->rates.nr * sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (uint32_t i = 0; i < t->status.nr && !active; i++)
		if (t->status.v[i].v == MS_MIG_ACTIVE)
			active = t->status.v[i].ts_ns;
	for (uint32_t i = 0; i < t->rates.nr; i++) {
		const struct ms_tm_rate *r = &t->rates.v[i];
		uint64_t from = r->ts_ns - r->window_ns, to = r->ts_ns + WINDOW_SLACK_NS;
		bool synced = false, after_active;

		/*
		 * Only KVM's dirty log counts each page once a window; the dirty
		 * ring's rate counts a page again at every harvest of the ring (a
		 * 2 MiB working set read 48-513 MiB/s), and page-sampling is an
		 * estimate: neither is a window's distinct pages.
		 */
		if (r->ts_ns > until || r->mode != MS_DIRTY_RATE_DIRTY_BITMAP)
			continue;
		after_active = active && from >= active;
		from = from > WINDOW_SLACK_NS ? from - WINDOW_SLACK_NS : 0;
		for (uint32_t j = 0; j < nb && !synced; j++) {
			uint64_t ts = bounds && bounds->nr ? bounds->v[j].ts_ns : passes[j].ts_ns;
			uint32_t pass = bounds && bounds->nr ? bounds->v[j].pass : j + 1;

			if (pass == 1 && after_active)
				continue;
			/* the sync lies in [ts - lag, ts] */
			synced = ts >= from && (ts < SYNC_LAG_NS || ts - SYNC_LAG_NS <= to);
		}
		if (!synced)
			(*out)[(*nr)++] = *r;
	}
	qsort(*out, *nr, sizeof(**out), rate_cmp);
	return 0;
}

/* A device's convergence, judged on its judged_series(), pass by pass. */
static int device_convergence(const struct ms_telemetry *t, const struct ms_device_info *info,
			      const struct ms_tm_device *dev, const struct ms_tm_vm *vm,
			      struct ms_tm_dev_result *r, uint64_t cut)
{
	struct ms_tm_judge_opts o = { 0 };
	struct ms_tm_convergence *c = &r->conv, reinit = { 0 };
	uint32_t np = before(dev->samples.v, dev->samples.nr, cut), n;
	int sc;
	const struct ms_tm_sample *s = judged_series(dev, cut, &n, &sc);
	/* QMP's ram.remaining for a section: the VM's passes (MIGRATION_PASS) are its */
	int qmp_ram =
	    dev->basis == MS_EV_QEMU_PENDING && dev->origin == MS_PENDING_QMP && !dev->bounds.nr;
	struct pass_src src = {
		.bounds = qmp_ram ? &t->bounds : &dev->bounds,
		.pre = dev->basis == MS_EV_PRECOPY ? dev->samples.v : NULL,
		.npre = dev->basis == MS_EV_PRECOPY ? np : 0,
		.moves_pending = dev->data[MS_PHASE_PRECOPY] > 0,
	};
	uint64_t bw = vm->bandwidth_bps, since = 0;
	struct ms_tm_rate *rates = NULL;
	bool own_rate;

	if (dev->basis == MS_EV_PRECOPY)
		find_reinits(dev->samples.v, np, &reinit, &since);
	if (build_passes(t, &src, s, n, &r->passes, &r->passes_nr))
		return -ENOMEM;
	judge_opts(t, vm, n ? &s[n - 1] : NULL, &o);
	/*
	 * Without a threshold, the bandwidth; without one (the profile of real
	 * devices runs an unlimited link), the device's own stop-copy rate: the
	 * bytes that rate moves within the limit are what fits.  The verdict and
	 * the predicted downtime are then judged on the same rate.
	 */
	if (!bw && ms_tm_downtime__by_arcs(&r->dt) && r->dt.stopcopy_ns &&
	    dev->data[MS_PHASE_STOPCOPY])
		bw = ms_tm_u64((double)dev->data[MS_PHASE_STOPCOPY] * 1e9 /
			       (double)r->dt.stopcopy_ns);
	own_rate = o.threshold == MS_STAT_UNSET && bw && o.limit_ns;
	if (own_rate) {
		o.threshold = ms_switchover_threshold(bw, o.limit_ns);
		o.threshold_source = "device_rate";
	}
	o.passes = r->passes;
	o.np = r->passes_nr;
	o.sync = dev->basis == MS_EV_QEMU_PENDING;
	/* a device that says it has no pre-copy (known capabilities without PRE_COPY) */
	o.no_precopy = sc && !np && info && info->caps && !(info->caps & VFIO_MIGRATION_PRE_COPY);
	o.precopy_drained = sc && np && !ms_tm_sample__pending(&dev->samples.v[np - 1]);
	o.moves_known = src.moves_pending;
	o.what = sc ? "stop-copy size" : "pending";
	/* QEMU's pending: the guest's RAM, whose dirty rate QEMU can measure */
	if (o.sync && clean_rates(t, src.bounds, r->passes, r->passes_nr, cut, &rates, &o.nrates))
		return -ENOMEM;
	o.rates = rates;
	ms_tm_judge(s, n, &o, c);
	free(rates);
	c->basis = sc				      ? "stopcopy"
		   : dev->basis == MS_EV_PRECOPY      ? "precopy"
		   : dev->basis == MS_EV_QEMU_PENDING ? "qemu_pending"
						      : "none";
	c->reinits = reinit.reinits;
	memcpy(c->reinit_idx, reinit.reinit_idx, sizeof(c->reinit_idx));
	if (sc)
		c->stopcopy = s[n - 1].initial;
	if (sc && np) {
		c->initial = dev->samples.v[np - 1].initial;
		c->dirty = dev->samples.v[np - 1].dirty;
	}
	/* at the rate itself: the threshold derived from it was rounded to whole bytes */
	if ((c->predicted_ns == MS_STAT_UNSET || own_rate) && bw && n)
		c->predicted_ns = ms_tm_u64((double)c->pending * 1e9 / (double)bw);
	return 0;
}

/* The VM's own series from query-migrate: ram.remaining while migrating. */
static int vm_convergence(const struct ms_telemetry *t, struct ms_tm_report *r)
{
	struct ms_tm_vm *vm = &r->vm;
	uint64_t cut = vm->have_downtime ? vm->downtime_start_ns : UINT64_MAX;
	uint64_t page = ms_telemetry__config_at(t, UINT64_MAX)->page_size ?: 4096;
	struct ms_tm_judge_opts o = { .sync = 1 };
	/* ram.transferred counts bytes on the wire, not pending bytes */
	struct pass_src src = { .bounds = &t->bounds };
	struct ms_tm_rate *rates = NULL;
	uint32_t n = 0;

	for (uint32_t i = 0; i < t->stats.nr; i++) {
		const struct ms_tm_stats *s = &t->stats.v[i];
		struct ms_tm_sample *x;

		if (s->ram_remaining == MS_STAT_UNSET || s->ts_ns > cut || is_terminal(s->status) ||
		    s->status == MS_MIG_CANCELLING)
			continue;
		if (!vm->series) {
			vm->series = calloc(t->stats.nr, sizeof(*vm->series));
			if (!vm->series)
				return -ENOMEM;
		}
		x = &vm->series[n++];
		x->ts_ns = s->ts_ns;
		x->initial = s->ram_remaining;
		x->moved = s->ram_transferred == MS_STAT_UNSET ? 0 : s->ram_transferred;
		x->threshold = MS_STAT_UNSET;
		/* QEMU's dirty rate is 0 until it has measured one second */
		x->dirty_bps = s->dirty_pages_rate == MS_STAT_UNSET || !s->dirty_pages_rate
				   ? MS_STAT_UNSET
				   : s->dirty_pages_rate * page;
		x->link_bps = s->mbps_milli == MS_STAT_UNSET ? 0 : s->mbps_milli * 125;
	}
	vm->series_nr = n;
	if (!n)
		return 0;
	if (build_passes(t, &src, vm->series, n, &vm->passes, &vm->passes_nr))
		return -ENOMEM;
	judge_opts(t, vm, &vm->series[n - 1], &o);
	/* the bandwidth QMP measured, as the VM's threshold has it */
	if (vm->threshold != MS_STAT_UNSET && o.limit_ns == vm->limit_ns) {
		o.threshold = vm->threshold;
		o.threshold_source = "limit";
	}
	o.passes = vm->passes;
	o.np = vm->passes_nr;
	if (clean_rates(t, &t->bounds, vm->passes, vm->passes_nr, cut, &rates, &o.nrates))
		return -ENOMEM;
	o.rates = rates;
	ms_tm_judge(vm->series, n, &o, &vm->conv);
	free(rates);
	vm->conv.basis = "qmp";
	if (vm->conv.predicted_ns == MS_STAT_UNSET && vm->bandwidth_bps)
		vm->conv.predicted_ns =
		    ms_tm_u64((double)vm->conv.pending * 1e9 / (double)vm->bandwidth_bps);
	return 0;
}

static int verdict_rank(enum ms_verdict v)
{
	static const int rank[] = {
		/* for the VM, a device that cannot be judged yet is worse than one converging */
		[MS_VERDICT_CONVERGING] = 0,
		[MS_VERDICT_UNKNOWN] = 1,
		[MS_VERDICT_STALLED] = 2,
		[MS_VERDICT_DIVERGING] = 3,
	};

	return rank[v];
}

/* The device with the worst verdict (diverging, stalled, converging), MS_DEV_NONE if none. */
static uint32_t worst_device(const struct ms_tm_report *r, uint32_t *samples)
{
	uint32_t wid = MS_DEV_NONE;

	*samples = 0;
	for (uint32_t id = 0; id < r->nr; id++) {
		const struct ms_tm_dev_result *x = &r->dev[id];

		if (!x->present || !x->conv.samples)
			continue;
		*samples += x->conv.samples;
		/* among devices converging, the last to switch over speaks for the VM */
		if (wid == MS_DEV_NONE ||
		    verdict_rank(x->conv.verdict) > verdict_rank(r->dev[wid].conv.verdict) ||
		    (x->conv.verdict == MS_VERDICT_CONVERGING &&
		     r->dev[wid].conv.verdict == MS_VERDICT_CONVERGING &&
		     x->conv.switchover_ns > r->dev[wid].conv.switchover_ns))
			wid = id;
	}
	return wid;
}

/* Every device converging: the VM switches over when the last of them can. */
static uint64_t latest_switchover(const struct ms_tm_report *r, enum ms_verdict v)
{
	uint64_t at = 0;

	if (v != MS_VERDICT_CONVERGING)
		return MS_STAT_UNSET;
	for (uint32_t id = 0; id < r->nr; id++)
		if (r->dev[id].present && r->dev[id].conv.samples &&
		    r->dev[id].conv.switchover_ns != MS_STAT_UNSET)
			at = max64(at, r->dev[id].conv.switchover_ns);
	return at;
}

/* A device judged on QEMU's own pending from its trace log (or USDT probes). */
static int qemu_own_pending(const struct ms_telemetry *t, const struct ms_tm_report *r)
{
	for (uint32_t id = 0; id < r->nr && id < t->nr; id++)
		if (r->dev[id].present && r->dev[id].conv.samples &&
		    t->dev[id].basis == MS_EV_QEMU_PENDING && t->dev[id].origin != MS_PENDING_QMP)
			return 1;
	return 0;
}

/* Without query-migrate or a sum of the devices: the VM converges as its worst device does. */
static void vm_worst_device(const struct ms_devices *d, struct ms_tm_report *r)
{
	struct ms_tm_convergence *c = &r->vm.conv;
	uint32_t samples, wid = worst_device(r, &samples);

	if (wid == MS_DEV_NONE) {
		ms_tm_judge(NULL, 0, &(struct ms_tm_judge_opts){ .threshold = MS_STAT_UNSET }, c);
		c->basis = "none";
		return;
	}
	*c = r->dev[wid].conv;
	c->samples = samples;
	c->basis = "devices";
	c->reinits = 0;
	c->stopcopy = MS_STAT_UNSET;
	/* QEMU's own pending counts every iterative section: its prediction is the VM's */
	if (strcmp(r->dev[wid].conv.basis, "qemu_pending"))
		c->predicted_ns = MS_STAT_UNSET;
	c->switchover_ns = latest_switchover(r, c->verdict);
	ms_tm_say(c, "%.32s: %s", ms_devices__get(d, wid)->name, r->dev[wid].conv.reason);
}

/* A device whose series counts towards the VM's: a source with samples. */
static int in_vm_sum(const struct ms_devices *d, const struct ms_tm_report *r, uint32_t id)
{
	const struct ms_device_info *info = ms_devices__get(d, id);

	return info && r->dev[id].present && r->dev[id].conv.samples &&
	       (info->role == MS_ROLE_SOURCE || info->role == MS_ROLE_BOTH);
}

/* "ref0", "ref0+ref1", "5 devices": the devices a VM-level reason speaks for. */
static void part_names(const struct ms_devices *d, const struct ms_tm_report *r, char *buf,
		       size_t len)
{
	uint32_t n = 0;
	size_t used = 0;

	for (uint32_t id = 0; id < r->nr; id++)
		n += in_vm_sum(d, r, id);
	if (n > 3) {
		snprintf(buf, len, "%u devices", n);
		return;
	}
	buf[0] = 0;
	for (uint32_t id = 0; id < r->nr && used < len; id++)
		if (in_vm_sum(d, r, id))
			used += (size_t)snprintf(buf + used, len - used, "%s%.32s", used ? "+" : "",
						 ms_devices__get(d, id)->name);
}

/* One device's series being merged into the VM's sum. */
struct sum_part {
	const struct ms_tm_sample *s;
	uint32_t n, next;      /* samples, and the next one to merge */
	uint64_t value, moved; /* its latest pending and moved bytes */
};

/*
 * Without query-migrate, when the devices are all of the VM (a profile): its
 * series is their sum, at each sample of any device the latest judged value
 * of every one — what must move if the VM stopped then, the quantity the
 * switchover rule holds against the threshold.  It starts once every device
 * has a sample.  Its verdict is the worst of the sum's and every device's.
 * Returns 0 when there is no such sum: a series of QEMU's own pending already
 * counts every device (the caller takes the worst device).
 */
static int vm_total(const struct ms_telemetry *t, const struct ms_devices *d,
		    struct ms_tm_report *r)
{
	struct ms_tm_vm *vm = &r->vm;
	struct ms_tm_judge_opts o = { .what = "stop-copy size" };
	struct sum_part *p;
	uint32_t k = 0, total = 0, seen = 0, out = 0, wid;
	struct ms_tm_convergence *c = &vm->conv;
	char names[112], why[MS_TM_REASON_LEN];

	for (uint32_t id = 0; id < r->nr; id++)
		if (in_vm_sum(d, r, id)) {
			if (!strcmp(r->dev[id].conv.basis, "qemu_pending"))
				return 0;
			k++;
		}
	if (!k)
		return 0;
	p = calloc(k, sizeof(*p));
	if (!p)
		return -ENOMEM;
	k = 0;
	for (uint32_t id = 0; id < r->nr; id++) {
		const struct ms_tm_device *dev = ms_telemetry__device(t, id);
		uint64_t cut = device_cut(&r->dev[id], vm);
		int sc;

		if (!in_vm_sum(d, r, id))
			continue;
		p[k].s = judged_series(dev, cut, &p[k].n, &sc);
		total += p[k].n;
		if (!sc)
			o.what = "pending";
		k++;
	}
	vm->series = calloc(total, sizeof(*vm->series));
	if (!vm->series) {
		free(p);
		return -ENOMEM;
	}
	/* merge in time order; every sample at one instant before that instant's sum */
	for (;;) {
		uint64_t ts = UINT64_MAX, sum = 0, moved = 0;
		struct ms_tm_sample *x;

		for (uint32_t i = 0; i < k; i++)
			if (p[i].next < p[i].n && p[i].s[p[i].next].ts_ns < ts)
				ts = p[i].s[p[i].next].ts_ns;
		if (ts == UINT64_MAX)
			break;
		for (uint32_t i = 0; i < k; i++) {
			while (p[i].next < p[i].n && p[i].s[p[i].next].ts_ns == ts) {
				const struct ms_tm_sample *y = &p[i].s[p[i].next++];

				seen += p[i].next == 1;
				p[i].value = ms_tm_sample__pending(y);
				p[i].moved = y->moved;
			}
			sum = p[i].value > UINT64_MAX - sum ? UINT64_MAX : sum + p[i].value;
			moved += p[i].moved;
		}
		if (seen < k)
			continue;
		x = &vm->series[out++];
		memset(x, 0, sizeof(*x));
		x->ts_ns = ts;
		x->initial = sum;
		x->moved = moved;
		x->threshold = MS_STAT_UNSET;
		x->dirty_bps = MS_STAT_UNSET;
	}
	free(p);
	vm->series_nr = out;
	/*
	 * The sum has no passes of its own: it says whether the VM can switch
	 * over now; otherwise the devices' own passes say where it is going.
	 */
	judge_opts(t, vm, out ? &vm->series[out - 1] : NULL, &o);
	ms_tm_judge(vm->series, out, &o, c);
	c->basis = "devices";
	/* the parts' own last figures, summed */
	c->initial = c->dirty = 0;
	c->stopcopy = 0;
	for (uint32_t id = 0; id < r->nr; id++) {
		const struct ms_tm_convergence *x = &r->dev[id].conv;

		if (!in_vm_sum(d, r, id))
			continue;
		c->initial += x->initial;
		c->dirty += x->dirty;
		c->stopcopy = x->stopcopy == MS_STAT_UNSET || c->stopcopy == MS_STAT_UNSET
				  ? MS_STAT_UNSET
				  : c->stopcopy + x->stopcopy;
	}
	if (vm->bandwidth_bps && out)
		c->predicted_ns = ms_tm_u64((double)c->pending * 1e9 / (double)vm->bandwidth_bps);
	/*
	 * The sum says whether the VM fits the limit; a device doing worse than
	 * the sum (diverging while another drains) speaks for where it is going.
	 */
	wid = worst_device(r, &k);
	/*
	 * Without a threshold for the sum (no bandwidth: the profile of real
	 * devices) it cannot say the parts do not fit together; each device was
	 * judged on its own rate, and the worst of them speaks (below).
	 */
	if (c->verdict != MS_VERDICT_CONVERGING && wid != MS_DEV_NONE &&
	    c->threshold != MS_STAT_UNSET && r->dev[wid].conv.verdict == MS_VERDICT_CONVERGING &&
	    !latest_switchover(r, MS_VERDICT_CONVERGING)) {
		/* each fits now, together they do not, and nothing says they will shrink */
		c->verdict = MS_VERDICT_STALLED;
		c->switchover_ns = MS_STAT_UNSET;
		part_names(d, r, names, sizeof(names));
		ms_tm_say(c, "%s: each fits the threshold, together %s do not", names,
			  ms_fmt_bytes(c->pending, why, 40));
	} else if (c->verdict != MS_VERDICT_CONVERGING && wid != MS_DEV_NONE) {
		c->verdict = r->dev[wid].conv.verdict;
		c->have_rates = 0;
		c->ratio = 0;
		c->passes = r->dev[wid].conv.passes;
		c->switchover_ns = latest_switchover(r, c->verdict);
		ms_tm_say(c, "%.32s: %s", ms_devices__get(d, wid)->name, r->dev[wid].conv.reason);
	} else {
		part_names(d, r, names, sizeof(names));
		memcpy(why, c->reason, sizeof(why));
		ms_tm_say(c, "%s: %s", names, why);
	}
	return 1;
}

/* The last sample at or before ts, or NULL. */
static const struct ms_tm_sample *at_or_before(const struct ms_tm_samples *v, uint64_t ts)
{
	uint32_t n = before(v->v, v->nr, ts);

	return n ? &v->v[n - 1] : NULL;
}

/*
 * Judge the switchover decision by the driver's rule (switchover.h), on what
 * the stream said at that moment: every source device's last stop-copy size
 * (else its pre-copy pending) summed, and the devices still waiting for their
 * switchover-ack — one requested and not given, or initial bytes not drained
 * at the last query (a device resuming itself is asked for no ack).
 */
static void switchover_judgment(const struct ms_telemetry *t, const struct ms_devices *d,
				struct ms_tm_vm *vm)
{
	struct ms_tm_switchover *sw = &vm->switchover;
	char facts[200];

	for (uint32_t i = 0; i < t->switchover.nr && !sw->have; i++)
		if (t->switchover.v[i].v == MS_SWITCHOVER_DECIDED) {
			sw->have = 1;
			sw->at_ns = t->switchover.v[i].ts_ns;
		}
	if (!sw->have)
		return;
	sw->check.threshold = vm->threshold;
	sw->check.bps = vm->bandwidth_bps;
	sw->check.limit_ns = vm->limit_ns;
	for (uint32_t id = 0; id < t->nr; id++) {
		const struct ms_device_info *info = ms_devices__get(d, id);
		const struct ms_tm_device *dev = &t->dev[id];
		const struct ms_tm_sample *sc = at_or_before(&dev->stopcopy, sw->at_ns);
		const struct ms_tm_sample *pc = at_or_before(&dev->samples, sw->at_ns);
		int waiting = 0;

		if (!info || (info->role != MS_ROLE_SOURCE && info->role != MS_ROLE_BOTH) ||
		    (!sc && !pc))
			continue;
		ms_switchover__add(&sw->check, sc ? sc->initial : ms_tm_sample__pending(pc));
		sw->devices++;
		for (uint32_t i = 0;
		     i < dev->switchover.nr && dev->switchover.v[i].ts_ns <= sw->at_ns; i++)
			if (dev->switchover.v[i].v == MS_SWITCHOVER_ACK_REQUESTED)
				waiting = 1;
			else if (dev->switchover.v[i].v == MS_SWITCHOVER_ACKED)
				waiting = 0;
		if (pc && dev->basis == MS_EV_PRECOPY && pc->initial)
			waiting = 1;
		sw->check.unacked += waiting;
	}
	if (!sw->devices) {
		snprintf(sw->reason, sizeof(sw->reason), "no pending-byte samples before it");
		return;
	}
	sw->converged = ms_switchover__ok(&sw->check);
	ms_switchover__describe(&sw->check, facts, sizeof(facts));
	snprintf(sw->reason, sizeof(sw->reason), "%s: %s",
		 sw->converged ? "converged" : "did not converge", facts);
}

static int span_cmp(const void *a, const void *b)
{
	const struct ms_tm_span *x = a, *y = b;

	return x->start_ns < y->start_ns ? -1 : x->start_ns > y->start_ns;
}

/* Request-to-ack spans of one list (device or VM) appended to spans. */
static void ack_spans(const struct ms_tm_point *p, uint32_t n, struct ms_tm_vm *vm,
		      struct ms_tm_span *spans, uint32_t *nr)
{
	int waiting = 0;

	for (uint32_t i = 0; i < n; i++) {
		vm->acks_requested += p[i].v == MS_SWITCHOVER_ACK_REQUESTED;
		vm->acks += p[i].v == MS_SWITCHOVER_ACKED;
		if (p[i].v == MS_SWITCHOVER_ACK_REQUESTED && !waiting) {
			spans[*nr].start_ns = p[i].ts_ns;
			waiting = 1;
		} else if (p[i].v == MS_SWITCHOVER_ACKED && waiting &&
			   p[i].ts_ns >= spans[*nr].start_ns) {
			spans[(*nr)++].end_ns = p[i].ts_ns;
			waiting = 0;
		}
	}
}

/*
 * Switchover acks: how many were asked and given, and how long the switchover
 * was held back by at least one outstanding request (devices wait in
 * parallel: the union of their waits, not the sum).
 */
static int acks(const struct ms_telemetry *t, struct ms_tm_vm *vm)
{
	uint32_t cap = t->switchover.nr, nr = 0;
	struct ms_tm_span *spans;
	uint64_t end = 0;

	for (uint32_t id = 0; id < t->nr; id++)
		cap += t->dev[id].switchover.nr;
	spans = calloc(cap ? cap : 1, sizeof(*spans));
	if (!spans)
		return -ENOMEM;
	for (uint32_t id = 0; id < t->nr; id++)
		ack_spans(t->dev[id].switchover.v, t->dev[id].switchover.nr, vm, spans, &nr);
	ack_spans(t->switchover.v, t->switchover.nr, vm, spans, &nr);
	qsort(spans, nr, sizeof(*spans), span_cmp);
	for (uint32_t i = 0; i < nr; i++) {
		uint64_t from = max64(spans[i].start_ns, end);

		if (spans[i].end_ns > from)
			vm->ack_wait_ns += spans[i].end_ns - from;
		end = max64(end, spans[i].end_ns);
	}
	free(spans);
	return 0;
}

int ms_telemetry__analyze(const struct ms_telemetry *t, const struct ms_devices *d,
			  struct ms_tm_report *r)
{
	struct ms_tm_vm *vm = &r->vm;
	uint64_t first_arc = UINT64_MAX, last_arc = 0;

	memset(r, 0, sizeof(*r));
	r->t0_ns = t->t0_ns;
	r->nr = t->nr > d->nr ? t->nr : d->nr;
	r->dev = calloc(r->nr ? r->nr : 1, sizeof(*r->dev));
	if (!r->dev)
		return -ENOMEM;
	vm_facts(t, vm);

	/* 1. each source device's downtime from its state timeline */
	for (uint32_t id = 0; id < r->nr; id++) {
		const struct ms_device_info *info = ms_devices__get(d, id);
		const struct ms_tm_device *dev = ms_telemetry__device(t, id), *pd;
		struct ms_tm_dev_result *x = &r->dev[id];
		uint32_t peer;

		x->present = info != NULL;
		x->counted_in = MS_DEV_NONE;
		x->dt.peer = MS_DEV_NONE;
		for (uint32_t i = 0; dev && i < ms_tm_timeline(dev)->nr; i++) {
			first_arc = min64(first_arc, arc_start(&ms_tm_timeline(dev)->v[i]));
			last_arc = max64(last_arc, ms_tm_timeline(dev)->v[i].end_ns);
		}
		if (!info || !dev || info->role == MS_ROLE_DEST || !ms_tm_timeline(dev)->nr)
			continue;
		peer = find_peer(d, id);
		pd = peer != MS_DEV_NONE ? ms_telemetry__device(t, peer) : NULL;
		arcs_downtime(dev, pd, peer, &x->dt);
		if (x->dt.have && window_arcs(dev, x->dt.complete ? pd : NULL, x))
			return -ENOMEM;
	}
	for (uint32_t id = 0; id < r->nr; id++) {
		uint32_t peer = r->dev[id].dt.peer;

		if (r->dev[id].dt.have && r->dev[id].dt.complete && peer != MS_DEV_NONE &&
		    peer != id)
			r->dev[peer].counted_in = id;
	}
	if (split_waits(t, r, vm->bandwidth_bps))
		return -ENOMEM;

	/* 2. the VM's downtime: QEMU's own when it told us, else the devices' */
	if (!qemu_downtime(t, vm)) {
		uint64_t s = UINT64_MAX, e = 0;

		for (uint32_t id = 0; id < r->nr; id++)
			if (r->dev[id].dt.have) {
				s = min64(s, r->dev[id].dt.start_ns);
				e = max64(e, r->dev[id].dt.end_ns);
			}
		if (s != UINT64_MAX) {
			vm->have_downtime = 1;
			vm->downtime_source = "devices";
			vm->downtime_start_ns = s;
			vm->downtime_end_ns = e;
		}
	}
	if (t->status.nr) {
		qemu_total(t, vm);
	} else if (first_arc != UINT64_MAX) {
		vm->have_total = 1;
		vm->total_start_ns = first_arc;
		vm->total_end_ns = vm->have_downtime ? vm->downtime_end_ns : last_arc;
	}

	/* 3. QEMU sections, shares, ack waits, pre-copy time and convergence */
	for (uint32_t id = 0; id < r->nr; id++) {
		const struct ms_tm_device *dev = ms_telemetry__device(t, id);
		struct ms_tm_dev_result *x = &r->dev[id];
		uint64_t vm_dt = vm->downtime_end_ns - vm->downtime_start_ns;
		uint64_t cut;

		if (!x->present || !dev) {
			ms_tm_judge(NULL, 0,
				    &(struct ms_tm_judge_opts){ .threshold = MS_STAT_UNSET },
				    &x->conv);
			x->conv.basis = "none";
			continue;
		}
		for (uint32_t i = 0; i < dev->saves.nr; i++)
			x->save_ns += dev->saves.v[i].end_ns - dev->saves.v[i].start_ns;
		for (uint32_t i = 0; i < dev->loads.nr; i++)
			x->load_ns += dev->loads.v[i].end_ns - dev->loads.v[i].start_ns;
		if (!x->dt.have && x->counted_in == MS_DEV_NONE && vm->have_downtime)
			sections_downtime(dev, vm, &x->dt);
		if (ms_tm_downtime__by_arcs(&x->dt)) {
			const struct ms_tm_device *pd = ms_telemetry__device(t, x->dt.peer);
			uint64_t w0 = x->dt.saved_ns, w1 = x->dt.resuming_ns, ack;

			ack = ack_wait(dev->switchover.v, dev->switchover.nr, w0, w1);
			if (pd && x->dt.complete)
				ack = max64(ack,
					    ack_wait(pd->switchover.v, pd->switchover.nr, w0, w1));
			ack = max64(ack, ack_wait(t->switchover.v, t->switchover.nr, w0, w1));
			x->dt.ack_ns = min64(ack, x->dt.wait_ns);
			x->dt.wait_ns -= x->dt.ack_ns;
		}
		if (x->dt.have && vm->have_downtime && vm_dt)
			x->dt.share = (double)min64(x->dt.busy_ns, vm_dt) / (double)vm_dt;

		cut = device_cut(x, vm);
		x->have_precopy = precopy_time(dev, cut, &x->precopy_ns);
		if (device_convergence(t, ms_devices__get(d, id), dev, vm, x, cut))
			return -ENOMEM;
	}

	if (vm_convergence(t, r))
		return -ENOMEM;
	/*
	 * QEMU's own pending from its trace log is exact at every sync and counts
	 * every iterative section; query-migrate's ram.remaining is polled (what a
	 * sync left shows up to a poll later, and a sync just before the stop not
	 * at all).  With both, the VM is judged on QEMU's own; query-migrate's
	 * series stays for the plots.
	 */
	if (!vm->series_nr || qemu_own_pending(t, r)) {
		int ret = vm->series_nr ? 0 : vm_total(t, d, r);

		if (ret < 0)
			return ret;
		if (!ret)
			vm_worst_device(d, r);
	}
	switchover_judgment(t, d, vm);
	ms_tm__split(t, d, r);
	return acks(t, vm);
}

void ms_tm_report__free(struct ms_tm_report *r)
{
	for (uint32_t i = 0; r->dev && i < r->nr; i++) {
		free(r->dev[i].arcs);
		free(r->dev[i].passes);
	}
	free(r->vm.passes);
	free(r->dev);
	free(r->vm.series);
	memset(r, 0, sizeof(*r));
}
