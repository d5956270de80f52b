// SPDX-License-Identifier: GPL-2.0-only
/* Hand-built event streams for the telemetry and report tests. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <migscope/capture.h>
#include <migscope/session.h>

#include "testutil.h"
#include "tmbuild.h"

uint64_t tb_ns(double t_ms)
{
	return TB_T0 + (uint64_t)(t_ms * 1e6 + 0.5);
}

struct ms_session *tb_session(const char *record_path, uint64_t limit_ms, uint64_t bandwidth_bps)
{
	struct ms_session_opts o = { .record_path = record_path };
	char err[MS_ERR_LEN];
	struct ms_session *s = ms_session__new(&o, err, sizeof(err));

	assert_non_null(s);
	ms_stream__begin(&s->stream, TB_T0, MS_SESSION_PROFILE, limit_ms * 1000000ull,
			 bandwidth_bps, 4096);
	return s;
}

uint32_t tb_dev(struct ms_session *s, const char *name, uint16_t kind, uint16_t role, uint32_t peer)
{
	return ms_stream__add_device(&s->stream, TB_T0, kind, role, 0, peer, name);
}

static void arc(struct ms_session *s, uint32_t dev, uint16_t domain, uint8_t from, uint8_t to,
		double end_ms, double dur_ms)
{
	struct ms_ev_dev_state e = { 0 };

	MS_EVENT_INIT(&e, MS_EV_DEV_STATE, ms_ev_dev_state, dev, tb_ns(end_ms));
	e.domain = domain;
	e.from = from;
	e.to = to;
	e.dur_ns = (uint64_t)(dur_ms * 1e6 + 0.5);
	ms_stream__publish(&s->stream, &e.hdr);
}

void tb_arc(struct ms_session *s, uint32_t dev, uint8_t from, uint8_t to, double end_ms,
	    double dur_ms)
{
	arc(s, dev, MS_DOMAIN_VFIO, from, to, end_ms, dur_ms);
}

void tb_mode(struct ms_session *s, uint32_t dev, uint8_t from, uint8_t to, double end_ms,
	     double dur_ms)
{
	arc(s, dev, MS_DOMAIN_VIRTIO, from, to, end_ms, dur_ms);
}

void tb_precopy(struct ms_session *s, uint32_t dev, double t_ms, uint64_t initial, uint64_t dirty,
		uint32_t flags)
{
	struct ms_ev_precopy e = { 0 };

	MS_EVENT_INIT(&e, MS_EV_PRECOPY, ms_ev_precopy, dev, tb_ns(t_ms));
	e.initial_bytes = initial;
	e.dirty_bytes = dirty;
	e.flags = flags;
	ms_stream__publish(&s->stream, &e.hdr);
}

void tb_stopcopy(struct ms_session *s, uint32_t dev, double t_ms, uint64_t bytes)
{
	struct ms_ev_stopcopy_size e = { 0 };

	MS_EVENT_INIT(&e, MS_EV_STOPCOPY_SIZE, ms_ev_stopcopy_size, dev, tb_ns(t_ms));
	e.bytes = bytes;
	ms_stream__publish(&s->stream, &e.hdr);
}

void tb_data(struct ms_session *s, uint32_t dev, double t_ms, uint64_t bytes, uint32_t phase)
{
	struct ms_ev_data e = { 0 };

	MS_EVENT_INIT(&e, MS_EV_DATA, ms_ev_data, dev, tb_ns(t_ms));
	e.bytes = bytes;
	e.phase = phase;
	ms_stream__publish(&s->stream, &e.hdr);
}

void tb_switchover(struct ms_session *s, uint32_t dev, double t_ms, uint32_t phase)
{
	struct ms_ev_switchover e = { 0 };

	MS_EVENT_INIT(&e, MS_EV_SWITCHOVER, ms_ev_switchover, dev, tb_ns(t_ms));
	e.phase = phase;
	ms_stream__publish(&s->stream, &e.hdr);
}

void tb_runstate(struct ms_session *s, double t_ms, int running)
{
	struct ms_ev_runstate e = { 0 };

	MS_EVENT_INIT(&e, MS_EV_RUNSTATE, ms_ev_runstate, MS_DEV_NONE, tb_ns(t_ms));
	e.running = (uint32_t)running;
	ms_stream__publish(&s->stream, &e.hdr);
}

void tb_config(struct ms_session *s, double t_ms, uint64_t limit_ms, uint64_t bandwidth_bps,
	       double after_ms)
{
	struct ms_ev_config e = { 0 };

	MS_EVENT_INIT(&e, MS_EV_CONFIG, ms_ev_config, MS_DEV_NONE, tb_ns(t_ms));
	e.downtime_limit_ns = limit_ms * 1000000ull;
	e.bandwidth_bps = bandwidth_bps;
	e.changed_after_ns = tb_ns(after_ms);
	ms_stream__publish(&s->stream, &e.hdr);
}

void tb_mark(struct ms_session *s, double t_ms, uint32_t mark)
{
	struct ms_ev_qemu_mark e = { 0 };

	MS_EVENT_INIT(&e, MS_EV_QEMU_MARK, ms_ev_qemu_mark, MS_DEV_NONE, tb_ns(t_ms));
	e.mark = mark;
	ms_stream__publish(&s->stream, &e.hdr);
}

void tb_checkpoint(struct ms_session *s, double t_ms, uint32_t checkpoint)
{
	struct ms_ev_qemu_downtime e = { 0 };

	MS_EVENT_INIT(&e, MS_EV_QEMU_DOWNTIME, ms_ev_qemu_downtime, MS_DEV_NONE, tb_ns(t_ms));
	e.kind = MS_DOWNTIME_CHECKPOINT;
	e.checkpoint = checkpoint;
	ms_stream__publish(&s->stream, &e.hdr);
}

void tb_status(struct ms_session *s, double t_ms, uint32_t status)
{
	struct ms_ev_mig_status e = { 0 };

	MS_EVENT_INIT(&e, MS_EV_MIG_STATUS, ms_ev_mig_status, MS_DEV_NONE, tb_ns(t_ms));
	e.status = status;
	ms_stream__publish(&s->stream, &e.hdr);
}

void tb_pending(struct ms_session *s, uint32_t dev, double t_ms, uint64_t precopy,
		uint64_t threshold)
{
	struct ms_ev_qemu_pending e = { 0 };

	MS_EVENT_INIT(&e, MS_EV_QEMU_PENDING, ms_ev_qemu_pending, dev, tb_ns(t_ms));
	e.precopy = precopy;
	e.threshold = threshold;
	e.exact = 1;
	ms_stream__publish(&s->stream, &e.hdr);
}

void tb_pending_between(struct ms_session *s, uint32_t dev, double t_ms, uint64_t precopy,
			uint64_t threshold)
{
	struct ms_ev_qemu_pending e = { 0 };

	MS_EVENT_INIT(&e, MS_EV_QEMU_PENDING, ms_ev_qemu_pending, dev, tb_ns(t_ms));
	e.precopy = precopy;
	e.threshold = threshold;
	ms_stream__publish(&s->stream, &e.hdr);
}

void tb_pass(struct ms_session *s, uint32_t dev, double t_ms, uint32_t pass, uint64_t left)
{
	struct ms_ev_pass e = { 0 };

	MS_EVENT_INIT(&e, MS_EV_PASS, ms_ev_pass, dev, tb_ns(t_ms));
	e.pass = pass;
	e.origin = MS_PASS_QEMU_SYNC;
	e.left = left;
	e.dirty = MS_STAT_UNSET;
	ms_stream__publish(&s->stream, &e.hdr);
}

void tb_dirty_rate(struct ms_session *s, double end_ms, double window_ms, double lo_mib,
		   double hi_mib)
{
	tb_dirty_rate_mode(s, end_ms, window_ms, lo_mib, hi_mib, MS_DIRTY_RATE_DIRTY_BITMAP);
}

void tb_dirty_rate_mode(struct ms_session *s, double end_ms, double window_ms, double lo_mib,
			double hi_mib, uint32_t mode)
{
	struct ms_ev_dirty_rate e = { 0 };

	MS_EVENT_INIT(&e, MS_EV_DIRTY_RATE, ms_ev_dirty_rate, MS_DEV_NONE, tb_ns(end_ms));
	e.window_ns = (uint64_t)(window_ms * 1e6);
	e.rate_bps = (uint64_t)(lo_mib * TB_MIB);
	e.rate_hi_bps = (uint64_t)(hi_mib * TB_MIB);
	e.mode = mode;
	ms_stream__publish(&s->stream, &e.hdr);
}

void tb_section(struct ms_session *s, uint32_t dev, double t_ms, uint32_t id, uint32_t phase)
{
	struct ms_ev_qemu_section e = { 0 };

	MS_EVENT_INIT(&e, MS_EV_QEMU_SECTION, ms_ev_qemu_section, dev, tb_ns(t_ms));
	e.section_id = id;
	e.phase = phase;
	ms_stream__publish(&s->stream, &e.hdr);
}

void tb_stats(struct ms_session *s, double t_ms, uint32_t status, uint64_t remaining,
	      uint64_t transferred, uint64_t downtime_ms, uint64_t total_ms, uint64_t mbps_milli)
{
	struct ms_ev_mig_stats e;

	memset(&e, 0xff, sizeof(e));
	MS_EVENT_INIT(&e, MS_EV_MIG_STATS, ms_ev_mig_stats, MS_DEV_NONE, tb_ns(t_ms));
	e.status = status;
	e.reserved = 0;
	e.ram_remaining = remaining;
	e.ram_transferred = transferred;
	e.downtime_ms = downtime_ms;
	e.total_time_ms = total_ms;
	e.mbps_milli = mbps_milli;
	ms_stream__publish(&s->stream, &e.hdr);
}

void tb_end(struct ms_session *s, double t_ms)
{
	char err[MS_ERR_LEN];

	assert_int_equal(ms_session__end(s, tb_ns(t_ms), 0, err, sizeof(err)), 0);
}

uint64_t tb_workload(struct ms_session *s, uint32_t dev, double t0_ms, double t1_ms,
		     const struct tb_load *l)
{
	uint64_t initial = l->initial, dirty = 0;
	double next_reinit = l->reinit_every_ms ? t0_ms + l->reinit_every_ms : -1;

	tb_precopy(s, dev, t0_ms, initial, 0, 0);
	if (l->sizes)
		tb_stopcopy(s, dev, t0_ms, initial + 4 * TB_MIB);
	for (int k = 1; t0_ms + 100.0 * k <= t1_ms + 1e-9; k++) {
		double t = t0_ms + 100.0 * k;
		uint64_t budget = l->move_bps / 10, a = initial < budget ? initial : budget, b;
		uint32_t flags = 0;

		initial -= a;
		budget -= a;
		b = dirty < budget ? dirty : budget;
		dirty -= b;
		dirty = dirty + l->dirty_bps / 10 > l->ws ? l->ws : dirty + l->dirty_bps / 10;
		if (next_reinit >= 0 && t >= next_reinit - 1e-9) {
			next_reinit += l->reinit_every_ms;
			if (!initial) {
				initial = l->reinit_bytes;
				flags = MS_PRECOPY_REINIT;
			}
		}
		tb_data(s, dev, t, a + b, MS_PHASE_PRECOPY);
		tb_precopy(s, dev, t, initial, dirty, flags);
		if (l->sizes)
			tb_stopcopy(s, dev, t, initial + dirty + 4 * TB_MIB);
	}
	return initial + dirty;
}

uint32_t tb_migrate_pair(struct ms_session *s, const char *name, double stop_ms,
			 const struct tb_load *l)
{
	uint32_t src = tb_dev(s, name, MS_DEV_KIND_REF, MS_ROLE_SOURCE, s->stream.next_dev_id + 1);
	char dn[64];
	uint32_t dst;
	uint64_t bytes;
	double t;

	snprintf(dn, sizeof(dn), "%s-dst", name);
	dst = tb_dev(s, dn, MS_DEV_KIND_REF, MS_ROLE_DEST, src);
	tb_arc(s, dst, 2, 5, 1, 0.2);	/* RUNNING -> RUNNING_P2P */
	tb_arc(s, dst, 5, 1, 1.5, 0.3); /* RUNNING_P2P -> STOP */
	tb_arc(s, dst, 1, 4, 2.5, 1);	/* STOP -> RESUMING */
	tb_arc(s, src, 2, 6, 10, 0.5);	/* RUNNING -> PRE_COPY */
	bytes = tb_workload(s, src, 10, stop_ms, l) + 4 * TB_MIB;
	tb_arc(s, src, 6, 7, stop_ms + 1, 1); /* PRE_COPY -> PRE_COPY_P2P */
	tb_arc(s, src, 7, 3, stop_ms + 3, 2); /* PRE_COPY_P2P -> STOP_COPY */
	/* a data record is published as its bytes start to move, as the profile does */
	tb_data(s, src, stop_ms + 3, bytes, MS_PHASE_STOPCOPY);
	tb_data(s, dst, stop_ms + 3, bytes, MS_PHASE_RESUME);
	t = stop_ms + 3 + (double)bytes * 1e3 / (double)l->move_bps;
	tb_arc(s, src, 3, 1, t + 0.5, 0.5); /* STOP_COPY -> STOP */
	tb_arc(s, dst, 4, 1, t + 2.5, 1.5); /* RESUMING -> STOP */
	tb_arc(s, dst, 1, 5, t + 3.5, 1);   /* STOP -> RUNNING_P2P */
	tb_arc(s, dst, 5, 2, t + 4, 0.5);   /* RUNNING_P2P -> RUNNING */
	return src;
}

void tb_assert_consistent(const struct ms_tm_convergence *c, uint64_t limit_ns, const char *who)
{
	int thr = c->threshold != MS_STAT_UNSET;

	if (!c->reason[0])
		fail_msg("%s: verdict %s without a reason", who, ms_verdict_name(c->verdict));
	if (c->verdict == MS_VERDICT_CONVERGING) {
		if (c->switchover_ns == MS_STAT_UNSET)
			fail_msg("%s: converging with no time to switchover: %s", who, c->reason);
		if (strstr(c->reason, "reaches moving") || strstr(c->reason, "does not shrink") ||
		    strstr(c->reason, "more than the") || strstr(c->reason, "no complete pass"))
			fail_msg("%s: converging for a reason that says otherwise: %s", who,
				 c->reason);
		if (!c->switchover_ns && thr && c->pending >= c->threshold)
			fail_msg("%s: switches over now with %" PRIu64
				 " over the threshold %" PRIu64,
				 who, c->pending, c->threshold);
		if (!c->switchover_ns && c->predicted_ns != MS_STAT_UNSET && limit_ns &&
		    c->predicted_ns > limit_ns)
			fail_msg(
			    "%s: switches over now with a predicted downtime over the limit: %s",
			    who, c->reason);
		if (c->switchover_ns && (!thr || c->pending < c->threshold ||
					 !strstr(c->reason, "under the threshold")))
			fail_msg("%s: converging in %" PRIu64 " ns without a projection: %s", who,
				 c->switchover_ns, c->reason);
		return;
	}
	if (c->switchover_ns != MS_STAT_UNSET)
		fail_msg("%s: %s with a time to switchover: %s", who, ms_verdict_name(c->verdict),
			 c->reason);
	if (strstr(c->reason, "switch over now") || strstr(c->reason, " in ~"))
		fail_msg("%s: %s for a reason that says otherwise: %s", who,
			 ms_verdict_name(c->verdict), c->reason);
	if (c->samples && thr && c->pending < c->threshold)
		fail_msg("%s: %s with %" PRIu64 " under the threshold %" PRIu64 ": %s", who,
			 ms_verdict_name(c->verdict), c->pending, c->threshold, c->reason);
	if (c->verdict != MS_VERDICT_UNKNOWN && thr && c->predicted_ns != MS_STAT_UNSET &&
	    limit_ns && c->predicted_ns + 1000 < limit_ns)
		fail_msg("%s: %s with a predicted downtime within the limit: %s", who,
			 ms_verdict_name(c->verdict), c->reason);
}

void tb_assert_report_consistent(const struct ms_tm_report *r)
{
	char who[32];

	for (uint32_t i = 0; i < r->nr; i++) {
		snprintf(who, sizeof(who), "device %u", i);
		tb_assert_consistent(&r->dev[i].conv, r->vm.limit_ns, who);
	}
	tb_assert_consistent(&r->vm.conv, r->vm.limit_ns, "the VM");
}

struct ms_session *tb_judge_at(const struct tu_recorder *rec, uint64_t cut, struct ms_tm_report *r)
{
	struct ms_session_opts o = { 0 };
	char err[MS_ERR_LEN];
	struct ms_session *s = ms_session__new(&o, err, sizeof(err));
	const struct ms_event_hdr *ev;
	size_t off = 0;

	assert_non_null(s);
	while ((ev = tu_recorder__next(rec, &off)))
		if (ev->ts_ns <= cut)
			ms_stream__publish(&s->stream, ev);
	assert_int_equal(ms_telemetry__analyze(&s->telemetry, &s->devices, r), 0);
	return s;
}
