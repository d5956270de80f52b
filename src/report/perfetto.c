// SPDX-License-Identifier: GPL-2.0-only
/*
 * --perfetto FILE: the session as Chrome trace-event JSON, which Perfetto
 * (ui.perfetto.dev) and chrome://tracing open.  One process, one track
 * (thread) per device: its states and the arcs between them as slices; the
 * VM's pre-copy and downtime on track 0; pending bytes, stop-copy size and
 * dirty rate as counter tracks; REINIT, pass boundaries, switchover and VM
 * stop/resume as instant events.  Times are microseconds from the session start.
 *
 * Streamed with stdio rather than built as a json-c tree: a long capture has
 * hundreds of thousands of samples.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <migscope/report.h>

#include "report_telemetry.h"

struct pf {
	FILE *f;
	int first;
	const struct ms_tm_report *r;
	const struct ms_view *s;
	uint64_t end_ns; /* the last record's time: open states last until then */
};

static void put_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\u%04x", c); /* names are bytes; keep the file valid UTF-8 */
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static double us(const struct pf *p, uint64_t ts)
{
	return ms_report__rel_ms(p->r, ts) * 1e3;
}

/* Start one trace event: {"ph":..,"pid":1,"tid":..,"name":..,"ts":.. */
static void ev(struct pf *p, char ph, uint32_t tid, const char *name, uint64_t ts)
{
	fputs(p->first ? "\n" : ",\n", p->f);
	p->first = 0;
	fprintf(p->f, "{\"ph\":\"%c\",\"pid\":1,\"tid\":%" PRIu32 ",\"name\":", ph, tid);
	put_str(p->f, name);
	fprintf(p->f, ",\"ts\":%.3f", us(p, ts));
}

static void slice(struct pf *p, uint32_t tid, const char *cat, const char *name, uint64_t start,
		  uint64_t end, int err)
{
	ev(p, 'X', tid, name, start);
	fprintf(p->f, ",\"dur\":%.3f,\"cat\":\"%s\"", end > start ? (double)(end - start) / 1e3 : 0,
		cat);
	if (err)
		fprintf(p->f, ",\"args\":{\"err\":%d}", err);
	fputc('}', p->f);
}

static void instant(struct pf *p, uint32_t tid, const char *name, uint64_t ts, int global)
{
	ev(p, 'i', tid, name, ts);
	fprintf(p->f, ",\"s\":\"%c\"}", global ? 'g' : 't');
}

/* A pass boundary of a judged series: "pass 1" begins at the first. */
static void pass_instant(struct pf *p, uint32_t tid, uint32_t i, uint64_t ts)
{
	char name[32];

	snprintf(name, sizeof(name), "pass %u", i + 1);
	instant(p, tid, name, ts, 0);
}

/* A counter sample: args are key/value pairs, nkeys of them. */
static void counter(struct pf *p, const char *dev, const char *what, uint64_t ts,
		    const char *const *keys, const double *vals, int nkeys)
{
	char name[MS_NAME_MAX + 32];

	snprintf(name, sizeof(name), "%s %s", dev, what);
	ev(p, 'C', 0, name, ts);
	fputs(",\"args\":{", p->f);
	for (int i = 0; i < nkeys; i++)
		fprintf(p->f, "%s\"%s\":%.0f", i ? "," : "", keys[i], vals[i]);
	fputs("}}", p->f);
}

static void meta(struct pf *p, uint32_t tid, const char *what, const char *name, int sort)
{
	fputs(p->first ? "\n" : ",\n", p->f);
	p->first = 0;
	fprintf(p->f, "{\"ph\":\"M\",\"pid\":1,\"tid\":%" PRIu32 ",\"name\":\"%s\",\"args\":{", tid,
		what);
	if (name) {
		fputs("\"name\":", p->f);
		put_str(p->f, name);
	} else {
		fprintf(p->f, "\"sort_index\":%d", sort);
	}
	fputs("}}", p->f);
}

static void device_states(struct pf *p, uint32_t id, const struct ms_tm_device *dev)
{
	const struct ms_tm_arc *a = ms_tm_timeline(dev)->v;
	uint32_t tid = id + 1, n = ms_tm_timeline(dev)->nr;
	char name[64];

	for (uint32_t i = 0; i < n; i++) {
		uint64_t start = a[i].end_ns - a[i].dur_ns;
		/* the state before the first arc, from the session start */
		uint64_t prev_end = i ? a[i - 1].end_ns : p->r->t0_ns;

		if (start > prev_end)
			slice(p, tid, "state",
			      ms_tm_state_name(a[i].domain, i ? a[i - 1].to : a[i].from), prev_end,
			      start, 0);
		snprintf(name, sizeof(name), "%s -> %s", ms_tm_state_name(a[i].domain, a[i].from),
			 ms_tm_state_name(a[i].domain, a[i].to));
		slice(p, tid, "arc", name, start, a[i].end_ns, a[i].err);
	}
	if (n && p->end_ns > a[n - 1].end_ns)
		slice(p, tid, "state", ms_tm_state_name(a[n - 1].domain, a[n - 1].to),
		      a[n - 1].end_ns, p->end_ns, 0);
	/* virtio mode changes nested in the VFIO arcs they happened in */
	for (uint32_t i = 0; ms_tm_timeline(dev) != &dev->modes && i < dev->modes.nr; i++) {
		const struct ms_tm_arc *m = &dev->modes.v[i];

		snprintf(name, sizeof(name), "%s -> %s", ms_tm_state_name(m->domain, m->from),
			 ms_tm_state_name(m->domain, m->to));
		slice(p, tid, "mode", name, m->end_ns - m->dur_ns, m->end_ns, m->err);
	}
	for (uint32_t i = 0; i < dev->saves.nr; i++)
		slice(p, tid, "section", "save", dev->saves.v[i].start_ns, dev->saves.v[i].end_ns,
		      0);
	for (uint32_t i = 0; i < dev->loads.nr; i++)
		slice(p, tid, "section", "load", dev->loads.v[i].start_ns, dev->loads.v[i].end_ns,
		      0);
}

static const char *switchover_name(uint64_t phase)
{
	switch (phase) {
	case MS_SWITCHOVER_ACK_REQUESTED:
		return "switchover-ack requested";
	case MS_SWITCHOVER_ACKED:
		return "switchover acked";
	case MS_SWITCHOVER_DECIDED:
		return "switchover decided";
	case MS_SWITCHOVER_DONE:
		return "switchover done";
	default:
		return "switchover";
	}
}

/* Pending bytes, stop-copy size and dirty rate of one series as counters. */
static void series_counters(struct pf *p, const char *name, const struct ms_tm_sample *s,
			    uint32_t n, int split, int moves_known)
{
	static const char *const split_keys[] = { "initial", "dirty" };
	static const char *const one_key[] = { "bytes" };
	static const char *const rate_key[] = { "bytes_per_s" };

	for (uint32_t i = 0; i < n; i++) {
		double v[2] = { (double)s[i].initial, (double)s[i].dirty }, bps;

		if (split)
			counter(p, name, "pending bytes", s[i].ts_ns, split_keys, v, 2);
		else
			counter(p, name, "pending bytes", s[i].ts_ns, one_key, v, 1);
		if (i && !ms_tm_dirty_rate(&s[i - 1], &s[i], moves_known, &bps))
			counter(p, name, "dirty rate", s[i].ts_ns, rate_key, &bps, 1);
	}
}

/* The downtime by side, nested in the downtime slice (docs/telemetry.md, "Both sides"). */
static void split_slices(struct pf *p, const struct ms_tm_vm *vm)
{
	static const char *const names[] = { "source", "transfer", "destination load",
					     "destination resume", "unaccounted" };
	const struct ms_tm_split *sp = &vm->split;
	uint64_t part[] = { sp->source_ns, sp->transfer_ns, sp->load_ns, sp->resume_ns,
			    sp->unaccounted_ns };
	uint64_t at = vm->downtime_start_ns;

	if (!sp->have)
		return;
	for (unsigned int i = 0; i < sizeof(part) / sizeof(part[0]); i++) {
		if (part[i])
			slice(p, 0, "downtime", names[i], at, at + part[i], 0);
		at += part[i];
	}
}

static void write_trace(struct pf *p)
{
	const struct ms_tm_report *r = p->r;
	const struct ms_view *s = p->s;
	const struct ms_telemetry *t = s->telemetry;
	static const char *const one_key[] = { "bytes" };
	char title[64];

	snprintf(title, sizeof(title), "migscope %s",
		 s->stats->have_session
		     ? (s->stats->session.source == MS_SESSION_WATCH	 ? "watch"
			: s->stats->session.source == MS_SESSION_PROFILE ? "profile"
			: s->stats->session.source == MS_SESSION_IMPORT	 ? "import"
									 : "synth")
		     : "session");
	fputs("{\"displayTimeUnit\":\"ms\",\"otherData\":{\"generator\":\"migscope\"},"
	      "\"traceEvents\":[",
	      p->f);
	meta(p, 0, "process_name", title, 0);
	meta(p, 0, "thread_name", "VM", 0);
	meta(p, 0, "thread_sort_index", NULL, 0);
	if (r->vm.have_total && r->vm.have_downtime &&
	    r->vm.downtime_start_ns > r->vm.total_start_ns)
		slice(p, 0, "vm", "pre-copy", r->vm.total_start_ns, r->vm.downtime_start_ns, 0);
	if (r->vm.have_downtime)
		slice(p, 0, "vm", "downtime", r->vm.downtime_start_ns, r->vm.downtime_end_ns, 0);
	split_slices(p, &r->vm);
	for (uint32_t i = 0; i < t->runstate.nr; i++)
		instant(p, 0, t->runstate.v[i].v ? "VM resumed" : "VM stopped",
			t->runstate.v[i].ts_ns, 1);
	for (uint32_t i = 0; i < t->status.nr; i++) {
		snprintf(title, sizeof(title), "migration %s",
			 ms_qemu_mig_status_name((uint32_t)t->status.v[i].v));
		instant(p, 0, title, t->status.v[i].ts_ns, 1);
	}
	for (uint32_t i = 0; i < t->switchover.nr; i++)
		instant(p, 0, switchover_name(t->switchover.v[i].v), t->switchover.v[i].ts_ns, 1);
	/* where each pass ended: what the verdict is judged on */
	for (uint32_t i = 0; i < r->vm.passes_nr; i++)
		pass_instant(p, 0, i, r->vm.passes[i].ts_ns);
	if (r->vm.series_nr)
		series_counters(p, "VM", r->vm.series, r->vm.series_nr, 0, 1);
	/* the threshold and the limit as steps: each change of the limits in force moves them */
	for (uint32_t i = 0; i <= t->configs.nr; i++) {
		uint64_t ts =
		    i ? (i < t->configs.nr ? t->configs.v[i].hdr.ts_ns : p->end_ns) : r->t0_ns;
		uint64_t thr = ms_telemetry__threshold_at(t, ts, r->vm.bandwidth_bps);
		const struct ms_ev_config *l = ms_telemetry__config_at(t, ts);
		double v;

		if (ts < r->t0_ns)
			continue;
		if (thr != MS_STAT_UNSET) {
			v = (double)thr;
			counter(p, "VM", "threshold bytes", ts, one_key, &v, 1);
		}
		if (l->downtime_limit_ns) {
			static const char *const ms_key[] = { "ms" };

			v = (double)l->downtime_limit_ns / 1e6;
			counter(p, "VM", "downtime limit", ts, ms_key, &v, 1);
		}
		if (i && i < t->configs.nr)
			instant(p, 0, "limits changed", ts, 1);
	}

	for (uint32_t id = 0; id < r->nr; id++) {
		const struct ms_device_info *d = ms_devices__get(s->devices, id);
		const struct ms_tm_device *dev = ms_telemetry__device(t, id);
		char label[MS_NAME_MAX + 40];

		if (!d || !dev)
			continue;
		snprintf(label, sizeof(label), "%s (%s, %s)", d->name, ms_dev_kind_name(d->kind),
			 ms_dev_role_name(d->role));
		meta(p, id + 1, "thread_name", label, 0);
		meta(p, id + 1, "thread_sort_index", NULL, (int)id + 1);
		device_states(p, id, dev);
		for (uint32_t k = 0; k < r->dev[id].conv.reinits &&
				     k < sizeof(r->dev[id].conv.reinit_idx) / sizeof(uint32_t);
		     k++)
			instant(p, id + 1, "REINIT",
				dev->samples.v[r->dev[id].conv.reinit_idx[k]].ts_ns, 0);
		for (uint32_t i = 0; i < dev->switchover.nr; i++)
			instant(p, id + 1, switchover_name(dev->switchover.v[i].v),
				dev->switchover.v[i].ts_ns, 0);
		/* the destination QEMU's own (a qemu-vm device): its resume, its going away */
		for (uint32_t i = 0; i < dev->runstate.nr; i++)
			instant(p, id + 1, dev->runstate.v[i].v ? "VM resumed" : "VM stopped",
				dev->runstate.v[i].ts_ns, 0);
		if (dev->lost_ns && d->kind == MS_DEV_KIND_QEMU_VM)
			instant(p, id + 1, "went away", dev->lost_ns, 0);
		for (uint32_t i = 0; i < r->dev[id].passes_nr; i++)
			pass_instant(p, id + 1, i, r->dev[id].passes[i].ts_ns);
		series_counters(p, d->name, dev->samples.v, dev->samples.nr,
				dev->basis == MS_EV_PRECOPY, dev->data[MS_PHASE_PRECOPY] > 0);
		for (uint32_t i = 0; i < dev->stopcopy.nr; i++) {
			double v = (double)dev->stopcopy.v[i].initial;

			counter(p, d->name, "stop-copy bytes", dev->stopcopy.v[i].ts_ns, one_key,
				&v, 1);
		}
	}
	fputs("\n]}\n", p->f);
}

static void write_perfetto(FILE *f, const struct ms_view *s, const struct ms_tm_report *r)
{
	struct pf p = { .f = f, .first = 1, .r = r, .s = s };

	/* open states last until the last record */
	p.end_ns = s->stats->total ? s->stats->last_ts : r->t0_ns;
	write_trace(&p);
}

int ms_report__perfetto(const struct ms_view *s, const char *path, char *err, size_t errlen)
{
	return ms_report__write_file(s, path, write_perfetto, err, errlen);
}
