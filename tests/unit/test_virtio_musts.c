// SPDX-License-Identifier: GPL-2.0-only
/*
 * Every MUST and MUST NOT of the seed's device and driver requirements for
 * the device migration and write recording commands, checked against the
 * reference member device (device side, through raw admin commands) and the
 * virtio backend (driver side).  docs/virtio-admin.md maps each
 * requirement to its test.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <migscope/ref.h>
#include <migscope/virtio_admin.h>
#include <migscope/virtio_dev.h>
#include <migscope/vfio_fsm.h>

#include "devtest.h"

#define MS   1000000ull
#define BASE (1ull << 32)

struct res {
	uint16_t status, qualifier;
	uint32_t output;
	uint8_t result[8192];
	size_t result_len;
};

/* One raw command with room for cap result bytes. */
static struct res *raw(struct ms_device *d, uint16_t op, const void *data, size_t len, size_t cap)
{
	static struct res r;
	uint8_t buf[8 + 8192];
	size_t n = 0;

	assert_true(cap <= 8192);
	memset(&r, 0, sizeof(r));
	assert_int_equal(ms_virtio_dev__cmd(d, op, data, len, buf, 8 + cap, &n), 0);
	assert_true(n >= 8 && n <= 8 + cap);
	r.status = ms_get_le16(buf);
	r.qualifier = ms_get_le16(buf + 2);
	r.output = ms_get_le32(buf + 4);
	r.result_len = n - 8;
	memcpy(r.result, buf + 8, n - 8);
	return &r;
}

static uint16_t set_mode(struct ms_device *d, uint8_t mode)
{
	return raw(d, MS_VIRTIO_ADMIN_DEV_MODE_SET, &mode, 1, 0)->status;
}

static uint8_t get_mode(struct ms_device *d)
{
	struct res *r = raw(d, MS_VIRTIO_ADMIN_DEV_MODE_GET, NULL, 0, 1);

	assert_int_equal(r->status, 0);
	return r->result[0];
}

static uint64_t size_get(struct ms_device *d, uint8_t freeze)
{
	struct res *r = raw(d, MS_VIRTIO_ADMIN_DEV_CTX_SIZE_GET, &freeze, 1, 8);

	assert_int_equal(r->status, 0);
	return ms_get_le64(r->result);
}

/* One DEV_CTX_READ of up to want bytes; returns context_len. */
static uint32_t read_once(struct ms_device *d, uint8_t *out, size_t want)
{
	struct res *r = raw(d, MS_VIRTIO_ADMIN_DEV_CTX_READ, NULL, 0, want);

	assert_int_equal(r->status, 0);
	assert_true(r->output <= r->result_len);
	memcpy(out, r->result, r->output);
	return r->output;
}

/* The whole context, read in 4 KiB pieces until a short read. */
static size_t read_ctx(struct ms_device *d, uint8_t *out, size_t cap)
{
	size_t len = 0;

	for (;;) {
		uint32_t n;

		assert_true(len + 4096 <= cap);
		n = read_once(d, out + len, 4096);
		len += n;
		if (n < 4096)
			return len;
	}
}

static uint16_t write_ctx(struct ms_device *d, const uint8_t *ctx, size_t len)
{
	return raw(d, MS_VIRTIO_ADMIN_DEV_CTX_WRITE, ctx, len, 0)->status;
}

static uint16_t discard(struct ms_device *d)
{
	return raw(d, MS_VIRTIO_ADMIN_DEV_CTX_DISCARD, NULL, 0, 0)->status;
}

static struct ms_device *member(struct dt_rig *r, const char *spec)
{
	dt_rig__init(r);
	return dt_rig__ref(r, spec, MS_ROLE_SOURCE);
}

static void advance(struct dt_rig *r, uint64_t ns)
{
	ms_devs__pump(r->devs, r->n, ms_clock__now(&r->clock));
	ms_clock__advance(&r->clock, ns);
}

/* --- device requirements: device migration commands --- */

static void every_migration_command_is_supported_together(void **state)
{
	static const uint16_t ops[] = {
		MS_VIRTIO_ADMIN_DEV_MODE_GET,	  MS_VIRTIO_ADMIN_DEV_MODE_SET,
		MS_VIRTIO_ADMIN_DEV_CTX_SIZE_GET, MS_VIRTIO_ADMIN_DEV_CTX_READ,
		MS_VIRTIO_ADMIN_DEV_CTX_WRITE,	  MS_VIRTIO_ADMIN_DEV_CTX_DISCARD
	};
	struct dt_rig r;
	struct ms_device *d = member(&r, "ref:iface=virtio");
	uint8_t zero = 0;

	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		assert_int_not_equal(raw(d, ops[i], &zero, 1, 64)->qualifier,
				     MS_VIRTIO_ADMIN_Q_INVALID_OPCODE);
	dt_rig__free(&r);
}

static void setting_the_current_mode_again_succeeds_in_every_mode(void **state)
{
	struct dt_rig r;
	struct ms_device *d = member(&r, "ref:iface=virtio");

	for (uint8_t m = 0; m < MS_VIRTIO_NR_MODES; m++) {
		assert_int_equal(set_mode(d, m), MS_VIRTIO_ADMIN_STATUS_OK);
		assert_int_equal(set_mode(d, m), MS_VIRTIO_ADMIN_STATUS_OK);
		assert_int_equal(get_mode(d), m);
	}
	dt_rig__free(&r);
}

static void a_mode_other_than_active_stop_freeze_fails_and_keeps_the_mode(void **state)
{
	struct dt_rig r;
	struct ms_device *d = member(&r, "ref:iface=virtio");
	struct res *res;

	assert_int_equal(set_mode(d, MS_VIRTIO_MODE_STOP), 0);
	for (unsigned int m = 3; m < 256; m += 50) {
		uint8_t v = (uint8_t)m;

		res = raw(d, MS_VIRTIO_ADMIN_DEV_MODE_SET, &v, 1, 0);
		assert_int_equal(res->status, MS_VIRTIO_ADMIN_STATUS_EINVAL);
		assert_int_equal(res->qualifier, MS_VIRTIO_ADMIN_Q_INVALID_FIELD);
		assert_int_equal(get_mode(d), MS_VIRTIO_MODE_STOP);
	}
	dt_rig__free(&r);
}

static void a_partially_read_context_blocks_active_and_stop_until_discarded(void **state)
{
	struct dt_rig r;
	struct ms_device *d = member(&r, "ref:iface=virtio");
	uint8_t buf[4096];

	assert_int_equal(set_mode(d, MS_VIRTIO_MODE_FREEZE), 0);
	assert_int_equal(read_once(d, buf, 100), 100);
	assert_int_equal(set_mode(d, MS_VIRTIO_MODE_STOP), MS_VIRTIO_ADMIN_STATUS_EINVAL);
	assert_int_equal(set_mode(d, MS_VIRTIO_MODE_ACTIVE), MS_VIRTIO_ADMIN_STATUS_EINVAL);
	/* the failed sets kept Freeze */
	assert_int_equal(get_mode(d), MS_VIRTIO_MODE_FREEZE);
	assert_int_equal(discard(d), 0);
	assert_int_equal(set_mode(d, MS_VIRTIO_MODE_STOP), MS_VIRTIO_ADMIN_STATUS_OK);
	dt_rig__free(&r);
}

/* A context from a source member device, in Freeze. */
static size_t source_context(uint8_t *out, size_t cap, const char *spec, uint64_t run_ns)
{
	struct dt_rig r;
	struct ms_device *s = member(&r, spec);
	size_t n;

	advance(&r, run_ns);
	assert_int_equal(set_mode(s, MS_VIRTIO_MODE_FREEZE), 0);
	n = read_ctx(s, out, cap);
	dt_rig__free(&r);
	return n;
}

static void a_partially_written_context_blocks_active_and_stop_until_discarded(void **state)
{
	struct dt_rig r;
	struct ms_device *d;
	uint8_t ctx[16384], before[16384], after[16384];
	size_t n = source_context(ctx, sizeof(ctx), "ref:iface=virtio,seed=5", 20 * MS), nb, na;

	d = member(&r, "ref:iface=virtio,seed=6,dirty=0"); /* no notifications to change it */
	assert_int_equal(set_mode(d, MS_VIRTIO_MODE_FREEZE), 0);
	nb = read_ctx(d, before, sizeof(before));
	assert_int_equal(write_ctx(d, ctx, 50), 0);
	assert_int_equal(set_mode(d, MS_VIRTIO_MODE_ACTIVE), MS_VIRTIO_ADMIN_STATUS_EINVAL);
	assert_int_equal(set_mode(d, MS_VIRTIO_MODE_STOP), MS_VIRTIO_ADMIN_STATUS_EINVAL);
	assert_int_equal(get_mode(d), MS_VIRTIO_MODE_FREEZE);
	/* discarded, it is as if it was never written: leaving Freeze keeps the old context */
	assert_int_equal(discard(d), 0);
	assert_int_equal(set_mode(d, MS_VIRTIO_MODE_STOP), MS_VIRTIO_ADMIN_STATUS_OK);
	assert_int_equal(set_mode(d, MS_VIRTIO_MODE_FREEZE), 0);
	na = read_ctx(d, after, sizeof(after));
	assert_int_equal(na, nb);
	assert_memory_equal(after, before, na);
	(void)n;
	dt_rig__free(&r);
}

static void a_fully_read_context_reads_zero_bytes_until_a_new_one_exists(void **state)
{
	struct dt_rig r;
	struct ms_device *d = member(&r, "ref:iface=virtio");
	uint8_t buf[16384];

	assert_int_equal(set_mode(d, MS_VIRTIO_MODE_FREEZE), 0);
	assert_true(read_ctx(d, buf, sizeof(buf)) > 0);
	for (int i = 0; i < 3; i++) {
		struct res *res = raw(d, MS_VIRTIO_ADMIN_DEV_CTX_READ, NULL, 0, 4096);

		assert_int_equal(res->status, MS_VIRTIO_ADMIN_STATUS_OK);
		assert_int_equal(res->output, 0);
	}
	assert_int_equal(size_get(d, 0), 0);
	dt_rig__free(&r);
}

static int parses(struct ms_device *d, const uint8_t *ctx, size_t len)
{
	struct res *res = raw(d, MS_VIRTIO_ADMIN_DEV_CTX_FIELDS_QUERY, NULL, 0, 1024);
	struct ms_virtio_admin_res ar = { .result = res->result, .result_len = res->result_len };
	struct ms_virtio_field f[MS_VIRTIO_MAX_FIELDS];
	size_t nf;
	char err[200];

	assert_int_equal(ms_virtio_admin__fields(&ar, f, &nf, err, sizeof(err)), 0);
	return ms_virtio_ctx__parse(ctx, len, f, nf, NULL, NULL, err, sizeof(err)) == 0;
}

static void the_context_can_be_read_in_every_mode(void **state)
{
	struct dt_rig r;
	struct ms_device *d = member(&r, "ref:iface=virtio,vqs=6");
	uint8_t buf[16384];

	for (uint8_t m = 0; m < MS_VIRTIO_NR_MODES; m++) {
		size_t n;

		assert_int_equal(set_mode(d, m), 0);
		n = read_ctx(d, buf, sizeof(buf));
		assert_true(n > 4);
		assert_true(parses(d, buf, n));
	}
	dt_rig__free(&r);
}

static void discard_after_a_partial_read_starts_the_mode_s_context_again(void **state)
{
	struct dt_rig r;
	struct ms_device *d = member(&r, "ref:iface=virtio");
	uint8_t a[16384], b[16384];
	size_t na, nb;

	assert_int_equal(set_mode(d, MS_VIRTIO_MODE_FREEZE), 0);
	na = read_ctx(d, a, sizeof(a));
	assert_int_equal(discard(d), 0);
	assert_int_equal(read_once(d, b, 100), 100);
	assert_int_equal(discard(d), 0);
	/* as if DEV_CTX_READ had never been received in this mode */
	assert_int_equal(size_get(d, 0), na);
	nb = read_ctx(d, b, sizeof(b));
	assert_int_equal(nb, na);
	assert_memory_equal(a, b, na);
	dt_rig__free(&r);
}

static void a_complete_context_can_be_written_again_and_the_last_one_counts(void **state)
{
	struct dt_rig r;
	struct ms_device *d;
	static uint8_t x[16384], y[16384], got[16384];
	size_t nx = source_context(x, sizeof(x), "ref:iface=virtio,seed=1", 10 * MS);
	size_t ny = source_context(y, sizeof(y), "ref:iface=virtio,seed=1", 90 * MS), ng;

	assert_true(nx != ny || memcmp(x, y, nx));
	d = member(&r, "ref:iface=virtio,seed=2,dirty=0");
	assert_int_equal(set_mode(d, MS_VIRTIO_MODE_FREEZE), 0);
	assert_int_equal(write_ctx(d, x, nx), 0);
	/* in pieces, as a driver with a small buffer would */
	assert_int_equal(write_ctx(d, y, 64), 0);
	assert_int_equal(write_ctx(d, y + 64, ny - 64), 0);
	assert_int_equal(set_mode(d, MS_VIRTIO_MODE_STOP), 0);
	assert_int_equal(set_mode(d, MS_VIRTIO_MODE_FREEZE), 0);
	ng = read_ctx(d, got, sizeof(got));
	assert_int_equal(ng, ny);
	assert_memory_equal(got, y, ny);
	dt_rig__free(&r);
}

static void writing_the_context_outside_freeze_fails(void **state)
{
	struct dt_rig r;
	struct ms_device *d;
	static uint8_t x[16384];
	size_t nx = source_context(x, sizeof(x), "ref:iface=virtio", 0);

	d = member(&r, "ref:iface=virtio");
	assert_int_equal(write_ctx(d, x, nx), MS_VIRTIO_ADMIN_STATUS_EINVAL);
	assert_int_equal(set_mode(d, MS_VIRTIO_MODE_STOP), 0);
	assert_int_equal(write_ctx(d, x, nx), MS_VIRTIO_ADMIN_STATUS_EINVAL);
	assert_int_equal(set_mode(d, MS_VIRTIO_MODE_FREEZE), 0);
	assert_int_equal(write_ctx(d, x, nx), MS_VIRTIO_ADMIN_STATUS_OK);
	dt_rig__free(&r);
}

static void a_written_field_length_that_differs_from_the_device_is_refused(void **state)
{
	struct dt_rig r;
	struct ms_device *d;
	static uint8_t x[16384];
	size_t nx = source_context(x, sizeof(x), "ref:iface=virtio,fault=field_len", 0);
	struct res *res;

	d = member(&r, "ref:iface=virtio");
	assert_int_equal(set_mode(d, MS_VIRTIO_MODE_FREEZE), 0);
	res = raw(d, MS_VIRTIO_ADMIN_DEV_CTX_WRITE, x, nx, 0);
	assert_int_equal(res->status, MS_VIRTIO_ADMIN_STATUS_EINVAL);
	assert_int_equal(res->qualifier, MS_VIRTIO_ADMIN_Q_INVALID_FIELD);
	/* and nothing of it stays partially written */
	assert_int_equal(set_mode(d, MS_VIRTIO_MODE_ACTIVE), 0);
	dt_rig__free(&r);
}

static uint64_t dma_records(struct dt_rig *r, uint32_t dev)
{
	return tu_recorder__count_dev(&r->rec, MS_EV_DMA_WRITE, dev);
}

static void a_device_not_active_does_no_dma_and_sends_no_notification_or_pme(void **state)
{
	struct dt_rig r;
	struct ms_device *d = member(&r, "ref:iface=virtio,dirty=8M/s,wsize=4K,ws=4M");
	struct ms_ref_stats a, b;
	uint8_t wr[32];
	uint64_t addr = BASE, pages = 1024, n;
	struct res *res;

	assert_int_equal(ms_virtio_admin__wr_start_data(wr, sizeof(wr), 4096, &addr, &pages, 1),
			 32);
	assert_int_equal(raw(d, MS_VIRTIO_ADMIN_DEV_WRITE_RECORDS_START, wr, 32, 0)->status, 0);
	/* control: Active writes, notifies, raises PME */
	advance(&r, 1000 * MS);
	assert_int_equal(ms_ref__stats(d, &a), 0);
	assert_true(dma_records(&r, d->id) > 1000);
	assert_true(a.notifications > 0 && a.pme > 0);
	for (uint8_t m = MS_VIRTIO_MODE_STOP; m <= MS_VIRTIO_MODE_FREEZE; m++) {
		assert_int_equal(set_mode(d, m), 0);
		/* clear the records of the Active period */
		do {
			uint8_t q[16];

			ms_put_le64(q, BASE);
			ms_put_le64(q + 8, 4ull << 20);
			res = raw(d, MS_VIRTIO_ADMIN_DEV_WRITE_RECORDS_READ, q, 16, 4096);
		} while (res->output == 512);
		n = dma_records(&r, d->id);
		assert_int_equal(ms_ref__stats(d, &a), 0);
		advance(&r, 1000 * MS);
		assert_int_equal(dma_records(&r, d->id), n);
		assert_int_equal(ms_ref__stats(d, &b), 0);
		assert_int_equal(b.notifications, a.notifications);
		assert_int_equal(b.pme, a.pme);
		assert_int_equal(b.dma_writes, a.dma_writes);
		{
			uint8_t q[16];

			ms_put_le64(q, BASE);
			ms_put_le64(q + 8, 4ull << 20);
			res = raw(d, MS_VIRTIO_ADMIN_DEV_WRITE_RECORDS_READ, q, 16, 4096);
			assert_int_equal(res->status, 0);
			assert_int_equal(res->output, 0);
		}
	}
	dt_rig__free(&r);
}

static void mode_set_completes_only_after_the_outstanding_dma_write(void **state)
{
	struct dt_rig r;
	/* one 64-page write in flight every 256 ms */
	struct ms_device *d =
	    member(&r, "ref:iface=virtio,dirty=1M/s,wsize=256K,ws=64M,quiesce=1ms");
	const struct ms_ev_dma_write *w;
	uint64_t before, t0, done;
	size_t n;

	advance(&r, 100 * MS); /* the first write is in flight */
	before = dma_records(&r, d->id);
	t0 = ms_clock__now(&r.clock);
	assert_int_equal(set_mode(d, MS_VIRTIO_MODE_STOP), 0);
	done = ms_clock__now(&r.clock);
	n = dma_records(&r, d->id);
	assert_true(n > before); /* the write finished as part of the command */
	w = (const void *)tu_recorder__find(&r.rec, MS_EV_DMA_WRITE, d->id, n - 1);
	assert_true(w->hdr.ts_ns > t0 + MS); /* later than the quiesce latency alone */
	assert_true(w->hdr.ts_ns <= done);
	advance(&r, 2000 * MS);
	assert_int_equal(dma_records(&r, d->id), n);
	dt_rig__free(&r);
}

static void stop_mode_accepts_driver_notifications(void **state)
{
	struct dt_rig r;
	struct ms_device *d = member(&r, "ref:iface=virtio,dirty=8M/s");
	uint8_t buf[16384];

	assert_int_equal(set_mode(d, MS_VIRTIO_MODE_STOP), 0);
	read_ctx(d, buf, sizeof(buf));
	assert_int_equal(size_get(d, 0), 0);
	advance(&r, 10 * MS);
	/* the notifications moved the available index: a new context */
	assert_true(size_get(d, 0) > 0);
	dt_rig__free(&r);
}

static void configuration_reads_work_in_every_mode_and_writes_in_freeze_change_nothing(void **state)
{
	struct dt_rig r;
	struct ms_device *d = member(&r, "ref:iface=virtio");
	uint8_t v, w = 0x5a, a[16384], b[16384];
	size_t na, nb;

	assert_int_equal(ms_ref_virtio__cfg(d, 0, 7, &v), 0);
	for (uint8_t m = 0; m < MS_VIRTIO_NR_MODES; m++) {
		uint8_t got;

		assert_int_equal(set_mode(d, m), 0);
		assert_int_equal(ms_ref_virtio__cfg(d, 0, 7, &got), 0);
		assert_int_equal(got, v);
	}
	/* Freeze: the write (direct or through PCI_CFG) is ignored */
	na = read_ctx(d, a, sizeof(a));
	assert_int_equal(ms_ref_virtio__cfg(d, 1, 7, &w), 0);
	assert_int_equal(ms_ref_virtio__cfg(d, 0, 7, &v), 0);
	assert_int_not_equal(v, 0x5a);
	assert_int_equal(discard(d), 0);
	nb = read_ctx(d, b, sizeof(b));
	assert_int_equal(na, nb);
	assert_memory_equal(a, b, na);
	/* Stop: it takes effect */
	assert_int_equal(set_mode(d, MS_VIRTIO_MODE_STOP), 0);
	assert_int_equal(ms_ref_virtio__cfg(d, 1, 7, &w), 0);
	assert_int_equal(ms_ref_virtio__cfg(d, 0, 7, &v), 0);
	assert_int_equal(v, 0x5a);
	dt_rig__free(&r);
}

static void freeze_keeps_the_device_context_unchanged(void **state)
{
	struct dt_rig r;
	struct ms_device *d = member(&r, "ref:iface=virtio,dirty=64M/s");
	uint8_t a[16384], b[16384];
	size_t na, nb;

	advance(&r, 10 * MS);
	assert_int_equal(set_mode(d, MS_VIRTIO_MODE_FREEZE), 0);
	na = read_ctx(d, a, sizeof(a));
	advance(&r, 100 * MS);
	assert_int_equal(size_get(d, 0), 0);
	assert_int_equal(discard(d), 0);
	nb = read_ctx(d, b, sizeof(b));
	assert_int_equal(na, nb);
	assert_memory_equal(a, b, na);
	dt_rig__free(&r);
}

static void commands_during_flr_reset_or_pm_complete_after_it(void **state)
{
	static const enum ms_ref_member_event evs[] = { MS_REF_FLR, MS_REF_DEVICE_RESET,
							MS_REF_PM };

	for (size_t i = 0; i < 3; i++) {
		struct dt_rig r;
		struct ms_device *d = member(&r, "ref:iface=virtio");
		uint8_t buf[4096];
		uint64_t t0 = ms_clock__now(&r.clock);

		assert_int_equal(ms_ref_virtio__event(d, evs[i], 3 * MS), 0);
		assert_int_equal(set_mode(d, MS_VIRTIO_MODE_FREEZE), MS_VIRTIO_ADMIN_STATUS_OK);
		assert_true(ms_clock__now(&r.clock) >= t0 + 3 * MS);
		assert_int_equal(ms_ref_virtio__event(d, evs[i], 3 * MS), 0);
		t0 = ms_clock__now(&r.clock);
		assert_true(read_once(d, buf, 4096) > 0);
		assert_true(ms_clock__now(&r.clock) >= t0 + 3 * MS);
		assert_int_equal(discard(d), 0);
		read_ctx(d, buf, sizeof(buf));
		assert_int_equal(ms_ref_virtio__event(d, evs[i], 3 * MS), 0);
		t0 = ms_clock__now(&r.clock);
		assert_int_equal(write_ctx(d, buf, 10), MS_VIRTIO_ADMIN_STATUS_OK);
		assert_true(ms_clock__now(&r.clock) >= t0 + 3 * MS);
		dt_rig__free(&r);
	}
}

/* --- device requirements: write recording --- */

static void write_record_commands_are_all_supported_or_none(void **state)
{
	static const uint16_t ops[] = { MS_VIRTIO_ADMIN_DEV_WRITE_RECORD_CAP_QUERY,
					MS_VIRTIO_ADMIN_DEV_WRITE_RECORDS_START,
					MS_VIRTIO_ADMIN_DEV_WRITE_RECORDS_STOP,
					MS_VIRTIO_ADMIN_DEV_WRITE_RECORDS_READ };
	struct dt_rig r;
	struct ms_device *d = member(&r, "ref:iface=virtio,track=off"), *e;
	uint8_t zero[16] = { 0 };

	e = dt_rig__ref(&r, "ref:iface=virtio", MS_ROLE_SOURCE);
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(raw(d, ops[i], zero, 16, 64)->qualifier,
				 MS_VIRTIO_ADMIN_Q_INVALID_OPCODE);
		assert_int_not_equal(raw(e, ops[i], zero, 16, 64)->qualifier,
				     MS_VIRTIO_ADMIN_Q_INVALID_OPCODE);
	}
	/* the driver sees a device without write recording */
	assert_false(d->flags & MS_DEVF_DIRTY_TRACK);
	assert_true(e->flags & MS_DEVF_DIRTY_TRACK);
	dt_rig__free(&r);
}

static void capabilities_offer_a_page_size_and_a_range(void **state)
{
	struct dt_rig r;
	struct ms_device *d = member(&r, "ref:iface=virtio");
	struct res *res = raw(d, MS_VIRTIO_ADMIN_DEV_WRITE_RECORD_CAP_QUERY, NULL, 0, 8);

	assert_int_equal(res->status, 0);
	assert_int_not_equal(ms_get_le32(res->result), 0);
	assert_int_not_equal(ms_get_le32(res->result + 4), 0);
	dt_rig__free(&r);
}

static struct res *read_records(struct ms_device *d, uint64_t addr, uint64_t len)
{
	uint8_t q[16];

	ms_put_le64(q, addr);
	ms_put_le64(q + 8, len);
	return raw(d, MS_VIRTIO_ADMIN_DEV_WRITE_RECORDS_READ, q, 16, 4096);
}

static void start_recording(struct ms_device *d, uint64_t addr, uint64_t pages)
{
	uint8_t wr[32];

	assert_int_equal(ms_virtio_admin__wr_start_data(wr, sizeof(wr), 4096, &addr, &pages, 1),
			 32);
	assert_int_equal(raw(d, MS_VIRTIO_ADMIN_DEV_WRITE_RECORDS_START, wr, 32, 0)->status, 0);
}

static void reading_records_before_start_fails(void **state)
{
	struct dt_rig r;
	struct ms_device *d = member(&r, "ref:iface=virtio");

	assert_int_equal(read_records(d, BASE, 1 << 20)->status, MS_VIRTIO_ADMIN_STATUS_EINVAL);
	start_recording(d, BASE, 256);
	assert_int_equal(read_records(d, BASE, 1 << 20)->status, MS_VIRTIO_ADMIN_STATUS_OK);
	assert_int_equal(raw(d, MS_VIRTIO_ADMIN_DEV_WRITE_RECORDS_STOP, NULL, 0, 0)->status, 0);
	assert_int_equal(read_records(d, BASE, 1 << 20)->status, MS_VIRTIO_ADMIN_STATUS_EINVAL);
	dt_rig__free(&r);
}

static void stopping_recording_succeeds_even_when_not_started(void **state)
{
	struct dt_rig r;
	struct ms_device *d = member(&r, "ref:iface=virtio");

	for (int i = 0; i < 2; i++)
		assert_int_equal(raw(d, MS_VIRTIO_ADMIN_DEV_WRITE_RECORDS_STOP, NULL, 0, 0)->status,
				 MS_VIRTIO_ADMIN_STATUS_OK);
	start_recording(d, BASE, 16);
	for (int i = 0; i < 2; i++)
		assert_int_equal(raw(d, MS_VIRTIO_ADMIN_DEV_WRITE_RECORDS_STOP, NULL, 0, 0)->status,
				 MS_VIRTIO_ADMIN_STATUS_OK);
	dt_rig__free(&r);
}

static void an_flr_keeps_write_recording_and_its_records(void **state)
{
	struct dt_rig r;
	struct ms_device *d = member(&r, "ref:iface=virtio,ws=1M,dirty=4M/s");
	struct res *res;

	start_recording(d, BASE, 256);
	advance(&r, 50 * MS);
	assert_int_equal(ms_ref_virtio__event(d, MS_REF_FLR, 1 * MS), 0);
	res = read_records(d, BASE, 1 << 20);
	assert_int_equal(res->status, 0);
	assert_true(res->output > 0); /* gathered before the FLR, still there */
	advance(&r, 50 * MS);
	res = read_records(d, BASE, 1 << 20);
	assert_int_equal(res->status, 0); /* still recording */
	assert_true(res->output > 0);
	dt_rig__free(&r);
}

static void returned_records_are_cleared_and_a_new_write_is_a_new_record(void **state)
{
	struct dt_rig r;
	/* 16 pages written at 4 pages per ms: every page again and again */
	struct ms_device *d = member(&r, "ref:iface=virtio,ws=64K,dirty=16M/s,wsize=4K");
	uint64_t first[512], nfirst, again = 0;
	struct res *res;

	start_recording(d, BASE, 16);
	advance(&r, 20 * MS);
	assert_int_equal(set_mode(d, MS_VIRTIO_MODE_STOP), 0); /* no writes while we look */
	res = read_records(d, BASE, 64 << 10);
	nfirst = res->output;
	assert_int_equal(nfirst, 16);
	for (uint64_t i = 0; i < nfirst; i++)
		first[i] = ms_get_le64(res->result + 8 * i);
	assert_int_equal(read_records(d, BASE, 64 << 10)->output, 0);
	assert_int_equal(set_mode(d, MS_VIRTIO_MODE_ACTIVE), 0);
	advance(&r, 20 * MS);
	assert_int_equal(set_mode(d, MS_VIRTIO_MODE_STOP), 0);
	res = read_records(d, BASE, 64 << 10);
	for (uint64_t i = 0; i < res->output; i++)
		for (uint64_t k = 0; k < nfirst; k++)
			again += ms_get_le64(res->result + 8 * i) == first[k];
	assert_int_equal(again, 16);
	dt_rig__free(&r);
}

/* --- driver requirements --- */

static void the_driver_writes_only_whole_contexts(void **state)
{
	struct dt_rig r;
	struct ms_device *s, *d;
	unsigned char *buf;
	size_t n;
	int eof;
	struct ms_ref_stats st;
	uint64_t cmds;

	dt_rig__init(&r);
	s = dt_rig__ref(&r, "ref:iface=virtio", MS_ROLE_SOURCE);
	d = dt_rig__ref(&r, "ref:iface=virtio", MS_ROLE_DEST);
	assert_int_equal(ms_dev__goto(d, VFIO_DEVICE_STATE_RESUMING), 0);
	assert_int_equal(ms_dev__goto(s, VFIO_DEVICE_STATE_STOP_COPY), 0);
	n = dt_drain(s, &buf, &eof);
	assert_true(eof && n > 100);
	assert_int_equal(ms_ref__stats(d, &st), 0);
	cmds = st.admin_cmds;
	/* half a context reaches the driver: nothing reaches the device */
	assert_int_equal(ms_dev__write_all(d, buf, n / 2), 0);
	assert_int_equal(ms_ref__stats(d, &st), 0);
	assert_int_equal(st.admin_cmds, cmds);
	assert_int_equal(ms_dev__goto(d, VFIO_DEVICE_STATE_STOP), -EINVAL);
	assert_non_null(strstr(d->err, "RESUMING -> STOP: device context partially written"));
	assert_int_equal(d->state, VFIO_DEVICE_STATE_RESUMING);
	assert_int_equal(ms_dev__write_all(d, buf + n / 2, n - n / 2), 0);
	assert_int_equal(ms_dev__goto(d, VFIO_DEVICE_STATE_RUNNING), 0);
	free(buf);
	dt_rig__free(&r);
}

static void the_driver_does_not_leave_freeze_with_a_context_half_written(void **state)
{
	struct dt_rig r;
	struct ms_device *s, *d;
	unsigned char *buf;
	size_t n;
	int eof;
	struct ms_ref_stats st;
	uint64_t cmds;
	uint8_t mode;

	dt_rig__init(&r);
	s = dt_rig__ref(&r, "ref:iface=virtio", MS_ROLE_SOURCE);
	d = dt_rig__ref(&r, "ref:iface=virtio", MS_ROLE_DEST);
	assert_int_equal(ms_dev__goto(d, VFIO_DEVICE_STATE_RESUMING), 0);
	assert_int_equal(ms_dev__goto(s, VFIO_DEVICE_STATE_STOP_COPY), 0);
	n = dt_drain(s, &buf, &eof);
	assert_int_equal(ms_dev__write_all(d, buf, n - 1), 0);
	assert_int_equal(ms_ref__stats(d, &st), 0);
	cmds = st.admin_cmds;
	assert_int_equal(ms_virtio_dev__set_mode(d, MS_VIRTIO_MODE_ACTIVE), -EINVAL);
	assert_int_equal(ms_virtio_dev__set_mode(d, MS_VIRTIO_MODE_STOP), -EINVAL);
	assert_non_null(strstr(d->err, "partially written"));
	assert_int_equal(ms_ref_virtio__stats(d, &st, &mode), 0);
	assert_int_equal(st.admin_cmds, cmds); /* refused without sending */
	assert_int_equal(mode, MS_VIRTIO_MODE_FREEZE);
	free(buf);
	dt_rig__free(&r);
}

static void the_driver_refuses_overlapping_record_ranges_before_sending(void **state)
{
	struct dt_rig r;
	struct ms_device *d = member(&r, "ref:iface=virtio");
	struct ms_range rg[2] = { { BASE, 1 << 20 }, { BASE + 4096, 1 << 20 } };
	struct ms_ref_stats st;
	uint64_t cmds;

	assert_int_equal(ms_ref__stats(d, &st), 0);
	cmds = st.admin_cmds;
	assert_int_equal(ms_dev__track_start(d, rg, 2, 4096), -EINVAL);
	assert_int_equal(ms_ref__stats(d, &st), 0);
	assert_int_equal(st.admin_cmds, cmds);
	assert_int_equal(st.recording, 0);
	dt_rig__free(&r);
}

static void the_driver_stops_the_recording_it_started(void **state)
{
	struct dt_rig r;
	struct ms_device *d = member(&r, "ref:iface=virtio,ws=1M");
	struct ms_range rg = { BASE, 1 << 20 };
	struct ms_ref_stats st;

	assert_int_equal(ms_dev__track_start(d, &rg, 1, 4096), 0);
	assert_int_equal(ms_ref__stats(d, &st), 0);
	assert_int_equal(st.recording, 1);
	advance(&r, 20 * MS);
	assert_int_equal(ms_dev__harvest(d), 0);
	assert_true(tu_recorder__count_dev(&r.rec, MS_EV_DMA_WRITE, d->id) > 0);
	assert_int_equal(ms_dev__track_stop(d), 0);
	assert_int_equal(ms_ref__stats(d, &st), 0);
	assert_int_equal(st.recording, 0);
	dt_rig__free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_migration_command_is_supported_together),
		cmocka_unit_test(setting_the_current_mode_again_succeeds_in_every_mode),
		cmocka_unit_test(a_mode_other_than_active_stop_freeze_fails_and_keeps_the_mode),
		cmocka_unit_test(a_partially_read_context_blocks_active_and_stop_until_discarded),
		cmocka_unit_test(
		    a_partially_written_context_blocks_active_and_stop_until_discarded),
		cmocka_unit_test(a_fully_read_context_reads_zero_bytes_until_a_new_one_exists),
		cmocka_unit_test(the_context_can_be_read_in_every_mode),
		cmocka_unit_test(discard_after_a_partial_read_starts_the_mode_s_context_again),
		cmocka_unit_test(a_complete_context_can_be_written_again_and_the_last_one_counts),
		cmocka_unit_test(writing_the_context_outside_freeze_fails),
		cmocka_unit_test(a_written_field_length_that_differs_from_the_device_is_refused),
		cmocka_unit_test(a_device_not_active_does_no_dma_and_sends_no_notification_or_pme),
		cmocka_unit_test(mode_set_completes_only_after_the_outstanding_dma_write),
		cmocka_unit_test(stop_mode_accepts_driver_notifications),
		cmocka_unit_test(
		    configuration_reads_work_in_every_mode_and_writes_in_freeze_change_nothing),
		cmocka_unit_test(freeze_keeps_the_device_context_unchanged),
		cmocka_unit_test(commands_during_flr_reset_or_pm_complete_after_it),
		cmocka_unit_test(write_record_commands_are_all_supported_or_none),
		cmocka_unit_test(capabilities_offer_a_page_size_and_a_range),
		cmocka_unit_test(reading_records_before_start_fails),
		cmocka_unit_test(stopping_recording_succeeds_even_when_not_started),
		cmocka_unit_test(an_flr_keeps_write_recording_and_its_records),
		cmocka_unit_test(returned_records_are_cleared_and_a_new_write_is_a_new_record),
		cmocka_unit_test(the_driver_writes_only_whole_contexts),
		cmocka_unit_test(the_driver_does_not_leave_freeze_with_a_context_half_written),
		cmocka_unit_test(the_driver_refuses_overlapping_record_ranges_before_sending),
		cmocka_unit_test(the_driver_stops_the_recording_it_started),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
