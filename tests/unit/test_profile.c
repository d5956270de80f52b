// SPDX-License-Identifier: GPL-2.0-only
/* The profile driver: whole save/resume runs on reference devices, what they publish, and failures.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <migscope/profile.h>
#include <migscope/session.h>
#include <migscope/vfio_fsm.h>

#include "devtest.h"

#define MS 1000000ull

struct run {
	struct ms_session *s;
	struct tu_recorder rec;
	struct ms_profile_result res;
	int ret;
};

static void run(struct run *r, uint64_t seed, const char *const *specs, size_t n, uint64_t bw,
		uint64_t duration)
{
	struct ms_session_opts so = { 0 };
	struct ms_devspec sp[8];
	struct ms_profile_opts o = { .seed = seed, .bandwidth_bps = bw, .duration_ns = duration };
	char err[320];

	memset(r, 0, sizeof(*r));
	for (size_t i = 0; i < n; i++)
		if (ms_devspec__parse(specs[i], &sp[i], err, sizeof(err)))
			fail_msg("%s: %s", specs[i], err);
	o.specs = n ? sp : NULL;
	o.nr_specs = n;
	r->s = ms_session__new(&so, err, sizeof(err));
	assert_non_null(r->s);
	assert_int_equal(ms_bus__subscribe(&r->s->bus, MS_EV_ALL, tu_recorder__on_event, &r->rec),
			 0);
	r->ret = ms_profile__run(&r->s->stream, &o, &r->res);
}

static void run_free(struct run *r)
{
	ms_session__free(r->s);
	tu_recorder__free(&r->rec);
}

/* The VFIO arcs of dev, as "FROM>TO" joined by spaces, into buf. */
static const char *arcs(const struct run *r, uint32_t dev, char *buf, size_t len)
{
	const struct ms_event_hdr *h;
	size_t off = 0, used = 0;

	buf[0] = 0;
	while ((h = tu_recorder__next(&r->rec, &off))) {
		const struct ms_ev_dev_state *e = (const void *)h;
		char a[16], b[16];

		if (h->type != MS_EV_DEV_STATE || h->dev != dev || e->domain != MS_DOMAIN_VFIO)
			continue;
		used +=
		    (size_t)snprintf(buf + used, len - used, "%s%s>%s%s", used ? " " : "",
				     ms_vfio_state_name(e->from, a, sizeof(a)),
				     ms_vfio_state_name(e->to, b, sizeof(b)), e->err ? "!" : "");
		assert_true(used < len);
	}
	return buf;
}

static uint64_t data_bytes(const struct run *r, uint32_t dev, uint32_t phase)
{
	const struct ms_event_hdr *h;
	size_t off = 0;
	uint64_t sum = 0;

	while ((h = tu_recorder__next(&r->rec, &off))) {
		const struct ms_ev_data *d = (const void *)h;

		if (h->type == MS_EV_DATA && h->dev == dev && d->phase == phase)
			sum += d->bytes;
	}
	return sum;
}

static const struct ms_ev_switchover *switchover(const struct run *r, uint32_t phase, uint32_t dev,
						 size_t nth)
{
	const struct ms_event_hdr *h;
	size_t off = 0;

	while ((h = tu_recorder__next(&r->rec, &off))) {
		const struct ms_ev_switchover *s = (const void *)h;

		if (h->type == MS_EV_SWITCHOVER && s->phase == phase &&
		    (dev == MS_DEV_NONE || h->dev == dev) && nth-- == 0)
			return s;
	}
	return NULL;
}

static void the_stream_is_in_time_order(const struct run *r)
{
	const struct ms_event_hdr *h;
	size_t off = 0;
	uint64_t ts = 0;

	while ((h = tu_recorder__next(&r->rec, &off))) {
		assert_true(h->ts_ns >= ts);
		ts = h->ts_ns;
	}
}

static void the_default_run_saves_and_resumes_two_devices_intact(void **state)
{
	struct run r;
	char buf[1024];
	const struct ms_ev_dev_add *a;
	const struct ms_ev_switchover *dec, *done;
	const struct ms_ev_dev_state *first_p2p, *last;

	run(&r, 1, NULL, 0, 0, 0);
	if (r.ret)
		fail_msg("%s", r.res.err);
	assert_true(r.res.verified);
	assert_int_equal(r.res.pairs, 2);
	assert_int_equal(r.res.decision, MS_DECIDE_CONVERGED);
	the_stream_is_in_time_order(&r);
	/* ids 0/1 and 2/3 are source/destination pairs that name each other */
	a = (const void *)tu_recorder__find(&r.rec, MS_EV_DEV_ADD, 0, 0);
	assert_int_equal(a->role, MS_ROLE_SOURCE);
	assert_int_equal(a->peer, 1);
	assert_int_equal(a->kind, MS_DEV_KIND_REF);
	assert_int_equal(a->caps,
			 VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P | VFIO_MIGRATION_PRE_COPY);
	a = (const void *)tu_recorder__find(&r.rec, MS_EV_DEV_ADD, 1, 0);
	assert_int_equal(a->role, MS_ROLE_DEST);
	assert_int_equal(a->peer, 0);
	for (uint32_t src = 0; src < 4; src += 2) {
		assert_string_equal(
		    arcs(&r, src, buf, sizeof(buf)),
		    "RUNNING>PRE_COPY PRE_COPY>PRE_COPY_P2P PRE_COPY_P2P>STOP_COPY STOP_COPY>STOP");
		assert_string_equal(
		    arcs(&r, src + 1, buf, sizeof(buf)),
		    "RUNNING>RUNNING_P2P RUNNING_P2P>STOP STOP>RESUMING RESUMING>STOP "
		    "STOP>RUNNING_P2P RUNNING_P2P>RUNNING");
		/* every byte read from the source was written to its destination */
		assert_int_equal(data_bytes(&r, src, MS_PHASE_PRECOPY) +
				     data_bytes(&r, src, MS_PHASE_STOPCOPY),
				 data_bytes(&r, src + 1, MS_PHASE_RESUME));
		assert_true(data_bytes(&r, src, MS_PHASE_PRECOPY) > 0);
		assert_true(data_bytes(&r, src, MS_PHASE_STOPCOPY) > 0);
	}
	assert_int_equal(data_bytes(&r, 1, MS_PHASE_RESUME) + data_bytes(&r, 3, MS_PHASE_RESUME),
			 r.res.bytes_moved);
	/* switchover decided before the first device left PRE_COPY, done when the last runs */
	dec = switchover(&r, MS_SWITCHOVER_DECIDED, MS_DEV_NONE, 0);
	done = switchover(&r, MS_SWITCHOVER_DONE, MS_DEV_NONE, 0);
	assert_non_null(dec);
	assert_non_null(done);
	first_p2p = (const void *)tu_recorder__find(&r.rec, MS_EV_DEV_STATE, 0, 1);
	assert_int_equal(first_p2p->to, VFIO_DEVICE_STATE_PRE_COPY_P2P);
	assert_true(dec->hdr.ts_ns <= first_p2p->hdr.ts_ns - first_p2p->dur_ns);
	last = (const void *)tu_recorder__find(
	    &r.rec, MS_EV_DEV_STATE, MS_DEV_NONE,
	    tu_recorder__count_dev(&r.rec, MS_EV_DEV_STATE, MS_DEV_NONE) - 1);
	assert_int_equal(last->to, VFIO_DEVICE_STATE_RUNNING);
	assert_int_equal(done->hdr.ts_ns, last->hdr.ts_ns);
	/* ref1 has a REINIT: an ack is asked again after it, and given */
	assert_non_null(switchover(&r, MS_SWITCHOVER_ACK_REQUESTED, 2, 1));
	assert_non_null(switchover(&r, MS_SWITCHOVER_ACKED, 2, 1));
	assert_true(tu_recorder__count_dev(&r.rec, MS_EV_DMA_WRITE, 0) > 100);
	assert_int_equal(tu_recorder__count_dev(&r.rec, MS_EV_TRACK_START, MS_DEV_NONE), 2);
	assert_int_equal(tu_recorder__count_dev(&r.rec, MS_EV_TRACK_STOP, MS_DEV_NONE), 2);
	run_free(&r);
}

static void a_reinit_is_published_with_initial_bytes_growing_again(void **state)
{
	struct run r;
	const struct ms_event_hdr *h;
	size_t off = 0;
	int seen_zero = 0, reinit = 0;

	/* the second device keeps pre-copy going long enough for two REINITs of the first */
	run(&r, 1,
	    (const char *[]){ "ref:state=8M,dirty=4M/s,reinit=2,rgap=50ms",
			      "ref:state=64M,dirty=0" },
	    2, 0, 0);
	assert_int_equal(r.ret, 0);
	while ((h = tu_recorder__next(&r.rec, &off))) {
		const struct ms_ev_precopy *p = (const void *)h;

		if (h->type != MS_EV_PRECOPY || h->dev != 0)
			continue;
		if (p->flags & MS_PRECOPY_REINIT) {
			assert_true(seen_zero);
			assert_true(p->initial_bytes > 0);
			assert_int_equal(p->dirty_bytes, 0);
			reinit++;
			seen_zero = 0;
		} else if (!p->initial_bytes) {
			seen_zero = 1;
		}
	}
	assert_int_equal(reinit, 2);
	run_free(&r);
}

static void same_seed_gives_the_same_stream_but_the_wall_clock_stamp(void **state)
{
	struct run a, b, c;
	const struct ms_event_hdr *ha, *hb;
	size_t oa = 0, ob = 0;

	run(&a, 5, NULL, 0, 0, 0);
	run(&b, 5, NULL, 0, 0, 0);
	run(&c, 6, NULL, 0, 0, 0);
	assert_int_equal(a.rec.count, b.rec.count);
	while ((ha = tu_recorder__next(&a.rec, &oa)) && (hb = tu_recorder__next(&b.rec, &ob))) {
		assert_int_equal(ha->type, hb->type);
		assert_int_equal(ha->len, hb->len);
		assert_int_equal(ha->ts_ns, hb->ts_ns);
		if (ha->type == MS_EV_SESSION) {
			const struct ms_ev_session *sa = (const void *)ha, *sb = (const void *)hb;

			assert_int_equal(sa->source, sb->source);
			continue;
		}
		assert_memory_equal(ha, hb, sizeof(*ha) + ha->len);
	}
	assert_true(a.rec.count != c.rec.count ||
		    memcmp(a.rec.buf + 64, c.rec.buf + 64, a.rec.len - 64));
	run_free(&a);
	run_free(&b);
	run_free(&c);
}

/* The first arc of dev into state, or NULL. */
static const struct ms_ev_dev_state *arc_to(const struct run *r, uint32_t dev, uint8_t state)
{
	const struct ms_event_hdr *h;
	size_t off = 0;

	while ((h = tu_recorder__next(&r->rec, &off))) {
		const struct ms_ev_dev_state *e = (const void *)h;

		if (h->type == MS_EV_DEV_STATE && h->dev == dev && e->domain == MS_DOMAIN_VFIO &&
		    e->to == state)
			return e;
	}
	return NULL;
}

static void a_workload_faster_than_the_link_is_forced_over_at_the_duration_not_before(void **state)
{
	struct run r;
	const struct ms_ev_switchover *dec;
	const struct ms_ev_dev_state *pc;

	/* half the state is rewritten at twice the link rate: the stop-copy never fits 300 ms */
	run(&r, 1, (const char *[]){ "ref:state=128M,ws=256M,dirty=256M/s" }, 1, 128ull << 20,
	    2000 * MS);
	if (r.ret)
		fail_msg("%s", r.res.err);
	assert_int_equal(r.res.decision, MS_DECIDE_FORCED);
	assert_false(r.res.converged);
	assert_true(r.res.check.pending >= r.res.check.threshold);
	assert_int_equal(r.res.check.unacked, 0);
	/* a round every 50 ms from the start of pre-copy through the 2 s: none switched early */
	assert_int_equal(r.res.rounds, 41);
	pc = arc_to(&r, 0, VFIO_DEVICE_STATE_PRE_COPY);
	dec = switchover(&r, MS_SWITCHOVER_DECIDED, MS_DEV_NONE, 0);
	assert_true(dec->hdr.ts_ns - pc->hdr.ts_ns >= 2000 * MS);
	assert_non_null(strstr(r.res.reason, "forced at --duration 2.0 s without converging"));
	assert_non_null(strstr(r.res.reason, "over the threshold 38.40 MiB"));
	assert_int_equal(tu_recorder__count_dev(&r.rec, MS_EV_STOPCOPY_SIZE, 0), 41 + 1);
	assert_true(r.res.verified);
	run_free(&r);
}

static void initial_bytes_the_link_cannot_drain_leave_the_ack_outstanding_when_forced(void **state)
{
	struct run r;

	/* 64 MiB of initial bytes over 16 MiB/s: half a second moves 8 MiB of them */
	run(&r, 1, (const char *[]){ "ref:state=64M,dirty=8M/s" }, 1, 16ull << 20, 500 * MS);
	assert_int_equal(r.ret, 0);
	assert_int_equal(r.res.decision, MS_DECIDE_FORCED);
	assert_int_equal(r.res.check.unacked, 1);
	assert_non_null(switchover(&r, MS_SWITCHOVER_ACK_REQUESTED, 0, 0));
	assert_null(switchover(&r, MS_SWITCHOVER_ACKED, 0, 0));
	assert_non_null(strstr(r.res.reason, "1 switchover-ack outstanding"));
	assert_true(r.res.verified);
	run_free(&r);
}

static void stop_copy_data_takes_bytes_over_bandwidth_of_virtual_time(void **state)
{
	struct run r;
	const struct ms_event_hdr *h;
	size_t off = 0;
	uint64_t prev = 0, prev_bytes = 0;
	int checked = 0;

	run(&r, 1, (const char *[]){ "ref:state=8M,dirty=0,precopy=off" }, 1, 64ull << 20, 0);
	assert_int_equal(r.ret, 0);
	assert_int_equal(r.res.decision, MS_DECIDE_NO_PRECOPY);
	assert_true(r.res.converged); /* 8 MiB moves in 125 ms at 64 MiB/s */
	assert_int_equal(r.res.rounds, 0);
	/* the destination's write of a chunk lands bytes / bandwidth after the previous one */
	while ((h = tu_recorder__next(&r.rec, &off))) {
		const struct ms_ev_data *d = (const void *)h;

		if (h->type != MS_EV_DATA || d->phase != MS_PHASE_RESUME)
			continue;
		if (prev) {
			assert_int_equal(h->ts_ns - prev, ms_transfer_ns(d->bytes, 64ull << 20));
			checked++;
		}
		prev = h->ts_ns;
		prev_bytes += d->bytes;
	}
	assert_true(checked >= 7);
	assert_true(r.res.verified);
	run_free(&r);
}

/* Every device's last VFIO arc ends in RUNNING, and none failed after the first failure's rollback.
 */
static void all_back_to_running(const struct run *r, uint32_t ndev)
{
	for (uint32_t dev = 0; dev < ndev; dev++) {
		size_t n = 0;
		const struct ms_event_hdr *h;
		const struct ms_ev_dev_state *last = NULL;

		for (; (h = tu_recorder__find(&r->rec, MS_EV_DEV_STATE, dev, n)); n++)
			if (((const struct ms_ev_dev_state *)h)->domain == MS_DOMAIN_VFIO)
				last = (const void *)h;
		assert_non_null(last);
		assert_int_equal(last->to, VFIO_DEVICE_STATE_RUNNING);
		assert_int_equal(last->err, 0);
	}
}

static void a_device_failing_to_stop_rolls_every_device_back_to_running(void **state)
{
	struct run r;

	run(&r, 1, (const char *[]){ "ref:state=4M", "ref:state=4M,fail=stop_copy" }, 2, 0, 0);
	assert_int_equal(r.ret, -EIO);
	assert_string_equal(r.res.err,
			    "ref1: MIG_DEVICE_STATE: the device failed the arc to STOP_COPY "
			    "(injected by fail=); every device rolled back to RUNNING");
	assert_false(r.res.verified);
	all_back_to_running(&r, 4);
	assert_null(switchover(&r, MS_SWITCHOVER_DONE, MS_DEV_NONE, 0));
	run_free(&r);
}

static void data_corrupted_on_the_way_is_refused_and_everything_rolls_back(void **state)
{
	struct run r;

	run(&r, 1, (const char *[]){ "ref:state=4M,fault=corrupt@100", "ref:state=4M" }, 2, 0, 0);
	assert_int_equal(r.ret, -EINVAL);
	assert_non_null(strstr(r.res.err, "ref0.dst: data write: page "));
	assert_non_null(strstr(r.res.err, ": checksum 0x"));
	all_back_to_running(&r, 4);
	run_free(&r);
}

static void virtio_devices_migrate_their_context_through_admin_commands(void **state)
{
	struct run r;
	char buf[1024];
	size_t virtio_arcs = 0, records = 0;
	const struct ms_event_hdr *h;
	size_t off = 0;

	run(&r, 1, (const char *[]){ "ref:iface=virtio", "ref:iface=virtio,vqs=16" }, 2, 0, 0);
	if (r.ret)
		fail_msg("%s", r.res.err);
	assert_true(r.res.verified);
	assert_string_equal(
	    arcs(&r, 0, buf, sizeof(buf)),
	    "RUNNING>PRE_COPY PRE_COPY>PRE_COPY_P2P PRE_COPY_P2P>STOP_COPY STOP_COPY>STOP");
	while ((h = tu_recorder__next(&r.rec, &off))) {
		const struct ms_ev_dev_state *e = (const void *)h;
		const struct ms_ev_dma_write *w = (const void *)h;

		if (h->type == MS_EV_DEV_STATE && e->domain == MS_DOMAIN_VIRTIO) {
			assert_true(e->from < 3 && e->to < 3);
			virtio_arcs++;
		}
		if (h->type == MS_EV_DMA_WRITE && w->source == MS_SRC_VIRTIO_WR)
			records++;
	}
	/* source Active->Stop->Freeze, destination Active->Stop->Freeze->Stop->Active: 6 + 8 */
	assert_int_equal(virtio_arcs, 12);
	assert_true(records > 0);
	run_free(&r);
}

static void virtio_bad_results_name_device_command_and_field_and_roll_back(void **state)
{
	static const struct {
		const char *spec, *want;
	} cases[] = {
		{ "ref:iface=virtio,fault=ctx_len",
		  "ref0: DEV_CTX_READ: context_len 4196 is more than the 4096 bytes requested" },
		{ "ref:iface=virtio,fault=tlv", "ref0: DEV_CTX_READ: device context: field " },
		{ "ref:iface=virtio,fault=field_len",
		  "ref0: DEV_CTX_READ: device context: field 2 (type 0x0002): length 32, the "
		  "supported-fields query says 30" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct run r;

		run(&r, 1, &cases[i].spec, 1, 0, 0);
		assert_int_equal(r.ret, -EPROTO);
		if (strncmp(r.res.err, cases[i].want, strlen(cases[i].want)))
			fail_msg("got '%s', want '%s'", r.res.err, cases[i].want);
		all_back_to_running(&r, 2);
		run_free(&r);
	}
}

static void an_unknown_mode_from_the_device_stops_the_run_before_it_starts(void **state)
{
	struct run r;

	run(&r, 1, (const char *[]){ "ref:iface=virtio,fault=mode" }, 1, 0, 0);
	assert_int_equal(r.ret, -EINVAL);
	assert_string_equal(r.res.err,
			    "ref0: DEV_MODE_GET: mode 7 is not Active (0), Stop (1) or Freeze (2)");
	assert_int_equal(tu_recorder__count_dev(&r.rec, MS_EV_DEV_ADD, MS_DEV_NONE), 0);
	run_free(&r);
}

static void a_failed_write_record_read_is_loss_and_the_migration_goes_on(void **state)
{
	struct run r;
	const struct ms_ev_loss *l;

	run(&r, 1, (const char *[]){ "ref:iface=virtio,fault=wr_read@2" }, 1, 0, 0);
	if (r.ret)
		fail_msg("%s", r.res.err);
	assert_true(r.res.verified);
	assert_int_equal(tu_recorder__count_dev(&r.rec, MS_EV_LOSS, 0), 1);
	l = (const void *)tu_recorder__find(&r.rec, MS_EV_LOSS, 0, 0);
	assert_int_equal(l->reason, MS_LOSS_ADMIN_READ);
	assert_int_equal(l->iova, 1ull << 32);
	assert_int_equal(l->len, 512ull << 20);
	run_free(&r);
}

static void a_record_count_beyond_the_buffer_keeps_the_records_and_widens(void **state)
{
	struct run r;

	run(&r, 1, (const char *[]){ "ref:iface=virtio,dirty=64M/s,wsize=4K,fault=wr_count" }, 1, 0,
	    0);
	if (r.ret)
		fail_msg("%s", r.res.err);
	assert_int_equal(tu_recorder__count_dev(&r.rec, MS_EV_LOSS, 0), 1);
	assert_true(tu_recorder__count_dev(&r.rec, MS_EV_DMA_WRITE, 0) > 0);
	run_free(&r);
}

static void hidden_pages_show_up_as_a_difference_between_sources(void **state)
{
	struct run r;
	const struct ms_event_hdr *h;
	size_t off = 0, only_hw = 0;
	static uint64_t hw[65536], un[65536];
	size_t nhw = 0, nun = 0;

	run(&r, 1, (const char *[]){ "ref:state=1M,ws=64M,dirty=2M/s,hide=5" }, 1, 0, 0);
	assert_int_equal(r.ret, 0);
	while ((h = tu_recorder__next(&r.rec, &off))) {
		const struct ms_ev_dma_write *w = (const void *)h;

		if (h->type != MS_EV_DMA_WRITE || h->dev != 0)
			continue;
		for (uint64_t a = w->iova; a < w->iova + w->len; a += 4096) {
			uint64_t *set = w->source == MS_SRC_HW_DIRTY ? hw : un;
			size_t *n = w->source == MS_SRC_HW_DIRTY ? &nhw : &nun, k;

			for (k = 0; k < *n && set[k] != a; k++)
				;
			if (k == *n && *n < 65536)
				set[(*n)++] = a;
		}
	}
	for (size_t i = 0; i < nhw; i++) {
		size_t k;

		for (k = 0; k < nun && un[k] != hw[i]; k++)
			;
		only_hw += k == nun;
	}
	assert_int_equal(only_hw, 5);
	run_free(&r);
}

static void devices_without_p2p_or_precopy_still_migrate_intact(void **state)
{
	struct run r;
	char buf[1024];

	run(&r, 1,
	    (const char *[]){ "ref:state=2M,p2p=off", "ref:state=2M,precopy=off",
			      "ref:state=2M,p2p=off,precopy=off" },
	    3, 0, 0);
	if (r.ret)
		fail_msg("%s", r.res.err);
	assert_true(r.res.verified);
	assert_string_equal(arcs(&r, 0, buf, sizeof(buf)),
			    "RUNNING>PRE_COPY PRE_COPY>STOP_COPY STOP_COPY>STOP");
	assert_string_equal(arcs(&r, 2, buf, sizeof(buf)),
			    "RUNNING>RUNNING_P2P RUNNING_P2P>STOP STOP>STOP_COPY STOP_COPY>STOP");
	assert_string_equal(arcs(&r, 5, buf, sizeof(buf)),
			    "RUNNING>STOP STOP>RESUMING RESUMING>STOP STOP>RUNNING");
	run_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_default_run_saves_and_resumes_two_devices_intact),
		cmocka_unit_test(a_reinit_is_published_with_initial_bytes_growing_again),
		cmocka_unit_test(same_seed_gives_the_same_stream_but_the_wall_clock_stamp),
		cmocka_unit_test(
		    a_workload_faster_than_the_link_is_forced_over_at_the_duration_not_before),
		cmocka_unit_test(
		    initial_bytes_the_link_cannot_drain_leave_the_ack_outstanding_when_forced),
		cmocka_unit_test(stop_copy_data_takes_bytes_over_bandwidth_of_virtual_time),
		cmocka_unit_test(a_device_failing_to_stop_rolls_every_device_back_to_running),
		cmocka_unit_test(data_corrupted_on_the_way_is_refused_and_everything_rolls_back),
		cmocka_unit_test(virtio_devices_migrate_their_context_through_admin_commands),
		cmocka_unit_test(virtio_bad_results_name_device_command_and_field_and_roll_back),
		cmocka_unit_test(an_unknown_mode_from_the_device_stops_the_run_before_it_starts),
		cmocka_unit_test(a_failed_write_record_read_is_loss_and_the_migration_goes_on),
		cmocka_unit_test(a_record_count_beyond_the_buffer_keeps_the_records_and_widens),
		cmocka_unit_test(hidden_pages_show_up_as_a_difference_between_sources),
		cmocka_unit_test(devices_without_p2p_or_precopy_still_migrate_intact),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
