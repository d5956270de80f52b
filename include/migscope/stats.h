/* SPDX-License-Identifier: GPL-2.0-only */
/* Event counters: how many records of each type the session saw. */
#ifndef MIGSCOPE_STATS_H
#define MIGSCOPE_STATS_H

#include <stdint.h>

#include <migscope/bus.h>

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
};

void ms_stats__init(struct ms_stats *st);
int ms_stats__subscribe(struct ms_stats *st, struct ms_bus *bus);

#endif
