/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A session: one event stream and every consumer of it.
 *
 * Live commands (profile, watch, synth) create a session, let their sources
 * publish into it and ask it for the report; replay creates the same session
 * and lets the capture reader publish into it.  The consumers are wired in
 * one place, ms_session__new(), so live and replay cannot differ.
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
#include <migscope/stats.h>
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

	uint32_t next_dev_id;
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

static inline void ms_session__publish(struct ms_session *s, const struct ms_event_hdr *ev)
{
	ms_bus__publish(&s->bus, ev);
}

/*
 * Publish MS_EV_SESSION at ts_ns (stream time) carrying the real monotonic and
 * wall clocks read back to back, and MS_EV_CONFIG when any limit is set.
 */
void ms_session__begin(struct ms_session *s, uint64_t ts_ns, uint32_t source,
		       uint64_t downtime_limit_ns,
		       uint64_t bandwidth_bps, uint64_t page_size);

/*
 * The same with the clock pair given: a session rebuilt from records of a
 * past run (migscope import) begins at the wall time those records say.
 */
void ms_session__begin_at(struct ms_session *s, uint64_t ts_ns, uint64_t mono_ns,
			  uint64_t realtime_ns, uint32_t source, uint64_t downtime_limit_ns,
			  uint64_t bandwidth_bps, uint64_t page_size);

/* Give a device an id and publish its MS_EV_DEV_ADD; returns the id. */
uint32_t ms_session__add_device(struct ms_session *s, uint64_t ts_ns, uint16_t kind,
				uint16_t role, uint32_t caps, uint32_t peer, const char *name);

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

/* CLOCK_MONOTONIC now, in nanoseconds. */
uint64_t ms_now_ns(void);

#endif
