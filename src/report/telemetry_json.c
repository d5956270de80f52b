// SPDX-License-Identifier: GPL-2.0-only
/*
 * Telemetry in the JSON report (docs/report-schema.md): the "migration"
 * object and each device's downtime, arcs and convergence.  Every key is
 * always present (null when unknown) so consumers of the schema need no
 * guessing; numbers use the fixed formats of migscope/json.h.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <migscope/json.h>

#include "report_telemetry.h"

/* Most points of a series printed in the JSON report (the plot and trace have all). */
#define SERIES_MAX 100

const char *ms_report__size(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	double v = (double)bytes;
	int u = -1;

	while (v >= 1023.95 && u < 5) {
		v /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, len, "%u B", (unsigned int)bytes);
	else
		snprintf(buf, len, "%.1f %s", v, units[u]);
	return buf;
}

const char *ms_report__dur(uint64_t ns, char *buf, size_t len)
{
	if (ns < 9999950000ull)
		snprintf(buf, len, "%.1f ms", (double)ns / 1e6);
	else
		snprintf(buf, len, "%.2f s", (double)ns / 1e9);
	return buf;
}

static struct json_object *bytes_or_null(uint64_t v)
{
	return v == MS_STAT_UNSET ? NULL : ms_json_u64(v);
}

static struct json_object *ms_or_null(uint64_t ns)
{
	return ns == MS_STAT_UNSET ? NULL : ms_json_ms(ns);
}

static struct json_object *rate(double bps)
{
	uint64_t mag = ms_tm_u64(fabs(bps) + 0.5);

	/* rates are signed (a falling pending count); saturate like ms_json_u64 */
	if (mag > INT64_MAX)
		mag = INT64_MAX;
	return json_object_new_int64(bps < 0 ? -(int64_t)mag : (int64_t)mag);
}

/*
 * Up to SERIES_MAX evenly spaced samples, always the first and the last: the
 * judged series as {t_ms, pending}, the pre-copy samples as {t_ms, initial, dirty}.
 */
static struct json_object *series_json(const struct ms_tm_report *r, const struct ms_tm_sample *s,
				       uint32_t n, int split)
{
	struct json_object *arr = json_object_new_array();
	uint32_t m = n > SERIES_MAX ? SERIES_MAX : n;

	for (uint32_t k = 0; k < m; k++) {
		const struct ms_tm_sample *x = &s[m > 1 ? (uint64_t)k * (n - 1) / (m - 1) : 0];
		struct json_object *o = json_object_new_object();

		ms_json_add(o, "t_ms", ms_json_fixed(ms_report__rel_ms(r, x->ts_ns), 3));
		if (split) {
			ms_json_add(o, "initial", ms_json_u64(x->initial));
			ms_json_add(o, "dirty", ms_json_u64(x->dirty));
		} else {
			ms_json_add(o, "pending", ms_json_u64(ms_tm_sample__pending(x)));
		}
		json_object_array_add(arr, o);
	}
	return arr;
}

/* The judged series' pass boundaries and the pass that ended at each. */
static struct json_object *passes_json(const struct ms_tm_report *r, const struct ms_tm_pass *p,
				       uint32_t n)
{
	struct json_object *arr = json_object_new_array();

	/* the first and the last 99: a long run's report stays small, its latest passes whole */
	for (uint32_t i = 0; i < n; i = i || n <= 100 ? i + 1 : n - 99) {
		struct json_object *o = json_object_new_object();

		ms_json_add(o, "t_ms", ms_json_fixed(ms_report__rel_ms(r, p[i].ts_ns), 3));
		ms_json_add(o, "left_bytes", ms_json_u64(p[i].left));
		ms_json_add(o, "reinit", json_object_new_boolean(p[i].flags & MS_PASS_REINIT));
		ms_json_add(o, "duration_ms", i ? ms_json_ms(p[i].dur_ns) : NULL);
		ms_json_add(o, "dirty_bytes", i ? ms_json_u64(p[i].dirty) : NULL);
		ms_json_add(o, "dirty_rate_bps", i ? rate(p[i].dirty_bps) : NULL);
		ms_json_add(o, "transfer_rate_bps", i ? rate(p[i].transfer_bps) : NULL);
		json_object_array_add(arr, o);
	}
	return arr;
}

/* judged: the series the verdict was made on; pre: the pre-copy samples (REINITs are theirs) */
static struct json_object *
convergence_json(const struct ms_tm_report *r, const struct ms_tm_convergence *c,
		 const struct ms_tm_samples *judged, const struct ms_tm_samples *pre,
		 const struct ms_tm_pass *passes, uint32_t np, int expected)
{
	struct json_object *o = json_object_new_object(), *re, *at;
	/* the limit in force when the series was judged (its last sample) */
	uint64_t limit = c->limit_ns ? c->limit_ns : r->vm.limit_ns;

	ms_json_add(o, "verdict",
		    expected ? json_object_new_string(ms_verdict_name(c->verdict)) : NULL);
	ms_json_add(o, "reason", json_object_new_string(c->reason));
	ms_json_add(o, "basis", json_object_new_string(c->basis ? c->basis : "none"));
	ms_json_add(o, "samples", json_object_new_int64(c->samples));
	ms_json_add(o, "passes", json_object_new_int64(c->passes));
	ms_json_add(o, "initial_bytes", c->samples ? ms_json_u64(c->initial) : NULL);
	ms_json_add(o, "dirty_bytes", c->samples ? ms_json_u64(c->dirty) : NULL);
	ms_json_add(o, "pending_bytes", c->samples ? ms_json_u64(c->pending) : NULL);
	ms_json_add(o, "stopcopy_bytes", bytes_or_null(c->stopcopy));
	ms_json_add(o, "threshold_bytes", bytes_or_null(c->threshold));
	ms_json_add(o, "threshold_source",
		    json_object_new_string(c->threshold_source ? c->threshold_source : "none"));
	ms_json_add(o, "downtime_limit_ms", limit ? ms_json_ms(limit) : NULL);
	ms_json_add(o, "pass_ratio", c->ratio > 0 ? ms_json_fixed(c->ratio, 3) : NULL);
	ms_json_add(o, "transfer_rate_bps", c->have_rates ? rate(c->transfer_bps) : NULL);
	ms_json_add(o, "dirty_rate_bps", c->have_rates ? rate(c->dirty_bps) : NULL);
	ms_json_add(o, "switchover_in_ms", ms_or_null(c->switchover_ns));
	ms_json_add(o, "predicted_downtime_ms", ms_or_null(c->predicted_ns));
	ms_json_add(o, "over_limit",
		    c->predicted_ns != MS_STAT_UNSET && limit
			? json_object_new_boolean(c->predicted_ns >= limit)
			: NULL);
	re = json_object_new_object();
	at = json_object_new_array();
	for (uint32_t i = 0;
	     pre && i < c->reinits && i < sizeof(c->reinit_idx) / sizeof(c->reinit_idx[0]); i++)
		json_object_array_add(
		    at, ms_json_fixed(ms_report__rel_ms(r, pre->v[c->reinit_idx[i]].ts_ns), 3));
	ms_json_add(re, "count", json_object_new_int64(c->reinits));
	ms_json_add(re, "at_ms", at);
	ms_json_add(o, "reinit", re);
	ms_json_add(o, "pass_list", passes_json(r, passes, np));
	ms_json_add(o, "series",
		    series_json(r, judged ? judged->v : NULL, judged ? judged->nr : 0, 0));
	ms_json_add(o, "precopy", series_json(r, pre ? pre->v : NULL, pre ? pre->nr : 0, 1));
	return o;
}

/* The switchover decision judged by the driver's rule (null keys without a decision). */
static void switchover_json(const struct ms_tm_report *r, struct json_object *sw)
{
	const struct ms_tm_switchover *x = &r->vm.switchover;
	int judged = x->have && x->devices;

	ms_json_add(sw, "decided_at_ms",
		    x->have ? ms_json_fixed(ms_report__rel_ms(r, x->at_ns), 3) : NULL);
	ms_json_add(sw, "converged", judged ? json_object_new_boolean(x->converged) : NULL);
	ms_json_add(sw, "pending_bytes", judged ? ms_json_u64(x->check.pending) : NULL);
	ms_json_add(sw, "acks_outstanding",
		    judged ? json_object_new_int64(x->check.unacked) : NULL);
	ms_json_add(sw, "reason", x->have ? json_object_new_string(x->reason) : NULL);
}

static struct json_object *edge_json(const struct ms_tm_dt_edge *b)
{
	struct json_object *o = json_object_new_object();

	ms_json_add(o, "at", json_object_new_string(b->at));
	ms_json_add(o, "after", json_object_new_string(b->after));
	ms_json_add(o, "before", json_object_new_string(b->before));
	return o;
}

/* Every set of limits the session saw, in force from at_ms on. */
static struct json_object *limits_json(const struct ms_tm_report *r, const struct ms_telemetry *t)
{
	struct json_object *a = json_object_new_array();

	for (uint32_t i = 0; i < t->configs.nr; i++) {
		const struct ms_ev_config *l = &t->configs.v[i];
		struct json_object *o = json_object_new_object();

		ms_json_add(o, "at_ms", ms_json_fixed(ms_report__rel_ms(r, l->hdr.ts_ns), 3));
		ms_json_add(o, "changed_after_ms",
			    i && l->changed_after_ns
				? ms_json_fixed(ms_report__rel_ms(r, l->changed_after_ns), 3)
				: NULL);
		ms_json_add(o, "downtime_limit_ms",
			    l->downtime_limit_ns ? ms_json_ms(l->downtime_limit_ns) : NULL);
		ms_json_add(o, "bandwidth_bps",
			    l->bandwidth_bps ? ms_json_u64(l->bandwidth_bps) : NULL);
		json_object_array_add(a, o);
	}
	return a;
}

struct json_object *ms_report__migration_json(const struct ms_tm_report *r, const struct ms_view *s)
{
	struct json_object *bounds = NULL, *by = NULL;
	const struct ms_tm_vm *vm = &r->vm;
	struct json_object *o = json_object_new_object(), *sw = json_object_new_object();
	const struct ms_tm_samples series = { vm->series, vm->series_nr, vm->series_nr };

	ms_json_add(o, "status",
		    vm->have_status ? json_object_new_string(ms_qemu_mig_status_name(vm->status))
				    : NULL);
	ms_json_add(o, "downtime_ms",
		    vm->have_downtime ? ms_json_ms(vm->downtime_end_ns - vm->downtime_start_ns)
				      : NULL);
	ms_json_add(o, "downtime_source", json_object_new_string(vm->downtime_source));
	if (vm->have_downtime && vm->have_bounds) {
		bounds = json_object_new_array();
		json_object_array_add(bounds, ms_json_ms(vm->bound_lo_ns));
		json_object_array_add(bounds, ms_json_ms(vm->bound_hi_ns));
		by = json_object_new_object();
		ms_json_add(by, "start", edge_json(&vm->start));
		ms_json_add(by, "end", edge_json(&vm->end));
	}
	ms_json_add(o, "downtime_bounds_ms", bounds);
	ms_json_add(o, "downtime_bounded_by", by);
	ms_json_add(o, "downtime_split", ms_report__split_json(r, s));
	ms_json_add(o, "destination", ms_report__destination_json(r));
	ms_json_add(o, "downtime_start_ms",
		    vm->have_downtime
			? ms_json_fixed(ms_report__rel_ms(r, vm->downtime_start_ns), 3)
			: NULL);
	ms_json_add(o, "total_ms",
		    vm->have_total ? ms_json_ms(vm->total_end_ns - vm->total_start_ns) : NULL);
	ms_json_add(o, "qmp_downtime_ms", bytes_or_null(vm->qmp_downtime_ms));
	ms_json_add(o, "qmp_total_ms", bytes_or_null(vm->qmp_total_ms));
	ms_json_add(o, "qmp_expected_downtime_ms", bytes_or_null(vm->qmp_expected_downtime_ms));
	ms_json_add(o, "downtime_limit_ms", vm->limit_ns ? ms_json_ms(vm->limit_ns) : NULL);
	ms_json_add(o, "limits_judged_at_ms",
		    vm->limits_at_ns != UINT64_MAX
			? ms_json_fixed(ms_report__rel_ms(r, vm->limits_at_ns), 3)
			: NULL);
	ms_json_add(o, "limits", limits_json(r, s->telemetry));
	ms_json_add(o, "bandwidth_bps", vm->bandwidth_bps ? ms_json_u64(vm->bandwidth_bps) : NULL);
	ms_json_add(o, "bandwidth_source", json_object_new_string(vm->bandwidth_source));
	ms_json_add(o, "threshold_bytes", bytes_or_null(vm->threshold));
	ms_json_add(sw, "acks_requested", json_object_new_int64(vm->acks_requested));
	ms_json_add(sw, "acks", json_object_new_int64(vm->acks));
	ms_json_add(sw, "ack_wait_ms", ms_json_ms(vm->ack_wait_ns));
	switchover_json(r, sw);
	ms_json_add(o, "switchover", sw);
	ms_json_add(o, "convergence",
		    convergence_json(r, &vm->conv, &series, NULL, vm->passes, vm->passes_nr, 1));
	ms_json_add(o, "telemetry_dropped", ms_json_u64(s->telemetry->dropped));
	return o;
}

static struct json_object *arc_json(const struct ms_tm_report *r, const struct ms_tm_arc *a,
				    const char *side)
{
	struct json_object *o = json_object_new_object();

	ms_json_add(o, "from", json_object_new_string(ms_tm_state_name(a->domain, a->from)));
	ms_json_add(o, "to", json_object_new_string(ms_tm_state_name(a->domain, a->to)));
	ms_json_add(o, "ms", ms_json_ms(a->dur_ns));
	ms_json_add(o, "at_ms", ms_json_fixed(ms_report__rel_ms(r, a->end_ns), 3));
	if (side)
		ms_json_add(o, "side", json_object_new_string(side));
	ms_json_add(o, "err", json_object_new_int(a->err));
	return o;
}

static struct json_object *downtime_json(const struct ms_tm_report *r,
					 const struct ms_tm_downtime *dt)
{
	struct json_object *o = json_object_new_object();

	ms_json_add(o, "method", json_object_new_string(ms_tm_method_name(dt->method)));
	ms_json_add(o, "complete", json_object_new_boolean(dt->complete));
	ms_json_add(o, "start_ms", ms_json_fixed(ms_report__rel_ms(r, dt->start_ns), 3));
	ms_json_add(o, "end_ms", ms_json_fixed(ms_report__rel_ms(r, dt->end_ns), 3));
	ms_json_add(o, "share_pct", r->vm.have_downtime ? ms_json_fixed(dt->share * 100, 1) : NULL);
	ms_json_add(o, "busy_ms", ms_json_ms(dt->busy_ns));
	ms_json_add(o, "stop_ms", ms_json_ms(dt->stop_ns));
	ms_json_add(o, "stopcopy_ms", ms_json_ms(dt->stopcopy_ns));
	ms_json_add(o, "switchover_ack_ms", ms_json_ms(dt->ack_ns));
	ms_json_add(o, "wait_ms", ms_json_ms(dt->wait_ns));
	ms_json_add(o, "resume_ms", ms_json_ms(dt->resume_ns));
	return o;
}

static struct json_object *name_or_null(const struct ms_view *s, uint32_t id)
{
	const struct ms_device_info *p = ms_devices__get(s->devices, id);

	return p ? json_object_new_string(p->name) : NULL;
}

void ms_report__device_telemetry(const struct ms_tm_report *r, const struct ms_view *s, uint32_t id,
				 struct json_object *o)
{
	const struct ms_tm_dev_result *x = &r->dev[id];
	const struct ms_tm_device *dev = ms_telemetry__device(s->telemetry, id);
	const struct ms_device_info *info = ms_devices__get(s->devices, id);
	struct json_object *arcs = json_object_new_array(), *tl = json_object_new_array();
	struct json_object *bytes = json_object_new_object(), *sec = json_object_new_object();
	static const char *const phases[] = { "precopy", "stopcopy", "resume" };

	ms_json_add(o, "peer", name_or_null(s, info ? info->peer : MS_DEV_NONE));
	ms_json_add(o, "counted_in", name_or_null(s, x->counted_in));
	ms_json_add(o, "downtime_ms",
		    x->dt.have ? ms_json_ms(x->dt.end_ns - x->dt.start_ns) : NULL);
	ms_json_add(o, "downtime", x->dt.have ? downtime_json(r, &x->dt) : NULL);
	for (uint32_t i = 0; i < x->arcs_nr; i++)
		json_object_array_add(
		    arcs, arc_json(r, x->arcs[i].arc, x->arcs[i].dest ? "destination" : "source"));
	ms_json_add(o, "arcs", arcs);
	for (uint32_t i = 0; dev && i < ms_tm_timeline(dev)->nr; i++)
		json_object_array_add(tl, arc_json(r, &ms_tm_timeline(dev)->v[i], NULL));
	ms_json_add(o, "timeline", tl);
	/* a virtio device's mode changes, when its timeline is its VFIO arcs */
	tl = json_object_new_array();
	for (uint32_t i = 0; dev && ms_tm_timeline(dev) != &dev->modes && i < dev->modes.nr; i++)
		json_object_array_add(tl, arc_json(r, &dev->modes.v[i], NULL));
	ms_json_add(o, "modes", tl);
	ms_json_add(o, "precopy_ms", x->have_precopy ? ms_json_ms(x->precopy_ns) : NULL);
	for (size_t p = 0; p < sizeof(phases) / sizeof(phases[0]); p++)
		ms_json_add(bytes, phases[p], ms_json_u64(dev ? dev->data[p] : 0));
	ms_json_add(o, "bytes", bytes);
	ms_json_add(
	    o, "convergence",
	    convergence_json(
		r, &x->conv,
		dev ? (!strcmp(x->conv.basis, "stopcopy") ? &dev->stopcopy : &dev->samples) : NULL,
		dev ? &dev->samples : NULL, x->passes, x->passes_nr,
		ms_tm_verdict_expected(info, &x->conv)));
	ms_json_add(sec, "saves", json_object_new_int64(dev ? dev->saves.nr : 0));
	ms_json_add(sec, "save_ms", ms_json_ms(x->save_ns));
	ms_json_add(sec, "loads", json_object_new_int64(dev ? dev->loads.nr : 0));
	ms_json_add(sec, "load_ms", ms_json_ms(x->load_ns));
	ms_json_add(o, "sections", sec);
}
