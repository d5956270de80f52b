// SPDX-License-Identifier: GPL-2.0-only
/* The reference device, VFIO face: workload math, determinism, the data stream, REINIT, DMA
 * logging. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <migscope/devspec.h>
#include <migscope/ref.h>
#include <migscope/vfio_fsm.h>

#include "devtest.h"

#define MB  (1ull << 20)
#define MS  1000000ull
#define REC 4120ull /* one page record: 24-byte header + 4 KiB */
#define REC_END 24ull /* the end record */

static uint64_t now(struct dt_rig *r)
{
	return ms_clock__now(&r->clock);
}

/* Sum of DMA-unmap record lengths of dev, checking each lies in the working set. */
static uint64_t unmap_bytes(struct dt_rig *r, uint32_t dev, uint64_t iova, uint64_t ws,
			    uint64_t *last_ts)
{
	const struct ms_event_hdr *h;
	size_t off = 0;
	uint64_t sum = 0, ts = 0;

	while ((h = tu_recorder__next(&r->rec, &off))) {
		const struct ms_ev_dma_write *w = (const void *)h;

		if (h->type != MS_EV_DMA_WRITE || h->dev != dev || w->source != MS_SRC_DMA_UNMAP)
			continue;
		assert_true(w->iova >= iova && w->iova + w->len <= iova + ws);
		assert_true(w->len % 4096 == 0 && w->len > 0);
		assert_true(h->ts_ns >= ts); /* in time order */
		ts = h->ts_ns;
		sum += w->len;
	}
	if (last_ts)
		*last_ts = ts;
	return sum;
}

static void dma_writes_follow_the_rate_within_the_working_set(void **state)
{
	struct dt_rig r;
	struct ms_device *d;
	uint64_t sum, last, t0;

	dt_rig__init(&r);
	d = dt_rig__ref(&r, "ref:state=1M,dirty=8M/s,ws=64M,wsize=32K,iova=0x40000000",
			MS_ROLE_SOURCE);
	t0 = now(&r);
	ms_devs__pump(r.devs, r.n, t0); /* starts the workload at t0 */
	ms_clock__advance(&r.clock, 1000 * MS);
	sum = unmap_bytes(&r, d->id, 0x40000000, 64 * MB, &last);
	/* the bytes written by t are rate * (t - start), to within one write (< 2 * wsize) */
	assert_true(sum <= 8 * MB);
	assert_true(sum > 8 * MB - 64 * 1024);
	assert_true(last <= now(&r));
	dt_rig__free(&r);
}

static void same_seed_gives_the_same_stream_and_another_seed_does_not(void **state)
{
	struct tu_recorder recs[3];
	const char *specs[3] = { "ref:seed=7,state=2M,dirty=32M/s,ws=8M",
				 "ref:seed=7,state=2M,dirty=32M/s,ws=8M",
				 "ref:seed=8,state=2M,dirty=32M/s,ws=8M" };

	for (int k = 0; k < 3; k++) {
		struct dt_rig r;
		struct ms_device *d;
		unsigned char *buf;
		int eof;

		dt_rig__init(&r);
		d = dt_rig__ref(&r, specs[k], MS_ROLE_SOURCE);
		assert_int_equal(ms_dev__goto(d, VFIO_DEVICE_STATE_PRE_COPY), 0);
		ms_clock__advance(&r.clock, 50 * MS);
		free(buf = NULL);
		dt_drain(d, &buf, &eof);
		free(buf);
		ms_clock__advance(&r.clock, 50 * MS);
		assert_int_equal(ms_dev__goto(d, VFIO_DEVICE_STATE_STOP_COPY), 0);
		dt_drain(d, &buf, &eof);
		assert_true(eof);
		free(buf);
		recs[k] = r.rec;
		memset(&r.rec, 0, sizeof(r.rec));
		dt_rig__free(&r);
	}
	assert_true(recs[0].count > 100);
	assert_int_equal(recs[0].len, recs[1].len);
	assert_memory_equal(recs[0].buf, recs[1].buf, recs[0].len);
	assert_true(recs[0].len != recs[2].len || memcmp(recs[0].buf, recs[2].buf, recs[0].len));
	for (int k = 0; k < 3; k++)
		tu_recorder__free(&recs[k]);
}

static void initial_bytes_drain_by_exactly_what_is_read_then_enomsg(void **state)
{
	struct dt_rig r;
	struct ms_device *d;
	struct ms_precopy_info pi;
	unsigned char buf[10000];
	uint64_t sc;

	dt_rig__init(&r);
	d = dt_rig__ref(&r, "ref:state=64K,dirty=0", MS_ROLE_SOURCE);
	assert_int_equal(ms_dev__goto(d, VFIO_DEVICE_STATE_PRE_COPY), 0);
	assert_int_equal(ms_dev__precopy_info(d, &pi), 0);
	assert_int_equal(pi.initial_bytes, 16 * REC);
	assert_int_equal(pi.dirty_bytes, 0);
	assert_int_equal(ms_dev__read(d, buf, 5000), 5000);
	assert_int_equal(ms_dev__precopy_info(d, &pi), 0);
	assert_int_equal(pi.initial_bytes, 16 * REC - 5000);
	while (ms_dev__read(d, buf, sizeof(buf)) > 0)
		;
	assert_int_equal(ms_dev__read(d, buf, sizeof(buf)), -ENOMSG);
	assert_int_equal(ms_dev__precopy_info(d, &pi), 0);
	assert_int_equal(pi.initial_bytes, 0);
	assert_int_equal(pi.dirty_bytes, 0);
	/* all sent, nothing dirty: stop-copy is just the end record */
	assert_int_equal(ms_dev__stopcopy_size(d, &sc), 0);
	assert_int_equal(sc, 24);
	/* MS_EV_PRECOPY at every query */
	assert_int_equal(tu_recorder__count_dev(&r.rec, MS_EV_PRECOPY, d->id), 3);
	dt_rig__free(&r);
}

static void writes_to_sent_pages_become_dirty_bytes(void **state)
{
	struct dt_rig r;
	struct ms_device *d;
	struct ms_precopy_info pi;
	unsigned char *buf;
	int eof;

	dt_rig__init(&r);
	/* ws == state: guest page q dirties state page q */
	d = dt_rig__ref(&r, "ref:state=1M,ws=1M,dirty=4M/s,wsize=4K", MS_ROLE_SOURCE);
	assert_int_equal(ms_dev__goto(d, VFIO_DEVICE_STATE_PRE_COPY), 0);
	free(buf = NULL);
	dt_drain(d, &buf, &eof);
	free(buf);
	assert_int_equal(ms_dev__precopy_info(d, &pi), 0);
	assert_int_equal(pi.initial_bytes, 0);
	ms_clock__advance(&r.clock, 10 * MS); /* ~40 KiB written: ~10 pages */
	assert_int_equal(ms_dev__precopy_info(d, &pi), 0);
	assert_true(pi.dirty_bytes >= 5 * REC && pi.dirty_bytes <= 11 * REC);
	assert_int_equal(pi.dirty_bytes % REC, 0);
	dt_rig__free(&r);
}

static void stop_copy_size_is_what_stop_copy_delivers(void **state)
{
	struct dt_rig r;
	struct ms_device *d;
	unsigned char *buf;
	uint64_t sc;
	size_t n;
	int eof;

	dt_rig__init(&r);
	d = dt_rig__ref(&r, "ref:state=2M,init=1M,dirty=16M/s,ws=4M", MS_ROLE_SOURCE);
	assert_int_equal(ms_dev__goto(d, VFIO_DEVICE_STATE_PRE_COPY), 0);
	n = dt_drain(d, &buf, &eof);
	free(buf);
	assert_true(n >= 256 * REC); /* the 1M of initial data */
	ms_clock__advance(&r.clock, 20 * MS);
	assert_int_equal(ms_dev__goto(d, VFIO_DEVICE_STATE_STOP_COPY), 0);
	assert_int_equal(ms_dev__stopcopy_size(d, &sc), 0);
	n = dt_drain(d, &buf, &eof);
	free(buf);
	assert_true(eof);
	assert_int_equal(n, sc);
	/* the 1M that was never pre-copied is in there */
	assert_true(sc >= 256 * REC + 24);
	dt_rig__free(&r);
}

static uint64_t stopcopy(struct ms_device *d)
{
	uint64_t sc;

	assert_int_equal(ms_dev__stopcopy_size(d, &sc), 0);
	return sc;
}

/* Read everything pre-copy has for now. */
static void drain(struct ms_device *d)
{
	unsigned char *all;
	int eof;

	dt_drain(d, &all, &eof);
	free(all);
}

/*
 * MIG_DATA_SIZE is everything left to move (what QEMU takes as the exact
 * pending): pre-copy reads shrink it byte for byte, the state that is not
 * initial data stays in it until STOP_COPY moves it.
 */
static void precopy_reads_shrink_the_stop_copy_size_by_exactly_what_they_read(void **state)
{
	struct dt_rig r;
	struct ms_device *d;
	struct ms_precopy_info pi;
	unsigned char buf[5000];

	dt_rig__init(&r);
	d = dt_rig__ref(&r, "ref:state=1M,init=512K,dirty=0", MS_ROLE_SOURCE);
	assert_int_equal(stopcopy(d), 256 * REC + 24); /* not saving: the whole state */
	assert_int_equal(ms_dev__goto(d, VFIO_DEVICE_STATE_PRE_COPY), 0);
	assert_int_equal(stopcopy(d), 256 * REC + 24);
	assert_int_equal(ms_dev__read(d, buf, sizeof(buf)), sizeof(buf));
	assert_int_equal(stopcopy(d), 256 * REC + 24 - sizeof(buf));
	drain(d);
	assert_int_equal(ms_dev__precopy_info(d, &pi), 0);
	assert_int_equal(pi.initial_bytes + pi.dirty_bytes, 0);
	/* pre-copy has nothing more to give; the other 512K only moves in STOP_COPY */
	assert_int_equal(stopcopy(d), 128 * REC + 24);
	dt_rig__free(&r);
}

static void stop_copy_size_is_unsent_state_plus_pages_dirtied_after_they_were_sent(void **state)
{
	struct dt_rig r;
	struct ms_device *d;
	struct ms_precopy_info pi;

	dt_rig__init(&r);
	/* ws == state: the writes land on sent (initial) and unsent pages alike */
	d = dt_rig__ref(&r, "ref:state=1M,init=512K,ws=1M,dirty=8M/s,wsize=4K", MS_ROLE_SOURCE);
	assert_int_equal(ms_dev__goto(d, VFIO_DEVICE_STATE_PRE_COPY), 0);
	drain(d);
	ms_clock__advance(&r.clock, 20 * MS); /* ~160 KiB of writes: ~40 pages */
	assert_int_equal(ms_dev__precopy_info(d, &pi), 0);
	assert_int_equal(pi.initial_bytes, 0);
	assert_true(pi.dirty_bytes >= 5 * REC);
	/* a write to a page not yet sent adds nothing: it is in the unsent 512K already */
	assert_int_equal(stopcopy(d), 128 * REC + pi.dirty_bytes + 24);
	dt_rig__free(&r);
}

static void a_reinit_makes_sent_state_unsent_again_and_the_stop_copy_size_grows(void **state)
{
	struct dt_rig r;
	struct ms_device *d;
	struct ms_precopy_info pi;

	dt_rig__init(&r);
	d = dt_rig__ref(&r, "ref:state=1M,dirty=0,reinit=1,rsize=256K,rgap=0", MS_ROLE_SOURCE);
	assert_int_equal(ms_dev__goto(d, VFIO_DEVICE_STATE_PRE_COPY), 0);
	drain(d);
	assert_int_equal(stopcopy(d), 24); /* everything sent: only the end record is left */
	assert_int_equal(ms_dev__precopy_info(d, &pi), 0);
	assert_int_equal(pi.flags, MS_PRECOPY_REINIT);
	assert_int_equal(pi.initial_bytes, 64 * REC);
	/* the re-initialised 256K must move again, in pre-copy or in STOP_COPY */
	assert_int_equal(stopcopy(d), 64 * REC + 24);
	drain(d);
	assert_int_equal(stopcopy(d), 24);
	dt_rig__free(&r);
}

/* Save src completely and load it into dst; returns the load's error. */
static int transfer(struct dt_rig *r, struct ms_device *src, struct ms_device *dst, size_t cut)
{
	unsigned char *a, *b;
	size_t na, nb;
	int eof, err;

	assert_int_equal(ms_dev__goto(dst, VFIO_DEVICE_STATE_RESUMING), 0);
	assert_int_equal(ms_dev__goto(src, VFIO_DEVICE_STATE_PRE_COPY), 0);
	na = dt_drain(src, &a, &eof);
	ms_clock__advance(&r->clock, 30 * MS);
	assert_int_equal(ms_dev__goto(src, VFIO_DEVICE_STATE_STOP_COPY), 0);
	nb = dt_drain(src, &b, &eof);
	assert_true(eof);
	err = ms_dev__write_all(dst, a, na);
	if (!err)
		err = ms_dev__write_all(dst, b, nb - cut);
	free(a);
	free(b);
	if (err)
		return err;
	return ms_dev__goto(dst, VFIO_DEVICE_STATE_STOP);
}

static void saved_state_loads_intact_with_equal_digests(void **state)
{
	struct dt_rig r;
	struct ms_device *s, *d;
	uint32_t a, b;

	dt_rig__init(&r);
	s = dt_rig__ref(&r, "ref:seed=3,state=1M,dirty=32M/s,ws=2M", MS_ROLE_SOURCE);
	d = dt_rig__ref(&r, "ref:seed=4,state=1M", MS_ROLE_DEST);
	assert_int_equal(transfer(&r, s, d, 0), 0);
	assert_int_equal(s->ops->state_digest(s, &a), 0);
	assert_int_equal(d->ops->state_digest(d, &b), 0);
	assert_int_equal(a, b);
	assert_int_equal(ms_dev__goto(d, VFIO_DEVICE_STATE_RUNNING), 0);
	dt_rig__free(&r);
}

static void a_truncated_stream_fails_resuming_to_stop_into_error(void **state)
{
	struct dt_rig r;
	struct ms_device *s, *d;
	const struct ms_ev_dev_state *st;

	dt_rig__init(&r);
	s = dt_rig__ref(&r, "ref:state=256K,dirty=0", MS_ROLE_SOURCE);
	d = dt_rig__ref(&r, "ref:state=256K", MS_ROLE_DEST);
	assert_int_equal(transfer(&r, s, d, 24), -EINVAL); /* the end record never arrives */
	assert_non_null(strstr(d->err, "RESUMING -> STOP"));
	assert_non_null(strstr(d->err, "no end record"));
	assert_int_equal(d->state, VFIO_DEVICE_STATE_ERROR);
	/* the failed arc is published with the error and the state the device ended in */
	st = (const void *)tu_recorder__find(
	    &r.rec, MS_EV_DEV_STATE, d->id,
	    tu_recorder__count_dev(&r.rec, MS_EV_DEV_STATE, d->id) - 1);
	assert_int_equal(st->from, VFIO_DEVICE_STATE_RESUMING);
	assert_int_equal(st->to, VFIO_DEVICE_STATE_ERROR);
	assert_int_equal(st->err, -EINVAL);
	assert_int_equal(ms_dev__reset(d), 0);
	assert_int_equal(d->state, VFIO_DEVICE_STATE_RUNNING);
	dt_rig__free(&r);
}

static void a_corrupted_page_is_refused_as_it_arrives(void **state)
{
	struct dt_rig r;
	struct ms_device *s, *d;

	dt_rig__init(&r);
	s = dt_rig__ref(&r, "ref:state=256K,dirty=0,fault=corrupt@5", MS_ROLE_SOURCE);
	d = dt_rig__ref(&r, "ref:state=256K", MS_ROLE_DEST);
	assert_int_equal(transfer(&r, s, d, 0), -EINVAL);
	assert_non_null(strstr(d->err, "data write: page 4 version 0: checksum"));
	assert_int_equal(d->state, VFIO_DEVICE_STATE_RESUMING);
	dt_rig__free(&r);
}

static void a_state_size_mismatch_is_refused_by_the_destination(void **state)
{
	struct dt_rig r;
	struct ms_device *s, *d;

	dt_rig__init(&r);
	s = dt_rig__ref(&r, "ref:state=256K,dirty=0", MS_ROLE_SOURCE);
	d = dt_rig__ref(&r, "ref:state=128K", MS_ROLE_DEST);
	assert_int_equal(transfer(&r, s, d, 0), -EINVAL);
	assert_non_null(strstr(d->err, "record 32: type 1, page 32"));
	dt_rig__free(&r);
}

/* Drain pre-copy, wait past the REINIT gap, query. */
static void drain_and_wait(struct dt_rig *r, struct ms_device *d, struct ms_precopy_info *pi)
{
	unsigned char *buf;
	int eof;

	dt_drain(d, &buf, &eof);
	free(buf);
	assert_int_equal(ms_dev__precopy_info(d, pi), 0);
	assert_int_equal(pi->initial_bytes, 0);
	ms_clock__advance(&r->clock, 150 * MS);
	assert_int_equal(ms_dev__precopy_info(d, pi), 0);
}

static void reinit_grows_initial_bytes_and_resets_dirty_with_the_v2_opt_in(void **state)
{
	struct dt_rig r;
	struct ms_device *d;
	struct ms_precopy_info pi;
	struct ms_ref_stats st;

	dt_rig__init(&r);
	d = dt_rig__ref(&r, "ref:state=512K,ws=512K,dirty=1M/s,reinit=1,rsize=128K,rgap=100ms",
			MS_ROLE_SOURCE);
	assert_true(d->flags & MS_DEVF_PRECOPY_V2);
	assert_int_equal(ms_dev__goto(d, VFIO_DEVICE_STATE_PRE_COPY), 0);
	drain_and_wait(&r, d, &pi);
	assert_int_equal(pi.flags, MS_PRECOPY_REINIT);
	assert_true(pi.initial_bytes >= 32 * REC); /* the new 128K, plus what had been dirtied */
	assert_int_equal(pi.dirty_bytes, 0);
	/* reported once; after one event, no more */
	assert_int_equal(ms_dev__precopy_info(d, &pi), 0);
	assert_int_equal(pi.flags, 0);
	drain_and_wait(&r, d, &pi);
	assert_int_equal(pi.flags, 0);
	assert_int_equal(pi.initial_bytes, 0);
	assert_int_equal(ms_ref__stats(d, &st), 0);
	assert_int_equal(st.reinits, 1);
	dt_rig__free(&r);
}

static void without_the_v2_opt_in_initial_bytes_never_grow(void **state)
{
	struct dt_rig r;
	struct ms_device *d;
	struct ms_precopy_info pi;
	uint64_t before, after;

	dt_rig__init(&r);
	d = dt_rig__ref(&r, "ref:state=512K,ws=512K,dirty=0,reinit=1,rsize=128K,v2=off",
			MS_ROLE_SOURCE);
	assert_false(d->flags & MS_DEVF_PRECOPY_V2);
	assert_int_equal(ms_dev__goto(d, VFIO_DEVICE_STATE_PRE_COPY), 0);
	{
		unsigned char *buf;
		int eof;

		dt_drain(d, &buf, &eof);
		free(buf);
	}
	assert_int_equal(ms_dev__precopy_info(d, &pi), 0);
	assert_int_equal(ms_dev__stopcopy_size(d, &before), 0);
	assert_int_equal(before, REC_END);
	ms_clock__advance(&r.clock, 150 * MS);
	/* the query that finds the gap over: the device made new state it cannot report */
	assert_int_equal(ms_dev__precopy_info(d, &pi), 0);
	assert_int_equal(pi.flags, 0);
	assert_int_equal(pi.initial_bytes, 0);
	assert_int_equal(pi.dirty_bytes, 0);
	/* so it moves in STOP_COPY: the stop-copy size grows by the 128K chunk */
	assert_int_equal(ms_dev__stopcopy_size(d, &after), 0);
	assert_int_equal(after - before, 32 * REC);
	dt_rig__free(&r);
}

struct pageset {
	uint64_t pages[4096];
	size_t n;
};

static void add_pages(struct pageset *s, uint64_t iova, uint64_t len, uint64_t unit)
{
	for (uint64_t a = iova & ~(unit - 1); a < iova + len; a += unit) {
		size_t i;

		for (i = 0; i < s->n && s->pages[i] != a; i++)
			;
		if (i == s->n) {
			assert_true(s->n < 4096);
			s->pages[s->n++] = a;
		}
	}
}

static int has(const struct pageset *s, uint64_t a)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->pages[i] == a)
			return 1;
	return 0;
}

static void collect(struct dt_rig *r, uint32_t dev, uint32_t source, uint64_t unit,
		    struct pageset *s)
{
	const struct ms_event_hdr *h;
	size_t off = 0;

	memset(s, 0, sizeof(*s));
	while ((h = tu_recorder__next(&r->rec, &off))) {
		const struct ms_ev_dma_write *w = (const void *)h;

		if (h->type == MS_EV_DMA_WRITE && h->dev == dev && w->source == source)
			add_pages(s, w->iova, w->len, unit);
	}
}

static void hidden_pages_are_reported_by_the_device_but_not_by_dma_unmap(void **state)
{
	struct dt_rig r;
	struct ms_device *d;
	struct ms_range rg = { .iova = 1ull << 32, .len = 8 * MB };
	static struct pageset unmap, hw;
	size_t only_hw = 0;

	dt_rig__init(&r);
	d = dt_rig__ref(&r, "ref:state=64K,ws=8M,dirty=4M/s,hide=6", MS_ROLE_SOURCE);
	assert_int_equal(ms_dev__track_start(d, &rg, 1, 4096), 0);
	ms_devs__pump(r.devs, r.n, now(&r));
	ms_clock__advance(&r.clock, 100 * MS);
	assert_int_equal(ms_dev__harvest(d), 0);
	collect(&r, d->id, MS_SRC_DMA_UNMAP, 4096, &unmap);
	collect(&r, d->id, MS_SRC_HW_DIRTY, 4096, &hw);
	for (size_t i = 0; i < unmap.n; i++)
		assert_true(has(&hw, unmap.pages[i])); /* the device's own log misses nothing */
	for (size_t i = 0; i < hw.n; i++)
		only_hw += !has(&unmap, hw.pages[i]);
	assert_int_equal(only_hw, 6);
	assert_int_equal(tu_recorder__count_dev(&r.rec, MS_EV_HARVEST, d->id), 1);
	assert_int_equal(tu_recorder__count_dev(&r.rec, MS_EV_TRACK_START, d->id), 1);
	dt_rig__free(&r);
}

static void dma_logging_reports_at_a_coarser_page_size_and_clears(void **state)
{
	struct dt_rig r;
	struct ms_device *d;
	struct ms_range rg = { .iova = 1ull << 32, .len = 16 * MB };
	static struct pageset unmap, hw;
	size_t before;

	dt_rig__init(&r);
	d = dt_rig__ref(&r, "ref:state=64K,ws=16M,dirty=8M/s", MS_ROLE_SOURCE);
	assert_int_equal(ms_dev__track_start(d, &rg, 1, 65536), 0);
	ms_devs__pump(r.devs, r.n, now(&r));
	ms_clock__advance(&r.clock, 50 * MS);
	assert_int_equal(ms_dev__harvest(d), 0);
	collect(&r, d->id, MS_SRC_DMA_UNMAP, 65536, &unmap);
	collect(&r, d->id, MS_SRC_HW_DIRTY, 65536, &hw);
	assert_true(unmap.n > 0);
	assert_int_equal(unmap.n, hw.n);
	for (size_t i = 0; i < unmap.n; i++)
		assert_true(has(&hw, unmap.pages[i]));
	/* read and clear: a report with no writes in between is empty */
	before = tu_recorder__count_dev(&r.rec, MS_EV_DMA_WRITE, d->id);
	assert_int_equal(ms_dev__harvest(d), 0);
	assert_int_equal(tu_recorder__count_dev(&r.rec, MS_EV_DMA_WRITE, d->id), before);
	assert_int_equal(ms_dev__track_stop(d), 0);
	assert_int_equal(tu_recorder__count_dev(&r.rec, MS_EV_TRACK_STOP, d->id), 1);
	dt_rig__free(&r);
}

static void a_failed_report_is_published_as_loss_over_its_range(void **state)
{
	struct dt_rig r;
	struct ms_device *d;
	struct ms_range rg[2] = { { 1ull << 32, 4 * MB }, { (1ull << 32) + 8 * MB, 4 * MB } };
	const struct ms_ev_loss *l;

	dt_rig__init(&r);
	d = dt_rig__ref(&r, "ref:state=64K,ws=16M,fault=report@2", MS_ROLE_SOURCE);
	assert_int_equal(ms_dev__track_start(d, rg, 2, 4096), 0);
	assert_int_equal(ms_dev__harvest(d), -EIO);
	assert_non_null(strstr(d->err, "DMA_LOGGING_REPORT"));
	assert_int_equal(tu_recorder__count_dev(&r.rec, MS_EV_LOSS, d->id), 1);
	l = (const void *)tu_recorder__find(&r.rec, MS_EV_LOSS, d->id, 0);
	assert_int_equal(l->reason, MS_LOSS_REPORT_ERROR);
	assert_int_equal(l->iova, rg[1].iova);
	assert_int_equal(l->len, rg[1].len);
	assert_int_equal(tu_recorder__count_dev(&r.rec, MS_EV_HARVEST, d->id), 1);
	dt_rig__free(&r);
}

static void tracking_ranges_are_checked_before_the_device_sees_them(void **state)
{
	struct dt_rig r;
	struct ms_device *d;
	struct ms_range overlap[2] = { { 0, 8192 }, { 4096, 8192 } }, odd = { 100, 4096 };

	dt_rig__init(&r);
	d = dt_rig__ref(&r, "ref:state=64K", MS_ROLE_SOURCE);
	assert_int_equal(ms_dev__track_start(d, overlap, 2, 4096), -EINVAL);
	assert_non_null(strstr(d->err, "overlap"));
	assert_int_equal(ms_dev__track_start(d, &odd, 1, 4096), -EINVAL);
	assert_non_null(strstr(d->err, "not aligned"));
	assert_int_equal(ms_dev__track_start(d, &odd, 0, 4096), -EINVAL);
	assert_int_equal(ms_dev__track_start(d, &overlap[0], 1, 3000), -EINVAL);
	assert_int_equal(tu_recorder__count_dev(&r.rec, MS_EV_TRACK_START, MS_DEV_NONE), 0);
	dt_rig__free(&r);
}

static void an_injected_arc_failure_leaves_the_device_in_error_until_reset(void **state)
{
	struct dt_rig r;
	struct ms_device *d;

	dt_rig__init(&r);
	d = dt_rig__ref(&r, "ref:state=64K,fail=stop_copy", MS_ROLE_SOURCE);
	assert_int_equal(ms_dev__goto(d, VFIO_DEVICE_STATE_STOP_COPY), -EIO);
	assert_non_null(
	    strstr(d->err, "ref0: MIG_DEVICE_STATE: the device failed the arc to STOP_COPY"));
	assert_int_equal(d->state, VFIO_DEVICE_STATE_ERROR);
	assert_int_equal(ms_dev__goto(d, VFIO_DEVICE_STATE_RUNNING), -EINVAL);
	assert_int_equal(ms_dev__reset(d), 0);
	assert_int_equal(d->state, VFIO_DEVICE_STATE_RUNNING);
	dt_rig__free(&r);
}

static void a_read_claiming_more_than_the_buffer_is_an_error(void **state)
{
	struct dt_rig r;
	struct ms_device *d;
	unsigned char buf[8192];

	dt_rig__init(&r);
	d = dt_rig__ref(&r, "ref:state=64K,fault=read_len@2", MS_ROLE_SOURCE);
	assert_int_equal(ms_dev__goto(d, VFIO_DEVICE_STATE_PRE_COPY), 0);
	assert_int_equal(ms_dev__read(d, buf, sizeof(buf)), sizeof(buf));
	assert_int_equal(ms_dev__read(d, buf, sizeof(buf)), -EPROTO);
	assert_string_equal(d->err,
			    "ref0: data read: device returned 12288 bytes for a 8192-byte buffer");
	dt_rig__free(&r);
}

static void arcs_take_the_device_latencies_on_the_virtual_clock(void **state)
{
	struct dt_rig r;
	struct ms_device *d;
	const struct ms_ev_dev_state *st;
	uint64_t t0;

	dt_rig__init(&r);
	d = dt_rig__ref(&r, "ref:state=64K,stop=7ms,quiesce=2ms,start=3ms", MS_ROLE_SOURCE);
	t0 = now(&r);
	assert_int_equal(ms_dev__goto(d, VFIO_DEVICE_STATE_STOP), 0);
	assert_int_equal(now(&r) - t0, 9 * MS);
	st = (const void *)tu_recorder__find(&r.rec, MS_EV_DEV_STATE, d->id, 0);
	assert_int_equal(st->to, VFIO_DEVICE_STATE_RUNNING_P2P);
	assert_int_equal(st->dur_ns, 2 * MS);
	assert_int_equal(st->hdr.ts_ns, t0 + 2 * MS); /* stamped when the arc completed */
	st = (const void *)tu_recorder__find(&r.rec, MS_EV_DEV_STATE, d->id, 1);
	assert_int_equal(st->to, VFIO_DEVICE_STATE_STOP);
	assert_int_equal(st->dur_ns, 7 * MS);
	assert_int_equal(st->hdr.ts_ns, t0 + 9 * MS);
	assert_int_equal(ms_dev__goto(d, VFIO_DEVICE_STATE_RUNNING), 0);
	assert_int_equal(now(&r) - t0, 15 * MS);
	dt_rig__free(&r);
}

static void reference_options_are_checked_with_one_clear_line(void **state)
{
	struct ms_devspec sp;
	char err[256];

	assert_int_equal(ms_devspec__parse("ref:state=4q", &sp, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "ref: state='4q' is not a size");
	assert_int_equal(ms_devspec__parse("ref:init=2M,state=1M", &sp, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "init=2097152 must be a multiple of 4K up to state=1048576"));
	assert_int_equal(ms_devspec__parse("ref:colour=blue", &sp, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "ref: unknown option 'colour'");
	assert_int_equal(ms_devspec__parse("ref:iface=virtio,state=1M", &sp, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "apply to iface=vfio"));
	assert_int_equal(ms_devspec__parse("ref:fault=tlv", &sp, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "fault=tlv applies to iface=virtio"));
	assert_int_equal(ms_devspec__parse("ref:p2p=off,fail=running_p2p", &sp, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(ms_devspec__parse("vfio:", &sp, err, sizeof(err)), -EINVAL);
	assert_int_equal(
	    ms_devspec__parse("vfio:/dev/vfio/devices/vfio3,track=0x1000+1M,dest=0000:3b:00.2", &sp,
			      err, sizeof(err)),
	    0);
	assert_string_equal(sp.path, "/dev/vfio/devices/vfio3");
	assert_string_equal(sp.dest, "0000:3b:00.2");
	assert_int_equal(sp.nr_track, 1);
	assert_int_equal(sp.track[0].len, MB);
	assert_int_equal(ms_devspec__parse("qemu:x", &sp, err, sizeof(err)), -EINVAL);
	assert_int_equal(ms_devspec__parse("ref", &sp, err, sizeof(err)), 0);
	assert_int_equal(sp.kind, MS_DEVSPEC_REF);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(dma_writes_follow_the_rate_within_the_working_set),
		cmocka_unit_test(same_seed_gives_the_same_stream_and_another_seed_does_not),
		cmocka_unit_test(initial_bytes_drain_by_exactly_what_is_read_then_enomsg),
		cmocka_unit_test(writes_to_sent_pages_become_dirty_bytes),
		cmocka_unit_test(stop_copy_size_is_what_stop_copy_delivers),
		cmocka_unit_test(precopy_reads_shrink_the_stop_copy_size_by_exactly_what_they_read),
		cmocka_unit_test(
		    stop_copy_size_is_unsent_state_plus_pages_dirtied_after_they_were_sent),
		cmocka_unit_test(
		    a_reinit_makes_sent_state_unsent_again_and_the_stop_copy_size_grows),
		cmocka_unit_test(saved_state_loads_intact_with_equal_digests),
		cmocka_unit_test(a_truncated_stream_fails_resuming_to_stop_into_error),
		cmocka_unit_test(a_corrupted_page_is_refused_as_it_arrives),
		cmocka_unit_test(a_state_size_mismatch_is_refused_by_the_destination),
		cmocka_unit_test(reinit_grows_initial_bytes_and_resets_dirty_with_the_v2_opt_in),
		cmocka_unit_test(without_the_v2_opt_in_initial_bytes_never_grow),
		cmocka_unit_test(hidden_pages_are_reported_by_the_device_but_not_by_dma_unmap),
		cmocka_unit_test(dma_logging_reports_at_a_coarser_page_size_and_clears),
		cmocka_unit_test(a_failed_report_is_published_as_loss_over_its_range),
		cmocka_unit_test(tracking_ranges_are_checked_before_the_device_sees_them),
		cmocka_unit_test(an_injected_arc_failure_leaves_the_device_in_error_until_reset),
		cmocka_unit_test(a_read_claiming_more_than_the_buffer_is_an_error),
		cmocka_unit_test(arcs_take_the_device_latencies_on_the_virtual_clock),
		cmocka_unit_test(reference_options_are_checked_with_one_clear_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
