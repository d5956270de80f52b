/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The downtime profile: drive device pairs through a whole live migration
 * of their state and publish everything on the session bus.
 *
 * Source save:      RUNNING -> PRE_COPY (iterate until the switchover rule holds)
 *                   -> PRE_COPY_P2P (every device) -> STOP_COPY -> STOP
 * Destination:      RUNNING -> RUNNING_P2P -> STOP -> RESUMING before the
 *                   save starts (it loads pre-copy data as it arrives), then
 *                   RESUMING -> STOP -> RUNNING_P2P (every device) -> RUNNING
 *
 * Every byte read from a source is written to its destination, and checked
 * at the end (byte count, CRC-32C of the stream, and for reference devices
 * the digest of the device state on both sides).  docs/devices.md lists the
 * records and what their timestamps mean.
 */
#ifndef MIGSCOPE_PROFILE_H
#define MIGSCOPE_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#include <migscope/devspec.h>
#include <migscope/stream.h>
#include <migscope/switchover.h>
#include <migscope/vfio_dev.h>

struct ms_profile_opts {
	const struct ms_devspec *specs; /* NULL / 0: the default pair of reference devices */
	size_t nr_specs;
	uint64_t downtime_limit_ns; /* 0: 300 ms */
	uint64_t bandwidth_bps;	    /* 0: 128 MiB/s on the virtual clock, unlimited on a real one */
	uint64_t duration_ns;	    /* longest pre-copy before a forced switchover; 0: 30 s */
	uint64_t round_ns;	    /* one pre-copy iteration; 0: 50 ms */
	uint64_t seed;
	const struct ms_vfio_sys *sys; /* NULL: the real system calls */
	/*
	 * --switchover-ack off: switch over without waiting for any device's
	 * switchover-ack (a QEMU without the capability).
	 */
	int no_ack;
	/*
	 * --reinit off: a driver without REINIT support (QEMU before seed 004):
	 * no PRECOPY_INFOv2 opt-in for reference devices, the REINIT flag
	 * ignored for VFIO devices, so a device's ack is given once and never
	 * asked again.
	 */
	int no_reinit;
	int collectors;		       /* enum ms_profile_collectors */
};

/*
 * The vfio collector as a witness of the arcs profile drives on real VFIO
 * devices (MS_EV_KERNEL_ARC, checked by the session's arccheck consumer).
 */
enum ms_profile_collectors {
	MS_PROFILE_COLLECT_AUTO = 0, /* with a vfio: device, when BPF and the hook are there */
	MS_PROFILE_COLLECT_ON,	     /* required: fail when the hook cannot be attached */
	MS_PROFILE_COLLECT_OFF,
};

#define MS_PROFILE_DEFAULT_LIMIT_NS    300000000ull
#define MS_PROFILE_DEFAULT_BPS	       (128ull << 20)
#define MS_PROFILE_DEFAULT_DURATION_NS 30000000000ull
#define MS_PROFILE_DEFAULT_ROUND_NS    50000000ull

/*
 * Why the source switched over (docs/devices.md, "The switchover decision").
 * Only CONVERGED is a switchover QEMU itself would make; FORCED is what an
 * operator forces on a migration that does not converge.
 */
enum ms_profile_decision {
	MS_DECIDE_NONE = 0,
	MS_DECIDE_CONVERGED,  /* every switchover-ack given, the stop-copy sizes fit the limit */
	MS_DECIDE_FORCED,     /* --duration reached without converging: switched over anyway */
	MS_DECIDE_NO_PRECOPY, /* no device has pre-copy: switched over at once */
};

struct ms_profile_result {
	uint32_t pairs;
	uint32_t rounds; /* pre-copy rounds */
	enum ms_profile_decision decision;
	int converged;			  /* the switchover rule held when it switched over */
	struct ms_switchover_check check; /* what the rule saw at the switchover */
	char reason[320];		  /* the decision in one line */
	uint64_t bytes_moved;		  /* source -> destination, every phase */
	uint64_t end_ns;		  /* stream time when the run ended */
	int verified;			  /* every pair's data arrived intact */
	char err[512];			  /* why it failed */
	char arcs_note[512]; /* why the kernel's arcs were not watched, when BPF said nothing */
};

/*
 * Run the profile into session s (which must be fresh: this publishes
 * MS_EV_SESSION and MS_EV_CONFIG).  0, or -errno with res->err set; the
 * devices are rolled back to RUNNING on failure.  The caller ends the session
 * at res->end_ns.
 */
int ms_profile__run(struct ms_stream *s, const struct ms_profile_opts *o,
		    struct ms_profile_result *res);

#endif
