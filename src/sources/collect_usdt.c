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

#include <migscope/qemu_names.h>
#include <migscope/stapsdt.h>

#include "collect_int.h"
#include "qemu.skel.h"

#define DEFAULT_RINGBUF	   (256u << 10)
#define DEFAULT_POLL_NS	   20000000ull
#define VFIO_STATE_RUNNING 2 /* a VFIO device opens in RUNNING */

#define PROBE_NAME(id, name) [MS_QP_##id] = #name,
static const char *const probe_names[MS_QP__MAX] = { MS_QEMU_PROBES(PROBE_NAME) };
#undef PROBE_NAME

/* A QEMU vfio device: its last known state and the arc QEMU started. */
struct qdev {
	uint32_t id;
	uint8_t state;
	uint8_t pending_to;
	uint8_t pending;
	uint64_t pending_ts;
};

struct ms_usdt {
	struct ms_session *s;
	pid_t pid;
	struct qemu_bpf *skel;
	struct ms_status_list status;
	struct bpf_link *links[MS_QP__MAX];
	struct ms_ring ring;
	uint64_t poll_ns;
	uint16_t role;
	struct qdev *qdevs;
	size_t nr_qdevs, cap_qdevs;
};

/* --- decoding ----------------------------------------------------------- */

/* The string that was argument i, or NULL (not a string, or empty). */
static const char *arg_str(const struct ms_usdt_sample *e, unsigned int i)
{
	unsigned int slot = 0;

	if (i >= MS_USDT_MAX_ARGS || !(e->str_mask & (1u << i)))
		return NULL;
	for (unsigned int k = 0; k < i; k++)
		slot += !!(e->str_mask & (1u << k));
	if (slot >= MS_USDT_MAX_STRS || !e->str[slot][0])
		return NULL;
	return e->str[slot];
}

static uint64_t arg_u64(const struct ms_usdt_sample *e, unsigned int i)
{
	return (uint64_t)e->args[i];
}

static uint32_t name_id(struct ms_usdt *u, uint16_t kind, const char *name, uint64_t ts)
{
	uint32_t id = ms_devices__find(&u->s->devices, kind, name);

	if (id == MS_DEV_NONE)
		id = ms_session__add_device(u->s, ts, kind, u->role, 0, MS_DEV_NONE, name);
	return id;
}

static struct qdev *qdev_get(struct ms_usdt *u, uint32_t id)
{
	struct qdev *q;

	for (size_t i = 0; i < u->nr_qdevs; i++)
		if (u->qdevs[i].id == id)
			return &u->qdevs[i];
	if (u->nr_qdevs == u->cap_qdevs) {
		size_t cap = u->cap_qdevs ? u->cap_qdevs * 2 : 8;
		void *p = realloc(u->qdevs, cap * sizeof(*u->qdevs));

		if (!p)
			return NULL;
		u->qdevs = p;
		u->cap_qdevs = cap;
	}
	q = &u->qdevs[u->nr_qdevs++];
	memset(q, 0, sizeof(*q));
	q->id = id;
	q->state = VFIO_STATE_RUNNING;
	return q;
}

static void publish_arc(struct ms_usdt *u, struct qdev *q, uint8_t to, int32_t err, uint64_t ts,
			uint64_t dur)
{
	struct ms_ev_dev_state ev = { 0 };

	MS_EVENT_INIT(&ev, MS_EV_DEV_STATE, ms_ev_dev_state, q->id, ts);
	ev.domain = MS_DOMAIN_VFIO;
	ev.from = q->state;
	ev.to = to;
	ev.err = err;
	ev.dur_ns = dur;
	ms_ring__publish(&u->ring, &ev.hdr);
	q->state = to;
}

/*
 * An arc QEMU started (vfio_migration_set_state) but never reported done: QEMU
 * before 9.1 has no vfio_migration_set_device_state.  Its end is unknown; it
 * is published at its start with no duration.
 */
static void flush_pending(struct ms_usdt *u, struct qdev *q)
{
	if (!q->pending)
		return;
	q->pending = 0;
	publish_arc(u, q, q->pending_to, 0, q->pending_ts, 0);
}

static int on_set_state(struct ms_usdt *u, struct qdev *q, const struct ms_usdt_sample *e)
{
	uint64_t st = arg_u64(e, 1);
	int to;

	if (e->nargs == 2) { /* QEMU 7.2: (name, state), after the change */
		if (st > UINT8_MAX || !ms_qemu_vfio_state_name((unsigned int)st))
			return 1;
		flush_pending(u, q);
		if (q->state != st)
			publish_arc(u, q, (uint8_t)st, 0, e->ts_ns, 0);
		return 0;
	}
	/* 8.0+: (name, new_state, recover_state), before the change */
	to = arg_str(e, 1) ? ms_qemu_vfio_state(arg_str(e, 1)) : -1;
	if (to < 0)
		return 1;
	flush_pending(u, q);
	if (to != q->state) {
		q->pending = 1;
		q->pending_to = (uint8_t)to;
		q->pending_ts = e->ts_ns;
	}
	return 0;
}

/* QEMU 9.1+: (name, state) once the device is in state. */
static int on_set_device_state(struct ms_usdt *u, struct qdev *q, const struct ms_usdt_sample *e)
{
	int to = arg_str(e, 1) ? ms_qemu_vfio_state(arg_str(e, 1)) : -1;

	if (to < 0)
		return 1;
	if (q->pending) {
		/* a state other than the one asked for is QEMU's recovery from a failed arc */
		int32_t err = q->pending_to == to ? 0 : -EIO;

		q->pending = 0;
		publish_arc(u, q, (uint8_t)to, err, e->ts_ns, e->ts_ns - q->pending_ts);
	} else if (to != q->state) {
		publish_arc(u, q, (uint8_t)to, 0, e->ts_ns, 0);
	}
	return 0;
}

static void publish_precopy(struct ms_usdt *u, uint32_t id, uint64_t ts, uint64_t initial,
			    uint64_t dirty)
{
	struct ms_ev_precopy ev = { 0 };

	MS_EVENT_INIT(&ev, MS_EV_PRECOPY, ms_ev_precopy, id, ts);
	ev.initial_bytes = initial;
	ev.dirty_bytes = dirty;
	ms_ring__publish(&u->ring, &ev.hdr);
}

static void publish_stopcopy(struct ms_usdt *u, uint32_t id, uint64_t ts, uint64_t bytes)
{
	struct ms_ev_stopcopy_size ev = { 0 };

	MS_EVENT_INIT(&ev, MS_EV_STOPCOPY_SIZE, ms_ev_stopcopy_size, id, ts);
	ev.bytes = bytes;
	ms_ring__publish(&u->ring, &ev.hdr);
}

static void publish_pending(struct ms_usdt *u, uint32_t id, uint64_t ts, uint64_t pre,
			    uint64_t post, uint64_t threshold, uint32_t exact)
{
	struct ms_ev_qemu_pending ev = { 0 };

	MS_EVENT_INIT(&ev, MS_EV_QEMU_PENDING, ms_ev_qemu_pending, id, ts);
	ev.precopy = pre;
	ev.postcopy = post;
	ev.threshold = threshold;
	ev.exact = exact;
	ms_ring__publish(&u->ring, &ev.hdr);
}

/*
 * The vfio probes name the device first.  pending_exact: (name, precopy,
 * postcopy, stopcopy_size[, precopy_init, precopy_dirty]) (8.0 had four);
 * pending_estimate: (name, precopy, postcopy[, init, dirty]); save_iterate
 * and query_precopy_size: (name, init, dirty); query_stop_copy_size: (name,
 * size).  A device's pending bytes are a QEMU_PENDING record of that device.
 */
static int on_vfio(struct ms_usdt *u, const struct ms_usdt_sample *e)
{
	const char *name = arg_str(e, 0);
	struct qdev *q;
	uint32_t id;

	if (!name)
		return 1;
	id = name_id(u, MS_DEV_KIND_QEMU_VFIO, name, e->ts_ns);
	if (id == MS_DEV_NONE || !(q = qdev_get(u, id)))
		return 1;
	switch (e->probe) {
	case MS_QP_VFIO_MIGRATION_SET_STATE:
		return e->nargs >= 2 ? on_set_state(u, q, e) : 1;
	case MS_QP_VFIO_MIGRATION_SET_DEVICE_STATE:
		return e->nargs >= 2 ? on_set_device_state(u, q, e) : 1;
	case MS_QP_VFIO_STATE_PENDING_EXACT:
		if (e->nargs != 4 && e->nargs != 6)
			return 1;
		publish_pending(u, id, e->ts_ns, arg_u64(e, 1), arg_u64(e, 2), MS_STAT_UNSET, 1);
		publish_stopcopy(u, id, e->ts_ns, arg_u64(e, 3));
		if (e->nargs == 6)
			publish_precopy(u, id, e->ts_ns, arg_u64(e, 4), arg_u64(e, 5));
		return 0;
	case MS_QP_VFIO_STATE_PENDING_ESTIMATE:
		if (e->nargs != 3 && e->nargs != 5)
			return 1;
		publish_pending(u, id, e->ts_ns, arg_u64(e, 1), arg_u64(e, 2), MS_STAT_UNSET, 0);
		if (e->nargs == 5)
			publish_precopy(u, id, e->ts_ns, arg_u64(e, 3), arg_u64(e, 4));
		return 0;
	case MS_QP_VFIO_SAVE_ITERATE:
	case MS_QP_VFIO_QUERY_PRECOPY_SIZE:
		if (e->nargs != 3)
			return 1; /* the v1 protocol's vfio_save_iterate(name, data_size) */
		publish_precopy(u, id, e->ts_ns, arg_u64(e, 1), arg_u64(e, 2));
		return 0;
	case MS_QP_VFIO_QUERY_STOP_COPY_SIZE:
		if (e->nargs != 2)
			return 1;
		publish_stopcopy(u, id, e->ts_ns, arg_u64(e, 1));
		return 0;
	default:
		return 1;
	}
}

/* savevm_section_start(id, section_id), savevm_section_end(id, section_id, ret) */
static int on_section(struct ms_usdt *u, const struct ms_usdt_sample *e)
{
	const char *name = arg_str(e, 0);
	int end = e->probe == MS_QP_SAVEVM_SECTION_END;
	struct ms_ev_qemu_section ev = { 0 };
	uint32_t id;

	if (!name || e->nargs != 2 + end)
		return 1;
	id = name_id(u, MS_DEV_KIND_QEMU_SECTION, name, e->ts_ns);
	MS_EVENT_INIT(&ev, MS_EV_QEMU_SECTION, ms_ev_qemu_section, id, e->ts_ns);
	ev.section_id = (uint32_t)arg_u64(e, 1);
	ev.phase = end ? MS_SECTION_SAVE_END : MS_SECTION_SAVE_START;
	ev.ret = end ? (int32_t)e->args[2] : 0;
	ms_ring__publish(&u->ring, &ev.hdr);
	return 0;
}

/*
 * vmstate_downtime_save/load(type, idstr, instance_id, downtime_us) and
 * vmstate_downtime_checkpoint(name).
 */
static int on_downtime(struct ms_usdt *u, const struct ms_usdt_sample *e)
{
	struct ms_ev_qemu_downtime ev = { 0 };
	uint32_t id = MS_DEV_NONE;

	if (e->probe == MS_QP_VMSTATE_DOWNTIME_CHECKPOINT) {
		int cp = arg_str(e, 0) ? ms_qemu_checkpoint(arg_str(e, 0)) : -1;

		if (e->nargs != 1 || cp < 0)
			return 1;
		ev.kind = MS_DOWNTIME_CHECKPOINT;
		ev.checkpoint = (uint32_t)cp;
	} else {
		if (e->nargs != 4 || !arg_str(e, 1) || e->args[3] < 0)
			return 1;
		id = name_id(u, MS_DEV_KIND_QEMU_SECTION, arg_str(e, 1), e->ts_ns);
		ev.kind =
		    e->probe == MS_QP_VMSTATE_DOWNTIME_SAVE ? MS_DOWNTIME_SAVE : MS_DOWNTIME_LOAD;
		ev.dur_ns = arg_u64(e, 3) * 1000;
	}
	MS_EVENT_INIT(&ev, MS_EV_QEMU_DOWNTIME, ms_ev_qemu_downtime, id, e->ts_ns);
	ms_ring__publish(&u->ring, &ev.hdr);
	return 0;
}

/*
 * The VM's pending bytes, by layout:
 *   migrate_pending (7.2):            (size, max, pre, compat, post)
 *   migrate_pending_exact/estimate:   (size, max, pre, post), (size, pre, compat, post)
 *                                     during 8.0, then (size, pre, post)
 *   qemu_savevm_query_pending:        (size, pre, post)
 * size is always the sum of the parts, which tells the 4-argument layouts
 * apart and rejects anything else.
 */
static int on_pending(struct ms_usdt *u, const struct ms_usdt_sample *e)
{
	uint64_t a[5];
	uint32_t exact = e->probe == MS_QP_MIGRATE_PENDING_EXACT;

	for (unsigned int i = 0; i < 5; i++)
		a[i] = arg_u64(e, i);
	switch (e->nargs) {
	case 3:
		if (a[0] != a[1] + a[2])
			return 1;
		publish_pending(u, MS_DEV_NONE, e->ts_ns, a[1], a[2], MS_STAT_UNSET, exact);
		return 0;
	case 4:
		if (a[0] == a[2] + a[3])
			publish_pending(u, MS_DEV_NONE, e->ts_ns, a[2], a[3], a[1], exact);
		else if (a[0] == a[1] + a[2] + a[3])
			publish_pending(u, MS_DEV_NONE, e->ts_ns, a[1] + a[2], a[3], MS_STAT_UNSET,
					exact);
		else
			return 1;
		return 0;
	case 5:
		if (a[0] != a[2] + a[3] + a[4])
			return 1;
		publish_pending(u, MS_DEV_NONE, e->ts_ns, a[2] + a[3], a[4], a[1], exact);
		return 0;
	default:
		return 1;
	}
}

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

static int on_sample(void *ctx, void *data, size_t len)
{
	struct ms_usdt *u = ctx;
	struct ms_usdt_sample e;

	if (len < sizeof(e))
		return 1;
	memcpy(&e, data, sizeof(e));
	read_missing_strings(u, &e);
	for (unsigned int i = 0; i < MS_USDT_MAX_STRS; i++)
		e.str[i][MS_USDT_STR_LEN - 1] = 0;
	switch (e.probe) {
	case MS_QP_VFIO_MIGRATION_SET_STATE:
	case MS_QP_VFIO_MIGRATION_SET_DEVICE_STATE:
	case MS_QP_VFIO_STATE_PENDING_EXACT:
	case MS_QP_VFIO_STATE_PENDING_ESTIMATE:
	case MS_QP_VFIO_QUERY_PRECOPY_SIZE:
	case MS_QP_VFIO_QUERY_STOP_COPY_SIZE:
	case MS_QP_VFIO_SAVE_ITERATE:
		return on_vfio(u, &e);
	case MS_QP_SAVEVM_SECTION_START:
	case MS_QP_SAVEVM_SECTION_END:
		return on_section(u, &e);
	case MS_QP_VMSTATE_DOWNTIME_SAVE:
	case MS_QP_VMSTATE_DOWNTIME_LOAD:
	case MS_QP_VMSTATE_DOWNTIME_CHECKPOINT:
		return on_downtime(u, &e);
	case MS_QP_MIGRATE_PENDING:
	case MS_QP_MIGRATE_PENDING_EXACT:
	case MS_QP_MIGRATE_PENDING_ESTIMATE:
	case MS_QP_QEMU_SAVEVM_QUERY_PENDING:
		return on_pending(u, &e);
	default:
		return 1;
	}
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

struct ms_usdt *ms_usdt__open(struct ms_session *s, pid_t pid, const struct ms_usdt_opts *opts,
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
	u->role = o->role;
	u->poll_ns = o->poll_ns ? o->poll_ns : DEFAULT_POLL_NS;
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
	ret = ms_ring__init(&u->ring, s, bpf_map__fd(u->skel->maps.ms_events),
			    bpf_map__fd(u->skel->maps.ms_counters), on_sample, u, MS_SOURCE_USDT);
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
	return ms_ring__poll(&u->ring);
}

size_t ms_usdt__status(const struct ms_usdt *u, const struct ms_collector_status **st)
{
	*st = u->status.st;
	return u->status.nr;
}

void ms_usdt__close(struct ms_usdt *u)
{
	if (!u)
		return;
	for (unsigned int i = 0; i < MS_QP__MAX; i++)
		bpf_link__destroy(u->links[i]);
	if (u->ring.consumer_pos) {
		ms_ring__poll(&u->ring);
		for (size_t i = 0; i < u->nr_qdevs; i++)
			flush_pending(u, &u->qdevs[i]);
		ms_ring__fini(&u->ring);
	}
	qemu_bpf__destroy(u->skel);
	ms_status__free(&u->status);
	free(u->qdevs);
	free(u);
}
