// SPDX-License-Identifier: GPL-2.0-only
/*
 * Pre-copy convergence verdicts, judged pass by pass (docs/telemetry.md,
 * "Verdicts").
 *
 * Pending bytes are a sawtooth: inside a pass they always fall, because
 * falling is just sending.  Whether a migration converges shows only from one
 * pass to the next, in what each boundary (a dirty sync) leaves, and in the
 * pass's dirty rate against its transfer rate.  The rule, checkable by hand:
 *   1. nothing pending, or what would move now strictly under the threshold:
 *      converging, it can switch over now;
 *   2. a stop-copy size with no pre-copy to shrink it, over the threshold:
 *      stalled;
 *   3. a stop-copy size over the threshold with pre-copy drained: stalled;
 *      a device's pending risen 5% over its low since the last boundary while
 *      it moved data (inside a pass pending only falls): diverging;
 *      no complete pass yet (since the last REINIT, which starts the passes
 *      again): unknown, saying how far the first one got;
 *   4. the last pass left more than the one before (5% or more, or at all
 *      while its dirty rate is 10% over its transfer rate): diverging;
 *   5. its dirty rate reaches 90% of its transfer rate, or what it left did
 *      not shrink below 95% of what the one before left: stalled;
 *   6. unknown after the first complete pass only (its dirty rate is a lower
 *      bound); for QEMU's RAM after pass 2, unknown unless pass 2 left at
 *      most 85% of what pass 1 left, dirtied at most 85% of its transfer
 *      rate and no more than 10% faster per second than pass 1; otherwise
 *      (a device, or later passes) unknown until there are two shares after
 *      the first pass, and when the last pass's share (the larger of what
 *      it left of the one before, and its dirty over its transfer rate) is
 *      10% over the share of the pass before (a shorter pass dirties more
 *      per second, so the share may keep growing);
 *   7. otherwise converging, when the projection (each pass leaves the last
 *      share of the one before) reaches the threshold, with the expected
 *      time to switchover; without a threshold: unknown;
 *   8. where that is unknown, QEMU's RAM is judged on the guest's dirty rate
 *      as QEMU measured it over windows (calc-dirty-rate under KVM):
 *      judge_sampled() below.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <migscope/parse.h>
#include <migscope/telemetry.h>

/* Left grows by this much from one pass to the next: diverging. */
#define GROW_MIN 1.05
/* Dirty rate this far over the transfer rate, and left grew: diverging. */
#define OUTPACE_MIN 1.10
/* A pass's share this much over the share of the one before: no projection. */
#define SHARE_RISE_MAX 1.10
/* Left shrinks by less than this: stalled. */
#define SHRINK_MAX 0.95
/* Dirty rate at this share of the transfer rate: stalled (rates measured over one pass scatter). */
#define PACE_MAX 0.90
/* A pass left at most this share of the one before: clearly less, not capped by the working set. */
#define SHRINK_CLEAR 0.85
/* Dirty rate at most this share of the transfer rate: clearly under it. */
#define PACE_CLEAR 0.85
/* A shorter pass dirtying this much faster per second: a working set capped the longer one. */
#define RATE_RISE_MAX 1.10

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

static const char *fmt_rate(double bps, char *buf, size_t len)
{
	char b[24];

	ms_fmt_bytes(ms_tm_u64(fabs(bps)), b, sizeof(b));
	snprintf(buf, len, "%s/s", b);
	return buf;
}

static const char *fmt_secs(double s, char *buf, size_t len)
{
	if (s < 1)
		snprintf(buf, len, "%.0f ms", s * 1e3);
	else
		snprintf(buf, len, "%.1f s", s);
	return buf;
}

/* A pass moved everything the boundary before it left (QEMU's passes always do). */
static int complete(const struct ms_tm_judge_opts *o, const struct ms_tm_pass *p,
		    const struct ms_tm_pass *before)
{
	return !o->moves_known || p->moved >= before->left;
}

/*
 * The share of a complete pass: the larger of what it left of what the pass
 * before left, and its dirty rate over its transfer rate.
 */
static double pass_share(const struct ms_tm_judge_opts *o, const struct ms_tm_pass *p,
			 const struct ms_tm_pass *before)
{
	double pace = p->transfer_bps > 0 ? p->dirty_bps / p->transfer_bps : 1, shrink = 0;

	if (before->left)
		shrink = (double)p->left / (double)before->left;
	return pace > shrink ? pace : shrink;
}

/* A REINIT brings new initial bytes: the passes start again at the last one. */
static const struct ms_tm_pass *since_reinit(const struct ms_tm_judge_opts *o, uint32_t *np)
{
	for (uint32_t i = o->np; i-- > 1;)
		if (o->passes[i].flags & MS_PASS_REINIT) {
			*np = o->np - i;
			return &o->passes[i];
		}
	*np = o->np;
	return o->passes;
}

/* The pending bytes at the last sample, or for QEMU's RAM what the last sync left. */
static uint64_t judged_pending(const struct ms_tm_sample *s, uint32_t n,
			       const struct ms_tm_judge_opts *o)
{
	if (o->sync && o->np)
		return o->passes[o->np - 1].left;
	return ms_tm_sample__pending(&s[n - 1]);
}

/*
 * Converging: project the series pass by pass.  The pass in progress leaves
 * `next` (the caller's projection of it); each later pass leaves q of the
 * one before; the switchover comes at the first boundary that leaves less
 * than the threshold.  The time: what is pending now moves at the transfer
 * rate, then each later pass moves what the one before it left.
 */
static void project(const struct ms_tm_sample *s, uint32_t n, const struct ms_tm_judge_opts *o,
		    struct ms_tm_convergence *c, double next, double q, const char *why)
{
	double left = next, thr = (double)o->threshold, secs;
	char b1[40], b2[40];
	uint32_t k = 1;

	if (o->threshold == MS_STAT_UNSET) {
		c->verdict = MS_VERDICT_UNKNOWN;
		ms_tm_say(c, "%s; no downtime limit or bandwidth to project it against", why);
		return;
	}
	secs = (double)ms_tm_sample__pending(&s[n - 1]) / c->transfer_bps;
	/* at q <= 0.90 the projection reaches any threshold within a few hundred passes */
	while (left >= thr && k < 1000) {
		secs += left / c->transfer_bps;
		left *= q;
		k++;
	}
	/*
	 * What is pending now can read 0 between QEMU draining a pass and its
	 * next sync, but the switchover still waits for that sync: never "now"
	 * (0 is for what fits already, rule 1), at least a millisecond, the
	 * report's resolution.
	 */
	if (secs < 1e-3)
		secs = 1e-3;
	c->verdict = MS_VERDICT_CONVERGING;
	c->ratio = q;
	c->switchover_ns = ms_tm_u64(secs * 1e9);
	ms_tm_say(c, "%s; under the threshold %s in ~%u pass%s, ~%s", why,
		  ms_fmt_bytes(o->threshold, b1, sizeof(b1)), k, k > 1 ? "es" : "",
		  fmt_secs(secs, b2, sizeof(b2)));
}

static void judge_passes(const struct ms_tm_sample *s, uint32_t n, const struct ms_tm_judge_opts *o,
			 struct ms_tm_convergence *c)
{
	const char *what = o->what ? o->what : "pending";
	const struct ms_tm_pass *last, *prev, *from;
	uint32_t np;
	char b1[40], b2[40], b3[40], why[MS_TM_REASON_LEN];
	double shrink = 0, pace, q, q_prev;
	uint32_t k;

	memset(c, 0, sizeof(*c));
	c->samples = n;
	c->threshold = o->threshold;
	c->threshold_source = o->threshold == MS_STAT_UNSET ? "none" : o->threshold_source;
	c->limit_ns = o->limit_ns;
	c->stopcopy = MS_STAT_UNSET;
	c->predicted_ns = MS_STAT_UNSET;
	c->switchover_ns = MS_STAT_UNSET;
	c->passes = o->np ? o->np - 1 : 0;
	if (!n) {
		c->verdict = MS_VERDICT_UNKNOWN;
		ms_tm_say(c, "no pending-byte samples");
		return;
	}
	c->initial = s[n - 1].initial;
	c->dirty = s[n - 1].dirty;
	c->pending = judged_pending(s, n, o);
	if (o->threshold != MS_STAT_UNSET && o->threshold && o->limit_ns)
		c->predicted_ns =
		    ms_tm_u64((double)c->pending / (double)o->threshold * (double)o->limit_ns);

	if (!c->pending) {
		c->verdict = MS_VERDICT_CONVERGING;
		c->switchover_ns = 0;
		ms_tm_say(c, "nothing pending%s: it can switch over now",
			  o->sync ? " after the last sync" : "");
		return;
	}
	/* strictly under, as QEMU's switchover and the profile driver have it */
	if (o->threshold != MS_STAT_UNSET && c->pending < o->threshold) {
		c->verdict = MS_VERDICT_CONVERGING;
		c->switchover_ns = 0;
		ms_tm_say(c, "%s %s%s is under the threshold %s: it can switch over now", what,
			  ms_fmt_bytes(c->pending, b1, sizeof(b1)),
			  o->sync ? " left by the last sync" : "",
			  ms_fmt_bytes(o->threshold, b2, sizeof(b2)));
		return;
	}
	if (o->no_precopy) {
		c->verdict = MS_VERDICT_STALLED;
		ms_tm_say(c, "no pre-copy: %s %s all moves after the stop%s%s", what,
			  ms_fmt_bytes(c->pending, b1, sizeof(b1)),
			  o->threshold != MS_STAT_UNSET ? ", over the threshold " : "",
			  o->threshold != MS_STAT_UNSET ? ms_fmt_bytes(o->threshold, b2, sizeof(b2))
							: "");
		return;
	}
	if (o->precopy_drained) {
		c->verdict = MS_VERDICT_STALLED;
		ms_tm_say(c, "pre-copy has nothing left to move; %s %s stays over the threshold %s",
			  what, ms_fmt_bytes(c->pending, b1, sizeof(b1)),
			  ms_fmt_bytes(o->threshold, b2, sizeof(b2)));
		return;
	}
	from = since_reinit(o, &np);
	c->passes = np ? np - 1 : 0;
	/*
	 * Inside a pass pending only falls: that is sending.  A device whose
	 * pending rose again since its lowest point in this pass while it moved
	 * data is dirtying faster than it moves, whatever the pass's end shows.
	 */
	if (np && o->moves_known) {
		uint32_t lo = from[np - 1].idx;
		double dt, moved, rise;

		for (uint32_t i = lo + 1; i < n; i++)
			if (ms_tm_sample__pending(&s[i]) <= ms_tm_sample__pending(&s[lo]))
				lo = i;
		dt = (double)(int64_t)(s[n - 1].ts_ns - s[lo].ts_ns) / 1e9;
		moved = s[n - 1].moved > s[lo].moved ? (double)(s[n - 1].moved - s[lo].moved) : 0;
		rise = (double)ms_tm_sample__pending(&s[n - 1]) -
		       (double)ms_tm_sample__pending(&s[lo]);
		if (dt > 0 && moved > 0 &&
		    rise >= (GROW_MIN - 1) * (double)ms_tm_sample__pending(&s[lo])) {
			c->verdict = MS_VERDICT_DIVERGING;
			c->have_rates = 1;
			c->transfer_bps = moved / dt;
			c->dirty_bps = (rise + moved) / dt;
			c->ratio = c->dirty_bps / c->transfer_bps;
			ms_tm_say(c,
				  "pass %u: %s rose from %s to %s while moving: dirtying %s "
				  "outpaces moving %s",
				  np, what,
				  ms_fmt_bytes(ms_tm_sample__pending(&s[lo]), b1, sizeof(b1)),
				  ms_fmt_bytes(ms_tm_sample__pending(&s[n - 1]), b2, sizeof(b2)),
				  fmt_rate(c->dirty_bps, b3, sizeof(b3)),
				  fmt_rate(c->transfer_bps, why, 40));
			return;
		}
	}
	if (np < 2) {
		c->verdict = MS_VERDICT_UNKNOWN;
		if (!np)
			ms_tm_say(c, "no pass boundary in %u sample%s yet", n, n == 1 ? "" : "s");
		else
			ms_tm_say(
			    c, "no complete pass yet%s: the first has run %s from %s, %s %s now",
			    from != o->passes ? " since the last REINIT" : "",
			    fmt_secs((double)(s[n - 1].ts_ns - from->ts_ns) / 1e9, b1, sizeof(b1)),
			    ms_fmt_bytes(from->left, b2, sizeof(b2)), what,
			    ms_fmt_bytes(ms_tm_sample__pending(&s[n - 1]), b3, sizeof(b3)));
		return;
	}
	/* the last pass, complete or not, says stalled when its dirtying keeps pace */
	last = &from[np - 1];
	c->have_rates = last->transfer_bps > 0;
	c->transfer_bps = last->transfer_bps;
	c->dirty_bps = last->dirty_bps;
	if (!c->have_rates) {
		c->verdict = MS_VERDICT_STALLED;
		ms_tm_say(c, "pass %u moved nothing in %s; %s %s", np - 1,
			  fmt_secs((double)last->dur_ns / 1e9, b1, sizeof(b1)), what,
			  ms_fmt_bytes(c->pending, b2, sizeof(b2)));
		return;
	}
	pace = c->dirty_bps / c->transfer_bps;
	/*
	 * What a pass leaves compares with what the one before left only when it
	 * moved all that (QEMU's passes always do; a device's dirty bytes can rise
	 * again before): the comparisons below are over complete passes.
	 */
	for (k = np - 1; k >= 1 && !complete(o, &from[k], &from[k - 1]); k--)
		;
	if (k >= 1) {
		last = &from[k];
		prev = &from[k - 1];
		if (prev->left)
			shrink = (double)last->left / (double)prev->left;
		/* left grew clearly, or at all while dirtying clearly outpaces moving */
		if (shrink >= GROW_MIN || (shrink > 1 && pace >= OUTPACE_MIN)) {
			c->verdict = MS_VERDICT_DIVERGING;
			c->ratio = shrink;
			ms_tm_say(c,
				  "pass %u left %s, more than the %s before it (dirtying %s, "
				  "moving %s)",
				  k, ms_fmt_bytes(last->left, b1, sizeof(b1)),
				  ms_fmt_bytes(prev->left, b2, sizeof(b2)),
				  fmt_rate(c->dirty_bps, why, 40),
				  fmt_rate(c->transfer_bps, b3, sizeof(b3)));
			return;
		}
	}
	if (pace >= PACE_MAX) {
		c->verdict = MS_VERDICT_STALLED;
		c->ratio = pace;
		ms_tm_say(c,
			  "pass %u: dirtying %s reaches moving %s; it left %s, above the "
			  "threshold%s%s",
			  np - 1, fmt_rate(c->dirty_bps, b1, sizeof(b1)),
			  fmt_rate(c->transfer_bps, b2, sizeof(b2)),
			  ms_fmt_bytes(from[np - 1].left, b3, sizeof(b3)),
			  o->threshold != MS_STAT_UNSET ? " " : "",
			  o->threshold != MS_STAT_UNSET ? ms_fmt_bytes(o->threshold, why, 40) : "");
		return;
	}
	if (k >= 1 && shrink >= SHRINK_MAX) {
		c->verdict = MS_VERDICT_STALLED;
		c->ratio = shrink;
		ms_tm_say(c, "what each pass leaves does not shrink: %s, then %s after pass %u",
			  ms_fmt_bytes(prev->left, b1, sizeof(b1)),
			  ms_fmt_bytes(last->left, b2, sizeof(b2)), k);
		return;
	}
	/*
	 * A first pass's dirty rate is a lower bound: it is the longest pass, and
	 * the longer a pass, the more of its writes land on pages already dirty
	 * (a working set caps what it leaves); a device's pass also misses writes
	 * to pages it had not sent yet.  It can say stalled (above), not
	 * converging.
	 */
	if (k < 2 || !complete(o, &from[k - 1], &from[k - 2])) {
		c->verdict = MS_VERDICT_UNKNOWN;
		ms_tm_say(c, "pass %u left %s (dirtying %s, moving %s); %s", np - 1,
			  ms_fmt_bytes(from[np - 1].left, b1, sizeof(b1)),
			  fmt_rate(c->dirty_bps, b2, sizeof(b2)),
			  fmt_rate(c->transfer_bps, b3, sizeof(b3)),
			  k < 1	    ? "no pass yet moved all the one before it left"
			  : k > 1   ? "the pass before it moved less than it was left"
			  : o->sync ? "a first pass under-counts dirtying: judged after the next"
				    : "a first pass under-counts dirtying: judged after two more");
		return;
	}
	q = pass_share(o, last, prev);
	/*
	 * A shorter pass dirties more per second where the working set caps a
	 * longer one, so the share can grow as passes shorten.  QEMU's sync
	 * finds every page written in the pass: the pages written in a window
	 * grow with its length at a rate that only falls, so a second pass,
	 * shorter, that dirtied no faster per second than the first shows that
	 * rate flat up to the first's length: the guest's own, and every later
	 * (shorter) pass leaves the same share.  With one share to go on, the
	 * pass must also have left clearly less than the first (the working set
	 * did not cap it) and dirtied clearly slower than it moved.  A device's
	 * pass misses writes to pages it had not sent yet, by an amount that
	 * depends on what it had left: there two shares after the first pass
	 * must show it, the later no larger.
	 */
	if (k == 2 && o->sync) {
		if (shrink > SHRINK_CLEAR || last->transfer_bps <= 0 ||
		    last->dirty_bps > PACE_CLEAR * last->transfer_bps) {
			c->verdict = MS_VERDICT_UNKNOWN;
			c->ratio = q;
			ms_tm_say(
			    c,
			    "pass 2 left %s (x%.2f: dirtying %s, moving %s); not clearly less "
			    "than pass 1, nor stalled: judged after the next",
			    ms_fmt_bytes(last->left, b1, sizeof(b1)), q,
			    fmt_rate(last->dirty_bps, b2, sizeof(b2)),
			    fmt_rate(last->transfer_bps, b3, sizeof(b3)));
			return;
		}
		if (last->dirty_bps > prev->dirty_bps * RATE_RISE_MAX) {
			c->verdict = MS_VERDICT_UNKNOWN;
			c->ratio = q;
			ms_tm_say(
			    c,
			    "pass 2 left %s (x%.2f) but dirtied %s against the first pass's "
			    "%s: shorter passes may leave a larger share, judged after the next",
			    ms_fmt_bytes(last->left, b1, sizeof(b1)), q,
			    fmt_rate(last->dirty_bps, b2, sizeof(b2)),
			    fmt_rate(prev->dirty_bps, b3, sizeof(b3)));
			return;
		}
	} else if (k < 3 || !complete(o, &from[k - 2], &from[k - 3])) {
		c->verdict = MS_VERDICT_UNKNOWN;
		c->ratio = q;
		ms_tm_say(c,
			  "pass %u left %s (x%.2f: dirtying %s, moving %s); whether shorter passes "
			  "leave less shows after the next",
			  k, ms_fmt_bytes(last->left, b1, sizeof(b1)), q,
			  fmt_rate(c->dirty_bps, b2, sizeof(b2)),
			  fmt_rate(c->transfer_bps, b3, sizeof(b3)));
		return;
	} else {
		q_prev = pass_share(o, &from[k - 1], &from[k - 2]);
		if (q > q_prev * SHARE_RISE_MAX) {
			c->verdict = MS_VERDICT_UNKNOWN;
			c->ratio = q;
			ms_tm_say(c,
				  "each pass leaves a larger share as passes shorten (x%.2f, then "
				  "x%.2f after pass %u): no projection",
				  q_prev, q, k);
			return;
		}
	}
	snprintf(why, sizeof(why), "pass %u left %s (x%.2f a pass: dirtying %s, moving %s)", k,
		 ms_fmt_bytes(last->left, b1, sizeof(b1)), q,
		 fmt_rate(last->dirty_bps, b2, sizeof(b2)),
		 fmt_rate(last->transfer_bps, b3, sizeof(b3)));
	c->dirty_bps = last->dirty_bps;
	c->transfer_bps = last->transfer_bps;
	project(s, n, o, c, (double)from[np - 1].left * q, q, why);
}

/* One window's dirtying, measured (a calc-dirty-rate) or counted (a complete pass). */
struct rate_window {
	uint64_t window_ns;
	double lo, hi; /* bytes a second */
	int pass;      /* the pass it was, 0: a calc-dirty-rate window */
};

/* Two windows within a tenth of each other are one length. */
static int same_length(uint64_t a, uint64_t b)
{
	return 10 * (a > b ? a - b : b - a) <= (a > b ? b : a);
}

static const char *fmt_window(const struct rate_window *w, char *buf, size_t len)
{
	char r[40], d[24];

	if (w->pass)
		snprintf(buf, len, "pass %d %s over %s", w->pass, fmt_rate(w->lo, r, sizeof(r)),
			 fmt_secs((double)w->window_ns / 1e9, d, sizeof(d)));
	else
		snprintf(buf, len, "%s over %s", fmt_rate(w->lo, r, sizeof(r)),
			 fmt_secs((double)w->window_ns / 1e9, d, sizeof(d)));
	return buf;
}

/*
 * QEMU's RAM where the passes cannot say: the guest's dirty rate as QEMU
 * measured it (calc-dirty-rate), at window lengths no pass gives.  Pages
 * written within a window grow with its length at a rate that only falls, so
 *   - a window whose dirtying reaches the link says so for every shorter
 *     pass: when a pass that short still leaves more than fits, stalled;
 *   - two windows of clearly different length (the shorter at most 2/3 of
 *     the longer; measured, or a complete pass) dirtied at the same rate per
 *     second show that rate flat from zero up to the longer: the guest's
 *     own.  Every later pass then leaves that rate over the transfer rate of
 *     the one before, and the pass in progress at most that rate times its
 *     length: converging when that share is clearly under 1.
 * Leaves c as the passes left it when the windows do not decide.
 */
static void judge_sampled(const struct ms_tm_sample *s, uint32_t n,
			  const struct ms_tm_judge_opts *o, struct ms_tm_convergence *c)
{
	const struct ms_tm_pass *from, *last;
	const struct ms_tm_rate *latest = &o->rates[o->nrates - 1];
	struct rate_window w[8], *a = NULL, *b = NULL;
	uint32_t nw = 0, np;
	double bw, rate, q, next, elapsed;
	char b1[96], b2[96], b3[40], b4[40], why[MS_TM_REASON_LEN];

	if (!n || !o->np || o->threshold == MS_STAT_UNSET || !o->threshold)
		return;
	from = since_reinit(o, &np);
	last = &from[np - 1];
	/* the link: the last complete pass's, else what QEMU's threshold was made of */
	if (np >= 2 && last->transfer_bps > 0)
		bw = last->transfer_bps;
	else if (o->limit_ns)
		bw = (double)o->threshold * 1e9 / (double)o->limit_ns;
	else
		return;

	if (latest->lo_bps >= PACE_MAX * bw &&
	    latest->lo_bps * (double)latest->window_ns / 1e9 >= (double)o->threshold) {
		c->verdict = MS_VERDICT_STALLED;
		c->have_rates = 1;
		c->dirty_bps = latest->lo_bps;
		c->transfer_bps = bw;
		c->ratio = latest->lo_bps / bw;
		c->switchover_ns = MS_STAT_UNSET;
		ms_tm_say(c,
			  "calc-dirty-rate: dirtying at least %s reaches moving %s; a pass "
			  "that short leaves %s, above the threshold %s",
			  fmt_window(&(struct rate_window){ latest->window_ns, latest->lo_bps,
							    latest->hi_bps, 0 },
				     b1, sizeof(b1)),
			  fmt_rate(bw, b3, sizeof(b3)),
			  ms_fmt_bytes(ms_tm_u64(latest->lo_bps * (double)latest->window_ns / 1e9),
				       b4, sizeof(b4)),
			  ms_fmt_bytes(o->threshold, b2, sizeof(b2)));
		return;
	}

	/* the latest window of each length, and the last complete pass */
	for (uint32_t i = o->nrates; i-- > 0 && nw < sizeof(w) / sizeof(w[0]) - 1;) {
		const struct ms_tm_rate *r = &o->rates[i];
		uint32_t j;

		/* QEMU may take longer than asked (10.0.2: 1003 ms for 1000): one length */
		for (j = 0; j < nw && !same_length(w[j].window_ns, r->window_ns); j++)
			;
		if (j == nw)
			w[nw++] = (struct rate_window){ r->window_ns, r->lo_bps, r->hi_bps, 0 };
	}
	if (np >= 2 && last->dur_ns && last->dirty_bps > 0)
		w[nw++] = (struct rate_window){ last->dur_ns, last->dirty_bps, last->dirty_bps,
						(int)(np - 1) };
	for (uint32_t i = 0; i < nw; i++) {
		if (!a || w[i].window_ns < a->window_ns)
			a = &w[i];
		if (!b || w[i].window_ns > b->window_ns)
			b = &w[i];
	}
	if (!a || 3 * a->window_ns > 2 * b->window_ns || a->lo > b->hi * RATE_RISE_MAX)
		return;
	rate = a->hi > b->hi ? a->hi : b->hi;
	if (rate > PACE_CLEAR * bw)
		return;
	q = rate / bw;
	c->have_rates = 1;
	c->dirty_bps = rate;
	c->transfer_bps = bw;
	/*
	 * The pass in progress leaves at most the rate times its length: after
	 * a complete pass, what that one left moved at the link; inside the
	 * first, the time it has run and what it still has to move.
	 */
	if (np >= 2) {
		next = (double)last->left * q;
	} else {
		elapsed = (double)(s[n - 1].ts_ns - from->ts_ns) / 1e9;
		next = rate * (elapsed + (double)ms_tm_sample__pending(&s[n - 1]) / bw);
	}
	snprintf(why, sizeof(why),
		 "calc-dirty-rate %s, %s: the guest's own rate, x%.2f a pass at %s",
		 fmt_window(a, b1, sizeof(b1)), fmt_window(b, b2, sizeof(b2)), q,
		 fmt_rate(bw, b3, sizeof(b3)));
	project(s, n, o, c, next, q, why);
}

void ms_tm_judge(const struct ms_tm_sample *s, uint32_t n, const struct ms_tm_judge_opts *o,
		 struct ms_tm_convergence *c)
{
	judge_passes(s, n, o, c);
	/* the passes' own verdicts stand: measured windows speak only where they cannot */
	if (c->verdict == MS_VERDICT_UNKNOWN && o->sync && o->nrates)
		judge_sampled(s, n, o, c);
}
