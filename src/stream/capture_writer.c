// SPDX-License-Identifier: GPL-2.0-only
/*
 * Capture writer: a bus subscriber that serializes every record into
 * checksummed chunks (docs/capture-format.md).  Records are buffered and
 * written a chunk at a time so recording costs one write(2) per ~64 KiB; a
 * chunk is also closed, written and fdatasync'ed once its oldest record is
 * sync_ns old, so a crash loses at most that window.  With max_size the
 * stream rotates into numbered parts, each a complete capture.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <migscope/capture.h>
#include "capture_format.h"

/* Flush once a chunk holds this much; a record never exceeds 16 + 65535 bytes. */
#define CHUNK_TARGET (64 * 1024)
#define CHUNK_BUF    (CHUNK_TARGET + sizeof(struct ms_event_hdr) + 65536 + 8)

struct ms_capture_writer {
	int fd;
	int error;	       /* first errno seen; later writes are skipped */
	char path[280];	       /* of the part being written */
	char base[256];	       /* the path asked for: part 0; part k is base.k */
	uint64_t total_events; /* in this part */
	uint32_t chunk_events;
	size_t fill;
	unsigned char *buf;

	struct ms_host_info info;
	uint64_t sync_ns, max_size;
	uint64_t size; /* bytes in this part */
	unsigned int part;
	int unsynced;	     /* written since the last fdatasync */
	uint64_t first_ns;   /* coarse clock when the buffered chunk got its first record */
	uint64_t coarse_res; /* resolution of that clock, so the window is never exceeded */
};

/*
 * The coarse clock costs a few ns from the vDSO, so every record can look at
 * it; its resolution is added to the age so the sync window holds anyway.
 */
static uint64_t coarse_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int write_all(struct ms_capture_writer *w, const void *data, size_t len)
{
	const unsigned char *p = data;

	while (len) {
		ssize_t n = write(w->fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Header and payload in one write(2): a writer killed mid-way leaves the file
 * ending inside this chunk, never a header promising a payload that a second
 * write was to bring.
 */
static int write_chunk(struct ms_capture_writer *w, uint32_t magic, const void *payload,
		       uint32_t len, uint32_t nr_events)
{
	struct ms_chunk_hdr ch = {
		.magic = magic,
		.len = len,
		.nr_events = nr_events,
	};
	struct iovec iov[2] = {
		{ .iov_base = &ch, .iov_len = sizeof(ch) },
		{ .iov_base = (void *)payload, .iov_len = len },
	};
	size_t total = sizeof(ch) + len;
	ssize_t n;

	ch.crc = ms_chunk_crc(&ch, payload);
	do {
		n = writev(w->fd, iov, 2);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	w->size += (uint64_t)n;
	w->unsynced = 1;
	if ((size_t)n < total) {
		/* a short write (a signal, a full disk): the rest, or its error */
		size_t done = (size_t)n;
		int err;

		if (done < sizeof(ch))
			err = write_all(w, (char *)&ch + done, sizeof(ch) - done)
				  ?: write_all(w, payload, len);
		else
			err =
			    write_all(w, (const char *)payload + (done - sizeof(ch)), total - done);
		if (err)
			return err;
		w->size += total - done;
	}
	return 0;
}

static int write_header(struct ms_capture_writer *w, char *err, size_t errlen);

/* End this part (end marker, fdatasync, close) and start the next. */
static int rotate(struct ms_capture_writer *w)
{
	struct ms_end_payload end = { .total_events = w->total_events };
	char err[MS_ERR_LEN];
	int ret;

	ret = write_chunk(w, MS_END_MAGIC, &end, sizeof(end), 0);
	if (ret)
		return ret;
	if (fdatasync(w->fd) < 0 && errno != EINVAL)
		return -errno;
	if (close(w->fd) < 0)
		return -errno;
	w->fd = -1;
	w->part++;
	w->total_events = 0;
	w->size = 0;
	snprintf(w->path, sizeof(w->path), "%s.%u", w->base, w->part);
	if (write_header(w, err, sizeof(err)))
		return -EIO;
	return 0;
}

static void flush_chunk(struct ms_capture_writer *w)
{
	uint64_t need = sizeof(struct ms_chunk_hdr) + w->fill;
	int err;

	if (!w->chunk_events || w->error)
		return;
	/* the part keeps room for its end marker; a part holds at least one chunk */
	if (w->max_size && w->total_events &&
	    w->size + need + sizeof(struct ms_chunk_hdr) + sizeof(struct ms_end_payload) >
		w->max_size) {
		err = rotate(w);
		if (err) {
			w->error = err < 0 ? -err : EIO;
			return;
		}
	}
	err = write_chunk(w, MS_CHUNK_MAGIC, w->buf, (uint32_t)w->fill, w->chunk_events);
	if (err)
		w->error = -err;
	w->total_events += w->chunk_events;
	w->fill = 0;
	w->chunk_events = 0;
}

/* Write what is buffered and make it durable. */
static void sync_now(struct ms_capture_writer *w)
{
	flush_chunk(w);
	if (!w->error && w->unsynced) {
		if (fdatasync(w->fd) < 0 && errno != EINVAL)
			w->error = errno;
		w->unsynced = 0;
	}
}

void ms_capture_writer__on_event(void *writer, const struct ms_event_hdr *ev)
{
	struct ms_capture_writer *w = writer;
	size_t rec = MS_REC_SIZE(ev->len);
	uint64_t now;

	if (w->error)
		return;
	now = coarse_now();
	if (!w->chunk_events)
		w->first_ns = now;
	memcpy(w->buf + w->fill, ev, sizeof(*ev) + ev->len);
	memset(w->buf + w->fill + sizeof(*ev) + ev->len, 0, rec - sizeof(*ev) - ev->len);
	w->fill += rec;
	w->chunk_events++;
	if (now - w->first_ns + w->coarse_res >= w->sync_ns)
		sync_now(w);
	else if (w->fill >= CHUNK_TARGET)
		flush_chunk(w);
}

void ms_capture_writer__tick(struct ms_capture_writer *w)
{
	if (w && !w->error && w->chunk_events &&
	    coarse_now() - w->first_ns + w->coarse_res >= w->sync_ns)
		sync_now(w);
}

unsigned int ms_capture_writer__parts(const struct ms_capture_writer *w)
{
	return w->part + 1;
}

static size_t encode_info(const struct ms_host_info *info, unsigned char *out, size_t cap)
{
	size_t off = 0;

	for (unsigned int i = 0; i < info->nr; i++) {
		uint16_t kl = (uint16_t)strlen(info->kv[i].key);
		uint16_t vl = (uint16_t)strlen(info->kv[i].val);

		if (off + 4 + kl + vl > cap)
			break;
		memcpy(out + off, &kl, 2);
		memcpy(out + off + 2, &vl, 2);
		memcpy(out + off + 4, info->kv[i].key, kl);
		memcpy(out + off + 4 + kl, info->kv[i].val, vl);
		off += 4 + kl + vl;
	}
	while (off % 8)
		out[off++] = 0;
	return off;
}

/* Create w->path and write the file header and info block. */
static int write_header(struct ms_capture_writer *w, char *err, size_t errlen)
{
	/* the header and the info block, written in one write(2) like a chunk: a writer
	 * killed at any moment leaves no header, or a whole one */
	static unsigned char head[sizeof(struct ms_file_hdr) +
				  MS_INFO_MAX * (4 + MS_INFO_KEY_MAX + MS_INFO_VAL_MAX) + 8];
	unsigned char *info_buf = head + sizeof(struct ms_file_hdr);
	struct ms_file_hdr fh;
	size_t info_len;
	int e;

	w->fd = open(w->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (w->fd < 0) {
		snprintf(err, errlen, "%s: failed to create capture: %s", w->path, strerror(errno));
		return -1;
	}
	/* an existing file keeps its mode through O_TRUNC: force 0600 */
	if (fchmod(w->fd, 0600) < 0) {
		snprintf(err, errlen, "%s: failed to set mode 0600: %s", w->path, strerror(errno));
		return -1;
	}
	if (w->max_size) {
		char part[16];

		snprintf(part, sizeof(part), "%u", w->part);
		ms_host_info__set(&w->info, "part", part);
	}
	info_len = encode_info(&w->info, info_buf, sizeof(head) - sizeof(fh));
	memset(&fh, 0, sizeof(fh));
	memcpy(fh.magic, MS_CAPTURE_MAGIC, sizeof(fh.magic));
	fh.version = MS_CAPTURE_VERSION;
	fh.hdr_len = sizeof(fh);
	fh.info_len = (uint32_t)info_len;
	fh.info_crc = ms_crc32c(0, info_buf, info_len);
	fh.hdr_crc = ms_crc32c(0, &fh, offsetof(struct ms_file_hdr, hdr_crc));
	memcpy(head, &fh, sizeof(fh));
	e = write_all(w, head, sizeof(fh) + info_len);
	if (e) {
		snprintf(err, errlen, "%s: failed to write capture header: %s", w->path,
			 strerror(-e));
		return -1;
	}
	w->size = sizeof(fh) + info_len;
	w->unsynced = 1;
	return 0;
}

struct ms_capture_writer *ms_capture_writer__open(const char *path, const struct ms_host_info *info,
						  const struct ms_capture_opts *opts, char *err,
						  size_t errlen)
{
	struct ms_capture_writer *w;
	struct timespec res;

	w = calloc(1, sizeof(*w));
	if (w)
		w->buf = malloc(CHUNK_BUF);
	if (!w || !w->buf) {
		snprintf(err, errlen, "%s: failed to allocate capture buffer", path);
		goto fail;
	}
	w->fd = -1;
	snprintf(w->path, sizeof(w->path), "%s", path);
	snprintf(w->base, sizeof(w->base), "%s", path);
	w->info = *info;
	w->sync_ns = opts && opts->sync_ns ? opts->sync_ns : MS_CAPTURE_SYNC_NS;
	w->max_size = opts ? opts->max_size : 0;
	if (clock_getres(CLOCK_MONOTONIC_COARSE, &res) == 0)
		w->coarse_res = (uint64_t)res.tv_sec * 1000000000ull + (uint64_t)res.tv_nsec;
	if (w->max_size) {
		uint64_t id;
		char hex[24];

		/* links the parts: a stale path.3 of an older recording is not joined */
		if (getrandom(&id, sizeof(id), 0) != sizeof(id))
			id = coarse_now() ^ ((uint64_t)getpid() << 32);
		snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)id);
		ms_host_info__set(&w->info, "capture_id", hex);
	}
	if (write_header(w, err, errlen))
		goto fail;
	return w;

fail:
	if (w) {
		if (w->fd >= 0)
			close(w->fd);
		free(w->buf);
	}
	free(w);
	return NULL;
}

int ms_capture_writer__error(const struct ms_capture_writer *w)
{
	return w->error ? -w->error : 0;
}

int ms_capture_writer__close(struct ms_capture_writer *w, char *err, size_t errlen)
{
	struct ms_end_payload end;
	int ret = 0;

	if (!w)
		return 0;
	flush_chunk(w);
	if (!w->error) {
		memset(&end, 0, sizeof(end));
		end.total_events = w->total_events;
		ret = write_chunk(w, MS_END_MAGIC, &end, sizeof(end), 0);
		if (ret)
			w->error = -ret;
	}
	if (!w->error && fsync(w->fd) < 0 && errno != EINVAL)
		w->error = errno;
	if (w->fd >= 0 && close(w->fd) < 0 && !w->error)
		w->error = errno;
	if (w->error) {
		snprintf(err, errlen, "%s: failed to write capture: %s", w->path,
			 strerror(w->error));
		ret = -w->error;
	}
	free(w->buf);
	free(w);
	return ret;
}
