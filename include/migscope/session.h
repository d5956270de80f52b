/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A session, the composition root: one event stream and every consumer of it.
 *
 * Live commands (profile, watch, synth) create a session, hand its stream
 * (&s->stream) to their sources and device drivers, which publish into it,
 * and ask the report layer to render what the consumers found (s->view);
 * replay creates the same session and lets the capture reader publish into
 * its bus.  The consumers are wired in one place, ms_session__new(), so live
 * and replay cannot differ.  Nothing below this layer includes this header
 * (docs/architecture.md).
 */
#ifndef MIGSCOPE_SESSION_H
#define MIGSCOPE_SESSION_H

#include <stdint.h>
#include <stdio.h>

#include <migscope/arccheck.h>
#include <migscope/bus.h>
#include <migscope/capture.h>
#include <migscope/devices.h>
#include <migscope/host_info.h>
#include <migscope/progress.h>
#include <migscope/report.h>
#include <migscope/stats.h>
#include <migscope/stream.h>
#include <migscope/telemetry.h>
#include <migscope/tracker.h>

struct ms_session {
	struct ms_bus bus;
	struct ms_host_info info;

	/* consumers */
	struct ms_devices devices;
	struct ms_stats stats;
	struct ms_telemetry telemetry;
	struct ms_arccheck arcs;	/* the kernel's arcs against the driven ones */
	struct ms_progress progress; /* drawn only when opts->progress was given */
	struct ms_tracker *tracker;	/* per-device dirty pages */
	struct ms_capture_writer *rec; /* NULL unless recording */

	struct ms_stream stream; /* what sources and devices publish into */
	struct ms_view view;	 /* what reports read: the consumers above */
};

struct ms_session_opts {
	const char *record_path;	  /* write a capture here, or NULL */
	struct ms_capture_opts record;	  /* --record-sync, --record-max-size */
	FILE *progress;			  /* draw the live progress line here, or NULL */
	const struct ms_host_info *info; /* replay: the capture's; live: NULL = this host */
	const char *vm;			  /* the VM's name (a libvirt domain): info key "vm" */
	int argc;			  /* live: command line for the info block */
	char **argv;
};

struct ms_session *ms_session__new(const struct ms_session_opts *opts, char *err, size_t errlen);

/*
 * Publish MS_EV_SESSION_END at ts_ns (the sources' clock, which for a simulated
 * device is virtual) and close the capture.  0 or -errno with err filled.
 */
int ms_session__end(struct ms_session *s, uint64_t ts_ns, int32_t status, char *err,
		    size_t errlen);

/*
 * The same for a session that failed: status (negative errno) and why, the
 * one-line error the command prints, go into the end record, so the report
 * says what ended the run (session.error).  why is cut at
 * MS_SESSION_WHY_LEN bytes.
 */
int ms_session__fail(struct ms_session *s, uint64_t ts_ns, int32_t status, const char *why,
		     char *err, size_t errlen);

/* Close the capture without an end record (replay). 0 or -errno. */
int ms_session__close_capture(struct ms_session *s, char *err, size_t errlen);

void ms_session__free(struct ms_session *s);

#endif
