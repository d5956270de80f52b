/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Reports: what the consumers of a session found, as JSON (docs/report-schema.md)
 * or as a terminal table.  Built only from consumer state (struct ms_view),
 * which is built only from the event stream, so a replay reports exactly what
 * the live run did.
 */
#ifndef MIGSCOPE_REPORT_H
#define MIGSCOPE_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include <json-c/json.h>

#include <migscope/arccheck.h>
#include <migscope/devices.h>
#include <migscope/host_info.h>
#include <migscope/stats.h>
#include <migscope/telemetry.h>
#include <migscope/tracker.h>

#define MS_REPORT_SCHEMA 1

/*
 * What a report reads: the consumers' state and the run's host info, nothing
 * else.  The session (the composition root) fills one for its consumers,
 * s->view; a report never sees the session itself.
 */
struct ms_view {
	const struct ms_host_info *info;
	const struct ms_devices *devices;
	const struct ms_stats *stats;
	const struct ms_telemetry *telemetry;
	const struct ms_arccheck *arcs;
	struct ms_tracker *tracker; /* not const: a query applies the writes still in flight */
};

/* The whole report; the caller puts the reference. */
struct json_object *ms_report__json(const struct ms_view *s);

/* The terminal report (fits in 100 columns). */
void ms_report__print_text(const struct ms_view *s, FILE *out);

/*
 * Chrome trace-event JSON for Perfetto / chrome://tracing: device states as
 * slices on one track per device, pending bytes and dirty rate as counters.
 * 0, or -errno with err naming the file.
 */
int ms_report__perfetto(const struct ms_view *s, const char *path, char *err, size_t errlen);

/*
 * The convergence plot as SVG: one panel per device with pending bytes over
 * time, the threshold and the switchover.  0, or -errno with err naming the file.
 */
int ms_report__svg(const struct ms_view *s, const char *path, char *err, size_t errlen);

struct ms_whatif_result;
/*
 * The what-if report (docs/telemetry.md, "What if"): the predicted switchover
 * beside the recorded one, per device the downtime and its split.
 */
struct json_object *ms_report__whatif(const struct ms_view *s, const struct ms_whatif_result *r);
/* The same as text. */
void ms_report__print_whatif(struct json_object *whatif, FILE *out);

/*
 * The device's "dirty" object (docs/dirty-tracking.md), or NULL if the tracker
 * never heard of it.  With session pages kept, a non-zero page_size adds
 * "converted": the distinct pages counted at that page size.
 */
struct json_object *ms_report__dirty_json(struct ms_tracker *t, uint32_t dev, uint64_t page_size);

/* Add "dirty" to each device entry of report and the tracker-wide "dirty_tracker". */
void ms_report__tracker_json(struct ms_tracker *t, struct json_object *report);

/*
 * The DIRTY section of the terminal report: one device (only_dev) or all
 * (MS_DEV_NONE, with the tracker-wide lines), with or without the column
 * header; devs names the devices.
 */
void ms_report__print_dirty(struct ms_tracker *t, const struct ms_devices *devs, FILE *out,
			    uint32_t only_dev, bool header);

/* The report's devices[] entry for a device id, or NULL. */
struct json_object *ms_report__device(struct json_object *report, uint32_t id);

#endif
