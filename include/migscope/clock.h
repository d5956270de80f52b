/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The time a device driver runs on.
 *
 * Real devices run on CLOCK_MONOTONIC.  Reference devices run on a virtual
 * clock by default: time moves only when the driver says an operation took
 * time (a transfer takes bytes / bandwidth, a stop takes the device's stop
 * latency), so a run is deterministic and takes milliseconds of real time
 * however long the simulated migration is.
 *
 * Simulated devices also have events of their own (DMA writes).  Before the
 * clock moves to t, the pump is called with t so those events are published
 * first, with their own timestamps: the stream stays in time order.
 */
#ifndef MIGSCOPE_CLOCK_H
#define MIGSCOPE_CLOCK_H

#include <stdint.h>

struct ms_clock;

struct ms_clock_ops {
	const char *name; /* "virtual", "monotonic" */
	int is_virtual;
	uint64_t (*now)(struct ms_clock *c);
	/* move time to t (> now): the virtual clock jumps, the real one sleeps */
	void (*wait_until)(struct ms_clock *c, uint64_t t);
};

typedef void (*ms_clock_pump_fn)(void *ctx, uint64_t t);

struct ms_clock {
	const struct ms_clock_ops *ops;
	uint64_t virt_ns; /* the virtual clock's time */
	ms_clock_pump_fn pump;
	void *pump_ctx;
};

/* Where a virtual clock starts: one second, so no event carries time 0. */
#define MS_CLOCK_VIRTUAL_START 1000000000ull

void ms_clock__init_virtual(struct ms_clock *c, uint64_t start_ns);
void ms_clock__init_monotonic(struct ms_clock *c);

static inline uint64_t ms_clock__now(struct ms_clock *c)
{
	return c->ops->now(c);
}

static inline int ms_clock__is_virtual(const struct ms_clock *c)
{
	return c->ops->is_virtual;
}

/* Run the pump up to t, then move time to t.  Nothing when t <= now. */
void ms_clock__advance_to(struct ms_clock *c, uint64_t t);

static inline void ms_clock__advance(struct ms_clock *c, uint64_t ns)
{
	ms_clock__advance_to(c, ms_clock__now(c) + ns);
}

/* Nanoseconds that n bytes take at bps bytes per second (0 when bps is 0: unlimited). */
uint64_t ms_transfer_ns(uint64_t bytes, uint64_t bps);

#endif
