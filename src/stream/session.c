// SPDX-License-Identifier: GPL-2.0-only
/* The session: one bus, every consumer wired to it in one place. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <migscope/session.h>

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
	struct ms_session *s = ctx;

	if (ev->dev != MS_DEV_NONE && ev->dev >= s->next_dev_id && ev->dev <= MS_DEV_ID_MAX)
		s->next_dev_id = ev->dev + 1;
}

struct ms_session *ms_session__new(const struct ms_session_opts *opts, char *err, size_t errlen)
{
	struct ms_session *s = calloc(1, sizeof(*s));

	if (!s) {
		snprintf(err, errlen, "failed to allocate session: %s", strerror(ENOMEM));
		return NULL;
	}
	ms_bus__init(&s->bus);
	if (opts->info)
		s->info = *opts->info;
	else
		ms_host_info__from_host(&s->info, opts->argc, opts->argv);
	if (opts->vm)
		ms_host_info__set(&s->info, "vm", opts->vm);

	/* the order here is the order every record reaches the consumers */
	ms_devices__init(&s->devices);
	ms_devices__subscribe(&s->devices, &s->bus);
	ms_bus__subscribe(&s->bus, MS_EV_BIT(MS_EV_DEV_ADD), track_ids, s);
	ms_stats__init(&s->stats);
	ms_stats__subscribe(&s->stats, &s->bus);
	s->tracker = ms_tracker__new(&s->devices);
	if (!s->tracker) {
		snprintf(err, errlen, "failed to allocate dirty tracker: %s", strerror(ENOMEM));
		ms_session__free(s);
		return NULL;
	}
	ms_tracker__subscribe(s->tracker, &s->bus);
	ms_telemetry__init(&s->telemetry);
	ms_telemetry__subscribe(&s->telemetry, &s->bus);
	ms_arccheck__init(&s->arcs, &s->devices);
	ms_arccheck__subscribe(&s->arcs, &s->bus);
	ms_progress__init(&s->progress, opts->progress, &s->devices, &s->telemetry);
	if (opts->progress)
		ms_progress__subscribe(&s->progress, &s->bus);

	if (opts->record_path) {
		s->rec = ms_capture_writer__open(opts->record_path, &s->info, &opts->record, err,
						 errlen);
		if (!s->rec) {
			ms_session__free(s);
			return NULL;
		}
		ms_bus__subscribe(&s->bus, MS_EV_ALL, ms_capture_writer__on_event, s->rec);
	}
	return s;
}

void ms_session__begin(struct ms_session *s, uint64_t ts_ns, uint32_t source,
		       uint64_t downtime_limit_ns, uint64_t bandwidth_bps, uint64_t page_size)
{
	uint64_t mono = ms_now_ns();

	ms_session__begin_at(s, ts_ns, mono, realtime_ns(), source, downtime_limit_ns,
			     bandwidth_bps, page_size);
}

void ms_session__begin_at(struct ms_session *s, uint64_t ts_ns, uint64_t mono_ns,
			  uint64_t realtime_ns, uint32_t source, uint64_t downtime_limit_ns,
			  uint64_t bandwidth_bps, uint64_t page_size)
{
	struct ms_ev_session ev = { 0 };

	MS_EVENT_INIT(&ev, MS_EV_SESSION, ms_ev_session, MS_DEV_NONE, ts_ns);
	ev.mono_ns = mono_ns;
	ev.realtime_ns = realtime_ns;
	ev.source = source;
	ms_session__publish(s, &ev.hdr);
	if (downtime_limit_ns || bandwidth_bps || page_size) {
		struct ms_ev_config cfg = { 0 };

		MS_EVENT_INIT(&cfg, MS_EV_CONFIG, ms_ev_config, MS_DEV_NONE, ts_ns);
		cfg.downtime_limit_ns = downtime_limit_ns;
		cfg.bandwidth_bps = bandwidth_bps;
		cfg.page_size = page_size;
		ms_session__publish(s, &cfg.hdr);
	}
}

uint32_t ms_session__add_device(struct ms_session *s, uint64_t ts_ns, uint16_t kind,
				uint16_t role, uint32_t caps, uint32_t peer, const char *name)
{
	_Alignas(8) unsigned char buf[sizeof(struct ms_ev_dev_add) + MS_NAME_MAX + 1];
	struct ms_ev_dev_add *a = (void *)buf;
	size_t n = strnlen(name, MS_NAME_MAX);
	uint32_t id = s->next_dev_id;

	memset(buf, 0, sizeof(buf));
	MS_EVENT_INIT(a, MS_EV_DEV_ADD, ms_ev_dev_add, id, ts_ns);
	a->hdr.len = (uint16_t)(MS_PAYLOAD_LEN(ms_ev_dev_add) + n);
	a->kind = kind;
	a->role = role;
	a->caps = caps;
	a->peer = peer;
	a->name_len = (uint16_t)n;
	memcpy(a->name, name, n);
	ms_session__publish(s, &a->hdr);
	return id;
}

int ms_session__close_capture(struct ms_session *s, char *err, size_t errlen)
{
	int ret = ms_capture_writer__close(s->rec, err, errlen);

	s->rec = NULL;
	return ret;
}

int ms_session__fail(struct ms_session *s, uint64_t ts_ns, int32_t status, const char *why,
		     char *err, size_t errlen)
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
	ms_session__publish(s, &u.ev.hdr);
	return ms_session__close_capture(s, err, errlen);
}

int ms_session__end(struct ms_session *s, uint64_t ts_ns, int32_t status, char *err,
		    size_t errlen)
{
	return ms_session__fail(s, ts_ns, status, NULL, err, errlen);
}

void ms_session__free(struct ms_session *s)
{
	char err[MS_ERR_LEN];

	if (!s)
		return;
	if (s->rec)
		ms_capture_writer__close(s->rec, err, sizeof(err));
	ms_tracker__free(s->tracker);
	ms_devices__free(&s->devices);
	ms_telemetry__free(&s->telemetry);
	ms_arccheck__free(&s->arcs);
	free(s);
}
