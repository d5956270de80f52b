// SPDX-License-Identifier: GPL-2.0-only
/* The QMP client: the transcript of a real migration, a fake QEMU, and what goes wrong. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include <migscope/loop.h>
#include <migscope/qemu.h>
#include <migscope/qmp.h>
#include <migscope/session.h>
#include <migscope/vfio_compat.h>

#include "testutil.h"

#define TRANSCRIPT "tests/fixtures/qemu-7.2-tcg-converging/qmp-src.jsonl"

struct env {
	struct ms_session *s;
	struct ms_qmp *q;
	struct tu_recorder rec;
	int peer; /* QEMU's end of the socket pair */
};

static void env_init(struct env *e, const struct ms_qmp_opts *o)
{
	struct ms_session_opts so = { 0 };
	char err[MS_ERR_LEN];
	int sv[2];

	memset(e, 0, sizeof(*e));
	e->s = ms_session__new(&so, err, sizeof(err));
	assert_non_null(e->s);
	assert_int_equal(ms_bus__subscribe(&e->s->bus, MS_EV_ALL, tu_recorder__on_event, &e->rec),
			 0);
	e->q = ms_qmp__new(&e->s->stream, o);
	assert_non_null(e->q);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ms_qmp__attach(e->q, sv[0]);
	e->peer = sv[1];
}

static void env_free(struct env *e)
{
	ms_qmp__free(e->q);
	ms_session__free(e->s);
	tu_recorder__free(&e->rec);
	close(e->peer);
}

static int feed_str(struct env *e, const char *text, uint64_t now)
{
	return ms_qmp__feed(e->q, text, strlen(text), now);
}

/* What the client sent to QEMU so far. */
static void read_sent(struct env *e, char *buf, size_t len)
{
	ssize_t n = recv(e->peer, buf, len - 1, MSG_DONTWAIT);

	buf[n > 0 ? n : 0] = 0;
}

/*
 * QEMU's side of a parameters re-read: when the client asked (at migration
 * setup, and with every poll while migrating), answer with its id, as QEMU
 * does, with the limits the recording ran with (fixture README).
 */
static void answer_parameters(struct env *e, const char *sent, uint64_t now)
{
	char reply[256];
	const char *q;
	unsigned int id;

	q = strstr(sent, "\"execute\":\"query-migrate-parameters\"");
	if (!q)
		return;
	q = strstr(q, "\"id\":\"ms-");
	assert_non_null(q);
	assert_int_equal(sscanf(q, "\"id\":\"ms-%u", &id), 1);
	snprintf(reply, sizeof(reply),
		 "{\"return\": {\"downtime-limit\": 300, \"max-bandwidth\": 67108864}, "
		 "\"id\": \"ms-%u\"}\r\n",
		 id);
	assert_int_equal(feed_str(e, reply, now), 0);
}

/*
 * Replay the recorded conversation: the client sends its own query-migrate
 * where the recording did, and reads every message QEMU sent.
 */
static void replay_transcript(struct env *e)
{
	FILE *f = fopen(TRANSCRIPT, "r");
	char line[8192], sent[1024];

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		struct json_object *o = json_tokener_parse(line), *dir, *t, *msg, *ex;
		uint64_t now;

		assert_non_null(o);
		assert_true(json_object_object_get_ex(o, "dir", &dir));
		assert_true(json_object_object_get_ex(o, "t", &t));
		assert_true(json_object_object_get_ex(o, "msg", &msg));
		now = (uint64_t)(json_object_get_double(t) * 1e9);
		if (!strcmp(json_object_get_string(dir), "send")) {
			if (json_object_object_get_ex(msg, "execute", &ex) &&
			    !strcmp(json_object_get_string(ex), "query-migrate")) {
				assert_int_equal(ms_qmp__poll(e->q, now), 0);
				read_sent(e, sent, sizeof(sent));
				/* unless one is outstanding: then nothing is sent */
				if (sent[0])
					assert_non_null(
					    strstr(sent, "\"execute\":\"query-migrate\""));
				answer_parameters(e, sent, now);
			}
		} else {
			char text[8192];

			snprintf(text, sizeof(text), "%s\r\n",
				 json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN));
			assert_int_equal(feed_str(e, text, now), 0);
			read_sent(e, sent, sizeof(sent));
			answer_parameters(e, sent, now);
		}
		json_object_put(o);
	}
	fclose(f);
}

static void recorded_migration_gives_statuses_stop_stats_and_the_end(void **state)
{
	struct env e;
	const struct ms_ev_mig_status *st;
	const struct ms_ev_mig_stats *m;
	const struct ms_ev_runstate *r;
	const struct ms_ev_qemu_pending *p;
	static const uint32_t want[][2] = {
		{ MS_MIG_SETUP, 0 },	 { MS_MIG_SETUP, 1 },  { MS_MIG_ACTIVE, 0 },
		{ MS_MIG_ACTIVE, 2 },	 { MS_MIG_ACTIVE, 3 }, { MS_MIG_ACTIVE, 4 },
		{ MS_MIG_COMPLETED, 0 },
	};

	struct ms_qmp_opts o = { .ram_pending = 1 };

	env_init(&e, &o);
	replay_transcript(&e);

	assert_int_equal(tu_recorder__count(&e.rec, MS_EV_MIG_STATUS), 7);
	for (size_t i = 0; i < 7; i++) {
		st = tu_recorder__nth(&e.rec, MS_EV_MIG_STATUS, i);
		assert_int_equal(st->status, want[i][0]);
		assert_int_equal(st->pass, want[i][1]);
	}
	/* stamped with QEMU's event time, not when it was read (100 ms later) */
	st = tu_recorder__nth(&e.rec, MS_EV_MIG_STATUS, 6);
	assert_int_equal(st->hdr.ts_ns, 1795391032686020000ull);
	assert_int_equal(tu_recorder__count(&e.rec, MS_EV_RUNSTATE), 1);
	r = tu_recorder__nth(&e.rec, MS_EV_RUNSTATE, 0);
	assert_int_equal(r->running, 0);
	assert_int_equal(r->hdr.ts_ns, 1795391032683248000ull);

	assert_int_equal(tu_recorder__count(&e.rec, MS_EV_MIG_STATS), 9);
	m = tu_recorder__nth(&e.rec, MS_EV_MIG_STATS, 0);
	assert_int_equal(m->status, MS_MIG_SETUP);
	assert_int_equal(m->total_time_ms, MS_STAT_UNSET);
	assert_int_equal(m->ram_remaining, MS_STAT_UNSET);
	m = tu_recorder__nth(&e.rec, MS_EV_MIG_STATS, 1);
	assert_int_equal(m->expected_downtime_ms, 300);
	assert_int_equal(m->downtime_ms, MS_STAT_UNSET);
	assert_int_equal(m->ram_remaining, 243798016);
	assert_int_equal(m->vfio_transferred, MS_STAT_UNSET);
	m = tu_recorder__nth(&e.rec, MS_EV_MIG_STATS, 8);
	assert_int_equal(m->status, MS_MIG_COMPLETED);
	assert_int_equal(m->downtime_ms, 2);
	assert_int_equal(m->total_time_ms, 791);
	assert_int_equal(m->setup_time_ms, 2);
	assert_int_equal(m->dirty_sync_count, 4);
	assert_int_equal(m->ram_total, 268967936);
	assert_int_equal(m->ram_transferred, 20426818);
	assert_int_equal(m->dirty_pages_rate, 0);
	assert_int_equal(m->mbps_milli, 207892);

	/* RAM's pending bytes from every reply that had them */
	assert_int_equal(tu_recorder__count(&e.rec, MS_EV_QEMU_PENDING), 8);
	p = tu_recorder__nth(&e.rec, MS_EV_QEMU_PENDING, 0);
	assert_int_equal(p->precopy, 243798016);
	assert_int_equal(p->origin, MS_PENDING_QMP);
	assert_int_equal(p->hdr.dev,
			 ms_devices__find(&e.s->devices, MS_DEV_KIND_QEMU_SECTION, MS_QEMU_RAM));
	/* every MIGRATION_PASS is a pass boundary of the VM's RAM, at QEMU's time */
	assert_int_equal(tu_recorder__count(&e.rec, MS_EV_PASS), 4);
	for (size_t i = 0; i < 4; i++) {
		const struct ms_ev_pass *ps = tu_recorder__nth(&e.rec, MS_EV_PASS, i);

		assert_int_equal(ps->hdr.dev, MS_DEV_NONE);
		assert_int_equal(ps->pass, i + 1);
		assert_int_equal(ps->origin, MS_PASS_QMP);
		/* what the sync left is the next reply's ram.remaining */
		assert_int_equal(ps->left, MS_STAT_UNSET);
	}
	assert_int_equal(
	    ((const struct ms_ev_pass *)tu_recorder__nth(&e.rec, MS_EV_PASS, 1))->hdr.ts_ns,
	    1795391032647710000ull);
	assert_int_equal(
	    ((const struct ms_ev_pass *)tu_recorder__nth(&e.rec, MS_EV_PASS, 1))->dur_ns,
	    1795391032647710000ull - 1795391031897374000ull);
	assert_true(ms_qmp__ended(e.q));
	assert_int_equal(ms_qmp__status(e.q), MS_MIG_COMPLETED);
	assert_string_equal(ms_qmp__error(e.q), "");
	env_free(&e);
}

static void answer_limits(struct env *e, unsigned int limit_ms, uint64_t bw, uint64_t now)
{
	char sent[1024], reply[256];
	const char *q;
	unsigned int id;

	read_sent(e, sent, sizeof(sent));
	q = strstr(sent, "\"execute\":\"query-migrate-parameters\"");
	assert_non_null(q);
	assert_int_equal(sscanf(strstr(q, "\"id\":\"ms-"), "\"id\":\"ms-%u", &id), 1);
	snprintf(reply, sizeof(reply),
		 "{\"return\": {\"downtime-limit\": %u, \"max-bandwidth\": %llu}, "
		 "\"id\": \"ms-%u\"}\r\n",
		 limit_ms, (unsigned long long)bw, id);
	assert_int_equal(feed_str(e, reply, now), 0);
}

/*
 * QEMU sends no event when migrate-set-parameters changes a limit (another
 * monitor, libvirt): the client re-reads them at migration setup and with
 * every poll while migrating, and a change is a MS_EV_CONFIG stamped when the
 * reply showed it, saying since when (the read before) QEMU may have used it.
 */
#define SEC 1000000000ull

static void a_limit_changed_while_migrating_is_a_config_from_when_it_was_seen(void **state)
{
	const struct ms_ev_config *c;
	char sent[1024];
	struct env e;

	env_init(&e, NULL);
	feed_str(&e,
		 "{\"timestamp\": {\"seconds\": 10, \"microseconds\": 0}, \"event\": "
		 "\"MIGRATION\", \"data\": {\"status\": \"setup\"}}\r\n",
		 10 * SEC);
	/* at setup: what was set since the attach (this client attached knowing none) */
	answer_limits(&e, 300, 64 << 20, 10 * SEC + 1000000);
	assert_int_equal(tu_recorder__count(&e.rec, MS_EV_CONFIG), 1);
	feed_str(&e,
		 "{\"timestamp\": {\"seconds\": 10, \"microseconds\": 2000}, \"event\": "
		 "\"MIGRATION\", \"data\": {\"status\": \"active\"}}\r\n",
		 10 * SEC + 2000000);
	/* unchanged: nothing */
	assert_int_equal(ms_qmp__poll(e.q, 10 * SEC + 100000000), 0);
	answer_limits(&e, 300, 64 << 20, 10 * SEC + 101000000);
	assert_int_equal(tu_recorder__count(&e.rec, MS_EV_CONFIG), 1);
	/* changed through another monitor */
	assert_int_equal(ms_qmp__poll(e.q, 10 * SEC + 200000000), 0);
	answer_limits(&e, 20, 8 << 20, 10 * SEC + 201000000);
	assert_int_equal(tu_recorder__count(&e.rec, MS_EV_CONFIG), 2);
	c = tu_recorder__nth(&e.rec, MS_EV_CONFIG, 1);
	assert_int_equal(c->hdr.ts_ns, 10 * SEC + 201000000);
	assert_int_equal(c->changed_after_ns, 10 * SEC + 101000000);
	assert_int_equal(c->downtime_limit_ns, 20000000);
	assert_int_equal(c->bandwidth_bps, 8 << 20);
	assert_int_equal(c->page_size, 0);
	/* after the end nothing is re-read */
	feed_str(&e,
		 "{\"timestamp\": {\"seconds\": 11, \"microseconds\": 0}, \"event\": "
		 "\"MIGRATION\", \"data\": {\"status\": \"cancelled\"}}\r\n",
		 11 * SEC);
	assert_int_equal(ms_qmp__poll(e.q, 11 * SEC + 100000000), 0);
	read_sent(&e, sent, sizeof(sent));
	assert_null(strstr(sent, "parameters"));
	env_free(&e);
}

/*
 * Without the events capability the passes come from query-migrate's
 * dirty-sync-count, with what the reply says remains.
 */
static void dirty_sync_count_moving_is_a_pass_boundary(void **state)
{
	static const char *const replies[] = {
		"{\"return\": {\"status\": \"active\", \"ram\": {\"remaining\": 1000, "
		"\"dirty-sync-count\": 1}}}\r\n",
		"{\"return\": {\"status\": \"active\", \"ram\": {\"remaining\": 600, "
		"\"dirty-sync-count\": 1}}}\r\n",
		"{\"return\": {\"status\": \"active\", \"ram\": {\"remaining\": 900, "
		"\"dirty-sync-count\": 3}}}\r\n",
	};
	const struct ms_ev_pass *ps;
	struct env e;

	env_init(&e, NULL);
	for (size_t i = 0; i < 3; i++) {
		char sent[1024];

		assert_int_equal(ms_qmp__poll(e.q, 2000 + i * 100000000ull), 0);
		/* while migrating the poll re-reads the limits too: QEMU answers that first */
		read_sent(&e, sent, sizeof(sent));
		answer_parameters(&e, sent, 2500 + i * 100000000ull);
		assert_int_equal(feed_str(&e, replies[i], 3000 + i * 100000000ull), 0);
	}
	assert_int_equal(tu_recorder__count(&e.rec, MS_EV_PASS), 2);
	ps = tu_recorder__nth(&e.rec, MS_EV_PASS, 0);
	assert_int_equal(ps->pass, 1);
	assert_int_equal(ps->left, 1000);
	assert_int_equal(ps->dur_ns, 0);
	ps = tu_recorder__nth(&e.rec, MS_EV_PASS, 1);
	assert_int_equal(ps->pass, 3);
	assert_int_equal(ps->left, 900);
	assert_int_equal(ps->dur_ns, 200000000ull);
	env_free(&e);
}

static void not_json_ends_the_session_with_the_byte_named(void **state)
{
	struct env e;

	env_init(&e, NULL);
	assert_int_equal(feed_str(&e, "{\"event\": \"STOP\"}\r\n<html>oops", 1), -EPROTO);
	assert_non_null(strstr(ms_qmp__error(e.q), "not JSON at byte 19"));
	env_free(&e);

	env_init(&e, NULL);
	assert_int_equal(feed_str(&e, "[1, 2]\r\n", 1), -EPROTO);
	assert_non_null(strstr(ms_qmp__error(e.q), "not a JSON object"));
	env_free(&e);
}

static void a_message_split_over_reads_is_one_message(void **state)
{
	const char *msg = "{\"timestamp\": {\"seconds\": 5, \"microseconds\": 7}, \"event\": "
			  "\"RESUME\"}\r\n{\"event\": \"STOP\"}\r\n";
	struct env e;

	env_init(&e, NULL);
	for (size_t i = 0; msg[i]; i++)
		assert_int_equal(ms_qmp__feed(e.q, msg + i, 1, 42), 0);
	assert_int_equal(tu_recorder__count(&e.rec, MS_EV_RUNSTATE), 2);
	assert_int_equal(((const struct ms_ev_runstate *)tu_recorder__nth(&e.rec, MS_EV_RUNSTATE, 0))->running, 1);
	assert_int_equal(((const struct ms_ev_runstate *)tu_recorder__nth(&e.rec, MS_EV_RUNSTATE, 0))->hdr.ts_ns,
			 5000007000ull);
	/* no timestamp: the time it was read */
	assert_int_equal(((const struct ms_ev_runstate *)tu_recorder__nth(&e.rec, MS_EV_RUNSTATE, 1))->hdr.ts_ns,
			 42);
	env_free(&e);
}

static char warned[320];
static void keep_warning(const char *msg)
{
	snprintf(warned, sizeof(warned), "%s", msg);
}

static void a_slow_qemu_is_warned_about_then_given_up_on(void **state)
{
	struct ms_qmp_opts o = {
		.path = "qmp.sock", .slow_ns = 1000, .timeout_ns = 5000, .warn = keep_warning
	};
	struct env e;
	char sent[512];

	warned[0] = 0;
	env_init(&e, &o);
	assert_int_equal(ms_qmp__poll(e.q, 100), 0);
	read_sent(&e, sent, sizeof(sent));
	assert_non_null(strstr(sent, "query-migrate"));
	/* no pile-up behind an outstanding query */
	assert_int_equal(ms_qmp__poll(e.q, 200), 0);
	read_sent(&e, sent, sizeof(sent));
	assert_string_equal(sent, "");
	assert_int_equal(ms_qmp__poll(e.q, 2000), 0);
	assert_non_null(strstr(warned, "no reply to query-migrate"));
	assert_int_equal(ms_qmp__poll(e.q, 6000), -ETIMEDOUT);
	assert_non_null(strstr(ms_qmp__error(e.q), "qmp.sock"));
	env_free(&e);
}

static void vfio_migration_events_are_device_arcs_when_asked_for(void **state)
{
	struct ms_qmp_opts o = { .vfio_events = 1 };
	const struct ms_ev_dev_state *a;
	struct env e;

	env_init(&e, &o);
	assert_int_equal(feed_str(&e,
				  "{\"event\": \"VFIO_MIGRATION\", \"data\": {\"device-id\": "
				  "\"nic0\", \"qom-path\": \"/machine/peripheral/nic0\", "
				  "\"device-state\": \"pre-copy\"}}\r\n"
				  "{\"event\": \"VFIO_MIGRATION\", \"data\": {\"device-id\": "
				  "\"nic0\", \"qom-path\": \"/machine/peripheral/nic0\", "
				  "\"device-state\": \"pre-copy-p2p-prepare\"}}\r\n"
				  "{\"event\": \"VFIO_MIGRATION\", \"data\": {\"device-id\": "
				  "\"nic0\", \"qom-path\": \"/machine/peripheral/nic0\", "
				  "\"device-state\": \"stop-copy\"}}\r\n",
				  7),
			 0);
	assert_int_equal(tu_recorder__count(&e.rec, MS_EV_DEV_STATE), 2);
	a = tu_recorder__nth(&e.rec, MS_EV_DEV_STATE, 0);
	assert_int_equal(a->from, VFIO_DEVICE_STATE_RUNNING);
	assert_int_equal(a->to, VFIO_DEVICE_STATE_PRE_COPY);
	assert_int_equal(a->hdr.dev,
			 ms_devices__find(&e.s->devices, MS_DEV_KIND_QEMU_VFIO, "nic0"));
	a = tu_recorder__nth(&e.rec, MS_EV_DEV_STATE, 1);
	assert_int_equal(a->from, VFIO_DEVICE_STATE_PRE_COPY);
	assert_int_equal(a->to, VFIO_DEVICE_STATE_STOP_COPY);
	env_free(&e);
}

/* A fake QEMU: the greeting, canned answers, then it quits. */
static void fake_qemu(int lfd)
{
	int fd = accept(lfd, NULL, NULL);
	char buf[4096];
	int queries = 0;
	ssize_t n;

	if (fd < 0)
		_exit(1);
	dprintf(fd, "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 1, \"minor\": 2, \"major\": "
		    "9}, \"package\": \"\"}, \"capabilities\": []}}\r\n");
	while ((n = read(fd, buf, sizeof(buf) - 1)) > 0) {
		const char *id;
		char idv[32] = "";

		buf[n] = 0;
		id = strstr(buf, "\"id\":\"");
		if (id)
			sscanf(id + 6, "%31[^\"]", idv);
		if (strstr(buf, "migrate-set-capabilities"))
			dprintf(fd,
				"{\"id\": \"%s\", \"error\": {\"class\": \"GenericError\", "
				"\"desc\": \"There's a migration process in progress\"}}\r\n",
				idv);
		else if (strstr(buf, "query-migrate-parameters"))
			dprintf(fd,
				"{\"id\": \"%s\", \"return\": {\"downtime-limit\": 250, "
				"\"max-bandwidth\": 1048576}}\r\n",
				idv);
		else if (strstr(buf, "query-migrate"))
			dprintf(fd,
				"{\"return\": {\"status\": \"active\", \"total-time\": 1500}, "
				"\"id\": \"%s\"}\r\n",
				idv);
		else
			dprintf(fd, "{\"return\": {}, \"id\": \"%s\"}\r\n", idv);
		/*
		 * quit after the first poll that follows the handshake: with a
		 * migration running, its query-migrate and a parameters re-read
		 */
		if (strstr(buf, "query-migrate-parameters") && ++queries == 2)
			break;
	}
	close(fd);
	_exit(0);
}

static void connect_reads_limits_and_a_vanishing_qemu_is_reported(void **state)
{
	char *path = tu_tmp_path(".qmp");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ms_qmp_opts o = {
		.path = path, .set_events = 1, .warn = keep_warning, .timeout_ns = 5000000000ull
	};
	struct ms_session_opts so = { 0 };
	char err[MS_ERR_LEN];
	struct ms_session *s;
	struct ms_loop *l;
	struct ms_qmp *q;
	int lfd, wstatus;
	pid_t pid;

	warned[0] = 0;
	strcpy(sa.sun_path, path);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 1), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid)
		fake_qemu(lfd);
	close(lfd);

	s = ms_session__new(&so, err, sizeof(err));
	q = ms_qmp__new(&s->stream, &o);
	assert_int_equal(ms_qmp__connect(q, err, sizeof(err)), 0);
	assert_string_equal(ms_qmp__info(q)->version, "9.2.1");
	assert_int_equal(ms_qmp__info(q)->downtime_limit_ms, 250);
	assert_int_equal(ms_qmp__info(q)->max_bandwidth, 1048576);
	assert_int_equal(ms_qmp__info(q)->status, MS_MIG_ACTIVE);
	assert_int_equal(ms_qmp__info(q)->total_time_ms, 1500);
	assert_int_equal(ms_qmp__info(q)->events_on, 0);
	/* the peer is whoever listened: here the test itself, in life QEMU */
	assert_int_equal(ms_qmp__info(q)->pid, getpid());
	assert_non_null(strstr(warned, "events capability"));

	l = ms_loop__new(0);
	assert_int_equal(ms_qmp__start(q, l, err, sizeof(err)), 0);
	assert_int_equal(ms_loop__run(l, 5000000000ull), -EPIPE);
	assert_non_null(strstr(ms_qmp__error(q), "closed the socket"));
	assert_int_equal(waitpid(pid, &wstatus, 0), pid);
	ms_qmp__free(q);
	ms_loop__free(l);
	ms_session__free(s);

	/* nobody listening */
	s = ms_session__new(&so, err, sizeof(err));
	q = ms_qmp__new(&s->stream, &o);
	assert_int_equal(ms_qmp__connect(q, err, sizeof(err)), -ECONNREFUSED);
	assert_non_null(strstr(err, path));
	ms_qmp__free(q);
	ms_session__free(s);
	unlink(path);
	free(path);
}

/*
 * libvirt stops the source QEMU of `virsh save` and `virsh migrate` as soon as
 * the migration completed, so the monitor may close before the final
 * query-migrate is answered: the watch then ends as after it, with a warning,
 * not an error.  Before the end a closed monitor stays an error.  (The real
 * libvirt run, tests/cli/test_libvirt.sh, rarely loses that race.)
 */
static void a_monitor_closed_after_the_end_ends_the_watch_normally(void **state)
{
	struct ms_qmp_opts o = { .path = "mon", .warn = keep_warning, .drain_ns = 1000000 };
	char err[MS_ERR_LEN];
	struct ms_loop *l;
	struct env e;

	for (int after_end = 1; after_end >= 0; after_end--) {
		warned[0] = 0;
		env_init(&e, &o);
		l = ms_loop__new(0);
		assert_non_null(l);
		assert_int_equal(ms_qmp__start(e.q, l, err, sizeof(err)), 0);
		dprintf(e.peer, "{\"event\": \"MIGRATION\", \"data\": {\"status\": \"setup\"}}\r\n"
				"{\"event\": \"MIGRATION\", \"data\": {\"status\": \"active\"}}\r\n");
		if (after_end)
			dprintf(e.peer, "{\"event\": \"MIGRATION\", \"data\": {\"status\": "
					"\"completed\"}}\r\n");
		/* the events are read (and the final query-migrate is due in 50 ms), then it quits */
		assert_int_equal(ms_loop__run(l, 20000000ull), -ETIMEDOUT);
		close(e.peer);
		e.peer = -1;
		if (after_end) {
			assert_int_equal(ms_loop__run(l, 5000000000ull), 0);
			assert_true(ms_qmp__ended(e.q));
			assert_int_equal(ms_qmp__status(e.q), MS_MIG_COMPLETED);
			assert_string_equal(ms_qmp__error(e.q), "");
			assert_non_null(strstr(warned, "mon: closed after the migration completed, "
						       "before its final numbers"));
		} else {
			assert_int_equal(ms_loop__run(l, 5000000000ull), -EPIPE);
			assert_false(ms_qmp__ended(e.q));
			assert_non_null(strstr(ms_qmp__error(e.q), "closed the socket"));
		}
		ms_qmp__free(e.q);
		e.q = NULL;
		ms_loop__free(l);
		env_free(&e);
	}
}

/* --- transcript mode (migscope import) ------------------------------------------------ */

static struct json_object *obj(const char *json)
{
	struct json_object *o = json_tokener_parse(json);

	assert_non_null(o);
	return o;
}

static void sent(struct ms_qmp *q, const char *json, uint64_t ts)
{
	struct json_object *o = obj(json);

	assert_int_equal(ms_qmp__sent(q, o, ts), 0);
	json_object_put(o);
}

static int received(struct ms_qmp *q, const char *json, uint64_t ts)
{
	struct json_object *o = obj(json);
	int ret = ms_qmp__received(q, o, ts);

	json_object_put(o);
	return ret;
}

static void transcript_replies_match_in_order_and_limits_follow_what_qemu_accepted(void **state)
{
	struct ms_session_opts so = { 0 };
	struct ms_qmp_opts qo = { .path = "t.jsonl" };
	struct tu_recorder rec = { 0 };
	const struct ms_ev_config *c;
	const struct ms_ev_mig_stats *m;
	struct ms_session *s;
	struct ms_qmp *q;
	char err[MS_ERR_LEN];

	s = ms_session__new(&so, err, sizeof(err));
	assert_non_null(s);
	assert_int_equal(ms_bus__subscribe(&s->bus, MS_EV_ALL, tu_recorder__on_event, &rec), 0);
	q = ms_qmp__new(&s->stream, &qo);
	assert_non_null(q);
	ms_qmp__transcript(q);

	/* the recorder's ids are not ours: matched in order all the same */
	sent(q,
	     "{\"execute\": \"migrate-set-parameters\", \"id\": \"rec-1\", \"arguments\": "
	     "{\"downtime-limit\": 300, \"max-bandwidth\": 67108864}}",
	     10);
	assert_int_equal(received(q, "{\"return\": {}, \"id\": \"rec-1\"}", 11), 0);
	assert_int_equal(ms_qmp__info(q)->downtime_limit_ms, 300);
	assert_int_equal(ms_qmp__info(q)->max_bandwidth, 67108864);
	/* refused: the limit stays, and the transcript goes on */
	sent(q, "{\"execute\": \"migrate-set-parameters\", \"arguments\": {\"downtime-limit\": 5}}",
	     12);
	assert_int_equal(
	    received(q, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"no\"}}", 13), 0);
	assert_int_equal(ms_qmp__info(q)->downtime_limit_ms, 300);
	assert_string_equal(ms_qmp__error(q), "");

	ms_stream__begin_at(&s->stream, 20, 20, 20, MS_SESSION_IMPORT, 300000000ull, 67108864, 0);
	ms_qmp__connected(q, 20);
	/* migrate's empty reply is not taken for query-migrate's */
	sent(q, "{\"execute\": \"migrate\", \"arguments\": {\"uri\": \"unix:/x\"}}", 21);
	sent(q, "{\"execute\": \"query-migrate\"}", 22);
	assert_int_equal(received(q, "{\"return\": {}}", 23), 0);
	assert_int_equal(tu_recorder__count(&rec, MS_EV_MIG_STATS), 0);
	assert_int_equal(received(q,
				  "{\"return\": {\"status\": \"active\", \"total-time\": 5, "
				  "\"ram\": {\"remaining\": 4096, \"dirty-sync-count\": 1}}}",
				  24),
			 0);
	assert_int_equal(tu_recorder__count(&rec, MS_EV_MIG_STATS), 1);
	m = tu_recorder__nth(&rec, MS_EV_MIG_STATS, 0);
	assert_int_equal(m->hdr.ts_ns, 24);
	assert_int_equal(m->ram_remaining, 4096);

	/* a limit changed mid-run is a record at the time QEMU accepted it */
	sent(q,
	     "{\"execute\": \"migrate-set-parameters\", \"arguments\": {\"downtime-limit\": 2000}}",
	     30);
	assert_int_equal(tu_recorder__count(&rec, MS_EV_CONFIG), 1); /* the session's */
	assert_int_equal(received(q, "{\"return\": {}}", 31), 0);
	assert_int_equal(tu_recorder__count(&rec, MS_EV_CONFIG), 2);
	c = tu_recorder__nth(&rec, MS_EV_CONFIG, 1);
	assert_int_equal(c->hdr.ts_ns, 31);
	assert_int_equal(c->downtime_limit_ns, 2000000000ull);
	assert_int_equal(c->bandwidth_bps, 67108864);
	/* read back unchanged: no second record */
	sent(q, "{\"execute\": \"query-migrate-parameters\"}", 32);
	assert_int_equal(received(q,
				  "{\"return\": {\"downtime-limit\": 2000, "
				  "\"max-bandwidth\": 67108864}}",
				  33),
			 0);
	assert_int_equal(tu_recorder__count(&rec, MS_EV_CONFIG), 2);
	/* a reply to nothing (the transcript began late) is ignored */
	assert_int_equal(received(q, "{\"return\": {}}", 34), 0);
	assert_string_equal(ms_qmp__error(q), "");
	/* a line that is no command is refused */
	{
		struct json_object *o = obj("{\"return\": {}}");

		assert_int_equal(ms_qmp__sent(q, o, 35), -EINVAL);
		json_object_put(o);
	}
	ms_qmp__free(q);
	ms_session__free(s);
	tu_recorder__free(&rec);
}

static void transcript_lines_read_both_spellings_and_say_what_is_wrong(void **state)
{
	static const struct {
		const char *line;
		int ok, sent;
		const char *why;
	} cases[] = {
		{ "{\"dir\": \"send\", \"t\": 1795391031.5, \"msg\": {\"execute\": "
		  "\"query-migrate\"}}",
		  1, 1, NULL },
		{ "{\"dir\": \"recv\", \"t\": 1795391031, \"msg\": {\"return\": {}}}  ", 1, 0,
		  NULL },
		/* in/out of either perspective: the message says which way */
		{ "{\"dir\": \"in\", \"t\": 2, \"msg\": {\"execute\": \"migrate\"}}", 1, 1, NULL },
		{ "{\"dir\": \"out\", \"t\": 2, \"msg\": {\"execute\": \"migrate\"}}", 1, 1, NULL },
		{ "{\"dir\": \"in\", \"t\": 2, \"msg\": {\"event\": \"STOP\"}}", 1, 0, NULL },
		{ "{\"dir\": \"send\", \"t\": 2, \"msg\": {\"return\": {}}}", 0, 0,
		  "a reply or event marked \"send\"" },
		{ "{\"dir\": \"recv\", \"t\": 2, \"msg\": {\"execute\": \"x\"}}", 0, 0,
		  "a command marked \"recv\"" },
		{ "{\"dir\": \"up\", \"t\": 2, \"msg\": {}}", 0, 0,
		  "\"dir\" is not send, recv, in or out" },
		{ "{\"dir\": \"recv\", \"t\": -1, \"msg\": {}}", 0, 0,
		  "\"t\" is not seconds since the epoch" },
		{ "{\"dir\": \"recv\", \"t\": \"now\", \"msg\": {}}", 0, 0, "no \"t\" number" },
		{ "{\"dir\": \"recv\", \"t\": 2, \"msg\": [1]}", 0, 0, "no \"msg\" object" },
		{ "{\"t\": 2, \"msg\": {}}", 0, 0, "no \"dir\" string" },
		{ "{\"dir\": \"recv\", \"t\": 2, \"msg\": {}} {}", 0, 0, "not a JSON object" },
		{ "[1, 2]", 0, 0, "not a JSON object" },
		{ "{\"dir\": \"recv\"", 0, 0, "not a JSON object" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ms_qmp_line l;
		int ret = ms_qmp_transcript_line(cases[i].line, strlen(cases[i].line), &l);

		if (cases[i].ok) {
			if (ret)
				fail_msg("'%s': %s", cases[i].line, l.why);
			assert_int_equal(l.sent, cases[i].sent);
			assert_non_null(l.msg);
			json_object_put(l.msg);
		} else {
			assert_int_equal(ret, -EINVAL);
			assert_null(l.msg);
			assert_string_equal(l.why, cases[i].why);
		}
	}
	{
		struct ms_qmp_line l;
		const char *line = "{\"dir\": \"recv\", \"t\": 1795391031.894822, \"msg\": {}}";

		assert_int_equal(ms_qmp_transcript_line(line, strlen(line), &l), 0);
		/* microseconds survive the double */
		assert_true(l.wall_ns / 1000 == 1795391031894822ull);
		json_object_put(l.msg);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(recorded_migration_gives_statuses_stop_stats_and_the_end),
		cmocka_unit_test(a_limit_changed_while_migrating_is_a_config_from_when_it_was_seen),
		cmocka_unit_test(not_json_ends_the_session_with_the_byte_named),
		cmocka_unit_test(a_message_split_over_reads_is_one_message),
		cmocka_unit_test(dirty_sync_count_moving_is_a_pass_boundary),
		cmocka_unit_test(a_slow_qemu_is_warned_about_then_given_up_on),
		cmocka_unit_test(vfio_migration_events_are_device_arcs_when_asked_for),
		cmocka_unit_test(connect_reads_limits_and_a_vanishing_qemu_is_reported),
		cmocka_unit_test(a_monitor_closed_after_the_end_ends_the_watch_normally),
		cmocka_unit_test(
		    transcript_replies_match_in_order_and_limits_follow_what_qemu_accepted),
		cmocka_unit_test(transcript_lines_read_both_spellings_and_say_what_is_wrong),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
