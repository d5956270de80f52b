// SPDX-License-Identifier: GPL-2.0-only
/*
 * Destination devices loading an arbitrary migration stream: the reference
 * VFIO device's record parser, and the virtio backend's framing, context
 * validation and the member device's DEV_CTX_WRITE parser behind it.
 * Input: byte 0 picks the device (even: vfio, odd: virtio) and byte 1 the
 * write size; the rest is the stream.  Whatever happens, a failure comes
 * with a message and the driver's idea of the device's state is the device's.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <migscope/devspec.h>
#include <migscope/ref.h>
#include <migscope/vfio_fsm.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ms_clock clock;
	struct ms_devspec sp;
	struct ms_device *d;
	size_t chunk, off = 2;
	char err[320];
	uint8_t st;
	int virtio;

	if (size < 2)
		return 0;
	virtio = data[0] & 1;
	chunk = (size_t)data[1] * 16 + 1;
	ms_clock__init_virtual(&clock, MS_CLOCK_VIRTUAL_START);
	if (ms_devspec__parse(virtio ? "ref:iface=virtio,vqs=2" : "ref:state=16K", &sp, err,
			      sizeof(err)))
		abort();
	snprintf(sp.ref.name, sizeof(sp.ref.name), "fuzz");
	d = virtio ? ms_ref_virtio__new(&sp.ref, &clock, err, sizeof(err))
		   : ms_ref__new(&sp.ref, &clock, err, sizeof(err));
	if (!d)
		abort();
	d->role = MS_ROLE_DEST;
	if (ms_dev__goto(d, VFIO_DEVICE_STATE_RESUMING))
		abort();
	while (off < size) {
		size_t n = size - off < chunk ? size - off : chunk;

		if (ms_dev__write_all(d, data + off, n))
			break;
		off += n;
	}
	if (ms_dev__goto(d, VFIO_DEVICE_STATE_RUNNING) && !d->err[0])
		abort();
	/* wherever it stopped, the driver knows where the device is */
	if (d->ops->get_state(d, &st) == 0 && st != d->state)
		abort();
	ms_dev__close(d);
	return 0;
}
