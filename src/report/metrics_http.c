// SPDX-License-Identifier: GPL-2.0-only
/*
 * watch --listen: /metrics over HTTP, served by libmicrohttpd from the
 * watch's own event loop.  MHD runs without a thread of its own: its epoll
 * fd is one more fd in the loop, so a scrape is answered between two
 * records, never while a consumer changes what the report reads, and needs
 * no lock.  Each scrape renders the report as it stands (the caller's
 * ms_report__json), the same document --json prints at the end.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include <time.h>

#include <migscope/loop.h>
#include <migscope/openmetrics.h>

/* MHD's own timeouts (an idle keep-alive connection) are checked this often. */
#define HOUSEKEEPING_NS 500000000ull

struct ms_metrics_server {
	ms_metrics_report_fn report;
	void *ctx;
	const struct ms_om_labels *l;
	struct MHD_Daemon *d;
	struct ms_loop *loop;
	int epoll_fd, timer;
	unsigned long scrapes;
	uint64_t last_ns, interval_ns; /* the last scrape, and the one before it to that */
	int final;		       /* serving the final report: stop once it is out */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int code, const char *text)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

/* Prometheus asks for OpenMetrics in its Accept header; everything else gets the text format. */
static enum ms_om_format wanted_format(struct MHD_Connection *c)
{
	const char *accept =
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);

	return accept && strstr(accept, "application/openmetrics-text") ? MS_OM_OPENMETRICS
									: MS_OM_TEXT;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct ms_metrics_server *m = cls;
	enum ms_om_format fmt;
	struct MHD_Response *r;
	struct json_object *rep;
	enum MHD_Result ret;
	char *buf;
	size_t len;

	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET /metrics\n");
	if (strcmp(url, "/metrics"))
		return reply(c, MHD_HTTP_NOT_FOUND, "migscope serves /metrics only\n");
	fmt = wanted_format(c);
	rep = m->report(m->ctx);
	ret = rep ? (enum MHD_Result) !ms_om__render(rep, m->l, fmt, &buf, &len) : MHD_NO;
	json_object_put(rep);
	if (ret == MHD_NO)
		return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	r = MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(buf);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ms_om__content_type(fmt));
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	m->scrapes++;
	if (m->last_ns)
		m->interval_ns = now_ns() - m->last_ns;
	m->last_ns = now_ns();
	if (m->final)
		*con_cls = m; /* the final report: once it is sent, the watch may end */
	return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct ms_metrics_server *m = cls;

	if (*con_cls == m && toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
		ms_loop__stop(m->loop, 0);
}

static int on_ready(void *ctx, uint32_t events)
{
	struct ms_metrics_server *m = ctx;

	/* a failing scrape must not end the watch */
	MHD_run(m->d);
	return 0;
}

struct ms_metrics_server *ms_metrics_server__new(const struct ms_om_labels *l,
						 ms_metrics_report_fn report, void *ctx,
						 const struct sockaddr_storage *sa, size_t salen,
						 const char *addr, struct ms_loop *loop, char *err,
						 size_t errlen)
{
	struct ms_metrics_server *m = calloc(1, sizeof(*m));
	const union MHD_DaemonInfo *info;
	int fd = -1, one = 1, ret;

	if (!m) {
		snprintf(err, errlen, "failed to listen on %s: %s", addr, strerror(ENOMEM));
		return NULL;
	}
	m->report = report;
	m->ctx = ctx;
	m->l = l;
	m->loop = loop;
	m->epoll_fd = m->timer = -1;
	/* our own socket, so a bad address or a port in use is said as such */
	fd = socket(sa->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (const struct sockaddr *)sa, (socklen_t)salen) || listen(fd, 16)) {
		snprintf(err, errlen, "failed to listen on %s: %s", addr, strerror(errno));
		goto fail;
	}
	m->d = MHD_start_daemon(MHD_USE_EPOLL, 0, NULL, NULL, on_request, m,
				MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_TIMEOUT,
				(unsigned int)10, MHD_OPTION_CONNECTION_LIMIT, (unsigned int)16,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, m, MHD_OPTION_END);
	if (!m->d) {
		snprintf(err, errlen, "failed to listen on %s: libmicrohttpd refused to start",
			 addr);
		goto fail;
	}
	fd = -1; /* MHD's now */
	info = MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info || info->epoll_fd < 0) {
		snprintf(err, errlen, "failed to listen on %s: libmicrohttpd has no epoll fd",
			 addr);
		goto fail;
	}
	ret = ms_loop__add_fd(loop, info->epoll_fd, EPOLLIN, on_ready, m);
	if (!ret) {
		m->epoll_fd = info->epoll_fd;
		ret = ms_loop__add_timer(loop, HOUSEKEEPING_NS, on_ready, m);
		m->timer = ret;
	}
	if (ret < 0) {
		snprintf(err, errlen, "failed to listen on %s: %s", addr, strerror(-ret));
		goto fail;
	}
	return m;
fail:
	if (fd >= 0)
		close(fd);
	ms_metrics_server__free(m);
	return NULL;
}

/* Move MHD's fd and timer from the loop they are in to l (NULL: none).  0 or -errno. */
static int move_to(struct ms_metrics_server *m, struct ms_loop *l)
{
	int ret = 0, fd = m->epoll_fd;

	if (m->timer >= 0)
		ms_loop__del_timer(m->loop, m->timer);
	if (m->epoll_fd >= 0)
		ms_loop__del_fd(m->loop, m->epoll_fd);
	m->timer = m->epoll_fd = -1;
	m->loop = l;
	if (!l)
		return 0;
	ret = ms_loop__add_fd(l, fd, EPOLLIN, on_ready, m);
	if (!ret)
		m->epoll_fd = fd;
	if (!ret) {
		ret = ms_loop__add_timer(l, HOUSEKEEPING_NS, on_ready, m);
		m->timer = ret;
	}
	return ret < 0 ? ret : 0;
}

int ms_metrics_server__final_scrape(struct ms_metrics_server *m, uint64_t max_ns)
{
	struct ms_loop *l;
	uint64_t wait;
	int fd, ret;

	if (!m || !m->scrapes)
		return -ENOENT;
	/* three scrape intervals, at least a second */
	wait = m->interval_ns * 3 > 1000000000ull ? m->interval_ns * 3 : 1000000000ull;
	wait = wait < max_ns ? wait : max_ns;
	/*
	 * A loop of its own: the watch's still has its sources' fds and timers,
	 * which must not add to a report that has ended.  SIGINT still stops it.
	 */
	l = ms_loop__new(1);
	fd = m->epoll_fd;
	if (!l || fd < 0 || move_to(m, l)) {
		move_to(m, NULL);
		ms_loop__free(l);
		return -ENOMEM;
	}
	m->final = 1;
	ret = ms_loop__run(l, wait);
	move_to(m, NULL);
	ms_loop__free(l);
	return ret;
}

unsigned long ms_metrics_server__scrapes(const struct ms_metrics_server *m)
{
	return m ? m->scrapes : 0;
}

void ms_metrics_server__free(struct ms_metrics_server *m)
{
	if (!m)
		return;
	move_to(m, NULL);
	if (m->d) {
		/* MHD closes the listening socket it was given */
		MHD_stop_daemon(m->d);
	}
	free(m);
}
