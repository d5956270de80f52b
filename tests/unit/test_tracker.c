// SPDX-License-Identifier: GPL-2.0-only
/*
 * The dirty tracker on a real session: every source merged, the union against
 * a reference set (random operations, fixed seeds), VFIO export, loss and
 * unmap widening, the cross-source check, harvests, every bad input, and the
 * report.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <migscope/capture.h>
#include <migscope/json.h>
#include <migscope/rand.h>
#include <migscope/report.h>
#include <migscope/session.h>
#include <migscope/tracker.h>

#include "testutil.h"

#define PS 4096ull

/* --- publishing records ------------------------------------------------------------- */

static uint64_t now = 1000;

static struct ms_session *new_session(void)
{
	struct ms_session_opts o = { 0 };
	char err[MS_ERR_LEN];
	struct ms_session *s = ms_session__new(&o, err, sizeof(err));

	assert_non_null(s);
	ms_stream__begin(&s->stream, now, MS_SESSION_SYNTH, 0, 0, 0);
	return s;
}

static uint32_t add_dev(struct ms_session *s, const char *name)
{
	return ms_stream__add_device(&s->stream, now, MS_DEV_KIND_REF, MS_ROLE_SOURCE, 0,
				     MS_DEV_NONE, name);
}

static void start_n(struct ms_session *s, uint32_t dev, uint64_t page_size,
		    const struct ms_range *r, uint32_t nr, uint32_t claimed)
{
	struct {
		struct ms_ev_track_start t;
		struct ms_range r[8];
	} ev;

	memset(&ev, 0, sizeof(ev));
	MS_EVENT_INIT(&ev.t, MS_EV_TRACK_START, ms_ev_track_start, dev, now++);
	ev.t.hdr.len += (uint16_t)(nr * sizeof(*r));
	ev.t.page_size = page_size;
	ev.t.nr_ranges = claimed;
	memcpy(ev.r, r, nr * sizeof(*r));
	ms_stream__publish(&s->stream, &ev.t.hdr);
}

static void start(struct ms_session *s, uint32_t dev, uint64_t page_size, const struct ms_range *r,
		  uint32_t nr)
{
	start_n(s, dev, page_size, r, nr, nr);
}

static void stop(struct ms_session *s, uint32_t dev)
{
	struct ms_event_hdr h = { MS_EV_TRACK_STOP, 0, dev, now++ };

	ms_stream__publish(&s->stream, &h);
}

static void write_rec(struct ms_session *s, uint32_t dev, uint32_t src, uint64_t iova, uint64_t len)
{
	struct ms_ev_dma_write w = { 0 };

	MS_EVENT_INIT(&w, MS_EV_DMA_WRITE, ms_ev_dma_write, dev, now++);
	w.iova = iova;
	w.len = len;
	w.source = src;
	ms_stream__publish(&s->stream, &w.hdr);
}

static void harvest(struct ms_session *s, uint32_t dev, uint64_t iova, uint64_t len,
		    uint64_t page_size)
{
	struct ms_ev_harvest h = { 0 };

	MS_EVENT_INIT(&h, MS_EV_HARVEST, ms_ev_harvest, dev, now++);
	h.iova = iova;
	h.len = len;
	h.page_size = page_size;
	ms_stream__publish(&s->stream, &h.hdr);
}

static void loss(struct ms_session *s, uint32_t dev, uint32_t reason, uint64_t iova, uint64_t len)
{
	struct ms_ev_loss l = { 0 };

	MS_EVENT_INIT(&l, MS_EV_LOSS, ms_ev_loss, dev, now++);
	l.reason = reason;
	l.count = 7;
	l.iova = iova;
	l.len = len;
	ms_stream__publish(&s->stream, &l.hdr);
}

static void map(struct ms_session *s, uint64_t iova, uint64_t size)
{
	struct ms_ev_iommu_map m = { 0 };

	MS_EVENT_INIT(&m, MS_EV_IOMMU_MAP, ms_ev_iommu_map, MS_DEV_NONE, now++);
	m.iova = iova;
	m.paddr = iova;
	m.size = size;
	ms_stream__publish(&s->stream, &m.hdr);
}

static void unmap(struct ms_session *s, uint64_t iova, uint64_t size)
{
	struct ms_ev_iommu_unmap u = { 0 };

	MS_EVENT_INIT(&u, MS_EV_IOMMU_UNMAP, ms_ev_iommu_unmap, MS_DEV_NONE, now++);
	u.iova = iova;
	u.size = size;
	u.unmapped = size;
	ms_stream__publish(&s->stream, &u.hdr);
}

/* --- looking at the result --------------------------------------------------------- */

static struct ms_dirty_summary summary(struct ms_session *s, uint32_t dev)
{
	struct ms_dirty_summary sum;

	assert_int_equal(ms_tracker__device_summary(s->tracker, dev, &sum), 0);
	return sum;
}

/* The device's dirty bits over [iova, iova + npages * PS), one word (npages <= 64). */
static uint64_t dirty_word(struct ms_session *s, uint32_t dev, uint64_t iova, unsigned int npages)
{
	uint64_t w = 0;
	char err[256];

	assert_int_equal(
	    ms_tracker__export(s->tracker, dev, iova, npages * PS, PS, &w, 1, err, sizeof(err)), 0);
	return w;
}

/* The JSON "dirty" object of a device, as text, for substring checks. */
static char *dirty_json(struct ms_session *s, uint32_t dev)
{
	struct json_object *o = ms_report__dirty_json(s->tracker, dev, 0);
	char *str;

	assert_non_null(o);
	str = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return str;
}

static void assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("expected to find '%s' in: %s", needle, hay);
}

/* --- every source merged ---------------------------------------------------------------- */

static void every_source_is_merged_into_one_dirty_set(void **state)
{
	struct ms_session *s = new_session();
	uint32_t d = add_dev(s, "ref0");
	struct ms_range r = { 0x100000, 64 * PS };
	struct ms_dirty_summary sum;

	start(s, d, PS, &r, 1);
	/* page i from source i */
	for (uint32_t src = 0; src < MS_SRC__MAX; src++)
		write_rec(s, d, src, 0x100000 + src * PS, PS);
	assert_int_equal(dirty_word(s, d, 0x100000, 64), (1ull << MS_SRC__MAX) - 1);
	sum = summary(s, d);
	assert_int_equal(sum.pending_pages, MS_SRC__MAX);
	assert_int_equal(sum.pages, MS_SRC__MAX);
	assert_int_equal(sum.records, MS_SRC__MAX);
	for (uint32_t src = 0; src < MS_SRC__MAX; src++)
		assert_int_equal(sum.source_pages[src], 1);
	ms_session__free(s);
}

/* --- the property test -------------------------------------------------------------------- */

#define NR_RANGES 3
#define MARGIN	  16u /* pages around each range that records also hit */

struct model {
	struct ms_range r[NR_RANGES];
	uint64_t harvested; /* pages the harvests took, summed */
	bool keep;	    /* the tracker keeps the distinct session pages */
	uint64_t prev_end;  /* last byte of the write before (next_bytes) */
	uint64_t pages[NR_RANGES];
	uint8_t *dirty[NR_RANGES];   /* the window's union */
	uint8_t *session[NR_RANGES]; /* every page ever dirty */
};

static void model_init(struct model *m)
{
	static const uint64_t base[NR_RANGES] = { 0x100000, 0x40000000, 0xfffff000000ull };
	static const uint64_t pages[NR_RANGES] = { 300, 128, 64 };

	for (int i = 0; i < NR_RANGES; i++) {
		m->r[i].iova = base[i];
		m->r[i].len = pages[i] * PS;
		m->pages[i] = pages[i];
		m->dirty[i] = calloc(pages[i], 1);
		m->session[i] = calloc(pages[i], 1);
	}
}

static void model_free(struct model *m)
{
	for (int i = 0; i < NR_RANGES; i++) {
		free(m->dirty[i]);
		free(m->session[i]);
	}
}

/* Mark the tracked pages touching bytes [iova, end]. */
static void model_set(struct model *m, uint64_t iova, uint64_t end)
{
	for (int i = 0; i < NR_RANGES; i++) {
		uint64_t lo = iova > m->r[i].iova ? iova : m->r[i].iova;
		uint64_t last = m->r[i].iova + m->r[i].len - 1;
		uint64_t hi = end < last ? end : last;

		for (uint64_t p = lo / PS; lo <= hi && p <= hi / PS; p++) {
			m->dirty[i][p - m->r[i].iova / PS] = 1;
			m->session[i][p - m->r[i].iova / PS] = 1;
		}
	}
}

/* Clear the tracked pages wholly inside bytes [iova, end]. */
static void model_clear(struct model *m, uint64_t iova, uint64_t end)
{
	for (int i = 0; i < NR_RANGES; i++)
		for (uint64_t k = 0; k < m->pages[i]; k++) {
			uint64_t lo = m->r[i].iova + k * PS;

			if (lo >= iova && lo + PS - 1 <= end && m->dirty[i][k]) {
				m->dirty[i][k] = 0;
				m->harvested++;
			}
		}
}

/* A byte range around one tracked range: partly outside, unaligned, 1 byte to 9 pages. */
static void rand_bytes(struct ms_rand *rnd, struct model *m, uint64_t *iova, uint64_t *len)
{
	int i = (int)ms_rand__below(rnd, NR_RANGES);
	uint64_t span = (m->pages[i] + 2 * MARGIN) * PS;

	*iova = m->r[i].iova - MARGIN * PS + ms_rand__below(rnd, span);
	*len = ms_rand__below(rnd, 4) ? 1 + ms_rand__below(rnd, 9 * PS) : PS;
}

static void assert_model(struct ms_session *s, uint32_t dev, struct model *m)
{
	uint64_t pending = 0, total = 0;
	struct ms_dirty_summary sum = summary(s, dev);

	for (int i = 0; i < NR_RANGES; i++) {
		uint64_t n = m->pages[i], words = (n + 63) / 64;
		uint64_t *got = calloc(words, 8), *want = calloc(words, 8);
		char err[256];

		for (uint64_t k = 0; k < n; k++) {
			if (m->dirty[i][k])
				want[k / 64] |= 1ull << (k % 64);
			pending += m->dirty[i][k];
			total += m->session[i][k];
		}
		assert_int_equal(ms_tracker__export(s->tracker, dev, m->r[i].iova, m->r[i].len, PS,
						    got, words, err, sizeof(err)),
				 0);
		/* never a page less than the reference (and here, none more) */
		assert_memory_equal(got, want, words * 8);
		free(got);
		free(want);
	}
	assert_int_equal(sum.pending_pages, pending);
	assert_int_equal(sum.pages, m->harvested + pending);
	assert_int_equal(sum.distinct_pages, m->keep ? total : 0);
}

/*
 * A write that follows the one before it in the same range (a device filling
 * buffer after buffer): from just before its end to a page past it, 1 byte
 * to 2 pages long.  Such runs take the tracker's path that joins a write to
 * the one in flight before it.
 */
static void next_bytes(struct ms_rand *rnd, struct model *m, uint64_t *iova, uint64_t *len)
{
	uint64_t prev_end = m->prev_end;
	int i;

	for (i = 0; i < NR_RANGES; i++)
		if (prev_end >= m->r[i].iova && prev_end < m->r[i].iova + m->r[i].len - 1)
			break;
	if (i == NR_RANGES || !ms_rand__below(rnd, 50)) {
		i = (int)ms_rand__below(rnd, NR_RANGES);
		prev_end = m->r[i].iova + ms_rand__below(rnd, m->r[i].len);
	}
	*iova = prev_end - ms_rand__below(rnd, 64) + ms_rand__below(rnd, PS + 64);
	*len = ms_rand__below(rnd, 3) ? PS : 1 + ms_rand__below(rnd, 2 * PS);
	m->prev_end = *iova + *len - 1;
}

static void property_run(uint64_t seed, bool keep, bool clustered)
{
	struct ms_session *s = new_session();
	uint32_t dev = add_dev(s, "ref0"), other = add_dev(s, "ref1");
	struct ms_rand rnd;
	struct model m;

	ms_rand__seed(&rnd, seed);
	if (keep)
		ms_tracker__keep_session_pages(s->tracker);
	model_init(&m);
	m.harvested = 0;
	m.prev_end = 0;
	m.keep = keep;
	start(s, dev, PS, m.r, NR_RANGES);
	for (int op = 0; op < 3000; op++) {
		uint64_t roll = ms_rand__below(&rnd, 100), iova, len;

		if (clustered)
			next_bytes(&rnd, &m, &iova, &len);
		else
			rand_bytes(&rnd, &m, &iova, &len);
		if (roll < 70) {
			/* clustered: mostly one source, as a device's buffers are */
			uint32_t src = clustered && roll < 60
					   ? MS_SRC_DMA_UNMAP
					   : (uint32_t)ms_rand__below(&rnd, MS_SRC__MAX);

			write_rec(s, dev, src, iova, len);
			model_set(&m, iova, iova + len - 1);
		} else if (roll < 73) {
			/* another device's records never land in this one */
			write_rec(s, other, MS_SRC_DMA_UNMAP, iova, len);
		} else if (roll < 78) {
			loss(s, dev, MS_LOSS_RINGBUF_DROP, iova, len);
			model_set(&m, iova, iova + len - 1);
		} else if (roll < 82) {
			unmap(s, iova, len);
			model_set(&m, iova, iova + len - 1);
		} else if (roll < 84) {
			map(s, iova, len);
		} else if (roll < 92) {
			/* a harvest of some bytes, at a random consumer page size */
			len = ms_rand__below(&rnd, 40 * PS) + 1;
			harvest(s, dev, iova, len, PS << ms_rand__below(&rnd, 5));
			model_clear(&m, iova, iova + len - 1);
		} else if (roll < 93) {
			harvest(s, dev, 0, 0, PS);
			model_clear(&m, 0, UINT64_MAX);
		} else {
			assert_model(s, dev, &m);
		}
	}
	assert_model(s, dev, &m);
	model_free(&m);
	ms_session__free(s);
}

static void union_never_misses_a_page_against_a_reference_set(void **state)
{
	/* with and without the session's distinct pages: the harvest takes other paths */
	for (uint64_t seed = 11; seed < 17; seed++)
		property_run(seed, seed & 1, false);
}

static void clustered_writes_never_miss_a_page_against_a_reference_set(void **state)
{
	for (uint64_t seed = 21; seed < 27; seed++)
		property_run(seed, seed & 1, true);
}

/*
 * Once the IOMMU was seen mapping, every write not wholly inside what it maps
 * is counted, whatever the tracker remembers of the last check: a run of
 * writes inside a large map, one past its end, one past a small map's end in
 * the same word, and writes where an unmap just took the pages away.
 */
static void every_write_outside_the_mapped_set_is_counted(void **state)
{
	struct ms_session *s = new_session();
	uint32_t d = add_dev(s, "ref0");
	struct ms_range r = { 0, 64ull << 20 };
	const uint64_t big = 0x100000, big_len = 8ull << 20, small = 0x2000000;

	start(s, d, PS, &r, 1);
	map(s, big, big_len);	/* guest memory: one large piece */
	map(s, small, 16 * PS); /* a few pages, less than a word of the set */
	for (uint64_t i = 0; i < 300; i++)
		write_rec(s, d, MS_SRC_DMA_UNMAP, big + i * PS, PS);
	assert_int_equal(summary(s, d).outside_mapped_records, 0);

	write_rec(s, d, MS_SRC_DMA_UNMAP, big + big_len - PS, 2 * PS);
	assert_int_equal(summary(s, d).outside_mapped_records, 1);

	write_rec(s, d, MS_SRC_DMA_UNMAP, small, PS);
	write_rec(s, d, MS_SRC_DMA_UNMAP, small + 14 * PS, PS);
	assert_int_equal(summary(s, d).outside_mapped_records, 1);
	write_rec(s, d, MS_SRC_DMA_UNMAP, small + 15 * PS, 2 * PS);
	assert_int_equal(summary(s, d).outside_mapped_records, 2);

	write_rec(s, d, MS_SRC_DMA_UNMAP, big + 5 * PS, PS);
	unmap(s, big + 4 * PS, 4 * PS);
	write_rec(s, d, MS_SRC_DMA_UNMAP, big + 5 * PS, PS);
	write_rec(s, d, MS_SRC_DMA_UNMAP, big + 6 * PS, PS);
	assert_int_equal(summary(s, d).outside_mapped_records, 4);
	write_rec(s, d, MS_SRC_DMA_UNMAP, big + 9 * PS, PS);
	write_rec(s, d, MS_SRC_DMA_UNMAP, big + 3 * PS, PS);
	assert_int_equal(summary(s, d).outside_mapped_records, 4);
	map(s, big + 4 * PS, 4 * PS);
	write_rec(s, d, MS_SRC_DMA_UNMAP, big + 5 * PS, PS);
	assert_int_equal(summary(s, d).outside_mapped_records, 4);

	/* and every page written is dirty: 300 + the straddling two, the small map's four */
	assert_int_equal(summary(s, d).pending_pages, 300 + 2 + 4);
	ms_session__free(s);
}

/*
 * The batch bus (a ring read, a capture chunk): the tracker folds writes that
 * continue each other into one extent.  A random stream of clustered,
 * overlapping, random, unaligned, out-of-range, unknown-source and empty
 * writes of two devices, with maps, unmaps and harvests among them, gives
 * the same dirty report published in batches of every size as record by
 * record.
 */
static void batches_fold_writes_and_agree_with_record_by_record(void **state)
{
	for (uint64_t seed = 31; seed < 35; seed++) {
		struct ms_session *a = new_session(), *b = new_session();
		struct ms_range r = { 0, 64ull << 20 };
		struct tu_recorder rec = { 0 };
		uint64_t cursor[2] = { 0, 32ull << 20 };
		const struct ms_event_hdr *batch[MS_BUS_BATCH];
		struct ms_rand rnd;
		uint32_t dev[2];
		size_t i = 0;

		ms_rand__seed(&rnd, seed);
		assert_int_equal(ms_bus__subscribe(&a->bus, MS_EV_ALL, tu_recorder__on_event, &rec),
				 0);
		dev[0] = add_dev(a, "ref0");
		dev[1] = add_dev(a, "ref1");
		start(a, dev[0], PS, &r, 1);
		start(a, dev[1], PS, &r, 1);
		map(a, 0, 48ull << 20);
		for (int k = 0; k < 20000; k++) {
			unsigned int d = (unsigned int)ms_rand__below(&rnd, 2);
			uint64_t roll = ms_rand__below(&rnd, 1000);
			uint64_t len = PS << ms_rand__below(&rnd, 3);
			uint32_t src = roll % 7 ? MS_SRC_DMA_UNMAP : MS_SRC_DMA_SYNC;

			if (roll < 700 && roll % 13 == 0) {
				/* a coalesced run: one record for the events it stands for */
				struct ms_ev_dma_write w = { 0 };

				MS_EVENT_INIT(&w, MS_EV_DMA_WRITE, ms_ev_dma_write, dev[d], now++);
				w.iova = cursor[d];
				w.len = len;
				w.source = src;
				w.run.count = 1 + (uint32_t)(roll % 5);
				ms_stream__publish(&a->stream, &w.hdr);
				cursor[d] += len;
			} else if (roll < 700) {
				write_rec(a, dev[d], src, cursor[d], len);
				/* some overlap the next, some leave a page out before it */
				cursor[d] += len - (roll % 5 ? 0 : PS) + (roll % 11 ? 0 : PS);
			} else if (roll < 800) {
				cursor[d] = ms_rand__below(&rnd, 80ull << 20) & ~(PS - 1);
				write_rec(a, dev[d], src, cursor[d], len);
			} else if (roll < 850) {
				write_rec(a, dev[d], src, cursor[d] + 100, 200); /* unaligned */
			} else if (roll < 870) {
				write_rec(a, dev[d], 9, cursor[d], PS); /* unknown source */
			} else if (roll < 880) {
				write_rec(a, dev[d], src, cursor[d], 0);
			} else if (roll < 900) {
				write_rec(a, MS_DEV_NONE, src, cursor[d], PS);
			} else if (roll < 940) {
				map(a, ms_rand__below(&rnd, 64ull << 20) & ~(PS - 1), 16 * PS);
			} else if (roll < 980) {
				unmap(a, ms_rand__below(&rnd, 64ull << 20) & ~(PS - 1), 4 * PS);
			} else {
				harvest(a, dev[d], 0, 64ull << 20, PS);
			}
		}
		/* the same records into b, in batches of every size */
		while (i < rec.count) {
			size_t n = 1 + ms_rand__below(&rnd, MS_BUS_BATCH);

			for (size_t j = 0; j < n && i + j < rec.count; j++)
				batch[j] = tu_recorder__get(&rec, i + j);
			n = i + n <= rec.count ? n : rec.count - i;
			ms_bus__publish_batch(&b->bus, batch, n);
			i += n;
		}
		assert_true(b->bus.batches > 0);
		for (int d = 0; d < 2; d++) {
			char *ja = dirty_json(a, dev[d]), *jb = dirty_json(b, dev[d]);

			if (strcmp(ja, jb))
				fail_msg("seed %llu, device %d: record by record %s, in batches %s",
					 (unsigned long long)seed, d, ja, jb);
			assert_true(summary(a, dev[d]).records > 10000 / 2 * 7 / 10);
			for (uint64_t iova = 0; iova < (80ull << 20); iova += 64 * PS)
				assert_int_equal(dirty_word(a, dev[d], iova, 64),
						 dirty_word(b, dev[d], iova, 64));
			free(ja);
			free(jb);
		}
		tu_recorder__free(&rec);
		ms_session__free(a);
		ms_session__free(b);
	}
}

/* --- export, harvest, totals ---------------------------------------------------------- */

static void export_is_the_vfio_bitmap_and_read_and_clear_is_a_harvest_record(void **state)
{
	struct ms_session *s = new_session();
	uint32_t d = add_dev(s, "ref0");
	struct ms_range r = { 0x200000, 256 * PS };
	struct tu_recorder rec = { 0 };
	uint64_t bm[4] = { 0 };
	struct ms_dirty_summary sum;
	char err[256];

	assert_int_equal(
	    ms_bus__subscribe(&s->bus, MS_EV_BIT(MS_EV_HARVEST), tu_recorder__on_event, &rec), 0);
	ms_tracker__keep_session_pages(s->tracker);
	start(s, d, PS, &r, 1);
	write_rec(s, d, MS_SRC_DMA_UNMAP, 0x200000, 2 * PS);		/* pages 0, 1 */
	write_rec(s, d, MS_SRC_HW_DIRTY, 0x200000 + 63 * PS + 100, PS); /* 63, 64 */
	write_rec(s, d, MS_SRC_VIRTIO_WR, 0x200000 + 200 * PS, 1);	/* 200 */
	assert_int_equal(ms_tracker__read_and_clear(s->tracker, &s->bus, now++, d, 0x200000,
						    256 * PS, PS, bm, 4, err, sizeof(err)),
			 0);
	assert_int_equal(bm[0], 3ull | (1ull << 63));
	assert_int_equal(bm[1], 1);
	assert_int_equal(bm[2], 0);
	assert_int_equal(bm[3], 1ull << (200 - 192));
	/* the clear went out as a record, so a capture replays it */
	assert_int_equal(rec.count, 1);
	sum = summary(s, d);
	assert_int_equal(sum.pending_pages, 0);
	assert_int_equal(sum.harvests, 1);
	assert_int_equal(sum.harvested_pages, 5);

	/* totals persist across harvests; page 0 again counts again, but once among distinct */
	write_rec(s, d, MS_SRC_DMA_UNMAP, 0x200000, PS);
	write_rec(s, d, MS_SRC_DMA_UNMAP, 0x200000 + 10 * PS, PS);
	sum = summary(s, d);
	assert_int_equal(sum.pending_pages, 2);
	assert_int_equal(sum.pages, 7);
	assert_int_equal(sum.distinct_pages, 6);
	assert_int_equal(sum.source_pages[MS_SRC_DMA_UNMAP], 2 + 2);

	/* a coarse export (2 MiB) of the same state */
	memset(bm, 0, sizeof(bm));
	assert_int_equal(
	    ms_tracker__export(s->tracker, d, 0, 4ull << 20, 2ull << 20, bm, 1, err, sizeof(err)),
	    0);
	assert_int_equal(bm[0], 1ull << 1);

	/* export of a device that is not tracking is a clear error */
	assert_int_equal(ms_tracker__export(s->tracker, 77, 0, PS, PS, bm, 1, err, sizeof(err)),
			 -ENOENT);
	assert_string_equal(err, "device 77 is not tracking dirty pages");
	tu_recorder__free(&rec);
	ms_session__free(s);
}

static void stop_with_pages_never_harvested_says_so(void **state)
{
	struct ms_session *s = new_session();
	uint32_t d = add_dev(s, "ref0");
	struct ms_range r = { 0, 64 * PS };
	struct ms_dirty_summary sum;
	char *j;

	ms_tracker__keep_session_pages(s->tracker);
	start(s, d, PS, &r, 1);
	write_rec(s, d, MS_SRC_DMA_UNMAP, 0, 3 * PS);
	stop(s, d);
	sum = summary(s, d);
	assert_false(sum.tracking);
	assert_int_equal(sum.unharvested_at_stop, 3);
	assert_int_equal(sum.pages, 3);
	assert_int_equal(sum.pending_pages, 0);
	/* a stop when not tracking is fine (virtio: it MUST succeed), and writes now are untracked
	 */
	stop(s, d);
	write_rec(s, d, MS_SRC_DMA_UNMAP, 10 * PS, PS);
	j = dirty_json(s, d);
	assert_contains(j, "\"unharvested_at_stop\":3");
	assert_contains(j, "\"untracked\":1");
	assert_contains(j, "\"rejected\":[]");
	free(j);

	/* tracking again at another page size keeps the session's pages, converted */
	r.len = 64 * 65536;
	start(s, d, 65536, &r, 1);
	write_rec(s, d, MS_SRC_DMA_UNMAP, 5 * 65536, 1);
	sum = summary(s, d);
	assert_int_equal(sum.page_size, 65536);
	assert_int_equal(sum.pages, 3 + 1);
	assert_int_equal(sum.distinct_pages, 2); /* old pages 0-2 are one 64 KiB page, and page 5 */
	ms_session__free(s);
}

/* --- widening ------------------------------------------------------------------------ */

static void loss_widens_the_whole_tracked_range_and_says_why(void **state)
{
	struct ms_session *s = new_session();
	uint32_t a = add_dev(s, "ref0"), b = add_dev(s, "ref1"), idle = add_dev(s, "idle");
	struct ms_range ra[2] = { { 0x10000, 16 * PS }, { 0x80000, 8 * PS } };
	struct ms_range rb = { 0x100000, 32 * PS };
	char *j;

	start(s, a, PS, ra, 2);
	start(s, b, PS, &rb, 1);
	write_rec(s, idle, MS_SRC_DMA_UNMAP, 0, PS); /* the idle device exists, not tracking */

	/* len 0: everything tracked by that device, and only that device */
	loss(s, a, MS_LOSS_ADMIN_READ, 0, 0);
	assert_int_equal(summary(s, a).pending_pages, 24);
	assert_int_equal(summary(s, b).pending_pages, 0);
	j = dirty_json(s, a);
	assert_contains(j, "\"cause\":\"loss:admin_read\"");
	assert_contains(j, "\"why\":\"a virtio write-record read failed\"");
	assert_contains(j, "\"events\":1,\"pages\":24,\"lost_records\":7,\"all_tracked\":true");
	free(j);

	/* no device: every tracking device */
	harvest(s, a, 0, 0, PS);
	loss(s, MS_DEV_NONE, MS_LOSS_RINGBUF_DROP, 0, 0);
	assert_int_equal(summary(s, a).pending_pages, 24);
	assert_int_equal(summary(s, b).pending_pages, 32);
	assert_int_equal(summary(s, idle).pending_pages, 0);
	j = dirty_json(s, idle);
	assert_contains(j, "\"losses_while_not_tracking\":1");
	free(j);

	/* a loss with an extent widens just that (the tracked part of it) */
	harvest(s, b, 0, 0, PS);
	loss(s, b, MS_LOSS_RESTART, 0x100000 - PS, 3 * PS);
	assert_int_equal(summary(s, b).pending_pages, 2);
	assert_int_equal(dirty_word(s, b, 0x100000, 32), 3);

	/* an unknown reason still widens */
	harvest(s, b, 0, 0, PS);
	loss(s, b, 99, 0, 0);
	assert_int_equal(summary(s, b).pending_pages, 32);
	j = dirty_json(s, b);
	assert_contains(j, "\"cause\":\"loss:unknown\"");
	free(j);
	ms_session__free(s);
}

static void unmap_while_tracking_marks_the_unmapped_range_dirty(void **state)
{
	struct ms_session *s = new_session();
	uint32_t a = add_dev(s, "ref0"), b = add_dev(s, "ref1"), idle = add_dev(s, "idle");
	struct ms_range r = { 0x100000, 64 * PS };
	char *j;

	start(s, a, PS, &r, 1);
	start(s, b, PS, &r, 1);
	write_rec(s, idle, MS_SRC_DMA_UNMAP, 0, PS);
	map(s, 0x100000, 64 * PS);
	/* the tracepoint carries no device: every tracking device gets the pages */
	unmap(s, 0x100000 + 4 * PS, 2 * PS);
	assert_int_equal(dirty_word(s, a, 0x100000, 64), 3ull << 4);
	assert_int_equal(dirty_word(s, b, 0x100000, 64), 3ull << 4);
	assert_int_equal(summary(s, idle).pending_pages, 0);
	j = dirty_json(s, a);
	assert_contains(j, "\"cause\":\"unmap_while_tracking\"");
	assert_contains(j, "\"events\":1,\"pages\":2");
	free(j);
	/* an unmap outside the tracked ranges is no event for the device */
	unmap(s, 0x900000, PS);
	assert_int_equal(summary(s, a).widen_events, 1);

	/* precise records in unmapped space are findings of the cross-check */
	write_rec(s, a, MS_SRC_DMA_UNMAP, 0x100000 + 4 * PS, PS);  /* unmapped above */
	write_rec(s, a, MS_SRC_DMA_UNMAP, 0x100000 + 10 * PS, PS); /* still mapped */
	assert_int_equal(summary(s, a).outside_mapped_records, 1);
	j = dirty_json(s, a);
	assert_contains(j, "\"outside_mapped\":{\"records\":1,\"bytes\":4096,\"first\":[{\"iova\":"
			   "\"0x104000\",\"length\":4096,\"source\":\"dma_unmap\"}]}");
	free(j);
	ms_session__free(s);
}

/* --- the cross-source check ------------------------------------------------------------ */

static void cross_source_check_finds_a_page_hidden_from_one_source(void **state)
{
	struct ms_session *s = new_session();
	uint32_t d = add_dev(s, "ref0");
	struct ms_range r = { 0x1000000, 1024 * PS };
	uint64_t hidden = 0x1000000 + 777 * PS;
	struct ms_dirty_summary sum;
	char *j;

	start(s, d, PS, &r, 1);
	/* as the reference device does: every write twice, once per source, one page hidden */
	for (uint64_t p = 700; p < 800; p++) {
		write_rec(s, d, MS_SRC_DMA_UNMAP, 0x1000000 + p * PS, PS);
		if (0x1000000 + p * PS != hidden)
			write_rec(s, d, MS_SRC_VIRTIO_WR, 0x1000000 + p * PS, PS);
	}
	/* faults see only first touches: they are never blamed for missing pages */
	write_rec(s, d, MS_SRC_IOMMU_FAULT, 0x1000000 + 700 * PS, PS);

	/* the open window shows it as unconfirmed: virtio may still report it */
	sum = summary(s, d);
	assert_int_equal(sum.discrepancy_pages, 0);
	assert_int_equal(sum.unconfirmed_pages, 1);
	/* the union still has the page: never under-report */
	assert_int_equal(sum.pending_pages, 100);

	/* closed, it is a suspect until virtio's next report lacks it too */
	harvest(s, d, 0, 0, PS);
	sum = summary(s, d);
	assert_int_equal(sum.discrepancy_pages, 0);
	assert_int_equal(sum.unconfirmed_pages, 1);
	write_rec(s, d, MS_SRC_DMA_UNMAP, 0x1000000, PS);
	write_rec(s, d, MS_SRC_VIRTIO_WR, 0x1000000, PS);
	harvest(s, d, 0, 0, PS);
	sum = summary(s, d);
	assert_int_equal(sum.discrepancy_pages, 1);
	assert_int_equal(sum.unconfirmed_pages, 0);
	j = dirty_json(s, d);
	assert_contains(j, "{\"reported_by\":\"dma\",\"missed_by\":\"virtio_wr\",\"windows\":2,"
			   "\"pages\":1,\"unconfirmed_pages\":0,\"first\":[\"0x1309000\"]}");
	assert_contains(j, "{\"reported_by\":\"virtio_wr\",\"missed_by\":\"dma\",\"windows\":2,"
			   "\"pages\":0,");
	assert_contains(j, "{\"reported_by\":\"iommu_fault\",\"missed_by\":\"dma\",\"windows\":2,"
			   "\"pages\":0,");
	assert_true(strstr(j, "\"missed_by\":\"iommu_fault\"") == NULL);
	free(j);
	ms_session__free(s);
}

static void a_source_reporting_a_window_late_is_not_a_discrepancy(void **state)
{
	struct ms_session *s = new_session();
	uint32_t d = add_dev(s, "ref0");
	struct ms_range r = { 0, 64 * PS };

	start(s, d, PS, &r, 1);
	/* the driver unmaps pages 0-3 now; the device's report of them fails ... */
	write_rec(s, d, MS_SRC_DMA_UNMAP, 0, 4 * PS);
	write_rec(s, d, MS_SRC_HW_DIRTY, 8 * PS, PS);
	write_rec(s, d, MS_SRC_DMA_UNMAP, 8 * PS, PS);
	loss(s, d, MS_LOSS_REPORT_ERROR, 0, 4 * PS);
	harvest(s, d, 0, 0, PS);
	/* ... and comes with the next report; the driver unmaps page 9 one window late */
	write_rec(s, d, MS_SRC_HW_DIRTY, 0, 4 * PS);
	write_rec(s, d, MS_SRC_HW_DIRTY, 9 * PS, PS);
	harvest(s, d, 0, 0, PS);
	write_rec(s, d, MS_SRC_DMA_UNMAP, 9 * PS, PS);
	harvest(s, d, 0, 0, PS);
	stop(s, d);
	assert_int_equal(summary(s, d).discrepancy_pages, 0);
	assert_int_equal(summary(s, d).unconfirmed_pages, 0);

	/* two windows late is too late: the stop confirms what is left */
	start(s, d, PS, &r, 1);
	write_rec(s, d, MS_SRC_HW_DIRTY, 20 * PS, PS);
	write_rec(s, d, MS_SRC_DMA_UNMAP, 30 * PS, PS);
	harvest(s, d, 0, 0, PS);
	harvest(s, d, 0, 0, PS);
	write_rec(s, d, MS_SRC_DMA_UNMAP, 20 * PS, PS);
	write_rec(s, d, MS_SRC_HW_DIRTY, 30 * PS, PS);
	stop(s, d);
	/*
	 * each page counts both ways: hw reported 20 in window 0 and dma had not by
	 * window 1; dma reported it in window 2 and hw had not since window 0 (and 30
	 * the other way round)
	 */
	assert_int_equal(summary(s, d).discrepancy_pages, 4);
	ms_session__free(s);
}

/*
 * The first hardware report fails, so in window 0 only the DMA view reports;
 * the hardware's pages come with its next report.  Window 0 must still be the
 * look-back of window 1, or those pages are blamed on the DMA view.
 */
static void a_failed_first_report_is_not_a_discrepancy(void **state)
{
	struct ms_session *s = new_session();
	uint32_t d = add_dev(s, "ref0");
	struct ms_range r = { 0, 64 * PS };

	start(s, d, PS, &r, 1);
	write_rec(s, d, MS_SRC_DMA_UNMAP, 0, 4 * PS);
	loss(s, d, MS_LOSS_REPORT_ERROR, 0, 4 * PS);
	harvest(s, d, 0, 0, PS);
	write_rec(s, d, MS_SRC_HW_DIRTY, 0, 4 * PS);
	write_rec(s, d, MS_SRC_HW_DIRTY, 10 * PS, PS);
	write_rec(s, d, MS_SRC_DMA_UNMAP, 10 * PS, PS);
	harvest(s, d, 0, 0, PS);
	harvest(s, d, 0, 0, PS);
	stop(s, d);
	assert_int_equal(summary(s, d).discrepancy_pages, 0);
	assert_int_equal(summary(s, d).unconfirmed_pages, 0);

	/* a page the DMA view never reports is still found, from the first window on */
	start(s, d, PS, &r, 1);
	write_rec(s, d, MS_SRC_DMA_UNMAP, 0, PS);
	harvest(s, d, 0, 0, PS);
	write_rec(s, d, MS_SRC_HW_DIRTY, 0, PS);
	write_rec(s, d, MS_SRC_HW_DIRTY, 20 * PS, PS);
	harvest(s, d, 0, 0, PS);
	harvest(s, d, 0, 0, PS);
	stop(s, d);
	assert_int_equal(summary(s, d).discrepancy_pages, 1);
	ms_session__free(s);
}

static void dma_unmap_and_sync_together_are_one_view(void **state)
{
	struct ms_session *s = new_session();
	uint32_t d = add_dev(s, "ref0");
	struct ms_range r = { 0, 64 * PS };

	start(s, d, PS, &r, 1);
	/* a driver reports some buffers at unmap, others at sync: together they are complete */
	write_rec(s, d, MS_SRC_DMA_UNMAP, 0, PS);
	write_rec(s, d, MS_SRC_DMA_SYNC, PS, PS);
	write_rec(s, d, MS_SRC_HW_DIRTY, 0, 2 * PS);
	assert_int_equal(summary(s, d).unconfirmed_pages, 0);
	/* ... and a page only the hardware saw is missed by the DMA view */
	write_rec(s, d, MS_SRC_HW_DIRTY, 5 * PS, PS);
	assert_int_equal(summary(s, d).unconfirmed_pages, 1);
	stop(s, d);
	assert_int_equal(summary(s, d).discrepancy_pages, 1);
	ms_session__free(s);
}

/* --- records outside the tracked ranges ------------------------------------------------- */

static void records_outside_every_tracked_range_are_counted_not_dropped(void **state)
{
	struct ms_session *s = new_session();
	uint32_t d = add_dev(s, "ref0");
	struct ms_range r[2] = { { 0x10000, 4 * PS }, { 0x20000, 4 * PS } };
	struct ms_dirty_summary sum;
	char *j;

	start(s, d, PS, r, 2);
	/* the last page of range 0, one page between the ranges, the first of range 1 */
	write_rec(s, d, MS_SRC_DMA_UNMAP, 0x13000, 0xd000 + PS);
	write_rec(s, d, MS_SRC_DMA_UNMAP, 0x90000, 100);
	sum = summary(s, d);
	assert_int_equal(sum.pending_pages, 2);
	assert_int_equal(sum.out_of_range_records, 2);
	j = dirty_json(s, d);
	assert_contains(j, "\"out_of_range\":{\"records\":2,\"bytes\":");
	assert_contains(j, "{\"iova\":\"0x90000\",\"length\":100,\"source\":\"dma_unmap\"}");
	free(j);
	ms_session__free(s);
}

/* --- bad input --------------------------------------------------------------------------- */

static void check_start_rejects_every_caller_mistake_with_a_clear_error(void **state)
{
	struct ms_range ok = { 0x1000, 0x2000 };
	struct ms_range many[2] = { { 0x0, 0x1000 }, { 0x1000, 0x1000 } };
	struct ms_range *big;
	char err[256];

	assert_int_equal(ms_tracker__check_start(PS, &ok, 1, err, sizeof(err)), 0);
	assert_int_equal(ms_tracker__check_start(PS, many, 2, err, sizeof(err)), 0);

	assert_int_equal(ms_tracker__check_start(3000, &ok, 1, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "page size 3000 is not a power of two");
	assert_int_equal(ms_tracker__check_start(0, &ok, 1, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "page size 0 is not a power of two");
	assert_int_equal(ms_tracker__check_start(PS, &ok, 0, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "no ranges to track");

	struct ms_range empty[2] = { ok, { 0x9000, 0 } };
	assert_int_equal(ms_tracker__check_start(PS, empty, 2, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "range 1 at 0x9000 is empty");

	struct ms_range wrap = { 0xfffffffffffff000ull, 0x2000 };
	assert_int_equal(ms_tracker__check_start(PS, &wrap, 1, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "range 0 [0xfffffffffffff000, +0x2000) wraps past 2^64");

	struct ms_range unaligned = { 0x1800, 0x1000 };
	assert_int_equal(ms_tracker__check_start(PS, &unaligned, 1, err, sizeof(err)), -EINVAL);
	assert_string_equal(err,
			    "range 0 [0x1800, +0x1000) is not aligned to the 4096-byte page size");

	struct ms_range overlap[3] = { { 0x10000, 0x4000 }, { 0x0, 0x1000 }, { 0x13000, 0x1000 } };
	assert_int_equal(ms_tracker__check_start(PS, overlap, 3, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "ranges 0 [0x10000, +0x4000) and 2 [0x13000, +0x1000) overlap");

	big = calloc(MS_TRACK_RECORD_MAX_RANGES + 1, sizeof(*big));
	for (size_t i = 0; i <= MS_TRACK_RECORD_MAX_RANGES; i++)
		big[i] = (struct ms_range){ i * PS, PS };
	assert_int_equal(
	    ms_tracker__check_start(PS, big, MS_TRACK_RECORD_MAX_RANGES, err, sizeof(err)), 0);
	assert_int_equal(
	    ms_tracker__check_start(PS, big, MS_TRACK_RECORD_MAX_RANGES + 1, err, sizeof(err)),
	    -E2BIG);
	assert_string_equal(err, "4095 ranges: at most 4094 can be tracked");
	free(big);
}

static void bad_track_start_and_harvest_records_are_refused_and_reported(void **state)
{
	struct ms_session *s = new_session();
	uint32_t d = add_dev(s, "ref0");
	struct ms_range r = { 0x1000, 0x2000 }, two[2] = { { 0, 0x4000 }, { 0x2000, 0x1000 } };
	char *j;

	start(s, d, 3000, &r, 1);
	start(s, d, PS, two, 2);
	start_n(s, d, PS, &r, 1, 5); /* claims 5 ranges, carries 1 */
	harvest(s, d, 0, 0, PS);
	assert_false(summary(s, d).tracking);
	/* writes while not tracking are counted, not dirty */
	write_rec(s, d, MS_SRC_DMA_UNMAP, 0x1000, PS);
	assert_int_equal(summary(s, d).pending_pages, 0);
	j = dirty_json(s, d);
	assert_contains(j, "{\"record\":\"track_start\",\"count\":3,\"first\":\"page size 3000 is "
			   "not a power of two\"}");
	assert_contains(j, "{\"record\":\"harvest\",\"count\":1,\"first\":\"harvest while not "
			   "tracking\"}");
	free(j);

	/* a good start, then a second start without a stop, then bad harvests */
	start(s, d, PS, &r, 1);
	start(s, d, PS, &r, 1);
	harvest(s, d, 0, 0, 4095);
	harvest(s, d, 0xfffffffffffff000ull, 0x2000, PS);
	assert_true(summary(s, d).tracking);
	assert_int_equal(summary(s, d).rejected, 3 + 1 + 1 + 2);
	assert_int_equal(summary(s, d).harvests, 0);
	ms_session__free(s);

	/* the same refusals with the other first errors */
	s = new_session();
	d = add_dev(s, "ref0");
	start(s, d, PS, two, 2);
	j = dirty_json(s, d);
	assert_contains(j, "\"first\":\"ranges 0 [0x0, +0x4000) and 1 [0x2000, +0x1000) overlap\"");
	free(j);
	ms_session__free(s);
}

static void bad_device_records_widen_conservatively(void **state)
{
	struct ms_session *s = new_session();
	uint32_t d = add_dev(s, "ref0");
	struct ms_range r = { 0x10000, 16 * PS };
	struct ms_ev_dma_write shortrec = { 0 };
	char *j;

	start(s, d, PS, &r, 1);
	/* zero length: the page at its address */
	write_rec(s, d, MS_SRC_DMA_UNMAP, 0x12345, 0);
	assert_int_equal(dirty_word(s, d, 0x10000, 16), 1ull << 2);
	/* unaligned: every page it touches, counted as unaligned */
	write_rec(s, d, MS_SRC_DMA_UNMAP, 0x14fff, 2);
	assert_int_equal(dirty_word(s, d, 0x10000, 16), (1ull << 2) | (3ull << 4));
	/* unknown source: its pages, as widened */
	write_rec(s, d, 42, 0x18000, PS);
	assert_int_equal(dirty_word(s, d, 0x10000, 16), (1ull << 2) | (3ull << 4) | (1ull << 8));
	j = dirty_json(s, d);
	assert_contains(j, "\"cause\":\"zero_length_record\"");
	assert_contains(j, "\"cause\":\"unknown_source\"");
	assert_contains(j, "\"dma_unmap\":{\"records\":2,\"bytes\":2,\"pages\":2,\"unaligned\":1");
	assert_contains(j, "\"unknown\":{\"records\":1");
	free(j);

	/* wrapping past 2^64: nothing in it can be placed, so everything tracked */
	harvest(s, d, 0, 0, PS);
	write_rec(s, d, MS_SRC_DMA_UNMAP, 0xfffffffffffff000ull, 0x2000);
	assert_int_equal(dirty_word(s, d, 0x10000, 16), 0xffff);
	/* a record shorter than its payload: the same */
	harvest(s, d, 0, 0, PS);
	MS_EVENT_INIT(&shortrec, MS_EV_DMA_WRITE, ms_ev_dma_write, d, now++);
	shortrec.hdr.len = 8;
	ms_stream__publish(&s->stream, &shortrec.hdr);
	assert_int_equal(dirty_word(s, d, 0x10000, 16), 0xffff);
	j = dirty_json(s, d);
	assert_contains(j, "\"cause\":\"wrapping_record\"");
	assert_contains(j, "\"cause\":\"short_record\"");
	free(j);
	ms_session__free(s);
}

/* --- the report ------------------------------------------------------------------------------ */

static void report_has_a_dirty_object_per_device_and_a_dirty_section(void **state)
{
	struct ms_session *s = new_session();
	uint32_t d = add_dev(s, "nic0");
	struct ms_range r = { 0, 64 * PS };
	struct json_object *rep, *dev, *dirty, *v;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	add_dev(s, "quiet"); /* no tracker records: no "dirty" */
	start(s, d, PS, &r, 1);
	write_rec(s, d, MS_SRC_DMA_UNMAP, 0, 2 * PS);
	write_rec(s, d, MS_SRC_VIRTIO_WR, 0, PS);
	loss(s, d, MS_LOSS_RINGBUF_DROP, 0, 0);
	rep = ms_report__json(&s->view);
	dev = ms_report__device(rep, d);
	assert_true(json_object_object_get_ex(dev, "dirty", &dirty));
	assert_true(json_object_object_get_ex(dirty, "pages", &v));
	assert_int_equal(json_object_get_int64(v), 64);
	assert_true(json_object_object_get_ex(dirty, "bytes", &v));
	assert_int_equal(json_object_get_int64(v), 64 * PS);
	assert_true(json_object_object_get_ex(dirty, "page_size", &v));
	assert_int_equal(json_object_get_int64(v), PS);
	for (const char *k = "sources\0out_of_range\0widened\0discrepancies\0rejected\0"; *k;
	     k += strlen(k) + 1)
		assert_true(json_object_object_get_ex(dirty, k, &v));
	assert_false(json_object_object_get_ex(ms_report__device(rep, d + 1), "dirty", &v));
	assert_true(json_object_object_get_ex(rep, "dirty_tracker", &v));
	json_object_put(rep);

	f = open_memstream(&text, &len);
	ms_report__print_text(&s->view, f);
	fclose(f);
	assert_contains(text, "DIRTY");
	assert_contains(text, "nic0");
	assert_contains(text, "widened loss:ringbuf_drop x1: 64 pages, all tracked");
	assert_contains(text,
			"unconfirmed: virtio_wr has not reported 1 page that dma reported, yet "
			"(first at 0x1000)");
	free(text);
	ms_session__free(s);
}

static void replay_of_a_capture_gives_the_same_dirty_report(void **state)
{
	char *path = tu_tmp_path(".mscap");
	struct ms_session_opts o = { .record_path = path };
	struct ms_capture_reader *rd;
	struct ms_session *s, *r;
	struct json_object *a, *b;
	char err[MS_ERR_LEN];
	struct ms_range rg = { 0x100000, 1024 * PS };

	s = ms_session__new(&o, err, sizeof(err));
	assert_non_null(s);
	uint32_t d = add_dev(s, "ref0");
	start(s, d, PS, &rg, 1);
	for (int i = 0; i < 500; i++)
		write_rec(s, d, (uint32_t)(i % MS_SRC__MAX),
			  0x100000 + (uint64_t)(i * 7 % 1024) * PS, PS);
	harvest(s, d, 0x100000, 512 * PS, PS);
	loss(s, d, MS_LOSS_RINGBUF_DROP, 0x100000, 8 * PS);
	unmap(s, 0x100000 + 900 * PS, 4 * PS);
	assert_int_equal(ms_session__end(s, now++, 0, err, sizeof(err)), 0);
	a = ms_report__json(&s->view);

	rd = ms_capture_reader__open(path, err, sizeof(err));
	assert_non_null(rd);
	o.record_path = NULL;
	o.info = ms_capture_reader__info(rd);
	r = ms_session__new(&o, err, sizeof(err));
	assert_int_equal(ms_capture_reader__replay(rd, &r->bus, NULL, err, sizeof(err)), 0);
	ms_capture_reader__close(rd);
	b = ms_report__json(&r->view);
	assert_string_equal(json_object_to_json_string(ms_report__device(a, d)),
			    json_object_to_json_string(ms_report__device(b, d)));
	json_object_put(a);
	json_object_put(b);
	ms_session__free(s);
	ms_session__free(r);
	unlink(path);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_source_is_merged_into_one_dirty_set),
		cmocka_unit_test(union_never_misses_a_page_against_a_reference_set),
		cmocka_unit_test(clustered_writes_never_miss_a_page_against_a_reference_set),
		cmocka_unit_test(export_is_the_vfio_bitmap_and_read_and_clear_is_a_harvest_record),
		cmocka_unit_test(stop_with_pages_never_harvested_says_so),
		cmocka_unit_test(loss_widens_the_whole_tracked_range_and_says_why),
		cmocka_unit_test(unmap_while_tracking_marks_the_unmapped_range_dirty),
		cmocka_unit_test(cross_source_check_finds_a_page_hidden_from_one_source),
		cmocka_unit_test(a_source_reporting_a_window_late_is_not_a_discrepancy),
		cmocka_unit_test(a_failed_first_report_is_not_a_discrepancy),
		cmocka_unit_test(dma_unmap_and_sync_together_are_one_view),
		cmocka_unit_test(records_outside_every_tracked_range_are_counted_not_dropped),
		cmocka_unit_test(every_write_outside_the_mapped_set_is_counted),
		cmocka_unit_test(batches_fold_writes_and_agree_with_record_by_record),
		cmocka_unit_test(check_start_rejects_every_caller_mistake_with_a_clear_error),
		cmocka_unit_test(bad_track_start_and_harvest_records_are_refused_and_reported),
		cmocka_unit_test(bad_device_records_widen_conservatively),
		cmocka_unit_test(report_has_a_dirty_object_per_device_and_a_dirty_section),
		cmocka_unit_test(replay_of_a_capture_gives_the_same_dirty_report),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
