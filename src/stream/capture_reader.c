// SPDX-License-Identifier: GPL-2.0-only
/*
 * Capture reader: checks a capture chunk by chunk and publishes its records.
 *
 * Nothing from the file is trusted: every length is checked against what is
 * left before it is used, every chunk's checksum is verified before any of
 * its records reaches a consumer, and every error names the byte offset.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <migscope/capture.h>
#include "capture_format.h"

/*
 * Fuzzing builds accept bad chunk checksums, so the fuzzer's mutations reach
 * the record checks and the consumers instead of stopping at the checksum.
 */
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
#define MS_FUZZING 1
#else
#define MS_FUZZING 0
#endif

struct ms_capture_reader {
	const unsigned char *data;
	size_t size;
	size_t body; /* offset of the first chunk */
	void *map;   /* mmap of a file, or NULL */
	void *copy;  /* aligned copy of a caller's buffer, or NULL */
	char name[256];
	struct ms_host_info info;
};

static int fail(const struct ms_capture_reader *r, char *err, size_t errlen, size_t off,
		const char *fmt, ...)
{
	char msg[MS_ERR_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "%s: offset %zu: %s", r->name, off, msg);
	return -EINVAL;
}

static int parse_info(struct ms_capture_reader *r, const unsigned char *p, size_t len,
		      size_t base, char *err, size_t errlen)
{
	size_t off = 0;

	while (off + 4 <= len) {
		uint16_t kl, vl;
		char key[MS_INFO_KEY_MAX], val[MS_INFO_VAL_MAX];

		memcpy(&kl, p + off, 2);
		memcpy(&vl, p + off + 2, 2);
		if (!kl && !vl)
			break; /* the padding */
		if (off + 4 + (size_t)kl + vl > len)
			return fail(r, err, errlen, base + off,
				    "info entry of %u+%u bytes runs past the info block", kl, vl);
		if (!kl || kl >= sizeof(key) || vl >= sizeof(val))
			return fail(r, err, errlen, base + off,
				    "info entry has a bad key or value length (%u, %u)", kl, vl);
		/* a NUL would cut the string short: one reading for every reader */
		if (memchr(p + off + 4, 0, (size_t)kl + vl))
			return fail(r, err, errlen, base + off,
				    "info entry has a NUL byte in its key or value");
		memcpy(key, p + off + 4, kl);
		key[kl] = '\0';
		memcpy(val, p + off + 4 + kl, vl);
		val[vl] = '\0';
		/* more entries than we keep: ignore the rest, they are informational */
		ms_host_info__set(&r->info, key, val);
		off += 4 + (size_t)kl + vl;
	}
	/* padded once, at the end, with zeros to the next multiple of 8 */
	for (size_t i = off; i < len; i++)
		if (p[i] || len - off >= 8)
			return fail(r, err, errlen, base + off,
				    "bad info padding (%zu bytes, want 0 to 7 zero bytes)",
				    len - off);
	return 0;
}

static int check_header(struct ms_capture_reader *r, char *err, size_t errlen)
{
	struct ms_file_hdr fh;

	if (r->size < sizeof(fh))
		return fail(r, err, errlen, 0, "not a migscope capture (only %zu bytes)", r->size);
	memcpy(&fh, r->data, sizeof(fh));
	if (memcmp(fh.magic, MS_CAPTURE_MAGIC, sizeof(fh.magic)))
		return fail(r, err, errlen, 0, "not a migscope capture (bad magic)");
	if (fh.hdr_crc != ms_crc32c(0, &fh, offsetof(struct ms_file_hdr, hdr_crc)))
		return fail(r, err, errlen, offsetof(struct ms_file_hdr, hdr_crc),
			    "file header checksum mismatch");
	if (fh.version != MS_CAPTURE_VERSION)
		return fail(r, err, errlen, offsetof(struct ms_file_hdr, version),
			    "unsupported capture version %u (this build reads version %u)",
			    fh.version, MS_CAPTURE_VERSION);
	if (fh.hdr_len < sizeof(fh) || fh.hdr_len % 8)
		return fail(r, err, errlen, offsetof(struct ms_file_hdr, hdr_len),
			    "bad header length %u", fh.hdr_len);
	/* no flag is defined: one that is set asks for something this reader cannot do */
	if (fh.flags)
		return fail(r, err, errlen, offsetof(struct ms_file_hdr, flags),
			    "unknown header flags 0x%x", fh.flags);
	if (fh.reserved)
		return fail(r, err, errlen, offsetof(struct ms_file_hdr, reserved),
			    "reserved header field is not zero");
	if (fh.info_len % 8 || (uint64_t)fh.hdr_len + fh.info_len > r->size)
		return fail(r, err, errlen, offsetof(struct ms_file_hdr, info_len),
			    "info block of %u bytes runs past the end of the file (%zu bytes)",
			    fh.info_len, r->size);
	if (fh.info_crc != ms_crc32c(0, r->data + fh.hdr_len, fh.info_len))
		return fail(r, err, errlen, fh.hdr_len, "info block checksum mismatch");
	r->body = (size_t)fh.hdr_len + fh.info_len;
	return parse_info(r, r->data + fh.hdr_len, fh.info_len, fh.hdr_len, err, errlen);
}

static struct ms_capture_reader *reader_new(const char *name)
{
	struct ms_capture_reader *r = calloc(1, sizeof(*r));

	if (r)
		snprintf(r->name, sizeof(r->name), "%s", name);
	return r;
}

struct ms_capture_reader *ms_capture_reader__open_mem(const void *buf, size_t len,
						      const char *name, char *err, size_t errlen)
{
	struct ms_capture_reader *r = reader_new(name);

	if (!r) {
		snprintf(err, errlen, "%s: out of memory", name);
		return NULL;
	}
	/* records are read in place: give them 8-byte alignment */
	r->copy = malloc(len ? len : 1);
	if (!r->copy) {
		snprintf(err, errlen, "%s: out of memory for %zu bytes", name, len);
		free(r);
		return NULL;
	}
	memcpy(r->copy, buf, len);
	r->data = r->copy;
	r->size = len;
	if (check_header(r, err, errlen)) {
		ms_capture_reader__close(r);
		return NULL;
	}
	return r;
}

struct ms_capture_reader *ms_capture_reader__open(const char *path, char *err, size_t errlen)
{
	struct ms_capture_reader *r = reader_new(path);
	struct stat st;
	int fd;

	if (!r) {
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: failed to open capture: %s", path, strerror(errno));
		goto fail;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		goto fail;
	}
	r->size = (size_t)st.st_size;
	if (r->size) {
		r->map = mmap(NULL, r->size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (r->map == MAP_FAILED) {
			r->map = NULL;
			snprintf(err, errlen, "%s: failed to map capture: %s", path,
				 strerror(errno));
			close(fd);
			goto fail;
		}
		madvise(r->map, r->size, MADV_SEQUENTIAL);
		r->data = r->map;
	}
	close(fd);
	if (check_header(r, err, errlen))
		goto fail;
	return r;
fail:
	ms_capture_reader__close(r);
	return NULL;
}

const struct ms_host_info *ms_capture_reader__info(const struct ms_capture_reader *r)
{
	return &r->info;
}

/* Check one chunk's records without publishing; returns 0 or fails. */
static int check_records(const struct ms_capture_reader *r, const unsigned char *p, size_t off,
			 const struct ms_chunk_hdr *ch, char *err, size_t errlen)
{
	size_t pos = 0;
	uint32_t n = 0;

	while (pos < ch->len) {
		struct ms_event_hdr h;

		if (ch->len - pos < sizeof(h))
			return fail(r, err, errlen, off + pos, "truncated record header");
		memcpy(&h, p + pos, sizeof(h));
		if (h.type == MS_EV_INVALID)
			return fail(r, err, errlen, off + pos, "record of type 0");
		if (MS_REC_SIZE(h.len) > ch->len - pos)
			return fail(r, err, errlen, off + pos,
				    "record length %u runs past the end of its chunk", h.len);
		pos += MS_REC_SIZE(h.len);
		n++;
	}
	if (n != ch->nr_events)
		return fail(r, err, errlen, off - sizeof(*ch) + offsetof(struct ms_chunk_hdr, nr_events),
			    "chunk says %u records, holds %u", ch->nr_events, n);
	return 0;
}

static void publish_records(const unsigned char *p, uint32_t len, struct ms_bus *bus,
			    struct ms_replay_stats *st)
{
	/*
	 * Room to zero-extend a short payload, so no consumer reads past it.  The
	 * record keeps the length it was written with: a consumer that needs a
	 * field the record does not carry sees that (the tracker widens on a short
	 * record, it never reads the zeros as an address or a source).
	 */
	union {
		struct ms_event_hdr hdr;
		unsigned char bytes[256];
		uint64_t align;
	} pad;
	size_t pos = 0;

	while (pos < len) {
		const struct ms_event_hdr *h = (const void *)(p + pos);
		uint16_t fixed = ms_event_fixed_len(h->type);

		pos += MS_REC_SIZE(h->len);
		if (h->type >= MS_EV__MAX)
			st->unknown++;
		if (h->len < fixed) {
			memset(&pad, 0, sizeof(*h) + fixed);
			memcpy(&pad, h, sizeof(*h) + h->len);
			h = &pad.hdr;
		}
		ms_bus__publish(bus, h);
		st->events++;
	}
}

int ms_capture_reader__replay(struct ms_capture_reader *r, struct ms_bus *bus,
			      struct ms_replay_stats *stats, char *err, size_t errlen)
{
	struct ms_replay_stats local = { 0 };
	struct ms_replay_stats *st = stats ? stats : &local;
	size_t off = r->body;

	memset(st, 0, sizeof(*st));
	for (;;) {
		struct ms_chunk_hdr ch;
		const unsigned char *payload;

		if (off == r->size)
			return fail(r, err, errlen, off,
				    "capture ends without its end marker (truncated?)");
		if (r->size - off < sizeof(ch))
			return fail(r, err, errlen, off, "truncated chunk header (%zu bytes left)",
				    r->size - off);
		memcpy(&ch, r->data + off, sizeof(ch));
		if (ch.magic != MS_CHUNK_MAGIC && ch.magic != MS_END_MAGIC)
			return fail(r, err, errlen, off, "bad chunk magic 0x%08x", ch.magic);
		if (ch.len % 8 || ch.len > MS_CHUNK_MAX)
			return fail(r, err, errlen, off + 4, "bad chunk length %u", ch.len);
		if (ch.len > r->size - off - sizeof(ch))
			return fail(r, err, errlen, off + 4,
				    "chunk length %u runs past the end of the file (%zu bytes left)",
				    ch.len, r->size - off - sizeof(ch));
		payload = r->data + off + sizeof(ch);
		if (ch.crc != ms_chunk_crc(&ch, payload) && !MS_FUZZING)
			return fail(r, err, errlen, off, "chunk checksum mismatch");

		if (ch.magic == MS_END_MAGIC) {
			struct ms_end_payload end;

			if (ch.len != sizeof(end) || ch.nr_events)
				return fail(r, err, errlen, off,
					    "end marker of %u bytes and %u records (want %zu and 0)",
					    ch.len, ch.nr_events, sizeof(end));
			memcpy(&end, payload, sizeof(end));
			if (end.total_events != st->events)
				return fail(r, err, errlen, off,
					    "end marker counts %llu records, file holds %llu",
					    (unsigned long long)end.total_events,
					    (unsigned long long)st->events);
			off += sizeof(ch) + ch.len;
			if (off != r->size)
				return fail(r, err, errlen, off, "%zu bytes after the end marker",
					    r->size - off);
			st->bytes = r->size;
			return 0;
		}
		if (check_records(r, payload, off + sizeof(ch), &ch, err, errlen))
			return -EINVAL;
		publish_records(payload, ch.len, bus, st);
		st->chunks++;
		off += sizeof(ch) + ch.len;
	}
}

void ms_capture_reader__close(struct ms_capture_reader *r)
{
	if (!r)
		return;
	if (r->map)
		munmap(r->map, r->size);
	free(r->copy);
	free(r);
}
