/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The switchover rule, in one place for the profile driver that decides and
 * the telemetry that judges the decision from the stream (docs/devices.md,
 * "The switchover decision").
 *
 * QEMU (migration_iteration_run()) switches over when what must still move
 * while the VM is stopped — its exact pending: for a VFIO device the
 * stop-copy size, VFIO_DEVICE_FEATURE_MIG_DATA_SIZE, which already counts the
 * pre-copy data not yet sent — is nothing or strictly under its threshold,
 * the bytes the link moves within the downtime limit; and only once every
 * switchover-ack has been given (a device's initial bytes loaded by the
 * destination, asked again after each REINIT).
 */
#ifndef MIGSCOPE_SWITCHOVER_H
#define MIGSCOPE_SWITCHOVER_H

#include <stddef.h>
#include <stdint.h>

/* What the rule looks at, at one moment. */
struct ms_switchover_check {
	uint64_t pending;   /* bytes that must move while stopped, all devices */
	uint64_t threshold; /* bytes that move within the limit; MS_STAT_UNSET: no bandwidth */
	uint64_t bps;	    /* the bandwidth the threshold came from (0: none) */
	uint64_t limit_ns;  /* the downtime limit */
	uint32_t unacked;   /* devices whose switchover-ack is outstanding */
};

/* Bytes that move within limit_ns at bps (QEMU's threshold_size); MS_STAT_UNSET without bps. */
uint64_t ms_switchover_threshold(uint64_t bps, uint64_t limit_ns);

/* Count one device's bytes into c->pending (saturating). */
void ms_switchover__add(struct ms_switchover_check *c, uint64_t bytes);

/* The rule: every ack given, and the pending bytes fit (always, without a bandwidth). */
int ms_switchover__ok(const struct ms_switchover_check *c);

/*
 * The facts behind the rule in one line, e.g. "stop-copy 13.00 MiB under the
 * threshold 38.40 MiB (101 ms at 128.00 MiB/s, limit 300 ms); every
 * switchover-ack given".
 */
void ms_switchover__describe(const struct ms_switchover_check *c, char *buf, size_t len);

#endif
