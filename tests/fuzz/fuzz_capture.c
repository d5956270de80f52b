// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fuzz the capture reader and, through a session, every consumer a replay
 * feeds: arbitrary bytes must give either a clean replay, a salvaged prefix
 * or a one-line error, never a crash, a leak or undefined behaviour.  The
 * salvaging reader runs the strict one's checks plus the search for intact
 * chunks after a cut, so it covers both.  The same bytes are then read as a
 * stream from a pipe (replay -), the reader's other path.
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include <migscope/capture.h>
#include <migscope/report.h>
#include <migscope/session.h>

/* The bytes through a pipe that holds them all, into a bus with no subscriber. */
static void replay_stream(const uint8_t *data, size_t size)
{
	struct ms_capture_reader *r;
	char err[MS_ERR_LEN], path[64];
	struct ms_bus bus;
	int fd[2];

	if (pipe2(fd, O_CLOEXEC))
		return;
	if ((size_t)fcntl(fd[1], F_SETPIPE_SZ, 1 << 20) < size ||
	    write(fd[1], data, size) != (ssize_t)size) {
		close(fd[0]);
		close(fd[1]);
		return;
	}
	close(fd[1]);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd[0]);
	r = ms_capture_reader__open(path, err, sizeof(err));
	close(fd[0]);
	if (!r)
		return;
	ms_bus__init(&bus);
	ms_capture_reader__replay_salvage(r, &bus, NULL, err, sizeof(err));
	ms_capture_reader__close(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ms_session_opts o = { 0 };
	struct ms_capture_reader *r;
	struct ms_session *s;
	char err[MS_ERR_LEN];

	r = ms_capture_reader__open_mem(data, size, "fuzz", err, sizeof(err));
	if (!r)
		return 0;
	o.info = ms_capture_reader__info(r);
	s = ms_session__new(&o, err, sizeof(err));
	if (s) {
		/* the salvaging path: a report from whatever prefix it accepts */
		if (ms_capture_reader__replay_salvage(r, &s->bus, NULL, err, sizeof(err)) >= 0)
			json_object_put(ms_report__json(&s->view));
		ms_session__free(s);
	}
	ms_capture_reader__close(r);
	replay_stream(data, size);
	return 0;
}
