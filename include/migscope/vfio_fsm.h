/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The VFIO migration v2 state machine, as the kernel defines it.
 *
 * The kernel breaks a requested state change into single arcs with a
 * next-step table (vfio_mig_get_next_state() in drivers/vfio/vfio_main.c);
 * migscope walks the same table so every arc it drives, times and publishes
 * is one the kernel would take, and so a device that lacks P2P or PRE_COPY
 * gets exactly the shorter path the kernel gives it.
 */
#ifndef MIGSCOPE_VFIO_FSM_H
#define MIGSCOPE_VFIO_FSM_H

#include <stddef.h>
#include <stdint.h>

#include <migscope/vfio_compat.h>

/* Longest path between two states (RESUMING -> ... -> PRE_COPY is 4 arcs). */
#define MS_VFIO_MAX_PATH 8

/* Is state s one the device with these VFIO_MIGRATION_* caps can be put in? */
int ms_vfio_fsm__supported(uint32_t caps, unsigned int s);

/*
 * The next state on the way from cur to target, as the kernel computes it.
 * 0, or -EINVAL when cur or target is not a state of this device, cur is
 * ERROR, or the transition is not allowed (STOP_COPY -> PRE_COPY*).
 * cur == target gives next == target.
 */
int ms_vfio_fsm__next(uint32_t caps, unsigned int cur, unsigned int target, uint8_t *next);

/*
 * The whole path: path[0..n) are the states entered, the last is target.
 * Returns n (0 when cur == target) or -EINVAL.
 */
int ms_vfio_fsm__path(uint32_t caps, unsigned int cur, unsigned int target,
		      uint8_t path[MS_VFIO_MAX_PATH]);

/* "RUNNING_P2P", or "state9" (into buf) for a number that is not a state. */
const char *ms_vfio_state_name(unsigned int s, char *buf, size_t len);

/* Parse "running_p2p" / "RUNNING_P2P" / "5".  0 or -EINVAL. */
int ms_vfio_state_parse(const char *name, uint8_t *s);

/*
 * Where a state leaves the device, for ordering several devices: RUN (full
 * DMA, RUNNING / PRE_COPY), P2P (quiesced for peer-to-peer, RUNNING_P2P /
 * PRE_COPY_P2P), STOPPED (STOP, STOP_COPY, RESUMING), or ERROR.
 */
enum ms_vfio_class {
	MS_VFIO_CLASS_RUN,
	MS_VFIO_CLASS_P2P,
	MS_VFIO_CLASS_STOPPED,
	MS_VFIO_CLASS_ERROR,
};
enum ms_vfio_class ms_vfio_fsm__class(unsigned int s);

/* Does the state belong to the saving group that shares one data fd? */
int ms_vfio_fsm__saving(unsigned int s);

#endif
