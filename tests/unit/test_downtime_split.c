// SPDX-License-Identifier: GPL-2.0-only
/*
 * The VM's downtime by side (telemetry_split.c, docs/telemetry.md "Both
 * sides") on crafted streams: the orders of the marks that the real QEMUs
 * show only now and then (7.2's clock running on after the destination
 * resumed, 10.0's destination resuming after the clock stopped, no source
 * trace, a destination that went away).  The real two-QEMU runs on 7.2.22
 * and 10.0.2 are test_qemu_migration.c's and the corpus's
 * (tests/cli/test_corpus.sh); these take the marks where those put them.
 */
#include <string.h>

#include <migscope/qemu.h>
#include <migscope/session.h>
#include <migscope/telemetry.h>

#include "testutil.h"
#include "tmbuild.h"

struct both {
	struct ms_session *s;
	uint32_t src_ram, dst_ram, dst_dev, vm;
};

static void vm_record(struct ms_session *s, uint16_t type, uint32_t dev, double t_ms, uint32_t v)
{
	struct ms_ev_runstate rs = { 0 };
	struct ms_ev_loss l = { 0 };

	if (type == MS_EV_RUNSTATE) {
		MS_EVENT_INIT(&rs, MS_EV_RUNSTATE, ms_ev_runstate, dev, tb_ns(t_ms));
		rs.running = v;
		ms_stream__publish(&s->stream, &rs.hdr);
	} else {
		MS_EVENT_INIT(&l, MS_EV_LOSS, ms_ev_loss, dev, tb_ns(t_ms));
		l.reason = MS_LOSS_SOURCE_ERROR;
		ms_stream__publish(&s->stream, &l.hdr);
	}
}

/*
 * The source stops at 100 ms and saves RAM until save_end; the destination
 * loads RAM 100.2-load_end and one device 'load_end'-dev_end; downtime marks
 * of 7.2 (finish-migrate at 100, completed at completed_ms, postmigrate).
 */
static void both_sides(struct both *b, int src_trace, double save_end, double dev_end,
		       double completed_ms)
{
	struct ms_session *s = tb_session(NULL, 300, 100 * TB_MIB);

	b->s = s;
	b->src_ram = tb_dev(s, "ram", MS_DEV_KIND_QEMU_SECTION, MS_ROLE_SOURCE, MS_DEV_NONE);
	b->dst_ram = tb_dev(s, "ram", MS_DEV_KIND_QEMU_SECTION, MS_ROLE_DEST, MS_DEV_NONE);
	b->dst_dev = tb_dev(s, "apic", MS_DEV_KIND_QEMU_SECTION, MS_ROLE_DEST, MS_DEV_NONE);
	b->vm = ms_qemu_vm(&s->stream, tb_ns(1), MS_ROLE_DEST);
	tb_mark(s, 99.5, MS_MARK_LOW_PENDING);
	tb_mark(s, 100, MS_MARK_FINISH_MIGRATE);
	tb_runstate(s, 100.5, 0);
	if (src_trace) {
		tb_section(s, b->src_ram, 100.1, 2, MS_SECTION_SAVE_START);
		tb_section(s, b->src_ram, save_end, 2, MS_SECTION_SAVE_END);
	}
	tb_section(s, b->dst_ram, 100.2, 2, MS_SECTION_LOAD_START);
	tb_section(s, b->dst_ram, save_end + 0.5, 2, MS_SECTION_LOAD_END);
	tb_section(s, b->dst_dev, save_end + 0.5, 7, MS_SECTION_LOAD_START);
	tb_section(s, b->dst_dev, dev_end, 7, MS_SECTION_LOAD_END);
	tb_status(s, completed_ms, MS_MIG_COMPLETED);
	tb_mark(s, completed_ms + 0.01, MS_MARK_POSTMIGRATE);
}

static void parts_add_up(const struct ms_tm_report *r)
{
	const struct ms_tm_split *sp = &r->vm.split;

	assert_true(sp->have);
	assert_int_equal(sp->source_ns + sp->transfer_ns + sp->load_ns + sp->resume_ns +
			     sp->unaccounted_ns,
			 r->vm.downtime_end_ns - r->vm.downtime_start_ns);
}

/* 7.2's order: the destination runs while QEMU's clock still runs (source completing). */
static void clock_running_on_after_the_resume_is_unaccounted(void **state)
{
	struct both b;
	struct ms_tm_report r;

	both_sides(&b, 1, 104, 105, 106);
	vm_record(b.s, MS_EV_RUNSTATE, b.vm, 105.2, 1);
	assert_int_equal(ms_telemetry__analyze(&b.s->telemetry, &b.s->devices, &r), 0);
	parts_add_up(&r);
	/* downtime 100 - 106.01: source to 104, transfer 0 (the destination loads RAM then) */
	assert_int_equal(r.vm.split.source_ns, tb_ns(104) - tb_ns(100));
	assert_int_equal(r.vm.split.transfer_ns, 0);
	assert_int_equal(r.vm.split.load_ns, tb_ns(105) - tb_ns(104));
	assert_int_equal(r.vm.split.resume_ns, tb_ns(105.2) - tb_ns(105));
	assert_int_equal(r.vm.split.unaccounted_ns, tb_ns(106.01) - tb_ns(105.2));
	assert_string_equal(r.vm.split.unaccounted,
			    "QEMU's downtime clock ran on after the destination resumed");
	assert_int_equal(r.vm.split.beyond_ns, 0);
	/* the sections' loads inside the guest's pause (100 - 105.2): RAM 100.2 - 104.5 */
	assert_int_equal(r.dev[b.dst_ram].downtime_load_ns, tb_ns(104.5) - tb_ns(100.2));
	assert_string_equal(r.dev[b.dst_ram].downtime_load_by, "loadvm_section");
	assert_int_equal(r.dev[b.dst_dev].downtime_load_ns, tb_ns(105) - tb_ns(104.5));
	assert_null(r.dev[b.src_ram].downtime_load_by);
	ms_tm_report__free(&r);
	ms_session__free(b.s);
}

/* 10.0's usual order: the destination loads and runs after the clock stopped. */
static void resume_after_the_clock_stopped_is_said_beside(void **state)
{
	struct both b;
	struct ms_tm_report r;

	both_sides(&b, 1, 104, 107, 104.2);
	vm_record(b.s, MS_EV_RUNSTATE, b.vm, 107.5, 1);
	assert_int_equal(ms_telemetry__analyze(&b.s->telemetry, &b.s->devices, &r), 0);
	parts_add_up(&r);
	assert_int_equal(r.vm.split.source_ns, tb_ns(104) - tb_ns(100));
	/* the destination from the source's end to the clock's: its load, clipped */
	assert_int_equal(r.vm.split.load_ns, tb_ns(104.21) - tb_ns(104));
	assert_int_equal(r.vm.split.resume_ns, 0);
	assert_int_equal(r.vm.split.unaccounted_ns, 0);
	assert_null(r.vm.split.unaccounted);
	assert_int_equal(r.vm.split.beyond_ns, tb_ns(107.5) - tb_ns(104.21));
	/* the marks are QEMU's, not the clipped cuts */
	assert_int_equal(r.vm.split.loaded_ns, tb_ns(107));
	assert_int_equal(r.vm.split.running_ns, tb_ns(107.5));
	ms_tm_report__free(&r);
	ms_session__free(b.s);
}

/*
 * Without the source's trace: no transfer, and the source's part runs to the
 * destination's first load after the stop (from there on it is the one
 * known to be working).
 */
static void no_source_trace_folds_the_transfer_into_the_source(void **state)
{
	struct both b;
	struct ms_tm_report r;

	both_sides(&b, 0, 104, 105, 106);
	vm_record(b.s, MS_EV_RUNSTATE, b.vm, 105.2, 1);
	assert_int_equal(ms_telemetry__analyze(&b.s->telemetry, &b.s->devices, &r), 0);
	parts_add_up(&r);
	assert_false(r.vm.split.have_saved);
	assert_int_equal(r.vm.split.transfer_ns, 0);
	/* the first load to start after the stop is RAM's last pass at 100.2 */
	assert_int_equal(r.vm.split.source_ns, tb_ns(100.2) - tb_ns(100));
	assert_int_equal(r.vm.split.load_ns, tb_ns(105) - tb_ns(100.2));
	ms_tm_report__free(&r);
	ms_session__free(b.s);
}

/* The destination went away before it resumed: unaccounted, and when it went. */
static void destination_gone_before_its_resume(void **state)
{
	struct both b;
	struct ms_tm_report r;

	both_sides(&b, 1, 104, 105, 106);
	vm_record(b.s, MS_EV_LOSS, b.vm, 105.1, 0);
	assert_int_equal(ms_telemetry__analyze(&b.s->telemetry, &b.s->devices, &r), 0);
	parts_add_up(&r);
	assert_true(r.vm.split.watched);
	assert_false(r.vm.split.have_running);
	assert_int_equal(r.vm.split.lost_ns, tb_ns(105.1));
	assert_int_equal(r.vm.split.unaccounted_ns, tb_ns(106.01) - tb_ns(105));
	assert_string_equal(r.vm.split.unaccounted, "the destination went away before it resumed");
	ms_tm_report__free(&r);
	ms_session__free(b.s);
}

/* The destination's resume never mixes with the source's runstate: the downtime is the source's. */
static void destination_resume_leaves_the_source_downtime_alone(void **state)
{
	struct both b;
	struct ms_tm_report r;

	both_sides(&b, 1, 104, 105, 106);
	/* before the source's completion: as the source's RESUME it would end the downtime */
	vm_record(b.s, MS_EV_RUNSTATE, b.vm, 105.2, 1);
	assert_int_equal(ms_telemetry__analyze(&b.s->telemetry, &b.s->devices, &r), 0);
	assert_int_equal(r.vm.downtime_end_ns, tb_ns(106.01));
	assert_string_equal(r.vm.end.at, "runstate postmigrate");
	ms_tm_report__free(&r);
	ms_session__free(b.s);
}

/* Only the source watched: no split, no destination. */
static void source_only_has_no_split(void **state)
{
	struct ms_session *s = tb_session(NULL, 300, 100 * TB_MIB);
	uint32_t ram = tb_dev(s, "ram", MS_DEV_KIND_QEMU_SECTION, MS_ROLE_SOURCE, MS_DEV_NONE);
	struct ms_tm_report r;

	tb_mark(s, 100, MS_MARK_FINISH_MIGRATE);
	tb_runstate(s, 100.5, 0);
	tb_section(s, ram, 100.1, 2, MS_SECTION_SAVE_START);
	tb_section(s, ram, 104, 2, MS_SECTION_SAVE_END);
	tb_status(s, 106, MS_MIG_COMPLETED);
	assert_int_equal(ms_telemetry__analyze(&s->telemetry, &s->devices, &r), 0);
	assert_true(r.vm.have_downtime);
	assert_false(r.vm.split.have);
	assert_false(r.vm.split.watched);
	ms_tm_report__free(&r);
	ms_session__free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(clock_running_on_after_the_resume_is_unaccounted),
		cmocka_unit_test(resume_after_the_clock_stopped_is_said_beside),
		cmocka_unit_test(no_source_trace_folds_the_transfer_into_the_source),
		cmocka_unit_test(destination_gone_before_its_resume),
		cmocka_unit_test(destination_resume_leaves_the_source_downtime_alone),
		cmocka_unit_test(source_only_has_no_split),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
