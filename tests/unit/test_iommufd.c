// SPDX-License-Identifier: GPL-2.0-only
/*
 * The iommufd source against a fake kernel behind its ioctl seam: the exact
 * ioctls and struct layouts, the records on the stream, and every error path
 * a real kernel will not produce on demand (a failing read, a bitmap set
 * past what was asked, a page size the IOAS refuses).  The fake follows the
 * 6.12 kernel (drivers/iommu/iommufd/selftest.c's mock domain, io_pagetable.c's
 * checks); tests/vm/check_iommufd.sh runs the same source against the real
 * IOMMUFD_TEST mock in the VM lane's 6.12 kernel, and the two must agree.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include <migscope/dirty_bitmap.h>
#include <migscope/iommufd.h>
#include <migscope/iommufd_compat.h>
#include <migscope/session.h>

#include "testutil.h"

#define FD	   33
#define HWPT	   7
#define BASE	   0x1000000ull /* MOCK_APERTURE_START */
#define MAX_DIRTY  64
#define TRACK_PAGE 4096ull

/* The fake: one HWPT whose IOPTEs are iopte bytes, a few of them dirty. */
static struct fake {
	uint64_t iopte;		   /* IOPTE size: the mock's is 2 KiB */
	uint64_t align;		   /* the IOAS's iova alignment */
	int tracking;		   /* the HWPT's dirty tracking */
	uint64_t dirty[MAX_DIRTY]; /* IOVAs of dirty IOPTEs */
	int nr_dirty;
	int set_calls, get_calls;
	uint32_t last_get_flags;
	int fail_set_errno; /* SET_DIRTY_TRACKING fails */
	int fail_get_call;  /* the n-th GET_DIRTY_BITMAP (from 1) fails ... */
	int fail_get_errno; /* ... with this */
	uint64_t fail_iova; /* any GET that covers this IOVA fails (0: none) */
	int overrun;	    /* set a bit past the pages asked for */
	uint64_t fill_bits; /* fill only this many bits of each bitmap (0: all) */
} fk;

static void fake_reset(void)
{
	memset(&fk, 0, sizeof(fk));
	fk.iopte = 2048;
	fk.align = 2048;
}

static void dirty(uint64_t iova)
{
	assert_true(fk.nr_dirty < MAX_DIRTY);
	fk.dirty[fk.nr_dirty++] = iova;
}

static int set_errno(int e)
{
	errno = e;
	return -1;
}

static int fake_set(struct iommu_hwpt_set_dirty_tracking *s)
{
	fk.set_calls++;
	assert_int_equal(s->size, 16);
	assert_int_equal(s->__reserved, 0);
	if (s->hwpt_id != HWPT)
		return set_errno(ENOENT);
	if (s->flags & ~(uint32_t)IOMMU_HWPT_DIRTY_TRACKING_ENABLE)
		return set_errno(EOPNOTSUPP);
	if (fk.fail_set_errno)
		return set_errno(fk.fail_set_errno);
	/* iopt_set_dirty_tracking(): enabling clears what the IOPTEs held */
	if (s->flags && !fk.tracking)
		fk.nr_dirty = 0;
	fk.tracking = !!s->flags;
	return 0;
}

static int fake_get(struct iommu_hwpt_get_dirty_bitmap *g)
{
	uint64_t *bm = (uint64_t *)(uintptr_t)g->data, n;
	int keep = 0;

	fk.get_calls++;
	fk.last_get_flags = g->flags;
	assert_int_equal(g->size, 48);
	assert_int_equal(g->__reserved, 0);
	if (g->hwpt_id != HWPT)
		return set_errno(ENOENT);
	if (g->flags & ~(uint32_t)IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR)
		return set_errno(EOPNOTSUPP);
	/* iommufd_check_iova_range() */
	if (!g->page_size || !g->length || (g->iova | g->length) & (fk.align - 1) ||
	    (g->iova | g->length) & (g->page_size - 1))
		return set_errno(EINVAL);
	/* mock_domain_read_and_clear_dirty(): only while tracking */
	if (!fk.tracking)
		return set_errno(EINVAL);
	if (fk.get_calls == fk.fail_get_call)
		return set_errno(fk.fail_get_errno);
	if (fk.fail_iova && fk.fail_iova >= g->iova && fk.fail_iova - g->iova < g->length)
		return set_errno(EIO);
	n = g->length / g->page_size;
	for (int i = 0; i < fk.nr_dirty; i++) {
		uint64_t a = fk.dirty[i];

		if (a < g->iova || a - g->iova >= g->length) {
			fk.dirty[keep++] = a;
			continue;
		}
		/* iova_bitmap_set(): every bitmap page the IOPTE spans */
		for (uint64_t b = (a - g->iova) / g->page_size;
		     b <= (a + fk.iopte - 1 - g->iova) / g->page_size && b < n &&
		     (!fk.fill_bits || b < fk.fill_bits);
		     b++)
			bm[b / 64] |= 1ull << (b % 64);
		if (g->flags & IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR)
			fk.dirty[keep++] = a;
	}
	fk.nr_dirty = keep;
	if (fk.overrun)
		bm[n / 64] |= 1ull << (n % 64);
	return 0;
}

static int fake_ioctl(int fd, unsigned long req, void *arg)
{
	if (fd != FD)
		return set_errno(EBADF);
	if (req == IOMMU_HWPT_SET_DIRTY_TRACKING)
		return fake_set(arg);
	if (req == IOMMU_HWPT_GET_DIRTY_BITMAP)
		return fake_get(arg);
	return set_errno(ENOTTY);
}

static const struct ms_iommufd_sys fake_sys = { .ioctl = fake_ioctl };

/* A session recording every record, one device, the tracker keeping session pages. */
struct rig {
	struct ms_session *s;
	struct tu_recorder rec;
	uint32_t dev;
	struct ms_iommufd *src;
	char err[320];
};

static void rig_init(struct rig *r)
{
	struct ms_session_opts o = { 0 };

	memset(r, 0, sizeof(*r));
	fake_reset();
	r->s = ms_session__new(&o, r->err, sizeof(r->err));
	assert_non_null(r->s);
	ms_tracker__keep_session_pages(r->s->tracker);
	assert_int_equal(ms_bus__subscribe(&r->s->bus, MS_EV_ALL, tu_recorder__on_event, &r->rec),
			 0);
	r->dev = ms_stream__add_device(&r->s->stream, ms_now_ns(), MS_DEV_KIND_HOST, MS_ROLE_SOURCE,
				       0, MS_DEV_NONE, "iommufd_mock0");
}

static struct ms_iommufd *rig_open(struct rig *r, const struct ms_range *ranges, uint32_t nr,
				   uint64_t page, uint32_t flags)
{
	struct ms_iommufd_opts o = {
		.fd = FD,
		.hwpt_id = HWPT,
		.ranges = ranges,
		.nr_ranges = nr,
		.page_size = page,
		.flags = flags,
		.sys = &fake_sys,
	};

	r->src = ms_iommufd__open(&r->s->stream, r->dev, &o, r->err, sizeof(r->err));
	return r->src;
}

static void rig_free(struct rig *r)
{
	ms_iommufd__close(r->src);
	ms_session__free(r->s);
	tu_recorder__free(&r->rec);
}

/* The device's distinct dirty pages (4 KiB) over the session. */
static uint64_t session_pages(struct rig *r, struct ms_dirty_bitmap *bm)
{
	char err[128];

	assert_int_equal(ms_dirty_bitmap__init(bm, TRACK_PAGE, err, sizeof(err)), 0);
	assert_int_equal(ms_tracker__session_pages(r->s->tracker, r->dev, bm), 0);
	return ms_dirty_bitmap__count(bm);
}

static void assert_write(const struct rig *r, size_t k, uint64_t iova, uint64_t len)
{
	const struct ms_ev_dma_write *w = tu_recorder__nth_dev(&r->rec, MS_EV_DMA_WRITE, r->dev, k);

	assert_int_equal(w->iova, iova);
	assert_int_equal(w->len, len);
	assert_int_equal(w->source, MS_SRC_IOMMUFD);
}

static void assert_loss(const struct rig *r, size_t k, uint64_t iova, uint64_t len)
{
	const struct ms_ev_loss *l = tu_recorder__nth_dev(&r->rec, MS_EV_LOSS, r->dev, k);

	assert_int_equal(l->reason, MS_LOSS_REPORT_ERROR);
	assert_int_equal(l->iova, iova);
	assert_int_equal(l->len, len);
}

/*
 * 2 KiB IOPTEs as the mock has them, read at 2 KiB: runs are coalesced,
 * the tracker gets exactly the 4 KiB pages they touch, a read clears, and
 * stop disables tracking after a last read.
 */
static void test_iommufd_harvest_exact(void **state)
{
	const struct ms_range rg[] = { { BASE, 0x10000 }, { BASE + 0x100000, 0x4000 } };
	const struct ms_ev_track_start *ts;
	const struct ms_ev_source_stats *st;
	struct ms_dirty_bitmap bm;
	struct ms_dirty_summary sum;
	struct rig r;

	rig_init(&r);
	assert_non_null(rig_open(&r, rg, 2, 2048, 0));
	assert_int_equal(ms_iommufd__track_page(r.src), TRACK_PAGE);
	assert_int_equal(ms_iommufd__start(r.src), 0);
	assert_true(fk.tracking);
	ts = tu_recorder__nth_dev(&r.rec, MS_EV_TRACK_START, r.dev, 0);
	assert_int_equal(ts->page_size, TRACK_PAGE);
	assert_int_equal(ts->nr_ranges, 2);
	assert_int_equal(ts->ranges[1].iova, BASE + 0x100000);
	assert_int_equal(ts->ranges[1].len, 0x4000);

	dirty(BASE + 0x800);  /* second half of page 0 */
	dirty(BASE + 0x2000); /* pages 2 and 3, four IOPTEs: one run */
	dirty(BASE + 0x2800);
	dirty(BASE + 0x3000);
	dirty(BASE + 0x3800);
	dirty(BASE + 0xf800);	/* the last IOPTE of range 0 */
	dirty(BASE + 0x100000); /* the first of range 1 */
	dirty(BASE + 0x200000); /* outside every range: never read */
	assert_int_equal(ms_iommufd__harvest(r.src), 4);
	assert_int_equal(tu_recorder__count_dev(&r.rec, MS_EV_DMA_WRITE, r.dev), 4);
	assert_write(&r, 0, BASE + 0x800, 0x800);
	assert_write(&r, 1, BASE + 0x2000, 0x2000);
	assert_write(&r, 2, BASE + 0xf800, 0x800);
	assert_write(&r, 3, BASE + 0x100000, 0x800);
	assert_int_equal(tu_recorder__count_dev(&r.rec, MS_EV_HARVEST, r.dev), 1);
	assert_int_equal(tu_recorder__count_dev(&r.rec, MS_EV_LOSS, r.dev), 0);
	assert_int_equal(fk.last_get_flags, 0); /* read and clear */

	/* cleared: the next read has nothing, and the page outside stays dirty in the fake */
	assert_int_equal(ms_iommufd__harvest(r.src), 0);
	assert_int_equal(fk.nr_dirty, 1);

	assert_int_equal(ms_iommufd__stop(r.src), 0);
	assert_false(fk.tracking);
	assert_int_equal(fk.get_calls, 3 * 2); /* two ranges, three reads (the last at stop) */
	assert_int_equal(tu_recorder__count_dev(&r.rec, MS_EV_TRACK_STOP, r.dev), 1);
	assert_int_equal(ms_tracker__device_summary(r.s->tracker, r.dev, &sum), 0);
	assert_int_equal(sum.harvests, 3);
	assert_int_equal(sum.widened_pages, 0);
	assert_int_equal(sum.out_of_range_records, 0);
	assert_int_equal(session_pages(&r, &bm), 5);
	for (uint64_t p = 0; p < 4; p++)
		assert_int_equal(ms_dirty_bitmap__test(&bm, (BASE >> 12) + p), p != 1);
	assert_true(ms_dirty_bitmap__test(&bm, (BASE + 0xf000) >> 12));
	assert_true(ms_dirty_bitmap__test(&bm, (BASE + 0x100000) >> 12));
	ms_dirty_bitmap__free(&bm);

	ms_iommufd__close(r.src);
	r.src = NULL;
	st = tu_recorder__nth(&r.rec, MS_EV_SOURCE_STATS, 0);
	assert_int_equal(st->source, MS_SOURCE_IOMMUFD);
	assert_int_equal(st->accepted, 4);
	assert_int_equal(st->errors, 0);
	rig_free(&r);
}

/* Tracking that cannot be enabled: an error naming it, nothing published as tracked. */
static void test_iommufd_enable_fails(void **state)
{
	const struct ms_range rg = { BASE, 0x4000 };
	struct rig r;

	rig_init(&r);
	assert_non_null(rig_open(&r, &rg, 1, 4096, 0));
	fk.fail_set_errno = EOPNOTSUPP;
	assert_int_equal(ms_iommufd__start(r.src), -EOPNOTSUPP);
	assert_string_equal(ms_iommufd__err(r.src),
			    "iommufd hwpt 7: failed to enable dirty tracking: Operation not "
			    "supported");
	assert_int_equal(tu_recorder__count_dev(&r.rec, MS_EV_TRACK_START, r.dev), 0);
	assert_int_equal(ms_iommufd__harvest(r.src), -EINVAL);
	assert_int_equal(fk.get_calls, 0);
	rig_free(&r);
	assert_int_equal(fk.set_calls, 1); /* close does not disable what never started */
}

/*
 * A read that fails is a loss over exactly that range: the other range's
 * pages are still published, the harvest still closes the window, and the
 * error names the range and the reason.
 */
static void test_iommufd_read_fails(void **state)
{
	const struct ms_range rg[] = { { BASE, 0x4000 }, { BASE + 0x10000, 0x8000 } };
	struct ms_dirty_summary sum;
	struct ms_dirty_bitmap bm;
	struct rig r;

	rig_init(&r);
	assert_non_null(rig_open(&r, rg, 2, 2048, 0));
	assert_int_equal(ms_iommufd__start(r.src), 0);
	dirty(BASE + 0x1000);
	dirty(BASE + 0x10000);
	fk.fail_get_call = 2;
	fk.fail_get_errno = EFAULT;
	assert_int_equal(ms_iommufd__harvest(r.src), -EFAULT);
	assert_string_equal(ms_iommufd__err(r.src),
			    "iommufd hwpt 7: failed to read the dirty bitmap of 0x1010000+0x8000 "
			    "at 2048-byte pages: Bad address");
	assert_int_equal(tu_recorder__count_dev(&r.rec, MS_EV_DMA_WRITE, r.dev), 1);
	assert_write(&r, 0, BASE + 0x1000, 0x800);
	assert_int_equal(tu_recorder__count_dev(&r.rec, MS_EV_LOSS, r.dev), 1);
	assert_loss(&r, 0, BASE + 0x10000, 0x8000);
	assert_int_equal(tu_recorder__count_dev(&r.rec, MS_EV_HARVEST, r.dev), 1);

	assert_int_equal(ms_tracker__device_summary(r.s->tracker, r.dev, &sum), 0);
	assert_int_equal(sum.widened_pages, 8);
	assert_int_equal(session_pages(&r, &bm), 9); /* page 1 of range 0, all of range 1 */
	ms_dirty_bitmap__free(&bm);
	rig_free(&r);
}

/* Big ranges are read in chunks; a failed chunk widens only that chunk. */
static void test_iommufd_chunk_fails(void **state)
{
	const uint64_t chunk = (1ull << 18) * 4096; /* CHUNK_PAGES at 4 KiB: 1 GiB */
	const struct ms_range rg = { BASE, 2 * chunk + 0x5000 };
	struct rig r;

	rig_init(&r);
	assert_non_null(rig_open(&r, &rg, 1, 4096, 0));
	assert_int_equal(ms_iommufd__start(r.src), 0);
	dirty(BASE);
	dirty(BASE + chunk + 0x3000);
	dirty(BASE + 2 * chunk + 0x4000);
	fk.fail_iova = BASE + chunk + 0x3000;
	assert_int_equal(ms_iommufd__harvest(r.src), -EIO);
	assert_int_equal(fk.get_calls, 3);
	assert_int_equal(tu_recorder__count_dev(&r.rec, MS_EV_DMA_WRITE, r.dev), 2);
	assert_write(&r, 0, BASE, 0x1000);
	assert_write(&r, 1, BASE + 2 * chunk + 0x4000, 0x1000);
	assert_int_equal(tu_recorder__count_dev(&r.rec, MS_EV_LOSS, r.dev), 1);
	assert_loss(&r, 0, BASE + chunk, chunk);
	rig_free(&r);
}

/* A bitmap with a bit set past the pages asked for cannot be trusted: a loss over the read. */
static void test_iommufd_bitmap_overrun(void **state)
{
	const struct ms_range rg = { BASE, 0x3000 }; /* 3 pages: bits 3-63 must stay clear */
	struct rig r;

	rig_init(&r);
	assert_non_null(rig_open(&r, &rg, 1, 4096, 0));
	assert_int_equal(ms_iommufd__start(r.src), 0);
	dirty(BASE + 0x1000);
	fk.overrun = 1;
	assert_int_equal(ms_iommufd__harvest(r.src), -EPROTO);
	assert_string_equal(ms_iommufd__err(r.src),
			    "iommufd hwpt 7: the kernel set bits past the 3 pages of "
			    "0x1000000+0x3000 it was asked for");
	assert_int_equal(tu_recorder__count_dev(&r.rec, MS_EV_DMA_WRITE, r.dev), 0);
	assert_loss(&r, 0, BASE, 0x3000);
	rig_free(&r);
}

/*
 * Page sizes that differ: a bitmap page larger than the IOPTE (the kernel
 * sets the bit of the page holding it), an IOPTE larger than the bitmap page
 * (every bit it spans), and a page size the IOAS refuses (a loss over the
 * range, with the page size in the error).
 */
static void test_iommufd_page_sizes(void **state)
{
	const struct ms_range rg = { BASE, 0x10000 };
	struct ms_dirty_bitmap bm;
	struct rig r;

	/* 2 KiB IOPTEs read at 4 KiB: the kernel converts */
	rig_init(&r);
	assert_non_null(rig_open(&r, &rg, 1, 4096, 0));
	assert_int_equal(ms_iommufd__start(r.src), 0);
	dirty(BASE + 0x800);
	dirty(BASE + 0x3000);
	assert_int_equal(ms_iommufd__harvest(r.src), 2);
	assert_write(&r, 0, BASE, 0x1000);
	assert_write(&r, 1, BASE + 0x3000, 0x1000);
	assert_int_equal(session_pages(&r, &bm), 2);
	ms_dirty_bitmap__free(&bm);
	rig_free(&r);

	/* 8 KiB IOPTEs read at 4 KiB: both pages of a dirty IOPTE */
	rig_init(&r);
	fk.iopte = fk.align = 8192;
	assert_non_null(rig_open(&r, &rg, 1, 4096, 0));
	assert_int_equal(ms_iommufd__start(r.src), 0);
	dirty(BASE + 0x4000);
	assert_int_equal(ms_iommufd__harvest(r.src), 1);
	assert_write(&r, 0, BASE + 0x4000, 0x2000);
	assert_int_equal(session_pages(&r, &bm), 2);
	ms_dirty_bitmap__free(&bm);
	rig_free(&r);

	/* 64 KiB IOAS alignment, a range that ends inside it: EINVAL, all of it widened */
	rig_init(&r);
	fk.align = 0x10000;
	{
		const struct ms_range odd = { BASE, 0x13000 };
		struct ms_dirty_summary sum;

		assert_non_null(rig_open(&r, &odd, 1, 4096, 0));
		assert_int_equal(ms_iommufd__start(r.src), 0);
		dirty(BASE);
		assert_int_equal(ms_iommufd__harvest(r.src), -EINVAL);
		assert_string_equal(ms_iommufd__err(r.src),
				    "iommufd hwpt 7: failed to read the dirty bitmap of "
				    "0x1000000+0x13000 at 4096-byte pages: Invalid argument");
		assert_loss(&r, 0, BASE, 0x13000);
		assert_int_equal(ms_tracker__device_summary(r.s->tracker, r.dev, &sum), 0);
		assert_int_equal(sum.widened_pages, 0x13);
	}
	rig_free(&r);
}

/* Requests refused before any ioctl, each with a line naming what is wrong. */
static void test_iommufd_bad_opts(void **state)
{
	static const struct {
		uint64_t page;
		struct ms_range r[2];
		uint32_t nr;
		int fd;
		const char *err;
	} cases[] = {
		{ 3000, { { BASE, 0x4000 } }, 1, FD, "page size 3000 is not a power of two" },
		{ 256, { { BASE, 0x4000 } }, 1, FD, "page size 256 is not a power of two" },
		{ 2048,
		  { { BASE + 0x800, 0x4000 } },
		  1,
		  FD,
		  "range 0 (0x1000800+0x4000) is empty" },
		{ 2048, { { BASE, 0x3800 } }, 1, FD, "not aligned to the 4096-byte tracker page" },
		{ 0x10000, { { BASE, 0x8000 } }, 1, FD, "not aligned to the 65536-byte tracker" },
		{ 4096, { { BASE, 0 } }, 1, FD, "range 0 (0x1000000+0x0) is empty" },
		{ 4096, { { BASE, 0x4000 }, { BASE + 0x3000, 0x1000 } }, 2, FD, "overlap" },
		{ 4096, { { 0xfffffffffffff000ull, 0x2000 } }, 1, FD, "range 0 wraps past 2^64" },
		{ 4096, { { BASE, 0x4000 } }, 0, FD, "no ranges to track" },
		{ 4096, { { BASE, 0x4000 } }, 1, -1, "no iommufd (fd -1)" },
	};
	struct rig r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ms_iommufd_opts o = {
			.fd = cases[i].fd,
			.hwpt_id = HWPT,
			.ranges = cases[i].r,
			.nr_ranges = cases[i].nr,
			.page_size = cases[i].page,
			.sys = &fake_sys,
		};

		rig_init(&r);
		assert_null(ms_iommufd__open(&r.s->stream, r.dev, &o, r.err, sizeof(r.err)));
		if (!strstr(r.err, cases[i].err))
			fail_msg("case %zu: '%s' lacks '%s'", i, r.err, cases[i].err);
		assert_int_equal(strncmp(r.err, "iommufd hwpt 7: ", 16), 0);
		assert_int_equal(fk.set_calls + fk.get_calls, 0);
		rig_free(&r);
	}
}

/*
 * Observing a HWPT someone else harvests: tracking is never switched (that
 * would clear the owner's bits), reads do not clear, and what the owner has
 * not read yet is reported again.
 */
static void test_iommufd_observe(void **state)
{
	const struct ms_range rg = { BASE, 0x4000 };
	struct rig r;

	rig_init(&r);
	fk.tracking = 1; /* the owner enabled it */
	assert_non_null(rig_open(&r, &rg, 1, 4096, MS_IOMMUFD_OBSERVE));
	assert_int_equal(ms_iommufd__start(r.src), 0);
	dirty(BASE + 0x2000);
	assert_int_equal(ms_iommufd__harvest(r.src), 1);
	assert_int_equal(fk.last_get_flags, IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR);
	assert_int_equal(ms_iommufd__harvest(r.src), 1);
	assert_int_equal(fk.nr_dirty, 1);
	assert_int_equal(ms_iommufd__stop(r.src), 0);
	assert_int_equal(fk.set_calls, 0);
	assert_true(fk.tracking);
	rig_free(&r);
}

/*
 * Rule one under random failures: after every harvest, each page the fake
 * ever dirtied inside the ranges is dirty in the tracker's session set.
 */
static void test_iommufd_never_short(void **state)
{
	const struct ms_range rg[] = { { BASE, 0x20000 }, { BASE + 0x40000, 0x10000 } };
	uint8_t truth[0x30000 / 4096] = { 0 };
	unsigned int seed = 12345;
	struct ms_dirty_bitmap bm;
	struct rig r;

	rig_init(&r);
	assert_non_null(rig_open(&r, rg, 2, 2048, 0));
	assert_int_equal(ms_iommufd__start(r.src), 0);
	for (int round = 0; round < 200; round++) {
		int n = rand_r(&seed) % 8;

		for (int i = 0; i < n && fk.nr_dirty < MAX_DIRTY; i++) {
			uint64_t k = (uint64_t)rand_r(&seed) % (0x30000 / 2048);
			uint64_t iova = k < 0x20000 / 2048 ? BASE + k * 2048
							   : BASE + 0x40000 + (k * 2048 - 0x20000);

			dirty(iova);
			truth[k * 2048 / 4096] = 1;
		}
		fk.fail_get_call =
		    rand_r(&seed) % 4 == 0 ? fk.get_calls + 1 + rand_r(&seed) % 2 : 0;
		fk.fail_get_errno = EIO;
		ms_iommufd__harvest(r.src);
		session_pages(&r, &bm);
		for (uint64_t p = 0; p < sizeof(truth); p++) {
			uint64_t iova = p < 0x20000 / 4096 ? BASE + p * 4096
							   : BASE + 0x40000 + (p * 4096 - 0x20000);

			if (truth[p] && !ms_dirty_bitmap__test(&bm, iova / 4096))
				fail_msg("round %d: page 0x%llx dirtied but not reported", round,
					 (unsigned long long)iova);
		}
		ms_dirty_bitmap__free(&bm);
	}
	rig_free(&r);
}

/* What the iova_bitmap_set fentry publishes for a claimed read: one record per dirty IOPTE. */
static void fentry_record(struct rig *r, uint64_t iova)
{
	struct ms_ev_dma_write w;

	memset(&w, 0, sizeof(w));
	MS_EVENT_INIT(&w, MS_EV_DMA_WRITE, ms_ev_dma_write, r->dev, ms_now_ns());
	w.iova = iova;
	w.len = 2048;
	w.source = MS_SRC_HW_DIRTY;
	w.dir = 2; /* MS_DMA_FROM_DEVICE */
	ms_stream__publish(&r->s->stream, &w.hdr);
}

/* The fentry's records of the reads, published at the end of the reads as a drained ring. */
struct hook_ctx {
	struct rig *r;
	int begins, ends;
	bool late; /* publish them after the harvest instead */
	const uint64_t *pages;
	int nr, skip;
};

static void reads_hook(void *ctx, uint32_t dev, bool end)
{
	struct hook_ctx *h = ctx;

	assert_int_equal(dev, h->r->dev);
	h->begins += !end;
	h->ends += end;
	if (!end || h->late)
		return;
	for (int i = 0; i < h->nr; i++)
		if (i != h->skip)
			fentry_record(h->r, BASE + h->pages[i]);
	h->nr = 0;
}

/*
 * The cross-source check between the source's reads (iommufd) and the
 * kernel's view of them (hw_dirty).  Whether the kernel's records come in
 * the read's window (the hook drains the ring before the harvest) or in the
 * next one (drained after it), the same pages are compared with 0
 * discrepancies: the check keeps the previous window from the first report
 * on.  A page the kernel's view lacks is one discrepancy, missed by
 * hw_dirty.  A kernel that fills fewer bits than it was asked for (and
 * clears them) cannot be told from clean pages by the source alone; the
 * kernel's own view shows the page missed by iommufd.
 */
static void test_iommufd_crosscheck(void **state)
{
	static const uint64_t round[2][3] = { { 0x800, 0x2000, 0x2800 }, { 0x5000, 0x9800 } };
	static const int nr[2] = { 3, 2 };
	const struct ms_range rg = { BASE, 0x10000 };

	for (int mode = 0; mode < 4; mode++) {
		int miss = mode == 1, late = mode == 2, fewer = mode == 3;
		struct hook_ctx h = { .late = late, .skip = -1 };
		struct ms_iommufd_opts o = {
			.fd = FD,
			.hwpt_id = HWPT,
			.ranges = &rg,
			.nr_ranges = 1,
			.page_size = 2048,
			.sys = &fake_sys,
			.reads_hook = reads_hook,
			.hook_ctx = &h,
		};
		struct ms_dirty_summary sum;
		struct json_object *j, *arr;
		int compared = 0;
		struct rig r;

		rig_init(&r);
		fk.fill_bits = fewer ? 0x9800 / 2048 : 0; /* round 1's 0x9800 is left out */
		h.r = &r;
		r.src = ms_iommufd__open(&r.s->stream, r.dev, &o, r.err, sizeof(r.err));
		assert_non_null(r.src);
		assert_int_equal(ms_iommufd__start(r.src), 0);
		for (int k = 0; k < 2; k++) {
			for (int i = 0; i < nr[k]; i++)
				dirty(BASE + round[k][i]);
			h.pages = round[k];
			h.nr = nr[k];
			h.skip = miss && k == 1 ? 1 : -1;
			assert_true(ms_iommufd__harvest(r.src) > 0);
			for (int i = 0; late && i < nr[k]; i++)
				fentry_record(&r, BASE + round[k][i]);
		}
		assert_int_equal(ms_iommufd__stop(r.src), 0);
		assert_int_equal(h.begins, 3);
		assert_int_equal(h.ends, 3);
		assert_int_equal(ms_tracker__device_summary(r.s->tracker, r.dev, &sum), 0);
		assert_int_equal(sum.source_pages[MS_SRC_IOMMUFD], 4 - fewer);
		assert_int_equal(sum.source_pages[MS_SRC_HW_DIRTY], 4 - miss);
		assert_int_equal(sum.discrepancy_pages, miss + fewer);
		assert_int_equal(sum.unconfirmed_pages, 0);

		j = ms_report__dirty_json(r.s->tracker, r.dev, 0);
		arr = tu_json_get(j, "discrepancies");
		assert_non_null(arr);
		for (size_t i = 0; i < json_object_array_length(arr); i++) {
			struct json_object *e = json_object_array_get_idx(arr, i);
			const char *by = json_object_get_string(tu_json_get(e, "reported_by"));
			const char *missed = json_object_get_string(tu_json_get(e, "missed_by"));
			int64_t pages = json_object_get_int64(tu_json_get(e, "pages"));

			compared += !strcmp(by, "iommufd") || !strcmp(missed, "iommufd");
			if (fewer)
				assert_int_equal(pages, !strcmp(missed, "iommufd") ? 1 : 0);
			else
				assert_int_equal(pages,
						 miss && !strcmp(missed, "hw_dirty") ? 1 : 0);
		}
		assert_int_equal(compared, 2);
		json_object_put(j);
		rig_free(&r);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_iommufd_harvest_exact),
		cmocka_unit_test(test_iommufd_enable_fails),
		cmocka_unit_test(test_iommufd_read_fails),
		cmocka_unit_test(test_iommufd_chunk_fails),
		cmocka_unit_test(test_iommufd_bitmap_overrun),
		cmocka_unit_test(test_iommufd_page_sizes),
		cmocka_unit_test(test_iommufd_bad_opts),
		cmocka_unit_test(test_iommufd_observe),
		cmocka_unit_test(test_iommufd_never_short),
		cmocka_unit_test(test_iommufd_crosscheck),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
