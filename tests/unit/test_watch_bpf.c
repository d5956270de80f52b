// SPDX-License-Identifier: GPL-2.0-only
/*
 * `migscope watch` with its BPF sources, end to end: the CLI (sanitized
 * build) against tests/usdt/fake_qemu, a process with QEMU's USDT probes that
 * also serves QMP on a unix socket, so the watch finds it as the socket's
 * peer and looks at its binary as it would at a real QEMU's.  Host devices'
 * DMA records are made by running the watch's own attached collector
 * programs (found through its fds) with bpf_prog_test_run on fake kernel
 * devices, since this machine's DMA tracepoints never fire.  Every wait is
 * bounded; every process is killed in the teardown, pass or fail.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include <migscope/capture.h>
#include <migscope/collect_abi.h>
#include <migscope/session.h>
#include <migscope/vfio_compat.h>

#include "../bpf/kmem.h"
#include "testproc.h"

#define HOST  "0000:00:02.0" /* watched; also the vfio device fake_qemu names */
#define OTHER "0000:00:09.0" /* a device nobody asked for */

struct wt {
	char dir[64];
	char fake[512];
	const char *migscope;
	struct tp_procs procs;
	pid_t fake_pid;
	int go; /* fake_qemu's stdin */
	char sock[128], fake_out[128], report[128], err[128], capture[128], log[128];
};

static int setup(void **state)
{
	struct wt *t = calloc(1, sizeof(*t));
	const char *build = getenv("MIGSCOPE_BUILD") ? getenv("MIGSCOPE_BUILD") : "build";

	assert_non_null(t);
	t->go = -1;
	t->migscope = getenv("MIGSCOPE") ? getenv("MIGSCOPE") : "build/san/migscope";
	snprintf(t->fake, sizeof(t->fake), "%s/tests/fake_qemu", build);
	tp_mkdtemp(t->dir, "watch");
	snprintf(t->sock, sizeof(t->sock), "%s/qmp.sock", t->dir);
	snprintf(t->fake_out, sizeof(t->fake_out), "%s/fake.out", t->dir);
	snprintf(t->report, sizeof(t->report), "%s/report.json", t->dir);
	snprintf(t->err, sizeof(t->err), "%s/watch.err", t->dir);
	snprintf(t->capture, sizeof(t->capture), "%s/run.mscap", t->dir);
	snprintf(t->log, sizeof(t->log), "%s/qemu-trace.log", t->dir);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct wt *t = *state;

	if (t->go >= 0)
		close(t->go);
	tp_kill_all(&t->procs);
	tp_rmdir(t->dir);
	free(t);
	return 0;
}

/* 0, or 1 after tu_skip. */
static int skip_without(const struct wt *t, int need_bpf)
{
	const char *why = need_bpf ? kmem_bpf_unavailable() : NULL;

	if (why) {
		tu_skip(why);
		return 1;
	}
	if (access(t->fake, X_OK)) {
		tu_skip("tests/usdt/fake_qemu is not built (make build-tests)");
		return 1;
	}
	return 0;
}

/* fake_qemu serving QMP on t->sock, once it listens. */
static void start_fake(struct wt *t, int as_nobody)
{
	char *argv[] = { t->fake, "--qmp", t->sock, NULL };

	t->fake_pid =
	    tp_spawn(&t->procs, argv,
		     &(struct tp_io){ .out = t->fake_out, .in = &t->go, .as_nobody = as_nobody });
	tp_wait_for_text(t->fake_out, "ready", 10 * TP_SEC);
}

/* migscope watch --qmp SOCK --json --timeout 60s EXTRA..., once it watches. */
static pid_t start_watch(struct wt *t, char *const extra[], int as_nobody)
{
	char *argv[24] = { (char *)t->migscope, "watch", "--qmp", t->sock, "--json",
			   "--timeout",		"60s" };
	int n = 7;
	pid_t pid;

	for (int i = 0; extra[i]; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	pid = tp_spawn(&t->procs, argv,
		       &(struct tp_io){ .out = t->report, .err = t->err, .as_nobody = as_nobody });
	tp_wait_for_text(t->err, "migscope: watching QEMU", 30 * TP_SEC);
	return pid;
}

/* Once the probes fired, complete the migration; the watch reports and exits 0. */
static void complete(struct wt *t, pid_t watch)
{
	tp_wait_for_text(t->fake_out, "fired", 30 * TP_SEC);
	assert_int_equal(write(t->go, "complete\n", 9), 9);
	tp_expect_exit(&t->procs, watch, 0, 60 * TP_SEC, t->err);
	/* fake_qemu lived until the watch let go of the monitor */
	tp_expect_exit(&t->procs, t->fake_pid, 0, 10 * TP_SEC, NULL);
}

/* fake_qemu and the watch with extra options, through a migration that completes. */
static void watch_migration(struct wt *t, char *const extra[], int as_nobody)
{
	start_fake(t, as_nobody);
	complete(t, start_watch(t, extra, as_nobody));
}

/* The watch said this line (printf format) on stderr. */
static void expect_said(const struct wt *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void expect_said(const struct wt *t, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (!tp_file_contains(t->err, line))
		fail_msg("no '%s' in %s", line, t->err);
}

/* The capture through a session's consumers, its records kept. */
static struct ms_session *replay(const struct wt *t, struct tu_recorder *rec)
{
	struct ms_session_opts so = { 0 };
	struct ms_capture_reader *r;
	struct ms_session *s;
	char err[MS_ERR_LEN];

	r = ms_capture_reader__open(t->capture, err, sizeof(err));
	if (!r)
		fail_msg("%s", err);
	so.info = ms_capture_reader__info(r);
	s = ms_session__new(&so, err, sizeof(err));
	assert_non_null(s);
	assert_int_equal(ms_bus__subscribe(&s->bus, MS_EV_ALL, tu_recorder__on_event, rec), 0);
	assert_int_equal(ms_capture_reader__replay(r, &s->bus, NULL, err, sizeof(err)), 0);
	ms_capture_reader__close(r);
	return s;
}

static const struct ms_ev_source_stats *source_stats(const struct tu_recorder *rec, uint32_t source)
{
	for (size_t i = 0; i < rec->count; i++) {
		const struct ms_ev_source_stats *st = (const void *)tu_recorder__get(rec, i);

		if (st->hdr.type == MS_EV_SOURCE_STATS && st->source == source)
			return st;
	}
	return NULL;
}

static void watch_takes_qemu_events_from_its_usdt_probes_not_its_log(void **state)
{
	struct wt *t = *state;
	char *extra[] = { "--qemu-log", t->log, "--record", t->capture, NULL };
	const struct ms_ev_source_stats *st;
	const struct ms_ev_dev_state *arc;
	struct tu_recorder rec = { 0 };
	struct ms_session *s;
	uint32_t vfio, ram;

	if (skip_without(t, 1))
		return;
	/* a log the watch would read, were it to follow it */
	tu_write_file(t->log, "", 0);
	watch_migration(t, extra, 0);
	expect_said(
	    t, "migscope: QEMU events: USDT probes of pid %d (%d of %d attached); not reading %s",
	    (int)t->fake_pid, MS_QP__MAX, MS_QP__MAX, t->log);

	s = replay(t, &rec);
	/* the same records the USDT collector test sees, under the watch */
	st = source_stats(&rec, MS_SOURCE_USDT);
	assert_non_null(st);
	assert_int_equal(st->accepted, 28);
	assert_int_equal(st->errors, 1);
	assert_null(source_stats(&rec, MS_SOURCE_QEMU_LOG)); /* the log was not followed */
	assert_null(source_stats(&rec, MS_SOURCE_BPF));	     /* no --device */
	assert_non_null(source_stats(&rec, MS_SOURCE_QMP));

	/* named as the trace log names them: one "ram", one vfio device */
	ram = ms_devices__find(&s->devices, MS_DEV_KIND_QEMU_SECTION, "ram");
	vfio = ms_devices__find(&s->devices, MS_DEV_KIND_QEMU_VFIO, HOST);
	assert_true(ram != MS_DEV_NONE && vfio != MS_DEV_NONE);
	/* RAM's pending bytes from the probes only: QMP's ram.remaining is not asked for */
	assert_int_equal(tu_recorder__count_dev(&rec, MS_EV_QEMU_PENDING, MS_DEV_NONE), 4);
	assert_int_equal(tu_recorder__count_dev(&rec, MS_EV_QEMU_PENDING, ram), 4);
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(((const struct ms_ev_qemu_pending *)tu_recorder__nth_dev(
				      &rec, MS_EV_QEMU_PENDING, ram, i))
				     ->origin,
				 MS_PENDING_USDT);
	/* the first arc's state names were read from the live QEMU by the agent */
	arc = tu_recorder__nth_dev(&rec, MS_EV_DEV_STATE, vfio, 0);
	assert_int_equal(arc->from, VFIO_DEVICE_STATE_RUNNING);
	assert_int_equal(arc->to, VFIO_DEVICE_STATE_PRE_COPY);
	assert_int_equal(((const struct ms_ev_mig_status *)tu_recorder__nth_dev(
			      &rec, MS_EV_MIG_STATUS, MS_DEV_NONE,
			      tu_recorder__count_dev(&rec, MS_EV_MIG_STATUS, MS_DEV_NONE) - 1))
			     ->status,
			 MS_MIG_COMPLETED);
	ms_session__free(s);
	tu_recorder__free(&rec);
	tp_replay_matches(&t->procs, t->migscope, t->capture, t->report, t->err);
}

static void qemu_events_log_reads_the_log_and_leaves_the_probes_alone(void **state)
{
	struct wt *t = *state;
	char *extra[] = {
		"--qemu-log", t->log, "--qemu-events", "log", "--record", t->capture, NULL
	};
	struct tu_recorder rec = { 0 };
	struct ms_session *s;

	if (skip_without(t, 1))
		return;
	tu_write_file(t->log, "", 0);
	watch_migration(t, extra, 0);
	expect_said(t, "migscope: QEMU events: trace log %s (--qemu-events log)", t->log);
	s = replay(t, &rec);
	assert_non_null(source_stats(&rec, MS_SOURCE_QEMU_LOG));
	assert_null(source_stats(&rec, MS_SOURCE_USDT));
	assert_int_equal(tu_recorder__count_dev(&rec, MS_EV_DEV_STATE, MS_DEV_NONE), 0);
	ms_session__free(s);
	tu_recorder__free(&rec);
}

/* The fd, in this process, of the watch's loaded BPF program called name. */
static int watch_prog(pid_t watch, const char *name)
{
	char path[320], line[128];
	struct dirent *e;
	DIR *d;
	int found = -1;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo", (int)watch);
	d = opendir(path);
	assert_non_null(d);
	while (found < 0 && (e = readdir(d))) {
		FILE *f;
		unsigned int id = 0;

		snprintf(path, sizeof(path), "/proc/%d/fdinfo/%s", (int)watch, e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "prog_id: %u", &id) == 1)
				break;
		fclose(f);
		if (id) {
			struct bpf_prog_info info = { 0 };
			__u32 len = sizeof(info);
			int fd = bpf_prog_get_fd_by_id(id);

			if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len) &&
			    !strcmp(info.name, name))
				found = fd;
			else if (fd >= 0)
				close(fd);
		}
	}
	closedir(d);
	if (found < 0)
		fail_msg("the watch has no BPF program %s", name);
	return found;
}

static void run(int prog, const uint64_t *args, size_t n)
{
	assert_int_equal(kmem_run(prog, args, n), 0);
}

static void watch_tracks_a_host_devices_dma_writes_and_buffers_still_mapped(void **state)
{
	struct wt *t = *state;
	char *extra[] = { "--device", HOST, "--record", t->capture, NULL };
	const struct ms_ev_dma_write *w;
	struct ms_dirty_summary sum;
	struct tu_recorder rec = { 0 };
	struct ms_session *s;
	struct kmem k;
	uint64_t kdev, kother;
	uint32_t host;
	int unmap, map, iommu_map;
	pid_t watch;

	if (skip_without(t, 1))
		return;
	start_fake(t, 0);
	watch = start_watch(t, extra, 0);
	assert_int_equal(kmem_open(&k), 0);
	kdev = kmem_device(&k, HOST, 7);
	kother = kmem_device(&k, OTHER, 8);
	assert_true(kdev && kother);
	unmap = watch_prog(watch, "dma_unmap_phys");
	map = watch_prog(watch, "dma_map_phys");
	iommu_map = watch_prog(watch, "iommu_map");

	/* written by the device: 3 pages */
	run(unmap, (uint64_t[]){ kdev, 0x100000, 0x3000, MS_DMA_FROM_DEVICE, 0 }, 5);
	/* not a device write; not a watched device */
	run(unmap, (uint64_t[]){ kdev, 0x300000, 0x1000, MS_DMA_TO_DEVICE, 0 }, 5);
	run(unmap, (uint64_t[]){ kother, 0x500000, 0x1000, MS_DMA_FROM_DEVICE, 0 }, 5);
	/* mapped for the device to write and never unmapped: 2 pages at the end */
	run(map, (uint64_t[]){ kdev, 0x7000000, 0x200000, 0x2000, MS_DMA_BIDIRECTIONAL, 0 }, 6);
	/* an IOMMU map by this process, which is not QEMU: filtered in the kernel */
	run(iommu_map, (uint64_t[]){ 0x100000, 0x12345000, 0x1000 }, 3);
	close(unmap);
	close(map);
	close(iommu_map);
	complete(t, watch);
	kmem_close(&k);

	s = replay(t, &rec);
	host = ms_devices__find(&s->devices, MS_DEV_KIND_HOST, HOST);
	assert_true(host != MS_DEV_NONE);
	assert_int_equal(ms_devices__find(&s->devices, MS_DEV_KIND_HOST, OTHER), MS_DEV_NONE);
	/* QEMU's vfio device of the same name is QEMU's view of it, kept beside */
	assert_true(ms_devices__find(&s->devices, MS_DEV_KIND_QEMU_VFIO, HOST) != MS_DEV_NONE);
	assert_int_equal(tu_recorder__count_dev(&rec, MS_EV_IOMMU_MAP, MS_DEV_NONE), 0);
	assert_int_equal(tu_recorder__count_dev(&rec, MS_EV_DMA_WRITE, MS_DEV_NONE), 2);
	w = tu_recorder__nth_dev(&rec, MS_EV_DMA_WRITE, host, 0);
	assert_int_equal(w->iova, 0x100000);
	assert_int_equal(w->len, 0x3000);
	assert_int_equal(w->source, MS_SRC_DMA_UNMAP);
	assert_int_equal(w->dir, MS_DMA_FROM_DEVICE);
	w = tu_recorder__nth_dev(&rec, MS_EV_DMA_WRITE, host, 1);
	assert_int_equal(w->iova, 0x200000);
	assert_int_equal(w->len, 0x2000);
	assert_int_equal(w->dir, MS_DMA_BIDIRECTIONAL);
	/* tracked from the start, harvested once at the end, after the still-mapped buffer */
	assert_int_equal(tu_recorder__count_dev(&rec, MS_EV_TRACK_START, host), 1);
	assert_int_equal(tu_recorder__count_dev(&rec, MS_EV_HARVEST, host), 1);
	assert_int_equal(tu_recorder__count_dev(&rec, MS_EV_TRACK_STOP, host), 1);
	assert_int_equal(source_stats(&rec, MS_SOURCE_BPF)->accepted, 2);
	assert_int_equal(source_stats(&rec, MS_SOURCE_BPF)->errors, 0);
	assert_int_equal(ms_tracker__device_summary(s->tracker, host, &sum), 0);
	assert_int_equal(sum.pages, 5);
	assert_int_equal(sum.harvested_pages, 5);
	assert_int_equal(sum.records, 2);
	assert_int_equal(sum.source_pages[MS_SRC_DMA_UNMAP], 5);
	assert_int_equal(sum.widen_events, 0);
	ms_session__free(s);
	tu_recorder__free(&rec);
	tp_replay_matches(&t->procs, t->migscope, t->capture, t->report, t->err);
}

static void sigterm_detaches_every_collector_and_still_reports(void **state)
{
	struct wt *t = *state;
	char *extra[] = { "--device", HOST, "--record", t->capture, NULL };
	struct tu_recorder rec = { 0 };
	struct ms_session *s;
	uint32_t host;
	pid_t watch;

	if (skip_without(t, 1))
		return;
	start_fake(t, 0);
	watch = start_watch(t, extra, 0);
	tp_wait_for_text(t->fake_out, "fired", 30 * TP_SEC);
	/* the migration is still active: only the signal ends the watch */
	assert_int_equal(kill(watch, SIGTERM), 0);
	tp_expect_exit(&t->procs, watch, 0, 30 * TP_SEC, t->err);
	tp_expect_exit(&t->procs, t->fake_pid, 0, 10 * TP_SEC, NULL);
	expect_said(t, "migscope: interrupted (Terminated); report from what was seen");

	/* every source closed as at a normal end: totals, the final harvest, the end */
	s = replay(t, &rec);
	host = ms_devices__find(&s->devices, MS_DEV_KIND_HOST, HOST);
	assert_non_null(source_stats(&rec, MS_SOURCE_BPF));
	assert_non_null(source_stats(&rec, MS_SOURCE_USDT));
	assert_int_equal(source_stats(&rec, MS_SOURCE_USDT)->accepted, 28);
	assert_non_null(source_stats(&rec, MS_SOURCE_QMP));
	assert_int_equal(tu_recorder__count_dev(&rec, MS_EV_HARVEST, host), 1);
	assert_int_equal(tu_recorder__count_dev(&rec, MS_EV_TRACK_STOP, host), 1);
	assert_int_equal(tu_recorder__count_dev(&rec, MS_EV_SESSION_END, MS_DEV_NONE), 1);
	ms_session__free(s);
	tu_recorder__free(&rec);
	tp_replay_matches(&t->procs, t->migscope, t->capture, t->report, t->err);
}

static void without_bpf_the_watch_says_so_and_reports_from_qmp(void **state)
{
	struct wt *t = *state;
	char *extra[] = { "--device", HOST, NULL };
	struct json_object *rep, *ev, *by, *v, *devs;
	int host_seen = 0;

	if (skip_without(t, 0))
		return;
	if (geteuid() != 0) {
		tu_skip("needs root to run the watch as an unprivileged user");
		return;
	}
	/* both run as nobody: the watch may read QEMU's binary, not load BPF */
	assert_int_equal(chmod(t->dir, 0777), 0);
	watch_migration(t, extra, 1);
	expect_said(t, "migscope: QEMU events: QMP only (USDT probes not attached: ");
	expect_said(t, "migscope: BPF collectors unavailable (");
	rep = json_object_from_file(t->report);
	if (!rep)
		fail_msg("%s: not JSON", t->report);
	/* RAM's pending bytes from QMP's ram.remaining, the stand-in */
	assert_true(json_object_object_get_ex(rep, "events", &ev));
	assert_true(json_object_object_get_ex(ev, "by_type", &by));
	assert_true(json_object_object_get_ex(by, "qemu_pending", &v));
	assert_true(json_object_get_int64(v) > 0);
	assert_false(json_object_object_get_ex(by, "track_start", &v));
	/* the host device is listed, and claims no dirty pages it could not see */
	assert_true(json_object_object_get_ex(rep, "devices", &devs));
	for (size_t i = 0; i < json_object_array_length(devs); i++) {
		struct json_object *d = json_object_array_get_idx(devs, i), *kind;

		if (!json_object_object_get_ex(d, "kind", &kind) ||
		    strcmp(json_object_get_string(kind), "host"))
			continue;
		host_seen = 1;
		assert_false(json_object_object_get_ex(d, "dirty", &v));
	}
	assert_true(host_seen);
	json_object_put(rep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    watch_takes_qemu_events_from_its_usdt_probes_not_its_log, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    qemu_events_log_reads_the_log_and_leaves_the_probes_alone, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    watch_tracks_a_host_devices_dma_writes_and_buffers_still_mapped, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(sigterm_detaches_every_collector_and_still_reports,
						setup, teardown),
		cmocka_unit_test_setup_teardown(without_bpf_the_watch_says_so_and_reports_from_qmp,
						setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
