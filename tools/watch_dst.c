// SPDX-License-Identifier: GPL-2.0-only
/* migscope watch: the destination QEMU (watch_dst.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <migscope/loop.h>
#include <migscope/qemu.h>
#include <migscope/qemu_trace.h>
#include <migscope/qmp.h>

#include "cli.h"
#include "watch_dst.h"

/* After the source's end, how long the destination gets to end too. */
#define LINGER_NS 2000000000ull

static void print_warning(const char *msg)
{
	fprintf(stderr, "migscope: warning: destination: %s\n", msg);
}

int watch_dst__connect(struct watch_dst *d, struct ms_stream *s, uint64_t interval_ns,
		       int set_events)
{
	struct ms_qmp_opts qo = {
		.path = d->qmp_path,
		.interval_ns = interval_ns,
		.set_events = set_events,
		/* without its trace log, its VFIO_MIGRATION events are the destination's arcs */
		.vfio_events = !d->log_path,
		.side = MS_ROLE_DEST,
		/* its trace log's runstate_set is its resume, as import reads it */
		.runstate_from_trace = !!d->log_path,
		.warn = print_warning,
	};
	char err[MS_ERR_LEN];

	if (!d->qmp_path)
		return 0;
	d->qmp = ms_qmp__new(s, &qo);
	if (!d->qmp)
		return cli_error("failed to start: %s", strerror(ENOMEM));
	if (ms_qmp__connect(d->qmp, err, sizeof(err)))
		return cli_error("--dst-qmp: %s", err);
	return 0;
}

int watch_dst__start(struct watch_dst *d, struct ms_stream *s, struct ms_loop *loop,
		     int64_t wall_to_mono, uint64_t not_before_wall_ns,
		     const char *const *vfio_devices)
{
	const struct ms_qmp_info *info;
	char err[MS_ERR_LEN];

	if (!d->qmp)
		return 0;
	ms_qmp__set_clock(d->qmp, wall_to_mono);
	if (d->log_path) {
		struct ms_qemu_trace_opts to = {
			.wall_to_mono_ns = wall_to_mono,
			.not_before_wall_ns = not_before_wall_ns,
			.vfio_devices = vfio_devices,
			.side = MS_ROLE_DEST,
		};

		d->trace = ms_qemu_trace__new(s, &to);
		if (!d->trace)
			return cli_error("failed to start: %s", strerror(ENOMEM));
		if (ms_qemu_trace__follow(d->trace, d->log_path, loop, err, sizeof(err)))
			return cli_error("--dst-qemu-log: %s", err);
	}
	info = ms_qmp__info(d->qmp);
	fprintf(stderr, "migscope: destination QEMU %s (pid %d) at %s%s%s; status %s\n",
		info->version, info->pid, d->qmp_path, d->log_path ? ", trace log " : "",
		d->log_path ? d->log_path : "", ms_qemu_mig_status_name(info->status));
	if (ms_qmp__start(d->qmp, loop, err, sizeof(err)))
		return cli_error("--dst-qmp: %s", err);
	return 0;
}

void watch_dst__linger(struct watch_dst *d, struct ms_loop *loop)
{
	if (!d->qmp || !ms_qmp__linger(d->qmp))
		return;
	/* a slow destination may still be loading when the source is done */
	if (ms_loop__run(loop, LINGER_NS) == -ETIMEDOUT)
		fprintf(stderr,
			"migscope: warning: destination: its migration had not ended %.0f s after "
			"the source's; reporting what was seen\n",
			(double)LINGER_NS / 1e9);
}

void watch_dst__close(struct watch_dst *d, uint64_t ts)
{
	if (d->trace) {
		const struct ms_qemu_trace_counts *n;

		ms_qemu_trace__close(d->trace, ts);
		n = ms_qemu_trace__counts(d->trace);
		if (n->malformed || ms_verbose)
			fprintf(stderr,
				"migscope: destination's qemu log %s: %llu lines, %llu used, %llu "
				"not understood\n",
				d->log_path, (unsigned long long)n->lines,
				(unsigned long long)n->accepted, (unsigned long long)n->malformed);
	}
	if (d->qmp)
		ms_qmp__close(d->qmp, ts);
}

void watch_dst__free(struct watch_dst *d)
{
	ms_qemu_trace__free(d->trace);
	ms_qmp__free(d->qmp);
	d->trace = NULL;
	d->qmp = NULL;
}
