/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The live progress line: on a terminal, during a long run, one line that is
 * redrawn in place with each device's state, pending bytes and their rate of
 * change, and the VM's remaining RAM.  It reads what the telemetry consumer
 * kept, so it is subscribed after it.  It is the one consumer that reads a
 * clock, only to redraw at most five times a second; it writes nothing any
 * report contains.
 */
#ifndef MIGSCOPE_PROGRESS_H
#define MIGSCOPE_PROGRESS_H

#include <stdio.h>

#include <migscope/bus.h>
#include <migscope/devices.h>
#include <migscope/telemetry.h>

struct ms_progress {
	FILE *out;
	const struct ms_devices *devices;
	const struct ms_telemetry *telemetry;
	uint64_t last_draw_ns; /* CLOCK_MONOTONIC of the last redraw */
	uint64_t now_ts;       /* the stream's latest time */
	int drawn;	       /* a line is on the terminal */
	int width;
};

/* Whether to show it: out is a terminal and --quiet was not given. */
int ms_progress__wanted(FILE *out, int quiet);

void ms_progress__init(struct ms_progress *p, FILE *out, const struct ms_devices *d,
		       const struct ms_telemetry *t);
int ms_progress__subscribe(struct ms_progress *p, struct ms_bus *bus);

/* The line as it would be drawn now (for tests); returns buf. */
const char *ms_progress__line(const struct ms_progress *p, char *buf, size_t len);

/* Erase the line so the report starts on a clean one. */
void ms_progress__clear(struct ms_progress *p);

#endif
