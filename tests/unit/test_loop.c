// SPDX-License-Identifier: GPL-2.0-only
/* The event loop: fds, timers, stop, timeout and signals. */
#include <errno.h>
#include <signal.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <migscope/loop.h>

#include "testutil.h"

struct pipe_ctx {
	int fd;
	int reads;
	struct ms_loop *l;
};

static int on_readable(void *ctx, uint32_t ev)
{
	struct pipe_ctx *p = ctx;
	char c;

	assert_int_equal(read(p->fd, &c, 1), 1);
	if (++p->reads == 3)
		ms_loop__stop(p->l, 42);
	return 0;
}

static void readable_fd_callbacks_run_until_stop_returns_its_status(void **state)
{
	struct ms_loop *l = ms_loop__new(0);
	int fds[2];
	struct pipe_ctx p = { 0 };

	assert_non_null(l);
	assert_int_equal(pipe(fds), 0);
	p.fd = fds[0];
	p.l = l;
	assert_int_equal(ms_loop__add_fd(l, fds[0], EPOLLIN, on_readable, &p), 0);
	assert_int_equal(write(fds[1], "abc", 3), 3);
	assert_int_equal(ms_loop__run(l, 2000000000ull), 42);
	assert_int_equal(p.reads, 3);
	ms_loop__free(l);
	close(fds[0]);
	close(fds[1]);
}

static int ticks;
static int on_tick(void *ctx, uint32_t ev)
{
	return ++ticks == 3 ? -ECANCELED : 0;
}

static void timer_fires_repeatedly_and_a_callback_error_stops_the_loop(void **state)
{
	struct ms_loop *l = ms_loop__new(0);

	ticks = 0;
	assert_true(ms_loop__add_timer(l, 1000000, on_tick, NULL) >= 0);
	assert_int_equal(ms_loop__run(l, 5000000000ull), -ECANCELED);
	assert_int_equal(ticks, 3);
	ms_loop__free(l);
}

static void run_times_out_when_nothing_happens(void **state)
{
	struct ms_loop *l = ms_loop__new(0);

	assert_int_equal(ms_loop__run(l, 20000000ull), -ETIMEDOUT);
	ms_loop__free(l);
}

static void sigterm_stops_the_loop_and_is_reported(void **state)
{
	struct ms_loop *l = ms_loop__new(1);

	assert_non_null(l);
	assert_int_equal(kill(getpid(), SIGTERM), 0);
	assert_int_equal(ms_loop__run(l, 2000000000ull), -EINTR);
	assert_int_equal(ms_loop__signal(l), SIGTERM);
	ms_loop__free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(readable_fd_callbacks_run_until_stop_returns_its_status),
		cmocka_unit_test(timer_fires_repeatedly_and_a_callback_error_stops_the_loop),
		cmocka_unit_test(run_times_out_when_nothing_happens),
		cmocka_unit_test(sigterm_stops_the_loop_and_is_reported),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
