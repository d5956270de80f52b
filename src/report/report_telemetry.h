/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The telemetry parts of the reports (inside src/report only): the migration
 * object and each device's telemetry in the JSON report, the device table,
 * and the number formats they share with the Perfetto and SVG writers.
 */
#ifndef MIGSCOPE_REPORT_TELEMETRY_H
#define MIGSCOPE_REPORT_TELEMETRY_H

#include <stdio.h>

#include <json-c/json.h>

#include <migscope/qemu.h>
#include <migscope/report.h>
#include <migscope/telemetry.h>

/* "migration": the VM's downtime, total time, limits and convergence. */
struct json_object *ms_report__migration_json(const struct ms_tm_report *r,
					      const struct ms_view *s);

/* "downtime_split": the VM's downtime by side, NULL without the destination (downtime_split.c). */
struct json_object *ms_report__split_json(const struct ms_tm_report *r, const struct ms_view *s);

/* "destination": its resume and whether it went away, NULL when it was not watched. */
struct json_object *ms_report__destination_json(const struct ms_tm_report *r);

/* The table's line of the same, into buf: 0 (nothing written) without the destination. */
int ms_report__split_line(const struct ms_tm_report *r, char *buf, size_t len);

/* Add the telemetry keys of device id to its devices[] entry o. */
void ms_report__device_telemetry(const struct ms_tm_report *r, const struct ms_view *s, uint32_t id,
				 struct json_object *o);

/* The device table, the VM line and one detail block per device (100 columns). */
void ms_report__print_table(const struct ms_tm_report *r, const struct ms_view *s, FILE *out);

/* Writes one report file from the session and its analysis. */
typedef void (*ms_report_writer)(FILE *f, const struct ms_view *s, const struct ms_tm_report *r);

/* Analyze s and write path with fn.  0, or -errno with err naming the file. */
int ms_report__write_file(const struct ms_view *s, const char *path, ms_report_writer fn, char *err,
			  size_t errlen);

/* Milliseconds since the session start of stream time ts. */
static inline double ms_report__rel_ms(const struct ms_tm_report *r, uint64_t ts)
{
	return ts >= r->t0_ns ? (double)(ts - r->t0_ns) / 1e6 : 0.0;
}

/* "1023.9 MiB", "512 B": at most 10 characters. */
const char *ms_report__size(uint64_t bytes, char *buf, size_t len);

/* "999.9 ms", "12.34 s": at most 9 characters. */
const char *ms_report__dur(uint64_t ns, char *buf, size_t len);

#endif
