// SPDX-License-Identifier: GPL-2.0-only
/* The two clocks a device driver can run on. */
#include <errno.h>
#include <time.h>

#include <migscope/clock.h>
#include <migscope/stream.h>

static uint64_t virtual_now(struct ms_clock *c)
{
	return c->virt_ns;
}

static void virtual_wait_until(struct ms_clock *c, uint64_t t)
{
	c->virt_ns = t;
}

static const struct ms_clock_ops virtual_ops = {
	.name = "virtual",
	.is_virtual = 1,
	.now = virtual_now,
	.wait_until = virtual_wait_until,
};

static uint64_t monotonic_now(struct ms_clock *c)
{
	return ms_now_ns();
}

static void monotonic_wait_until(struct ms_clock *c, uint64_t t)
{
	struct timespec ts = { .tv_sec = (time_t)(t / 1000000000ull),
			       .tv_nsec = (long)(t % 1000000000ull) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static const struct ms_clock_ops monotonic_ops = {
	.name = "monotonic",
	.now = monotonic_now,
	.wait_until = monotonic_wait_until,
};

void ms_clock__init_virtual(struct ms_clock *c, uint64_t start_ns)
{
	c->ops = &virtual_ops;
	c->virt_ns = start_ns;
	c->pump = NULL;
	c->pump_ctx = NULL;
}

void ms_clock__init_monotonic(struct ms_clock *c)
{
	c->ops = &monotonic_ops;
	c->virt_ns = 0;
	c->pump = NULL;
	c->pump_ctx = NULL;
}

void ms_clock__advance_to(struct ms_clock *c, uint64_t t)
{
	if (t <= ms_clock__now(c))
		return;
	if (c->pump)
		c->pump(c->pump_ctx, t);
	c->ops->wait_until(c, t);
}

uint64_t ms_transfer_ns(uint64_t bytes, uint64_t bps)
{
	unsigned __int128 ns;

	if (!bps)
		return 0;
	ns = ((unsigned __int128)bytes * 1000000000ull + bps - 1) / bps;
	return ns > UINT64_MAX ? UINT64_MAX : (uint64_t)ns;
}
