/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The synthetic source: a deterministic stream of device records in virtual
 * time, for benchmarks and tests that need volume rather than realism.
 */
#ifndef MIGSCOPE_SYNTH_H
#define MIGSCOPE_SYNTH_H

#include <stdint.h>

#include <migscope/stream.h>

struct ms_synth_opts {
	uint64_t seed;
	uint32_t devices;
	uint64_t events;      /* DMA and pre-copy records to generate */
	uint64_t guest_bytes; /* guest memory the devices write into; 0: 4 GiB */
	uint64_t pool_bytes;  /* each device's buffers, in a slice of its own; 0: the whole guest */
	uint64_t precopy_every; /* a pre-copy sample every this many records; 0: 3 % of them */
};

#define MS_SYNTH_DEFAULT_GUEST (4ull << 30)
#define MS_SYNTH_MIN_GUEST     (1ull << 20)

/* Publish the whole stream into s, begin to end.  Returns the final stream time. */
uint64_t ms_synth__run(struct ms_stream *s, const struct ms_synth_opts *o);

#endif
