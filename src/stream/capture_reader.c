// SPDX-License-Identifier: GPL-2.0-only
/*
 * Capture reader: checks a capture chunk by chunk and publishes its records.
 *
 * Nothing from the file is trusted: every length is checked against what is
 * left before it is used, every chunk's checksum is verified before any of
 * its records reaches a consumer, and every error names the byte offset.
 *
 * A file is mapped and read in place; the pages behind the last chunk read
 * are dropped from the mapping as replay goes (a 50 GB capture must not
 * become 50 GB of the replay's memory).  A pipe ("-" is standard input:
 * `synth --record /dev/fd/3 3>&1 >/dev/null | replay -`) is read a chunk at
 * a time into one buffer.  A stream cannot be searched ahead, so there a bad
 * chunk is a cut only when nothing but zeros follows it (the stream ends, or
 * a host crash's zeros); with more behind it, it is damage (a file would have
 * been searched for an intact chunk after it).
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
	size_t body;	/* offset of the first chunk */
	void *map;	/* mmap of a file, or NULL */
	void *copy;	/* aligned copy of a caller's buffer, or NULL */
	size_t dropped; /* map: bytes before this are dropped from the mapping */
	/* a stream (pipe): its fd, or -1; data is buf holding the header, then a chunk */
	int fd;
	int eof;
	unsigned char *buf;
	size_t buf_cap;
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

static int parse_info(struct ms_capture_reader *r, const unsigned char *p, size_t len, size_t base,
		      char *err, size_t errlen)
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

	if (r) {
		snprintf(r->name, sizeof(r->name), "%s", name);
		r->fd = -1;
	}
	return r;
}

struct ms_capture_reader *ms_capture_reader__open_mem(const void *buf, size_t len, const char *name,
						      char *err, size_t errlen)
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

/* len bytes from the stream into p: bytes read (short only at the end), or -errno. */
static ssize_t read_full(struct ms_capture_reader *r, void *p, size_t len)
{
	size_t got = 0;

	while (got < len && !r->eof) {
		ssize_t n = read(r->fd, (char *)p + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (!n)
			r->eof = 1;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* Room for len bytes in a stream's buffer (grown to the largest chunk seen, at most 16 MiB). */
static int stream_room(struct ms_capture_reader *r, size_t len)
{
	unsigned char *p;

	if (len <= r->buf_cap)
		return 0;
	p = realloc(r->buf, len);
	if (!p)
		return -ENOMEM;
	r->buf = p;
	r->buf_cap = len;
	r->data = p;
	return 0;
}

/* A stream: the file header and info block into buf, then check them as a file's. */
static int open_stream(struct ms_capture_reader *r, char *err, size_t errlen)
{
	struct ms_file_hdr fh;
	size_t len;
	ssize_t n;

	if (stream_room(r, 64u << 10)) {
		snprintf(err, errlen, "%s: out of memory for a chunk", r->name);
		return -ENOMEM;
	}
	n = read_full(r, r->buf, sizeof(fh));
	if (n < 0) {
		snprintf(err, errlen, "%s: failed to read capture: %s", r->name, strerror((int)-n));
		return (int)n;
	}
	r->data = r->buf;
	r->size = (size_t)n;
	if ((size_t)n == sizeof(fh)) {
		memcpy(&fh, r->buf, sizeof(fh));
		len = (size_t)fh.hdr_len + fh.info_len;
		/* the header check says what is wrong with lengths that do not fit */
		if (len > sizeof(fh) && len <= MS_CHUNK_MAX) {
			if (stream_room(r, len)) {
				snprintf(err, errlen, "%s: out of memory for the header", r->name);
				return -ENOMEM;
			}
			n = read_full(r, r->buf + sizeof(fh), len - sizeof(fh));
			if (n < 0) {
				snprintf(err, errlen, "%s: failed to read capture: %s", r->name,
					 strerror((int)-n));
				return (int)n;
			}
			r->size += (size_t)n;
		}
	}
	return check_header(r, err, errlen);
}

struct ms_capture_reader *ms_capture_reader__open(const char *path, char *err, size_t errlen)
{
	int is_stdin = !strcmp(path, "-");
	struct ms_capture_reader *r = reader_new(is_stdin ? "stdin" : path);
	struct stat st;
	int fd;

	if (!r) {
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	fd = is_stdin ? fcntl(0, F_DUPFD_CLOEXEC, 3) : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: failed to open capture: %s", r->name, strerror(errno));
		goto fail;
	}
	if (fstat(fd, &st) < 0 || S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: not a file or a pipe", r->name);
		close(fd);
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		r->fd = fd;
		if (open_stream(r, err, errlen))
			goto fail;
		return r;
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
		return fail(r, err, errlen,
			    off - sizeof(*ch) + offsetof(struct ms_chunk_hdr, nr_events),
			    "chunk says %u records, holds %u", ch->nr_events, n);
	return 0;
}

/* A chunk's records onto the bus as the live sources publish them: in batches. */
static void publish_records(const unsigned char *p, uint32_t len, struct ms_bus *bus,
			    struct ms_replay_stats *st)
{
	/*
	 * Room to zero-extend a short payload, so no consumer reads past it.  The
	 * record keeps the length it was written with: a consumer that needs a
	 * field the record does not carry sees that (the tracker widens on a short
	 * record, it never reads the zeros as an address or a source).  It goes
	 * out alone, after the batch before it.
	 */
	union {
		struct ms_event_hdr hdr;
		unsigned char bytes[256];
		uint64_t align;
	} pad;
	const struct ms_event_hdr *batch[MS_BUS_BATCH];
	unsigned int n = 0;
	size_t pos = 0;

	while (pos < len) {
		const struct ms_event_hdr *h = (const void *)(p + pos);
		uint16_t fixed = ms_event_fixed_len(h->type);

		pos += MS_REC_SIZE(h->len);
		if (h->type >= MS_EV__MAX)
			st->unknown++;
		if (!st->events)
			st->first_ts = h->ts_ns;
		st->last_ts = h->ts_ns;
		st->events++;
		if (h->len < fixed) {
			ms_bus__publish_batch(bus, batch, n);
			n = 0;
			memset(&pad, 0, sizeof(*h) + fixed);
			memcpy(&pad, h, sizeof(*h) + h->len);
			ms_bus__publish(bus, &pad.hdr);
			continue;
		}
		batch[n++] = h;
		if (n == MS_BUS_BATCH) {
			ms_bus__publish_batch(bus, batch, n);
			n = 0;
		}
	}
	ms_bus__publish_batch(bus, batch, n);
}

/*
 * Does an intact chunk (magic, length within the file, checksum) start
 * anywhere after off?  Chunks start 8-byte aligned.  If one does, what is
 * wrong at off is damage inside the stream; if none does, the file was cut
 * there (or a crash left zeros or a torn write at its end).
 */
static int intact_chunk_after(const struct ms_capture_reader *r, size_t off)
{
	/*
	 * A hostile file full of chunk magics would cost a checksum over the
	 * rest of the file for each: past a budget of a few passes over the file,
	 * give up and call it damage (refusing is the safe side).
	 */
	uint64_t budget = 4 * (uint64_t)r->size + (1u << 20);

	for (size_t pos = off + 8; pos + sizeof(struct ms_chunk_hdr) <= r->size; pos += 8) {
		struct ms_chunk_hdr ch;

		memcpy(&ch, r->data + pos, sizeof(ch));
		if (ch.magic != MS_CHUNK_MAGIC && ch.magic != MS_END_MAGIC)
			continue;
		if (ch.len % 8 || ch.len > MS_CHUNK_MAX || ch.len > r->size - pos - sizeof(ch))
			continue;
		if (budget < ch.len)
			return 1;
		budget -= ch.len;
		if (ch.crc == ms_chunk_crc(&ch, r->data + pos + sizeof(ch)))
			return 1;
	}
	return 0;
}

/* Bytes between off and the end: of the file, or (a stream) what one more read gives. */
static size_t left_after(struct ms_capture_reader *r, size_t off)
{
	unsigned char c;

	if (r->fd < 0)
		return r->size - off;
	return read_full(r, &c, 1) > 0;
}

/* Read a stream to its end: 1 if anything in it is not zero (or it cannot be read). */
static int rest_is_not_zero(struct ms_capture_reader *r)
{
	unsigned char b[4096];
	ssize_t n;

	while ((n = read_full(r, b, sizeof(b))) > 0)
		for (ssize_t i = 0; i < n; i++)
			if (b[i])
				return 1;
	return n < 0;
}

/*
 * The chunk at off: its header into ch and its payload.  0; 1 at what a cut
 * leaves (err says what); -EINVAL for damage in a stream (a bad chunk with
 * more after it).
 */
static int next_chunk(struct ms_capture_reader *r, size_t off, struct ms_chunk_hdr *ch,
		      const unsigned char **payload, char *err, size_t errlen)
{
	const int stream = r->fd >= 0;
	size_t avail;
	ssize_t n;

	if (stream) {
		n = read_full(r, r->buf, sizeof(*ch));
		if (n < 0)
			return fail(r, err, errlen, off, "failed to read capture: %s",
				    strerror((int)-n));
		avail = (size_t)n;
	} else {
		avail = r->size - off;
	}
	if (!avail) {
		fail(r, err, errlen, off, "capture ends without its end marker (truncated?)");
		return 1;
	}
	if (avail < sizeof(*ch)) {
		fail(r, err, errlen, off, "truncated chunk header (%zu bytes left)", avail);
		return 1;
	}
	memcpy(ch, stream ? r->buf : r->data + off, sizeof(*ch));
	if (ch->magic != MS_CHUNK_MAGIC && ch->magic != MS_END_MAGIC) {
		fail(r, err, errlen, off, "bad chunk magic 0x%08x", ch->magic);
		goto bad;
	}
	if (ch->len % 8 || ch->len > MS_CHUNK_MAX) {
		fail(r, err, errlen, off + 4, "bad chunk length %u", ch->len);
		goto bad;
	}
	if (stream) {
		if (stream_room(r, sizeof(*ch) + ch->len))
			return fail(r, err, errlen, off, "out of memory for a chunk of %u bytes",
				    ch->len);
		n = read_full(r, r->buf + sizeof(*ch), ch->len);
		if (n < 0)
			return fail(r, err, errlen, off, "failed to read capture: %s",
				    strerror((int)-n));
		avail = (size_t)n;
		*payload = r->buf + sizeof(*ch);
	} else {
		avail = r->size - off - sizeof(*ch);
		*payload = r->data + off + sizeof(*ch);
	}
	if (ch->len > avail) {
		fail(r, err, errlen, off + 4,
		     "chunk length %u runs past the end of the file (%zu bytes left)", ch->len,
		     avail);
		return 1;
	}
	if (ch->crc != ms_chunk_crc(ch, *payload) && !MS_FUZZING) {
		fail(r, err, errlen, off, "chunk checksum mismatch");
		goto bad;
	}
	return 0;
bad:
	/*
	 * A stream cannot be searched for an intact chunk after this one: what
	 * follows is read to the end, and anything but zeros (a host crash's
	 * tail) makes this damage.
	 */
	if (stream && rest_is_not_zero(r))
		return -EINVAL;
	return 1;
}

/*
 * Drop the mapping's pages before off (a file read in place): what has been
 * replayed is not read again, unless a salvage looks further on.
 */
static void drop_behind(struct ms_capture_reader *r, size_t off)
{
	const size_t step = 16u << 20;
	size_t to = off & ~(step - 1);

	if (!r->map || to <= r->dropped)
		return;
	madvise((char *)r->map + r->dropped, to - r->dropped, MADV_DONTNEED);
	r->dropped = to;
}

static int replay(struct ms_capture_reader *r, struct ms_bus *bus, struct ms_replay_stats *st,
		  int salvage, char *err, size_t errlen)
{
	uint64_t before = st->events; /* of the parts before this one */
	size_t off = r->body;

	for (;;) {
		struct ms_chunk_hdr ch;
		const unsigned char *payload = NULL;
		int ret;

		st->valid_end = off;
		ret = next_chunk(r, off, &ch, &payload, err, errlen);
		if (ret < 0)
			return ret;
		if (ret)
			goto cut;

		/* an intact chunk that says something wrong is damage, wherever it is */
		if (ch.magic == MS_END_MAGIC) {
			struct ms_end_payload end;
			size_t after;

			if (ch.len != sizeof(end) || ch.nr_events)
				return fail(
				    r, err, errlen, off,
				    "end marker of %u bytes and %u records (want %zu and 0)",
				    ch.len, ch.nr_events, sizeof(end));
			memcpy(&end, payload, sizeof(end));
			if (end.total_events != st->events - before)
				return fail(r, err, errlen, off,
					    "end marker counts %llu records, file holds %llu",
					    (unsigned long long)end.total_events,
					    (unsigned long long)(st->events - before));
			off += sizeof(ch) + ch.len;
			after = left_after(r, off);
			if (after && r->fd >= 0)
				return fail(r, err, errlen, off, "data after the end marker");
			if (after)
				return fail(r, err, errlen, off, "%zu bytes after the end marker",
					    after);
			st->bytes += off;
			st->valid_end = off;
			return 0;
		}
		if (check_records(r, payload, off + sizeof(ch), &ch, err, errlen))
			return -EINVAL;
		publish_records(payload, ch.len, bus, st);
		st->chunks++;
		off += sizeof(ch) + ch.len;
		drop_behind(r, off);
	}
cut:
	if (!salvage || (r->fd < 0 && intact_chunk_after(r, off)))
		return -EINVAL;
	st->bytes += off;
	return MS_CAPTURE_SALVAGED;
}

/* One capture, its statistics from zero (or none wanted), strict or salvaging. */
static int replay_one(struct ms_capture_reader *r, struct ms_bus *bus,
		      struct ms_replay_stats *stats, int salvage, char *err, size_t errlen)
{
	struct ms_replay_stats local;
	struct ms_replay_stats *st = stats ? stats : &local;

	memset(st, 0, sizeof(*st));
	st->parts = 1;
	return replay(r, bus, st, salvage, err, errlen);
}

int ms_capture_reader__replay(struct ms_capture_reader *r, struct ms_bus *bus,
			      struct ms_replay_stats *stats, char *err, size_t errlen)
{
	return replay_one(r, bus, stats, 0, err, errlen);
}

int ms_capture_reader__replay_salvage(struct ms_capture_reader *r, struct ms_bus *bus,
				      struct ms_replay_stats *stats, char *err, size_t errlen)
{
	return replay_one(r, bus, stats, 1, err, errlen);
}

/* The info key "part" as a number, or -1 when the capture was not rotated. */
static long part_of(const struct ms_capture_reader *r)
{
	const char *v = ms_host_info__get(&r->info, "part");
	char *end;
	long n;

	if (!v || !ms_host_info__get(&r->info, "capture_id"))
		return -1;
	n = strtol(v, &end, 10);
	return *v && !*end && n >= 0 ? n : -1;
}

int ms_capture_reader__replay_parts(struct ms_capture_reader *r, const char *path,
				    struct ms_bus *bus, int salvage, struct ms_replay_stats *stats,
				    char *err, size_t errlen)
{
	struct ms_replay_stats local;
	struct ms_replay_stats *st = stats ? stats : &local;
	struct ms_capture_reader *cur = r;
	char base[256], next[280], id[MS_INFO_VAL_MAX];
	long part = part_of(r);
	int ret;

	memset(st, 0, sizeof(*st));
	/* part k is base.k; part 0 is base itself */
	snprintf(base, sizeof(base), "%s", path);
	if (part > 0) {
		char *dot = strrchr(base, '.');

		if (dot)
			*dot = '\0';
	}
	if (part >= 0)
		snprintf(id, sizeof(id), "%s", ms_host_info__get(&r->info, "capture_id"));
	for (;;) {
		struct ms_capture_reader *nr;
		long np;

		st->parts++;
		ret = replay(cur, bus, st, salvage, err, errlen);
		if (ret || part < 0)
			break;
		snprintf(next, sizeof(next), "%s.%ld", base, part + 1);
		if (access(next, F_OK) < 0)
			break; /* the last part */
		nr = ms_capture_reader__open(next, err, errlen);
		if (!nr) {
			ret = -EINVAL;
			break;
		}
		np = part_of(nr);
		if (strcmp(ms_host_info__get(&nr->info, "capture_id") ?: "", id)) {
			/* a part of an older recording under the same name: not ours */
			ms_capture_reader__close(nr);
			break;
		}
		if (np != part + 1) {
			snprintf(err, errlen, "%s: part %ld of the capture where part %ld belongs",
				 next, np, part + 1);
			ms_capture_reader__close(nr);
			ret = -EINVAL;
			break;
		}
		if (cur != r)
			ms_capture_reader__close(cur);
		cur = nr;
		part = np;
	}
	if (cur != r)
		ms_capture_reader__close(cur);
	return ret;
}

void ms_capture_reader__close(struct ms_capture_reader *r)
{
	if (!r)
		return;
	if (r->map)
		munmap(r->map, r->size);
	if (r->fd >= 0)
		close(r->fd);
	free(r->buf);
	free(r->copy);
	free(r);
}
