// SPDX-License-Identifier: GPL-2.0-only
/* The QEMU trace log source: the real 7.2 logs, and every format of the table. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include <migscope/loop.h>
#include <migscope/qemu.h>
#include <migscope/qemu_trace.h>
#include <migscope/session.h>
#include <migscope/vfio_compat.h>

#include "testutil.h"
#include "tmbuild.h"

#define FIXTURES "tests/fixtures/qemu-7.2-tcg-converging/"

struct env {
	struct ms_session *s;
	struct ms_qemu_trace *t;
	struct tu_recorder rec;
};

static void env_init(struct env *e, const struct ms_qemu_trace_opts *o)
{
	struct ms_session_opts so = { 0 };
	char err[MS_ERR_LEN];

	memset(e, 0, sizeof(*e));
	e->s = ms_session__new(&so, err, sizeof(err));
	assert_non_null(e->s);
	assert_int_equal(ms_bus__subscribe(&e->s->bus, MS_EV_ALL, tu_recorder__on_event, &e->rec),
			 0);
	e->t = ms_qemu_trace__new(&e->s->stream, o);
	assert_non_null(e->t);
}

static void env_free(struct env *e)
{
	ms_qemu_trace__free(e->t);
	ms_session__free(e->s);
	tu_recorder__free(&e->rec);
}

static void feed_str(struct env *e, const char *text)
{
	ms_qemu_trace__feed(e->t, text, strlen(text));
}

static uint32_t dev_id(const struct env *e, uint16_t kind, uint16_t role, const char *name)
{
	for (uint32_t i = 0; i < e->s->devices.nr; i++) {
		const struct ms_device_info *d = &e->s->devices.dev[i];

		if (d->name[0] && d->kind == kind && d->role == role && !strcmp(d->name, name))
			return i;
	}
	fail_msg("no device %s", name);
	return MS_DEV_NONE;
}

static void feed_file(struct env *e, const char *path)
{
	unsigned char *buf;
	size_t len = tu_read_file(path, &buf);

	ms_qemu_trace__feed(e->t, (const char *)buf, len);
	free(buf);
}

static void source_log_of_a_real_migration_is_used_line_by_line(void **state)
{
	const struct ms_ev_qemu_mark *mark;
	struct env e;
	const struct ms_qemu_trace_counts *n;
	const struct ms_ev_qemu_pending *p;
	const struct ms_ev_qemu_section *sec;
	const struct ms_ev_source_stats *st;
	uint32_t ram;

	env_init(&e, NULL);
	feed_file(&e, FIXTURES "qemu-src.log");
	ms_qemu_trace__close(e.t, 1);
	n = ms_qemu_trace__counts(e.t);

	/* every line is used or counted, none is malformed */
	assert_int_equal(n->lines, 167);
	assert_int_equal(n->accepted + n->not_trace + n->unknown + n->malformed + n->stale,
			 n->lines);
	assert_int_equal(n->malformed, 0);
	assert_int_equal(n->not_trace, 1); /* QEMU's "terminating on signal 15" message */
	/*
	 * 16 migrate_pending + 4 bitmap syncs + 45 section starts + 45 section ends
	 * + the two marks before the downtime clock (low pending, the VM stopped)
	 */
	assert_int_equal(n->accepted, 16 + 4 + 45 + 45 + 2);
	assert_int_equal(tu_recorder__count(&e.rec, MS_EV_QEMU_MARK), 2);
	mark = tu_recorder__nth(&e.rec, MS_EV_QEMU_MARK, 0);
	assert_int_equal(mark->mark, MS_MARK_LOW_PENDING);
	assert_int_equal(mark->hdr.ts_ns, 1795391032683221000ull);
	mark = tu_recorder__nth(&e.rec, MS_EV_QEMU_MARK, 1);
	assert_int_equal(mark->mark, MS_MARK_VM_STOPPED);

	ram = dev_id(&e, MS_DEV_KIND_QEMU_SECTION, MS_ROLE_SOURCE, MS_QEMU_RAM);
	assert_int_equal(tu_recorder__count(&e.rec, MS_EV_QEMU_PENDING), 16);
	p = tu_recorder__nth(&e.rec, MS_EV_QEMU_PENDING, 0);
	assert_int_equal(p->hdr.dev, ram);
	assert_int_equal(p->precopy, 268967936);
	assert_int_equal(p->postcopy, 0);
	assert_int_equal(p->threshold, 0);
	assert_int_equal(p->origin, MS_PENDING_TRACE);
	/* 7859@1795391031.897616 */
	assert_int_equal(p->hdr.ts_ns, 1795391031897616000ull);
	/* the first count is before any sync: an estimate */
	assert_int_equal(p->exact, 1); /* the setup's sync: "dirty_pages 0" */
	p = tu_recorder__nth(&e.rec, MS_EV_QEMU_PENDING, 1);
	assert_int_equal(p->exact, 0);
	/* after "migration_bitmap_sync_end dirty_pages 2048": the 8 MiB working set */
	p = tu_recorder__nth(&e.rec, MS_EV_QEMU_PENDING, 14);
	assert_int_equal(p->precopy, 8388608);
	assert_int_equal(p->exact, 1);
	p = tu_recorder__nth(&e.rec, MS_EV_QEMU_PENDING, 15);
	assert_int_equal(p->precopy, 4661248);
	assert_int_equal(p->threshold, 15259936);
	assert_int_equal(p->exact, 1);

	assert_int_equal(tu_recorder__count(&e.rec, MS_EV_QEMU_SECTION), 90);
	sec = tu_recorder__nth(&e.rec, MS_EV_QEMU_SECTION, 0);
	assert_int_equal(sec->hdr.dev, ram);
	assert_int_equal(sec->section_id, 2);
	assert_int_equal(sec->phase, MS_SECTION_SAVE_START);
	/* "ram, section_id 2 -> 1": the iteration that finished RAM's first pass */
	sec = tu_recorder__nth(&e.rec, MS_EV_QEMU_SECTION, 2 * 13 + 1);
	assert_int_equal(sec->phase, MS_SECTION_SAVE_END);
	assert_int_equal(sec->ret, 1);
	/* the two "dma" sections are one device */
	dev_id(&e, MS_DEV_KIND_QEMU_SECTION, MS_ROLE_SOURCE, "dma");
	dev_id(&e, MS_DEV_KIND_QEMU_SECTION, MS_ROLE_SOURCE, "0000:00:1f.2/ich9_ahci");

	st = tu_recorder__nth(&e.rec, MS_EV_SOURCE_STATS, 0);
	assert_int_equal(st->source, MS_SOURCE_QEMU_LOG);
	assert_int_equal(st->accepted, n->accepted);
	assert_int_equal(st->skipped, n->not_trace + n->unknown);
	assert_int_equal(st->errors, 0);
	env_free(&e);
}

/*
 * The real QEMU 7.2 migration (tests/fixtures/qemu-7.2-tcg-converging): each
 * sync's pending sample is a pass boundary (the setup's, after RAM's first
 * pass, and the last before the stop; the sync after the stop has none).  RAM
 * judged on them at every record of the log: unknown until its first pass
 * ends, never converging before a sync left less than QEMU's threshold, then
 * converging; no verdict contradicts itself.
 */
static void passes_of_the_real_migration_are_its_syncs(void **state)
{
	static const uint64_t left[] = { 268967936, 8388608, 4661248 };
	const struct ms_event_hdr *ev;
	uint64_t fits_at = 0;
	size_t off = 0;
	struct env e;
	uint32_t ram;

	env_init(&e, NULL);
	feed_file(&e, FIXTURES "qemu-src.log");
	ms_qemu_trace__close(e.t, 1);
	ram = dev_id(&e, MS_DEV_KIND_QEMU_SECTION, MS_ROLE_SOURCE, MS_QEMU_RAM);
	assert_int_equal(tu_recorder__count(&e.rec, MS_EV_PASS), 3);
	for (size_t i = 0; i < 3; i++) {
		const struct ms_ev_pass *p = tu_recorder__nth(&e.rec, MS_EV_PASS, i);

		assert_int_equal(p->hdr.dev, ram);
		assert_int_equal(p->pass, i + 1);
		assert_int_equal(p->origin, MS_PASS_QEMU_SYNC);
		assert_int_equal(p->left, left[i]);
		assert_int_equal(p->dirty, MS_STAT_UNSET);
		if (i == 2)
			fits_at = p->hdr.ts_ns;
	}
	/* 7859@1795391031.897616 to 7859@1795391032.647767: RAM's first pass */
	assert_int_equal(
	    ((const struct ms_ev_pass *)tu_recorder__nth(&e.rec, MS_EV_PASS, 1))->dur_ns,
	    1795391032647767000ull - 1795391031897616000ull);

	while ((ev = tu_recorder__next(&e.rec, &off))) {
		struct ms_tm_report r;
		struct ms_session *s = tb_judge_at(&e.rec, ev->ts_ns, &r);
		const struct ms_tm_convergence *c = ram < r.nr ? &r.dev[ram].conv : NULL;

		tb_assert_report_consistent(&r);
		if (c && c->samples) {
			if (ev->ts_ns < fits_at && c->verdict == MS_VERDICT_CONVERGING)
				fail_msg("converging before the last sync: %s", c->reason);
			if (ev->ts_ns >= fits_at)
				assert_int_equal(c->verdict, MS_VERDICT_CONVERGING);
			if (ev->ts_ns <
			    ((const struct ms_ev_pass *)tu_recorder__nth(&e.rec, MS_EV_PASS, 1))
				->hdr.ts_ns)
				assert_int_equal(c->verdict, MS_VERDICT_UNKNOWN);
		}
		ms_tm_report__free(&r);
		ms_session__free(s);
	}
	{
		struct ms_tm_report r;
		struct ms_session *s = tb_judge_at(&e.rec, UINT64_MAX, &r);

		assert_int_equal(r.dev[ram].conv.passes, 2);
		assert_int_equal(r.dev[ram].conv.pending, 4661248);
		assert_int_equal(r.dev[ram].conv.threshold, 15259936);
		assert_int_equal(r.dev[ram].conv.switchover_ns, 0);
		assert_non_null(
		    strstr(r.dev[ram].conv.reason,
			   "pending 4.45 MiB left by the last sync is under the threshold "
			   "14.55 MiB: it can switch over now"));
		ms_tm_report__free(&r);
		ms_session__free(s);
	}
	env_free(&e);
}

static void destination_log_pairs_every_loaded_section(void **state)
{
	struct env e;
	const struct ms_qemu_trace_counts *n;
	size_t starts = 0, ends = 0;

	env_init(&e, NULL);
	feed_file(&e, FIXTURES "qemu-dst.log");
	ms_qemu_trace__close(e.t, 1);
	n = ms_qemu_trace__counts(e.t);
	assert_int_equal(n->lines, 103);
	assert_int_equal(n->malformed, 0);
	assert_int_equal(n->accepted + n->not_trace + n->unknown, n->lines);
	/* 47 section headers + 30 startfull + 16 partend + post_main */
	assert_int_equal(n->accepted, 47 + 30 + 16 + 1);
	for (size_t i = 0; i < tu_recorder__count(&e.rec, MS_EV_QEMU_SECTION); i++) {
		const struct ms_ev_qemu_section *s = tu_recorder__nth(&e.rec, MS_EV_QEMU_SECTION, i);

		if (s->phase == MS_SECTION_LOAD_START) {
			assert_int_equal(starts, ends);
			starts++;
		} else {
			assert_int_equal(s->phase, MS_SECTION_LOAD_END);
			ends++;
		}
	}
	assert_int_equal(starts, 46);
	assert_int_equal(ends, starts);
	/* ram's parts are found by section id alone */
	assert_int_equal(
	    ((const struct ms_ev_qemu_section *)tu_recorder__nth(&e.rec, MS_EV_QEMU_SECTION, 2))->hdr.dev,
	    dev_id(&e, MS_DEV_KIND_QEMU_SECTION, MS_ROLE_DEST, "ram"));
	env_free(&e);
}

static void feeding_in_pieces_gives_the_same_records_as_whole(void **state)
{
	struct env a, b;
	unsigned char *buf;
	size_t len = tu_read_file(FIXTURES "qemu-src.log", &buf);

	env_init(&a, NULL);
	env_init(&b, NULL);
	ms_qemu_trace__feed(a.t, (const char *)buf, len);
	for (size_t i = 0; i < len; i += 7)
		ms_qemu_trace__feed(b.t, (const char *)buf + i, len - i < 7 ? len - i : 7);
	assert_int_equal(a.rec.count, b.rec.count);
	assert_int_equal(a.rec.len, b.rec.len);
	assert_memory_equal(a.rec.buf, b.rec.buf, a.rec.len);
	free(buf);
	env_free(&a);
	env_free(&b);
}

/* One sample line for every format in the table, as each QEMU release prints it. */
static const char *const samples[] = {
	"1@1.000001:migrate_pending pending size 10 max 5 (pre = 7 compat=1 post=2)",
	"1@1.000002:migrate_pending_exact exact pending size 9 (pre = 8 post=1)",
	"1@1.000003:migrate_pending_exact exact pending size 9 (pre = 7 compat=1 post=1)",
	"1@1.000004:migrate_pending_exact exact pending size 9 max 3 (pre = 7 compat=1 post=1)",
	"1@1.000005:migrate_pending_exact pending size 9 max 3 (pre = 8 post=1)",
	"1@1.000006:migrate_pending_estimate estimate pending size 9 (pre = 8 post=1)",
	"1@1.000007:migrate_pending_estimate estimate pending size 9 (pre = 7 compat=1 post=1)",
	"1@1.000008:migrate_pending_estimate estimate pending size 9 max 3 (pre = 7 compat=1 "
	"post=1)",
	"1@1.000009:migrate_pending_estimate pending size 9 max 3 (pre = 8 post=1)",
	"1@1.000010:qemu_savevm_query_pending exact=1 precopy=8 postcopy=1 threshold=3",
	"1@1.000010:migration_bitmap_sync_end dirty_pages 2048",
	"1@1.000011:savevm_section_start ram, section_id 2",
	"1@1.000012:savevm_section_end ram, section_id 2 -> 0",
	"1@1.000013:qemu_loadvm_state_section 4",
	"1@1.000014:qemu_loadvm_state_section_startfull 2(ram) 0 4",
	"1@1.000015:qemu_loadvm_state_section_partend 2",
	"1@1.000016:qemu_loadvm_state_post_main 0",
	"1@1.000017:vmstate_downtime_save type=iterable idstr=ram instance_id=0 downtime=1500",
	"1@1.000018:vmstate_downtime_load type=non-iterable idstr=cpu instance_id=1 downtime=20",
	"1@1.000019:vmstate_downtime_checkpoint src-downtime-start",
	"1@1.000020:vfio_migration_set_state  (0000:01:00.0) state 3",
	"1@1.000021:vfio_migration_set_state  (0000:01:00.0) state STOP_COPY",
	"1@1.000022:vfio_migration_set_state  (0000:01:00.0) new state STOP, recover state ERROR",
	"1@1.000023:vfio_migration_set_device_state  (0000:01:00.0) state STOP",
	"1@1.000024:vfio_update_pending  (0000:01:00.0) pending 0x1000",
	"1@1.000025:vfio_save_pending  (0000:01:00.0) precopy 0x10 postcopy 0x0 compatible 0x0",
	"1@1.000026:vfio_state_pending  (0000:01:00.0) precopy 0x10 postcopy 0x0 compatible 0x0",
	"1@1.000027:vfio_state_pending  (0000:01:00.0) precopy 0x10 postcopy 0x0",
	"1@1.000028:vfio_state_pending_exact  (0000:01:00.0) precopy 0x10 postcopy 0x0 stopcopy "
	"size 0x2000",
	"1@1.000029:vfio_state_pending_exact  (0000:01:00.0) precopy 0x10 postcopy 0x0 compatible "
	"0x0 stopcopy size 0x2000",
	"1@1.000030:vfio_state_pending_exact  (0000:01:00.0) precopy 0x10 postcopy 0x0 stopcopy "
	"size 0x2000 precopy initial size 0x100 precopy dirty size 0x200",
	"1@1.000031:vfio_state_pending_exact  (0000:01:00.0) precopy 16 postcopy 0 stopcopy size "
	"8192 precopy initial size 256 precopy dirty size 512",
	"1@1.000032:vfio_state_pending_estimate  (0000:01:00.0) precopy 0x10 postcopy 0x0 precopy "
	"initial size 0x100 precopy dirty size 0x200",
	"1@1.000033:vfio_state_pending_estimate  (0000:01:00.0) precopy 16 postcopy 0 precopy "
	"initial size 256 precopy dirty size 512",
	"1@1.000034:vfio_query_precopy_size  (0000:01:00.0) initial size 256 dirty size 512",
	"1@1.000035:vfio_query_stop_copy_size  (0000:01:00.0) stopcopy size 8192",
	"1@1.000036:vfio_save_iterate  (0000:01:00.0) data_size 4096",
	"1@1.000037:vfio_save_iterate  (0000:01:00.0) precopy initial size 0x100 precopy dirty "
	"size 0x200",
	"1@1.000038:vfio_save_iterate  (0000:01:00.0) precopy initial size 256 precopy dirty size "
	"512",
	"1@1.000039:vfio_save_buffer  (0000:01:00.0) Offset 0x0 size 0x1000 pending 0x0",
	"1@1.000040:vfio_save_block  (0000:01:00.0) data_size 4096",
	"1@1.000041:vfio_save_complete_precopy  (0000:01:00.0)",
	"1@1.000042:vfio_save_complete_precopy  (0000:01:00.0) ret 0",
	"1@1.000043:vfio_save_complete_precopy_start  (0000:01:00.0)",
	"1@1.000044:vfio_save_complete_precopy_thread_start  (0000:01:00.0) idstr "
	"0000:01:00.0/vfio instance 0",
	"1@1.000045:vfio_save_complete_precopy_thread_end  (0000:01:00.0) ret 0",
	"1@1.000046:vfio_load_state_device_data  (0000:01:00.0) Offset 0x0 size 0x1000",
	"1@1.000047:vfio_load_state_device_data  (0000:01:00.0) size 0x1000 ret 0",
	"1@1.000048:vfio_load_state_device_data  (0000:01:00.0) size 4096 ret 0",
	"1@1.000049:migration_thread_low_pending 4661248",
	"1@1.000050:migration_completion_vm_stop ret 0",
	"1@1.000051:runstate_set current_run_state 9 (running) new_state 7 (finish-migrate)",
	"1@1.000052:runstate_set current_run_state 7 (finish-migrate) new_state 5 (postmigrate)",
	"1@1.000053:runstate_set current_run_state 6 (prelaunch) new_state 9 (running)",
};

/* The marks around QEMU < 8.2's downtime clock, from the four lines that make them. */
static void runstate_and_completion_lines_are_downtime_marks(void **state)
{
	static const uint32_t want[] = { MS_MARK_LOW_PENDING, MS_MARK_VM_STOPPED,
					 MS_MARK_FINISH_MIGRATE, MS_MARK_POSTMIGRATE };
	const size_t first = sizeof(samples) / sizeof(samples[0]) - 5;
	const struct ms_ev_qemu_mark *m;
	struct env e;

	env_init(&e, NULL);
	for (size_t i = first; i < first + 5; i++)
		ms_qemu_trace__line(e.t, samples[i], strlen(samples[i]));
	/* the last run state change is no mark: only the source's two around its clock are */
	assert_int_equal(tu_recorder__count(&e.rec, MS_EV_QEMU_MARK), 4);
	for (size_t i = 0; i < 4; i++) {
		m = tu_recorder__nth(&e.rec, MS_EV_QEMU_MARK, i);
		assert_int_equal(m->mark, want[i]);
		assert_int_equal(m->hdr.dev, MS_DEV_NONE);
		assert_int_equal(m->hdr.ts_ns, 1000049000ull + i * 1000);
	}
	assert_int_equal(ms_qemu_trace__counts(e.t)->accepted, 5);
	env_free(&e);
}

static void every_format_of_every_release_is_understood(void **state)
{
	struct env e;

	/* in one stream: a section part needs its start (the line before) */
	env_init(&e, NULL);
	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		ms_qemu_trace__line(e.t, samples[i], strlen(samples[i]));
		if (ms_qemu_trace__counts(e.t)->accepted != i + 1)
			fail_msg("not understood: %s", samples[i]);
	}
	assert_int_equal(ms_qemu_trace__counts(e.t)->malformed, 0);
	env_free(&e);
}

static void pending_formats_all_give_precopy_postcopy_and_threshold(void **state)
{
	struct env e;
	const struct ms_ev_qemu_pending *p;

	env_init(&e, NULL);
	for (size_t i = 0; i < 10; i++)
		ms_qemu_trace__line(e.t, samples[i], strlen(samples[i]));
	assert_int_equal(tu_recorder__count(&e.rec, MS_EV_QEMU_PENDING), 10);
	for (size_t i = 0; i < 10; i++) {
		p = tu_recorder__nth(&e.rec, MS_EV_QEMU_PENDING, i);
		assert_int_equal(p->precopy, 8); /* pre + compat */
		assert_int_equal(p->postcopy, i == 0 ? 2 : 1);
	}
	assert_int_equal(
	    ((const struct ms_ev_qemu_pending *)tu_recorder__nth(&e.rec, MS_EV_QEMU_PENDING, 0))->threshold, 5);
	assert_int_equal(
	    ((const struct ms_ev_qemu_pending *)tu_recorder__nth(&e.rec, MS_EV_QEMU_PENDING, 1))->threshold,
	    MS_STAT_UNSET);
	assert_int_equal(((const struct ms_ev_qemu_pending *)tu_recorder__nth(&e.rec, MS_EV_QEMU_PENDING, 1))->exact,
			 1);
	assert_int_equal(((const struct ms_ev_qemu_pending *)tu_recorder__nth(&e.rec, MS_EV_QEMU_PENDING, 5))->exact,
			 0);
	assert_int_equal(
	    ((const struct ms_ev_qemu_pending *)tu_recorder__nth(&e.rec, MS_EV_QEMU_PENDING, 9))->threshold, 3);
	env_free(&e);
}

static void vfio_request_then_device_state_is_one_arc_with_its_duration(void **state)
{
	struct env e;
	const struct ms_ev_dev_state *a;

	env_init(&e, NULL);
	feed_str(&e, "1@10.000000:vfio_migration_set_state  (dev0) new state PRE_COPY, recover "
		     "state RUNNING\n"
		     "1@10.000250:vfio_migration_set_device_state  (dev0) state PRE_COPY\n"
		     /* a no-op request traces no completion */
		     "1@10.100000:vfio_migration_set_state  (dev0) new state PRE_COPY, recover "
		     "state ERROR\n"
		     "1@11.000000:vfio_migration_set_state  (dev0) new state STOP_COPY, recover "
		     "state ERROR\n"
		     /* the device failed and was put in its recover state */
		     "1@11.002000:vfio_migration_set_device_state  (dev0) state ERROR\n");
	assert_int_equal(tu_recorder__count(&e.rec, MS_EV_DEV_STATE), 2);
	a = tu_recorder__nth(&e.rec, MS_EV_DEV_STATE, 0);
	assert_int_equal(a->domain, MS_DOMAIN_VFIO);
	assert_int_equal(a->from, VFIO_DEVICE_STATE_RUNNING);
	assert_int_equal(a->to, VFIO_DEVICE_STATE_PRE_COPY);
	assert_int_equal(a->dur_ns, 250000);
	assert_int_equal(a->err, 0);
	assert_int_equal(a->hdr.ts_ns, 10000250000ull);
	assert_int_equal(a->hdr.dev, dev_id(&e, MS_DEV_KIND_QEMU_VFIO, MS_ROLE_SOURCE, "dev0"));
	a = tu_recorder__nth(&e.rec, MS_EV_DEV_STATE, 1);
	assert_int_equal(a->from, VFIO_DEVICE_STATE_PRE_COPY);
	assert_int_equal(a->to, VFIO_DEVICE_STATE_ERROR);
	assert_int_equal(a->dur_ns, 2000000);
	assert_int_equal(a->err, -EIO);
	env_free(&e);
}

static void vfio_v1_states_and_data_follow_the_device_state(void **state)
{
	struct env e;
	const struct ms_ev_data *d;

	env_init(&e, NULL);
	feed_str(&e,
		 "7@5.000000:vfio_migration_set_state  (hostdev0) state 3\n"
		 "7@5.000010:vfio_update_pending  (hostdev0) pending 0x3000\n"
		 "7@5.000020:vfio_save_iterate  (hostdev0) data_size 4096\n"
		 "7@5.100000:vfio_migration_set_state  (hostdev0) state 2\n"
		 "7@5.100010:vfio_update_pending  (hostdev0) pending 0x1000\n"
		 "7@5.100020:vfio_save_buffer  (hostdev0) Offset 0x0 size 0x1000 pending 0x0\n");
	assert_int_equal(tu_recorder__count(&e.rec, MS_EV_DEV_STATE), 2);
	assert_int_equal(((const struct ms_ev_dev_state *)tu_recorder__nth(&e.rec, MS_EV_DEV_STATE, 0))->to,
			 VFIO_DEVICE_STATE_PRE_COPY);
	assert_int_equal(((const struct ms_ev_dev_state *)tu_recorder__nth(&e.rec, MS_EV_DEV_STATE, 1))->to,
			 VFIO_DEVICE_STATE_STOP_COPY);
	assert_int_equal(((const struct ms_ev_precopy *)tu_recorder__nth(&e.rec, MS_EV_PRECOPY, 0))->dirty_bytes,
			 0x3000);
	assert_int_equal(
	    ((const struct ms_ev_stopcopy_size *)tu_recorder__nth(&e.rec, MS_EV_STOPCOPY_SIZE, 0))->bytes, 0x1000);
	d = tu_recorder__nth(&e.rec, MS_EV_DATA, 0);
	assert_int_equal(d->bytes, 4096);
	assert_int_equal(d->phase, MS_PHASE_PRECOPY);
	d = tu_recorder__nth(&e.rec, MS_EV_DATA, 1);
	assert_int_equal(d->bytes, 4096);
	assert_int_equal(d->phase, MS_PHASE_STOPCOPY);
	env_free(&e);
}

static void vfio_exact_pending_gives_stopcopy_size_and_precopy_bytes(void **state)
{
	struct env e;
	const struct ms_ev_precopy *p;

	env_init(&e, NULL);
	ms_qemu_trace__line(e.t, samples[31], strlen(samples[31]));
	assert_int_equal(
	    ((const struct ms_ev_stopcopy_size *)tu_recorder__nth(&e.rec, MS_EV_STOPCOPY_SIZE, 0))->bytes, 8192);
	p = tu_recorder__nth(&e.rec, MS_EV_PRECOPY, 0);
	assert_int_equal(p->initial_bytes, 256);
	assert_int_equal(p->dirty_bytes, 512);
	env_free(&e);
}

static void downtime_events_carry_microseconds_as_nanoseconds_and_checkpoints(void **state)
{
	struct env e;
	const struct ms_ev_qemu_downtime *d;

	env_init(&e, NULL);
	for (size_t i = 17; i < 20; i++)
		ms_qemu_trace__line(e.t, samples[i], strlen(samples[i]));
	feed_str(&e, "1@2.000000:vmstate_downtime_checkpoint some-future-checkpoint\n");
	d = tu_recorder__nth(&e.rec, MS_EV_QEMU_DOWNTIME, 0);
	assert_int_equal(d->kind, MS_DOWNTIME_SAVE);
	assert_int_equal(d->dur_ns, 1500000);
	assert_int_equal(d->hdr.dev, dev_id(&e, MS_DEV_KIND_QEMU_SECTION, MS_ROLE_SOURCE, "ram"));
	d = tu_recorder__nth(&e.rec, MS_EV_QEMU_DOWNTIME, 1);
	assert_int_equal(d->kind, MS_DOWNTIME_LOAD);
	assert_int_equal(d->hdr.dev, dev_id(&e, MS_DEV_KIND_QEMU_SECTION, MS_ROLE_DEST, "cpu"));
	d = tu_recorder__nth(&e.rec, MS_EV_QEMU_DOWNTIME, 2);
	assert_int_equal(d->kind, MS_DOWNTIME_CHECKPOINT);
	assert_int_equal(d->hdr.dev, MS_DEV_NONE);
	assert_string_equal(ms_qemu_checkpoint_name(d->checkpoint), "src-downtime-start");
	d = tu_recorder__nth(&e.rec, MS_EV_QEMU_DOWNTIME, 3);
	assert_int_equal(d->checkpoint, MS_QEMU_CHECKPOINT_OTHER);
	env_free(&e);
}

static void iso8601_lines_of_qemu_10_1_are_stamped_in_utc(void **state)
{
	struct env e;
	const struct ms_ev_qemu_pending *p;

	env_init(&e, NULL);
	feed_str(&e, "2026-11-22T23:43:52.683217Z migrate_pending_exact exact pending size 9 (pre "
		     "= 8 post=1)\n"
		     "2026-11-22T23:43:52Z migrate_pending_exact exact pending size 9 (pre = 8 "
		     "post=1)\n"
		     "2026-11-23T00:43:52.5+01:00 migrate_pending_exact exact pending size 9 (pre "
		     "= 8 post=1)\n"
		     "2026-11-22T23:43:53.287405Z qemu-system-x86_64: terminating on signal 15\n");
	assert_int_equal(ms_qemu_trace__counts(e.t)->accepted, 3);
	assert_int_equal(ms_qemu_trace__counts(e.t)->not_trace, 1);
	/* the 7.2 fixture's own clock: 1795391032.683217 is 2026-11-22T23:43:52.683217Z */
	p = tu_recorder__nth(&e.rec, MS_EV_QEMU_PENDING, 0);
	assert_int_equal(p->hdr.ts_ns, 1795391032683217000ull);
	p = tu_recorder__nth(&e.rec, MS_EV_QEMU_PENDING, 1);
	assert_int_equal(p->hdr.ts_ns, 1795391032000000000ull);
	p = tu_recorder__nth(&e.rec, MS_EV_QEMU_PENDING, 2);
	assert_int_equal(p->hdr.ts_ns, 1795391032500000000ull);
	env_free(&e);
}

static void malformed_and_unknown_lines_are_counted_never_fatal(void **state)
{
	struct env e;
	const struct ms_qemu_trace_counts *n;

	env_init(&e, NULL);
	feed_str(&e, "1@1.000001:migrate_pending pending size lots\n"	     /* malformed */
		     "1@1.000001:savevm_section_end ram, section_id 2 -> \n" /* malformed */
		     "1@1.000001:migrate_pending pending size 99999999999999999999 max 0 (pre = 0 "
		     "compat=0 post=0)\n" /* overflow: malformed */
		     "1@1.000001:vfio_migration_set_state  (d) state NOT_A_STATE\n" /* malformed */
		     "1@1.000001:qemu_loadvm_state_section_partend 77\n" /* part of nothing */
		     "1@1.000001:some_future_event a=1\n"		 /* unknown */
		     "1@1.01:migrate_pending pending size 1 max 0 (pre = 1 compat=0 post=0)\n"
		     "garbage\n"
		     "\n"
		     "1@1.000001:\n");
	n = ms_qemu_trace__counts(e.t);
	assert_int_equal(n->lines, 10);
	assert_int_equal(n->malformed, 5);
	assert_int_equal(n->unknown, 1);
	assert_int_equal(n->not_trace, 4);
	assert_int_equal(n->accepted, 0);
	assert_int_equal(e.rec.count, 0);
	env_free(&e);
}

static void lines_of_an_earlier_migration_are_skipped_as_stale(void **state)
{
	struct ms_qemu_trace_opts o = { .not_before_wall_ns = 1795391032000000000ull,
					.wall_to_mono_ns = -1795391000000000000ll };
	struct env e;

	env_init(&e, &o);
	feed_file(&e, FIXTURES "qemu-src.log");
	assert_true(ms_qemu_trace__counts(e.t)->stale > 0);
	/* first pending after the cut: 7859@1795391032.056982, in stream time */
	assert_int_equal(
	    ((const struct ms_ev_qemu_pending *)tu_recorder__nth(&e.rec, MS_EV_QEMU_PENDING, 0))->hdr.ts_ns,
	    32056982000ull);
	env_free(&e);
}

static void vfio_device_filter_drops_other_devices(void **state)
{
	static const char *const only[] = { "keep", NULL };
	struct ms_qemu_trace_opts o = { .vfio_devices = only };
	struct env e;

	env_init(&e, &o);
	feed_str(&e, "1@1.000001:vfio_save_block  (other) data_size 10\n"
		     "1@1.000002:vfio_save_block  (keep) data_size 20\n");
	assert_int_equal(tu_recorder__count(&e.rec, MS_EV_DATA), 1);
	assert_int_equal(((const struct ms_ev_data *)tu_recorder__nth(&e.rec, MS_EV_DATA, 0))->bytes, 20);
	env_free(&e);
}

static void following_a_file_reads_appended_lines_and_a_truncated_file_again(void **state)
{
	char *path = tu_tmp_path(".log");
	struct ms_loop *l = ms_loop__new(0);
	struct env e;
	char err[MS_ERR_LEN];
	FILE *f;

	tu_write_file(path, "1@1.000001:savevm_section_start ram, section_id 2\n1@1.0000", 58);
	env_init(&e, NULL);
	assert_int_equal(ms_qemu_trace__follow(e.t, path, l, err, sizeof(err)), 0);
	assert_int_equal(tu_recorder__count(&e.rec, MS_EV_QEMU_SECTION), 1);
	f = fopen(path, "a");
	fputs("02:savevm_section_end ram, section_id 2 -> 0\n", f);
	fclose(f);
	assert_int_equal(ms_loop__run(l, 50000000ull), -ETIMEDOUT);
	assert_int_equal(tu_recorder__count(&e.rec, MS_EV_QEMU_SECTION), 2);
	/* QEMU restarted: the log starts again */
	tu_write_file(path, "1@2.000001:savevm_section_start ram, section_id 2\n", 50);
	assert_int_equal(ms_loop__run(l, 50000000ull), -ETIMEDOUT);
	assert_int_equal(tu_recorder__count(&e.rec, MS_EV_QEMU_SECTION), 3);
	ms_qemu_trace__free(e.t);
	e.t = NULL;
	ms_loop__free(l);
	env_free(&e);
	unlink(path);

	env_init(&e, NULL);
	assert_int_equal(ms_qemu_trace__follow(e.t, path, NULL, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, path));
	env_free(&e);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(source_log_of_a_real_migration_is_used_line_by_line),
		cmocka_unit_test(passes_of_the_real_migration_are_its_syncs),
		cmocka_unit_test(destination_log_pairs_every_loaded_section),
		cmocka_unit_test(feeding_in_pieces_gives_the_same_records_as_whole),
		cmocka_unit_test(every_format_of_every_release_is_understood),
		cmocka_unit_test(runstate_and_completion_lines_are_downtime_marks),
		cmocka_unit_test(pending_formats_all_give_precopy_postcopy_and_threshold),
		cmocka_unit_test(vfio_request_then_device_state_is_one_arc_with_its_duration),
		cmocka_unit_test(vfio_v1_states_and_data_follow_the_device_state),
		cmocka_unit_test(vfio_exact_pending_gives_stopcopy_size_and_precopy_bytes),
		cmocka_unit_test(downtime_events_carry_microseconds_as_nanoseconds_and_checkpoints),
		cmocka_unit_test(iso8601_lines_of_qemu_10_1_are_stamped_in_utc),
		cmocka_unit_test(malformed_and_unknown_lines_are_counted_never_fatal),
		cmocka_unit_test(lines_of_an_earlier_migration_are_skipped_as_stale),
		cmocka_unit_test(vfio_device_filter_drops_other_devices),
		cmocka_unit_test(following_a_file_reads_appended_lines_and_a_truncated_file_again),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
