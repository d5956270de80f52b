/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Moving several devices together.
 *
 * Devices in one VM may DMA into each other (peer to peer).  So no device may
 * stop while another can still start a P2P transaction towards it, and none
 * may start P2P DMA while another is still stopped
 * (shared/seeds/vfio-migration-open-questions.txt): on the way down every
 * device reaches RUNNING_P2P or PRE_COPY_P2P before any enters STOP,
 * STOP_COPY or RESUMING; on the way up every device reaches a P2P state
 * before any runs at full DMA again.  A device without P2P support cannot
 * quiesce separately; it stops (or starts) once every P2P-capable device is
 * quiesced, and is not waited for.
 *
 * When one device fails, every device is moved to the rollback state (a
 * device in ERROR is reset first), with the same ordering.
 */
#ifndef MIGSCOPE_DEVSET_H
#define MIGSCOPE_DEVSET_H

#include <stddef.h>
#include <stdint.h>

#include <migscope/device.h>

/* No rollback: leave every device where the failure left it. */
#define MS_DEVSET_NO_ROLLBACK 0xff

/*
 * Move devs[i] to targets[i] (targets NULL: every device to target).  On
 * failure roll back to 'rollback' and return the first error with err set
 * to the failing device's message and what the rollback did.
 */
int ms_devset__goto(struct ms_device *const *devs, size_t n, const uint8_t *targets, uint8_t target,
		    uint8_t rollback, char *err, size_t errlen);

#endif
