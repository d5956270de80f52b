/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * --events-json FILE|-: the migration's history as it happens, one JSON
 * object a line (docs/report-schema.md, "The event lines"), for log
 * pipelines (Fluent Bit, an OpenTelemetry collector).  A consumer of the
 * bus like any other, so watch, profile and replay write the same lines for
 * the same records; each line is flushed as it is written.
 */
#ifndef MIGSCOPE_EVENTS_JSON_H
#define MIGSCOPE_EVENTS_JSON_H

#include <stdio.h>

#include <migscope/bus.h>
#include <migscope/devices.h>
#include <migscope/telemetry.h>

#define MS_EVENTS_JSON_VERSION 1

struct ms_events_json {
	FILE *out;
	const struct ms_devices *devices;
	const struct ms_telemetry *telemetry; /* the verdicts are its analysis */
	uint64_t t0_ns;			      /* the stream's first record */
	int have_t0;
	uint64_t wall_ts_ns, wall_realtime_ns; /* the session record's clock pair */
	int have_wall;
	uint32_t last_status; /* the last status written, UINT32_MAX: none */
	/* the verdicts last written: [0] the VM, [1 + id] a device; -1 none yet, -2 null */
	int *verdict;
	uint32_t nr_verdict;
	uint64_t lines;
	int err; /* a write failed: -errno, and nothing more is written */
};

/*
 * Write to out (not closed here).  Subscribe after the telemetry consumer:
 * verdicts are judged on what it has kept, including the record at hand.
 */
void ms_events_json__init(struct ms_events_json *e, FILE *out, const struct ms_devices *d,
			  const struct ms_telemetry *t);
int ms_events_json__subscribe(struct ms_events_json *e, struct ms_bus *bus);
void ms_events_json__free(struct ms_events_json *e);

#endif
