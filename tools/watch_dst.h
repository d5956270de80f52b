/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * watch --dst-qmp SOCK [--dst-qemu-log FILE]: the destination QEMU beside the
 * source.  The same QMP client and trace-log reader as the source's, tagged
 * as the destination (their VM-level records carry the destination's
 * qemu-vm device), so the report can tell how much of the downtime was the
 * destination loading and resuming.
 */
#ifndef MIGSCOPE_WATCH_DST_H
#define MIGSCOPE_WATCH_DST_H

#include <stdint.h>

#include <migscope/stream.h>

struct ms_loop;
struct ms_qmp;
struct ms_qemu_trace;

struct watch_dst {
	const char *qmp_path; /* NULL: the destination is not watched */
	const char *log_path;
	struct ms_qmp *qmp;
	struct ms_qemu_trace *trace;
};

/*
 * Connect to the destination's QMP (before the session begins, so a socket
 * nobody serves is an error before anything else).  0, or 1 when it failed
 * and said why in one line.
 */
int watch_dst__connect(struct watch_dst *d, struct ms_stream *s, uint64_t interval_ns,
		       int set_events);

/*
 * Once the session has begun: its clock, the trace log (when given, records
 * stamped before not_before_wall_ns skipped), and the client on loop.  0, or
 * 1 when it failed and said why in one line.
 */
int watch_dst__start(struct watch_dst *d, struct ms_stream *s, struct ms_loop *loop,
		     int64_t wall_to_mono, uint64_t not_before_wall_ns,
		     const char *const *vfio_devices);

/*
 * The source has ended (the loop returned 0): give a destination whose
 * migration has not ended up to 2 s more on loop, until it has.
 */
void watch_dst__linger(struct watch_dst *d, struct ms_loop *loop);

/* Read what the log holds, publish the sources' totals at ts. */
void watch_dst__close(struct watch_dst *d, uint64_t ts);

void watch_dst__free(struct watch_dst *d);

#endif
