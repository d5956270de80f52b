// SPDX-License-Identifier: GPL-2.0-only
/* Event counters and the session facts (start, config, end) from the stream. */
#include <stdio.h>
#include <string.h>

#include <migscope/stats.h>

void ms_stats__init(struct ms_stats *st)
{
	memset(st, 0, sizeof(*st));
}

/*
 * A record's text tail as one line of at most max bytes: a control character
 * would break the table and the JSON's promise.
 */
static void copy_line(char *dst, uint32_t max, const char *src, uint32_t n)
{
	n = n < max ? n : max;
	memcpy(dst, src, n);
	dst[n] = 0;
	for (uint32_t i = 0; i < n; i++)
		if ((unsigned char)dst[i] < 0x20 || dst[i] == 0x7f)
			dst[i] = ' ';
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
		copy_line(st->end_why, MS_SESSION_WHY_LEN, why, n);
		break;
	}
	case MS_EV_DIRTY_RATE_STATE: {
		uint32_t n;
		const char *why = ms_event_tail(ev, MS_PAYLOAD_LEN(ms_ev_dirty_rate_state), &n);

		memcpy(&st->drs, ev, sizeof(st->drs));
		st->have_drs = 1;
		copy_line(st->drs_why, MS_DRS_WHY_LEN, why, n);
		break;
	}
	case MS_EV_DIRTY_RATE: {
		const struct ms_ev_dirty_rate *d = (const void *)ev;

		if (st->dr_windows < MS_STATS_DIRTY_RATES)
			memcpy(&st->dr[st->dr_windows], d, sizeof(*d));
		st->dr_windows++;
		if (d->mode < 32)
			st->dr_modes |= 1u << d->mode;
		if (st->dr_windows == 1 || d->window_ns < st->dr_min_ns)
			st->dr_min_ns = d->window_ns;
		if (d->window_ns > st->dr_max_ns)
			st->dr_max_ns = d->window_ns;
		break;
	}
	default:
		break;
	}
}

static const char *const mode_names[] = { "page-sampling", "dirty-bitmap", "dirty-ring" };

void ms_stats__dirty_rate_line(const struct ms_stats *st, char *buf, size_t len)
{
	const char *why = st->drs_why[0] ? st->drs_why : "no reason given";
	size_t n = 0;

	buf[0] = 0;
	if (st->dr_windows) {
		n += (size_t)snprintf(buf, len, "sampled by QEMU (");
		for (unsigned int m = 0, first = 1; m < 3 && n < len; m++)
			if (st->dr_modes & (1u << m)) {
				n += (size_t)snprintf(buf + n, len - n, "%s%s", first ? "" : ", ",
						      mode_names[m]);
				first = 0;
			}
		/* 10.0 says how long each took (1003 ms for 1000): the span, not every length */
		if (n < len)
			n += (size_t)snprintf(buf + n, len - n, ", windows %g",
					      (double)st->dr_min_ns / 1e6);
		if (n < len && st->dr_max_ns != st->dr_min_ns)
			n += (size_t)snprintf(buf + n, len - n, " to %g",
					      (double)st->dr_max_ns / 1e6);
		if (n < len)
			n += (size_t)snprintf(buf + n, len - n, " ms, %llu window%s)",
					      (unsigned long long)st->dr_windows,
					      st->dr_windows == 1 ? "" : "s");
		if (n < len && st->have_drs && st->drs.state == MS_DRS_REFUSED)
			snprintf(buf + n, len - n, "; then QEMU refused: %s", why);
		return;
	}
	if (!st->have_drs)
		return;
	switch (st->drs.state) {
	case MS_DRS_SAMPLING:
		snprintf(buf, len,
			 "not sampled: no window completed while the migration was "
			 "active (KVM)");
		break;
	case MS_DRS_TCG:
		snprintf(buf, len,
			 "not sampled: QEMU runs under TCG (only KVM's dirty log is "
			 "exact)");
		break;
	case MS_DRS_OPTED_OUT:
		/* the option that opted out; older captures carry none */
		snprintf(buf, len, "not sampled: %s",
			 st->drs_why[0] ? st->drs_why : "--no-dirty-rate");
		break;
	case MS_DRS_UNSUPPORTED:
		snprintf(buf, len, "not sampled: QEMU has no calc-dirty-rate (%s)", why);
		break;
	case MS_DRS_REFUSED:
		snprintf(buf, len, "not sampled: QEMU refused calc-dirty-rate: %s", why);
		break;
	default:
		snprintf(buf, len, "not sampled: not known whether QEMU runs under KVM (%s)", why);
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
