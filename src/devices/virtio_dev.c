// SPDX-License-Identifier: GPL-2.0-only
/*
 * The virtio backend: VFIO-state arcs carried out with the device-migration
 * admin commands (virtio_dev.h), and the driver-side flows of the seed: read
 * the whole context in chunks until the device returns fewer bytes than
 * asked, write it back in chunks while the device is in Freeze, read write
 * records until the device returns fewer than asked.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <migscope/stream.h>
#include <migscope/virtio_admin.h>
#include <migscope/virtio_dev.h>
#include <migscope/vfio_fsm.h>

#define CHUNK	    4096u /* context bytes per DEV_CTX_READ / DEV_CTX_WRITE */
#define RES_CAP	    (MS_VIRTIO_ADMIN_RES_HDR_LEN + 8192)
#define CMD_CAP	    (MS_VIRTIO_ADMIN_HDR_LEN + 8192)
#define MAX_CTX	    (16u << 20) /* a device context larger than this is not believed */
#define MAX_RECORDS (CHUNK / 8) /* write records per DEV_WRITE_RECORDS_READ */
#define FRAME_MAGIC 0x4356534du /* 'MSVC' */
#define FRAME_HDR   16u
#define FRAME_FIRST 1u

enum session { SESSION_NONE, SESSION_SAVE, SESSION_LOAD };

/* The one place where VFIO states meet virtio modes. */
static const struct {
	uint8_t vfio;
	uint8_t mode;
	uint8_t session;
} vfio_map[] = {
	{ VFIO_DEVICE_STATE_RUNNING, MS_VIRTIO_MODE_ACTIVE, SESSION_NONE },
	{ VFIO_DEVICE_STATE_PRE_COPY, MS_VIRTIO_MODE_ACTIVE, SESSION_SAVE },
	{ VFIO_DEVICE_STATE_RUNNING_P2P, MS_VIRTIO_MODE_STOP, SESSION_NONE },
	{ VFIO_DEVICE_STATE_PRE_COPY_P2P, MS_VIRTIO_MODE_STOP, SESSION_SAVE },
	{ VFIO_DEVICE_STATE_STOP, MS_VIRTIO_MODE_FREEZE, SESSION_NONE },
	{ VFIO_DEVICE_STATE_STOP_COPY, MS_VIRTIO_MODE_FREEZE, SESSION_SAVE },
	{ VFIO_DEVICE_STATE_RESUMING, MS_VIRTIO_MODE_FREEZE, SESSION_LOAD },
};

/* The state a mode means when no data session is open. */
static const uint8_t mode_base_state[MS_VIRTIO_NR_MODES] = {
	[MS_VIRTIO_MODE_ACTIVE] = VFIO_DEVICE_STATE_RUNNING,
	[MS_VIRTIO_MODE_STOP] = VFIO_DEVICE_STATE_RUNNING_P2P,
	[MS_VIRTIO_MODE_FREEZE] = VFIO_DEVICE_STATE_STOP,
};

int ms_virtio_mode_of(unsigned int vfio_state, uint8_t *mode)
{
	for (size_t i = 0; i < sizeof(vfio_map) / sizeof(vfio_map[0]); i++)
		if (vfio_map[i].vfio == vfio_state) {
			*mode = vfio_map[i].mode;
			return 0;
		}
	return -EINVAL;
}

static int session_of(unsigned int vfio_state)
{
	for (size_t i = 0; i < sizeof(vfio_map) / sizeof(vfio_map[0]); i++)
		if (vfio_map[i].vfio == vfio_state)
			return vfio_map[i].session;
	return SESSION_NONE;
}

struct vdev {
	struct ms_device dev;
	struct ms_virtio_transport t;
	struct ms_virtio_field fields[MS_VIRTIO_MAX_FIELDS];
	size_t nr_fields;
	int have_wr;
	struct ms_virtio_wr_cap cap;
	uint8_t mode;
	uint8_t cmd[CMD_CAP];
	uint8_t res[RES_CAP];

	/* save: one framed context being handed out */
	uint8_t *snap;
	size_t snap_len, snap_cap, snap_off;
	int snap_first;
	uint32_t snaps; /* contexts read this session */
	int final_read; /* the Freeze context of STOP_COPY was read */
	int reading;	/* a DEV_CTX_READ sequence is unfinished on the device */

	/* load: one framed context being received */
	uint8_t hdr[FRAME_HDR];
	size_t hdr_len;
	uint8_t *in;
	size_t in_len, in_want;
	int writing; /* a context is partially written to the device */
	int wrote;   /* a complete context was written this session */

	uint64_t rec_page;
};

static struct vdev *to_v(struct ms_device *d)
{
	return d->priv;
}

static const char *opname(uint16_t op, char *b, size_t n)
{
	return ms_virtio_admin_opcode_name(op, b, n);
}

/*
 * One admin command; status other than OK is an error.  r points into
 * v->res and is valid until the next command.
 */
static int cmd(struct vdev *v, uint16_t op, const void *data, size_t dlen, size_t result_cap,
	       struct ms_virtio_admin_res *r)
{
	struct ms_device *d = &v->dev;
	size_t len =
	    ms_virtio_admin__encode(v->cmd, sizeof(v->cmd), op, v->t.member_id, data, dlen);
	size_t cap = MS_VIRTIO_ADMIN_RES_HDR_LEN + result_cap, written = 0;
	char b[32], err[200];
	int ret;

	memset(r, 0, sizeof(*r));
	if (!len || cap > sizeof(v->res))
		return ms_dev__fail(d, -E2BIG, "%s: command does not fit the admin buffer",
				    opname(op, b, sizeof(b)));
	memset(v->res, 0, cap);
	ret = v->t.exec(v->t.ctx, v->cmd, len, v->res, cap, &written);
	if (ret)
		return ms_dev__fail(d, ret, "%s: admin queue: %s", opname(op, b, sizeof(b)),
				    strerror(-ret));
	if (ms_virtio_admin__decode_res(v->res, written, cap, r, err, sizeof(err)))
		return ms_dev__fail(d, -EPROTO, "%s: %s", opname(op, b, sizeof(b)), err);
	if (r->status != MS_VIRTIO_ADMIN_STATUS_OK)
		return ms_dev__fail(d,
				    r->status == MS_VIRTIO_ADMIN_STATUS_EAGAIN	       ? -EAGAIN
				    : r->status == MS_VIRTIO_ADMIN_STATUS_ENOMEM       ? -ENOMEM
				    : r->qualifier == MS_VIRTIO_ADMIN_Q_INVALID_OPCODE ? -EOPNOTSUPP
										       : -EINVAL,
				    "%s: device status %u, qualifier %u", opname(op, b, sizeof(b)),
				    r->status, r->qualifier);
	return 0;
}

int ms_virtio_dev__cmd(struct ms_device *d, uint16_t opcode, const void *data, size_t data_len,
		       uint8_t *res_buf, size_t res_cap, size_t *res_len)
{
	struct vdev *v = to_v(d);
	size_t len =
	    ms_virtio_admin__encode(v->cmd, sizeof(v->cmd), opcode, v->t.member_id, data, data_len);

	if (!len)
		return -E2BIG;
	return v->t.exec(v->t.ctx, v->cmd, len, res_buf, res_cap, res_len);
}

static int discard(struct vdev *v)
{
	struct ms_virtio_admin_res r;
	int err = cmd(v, MS_VIRTIO_ADMIN_DEV_CTX_DISCARD, NULL, 0, 0, &r);

	if (!err)
		v->reading = v->writing = 0;
	return err;
}

static int get_mode(struct vdev *v, uint8_t *mode)
{
	struct ms_virtio_admin_res r;
	char err[200];
	int ret = cmd(v, MS_VIRTIO_ADMIN_DEV_MODE_GET, NULL, 0, 8, &r);

	if (ret)
		return ret;
	if (ms_virtio_admin__mode(&r, mode, err, sizeof(err)))
		return ms_dev__fail(&v->dev, -EPROTO, "%s", err);
	return 0;
}

int ms_virtio_dev__set_mode(struct ms_device *d, uint8_t mode)
{
	struct vdev *v = to_v(d);
	struct ms_virtio_admin_res r;
	uint64_t start = ms_clock__now(d->clock);
	uint8_t from = v->mode;
	int err;

	if (mode != MS_VIRTIO_MODE_FREEZE && (v->writing || v->in_len || v->hdr_len))
		return ms_dev__fail(d, -EINVAL,
				    "DEV_MODE_SET: %s while a device context is partially written "
				    "(discard it first)",
				    ms_virtio_mode_name(mode));
	err = cmd(v, MS_VIRTIO_ADMIN_DEV_MODE_SET, &mode, 1, 0, &r);
	ms_dev__publish_arc(d, MS_DOMAIN_VIRTIO, from, err ? from : mode, err, start);
	if (!err)
		v->mode = mode;
	return err;
}

static int size_get(struct vdev *v, int freeze_mode, uint64_t *size)
{
	struct ms_virtio_admin_res r;
	uint8_t f = (uint8_t)freeze_mode;
	char err[200];
	int ret = cmd(v, MS_VIRTIO_ADMIN_DEV_CTX_SIZE_GET, &f, 1, 8, &r);

	if (ret)
		return ret;
	if (ms_virtio_admin__ctx_size(&r, size, err, sizeof(err)))
		return ms_dev__fail(&v->dev, -EPROTO, "%s", err);
	return 0;
}

static int reserve(struct ms_device *d, uint8_t **buf, size_t *cap, size_t need)
{
	uint8_t *p;
	size_t n = *cap ? *cap : 4096;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	p = realloc(*buf, n);
	if (!p)
		return ms_dev__fail(d, -ENOMEM, "device context: %s", strerror(ENOMEM));
	*buf = p;
	*cap = n;
	return 0;
}

/*
 * Read one whole device context (the device ends it with a short read) into
 * the frame buffer, and validate it against the supported-fields query.
 * 0 with snap_len == 0 when the device had nothing.
 */
static int read_context(struct vdev *v)
{
	struct ms_device *d = &v->dev;
	size_t len = FRAME_HDR;
	char err[240];
	int ret;

	v->snap_len = v->snap_off = 0;
	for (;;) {
		struct ms_virtio_admin_res r;
		uint32_t n;

		ret = cmd(v, MS_VIRTIO_ADMIN_DEV_CTX_READ, NULL, 0, CHUNK, &r);
		if (ret)
			return ret;
		if (ms_virtio_admin__ctx_read(&r, CHUNK, &n, err, sizeof(err)))
			return ms_dev__fail(d, -EPROTO, "%s", err);
		if (len + n - FRAME_HDR > MAX_CTX)
			return ms_dev__fail(
			    d, -EFBIG, "DEV_CTX_READ: device context exceeds %u bytes", MAX_CTX);
		ret = reserve(d, &v->snap, &v->snap_cap, len + n);
		if (ret)
			return ret;
		memcpy(v->snap + len, r.result, n);
		len += n;
		v->reading = n == CHUNK;
		if (n < CHUNK)
			break;
	}
	if (len == FRAME_HDR)
		return 0;
	if (ms_virtio_ctx__parse(v->snap + FRAME_HDR, len - FRAME_HDR, v->fields, v->nr_fields,
				 NULL, NULL, err, sizeof(err)))
		return ms_dev__fail(d, -EPROTO, "DEV_CTX_READ: %s", err);
	ms_put_le32(v->snap, FRAME_MAGIC);
	ms_put_le32(v->snap + 4, v->snaps == 0 ? FRAME_FIRST : 0);
	ms_put_le64(v->snap + 8, len - FRAME_HDR);
	v->snap_first = v->snaps == 0;
	v->snaps++;
	v->snap_len = len;
	return 0;
}

static ssize_t v_read(struct ms_device *d, void *buf, size_t len)
{
	struct vdev *v = to_v(d);
	size_t n;
	char b[16];
	int ret;

	if (session_of(d->state) != SESSION_SAVE)
		return ms_dev__fail(d, -EINVAL, "data read: no save session in %s",
				    ms_vfio_state_name(d->state, b, sizeof(b)));
	if (v->snap_off == v->snap_len) {
		if (d->state == VFIO_DEVICE_STATE_STOP_COPY) {
			if (v->final_read)
				return 0;
			ret = read_context(v);
			if (ret)
				return ret;
			v->final_read = 1;
			if (!v->snap_len)
				return 0;
		} else {
			uint64_t size;

			ret = size_get(v, 0, &size);
			if (ret)
				return ret;
			if (!size)
				return -ENOMSG;
			ret = read_context(v);
			if (ret)
				return ret;
			if (!v->snap_len)
				return -ENOMSG;
		}
	}
	n = v->snap_len - v->snap_off;
	if (n > len)
		n = len;
	memcpy(buf, v->snap + v->snap_off, n);
	v->snap_off += n;
	return (ssize_t)n;
}

static int v_precopy_info(struct ms_device *d, struct ms_precopy_info *pi)
{
	struct vdev *v = to_v(d);
	uint64_t size, held = v->snap_len - v->snap_off;
	char b[16];
	int ret;

	if (d->state != VFIO_DEVICE_STATE_PRE_COPY && d->state != VFIO_DEVICE_STATE_PRE_COPY_P2P)
		return ms_dev__fail(d, -EINVAL, "MIG_GET_PRECOPY_INFO: not valid in %s",
				    ms_vfio_state_name(d->state, b, sizeof(b)));
	ret = size_get(v, 0, &size);
	if (ret)
		return ret;
	if (size)
		size += FRAME_HDR;
	/* the first context of a save is the initial data; later ones are what changed */
	if (v->snaps == 0)
		pi->initial_bytes = size;
	else
		pi->dirty_bytes = size;
	if (held && v->snap_first)
		pi->initial_bytes += held;
	else
		pi->dirty_bytes += held;
	return 0;
}

static int v_stopcopy_size(struct ms_device *d, uint64_t *bytes)
{
	struct vdev *v = to_v(d);
	uint64_t size;
	int ret = size_get(v, 1, &size);

	if (ret)
		return ret;
	*bytes = (size ? size + FRAME_HDR : 0) + (v->snap_len - v->snap_off);
	return 0;
}

/* A whole framed context arrived: check it fits this device, then write it in chunks. */
static int write_context(struct vdev *v)
{
	struct ms_device *d = &v->dev;
	char err[240];

	if (ms_virtio_ctx__parse(v->in, v->in_len, v->fields, v->nr_fields, NULL, NULL, err,
				 sizeof(err)))
		return ms_dev__fail(d, -EPROTO, "DEV_CTX_WRITE: %s", err);
	for (size_t off = 0; off < v->in_len; off += CHUNK) {
		struct ms_virtio_admin_res r;
		size_t n = v->in_len - off < CHUNK ? v->in_len - off : CHUNK;
		int ret;

		v->writing = 1;
		ret = cmd(v, MS_VIRTIO_ADMIN_DEV_CTX_WRITE, v->in + off, n, 0, &r);
		if (ret)
			return ret;
	}
	v->writing = 0;
	v->wrote = 1;
	return 0;
}

static ssize_t v_write(struct ms_device *d, const void *buf, size_t len)
{
	struct vdev *v = to_v(d);
	const uint8_t *p = buf;
	size_t done = 0;

	if (d->state != VFIO_DEVICE_STATE_RESUMING)
		return ms_dev__fail(d, -EINVAL, "data write: the device is not RESUMING");
	while (done < len) {
		if (v->hdr_len < FRAME_HDR) {
			size_t n = FRAME_HDR - v->hdr_len;

			if (n > len - done)
				n = len - done;
			memcpy(v->hdr + v->hdr_len, p + done, n);
			v->hdr_len += n;
			done += n;
			if (v->hdr_len < FRAME_HDR)
				break;
			if (ms_get_le32(v->hdr) != FRAME_MAGIC)
				return ms_dev__fail(
				    d, -EINVAL,
				    "data write: frame magic 0x%08x is not a virtio device context",
				    ms_get_le32(v->hdr));
			v->in_want = ms_get_le64(v->hdr + 8);
			if (!v->in_want || v->in_want > MAX_CTX)
				return ms_dev__fail(
				    d, -EINVAL,
				    "data write: device context of %llu bytes (1 to %u)",
				    (unsigned long long)v->in_want, MAX_CTX);
			v->in_len = 0;
			continue;
		}
		{
			size_t n = v->in_want - v->in_len, cap = v->in_want;
			uint8_t *q;

			if (n > len - done)
				n = len - done;
			if (v->in_len == 0) {
				q = realloc(v->in, cap);
				if (!q)
					return ms_dev__fail(d, -ENOMEM, "data write: %s",
							    strerror(ENOMEM));
				v->in = q;
			}
			memcpy(v->in + v->in_len, p + done, n);
			v->in_len += n;
			done += n;
			if (v->in_len == v->in_want) {
				int ret = write_context(v);

				if (ret)
					return ret;
				v->hdr_len = 0;
				v->in_len = 0;
			}
		}
	}
	return (ssize_t)done;
}

static void end_save(struct vdev *v)
{
	v->snap_len = v->snap_off = 0;
}

static int v_arc(struct ms_device *d, uint8_t next)
{
	struct vdev *v = to_v(d);
	uint8_t from = d->state, mt;
	int sf = session_of(from), st = session_of(next), ret;
	char b1[16], b2[16];

	if (ms_virtio_mode_of(next, &mt))
		return ms_dev__fail(d, -EINVAL, "no virtio mode for %s",
				    ms_vfio_state_name(next, b1, sizeof(b1)));
	if (sf == SESSION_LOAD) {
		/* the driver must not leave Freeze with a context half written, nor resume from
		 * nothing */
		if (v->writing || v->hdr_len || v->in_len)
			return ms_dev__fail(
			    d, -EINVAL,
			    "%s -> %s: device context partially written (%zu of %zu bytes)",
			    ms_vfio_state_name(from, b1, sizeof(b1)),
			    ms_vfio_state_name(next, b2, sizeof(b2)), v->in_len, v->in_want);
		if (!v->wrote)
			return ms_dev__fail(d, -EINVAL, "%s -> %s: no device context was written",
					    ms_vfio_state_name(from, b1, sizeof(b1)),
					    ms_vfio_state_name(next, b2, sizeof(b2)));
	}
	if (sf == SESSION_SAVE && st != SESSION_SAVE) {
		end_save(v);
		/* a context read halfway would block Active and Stop */
		if (v->reading) {
			ret = discard(v);
			if (ret)
				return ret;
		}
	}
	if (mt != v->mode) {
		ret = ms_virtio_dev__set_mode(d, mt);
		if (ret)
			return ret;
		/* a new mode has a new context: what was read of the old one is done with */
		v->reading = 0;
	}
	if (st == SESSION_SAVE && sf != SESSION_SAVE) {
		ret = discard(v);
		if (ret)
			return ret;
		v->snaps = 0;
		v->final_read = 0;
		end_save(v);
	}
	if (next == VFIO_DEVICE_STATE_STOP_COPY)
		v->final_read = 0;
	if (st == SESSION_LOAD) {
		ret = discard(v);
		if (ret)
			return ret;
		v->hdr_len = v->in_len = 0;
		v->wrote = 0;
	}
	return 0;
}

static int v_get_state(struct ms_device *d, uint8_t *state)
{
	struct vdev *v = to_v(d);
	uint8_t mode, have;
	int ret = get_mode(v, &mode);

	if (ret)
		return ret;
	v->mode = mode;
	if (!ms_virtio_mode_of(d->state, &have) && have == mode)
		*state = d->state;
	else
		*state = mode_base_state[mode];
	return 0;
}

static int v_reset(struct ms_device *d)
{
	struct vdev *v = to_v(d);
	int ret = discard(v);

	end_save(v);
	v->hdr_len = v->in_len = 0;
	v->wrote = 0;
	if (ret)
		return ret;
	if (v->mode != MS_VIRTIO_MODE_ACTIVE)
		return ms_virtio_dev__set_mode(d, MS_VIRTIO_MODE_ACTIVE);
	return 0;
}

static int v_track_start(struct ms_device *d, const struct ms_range *rg, uint32_t n,
			 uint64_t *page_size)
{
	struct vdev *v = to_v(d);
	struct ms_virtio_admin_res r;
	uint64_t addr[MS_TRACK_MAX_RANGES], pages[MS_TRACK_MAX_RANGES];
	uint8_t data[MS_VIRTIO_WR_START_HDR_LEN + MS_TRACK_MAX_RANGES * MS_VIRTIO_WR_ENTRY_LEN];
	size_t len;
	int bit = __builtin_ctzll(*page_size) - 12, ret;

	if (!v->have_wr)
		return ms_dev__fail(d, -EOPNOTSUPP,
				    "DEV_WRITE_RECORDS_START: the device has no write recording");
	if (bit < 0 || bit > 31 || !(v->cap.page_size_bitmap & (1u << bit)))
		return ms_dev__fail(d, -EINVAL,
				    "DEV_WRITE_RECORDS_START: page_size %llu is not in "
				    "supported_page_size_bitmap 0x%x",
				    (unsigned long long)*page_size, v->cap.page_size_bitmap);
	if (n > v->cap.supported_ranges)
		return ms_dev__fail(d, -E2BIG,
				    "DEV_WRITE_RECORDS_START: %u ranges, the device supports %u", n,
				    v->cap.supported_ranges);
	for (uint32_t i = 0; i < n; i++) {
		addr[i] = rg[i].iova;
		pages[i] = rg[i].len / *page_size;
	}
	len = ms_virtio_admin__wr_start_data(data, sizeof(data), *page_size, addr, pages, n);
	/* stopping first is always allowed and gives a clean start */
	ret = cmd(v, MS_VIRTIO_ADMIN_DEV_WRITE_RECORDS_STOP, NULL, 0, 0, &r);
	if (!ret)
		ret = cmd(v, MS_VIRTIO_ADMIN_DEV_WRITE_RECORDS_START, data, len, 0, &r);
	if (ret)
		return ret;
	v->rec_page = *page_size;
	return 0;
}

static int v_track_stop(struct ms_device *d)
{
	struct ms_virtio_admin_res r;

	return cmd(to_v(d), MS_VIRTIO_ADMIN_DEV_WRITE_RECORDS_STOP, NULL, 0, 0, &r);
}

static int v_harvest(struct ms_device *d, const struct ms_range *rg, uint64_t page_size,
		     ms_dirty_fn fn, void *ctx)
{
	struct vdev *v = to_v(d);
	uint8_t data[16];
	uint64_t total = 0, limit = rg->len / page_size + MAX_RECORDS;
	char err[200];

	ms_put_le64(data, rg->iova);
	ms_put_le64(data + 8, rg->len);
	for (;;) {
		struct ms_virtio_admin_res r;
		uint32_t count, usable;
		int ret = cmd(v, MS_VIRTIO_ADMIN_DEV_WRITE_RECORDS_READ, data, sizeof(data),
			      MAX_RECORDS * 8, &r),
		    bad;

		if (ret)
			return ret;
		bad = ms_virtio_admin__wr_read(&r, MAX_RECORDS, &count, &usable, err, sizeof(err));
		/* the device cleared what it returned: keep every record it really gave */
		for (uint32_t i = 0; i < usable; i++)
			fn(ctx, ms_get_le64(r.result + 8 * i), page_size);
		if (bad)
			return ms_dev__fail(d, -EPROTO, "%s", err);
		total += count;
		if (count < MAX_RECORDS)
			return 0;
		if (total > limit)
			return ms_dev__fail(
			    d, -EPROTO,
			    "DEV_WRITE_RECORDS_READ: %llu records for a range of %llu pages",
			    (unsigned long long)total, (unsigned long long)(rg->len / page_size));
	}
}

static uint64_t v_next_event(struct ms_device *d)
{
	struct vdev *v = to_v(d);

	return v->t.next_event ? v->t.next_event(v->t.ctx) : UINT64_MAX;
}

static void v_run_event(struct ms_device *d)
{
	struct vdev *v = to_v(d);

	v->t.run_event(v->t.ctx);
}

static int v_digest(struct ms_device *d, uint32_t *out)
{
	struct vdev *v = to_v(d);

	if (v->t.digest(v->t.ctx, out))
		return ms_dev__fail(
		    d, -EAGAIN, "state digest: the device context was neither saved nor loaded");
	return 0;
}

static void v_close(struct ms_device *d)
{
	struct vdev *v = to_v(d);

	if (v->t.close)
		v->t.close(v->t.ctx);
	free(v->snap);
	free(v->in);
	free(v);
}

#define VIRTIO_OPS(tracked, sim)                                                                   \
	{                                                                                          \
		.backend = "virtio", .dirty_source = MS_SRC_VIRTIO_WR,                             \
		.harvest_loss = MS_LOSS_ADMIN_READ, .arc = v_arc, .get_state = v_get_state,        \
		.reset = v_reset, .precopy_info = v_precopy_info,                                  \
		.stopcopy_size = v_stopcopy_size, .read = v_read, .write = v_write,                \
		.track_start = tracked ? v_track_start : NULL,                                     \
		.track_stop = tracked ? v_track_stop : NULL,                                       \
		.harvest = tracked ? v_harvest : NULL, .next_event = sim ? v_next_event : NULL,    \
		.run_event = sim ? v_run_event : NULL, .state_digest = sim ? v_digest : NULL,      \
		.close = v_close,                                                                  \
	}

static const struct ms_device_ops virtio_ops[2][2] = {
	{ VIRTIO_OPS(0, 0), VIRTIO_OPS(0, 1) },
	{ VIRTIO_OPS(1, 0), VIRTIO_OPS(1, 1) },
};

const struct ms_virtio_transport *ms_virtio_dev__transport(struct ms_device *d)
{
	return d->ops->close == v_close ? &to_v(d)->t : NULL;
}

struct ms_device *ms_virtio_dev__new(const struct ms_virtio_transport *t, const char *name,
				     struct ms_clock *c, char *err, size_t errlen)
{
	struct vdev *v = calloc(1, sizeof(*v));
	struct ms_virtio_admin_res r;
	char e[240];
	uint8_t mode;
	int sim = t->next_event && t->run_event && t->digest;

	if (!v) {
		if (t->close)
			t->close(t->ctx);
		snprintf(err, errlen, "%s: failed to allocate: %s", name, strerror(ENOMEM));
		return NULL;
	}
	v->t = *t;
	v->dev.priv = v;
	v->dev.ops = &virtio_ops[0][sim];
	v->dev.clock = c;
	v->dev.id = MS_DEV_NONE;
	v->dev.kind = MS_DEV_KIND_VIRTIO;
	v->dev.role = MS_ROLE_SOURCE;
	/* Stop and the context reads in Active and Stop give every optional state */
	v->dev.caps = VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P | VFIO_MIGRATION_PRE_COPY;
	snprintf(v->dev.name, sizeof(v->dev.name), "%s", name);

	if (cmd(v, MS_VIRTIO_ADMIN_DEV_CTX_FIELDS_QUERY, NULL, 0,
		MS_VIRTIO_MAX_FIELDS * MS_VIRTIO_FIELD_ENTRY_LEN, &r))
		goto fail;
	if (ms_virtio_admin__fields(&r, v->fields, &v->nr_fields, e, sizeof(e))) {
		ms_dev__fail(&v->dev, -EPROTO, "%s", e);
		goto fail;
	}
	if (!cmd(v, MS_VIRTIO_ADMIN_DEV_WRITE_RECORD_CAP_QUERY, NULL, 0, 8, &r)) {
		if (ms_virtio_admin__wr_cap(&r, &v->cap, e, sizeof(e))) {
			ms_dev__fail(&v->dev, -EPROTO, "%s", e);
			goto fail;
		}
		v->have_wr = 1;
	} else if (r.qualifier != MS_VIRTIO_ADMIN_Q_INVALID_OPCODE) {
		goto fail; /* anything but "not supported" is a broken device */
	}
	if (get_mode(v, &mode))
		goto fail;
	v->mode = mode;
	v->dev.state = mode_base_state[mode];
	v->dev.ops = &virtio_ops[v->have_wr][sim];
	v->dev.flags = v->have_wr ? MS_DEVF_DIRTY_TRACK : 0;
	return &v->dev;
fail:
	snprintf(err, errlen, "%s", v->dev.err);
	v_close(&v->dev);
	return NULL;
}
