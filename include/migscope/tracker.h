/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The dirty tracker: for each device, the set of guest pages it may have
 * written, merged from every dirty-page source on the stream, never smaller
 * than the truth.
 *
 * Per device, while tracking (MS_EV_TRACK_START .. MS_EV_TRACK_STOP):
 *   - one sparse bitmap per write source (enum ms_write_source) holding the
 *     pages that source reported since the last harvest (the "window");
 *   - one bitmap of widened pages: what losses, unmaps while tracking and bad
 *     device data forced dirty, with the cause of each.
 * The dirty set is the union of the window's bitmaps.  MS_EV_HARVEST (the
 * device's consumer read and cleared a range) closes the window over that
 * range: the sources are checked against each other, the union is counted,
 * and the range is cleared.  The cost is in proportion to the dirty pages.
 *
 * Cross-source check: the sources are grouped in views that should each see
 * every write of the device (DMA API = unmap + sync, hardware dirty report,
 * virtio write records; IOMMU faults only see first touches, so they are
 * checked but never blamed for missing a page).  For each pair of views that
 * both reported in a window, the pages one reported and the other did not
 * are discrepancies.  Records outside every tracked range and (once IOMMU maps
 * have been seen) outside the mapped set are counted and reported too.
 *
 * Caller mistakes in a TRACK_START or HARVEST record (page size not a power
 * of two, overlapping, unaligned or wrapping ranges, harvest while not
 * tracking) are refused, counted and reported with the first error line;
 * bad data from a device widens the dirty set instead.
 */
#ifndef MIGSCOPE_TRACKER_H
#define MIGSCOPE_TRACKER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <migscope/bus.h>
#include <migscope/dirty_bitmap.h>

/* Most ranges one MS_EV_TRACK_START record can carry (its len is 16 bits). */
#define MS_TRACK_RECORD_MAX_RANGES                                                                 \
	((UINT16_MAX - MS_PAYLOAD_LEN(ms_ev_track_start)) / sizeof(struct ms_range))

struct ms_tracker;

struct ms_tracker *ms_tracker__new(void);
int ms_tracker__subscribe(struct ms_tracker *t, struct ms_bus *bus);
void ms_tracker__free(struct ms_tracker *t);

/*
 * Check a tracking request as VFIO DMA_LOGGING_START does: page size a power
 * of two (4 KiB .. 1 GiB), 1..MS_TRACK_RECORD_MAX_RANGES ranges, each non-empty,
 * aligned to the page size, not wrapping past 2^64, none overlapping.
 * 0, or -EINVAL / -E2BIG with err naming the range and the problem.
 */
int ms_tracker__check_start(uint64_t page_size, const struct ms_range *ranges, uint32_t nr,
			    char *err, size_t errlen);

/*
 * The device's dirty set over [iova, iova + length) in the VFIO bitmap format
 * (see ms_dirty_bitmap__export; bits are only set, zero the buffer first).
 * Does not clear: to read-and-clear use ms_tracker__read_and_clear, so the
 * clear is a record on the stream and a replay sees it too.
 * 0, -ENOENT (device not tracking) or -EINVAL, with err filled.
 */
int ms_tracker__export(struct ms_tracker *t, uint32_t dev, uint64_t iova, uint64_t length,
		       uint64_t page_size, uint64_t *bitmap, size_t nwords, char *err,
		       size_t errlen);

/* Export as above, then publish MS_EV_HARVEST for that range on bus at ts_ns. */
int ms_tracker__read_and_clear(struct ms_tracker *t, struct ms_bus *bus, uint64_t ts_ns,
			       uint32_t dev, uint64_t iova, uint64_t length, uint64_t page_size,
			       uint64_t *bitmap, size_t nwords, char *err, size_t errlen);

/* Numbers for tables and progress lines (the telemetry's "dirty pages" column). */
struct ms_dirty_summary {
	bool tracking;
	uint64_t page_size;	 /* the tracking page size (last one used) */
	uint64_t tracked_bytes;	 /* sum of the tracked ranges */
	uint64_t pages;		 /* dirty pages over the session: each window's, summed */
	uint64_t distinct_pages; /* distinct pages over the session (if kept, else 0) */
	uint64_t pending_pages;	 /* dirty now: not harvested yet */
	uint64_t harvests;
	uint64_t harvested_pages;	    /* pages returned by harvests, summed */
	uint64_t unharvested_at_stop;	    /* pages still dirty when tracking stopped */
	uint64_t records;		    /* write records for this device */
	uint64_t source_pages[MS_SRC__MAX]; /* pages each source reported, summed per window */
	uint64_t out_of_range_records;	    /* records (partly) outside every tracked range */
	uint64_t outside_mapped_records;
	uint64_t widen_events;
	uint64_t widened_pages;	    /* pages forced dirty by losses, unmaps, bad records */
	uint64_t discrepancy_pages; /* pages one source reported and another missed */
	uint64_t unconfirmed_pages; /* ... that the other may still report at its next harvest */
	uint64_t rejected;	    /* records refused as caller mistakes */
	uint64_t mem_bytes;	    /* memory the device's bitmaps hold */
	uint64_t track_starts, track_stops;
	uint64_t losses_untracked; /* losses while not tracking: nothing to widen */
	uint32_t nr_ranges;	   /* tracked ranges (ms_tracker__range) */
};

/*
 * One past the highest device id the tracker holds records for.  Ids below it
 * that no DEV_ADD registered still have their records: reports list them as
 * unregistered devices rather than drop them.
 */
uint32_t ms_tracker__nr_ids(struct ms_tracker *t);

/* 0, or -ENOENT if the tracker never heard of the device. */
int ms_tracker__device_summary(struct ms_tracker *t, uint32_t dev, struct ms_dirty_summary *s);

/*
 * Also keep the distinct pages each device dirtied over the session (every
 * window folded into one set at its harvest): for ms_tracker__session_pages
 * and "distinct_pages" in the report.  That costs a set union per harvest, so
 * it is off unless asked for (migscope bitmap asks).  Call before any record.
 */
void ms_tracker__keep_session_pages(struct ms_tracker *t);

/*
 * OR into out (initialized by the caller at the page size wanted) every page
 * the device dirtied over the session, at that page size.  0, -ENOENT,
 * -ENODATA (session pages not kept) or -ENOMEM (out is then full).
 */
int ms_tracker__session_pages(struct ms_tracker *t, uint32_t dev, struct ms_dirty_bitmap *out);

/*
 * Read-only queries: what the tracker found, for the report layer
 * (src/report/tracker_report.c renders them as the "dirty" objects and the
 * DIRTY section).  They apply the writes still in flight and change nothing
 * the tracker found; a pointer they return is valid until the next record.
 */

/*
 * Views: sources that should each see every write of a device, compared with
 * each other.  The DMA API reports a buffer at unmap or at sync-for-cpu,
 * never both, so those two are one view.  IOMMU faults see only first
 * touches of non-present pages (checked, never blamed for a miss).
 */
enum ms_dirty_view {
	MS_VIEW_DMA,
	MS_VIEW_FAULT,
	MS_VIEW_HW,
	MS_VIEW_VIRTIO,
	MS_VIEW_IOMMUFD,
	MS_VIEW__MAX,
};

/* Why pages were forced dirty; the first MS_LOSS__MAX are the loss reasons. */
enum ms_widen_cause {
	MS_WIDEN_LOSS_UNKNOWN = MS_LOSS__MAX,
	MS_WIDEN_UNMAP,
	MS_WIDEN_ZERO_LENGTH,
	MS_WIDEN_WRAP,
	MS_WIDEN_UNKNOWN_SOURCE,
	MS_WIDEN_SHORT_RECORD,
	MS_WIDEN_NOMEM,
	MS_WIDEN__MAX,
};

/* Records refused as caller mistakes, per kind. */
enum ms_reject_kind { MS_REJ_TRACK_START, MS_REJ_HARVEST, MS_REJ_MAP, MS_REJ_UNMAP, MS_REJ__MAX };

#define MS_DIRTY_EXAMPLES   4	/* examples kept per finding */
#define MS_DIRTY_REJECT_MSG 160 /* the first refusal's message, per kind */

struct ms_dirty_extent {
	uint64_t iova, len;
	uint32_t source;
};

/* The first few records or ranges of a finding. */
struct ms_dirty_examples {
	unsigned int nr;
	struct ms_dirty_extent ex[MS_DIRTY_EXAMPLES];
};

/* One write source's records for a device. */
struct ms_dirty_source {
	uint64_t records, bytes;
	uint64_t pages; /* pages reported, summed over closed windows */
	uint64_t unaligned;
	uint64_t untracked; /* records while the device was not tracking */
	uint64_t out_of_range_records, out_of_range_bytes;
	uint64_t outside_mapped_records, outside_mapped_bytes;
};

/* Pages forced dirty for one cause. */
struct ms_dirty_widened {
	uint64_t events, pages, lost;
	bool all; /* some event widened everything tracked */
	struct ms_dirty_examples ex;
};

/* One pair of views: pages view x reported and view y did not. */
struct ms_dirty_disc {
	uint64_t windows; /* windows in which both views reported */
	uint64_t pages;	  /* pages the first view reported and the second did not */
	unsigned int nr_ex;
	uint64_t ex[MS_DIRTY_EXAMPLES]; /* iova of the first such pages */
};

struct ms_dirty_reject {
	uint64_t count;
	char first[MS_DIRTY_REJECT_MSG];
};

/* Tracker-wide numbers. */
struct ms_tracker_totals {
	uint64_t iommu_maps, iommu_unmaps;
	uint64_t mapped_bytes;	       /* what the IOMMU maps seen hold */
	uint64_t unattributed_records; /* records for ids beyond MS_DEV_ID_MAX or for no device */
};

void ms_tracker__totals(struct ms_tracker *t, struct ms_tracker_totals *out);

/* Whether ms_tracker__keep_session_pages was asked for (distinct pages are counted). */
bool ms_tracker__keeps_session_pages(const struct ms_tracker *t);

/* The device's i-th tracked range (sorted).  0, or -ENOENT past the end or for no device. */
int ms_tracker__range(struct ms_tracker *t, uint32_t dev, uint32_t i, uint64_t *iova,
		      uint64_t *length);

/*
 * Write source src's records for the device: 0 .. MS_SRC__MAX - 1, or
 * MS_SRC__MAX for records of unknown sources (its pages stay 0).  NULL for no
 * device; per window pages are in ms_dirty_summary.source_pages.
 */
const struct ms_dirty_source *ms_tracker__source(struct ms_tracker *t, uint32_t dev,
						 unsigned int src);

/* The first records outside every tracked range (or, mapped, the IOMMU-mapped set). */
const struct ms_dirty_examples *ms_tracker__outside(struct ms_tracker *t, uint32_t dev,
						    bool mapped);

/* Pages forced dirty for cause (enum ms_widen_cause), or NULL for no device. */
const struct ms_dirty_widened *ms_tracker__widened(struct ms_tracker *t, uint32_t dev,
						   unsigned int cause);

/*
 * The cross-source check for every pair of views [x][y]: confirmed, what
 * closed windows found; open, what the open window would add if it closed now
 * and no further report came.  0, or -ENOENT.
 */
int ms_tracker__discrepancies(struct ms_tracker *t, uint32_t dev,
			      struct ms_dirty_disc confirmed[MS_VIEW__MAX][MS_VIEW__MAX],
			      struct ms_dirty_disc open[MS_VIEW__MAX][MS_VIEW__MAX]);

/*
 * The records refused per kind (enum ms_reject_kind, MS_REJ__MAX entries): the
 * device's, or with MS_DEV_NONE those that named no device.  NULL for no device.
 */
const struct ms_dirty_reject *ms_tracker__rejects(struct ms_tracker *t, uint32_t dev);

/* "dma_unmap", ... ("unknown" past the end). */
const char *ms_write_source_name(unsigned int src);

#endif
