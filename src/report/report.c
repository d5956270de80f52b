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

#include "report_telemetry.h"

static const char *session_source_name(uint32_t src)
{
	switch (src) {
	case MS_SESSION_SYNTH:
		return "synth";
	case MS_SESSION_PROFILE:
		return "profile";
	case MS_SESSION_WATCH:
		return "watch";
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

static struct json_object *session_json(const struct ms_session *s)
{
	const struct ms_stats *st = &s->stats;
	struct json_object *o = json_object_new_object();
	const char *keys[] = { "host", "kernel", "machine" };
	char buf[64];

	ms_json_add(o, "source", json_object_new_string(st->have_session ?
				session_source_name(st->session.source) : "unknown"));
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *v = ms_host_info__get(&s->info, keys[i]);

		ms_json_add(o, keys[i], json_object_new_string(v ? v : ""));
	}
	if (st->have_session) {
		iso8601(st->session.realtime_ns, buf, sizeof(buf));
		ms_json_add(o, "started", json_object_new_string(buf));
	}
	ms_json_add(o, "duration_ms", ms_json_ms(st->total ? st->last_ts - st->first_ts : 0));
	ms_json_add(o, "complete", json_object_new_boolean(st->have_end));
	ms_json_add(o, "status", json_object_new_int(st->have_end ? st->end.status : 0));
	ms_json_add(o, "error", st->have_end && st->end.status ?
		    json_object_new_string(st->end_why[0] ? st->end_why : strerror(-st->end.status)) :
		    NULL);
	return o;
}

static struct json_object *events_json(const struct ms_session *s)
{
	const struct ms_stats *st = &s->stats;
	struct json_object *o = json_object_new_object();
	struct json_object *by = json_object_new_object();

	ms_json_add(o, "total", ms_json_u64(st->total));
	ms_json_add(o, "unknown", ms_json_u64(st->by_type[MS_EV__MAX]));
	for (unsigned int t = 1; t < MS_EV__MAX; t++)
		if (st->by_type[t])
			ms_json_add(by, ms_event_type_name(t), ms_json_u64(st->by_type[t]));
	ms_json_add(o, "by_type", by);
	return o;
}

static struct json_object *devices_json(const struct ms_session *s, const struct ms_tm_report *tm)
{
	struct json_object *arr = json_object_new_array();

	for (uint32_t id = 0; id < s->devices.nr; id++) {
		const struct ms_device_info *d = ms_devices__get(&s->devices, id);
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

struct json_object *ms_report__json(const struct ms_session *s)
{
	struct json_object *root = json_object_new_object();
	struct ms_tm_report tm;
	int have_tm = !ms_telemetry__analyze(&s->telemetry, &s->devices, &tm);

	ms_json_add(root, "schema_version", json_object_new_int(MS_REPORT_SCHEMA));
	ms_json_add(root, "session", session_json(s));
	/* without memory for the analysis the report still carries what it can */
	ms_json_add(root, "migration", have_tm ? ms_report__migration_json(&tm, s) : NULL);
	ms_json_add(root, "devices", devices_json(s, have_tm ? &tm : NULL));
	ms_json_add(root, "events", events_json(s));
	ms_tracker__report_json(s->tracker, root);
	ms_tm_report__free(&tm);
	return root;
}

void ms_report__print_text(const struct ms_session *s, FILE *out)
{
	const struct ms_stats *st = &s->stats;
	const char *host = ms_host_info__get(&s->info, "host");
	struct ms_tm_report tm;
	int col;

	fprintf(out, "session: %s on %s, %.3f ms, %" PRIu64 " events%s\n\n",
		st->have_session ? session_source_name(st->session.source) : "unknown",
		host ? host : "?", st->total ? (double)(st->last_ts - st->first_ts) / 1e6 : 0.0,
		st->total, st->have_end ? "" : " (incomplete: no end record)");
	if (st->have_end && st->end.status)
		fprintf(out, "FAILED (%s): %s\n\n", strerror(-st->end.status),
			st->end_why[0] ? st->end_why : "no reason recorded");
	if (ms_telemetry__analyze(&s->telemetry, &s->devices, &tm))
		fprintf(out, "telemetry: failed to analyze: %s\n", strerror(ENOMEM));
	else
		ms_report__print_table(&tm, s, out);
	ms_tm_report__free(&tm);

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
	ms_tracker__print_text(s->tracker, out, MS_DEV_NONE, true);
}
