// SPDX-License-Identifier: GPL-2.0-only
/*
 * migscope capture repair: the valid prefix of a capture that was cut short,
 * with the end marker its writer never wrote, so every tool reads it as a
 * complete capture.  The records are copied as they are: the chunks kept are
 * the ones whose checksums held.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <migscope/capture.h>
#include "capture_format.h"

static int put(int fd, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int copy_prefix(const char *in, int out, uint64_t len)
{
	unsigned char buf[1 << 16];
	int fd = open(in, O_RDONLY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return -errno;
	while (len && !err) {
		ssize_t n = read(fd, buf, len < sizeof(buf) ? (size_t)len : sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;
			break;
		}
		err = put(out, buf, (size_t)n);
		len -= (uint64_t)n;
	}
	close(fd);
	return err;
}

int ms_capture__repair(const char *in, const char *out, int force, struct ms_replay_stats *st,
		       int *was_complete, char *err, size_t errlen)
{
	struct ms_capture_reader *r = ms_capture_reader__open(in, err, errlen);
	struct ms_chunk_hdr ch = { .magic = MS_END_MAGIC };
	struct ms_end_payload end = { 0 };
	struct stat si, so;
	struct ms_bus bus;
	int ret, fd;

	*was_complete = 0;
	if (!r)
		return -EINVAL;
	ms_bus__init(&bus); /* nobody listens: this only finds the valid prefix */
	ret = ms_capture_reader__replay_salvage(r, &bus, st, err, errlen);
	ms_capture_reader__close(r);
	if (ret < 0 && !force)
		return ret;
	*was_complete = ret == 0;
	if (stat(in, &si) == 0 && stat(out, &so) == 0 && si.st_dev == so.st_dev &&
	    si.st_ino == so.st_ino) {
		snprintf(err, errlen, "%s: the repaired copy must go to another file", out);
		return -EINVAL;
	}
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "%s: failed to create capture: %s", out, strerror(errno));
		return -errno;
	}
	if (fchmod(fd, 0600) < 0) {
		ret = -errno;
		goto fail;
	}
	if (*was_complete) {
		ret = copy_prefix(in, fd, st->valid_end);
	} else {
		end.total_events = st->events;
		ch.len = sizeof(end);
		ch.crc = ms_chunk_crc(&ch, &end);
		ret = copy_prefix(in, fd, st->valid_end);
		if (!ret)
			ret = put(fd, &ch, sizeof(ch));
		if (!ret)
			ret = put(fd, &end, sizeof(end));
	}
	if (!ret && fsync(fd) < 0)
		ret = -errno;
	if (ret)
		goto fail;
	if (close(fd) < 0) {
		snprintf(err, errlen, "%s: failed to write capture: %s", out, strerror(errno));
		return -errno;
	}
	return 0;
fail:
	snprintf(err, errlen, "%s: failed to write capture: %s", out, strerror(-ret));
	close(fd);
	return ret;
}
