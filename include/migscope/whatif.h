/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What-if replay: re-run the switchover decision of a recorded profile under
 * another bandwidth, downtime limit, switchover-ack or REINIT policy.
 *
 * The consumer keeps, from the stream, every query round of the recorded
 * pre-copy (each source's stop-copy size, initial and dirty bytes, REINIT,
 * its switchover-ack, the pre-copy bytes sent since the last round) up to the
 * recorded decision, and the stop-copy bytes each source moved after it.
 * ms_whatif__predict() walks those rounds with the same rule the profile
 * driver uses (include/migscope/switchover.h) under the new settings.  At the
 * recorded bandwidth the rounds are the recording's own; at another one the
 * pre-copy is replayed from the recorded per-round growth (what the workload
 * and REINITs added between two queries) at the new round budget.  A
 * switchover the recorded rounds do not reach cannot be answered: the samples
 * after the recorded decision were never taken.
 */
#ifndef MIGSCOPE_WHATIF_H
#define MIGSCOPE_WHATIF_H

#include <stdint.h>

#include <migscope/bus.h>
#include <migscope/event.h>
#include <migscope/switchover.h>

#define MS_WHATIF_MAX_DEV 16

struct ms_whatif_sample {
	uint64_t stopcopy, initial, dirty;
	uint64_t sent; /* pre-copy bytes read since the previous round */
	uint8_t reinit, acked, precopy;
};

struct ms_whatif_round {
	uint64_t ts;
	struct ms_whatif_sample d[MS_WHATIF_MAX_DEV];
};

struct ms_whatif {
	uint64_t start_ts;
	int decided, too_many;
	uint64_t decided_ts;
	uint32_t src[MS_WHATIF_MAX_DEV]; /* source device ids, registration order */
	unsigned int nsrc;
	struct ms_whatif_sample cur[MS_WHATIF_MAX_DEV];
	uint64_t moved[MS_WHATIF_MAX_DEV]; /* stop-copy bytes read after the decision */
	uint32_t unacked_at_decision;
	struct ms_whatif_round *rounds;
	unsigned int nr, cap;
	int oom;
};

void ms_whatif__init(struct ms_whatif *w);
int ms_whatif__subscribe(struct ms_whatif *w, struct ms_bus *bus);
void ms_whatif__free(struct ms_whatif *w);

struct ms_whatif_opts {
	uint64_t bps;	   /* 0: as recorded */
	uint64_t limit_ns; /* 0: as recorded */
	int ack;	   /* wait for switchover-acks: 1, 0; -1 as recorded */
	int reinit; /* REINIT-aware: 1, 0 (one ack per device, new initial data for STOP_COPY) */
};

struct ms_whatif_result {
	int answerable;
	char reason[320];		/* why not, or the predicted decision in one line */
	char limits[320];		/* what the prediction assumes beyond the recording */
	uint64_t bps, limit_ns;		/* the settings predicted for */
	uint64_t rec_bps, rec_limit_ns; /* the ones in force at the recorded decision */
	int ack, reinit;
	uint64_t recorded_ts, predicted_ts; /* decision, stream time */
	unsigned int recorded_round, predicted_round;
	struct ms_switchover_check check; /* what the rule saw at the predicted decision */
	unsigned int ndev;
	uint32_t dev[MS_WHATIF_MAX_DEV];
	uint64_t stopcopy_bytes[MS_WHATIF_MAX_DEV];	/* predicted, moved while stopped */
	uint64_t rec_stopcopy_bytes[MS_WHATIF_MAX_DEV]; /* recorded */
};

/*
 * recorded: the limits in force at the recorded decision (the telemetry's
 * ms_telemetry__config_at(decided_ts)), NULL when the stream had none.  0, or
 * -EINVAL when the stream has nothing to re-decide (res->reason says why).
 */
int ms_whatif__predict(const struct ms_whatif *w, const struct ms_ev_config *recorded,
		       const struct ms_whatif_opts *o, struct ms_whatif_result *res);

#endif
