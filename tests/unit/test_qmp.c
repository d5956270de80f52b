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

/* --- the dirty-rate sampler ----------------------------------------------------------- */

/*
 * A scripted QEMU for the sampler: a child answers the handshake (the
 * greeting of the QEMU version given, query-kvm), then the test plays QEMU
 * on the same socket, at the times it chooses, and keeps the conversation as
 * a transcript to import.  The replies are QEMU 7.2.22's and 10.0.2's as
 * measured under KVM (ws=24M rate=2500: 9 MiB/s).
 */
#define SIM_LOG 1024

struct sim {
	struct env e;
	struct ms_loop *l;
	const char *status;	/* query-migrate's */
	const char *calc_reply; /* calc-dirty-rate's: "return" or "error" member */
	const char *calc_first; /* the first calc-dirty-rate's, if not calc_reply */
	const char *dr_reply;	/* query-dirty-rate's */
	unsigned int calcs, queries;
	char last_calc[256], last_query[256];
	struct {
		int sent;
		uint64_t t;
		char text[512];
	} * log; /* SIM_LOG */
	unsigned int nr_log;
	struct json_tokener *tok;
};

static void handshake_qemu(int fd, const char *version, int kvm)
{
	char buf[4096];
	ssize_t n;

	dprintf(fd,
		"{\"QMP\": {\"version\": {\"qemu\": {%s}, \"package\": \"\"}, "
		"\"capabilities\": []}}\r\n",
		version);
	while ((n = read(fd, buf, sizeof(buf) - 1)) > 0) {
		char idv[32] = "";
		const char *id;

		buf[n] = 0;
		id = strstr(buf, "\"id\":\"");
		if (id)
			sscanf(id + 6, "%31[^\"]", idv);
		if (strstr(buf, "\"query-kvm\""))
			dprintf(fd,
				"{\"return\": {\"enabled\": %s, \"present\": true}, \"id\": "
				"\"%s\"}\r\n",
				kvm ? "true" : "false", idv);
		else if (strstr(buf, "\"query-migrate\""))
			dprintf(fd, "{\"return\": {}, \"id\": \"%s\"}\r\n", idv);
		else if (strstr(buf, "query-migrate-parameters"))
			dprintf(
			    fd,
			    "{\"return\": {\"downtime-limit\": 300, \"max-bandwidth\": 33554432}, "
			    "\"id\": \"%s\"}\r\n",
			    idv);
		else
			dprintf(fd, "{\"return\": {}, \"id\": \"%s\"}\r\n", idv);
		/* the handshake's last command: the test is QEMU from here */
		if (strstr(buf, "\"query-migrate\""))
			break;
	}
	_exit(0);
}

static void sim_log(struct sim *m, int sent, uint64_t t, const char *text)
{
	assert_true(m->nr_log < SIM_LOG);
	m->log[m->nr_log].sent = sent;
	m->log[m->nr_log].t = t;
	snprintf(m->log[m->nr_log].text, sizeof(m->log[0].text), "%s", text);
	m->nr_log++;
}

/* Connect through the scripted handshake and start; the session begins at t0. */
static void sim_init(struct sim *m, const char *version, int kvm, const struct ms_qmp_opts *o)
{
	struct ms_session_opts so = { 0 };
	char err[MS_ERR_LEN];
	int sv[2], wstatus;
	pid_t pid;

	memset(m, 0, sizeof(*m));
	m->status = "none";
	m->calc_reply = "\"return\": {}";
	m->tok = json_tokener_new();
	m->log = calloc(SIM_LOG, sizeof(*m->log));
	assert_non_null(m->log);
	m->e.s = ms_session__new(&so, err, sizeof(err));
	assert_non_null(m->e.s);
	assert_int_equal(
	    ms_bus__subscribe(&m->e.s->bus, MS_EV_ALL, tu_recorder__on_event, &m->e.rec), 0);
	m->e.q = ms_qmp__new(&m->e.s->stream, o);
	assert_non_null(m->e.q);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		close(sv[0]);
		handshake_qemu(sv[1], version, kvm);
	}
	m->e.peer = sv[1];
	assert_int_equal(ms_qmp__connect_fd(m->e.q, sv[0], err, sizeof(err)), 0);
	assert_int_equal(waitpid(pid, &wstatus, 0), pid);
	ms_stream__begin(&m->e.s->stream, ms_now_ns(), MS_SESSION_WATCH, 300000000ull, 33554432, 0);
	m->l = ms_loop__new(0);
	assert_non_null(m->l);
	assert_int_equal(ms_qmp__start(m->e.q, m->l, err, sizeof(err)), 0);
}

static void sim_free(struct sim *m)
{
	ms_qmp__free(m->e.q);
	m->e.q = NULL;
	ms_loop__free(m->l);
	json_tokener_free(m->tok);
	free(m->log);
	env_free(&m->e);
}

/* QEMU's answer to one command at now. */
static void sim_answer(struct sim *m, struct json_object *cmd, uint64_t now)
{
	struct json_object *x;
	const char *name = "", *id = NULL;
	char reply[512];

	if (json_object_object_get_ex(cmd, "execute", &x))
		name = json_object_get_string(x);
	if (json_object_object_get_ex(cmd, "id", &x))
		id = json_object_get_string(x);
	assert_non_null(id);
	if (!strcmp(name, "query-migrate"))
		snprintf(reply, sizeof(reply),
			 "{\"return\": {\"status\": \"%s\", \"total-time\": 5}, \"id\": \"%s\"}",
			 m->status, id);
	else if (!strcmp(name, "query-migrate-parameters"))
		snprintf(reply, sizeof(reply),
			 "{\"return\": {\"downtime-limit\": 300, \"max-bandwidth\": 33554432}, "
			 "\"id\": \"%s\"}",
			 id);
	else if (!strcmp(name, "calc-dirty-rate"))
		snprintf(reply, sizeof(reply), "{%s, \"id\": \"%s\"}",
			 m->calcs == 1 && m->calc_first ? m->calc_first : m->calc_reply, id);
	else if (!strcmp(name, "query-dirty-rate"))
		snprintf(reply, sizeof(reply), "{%s, \"id\": \"%s\"}",
			 m->dr_reply ? m->dr_reply : "\"return\": {\"status\": \"measuring\"}", id);
	else
		fail_msg("the client sent %s", name);
	sim_log(m, 0, now, reply);
	assert_int_equal(feed_str(&m->e, reply, now), 0);
}

/* Read what the client sent and answer all of it (and what the answers make it send), at now. */
static void sim_step(struct sim *m, uint64_t now)
{
	char buf[4096];
	ssize_t n;

	while ((n = recv(m->e.peer, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		size_t off = 0;

		while (off < (size_t)n) {
			struct json_object *cmd =
			    json_tokener_parse_ex(m->tok, buf + off, (int)((size_t)n - off));
			const char *text, *name;
			struct json_object *x;

			off += json_tokener_get_parse_end(m->tok);
			if (!cmd)
				continue;
			json_tokener_reset(m->tok);
			text = json_object_to_json_string_ext(cmd, JSON_C_TO_STRING_PLAIN);
			sim_log(m, 1, now, text);
			name = json_object_object_get_ex(cmd, "execute", &x)
				   ? json_object_get_string(x)
				   : "";
			if (!strcmp(name, "calc-dirty-rate")) {
				m->calcs++;
				snprintf(m->last_calc, sizeof(m->last_calc), "%s", text);
			} else if (!strcmp(name, "query-dirty-rate")) {
				m->queries++;
				snprintf(m->last_query, sizeof(m->last_query), "%s", text);
			}
			sim_answer(m, cmd, now);
			json_object_put(cmd);
		}
	}
}

static void sim_poll(struct sim *m, uint64_t now)
{
	assert_int_equal(ms_qmp__poll(m->e.q, now), 0);
	sim_step(m, now);
}

static void sim_event(struct sim *m, const char *status, uint64_t now)
{
	char ev[256];

	m->status = status;
	snprintf(ev, sizeof(ev),
		 "{\"event\": \"MIGRATION\", \"data\": {\"status\": \"%s\"}, \"timestamp\": "
		 "{\"seconds\": %llu, \"microseconds\": %llu}}",
		 status, (unsigned long long)(now / SEC), (unsigned long long)(now % SEC / 1000));
	sim_log(m, 0, now, ev);
	assert_int_equal(feed_str(&m->e, ev, now), 0);
	sim_step(m, now);
}

static const struct ms_ev_dirty_rate *nth_rate(struct sim *m, size_t i)
{
	return tu_recorder__nth(&m->e.rec, MS_EV_DIRTY_RATE, i);
}

static const struct ms_ev_dirty_rate_state *last_state(struct sim *m)
{
	size_t n = tu_recorder__count(&m->e.rec, MS_EV_DIRTY_RATE_STATE);

	assert_true(n > 0);
	return tu_recorder__nth(&m->e.rec, MS_EV_DIRTY_RATE_STATE, n - 1);
}

#define MIB    (1ull << 20)
#define QEMU72 "\"major\": 7, \"minor\": 2, \"micro\": 22"
#define QEMU10 "\"major\": 10, \"minor\": 0, \"micro\": 2"

/*
 * QEMU 7.2 under KVM: calc-time is whole seconds, and QEMU truncates the
 * window's MiB before dividing, so 9 says [9, 11) MiB/s over 1 s.  Nothing is
 * asked before the migration is active; the window is read once it has
 * elapsed, again while QEMU is still measuring, and the next is asked for at
 * once; nothing after the end.
 */
static void qemu_7_2_under_kvm_samples_1s_windows_after_active(void **state)
{
	const uint64_t t0 = ms_now_ns();
	const struct ms_ev_dirty_rate *r;
	struct sim m;

	sim_init(&m, QEMU72, 1, NULL);
	assert_int_equal(last_state(&m)->state, MS_DRS_SAMPLING);
	assert_int_equal(last_state(&m)->mode, MS_DIRTY_RATE_DIRTY_BITMAP);
	sim_poll(&m, t0 + 100000000);
	sim_event(&m, "setup", t0 + 200000000);
	sim_poll(&m, t0 + 300000000);
	assert_int_equal(m.calcs, 0);
	sim_event(&m, "active", t0 + SEC);
	assert_int_equal(m.calcs, 1);
	assert_non_null(strstr(m.last_calc, "\"execute\":\"calc-dirty-rate\",\"arguments\":"
					    "{\"calc-time\":1,\"mode\":\"dirty-bitmap\"}"));
	/* the window has not elapsed: no query yet */
	sim_poll(&m, t0 + SEC + 900000000);
	assert_int_equal(m.queries, 0);
	sim_poll(&m, t0 + 2 * SEC + 1000);
	assert_int_equal(m.queries, 1);
	/* 7.2 takes no calc-time-unit */
	assert_null(strstr(m.last_query, "calc-time-unit"));
	assert_int_equal(tu_recorder__count(&m.e.rec, MS_EV_DIRTY_RATE), 0);
	m.dr_reply = "\"return\": {\"status\": \"measured\", \"sample-pages\": 0, "
		     "\"dirty-rate\": 9, \"mode\": \"dirty-bitmap\", \"start-time\": 1000, "
		     "\"calc-time\": 1}";
	sim_poll(&m, t0 + 2 * SEC + 100000000);
	assert_int_equal(m.queries, 2);
	assert_int_equal(tu_recorder__count(&m.e.rec, MS_EV_DIRTY_RATE), 1);
	r = nth_rate(&m, 0);
	assert_int_equal(r->hdr.ts_ns, t0 + 2 * SEC); /* sent + window */
	assert_int_equal(r->hdr.dev, MS_DEV_NONE);
	assert_int_equal(r->window_ns, SEC);
	assert_int_equal(r->rate_bps, 9 * MIB);
	assert_int_equal(r->rate_hi_bps, 11 * MIB); /* 9 + 1 + 1/1 s */
	assert_int_equal(r->mode, MS_DIRTY_RATE_DIRTY_BITMAP);
	/* the next window at once, of 1 s again */
	assert_int_equal(m.calcs, 2);
	assert_non_null(strstr(m.last_calc, "{\"calc-time\":1,\"mode\":\"dirty-bitmap\"}"));
	sim_event(&m, "completed", t0 + 2 * SEC + 500000000);
	sim_poll(&m, t0 + 4 * SEC);
	assert_int_equal(m.calcs, 2);
	assert_int_equal(m.queries, 2);
	sim_free(&m);
}

/* Replay m's conversation as a transcript: the same records, from the transcript's times. */
static void transcript_gives_the_same_records(struct sim *m, const char *version, uint64_t t0)
{
	struct ms_session_opts so = { 0 };
	struct ms_qmp_opts qo = { .path = "t.jsonl" };
	struct tu_recorder rec = { 0 };
	char err[MS_ERR_LEN], greeting[256];
	struct ms_session *s;
	struct ms_qmp *q;
	size_t n;

	s = ms_session__new(&so, err, sizeof(err));
	assert_non_null(s);
	assert_int_equal(ms_bus__subscribe(&s->bus, MS_EV_ALL, tu_recorder__on_event, &rec), 0);
	q = ms_qmp__new(&s->stream, &qo);
	ms_qmp__transcript(q);
	snprintf(greeting, sizeof(greeting),
		 "{\"QMP\": {\"version\": {\"qemu\": {%s}}, \"capabilities\": []}}", version);
	assert_int_equal(received(q, greeting, t0 - 2000), 0);
	sent(q, "{\"execute\": \"query-kvm\"}", t0 - 1000);
	assert_int_equal(
	    received(q, "{\"return\": {\"enabled\": true, \"present\": true}}", t0 - 500), 0);
	ms_stream__begin_at(&s->stream, t0, t0, t0, MS_SESSION_IMPORT, 300000000ull, 33554432, 0);
	ms_qmp__connected(q, t0);
	for (unsigned int i = 0; i < m->nr_log; i++) {
		if (m->log[i].sent)
			sent(q, m->log[i].text, m->log[i].t);
		else
			assert_int_equal(received(q, m->log[i].text, m->log[i].t), 0);
	}
	n = tu_recorder__count(&m->e.rec, MS_EV_DIRTY_RATE);
	assert_true(n >= 2);
	assert_int_equal(tu_recorder__count(&rec, MS_EV_DIRTY_RATE), n);
	for (size_t i = 0; i < n; i++)
		assert_memory_equal(tu_recorder__nth(&rec, MS_EV_DIRTY_RATE, i), nth_rate(m, i),
				    sizeof(struct ms_ev_dirty_rate));
	assert_string_equal(ms_qmp__error(q), "");
	ms_qmp__free(q);
	ms_session__free(s);
	tu_recorder__free(&rec);
}

/*
 * QEMU 10.0 under KVM: 250 and 1000 ms windows in turn, calc-time-unit
 * milliseconds both ways, and whole MiB/s after the division: [9, 10).
 * QEMU's own window length is kept (10.0.2 said 1003 for 1000 on this machine).
 * Imported from the conversation's transcript it gives the same records.
 */
static void qemu_10_0_under_kvm_alternates_250_and_1000_ms(void **state)
{
	const uint64_t t0 = ms_now_ns(), ms = 1000000;
	char line[512];
	struct sim m;

	sim_init(&m, QEMU10, 1, NULL);
	sim_event(&m, "setup", t0 + 10 * ms);
	sim_event(&m, "active", t0 + 20 * ms);
	assert_int_equal(m.calcs, 1);
	assert_non_null(strstr(m.last_calc, "{\"calc-time\":250,\"calc-time-unit\":\"millisecond\","
					    "\"mode\":\"dirty-bitmap\"}"));
	sim_poll(&m, t0 + 120 * ms);
	assert_int_equal(m.queries, 0);
	m.dr_reply = "\"return\": {\"status\": \"measured\", \"sample-pages\": 0, "
		     "\"dirty-rate\": 9, \"mode\": \"dirty-bitmap\", \"calc-time-unit\": "
		     "\"millisecond\", \"start-time\": 1000, \"calc-time\": 250}";
	sim_poll(&m, t0 + 320 * ms);
	assert_int_equal(m.queries, 1);
	assert_non_null(strstr(m.last_query, "{\"calc-time-unit\":\"millisecond\"}"));
	assert_int_equal(tu_recorder__count(&m.e.rec, MS_EV_DIRTY_RATE), 1);
	assert_int_equal(nth_rate(&m, 0)->hdr.ts_ns, t0 + 270 * ms);
	assert_int_equal(nth_rate(&m, 0)->window_ns, 250 * ms);
	assert_int_equal(nth_rate(&m, 0)->rate_bps, 9 * MIB);
	assert_int_equal(nth_rate(&m, 0)->rate_hi_bps, 10 * MIB);
	assert_int_equal(m.calcs, 2);
	assert_non_null(strstr(m.last_calc, "{\"calc-time\":1000,\"calc-time-unit\":"
					    "\"millisecond\",\"mode\":\"dirty-bitmap\"}"));
	m.dr_reply = "\"return\": {\"status\": \"measured\", \"sample-pages\": 0, "
		     "\"dirty-rate\": 9, \"mode\": \"dirty-bitmap\", \"calc-time-unit\": "
		     "\"millisecond\", \"start-time\": 1000, \"calc-time\": 1003}";
	sim_poll(&m, t0 + 1220 * ms);
	assert_int_equal(m.queries, 1);
	sim_poll(&m, t0 + 1330 * ms);
	assert_int_equal(m.queries, 2);
	assert_int_equal(tu_recorder__count(&m.e.rec, MS_EV_DIRTY_RATE), 2);
	/* 10.0 says how long the window took (the sync waited for the BQL): that long */
	assert_int_equal(nth_rate(&m, 1)->hdr.ts_ns, t0 + 1323 * ms);
	assert_int_equal(nth_rate(&m, 1)->window_ns, 1003 * ms);
	assert_int_equal(nth_rate(&m, 1)->rate_hi_bps, 10 * MIB);
	assert_int_equal(m.calcs, 3);
	assert_non_null(strstr(m.last_calc, "{\"calc-time\":250,"));
	sim_event(&m, "completed", t0 + 1400 * ms);
	sim_poll(&m, t0 + 2 * SEC);
	assert_int_equal(m.calcs, 3);
	ms_stats__dirty_rate_line(&m.e.s->stats, line, sizeof(line));
	assert_string_equal(line,
			    "sampled by QEMU (dirty-bitmap, windows 250 to 1003 ms, 2 windows)");
	transcript_gives_the_same_records(&m, QEMU10, t0);
	sim_free(&m);
}

/* Under TCG nothing is asked (7.2 exits on dirty-bitmap there); the report says why. */
static void under_tcg_no_calc_dirty_rate_is_sent(void **state)
{
	const uint64_t t0 = ms_now_ns();
	char line[512];
	struct sim m;

	sim_init(&m, QEMU72, 0, NULL);
	sim_event(&m, "setup", t0 + 1000);
	sim_event(&m, "active", t0 + 2000);
	for (int i = 1; i <= 30; i++)
		sim_poll(&m, t0 + (uint64_t)i * 100000000);
	assert_int_equal(m.calcs + m.queries, 0);
	assert_int_equal(last_state(&m)->state, MS_DRS_TCG);
	ms_stats__dirty_rate_line(&m.e.s->stats, line, sizeof(line));
	assert_string_equal(line,
			    "not sampled: QEMU runs under TCG (only KVM's dirty log is exact)");
	sim_free(&m);

	/*
	 * --no-dirty-rate, and --no-set (which changes nothing, and a window
	 * starts KVM's dirty logging): not even query-kvm (the handshake child
	 * would answer it), and the line names the option.
	 */
	for (int no_set = 0; no_set < 2; no_set++) {
		struct ms_qmp_opts o = { .set_events = !no_set, .no_dirty_rate = 1 };

		sim_init(&m, QEMU10, 1, &o);
		sim_event(&m, "active", t0 + 2000);
		sim_poll(&m, t0 + SEC);
		assert_int_equal(m.calcs, 0);
		assert_int_equal(last_state(&m)->state, MS_DRS_OPTED_OUT);
		ms_stats__dirty_rate_line(&m.e.s->stats, line, sizeof(line));
		assert_string_equal(line, no_set ? "not sampled: --no-set"
						 : "not sampled: --no-dirty-rate");
		sim_free(&m);
	}

	/* a QEMU without calc-dirty-rate: the reason kept while connecting is the one published */
	sim_init(&m, "\"major\": 5, \"minor\": 1, \"micro\": 0", 1, NULL);
	sim_event(&m, "active", t0 + 2000);
	sim_poll(&m, t0 + SEC);
	assert_int_equal(m.calcs, 0);
	assert_int_equal(last_state(&m)->state, MS_DRS_UNSUPPORTED);
	ms_stats__dirty_rate_line(&m.e.s->stats, line, sizeof(line));
	assert_string_equal(line, "not sampled: QEMU has no calc-dirty-rate (5.1.0)");
	sim_free(&m);
}

/* A VM on KVM's dirty ring has no dirty log: QEMU says so and dirty-ring measures instead. */
static void dirty_bitmap_refused_for_the_dirty_ring_switches_to_dirty_ring(void **state)
{
	const uint64_t t0 = ms_now_ns(), ms = 1000000;
	const struct ms_ev_dirty_rate_state *st;
	struct sim m;

	sim_init(&m, QEMU10, 1, NULL);
	m.calc_first = "\"error\": {\"class\": \"GenericError\", \"desc\": \"mode dirty-bitmap is "
		       "not enabled, use dirty-ring instead\"}";
	sim_event(&m, "active", t0 + 20 * ms);
	/* refused, then asked again at once in dirty-ring mode, which QEMU takes */
	assert_int_equal(m.calcs, 2);
	assert_non_null(strstr(m.last_calc, "\"mode\":\"dirty-ring\""));
	st = last_state(&m);
	assert_int_equal(st->state, MS_DRS_SAMPLING);
	assert_int_equal(st->mode, MS_DIRTY_RATE_DIRTY_RING);
	assert_true(st->hdr.len > sizeof(*st) - sizeof(st->hdr));
	m.dr_reply = "\"return\": {\"status\": \"measured\", \"dirty-rate\": 9, \"mode\": "
		     "\"dirty-ring\", \"calc-time-unit\": \"millisecond\", \"calc-time\": 250}";
	sim_poll(&m, t0 + 300 * ms);
	assert_int_equal(tu_recorder__count(&m.e.rec, MS_EV_DIRTY_RATE), 1);
	assert_int_equal(nth_rate(&m, 0)->mode, MS_DIRTY_RATE_DIRTY_RING);
	assert_non_null(strstr(m.last_calc, "\"calc-time\":1000,"));
	assert_non_null(strstr(m.last_calc, "\"mode\":\"dirty-ring\""));
	sim_free(&m);
}

/* Any other refusal: one warning with QEMU's reason, no more windows, the watch goes on. */
static void another_refusal_is_one_warning_and_the_watch_goes_on(void **state)
{
	const uint64_t t0 = ms_now_ns(), ms = 1000000;
	struct ms_qmp_opts o = { .path = "mon", .warn = keep_warning };
	char line[512];
	struct sim m;

	warned[0] = 0;
	sim_init(&m, QEMU72, 1, &o);
	m.calc_reply = "\"error\": {\"class\": \"GenericError\", \"desc\": \"Dirty page rate "
		       "measurement is already in progress\"}";
	sim_event(&m, "active", t0 + 20 * ms);
	assert_int_equal(m.calcs, 1);
	assert_string_equal(warned, "QMP mon: calc-dirty-rate refused (Dirty page rate "
				    "measurement is already in progress); the dirty rate is not "
				    "sampled from here on");
	warned[0] = 0;
	for (int i = 1; i <= 25; i++)
		sim_poll(&m, t0 + (uint64_t)i * 100 * ms);
	assert_int_equal(m.calcs, 1);
	assert_int_equal(m.queries, 0);
	assert_string_equal(warned, "");
	assert_string_equal(ms_qmp__error(m.e.q), "");
	/* the watch carries on: query-migrate still asked and read */
	sim_event(&m, "completed", t0 + 3 * SEC);
	assert_int_equal(ms_qmp__status(m.e.q), MS_MIG_COMPLETED);
	assert_int_equal(last_state(&m)->state, MS_DRS_REFUSED);
	ms_stats__dirty_rate_line(&m.e.s->stats, line, sizeof(line));
	assert_string_equal(line, "not sampled: QEMU refused calc-dirty-rate: Dirty page rate "
				  "measurement is already in progress");
	sim_free(&m);
}

/* What is wrong in a query-dirty-rate reply is a counted error and no record, never a guess. */
static void bad_dirty_rate_replies_are_counted_and_make_no_record(void **state)
{
	static const char *const bad[] = {
		/* no dirty-rate, a negative one, a fraction, a string */
		"\"return\": {\"status\": \"measured\", \"calc-time\": 1}",
		"\"return\": {\"status\": \"measured\", \"dirty-rate\": -9, \"calc-time\": 1}",
		"\"return\": {\"status\": \"measured\", \"dirty-rate\": 9.5, \"calc-time\": 1}",
		"\"return\": {\"status\": \"measured\", \"dirty-rate\": \"9\", \"calc-time\": 1}",
		/* a window that is not the one asked for: 0, 2 s, no calc-time */
		"\"return\": {\"status\": \"measured\", \"dirty-rate\": 9, \"calc-time\": 0}",
		"\"return\": {\"status\": \"measured\", \"dirty-rate\": 9, \"calc-time\": 2}",
		"\"return\": {\"status\": \"measured\", \"dirty-rate\": 9}",
		/* larger than any guest writes (and than 64 bits once in bytes) */
		"\"return\": {\"status\": \"measured\", \"dirty-rate\": 18446744073709551615, "
		"\"calc-time\": 1}",
		/* a status QEMU has not got, none */
		"\"return\": {\"status\": \"finished\", \"dirty-rate\": 9, \"calc-time\": 1}",
		"\"return\": {\"dirty-rate\": 9, \"calc-time\": 1}",
	};
	const uint64_t t0 = ms_now_ns();
	const struct ms_ev_source_stats *ss;
	struct sim m;

	sim_init(&m, QEMU72, 1, NULL);
	sim_event(&m, "active", t0 + 1000);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		m.dr_reply = bad[i];
		sim_poll(&m, t0 + (i + 1) * 2 * SEC);
		assert_int_equal(m.queries, i + 1);
		if (tu_recorder__count(&m.e.rec, MS_EV_DIRTY_RATE))
			fail_msg("'%s' made a record", bad[i]);
	}
	/* a reply to a query-dirty-rate never sent: ignored */
	assert_int_equal(feed_str(&m.e,
				  "{\"return\": {\"status\": \"measured\", \"dirty-rate\": 9, "
				  "\"calc-time\": 1}, \"id\": \"ms-999\"}",
				  t0 + 30 * SEC),
			 0);
	assert_int_equal(tu_recorder__count(&m.e.rec, MS_EV_DIRTY_RATE), 0);
	/* and sampling is still alive: a good reply makes its record */
	m.dr_reply = "\"return\": {\"status\": \"measured\", \"dirty-rate\": 9, \"calc-time\": 1}";
	sim_poll(&m, t0 + 40 * SEC);
	assert_int_equal(tu_recorder__count(&m.e.rec, MS_EV_DIRTY_RATE), 1);
	ms_qmp__close(m.e.q, t0 + 41 * SEC);
	ss = tu_recorder__nth(&m.e.rec, MS_EV_SOURCE_STATS, 0);
	assert_int_equal(ss->errors, sizeof(bad) / sizeof(bad[0]));
	assert_int_equal(ss->skipped, 1);
	sim_free(&m);

	/* a transcript's calc-dirty-rate of calc-time 0: its result is no window */
	{
		struct ms_session_opts so = { 0 };
		struct tu_recorder rec = { 0 };
		char err[MS_ERR_LEN];
		struct ms_session *s = ms_session__new(&so, err, sizeof(err));
		struct ms_qmp *q = ms_qmp__new(&s->stream, NULL);

		assert_int_equal(ms_bus__subscribe(&s->bus, MS_EV_ALL, tu_recorder__on_event, &rec),
				 0);
		ms_qmp__transcript(q);
		ms_qmp__connected(q, 10);
		sent(q, "{\"execute\": \"calc-dirty-rate\", \"arguments\": {\"calc-time\": 0}}",
		     20);
		assert_int_equal(received(q, "{\"return\": {}}", 21), 0);
		sent(q, "{\"execute\": \"query-dirty-rate\"}", 30);
		assert_int_equal(
		    received(q,
			     "{\"return\": {\"status\": \"measured\", \"dirty-rate\": 9, "
			     "\"calc-time\": 0}}",
			     31),
		    0);
		assert_int_equal(tu_recorder__count(&rec, MS_EV_DIRTY_RATE), 0);
		/* milliseconds: less than the window, or more than twice it, is another's */
		sent(q,
		     "{\"execute\": \"calc-dirty-rate\", \"arguments\": {\"calc-time\": 250, "
		     "\"calc-time-unit\": \"millisecond\"}}",
		     32);
		sent(q, "{\"execute\": \"query-dirty-rate\"}", 33);
		assert_int_equal(
		    received(q,
			     "{\"return\": {\"status\": \"measured\", \"dirty-rate\": 9, "
			     "\"calc-time\": 501, \"calc-time-unit\": \"millisecond\"}}",
			     34),
		    0);
		sent(q,
		     "{\"execute\": \"calc-dirty-rate\", \"arguments\": {\"calc-time\": 250, "
		     "\"calc-time-unit\": \"millisecond\"}}",
		     35);
		sent(q, "{\"execute\": \"query-dirty-rate\"}", 36);
		assert_int_equal(
		    received(q,
			     "{\"return\": {\"status\": \"measured\", \"dirty-rate\": 9, "
			     "\"calc-time\": 249, \"calc-time-unit\": \"millisecond\"}}",
			     37),
		    0);
		assert_int_equal(tu_recorder__count(&rec, MS_EV_DIRTY_RATE), 0);
		/* the query's answer without a calc-dirty-rate before it */
		sent(q, "{\"execute\": \"query-dirty-rate\"}", 40);
		assert_int_equal(
		    received(q,
			     "{\"return\": {\"status\": \"measured\", \"dirty-rate\": 9, "
			     "\"calc-time\": 1}}",
			     41),
		    0);
		assert_int_equal(tu_recorder__count(&rec, MS_EV_DIRTY_RATE), 0);
		ms_qmp__free(q);
		ms_session__free(s);
		tu_recorder__free(&rec);
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
		cmocka_unit_test(qemu_7_2_under_kvm_samples_1s_windows_after_active),
		cmocka_unit_test(qemu_10_0_under_kvm_alternates_250_and_1000_ms),
		cmocka_unit_test(under_tcg_no_calc_dirty_rate_is_sent),
		cmocka_unit_test(dirty_bitmap_refused_for_the_dirty_ring_switches_to_dirty_ring),
		cmocka_unit_test(another_refusal_is_one_warning_and_the_watch_goes_on),
		cmocka_unit_test(bad_dirty_rate_replies_are_counted_and_make_no_record),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
