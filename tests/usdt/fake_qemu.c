// SPDX-License-Identifier: GPL-2.0-only
/*
 * A stand-in for a QEMU built with the dtrace trace backend: it has USDT
 * probes of provider "qemu" with QEMU's trace event names and argument
 * lists, including the older layouts of the same events (QEMU 7.2 to 9.1), and
 * fires one source-side migration of a vfio device through them once a line
 * arrives on stdin (the test attaches first).  test_collect_usdt.c checks the
 * records, in this order.
 *
 * Most strings are on the stack, where a probe reads them.  The first state
 * names are in a file mapping the process never touched, like a literal in
 * a .rodata page QEMU never read itself: BPF cannot fault it in and the
 * agent reads it from the process instead.  So the process stays alive,
 * after saying "fired" on stdout, until a second line arrives.  It says
 * "ready" once it runs, so the test attaches to this binary, not to the
 * test's own image that the child had before exec.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/sdt.h>
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

int main(void)
{
	char dev[] = "0000:00:02.0", dev8[] = "0000:00:03.0", dev72[] = "0000:00:04.0";
	char vfio_sec[] = "0000:00:02.0/vfio", ram[] = "ram";
	char pre_copy[] = "PRE_COPY", stop_copy[] = "STOP_COPY", stop[] = "STOP", error[] = "ERROR";
	char iterable[] = "iterable", non_iterable[] = "non-iterable";
	char cp_start[] = "src-downtime-start", cp_stopped[] = "src-vm-stopped";
	char cp_bad[] = "no-such-checkpoint";
	uint64_t a = 3000, b = 2000, c = 1000;
	const char *far = untouched_strings();
	char go[8];

	if (!far)
		return 1;
	printf("ready\n");
	fflush(stdout);
	if (!fgets(go, sizeof(go), stdin))
		return 1;

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
	printf("fired\n");
	fflush(stdout);
	return fgets(go, sizeof(go), stdin) ? 0 : 1;
}
