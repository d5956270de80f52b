// SPDX-License-Identifier: GPL-2.0-only
/*
 * Pre-copy convergence verdicts (docs/telemetry.md, "Verdicts").
 *
 * The rule is deliberately simple so a reader can check it by hand:
 *   1. nothing pending, or pending strictly under the threshold (the bytes
 *      that move within the downtime limit): converging;
 *   2. fewer than three samples: unknown;
 *   3. otherwise fit a straight line to the last half of the samples (at least
 *      three; starting after the last REINIT when three samples follow it) and
 *      look at how much the line changes over the window relative to the mean:
 *      a fall of 5% or more is converging, a rise of 5% or more diverging,
 *      anything in between stalled; and so is a change that does not stand
 *      out of the samples' scatter (a slope under two standard errors), as a
 *      sawtooth of dirty-page syncs around a level does.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <migscope/parse.h>
#include <migscope/telemetry.h>

/* Relative change over the window that counts as a trend... */
#define TREND_MIN 0.05
/* ...when the slope is at least this many standard errors from flat. */
#define TREND_SE 2.0

const char *ms_verdict_name(unsigned int v)
{
	switch (v) {
	case MS_VERDICT_CONVERGING:
		return "converging";
	case MS_VERDICT_STALLED:
		return "stalled";
	case MS_VERDICT_DIVERGING:
		return "diverging";
	default:
		return "unknown";
	}
}

void ms_tm_say(struct ms_tm_convergence *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
	va_end(ap);
}

int ms_tm_dirty_rate(const struct ms_tm_sample *prev, const struct ms_tm_sample *cur,
		     int moves_known, double *bps)
{
	double dt;

	if (cur->dirty_bps != MS_STAT_UNSET) {
		*bps = (double)cur->dirty_bps;
		return 0;
	}
	if (!moves_known || cur->ts_ns <= prev->ts_ns || cur->moved < prev->moved)
		return -1;
	dt = (double)(cur->ts_ns - prev->ts_ns) / 1e9;
	*bps = ((double)ms_tm_sample__pending(cur) - (double)ms_tm_sample__pending(prev) +
		(double)(cur->moved - prev->moved)) /
	       dt;
	if (*bps < 0)
		*bps = 0;
	return 0;
}

/* Seconds from b to a; negative when a is earlier (a stream out of order). */
static double secs(uint64_t a, uint64_t b)
{
	return (double)(int64_t)(a - b) / 1e9;
}

/*
 * Least-squares slope of pending bytes over time, in bytes per second, and its
 * standard error (how far the samples scatter around the line).
 */
static int fit_slope(const struct ms_tm_sample *s, uint32_t n, double *slope, double *mean,
		     double *se)
{
	double tm = 0, pm = 0, sxy = 0, sxx = 0, rss = 0;

	for (uint32_t i = 0; i < n; i++) {
		tm += secs(s[i].ts_ns, s[0].ts_ns);
		pm += (double)ms_tm_sample__pending(&s[i]);
	}
	tm /= n;
	pm /= n;
	for (uint32_t i = 0; i < n; i++) {
		double dt = secs(s[i].ts_ns, s[0].ts_ns) - tm;

		sxy += dt * ((double)ms_tm_sample__pending(&s[i]) - pm);
		sxx += dt * dt;
	}
	if (sxx <= 0)
		return -1;
	*slope = sxy / sxx;
	*mean = pm;
	for (uint32_t i = 0; i < n; i++) {
		double r = (double)ms_tm_sample__pending(&s[i]) - pm -
			   *slope * (secs(s[i].ts_ns, s[0].ts_ns) - tm);

		rss += r * r;
	}
	*se = n > 2 ? sqrt(rss / (n - 2) / sxx) : 0;
	return 0;
}

static const char *fmt_rate(double bps, char *buf, size_t len)
{
	char b[24];

	ms_fmt_bytes(ms_tm_u64(fabs(bps)), b, sizeof(b));
	snprintf(buf, len, "%s/s", b);
	return buf;
}

void ms_tm_judge(const struct ms_tm_sample *s, uint32_t n, const struct ms_tm_judge_opts *o,
		 struct ms_tm_convergence *c)
{
	uint32_t w0, win, k;
	const struct ms_tm_sample *w, *end;
	char b1[40], b2[40], b3[40];
	double slope, mean, span, change, se;
	const char *what = o->what ? o->what : "pending", *since;
	int noise;

	memset(c, 0, sizeof(*c));
	c->samples = n;
	c->threshold = o->threshold;
	c->threshold_source = o->threshold == MS_STAT_UNSET ? "none" : o->threshold_source;
	c->stopcopy = MS_STAT_UNSET;
	c->predicted_ns = MS_STAT_UNSET;
	if (!n) {
		c->verdict = MS_VERDICT_UNKNOWN;
		ms_tm_say(c, "no pending-byte samples");
		return;
	}
	end = &s[n - 1];
	c->initial = end->initial;
	c->dirty = end->dirty;
	c->pending = ms_tm_sample__pending(end);

	if (!c->pending) {
		c->verdict = MS_VERDICT_CONVERGING;
		ms_tm_say(c, "nothing pending at the last sample");
		return;
	}
	/* strictly under, as QEMU's switchover and the profile driver have it */
	if (o->threshold != MS_STAT_UNSET && c->pending < o->threshold) {
		c->verdict = MS_VERDICT_CONVERGING;
		ms_tm_say(c, "%s %s is under the threshold %s", what,
			  ms_fmt_bytes(c->pending, b1, sizeof(b1)),
			  ms_fmt_bytes(o->threshold, b2, sizeof(b2)));
		return;
	}
	if (n < 3) {
		c->verdict = MS_VERDICT_UNKNOWN;
		ms_tm_say(c, "only %u sample%s, above the threshold", n, n == 1 ? "" : "s");
		return;
	}

	win = (n + 1) / 2 < 3 ? 3 : (n + 1) / 2;
	w0 = n - win;
	since = "";
	/* the first sample at or after the last REINIT */
	for (k = 0; o->since_ns && k < n && s[k].ts_ns < o->since_ns; k++)
		;
	if (o->since_ns && k > w0 && n - k >= 3) {
		w0 = k;
		since = " since the last REINIT";
	}
	w = &s[w0];
	c->window = n - w0;
	span = secs(end->ts_ns, w->ts_ns);
	if (span <= 0 || fit_slope(w, c->window, &slope, &mean, &se)) {
		c->verdict = MS_VERDICT_UNKNOWN;
		ms_tm_say(c, "the last %u samples span no time", c->window);
		return;
	}
	change = slope * span / mean;
	c->have_trend = 1;
	c->net_bps = slope;
	if (o->moves_known && end->moved >= w->moved) {
		c->have_rates = 1;
		c->transfer_bps = (double)(end->moved - w->moved) / span;
		c->dirty_bps = c->transfer_bps + slope > 0 ? c->transfer_bps + slope : 0;
	}

	/* a trend must stand out of the samples' scatter: a sawtooth around a level is not one */
	noise = fabs(slope) < TREND_SE * se;
	if (change <= -TREND_MIN && !noise) {
		double eta = (double)(c->pending - o->threshold) / -slope;

		c->verdict = MS_VERDICT_CONVERGING;
		if (o->threshold != MS_STAT_UNSET)
			ms_tm_say(c,
				  "%s falls %s over the last %u samples%s; under the threshold "
				  "in ~%.*f %s",
				  what, fmt_rate(slope, b1, sizeof(b1)), c->window, since,
				  eta < 1 ? 0 : 1, eta < 1 ? eta * 1e3 : eta, eta < 1 ? "ms" : "s");
		else
			ms_tm_say(c, "%s falls %s over the last %u samples%s", what,
				  fmt_rate(slope, b1, sizeof(b1)), c->window, since);
	} else if (change >= TREND_MIN && !noise) {
		c->verdict = MS_VERDICT_DIVERGING;
		if (c->have_rates)
			ms_tm_say(c,
				  "%s grows %s over the last %u samples%s: dirtying %s "
				  "outpaces moving %s",
				  what, fmt_rate(slope, b1, sizeof(b1)), c->window, since,
				  fmt_rate(c->dirty_bps, b2, sizeof(b2)),
				  fmt_rate(c->transfer_bps, b3, sizeof(b3)));
		else
			ms_tm_say(c, "%s grows %s over the last %u samples%s", what,
				  fmt_rate(slope, b1, sizeof(b1)), c->window, since);
	} else {
		c->verdict = MS_VERDICT_STALLED;
		ms_tm_say(c, "%s %s %s (%+.0f%% over the last %u samples%s)%s%s", what,
			  noise && fabs(change) >= TREND_MIN ? "swings with no trend around"
							     : "holds near",
			  ms_fmt_bytes(ms_tm_u64(mean), b1, sizeof(b1)), change * 100, c->window,
			  since, o->threshold != MS_STAT_UNSET ? ", above the threshold " : "",
			  o->threshold != MS_STAT_UNSET ? ms_fmt_bytes(o->threshold, b2, sizeof(b2))
							: "");
	}
}
