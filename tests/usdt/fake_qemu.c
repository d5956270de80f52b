// SPDX-License-Identifier: GPL-2.0-only
/*
 * A stand-in for a QEMU built with the dtrace trace backend: it has USDT
 * probes of provider "qemu" with QEMU's trace event names and argument
 * lists, including the older layouts of the same events (QEMU 7.2 to 9.1), and
 * fires one source-side migration of a vfio device through them.
 * test_collect_usdt.c checks the records, in this order.
 *
 * Most strings are on the stack, where a probe reads them.  The first state
 * names are in a file mapping the process never touched, like a literal in
 * a .rodata page QEMU never read itself: BPF cannot fault it in and the
 * agent reads it from the process instead.  So the process stays alive
 * after firing until it is told to go.
 *
 * Two ways to drive it:
 *
 *   fake_qemu             says "ready" once it runs (so the test attaches to
 *                         this binary, not to the test's own image the child
 *                         had before exec); a line on stdin fires the probes,
 *                         it says "fired", and a second line ends it.
 *   fake_qemu --qmp PATH  also a QEMU monitor on the unix socket PATH, so that
 *                         `migscope watch --qmp PATH` finds this process as
 *                         the socket's peer, as it finds a real QEMU.  The
 *                         probes fire at the second query-migrate (the first
 *                         is the watch's connect; by the second the watch has
 *                         attached), "fired" is said, and the migration
 *                         stays active until "complete" arrives on stdin:
 *                         then STOP and MIGRATION(completed) are sent and
 *                         query-migrate answers completed.  It ends when the
 *                         watch closes the socket.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sdt.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

/* "PRE_COPY\0ERROR\0" in a mapping whose page is not faulted in yet */
static const char *untouched_strings(void)
{
	static const char text[] = "PRE_COPY\0ERROR";
	int fd = memfd_create("fake_qemu", 0);
	void *p;

	if (fd < 0 || write(fd, text, sizeof(text)) != sizeof(text))
		return NULL;
	p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	return p == MAP_FAILED ? NULL : p;
}

static void fire(const char *far)
{
	char dev[] = "0000:00:02.0", dev8[] = "0000:00:03.0", dev72[] = "0000:00:04.0";
	char vfio_sec[] = "0000:00:02.0/vfio", ram[] = "ram";
	char pre_copy[] = "PRE_COPY", stop_copy[] = "STOP_COPY", stop[] = "STOP", error[] = "ERROR";
	char iterable[] = "iterable", non_iterable[] = "non-iterable";
	char cp_start[] = "src-downtime-start", cp_stopped[] = "src-vm-stopped";
	char cp_bad[] = "no-such-checkpoint";
	uint64_t a = 3000, b = 2000, c = 1000;

	STAP_PROBE2(qemu, savevm_section_start, ram, 2);
	STAP_PROBE3(qemu, savevm_section_end, ram, 2, 0);
	/* QEMU 9.1+: the arc is asked for, then the device is in the new state */
	STAP_PROBE3(qemu, vfio_migration_set_state, dev, far, far + 9);
	usleep(2000);
	STAP_PROBE2(qemu, vfio_migration_set_device_state, dev, pre_copy);
	STAP_PROBE5(qemu, vfio_state_pending_estimate, dev, 1000, 0, 600, 400);
	STAP_PROBE6(qemu, vfio_state_pending_exact, dev, 5000, 0, 4096, 600, 400);
	STAP_PROBE4(qemu, vfio_state_pending_exact, dev, 5000, 0, 4096); /* 8.0 */
	STAP_PROBE3(qemu, vfio_save_iterate, dev, 500, 300);
	STAP_PROBE2(qemu, vfio_save_iterate, dev, 77); /* v1: bytes saved in pre-copy */
	STAP_PROBE3(qemu, vfio_query_precopy_size, dev, 400, 200);
	STAP_PROBE2(qemu, vfio_query_stop_copy_size, dev, 8192);
	/* the VM's pending bytes in every layout QEMU used */
	STAP_PROBE3(qemu, migrate_pending_estimate, a, b, c);
	STAP_PROBE4(qemu, migrate_pending_exact, a, 100, b, c); /* (size, max, pre, post) */
	STAP_PROBE4(qemu, migrate_pending_exact, a, 1000, 500,
		    1500);					     /* (size, pre, compat, post) */
	STAP_PROBE5(qemu, migrate_pending, a, 100, 1000, 500, 1500); /* 7.2 */
	STAP_PROBE3(qemu, migrate_pending_exact, a, 1, 1);	     /* no layout: malformed */
	STAP_PROBE1(qemu, vmstate_downtime_checkpoint, cp_start);
	STAP_PROBE3(qemu, vfio_migration_set_state, dev, stop_copy, error);
	STAP_PROBE2(qemu, vfio_migration_set_device_state, dev, stop_copy);
	STAP_PROBE2(qemu, savevm_section_start, vfio_sec, 5);
	STAP_PROBE3(qemu, savevm_section_end, vfio_sec, 5, -5);
	STAP_PROBE4(qemu, vmstate_downtime_save, iterable, vfio_sec, 0, 1500);
	STAP_PROBE4(qemu, vmstate_downtime_load, non_iterable, ram, 0, 20);
	STAP_PROBE1(qemu, vmstate_downtime_checkpoint, cp_stopped);
	STAP_PROBE1(qemu, vmstate_downtime_checkpoint, cp_bad);
	/* QEMU 8.0-9.0: (name, state) once the device is in it */
	STAP_PROBE2(qemu, vfio_migration_set_state, dev8, stop);
	/* QEMU 7.2, migration v1: (name, device_state bits), RUNNING | SAVING */
	STAP_PROBE2(qemu, vfio_migration_set_state, dev72, 3);
	/* a failed arc: QEMU put the device in its recover state */
	STAP_PROBE3(qemu, vfio_migration_set_state, dev, stop, error);
	STAP_PROBE2(qemu, vfio_migration_set_device_state, dev, error);
}

static void say(const char *what)
{
	printf("%s\n", what);
	fflush(stdout);
}

/* --- the monitor ----------------------------------------------------------- */

struct monitor {
	int fd;
	int queries;   /* query-migrate commands answered */
	int completed; /* "complete" arrived */
	const char *far;
};

static void event(int fd, const char *name, const char *data)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	dprintf(fd,
		"{\"timestamp\": {\"seconds\": %ld, \"microseconds\": %ld}, \"event\": \"%s\"%s%s}"
		"\r\n",
		(long)tv.tv_sec, (long)tv.tv_usec, name, data ? ", \"data\": " : "",
		data ? data : "");
}

/* One command, a JSON object without braces inside its strings (migscope's are). */
static void command(struct monitor *m, const char *cmd)
{
	const char *id = strstr(cmd, "\"id\":\"");
	char idv[32] = "";

	if (id)
		sscanf(id + 6, "%31[^\"]", idv);
	if (strstr(cmd, "\"query-migrate-parameters\"")) {
		dprintf(m->fd,
			"{\"return\": {\"downtime-limit\": 300, \"max-bandwidth\": 134217728}, "
			"\"id\": \"%s\"}\r\n",
			idv);
	} else if (strstr(cmd, "\"query-migrate\"")) {
		if (++m->queries == 2) {
			fire(m->far);
			say("fired");
		}
		if (m->completed)
			dprintf(m->fd,
				"{\"return\": {\"status\": \"completed\", \"total-time\": 900, "
				"\"downtime\": 12, \"setup-time\": 3, \"ram\": {\"total\": "
				"268435456, \"remaining\": 0, \"transferred\": 1000000, "
				"\"dirty-sync-count\": 3}}, \"id\": \"%s\"}\r\n",
				idv);
		else
			dprintf(m->fd,
				"{\"return\": {\"status\": \"active\", \"total-time\": %d, "
				"\"setup-time\": 3, \"ram\": {\"total\": 268435456, \"remaining\": "
				"4096000, \"transferred\": 1000, \"dirty-sync-count\": 1}}, "
				"\"id\": \"%s\"}\r\n",
				100 + 10 * m->queries, idv);
	} else {
		dprintf(m->fd, "{\"return\": {}, \"id\": \"%s\"}\r\n", idv);
	}
}

/* Split what arrived into whole objects; keep a partial one. */
static size_t commands(struct monitor *m, char *buf, size_t len)
{
	size_t start = 0;
	int depth = 0;

	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '{')
			depth++;
		else if (buf[i] == '}' && --depth == 0) {
			char save = buf[i + 1];

			buf[i + 1] = 0;
			command(m, buf + start);
			buf[i + 1] = save;
			start = i + 1;
		}
	}
	memmove(buf, buf + start, len - start);
	return len - start;
}

static int serve(const char *path, const char *far)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct monitor m = { .far = far };
	char buf[8192], line[64];
	size_t have = 0;
	int lfd = socket(AF_UNIX, SOCK_STREAM, 0);

	if (lfd < 0 || strlen(path) >= sizeof(sa.sun_path))
		return 1;
	strcpy(sa.sun_path, path);
	unlink(path);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 1))
		return 1;
	say("ready");
	m.fd = accept(lfd, NULL, NULL);
	close(lfd);
	if (m.fd < 0)
		return 1;
	dprintf(m.fd, "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, "
		      "\"major\": 9}, \"package\": \"fake\"}, \"capabilities\": []}}\r\n");
	for (;;) {
		struct pollfd p[2] = { { .fd = m.fd, .events = POLLIN },
				       { .fd = 0, .events = POLLIN } };
		ssize_t n;

		if (poll(p, m.completed ? 1 : 2, -1) < 0)
			return 1;
		if (p[0].revents) {
			n = read(m.fd, buf + have, sizeof(buf) - 1 - have);
			if (n <= 0)
				break; /* the watch is done */
			have = commands(&m, buf, have + (size_t)n);
			if (have == sizeof(buf) - 1)
				return 1;
		}
		if (!m.completed && p[1].revents) {
			if (!fgets(line, sizeof(line), stdin))
				return 1;
			m.completed = 1;
			event(m.fd, "STOP", NULL);
			event(m.fd, "MIGRATION", "{\"status\": \"completed\"}");
		}
	}
	close(m.fd);
	unlink(path);
	return 0;
}

int main(int argc, char **argv)
{
	const char *far = untouched_strings();
	char go[8];

	if (!far)
		return 1;
	if (argc == 3 && !strcmp(argv[1], "--qmp"))
		return serve(argv[2], far);
	say("ready");
	if (!fgets(go, sizeof(go), stdin))
		return 1;
	fire(far);
	say("fired");
	return fgets(go, sizeof(go), stdin) ? 0 : 1;
}
