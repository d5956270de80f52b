// SPDX-License-Identifier: GPL-2.0-only
/*
 * The synthetic source.  Guest memory (4 GiB, or opts->guest_bytes: --guest 4T
 * with --devices 64 is a large host's shape) is mapped in the IOMMU up front,
 * as a VM's is when its devices attach; each device tracks all of it and gets
 * a stream of 4-32 KiB DMA writes into its buffers (anywhere in the guest,
 * or opts->pool_bytes of them in a slice of its own, as a NIC's receive ring
 * recycles a bounded set of buffers)
 * clustered around a moving cursor, occasional re-maps of single pages (a vIOMMU
 * guest remapping a buffer), and pre-copy samples that shrink (3 % of the
 * records, or one per opts->precopy_every records: at 10^9 records a real
 * migration reports per pass, not per DMA, and the telemetry keeps every
 * sample); the stream
 * ends with every device's save arcs.  Virtual time: 100 ns per record.
 */
#include <stdio.h>
#include <string.h>

#include <migscope/vfio_compat.h>

#include <migscope/rand.h>
#include <migscope/synth.h>

#define T0   1000000000ull
#define TICK 100ull

uint64_t ms_synth__run(struct ms_stream *s, const struct ms_synth_opts *o)
{
	struct ms_rand rnd;
	uint64_t ts = T0, cursor[64] = { 0 };
	uint32_t first, ndev = o->devices ? o->devices : 1;
	/* whole pages, at least one per device write (32 KiB) */
	uint64_t span = o->guest_bytes >= MS_SYNTH_MIN_GUEST ? o->guest_bytes & ~4095ull
							     : MS_SYNTH_DEFAULT_GUEST;
	/* each device's buffers: its own slice of the guest, or (default) all of it */
	uint64_t pool =
	    o->pool_bytes >= 4096 && o->pool_bytes <= span ? o->pool_bytes & ~4095ull : span;
	uint64_t slice;
	char name[32];

	if (ndev > 64)
		ndev = 64;
	slice = pool < span ? (span / ndev) & ~4095ull : 0;
	if (slice && slice < pool)
		pool = slice; /* the pools do not overlap */
	ms_rand__seed(&rnd, o->seed);
	ms_stream__begin(s, ts, MS_SESSION_SYNTH, 0, 0, 4096);
	first = s->next_dev_id;
	{
		struct ms_ev_iommu_map m = { 0 };

		MS_EVENT_INIT(&m, MS_EV_IOMMU_MAP, ms_ev_iommu_map, MS_DEV_NONE, ts);
		m.iova = 0;
		m.paddr = 1ull << 40;
		m.size = span;
		ms_stream__publish(s, &m.hdr);
	}
	for (uint32_t d = 0; d < ndev; d++) {
		_Alignas(8) unsigned char
		    buf[sizeof(struct ms_ev_track_start) + sizeof(struct ms_range)];
		struct ms_ev_track_start *t = (void *)buf;

		snprintf(name, sizeof(name), "synth%u", d);
		ms_stream__add_device(s, ts, MS_DEV_KIND_REF, MS_ROLE_SOURCE,
				      VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P |
					  VFIO_MIGRATION_PRE_COPY,
				      MS_DEV_NONE, name);
		memset(buf, 0, sizeof(buf));
		MS_EVENT_INIT(t, MS_EV_TRACK_START, ms_ev_track_start, first + d, ts);
		t->hdr.len += sizeof(struct ms_range);
		t->page_size = 4096;
		t->nr_ranges = 1;
		t->ranges[0].iova = 0;
		t->ranges[0].len = span;
		ms_stream__publish(s, &t->hdr);
	}

	for (uint64_t i = 0; i < o->events; i++) {
		uint32_t d = (uint32_t)ms_rand__below(&rnd, ndev);
		uint64_t roll = ms_rand__below(&rnd, 100);

		ts += TICK;
		/* the large-host shape: a sample per 2^16 records, as a migration reports per pass
		 */
		if (o->precopy_every && roll >= 97)
			roll = roll % 94;
		if (o->precopy_every && i % o->precopy_every == o->precopy_every - 1)
			roll = 97;
		if (roll < 94) {
			struct ms_ev_dma_write w = { 0 };

			MS_EVENT_INIT(&w, MS_EV_DMA_WRITE, ms_ev_dma_write, first + d, ts);
			w.len = 4096 << ms_rand__below(&rnd, 4);
			/* mostly next to the cursor, sometimes anywhere */
			if (roll < 85)
				cursor[d] = (cursor[d] + w.len) % pool;
			else
				cursor[d] = ms_rand__below(&rnd, pool / 4096) * 4096;
			w.iova = slice * d + cursor[d];
			w.source = (uint32_t)(roll % 3 == 0 ? MS_SRC_DMA_SYNC : MS_SRC_DMA_UNMAP);
			w.dir = 2; /* DMA_FROM_DEVICE */
			ms_stream__publish(s, &w.hdr);
		} else if (roll < 97) {
			struct ms_ev_iommu_map m = { 0 };

			MS_EVENT_INIT(&m, MS_EV_IOMMU_MAP, ms_ev_iommu_map, MS_DEV_NONE, ts);
			m.iova = ms_rand__below(&rnd, span / 4096) * 4096;
			m.paddr = m.iova + (1ull << 40);
			m.size = 4096;
			ms_stream__publish(s, &m.hdr);
		} else {
			struct ms_ev_precopy p;
			uint64_t left = o->events - i;

			MS_EVENT_INIT(&p, MS_EV_PRECOPY, ms_ev_precopy, first + d, ts);
			p.initial_bytes = left * 64;
			p.dirty_bytes = ms_rand__below(&rnd, 1 << 20);
			p.flags = 0;
			p.reserved = 0;
			ms_stream__publish(s, &p.hdr);
		}
	}

	for (uint32_t d = 0; d < ndev; d++) {
		static const uint8_t arcs[][2] = {
			{ VFIO_DEVICE_STATE_PRE_COPY, VFIO_DEVICE_STATE_PRE_COPY_P2P },
			{ VFIO_DEVICE_STATE_PRE_COPY_P2P, VFIO_DEVICE_STATE_STOP_COPY },
			{ VFIO_DEVICE_STATE_STOP_COPY, VFIO_DEVICE_STATE_STOP },
		};

		for (size_t a = 0; a < sizeof(arcs) / sizeof(arcs[0]); a++) {
			struct ms_ev_dev_state st;

			ts += 1000000;
			MS_EVENT_INIT(&st, MS_EV_DEV_STATE, ms_ev_dev_state, first + d, ts);
			st.domain = MS_DOMAIN_VFIO;
			st.from = arcs[a][0];
			st.to = arcs[a][1];
			st.err = 0;
			st.dur_ns = 1000000;
			ms_stream__publish(s, &st.hdr);
		}
	}
	return ts;
}
