// SPDX-License-Identifier: GPL-2.0-only
/*
 * Pass boundaries as a source sees them (include/migscope/pass.h).
 */
#include <string.h>

#include <migscope/pass.h>
#include <migscope/bus.h>

void ms_pass__boundary(struct ms_pass_seen *p, uint32_t dev, uint32_t origin, uint64_t ts,
		       uint64_t left, uint64_t dirty, uint32_t flags, struct ms_ev_pass *ev)
{
	memset(ev, 0, sizeof(*ev));
	MS_EVENT_INIT(ev, MS_EV_PASS, ms_ev_pass, dev, ts);
	ev->pass = ++p->pass;
	ev->origin = origin;
	ev->flags = flags;
	ev->left = left;
	ev->dirty = dirty;
	ev->dur_ns = p->pass > 1 && ts > p->last_ts ? ts - p->last_ts : 0;
	p->last_ts = ts;
}

int ms_pass__precopy(struct ms_pass_seen *p, uint32_t dev, uint64_t ts, uint64_t initial,
		     uint64_t dirty, uint32_t flags, struct ms_ev_pass *ev)
{
	/* REINIT: flagged, or initial bytes back after reaching zero (as telemetry counts it) */
	int reinit = (flags & MS_PRECOPY_REINIT) || (p->had_initial && !p->initial && initial);
	int first = !p->pass, again = p->fell && dirty > p->dirty;
	uint64_t risen = dirty > p->dirty ? dirty - p->dirty : 0;

	p->fell |= dirty < p->dirty;
	p->dirty = dirty;
	p->initial = initial;
	p->had_initial |= initial > 0;
	if (!first && !again && !reinit)
		return 0;
	p->fell = 0;
	/*
	 * What rose is the least that became dirty: bytes moved meanwhile are not
	 * seen here (the telemetry adds them back from the data records).
	 */
	ms_pass__boundary(p, dev, MS_PASS_DEVICE, ts, initial + dirty,
			  first ? MS_STAT_UNSET : risen, reinit ? MS_PASS_REINIT : 0, ev);
	return 1;
}
