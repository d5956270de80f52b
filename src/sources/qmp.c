// SPDX-License-Identifier: GPL-2.0-only
/* QMP: QEMU's monitor, its migration events and query-migrate, as records. */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include <migscope/loop.h>
#include <migscope/qemu.h>
#include <migscope/qmp.h>
#include <migscope/vfio_compat.h>

/* No QMP message migscope reads is anywhere near this; a stream that is, is not QEMU. */
#define QMP_MAX_MESSAGE (16u << 20)
#define MAX_OUTSTANDING 16
#define MAX_EARLY	64
#define MAX_VFIO	64
/* after the end, wait this long before asking for the final numbers */
#define FINAL_DELAY_NS 50000000ull

enum cmd {
	CMD_CAPABILITIES,
	CMD_SET_EVENTS,
	CMD_SET_PARAMETERS,
	CMD_QUERY_PARAMETERS,
	CMD_QUERY_MIGRATE,
	CMD_QUERY_KVM,
	CMD_CALC_DIRTY_RATE,
	CMD_QUERY_DIRTY_RATE,
	CMD_OTHER, /* a transcript's command migscope does not send (migrate, ...) */
};

static const char *const cmd_names[] = {
	[CMD_CAPABILITIES] = "qmp_capabilities",
	[CMD_SET_EVENTS] = "migrate-set-capabilities",
	[CMD_SET_PARAMETERS] = "migrate-set-parameters",
	[CMD_QUERY_PARAMETERS] = "query-migrate-parameters",
	[CMD_QUERY_MIGRATE] = "query-migrate",
	[CMD_QUERY_KVM] = "query-kvm",
	[CMD_CALC_DIRTY_RATE] = "calc-dirty-rate",
	[CMD_QUERY_DIRTY_RATE] = "query-dirty-rate",
	[CMD_OTHER] = "a command",
};

struct ms_qmp {
	struct ms_stream *s;
	struct ms_qmp_opts o;
	struct ms_qmp_info info;
	int64_t wall_to_mono_ns;

	int fd;
	struct ms_loop *loop;
	int timer, drain_timer, final_timer;
	struct json_tokener *tok;
	size_t msg_bytes; /* bytes of the message being parsed */
	uint64_t offset;  /* bytes received in all */

	/* commands sent and not answered, oldest first (QMP answers in order) */
	struct {
		enum cmd cmd;
		uint32_t id;
		uint64_t sent_ns;
		struct json_object *args; /* a transcript's migrate-set-parameters */
	} out[MAX_OUTSTANDING];
	unsigned int nr_out;
	uint32_t next_id;
	int slow_warned;

	/* events that arrived while connecting, before the session began */
	struct json_object *early[MAX_EARLY];
	unsigned int nr_early;
	int connecting;
	int transcript; /* fed from a recorded conversation (ms_qmp__sent) */

	uint32_t status;
	uint32_t pass;	  /* QEMU's last pass number published as MS_EV_PASS */
	uint64_t pass_ts; /* and when that pass began */
	int active_seen;  /* a migration ran during this session */
	int final_asked;  /* the migration ended; the last query-migrate is out */
	int ended;
	int lost;   /* the destination went away */
	int linger; /* the source has ended: the destination's end stops the loop */

	struct {
		uint32_t dev;
		int state;
	} vfio[MAX_VFIO];
	unsigned int nr_vfio;

	/* the migration parameters last read, and when (stream time; 0: while connecting) */
	uint64_t params_read_ns;
	int params_out; /* a query-migrate-parameters is unanswered */

	/*
	 * The dirty-rate sampler (docs/telemetry.md, "Dirty rate from QEMU"):
	 * at most one calc-dirty-rate window in flight while the migration runs.
	 */
	struct {
		int state;     /* enum ms_dirty_rate_state, -1: none (no handshake) */
		int published; /* a state record went out */
		uint32_t mode; /* the mode asked for (dirty-bitmap, then dirty-ring) */
		char why[MS_DRS_WHY_LEN + 1];
		unsigned int nr;  /* windows asked for (250 and 1000 ms alternate) */
		int in_flight;	  /* a window was asked for and not yet read */
		int accepted;	  /* ... and QEMU said yes */
		int querying;	  /* a query-dirty-rate is unanswered */
		uint64_t sent_ns; /* when its calc-dirty-rate was sent */
		uint64_t window_ns;
		uint32_t win_mode;
		int whole_mib;
	} dr;
	int major, minor; /* QEMU's version from the greeting, 0.0 if none */

	uint64_t used, ignored, errors;
	char err[256];
};

static void warn(struct ms_qmp *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(struct ms_qmp *q, const char *fmt, ...)
{
	char msg[320];
	va_list ap;

	if (!q->o.warn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	q->o.warn(msg);
}

static int fail(struct ms_qmp *q, int ret, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct ms_qmp *q, int ret, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(q->err, sizeof(q->err), "QMP %s: ", q->o.path ? q->o.path : "socket");
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof(q->err))
		vsnprintf(q->err + n, sizeof(q->err) - (size_t)n, fmt, ap);
	va_end(ap);
	q->errors++;
	return ret;
}

struct ms_qmp *ms_qmp__new(struct ms_stream *s, const struct ms_qmp_opts *o)
{
	struct ms_qmp *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	q->tok = json_tokener_new();
	if (!q->tok) {
		free(q);
		return NULL;
	}
	q->s = s;
	if (o)
		q->o = *o;
	if (!q->o.interval_ns)
		q->o.interval_ns = 100000000ull;
	if (!q->o.slow_ns)
		q->o.slow_ns = 2000000000ull;
	if (!q->o.timeout_ns)
		q->o.timeout_ns = 30000000000ull;
	if (!q->o.drain_ns)
		q->o.drain_ns = 300000000ull;
	q->fd = -1;
	q->timer = q->drain_timer = q->final_timer = -1;
	q->next_id = 1;
	q->dr.state = -1;
	q->dr.mode = MS_DIRTY_RATE_DIRTY_BITMAP;
	return q;
}

const struct ms_qmp_info *ms_qmp__info(const struct ms_qmp *q)
{
	return &q->info;
}

void ms_qmp__set_clock(struct ms_qmp *q, int64_t wall_to_mono_ns)
{
	q->wall_to_mono_ns = wall_to_mono_ns;
}

/* The id VM-level records carry: none for the source, the destination's qemu-vm device. */
static uint32_t vm_id(struct ms_qmp *q, uint64_t ts)
{
	return ms_qemu_vm(q->s, ts, q->o.side);
}

static int is_dest(const struct ms_qmp *q)
{
	return q->o.side == MS_ROLE_DEST;
}

int ms_qmp__linger(struct ms_qmp *q)
{
	if (!is_dest(q) || q->ended || q->lost || !q->loop)
		return 0;
	q->linger = 1;
	return 1;
}

int ms_qmp__ended(const struct ms_qmp *q)
{
	return q->ended;
}

uint32_t ms_qmp__status(const struct ms_qmp *q)
{
	return q->status;
}

const char *ms_qmp__error(const struct ms_qmp *q)
{
	return q->err;
}

static uint64_t mono_now(void)
{
	return ms_now_ns();
}

static uint64_t stream_ts(const struct ms_qmp *q, uint64_t wall_ns)
{
	int64_t ts = (int64_t)wall_ns + q->wall_to_mono_ns;

	return ts > 0 ? (uint64_t)ts : 0;
}

/* --- sending ------------------------------------------------------------------- */

static int gone_after_end(struct ms_qmp *q, const char *what);

static int send_cmd(struct ms_qmp *q, enum cmd cmd, struct json_object *args, uint64_t now)
{
	struct json_object *msg = json_object_new_object();
	const char *text;
	size_t len, off = 0;
	uint32_t id = q->next_id++;
	char idstr[16];

	if (q->nr_out == MAX_OUTSTANDING) {
		json_object_put(args);
		json_object_put(msg);
		return fail(q, -EBUSY, "%u commands unanswered; QEMU is not reading its monitor",
			    q->nr_out);
	}
	json_object_object_add(msg, "execute", json_object_new_string(cmd_names[cmd]));
	if (args)
		json_object_object_add(msg, "arguments", args);
	snprintf(idstr, sizeof(idstr), "ms-%u", id);
	json_object_object_add(msg, "id", json_object_new_string(idstr));
	text = json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN);
	len = strlen(text);
	while (off < len) {
		ssize_t n = send(q->fd, text + off, len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? errno : EPIPE;

			json_object_put(msg);
			if (q->final_asked && (e == EPIPE || e == ECONNRESET))
				return gone_after_end(q, "closed");
			return fail(q, -e, "failed to send %s: %s", cmd_names[cmd], strerror(e));
		}
		off += (size_t)n;
	}
	json_object_put(msg);
	q->out[q->nr_out].cmd = cmd;
	q->out[q->nr_out].id = id;
	q->out[q->nr_out].sent_ns = now;
	q->out[q->nr_out].args = NULL;
	q->nr_out++;
	return 0;
}

/*
 * Re-read the migration parameters.  QEMU sends no event when
 * migrate-set-parameters changes them (from another monitor, or libvirt), and
 * nothing in query-migrate follows the downtime limit, so they are asked for
 * again: at migration setup, and next to every query-migrate while one runs
 * (both sent at once: one wake-up of QEMU's monitor per interval).
 */
static int reread_parameters(struct ms_qmp *q, uint64_t now_ns)
{
	/* the source's limits are the migration's */
	if (q->params_out || is_dest(q))
		return 0;
	q->params_out = 1;
	return send_cmd(q, CMD_QUERY_PARAMETERS, NULL, now_ns);
}

static int poll_migrate(struct ms_qmp *q, uint64_t now_ns);

static int dr_kick(struct ms_qmp *q, uint64_t now);

int ms_qmp__poll(struct ms_qmp *q, uint64_t now_ns)
{
	int ret = poll_migrate(q, now_ns);

	if (!ret && (q->status == MS_MIG_SETUP || q->status == MS_MIG_ACTIVE ||
		     q->status == MS_MIG_PRE_SWITCHOVER || q->status == MS_MIG_DEVICE))
		ret = reread_parameters(q, now_ns);
	return ret ? ret : dr_kick(q, now_ns);
}

static int poll_migrate(struct ms_qmp *q, uint64_t now_ns)
{
	for (unsigned int i = 0; i < q->nr_out; i++) {
		uint64_t waited;

		if (q->out[i].cmd != CMD_QUERY_MIGRATE)
			continue;
		/* never pile queries up behind a slow QEMU: say so instead */
		waited = now_ns > q->out[i].sent_ns ? now_ns - q->out[i].sent_ns : 0;
		if (waited >= q->o.timeout_ns)
			return fail(q, -ETIMEDOUT, "no reply to query-migrate in %.1f s",
				    (double)waited / 1e9);
		if (waited >= q->o.slow_ns && !q->slow_warned) {
			q->slow_warned = 1;
			warn(q, "QMP %s: no reply to query-migrate for %.1f s; still waiting",
			     q->o.path, (double)waited / 1e9);
		}
		return 0;
	}
	return send_cmd(q, CMD_QUERY_MIGRATE, NULL, now_ns);
}

/* --- what QEMU says ---------------------------------------------------------------- */

static int get_u64(struct json_object *o, const char *key, uint64_t *v)
{
	struct json_object *x;

	if (!o || !json_object_object_get_ex(o, key, &x) || !json_object_is_type(x, json_type_int))
		return 0;
	*v = json_object_get_uint64(x);
	if (*v == UINT64_MAX || json_object_get_int64(x) < 0)
		return 0;
	return 1;
}

static uint64_t stat_or_unset(struct json_object *o, const char *key)
{
	uint64_t v;

	return get_u64(o, key, &v) ? v : MS_STAT_UNSET;
}

static const char *get_str(struct json_object *o, const char *key)
{
	struct json_object *x;

	if (!o || !json_object_object_get_ex(o, key, &x) ||
	    !json_object_is_type(x, json_type_string))
		return NULL;
	return json_object_get_string(x);
}

static struct json_object *get_obj(struct json_object *o, const char *key)
{
	struct json_object *x;

	if (!o || !json_object_object_get_ex(o, key, &x) ||
	    !json_object_is_type(x, json_type_object))
		return NULL;
	return x;
}

static int terminal(uint32_t st)
{
	return st == MS_MIG_COMPLETED || st == MS_MIG_FAILED || st == MS_MIG_CANCELLED;
}

/* --- the dirty-rate sampler ------------------------------------------------------ */

static const char *const dr_mode_names[] = {
	[MS_DIRTY_RATE_PAGE_SAMPLING] = "page-sampling",
	[MS_DIRTY_RATE_DIRTY_BITMAP] = "dirty-bitmap",
	[MS_DIRTY_RATE_DIRTY_RING] = "dirty-ring",
};

/* QEMU 8.2 added calc-time-unit, and from then on divides before it truncates to MiB/s. */
static int qemu_at_least(const struct ms_qmp *q, int major, int minor)
{
	return q->major > major || (q->major == major && q->minor >= minor);
}

/* The state, as a record once the session has begun (else at its start). */
static void dr_set_state(struct ms_qmp *q, int state, const char *why, uint64_t now)
{
	struct {
		struct ms_ev_dirty_rate_state ev;
		char why[MS_DRS_WHY_LEN];
	} r = { 0 };
	size_t n;

	q->dr.state = state;
	/* publishing the state kept while connecting passes q->dr.why itself */
	if (why != q->dr.why)
		snprintf(q->dr.why, sizeof(q->dr.why), "%s", why ? why : "");
	if (q->connecting)
		return;
	n = strlen(q->dr.why);
	MS_EVENT_INIT(&r.ev, MS_EV_DIRTY_RATE_STATE, ms_ev_dirty_rate_state, MS_DEV_NONE, now);
	r.ev.state = (uint32_t)state;
	r.ev.mode = state == MS_DRS_SAMPLING ? q->dr.mode : 0;
	memcpy(r.why, q->dr.why, n);
	r.ev.hdr.len = (uint16_t)(r.ev.hdr.len + n);
	ms_stream__publish(q->s, &r.ev.hdr);
	q->dr.published = 1;
}

/* The window in flight is over (read, refused, or its reply was bad). */
static void dr_forget(struct ms_qmp *q)
{
	q->dr.in_flight = q->dr.accepted = q->dr.querying = 0;
}

static int dr_migrating(const struct ms_qmp *q)
{
	return q->status == MS_MIG_ACTIVE || q->status == MS_MIG_PRE_SWITCHOVER ||
	       q->status == MS_MIG_DEVICE;
}

/* A calc-dirty-rate was sent (by us, or by a transcript's recorder): its window begins. */
static void dr_window_sent(struct ms_qmp *q, uint64_t window_ns, uint32_t mode, int whole_mib,
			   uint64_t now)
{
	q->dr.in_flight = 1;
	q->dr.accepted = q->dr.querying = 0;
	q->dr.sent_ns = now;
	q->dr.window_ns = window_ns;
	q->dr.win_mode = mode;
	q->dr.whole_mib = whole_mib;
}

/*
 * Live: keep one window in flight while the migration runs.  Ask for a window
 * when none is; once it has elapsed, ask for its result on every poll until
 * QEMU has it.  QEMU >= 8.2 measures 250 and 1000 ms windows in turn (two
 * window lengths tell the guest's own rate from what a pass re-dirties);
 * before, calc-time is whole seconds.
 */
static int dr_kick(struct ms_qmp *q, uint64_t now)
{
	struct json_object *args;
	uint64_t window_ms;
	int ret;

	if (q->transcript || is_dest(q) || q->dr.state != MS_DRS_SAMPLING || q->fd < 0 ||
	    q->connecting || !dr_migrating(q))
		return 0;
	if (q->dr.in_flight) {
		if (!q->dr.accepted || q->dr.querying || now < q->dr.sent_ns + q->dr.window_ns)
			return 0;
		/* 8.2+ reports calc-time in seconds unless told: a 250 ms window would say 0 */
		args = NULL;
		if (q->dr.whole_mib) {
			args = json_object_new_object();
			json_object_object_add(args, "calc-time-unit",
					       json_object_new_string("millisecond"));
		}
		ret = send_cmd(q, CMD_QUERY_DIRTY_RATE, args, now);
		if (!ret)
			q->dr.querying = 1;
		return ret;
	}
	args = json_object_new_object();
	window_ms = qemu_at_least(q, 8, 2) ? (q->dr.nr % 2 ? 1000 : 250) : 1000;
	if (qemu_at_least(q, 8, 2)) {
		json_object_object_add(args, "calc-time", json_object_new_uint64(window_ms));
		json_object_object_add(args, "calc-time-unit",
				       json_object_new_string("millisecond"));
	} else {
		json_object_object_add(args, "calc-time", json_object_new_uint64(1));
	}
	json_object_object_add(args, "mode", json_object_new_string(dr_mode_names[q->dr.mode]));
	ret = send_cmd(q, CMD_CALC_DIRTY_RATE, args, now);
	if (ret)
		return ret;
	q->dr.nr++;
	dr_window_sent(q, window_ms * 1000000ull, q->dr.mode, qemu_at_least(q, 8, 2), now);
	return 0;
}

/* QEMU refused calc-dirty-rate or query-dirty-rate. */
static void dr_refused(struct ms_qmp *q, enum cmd cmd, struct json_object *err, uint64_t now)
{
	const char *desc = get_str(err, "desc"), *cls = get_str(err, "class");

	dr_forget(q);
	/* a transcript says what happened, whatever its query-kvm said */
	if (q->dr.state != MS_DRS_SAMPLING && !(q->transcript && q->dr.state == MS_DRS_UNKNOWN))
		return;
	if (!desc)
		desc = "no reason given";
	/* a VM with KVM's dirty ring has no dirty log to read: the ring measures as well */
	if (cmd == CMD_CALC_DIRTY_RATE && q->dr.mode == MS_DIRTY_RATE_DIRTY_BITMAP &&
	    strstr(desc, "mode dirty-bitmap is not enabled")) {
		q->dr.mode = MS_DIRTY_RATE_DIRTY_RING;
		/* the refused window was never measured: the same length again */
		if (q->dr.nr)
			q->dr.nr--;
		dr_set_state(q, MS_DRS_SAMPLING, desc, now);
		return;
	}
	if (cls && !strcmp(cls, "CommandNotFound")) {
		dr_set_state(q, MS_DRS_UNSUPPORTED, desc, now);
		return;
	}
	if (!q->transcript)
		warn(q, "QMP %s: %s refused (%s); the dirty rate is not sampled from here on",
		     q->o.path, cmd_names[cmd], desc);
	dr_set_state(q, MS_DRS_REFUSED, desc, now);
}

/*
 * The window QEMU measured, if it is the one asked for (a reply to another
 * client's is not ours); 0 if not.  QEMU >= 8.2 states it in the unit
 * query-dirty-rate asked for, in milliseconds as long as it actually took
 * (10.0.2: 1003 for 1000 when the sync waited for the BQL): that length, from
 * the window asked for up to twice it.  In seconds (7.2, or not asked) it is
 * the whole seconds asked for: the window asked for.
 */
static uint64_t dr_window_measured(struct ms_qmp *q, struct json_object *r)
{
	const char *unit = get_str(r, "calc-time-unit");
	uint64_t t;

	if (!get_u64(r, "calc-time", &t) || t > 1000000000ull)
		return 0;
	if (unit && !strcmp(unit, "millisecond"))
		return t * 1000000ull >= q->dr.window_ns && t * 1000000ull <= 2 * q->dr.window_ns
			   ? t * 1000000ull
			   : 0;
	if (unit && strcmp(unit, "second"))
		return 0;
	/* a sub-second window stated in seconds is 0: only then is 0 right */
	return t == q->dr.window_ns / 1000000000ull && (t || !unit) ? q->dr.window_ns : 0;
}

/* ~1 PiB/s: no guest writes faster; larger is not QEMU's number (and would overflow) */
#define DR_MAX_MIB_S (1ull << 30)

static void on_query_dirty_rate(struct ms_qmp *q, struct json_object *r, uint64_t now)
{
	const char *status = get_str(r, "status");
	struct ms_ev_dirty_rate ev = { 0 };
	struct json_object *x;
	uint64_t rate, window;

	q->dr.querying = 0;
	if (status && (!strcmp(status, "measuring") || !strcmp(status, "unstarted")))
		return; /* asked again on the next poll */
	if (!status || strcmp(status, "measured")) {
		q->errors++; /* a status QEMU does not have: asked again, never a record */
		return;
	}
	window = q->dr.in_flight && q->dr.window_ns ? dr_window_measured(q, r) : 0;
	if (!window || !json_object_object_get_ex(r, "dirty-rate", &x) ||
	    !json_object_is_type(x, json_type_int) || json_object_get_int64(x) < 0 ||
	    (uint64_t)json_object_get_int64(x) > DR_MAX_MIB_S) {
		q->errors++;
		dr_forget(q);
		return;
	}
	rate = (uint64_t)json_object_get_int64(x);
	MS_EVENT_INIT(&ev, MS_EV_DIRTY_RATE, ms_ev_dirty_rate, MS_DEV_NONE, q->dr.sent_ns + window);
	ev.window_ns = window;
	ev.rate_bps = rate << 20;
	ev.rate_hi_bps = (rate + 1) << 20;
	/* before 8.2 the window's MiB are truncated before the division: up to 1/W more */
	if (!q->dr.whole_mib)
		ev.rate_hi_bps += ((1ull << 20) * 1000000000ull + window - 1) / window;
	ev.mode = q->dr.win_mode;
	ms_stream__publish(q->s, &ev.hdr);
	dr_forget(q);
}

/* What query-kvm says decides, unless the user opted out or QEMU already refused. */
static int dr_kvm_decides(const struct ms_qmp *q)
{
	return q->dr.state < 0 || q->dr.state == MS_DRS_SAMPLING || q->dr.state == MS_DRS_TCG ||
	       q->dr.state == MS_DRS_UNKNOWN;
}

/* query-kvm while connecting: sample only under KVM (TCG's numbers are too noisy, or fatal). */
static void on_query_kvm(struct ms_qmp *q, struct json_object *r, uint64_t now)
{
	struct json_object *x;

	if (!json_object_object_get_ex(r, "enabled", &x) ||
	    !json_object_is_type(x, json_type_boolean)) {
		q->errors++;
		if (dr_kvm_decides(q))
			dr_set_state(q, MS_DRS_UNKNOWN, "query-kvm's reply has no \"enabled\"",
				     now);
		return;
	}
	if (dr_kvm_decides(q))
		dr_set_state(q, json_object_get_boolean(x) ? MS_DRS_SAMPLING : MS_DRS_TCG, NULL,
			     now);
}

static int on_drained(void *ctx, uint32_t ev)
{
	struct ms_qmp *q = ctx;

	ms_loop__del_timer(q->loop, q->drain_timer);
	q->drain_timer = -1;
	ms_loop__stop(q->loop, 0);
	return 0;
}

/* The final numbers are in: let the other sources catch up, then stop the loop. */
static void finish(struct ms_qmp *q)
{
	if (q->ended)
		return;
	q->ended = 1;
	if (q->loop && q->drain_timer < 0)
		q->drain_timer = ms_loop__add_timer(q->loop, q->o.drain_ns, on_drained, q);
}

static int on_final(void *ctx, uint32_t ev)
{
	struct ms_qmp *q = ctx;

	uint64_t now = mono_now();
	int ret;

	ms_loop__del_timer(q->loop, q->final_timer);
	q->final_timer = -1;
	ret = ms_qmp__poll(q, now);
	/* a change made since the last poll (it may be what let QEMU switch over) is still told */
	return ret ? ret : reread_parameters(q, now);
}

/*
 * A pre-copy pass boundary of the VM's RAM: QEMU's MIGRATION_PASS (a dirty
 * sync), or a query-migrate whose dirty-sync-count went past the last one
 * seen (without the events capability).  What the sync left is the next
 * query's ram.remaining (left MS_STAT_UNSET) unless this is that query.
 */
static void publish_pass(struct ms_qmp *q, uint64_t pass, uint64_t left, uint64_t ts)
{
	struct ms_ev_pass ev = { 0 };

	if (pass <= q->pass || pass > UINT32_MAX || is_dest(q))
		return;
	MS_EVENT_INIT(&ev, MS_EV_PASS, ms_ev_pass, MS_DEV_NONE, ts);
	ev.pass = (uint32_t)pass;
	ev.origin = MS_PASS_QMP;
	ev.left = left;
	ev.dirty = MS_STAT_UNSET;
	ev.dur_ns = q->pass && ts > q->pass_ts ? ts - q->pass_ts : 0;
	ms_stream__publish(q->s, &ev.hdr);
	q->pass = (uint32_t)pass;
	q->pass_ts = ts;
}

static void set_status(struct ms_qmp *q, uint32_t st, uint32_t pass, uint64_t ts, uint64_t now)
{
	struct ms_ev_mig_status ev = { 0 };

	MS_EVENT_INIT(&ev, MS_EV_MIG_STATUS, ms_ev_mig_status, vm_id(q, ts), ts);
	ev.status = st;
	ev.pass = pass;
	ms_stream__publish(q->s, &ev.hdr);
	q->status = st;
	if (!terminal(st) && st != MS_MIG_NONE)
		q->active_seen = 1;
	/* what was set between the attach and `migrate` holds from here */
	if (st == MS_MIG_SETUP && q->fd >= 0 && reread_parameters(q, now))
		return;
	/*
	 * The downtime QEMU measured is only in a reply after the end.  Not at
	 * once: QEMU stops its downtime clock only after the migration thread
	 * gets the BQL back, and a query-migrate now would hold the BQL just
	 * then and lengthen the downtime we came to measure.
	 */
	if (terminal(st) && is_dest(q)) {
		/* the destination's end is no end of the watch: the source's is */
		q->ended = 1;
		if (q->linger && q->loop)
			ms_loop__stop(q->loop, 0);
		return;
	}
	if (terminal(st) && q->active_seen && !q->final_asked) {
		q->final_asked = 1;
		if (q->loop && q->final_timer < 0)
			q->final_timer = ms_loop__add_timer(q->loop, FINAL_DELAY_NS, on_final, q);
	}
	/* the first window begins as soon as the migration is seen active */
	(void)dr_kick(q, now); /* a socket that failed says so on the next read */
}

static void on_query_migrate(struct ms_qmp *q, struct json_object *r, uint64_t now)
{
	struct ms_ev_mig_stats ev = { 0 };
	struct json_object *ram = get_obj(r, "ram"), *vfio = get_obj(r, "vfio"), *mbps;
	const char *status = get_str(r, "status");
	uint32_t st = status ? ms_qemu_mig_status(status) : MS_MIG_NONE;
	uint64_t total;

	if (q->connecting) {
		/* before the session: only what the watch needs to begin it */
		q->info.status = st;
		if (!terminal(st) && st != MS_MIG_NONE) {
			get_u64(r, "total-time", &q->info.total_time_ms);
			q->active_seen = 1;
		}
		q->status = st;
		return;
	}
	/*
	 * QEMU says "completed" a moment before it has computed the totals
	 * (7.2 reports total-time and downtime 0 then): ask again next tick
	 * rather than record numbers that are not QEMU's.
	 */
	if (st == MS_MIG_COMPLETED && (!get_u64(r, "total-time", &total) || !total)) {
		q->ignored++;
		return;
	}
	/* without the `events` capability the status is only learnt here */
	if (st != q->status && (!q->info.events_on || terminal(st)) && !q->final_asked)
		set_status(q, st, 0, now, now);
	/* the destination's query-migrate has no numbers of the migration: the source's has */
	if (is_dest(q))
		return;
	MS_EVENT_INIT(&ev, MS_EV_MIG_STATS, ms_ev_mig_stats, MS_DEV_NONE, now);
	ev.status = st;
	ev.total_time_ms = stat_or_unset(r, "total-time");
	ev.downtime_ms = stat_or_unset(r, "downtime");
	ev.expected_downtime_ms = stat_or_unset(r, "expected-downtime");
	ev.setup_time_ms = stat_or_unset(r, "setup-time");
	ev.ram_total = stat_or_unset(ram, "total");
	ev.ram_remaining = stat_or_unset(ram, "remaining");
	ev.ram_transferred = stat_or_unset(ram, "transferred");
	ev.dirty_pages_rate = stat_or_unset(ram, "dirty-pages-rate");
	ev.dirty_sync_count = stat_or_unset(ram, "dirty-sync-count");
	ev.vfio_transferred = stat_or_unset(vfio, "transferred");
	ev.mbps_milli = MS_STAT_UNSET;
	if (ram && json_object_object_get_ex(ram, "mbps", &mbps) &&
	    (json_object_is_type(mbps, json_type_double) ||
	     json_object_is_type(mbps, json_type_int))) {
		double v = json_object_get_double(mbps);

		if (isfinite(v) && v >= 0 && v < 1e15)
			ev.mbps_milli = (uint64_t)llround(v * 1000.0);
	}
	ms_stream__publish(q->s, &ev.hdr);
	if (ev.dirty_sync_count != MS_STAT_UNSET && !terminal(st))
		publish_pass(q, ev.dirty_sync_count, ev.ram_remaining, now);

	if (q->o.ram_pending && ev.ram_remaining != MS_STAT_UNSET) {
		struct ms_ev_qemu_pending p = { 0 };

		MS_EVENT_INIT(&p, MS_EV_QEMU_PENDING, ms_ev_qemu_pending,
			      ms_qemu_device(q->s, now, MS_DEV_KIND_QEMU_SECTION, MS_ROLE_SOURCE,
					     MS_QEMU_RAM),
			      now);
		p.precopy = ev.ram_remaining;
		p.threshold = MS_STAT_UNSET;
		p.origin = MS_PENDING_QMP;
		ms_stream__publish(q->s, &p.hdr);
	}
	if (q->final_asked && terminal(st))
		finish(q);
}

/*
 * The parameters QEMU holds now.  While connecting they are what the session
 * begins with; after, a change is published as the limits in force from now
 * (QEMU applied it somewhere since the read before).
 */
static void on_query_parameters(struct ms_qmp *q, struct json_object *r, uint64_t now)
{
	uint64_t limit = q->info.downtime_limit_ms, bw = q->info.max_bandwidth;
	struct ms_ev_config ev = { 0 };

	get_u64(r, "downtime-limit", &limit);
	get_u64(r, "max-bandwidth", &bw);
	if (q->connecting) {
		q->info.downtime_limit_ms = limit;
		q->info.max_bandwidth = bw;
		q->params_read_ns = now;
		return;
	}
	if (limit != q->info.downtime_limit_ms || bw != q->info.max_bandwidth) {
		MS_EVENT_INIT(&ev, MS_EV_CONFIG, ms_ev_config, MS_DEV_NONE, now);
		ev.downtime_limit_ns = limit > UINT64_MAX / 1000000 ? UINT64_MAX : limit * 1000000;
		ev.bandwidth_bps = bw;
		ev.changed_after_ns = q->params_read_ns;
		ms_stream__publish(q->s, &ev.hdr);
		q->info.downtime_limit_ms = limit;
		q->info.max_bandwidth = bw;
	}
	q->params_read_ns = now;
}

static void on_greeting(struct ms_qmp *q, struct json_object *greeting)
{
	struct json_object *v = get_obj(get_obj(greeting, "version"), "qemu");
	uint64_t major = 0, minor = 0, micro = 0;

	if (get_u64(v, "major", &major) && get_u64(v, "minor", &minor))
		get_u64(v, "micro", &micro);
	snprintf(q->info.version, sizeof(q->info.version), "%llu.%llu.%llu",
		 (unsigned long long)major, (unsigned long long)minor, (unsigned long long)micro);
	q->major = major > 1000 ? 1000 : (int)major;
	q->minor = minor > 1000 ? 1000 : (int)minor;
}

/* QAPI's QapiVfioMigrationState -> the kernel's state; -1 for "...-prepare" and unknowns. */
static int vfio_qapi_state(const char *s)
{
	static const struct {
		const char *name;
		int state;
	} map[] = {
		{ "stop", VFIO_DEVICE_STATE_STOP },
		{ "running", VFIO_DEVICE_STATE_RUNNING },
		{ "stop-copy", VFIO_DEVICE_STATE_STOP_COPY },
		{ "resuming", VFIO_DEVICE_STATE_RESUMING },
		{ "running-p2p", VFIO_DEVICE_STATE_RUNNING_P2P },
		{ "pre-copy", VFIO_DEVICE_STATE_PRE_COPY },
		{ "pre-copy-p2p", VFIO_DEVICE_STATE_PRE_COPY_P2P },
	};

	for (size_t i = 0; s && i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(map[i].name, s))
			return map[i].state;
	return -1;
}

/* The state QEMU last reported for dev over QMP (RUNNING before any), then remember st. */
static int vfio_last_state(struct ms_qmp *q, uint32_t dev, int st)
{
	int prev = VFIO_DEVICE_STATE_RUNNING;
	unsigned int i;

	for (i = 0; i < q->nr_vfio && q->vfio[i].dev != dev; i++)
		;
	if (i < q->nr_vfio)
		prev = q->vfio[i].state;
	else if (i < MAX_VFIO)
		q->nr_vfio++;
	if (i < MAX_VFIO) {
		q->vfio[i].dev = dev;
		q->vfio[i].state = st;
	}
	return prev;
}

static int on_event(struct ms_qmp *q, struct json_object *msg, uint64_t now)
{
	const char *name = get_str(msg, "event");
	struct json_object *tsobj = get_obj(msg, "timestamp"), *data = get_obj(msg, "data");
	uint64_t sec, usec, ts = now;

	if (!name)
		return -1;
	/* the time QEMU emitted it: events are often read long after */
	if (get_u64(tsobj, "seconds", &sec) && get_u64(tsobj, "microseconds", &usec) &&
	    sec < 1ull << 33 && usec < 1000000)
		ts = stream_ts(q, sec * 1000000000ull + usec * 1000);

	if (!strcmp(name, "MIGRATION")) {
		const char *st = get_str(data, "status");

		if (!st)
			return -1;
		set_status(q, ms_qemu_mig_status(st), 0, ts, now);
	} else if (!strcmp(name, "MIGRATION_PASS")) {
		uint64_t pass;

		if (!get_u64(data, "pass", &pass) || pass > UINT32_MAX)
			return -1;
		set_status(q, q->status, (uint32_t)pass, ts, now);
		publish_pass(q, pass, MS_STAT_UNSET, ts);
	} else if (!strcmp(name, "STOP") || !strcmp(name, "RESUME")) {
		struct ms_ev_runstate ev = { 0 };

		if (q->o.runstate_from_trace)
			return 1;

		MS_EVENT_INIT(&ev, MS_EV_RUNSTATE, ms_ev_runstate, vm_id(q, ts), ts);
		ev.running = name[0] == 'R';
		ms_stream__publish(q->s, &ev.hdr);
	} else if (!strcmp(name, "VFIO_MIGRATION")) {
		const char *id = get_str(data, "device-id"), *path = get_str(data, "qom-path");
		int st = vfio_qapi_state(get_str(data, "device-state"));
		struct ms_ev_dev_state ev = { 0 };
		uint32_t dev;

		if (!q->o.vfio_events)
			return 1;
		if (!id || !*id)
			id = path;
		if (!id || !*id || st < 0)
			return -1;
		dev = ms_qemu_device(
		    q->s, ts, MS_DEV_KIND_QEMU_VFIO,
		    st == VFIO_DEVICE_STATE_RESUMING ? MS_ROLE_DEST : MS_ROLE_SOURCE, id);
		MS_EVENT_INIT(&ev, MS_EV_DEV_STATE, ms_ev_dev_state, dev, ts);
		ev.domain = MS_DOMAIN_VFIO;
		ev.from = (uint8_t)vfio_last_state(q, dev, st);
		ev.to = (uint8_t)st;
		ms_stream__publish(q->s, &ev.hdr);
	} else {
		return 1; /* an event migscope does not use */
	}
	return 0;
}

/* The outstanding command a reply answers: by id, else the oldest. */
static int take_command(struct ms_qmp *q, struct json_object *msg, enum cmd *cmd,
			struct json_object **args, uint64_t *sent_ns)
{
	const char *id = get_str(msg, "id");
	unsigned int i = 0;

	if (!q->nr_out)
		return -1;
	/* a transcript's ids are its recorder's; QMP answers in order anyway */
	if (id && !q->transcript) {
		unsigned int n;

		if (sscanf(id, "ms-%u", &n) != 1)
			return -1;
		for (i = 0; i < q->nr_out && q->out[i].id != n; i++)
			;
		if (i == q->nr_out)
			return -1;
	}
	*cmd = q->out[i].cmd;
	*args = q->out[i].args;
	*sent_ns = q->out[i].sent_ns;
	if (*cmd == CMD_QUERY_PARAMETERS)
		q->params_out = 0;
	memmove(&q->out[i], &q->out[i + 1], (q->nr_out - i - 1) * sizeof(q->out[0]));
	q->nr_out--;
	if (*cmd == CMD_QUERY_MIGRATE)
		q->slow_warned = 0;
	return 0;
}

static int handle_reply(struct ms_qmp *q, struct json_object *msg, enum cmd cmd,
			struct json_object *args, uint64_t sent_ns, uint64_t now);

static int handle(struct ms_qmp *q, struct json_object *msg, uint64_t now)
{
	struct json_object *ret, *args = NULL;
	uint64_t sent_ns = 0;
	enum cmd cmd;
	int r;

	if (!json_object_is_type(msg, json_type_object))
		return fail(q, -EPROTO, "a message that is not a JSON object at byte %llu",
			    (unsigned long long)q->offset);
	if (json_object_object_get_ex(msg, "QMP", &ret)) {
		on_greeting(q, ret);
		q->used++;
		return 0;
	}
	if (json_object_object_get_ex(msg, "event", &ret)) {
		if (q->connecting) {
			if (q->nr_early < MAX_EARLY) {
				q->early[q->nr_early++] = json_object_get(msg);
			} else {
				q->ignored++;
			}
			return 0;
		}
		r = on_event(q, msg, now);
		if (r < 0)
			q->errors++;
		else if (r > 0)
			q->ignored++;
		else
			q->used++;
		return 0;
	}
	if (take_command(q, msg, &cmd, &args, &sent_ns)) {
		q->ignored++; /* an answer to a command migscope did not send */
		return 0;
	}
	r = handle_reply(q, msg, cmd, args, sent_ns, now);
	json_object_put(args);
	return r;
}

static int handle_reply(struct ms_qmp *q, struct json_object *msg, enum cmd cmd,
			struct json_object *args, uint64_t sent_ns, uint64_t now)
{
	struct json_object *ret;

	if (json_object_object_get_ex(msg, "error", &ret)) {
		const char *desc = get_str(ret, "desc");

		q->errors++;
		switch (cmd) {
		case CMD_QUERY_KVM:
			if (dr_kvm_decides(q))
				dr_set_state(q, MS_DRS_UNKNOWN, desc ? desc : "query-kvm failed",
					     now);
			return 0;
		case CMD_CALC_DIRTY_RATE:
		case CMD_QUERY_DIRTY_RATE:
			dr_refused(q, cmd, ret, now);
			return dr_kick(q, now);
		default:
			break;
		}
		/* a recorded conversation goes on past a failed command: counted */
		if (q->transcript)
			return 0;
		switch (cmd) {
		case CMD_SET_EVENTS:
			warn(q,
			     "QMP %s: cannot switch on the events capability (%s); the status "
			     "comes from query-migrate",
			     q->o.path, desc ? desc : "no reason given");
			return 0;
		case CMD_QUERY_PARAMETERS:
			return 0;
		case CMD_QUERY_MIGRATE:
			if (q->final_asked && !q->connecting)
				return gone_after_end(q, "query-migrate refused");
			/* fall through */
		default:
			return fail(q, -EIO, "%s failed: %s", cmd_names[cmd],
				    desc ? desc : "no reason given");
		}
	}
	if (!json_object_object_get_ex(msg, "return", &ret)) {
		q->ignored++;
		return 0;
	}
	q->used++;
	switch (cmd) {
	case CMD_SET_EVENTS:
		q->info.events_on = 1;
		break;
	case CMD_QUERY_PARAMETERS:
		on_query_parameters(q, ret, now);
		break;
	case CMD_QUERY_MIGRATE:
		on_query_migrate(q, ret, now);
		break;
	case CMD_SET_PARAMETERS:
		/* the limits a transcript set are in force once QEMU said yes */
		if (args)
			on_query_parameters(q, args, now);
		break;
	case CMD_QUERY_KVM:
		on_query_kvm(q, ret, now);
		break;
	case CMD_CALC_DIRTY_RATE:
		/* the window QEMU measures is the one last asked for (one at a time) */
		if (q->dr.in_flight && q->dr.sent_ns == sent_ns)
			q->dr.accepted = 1;
		break;
	case CMD_QUERY_DIRTY_RATE:
		on_query_dirty_rate(q, ret, now);
		/* measured: the next window at once (still measuring: asked again next poll) */
		return q->dr.in_flight ? 0 : dr_kick(q, now);
	default:
		break;
	}
	return 0;
}

int ms_qmp__feed(struct ms_qmp *q, const char *buf, size_t len, uint64_t now_ns)
{
	while (len) {
		struct json_object *msg;
		enum json_tokener_error jerr;
		size_t used;
		int ret;

		/* between messages QMP sends CRLF; skip it so it cannot start a parse */
		if (!q->msg_bytes &&
		    (*buf == '\r' || *buf == '\n' || *buf == ' ' || *buf == '\t')) {
			buf++;
			len--;
			q->offset++;
			continue;
		}
		msg = json_tokener_parse_ex(q->tok, buf, len > INT32_MAX ? INT32_MAX : (int)len);
		jerr = json_tokener_get_error(q->tok);
		used = json_tokener_get_parse_end(q->tok);
		if (used > len)
			used = len;
		if (!msg && jerr == json_tokener_continue) {
			q->msg_bytes += used;
			q->offset += used;
			if (q->msg_bytes > QMP_MAX_MESSAGE)
				return fail(q, -EPROTO,
					    "a message longer than %u bytes at byte %llu",
					    QMP_MAX_MESSAGE, (unsigned long long)q->offset);
			return 0;
		}
		if (!msg) {
			char snippet[40];
			size_t n = len < sizeof(snippet) - 1 ? len : sizeof(snippet) - 1;

			for (size_t i = 0; i < n; i++)
				snippet[i] = buf[i] >= 0x20 && buf[i] < 0x7f ? buf[i] : '.';
			snippet[n] = 0;
			return fail(q, -EPROTO, "not JSON at byte %llu (%s): '%s'",
				    (unsigned long long)(q->offset + used),
				    json_tokener_error_desc(jerr), snippet);
		}
		json_tokener_reset(q->tok);
		q->msg_bytes = 0;
		q->offset += used;
		buf += used;
		len -= used;
		ret = handle(q, msg, now_ns);
		json_object_put(msg);
		if (ret)
			return ret;
	}
	return 0;
}

/* --- the socket ------------------------------------------------------------------ */

/*
 * The monitor went away (or refused the final query-migrate) after the
 * migration ended: a source QEMU is often stopped right after (libvirt's save
 * and migrate stop it).  The migration's end is known; only the final numbers
 * (QEMU's own downtime) are missing, so end as after them, saying so.
 */
static int gone_after_end(struct ms_qmp *q, const char *what)
{
	warn(q,
	     "QMP %s: %s after the migration %s, before its final numbers; QEMU's own "
	     "downtime is not in the report",
	     q->o.path, what, ms_qemu_mig_status_name(q->status));
	if (q->loop) {
		if (q->final_timer >= 0)
			ms_loop__del_timer(q->loop, q->final_timer);
		q->final_timer = -1;
		if (what[0] == 'c')
			ms_loop__del_fd(q->loop, q->fd);
	}
	finish(q);
	return 0;
}

/* Read what is there; 0, or -errno with err set (EOF is -EPIPE). */
static int receive(struct ms_qmp *q)
{
	char buf[65536];

	for (;;) {
		ssize_t n = recv(q->fd, buf, sizeof(buf), MSG_DONTWAIT);
		int ret;

		if (n > 0) {
			ret = ms_qmp__feed(q, buf, (size_t)n, mono_now());
			if (ret)
				return ret;
			continue;
		}
		/* a peer that quit with our commands unread resets rather than closes */
		if (n == 0 || errno == ECONNRESET) {
			if (q->final_asked)
				return gone_after_end(q, "closed");
			return fail(q, -EPIPE,
				    "QEMU closed the socket (it quit, or another client "
				    "took the monitor)");
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		return fail(q, -errno, "failed to read: %s", strerror(errno));
	}
}

/* Connecting: wait until cmd's answer (or any failure), bounded by the timeout. */
static int wait_reply(struct ms_qmp *q, int want_greeting)
{
	uint64_t deadline = mono_now() + q->o.timeout_ns;

	for (;;) {
		struct pollfd p = { .fd = q->fd, .events = POLLIN };
		uint64_t now = mono_now();
		int ret;

		if (want_greeting ? q->info.version[0] != 0 : q->nr_out == 0)
			return 0;
		if (q->err[0])
			return -EIO;
		if (now >= deadline)
			return fail(q, -ETIMEDOUT, "no %s from QEMU in %.1f s",
				    want_greeting ? "greeting" : "reply",
				    (double)q->o.timeout_ns / 1e9);
		ret = poll(&p, 1, (int)((deadline - now) / 1000000 + 1));
		if (ret < 0 && errno != EINTR)
			return fail(q, -errno, "failed to wait: %s", strerror(errno));
		if (ret > 0) {
			ret = receive(q);
			if (ret)
				return ret;
		}
	}
}

static int command(struct ms_qmp *q, enum cmd cmd, struct json_object *args)
{
	int ret = send_cmd(q, cmd, args, mono_now());

	return ret ? ret : wait_reply(q, 0);
}

static int handshake(struct ms_qmp *q, char *err, size_t errlen);

int ms_qmp__connect(struct ms_qmp *q, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	int ret;

	if (!q->o.path || strlen(q->o.path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "QMP socket path '%s' is empty or longer than %zu bytes",
			 q->o.path ? q->o.path : "", sizeof(sa.sun_path) - 1);
		return -EINVAL;
	}
	strcpy(sa.sun_path, q->o.path);
	q->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (q->fd < 0 || connect(q->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		ret = -errno;
		snprintf(err, errlen, "QMP %s: failed to connect: %s%s", q->o.path, strerror(errno),
			 errno == ENOENT || errno == ECONNREFUSED
			     ? " (is QEMU running with -qmp unix:PATH,server=on,wait=off?)"
			     : "");
		return ret;
	}
	if (!getsockopt(q->fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen))
		q->info.pid = cred.pid;
	return handshake(q, err, errlen);
}

int ms_qmp__connect_fd(struct ms_qmp *q, int fd, char *err, size_t errlen)
{
	q->fd = fd;
	return handshake(q, err, errlen);
}

static int handshake(struct ms_qmp *q, char *err, size_t errlen)
{
	int ret;

	q->connecting = 1;
	ret = wait_reply(q, 1);
	if (!ret)
		ret = command(q, CMD_CAPABILITIES, NULL);
	/* the source's dirty rate is sampled under KVM only (docs/telemetry.md) */
	if (!ret && !is_dest(q)) {
		if (q->o.no_dirty_rate)
			dr_set_state(q, MS_DRS_OPTED_OUT,
				     q->o.set_events ? "--no-dirty-rate" : "--no-set", 0);
		else if (!qemu_at_least(q, 5, 2))
			dr_set_state(q, MS_DRS_UNSUPPORTED, q->info.version, 0);
		else
			ret = command(q, CMD_QUERY_KVM, NULL);
	}
	if (!ret && q->o.set_events) {
		struct json_object *caps = json_object_new_array(), *c = json_object_new_object();
		struct json_object *args = json_object_new_object();

		json_object_object_add(c, "capability", json_object_new_string("events"));
		json_object_object_add(c, "state", json_object_new_boolean(1));
		json_object_array_add(caps, c);
		json_object_object_add(args, "capabilities", caps);
		ret = command(q, CMD_SET_EVENTS, args);
	}
	if (!ret && (q->o.set_downtime_limit_ms || q->o.set_bandwidth)) {
		struct json_object *args = json_object_new_object();

		if (q->o.set_downtime_limit_ms)
			json_object_object_add(args, "downtime-limit",
					       json_object_new_uint64(q->o.set_downtime_limit_ms));
		if (q->o.set_bandwidth)
			json_object_object_add(args, "max-bandwidth",
					       json_object_new_uint64(q->o.set_bandwidth));
		ret = command(q, CMD_SET_PARAMETERS, args);
	}
	if (!ret)
		ret = command(q, CMD_QUERY_PARAMETERS, NULL);
	if (!ret)
		ret = command(q, CMD_QUERY_MIGRATE, NULL);
	q->connecting = 0;
	if (ret) {
		snprintf(err, errlen, "%s", q->err);
		return ret;
	}
	return 0;
}

void ms_qmp__set_stand_ins(struct ms_qmp *q, int vfio_events, int ram_pending)
{
	q->o.vfio_events = vfio_events;
	q->o.ram_pending = ram_pending;
}

void ms_qmp__attach(struct ms_qmp *q, int fd)
{
	q->fd = fd;
	q->connecting = 0;
}

/*
 * The destination went away (EOF, a read error, a bad message, no reply):
 * its records stop here.  That is a loss, said once and recorded, so the
 * report does not take a resume it never saw for one that did not happen;
 * the watch goes on with the source.
 */
static int dest_lost(struct ms_qmp *q, int ret)
{
	struct ms_ev_loss ev = { 0 };
	uint64_t now = mono_now();

	if (!is_dest(q) || !ret || q->lost)
		return ret;
	q->lost = 1;
	/* a destination whose migration had ended lost nothing by going */
	if (!q->ended) {
		MS_EVENT_INIT(&ev, MS_EV_LOSS, ms_ev_loss, vm_id(q, now), now);
		ev.reason = MS_LOSS_SOURCE_ERROR;
		ms_stream__publish(q->s, &ev.hdr);
		warn(q, "%s; the destination's records stop here (the report says so)", q->err);
	}
	if (q->timer >= 0)
		ms_loop__del_timer(q->loop, q->timer);
	q->timer = -1;
	ms_loop__del_fd(q->loop, q->fd);
	close(q->fd);
	q->fd = -1;
	if (q->linger)
		ms_loop__stop(q->loop, 0);
	return 0;
}

static int on_readable(void *ctx, uint32_t events)
{
	return dest_lost(ctx, receive(ctx));
}

static int on_tick(void *ctx, uint32_t events)
{
	struct ms_qmp *q = ctx;

	uint64_t now = mono_now();

	/* after the end, only the final reply is awaited */
	if (q->ended || q->lost)
		return 0;
	return dest_lost(q, ms_qmp__poll(q, now));
}

/* The events that arrived while connecting, now that the session has begun. */
static void flush_early(struct ms_qmp *q, uint64_t now)
{
	for (unsigned int i = 0; i < q->nr_early; i++) {
		int ret = on_event(q, q->early[i], now);

		if (ret < 0)
			q->errors++;
		else if (ret > 0)
			q->ignored++;
		else
			q->used++;
		json_object_put(q->early[i]);
		q->early[i] = NULL;
	}
	q->nr_early = 0;
}

int ms_qmp__start(struct ms_qmp *q, struct ms_loop *loop, char *err, size_t errlen)
{
	int ret;

	q->loop = loop;
	if (q->dr.state >= 0 && !q->dr.published)
		dr_set_state(q, q->dr.state, q->dr.why, mono_now());
	flush_early(q, mono_now());
	ret = ms_loop__add_fd(loop, q->fd, 0x001 /* EPOLLIN */, on_readable, q);
	if (!ret) {
		q->timer = ms_loop__add_timer(loop, q->o.interval_ns, on_tick, q);
		ret = q->timer < 0 ? q->timer : 0;
	}
	if (!ret)
		ret = ms_qmp__poll(q, mono_now());
	if (ret) {
		snprintf(err, errlen, "%s", q->err[0] ? q->err : strerror(-ret));
		return ret;
	}
	return 0;
}

/* --- a recorded conversation ------------------------------------------------------ */

void ms_qmp__transcript(struct ms_qmp *q)
{
	q->transcript = 1;
	q->connecting = 1;
}

/* The command a transcript's client sent: its name in our table, else CMD_OTHER. */
static enum cmd transcript_cmd(struct json_object *msg)
{
	const char *name = get_str(msg, "execute");
	struct json_object *caps, *c;

	if (!name)
		name = get_str(msg, "exec-oob");
	if (!name)
		return CMD_OTHER;
	if (!strcmp(name, "migrate-set-capabilities")) {
		/* only a request to switch `events` on tells whether MIGRATION events come */
		if (!json_object_object_get_ex(get_obj(msg, "arguments"), "capabilities", &caps) ||
		    !json_object_is_type(caps, json_type_array))
			return CMD_OTHER;
		for (size_t i = 0; i < json_object_array_length(caps); i++) {
			struct json_object *st;
			const char *cap;

			c = json_object_array_get_idx(caps, i);
			cap = get_str(c, "capability");
			if (cap && !strcmp(cap, "events") &&
			    json_object_object_get_ex(c, "state", &st) &&
			    json_object_get_boolean(st))
				return CMD_SET_EVENTS;
		}
		return CMD_OTHER;
	}
	for (int i = 0; i < CMD_OTHER; i++)
		if (!strcmp(cmd_names[i], name))
			return (enum cmd)i;
	return CMD_OTHER;
}

/*
 * A recorder's calc-dirty-rate: its window begins now.  calc-time is seconds
 * unless calc-time-unit says milliseconds (8.2+); mode defaults to
 * page-sampling.  A window that is not a positive time is kept as none: its
 * result is a bad line, never a record.
 */
static void transcript_calc(struct ms_qmp *q, struct json_object *a, uint64_t now)
{
	const char *unit = get_str(a, "calc-time-unit"), *mode = get_str(a, "mode");
	uint64_t t = 0, ns = 0;
	uint32_t m = MS_DIRTY_RATE_PAGE_SAMPLING;

	if (get_u64(a, "calc-time", &t) && t && t <= 1000000000ull) {
		if (unit && !strcmp(unit, "millisecond"))
			ns = t * 1000000ull;
		else if (!unit || !strcmp(unit, "second"))
			ns = t * 1000000000ull;
	}
	for (uint32_t i = 0; mode && i < sizeof(dr_mode_names) / sizeof(dr_mode_names[0]); i++)
		if (!strcmp(mode, dr_mode_names[i]))
			m = i;
	/* QEMU >= 8.2 divides before truncating; a unit given says it is one */
	dr_window_sent(q, ns, m, unit != NULL || qemu_at_least(q, 8, 2), now);
}

int ms_qmp__sent(struct ms_qmp *q, struct json_object *msg, uint64_t now_ns)
{
	enum cmd cmd;

	if (!json_object_is_type(msg, json_type_object) ||
	    (!get_str(msg, "execute") && !get_str(msg, "exec-oob")))
		return -EINVAL;
	cmd = transcript_cmd(msg);
	/* a transcript whose replies were cut: the oldest is forgotten, not fatal */
	if (q->nr_out == MAX_OUTSTANDING) {
		json_object_put(q->out[0].args);
		memmove(&q->out[0], &q->out[1], (q->nr_out - 1) * sizeof(q->out[0]));
		q->nr_out--;
		q->ignored++;
	}
	q->out[q->nr_out].cmd = cmd;
	q->out[q->nr_out].id = 0;
	q->out[q->nr_out].sent_ns = now_ns;
	q->out[q->nr_out].args =
	    cmd == CMD_SET_PARAMETERS ? json_object_get(get_obj(msg, "arguments")) : NULL;
	if (cmd == CMD_CALC_DIRTY_RATE)
		transcript_calc(q, get_obj(msg, "arguments"), now_ns);
	q->nr_out++;
	return 0;
}

int ms_qmp__received(struct ms_qmp *q, struct json_object *msg, uint64_t now_ns)
{
	return handle(q, msg, now_ns);
}

void ms_qmp__connected(struct ms_qmp *q, uint64_t now_ns)
{
	q->connecting = 0;
	/* a transcript without query-kvm does not say whether the recorder would have sampled */
	if (!is_dest(q)) {
		if (q->dr.state < 0)
			q->dr.state = MS_DRS_UNKNOWN,
			snprintf(q->dr.why, sizeof(q->dr.why), "the transcript has no query-kvm");
		dr_set_state(q, q->dr.state, q->dr.why, now_ns);
	}
	flush_early(q, now_ns);
}

void ms_qmp__close(struct ms_qmp *q, uint64_t ts_ns)
{
	struct ms_ev_source_stats ev = { 0 };

	MS_EVENT_INIT(&ev, MS_EV_SOURCE_STATS, ms_ev_source_stats, MS_DEV_NONE, ts_ns);
	ev.source = MS_SOURCE_QMP;
	ev.accepted = q->used;
	ev.skipped = q->ignored;
	ev.errors = q->errors;
	ms_stream__publish(q->s, &ev.hdr);
}

void ms_qmp__free(struct ms_qmp *q)
{
	if (!q)
		return;
	if (q->loop) {
		if (q->timer >= 0)
			ms_loop__del_timer(q->loop, q->timer);
		if (q->drain_timer >= 0)
			ms_loop__del_timer(q->loop, q->drain_timer);
		if (q->final_timer >= 0)
			ms_loop__del_timer(q->loop, q->final_timer);
		if (q->fd >= 0)
			ms_loop__del_fd(q->loop, q->fd);
	}
	for (unsigned int i = 0; i < q->nr_early; i++)
		json_object_put(q->early[i]);
	for (unsigned int i = 0; i < q->nr_out; i++)
		json_object_put(q->out[i].args);
	if (q->fd >= 0)
		close(q->fd);
	json_tokener_free(q->tok);
	free(q);
}
