// SPDX-License-Identifier: GPL-2.0-only
/*
 * docs/capture-format.md is the capture format's specification: another team
 * implements a reader from it alone (tests/reader/msread.py does).  This test
 * keeps it and the code from drifting apart: it parses the document's tables
 * and checks every record type number, name and fixed length, every payload
 * field's offset, size and type, the file, chunk and record headers, the
 * source and device-kind names and the CRC-32C check value against event.h
 * and the code.  Every mismatch is one line naming the document row, or the
 * row that is missing.
 *
 * A record type added to event.h needs three things, each named by a failure
 * here: its row in the document's "Record types" table, a section "### Type N:
 * `name`" with its layout (run this test with --print for the tables as the
 * code lays them out), and its field list in layouts[] below (TAIL for a
 * variable tail the struct declares, TAIL_AT for one it does not).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <migscope/bus.h>
#include <migscope/capture.h>
#include <migscope/devices.h>
#include <migscope/event.h>
#include <migscope/tracker.h>

#include "testutil.h"
#include "../../src/stream/capture_format.h"

#define DOC "docs/capture-format.md"
#define HDR sizeof(struct ms_event_hdr)

/* One field as the code lays it out; off is from the start of the payload. */
struct field {
	const char *name;
	const char *type; /* u8, u16, u32, u64, s32, bytes, range */
	size_t off, size;
	bool tail; /* a variable tail after the fixed part (size in the doc is a formula) */
};

/* clang-format cannot lay out a braced initializer that starts with # in a macro */
// clang-format off
#define F(s, f, t) { #f, t, offsetof(struct s, f) - HDR, sizeof(((struct s *)0)->f), false }
#define TAIL(s, f, t) { #f "[]", t, offsetof(struct s, f) - HDR, 0, true }
#define PLAIN(s, f, t) { #f, t, offsetof(struct s, f), sizeof(((struct s *)0)->f), false }
/* a tail the struct has no member for: its name and where it starts (the fixed length) */
#define TAIL_AT(s, f, t) { #f "[]", t, sizeof(struct s) - HDR, 0, true }
/* a field of the run appended to the records the kernel collectors coalesce (struct ms_run) */
#define RUN(s, f, t) { #f, t, offsetof(struct s, run.f) - HDR, sizeof(((struct s *)0)->run.f), false }
// clang-format on

static const struct field f_session[] = { F(ms_ev_session, mono_ns, "u64"),
					  F(ms_ev_session, realtime_ns, "u64"),
					  F(ms_ev_session, source, "u32"),
					  F(ms_ev_session, flags, "u32"),
					  { NULL } };
static const struct field f_config[] = { F(ms_ev_config, downtime_limit_ns, "u64"),
					 F(ms_ev_config, bandwidth_bps, "u64"),
					 F(ms_ev_config, page_size, "u64"),
					 F(ms_ev_config, changed_after_ns, "u64"),
					 { NULL } };
static const struct field f_dev_add[] = {
	F(ms_ev_dev_add, kind, "u16"),	    F(ms_ev_dev_add, role, "u16"),
	F(ms_ev_dev_add, caps, "u32"),	    F(ms_ev_dev_add, peer, "u32"),
	F(ms_ev_dev_add, name_len, "u16"),  F(ms_ev_dev_add, reserved, "u16"),
	TAIL(ms_ev_dev_add, name, "bytes"), { NULL }
};
static const struct field f_dev_state[] = {
	F(ms_ev_dev_state, domain, "u16"), F(ms_ev_dev_state, from, "u8"),
	F(ms_ev_dev_state, to, "u8"),	   F(ms_ev_dev_state, err, "s32"),
	F(ms_ev_dev_state, dur_ns, "u64"), { NULL }
};
static const struct field f_precopy[] = { F(ms_ev_precopy, initial_bytes, "u64"),
					  F(ms_ev_precopy, dirty_bytes, "u64"),
					  F(ms_ev_precopy, flags, "u32"),
					  F(ms_ev_precopy, reserved, "u32"),
					  { NULL } };
static const struct field f_stopcopy_size[] = { F(ms_ev_stopcopy_size, bytes, "u64"), { NULL } };
static const struct field f_data[] = { F(ms_ev_data, bytes, "u64"),
				       F(ms_ev_data, phase, "u32"),
				       F(ms_ev_data, reserved, "u32"),
				       { NULL } };
static const struct field f_track_start[] = { F(ms_ev_track_start, page_size, "u64"),
					      F(ms_ev_track_start, nr_ranges, "u32"),
					      F(ms_ev_track_start, reserved, "u32"),
					      TAIL(ms_ev_track_start, ranges, "range"),
					      { NULL } };
static const struct field f_track_stop[] = { { NULL } };
static const struct field f_iommu_map[] = { F(ms_ev_iommu_map, iova, "u64"),
					    F(ms_ev_iommu_map, paddr, "u64"),
					    F(ms_ev_iommu_map, size, "u64"),
					    RUN(ms_ev_iommu_map, count, "u32"),
					    RUN(ms_ev_iommu_map, span_ns, "u32"),
					    { NULL } };
static const struct field f_iommu_unmap[] = { F(ms_ev_iommu_unmap, iova, "u64"),
					      F(ms_ev_iommu_unmap, size, "u64"),
					      F(ms_ev_iommu_unmap, unmapped, "u64"),
					      RUN(ms_ev_iommu_unmap, count, "u32"),
					      RUN(ms_ev_iommu_unmap, span_ns, "u32"),
					      { NULL } };
static const struct field f_dma_write[] = { F(ms_ev_dma_write, iova, "u64"),
					    F(ms_ev_dma_write, len, "u64"),
					    F(ms_ev_dma_write, source, "u32"),
					    F(ms_ev_dma_write, dir, "u32"),
					    RUN(ms_ev_dma_write, count, "u32"),
					    RUN(ms_ev_dma_write, span_ns, "u32"),
					    { NULL } };
static const struct field f_loss[] = { F(ms_ev_loss, reason, "u32"), F(ms_ev_loss, reserved, "u32"),
				       F(ms_ev_loss, count, "u64"),  F(ms_ev_loss, iova, "u64"),
				       F(ms_ev_loss, len, "u64"),    { NULL } };
static const struct field f_harvest[] = { F(ms_ev_harvest, iova, "u64"),
					  F(ms_ev_harvest, len, "u64"),
					  F(ms_ev_harvest, page_size, "u64"),
					  { NULL } };
static const struct field f_mig_status[] = { F(ms_ev_mig_status, status, "u32"),
					     F(ms_ev_mig_status, pass, "u32"),
					     { NULL } };
static const struct field f_mig_stats[] = { F(ms_ev_mig_stats, status, "u32"),
					    F(ms_ev_mig_stats, reserved, "u32"),
					    F(ms_ev_mig_stats, total_time_ms, "u64"),
					    F(ms_ev_mig_stats, downtime_ms, "u64"),
					    F(ms_ev_mig_stats, expected_downtime_ms, "u64"),
					    F(ms_ev_mig_stats, setup_time_ms, "u64"),
					    F(ms_ev_mig_stats, ram_total, "u64"),
					    F(ms_ev_mig_stats, ram_remaining, "u64"),
					    F(ms_ev_mig_stats, ram_transferred, "u64"),
					    F(ms_ev_mig_stats, dirty_pages_rate, "u64"),
					    F(ms_ev_mig_stats, dirty_sync_count, "u64"),
					    F(ms_ev_mig_stats, vfio_transferred, "u64"),
					    F(ms_ev_mig_stats, mbps_milli, "u64"),
					    { NULL } };
static const struct field f_runstate[] = { F(ms_ev_runstate, running, "u32"),
					   F(ms_ev_runstate, reserved, "u32"),
					   { NULL } };
static const struct field f_qemu_pending[] = {
	F(ms_ev_qemu_pending, precopy, "u64"),	 F(ms_ev_qemu_pending, postcopy, "u64"),
	F(ms_ev_qemu_pending, threshold, "u64"), F(ms_ev_qemu_pending, exact, "u32"),
	F(ms_ev_qemu_pending, reserved, "u32"),	 F(ms_ev_qemu_pending, origin, "u32"),
	F(ms_ev_qemu_pending, reserved2, "u32"), { NULL }
};
static const struct field f_qemu_section[] = { F(ms_ev_qemu_section, section_id, "u32"),
					       F(ms_ev_qemu_section, phase, "u32"),
					       F(ms_ev_qemu_section, ret, "s32"),
					       F(ms_ev_qemu_section, reserved, "u32"),
					       { NULL } };
static const struct field f_qemu_downtime[] = { F(ms_ev_qemu_downtime, kind, "u32"),
						F(ms_ev_qemu_downtime, checkpoint, "u32"),
						F(ms_ev_qemu_downtime, dur_ns, "u64"),
						{ NULL } };
static const struct field f_switchover[] = { F(ms_ev_switchover, phase, "u32"),
					     F(ms_ev_switchover, reserved, "u32"),
					     { NULL } };
static const struct field f_dev_attach[] = { F(ms_ev_dev_attach, group, "u32"),
					     F(ms_ev_dev_attach, reserved, "u32"),
					     { NULL } };
static const struct field f_source_stats[] = {
	F(ms_ev_source_stats, source, "u32"),	F(ms_ev_source_stats, reserved, "u32"),
	F(ms_ev_source_stats, accepted, "u64"), F(ms_ev_source_stats, skipped, "u64"),
	F(ms_ev_source_stats, errors, "u64"),	{ NULL }
};
static const struct field f_session_end[] = { F(ms_ev_session_end, status, "s32"),
					      F(ms_ev_session_end, reserved, "u32"),
					      TAIL_AT(ms_ev_session_end, why, "bytes"),
					      { NULL } };
static const struct field f_pass[] = {
	F(ms_ev_pass, pass, "u32"),  F(ms_ev_pass, origin, "u32"), F(ms_ev_pass, flags, "u32"),
	F(ms_ev_pass, reserved, "u32"), F(ms_ev_pass, left, "u64"), F(ms_ev_pass, dirty, "u64"),
	F(ms_ev_pass, dur_ns, "u64"), { NULL }
};
static const struct field f_qemu_mark[] = { F(ms_ev_qemu_mark, mark, "u32"),
					    F(ms_ev_qemu_mark, arg, "s32"),
					    { NULL } };
static const struct field f_dirty_rate[] = {
	F(ms_ev_dirty_rate, window_ns, "u64"), F(ms_ev_dirty_rate, rate_bps, "u64"),
	F(ms_ev_dirty_rate, rate_hi_bps, "u64"), F(ms_ev_dirty_rate, mode, "u32"),
	F(ms_ev_dirty_rate, reserved, "u32"), { NULL }
};
static const struct field f_dirty_rate_state[] = { F(ms_ev_dirty_rate_state, state, "u32"),
						   F(ms_ev_dirty_rate_state, mode, "u32"),
						   TAIL_AT(ms_ev_dirty_rate_state, why, "bytes"),
						   { NULL } };
static const struct field f_arc_watch[] = { F(ms_ev_arc_watch, state, "u32"),
					    F(ms_ev_arc_watch, reserved, "u32"),
					    { NULL } };

/*
 * Numbers below MS_EV__MAX that this tree does not use: types are handed out
 * to work in flight by number (event.h), so a gap is another branch's type
 * until the branches meet.  A gap has no name and no payload in bus.c's table.
 */
static bool allocated(unsigned int type)
{
	return strcmp(ms_event_type_name(type), "unknown") || ms_event_fixed_len(type);
}

/* Every record type's payload; a type added to event.h needs its fields here. */
static const struct field *const layouts[MS_EV__MAX] = {
	[MS_EV_SESSION] = f_session,
	[MS_EV_CONFIG] = f_config,
	[MS_EV_DEV_ADD] = f_dev_add,
	[MS_EV_DEV_STATE] = f_dev_state,
	[MS_EV_PRECOPY] = f_precopy,
	[MS_EV_STOPCOPY_SIZE] = f_stopcopy_size,
	[MS_EV_DATA] = f_data,
	[MS_EV_TRACK_START] = f_track_start,
	[MS_EV_TRACK_STOP] = f_track_stop,
	[MS_EV_IOMMU_MAP] = f_iommu_map,
	[MS_EV_IOMMU_UNMAP] = f_iommu_unmap,
	[MS_EV_DMA_WRITE] = f_dma_write,
	[MS_EV_LOSS] = f_loss,
	[MS_EV_HARVEST] = f_harvest,
	[MS_EV_MIG_STATUS] = f_mig_status,
	[MS_EV_MIG_STATS] = f_mig_stats,
	[MS_EV_RUNSTATE] = f_runstate,
	[MS_EV_QEMU_PENDING] = f_qemu_pending,
	[MS_EV_QEMU_SECTION] = f_qemu_section,
	[MS_EV_QEMU_DOWNTIME] = f_qemu_downtime,
	[MS_EV_SWITCHOVER] = f_switchover,
	[MS_EV_DEV_ATTACH] = f_dev_attach,
	[MS_EV_SOURCE_STATS] = f_source_stats,
	[MS_EV_SESSION_END] = f_session_end,
	[MS_EV_PASS] = f_pass,
	[MS_EV_QEMU_MARK] = f_qemu_mark,
	[MS_EV_DIRTY_RATE] = f_dirty_rate,
	[MS_EV_KERNEL_ARC] = f_dev_state,
	[MS_EV_ARC_WATCH] = f_arc_watch,
	[MS_EV_DIRTY_RATE_STATE] = f_dirty_rate_state,
};

/* The fixed structures around the records; offsets from their own start. */
static const struct field f_file_hdr[] = { { "magic", "bytes", offsetof(struct ms_file_hdr, magic),
					     8, false },
					   PLAIN(ms_file_hdr, version, "u16"),
					   PLAIN(ms_file_hdr, hdr_len, "u16"),
					   PLAIN(ms_file_hdr, info_len, "u32"),
					   PLAIN(ms_file_hdr, info_crc, "u32"),
					   PLAIN(ms_file_hdr, flags, "u32"),
					   PLAIN(ms_file_hdr, hdr_crc, "u32"),
					   PLAIN(ms_file_hdr, reserved, "u32"),
					   { NULL } };
static const struct field f_chunk_hdr[] = { PLAIN(ms_chunk_hdr, magic, "u32"),
					    PLAIN(ms_chunk_hdr, len, "u32"),
					    PLAIN(ms_chunk_hdr, nr_events, "u32"),
					    PLAIN(ms_chunk_hdr, crc, "u32"),
					    { NULL } };
static const struct field f_record_hdr[] = { PLAIN(ms_event_hdr, type, "u16"),
					     PLAIN(ms_event_hdr, len, "u16"),
					     PLAIN(ms_event_hdr, dev, "u32"),
					     PLAIN(ms_event_hdr, ts_ns, "u64"),
					     { NULL } };
static const struct field f_range[] = { PLAIN(ms_range, iova, "u64"),
					PLAIN(ms_range, len, "u64"),
					{ NULL } };
static const struct field f_end[] = { PLAIN(ms_end_payload, total_events, "u64"), { NULL } };

/* --- the document -------------------------------------------------------------------- */

#define MAX_CELLS 8
#define CELL_LEN  96

struct row {
	unsigned int line;
	unsigned int nr;
	char cell[MAX_CELLS][CELL_LEN];
};

/* A table of the document: the rows under one heading. */
struct table {
	char heading[128];
	unsigned int line;
	unsigned int nr;
	struct row *rows;
};

struct doc {
	struct table *t;
	unsigned int nr;
	char *text;
	unsigned int problems;
};

static void problem(struct doc *d, unsigned int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void problem(struct doc *d, unsigned int line, const char *fmt, ...)
{
	va_list ap;

	printf("%s:%u: ", DOC, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	d->problems++;
}

/* Trim spaces and backticks: "`dev_add`" and "dev_add" name the same thing. */
static void clean(char *dst, const char *s, size_t n)
{
	size_t len;

	while (n && (isspace((unsigned char)*s) || *s == '`')) {
		s++;
		n--;
	}
	while (n && (isspace((unsigned char)s[n - 1]) || s[n - 1] == '`'))
		n--;
	len = n < CELL_LEN - 1 ? n : CELL_LEN - 1;
	memcpy(dst, s, len);
	dst[len] = '\0';
}

static void parse_row(struct row *r, const char *line)
{
	const char *p = line + 1;

	r->nr = 0;
	while (*p && r->nr < MAX_CELLS) {
		const char *bar = strchr(p, '|');

		if (!bar)
			break;
		clean(r->cell[r->nr++], p, (size_t)(bar - p));
		p = bar + 1;
	}
}

static void doc_load(struct doc *d)
{
	const char *dir = getenv("MIGSCOPE_SRCDIR") ? getenv("MIGSCOPE_SRCDIR") : ".";
	char path[512];
	unsigned char *buf;
	size_t len;
	unsigned int no = 0;
	struct table *cur = NULL;

	memset(d, 0, sizeof(*d));
	snprintf(path, sizeof(path), "%s/%s", dir, DOC);
	len = tu_read_file(path, &buf);
	d->text = malloc(len + 1);
	assert_non_null(d->text);
	memcpy(d->text, buf, len);
	d->text[len] = '\0';
	free(buf);

	/* line by line, counting every line for the messages */
	for (char *p = d->text; *p;) {
		char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		char l[512], *h;

		no++;
		snprintf(l, sizeof(l), "%.*s", (int)n, p);
		p += n + (nl ? 1 : 0);
		if (!strncmp(l, "## ", 3) || !strncmp(l, "### ", 4)) {
			d->t = realloc(d->t, (d->nr + 1) * sizeof(*d->t));
			assert_non_null(d->t);
			cur = &d->t[d->nr++];
			memset(cur, 0, sizeof(*cur));
			/* headings without backticks: "Type 3: dev_add" */
			h = cur->heading;
			for (const char *q = l + (l[2] == ' ' ? 3 : 4); *q; q++)
				if (*q != '`' && h < cur->heading + sizeof(cur->heading) - 1)
					*h++ = *q;
			cur->line = no;
			continue;
		}
		if (!cur || l[0] != '|' || !strncmp(l, "|---", 4) || !strncmp(l, "| ---", 5))
			continue;
		cur->rows = realloc(cur->rows, (cur->nr + 1) * sizeof(*cur->rows));
		assert_non_null(cur->rows);
		parse_row(&cur->rows[cur->nr], l);
		cur->rows[cur->nr].line = no;
		cur->nr++;
	}
}

static void doc_free(struct doc *d)
{
	for (unsigned int i = 0; i < d->nr; i++)
		free(d->t[i].rows);
	free(d->t);
	free(d->text);
}

static const struct table *doc_table(const struct doc *d, const char *heading)
{
	for (unsigned int i = 0; i < d->nr; i++)
		if (!strcmp(d->t[i].heading, heading))
			return &d->t[i];
	return NULL;
}

static bool number(const char *s, unsigned long long *v)
{
	char *end;

	if (!*s || !isdigit((unsigned char)*s))
		return false;
	*v = strtoull(s, &end, 0);
	return !*end;
}

static size_t type_size(const char *t)
{
	if (!strcmp(t, "u8"))
		return 1;
	if (!strcmp(t, "u16"))
		return 2;
	if (!strcmp(t, "u32") || !strcmp(t, "s32"))
		return 4;
	if (!strcmp(t, "u64") || !strcmp(t, "s64"))
		return 8;
	return 0; /* bytes, range: the size column says */
}

/*
 * Check a layout table (columns: offset, size, field, type, meaning) against
 * fields; header rows (non-numeric offset) are skipped.  end: the fixed length.
 */
static void check_layout(struct doc *d, const struct table *t, const struct field *fields,
			 size_t end, const char *what)
{
	unsigned int i = 0;
	size_t next = 0;

	for (unsigned int r = 0; r < t->nr; r++) {
		const struct row *row = &t->rows[r];
		const struct field *f = &fields[i];
		unsigned long long off, size = 0;
		bool fixed;

		if (!number(row->cell[0], &off))
			continue; /* the table's header row */
		if (row->nr < 4) {
			problem(d, row->line, "%s: a layout row has offset, size, field and type",
				what);
			continue;
		}
		fixed = number(row->cell[1], &size);
		if (!f->name) {
			problem(d, row->line,
				"%s: field %s is not in event.h (or not in this test's list)", what,
				row->cell[2]);
			continue;
		}
		if (strcmp(row->cell[2], f->name))
			problem(d, row->line,
				"%s: field at offset %llu is %s in the document, %s in the code",
				what, off, row->cell[2], f->name);
		if (off != f->off)
			problem(d, row->line, "%s: %s is at offset %zu, the document says %llu",
				what, f->name, f->off, off);
		if (f->tail ? fixed : (!fixed || size != f->size))
			problem(d, row->line, "%s: %s is %s, the document says size %s", what,
				f->name,
				f->tail ? "a variable tail (a formula, not a number)" : "fixed",
				row->cell[1]);
		else if (!f->tail && size != f->size)
			problem(d, row->line, "%s: %s has %zu bytes, the document says %llu", what,
				f->name, f->size, size);
		if (strcmp(row->cell[3], f->type))
			problem(d, row->line, "%s: %s is %s, the document says %s", what, f->name,
				f->type, row->cell[3]);
		if (fixed && type_size(row->cell[3]) && type_size(row->cell[3]) != size)
			problem(d, row->line, "%s: %s: type %s does not have %llu bytes", what,
				f->name, row->cell[3], size);
		if (off != next)
			problem(d, row->line, "%s: %s starts at %llu, the field before ends at %zu",
				what, f->name, off, next);
		next = f->tail ? next : off + size;
		i++;
	}
	for (; fields[i].name; i++)
		problem(d, t->line, "%s: no row for field %s (offset %zu, %zu bytes, %s)", what,
			fields[i].name, fields[i].off, fields[i].size, fields[i].type);
	if (next != end)
		problem(d, t->line, "%s: the rows cover %zu bytes, the fixed part has %zu", what,
			next, end);
}

static void check_struct(struct doc *d, const char *heading, const struct field *fields,
			 size_t size)
{
	const struct table *t = doc_table(d, heading);

	if (!t) {
		problem(d, 1, "no section \"%s\"", heading);
		return;
	}
	check_layout(d, t, fields, size, heading);
}

/* --- the checks ------------------------------------------------------------------- */

/* The table of record types: type, name, fixed payload bytes, ... */
static void record_types_match_event_h(void **state)
{
	struct doc d;
	const struct table *t;
	bool seen[MS_EV__MAX] = { false };

	doc_load(&d);
	t = doc_table(&d, "Record types");
	assert_non_null(t);
	for (unsigned int r = 0; r < t->nr; r++) {
		const struct row *row = &t->rows[r];
		unsigned long long type, fixed;

		if (!number(row->cell[0], &type))
			continue;
		if (type == 0 || type >= MS_EV__MAX) {
			problem(&d, row->line,
				"record type %llu (%s) is not in event.h (MS_EV__MAX is %d)", type,
				row->cell[1], MS_EV__MAX);
			continue;
		}
		seen[type] = true;
		if (strcmp(row->cell[1], ms_event_type_name((unsigned int)type)))
			problem(&d, row->line,
				"record type %llu is %s in the document, %s in the code", type,
				row->cell[1], ms_event_type_name((unsigned int)type));
		if (!number(row->cell[2], &fixed) ||
		    fixed != ms_event_fixed_len((unsigned int)type))
			problem(&d, row->line,
				"record type %llu (%s) has %u fixed payload bytes, the document "
				"says %s",
				type, row->cell[1], ms_event_fixed_len((unsigned int)type),
				row->cell[2]);
	}
	for (unsigned int type = 1; type < MS_EV__MAX; type++)
		if (!seen[type] && allocated(type))
			problem(&d, t->line,
				"no row for record type %u (%s, %u fixed payload bytes) in the "
				"table of record types",
				type, ms_event_type_name(type), ms_event_fixed_len(type));
	printf("%u problem(s)\n", d.problems);
	assert_int_equal(d.problems, 0);
	doc_free(&d);
}

/* Each record type's section "Type N: name" with its payload layout. */
static void payload_layouts_match_event_h(void **state)
{
	struct doc d;

	doc_load(&d);
	for (unsigned int type = 1; type < MS_EV__MAX; type++) {
		char heading[128], what[160];
		const struct table *t;

		if (!allocated(type))
			continue;
		snprintf(heading, sizeof(heading), "Type %u: %s", type, ms_event_type_name(type));
		snprintf(what, sizeof(what), "record type %u (%s)", type, ms_event_type_name(type));
		if (!layouts[type]) {
			printf("%s: no field list in tests/unit/test_capture_doc.c: add one "
			       "(layouts[])\n",
			       what);
			d.problems++;
			continue;
		}
		t = doc_table(&d, heading);
		if (!t) {
			problem(&d, 1, "no section \"### %s\" with the layout of %s", heading,
				what);
			continue;
		}
		check_layout(&d, t, layouts[type], ms_event_fixed_len(type), what);
	}
	/* a section for a type the code does not have */
	for (unsigned int i = 0; i < d.nr; i++) {
		unsigned int type;
		char name[64];

		if (sscanf(d.t[i].heading, "Type %u: %63s", &type, name) == 2 &&
		    (type >= MS_EV__MAX || strcmp(name, ms_event_type_name(type))))
			problem(&d, d.t[i].line, "section \"%s\" names no record type of event.h",
				d.t[i].heading);
	}
	printf("%u problem(s)\n", d.problems);
	assert_int_equal(d.problems, 0);
	doc_free(&d);
}

static void headers_match_the_code(void **state)
{
	struct doc d;

	doc_load(&d);
	check_struct(&d, "File header", f_file_hdr, sizeof(struct ms_file_hdr));
	check_struct(&d, "Chunk header", f_chunk_hdr, sizeof(struct ms_chunk_hdr));
	check_struct(&d, "Record header", f_record_hdr, sizeof(struct ms_event_hdr));
	check_struct(&d, "Range", f_range, sizeof(struct ms_range));
	check_struct(&d, "End marker payload", f_end, sizeof(struct ms_end_payload));
	printf("%u problem(s)\n", d.problems);
	assert_int_equal(d.problems, 0);
	doc_free(&d);
}

/* A table of value -> name under heading, against name(value) for every value below max. */
static void check_names(struct doc *d, const char *heading, const char *(*name)(unsigned int),
			unsigned int max)
{
	const struct table *t = doc_table(d, heading);
	unsigned int seen = 0;

	if (!t) {
		problem(d, 1, "no section \"%s\"", heading);
		return;
	}
	for (unsigned int r = 0; r < t->nr; r++) {
		unsigned long long v;

		if (!number(t->rows[r].cell[0], &v))
			continue;
		if (v >= max) {
			problem(d, t->rows[r].line, "%s: value %llu (%s) is not in the code",
				heading, v, t->rows[r].cell[1]);
			continue;
		}
		seen |= 1u << v;
		if (strcmp(t->rows[r].cell[1], name((unsigned int)v)))
			problem(d, t->rows[r].line,
				"%s: %llu is %s in the document, %s in the code", heading, v,
				t->rows[r].cell[1], name((unsigned int)v));
	}
	for (unsigned int v = 0; v < max; v++)
		if (!(seen & (1u << v)))
			problem(d, t->line, "%s: no row for value %u (%s)", heading, v, name(v));
}

/* The report's names (src/report/report.c); a source added there needs its row here too. */
static const char *session_source_name(unsigned int v)
{
	static const char *const names[] = { [MS_SESSION_SYNTH] = "synth",
					     [MS_SESSION_PROFILE] = "profile",
					     [MS_SESSION_WATCH] = "watch",
					     [MS_SESSION_IMPORT] = "import" };

	return names[v];
}

static const char *loss_reason_name(unsigned int v)
{
	static const char *const names[MS_LOSS__MAX] = {
		[MS_LOSS_RINGBUF_DROP] = "ringbuf_drop", [MS_LOSS_ADMIN_READ] = "admin_read",
		[MS_LOSS_RESTART] = "restart",		 [MS_LOSS_REPORT_ERROR] = "report_error",
		[MS_LOSS_SOURCE_ERROR] = "source_error",
	};

	return names[v];
}

static void names_match_the_code(void **state)
{
	struct doc d;

	doc_load(&d);
	check_names(&d, "Write sources", ms_write_source_name, MS_SRC__MAX);
	check_names(&d, "Device kinds", ms_dev_kind_name, MS_DEV_KIND_QEMU_VM + 1);
	check_names(&d, "Session sources", session_source_name, MS_SESSION_IMPORT + 1);
	check_names(&d, "Loss reasons", loss_reason_name, MS_LOSS__MAX);
	printf("%u problem(s)\n", d.problems);
	assert_int_equal(d.problems, 0);
	doc_free(&d);
}

/* The document gives the CRC-32C check value as "`123456789` is `0x...`". */
static void crc_check_value_matches_the_code(void **state)
{
	struct doc d;
	const char *p;
	unsigned long v;

	doc_load(&d);
	p = strstr(d.text, "`123456789` is `0x");
	if (!p) {
		doc_free(&d);
		fail_msg("%s: no CRC-32C check value (\"`123456789` is `0x...`\")", DOC);
	}
	v = strtoul(p + strlen("`123456789` is `"), NULL, 16);
	doc_free(&d);
	assert_int_equal(v, ms_crc32c(0, "123456789", 9));
	assert_int_equal(v, 0xe3069283);
}

static void print_layouts(void)
{
	for (unsigned int type = 1; type < MS_EV__MAX; type++) {
		printf("### Type %u: `%s`\n\n| offset | size | field | type | meaning |\n"
		       "|---|---|---|---|---|\n",
		       type, ms_event_type_name(type));
		for (const struct field *f = layouts[type]; f && f->name; f++)
			printf("| %zu | %zu | `%s` | %s | |\n", f->off, f->size, f->name, f->type);
		printf("\n");
	}
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(record_types_match_event_h),
		cmocka_unit_test(payload_layouts_match_event_h),
		cmocka_unit_test(headers_match_the_code),
		cmocka_unit_test(names_match_the_code),
		cmocka_unit_test(crc_check_value_matches_the_code),
	};

	if (argc > 1 && !strcmp(argv[1], "--print")) {
		print_layouts();
		return 0;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
