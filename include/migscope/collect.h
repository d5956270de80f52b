/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The BPF collectors, agent side.
 *
 * Two collector sets, each a source of records on a session's bus:
 *
 *   ms_collect  the kernel collectors: iommu (map, unmap, io_page_fault,
 *               device attach), dma (map/unmap/sync of the DMA API) and the
 *               optional vfio/iommufd hooks (fentry/fexit).  Records are
 *               struct ms_ev_* written by the BPF programs straight into one
 *               ring buffer and published unchanged.
 *   ms_usdt     QEMU's USDT probes (provider "qemu", dtrace trace backend),
 *               attached to one QEMU process by PID.  Samples carry QEMU's
 *               strings (device and section names); the agent turns them into
 *               records and gives every name a device id.
 *
 * Life cycle of both: open (configure, probe what the kernel allows, set
 * autoload, load, attach) -> add_to_loop (the ring buffer's epoll fd and a
 * poll timer) -> close (detach, drain what is left, publish the losses and the
 * source's totals).  A collector the kernel cannot run is skipped with one
 * line naming it and the reason, printed once per process; ms_collect__status()
 * lists every collector with its state for `migscope features`.
 *
 * Rule one holds here too: every record the kernel could not deliver (ring
 * buffer full, scatterlist too long to walk, too many live DMA mappings) is
 * published as MS_EV_LOSS for the device it belonged to.
 */
#ifndef MIGSCOPE_COLLECT_H
#define MIGSCOPE_COLLECT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <migscope/loop.h>
#include <migscope/stream.h>

/* libbpf's own messages on stderr (process-wide, like libbpf's printer). */
void ms_bpf__set_verbose(int on);

/* Where "skipped" lines go: stderr by default, NULL for none (features). */
void ms_bpf__set_notes(FILE *f);

enum ms_collector_state {
	MS_COLLECTOR_SKIPPED = 0, /* not loaded: the kernel cannot run it (reason says why) */
	MS_COLLECTOR_LOADED = 1,  /* loaded and verified, not attached (reason says why) */
	MS_COLLECTOR_ATTACHED = 2,
};

/* One BPF program and what became of it. */
struct ms_collector_status {
	const char *group; /* "iommu", "dma", "vfio", "qemu-usdt" */
	char name[48];	   /* program name, e.g. "dma_unmap_phys" */
	char hook[96];	   /* "raw_tp/dma_unmap_phys", "usdt/qemu:savevm_section_start" */
	int state;	   /* enum ms_collector_state */
	char reason[256];  /* why skipped or not attached; empty when attached */
	int quiet;	   /* skipped for a hook this kernel has instead: no note on stderr */
};

const char *ms_collector_state_name(int state);

/* --- kernel collectors -------------------------------------------------- */

/* Collector groups, for ms_collect_opts.groups. */
#define MS_COLLECT_IOMMU (1u << 0)
#define MS_COLLECT_DMA	 (1u << 1)
#define MS_COLLECT_VFIO	 (1u << 2)
#define MS_COLLECT_ALL	 (MS_COLLECT_IOMMU | MS_COLLECT_DMA | MS_COLLECT_VFIO)

struct ms_collect_opts {
	unsigned int groups;	 /* MS_COLLECT_*; 0 = all */
	uint32_t ringbuf_bytes;	 /* ring buffer size, power of 2 >= page size; 0 = 4 MiB */
	uint32_t wakeup_bytes;	 /* wake the agent once per this much produced (rounded down to */
				 /* a power of 2); 0 = 1/4 of the ring */
	uint64_t poll_ns;	 /* poll the ring this often regardless of wake-ups; 0 = 20 ms */
	const pid_t *iommu_pids; /* record iommu map/unmap only from these processes (QEMU); */
	size_t nr_iommu_pids;	 /* none: from every process */
	int no_attach;		 /* load and verify only (tests drive programs by test_run) */
	int name_reads;		 /* how the programs read device names: 0, the fastest */
				 /* this kernel allows; MS_BPF_NAME_* (collect_abi.h) to */
				 /* force a slower one, as older kernels must (tests) */
	/*
	 * The devices to watch, by kernel name, with the ids their records carry:
	 * NULL for the MS_DEV_KIND_HOST devices in the stream's registry.
	 * profile names the VFIO devices it drives here.
	 */
	const struct ms_collect_watch *watch;
	size_t nr_watch;
	/*
	 * A witness for a driver of its own (profile): only the vfio programs that
	 * see migration arcs (vfio_device_fops_unl_ioctl, vfio_mig_get_next_state)
	 * load, and their arcs are MS_EV_KERNEL_ARC, not the device's MS_EV_DEV_STATE.
	 */
	int arc_witness;
	/*
	 * Coalesce each CPU's events that extend each other into runs begun at
	 * most this long before (below 2^32 ns); 0: MS_BPF_RUN_WINDOW_NS;
	 * MS_COLLECT_NO_RUNS: every event is a record of its own.
	 */
	uint64_t run_window_ns;
};

#define MS_COLLECT_NO_RUNS UINT64_MAX

struct ms_collect_watch {
	const char *name; /* kernel device name: "0000:3b:00.1", an mdev UUID */
	uint32_t id;	  /* session device id its records carry */
};

struct ms_collect;

/*
 * Open the kernel collectors, publishing into stream s.  The in-kernel device
 * filter is filled from opts->watch, or else the devices registered in s with kind
 * MS_DEV_KIND_HOST (their names are kernel device names, "0000:3b:00.1");
 * records carry their ids.
 * Returns NULL with err filled only when nothing at all could be set up
 * (no BPF); collectors the kernel lacks are skipped, not errors.
 */
struct ms_collect *ms_collect__open(struct ms_stream *s, const struct ms_collect_opts *opts,
				    char *err, size_t errlen);

/* Poll the ring buffer from l (epoll fd + poll timer).  0 or -errno. */
int ms_collect__add_to_loop(struct ms_collect *c, struct ms_loop *l);

/*
 * Flush every CPU's pending runs into the ring buffer (ms_collect__flush),
 * consume what it holds and publish drop losses.  Every event a program
 * finished before the call is on the bus when it returns: call it before a
 * harvest.  Records published, or -errno.
 */
int ms_collect__poll(struct ms_collect *c);

/*
 * Make every CPU's pending run a record in the ring (the ms_flush program,
 * run on each CPU).  A run a CPU's interrupted program still holds after
 * many tries is published as a loss for every device.  0 or -errno.
 */
int ms_collect__flush(struct ms_collect *c);

/*
 * Publish every DMA buffer that is still mapped for a watched device with
 * FROM_DEVICE or BIDIRECTIONAL direction as written (the device may have
 * written it and nobody will unmap it before we stop looking).  Called by
 * close; call it also before a final harvest.  Records published.
 */
int ms_collect__publish_live_mappings(struct ms_collect *c);

/*
 * Every collector (program) with its state, in a fixed order.  The array
 * belongs to c.
 */
size_t ms_collect__status(const struct ms_collect *c, const struct ms_collector_status **st);

/*
 * Hardware dirty reports the kernel makes on the calling thread belong to
 * device dev (MS_DEV_NONE: end the claim).  The iommufd source's reads run
 * on the agent's thread, where no VFIO device ioctl says whose they are;
 * claimed, the iova_bitmap_set() records of a read carry the device's id
 * and the tracker checks them against what the read returned.  A VFIO
 * device ioctl on the same thread ends the claim: claim around each read.
 * 0, -ENOENT without the vfio collectors, or -errno.
 */
int ms_collect__claim_thread(struct ms_collect *c, uint32_t dev);

/* The fd of a loaded program, for bpf_prog_test_run (tests, benchmarks); -ENOENT if none. */
int ms_collect__prog_fd(const struct ms_collect *c, const char *name);

/* Detach, drain, publish losses and live mappings and MS_EV_SOURCE_STATS; free. */
void ms_collect__close(struct ms_collect *c);

/* --- QEMU USDT ---------------------------------------------------------- */

/*
 * How many of the QEMU probes migscope knows (provider "qemu") the ELF file
 * at path carries in its .note.stapsdt section: > 0 when QEMU was built with
 * the dtrace trace backend, 0 when not, -errno with err filled when the file
 * cannot be read or is not ELF.
 */
int ms_usdt__binary_probes(const char *path, char *err, size_t errlen);

struct ms_usdt_opts {
	const char *binary;		 /* the QEMU executable; NULL = /proc/PID/exe */
	uint32_t ringbuf_bytes;		 /* 0 = 256 KiB */
	uint64_t poll_ns;		 /* 0 = 20 ms */
	const char *const *vfio_devices; /* only these vfio devices (NULL-terminated), NULL: all */
};

struct ms_usdt;

/*
 * Attach the QEMU probe programs to process pid.  Probes the binary lacks
 * (older or newer QEMU) are skipped, one line each; NULL with err filled when
 * none attached or the process or BPF is not there.  pid 0 loads and verifies
 * the programs without attaching (`migscope features`).  The probe hits go
 * through the QEMU trace log's table (ms_qemu_trace__probe), so USDT and the
 * log make the same records; their totals are MS_EV_SOURCE_STATS of
 * MS_SOURCE_USDT, published at close.
 */
struct ms_usdt *ms_usdt__open(struct ms_stream *s, pid_t pid, const struct ms_usdt_opts *opts,
			      char *err, size_t errlen);
int ms_usdt__add_to_loop(struct ms_usdt *u, struct ms_loop *l);
int ms_usdt__poll(struct ms_usdt *u);
size_t ms_usdt__status(const struct ms_usdt *u, const struct ms_collector_status **st);
/*
 * End the source on the stream: read what the probes left in the ring and
 * publish the totals.  The probes stay attached, unread, until close, whose
 * detach waits for the kernel once per probe site (~0.1 s each on the
 * project's VMs, one after the other): the watch finishes, reports, then
 * closes.  Close finishes (after detaching) if this was not called.
 */
void ms_usdt__finish(struct ms_usdt *u);
void ms_usdt__close(struct ms_usdt *u);

#endif
