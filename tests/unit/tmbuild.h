/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Build event streams by hand for the telemetry and report tests: a session
 * and one call per record, times in milliseconds from the session start.
 */
#ifndef MIGSCOPE_TMBUILD_H
#define MIGSCOPE_TMBUILD_H

#include <stdint.h>

#include <migscope/session.h>

#define TB_T0 1000000000ull /* the session starts at 1 s of stream time */
#define TB_MIB (1024ull * 1024)

/* A session (recording to record_path unless NULL) begun at TB_T0 with these limits. */
struct ms_session *tb_session(const char *record_path, uint64_t limit_ms, uint64_t bandwidth_bps);
uint64_t tb_ns(double t_ms);

uint32_t tb_dev(struct ms_session *s, const char *name, uint16_t kind, uint16_t role,
		uint32_t peer);
void tb_arc(struct ms_session *s, uint32_t dev, uint8_t from, uint8_t to, double end_ms,
	    double dur_ms);
void tb_precopy(struct ms_session *s, uint32_t dev, double t_ms, uint64_t initial, uint64_t dirty,
		uint32_t flags);
void tb_stopcopy(struct ms_session *s, uint32_t dev, double t_ms, uint64_t bytes);
void tb_data(struct ms_session *s, uint32_t dev, double t_ms, uint64_t bytes, uint32_t phase);
void tb_switchover(struct ms_session *s, uint32_t dev, double t_ms, uint32_t phase);
void tb_runstate(struct ms_session *s, double t_ms, int running);
void tb_status(struct ms_session *s, double t_ms, uint32_t status);
void tb_pending(struct ms_session *s, uint32_t dev, double t_ms, uint64_t precopy,
		uint64_t threshold);
void tb_section(struct ms_session *s, uint32_t dev, double t_ms, uint32_t id, uint32_t phase);
/* A query-migrate sample; fields not given are MS_STAT_UNSET. */
void tb_stats(struct ms_session *s, double t_ms, uint32_t status, uint64_t remaining,
	      uint64_t transferred, uint64_t downtime_ms, uint64_t total_ms, uint64_t mbps_milli);
void tb_end(struct ms_session *s, double t_ms);

/*
 * A device's pre-copy in 100 ms steps from t0_ms to t1_ms: pending starts at
 * initial bytes; each step moves min(pending, move_bps) and dirties dirty_bps,
 * capped at the working set ws.  Publishes PRECOPY and DATA records.
 */
void tb_workload(struct ms_session *s, uint32_t dev, double t0_ms, double t1_ms, uint64_t initial,
		 uint64_t move_bps, uint64_t dirty_bps, uint64_t ws);

#endif
