/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Names QEMU prints in its trace events, as migscope numbers them: VFIO
 * migration states (QEMU's mig_state_to_str()) and the downtime checkpoints
 * of vmstate_downtime_checkpoint (QEMU 8.2+).  Every source of QEMU events
 * (USDT, the trace log) numbers them through these, so records agree.
 */
#ifndef MIGSCOPE_QEMU_NAMES_H
#define MIGSCOPE_QEMU_NAMES_H

/* "STOP_COPY" -> 3 (enum vfio_device_mig_state), or -1. */
int ms_qemu_vfio_state(const char *name);
const char *ms_qemu_vfio_state_name(unsigned int state);

/* "src-vm-stopped" -> its index in ms_ev_qemu_downtime.checkpoint, or -1. */
int ms_qemu_checkpoint(const char *name);
/* The name of checkpoint index i, or NULL. */
const char *ms_qemu_checkpoint_name(unsigned int i);

#endif
