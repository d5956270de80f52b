// SPDX-License-Identifier: GPL-2.0-only
/*
 * migscope watch: alongside a migrating QEMU.  QMP always; QEMU's own trace
 * events from its USDT probes when its binary has them, else from its trace
 * log when given; the kernel's DMA activity of host devices from the BPF
 * collectors when asked for.  Whatever of that cannot be had is said in one
 * line, and the watch goes on with the rest.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <migscope/collect.h>
#include <migscope/collect_abi.h>
#include <migscope/libvirt.h>
#include <migscope/loop.h>
#include <migscope/openmetrics.h>
#include <migscope/report.h>
#include <migscope/parse.h>
#include <migscope/qemu.h>
#include <migscope/qemu_trace.h>
#include <migscope/qmp.h>
#include <migscope/session.h>

#include "cli.h"
#include "commands.h"
#include "watch_dst.h"

#define MAX_DEVICES MS_BPF_MAX_DEVS

/*
 * Host devices are tracked over every address a device can be given: IOMMUs
 * translate at most 57 bits (5-level tables) and the DMA API hands out
 * physical addresses below that.  A record beyond it is still counted
 * (out_of_range), and page sums over the session stay far from 2^64 bytes.
 */
#define HOST_TRACK_PAGE 4096ull
#define HOST_TRACK_LEN	(1ull << 57)

/* Where QEMU's trace events come from (--qemu-events). */
enum qemu_events { EVENTS_AUTO, EVENTS_USDT, EVENTS_LOG };

struct watch {
	struct ms_session *s;
	struct ms_loop *loop;
	struct ms_qmp *qmp;
	struct ms_qemu_trace *trace; /* the trace log, when followed */
	struct ms_usdt *usdt;	     /* QEMU's USDT probes, when attached */
	struct ms_collect *collect;  /* the kernel collectors, for --device */
	struct ms_libvirt *libvirt;  /* --domain: QMP through libvirt */
	pid_t pid;		     /* QEMU's */
	const char *log_path;
	const char *devices[MAX_DEVICES + 1];
	unsigned int nr_devices;
	uint32_t host[MAX_DEVICES]; /* the devices' ids */
	int tracking;		    /* host devices' dirty pages are tracked */
	struct watch_dst dst;	    /* --dst-qmp, --dst-qemu-log */
	struct ms_metrics_server *metrics; /* --listen */
	const struct cli_output *out;	   /* --metrics FILE, its labels */
	int metrics_warned;		   /* a --metrics rewrite failed: said once */
};

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "Usage: migscope watch --qmp SOCK [--qemu-log FILE] [--qemu-pid PID] [--device "
	    "NAME]...\n"
	    "                      [--dst-qmp SOCK [--dst-qemu-log FILE]] [options]\n"
	    "       migscope watch --domain NAME [--connect URI] [options]\n\n"
	    "Watch a QEMU that migrates (or is about to): its migration events and a\n"
	    "query-migrate every interval over QMP; QEMU's trace events (pending bytes,\n"
	    "savevm sections, vfio device states, vmstate downtime) from its USDT probes\n"
	    "when its binary has them (dtrace trace backend: Fedora, RHEL), else from its\n"
	    "trace log when given; and, for each --device, the kernel's IOMMU and DMA\n"
	    "activity of that host device from BPF programs, into its dirty pages.  Runs\n"
	    "until the migration completes, fails or is cancelled, or until interrupted,\n"
	    "then prints the report: per-device downtime, pending-byte convergence and\n"
	    "dirty pages.  What cannot be had (no probes, no BPF) is said in one line and\n"
	    "the watch goes on with the rest.\n\n"
	    "The downtime limit and max-bandwidth are re-read (query-migrate-parameters) at\n"
	    "migration setup and with every poll while it runs: a change made through another\n"
	    "monitor is followed, each sample is judged against the limit in force then, and\n"
	    "the report lists every change.  The VM's downtime comes with the bounds QEMU's\n"
	    "own trace points put on it (downtime_bounds_ms).\n\n"
	    "Under KVM (query-kvm), QEMU measures the guest's dirty rate while the migration\n"
	    "is active: one calc-dirty-rate window at a time (dirty-bitmap, dirty-ring when\n"
	    "the VM uses KVM's dirty ring; 250 and 1000 ms in turn on QEMU 8.2+, 1 s before),\n"
	    "each read with query-dirty-rate and recorded (dirty_rate).  Under TCG it is not\n"
	    "asked.  The report says in one line whether it was sampled, and if not why\n"
	    "(session.dirty_rate).\n\n"
	    "QEMU needs a QMP socket migscope may use (give QEMU a second -qmp if something\n"
	    "else holds the first) and, for the trace log, the options printed by\n"
	    "scripts/qemu-trace-args.sh (-D FILE -msg timestamp=on -trace enable=...).\n"
	    "A libvirt domain needs no second socket: --domain talks QMP through libvirt's\n"
	    "monitor passthrough (libvirt-qemu; libvirt marks the domain tainted by\n"
	    "custom-monitor), and the report names the VM (session.vm).\n\n"
	    "Options:\n"
	    "      --qmp SOCK            QEMU's QMP unix socket\n"
	    "      --domain NAME         a running libvirt domain instead of --qmp\n"
	    "      --connect URI         libvirt's URI for --domain (default: "
	    "$LIBVIRT_DEFAULT_URI,\n"
	    "                            else qemu:///system)\n"
	    "      --qemu-log FILE       follow QEMU's trace log (-D FILE) when its binary has\n"
	    "                            no USDT probes\n"
	    "      --qemu-pid PID        the QEMU process (default: the QMP socket's peer)\n"
	    "      --dst-qmp SOCK        also follow the destination QEMU: its load and resume\n"
	    "                            become the destination's part of the downtime\n"
	    "                            (migration.downtime_split)\n"
	    "      --dst-qemu-log FILE   the destination's trace log (its loadvm sections);\n"
	    "                            needs --dst-qmp\n"
	    "      --qemu-events SOURCE  QEMU's trace events from: auto (USDT probes if the\n"
	    "                            binary has them, else --qemu-log), usdt (fail\n"
	    "                            without), log (--qemu-log only); default auto\n"
	    "      --device NAME         a host device passed through to QEMU, by its kernel\n"
	    "                            name (PCI address 0000:65:00.1, mdev UUID): its DMA\n"
	    "                            is watched and its dirty pages tracked, and QEMU's\n"
	    "                            events are kept for the vfio devices named so only;\n"
	    "                            repeatable (at most %d)\n"
	    "      --interval DURATION   query-migrate every DURATION (default 100ms)\n"
	    "      --downtime-limit DURATION  set QEMU's downtime-limit before it migrates\n"
	    "      --bandwidth RATE      set QEMU's max-bandwidth (e.g. 64M/s)\n"
	    "      --no-set              change nothing in QEMU (not even the events capability;\n"
	    "                            implies --no-dirty-rate)\n"
	    "      --no-dirty-rate       do not ask QEMU to measure the dirty rate (it starts\n"
	    "                            KVM's dirty logging for each window)\n"
	    "      --timeout DURATION    give up after DURATION (default: none)\n"
	    "      --listen ADDR:PORT    serve the live report as Prometheus metrics at\n"
	    "                            http://ADDR:PORT/metrics while watching\n"
	    "                            (docs/metrics.md); --metrics FILE is rewritten\n"
	    "                            every second too\n" CLI_OUTPUT_HELP
	    "\nExamples:\n"
	    "  migscope watch --qmp /run/vm1.qmp\n"
	    "  migscope watch --qmp /run/vm1.qmp --qemu-log /var/log/vm1-trace.log --json\n"
	    "  migscope watch --qmp /run/vm1.qmp --device 0000:65:00.1 --svg plot.svg\n"
	    "  migscope watch --qmp src.qmp --qemu-log src.log --dst-qmp dst.qmp \\\n"
	    "      --dst-qemu-log dst.log --json\n"
	    "  migscope watch --domain vm1 --json\n"
	    "  migscope watch --domain vm1 --connect qemu:///session --record mig.mscap\n"
	    "  migscope watch --qmp vm.qmp --downtime-limit 300ms --bandwidth 1G/s --record "
	    "mig.mscap\n"
	    "  migscope watch --qmp /run/vm1.qmp --listen 127.0.0.1:9464 --vm vm1 \\\n"
	    "      --label namespace=prod --metrics /var/lib/node_exporter/vm1.prom\n"
	    "  migscope watch --qmp /run/vm1.qmp --events-json - | fluent-bit -i stdin ...\n"
	    "  migscope watch --qmp /run/vm1.qmp --no-dirty-rate --json\n",
	    MAX_DEVICES);
}

static void print_warning(const char *msg)
{
	fprintf(stderr, "migscope: warning: %s\n", msg);
}

static int parse_duration_opt(const char *opt, const char *arg, uint64_t *ns)
{
	if (ms_parse_duration(arg, ns) || !*ns)
		return cli_usage_error("watch", "%s: '%s' is not a duration (e.g. 100ms, 2s)", opt,
				       arg);
	return 0;
}

/* --- QEMU's trace events: USDT probes or the trace log ------------------------------- */

/* Is one of the named probes attached? */
static int usdt_attached(const struct ms_usdt *u, const char *const *names)
{
	const struct ms_collector_status *st;
	size_t n = u ? ms_usdt__status(u, &st) : 0;

	for (size_t i = 0; i < n; i++)
		for (const char *const *p = names; *p; p++)
			if (st[i].state == MS_COLLECTOR_ATTACHED && !strcmp(st[i].name, *p))
				return 1;
	return 0;
}

/*
 * Attach QEMU's USDT probes when its binary has them.  0, or -errno with why
 * filled: why not (no pid, no probes, BPF refused).
 */
static int open_usdt(struct watch *w, char *why, size_t len)
{
	struct ms_usdt_opts uo = { .vfio_devices = w->nr_devices ? w->devices : NULL };
	char exe[64], err[MS_ERR_LEN / 2]; /* room for it in why */
	int n;

	if (!w->pid) {
		snprintf(why, len, "QEMU's pid is unknown: give --qemu-pid for its USDT probes");
		return -ESRCH;
	}
	snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)w->pid);
	n = ms_usdt__binary_probes(exe, err, sizeof(err));
	if (n < 0) {
		snprintf(why, len, "%s", err);
		return n;
	}
	if (!n) {
		char bin[256];
		ssize_t l = readlink(exe, bin, sizeof(bin) - 1);

		bin[l > 0 ? l : 0] = 0;
		snprintf(why, len, "%s has no USDT probes", bin[0] ? bin : exe);
		return -ENOENT;
	}
	w->usdt = ms_usdt__open(&w->s->stream, w->pid, &uo, err, sizeof(err));
	if (!w->usdt) {
		snprintf(why, len, "USDT probes not attached: %s", err);
		return -EPERM;
	}
	n = ms_usdt__add_to_loop(w->usdt, w->loop);
	if (n) {
		snprintf(why, len, "USDT probes not polled: %s", strerror(-n));
		ms_usdt__close(w->usdt);
		w->usdt = NULL;
	}
	return n;
}

/* A trace log may hold earlier migrations: keep only the one running now. */
static uint64_t log_not_before(const struct watch *w, const struct ms_qmp_info *info)
{
	uint64_t t = w->s->stats.session.realtime_ns;

	return info->total_time_ms ? t - (info->total_time_ms * 1000000ull + 50000000ull) : t;
}

static int follow_log(struct watch *w, const struct ms_qmp_info *info, int64_t wall_to_mono)
{
	struct ms_qemu_trace_opts to = {
		.wall_to_mono_ns = wall_to_mono,
		.vfio_devices = w->nr_devices ? w->devices : NULL,
		.not_before_wall_ns = log_not_before(w, info),
	};
	char err[MS_ERR_LEN];

	w->trace = ms_qemu_trace__new(&w->s->stream, &to);
	if (!w->trace)
		return cli_error("failed to start: %s", strerror(ENOMEM));
	if (ms_qemu_trace__follow(w->trace, w->log_path, w->loop, err, sizeof(err)))
		return cli_error("%s", err);
	return 0;
}

/*
 * Choose where QEMU's trace events come from and say so in one line; tell
 * QMP which of its stand-ins (VFIO_MIGRATION arcs, ram.remaining) are still
 * needed.  0 or 1 (failed, said why).
 */
static int open_qemu_events(struct watch *w, enum qemu_events mode, const struct ms_qmp_info *info,
			    int64_t wall_to_mono)
{
	static const char *const arcs[] = { "vfio_migration_set_state",
					    "vfio_migration_set_device_state", NULL };
	static const char *const pending[] = { "migrate_pending", "migrate_pending_exact",
					       "migrate_pending_estimate", NULL };
	char why[MS_ERR_LEN] = "--qemu-events log";
	const struct ms_collector_status *st;
	size_t attached = 0, n;

	if (mode != EVENTS_LOG && open_usdt(w, why, sizeof(why)) && mode == EVENTS_USDT)
		return cli_error("--qemu-events usdt: %s", why);
	if (w->usdt) {
		n = ms_usdt__status(w->usdt, &st);
		for (size_t i = 0; i < n; i++)
			attached += st[i].state == MS_COLLECTOR_ATTACHED;
		fprintf(
		    stderr,
		    "migscope: QEMU events: USDT probes of pid %d (%zu of %zu attached)%s%s%s\n",
		    (int)w->pid, attached, n, w->log_path ? "; not reading " : "",
		    w->log_path ? w->log_path : "",
		    w->log_path ? " (--qemu-events log to read it instead)" : "");
		/* QEMU 11.1+'s pending count has no USDT reading: QMP's then */
		ms_qmp__set_stand_ins(w->qmp, !usdt_attached(w->usdt, arcs),
				      !usdt_attached(w->usdt, pending));
		return 0;
	}
	if (!w->log_path) {
		fprintf(stderr,
			"migscope: QEMU events: QMP only (%s; --qemu-log FILE reads its trace "
			"log)\n",
			why);
		/* QMP's VFIO_MIGRATION events and ram.remaining stand in */
		ms_qmp__set_stand_ins(w->qmp, 1, 1);
		return 0;
	}
	fprintf(stderr, "migscope: QEMU events: trace log %s (%s)\n", w->log_path, why);
	ms_qmp__set_stand_ins(w->qmp, 0, 0);
	return follow_log(w, info, wall_to_mono);
}

/* --- host devices: the kernel collectors ---------------------------------------------- */

/* Is there a device of this name on some bus of this host? */
static int host_device_exists(const char *name)
{
	DIR *d = opendir("/sys/bus");
	struct dirent *e;
	char path[512];
	int found = 0;

	if (!d)
		return 1; /* no sysfs to ask: assume so */
	while (!found && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/bus/%s/devices/%s", e->d_name, name);
		found = !access(path, F_OK);
	}
	closedir(d);
	return found;
}

/* Does a collector that reports device writes (DMA unmap, sync for the CPU) run? */
static int writes_watched(const struct ms_collect *c)
{
	const struct ms_collector_status *st;
	size_t n = ms_collect__status(c, &st);

	for (size_t i = 0; i < n; i++)
		if (!strcmp(st[i].group, "dma") && st[i].state == MS_COLLECTOR_ATTACHED &&
		    (strstr(st[i].name, "unmap") || strstr(st[i].name, "sync")))
			return 1;
	return 0;
}

/*
 * Register the --device host devices and open the kernel collectors for
 * them, iommu map/unmap only from QEMU.  Without BPF the watch goes on
 * without them: one line says so, and the devices are not tracked (no
 * records would be an empty dirty set, which is not the truth).
 */
static void open_host_devices(struct watch *w)
{
	struct ms_collect_opts co = { .iommu_pids = &w->pid, .nr_iommu_pids = w->pid ? 1 : 0 };
	uint64_t ts = ms_now_ns();
	char err[MS_ERR_LEN];
	int ret;

	if (!w->nr_devices)
		return;
	for (unsigned int i = 0; i < w->nr_devices; i++) {
		if (!host_device_exists(w->devices[i]))
			fprintf(
			    stderr,
			    "migscope: warning: no device %s on this host (/sys/bus/*/devices/); "
			    "watching for it anyway\n",
			    w->devices[i]);
		w->host[i] = ms_stream__add_device(&w->s->stream, ts, MS_DEV_KIND_HOST,
						   MS_ROLE_SOURCE, 0, MS_DEV_NONE, w->devices[i]);
	}
	w->collect = ms_collect__open(&w->s->stream, &co, err, sizeof(err));
	if (!w->collect) {
		fprintf(stderr,
			"migscope: BPF collectors unavailable (%s): host devices' DMA is not "
			"watched; going on with QMP and QEMU's events\n",
			err);
		return;
	}
	ret = ms_collect__add_to_loop(w->collect, w->loop);
	if (ret) {
		fprintf(stderr,
			"migscope: failed to poll the BPF collectors: %s; host devices' DMA is not "
			"watched\n",
			strerror(-ret));
		ms_collect__close(w->collect);
		w->collect = NULL;
		return;
	}
	if (!writes_watched(w->collect)) {
		fprintf(stderr, "migscope: no DMA write collector attached (see 'migscope "
				"features'): host devices' dirty pages are not tracked\n");
		return;
	}
	w->tracking = 1;
	for (unsigned int i = 0; i < w->nr_devices; i++)
		ms_stream__track_range(&w->s->stream, ts, w->host[i], HOST_TRACK_PAGE, 0,
				       HOST_TRACK_LEN);
}

/*
 * Detach the collectors, read what is left and publish the buffers still
 * mapped for a device to write as written (ms_collect__close does all three:
 * nothing changes under us after the detach), then the final harvest: the
 * watch reads each device's dirty set into its report and stops tracking.
 */
static void close_host_devices(struct watch *w)
{
	uint64_t ts;

	if (!w->collect)
		return;
	ms_collect__close(w->collect);
	w->collect = NULL;
	if (!w->tracking)
		return;
	ts = ms_now_ns();
	for (unsigned int i = 0; i < w->nr_devices; i++) {
		struct ms_ev_harvest h = { 0 };
		struct ms_event_hdr stop = { .type = MS_EV_TRACK_STOP,
					     .dev = w->host[i],
					     .ts_ns = ts };

		MS_EVENT_INIT(&h, MS_EV_HARVEST, ms_ev_harvest, w->host[i], ts);
		h.page_size = HOST_TRACK_PAGE; /* len 0: everything tracked */
		ms_stream__publish(&w->s->stream, &h.hdr);
		ms_stream__publish(&w->s->stream, &stop);
	}
	w->tracking = 0;
}

/* --- the command ---------------------------------------------------------------------- */

static int parse_events(const char *arg, enum qemu_events *mode)
{
	static const char *const names[] = {
		[EVENTS_AUTO] = "auto", [EVENTS_USDT] = "usdt", [EVENTS_LOG] = "log"
	};

	for (int i = 0; i < 3; i++)
		if (!strcmp(arg, names[i])) {
			*mode = (enum qemu_events)i;
			return 0;
		}
	return cli_usage_error("watch", "--qemu-events: '%s' is not auto, usdt or log", arg);
}

static int add_device(struct watch *w, const char *name)
{
	if (w->nr_devices == MAX_DEVICES)
		return cli_usage_error("watch", "--device: at most %d devices", MAX_DEVICES);
	if (!name[0] || strlen(name) >= MS_BPF_DEV_NAME_LEN || strchr(name, '/'))
		return cli_usage_error("watch",
				       "--device: '%s' is not a kernel device name (like "
				       "0000:65:00.1; at most %d characters, no '/')",
				       name, MS_BPF_DEV_NAME_LEN - 1);
	for (unsigned int i = 0; i < w->nr_devices; i++)
		if (!strcmp(w->devices[i], name))
			return cli_usage_error("watch", "--device %s given twice", name);
	w->devices[w->nr_devices++] = name;
	return 0;
}

/*
 * Everything after the loop: sources detach and publish their totals, then the
 * report.  why: libvirt's reason the stream ended early, or NULL.
 */
static int close_sources(struct watch *w, int ret, const char *why)
{
	char err[MS_ERR_LEN];
	int exit_code = ret && ret != -EINTR ? 1 : 0;

	/* detached after the report: a uprobe's detach takes the kernel ~0.1 s */
	if (w->usdt)
		ms_usdt__finish(w->usdt);
	if (w->trace) {
		const struct ms_qemu_trace_counts *n;

		ms_qemu_trace__close(w->trace, ms_now_ns());
		n = ms_qemu_trace__counts(w->trace);
		if (n->malformed || ms_verbose)
			fprintf(
			    stderr,
			    "migscope: qemu log %s: %llu lines, %llu used, %llu of other events, "
			    "%llu not trace lines, %llu from before, %llu not understood\n",
			    w->log_path, (unsigned long long)n->lines,
			    (unsigned long long)n->accepted, (unsigned long long)n->unknown,
			    (unsigned long long)n->not_trace, (unsigned long long)n->stale,
			    (unsigned long long)n->malformed);
	}
	close_host_devices(w);
	ms_qmp__close(w->qmp, ms_now_ns());
	watch_dst__close(&w->dst, ms_now_ns());
	if (why) {
		/*
		 * libvirt's stream ended before the migration did: whatever QEMU
		 * said since is lost, and host devices' writes with it (rule one)
		 */
		struct ms_ev_loss l = { 0 };

		MS_EVENT_INIT(&l, MS_EV_LOSS, ms_ev_loss, MS_DEV_NONE, ms_now_ns());
		l.reason = MS_LOSS_SOURCE_ERROR;
		ms_stream__publish(&w->s->stream, &l.hdr);
		if (ms_session__fail(w->s, ms_now_ns(), ret, why, err, sizeof(err))) {
			cli_error("%s", err);
			exit_code = 1;
		}
	} else if (ms_session__end(w->s, ms_now_ns(), ret == -EINTR ? 0 : ret, err, sizeof(err))) {
		cli_error("%s", err);
		exit_code = 1;
	}
	return exit_code;
}

/* The report as it stands, for a scrape of --listen. */
static struct json_object *live_report(void *ctx)
{
	struct watch *w = ctx;

	return ms_report__json(&w->s->view);
}

/* --metrics FILE during the watch: a textfile collector reads it while it runs. */
static int on_metrics_tick(void *ctx, uint32_t events)
{
	struct watch *w = ctx;
	struct json_object *r = ms_report__json(&w->s->view);
	char err[MS_ERR_LEN];

	if (ms_om__write_file(w->out->metrics, r, &w->out->labels, err, sizeof(err)) &&
	    !w->metrics_warned++)
		fprintf(stderr, "migscope: warning: %s; trying again every second\n", err);
	json_object_put(r);
	return 0;
}

/* Records stop coming while QEMU idles: keep the --record-sync window anyway. */
static int on_record_tick(void *ctx, uint32_t events)
{
	ms_capture_writer__tick(ctx);
	return 0;
}

int do_watch(int argc, char **argv)
{
	enum {
		O_QMP = 0x2000,
		O_LOG,
		O_PID,
		O_EVENTS,
		O_DEVICE,
		O_INTERVAL,
		O_DOWNTIME,
		O_BW,
		O_NOSET,
		O_TIMEOUT,
		O_LISTEN,
		O_DOMAIN,
		O_CONNECT,
		O_DST_QMP,
		O_DST_LOG,
		O_NO_DIRTY_RATE
	};
	static const struct option opts[] = {
		CLI_OUTPUT_OPTIONS,
		{ "qmp", required_argument, NULL, O_QMP },
		{ "qemu-log", required_argument, NULL, O_LOG },
		{ "qemu-pid", required_argument, NULL, O_PID },
		{ "qemu-events", required_argument, NULL, O_EVENTS },
		{ "device", required_argument, NULL, O_DEVICE },
		{ "interval", required_argument, NULL, O_INTERVAL },
		{ "downtime-limit", required_argument, NULL, O_DOWNTIME },
		{ "bandwidth", required_argument, NULL, O_BW },
		{ "no-set", no_argument, NULL, O_NOSET },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "listen", required_argument, NULL, O_LISTEN },
		{ "domain", required_argument, NULL, O_DOMAIN },
		{ "connect", required_argument, NULL, O_CONNECT },
		{ "dst-qmp", required_argument, NULL, O_DST_QMP },
		{ "dst-qemu-log", required_argument, NULL, O_DST_LOG },
		{ "no-dirty-rate", no_argument, NULL, O_NO_DIRTY_RATE },
		{ 0 },
	};
	struct cli_output out = { 0 };
	struct ms_session_opts sopts = { .argc = argc, .argv = argv };
	struct ms_qmp_opts qo = { .set_events = 1, .warn = print_warning };
	enum qemu_events events = EVENTS_AUTO;
	struct watch w = { 0 };
	uint64_t v, downtime_ns = 0, timeout_ns = 0, pid = 0;
	struct sockaddr_storage listen_sa;
	size_t listen_len = 0;
	const char *listen_addr = NULL;
	const char *domain = NULL, *uri = NULL, *why = NULL;
	const struct ms_qmp_info *info;
	char err[MS_ERR_LEN], label[300];
	int opt, ret, exit_code = 1;
	int64_t wall_to_mono;

	while ((opt = getopt_long(argc, argv, "hv", opts, NULL)) != -1) {
		if (cli_output_option(&out, opt, optarg))
			continue;
		switch (opt) {
		case 'h':
			usage(stdout);
			return 0;
		case O_QMP:
			qo.path = optarg;
			break;
		case O_LOG:
			w.log_path = optarg;
			break;
		case O_PID:
			if (ms_parse_u64(optarg, &pid) || !pid || pid > 0x7fffffff)
				return cli_usage_error("watch", "--qemu-pid: '%s' is not a pid",
						       optarg);
			break;
		case O_EVENTS:
			if (parse_events(optarg, &events))
				return EXIT_USAGE;
			break;
		case O_DEVICE:
			if (add_device(&w, optarg))
				return EXIT_USAGE;
			break;
		case O_INTERVAL:
			if (parse_duration_opt("--interval", optarg, &qo.interval_ns))
				return EXIT_USAGE;
			break;
		case O_DOWNTIME:
			if (parse_duration_opt("--downtime-limit", optarg, &downtime_ns))
				return EXIT_USAGE;
			/* QEMU takes milliseconds */
			qo.set_downtime_limit_ms = (downtime_ns + 999999) / 1000000;
			break;
		case O_BW:
			if (ms_parse_rate(optarg, &v) || !v)
				return cli_usage_error(
				    "watch", "--bandwidth: '%s' is not a rate (e.g. 64M/s)",
				    optarg);
			qo.set_bandwidth = v;
			break;
		case O_NOSET:
			/* calc-dirty-rate starts KVM's dirty logging: a change too */
			qo.set_events = 0;
			qo.no_dirty_rate = 1;
			break;
		case O_TIMEOUT:
			if (parse_duration_opt("--timeout", optarg, &timeout_ns))
				return EXIT_USAGE;
			break;
		case O_LISTEN:
			if (ms_om_parse_listen(optarg, &listen_sa, &listen_len, err, sizeof(err)))
				return cli_usage_error("watch", "--listen: %s", err);
			listen_addr = optarg;
			break;
		case O_DOMAIN:
			domain = optarg;
			break;
		case O_CONNECT:
			uri = optarg;
			break;
		case O_DST_QMP:
			w.dst.qmp_path = optarg;
			break;
		case O_DST_LOG:
			w.dst.log_path = optarg;
			break;
		case O_NO_DIRTY_RATE:
			qo.no_dirty_rate = 1;
			break;
		default:
			return cli_usage_error("watch", "unknown or incomplete option '%s'",
					       argv[optind - 1]);
		}
	}
	if (optind != argc)
		return cli_usage_error("watch", "unexpected argument '%s'", argv[optind]);
	if (!qo.path && !domain)
		return cli_usage_error("watch", "--qmp SOCK or --domain NAME is required");
	if (qo.path && domain)
		return cli_usage_error("watch", "--qmp and --domain are two ways to one monitor: "
						"give one");
	if (uri && !domain)
		return cli_usage_error("watch", "--connect URI goes with --domain NAME");
	if (!qo.set_events && (qo.set_downtime_limit_ms || qo.set_bandwidth))
		return cli_usage_error("watch",
				       "--no-set contradicts --downtime-limit/--bandwidth");
	if (w.dst.log_path && !w.dst.qmp_path)
		return cli_usage_error("watch", "--dst-qemu-log needs --dst-qmp SOCK (the "
						"destination is followed through its QMP)");
	if (w.dst.qmp_path && qo.path && !strcmp(w.dst.qmp_path, qo.path))
		return cli_usage_error("watch", "--dst-qmp %s is the source's --qmp", qo.path);
	if (events == EVENTS_LOG && !w.log_path)
		return cli_usage_error("watch", "--qemu-events log needs --qemu-log FILE");
	if (events == EVENTS_USDT && w.log_path)
		return cli_usage_error("watch", "--qemu-events usdt contradicts --qemu-log");
	if ((out.labels.vm || out.labels.nr) && !out.metrics && !listen_addr)
		return cli_usage_error("watch",
				       "--vm and --label name metrics: they need --metrics FILE or "
				       "--listen ADDR:PORT");

	ret = cli_session_opts("watch", &out, 1, &sopts);
	if (ret)
		return ret;
	if (domain) {
		w.libvirt = ms_libvirt__open(uri, domain, err, sizeof(err));
		if (!w.libvirt)
			return cli_error("%s", err);
		/* the domain names the VM in the report; QMP's messages name it too */
		sopts.vm = ms_libvirt__name(w.libvirt);
		snprintf(label, sizeof(label), "libvirt domain '%s' (%s)",
			 ms_libvirt__name(w.libvirt), ms_libvirt__uri(w.libvirt));
		qo.path = label;
	}
	w.s = ms_session__new(&sopts, err, sizeof(err));
	if (!w.s) {
		ms_libvirt__close(w.libvirt);
		return cli_error("%s", err);
	}
	w.out = &out;
	/* a QEMU that quits under us must not kill us before the report */
	signal(SIGPIPE, SIG_IGN);
	ms_bpf__set_verbose(ms_verbose);
	w.qmp = ms_qmp__new(&w.s->stream, &qo);
	/* SIGINT/SIGTERM from here on stop the loop: sources detach, the report is printed */
	w.loop = ms_loop__new(1);
	if (!w.qmp || !w.loop) {
		cli_error("failed to start: %s", strerror(ENOMEM));
		goto out;
	}
	if (cli_attach_outputs(w.s, &out))
		goto out;
	if (listen_addr) {
		w.metrics = ms_metrics_server__new(&out.labels, live_report, &w, &listen_sa,
						   listen_len, listen_addr, w.loop, err, sizeof(err));
		if (!w.metrics) {
			cli_error("%s", err);
			goto out;
		}
		fprintf(stderr, "migscope: serving metrics at http://%s/metrics\n", listen_addr);
	}
	if (out.metrics && ms_loop__add_timer(w.loop, 1000000000ull, on_metrics_tick, &w) < 0) {
		cli_error("failed to start: %s", strerror(ENOMEM));
		goto out;
	}
	if (w.s->rec) {
		uint64_t sync = sopts.record.sync_ns ? sopts.record.sync_ns : MS_CAPTURE_SYNC_NS;

		if (ms_loop__add_timer(w.loop, sync / 4 > 10000000 ? sync / 4 : 10000000,
				       on_record_tick, w.s->rec) < 0) {
			cli_error("failed to start: %s", strerror(ENOMEM));
			goto out;
		}
	}
	ret = w.libvirt
		  ? ms_qmp__connect_fd(w.qmp, ms_libvirt__take_fd(w.libvirt), err, sizeof(err))
		  : ms_qmp__connect(w.qmp, err, sizeof(err));
	if (ret) {
		cli_error("%s", err);
		goto out;
	}
	if (watch_dst__connect(&w.dst, &w.s->stream, qo.interval_ns, qo.set_events))
		goto out;
	info = ms_qmp__info(w.qmp);
	w.pid = pid ? (pid_t)pid : info->pid;

	ms_stream__begin(&w.s->stream, ms_now_ns(), MS_SESSION_WATCH,
			 info->downtime_limit_ms * 1000000ull, info->max_bandwidth, 0);
	/* docs/clock-alignment.md: one offset per session, from the clock pair */
	wall_to_mono =
	    (int64_t)w.s->stats.session.mono_ns - (int64_t)w.s->stats.session.realtime_ns;
	ms_qmp__set_clock(w.qmp, wall_to_mono);

	if (open_qemu_events(&w, events, info, wall_to_mono))
		goto out;
	open_host_devices(&w);
	if (w.libvirt)
		fprintf(stderr, "migscope: watching QEMU %s of %s; status %s\n", info->version,
			qo.path, ms_qemu_mig_status_name(info->status));
	else
		fprintf(stderr, "migscope: watching QEMU %s (pid %d) at %s; status %s\n",
			info->version, (int)w.pid, qo.path, ms_qemu_mig_status_name(info->status));
	ret = ms_qmp__start(w.qmp, w.loop, err, sizeof(err));
	if (ret) {
		cli_error("%s", err);
		goto out;
	}
	if (watch_dst__start(&w.dst, &w.s->stream, w.loop, wall_to_mono, log_not_before(&w, info),
			     w.nr_devices ? w.devices : NULL))
		goto out;

	ret = ms_loop__run(w.loop, timeout_ns);
	if (!ret)
		watch_dst__linger(&w.dst, w.loop);
	if (ret == -EINTR)
		fprintf(stderr, "migscope: interrupted (%s); report from what was seen\n",
			strsignal(ms_loop__signal(w.loop)));
	else if (ret == -ETIMEDOUT)
		cli_error("--timeout reached with the migration %s; report from what was seen",
			  ms_qemu_mig_status_name(ms_qmp__status(w.qmp)));
	else if (ret && w.libvirt) {
		/*
		 * libvirt's reason when it gave one (the domain stopped, the
		 * connection closed); a monitor command can fail first
		 */
		why = ms_libvirt__error(w.libvirt);
		if (!why[0])
			why = ms_qmp__error(w.qmp)[0] ? ms_qmp__error(w.qmp) : strerror(-ret);
		cli_error("%s; report from what was seen", why);
	} else if (ret)
		cli_error("%s; report from what was seen",
			  ms_qmp__error(w.qmp)[0] ? ms_qmp__error(w.qmp) : strerror(-ret));
	exit_code = close_sources(&w, ret, why);
	if (w.metrics && ret != -EINTR && ms_metrics_server__scrapes(w.metrics)) {
		int r;

		fprintf(stderr, "migscope: serving the final report until it is scraped (at most "
				"30 s)\n");
		r = ms_metrics_server__final_scrape(w.metrics, 30000000000ull);
		if (r == -ETIMEDOUT)
			fprintf(stderr, "migscope: warning: the final report was not scraped; the "
					"scraper holds the last live values\n");
	}
	if (cli_print_report(w.s, &out))
		exit_code = 1;
out:
	/* detach before the loop goes */
	ms_metrics_server__free(w.metrics);
	ms_usdt__close(w.usdt);
	ms_collect__close(w.collect);
	ms_qemu_trace__free(w.trace);
	watch_dst__free(&w.dst);
	ms_qmp__free(w.qmp);
	ms_libvirt__close(w.libvirt);
	ms_loop__free(w.loop);
	ms_session__free(w.s);
	return exit_code;
}
