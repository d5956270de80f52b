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

#include <json-c/json.h>

#include <migscope/bus.h>
#include <migscope/devices.h>
#include <migscope/dirty_bitmap.h>

/* Most ranges one MS_EV_TRACK_START record can carry (its len is 16 bits). */
#define MS_TRACK_RECORD_MAX_RANGES                                                                 \
	((UINT16_MAX - MS_PAYLOAD_LEN(ms_ev_track_start)) / sizeof(struct ms_range))

struct ms_tracker;

/* devices: the session's registry, for names (the tracker keeps the pointer). */
struct ms_tracker *ms_tracker__new(const struct ms_devices *devices);
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
 * The device's "dirty" report object (docs/dirty-tracking.md), or NULL if the
 * tracker never heard of it.  With session pages kept, a non-zero page_size
 * adds "converted": the distinct pages counted at that page size.
 */
struct json_object *ms_tracker__device_json(struct ms_tracker *t, uint32_t dev, uint64_t page_size);

/* Add "dirty" to each device entry of report and the tracker-wide "dirty_tracker". */
void ms_tracker__report_json(struct ms_tracker *t, struct json_object *report);

/*
 * The DIRTY section of the terminal report: one device (only_dev) or all
 * (MS_DEV_NONE, with the tracker-wide lines), with or without the column header.
 */
void ms_tracker__print_text(struct ms_tracker *t, FILE *out, uint32_t only_dev, bool header);

/* "dma_unmap", ... ("unknown" past the end). */
const char *ms_write_source_name(unsigned int src);

#endif
