// SPDX-License-Identifier: GPL-2.0-only
/* The agent's event loop (see include/migscope/loop.h). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <migscope/loop.h>

#define MAX_WATCHES 64

struct watch {
	int fd; /* -1: free slot */
	int is_timer;
	ms_loop_fn fn;
	void *ctx;
};

struct ms_loop {
	int epfd;
	int sigfd;
	sigset_t old_mask;
	int stopped;
	int status;
	int signo;
	struct watch w[MAX_WATCHES];
};

struct ms_loop *ms_loop__new(int with_signals)
{
	struct ms_loop *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	for (int i = 0; i < MAX_WATCHES; i++)
		l->w[i].fd = -1;
	l->sigfd = -1;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0)
		goto fail;
	if (with_signals) {
		sigset_t mask;

		sigemptyset(&mask);
		sigaddset(&mask, SIGINT);
		sigaddset(&mask, SIGTERM);
		if (sigprocmask(SIG_BLOCK, &mask, &l->old_mask) < 0)
			goto fail;
		l->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
		if (l->sigfd < 0 || ms_loop__add_fd(l, l->sigfd, EPOLLIN, NULL, NULL))
			goto fail;
	}
	return l;
fail:
	ms_loop__free(l);
	return NULL;
}

void ms_loop__free(struct ms_loop *l)
{
	if (!l)
		return;
	for (int i = 0; i < MAX_WATCHES; i++)
		if (l->w[i].fd >= 0 && (l->w[i].is_timer))
			close(l->w[i].fd);
	if (l->sigfd >= 0) {
		close(l->sigfd);
		sigprocmask(SIG_SETMASK, &l->old_mask, NULL);
	}
	if (l->epfd >= 0)
		close(l->epfd);
	free(l);
}

static int add(struct ms_loop *l, int fd, uint32_t events, ms_loop_fn fn, void *ctx, int timer)
{
	struct epoll_event ev = { .events = events };
	int i;

	for (i = 0; i < MAX_WATCHES && l->w[i].fd >= 0; i++)
		;
	if (i == MAX_WATCHES)
		return -ENOSPC;
	ev.data.u32 = (uint32_t)i;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	l->w[i] = (struct watch){ .fd = fd, .is_timer = timer, .fn = fn, .ctx = ctx };
	return i;
}

int ms_loop__add_fd(struct ms_loop *l, int fd, uint32_t events, ms_loop_fn fn, void *ctx)
{
	int ret = add(l, fd, events, fn, ctx, 0);

	return ret < 0 ? ret : 0;
}

int ms_loop__del_fd(struct ms_loop *l, int fd)
{
	for (int i = 0; i < MAX_WATCHES; i++)
		if (l->w[i].fd == fd && !l->w[i].is_timer) {
			epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
			l->w[i].fd = -1;
			return 0;
		}
	return -ENOENT;
}

int ms_loop__add_timer(struct ms_loop *l, uint64_t interval_ns, ms_loop_fn fn, void *ctx)
{
	struct itimerspec its = { 0 };
	int fd, id;

	if (!interval_ns)
		return -EINVAL;
	fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (fd < 0)
		return -errno;
	its.it_interval.tv_sec = (time_t)(interval_ns / 1000000000ull);
	its.it_interval.tv_nsec = (long)(interval_ns % 1000000000ull);
	its.it_value = its.it_interval;
	if (timerfd_settime(fd, 0, &its, NULL) < 0) {
		id = -errno;
		close(fd);
		return id;
	}
	id = add(l, fd, EPOLLIN, fn, ctx, 1);
	if (id < 0)
		close(fd);
	return id;
}

int ms_loop__del_timer(struct ms_loop *l, int id)
{
	if (id < 0 || id >= MAX_WATCHES || l->w[id].fd < 0 || !l->w[id].is_timer)
		return -ENOENT;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, l->w[id].fd, NULL);
	close(l->w[id].fd);
	l->w[id].fd = -1;
	return 0;
}

void ms_loop__stop(struct ms_loop *l, int status)
{
	l->stopped = 1;
	l->status = status;
}

int ms_loop__signal(const struct ms_loop *l)
{
	return l->signo;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int ms_loop__run(struct ms_loop *l, uint64_t timeout_ns)
{
	uint64_t deadline = timeout_ns ? mono_ns() + timeout_ns : 0;

	l->stopped = 0;
	while (!l->stopped) {
		struct epoll_event evs[16];
		int wait_ms = -1, n;

		if (deadline) {
			uint64_t now = mono_ns();

			if (now >= deadline)
				return -ETIMEDOUT;
			wait_ms = (int)((deadline - now + 999999) / 1000000);
		}
		n = epoll_wait(l->epfd, evs, 16, wait_ms);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n && !l->stopped; i++) {
			struct watch *w = &l->w[evs[i].data.u32];
			int ret;

			if (w->fd < 0)
				continue; /* removed by an earlier callback in this batch */
			if (w->fd == l->sigfd) { /* read here: it has no callback */
				struct signalfd_siginfo si;

				if (read(l->sigfd, &si, sizeof(si)) == sizeof(si)) {
					l->signo = (int)si.ssi_signo;
					return -EINTR;
				}
				continue;
			}
			if (w->is_timer) {
				uint64_t expirations;

				if (read(w->fd, &expirations, sizeof(expirations)) < 0)
					continue;
			}
			ret = w->fn(w->ctx, evs[i].events);
			if (ret < 0)
				return ret;
		}
	}
	return l->status;
}
