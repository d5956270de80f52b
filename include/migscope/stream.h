/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The stream as its publishers see it: where sources and device drivers put
 * their records, and who gives devices their ids.
 *
 * A publisher holds a struct ms_stream and nothing above it: the bus the
 * records go to, the device registry (the kernel collectors look their host
 * devices up there) and the next free device id.  The session (the
 * composition root, include/migscope/session.h) owns the bus, the registry
 * and the consumers, and hands this handle down; a replay's capture reader
 * publishes into the same bus, so live and replay take one path.
 */
#ifndef MIGSCOPE_STREAM_H
#define MIGSCOPE_STREAM_H

#include <stdint.h>

#include <migscope/bus.h>
#include <migscope/devices.h>

struct ms_stream {
	struct ms_bus *bus;
	const struct ms_devices *devices; /* the registry subscribed to bus */
	uint32_t next_dev_id;
};

/*
 * Publish into bus; devices is the registry on that bus.  Subscribes to
 * MS_EV_DEV_ADD so that ids in replayed or foreign DEV_ADDs are never handed
 * out again.  0 or -ENOSPC.
 */
int ms_stream__init(struct ms_stream *st, struct ms_bus *bus, const struct ms_devices *devices);

static inline void ms_stream__publish(struct ms_stream *st, const struct ms_event_hdr *ev)
{
	ms_bus__publish(st->bus, ev);
}

/*
 * Publish MS_EV_SESSION at ts_ns (stream time) carrying the real monotonic and
 * wall clocks read back to back, and MS_EV_CONFIG when any limit is set.
 */
void ms_stream__begin(struct ms_stream *st, uint64_t ts_ns, uint32_t source,
		      uint64_t downtime_limit_ns, uint64_t bandwidth_bps, uint64_t page_size);

/*
 * The same with the clock pair given: a session rebuilt from records of a
 * past run (migscope import) begins at the wall time those records say.
 */
void ms_stream__begin_at(struct ms_stream *st, uint64_t ts_ns, uint64_t mono_ns,
			 uint64_t realtime_ns, uint32_t source, uint64_t downtime_limit_ns,
			 uint64_t bandwidth_bps, uint64_t page_size);

/* Give a device an id and publish its MS_EV_DEV_ADD; returns the id. */
uint32_t ms_stream__add_device(struct ms_stream *st, uint64_t ts_ns, uint16_t kind, uint16_t role,
			       uint32_t caps, uint32_t peer, const char *name);

/*
 * Publish MS_EV_TRACK_START for dev over one range [iova, iova + len) at
 * page_size: the form of a device whose tracking is everything it may reach
 * (watch's host devices, the benchmarks).
 */
void ms_stream__track_range(struct ms_stream *st, uint64_t ts_ns, uint32_t dev, uint32_t page_size,
			    uint64_t iova, uint64_t len);

/*
 * Publish MS_EV_SESSION_END at ts_ns with status (0 or a negative errno) and
 * why (NULL, or the one-line error, cut at MS_SESSION_WHY_LEN bytes).
 */
void ms_stream__end(struct ms_stream *st, uint64_t ts_ns, int32_t status, const char *why);

/* CLOCK_MONOTONIC now, in nanoseconds. */
uint64_t ms_now_ns(void);

#endif
