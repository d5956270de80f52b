// SPDX-License-Identifier: GPL-2.0-only
/* What-if replay: the recorded query rounds, re-decided (include/migscope/whatif.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <migscope/whatif.h>

void ms_whatif__init(struct ms_whatif *w)
{
	memset(w, 0, sizeof(*w));
}

void ms_whatif__free(struct ms_whatif *w)
{
	free(w->rounds);
	w->rounds = NULL;
}

static int src_index(const struct ms_whatif *w, uint32_t dev)
{
	for (unsigned int i = 0; i < w->nsrc; i++)
		if (w->src[i] == dev)
			return (int)i;
	return -1;
}

/* A round ends with the last source's stop-copy size: the driver queries in order. */
static void push_round(struct ms_whatif *w, uint64_t ts)
{
	struct ms_whatif_round *r;

	if (w->nr == w->cap) {
		unsigned int cap = w->cap ? 2 * w->cap : 64;
		void *p = realloc(w->rounds, cap * sizeof(*w->rounds));

		if (!p) {
			w->oom = 1;
			return;
		}
		w->rounds = p;
		w->cap = cap;
	}
	r = &w->rounds[w->nr++];
	r->ts = ts;
	memcpy(r->d, w->cur, sizeof(r->d));
	for (unsigned int i = 0; i < w->nsrc; i++) {
		w->cur[i].sent = 0;
		w->cur[i].reinit = 0;
	}
}

static void on_event(void *ctx, const struct ms_event_hdr *ev)
{
	struct ms_whatif *w = ctx;
	int i = ev->type == MS_EV_DEV_ADD ? -1 : src_index(w, ev->dev);

	switch (ev->type) {
	case MS_EV_SESSION:
		if (!w->start_ts)
			w->start_ts = ev->ts_ns;
		break;
	case MS_EV_DEV_ADD: {
		const struct ms_ev_dev_add *a = (const void *)ev;

		if (a->role == MS_ROLE_DEST || src_index(w, ev->dev) >= 0)
			break;
		if (w->nsrc == MS_WHATIF_MAX_DEV) {
			w->too_many = 1;
			break;
		}
		w->src[w->nsrc++] = ev->dev;
		break;
	}
	case MS_EV_PRECOPY: {
		const struct ms_ev_precopy *p = (const void *)ev;

		if (i < 0 || w->decided)
			break;
		w->cur[i].precopy = 1;
		w->cur[i].initial = p->initial_bytes;
		w->cur[i].dirty = p->dirty_bytes;
		w->cur[i].reinit |= !!(p->flags & MS_PRECOPY_REINIT);
		if (p->flags & MS_PRECOPY_REINIT)
			w->cur[i].acked = 0;
		break;
	}
	case MS_EV_STOPCOPY_SIZE:
		if (i < 0 || w->decided)
			break;
		w->cur[i].stopcopy = ((const struct ms_ev_stopcopy_size *)ev)->bytes;
		if ((unsigned int)i == w->nsrc - 1)
			push_round(w, ev->ts_ns);
		break;
	case MS_EV_DATA: {
		const struct ms_ev_data *d = (const void *)ev;

		if (i < 0)
			break;
		if (d->phase == MS_PHASE_PRECOPY && !w->decided)
			w->cur[i].sent += d->bytes;
		else if (d->phase == MS_PHASE_STOPCOPY && w->decided)
			w->moved[i] += d->bytes;
		break;
	}
	case MS_EV_SWITCHOVER: {
		const struct ms_ev_switchover *s = (const void *)ev;

		if (s->phase == MS_SWITCHOVER_DECIDED && !w->decided) {
			w->decided = 1;
			w->decided_ts = ev->ts_ns;
			for (unsigned int k = 0; k < w->nsrc; k++)
				w->unacked_at_decision += w->cur[k].precopy && !w->cur[k].acked;
		} else if (i >= 0 && !w->decided) {
			if (s->phase == MS_SWITCHOVER_ACKED)
				w->cur[i].acked = 1;
			else if (s->phase == MS_SWITCHOVER_ACK_REQUESTED)
				w->cur[i].acked = 0;
		}
		break;
	}
	default:
		break;
	}
}

int ms_whatif__subscribe(struct ms_whatif *w, struct ms_bus *bus)
{
	return ms_bus__subscribe(bus,
				 MS_EV_BIT(MS_EV_SESSION) | MS_EV_BIT(MS_EV_DEV_ADD) |
				     MS_EV_BIT(MS_EV_PRECOPY) | MS_EV_BIT(MS_EV_STOPCOPY_SIZE) |
				     MS_EV_BIT(MS_EV_DATA) | MS_EV_BIT(MS_EV_SWITCHOVER),
				 on_event, w);
}

static uint64_t sub0(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

/* a + b - c without wrapping below zero (growth measured between rounds may be negative) */
static uint64_t add_sub(uint64_t a, int64_t delta)
{
	if (delta < 0)
		return sub0(a, (uint64_t)-delta);
	return a + (uint64_t)delta;
}

/* The simulated state of one source. */
struct sim {
	uint64_t stopcopy, precopy, initial;
	int acked;
};

int ms_whatif__predict(const struct ms_whatif *w, const struct ms_ev_config *recorded,
		       const struct ms_whatif_opts *o, struct ms_whatif_result *res)
{
	uint64_t rec_bps = recorded ? recorded->bandwidth_bps : 0;
	uint64_t rec_limit = recorded ? recorded->downtime_limit_ns : 0;
	struct sim sim[MS_WHATIF_MAX_DEV];
	unsigned int last;
	int recorded_ack = !w->unacked_at_decision, same, diverged = 0;

	memset(res, 0, sizeof(*res));
	res->rec_bps = rec_bps;
	res->rec_limit_ns = rec_limit;
	res->bps = o->bps ? o->bps : rec_bps;
	res->limit_ns = o->limit_ns ? o->limit_ns : rec_limit;
	res->ack = o->ack < 0 ? recorded_ack : o->ack;
	res->reinit = o->reinit;
	res->ndev = w->nsrc;
	memcpy(res->dev, w->src, sizeof(res->dev));
	memcpy(res->rec_stopcopy_bytes, w->moved, sizeof(res->rec_stopcopy_bytes));
	if (w->too_many || w->oom) {
		snprintf(res->reason, sizeof(res->reason),
			 w->oom ? "out of memory for the recorded rounds"
				: "more than %d source devices",
			 MS_WHATIF_MAX_DEV);
		return -EINVAL;
	}
	if (!w->decided || !w->nr || !w->nsrc) {
		snprintf(res->reason, sizeof(res->reason),
			 "the capture has no switchover decision after per-device query rounds "
			 "(a profile capture has them)");
		return -EINVAL;
	}
	if (!res->bps) {
		snprintf(res->reason, sizeof(res->reason),
			 "no bandwidth: the recording had none and none was given (--bandwidth)");
		return -EINVAL;
	}
	if (!rec_bps && o->bps && o->bps != rec_bps) {
		snprintf(res->reason, sizeof(res->reason),
			 "the recording ran without a bandwidth limit: its rounds say nothing "
			 "about another link");
		return -EINVAL;
	}
	last = w->nr - 1;
	same = res->bps == rec_bps;
	res->recorded_ts = w->decided_ts;
	res->recorded_round = last;
	if (res->bps != rec_bps)
		snprintf(res->limits, sizeof(res->limits),
			 "pre-copy replayed at the new bandwidth from what each recorded round "
			 "added; REINIT events kept at their recorded times");
	if (!res->reinit)
		snprintf(res->limits + strlen(res->limits),
			 sizeof(res->limits) - strlen(res->limits),
			 "%swithout REINIT, new initial data is taken as stop-copy data and each "
			 "device's first ack stands",
			 res->limits[0] ? "; " : "");

	for (unsigned int i = 0; i < w->nsrc; i++) {
		const struct ms_whatif_sample *s = &w->rounds[0].d[i];

		sim[i].stopcopy = s->stopcopy;
		sim[i].initial = s->initial;
		sim[i].precopy = s->initial + s->dirty;
		sim[i].acked = 0;
	}
	for (unsigned int k = 0;; k++) {
		const struct ms_whatif_round *r = &w->rounds[k];
		struct ms_switchover_check *c = &res->check;
		uint64_t budget, left = 0;
		int diverge = 0;

		/* the query: acks as the driver keeps them, then the rule */
		memset(c, 0, sizeof(*c));
		c->bps = res->bps;
		c->limit_ns = res->limit_ns;
		c->threshold = ms_switchover_threshold(res->bps, res->limit_ns);
		for (unsigned int i = 0; i < w->nsrc; i++) {
			if (r->d[i].precopy) {
				if (r->d[i].reinit && res->reinit)
					sim[i].acked = 0;
				if (!sim[i].initial)
					sim[i].acked = 1;
				c->unacked += !sim[i].acked && res->ack;
			}
			ms_switchover__add(c, sim[i].stopcopy);
		}
		if (ms_switchover__ok(c)) {
			res->answerable = 1;
			res->predicted_ts = r->ts;
			res->predicted_round = k;
			for (unsigned int i = 0; i < w->nsrc; i++)
				/* what moved while stopped beyond the size queried (DMA while
				 * quiescing) */
				res->stopcopy_bytes[i] =
				    sim[i].stopcopy +
				    sub0(w->moved[i], w->rounds[last].d[i].stopcopy);
			ms_switchover__describe(c, res->reason, sizeof(res->reason));
			return 0;
		}
		if (k == last)
			break;

		/* one round of pre-copy at the new budget, shared as the driver shares it */
		budget = (uint64_t)((unsigned __int128)res->bps * (w->rounds[k + 1].ts - r->ts) /
				    1000000000u);
		for (unsigned int i = 0; i < w->nsrc; i++)
			left += r->d[i].precopy && sim[i].precopy;
		for (unsigned int i = 0; i < w->nsrc; i++) {
			const struct ms_whatif_sample *a = &r->d[i], *b = &w->rounds[k + 1].d[i];
			uint64_t sent = 0, share;
			int64_t grow_s, grow_p;
			uint64_t igrow, rec_initial_left;

			if (same && !diverged) {
				/* the recording's own round: nothing to model */
				sent = b->sent;
			} else if (a->precopy && sim[i].precopy && left) {
				share = budget / left;
				sent = share < sim[i].precopy ? share : sim[i].precopy;
				budget -= sent;
				left--;
			}
			/* what the workload (and REINITs) added between the two queries */
			grow_s = (int64_t)(b->stopcopy - a->stopcopy) + (int64_t)b->sent;
			grow_p = (int64_t)(b->initial + b->dirty) -
				 (int64_t)(a->initial + a->dirty) + (int64_t)b->sent;
			rec_initial_left = sub0(a->initial, b->sent);
			igrow = sub0(b->initial, rec_initial_left);
			if (b->reinit && !res->reinit) {
				/* from here the recording sent what a run without REINIT would not
				 */
				diverge = 1;
				/* unreported: the new data stays for STOP_COPY, not pre-copy */
				grow_p -= (int64_t)sub0(igrow, a->dirty);
				igrow = 0;
			}
			sim[i].stopcopy = add_sub(sub0(sim[i].stopcopy, sent), grow_s);
			sim[i].precopy = add_sub(sub0(sim[i].precopy, sent), grow_p);
			sim[i].initial = sub0(sim[i].initial, sent) + igrow;
			if (sim[i].initial > sim[i].precopy)
				sim[i].initial = sim[i].precopy;
		}
		diverged |= diverge;
	}
	snprintf(res->reason, sizeof(res->reason),
		 "cannot answer: the rule does not hold at any recorded round (the last at "
		 "%.1f ms, the recorded decision); the rounds after it were never taken",
		 (double)(w->rounds[last].ts - w->start_ts) / 1e6);
	return 0;
}
