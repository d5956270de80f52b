/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Child processes for the tests that drive migscope's command line next to a
 * QEMU (a real one, or tests/usdt/fake_qemu): started with their output in
 * files, waited for with a timeout, killed by the teardown pass or fail.
 */
#ifndef MIGSCOPE_TESTPROC_H
#define MIGSCOPE_TESTPROC_H

#include <stdint.h>
#include <sys/types.h>

#include "testutil.h"

#define TP_SEC	     1000000000ull
#define TP_MAX_PROCS 8

struct tp_procs {
	pid_t pid[TP_MAX_PROCS];
	int nr;
};

/* Where a child's standard streams go. */
struct tp_io {
	const char *out, *err; /* files for stdout and stderr (NULL: /dev/null) */
	int *in;	       /* NULL: stdin is /dev/null; else a pipe, its write end here */
	int as_nobody;	       /* drop to uid and gid 65534 before exec */
};

/* Start argv (searched in PATH); io may be NULL. */
pid_t tp_spawn(struct tp_procs *p, char *const argv[], const struct tp_io *io);

/* Wait for pid to exit: its exit status (128 + signal), or -1 on timeout. */
int tp_wait(struct tp_procs *p, pid_t pid, uint64_t timeout_ns);

/* Wait for pid and fail the test, with the text of err_path, unless it exits with want. */
void tp_expect_exit(struct tp_procs *p, pid_t pid, int want, uint64_t timeout_ns,
		    const char *err_path);

/* SIGKILL and reap every child still running. */
void tp_kill_all(struct tp_procs *p);

int tp_file_contains(const char *path, const char *needle);

/* Wait until the file at path holds needle; fail the test after timeout_ns. */
void tp_wait_for_text(const char *path, const char *needle, uint64_t timeout_ns);

/* The records of a capture file, in order. */
void tp_read_capture(const char *path, struct tu_recorder *rec);

/* `migscope replay capture --check report` (migscope: the CLI's path) exits 0. */
void tp_replay_matches(struct tp_procs *p, const char *migscope, const char *capture,
		       const char *report, const char *err_path);

void tp_sleep_ms(unsigned int ms);

/* A fresh directory under /tmp (dir holds 64 bytes); removed by tp_rmdir unless MIGSCOPE_KEEP. */
void tp_mkdtemp(char *dir, const char *tag);
void tp_rmdir(const char *dir);

#endif
