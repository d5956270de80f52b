// SPDX-License-Identifier: GPL-2.0-only
/*
 * The QEMU USDT collector against tests/usdt/fake_qemu, a binary with
 * QEMU's provider, probe names and argument lists (sys/sdt.h), attached by
 * PID; and the .note.stapsdt reader that tells a QEMU with probes from one
 * without.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <migscope/collect.h>
#include <migscope/collect_abi.h>
#include <migscope/qemu_trace.h>
#include <migscope/session.h>

#include "../bpf/kmem.h"
#include "testutil.h"

#define DEV	 "0000:00:02.0"
#define DEV8	 "0000:00:03.0"
#define DEV72	 "0000:00:04.0"
#define VFIO_SEC "0000:00:02.0/vfio"

/* VFIO migration states */
#define ERROR	  0
#define STOP	  1
#define RUNNING	  2
#define STOP_COPY 3
#define PRE_COPY  6

static const char *fake_qemu(void)
{
	static char path[512];
	const char *build = getenv("MIGSCOPE_BUILD") ? getenv("MIGSCOPE_BUILD") : "build";

	snprintf(path, sizeof(path), "%s/tests/fake_qemu", build);
	return path;
}

/* Start fake_qemu waiting on its stdin; *go is the write end, *said its stdout. */
static pid_t spawn(const char *path, int *go, FILE **said)
{
	int in[2], out[2];
	pid_t pid;

	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(out), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		execl(path, path, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	*go = in[1];
	*said = fdopen(out[0], "r");
	assert_non_null(*said);
	return pid;
}

static void wait_exit(pid_t pid)
{
	int status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* Walks the recorded stream, DEV_ADD records aside. */
struct cursor {
	const struct tu_recorder *rec;
	const struct ms_session *s;
	size_t i;
};

static const void *next(struct cursor *c, unsigned int type, const char *dev_name)
{
	const struct ms_event_hdr *h;
	char buf[64];

	do {
		assert_true(c->i < c->rec->count);
		h = tu_recorder__get(c->rec, c->i++);
	} while (h->type == MS_EV_DEV_ADD);
	if (h->type != type)
		fail_msg("record %zu: type %s, expected %s", c->i - 1, ms_event_type_name(h->type),
			 ms_event_type_name(type));
	assert_string_equal(ms_devices__name(&c->s->devices, h->dev, buf, sizeof(buf)),
			    dev_name ? dev_name : "-");
	assert_int_equal(h->len, ms_event_fixed_len(type));
	return h;
}

static void expect_state(struct cursor *c, const char *dev, int from, int to, int err)
{
	const struct ms_ev_dev_state *s = next(c, MS_EV_DEV_STATE, dev);

	assert_int_equal(s->domain, MS_DOMAIN_VFIO);
	assert_int_equal(s->from, from);
	assert_int_equal(s->to, to);
	assert_int_equal(s->err, err);
}

static void expect_pending(struct cursor *c, uint64_t pre, uint64_t post, uint64_t threshold,
			   uint32_t exact)
{
	const struct ms_ev_qemu_pending *p = next(c, MS_EV_QEMU_PENDING, "ram");

	assert_int_equal(p->precopy, pre);
	assert_int_equal(p->postcopy, post);
	assert_int_equal(p->threshold, threshold);
	assert_int_equal(p->exact, exact);
	assert_int_equal(p->origin, MS_PENDING_USDT);
}

static void expect_precopy(struct cursor *c, uint64_t initial, uint64_t dirty)
{
	const struct ms_ev_precopy *p = next(c, MS_EV_PRECOPY, DEV);

	assert_int_equal(p->initial_bytes, initial);
	assert_int_equal(p->dirty_bytes, dirty);
	assert_int_equal(p->flags, 0);
}

static void expect_stopcopy(struct cursor *c, uint64_t bytes)
{
	const struct ms_ev_stopcopy_size *p = next(c, MS_EV_STOPCOPY_SIZE, DEV);

	assert_int_equal(p->bytes, bytes);
}

static void expect_section(struct cursor *c, const char *sec, uint32_t id, uint32_t phase,
			   int32_t ret)
{
	const struct ms_ev_qemu_section *p = next(c, MS_EV_QEMU_SECTION, sec);

	assert_int_equal(p->section_id, id);
	assert_int_equal(p->phase, phase);
	assert_int_equal(p->ret, ret);
}

static void expect_downtime(struct cursor *c, const char *sec, uint32_t kind, uint32_t cp,
			    uint64_t dur)
{
	const struct ms_ev_qemu_downtime *p = next(c, MS_EV_QEMU_DOWNTIME, sec);

	assert_int_equal(p->kind, kind);
	assert_int_equal(p->checkpoint, cp);
	assert_int_equal(p->dur_ns, dur);
}

static void probes_of_a_qemu_process_become_records_in_firing_order(void **state)
{
	const char *why = kmem_bpf_unavailable();
	struct ms_session_opts so = { 0 };
	struct ms_usdt_opts uo = { 0 };
	const struct ms_collector_status *st;
	const struct ms_ev_dev_state *arc;
	const struct ms_ev_source_stats *stats;
	const struct ms_ev_pass *pass;
	const struct ms_ev_data *data;
	struct tu_recorder rec = { 0 };
	struct cursor cur = { .rec = &rec };
	char err[MS_ERR_LEN], line[16];
	struct ms_session *s;
	struct ms_usdt *u;
	FILE *said;
	int go;
	pid_t pid;

	if (why) {
		tu_skip(why);
		return;
	}
	s = ms_session__new(&so, err, sizeof(err));
	assert_non_null(s);
	cur.s = s;
	ms_bus__subscribe(&s->bus, MS_EV_ALL, tu_recorder__on_event, &rec);
	pid = spawn(fake_qemu(), &go, &said);
	assert_non_null(fgets(line, sizeof(line), said));
	assert_string_equal(line, "ready\n");
	u = ms_usdt__open(&s->stream, pid, &uo, err, sizeof(err));
	if (!u)
		fail_msg("ms_usdt__open: %s", err);
	assert_int_equal(ms_usdt__status(u, &st), MS_QP__MAX);
	for (size_t i = 0; i < MS_QP__MAX; i++)
		assert_int_equal(st[i].state, MS_COLLECTOR_ATTACHED);

	assert_int_equal(write(go, "go\n", 3), 3);
	assert_non_null(fgets(line, sizeof(line), said));
	assert_string_equal(line, "fired\n");
	/* QEMU is alive while we read: strings BPF could not read come from it */
	assert_true(ms_usdt__poll(u) > 0);
	assert_int_equal(write(go, "bye\n", 4), 4);
	close(go);
	fclose(said);
	wait_exit(pid);
	ms_usdt__close(u);

	expect_section(&cur, "ram", 2, MS_SECTION_SAVE_START, 0);
	expect_section(&cur, "ram", 2, MS_SECTION_SAVE_END, 0);
	/* the state names of this arc were read from QEMU by the agent: BPF could not */
	arc = next(&cur, MS_EV_DEV_STATE, DEV);
	assert_int_equal(arc->from, RUNNING);
	assert_int_equal(arc->to, PRE_COPY);
	assert_int_equal(arc->err, 0);
	assert_true(arc->dur_ns >= 2000000); /* the usleep between asking and reaching */
	expect_precopy(&cur, 600, 400);
	/* the device's first query begins its first pre-copy pass */
	pass = next(&cur, MS_EV_PASS, DEV);
	assert_int_equal(pass->pass, 1);
	assert_int_equal(pass->origin, MS_PASS_DEVICE);
	assert_int_equal(pass->left, 1000);
	expect_stopcopy(&cur, 4096);
	expect_precopy(&cur, 600, 400);
	expect_stopcopy(&cur, 4096);
	expect_precopy(&cur, 500, 300);
	data = next(&cur, MS_EV_DATA, DEV);
	assert_int_equal(data->bytes, 77);
	assert_int_equal(data->phase, MS_PHASE_PRECOPY);
	expect_precopy(&cur, 400, 200);
	expect_stopcopy(&cur, 8192);
	expect_pending(&cur, 2000, 1000, MS_STAT_UNSET, 0);
	expect_pending(&cur, 2000, 1000, 100, 1);
	expect_pending(&cur, 1500, 1500, MS_STAT_UNSET, 1);
	expect_pending(&cur, 1500, 1500, 100, 0);
	expect_downtime(&cur, NULL, MS_DOWNTIME_CHECKPOINT, 0, 0);
	expect_state(&cur, DEV, PRE_COPY, STOP_COPY, 0);
	expect_section(&cur, VFIO_SEC, 5, MS_SECTION_SAVE_START, 0);
	expect_section(&cur, VFIO_SEC, 5, MS_SECTION_SAVE_END, -5);
	expect_downtime(&cur, VFIO_SEC, MS_DOWNTIME_SAVE, 0, 1500000);
	expect_downtime(&cur, "ram", MS_DOWNTIME_LOAD, 0, 20000);
	expect_downtime(&cur, NULL, MS_DOWNTIME_CHECKPOINT, 1, 0);
	expect_downtime(&cur, NULL, MS_DOWNTIME_CHECKPOINT, MS_QEMU_CHECKPOINT_OTHER, 0);
	expect_state(&cur, DEV8, RUNNING, STOP, 0);
	expect_state(&cur, DEV72, RUNNING, PRE_COPY, 0);
	expect_state(&cur, DEV, STOP_COPY, ERROR, -EIO);
	stats = next(&cur, MS_EV_SOURCE_STATS, NULL);
	assert_int_equal(stats->source, MS_SOURCE_USDT);
	assert_int_equal(stats->accepted, 28);
	assert_int_equal(stats->skipped, 0);
	assert_int_equal(stats->errors, 1); /* the pending sample that fits no layout */
	assert_int_equal(cur.i, rec.count);

	/* names became devices of the right kinds */
	assert_true(ms_devices__find(&s->devices, MS_DEV_KIND_QEMU_VFIO, DEV) != MS_DEV_NONE);
	assert_true(ms_devices__find(&s->devices, MS_DEV_KIND_QEMU_SECTION, VFIO_SEC) !=
		    MS_DEV_NONE);
	assert_int_equal(
	    ms_devices__get(&s->devices, ms_devices__find(&s->devices, MS_DEV_KIND_QEMU_VFIO, DEV))
		->role,
	    MS_ROLE_SOURCE);
	ms_session__free(s);
	tu_recorder__free(&rec);
}

static void binary_probe_count_tells_a_dtrace_qemu_from_others(void **state)
{
	char err[MS_ERR_LEN];
	char *junk = tu_tmp_path(".bin");

	/* 29 probe sites of the names migscope knows, several names more than once */
	assert_int_equal(ms_usdt__binary_probes(fake_qemu(), err, sizeof(err)), 29);
	assert_int_equal(ms_usdt__binary_probes("/bin/sh", err, sizeof(err)), 0);
	assert_int_equal(ms_usdt__binary_probes("/nonexistent/qemu", err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/qemu"));
	tu_write_file(junk, "not an elf file", 15);
	assert_int_equal(ms_usdt__binary_probes(junk, err, sizeof(err)), -ENOEXEC);
	assert_non_null(strstr(err, "not an ELF file"));
	unlink(junk);
	free(junk);
}

static void attaching_to_a_process_without_probes_says_why(void **state)
{
	const char *why = kmem_bpf_unavailable();
	struct ms_session_opts so = { 0 };
	char err[MS_ERR_LEN];
	struct ms_session *s;
	pid_t pid;

	if (why) {
		tu_skip(why);
		return;
	}
	s = ms_session__new(&so, err, sizeof(err));
	pid = fork();
	if (!pid) {
		execl("/bin/sleep", "sleep", "10", (char *)NULL);
		_exit(127);
	}
	assert_null(ms_usdt__open(&s->stream, pid, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "has no QEMU USDT probes"));
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	assert_null(ms_usdt__open(&s->stream, pid, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "no process"));
	ms_session__free(s);
}

static void without_a_pid_the_programs_load_and_wait_for_one(void **state)
{
	const char *why = kmem_bpf_unavailable();
	struct ms_session_opts so = { 0 };
	const struct ms_collector_status *st;
	char err[MS_ERR_LEN];
	struct ms_session *s;
	struct ms_usdt *u;

	if (why) {
		tu_skip(why);
		return;
	}
	s = ms_session__new(&so, err, sizeof(err));
	u = ms_usdt__open(&s->stream, 0, NULL, err, sizeof(err));
	assert_non_null(u);
	assert_int_equal(ms_usdt__status(u, &st), MS_QP__MAX);
	for (size_t i = 0; i < MS_QP__MAX; i++) {
		assert_int_equal(st[i].state, MS_COLLECTOR_LOADED);
		assert_string_equal(st[i].group, "qemu-usdt");
		assert_non_null(strstr(st[i].reason, "--qemu-pid"));
	}
	ms_usdt__close(u);
	ms_session__free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(probes_of_a_qemu_process_become_records_in_firing_order),
		cmocka_unit_test(binary_probe_count_tells_a_dtrace_qemu_from_others),
		cmocka_unit_test(attaching_to_a_process_without_probes_says_why),
		cmocka_unit_test(without_a_pid_the_programs_load_and_wait_for_one),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
