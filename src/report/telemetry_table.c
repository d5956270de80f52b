// SPDX-License-Identifier: GPL-2.0-only
/*
 * The terminal report's device table: one row per device (a destination is
 * counted in its source's row), the VM line, then per device where its
 * downtime went and why its verdict is what it is.  Fits 100 columns.
 */
#include <stdio.h>
#include <string.h>

#include "report_telemetry.h"

#define WIDTH 100
/* QEMU has dozens of sections; the ones below 1% of the downtime share one row */
#define SECTION_MIN_SHARE 0.01
#define SECTION_ROWS_MAX  8

/* A unit after a number ("MiB", "ms", "MiB/s,") stays on the number's line. */
static int unit_word(const char *w, int len)
{
	static const char *const units[] = { "B",   "KiB", "MiB", "GiB", "TiB",
					     "PiB", "EiB", "ms",  "s" };

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		int n = (int)strlen(units[i]);

		if (len >= n && !strncmp(w, units[i], n) &&
		    (len == n || w[n] == '/' || w[n] == ',' || w[n] == ')' || w[n] == ';'))
			return 1;
	}
	return 0;
}

/* Print text wrapped at WIDTH, the first line after a prefix, the rest indented. */
static void print_wrapped(FILE *out, const char *prefix, int indent, const char *text)
{
	int col = fprintf(out, "%s", prefix);
	int fresh = !*prefix || prefix[strlen(prefix) - 1] == ' ';

	for (;;) {
		int len, glue;

		while (*text == ' ')
			text++;
		if (!*text)
			break;
		len = (int)strcspn(text, " ");
		/* a number and its unit wrap together */
		glue = len;
		if (text[len] == ' ' &&
		    unit_word(text + len + 1, (int)strcspn(text + len + 1, " ")))
			glue += 1 + (int)strcspn(text + len + 1, " ");
		if (!fresh && col + 1 + glue > WIDTH) {
			col = fprintf(out, "\n%*s", indent, "") - 1;
			fresh = 1;
		}
		if (!fresh) {
			fputc(' ', out);
			col++;
		}
		col += fprintf(out, "%.*s", len, text);
		fresh = 0;
		text += len;
	}
	fputc('\n', out);
}

static int is_section(const struct ms_view *s, uint32_t id)
{
	const struct ms_device_info *d = ms_devices__get(s->devices, id);

	return d && d->kind == MS_DEV_KIND_QEMU_SECTION;
}

/* The destination QEMU (watch --dst-qmp) is told on the VM line, not as a device row. */
static int is_vm(const struct ms_view *s, uint32_t id)
{
	const struct ms_device_info *d = ms_devices__get(s->devices, id);

	return d && d->kind == MS_DEV_KIND_QEMU_VM;
}

/* A section with nothing but a small share of the downtime goes into the summary row. */
static int minor_section(const struct ms_tm_report *r, const struct ms_view *s, uint32_t id)
{
	const struct ms_tm_dev_result *x = &r->dev[id];

	return is_section(s, id) && !x->conv.samples && x->dt.share < SECTION_MIN_SHARE;
}

static void row(const struct ms_tm_report *r, const struct ms_view *s, uint32_t id, FILE *out,
		int *widened)
{
	const struct ms_tm_dev_result *x = &r->dev[id];
	const struct ms_tm_device *dev = ms_telemetry__device(s->telemetry, id);
	char name[24], dt[16], share[8], pre[16], moved[16], pend[16], dirty[24];
	struct ms_dirty_summary ds;
	uint64_t bytes = dev ? dev->data[MS_PHASE_PRECOPY] + dev->data[MS_PHASE_STOPCOPY] : 0;
	const struct ms_device_info *d = ms_devices__get(s->devices, id);

	snprintf(name, sizeof(name), "%.22s", d->name);
	if (x->dt.have && x->dt.complete && x->dt.peer != MS_DEV_NONE && x->dt.peer != id)
		snprintf(name, sizeof(name), "%.10s>%.11s", d->name,
			 ms_devices__get(s->devices, x->dt.peer)->name);
	snprintf(dt, sizeof(dt), "-");
	snprintf(share, sizeof(share), "-");
	if (x->dt.have) {
		ms_report__dur(x->dt.end_ns - x->dt.start_ns, dt, sizeof(dt));
		if (r->vm.have_downtime)
			snprintf(share, sizeof(share), "%.1f%%", x->dt.share * 100);
	}
	if (x->have_precopy)
		ms_report__dur(x->precopy_ns, pre, sizeof(pre));
	else
		snprintf(pre, sizeof(pre), "-");
	if (bytes)
		ms_report__size(bytes, moved, sizeof(moved));
	else
		snprintf(moved, sizeof(moved), "-");
	if (x->conv.samples)
		ms_report__size(x->conv.pending, pend, sizeof(pend));
	else
		snprintf(pend, sizeof(pend), "-");
	/* the dirty tracker's pages over the session; '+' when it widened the set */
	snprintf(dirty, sizeof(dirty), "-");
	if (!ms_tracker__device_summary(s->tracker, id, &ds) && (ds.tracking || ds.pages)) {
		snprintf(dirty, sizeof(dirty), "%llu%s", (unsigned long long)ds.pages,
			 ds.widened_pages ? "+" : "");
		*widened |= !!ds.widened_pages;
	}
	fprintf(out, "%-22.22s %10s %6s %10s %10s %10s %-11s %12s\n", name, dt, share, pre, moved,
		pend, ms_tm_verdict_expected(d, &x->conv) ? ms_verdict_name(x->conv.verdict) : "-",
		dirty);
}

/* "+1.234 s" from the session start */
static const char *at(const struct ms_tm_report *r, uint64_t ts, char *buf, size_t len)
{
	snprintf(buf, len, "+%.3f s", ms_report__rel_ms(r, ts) / 1e3);
	return buf;
}

/* Each set of limits the session saw, when it came into force; nothing when they never changed. */
static void limits_lines(const struct ms_tm_report *r, const struct ms_telemetry *t, FILE *out)
{
	char line[256], b1[16], b2[16], b3[24], b4[24];

	if (t->configs.nr < 2)
		return;
	for (uint32_t i = 0; i < t->configs.nr; i++) {
		const struct ms_ev_config *l = &t->configs.v[i];
		int n = snprintf(line, sizeof(line), "%s %s", i ? "changed by" : "limits at",
				 at(r, l->hdr.ts_ns, b3, sizeof(b3)));

		if (i && l->changed_after_ns)
			n += snprintf(line + n, sizeof(line) - n, " (after %s)",
				      at(r, l->changed_after_ns, b4, sizeof(b4)));
		snprintf(line + n, sizeof(line) - n, ": limit %s, bandwidth %s%s",
			 l->downtime_limit_ns ? ms_report__dur(l->downtime_limit_ns, b1, sizeof(b1))
					      : "not set",
			 l->bandwidth_bps ? ms_report__size(l->bandwidth_bps, b2, sizeof(b2))
					  : "not set",
			 l->bandwidth_bps ? "/s" : "");
		print_wrapped(out, "    ", 8, line);
	}
}

/* The edge is read from the one event that bounds it on both sides (QEMU >= 8.2's own marks). */
static int exact_mark(const struct ms_tm_dt_edge *e)
{
	return e->after_ns == e->before_ns && e->at && e->after && e->before &&
	       !strcmp(e->at, e->after) && !strcmp(e->after, e->before);
}

/* The VM: status, downtime and total; the limit it was judged by; its verdict. */
static void vm_line(const struct ms_tm_report *r, const struct ms_telemetry *t, FILE *out)
{
	const struct ms_tm_vm *vm = &r->vm;
	char line[512], b1[16], b2[16];
	int n = snprintf(line, sizeof(line), "VM:");

	if (vm->have_status)
		n += snprintf(line + n, sizeof(line) - n, " %s,",
			      ms_qemu_mig_status_name(vm->status));
	if (vm->have_downtime && vm->have_bounds)
		n += snprintf(line + n, sizeof(line) - n,
			      " downtime %.3f ms (%s, between %.0f and %.0f)",
			      (double)(vm->downtime_end_ns - vm->downtime_start_ns) / 1e6,
			      vm->downtime_source, (double)vm->bound_lo_ns / 1e6,
			      (double)vm->bound_hi_ns / 1e6);
	else if (vm->have_downtime)
		n += snprintf(line + n, sizeof(line) - n, " downtime %.3f ms (%s)",
			      (double)(vm->downtime_end_ns - vm->downtime_start_ns) / 1e6,
			      vm->downtime_source);
	else
		n += snprintf(line + n, sizeof(line) - n, " downtime not measured");
	if (vm->qmp_downtime_ms != MS_STAT_UNSET)
		n += snprintf(line + n, sizeof(line) - n, ", QMP downtime %llu ms",
			      (unsigned long long)vm->qmp_downtime_ms);
	if (vm->have_total)
		snprintf(line + n, sizeof(line) - n, ", total %s",
			 ms_report__dur(vm->total_end_ns - vm->total_start_ns, b1, sizeof(b1)));
	print_wrapped(out, "", 4, line);
	if (vm->have_downtime && vm->have_bounds) {
		int at_start = exact_mark(&vm->start), at_end = exact_mark(&vm->end);

		n = snprintf(line, sizeof(line), "downtime read from %s to %s", vm->start.at,
			     vm->end.at);
		/* the event names are short constants; still, never write past the line */
		if (n > 0 && (size_t)n < sizeof(line)) {
			if (at_start && at_end)
				snprintf(line + n, sizeof(line) - n,
					 ", where QEMU marks its start and end");
			else
				snprintf(line + n, sizeof(line) - n,
					 "; it started %s %s%s%s, ended %s %s%s%s",
					 at_start ? "at" : "after", vm->start.after,
					 at_start ? "" : " and by ", at_start ? "" : vm->start.before,
					 at_end ? "at" : "after", vm->end.after,
					 at_end ? "" : " and by ", at_end ? "" : vm->end.before);
		}
		print_wrapped(out, "    ", 8, line);
	}
	if (ms_report__split_line(r, line, sizeof(line)))
		print_wrapped(out, "    ", 8, line);

	limits_lines(r, t, out);
	if (vm->limit_ns || vm->bandwidth_bps) {
		n = snprintf(line, sizeof(line), "limit %s",
			     vm->limit_ns ? ms_report__dur(vm->limit_ns, b1, sizeof(b1))
					  : "not set");
		if (vm->bandwidth_bps)
			n += snprintf(line + n, sizeof(line) - n, " at %s/s (%s)",
				      ms_report__size(vm->bandwidth_bps, b1, sizeof(b1)),
				      vm->bandwidth_source);
		if (vm->threshold != MS_STAT_UNSET)
			snprintf(line + n, sizeof(line) - n, ": %s fit",
				 ms_report__size(vm->threshold, b2, sizeof(b2)));
		print_wrapped(out, "    ", 8, line);
	}
	snprintf(line, sizeof(line), "%s: %s", ms_verdict_name(vm->conv.verdict), vm->conv.reason);
	print_wrapped(out, "    ", 8, line);
	if (vm->acks_requested || vm->acks)
		fprintf(out,
			"    switchover acks: %u requested, %u given; at least one outstanding for "
			"%.3f ms\n",
			vm->acks_requested, vm->acks, (double)vm->ack_wait_ns / 1e6);
	if (vm->switchover.have) {
		snprintf(line, sizeof(line), "switchover %s", vm->switchover.reason);
		print_wrapped(out, "    ", 8, line);
	}
}

/* Where a device's downtime went and why its verdict is what it is, under its name. */
/* The limit a series was judged against: the one in force at its last sample. */
static uint64_t conv_limit(const struct ms_tm_report *r, const struct ms_tm_convergence *c)
{
	return c->limit_ns ? c->limit_ns : r->vm.limit_ns;
}

static void details(const struct ms_tm_report *r, const struct ms_view *s, uint32_t id, FILE *out)
{
	const struct ms_tm_dev_result *x = &r->dev[id];
	int arcs = ms_tm_downtime__by_arcs(&x->dt);
	char line[320];

	if (!arcs && !x->conv.samples && x->conv.predicted_ns == MS_STAT_UNSET)
		return;
	fprintf(out, "%s\n", ms_devices__get(s->devices, id)->name);
	if (arcs) {
		snprintf(line, sizeof(line),
			 "downtime %.3f ms = stop %.3f + stop-copy %.3f + ack wait %.3f + "
			 "wait %.3f + resume %.3f%s",
			 (double)(x->dt.end_ns - x->dt.start_ns) / 1e6, (double)x->dt.stop_ns / 1e6,
			 (double)x->dt.stopcopy_ns / 1e6, (double)x->dt.ack_ns / 1e6,
			 (double)x->dt.wait_ns / 1e6, (double)x->dt.resume_ns / 1e6,
			 x->dt.complete ? "" : " (destination not seen)");
		print_wrapped(out, "    ", 8, line);
	}
	if (x->conv.samples) {
		snprintf(line, sizeof(line), "%s: %s", ms_verdict_name(x->conv.verdict),
			 x->conv.reason);
		print_wrapped(out, "    ", 8, line);
	}
	if (x->conv.reinits)
		fprintf(out, "    %u REINIT event%s: initial bytes grew again during pre-copy\n",
			x->conv.reinits, x->conv.reinits == 1 ? "" : "s");
	if (x->conv.predicted_ns != MS_STAT_UNSET)
		fprintf(
		    out, "    predicted downtime %.3f ms%s\n", (double)x->conv.predicted_ns / 1e6,
		    conv_limit(r, &x->conv) && x->conv.predicted_ns >= conv_limit(r, &x->conv)
			? " (over the limit)"
			: "");
}

void ms_report__print_table(const struct ms_tm_report *r, const struct ms_view *s, FILE *out)
{
	const struct ms_tm_vm *vm = &r->vm;
	uint32_t minor = 0, shown = 0;
	uint64_t minor_busy = 0;
	int widened = 0;

	fprintf(out, "%-22s %10s %6s %10s %10s %10s %-11s %12s\n", "DEVICE", "DOWNTIME", "SHARE",
		"PRE-COPY", "MOVED", "PENDING", "VERDICT", "DIRTY PAGES");
	for (uint32_t id = 0; id < r->nr; id++) {
		if (!r->dev[id].present || r->dev[id].counted_in != MS_DEV_NONE || is_vm(s, id))
			continue;
		if (minor_section(r, s, id) || (is_section(s, id) && shown >= SECTION_ROWS_MAX)) {
			minor++;
			minor_busy += r->dev[id].dt.busy_ns;
			continue;
		}
		shown += is_section(s, id);
		row(r, s, id, out, &widened);
	}
	if (minor) {
		char label[32], dt[16], share[8] = "-";
		uint64_t vm_dt = vm->downtime_end_ns - vm->downtime_start_ns;

		snprintf(label, sizeof(label), "(%u more sections)", minor);
		if (vm->have_downtime && vm_dt)
			snprintf(share, sizeof(share), "%.1f%%",
				 100.0 * (double)minor_busy / (double)vm_dt);
		fprintf(out, "%-22s %10s %6s\n", label, ms_report__dur(minor_busy, dt, sizeof(dt)),
			share);
	}
	if (widened)
		fprintf(out,
			"DIRTY PAGES +: the tracker widened the dirty set (lost records, unmaps, "
			"errors): see DIRTY below\n");
	fputc('\n', out);
	vm_line(r, s->telemetry, out);
	fputc('\n', out);
	for (uint32_t id = 0; id < r->nr; id++)
		if (r->dev[id].present && r->dev[id].counted_in == MS_DEV_NONE &&
		    !minor_section(r, s, id) && !is_vm(s, id))
			details(r, s, id, out);
}
