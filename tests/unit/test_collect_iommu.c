// SPDX-License-Identifier: GPL-2.0-only
/*
 * The IOMMU collector in the real kernel (bpf_prog_test_run with crafted
 * tracepoint arguments), and the ring buffer's loss accounting.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <migscope/loop.h>
#include <migscope/session.h>

#include "collect_fx.h"
#include "../../src/sources/collect_int.h"

static void map_and_unmap_records_carry_the_tracepoint_fields(void **state)
{
	const struct ms_ev_iommu_map *m;
	const struct ms_ev_iommu_unmap *u;
	struct fx f;

	if (fx_open(&f, NULL))
		return;
	fx_run(&f, "iommu_map", 0xfee00000, 0x12345000, 0x200000);
	fx_run(&f, "iommu_unmap", 0xfee00000, 0x200000, 0x1ff000);
	assert_int_equal(ms_collect__poll(f.c), 2);
	m = fx_nth(&f, MS_EV_IOMMU_MAP, 0);
	assert_int_equal(m->hdr.len, MS_PAYLOAD_LEN(ms_ev_iommu_map));
	assert_int_equal(m->hdr.dev, MS_DEV_NONE);
	assert_int_equal(m->iova, 0xfee00000);
	assert_int_equal(m->paddr, 0x12345000);
	assert_int_equal(m->size, 0x200000);
	u = fx_nth(&f, MS_EV_IOMMU_UNMAP, 0);
	assert_int_equal(u->hdr.len, MS_PAYLOAD_LEN(ms_ev_iommu_unmap));
	assert_int_equal(u->hdr.dev, MS_DEV_NONE);
	assert_int_equal(u->iova, 0xfee00000);
	assert_int_equal(u->size, 0x200000);
	assert_int_equal(u->unmapped, 0x1ff000);
	assert_true(m->hdr.ts_ns > 0 && u->hdr.ts_ns >= m->hdr.ts_ns);
	fx_close(&f);
}

/* test_run runs the program in our context: we are the process that maps. */
static void map_records_only_come_from_the_watched_processes(void **state)
{
	pid_t other = getpid() + 1, self = getpid();
	struct ms_collect_opts o = { .iommu_pids = &other, .nr_iommu_pids = 1 };
	struct fx f;

	if (fx_open(&f, &o))
		return;
	fx_run(&f, "iommu_map", 0x1000, 0x2000, 0x1000);
	fx_run(&f, "iommu_unmap", 0x1000, 0x1000, 0x1000);
	assert_int_equal(ms_collect__poll(f.c), 0);
	fx_close(&f);

	o.iommu_pids = &self;
	if (fx_open(&f, &o))
		return;
	fx_run(&f, "iommu_map", 0x1000, 0x2000, 0x1000);
	fx_run(&f, "iommu_unmap", 0x1000, 0x1000, 0x1000);
	assert_int_equal(ms_collect__poll(f.c), 2);
	fx_close(&f);

	/* the last of many processes counts too; more than the programs hold is refused */
	{
		pid_t many[MS_BPF_MAX_TGIDS + 1];
		struct ms_session_opts so = { 0 };
		char err[MS_ERR_LEN];
		struct ms_session *s;

		for (int i = 0; i < MS_BPF_MAX_TGIDS; i++)
			many[i] = self + 1 + i;
		many[MS_BPF_MAX_TGIDS - 1] = self;
		o.iommu_pids = many;
		o.nr_iommu_pids = MS_BPF_MAX_TGIDS;
		if (fx_open(&f, &o))
			return;
		fx_run(&f, "iommu_map", 0x1000, 0x2000, 0x1000);
		assert_int_equal(ms_collect__poll(f.c), 1);
		fx_close(&f);
		o.nr_iommu_pids = MS_BPF_MAX_TGIDS + 1;
		s = ms_session__new(&so, err, sizeof(err));
		assert_null(ms_collect__open(&s->stream, &o, err, sizeof(err)));
		assert_non_null(strstr(err, "more than 64 QEMU processes"));
		ms_session__free(s);
	}
}

static void io_page_fault_marks_the_faulting_page_of_the_watched_device(void **state)
{
	struct fx f;

	if (fx_open(&f, NULL))
		return;
	fx_run(&f, "iommu_io_page_fault", f.kdev, 0x7654321, 0x1); /* write fault */
	fx_run(&f, "iommu_io_page_fault", f.kdev, 0x1000fff, 0x0); /* read fault */
	fx_run(&f, "iommu_io_page_fault", f.kother, 0x5000, 0x1);  /* not watched */
	assert_int_equal(ms_collect__poll(f.c), 2);
	fx_assert_write(fx_nth(&f, MS_EV_DMA_WRITE, 0), f.dev, 0x7654000, 4096, MS_SRC_IOMMU_FAULT,
			MS_DMA_FROM_DEVICE);
	/* a read fault is a write record too: over-report, never miss */
	fx_assert_write(fx_nth(&f, MS_EV_DMA_WRITE, 1), f.dev, 0x1000000, 4096, MS_SRC_IOMMU_FAULT,
			MS_DMA_BIDIRECTIONAL);
	fx_close(&f);
}

static void device_attach_records_name_the_iommu_group(void **state)
{
	const struct ms_ev_dev_attach *a;
	struct fx f;
	uint64_t nogroup;

	if (fx_open(&f, NULL))
		return;
	nogroup = kmem_device(&f.k, FX_DEV_NAME, -1);
	fx_run(&f, "iommu_add_device_to_group", 42, f.kdev);
	fx_run(&f, "iommu_attach_device_to_domain", f.kdev);  /* group 7 from dev->iommu_group */
	fx_run(&f, "iommu_attach_device_to_domain", nogroup); /* no group */
	fx_run(&f, "iommu_add_device_to_group", 43, f.kother);
	fx_run(&f, "iommu_attach_device_to_domain", f.kother);
	assert_int_equal(ms_collect__poll(f.c), 3);
	for (size_t i = 0; i < 3; i++) {
		a = fx_nth(&f, MS_EV_DEV_ATTACH, i);
		assert_int_equal(a->hdr.len, MS_PAYLOAD_LEN(ms_ev_dev_attach));
		assert_int_equal(a->hdr.dev, f.dev);
		assert_int_equal(a->group, i == 0 ? 42 : i == 1 ? 7 : 0xffffffffu);
	}
	fx_close(&f);
}

/*
 * A ring too small for a burst: every record that did not fit is counted by
 * the kernel side and comes out as a loss, exactly, so records + lost = sent.
 */
static void ring_buffer_overflow_is_counted_exactly_as_loss_events(void **state)
{
	/* every event a record: the ring's own accounting (test_collect_runs.c: coalesced) */
	struct ms_collect_opts o = { .ringbuf_bytes = 4096, .run_window_ns = MS_COLLECT_NO_RUNS };
	const unsigned int burst = 500;
	const struct ms_ev_loss *l;
	uint64_t lost = 0;
	size_t writes, losses;
	struct fx f;

	if (fx_open(&f, &o))
		return;
	for (unsigned int i = 0; i < burst; i++)
		fx_run(&f, "dma_unmap_phys", f.kdev, 0x1000 * (uint64_t)i, 0x1000,
		       MS_DMA_FROM_DEVICE, 0);
	for (unsigned int i = 0; i < burst; i++)
		fx_run(&f, "iommu_map", 0x1000 * (uint64_t)i, 0, 0x1000);
	ms_collect__poll(f.c);
	writes = fx_count(&f, MS_EV_DMA_WRITE);
	losses = fx_count(&f, MS_EV_LOSS);
	/* a 4 KiB ring holds 4096 / (8 + 48) = 73 records */
	assert_int_equal(writes, 4096 / (8 + sizeof(struct ms_ev_dma_write)));
	assert_int_equal(fx_count(&f, MS_EV_IOMMU_MAP), 0);
	assert_int_equal(losses, 2);
	for (size_t i = 0; i < losses; i++) {
		l = fx_nth(&f, MS_EV_LOSS, i);
		assert_int_equal(l->reason, MS_LOSS_RINGBUF_DROP);
		assert_int_equal(l->len, 0);
		/* the device's own drops are its loss; iommu maps belong to every device */
		if (l->hdr.dev == f.dev)
			assert_int_equal(l->count, burst - writes);
		else
			assert_int_equal(l->hdr.dev, MS_DEV_NONE);
		lost += l->count;
	}
	assert_int_equal(writes + lost, 2 * burst);

	/* drained, the ring takes records again and old drops are not counted twice */
	fx_run(&f, "dma_unmap_phys", f.kdev, 0x1000, 0x1000, MS_DMA_FROM_DEVICE, 0);
	assert_int_equal(ms_collect__poll(f.c), 1);
	assert_int_equal(fx_count(&f, MS_EV_LOSS), 2);
	fx_close(&f);
}

/*
 * A nested run the kernel skipped (recursion_misses) is a write nobody saw: it
 * becomes a loss for every device, counted once, whatever the poll order.
 */
static void recursion_misses_become_one_loss_for_every_device(void **state)
{
	struct ms_session_opts so = { 0 };
	struct tu_recorder rec = { 0 };
	char err[MS_ERR_LEN];
	struct ms_session *s = ms_session__new(&so, err, sizeof(err));
	struct ms_ring r = { 0 };
	const struct ms_ev_loss *l;

	assert_non_null(s);
	ms_bus__subscribe(&s->bus, MS_EV_BIT(MS_EV_LOSS), tu_recorder__on_event, &rec);
	r.s = &s->stream;
	ms_ring__note_recursion(&r, 0);
	assert_int_equal(rec.count, 0);
	ms_ring__note_recursion(&r, 5);
	ms_ring__note_recursion(&r, 5);
	ms_ring__note_recursion(&r, 8);
	assert_int_equal(tu_recorder__count(&rec, MS_EV_LOSS), 2);
	l = tu_recorder__nth(&rec, MS_EV_LOSS, 0);
	assert_int_equal(l->hdr.dev, MS_DEV_NONE);
	assert_int_equal(l->len, 0);
	assert_int_equal(l->count, 5);
	l = tu_recorder__nth(&rec, MS_EV_LOSS, 1);
	assert_int_equal(l->count, 3);
	assert_int_equal(r.lost, 8);
	tu_recorder__free(&rec);
	ms_session__free(s);
}

static void source_stats_at_close_count_records_and_losses(void **state)
{
	struct ms_collect_opts o = { .ringbuf_bytes = 4096, .run_window_ns = MS_COLLECT_NO_RUNS };
	const struct ms_ev_source_stats *st;
	struct fx f;

	if (fx_open(&f, &o))
		return;
	for (unsigned int i = 0; i < 100; i++)
		fx_run(&f, "iommu_map", 0x1000 * (uint64_t)i, 0, 0x1000);
	ms_collect__close(f.c);
	f.c = NULL;
	st = fx_nth(&f, MS_EV_SOURCE_STATS, 0);
	assert_int_equal(st->source, MS_SOURCE_BPF);
	assert_int_equal(st->accepted, 4096 / (8 + sizeof(struct ms_ev_iommu_map)));
	assert_int_equal(st->accepted + st->errors, 100);
	assert_int_equal(st->skipped, 0);
	fx_close(&f);
}

/*
 * Batched wake-ups: the agent's loop is woken once per wakeup_bytes the
 * programs produce, not per record, and its poll timer reads what came in
 * since.  Each record is followed by a 1 ms turn of the loop, so records
 * reach the bus only when a wake-up (or the timer) lets the loop read them.
 */
static void wakeups_come_once_per_wakeup_bytes_and_the_timer_reads_the_rest(void **state)
{
	struct ms_collect_opts o = {
		.ringbuf_bytes = 64 << 10,
		.wakeup_bytes = 4096,
		.poll_ns = 3600ull * 1000000000,
		.run_window_ns = MS_COLLECT_NO_RUNS, /* a record per event: bytes per event known */
	};
	const size_t rec = 8 + sizeof(struct ms_ev_iommu_map), n = 6 * 4096 / rec + 1;
	struct ms_loop *l;
	size_t wakes = 0, seen = 0;
	struct fx f;

	if (fx_open(&f, &o))
		return;
	l = ms_loop__new(0);
	assert_non_null(l);
	assert_int_equal(ms_collect__add_to_loop(f.c, l), 0);
	for (size_t i = 0; i < n; i++) {
		fx_run(&f, "iommu_map", 0x1000 * (uint64_t)i, 0, 0x1000);
		assert_int_equal(ms_loop__run(l, 1000000), -ETIMEDOUT);
		if (fx_count(&f, MS_EV_IOMMU_MAP) != seen) {
			wakes++;
			seen = fx_count(&f, MS_EV_IOMMU_MAP);
			/* a wake-up delivers everything up to the record that woke it */
			assert_int_equal(seen, i + 1);
		}
	}
	/* 6 x 4096 bytes (and a record) produced: 6 boundaries crossed, 6 wake-ups */
	assert_int_equal(wakes, 6);
	assert_true(n - seen < 4096 / rec + 1);
	ms_collect__close(f.c); /* leaves the loop */
	f.c = NULL;
	ms_loop__free(l);
	fx_close(&f);

	/* the poll timer reads records no wake-up announced */
	o.poll_ns = 5000000;
	if (fx_open(&f, &o))
		return;
	l = ms_loop__new(0);
	assert_int_equal(ms_collect__add_to_loop(f.c, l), 0);
	fx_run(&f, "iommu_map", 0x1000, 0, 0x1000);
	assert_int_equal(ms_loop__run(l, 50000000), -ETIMEDOUT);
	assert_int_equal(fx_count(&f, MS_EV_IOMMU_MAP), 1);
	ms_collect__close(f.c);
	f.c = NULL;
	ms_loop__free(l);
	fx_close(&f);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* SIGTERM stops the loop; close detaches every program and leaves no fd behind. */
static void sigterm_stops_the_loop_and_close_detaches_everything(void **state)
{
	const char *why = kmem_bpf_unavailable();
	struct ms_session_opts so = { 0 };
	const struct ms_collector_status *st;
	struct tu_recorder rec = { 0 };
	char err[MS_ERR_LEN];
	struct ms_session *s;
	struct ms_collect *c;
	struct ms_loop *l;
	size_t attached = 0, n;
	int fds;

	if (why) {
		tu_skip(why);
		return;
	}
	s = ms_session__new(&so, err, sizeof(err));
	ms_bus__subscribe(&s->bus, MS_EV_ALL, tu_recorder__on_event, &rec);
	l = ms_loop__new(1);
	assert_non_null(l);
	fds = count_fds();
	ms_bpf__set_notes(NULL);
	c = ms_collect__open(&s->stream, NULL, err, sizeof(err));
	assert_non_null(c);
	n = ms_collect__status(c, &st);
	for (size_t i = 0; i < n; i++)
		attached += st[i].state == MS_COLLECTOR_ATTACHED;
	assert_true(attached >= 5); /* the iommu tracepoints at least */
	assert_int_equal(ms_collect__add_to_loop(c, l), 0);
	assert_int_equal(kill(getpid(), SIGTERM), 0);
	assert_int_equal(ms_loop__run(l, 5000000000ull), -EINTR);
	assert_int_equal(ms_loop__signal(l), SIGTERM);
	ms_collect__close(c);
	assert_int_equal(count_fds(), fds);
	assert_int_equal(((const struct ms_event_hdr *)tu_recorder__get(&rec, rec.count - 1))->type,
			 MS_EV_SOURCE_STATS);
	ms_loop__free(l);
	ms_session__free(s);
	tu_recorder__free(&rec);
}

/* One line per collector the kernel cannot run, with the reason, once per process. */
static void skipped_collectors_are_noted_once_with_their_reason(void **state)
{
	const char *why = kmem_bpf_unavailable();
	struct ms_collect_opts o = { .no_attach = 1 };
	struct ms_session_opts so = { 0 };
	char err[MS_ERR_LEN], reason[300] = "", *text = NULL, *line;
	struct ms_session *s;
	size_t len = 0;
	FILE *f;
	int vfio_lines = 0, lines = 0;

	if (why) {
		tu_skip(why);
		return;
	}
	f = open_memstream(&text, &len);
	assert_non_null(f);
	ms_bpf__set_notes(f);
	s = ms_session__new(&so, err, sizeof(err));
	for (int i = 0; i < 2; i++) {
		struct ms_collect *c = ms_collect__open(&s->stream, &o, err, sizeof(err));
		const struct ms_collector_status *st;
		size_t n;

		assert_non_null(c);
		n = ms_collect__status(c, &st);
		for (size_t k = 0; k < n; k++)
			if (!strcmp(st[k].name, "vfio_mig_get_next_state") &&
			    st[k].state == MS_COLLECTOR_SKIPPED)
				snprintf(reason, sizeof(reason), ": %s", st[k].reason);
		ms_collect__close(c);
	}
	ms_bpf__set_notes(NULL);
	fclose(f);
	for (line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		lines++;
		assert_int_equal(strncmp(line, "migscope: ", 10), 0);
		assert_non_null(strstr(line, " collector: skipping "));
		vfio_lines += !strncmp(line, "migscope: vfio collector: skipping ", 35) &&
			      strstr(line, "vfio_mig_get_next_state") && reason[0] &&
			      strstr(line, reason);
	}
	/* with no VFIO or no fentry here: one line for the six programs, not twelve */
	assert_int_equal(vfio_lines, reason[0] ? 1 : 0);
	assert_true(lines <= 3);
	free(text);
	ms_session__free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(map_and_unmap_records_carry_the_tracepoint_fields),
		cmocka_unit_test(map_records_only_come_from_the_watched_processes),
		cmocka_unit_test(io_page_fault_marks_the_faulting_page_of_the_watched_device),
		cmocka_unit_test(device_attach_records_name_the_iommu_group),
		cmocka_unit_test(ring_buffer_overflow_is_counted_exactly_as_loss_events),
		cmocka_unit_test(recursion_misses_become_one_loss_for_every_device),
		cmocka_unit_test(source_stats_at_close_count_records_and_losses),
		cmocka_unit_test(wakeups_come_once_per_wakeup_bytes_and_the_timer_reads_the_rest),
		cmocka_unit_test(sigterm_stops_the_loop_and_close_detaches_everything),
		cmocka_unit_test(skipped_collectors_are_noted_once_with_their_reason),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
