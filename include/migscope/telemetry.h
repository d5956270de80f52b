/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Telemetry: what each device's migration cost and whether its pre-copy
 * converges (docs/telemetry.md).
 *
 * Two halves.  The consumer (struct ms_telemetry) keeps, per device id, the
 * records it needs from the stream: state arcs, pending-byte samples, stop-copy
 * sizes, data moved, QEMU savevm section spans; and for the VM the runstate,
 * migration status and query-migrate samples.  It never reads a clock: every
 * time it knows is a record's.  The analysis (ms_telemetry__analyze) turns that
 * into per-device downtime with its breakdown, a convergence verdict with its
 * reason, and the VM's downtime and total time; the reports (JSON, table,
 * Perfetto, SVG) print the analysis.  Same records, same analysis, same bytes.
 */
#ifndef MIGSCOPE_TELEMETRY_H
#define MIGSCOPE_TELEMETRY_H

#include <stdint.h>

#include <migscope/bus.h>
#include <migscope/devices.h>
#include <migscope/switchover.h>

/* A growable array; element type T.  Pushed with ms_vec_push(). */
#define MS_VEC_BODY(T)                                                                             \
	{                                                                                          \
		T *v;                                                                              \
		uint32_t nr, cap;                                                                  \
	}
#define MS_VEC(T) struct MS_VEC_BODY(T)

/* One finished state arc (MS_EV_DEV_STATE). */
struct ms_tm_arc {
	uint64_t end_ns;
	uint64_t dur_ns;
	int32_t err;
	uint8_t domain; /* enum ms_state_domain */
	uint8_t from, to;
	uint8_t pad;
};

/*
 * One pending-byte sample.  For MS_EV_PRECOPY: initial and dirty bytes.  For
 * MS_EV_QEMU_PENDING: initial = the bytes QEMU must send before switchover,
 * dirty = 0, threshold = QEMU's own threshold.  For query-migrate (the VM's
 * series): initial = ram.remaining, moved = ram.transferred.
 */
struct ms_tm_sample {
	uint64_t ts_ns;
	uint64_t initial;
	uint64_t dirty;
	uint64_t moved;	    /* pre-copy bytes this device had moved by then */
	uint64_t threshold; /* MS_STAT_UNSET unless the source gave one */
	uint64_t dirty_bps; /* the source's own dirty rate, MS_STAT_UNSET if none */
	uint32_t flags;	    /* MS_PRECOPY_REINIT, MS_TM_EXACT */
	uint32_t pad;
	uint64_t link_bps; /* the transfer rate the source measured then (QMP mbps), 0 if none */
};

/* A QEMU pending sample counted right after a dirty sync (a boundary in old captures). */
#define MS_TM_EXACT (1u << 8)

static inline uint64_t ms_tm_sample__pending(const struct ms_tm_sample *s)
{
	return s->initial + s->dirty;
}

/* A timestamped value: stop-copy size, a status change, a switchover phase. */
struct ms_tm_point {
	uint64_t ts_ns;
	uint64_t v;
};

/* A savevm/loadvm section's save or load, start to end. */
struct ms_tm_span {
	uint64_t start_ns;
	uint64_t end_ns;
};

/* A pass boundary as the stream gave it (MS_EV_PASS). */
struct ms_tm_bound {
	uint64_t ts_ns;
	uint64_t left;	/* MS_STAT_UNSET: the source did not know */
	uint64_t dirty; /* MS_STAT_UNSET: the source did not know */
	uint32_t pass;
	uint32_t flags; /* MS_PASS_REINIT */
};

/* Named so one helper can push to any of them. */
struct ms_tm_arcs MS_VEC_BODY(struct ms_tm_arc);
struct ms_tm_samples MS_VEC_BODY(struct ms_tm_sample);
struct ms_tm_points MS_VEC_BODY(struct ms_tm_point);
struct ms_tm_spans MS_VEC_BODY(struct ms_tm_span);
struct ms_tm_bounds MS_VEC_BODY(struct ms_tm_bound);

/* What the consumer keeps per device id. */
struct ms_tm_device {
	struct ms_tm_arcs arcs;	 /* MS_DOMAIN_VFIO arcs */
	struct ms_tm_arcs modes; /* MS_DOMAIN_VIRTIO mode changes */
	struct ms_tm_samples samples;
	struct ms_tm_samples stopcopy; /* MS_EV_STOPCOPY_SIZE: initial = the size */
	struct ms_tm_points switchover;		    /* v = enum ms_switchover_phase */
	struct ms_tm_spans saves;		    /* QEMU section saves */
	struct ms_tm_spans loads;		    /* QEMU section loads */
	struct ms_tm_points qdowntime;		    /* vmstate_downtime_save: v = dur_ns */
	struct ms_tm_points qdowntime_load;	    /* vmstate_downtime_load: v = dur_ns */
	struct ms_tm_points runstate;		    /* a qemu-vm device's: v = 1 running */
	uint64_t lost_ns;			    /* its first MS_EV_LOSS, 0 = none */
	struct ms_tm_bounds bounds;		    /* MS_EV_PASS: its pass boundaries */
	uint64_t data[MS_PHASE_RESUME + 1];	    /* MS_EV_DATA bytes per phase */
	uint64_t data_first_ns[MS_PHASE_RESUME + 1]; /* time of the first one */
	uint64_t data_last_ns[MS_PHASE_RESUME + 1];  /* time of the last one */
	uint64_t data_last_bytes[MS_PHASE_RESUME + 1]; /* and its size */
	uint16_t basis;				    /* record type of the samples, 0 = none yet */
	uint32_t origin;			    /* QEMU_PENDING: enum ms_pending_origin */
	uint64_t save_open_ns, load_open_ns;	    /* a section start without its end yet */
	uint64_t mixed;				    /* samples of a second kind, not kept */
};

/* One query-migrate sample, as much as the analysis uses. */
struct ms_tm_stats {
	uint64_t ts_ns;
	uint32_t status;
	uint64_t total_time_ms, downtime_ms, expected_downtime_ms;
	uint64_t ram_remaining, ram_transferred, dirty_pages_rate, mbps_milli;
};

/*
 * One MS_EV_DIRTY_RATE: the guest's dirty rate over a window as QEMU measured
 * it; the true rate lies in [lo_bps, hi_bps).
 */
struct ms_tm_rate {
	uint64_t ts_ns; /* the window's end */
	uint64_t window_ns;
	double lo_bps, hi_bps;
	uint32_t mode; /* enum ms_dirty_rate_mode */
};

/* QEMU's checkpoints kept by index; the two that bound its downtime clock (>= 8.2). */
#define MS_TM_CHECKPOINTS	  16
#define MS_TM_CKPT_DOWNTIME_START 0 /* src-downtime-start */
#define MS_TM_CKPT_DOWNTIME_END	  4 /* src-downtime-end */

/* Every MS_EV_CONFIG, in time order: the limits in force from each one's hdr.ts_ns on. */
struct ms_tm_configs MS_VEC_BODY(struct ms_ev_config);

struct ms_telemetry {
	struct ms_tm_device *dev; /* indexed by device id */
	uint32_t nr, cap;

	int have_t0;
	uint64_t t0_ns; /* the earliest record's time: the session start */
	struct ms_ev_config config;   /* the first MS_EV_CONFIG */
	struct ms_tm_configs configs; /* every MS_EV_CONFIG (ms_telemetry__config_at) */
	uint64_t marks[MS_MARK__MAX]; /* MS_EV_QEMU_MARK: the last of each, 0 = none */
	/* vmstate_downtime_checkpoint: the last of each (ms_qemu_checkpoint_name), 0 = none */
	uint64_t checkpoints[MS_TM_CHECKPOINTS];

	/* the VM, from QEMU */
	struct ms_tm_points runstate;	/* v = 1 running, 0 stopped */
	struct ms_tm_points status;	/* v = enum ms_mig_status */
	struct ms_tm_points switchover; /* hdr.dev MS_DEV_NONE; v = phase */
	MS_VEC(struct ms_tm_stats) stats;
	MS_VEC(struct ms_tm_rate) rates; /* MS_EV_DIRTY_RATE, in arrival (time) order */
	struct ms_tm_bounds bounds; /* MS_EV_PASS of the VM's RAM through QMP (MS_DEV_NONE) */

	uint64_t dropped; /* records not kept: out of memory, or a device id out of range */
};

/*
 * The arcs that make a device's timeline: its VFIO arcs; a virtio device
 * driven through the VFIO state machine also reports its mode changes, nested
 * inside those arcs, which are then detail.  Only mode changes: those.
 */
static inline const struct ms_tm_arcs *ms_tm_timeline(const struct ms_tm_device *d)
{
	return d->arcs.nr || !d->modes.nr ? &d->arcs : &d->modes;
}

void ms_telemetry__init(struct ms_telemetry *t);
void ms_telemetry__free(struct ms_telemetry *t);
int ms_telemetry__subscribe(struct ms_telemetry *t, struct ms_bus *bus);

/* The consumer's device record, or NULL when nothing was seen for id. */
const struct ms_tm_device *ms_telemetry__device(const struct ms_telemetry *t, uint32_t id);

/*
 * The limits in force at ts (MS_EV_CONFIG: downtime limit, configured
 * bandwidth, page size): the last MS_EV_CONFIG at or before ts, the first one
 * before that (what held when the session began), all zero without any.
 * Every judgement of a sample asks here, so a stream that changes its limits
 * mid-run (a watch re-reads QEMU's parameters) is judged against the one that
 * held.
 */
const struct ms_ev_config *ms_telemetry__config_at(const struct ms_telemetry *t, uint64_t ts);

/*
 * The bytes that fit the downtime limit in force at ts: bps (a measured
 * bandwidth; 0: the configured one in force at ts) times that limit, with
 * the profile driver's arithmetic (ms_switchover_threshold()).  MS_STAT_UNSET
 * without a limit or a bandwidth.
 */
uint64_t ms_telemetry__threshold_at(const struct ms_telemetry *t, uint64_t ts, uint64_t bps);

/* Reserve one more element; returns 0 or -ENOMEM.  Used through ms_vec_push(). */
int ms_vec__reserve(void **v, uint32_t *cap, uint32_t nr, size_t elem);
#define ms_vec_push(vec)                                                                           \
	(ms_vec__reserve((void **)&(vec)->v, &(vec)->cap, (vec)->nr, sizeof(*(vec)->v))            \
	     ? NULL                                                                                \
	     : &(vec)->v[(vec)->nr++])

/*
 * A non-negative double as a byte count or duration, saturated: corrupt input
 * makes huge values, and an out-of-range conversion is undefined behaviour.
 */
static inline uint64_t ms_tm_u64(double v)
{
	if (!(v > 0))
		return 0;
	return v >= 18446744073709549568.0 ? UINT64_MAX : (uint64_t)v;
}

/* ---- analysis ---------------------------------------------------------------------------- */

enum ms_verdict {
	MS_VERDICT_UNKNOWN = 0, /* too few samples to say */
	MS_VERDICT_CONVERGING,
	MS_VERDICT_STALLED,
	MS_VERDICT_DIVERGING,
};

const char *ms_verdict_name(unsigned int v);

/* A state's name in its domain ("PRE_COPY_P2P", "Freeze"). */
const char *ms_tm_state_name(unsigned int domain, unsigned int state);

#define MS_TM_REASON_LEN 192

/*
 * One pass boundary of a judged series and the pass that ended there
 * (docs/telemetry.md, "Passes"): a dirty sync, or a device's dirty bytes rising
 * again, REINIT, or everything the previous boundary left moved.
 */
struct ms_tm_pass {
	uint64_t ts_ns;	 /* the boundary */
	uint64_t left;	 /* what it left: the judged series there */
	uint32_t idx;	 /* the sample that says so */
	uint32_t flags;	 /* MS_PASS_REINIT */
	uint64_t dur_ns; /* the pass that ended here, from the previous boundary; 0 on the first */
	uint64_t dirty;	 /* bytes that became pending in it */
	uint64_t moved;	 /* bytes it moved, where the series' source says (0 otherwise) */
	double dirty_bps, transfer_bps; /* its rates, 0 on the first */
};

/* The convergence of one pending-byte series (docs/telemetry.md, "Verdicts"). */
struct ms_tm_convergence {
	enum ms_verdict verdict;
	char reason[MS_TM_REASON_LEN];
	const char *basis; /* "precopy", "qemu_pending", "stopcopy", "qmp", "devices", "none" */
	uint32_t samples;  /* samples before switchover */
	uint32_t passes;   /* complete passes among them */
	uint64_t initial, dirty;      /* at the last pre-copy sample */
	uint64_t pending;	      /* the bytes that would move if it stopped: the judged
				       * series' last value (QEMU's RAM: what the last sync
				       * left, which the samples after it only drain) */
	uint64_t threshold;	      /* bytes that fit the downtime limit, MS_STAT_UNSET */
	const char *threshold_source; /* "qemu", "limit", "none" */
	uint64_t limit_ns;	      /* the downtime limit in force at the last sample, 0: none */
	int have_rates;		      /* of the last complete pass: */
	double transfer_bps;	      /* bytes it moved per second */
	double dirty_bps;	      /* bytes that became pending per second */
	double ratio;		      /* what each pass leaves of the one before, projected */
	uint64_t switchover_ns;	      /* converging: expected time to switchover, else unset */
	uint64_t stopcopy;	      /* last stop-copy size before switchover, MS_STAT_UNSET */
	uint64_t predicted_ns;	      /* pending bytes at the bandwidth, MS_STAT_UNSET */
	uint32_t reinits;	/* REINIT events: flagged, or initial bytes growing from zero */
	uint32_t reinit_idx[8]; /* sample indexes of the first few */
};

/* How a device's downtime was measured. */
enum ms_tm_method {
	MS_TM_ARCS = 0,		/* its state timeline */
	MS_TM_VMSTATE_DOWNTIME, /* QEMU's vmstate_downtime_save records */
	MS_TM_SECTIONS,		/* QEMU's savevm section start/end */
};

const char *ms_tm_method_name(unsigned int m);

/* Where one device's downtime went (docs/telemetry.md, "Downtime"). */
struct ms_tm_downtime {
	int have;
	int complete; /* the destination peer reached RUNNING */
	enum ms_tm_method method;
	uint32_t peer; /* the destination device, or MS_DEV_NONE */
	uint64_t start_ns, end_ns;
	/* arcs: the marks that cut [start, end] (quiesced, saved, resuming) */
	uint64_t quiesced_ns, saved_ns, resuming_ns;
	uint64_t exit_ns;     /* arcs: the arc out of STOP_COPY took this long */
	/* the breakdown; time the device sat idle while another one worked is wait */
	uint64_t stop_ns;     /* leaving RUNNING/PRE_COPY until STOP_COPY (Freeze) */
	uint64_t stopcopy_ns; /* in STOP_COPY moving its data, and the arc out of it */
	uint64_t wait_ns;     /* idle while other devices worked, or saved and the
			       * destination not resuming yet */
	uint64_t ack_ns;      /* part of the wait spent waiting for a switchover ack */
	uint64_t resume_ns;   /* destination resume arcs until RUNNING */
	uint64_t busy_ns;     /* the device's own time: stop + stop-copy + resume */
	double share;	      /* busy / the VM's downtime, 0..1 */
};

/* The downtime was measured on the device's own state timeline. */
static inline int ms_tm_downtime__by_arcs(const struct ms_tm_downtime *dt)
{
	return dt->have && dt->method == MS_TM_ARCS;
}

/* An arc inside a device's downtime: its own, or its destination peer's. */
struct ms_tm_warc {
	const struct ms_tm_arc *arc;
	int dest;
};

struct ms_tm_dev_result {
	int present;	     /* a registered device */
	uint32_t counted_in; /* a destination folded into its source's row, else MS_DEV_NONE */
	struct ms_tm_downtime dt;
	struct ms_tm_convergence conv;
	int have_precopy;
	uint64_t precopy_ns;	   /* time in PRE_COPY (or with samples before the VM stopped) */
	uint64_t save_ns, load_ns; /* QEMU section saves and loads, all of them */
	/* a destination section: its load inside the VM's downtime, and what says so */
	uint64_t downtime_load_ns;
	const char *downtime_load_by; /* "vmstate_downtime_load", "loadvm_section" */
	struct ms_tm_warc *arcs;   /* the arcs of both sides inside the downtime, by start */
	uint32_t arcs_nr;
	struct ms_tm_pass *passes; /* the judged series' pass boundaries */
	uint32_t passes_nr;
};

/*
 * The switchover decision (MS_SWITCHOVER_DECIDED), judged by the rule the
 * profile driver decides by (switchover.h) on what the stream says at that
 * moment: every source device's last stop-copy size (else pre-copy pending)
 * summed, and its switchover-ack state.
 */
struct ms_tm_switchover {
	int have;	  /* a decision was seen */
	uint64_t at_ns;	  /* the first one */
	uint32_t devices; /* source devices with a sample before it */
	struct ms_switchover_check check;
	int converged; /* the rule held (meaningful when devices > 0) */
	char reason[256];
};

/* One end of QEMU's downtime: the event it is read from and the two it lies between. */
struct ms_tm_dt_edge {
	uint64_t at_ns, after_ns, before_ns;
	const char *at, *after, *before; /* the events' names */
};

/*
 * The VM's downtime cut in consecutive parts at the marks of both sides
 * (docs/telemetry.md, "Both sides"): source (stop until the source saved
 * its last section), transfer (until the destination works on what is
 * left), destination load and resume (until it runs the VM), and whatever
 * of the downtime lies after that (unaccounted, with why).  The parts add up
 * to downtime_end_ns - downtime_start_ns.
 */
struct ms_tm_split {
	int watched;	  /* a destination qemu-vm device is in the stream (watch --dst-qmp) */
	int have;	  /* the downtime is cut: the destination's loads or resume were seen */
	int have_saved;	  /* the source's end of saving was seen (else source_ns has the transfer) */
	int have_running; /* the destination's resume was seen */
	uint64_t saved_ns, dst_start_ns, loaded_ns, running_ns; /* the marks (stream time) */
	const char *saved_by, *dst_start_by, *loaded_by, *running_by; /* their events */
	uint64_t source_ns, transfer_ns, load_ns, resume_ns, unaccounted_ns;
	const char *unaccounted; /* why there is an unaccounted part, NULL without one */
	uint64_t beyond_ns; /* the destination resumed this long after the downtime's end */
	uint64_t lost_ns;   /* the destination went away then (0: it did not) */
};

struct ms_tm_vm {
	int have_downtime;
	const char *downtime_source; /* "qemu" (VM stop to completion), "devices", "none" */
	uint64_t downtime_start_ns, downtime_end_ns;
	/*
	 * "qemu": where QEMU's own downtime clock started and stopped.  QEMU
	 * gives no event at either before 8.2, so each end lies between two
	 * events (docs/telemetry.md, "The VM").
	 */
	int have_bounds;
	struct ms_tm_dt_edge start, end;
	uint64_t bound_lo_ns, bound_hi_ns; /* whole milliseconds, rounded outwards */
	int have_total;
	uint64_t total_start_ns, total_end_ns;
	uint64_t qmp_downtime_ms, qmp_total_ms, qmp_expected_downtime_ms; /* MS_STAT_UNSET */
	int have_status;
	uint32_t status;       /* the last enum ms_mig_status seen */
	uint64_t limits_at_ns; /* the moment judged: the VM stop, else the switchover, else the end */
	uint64_t limit_ns;     /* in force then; 0 = not set */
	uint64_t bandwidth_bps;
	const char *bandwidth_source; /* "qmp", "config", "none" */
	uint64_t threshold;	      /* bandwidth x limit, MS_STAT_UNSET */
	uint32_t acks_requested, acks;
	uint64_t ack_wait_ns;
	struct ms_tm_switchover switchover;
	struct ms_tm_convergence conv;
	/* the VM's series: query-migrate's (conv.basis "qmp") or the devices' sum ("devices") */
	struct ms_tm_sample *series;
	uint32_t series_nr;
	struct ms_tm_pass *passes; /* query-migrate's series' pass boundaries */
	uint32_t passes_nr;
	struct ms_tm_split split;
};

struct ms_tm_report {
	uint64_t t0_ns;
	struct ms_tm_vm vm;
	struct ms_tm_dev_result *dev; /* indexed by device id, nr entries */
	uint32_t nr;
};

/*
 * A device is expected to have a convergence verdict when it has pending-byte
 * samples, or is a migrating source device (not a QEMU section or a host
 * device, whose pre-copy shows in its samples if it has any, and not a
 * destination, which its source speaks for).  The reports show "-" (table) or
 * null (JSON) where none is expected, "unknown" only where one is.
 */
static inline int ms_tm_verdict_expected(const struct ms_device_info *info,
					 const struct ms_tm_convergence *c)
{
	return c->samples ||
	       (info && info->role != MS_ROLE_DEST && info->kind != MS_DEV_KIND_QEMU_SECTION &&
		info->kind != MS_DEV_KIND_HOST);
}

/* Fill r->vm.split and the destination sections' downtime loads (telemetry_split.c). */
void ms_tm__split(const struct ms_telemetry *t, const struct ms_devices *d,
		  struct ms_tm_report *r);

/* Analyze what the consumer kept.  0 or -ENOMEM. */
int ms_telemetry__analyze(const struct ms_telemetry *t, const struct ms_devices *d,
			  struct ms_tm_report *r);
void ms_tm_report__free(struct ms_tm_report *r);

/* How to judge one series. */
struct ms_tm_judge_opts {
	uint64_t threshold;		 /* bytes that fit the limit at the last sample, or unset */
	const char *threshold_source;	 /* "qemu", "limit", "none" */
	uint64_t limit_ns;		 /* the downtime limit then, 0: none */
	const struct ms_tm_pass *passes; /* the series' boundaries, in time order */
	uint32_t np;
	int sync;	     /* QEMU's RAM: only what a sync leaves is what would move */
	int moves_known;     /* the samples' moved counts are bytes of this series moved */
	int no_precopy;	     /* a stop-copy size with no pre-copy to shrink it */
	int precopy_drained; /* a stop-copy size while pre-copy has nothing left to move */
	const char *what;    /* what the series counts, for the reason; NULL: "pending" */
	/*
	 * QEMU's RAM: the guest's dirty rate as QEMU measured it, over windows
	 * no dirty sync fell into, up to the moment judged, in time order.
	 */
	const struct ms_tm_rate *rates;
	uint32_t nrates;
};

/*
 * Judge a pending-byte series (the samples before switchover) on its passes.
 * Fills every field of c but basis, stopcopy and the REINIT count
 * (docs/telemetry.md, "Verdicts"); predicted_ns only when the threshold and
 * the limit are known (the caller may fill it from a bandwidth otherwise).
 */
void ms_tm_judge(const struct ms_tm_sample *s, uint32_t n, const struct ms_tm_judge_opts *o,
		 struct ms_tm_convergence *c);

/* Set c->reason (one line, cut to MS_TM_REASON_LEN). */
void ms_tm_say(struct ms_tm_convergence *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * The dirty rate between two samples of one series: the source's own figure
 * when it gave one, else bytes that became pending per second (the change of
 * pending bytes plus what was moved meanwhile; moves_known says the series'
 * source publishes what it moves).  0 with *bps set, or -1 when it cannot tell.
 */
int ms_tm_dirty_rate(const struct ms_tm_sample *prev, const struct ms_tm_sample *cur,
		     int moves_known, double *bps);

#endif
