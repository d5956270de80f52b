// SPDX-License-Identifier: GPL-2.0-only
/*
 * End to end with a real QEMU: a source and a destination under TCG, the
 * tiny guest of tests/guest dirtying its working set, `migscope watch` on
 * the source, a migration over a unix socket.  Every wait is bounded; every
 * process started is killed in the teardown, pass or fail.
 *
 * Each run goes on two real QEMUs: Debian's 7.2 (qemu-system-x86_64 in
 * PATH) and 10.0.2 from bookworm-backports, unpacked by scripts/qemu10.sh
 * (its tests skip, saying so, where that has not been run; setup.sh runs
 * it).  And `migscope import` of the same run's trace log must give the
 * downtime the watch gave.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include <migscope/capture.h>
#include <migscope/qemu_trace.h>
#include <migscope/session.h>

#include "testproc.h"
#include "testutil.h"
#include "tmbuild.h"

#define SEC TP_SEC

#define MAX_FW 8

struct e2e {
	char dir[64];
	char qemu[256];
	const char *version;  /* which QEMU: "7.2" or "10.0" */
	char fw[MAX_FW][256]; /* its -L folders */
	unsigned int nr_fw;
	char guest[512];
	const char *migscope;
	struct tp_procs procs;
	int src_qmp, dst_qmp;
	/* the Prometheus run: watch --listen's port, Prometheus's, the --metrics file */
	int metrics_port, prom_port;
	char listen[32], metrics[128], events[128];
	pid_t src_pid;
	int kvm; /* run the QEMUs with -accel kvm (else TCG) */
	/* the last watch: its CPU (getrusage of the reaped child) and the source QEMU's, ns */
	uint64_t watch_cpu_ns, watch_wall_ns, qemu_cpu_ns;
};

/*
 * The test's conversation with the source is kept as a transcript (the
 * format migscope import reads), so the same run can be imported after the
 * fact and compared with what the watch saw.
 */
static FILE *transcript;
static int transcript_fd = -1;

static void transcribe(int fd, const char *dir, const char *json)
{
	struct timespec ts;

	if (!transcript || fd != transcript_fd)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	fprintf(transcript, "{\"dir\": \"%s\", \"t\": %lld.%06ld, \"msg\": %s}\n", dir,
		(long long)ts.tv_sec, ts.tv_nsec / 1000, json);
	fflush(transcript);
}

static int find_in_path(const char *name, char *out, size_t len)
{
	const char *path = getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin";

	while (*path) {
		const char *end = strchr(path, ':');
		size_t n = end ? (size_t)(end - path) : strlen(path);

		snprintf(out, len, "%.*s/%s", (int)n, path, name);
		if (!access(out, X_OK))
			return 0;
		path += n + (end ? 1 : 0);
	}
	return -1;
}

static struct e2e *new_e2e(const char *version)
{
	struct e2e *e = calloc(1, sizeof(*e));
	const char *build = getenv("MIGSCOPE_BUILD") ? getenv("MIGSCOPE_BUILD") : "build";

	assert_non_null(e);
	e->src_qmp = e->dst_qmp = -1;
	e->version = version;
	e->migscope = getenv("MIGSCOPE") ? getenv("MIGSCOPE") : "build/san/migscope";
	snprintf(e->guest, sizeof(e->guest), "%s/guest/guest.elf", build);
	tp_mkdtemp(e->dir, "e2e");
	return e;
}

/* QEMU 7.2: Debian's, in PATH. */
static int setup72(void **state)
{
	struct e2e *e = new_e2e("7.2");

	if (find_in_path("qemu-system-x86_64", e->qemu, sizeof(e->qemu)))
		e->qemu[0] = 0;
	*state = e;
	return 0;
}

/*
 * QEMU 10.0.2: where scripts/qemu10.sh unpacked it (--check fetches
 * nothing), with the -L folders it prints for its firmware.
 */
static int setup10(void **state)
{
	struct e2e *e = new_e2e("10.0");
	FILE *f = popen("scripts/qemu10.sh --check 2>/dev/null", "r");
	char line[256];

	if (f) {
		if (!fgets(e->qemu, sizeof(e->qemu), f))
			e->qemu[0] = 0;
		e->qemu[strcspn(e->qemu, "\n")] = 0;
		if (pclose(f))
			e->qemu[0] = 0;
	}
	f = e->qemu[0] ? popen("scripts/qemu10.sh --args 2>/dev/null", "r") : NULL;
	while (f && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		if (strcmp(line, "-L") && e->nr_fw < MAX_FW)
			snprintf(e->fw[e->nr_fw++], sizeof(e->fw[0]), "%s", line);
	}
	if (f)
		pclose(f);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct e2e *e = *state;

	if (transcript)
		fclose(transcript);
	transcript = NULL;
	transcript_fd = -1;
	if (e->src_qmp >= 0)
		close(e->src_qmp);
	if (e->dst_qmp >= 0)
		close(e->dst_qmp);
	tp_kill_all(&e->procs);
	tp_rmdir(e->dir);
	free(e);
	return 0;
}

static void path_in(const struct e2e *e, const char *name, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", e->dir, name);
}

/* --- a small QMP driver: the test's own monitor, next to migscope's ---------- */

static struct json_object *qmp_read(int fd, uint64_t timeout_ns)
{
	static char buf[1 << 16];
	static size_t len;
	uint64_t end = ms_now_ns() + timeout_ns;

	for (;;) {
		char *nl = memchr(buf, '\n', len);

		if (nl) {
			struct json_object *o;

			*nl = 0;
			o = json_tokener_parse(buf);
			len -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, len);
			if (o) {
				transcribe(
				    fd, "recv",
				    json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
				return o;
			}
			continue;
		}
		if (ms_now_ns() > end || len == sizeof(buf))
			fail_msg("QMP: no message in %.0f s", (double)timeout_ns / SEC);
		ssize_t n = recv(fd, buf + len, sizeof(buf) - len, MSG_DONTWAIT);

		if (n > 0)
			len += (size_t)n;
		else if (n == 0)
			fail_msg("QMP: QEMU closed the socket");
		else
			tp_sleep_ms(5);
	}
}

/* Send a command and return its "return" (the caller puts it); events are skipped. */
static struct json_object *qmp_cmd(int fd, const char *json)
{
	struct json_object *msg, *ret;

	transcribe(fd, "send", json);
	assert_int_equal(send(fd, json, strlen(json), MSG_NOSIGNAL), (ssize_t)strlen(json));
	for (;;) {
		msg = qmp_read(fd, 20 * SEC);
		if (json_object_object_get_ex(msg, "error", &ret))
			fail_msg("QMP %s: %s", json, json_object_to_json_string(ret));
		if (json_object_object_get_ex(msg, "return", &ret)) {
			json_object_get(ret);
			json_object_put(msg);
			return ret;
		}
		json_object_put(msg);
	}
}

static int qmp_connect(const char *path, uint64_t timeout_ns)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	uint64_t end = ms_now_ns() + timeout_ns;
	int fd;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	for (;;) {
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		assert_true(fd >= 0);
		if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			break;
		close(fd);
		if (ms_now_ns() > end)
			fail_msg("QMP %s: cannot connect: %s", path, strerror(errno));
		tp_sleep_ms(20);
	}
	json_object_put(qmp_read(fd, 10 * SEC)); /* greeting */
	json_object_put(qmp_cmd(fd, "{\"execute\": \"qmp_capabilities\"}"));
	return fd;
}

static const char *status_of(int qmp, uint64_t *downtime_ms)
{
	static char status[32];
	struct json_object *r = qmp_cmd(qmp, "{\"execute\": \"query-migrate\"}"), *v;

	status[0] = 0;
	if (json_object_object_get_ex(r, "status", &v))
		snprintf(status, sizeof(status), "%s", json_object_get_string(v));
	if (downtime_ms && json_object_object_get_ex(r, "downtime", &v))
		*downtime_ms = (uint64_t)json_object_get_int64(v);
	json_object_put(r);
	return status;
}

/* QEMU's version, "7.2.22", as its monitor says. */
static const char *qemu_version(int qmp)
{
	static char v[32];
	struct json_object *r = qmp_cmd(qmp, "{\"execute\": \"query-version\"}"), *q, *x;
	int64_t n[3] = { 0 };
	static const char *const k[] = { "major", "minor", "micro" };

	if (json_object_object_get_ex(r, "qemu", &q))
		for (int i = 0; i < 3; i++)
			if (json_object_object_get_ex(q, k[i], &x))
				n[i] = json_object_get_int64(x);
	json_object_put(r);
	snprintf(v, sizeof(v), "%lld.%lld.%lld", (long long)n[0], (long long)n[1], (long long)n[2]);
	return v;
}

/* --- the run ------------------------------------------------------------------ */

struct run {
	const char *workload;		/* guest -append */
	const char *downtime;		/* watch --downtime-limit */
	const char *bandwidth;		/* watch --bandwidth */
	unsigned int cancel_after_ms;	/* 0: let it complete */
	int both_sides;			/* watch the destination too: --dst-qmp, --dst-qemu-log */
	unsigned int kill_dst_after_ms; /* 0: keep it; else kill the destination QEMU then */
	/* through the test's own monitor, after the watch attached: before `migrate`, and after */
	void (*before_migrate)(struct e2e *e);
	void (*while_migrating)(struct e2e *e);
	const char *const *watch_args; /* more watch options, NULL-terminated */
	int dst_stays_paused; /* -S on the destination: both sides' memory can be compared */
};

/* paused: -S, the VM stays stopped (a destination then stays paused once migrated) */
static pid_t start_qemu(struct e2e *e, int dest, const char *workload, int paused)
{
	char *argv[96];
	char qmp[160], qmp2[160], log[160], serial[192], incoming[192], sock[128];
	char enables[32][96];
	int n = 0;

	path_in(e, dest ? "dst.qmp" : "src.qmp", sock, sizeof(sock));
	snprintf(qmp, sizeof(qmp), "unix:%s,server=on,wait=off", sock);
	argv[n++] = e->qemu;
	for (unsigned int i = 0; i < e->nr_fw; i++) {
		argv[n++] = "-L";
		argv[n++] = e->fw[i];
	}
	argv[n++] = "-nodefaults";
	argv[n++] = "-no-user-config";
	argv[n++] = "-display";
	argv[n++] = "none";
	argv[n++] = "-machine";
	argv[n++] = "pc";
	argv[n++] = "-accel";
	argv[n++] = e->kvm ? "kvm" : "tcg";
	argv[n++] = "-m";
	argv[n++] = "128";
	argv[n++] = "-kernel";
	argv[n++] = e->guest;
	argv[n++] = "-append";
	argv[n++] = (char *)workload;
	path_in(e, dest ? "dst-serial.txt" : "serial.txt", sock, sizeof(sock));
	snprintf(serial, sizeof(serial), "file:%s", sock);
	argv[n++] = "-serial";
	argv[n++] = serial;
	argv[n++] = "-qmp";
	argv[n++] = qmp;
	if (paused)
		argv[n++] = "-S";
	if (dest) {
		path_in(e, "mig.sock", sock, sizeof(sock));
		snprintf(incoming, sizeof(incoming), "unix:%s", sock);
		argv[n++] = "-incoming";
		argv[n++] = incoming;
	}
	/* a second monitor for migscope: one QMP socket serves one client */
	path_in(e, dest ? "watch-dst.qmp" : "watch.qmp", sock, sizeof(sock));
	snprintf(qmp2, sizeof(qmp2), "unix:%s,server=on,wait=off", sock);
	argv[n++] = "-qmp";
	argv[n++] = qmp2;
	path_in(e, dest ? "dst.log" : "src.log", log, sizeof(log));
	argv[n++] = "-D";
	argv[n++] = log;
	argv[n++] = "-msg";
	argv[n++] = "timestamp=on";
	for (int i = 0; ms_qemu_trace_enable[i] && i < 32; i++) {
		snprintf(enables[i], sizeof(enables[i]), "enable=%s", ms_qemu_trace_enable[i]);
		argv[n++] = "-trace";
		argv[n++] = enables[i];
	}
	argv[n] = NULL;
	path_in(e, dest ? "dst.err" : "src.err", sock, sizeof(sock));
	return tp_spawn(&e->procs, argv, &(struct tp_io){ .err = sock });
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The CPU time (user + system) a running process has used, from /proc/PID/stat; ns. */
static uint64_t proc_cpu_ns(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long utime, stime;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	/* after the command name, which may hold spaces: state is field 3, utime 14, stime 15 */
	p = strrchr(buf, ')');
	assert_non_null(p);
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
		   &stime) != 2)
		fail_msg("%s: cannot read utime and stime", path);
	return (utime + stime) * 1000000000ull / (uint64_t)sysconf(_SC_CLK_TCK);
}

static uint64_t children_cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_CHILDREN, &ru);
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ull +
	       (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ull;
}

/* Run one migration under migscope watch; fills the paths of its report and capture. */
static void run_migration(struct e2e *e, const struct run *r, char *report, char *capture,
			  size_t len)
{
	char sock[128], log[128], err[128], cmd[256], serial[128], dsock[128], dlog[128];
	char *argv[48];
	uint64_t cpu0, qemu0, t0;
	pid_t watch;
	int n = 0;

	start_qemu(e, 1, r->workload, r->dst_stays_paused);
	e->src_pid = start_qemu(e, 0, r->workload, 0);
	path_in(e, "serial.txt", serial, sizeof(serial));
	tp_wait_for_text(serial, "migscope-guest: ready", 20 * SEC);
	path_in(e, "src.qmp", sock, sizeof(sock));
	e->src_qmp = qmp_connect(sock, 20 * SEC);
	path_in(e, "qmp.jsonl", sock, sizeof(sock));
	transcript = fopen(sock, "w");
	assert_non_null(transcript);
	transcript_fd = e->src_qmp;
	path_in(e, "dst.qmp", sock, sizeof(sock));
	e->dst_qmp = qmp_connect(sock, 20 * SEC);

	path_in(e, "watch.qmp", sock, sizeof(sock));
	path_in(e, "src.log", log, sizeof(log));
	path_in(e, "watch.err", err, sizeof(err));
	snprintf(report, len, "%s/report.json", e->dir);
	snprintf(capture, len, "%s/run.mscap", e->dir);
	argv[n++] = (char *)e->migscope;
	argv[n++] = "watch";
	argv[n++] = "--qmp";
	argv[n++] = sock;
	argv[n++] = "--qemu-log";
	argv[n++] = log;
	argv[n++] = "--downtime-limit";
	argv[n++] = (char *)r->downtime;
	argv[n++] = "--bandwidth";
	argv[n++] = (char *)r->bandwidth;
	argv[n++] = "--timeout";
	argv[n++] = "90s";
	argv[n++] = "--json";
	argv[n++] = "--record";
	argv[n++] = capture;
	if (r->both_sides) {
		path_in(e, "watch-dst.qmp", dsock, sizeof(dsock));
		path_in(e, "dst.log", dlog, sizeof(dlog));
		argv[n++] = "--dst-qmp";
		argv[n++] = dsock;
		argv[n++] = "--dst-qemu-log";
		argv[n++] = dlog;
	}
	for (const char *const *a = r->watch_args; a && *a && n < 46; a++)
		argv[n++] = (char *)*a;
	argv[n] = NULL;
	/* no other child exits before the watch does: its CPU is what RUSAGE_CHILDREN gains */
	cpu0 = children_cpu_ns();
	qemu0 = proc_cpu_ns(e->src_pid);
	t0 = mono_ns();
	watch = tp_spawn(&e->procs, argv, &(struct tp_io){ .out = report, .err = err });
	tp_wait_for_text(err, "migscope: watching QEMU", 20 * SEC);

	path_in(e, "mig.sock", sock, sizeof(sock));
	snprintf(cmd, sizeof(cmd),
		 "{\"execute\": \"migrate\", \"arguments\": {\"uri\": \"unix:%s\"}}", sock);
	if (r->before_migrate)
		r->before_migrate(e);
	json_object_put(qmp_cmd(e->src_qmp, cmd));
	if (r->while_migrating)
		r->while_migrating(e);
	if (r->kill_dst_after_ms) {
		tp_sleep_ms(r->kill_dst_after_ms);
		assert_string_equal(status_of(e->src_qmp, NULL), "active");
		json_object_put(qmp_cmd(e->dst_qmp, "{\"execute\": \"quit\"}"));
	}
	if (r->cancel_after_ms) {
		tp_sleep_ms(r->cancel_after_ms);
		assert_string_equal(status_of(e->src_qmp, NULL), "active");
		json_object_put(qmp_cmd(e->src_qmp, "{\"execute\": \"migrate_cancel\"}"));
	}
	tp_expect_exit(&e->procs, watch, 0, 120 * SEC, err);
	e->watch_wall_ns = mono_ns() - t0;
	e->watch_cpu_ns = children_cpu_ns() - cpu0;
	e->qemu_cpu_ns = proc_cpu_ns(e->src_pid) - qemu0;
}

static void replay_gives_the_same_report(struct e2e *e, const char *capture, const char *report)
{
	char err[128];

	path_in(e, "replay.err", err, sizeof(err));
	tp_replay_matches(&e->procs, e->migscope, capture, report, err);
}

/*
 * The telemetry consumer's verdicts in the report: the VM's downtime against
 * QMP's, and the convergence verdict of the source's "ram".  The report has
 * these once the telemetry consumer (issue 6) is in the build; until then the
 * "migration" object is absent and only the records are checked.
 */
/* What migscope took for the downtime before the marks: QMP's STOP to MIGRATION completed. */
static double stop_to_completed_ms(const char *capture)
{
	struct tu_recorder rec = { 0 };
	uint64_t stop = 0, done = 0;

	tp_read_capture(capture, &rec);
	for (size_t i = 0; i < rec.count; i++) {
		const struct ms_event_hdr *ev = tu_recorder__get(&rec, i);

		if (ev->type == MS_EV_RUNSTATE && !((const struct ms_ev_runstate *)ev)->running)
			stop = ev->ts_ns;
		if (ev->type == MS_EV_MIG_STATUS && !done &&
		    ((const struct ms_ev_mig_status *)ev)->status == MS_MIG_COMPLETED)
			done = ev->ts_ns;
	}
	tu_recorder__free(&rec);
	return stop && done > stop ? (double)(done - stop) / 1e6 : -1;
}

/* The report's downtime bounds [lo, hi] in ms; fails the test when they are absent. */
static void report_bounds(const char *path, double *lo, double *hi)
{
	struct json_object *rep = json_object_from_file(path), *m, *b;

	if (!rep)
		fail_msg("%s: not JSON", path);
	assert_true(json_object_object_get_ex(rep, "migration", &m));
	assert_true(json_object_object_get_ex(m, "downtime_bounds_ms", &b));
	if (!b || json_object_array_length(b) != 2)
		fail_msg("%s: no downtime_bounds_ms", path);
	*lo = json_object_get_double(json_object_array_get_idx(b, 0));
	*hi = json_object_get_double(json_object_array_get_idx(b, 1));
	json_object_put(rep);
}

static int report_telemetry(const char *path, double *downtime_ms, double *qmp_downtime_ms,
			    char *verdict, size_t len)
{
	struct json_object *rep = json_object_from_file(path), *m, *v, *devs;
	int have = 0;

	if (!rep)
		fail_msg("%s: not JSON", path);
	if (json_object_object_get_ex(rep, "migration", &m) && m) {
		have = 1;
		*downtime_ms = json_object_object_get_ex(m, "downtime_ms", &v) && v
				   ? json_object_get_double(v)
				   : -1;
		*qmp_downtime_ms = json_object_object_get_ex(m, "qmp_downtime_ms", &v) && v
				       ? json_object_get_double(v)
				       : -1;
		verdict[0] = 0;
		assert_true(json_object_object_get_ex(rep, "devices", &devs));
		for (size_t i = 0; i < json_object_array_length(devs); i++) {
			struct json_object *d = json_object_array_get_idx(devs, i), *c;

			if (!json_object_object_get_ex(d, "name", &v) ||
			    strcmp(json_object_get_string(v), "ram") ||
			    !json_object_object_get_ex(d, "role", &v) ||
			    strcmp(json_object_get_string(v), "source"))
				continue;
			if (json_object_object_get_ex(d, "convergence", &c) &&
			    json_object_object_get_ex(c, "verdict", &v))
				snprintf(verdict, len, "%s", json_object_get_string(v));
		}
	}
	json_object_put(rep);
	return have;
}

/* --- both sides ------------------------------------------------------------------ */

static double num(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !v)
		fail_msg("downtime_split.%s is absent or null", key);
	return json_object_get_double(v);
}

/*
 * The report's downtime by side: source + transfer + destination +
 * unaccounted is the downtime (within the rounding of four parts), inside
 * its bounds; the destination's part is there and less than the downtime,
 * and its load sections are listed.  Returns destination_ms.
 */
static double check_split(const struct e2e *e, const char *path)
{
	struct json_object *rep = json_object_from_file(path), *m, *sp, *secs, *b, *d, *v;
	double dt, sum, dst, lo, hi;

	if (!rep)
		fail_msg("%s: not JSON", path);
	assert_true(json_object_object_get_ex(rep, "migration", &m));
	assert_true(json_object_object_get_ex(m, "downtime_split", &sp));
	if (!sp)
		fail_msg("QEMU %s: no downtime_split with the destination watched", e->version);
	dt = num(m, "downtime_ms");
	assert_true(json_object_object_get_ex(m, "downtime_bounds_ms", &b) && b);
	lo = json_object_get_double(json_object_array_get_idx(b, 0));
	hi = json_object_get_double(json_object_array_get_idx(b, 1));
	dst = num(sp, "destination_ms");
	sum = num(sp, "source_ms") + num(sp, "transfer_ms") + dst + num(sp, "unaccounted_ms");
	if (fabs(sum - dt) > 0.0025)
		fail_msg("QEMU %s: the parts add up to %.3f ms, the downtime is %.3f ms",
			 e->version, sum, dt);
	if (sum < lo - 0.0025 || sum > hi + 0.0025)
		fail_msg("QEMU %s: the parts' %.3f ms outside the bounds [%.0f, %.0f]", e->version,
			 sum, lo, hi);
	if (!(dst >= 0 && dst < dt))
		fail_msg("QEMU %s: the destination's part %.3f ms of a %.3f ms downtime",
			 e->version, dst, dt);
	/*
	 * QEMU's downtime clock stops at the source's completion, not the
	 * destination's: under load the destination can start loading only once
	 * it has stopped (seen at a load average of 2 on 2 CPUs, 10.0.2: source
	 * 5.128 + transfer 0.027 ms, the guest paused 8.179 ms).  Then its part
	 * is 0, and the report says it began loading at the clock's end or later
	 * and resumed after it.
	 */
	if (dst == 0) {
		struct json_object *marks, *x;
		double saved, start;

		assert_true(json_object_object_get_ex(sp, "marks", &marks) && marks);
		assert_true(json_object_object_get_ex(marks, "source_saved", &x) && x);
		saved = num(x, "at_ms");
		assert_true(json_object_object_get_ex(marks, "destination_start", &x) && x);
		start = num(x, "at_ms");
		if (start < saved + num(sp, "transfer_ms") - 0.0015 ||
		    !(num(sp, "resumed_after_end_ms") > 0))
			fail_msg("QEMU %s: no destination part, but it began loading at %.3f ms, "
				 "%.3f ms after the source saved at %.3f",
				 e->version, start, start - saved, saved);
	}
	assert_true(fabs(num(sp, "destination_load_ms") + num(sp, "destination_resume_ms") - dst) <
		    0.0015);
	/* the destination's own sections loaded inside the downtime */
	assert_true(json_object_object_get_ex(sp, "sections", &secs) && secs);
	assert_true(json_object_array_length(secs) >= 5);
	v = json_object_array_get_idx(secs, 0);
	assert_true(num(v, "load_ms") > 0);
	assert_true(json_object_object_get_ex(v, "by", &v));
	assert_string_equal(json_object_get_string(v),
			    strcmp(e->version, "7.2") ? "vmstate_downtime_load" : "loadvm_section");
	/* it resumed, and the report says when */
	assert_true(json_object_object_get_ex(m, "destination", &d) && d);
	assert_true(json_object_object_get_ex(d, "resumed_at_ms", &v) && v);
	assert_true(json_object_object_get_ex(d, "lost_at_ms", &v) && !v);
	print_message("QEMU %s: downtime %.3f ms = source %.3f + transfer %.3f + destination %.3f "
		      "(load %.3f, resume %.3f) + unaccounted %.3f\n",
		      e->version, dt, num(sp, "source_ms"), num(sp, "transfer_ms"), dst,
		      num(sp, "destination_load_ms"), num(sp, "destination_resume_ms"),
		      num(sp, "unaccounted_ms"));
	json_object_put(rep);
	return dst;
}

/* The destination's part of an imported report (0 without a split). */
static double report_destination_ms(const char *path)
{
	struct json_object *rep = json_object_from_file(path), *m, *sp;
	double dst = 0;

	if (!rep)
		fail_msg("%s: not JSON", path);
	if (json_object_object_get_ex(rep, "migration", &m) &&
	    json_object_object_get_ex(m, "downtime_split", &sp) && sp)
		dst = num(sp, "destination_ms");
	json_object_put(rep);
	return dst;
}

/*
 * `migscope import` of this same run (the source's trace log and the test's
 * own QMP conversation with it), replayed: the downtime from QEMU's events
 * is the watch's (same log, same parser, the same MIGRATION events).  With
 * dst_dt >= 0 the destination's trace log is imported too, and its part of
 * the downtime is the watch's.
 */
static void import_gives_the_same_downtime(struct e2e *e, double watch_dt, double dst_dt)
{
	char log[128], dlog[128], cap[128], out[128], err[128], tr[128];
	char *argv[] = { (char *)e->migscope,
			 "import",
			 "--qemu-log",
			 log,
			 "--qmp-transcript",
			 tr,
			 "--record",
			 cap,
			 dst_dt >= 0 ? "--dst-qemu-log" : NULL,
			 dlog,
			 NULL };
	char *rargv[] = { (char *)e->migscope, "replay", cap, "--json", NULL };
	double dt, qmp_dt;
	char verdict[32];
	pid_t pid;

	path_in(e, "src.log", log, sizeof(log));
	path_in(e, "dst.log", dlog, sizeof(dlog));
	path_in(e, "qmp.jsonl", tr, sizeof(tr));
	path_in(e, "imported.mscap", cap, sizeof(cap));
	path_in(e, "import.err", err, sizeof(err));
	pid = tp_spawn(&e->procs, argv, &(struct tp_io){ .err = err });
	tp_expect_exit(&e->procs, pid, 0, 60 * SEC, err);
	path_in(e, "imported.json", out, sizeof(out));
	pid = tp_spawn(&e->procs, rargv, &(struct tp_io){ .out = out, .err = err });
	tp_expect_exit(&e->procs, pid, 0, 60 * SEC, err);
	assert_true(report_telemetry(out, &dt, &qmp_dt, verdict, sizeof(verdict)));
	if (fabs(dt - watch_dt) > 0.001)
		fail_msg("QEMU %s: imported downtime %.3f ms, the watch's %.3f ms", e->version, dt,
			 watch_dt);
	if (dst_dt >= 0 && fabs(report_destination_ms(out) - dst_dt) > 0.001)
		fail_msg("QEMU %s: imported destination part %.3f ms, the watch's %.3f ms",
			 e->version, report_destination_ms(out), dst_dt);
}

static void skip_without_qemu(const struct e2e *e)
{
	if (!e->qemu[0] && !strcmp(e->version, "10.0"))
		tu_skip("QEMU 10.0 is not unpacked (scripts/qemu10.sh fetches it from the "
			"configured Debian source's backports)");
	if (!e->qemu[0])
		tu_skip("qemu-system-x86_64 is not installed (scripts/setup.sh installs it)");
	if (access(e->guest, R_OK))
		tu_skip("the test guest is not built (make build-tests)");
}

static void small_working_set_migrates_and_the_watch_reports_it(void **state)
{
	struct e2e *e = *state;
	/* 32 MiB to send at 32 MiB/s while the guest dirties 4 MB/s: converges in ~1.5 s */
	const struct run r = { .workload = "ws=32M rate=1000",
			       .downtime = "300ms",
			       .bandwidth = "32M/s",
			       .both_sides = 1 };
	char report[128], capture[128];
	struct tu_recorder rec = { 0 };
	struct json_object *rep, *events, *by, *v;
	uint64_t qmp_downtime = UINT64_MAX;
	double dt, qmp_dt, lo, hi;
	char verdict[32];
	size_t pending = 0, stats = 0, last_status = MS_MIG_NONE;

	skip_without_qemu(e);
	run_migration(e, &r, report, capture, sizeof(report));
	assert_string_equal(status_of(e->src_qmp, &qmp_downtime), "completed");
	assert_true(qmp_downtime != UINT64_MAX);

	rep = json_object_from_file(report);
	if (!rep)
		fail_msg("%s: not JSON", report);
	assert_true(json_object_object_get_ex(rep, "events", &events));
	assert_true(json_object_object_get_ex(events, "by_type", &by));
	assert_true(json_object_object_get_ex(by, "qemu_pending", &v));
	assert_true(json_object_get_int64(v) > 0);
	/* under TCG the watch never asks calc-dirty-rate (7.2 would exit), and says so */
	assert_false(json_object_object_get_ex(by, "dirty_rate", &v));
	assert_true(json_object_object_get_ex(rep, "session", &v));
	assert_true(json_object_object_get_ex(v, "dirty_rate", &v));
	assert_true(json_object_object_get_ex(v, "line", &v));
	assert_string_equal(json_object_get_string(v),
			    "not sampled: QEMU runs under TCG (only KVM's dirty log is exact)");
	json_object_put(rep);

	tp_read_capture(capture, &rec);
	for (size_t i = 0; i < rec.count; i++) {
		const struct ms_event_hdr *ev = tu_recorder__get(&rec, i);

		if (ev->type == MS_EV_QEMU_PENDING)
			pending++;
		if (ev->type == MS_EV_MIG_STATS) {
			const struct ms_ev_mig_stats *m = (const void *)ev;

			stats++;
			if (m->status == MS_MIG_COMPLETED)
				assert_int_equal(m->downtime_ms, qmp_downtime);
		}
		if (ev->type == MS_EV_MIG_STATUS)
			last_status = ((const struct ms_ev_mig_status *)ev)->status;
	}
	/* pending bytes from the trace log */
	assert_true(pending >= 5);
	assert_true(stats >= 1);
	assert_int_equal(last_status, MS_MIG_COMPLETED);
	tu_recorder__free(&rec);
	if (report_telemetry(report, &dt, &qmp_dt, verdict, sizeof(verdict))) {
		/*
		 * QEMU's number is whole milliseconds, migscope's from QEMU's event
		 * times.  What must hold is that QMP's figure lies inside the bounds
		 * migscope reports (below); how close the point estimate comes (the
		 * 2 ms goal) is a figure, printed here and by make bench over the
		 * corpus (downtime_off_by_more_than_2ms), not a timed assertion.
		 */
		assert_true(qmp_dt == (double)qmp_downtime);
		assert_true(dt >= 0);
		assert_string_equal(verdict, "converging");
		import_gives_the_same_downtime(e, dt, check_split(e, report));
		report_bounds(report, &lo, &hi);
		if (qmp_dt < lo || qmp_dt > hi)
			fail_msg("QMP's downtime %.0f ms outside the bounds [%.0f, %.0f]", qmp_dt,
				 lo, hi);
		print_message("QEMU %s: downtime %.3f ms, bounds [%.0f, %.0f], QMP %.0f ms; STOP "
			      "to MIGRATION completed %.3f ms\n",
			      qemu_version(e->src_qmp), dt, lo, hi, qmp_dt,
			      stop_to_completed_ms(capture));
	}
	replay_gives_the_same_report(e, capture, report);
}

static void working_set_beyond_the_bandwidth_never_converges_and_is_cancelled(void **state)
{
	struct e2e *e = *state;
	/*
	 * 2 MiB dirtied over and over and a 20 ms limit (80 KiB at 4 MiB/s):
	 * every pass sends it all, and the sync after finds it all dirty again.
	 */
	const struct run r = { .workload = "ws=2M rate=0",
			       .downtime = "20ms",
			       .bandwidth = "4M/s",
			       .cancel_after_ms = 6000 };
	char report[128], capture[128];
	struct tu_recorder rec = { 0 };
	uint64_t end_ts = 0, late_min = UINT64_MAX;
	double dt, qmp_dt;
	char verdict[32];
	size_t pending = 0, late_exact = 0, last_status = MS_MIG_NONE;

	skip_without_qemu(e);
	run_migration(e, &r, report, capture, sizeof(report));
	assert_string_equal(status_of(e->src_qmp, NULL), "cancelled");

	tp_read_capture(capture, &rec);
	for (size_t i = 0; i < rec.count; i++) {
		const struct ms_event_hdr *ev = tu_recorder__get(&rec, i);

		if (ev->type == MS_EV_MIG_STATUS) {
			last_status = ((const struct ms_ev_mig_status *)ev)->status;
			if (last_status == MS_MIG_CANCELLING || last_status == MS_MIG_CANCELLED)
				end_ts = end_ts ? end_ts : ev->ts_ns;
		}
	}
	assert_true(end_ts);
	for (size_t i = 0; i < rec.count; i++) {
		const struct ms_event_hdr *ev = tu_recorder__get(&rec, i);
		const struct ms_ev_qemu_pending *p = (const void *)ev;

		if (ev->type != MS_EV_QEMU_PENDING)
			continue;
		pending++;
		/* the dirty set after each sync in the last 3 s before the cancel */
		if (p->exact && ev->ts_ns + 3 * SEC >= end_ts && ev->ts_ns < end_ts) {
			late_exact++;
			late_min = p->precopy < late_min ? p->precopy : late_min;
		}
	}
	assert_true(pending >= 20);
	/* every pass found (nearly) the whole working set dirty again: far above
	 * the 80 KiB that 20 ms at 4 MiB/s could send while the VM is stopped */
	assert_true(late_exact >= 3);
	assert_true(late_min >= (1u << 20));
	assert_int_equal(last_status, MS_MIG_CANCELLED);
	if (report_telemetry(report, &dt, &qmp_dt, verdict, sizeof(verdict)) &&
	    strcmp(verdict, "stalled") && strcmp(verdict, "diverging"))
		fail_msg("QEMU %s: ram's verdict is '%s', not stalled or diverging", e->version,
			 verdict);
	tu_recorder__free(&rec);
	replay_gives_the_same_report(e, capture, report);
}

static void set_parameters(struct e2e *e, unsigned int limit_ms, unsigned long long bw)
{
	char cmd[192];

	snprintf(cmd, sizeof(cmd),
		 "{\"execute\": \"migrate-set-parameters\", \"arguments\": "
		 "{\"downtime-limit\": %u, \"max-bandwidth\": %llu}}",
		 limit_ms, bw);
	json_object_put(qmp_cmd(e->src_qmp, cmd));
}

/* 20 ms at 4 MiB/s (80 KiB fit): a 2 MiB working set rewritten without a pause never fits */
static void tighten_limits(struct e2e *e)
{
	set_parameters(e, 20, 4ull << 20);
}

/* 3 s in, 50 ms at 8 MiB/s (410 KiB fit): still far under the working set */
static void change_limits_later(struct e2e *e)
{
	tp_sleep_ms(3000);
	assert_string_equal(status_of(e->src_qmp, NULL), "active");
	set_parameters(e, 50, 8ull << 20);
}

/* The limits, as the report lists them: limit (ms) and bandwidth of each. */
static size_t report_limits(const char *path, double *limit_ms, uint64_t *bw, size_t max,
			    double *in_force_ms)
{
	struct json_object *rep = json_object_from_file(path), *m, *a, *v;
	size_t n;

	if (!rep)
		fail_msg("%s: not JSON", path);
	assert_true(json_object_object_get_ex(rep, "migration", &m));
	assert_true(json_object_object_get_ex(m, "limits", &a));
	n = json_object_array_length(a);
	for (size_t i = 0; i < n && i < max; i++) {
		struct json_object *l = json_object_array_get_idx(a, i);

		assert_true(json_object_object_get_ex(l, "downtime_limit_ms", &v));
		limit_ms[i] = json_object_get_double(v);
		assert_true(json_object_object_get_ex(l, "bandwidth_bps", &v));
		bw[i] = (uint64_t)json_object_get_int64(v);
	}
	assert_true(json_object_object_get_ex(m, "downtime_limit_ms", &v));
	*in_force_ms = json_object_get_double(v);
	json_object_put(rep);
	return n;
}

/*
 * QEMU 7.2: the watch attaches with 300 ms at 64 MiB/s (under which the
 * working set would fit at once); another monitor (the test's) sets 20 ms at
 * 4 MiB/s before `migrate`, and 50 ms at 8 MiB/s 3 s into it; it is cancelled
 * after 6 s, never having fit.  The watch follows both changes: the report
 * lists the three limits in order and judges against the one in force at the
 * end, and never calls it converging.
 */
static void limits_set_through_another_monitor_are_followed_live(void **state)
{
	struct e2e *e = *state;
	const struct run r = { .workload = "ws=2M rate=0",
			       .downtime = "300ms",
			       .bandwidth = "64M/s",
			       .cancel_after_ms = 3000,
			       .before_migrate = tighten_limits,
			       .while_migrating = change_limits_later };
	char report[128], capture[128];
	struct tu_recorder rec = { 0 };
	const struct ms_ev_config *c;
	double limit[4], in_force, dt, qmp_dt;
	uint64_t bw[4], setup_ts = 0;
	char verdict[32];
	size_t n, judged = 0;
	int saw_20 = 0, saw_50 = 0;

	skip_without_qemu(e);
	run_migration(e, &r, report, capture, sizeof(report));
	assert_string_equal(status_of(e->src_qmp, NULL), "cancelled");

	n = report_limits(report, limit, bw, 4, &in_force);
	assert_int_equal(n, 3);
	assert_true(limit[0] == 300 && bw[0] == 64ull << 20);
	assert_true(limit[1] == 20 && bw[1] == 4ull << 20);
	assert_true(limit[2] == 50 && bw[2] == 8ull << 20);
	assert_true(in_force == 50);
	if (report_telemetry(report, &dt, &qmp_dt, verdict, sizeof(verdict)) &&
	    !strcmp(verdict, "converging"))
		fail_msg("ram's verdict is converging under limits it never fit");

	tp_read_capture(capture, &rec);
	for (size_t i = 0; i < rec.count; i++) {
		const struct ms_event_hdr *ev = tu_recorder__get(&rec, i);

		if (ev->type == MS_EV_MIG_STATUS &&
		    ((const struct ms_ev_mig_status *)ev)->status == MS_MIG_SETUP && !setup_ts)
			setup_ts = ev->ts_ns;
	}
	assert_int_equal(tu_recorder__count(&rec, MS_EV_CONFIG), 3);
	/* the tightening is seen at setup (set before `migrate`), the change while migrating */
	c = tu_recorder__nth(&rec, MS_EV_CONFIG, 1);
	assert_true(c->changed_after_ns && c->changed_after_ns < c->hdr.ts_ns);
	assert_true(c->hdr.ts_ns >= setup_ts && c->hdr.ts_ns < setup_ts + TP_SEC);
	c = tu_recorder__nth(&rec, MS_EV_CONFIG, 2);
	assert_true(c->hdr.ts_ns > setup_ts + 3 * TP_SEC);
	/* seen within a poll or two of QEMU taking it */
	assert_true(c->hdr.ts_ns - c->changed_after_ns < TP_SEC);

	/*
	 * Judged at each of RAM's pending samples: against the limit in force
	 * then (the last config before it), never converging, never contradicting
	 * itself.
	 */
	for (size_t i = 0; i < rec.count; i++) {
		const struct ms_event_hdr *ev = tu_recorder__get(&rec, i);
		uint64_t limit = 0;
		struct ms_tm_report rep;
		struct ms_session *s;

		if (ev->type != MS_EV_QEMU_PENDING)
			continue;
		for (size_t j = 0; j < 3; j++) {
			c = tu_recorder__nth(&rec, MS_EV_CONFIG, j);
			if (!j || c->hdr.ts_ns <= ev->ts_ns)
				limit = c->downtime_limit_ns;
		}
		s = tb_judge_at(&rec, ev->ts_ns, &rep);
		assert_true(ev->dev < rep.nr);
		if (rep.dev[ev->dev].conv.limit_ns != limit)
			fail_msg("judged at %.3f s against %.0f ms, in force %.0f ms",
				 (double)(ev->ts_ns - rep.t0_ns) / 1e9,
				 (double)rep.dev[ev->dev].conv.limit_ns / 1e6, (double)limit / 1e6);
		assert_int_not_equal(rep.dev[ev->dev].conv.verdict, MS_VERDICT_CONVERGING);
		tb_assert_report_consistent(&rep);
		ms_tm_report__free(&rep);
		ms_session__free(s);
		judged++;
		saw_20 |= limit == 20000000;
		saw_50 |= limit == 50000000;
	}
	/* both limits set through the other monitor were judged against */
	assert_true(judged >= 20 && saw_20 && saw_50);
	tu_recorder__free(&rec);
	replay_gives_the_same_report(e, capture, report);
}

/* What judging a capture at each of its samples, passes and measured rates found. */
struct judged {
	uint32_t judged, passes, ram;
	uint64_t t0_ns, first_rate_ns, first_stalled_ns; /* 0: none */
};

/*
 * Judge a never-completing run's capture as it stood at each pending sample,
 * query-migrate reply, pass boundary and measured dirty rate: no device and
 * not the VM is ever converging, and no verdict contradicts itself.
 */
static void never_converging_at_any_point(const char *capture, struct judged *j)
{
	struct tu_recorder rec = { 0 };
	const struct ms_event_hdr *ev;
	size_t off = 0;

	memset(j, 0, sizeof(*j));
	j->ram = MS_DEV_NONE;
	tp_read_capture(capture, &rec);
	while ((ev = tu_recorder__next(&rec, &off))) {
		struct ms_tm_report rep;
		struct ms_session *s;

		if (ev->type == MS_EV_PASS && ev->dev != MS_DEV_NONE) {
			j->passes++;
			j->ram = ev->dev;
		}
		if (ev->type == MS_EV_DIRTY_RATE && !j->first_rate_ns)
			j->first_rate_ns = ev->ts_ns;
		if (ev->type != MS_EV_QEMU_PENDING && ev->type != MS_EV_MIG_STATS &&
		    ev->type != MS_EV_PASS && ev->type != MS_EV_DIRTY_RATE)
			continue;
		s = tb_judge_at(&rec, ev->ts_ns, &rep);
		j->t0_ns = rep.t0_ns;
		for (uint32_t id = 0; id < rep.nr; id++)
			if (rep.dev[id].conv.verdict == MS_VERDICT_CONVERGING)
				fail_msg("%s converging at %.3f s: %s",
					 ms_devices__get(&s->devices, id)
					     ? ms_devices__get(&s->devices, id)->name
					     : "?",
					 (double)(ev->ts_ns - rep.t0_ns) / 1e9,
					 rep.dev[id].conv.reason);
		if (rep.vm.conv.verdict == MS_VERDICT_CONVERGING)
			fail_msg("the VM converging at %.3f s: %s",
				 (double)(ev->ts_ns - rep.t0_ns) / 1e9, rep.vm.conv.reason);
		if (rep.vm.conv.verdict == MS_VERDICT_STALLED && !j->first_stalled_ns)
			j->first_stalled_ns = ev->ts_ns;
		tb_assert_report_consistent(&rep);
		j->judged++;
		ms_tm_report__free(&rep);
		ms_session__free(s);
	}
	tu_recorder__free(&rec);
}

/*
 * The run of issue 20, on QEMU 7.2 and 10.0 under TCG: the guest rewrites a
 * 64 MiB working set with no pause, max-bandwidth 8 MiB/s, downtime-limit
 * 20 ms (160 KiB), cancelled after 15 s.  It can never converge: every pass
 * takes ~8 s and finds the whole working set dirty again.  Judged at every
 * record of its capture (every pending sample, sync and query-migrate reply),
 * neither RAM nor the VM is ever converging and no verdict contradicts
 * itself; the pending bytes' falling flank inside a pass is not a trend.
 */
static void working_set_of_64m_at_8m_per_s_is_never_converging_at_any_point(void **state)
{
	struct e2e *e = *state;
	const struct run r = { .workload = "ws=64M rate=0",
			       .downtime = "20ms",
			       .bandwidth = "8M/s",
			       .cancel_after_ms = 15000 };
	char report[128], capture[128];
	struct judged j;
	double dt, qmp_dt;
	char verdict[32];

	skip_without_qemu(e);
	run_migration(e, &r, report, capture, sizeof(report));
	assert_string_equal(status_of(e->src_qmp, NULL), "cancelled");
	never_converging_at_any_point(capture, &j);
	/* the setup's sync and the one after RAM's first pass (~8 s at 8 MiB/s) */
	assert_true(j.passes >= 2);
	assert_true(j.ram != MS_DEV_NONE);
	assert_true(j.judged >= 100);
	if (report_telemetry(report, &dt, &qmp_dt, verdict, sizeof(verdict)) &&
	    !strcmp(verdict, "converging"))
		fail_msg("ram's verdict in the report is converging");
	replay_gives_the_same_report(e, capture, report);
}

/* A child spinning on the CPU given, until the teardown kills it. */
static void busy_cpu(struct e2e *e, int cpu)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (!pid) {
		cpu_set_t set;
		volatile unsigned long spin = 0;

		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		sched_setaffinity(0, sizeof(set), &set);
		for (;;)
			spin++;
	}
	assert_true(e->procs.nr < TP_MAX_PROCS);
	e->procs.pid[e->procs.nr++] = pid;
}

/*
 * QEMU 7.2 with the other core busy: QEMU takes its downtime start before it
 * pauses the vCPUs, which under TCG and load takes milliseconds before STOP.
 * QMP's downtime must lie in the report's bounds; how far the point estimate
 * is from it is printed (a timing figure, not an assertion).
 */
static void downtime_bounds_hold_qmp_with_the_other_core_busy(void **state)
{
	struct e2e *e = *state;
	const struct run r = { .workload = "ws=32M rate=1000",
			       .downtime = "300ms",
			       .bandwidth = "32M/s" };
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	char report[128], capture[128], verdict[32];
	double dt, qmp_dt, lo, hi;

	skip_without_qemu(e);
	if (cpus < 2)
		tu_skip("one CPU: there is no other core to keep busy");
	busy_cpu(e, (int)cpus - 1);
	run_migration(e, &r, report, capture, sizeof(report));
	assert_string_equal(status_of(e->src_qmp, NULL), "completed");
	assert_true(report_telemetry(report, &dt, &qmp_dt, verdict, sizeof(verdict)));
	report_bounds(report, &lo, &hi);
	print_message("QEMU %s, CPU %ld busy: downtime %.3f ms, bounds [%.0f, %.0f], QMP %.0f ms "
		      "(%+.3f ms); STOP to MIGRATION completed %.3f ms\n",
		      qemu_version(e->src_qmp), cpus - 1, dt, lo, hi, qmp_dt, dt - qmp_dt,
		      stop_to_completed_ms(capture));
	if (qmp_dt < lo || qmp_dt > hi)
		fail_msg("QMP's downtime %.0f ms outside the bounds [%.0f, %.0f]", qmp_dt, lo, hi);
	assert_true(lo <= dt && dt <= hi);
	replay_gives_the_same_report(e, capture, report);
}

/* --- a real Prometheus scraping watch --listen ----------------------------------- */

/* A loopback port nobody listens on now. */
static int free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

/*
 * GET http://127.0.0.1:port/path (HTTP/1.0, the whole answer read): the
 * status, and the body in a malloc'd string (*body, the caller frees), or
 * -1 when nothing listens.
 */
static int http_get(int port, const char *path, const char *accept, char **body)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	size_t len = 0, cap = 1 << 16;
	char *buf, req[2048], *p;
	int fd = socket(AF_INET, SOCK_STREAM, 0), status = -1;
	struct timeval tv = { .tv_sec = 10 };
	ssize_t n;

	*body = NULL;
	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n%s%s%s\r\n", path,
		 accept ? "Accept: " : "", accept ? accept : "", accept ? "\r\n" : "");
	assert_int_equal(send(fd, req, strlen(req), MSG_NOSIGNAL), (ssize_t)strlen(req));
	buf = malloc(cap);
	assert_non_null(buf);
	while ((n = recv(fd, buf + len, cap - len - 1, 0)) > 0) {
		len += (size_t)n;
		if (len + 1 == cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
	}
	close(fd);
	buf[len] = 0;
	if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
		status = -1;
	p = strstr(buf, "\r\n\r\n");
	*body = strdup(p ? p + 4 : "");
	free(buf);
	return status;
}

/* `promtool check metrics` (Debian's prometheus 2.42) on a file of the text format. */
static void promtool_passes(const char *path)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "promtool check metrics < %s > %s.lint 2>&1", path, path);
	if (system(cmd)) {
		snprintf(cmd, sizeof(cmd), "%s.lint", path);
		fail_msg("promtool check metrics %s failed (%s)", path, cmd);
	}
}

/*
 * An instant query of Prometheus's HTTP API: the value of the one series it
 * returns, or NAN when it returns none.  Fails on more than one.
 */
static double prom_query(const struct e2e *e, const char *query)
{
	char path[1024], *body;
	size_t o = 0;
	struct json_object *r, *res, *v;
	double val = NAN;

	o = (size_t)snprintf(path, sizeof(path), "/api/v1/query?query=");
	for (const char *q = query; *q && o + 4 < sizeof(path); q++)
		if ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
		    (*q >= '0' && *q <= '9') || strchr("_-.~", *q))
			path[o++] = *q;
		else
			o += (size_t)snprintf(path + o, 4, "%%%02X", (unsigned char)*q);
	path[o] = 0;
	if (http_get(e->prom_port, path, NULL, &body) != 200)
		fail_msg("Prometheus query %s: %s", query, body ? body : "no answer");
	r = json_tokener_parse(body);
	if (!r || !json_object_object_get_ex(r, "data", &res) ||
	    !json_object_object_get_ex(res, "result", &res))
		fail_msg("Prometheus query %s: %s", query, body);
	if (json_object_array_length(res) > 1)
		fail_msg("Prometheus query %s: %zu series: %s", query,
			 json_object_array_length(res), body);
	if (json_object_array_length(res) == 1 &&
	    json_object_object_get_ex(json_object_array_get_idx(res, 0), "value", &v))
		val = strtod(json_object_get_string(json_object_array_get_idx(v, 1)), NULL);
	json_object_put(r);
	free(body);
	return val;
}

/* Before `migrate`: Prometheus scrapes the watch every 100 ms, and has once. */
static void start_prometheus(struct e2e *e)
{
	char cfg[128], tsdb[128], web[64], err[128], cfgarg[160], tsdbarg[160], *body;
	char *argv[] = { "prometheus", cfgarg, tsdbarg, web, "--log.level=warn", NULL };
	uint64_t end;
	FILE *f;

	path_in(e, "prometheus.yml", cfg, sizeof(cfg));
	path_in(e, "tsdb", tsdb, sizeof(tsdb));
	path_in(e, "prometheus.err", err, sizeof(err));
	f = fopen(cfg, "w");
	assert_non_null(f);
	fprintf(f,
		"global:\n"
		"  scrape_interval: 100ms\n"
		"  scrape_timeout: 90ms\n"
		"scrape_configs:\n"
		"  - job_name: migscope\n"
		"    static_configs:\n"
		"      - targets: ['127.0.0.1:%d']\n",
		e->metrics_port);
	fclose(f);
	snprintf(cfgarg, sizeof(cfgarg), "--config.file=%s", cfg);
	snprintf(tsdbarg, sizeof(tsdbarg), "--storage.tsdb.path=%s", tsdb);
	snprintf(web, sizeof(web), "--web.listen-address=127.0.0.1:%d", e->prom_port);
	tp_spawn(&e->procs, argv, &(struct tp_io){ .err = err });
	end = ms_now_ns() + 30 * SEC;
	while (http_get(e->prom_port, "/-/ready", NULL, &body) != 200) {
		free(body);
		if (ms_now_ns() > end)
			fail_msg("Prometheus not ready after 30 s (%s)", err);
		tp_sleep_ms(100);
	}
	free(body);
	while (prom_query(e, "up{job=\"migscope\"}") != 1) {
		if (ms_now_ns() > end)
			fail_msg("Prometheus has not scraped the watch after 30 s (%s)", err);
		tp_sleep_ms(100);
	}
}

/*
 * Prometheus, and two scrapes of our own while the watch runs: the text
 * format (no Accept header) passes promtool; OpenMetrics (Prometheus's
 * Accept header) ends in # EOF.
 */
static void prometheus_and_own_scrapes(struct e2e *e)
{
	char path[160], *body;
	FILE *f;

	start_prometheus(e);
	assert_int_equal(http_get(e->metrics_port, "/metrics", NULL, &body), 200);
	assert_non_null(strstr(body, "# TYPE migscope_build_info gauge"));
	snprintf(path, sizeof(path), "%s/scrape.txt", e->dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(body, f);
	fclose(f);
	free(body);
	promtool_passes(path);
	assert_int_equal(http_get(e->metrics_port, "/metrics",
				  "application/openmetrics-text;version=1.0.0,text/plain;q=0.5",
				  &body),
			 200);
	assert_true(strlen(body) > 6 && !strcmp(body + strlen(body) - 6, "# EOF\n"));
	assert_non_null(strstr(body, "# TYPE migscope_build info\n"));
	free(body);
	assert_int_equal(http_get(e->metrics_port, "/nothing", NULL, &body), 404);
	free(body);
	/* --events-json is flushed live: the first limits are there before `migrate` */
	tp_wait_for_text(e->events, "\"kind\":\"limits\"", 5 * SEC);
	/* and --metrics is rewritten every second while the watch runs */
	tp_wait_for_text(e->metrics, "# TYPE migscope_build_info gauge", 5 * SEC);
}

/* The --events-json lines: each status change once, in order; ram's last verdict the report's. */
static void event_lines_match(const char *path, const char *ram_verdict)
{
	FILE *f = fopen(path, "r");
	char line[4096], statuses[256] = "", last_ram[32] = "";
	int end = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		struct json_object *o = json_tokener_parse(line), *k, *v;

		if (!o)
			fail_msg("%s: not a JSON line: %s", path, line);
		assert_true(json_object_object_get_ex(o, "kind", &k));
		if (!strcmp(json_object_get_string(k), "status") &&
		    json_object_object_get_ex(o, "status", &v))
			snprintf(statuses + strlen(statuses), sizeof(statuses) - strlen(statuses),
				 "%s%s", statuses[0] ? " " : "", json_object_get_string(v));
		if (!strcmp(json_object_get_string(k), "verdict") &&
		    json_object_object_get_ex(o, "device", &v) && v &&
		    !strcmp(json_object_get_string(v), "ram") &&
		    json_object_object_get_ex(o, "verdict", &v))
			snprintf(last_ram, sizeof(last_ram), "%s",
				 v ? json_object_get_string(v) : "");
		end += !strcmp(json_object_get_string(k), "end");
		json_object_put(o);
	}
	fclose(f);
	/* QEMU 10.0 passes through "device" (the switchover) between active and completed */
	if (strcmp(statuses, "setup active completed") &&
	    strcmp(statuses, "setup active device completed"))
		fail_msg("%s: statuses %s", path, statuses);
	assert_string_equal(last_ram, ram_verdict);
	assert_int_equal(end, 1);
}

/* A number of the report at a path of keys ("migration", "downtime_ms"); NAN for null. */
static double report_num(struct json_object *o, const char *const *keys)
{
	for (; *keys; keys++)
		if (!o || !json_object_object_get_ex(o, *keys, &o))
			return NAN;
	return o ? json_object_get_double(o) : NAN;
}

static struct json_object *report_device(struct json_object *rep, const char *name)
{
	struct json_object *devs, *v;

	assert_true(json_object_object_get_ex(rep, "devices", &devs));
	for (size_t i = 0; i < json_object_array_length(devs); i++) {
		struct json_object *d = json_object_array_get_idx(devs, i);

		if (json_object_object_get_ex(d, "name", &v) &&
		    !strcmp(json_object_get_string(v), name))
			return d;
	}
	fail_msg("no device %s in the report", name);
	return NULL;
}

/* Prometheus's last value of a series (staleness markers aside) against the report's. */
static void prom_agrees(const struct e2e *e, const char *series, double want)
{
	char q[512];
	double got;

	snprintf(q, sizeof(q), "last_over_time(%s[10m])", series);
	got = prom_query(e, q);
	if (isnan(want) || isnan(got) ||
	    fabs(got - want) > 1e-9 * (fabs(want) > 1 ? fabs(want) : 1))
		fail_msg("%s: Prometheus %.9g, the JSON report %.9g", series, got, want);
}

/*
 * QEMU 7.2 and 10.0 under a real Prometheus (Debian's 2.42): watch --listen serves
 * /metrics while the migration runs, scraped every 100 ms, and the final
 * report once after it; --metrics writes the text-format file.  What
 * Prometheus stored last is the JSON report's downtime and pending bytes,
 * the ram section's pending series changed while it ran (live, not only the
 * end), and promtool accepts the file and a scrape.  --events-json beside it
 * is written live and ends with ram's verdict in the report.
 */
static void prometheus_scrapes_the_watch_and_agrees_with_the_json_report(void **state)
{
	struct e2e *e = *state;
	const char *args[] = { "--listen",	e->listen, "--metrics", e->metrics,
			       "--vm",		"e2e",	   "--label",	"namespace=ns1",
			       "--events-json", e->events, NULL };
	const struct run r = { .workload = "ws=32M rate=1000",
			       .downtime = "300ms",
			       .bandwidth = "32M/s",
			       .before_migrate = prometheus_and_own_scrapes,
			       .watch_args = args };
	static const char *const dt_ms[] = { "migration", "downtime_ms", NULL };
	static const char *const stopcopy_ms[] = { "downtime", "stopcopy_ms", NULL };
	static const char *const initial[] = { "convergence", "initial_bytes", NULL };
	static const char *const dirty[] = { "convergence", "dirty_bytes", NULL };
	char report[128], capture[128], path[160];
	struct json_object *rep, *ram;
	const char *verdict;
	double changes;

	skip_without_qemu(e);
	if (access("/usr/bin/prometheus", X_OK) || access("/usr/bin/promtool", X_OK))
		tu_skip("Debian's prometheus is not installed (scripts/setup.sh installs it)");
	e->metrics_port = free_port();
	e->prom_port = free_port();
	snprintf(e->listen, sizeof(e->listen), "127.0.0.1:%d", e->metrics_port);
	path_in(e, "migscope.prom", e->metrics, sizeof(e->metrics));
	path_in(e, "events.jsonl", e->events, sizeof(e->events));
	run_migration(e, &r, report, capture, sizeof(report));
	assert_string_equal(status_of(e->src_qmp, NULL), "completed");

	promtool_passes(e->metrics);
	rep = json_object_from_file(report);
	assert_non_null(rep);
	ram = report_device(rep, "ram");
	prom_agrees(e, "migscope_migration_downtime_seconds{vm=\"e2e\",namespace=\"ns1\"}",
		    report_num(rep, dt_ms) / 1000);
	prom_agrees(e,
		    "migscope_device_last_downtime_seconds{device=\"ram\",phase=\"stop_copy\","
		    "side=\"source\",vm=\"e2e\"}",
		    report_num(ram, stopcopy_ms) / 1000);
	prom_agrees(e, "migscope_device_pending_bytes{device=\"ram\",kind=\"precopy_initial\"}",
		    report_num(ram, initial));
	prom_agrees(e, "migscope_device_pending_bytes{device=\"ram\",kind=\"precopy_dirty\"}",
		    report_num(ram, dirty));
	verdict = json_object_get_string(
	    json_object_object_get(json_object_object_get(ram, "convergence"), "verdict"));
	snprintf(path, sizeof(path),
		 "migscope_device_convergence{device=\"ram\",migscope_device_convergence=\"%s\"}",
		 verdict);
	prom_agrees(e, path, 1);
	event_lines_match(e->events, verdict);
	/* scraped live: the pending bytes moved while it migrated */
	changes = prom_query(e, "changes(migscope_device_pending_bytes{device=\"ram\","
				"kind=\"precopy_initial\"}[10m])");
	if (!(changes >= 2))
		fail_msg("ram's pending bytes changed %.0f times in Prometheus", changes);
	print_message("QEMU %s, Prometheus 2.42: downtime %.3f ms, ram's pending bytes changed "
		      "%.0f times over the scrapes\n",
		      qemu_version(e->src_qmp), report_num(rep, dt_ms), changes);
	json_object_put(rep);
	replay_gives_the_same_report(e, capture, report);
}

/*
 * make bench (scripts/run-bench.sh, MIGSCOPE_BENCH=1 with the optimized CLI):
 * the agent's CPU beside a real migration.  `migscope watch` (QMP, the QEMU
 * trace log, the BPF collectors where the kernel has them) over the first
 * run above, its CPU time (getrusage of the reaped child) over its wall time,
 * in % of one core; baseline: the source QEMU's own CPU over the same time.
 */
static void agent_cpu_beside_a_migration(void **state)
{
	struct e2e *e = *state;
	const struct run r = { .workload = "ws=32M rate=1000",
			       .downtime = "300ms",
			       .bandwidth = "32M/s" };
	char report[128], capture[128];
	double agent, qemu;

	skip_without_qemu(e);
	run_migration(e, &r, report, capture, sizeof(report));
	assert_string_equal(status_of(e->src_qmp, NULL), "completed");
	agent = 100.0 * (double)e->watch_cpu_ns / (double)e->watch_wall_ns;
	qemu = 100.0 * (double)e->qemu_cpu_ns / (double)e->watch_wall_ns;
	printf("# agent_cpu_pct_watch: %s watch beside a QEMU %s migration (32 MiB working set, "
	       "TCG), CPU\n# in %% of one core over its %.2f s (target < 2); baseline: the "
	       "source QEMU over the same time\n",
	       e->migscope, qemu_version(e->src_qmp), e->watch_wall_ns / 1e9);
	printf("BENCH agent_cpu_pct_watch %.2f %% baseline=%.2f ratio=%.4f\n", agent, qemu,
	       qemu > 0 ? agent / qemu : 0);
}

/*
 * The destination QEMU quits mid-migration: the source's migration fails, the
 * watch goes on to its report, and the destination's end is a recorded loss
 * (a loss record of the destination's qemu-vm device; migration.destination
 * says when), said in one warning line.
 */
static void destination_that_goes_away_is_a_recorded_loss(void **state)
{
	struct e2e *e = *state;
	/* never converges (as the cancelled run): the destination goes while it runs */
	const struct run r = { .workload = "ws=2M rate=0",
			       .downtime = "20ms",
			       .bandwidth = "4M/s",
			       .both_sides = 1,
			       .kill_dst_after_ms = 2000 };
	char report[128], capture[128], err[128];
	struct json_object *rep, *m, *d, *v;
	struct tu_recorder rec = { 0 };
	unsigned char *text = NULL;
	size_t losses = 0, warnings = 0;

	skip_without_qemu(e);
	run_migration(e, &r, report, capture, sizeof(report));
	assert_string_equal(status_of(e->src_qmp, NULL), "failed");
	tp_read_capture(capture, &rec);
	for (size_t i = 0; i < rec.count; i++) {
		const struct ms_event_hdr *ev = tu_recorder__get(&rec, i);

		if (ev->type == MS_EV_LOSS && ev->dev != MS_DEV_NONE &&
		    ((const struct ms_ev_loss *)ev)->reason == MS_LOSS_SOURCE_ERROR)
			losses++;
	}
	tu_recorder__free(&rec);
	assert_int_equal(losses, 1);
	rep = json_object_from_file(report);
	if (!rep)
		fail_msg("%s: not JSON", report);
	assert_true(json_object_object_get_ex(rep, "migration", &m));
	assert_true(json_object_object_get_ex(m, "destination", &d) && d);
	assert_true(json_object_object_get_ex(d, "lost_at_ms", &v) && v);
	assert_true(json_object_get_double(v) > 0);
	assert_true(json_object_object_get_ex(d, "resumed_at_ms", &v) && !v);
	json_object_put(rep);
	path_in(e, "watch.err", err, sizeof(err));
	tu_read_file(err, &text);
	assert_non_null(text);
	for (char *p = (char *)text; (p = strstr(p, "warning: destination: ")); p++)
		warnings++;
	assert_int_equal(warnings, 1);
	free(text);
	replay_gives_the_same_report(e, capture, report);
}

/* --dst-qmp a socket nobody serves: one line naming it, exit 1, before anything else. */
static void destination_socket_nobody_serves_is_one_line(void **state)
{
	struct e2e *e = *state;
	char sock[128], none[128], err[128], serial[128];
	char *argv[] = { (char *)e->migscope, "watch", "--qmp", sock, "--dst-qmp", none, NULL };
	unsigned char *text = NULL;
	size_t lines = 0;
	pid_t pid;

	skip_without_qemu(e);
	start_qemu(e, 0, "ws=1M rate=0", 0);
	path_in(e, "serial.txt", serial, sizeof(serial));
	tp_wait_for_text(serial, "migscope-guest: ready", 20 * SEC);
	path_in(e, "watch.qmp", sock, sizeof(sock));
	path_in(e, "none.qmp", none, sizeof(none));
	path_in(e, "watch.err", err, sizeof(err));
	pid = tp_spawn(&e->procs, argv, &(struct tp_io){ .err = err });
	tp_expect_exit(&e->procs, pid, 1, 30 * SEC, err);
	tu_read_file(err, &text);
	assert_non_null(text);
	for (char *p = (char *)text; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, 1);
	assert_non_null(strstr((char *)text, "--dst-qmp: QMP "));
	assert_non_null(strstr((char *)text, "none.qmp: failed to connect"));
	free(text);
}

/* --- the dirty rate, under KVM ------------------------------------------------------- */

/* KVM where it can be had: /dev/kvm read-write and QEMU starting with -accel kvm. */
static void skip_without_kvm(struct e2e *e)
{
	char cmd[2048];
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	size_t n = 0;
	FILE *f;

	skip_without_qemu(e);
	if (fd < 0) {
		snprintf(cmd, sizeof(cmd),
			 "/dev/kvm cannot be opened read-write (%s): the dirty rate is sampled "
			 "under KVM only",
			 strerror(errno));
		tu_skip(cmd);
	}
	close(fd);
	n += (size_t)snprintf(cmd + n, sizeof(cmd) - n, "%s", e->qemu);
	for (unsigned int i = 0; i < e->nr_fw; i++)
		n += (size_t)snprintf(cmd + n, sizeof(cmd) - n, " -L %s", e->fw[i]);
	snprintf(cmd + n, sizeof(cmd) - n,
		 " -accel kvm -machine none -nodefaults -display none -S -monitor stdio "
		 ">/dev/null 2>&1");
	f = popen(cmd, "w");
	assert_non_null(f);
	fputs("quit\n", f);
	if (pclose(f)) {
		snprintf(cmd, sizeof(cmd), "QEMU %s does not start with -accel kvm here",
			 e->version);
		tu_skip(cmd);
	}
	e->kvm = 1;
}

/*
 * Once a migration completed onto a destination started with -S, both
 * sides are stopped: the source since its switchover, the destination since
 * it loaded.  Their guest RAM must then be the same, page for page: a page
 * the guest dirtied that the migration did not send again (its dirty bit
 * lost, e.g. cleared by someone else's sync of KVM's dirty log) is older on
 * the destination.  Compared from 1 MiB (the guest's code, stack and working
 * set, at 4 MiB) to the end of its 128 MiB.  Returns the pages compared.
 */
static size_t guest_ram_is_the_same_on_both_sides(struct e2e *e)
{
	const size_t base = 1u << 20, size = (128u << 20) - base, page = 4096;
	char path[2][160], cmd[320];
	const int qmp[2] = { e->src_qmp, e->dst_qmp };
	uint64_t end = mono_ns() + 20 * SEC;
	struct json_object *st, *x;
	size_t differ = 0, first = SIZE_MAX;
	unsigned char *a, *b;
	FILE *f[2];

	/* the destination leaves "inmigrate" for "paused" once it has loaded */
	for (;;) {
		const char *status;

		st = qmp_cmd(e->dst_qmp, "{\"execute\": \"query-status\"}");
		status = json_object_object_get_ex(st, "status", &x) ? json_object_get_string(x) : "";
		if (!strcmp(status, "paused")) {
			json_object_put(st);
			break;
		}
		if (mono_ns() > end)
			fail_msg("destination still '%s' 20 s after the migration completed", status);
		json_object_put(st);
		tp_sleep_ms(20);
	}
	for (int i = 0; i < 2; i++) {
		path_in(e, i ? "dst-ram.bin" : "src-ram.bin", path[i], sizeof(path[i]));
		snprintf(cmd, sizeof(cmd),
			 "{\"execute\": \"pmemsave\", \"arguments\": {\"val\": %zu, \"size\": %zu, "
			 "\"filename\": \"%s\"}}",
			 base, size, path[i]);
		json_object_put(qmp_cmd(qmp[i], cmd));
	}
	a = malloc(size);
	b = malloc(size);
	assert_true(a && b);
	for (int i = 0; i < 2; i++) {
		f[i] = fopen(path[i], "rb");
		assert_non_null(f[i]);
		assert_int_equal(fread(i ? b : a, 1, size, f[i]), size);
		fclose(f[i]);
		unlink(path[i]);
	}
	for (size_t off = 0; off < size; off += page)
		if (memcmp(a + off, b + off, page)) {
			/* the first word that differs, to name it */
			for (size_t w = off; first == SIZE_MAX && w < off + page; w += 4)
				if (memcmp(a + w, b + w, 4))
					first = w;
			differ++;
		}
	if (differ)
		fail_msg("%zu of %zu guest pages differ between source and destination, the first "
			 "at guest address 0x%zx (source's word %#x, destination's %#x)",
			 differ, size / page, base + first, *(uint32_t *)(void *)(a + first),
			 *(uint32_t *)(void *)(b + first));
	free(a);
	free(b);
	return size / page;
}

/*
 * The guest rewrites 24 MiB at 2500 pages a second: 9.77 MiB/s.  Under KVM
 * the watch keeps a calc-dirty-rate window in flight while the migration is
 * active (QEMU 7.2: 1 s; 10.0: 250 and 1000 ms in turn); every window no
 * dirty sync of the migration fell into brackets 9.77 MiB/s in [lo, hi), and
 * the migration completes with the downtime QMP gives, as without them.
 * Each window syncs and clears KVM's dirty log while the migration relies on
 * it: the destination (started with -S) ends with the source's guest RAM,
 * page for page.  16 MiB/s against 9.77: four or five passes, ~3.5 s.
 */
static void under_kvm_the_watch_samples_the_dirty_rate(void **state)
{
	struct e2e *e = *state;
	const struct run r = { .workload = "ws=24M rate=2500",
			       .downtime = "300ms",
			       .bandwidth = "16M/s",
			       .dst_stays_paused = 1 };
	const double mib = 1 << 20, rate = 2500.0 * 4096 / mib;
	uint64_t qmp_downtime = UINT64_MAX, syncs[256], active = 0, end = 0;
	const struct ms_ev_dirty_rate *dr[64];
	size_t nr_syncs = 0, nr_dr = 0, clean = 0;
	struct tu_recorder rec = { 0 };
	char report[128], capture[128], verdict[32];
	double dt, qmp_dt, lo, hi;

	skip_without_kvm(e);
	run_migration(e, &r, report, capture, sizeof(report));
	assert_string_equal(status_of(e->src_qmp, &qmp_downtime), "completed");
	/* the windows synced and cleared KVM's dirty log under the migration: nothing lost */
	print_message("QEMU %s: %zu guest pages the same on both sides\n", e->version,
		      guest_ram_is_the_same_on_both_sides(e));

	tp_read_capture(capture, &rec);
	for (size_t i = 0; i < rec.count; i++) {
		const struct ms_event_hdr *ev = tu_recorder__get(&rec, i);

		/* the first sync is setup's, before any window: it starts the dirty log */
		if (ev->type == MS_EV_PASS && ((const struct ms_ev_pass *)ev)->pass > 1 &&
		    nr_syncs < 256)
			syncs[nr_syncs++] = ev->ts_ns;
		if (ev->type == MS_EV_DIRTY_RATE && nr_dr < 64)
			dr[nr_dr++] = (const void *)ev;
		if (ev->type == MS_EV_MIG_STATUS) {
			const struct ms_ev_mig_status *st = (const void *)ev;

			if (st->status == MS_MIG_ACTIVE && !active)
				active = ev->ts_ns;
			if (st->status == MS_MIG_COMPLETED)
				end = ev->ts_ns;
		}
		if (ev->type == MS_EV_DIRTY_RATE_STATE)
			assert_int_equal(((const struct ms_ev_dirty_rate_state *)ev)->state,
					 MS_DRS_SAMPLING);
	}
	assert_true(active && end > active);
	if (nr_dr < 2)
		fail_msg("%zu dirty-rate windows in a %.1f s migration", nr_dr,
			 (double)(end - active) / 1e9);
	for (size_t i = 0; i < nr_dr; i++) {
		uint64_t t1 = dr[i]->hdr.ts_ns, t0 = t1 - dr[i]->window_ns, want;
		int synced = 0;

		/* measured while the migration was active, by KVM's dirty log */
		assert_true(t0 >= active && t1 <= end);
		assert_int_equal(dr[i]->mode, MS_DIRTY_RATE_DIRTY_BITMAP);
		/* 10.0 says how long it took: from the window asked for up to twice it */
		want = !strcmp(e->version, "7.2") || i % 2 ? 1000000000ull : 250000000ull;
		if (dr[i]->window_ns < want || dr[i]->window_ns > 2 * want)
			fail_msg("window %zu of %llu ns, asked for %llu", i,
				 (unsigned long long)dr[i]->window_ns, (unsigned long long)want);
		for (size_t k = 0; k < nr_syncs; k++)
			synced |= syncs[k] >= t0 && syncs[k] < t1;
		print_message("QEMU %s: window %zu [%.3f, %.3f] s: [%.2f, %.2f) MiB/s%s\n",
			      e->version, i, (double)(t0 - active) / 1e9,
			      (double)(t1 - active) / 1e9, (double)dr[i]->rate_bps / mib,
			      (double)dr[i]->rate_hi_bps / mib,
			      synced ? " (a dirty sync in it)" : "");
		if (synced)
			continue;
		clean++;
		if (!((double)dr[i]->rate_bps / mib <= rate &&
		      rate < (double)dr[i]->rate_hi_bps / mib))
			fail_msg("window %zu: [%.2f, %.2f) MiB/s does not hold the guest's %.2f", i,
				 (double)dr[i]->rate_bps / mib, (double)dr[i]->rate_hi_bps / mib,
				 rate);
	}
	assert_true(clean >= 1);
	tu_recorder__free(&rec);
	if (report_telemetry(report, &dt, &qmp_dt, verdict, sizeof(verdict))) {
		assert_true(qmp_dt == (double)qmp_downtime);
		report_bounds(report, &lo, &hi);
		if (qmp_dt < lo || qmp_dt > hi)
			fail_msg("QMP's downtime %.0f ms outside the bounds [%.0f, %.0f]", qmp_dt,
				 lo, hi);
	}
	replay_gives_the_same_report(e, capture, report);
}

/*
 * Issue 20's run under KVM: the guest rewrites 64 MiB as fast as it can,
 * 8 MiB/s, 20 ms, cancelled after 5 s, inside its first pass (~8 s of data
 * at 8 MiB/s).  Under TCG the passes alone say unknown until that pass ends;
 * here QEMU's first clean window (the guest's whole working set within it:
 * at least 64 MiB/s) makes it stalled at once, and never converging.
 */
static void under_kvm_64m_at_8m_per_s_is_stalled_inside_its_first_pass(void **state)
{
	struct e2e *e = *state;
	const struct run r = { .workload = "ws=64M rate=0",
			       .downtime = "20ms",
			       .bandwidth = "8M/s",
			       .cancel_after_ms = 5000 };
	char report[128], capture[128];
	struct json_object *rep;
	const char *verdict, *reason;
	struct judged j;

	skip_without_kvm(e);
	run_migration(e, &r, report, capture, sizeof(report));
	assert_string_equal(status_of(e->src_qmp, NULL), "cancelled");
	never_converging_at_any_point(capture, &j);
	/* only the setup's sync: the first pass never ended */
	assert_int_equal(j.passes, 1);
	if (!j.first_rate_ns || !j.first_stalled_ns)
		fail_msg("first measured rate at %.3f s, first stalled at %.3f s (0: none)",
			 j.first_rate_ns ? (double)(j.first_rate_ns - j.t0_ns) / 1e9 : 0.0,
			 j.first_stalled_ns ? (double)(j.first_stalled_ns - j.t0_ns) / 1e9 : 0.0);
	/*
	 * From the first window (the setup's sync, made before `active`, is not
	 * in it), as soon as QEMU's answer arrived: a poll or two after it ended.
	 */
	if (j.first_stalled_ns > j.first_rate_ns + 300000000ull)
		fail_msg("stalled only at %.3f s, the first window measured at %.3f s",
			 (double)(j.first_stalled_ns - j.t0_ns) / 1e9,
			 (double)(j.first_rate_ns - j.t0_ns) / 1e9);
	print_message("QEMU %s: stalled from %.3f s (first window %.3f s), inside the first pass\n",
		      e->version, (double)(j.first_stalled_ns - j.t0_ns) / 1e9,
		      (double)(j.first_rate_ns - j.t0_ns) / 1e9);
	rep = json_object_from_file(report);
	assert_non_null(rep);
	verdict = json_object_get_string(tu_json_get(rep, "migration.convergence.verdict"));
	reason = json_object_get_string(tu_json_get(rep, "migration.convergence.reason"));
	assert_string_equal(verdict ? verdict : "", "stalled");
	if (!reason || !strstr(reason, "calc-dirty-rate: dirtying at least"))
		fail_msg("stalled for another reason: %s", reason ? reason : "(none)");
	json_object_put(rep);
	replay_gives_the_same_report(e, capture, report);
}

int main(void)
{
	/* one test per QEMU version and run, named so */
#define E2E(version, f, setup)                                                                     \
	{                                                                                          \
		"qemu_" version "_" #f, f, setup, teardown, NULL                                   \
	}
	const struct CMUnitTest tests[] = {
		E2E("7.2", small_working_set_migrates_and_the_watch_reports_it, setup72),
		E2E("7.2", working_set_of_64m_at_8m_per_s_is_never_converging_at_any_point,
		    setup72),
		E2E("7.2", working_set_beyond_the_bandwidth_never_converges_and_is_cancelled,
		    setup72),
		E2E("7.2", limits_set_through_another_monitor_are_followed_live, setup72),
		E2E("7.2", downtime_bounds_hold_qmp_with_the_other_core_busy, setup72),
		E2E("7.2", destination_that_goes_away_is_a_recorded_loss, setup72),
		E2E("7.2", destination_socket_nobody_serves_is_one_line, setup72),
		E2E("7.2", prometheus_scrapes_the_watch_and_agrees_with_the_json_report, setup72),
		E2E("7.2", under_kvm_the_watch_samples_the_dirty_rate, setup72),
		E2E("7.2", under_kvm_64m_at_8m_per_s_is_stalled_inside_its_first_pass, setup72),
		E2E("10.0", small_working_set_migrates_and_the_watch_reports_it, setup10),
		E2E("10.0", working_set_of_64m_at_8m_per_s_is_never_converging_at_any_point,
		    setup10),
		E2E("10.0", working_set_beyond_the_bandwidth_never_converges_and_is_cancelled,
		    setup10),
		E2E("10.0", limits_set_through_another_monitor_are_followed_live, setup10),
		E2E("10.0", downtime_bounds_hold_qmp_with_the_other_core_busy, setup10),
		E2E("10.0", destination_that_goes_away_is_a_recorded_loss, setup10),
		E2E("10.0", prometheus_scrapes_the_watch_and_agrees_with_the_json_report, setup10),
		E2E("10.0", under_kvm_the_watch_samples_the_dirty_rate, setup10),
		E2E("10.0", under_kvm_64m_at_8m_per_s_is_stalled_inside_its_first_pass, setup10),
	};
#undef E2E

	const struct CMUnitTest bench[] = {
		{ "qemu_7.2_agent_cpu_beside_a_migration", agent_cpu_beside_a_migration, setup72,
		  teardown, NULL },
	};

	signal(SIGPIPE, SIG_IGN);
	if (getenv("MIGSCOPE_BENCH"))
		return cmocka_run_group_tests(bench, NULL, NULL);
	/* one test by name (a glob), to repeat a measurement: MIGSCOPE_E2E=downtime_bounds* */
	if (getenv("MIGSCOPE_E2E"))
		cmocka_set_test_filter(getenv("MIGSCOPE_E2E"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
