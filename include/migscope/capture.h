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

/*
 * Create (or truncate) path with mode 0600: captures hold guest addresses.
 * Returns NULL with err filled on failure.
 */
struct ms_capture_writer *ms_capture_writer__open(const char *path,
						  const struct ms_host_info *info, char *err,
						  size_t errlen);

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
};

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

void ms_capture_reader__close(struct ms_capture_reader *r);

/* CRC-32C (Castagnoli), the chunk checksum. */
uint32_t ms_crc32c(uint32_t crc, const void *buf, size_t len);

#endif
