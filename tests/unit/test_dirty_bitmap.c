// SPDX-License-Identifier: GPL-2.0-only
/*
 * The sparse dirty bitmap against a plain reference set (one byte per page
 * over a few regions spread across the 64-bit space), the VFIO bitmap format
 * bit for bit, page-size conversion, and every bad input.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <migscope/dirty_bitmap.h>
#include <migscope/rand.h>

#include "testutil.h"

#define KIB 1024ull
#define MIB (1024ull * KIB)
#define GIB (1024ull * MIB)
#define TIB (1024ull * GIB)

/* --- the reference: a byte per page over three regions ----------------------- */

#define REGION_PAGES 8192u
#define NR_REGIONS   3

struct ref {
	unsigned int shift;
	uint64_t base[NR_REGIONS];
	uint8_t *v[NR_REGIONS];
};

static void ref_init(struct ref *r, unsigned int shift)
{
	uint64_t top = UINT64_MAX >> shift;

	r->shift = shift;
	/* the bottom, somewhere in the middle, and the very top of the page space */
	r->base[0] = 0;
	r->base[1] = (top / 3) & ~63ull;
	r->base[2] = top - REGION_PAGES + 1;
	for (int i = 0; i < NR_REGIONS; i++)
		r->v[i] = calloc(REGION_PAGES, 1);
}

static void ref_free(struct ref *r)
{
	for (int i = 0; i < NR_REGIONS; i++)
		free(r->v[i]);
}

static uint8_t *ref_at(struct ref *r, uint64_t page)
{
	for (int i = 0; i < NR_REGIONS; i++)
		if (page >= r->base[i] && page - r->base[i] < REGION_PAGES)
			return &r->v[i][page - r->base[i]];
	return NULL;
}

static int ref_test(struct ref *r, uint64_t page)
{
	uint8_t *p = ref_at(r, page);

	return p && *p;
}

static void ref_fill(struct ref *r, uint64_t first, uint64_t last, uint8_t val)
{
	for (uint64_t p = first;; p++) {
		*ref_at(r, p) = val;
		if (p == last)
			break;
	}
}

static uint64_t ref_count(struct ref *r, uint64_t first, uint64_t last)
{
	uint64_t n = 0;

	for (uint64_t p = first;; p++) {
		n += ref_test(r, p);
		if (p == last)
			break;
	}
	return n;
}

/* a random page range inside one region */
static void rand_range(struct ms_rand *rnd, struct ref *r, uint64_t maxlen, uint64_t *first,
		       uint64_t *last)
{
	int i = (int)ms_rand__below(rnd, NR_REGIONS);
	uint64_t off = ms_rand__below(rnd, REGION_PAGES);
	uint64_t len = 1 + ms_rand__below(rnd, maxlen);

	if (off + len > REGION_PAGES)
		len = REGION_PAGES - off;
	*first = r->base[i] + off;
	*last = *first + len - 1;
}

/* --- comparing the whole set, through for_each_run -------------------------- */

struct run_check {
	struct ref *r;
	uint64_t prev_last;
	int have_prev;
	uint64_t pages;
};

static int check_run(void *ctx, uint64_t first, uint64_t last)
{
	struct run_check *c = ctx;

	assert_true(first <= last);
	/* maximal and ascending: a gap of at least one clear page from the previous run */
	if (c->have_prev)
		assert_true(first > c->prev_last + 1);
	for (uint64_t p = first;; p++) {
		assert_true(ref_test(c->r, p));
		if (p == last)
			break;
	}
	c->pages += last - first + 1;
	c->prev_last = last;
	c->have_prev = 1;
	return 0;
}

static void assert_same_set(struct ms_dirty_bitmap *bm, struct ref *r)
{
	struct run_check c = { r, 0, 0, 0 };
	uint64_t total = 0;

	assert_int_equal(
	    ms_dirty_bitmap__for_each_run(bm, 0, UINT64_MAX >> bm->shift, check_run, &c), 0);
	for (int i = 0; i < NR_REGIONS; i++)
		for (unsigned int k = 0; k < REGION_PAGES; k++)
			total += r->v[i][k];
	/* every page of the runs is in the reference, and as many: the same set */
	assert_int_equal(c.pages, total);
	assert_int_equal(ms_dirty_bitmap__count(bm), total);
}

/* --- the reference export -------------------------------------------------- */

static void ref_export(struct ref *r, uint64_t page_size, uint64_t iova, uint64_t length,
		       uint64_t osize, uint64_t *out)
{
	uint64_t end = iova + (length - 1), nbits = (length - 1) / osize + 1;

	for (uint64_t n = 0; n < nbits; n++) {
		uint64_t lo = iova + n * osize;
		uint64_t hi = n == nbits - 1 ? end : lo + osize - 1;

		(void)page_size;
		for (uint64_t p = lo >> r->shift;; p++) {
			if (ref_test(r, p)) {
				out[n / 64] |= 1ull << (n % 64);
				break;
			}
			if (p == hi >> r->shift)
				break;
		}
	}
}

static void ref_clear_inside(struct ref *r, uint64_t iova, uint64_t length)
{
	uint64_t ps = 1ull << r->shift, end = iova + (length - 1);

	for (uint64_t p = iova >> r->shift;; p++) {
		uint64_t lo = p << r->shift, hi = lo + ps - 1;
		uint8_t *v = ref_at(r, p);

		if (lo >= iova && hi <= end && v)
			*v = 0;
		if (p == end >> r->shift)
			break;
	}
}

static const uint64_t page_sizes[] = { 4 * KIB, 64 * KIB, 2 * MIB };

static void random_export(struct ms_rand *rnd, struct ms_dirty_bitmap *bm, struct ref *r)
{
	uint64_t osize = page_sizes[ms_rand__below(rnd, 3)];
	uint64_t iova, length, words;
	bool clear = ms_rand__below(rnd, 2);
	uint64_t *got, *want;
	char err[128];

	int i = (int)ms_rand__below(rnd, NR_REGIONS);
	uint64_t lo = r->base[i] << r->shift;
	/* wraps to UINT64_MAX for the region at the top of the space, as it should */
	uint64_t last_byte = ((r->base[i] + REGION_PAGES) << r->shift) - 1;
	uint64_t start = (lo + osize - 1) & ~(osize - 1);

	if (start > last_byte || last_byte - start + 1 < osize)
		return;
	/* an aligned start inside the region, up to a few hundred output pages, maybe a half */
	iova = start + ms_rand__below(rnd, (last_byte - start) / osize + 1) * osize;
	length = (1 + ms_rand__below(rnd, 300)) * osize - ms_rand__below(rnd, 2) * (osize / 2);
	if (length > last_byte - iova + 1)
		length = last_byte - iova + 1;
	words = ms_dirty_bitmap__words(length, osize);
	got = calloc(words + 1, 8);
	want = calloc(words + 1, 8);
	ref_export(r, 0, iova, length, osize, want);
	if (clear)
		assert_int_equal(ms_dirty_bitmap__read_and_clear(bm, iova, length, osize, got,
								 words, err, sizeof(err)),
				 0);
	else
		assert_int_equal(
		    ms_dirty_bitmap__export(bm, iova, length, osize, got, words, err, sizeof(err)),
		    0);
	assert_memory_equal(got, want, (words + 1) * 8);
	if (clear)
		ref_clear_inside(r, iova, length);
	free(got);
	free(want);
}

static void property_run(uint64_t seed, uint64_t page_size, unsigned int ops)
{
	struct ms_dirty_bitmap bm, other;
	struct ms_rand rnd;
	struct ref r, ro;

	ms_rand__seed(&rnd, seed);
	assert_int_equal(ms_dirty_bitmap__init(&bm, page_size, NULL, 0), 0);
	assert_int_equal(ms_dirty_bitmap__init(&other, page_size, NULL, 0), 0);
	ref_init(&r, bm.shift);
	ref_init(&ro, bm.shift);
	/* the middle region is bm's expected span: its words live in the flat form */
	ms_dirty_bitmap__set_span(&bm, r.base[1], r.base[1] + REGION_PAGES - 1);
	for (unsigned int i = 0; i < ops; i++) {
		uint64_t roll = ms_rand__below(&rnd, 100), first, last, q;

		/* mostly short writes, some long enough to become runs */
		rand_range(&rnd, &r, ms_rand__below(&rnd, 8) ? 12 : 3 * MS_DBM_RUN_PAGES, &first,
			   &last);
		if (roll < 45) {
			assert_int_equal(ms_dirty_bitmap__set_pages(&bm, first, last), 0);
			ref_fill(&r, first, last, 1);
		} else if (roll < 55) {
			assert_int_equal(ms_dirty_bitmap__clear_pages(&bm, first, last), 0);
			ref_fill(&r, first, last, 0);
		} else if (roll < 62) {
			assert_int_equal(ms_dirty_bitmap__set_pages(&other, first, last), 0);
			ref_fill(&ro, first, last, 1);
		} else if (roll < 70) {
			assert_int_equal(ms_dirty_bitmap__count_range(&bm, first, last),
					 ref_count(&r, first, last));
		} else if (roll < 76) {
			uint64_t a, b;

			assert_int_equal(ms_dirty_bitmap__test_all(&bm, first, last),
					 ref_count(&r, first, last) == last - first + 1);
			/* an extent holds the page and nothing but set pages */
			assert_int_equal(ms_dirty_bitmap__set_extent(&bm, first, &a, &b),
					 ref_test(&r, first));
			if (ref_test(&r, first)) {
				assert_true(a <= first && first <= b);
				assert_int_equal(ref_count(&r, a, b), b - a + 1);
			}
		} else if (roll < 82) {
			uint64_t total = 0;

			assert_int_equal(ms_dirty_bitmap__test(&bm, first), ref_test(&r, first));
			/* the running count of the words, with and without runs beside them */
			for (int k = 0; k < NR_REGIONS; k++)
				total += ref_count(&r, r.base[k], r.base[k] + REGION_PAGES - 1);
			assert_int_equal(ms_dirty_bitmap__count(&bm), total);
		} else if (roll < 90) {
			uint64_t ex[4], n = 0, want_ex[4];
			unsigned int nr, nw = 0;

			for (q = first;; q++) {
				if (ref_test(&r, q) && !ref_test(&ro, q)) {
					if (nw < 4)
						want_ex[nw++] = q;
					n++;
				}
				if (q == last)
					break;
			}
			assert_int_equal(
			    ms_dirty_bitmap__count_andnot(&bm, &other, first, last, ex, 4, &nr), n);
			assert_int_equal(nr, nw);
			assert_memory_equal(ex, want_ex, nw * sizeof(*ex));
			/* the same difference, built as a set */
			{
				struct ms_dirty_bitmap diff;
				int err;

				ms_dirty_bitmap__init(&diff, page_size, NULL, 0);
				assert_int_equal(ms_dirty_bitmap__andnot_into(
						     &diff, &bm, &other, NULL, first, last, &err),
						 n);
				assert_int_equal(err, 0);
				assert_int_equal(ms_dirty_bitmap__count(&diff), n);
				for (q = first;; q++) {
					assert_int_equal(ms_dirty_bitmap__test(&diff, q),
							 ref_test(&r, q) && !ref_test(&ro, q));
					if (q == last)
						break;
				}
				ms_dirty_bitmap__free(&diff);
			}
		} else if (roll < 98) {
			random_export(&rnd, &bm, &r);
		} else {
			/* OR other into bm over a range, as a harvest folds a window in */
			assert_int_equal(ms_dirty_bitmap__or(&bm, &other, first, last), 0);
			for (q = first;; q++) {
				if (ref_test(&ro, q))
					*ref_at(&r, q) = 1;
				if (q == last)
					break;
			}
		}
	}
	assert_same_set(&bm, &r);
	assert_false(bm.full);
	assert_non_null(bm.flat);
	ms_dirty_bitmap__free(&bm);
	ms_dirty_bitmap__free(&other);
	ref_free(&r);
	ref_free(&ro);
}

static void random_operations_match_a_reference_set(void **state)
{
	/* fixed seeds: a failure reproduces */
	for (uint64_t seed = 1; seed <= 4; seed++)
		for (size_t i = 0; i < sizeof(page_sizes) / sizeof(page_sizes[0]); i++)
			property_run(seed * 7919 + i, page_sizes[i], 6000);
}

static void export_matches_the_vfio_bitmap_format_bit_for_bit(void **state)
{
	struct ms_dirty_bitmap bm;
	uint64_t out[3];
	char err[128];

	assert_int_equal(ms_dirty_bitmap__init(&bm, 4096, NULL, 0), 0);
	/* pages 0, 3, 63, 64, 65 and 130 of a range starting at 1 GiB */
	assert_int_equal(ms_dirty_bitmap__set_range(&bm, GIB + 0x0000, 1, NULL, 0), 0);
	assert_int_equal(ms_dirty_bitmap__set_range(&bm, GIB + 0x3000, 0x1000, NULL, 0), 0);
	/* 0x3f800 + 0x1000 touches pages 63 and 64 partly: both dirty */
	assert_int_equal(ms_dirty_bitmap__set_range(&bm, GIB + 0x3f800, 0x1000, NULL, 0), 0);
	assert_int_equal(ms_dirty_bitmap__set_range(&bm, GIB + 0x41000, 0x1000, NULL, 0), 0);
	assert_int_equal(ms_dirty_bitmap__set_range(&bm, GIB + 0x82000, 0x10, NULL, 0), 0);

	/* bit n covers [iova + n * 4096, + 4096): word n / 64, bit n % 64 */
	memset(out, 0, sizeof(out));
	assert_int_equal(
	    ms_dirty_bitmap__export(&bm, GIB, 131 * 4096, 4096, out, 3, err, sizeof(err)), 0);
	assert_int_equal(out[0], (1ull << 0) | (1ull << 3) | (1ull << 63));
	assert_int_equal(out[1], (1ull << 0) | (1ull << 1));
	assert_int_equal(out[2], 1ull << 2);

	/* a range starting at page 3: everything moves down three bits */
	memset(out, 0, sizeof(out));
	assert_int_equal(
	    ms_dirty_bitmap__export(&bm, GIB + 0x3000, 128 * 4096, 4096, out, 2, err, sizeof(err)),
	    0);
	assert_int_equal(out[0], (1ull << 0) | (1ull << 60) | (1ull << 61) | (1ull << 62));
	assert_int_equal(out[1], 1ull << 63);

	/* only sets bits, like DMA_LOGGING_REPORT: two devices merge into one buffer */
	out[0] = 1ull << 5;
	out[1] = 0;
	assert_int_equal(
	    ms_dirty_bitmap__export(&bm, GIB, 64 * 4096, 4096, out, 1, err, sizeof(err)), 0);
	assert_int_equal(out[0], (1ull << 0) | (1ull << 3) | (1ull << 5) | (1ull << 63));
	assert_int_equal(out[1], 0);

	/* a length that ends mid-page still gets that page's bit; nothing past it */
	memset(out, 0, sizeof(out));
	assert_int_equal(
	    ms_dirty_bitmap__export(&bm, GIB, 3 * 4096 + 1, 4096, out, 1, err, sizeof(err)), 0);
	assert_int_equal(out[0], (1ull << 0) | (1ull << 3));

	/* read-and-clear: reported once, then gone; pages outside the range stay */
	memset(out, 0, sizeof(out));
	assert_int_equal(
	    ms_dirty_bitmap__read_and_clear(&bm, GIB, 64 * 4096, 4096, out, 1, err, sizeof(err)),
	    0);
	assert_int_equal(out[0], (1ull << 0) | (1ull << 3) | (1ull << 63));
	memset(out, 0, sizeof(out));
	assert_int_equal(
	    ms_dirty_bitmap__export(&bm, GIB, 131 * 4096, 4096, out, 3, err, sizeof(err)), 0);
	assert_int_equal(out[0], 0);
	assert_int_equal(out[1], (1ull << 0) | (1ull << 1));
	assert_int_equal(out[2], 1ull << 2);
	ms_dirty_bitmap__free(&bm);
}

static void page_size_conversion_goes_both_ways(void **state)
{
	struct ms_dirty_bitmap fine, coarse, conv;
	uint64_t out[16];
	char err[128];

	assert_int_equal(ms_dirty_bitmap__init(&fine, 4 * KIB, NULL, 0), 0);
	assert_int_equal(ms_dirty_bitmap__init(&coarse, 2 * MIB, NULL, 0), 0);
	/* one 4 KiB page in the second 64 KiB page and in the first 2 MiB page */
	assert_int_equal(ms_dirty_bitmap__set_range(&fine, 0x11000, 4096, NULL, 0), 0);

	/* coarse export: a coarse page is dirty if any fine page in it is */
	memset(out, 0, sizeof(out));
	assert_int_equal(
	    ms_dirty_bitmap__export(&fine, 0, 4 * MIB, 64 * KIB, out, 1, err, sizeof(err)), 0);
	assert_int_equal(out[0], 1ull << 1);
	memset(out, 0, sizeof(out));
	assert_int_equal(
	    ms_dirty_bitmap__export(&fine, 0, 4 * MIB, 2 * MIB, out, 1, err, sizeof(err)), 0);
	assert_int_equal(out[0], 1ull << 0);

	/* fine export: a fine page is dirty if its coarse page is */
	assert_int_equal(ms_dirty_bitmap__set_range(&coarse, 2 * MIB, 1, NULL, 0), 0);
	memset(out, 0, sizeof(out));
	assert_int_equal(
	    ms_dirty_bitmap__export(&coarse, 0, 4 * MIB, 64 * KIB, out, 1, err, sizeof(err)), 0);
	assert_int_equal(out[0], 0xffffffff00000000ull);
	memset(out, 0, sizeof(out));
	assert_int_equal(
	    ms_dirty_bitmap__export(&coarse, 2 * MIB, 2 * MIB, 4 * KIB, out, 8, err, sizeof(err)),
	    0);
	for (int i = 0; i < 8; i++)
		assert_int_equal(out[i], ~0ull);

	/* the same through ms_dirty_bitmap__or into bitmaps of other page sizes */
	assert_int_equal(ms_dirty_bitmap__init(&conv, 64 * KIB, NULL, 0), 0);
	assert_int_equal(ms_dirty_bitmap__or(&conv, &fine, 0, UINT64_MAX >> 12), 0);
	assert_int_equal(ms_dirty_bitmap__count(&conv), 1);
	assert_true(ms_dirty_bitmap__test(&conv, 1));
	assert_int_equal(ms_dirty_bitmap__or(&conv, &coarse, 0, UINT64_MAX >> 21), 0);
	assert_int_equal(ms_dirty_bitmap__count(&conv), 1 + 32);
	assert_true(ms_dirty_bitmap__test_all(&conv, 32, 63));
	ms_dirty_bitmap__free(&conv);

	/* read-and-clear at a finer page size than the bitmap's cannot clear a coarse page */
	memset(out, 0, sizeof(out));
	assert_int_equal(ms_dirty_bitmap__read_and_clear(&coarse, 2 * MIB, 4 * KIB, 4 * KIB, out, 1,
							 err, sizeof(err)),
			 0);
	assert_int_equal(out[0], 1);
	assert_int_equal(ms_dirty_bitmap__count(&coarse), 1);
	/* ... but one that covers the whole coarse page does */
	assert_int_equal(ms_dirty_bitmap__read_and_clear(&coarse, 2 * MIB, 2 * MIB, 4 * KIB, out, 8,
							 err, sizeof(err)),
			 0);
	assert_int_equal(ms_dirty_bitmap__count(&coarse), 0);
	ms_dirty_bitmap__free(&fine);
	ms_dirty_bitmap__free(&coarse);
}

static void marking_four_tib_dirty_costs_a_run_not_a_flat_bitmap(void **state)
{
	struct ms_dirty_bitmap bm;
	uint64_t out[2] = { 0 };
	char err[128];

	assert_int_equal(ms_dirty_bitmap__init(&bm, 4096, NULL, 0), 0);
	assert_int_equal(ms_dirty_bitmap__set_range(&bm, 0, 4 * TIB, err, sizeof(err)), 0);
	assert_int_equal(ms_dirty_bitmap__count(&bm), 1ull << 30);
	assert_true(ms_dirty_bitmap__mem_bytes(&bm) < 1024);
	/* a hole in the middle splits the run */
	assert_int_equal(ms_dirty_bitmap__clear_pages(&bm, 1000, 1063), 0);
	assert_int_equal(ms_dirty_bitmap__count(&bm), (1ull << 30) - 64);
	assert_int_equal(
	    ms_dirty_bitmap__export(&bm, 1000 * 4096, 128 * 4096, 4096, out, 2, err, sizeof(err)),
	    0);
	assert_int_equal(out[0], 0);
	assert_int_equal(out[1], ~0ull);
	assert_true(ms_dirty_bitmap__mem_bytes(&bm) < 1024);
	ms_dirty_bitmap__free(&bm);
}

/*
 * Pages set again inside a run add nothing: a 4 KiB IOMMU map inside guest
 * memory mapped whole (the tracker's mapped set) must not cost a word each,
 * or memory grows with the records rather than with the set.
 */
static void pages_inside_a_run_cost_nothing_more(void **state)
{
	struct ms_dirty_bitmap bm;
	struct ms_rand rnd;
	char err[128];
	uint64_t before;

	assert_int_equal(ms_dirty_bitmap__init(&bm, 4096, NULL, 0), 0);
	assert_int_equal(ms_dirty_bitmap__set_range(&bm, 0, 4 * TIB, err, sizeof(err)), 0);
	before = ms_dirty_bitmap__mem_bytes(&bm);
	ms_rand__seed(&rnd, 5);
	for (int i = 0; i < 100000; i++) {
		uint64_t p = ms_rand__below(&rnd, (1ull << 30) - 8);

		assert_int_equal(ms_dirty_bitmap__set_pages(&bm, p, p + (uint64_t)(i % 8)), 0);
	}
	assert_int_equal(ms_dirty_bitmap__mem_bytes(&bm), before);
	assert_int_equal(ms_dirty_bitmap__count(&bm), 1ull << 30);
	/* past the run's end: the pages outside it are still set */
	assert_int_equal(ms_dirty_bitmap__clear_pages(&bm, 1000, 1063), 0);
	assert_int_equal(ms_dirty_bitmap__set_pages(&bm, 990, 1010), 0);
	assert_true(ms_dirty_bitmap__test(&bm, 1005));
	assert_false(ms_dirty_bitmap__test(&bm, 1011));
	assert_int_equal(ms_dirty_bitmap__count(&bm), (1ull << 30) - 64 + 11);
	ms_dirty_bitmap__free(&bm);
}

static void memory_follows_the_dirty_pages_and_a_harvest_returns_it(void **state)
{
	struct ms_dirty_bitmap bm;
	struct ms_rand rnd;
	uint64_t *out = calloc(ms_dirty_bitmap__words(4 * TIB, 2 * MIB), 8);
	char err[128];

	assert_int_equal(ms_dirty_bitmap__init(&bm, 4096, NULL, 0), 0);
	ms_rand__seed(&rnd, 3);
	/* 10000 random pages over 4 TiB: a flat bitmap would be 128 MiB */
	for (int i = 0; i < 10000; i++) {
		uint64_t p = ms_rand__below(&rnd, 1ull << 30);

		assert_int_equal(ms_dirty_bitmap__set_pages(&bm, p, p), 0);
	}
	assert_int_equal(ms_dirty_bitmap__count(&bm), 10000);
	assert_true(ms_dirty_bitmap__mem_bytes(&bm) <= 64 * 10000);
	assert_int_equal(ms_dirty_bitmap__read_and_clear(&bm, 0, 4 * TIB, 2 * MIB, out,
							 ms_dirty_bitmap__words(4 * TIB, 2 * MIB),
							 err, sizeof(err)),
			 0);
	assert_int_equal(ms_dirty_bitmap__count(&bm), 0);
	assert_int_equal(ms_dirty_bitmap__mem_bytes(&bm), 0);
	free(out);
	ms_dirty_bitmap__free(&bm);
}

static void dense_words_go_flat_over_the_span_and_a_clear_frees_it(void **state)
{
	const uint64_t span_pages = 1ull << 24; /* 64 GiB at 4 KiB: a 2 MiB flat bitmap */
	struct ms_dirty_bitmap bm;
	struct ms_rand rnd;
	uint64_t flat_bytes = span_pages / 8 + span_pages / 64 / 8, n = 0;

	assert_int_equal(ms_dirty_bitmap__init(&bm, 4096, NULL, 0), 0);
	ms_dirty_bitmap__set_span(&bm, 0, span_pages - 1);
	ms_rand__seed(&rnd, 5);
	/* sparse: words in a table far smaller than the flat bitmap */
	for (int i = 0; i < 1000; i++) {
		uint64_t p = ms_rand__below(&rnd, span_pages);

		n += !ms_dirty_bitmap__test(&bm, p);
		assert_int_equal(ms_dirty_bitmap__set_pages(&bm, p, p), 0);
	}
	assert_null(bm.flat);
	assert_true(ms_dirty_bitmap__mem_bytes(&bm) < flat_bytes / 16);
	/* dense: past a quarter of the flat size the words move to the flat form */
	for (int i = 0; i < 100000; i++) {
		uint64_t p = ms_rand__below(&rnd, span_pages);

		n += !ms_dirty_bitmap__test(&bm, p);
		assert_int_equal(ms_dirty_bitmap__set_pages(&bm, p, p), 0);
	}
	assert_non_null(bm.flat);
	assert_int_equal(bm.used, 0);
	assert_int_equal(ms_dirty_bitmap__count(&bm), n);
	assert_true(ms_dirty_bitmap__mem_bytes(&bm) <= flat_bytes + 1024);
	/* pages outside the span still work, in a table beside the flat form */
	assert_int_equal(ms_dirty_bitmap__set_pages(&bm, span_pages + 5, span_pages + 5), 0);
	assert_int_equal(ms_dirty_bitmap__count(&bm), n + 1);
	assert_int_equal(ms_dirty_bitmap__clear_pages(&bm, 0, span_pages - 1), 0);
	assert_int_equal(ms_dirty_bitmap__count(&bm), 1);
	ms_dirty_bitmap__clear_all(&bm);
	assert_null(bm.flat);
	assert_int_equal(ms_dirty_bitmap__count(&bm), 0);
	ms_dirty_bitmap__free(&bm);
}

static void bad_input_is_refused_with_a_clear_error_and_changes_nothing(void **state)
{
	struct ms_dirty_bitmap bm;
	uint64_t out[4] = { 0 };
	char err[160];

	assert_int_equal(ms_dirty_bitmap__init(&bm, 3000, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "page size 3000 is not a power of two");
	assert_int_equal(ms_dirty_bitmap__init(&bm, 1024, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "page size 1024 is below 4 KiB");
	assert_int_equal(ms_dirty_bitmap__init(&bm, 2 * GIB, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "page size 2147483648 is above 1 GiB");

	assert_int_equal(ms_dirty_bitmap__init(&bm, 4096, err, sizeof(err)), 0);
	assert_int_equal(ms_dirty_bitmap__set_range(&bm, 0x5000, 0x1000, err, sizeof(err)), 0);

	assert_int_equal(ms_dirty_bitmap__set_range(&bm, 0x1000, 0, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "empty range at 0x1000");
	assert_int_equal(
	    ms_dirty_bitmap__set_range(&bm, UINT64_MAX - 0xfff, 0x2000, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "range 0xfffffffffffff000 + 0x2000 wraps past 2^64");
	/* ending exactly at 2^64 does not wrap */
	assert_int_equal(
	    ms_dirty_bitmap__set_range(&bm, UINT64_MAX - 0xfff, 0x1000, err, sizeof(err)), 0);
	assert_int_equal(ms_dirty_bitmap__set_pages(&bm, 5, 4), -EINVAL);
	assert_int_equal(ms_dirty_bitmap__set_pages(&bm, 0, UINT64_MAX), -EINVAL);

	assert_int_equal(ms_dirty_bitmap__export(&bm, 0, 0x10000, 4095, out, 4, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "export page size 4095 is not a power of two");
	assert_int_equal(ms_dirty_bitmap__export(&bm, 0, 0, 4096, out, 4, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "export of an empty range at 0x0");
	assert_int_equal(
	    ms_dirty_bitmap__export(&bm, 0x800, 0x10000, 4096, out, 4, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "export iova 0x800 is not aligned to the page size 4096");
	assert_int_equal(ms_dirty_bitmap__export(&bm, UINT64_MAX - 0xfff, 0x2000, 4096, out, 4, err,
						 sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "export range 0xfffffffffffff000 + 0x2000 wraps past 2^64");
	assert_int_equal(ms_dirty_bitmap__export(&bm, 0, 65 * 4096, 4096, out, 1, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err,
			    "export bitmap of 1 words is too small: 0x41000 bytes at page size "
			    "4096 need 2");
	/* nothing was written or cleared by the refused calls */
	assert_int_equal(out[0] | out[1] | out[2] | out[3], 0);
	assert_int_equal(ms_dirty_bitmap__count(&bm), 2);
	ms_dirty_bitmap__free(&bm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(random_operations_match_a_reference_set),
		cmocka_unit_test(export_matches_the_vfio_bitmap_format_bit_for_bit),
		cmocka_unit_test(page_size_conversion_goes_both_ways),
		cmocka_unit_test(marking_four_tib_dirty_costs_a_run_not_a_flat_bitmap),
		cmocka_unit_test(pages_inside_a_run_cost_nothing_more),
		cmocka_unit_test(memory_follows_the_dirty_pages_and_a_harvest_returns_it),
		cmocka_unit_test(dense_words_go_flat_over_the_span_and_a_clear_frees_it),
		cmocka_unit_test(bad_input_is_refused_with_a_clear_error_and_changes_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
