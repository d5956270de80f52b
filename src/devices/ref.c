// SPDX-License-Identifier: GPL-2.0-only
/*
 * The reference device, VFIO face: a software model of a VFIO migration v2
 * device (docs/devices.md).
 *
 * Device state is 'state' bytes in 4 KiB pages, each with a version that its
 * DMA writes bump (guest page q dirties state page q mod pages: the device
 * keeps per-buffer state).  A save session (entering PRE_COPY or STOP_COPY)
 * starts with every page unsent; the first 'init' bytes are the pre-copy
 * initial data.  PRE_COPY streams initial pages, then pages dirtied after
 * they were sent; STOP_COPY streams everything still unsent or dirty and an
 * end record carrying a digest of the state.  The destination checks every
 * page's checksum as it arrives and the digest on RESUMING -> STOP, so a
 * transfer that lost, reordered or changed anything fails there, as a real
 * device's load would.
 *
 * Stream records (little-endian): magic 'MSRF', type (1 page, 2 end),
 * flags, page, version, payload length, crc32c of the payload; then the
 * payload (one page).  The end record has page = number of pages and
 * crc = state digest.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <migscope/capture.h> /* ms_crc32c */
#include <migscope/stream.h>
#include <migscope/vfio_fsm.h>

#include "ref_work.h"

#define REC_MAGIC 0x4652534du
#define REC_PAGE  1
#define REC_END	  2
#define REC_HDR	  24u
#define REC_SIZE  (REC_HDR + MS_REF_PAGE)

enum rec_kind { KIND_NONE, KIND_INITIAL, KIND_DIRTY, KIND_REST, KIND_END };

struct ref_dev {
	struct ms_device dev;
	struct ms_ref_params p;
	struct ms_ref_work work;
	struct ms_ref_stats stats;
	uint64_t seed;

	uint64_t pages;
	uint32_t *version;
	/* save session */
	int save, end_sent, eof;
	uint64_t *unsent, *initial, *dirty; /* bitmaps over state pages */
	uint32_t *sent_ver, *sent_crc;
	uint64_t scan;
	unsigned char rec[REC_SIZE];
	size_t rec_len, rec_off;
	enum rec_kind rec_kind;
	uint32_t reinit_left;
	uint64_t zero_since; /* when initial bytes reached zero; UINT64_MAX: not zero */
	int reinit_pending;
	uint64_t records;

	/* load session */
	int load, end_seen;
	unsigned char in[REC_SIZE];
	size_t in_len;
	uint32_t *recv_ver, *recv_crc;
	uint64_t *recv;
	uint32_t end_digest;
	int loaded;

	/* DMA logging */
	int logging;
	uint64_t *log; /* over working-set pages */
	struct ms_range *log_ranges;
	uint32_t nr_log;

	uint32_t fault_count;
	int workload_on, started;
};

static struct ref_dev *to_ref(struct ms_device *d)
{
	return d->priv;
}

static uint64_t now(struct ref_dev *r)
{
	return ms_clock__now(r->dev.clock);
}

static size_t bm_words(uint64_t bits)
{
	return (size_t)((bits + 63) / 64);
}

static void bm_set(uint64_t *bm, uint64_t i)
{
	bm[i / 64] |= 1ull << (i % 64);
}

static void bm_clear(uint64_t *bm, uint64_t i)
{
	bm[i / 64] &= ~(1ull << (i % 64));
}

static int bm_test(const uint64_t *bm, uint64_t i)
{
	return (bm[i / 64] >> (i % 64)) & 1;
}

/* Pages set in a (and in b, when b is not NULL). */
static uint64_t bm_count(const uint64_t *a, const uint64_t *b, uint64_t bits)
{
	uint64_t n = 0;

	for (size_t i = 0; i < bm_words(bits); i++)
		n += (uint64_t)__builtin_popcountll(b ? a[i] & b[i] : a[i]);
	return n;
}

/* First bit set in a (& b) at or after 'from', wrapping; UINT64_MAX when none. */
static uint64_t bm_find(const uint64_t *a, const uint64_t *b, uint64_t bits, uint64_t from)
{
	size_t nw = bm_words(bits);

	if (!bits)
		return UINT64_MAX;
	from %= bits;
	for (size_t k = 0; k <= nw; k++) {
		size_t wi = (from / 64 + k) % nw;
		uint64_t v = b ? a[wi] & b[wi] : a[wi];

		if (k == 0)
			v &= ~0ull << (from % 64);
		if (v)
			return wi * 64 + (uint64_t)__builtin_ctzll(v);
	}
	return UINT64_MAX;
}

static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The content of a page at a version: deterministic bytes. */
static void page_content(const struct ref_dev *r, uint64_t page, uint32_t version,
			 unsigned char *out)
{
	struct ms_rand rng;

	ms_rand__seed(&rng, r->seed ^ (page * 0x9e3779b97f4a7c15ull) ^
				((uint64_t)version << 32 | version) * 0xc2b2ae3d27d4eb4full);
	for (size_t i = 0; i < MS_REF_PAGE; i += 8) {
		uint64_t v = ms_rand__next(&rng);

		memcpy(out + i, &v, 8);
	}
}

static uint32_t digest(uint64_t pages, const uint32_t *ver, const uint32_t *crc)
{
	uint32_t c = 0;
	unsigned char b[8];

	for (uint64_t i = 0; i < pages; i++) {
		put32(b, ver[i]);
		put32(b + 4, crc[i]);
		c = ms_crc32c(c, b, sizeof(b));
	}
	return c;
}

static int fault_now(struct ref_dev *r, enum ms_ref_fault f)
{
	return r->p.fault == f && ++r->fault_count == r->p.fault_at;
}

/* --- workload --- */

static int dma_state(uint8_t s)
{
	enum ms_vfio_class c = ms_vfio_fsm__class(s);

	return c == MS_VFIO_CLASS_RUN || c == MS_VFIO_CLASS_P2P;
}

/* A destination device has no guest driver feeding it until it has been loaded. */
static void update_workload(struct ref_dev *r, uint8_t state)
{
	int on = dma_state(state) && (r->dev.role != MS_ROLE_DEST || r->loaded);

	if (on && !r->workload_on)
		ms_ref_work__start(&r->work, now(r));
	else if (!on && r->workload_on)
		ms_ref_work__stop(&r->work);
	r->workload_on = on;
}

static uint64_t ref_next_event(struct ms_device *d)
{
	struct ref_dev *r = to_ref(d);

	/* the role is known once the device is registered; start on the first look */
	if (!r->started) {
		r->started = 1;
		update_workload(r, d->state);
	}
	return r->work.next_ns;
}

static int logged(const struct ref_dev *r, uint64_t iova)
{
	for (uint32_t i = 0; i < r->nr_log; i++)
		if (iova >= r->log_ranges[i].iova &&
		    iova - r->log_ranges[i].iova < r->log_ranges[i].len)
			return 1;
	return 0;
}

static void ref_run_event(struct ms_device *d)
{
	struct ref_dev *r = to_ref(d);
	uint64_t ts, page, pages;

	ms_ref_work__take(&r->work, d, &ts, &page, &pages);
	for (uint64_t i = 0; i < pages; i++) {
		uint64_t q = page + i, sp = q % r->pages;

		if (r->logging && logged(r, r->p.iova + q * MS_REF_PAGE))
			bm_set(r->log, q);
		r->version[sp]++;
		if (r->save && !bm_test(r->unsent, sp))
			bm_set(r->dirty, sp);
	}
}

/* --- save stream --- */

static void save_begin(struct ref_dev *r)
{
	uint64_t init_pages = r->p.init == MS_REF_ALL ? r->pages : r->p.init / MS_REF_PAGE;
	size_t nw = bm_words(r->pages);

	memset(r->unsent, 0, nw * 8);
	memset(r->initial, 0, nw * 8);
	memset(r->dirty, 0, nw * 8);
	for (uint64_t i = 0; i < r->pages; i++) {
		bm_set(r->unsent, i);
		if (i < init_pages)
			bm_set(r->initial, i);
	}
	r->save = 1;
	r->end_sent = r->eof = 0;
	r->scan = 0;
	r->rec_len = r->rec_off = 0;
	r->rec_kind = KIND_NONE;
	/* the workload makes new state either way; only the v2 opt-in can report it */
	r->reinit_left = r->p.reinit;
	r->zero_since = UINT64_MAX;
	r->reinit_pending = 0;
}

static void save_end(struct ref_dev *r)
{
	r->save = 0;
	r->rec_len = r->rec_off = 0;
	r->rec_kind = KIND_NONE;
}

static void emit_page(struct ref_dev *r, uint64_t page, enum rec_kind kind)
{
	unsigned char *h = r->rec;
	uint32_t crc;

	bm_clear(r->unsent, page);
	bm_clear(r->dirty, page);
	page_content(r, page, r->version[page], r->rec + REC_HDR);
	crc = ms_crc32c(0, r->rec + REC_HDR, MS_REF_PAGE);
	r->sent_ver[page] = r->version[page];
	r->sent_crc[page] = crc;
	put32(h, REC_MAGIC);
	put32(h + 4, REC_PAGE | (kind == KIND_INITIAL ? 1u << 16 : 0));
	put32(h + 8, (uint32_t)page);
	put32(h + 12, r->version[page]);
	put32(h + 16, (uint32_t)MS_REF_PAGE);
	if (r->p.fault == MS_REF_FAULT_CORRUPT && fault_now(r, MS_REF_FAULT_CORRUPT))
		crc ^= 1; /* what a bit flip on the way would look like to the destination */
	put32(h + 20, crc);
	r->rec_len = REC_SIZE;
	r->rec_off = 0;
	r->rec_kind = kind;
	r->records++;
}

static void emit_end(struct ref_dev *r)
{
	unsigned char *h = r->rec;

	put32(h, REC_MAGIC);
	put32(h + 4, REC_END);
	put32(h + 8, (uint32_t)r->pages);
	put32(h + 12, 0);
	put32(h + 16, 0);
	put32(h + 20, digest(r->pages, r->sent_ver, r->sent_crc));
	r->rec_len = REC_HDR;
	r->rec_off = 0;
	r->rec_kind = KIND_END;
	r->end_sent = 1;
}

/* Fill the record buffer with the next record; 0, -ENOMSG (nothing now) or 1 (end of stream). */
static int next_record(struct ref_dev *r)
{
	int stopped = r->dev.state == VFIO_DEVICE_STATE_STOP_COPY;
	uint64_t p = bm_find(r->unsent, r->initial, r->pages, r->scan);

	if (p != UINT64_MAX) {
		r->scan = p + 1;
		emit_page(r, p, KIND_INITIAL);
		return 0;
	}
	if (r->zero_since == UINT64_MAX)
		r->zero_since = now(r);
	if (stopped) {
		p = bm_find(r->unsent, NULL, r->pages, r->scan);
		if (p != UINT64_MAX) {
			r->scan = p + 1;
			emit_page(r, p, KIND_REST);
			return 0;
		}
	}
	p = bm_find(r->dirty, NULL, r->pages, r->scan);
	if (p != UINT64_MAX) {
		r->scan = p + 1;
		emit_page(r, p, KIND_DIRTY);
		return 0;
	}
	if (!stopped)
		return -ENOMSG;
	if (!r->end_sent) {
		emit_end(r);
		return 0;
	}
	return 1;
}

static ssize_t ref_read(struct ms_device *d, void *buf, size_t len)
{
	struct ref_dev *r = to_ref(d);
	unsigned char *out = buf;
	size_t done = 0;
	char b[16];

	if (!r->save)
		return ms_dev__fail(d, -EINVAL, "data read: no save session in %s",
				    ms_vfio_state_name(d->state, b, sizeof(b)));
	while (done < len && !r->eof) {
		size_t n;

		if (r->rec_off == r->rec_len) {
			int ret = next_record(r);

			if (ret == 1) {
				r->eof = 1;
				break;
			}
			if (ret < 0) {
				if (done)
					break;
				return ret;
			}
		}
		n = r->rec_len - r->rec_off;
		if (n > len - done)
			n = len - done;
		memcpy(out + done, r->rec + r->rec_off, n);
		r->rec_off += n;
		done += n;
	}
	r->stats.bytes_saved += done;
	if (done && fault_now(r, MS_REF_FAULT_READ_LEN))
		return (ssize_t)len + 4096; /* a buggy device claiming more than it was given */
	return (ssize_t)done;
}

static uint64_t rec_left(const struct ref_dev *r, enum rec_kind k)
{
	return r->rec_kind == k ? r->rec_len - r->rec_off : 0;
}

/* Re-initialise pre-copy: a new chunk of critical state, plus what was dirty. */
/* The pages of a new chunk of state: how many, and where it starts (a seeded choice). */
static uint64_t new_chunk(struct ref_dev *r, uint64_t *start)
{
	uint64_t rpages =
	    r->p.reinit_bytes == MS_REF_ALL ? r->pages / 4 : r->p.reinit_bytes / MS_REF_PAGE;

	if (rpages > r->pages)
		rpages = r->pages;
	*start = r->pages > rpages ? ms_rand__below(&r->work.rng, r->pages - rpages + 1) : 0;
	return rpages;
}

static void do_reinit(struct ref_dev *r)
{
	uint64_t start, rpages = new_chunk(r, &start);

	for (uint64_t i = 0; i < r->pages; i++)
		if ((i >= start && i < start + rpages) || bm_test(r->dirty, i)) {
			bm_set(r->unsent, i);
			bm_set(r->initial, i);
			bm_clear(r->dirty, i);
		}
	r->scan = 0;
	r->reinit_left--;
	r->zero_since = UINT64_MAX;
	r->stats.reinits++;
}

/*
 * The same new state on a device that cannot report REINIT (no v2 opt-in):
 * initial bytes may not grow, so the new chunk is state that only STOP_COPY
 * delivers; the stop-copy size grows by it (seed 004's "without
 * VFIO_PRECOPY_INFO_REINIT").  What was dirty stays dirty pre-copy data.
 */
static void grow_unreported(struct ref_dev *r)
{
	uint64_t start, rpages = new_chunk(r, &start);

	for (uint64_t i = start; i < start + rpages; i++) {
		bm_set(r->unsent, i);
		bm_clear(r->initial, i);
		bm_clear(r->dirty, i);
	}
	r->reinit_left--;
	r->zero_since = UINT64_MAX;
}

static int ref_precopy_info(struct ms_device *d, struct ms_precopy_info *pi)
{
	struct ref_dev *r = to_ref(d);
	char b[16];

	if (d->state != VFIO_DEVICE_STATE_PRE_COPY && d->state != VFIO_DEVICE_STATE_PRE_COPY_P2P)
		return ms_dev__fail(d, -EINVAL, "MIG_GET_PRECOPY_INFO: not valid in %s",
				    ms_vfio_state_name(d->state, b, sizeof(b)));
	pi->initial_bytes =
	    bm_count(r->unsent, r->initial, r->pages) * REC_SIZE + rec_left(r, KIND_INITIAL);
	if (!pi->initial_bytes && r->reinit_left && r->zero_since != UINT64_MAX &&
	    now(r) - r->zero_since >= r->p.reinit_gap_ns) {
		if (d->flags & MS_DEVF_PRECOPY_V2) {
			do_reinit(r);
			pi->flags |= MS_PRECOPY_REINIT;
			pi->initial_bytes = bm_count(r->unsent, r->initial, r->pages) * REC_SIZE;
		} else {
			grow_unreported(r);
		}
	}
	pi->dirty_bytes = bm_count(r->dirty, NULL, r->pages) * REC_SIZE + rec_left(r, KIND_DIRTY);
	return 0;
}

static int ref_stopcopy_size(struct ms_device *d, uint64_t *bytes)
{
	struct ref_dev *r = to_ref(d);

	if (!r->save) {
		*bytes = r->pages * REC_SIZE + REC_HDR;
		return 0;
	}
	*bytes =
	    (bm_count(r->unsent, NULL, r->pages) + bm_count(r->dirty, NULL, r->pages)) * REC_SIZE +
	    (r->rec_len - r->rec_off) + (r->end_sent ? 0 : REC_HDR);
	return 0;
}

/* --- load stream --- */

static void load_begin(struct ref_dev *r)
{
	r->load = 1;
	r->end_seen = 0;
	r->in_len = 0;
	memset(r->recv, 0, bm_words(r->pages) * 8);
}

static int take_record(struct ref_dev *r, const unsigned char *h)
{
	struct ms_device *d = &r->dev;
	uint32_t type = get32(h + 4) & 0xffff, page = get32(h + 8), len = get32(h + 16);

	if (get32(h) != REC_MAGIC)
		return ms_dev__fail(
		    d, -EINVAL, "data write: record %llu has magic 0x%08x, not a migration record",
		    (unsigned long long)r->records, get32(h));
	if (r->end_seen)
		return ms_dev__fail(d, -EINVAL, "data write: data after the end record");
	if (type == REC_END) {
		if (page != r->pages)
			return ms_dev__fail(
			    d, -EINVAL,
			    "data write: end record: source has %u pages, this device %llu", page,
			    (unsigned long long)r->pages);
		r->end_seen = 1;
		r->end_digest = get32(h + 20);
		return 0;
	}
	if (type != REC_PAGE || len != MS_REF_PAGE || page >= r->pages)
		return ms_dev__fail(
		    d, -EINVAL,
		    "data write: record %llu: type %u, page %u, length %u is not valid here",
		    (unsigned long long)r->records, type, page, len);
	return 0;
}

static ssize_t ref_write(struct ms_device *d, const void *buf, size_t len)
{
	struct ref_dev *r = to_ref(d);
	const unsigned char *in = buf;
	size_t done = 0;

	if (!r->load)
		return ms_dev__fail(d, -EINVAL, "data write: the device is not RESUMING");
	while (done < len) {
		size_t want = r->in_len < REC_HDR ? REC_HDR : REC_SIZE, n = want - r->in_len;
		int err;

		if (n > len - done)
			n = len - done;
		memcpy(r->in + r->in_len, in + done, n);
		r->in_len += n;
		done += n;
		if (r->in_len == REC_HDR) {
			err = take_record(r, r->in);
			if (err)
				return err;
			if (r->end_seen)
				r->in_len = 0;
		} else if (r->in_len == REC_SIZE) {
			uint32_t page = get32(r->in + 8),
				 crc = ms_crc32c(0, r->in + REC_HDR, MS_REF_PAGE);

			if (crc != get32(r->in + 20))
				return ms_dev__fail(d, -EINVAL,
						    "data write: page %u version %u: checksum "
						    "0x%08x, record says 0x%08x",
						    page, get32(r->in + 12), crc,
						    get32(r->in + 20));
			r->recv_ver[page] = get32(r->in + 12);
			r->recv_crc[page] = crc;
			bm_set(r->recv, page);
			r->records++;
			r->in_len = 0;
		}
	}
	r->stats.bytes_loaded += done;
	return (ssize_t)done;
}

/* RESUMING -> STOP: the device checks what it was given before it accepts it. */
static int load_finish(struct ref_dev *r)
{
	struct ms_device *d = &r->dev;
	uint64_t have = bm_count(r->recv, NULL, r->pages);

	r->load = 0;
	if (r->in_len)
		return ms_dev__fail(d, -EINVAL,
				    "RESUMING -> STOP: stream ends inside a record (%zu bytes)",
				    r->in_len);
	if (!r->end_seen)
		return ms_dev__fail(d, -EINVAL, "RESUMING -> STOP: stream has no end record");
	if (have != r->pages)
		return ms_dev__fail(d, -EINVAL, "RESUMING -> STOP: %llu of %llu pages arrived",
				    (unsigned long long)have, (unsigned long long)r->pages);
	if (digest(r->pages, r->recv_ver, r->recv_crc) != r->end_digest)
		return ms_dev__fail(d, -EINVAL,
				    "RESUMING -> STOP: state digest differs from the source's");
	memcpy(r->version, r->recv_ver, r->pages * sizeof(*r->version));
	r->loaded = 1;
	return 0;
}

/* --- state machine --- */

static uint64_t arc_latency(const struct ref_dev *r, uint8_t from, uint8_t to)
{
	enum ms_vfio_class cf = ms_vfio_fsm__class(from), ct = ms_vfio_fsm__class(to);
	uint64_t t = 0;

	if (from == VFIO_DEVICE_STATE_RESUMING)
		return r->p.load_ns;
	if (cf == MS_VFIO_CLASS_RUN && ct != MS_VFIO_CLASS_RUN)
		t += r->p.p2p_ns;
	if (cf != MS_VFIO_CLASS_STOPPED && ct == MS_VFIO_CLASS_STOPPED)
		t += r->p.stop_ns;
	if (cf != ct && (ct == MS_VFIO_CLASS_RUN || ct == MS_VFIO_CLASS_P2P) &&
	    !(cf == MS_VFIO_CLASS_RUN && ct == MS_VFIO_CLASS_P2P))
		t += r->p.start_ns;
	return t ? t : 50000; /* a bookkeeping arc still costs an ioctl and a little device work */
}

static int ref_arc(struct ms_device *d, uint8_t next)
{
	struct ref_dev *r = to_ref(d);
	uint8_t from = d->state;
	char b[16];
	int err = 0;

	/* the device does its work first: DMA in flight completes while it quiesces */
	ms_clock__advance(d->clock, arc_latency(r, from, next));
	if (next == r->p.fail_to) {
		if (r->save)
			save_end(r);
		r->load = 0;
		d->state = VFIO_DEVICE_STATE_ERROR;
		update_workload(r, d->state);
		return ms_dev__fail(
		    d, -EIO,
		    "MIG_DEVICE_STATE: the device failed the arc to %s (injected by fail=)",
		    ms_vfio_state_name(next, b, sizeof(b)));
	}
	if (from == VFIO_DEVICE_STATE_RESUMING) {
		err = load_finish(r);
		if (err) {
			d->state = VFIO_DEVICE_STATE_ERROR;
			update_workload(r, d->state);
			return err;
		}
	}
	if (ms_vfio_fsm__saving(next) && !ms_vfio_fsm__saving(from))
		save_begin(r);
	else if (!ms_vfio_fsm__saving(next) && ms_vfio_fsm__saving(from))
		save_end(r);
	if (next == VFIO_DEVICE_STATE_RESUMING)
		load_begin(r);
	d->state = next; /* the generic layer sets it too; the workload needs it now */
	update_workload(r, next);
	return 0;
}

static int ref_get_state(struct ms_device *d, uint8_t *state)
{
	*state = d->state;
	return 0;
}

static int ref_reset(struct ms_device *d)
{
	struct ref_dev *r = to_ref(d);

	save_end(r);
	r->load = 0;
	d->state = VFIO_DEVICE_STATE_RUNNING;
	update_workload(r, d->state);
	return 0;
}

/* --- DMA logging --- */

static int ref_track_start(struct ms_device *d, const struct ms_range *rg, uint32_t n,
			   uint64_t *page_size)
{
	struct ref_dev *r = to_ref(d);

	if (r->logging)
		return ms_dev__fail(d, -EBUSY, "DMA_LOGGING_START: logging already started");
	r->log_ranges = calloc(n, sizeof(*rg));
	if (!r->log_ranges)
		return ms_dev__fail(d, -ENOMEM, "DMA_LOGGING_START: %s", strerror(ENOMEM));
	memcpy(r->log_ranges, rg, n * sizeof(*rg));
	r->nr_log = n;
	memset(r->log, 0, bm_words(r->work.ws_pages) * 8);
	r->logging = 1;
	/* the device logs 4 KiB pages and reports at any power-of-two size */
	if (*page_size < MS_REF_PAGE)
		*page_size = MS_REF_PAGE;
	return 0;
}

static int ref_track_stop(struct ms_device *d)
{
	struct ref_dev *r = to_ref(d);

	r->logging = 0;
	free(r->log_ranges);
	r->log_ranges = NULL;
	r->nr_log = 0;
	return 0;
}

static int ref_harvest(struct ms_device *d, const struct ms_range *rg, uint64_t page_size,
		       ms_dirty_fn fn, void *ctx)
{
	struct ref_dev *r = to_ref(d);
	uint64_t ws_end = r->p.iova + r->work.ws_pages * MS_REF_PAGE;
	uint64_t lo = rg->iova > r->p.iova ? rg->iova : r->p.iova;
	uint64_t hi = rg->iova + rg->len < ws_end ? rg->iova + rg->len : ws_end;
	uint64_t run_start = 0, run_len = 0, last = UINT64_MAX;

	if (!r->logging)
		return ms_dev__fail(d, -EINVAL, "DMA_LOGGING_REPORT: logging is not started");
	if (fault_now(r, MS_REF_FAULT_REPORT))
		return ms_dev__fail(
		    d, -EIO, "DMA_LOGGING_REPORT: the device failed the report (fault=report)");
	for (uint64_t iova = lo; iova < hi; iova += MS_REF_PAGE) {
		uint64_t q = (iova - r->p.iova) / MS_REF_PAGE, unit;

		if (!bm_test(r->log, q))
			continue;
		bm_clear(r->log, q);
		/* a report page is dirty when any logged page in it is */
		unit = iova & ~(page_size - 1);
		if (unit == last)
			continue;
		last = unit;
		if (run_len && run_start + run_len == unit) {
			run_len += page_size;
			continue;
		}
		if (run_len)
			fn(ctx, run_start, run_len);
		run_start = unit;
		run_len = page_size;
	}
	if (run_len)
		fn(ctx, run_start, run_len);
	return 0;
}

static int ref_state_digest(struct ms_device *d, uint32_t *out)
{
	struct ref_dev *r = to_ref(d);

	if (r->loaded) {
		*out = digest(r->pages, r->recv_ver, r->recv_crc);
		return 0;
	}
	if (r->end_sent) {
		*out = digest(r->pages, r->sent_ver, r->sent_crc);
		return 0;
	}
	return ms_dev__fail(d, -EAGAIN,
			    "state digest: the device state was neither saved nor loaded");
}

static void ref_close(struct ms_device *d)
{
	struct ref_dev *r = to_ref(d);

	ms_ref_work__free(&r->work);
	free(r->version);
	free(r->unsent);
	free(r->initial);
	free(r->dirty);
	free(r->sent_ver);
	free(r->sent_crc);
	free(r->recv_ver);
	free(r->recv_crc);
	free(r->recv);
	free(r->log);
	free(r->log_ranges);
	free(r);
}

static const struct ms_device_ops ref_ops = {
	.backend = "ref",
	.dirty_source = MS_SRC_HW_DIRTY,
	.harvest_loss = MS_LOSS_REPORT_ERROR,
	.arc = ref_arc,
	.get_state = ref_get_state,
	.reset = ref_reset,
	.precopy_info = ref_precopy_info,
	.stopcopy_size = ref_stopcopy_size,
	.read = ref_read,
	.write = ref_write,
	.track_start = ref_track_start,
	.track_stop = ref_track_stop,
	.harvest = ref_harvest,
	.next_event = ref_next_event,
	.run_event = ref_run_event,
	.state_digest = ref_state_digest,
	.close = ref_close,
};

static const struct ms_device_ops ref_ops_untracked = {
	.backend = "ref",
	.arc = ref_arc,
	.get_state = ref_get_state,
	.reset = ref_reset,
	.precopy_info = ref_precopy_info,
	.stopcopy_size = ref_stopcopy_size,
	.read = ref_read,
	.write = ref_write,
	.next_event = ref_next_event,
	.run_event = ref_run_event,
	.state_digest = ref_state_digest,
	.close = ref_close,
};

struct ms_device *ms_ref__new(const struct ms_ref_params *p, struct ms_clock *c, char *err,
			      size_t errlen)
{
	struct ref_dev *r;
	size_t nw;

	if (ms_ref_params__check(p, err, errlen))
		return NULL;
	if (p->iface != MS_REF_IFACE_VFIO) {
		snprintf(err, errlen, "%s: ms_ref__new makes iface=vfio devices", p->name);
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		goto nomem;
	r->p = *p;
	r->seed = p->seed;
	r->pages = p->state / MS_REF_PAGE;
	nw = bm_words(r->pages);
	r->version = calloc(r->pages, sizeof(uint32_t));
	r->sent_ver = calloc(r->pages, sizeof(uint32_t));
	r->sent_crc = calloc(r->pages, sizeof(uint32_t));
	r->recv_ver = calloc(r->pages, sizeof(uint32_t));
	r->recv_crc = calloc(r->pages, sizeof(uint32_t));
	r->unsent = calloc(nw, 8);
	r->initial = calloc(nw, 8);
	r->dirty = calloc(nw, 8);
	r->recv = calloc(nw, 8);
	r->log = calloc(bm_words(p->ws / MS_REF_PAGE) + 1, 8);
	r->dev.priv = r;
	r->dev.ops = p->track ? &ref_ops : &ref_ops_untracked;
	if (!r->version || !r->sent_ver || !r->sent_crc || !r->recv_ver || !r->recv_crc ||
	    !r->unsent || !r->initial || !r->dirty || !r->recv || !r->log ||
	    ms_ref_work__init(&r->work, p, p->seed ^ 0x5bd1e995ull, &r->stats)) {
		ref_close(&r->dev);
		goto nomem;
	}
	r->dev.clock = c;
	r->dev.id = MS_DEV_NONE;
	r->dev.kind = MS_DEV_KIND_REF;
	r->dev.role = MS_ROLE_SOURCE;
	r->dev.caps = p->caps;
	r->dev.flags = (p->v2 && (p->caps & VFIO_MIGRATION_PRE_COPY) ? MS_DEVF_PRECOPY_V2 : 0) |
		       (p->track ? MS_DEVF_DIRTY_TRACK : 0);
	r->dev.state = VFIO_DEVICE_STATE_RUNNING;
	snprintf(r->dev.name, sizeof(r->dev.name), "%s", p->name);
	return &r->dev;
nomem:
	snprintf(err, errlen, "%s: failed to allocate the reference device: %s", p->name,
		 strerror(ENOMEM));
	return NULL;
}

int ms_ref__stats(struct ms_device *d, struct ms_ref_stats *st)
{
	if (d->ops->close != ref_close)
		return ms_ref_virtio__stats(d, st, NULL);
	*st = to_ref(d)->stats;
	return 0;
}
