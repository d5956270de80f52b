// SPDX-License-Identifier: GPL-2.0-only
/*
 * A BPF ring buffer as a source: samples to the sample handler, and every
 * increase of the kernel side's loss counters to an MS_EV_LOSS.
 *
 * The BPF programs submit without waking us until wakeup_bytes are waiting,
 * so the ring is read on its epoll fd (the threshold was crossed) and on a
 * poll timer (whatever trickled in below it).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include <bpf/bpf.h>

#include "collect_int.h"

static int on_sample(void *ctx, void *data, size_t len)
{
	struct ms_ring *r = ctx;

	if (r->fn(r->ctx, data, len))
		r->skipped++;
	return 0;
}

int ms_ring__init(struct ms_ring *r, struct ms_session *s, int ring_fd, int counters_fd,
		  ms_ring_sample_fn fn, void *ctx, uint32_t source)
{
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
	r->rb = ring_buffer__new(ring_fd, on_sample, r, NULL);
	if (!r->rb) {
		int err = -errno;

		free(r->percpu);
		r->percpu = NULL;
		return err;
	}
	return 0;
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
	ms_session__publish(r->s, ev);
	r->accepted++;
}

static void publish_loss(struct ms_ring *r, uint32_t dev, uint32_t reason, uint64_t count)
{
	struct ms_ev_loss ev = { 0 };

	MS_EVENT_INIT(&ev, MS_EV_LOSS, ms_ev_loss, dev, ms_now_ns());
	ev.reason = reason;
	ev.count = count;
	ms_session__publish(r->s, &ev.hdr); /* iova 0, len 0: the extent is unknown */
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
		publish_loss(r, r->slot_dev[slot], MS_LOSS_RINGBUF_DROP,
			     sum.ringbuf_drops - seen->ringbuf_drops);
	errs = (sum.sg_truncated - seen->sg_truncated) + (sum.read_errors - seen->read_errors) +
	       (sum.live_full - seen->live_full);
	if (errs)
		publish_loss(r, r->slot_dev[slot], MS_LOSS_SOURCE_ERROR, errs);
	*seen = sum;
	return 0;
}

int ms_ring__poll(struct ms_ring *r)
{
	uint64_t before = r->accepted;
	int n, err;

	n = ring_buffer__consume(r->rb);
	if (n < 0)
		return n;
	/* after the records: a loss widens what they said, whatever the order */
	for (uint32_t slot = 0; slot < r->nr_slots; slot++) {
		err = publish_slot_losses(r, slot);
		if (err)
			return err;
	}
	err = publish_slot_losses(r, MS_BPF_SLOT_NONE);
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
	int err = ms_loop__add_fd(l, ring_buffer__epoll_fd(r->rb), EPOLLIN, on_ready, r);

	if (err)
		return err;
	r->timer_id = ms_loop__add_timer(l, poll_ns, on_ready, r);
	if (r->timer_id < 0) {
		err = r->timer_id;
		ms_loop__del_fd(l, ring_buffer__epoll_fd(r->rb));
		return err;
	}
	r->loop = l;
	return 0;
}

void ms_ring__fini(struct ms_ring *r)
{
	struct ms_ev_source_stats ev = { 0 };

	if (!r->rb)
		return;
	if (r->loop) {
		ms_loop__del_fd(r->loop, ring_buffer__epoll_fd(r->rb));
		ms_loop__del_timer(r->loop, r->timer_id);
		r->loop = NULL;
	}
	ms_ring__poll(r);
	MS_EVENT_INIT(&ev, MS_EV_SOURCE_STATS, ms_ev_source_stats, MS_DEV_NONE, ms_now_ns());
	ev.source = r->source;
	ev.accepted = r->accepted;
	ev.skipped = r->skipped;
	ev.errors = r->lost;
	ms_session__publish(r->s, &ev.hdr);
	ring_buffer__free(r->rb);
	r->rb = NULL;
	free(r->percpu);
	r->percpu = NULL;
}
