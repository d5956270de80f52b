// SPDX-License-Identifier: GPL-2.0-only
/* The publishers' handle on the stream (include/migscope/stream.h). */
#include <string.h>
#include <time.h>

#include <migscope/stream.h>

uint64_t ms_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The registry hands out ids; replayed DEV_ADDs move the counter past them. */
static void track_ids(void *ctx, const struct ms_event_hdr *ev)
{
	struct ms_stream *st = ctx;

	if (ev->dev != MS_DEV_NONE && ev->dev >= st->next_dev_id && ev->dev <= MS_DEV_ID_MAX)
		st->next_dev_id = ev->dev + 1;
}

int ms_stream__init(struct ms_stream *st, struct ms_bus *bus, const struct ms_devices *devices)
{
	st->bus = bus;
	st->devices = devices;
	st->next_dev_id = 0;
	return ms_bus__subscribe(bus, MS_EV_BIT(MS_EV_DEV_ADD), track_ids, st);
}

void ms_stream__begin(struct ms_stream *st, uint64_t ts_ns, uint32_t source,
		      uint64_t downtime_limit_ns, uint64_t bandwidth_bps, uint64_t page_size)
{
	uint64_t mono = ms_now_ns();

	ms_stream__begin_at(st, ts_ns, mono, realtime_ns(), source, downtime_limit_ns,
			    bandwidth_bps, page_size);
}

void ms_stream__begin_at(struct ms_stream *st, uint64_t ts_ns, uint64_t mono_ns,
			 uint64_t realtime_ns, uint32_t source, uint64_t downtime_limit_ns,
			 uint64_t bandwidth_bps, uint64_t page_size)
{
	struct ms_ev_session ev = { 0 };

	MS_EVENT_INIT(&ev, MS_EV_SESSION, ms_ev_session, MS_DEV_NONE, ts_ns);
	ev.mono_ns = mono_ns;
	ev.realtime_ns = realtime_ns;
	ev.source = source;
	ms_stream__publish(st, &ev.hdr);
	if (downtime_limit_ns || bandwidth_bps || page_size) {
		struct ms_ev_config cfg = { 0 };

		MS_EVENT_INIT(&cfg, MS_EV_CONFIG, ms_ev_config, MS_DEV_NONE, ts_ns);
		cfg.downtime_limit_ns = downtime_limit_ns;
		cfg.bandwidth_bps = bandwidth_bps;
		cfg.page_size = page_size;
		ms_stream__publish(st, &cfg.hdr);
	}
}

void ms_stream__track_range(struct ms_stream *st, uint64_t ts_ns, uint32_t dev, uint32_t page_size,
			    uint64_t iova, uint64_t len)
{
	_Alignas(8) unsigned char buf[sizeof(struct ms_ev_track_start) + sizeof(struct ms_range)];
	struct ms_ev_track_start *t = (void *)buf;

	memset(buf, 0, sizeof(buf));
	MS_EVENT_INIT(t, MS_EV_TRACK_START, ms_ev_track_start, dev, ts_ns);
	t->hdr.len += sizeof(struct ms_range);
	t->page_size = page_size;
	t->nr_ranges = 1;
	t->ranges[0].iova = iova;
	t->ranges[0].len = len;
	ms_stream__publish(st, &t->hdr);
}

uint32_t ms_stream__add_device(struct ms_stream *st, uint64_t ts_ns, uint16_t kind, uint16_t role,
			       uint32_t caps, uint32_t peer, const char *name)
{
	_Alignas(8) unsigned char buf[sizeof(struct ms_ev_dev_add) + MS_NAME_MAX + 1];
	struct ms_ev_dev_add *a = (void *)buf;
	size_t n = strnlen(name, MS_NAME_MAX);
	uint32_t id = st->next_dev_id;

	memset(buf, 0, sizeof(buf));
	MS_EVENT_INIT(a, MS_EV_DEV_ADD, ms_ev_dev_add, id, ts_ns);
	a->hdr.len = (uint16_t)(MS_PAYLOAD_LEN(ms_ev_dev_add) + n);
	a->kind = kind;
	a->role = role;
	a->caps = caps;
	a->peer = peer;
	a->name_len = (uint16_t)n;
	memcpy(a->name, name, n);
	ms_stream__publish(st, &a->hdr);
	return id;
}

void ms_stream__end(struct ms_stream *st, uint64_t ts_ns, int32_t status, const char *why)
{
	union {
		struct ms_ev_session_end ev;
		char buf[sizeof(struct ms_ev_session_end) + MS_SESSION_WHY_LEN];
	} u = { 0 };
	size_t n = why ? strnlen(why, MS_SESSION_WHY_LEN) : 0;

	MS_EVENT_INIT(&u.ev, MS_EV_SESSION_END, ms_ev_session_end, MS_DEV_NONE, ts_ns);
	u.ev.status = status;
	if (n)
		memcpy(u.buf + sizeof(u.ev), why, n);
	u.ev.hdr.len += (uint16_t)n;
	ms_stream__publish(st, &u.ev.hdr);
}
