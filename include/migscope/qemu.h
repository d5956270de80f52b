/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the QEMU sources (QMP, the trace log, USDT probes) share: the devices
 * they name, so that "ram" or a vfio device is one id whichever source saw it
 * first, and the names QEMU gives migration states.
 */
#ifndef MIGSCOPE_QEMU_H
#define MIGSCOPE_QEMU_H

#include <stdint.h>

#include <migscope/stream.h>

/* The name of the pseudo device that carries RAM's pending bytes (QEMU's "ram" section). */
#define MS_QEMU_RAM "ram"

/*
 * The id of the device of this kind, role and name in s, added (MS_EV_DEV_ADD
 * at ts) the first time it is asked for.
 */
uint32_t ms_qemu_device(struct ms_stream *s, uint64_t ts, uint16_t kind, uint16_t role,
			const char *name);

/* The name of the destination QEMU's qemu-vm device. */
#define MS_QEMU_DST_VM "destination"

/*
 * The device id the VM-level records (mig_status, runstate, loss) of one
 * side carry: MS_DEV_NONE for the source (as ever), the destination's
 * qemu-vm device (added at ts the first time) for MS_ROLE_DEST.
 */
uint32_t ms_qemu_vm(struct ms_stream *s, uint64_t ts, uint16_t side);

/* QMP's MIGRATION status string -> enum ms_mig_status (MS_MIG_OTHER if unknown). */
uint32_t ms_qemu_mig_status(const char *name);
const char *ms_qemu_mig_status_name(uint32_t status);

#endif
