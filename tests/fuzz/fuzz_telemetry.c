// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fuzz the telemetry analysis and every report built on it: arbitrary record
 * sequences (any type, device, payload, times going backwards) through a
 * session with a source/destination pair and a QEMU section registered, then
 * the JSON report, the table, the Perfetto trace and the SVG.  None may crash,
 * leak or hit undefined behaviour (huge byte counts, zero or reversed time
 * spans, states out of range), and a downtime's breakdown must add up.
 *
 * Input: 8-byte steps {type, dev, flags, pad, dt_us[4]} each followed by the
 * record's fixed payload bytes (as many as the input still has, zero after).
 * flags bit 0 makes the step go back in time.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <migscope/report.h>
#include <migscope/session.h>

static FILE *devnull;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ms_session_opts o = { 0 };
	struct ms_session *s;
	struct ms_tm_report r;
	char err[MS_ERR_LEN];
	uint64_t ts = 1000000000ull;
	size_t off = 0;

	if (!devnull)
		devnull = fopen("/dev/null", "w");
	s = ms_session__new(&o, err, sizeof(err));
	if (!s)
		return 0;
	ms_stream__begin(&s->stream, ts, MS_SESSION_PROFILE, 300000000ull, 100 << 20, 4096);
	ms_stream__add_device(&s->stream, ts, MS_DEV_KIND_REF, MS_ROLE_SOURCE, 0, 1, "src");
	ms_stream__add_device(&s->stream, ts, MS_DEV_KIND_REF, MS_ROLE_DEST, 0, 0, "dst");
	ms_stream__add_device(&s->stream, ts, MS_DEV_KIND_QEMU_SECTION, MS_ROLE_SOURCE, 0,
			      MS_DEV_NONE, "ram");
	/* both sides: the destination's section and its qemu-vm device (watch --dst-qmp) */
	ms_stream__add_device(&s->stream, ts, MS_DEV_KIND_QEMU_SECTION, MS_ROLE_DEST, 0,
			      MS_DEV_NONE, "ram");
	ms_stream__add_device(&s->stream, ts, MS_DEV_KIND_QEMU_VM, MS_ROLE_DEST, 0, MS_DEV_NONE,
			      "destination");

	while (off + 8 <= size) {
		union {
			struct ms_event_hdr hdr;
			uint8_t raw[sizeof(struct ms_event_hdr) + 256];
		} ev;
		uint32_t dt;
		uint16_t len;
		size_t n;

		memset(&ev, 0, sizeof(ev));
		ev.hdr.type = (uint16_t)(data[off] % (MS_EV__MAX + 1));
		/* mostly the registered devices, sometimes none or one never added */
		ev.hdr.dev = data[off + 1] < 200 ? data[off + 1] % 6 : MS_DEV_NONE;
		memcpy(&dt, data + off + 4, sizeof(dt));
		ts = data[off + 2] & 1 ? ts - (ts > dt ? dt : 0) : ts + dt;
		ev.hdr.ts_ns = ts;
		off += 8;
		/* no new devices: their variable tails are the registry's business */
		if (ev.hdr.type == MS_EV_DEV_ADD || ev.hdr.type == MS_EV_TRACK_START)
			continue;
		len = ms_event_fixed_len(ev.hdr.type);
		n = size - off < len ? size - off : len;
		memcpy(ev.raw + sizeof(ev.hdr), data + off, n);
		off += n;
		ev.hdr.len = len;
		ms_stream__publish(&s->stream, &ev.hdr);
	}

	/* the breakdowns of a timeline's and of the VM's downtime add up, whatever the input */
	if (!ms_telemetry__analyze(&s->telemetry, &s->devices, &r)) {
		const struct ms_tm_split *sp = &r.vm.split;

		if (sp->have && sp->source_ns + sp->transfer_ns + sp->load_ns + sp->resume_ns +
					sp->unaccounted_ns !=
				    r.vm.downtime_end_ns - r.vm.downtime_start_ns)
			abort();
		for (uint32_t id = 0; id < r.nr; id++) {
			const struct ms_tm_downtime *dt = &r.dev[id].dt;

			if (ms_tm_downtime__by_arcs(dt) &&
			    (dt->end_ns < dt->start_ns || dt->stop_ns + dt->stopcopy_ns +
								  dt->ack_ns + dt->wait_ns +
								  dt->resume_ns !=
							      dt->end_ns - dt->start_ns))
				abort();
		}
	}
	ms_tm_report__free(&r);
	json_object_put(ms_report__json(&s->view));
	if (devnull)
		ms_report__print_text(&s->view, devnull);
	ms_report__perfetto(&s->view, "/dev/null", err, sizeof(err));
	ms_report__svg(&s->view, "/dev/null", err, sizeof(err));
	ms_session__free(s);
	return 0;
}
