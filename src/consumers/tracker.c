// SPDX-License-Identifier: GPL-2.0-only
/* The dirty tracker (see include/migscope/tracker.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <migscope/devices.h>
#include <migscope/tracker.h>

#define NR_PENDING  16	 /* writes in flight: prefetched, applied this many records later */
#define MAPPED_PAGE 4096 /* the IOMMU maps in 4 KiB pages at least */

/*
 * Views: sources that should each see every write of a device.  The DMA API
 * reports a buffer at unmap or at sync-for-cpu, never both, so those two are
 * one view.  IOMMU faults see only first touches of non-present pages.
 */
static const struct {
	uint32_t sources;
	bool partial; /* sees only some writes: checked, never blamed for a miss */
} views[MS_VIEW__MAX] = {
	[MS_VIEW_DMA] = { (1u << MS_SRC_DMA_UNMAP) | (1u << MS_SRC_DMA_SYNC), false },
	[MS_VIEW_FAULT] = { 1u << MS_SRC_IOMMU_FAULT, true },
	[MS_VIEW_HW] = { 1u << MS_SRC_HW_DIRTY, false },
	[MS_VIEW_VIRTIO] = { 1u << MS_SRC_VIRTIO_WR, false },
	/* the IOMMU's dirty bits as migscope read them; hw_dirty sees the kernel report them */
	[MS_VIEW_IOMMUFD] = { 1u << MS_SRC_IOMMUFD, false },
};

struct trk_range {
	uint64_t iova, last;	/* bytes, inclusive */
	uint64_t pfirst, plast; /* pages */
};

struct trk_dev {
	uint32_t id;
	bool tracking;
	uint64_t page_size;
	unsigned int shift;
	struct trk_range *ranges; /* sorted, disjoint */
	uint32_t nr_ranges;
	uint64_t tracked_bytes;
	uint64_t hot_first, hot_last; /* pages of the range written last */

	struct ms_dirty_bitmap src[MS_SRC__MAX];	    /* the window, per source */
	struct ms_dirty_bitmap prev[MS_SRC__MAX];	    /* the previous window, for the check */
	struct ms_dirty_bitmap suspect[MS_VIEW__MAX]
				      [MS_VIEW__MAX];	    /* pages x reported, y not yet */
	struct ms_dirty_bitmap widened;			    /* the window's forced-dirty pages */
	struct ms_dirty_bitmap session;			    /* every closed window, if kept */
	uint32_t seen; /* sources with records since tracking started */

	struct ms_dirty_source st[MS_SRC__MAX + 1]; /* [MS_SRC__MAX]: unknown sources */
	struct ms_dirty_examples out_of_range, outside_mapped;
	struct ms_dirty_widened cause[MS_WIDEN__MAX];
	struct ms_dirty_disc disc[MS_VIEW__MAX][MS_VIEW__MAX];
	struct ms_dirty_reject rej[MS_REJ__MAX];
	uint64_t track_starts, track_stops, idle_stops;
	uint64_t harvests, harvested_pages, unharvested_at_stop;
	uint64_t loss_untracked; /* losses while not tracking: nothing to widen */
};

/* A write whose word is being prefetched (see defer_mark). */
struct pending {
	struct trk_dev *d;
	unsigned int src;
	bool set, check;      /* pages still to set; the mapped set still to check */
	uint64_t first, last; /* pages */
	uint64_t iova, len;   /* the record, for the mapped-set check */
};

struct ms_tracker {
	struct pending pend[NR_PENDING];
	unsigned int pend_head, nr_pend;
	/* the newest write in flight, if others may join it: its bitmap and word */
	const struct ms_dirty_bitmap *join_bm;
	uint64_t join_w;
	struct trk_dev **dev; /* by id */
	uint32_t nr_dev;
	struct ms_dirty_bitmap mapped; /* 4 KiB pages the IOMMU maps hold, as far as seen */
	uint64_t maps, unmaps;
	/* pages known to be in mapped (the run or word the last check found), until an unmap */
	bool mapped_hint;
	uint64_t mapped_first, mapped_last;
	uint64_t unattributed; /* records for ids beyond MS_DEV_ID_MAX or for no device */
	struct ms_dirty_reject rej[MS_REJ__MAX];
	bool keep_session; /* fold each window into the device's session pages */
};

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

const char *ms_write_source_name(unsigned int src)
{
	static const char *const names[MS_SRC__MAX] = {
		[MS_SRC_IOMMU_FAULT] = "iommu_fault", [MS_SRC_DMA_UNMAP] = "dma_unmap",
		[MS_SRC_DMA_SYNC] = "dma_sync",	      [MS_SRC_HW_DIRTY] = "hw_dirty",
		[MS_SRC_VIRTIO_WR] = "virtio_wr",     [MS_SRC_IOMMUFD] = "iommufd",
	};

	return src < MS_SRC__MAX ? names[src] : "unknown";
}

static void reject(struct ms_dirty_reject *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void reject(struct ms_dirty_reject *r, const char *fmt, ...)
{
	va_list ap;

	if (r->count++)
		return;
	va_start(ap, fmt);
	vsnprintf(r->first, sizeof(r->first), fmt, ap);
	va_end(ap);
}

static void add_example(struct ms_dirty_examples *e, uint64_t iova, uint64_t len, uint32_t source)
{
	if (e->nr < MS_DIRTY_EXAMPLES)
		e->ex[e->nr++] = (struct ms_dirty_extent){ iova, len, source };
}

/* --- devices ------------------------------------------------------------------ */

/* The bitmaps of the windows: sources, their previous window, widened pages, suspects. */
#define NR_WINDOW_BITMAPS (2 * MS_SRC__MAX + 1 + MS_VIEW__MAX * MS_VIEW__MAX)

static struct ms_dirty_bitmap *window_bitmap(struct trk_dev *d, int i)
{
	if (i < MS_SRC__MAX)
		return &d->src[i];
	i -= MS_SRC__MAX;
	if (i < MS_SRC__MAX)
		return &d->prev[i];
	i -= MS_SRC__MAX;
	if (!i)
		return &d->widened;
	i--;
	return &d->suspect[i / MS_VIEW__MAX][i % MS_VIEW__MAX];
}

/* Every window bitmap empty, at page_size. */
static void windows_reset(struct trk_dev *d, uint64_t page_size)
{
	for (int i = 0; i < NR_WINDOW_BITMAPS; i++) {
		ms_dirty_bitmap__free(window_bitmap(d, i));
		ms_dirty_bitmap__init(window_bitmap(d, i), page_size, NULL, 0);
	}
}

static void dev_free(struct trk_dev *d)
{
	if (!d)
		return;
	for (int i = 0; i < NR_WINDOW_BITMAPS; i++)
		ms_dirty_bitmap__free(window_bitmap(d, i));
	ms_dirty_bitmap__free(&d->session);
	free(d->ranges);
	free(d);
}

/* The device's state, created on its first record; NULL for ids no device can have. */
static struct trk_dev *dev_get(struct ms_tracker *t, uint32_t id)
{
	struct trk_dev *d;

	if (id < t->nr_dev && t->dev[id])
		return t->dev[id];
	if (id > MS_DEV_ID_MAX)
		return NULL;
	if (id >= t->nr_dev) {
		uint32_t n = t->nr_dev ? t->nr_dev : 8;
		struct trk_dev **v;

		while (n <= id)
			n *= 2;
		v = realloc(t->dev, n * sizeof(*v));
		if (!v)
			return NULL;
		memset(v + t->nr_dev, 0, (n - t->nr_dev) * sizeof(*v));
		t->dev = v;
		t->nr_dev = n;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->id = id;
	d->page_size = MS_DBM_PAGE_MIN;
	d->shift = 12;
	d->hot_first = 1; /* empty: nothing is the hot range */
	windows_reset(d, d->page_size);
	ms_dirty_bitmap__init(&d->session, d->page_size, NULL, 0);
	t->dev[id] = d;
	return d;
}

static struct trk_dev *dev_find(const struct ms_tracker *t, uint32_t id)
{
	return id < t->nr_dev ? t->dev[id] : NULL;
}

/* Index of the first tracked range whose last byte is >= iova. */
static uint32_t range_lower(const struct trk_dev *d, uint64_t iova)
{
	uint32_t lo = 0, hi = d->nr_ranges;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (d->ranges[mid].last < iova)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Pages of tracked range i inside [first, last], if any. */
static bool segment(const struct trk_dev *d, uint32_t i, uint64_t first, uint64_t last, uint64_t *a,
		    uint64_t *b)
{
	*a = max_u64(d->ranges[i].pfirst, first);
	*b = min_u64(d->ranges[i].plast, last);
	return *a <= *b;
}

/* Pages set in bm within the tracked ranges and [first, last]. */
static uint64_t count_tracked(const struct trk_dev *d, const struct ms_dirty_bitmap *bm,
			      uint64_t first, uint64_t last)
{
	uint64_t n = 0, a, b;

	if (!d->nr_ranges)
		return 0;
	/* the windows hold only tracked pages: over all of them, the bitmap's own count */
	if (first <= d->ranges[0].pfirst && last >= d->ranges[d->nr_ranges - 1].plast && !bm->full)
		return ms_dirty_bitmap__count(bm);
	for (uint32_t i = 0; i < d->nr_ranges; i++)
		if (segment(d, i, first, last, &a, &b))
			n += ms_dirty_bitmap__count_range(bm, a, b);
	return n;
}

/* --- widening -------------------------------------------------------------------- */

static void cause_event(struct trk_dev *d, enum ms_widen_cause c, uint64_t iova, uint64_t len,
			uint64_t lost)
{
	d->cause[c].events++;
	d->cause[c].lost += lost;
	add_example(&d->cause[c].ex, iova, len, 0);
}

static void nomem(struct trk_dev *d)
{
	/* the bitmap that failed is now full: report once why everything is dirty */
	if (!d->cause[MS_WIDEN_NOMEM].events++)
		d->cause[MS_WIDEN_NOMEM].all = true;
}

/* Force pages [first, last] (inside one tracked range) dirty for cause c. */
static void widen_pages(struct trk_dev *d, enum ms_widen_cause c, uint64_t first, uint64_t last)
{
	if (ms_dirty_bitmap__set_pages(&d->widened, first, last))
		nomem(d);
	d->cause[c].pages += last - first + 1;
}

/* Force the tracked part of bytes [iova, end] dirty; returns the pages it covered. */
static uint64_t widen_range(struct trk_dev *d, enum ms_widen_cause c, uint64_t iova, uint64_t end)
{
	uint64_t n = 0;

	for (uint32_t i = range_lower(d, iova); i < d->nr_ranges && d->ranges[i].iova <= end; i++) {
		uint64_t a = max_u64(iova, d->ranges[i].iova) >> d->shift;
		uint64_t b = min_u64(end, d->ranges[i].last) >> d->shift;

		widen_pages(d, c, a, b);
		n += b - a + 1;
	}
	return n;
}

static void widen_all(struct trk_dev *d, enum ms_widen_cause c, uint64_t lost)
{
	for (uint32_t i = 0; i < d->nr_ranges; i++)
		widen_pages(d, c, d->ranges[i].pfirst, d->ranges[i].plast);
	d->cause[c].events++;
	d->cause[c].lost += lost;
	d->cause[c].all = true;
}

/* --- write records ------------------------------------------------------------------ */

/*
 * Inside what the last check found mapped?  A device writes where it wrote
 * before, and QEMU maps guest memory in large pieces, so one lookup answers
 * for many records.
 */
static inline bool mapped_known(const struct ms_tracker *t, uint64_t iova, uint64_t len)
{
	return t->mapped_hint && iova / MAPPED_PAGE >= t->mapped_first &&
	       (iova + (len - 1)) / MAPPED_PAGE <= t->mapped_last;
}

/* A precise record not wholly inside what the IOMMU maps (once maps were seen). */
static void check_mapped(struct ms_tracker *t, struct trk_dev *d, unsigned int src, uint64_t iova,
			 uint64_t len)
{
	struct ms_dirty_source *st = &d->st[src];
	uint64_t first = iova / MAPPED_PAGE, last = (iova + (len - 1)) / MAPPED_PAGE, a, b;

	if (mapped_known(t, iova, len))
		return;
	if (ms_dirty_bitmap__test_all(&t->mapped, first, last)) {
		if (ms_dirty_bitmap__set_extent(&t->mapped, first, &a, &b) && b >= last) {
			t->mapped_hint = true;
			t->mapped_first = a;
			t->mapped_last = b;
		}
		return;
	}
	st->outside_mapped_records++;
	st->outside_mapped_bytes += len;
	add_example(&d->outside_mapped, iova, len, src);
}

static void apply_oldest(struct ms_tracker *t)
{
	struct pending *p = &t->pend[t->pend_head];

	if (p->set && ms_dirty_bitmap__set_pages(&p->d->src[p->src], p->first, p->last))
		nomem(p->d);
	if (p->check)
		check_mapped(t, p->d, p->src, p->iova, p->len);
	t->pend_head = (t->pend_head + 1) % NR_PENDING;
	if (!--t->nr_pend)
		t->join_bm = NULL; /* the newest was applied */
}

/* Apply every write in flight: before anything reads or changes the bitmaps. */
static void drain(struct ms_tracker *t)
{
	while (t->nr_pend)
		apply_oldest(t);
}

/*
 * A write within the range written last: its pages, and its check against
 * the mapped set.  What needs a word not at hand is prefetched and done
 * NR_PENDING records later, so the cache misses of random writes overlap (a
 * record's path is too long for the CPU to reach the next one's miss on its
 * own).  Setting bits commutes, and the ring is drained before any map,
 * unmap or query, so nothing sees the difference.
 */
static inline void defer_mark(struct ms_tracker *t, struct trk_dev *d, unsigned int src,
			      uint64_t first, uint64_t last, const struct ms_ev_dma_write *w)
{
	struct ms_dirty_bitmap *bm = &d->src[src];
	struct pending *p;
	bool set = true, check = t->maps && !mapped_known(t, w->iova, w->len);

	d->seen |= 1u << src;
	if (ms_dirty_bitmap__at_hand(bm, first, last)) {
		ms_dirty_bitmap__set_pages(bm, first, last);
		set = false;
	}
	if (!set && !check)
		return;
	/* start the loads first: the rest is done while they come */
	if (set)
		ms_dirty_bitmap__prefetch(bm, first);
	if (check)
		ms_dirty_bitmap__prefetch(&t->mapped, w->iova / MAPPED_PAGE);
	/*
	 * The bitmap's hot word moves only when a deferred write is applied, so
	 * the writes after one that left the hot word (a device filling the next
	 * buffers) would all miss it and be deferred, each to its own lookup.
	 * Join such a write to the newest one in flight instead: same bitmap,
	 * same word, touching pages, nothing to check against the mapped set.
	 */
	if (bm == t->join_bm && !check && (first >> 6) == t->join_w && (last >> 6) == t->join_w) {
		p = &t->pend[(t->pend_head + t->nr_pend - 1) % NR_PENDING];
		if (first <= p->last + 1 && last + 1 >= p->first) {
			p->first = first < p->first ? first : p->first;
			p->last = last > p->last ? last : p->last;
			return;
		}
	}
	if (t->nr_pend == NR_PENDING)
		apply_oldest(t);
	t->join_bm = set && !check ? bm : NULL;
	t->join_w = first >> 6;
	p = &t->pend[(t->pend_head + t->nr_pend) % NR_PENDING];
	p->d = d;
	p->src = src;
	p->set = set;
	p->check = check;
	p->first = first;
	p->last = last;
	p->iova = w->iova;
	p->len = w->len;
	t->nr_pend++;
}

static inline void mark(struct trk_dev *d, unsigned int src, uint64_t first, uint64_t last)
{
	if (src < MS_SRC__MAX) {
		if (ms_dirty_bitmap__set_pages(&d->src[src], first, last))
			nomem(d);
		d->seen |= 1u << src;
	} else {
		widen_pages(d, MS_WIDEN_UNKNOWN_SOURCE, first, last);
	}
}

/* A record that is not inside the range written last: clip it to the tracked ranges. */
static void clip_and_mark(struct trk_dev *d, unsigned int src, const struct ms_ev_dma_write *w,
			  uint64_t end)
{
	struct ms_dirty_source *st = &d->st[src];
	uint64_t inside = 0;

	for (uint32_t i = range_lower(d, w->iova); i < d->nr_ranges && d->ranges[i].iova <= end;
	     i++) {
		uint64_t a = max_u64(w->iova, d->ranges[i].iova);
		uint64_t b = min_u64(end, d->ranges[i].last);

		mark(d, src, a >> d->shift, b >> d->shift);
		inside += b - a + 1;
		d->hot_first = d->ranges[i].pfirst;
		d->hot_last = d->ranges[i].plast;
	}
	if (inside < w->len) {
		st->out_of_range_records++;
		st->out_of_range_bytes += w->len - inside;
		add_example(&d->out_of_range, w->iova, w->len, src);
	}
}

/* The events a record of full payload length full stands for (appended run: 1 without). */
static inline uint64_t run_events(const struct ms_event_hdr *ev, const struct ms_run *run,
				  uint16_t full)
{
	return ev->len >= full ? MS_RUN_EVENTS(*run) : 1;
}

static void on_dma_write(void *ctx, const struct ms_event_hdr *ev)
{
	const struct ms_ev_dma_write *w = (const void *)ev;
	struct ms_tracker *t = ctx;
	struct trk_dev *d = dev_get(t, ev->dev);
	struct ms_dirty_source *st;
	unsigned int src;
	uint64_t first, last, end;

	if (!d) {
		t->unattributed++;
		return;
	}
	if (ev->len < MS_PAYLOAD_BASE_LEN(ms_ev_dma_write, dir)) {
		/* nothing in it can be trusted but the device */
		if (d->tracking)
			widen_all(d, MS_WIDEN_SHORT_RECORD, 0);
		return;
	}
	src = w->source < MS_SRC__MAX ? w->source : MS_SRC__MAX;
	st = &d->st[src];
	/* a coalesced record is exactly its range: it counts the events it stands for */
	st->records += run_events(ev, &w->run, MS_PAYLOAD_LEN(ms_ev_dma_write));
	st->bytes += w->len;
	if (!d->tracking) {
		st->untracked++;
		return;
	}
	if (src == MS_SRC__MAX)
		cause_event(d, MS_WIDEN_UNKNOWN_SOURCE, w->iova, w->len, 0);
	if (!w->len) {
		cause_event(d, MS_WIDEN_ZERO_LENGTH, w->iova, 0, 0);
		widen_range(d, MS_WIDEN_ZERO_LENGTH, w->iova, w->iova);
		return;
	}
	end = w->iova + (w->len - 1);
	if (end < w->iova) {
		widen_all(d, MS_WIDEN_WRAP, 0);
		add_example(&d->cause[MS_WIDEN_WRAP].ex, w->iova, w->len, src);
		return;
	}
	if ((w->iova | w->len) & (d->page_size - 1))
		st->unaligned++;
	first = w->iova >> d->shift;
	last = end >> d->shift;
	if (first >= d->hot_first && last <= d->hot_last && src < MS_SRC__MAX) {
		defer_mark(t, d, src, first, last, w);
		return;
	}
	if (t->maps)
		check_mapped(t, d, src, w->iova, w->len);
	clip_and_mark(d, src, w, end);
}

/* --- windows: the cross-source check and the harvest ------------------------------ */

/*
 * The view bitmaps of the window (cur) and of the previous one (prev): a
 * view's source's own when it has one source seen, else its sources merged
 * into a temporary.  NULL for views that have not reported since tracking
 * started.  view_sets__free releases the temporaries.
 */
struct view_sets {
	const struct ms_dirty_bitmap *cur[MS_VIEW__MAX], *prev[MS_VIEW__MAX];
	struct ms_dirty_bitmap tmp[2][MS_VIEW__MAX];
};

static const struct ms_dirty_bitmap *merge_view(const struct trk_dev *d, uint32_t seen,
						const struct ms_dirty_bitmap *set,
						struct ms_dirty_bitmap *tmp, int *err)
{
	if (!seen)
		return NULL;
	if (!(seen & (seen - 1)))
		return &set[__builtin_ctz(seen)];
	ms_dirty_bitmap__init(tmp, d->page_size, NULL, 0);
	for (int s = 0; s < MS_SRC__MAX; s++)
		if ((seen >> s) & 1 && ms_dirty_bitmap__or(tmp, &set[s], 0, UINT64_MAX >> d->shift))
			*err = -ENOMEM;
	return tmp;
}

static int view_sets__init(struct view_sets *vs, const struct trk_dev *d)
{
	int err = 0;

	memset(vs, 0, sizeof(*vs));
	for (int v = 0; v < MS_VIEW__MAX; v++) {
		uint32_t seen = d->seen & views[v].sources;

		vs->cur[v] = merge_view(d, seen, d->src, &vs->tmp[0][v], &err);
		vs->prev[v] = merge_view(d, seen, d->prev, &vs->tmp[1][v], &err);
	}
	return err;
}

static void view_sets__free(struct view_sets *vs)
{
	for (int v = 0; v < MS_VIEW__MAX; v++) {
		ms_dirty_bitmap__free(&vs->tmp[0][v]);
		ms_dirty_bitmap__free(&vs->tmp[1][v]);
	}
}

/* Views with records since tracking started. */
static int views_seen(const struct trk_dev *d)
{
	int n = 0;

	for (int v = 0; v < MS_VIEW__MAX; v++)
		n += !!(d->seen & views[v].sources);
	return n;
}

/* The pairs the check compares: both views reported, and the second sees every write. */
static bool compared(const struct view_sets *vs, int x, int y)
{
	return x != y && vs->cur[x] && vs->cur[y] && !views[y].partial;
}

static void add_examples(struct ms_dirty_disc *o, const uint64_t *ex, unsigned int nr,
			 unsigned int shift)
{
	for (unsigned int k = 0; k < nr && o->nr_ex < MS_DIRTY_EXAMPLES; k++)
		o->ex[o->nr_ex++] = ex[k] << shift;
}

/* Pages of the suspects of (x, y) in [first, last] that y's window lacks: count and examples. */
static void count_missed(const struct trk_dev *d, const struct ms_dirty_bitmap *sus,
			 const struct ms_dirty_bitmap *y, uint64_t first, uint64_t last,
			 struct ms_dirty_disc *o)
{
	uint64_t a, b, ex[MS_DIRTY_EXAMPLES];
	unsigned int nr;

	for (uint32_t i = 0; i < d->nr_ranges; i++) {
		if (!segment(d, i, first, last, &a, &b))
			continue;
		o->pages += ms_dirty_bitmap__count_andnot(sus, y, a, b, ex, MS_DIRTY_EXAMPLES, &nr);
		add_examples(o, ex, nr, d->shift);
	}
}

/*
 * Sources lag each other (a failed report is repeated at the next one; a
 * driver unmaps a buffer after the device reported the write), so a page view
 * x reported in window k is a discrepancy for view y only if y reported it in
 * none of windows k-1, k and k+1.  Until the next window closes it is a
 * suspect.  Closing the window over [first, last]: confirm the suspects y did
 * not report in it, and keep this window's as the new suspects.
 */
static int cross_check(struct trk_dev *d, uint64_t first, uint64_t last, bool whole)
{
	struct view_sets vs;
	int err = view_sets__init(&vs, d);

	for (int x = 0; !err && x < MS_VIEW__MAX; x++) {
		for (int y = 0; y < MS_VIEW__MAX; y++) {
			struct ms_dirty_bitmap *sus = &d->suspect[x][y], cand;
			uint64_t a, b;
			int e;

			if (!compared(&vs, x, y))
				continue;
			d->disc[x][y].windows++;
			count_missed(d, sus, vs.cur[y], first, last, &d->disc[x][y]);
			ms_dirty_bitmap__init(&cand, d->page_size, NULL, 0);
			for (uint32_t i = 0; i < d->nr_ranges; i++) {
				if (!segment(d, i, first, last, &a, &b))
					continue;
				ms_dirty_bitmap__andnot_into(&cand, vs.cur[x], vs.cur[y],
							     vs.prev[y], a, b, &e);
				err |= e;
			}
			if (whole) {
				struct ms_dirty_bitmap old = *sus;

				*sus = cand;
				cand = old;
			} else {
				ms_dirty_bitmap__clear_pages(sus, first, last);
				err |= ms_dirty_bitmap__or(sus, &cand, 0, UINT64_MAX >> d->shift);
			}
			ms_dirty_bitmap__free(&cand);
		}
	}
	view_sets__free(&vs);
	return err;
}

/* Tracking stopped: no later report can clear the suspects; they are discrepancies. */
static void confirm_suspects(struct trk_dev *d)
{
	struct ms_dirty_bitmap none;

	ms_dirty_bitmap__init(&none, d->page_size, NULL, 0);
	for (int x = 0; x < MS_VIEW__MAX; x++)
		for (int y = 0; y < MS_VIEW__MAX; y++) {
			count_missed(d, &d->suspect[x][y], &none, 0, UINT64_MAX >> d->shift,
				     &d->disc[x][y]);
			ms_dirty_bitmap__clear_all(&d->suspect[x][y]);
		}
}

/*
 * What the check would find if the window closed now and no further report
 * came (read-only, for reports while tracking): per pair, the suspects y has
 * not reported yet and the window's own candidates.
 */
static void unconfirmed(const struct trk_dev *d,
			struct ms_dirty_disc out[MS_VIEW__MAX][MS_VIEW__MAX])
{
	struct view_sets vs;
	uint64_t all = UINT64_MAX >> d->shift;

	memset(out, 0, sizeof(struct ms_dirty_disc) * MS_VIEW__MAX * MS_VIEW__MAX);
	if (!d->tracking || view_sets__init(&vs, d)) {
		if (d->tracking)
			view_sets__free(&vs);
		return;
	}
	for (int x = 0; x < MS_VIEW__MAX; x++)
		for (int y = 0; y < MS_VIEW__MAX; y++) {
			struct ms_dirty_bitmap cand, none;
			int e;

			if (!compared(&vs, x, y))
				continue;
			out[x][y].windows = 1; /* the open one */
			count_missed(d, &d->suspect[x][y], vs.cur[y], 0, all, &out[x][y]);
			ms_dirty_bitmap__init(&cand, d->page_size, NULL, 0);
			ms_dirty_bitmap__init(&none, d->page_size, NULL, 0);
			for (uint32_t i = 0; i < d->nr_ranges; i++)
				ms_dirty_bitmap__andnot_into(&cand, vs.cur[x], vs.cur[y],
							     vs.prev[y], d->ranges[i].pfirst,
							     d->ranges[i].plast, &e);
			count_missed(d, &cand, &none, 0, all, &out[x][y]);
			ms_dirty_bitmap__free(&cand);
		}
	view_sets__free(&vs);
}

/* The window's dirty set (every source and the widened pages) over [first, last], into u. */
static int window_union(const struct trk_dev *d, uint64_t first, uint64_t last,
			struct ms_dirty_bitmap *u)
{
	int ret = 0;

	for (int s = 0; s < MS_SRC__MAX; s++)
		ret |= ms_dirty_bitmap__or(u, &d->src[s], first, last);
	ret |= ms_dirty_bitmap__or(u, &d->widened, first, last);
	return ret ? -ENOMEM : 0;
}

/* The window's only non-empty bitmap; NULL when none or several. */
static const struct ms_dirty_bitmap *only_bitmap(const struct trk_dev *d, int *nonempty)
{
	const struct ms_dirty_bitmap *only = NULL;

	*nonempty = 0;
	for (int s = 0; s <= MS_SRC__MAX; s++) {
		const struct ms_dirty_bitmap *bm = s < MS_SRC__MAX ? &d->src[s] : &d->widened;

		if (!ms_dirty_bitmap__empty(bm)) {
			only = bm;
			++*nonempty;
		}
	}
	return *nonempty == 1 ? only : NULL;
}

/* Pages of the window's dirty set over [first, last] (and fold it into the session's). */
static uint64_t window_count(const struct ms_tracker *t, struct trk_dev *d, uint64_t first,
			     uint64_t last, const struct ms_dirty_bitmap **only)
{
	struct ms_dirty_bitmap u;
	int nonempty;
	uint64_t n;

	/* one source (the usual case) is its own union: count it where it is */
	*only = only_bitmap(d, &nonempty);
	if (nonempty <= 1) {
		n = *only ? count_tracked(d, *only, first, last) : 0;
		if (*only && t->keep_session &&
		    ms_dirty_bitmap__or(&d->session, *only, first, last))
			nomem(d);
		return n;
	}
	if (nonempty == 2 && !t->keep_session) {
		/* two (a device and its own tracker, say): |x| + |y \ x|, no union built */
		const struct ms_dirty_bitmap *x = NULL, *y = NULL;
		uint64_t a, b;

		for (int s = 0; s <= MS_SRC__MAX; s++) {
			const struct ms_dirty_bitmap *bm =
			    s < MS_SRC__MAX ? &d->src[s] : &d->widened;

			if (!ms_dirty_bitmap__empty(bm))
				*(x ? &y : &x) = bm;
		}
		n = count_tracked(d, x, first, last);
		for (uint32_t i = 0; i < d->nr_ranges; i++)
			if (segment(d, i, first, last, &a, &b))
				n += ms_dirty_bitmap__count_andnot(y, x, a, b, NULL, 0, NULL);
		return n;
	}
	ms_dirty_bitmap__init(&u, d->page_size, NULL, 0);
	if (window_union(d, first, last, &u) ||
	    (t->keep_session && ms_dirty_bitmap__or(&d->session, &u, 0, UINT64_MAX >> d->shift)))
		nomem(d);
	n = count_tracked(d, &u, first, last);
	ms_dirty_bitmap__free(&u);
	return n;
}

/*
 * Close the window over pages [first, last]: check the sources against each
 * other, count the dirty set, keep each source's pages as the previous
 * window, clear.  whole: the range holds every tracked page.  harvest: a
 * consumer took these pages (else tracking stopped with them still dirty).
 */
static void close_window(const struct ms_tracker *t, struct trk_dev *d, uint64_t first,
			 uint64_t last, bool whole, bool harvest)
{
	const struct ms_dirty_bitmap *only;
	/*
	 * Last window's pages are the grace of the check: kept as soon as one view
	 * has reported, since a second view may first report in the next window
	 * (a failed first report comes back with the next one) and must not be
	 * blamed for what the first view reported here.
	 */
	bool keep_prev = views_seen(d) >= 1;
	uint64_t n;

	if (cross_check(d, first, last, whole))
		nomem(d);
	n = window_count(t, d, first, last, &only);
	if (harvest)
		d->harvested_pages += n;
	else
		d->unharvested_at_stop += n;
	for (int s = 0; s < MS_SRC__MAX; s++) {
		struct ms_dirty_bitmap swap;

		if (!ms_dirty_bitmap__empty(&d->src[s]))
			d->st[s].pages +=
			    only == &d->src[s] ? n : count_tracked(d, &d->src[s], first, last);
		/* the window becomes the previous one, if the check compares views */
		if (!keep_prev) {
			if (whole)
				ms_dirty_bitmap__clear_all(&d->src[s]);
			else
				ms_dirty_bitmap__clear_pages(&d->src[s], first, last);
			continue;
		}
		/* (the windows hold only tracked pages: whole, they move as they are) */
		if (whole) {
			swap = d->prev[s];
			d->prev[s] = d->src[s];
			d->src[s] = swap;
			ms_dirty_bitmap__clear_all(&d->src[s]);
		} else {
			ms_dirty_bitmap__clear_pages(&d->prev[s], first, last);
			if (ms_dirty_bitmap__or(&d->prev[s], &d->src[s], first, last))
				nomem(d);
			ms_dirty_bitmap__clear_pages(&d->src[s], first, last);
		}
	}
	if (whole)
		ms_dirty_bitmap__clear_all(&d->widened);
	else
		ms_dirty_bitmap__clear_pages(&d->widened, first, last);
}

/* --- tracking start and stop --------------------------------------------------------- */

struct sorted_range {
	uint64_t iova, len;
	uint32_t idx;
};

static int cmp_range(const void *a, const void *b)
{
	const struct sorted_range *x = a, *y = b;

	return x->iova < y->iova ? -1 : x->iova > y->iova;
}

static int cmp_range_plain(const void *a, const void *b)
{
	const struct ms_range *x = a, *y = b;

	return x->iova < y->iova ? -1 : x->iova > y->iova;
}

int ms_tracker__check_start(uint64_t page_size, const struct ms_range *ranges, uint32_t nr,
			    char *err, size_t errlen)
{
	const char *why = ms_dirty_bitmap__page_size_problem(page_size);
	struct sorted_range *s;

	if (why) {
		snprintf(err, errlen, "page size %" PRIu64 " %s", page_size, why);
		return -EINVAL;
	}
	if (!nr) {
		snprintf(err, errlen, "no ranges to track");
		return -EINVAL;
	}
	if (nr > MS_TRACK_RECORD_MAX_RANGES) {
		snprintf(err, errlen, "%u ranges: at most %zu can be tracked", nr,
			 (size_t)MS_TRACK_RECORD_MAX_RANGES);
		return -E2BIG;
	}
	for (uint32_t i = 0; i < nr; i++) {
		uint64_t iova = ranges[i].iova, len = ranges[i].len;

		if (!len)
			snprintf(err, errlen, "range %u at 0x%" PRIx64 " is empty", i, iova);
		else if (iova + (len - 1) < iova)
			snprintf(err, errlen,
				 "range %u [0x%" PRIx64 ", +0x%" PRIx64 ") wraps past 2^64", i,
				 iova, len);
		else if ((iova | len) & (page_size - 1))
			snprintf(err, errlen,
				 "range %u [0x%" PRIx64 ", +0x%" PRIx64
				 ") is not aligned to the %" PRIu64 "-byte page size",
				 i, iova, len, page_size);
		else
			continue;
		return -EINVAL;
	}
	s = malloc(nr * sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "failed to check ranges: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < nr; i++)
		s[i] = (struct sorted_range){ ranges[i].iova, ranges[i].len, i };
	qsort(s, nr, sizeof(*s), cmp_range);
	for (uint32_t i = 1; i < nr; i++) {
		const struct sorted_range *x = &s[i - 1], *y = &s[i];

		if (y->iova > x->iova + (x->len - 1))
			continue;
		if (x->idx > y->idx) {
			x = &s[i];
			y = &s[i - 1];
		}
		snprintf(err, errlen,
			 "ranges %u [0x%" PRIx64 ", +0x%" PRIx64 ") and %u [0x%" PRIx64
			 ", +0x%" PRIx64 ") overlap",
			 x->idx, x->iova, x->len, y->idx, y->iova, y->len);
		free(s);
		return -EINVAL;
	}
	free(s);
	return 0;
}

/* Re-base the device's bitmaps on a new page size (the windows are empty here). */
static int set_page_size(struct trk_dev *d, uint64_t page_size)
{
	struct ms_dirty_bitmap session;
	int ret;

	if (page_size == d->page_size)
		return 0;
	ms_dirty_bitmap__init(&session, page_size, NULL, 0);
	ret = ms_dirty_bitmap__or(&session, &d->session, 0, UINT64_MAX >> d->shift);
	ms_dirty_bitmap__free(&d->session);
	d->session = session;
	windows_reset(d, page_size);
	d->page_size = page_size;
	d->shift = (unsigned int)__builtin_ctzll(page_size);
	return ret;
}

static void on_track_start(struct ms_tracker *t, const struct ms_event_hdr *ev)
{
	const struct ms_ev_track_start *ts = (const void *)ev;
	struct trk_dev *d = dev_get(t, ev->dev);
	struct ms_dirty_reject *rej;
	struct ms_range *r;
	char err[MS_DIRTY_REJECT_MSG];
	uint32_t tail;
	const void *tail_buf = ms_event_tail(ev, MS_PAYLOAD_LEN(ms_ev_track_start), &tail);

	if (!d) {
		t->unattributed++;
		return;
	}
	rej = &d->rej[MS_REJ_TRACK_START];
	if (ev->len < MS_PAYLOAD_LEN(ms_ev_track_start)) {
		reject(rej, "record of %u payload bytes is shorter than its %u fixed bytes",
		       ev->len, MS_PAYLOAD_LEN(ms_ev_track_start));
		return;
	}
	if ((uint64_t)ts->nr_ranges * sizeof(*r) > tail) {
		reject(rej, "%u ranges need %zu bytes, the record carries %u", ts->nr_ranges,
		       (size_t)ts->nr_ranges * sizeof(*r), tail);
		return;
	}
	if (d->tracking) {
		reject(rej, "already tracking: a start needs a stop first");
		return;
	}
	/* the tail need not be aligned: copy it out */
	r = malloc(ts->nr_ranges ? ts->nr_ranges * sizeof(*r) : 1);
	if (!r) {
		reject(rej, "failed to copy ranges: %s", strerror(ENOMEM));
		return;
	}
	memcpy(r, tail_buf, ts->nr_ranges * sizeof(*r));
	if (ms_tracker__check_start(ts->page_size, r, ts->nr_ranges, err, sizeof(err))) {
		reject(rej, "%s", err);
		free(r);
		return;
	}
	free(d->ranges);
	d->ranges = calloc(ts->nr_ranges, sizeof(*d->ranges));
	if (!d->ranges) {
		d->nr_ranges = 0;
		reject(rej, "failed to keep ranges: %s", strerror(ENOMEM));
		free(r);
		return;
	}
	if (set_page_size(d, ts->page_size))
		nomem(d);
	qsort(r, ts->nr_ranges, sizeof(*r), cmp_range_plain);
	d->tracked_bytes = 0;
	for (uint32_t i = 0; i < ts->nr_ranges; i++) {
		d->ranges[i].iova = r[i].iova;
		d->ranges[i].last = r[i].iova + (r[i].len - 1);
		d->ranges[i].pfirst = r[i].iova >> d->shift;
		d->ranges[i].plast = d->ranges[i].last >> d->shift;
		d->tracked_bytes += r[i].len;
	}
	free(r);
	d->nr_ranges = ts->nr_ranges;
	/* dense windows may go flat over the tracked span */
	for (int i = 0; i < NR_WINDOW_BITMAPS; i++)
		ms_dirty_bitmap__set_span(window_bitmap(d, i), d->ranges[0].pfirst,
					  d->ranges[d->nr_ranges - 1].plast);
	d->hot_first = d->ranges[0].pfirst;
	d->hot_last = d->ranges[0].plast;
	d->seen = 0;
	d->tracking = true;
	d->track_starts++;
}

static void on_track_stop(struct ms_tracker *t, const struct ms_event_hdr *ev)
{
	struct trk_dev *d = dev_get(t, ev->dev);

	if (!d) {
		t->unattributed++;
		return;
	}
	if (!d->tracking) {
		/* virtio: a stop MUST succeed even when recording is not started */
		d->idle_stops++;
		return;
	}
	/* what was never harvested is still dirty: the report says how much */
	close_window(t, d, 0, UINT64_MAX >> d->shift, true, false);
	confirm_suspects(d);
	for (int s = 0; s < MS_SRC__MAX; s++)
		ms_dirty_bitmap__clear_all(&d->prev[s]);
	d->tracking = false;
	d->hot_first = 1;
	d->hot_last = 0;
	d->track_stops++;
}

static void on_harvest(struct ms_tracker *t, const struct ms_event_hdr *ev)
{
	const struct ms_ev_harvest *h = (const void *)ev;
	struct trk_dev *d = dev_get(t, ev->dev);
	struct ms_dirty_reject *rej;
	const char *why;
	uint64_t end, first, last;

	if (!d) {
		t->unattributed++;
		return;
	}
	rej = &d->rej[MS_REJ_HARVEST];
	if (ev->len < MS_PAYLOAD_LEN(ms_ev_harvest)) {
		reject(rej, "record of %u payload bytes is shorter than its %u fixed bytes",
		       ev->len, MS_PAYLOAD_LEN(ms_ev_harvest));
		return;
	}
	if (!d->tracking) {
		reject(rej, "harvest while not tracking");
		return;
	}
	why = ms_dirty_bitmap__page_size_problem(h->page_size);
	if (why) {
		reject(rej, "page size %" PRIu64 " %s", (uint64_t)h->page_size, why);
		return;
	}
	d->harvests++;
	if (!h->len) {
		close_window(t, d, 0, UINT64_MAX >> d->shift, true, true);
		return;
	}
	end = h->iova + (h->len - 1);
	if (end < h->iova) {
		d->harvests--;
		reject(rej, "range 0x%" PRIx64 " + 0x%" PRIx64 " wraps past 2^64",
		       (uint64_t)h->iova, (uint64_t)h->len);
		return;
	}
	/* only the tracker pages wholly inside were taken: a page half outside keeps its dirt */
	first = (h->iova >> d->shift) + !!(h->iova & (d->page_size - 1));
	if (end == UINT64_MAX)
		last = UINT64_MAX >> d->shift;
	else if ((end + 1) >> d->shift)
		last = ((end + 1) >> d->shift) - 1;
	else
		return;
	if (first > last)
		return;
	close_window(t, d, first, last,
		     first <= d->ranges[0].pfirst && last >= d->ranges[d->nr_ranges - 1].plast,
		     true);
}

/* --- losses and the IOMMU ------------------------------------------------------------- */

/* Widen d for a loss of count records over [iova, iova + len) (len 0: everything). */
static void loss_one(struct trk_dev *d, enum ms_widen_cause c, uint64_t count, uint64_t iova,
		     uint64_t len)
{
	if (!d->tracking) {
		d->loss_untracked++;
		return;
	}
	/* a loss that wraps past 2^64 has no extent we can trust either */
	if (!len || iova + (len - 1) < iova) {
		widen_all(d, c, count);
		return;
	}
	cause_event(d, c, iova, len, count);
	widen_range(d, c, iova, iova + (len - 1));
}

static void on_loss(struct ms_tracker *t, const struct ms_event_hdr *ev)
{
	const struct ms_ev_loss *l = (const void *)ev;
	struct trk_dev *d = ev->dev == MS_DEV_NONE ? NULL : dev_get(t, ev->dev);
	enum ms_widen_cause c = MS_WIDEN_LOSS_UNKNOWN;
	uint64_t count = 0, iova = 0, len = 0;

	/* a short loss record still says something was lost: everything, for an unknown reason */
	if (ev->len >= MS_PAYLOAD_LEN(ms_ev_loss)) {
		if (l->reason < MS_LOSS__MAX)
			c = (enum ms_widen_cause)l->reason;
		count = l->count;
		iova = l->iova;
		len = l->len;
	}
	if (d) {
		loss_one(d, c, count, iova, len);
		return;
	}
	/* no device, or an id no device can have: every device may have lost records */
	for (uint32_t i = 0; i < t->nr_dev; i++)
		if (t->dev[i])
			loss_one(t->dev[i], c, count, iova, len);
}

static void on_map(struct ms_tracker *t, const struct ms_event_hdr *ev)
{
	const struct ms_ev_iommu_map *m = (const void *)ev;

	if (ev->len < MS_PAYLOAD_BASE_LEN(ms_ev_iommu_map, size)) {
		reject(&t->rej[MS_REJ_MAP], "record of %u payload bytes is shorter than its %u",
		       ev->len, MS_PAYLOAD_BASE_LEN(ms_ev_iommu_map, size));
		return;
	}
	if (!m->size || m->iova + (m->size - 1) < m->iova) {
		reject(&t->rej[MS_REJ_MAP], "map of 0x%" PRIx64 " + 0x%" PRIx64 " %s",
		       (uint64_t)m->iova, (uint64_t)m->size,
		       m->size ? "wraps past 2^64" : "is empty");
		return;
	}
	t->maps += run_events(ev, &m->run, MS_PAYLOAD_LEN(ms_ev_iommu_map));
	/* an upper bound of what the device may write: round outward */
	ms_dirty_bitmap__set_range(&t->mapped, m->iova, m->size, NULL, 0);
}

/* Pages wholly inside bytes [iova, end] leave the mapped set. */
static void clear_mapped(struct ms_tracker *t, uint64_t iova, uint64_t end)
{
	uint64_t first = iova / MAPPED_PAGE + !!(iova % MAPPED_PAGE), last;

	if (end == UINT64_MAX)
		last = UINT64_MAX / MAPPED_PAGE;
	else if ((end + 1) / MAPPED_PAGE)
		last = (end + 1) / MAPPED_PAGE - 1;
	else
		return;
	t->mapped_hint = false;
	if (first <= last)
		ms_dirty_bitmap__clear_pages(&t->mapped, first, last);
}

static void on_unmap(struct ms_tracker *t, const struct ms_event_hdr *ev)
{
	const struct ms_ev_iommu_unmap *u = (const void *)ev;
	uint64_t size, end;

	if (ev->len < MS_PAYLOAD_BASE_LEN(ms_ev_iommu_unmap, unmapped)) {
		reject(&t->rej[MS_REJ_UNMAP], "record of %u payload bytes is shorter than its %u",
		       ev->len, MS_PAYLOAD_BASE_LEN(ms_ev_iommu_unmap, unmapped));
		/* an unmap of unknown extent: every tracked page may have lost its dirt */
		for (uint32_t i = 0; i < t->nr_dev; i++)
			if (t->dev[i] && t->dev[i]->tracking &&
			    (ev->dev == MS_DEV_NONE || ev->dev == i))
				widen_all(t->dev[i], MS_WIDEN_SHORT_RECORD, 0);
		return;
	}
	/* the IOMMU may unmap more than asked (a large page): take the larger */
	size = max_u64(u->size, u->unmapped);
	if (!size || u->iova + (size - 1) < u->iova) {
		reject(&t->rej[MS_REJ_UNMAP], "unmap of 0x%" PRIx64 " + 0x%" PRIx64 " %s",
		       (uint64_t)u->iova, size, size ? "wraps past 2^64" : "is empty");
		return;
	}
	end = u->iova + (size - 1);
	t->unmaps += run_events(ev, &u->run, MS_PAYLOAD_LEN(ms_ev_iommu_unmap));
	clear_mapped(t, u->iova, end);
	/* the tracepoint carries no device: it applies to every device tracking */
	for (uint32_t i = 0; i < t->nr_dev; i++) {
		struct trk_dev *d = t->dev[i];

		if (!d || !d->tracking || (ev->dev != MS_DEV_NONE && ev->dev != i))
			continue;
		if (widen_range(d, MS_WIDEN_UNMAP, u->iova, end))
			cause_event(d, MS_WIDEN_UNMAP, u->iova, size, 0);
	}
}

static void on_event(void *ctx, const struct ms_event_hdr *ev)
{
	struct ms_tracker *t = ctx;

	drain(t);
	switch (ev->type) {
	case MS_EV_TRACK_START:
		on_track_start(t, ev);
		break;
	case MS_EV_TRACK_STOP:
		on_track_stop(t, ev);
		break;
	case MS_EV_HARVEST:
		on_harvest(t, ev);
		break;
	case MS_EV_LOSS:
		on_loss(t, ev);
		break;
	case MS_EV_IOMMU_MAP:
		on_map(t, ev);
		break;
	case MS_EV_IOMMU_UNMAP:
		on_unmap(t, ev);
		break;
	default:
		break;
	}
}

/* --- batches: runs of hot records ---------------------------------------------------- */

/* A DMA write on on_dma_write's fast path: its device, source, pages and last byte. */
struct fast_write {
	struct trk_dev *d;
	unsigned int src;
	uint64_t first, last, end;
};

/*
 * Is ev a DMA write on on_dma_write's fast path (tracked, a known source,
 * inside the tracked range written last and what the IOMMU is known to map)?
 */
static inline bool fast_write(struct ms_tracker *t, const struct ms_event_hdr *ev,
			      struct fast_write *f)
{
	const struct ms_ev_dma_write *w = (const void *)ev;
	struct trk_dev *d;

	if (ev->type != MS_EV_DMA_WRITE || ev->len < MS_PAYLOAD_LEN(ms_ev_dma_write))
		return false;
	d = dev_get(t, ev->dev);
	if (!d || !d->tracking || !w->len || w->source >= MS_SRC__MAX)
		return false;
	f->end = w->iova + (w->len - 1);
	if (f->end < w->iova)
		return false;
	f->first = w->iova >> d->shift;
	f->last = f->end >> d->shift;
	if (f->first < d->hot_first || f->last > d->hot_last ||
	    (t->maps && !mapped_known(t, w->iova, w->len)))
		return false;
	f->d = d;
	f->src = w->source;
	return true;
}

/* A fast-path write's record counts, as on_dma_write keeps them. */
static inline void count_write(const struct fast_write *f, const struct ms_ev_dma_write *w)
{
	struct ms_dirty_source *st = &f->d->st[f->src];

	/* a coalesced record counts the events it stands for, as on_dma_write counts them */
	st->records += run_events(&w->hdr, &w->run, MS_PAYLOAD_LEN(ms_ev_dma_write));
	st->bytes += w->len;
	if ((w->iova | w->len) & (f->d->page_size - 1))
		st->unaligned++;
}

static void on_hot_one(void *ctx, const struct ms_event_hdr *ev)
{
	if (ev->type == MS_EV_DMA_WRITE)
		on_dma_write(ctx, ev);
	else
		on_event(ctx, ev);
}

/*
 * The records of a ring read or a capture chunk.  Consecutive DMA writes
 * that continue each other (same device and source, pages that touch, all
 * on on_dma_write's fast path: a device filling buffer after buffer) fold
 * into one extent whose pages are set once; each still counts as a record.
 * A write that nothing continues costs what on_dma_write's fast path costs
 * (the next record's test is carried over, not done twice).  Anything else
 * takes its own path, in stream order, so the result is the record by
 * record one (test_tracker: batches_fold_writes_and_agree_with_record_by_record;
 * fuzz_tracker compares the two).
 */
static void on_hot(void *ctx, const struct ms_event_hdr *const *evs, size_t n)
{
	struct ms_tracker *t = ctx;
	struct fast_write f = { 0 }, g = { 0 };
	bool have = n && fast_write(t, evs[0], &f);

	for (size_t i = 0; i < n;) {
		const struct ms_ev_dma_write *w = (const void *)evs[i];
		struct ms_ev_dma_write ext;
		uint64_t lo, hi;
		size_t j = i + 1;

		if (!have) {
			on_hot_one(t, evs[i]);
			have = j < n && fast_write(t, evs[j], &f);
			i = j;
			continue;
		}
		count_write(&f, w);
		lo = w->iova;
		hi = f.end;
		for (; j < n && (have = fast_write(t, evs[j], &g)); j++) {
			const struct ms_ev_dma_write *x = (const void *)evs[j];

			if (g.d != f.d || g.src != f.src || g.first > f.last + 1 ||
			    g.last + 1 < f.first)
				break;
			count_write(&g, x);
			f.first = g.first < f.first ? g.first : f.first;
			f.last = g.last > f.last ? g.last : f.last;
			lo = x->iova < lo ? x->iova : lo;
			hi = g.end > hi ? g.end : hi;
		}
		if (j == i + 1) {
			defer_mark(t, f.d, f.src, f.first, f.last, w);
		} else {
			ext.iova = lo;
			ext.len = hi - lo + 1;
			defer_mark(t, f.d, f.src, f.first, f.last, &ext);
		}
		f = g;
		i = j;
	}
}

/* --- life cycle -------------------------------------------------------------------- */

struct ms_tracker *ms_tracker__new(void)
{
	struct ms_tracker *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	ms_dirty_bitmap__init(&t->mapped, MAPPED_PAGE, NULL, 0);
	return t;
}

int ms_tracker__subscribe(struct ms_tracker *t, struct ms_bus *bus)
{
	/* one subscription for every hot type, so a batch's maps and writes stay in order */
	int ret = ms_bus__subscribe_batch(bus, MS_EV_HOT, on_hot, on_hot_one, t);

	if (ret)
		return ret;
	return ms_bus__subscribe(bus,
				 MS_EV_BIT(MS_EV_TRACK_START) | MS_EV_BIT(MS_EV_TRACK_STOP) |
				     MS_EV_BIT(MS_EV_HARVEST) | MS_EV_BIT(MS_EV_LOSS),
				 on_event, t);
}

void ms_tracker__free(struct ms_tracker *t)
{
	if (!t)
		return;
	for (uint32_t i = 0; i < t->nr_dev; i++)
		dev_free(t->dev[i]);
	free(t->dev);
	ms_dirty_bitmap__free(&t->mapped);
	free(t);
}

/* --- export ------------------------------------------------------------------------- */

int ms_tracker__export(struct ms_tracker *t, uint32_t dev, uint64_t iova, uint64_t length,
		       uint64_t page_size, uint64_t *bitmap, size_t nwords, char *err,
		       size_t errlen)
{
	const struct trk_dev *d = dev_find(t, dev);
	int ret;

	drain(t);
	if (!d || !d->tracking) {
		snprintf(err, errlen, "device %u is not tracking dirty pages", dev);
		return -ENOENT;
	}
	/* the dirty set is the union: every source's bits and the widened ones, ORed in */
	ret = ms_dirty_bitmap__export(&d->widened, iova, length, page_size, bitmap, nwords, err,
				      errlen);
	for (int s = 0; !ret && s < MS_SRC__MAX; s++)
		ret = ms_dirty_bitmap__export(&d->src[s], iova, length, page_size, bitmap, nwords,
					      err, errlen);
	return ret;
}

int ms_tracker__read_and_clear(struct ms_tracker *t, struct ms_bus *bus, uint64_t ts_ns,
			       uint32_t dev, uint64_t iova, uint64_t length, uint64_t page_size,
			       uint64_t *bitmap, size_t nwords, char *err, size_t errlen)
{
	struct ms_ev_harvest h = { 0 };
	int ret = ms_tracker__export(t, dev, iova, length, page_size, bitmap, nwords, err, errlen);

	if (ret)
		return ret;
	/* the clear travels as a record, so the capture and every consumer see it */
	MS_EVENT_INIT(&h, MS_EV_HARVEST, ms_ev_harvest, dev, ts_ns);
	h.iova = iova;
	h.len = length;
	h.page_size = page_size;
	ms_bus__publish(bus, &h.hdr);
	return 0;
}

/* --- what the tracker found ------------------------------------------------------------ */

void ms_tracker__keep_session_pages(struct ms_tracker *t)
{
	t->keep_session = true;
}

int ms_tracker__session_pages(struct ms_tracker *t, uint32_t dev, struct ms_dirty_bitmap *out)
{
	const struct trk_dev *d = dev_find(t, dev);
	uint64_t all;

	drain(t);
	if (!d)
		return -ENOENT;
	if (!t->keep_session)
		return -ENODATA;
	all = UINT64_MAX >> d->shift;
	if (ms_dirty_bitmap__or(out, &d->session, 0, all) | window_union(d, 0, all, out))
		return -ENOMEM;
	return 0;
}

/* Pages dirty now (not harvested yet). */
static uint64_t pending_pages(const struct trk_dev *d)
{
	const struct ms_dirty_bitmap *only;
	struct ms_dirty_bitmap u;
	int nonempty;
	uint64_t n;

	only = only_bitmap(d, &nonempty);
	if (nonempty <= 1)
		return only ? count_tracked(d, only, 0, UINT64_MAX >> d->shift) : 0;
	ms_dirty_bitmap__init(&u, d->page_size, NULL, 0);
	window_union(d, 0, UINT64_MAX >> d->shift, &u);
	n = count_tracked(d, &u, 0, UINT64_MAX >> d->shift);
	ms_dirty_bitmap__free(&u);
	return n;
}

/* Distinct pages over the session, at page_size. */
static uint64_t session_count(struct ms_tracker *t, const struct trk_dev *d, uint64_t page_size)
{
	struct ms_dirty_bitmap u;
	uint64_t n;

	ms_dirty_bitmap__init(&u, page_size, NULL, 0);
	ms_tracker__session_pages(t, d->id, &u);
	n = ms_dirty_bitmap__count(&u);
	ms_dirty_bitmap__free(&u);
	return n;
}

int ms_tracker__device_summary(struct ms_tracker *t, uint32_t dev, struct ms_dirty_summary *s)
{
	const struct trk_dev *d = dev_find(t, dev);
	struct ms_dirty_disc open[MS_VIEW__MAX][MS_VIEW__MAX];

	drain(t);
	memset(s, 0, sizeof(*s));
	if (!d)
		return -ENOENT;
	s->tracking = d->tracking;
	s->page_size = d->page_size;
	s->tracked_bytes = d->tracked_bytes;
	s->pending_pages = pending_pages(d);
	s->pages = d->harvested_pages + d->unharvested_at_stop + s->pending_pages;
	if (t->keep_session)
		s->distinct_pages = session_count(t, d, d->page_size);
	s->harvests = d->harvests;
	s->harvested_pages = d->harvested_pages;
	s->unharvested_at_stop = d->unharvested_at_stop;
	for (int i = 0; i <= MS_SRC__MAX; i++) {
		s->records += d->st[i].records;
		s->out_of_range_records += d->st[i].out_of_range_records;
		s->outside_mapped_records += d->st[i].outside_mapped_records;
		if (i < MS_SRC__MAX)
			s->source_pages[i] = d->st[i].pages + count_tracked(d, &d->src[i], 0,
									    UINT64_MAX >> d->shift);
	}
	for (int c = 0; c < MS_WIDEN__MAX; c++) {
		s->widen_events += d->cause[c].events;
		s->widened_pages += d->cause[c].pages;
	}
	unconfirmed(d, open);
	for (int x = 0; x < MS_VIEW__MAX; x++)
		for (int y = 0; y < MS_VIEW__MAX; y++) {
			s->discrepancy_pages += d->disc[x][y].pages;
			s->unconfirmed_pages += open[x][y].pages;
		}
	for (int r = 0; r < MS_REJ__MAX; r++)
		s->rejected += d->rej[r].count;
	s->mem_bytes = ms_dirty_bitmap__mem_bytes(&d->session) + d->nr_ranges * sizeof(*d->ranges);
	for (int i = 0; i < NR_WINDOW_BITMAPS; i++)
		s->mem_bytes += ms_dirty_bitmap__mem_bytes(window_bitmap(t->dev[dev], i));
	s->track_starts = d->track_starts;
	s->track_stops = d->track_stops;
	s->losses_untracked = d->loss_untracked;
	s->nr_ranges = d->nr_ranges;
	return 0;
}

uint32_t ms_tracker__nr_ids(struct ms_tracker *t)
{
	uint32_t n = t->nr_dev;

	while (n && !t->dev[n - 1])
		n--;
	return n;
}

void ms_tracker__totals(struct ms_tracker *t, struct ms_tracker_totals *out)
{
	drain(t);
	out->iommu_maps = t->maps;
	out->iommu_unmaps = t->unmaps;
	out->mapped_bytes = ms_dirty_bitmap__count(&t->mapped) * MAPPED_PAGE;
	out->unattributed_records = t->unattributed;
}

bool ms_tracker__keeps_session_pages(const struct ms_tracker *t)
{
	return t->keep_session;
}

int ms_tracker__range(struct ms_tracker *t, uint32_t dev, uint32_t i, uint64_t *iova,
		      uint64_t *length)
{
	const struct trk_dev *d = dev_find(t, dev);

	drain(t);
	if (!d || i >= d->nr_ranges)
		return -ENOENT;
	*iova = d->ranges[i].iova;
	*length = d->ranges[i].last - d->ranges[i].iova + 1;
	return 0;
}

const struct ms_dirty_source *ms_tracker__source(struct ms_tracker *t, uint32_t dev,
						 unsigned int src)
{
	const struct trk_dev *d = dev_find(t, dev);

	drain(t);
	return d && src <= MS_SRC__MAX ? &d->st[src] : NULL;
}

const struct ms_dirty_examples *ms_tracker__outside(struct ms_tracker *t, uint32_t dev, bool mapped)
{
	const struct trk_dev *d = dev_find(t, dev);

	drain(t);
	if (!d)
		return NULL;
	return mapped ? &d->outside_mapped : &d->out_of_range;
}

const struct ms_dirty_widened *ms_tracker__widened(struct ms_tracker *t, uint32_t dev,
						   unsigned int cause)
{
	const struct trk_dev *d = dev_find(t, dev);

	drain(t);
	return d && cause < MS_WIDEN__MAX ? &d->cause[cause] : NULL;
}

int ms_tracker__discrepancies(struct ms_tracker *t, uint32_t dev,
			      struct ms_dirty_disc confirmed[MS_VIEW__MAX][MS_VIEW__MAX],
			      struct ms_dirty_disc open[MS_VIEW__MAX][MS_VIEW__MAX])
{
	const struct trk_dev *d = dev_find(t, dev);

	drain(t);
	if (!d)
		return -ENOENT;
	memcpy(confirmed, d->disc, sizeof(d->disc));
	unconfirmed(d, open);
	return 0;
}

const struct ms_dirty_reject *ms_tracker__rejects(struct ms_tracker *t, uint32_t dev)
{
	const struct trk_dev *d;

	drain(t);
	if (dev == MS_DEV_NONE)
		return t->rej;
	d = dev_find(t, dev);
	return d ? d->rej : NULL;
}
