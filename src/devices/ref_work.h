/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The reference device's workload, shared by its VFIO and virtio faces: a
 * deterministic schedule of DMA writes over the working set.
 *
 * Writes are whole 4 KiB pages.  Their sizes are uniform in
 * [1, 2 * wsize/4K - 1] pages (mean wsize); 85 % go to a cursor that moves
 * through the working set like a receive ring, 15 % to a random page.  A write
 * of n bytes takes n / rate of time: the k-th write completes at
 * start + (bytes of writes 1..k) / rate, so the bytes written by time t are
 * rate * (t - start) to within one write.
 *
 * hide=N picks N pages spread over the working set that the DMA-unmap source
 * never reports (as for buffers in a long-lived mapping that is never
 * unmapped); the device writes each of them once first, so a tracker that
 * compares sources has N pages to find.
 */
#ifndef MIGSCOPE_REF_WORK_H
#define MIGSCOPE_REF_WORK_H

#include <stdint.h>

#include <migscope/device.h>
#include <migscope/rand.h>
#include <migscope/ref.h>

#define MS_REF_PAGE 4096ull

struct ms_ref_work {
	struct ms_rand rng;
	uint64_t rate;	   /* bytes per second, 0: no writes */
	uint64_t ws_pages; /* working set, pages */
	uint64_t avg_pages;
	uint64_t iova;
	uint64_t next_ns; /* completion time of the scheduled write; UINT64_MAX: idle */
	uint64_t next_page, next_pages; /* the scheduled write */
	uint64_t cursor;
	uint64_t *hidden; /* sorted page numbers */
	uint32_t nr_hidden, hidden_done;
	struct ms_ref_stats *stats;
};

int ms_ref_work__init(struct ms_ref_work *w, const struct ms_ref_params *p, uint64_t seed,
		      struct ms_ref_stats *stats);
void ms_ref_work__free(struct ms_ref_work *w);

/* Start writing from now on; stop (nothing scheduled). */
void ms_ref_work__start(struct ms_ref_work *w, uint64_t now);
void ms_ref_work__stop(struct ms_ref_work *w);

/*
 * Take the scheduled write (it happens at *ts) and schedule the next one.
 * Publishes the DMA-unmap records of its visible parts as device d.
 */
void ms_ref_work__take(struct ms_ref_work *w, struct ms_device *d, uint64_t *ts, uint64_t *page,
		       uint64_t *pages);

/*
 * The scheduled event happens without any DMA (a driver notification while
 * the device may not access memory); returns its time and schedules the next.
 */
uint64_t ms_ref_work__skip(struct ms_ref_work *w);

#endif
