/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The kernel's arcs against the arcs migscope drove (profile).  Every VFIO
 * migration arc a driver walks goes through vfio_mig_get_next_state(); the
 * vfio collector's fexit program publishes what it saw there as
 * MS_EV_KERNEL_ARC, and profile publishes its own MS_EV_DEV_STATE for every
 * arc it asked for.  This consumer pairs them, arc for arc, in order, per
 * device: matched, missing (driven, not seen), extra (seen, not driven).
 * MS_EV_ARC_WATCH says for which devices the kernel's side was watched.
 */
#ifndef MIGSCOPE_ARCCHECK_H
#define MIGSCOPE_ARCCHECK_H

#include <stdint.h>

#include <migscope/bus.h>
#include <migscope/devices.h>
#include <migscope/event.h>

struct ms_arc {
	uint8_t from, to;
	int32_t err;
};

struct ms_arc_dev {
	int have_watch; /* an MS_EV_ARC_WATCH arrived */
	uint32_t state; /* enum ms_arc_watch_state */
	struct ms_arc *driven, *seen;
	uint32_t nr_driven, nr_seen, cap_driven, cap_seen;
	uint64_t dropped; /* arcs not kept (out of memory or over the cap): no verdict */
};

struct ms_arccheck {
	const struct ms_devices *devices;
	struct ms_arc_dev *dev; /* by device id */
	uint32_t nr;
};

/* The outcome for one device. */
struct ms_arc_result {
	uint32_t driven, seen, matched, missing, extra;
	int first_bad;	 /* index into driven of the first missing arc, or -1 */
	int first_extra; /* index into seen of the first extra arc, or -1 */
};

void ms_arccheck__init(struct ms_arccheck *a, const struct ms_devices *devices);
void ms_arccheck__free(struct ms_arccheck *a);
int ms_arccheck__subscribe(struct ms_arccheck *a, struct ms_bus *bus);

/* The device's record, or NULL when no arc watch was published for it. */
const struct ms_arc_dev *ms_arccheck__dev(const struct ms_arccheck *a, uint32_t id);

/* Pair dev's arcs in order (a pure function of the two lists). */
void ms_arccheck__match(const struct ms_arc_dev *d, struct ms_arc_result *r);

/* Why a device's kernel arcs are not checked, or NULL when they are. */
const char *ms_arccheck__why_not(const struct ms_arc_dev *d);

#endif
