// SPDX-License-Identifier: GPL-2.0-only
/* Event counters and the session facts (start, config, end) from the stream. */
#include <string.h>

#include <migscope/stats.h>

void ms_stats__init(struct ms_stats *st)
{
	memset(st, 0, sizeof(*st));
}

static void on_event(void *ctx, const struct ms_event_hdr *ev)
{
	struct ms_stats *st = ctx;
	unsigned int t = ev->type < MS_EV__MAX ? ev->type : MS_EV__MAX;

	st->by_type[t]++;
	if (!st->total++ || ev->ts_ns < st->first_ts)
		st->first_ts = ev->ts_ns;
	if (ev->ts_ns > st->last_ts)
		st->last_ts = ev->ts_ns;

	switch (ev->type) {
	case MS_EV_SESSION:
		/* the first session record wins: a re-recorded replay may carry two */
		if (!st->have_session) {
			memcpy(&st->session, ev, sizeof(st->session));
			st->have_session = 1;
		}
		break;
	case MS_EV_CONFIG:
		memcpy(&st->config, ev, sizeof(st->config));
		break;
	case MS_EV_SESSION_END: {
		uint32_t n;
		const char *why = ms_event_tail(ev, MS_PAYLOAD_LEN(ms_ev_session_end), &n);

		memcpy(&st->end, ev, sizeof(st->end));
		st->have_end = 1;
		n = n < MS_SESSION_WHY_LEN ? n : MS_SESSION_WHY_LEN;
		memcpy(st->end_why, why, n);
		st->end_why[n] = 0;
		/* one line: a control character would break the table and the JSON's promise */
		for (uint32_t i = 0; i < n; i++)
			if ((unsigned char)st->end_why[i] < 0x20 || st->end_why[i] == 0x7f)
				st->end_why[i] = ' ';
		break;
	}
	default:
		break;
	}
}

/* A run of hot records: counted in one loop, not a call each (none is a session fact). */
static void on_batch(void *ctx, const struct ms_event_hdr *const *evs, size_t n)
{
	struct ms_stats *st = ctx;

	for (size_t i = 0; i < n; i++) {
		const struct ms_event_hdr *ev = evs[i];

		st->by_type[ev->type]++;
		if (!st->total++ || ev->ts_ns < st->first_ts)
			st->first_ts = ev->ts_ns;
		if (ev->ts_ns > st->last_ts)
			st->last_ts = ev->ts_ns;
	}
}

int ms_stats__subscribe(struct ms_stats *st, struct ms_bus *bus)
{
	return ms_bus__subscribe_batch(bus, MS_EV_ALL, on_batch, on_event, st);
}
