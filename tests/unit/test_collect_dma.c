// SPDX-License-Identifier: GPL-2.0-only
/*
 * The DMA API collector in the real kernel: each raw_tp program is run with
 * crafted tracepoint arguments (bpf_prog_test_run) and the records that come
 * out of the ring buffer are checked field by field.
 */
#include <pthread.h>
#include <time.h>

#include "collect_fx.h"

#define FROM_DEV MS_DMA_FROM_DEVICE
#define TO_DEV	 MS_DMA_TO_DEVICE
#define BIDIR	 MS_DMA_BIDIRECTIONAL

/* dma_unmap_*(dev, addr, size, dir, attrs) in both kernel generations */
static const char *const unmaps[] = { "dma_unmap_phys", "dma_unmap_page", "dma_unmap_resource" };
/* dma_map_*(dev, phys, addr, size, dir, attrs) */
static const char *const maps[] = { "dma_map_phys", "dma_map_page", "dma_map_resource" };

static void unmap_from_device_is_a_write_record_of_the_watched_device(void **state)
{
	struct fx f;

	if (fx_open(&f, NULL))
		return;
	for (size_t i = 0; i < 3; i++)
		fx_run(&f, unmaps[i], f.kdev, 0x10000 + i * 0x1000, 0x800, FROM_DEV, 0);
	assert_int_equal(ms_collect__poll(f.c), 3);
	assert_int_equal(fx_count(&f, MS_EV_DMA_WRITE), 3);
	for (size_t i = 0; i < 3; i++)
		fx_assert_write(fx_nth(&f, MS_EV_DMA_WRITE, i), f.dev, 0x10000 + i * 0x1000, 0x800,
				MS_SRC_DMA_UNMAP, FROM_DEV);
	fx_close(&f);
}

static void bidirectional_unmap_is_a_write_and_to_device_unmap_is_not(void **state)
{
	struct fx f;

	if (fx_open(&f, NULL))
		return;
	fx_run(&f, "dma_unmap_phys", f.kdev, 0x2000, 0x1000, TO_DEV, 0);
	fx_run(&f, "dma_unmap_phys", f.kdev, 0x3000, 0x1000, MS_DMA_NONE, 0);
	fx_run(&f, "dma_unmap_phys", f.kdev, 0x4000, 0x1000, BIDIR, 0);
	assert_int_equal(ms_collect__poll(f.c), 1);
	assert_int_equal(fx_count(&f, MS_EV_DMA_WRITE), 1);
	fx_assert_write(fx_nth(&f, MS_EV_DMA_WRITE, 0), f.dev, 0x4000, 0x1000, MS_SRC_DMA_UNMAP,
			BIDIR);
	fx_close(&f);
}

static void other_devices_are_filtered_in_the_kernel(void **state)
{
	struct fx f;

	if (fx_open(&f, NULL))
		return;
	fx_run(&f, "dma_unmap_phys", f.kother, 0x2000, 0x1000, FROM_DEV, 0);
	fx_run(&f, "dma_unmap_phys", 0, 0x2000, 0x1000, FROM_DEV, 0);
	fx_run(&f, "dma_unmap_phys", 0xdead000, 0x2000, 0x1000, FROM_DEV, 0); /* unreadable */
	fx_run(&f, "dma_sync_single_for_cpu", f.kother, 0x2000, 0x1000, FROM_DEV);
	fx_run(&f, "dma_unmap_phys", f.kdev, 0x5000, 0x1000, FROM_DEV, 0);
	assert_int_equal(ms_collect__poll(f.c), 1);
	fx_assert_write(fx_nth(&f, MS_EV_DMA_WRITE, 0), f.dev, 0x5000, 0x1000, MS_SRC_DMA_UNMAP,
			FROM_DEV);
	assert_int_equal(fx_count(&f, MS_EV_LOSS), 0);
	fx_close(&f);
}

static void nothing_is_recorded_when_no_host_device_is_watched(void **state)
{
	struct ms_session_opts so = { 0 };
	struct tu_recorder rec = { 0 };
	struct ms_collect_opts o = { .no_attach = 1, .groups = MS_COLLECT_DMA };
	const char *why = kmem_bpf_unavailable();
	char err[MS_ERR_LEN];
	struct ms_session *s;
	struct ms_collect *c;
	struct kmem k;
	uint64_t dev;

	if (why) {
		tu_skip(why);
		return;
	}
	s = ms_session__new(&so, err, sizeof(err));
	ms_bus__subscribe(&s->bus, MS_EV_ALL, tu_recorder__on_event, &rec);
	c = ms_collect__open(&s->stream, &o, err, sizeof(err));
	assert_non_null(c);
	assert_int_equal(kmem_open(&k), 0);
	dev = kmem_device(&k, FX_DEV_NAME, -1);
	{
		uint64_t args[] = { dev, 0x1000, 0x1000, FROM_DEV, 0 };

		assert_int_equal(kmem_run(ms_collect__prog_fd(c, "dma_unmap_phys"), args, 5), 0);
	}
	assert_int_equal(ms_collect__poll(c), 0);
	assert_int_equal(rec.count, 0);
	ms_collect__close(c);
	kmem_close(&k);
	ms_session__free(s);
	tu_recorder__free(&rec);
}

static void sync_single_for_cpu_is_a_sync_write_record(void **state)
{
	struct fx f;

	if (fx_open(&f, NULL))
		return;
	fx_run(&f, "dma_sync_single_for_cpu", f.kdev, 0x7000, 0x40, FROM_DEV);
	fx_run(&f, "dma_sync_single_for_cpu", f.kdev, 0x8000, 0x40, TO_DEV);
	assert_int_equal(ms_collect__poll(f.c), 1);
	fx_assert_write(fx_nth(&f, MS_EV_DMA_WRITE, 0), f.dev, 0x7000, 0x40, MS_SRC_DMA_SYNC,
			FROM_DEV);
	fx_close(&f);
}

/* A buffer the device may write and nobody unmapped is written, when we stop looking. */
static void buffer_still_mapped_from_device_is_published_as_written(void **state)
{
	struct fx f;

	if (fx_open(&f, NULL))
		return;
	for (size_t i = 0; i < 3; i++)
		fx_run(&f, maps[i], f.kdev, 0xabc000, 0x100000 + i * 0x10000, 0x1000, FROM_DEV, 0);
	fx_run(&f, "dma_map_phys", f.kdev, 0, 0x200000, 0x1000, BIDIR, 0);
	fx_run(&f, "dma_map_phys", f.kdev, 0, 0x300000, 0x1000, TO_DEV, 0);	/* never written */
	fx_run(&f, "dma_map_phys", f.kother, 0, 0x400000, 0x1000, FROM_DEV, 0); /* not watched */
	fx_run(&f, "dma_map_phys", f.kdev, 0, ~0ull, 0x1000, FROM_DEV, 0);	/* failed map */
	/* unmapped again: its unmap is the record, it is no longer live */
	fx_run(&f, "dma_unmap_phys", f.kdev, 0x110000, 0x1000, FROM_DEV, 0);
	assert_int_equal(ms_collect__poll(f.c), 1);

	assert_int_equal(ms_collect__publish_live_mappings(f.c), 3);
	assert_int_equal(fx_count(&f, MS_EV_DMA_WRITE), 4);
	for (size_t i = 1; i < 4; i++) {
		const struct ms_ev_dma_write *w = fx_nth(&f, MS_EV_DMA_WRITE, i);

		assert_true(w->iova == 0x100000 || w->iova == 0x120000 || w->iova == 0x200000);
		fx_assert_write(w, f.dev, w->iova, 0x1000, MS_SRC_DMA_UNMAP,
				w->iova == 0x200000 ? BIDIR : FROM_DEV);
	}
	/* close publishes them once more: the device may have written again since */
	ms_collect__close(f.c);
	f.c = NULL;
	assert_int_equal(fx_count(&f, MS_EV_DMA_WRITE), 7);
	fx_close(&f);
}

static void unmap_sg_walks_chained_lists_and_skips_merged_entries(void **state)
{
	const struct kmem_seg segs[] = {
		{ 0x1000, 0x1000 }, { 0x5000, 0x3000 }, { 0, 0 }, /* merged away by the IOMMU */
		{ 0x9000, 0x200 },  { 0xa000, 0x100 },
	};
	struct fx f;
	uint64_t sgl;

	if (fx_open(&f, NULL))
		return;
	sgl = kmem_sg(&f.k, segs, 5, 2); /* a chain link after the second entry */
	assert_true(sgl);
	/* nents 4: the fifth entry is past what the driver mapped */
	fx_run(&f, "dma_unmap_sg", f.kdev, sgl, 4, FROM_DEV, 0);
	assert_int_equal(ms_collect__poll(f.c), 3);
	fx_assert_write(fx_nth(&f, MS_EV_DMA_WRITE, 0), f.dev, 0x1000, 0x1000, MS_SRC_DMA_UNMAP,
			FROM_DEV);
	fx_assert_write(fx_nth(&f, MS_EV_DMA_WRITE, 1), f.dev, 0x5000, 0x3000, MS_SRC_DMA_UNMAP,
			FROM_DEV);
	fx_assert_write(fx_nth(&f, MS_EV_DMA_WRITE, 2), f.dev, 0x9000, 0x200, MS_SRC_DMA_UNMAP,
			FROM_DEV);
	/* TO_DEVICE lists are not walked at all */
	fx_run(&f, "dma_unmap_sg", f.kdev, sgl, 5, TO_DEV, 0);
	assert_int_equal(ms_collect__poll(f.c), 0);
	fx_close(&f);
}

static void sync_sg_for_cpu_stops_at_the_end_mark(void **state)
{
	const struct kmem_seg segs[] = { { 0x20000, 0x800 }, { 0x30000, 0x400 } };
	struct fx f;
	uint64_t sgl;

	if (fx_open(&f, NULL))
		return;
	sgl = kmem_sg(&f.k, segs, 2, 0);
	/* nents larger than the list: the end mark stops the walk, nothing is lost */
	fx_run(&f, "dma_sync_sg_for_cpu", f.kdev, sgl, 9, BIDIR);
	assert_int_equal(ms_collect__poll(f.c), 2);
	fx_assert_write(fx_nth(&f, MS_EV_DMA_WRITE, 0), f.dev, 0x20000, 0x800, MS_SRC_DMA_SYNC,
			BIDIR);
	fx_assert_write(fx_nth(&f, MS_EV_DMA_WRITE, 1), f.dev, 0x30000, 0x400, MS_SRC_DMA_SYNC,
			BIDIR);
	assert_int_equal(fx_count(&f, MS_EV_LOSS), 0);
	fx_close(&f);
}

static void map_sg_keeps_mapped_segments_live_until_unmap_sg(void **state)
{
	const struct kmem_seg segs[] = { { 0x40000, 0x1000 },
					 { 0x50000, 0x2000 },
					 { 0x60000, 0x1000 } };
	struct fx f;
	uint64_t sgl;

	if (fx_open(&f, NULL))
		return;
	sgl = kmem_sg(&f.k, segs, 3, 0);
	/* nents 3, ents 2: the IOMMU mapped the list as two segments */
	fx_run(&f, "dma_map_sg", f.kdev, sgl, 3, 2, FROM_DEV, 0);
	assert_int_equal(ms_collect__poll(f.c), 0);
	assert_int_equal(ms_collect__publish_live_mappings(f.c), 2);
	fx_run(&f, "dma_unmap_sg", f.kdev, sgl, 3, FROM_DEV, 0);
	assert_int_equal(ms_collect__poll(f.c), 3);
	assert_int_equal(ms_collect__publish_live_mappings(f.c), 0);
	fx_close(&f);
}

/* A list we cannot walk to its end is a loss of unknown extent for its device. */
static void sg_list_too_long_or_unreadable_is_a_loss_of_the_device(void **state)
{
	static struct kmem_seg segs[MS_BPF_SG_MAX + 1];
	struct fx f;
	const struct ms_ev_loss *l;
	uint64_t sgl;

	if (fx_open(&f, NULL))
		return;
	/* apart, so each segment is a record of its own (no run joins them) */
	for (int i = 0; i <= MS_BPF_SG_MAX; i++)
		segs[i] = (struct kmem_seg){ 0x100000 + (uint64_t)i * 0x2000, 0x1000 };
	sgl = kmem_sg(&f.k, segs, MS_BPF_SG_MAX + 1, 0);
	assert_true(sgl);
	fx_run(&f, "dma_unmap_sg", f.kdev, sgl, MS_BPF_SG_MAX + 1, FROM_DEV, 0);
	assert_int_equal(ms_collect__poll(f.c), MS_BPF_SG_MAX);
	assert_int_equal(fx_count(&f, MS_EV_LOSS), 1);
	l = fx_nth(&f, MS_EV_LOSS, 0);
	assert_int_equal(l->hdr.dev, f.dev);
	assert_int_equal(l->reason, MS_LOSS_SOURCE_ERROR);
	assert_int_equal(l->count, 1);
	assert_int_equal(l->len, 0);

	fx_run(&f, "dma_sync_sg_for_cpu", f.kdev, 0xdead000, 4, FROM_DEV);
	ms_collect__poll(f.c);
	assert_int_equal(fx_count(&f, MS_EV_LOSS), 2);
	l = fx_nth(&f, MS_EV_LOSS, 1);
	assert_int_equal(l->hdr.dev, f.dev);
	assert_int_equal(l->count, 1);
	fx_close(&f);
}

/* Losses and write records as they are published (fx_count scans the whole recorder). */
struct tally {
	uint32_t dev;
	uint64_t writes, lost, losses;
};

static void tally_event(void *ctx, const struct ms_event_hdr *ev)
{
	struct tally *t = ctx;
	const struct ms_ev_loss *l = (const void *)ev;

	if (ev->type == MS_EV_DMA_WRITE)
		t->writes++;
	if (ev->type != MS_EV_LOSS)
		return;
	assert_int_equal(ev->dev, t->dev);
	assert_int_equal(l->reason, MS_LOSS_SOURCE_ERROR);
	t->losses++;
	t->lost += l->count;
}

/* Every mapping is in the live table or counted as lost, however many come; freed slots are reused.
 */
static void live_table_overflow_is_counted_exactly_and_freed_slots_are_reused(void **state)
{
	const uint64_t n = MS_BPF_LIVE_SLOTS + MS_BPF_LIVE_SLOTS / 8, base = 0x100000000ull;
	/* a write record per unmap: the records count the slots freed */
	struct ms_collect_opts o = { .run_window_ns = MS_COLLECT_NO_RUNS };
	struct tally t = { 0 };
	uint64_t live;
	struct fx f;

	if (fx_open(&f, &o))
		return;
	t.dev = f.dev;
	ms_bus__subscribe(&f.s->bus, MS_EV_ALL, tally_event, &t);
	for (uint64_t i = 0; i < n; i++)
		fx_run(&f, "dma_map_phys", f.kdev, 0, base + i * 0x1000, 0x1000, FROM_DEV, 0);
	assert_int_equal(ms_collect__poll(f.c), 0);
	live = (uint64_t)ms_collect__publish_live_mappings(f.c);
	assert_int_equal(live + t.lost, n);
	assert_true(t.lost > 0);
	assert_true(live >= MS_BPF_LIVE_SLOTS * 3 / 4); /* two choices keep it usable */

	for (uint64_t i = 0; i < n; i++) {
		fx_run(&f, "dma_unmap_phys", f.kdev, base + i * 0x1000, 0x1000, FROM_DEV, 0);
		if (i % 8192 == 8191)
			ms_collect__poll(f.c); /* keep the ring from filling */
	}
	ms_collect__poll(f.c);
	assert_int_equal(ms_collect__publish_live_mappings(f.c), 0);
	for (uint64_t i = 0; i < MS_BPF_LIVE_SLOTS / 2; i++)
		fx_run(&f, "dma_map_phys", f.kdev, 0, 2 * base + i * 0x1000, 0x1000, BIDIR, 0);
	ms_collect__poll(f.c);
	assert_int_equal(ms_collect__publish_live_mappings(f.c), MS_BPF_LIVE_SLOTS / 2);
	assert_int_equal(t.losses, 1); /* no new loss */
	assert_int_equal(t.writes, live + n + MS_BPF_LIVE_SLOTS / 2);
	fx_close(&f);
}

/* A driver may map one buffer twice (no IOMMU: same address); each unmap ends one. */
static void buffer_mapped_twice_stays_live_until_unmapped_twice(void **state)
{
	struct fx f;

	if (fx_open(&f, NULL))
		return;
	fx_run(&f, "dma_map_phys", f.kdev, 0, 0x7000, 0x1000, FROM_DEV, 0);
	fx_run(&f, "dma_map_phys", f.kdev, 0, 0x7000, 0x800, BIDIR, 0);
	assert_int_equal(ms_collect__publish_live_mappings(f.c), 2);
	fx_run(&f, "dma_unmap_phys", f.kdev, 0x7000, 0x1000, FROM_DEV, 0);
	assert_int_equal(ms_collect__publish_live_mappings(f.c), 1);
	fx_run(&f, "dma_unmap_phys", f.kdev, 0x7000, 0x800, BIDIR, 0);
	assert_int_equal(ms_collect__publish_live_mappings(f.c), 0);
	fx_close(&f);
}

#define CHURN_BUFS 24

struct churn {
	int map, unmap;
	uint64_t dev;
	uint64_t addr[CHURN_BUFS]; /* all in one first bucket: its slots change hands */
	volatile int stop;
	uint64_t rounds;
};

/* What a buffer's live entry must say: its length and direction follow from its address. */
static uint64_t churn_len(uint64_t addr)
{
	return 0x100 + ((addr >> 12) & 0xfff) * 8;
}

static uint32_t churn_dir(uint64_t addr)
{
	return (addr >> 12) & 1 ? MS_DMA_FROM_DEVICE : MS_DMA_BIDIRECTIONAL;
}

static void *churn_run(void *p)
{
	struct churn *ch = p;

	while (!ch->stop) {
		for (int i = 0; i < CHURN_BUFS; i++) {
			uint64_t a = ch->addr[(i + ch->rounds) % CHURN_BUFS];
			uint64_t args[] = { ch->dev, 0, a, churn_len(a), churn_dir(a), 0 };

			kmem_run(ch->map, args, 6);
		}
		for (int i = 0; i < CHURN_BUFS; i++) {
			uint64_t a = ch->addr[(i * 7 + ch->rounds) % CHURN_BUFS];
			uint64_t args[] = { ch->dev, a, churn_len(a), churn_dir(a), 0 };

			kmem_run(ch->unmap, args, 5);
		}
		ch->rounds++;
	}
	return NULL;
}

/* Every live entry published during the churn must be one buffer's, whole. */
struct churn_check {
	const struct churn *ch;
	uint32_t dev;
	uint64_t checked;
};

static void churn_check_event(void *ctx, const struct ms_event_hdr *ev)
{
	struct churn_check *cc = ctx;
	const struct ms_ev_dma_write *w = (const void *)ev;
	int known = 0;

	if (ev->type != MS_EV_DMA_WRITE)
		return;
	for (int k = 0; k < CHURN_BUFS; k++)
		known |= w->iova == cc->ch->addr[k];
	assert_true(known);
	fx_assert_write(w, cc->dev, w->iova, churn_len(w->iova), MS_SRC_DMA_UNMAP,
			churn_dir(w->iova));
	cc->checked++;
}

/*
 * The agent reads the table while the programs claim and free its slots on
 * the other core: every entry it publishes is one buffer's, whole (a slot
 * read while it changed hands would pair one buffer's address with
 * another's length).  The buffers share a first bucket, so its slots keep
 * changing hands.  A reader that took BUSY slots, or programs that marked a
 * slot LIVE before filling it, fail here within a few runs; the window the
 * reader's second look at seq closes is nanoseconds wide, too narrow to hit
 * from userspace.
 */
static void live_mappings_read_while_programs_map_and_unmap_are_never_torn(void **state)
{
	struct churn ch = { 0 };
	struct churn_check cc = { &ch };
	struct timespec t0, t;
	pthread_t th;
	uint32_t home[2];
	struct fx f;
	int n = 0;

	if (fx_open(&f, NULL))
		return;
	ch.map = ms_collect__prog_fd(f.c, "dma_map_phys");
	ch.unmap = ms_collect__prog_fd(f.c, "dma_unmap_phys");
	ch.dev = f.kdev;
	cc.dev = f.dev;
	ms_bpf_live_buckets(f.dev, 0x40000000, home);
	for (uint64_t a = 0x40000000; n < CHURN_BUFS; a += 0x1000) {
		uint32_t b[2];

		ms_bpf_live_buckets(f.dev, a, b);
		if (b[0] == home[0])
			ch.addr[n++] = a;
	}
	ms_bus__subscribe(&f.s->bus, MS_EV_BIT(MS_EV_DMA_WRITE), churn_check_event, &cc);
	assert_int_equal(pthread_create(&th, NULL, churn_run, &ch), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		ms_collect__publish_live_mappings(f.c);
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) < 300000000L);
	ch.stop = 1;
	pthread_join(th, NULL);
	assert_true(ch.rounds > 10 && cc.checked > 100); /* both sides really ran */
	fx_close(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(unmap_from_device_is_a_write_record_of_the_watched_device),
		cmocka_unit_test(bidirectional_unmap_is_a_write_and_to_device_unmap_is_not),
		cmocka_unit_test(other_devices_are_filtered_in_the_kernel),
		cmocka_unit_test(nothing_is_recorded_when_no_host_device_is_watched),
		cmocka_unit_test(sync_single_for_cpu_is_a_sync_write_record),
		cmocka_unit_test(buffer_still_mapped_from_device_is_published_as_written),
		cmocka_unit_test(unmap_sg_walks_chained_lists_and_skips_merged_entries),
		cmocka_unit_test(sync_sg_for_cpu_stops_at_the_end_mark),
		cmocka_unit_test(map_sg_keeps_mapped_segments_live_until_unmap_sg),
		cmocka_unit_test(sg_list_too_long_or_unreadable_is_a_loss_of_the_device),
		cmocka_unit_test(live_table_overflow_is_counted_exactly_and_freed_slots_are_reused),
		cmocka_unit_test(buffer_mapped_twice_stays_live_until_unmapped_twice),
		cmocka_unit_test(live_mappings_read_while_programs_map_and_unmap_are_never_torn),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
