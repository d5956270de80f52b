/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A dirty bitmap for large, sparse IOVA spaces.
 *
 * A device may map terabytes of IOVA (a flat bitmap of 4 TiB at 4 KiB pages is
 * 128 MiB) while the pages it dirties between two harvests are usually few.
 * So the bitmap keeps what is set in the cheapest of three forms:
 *
 *   - words: 64-page leaves, allocated on first write, in an open-addressing
 *     hash table keyed by word index.  The table is the summary of non-empty
 *     leaves: a harvest walks it, never the span.  Eight consecutive words
 *     share a group of home slots, so clustered writes stay on few cache
 *     lines, and the word written last is cached.
 *   - flat: once the words would take more than a quarter of a flat bitmap
 *     of the span the owner expects (ms_dirty_bitmap__set_span), the span's
 *     words move to a flat array with a summary bit per word (a harvest reads
 *     the summary, 1/64 of the array, and only the words it marks).  Dense
 *     random writes then cost what a flat bitmap costs.
 *   - runs: sorted, disjoint page intervals for large sets (a loss that
 *     widens the whole tracked range, an unmap of a gigabyte), so marking
 *     4 TiB dirty costs 16 bytes.
 *
 * A page is set when a word or a run says so; the two may overlap.  Clearing
 * everything returns the memory.  If memory runs out the bitmap becomes
 * "full": every page reads as set until it is cleared whole, because a dirty
 * page must never be lost.
 *
 * Pages are numbered iova >> log2(page_size).  The byte-range functions round
 * outward when setting (a page partly written is dirty) and inward when
 * clearing (a page partly harvested keeps its other part's dirt).
 */
#ifndef MIGSCOPE_DIRTY_BITMAP_H
#define MIGSCOPE_DIRTY_BITMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Page sizes the bitmap and its exports accept (powers of two, VFIO's 4 KiB minimum). */
#define MS_DBM_PAGE_MIN (1ull << 12)
#define MS_DBM_PAGE_MAX (1ull << 30)

/* A set of at least this many pages is kept as a run rather than as words. */
#define MS_DBM_RUN_PAGES 1024

struct ms_dbm_word {
	uint64_t key; /* word index + 1; 0 is an empty slot */
	uint64_t bits;
};

struct ms_dbm_run {
	uint64_t first, last; /* pages, inclusive */
};

struct ms_dirty_bitmap {
	uint64_t page_size;
	unsigned int shift; /* log2(page_size) */
	bool full;	    /* out of memory: every page reads as set */
	uint64_t hot_w;	    /* the word written last ... */
	uint64_t *hot;	    /* ... and its bits, or NULL */
	uint64_t nbits;	    /* pages set in words (table and flat) */

	struct ms_dbm_word *tab; /* words */
	unsigned int tab_bits;	 /* log2(slots) when tab is allocated */
	uint64_t mask;		 /* slots - 1 when tab is allocated */
	uint64_t used;		 /* occupied slots */

	uint64_t span_w, span_words; /* the span hint, in words (0 words: none) */
	uint64_t *flat;		     /* the span's words, once dense; then tab holds the rest */
	uint64_t *flat_sum;	     /* bit i: flat[i] is not zero */
	uint64_t flat_used;	     /* non-zero words in flat */

	struct ms_dbm_run *runs;
	uint64_t nr_runs, runs_cap;
};

/*
 * NULL if page_size is a valid tracking/export page size, else why not
 * ("not a power of two", "below 4 KiB", "above 1 GiB").
 */
const char *ms_dirty_bitmap__page_size_problem(uint64_t page_size);

/* Empty bitmap at page_size.  0, or -EINVAL with err filled. */
int ms_dirty_bitmap__init(struct ms_dirty_bitmap *bm, uint64_t page_size, char *err, size_t errlen);

/*
 * The pages [first, last] the owner expects to set (a device's tracked
 * ranges): allows the flat form over them when the words get dense.  Only on
 * an empty bitmap; spans too large to ever be worth a flat array are ignored.
 */
void ms_dirty_bitmap__set_span(struct ms_dirty_bitmap *bm, uint64_t first, uint64_t last);

/* Release the memory; the bitmap stays usable and empty (with its span). */
void ms_dirty_bitmap__free(struct ms_dirty_bitmap *bm);

/* Clear every page (and a "full" state). */
void ms_dirty_bitmap__clear_all(struct ms_dirty_bitmap *bm);

/*
 * Set pages [first, last].  0, -EINVAL (first > last), or -ENOMEM after which
 * the bitmap is full (conservative).
 */
int ms_dirty_bitmap__set_pages_slow(struct ms_dirty_bitmap *bm, uint64_t first, uint64_t last);

/*
 * Set bits of a word.  Without a popcount instruction in the target flags
 * (the default x86-64 build) the builtin is a library call; this is not.
 */
static inline unsigned int ms_dbm_popcount(uint64_t x)
{
#if defined(__POPCNT__) || !(defined(__x86_64__) || defined(__i386__))
	return (unsigned int)__builtin_popcountll(x);
#else
	x -= (x >> 1) & 0x5555555555555555ull;
	x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
	return (unsigned int)((x * 0x0101010101010101ull) >> 56);
#endif
}

/* Pages [first, last] all in the word written last (clustered writes): no lookup to set them. */
static inline bool ms_dirty_bitmap__at_hand(const struct ms_dirty_bitmap *bm, uint64_t first,
					    uint64_t last)
{
	return bm->hot && (first >> 6) == bm->hot_w && (last >> 6) == bm->hot_w && first <= last;
}

static inline int ms_dirty_bitmap__set_pages(struct ms_dirty_bitmap *bm, uint64_t first,
					     uint64_t last)
{
	if (ms_dirty_bitmap__at_hand(bm, first, last)) {
		uint64_t old = *bm->hot;

		*bm->hot = old | ((~0ull << (first & 63)) & (~0ull >> (63 - (last & 63))));
		bm->nbits += ms_dbm_popcount(*bm->hot) - ms_dbm_popcount(old);
		return 0;
	}
	return ms_dirty_bitmap__set_pages_slow(bm, first, last);
}

/*
 * The first slot where word w may live in the table: eight consecutive words
 * share a group of eight home slots (clustered writes stay on few cache
 * lines), groups are spread by Fibonacci hashing.  The table must exist.
 */
static inline uint64_t ms_dirty_bitmap__home_slot(const struct ms_dirty_bitmap *bm, uint64_t w)
{
	uint64_t group = ((w >> 3) * 0x9e3779b97f4a7c15ull) >> (64 - (bm->tab_bits - 3));

	return (group << 3) | (w & 7);
}

/*
 * GCC 12 at -O2 deletes this function's __builtin_prefetch calls as dead code
 * (clang keeps them), so on x86 the instruction is written out.
 */
#if defined(__x86_64__) || defined(__i386__)
#define ms_dbm_prefetch(p) __asm__ volatile("prefetcht0 %0" : : "m"(*(const char *)(p)))
#else
#define ms_dbm_prefetch(p) __builtin_prefetch((p), 1)
#endif

/*
 * Start loading where page's word lives, so the miss overlaps the caller's
 * other work (random writes over a large span miss the cache every time).
 */
static inline void ms_dirty_bitmap__prefetch(const struct ms_dirty_bitmap *bm, uint64_t page)
{
	uint64_t w = page >> 6, k = w - bm->span_w;
	const void *word = bm, *sum = bm;

	if (bm->flat && k < bm->span_words) {
		word = &bm->flat[k];
		sum = &bm->flat_sum[k >> 6];
	} else if (bm->tab) {
		word = &bm->tab[ms_dirty_bitmap__home_slot(bm, w)];
	}
	ms_dbm_prefetch(word);
	ms_dbm_prefetch(sum);
}

/* Clear pages [first, last] (a full bitmap stays full unless cleared whole). */
int ms_dirty_bitmap__clear_pages(struct ms_dirty_bitmap *bm, uint64_t first, uint64_t last);

bool ms_dirty_bitmap__test(const struct ms_dirty_bitmap *bm, uint64_t page);

static inline bool ms_dirty_bitmap__empty(const struct ms_dirty_bitmap *bm)
{
	return !bm->used && !bm->flat_used && !bm->nr_runs && !bm->full;
}

/* Every page of [first, last] set? */
bool ms_dirty_bitmap__test_all(const struct ms_dirty_bitmap *bm, uint64_t first, uint64_t last);

/*
 * Is page set?  If so, [*first, *last] gets set pages around it that are
 * cheap to find: the run holding it, or the set pages next to it in its
 * word (all pages of a full bitmap).  Not the largest such interval: a
 * cache of what is known to be set (the tracker's mapped-set check).
 */
bool ms_dirty_bitmap__set_extent(const struct ms_dirty_bitmap *bm, uint64_t page, uint64_t *first,
				 uint64_t *last);

/* Pages set in [first, last]. */
uint64_t ms_dirty_bitmap__count_range(const struct ms_dirty_bitmap *bm, uint64_t first,
				      uint64_t last);

/* Pages set anywhere (a full bitmap counts as UINT64_MAX). */
uint64_t ms_dirty_bitmap__count(const struct ms_dirty_bitmap *bm);

/*
 * Mark [iova, iova + len) dirty; pages partly covered count.  0, -EINVAL with
 * err filled (len 0, or the range wraps past 2^64), or -ENOMEM (now full).
 */
int ms_dirty_bitmap__set_range(struct ms_dirty_bitmap *bm, uint64_t iova, uint64_t len, char *err,
			       size_t errlen);

/*
 * Export [iova, iova + length) in the VFIO DMA logging bitmap format: one bit
 * per page of page_size, __u64 words, bit n (word n / 64, bit n % 64) covers
 * [iova + n * page_size, + page_size).  A bit is set when any dirty page of the
 * bitmap overlaps its page, so coarse pages are dirty when any fine page in
 * them is, and fine pages when their coarse page is.  Like the kernel's
 * DMA_LOGGING_REPORT it only sets bits, so several bitmaps can be merged into
 * one buffer; zero it first.  bitmap must hold nwords >= ceil(length /
 * page_size / 64) words.
 *
 * 0, or -EINVAL with err filled: page_size invalid, length 0, iova + length
 * past 2^64, iova not aligned to page_size, buffer too small.
 */
int ms_dirty_bitmap__export(const struct ms_dirty_bitmap *bm, uint64_t iova, uint64_t length,
			    uint64_t page_size, uint64_t *bitmap, size_t nwords, char *err,
			    size_t errlen);

/* Export, then clear the pages of the bitmap that lie wholly inside the range. */
int ms_dirty_bitmap__read_and_clear(struct ms_dirty_bitmap *bm, uint64_t iova, uint64_t length,
				    uint64_t page_size, uint64_t *bitmap, size_t nwords, char *err,
				    size_t errlen);

/* Words of a VFIO bitmap for length bytes at page_size (0 when page_size is invalid). */
uint64_t ms_dirty_bitmap__words(uint64_t length, uint64_t page_size);

/*
 * OR the pages of src in [first, last] (src's page numbers) into dst, which
 * may have another page size (converted as in export).  0 or -ENOMEM.
 */
int ms_dirty_bitmap__or(struct ms_dirty_bitmap *dst, const struct ms_dirty_bitmap *src,
			uint64_t first, uint64_t last);

/*
 * Pages set in a within [first, last] and not set in b (same page size).  The
 * lowest of them, up to nex, go to ex[] in ascending order (*nr_ex gets how
 * many); ex may be NULL.
 */
uint64_t ms_dirty_bitmap__count_andnot(const struct ms_dirty_bitmap *a,
				       const struct ms_dirty_bitmap *b, uint64_t first,
				       uint64_t last, uint64_t *ex, unsigned int nex,
				       unsigned int *nr_ex);

/*
 * OR into dst the pages of a within [first, last] that are set in neither b
 * nor c (c may be NULL); all of one page size, dst distinct from the others.
 * Returns how many such pages a has; *err gets -ENOMEM (dst then full) or 0.
 */
uint64_t ms_dirty_bitmap__andnot_into(struct ms_dirty_bitmap *dst, const struct ms_dirty_bitmap *a,
				      const struct ms_dirty_bitmap *b,
				      const struct ms_dirty_bitmap *c, uint64_t first,
				      uint64_t last, int *err);

/*
 * Call fn for each maximal run of set pages in [first, last], in ascending
 * order; stop early when fn returns non-zero (and return that).  0, fn's
 * value, or -ENOMEM.
 */
int ms_dirty_bitmap__for_each_run(const struct ms_dirty_bitmap *bm, uint64_t first, uint64_t last,
				  int (*fn)(void *ctx, uint64_t first, uint64_t last), void *ctx);

/* Bytes of memory held. */
uint64_t ms_dirty_bitmap__mem_bytes(const struct ms_dirty_bitmap *bm);

#endif
