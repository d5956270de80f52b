/* SPDX-License-Identifier: GPL-2.0-only */
/* On-disk structures of a capture file; docs/capture-format.md explains them. */
#ifndef MIGSCOPE_CAPTURE_FORMAT_H
#define MIGSCOPE_CAPTURE_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include <migscope/capture.h>

/* Every record is padded to 8 bytes so the next header stays aligned. */
#define MS_REC_SIZE(len) ((sizeof(struct ms_event_hdr) + (size_t)(len) + 7) & ~(size_t)7)

/* Largest chunk payload a reader accepts: bounds memory on a lying length. */
#define MS_CHUNK_MAX (16u << 20)

struct ms_file_hdr {
	char magic[8];	   /* "MSCAPTUR" */
	uint16_t version;  /* MS_CAPTURE_VERSION */
	uint16_t hdr_len;  /* sizeof(struct ms_file_hdr); later versions may grow it */
	uint32_t info_len; /* bytes of info block after the header, multiple of 8 */
	uint32_t info_crc; /* CRC-32C of the info block */
	uint32_t flags;	   /* 0 */
	uint32_t hdr_crc;  /* CRC-32C of the bytes before this field */
	uint32_t reserved;
};

struct ms_chunk_hdr {
	uint32_t magic;	    /* MS_CHUNK_MAGIC, or MS_END_MAGIC for the last one */
	uint32_t len;	    /* payload bytes after this header, multiple of 8 */
	uint32_t nr_events; /* records in the payload */
	uint32_t crc;	    /* CRC-32C of len, nr_events and the payload */
};

struct ms_end_payload {
	uint64_t total_events;
};

static inline uint32_t ms_chunk_crc(const struct ms_chunk_hdr *ch, const void *payload)
{
	uint32_t crc = ms_crc32c(0, &ch->len, 8);

	return ms_crc32c(crc, payload, ch->len);
}

#endif
