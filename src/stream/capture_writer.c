// SPDX-License-Identifier: GPL-2.0-only
/*
 * Capture writer: a bus subscriber that serializes every record into
 * checksummed chunks (docs/capture-format.md).  Records are buffered and
 * written a chunk at a time so recording costs one write(2) per ~64 KiB.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <migscope/capture.h>
#include "capture_format.h"

/* Flush once a chunk holds this much; a record never exceeds 16 + 65535 bytes. */
#define CHUNK_TARGET (64 * 1024)
#define CHUNK_BUF (CHUNK_TARGET + sizeof(struct ms_event_hdr) + 65536 + 8)

struct ms_capture_writer {
	int fd;
	int error; /* first errno seen; later writes are skipped */
	char path[256];
	uint64_t total_events;
	uint32_t chunk_events;
	size_t fill;
	unsigned char *buf;
};

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

static int write_chunk(struct ms_capture_writer *w, uint32_t magic, const void *payload,
		       uint32_t len, uint32_t nr_events)
{
	struct ms_chunk_hdr ch = {
		.magic = magic,
		.len = len,
		.nr_events = nr_events,
	};
	int err;

	ch.crc = ms_chunk_crc(&ch, payload);
	err = write_all(w, &ch, sizeof(ch));
	if (!err)
		err = write_all(w, payload, len);
	return err;
}

static void flush_chunk(struct ms_capture_writer *w)
{
	int err;

	if (!w->chunk_events || w->error)
		return;
	err = write_chunk(w, MS_CHUNK_MAGIC, w->buf, (uint32_t)w->fill, w->chunk_events);
	if (err)
		w->error = -err;
	w->fill = 0;
	w->chunk_events = 0;
}

void ms_capture_writer__on_event(void *writer, const struct ms_event_hdr *ev)
{
	struct ms_capture_writer *w = writer;
	size_t rec = MS_REC_SIZE(ev->len);

	if (w->error)
		return;
	memcpy(w->buf + w->fill, ev, sizeof(*ev) + ev->len);
	memset(w->buf + w->fill + sizeof(*ev) + ev->len, 0, rec - sizeof(*ev) - ev->len);
	w->fill += rec;
	w->chunk_events++;
	w->total_events++;
	if (w->fill >= CHUNK_TARGET)
		flush_chunk(w);
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

struct ms_capture_writer *ms_capture_writer__open(const char *path,
						  const struct ms_host_info *info, char *err,
						  size_t errlen)
{
	static unsigned char info_buf[MS_INFO_MAX * (4 + MS_INFO_KEY_MAX + MS_INFO_VAL_MAX) + 8];
	struct ms_capture_writer *w;
	struct ms_file_hdr fh;
	size_t info_len;
	int e;

	w = calloc(1, sizeof(*w));
	if (w)
		w->buf = malloc(CHUNK_BUF);
	if (!w || !w->buf) {
		snprintf(err, errlen, "%s: failed to allocate capture buffer", path);
		goto fail;
	}
	snprintf(w->path, sizeof(w->path), "%s", path);
	w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (w->fd < 0) {
		snprintf(err, errlen, "%s: failed to create capture: %s", path, strerror(errno));
		goto fail;
	}
	/* an existing file keeps its mode through O_TRUNC: force 0600 */
	if (fchmod(w->fd, 0600) < 0) {
		snprintf(err, errlen, "%s: failed to set mode 0600: %s", path, strerror(errno));
		goto fail_fd;
	}

	info_len = encode_info(info, info_buf, sizeof(info_buf));
	memset(&fh, 0, sizeof(fh));
	memcpy(fh.magic, MS_CAPTURE_MAGIC, sizeof(fh.magic));
	fh.version = MS_CAPTURE_VERSION;
	fh.hdr_len = sizeof(fh);
	fh.info_len = (uint32_t)info_len;
	fh.info_crc = ms_crc32c(0, info_buf, info_len);
	fh.hdr_crc = ms_crc32c(0, &fh, offsetof(struct ms_file_hdr, hdr_crc));
	e = write_all(w, &fh, sizeof(fh));
	if (!e)
		e = write_all(w, info_buf, info_len);
	if (e) {
		snprintf(err, errlen, "%s: failed to write capture header: %s", path, strerror(-e));
		goto fail_fd;
	}
	return w;

fail_fd:
	close(w->fd);
fail:
	if (w)
		free(w->buf);
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
	if (close(w->fd) < 0 && !w->error)
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
