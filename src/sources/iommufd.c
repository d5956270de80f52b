// SPDX-License-Identifier: GPL-2.0-only
/*
 * The iommufd source (include/migscope/iommufd.h): a HWPT's IOMMU dirty bits,
 * read through IOMMU_HWPT_GET_DIRTY_BITMAP, as records on the stream.
 *
 * Rule one decides every error path: once tracking started, a read that
 * failed, or a bitmap the kernel filled wrongly, is a loss over exactly what
 * that read covered.  The kernel's dirty state is unknown afterwards ("the
 * userspace must restart", says the uAPI), so the next harvest still reads,
 * and the loss already covers what a cleared-but-unreported bit could hide.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include <migscope/bitmap_runs.h>
#include <migscope/iommufd.h>
#include <migscope/iommufd_compat.h>
#include <migscope/stream.h>

/* Pages per GET_DIRTY_BITMAP: a 32 KiB bitmap, 1 GiB at 4 KiB pages. */
#define CHUNK_PAGES (1ull << 18)
#define CHUNK_WORDS (CHUNK_PAGES / 64)
/* The tracker's smallest page (DMA logging's floor). */
#define TRACK_PAGE_MIN 4096ull
#define ERR_LEN	       320

struct ms_iommufd {
	struct ms_stream *s;
	const struct ms_iommufd_sys *sys;
	uint32_t dev;
	int fd;
	uint32_t hwpt;
	uint32_t flags;
	uint64_t page;	     /* the bitmap's page */
	uint64_t track_page; /* the tracker's: max(page, 4 KiB) */
	struct ms_range *r;
	uint32_t nr;
	bool tracking;
	/* CHUNK_WORDS words and one guard word the kernel must not touch */
	uint64_t *bm;
	uint64_t runs, errors;
	void (*hook)(void *ctx, uint32_t dev, bool end);
	void *hook_ctx;
	char err[ERR_LEN];
};

static int real_ioctl(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg);
}

const struct ms_iommufd_sys ms_iommufd_sys_real = {
	.ioctl = real_ioctl,
};

static int fail(struct ms_iommufd *src, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* "iommufd hwpt N: message" into src->err; returns err (negative errno). */
static int fail(struct ms_iommufd *src, int err, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(src->err, sizeof(src->err), "iommufd hwpt %u: ", src->hwpt);

	if (n < 0 || (size_t)n >= sizeof(src->err))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(src->err + n, sizeof(src->err) - (size_t)n, fmt, ap);
	va_end(ap);
	return err < 0 ? err : -EIO;
}

static bool pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

static int cmp_range(const void *a, const void *b)
{
	const struct ms_range *x = a, *y = b;

	return x->iova < y->iova ? -1 : x->iova > y->iova;
}

/* The request, checked as the tracker checks TRACK_START, before any ioctl. */
static int check_opts(struct ms_iommufd *src, const struct ms_iommufd_opts *o)
{
	uint64_t a = src->track_page;

	if (o->fd < 0)
		return fail(src, -EBADF, "no iommufd (fd %d)", o->fd);
	if (!pow2(o->page_size) || o->page_size < 512 || o->page_size > (1ull << 30))
		return fail(src, -EINVAL,
			    "page size %" PRIu64 " is not a power of two from 512 B to 1 GiB",
			    (uint64_t)o->page_size);
	if (!o->nr_ranges || !o->ranges)
		return fail(src, -EINVAL, "no ranges to track");
	if (o->nr_ranges > MS_IOMMUFD_MAX_RANGES)
		return fail(src, -E2BIG, "%u ranges, at most %u", o->nr_ranges,
			    MS_IOMMUFD_MAX_RANGES);
	for (uint32_t i = 0; i < o->nr_ranges; i++) {
		const struct ms_range *r = &o->ranges[i];

		if (!r->len || (r->iova | r->len) & (a - 1))
			return fail(src, -EINVAL,
				    "range %u (0x%" PRIx64 "+0x%" PRIx64
				    ") is empty or not aligned to the %" PRIu64
				    "-byte tracker page",
				    i, (uint64_t)r->iova, (uint64_t)r->len, a);
		if (r->iova + r->len < r->iova)
			return fail(src, -EOVERFLOW, "range %u wraps past 2^64", i);
	}
	memcpy(src->r, o->ranges, o->nr_ranges * sizeof(*src->r));
	qsort(src->r, o->nr_ranges, sizeof(*src->r), cmp_range);
	for (uint32_t i = 1; i < o->nr_ranges; i++)
		if (src->r[i].iova < src->r[i - 1].iova + src->r[i - 1].len)
			return fail(src, -EINVAL,
				    "ranges at 0x%" PRIx64 " and 0x%" PRIx64 " overlap",
				    (uint64_t)src->r[i - 1].iova, (uint64_t)src->r[i].iova);
	return 0;
}

struct ms_iommufd *ms_iommufd__open(struct ms_stream *s, uint32_t dev,
				    const struct ms_iommufd_opts *o, char *err, size_t errlen)
{
	struct ms_iommufd *src = calloc(1, sizeof(*src));

	if (!src) {
		snprintf(err, errlen, "iommufd: failed to allocate the source: %s",
			 strerror(ENOMEM));
		return NULL;
	}
	src->s = s;
	src->sys = o->sys ? o->sys : &ms_iommufd_sys_real;
	src->dev = dev;
	src->fd = o->fd;
	src->hwpt = o->hwpt_id;
	src->flags = o->flags;
	src->hook = o->reads_hook;
	src->hook_ctx = o->hook_ctx;
	src->page = o->page_size;
	src->track_page = o->page_size > TRACK_PAGE_MIN ? o->page_size : TRACK_PAGE_MIN;
	src->r = calloc(o->nr_ranges ? o->nr_ranges : 1, sizeof(*src->r));
	src->bm = calloc(CHUNK_WORDS + 1, sizeof(*src->bm));
	if (!src->r || !src->bm) {
		snprintf(err, errlen, "iommufd: failed to allocate the source: %s",
			 strerror(ENOMEM));
		goto fail;
	}
	if (check_opts(src, o)) {
		snprintf(err, errlen, "%s", src->err);
		goto fail;
	}
	src->nr = o->nr_ranges;
	return src;
fail:
	free(src->r);
	free(src->bm);
	free(src);
	return NULL;
}

static int set_tracking(struct ms_iommufd *src, bool on)
{
	struct iommu_hwpt_set_dirty_tracking set = {
		.size = sizeof(set),
		.flags = on ? IOMMU_HWPT_DIRTY_TRACKING_ENABLE : 0,
		.hwpt_id = src->hwpt,
	};

	if (src->sys->ioctl(src->fd, IOMMU_HWPT_SET_DIRTY_TRACKING, &set) < 0)
		return fail(src, -errno, "failed to %s dirty tracking: %s",
			    on ? "enable" : "disable", strerror(errno));
	return 0;
}

int ms_iommufd__start(struct ms_iommufd *src)
{
	_Alignas(struct ms_ev_track_start) unsigned char
	    buf[sizeof(struct ms_ev_track_start) + MS_IOMMUFD_MAX_RANGES * sizeof(struct ms_range)];
	struct ms_ev_track_start *ev = (void *)buf;
	int err;

	if (src->tracking)
		return fail(src, -EBUSY, "tracking already started");
	/* enabling clears the HWPT's dirty bits: an observer leaves them to their owner */
	if (!(src->flags & MS_IOMMUFD_OBSERVE)) {
		err = set_tracking(src, true);
		if (err)
			return err;
	}
	src->tracking = true;
	memset(buf, 0, sizeof(buf));
	MS_EVENT_INIT(ev, MS_EV_TRACK_START, ms_ev_track_start, src->dev, ms_now_ns());
	ev->hdr.len = (uint16_t)(ev->hdr.len + src->nr * sizeof(struct ms_range));
	ev->page_size = src->track_page;
	ev->nr_ranges = src->nr;
	memcpy(ev->ranges, src->r, src->nr * sizeof(struct ms_range));
	ms_stream__publish(src->s, &ev->hdr);
	return 0;
}

static void publish_loss(struct ms_iommufd *src, uint64_t iova, uint64_t len, uint64_t ts)
{
	struct ms_ev_loss l;

	memset(&l, 0, sizeof(l));
	MS_EVENT_INIT(&l, MS_EV_LOSS, ms_ev_loss, src->dev, ts);
	l.reason = MS_LOSS_REPORT_ERROR;
	l.iova = iova;
	l.len = len;
	ms_stream__publish(src->s, &l.hdr);
}

static void publish_run(struct ms_iommufd *src, uint64_t iova, uint64_t len, uint64_t ts)
{
	struct ms_ev_dma_write w;

	memset(&w, 0, sizeof(w));
	MS_EVENT_INIT(&w, MS_EV_DMA_WRITE, ms_ev_dma_write, src->dev, ts);
	w.iova = iova;
	w.len = len;
	w.source = MS_SRC_IOMMUFD;
	ms_stream__publish(src->s, &w.hdr);
	src->runs++;
}

/* One harvest's runs go out at its time stamp. */
struct run_ctx {
	struct ms_iommufd *src;
	uint64_t ts;
};

static void on_run(void *ctx, uint64_t iova, uint64_t len)
{
	struct run_ctx *r = ctx;

	publish_run(r->src, iova, len, r->ts);
}

/*
 * One GET_DIRTY_BITMAP over n pages at iova into src->bm.  The kernel only
 * sets bits, so the bitmap starts clear; a bit past the n asked for (in the
 * last word or the guard word) means the kernel and we disagree on the
 * layout, and then no bit of this read can be trusted.
 */
static int read_chunk(struct ms_iommufd *src, uint64_t iova, uint64_t n)
{
	uint64_t words = (n + 63) / 64, tail;
	struct iommu_hwpt_get_dirty_bitmap get = {
		.size = sizeof(get),
		.hwpt_id = src->hwpt,
		.flags = src->flags & MS_IOMMUFD_OBSERVE ? IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR : 0,
		.iova = iova,
		.length = n * src->page,
		.page_size = src->page,
		.data = (uintptr_t)src->bm,
	};

	memset(src->bm, 0, (words + 1) * sizeof(*src->bm));
	if (src->sys->ioctl(src->fd, IOMMU_HWPT_GET_DIRTY_BITMAP, &get) < 0)
		return fail(src, -errno,
			    "failed to read the dirty bitmap of 0x%" PRIx64 "+0x%" PRIx64
			    " at %" PRIu64 "-byte pages: %s",
			    iova, n * src->page, src->page, strerror(errno));
	tail = n % 64 ? src->bm[words - 1] >> (n % 64) : 0;
	if (tail || src->bm[words])
		return fail(src, -EPROTO,
			    "the kernel set bits past the %" PRIu64 " pages of 0x%" PRIx64
			    "+0x%" PRIx64 " it was asked for",
			    n, iova, n * src->page);
	return 0;
}

int ms_iommufd__harvest(struct ms_iommufd *src)
{
	uint64_t ts = ms_now_ns(), runs = src->runs;
	char first_err[ERR_LEN] = "";
	int first = 0;

	if (!src->tracking)
		return fail(src, -EINVAL, "harvest: tracking was not started");
	if (src->hook)
		src->hook(src->hook_ctx, src->dev, false);
	for (uint32_t i = 0; i < src->nr; i++) {
		uint64_t pages = src->r[i].len / src->page;

		for (uint64_t done = 0; done < pages; done += CHUNK_PAGES) {
			uint64_t n = pages - done < CHUNK_PAGES ? pages - done : CHUNK_PAGES;
			uint64_t iova = src->r[i].iova + done * src->page;
			int err = read_chunk(src, iova, n);

			if (!err) {
				ms_bitmap_runs(src->bm, n, iova, src->page, on_run,
					       &(struct run_ctx){ src, ts });
				continue;
			}
			/* what this read covered is unknown: all of it counts as dirty */
			publish_loss(src, iova, n * src->page, ts);
			src->errors++;
			if (!first) {
				first = err;
				memcpy(first_err, src->err, sizeof(first_err));
			}
		}
	}
	if (src->hook)
		src->hook(src->hook_ctx, src->dev, true);
	{
		struct ms_ev_harvest h;

		memset(&h, 0, sizeof(h));
		/* the window closes now, after whatever the hook published */
		MS_EVENT_INIT(&h, MS_EV_HARVEST, ms_ev_harvest, src->dev, ms_now_ns());
		h.page_size = src->track_page;
		ms_stream__publish(src->s, &h.hdr);
	}
	if (first) {
		memcpy(src->err, first_err, sizeof(src->err));
		return first;
	}
	return (int)(src->runs - runs < INT32_MAX ? src->runs - runs : INT32_MAX);
}

int ms_iommufd__stop(struct ms_iommufd *src)
{
	struct ms_event_hdr ev = { .type = MS_EV_TRACK_STOP, .dev = src->dev };
	int err, ret;

	if (!src->tracking)
		return 0;
	/* what was dirtied since the last harvest goes on the stream before the stop */
	ret = ms_iommufd__harvest(src);
	err = ret < 0 ? ret : 0;
	if (!(src->flags & MS_IOMMUFD_OBSERVE)) {
		char saved[ERR_LEN];
		int e;

		memcpy(saved, src->err, sizeof(saved));
		e = set_tracking(src, false);
		if (!err)
			err = e;
		else
			memcpy(src->err, saved, sizeof(saved)); /* the first error is the one */
	}
	src->tracking = false;
	ev.ts_ns = ms_now_ns();
	ms_stream__publish(src->s, &ev);
	return err;
}

uint64_t ms_iommufd__track_page(const struct ms_iommufd *src)
{
	return src->track_page;
}

const char *ms_iommufd__err(const struct ms_iommufd *src)
{
	return src->err;
}

void ms_iommufd__close(struct ms_iommufd *src)
{
	struct ms_ev_source_stats st;

	if (!src)
		return;
	ms_iommufd__stop(src);
	memset(&st, 0, sizeof(st));
	MS_EVENT_INIT(&st, MS_EV_SOURCE_STATS, ms_ev_source_stats, MS_DEV_NONE, ms_now_ns());
	st.source = MS_SOURCE_IOMMUFD;
	st.accepted = src->runs;
	st.errors = src->errors;
	ms_stream__publish(src->s, &st.hdr);
	free(src->r);
	free(src->bm);
	free(src);
}
