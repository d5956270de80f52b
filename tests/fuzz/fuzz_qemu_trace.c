// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fuzz the QEMU trace log source: arbitrary bytes, split into lines and
 * matched against every format of the table, read as the source's log and
 * as the destination's into one session (as watch --dst-qemu-log and import
 * do), through the report.  Any input must be counted and used or skipped,
 * never a crash.
 */
#include <stddef.h>
#include <stdint.h>

#include <migscope/qemu_trace.h>
#include <migscope/report.h>
#include <migscope/session.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ms_session_opts o = { 0 };
	struct ms_qemu_trace_opts to = { .wall_to_mono_ns = -1000000000ll };
	struct ms_qemu_trace *t;
	struct ms_session *s;
	char err[MS_ERR_LEN];
	size_t half = size / 2;

	s = ms_session__new(&o, err, sizeof(err));
	if (!s)
		return 0;
	for (int side = MS_ROLE_SOURCE; side <= MS_ROLE_DEST; side++) {
		to.side = (uint16_t)side;
		t = ms_qemu_trace__new(&s->stream, &to);
		if (!t)
			continue;
		/* two reads, so a line can straddle them */
		ms_qemu_trace__feed(t, (const char *)data, half);
		ms_qemu_trace__feed(t, (const char *)data + half, size - half);
		ms_qemu_trace__close(t, 1);
		ms_qemu_trace__free(t);
	}
	json_object_put(ms_report__json(&s->view));
	ms_session__free(s);
	return 0;
}
