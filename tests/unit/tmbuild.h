/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Build event streams by hand for the telemetry and report tests: a session
 * and one call per record, times in milliseconds from the session start.
 */
#ifndef MIGSCOPE_TMBUILD_H
#define MIGSCOPE_TMBUILD_H

#include <stdint.h>

#include <migscope/session.h>
#include <migscope/telemetry.h>

#define TB_T0  1000000000ull /* the session starts at 1 s of stream time */
#define TB_MIB (1024ull * 1024)

/* A session (recording to record_path unless NULL) begun at TB_T0 with these limits. */
struct ms_session *tb_session(const char *record_path, uint64_t limit_ms, uint64_t bandwidth_bps);
uint64_t tb_ns(double t_ms);

uint32_t tb_dev(struct ms_session *s, const char *name, uint16_t kind, uint16_t role,
		uint32_t peer);
void tb_arc(struct ms_session *s, uint32_t dev, uint8_t from, uint8_t to, double end_ms,
	    double dur_ms);
/* A virtio mode change (0 Active, 1 Stop, 2 Freeze). */
void tb_mode(struct ms_session *s, uint32_t dev, uint8_t from, uint8_t to, double end_ms,
	     double dur_ms);
void tb_precopy(struct ms_session *s, uint32_t dev, double t_ms, uint64_t initial, uint64_t dirty,
		uint32_t flags);
void tb_stopcopy(struct ms_session *s, uint32_t dev, double t_ms, uint64_t bytes);
void tb_data(struct ms_session *s, uint32_t dev, double t_ms, uint64_t bytes, uint32_t phase);
void tb_switchover(struct ms_session *s, uint32_t dev, double t_ms, uint32_t phase);
void tb_runstate(struct ms_session *s, double t_ms, int running);
void tb_status(struct ms_session *s, double t_ms, uint32_t status);
/* A change of the limits seen at t_ms, which QEMU took after after_ms. */
void tb_config(struct ms_session *s, double t_ms, uint64_t limit_ms, uint64_t bandwidth_bps,
	       double after_ms);
void tb_mark(struct ms_session *s, double t_ms, uint32_t mark); /* enum ms_qemu_mark */
void tb_checkpoint(struct ms_session *s, double t_ms, uint32_t checkpoint);
void tb_pending(struct ms_session *s, uint32_t dev, double t_ms, uint64_t precopy,
		uint64_t threshold);
/* A pending sample between two syncs (not exact). */
void tb_pending_between(struct ms_session *s, uint32_t dev, double t_ms, uint64_t precopy,
			uint64_t threshold);
/* A pass boundary (MS_EV_PASS, a QEMU sync) that left left bytes. */
void tb_pass(struct ms_session *s, uint32_t dev, double t_ms, uint32_t pass, uint64_t left);
/* QEMU's measured dirty rate over window_ms ending at end_ms: in [lo_mib, hi_mib) MiB/s. */
void tb_dirty_rate(struct ms_session *s, double end_ms, double window_ms, double lo_mib,
		   double hi_mib);
/* ... measured another way (enum ms_dirty_rate_mode); tb_dirty_rate's is dirty-bitmap */
void tb_dirty_rate_mode(struct ms_session *s, double end_ms, double window_ms, double lo_mib,
			double hi_mib, uint32_t mode);
void tb_section(struct ms_session *s, uint32_t dev, double t_ms, uint32_t id, uint32_t phase);
/* A query-migrate sample; fields not given are MS_STAT_UNSET. */
void tb_stats(struct ms_session *s, double t_ms, uint32_t status, uint64_t remaining,
	      uint64_t transferred, uint64_t downtime_ms, uint64_t total_ms, uint64_t mbps_milli);
void tb_end(struct ms_session *s, double t_ms);

/*
 * A device's pre-copy workload, simulated in 100 ms steps: each step moves up
 * to move_bps/10 bytes (initial bytes first, then dirty ones) and dirties
 * dirty_bps/10, the dirty bytes capped at the working set ws.  Every
 * reinit_every_ms, if the initial bytes have run out, reinit_bytes new ones
 * appear and that sample carries MS_PRECOPY_REINIT.  With sizes, each sample
 * also has a stop-copy size: pending plus 4 MiB of state that only moves in
 * STOP_COPY (as the reference device and QEMU report both).
 */
struct tb_load {
	uint64_t initial, move_bps, dirty_bps, ws;
	uint64_t reinit_bytes;
	double reinit_every_ms;
	int sizes;
};

/* Publish the workload's PRECOPY, DATA and STOPCOPY_SIZE records; returns the final pending bytes.
 */
uint64_t tb_workload(struct ms_session *s, uint32_t dev, double t0_ms, double t1_ms,
		     const struct tb_load *l);

/*
 * A source/destination pair through a whole migration: the destination gets
 * to RESUMING, the source runs the workload in PRE_COPY from 10 ms to stop_ms,
 * stops through PRE_COPY_P2P, moves its pending bytes plus 4 MiB of state in
 * STOP_COPY at move_bps, and the destination resumes to RUNNING.  Returns the
 * source's id (the destination's is the next one).
 */
uint32_t tb_migrate_pair(struct ms_session *s, const char *name, double stop_ms,
			 const struct tb_load *l);

struct tu_recorder;

/*
 * A verdict never contradicts itself: converging has a time to switchover
 * (0 only when what would move fits the threshold now) and a predicted
 * downtime within the limit when it can switch over now; stalled, diverging
 * and unknown have none, and what would move is over the threshold.  Fails
 * the test naming who otherwise.
 */
void tb_assert_consistent(const struct ms_tm_convergence *c, uint64_t limit_ns, const char *who);

/* Every verdict of a report (each device's and the VM's) passes tb_assert_consistent. */
void tb_assert_report_consistent(const struct ms_tm_report *r);

/*
 * The report as it would have been at cut: the recorded stream's records up to
 * cut published into a fresh session and analysed.  Free both after.
 */
struct ms_session *tb_judge_at(const struct tu_recorder *rec, uint64_t cut, struct ms_tm_report *r);
#endif
