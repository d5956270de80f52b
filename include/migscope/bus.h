/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The event bus: sources publish records, consumers subscribe by type.
 *
 * Publishing is a synchronous call into every subscriber of the record's
 * type, in subscription order, on the publisher's thread.  The bus never
 * copies or keeps a record, so a source may publish from a stack buffer or
 * straight from a BPF ring buffer sample.
 *
 * Records that come by the million (MS_EV_HOT: a NIC's DMA writes, the IOMMU
 * maps and unmaps of a strict-mode IOMMU) can also be published as a batch:
 * the records of one ring read or one capture chunk.  A run of hot records
 * goes to each subscriber in turn, whole: a batch subscriber's one call, or
 * a record-by-record subscriber's calls for the types it asked for.  Other
 * records in a batch go out one by one as ms_bus__publish() sends them, and
 * runs never cross them, so every subscriber still sees every record in
 * stream order; only subscribers of hot types see a run before the next one
 * does, and those do not read each other.
 */
#ifndef MIGSCOPE_BUS_H
#define MIGSCOPE_BUS_H

#include <stdint.h>
#include <migscope/event.h>

#define MS_EV_BIT(t) (1ull << (t))
#define MS_EV_ALL (~0ull)

/* Most subscribers one record type can have. */
#define MS_BUS_MAX_SUBS 16

#define MS_EV_HOT                                                                                  \
	(MS_EV_BIT(MS_EV_DMA_WRITE) | MS_EV_BIT(MS_EV_IOMMU_MAP) | MS_EV_BIT(MS_EV_IOMMU_UNMAP))

typedef void (*ms_event_fn)(void *ctx, const struct ms_event_hdr *ev);

/* n hot records in stream order, of every hot type: the subscriber skips what it did not ask for */
typedef void (*ms_batch_fn)(void *ctx, const struct ms_event_hdr *const *evs, size_t n);

struct ms_bus_sub {
	ms_event_fn fn;
	void *ctx;
};

/* A subscriber of hot types: its batch function, or its record function and its types. */
struct ms_bus_hot {
	ms_batch_fn batch;
	ms_event_fn fn;
	void *ctx;
	uint64_t mask;
};

struct ms_bus {
	/* subs[type] for known types; subs[MS_EV__MAX] for unknown types */
	struct ms_bus_sub subs[MS_EV__MAX + 1][MS_BUS_MAX_SUBS];
	uint8_t nr_subs[MS_EV__MAX + 1];
	struct ms_bus_hot hot[MS_BUS_MAX_SUBS]; /* in subscription order */
	uint8_t nr_hot;
	uint64_t published;
	uint64_t batches; /* runs of hot records published as one */
};

void ms_bus__init(struct ms_bus *bus);

/*
 * Call fn for every record whose type bit is set in type_mask.  A subscriber
 * that passes MS_EV_ALL also gets types this build does not know (the capture
 * writer does, so re-recording a newer capture keeps everything).
 * Returns 0 or -ENOSPC.
 */
int ms_bus__subscribe(struct ms_bus *bus, uint64_t type_mask, ms_event_fn fn, void *ctx);

/*
 * The same, and batch takes the runs of hot records of a batch in one call
 * (fn still takes records published one by one).  0 or -ENOSPC.
 */
int ms_bus__subscribe_batch(struct ms_bus *bus, uint64_t type_mask, ms_batch_fn batch,
			    ms_event_fn fn, void *ctx);

/* Publish n records in stream order: runs of hot records as batches, the rest one by one. */
void ms_bus__publish_batch(struct ms_bus *bus, const struct ms_event_hdr *const *evs, size_t n);

/* Most records a publisher gathers into one batch (a ring read, a capture chunk). */
#define MS_BUS_BATCH 256

static inline void ms_bus__publish(struct ms_bus *bus, const struct ms_event_hdr *ev)
{
	unsigned int t = ev->type < MS_EV__MAX ? ev->type : MS_EV__MAX;
	const struct ms_bus_sub *s = bus->subs[t];
	unsigned int n = bus->nr_subs[t];

	bus->published++;
	for (unsigned int i = 0; i < n; i++)
		s[i].fn(s[i].ctx, ev);
}

/* Fill a record header; len is the size of the fixed payload of type s. */
#define MS_EVENT_INIT(ev, TYPE, s, devid, ts)                                                      \
	do {                                                                                       \
		(ev)->hdr.type = (TYPE);                                                           \
		(ev)->hdr.len = MS_PAYLOAD_LEN(s);                                                 \
		(ev)->hdr.dev = (devid);                                                           \
		(ev)->hdr.ts_ns = (ts);                                                            \
	} while (0)

/* Name of a record type ("dma_write"), or "unknown". */
const char *ms_event_type_name(unsigned int type);

/* Fixed payload size of a known type, 0 for unknown types. */
uint16_t ms_event_fixed_len(unsigned int type);

/*
 * The variable tail of a record (DEV_ADD name, TRACK_START ranges) after its
 * fixed payload of fixed_len bytes; *tail_len gets its size.
 */
static inline const void *ms_event_tail(const struct ms_event_hdr *ev, uint16_t fixed_len,
					uint32_t *tail_len)
{
	*tail_len = ev->len > fixed_len ? (uint32_t)(ev->len - fixed_len) : 0;
	return (const char *)(ev + 1) + fixed_len;
}

#endif
