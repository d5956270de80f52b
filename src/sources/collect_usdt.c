// SPDX-License-Identifier: GPL-2.0-only
/*
 * QEMU's USDT probes as a source (see include/migscope/collect.h).
 *
 * The BPF side hands us each probe hit with its arguments and strings; here
 * they become records.  QEMU changed several argument lists over the years,
 * so each probe is decoded by its argument count (one probe site carries one
 * count), and the pending-size probes are checked by their sums: a sample
 * that fits no known layout is counted as skipped, never guessed.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <migscope/qemu_trace.h>
#include <migscope/stapsdt.h>

#include "collect_int.h"
#include "qemu.skel.h"

#define DEFAULT_RINGBUF (256u << 10)
#define DEFAULT_POLL_NS 20000000ull

#define PROBE_NAME(id, name) [MS_QP_##id] = #name,
static const char *const probe_names[MS_QP__MAX] = { MS_QEMU_PROBES(PROBE_NAME) };
#undef PROBE_NAME

struct ms_usdt {
	struct ms_stream *s;
	pid_t pid;
	struct qemu_bpf *skel;
	struct ms_status_list status;
	struct bpf_link *links[MS_QP__MAX];
	struct ms_ring ring;
	struct ms_qemu_trace *trace; /* what the events mean: the trace log's table */
	uint64_t poll_ns;
};

/*
 * A string the probe could not read: BPF cannot fault a page in, and QEMU
 * passes literals (state and checkpoint names) from .rodata pages it may
 * never have touched itself.  They do not change, so read them from the
 * process now, a page at a time (the string may end just before an
 * unmapped page).
 */
static void read_missing_strings(struct ms_usdt *u, struct ms_usdt_sample *e)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	unsigned int slot = 0;

	for (unsigned int i = 0; i < MS_USDT_MAX_ARGS && slot < MS_USDT_MAX_STRS; i++) {
		uint64_t addr = (uint64_t)e->args[i];
		char *str;
		size_t got = 0;

		if (!(e->str_mask & (1u << i)))
			continue;
		str = e->str[slot++];
		if (str[0] || !addr || u->pid <= 0)
			continue;
		while (got < MS_USDT_STR_LEN - 1) {
			size_t want = MS_USDT_STR_LEN - 1 - got,
			       room = page - (size_t)((addr + got) % page);
			struct iovec local = { str + got, want < room ? want : room };
			struct iovec remote = { (void *)(uintptr_t)(addr + got), local.iov_len };

			if (process_vm_readv(u->pid, &local, 1, &remote, 1, 0) !=
			    (ssize_t)local.iov_len)
				break;
			got += local.iov_len;
			if (memchr(str, 0, got))
				break;
		}
	}
}

/*
 * A probe hit is a trace event with its arguments in order: the trace log's
 * table (qemu_trace.c) knows what each layout of each QEMU version means, so
 * both sources of QEMU events make the same records.
 */
static int on_sample(void *ctx, void *data, size_t len)
{
	const char *strs[MS_USDT_MAX_ARGS] = { 0 };
	int64_t args[MS_USDT_MAX_ARGS];
	struct ms_usdt *u = ctx;
	struct ms_usdt_sample e;
	unsigned int slot = 0;

	if (len < sizeof(e))
		return 1;
	memcpy(&e, data, sizeof(e));
	if (e.probe >= MS_QP__MAX || e.nargs > MS_USDT_MAX_ARGS)
		return 1; /* no event of the table has more arguments */
	read_missing_strings(u, &e);
	for (unsigned int i = 0; i < e.nargs; i++) {
		args[i] = e.args[i];
		if (!(e.str_mask & (1u << i)))
			continue;
		if (slot == MS_USDT_MAX_STRS)
			return 1;
		e.str[slot][MS_USDT_STR_LEN - 1] = 0;
		strs[i] = e.str[slot++];
	}
	ms_qemu_trace__probe(u->trace, e.ts_ns, probe_names[e.probe], e.nargs, args, strs);
	return 0;
}

/* --- binaries and attaching --------------------------------------------- */

static int count_known(void *ctx, const struct ms_stapsdt_probe *p)
{
	int *n = ctx;

	if (strcmp(p->provider, "qemu"))
		return 0;
	for (unsigned int i = 0; i < MS_QP__MAX; i++)
		if (!strcmp(p->name, probe_names[i])) {
			(*n)++;
			break;
		}
	return 0;
}

int ms_usdt__binary_probes(const char *path, char *err, size_t errlen)
{
	int n = 0, ret = ms_stapsdt__read_file(path, count_known, &n, err, errlen);

	return ret < 0 ? ret : n;
}

struct ms_usdt *ms_usdt__open(struct ms_stream *s, pid_t pid, const struct ms_usdt_opts *opts,
			      char *err, size_t errlen)
{
	static const struct ms_usdt_opts defaults;
	const struct ms_usdt_opts *o = opts ? opts : &defaults;
	char exe[64], hook[96];
	const char *binary = o->binary;
	struct ms_usdt *u;
	int ret, attached = 0;

	ms_bpf__init_libbpf();
	u = calloc(1, sizeof(*u));
	if (!u) {
		snprintf(err, errlen, "failed to allocate USDT collector: %s", strerror(ENOMEM));
		return NULL;
	}
	u->s = s;
	u->pid = pid;
	u->poll_ns = o->poll_ns ? o->poll_ns : DEFAULT_POLL_NS;
	u->trace = ms_qemu_trace__new(
	    s, &(struct ms_qemu_trace_opts){ .vfio_devices = o->vfio_devices, .usdt = 1 });
	if (!u->trace) {
		snprintf(err, errlen, "failed to allocate USDT collector: %s", strerror(ENOMEM));
		goto fail;
	}
	if (ms_probe__bpf(err, errlen))
		goto fail;
	if (!ms_probe__uprobes()) {
		snprintf(err, errlen,
			 "uprobes are not available in this kernel (USDT needs "
			 "CONFIG_UPROBE_EVENTS)");
		goto fail;
	}
	if (pid > 0) {
		if (kill(pid, 0) && errno == ESRCH) {
			snprintf(err, errlen, "no process %d to attach the QEMU probes to",
				 (int)pid);
			goto fail;
		}
		if (!binary) {
			snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)pid);
			binary = exe;
		}
		ret = ms_usdt__binary_probes(binary, err, errlen);
		if (ret < 0)
			goto fail;
		if (!ret) {
			snprintf(err, errlen,
				 "%s has no QEMU USDT probes (QEMU built without the dtrace trace "
				 "backend: follow its trace log instead)",
				 binary);
			goto fail;
		}
	}

	u->skel = qemu_bpf__open();
	if (!u->skel) {
		snprintf(err, errlen, "failed to open the QEMU USDT programs: %s", strerror(errno));
		goto fail;
	}
	/* a few samples per second, each worth seeing at once: wake on every one */
	u->skel->rodata->wake_mask = 0;
	bpf_map__set_max_entries(u->skel->maps.ms_events,
				 o->ringbuf_bytes ? o->ringbuf_bytes : DEFAULT_RINGBUF);
	ret = qemu_bpf__load(u->skel);
	if (ret) {
		snprintf(err, errlen, "failed to load the QEMU USDT programs: %s", strerror(-ret));
		goto fail;
	}
	/* the trace table's source publishes the totals (as MS_SOURCE_USDT) */
	ret = ms_ring__init(&u->ring, s, bpf_map__fd(u->skel->maps.ms_events),
			    bpf_map__fd(u->skel->maps.ms_counters), on_sample, u, MS_RING_NO_STATS);
	if (ret) {
		snprintf(err, errlen, "failed to read the USDT ring buffer: %s", strerror(-ret));
		goto fail;
	}
	for (unsigned int i = 0; i < MS_QP__MAX; i++) {
		struct bpf_program *p =
		    bpf_object__find_program_by_name(u->skel->obj, probe_names[i]);
		struct ms_collector_status *st;

		snprintf(hook, sizeof(hook), "usdt/qemu:%s", probe_names[i]);
		st = ms_status__add(&u->status, "qemu-usdt", probe_names[i], hook);
		if (!st || !p)
			continue;
		if (pid <= 0) {
			ms_status__set(st, MS_COLLECTOR_LOADED,
				       "attaches to a QEMU process (migscope watch --qemu-pid)");
			continue;
		}
		u->links[i] =
		    bpf_program__attach_usdt(p, pid, binary, "qemu", probe_names[i], NULL);
		if (u->links[i]) {
			ms_status__set(st, MS_COLLECTOR_ATTACHED, "%s", "");
			attached++;
		} else if (errno == ENOENT) {
			ms_status__set(st, MS_COLLECTOR_SKIPPED, "this QEMU has no such probe");
		} else {
			ms_status__set(st, MS_COLLECTOR_SKIPPED, "failed to attach: %s",
				       strerror(errno));
		}
	}
	if (pid > 0 && !attached) {
		snprintf(err, errlen, "no QEMU USDT probe could be attached to process %d (%s)",
			 (int)pid, u->status.nr ? u->status.st[0].reason : "no programs");
		goto fail;
	}
	if (pid > 0)
		ms_status__note_skipped(&u->status);
	return u;
fail:
	ms_usdt__close(u);
	return NULL;
}

int ms_usdt__add_to_loop(struct ms_usdt *u, struct ms_loop *l)
{
	return ms_ring__add_to_loop(&u->ring, l, u->poll_ns);
}

int ms_usdt__poll(struct ms_usdt *u)
{
	uint64_t before = ms_qemu_trace__counts(u->trace)->records;
	int ret = ms_ring__poll(&u->ring);

	return ret < 0 ? ret : (int)(ms_qemu_trace__counts(u->trace)->records - before);
}

size_t ms_usdt__status(const struct ms_usdt *u, const struct ms_collector_status **st)
{
	*st = u->status.st;
	return u->status.nr;
}

void ms_usdt__finish(struct ms_usdt *u)
{
	if (!u->ring.consumer_pos)
		return;
	ms_ring__poll(&u->ring);
	ms_ring__fini(&u->ring);
	ms_qemu_trace__close(u->trace, ms_now_ns());
}

void ms_usdt__close(struct ms_usdt *u)
{
	if (!u)
		return;
	/* detached first (unless finished): nothing arrives after the last read */
	for (unsigned int i = 0; i < MS_QP__MAX; i++)
		bpf_link__destroy(u->links[i]);
	ms_usdt__finish(u);
	qemu_bpf__destroy(u->skel);
	ms_status__free(&u->status);
	ms_qemu_trace__free(u->trace);
	free(u);
}
