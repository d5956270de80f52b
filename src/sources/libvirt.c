// SPDX-License-Identifier: GPL-2.0-only
/* A libvirt domain's QEMU monitor as a QMP stream (see include/migscope/libvirt.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <migscope/libvirt.h>

const char *ms_libvirt_default_uri(void)
{
	const char *uri = getenv("LIBVIRT_DEFAULT_URI");

	return uri && *uri ? uri : "qemu:///system";
}

#ifndef MS_HAVE_LIBVIRT

#define NOT_BUILT                                                                                  \
	"migscope was built without libvirt (install libvirt-dev, then rebuild: pkg-config "       \
	"libvirt libvirt-qemu)"

int ms_libvirt_compiled(char *version, size_t vlen, char *why, size_t whylen)
{
	snprintf(version, vlen, "%s", "");
	snprintf(why, whylen, "%s", NOT_BUILT);
	return -ENOTSUP;
}

int ms_libvirt_probe(const char *uri, char *why, size_t whylen)
{
	snprintf(why, whylen, "%s", NOT_BUILT);
	return -ENOTSUP;
}

struct ms_libvirt *ms_libvirt__open(const char *uri, const char *domain, char *err, size_t errlen)
{
	snprintf(err, errlen, "--domain %s: %s", domain, NOT_BUILT);
	return NULL;
}

int ms_libvirt__take_fd(struct ms_libvirt *l)
{
	return -1;
}

const char *ms_libvirt__name(const struct ms_libvirt *l)
{
	return "";
}

const char *ms_libvirt__uri(const struct ms_libvirt *l)
{
	return "";
}

const char *ms_libvirt__error(struct ms_libvirt *l)
{
	return "";
}

void ms_libvirt__close(struct ms_libvirt *l)
{
}

#else

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <unistd.h>

#include <json-c/json.h>
#include <libvirt/libvirt-qemu.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

/* The client's commands are small; a stream that sends more without a whole one is not it. */
#define MAX_COMMAND (1u << 20)

struct ms_libvirt {
	virConnectPtr conn;
	virDomainPtr dom;
	char name[256];
	char uri[256];
	int fd[2]; /* [0] the QMP client's end, [1] the bridge's */
	pthread_t thread;
	int thread_on;
	atomic_int stop;
	atomic_int handle; /* the bridge's end in libvirt's event loop */
	int monitor_cb;	   /* virConnectDomainQemuMonitorEventRegister */
	int lifecycle_cb;  /* virConnectDomainEventRegisterAny */
	int close_cb;	   /* virConnectRegisterCloseCallback */
	struct json_tokener *tok;
	size_t cmd_bytes;
	pthread_mutex_t lock; /* err: written by the bridge thread, read by the watch */
	char err[256];
};

/* libvirt prints every error on stderr unless told otherwise; they are read where they matter. */
static void quiet(void *data, virErrorPtr e)
{
}

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int event_impl; /* virEventRegisterDefaultImpl's result: once per process */

static void init_once(void)
{
	virSetErrorFunc(NULL, quiet);
	event_impl = virEventRegisterDefaultImpl();
}

static const char *last_error(void)
{
	const char *m = virGetLastErrorMessage();

	return m && *m ? m : "no reason given";
}

int ms_libvirt_compiled(char *version, size_t vlen, char *why, size_t whylen)
{
	unsigned long v = 0;

	pthread_once(&once, init_once);
	snprintf(why, whylen, "%s", "");
	if (virGetVersion(&v, NULL, NULL) < 0) {
		snprintf(version, vlen, "%s", "");
		snprintf(why, whylen, "failed to read libvirt's version: %s", last_error());
		return -EIO;
	}
	snprintf(version, vlen, "%lu.%lu.%lu", v / 1000000, v / 1000 % 1000, v % 1000);
	return 0;
}

int ms_libvirt_probe(const char *uri, char *why, size_t whylen)
{
	virConnectPtr c;

	pthread_once(&once, init_once);
	if (!uri)
		uri = ms_libvirt_default_uri();
	c = virConnectOpenReadOnly(uri);
	if (!c) {
		snprintf(why, whylen, "failed to connect to libvirt at %s: %s", uri, last_error());
		return -ECONNREFUSED;
	}
	virConnectClose(c);
	snprintf(why, whylen, "%s", "");
	return 0;
}

static void set_error(struct ms_libvirt *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set_error(struct ms_libvirt *l, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&l->lock);
	if (!l->err[0]) {
		va_start(ap, fmt);
		vsnprintf(l->err, sizeof(l->err), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&l->lock);
}

const char *ms_libvirt__error(struct ms_libvirt *l)
{
	static _Thread_local char copy[256];

	pthread_mutex_lock(&l->lock);
	memcpy(copy, l->err, sizeof(copy));
	pthread_mutex_unlock(&l->lock);
	return copy;
}

/* The end of the stream for the client: what was written before still arrives. */
static void hang_up(struct ms_libvirt *l)
{
	shutdown(l->fd[1], SHUT_WR);
}

/* One message to the client, whole; a client that went away is not an error here. */
static void put(struct ms_libvirt *l, struct json_object *msg)
{
	const char *text = json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN);
	size_t len = strlen(text), off = 0;

	while (off < len) {
		ssize_t n = send(l->fd[1], text + off, len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		off += (size_t)n;
	}
	send(l->fd[1], "\r\n", 2, MSG_NOSIGNAL);
}

/* QMP's form of an error reply: class GenericError, desc, the client's id. */
static struct json_object *error_reply(struct json_object *id, const char *desc)
{
	struct json_object *msg = json_object_new_object(), *e = json_object_new_object();

	json_object_object_add(e, "class", json_object_new_string("GenericError"));
	json_object_object_add(e, "desc", json_object_new_string(desc));
	json_object_object_add(msg, "error", e);
	if (id)
		json_object_object_add(msg, "id", json_object_get(id));
	return msg;
}

static void put_error(struct ms_libvirt *l, struct json_object *id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void put_error(struct ms_libvirt *l, struct json_object *id, const char *fmt, ...)
{
	struct json_object *msg;
	char desc[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(desc, sizeof(desc), fmt, ap);
	va_end(ap);
	msg = error_reply(id, desc);

	put(l, msg);
	json_object_put(msg);
}

/*
 * A command libvirt refused is answered one turn of the event loop later.
 * While a save or a migration holds the domain's job, a monitor command
 * waits for its end, and the monitor events QEMU sent meanwhile (the
 * migration's status up to completed, the domain stopping) are queued by
 * libvirt for the next turn: they must reach the client before the error,
 * in the order QEMU sent them, or the client would see "domain is not
 * running" before the migration it watched had ended.  libvirt's own queue
 * is dispatched by a timer registered before this one, so it runs first.
 */
struct late_reply {
	struct ms_libvirt *l;
	struct json_object *msg;
};

static void on_late_reply(int timer, void *opaque)
{
	struct late_reply *r = opaque;

	put(r->l, r->msg);
	virEventRemoveTimeout(timer);
}

static void free_late_reply(void *opaque)
{
	struct late_reply *r = opaque;

	json_object_put(r->msg);
	free(r);
}

static void put_error_late(struct ms_libvirt *l, struct json_object *id, const char *what)
{
	struct late_reply *r = malloc(sizeof(*r));

	if (!r) {
		put_error(l, id, "%s", what);
		return;
	}
	r->l = l;
	r->msg = error_reply(id, what);
	if (virEventAddTimeout(0, on_late_reply, r, free_late_reply) < 0) {
		put(l, r->msg);
		free_late_reply(r);
	}
}

/* One command of the client: through libvirt, and its reply back with the client's id. */
static void forward(struct ms_libvirt *l, struct json_object *cmd)
{
	struct json_object *id = NULL, *ex, *reply;
	const char *name;
	char *result = NULL;

	/* libvirt numbers the commands it sends QEMU; the client matches replies by its own ids */
	if (json_object_object_get_ex(cmd, "id", &id)) {
		json_object_get(id);
		json_object_object_del(cmd, "id");
	}
	if (!json_object_object_get_ex(cmd, "execute", &ex) ||
	    !json_object_is_type(ex, json_type_string)) {
		put_error(l, id, "libvirt bridge: not a QMP command");
		goto out;
	}
	name = json_object_get_string(ex);
	if (!strcmp(name, "qmp_capabilities")) {
		/* libvirt negotiated when it connected; a second negotiation is refused */
		reply = json_object_new_object();
		json_object_object_add(reply, "return", json_object_new_object());
		if (id)
			json_object_object_add(reply, "id", json_object_get(id));
		put(l, reply);
		json_object_put(reply);
		goto out;
	}
	if (virDomainQemuMonitorCommand(l->dom,
					json_object_to_json_string_ext(cmd, JSON_C_TO_STRING_PLAIN),
					&result, 0) < 0) {
		char why[512];

		snprintf(why, sizeof(why), "libvirt: %s", last_error());
		put_error_late(l, id, why);
		goto out;
	}
	reply = json_tokener_parse(result);
	if (!reply || !json_object_is_type(reply, json_type_object)) {
		put_error(l, id, "libvirt: the reply to %s is not a JSON object", name);
	} else {
		json_object_object_del(reply, "id");
		if (id)
			json_object_object_add(reply, "id", json_object_get(id));
		put(l, reply);
	}
	json_object_put(reply);
	free(result);
out:
	json_object_put(id);
}

/* The client wrote: forward every whole command. */
static void on_commands(int watch, int fd, int events, void *opaque)
{
	struct ms_libvirt *l = opaque;
	char buf[4096];
	ssize_t n;

	for (;;) {
		size_t off = 0;

		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		while (off < (size_t)n) {
			struct json_object *cmd;
			size_t used;

			if (!l->cmd_bytes && (buf[off] == '\r' || buf[off] == '\n' ||
					      buf[off] == ' ' || buf[off] == '\t')) {
				off++;
				continue;
			}
			cmd = json_tokener_parse_ex(l->tok, buf + off, (int)((size_t)n - off));
			used = json_tokener_get_parse_end(l->tok);
			if (!used || used > (size_t)n - off)
				used = (size_t)n - off;
			off += used;
			if (!cmd && json_tokener_get_error(l->tok) == json_tokener_continue) {
				l->cmd_bytes += used;
				if (l->cmd_bytes <= MAX_COMMAND)
					continue;
			}
			json_tokener_reset(l->tok);
			l->cmd_bytes = 0;
			if (!cmd) {
				put_error(l, NULL, "libvirt bridge: a command that is not JSON");
				continue;
			}
			forward(l, cmd);
			json_object_put(cmd);
		}
	}
	/* the client closed its end: nothing more to forward */
	if (n == 0 || (events & (VIR_EVENT_HANDLE_HANGUP | VIR_EVENT_HANDLE_ERROR))) {
		virEventRemoveHandle(watch);
		l->handle = -1;
	}
}

/* A monitor event: QMP's own form, with the time QEMU stamped it. */
static void on_monitor_event(virConnectPtr conn, virDomainPtr dom, const char *event,
			     long long seconds, unsigned int micros, const char *details,
			     void *opaque)
{
	struct ms_libvirt *l = opaque;
	struct json_object *msg = json_object_new_object(), *ts = json_object_new_object();
	struct json_object *data = details ? json_tokener_parse(details) : NULL;

	json_object_object_add(msg, "event", json_object_new_string(event));
	if (data)
		json_object_object_add(msg, "data", data);
	json_object_object_add(ts, "seconds", json_object_new_int64(seconds));
	json_object_object_add(ts, "microseconds", json_object_new_int64(micros));
	json_object_object_add(msg, "timestamp", ts);
	put(l, msg);
	json_object_put(msg);
}

static const char *stopped_detail(int detail)
{
	static const char *const names[] = {
		[VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN] = "shut down",
		[VIR_DOMAIN_EVENT_STOPPED_DESTROYED] = "destroyed",
		[VIR_DOMAIN_EVENT_STOPPED_CRASHED] = "crashed",
		[VIR_DOMAIN_EVENT_STOPPED_MIGRATED] = "migrated",
		[VIR_DOMAIN_EVENT_STOPPED_SAVED] = "saved",
		[VIR_DOMAIN_EVENT_STOPPED_FAILED] = "failed",
		[VIR_DOMAIN_EVENT_STOPPED_FROM_SNAPSHOT] = "reverted to a snapshot",
	};

	if (detail >= 0 && (size_t)detail < sizeof(names) / sizeof(names[0]) && names[detail])
		return names[detail];
	return "stopped";
}

/* The domain stopped: its QEMU and monitor are gone. */
static int on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
	struct ms_libvirt *l = opaque;

	if (event != VIR_DOMAIN_EVENT_STOPPED)
		return 0;
	set_error(l, "libvirt domain '%s' stopped (%s)", l->name, stopped_detail(detail));
	hang_up(l);
	return 0;
}

static void on_close(virConnectPtr conn, int reason, void *opaque)
{
	static const char *const why[] = {
		[VIR_CONNECT_CLOSE_REASON_ERROR] = "an error",
		[VIR_CONNECT_CLOSE_REASON_EOF] = "end of file",
		[VIR_CONNECT_CLOSE_REASON_KEEPALIVE] = "keepalive timeout",
		[VIR_CONNECT_CLOSE_REASON_CLIENT] = "closed by the client",
	};
	struct ms_libvirt *l = opaque;

	set_error(l, "libvirt connection to %s closed (%s): the monitor's events stopped", l->uri,
		  reason >= 0 && (size_t)reason < sizeof(why) / sizeof(why[0]) ? why[reason]
									       : "unknown reason");
	hang_up(l);
}

static void on_wake(int timer, void *opaque)
{
	virEventRemoveTimeout(timer);
}

static void *run(void *arg)
{
	struct ms_libvirt *l = arg;

	while (!atomic_load(&l->stop))
		if (virEventRunDefaultImpl() < 0) {
			set_error(l, "libvirt's event loop failed: %s", last_error());
			hang_up(l);
			break;
		}
	return NULL;
}

/* The greeting a QMP socket would send: the version, from query-version. */
static int greet(struct ms_libvirt *l, char *err, size_t errlen)
{
	struct json_object *r, *ver, *msg, *qmp;
	char *result = NULL;

	if (virDomainQemuMonitorCommand(l->dom, "{\"execute\":\"query-version\"}", &result, 0) <
	    0) {
		snprintf(err, errlen,
			 "libvirt domain '%s': monitor command query-version failed: %s", l->name,
			 last_error());
		return -EIO;
	}
	r = json_tokener_parse(result);
	free(result);
	if (!r || !json_object_object_get_ex(r, "return", &ver)) {
		snprintf(err, errlen,
			 "libvirt domain '%s': monitor command query-version failed: %s", l->name,
			 r ? json_object_to_json_string(r) : "a reply that is not JSON");
		json_object_put(r);
		return -EIO;
	}
	msg = json_object_new_object();
	qmp = json_object_new_object();
	json_object_object_add(qmp, "version", json_object_get(ver));
	json_object_object_add(qmp, "capabilities", json_object_new_array());
	json_object_object_add(msg, "QMP", qmp);
	put(l, msg);
	json_object_put(msg);
	json_object_put(r);
	return 0;
}

struct ms_libvirt *ms_libvirt__open(const char *uri, const char *domain, char *err, size_t errlen)
{
	struct ms_libvirt *l;
	sigset_t all, old;
	int active, ret;

	pthread_once(&once, init_once);
	if (event_impl < 0) {
		snprintf(err, errlen, "failed to start libvirt's event loop: %s", last_error());
		return NULL;
	}
	l = calloc(1, sizeof(*l));
	if (!l || !(l->tok = json_tokener_new())) {
		free(l);
		snprintf(err, errlen, "failed to start: %s", strerror(ENOMEM));
		return NULL;
	}
	pthread_mutex_init(&l->lock, NULL);
	l->fd[0] = l->fd[1] = -1;
	l->handle = l->monitor_cb = l->lifecycle_cb = l->close_cb = -1;
	snprintf(l->uri, sizeof(l->uri), "%s", uri ? uri : ms_libvirt_default_uri());
	snprintf(l->name, sizeof(l->name), "%s", domain);

	l->conn = virConnectOpen(l->uri);
	if (!l->conn) {
		snprintf(err, errlen, "failed to connect to libvirt at %s: %s", l->uri,
			 last_error());
		goto fail;
	}
	l->dom = virDomainLookupByName(l->conn, domain);
	if (!l->dom) {
		snprintf(err, errlen, "no libvirt domain '%s' at %s: %s", domain, l->uri,
			 last_error());
		goto fail;
	}
	active = virDomainIsActive(l->dom);
	if (active <= 0) {
		snprintf(err, errlen, "libvirt domain '%s' at %s is not running%s%s", domain,
			 l->uri, active < 0 ? ": " : " (virsh start it first)",
			 active < 0 ? last_error() : "");
		goto fail;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, l->fd)) {
		snprintf(err, errlen, "failed to create the monitor's stream: %s", strerror(errno));
		goto fail;
	}
	/* a keepalive finds a daemon that went away; without it only an RPC would */
	virConnectSetKeepAlive(l->conn, 2, 3);
	if (virConnectRegisterCloseCallback(l->conn, on_close, l, NULL) == 0)
		l->close_cb = 0;
	l->lifecycle_cb =
	    virConnectDomainEventRegisterAny(l->conn, l->dom, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
					     VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), l, NULL);
	l->monitor_cb = virConnectDomainQemuMonitorEventRegister(l->conn, l->dom, NULL,
								 on_monitor_event, l, NULL, 0);
	if (l->monitor_cb < 0 || l->lifecycle_cb < 0) {
		snprintf(err, errlen,
			 "libvirt domain '%s': failed to register for its %s events: %s", domain,
			 l->monitor_cb < 0 ? "monitor" : "lifecycle", last_error());
		goto fail;
	}
	if (greet(l, err, errlen))
		goto fail;
	l->handle = virEventAddHandle(l->fd[1], VIR_EVENT_HANDLE_READABLE, on_commands, l, NULL);
	if (l->handle < 0) {
		snprintf(err, errlen, "failed to watch the monitor's stream: %s", last_error());
		goto fail;
	}
	/*
	 * signals are the watch's (SIGINT and SIGTERM through its loop's
	 * signalfd): the thread blocks them all, or one could end the process there
	 */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = pthread_create(&l->thread, NULL, run, l);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret) {
		snprintf(err, errlen, "failed to start libvirt's event loop: %s", strerror(ret));
		goto fail;
	}
	l->thread_on = 1;
	return l;
fail:
	ms_libvirt__close(l);
	return NULL;
}

int ms_libvirt__take_fd(struct ms_libvirt *l)
{
	int fd = l->fd[0];

	l->fd[0] = -1;
	return fd;
}

const char *ms_libvirt__name(const struct ms_libvirt *l)
{
	return l->name;
}

const char *ms_libvirt__uri(const struct ms_libvirt *l)
{
	return l->uri;
}

void ms_libvirt__close(struct ms_libvirt *l)
{
	if (!l)
		return;
	/* no callback runs once these return; then the loop is woken to see stop */
	if (l->conn && l->monitor_cb >= 0)
		virConnectDomainQemuMonitorEventDeregister(l->conn, l->monitor_cb);
	if (l->conn && l->lifecycle_cb >= 0)
		virConnectDomainEventDeregisterAny(l->conn, l->lifecycle_cb);
	if (l->conn && l->close_cb >= 0)
		virConnectUnregisterCloseCallback(l->conn, on_close);
	if (l->handle >= 0)
		virEventRemoveHandle(l->handle);
	if (l->thread_on) {
		atomic_store(&l->stop, 1);
		virEventAddTimeout(0, on_wake, NULL, NULL);
		pthread_join(l->thread, NULL);
	}
	if (l->dom)
		virDomainFree(l->dom);
	if (l->conn)
		virConnectClose(l->conn);
	for (int i = 0; i < 2; i++)
		if (l->fd[i] >= 0)
			close(l->fd[i]);
	json_tokener_free(l->tok);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

#endif
