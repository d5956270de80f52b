// SPDX-License-Identifier: GPL-2.0-only
/*
 * --svg FILE: the convergence plot.  One panel per device (and one for the VM
 * when QEMU reported ram.remaining), all on one time axis, so nothing needs a
 * legend: each panel is titled with its device, verdict and reason; lines are
 * labelled at their right end; the threshold (the bytes that fit the downtime
 * limit) is a labelled dashed line; the switchover is a labelled vertical line
 * and the downtime a shaded band.  Each panel has its own byte scale, so a
 * 1 MiB device is as readable as 8 GiB of RAM.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <migscope/report.h>

#include "report_telemetry.h"

#define W	    960
#define ML	    78	/* left margin: byte tick labels */
#define MR	    150 /* right margin: line labels */
#define HEAD	    58	/* title block */
#define PANEL_TITLE 34	/* panel title and reason above each plot */
#define PLOT_H	    110
#define PANEL_GAP   18
#define FOOT	    46
#define MAX_PANELS  12
#define FONT	    "DejaVu Sans, Arial, Helvetica, sans-serif"

struct panel {
	const char *name;
	const struct ms_tm_sample *s;
	uint32_t n;
	const struct ms_tm_sample *sc; /* stop-copy sizes */
	uint32_t sc_n;
	const struct ms_tm_convergence *c;
	const struct ms_tm_dev_result *x; /* NULL for the VM */
	int have_down;
	uint64_t down_start, down_end;
};

struct plot {
	FILE *f;
	const struct ms_tm_report *r;
	const struct ms_telemetry *t;
	double xmax_s;
	int top;     /* of the current panel's plot area */
	double ymax; /* linear axis: its top */
	int log;     /* log axis, between 2^lmin and 2^lmax bytes */
	double lmin, lmax;
};

static const char *const palette[] = { "#0072B2", "#D55E00", "#009E73", "#CC79A7",
				       "#E69F00", "#56B4E9", "#000000" };

static void put_text(FILE *f, const char *s, size_t max)
{
	for (size_t i = 0; s[i] && i < max; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '&')
			fputs("&amp;", f);
		else if (c == '<')
			fputs("&lt;", f);
		else if (c == '>')
			fputs("&gt;", f);
		else if (c == '"')
			fputs("&quot;", f);
		else if (c < 0x20 || c >= 0x7f)
			fputc('?', f); /* names are bytes: keep the file valid XML and UTF-8 */
		else
			fputc(c, f);
	}
}

static const char *verdict_color(unsigned int v)
{
	switch (v) {
	case MS_VERDICT_CONVERGING:
		return "#1a7f37";
	case MS_VERDICT_STALLED:
		return "#a05a00";
	case MS_VERDICT_DIVERGING:
		return "#c62828";
	default:
		return "#555555";
	}
}

/* A 1-2-5 step at least raw. */
static double nice_step(double raw)
{
	double e = pow(10, floor(log10(raw))), m = raw / e;

	return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * e;
}

/* x of a time; a stream out of order can put a sample past the axis: keep it on the plot */
static double px_x(const struct plot *p, uint64_t ts)
{
	double x = ML + ms_report__rel_ms(p->r, ts) / 1e3 / p->xmax_s * (W - ML - MR);

	return x < W - MR ? x : W - MR;
}

static double px_y(const struct plot *p, double v)
{
	double f;

	if (p->log)
		f = ((v > 0 ? fmax(log2(v), p->lmin) : p->lmin) - p->lmin) / (p->lmax - p->lmin);
	else
		f = v / p->ymax;
	return p->top + PLOT_H - f * PLOT_H;
}

static void tick(struct plot *p, double v, const char *label)
{
	double y = px_y(p, v);

	fprintf(p->f,
		"<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#e3e3e3\"/>\n"
		"<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" font-size=\"11\" "
		"fill=\"#444\">%s</text>\n",
		ML, W - MR, y, y, ML - 6, y + 4, label);
}

static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };

/* Linear byte axis: a binary unit and a 1-2-5 step; sets p->ymax to the top tick. */
static void y_axis(struct plot *p, double vmax)
{
	double unit = 1, step;
	char label[32];
	int u = 0;

	if (vmax <= 0)
		vmax = 1024 * 1024;
	while (vmax / unit >= 1024 && u < 6) {
		unit *= 1024;
		u++;
	}
	step = nice_step(vmax / unit / 4);
	p->ymax = ceil(vmax / unit / step - 1e-9) * step * unit;
	for (double v = 0; v <= p->ymax / unit + 1e-9; v += step) {
		snprintf(label, sizeof(label), "%g %s", v, units[u]);
		tick(p, v * unit, label);
	}
}

/* Log byte axis from vmin to vmax: ticks at powers of two, at most six steps. */
static void y_axis_log(struct plot *p, double vmin, double vmax)
{
	int e0 = (int)floor(log2(vmin)), e1 = (int)ceil(log2(vmax)), k = (e1 - e0 + 5) / 6;
	char label[32];

	k = k < 1 ? 1 : k;
	e0 -= e0 % k;
	e1 = e0 + (e1 - e0 + k - 1) / k * k;
	if (e1 == e0)
		e1 = e0 + k;
	p->lmin = e0;
	p->lmax = e1;
	for (int e = e0; e <= e1; e += k) {
		/* 2^e bytes: 2^(e%10) of the unit 1024^(e/10) */
		snprintf(label, sizeof(label), "%d %s", 1 << (e % 10),
			 units[e / 10 < 6 ? e / 10 : 6]);
		tick(p, exp2(e), label);
	}
	/* said above the plot's right end, where no title or line runs */
	fprintf(p->f,
		"<text x=\"%d\" y=\"%d\" text-anchor=\"end\" font-size=\"11\" fill=\"#777\" "
		"font-style=\"italic\">log scale</text>\n",
		W - MR, p->top - 6);
}

/* A point of a line: stream time and bytes. */
struct xy {
	uint64_t ts;
	double v;
};

/*
 * A polyline through the points, at most two per pixel column (the column's
 * lowest and highest, in time order) so a long capture stays a small file.
 */
static void polyline(struct plot *p, const struct xy *pt, uint32_t n, const char *style)
{
	uint32_t lo = 0, hi = 0;
	int col = -1;

	fprintf(p->f, "<polyline fill=\"none\" %s points=\"", style);
	for (uint32_t i = 0; i <= n; i++) {
		int c = i < n ? (int)px_x(p, pt[i].ts) : -2;

		if (c != col && col != -1) {
			uint32_t a = lo < hi ? lo : hi, b = lo < hi ? hi : lo;

			fprintf(p->f, "%.1f,%.1f ", px_x(p, pt[a].ts), px_y(p, pt[a].v));
			if (b != a)
				fprintf(p->f, "%.1f,%.1f ", px_x(p, pt[b].ts), px_y(p, pt[b].v));
		}
		if (i == n)
			break;
		if (c != col) {
			col = c;
			lo = hi = i;
		} else {
			lo = pt[i].v < pt[lo].v ? i : lo;
			hi = pt[i].v > pt[hi].v ? i : hi;
		}
	}
	fputs("\"/>\n", p->f);
}

static void sample_line(struct plot *p, const struct ms_tm_sample *s, uint32_t n, const char *style)
{
	struct xy *pt = calloc(n, sizeof(*pt));

	if (!pt)
		return;
	for (uint32_t i = 0; i < n; i++) {
		pt[i].ts = s[i].ts_ns;
		pt[i].v = (double)ms_tm_sample__pending(&s[i]);
	}
	polyline(p, pt, n, style);
	free(pt);
}

/* Line labels: at the end of their line, nudged apart so they never overlap. */
struct label {
	double x, y;
	char text[64];
	const char *color;
	int size;	    /* font size, 0 = 12 */
	const char *anchor; /* text-anchor, NULL = start */
};

static void draw_labels(struct plot *p, struct label *l, int n)
{
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && l[j].y < l[j - 1].y; j--) {
			struct label t = l[j];

			l[j] = l[j - 1];
			l[j - 1] = t;
		}
	/* push overlapping labels down, then back up from the plot's bottom edge */
	for (int i = 1; i < n; i++)
		for (int j = 0; j < i; j++)
			if (fabs(l[i].x - l[j].x) < 140 && l[i].y < l[j].y + 13)
				l[i].y = l[j].y + 13;
	for (int i = n - 1; i >= 0; i--) {
		double floor_y = p->top + PLOT_H - 4;

		for (int j = i + 1; j < n; j++)
			if (fabs(l[i].x - l[j].x) < 140 && l[j].y - 13 < floor_y)
				floor_y = l[j].y - 13;
		if (l[i].y > floor_y)
			l[i].y = floor_y;
	}
	for (int i = 0; i < n; i++) {
		fprintf(p->f,
			"<text class=\"l\" x=\"%.1f\" y=\"%.1f\" font-size=\"%d\" fill=\"%s\" "
			"text-anchor=\"%s\">",
			l[i].x, l[i].y + 4, l[i].size ? l[i].size : 12, l[i].color,
			l[i].anchor ? l[i].anchor : "start");
		put_text(p->f, l[i].text, sizeof(l[i].text));
		fputs("</text>\n", p->f);
	}
}

/*
 * Where the label of a line ending at ts goes: just after its end, past the
 * switchover line when the end is close before it, inside the figure.
 */
static double label_x(const struct plot *p, const struct panel *pn, uint64_t ts)
{
	double x = px_x(p, ts) + 6;

	if (pn->have_down) {
		double sw = px_x(p, pn->down_start);

		if (x < sw + 6 && x > sw - 60)
			x = sw + 6;
	}
	return x > W - MR + 6 ? W - MR + 6 : x;
}

/*
 * The threshold as a step: each change of the limits in force moves it where
 * the change was seen (a value above the scale is drawn at its top).
 */
static void threshold_steps(struct plot *p)
{
	const struct ms_telemetry *t = p->t;

	fprintf(p->f, "<path fill=\"none\" stroke=\"#c62828\" stroke-dasharray=\"6 4\" "
		      "stroke-width=\"1.5\" d=\"");
	for (uint32_t i = 0; i < t->configs.nr; i++) {
		uint64_t ts = i ? t->configs.v[i].hdr.ts_ns : p->r->t0_ns;
		uint64_t thr = ms_telemetry__threshold_at(t, ts, p->r->vm.bandwidth_bps);
		double y = thr == MS_STAT_UNSET ? p->top + PLOT_H : px_y(p, (double)thr);

		if (!p->log && thr != MS_STAT_UNSET && (double)thr > p->ymax)
			y = p->top;
		/* each segment starts where the one before ended: a vertical step, then on */
		if (i)
			fprintf(p->f, " V%.1f", y);
		else
			fprintf(p->f, "M%d %.1f", ML, y);
		fprintf(p->f, " H%.1f",
			i + 1 < t->configs.nr ? px_x(p, t->configs.v[i + 1].hdr.ts_ns)
					      : (double)(W - MR));
	}
	fputs("\"/>\n", p->f);
}

static void draw_panel(struct plot *p, const struct panel *pn, int idx)
{
	const struct ms_tm_convergence *c = pn->c;
	const char *color = palette[idx % (sizeof(palette) / sizeof(palette[0]))];
	double vmax = 0, vmin = INFINITY;
	double thr = c->threshold == MS_STAT_UNSET ? -1 : (double)c->threshold;
	int title_y = p->top - PANEL_TITLE, nl = 0, thr_shown;
	struct label l[4];
	char b[24];

	memset(l, 0, sizeof(l));
	for (uint32_t i = 0; i < pn->n; i++) {
		double v = (double)ms_tm_sample__pending(&pn->s[i]);

		vmax = fmax(vmax, v);
		vmin = v > 0 ? fmin(vmin, v) : vmin;
	}
	for (uint32_t i = 0; i < pn->sc_n; i++) {
		vmax = fmax(vmax, (double)pn->sc[i].initial);
		vmin = pn->sc[i].initial ? fmin(vmin, (double)pn->sc[i].initial) : vmin;
	}
	if (thr > 0)
		vmin = fmin(vmin, thr);
	/*
	 * A series that spans more than 64x (a large start draining to a small
	 * working set) gets a log axis, so its end is as readable as its start;
	 * on a linear one the threshold sets the scale only when it is near the
	 * data, else it would flatten it.
	 */
	p->log = vmax > 0 && vmax / vmin >= 64;
	thr_shown = thr >= 0 && (p->log || thr <= 3 * vmax);
	if (thr_shown)
		vmax = fmax(vmax, thr);

	fprintf(p->f,
		"<text x=\"%d\" y=\"%d\" font-size=\"14\" font-weight=\"bold\" fill=\"#222\">", ML,
		title_y + 14);
	put_text(p->f, pn->name, 60);
	fprintf(p->f, " <tspan fill=\"%s\">%s</tspan></text>\n", verdict_color(c->verdict),
		ms_verdict_name(c->verdict));
	fprintf(p->f, "<text x=\"%d\" y=\"%d\" font-size=\"11.5\" fill=\"#555\">", ML,
		title_y + 29);
	put_text(p->f, c->reason, 118);
	if (c->reinits)
		fprintf(p->f, " \xc2\xb7 %u REINIT", c->reinits);
	fputs("</text>\n", p->f);

	fprintf(p->f,
		"<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#fcfcfc\" "
		"stroke=\"#bbb\"/>\n",
		ML, p->top, W - ML - MR, PLOT_H);
	if (p->log)
		y_axis_log(p, vmin, vmax);
	else
		y_axis(p, vmax);
	if (pn->have_down) {
		double x0 = px_x(p, pn->down_start), x1 = px_x(p, pn->down_end);

		fprintf(
		    p->f,
		    "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"#d32f2f\" "
		    "fill-opacity=\"0.12\"/>\n"
		    "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" stroke=\"#333\" "
		    "stroke-width=\"1.5\"/>\n"
		    "<text class=\"l\" x=\"%.1f\" y=\"%d\" font-size=\"11\" text-anchor=\"end\" "
		    "fill=\"#333\">switchover</text>\n",
		    x0, p->top, fmax(x1 - x0, 1.0), PLOT_H, x0, x0, p->top, p->top + PLOT_H, x0 - 4,
		    p->top + 12);
		/*
		 * the downtime's length: centred in its band when the band is wide
		 * enough, else right of the switchover line, or under its label when
		 * the band ends the plot
		 */
		l[nl].x = x1 - x0 > 130 ? (x0 + x1) / 2 : x0 + 100 < W - MR ? x0 + 4 : x0 - 4;
		l[nl].anchor = x1 - x0 > 130 ? "middle" : x0 + 100 < W - MR ? "start" : "end";
		l[nl].y = p->top + (x1 - x0 <= 130 && x0 + 100 >= W - MR ? 21 : 8);
		l[nl].size = 11;
		l[nl].color = "#8e1b1b";
		snprintf(l[nl++].text, sizeof(l[0].text), "downtime %s",
			 ms_report__dur(pn->down_end - pn->down_start, b, sizeof(b)));
	}
	if (thr_shown && p->t->configs.nr > 1) {
		threshold_steps(p);
	} else if (thr_shown) {
		double y = px_y(p, thr);

		fprintf(p->f,
			"<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#c62828\" "
			"stroke-dasharray=\"6 4\" stroke-width=\"1.5\"/>\n",
			ML, W - MR, y, y);
	}
	if (thr_shown) {
		double y = px_y(p, thr);

		l[nl].x = W - MR + 6;
		l[nl].y = y;
		l[nl].color = "#c62828";
		snprintf(l[nl++].text, sizeof(l[0].text), "threshold %s",
			 ms_report__size(c->threshold, b, sizeof(b)));
	} else if (thr >= 0) {
		fprintf(p->f,
			"<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"end\" "
			"fill=\"#c62828\">threshold %s (above this scale)</text>\n",
			W - MR - 6, p->top + 14, ms_report__size(c->threshold, b, sizeof(b)));
	}
	if (pn->sc_n) {
		sample_line(p, pn->sc, pn->sc_n,
			    "stroke-width=\"1.5\" stroke-dasharray=\"2 3\" stroke=\"#777\"");
		l[nl].x = label_x(p, pn, pn->sc[pn->sc_n - 1].ts_ns);
		l[nl].y = px_y(p, (double)pn->sc[pn->sc_n - 1].initial);
		l[nl].color = "#555";
		snprintf(l[nl++].text, sizeof(l[0].text), "stop-copy %s",
			 ms_report__size(pn->sc[pn->sc_n - 1].initial, b, sizeof(b)));
	}
	if (pn->n) {
		char style[64];

		snprintf(style, sizeof(style), "stroke-width=\"2\" stroke=\"%s\"", color);
		sample_line(p, pn->s, pn->n, style);
		l[nl].x = label_x(p, pn, pn->s[pn->n - 1].ts_ns);
		l[nl].y = px_y(p, (double)ms_tm_sample__pending(&pn->s[pn->n - 1]));
		l[nl].color = color;
		snprintf(l[nl++].text, sizeof(l[0].text), "pending %s",
			 ms_report__size(ms_tm_sample__pending(&pn->s[pn->n - 1]), b, sizeof(b)));
	}
	for (uint32_t k = 0; k < c->reinits && k < sizeof(c->reinit_idx) / sizeof(uint32_t); k++) {
		const struct ms_tm_sample *x = &pn->s[c->reinit_idx[k]];
		double cx = px_x(p, x->ts_ns), cy = px_y(p, (double)ms_tm_sample__pending(x));

		fprintf(
		    p->f,
		    "<path d=\"M%.1f,%.1f l-5,-9 h10 z\" fill=\"#E69F00\" stroke=\"#7a5200\"/>\n"
		    "<text class=\"l\" x=\"%.1f\" y=\"%.1f\" font-size=\"10\" "
		    "text-anchor=\"end\" fill=\"#7a5200\">REINIT</text>\n",
		    cx, cy - 2, cx - 7, cy - 6);
	}
	draw_labels(p, l, nl);
}

static void x_axis(struct plot *p, int y)
{
	double step = nice_step(p->xmax_s / 8);

	for (double t = 0; t <= p->xmax_s + 1e-9; t += step) {
		double x = ML + t / p->xmax_s * (W - ML - MR);

		fprintf(p->f,
			"<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" stroke=\"#888\"/>\n"
			"<text x=\"%.1f\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\" "
			"fill=\"#444\">%g s</text>\n",
			x, x, y, y + 5, x, y + 18, t);
	}
	fprintf(p->f,
		"<text x=\"%d\" y=\"%d\" font-size=\"12\" text-anchor=\"middle\" fill=\"#333\">"
		"time since the session started</text>\n",
		(ML + W - MR) / 2, y + 36);
}

static void header(struct plot *p, const struct ms_view *s, int panels, int hidden)
{
	const struct ms_tm_vm *vm = &p->r->vm;
	char b1[24], b2[24], b3[24];

	fprintf(p->f,
		"<text x=\"%d\" y=\"24\" font-size=\"18\" font-weight=\"bold\" "
		"fill=\"#111\">Pending bytes before switchover</text>\n",
		ML);
	fprintf(p->f, "<text x=\"%d\" y=\"44\" font-size=\"12.5\" fill=\"#333\">", ML);
	if (vm->have_downtime)
		fprintf(p->f, "VM downtime %.3f ms (%s)",
			(double)(vm->downtime_end_ns - vm->downtime_start_ns) / 1e6,
			vm->downtime_source);
	else
		fputs("VM downtime not measured", p->f);
	if (vm->have_total)
		fprintf(p->f, " \xc2\xb7 total %s",
			ms_report__dur(vm->total_end_ns - vm->total_start_ns, b1, sizeof(b1)));
	if (vm->limit_ns)
		fprintf(p->f, " \xc2\xb7 limit %s", ms_report__dur(vm->limit_ns, b1, sizeof(b1)));
	if (vm->bandwidth_bps)
		fprintf(p->f, " at %s/s (%s)", ms_report__size(vm->bandwidth_bps, b2, sizeof(b2)),
			vm->bandwidth_source);
	if (vm->threshold != MS_STAT_UNSET)
		fprintf(p->f, " = threshold %s", ms_report__size(vm->threshold, b3, sizeof(b3)));
	if (!panels)
		fputs(" \xc2\xb7 no pending-byte samples in this session", p->f);
	if (hidden)
		fprintf(p->f, " \xc2\xb7 %d more devices in the JSON report", hidden);
	fputs("</text>\n", p->f);
	(void)s;
}

/* Devices with a panel of their own: those with pending-byte samples. */
static int has_samples(const struct ms_view *s, uint32_t id)
{
	const struct ms_tm_device *dev = ms_telemetry__device(s->telemetry, id);

	return ms_devices__get(s->devices, id) && dev && (dev->samples.nr || dev->stopcopy.nr);
}

static uint32_t plotted_devices(const struct ms_view *s)
{
	uint32_t n = 0;

	for (uint32_t id = 0; id < s->telemetry->nr; id++)
		n += has_samples(s, id);
	return n;
}

static void write_svg(FILE *f, const struct ms_view *s, const struct ms_tm_report *r)
{
	const struct ms_telemetry *t = s->telemetry;
	struct panel pn[MAX_PANELS];
	struct plot p = { .f = f, .r = r, .t = s->telemetry };
	int n = 0, hidden = 0, height;
	uint64_t last = r->t0_ns;

	if (r->vm.series_nr && !strcmp(r->vm.conv.basis, "qmp")) {
		pn[n] = (struct panel){ .name = "VM (query-migrate ram.remaining)",
					.s = r->vm.series,
					.n = r->vm.series_nr,
					.c = &r->vm.conv };
		n++;
	} else if (r->vm.series_nr && plotted_devices(s) > 1) {
		/* the sum the switchover rule holds against the threshold (one device: its own) */
		int sc = r->vm.conv.stopcopy != MS_STAT_UNSET;

		pn[n] = (struct panel){ .name = "VM (all devices)",
					.s = sc ? NULL : r->vm.series,
					.n = sc ? 0 : r->vm.series_nr,
					.sc = sc ? r->vm.series : NULL,
					.sc_n = sc ? r->vm.series_nr : 0,
					.c = &r->vm.conv };
		n++;
	}
	for (uint32_t id = 0; id < r->nr; id++) {
		const struct ms_tm_device *dev = ms_telemetry__device(t, id);
		const struct ms_device_info *d = ms_devices__get(s->devices, id);

		if (!has_samples(s, id))
			continue;
		if (n == MAX_PANELS) {
			hidden++;
			continue;
		}
		pn[n] = (struct panel){ .name = d->name,
					.s = dev->samples.v,
					.n = dev->samples.nr,
					.sc = dev->stopcopy.v,
					.sc_n = dev->stopcopy.nr,
					.c = &r->dev[id].conv,
					.x = &r->dev[id] };
		n++;
	}
	for (int i = 0; i < n; i++) {
		const struct ms_tm_dev_result *x = pn[i].x;

		/* a device's own downtime window when it has one, else the VM's */
		if (x && ms_tm_downtime__by_arcs(&x->dt)) {
			pn[i].have_down = 1;
			pn[i].down_start = x->dt.start_ns;
			pn[i].down_end = x->dt.end_ns;
		} else if (r->vm.have_downtime) {
			pn[i].have_down = 1;
			pn[i].down_start = r->vm.downtime_start_ns;
			pn[i].down_end = r->vm.downtime_end_ns;
		}
		if (pn[i].n)
			last =
			    pn[i].s[pn[i].n - 1].ts_ns > last ? pn[i].s[pn[i].n - 1].ts_ns : last;
		if (pn[i].sc_n)
			last = pn[i].sc[pn[i].sc_n - 1].ts_ns > last
				   ? pn[i].sc[pn[i].sc_n - 1].ts_ns
				   : last;
		if (pn[i].have_down && pn[i].down_end > last)
			last = pn[i].down_end;
	}
	p.xmax_s = ms_report__rel_ms(r, last) / 1e3;
	if (p.xmax_s <= 0)
		p.xmax_s = 1;

	height = HEAD + n * (PANEL_TITLE + PLOT_H + PANEL_GAP) + FOOT;
	fprintf(f,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		"viewBox=\"0 0 %d %d\" font-family=\"%s\">\n"
		"<style>.l { paint-order: stroke; stroke: white; stroke-width: 3px; "
		"stroke-linejoin: round; }</style>\n"
		"<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
		W, height, W, height, FONT);
	header(&p, s, n, hidden);
	for (int i = 0; i < n; i++) {
		p.top = HEAD + i * (PANEL_TITLE + PLOT_H + PANEL_GAP) + PANEL_TITLE;
		fprintf(f, "<g class=\"panel\" id=\"panel-%d\">\n", i);
		draw_panel(&p, &pn[i], i);
		fputs("</g>\n", f);
	}
	if (n)
		x_axis(&p, HEAD + n * (PANEL_TITLE + PLOT_H + PANEL_GAP) - PANEL_GAP);
	fputs("</svg>\n", f);
}

int ms_report__svg(const struct ms_view *s, const char *path, char *err, size_t errlen)
{
	return ms_report__write_file(s, path, write_svg, err, errlen);
}
