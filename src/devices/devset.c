// SPDX-License-Identifier: GPL-2.0-only
/* Several devices through the state table with the P2P ordering (devset.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <migscope/devset.h>
#include <migscope/vfio_compat.h>
#include <migscope/vfio_fsm.h>

static int has_p2p(const struct ms_device *d)
{
	return !!(d->caps & VFIO_MIGRATION_P2P);
}

/* May device i take the arc to next now, given where the others are? */
static int allowed(struct ms_device *const *devs, size_t n, size_t i, uint8_t next)
{
	enum ms_vfio_class from = ms_vfio_fsm__class(devs[i]->state), to = ms_vfio_fsm__class(next);
	enum ms_vfio_class blocker;

	if (to == MS_VFIO_CLASS_STOPPED && from != MS_VFIO_CLASS_STOPPED)
		blocker = MS_VFIO_CLASS_RUN; /* nobody may still DMA into us */
	else if (to == MS_VFIO_CLASS_RUN && from != MS_VFIO_CLASS_RUN)
		blocker = MS_VFIO_CLASS_STOPPED; /* nobody we may DMA into is stopped */
	else
		return 1;
	for (size_t j = 0; j < n; j++) {
		if (j == i || ms_vfio_fsm__class(devs[j]->state) != blocker)
			continue;
		/* a device that cannot quiesce separately is not waited for by its peers of its
		 * kind */
		if (has_p2p(devs[j]) || has_p2p(devs[i]))
			return 0;
	}
	return 1;
}

static uint8_t target_of(const uint8_t *targets, uint8_t target, size_t i)
{
	return targets ? targets[i] : target;
}

/* Step devices towards their targets in rounds; *failed is the device that failed. */
static int walk(struct ms_device *const *devs, size_t n, const uint8_t *targets, uint8_t target,
		size_t *failed)
{
	for (;;) {
		int progress = 0, done = 1;

		for (size_t i = 0; i < n; i++) {
			struct ms_device *d = devs[i];
			uint8_t want = target_of(targets, target, i), next;
			char b1[16], b2[16];

			while (d->state != want) {
				if (ms_vfio_fsm__next(d->caps, d->state, want, &next)) {
					*failed = i;
					return ms_dev__fail(
					    d, -EINVAL, "MIG_DEVICE_STATE: no path from %s to %s",
					    ms_vfio_state_name(d->state, b1, sizeof(b1)),
					    ms_vfio_state_name(want, b2, sizeof(b2)));
				}
				if (!allowed(devs, n, i, next))
					break;
				int err = ms_dev__step(d, next);

				if (err) {
					*failed = i;
					return err;
				}
				progress = 1;
			}
			if (d->state != want)
				done = 0;
		}
		if (done)
			return 0;
		if (!progress) {
			/* targets that keep one device running while another must stop */
			*failed = 0;
			return ms_dev__fail(
			    devs[0], -EDEADLK,
			    "MIG_DEVICE_STATE: the targets cannot be reached with P2P ordering");
		}
	}
}

int ms_devset__goto(struct ms_device *const *devs, size_t n, const uint8_t *targets, uint8_t target,
		    uint8_t rollback, char *err, size_t errlen)
{
	size_t failed = 0, again = 0;
	int ret = walk(devs, n, targets, target, &failed), rb = 0;
	char b[16];

	if (!ret)
		return 0;
	snprintf(err, errlen, "%s", devs[failed]->err);
	if (rollback == MS_DEVSET_NO_ROLLBACK)
		return ret;
	for (size_t i = 0; i < n && !rb; i++)
		if (devs[i]->state == VFIO_DEVICE_STATE_ERROR ||
		    (devs[i]->state == VFIO_DEVICE_STATE_RESUMING &&
		     rollback != VFIO_DEVICE_STATE_RESUMING)) {
			/* ERROR only leaves by reset; a RESUMING session is aborted by reset */
			rb = ms_dev__reset(devs[i]);
			again = i;
		}
	if (!rb)
		rb = walk(devs, n, NULL, rollback, &again);
	if (rb) {
		size_t used = strlen(err);

		snprintf(err + used, errlen - used, "; rollback to %s failed: %s",
			 ms_vfio_state_name(rollback, b, sizeof(b)), devs[again]->err);
	} else {
		size_t used = strlen(err);

		snprintf(err + used, errlen - used, "; every device rolled back to %s",
			 ms_vfio_state_name(rollback, b, sizeof(b)));
	}
	return ret;
}
