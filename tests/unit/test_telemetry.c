// SPDX-License-Identifier: GPL-2.0-only
/*
 * Telemetry: verdicts on synthetic series with known answers, downtime and its
 * breakdown from a constructed timeline, and the VM's downtime from QEMU's
 * events (numbers from the recorded QEMU 7.2 migration in shared/fixtures).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <migscope/pass.h>
#include <migscope/session.h>
#include <migscope/telemetry.h>
#include <migscope/vfio_compat.h>

#include "testutil.h"
#include "tmbuild.h"

#define RUNNING	     VFIO_DEVICE_STATE_RUNNING
#define STOP	     VFIO_DEVICE_STATE_STOP
#define STOP_COPY    VFIO_DEVICE_STATE_STOP_COPY
#define RESUMING     VFIO_DEVICE_STATE_RESUMING
#define RUNNING_P2P  VFIO_DEVICE_STATE_RUNNING_P2P
#define PRE_COPY     VFIO_DEVICE_STATE_PRE_COPY
#define PRE_COPY_P2P VFIO_DEVICE_STATE_PRE_COPY_P2P

#define MS(ns) ((double)(ns) / 1e6)

static void analyze(struct ms_session *s, struct ms_tm_report *r)
{
	assert_int_equal(ms_telemetry__analyze(&s->telemetry, &s->devices, r), 0);
}

/* 300 ms at 100 MiB/s: 30 MiB fit the downtime limit */
static struct ms_session *limited_session(void)
{
	return tb_session(NULL, 300, 100 * TB_MIB);
}

static void light_workload_falling_under_threshold_is_converging(void **state)
{
	struct ms_session *s = limited_session();
	uint32_t d = tb_dev(s, "light", MS_DEV_KIND_REF, MS_ROLE_SOURCE, MS_DEV_NONE);
	struct ms_tm_report r;

	tb_workload(s, d, 0, 3000,
		    &(struct tb_load){ .initial = 256 * TB_MIB,
				       .move_bps = 100 * TB_MIB,
				       .dirty_bps = 10 * TB_MIB,
				       .ws = 64 * TB_MIB });
	analyze(s, &r);
	assert_int_equal(r.vm.threshold, 30 * TB_MIB);
	assert_int_equal(r.dev[d].conv.verdict, MS_VERDICT_CONVERGING);
	assert_true(r.dev[d].conv.pending <= 30 * TB_MIB);
	assert_non_null(strstr(r.dev[d].conv.reason, "under the threshold"));
	assert_int_equal(r.dev[d].conv.samples, 31);
	assert_int_equal(r.dev[d].conv.reinits, 0);
	ms_tm_report__free(&r);
	ms_session__free(s);
}

/* Still draining its initial bytes: the first pass has not ended, nothing to judge yet. */
static void light_workload_in_its_first_pass_is_unknown(void **state)
{
	struct ms_session *s = limited_session();
	uint32_t d = tb_dev(s, "light", MS_DEV_KIND_REF, MS_ROLE_SOURCE, MS_DEV_NONE);
	struct ms_tm_report r;
	const struct ms_tm_convergence *c;

	/* 256 MiB drained at 100 MiB/s while 10 MiB/s is dirtied */
	tb_workload(s, d, 0, 1500,
		    &(struct tb_load){ .initial = 256 * TB_MIB,
				       .move_bps = 100 * TB_MIB,
				       .dirty_bps = 10 * TB_MIB,
				       .ws = 64 * TB_MIB });
	analyze(s, &r);
	c = &r.dev[d].conv;
	assert_int_equal(c->verdict, MS_VERDICT_UNKNOWN);
	assert_int_equal(c->passes, 0);
	assert_true(c->pending > 30 * TB_MIB);
	assert_int_equal(c->switchover_ns, MS_STAT_UNSET);
	assert_non_null(strstr(c->reason, "no complete pass yet: the first has run 1.5 s"));
	ms_tm_report__free(&r);
	ms_session__free(s);
}

/*
 * Past its first pass, but a first pass under-counts dirtying (writes to pages
 * it has not sent yet add nothing): still unknown, with the pass's rates.
 */
static void light_workload_after_its_first_pass_is_still_unknown(void **state)
{
	struct ms_session *s = limited_session();
	uint32_t d = tb_dev(s, "light", MS_DEV_KIND_REF, MS_ROLE_SOURCE, MS_DEV_NONE);
	struct ms_tm_report r;
	const struct ms_tm_convergence *c;

	tb_workload(s, d, 0, 2700,
		    &(struct tb_load){ .initial = 256 * TB_MIB,
				       .move_bps = 100 * TB_MIB,
				       .dirty_bps = 20 * TB_MIB,
				       .ws = 64 * TB_MIB });
	analyze(s, &r);
	c = &r.dev[d].conv;
	assert_int_equal(c->verdict, MS_VERDICT_UNKNOWN);
	assert_true(c->pending > 30 * TB_MIB);
	assert_int_equal(c->passes, 1);
	assert_true(c->have_rates);
	assert_true(fabs(c->transfer_bps - 100.0 * TB_MIB) < 0.01 * 100 * TB_MIB);
	assert_true(fabs(c->dirty_bps - 20.0 * TB_MIB) < 0.05 * 20 * TB_MIB);
	assert_int_equal(c->switchover_ns, MS_STAT_UNSET);
	assert_non_null(strstr(c->reason, "a first pass under-counts dirtying"));
	ms_tm_report__free(&r);
	ms_session__free(s);
}

static void fast_workload_dirtying_faster_than_moving_is_diverging(void **state)
{
	struct ms_session *s = limited_session();
	uint32_t d = tb_dev(s, "fast", MS_DEV_KIND_REF, MS_ROLE_SOURCE, MS_DEV_NONE);
	struct ms_tm_report r;
	const struct ms_tm_convergence *c;

	tb_workload(s, d, 0, 2000,
		    &(struct tb_load){ .initial = 64 * TB_MIB,
				       .move_bps = 50 * TB_MIB,
				       .dirty_bps = 200 * TB_MIB,
				       .ws = 1024 * TB_MIB });
	analyze(s, &r);
	c = &r.dev[d].conv;
	assert_int_equal(c->verdict, MS_VERDICT_DIVERGING);
	assert_true(fabs(c->dirty_bps - 200.0 * TB_MIB) < 0.01 * 200 * TB_MIB);
	assert_true(fabs(c->transfer_bps - 50.0 * TB_MIB) < 0.01 * 50 * TB_MIB);
	assert_non_null(strstr(c->reason, "outpaces moving 50.00 MiB/s"));
	/* the VM converges as its worst device does */
	assert_int_equal(r.vm.conv.verdict, MS_VERDICT_DIVERGING);
	assert_string_equal(r.vm.conv.basis, "devices");
	assert_non_null(strstr(r.vm.conv.reason, "fast: "));
	ms_tm_report__free(&r);
	ms_session__free(s);
}

static void working_set_larger_than_threshold_is_stalled(void **state)
{
	struct ms_session *s = limited_session();
	uint32_t d = tb_dev(s, "ws", MS_DEV_KIND_REF, MS_ROLE_SOURCE, MS_DEV_NONE);
	struct ms_tm_report r;

	/* dirty bytes saturate at the 128 MiB working set: pending stays flat */
	tb_workload(s, d, 0, 3000,
		    &(struct tb_load){ .initial = 64 * TB_MIB,
				       .move_bps = 100 * TB_MIB,
				       .dirty_bps = 200 * TB_MIB,
				       .ws = 128 * TB_MIB });
	analyze(s, &r);
	assert_int_equal(r.dev[d].conv.verdict, MS_VERDICT_STALLED);
	assert_int_equal(r.dev[d].conv.pending, 128 * TB_MIB);
	assert_non_null(strstr(r.dev[d].conv.reason, "above the threshold 30.00 MiB"));
	ms_tm_report__free(&r);
	ms_session__free(s);
}

/*
 * QEMU's pending in a migration that cannot converge: each dirty sync refills
 * the working set (1.9 MiB at 4 MiB/s, limit 20 ms), then it drains.  Judged
 * on its falling flank it would converge; what each sync leaves does not
 * shrink: stalled, at every point of the run.
 */
static void sawtooth_of_syncs_is_stalled_at_every_point(void **state)
{
	struct ms_session *s = tb_session(NULL, 20, 4 * TB_MIB);
	uint32_t d = tb_dev(s, "ram", MS_DEV_KIND_QEMU_SECTION, MS_ROLE_SOURCE, MS_DEV_NONE);
	struct ms_tm_report r;
	uint32_t pass = 0;

	for (unsigned int i = 0; i < 60; i++) {
		double t = 100.0 * i;
		uint64_t left = (1904 - (i / 5) * 4) * 1024ull; /* what a sync leaves: ~flat */

		if (i % 5 == 0) {
			tb_pass(s, d, t, ++pass, left);
			tb_pending(s, d, t, left, 80 * 1024);
		} else {
			tb_pending_between(s, d, t, left - (i % 5) * 412 * 1024, 80 * 1024);
		}
		analyze(s, &r);
		assert_int_not_equal(r.dev[d].conv.verdict, MS_VERDICT_CONVERGING);
		if (pass >= 3)
			assert_int_equal(r.dev[d].conv.verdict, MS_VERDICT_STALLED);
		ms_tm_report__free(&r);
	}
	analyze(s, &r);
	assert_int_equal(r.dev[d].conv.passes, 11);
	/* QEMU's RAM: what would move is what the last sync left, not the flank's low */
	assert_int_equal(r.dev[d].conv.pending, (1904 - 11 * 4) * 1024ull);
	assert_true(r.dev[d].conv.predicted_ns > 20000000);
	assert_non_null(strstr(r.dev[d].conv.reason, "reaches moving"));
	ms_tm_report__free(&r);
	ms_session__free(s);
}

/* The same sawtooth where each sync leaves 60% of the one before: converging. */
static void sawtooth_whose_syncs_leave_less_each_pass_is_converging(void **state)
{
	struct ms_session *s = tb_session(NULL, 20, 4 * TB_MIB);
	uint32_t d = tb_dev(s, "ram", MS_DEV_KIND_QEMU_SECTION, MS_ROLE_SOURCE, MS_DEV_NONE);
	struct ms_tm_report r;
	double left = 8192 * 1024.0, t = 0;

	/* a pass moves what the last sync left at 4 MiB/s; it dirties 2.4 MiB/s meanwhile */
	for (uint32_t pass = 1; pass <= 4; pass++) {
		double dur = left / (4.0 * TB_MIB) * 1e3;

		tb_pass(s, d, t, pass, (uint64_t)left);
		tb_pending(s, d, t, (uint64_t)left, 80 * 1024);
		tb_pending_between(s, d, t + dur / 2, (uint64_t)(left / 2), 80 * 1024);
		t += dur;
		left *= 0.6;
	}
	analyze(s, &r);
	assert_int_equal(r.dev[d].conv.verdict, MS_VERDICT_CONVERGING);
	assert_int_equal(r.dev[d].conv.passes, 3);
	assert_true(fabs(r.dev[d].conv.ratio - 0.6) < 0.02);
	assert_true(r.dev[d].conv.switchover_ns != MS_STAT_UNSET);
	ms_tm_report__free(&r);
	ms_session__free(s);
}

/*
 * QEMU's syncs as QEMU 7.2 made them in the corpus run q72-converge-many (an
 * 8 MiB working set written at 1500 pages/s, 8 MiB/s, limit 50 ms): the setup
 * sync leaves all 128.5 MiB, pass 1 (1.04 s) 6.10 MiB, pass 2 (0.81 s) 4.73
 * MiB.  Each pass is judged with the RAM sampled once more halfway through it.
 */
static void qemu_sync_pass(struct ms_session *s, uint32_t d, double t_ms, uint32_t pass,
			   uint64_t left, double next_ms)
{
	tb_pass(s, d, t_ms, pass, left);
	tb_pending(s, d, t_ms, left, 410 * 1024);
	tb_pending_between(s, d, (t_ms + next_ms) / 2, left / 2, 410 * 1024);
}

/*
 * After pass 1 only: unknown (the first pass's dirty rate is a lower bound).
 * After pass 2, which left x0.78 of pass 1 (clearly less: the working set did
 * not cap it), dirtying 5.85 MiB/s against 8 MiB/s (clearly under) and no
 * faster per second than pass 1's 5.87 MiB/s (so that rate is the guest's,
 * whatever a pass's length): converging, projected at x0.78 a pass.  The run
 * completed 2.1 s later, after 12 syncs.
 */
static void syncs_leaving_less_at_a_flat_rate_converge_after_pass_2(void **state)
{
	struct ms_session *s = tb_session(NULL, 50, 8 * TB_MIB);
	uint32_t d = tb_dev(s, "ram", MS_DEV_KIND_QEMU_SECTION, MS_ROLE_SOURCE, MS_DEV_NONE);
	struct ms_tm_report r;

	qemu_sync_pass(s, d, 0, 1, 128.5 * TB_MIB, 1040);
	qemu_sync_pass(s, d, 1040, 2, 6.10 * TB_MIB, 1849);
	analyze(s, &r);
	assert_int_equal(r.dev[d].conv.verdict, MS_VERDICT_UNKNOWN);
	assert_non_null(strstr(r.dev[d].conv.reason, "judged after the next"));
	ms_tm_report__free(&r);

	qemu_sync_pass(s, d, 1849, 3, 4.73 * TB_MIB, 2459);
	analyze(s, &r);
	assert_int_equal(r.dev[d].conv.verdict, MS_VERDICT_CONVERGING);
	assert_int_equal(r.dev[d].conv.passes, 2);
	assert_true(fabs(r.dev[d].conv.ratio - 4.73 / 6.10) < 0.01);
	assert_true(r.dev[d].conv.switchover_ns != MS_STAT_UNSET);
	assert_non_null(strstr(r.dev[d].conv.reason, "pass 2 left 4.73 MiB (x0.78 a pass"));
	tb_assert_report_consistent(&r);
	ms_tm_report__free(&r);
	ms_session__free(s);
}

/*
 * The same, but pass 2 (1 s) dirtied 5 MiB/s where pass 1 (2 s) showed 4 MiB/s:
 * a working set capped the longer pass, so shorter passes may leave a larger
 * share than x0.62.  Unknown until the next, though pass 2 left clearly less.
 */
static void a_second_pass_dirtying_faster_per_second_is_not_projected(void **state)
{
	struct ms_session *s = tb_session(NULL, 50, 8 * TB_MIB);
	uint32_t d = tb_dev(s, "ram", MS_DEV_KIND_QEMU_SECTION, MS_ROLE_SOURCE, MS_DEV_NONE);
	struct ms_tm_report r;

	qemu_sync_pass(s, d, 0, 1, 128.5 * TB_MIB, 2000);
	qemu_sync_pass(s, d, 2000, 2, 8 * TB_MIB, 3000);
	qemu_sync_pass(s, d, 3000, 3, 5 * TB_MIB, 3625);
	analyze(s, &r);
	assert_int_equal(r.dev[d].conv.verdict, MS_VERDICT_UNKNOWN);
	assert_non_null(strstr(r.dev[d].conv.reason, "shorter passes may leave a larger share"));
	tb_assert_report_consistent(&r);
	ms_tm_report__free(&r);
	ms_session__free(s);
}

/*
 * Pass 2 left 88% of pass 1 (dirtying 7.04 MiB/s of 8): under the 95% and 90%
 * that say stalled, over the 85% that says the working set did not cap it.
 */
static void a_second_pass_leaving_not_clearly_less_is_unknown(void **state)
{
	struct ms_session *s = tb_session(NULL, 50, 8 * TB_MIB);
	uint32_t d = tb_dev(s, "ram", MS_DEV_KIND_QEMU_SECTION, MS_ROLE_SOURCE, MS_DEV_NONE);
	struct ms_tm_report r;

	qemu_sync_pass(s, d, 0, 1, 128.5 * TB_MIB, 1000);
	qemu_sync_pass(s, d, 1000, 2, 8 * TB_MIB, 2000);
	qemu_sync_pass(s, d, 2000, 3, 7.04 * TB_MIB, 2880);
	analyze(s, &r);
	assert_int_equal(r.dev[d].conv.verdict, MS_VERDICT_UNKNOWN);
	assert_non_null(strstr(r.dev[d].conv.reason, "not clearly less than pass 1"));
	tb_assert_report_consistent(&r);
	ms_tm_report__free(&r);
	ms_session__free(s);
}

/*
 * QEMU's measured dirty rate (calc-dirty-rate, under KVM), 8 MiB/s and 50 ms
 * (a threshold of 410 KiB).  Inside the first pass, which sends all 128.5
 * MiB: the setup sync, then the RAM falling as it is sent.
 */
static struct ms_session *first_pass(uint32_t *d, double until_ms)
{
	struct ms_session *s = tb_session(NULL, 50, 8 * TB_MIB);

	*d = tb_dev(s, "ram", MS_DEV_KIND_QEMU_SECTION, MS_ROLE_SOURCE, MS_DEV_NONE);
	tb_pass(s, *d, 0, 1, 128.5 * TB_MIB);
	tb_pending(s, *d, 0, 128.5 * TB_MIB, 410 * 1024);
	for (double t = 100; t <= until_ms; t += 100)
		tb_pending_between(s, *d, t, (uint64_t)((128.5 - t / 1000 * 8) * TB_MIB),
				   410 * 1024);
	return s;
}

/*
 * 250 ms and 1 s windows both at 5-6 MiB/s: the rate is flat from zero to a
 * second, the guest's own, x0.75 at most a pass against 8 MiB/s.  Converging
 * inside the first pass, with a time to switchover; with one window length
 * only, or without the measurement, unknown as before.
 */
static void measured_rate_flat_over_two_windows_converges_in_the_first_pass(void **state)
{
	uint32_t d;
	struct ms_session *s = first_pass(&d, 1500);
	struct ms_tm_report r;

	analyze(s, &r);
	assert_int_equal(r.dev[d].conv.verdict, MS_VERDICT_UNKNOWN);
	assert_non_null(strstr(r.dev[d].conv.reason, "no complete pass yet"));
	ms_tm_report__free(&r);

	tb_dirty_rate(s, 400, 250, 5, 6);
	analyze(s, &r);
	assert_int_equal(r.dev[d].conv.verdict, MS_VERDICT_UNKNOWN);
	ms_tm_report__free(&r);
	/* QEMU took 253 ms for 250: the same length, still one */
	tb_dirty_rate(s, 700, 253, 5, 6);
	analyze(s, &r);
	assert_int_equal(r.dev[d].conv.verdict, MS_VERDICT_UNKNOWN);
	ms_tm_report__free(&r);

	tb_dirty_rate(s, 1450, 1000, 5, 6);
	analyze(s, &r);
	assert_int_equal(r.dev[d].conv.verdict, MS_VERDICT_CONVERGING);
	/* 6 MiB/s, the upper bound, over the 8 MiB/s in QEMU's 410 KiB threshold */
	assert_true(fabs(r.dev[d].conv.ratio - 0.75) < 0.01);
	assert_true(r.dev[d].conv.switchover_ns != MS_STAT_UNSET && r.dev[d].conv.switchover_ns);
	assert_non_null(strstr(r.dev[d].conv.reason,
			       "calc-dirty-rate 5.00 MiB/s over 253 ms, 5.00 MiB/s over 1.0 s"));
	/* the VM's verdict is the worst of its parts: the RAM's here */
	assert_int_equal(r.vm.conv.verdict, MS_VERDICT_CONVERGING);
	tb_assert_report_consistent(&r);
	ms_tm_report__free(&r);
	ms_session__free(s);
}

/*
 * A 3 MiB working set rewritten faster than a quarter second: 12 MiB/s over
 * 250 ms, 3 MiB/s over a second.  The shorter window dirties faster per
 * second: a working set caps the longer, and shorter passes would leave a
 * larger share.  Not converging (the trap a first pass's rate falls into),
 * and not stalled either against 16 MiB/s.
 */
static void measured_rate_rising_at_shorter_windows_is_not_projected(void **state)
{
	struct ms_session *s = tb_session(NULL, 50, 16 * TB_MIB);
	uint32_t d = tb_dev(s, "ram", MS_DEV_KIND_QEMU_SECTION, MS_ROLE_SOURCE, MS_DEV_NONE);
	struct ms_tm_report r;

	tb_pass(s, d, 0, 1, 128.5 * TB_MIB);
	tb_pending(s, d, 0, 128.5 * TB_MIB, 820 * 1024);
	tb_pending_between(s, d, 1400, 110 * TB_MIB, 820 * 1024);
	tb_dirty_rate(s, 350, 250, 12, 13);
	tb_dirty_rate(s, 1350, 1000, 3, 4);
	analyze(s, &r);
	assert_int_equal(r.dev[d].conv.verdict, MS_VERDICT_UNKNOWN);
	tb_assert_report_consistent(&r);
	ms_tm_report__free(&r);
	ms_session__free(s);
}

/*
 * An 8 MiB working set rewritten as fast as the guest can: 32 MiB/s over
 * 250 ms against 8 MiB/s.  Every pass that short leaves 8 MiB, far above the
 * 410 KiB that fit 50 ms: stalled inside the first pass.
 */
static void measured_rate_reaching_the_link_is_stalled_in_the_first_pass(void **state)
{
	uint32_t d;
	struct ms_session *s = first_pass(&d, 600);
	struct ms_tm_report r;

	/* the dirty ring's rate counts a page at every harvest: not a window's pages */
	tb_dirty_rate_mode(s, 550, 250, 32, 33, MS_DIRTY_RATE_DIRTY_RING);
	analyze(s, &r);
	assert_int_equal(r.dev[d].conv.verdict, MS_VERDICT_UNKNOWN);
	ms_tm_report__free(&r);
	tb_dirty_rate(s, 550, 250, 32, 33);
	analyze(s, &r);
	assert_int_equal(r.dev[d].conv.verdict, MS_VERDICT_STALLED);
	assert_non_null(strstr(r.dev[d].conv.reason,
			       "dirtying at least 32.00 MiB/s over 250 ms reaches moving"));
	assert_non_null(strstr(r.dev[d].conv.reason, "a pass that short leaves 8.00 MiB"));
	tb_assert_report_consistent(&r);
	ms_tm_report__free(&r);
	ms_session__free(s);
}

/*
 * A window a dirty sync fell into counts a page once per sync: 40 MiB/s over
 * a second with a sync at 1.2 s is no measurement.  Left out, the verdict is
 * the passes' (unknown after a first pass); a window before the sync decides.
 */
static void a_window_a_sync_fell_into_is_not_a_measurement(void **state)
{
	struct ms_session *s = tb_session(NULL, 50, 8 * TB_MIB);
	uint32_t d = tb_dev(s, "ram", MS_DEV_KIND_QEMU_SECTION, MS_ROLE_SOURCE, MS_DEV_NONE);
	struct ms_tm_report r;

	qemu_sync_pass(s, d, 0, 1, 128.5 * TB_MIB, 1200);
	qemu_sync_pass(s, d, 1200, 2, 6 * TB_MIB, 1950);
	tb_dirty_rate(s, 1700, 1000, 40, 41);
	analyze(s, &r);
	assert_int_equal(r.dev[d].conv.verdict, MS_VERDICT_UNKNOWN);
	assert_non_null(strstr(r.dev[d].conv.reason, "a first pass under-counts dirtying"));
	ms_tm_report__free(&r);
	ms_session__free(s);

	s = tb_session(NULL, 50, 8 * TB_MIB);
	d = tb_dev(s, "ram", MS_DEV_KIND_QEMU_SECTION, MS_ROLE_SOURCE, MS_DEV_NONE);
	qemu_sync_pass(s, d, 0, 1, 128.5 * TB_MIB, 1200);
	tb_dirty_rate(s, 900, 500, 40, 41);
	qemu_sync_pass(s, d, 1200, 2, 6 * TB_MIB, 1950);
	analyze(s, &r);
	assert_int_equal(r.dev[d].conv.verdict, MS_VERDICT_STALLED);
	ms_tm_report__free(&r);
	ms_session__free(s);
}

/*
 * QEMU makes the setup's sync before it reports `active`, and the watch
 * starts a window only once it has seen `active`: a window begun 1 ms after
 * the setup's boundary (QEMU 7.2.22 live: 0.65 ms) is a measurement, whatever
 * the clocks' slack.  One begun before `active` may hold that sync: none.
 */
static void the_setup_sync_is_not_in_a_window_begun_once_active(void **state)
{
	uint32_t d;
	struct ms_session *s = first_pass(&d, 1100);
	struct ms_tm_report r;

	tb_status(s, 0.5, MS_MIG_ACTIVE);
	tb_dirty_rate(s, 1001, 1000, 32, 34);
	analyze(s, &r);
	assert_int_equal(r.dev[d].conv.verdict, MS_VERDICT_STALLED);
	tb_assert_report_consistent(&r);
	ms_tm_report__free(&r);
	ms_session__free(s);

	s = first_pass(&d, 1100);
	tb_status(s, 5, MS_MIG_ACTIVE);
	tb_dirty_rate(s, 1001, 1000, 32, 34);
	analyze(s, &r);
	assert_int_equal(r.dev[d].conv.verdict, MS_VERDICT_UNKNOWN);
	ms_tm_report__free(&r);
	ms_session__free(s);
}

/*
 * QEMU 7.2's corpus run converge-24m: pass 1 (1.59 s) left 15.34 MiB, 9.60
 * MiB/s against 16 MiB/s, a first pass's lower bound.  A 1 s window inside
 * it measured 9 MiB/s (7.2 truncates: 9 to 11): the shorter window no faster
 * per second, so 9.6 is the guest's own rate: converging after pass 1.
 */
static void a_first_pass_and_a_shorter_window_at_one_rate_converge(void **state)
{
	struct ms_session *s = tb_session(NULL, 100, 16 * TB_MIB);
	uint32_t d = tb_dev(s, "ram", MS_DEV_KIND_QEMU_SECTION, MS_ROLE_SOURCE, MS_DEV_NONE);
	struct ms_tm_report r;

	tb_pass(s, d, 0, 1, 128.5 * TB_MIB);
	tb_pending(s, d, 0, 128.5 * TB_MIB, 1640 * 1024);
	tb_dirty_rate(s, 1300, 1000, 9, 11);
	tb_pass(s, d, 1590, 2, 15.34 * TB_MIB);
	tb_pending(s, d, 1590, 15.34 * TB_MIB, 1640 * 1024);
	tb_pending_between(s, d, 1900, 10.5 * TB_MIB, 1640 * 1024);
	analyze(s, &r);
	assert_int_equal(r.dev[d].conv.verdict, MS_VERDICT_CONVERGING);
	assert_non_null(
	    strstr(r.dev[d].conv.reason,
		   "calc-dirty-rate 9.00 MiB/s over 1.0 s, pass 1 9.65 MiB/s over 1.6 s"));
	tb_assert_report_consistent(&r);
	ms_tm_report__free(&r);
	ms_session__free(s);
}

/*
 * Pre-copy drains initial and dirty bytes to nothing, but most of the state
 * only moves in STOP_COPY: the stop-copy size stays at 500 MiB.  That cannot
 * make a 300 ms limit at 100 MiB/s: stalled, judged on the stop-copy size.
 */
static void precopy_drained_but_stop_copy_size_stuck_is_stalled(void **state)
{
	struct ms_session *s = limited_session();
	uint32_t d = tb_dev(s, "big", MS_DEV_KIND_REF, MS_ROLE_SOURCE, MS_DEV_NONE);
	struct ms_tm_report r;

	for (int i = 0; i < 20; i++) {
		uint64_t initial = i < 8 ? (8 - (uint64_t)i) * TB_MIB : 0;

		tb_precopy(s, d, 100.0 * i, initial, 0, 0);
		tb_stopcopy(s, d, 100.0 * i, 500 * TB_MIB + initial);
	}
	analyze(s, &r);
	assert_string_equal(r.dev[d].conv.basis, "stopcopy");
	assert_int_equal(r.dev[d].conv.verdict, MS_VERDICT_STALLED);
	assert_int_equal(r.dev[d].conv.pending, 500 * TB_MIB);
	assert_int_equal(r.dev[d].conv.initial, 0);
	assert_int_equal(r.dev[d].conv.predicted_ns, 5000000000ull);
	ms_tm_report__free(&r);
	ms_session__free(s);
}

/*
 * A device whose whole state fits the threshold can switch over now: mtty's
 * 96 B stop-copy size, constant, with its pre-copy drained (QEMU's "exact
 * pending" under the threshold), is converging at every query, never stalled.
 * One without pre-copy (capabilities STOP_COPY only) likewise; with 500 MiB it
 * is stalled, its whole state moving after the stop.
 */
static void a_device_whose_whole_state_fits_is_converging_never_stalled(void **state)
{
	struct ms_session *s = limited_session();
	uint32_t mtty = tb_dev(s, "mtty", MS_DEV_KIND_VFIO, MS_ROLE_SOURCE, MS_DEV_NONE);
	uint32_t small = ms_stream__add_device(&s->stream, TB_T0, MS_DEV_KIND_VFIO, MS_ROLE_SOURCE,
					       VFIO_MIGRATION_STOP_COPY, MS_DEV_NONE, "small");
	uint32_t big = ms_stream__add_device(&s->stream, TB_T0, MS_DEV_KIND_VFIO, MS_ROLE_SOURCE,
					     VFIO_MIGRATION_STOP_COPY, MS_DEV_NONE, "big");
	struct ms_tm_report r;

	for (int i = 0; i < 20; i++) {
		tb_precopy(s, mtty, 100.0 * i, i ? 0 : 96, 0, 0);
		tb_stopcopy(s, mtty, 100.0 * i, 96);
		tb_stopcopy(s, small, 100.0 * i, 96);
		tb_stopcopy(s, big, 100.0 * i, 500 * TB_MIB);
		analyze(s, &r);
		assert_int_equal(r.dev[mtty].conv.verdict, MS_VERDICT_CONVERGING);
		assert_int_equal(r.dev[mtty].conv.switchover_ns, 0);
		assert_non_null(strstr(r.dev[mtty].conv.reason, "it can switch over now"));
		assert_int_equal(r.dev[small].conv.verdict, MS_VERDICT_CONVERGING);
		assert_int_equal(r.dev[big].conv.verdict, MS_VERDICT_STALLED);
		assert_non_null(strstr(r.dev[big].conv.reason, "no pre-copy"));
		tb_assert_report_consistent(&r);
		ms_tm_report__free(&r);
	}
	ms_session__free(s);
}

static void reinit_flagged_and_inferred_are_counted(void **state)
{
	struct ms_session *s = limited_session();
	uint32_t d = tb_dev(s, "reinit", MS_DEV_KIND_REF, MS_ROLE_SOURCE, MS_DEV_NONE);
	struct ms_tm_report r;
	/* initial drains to 0, REINIT (flagged) to 40 MiB, drains, grows again unflagged */
	static const uint64_t initial[] = { 64, 32, 0, 0, 40, 20, 0, 0, 30, 10, 0 };

	for (unsigned int i = 0; i < sizeof(initial) / sizeof(initial[0]); i++)
		tb_precopy(s, d, 100.0 * i, initial[i] * TB_MIB, TB_MIB,
			   i == 4 ? MS_PRECOPY_REINIT : 0);
	analyze(s, &r);
	assert_int_equal(r.dev[d].conv.reinits, 2);
	assert_int_equal(r.dev[d].conv.reinit_idx[0], 4);
	assert_int_equal(r.dev[d].conv.reinit_idx[1], 8);
	assert_int_equal(r.dev[d].conv.verdict, MS_VERDICT_CONVERGING);
	ms_tm_report__free(&r);
	ms_session__free(s);
}

static void passes_restart_at_a_late_reinit(void **state)
{
	struct ms_session *s = tb_session(NULL, 0, 0); /* no threshold */
	uint32_t d = tb_dev(s, "reinit", MS_DEV_KIND_REF, MS_ROLE_SOURCE, MS_DEV_NONE);
	struct ms_tm_report r;
	/* a long flat stretch, then a REINIT jump that drains: new initial bytes are not divergence
	 */
	static const uint64_t initial[] = { 8, 8, 8, 8, 8, 8, 8, 8, 0, 200, 150, 100, 60 };

	for (unsigned int i = 0; i < sizeof(initial) / sizeof(initial[0]); i++)
		tb_precopy(s, d, 100.0 * i, initial[i] * TB_MIB, 0, i == 9 ? MS_PRECOPY_REINIT : 0);
	analyze(s, &r);
	assert_int_equal(r.dev[d].conv.reinits, 1);
	assert_int_equal(r.dev[d].conv.verdict, MS_VERDICT_UNKNOWN);
	assert_non_null(strstr(r.dev[d].conv.reason, "since the last REINIT"));
	ms_tm_report__free(&r);
	ms_session__free(s);
}

static void two_samples_above_threshold_are_unknown(void **state)
{
	struct ms_session *s = limited_session();
	uint32_t d = tb_dev(s, "few", MS_DEV_KIND_REF, MS_ROLE_SOURCE, MS_DEV_NONE);
	uint32_t none = tb_dev(s, "none", MS_DEV_KIND_REF, MS_ROLE_SOURCE, MS_DEV_NONE);
	struct ms_tm_report r;

	tb_precopy(s, d, 0, 100 * TB_MIB, 0, 0);
	tb_precopy(s, d, 100, 90 * TB_MIB, 0, 0);
	analyze(s, &r);
	assert_int_equal(r.dev[d].conv.verdict, MS_VERDICT_UNKNOWN);
	assert_string_equal(r.dev[d].conv.reason, "no complete pass yet: the first has run 100 ms "
						  "from 100.00 MiB, pending 90.00 MiB now");
	assert_int_equal(r.dev[none].conv.verdict, MS_VERDICT_UNKNOWN);
	assert_int_equal(r.dev[none].conv.samples, 0);
	ms_tm_report__free(&r);
	ms_session__free(s);
}

/*
 * One source/destination pair with every arc at a known time (ms):
 *   src  RUNNING->PRE_COPY ends 10; PRE_COPY->PRE_COPY_P2P 1000-1002;
 *        PRE_COPY_P2P->STOP_COPY 1002-1005; STOP_COPY->STOP 1029-1030
 *   ack  requested 1032, acked 1036
 *   dst  RESUMING->STOP 1040-1042; STOP->RUNNING_P2P 1042-1045; RUNNING_P2P->RUNNING 1049-1050
 * downtime 50 = stop 5 + stop-copy 25 + ack 4 + wait 6 + resume 10, all of
 * stop, stop-copy and resume its own time: busy 40.  A second pair is down
 * 1001-1060, so the VM is down 60 ms and the first device's share is 40/60.
 */
static uint32_t add_pair(struct ms_session *s, const char *name, double shift, double extra)
{
	char dn[32];
	uint32_t src = tb_dev(s, name, MS_DEV_KIND_REF, MS_ROLE_SOURCE, s->stream.next_dev_id + 1);
	uint32_t dst;

	snprintf(dn, sizeof(dn), "%s-dst", name);
	dst = tb_dev(s, dn, MS_DEV_KIND_REF, MS_ROLE_DEST, src);
	tb_arc(s, dst, RUNNING, RUNNING_P2P, 5, 0.5);
	tb_arc(s, dst, RUNNING_P2P, STOP, 6, 0.5);
	tb_arc(s, dst, STOP, RESUMING, 7, 1);
	tb_arc(s, src, RUNNING, PRE_COPY, 10, 1);
	tb_precopy(s, src, 500, 10 * TB_MIB, 0, 0);
	tb_stopcopy(s, src, 900, 8 * TB_MIB);
	tb_arc(s, src, PRE_COPY, PRE_COPY_P2P, 1002 + shift, 2);
	tb_arc(s, src, PRE_COPY_P2P, STOP_COPY, 1005 + shift, 3);
	tb_data(s, src, 1005 + shift, 8 * TB_MIB, MS_PHASE_STOPCOPY);
	tb_arc(s, src, STOP_COPY, STOP, 1030 + shift, 1);
	tb_arc(s, dst, RESUMING, STOP, 1042 + shift + extra, 2);
	tb_arc(s, dst, STOP, RUNNING_P2P, 1045 + shift + extra, 3);
	tb_arc(s, dst, RUNNING_P2P, RUNNING, 1050 + shift + extra, 1);
	return src;
}

static void downtime_arcs_and_share_from_a_constructed_timeline(void **state)
{
	struct ms_session *s = tb_session(NULL, 300, 0);
	struct ms_tm_report r;
	const struct ms_tm_downtime *dt;
	uint32_t a, b;

	a = add_pair(s, "nic", 0, 0);
	b = add_pair(s, "gpu", 1, 9);
	tb_switchover(s, MS_DEV_NONE, 1032, MS_SWITCHOVER_ACK_REQUESTED);
	tb_switchover(s, MS_DEV_NONE, 1036, MS_SWITCHOVER_ACKED);
	analyze(s, &r);

	dt = &r.dev[a].dt;
	assert_true(dt->have);
	assert_true(dt->complete);
	assert_int_equal(dt->method, MS_TM_ARCS);
	assert_int_equal(dt->peer, a + 1);
	assert_int_equal(dt->end_ns - dt->start_ns, 50000000);
	assert_int_equal(dt->stop_ns, 5000000);
	assert_int_equal(dt->stopcopy_ns, 25000000);
	assert_int_equal(dt->ack_ns, 4000000);
	assert_int_equal(dt->wait_ns, 6000000);
	assert_int_equal(dt->resume_ns, 10000000);
	assert_int_equal(dt->busy_ns, 40000000);

	assert_true(r.vm.have_downtime);
	assert_string_equal(r.vm.downtime_source, "devices");
	assert_int_equal(r.vm.downtime_end_ns - r.vm.downtime_start_ns, 60000000);
	assert_true(fabs(dt->share - 40.0 / 60) < 1e-9);
	/* total: the first arc (the destination's at 4.5 ms) to the VM running again */
	assert_true(r.vm.have_total);
	assert_int_equal(r.vm.total_end_ns - r.vm.total_start_ns, 1055500000);

	/* the arcs inside the downtime, both sides, in time order */
	assert_int_equal(r.dev[a].arcs_nr, 6);
	assert_int_equal(r.dev[a].arcs[0].arc->from, PRE_COPY);
	assert_false(r.dev[a].arcs[0].dest);
	assert_int_equal(r.dev[a].arcs[2].arc->to, STOP);
	assert_int_equal(r.dev[a].arcs[3].arc->from, RESUMING);
	assert_true(r.dev[a].arcs[3].dest);
	assert_int_equal(r.dev[a].arcs[5].arc->to, RUNNING);

	/* destinations are counted in their source's row */
	assert_int_equal(r.dev[a + 1].counted_in, a);
	assert_false(r.dev[a + 1].dt.have);
	assert_int_equal(r.dev[b].dt.end_ns - r.dev[b].dt.start_ns, 59000000);

	/* pre-copy from reaching PRE_COPY (10 ms) until leaving it (1000 ms) */
	assert_true(r.dev[a].have_precopy);
	assert_int_equal(r.dev[a].precopy_ns, 990000000);
	/* the samples before it stopped; no bandwidth set: its own stop-copy rate */
	assert_int_equal(r.dev[a].conv.samples, 1);
	assert_int_equal(r.dev[a].conv.stopcopy, 8 * TB_MIB);
	assert_int_equal(r.dev[a].conv.predicted_ns, 25000000);
	ms_tm_report__free(&r);
	ms_session__free(s);
}

/*
 * Two pairs driven in turns over one 100 MiB/s link, as the profile does (ms):
 *   a  PRE_COPY->P2P 1000-1001, P2P->STOP_COPY 1002-1012, 10 MiB moving 1016-1116,
 *      STOP_COPY->STOP 1126-1127; a-dst arcs 1128-1130, 1132-1133, 1134-1135
 *   b  PRE_COPY->P2P 1001-1002, P2P->STOP_COPY 1012-1016, 1 MiB moving 1116-1126,
 *      STOP_COPY->STOP 1127-1128; b-dst arcs 1130-1132, 1133-1134, 1135-1136
 * Whenever one sat idle while the other worked, that is its wait: a's
 * downtime 135 = stop 11 + stop-copy 101 + resume 4 + wait 19; b's 135 =
 * stop 5 + stop-copy 11 + resume 4 + wait 115.  The VM is down 136 ms and a
 * made it: 116 of them.
 */
static void a_device_idle_while_another_works_is_waiting(void **state)
{
	struct ms_session *s = tb_session(NULL, 300, 100 * TB_MIB);
	uint32_t a = tb_dev(s, "a", MS_DEV_KIND_REF, MS_ROLE_SOURCE, 1);
	uint32_t ad = tb_dev(s, "a-dst", MS_DEV_KIND_REF, MS_ROLE_DEST, a);
	uint32_t b = tb_dev(s, "b", MS_DEV_KIND_REF, MS_ROLE_SOURCE, 3);
	uint32_t bd = tb_dev(s, "b-dst", MS_DEV_KIND_REF, MS_ROLE_DEST, b);
	const struct ms_tm_downtime *x, *y;
	struct ms_tm_report r;

	tb_arc(s, a, PRE_COPY, PRE_COPY_P2P, 1001, 1);
	tb_arc(s, b, PRE_COPY, PRE_COPY_P2P, 1002, 1);
	tb_arc(s, a, PRE_COPY_P2P, STOP_COPY, 1012, 10);
	tb_arc(s, b, PRE_COPY_P2P, STOP_COPY, 1016, 4);
	tb_data(s, a, 1016, 10 * TB_MIB, MS_PHASE_STOPCOPY);
	tb_data(s, b, 1116, TB_MIB, MS_PHASE_STOPCOPY);
	tb_arc(s, a, STOP_COPY, STOP, 1127, 1);
	tb_arc(s, b, STOP_COPY, STOP, 1128, 1);
	tb_arc(s, ad, RESUMING, STOP, 1130, 2);
	tb_arc(s, bd, RESUMING, STOP, 1132, 2);
	tb_arc(s, ad, STOP, RUNNING_P2P, 1133, 1);
	tb_arc(s, bd, STOP, RUNNING_P2P, 1134, 1);
	tb_arc(s, ad, RUNNING_P2P, RUNNING, 1135, 1);
	tb_arc(s, bd, RUNNING_P2P, RUNNING, 1136, 1);
	analyze(s, &r);
	x = &r.dev[a].dt;
	y = &r.dev[b].dt;
	assert_int_equal(x->stop_ns, 11000000);
	assert_int_equal(x->stopcopy_ns, 101000000);
	assert_int_equal(x->resume_ns, 4000000);
	assert_int_equal(x->wait_ns, 19000000);
	assert_int_equal(x->busy_ns, 116000000);
	assert_int_equal(y->stop_ns, 5000000);
	assert_int_equal(y->stopcopy_ns, 11000000);
	assert_int_equal(y->resume_ns, 4000000);
	assert_int_equal(y->wait_ns, 115000000);
	assert_int_equal(r.vm.downtime_end_ns - r.vm.downtime_start_ns, 136000000);
	assert_true(fabs(x->share - 116.0 / 136) < 1e-9);
	assert_true(fabs(y->share - 20.0 / 136) < 1e-9);
	ms_tm_report__free(&r);
	ms_session__free(s);
}

static void source_without_destination_is_down_until_saved(void **state)
{
	struct ms_session *s = tb_session(NULL, 0, 0);
	uint32_t d = tb_dev(s, "lone", MS_DEV_KIND_REF, MS_ROLE_SOURCE, MS_DEV_NONE);
	struct ms_tm_report r;

	tb_arc(s, d, RUNNING, RUNNING_P2P, 101, 1);
	tb_arc(s, d, RUNNING_P2P, STOP_COPY, 104, 3);
	tb_arc(s, d, STOP_COPY, STOP, 120, 2);
	analyze(s, &r);
	assert_true(r.dev[d].dt.have);
	assert_false(r.dev[d].dt.complete);
	assert_int_equal(r.dev[d].dt.end_ns - r.dev[d].dt.start_ns, 20000000);
	assert_int_equal(r.dev[d].dt.stop_ns, 4000000);
	assert_int_equal(r.dev[d].dt.stopcopy_ns, 16000000);
	assert_int_equal(r.dev[d].dt.resume_ns, 0);
	ms_tm_report__free(&r);
	ms_session__free(s);
}

static void device_resuming_itself_is_its_own_destination(void **state)
{
	struct ms_session *s = tb_session(NULL, 0, 0);
	uint32_t d = tb_dev(s, "self", MS_DEV_KIND_VFIO, MS_ROLE_BOTH, MS_DEV_NONE);
	const struct ms_tm_downtime *dt;
	struct ms_tm_report r;

	tb_arc(s, d, RUNNING, PRE_COPY, 10, 1);
	tb_arc(s, d, PRE_COPY, PRE_COPY_P2P, 1002, 2);
	tb_arc(s, d, PRE_COPY_P2P, STOP_COPY, 1005, 3);
	tb_arc(s, d, STOP_COPY, STOP, 1030, 1);
	tb_arc(s, d, STOP, RESUMING, 1032, 1);
	tb_arc(s, d, RESUMING, STOP, 1042, 2);
	tb_arc(s, d, STOP, RUNNING_P2P, 1045, 3);
	tb_arc(s, d, RUNNING_P2P, RUNNING, 1050, 1);
	analyze(s, &r);
	dt = &r.dev[d].dt;
	assert_true(dt->complete);
	assert_int_equal(dt->peer, d);
	assert_int_equal(r.dev[d].counted_in, MS_DEV_NONE);
	assert_int_equal(dt->end_ns - dt->start_ns, 50000000);
	assert_int_equal(dt->stop_ns, 5000000);
	assert_int_equal(dt->stopcopy_ns, 25000000);
	assert_int_equal(dt->wait_ns, 1000000);
	assert_int_equal(dt->resume_ns, 19000000);
	/* its arcs once, the resume ones on the destination's side */
	assert_int_equal(r.dev[d].arcs_nr, 7);
	assert_false(r.dev[d].arcs[2].dest);
	assert_true(r.dev[d].arcs[3].dest);
	assert_int_equal(r.dev[d].arcs[3].arc->to, RESUMING);
	ms_tm_report__free(&r);
	ms_session__free(s);
}

/*
 * A virtio member device driven through the VFIO states also reports its mode
 * changes nested in the VFIO arcs: they do not change its downtime.  One that
 * reports only modes is measured on them: Active -> Stop -> Freeze, then the
 * destination's Freeze -> Stop -> Active.
 */
static void virtio_modes_nested_in_vfio_arcs_leave_the_downtime_alone(void **state)
{
	struct ms_session *s = tb_session(NULL, 0, 0);
	uint32_t a, v, vd;
	struct ms_tm_report r;

	a = add_pair(s, "vnet", 0, 0);
	tb_mode(s, a, 0, 1, 1001.5, 0.5);     /* Active -> Stop inside PRE_COPY -> PRE_COPY_P2P */
	tb_mode(s, a, 1, 2, 1004.5, 0.5);     /* Stop -> Freeze inside -> STOP_COPY */
	tb_mode(s, a + 1, 2, 1, 1044, 1);     /* Freeze -> Stop inside STOP -> RUNNING_P2P */
	tb_mode(s, a + 1, 1, 0, 1049.8, 0.5); /* Stop -> Active inside RUNNING_P2P -> RUNNING */
	v = tb_dev(s, "vblk", MS_DEV_KIND_VIRTIO, MS_ROLE_SOURCE, s->stream.next_dev_id + 1);
	vd = tb_dev(s, "vblk-dst", MS_DEV_KIND_VIRTIO, MS_ROLE_DEST, v);
	tb_mode(s, v, 0, 1, 2001, 1);
	tb_mode(s, v, 1, 2, 2003, 2);
	tb_data(s, v, 2010, TB_MIB, MS_PHASE_STOPCOPY);
	tb_mode(s, vd, 2, 1, 2015, 1);
	tb_mode(s, vd, 1, 0, 2020, 2);
	analyze(s, &r);
	assert_int_equal(r.dev[a].dt.end_ns - r.dev[a].dt.start_ns, 50000000);
	assert_int_equal(r.dev[a].arcs_nr, 6);
	assert_true(r.dev[v].dt.complete);
	assert_int_equal(r.dev[v].dt.end_ns - r.dev[v].dt.start_ns, 20000000);
	assert_int_equal(r.dev[v].dt.stop_ns, 3000000);	    /* to Freeze */
	assert_int_equal(r.dev[v].dt.stopcopy_ns, 7000000); /* its last stop-copy data */
	assert_int_equal(r.dev[v].dt.wait_ns, 4000000);
	assert_int_equal(r.dev[v].dt.resume_ns, 6000000);
	ms_tm_report__free(&r);
	ms_session__free(s);
}

/* The QEMU 7.2 fixture, in ms from the MIGRATION setup event (1795391031.894356). */
static struct ms_session *qemu_session(uint32_t *ram, uint32_t *apic)
{
	struct ms_session *s = tb_session(NULL, 300, 64 * TB_MIB);
	static const struct {
		double t;
		uint64_t remaining, total;
	} q[] = {
		{ 104.5, 243798016, 104 }, { 216.2, 205819904, 216 }, { 332.3, 166203392, 332 },
		{ 440.2, 113774592, 440 }, { 541.2, 69734400, 541 },  { 642.2, 40374272, 642 },
		{ 745.9, 6819840, 745 },
	};
	static const struct {
		double t;
		uint64_t pending, max;
	} p[] = {
		{ 3.260, 268967936, 0 },	  { 64.020, 247992320, 0 },
		{ 101.118, 245673984, 20141952 }, { 162.626, 222601216, 20141952 },
		{ 216.015, 205819904, 5110489 },  { 273.629, 186941440, 5110489 },
		{ 331.689, 168062976, 216516 },	  { 385.587, 144990208, 216516 },
		{ 437.535, 115625984, 326190 },	  { 490.413, 86261760, 326190 },
		{ 542.333, 69480448, 289800 },	  { 603.957, 52699136, 289800 },
		{ 655.943, 37752832, 183552 },	  { 708.571, 21495808, 183552 },
		{ 753.411, 8388608, 183552 },	  { 788.861, 4661248, 15259936 },
	};

	*ram = tb_dev(s, "ram", MS_DEV_KIND_QEMU_SECTION, MS_ROLE_SOURCE, MS_DEV_NONE);
	*apic = tb_dev(s, "apic", MS_DEV_KIND_QEMU_SECTION, MS_ROLE_SOURCE, MS_DEV_NONE);
	tb_status(s, 0, MS_MIG_SETUP);
	tb_status(s, 3.231, MS_MIG_ACTIVE);
	for (unsigned int i = 0, j = 0; i < sizeof(p) / sizeof(p[0]); i++) {
		for (; j < sizeof(q) / sizeof(q[0]) && q[j].t < p[i].t; j++)
			tb_stats(s, q[j].t, MS_MIG_ACTIVE, q[j].remaining, 8589299 + j * 100000,
				 MS_STAT_UNSET, q[j].total, 4894);
		tb_pending(s, *ram, p[i].t, p[i].pending, p[i].max);
	}
	tb_runstate(s, 788.892, 0);
	tb_section(s, *ram, 788.912, 2, MS_SECTION_SAVE_START);
	tb_section(s, *ram, 790.527, 2, MS_SECTION_SAVE_END);
	tb_section(s, *apic, 790.767, 7, MS_SECTION_SAVE_START);
	tb_section(s, *apic, 790.792, 7, MS_SECTION_SAVE_END);
	tb_status(s, 791.664, MS_MIG_COMPLETED);
	tb_stats(s, 847.1, MS_MIG_COMPLETED, 0, 20426818, 2, 791, 207891);
	return s;
}

static void qemu_downtime_is_vm_stop_to_completion_and_agrees_with_qmp(void **state)
{
	uint32_t ram, apic;
	struct ms_session *s = qemu_session(&ram, &apic);
	struct ms_tm_report r;
	double dt_ms;

	analyze(s, &r);
	assert_true(r.vm.have_downtime);
	assert_string_equal(r.vm.downtime_source, "qemu");
	dt_ms = MS(r.vm.downtime_end_ns - r.vm.downtime_start_ns);
	assert_true(fabs(dt_ms - 2.772) < 1e-6);
	assert_int_equal(r.vm.qmp_downtime_ms, 2);
	assert_true(fabs(dt_ms - (double)r.vm.qmp_downtime_ms) <= 2.0);
	assert_true(r.vm.have_total);
	assert_true(fabs(MS(r.vm.total_end_ns - r.vm.total_start_ns) - 791.664) < 1e-6);
	assert_int_equal(r.vm.qmp_total_ms, 791);
	assert_int_equal(r.vm.status, MS_MIG_COMPLETED);
	/* QEMU's own estimate: its last threshold over the 300 ms limit, not ram.mbps */
	assert_string_equal(r.vm.bandwidth_source, "qemu");
	assert_int_equal(r.vm.threshold, 15259936);
	assert_int_equal(r.vm.bandwidth_bps, 50866453);

	/* sections: their saves while the VM was stopped */
	assert_true(r.dev[ram].dt.have);
	assert_int_equal(r.dev[ram].dt.method, MS_TM_SECTIONS);
	assert_int_equal(r.dev[ram].dt.busy_ns, 1615000);
	assert_true(fabs(r.dev[ram].dt.share - 1.615 / 2.772) < 1e-6);
	assert_int_equal(r.dev[apic].dt.busy_ns, 25000);

	/* ram pending, judged against QEMU's own threshold */
	assert_int_equal(r.dev[ram].conv.verdict, MS_VERDICT_CONVERGING);
	assert_string_equal(r.dev[ram].conv.basis, "qemu_pending");
	assert_string_equal(r.dev[ram].conv.threshold_source, "qemu");
	assert_int_equal(r.dev[ram].conv.samples, 16);
	assert_true(r.dev[ram].have_precopy);
	/*
	 * The VM judged on QEMU's own pending (exact at each sync, every
	 * section), not on query-migrate's polled ram.remaining, whose series
	 * stays for the plots
	 */
	assert_string_equal(r.vm.conv.basis, "devices");
	assert_int_equal(r.vm.conv.verdict, MS_VERDICT_CONVERGING);
	assert_non_null(strstr(r.vm.conv.reason, "ram: "));
	assert_int_equal(r.vm.conv.predicted_ns, r.dev[ram].conv.predicted_ns);
	assert_int_equal(r.vm.series_nr, 7);
	ms_tm_report__free(&r);
	ms_session__free(s);
}

/*
 * QEMU 7.2 (the recorded run): its downtime clock starts after the migration
 * thread's decision (low pending) and before the run state goes to
 * finish-migrate, and stops after MIGRATION completed and before the run
 * state goes to postmigrate.  The fixture's log has no runstate_set lines:
 * those two are placed where QEMU puts them.  The point is read from the two
 * run state changes; the bounds, in whole milliseconds, hold QMP's 2 ms.
 */
static void qemu_7_2_downtime_is_read_between_the_marks_around_its_clock(void **state)
{
	uint32_t ram, apic;
	struct ms_session *s = qemu_session(&ram, &apic);
	struct ms_tm_report r;

	tb_mark(s, 788.865, MS_MARK_LOW_PENDING);
	tb_mark(s, 788.870, MS_MARK_FINISH_MIGRATE);
	tb_mark(s, 788.905, MS_MARK_VM_STOPPED);
	tb_mark(s, 791.700, MS_MARK_POSTMIGRATE);
	analyze(s, &r);
	assert_true(r.vm.have_bounds);
	assert_true(fabs(MS(r.vm.downtime_end_ns - r.vm.downtime_start_ns) - 2.830) < 1e-6);
	assert_string_equal(r.vm.start.at, "runstate finish-migrate");
	assert_string_equal(r.vm.start.after, "migration_thread_low_pending");
	assert_string_equal(r.vm.start.before, "runstate finish-migrate");
	assert_string_equal(r.vm.end.at, "runstate postmigrate");
	assert_string_equal(r.vm.end.after, "MIGRATION completed");
	assert_string_equal(r.vm.end.before, "runstate postmigrate");
	/* 791.664 - 788.870 = 2.794 .. 791.700 - 788.865 = 2.835, outwards to whole ms */
	assert_int_equal(r.vm.bound_lo_ns, 2000000);
	assert_int_equal(r.vm.bound_hi_ns, 3000000);
	assert_true(r.vm.qmp_downtime_ms * 1000000 >= r.vm.bound_lo_ns &&
		    r.vm.qmp_downtime_ms * 1000000 <= r.vm.bound_hi_ns);
	ms_tm_report__free(&r);
	ms_session__free(s);
}

/*
 * Without the trace's marks (QMP and the pending lines only) the bounds are
 * what those say: after the last migrate_pending, before STOP; after
 * MIGRATION completed, before the first query-migrate reply with the downtime.
 */
static void qemu_downtime_without_marks_is_bounded_loosely_and_honestly(void **state)
{
	uint32_t ram, apic;
	struct ms_session *s = qemu_session(&ram, &apic);
	struct ms_tm_report r;

	analyze(s, &r);
	assert_true(r.vm.have_bounds);
	assert_string_equal(r.vm.start.at, "STOP");
	assert_string_equal(r.vm.start.after, "migrate_pending");
	assert_string_equal(r.vm.end.at, "MIGRATION completed");
	assert_string_equal(r.vm.end.before, "query-migrate reply");
	/* 791.664 - 788.892 = 2.772 .. 847.1 - 788.861 = 58.239 */
	assert_int_equal(r.vm.bound_lo_ns, 2000000);
	assert_int_equal(r.vm.bound_hi_ns, 59000000);
	ms_tm_report__free(&r);
	ms_session__free(s);
}

/* QEMU >= 8.2 traces its downtime clock's start and end: the point and the bounds are those. */
static void qemu_8_2_checkpoints_are_the_downtime(void **state)
{
	struct ms_session *s = tb_session(NULL, 300, 64 * TB_MIB);
	struct ms_tm_report r;

	tb_status(s, 0, MS_MIG_SETUP);
	tb_status(s, 1, MS_MIG_ACTIVE);
	tb_mark(s, 99.0, MS_MARK_LOW_PENDING);
	tb_checkpoint(s, 100.0, MS_TM_CKPT_DOWNTIME_START);
	tb_runstate(s, 103.0, 0);
	tb_checkpoint(s, 105.4, MS_TM_CKPT_DOWNTIME_END);
	tb_status(s, 105.5, MS_MIG_COMPLETED);
	tb_stats(s, 160, MS_MIG_COMPLETED, 0, 1000, 5, 105, 1000);
	analyze(s, &r);
	assert_true(fabs(MS(r.vm.downtime_end_ns - r.vm.downtime_start_ns) - 5.4) < 1e-6);
	assert_string_equal(r.vm.start.at, "src-downtime-start");
	assert_string_equal(r.vm.end.at, "src-downtime-end");
	assert_int_equal(r.vm.bound_lo_ns, 5000000);
	assert_int_equal(r.vm.bound_hi_ns, 6000000);
	ms_tm_report__free(&r);
	ms_session__free(s);
}

/*
 * The limits set through another monitor after the watch attached: the report
 * judges against the ones in force at the VM stop, each sample's threshold is
 * the one in force then, and the limits it saw are all kept.
 */
static void the_limit_in_force_at_the_stop_is_the_one_judged(void **state)
{
	struct ms_session *s = tb_session(NULL, 300, 64 * TB_MIB);
	struct ms_tm_report r;

	tb_status(s, 0, MS_MIG_SETUP);
	tb_config(s, 5, 20, 8 * TB_MIB, 0);
	tb_status(s, 6, MS_MIG_ACTIVE);
	/* 10 MiB left, holding: under 300 ms at 64 MiB/s (19.2 MiB), over 20 ms at 64 MiB/s */
	for (int i = 0; i < 10; i++)
		tb_stats(s, 100 + 100 * i, MS_MIG_ACTIVE, 10 * TB_MIB + (i % 2) * TB_MIB,
			 (uint64_t)i * 6 * TB_MIB, MS_STAT_UNSET, 100 + 100 * i, 536871);
	tb_runstate(s, 1050, 0);
	tb_status(s, 1060, MS_MIG_COMPLETED);
	analyze(s, &r);
	assert_int_equal(r.vm.limit_ns, 20000000);
	assert_int_equal(s->telemetry.configs.nr, 2);
	assert_string_equal(r.vm.bandwidth_source, "qmp");
	assert_int_equal(r.vm.threshold, ms_switchover_threshold(r.vm.bandwidth_bps, 20000000));
	assert_int_equal(ms_telemetry__threshold_at(&s->telemetry, tb_ns(2), r.vm.bandwidth_bps),
			 ms_switchover_threshold(r.vm.bandwidth_bps, 300000000));
	assert_int_equal(ms_telemetry__threshold_at(&s->telemetry, tb_ns(500), r.vm.bandwidth_bps),
			 r.vm.threshold);
	assert_int_equal(r.vm.conv.threshold, r.vm.threshold);
	assert_int_not_equal(r.vm.conv.verdict, MS_VERDICT_CONVERGING);
	assert_true(r.vm.conv.predicted_ns > r.vm.limit_ns);
	ms_tm_report__free(&r);
	ms_session__free(s);
}

static void vm_stopped_without_completion_has_no_downtime(void **state)
{
	struct ms_session *s = tb_session(NULL, 0, 0);
	struct ms_tm_report r;

	tb_status(s, 0, MS_MIG_SETUP);
	tb_runstate(s, 100, 0);
	analyze(s, &r);
	assert_false(r.vm.have_downtime);
	assert_string_equal(r.vm.downtime_source, "qemu");
	assert_false(r.vm.have_total);
	ms_tm_report__free(&r);
	ms_session__free(s);
}

static void qmp_ram_remaining_does_not_mix_into_a_trace_log_series(void **state)
{
	struct ms_session *s = tb_session(NULL, 300, 0);
	uint32_t d = tb_dev(s, "ram", MS_DEV_KIND_QEMU_SECTION, MS_ROLE_SOURCE, MS_DEV_NONE);
	struct ms_ev_qemu_pending q = { 0 };
	struct ms_tm_report r;

	tb_pending(s, d, 0, 300 * TB_MIB, MS_STAT_UNSET); /* origin 0: the trace log */
	tb_pending(s, d, 100, 200 * TB_MIB, MS_STAT_UNSET);
	MS_EVENT_INIT(&q, MS_EV_QEMU_PENDING, ms_ev_qemu_pending, d, tb_ns(150));
	q.precopy = 5 * TB_MIB; /* RAM only: a different measure */
	q.threshold = MS_STAT_UNSET;
	q.origin = MS_PENDING_QMP;
	ms_stream__publish(&s->stream, &q.hdr);
	tb_pending(s, d, 200, 100 * TB_MIB, MS_STAT_UNSET);
	analyze(s, &r);
	assert_int_equal(r.dev[d].conv.samples, 3);
	assert_int_equal(r.dev[d].conv.pending, 100 * TB_MIB);
	assert_int_equal(ms_telemetry__device(&s->telemetry, d)->mixed, 1);
	ms_tm_report__free(&r);
	ms_session__free(s);
}

static void huge_byte_counts_saturate_instead_of_overflowing(void **state)
{
	struct ms_session *s = tb_session(NULL, 300, 1); /* 1 byte/s */
	uint32_t d = tb_dev(s, "huge", MS_DEV_KIND_REF, MS_ROLE_SOURCE, MS_DEV_NONE);
	struct ms_tm_report r;

	for (int i = 0; i < 4; i++)
		tb_precopy(s, d, 100.0 * i, UINT64_MAX / 4 + (uint64_t)i * (UINT64_MAX / 8), 0, 0);
	tb_stopcopy(s, d, 400, UINT64_MAX);
	analyze(s, &r);
	assert_int_equal(r.dev[d].conv.predicted_ns, UINT64_MAX);
	/* judged on its one stop-copy size */
	assert_int_equal(r.dev[d].conv.verdict, MS_VERDICT_UNKNOWN);
	assert_int_equal(ms_tm_u64(-1.0), 0);
	assert_int_equal(ms_tm_u64(NAN), 0);
	assert_int_equal(ms_tm_u64(1e30), UINT64_MAX);
	ms_tm_report__free(&r);
	ms_session__free(s);
}

/*
 * 20 MiB of stop-copy each, flat: each device alone is under the 30 MiB
 * threshold, together they are over it, and the switchover rule (QEMU's) is
 * on the sum.
 */
static void two_devices_each_under_the_threshold_are_over_it_together(void **state)
{
	struct ms_session *s = limited_session();
	uint32_t a = tb_dev(s, "a", MS_DEV_KIND_REF, MS_ROLE_SOURCE, MS_DEV_NONE);
	uint32_t b = tb_dev(s, "b", MS_DEV_KIND_REF, MS_ROLE_SOURCE, MS_DEV_NONE);
	struct ms_tm_report r;

	for (int i = 0; i < 10; i++) {
		tb_stopcopy(s, a, 100.0 * i, 20 * TB_MIB);
		tb_stopcopy(s, b, 100.0 * i + 50, 20 * TB_MIB);
	}
	analyze(s, &r);
	assert_int_equal(r.dev[a].conv.verdict, MS_VERDICT_CONVERGING);
	assert_int_equal(r.dev[b].conv.verdict, MS_VERDICT_CONVERGING);
	assert_int_equal(r.vm.conv.verdict, MS_VERDICT_STALLED);
	assert_string_equal(r.vm.conv.basis, "devices");
	assert_int_equal(r.vm.conv.pending, 40 * TB_MIB);
	/* from b's first sample on, one sum per sample of either device */
	assert_int_equal(r.vm.series_nr, 19);
	assert_int_equal(r.vm.series[0].ts_ns, tb_ns(50));
	assert_int_equal(r.vm.conv.predicted_ns, 400000000); /* 40 MiB at 100 MiB/s */
	assert_non_null(
	    strstr(r.vm.conv.reason, "a+b: each fits the threshold, together 40.00 MiB"));
	ms_tm_report__free(&r);
	ms_session__free(s);
}

/* A device diverging while another drains: the sum may fall, the VM does not converge. */
static void a_diverging_device_speaks_for_the_vm_over_a_falling_sum(void **state)
{
	struct ms_session *s = limited_session();
	uint32_t a = tb_dev(s, "drains", MS_DEV_KIND_REF, MS_ROLE_SOURCE, MS_DEV_NONE);
	uint32_t b = tb_dev(s, "grows", MS_DEV_KIND_REF, MS_ROLE_SOURCE, MS_DEV_NONE);
	struct ms_tm_report r;

	/* every query a boundary, as for a device whose dirty bytes rise again each round */
	for (int i = 0; i < 10; i++) {
		tb_pass(s, a, 100.0 * i, (uint32_t)i + 1, (uint64_t)(500 - 40 * i) * TB_MIB);
		tb_stopcopy(s, a, 100.0 * i, (uint64_t)(500 - 40 * i) * TB_MIB);
		tb_pass(s, b, 100.0 * i, (uint32_t)i + 1, (uint64_t)(40 + 10 * i) * TB_MIB);
		tb_stopcopy(s, b, 100.0 * i, (uint64_t)(40 + 10 * i) * TB_MIB);
	}
	analyze(s, &r);
	assert_int_equal(r.dev[b].conv.verdict, MS_VERDICT_DIVERGING);
	assert_int_equal(r.vm.conv.verdict, MS_VERDICT_DIVERGING);
	assert_int_equal(r.vm.conv.pending, (140 + 130) * TB_MIB); /* the sum's figures */
	assert_non_null(strstr(r.vm.conv.reason, "grows: "));
	ms_tm_report__free(&r);
	ms_session__free(s);
}

static void the_switchover_is_judged_by_the_rule_at_the_decision(void **state)
{
	struct ms_session *s = limited_session();
	uint32_t a = tb_dev(s, "a", MS_DEV_KIND_REF, MS_ROLE_SOURCE, MS_DEV_NONE);
	uint32_t b = tb_dev(s, "b", MS_DEV_KIND_REF, MS_ROLE_SOURCE, MS_DEV_NONE);
	struct ms_tm_report r;

	tb_switchover(s, a, 0, MS_SWITCHOVER_ACK_REQUESTED);
	tb_switchover(s, b, 0, MS_SWITCHOVER_ACK_REQUESTED);
	tb_precopy(s, a, 100, 0, 1 * TB_MIB, 0);
	tb_stopcopy(s, a, 100, 10 * TB_MIB);
	tb_switchover(s, a, 100, MS_SWITCHOVER_ACKED);
	tb_precopy(s, b, 100, 2 * TB_MIB, 0, 0);
	tb_stopcopy(s, b, 100, 12 * TB_MIB);
	/* after the decision: neither counts */
	tb_switchover(s, MS_DEV_NONE, 150, MS_SWITCHOVER_DECIDED);
	tb_stopcopy(s, a, 200, 100 * TB_MIB);
	tb_switchover(s, b, 200, MS_SWITCHOVER_ACKED);
	analyze(s, &r);
	assert_true(r.vm.switchover.have);
	assert_int_equal(r.vm.switchover.at_ns, tb_ns(150));
	assert_int_equal(r.vm.switchover.devices, 2);
	assert_int_equal(r.vm.switchover.check.pending, 22 * TB_MIB);
	assert_int_equal(r.vm.switchover.check.threshold, 30 * TB_MIB);
	/* 22 MiB fit, but b's initial bytes were not loaded yet */
	assert_int_equal(r.vm.switchover.check.unacked, 1);
	assert_false(r.vm.switchover.converged);
	assert_string_equal(r.vm.switchover.reason,
			    "did not converge: stop-copy 22.00 MiB under the threshold 30.00 MiB "
			    "(220 ms at 100.00 MiB/s, limit 300 ms); 1 switchover-ack outstanding");
	ms_tm_report__free(&r);
	ms_session__free(s);
}

/*
 * A device's pass boundaries as its source finds them (ms_pass__precopy): the
 * first query; dirty bytes rising again after they fell (pre-copy caught up,
 * the device found new dirty data); REINIT.  Rising without a fall first is
 * the same pass still collecting.
 */
static void device_passes_begin_where_dirty_bytes_rise_again(void **state)
{
	static const struct {
		uint64_t dirty;
		uint32_t flags;
		int boundary;
		uint64_t risen;
	} q[] = {
		{ 0, 0, 1, MS_STAT_UNSET }, /* the first query begins pass 1 */
		{ 5, 0, 0, 0 },		    /* rising, no fall yet: pass 1 collecting */
		{ 9, 0, 0, 0 },
		{ 4, 0, 0, 0 }, /* falling: moved faster than dirtied */
		{ 1, 0, 0, 0 },
		{ 6, 0, 1, 5 }, /* rising again: pass 2 */
		{ 8, 0, 0, 0 },
		{ 8, MS_PRECOPY_REINIT, 1, 0 }, /* REINIT: pass 3 */
		{ 3, 0, 0, 0 },
		{ 7, 0, 1, 4 }, /* fell, rose: pass 4 */
	};
	struct ms_pass_seen seen = { 0 };
	struct ms_ev_pass ev;
	uint64_t prev_ts = 0;
	uint32_t pass = 0;

	for (unsigned int i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
		int b =
		    ms_pass__precopy(&seen, 7, tb_ns(100.0 * i), 100, q[i].dirty, q[i].flags, &ev);

		assert_int_equal(b, q[i].boundary);
		if (!b)
			continue;
		assert_int_equal(ev.hdr.type, MS_EV_PASS);
		assert_int_equal(ev.hdr.dev, 7);
		assert_int_equal(ev.pass, ++pass);
		assert_int_equal(ev.origin, MS_PASS_DEVICE);
		assert_int_equal(ev.left, 100 + q[i].dirty);
		assert_int_equal(ev.dirty, q[i].risen);
		assert_int_equal(ev.flags, q[i].flags & MS_PRECOPY_REINIT ? MS_PASS_REINIT : 0);
		/* the pass that ended here: from the previous boundary */
		assert_int_equal(ev.dur_ns, pass == 1 ? 0 : ev.hdr.ts_ns - prev_ts);
		prev_ts = ev.hdr.ts_ns;
	}
	assert_int_equal(pass, 4);

	/* initial bytes back after reaching zero: a REINIT, flagged or not */
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(ms_pass__precopy(&seen, 7, tb_ns(0), 50, 0, 0, &ev), 1);
	assert_int_equal(ms_pass__precopy(&seen, 7, tb_ns(100), 0, 0, 0, &ev), 0);
	assert_int_equal(ms_pass__precopy(&seen, 7, tb_ns(200), 30, 0, 0, &ev), 1);
	assert_int_equal(ev.flags, MS_PASS_REINIT);
	assert_int_equal(ev.pass, 2);
}

/* A small deterministic generator, so a failing case can be replayed by its number. */
static uint64_t rnd(uint64_t *x)
{
	*x = *x * 6364136223846793005ull + 1442695040888963407ull;
	return *x >> 33;
}

/*
 * Verdict, reason, predicted downtime and time to switchover never contradict
 * each other, over many generated series: device workloads (any mix of
 * initial bytes, transfer and dirty rates, working sets, REINITs, stop-copy
 * sizes) and QEMU-style sawtooths of syncs, judged at every sample.
 */
static void verdicts_never_contradict_themselves_over_generated_series(void **state)
{
	uint64_t x = 20;

	for (int k = 0; k < 300; k++) {
		uint64_t limit = 1 + rnd(&x) % 500, bw = (1 + rnd(&x) % 256) * TB_MIB;
		struct ms_session *s =
		    tb_session(NULL, rnd(&x) % 8 ? limit : 0, rnd(&x) % 8 ? bw : 0);
		uint32_t d = tb_dev(s, "gen", MS_DEV_KIND_REF, MS_ROLE_SOURCE, MS_DEV_NONE);
		uint32_t q =
		    tb_dev(s, "ram", MS_DEV_KIND_QEMU_SECTION, MS_ROLE_SOURCE, MS_DEV_NONE);
		struct ms_tm_report r;
		char who[48];

		tb_workload(s, d, 0, 100.0 * (1 + rnd(&x) % 40),
			    &(struct tb_load){ .initial = (rnd(&x) % 512) * TB_MIB,
					       .move_bps = (1 + rnd(&x) % 256) * TB_MIB,
					       .dirty_bps = (rnd(&x) % 300) * TB_MIB,
					       .ws = (1 + rnd(&x) % 512) * TB_MIB,
					       .reinit_bytes = (rnd(&x) % 64) * TB_MIB,
					       .reinit_every_ms = rnd(&x) % 2 ? 700 : 0,
					       .sizes = (int)(rnd(&x) % 2) });
		/* a sawtooth: each sync leaves ws * f^pass + noise, then it drains */
		{
			double left = (double)(1 + rnd(&x) % 256) * TB_MIB,
			       f = 0.3 + (rnd(&x) % 90) / 100.0;
			uint64_t thr = (1 + rnd(&x) % 4096) * 1024;
			double t = 0;

			for (uint32_t pass = 1; pass <= 1 + rnd(&x) % 8; pass++) {
				double dur = 50 + rnd(&x) % 2000;

				tb_pass(s, q, t, pass, (uint64_t)left);
				tb_pending(s, q, t, (uint64_t)left, thr);
				for (int i = 1; i < 4; i++)
					tb_pending_between(s, q, t + dur * i / 4,
							   (uint64_t)(left * (4 - i) / 4), thr);
				t += dur;
				left = left * f + (double)(rnd(&x) % 1024) * 1024;
				snprintf(who, sizeof(who), "case %d pass %u", k, pass);
				analyze(s, &r);
				tb_assert_report_consistent(&r);
				ms_tm_report__free(&r);
			}
		}
		analyze(s, &r);
		tb_assert_report_consistent(&r);
		ms_tm_report__free(&r);
		ms_session__free(s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(light_workload_falling_under_threshold_is_converging),
		cmocka_unit_test(light_workload_in_its_first_pass_is_unknown),
		cmocka_unit_test(light_workload_after_its_first_pass_is_still_unknown),
		cmocka_unit_test(fast_workload_dirtying_faster_than_moving_is_diverging),
		cmocka_unit_test(working_set_larger_than_threshold_is_stalled),
		cmocka_unit_test(sawtooth_of_syncs_is_stalled_at_every_point),
		cmocka_unit_test(sawtooth_whose_syncs_leave_less_each_pass_is_converging),
		cmocka_unit_test(syncs_leaving_less_at_a_flat_rate_converge_after_pass_2),
		cmocka_unit_test(a_second_pass_dirtying_faster_per_second_is_not_projected),
		cmocka_unit_test(a_second_pass_leaving_not_clearly_less_is_unknown),
		cmocka_unit_test(measured_rate_flat_over_two_windows_converges_in_the_first_pass),
		cmocka_unit_test(measured_rate_rising_at_shorter_windows_is_not_projected),
		cmocka_unit_test(measured_rate_reaching_the_link_is_stalled_in_the_first_pass),
		cmocka_unit_test(a_window_a_sync_fell_into_is_not_a_measurement),
		cmocka_unit_test(the_setup_sync_is_not_in_a_window_begun_once_active),
		cmocka_unit_test(a_first_pass_and_a_shorter_window_at_one_rate_converge),
		cmocka_unit_test(precopy_drained_but_stop_copy_size_stuck_is_stalled),
		cmocka_unit_test(a_device_whose_whole_state_fits_is_converging_never_stalled),
		cmocka_unit_test(reinit_flagged_and_inferred_are_counted),
		cmocka_unit_test(passes_restart_at_a_late_reinit),
		cmocka_unit_test(device_passes_begin_where_dirty_bytes_rise_again),
		cmocka_unit_test(verdicts_never_contradict_themselves_over_generated_series),
		cmocka_unit_test(two_samples_above_threshold_are_unknown),
		cmocka_unit_test(downtime_arcs_and_share_from_a_constructed_timeline),
		cmocka_unit_test(a_device_idle_while_another_works_is_waiting),
		cmocka_unit_test(source_without_destination_is_down_until_saved),
		cmocka_unit_test(device_resuming_itself_is_its_own_destination),
		cmocka_unit_test(virtio_modes_nested_in_vfio_arcs_leave_the_downtime_alone),
		cmocka_unit_test(qemu_downtime_is_vm_stop_to_completion_and_agrees_with_qmp),
		cmocka_unit_test(qemu_7_2_downtime_is_read_between_the_marks_around_its_clock),
		cmocka_unit_test(qemu_downtime_without_marks_is_bounded_loosely_and_honestly),
		cmocka_unit_test(qemu_8_2_checkpoints_are_the_downtime),
		cmocka_unit_test(the_limit_in_force_at_the_stop_is_the_one_judged),
		cmocka_unit_test(vm_stopped_without_completion_has_no_downtime),
		cmocka_unit_test(qmp_ram_remaining_does_not_mix_into_a_trace_log_series),
		cmocka_unit_test(huge_byte_counts_saturate_instead_of_overflowing),
		cmocka_unit_test(two_devices_each_under_the_threshold_are_over_it_together),
		cmocka_unit_test(a_diverging_device_speaks_for_the_vm_over_a_falling_sum),
		cmocka_unit_test(the_switchover_is_judged_by_the_rule_at_the_decision),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
