/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Plain data shared by the BPF collectors (bpf/) and the agent
 * (src/sources/collect*.c): map keys and values, counter layout, and the
 * QEMU USDT sample.  The kernel collectors write struct ms_ev_* records
 * (event.h) straight into their ring buffer; only QEMU's samples need a
 * layout of their own, because they carry QEMU's strings.
 *
 * Included from BPF code (after vmlinux.h) and from C code.
 */
#ifndef MIGSCOPE_COLLECT_ABI_H
#define MIGSCOPE_COLLECT_ABI_H

#include <migscope/event.h>

/* DMA directions (enum dma_data_direction; stable since 2.6). */
#define MS_DMA_BIDIRECTIONAL 0
#define MS_DMA_TO_DEVICE 1
#define MS_DMA_FROM_DEVICE 2
#define MS_DMA_NONE 3

/* A direction in which the device may write memory. */
#define MS_DMA_DEVICE_WRITES(dir) ((dir) == MS_DMA_BIDIRECTIONAL || (dir) == MS_DMA_FROM_DEVICE)

/*
 * The device filter: the kernel names (dev_name(), "0000:3b:00.1") of the
 * watched host devices, each with the session's device id and a counter
 * slot, in an open-addressed table the agent fills before it attaches the
 * programs and never changes after.  The programs read it without a helper
 * call or a lock: a name's slot is found from its hash (ms_bpf_dev_home()),
 * at most MS_BPF_DEV_PROBES slots further on, with no empty slot between.
 * Names are compared as MS_BPF_NAME_WORDS words, NUL-padded; a name of
 * MS_BPF_DEV_NAME_LEN characters or more cannot be watched (the agent
 * refuses it, and the programs never match one).
 */
#define MS_BPF_DEV_NAME_LEN 48
#define MS_BPF_NAME_WORDS (MS_BPF_DEV_NAME_LEN / 8)
#define MS_BPF_MAX_DEVS 64
#define MS_BPF_SLOT_NONE MS_BPF_MAX_DEVS /* records that belong to no device */
#define MS_BPF_SLOTS (MS_BPF_MAX_DEVS + 1)
#define MS_BPF_DEV_TABLE 256 /* power of 2, 4 x MS_BPF_MAX_DEVS */
#define MS_BPF_DEV_PROBES 8

struct ms_bpf_dev {
	__u64 name[MS_BPF_NAME_WORDS]; /* all zero: an empty slot */
	__u32 id;		       /* hdr.dev of the records */
	__u32 slot;		       /* index into the counters */
};

/*
 * The VFIO device ioctl a thread is in, and the arc in progress: the value
 * of the vfio collectors' ms_vfio_calls map, keyed by thread id.  Hardware
 * dirty reports (iova_bitmap_set()) made on a thread that has an entry
 * belong to its id.  The agent also puts its own thread there while it
 * reads a HWPT's dirty bitmap for a device (ms_collect__claim_thread()), so
 * the kernel's view of that read is the device's, not MS_DEV_NONE.
 */
struct ms_bpf_call {
	__u32 id; /* the device, or MS_DEV_NONE */
	__u32 slot;
	__u32 from; /* arc in progress, when start_ns != 0 */
	__u32 to;
	__u64 start_ns;
};

/*
 * How the programs read a device's name, the fastest the kernel allows (the
 * agent probes): through bpf_probe_read_kernel(); dev->kobj.name by a plain
 * load through bpf_rdonly_cast() to struct device (6.2+) and the bytes by
 * the helper; or both by plain fault-handled loads, the bytes through
 * bpf_rdonly_cast() to void (6.17+).
 */
#define MS_BPF_NAME_HELPERS 1
#define MS_BPF_NAME_CAST_DEV 2
#define MS_BPF_NAME_DIRECT 3

/* A name's home slot: the agent picks the seed that places every watched name. */
static inline __u32 ms_bpf_dev_home(const __u64 *name, __u64 seed)
{
	__u64 h = seed;

	for (int i = 0; i < MS_BPF_NAME_WORDS; i++)
		h = (h ^ name[i]) * 0x9e3779b97f4a7c15ull;
	return (__u32)(h >> 40) & (MS_BPF_DEV_TABLE - 1);
}

/*
 * Per-CPU, per-slot counters of what the kernel side could not deliver.  The
 * agent sums them over CPUs and publishes every increase as MS_EV_LOSS.
 */
struct ms_bpf_counters {
	__u64 ringbuf_drops; /* bpf_ringbuf_reserve() failed: the record is gone */
	__u64 sg_truncated;  /* scatterlist longer than MS_BPF_SG_MAX: tail not seen */
	__u64 read_errors;   /* a scatterlist entry could not be read */
	__u64 live_full;     /* no free slot for a buffer in the live-mapping table */
};

/*
 * The pending runs (bpf/runs.bpf.h, docs/collectors.md): per CPU, one for
 * each watched device's writes (by counter slot) and one for the IOMMU's
 * maps and unmaps (one run, so a map and an unmap on a CPU stay in order).
 * An event that extends its run grows it instead of making a record; the
 * run becomes one record when it breaks, when the agent flushes (before
 * every read of the ring, so before every harvest), or when the ring is
 * nearly full.
 */
#define MS_BPF_RUN_IOMMU MS_BPF_SLOTS
#define MS_BPF_RUNS (MS_BPF_SLOTS + 1)

/* Default time from a run's first event within which later events may join it. */
#define MS_BPF_RUN_WINDOW_NS 1000000ull

struct ms_bpf_run {
	__u32 busy;  /* a program on this CPU is changing the run: leave it alone */
	__u16 type;  /* MS_EV_* of the pending record; 0: none pending */
	__u16 reserved;
	__u32 dev;   /* hdr.dev of the record */
	__u32 slot;  /* counter slot a failed reserve is counted in */
	__u32 count; /* events in the run */
	__u32 reserved2;
	__u64 first_ns, last_ns;
	__u64 iova, len;
	__u64 aux; /* map: paddr of iova; unmap: bytes unmapped; write: source | dir << 32 */
};

/* Most QEMU processes the iommu map/unmap programs can be restricted to. */
#define MS_BPF_MAX_TGIDS 64

/* Most scatterlist entries one dma_*_sg event is walked for. */
#define MS_BPF_SG_MAX 4096

/*
 * The live-mapping table: DMA buffers mapped for a watched device in a
 * direction it may write, until they are unmapped.  An array of slots in
 * buckets of MS_BPF_LIVE_BUCKET; a buffer may sit in either of two buckets
 * picked by ms_bpf_live_buckets() (the mapping takes the first if it is at
 * most half full, else the emptier), so the table stays usable well past
 * half full (capacity: bench and tests/unit/test_collect_dma.c; a buffer
 * that finds both full is counted as live_full).  Programs claim, fill and free
 * slots with atomic operations on seq, no lock: generation << 2 | state.
 * The agent maps the array and reads LIVE slots as a seqlock reader does
 * (seq, fields, seq again).
 */
#define MS_BPF_LIVE_BUCKET_BITS 14
#define MS_BPF_LIVE_BUCKET 8
#define MS_BPF_LIVE_BUCKETS (1u << MS_BPF_LIVE_BUCKET_BITS)
#define MS_BPF_LIVE_SLOTS (MS_BPF_LIVE_BUCKETS * MS_BPF_LIVE_BUCKET)

#define MS_LIVE_FREE 0
#define MS_LIVE_BUSY 1 /* claimed by a mapping, fields being written */
#define MS_LIVE_LIVE 2
#define MS_LIVE_STATE(seq) ((seq) & 3)

/* One buffer: a slot is 32 bytes, so everything about it is in one cache line. */
struct ms_bpf_live {
	__u64 seq; /* generation << 2 | MS_LIVE_* */
	__u64 addr;
	__u64 len;
	__u32 dev;
	__u32 dir;
};

/* The map's value: one bucket, so a program looks up a bucket, not a slot. */
struct ms_bpf_live_bucket {
	struct ms_bpf_live slot[MS_BPF_LIVE_BUCKET];
};

/* The two buckets a buffer of device dev at addr may occupy. */
static inline void ms_bpf_live_buckets(__u32 dev, __u64 addr, __u32 b[2])
{
	__u64 x = addr ^ ((__u64)dev << 52);

	b[0] = (__u32)((x * 0x9e3779b97f4a7c15ull) >> (64 - MS_BPF_LIVE_BUCKET_BITS));
	b[1] = (__u32)(((x ^ (x >> 17)) * 0xc2b2ae3d27d4eb4full) >> (64 - MS_BPF_LIVE_BUCKET_BITS));
	if (b[1] == b[0])
		b[1] ^= 1;
}

/* --- QEMU USDT ---------------------------------------------------------- */

/*
 * The QEMU probes, named after QEMU's trace events (provider "qemu").  Their
 * argument lists changed across QEMU versions; the BPF side records how many
 * arguments the probe site has and which were strings, and the agent matches
 * them against the trace log's table of layouts (qemu_trace.c).
 * qemu_savevm_query_pending (11.1+) is not here: its argument order is not
 * known yet, and the log reads it by its labels.
 */
#define MS_QEMU_PROBES(X)                                                                          \
	X(VFIO_MIGRATION_SET_STATE, vfio_migration_set_state)                                      \
	X(VFIO_MIGRATION_SET_DEVICE_STATE, vfio_migration_set_device_state)                        \
	X(VFIO_STATE_PENDING_EXACT, vfio_state_pending_exact)                                      \
	X(VFIO_STATE_PENDING_ESTIMATE, vfio_state_pending_estimate)                                \
	X(VFIO_QUERY_PRECOPY_SIZE, vfio_query_precopy_size)                                        \
	X(VFIO_QUERY_STOP_COPY_SIZE, vfio_query_stop_copy_size)                                    \
	X(VFIO_SAVE_ITERATE, vfio_save_iterate)                                                    \
	X(SAVEVM_SECTION_START, savevm_section_start)                                              \
	X(SAVEVM_SECTION_END, savevm_section_end)                                                  \
	X(VMSTATE_DOWNTIME_SAVE, vmstate_downtime_save)                                            \
	X(VMSTATE_DOWNTIME_LOAD, vmstate_downtime_load)                                            \
	X(VMSTATE_DOWNTIME_CHECKPOINT, vmstate_downtime_checkpoint)                                \
	X(MIGRATE_PENDING, migrate_pending)                                                        \
	X(MIGRATE_PENDING_EXACT, migrate_pending_exact)                                            \
	X(MIGRATE_PENDING_ESTIMATE, migrate_pending_estimate)

#define MS_QEMU_PROBE_ENUM(id, name) MS_QP_##id,
enum ms_qemu_probe { MS_QEMU_PROBES(MS_QEMU_PROBE_ENUM) MS_QP__MAX };
#undef MS_QEMU_PROBE_ENUM

#define MS_USDT_MAX_ARGS 6
#define MS_USDT_MAX_STRS 3
#define MS_USDT_STR_LEN 64

/*
 * One probe hit.  args[i] holds argument i as a signed 64-bit value; when bit
 * i of str_mask is set, argument i was a string, copied (NUL-terminated,
 * truncated to MS_USDT_STR_LEN - 1) into the next free str[] slot in order.
 */
struct ms_usdt_sample {
	__u64 ts_ns; /* CLOCK_MONOTONIC */
	__u32 probe; /* enum ms_qemu_probe */
	__u32 tid;
	__u16 nargs; /* arguments the probe site has (may exceed MS_USDT_MAX_ARGS) */
	__u16 str_mask;
	__u32 reserved;
	__s64 args[MS_USDT_MAX_ARGS];
	char str[MS_USDT_MAX_STRS][MS_USDT_STR_LEN];
};

#endif /* MIGSCOPE_COLLECT_ABI_H */
