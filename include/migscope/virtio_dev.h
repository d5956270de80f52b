/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The virtio backend: a virtio member device migrated through the admin
 * commands of its owner device, behind the same VFIO-state interface as
 * every other backend (as Linux's virtio-vfio-pci driver puts it behind the
 * VFIO uAPI).
 *
 * How VFIO states map to virtio modes, in one place (vfio_map in
 * virtio_dev.c):
 *
 *   RUNNING       Active                       PRE_COPY      Active, reading contexts
 *   RUNNING_P2P   Stop                         PRE_COPY_P2P  Stop, reading contexts
 *   STOP          Freeze                       STOP_COPY     Freeze, reading the final context
 *   RESUMING      Freeze, writing contexts
 *
 * The data stream of a virtio device is a sequence of whole device contexts,
 * each framed by a 16-byte header (le32 magic 'MSVC', le32 flags: bit 0 the
 * first context of the save, le64 length), validated against the source's
 * supported-fields query when read and the destination's before it is written.
 * Write records become the device's dirty report (MS_SRC_VIRTIO_WR).
 */
#ifndef MIGSCOPE_VIRTIO_DEV_H
#define MIGSCOPE_VIRTIO_DEV_H

#include <stddef.h>
#include <stdint.h>

#include <migscope/clock.h>
#include <migscope/device.h>

/* The owner device's admin queue, as far as one member device is concerned. */
struct ms_virtio_transport {
	/*
	 * Run one command (cmd: header + command_specific_data) and give back
	 * what the device wrote into res (res_cap bytes of device-writable
	 * buffer).  0, or -errno when the command could not be delivered.
	 */
	int (*exec)(void *ctx, const uint8_t *cmd, size_t cmd_len, uint8_t *res, size_t res_cap,
		    size_t *res_len);
	/* simulated member devices: their own events, and a digest of their context */
	uint64_t (*next_event)(void *ctx);
	void (*run_event)(void *ctx);
	int (*digest)(void *ctx, uint32_t *digest);
	void (*close)(void *ctx);
	void *ctx;
	uint64_t member_id;
};

/*
 * A device on a transport (taken over: closed with the device).  Queries the
 * supported fields, the write-record capabilities and the current mode.
 * NULL with err on failure (the transport is closed then too).
 */
struct ms_device *ms_virtio_dev__new(const struct ms_virtio_transport *t, const char *name,
				     struct ms_clock *c, char *err, size_t errlen);

/* The virtio mode of a VFIO state, from the one mapping table.  0 or -EINVAL. */
int ms_virtio_mode_of(unsigned int vfio_state, uint8_t *mode);

/* The transport of a virtio device (for tests and the reference model), or NULL. */
const struct ms_virtio_transport *ms_virtio_dev__transport(struct ms_device *d);

/*
 * Driver-side operations, for tests: a raw command (status and qualifier in
 * *res) and the driver's own checks.
 */
int ms_virtio_dev__cmd(struct ms_device *d, uint16_t opcode, const void *data, size_t data_len,
		       uint8_t *res_buf, size_t res_cap, size_t *res_len);

/*
 * Set a mode as the driver does: refuses Stop or Active while a context is
 * partially written (the driver MUST NOT), without sending anything.
 */
int ms_virtio_dev__set_mode(struct ms_device *d, uint8_t mode);

#endif
