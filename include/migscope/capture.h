/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Capture files: a session's event stream on disk (docs/capture-format.md).
 *
 * record = the writer subscribed to every record on the bus;
 * replay = the reader publishing every record back onto a bus.
 * Because both ends are the same stream, a replay feeds the consumers exactly
 * what they saw live.
 */
#ifndef MIGSCOPE_CAPTURE_H
#define MIGSCOPE_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

#include <migscope/bus.h>
#include <migscope/host_info.h>

#define MS_CAPTURE_MAGIC "MSCAPTUR"
#define MS_CAPTURE_VERSION 1
#define MS_CHUNK_MAGIC 0x4b43534du /* "MSCK" */
#define MS_END_MAGIC 0x4e45534du   /* "MSEN" */

/* Room for a one-line error naming the file, the byte offset and the problem. */
#define MS_ERR_LEN 512

struct ms_capture_writer;

/* Default --record-sync: a crash loses at most this much of the stream. */
#define MS_CAPTURE_SYNC_NS 1000000000ull

struct ms_capture_opts {
	/*
	 * Every record is on disk (written and fdatasync'ed) at most this long
	 * after it was published, as long as records keep coming; 0: the default
	 * MS_CAPTURE_SYNC_NS.
	 */
	uint64_t sync_ns;
	/*
	 * Rotate before a part would grow past this many bytes: FILE, FILE.1,
	 * FILE.2, ... each a complete capture, linked by the info keys
	 * capture_id and part, replayed as one.  0: one file, no limit.
	 */
	uint64_t max_size;
};

/*
 * Create (or truncate) path with mode 0600: captures hold guest addresses.
 * opts may be NULL (the defaults).  Returns NULL with err filled on failure.
 */
struct ms_capture_writer *ms_capture_writer__open(const char *path,
						  const struct ms_host_info *info,
						  const struct ms_capture_opts *opts, char *err,
						  size_t errlen);

/*
 * Sync what is buffered if its oldest record is sync_ns old: for loops that
 * go idle, so the window holds when records stop coming.  NULL is a no-op.
 */
void ms_capture_writer__tick(struct ms_capture_writer *w);

/* Parts written so far (1 without rotation). */
unsigned int ms_capture_writer__parts(const struct ms_capture_writer *w);

/* A bus subscriber (subscribe it with MS_EV_ALL). */
void ms_capture_writer__on_event(void *writer, const struct ms_event_hdr *ev);

/* Write the last chunk and the end marker, fsync, close. 0 or -errno (err filled). */
int ms_capture_writer__close(struct ms_capture_writer *w, char *err, size_t errlen);

/* First write error, if any, so a session can stop early; 0 when fine. */
int ms_capture_writer__error(const struct ms_capture_writer *w);

struct ms_capture_reader;

struct ms_replay_stats {
	uint64_t events;  /* records published */
	uint64_t unknown; /* records of unknown type, skipped */
	uint64_t chunks;
	uint64_t bytes;
	uint64_t first_ts, last_ts; /* stream time of the first and last record published */
	uint64_t valid_end;	    /* offset just past the last intact chunk (of the last part) */
	unsigned int parts;	    /* files replayed (rotation) */
};

/* ms_capture_reader__replay_salvage(): the file was cut short, its valid prefix replayed. */
#define MS_CAPTURE_SALVAGED 1

/* Map and check the file header; NULL with err filled on failure. */
struct ms_capture_reader *ms_capture_reader__open(const char *path, char *err, size_t errlen);

/* Same on a buffer the caller keeps alive (fuzzing, tests); name is used in errors. */
struct ms_capture_reader *ms_capture_reader__open_mem(const void *buf, size_t len,
						      const char *name, char *err, size_t errlen);

const struct ms_host_info *ms_capture_reader__info(const struct ms_capture_reader *r);

/*
 * Publish every record on bus, checking each chunk before any of its records
 * is published.  Returns 0, or -EINVAL with err naming the offset and problem
 * (records of earlier, intact chunks have been published by then).
 */
int ms_capture_reader__replay(struct ms_capture_reader *r, struct ms_bus *bus,
			      struct ms_replay_stats *stats, char *err, size_t errlen);

/*
 * The same, but a capture cut short (a writer killed, a disk full, a host
 * crash leaving zeros) replays its valid prefix and returns
 * MS_CAPTURE_SALVAGED with err naming the offset and what was found there.
 * It is a cut, not damage, only when no intact chunk follows that offset:
 * damage inside the prefix stays -EINVAL.
 */
int ms_capture_reader__replay_salvage(struct ms_capture_reader *r, struct ms_bus *bus,
				      struct ms_replay_stats *stats, char *err, size_t errlen);

/*
 * Replay r (opened from path) and, when it is part of a rotated capture, the
 * parts after it (path.1, path.2, ... of the same capture_id) as one stream.
 * salvage: as ms_capture_reader__replay_salvage() for the last part.  Returns
 * 0, MS_CAPTURE_SALVAGED or -EINVAL; stats add up over the parts.
 */
int ms_capture_reader__replay_parts(struct ms_capture_reader *r, const char *path,
				    struct ms_bus *bus, int salvage, struct ms_replay_stats *stats,
				    char *err, size_t errlen);

void ms_capture_reader__close(struct ms_capture_reader *r);

/*
 * migscope capture repair: write in's valid prefix to out with a proper end
 * marker.  Damage inside the prefix is refused unless force (then the records
 * before it are kept).  Returns 0 (st says what was kept; *was_complete when
 * nothing had to be cut) or -errno with err filled.
 */
int ms_capture__repair(const char *in, const char *out, int force, struct ms_replay_stats *st,
		       int *was_complete, char *err, size_t errlen);

/* CRC-32C (Castagnoli), the chunk checksum. */
uint32_t ms_crc32c(uint32_t crc, const void *buf, size_t len);

#endif
