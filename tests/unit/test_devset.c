// SPDX-License-Identifier: GPL-2.0-only
/* Several devices: P2P ordering both ways, devices without P2P, rollback on failure. */
#include <errno.h>
#include <string.h>

#include <migscope/devset.h>
#include <migscope/vfio_fsm.h>

#include "devtest.h"

/*
 * Replay the recorded arcs and check the ordering rule at every step: no
 * P2P-capable device enters a stopped state while any device is still in a
 * full-DMA state, and none enters a full-DMA state while any device is
 * stopped.  Returns the number of arcs checked.
 */
static size_t check_ordering(struct dt_rig *r)
{
	uint8_t st[DT_MAX_DEVS];
	const struct ms_event_hdr *h;
	size_t off = 0, arcs = 0;

	for (size_t i = 0; i < r->n; i++)
		st[i] = VFIO_DEVICE_STATE_RUNNING;
	while ((h = tu_recorder__next(&r->rec, &off))) {
		const struct ms_ev_dev_state *e = (const void *)h;
		enum ms_vfio_class from, to;

		if (h->type != MS_EV_DEV_STATE || e->domain != MS_DOMAIN_VFIO)
			continue;
		assert_int_equal(st[h->dev], e->from);
		if (e->err) {
			st[h->dev] = e->to; /* a failed arc: where the device ended up */
			continue;
		}
		from = ms_vfio_fsm__class(e->from);
		to = ms_vfio_fsm__class(e->to);
		for (size_t j = 0; j < r->n; j++) {
			enum ms_vfio_class cj = ms_vfio_fsm__class(st[j]);
			int mover_p2p = !!(r->devs[h->dev]->caps & VFIO_MIGRATION_P2P);
			int other_p2p = !!(r->devs[j]->caps & VFIO_MIGRATION_P2P);

			if (j == h->dev || from == MS_VFIO_CLASS_ERROR ||
			    (!mover_p2p && !other_p2p))
				continue;
			if (to == MS_VFIO_CLASS_STOPPED && from != MS_VFIO_CLASS_STOPPED)
				assert_int_not_equal(cj, MS_VFIO_CLASS_RUN);
			if (to == MS_VFIO_CLASS_RUN && from != MS_VFIO_CLASS_RUN)
				assert_int_not_equal(cj, MS_VFIO_CLASS_STOPPED);
		}
		st[h->dev] = e->to;
		arcs++;
	}
	return arcs;
}

static void every_device_is_quiesced_before_any_stops_or_runs_again(void **state)
{
	struct dt_rig r;
	char err[512];

	dt_rig__init(&r);
	for (int i = 0; i < 3; i++)
		dt_rig__ref(&r, "ref:state=64K", MS_ROLE_SOURCE);
	assert_int_equal(ms_devset__goto(r.devs, r.n, NULL, VFIO_DEVICE_STATE_STOP,
					 VFIO_DEVICE_STATE_RUNNING, err, sizeof(err)),
			 0);
	assert_int_equal(ms_devset__goto(r.devs, r.n, NULL, VFIO_DEVICE_STATE_RUNNING,
					 VFIO_DEVICE_STATE_RUNNING, err, sizeof(err)),
			 0);
	/* down: RUNNING -> RUNNING_P2P -> STOP; up: STOP -> RUNNING_P2P -> RUNNING */
	assert_int_equal(check_ordering(&r), 12);
	for (size_t i = 0; i < r.n; i++)
		assert_int_equal(r.devs[i]->state, VFIO_DEVICE_STATE_RUNNING);
	dt_rig__free(&r);
}

static void precopy_devices_all_reach_precopy_p2p_before_stop_copy(void **state)
{
	struct dt_rig r;
	char err[512];
	const struct ms_ev_dev_state *e;

	dt_rig__init(&r);
	dt_rig__ref(&r, "ref:state=64K,stop=5ms", MS_ROLE_SOURCE);
	dt_rig__ref(&r, "ref:state=64K,stop=1ms", MS_ROLE_SOURCE);
	assert_int_equal(ms_devset__goto(r.devs, r.n, NULL, VFIO_DEVICE_STATE_PRE_COPY,
					 VFIO_DEVICE_STATE_RUNNING, err, sizeof(err)),
			 0);
	assert_int_equal(ms_devset__goto(r.devs, r.n, NULL, VFIO_DEVICE_STATE_STOP_COPY,
					 VFIO_DEVICE_STATE_RUNNING, err, sizeof(err)),
			 0);
	assert_int_equal(check_ordering(&r), 6);
	/* arcs 3 and 4 are both PRE_COPY -> PRE_COPY_P2P, then the STOP_COPY arcs */
	for (size_t k = 2; k < 4; k++) {
		e = (const void *)tu_recorder__find(&r.rec, MS_EV_DEV_STATE, MS_DEV_NONE, k);
		assert_int_equal(e->to, VFIO_DEVICE_STATE_PRE_COPY_P2P);
	}
	for (size_t k = 4; k < 6; k++) {
		e = (const void *)tu_recorder__find(&r.rec, MS_EV_DEV_STATE, MS_DEV_NONE, k);
		assert_int_equal(e->from, VFIO_DEVICE_STATE_PRE_COPY_P2P);
		assert_int_equal(e->to, VFIO_DEVICE_STATE_STOP_COPY);
	}
	dt_rig__free(&r);
}

static void a_device_without_p2p_stops_after_the_others_quiesce_and_before_they_stop(void **state)
{
	struct dt_rig r;
	struct ms_device *a;
	char err[512];
	const struct ms_ev_dev_state *e;
	size_t quiesced = 0, stopped_others = 0, a_stop_at = 0;

	dt_rig__init(&r);
	a = dt_rig__ref(&r, "ref:state=64K,p2p=off", MS_ROLE_SOURCE);
	dt_rig__ref(&r, "ref:state=64K", MS_ROLE_SOURCE);
	dt_rig__ref(&r, "ref:state=64K", MS_ROLE_SOURCE);
	assert_int_equal(ms_devset__goto(r.devs, r.n, NULL, VFIO_DEVICE_STATE_STOP,
					 VFIO_DEVICE_STATE_RUNNING, err, sizeof(err)),
			 0);
	for (size_t k = 0;
	     (e = (const void *)tu_recorder__find(&r.rec, MS_EV_DEV_STATE, MS_DEV_NONE, k)); k++) {
		if (e->hdr.dev == a->id) {
			assert_int_equal(e->from, VFIO_DEVICE_STATE_RUNNING); /* straight to STOP */
			assert_int_equal(e->to, VFIO_DEVICE_STATE_STOP);
			assert_int_equal(quiesced, 2);
			assert_int_equal(stopped_others, 0);
			a_stop_at = k;
		} else if (e->to == VFIO_DEVICE_STATE_RUNNING_P2P) {
			quiesced++;
		} else {
			stopped_others++;
		}
	}
	assert_int_equal(a_stop_at, 2);
	assert_int_equal(stopped_others, 2);
	dt_rig__free(&r);
}

static void a_failure_on_one_device_rolls_every_device_back_to_running(void **state)
{
	struct dt_rig r;
	char err[512];
	const struct ms_ev_dev_state *e;

	dt_rig__init(&r);
	dt_rig__ref(&r, "ref:state=64K", MS_ROLE_SOURCE);
	dt_rig__ref(&r, "ref:state=64K,fail=stop_copy", MS_ROLE_SOURCE);
	dt_rig__ref(&r, "ref:state=64K", MS_ROLE_SOURCE);
	assert_int_equal(ms_devset__goto(r.devs, r.n, NULL, VFIO_DEVICE_STATE_PRE_COPY,
					 VFIO_DEVICE_STATE_RUNNING, err, sizeof(err)),
			 0);
	assert_int_equal(ms_devset__goto(r.devs, r.n, NULL, VFIO_DEVICE_STATE_STOP_COPY,
					 VFIO_DEVICE_STATE_RUNNING, err, sizeof(err)),
			 -EIO);
	assert_string_equal(err, "ref1: MIG_DEVICE_STATE: the device failed the arc to STOP_COPY "
				 "(injected by fail=); every device rolled back to RUNNING");
	for (size_t i = 0; i < r.n; i++)
		assert_int_equal(r.devs[i]->state, VFIO_DEVICE_STATE_RUNNING);
	/* the failed arc is on record with its error, then the reset out of ERROR */
	for (size_t k = 0;
	     (e = (const void *)tu_recorder__find(&r.rec, MS_EV_DEV_STATE, r.devs[1]->id, k)); k++)
		if (e->err) {
			assert_int_equal(e->from, VFIO_DEVICE_STATE_PRE_COPY_P2P);
			assert_int_equal(e->to, VFIO_DEVICE_STATE_ERROR);
			e = (const void *)tu_recorder__find(&r.rec, MS_EV_DEV_STATE, r.devs[1]->id,
							    k + 1);
			assert_int_equal(e->from, VFIO_DEVICE_STATE_ERROR);
			assert_int_equal(e->to, VFIO_DEVICE_STATE_RUNNING);
			break;
		}
	assert_true(check_ordering(&r) > 6);
	dt_rig__free(&r);
}

static void resuming_devices_are_reset_when_a_resume_is_abandoned(void **state)
{
	struct dt_rig r;
	char err[512];

	dt_rig__init(&r);
	dt_rig__ref(&r, "ref:state=64K", MS_ROLE_DEST);
	dt_rig__ref(&r, "ref:state=64K", MS_ROLE_DEST);
	assert_int_equal(ms_devset__goto(r.devs, r.n, NULL, VFIO_DEVICE_STATE_RESUMING,
					 VFIO_DEVICE_STATE_RUNNING, err, sizeof(err)),
			 0);
	/* nothing was loaded: RESUMING -> STOP fails on the first device */
	assert_int_equal(ms_devset__goto(r.devs, r.n, NULL, VFIO_DEVICE_STATE_RUNNING,
					 VFIO_DEVICE_STATE_RUNNING, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "ref0: RESUMING -> STOP: stream has no end record"));
	assert_non_null(strstr(err, "every device rolled back to RUNNING"));
	for (size_t i = 0; i < r.n; i++)
		assert_int_equal(r.devs[i]->state, VFIO_DEVICE_STATE_RUNNING);
	dt_rig__free(&r);
}

static void without_rollback_devices_stay_where_the_failure_left_them(void **state)
{
	struct dt_rig r;
	char err[512];

	dt_rig__init(&r);
	dt_rig__ref(&r, "ref:state=64K,fail=stop", MS_ROLE_SOURCE);
	dt_rig__ref(&r, "ref:state=64K", MS_ROLE_SOURCE);
	assert_int_equal(ms_devset__goto(r.devs, r.n, NULL, VFIO_DEVICE_STATE_STOP,
					 MS_DEVSET_NO_ROLLBACK, err, sizeof(err)),
			 -EIO);
	assert_int_equal(r.devs[0]->state, VFIO_DEVICE_STATE_ERROR);
	/* the other device had quiesced and stopped before the first one failed */
	assert_int_equal(r.devs[1]->state, VFIO_DEVICE_STATE_STOP);
	dt_rig__free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_device_is_quiesced_before_any_stops_or_runs_again),
		cmocka_unit_test(precopy_devices_all_reach_precopy_p2p_before_stop_copy),
		cmocka_unit_test(
		    a_device_without_p2p_stops_after_the_others_quiesce_and_before_they_stop),
		cmocka_unit_test(a_failure_on_one_device_rolls_every_device_back_to_running),
		cmocka_unit_test(resuming_devices_are_reset_when_a_resume_is_abandoned),
		cmocka_unit_test(without_rollback_devices_stay_where_the_failure_left_them),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
