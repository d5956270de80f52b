// SPDX-License-Identifier: GPL-2.0-only
/*
 * The dirty tracker's findings as report sections: the "dirty" object of each
 * device and "dirty_tracker" (docs/dirty-tracking.md), and the DIRTY section
 * of the terminal report.  Read through the tracker's query API
 * (include/migscope/tracker.h); the names of views, causes and refused
 * records are the report's words, so they live here.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <migscope/json.h>
#include <migscope/parse.h>
#include <migscope/report.h>

static const char *const view_names[MS_VIEW__MAX] = {
	[MS_VIEW_DMA] = "dma",		[MS_VIEW_FAULT] = "iommu_fault", [MS_VIEW_HW] = "hw_dirty",
	[MS_VIEW_VIRTIO] = "virtio_wr", [MS_VIEW_IOMMUFD] = "iommufd",
};

static const struct {
	const char *name;
	const char *why;
} causes[MS_WIDEN__MAX] = {
	[MS_LOSS_RINGBUF_DROP] = { "loss:ringbuf_drop",
				   "a BPF ring buffer was full and dropped records" },
	[MS_LOSS_ADMIN_READ] = { "loss:admin_read", "a virtio write-record read failed" },
	[MS_LOSS_RESTART] = { "loss:restart", "the agent restarted while tracking" },
	[MS_LOSS_REPORT_ERROR] = { "loss:report_error",
				   "a dirty report (DMA logging, iommufd dirty bitmap) failed" },
	[MS_LOSS_SOURCE_ERROR] = { "loss:source_error", "a source failed" },
	[MS_WIDEN_LOSS_UNKNOWN] = { "loss:unknown", "records were lost for an unknown reason" },
	[MS_WIDEN_UNMAP] = { "unmap_while_tracking", "IOVA was unmapped while tracking: its dirty "
						     "state went with the mapping" },
	[MS_WIDEN_ZERO_LENGTH] = { "zero_length_record",
				   "a write record of length 0: the page at its address is dirty" },
	[MS_WIDEN_WRAP] = { "wrapping_record",
			    "a write record wrapping past 2^64: everything tracked is dirty" },
	[MS_WIDEN_UNKNOWN_SOURCE] = { "unknown_source", "write records from an unknown source: "
							"their pages are dirty" },
	[MS_WIDEN_SHORT_RECORD] = { "short_record", "a write or unmap record too short to say "
						    "what it covers: everything tracked is dirty" },
	[MS_WIDEN_NOMEM] = { "out_of_memory",
			     "a bitmap ran out of memory: every page reads dirty" },
};

static const char *const reject_names[MS_REJ__MAX] = {
	[MS_REJ_TRACK_START] = "track_start",
	[MS_REJ_HARVEST] = "harvest",
	[MS_REJ_MAP] = "iommu_map",
	[MS_REJ_UNMAP] = "iommu_unmap",
};

/* --- JSON ---------------------------------------------------------------------------- */

static struct json_object *hex(uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "0x%" PRIx64, v);
	return json_object_new_string(buf);
}

static struct json_object *examples_json(const struct ms_dirty_examples *e, bool with_source)
{
	struct json_object *arr = json_object_new_array();

	for (unsigned int i = 0; i < e->nr; i++) {
		struct json_object *o = json_object_new_object();

		ms_json_add(o, "iova", hex(e->ex[i].iova));
		ms_json_add(o, "length", ms_json_u64(e->ex[i].len));
		if (with_source)
			ms_json_add(o, "source",
				    json_object_new_string(ms_write_source_name(e->ex[i].source)));
		json_object_array_add(arr, o);
	}
	return arr;
}

static struct json_object *rejects_json(const struct ms_dirty_reject *rej)
{
	struct json_object *arr = json_object_new_array();

	for (int r = 0; r < MS_REJ__MAX; r++) {
		struct json_object *o;

		if (!rej[r].count)
			continue;
		o = json_object_new_object();
		ms_json_add(o, "record", json_object_new_string(reject_names[r]));
		ms_json_add(o, "count", ms_json_u64(rej[r].count));
		ms_json_add(o, "first", json_object_new_string(rej[r].first));
		json_object_array_add(arr, o);
	}
	return arr;
}

static struct json_object *sources_json(struct ms_tracker *t, uint32_t dev,
					const struct ms_dirty_summary *sum)
{
	struct json_object *o = json_object_new_object();

	for (unsigned int i = 0; i <= MS_SRC__MAX; i++) {
		const struct ms_dirty_source *st = ms_tracker__source(t, dev, i);
		struct json_object *s;

		if (!st->records)
			continue;
		s = json_object_new_object();
		ms_json_add(s, "records", ms_json_u64(st->records));
		ms_json_add(s, "bytes", ms_json_u64(st->bytes));
		if (i < MS_SRC__MAX)
			ms_json_add(s, "pages", ms_json_u64(sum->source_pages[i]));
		ms_json_add(s, "unaligned", ms_json_u64(st->unaligned));
		ms_json_add(s, "untracked", ms_json_u64(st->untracked));
		ms_json_add(o, ms_write_source_name(i), s);
	}
	return o;
}

static struct json_object *outside_json(struct ms_tracker *t, uint32_t dev, bool mapped)
{
	struct json_object *o = json_object_new_object();
	uint64_t records = 0, bytes = 0;

	for (unsigned int i = 0; i <= MS_SRC__MAX; i++) {
		const struct ms_dirty_source *st = ms_tracker__source(t, dev, i);

		records += mapped ? st->outside_mapped_records : st->out_of_range_records;
		bytes += mapped ? st->outside_mapped_bytes : st->out_of_range_bytes;
	}
	ms_json_add(o, "records", ms_json_u64(records));
	ms_json_add(o, "bytes", ms_json_u64(bytes));
	ms_json_add(o, "first", examples_json(ms_tracker__outside(t, dev, mapped), true));
	return o;
}

static struct json_object *widened_json(struct ms_tracker *t, uint32_t dev)
{
	struct json_object *arr = json_object_new_array();

	for (unsigned int c = 0; c < MS_WIDEN__MAX; c++) {
		const struct ms_dirty_widened *cs = ms_tracker__widened(t, dev, c);
		struct json_object *o;

		if (!cs->events)
			continue;
		o = json_object_new_object();
		ms_json_add(o, "cause", json_object_new_string(causes[c].name));
		ms_json_add(o, "why", json_object_new_string(causes[c].why));
		ms_json_add(o, "events", ms_json_u64(cs->events));
		ms_json_add(o, "pages", ms_json_u64(cs->pages));
		ms_json_add(o, "lost_records", ms_json_u64(cs->lost));
		ms_json_add(o, "all_tracked", json_object_new_boolean(cs->all));
		ms_json_add(o, "first", examples_json(&cs->ex, false));
		json_object_array_add(arr, o);
	}
	return arr;
}

static struct json_object *discrepancies_json(struct ms_tracker *t, uint32_t dev)
{
	struct json_object *arr = json_object_new_array();
	struct ms_dirty_disc disc[MS_VIEW__MAX][MS_VIEW__MAX], open[MS_VIEW__MAX][MS_VIEW__MAX];

	ms_tracker__discrepancies(t, dev, disc, open);
	for (int x = 0; x < MS_VIEW__MAX; x++) {
		for (int y = 0; y < MS_VIEW__MAX; y++) {
			const struct ms_dirty_disc *c = &disc[x][y], *o = &open[x][y];
			struct json_object *j, *ex;

			if (!c->windows && !o->windows)
				continue;
			j = json_object_new_object();
			ex = json_object_new_array();
			ms_json_add(j, "reported_by", json_object_new_string(view_names[x]));
			ms_json_add(j, "missed_by", json_object_new_string(view_names[y]));
			ms_json_add(j, "windows", ms_json_u64(c->windows));
			ms_json_add(j, "pages", ms_json_u64(c->pages));
			ms_json_add(j, "unconfirmed_pages", ms_json_u64(o->pages));
			for (unsigned int i = 0; i < c->nr_ex; i++)
				json_object_array_add(ex, hex(c->ex[i]));
			for (unsigned int i = 0; i < o->nr_ex && c->nr_ex + i < MS_DIRTY_EXAMPLES;
			     i++)
				json_object_array_add(ex, hex(o->ex[i]));
			ms_json_add(j, "first", ex);
			json_object_array_add(arr, j);
		}
	}
	return arr;
}

/* Distinct pages over the session, at page_size. */
static uint64_t session_count(struct ms_tracker *t, uint32_t dev, uint64_t page_size)
{
	struct ms_dirty_bitmap u;
	uint64_t n;

	ms_dirty_bitmap__init(&u, page_size, NULL, 0);
	ms_tracker__session_pages(t, dev, &u);
	n = ms_dirty_bitmap__count(&u);
	ms_dirty_bitmap__free(&u);
	return n;
}

struct json_object *ms_report__dirty_json(struct ms_tracker *t, uint32_t dev, uint64_t page_size)
{
	bool kept = ms_tracker__keeps_session_pages(t);
	struct json_object *o, *ranges;
	struct ms_tracker_totals tt;
	struct ms_dirty_summary s;
	uint64_t iova, len;

	if (ms_tracker__device_summary(t, dev, &s))
		return NULL;
	ms_tracker__totals(t, &tt);
	o = json_object_new_object();
	ms_json_add(o, "tracking", json_object_new_boolean(s.tracking));
	ms_json_add(o, "page_size", ms_json_u64(s.page_size));
	ms_json_add(o, "tracked_bytes", ms_json_u64(s.tracked_bytes));
	ranges = json_object_new_array();
	for (uint32_t i = 0; !ms_tracker__range(t, dev, i, &iova, &len); i++) {
		struct json_object *r = json_object_new_object();

		ms_json_add(r, "iova", hex(iova));
		ms_json_add(r, "length", ms_json_u64(len));
		json_object_array_add(ranges, r);
	}
	ms_json_add(o, "ranges", ranges);
	ms_json_add(o, "pages", ms_json_u64(s.pages));
	ms_json_add(o, "bytes", ms_json_u64(s.pages * s.page_size));
	if (kept)
		ms_json_add(o, "distinct_pages", ms_json_u64(s.distinct_pages));
	ms_json_add(o, "pending_pages", ms_json_u64(s.pending_pages));
	ms_json_add(o, "harvests", ms_json_u64(s.harvests));
	ms_json_add(o, "harvested_pages", ms_json_u64(s.harvested_pages));
	ms_json_add(o, "unharvested_at_stop", ms_json_u64(s.unharvested_at_stop));
	ms_json_add(o, "track_starts", ms_json_u64(s.track_starts));
	ms_json_add(o, "track_stops", ms_json_u64(s.track_stops));
	ms_json_add(o, "records", ms_json_u64(s.records));
	ms_json_add(o, "sources", sources_json(t, dev, &s));
	ms_json_add(o, "out_of_range", outside_json(t, dev, false));
	ms_json_add(o, "outside_mapped", tt.iommu_maps ? outside_json(t, dev, true) : NULL);
	ms_json_add(o, "widened", widened_json(t, dev));
	ms_json_add(o, "losses_while_not_tracking", ms_json_u64(s.losses_untracked));
	ms_json_add(o, "discrepancies", discrepancies_json(t, dev));
	ms_json_add(o, "rejected", rejects_json(ms_tracker__rejects(t, dev)));
	if (page_size && kept) {
		struct json_object *c = json_object_new_object();
		uint64_t n = session_count(t, dev, page_size);

		ms_json_add(c, "page_size", ms_json_u64(page_size));
		ms_json_add(c, "distinct_pages", ms_json_u64(n));
		ms_json_add(c, "bytes", ms_json_u64(n * page_size));
		ms_json_add(o, "converted", c);
	}
	return o;
}

void ms_report__tracker_json(struct ms_tracker *t, struct json_object *report)
{
	struct json_object *o = json_object_new_object();
	struct ms_tracker_totals tt;

	for (uint32_t id = 0, nr = ms_tracker__nr_ids(t); id < nr; id++) {
		struct json_object *entry = ms_report__device(report, id), *dirty;

		if (!entry)
			continue;
		dirty = ms_report__dirty_json(t, id, 0);
		if (dirty)
			ms_json_add(entry, "dirty", dirty);
	}
	ms_tracker__totals(t, &tt);
	ms_json_add(o, "iommu_maps", ms_json_u64(tt.iommu_maps));
	ms_json_add(o, "iommu_unmaps", ms_json_u64(tt.iommu_unmaps));
	ms_json_add(o, "mapped_bytes", ms_json_u64(tt.mapped_bytes));
	ms_json_add(o, "unattributed_records", ms_json_u64(tt.unattributed_records));
	ms_json_add(o, "rejected", rejects_json(ms_tracker__rejects(t, MS_DEV_NONE)));
	ms_json_add(report, "dirty_tracker", o);
}

/* --- text ----------------------------------------------------------------------------- */

/* "4K", "64K", "2M", "1G" */
static const char *page_str(uint64_t ps, char *buf, size_t len)
{
	static const char units[] = "KMG";
	int u = 0;

	ps >>= 10;
	while (u < 2 && ps >= 1024 && !(ps & 1023)) {
		ps >>= 10;
		u++;
	}
	snprintf(buf, len, "%" PRIu64 "%c", ps, units[u]);
	return buf;
}

static void print_device(struct ms_tracker *t, const struct ms_devices *devs, uint32_t dev,
			 const struct ms_dirty_summary *s, FILE *out)
{
	struct ms_dirty_disc disc[MS_VIEW__MAX][MS_VIEW__MAX], open[MS_VIEW__MAX][MS_VIEW__MAX];
	const struct ms_dirty_reject *rej = ms_tracker__rejects(t, dev);
	char name[32], b1[32], b2[32];
	const char *n = ms_devices__name(devs, dev, name, sizeof(name));
	struct ms_tracker_totals tt;

	fprintf(out,
		"%-20.20s %8s %10" PRIu64 " %11s %8" PRIu64 " %8" PRIu64 " %10" PRIu64 " %8" PRIu64
		" %8" PRIu64 "\n",
		n, page_str(s->page_size, b1, sizeof(b1)), s->pages,
		ms_fmt_bytes(s->pages * s->page_size, b2, sizeof(b2)), s->pending_pages,
		s->harvests, s->records, s->widen_events, s->discrepancy_pages);
	for (unsigned int i = 0; i <= MS_SRC__MAX; i++) {
		const struct ms_dirty_source *st = ms_tracker__source(t, dev, i);

		if (st->records)
			fprintf(out, "  source %-11s %10" PRIu64 " records %10" PRIu64 " pages%s\n",
				ms_write_source_name(i), st->records,
				i < MS_SRC__MAX ? s->source_pages[i] : 0,
				st->untracked ? " (some while not tracking)" : "");
	}
	for (unsigned int c = 0; c < MS_WIDEN__MAX; c++) {
		const struct ms_dirty_widened *w = ms_tracker__widened(t, dev, c);

		if (w->events)
			fprintf(out, "  widened %s x%" PRIu64 ": %" PRIu64 " pages%s (%s)\n",
				causes[c].name, w->events, w->pages, w->all ? ", all tracked" : "",
				causes[c].why);
	}
	ms_tracker__discrepancies(t, dev, disc, open);
	for (int x = 0; x < MS_VIEW__MAX; x++)
		for (int y = 0; y < MS_VIEW__MAX; y++) {
			const struct ms_dirty_disc *c = &disc[x][y], *o = &open[x][y];

			if (c->pages)
				fprintf(out,
					"  MISSED: %s did not report %" PRIu64
					" page%s that %s reported (first at 0x%" PRIx64 ")\n",
					view_names[y], c->pages, c->pages == 1 ? "" : "s",
					view_names[x], c->ex[0]);
			if (o->pages)
				fprintf(out,
					"  unconfirmed: %s has not reported %" PRIu64
					" page%s that %s reported, yet (first at 0x%" PRIx64 ")\n",
					view_names[y], o->pages, o->pages == 1 ? "" : "s",
					view_names[x], o->ex[0]);
		}
	if (!ms_devices__get(devs, dev))
		fprintf(out, "  no DEV_ADD record named device %u: its records are counted here\n",
			dev);
	if (s->out_of_range_records)
		fprintf(out,
			"  %" PRIu64 " record%s outside every tracked range (counted, not dirty)\n",
			s->out_of_range_records, s->out_of_range_records == 1 ? "" : "s");
	ms_tracker__totals(t, &tt);
	if (s->outside_mapped_records)
		fprintf(out,
			"  %" PRIu64 " record%s outside the IOMMU-mapped set (%" PRIu64
			" maps seen; earlier mappings are unknown)\n",
			s->outside_mapped_records, s->outside_mapped_records == 1 ? "" : "s",
			tt.iommu_maps);
	if (s->unharvested_at_stop)
		fprintf(out, "  %" PRIu64 " pages were still dirty when tracking stopped\n",
			s->unharvested_at_stop);
	for (int r = 0; r < MS_REJ__MAX; r++)
		if (rej[r].count)
			fprintf(out, "  refused %s x%" PRIu64 ": %s\n", reject_names[r],
				rej[r].count, rej[r].first);
}

void ms_report__print_dirty(struct ms_tracker *t, const struct ms_devices *devs, FILE *out,
			    uint32_t only_dev, bool header)
{
	const struct ms_dirty_reject *rej;
	struct ms_tracker_totals tt;
	bool any = !header;

	for (uint32_t id = 0, nr = ms_tracker__nr_ids(t); id < nr; id++) {
		struct ms_dirty_summary s;

		if ((only_dev != MS_DEV_NONE && id != only_dev) ||
		    ms_tracker__device_summary(t, id, &s))
			continue;
		if (!any)
			fprintf(out, "\n%-20s %8s %10s %11s %8s %8s %10s %8s %8s\n", "DIRTY",
				"PAGE", "PAGES", "BYTES", "PENDING", "HARVESTS", "RECORDS",
				"WIDENED", "MISSED");
		any = true;
		print_device(t, devs, id, &s, out);
	}
	if (only_dev != MS_DEV_NONE)
		return;
	ms_tracker__totals(t, &tt);
	if (tt.unattributed_records)
		fprintf(out, "%" PRIu64 " dirty-tracking records named no device\n",
			tt.unattributed_records);
	rej = ms_tracker__rejects(t, MS_DEV_NONE);
	for (int r = 0; r < MS_REJ__MAX; r++)
		if (rej[r].count)
			fprintf(out, "refused %s x%" PRIu64 ": %s\n", reject_names[r], rej[r].count,
				rej[r].first);
}
