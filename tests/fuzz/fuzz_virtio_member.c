// SPDX-License-Identifier: GPL-2.0-only
/*
 * The reference member device's side of the admin queue: a sequence of
 * arbitrary commands (each: le16 length, le16 result room, then the command
 * bytes) never makes it write past the result buffer or lose its mode.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <migscope/devspec.h>
#include <migscope/ref.h>
#include <migscope/virtio_admin.h>
#include <migscope/virtio_dev.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ms_clock clock;
	struct ms_devspec sp;
	struct ms_device *d;
	const struct ms_virtio_transport *t;
	size_t off = 0;
	char err[320];

	ms_clock__init_virtual(&clock, MS_CLOCK_VIRTUAL_START);
	if (ms_devspec__parse("ref:iface=virtio,vqs=3,ws=1M", &sp, err, sizeof(err)))
		abort();
	d = ms_ref_virtio__new(&sp.ref, &clock, err, sizeof(err));
	if (!d)
		abort();
	t = ms_virtio_dev__transport(d);
	while (size - off >= 4) {
		size_t len = ms_get_le16(data + off), room = ms_get_le16(data + off + 2) % 9000,
		       got = 0;
		uint8_t *cmd, *res;
		struct ms_ref_stats st;
		uint8_t mode;

		off += 4;
		if (len > size - off)
			len = size - off;
		cmd = malloc(len ? len : 1);
		res = malloc(room ? room : 1);
		if (!cmd || !res)
			abort();
		memcpy(cmd, data + off, len);
		off += len;
		if (t->exec(t->ctx, cmd, len, res, room, &got) == 0 && (got > room || got < 8))
			abort();
		if (ms_ref_virtio__stats(d, &st, &mode) || mode > MS_VIRTIO_MODE_FREEZE)
			abort();
		free(cmd);
		free(res);
	}
	ms_dev__close(d);
	return 0;
}
