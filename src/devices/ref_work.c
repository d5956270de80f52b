// SPDX-License-Identifier: GPL-2.0-only
/* The reference device's DMA write schedule (see ref_work.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <migscope/stream.h>

#include "ref_work.h"

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int ms_ref_work__init(struct ms_ref_work *w, const struct ms_ref_params *p, uint64_t seed,
		      struct ms_ref_stats *stats)
{
	memset(w, 0, sizeof(*w));
	ms_rand__seed(&w->rng, seed);
	w->rate = p->dirty;
	w->ws_pages = p->ws / MS_REF_PAGE;
	w->avg_pages = p->wsize / MS_REF_PAGE ? p->wsize / MS_REF_PAGE : 1;
	w->iova = p->iova;
	w->next_ns = UINT64_MAX;
	w->stats = stats;
	if (p->hide && w->ws_pages) {
		uint64_t stride = w->ws_pages / p->hide;

		w->hidden = calloc(p->hide, sizeof(*w->hidden));
		if (!w->hidden)
			return -ENOMEM;
		/* one page in each of hide equal slices of the working set: distinct, spread */
		for (uint32_t i = 0; i < p->hide; i++)
			w->hidden[i] = i * stride + ms_rand__below(&w->rng, stride);
		qsort(w->hidden, p->hide, sizeof(*w->hidden), cmp_u64);
		w->nr_hidden = p->hide;
	}
	return 0;
}

void ms_ref_work__free(struct ms_ref_work *w)
{
	free(w->hidden);
	w->hidden = NULL;
}

/* Choose the next write and when it completes, after 'from'. */
static void schedule(struct ms_ref_work *w, uint64_t from)
{
	uint64_t pages, page;

	if (w->hidden_done < w->nr_hidden) {
		page = w->hidden[w->hidden_done++];
		pages = 1;
	} else {
		pages = 1 + ms_rand__below(&w->rng, 2 * w->avg_pages - 1);
		if (ms_rand__below(&w->rng, 100) < 85) {
			page = w->cursor;
			w->cursor = (w->cursor + pages) % w->ws_pages;
		} else {
			page = ms_rand__below(&w->rng, w->ws_pages);
		}
		if (page + pages > w->ws_pages)
			pages = w->ws_pages - page;
	}
	w->next_page = page;
	w->next_pages = pages;
	w->next_ns = from + ms_transfer_ns(pages * MS_REF_PAGE, w->rate);
}

void ms_ref_work__start(struct ms_ref_work *w, uint64_t now)
{
	if (!w->rate || !w->ws_pages) {
		w->next_ns = UINT64_MAX;
		return;
	}
	schedule(w, now);
}

void ms_ref_work__stop(struct ms_ref_work *w)
{
	w->next_ns = UINT64_MAX;
}

static int is_hidden(const struct ms_ref_work *w, uint64_t page)
{
	return w->nr_hidden &&
	       bsearch(&page, w->hidden, w->nr_hidden, sizeof(*w->hidden), cmp_u64) != NULL;
}

static void publish_run(struct ms_device *d, uint64_t ts, uint64_t iova, uint64_t len)
{
	struct ms_ev_dma_write ev;

	if (!d->s)
		return;
	memset(&ev, 0, sizeof(ev));
	MS_EVENT_INIT(&ev, MS_EV_DMA_WRITE, ms_ev_dma_write, d->id, ts);
	ev.iova = iova;
	ev.len = len;
	ev.source = MS_SRC_DMA_UNMAP;
	ev.dir = 2; /* DMA_FROM_DEVICE: the device wrote guest memory */
	ms_stream__publish(d->s, &ev.hdr);
}

void ms_ref_work__take(struct ms_ref_work *w, struct ms_device *d, uint64_t *ts, uint64_t *page,
		       uint64_t *pages)
{
	uint64_t run = 0;

	*ts = w->next_ns;
	*page = w->next_page;
	*pages = w->next_pages;
	w->stats->dma_writes++;
	w->stats->dma_bytes += *pages * MS_REF_PAGE;
	/* the visible runs between hidden pages become records */
	for (uint64_t i = 0; i < *pages; i++) {
		if (!is_hidden(w, *page + i)) {
			run++;
			continue;
		}
		w->stats->hidden_writes++;
		if (run)
			publish_run(d, *ts, w->iova + (*page + i - run) * MS_REF_PAGE,
				    run * MS_REF_PAGE);
		run = 0;
	}
	if (run)
		publish_run(d, *ts, w->iova + (*page + *pages - run) * MS_REF_PAGE,
			    run * MS_REF_PAGE);
	schedule(w, *ts);
}

uint64_t ms_ref_work__skip(struct ms_ref_work *w)
{
	uint64_t ts = w->next_ns;

	schedule(w, ts);
	return ts;
}
