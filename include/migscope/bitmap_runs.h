/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Runs of set bits in a dirty bitmap as the kernel hands it out (VFIO
 * DMA_LOGGING_REPORT, IOMMU_HWPT_GET_DIRTY_BITMAP): one bit per page, __u64
 * words, bit n covers [iova + n * page, + page).  Both the VFIO backend and
 * the iommufd source turn such bitmaps into write records, one per run.
 */
#ifndef MIGSCOPE_BITMAP_RUNS_H
#define MIGSCOPE_BITMAP_RUNS_H

#include <stdint.h>

typedef void (*ms_run_fn)(void *ctx, uint64_t iova, uint64_t len);

/* Call fn once per run of set bits among the first bits of bm, in address order. */
void ms_bitmap_runs(const uint64_t *bm, uint64_t bits, uint64_t iova, uint64_t page, ms_run_fn fn,
		    void *ctx);

#endif
