/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The one event stream: the record layout shared by the BPF programs, every
 * userspace source and consumer, and the capture file.
 *
 * Every record is a 16-byte header followed by a typed payload.  Records are
 * plain data: fixed-width little-endian integers, no pointers, so a BPF
 * program can reserve one in a ring buffer, the agent can publish it on the
 * bus unchanged and the capture writer can copy it to disk byte for byte.
 *
 * Compatibility rules (docs/capture-format.md):
 *   - type numbers and existing payload fields never change meaning;
 *   - new fields are only appended to a payload; a reader that gets a shorter
 *     payload (older writer) sees the missing tail as zero, a longer one
 *     (newer writer) ignores the extra tail;
 *   - a reader skips record types it does not know.
 *
 * This header is included from BPF code (after vmlinux.h) and from C code.
 */
#ifndef MIGSCOPE_EVENT_H
#define MIGSCOPE_EVENT_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Device id for records that belong to no single device (QEMU, host). */
#define MS_DEV_NONE 0xffffffffu

/* Longest device or section name carried by MS_EV_DEV_ADD, without NUL. */
#define MS_NAME_MAX 255

enum ms_event_type {
	MS_EV_INVALID = 0,
	MS_EV_SESSION = 1,	  /* session start: clock pair for alignment */
	MS_EV_CONFIG = 2,	  /* limits the run was judged against */
	MS_EV_DEV_ADD = 3,	  /* a device (or QEMU section) gets an id and a name */
	MS_EV_DEV_STATE = 4,	  /* a device finished one migration state arc */
	MS_EV_PRECOPY = 5,	  /* pre-copy info: initial and dirty bytes */
	MS_EV_STOPCOPY_SIZE = 6,  /* estimated stop-copy data size */
	MS_EV_DATA = 7,		  /* device migration data moved */
	MS_EV_TRACK_START = 8,	  /* dirty tracking started over ranges */
	MS_EV_TRACK_STOP = 9,	  /* dirty tracking stopped */
	MS_EV_IOMMU_MAP = 10,	  /* iommu:map */
	MS_EV_IOMMU_UNMAP = 11,	  /* iommu:unmap */
	MS_EV_DMA_WRITE = 12,	  /* a device wrote (or may have written) guest memory */
	MS_EV_LOSS = 13,	  /* records were lost: widen the dirty set */
	MS_EV_HARVEST = 14,	  /* the dirty set was read and cleared */
	MS_EV_MIG_STATUS = 15,	  /* QEMU migration status change (QMP MIGRATION) */
	MS_EV_MIG_STATS = 16,	  /* QMP query-migrate sample */
	MS_EV_RUNSTATE = 17,	  /* VM stopped or resumed (QMP STOP/RESUME) */
	MS_EV_QEMU_PENDING = 18,  /* QEMU's pending-size query */
	MS_EV_QEMU_SECTION = 19,  /* savevm/loadvm section start or end */
	MS_EV_QEMU_DOWNTIME = 20, /* vmstate_downtime_* checkpoints (QEMU >= 8.2) */
	MS_EV_SWITCHOVER = 21,	  /* switchover requested / acked / decided */
	MS_EV_DEV_ATTACH = 22,	  /* a device joined an IOMMU group or domain */
	MS_EV_SOURCE_STATS = 23,  /* a source's accepted/skipped counters */
	MS_EV_SESSION_END = 24,	  /* the session ended */
	MS_EV_PASS = 25,	  /* a pre-copy pass boundary: what a dirty sync left */
	MS_EV_QEMU_MARK = 26,	  /* a QEMU trace point that bounds the VM's downtime */
	MS_EV_DIRTY_RATE = 27,	  /* QEMU measured the guest's dirty rate (calc-dirty-rate) */
	MS_EV_KERNEL_ARC = 28,	  /* an arc the kernel's VFIO core walked (profile's witness) */
	MS_EV_ARC_WATCH = 29,	  /* whether the kernel's arcs of a device are watched */
	MS_EV_DIRTY_RATE_STATE = 30, /* whether the dirty rate is sampled, and if not why */
	MS_EV__MAX,		  /* first unknown type; must stay <= 64 (bus masks) */
};

/* The common header. len is the payload size in bytes, not counting the header. */
struct ms_event_hdr {
	__u16 type;
	__u16 len;
	__u32 dev;
	__u64 ts_ns; /* CLOCK_MONOTONIC nanoseconds */
};

/* Payloads are declared with the header in front so BPF can reserve one. */

/* MS_EV_SESSION: the clocks read back to back at session start. */
struct ms_ev_session {
	struct ms_event_hdr hdr;
	__u64 mono_ns;
	__u64 realtime_ns;
	__u32 source; /* enum ms_session_source */
	__u32 flags;
};

enum ms_session_source {
	MS_SESSION_SYNTH = 0,
	MS_SESSION_PROFILE = 1,
	MS_SESSION_WATCH = 2,
	MS_SESSION_IMPORT = 3, /* QEMU trace logs and a QMP transcript, after the fact */
};

/*
 * MS_EV_CONFIG: what the run is judged against (0 = not set), in force from
 * hdr.ts_ns until the next MS_EV_CONFIG.  The first one is what held when the
 * session began; a later one is a change the source saw (a watch re-reads
 * QEMU's migration parameters), which QEMU applied somewhere after
 * changed_after_ns (the read before, which still showed the old values).
 */
struct ms_ev_config {
	struct ms_event_hdr hdr;
	__u64 downtime_limit_ns;
	__u64 bandwidth_bps;	/* bytes per second */
	__u64 page_size;	/* tracker page size; 0 in a change: unchanged */
	__u64 changed_after_ns; /* appended: 0 for the session's first */
};

enum ms_dev_kind {
	MS_DEV_KIND_REF = 0,	     /* built-in reference device */
	MS_DEV_KIND_VFIO = 1,	     /* a real VFIO device */
	MS_DEV_KIND_VIRTIO = 2,	     /* a virtio member device (admin commands) */
	MS_DEV_KIND_QEMU_VFIO = 3,   /* a vfio device seen through QEMU's events */
	MS_DEV_KIND_QEMU_SECTION = 4, /* a QEMU savevm section (ram, a device's vmstate) */
	MS_DEV_KIND_HOST = 5,	     /* a host device seen by the BPF collectors */
	/*
	 * A QEMU process on one side of the migration.  The source's VM-level
	 * records (mig_status, runstate, ...) carry MS_DEV_NONE; the
	 * destination's (watch --dst-qmp, its trace log) carry the id of this
	 * device with role MS_ROLE_DEST, so the two never mix.
	 */
	MS_DEV_KIND_QEMU_VM = 6,
};

enum ms_dev_role {
	MS_ROLE_SOURCE = 0,
	MS_ROLE_DEST = 1,
	MS_ROLE_BOTH = 2,
};

/* MS_EV_DEV_ADD: hdr.dev is the new id; name follows, name_len bytes, no NUL. */
struct ms_ev_dev_add {
	struct ms_event_hdr hdr;
	__u16 kind;	 /* enum ms_dev_kind */
	__u16 role;	 /* enum ms_dev_role */
	__u32 caps;	 /* VFIO_MIGRATION_* capability flags, or 0 */
	__u32 peer;	 /* id of the matching device on the other side, or MS_DEV_NONE */
	__u16 name_len;
	__u16 reserved;
	char name[];
};

enum ms_state_domain {
	MS_DOMAIN_VFIO = 0,   /* states are enum vfio_device_mig_state */
	MS_DOMAIN_VIRTIO = 1, /* states are virtio modes: 0 Active, 1 Stop, 2 Freeze */
};

/*
 * MS_EV_DEV_STATE: one arc from -> to finished at hdr.ts_ns after dur_ns.
 * err is 0 or a negative errno; a failed arc leaves the device in 'to' as the
 * device reported it afterwards (ERROR for VFIO).
 */
struct ms_ev_dev_state {
	struct ms_event_hdr hdr;
	__u16 domain; /* enum ms_state_domain */
	__u8 from;
	__u8 to;
	__s32 err;
	__u64 dur_ns;
};

#define MS_PRECOPY_REINIT (1u << 0) /* VFIO_PRECOPY_INFO_REINIT */

/* MS_EV_PRECOPY: VFIO_MIG_GET_PRECOPY_INFO (or QEMU's view of it). */
struct ms_ev_precopy {
	struct ms_event_hdr hdr;
	__u64 initial_bytes;
	__u64 dirty_bytes;
	__u32 flags; /* MS_PRECOPY_* */
	__u32 reserved;
};

/* MS_EV_STOPCOPY_SIZE: VFIO_DEVICE_FEATURE_MIG_DATA_SIZE. */
struct ms_ev_stopcopy_size {
	struct ms_event_hdr hdr;
	__u64 bytes;
};

enum ms_data_phase {
	MS_PHASE_PRECOPY = 0,
	MS_PHASE_STOPCOPY = 1,
	MS_PHASE_RESUME = 2,
};

/* MS_EV_DATA: bytes read from (save) or written to (load) the data fd. */
struct ms_ev_data {
	struct ms_event_hdr hdr;
	__u64 bytes;
	__u32 phase; /* enum ms_data_phase */
	__u32 reserved;
};

struct ms_range {
	__u64 iova;
	__u64 len;
};

/* MS_EV_TRACK_START: nr_ranges struct ms_range follow. */
struct ms_ev_track_start {
	struct ms_event_hdr hdr;
	__u64 page_size;
	__u32 nr_ranges;
	__u32 reserved;
	struct ms_range ranges[];
};

/*
 * A run: the kernel collectors coalesce the events of one CPU that extend
 * each other (docs/collectors.md) into one record of count events, the
 * first at hdr.ts_ns - span_ns and the last at hdr.ts_ns.  Appended to the
 * payloads that carry it: older captures read count 0 (one event) and span 0.
 */
struct ms_run {
	__u32 count;   /* events the record stands for; 0 and 1: one */
	__u32 span_ns; /* from the first event to the last (hdr.ts_ns) */
};

/* The events a record with a run stands for. */
#define MS_RUN_EVENTS(r) ((r).count ? (__u64)(r).count : 1ull)

/*
 * MS_EV_IOMMU_MAP: the tracepoint carries no device; hdr.dev is MS_DEV_NONE.
 * A run covers maps contiguous in both IOVA and physical address.
 */
struct ms_ev_iommu_map {
	struct ms_event_hdr hdr;
	__u64 iova;
	__u64 paddr;
	__u64 size;
	struct ms_run run; /* appended */
};

/* MS_EV_IOMMU_UNMAP: a run covers adjacent unmaps that each unmapped what they asked. */
struct ms_ev_iommu_unmap {
	struct ms_event_hdr hdr;
	__u64 iova;
	__u64 size;
	__u64 unmapped;
	struct ms_run run; /* appended */
};

/* Where a DMA write record came from; the tracker keeps one set per source. */
enum ms_write_source {
	MS_SRC_IOMMU_FAULT = 0, /* iommu:io_page_fault */
	MS_SRC_DMA_UNMAP = 1,	/* DMA API unmap of a FROM_DEVICE/BIDIRECTIONAL buffer */
	MS_SRC_DMA_SYNC = 2,	/* DMA API sync-for-cpu */
	MS_SRC_HW_DIRTY = 3,	/* IOMMU or device dirty tracker report */
	MS_SRC_VIRTIO_WR = 4,	/* virtio admin write records */
	MS_SRC_IOMMUFD = 5,	/* IOMMU dirty bits migscope read (IOMMU_HWPT_GET_DIRTY_BITMAP) */
	MS_SRC__MAX,
};

/*
 * MS_EV_DMA_WRITE: [iova, iova + len) was written by the device hdr.dev.  A
 * run is the union of overlapping or adjacent writes of one source and
 * direction: exactly the bytes its events wrote.
 */
struct ms_ev_dma_write {
	struct ms_event_hdr hdr;
	__u64 iova;
	__u64 len;
	__u32 source; /* enum ms_write_source */
	__u32 dir;    /* DMA direction where the source knows it, else 0 */
	struct ms_run run; /* appended */
};

enum ms_loss_reason {
	MS_LOSS_RINGBUF_DROP = 0, /* BPF ring buffer was full */
	MS_LOSS_ADMIN_READ = 1,	  /* a virtio write-record read failed */
	MS_LOSS_RESTART = 2,	  /* the agent restarted while tracking */
	MS_LOSS_REPORT_ERROR = 3, /* a dirty report (DMA_LOGGING_REPORT) failed */
	MS_LOSS_SOURCE_ERROR = 4, /* any other source error */
	MS_LOSS__MAX,
};

/*
 * MS_EV_LOSS: count records were lost.  len == 0 means the extent is unknown
 * and the whole tracked range of hdr.dev (or of every device when hdr.dev is
 * MS_DEV_NONE) must be treated as dirty.
 */
struct ms_ev_loss {
	struct ms_event_hdr hdr;
	__u32 reason; /* enum ms_loss_reason */
	__u32 reserved;
	__u64 count;
	__u64 iova;
	__u64 len;
};

/* MS_EV_HARVEST: the consumer of hdr.dev's dirty set read and cleared it. */
struct ms_ev_harvest {
	struct ms_event_hdr hdr;
	__u64 iova;
	__u64 len; /* 0: everything tracked */
	__u64 page_size;
};

enum ms_mig_status {
	MS_MIG_NONE = 0,
	MS_MIG_SETUP,
	MS_MIG_ACTIVE,
	MS_MIG_DEVICE,
	MS_MIG_POSTCOPY_ACTIVE,
	MS_MIG_PRE_SWITCHOVER,
	MS_MIG_COMPLETED,
	MS_MIG_FAILED,
	MS_MIG_CANCELLING,
	MS_MIG_CANCELLED,
	MS_MIG_WAIT_UNPLUG,
	MS_MIG_OTHER,
};

/* MS_EV_MIG_STATUS */
struct ms_ev_mig_status {
	struct ms_event_hdr hdr;
	__u32 status; /* enum ms_mig_status */
	__u32 pass;   /* MIGRATION_PASS number, 0 if not a pass event */
};

#define MS_STAT_UNSET ((__u64)-1)

/* MS_EV_MIG_STATS: one query-migrate reply; absent fields are MS_STAT_UNSET. */
struct ms_ev_mig_stats {
	struct ms_event_hdr hdr;
	__u32 status; /* enum ms_mig_status */
	__u32 reserved;
	__u64 total_time_ms;
	__u64 downtime_ms;
	__u64 expected_downtime_ms;
	__u64 setup_time_ms;
	__u64 ram_total;
	__u64 ram_remaining;
	__u64 ram_transferred;
	__u64 dirty_pages_rate;
	__u64 dirty_sync_count;
	__u64 vfio_transferred;
	__u64 mbps_milli; /* ram.mbps * 1000 */
};

/* MS_EV_RUNSTATE */
struct ms_ev_runstate {
	struct ms_event_hdr hdr;
	__u32 running; /* 0: STOP, 1: RESUME */
	__u32 reserved;
};

/* Where a MS_EV_QEMU_PENDING sample came from: the series differ in what they count. */
enum ms_pending_origin {
	MS_PENDING_TRACE = 0, /* trace log: every iterative section (RAM, vfio, block) */
	MS_PENDING_QMP = 1,   /* query-migrate ram.remaining: RAM only */
	MS_PENDING_USDT = 2,  /* the same trace points through USDT probes */
};

/* MS_EV_QEMU_PENDING: migrate_pending* / qemu_savevm_query_pending. */
struct ms_ev_qemu_pending {
	struct ms_event_hdr hdr;
	__u64 precopy;	 /* must be sent before switchover */
	__u64 postcopy;	 /* can be sent after */
	__u64 threshold; /* QEMU's max/threshold size, MS_STAT_UNSET if not given */
	__u32 exact;	 /* 1: counted right after a dirty bitmap sync (the dirty set), 0: estimate */
	__u32 reserved;
	__u32 origin;	 /* enum ms_pending_origin (appended; 0 in older captures) */
	__u32 reserved2;
};

enum ms_section_phase {
	MS_SECTION_SAVE_START = 0,
	MS_SECTION_SAVE_END = 1,
	MS_SECTION_LOAD_START = 2,
	MS_SECTION_LOAD_END = 3,
};

/* MS_EV_QEMU_SECTION: hdr.dev is the section (MS_DEV_KIND_QEMU_SECTION). */
struct ms_ev_qemu_section {
	struct ms_event_hdr hdr;
	__u32 section_id;
	__u32 phase; /* enum ms_section_phase */
	__s32 ret;
	__u32 reserved;
};

enum ms_downtime_kind {
	MS_DOWNTIME_SAVE = 0,	    /* vmstate_downtime_save: one section saved */
	MS_DOWNTIME_LOAD = 1,	    /* vmstate_downtime_load: one section loaded */
	MS_DOWNTIME_CHECKPOINT = 2, /* vmstate_downtime_checkpoint */
};

/* MS_EV_QEMU_DOWNTIME: hdr.dev is the section, or MS_DEV_NONE for checkpoints. */
struct ms_ev_qemu_downtime {
	struct ms_event_hdr hdr;
	__u32 kind;	  /* enum ms_downtime_kind */
	__u32 checkpoint; /* QEMU's checkpoint name as an index into its own list */
	__u64 dur_ns;	  /* save/load: how long the section took */
};

enum ms_switchover_phase {
	MS_SWITCHOVER_ACK_REQUESTED = 0,
	MS_SWITCHOVER_ACKED = 1,
	MS_SWITCHOVER_DECIDED = 2, /* the source decided to stop the VM */
	MS_SWITCHOVER_DONE = 3,	   /* the destination runs the VM */
};

/* MS_EV_SWITCHOVER */
struct ms_ev_switchover {
	struct ms_event_hdr hdr;
	__u32 phase; /* enum ms_switchover_phase */
	__u32 reserved;
};

/* MS_EV_DEV_ATTACH: hdr.dev joined IOMMU group / domain 'group'. */
struct ms_ev_dev_attach {
	struct ms_event_hdr hdr;
	__u32 group;
	__u32 reserved;
};

enum ms_source_kind {
	MS_SOURCE_BPF = 0,
	MS_SOURCE_QEMU_LOG = 1,
	MS_SOURCE_QMP = 2,
	MS_SOURCE_DEVICE = 3,
	MS_SOURCE_USDT = 4,
	MS_SOURCE_IOMMUFD = 5, /* accepted: dirty runs read; errors: failed reads */
};

/* MS_EV_SOURCE_STATS: a source's totals, published when it closes. */
struct ms_ev_source_stats {
	struct ms_event_hdr hdr;
	__u32 source; /* enum ms_source_kind */
	__u32 reserved;
	__u64 accepted;
	__u64 skipped; /* unknown or malformed input, counted and skipped */
	__u64 errors;
};

/*
 * MS_EV_SESSION_END, followed (status != 0) by why, as the one-line error the
 * command printed: text, not NUL-terminated, at most MS_SESSION_WHY_LEN bytes.
 */
struct ms_ev_session_end {
	struct ms_event_hdr hdr;
	__s32 status; /* 0 ok, else negative errno of what ended it */
	__u32 reserved;
};
#define MS_SESSION_WHY_LEN 255

/* What found a pass boundary. */
enum ms_pass_origin {
	MS_PASS_QEMU_SYNC = 0, /* QEMU's dirty bitmap sync (trace log or USDT) */
	MS_PASS_QMP = 1,       /* QMP: MIGRATION_PASS, or query-migrate's dirty-sync-count */
	MS_PASS_DEVICE = 2,    /* a device's pre-copy dirty bytes rose again, or REINIT */
};

#define MS_PASS_REINIT (1u << 0) /* the boundary is a REINIT: new initial bytes */

/*
 * MS_EV_PASS: hdr.dev (a device, a QEMU section such as ram, or MS_DEV_NONE
 * for the VM's RAM seen through QMP) ended one pre-copy pass and begins the
 * next: a dirty sync (or a query that found new dirty data) refilled what
 * must move.  The first boundary of a device starts its first pass.  A pass's
 * figures describe the pass that just ended; unknowns are MS_STAT_UNSET and
 * the telemetry takes them from the other records.
 */
struct ms_ev_pass {
	struct ms_event_hdr hdr;
	__u32 pass;   /* boundaries of hdr.dev so far, from 1 (QMP: QEMU's pass number) */
	__u32 origin; /* enum ms_pass_origin */
	__u32 flags;  /* MS_PASS_* */
	__u32 reserved;
	__u64 left;   /* bytes pending right after the boundary: the next pass's work */
	__u64 dirty;  /* bytes that became dirty during the pass that ended */
	__u64 dur_ns; /* the pass that ended, since the previous boundary (0: the first) */
};

/* What a MS_EV_QEMU_MARK marks: QEMU trace points around the source's downtime clock. */
enum ms_qemu_mark {
	/*
	 * migration_thread_low_pending: pending fell under the threshold and the
	 * migration thread goes to stop the VM.  QEMU < 8.2 takes its downtime
	 * start after this, once it holds the BQL: the earliest the start can be.
	 */
	MS_MARK_LOW_PENDING = 0,
	/*
	 * runstate_set to finish-migrate: right after QEMU < 8.2 took its
	 * downtime start, before it paused the vCPUs (which under TCG and load
	 * takes milliseconds): the latest the start can be.
	 */
	MS_MARK_FINISH_MIGRATE = 1,
	/* migration_completion_vm_stop: the vCPUs have stopped (arg: QEMU's ret) */
	MS_MARK_VM_STOPPED = 2,
	/*
	 * runstate_set to postmigrate: right after QEMU < 8.2 took its downtime
	 * end (migration_calculate_complete): the latest the end can be.
	 */
	MS_MARK_POSTMIGRATE = 3,
	MS_MARK__MAX,
};

/* MS_EV_QEMU_MARK: hdr.dev is MS_DEV_NONE. */
struct ms_ev_qemu_mark {
	struct ms_event_hdr hdr;
	__u32 mark; /* enum ms_qemu_mark */
	__s32 arg;
};

/* How QEMU measured a MS_EV_DIRTY_RATE (QMP calc-dirty-rate's mode). */
enum ms_dirty_rate_mode {
	MS_DIRTY_RATE_PAGE_SAMPLING = 0, /* hashes of sampled pages: an estimate */
	MS_DIRTY_RATE_DIRTY_BITMAP = 1,	 /* KVM's dirty log: every page written */
	MS_DIRTY_RATE_DIRTY_RING = 2,	 /* KVM's dirty ring: every page written */
};

/*
 * MS_EV_DIRTY_RATE: the guest's dirty rate over one window, as QEMU measured
 * it on request (QMP calc-dirty-rate, then query-dirty-rate).  hdr.dev is
 * MS_DEV_NONE, hdr.ts_ns the window's end.  QEMU reports whole MiB/s (and
 * before 8.2 truncates the window's MiB first), so the true rate lies in
 * [rate_bps, rate_hi_bps).  A window that a migration dirty sync fell into
 * counts each page once per sync, not once: readers leave such windows out.
 */
struct ms_ev_dirty_rate {
	struct ms_event_hdr hdr;
	__u64 window_ns;   /* calc-time */
	__u64 rate_bps;	   /* what QEMU said, in bytes a second: the lower bound */
	__u64 rate_hi_bps; /* the upper bound QEMU's rounding leaves */
	__u32 mode;	   /* enum ms_dirty_rate_mode */
	__u32 reserved;
};

/* Whether a watch samples QEMU's dirty rate (MS_EV_DIRTY_RATE), and if not why. */
enum ms_dirty_rate_state {
	MS_DRS_SAMPLING = 0,	/* under KVM: one window in flight while the migration runs */
	MS_DRS_TCG = 1,		/* not under KVM: no dirty log, sampling too noisy */
	MS_DRS_OPTED_OUT = 2,	/* watch --no-dirty-rate or --no-set (why names which) */
	MS_DRS_UNSUPPORTED = 3, /* QEMU has no calc-dirty-rate (before 5.2) */
	MS_DRS_REFUSED = 4,	/* QEMU refused calc-dirty-rate: its reason follows; no more */
	MS_DRS_UNKNOWN = 5,	/* whether QEMU runs under KVM is not known: why follows */
};

/*
 * MS_EV_DIRTY_RATE_STATE, followed by a reason (QEMU's own words for
 * REFUSED, or why dirty-ring replaced dirty-bitmap): text, not
 * NUL-terminated, at most MS_DRS_WHY_LEN bytes.  The source's QMP client
 * publishes one when the session begins and another when it changes (a
 * refusal, a switch of mode).
 */
struct ms_ev_dirty_rate_state {
	struct ms_event_hdr hdr;
	__u32 state; /* enum ms_dirty_rate_state */
	__u32 mode;  /* enum ms_dirty_rate_mode sampled (SAMPLING), else 0 */
};
#define MS_DRS_WHY_LEN 255

/*
 * MS_EV_KERNEL_ARC: the payload of MS_EV_DEV_STATE, seen by the
 * vfio_mig_get_next_state fexit program for a device migscope itself drives
 * (profile): the kernel's account of the arcs, checked against the device's
 * own MS_EV_DEV_STATE records, not a second timeline of the device.
 */

enum ms_arc_watch_state {
	MS_ARC_WATCHED = 0,	/* the fexit program is attached and filters on the device */
	MS_ARC_UNWATCHED = 1,	/* BPF or the program is unavailable (see the collector notes) */
	MS_ARC_NO_NAME = 2,	/* the device's kernel name (PCI address, mdev UUID) is unknown */
	MS_ARC_REFERENCE = 3,	/* a reference device: the kernel never sees its arcs */
};

/* MS_EV_ARC_WATCH: published once per VFIO device before its first arc. */
struct ms_ev_arc_watch {
	struct ms_event_hdr hdr;
	__u32 state; /* enum ms_arc_watch_state */
	__u32 reserved;
};

/* Size of the fixed part of each payload, for readers. */
#define MS_PAYLOAD_LEN(s) ((__u16)(sizeof(struct s) - sizeof(struct ms_event_hdr)))

/*
 * The payload a record needs to say what it says, without the fields
 * appended since (a shorter one is malformed; the tail reads as zero).
 */
#define MS_PAYLOAD_BASE_LEN(s, last)                                                               \
	((__u16)(__builtin_offsetof(struct s, last) + sizeof(((struct s *)0)->last) -             \
		 sizeof(struct ms_event_hdr)))

#endif /* MIGSCOPE_EVENT_H */
