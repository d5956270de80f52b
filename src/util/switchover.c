// SPDX-License-Identifier: GPL-2.0-only
/* The switchover rule (include/migscope/switchover.h). */
#include <stdio.h>

#include <migscope/event.h>
#include <migscope/parse.h>
#include <migscope/switchover.h>

uint64_t ms_switchover_threshold(uint64_t bps, uint64_t limit_ns)
{
	unsigned __int128 b = (unsigned __int128)bps * limit_ns / 1000000000u;

	if (!bps)
		return MS_STAT_UNSET;
	/* a threshold that saturates still means "everything fits" */
	return b >= MS_STAT_UNSET ? MS_STAT_UNSET - 1 : (uint64_t)b;
}

void ms_switchover__add(struct ms_switchover_check *c, uint64_t bytes)
{
	c->pending = bytes > UINT64_MAX - c->pending ? UINT64_MAX : c->pending + bytes;
}

static int fits(const struct ms_switchover_check *c)
{
	return c->threshold == MS_STAT_UNSET || !c->pending || c->pending < c->threshold;
}

int ms_switchover__ok(const struct ms_switchover_check *c)
{
	return !c->unacked && fits(c);
}

/* "3.10 ms", "101 ms", "7.55 s" */
static const char *fmt_ns(uint64_t ns, char *buf, size_t len)
{
	if (ns < 10000000ull)
		snprintf(buf, len, "%.2f ms", (double)ns / 1e6);
	else if (ns < 1000000000ull)
		snprintf(buf, len, "%.0f ms", (double)ns / 1e6);
	else
		snprintf(buf, len, "%.2f s", (double)ns / 1e9);
	return buf;
}

void ms_switchover__describe(const struct ms_switchover_check *c, char *buf, size_t len)
{
	char p[24], t[24], r[24], d[24], l[24], acks[48];

	if (c->unacked)
		snprintf(acks, sizeof(acks), "%u switchover-ack%s outstanding", c->unacked,
			 c->unacked == 1 ? "" : "s");
	else
		snprintf(acks, sizeof(acks), "every switchover-ack given");
	ms_fmt_bytes(c->pending, p, sizeof(p));
	if (c->threshold == MS_STAT_UNSET || !c->bps) {
		snprintf(buf, len, "stop-copy %s, no bandwidth to judge it by; %s", p, acks);
	} else {
		unsigned __int128 ns = (unsigned __int128)c->pending * 1000000000u / c->bps;

		ms_fmt_bytes(c->threshold, t, sizeof(t));
		ms_fmt_bytes(c->bps, r, sizeof(r));
		snprintf(buf, len, "stop-copy %s %s the threshold %s (%s at %s/s, limit %s); %s", p,
			 fits(c) ? "under" : "over", t,
			 fmt_ns(ns > UINT64_MAX ? UINT64_MAX : (uint64_t)ns, d, sizeof(d)), r,
			 fmt_ns(c->limit_ns, l, sizeof(l)), acks);
	}
}
