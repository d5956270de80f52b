// SPDX-License-Identifier: GPL-2.0-only
/*
 * The driver-side decoders of admin command results: whatever a device
 * writes, decoding ends in a value or an error, never out of bounds.
 * Input: byte 0 how much room the driver claims to have left (to test the
 * written > capacity check), then the device-writable part.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <migscope/virtio_admin.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ms_virtio_admin_res r;
	struct ms_virtio_field fields[MS_VIRTIO_MAX_FIELDS];
	struct ms_virtio_wr_cap cap;
	uint32_t n, count, usable;
	uint64_t v;
	uint8_t mode, *copy;
	size_t nf = 0, room;
	char err[256];

	if (size < 1)
		return 0;
	room = data[0];
	/* an exact-size copy so reading past the end is caught */
	copy = malloc(size - 1 ? size - 1 : 1);
	if (!copy)
		return 0;
	memcpy(copy, data + 1, size - 1);
	if (ms_virtio_admin__decode_res(copy, size - 1, size - 1 + (room & 1 ? 0 : room), &r, err,
					sizeof(err)) == 0 &&
	    size - 1 <= size - 1 + (room & 1 ? 0 : room)) {
		ms_virtio_admin__mode(&r, &mode, err, sizeof(err));
		ms_virtio_admin__ctx_size(&r, &v, err, sizeof(err));
		ms_virtio_admin__ctx_read(&r, room * 16, &n, err, sizeof(err));
		ms_virtio_admin__wr_cap(&r, &cap, err, sizeof(err));
		if (ms_virtio_admin__wr_read(&r, room, &count, &usable, err, sizeof(err)) == 0 ||
		    usable)
			for (uint32_t i = 0; i < usable; i++)
				v ^= ms_get_le64(r.result + 8 * i);
		if (ms_virtio_admin__fields(&r, fields, &nf, err, sizeof(err)))
			nf = 0;
		ms_virtio_ctx__parse(r.result, r.result_len, nf ? fields : NULL, nf, NULL, NULL,
				     err, sizeof(err));
	}
	free(copy);
	return 0;
}
