/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The agent's event loop: one epoll set for every live source (BPF ring
 * buffers, the QMP socket, a followed QEMU log, device data fds), periodic
 * timers (query-migrate polling, the progress line) and SIGINT/SIGTERM, which
 * stop the loop cleanly so sources detach and the report is still printed.
 */
#ifndef MIGSCOPE_LOOP_H
#define MIGSCOPE_LOOP_H

#include <stdint.h>

struct ms_loop;

/* A callback: return 0 to go on, or a negative errno to stop the loop with it. */
typedef int (*ms_loop_fn)(void *ctx, uint32_t epoll_events);

/* with_signals: catch SIGINT and SIGTERM (blocked for the process, read by signalfd). */
struct ms_loop *ms_loop__new(int with_signals);
void ms_loop__free(struct ms_loop *l);

/* Watch fd for events (EPOLLIN...).  0 or -errno. */
int ms_loop__add_fd(struct ms_loop *l, int fd, uint32_t events, ms_loop_fn fn, void *ctx);
int ms_loop__del_fd(struct ms_loop *l, int fd);

/* Call fn every interval_ns (first call after one interval).  Returns a timer id >= 0 or -errno. */
int ms_loop__add_timer(struct ms_loop *l, uint64_t interval_ns, ms_loop_fn fn, void *ctx);
int ms_loop__del_timer(struct ms_loop *l, int id);

/* Make run() return status after the current callback. */
void ms_loop__stop(struct ms_loop *l, int status);

/*
 * Dispatch until stopped, a callback fails, a signal arrives, or timeout_ns
 * passes (0 = no timeout).  Returns the stop status, the callback's error,
 * -EINTR on a signal, or -ETIMEDOUT.
 */
int ms_loop__run(struct ms_loop *l, uint64_t timeout_ns);

/* The signal that stopped the loop (SIGINT, SIGTERM), or 0. */
int ms_loop__signal(const struct ms_loop *l);

#endif
