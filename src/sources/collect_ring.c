// SPDX-License-Identifier: GPL-2.0-only
/*
 * A BPF ring buffer as a source: records onto the session's bus, and every
 * increase of the kernel side's loss counters as an MS_EV_LOSS.
 *
 * The ring is read here rather than through libbpf's ring_buffer: the kernel
 * collectors' records are already ms_ev_* records, and publishing them from
 * a loop over the mapped ring in batches (up to MS_BUS_BATCH records in
 * place, one bus call for each run of hot records), without a callback per
 * record, is what keeps the agent close to a consumer that does nothing (ring_to_tracker_mrec_per_s
 * in tests/bench/bench_bpf.c).  The consumer position is handed back to the
 * producers every CONSUMER_COMMIT bytes, not after every record, so the
 * cache line they read on every reserve is not pulled from them per record.
 *
 * The BPF programs wake us once per wakeup_bytes they produce, so the ring
 * is read when its fd polls readable and on a poll timer (whatever trickled
 * in since the last wake-up).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "collect_int.h"

#define CONSUMER_COMMIT (64u << 10)

static int ring_map(struct ms_ring *r, int map_fd)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);
	void *p;

	if (bpf_obj_get_info_by_fd(map_fd, &info, &len))
		return -errno;
	if (info.type != BPF_MAP_TYPE_RINGBUF || !info.max_entries ||
	    (info.max_entries & (info.max_entries - 1)))
		return -EINVAL;
	r->page = (size_t)sysconf(_SC_PAGESIZE);
	p = mmap(NULL, r->page, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	r->consumer_pos = p;
	/* the producer page, then the data pages twice: a record may wrap around */
	r->map_len = r->page + 2 * (size_t)info.max_entries;
	p = mmap(NULL, r->map_len, PROT_READ, MAP_SHARED, map_fd, (off_t)r->page);
	if (p == MAP_FAILED) {
		int err = -errno;

		munmap(r->consumer_pos, r->page);
		r->consumer_pos = NULL;
		return err;
	}
	r->producer_pos = p;
	r->data = (const unsigned char *)p + r->page;
	r->mask = info.max_entries - 1;
	r->map_fd = map_fd;
	return 0;
}

int ms_ring__init(struct ms_ring *r, struct ms_stream *s, int ring_fd, int counters_fd,
		  ms_ring_sample_fn fn, void *ctx, uint32_t source)
{
	int err;

	memset(r, 0, sizeof(*r));
	r->s = s;
	r->fn = fn;
	r->ctx = ctx;
	r->counters_fd = counters_fd;
	r->source = source;
	r->timer_id = -1;
	r->ncpus = libbpf_num_possible_cpus();
	if (r->ncpus <= 0)
		return r->ncpus ? r->ncpus : -EINVAL;
	r->percpu = calloc((size_t)r->ncpus, sizeof(*r->percpu));
	if (!r->percpu)
		return -ENOMEM;
	for (uint32_t i = 0; i < MS_BPF_SLOTS; i++)
		r->slot_dev[i] = MS_DEV_NONE;
	err = ring_map(r, ring_fd);
	if (err) {
		free(r->percpu);
		r->percpu = NULL;
	}
	return err;
}

void ms_ring__set_slot(struct ms_ring *r, uint32_t slot, uint32_t dev)
{
	if (slot >= MS_BPF_MAX_DEVS)
		return;
	r->slot_dev[slot] = dev;
	if (slot >= r->nr_slots)
		r->nr_slots = slot + 1;
}

void ms_ring__publish(struct ms_ring *r, const struct ms_event_hdr *ev)
{
	ms_stream__publish(r->s, ev);
	r->accepted++;
}

/* A kernel record: check the frame (it is ours, but a reader checks); then it joins the batch. */
static inline int frame_ok(struct ms_ring *r, const void *data, uint32_t len)
{
	const struct ms_event_hdr *ev = data;

	if (len < sizeof(*ev) || sizeof(*ev) + ev->len > len || ev->type >= MS_EV__MAX ||
	    ev->len < ms_event_fixed_len(ev->type)) {
		r->skipped++;
		return 0;
	}
	return 1;
}

/* The records gathered from the ring, onto the bus as one batch: before they may be overwritten. */
static inline void flush(struct ms_ring *r, const struct ms_event_hdr **batch, unsigned int *n)
{
	if (!*n)
		return;
	ms_bus__publish_batch(r->s->bus, batch, *n);
	r->accepted += *n;
	*n = 0;
}

/* Every committed record, in order, until the producers have nothing more. */
static void consume(struct ms_ring *r)
{
	unsigned long cons = *r->consumer_pos, committed = cons;
	const struct ms_event_hdr *batch[MS_BUS_BATCH];
	unsigned int n = 0;
	unsigned long prod;

	while (cons < (prod = __atomic_load_n(r->producer_pos, __ATOMIC_ACQUIRE))) {
		while (cons < prod) {
			const uint32_t *hdr = (const uint32_t *)(r->data + (cons & r->mask));
			uint32_t len = __atomic_load_n(hdr, __ATOMIC_ACQUIRE);

			if (len & BPF_RINGBUF_BUSY_BIT)
				goto out; /* reserved, not yet submitted: records after it wait */
			cons +=
			    (((len & ~BPF_RINGBUF_DISCARD_BIT) + BPF_RINGBUF_HDR_SZ) + 7) & ~7ul;
			if (!(len & BPF_RINGBUF_DISCARD_BIT)) {
				const void *sample = (const char *)hdr + BPF_RINGBUF_HDR_SZ;

				if (r->fn) {
					if (r->fn(r->ctx, (void *)sample, len))
						r->skipped++;
				} else if (frame_ok(r, sample, len)) {
					batch[n++] = sample;
					if (n == MS_BUS_BATCH)
						flush(r, batch, &n);
				}
			}
			if (cons - committed >= CONSUMER_COMMIT) {
				flush(r, batch, &n);
				__atomic_store_n(r->consumer_pos, cons, __ATOMIC_RELEASE);
				committed = cons;
			}
		}
	}
out:
	flush(r, batch, &n);
	if (cons != committed)
		__atomic_store_n(r->consumer_pos, cons, __ATOMIC_RELEASE);
}

void ms_ring__loss(struct ms_ring *r, uint32_t dev, uint32_t reason, uint64_t count)
{
	struct ms_ev_loss ev = { 0 };

	MS_EVENT_INIT(&ev, MS_EV_LOSS, ms_ev_loss, dev, ms_now_ns());
	ev.reason = reason;
	ev.count = count;
	ms_stream__publish(r->s, &ev.hdr); /* iova 0, len 0: the extent is unknown */
	r->lost += count;
}

/* Sum one slot's per-CPU counters and publish what grew since the last look. */
static int publish_slot_losses(struct ms_ring *r, uint32_t slot)
{
	struct ms_bpf_counters sum = { 0 }, *seen = &r->seen[slot];
	uint64_t errs;

	if (bpf_map_lookup_elem(r->counters_fd, &slot, r->percpu))
		return -errno;
	for (int c = 0; c < r->ncpus; c++) {
		sum.ringbuf_drops += r->percpu[c].ringbuf_drops;
		sum.sg_truncated += r->percpu[c].sg_truncated;
		sum.read_errors += r->percpu[c].read_errors;
		sum.live_full += r->percpu[c].live_full;
	}
	if (sum.ringbuf_drops != seen->ringbuf_drops)
		ms_ring__loss(r, r->slot_dev[slot], MS_LOSS_RINGBUF_DROP,
			     sum.ringbuf_drops - seen->ringbuf_drops);
	errs = (sum.sg_truncated - seen->sg_truncated) + (sum.read_errors - seen->read_errors) +
	       (sum.live_full - seen->live_full);
	if (errs)
		ms_ring__loss(r, r->slot_dev[slot], MS_LOSS_SOURCE_ERROR, errs);
	*seen = sum;
	return 0;
}

int ms_ring__watch_prog(struct ms_ring *r, int prog_fd)
{
	if (r->nr_progs == MS_RING_MAX_PROGS)
		return -ENOSPC;
	r->prog_fds[r->nr_progs++] = prog_fd;
	return 0;
}

void ms_ring__note_recursion(struct ms_ring *r, uint64_t total)
{
	if (total > r->recursion_seen)
		ms_ring__loss(r, MS_DEV_NONE, MS_LOSS_SOURCE_ERROR, total - r->recursion_seen);
	r->recursion_seen = total;
}

static int publish_recursion_losses(struct ms_ring *r)
{
	uint64_t total = 0;

	for (uint32_t i = 0; i < r->nr_progs; i++) {
		struct bpf_prog_info info = { 0 };
		__u32 len = sizeof(info);

		if (bpf_obj_get_info_by_fd(r->prog_fds[i], &info, &len))
			return -errno;
		total += info.recursion_misses;
	}
	ms_ring__note_recursion(r, total);
	return 0;
}

int ms_ring__poll(struct ms_ring *r)
{
	uint64_t before = r->accepted;
	int err;

	if (r->flush) {
		err = r->flush(r->flush_ctx);
		if (err)
			return err;
	}
	consume(r);
	/* after the records: a loss widens what they said, whatever the order */
	for (uint32_t slot = 0; slot < r->nr_slots; slot++) {
		err = publish_slot_losses(r, slot);
		if (err)
			return err;
	}
	err = publish_slot_losses(r, MS_BPF_SLOT_NONE);
	if (!err)
		err = publish_recursion_losses(r);
	if (err)
		return err;
	return (int)(r->accepted - before);
}

static int on_ready(void *ctx, uint32_t events)
{
	int n = ms_ring__poll(ctx);

	return n < 0 ? n : 0;
}

int ms_ring__add_to_loop(struct ms_ring *r, struct ms_loop *l, uint64_t poll_ns)
{
	int err = ms_loop__add_fd(l, r->map_fd, EPOLLIN, on_ready, r);

	if (err)
		return err;
	r->timer_id = ms_loop__add_timer(l, poll_ns, on_ready, r);
	if (r->timer_id < 0) {
		err = r->timer_id;
		ms_loop__del_fd(l, r->map_fd);
		return err;
	}
	r->loop = l;
	return 0;
}

void ms_ring__fini(struct ms_ring *r)
{
	struct ms_ev_source_stats ev = { 0 };

	if (!r->consumer_pos)
		return;
	if (r->loop) {
		ms_loop__del_fd(r->loop, r->map_fd);
		ms_loop__del_timer(r->loop, r->timer_id);
		r->loop = NULL;
	}
	ms_ring__poll(r);
	if (r->source != MS_RING_NO_STATS) {
		MS_EVENT_INIT(&ev, MS_EV_SOURCE_STATS, ms_ev_source_stats, MS_DEV_NONE,
			      ms_now_ns());
		ev.source = r->source;
		ev.accepted = r->accepted;
		ev.skipped = r->skipped;
		ev.errors = r->lost;
		ms_stream__publish(r->s, &ev.hdr);
	}
	munmap((void *)r->producer_pos, r->map_len);
	munmap(r->consumer_pos, r->page);
	r->consumer_pos = NULL;
	free(r->percpu);
	r->percpu = NULL;
}
