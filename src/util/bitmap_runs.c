// SPDX-License-Identifier: GPL-2.0-only
#include <migscope/bitmap_runs.h>

void ms_bitmap_runs(const uint64_t *bm, uint64_t bits, uint64_t iova, uint64_t page, ms_run_fn fn,
		    void *ctx)
{
	uint64_t i = 0;

	while (i < bits) {
		uint64_t w = bm[i / 64] >> (i % 64), start;

		/* a clear word (or its clear rest) is skipped whole */
		if (!w) {
			i = (i / 64 + 1) * 64;
			continue;
		}
		i += (uint64_t)__builtin_ctzll(w);
		if (i >= bits)
			break;
		start = i;
		while (i < bits && (bm[i / 64] >> (i % 64)) & 1)
			i++;
		fn(ctx, iova + start * page, (i - start) * page);
	}
}
