// SPDX-License-Identifier: GPL-2.0-only
/*
 * The telemetry consumer: keeps the records the downtime and convergence
 * analysis needs, per device id (see include/migscope/telemetry.h).  It only
 * copies what records say; every judgement is made later, in the analysis.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <migscope/telemetry.h>

int ms_vec__reserve(void **v, uint32_t *cap, uint32_t nr, size_t elem)
{
	uint32_t ncap;
	void *n;

	if (nr < *cap)
		return 0;
	if (*cap >= UINT32_MAX / 2)
		return -ENOMEM;
	ncap = *cap ? *cap * 2 : 16;
	n = realloc(*v, (size_t)ncap * elem);
	if (!n)
		return -ENOMEM;
	*v = n;
	*cap = ncap;
	return 0;
}

void ms_telemetry__init(struct ms_telemetry *t)
{
	memset(t, 0, sizeof(*t));
}

static void device_free(struct ms_tm_device *d)
{
	free(d->arcs.v);
	free(d->modes.v);
	free(d->samples.v);
	free(d->stopcopy.v);
	free(d->switchover.v);
	free(d->saves.v);
	free(d->loads.v);
	free(d->qdowntime.v);
	free(d->qdowntime_load.v);
	free(d->runstate.v);
	free(d->bounds.v);
}

void ms_telemetry__free(struct ms_telemetry *t)
{
	for (uint32_t i = 0; i < t->nr; i++)
		device_free(&t->dev[i]);
	free(t->dev);
	free(t->runstate.v);
	free(t->status.v);
	free(t->switchover.v);
	free(t->stats.v);
	free(t->rates.v);
	free(t->configs.v);
	free(t->bounds.v);
	memset(t, 0, sizeof(*t));
}

/*
 * A MS_EV_CONFIG: the first is also kept as t->config; each holds from
 * its time on, its page size from the one before when it leaves it 0 (a
 * change of limits only).  A record out of time order (a fuzzed stream)
 * goes where its time puts it, so the lookup stays a walk in time order.
 */
static void on_config(struct ms_telemetry *t, const struct ms_ev_config *c)
{
	struct ms_ev_config *x;
	uint32_t i;

	if (!t->configs.nr)
		memcpy(&t->config, c, sizeof(t->config));
	x = ms_vec_push(&t->configs);
	if (!x) {
		t->dropped++;
		return;
	}
	for (i = t->configs.nr - 1; i > 0 && t->configs.v[i - 1].hdr.ts_ns > c->hdr.ts_ns; i--)
		t->configs.v[i] = t->configs.v[i - 1];
	memcpy(&t->configs.v[i], c, sizeof(*c));
	if (!c->page_size && i)
		t->configs.v[i].page_size = t->configs.v[i - 1].page_size;
}

const struct ms_tm_device *ms_telemetry__device(const struct ms_telemetry *t, uint32_t id)
{
	return id < t->nr ? &t->dev[id] : NULL;
}

const struct ms_ev_config *ms_telemetry__config_at(const struct ms_telemetry *t, uint64_t ts)
{
	const struct ms_ev_config *c = &t->config; /* all zero without any */

	/* the last at or before ts; before the first, the first: what held when the session began
	 */
	for (uint32_t i = 0; i < t->configs.nr && (!i || t->configs.v[i].hdr.ts_ns <= ts); i++)
		c = &t->configs.v[i];
	return c;
}

uint64_t ms_telemetry__threshold_at(const struct ms_telemetry *t, uint64_t ts, uint64_t bps)
{
	const struct ms_ev_config *c = ms_telemetry__config_at(t, ts);

	if (!bps)
		bps = c->bandwidth_bps;
	if (!bps || !c->downtime_limit_ns)
		return MS_STAT_UNSET;
	return ms_switchover_threshold(bps, c->downtime_limit_ns);
}

/* The record of device id, grown on first sight; NULL for ids the registry refuses too. */
static struct ms_tm_device *device(struct ms_telemetry *t, uint32_t id)
{
	if (id > MS_DEV_ID_MAX)
		return NULL;
	if (id >= t->cap) {
		uint32_t cap = t->cap ? t->cap : 8;
		struct ms_tm_device *n;

		while (cap <= id)
			cap *= 2;
		n = realloc(t->dev, cap * sizeof(*n));
		if (!n)
			return NULL;
		memset(n + t->cap, 0, (cap - t->cap) * sizeof(*n));
		t->dev = n;
		t->cap = cap;
	}
	if (id >= t->nr)
		t->nr = id + 1;
	return &t->dev[id];
}

static int push_point(struct ms_telemetry *t, struct ms_tm_points *pv, uint64_t ts, uint64_t v)
{
	struct ms_tm_point *p = ms_vec_push(pv);

	if (!p) {
		t->dropped++;
		return -ENOMEM;
	}
	p->ts_ns = ts;
	p->v = v;
	return 0;
}

static int push_sample(struct ms_telemetry *t, struct ms_tm_samples *v, uint64_t ts,
		       uint64_t initial, uint64_t dirty, uint64_t moved, uint64_t threshold,
		       uint32_t flags)
{
	struct ms_tm_sample *s = ms_vec_push(v);

	if (!s) {
		t->dropped++;
		return -ENOMEM;
	}
	s->ts_ns = ts;
	s->initial = initial;
	s->dirty = dirty;
	s->moved = moved;
	s->threshold = threshold;
	s->dirty_bps = MS_STAT_UNSET;
	s->flags = flags;
	s->pad = 0;
	s->link_bps = 0;
	return 0;
}

/*
 * A pending-byte sample.  A device's series holds one kind of record (its
 * basis: the record type, and for QEMU_PENDING where QEMU's number came from):
 * PRECOPY and QEMU_PENDING for one id, or QEMU's trace-log pending (every
 * iterative section) and QMP's ram.remaining (RAM only), are different
 * measures, so samples of a second kind are counted and left out.
 */
static void add_sample(struct ms_telemetry *t, struct ms_tm_device *d,
		       const struct ms_event_hdr *ev, uint32_t origin, uint64_t initial,
		       uint64_t dirty, uint64_t threshold, uint32_t flags)
{
	if (d->basis && (d->basis != ev->type || d->origin != origin)) {
		d->mixed++;
		return;
	}
	if (!push_sample(t, &d->samples, ev->ts_ns, initial, dirty, d->data[MS_PHASE_PRECOPY],
			 threshold, flags)) {
		d->basis = ev->type;
		d->origin = origin;
	}
}

/* A section's save or load ended at ts: keep the span from its start. */
static void close_span(struct ms_telemetry *t, struct ms_tm_spans *spans, uint64_t *open,
		       uint64_t ts)
{
	struct ms_tm_span *sp;

	if (!*open || *open > ts)
		return;
	sp = ms_vec_push(spans);
	if (sp) {
		sp->start_ns = *open;
		sp->end_ns = ts;
	} else {
		t->dropped++;
	}
	*open = 0;
}

static void on_section(struct ms_telemetry *t, struct ms_tm_device *d,
		       const struct ms_ev_qemu_section *q)
{
	uint64_t ts = q->hdr.ts_ns;

	/* 0 means "no start seen": a start at time 0 is kept as 1 ns */
	switch (q->phase) {
	case MS_SECTION_SAVE_START:
		d->save_open_ns = ts ? ts : 1;
		break;
	case MS_SECTION_LOAD_START:
		d->load_open_ns = ts ? ts : 1;
		break;
	case MS_SECTION_SAVE_END:
		close_span(t, &d->saves, &d->save_open_ns, ts);
		break;
	case MS_SECTION_LOAD_END:
		close_span(t, &d->loads, &d->load_open_ns, ts);
		break;
	default:
		break;
	}
}

static void on_stats(struct ms_telemetry *t, const struct ms_ev_mig_stats *m)
{
	struct ms_tm_stats *s = ms_vec_push(&t->stats);

	if (!s) {
		t->dropped++;
		return;
	}
	s->ts_ns = m->hdr.ts_ns;
	s->status = m->status;
	s->total_time_ms = m->total_time_ms;
	s->downtime_ms = m->downtime_ms;
	s->expected_downtime_ms = m->expected_downtime_ms;
	s->ram_remaining = m->ram_remaining;
	s->ram_transferred = m->ram_transferred;
	s->dirty_pages_rate = m->dirty_pages_rate;
	s->mbps_milli = m->mbps_milli;
}

static void on_dirty_rate(struct ms_telemetry *t, const struct ms_ev_dirty_rate *e)
{
	struct ms_tm_rate *r;

	/* no window, one reaching before the clock's zero, or bounds upside down */
	if (!e->window_ns || e->window_ns > e->hdr.ts_ns || e->rate_hi_bps < e->rate_bps)
		return;
	r = ms_vec_push(&t->rates);
	if (!r) {
		t->dropped++;
		return;
	}
	r->ts_ns = e->hdr.ts_ns;
	r->window_ns = e->window_ns;
	r->lo_bps = (double)e->rate_bps;
	r->hi_bps = (double)e->rate_hi_bps;
	r->mode = e->mode;
}

static void on_event(void *ctx, const struct ms_event_hdr *ev)
{
	struct ms_telemetry *t = ctx;
	struct ms_tm_device *d = NULL;

	/* times in reports count from the earliest record, the session start */
	if (!t->have_t0 || ev->ts_ns < t->t0_ns) {
		t->t0_ns = ev->ts_ns;
		t->have_t0 = 1;
	}
	/* a loss of an id no device can have is every device's: none in particular here */
	if (ev->type == MS_EV_LOSS && ev->dev > MS_DEV_ID_MAX)
		return;
	if (ev->dev != MS_DEV_NONE && ev->type != MS_EV_SESSION && ev->type != MS_EV_CONFIG) {
		d = device(t, ev->dev);
		if (!d) {
			t->dropped++;
			return;
		}
	}

	switch (ev->type) {
	case MS_EV_CONFIG:
		on_config(t, (const void *)ev);
		break;
	case MS_EV_QEMU_MARK: {
		const struct ms_ev_qemu_mark *m = (const void *)ev;

		if (m->mark < MS_MARK__MAX)
			t->marks[m->mark] = ev->ts_ns ? ev->ts_ns : 1;
		break;
	}
	case MS_EV_DIRTY_RATE:
		on_dirty_rate(t, (const void *)ev);
		break;
	case MS_EV_DEV_STATE: {
		const struct ms_ev_dev_state *e = (const void *)ev;
		struct ms_tm_arc *a;

		if (!d)
			break;
		a = ms_vec_push(e->domain == MS_DOMAIN_VIRTIO ? &d->modes : &d->arcs);
		if (!a) {
			t->dropped++;
			break;
		}
		a->end_ns = ev->ts_ns;
		/* an arc cannot have started before the clock did */
		a->dur_ns = e->dur_ns < ev->ts_ns ? e->dur_ns : ev->ts_ns;
		a->err = e->err;
		a->domain = (uint8_t)e->domain;
		a->from = e->from;
		a->to = e->to;
		a->pad = 0;
		break;
	}
	case MS_EV_PRECOPY: {
		const struct ms_ev_precopy *e = (const void *)ev;

		if (d)
			add_sample(t, d, ev, 0, e->initial_bytes, e->dirty_bytes, MS_STAT_UNSET,
				   e->flags & MS_PRECOPY_REINIT);
		break;
	}
	case MS_EV_QEMU_PENDING: {
		const struct ms_ev_qemu_pending *e = (const void *)ev;

		/* QEMU's threshold is 0 until it has measured a bandwidth */
		if (d)
			add_sample(t, d, ev, e->origin, e->precopy, 0,
				   e->threshold ? e->threshold : MS_STAT_UNSET,
				   e->exact ? MS_TM_EXACT : 0);
		break;
	}
	case MS_EV_STOPCOPY_SIZE:
		if (d)
			push_sample(t, &d->stopcopy, ev->ts_ns,
				    ((const struct ms_ev_stopcopy_size *)ev)->bytes, 0,
				    d->data[MS_PHASE_PRECOPY], MS_STAT_UNSET, 0);
		break;
	case MS_EV_DATA: {
		const struct ms_ev_data *e = (const void *)ev;

		if (d && e->phase <= MS_PHASE_RESUME) {
			if (!d->data[e->phase])
				d->data_first_ns[e->phase] = ev->ts_ns;
			d->data[e->phase] += e->bytes;
			d->data_last_ns[e->phase] = ev->ts_ns;
			d->data_last_bytes[e->phase] = e->bytes;
		}
		break;
	}
	case MS_EV_QEMU_SECTION:
		if (d)
			on_section(t, d, (const void *)ev);
		break;
	case MS_EV_QEMU_DOWNTIME: {
		const struct ms_ev_qemu_downtime *e = (const void *)ev;

		if (d && e->kind == MS_DOWNTIME_SAVE)
			push_point(t, &d->qdowntime, ev->ts_ns, e->dur_ns);
		if (d && e->kind == MS_DOWNTIME_LOAD)
			push_point(t, &d->qdowntime_load, ev->ts_ns, e->dur_ns);
		if (e->kind == MS_DOWNTIME_CHECKPOINT && e->checkpoint < MS_TM_CHECKPOINTS)
			t->checkpoints[e->checkpoint] = ev->ts_ns ? ev->ts_ns : 1;
		break;
	}
	case MS_EV_SWITCHOVER:
		push_point(t, d ? &d->switchover : &t->switchover, ev->ts_ns,
			   ((const struct ms_ev_switchover *)ev)->phase);
		break;
	case MS_EV_RUNSTATE:
		/* a device's (the destination's qemu-vm) never mixes with the source VM's */
		push_point(t, d ? &d->runstate : &t->runstate, ev->ts_ns,
			   !!((const struct ms_ev_runstate *)ev)->running);
		break;
	case MS_EV_MIG_STATUS:
		if (!d)
			push_point(t, &t->status, ev->ts_ns,
				   ((const struct ms_ev_mig_status *)ev)->status);
		break;
	case MS_EV_LOSS:
		if (d && !d->lost_ns)
			d->lost_ns = ev->ts_ns ? ev->ts_ns : 1;
		break;
	case MS_EV_MIG_STATS:
		if (!d)
			on_stats(t, (const void *)ev);
		break;
	case MS_EV_PASS: {
		const struct ms_ev_pass *e = (const void *)ev;
		struct ms_tm_bound *b = ms_vec_push(d ? &d->bounds : &t->bounds);

		if (!b) {
			t->dropped++;
			break;
		}
		b->ts_ns = ev->ts_ns;
		b->left = e->left;
		b->dirty = e->dirty;
		b->pass = e->pass;
		b->flags = e->flags;
		break;
	}
	default:
		break;
	}
}

int ms_telemetry__subscribe(struct ms_telemetry *t, struct ms_bus *bus)
{
	return ms_bus__subscribe(
	    bus,
	    MS_EV_BIT(MS_EV_SESSION) | MS_EV_BIT(MS_EV_CONFIG) | MS_EV_BIT(MS_EV_DEV_STATE) |
		MS_EV_BIT(MS_EV_PRECOPY) | MS_EV_BIT(MS_EV_STOPCOPY_SIZE) | MS_EV_BIT(MS_EV_DATA) |
		MS_EV_BIT(MS_EV_QEMU_PENDING) | MS_EV_BIT(MS_EV_QEMU_SECTION) |
		MS_EV_BIT(MS_EV_QEMU_DOWNTIME) | MS_EV_BIT(MS_EV_SWITCHOVER) |
		MS_EV_BIT(MS_EV_RUNSTATE) | MS_EV_BIT(MS_EV_MIG_STATUS) |
		MS_EV_BIT(MS_EV_MIG_STATS) | MS_EV_BIT(MS_EV_PASS) | MS_EV_BIT(MS_EV_QEMU_MARK) |
		MS_EV_BIT(MS_EV_LOSS) | MS_EV_BIT(MS_EV_DIRTY_RATE),
	    on_event, t);
}
