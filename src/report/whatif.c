// SPDX-License-Identifier: GPL-2.0-only
/*
 * The what-if report: the predicted switchover beside the recorded one, per
 * device the downtime and its split.  The recorded split is the report's own
 * (devices[].downtime); the prediction changes what the decision changes, the
 * bytes each device moves while stopped and their time on the link, and
 * keeps what it does not (arc latencies).  Devices are stopped, copied and
 * resumed one after another, so every device's downtime moves with the sum of
 * the stop-copy times.
 */
#include <stdio.h>
#include <string.h>

#include <migscope/json.h>
#include <migscope/parse.h>
#include <migscope/report.h>
#include <migscope/whatif.h>

static double jnum(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_double(v) : 0.0;
}

static struct json_object *jget(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

/* milliseconds, as the report prints them */
static struct json_object *jms(double ms)
{
	return ms_json_fixed(ms, 3);
}

struct json_object *ms_report__whatif(const struct ms_view *s, const struct ms_whatif_result *r)
{
	struct json_object *rep = ms_report__json(s), *o = json_object_new_object();
	struct json_object *mig = jget(rep, "migration"), *devs = json_object_new_array();
	struct json_object *rec = json_object_new_object(), *pred = json_object_new_object();
	struct json_object *set = json_object_new_object();
	double start = (double)s->stats->first_ts, delta = 0.0;
	double sc_rec[MS_WHATIF_MAX_DEV], sc_pred[MS_WHATIF_MAX_DEV];
	struct json_object *dj[MS_WHATIF_MAX_DEV] = { 0 };

	ms_json_add(set, "bandwidth_bps", ms_json_u64(r->bps));
	ms_json_add(set, "downtime_limit_ms", jms((double)r->limit_ns / 1e6));
	ms_json_add(set, "switchover_ack", json_object_new_boolean(r->ack));
	ms_json_add(set, "reinit", json_object_new_boolean(r->reinit));
	ms_json_add(o, "settings", set);
	ms_json_add(o, "answerable", json_object_new_boolean(r->answerable));
	ms_json_add(o, "reason", json_object_new_string(r->reason));
	ms_json_add(o, "limits", r->limits[0] ? json_object_new_string(r->limits) : NULL);

	ms_json_add(rec, "decided_at_ms", jms(((double)r->recorded_ts - start) / 1e6));
	ms_json_add(rec, "downtime_ms", jms(jnum(mig, "downtime_ms")));
	ms_json_add(rec, "bandwidth_bps", ms_json_u64(r->rec_bps));
	ms_json_add(rec, "downtime_limit_ms", jms((double)r->rec_limit_ns / 1e6));
	ms_json_add(o, "recorded", rec);

	for (unsigned int i = 0; i < r->ndev; i++) {
		struct json_object *d = ms_report__device(rep, r->dev[i]),
				   *dt = jget(d, "downtime");
		double rec_bps = (double)r->rec_bps;

		dj[i] = dt;
		sc_rec[i] = jnum(dt, "stopcopy_ms");
		/* the link time changes with the bytes and the rate; the rest of it stays */
		sc_pred[i] = sc_rec[i];
		if (rec_bps > 0)
			sc_pred[i] -= (double)r->rec_stopcopy_bytes[i] * 1e3 / rec_bps;
		sc_pred[i] += (double)r->stopcopy_bytes[i] * 1e3 / (double)r->bps;
		if (sc_pred[i] < 0)
			sc_pred[i] = 0;
		delta += sc_rec[i] - sc_pred[i];
	}
	if (r->answerable) {
		ms_json_add(pred, "decided_at_ms", jms(((double)r->predicted_ts - start) / 1e6));
		ms_json_add(pred, "downtime_ms", jms(jnum(mig, "downtime_ms") - delta));
		ms_json_add(pred, "stopcopy_bytes", ms_json_u64(r->check.pending));
		ms_json_add(pred, "threshold_bytes", ms_json_u64(r->check.threshold));
	}
	ms_json_add(o, "predicted", r->answerable ? pred : (json_object_put(pred), NULL));

	for (unsigned int i = 0; i < r->ndev; i++) {
		struct json_object *d = json_object_new_object(), *x = json_object_new_object(),
				   *y = json_object_new_object(),
				   *dev = ms_report__device(rep, r->dev[i]);
		struct json_object *dt = dj[i];
		double down = jnum(dev, "downtime_ms");

		ms_json_add(d, "id", ms_json_u64(r->dev[i]));
		ms_json_add(d, "name", json_object_get(jget(dev, "name")));
		ms_json_add(x, "downtime_ms", jms(down));
		ms_json_add(x, "stop_ms", jms(jnum(dt, "stop_ms")));
		ms_json_add(x, "stopcopy_ms", jms(sc_rec[i]));
		ms_json_add(x, "stopcopy_bytes", ms_json_u64(r->rec_stopcopy_bytes[i]));
		ms_json_add(x, "wait_ms", jms(jnum(dt, "wait_ms") + jnum(dt, "switchover_ack_ms")));
		ms_json_add(x, "resume_ms", jms(jnum(dt, "resume_ms")));
		ms_json_add(d, "recorded", x);
		if (r->answerable) {
			double pd = down - delta,
			       wait = pd - jnum(dt, "stop_ms") - sc_pred[i] - jnum(dt, "resume_ms");

			ms_json_add(y, "downtime_ms", jms(pd));
			ms_json_add(y, "stop_ms", jms(jnum(dt, "stop_ms")));
			ms_json_add(y, "stopcopy_ms", jms(sc_pred[i]));
			ms_json_add(y, "stopcopy_bytes", ms_json_u64(r->stopcopy_bytes[i]));
			ms_json_add(y, "wait_ms", jms(wait > 0 ? wait : 0));
			ms_json_add(y, "resume_ms", jms(jnum(dt, "resume_ms")));
			ms_json_add(d, "predicted", y);
		} else {
			json_object_put(y);
		}
		json_object_array_add(devs, d);
	}
	ms_json_add(o, "devices", devs);
	json_object_put(rep);
	return o;
}

void ms_report__print_whatif(struct json_object *o, FILE *out)
{
	struct json_object *set = jget(o, "settings"), *rec = jget(o, "recorded"),
			   *pred = jget(o, "predicted"), *devs = jget(o, "devices");
	char bw[24], rbw[24];

	ms_fmt_bytes((uint64_t)jnum(set, "bandwidth_bps"), bw, sizeof(bw));
	ms_fmt_bytes((uint64_t)jnum(rec, "bandwidth_bps"), rbw, sizeof(rbw));
	fprintf(out, "what if: %s/s, downtime limit %.0f ms, switchover-ack %s, REINIT %s\n", bw,
		jnum(set, "downtime_limit_ms"),
		json_object_get_boolean(jget(set, "switchover_ack")) ? "on" : "off",
		json_object_get_boolean(jget(set, "reinit")) ? "on" : "off");
	fprintf(out, "recorded: %s/s, limit %.0f ms\n", rbw, jnum(rec, "downtime_limit_ms"));
	if (!pred) {
		fprintf(out, "%s\n", json_object_get_string(jget(o, "reason")));
		return;
	}
	fprintf(out, "switchover: %s\n", json_object_get_string(jget(o, "reason")));
	if (jget(o, "limits"))
		fprintf(out, "assumes: %s\n", json_object_get_string(jget(o, "limits")));
	fprintf(out, "\n%-16s %12s %12s\n", "", "RECORDED", "PREDICTED");
	fprintf(out, "%-16s %9.1f ms %9.1f ms\n", "switchover at", jnum(rec, "decided_at_ms"),
		jnum(pred, "decided_at_ms"));
	fprintf(out, "%-16s %9.1f ms %9.1f ms\n", "VM downtime", jnum(rec, "downtime_ms"),
		jnum(pred, "downtime_ms"));
	fprintf(out, "\n%-16s %10s %10s %8s %10s %8s %8s\n", "DEVICE", "", "DOWNTIME", "STOP",
		"STOP-COPY", "WAIT", "RESUME");
	for (size_t i = 0; i < json_object_array_length(devs); i++) {
		struct json_object *d = json_object_array_get_idx(devs, i);
		const char *which[2] = { "recorded", "predicted" };

		for (int k = 0; k < 2; k++) {
			struct json_object *x = jget(d, which[k]);

			fprintf(out, "%-16s %10s %7.1f ms %5.1f ms %7.1f ms %5.1f ms %5.1f ms\n",
				k ? "" : json_object_get_string(jget(d, "name")), which[k],
				jnum(x, "downtime_ms"), jnum(x, "stop_ms"), jnum(x, "stopcopy_ms"),
				jnum(x, "wait_ms"), jnum(x, "resume_ms"));
		}
	}
}
