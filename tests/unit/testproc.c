// SPDX-License-Identifier: GPL-2.0-only
/* Child processes for the command-line tests (see testproc.h). */
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <migscope/capture.h>
#include <migscope/session.h>

#include "testproc.h"

void tp_sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

pid_t tp_spawn(struct tp_procs *p, char *const argv[], const struct tp_io *io)
{
	static const struct tp_io none;
	int in[2] = { -1, -1 };
	pid_t pid;

	io = io ? io : &none;
	assert_true(p->nr < TP_MAX_PROCS);
	if (io->in)
		assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		int o = open(io->out ? io->out : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int r = open(io->err ? io->err : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int n = io->in ? in[0] : open("/dev/null", O_RDONLY);

		if (o < 0 || r < 0 || n < 0)
			_exit(127);
		dup2(n, 0);
		dup2(o, 1);
		dup2(r, 2);
		if (io->as_nobody && (setgroups(0, NULL) || setgid(65534) || setuid(65534)))
			_exit(126);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (io->in) {
		close(in[0]);
		*io->in = in[1];
	}
	p->pid[p->nr++] = pid;
	return pid;
}

int tp_wait(struct tp_procs *p, pid_t pid, uint64_t timeout_ns)
{
	uint64_t end = ms_now_ns() + timeout_ns;
	int st;

	while (ms_now_ns() < end) {
		if (waitpid(pid, &st, WNOHANG) == pid) {
			for (int i = 0; i < p->nr; i++)
				if (p->pid[i] == pid)
					p->pid[i] = p->pid[--p->nr];
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		}
		tp_sleep_ms(20);
	}
	return -1;
}

void tp_expect_exit(struct tp_procs *p, pid_t pid, int want, uint64_t timeout_ns,
		    const char *err_path)
{
	int st = tp_wait(p, pid, timeout_ns);
	char text[4096] = "";
	FILE *f;

	if (st == want)
		return;
	f = err_path ? fopen(err_path, "r") : NULL;
	if (f) {
		text[fread(text, 1, sizeof(text) - 1, f)] = 0;
		fclose(f);
	}
	fail_msg("%s with %d, not %d:\n%s", st < 0 ? "no exit in time" : "exited", st, want, text);
}

void tp_kill_all(struct tp_procs *p)
{
	for (int i = 0; i < p->nr; i++) {
		kill(p->pid[i], SIGKILL);
		waitpid(p->pid[i], NULL, 0);
	}
	p->nr = 0;
}

int tp_file_contains(const char *path, const char *needle)
{
	char buf[65536];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	return strstr(buf, needle) != NULL;
}

void tp_wait_for_text(const char *path, const char *needle, uint64_t timeout_ns)
{
	uint64_t end = ms_now_ns() + timeout_ns;

	while (!tp_file_contains(path, needle)) {
		if (ms_now_ns() > end)
			fail_msg("%s: no '%s' after %.0f s", path, needle,
				 (double)timeout_ns / TP_SEC);
		tp_sleep_ms(20);
	}
}

void tp_read_capture(const char *path, struct tu_recorder *rec)
{
	struct ms_capture_reader *r;
	char err[MS_ERR_LEN];
	struct ms_bus bus;

	ms_bus__init(&bus);
	assert_int_equal(ms_bus__subscribe(&bus, MS_EV_ALL, tu_recorder__on_event, rec), 0);
	r = ms_capture_reader__open(path, err, sizeof(err));
	if (!r)
		fail_msg("%s", err);
	assert_int_equal(ms_capture_reader__replay(r, &bus, NULL, err, sizeof(err)), 0);
	ms_capture_reader__close(r);
}

void tp_replay_matches(struct tp_procs *p, const char *migscope, const char *capture,
		       const char *report, const char *err_path)
{
	char *argv[] = { (char *)migscope, "replay",	   (char *)capture,
			 "--check",	   (char *)report, NULL };

	tp_expect_exit(p, tp_spawn(p, argv, &(struct tp_io){ .err = err_path }), 0, 60 * TP_SEC,
		       err_path);
}

void tp_mkdtemp(char *dir, const char *tag)
{
	snprintf(dir, 64, "/tmp/migscope-%s-XXXXXX", tag);
	assert_non_null(mkdtemp(dir));
}

void tp_rmdir(const char *dir)
{
	char cmd[128];

	/* keep the logs of a failed run: the runner prints where they are */
	if (getenv("MIGSCOPE_KEEP"))
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		fprintf(stderr, "failed to remove %s\n", dir);
}
