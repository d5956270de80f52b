// SPDX-License-Identifier: GPL-2.0-only
/* The live progress line (see include/migscope/progress.h). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <migscope/progress.h>
#include <migscope/stream.h>

#include "report_telemetry.h"

#define REDRAW_NS    200000000ull  /* at most five redraws a second */
#define RATE_SPAN_NS 1000000000ull /* rates over about the last second of samples */

int ms_progress__wanted(FILE *out, int quiet)
{
	return !quiet && isatty(fileno(out));
}

void ms_progress__init(struct ms_progress *p, FILE *out, const struct ms_devices *d,
		       const struct ms_telemetry *t)
{
	struct winsize ws;

	memset(p, 0, sizeof(*p));
	p->out = out;
	p->devices = d;
	p->telemetry = t;
	p->width = 100;
	if (out && !ioctl(fileno(out), TIOCGWINSZ, &ws) && ws.ws_col > 20)
		p->width = ws.ws_col;
}

/* Change of pending bytes per second over about the last second of samples. */
static int rate(const struct ms_tm_device *d, double *bps)
{
	const struct ms_tm_sample *s = d->samples.v, *last;
	uint32_t n = d->samples.nr, i;

	if (n < 2)
		return -1;
	last = &s[n - 1];
	for (i = n - 1; i > 0 && last->ts_ns - s[i - 1].ts_ns <= RATE_SPAN_NS && n - i < 64; i--)
		;
	if (i == n - 1)
		i = n - 2;
	if (last->ts_ns <= s[i].ts_ns)
		return -1;
	*bps = ((double)ms_tm_sample__pending(last) - (double)ms_tm_sample__pending(&s[i])) /
	       ((double)(last->ts_ns - s[i].ts_ns) / 1e9);
	return 0;
}

/* Append to buf at n; returns the new length (which may run past len: the caller cuts). */
static int addf(char *buf, size_t len, int n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int addf(char *buf, size_t len, int n, const char *fmt, ...)
{
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vsnprintf(buf + n, len > (size_t)n ? len - n : 0, fmt, ap);
	va_end(ap);
	return k < 0 ? n : n + k;
}

const char *ms_progress__line(const struct ms_progress *p, char *buf, size_t len)
{
	const struct ms_telemetry *t = p->telemetry;
	int n, w = p->width - 1 < (int)len - 1 ? p->width - 1 : (int)len - 1;
	char sz[16], rt[24], st[24];

	n = snprintf(buf, len, "%.1fs",
		     p->now_ts > t->t0_ns ? (double)(p->now_ts - t->t0_ns) / 1e9 : 0.0);
	for (uint32_t id = 0; id < t->nr; id++) {
		const struct ms_tm_device *d = &t->dev[id];
		const struct ms_device_info *info = ms_devices__get(p->devices, id);
		double bps;

		if (!info || (!d->samples.nr && !ms_tm_timeline(d)->nr))
			continue;
		st[0] = sz[0] = rt[0] = '\0';
		if (ms_tm_timeline(d)->nr)
			snprintf(
			    st, sizeof(st), " %s",
			    ms_tm_state_name(ms_tm_timeline(d)->v[ms_tm_timeline(d)->nr - 1].domain,
					     ms_tm_timeline(d)->v[ms_tm_timeline(d)->nr - 1].to));
		if (d->samples.nr) {
			sz[0] = ' ';
			ms_report__size(ms_tm_sample__pending(&d->samples.v[d->samples.nr - 1]),
					sz + 1, sizeof(sz) - 1);
		}
		if (!rate(d, &bps)) {
			char b[16];

			snprintf(rt, sizeof(rt), " %s%s/s", bps < 0 ? "-" : "+",
				 ms_report__size(ms_tm_u64(fabs(bps)), b, sizeof(b)));
		}
		n = addf(buf, len, n, " | %s%s%s%s", info->name, st, sz, rt);
	}
	if (t->stats.nr && t->stats.v[t->stats.nr - 1].ram_remaining != MS_STAT_UNSET) {
		ms_report__size(t->stats.v[t->stats.nr - 1].ram_remaining, sz, sizeof(sz));
		n = addf(buf, len, n, " | VM %s remaining (%s)", sz,
			 ms_qemu_mig_status_name(t->stats.v[t->stats.nr - 1].status));
	}
	/* one terminal line: cut at the width */
	if (n > w && w > 3 && (size_t)w < len)
		memcpy(buf + w - 3, "...", 4);
	return buf;
}

static void on_event(void *ctx, const struct ms_event_hdr *ev)
{
	struct ms_progress *p = ctx;
	uint64_t now;
	char line[512];

	if (ev->ts_ns > p->now_ts)
		p->now_ts = ev->ts_ns;
	now = ms_now_ns();
	if (p->drawn && now - p->last_draw_ns < REDRAW_NS)
		return;
	p->last_draw_ns = now;
	p->drawn = 1;
	fprintf(p->out, "\r\033[K%s", ms_progress__line(p, line, sizeof(line)));
	fflush(p->out);
}

int ms_progress__subscribe(struct ms_progress *p, struct ms_bus *bus)
{
	return ms_bus__subscribe(bus,
				 MS_EV_BIT(MS_EV_PRECOPY) | MS_EV_BIT(MS_EV_QEMU_PENDING) |
				     MS_EV_BIT(MS_EV_STOPCOPY_SIZE) | MS_EV_BIT(MS_EV_DEV_STATE) |
				     MS_EV_BIT(MS_EV_MIG_STATS),
				 on_event, p);
}

void ms_progress__clear(struct ms_progress *p)
{
	if (!p->drawn)
		return;
	fputs("\r\033[K", p->out);
	fflush(p->out);
	p->drawn = 0;
}
