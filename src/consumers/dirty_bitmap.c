// SPDX-License-Identifier: GPL-2.0-only
/* The sparse dirty bitmap (see include/migscope/dirty_bitmap.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <migscope/dirty_bitmap.h>

#define MIN_BITS  6  /* smallest table: 64 slots, 1 KiB */
#define KEEP_BITS 12 /* a table this small is zeroed on clear rather than freed */
/* The largest span worth a flat array: 2^28 words, 2 GiB (64 TiB at 4 KiB pages). */
#define FLAT_MAX_WORDS (1ull << 28)

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/*
 * Zeroed memory for the table and the flat form.  Large ones are mapped with
 * huge pages where the kernel allows: their accesses are random, and a TLB
 * miss on every write would cost as much as the cache miss.
 */
#define BIG (2ull << 20)

static void *zalloc(uint64_t bytes)
{
	void *p;

	if (bytes < BIG)
		return calloc(1, bytes);
	p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	madvise(p, bytes, MADV_HUGEPAGE);
	return p;
}

static void zfree(void *p, uint64_t bytes)
{
	if (bytes < BIG)
		free(p);
	else if (p)
		munmap(p, bytes);
}

static uint64_t tab_bytes(const struct ms_dirty_bitmap *bm)
{
	return bm->tab ? (bm->mask + 1) * sizeof(*bm->tab) : 0;
}

static uint64_t sum_bytes(const struct ms_dirty_bitmap *bm)
{
	return (bm->span_words + 63) / 64 * 8;
}

static inline uint64_t max_page(const struct ms_dirty_bitmap *bm)
{
	return UINT64_MAX >> bm->shift;
}

static inline uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static inline uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* The bits of word w that hold pages of [first, last] (which must meet w). */
static inline uint64_t word_mask(uint64_t w, uint64_t first, uint64_t last)
{
	unsigned int lo = (first >> 6) == w ? first & 63 : 0;
	unsigned int hi = (last >> 6) == w ? last & 63 : 63;

	return (~0ull << lo) & (~0ull >> (63 - hi));
}

/* Set bits a..b of a VFIO bitmap. */
static void set_bits(uint64_t *out, uint64_t a, uint64_t b)
{
	uint64_t wa = a >> 6, wb = b >> 6;

	if (wa == wb) {
		out[wa] |= (~0ull << (a & 63)) & (~0ull >> (63 - (b & 63)));
		return;
	}
	out[wa] |= ~0ull << (a & 63);
	for (uint64_t w = wa + 1; w < wb; w++)
		out[w] = ~0ull;
	out[wb] |= ~0ull >> (63 - (b & 63));
}

const char *ms_dirty_bitmap__page_size_problem(uint64_t page_size)
{
	if (!page_size || (page_size & (page_size - 1)))
		return "is not a power of two";
	if (page_size < MS_DBM_PAGE_MIN)
		return "is below 4 KiB";
	if (page_size > MS_DBM_PAGE_MAX)
		return "is above 1 GiB";
	return NULL;
}

int ms_dirty_bitmap__init(struct ms_dirty_bitmap *bm, uint64_t page_size, char *err, size_t errlen)
{
	const char *why = ms_dirty_bitmap__page_size_problem(page_size);

	memset(bm, 0, sizeof(*bm));
	if (why) {
		set_err(err, errlen, "page size %" PRIu64 " %s", page_size, why);
		return -EINVAL;
	}
	bm->page_size = page_size;
	bm->shift = (unsigned int)__builtin_ctzll(page_size);
	return 0;
}

void ms_dirty_bitmap__free(struct ms_dirty_bitmap *bm)
{
	uint64_t ps = bm->page_size, span_w = bm->span_w, span_words = bm->span_words;
	unsigned int shift = bm->shift;

	zfree(bm->tab, tab_bytes(bm));
	if (bm->flat) {
		zfree(bm->flat, bm->span_words * 8);
		zfree(bm->flat_sum, sum_bytes(bm));
	}
	free(bm->runs);
	memset(bm, 0, sizeof(*bm));
	bm->page_size = ps;
	bm->shift = shift;
	bm->span_w = span_w;
	bm->span_words = span_words;
}

void ms_dirty_bitmap__clear_all(struct ms_dirty_bitmap *bm)
{
	struct ms_dbm_word *tab = bm->tab;

	/* a small table is kept for the next window; the rest goes back */
	if (tab && bm->tab_bits <= KEEP_BITS) {
		unsigned int bits = bm->tab_bits;

		memset(tab, 0, (bm->mask + 1) * sizeof(*tab));
		bm->tab = NULL;
		ms_dirty_bitmap__free(bm);
		bm->tab = tab;
		bm->tab_bits = bits;
		bm->mask = (1ull << bits) - 1;
		return;
	}
	ms_dirty_bitmap__free(bm);
}

void ms_dirty_bitmap__set_span(struct ms_dirty_bitmap *bm, uint64_t first, uint64_t last)
{
	uint64_t words = (last >> 6) - (first >> 6) + 1;

	if (bm->used || bm->flat || first > last || words > FLAT_MAX_WORDS)
		return;
	bm->span_w = first >> 6;
	bm->span_words = words;
}

/* --- the word table ------------------------------------------------------ */

#define home_slot ms_dirty_bitmap__home_slot

static struct ms_dbm_word *find(const struct ms_dirty_bitmap *bm, uint64_t w)
{
	if (!bm->tab)
		return NULL;
	for (uint64_t i = home_slot(bm, w);; i = (i + 1) & bm->mask) {
		if (bm->tab[i].key == w + 1)
			return &bm->tab[i];
		if (!bm->tab[i].key)
			return NULL;
	}
}

/* Place a word known to be absent; the table has room. */
static struct ms_dbm_word *place(struct ms_dirty_bitmap *bm, uint64_t w, uint64_t bits)
{
	uint64_t i = home_slot(bm, w);

	while (bm->tab[i].key)
		i = (i + 1) & bm->mask;
	bm->tab[i].key = w + 1;
	bm->tab[i].bits = bits;
	bm->used++;
	return &bm->tab[i];
}

/* Move every non-empty word into a new table of 2^bits slots. */
static int rehash(struct ms_dirty_bitmap *bm, unsigned int bits)
{
	struct ms_dbm_word *old = bm->tab;
	uint64_t old_slots = old ? bm->mask + 1 : 0;
	uint64_t old_bytes = tab_bytes(bm);
	struct ms_dbm_word *tab = zalloc((1ull << bits) * sizeof(*tab));

	if (!tab)
		return -ENOMEM;
	bm->tab = tab;
	bm->tab_bits = bits;
	bm->mask = (1ull << bits) - 1;
	bm->used = 0;
	bm->hot = NULL;
	for (uint64_t i = 0; i < old_slots; i++)
		if (old[i].key && old[i].bits)
			place(bm, old[i].key - 1, old[i].bits);
	zfree(old, old_bytes);
	return 0;
}

/* --- the flat form ----------------------------------------------------------- */

static inline bool in_flat(const struct ms_dirty_bitmap *bm, uint64_t w)
{
	return bm->flat && w - bm->span_w < bm->span_words;
}

static uint64_t flat_bytes(const struct ms_dirty_bitmap *bm)
{
	return (bm->span_words + (bm->span_words + 63) / 64) * 8;
}

/* Move the span's words from the table into a flat array with its summary. */
static int to_flat(struct ms_dirty_bitmap *bm)
{
	uint64_t *flat = zalloc(bm->span_words * 8);
	uint64_t *sum = zalloc(sum_bytes(bm));
	uint64_t rest = 0;
	unsigned int bits = MIN_BITS;

	if (!flat || !sum) {
		zfree(flat, bm->span_words * 8);
		zfree(sum, sum_bytes(bm));
		return -ENOMEM;
	}
	bm->flat = flat;
	bm->flat_sum = sum;
	for (uint64_t i = 0; bm->tab && i <= bm->mask; i++) {
		struct ms_dbm_word *e = &bm->tab[i];
		uint64_t k = e->key - 1 - bm->span_w;

		if (!e->key || !e->bits)
			continue;
		if (k >= bm->span_words) {
			rest++;
			continue;
		}
		flat[k] = e->bits;
		sum[k >> 6] |= 1ull << (k & 63);
		bm->flat_used++;
		e->bits = 0;
	}
	bm->hot = NULL;
	if (!rest) {
		zfree(bm->tab, tab_bytes(bm));
		bm->tab = NULL;
		bm->tab_bits = 0;
		bm->mask = 0;
		bm->used = 0;
		return 0;
	}
	/* the words outside the span stay in a table of their size */
	while ((1ull << bits) < rest * 4)
		bits++;
	return rehash(bm, bits);
}

/* Grow the table to 2^bits slots, or go flat if that is now cheaper. */
static int grow(struct ms_dirty_bitmap *bm, unsigned int bits)
{
	/* words past a quarter of the flat array's size: the flat form wins */
	if (bm->span_words && !bm->flat &&
	    (1ull << bits) * sizeof(*bm->tab) >= flat_bytes(bm) / 16 && !to_flat(bm))
		return 0;
	return rehash(bm, bits);
}

/* Room for n more words at load one half (or the flat form). */
static int reserve(struct ms_dirty_bitmap *bm, uint64_t n)
{
	unsigned int bits = bm->tab ? bm->tab_bits : MIN_BITS;

	while ((1ull << bits) < (bm->used + n) * 2)
		bits++;
	return bm->tab && bits == bm->tab_bits ? 0 : grow(bm, bits);
}

/* The bits of word w, or NULL when it has none. */
static uint64_t *word_at(const struct ms_dirty_bitmap *bm, uint64_t w)
{
	struct ms_dbm_word *e;

	if (in_flat(bm, w)) {
		uint64_t *p = &bm->flat[w - bm->span_w];

		return *p ? p : NULL;
	}
	e = find(bm, w);
	return e ? &e->bits : NULL;
}

/* Where to OR bits into word w (the caller sets some); NULL when out of memory. */
static uint64_t *get(struct ms_dirty_bitmap *bm, uint64_t w)
{
	struct ms_dbm_word *e;

	if (in_flat(bm, w)) {
		uint64_t k = w - bm->span_w;

		if (!bm->flat[k]) {
			bm->flat_sum[k >> 6] |= 1ull << (k & 63);
			bm->flat_used++;
		}
		return &bm->flat[k];
	}
	e = find(bm, w);
	if (e)
		return &e->bits;
	/* keep the load at most one half: short probe sequences */
	while (!bm->tab || (bm->used + 1) * 2 > bm->mask + 1) {
		if (grow(bm, bm->tab ? bm->tab_bits + 1 : MIN_BITS))
			return NULL;
		/* gone flat: w may live there now, or the rest still needs a table */
		if (in_flat(bm, w))
			return get(bm, w);
	}
	return &place(bm, w, 0)->bits;
}

/* After clearing bits, drop the words left empty and shrink the table to fit. */
static void compact(struct ms_dirty_bitmap *bm)
{
	uint64_t live = 0;
	unsigned int bits = MIN_BITS;

	if (!bm->tab)
		return;
	for (uint64_t i = 0; i <= bm->mask; i++)
		live += bm->tab[i].key && bm->tab[i].bits;
	if (!live) {
		if (bm->tab_bits <= KEEP_BITS) {
			memset(bm->tab, 0, (bm->mask + 1) * sizeof(*bm->tab));
		} else {
			zfree(bm->tab, tab_bytes(bm));
			bm->tab = NULL;
			bm->tab_bits = 0;
			bm->mask = 0;
		}
		bm->used = 0;
		bm->hot = NULL;
		return;
	}
	while ((1ull << bits) < live * 4)
		bits++;
	/* rehash drops the empty words; if it cannot allocate, they stay (harmless) */
	rehash(bm, min_u64(bits, bm->tab_bits));
}

/* --- runs ------------------------------------------------------------------ */

/* Index of the first run whose last page is >= page (nr_runs if none). */
static uint64_t run_lower(const struct ms_dirty_bitmap *bm, uint64_t page)
{
	uint64_t lo = 0, hi = bm->nr_runs;

	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (bm->runs[mid].last < page)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int runs_reserve(struct ms_dirty_bitmap *bm, uint64_t n)
{
	struct ms_dbm_run *r;
	uint64_t cap = bm->runs_cap ? bm->runs_cap : 8;

	if (n <= bm->runs_cap)
		return 0;
	while (cap < n)
		cap *= 2;
	r = realloc(bm->runs, cap * sizeof(*r));
	if (!r)
		return -ENOMEM;
	bm->runs = r;
	bm->runs_cap = cap;
	return 0;
}

/* Add [first, last], merging the runs it overlaps or touches. */
static int runs_add(struct ms_dirty_bitmap *bm, uint64_t first, uint64_t last)
{
	uint64_t i = run_lower(bm, first ? first - 1 : 0), j = i;

	while (j < bm->nr_runs && bm->runs[j].first <= last + 1) {
		first = min_u64(first, bm->runs[j].first);
		last = max_u64(last, bm->runs[j].last);
		j++;
	}
	if (i == j) {
		if (runs_reserve(bm, bm->nr_runs + 1))
			return -ENOMEM;
		memmove(bm->runs + i + 1, bm->runs + i, (bm->nr_runs - i) * sizeof(*bm->runs));
		bm->nr_runs++;
	} else if (j > i + 1) {
		memmove(bm->runs + i + 1, bm->runs + j, (bm->nr_runs - j) * sizeof(*bm->runs));
		bm->nr_runs -= j - i - 1;
	}
	bm->runs[i].first = first;
	bm->runs[i].last = last;
	return 0;
}

/* Remove [first, last] from the runs, splitting one if needed. */
static int runs_clear(struct ms_dirty_bitmap *bm, uint64_t first, uint64_t last)
{
	uint64_t i = run_lower(bm, first), j = i;
	struct ms_dbm_run keep[2];
	unsigned int nk = 0;

	while (j < bm->nr_runs && bm->runs[j].first <= last)
		j++;
	if (i == j)
		return 0;
	if (bm->runs[i].first < first)
		keep[nk++] = (struct ms_dbm_run){ bm->runs[i].first, first - 1 };
	if (bm->runs[j - 1].last > last)
		keep[nk++] = (struct ms_dbm_run){ last + 1, bm->runs[j - 1].last };
	if (nk > j - i && runs_reserve(bm, bm->nr_runs + 1))
		return -ENOMEM;
	memmove(bm->runs + i + nk, bm->runs + j, (bm->nr_runs - j) * sizeof(*bm->runs));
	bm->nr_runs = bm->nr_runs - (j - i) + nk;
	memcpy(bm->runs + i, keep, nk * sizeof(*keep));
	return 0;
}

/* The bits of word w covered by runs. */
static uint64_t runs_mask(const struct ms_dirty_bitmap *bm, uint64_t w)
{
	uint64_t m = 0, base = w << 6;

	if (!bm->nr_runs)
		return 0;
	for (uint64_t i = run_lower(bm, base); i < bm->nr_runs && bm->runs[i].first <= base + 63;
	     i++)
		m |= word_mask(w, bm->runs[i].first, bm->runs[i].last);
	return m;
}

/* The run holding page, or NULL. */
static const struct ms_dbm_run *run_at(const struct ms_dirty_bitmap *bm, uint64_t page)
{
	uint64_t i = run_lower(bm, page);

	return i < bm->nr_runs && bm->runs[i].first <= page ? &bm->runs[i] : NULL;
}

/* --- visiting the words of a page range ---------------------------------- */

/* fn gets each word w holding set pages of the range: where its bits live, and those pages' bits.
 */
typedef void (*word_fn)(void *ctx, uint64_t w, uint64_t *bits, uint64_t m);

static void visit_flat(const struct ms_dirty_bitmap *bm, uint64_t first, uint64_t last, word_fn fn,
		       void *ctx)
{
	uint64_t end_w = bm->span_w + bm->span_words - 1, a, b;

	if ((first >> 6) > end_w || (last >> 6) < bm->span_w)
		return;
	a = max_u64(first >> 6, bm->span_w) - bm->span_w;
	b = min_u64(last >> 6, end_w) - bm->span_w;
	/* the summary says which words to read: 1/64 of the array, in address order */
	for (uint64_t s = a >> 6; s <= b >> 6; s++) {
		uint64_t sum = bm->flat_sum[s] & word_mask(s, a, b);

		for (; sum; sum &= sum - 1) {
			uint64_t k = (s << 6) + (uint64_t)__builtin_ctzll(sum);
			uint64_t w = bm->span_w + k;
			uint64_t m = bm->flat[k] & word_mask(w, first, last);

			if (m)
				fn(ctx, w, &bm->flat[k], m);
		}
	}
}

/*
 * Walk the words of bm holding pages of [first, last].  other: a bitmap fn
 * looks the same word up in, or NULL; its slots are prefetched a few words
 * ahead so those lookups overlap.
 */
static void visit_words(const struct ms_dirty_bitmap *bm, uint64_t first, uint64_t last, word_fn fn,
			void *ctx, const struct ms_dirty_bitmap *other)
{
	uint64_t wf = first >> 6, wl = last >> 6;

	if (bm->flat_used)
		visit_flat(bm, first, last, fn, ctx);
	if (!bm->tab || !bm->used)
		return;
	/* look each word up when the range is smaller than the table, else walk the table */
	if (wl - wf <= bm->mask) {
		for (uint64_t w = wf;; w++) {
			struct ms_dbm_word *e = in_flat(bm, w) ? NULL : find(bm, w);
			uint64_t m = e ? e->bits & word_mask(w, first, last) : 0;

			if (m)
				fn(ctx, w, &e->bits, m);
			if (w == wl)
				break;
		}
		return;
	}
	for (uint64_t i = 0; i <= bm->mask; i++) {
		struct ms_dbm_word *e = &bm->tab[i];
		uint64_t w = e->key - 1, m;

		if (other && i + 16 <= bm->mask && bm->tab[i + 16].key)
			ms_dirty_bitmap__prefetch(other, (bm->tab[i + 16].key - 1) << 6);
		if (!e->key || w < wf || w > wl)
			continue;
		m = e->bits & word_mask(w, first, last);
		if (m)
			fn(ctx, w, &e->bits, m);
	}
}

/* --- setting, clearing, testing, counting ----------------------------------- */

static int check_pages(const struct ms_dirty_bitmap *bm, uint64_t first, uint64_t last)
{
	return first > last || last > max_page(bm) || !bm->page_size ? -EINVAL : 0;
}

int ms_dirty_bitmap__set_pages_slow(struct ms_dirty_bitmap *bm, uint64_t first, uint64_t last)
{
	if (check_pages(bm, first, last))
		return -EINVAL;
	if (bm->full)
		return 0;
	/*
	 * Pages a run already holds: nothing to add.  Without this, every page
	 * set inside a run (a 4 KiB IOMMU map inside guest memory mapped whole)
	 * would take a word of the table: memory growing with the records, not
	 * with the set.
	 */
	if (bm->nr_runs) {
		const struct ms_dbm_run *r = run_at(bm, first);

		if (r && r->last >= last)
			return 0;
	}
	if (last - first + 1 >= MS_DBM_RUN_PAGES) {
		if (runs_add(bm, first, last))
			goto nomem;
		return 0;
	}
	for (uint64_t w = first >> 6;; w++) {
		uint64_t *bits = get(bm, w), old;

		if (!bits)
			goto nomem;
		old = *bits;
		*bits = old | word_mask(w, first, last);
		bm->nbits += ms_dbm_popcount(*bits) - ms_dbm_popcount(old);
		bm->hot = bits;
		bm->hot_w = w;
		if (w == last >> 6)
			break;
	}
	return 0;
nomem:
	/* a dirty page must never be lost: from now on everything reads as dirty */
	bm->full = true;
	return -ENOMEM;
}

struct clear_ctx {
	struct ms_dirty_bitmap *bm;
	uint64_t emptied; /* table words left empty: compact */
};

static void clear_word(void *ctx, uint64_t w, uint64_t *bits, uint64_t m)
{
	struct clear_ctx *c = ctx;
	struct ms_dirty_bitmap *bm = c->bm;

	*bits &= ~m;
	bm->nbits -= ms_dbm_popcount(m);
	if (*bits)
		return;
	if (in_flat(bm, w)) {
		uint64_t k = w - bm->span_w;

		bm->flat_sum[k >> 6] &= ~(1ull << (k & 63));
		bm->flat_used--;
	} else {
		c->emptied++;
	}
}

int ms_dirty_bitmap__clear_pages(struct ms_dirty_bitmap *bm, uint64_t first, uint64_t last)
{
	struct clear_ctx c = { bm, 0 };

	if (check_pages(bm, first, last))
		return -EINVAL;
	if (first == 0 && last == max_page(bm)) {
		ms_dirty_bitmap__clear_all(bm);
		return 0;
	}
	if (bm->full)
		return 0;
	if (runs_clear(bm, first, last)) {
		bm->full = true;
		return -ENOMEM;
	}
	bm->hot = NULL;
	visit_words(bm, first, last, clear_word, &c, NULL);
	if (c.emptied)
		compact(bm);
	return 0;
}

bool ms_dirty_bitmap__test(const struct ms_dirty_bitmap *bm, uint64_t page)
{
	const uint64_t *bits;

	if (bm->full)
		return true;
	if (bm->nr_runs && run_at(bm, page))
		return true;
	bits = word_at(bm, page >> 6);
	return bits && (*bits >> (page & 63)) & 1;
}

bool ms_dirty_bitmap__test_all(const struct ms_dirty_bitmap *bm, uint64_t first, uint64_t last)
{
	uint64_t p = first;

	if (bm->full)
		return true;
	if (first > last)
		return false;
	for (;;) {
		const struct ms_dbm_run *r = bm->nr_runs ? run_at(bm, p) : NULL;
		const uint64_t *bits;
		uint64_t w = p >> 6, need, have;

		if (r) {
			if (r->last >= last)
				return true;
			p = r->last + 1;
			continue;
		}
		bits = word_at(bm, w);
		need = word_mask(w, p, last);
		have = (bits ? *bits : 0) | runs_mask(bm, w);
		if ((have & need) != need)
			return false;
		if (w == last >> 6)
			return true;
		p = (w + 1) << 6;
	}
}

bool ms_dirty_bitmap__set_extent(const struct ms_dirty_bitmap *bm, uint64_t page, uint64_t *first,
				 uint64_t *last)
{
	const struct ms_dbm_run *r;
	const uint64_t *bits;
	uint64_t w = page >> 6, have, below, above;
	unsigned int b = page & 63;

	if (bm->full) {
		*first = 0;
		*last = max_page(bm);
		return true;
	}
	r = bm->nr_runs ? run_at(bm, page) : NULL;
	if (r) {
		*first = r->first;
		*last = r->last;
		return true;
	}
	bits = word_at(bm, w);
	have = (bits ? *bits : 0) | runs_mask(bm, w);
	if (!(have & (1ull << b)))
		return false;
	/* the set bits next to page in its word: the lowest clear one above, the highest below */
	above = ~have & (~0ull << b);
	below = ~have & ((1ull << b) - 1);
	*first = (w << 6) + (below ? 64 - (unsigned int)__builtin_clzll(below) : 0);
	*last = (w << 6) + (above ? (unsigned int)__builtin_ctzll(above) - 1 : 63);
	return true;
}

struct count_ctx {
	const struct ms_dirty_bitmap *bm;
	uint64_t n;
};

static void count_word(void *ctx, uint64_t w, uint64_t *bits, uint64_t m)
{
	struct count_ctx *c = ctx;

	c->n += ms_dbm_popcount(m & ~runs_mask(c->bm, w));
}

uint64_t ms_dirty_bitmap__count_range(const struct ms_dirty_bitmap *bm, uint64_t first,
				      uint64_t last)
{
	struct count_ctx c = { bm, 0 };

	if (first > last)
		return 0;
	if (bm->full)
		return last - first + 1;
	for (uint64_t i = run_lower(bm, first); i < bm->nr_runs && bm->runs[i].first <= last; i++)
		c.n += min_u64(last, bm->runs[i].last) - max_u64(first, bm->runs[i].first) + 1;
	visit_words(bm, first, last, count_word, &c, NULL);
	return c.n;
}

uint64_t ms_dirty_bitmap__count(const struct ms_dirty_bitmap *bm)
{
	if (bm->full)
		return UINT64_MAX;
	/* the words keep their own count; runs may overlap them */
	if (!bm->nr_runs)
		return bm->nbits;
	return ms_dirty_bitmap__count_range(bm, 0, max_page(bm));
}

int ms_dirty_bitmap__set_range(struct ms_dirty_bitmap *bm, uint64_t iova, uint64_t len, char *err,
			       size_t errlen)
{
	if (!len) {
		set_err(err, errlen, "empty range at 0x%" PRIx64, iova);
		return -EINVAL;
	}
	if (iova + (len - 1) < iova) {
		set_err(err, errlen, "range 0x%" PRIx64 " + 0x%" PRIx64 " wraps past 2^64", iova,
			len);
		return -EINVAL;
	}
	return ms_dirty_bitmap__set_pages(bm, iova >> bm->shift, (iova + (len - 1)) >> bm->shift);
}

/* --- export ------------------------------------------------------------------ */

uint64_t ms_dirty_bitmap__words(uint64_t length, uint64_t page_size)
{
	uint64_t bits;

	if (!length || ms_dirty_bitmap__page_size_problem(page_size))
		return 0;
	bits = (length - 1) / page_size + 1;
	return bits / 64 + !!(bits % 64);
}

struct export_ctx {
	const struct ms_dirty_bitmap *bm;
	uint64_t *out;
	uint64_t iova, end; /* bytes, inclusive */
	uint64_t pfirst;    /* first page of the range */
	unsigned int oshift;
};

/* Set the output bits of the bitmap's pages [a, b] (already inside the range). */
static void export_pages(struct export_ctx *x, uint64_t a, uint64_t b)
{
	uint64_t lo = max_u64(a << x->bm->shift, x->iova);
	uint64_t hi = min_u64((b << x->bm->shift) | (x->bm->page_size - 1), x->end);

	set_bits(x->out, (lo - x->iova) >> x->oshift, (hi - x->iova) >> x->oshift);
}

static void export_word(void *ctx, uint64_t w, uint64_t *word, uint64_t bits)
{
	struct export_ctx *x = ctx;
	uint64_t base = w << 6;

	if (x->oshift == x->bm->shift) {
		/* same page size, aligned range: the word lands on one or two output words */
		if (base >= x->pfirst) {
			uint64_t d = base - x->pfirst;

			x->out[d >> 6] |= bits << (d & 63);
			if ((d & 63) && bits >> (64 - (d & 63)))
				x->out[(d >> 6) + 1] |= bits >> (64 - (d & 63));
		} else {
			x->out[0] |= bits >> (x->pfirst - base);
		}
		return;
	}
	while (bits) {
		uint64_t p = base + (uint64_t)__builtin_ctzll(bits);

		export_pages(x, p, p);
		bits &= bits - 1;
	}
}

int ms_dirty_bitmap__export(const struct ms_dirty_bitmap *bm, uint64_t iova, uint64_t length,
			    uint64_t page_size, uint64_t *bitmap, size_t nwords, char *err,
			    size_t errlen)
{
	const char *why = ms_dirty_bitmap__page_size_problem(page_size);
	struct export_ctx x;
	uint64_t need, plast;

	if (why) {
		set_err(err, errlen, "export page size %" PRIu64 " %s", page_size, why);
		return -EINVAL;
	}
	if (!length) {
		set_err(err, errlen, "export of an empty range at 0x%" PRIx64, iova);
		return -EINVAL;
	}
	if (iova + (length - 1) < iova) {
		set_err(err, errlen, "export range 0x%" PRIx64 " + 0x%" PRIx64 " wraps past 2^64",
			iova, length);
		return -EINVAL;
	}
	if (iova & (page_size - 1)) {
		set_err(err, errlen,
			"export iova 0x%" PRIx64 " is not aligned to the page size %" PRIu64, iova,
			page_size);
		return -EINVAL;
	}
	need = ms_dirty_bitmap__words(length, page_size);
	if (nwords < need) {
		set_err(err, errlen,
			"export bitmap of %zu words is too small: 0x%" PRIx64
			" bytes at page size %" PRIu64 " need %" PRIu64,
			nwords, length, page_size, need);
		return -EINVAL;
	}

	x.bm = bm;
	x.out = bitmap;
	x.iova = iova;
	x.end = iova + (length - 1);
	x.pfirst = iova >> bm->shift;
	x.oshift = (unsigned int)__builtin_ctzll(page_size);
	plast = x.end >> bm->shift;
	if (bm->full) {
		set_bits(bitmap, 0, (length - 1) >> x.oshift);
	} else {
		for (uint64_t i = run_lower(bm, x.pfirst);
		     i < bm->nr_runs && bm->runs[i].first <= plast; i++)
			export_pages(&x, max_u64(bm->runs[i].first, x.pfirst),
				     min_u64(bm->runs[i].last, plast));
		visit_words(bm, x.pfirst, plast, export_word, &x, NULL);
	}
	return 0;
}

int ms_dirty_bitmap__read_and_clear(struct ms_dirty_bitmap *bm, uint64_t iova, uint64_t length,
				    uint64_t page_size, uint64_t *bitmap, size_t nwords, char *err,
				    size_t errlen)
{
	uint64_t end = iova + (length - 1), first, last;
	int ret = ms_dirty_bitmap__export(bm, iova, length, page_size, bitmap, nwords, err, errlen);

	if (ret)
		return ret;
	/* clear only the pages wholly inside the range: a page half outside keeps its dirt */
	first = (iova >> bm->shift) + !!(iova & (bm->page_size - 1));
	if (end == UINT64_MAX)
		last = max_page(bm);
	else if ((end + 1) >> bm->shift)
		last = ((end + 1) >> bm->shift) - 1;
	else
		return 0;
	if (first > last)
		return 0;
	return ms_dirty_bitmap__clear_pages(bm, first, last);
}

/* --- between bitmaps ------------------------------------------------------- */

struct or_ctx {
	struct ms_dirty_bitmap *dst;
	const struct ms_dirty_bitmap *src;
	int ret;
};

/* src's pages [a, b] into dst, at dst's page size */
static int or_pages(struct or_ctx *o, uint64_t a, uint64_t b)
{
	uint64_t lo = a << o->src->shift, hi = (b << o->src->shift) | (o->src->page_size - 1);
	int ret = ms_dirty_bitmap__set_pages(o->dst, lo >> o->dst->shift, hi >> o->dst->shift);

	if (ret)
		o->ret = ret;
	return ret;
}

static void or_word(void *ctx, uint64_t w, uint64_t *word, uint64_t bits)
{
	struct or_ctx *o = ctx;
	uint64_t base = w << 6;

	if (o->dst->full)
		return;
	if (o->dst->shift == o->src->shift) {
		uint64_t *d = get(o->dst, w), old;

		if (!d) {
			o->dst->full = true;
			o->ret = -ENOMEM;
			return;
		}
		old = *d;
		*d = old | bits;
		o->dst->nbits += ms_dbm_popcount(*d) - ms_dbm_popcount(old);
		return;
	}
	while (bits) {
		uint64_t p = base + (uint64_t)__builtin_ctzll(bits);

		or_pages(o, p, p);
		if (o->dst->shift > o->src->shift) {
			/* skip the other fine pages of the same coarse page */
			unsigned int k = o->dst->shift - o->src->shift;
			uint64_t next = ((p >> k) + 1) << k;

			bits = next - base >= 64 ? 0 : bits & (~0ull << (next - base));
		} else {
			bits &= bits - 1;
		}
	}
}

int ms_dirty_bitmap__or(struct ms_dirty_bitmap *dst, const struct ms_dirty_bitmap *src,
			uint64_t first, uint64_t last)
{
	struct or_ctx o = { dst, src, 0 };

	if (dst == src || check_pages(src, first, last) || !dst->page_size)
		return -EINVAL;
	if (src->full)
		return or_pages(&o, first, last);
	/*
	 * Walking src visits its words in hash order; inserting them so into a
	 * smaller table that grows would pile them into one cluster (quadratic
	 * probing).  With room for all of them up front they spread as in src.
	 */
	if (dst->shift == src->shift && src->used + src->flat_used &&
	    reserve(dst, src->used + src->flat_used)) {
		dst->full = true;
		return -ENOMEM;
	}
	for (uint64_t i = run_lower(src, first); i < src->nr_runs && src->runs[i].first <= last;
	     i++)
		or_pages(&o, max_u64(src->runs[i].first, first), min_u64(src->runs[i].last, last));
	visit_words(src, first, last, or_word, &o, dst->shift == src->shift ? dst : NULL);
	return o.ret;
}

/* The first page of [p, last] not set in b, if any. */
static bool next_clear(const struct ms_dirty_bitmap *b, uint64_t p, uint64_t last, uint64_t *out)
{
	if (b->full)
		return false;
	while (p <= last) {
		const struct ms_dbm_run *r = b->nr_runs ? run_at(b, p) : NULL;
		const uint64_t *bits;
		uint64_t w = p >> 6, m;

		if (r) {
			if (r->last >= last)
				return false;
			p = r->last + 1;
			continue;
		}
		bits = word_at(b, w);
		m = ~((bits ? *bits : 0) | runs_mask(b, w)) & word_mask(w, p, last);
		if (m) {
			*out = (w << 6) + (uint64_t)__builtin_ctzll(m);
			return true;
		}
		if (w == last >> 6)
			return false;
		p = (w + 1) << 6;
	}
	return false;
}

struct andnot_ctx {
	const struct ms_dirty_bitmap *a, *b;
	uint64_t n;
	uint64_t *ex;
	unsigned int nex, nr;
};

/* Keep the nex lowest pages seen, ascending; false once page is too high to keep. */
static bool add_example(struct andnot_ctx *c, uint64_t page)
{
	unsigned int i;

	if (!c->ex || !c->nex || (c->nr == c->nex && page >= c->ex[c->nr - 1]))
		return false;
	for (i = 0; i < c->nr; i++)
		if (c->ex[i] == page)
			return true;
	if (c->nr < c->nex)
		c->nr++;
	for (i = c->nr - 1; i > 0 && c->ex[i - 1] > page; i--)
		c->ex[i] = c->ex[i - 1];
	c->ex[i] = page;
	return true;
}

static void andnot_word(void *ctx, uint64_t w, uint64_t *word, uint64_t bits)
{
	struct andnot_ctx *c = ctx;
	const uint64_t *be;

	/* pages of a's runs are counted with the runs */
	bits &= ~runs_mask(c->a, w);
	if (!bits)
		return;
	be = word_at(c->b, w);
	bits &= ~((be ? *be : 0) | runs_mask(c->b, w));
	c->n += ms_dbm_popcount(bits);
	for (; bits; bits &= bits - 1)
		if (!add_example(c, (w << 6) + (uint64_t)__builtin_ctzll(bits)))
			break;
}

/* Pages of a's run segment [x, y] missing from b. */
static void andnot_segment(struct andnot_ctx *c, uint64_t x, uint64_t y)
{
	uint64_t p = x, q;

	c->n += (y - x + 1) - ms_dirty_bitmap__count_range(c->b, x, y);
	while (next_clear(c->b, p, y, &q) && add_example(c, q) && q < y)
		p = q + 1;
}

uint64_t ms_dirty_bitmap__count_andnot(const struct ms_dirty_bitmap *a,
				       const struct ms_dirty_bitmap *b, uint64_t first,
				       uint64_t last, uint64_t *ex, unsigned int nex,
				       unsigned int *nr_ex)
{
	struct andnot_ctx c = { a, b, 0, ex, nex, 0 };

	if (nr_ex)
		*nr_ex = 0;
	if (a->shift != b->shift || check_pages(a, first, last) || b->full)
		return 0;
	if (a->full) {
		andnot_segment(&c, first, last);
	} else {
		for (uint64_t i = run_lower(a, first); i < a->nr_runs && a->runs[i].first <= last;
		     i++)
			andnot_segment(&c, max_u64(a->runs[i].first, first),
				       min_u64(a->runs[i].last, last));
		visit_words(a, first, last, andnot_word, &c, b);
	}
	if (nr_ex)
		*nr_ex = c.nr;
	return c.n;
}

struct into_ctx {
	struct ms_dirty_bitmap *dst;
	const struct ms_dirty_bitmap *a, *b, *c;
	uint64_t n, next; /* next: the first page of the segment not yet walked */
	int err;
};

static void into_set(struct into_ctx *x, uint64_t first, uint64_t last)
{
	x->n += last - first + 1;
	if (ms_dirty_bitmap__set_pages(x->dst, first, last))
		x->err = -ENOMEM;
}

static uint64_t other_bits(const struct ms_dirty_bitmap *bm, uint64_t w)
{
	const uint64_t *bits;

	if (!bm)
		return 0;
	if (bm->full)
		return ~0ull;
	bits = word_at(bm, w);
	return (bits ? *bits : 0) | runs_mask(bm, w);
}

static void into_word(void *ctx, uint64_t w, uint64_t *word, uint64_t bits)
{
	struct into_ctx *x = ctx;
	uint64_t *d;

	/* pages of a's runs go with the runs */
	bits &= ~runs_mask(x->a, w) & ~other_bits(x->b, w) & ~other_bits(x->c, w);
	if (!bits || x->dst->full)
		return;
	d = get(x->dst, w);
	if (!d) {
		x->dst->full = true;
		x->err = -ENOMEM;
		return;
	}
	x->n += ms_dbm_popcount(bits);
	x->dst->nbits += ms_dbm_popcount(*d | bits) - ms_dbm_popcount(*d);
	*d |= bits;
}

/* A run of b or c inside the segment: the gap before it is a's alone. */
static int into_gap(void *ctx, uint64_t first, uint64_t last)
{
	struct into_ctx *x = ctx;

	if (first > x->next)
		into_set(x, x->next, first - 1);
	x->next = last + 1;
	return 0;
}

/* Pages of a's run segment [s, e] outside b and c: the gaps between their runs. */
static void into_segment(struct into_ctx *x, uint64_t s, uint64_t e)
{
	struct ms_dirty_bitmap u;

	ms_dirty_bitmap__init(&u, x->a->page_size, NULL, 0);
	if (ms_dirty_bitmap__or(&u, x->b, s, e) || (x->c && ms_dirty_bitmap__or(&u, x->c, s, e))) {
		/* cannot tell what b and c hold: every page of the segment is a candidate */
		into_set(x, s, e);
	} else {
		x->next = s;
		if (ms_dirty_bitmap__for_each_run(&u, s, e, into_gap, x))
			x->err = -ENOMEM;
		if (x->next <= e && x->next >= s)
			into_set(x, x->next, e);
	}
	ms_dirty_bitmap__free(&u);
}

uint64_t ms_dirty_bitmap__andnot_into(struct ms_dirty_bitmap *dst, const struct ms_dirty_bitmap *a,
				      const struct ms_dirty_bitmap *b,
				      const struct ms_dirty_bitmap *c, uint64_t first,
				      uint64_t last, int *err)
{
	struct into_ctx x = { dst, a, b, c, 0, 0, 0 };

	*err = 0;
	if (dst == a || dst == b || dst == c || a->shift != b->shift || dst->shift != a->shift ||
	    (c && c->shift != a->shift) || check_pages(a, first, last)) {
		*err = -EINVAL;
		return 0;
	}
	if (b->full || (c && c->full))
		return 0;
	if (a->full) {
		into_segment(&x, first, last);
	} else {
		for (uint64_t i = run_lower(a, first); i < a->nr_runs && a->runs[i].first <= last;
		     i++)
			into_segment(&x, max_u64(a->runs[i].first, first),
				     min_u64(a->runs[i].last, last));
		visit_words(a, first, last, into_word, &x, b);
	}
	*err = x.err;
	return x.n;
}

/* --- runs of set pages, in order ------------------------------------------------ */

struct collect_ctx {
	struct ms_dbm_word *v;
	uint64_t n;
};

static void collect_word(void *ctx, uint64_t w, uint64_t *word, uint64_t bits)
{
	struct collect_ctx *c = ctx;

	c->v[c->n].key = w + 1;
	c->v[c->n].bits = bits;
	c->n++;
}

static int cmp_word(const void *a, const void *b)
{
	const struct ms_dbm_word *x = a, *y = b;

	return x->key < y->key ? -1 : x->key > y->key;
}

int ms_dirty_bitmap__for_each_run(const struct ms_dirty_bitmap *bm, uint64_t first, uint64_t last,
				  int (*fn)(void *ctx, uint64_t first, uint64_t last), void *ctx)
{
	struct collect_ctx c = { NULL, 0 };
	uint64_t ri, wi = 0, wm, cs = 0, ce = 0;
	bool cur = false;
	int ret = 0;

	if (check_pages(bm, first, last))
		return -EINVAL;
	if (bm->full)
		return fn(ctx, first, last);
	if (bm->used + bm->flat_used) {
		c.v = malloc((bm->used + bm->flat_used) * sizeof(*c.v));
		if (!c.v)
			return -ENOMEM;
		visit_words(bm, first, last, collect_word, &c, NULL);
		qsort(c.v, c.n, sizeof(*c.v), cmp_word);
	}
	ri = run_lower(bm, first);
	wm = c.n ? c.v[0].bits : 0;
	for (;;) {
		bool have_r = ri < bm->nr_runs && bm->runs[ri].first <= last;
		uint64_t a, b, wa = 0;
		unsigned int s = 0;

		if (!have_r && wi == c.n)
			break;
		if (wi < c.n) {
			s = (unsigned int)__builtin_ctzll(wm);
			wa = ((c.v[wi].key - 1) << 6) + s;
		}
		if (have_r && (wi == c.n || max_u64(bm->runs[ri].first, first) <= wa)) {
			a = max_u64(bm->runs[ri].first, first);
			b = min_u64(bm->runs[ri].last, last);
			ri++;
		} else {
			/* the lowest group of consecutive set bits of this word */
			uint64_t t = wm >> s;
			unsigned int len = ~t ? (unsigned int)__builtin_ctzll(~t) : 64 - s;

			a = wa;
			b = wa + len - 1;
			wm &= len >= 64 ? 0 : ~(((1ull << len) - 1) << s);
			if (!wm && ++wi < c.n)
				wm = c.v[wi].bits;
		}
		if (cur && a <= ce + 1) {
			ce = max_u64(ce, b);
			continue;
		}
		if (cur && (ret = fn(ctx, cs, ce)))
			goto out;
		cs = a;
		ce = b;
		cur = true;
	}
	if (cur)
		ret = fn(ctx, cs, ce);
out:
	free(c.v);
	return ret;
}

uint64_t ms_dirty_bitmap__mem_bytes(const struct ms_dirty_bitmap *bm)
{
	return (bm->tab ? (bm->mask + 1) * sizeof(*bm->tab) : 0) + (bm->flat ? flat_bytes(bm) : 0) +
	       bm->runs_cap * sizeof(*bm->runs);
}
