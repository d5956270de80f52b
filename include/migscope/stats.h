/* SPDX-License-Identifier: GPL-2.0-only */
/* Event counters: how many records of each type the session saw. */
#ifndef MIGSCOPE_STATS_H
#define MIGSCOPE_STATS_H

#include <stddef.h>
#include <stdint.h>

#include <migscope/bus.h>

/* dirty-rate windows listed in the report: at 1.25 s a pair, the first 2.5 minutes */
#define MS_STATS_DIRTY_RATES 240

struct ms_stats {
	uint64_t by_type[MS_EV__MAX + 1]; /* [MS_EV__MAX]: unknown types */
	uint64_t total;
	uint64_t first_ts, last_ts;

	/* session facts carried by the stream itself */
	int have_session;
	struct ms_ev_session session;
	struct ms_ev_config config;
	int have_end;
	struct ms_ev_session_end end;
	char end_why[MS_SESSION_WHY_LEN + 1]; /* the end record's reason, "" if none */

	/* the dirty-rate sampler: its last state record and the windows it measured */
	int have_drs;
	struct ms_ev_dirty_rate_state drs;
	char drs_why[MS_DRS_WHY_LEN + 1];
	uint64_t dr_windows;				  /* MS_EV_DIRTY_RATE records */
	uint32_t dr_modes;				  /* bit per enum ms_dirty_rate_mode seen */
	uint64_t dr_min_ns, dr_max_ns;			  /* the shortest and the longest window */
	struct ms_ev_dirty_rate dr[MS_STATS_DIRTY_RATES]; /* the first windows, as recorded */
};

/* One line: whether the dirty rate was sampled, how, and if not why; "" when nothing said. */
void ms_stats__dirty_rate_line(const struct ms_stats *st, char *buf, size_t len);

void ms_stats__init(struct ms_stats *st);
int ms_stats__subscribe(struct ms_stats *st, struct ms_bus *bus);

#endif
