// SPDX-License-Identifier: GPL-2.0-only
/*
 * The VM's downtime by side (migration.downtime_split, and one line under the
 * VM line of the table): docs/report-schema.md and docs/telemetry.md, "Both
 * sides".  The parts are printed as differences of the marks rounded to the
 * microsecond, so the printed parts add up to the printed downtime exactly.
 */
#include <stdlib.h>

#include <migscope/json.h>

#include "report_telemetry.h"

/* Microseconds from the downtime's start to mark ts, rounded. */
static uint64_t us_at(const struct ms_tm_vm *vm, uint64_t ts)
{
	return (ts - vm->downtime_start_ns + 500) / 1000;
}

/* The five cuts: start, saved, destination start, loaded, running (clamped), end. */
static void cuts(const struct ms_tm_vm *vm, uint64_t c[6])
{
	const struct ms_tm_split *sp = &vm->split;
	uint64_t s = vm->downtime_start_ns;

	c[0] = 0;
	c[1] = us_at(vm, s + sp->source_ns);
	c[2] = us_at(vm, s + sp->source_ns + sp->transfer_ns);
	c[3] = us_at(vm, s + sp->source_ns + sp->transfer_ns + sp->load_ns);
	c[4] = us_at(vm, s + sp->source_ns + sp->transfer_ns + sp->load_ns + sp->resume_ns);
	c[5] = us_at(vm, vm->downtime_end_ns);
}

static struct json_object *us_json(uint64_t us)
{
	return ms_json_fixed((double)us / 1000.0, 3);
}

static struct json_object *mark_json(const struct ms_tm_report *r, int have, uint64_t ts,
				     const char *by)
{
	struct json_object *o;

	if (!have)
		return NULL;
	o = json_object_new_object();
	ms_json_add(o, "at_ms", ms_json_fixed(ms_report__rel_ms(r, ts), 3));
	ms_json_add(o, "event", by ? json_object_new_string(by) : NULL);
	return o;
}

struct load_row {
	uint32_t id;
	uint64_t ns;
};

static int by_load(const void *a, const void *b)
{
	const struct load_row *x = a, *y = b;

	if (x->ns != y->ns)
		return x->ns < y->ns ? 1 : -1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* The destination's sections with a load inside the downtime, longest first. */
static struct json_object *sections_json(const struct ms_tm_report *r, const struct ms_view *s)
{
	struct json_object *a = json_object_new_array();
	struct load_row *rows = calloc(r->nr ? r->nr : 1, sizeof(*rows));
	uint32_t n = 0;

	for (uint32_t id = 0; rows && id < r->nr; id++)
		if (r->dev[id].downtime_load_by) {
			rows[n].id = id;
			rows[n++].ns = r->dev[id].downtime_load_ns;
		}
	if (rows)
		qsort(rows, n, sizeof(*rows), by_load);
	for (uint32_t i = 0; i < n; i++) {
		const struct ms_device_info *info = ms_devices__get(s->devices, rows[i].id);
		struct json_object *o = json_object_new_object();

		ms_json_add(o, "id", json_object_new_int64(rows[i].id));
		ms_json_add(o, "name", json_object_new_string(info ? info->name : ""));
		ms_json_add(o, "load_ms", ms_json_ms(rows[i].ns));
		ms_json_add(o, "by", json_object_new_string(r->dev[rows[i].id].downtime_load_by));
		json_object_array_add(a, o);
	}
	free(rows);
	return a;
}

struct json_object *ms_report__split_json(const struct ms_tm_report *r, const struct ms_view *s)
{
	const struct ms_tm_vm *vm = &r->vm;
	const struct ms_tm_split *sp = &vm->split;
	struct json_object *o, *marks;
	uint64_t c[6];

	if (!sp->have)
		return NULL;
	cuts(vm, c);
	o = json_object_new_object();
	ms_json_add(o, "downtime_ms", us_json(c[5]));
	ms_json_add(o, "source_ms", us_json(c[1]));
	ms_json_add(o, "transfer_ms", sp->have_saved ? us_json(c[2] - c[1]) : NULL);
	ms_json_add(o, "destination_ms", us_json(c[4] - c[2]));
	ms_json_add(o, "destination_load_ms", us_json(c[3] - c[2]));
	ms_json_add(o, "destination_resume_ms", us_json(c[4] - c[3]));
	ms_json_add(o, "unaccounted_ms", us_json(c[5] - c[4]));
	ms_json_add(o, "unaccounted",
		    sp->unaccounted ? json_object_new_string(sp->unaccounted) : NULL);
	ms_json_add(o, "guest_downtime_ms",
		    sp->have_running && sp->running_ns >= vm->downtime_start_ns
			? ms_json_ms(sp->running_ns - vm->downtime_start_ns)
			: NULL);
	ms_json_add(o, "resumed_after_end_ms", sp->have_running ? ms_json_ms(sp->beyond_ns) : NULL);
	marks = json_object_new_object();
	ms_json_add(marks, "source_saved",
		    mark_json(r, sp->have_saved, sp->saved_ns, sp->saved_by));
	ms_json_add(marks, "destination_start",
		    mark_json(r, 1, sp->dst_start_ns, sp->dst_start_by));
	ms_json_add(marks, "destination_loaded",
		    mark_json(r, sp->loaded_by != NULL, sp->loaded_ns, sp->loaded_by));
	ms_json_add(marks, "destination_running",
		    mark_json(r, sp->have_running, sp->running_ns, sp->running_by));
	ms_json_add(o, "marks", marks);
	ms_json_add(o, "sections", sections_json(r, s));
	return o;
}

struct json_object *ms_report__destination_json(const struct ms_tm_report *r)
{
	const struct ms_tm_split *sp = &r->vm.split;
	struct json_object *o;

	if (!sp->watched)
		return NULL;
	o = json_object_new_object();
	ms_json_add(o, "resumed_at_ms",
		    sp->have_running ? ms_json_fixed(ms_report__rel_ms(r, sp->running_ns), 3)
				     : NULL);
	ms_json_add(o, "resumed_by",
		    sp->have_running ? json_object_new_string(sp->running_by) : NULL);
	ms_json_add(o, "lost_at_ms",
		    sp->lost_ns ? ms_json_fixed(ms_report__rel_ms(r, sp->lost_ns), 3) : NULL);
	return o;
}

int ms_report__split_line(const struct ms_tm_report *r, char *buf, size_t len)
{
	const struct ms_tm_vm *vm = &r->vm;
	const struct ms_tm_split *sp = &vm->split;
	uint64_t c[6];
	int n;

	if (!sp->have && sp->lost_ns) {
		snprintf(buf, len, "the destination went away at %.3f ms: its records stop there",
			 ms_report__rel_ms(r, sp->lost_ns));
		return 1;
	}
	if (!sp->have)
		return 0;
	cuts(vm, c);
	if (sp->have_saved)
		n = snprintf(buf, len, "downtime by side: source %.3f + transfer %.3f", c[1] / 1e3,
			     (c[2] - c[1]) / 1e3);
	else
		n = snprintf(buf, len, "downtime by side: source and transfer %.3f", c[2] / 1e3);
	n += snprintf(buf + n, len > (size_t)n ? len - n : 0,
		      " + destination %.3f (load %.3f, resume %.3f)", (c[4] - c[2]) / 1e3,
		      (c[3] - c[2]) / 1e3, (c[4] - c[3]) / 1e3);
	if (c[5] > c[4])
		n += snprintf(buf + n, len > (size_t)n ? len - n : 0, " + unaccounted %.3f (%s)",
			      (c[5] - c[4]) / 1e3, sp->unaccounted ? sp->unaccounted : "");
	n += snprintf(buf + n, len > (size_t)n ? len - n : 0, " ms");
	if (sp->have_running && sp->beyond_ns)
		n += snprintf(buf + n, len > (size_t)n ? len - n : 0,
			      "; the destination resumed %.3f ms after the downtime's end (the "
			      "guest's downtime %.3f ms)",
			      (double)sp->beyond_ns / 1e6,
			      (double)(sp->running_ns - vm->downtime_start_ns) / 1e6);
	if (sp->lost_ns)
		snprintf(buf + n, len > (size_t)n ? len - n : 0,
			 "; the destination went away at %.3f ms",
			 ms_report__rel_ms(r, sp->lost_ns));
	return 1;
}
