// SPDX-License-Identifier: GPL-2.0-only
/*
 * --events-json: one JSON object a line for every migration status change,
 * pass boundary, limit change, device arc and verdict change, and one at the
 * end (include/migscope/events_json.h, docs/report-schema.md): a renderer
 * that subscribes to the bus, as the progress line does.
 *
 * Verdicts are the telemetry's analysis of what it has kept so far, taken
 * after each of the records above and after each dirty rate QEMU measured:
 * what changes a verdict is a pass boundary, a measured rate, a new limit, a
 * status or an arc, so that is where a change is looked for (a verdict that
 * flips between two samples of one pass and back is not a change of the
 * pass-to-pass trend).  Same records, same lines.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include <migscope/events_json.h>
#include <migscope/json.h>
#include <migscope/qemu.h>

#define VERDICT_NONE (-1) /* nothing written yet */
#define VERDICT_NULL (-2) /* none expected (a destination, a section without samples) */

void ms_events_json__init(struct ms_events_json *e, FILE *out, const struct ms_devices *d,
			  const struct ms_telemetry *t)
{
	memset(e, 0, sizeof(*e));
	e->out = out;
	e->devices = d;
	e->telemetry = t;
}

void ms_events_json__free(struct ms_events_json *e)
{
	free(e->verdict);
	e->verdict = NULL;
	e->nr_verdict = 0;
}

static struct json_object *ms_since(const struct ms_events_json *e, uint64_t ts)
{
	return ms_json_ms(ts > e->t0_ns ? ts - e->t0_ns : 0);
}

/* A line's common head: the format version, its kind, when (stream and wall time). */
static struct json_object *line_new(const struct ms_events_json *e, const char *kind, uint64_t ts)
{
	struct json_object *o = json_object_new_object();
	char buf[64] = "";

	ms_json_add(o, "v", json_object_new_int(MS_EVENTS_JSON_VERSION));
	ms_json_add(o, "kind", json_object_new_string(kind));
	ms_json_add(o, "t_ms", ms_since(e, ts));
	if (e->have_wall) {
		uint64_t wall = e->wall_realtime_ns + (ts - e->wall_ts_ns);
		time_t sec = (time_t)(wall / 1000000000ull);
		struct tm tm;

		if (ts >= e->wall_ts_ns && gmtime_r(&sec, &tm))
			snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ",
				 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
				 tm.tm_min, tm.tm_sec, (unsigned int)(wall / 1000000ull % 1000));
	}
	ms_json_add(o, "time", buf[0] ? json_object_new_string(buf) : NULL);
	return o;
}

static void line_put(struct ms_events_json *e, struct json_object *o)
{
	if (!e->err) {
		fputs(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							    JSON_C_TO_STRING_NOSLASHESCAPE),
		      e->out);
		fputc('\n', e->out);
		/* live: a collector tailing the file sees each line as it happens */
		if (fflush(e->out) || ferror(e->out))
			e->err = errno ? -errno : -EIO;
		else
			e->lines++;
	}
	json_object_put(o);
}

static struct json_object *dev_name(const struct ms_events_json *e, uint32_t id)
{
	char buf[32];

	if (id == MS_DEV_NONE)
		return NULL;
	return json_object_new_string(ms_devices__name(e->devices, id, buf, sizeof(buf)));
}

static struct json_object *u64_or_null(uint64_t v)
{
	return v == MS_STAT_UNSET ? NULL : ms_json_u64(v);
}

/* slot for the VM (MS_DEV_NONE) or a device; NULL when out of memory */
static int *verdict_slot(struct ms_events_json *e, uint32_t id)
{
	uint32_t i = id == MS_DEV_NONE ? 0 : id + 1;

	if (i >= e->nr_verdict) {
		uint32_t n = i + 8;
		int *v = realloc(e->verdict, n * sizeof(*v));

		if (!v)
			return NULL;
		for (uint32_t k = e->nr_verdict; k < n; k++)
			v[k] = VERDICT_NONE;
		e->verdict = v;
		e->nr_verdict = n;
	}
	return &e->verdict[i];
}

static struct json_object *verdict_json(int v)
{
	return v < 0 ? NULL : json_object_new_string(ms_verdict_name((unsigned int)v));
}

static void verdict_line(struct ms_events_json *e, uint32_t id, int v, const char *reason,
			 uint64_t ts)
{
	int *slot = verdict_slot(e, id);
	struct json_object *o;

	if (!slot || *slot == v || (*slot == VERDICT_NONE && v == VERDICT_NULL))
		return;
	o = line_new(e, "verdict", ts);
	ms_json_add(o, "device", dev_name(e, id));
	ms_json_add(o, "verdict", verdict_json(v));
	ms_json_add(o, "was", verdict_json(*slot));
	ms_json_add(o, "reason", json_object_new_string(reason));
	*slot = v;
	line_put(e, o);
}

/* After a record that can change a verdict: one line for each verdict that changed. */
static void check_verdicts(struct ms_events_json *e, uint64_t ts)
{
	struct ms_tm_report r;

	if (e->err)
		return;
	if (ms_telemetry__analyze(e->telemetry, e->devices, &r)) {
		ms_tm_report__free(&r);
		return;
	}
	/* the devices first, as the report lists them; the VM's sums them up */
	for (uint32_t id = 0; id < r.nr; id++) {
		const struct ms_device_info *info = ms_devices__get(e->devices, id);
		const struct ms_tm_convergence *c = &r.dev[id].conv;

		if (!info)
			continue;
		verdict_line(e, id,
			     ms_tm_verdict_expected(info, c) ? (int)c->verdict : VERDICT_NULL,
			     c->reason, ts);
	}
	verdict_line(e, MS_DEV_NONE, (int)r.vm.conv.verdict, r.vm.conv.reason, ts);
	ms_tm_report__free(&r);
}

static void on_status(struct ms_events_json *e, const struct ms_ev_mig_status *m, uint32_t *last)
{
	struct json_object *o;

	/* MIGRATION_PASS comes as a status record too: a pass, not a change of status */
	if (m->status == *last)
		return;
	*last = m->status;
	o = line_new(e, "status", m->hdr.ts_ns);
	ms_json_add(o, "status", json_object_new_string(ms_qemu_mig_status_name(m->status)));
	line_put(e, o);
}

static void on_pass(struct ms_events_json *e, const struct ms_ev_pass *p)
{
	static const char *const origins[] = { "qemu_sync", "qmp", "device" };
	struct json_object *o = line_new(e, "pass", p->hdr.ts_ns);

	ms_json_add(o, "device", dev_name(e, p->hdr.dev));
	ms_json_add(o, "pass", json_object_new_int64(p->pass));
	ms_json_add(o, "origin",
		    json_object_new_string(p->origin < 3 ? origins[p->origin] : "unknown"));
	ms_json_add(o, "reinit", json_object_new_boolean(!!(p->flags & MS_PASS_REINIT)));
	ms_json_add(o, "left_bytes", u64_or_null(p->left));
	ms_json_add(o, "dirty_bytes", u64_or_null(p->dirty));
	ms_json_add(o, "duration_ms",
		    p->dur_ns && p->dur_ns != MS_STAT_UNSET ? ms_json_ms(p->dur_ns) : NULL);
	line_put(e, o);
}

static void on_config(struct ms_events_json *e, const struct ms_ev_config *c)
{
	struct json_object *o = line_new(e, "limits", c->hdr.ts_ns);

	ms_json_add(o, "downtime_limit_ms",
		    c->downtime_limit_ns ? ms_json_ms(c->downtime_limit_ns) : NULL);
	ms_json_add(o, "bandwidth_bps", c->bandwidth_bps ? ms_json_u64(c->bandwidth_bps) : NULL);
	/* the record's older, shorter layout has no changed_after_ns */
	ms_json_add(o, "changed_after_ms",
		    c->hdr.len >= MS_PAYLOAD_LEN(ms_ev_config) && c->changed_after_ns
			? ms_since(e, c->changed_after_ns)
			: NULL);
	line_put(e, o);
}

static void on_arc(struct ms_events_json *e, const struct ms_ev_dev_state *a)
{
	const struct ms_device_info *info = ms_devices__get(e->devices, a->hdr.dev);
	struct json_object *o = line_new(e, "arc", a->hdr.ts_ns);

	ms_json_add(o, "device", dev_name(e, a->hdr.dev));
	ms_json_add(o, "side", info ? json_object_new_string(ms_dev_role_name(info->role)) : NULL);
	ms_json_add(o, "from", json_object_new_string(ms_tm_state_name(a->domain, a->from)));
	ms_json_add(o, "to", json_object_new_string(ms_tm_state_name(a->domain, a->to)));
	ms_json_add(o, "ms", ms_json_ms(a->dur_ns));
	ms_json_add(o, "err", json_object_new_int(a->err));
	line_put(e, o);
}

static void on_end(struct ms_events_json *e, const struct ms_event_hdr *ev)
{
	const struct ms_ev_session_end *end = (const void *)ev;
	struct json_object *o = line_new(e, "end", ev->ts_ns);

	ms_json_add(o, "status", json_object_new_int(end->status));
	line_put(e, o);
}

static void on_event(void *ctx, const struct ms_event_hdr *ev)
{
	static const uint16_t need[MS_EV__MAX] = {
		[MS_EV_SESSION] = MS_PAYLOAD_LEN(ms_ev_session),
		[MS_EV_MIG_STATUS] = MS_PAYLOAD_LEN(ms_ev_mig_status),
		[MS_EV_PASS] = MS_PAYLOAD_LEN(ms_ev_pass),
		/* the first layout, before changed_after_ns was appended */
		[MS_EV_CONFIG] = MS_PAYLOAD_LEN(ms_ev_config) - sizeof(__u64),
		[MS_EV_DEV_STATE] = MS_PAYLOAD_LEN(ms_ev_dev_state),
		[MS_EV_SESSION_END] = MS_PAYLOAD_LEN(ms_ev_session_end),
		/* judged inside a pass (docs/telemetry.md, verdict step 9): no line of its own */
		[MS_EV_DIRTY_RATE] = MS_PAYLOAD_LEN(ms_ev_dirty_rate),
	};
	struct ms_events_json *e = ctx;
	static const uint32_t no_status = UINT32_MAX;

	if (!e->have_t0) {
		e->t0_ns = ev->ts_ns;
		e->have_t0 = 1;
		e->last_status = no_status;
	}
	if (e->err || ev->type >= MS_EV__MAX || !need[ev->type] || ev->len < need[ev->type])
		return;
	switch (ev->type) {
	case MS_EV_SESSION:
		if (!e->have_wall) {
			const struct ms_ev_session *s = (const void *)ev;

			e->wall_ts_ns = ev->ts_ns;
			e->wall_realtime_ns = s->realtime_ns;
			e->have_wall = 1;
		}
		return;
	case MS_EV_MIG_STATUS:
		on_status(e, (const void *)ev, &e->last_status);
		break;
	case MS_EV_PASS:
		on_pass(e, (const void *)ev);
		break;
	case MS_EV_CONFIG:
		on_config(e, (const void *)ev);
		break;
	case MS_EV_DEV_STATE:
		on_arc(e, (const void *)ev);
		break;
	case MS_EV_SESSION_END:
		check_verdicts(e, ev->ts_ns);
		on_end(e, ev);
		return;
	}
	check_verdicts(e, ev->ts_ns);
}

int ms_events_json__subscribe(struct ms_events_json *e, struct ms_bus *bus)
{
	/* every type: the first record's time is t_ms 0, as in the report */
	return ms_bus__subscribe(bus, MS_EV_ALL, on_event, e);
}
