// SPDX-License-Identifier: GPL-2.0-only
/* The event bus and the record type table. */
#include <errno.h>
#include <string.h>

#include <migscope/bus.h>

void ms_bus__init(struct ms_bus *bus)
{
	memset(bus, 0, sizeof(*bus));
}

int ms_bus__subscribe(struct ms_bus *bus, uint64_t type_mask, ms_event_fn fn, void *ctx)
{
	return ms_bus__subscribe_batch(bus, type_mask, NULL, fn, ctx);
}

int ms_bus__subscribe_batch(struct ms_bus *bus, uint64_t type_mask, ms_batch_fn batch,
			    ms_event_fn fn, void *ctx)
{
	unsigned int t;

	/* check first so a failed subscribe changes nothing */
	if ((type_mask & MS_EV_HOT) && bus->nr_hot >= MS_BUS_MAX_SUBS)
		return -ENOSPC;
	for (t = 0; t <= MS_EV__MAX; t++) {
		int wanted = t < MS_EV__MAX ? !!(type_mask & MS_EV_BIT(t)) : type_mask == MS_EV_ALL;

		if (wanted && bus->nr_subs[t] >= MS_BUS_MAX_SUBS)
			return -ENOSPC;
	}
	for (t = 0; t <= MS_EV__MAX; t++) {
		int wanted = t < MS_EV__MAX ? !!(type_mask & MS_EV_BIT(t)) : type_mask == MS_EV_ALL;

		if (!wanted)
			continue;
		bus->subs[t][bus->nr_subs[t]].fn = fn;
		bus->subs[t][bus->nr_subs[t]].ctx = ctx;
		bus->nr_subs[t]++;
	}
	if (type_mask & MS_EV_HOT)
		bus->hot[bus->nr_hot++] = (struct ms_bus_hot){ batch, fn, ctx, type_mask };
	return 0;
}

static inline int is_hot(const struct ms_event_hdr *ev)
{
	return ev->type < MS_EV__MAX && (MS_EV_HOT & MS_EV_BIT(ev->type));
}

void ms_bus__publish_batch(struct ms_bus *bus, const struct ms_event_hdr *const *evs, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t j = i;

		if (!is_hot(evs[i])) {
			ms_bus__publish(bus, evs[i++]);
			continue;
		}
		while (j < n && is_hot(evs[j]))
			j++;
		bus->published += j - i;
		bus->batches++;
		for (unsigned int k = 0; k < bus->nr_hot; k++) {
			const struct ms_bus_hot *h = &bus->hot[k];

			if (h->batch) {
				h->batch(h->ctx, evs + i, j - i);
				continue;
			}
			for (size_t r = i; r < j; r++)
				if (h->mask & MS_EV_BIT(evs[r]->type))
					h->fn(h->ctx, evs[r]);
		}
		i = j;
	}
}

#define TYPE(t, name, s) [t] = { name, MS_PAYLOAD_LEN(s) }

static const struct {
	const char *name;
	uint16_t fixed_len;
} event_types[MS_EV__MAX] = {
	TYPE(MS_EV_SESSION, "session", ms_ev_session),
	TYPE(MS_EV_CONFIG, "config", ms_ev_config),
	TYPE(MS_EV_DEV_ADD, "dev_add", ms_ev_dev_add),
	TYPE(MS_EV_DEV_STATE, "dev_state", ms_ev_dev_state),
	TYPE(MS_EV_PRECOPY, "precopy", ms_ev_precopy),
	TYPE(MS_EV_STOPCOPY_SIZE, "stopcopy_size", ms_ev_stopcopy_size),
	TYPE(MS_EV_DATA, "data", ms_ev_data),
	TYPE(MS_EV_TRACK_START, "track_start", ms_ev_track_start),
	[MS_EV_TRACK_STOP] = { "track_stop", 0 },
	TYPE(MS_EV_IOMMU_MAP, "iommu_map", ms_ev_iommu_map),
	TYPE(MS_EV_IOMMU_UNMAP, "iommu_unmap", ms_ev_iommu_unmap),
	TYPE(MS_EV_DMA_WRITE, "dma_write", ms_ev_dma_write),
	TYPE(MS_EV_LOSS, "loss", ms_ev_loss),
	TYPE(MS_EV_HARVEST, "harvest", ms_ev_harvest),
	TYPE(MS_EV_MIG_STATUS, "mig_status", ms_ev_mig_status),
	TYPE(MS_EV_MIG_STATS, "mig_stats", ms_ev_mig_stats),
	TYPE(MS_EV_RUNSTATE, "runstate", ms_ev_runstate),
	TYPE(MS_EV_QEMU_PENDING, "qemu_pending", ms_ev_qemu_pending),
	TYPE(MS_EV_QEMU_SECTION, "qemu_section", ms_ev_qemu_section),
	TYPE(MS_EV_QEMU_DOWNTIME, "qemu_downtime", ms_ev_qemu_downtime),
	TYPE(MS_EV_SWITCHOVER, "switchover", ms_ev_switchover),
	TYPE(MS_EV_DEV_ATTACH, "dev_attach", ms_ev_dev_attach),
	TYPE(MS_EV_SOURCE_STATS, "source_stats", ms_ev_source_stats),
	TYPE(MS_EV_SESSION_END, "session_end", ms_ev_session_end),
	TYPE(MS_EV_PASS, "pass", ms_ev_pass),
	TYPE(MS_EV_QEMU_MARK, "qemu_mark", ms_ev_qemu_mark),
	TYPE(MS_EV_DIRTY_RATE, "dirty_rate", ms_ev_dirty_rate),
	TYPE(MS_EV_KERNEL_ARC, "kernel_arc", ms_ev_dev_state),
	TYPE(MS_EV_ARC_WATCH, "arc_watch", ms_ev_arc_watch),
	TYPE(MS_EV_DIRTY_RATE_STATE, "dirty_rate_state", ms_ev_dirty_rate_state),
};

const char *ms_event_type_name(unsigned int type)
{
	if (type >= MS_EV__MAX || !event_types[type].name)
		return "unknown";
	return event_types[type].name;
}

uint16_t ms_event_fixed_len(unsigned int type)
{
	return type < MS_EV__MAX ? event_types[type].fixed_len : 0;
}
