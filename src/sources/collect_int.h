/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Inside the BPF collectors: the ring buffer source both collector sets use,
 * the feature probes, and the collector status bookkeeping.
 */
#ifndef MIGSCOPE_COLLECT_INT_H
#define MIGSCOPE_COLLECT_INT_H

#include <bpf/libbpf.h>

#include <migscope/collect.h>
#include <migscope/collect_abi.h>

/* --- ring buffer source (collect_ring.c) --------------------------------- */

/*
 * One BPF ring buffer and its loss counters, read into a session.  Records
 * are ms_ev_* records published as they are (the kernel collectors), unless
 * fn is set: then fn gets every sample and returns 0, or 1 when the sample
 * was malformed (counted as skipped).  Slots map the counter array to device
 * ids.
 */
#define MS_RING_MAX_PROGS 64

typedef int (*ms_ring_sample_fn)(void *ctx, void *data, size_t len);

struct ms_ring {
	struct ms_stream *s;
	ms_ring_sample_fn fn;
	void *ctx;
	int map_fd;
	int counters_fd;
	/* the ring, mapped: consumer page (ours), producer page, data mapped twice */
	unsigned long *consumer_pos;
	const unsigned long *producer_pos;
	const unsigned char *data;
	unsigned long mask;
	size_t page, map_len;
	int ncpus;
	uint32_t source; /* enum ms_source_kind for MS_EV_SOURCE_STATS, or MS_RING_NO_STATS */
	uint32_t nr_slots;
	uint32_t slot_dev[MS_BPF_SLOTS]; /* slot -> device id; MS_BPF_SLOT_NONE -> MS_DEV_NONE */
	struct ms_bpf_counters seen[MS_BPF_SLOTS];
	struct ms_bpf_counters *percpu;
	struct ms_loop *loop;
	int timer_id;
	uint64_t accepted, skipped, lost;
	/* programs whose skipped nested runs (recursion_misses) are losses */
	int prog_fds[MS_RING_MAX_PROGS];
	uint32_t nr_progs;
	uint64_t recursion_seen;
	/* called first by every poll: the producers' pending records into the ring */
	int (*flush)(void *ctx);
	void *flush_ctx;
};

/* The sample handler's source publishes the totals: the ring publishes none. */
#define MS_RING_NO_STATS UINT32_MAX

int ms_ring__init(struct ms_ring *r, struct ms_stream *s, int ring_fd, int counters_fd,
		  ms_ring_sample_fn fn, void *ctx, uint32_t source);
/* Slot slot's losses belong to device dev (slots 0..nr-1 are in use). */
void ms_ring__set_slot(struct ms_ring *r, uint32_t slot, uint32_t dev);
/* Read every committed record, then publish the losses.  Records published, or -errno. */
int ms_ring__poll(struct ms_ring *r);
int ms_ring__add_to_loop(struct ms_ring *r, struct ms_loop *l, uint64_t poll_ns);
/* Leave the loop, read what is left, publish MS_EV_SOURCE_STATS (unless NO_STATS), unmap. */
void ms_ring__fini(struct ms_ring *r);

/*
 * Count prog_fd's recursion misses as losses.  The kernel skips a program that
 * fires while the same program already runs on that CPU (a DMA unmap in a hard
 * IRQ over one in process context) and only counts it: a write nobody saw.
 */
int ms_ring__watch_prog(struct ms_ring *r, int prog_fd);
/* Publish the growth of the summed recursion misses (total) as one loss for every device. */
void ms_ring__note_recursion(struct ms_ring *r, uint64_t total);

/* Publish a loss of count records of unknown extent for dev (MS_DEV_NONE: every device). */
void ms_ring__loss(struct ms_ring *r, uint32_t dev, uint32_t reason, uint64_t count);

/* Publish a record the agent made (not the kernel), counted as accepted. */
void ms_ring__publish(struct ms_ring *r, const struct ms_event_hdr *ev);

/* --- feature probes (collect_probe.c) ------------------------------------ */

/* 0 when this process can create BPF maps, else -errno with why filled. */
int ms_probe__bpf(char *why, size_t len);
/* Does the kernel have raw tracepoint name (BTF type btf_trace_<name>)? */
int ms_probe__tracepoint(const char *name);
/* Does the kernel (or a loaded module) have function name in its BTF? */
int ms_probe__kfunc(const char *name);
/* 0 when fentry programs load and attach here, else -errno (cached). */
int ms_probe__fentry(void);
/* How the programs can read device names here: MS_BPF_NAME_* (cached). */
int ms_probe__name_reads(void);
/* Are uprobes (USDT) available? */
int ms_probe__uprobes(void);

/* --- collector status (collect_status.c) --------------------------------- */

struct ms_status_list {
	struct ms_collector_status *st;
	size_t nr, cap;
};

/* NULL when out of memory. */
struct ms_collector_status *ms_status__add(struct ms_status_list *l, const char *group,
					   const char *name, const char *hook);
void ms_status__set(struct ms_collector_status *st, int state, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/*
 * Print one line per skipped collector: the programs of one group skipped for
 * one reason share a line.  Each line is printed once per process.
 */
void ms_status__note_skipped(const struct ms_status_list *l);
void ms_status__free(struct ms_status_list *l);

/* libbpf's printer honouring ms_bpf__set_verbose(). */
void ms_bpf__init_libbpf(void);
/* Keep the first "prog '...'" warning libbpf prints into buf (NULL: stop keeping). */
void ms_bpf__capture_warning(char *buf, size_t len);

/* --- loading one program at a time (collect_load.c) ---------------------- */

#define MS_MAX_REJECTS 64

/* Programs of one object that failed to load, and why. */
struct ms_rejects {
	size_t nr;
	struct ms_prog_reject {
		char name[48];
		char reason[224];
	} r[MS_MAX_REJECTS];
};

/*
 * Load obj through load(arg) (bpf_object__load_skeleton, or bpf_object__load).
 * 0; -EAGAIN when one program was refused: it is added to rej with the
 * verifier's reason, and the caller reopens the object, ms_load__apply()s rej
 * and tries again; any other -errno is a failure of the whole object.
 */
int ms_load__try(struct bpf_object *obj, int (*load)(void *arg), void *arg,
		 struct ms_rejects *rej);
/* Turn off the autoload of every program of obj that rej names. */
void ms_load__apply(struct bpf_object *obj, const struct ms_rejects *rej);
/* Why rej refused program name, or NULL. */
const char *ms_load__reason(const struct ms_rejects *rej, const char *name);
/* The last two meaningful lines of a verifier log, joined by " / ", into out. */
void ms_load__verifier_reason(const char *log, char *out, size_t len);

#endif
