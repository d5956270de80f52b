/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The iommufd source: IOMMU dirty tracking of one HWPT, read by migscope
 * itself through the iommufd uAPI (Linux 6.7+) and published on the stream.
 *
 * Given an iommufd, a HWPT allocated with IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
 * the IOVA ranges to track and the page size of the bitmap to ask the kernel
 * for, the source publishes for the device id it was given:
 *
 *   start    IOMMU_HWPT_SET_DIRTY_TRACKING(enable), then MS_EV_TRACK_START
 *            over the ranges at the tracker's page size
 *   harvest  IOMMU_HWPT_GET_DIRTY_BITMAP over every range in bounded chunks:
 *            one MS_EV_DMA_WRITE (source MS_SRC_IOMMUFD) per run of dirty
 *            pages, MS_EV_LOSS over every chunk whose read failed or whose
 *            bitmap cannot be trusted, then MS_EV_HARVEST
 *   stop     a last harvest, SET_DIRTY_TRACKING(disable), MS_EV_TRACK_STOP
 *   close    stop if still tracking, MS_EV_SOURCE_STATS (MS_SOURCE_IOMMUFD)
 *
 * The bitmap page may be smaller than the tracker's smallest page (4 KiB):
 * IOMMUFD_TEST's mock domain has 2 KiB IOPTEs.  Records carry byte extents,
 * so the tracker marks every page a dirty run touches: a coarse page is
 * dirty if any fine page in it is, never the other way round.
 *
 * Every ioctl goes through struct ms_iommufd_sys, so tests stand a fake
 * kernel behind it (the project's machines have no iommufd; the VM lane's
 * kernel does, tests/vm/check_iommufd.sh).
 */
#ifndef MIGSCOPE_IOMMUFD_H
#define MIGSCOPE_IOMMUFD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <migscope/event.h>

struct ms_stream;

struct ms_iommufd_sys {
	int (*ioctl)(int fd, unsigned long req, void *arg);
};

/* The real ioctl. */
extern const struct ms_iommufd_sys ms_iommufd_sys_real;

/* Most ranges one source tracks (what a MS_EV_TRACK_START record carries, rounded down). */
#define MS_IOMMUFD_MAX_RANGES 256

enum ms_iommufd_flags {
	/*
	 * Observe a HWPT whose owner (QEMU) enables, harvests and disables
	 * its tracking: never call SET_DIRTY_TRACKING (enabling clears the
	 * dirty bits, iopt_set_dirty_tracking()) and read with
	 * IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR, so the owner's reads lose
	 * nothing to ours.  A harvest then reports what is dirty since the
	 * owner's last read, a superset of what it will read.
	 */
	MS_IOMMUFD_OBSERVE = 1u << 0,
};

struct ms_iommufd_opts {
	int fd;		  /* the iommufd */
	uint32_t hwpt_id; /* a HWPT allocated with IOMMU_HWPT_ALLOC_DIRTY_TRACKING */
	const struct ms_range *ranges;
	uint32_t nr_ranges;
	uint64_t page_size; /* bitmap page asked of the kernel: a power of two, 512 B to 1 GiB */
	uint32_t flags;	    /* enum ms_iommufd_flags */
	const struct ms_iommufd_sys *sys; /* NULL: the real ioctl */
	/*
	 * Called around every harvest's reads, on the reading thread: with
	 * end false before the first ioctl, with end true after the last and
	 * before MS_EV_HARVEST.  Another source that sees the same reads
	 * (the iova_bitmap_set() fentry) claims the thread at the start
	 * (ms_collect__claim_thread) and, at the end, publishes what its
	 * ring holds (ms_collect__poll), so the kernel's records of a read
	 * fall in the read's own window.  NULL: none.
	 */
	void (*reads_hook)(void *ctx, uint32_t dev, bool end);
	void *hook_ctx;
};

struct ms_iommufd;

/*
 * Check the request (every range non-empty, aligned to the tracker page,
 * inside 2^64, none overlapping) before any ioctl; the source publishes for
 * device dev of session s.  NULL with err filled ("iommufd: range 1 ...").
 */
struct ms_iommufd *ms_iommufd__open(struct ms_stream *s, uint32_t dev,
				    const struct ms_iommufd_opts *o, char *err, size_t errlen);

/* Enable the HWPT's dirty tracking and publish MS_EV_TRACK_START.  0 or -errno (err). */
int ms_iommufd__start(struct ms_iommufd *src);

/*
 * Read (and clear, unless MS_IOMMUFD_OBSERVE) the dirty bitmap of every
 * range.  A failed chunk is a loss over that chunk (MS_LOSS_REPORT_ERROR)
 * and the next chunk is still read.  Returns the dirty runs published, or
 * the first -errno (err says which range and why) after publishing
 * everything else.
 */
int ms_iommufd__harvest(struct ms_iommufd *src);

/* A last harvest, disable tracking (not when observing), MS_EV_TRACK_STOP.  0 or the first -errno.
 */
int ms_iommufd__stop(struct ms_iommufd *src);

/* The tracker page size (the larger of the bitmap page and 4 KiB). */
uint64_t ms_iommufd__track_page(const struct ms_iommufd *src);

/* The last error line, "" if none. */
const char *ms_iommufd__err(const struct ms_iommufd *src);

/* Stop if still tracking, publish the source's totals, free. */
void ms_iommufd__close(struct ms_iommufd *src);

#endif
