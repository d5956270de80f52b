// SPDX-License-Identifier: GPL-2.0-only
/*
 * The generic device layer: the state table walked one arc at a time, each
 * arc timed and published; pre-copy queries, tracking and harvests published
 * as the records the telemetry and the dirty tracker consume.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <migscope/device.h>
#include <migscope/stream.h>
#include <migscope/vfio_fsm.h>

int ms_dev__fail(struct ms_device *d, int err, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(d->err, sizeof(d->err), "%s: ", d->name);

	if (n < 0 || (size_t)n >= sizeof(d->err))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(d->err + n, sizeof(d->err) - (size_t)n, fmt, ap);
	va_end(ap);
	return err < 0 ? err : -EIO;
}

static uint64_t now(struct ms_device *d)
{
	return ms_clock__now(d->clock);
}

void ms_dev__register(struct ms_device *d, struct ms_stream *s, uint16_t role, uint32_t peer)
{
	d->s = s;
	d->role = role;
	d->id = ms_stream__add_device(s, now(d), d->kind, role, d->caps, peer, d->name);
}

void ms_dev__publish_arc(struct ms_device *d, uint16_t domain, uint8_t from, uint8_t to,
			 int32_t err, uint64_t start_ns)
{
	struct ms_ev_dev_state ev;
	uint64_t t = now(d);

	if (!d->s)
		return;
	memset(&ev, 0, sizeof(ev));
	MS_EVENT_INIT(&ev, MS_EV_DEV_STATE, ms_ev_dev_state, d->id, t);
	ev.domain = domain;
	ev.from = from;
	ev.to = to;
	ev.err = err;
	ev.dur_ns = t >= start_ns ? t - start_ns : 0;
	ms_stream__publish(d->s, &ev.hdr);
}

/* After a failed call, ask the device where it is; unknown counts as ERROR. */
static void learn_state(struct ms_device *d)
{
	char saved[sizeof(d->err)];
	uint8_t st;

	memcpy(saved, d->err, sizeof(saved));
	if (d->ops->get_state(d, &st) == 0)
		d->state = st;
	else
		d->state = VFIO_DEVICE_STATE_ERROR;
	memcpy(d->err, saved, sizeof(saved)); /* the first error is the one to report */
}

int ms_dev__step(struct ms_device *d, uint8_t next)
{
	char b1[16], b2[16];
	uint8_t from = d->state, want;
	uint64_t start;
	int err;

	if (ms_vfio_fsm__next(d->caps, from, next, &want) || want != next)
		return ms_dev__fail(d, -EINVAL,
				    "MIG_DEVICE_STATE: %s -> %s is not one arc of the state table",
				    ms_vfio_state_name(from, b1, sizeof(b1)),
				    ms_vfio_state_name(next, b2, sizeof(b2)));
	start = now(d);
	err = d->ops->arc(d, next);
	if (!err) {
		d->state = next;
		ms_dev__publish_arc(d, MS_DOMAIN_VFIO, from, next, 0, start);
		return 0;
	}
	learn_state(d);
	ms_dev__publish_arc(d, MS_DOMAIN_VFIO, from, d->state, err, start);
	return err;
}

int ms_dev__goto(struct ms_device *d, uint8_t target)
{
	uint8_t path[MS_VFIO_MAX_PATH];
	char b1[16], b2[16];
	int n = ms_vfio_fsm__path(d->caps, d->state, target, path);

	if (n < 0)
		return ms_dev__fail(d, -EINVAL,
				    "MIG_DEVICE_STATE: no path from %s to %s for this device",
				    ms_vfio_state_name(d->state, b1, sizeof(b1)),
				    ms_vfio_state_name(target, b2, sizeof(b2)));
	for (int i = 0; i < n; i++) {
		int err = ms_dev__step(d, path[i]);

		if (err)
			return err;
	}
	return 0;
}

int ms_dev__reset(struct ms_device *d)
{
	uint8_t from = d->state;
	uint64_t start = now(d);
	int err = d->ops->reset(d);

	if (err) {
		learn_state(d);
		ms_dev__publish_arc(d, MS_DOMAIN_VFIO, from, d->state, err, start);
		return err;
	}
	d->state = VFIO_DEVICE_STATE_RUNNING;
	ms_dev__publish_arc(d, MS_DOMAIN_VFIO, from, d->state, 0, start);
	return 0;
}

/* A query that found new dirty data (or REINIT) ends one pre-copy pass: MS_EV_PASS. */
static void publish_pass(struct ms_device *d, uint64_t ts, const struct ms_precopy_info *pi)
{
	struct ms_ev_pass ev;

	if (ms_pass__precopy(&d->pass, d->id, ts, pi->initial_bytes, pi->dirty_bytes, pi->flags,
			     &ev))
		ms_stream__publish(d->s, &ev.hdr);
}

int ms_dev__precopy_info(struct ms_device *d, struct ms_precopy_info *pi)
{
	struct ms_ev_precopy ev;
	int err;

	memset(pi, 0, sizeof(*pi));
	err = d->ops->precopy_info(d, pi);
	if (err)
		return err;
	/* without the v2 opt-in the kernel's flags are not meaningful */
	if (!(d->flags & MS_DEVF_PRECOPY_V2))
		pi->flags = 0;
	if (d->s) {
		memset(&ev, 0, sizeof(ev));
		MS_EVENT_INIT(&ev, MS_EV_PRECOPY, ms_ev_precopy, d->id, now(d));
		ev.initial_bytes = pi->initial_bytes;
		ev.dirty_bytes = pi->dirty_bytes;
		ev.flags = pi->flags;
		ms_stream__publish(d->s, &ev.hdr);
		publish_pass(d, ev.hdr.ts_ns, pi);
	}
	return 0;
}

int ms_dev__stopcopy_size(struct ms_device *d, uint64_t *bytes)
{
	struct ms_ev_stopcopy_size ev;
	int err = d->ops->stopcopy_size(d, bytes);

	if (err)
		return err;
	if (d->s) {
		memset(&ev, 0, sizeof(ev));
		MS_EVENT_INIT(&ev, MS_EV_STOPCOPY_SIZE, ms_ev_stopcopy_size, d->id, now(d));
		ev.bytes = *bytes;
		ms_stream__publish(d->s, &ev.hdr);
	}
	return 0;
}

ssize_t ms_dev__read(struct ms_device *d, void *buf, size_t len)
{
	ssize_t n = d->ops->read(d, buf, len);

	if (n > (ssize_t)len)
		return ms_dev__fail(d, -EPROTO,
				    "data read: device returned %zd bytes for a %zu-byte buffer", n,
				    len);
	return n;
}

int ms_dev__write_all(struct ms_device *d, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	while (len) {
		ssize_t n = d->ops->write(d, p, len);

		if (n < 0)
			return (int)n;
		if (n == 0)
			return ms_dev__fail(d, -EIO, "data write: device accepted no bytes of %zu",
					    len);
		if ((size_t)n > len)
			return ms_dev__fail(
			    d, -EPROTO, "data write: device claims %zd bytes of a %zu-byte buffer",
			    n, len);
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

void ms_dev__publish_data(struct ms_device *d, uint64_t bytes, uint32_t phase)
{
	struct ms_ev_data ev;

	if (!d->s)
		return;
	memset(&ev, 0, sizeof(ev));
	MS_EVENT_INIT(&ev, MS_EV_DATA, ms_ev_data, d->id, now(d));
	ev.bytes = bytes;
	ev.phase = phase;
	ms_stream__publish(d->s, &ev.hdr);
}

static int cmp_range(const void *a, const void *b)
{
	const struct ms_range *x = a, *y = b;

	return x->iova < y->iova ? -1 : x->iova > y->iova;
}

static int check_ranges(struct ms_device *d, const struct ms_range *r, uint32_t n,
			uint64_t page_size)
{
	struct ms_range *sorted;
	int err = 0;

	if (!n)
		return ms_dev__fail(d, -EINVAL, "DMA_LOGGING_START: no ranges");
	if (n > MS_TRACK_MAX_RANGES)
		return ms_dev__fail(d, -E2BIG, "DMA_LOGGING_START: %u ranges, at most %u", n,
				    MS_TRACK_MAX_RANGES);
	if (page_size < 4096 || (page_size & (page_size - 1)))
		return ms_dev__fail(
		    d, -EINVAL, "DMA_LOGGING_START: page_size %llu is not a power of two >= 4096",
		    (unsigned long long)page_size);
	for (uint32_t i = 0; i < n; i++) {
		if (!r[i].len || (r[i].iova | r[i].len) & (page_size - 1))
			return ms_dev__fail(d, -EINVAL,
					    "DMA_LOGGING_START: range %u (0x%llx+0x%llx) is empty "
					    "or not aligned to %llu",
					    i, (unsigned long long)r[i].iova,
					    (unsigned long long)r[i].len,
					    (unsigned long long)page_size);
		if (r[i].iova + r[i].len < r[i].iova)
			return ms_dev__fail(d, -EOVERFLOW,
					    "DMA_LOGGING_START: range %u wraps past 2^64", i);
	}
	sorted = malloc(n * sizeof(*sorted));
	if (!sorted)
		return ms_dev__fail(d, -ENOMEM, "DMA_LOGGING_START: %s", strerror(ENOMEM));
	memcpy(sorted, r, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), cmp_range);
	for (uint32_t i = 1; i < n; i++)
		if (sorted[i].iova < sorted[i - 1].iova + sorted[i - 1].len) {
			err = ms_dev__fail(d, -EINVAL,
					   "DMA_LOGGING_START: ranges at 0x%llx and 0x%llx overlap",
					   (unsigned long long)sorted[i - 1].iova,
					   (unsigned long long)sorted[i].iova);
			break;
		}
	free(sorted);
	return err;
}

int ms_dev__track_start(struct ms_device *d, const struct ms_range *r, uint32_t n,
			uint64_t page_size)
{
	/* the record and its ranges, in one buffer (a flexible array ends the struct) */
	_Alignas(struct ms_ev_track_start) unsigned char
	    buf[sizeof(struct ms_ev_track_start) + MS_TRACK_MAX_RANGES * sizeof(struct ms_range)];
	struct ms_ev_track_start *ev = (void *)buf;
	uint64_t granted = page_size;
	int err;

	if (!d->ops->track_start)
		return ms_dev__fail(d, -EOPNOTSUPP, "dirty tracking: the device has none");
	if (d->track)
		return ms_dev__fail(d, -EBUSY, "DMA_LOGGING_START: tracking already started");
	err = check_ranges(d, r, n, page_size);
	if (err)
		return err;
	err = d->ops->track_start(d, r, n, &granted);
	if (err)
		return err;
	if (granted < 4096 || (granted & (granted - 1))) {
		d->ops->track_stop(d);
		return ms_dev__fail(
		    d, -EPROTO,
		    "DMA_LOGGING_START: device chose page_size %llu, not a power of two >= 4096",
		    (unsigned long long)granted);
	}
	d->track = malloc(n * sizeof(*d->track));
	if (!d->track) {
		d->ops->track_stop(d);
		return ms_dev__fail(d, -ENOMEM, "DMA_LOGGING_START: %s", strerror(ENOMEM));
	}
	memcpy(d->track, r, n * sizeof(*r));
	d->nr_track = n;
	d->track_page = granted;
	if (d->s) {
		memset(buf, 0, sizeof(buf));
		MS_EVENT_INIT(ev, MS_EV_TRACK_START, ms_ev_track_start, d->id, now(d));
		ev->hdr.len = (uint16_t)(ev->hdr.len + n * sizeof(struct ms_range));
		ev->page_size = granted;
		ev->nr_ranges = n;
		memcpy(ev->ranges, r, n * sizeof(*r));
		ms_stream__publish(d->s, &ev->hdr);
	}
	return 0;
}

struct harvest_ctx {
	struct ms_device *d;
	uint64_t ts;
};

static void publish_dirty(void *ctx, uint64_t iova, uint64_t len)
{
	struct harvest_ctx *h = ctx;
	struct ms_ev_dma_write ev;

	if (!h->d->s || !len)
		return;
	memset(&ev, 0, sizeof(ev));
	MS_EVENT_INIT(&ev, MS_EV_DMA_WRITE, ms_ev_dma_write, h->d->id, h->ts);
	ev.iova = iova;
	ev.len = len;
	ev.source = h->d->ops->dirty_source;
	ms_stream__publish(h->d->s, &ev.hdr);
}

int ms_dev__harvest(struct ms_device *d)
{
	struct harvest_ctx h = { .d = d, .ts = now(d) };
	int first = 0;

	if (!d->track)
		return ms_dev__fail(d, -EINVAL, "dirty report: tracking was not started");
	for (uint32_t i = 0; i < d->nr_track; i++) {
		int err = d->ops->harvest(d, &d->track[i], d->track_page, publish_dirty, &h);

		if (!err)
			continue;
		if (!first)
			first = err;
		if (d->s) {
			struct ms_ev_loss l;

			/* the report is lost for this range: all of it must count as dirty */
			memset(&l, 0, sizeof(l));
			MS_EVENT_INIT(&l, MS_EV_LOSS, ms_ev_loss, d->id, h.ts);
			l.reason = d->ops->harvest_loss;
			l.iova = d->track[i].iova;
			l.len = d->track[i].len;
			ms_stream__publish(d->s, &l.hdr);
		}
	}
	if (d->s) {
		struct ms_ev_harvest ev;

		memset(&ev, 0, sizeof(ev));
		MS_EVENT_INIT(&ev, MS_EV_HARVEST, ms_ev_harvest, d->id, h.ts);
		ev.page_size = d->track_page;
		ms_stream__publish(d->s, &ev.hdr);
	}
	return first;
}

int ms_dev__track_stop(struct ms_device *d)
{
	int err;

	if (!d->track)
		return 0;
	err = d->ops->track_stop(d);
	free(d->track);
	d->track = NULL;
	d->nr_track = 0;
	if (d->s) {
		struct ms_event_hdr ev = {
			.type = MS_EV_TRACK_STOP, .len = 0, .dev = d->id, .ts_ns = now(d)
		};

		ms_stream__publish(d->s, &ev);
	}
	return err;
}

void ms_dev__close(struct ms_device *d)
{
	if (!d)
		return;
	/* recording a driver started, it stops (the virtio driver MUST) */
	if (d->track)
		ms_dev__track_stop(d);
	d->ops->close(d);
}

void ms_devs__pump(struct ms_device *const *devs, size_t n, uint64_t t)
{
	for (;;) {
		uint64_t best = UINT64_MAX;
		size_t who = n;

		for (size_t i = 0; i < n; i++) {
			uint64_t e;

			if (!devs[i]->ops->next_event)
				continue;
			e = devs[i]->ops->next_event(devs[i]);
			if (e < best) {
				best = e;
				who = i;
			}
		}
		if (who == n || best > t)
			return;
		devs[who]->ops->run_event(devs[who]);
	}
}
