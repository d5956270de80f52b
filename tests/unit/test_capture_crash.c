// SPDX-License-Identifier: GPL-2.0-only
/*
 * A recorder killed with SIGKILL at 100 random moments (what an OOM kill or a
 * host crash does to a long watch --record): every file must replay its
 * valid prefix, lose at most the --record-sync window, and give the report
 * the complete run gives on the same records.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include <migscope/capture.h>
#include <migscope/json.h>
#include <migscope/rand.h>
#include <migscope/report.h>
#include <migscope/session.h>
#include <migscope/synth.h>

#include "testutil.h"

#define KILLS	 100
#define EVENTS	 4000
#define SYNC_NS	 20000000ull /* a short window, so most kills cut inside it */
#define CP_EVERY 16
#define CP_MAX	 (EVENTS / CP_EVERY + 64)

/* What the recorder had published, and when: written by the child, read after the kill. */
struct progress {
	uint64_t count;
	uint64_t n;
	struct {
		uint64_t mono_ns, count;
	} cp[CP_MAX];
};

static struct progress *prog;

static void on_published(void *ctx, const struct ms_event_hdr *ev)
{
	uint64_t c = ++prog->count;

	/* subscribed after the capture writer: the writer already has this record */
	if (c % CP_EVERY == 0 && prog->n < CP_MAX) {
		prog->cp[prog->n].mono_ns = ms_now_ns();
		prog->cp[prog->n].count = c;
		__atomic_store_n(&prog->n, prog->n + 1, __ATOMIC_RELEASE);
		/*
		 * A recorder as a watch is one: records trickle in, a 64 KiB chunk
		 * takes longer than the window to fill, so the window decides.
		 */
		usleep(1000);
	}
}

static void record(const char *path, uint64_t sync_ns, struct tu_recorder *live)
{
	struct ms_session_opts o = { .record_path = path, .record = { .sync_ns = sync_ns } };
	struct ms_synth_opts so = { .seed = 11, .devices = 3, .events = EVENTS };
	char err[MS_ERR_LEN];
	struct ms_session *s = ms_session__new(&o, err, sizeof(err));
	uint64_t end;

	if (!s)
		_exit(2);
	if (live)
		ms_bus__subscribe(&s->bus, MS_EV_ALL, tu_recorder__on_event, live);
	else
		ms_bus__subscribe(&s->bus, MS_EV_ALL, on_published, NULL);
	end = ms_synth__run(&s->stream, &so);
	if (ms_session__end(s, end, 0, err, sizeof(err)))
		_exit(3);
	ms_session__free(s);
}

/* Replay path into a fresh session, salvaging; the report without its wall-clock start. */
static struct json_object *report_of(const char *path, uint64_t limit, int *ret,
				     struct tu_recorder *got)
{
	struct ms_session_opts o = { 0 };
	struct ms_capture_reader *r;
	struct ms_session *s;
	struct json_object *rep, *sess;
	char err[MS_ERR_LEN];

	r = ms_capture_reader__open(path, err, sizeof(err));
	if (!r) {
		/* killed before its header was whole: nothing to replay, nothing promised */
		assert_non_null(strstr(err, "not a migscope capture (only"));
		*ret = -ENODATA;
		return NULL;
	}
	o.info = ms_capture_reader__info(r);
	s = ms_session__new(&o, err, sizeof(err));
	assert_non_null(s);
	if (got)
		ms_bus__subscribe(&s->bus, MS_EV_ALL, tu_recorder__on_event, got);
	if (limit == UINT64_MAX) {
		*ret = ms_capture_reader__replay_salvage(r, &s->bus, NULL, err, sizeof(err));
	} else {
		/* the complete run's first limit records, through a bus that stops there */
		struct tu_recorder all = { 0 };
		struct ms_bus bus;
		size_t off = 0;

		ms_bus__init(&bus);
		ms_bus__subscribe(&bus, MS_EV_ALL, tu_recorder__on_event, &all);
		assert_int_equal(ms_capture_reader__replay(r, &bus, NULL, err, sizeof(err)), 0);
		for (uint64_t i = 0; i < limit; i++)
			ms_stream__publish(&s->stream, tu_recorder__next(&all, &off));
		tu_recorder__free(&all);
		*ret = 0;
	}
	ms_capture_reader__close(r);
	rep = ms_report__json(&s->view);
	if (json_object_object_get_ex(rep, "session", &sess))
		json_object_object_del(sess, "started");
	ms_session__free(s);
	return rep;
}

/* Same records, but MS_EV_SESSION's real clocks differ between two runs. */
static void assert_same_records(const struct tu_recorder *a, const struct tu_recorder *b, size_t n)
{
	size_t oa = 0, ob = 0;

	for (size_t i = 0; i < n; i++) {
		const struct ms_event_hdr *x = tu_recorder__next(a, &oa),
					  *y = tu_recorder__next(b, &ob);

		assert_non_null(x);
		assert_non_null(y);
		assert_memory_equal(x, y, sizeof(*x));
		if (x->type != MS_EV_SESSION && memcmp(x + 1, y + 1, x->len))
			fail_msg("record %zu (type %u) differs from the complete run's", i,
				 x->type);
	}
}

static void a_recorder_killed_at_100_random_moments_loses_at_most_the_sync_window(void **state)
{
	char *full = tu_tmp_path(".mscap"), *path = tu_tmp_path(".mscap");
	struct tu_recorder live = { 0 };
	struct ms_rand rnd;
	uint64_t t0, full_ns, worst_loss_ns = 0, salvaged_runs = 0;
	unsigned int done = 0, early = 0, stalled = 0;

	prog = mmap(NULL, sizeof(*prog), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(prog != MAP_FAILED);
	record(full, 0, &live);
	/* how long a recorder child takes, so the kills land inside its run */
	{
		pid_t pid;
		int status;

		t0 = ms_now_ns();
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			record(path, SYNC_NS, NULL);
			_exit(0);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		full_ns = ms_now_ns() - t0;
	}
	ms_rand__seed(&rnd, 20261207);
	printf("complete run: %zu records in %.0f ms; kills within that, sync window %llu ms\n",
	       live.count, full_ns / 1e6, SYNC_NS / 1000000);

	for (unsigned int k = 0; done < KILLS && k < 3 * KILLS; k++) {
		uint64_t delay = ms_rand__below(&rnd, full_ns), kill_ns, must = 0;
		struct tu_recorder got = { 0 };
		struct json_object *a, *b;
		int status, ret, ret2;
		pid_t pid;

		memset(prog, 0, sizeof(*prog));
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			record(path, SYNC_NS, NULL);
			_exit(0);
		}
		{
			struct timespec ts = { .tv_sec = (time_t)(delay / 1000000000ull),
					       .tv_nsec = (long)(delay % 1000000000ull) };

			nanosleep(&ts, NULL);
		}
		kill_ns = ms_now_ns();
		kill(pid, SIGKILL);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (WIFEXITED(status)) {
			assert_int_equal(WEXITSTATUS(status), 0);
			continue; /* it finished first: nothing was cut */
		}
		done++;
		/*
		 * Every record published a sync window before the recorder's last
		 * record must be on disk: the writer looks at the window as records
		 * come (a watch also on its loop's tick), so a recorder the scheduler
		 * stalled before the kill is held to its last record's time, not the
		 * kill's.  Checkpoint j's record reached the writer after
		 * checkpoint j-1 was taken.
		 */
		{
			uint64_t n = __atomic_load_n(&prog->n, __ATOMIC_ACQUIRE);

			for (uint64_t i = 0; i + 1 < n; i++)
				if (prog->cp[n - 2].mono_ns >= prog->cp[i].mono_ns + SYNC_NS)
					must = prog->cp[i].count;
			if (n && kill_ns - prog->cp[n - 1].mono_ns > SYNC_NS)
				stalled++;
		}
		a = report_of(path, UINT64_MAX, &ret, &got);
		if (ret == -ENODATA) {
			if (must)
				fail_msg("kill %u: no header, %llu records were due", k,
					 (unsigned long long)must);
			early++;
			continue;
		}
		assert_true(ret == MS_CAPTURE_SALVAGED || ret == 0);
		salvaged_runs += ret == MS_CAPTURE_SALVAGED;
		if (got.count < must)
			fail_msg("kill %u after %.1f ms: %zu records on disk, %llu were published "
				 "more than the sync window before the kill",
				 k, delay / 1e6, got.count, (unsigned long long)must);
		assert_true(got.count <= live.count);
		assert_same_records(&got, &live, got.count);
		/* the report of the prefix is the complete run's report on the same records */
		b = report_of(full, got.count, &ret2, NULL);
		if (ms_json_diff(b, a, stderr, 10))
			fail_msg("kill %u: the salvaged report contradicts the complete run's", k);
		/* the loss in stream time: how much of the run the window cost */
		for (uint64_t i = 1; i < prog->n; i++)
			if (prog->cp[i].count > got.count) {
				uint64_t lost =
				    prog->cp[prog->n - 1].mono_ns - prog->cp[i - 1].mono_ns;

				if (lost > worst_loss_ns)
					worst_loss_ns = lost;
				break;
			}
		json_object_put(a);
		json_object_put(b);
		tu_recorder__free(&got);
	}
	printf("%u kills cut a recording (%u before its header was written, %llu left a torn "
	       "tail); the records lost were "
	       "published within %.1f ms of the recorder's last (checkpoint spacing included) "
	       "(window %llu ms); %u recorders were stalled "
	       "longer than the window before their kill\n",
	       done, early, (unsigned long long)salvaged_runs, worst_loss_ns / 1e6,
	       SYNC_NS / 1000000, stalled);
	assert_int_equal(done, KILLS);
	tu_recorder__free(&live);
	munmap(prog, sizeof(*prog));
	unlink(full);
	unlink(path);
	free(full);
	free(path);
}

/*
 * A full disk: RLIMIT_FSIZE makes the kernel cut a write short at the limit
 * and fail the next one (EFBIG), as ENOSPC does.  The recorder reports the
 * write error; the file holds a torn chunk at its end and replays its prefix.
 */
static void a_recording_that_ran_out_of_space_replays_its_prefix(void **state)
{
	char *full = tu_tmp_path(".mscap"), *path = tu_tmp_path(".mscap");
	struct tu_recorder live = { 0 }, got = { 0 };
	int status, ret;
	struct json_object *rep;
	pid_t pid;

	record(full, 0, &live);
	for (rlim_t limit = 70000; limit < 160000; limit += 23011) {
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			struct rlimit rl = { limit, limit };
			struct ms_session_opts o = { .record_path = path };
			struct ms_synth_opts so = { .seed = 11, .devices = 3, .events = EVENTS };
			char err[MS_ERR_LEN];
			struct ms_session *s;
			uint64_t end;

			signal(SIGXFSZ, SIG_IGN);
			setrlimit(RLIMIT_FSIZE, &rl);
			s = ms_session__new(&o, err, sizeof(err));
			if (!s)
				_exit(2);
			end = ms_synth__run(&s->stream, &so);
			/* the writer says so: exit 7 when it reported the write error */
			ret = ms_session__end(s, end, 0, err, sizeof(err));
			ms_session__free(s);
			_exit(ret && strstr(err, "failed to write capture") ? 7 : 3);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 7);
		rep = report_of(path, UINT64_MAX, &ret, &got);
		assert_int_equal(ret, MS_CAPTURE_SALVAGED);
		assert_true(got.count > 0 && got.count < live.count);
		assert_same_records(&got, &live, got.count);
		json_object_put(rep);
		tu_recorder__free(&got);
	}
	tu_recorder__free(&live);
	unlink(full);
	unlink(path);
	free(full);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_recording_that_ran_out_of_space_replays_its_prefix),
		cmocka_unit_test(
		    a_recorder_killed_at_100_random_moments_loses_at_most_the_sync_window),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
