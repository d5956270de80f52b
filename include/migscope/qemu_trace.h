/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * QEMU's trace log (the "log" trace backend, which Debian's QEMU is built
 * with): lines written by
 *
 *     qemu-system-x86_64 -D FILE -msg timestamp=on -trace enable=...
 *
 * look like "tid@sec.usec:event args" (QEMU <= 10.0) or
 * "2025-09-10T14:05:23.123456Z event args" (10.1 and later).  This source
 * turns the migration, savevm/loadvm, vmstate_downtime and vfio events into
 * records; the formats of every QEMU version are in one table in
 * src/sources/qemu_trace.c.  A line that is not a trace line, an event the
 * table does not know, or a known event whose arguments match none of its
 * formats is counted and skipped, never fatal.
 */
#ifndef MIGSCOPE_QEMU_TRACE_H
#define MIGSCOPE_QEMU_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include <migscope/stream.h>

struct ms_loop;
struct ms_qemu_trace;

struct ms_qemu_trace_opts {
	/*
	 * Wall clock to stream time: ts = wall_ns + wall_to_mono_ns.  The watch
	 * command takes it from the session's clock pair (docs/clock-alignment.md).
	 */
	int64_t wall_to_mono_ns;
	/* Lines stamped before this wall time are an earlier migration: skipped (0 = keep all). */
	uint64_t not_before_wall_ns;
	/* Only these vfio device names (NULL-terminated), or NULL for every device. */
	const char *const *vfio_devices;
	/* The events come from QEMU's USDT probes (ms_qemu_trace__probe): the records say so. */
	int usdt;
	/*
	 * Whose log: MS_ROLE_SOURCE (0) or MS_ROLE_DEST.  The destination's
	 * runstate_set to running is its resume (a runstate record of the
	 * destination's qemu-vm device); its loadvm sections are destination
	 * sections whichever side is given.
	 */
	uint16_t side;
};

/* What the source did with the lines it was given. */
struct ms_qemu_trace_counts {
	uint64_t lines;	    /* complete lines seen */
	uint64_t accepted;  /* known events, turned into records (or deliberately none) */
	uint64_t not_trace; /* no trace-line prefix: QEMU's own messages, blank lines */
	uint64_t unknown;   /* a trace line of an event the table does not know */
	uint64_t malformed; /* a known event whose arguments match none of its formats */
	uint64_t stale;	    /* stamped before not_before_wall_ns */
	uint64_t records;   /* records published */
};

struct ms_qemu_trace *ms_qemu_trace__new(struct ms_stream *s, const struct ms_qemu_trace_opts *o);

/* One line, without its newline.  Never fails: what it cannot use it counts. */
void ms_qemu_trace__line(struct ms_qemu_trace *t, const char *line, size_t len);

/*
 * The wall-clock stamp of a trace line (either prefix), without using it:
 * 0 with *wall_ns set, or -1 when the line has none.  migscope import merges
 * several logs and a QMP transcript in time order with it.
 */
int ms_qemu_trace_line_time(const char *line, size_t len, uint64_t *wall_ns);

/*
 * One hit of QEMU's USDT probe named event (the dtrace trace backend names
 * its probes like the trace events), at ts_ns in stream time: its arguments
 * in the order of the event's format, strs[i] the text of a string argument
 * or NULL for a number.  Matched against the event's rows whose conversions
 * agree in count and kind, and handled like a line.  The BPF collectors'
 * ms_usdt source feeds it.
 */
void ms_qemu_trace__probe(struct ms_qemu_trace *t, uint64_t ts_ns, const char *event,
			  unsigned int nargs, const int64_t *args, const char *const *strs);

/* Bytes of the log as they arrive; lines are split here and a partial last line kept. */
void ms_qemu_trace__feed(struct ms_qemu_trace *t, const char *buf, size_t len);

/*
 * Follow path: read what it holds, then what is appended (inotify on loop).
 * A truncated or replaced file is read again from its start.  0 or -errno
 * with err filled ("qemu log FILE: ...").
 */
int ms_qemu_trace__follow(struct ms_qemu_trace *t, const char *path, struct ms_loop *loop,
			  char *err, size_t errlen);

/* Read whatever the followed file holds now (the watch does this before it ends). */
void ms_qemu_trace__drain(struct ms_qemu_trace *t);

/*
 * End of input at ts_ns: a partial last line is used, open arcs are closed,
 * and MS_EV_SOURCE_STATS is published.  Call once.
 */
void ms_qemu_trace__close(struct ms_qemu_trace *t, uint64_t ts_ns);

const struct ms_qemu_trace_counts *ms_qemu_trace__counts(const struct ms_qemu_trace *t);

void ms_qemu_trace__free(struct ms_qemu_trace *t);

/*
 * The -trace options to give QEMU for everything this source reads, one
 * "enable=PATTERN" per element, NULL-terminated (scripts/qemu-trace-args.sh
 * prints them).
 */
extern const char *const ms_qemu_trace_enable[];

/*
 * vmstate_downtime_checkpoint names, in the order MS_EV_QEMU_DOWNTIME's
 * checkpoint field indexes them; an unknown name is MS_QEMU_CHECKPOINT_OTHER.
 */
#define MS_QEMU_CHECKPOINT_OTHER 0xffffffffu
const char *ms_qemu_checkpoint_name(uint32_t idx);
uint32_t ms_qemu_checkpoint_index(const char *name, size_t len);

#endif
