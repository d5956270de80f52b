// SPDX-License-Identifier: GPL-2.0-only
/*
 * The reference device, virtio face: a virtio member device (SR-IOV VF) as
 * the seed specifies it, seen through its owner's admin queue.
 *
 * The device context is generated from the model's virtio state: common
 * configuration, features, per-virtqueue configuration, split-ring runtime
 * state and device-owned descriptors, device configuration (12 bytes, a
 * virtio-net config).  In Active the workload's DMA writes consume
 * descriptors (the context changes) and are recorded when write recording is
 * on; in Stop the guest driver's notifications still arrive (the context may
 * change) but the device touches no memory and sends no notification or PME;
 * in Freeze nothing changes.  Each admin command costs a little virtual time.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <migscope/capture.h> /* ms_crc32c */
#include <migscope/ref.h>
#include <migscope/virtio_admin.h>
#include <migscope/virtio_dev.h>

#include "ref_work.h"

#define MEMBER_ID      1
#define QUEUE_SIZE     256
#define OWN_MAX	       16
#define COMMON_CFG_LEN 60
#define DEV_CFG_LEN    12
#define FEATURE_WORDS  2
#define MAX_WRITTEN    (1u << 20)
#define REC_RANGES     8
#define CMD_NS	       5000ull /* fixed cost of one admin command */

struct vq {
	uint16_t size, msix;
	uint64_t desc, driver, device;
	uint16_t avail;
	uint8_t enabled;
	uint16_t nown;
	uint16_t own[OWN_MAX];
};

struct member {
	struct ms_ref_params p;
	struct ms_ref_work work;
	struct ms_ref_stats stats;
	struct ms_clock *clock;
	struct ms_device *pub; /* the device its records are published as */
	uint8_t mode;

	/* the virtio device */
	uint64_t features[FEATURE_WORDS];
	uint8_t status;
	uint8_t cfg_gen;
	uint8_t devcfg[DEV_CFG_LEN];
	struct vq vq[64];
	uint32_t nvq;
	uint64_t gen; /* bumped by every change of the context */
	uint64_t events;

	/* context read, per mode */
	uint8_t *snap;
	size_t snap_len, snap_off;
	int snap_open, read_done;
	uint64_t read_gen;
	uint32_t final_digest;
	int have_final;

	/* context write */
	uint8_t *w;
	size_t w_len;
	int w_partial;
	uint8_t *pending; /* the most recent complete context written */
	size_t pending_len;
	int loaded;
	uint32_t loaded_digest;

	/* write recording */
	int recording;
	uint64_t rec_ps;
	uint64_t rec_addr[REC_RANGES], rec_pages[REC_RANGES];
	uint32_t nr_rec;
	uint64_t *rec; /* over working-set pages */

	uint64_t busy_until;
	uint32_t fault_count, snapshots;
	int workload_on, started;
};

static uint64_t now(struct member *m)
{
	return ms_clock__now(m->clock);
}

static int fault_now(struct member *m, enum ms_ref_fault f)
{
	return m->p.fault == f && ++m->fault_count == m->p.fault_at;
}

/* --- the context --- */

static const struct ms_virtio_field *supported_fields(size_t *n)
{
	static const struct ms_virtio_field f[] = {
		{ MS_VIRTIO_CTX_PCI_COMMON_CFG, COMMON_CFG_LEN },
		{ MS_VIRTIO_CTX_DEV_FEATURES, FEATURE_WORDS * 8 },
		{ MS_VIRTIO_CTX_PCI_VQ_CFG, MS_VIRTIO_CTX_VQ_CFG_LEN },
		{ MS_VIRTIO_CTX_VQ_SPLIT_RUNTIME_CFG, MS_VIRTIO_CTX_VQ_RUNTIME_LEN },
		{ MS_VIRTIO_CTX_VQ_SPLIT_DEV_OWN_DESC, MS_VIRTIO_CTX_OWN_DESC_MIN + 2 * OWN_MAX },
		{ MS_VIRTIO_CTX_DEV_CFG, DEV_CFG_LEN },
	};

	*n = sizeof(f) / sizeof(f[0]);
	return f;
}

static size_t put_tlv(uint8_t *p, uint16_t type, uint64_t len)
{
	memset(p, 0, MS_VIRTIO_CTX_TLV_HDR_LEN);
	ms_put_le16(p, type);
	ms_put_le64(p + 8, len);
	return MS_VIRTIO_CTX_TLV_HDR_LEN;
}

static size_t context_size(const struct member *m)
{
	size_t n = 4 + 16 + COMMON_CFG_LEN + 16 + FEATURE_WORDS * 8 + 16 + DEV_CFG_LEN;

	for (uint32_t i = 0; i < m->nvq; i++)
		n += 16 + MS_VIRTIO_CTX_VQ_CFG_LEN + 16 + MS_VIRTIO_CTX_VQ_RUNTIME_LEN + 16 +
		     MS_VIRTIO_CTX_OWN_DESC_MIN + 2u * m->vq[i].nown;
	return n;
}

/* Serialize the context into out (context_size() bytes, plus 2 for a padded-struct fault). */
static size_t serialize(struct member *m, uint8_t *out, int bad_tlv, int bad_len)
{
	uint8_t *p = out + 4, *tlv_to_break = NULL;
	uint32_t count = 0;

	ms_put_le32(out, 0);
	p += put_tlv(p, MS_VIRTIO_CTX_PCI_COMMON_CFG, COMMON_CFG_LEN);
	memset(p, 0, COMMON_CFG_LEN);
	ms_put_le32(p + 4, (uint32_t)m->features[0]);
	ms_put_le32(p + 12, (uint32_t)m->features[0]);
	ms_put_le16(p + 18, (uint16_t)m->nvq);
	p[20] = m->status;
	p[21] = m->cfg_gen;
	p += COMMON_CFG_LEN;
	count++;
	p += put_tlv(p, MS_VIRTIO_CTX_DEV_FEATURES, FEATURE_WORDS * 8);
	for (int i = 0; i < FEATURE_WORDS; i++, p += 8)
		ms_put_le64(p, m->features[i]);
	count++;
	for (uint32_t i = 0; i < m->nvq; i++) {
		const struct vq *q = &m->vq[i];
		/* fault=field_len: the structure with its natural padding, 32 bytes */
		uint64_t cfg_len = MS_VIRTIO_CTX_VQ_CFG_LEN + (bad_len && i == 0 ? 2 : 0);

		p += put_tlv(p, MS_VIRTIO_CTX_PCI_VQ_CFG, cfg_len);
		memset(p, 0, cfg_len);
		ms_put_le16(p, (uint16_t)i);
		ms_put_le16(p + 2, q->size);
		ms_put_le16(p + 4, q->msix);
		ms_put_le64(p + 6, q->desc);
		ms_put_le64(p + 14, q->driver);
		ms_put_le64(p + 22, q->device);
		p += cfg_len;
		p += put_tlv(p, MS_VIRTIO_CTX_VQ_SPLIT_RUNTIME_CFG, MS_VIRTIO_CTX_VQ_RUNTIME_LEN);
		ms_put_le16(p, (uint16_t)i);
		ms_put_le16(p + 2, q->avail);
		p[4] = q->enabled;
		p += MS_VIRTIO_CTX_VQ_RUNTIME_LEN;
		if (i == m->nvq / 2)
			tlv_to_break = p;
		p += put_tlv(p, MS_VIRTIO_CTX_VQ_SPLIT_DEV_OWN_DESC,
			     MS_VIRTIO_CTX_OWN_DESC_MIN + 2u * q->nown);
		ms_put_le16(p, (uint16_t)i);
		ms_put_le16(p + 2, q->nown);
		for (uint16_t k = 0; k < q->nown; k++)
			ms_put_le16(p + 4 + 2 * k, q->own[k]);
		p += MS_VIRTIO_CTX_OWN_DESC_MIN + 2u * q->nown;
		count += 3;
	}
	p += put_tlv(p, MS_VIRTIO_CTX_DEV_CFG, DEV_CFG_LEN);
	memcpy(p, m->devcfg, DEV_CFG_LEN);
	p += DEV_CFG_LEN;
	count++;
	ms_put_le32(out, count);
	if (bad_tlv && tlv_to_break) /* fault=tlv: a length that runs past the end */
		ms_put_le64(tlv_to_break + 8, (uint64_t)(p - tlv_to_break) + 64);
	return (size_t)(p - out);
}

static int apply_field(void *ctx, const struct ms_virtio_ctx_field *f, uint32_t index)
{
	struct member *m = ctx;
	const uint8_t *v = f->value;
	uint16_t qi = f->length >= 2 ? ms_get_le16(v) : 0;
	struct vq *q = qi < m->nvq ? &m->vq[qi] : NULL;

	switch (f->type) {
	case MS_VIRTIO_CTX_PCI_COMMON_CFG:
		m->status = v[20];
		m->cfg_gen = v[21];
		break;
	case MS_VIRTIO_CTX_DEV_FEATURES:
		for (int i = 0; i < FEATURE_WORDS; i++)
			m->features[i] = ms_get_le64(v + 8 * i);
		break;
	case MS_VIRTIO_CTX_PCI_VQ_CFG:
		if (!q)
			return -EINVAL;
		q->size = ms_get_le16(v + 2);
		q->msix = ms_get_le16(v + 4);
		q->desc = ms_get_le64(v + 6);
		q->driver = ms_get_le64(v + 14);
		q->device = ms_get_le64(v + 22);
		break;
	case MS_VIRTIO_CTX_VQ_SPLIT_RUNTIME_CFG:
		if (!q)
			return -EINVAL;
		q->avail = ms_get_le16(v + 2);
		q->enabled = v[4];
		break;
	case MS_VIRTIO_CTX_VQ_SPLIT_DEV_OWN_DESC:
		if (!q || ms_get_le16(v + 2) > OWN_MAX)
			return -EINVAL;
		q->nown = ms_get_le16(v + 2);
		for (uint16_t k = 0; k < q->nown; k++)
			q->own[k] = ms_get_le16(v + 4 + 2 * k);
		break;
	case MS_VIRTIO_CTX_DEV_CFG:
		memcpy(m->devcfg, v, DEV_CFG_LEN);
		break;
	}
	return 0;
}

/* --- workload --- */

static int workload_mode(const struct member *m)
{
	int allowed = !m->pub || m->pub->role != MS_ROLE_DEST || m->loaded;

	return allowed && m->mode != MS_VIRTIO_MODE_FREEZE;
}

static void update_workload(struct member *m)
{
	int on = workload_mode(m);

	if (on && !m->workload_on)
		ms_ref_work__start(&m->work, now(m));
	else if (!on && m->workload_on)
		ms_ref_work__stop(&m->work);
	m->workload_on = on;
}

static uint64_t member_next_event(void *ctx)
{
	struct member *m = ctx;

	if (!m->started) {
		m->started = 1;
		update_workload(m);
	}
	return m->work.next_ns;
}

static void record(struct member *m, uint64_t page, uint64_t pages)
{
	for (uint64_t i = 0; i < pages; i++) {
		uint64_t addr = m->p.iova + (page + i) * MS_REF_PAGE;

		for (uint32_t r = 0; r < m->nr_rec; r++)
			if (addr >= m->rec_addr[r] &&
			    addr - m->rec_addr[r] < m->rec_pages[r] * m->rec_ps) {
				m->rec[(page + i) / 64] |= 1ull << ((page + i) % 64);
				break;
			}
	}
}

static void member_run_event(void *ctx)
{
	struct member *m = ctx;
	struct vq *q = &m->vq[m->events % m->nvq];

	m->events++;
	if (m->mode != MS_VIRTIO_MODE_ACTIVE) {
		/* Stop: a driver notification arrives; the device notes it but touches no memory */
		ms_ref_work__skip(&m->work);
		q->avail++;
		m->gen++;
		return;
	}
	{
		uint64_t ts, page, pages;

		ms_ref_work__take(&m->work, m->pub, &ts, &page, &pages);
		if (m->recording)
			record(m, page, pages);
		q->avail = (uint16_t)(q->avail + pages);
		q->nown = (uint16_t)(pages % OWN_MAX);
		for (uint16_t k = 0; k < q->nown; k++)
			q->own[k] = (uint16_t)((q->avail + k) % q->size);
		m->gen++;
		if (m->events % 256 == 0)
			m->stats.notifications++; /* a config change notification, Active only */
		if (m->events % 1024 == 0)
			m->stats.pme++;
	}
}

/* --- admin commands --- */

struct reply {
	uint8_t *buf;
	size_t cap, len;
};

static void status(struct reply *r, uint16_t st, uint16_t q, uint32_t out)
{
	r->len = ms_virtio_admin__encode_res(r->buf, st, q, out);
}

static void invalid(struct reply *r, uint16_t q)
{
	status(r, MS_VIRTIO_ADMIN_STATUS_EINVAL, q, 0);
}

/* Room for result bytes after the header. */
static size_t room(const struct reply *r)
{
	return r->cap - MS_VIRTIO_ADMIN_RES_HDR_LEN;
}

static int partially_read(const struct member *m)
{
	return m->snap_open && m->snap_off > 0;
}

/* A new mode has a new context; what was read of the old one is gone. */
static void reset_read(struct member *m)
{
	m->snap_open = 0;
	m->snap_off = m->snap_len = 0;
	m->read_done = 0;
}

static uint64_t mode_latency(const struct member *m, uint8_t from, uint8_t to)
{
	static const uint8_t rank[MS_VIRTIO_NR_MODES] = { 0, 1, 2 };
	uint64_t t = 0;

	if (rank[to] > rank[from]) {
		if (from == MS_VIRTIO_MODE_ACTIVE)
			t += m->p.p2p_ns;
		if (to == MS_VIRTIO_MODE_FREEZE)
			t += m->p.stop_ns;
	} else if (rank[to] < rank[from]) {
		t += m->p.start_ns * (uint64_t)(rank[from] - rank[to]);
		if (from == MS_VIRTIO_MODE_FREEZE && m->pending)
			t += m->p.load_ns;
	}
	return t;
}

static void wait_busy(struct member *m)
{
	/* a VF in FLR, reset or a PM transition answers once that completes */
	if (m->busy_until > now(m))
		ms_clock__advance_to(m->clock, m->busy_until);
}

static void cmd_mode_set(struct member *m, const struct ms_virtio_admin_cmd *c, struct reply *r)
{
	uint8_t to;
	uint64_t done;

	if (c->data_len < 1)
		return invalid(r, MS_VIRTIO_ADMIN_Q_INVALID_COMMAND);
	to = c->data[0];
	if (to >= MS_VIRTIO_NR_MODES)
		return invalid(r, MS_VIRTIO_ADMIN_Q_INVALID_FIELD);
	wait_busy(m);
	if (to == m->mode)
		return status(r, MS_VIRTIO_ADMIN_STATUS_OK, 0, 0);
	if (to != MS_VIRTIO_MODE_FREEZE && (partially_read(m) || m->w_partial))
		return invalid(r, MS_VIRTIO_ADMIN_Q_INVALID_FIELD);
	done = now(m) + mode_latency(m, m->mode, to);
	/* outstanding PCI transactions finish before the command completes */
	if (m->mode == MS_VIRTIO_MODE_ACTIVE && m->work.next_ns != UINT64_MAX &&
	    m->work.next_ns > done)
		done = m->work.next_ns;
	ms_clock__advance_to(m->clock, done);
	if (m->mode == MS_VIRTIO_MODE_FREEZE && m->pending) {
		char err[200];

		/* the most recently written context takes effect leaving Freeze */
		if (ms_virtio_ctx__parse(m->pending, m->pending_len, NULL, 0, apply_field, m, err,
					 sizeof(err))) {
			/* a context naming queues this device lacks: refused, the old state stays
			 */
			free(m->pending);
			m->pending = NULL;
			return invalid(r, MS_VIRTIO_ADMIN_Q_INVALID_FIELD);
		}
		m->loaded = 1;
		m->loaded_digest = ms_crc32c(0, m->pending, m->pending_len);
		free(m->pending);
		m->pending = NULL;
		m->gen++;
	}
	m->mode = to;
	reset_read(m);
	update_workload(m);
	status(r, MS_VIRTIO_ADMIN_STATUS_OK, 0, 0);
}

static void cmd_mode_get(struct member *m, struct reply *r)
{
	if (room(r) < 1)
		return invalid(r, MS_VIRTIO_ADMIN_Q_INVALID_COMMAND);
	status(r, MS_VIRTIO_ADMIN_STATUS_OK, 0, 0);
	r->buf[r->len++] = fault_now(m, MS_REF_FAULT_MODE) ? 7 : m->mode;
}

static int take_snapshot(struct member *m)
{
	int bad_tlv, bad_len;

	free(m->snap);
	m->snap = malloc(context_size(m) + 2);
	if (!m->snap)
		return -ENOMEM;
	m->snapshots++;
	bad_tlv = fault_now(m, MS_REF_FAULT_TLV);
	bad_len = !bad_tlv && fault_now(m, MS_REF_FAULT_FIELD_LEN);
	m->snap_len = serialize(m, m->snap, bad_tlv, bad_len);
	m->snap_off = 0;
	m->snap_open = 1;
	m->read_gen = m->gen;
	return 0;
}

static void cmd_ctx_read(struct member *m, struct reply *r)
{
	size_t want = room(r), n;

	wait_busy(m);
	if (!m->snap_open) {
		/* a context read to the end stays read until a new one is generated */
		if (m->read_done && m->gen == m->read_gen)
			return status(r, MS_VIRTIO_ADMIN_STATUS_OK, 0, 0);
		if (take_snapshot(m))
			return status(r, MS_VIRTIO_ADMIN_STATUS_ENOMEM,
				      MS_VIRTIO_ADMIN_Q_NORESOURCE, 0);
	}
	n = m->snap_len - m->snap_off < want ? m->snap_len - m->snap_off : want;
	status(r, MS_VIRTIO_ADMIN_STATUS_OK, 0, (uint32_t)n);
	memcpy(r->buf + r->len, m->snap + m->snap_off, n);
	r->len += n;
	m->snap_off += n;
	if (fault_now(m, MS_REF_FAULT_CTX_LEN))
		ms_put_le32(r->buf + 4, (uint32_t)(want + 100)); /* claims more than the buffer */
	if (m->snap_off == m->snap_len) {
		m->snap_open = 0;
		m->read_done = 1;
		if (m->mode == MS_VIRTIO_MODE_FREEZE) {
			m->final_digest = ms_crc32c(0, m->snap, m->snap_len);
			m->have_final = 1;
		}
	}
}

static void cmd_ctx_size(struct member *m, const struct ms_virtio_admin_cmd *c, struct reply *r)
{
	uint64_t size;

	if (c->data_len < 1 || room(r) < 8)
		return invalid(r, MS_VIRTIO_ADMIN_Q_INVALID_COMMAND);
	if (c->data[0] > 1)
		return invalid(r, MS_VIRTIO_ADMIN_Q_INVALID_FIELD);
	if (c->data[0] == 1 && m->mode != MS_VIRTIO_MODE_FREEZE)
		size = context_size(m); /* Freeze will have a new, whole context */
	else if (m->snap_open)
		size = m->snap_len - m->snap_off;
	else if (m->read_done && m->gen == m->read_gen)
		size = 0;
	else
		size = context_size(m);
	status(r, MS_VIRTIO_ADMIN_STATUS_OK, 0, 0);
	ms_put_le64(r->buf + r->len, size);
	r->len += 8;
}

/*
 * Walk what has been written so far: check each field header against the
 * supported fields as soon as it is complete.  Returns 1 when a whole
 * context is there, 0 when more is needed, -1 on a bad field.
 */
static int scan_written(const struct member *m)
{
	size_t nsup, off = 4;
	const struct ms_virtio_field *sup = supported_fields(&nsup);
	uint32_t count;

	if (m->w_len < 4)
		return 0;
	count = ms_get_le32(m->w);
	for (uint32_t i = 0; i < count; i++) {
		uint16_t type;
		uint64_t len;
		const struct ms_virtio_field *s = NULL;

		if (m->w_len - off < MS_VIRTIO_CTX_TLV_HDR_LEN)
			return 0;
		type = ms_get_le16(m->w + off);
		len = ms_get_le64(m->w + off + 8);
		for (size_t k = 0; k < nsup; k++)
			if (sup[k].type == type)
				s = &sup[k];
		if (!s || (type == MS_VIRTIO_CTX_VQ_SPLIT_DEV_OWN_DESC ? len > s->length
								       : len != s->length))
			return -1;
		off += MS_VIRTIO_CTX_TLV_HDR_LEN;
		if (m->w_len - off < len)
			return 0;
		off += (size_t)len;
	}
	return off == m->w_len ? 1 : -1;
}

static void drop_written(struct member *m)
{
	m->w_len = 0;
	m->w_partial = 0;
}

static void cmd_ctx_write(struct member *m, const struct ms_virtio_admin_cmd *c, struct reply *r)
{
	uint8_t *p;
	int ret;

	wait_busy(m);
	if (m->mode != MS_VIRTIO_MODE_FREEZE)
		return invalid(r, MS_VIRTIO_ADMIN_Q_INVALID_FIELD);
	if (!c->data_len)
		return invalid(r, MS_VIRTIO_ADMIN_Q_INVALID_COMMAND);
	if (m->w_len + c->data_len > MAX_WRITTEN) {
		drop_written(m);
		return status(r, MS_VIRTIO_ADMIN_STATUS_ENOMEM, MS_VIRTIO_ADMIN_Q_NORESOURCE, 0);
	}
	p = realloc(m->w, m->w_len + c->data_len);
	if (!p)
		return status(r, MS_VIRTIO_ADMIN_STATUS_ENOMEM, MS_VIRTIO_ADMIN_Q_NORESOURCE, 0);
	m->w = p;
	memcpy(m->w + m->w_len, c->data, c->data_len);
	m->w_len += c->data_len;
	ret = scan_written(m);
	if (ret < 0) {
		/* a field this device does not have at that length: refuse the whole context */
		drop_written(m);
		return invalid(r, MS_VIRTIO_ADMIN_Q_INVALID_FIELD);
	}
	if (ret == 1) {
		free(m->pending);
		m->pending = m->w;
		m->pending_len = m->w_len;
		m->w = NULL;
		drop_written(m);
	} else {
		m->w_partial = 1;
	}
	status(r, MS_VIRTIO_ADMIN_STATUS_OK, 0, 0);
}

static void cmd_fields(struct member *m, struct reply *r)
{
	size_t n;
	const struct ms_virtio_field *f = supported_fields(&n);

	if (room(r) < n * MS_VIRTIO_FIELD_ENTRY_LEN)
		return invalid(r, MS_VIRTIO_ADMIN_Q_INVALID_COMMAND);
	status(r, MS_VIRTIO_ADMIN_STATUS_OK, 0, 0);
	for (size_t i = 0; i < n; i++) {
		uint8_t *e = r->buf + r->len;

		memset(e, 0, MS_VIRTIO_FIELD_ENTRY_LEN);
		ms_put_le16(e, f[i].type);
		ms_put_le64(e + 8, f[i].length);
		r->len += MS_VIRTIO_FIELD_ENTRY_LEN;
	}
}

static void cmd_discard(struct member *m, struct reply *r)
{
	/* as if the context was never read in this mode, and a partial write never received */
	reset_read(m);
	drop_written(m);
	status(r, MS_VIRTIO_ADMIN_STATUS_OK, 0, 0);
}

#define PAGE_BITMAP ((1u << 0) | (1u << 9)) /* 4 KiB and 2 MiB */

static void cmd_wr_cap(struct member *m, struct reply *r)
{
	if (room(r) < 8)
		return invalid(r, MS_VIRTIO_ADMIN_Q_INVALID_COMMAND);
	status(r, MS_VIRTIO_ADMIN_STATUS_OK, 0, 0);
	ms_put_le32(r->buf + r->len, PAGE_BITMAP);
	ms_put_le32(r->buf + r->len + 4, REC_RANGES);
	r->len += 8;
}

static void cmd_wr_start(struct member *m, const struct ms_virtio_admin_cmd *c, struct reply *r)
{
	uint64_t ps;
	uint32_t n;
	int bit;

	if (c->data_len < MS_VIRTIO_WR_START_HDR_LEN)
		return invalid(r, MS_VIRTIO_ADMIN_Q_INVALID_COMMAND);
	ps = ms_get_le64(c->data);
	n = ms_get_le32(c->data + 8);
	bit = ps ? __builtin_ctzll(ps) - 12 : -1;
	if (m->recording || !n || n > REC_RANGES ||
	    c->data_len != MS_VIRTIO_WR_START_HDR_LEN + (size_t)n * MS_VIRTIO_WR_ENTRY_LEN ||
	    (ps & (ps - 1)) || bit < 0 || bit > 31 || !(PAGE_BITMAP & (1u << bit)))
		return invalid(r, MS_VIRTIO_ADMIN_Q_INVALID_FIELD);
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *e =
		    c->data + MS_VIRTIO_WR_START_HDR_LEN + i * MS_VIRTIO_WR_ENTRY_LEN;

		m->rec_addr[i] = ms_get_le64(e);
		m->rec_pages[i] = ms_get_le64(e + 8);
		if (m->rec_addr[i] % ps || !m->rec_pages[i] ||
		    m->rec_pages[i] > (UINT64_MAX - m->rec_addr[i]) / ps)
			return invalid(r, MS_VIRTIO_ADMIN_Q_INVALID_FIELD);
		for (uint32_t k = 0; k < i; k++)
			if (m->rec_addr[i] < m->rec_addr[k] + m->rec_pages[k] * ps &&
			    m->rec_addr[k] < m->rec_addr[i] + m->rec_pages[i] * ps)
				return invalid(r, MS_VIRTIO_ADMIN_Q_INVALID_FIELD);
	}
	m->nr_rec = n;
	m->rec_ps = ps;
	memset(m->rec, 0, ((m->work.ws_pages + 63) / 64) * 8);
	m->recording = 1;
	status(r, MS_VIRTIO_ADMIN_STATUS_OK, 0, 0);
}

static void cmd_wr_stop(struct member *m, struct reply *r)
{
	/* succeeds whether or not recording was started */
	m->recording = 0;
	m->nr_rec = 0;
	memset(m->rec, 0, ((m->work.ws_pages + 63) / 64) * 8);
	status(r, MS_VIRTIO_ADMIN_STATUS_OK, 0, 0);
}

static void cmd_wr_read(struct member *m, const struct ms_virtio_admin_cmd *c, struct reply *r)
{
	uint64_t addr, len, max = room(r) / 8, count = 0, last = UINT64_MAX;
	uint64_t first, end;

	if (!m->recording)
		return invalid(r, MS_VIRTIO_ADMIN_Q_INVALID_COMMAND);
	if (c->data_len < 16)
		return invalid(r, MS_VIRTIO_ADMIN_Q_INVALID_COMMAND);
	addr = ms_get_le64(c->data);
	len = ms_get_le64(c->data + 8);
	if (!len || len % MS_REF_PAGE || addr % MS_REF_PAGE || addr + len < addr)
		return invalid(r, MS_VIRTIO_ADMIN_Q_INVALID_FIELD);
	if (fault_now(m, MS_REF_FAULT_WR_READ)) {
		/* the device failed the read and lost what it had gathered */
		memset(m->rec, 0, ((m->work.ws_pages + 63) / 64) * 8);
		return status(r, MS_VIRTIO_ADMIN_STATUS_ENOMEM, MS_VIRTIO_ADMIN_Q_NORESOURCE, 0);
	}
	status(r, MS_VIRTIO_ADMIN_STATUS_OK, 0, 0);
	first = addr > m->p.iova ? (addr - m->p.iova) / MS_REF_PAGE : 0;
	end = addr + len > m->p.iova ? (addr + len - m->p.iova) / MS_REF_PAGE : 0;
	if (end > m->work.ws_pages)
		end = m->work.ws_pages;
	for (uint64_t q = first; q < end && count < max; q++) {
		uint64_t unit, a = m->p.iova + q * MS_REF_PAGE;

		if (!(m->rec[q / 64] & (1ull << (q % 64))))
			continue;
		unit = a & ~(m->rec_ps - 1);
		if (unit != last) {
			/* one record per recorded page; the 4 KiB pages under it go with it */
			ms_put_le64(r->buf + r->len, unit);
			r->len += 8;
			count++;
			last = unit;
		}
		m->rec[q / 64] &= ~(1ull << (q % 64));
	}
	ms_put_le32(r->buf + 4, (uint32_t)count);
	if (count && fault_now(m, MS_REF_FAULT_WR_COUNT))
		ms_put_le32(r->buf + 4, (uint32_t)(max + 5));
}

static int member_exec(void *ctx, const uint8_t *cmdbuf, size_t cmd_len, uint8_t *res,
		       size_t res_cap, size_t *res_len)
{
	struct member *m = ctx;
	struct ms_virtio_admin_cmd c;
	struct reply r = { .buf = res, .cap = res_cap };

	if (res_cap < MS_VIRTIO_ADMIN_RES_HDR_LEN)
		return -EINVAL; /* nowhere to put even the status */
	m->stats.admin_cmds++;
	ms_clock__advance(m->clock, CMD_NS + ms_transfer_ns(cmd_len + res_cap, 1ull << 30));
	if (ms_virtio_admin__decode_cmd(cmdbuf, cmd_len, &c)) {
		invalid(&r, MS_VIRTIO_ADMIN_Q_INVALID_COMMAND);
	} else if (c.group_type != MS_VIRTIO_ADMIN_GROUP_SRIOV) {
		invalid(&r, MS_VIRTIO_ADMIN_Q_INVALID_GROUP);
	} else if (c.member != MEMBER_ID) {
		invalid(&r, MS_VIRTIO_ADMIN_Q_INVALID_MEMBER);
	} else {
		switch (c.opcode) {
		case MS_VIRTIO_ADMIN_DEV_MODE_GET:
			cmd_mode_get(m, &r);
			break;
		case MS_VIRTIO_ADMIN_DEV_MODE_SET:
			cmd_mode_set(m, &c, &r);
			break;
		case MS_VIRTIO_ADMIN_DEV_CTX_SIZE_GET:
			cmd_ctx_size(m, &c, &r);
			break;
		case MS_VIRTIO_ADMIN_DEV_CTX_READ:
			cmd_ctx_read(m, &r);
			break;
		case MS_VIRTIO_ADMIN_DEV_CTX_WRITE:
			cmd_ctx_write(m, &c, &r);
			break;
		case MS_VIRTIO_ADMIN_DEV_CTX_FIELDS_QUERY:
			cmd_fields(m, &r);
			break;
		case MS_VIRTIO_ADMIN_DEV_CTX_DISCARD:
			cmd_discard(m, &r);
			break;
		case MS_VIRTIO_ADMIN_DEV_WRITE_RECORD_CAP_QUERY:
		case MS_VIRTIO_ADMIN_DEV_WRITE_RECORDS_START:
		case MS_VIRTIO_ADMIN_DEV_WRITE_RECORDS_STOP:
		case MS_VIRTIO_ADMIN_DEV_WRITE_RECORDS_READ:
			/* all four or none */
			if (!m->p.track)
				invalid(&r, MS_VIRTIO_ADMIN_Q_INVALID_OPCODE);
			else if (c.opcode == MS_VIRTIO_ADMIN_DEV_WRITE_RECORD_CAP_QUERY)
				cmd_wr_cap(m, &r);
			else if (c.opcode == MS_VIRTIO_ADMIN_DEV_WRITE_RECORDS_START)
				cmd_wr_start(m, &c, &r);
			else if (c.opcode == MS_VIRTIO_ADMIN_DEV_WRITE_RECORDS_STOP)
				cmd_wr_stop(m, &r);
			else
				cmd_wr_read(m, &c, &r);
			break;
		default:
			invalid(&r, MS_VIRTIO_ADMIN_Q_INVALID_OPCODE);
		}
	}
	*res_len = r.len;
	return 0;
}

static int member_digest(void *ctx, uint32_t *out)
{
	struct member *m = ctx;

	if (m->loaded) {
		*out = m->loaded_digest;
		return 0;
	}
	if (m->have_final) {
		*out = m->final_digest;
		return 0;
	}
	return -EAGAIN;
}

static void member_free(void *ctx)
{
	struct member *m = ctx;

	ms_ref_work__free(&m->work);
	free(m->snap);
	free(m->w);
	free(m->pending);
	free(m->rec);
	free(m);
}

static void init_device(struct member *m)
{
	m->nvq = m->p.vqs;
	m->features[0] = (1ull << 0) | (1ull << 5) | (1ull << 16); /* CSUM, MAC, STATUS */
	m->features[1] = 1ull << 0;				   /* VERSION_1 (bit 32) */
	m->status = 0x0f;
	for (uint32_t i = 0; i < m->nvq; i++) {
		struct vq *q = &m->vq[i];

		q->size = QUEUE_SIZE;
		q->msix = (uint16_t)(i + 1);
		q->desc = 0x80000000ull + i * 0x10000ull;
		q->driver = q->desc + 0x1000;
		q->device = q->desc + 0x2000;
		q->enabled = 1;
	}
	for (int i = 0; i < 6; i++)
		m->devcfg[i] = (uint8_t)ms_rand__below(&m->work.rng, 256);
	m->devcfg[0] &= 0xfe;	       /* a unicast MAC */
	ms_put_le16(m->devcfg + 6, 1); /* status: link up */
	ms_put_le16(m->devcfg + 8, (uint16_t)(m->nvq / 2 ? m->nvq / 2 : 1));
	ms_put_le16(m->devcfg + 10, 1500);
}

static struct member *to_member(struct ms_device *d)
{
	const struct ms_virtio_transport *t = ms_virtio_dev__transport(d);

	return t && t->exec == member_exec ? t->ctx : NULL;
}

struct ms_device *ms_ref_virtio__new(const struct ms_ref_params *p, struct ms_clock *c, char *err,
				     size_t errlen)
{
	struct member *m;
	struct ms_virtio_transport t = { 0 };
	struct ms_device *d;

	if (ms_ref_params__check(p, err, errlen))
		return NULL;
	m = calloc(1, sizeof(*m));
	if (!m || ms_ref_work__init(&m->work, p, p->seed ^ 0x5bd1e995ull, &m->stats) ||
	    !(m->rec = calloc((p->ws / MS_REF_PAGE + 63) / 64, 8))) {
		if (m)
			member_free(m);
		snprintf(err, errlen, "%s: failed to allocate the reference device: %s", p->name,
			 strerror(ENOMEM));
		return NULL;
	}
	m->p = *p;
	m->clock = c;
	m->mode = MS_VIRTIO_MODE_ACTIVE;
	init_device(m);
	t.exec = member_exec;
	t.next_event = member_next_event;
	t.run_event = member_run_event;
	t.digest = member_digest;
	t.close = member_free;
	t.ctx = m;
	t.member_id = MEMBER_ID;
	d = ms_virtio_dev__new(&t, p->name, c, err, errlen);
	if (d)
		m->pub = d;
	return d;
}

int ms_ref_virtio__event(struct ms_device *d, enum ms_ref_member_event ev, uint64_t dur_ns)
{
	struct member *m = to_member(d);

	if (!m)
		return -EINVAL;
	if (ev == MS_REF_FLR || ev == MS_REF_DEVICE_RESET) {
		/* the guest's reset: virtio state goes, the owner's migration state stays */
		for (uint32_t i = 0; i < m->nvq; i++) {
			m->vq[i].avail = 0;
			m->vq[i].enabled = 0;
			m->vq[i].nown = 0;
		}
		m->status = 0;
		m->gen++;
	}
	m->busy_until = now(m) + dur_ns;
	return 0;
}

int ms_ref_virtio__cfg(struct ms_device *d, int write, uint32_t off, uint8_t *val)
{
	struct member *m = to_member(d);

	if (!m || off >= DEV_CFG_LEN)
		return -EINVAL;
	if (!write) {
		*val = m->devcfg[off];
		return 0;
	}
	m->stats.cfg_writes++;
	/* in Freeze, configuration writes (direct or through PCI_CFG) change nothing */
	if (m->mode == MS_VIRTIO_MODE_FREEZE)
		return 0;
	if (m->devcfg[off] != *val) {
		m->devcfg[off] = *val;
		m->cfg_gen++;
		m->gen++;
	}
	return 0;
}

int ms_ref_virtio__stats(struct ms_device *d, struct ms_ref_stats *st, uint8_t *mode)
{
	struct member *m = to_member(d);

	if (!m)
		return -EINVAL;
	*st = m->stats;
	st->recording = (uint32_t)m->recording;
	if (mode)
		*mode = m->mode;
	return 0;
}
