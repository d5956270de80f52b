// SPDX-License-Identifier: GPL-2.0-only
/* Hand-built event streams for the telemetry and report tests. */
#include <stdio.h>
#include <string.h>

#include <migscope/capture.h>

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
	ms_session__begin(s, TB_T0, MS_SESSION_PROFILE, limit_ms * 1000000ull, bandwidth_bps, 4096);
	return s;
}

uint32_t tb_dev(struct ms_session *s, const char *name, uint16_t kind, uint16_t role,
		uint32_t peer)
{
	return ms_session__add_device(s, TB_T0, kind, role, 0, peer, name);
}

void tb_arc(struct ms_session *s, uint32_t dev, uint8_t from, uint8_t to, double end_ms,
	    double dur_ms)
{
	struct ms_ev_dev_state e = { 0 };

	MS_EVENT_INIT(&e, MS_EV_DEV_STATE, ms_ev_dev_state, dev, tb_ns(end_ms));
	e.domain = MS_DOMAIN_VFIO;
	e.from = from;
	e.to = to;
	e.dur_ns = (uint64_t)(dur_ms * 1e6 + 0.5);
	ms_session__publish(s, &e.hdr);
}

void tb_precopy(struct ms_session *s, uint32_t dev, double t_ms, uint64_t initial, uint64_t dirty,
		uint32_t flags)
{
	struct ms_ev_precopy e = { 0 };

	MS_EVENT_INIT(&e, MS_EV_PRECOPY, ms_ev_precopy, dev, tb_ns(t_ms));
	e.initial_bytes = initial;
	e.dirty_bytes = dirty;
	e.flags = flags;
	ms_session__publish(s, &e.hdr);
}

void tb_stopcopy(struct ms_session *s, uint32_t dev, double t_ms, uint64_t bytes)
{
	struct ms_ev_stopcopy_size e = { 0 };

	MS_EVENT_INIT(&e, MS_EV_STOPCOPY_SIZE, ms_ev_stopcopy_size, dev, tb_ns(t_ms));
	e.bytes = bytes;
	ms_session__publish(s, &e.hdr);
}

void tb_data(struct ms_session *s, uint32_t dev, double t_ms, uint64_t bytes, uint32_t phase)
{
	struct ms_ev_data e = { 0 };

	MS_EVENT_INIT(&e, MS_EV_DATA, ms_ev_data, dev, tb_ns(t_ms));
	e.bytes = bytes;
	e.phase = phase;
	ms_session__publish(s, &e.hdr);
}

void tb_switchover(struct ms_session *s, uint32_t dev, double t_ms, uint32_t phase)
{
	struct ms_ev_switchover e = { 0 };

	MS_EVENT_INIT(&e, MS_EV_SWITCHOVER, ms_ev_switchover, dev, tb_ns(t_ms));
	e.phase = phase;
	ms_session__publish(s, &e.hdr);
}

void tb_runstate(struct ms_session *s, double t_ms, int running)
{
	struct ms_ev_runstate e = { 0 };

	MS_EVENT_INIT(&e, MS_EV_RUNSTATE, ms_ev_runstate, MS_DEV_NONE, tb_ns(t_ms));
	e.running = (uint32_t)running;
	ms_session__publish(s, &e.hdr);
}

void tb_status(struct ms_session *s, double t_ms, uint32_t status)
{
	struct ms_ev_mig_status e = { 0 };

	MS_EVENT_INIT(&e, MS_EV_MIG_STATUS, ms_ev_mig_status, MS_DEV_NONE, tb_ns(t_ms));
	e.status = status;
	ms_session__publish(s, &e.hdr);
}

void tb_pending(struct ms_session *s, uint32_t dev, double t_ms, uint64_t precopy,
		uint64_t threshold)
{
	struct ms_ev_qemu_pending e = { 0 };

	MS_EVENT_INIT(&e, MS_EV_QEMU_PENDING, ms_ev_qemu_pending, dev, tb_ns(t_ms));
	e.precopy = precopy;
	e.threshold = threshold;
	e.exact = 1;
	ms_session__publish(s, &e.hdr);
}

void tb_section(struct ms_session *s, uint32_t dev, double t_ms, uint32_t id, uint32_t phase)
{
	struct ms_ev_qemu_section e = { 0 };

	MS_EVENT_INIT(&e, MS_EV_QEMU_SECTION, ms_ev_qemu_section, dev, tb_ns(t_ms));
	e.section_id = id;
	e.phase = phase;
	ms_session__publish(s, &e.hdr);
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
	ms_session__publish(s, &e.hdr);
}

void tb_end(struct ms_session *s, double t_ms)
{
	char err[MS_ERR_LEN];

	assert_int_equal(ms_session__end(s, tb_ns(t_ms), 0, err, sizeof(err)), 0);
}

void tb_workload(struct ms_session *s, uint32_t dev, double t0_ms, double t1_ms, uint64_t initial,
		 uint64_t move_bps, uint64_t dirty_bps, uint64_t ws)
{
	uint64_t dirty = 0, step_move = move_bps / 10, step_dirty = dirty_bps / 10;

	tb_precopy(s, dev, t0_ms, initial, 0, 0);
	for (double t = t0_ms + 100; t <= t1_ms + 1e-9; t += 100) {
		uint64_t budget = step_move, a = initial < budget ? initial : budget, b;

		initial -= a;
		budget -= a;
		b = dirty < budget ? dirty : budget;
		dirty -= b;
		dirty = dirty + step_dirty > ws ? ws : dirty + step_dirty;
		tb_data(s, dev, t, a + b, MS_PHASE_PRECOPY);
		tb_precopy(s, dev, t, initial, dirty, 0);
	}
}
