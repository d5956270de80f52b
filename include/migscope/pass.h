/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Pre-copy pass boundaries as a source sees them (MS_EV_PASS,
 * docs/telemetry.md "Passes").  QEMU marks its own (a dirty bitmap sync); a
 * VFIO device has none, so a query that finds its dirty bytes rising again
 * after they fell (pre-copy caught up, and new dirty data appeared: the
 * device's sync) or REINIT (flagged, or initial bytes growing again after
 * they reached zero) starts a new pass, and the first query starts the
 * first.  (A device whose dirty bytes only grow ends a pass where everything
 * the last boundary left has moved: the telemetry sees that from the data.)
 */
#ifndef MIGSCOPE_PASS_H
#define MIGSCOPE_PASS_H

#include <stdint.h>

#include <migscope/event.h>

/* One series' boundaries so far.  Zeroed: none yet. */
struct ms_pass_seen {
	uint64_t last_ts; /* the last boundary */
	uint64_t dirty;	  /* dirty bytes at the last query */
	uint64_t initial; /* initial bytes at the last query */
	uint32_t pass;	  /* boundaries so far */
	int fell;	  /* the dirty bytes fell since the last boundary */
	int had_initial;  /* initial bytes were seen */
};

/* A boundary the source knows of (a QEMU sync): fills *ev for hdr.dev = dev. */
void ms_pass__boundary(struct ms_pass_seen *p, uint32_t dev, uint32_t origin, uint64_t ts,
		       uint64_t left, uint64_t dirty, uint32_t flags, struct ms_ev_pass *ev);

/*
 * A device's pre-copy query (initial and dirty bytes, MS_PRECOPY_* flags):
 * 1 with *ev filled when it is a boundary, else 0.
 */
int ms_pass__precopy(struct ms_pass_seen *p, uint32_t dev, uint64_t ts, uint64_t initial,
		     uint64_t dirty, uint32_t flags, struct ms_ev_pass *ev);

#endif
