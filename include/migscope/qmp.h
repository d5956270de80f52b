/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A QMP client: QEMU's monitor over a unix socket.
 *
 * Connecting is synchronous (greeting, qmp_capabilities, the `events`
 * migration capability when allowed, the limits to set, then
 * query-migrate-parameters and query-migrate) so the watch knows the limits
 * and whether a migration is already running before its session begins.
 * After ms_qmp__start() it runs on the event loop: MIGRATION,
 * MIGRATION_PASS, STOP, RESUME and VFIO_MIGRATION events and a query-migrate
 * every interval become records.  When the migration completes, fails or is
 * cancelled it asks once more (the final downtime is only in that reply),
 * waits o->drain_ns for the other sources to catch up and stops the loop.
 *
 * Messages are parsed with json-c's incremental tokener, so a reply split
 * over reads, or several in one read, are all fine; anything that is not a
 * JSON object ends the session with a message naming the byte.
 */
#ifndef MIGSCOPE_QMP_H
#define MIGSCOPE_QMP_H

#include <stddef.h>
#include <stdint.h>

#include <migscope/stream.h>

struct json_object;
struct ms_loop;
struct ms_qmp;

struct ms_qmp_opts {
	const char *path;		/* the QMP unix socket */
	uint64_t interval_ns;		/* query-migrate polling (default 100 ms) */
	uint64_t slow_ns;		/* warn when a reply takes this long (default 2 s) */
	uint64_t timeout_ns;		/* give up when a reply takes this long (default 30 s) */
	uint64_t drain_ns;		/* after the end, let the log catch up (default 300 ms) */
	int set_events;			/* switch on the `events` migration capability */
	uint64_t set_downtime_limit_ms; /* migrate-set-parameters downtime-limit, 0 = leave */
	uint64_t set_bandwidth;		/* migrate-set-parameters max-bandwidth (B/s), 0 = leave */
	int vfio_events;		/* VFIO_MIGRATION events become device state arcs */
	/*
	 * ram.remaining becomes RAM's MS_EV_QEMU_PENDING.  The watch asks for it
	 * only without a trace log: sampled between QEMU's iterations it reads 0
	 * after every pass, so it would saw-tooth the log's series of pending
	 * bytes after each bitmap sync, which is what QEMU decides on.
	 */
	int ram_pending;
	/*
	 * Which QEMU: MS_ROLE_SOURCE (0), or MS_ROLE_DEST for the destination
	 * (watch --dst-qmp): its MIGRATION status and RESUME carry the
	 * destination's qemu-vm device id, it publishes no query-migrate
	 * samples, passes or limits (the source's are the migration's), its end
	 * does not end the watch, and when it goes away (EOF, an error, no
	 * reply) that is a loss of its records (MS_EV_LOSS of its device, one
	 * warning), not the end of the watch.
	 */
	uint16_t side;
	/*
	 * Its trace log says when the VM runs (the destination's runstate_set to
	 * running): STOP and RESUME are not published.  QEMU sends RESUME just
	 * before it sets the run state, so taking both would make the resume
	 * depend on which was read; the log is what import has too.
	 */
	int runstate_from_trace;
	/*
	 * Do not sample the guest's dirty rate (watch --no-dirty-rate).  Else
	 * the source's client asks query-kvm while connecting and, under KVM
	 * only, keeps one calc-dirty-rate window in flight while the migration
	 * is active (QEMU >= 8.2: 250 and 1000 ms in turn, before: 1 s), reads
	 * each with query-dirty-rate once it has elapsed and publishes it as
	 * MS_EV_DIRTY_RATE; MS_EV_DIRTY_RATE_STATE says whether it samples and
	 * if not why.  A transcript's calc-dirty-rate / query-dirty-rate
	 * exchange becomes the same records.
	 */
	int no_dirty_rate;
	void (*warn)(const char *msg); /* one line, without newline; NULL = silent */
};

/* What connecting found out. */
struct ms_qmp_info {
	char version[32];	    /* "7.2.22" */
	int pid;		    /* QEMU's pid (the socket's peer), or 0 */
	uint64_t downtime_limit_ms; /* 0 when QEMU did not say */
	uint64_t max_bandwidth;	    /* bytes per second, 0 when QEMU did not say */
	int events_on;		    /* MIGRATION events will arrive */
	uint32_t status;	    /* enum ms_mig_status when connected */
	uint64_t total_time_ms;	    /* of the migration running when connected, else 0 */
};

struct ms_qmp *ms_qmp__new(struct ms_stream *s, const struct ms_qmp_opts *o);

/* Connect and handshake (bounded by o->timeout_ns).  0 or -errno with err filled. */
int ms_qmp__connect(struct ms_qmp *q, char *err, size_t errlen);

/*
 * The same handshake over fd, a stream some transport (libvirt's monitor
 * passthrough, src/sources/libvirt.c) carries QMP on; the client owns fd from
 * here and closes it.
 */
int ms_qmp__connect_fd(struct ms_qmp *q, int fd, char *err, size_t errlen);

/* Use an already connected fd and skip the handshake (tests, fuzzing). */
void ms_qmp__attach(struct ms_qmp *q, int fd);

/*
 * A recorded conversation instead of a socket (migscope import): after
 * ms_qmp__transcript, each message a client sent is given to ms_qmp__sent
 * and each QEMU sent to ms_qmp__received, in the transcript's order, with
 * the stream time it was sent or received.  Replies are matched to the
 * commands in order (QMP answers in order; the recorder's ids are its own),
 * so query-migrate, query-migrate-parameters and migrate-set-parameters
 * replies become what they would have live; other commands' replies are
 * counted as ignored, and an error reply is counted, never fatal.  It starts
 * as connecting (the limits and status are learnt, events kept for later)
 * until ms_qmp__connected, where the session has begun.
 */
void ms_qmp__transcript(struct ms_qmp *q);
/* 0, or -EINVAL when msg is not a command. */
int ms_qmp__sent(struct ms_qmp *q, struct json_object *msg, uint64_t now_ns);
/* 0 or -errno (see ms_qmp__error), as ms_qmp__feed. */
int ms_qmp__received(struct ms_qmp *q, struct json_object *msg, uint64_t now_ns);
void ms_qmp__connected(struct ms_qmp *q, uint64_t now_ns);

/* One line of a transcript, read. */
struct ms_qmp_line {
	struct json_object *msg; /* the QMP message; a reference the caller puts */
	int sent;		 /* a command, sent to QEMU; else a reply or event */
	uint64_t wall_ns;	 /* "t" */
	const char *why;	 /* what is wrong with a bad line (a static string) */
};

/*
 * A transcript line {"dir": D, "t": EPOCH_SECONDS, "msg": {...}}, D "send"
 * or "recv" (which must agree with the message), or "in" or "out" (of either
 * perspective: the message says which way it went, a command has
 * "execute").  0, or -EINVAL (-ENOMEM) with out->why.
 */
int ms_qmp_transcript_line(const char *line, size_t len, struct ms_qmp_line *out);

const struct ms_qmp_info *ms_qmp__info(const struct ms_qmp *q);

/*
 * Change opts' vfio_events and ram_pending before ms_qmp__start: the watch
 * learns whether QEMU's USDT probes report those only once it has connected
 * (the socket's peer is the QEMU process whose binary it looks at).
 */
void ms_qmp__set_stand_ins(struct ms_qmp *q, int vfio_events, int ram_pending);

/* Stream time of a QEMU wall-clock time: ts = wall_ns + wall_to_mono_ns (set after begin). */
void ms_qmp__set_clock(struct ms_qmp *q, int64_t wall_to_mono_ns);

/*
 * Run on loop: handle what arrived while connecting, poll now and every
 * interval.  0 or -errno with err filled.
 */
int ms_qmp__start(struct ms_qmp *q, struct ms_loop *loop, char *err, size_t errlen);

/* Bytes from QEMU, received at now_ns (stream time).  0 or -errno (see ms_qmp__error). */
int ms_qmp__feed(struct ms_qmp *q, const char *buf, size_t len, uint64_t now_ns);

/*
 * Send one query-migrate unless one is outstanding; while a migration runs,
 * also re-read the migration parameters (a change becomes MS_EV_CONFIG).
 * 0 or -errno.
 */
int ms_qmp__poll(struct ms_qmp *q, uint64_t now_ns);

/* The migration ended (completed, failed, cancelled) and its final numbers are in. */
int ms_qmp__ended(const struct ms_qmp *q);

/* The last status seen (enum ms_mig_status). */
uint32_t ms_qmp__status(const struct ms_qmp *q);

/*
 * The source's migration has ended and the loop with it; the destination's
 * has not (it may still be loading, its resume to come).  1: run the loop
 * again (bounded), the destination's end stops it; 0: nothing to wait for.
 */
int ms_qmp__linger(struct ms_qmp *q);

/* Why the client stopped, "" if it did not fail. */
const char *ms_qmp__error(const struct ms_qmp *q);

/* Publish MS_EV_SOURCE_STATS (messages used, ignored, errors) at ts_ns.  Call once. */
void ms_qmp__close(struct ms_qmp *q, uint64_t ts_ns);

void ms_qmp__free(struct ms_qmp *q);

#endif
