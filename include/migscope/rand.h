/* SPDX-License-Identifier: GPL-2.0-only */
/* A small deterministic PRNG (splitmix64): same seed, same stream, everywhere. */
#ifndef MIGSCOPE_RAND_H
#define MIGSCOPE_RAND_H

#include <stdint.h>

struct ms_rand {
	uint64_t s;
};

static inline void ms_rand__seed(struct ms_rand *r, uint64_t seed)
{
	r->s = seed;
}

static inline uint64_t ms_rand__next(struct ms_rand *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, n); n > 0.  The tiny modulo bias does not matter here. */
static inline uint64_t ms_rand__below(struct ms_rand *r, uint64_t n)
{
	return ms_rand__next(r) % n;
}

#endif
