// SPDX-License-Identifier: GPL-2.0-only
/*
 * The report: a fixed frame (schema, session, events, devices) that every
 * consumer's section is added into, in one place, in one order.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include <migscope/json.h>
#include <migscope/report.h>
#include <migscope/vfio_fsm.h>

#include "report_telemetry.h"

/*
 * A session end's status (a negative errno) as text.  It comes from a
 * capture, so it may be anything: -INT32_MIN is not an int, and a positive
 * or unknown one is named by its number.
 */
static const char *end_status_text(int32_t status, char *buf, size_t len)
{
	if (status < 0 && status > -4096)
		return strerror(-status);
	snprintf(buf, len, "status %" PRId32, status);
	return buf;
}

static const char *session_source_name(uint32_t src)
{
	switch (src) {
	case MS_SESSION_SYNTH:
		return "synth";
	case MS_SESSION_PROFILE:
		return "profile";
	case MS_SESSION_WATCH:
		return "watch";
	case MS_SESSION_IMPORT:
		return "import";
	default:
		return "unknown";
	}
}

static void iso8601(uint64_t realtime_ns, char *buf, size_t len)
{
	time_t sec = (time_t)(realtime_ns / 1000000000ull);
	struct tm tm;

	if (!gmtime_r(&sec, &tm)) {
		snprintf(buf, len, "unknown");
		return;
	}
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (unsigned int)(realtime_ns / 1000000ull % 1000));
}

/* session.dirty_rate: whether QEMU's dirty rate was sampled, how, and if not why; null: not said */
static struct json_object *dirty_rate_json(const struct ms_stats *st)
{
	static const char *const states[] = {
		[MS_DRS_SAMPLING] = "sampling",	  [MS_DRS_TCG] = "tcg",
		[MS_DRS_OPTED_OUT] = "opted_out", [MS_DRS_UNSUPPORTED] = "unsupported",
		[MS_DRS_REFUSED] = "refused",	  [MS_DRS_UNKNOWN] = "unknown",
	};
	static const char *const modes[] = { "page-sampling", "dirty-bitmap", "dirty-ring" };
	struct json_object *o, *arr;
	char line[512];

	if (!st->have_drs && !st->dr_windows)
		return NULL;
	o = json_object_new_object();
	ms_json_add(o, "sampled", json_object_new_boolean(st->dr_windows > 0));
	ms_json_add(o, "state",
		    st->have_drs && st->drs.state < sizeof(states) / sizeof(states[0])
			? json_object_new_string(states[st->drs.state])
			: NULL);
	arr = json_object_new_array();
	for (unsigned int m = 0; m < 3; m++)
		if (st->dr_modes & (1u << m))
			json_object_array_add(arr, json_object_new_string(modes[m]));
	ms_json_add(o, "modes", arr);
	arr = json_object_new_array();
	if (st->dr_windows) {
		json_object_array_add(arr, ms_json_ms(st->dr_min_ns));
		json_object_array_add(arr, ms_json_ms(st->dr_max_ns));
	}
	ms_json_add(o, "windows_ms", arr);
	ms_json_add(o, "windows", ms_json_u64(st->dr_windows));
	arr = json_object_new_array();
	for (uint64_t i = 0; i < st->dr_windows && i < MS_STATS_DIRTY_RATES; i++) {
		const struct ms_ev_dirty_rate *d = &st->dr[i];
		struct json_object *w = json_object_new_object();
		uint64_t t0 = st->first_ts; /* as every at_ms: the earliest record */

		ms_json_add(w, "end_ms", ms_json_ms(d->hdr.ts_ns > t0 ? d->hdr.ts_ns - t0 : 0));
		ms_json_add(w, "window_ms", ms_json_ms(d->window_ns));
		ms_json_add(w, "rate_bps", ms_json_u64(d->rate_bps));
		ms_json_add(w, "rate_hi_bps", ms_json_u64(d->rate_hi_bps));
		ms_json_add(w, "mode",
			    json_object_new_string(d->mode < 3 ? modes[d->mode] : "unknown"));
		json_object_array_add(arr, w);
	}
	ms_json_add(o, "list", arr);
	ms_json_add(o, "reason",
		    st->have_drs && st->drs_why[0] ? json_object_new_string(st->drs_why) : NULL);
	ms_stats__dirty_rate_line(st, line, sizeof(line));
	ms_json_add(o, "line", json_object_new_string(line));
	return o;
}

static struct json_object *session_json(const struct ms_view *s)
{
	const struct ms_stats *st = s->stats;
	struct json_object *o = json_object_new_object();
	const char *keys[] = { "host", "kernel", "machine" };
	char buf[64];

	ms_json_add(o, "source",
		    json_object_new_string(
			st->have_session ? session_source_name(st->session.source) : "unknown"));
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *v = ms_host_info__get(s->info, keys[i]);

		ms_json_add(o, keys[i], json_object_new_string(v ? v : ""));
	}
	/* the VM watched (a libvirt domain's name): the info block's, so a replay says it too */
	ms_json_add(o, "vm", ms_host_info__get(s->info, "vm") ?
		    json_object_new_string(ms_host_info__get(s->info, "vm")) : NULL);
	if (st->have_session) {
		iso8601(st->session.realtime_ns, buf, sizeof(buf));
		ms_json_add(o, "started", json_object_new_string(buf));
	}
	ms_json_add(o, "duration_ms", ms_json_ms(st->total ? st->last_ts - st->first_ts : 0));
	ms_json_add(o, "complete", json_object_new_boolean(st->have_end));
	ms_json_add(o, "status", json_object_new_int(st->have_end ? st->end.status : 0));
	ms_json_add(o, "error", st->have_end && st->end.status ?
		    json_object_new_string(st->end_why[0] ? st->end_why
							   : end_status_text(st->end.status, buf,
									     sizeof(buf))) :
		    NULL);
	ms_json_add(o, "dirty_rate", dirty_rate_json(st));
	return o;
}

static struct json_object *events_json(const struct ms_view *s)
{
	const struct ms_stats *st = s->stats;
	struct json_object *o = json_object_new_object();
	struct json_object *by = json_object_new_object();

	ms_json_add(o, "total", ms_json_u64(st->total));
	ms_json_add(o, "unknown", ms_json_u64(st->by_type[MS_EV__MAX]));
	for (unsigned int t = 1; t < MS_EV__MAX; t++)
		if (st->by_type[t])
			ms_json_add(by, ms_event_type_name(t), ms_json_u64(st->by_type[t]));
	ms_json_add(o, "by_type", by);
	ms_json_add(o, "rejected_dev_add", ms_json_u64(s->devices->rejected));
	ms_json_add(o, "rejected_dev_add_first",
		    s->devices->rejected ? json_object_new_string(s->devices->first_rejected)
					 : NULL);
	return o;
}

static void arc_name(const struct ms_arc *a, char *buf, size_t len)
{
	char f[16], t[16];

	snprintf(buf, len, "%s->%s%s", ms_vfio_state_name(a->from, f, sizeof(f)),
		 ms_vfio_state_name(a->to, t, sizeof(t)), a->err ? " (failed)" : "");
}

/* The kernel's arcs against the driven ones, for a device profile put under watch. */
static struct json_object *kernel_arcs_json(const struct ms_arc_dev *d)
{
	struct json_object *o = json_object_new_object();
	const char *why = ms_arccheck__why_not(d);
	struct ms_arc_result r;
	char b[48];

	ms_json_add(o, "watched", json_object_new_boolean(d->state == MS_ARC_WATCHED));
	ms_json_add(o, "why_not", why ? json_object_new_string(why) : NULL);
	if (why) {
		ms_json_add(o, "verdict", NULL);
		return o;
	}
	ms_arccheck__match(d, &r);
	ms_json_add(o, "driven", json_object_new_int64(r.driven));
	ms_json_add(o, "seen", json_object_new_int64(r.seen));
	ms_json_add(o, "matched", json_object_new_int64(r.matched));
	ms_json_add(o, "missing", json_object_new_int64(r.missing));
	ms_json_add(o, "extra", json_object_new_int64(r.extra));
	ms_json_add(o, "verdict", json_object_new_string(r.missing || r.extra ? "mismatch" : "match"));
	if (r.first_bad >= 0)
		arc_name(&d->driven[r.first_bad], b, sizeof(b));
	ms_json_add(o, "first_missing", r.first_bad >= 0 ? json_object_new_string(b) : NULL);
	if (r.first_extra >= 0)
		arc_name(&d->seen[r.first_extra], b, sizeof(b));
	ms_json_add(o, "first_extra", r.first_extra >= 0 ? json_object_new_string(b) : NULL);
	return o;
}

static void print_kernel_arcs(const struct ms_view *s, FILE *out)
{
	int header = 0;

	for (uint32_t id = 0; id < s->devices->nr; id++) {
		const struct ms_arc_dev *d = ms_arccheck__dev(s->arcs, id);
		const char *why, *name;
		struct ms_arc_result r;
		char buf[40], b[48];

		if (!d)
			continue;
		if (!header++)
			fprintf(out, "\nkernel arcs (vfio_mig_get_next_state against the arcs driven):\n"
				     "%-20s %7s %6s %8s %8s %6s  %s\n",
				"DEVICE", "DRIVEN", "SEEN", "MATCHED", "MISSING", "EXTRA", "VERDICT");
		name = ms_devices__name(s->devices, id, buf, sizeof(buf));
		why = ms_arccheck__why_not(d);
		if (why) {
			fprintf(out, "%-20.20s %7s %6s %8s %8s %6s  %s\n", name, "-", "-", "-", "-",
				"-", why);
			continue;
		}
		ms_arccheck__match(d, &r);
		fprintf(out, "%-20.20s %7u %6u %8u %8u %6u  %s", name, r.driven, r.seen, r.matched,
			r.missing, r.extra, r.missing || r.extra ? "mismatch" : "match");
		if (r.first_bad >= 0) {
			arc_name(&d->driven[r.first_bad], b, sizeof(b));
			fprintf(out, ": first missing %s", b);
		}
		if (r.first_extra >= 0) {
			arc_name(&d->seen[r.first_extra], b, sizeof(b));
			fprintf(out, "%s first extra %s", r.first_bad >= 0 ? ";" : ":", b);
		}
		fputc('\n', out);
	}
}

static struct json_object *devices_json(const struct ms_view *s, const struct ms_tm_report *tm)
{
	struct json_object *arr = json_object_new_array();

	for (uint32_t id = 0; id < s->devices->nr; id++) {
		const struct ms_device_info *d = ms_devices__get(s->devices, id);
		struct json_object *o;

		if (!d)
			continue;
		o = json_object_new_object();
		ms_json_add(o, "id", json_object_new_int((int32_t)d->id));
		ms_json_add(o, "name", json_object_new_string(d->name));
		ms_json_add(o, "kind", json_object_new_string(ms_dev_kind_name(d->kind)));
		ms_json_add(o, "role", json_object_new_string(ms_dev_role_name(d->role)));
		if (tm)
			ms_report__device_telemetry(tm, s, id, o);
		if (ms_arccheck__dev(s->arcs, id))
			ms_json_add(o, "kernel_arcs",
				    kernel_arcs_json(ms_arccheck__dev(s->arcs, id)));
		json_object_array_add(arr, o);
	}
	/*
	 * records for an id no DEV_ADD registered are listed, never dropped (the
	 * count once: it scans back over empty slots, and a hostile capture's
	 * ids can be large)
	 */
	for (uint32_t id = 0, nr = ms_tracker__nr_ids(s->tracker); id < nr; id++) {
		struct ms_dirty_summary sum;
		struct json_object *o;
		char name[32];

		if (ms_devices__get(s->devices, id) ||
		    ms_tracker__device_summary(s->tracker, id, &sum))
			continue;
		o = json_object_new_object();
		ms_json_add(o, "id", json_object_new_int((int32_t)id));
		ms_json_add(
		    o, "name",
		    json_object_new_string(ms_devices__name(s->devices, id, name, sizeof(name))));
		ms_json_add(o, "kind", json_object_new_string("unregistered"));
		ms_json_add(o, "role", json_object_new_string("unknown"));
		json_object_array_add(arr, o);
	}
	return arr;
}

struct json_object *ms_report__device(struct json_object *report, uint32_t id)
{
	struct json_object *arr;

	if (!json_object_object_get_ex(report, "devices", &arr))
		return NULL;
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		struct json_object *o = json_object_array_get_idx(arr, i), *v;

		if (json_object_object_get_ex(o, "id", &v) && json_object_get_int64(v) == id)
			return o;
	}
	return NULL;
}

struct json_object *ms_report__json(const struct ms_view *s)
{
	struct json_object *root = json_object_new_object();
	struct ms_tm_report tm;
	int have_tm = !ms_telemetry__analyze(s->telemetry, s->devices, &tm);

	ms_json_add(root, "schema_version", json_object_new_int(MS_REPORT_SCHEMA));
	ms_json_add(root, "session", session_json(s));
	/* without memory for the analysis the report still carries what it can */
	ms_json_add(root, "migration", have_tm ? ms_report__migration_json(&tm, s) : NULL);
	ms_json_add(root, "devices", devices_json(s, have_tm ? &tm : NULL));
	ms_json_add(root, "events", events_json(s));
	ms_report__tracker_json(s->tracker, root);
	ms_tm_report__free(&tm);
	return root;
}

void ms_report__print_text(const struct ms_view *s, FILE *out)
{
	const struct ms_stats *st = s->stats;
	const char *host = ms_host_info__get(s->info, "host");
	const char *vm = ms_host_info__get(s->info, "vm");
	struct ms_tm_report tm;
	char status[32];
	int col;

	fprintf(out, "session: %s%s%s on %s, %.3f ms, %" PRIu64 " events%s\n\n",
		st->have_session ? session_source_name(st->session.source) : "unknown",
		vm ? " of VM " : "", vm ? vm : "", host ? host : "?", st->total ? (double)(st->last_ts - st->first_ts) / 1e6 : 0.0,
		st->total, st->have_end ? "" : " (incomplete: no end record)");
	if (st->have_end && st->end.status)
		fprintf(out, "FAILED (%s): %s\n\n",
			end_status_text(st->end.status, status, sizeof(status)),
			st->end_why[0] ? st->end_why : "no reason recorded");
	{
		char line[512];

		ms_stats__dirty_rate_line(st, line, sizeof(line));
		if (line[0])
			fprintf(out, "dirty rate: %s\n\n", line);
	}
	if (ms_telemetry__analyze(s->telemetry, s->devices, &tm))
		fprintf(out, "telemetry: failed to analyze: %s\n", strerror(ENOMEM));
	else
		ms_report__print_table(&tm, s, out);
	ms_tm_report__free(&tm);
	print_kernel_arcs(s, out);

	col = fprintf(out, "\nevents:");
	for (unsigned int t = 1, first = 1; t <= MS_EV__MAX; t++) {
		uint64_t n = st->by_type[t];
		char item[48];
		int len;

		if (!n)
			continue;
		if (!first)
			col += fprintf(out, ",");
		first = 0;
		len = snprintf(item, sizeof(item), " %s %" PRIu64,
			       t < MS_EV__MAX ? ms_event_type_name(t) : "unknown-type", n);
		if (col + len > 100)
			col = fprintf(out, "\n       ") - 1;
		col += fprintf(out, "%s", item);
	}
	fputc('\n', out);
	if (s->devices->rejected)
		fprintf(out, "%" PRIu64 " malformed DEV_ADD record%s refused (first: %s)\n",
			s->devices->rejected, s->devices->rejected == 1 ? "" : "s",
			s->devices->first_rejected);
	ms_report__print_dirty(s->tracker, s->devices, out, MS_DEV_NONE, true);
}
