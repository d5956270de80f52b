// SPDX-License-Identifier: GPL-2.0-only
/* Capture files: round trip, compatibility rules, and every kind of damage. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include <migscope/capture.h>
#include <migscope/report.h>
#include <migscope/session.h>
#include <migscope/synth.h>
#include <migscope/tracker.h>

#include "testutil.h"
#include "../../tools/commands.h"

/* Write a small synthetic session to a capture; returns the path. */
static char *write_capture(uint64_t events, struct tu_recorder *live)
{
	char *path = tu_tmp_path(".mscap");
	struct ms_session_opts o = { .record_path = path };
	char err[MS_ERR_LEN];
	struct ms_synth_opts so = { .seed = 7, .devices = 3, .events = events };
	struct ms_session *s = ms_session__new(&o, err, sizeof(err));
	uint64_t end;

	assert_non_null(s);
	if (live)
		assert_int_equal(ms_bus__subscribe(&s->bus, MS_EV_ALL, tu_recorder__on_event, live),
				 0);
	end = ms_synth__run(&s->stream, &so);
	assert_int_equal(ms_session__end(s, end, 0, err, sizeof(err)), 0);
	ms_session__free(s);
	return path;
}

/* Replay a capture in memory into out (if any), strictly or salvaging a cut-short one. */
static int replay_mem(const void *buf, size_t len, struct tu_recorder *out,
		      struct ms_replay_stats *st, bool salvage, char *err)
{
	struct ms_capture_reader *r = ms_capture_reader__open_mem(buf, len, "t.mscap", err,
								  MS_ERR_LEN);
	struct ms_bus bus;
	int ret;

	if (!r)
		return -EINVAL;
	ms_bus__init(&bus);
	if (out)
		ms_bus__subscribe(&bus, MS_EV_ALL, tu_recorder__on_event, out);
	ret = salvage ? ms_capture_reader__replay_salvage(r, &bus, st, err, MS_ERR_LEN)
		      : ms_capture_reader__replay(r, &bus, st, err, MS_ERR_LEN);
	ms_capture_reader__close(r);
	return ret;
}

static int replay_buf(const void *buf, size_t len, struct tu_recorder *out, char *err)
{
	return replay_mem(buf, len, out, NULL, false, err);
}

struct pipe_writer {
	int fd;
	const unsigned char *buf;
	size_t len;
};

static void *write_pipe(void *arg)
{
	struct pipe_writer *w = arg;
	size_t off = 0;

	while (off < w->len) {
		ssize_t n = write(w->fd, w->buf + off, w->len - off);

		if (n <= 0)
			break; /* the reader stopped early: EPIPE */
		off += (size_t)n;
	}
	close(w->fd);
	return NULL;
}

/* The same through a pipe (what `replay -` reads): a stream, read a chunk at a time. */
static int replay_pipe(const void *buf, size_t len, struct tu_recorder *out,
		       struct ms_replay_stats *st, bool salvage, char *err)
{
	struct pipe_writer w = { .buf = buf, .len = len };
	struct ms_capture_reader *r;
	char path[64];
	struct ms_bus bus;
	pthread_t th;
	int fd[2], ret = -EINVAL;

	signal(SIGPIPE, SIG_IGN);
	assert_int_equal(pipe(fd), 0);
	w.fd = fd[1];
	assert_int_equal(pthread_create(&th, NULL, write_pipe, &w), 0);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd[0]);
	r = ms_capture_reader__open(path, err, MS_ERR_LEN);
	close(fd[0]);
	if (r) {
		ms_bus__init(&bus);
		if (out)
			ms_bus__subscribe(&bus, MS_EV_ALL, tu_recorder__on_event, out);
		ret = salvage ? ms_capture_reader__replay_salvage(r, &bus, st, err, MS_ERR_LEN)
			      : ms_capture_reader__replay(r, &bus, st, err, MS_ERR_LEN);
		ms_capture_reader__close(r);
	}
	pthread_join(th, NULL);
	return ret;
}

/*
 * A pipe (replay -) gives what the file gives: every record; at every cut
 * the same error or the same salvaged prefix; every flipped byte an error.
 */
static void a_pipe_replays_as_the_file_does(void **state)
{
	struct tu_recorder live = { 0 }, got = { 0 };
	char *path = write_capture(20000, &live);
	unsigned char *buf;
	size_t len = tu_read_file(path, &buf);
	struct ms_replay_stats fst, pst;
	char ferr[MS_ERR_LEN], perr[MS_ERR_LEN];

	assert_int_equal(replay_pipe(buf, len, &got, &pst, false, perr), 0);
	assert_int_equal(replay_mem(buf, len, NULL, &fst, false, ferr), 0);
	assert_int_equal(got.count, live.count);
	assert_memory_equal(got.buf, live.buf, live.len);
	assert_int_equal(pst.events, fst.events);
	assert_int_equal(pst.chunks, fst.chunks);
	assert_int_equal(pst.bytes, len);
	tu_recorder__free(&got);
	for (size_t cut = 0; cut < len; cut += cut < 256 ? 7 : 1531) {
		int f = replay_mem(buf, cut, NULL, &fst, false, ferr),
		    p = replay_pipe(buf, cut, NULL, &pst, false, perr);

		assert_int_equal(p, f);
		assert_non_null(strstr(perr, ": offset "));
		f = replay_mem(buf, cut, NULL, &fst, true, ferr);
		p = replay_pipe(buf, cut, NULL, &pst, true, perr);
		if (p != f || (p == MS_CAPTURE_SALVAGED && pst.events != fst.events))
			fail_msg("cut at %zu: the pipe salvaged %d (%llu records), the file %d (%llu)",
				 cut, p, (unsigned long long)pst.events, f,
				 (unsigned long long)fst.events);
	}
	for (size_t i = 0; i < len; i += i < 1024 ? 29 : 4099) {
		buf[i] ^= 0x20;
		if (replay_pipe(buf, len, NULL, NULL, false, perr) != -EINVAL)
			fail_msg("flipping byte %zu of %zu went unnoticed in a pipe", i, len);
		/* damage with more behind it is not a cut, in a pipe too */
		if (i > 4096 && i < len - 4096 &&
		    replay_pipe(buf, len, NULL, NULL, true, perr) != -EINVAL)
			fail_msg("flipping byte %zu of %zu was salvaged in a pipe", i, len);
		buf[i] ^= 0x20;
	}
	/* something after the end marker */
	buf = realloc(buf, len + 8);
	assert_non_null(buf);
	memset(buf + len, 0, 8);
	assert_int_equal(replay_pipe(buf, len + 8, NULL, NULL, false, perr), -EINVAL);
	assert_non_null(strstr(perr, "data after the end marker"));
	tu_recorder__free(&live);
	free(buf);
	unlink(path);
	free(path);
}

static void replay_gives_back_every_record_byte_for_byte(void **state)
{
	struct tu_recorder live = { 0 }, replayed = { 0 };
	char *path = write_capture(20000, &live);
	unsigned char *buf;
	size_t len = tu_read_file(path, &buf);
	char err[MS_ERR_LEN];

	assert_int_equal(replay_buf(buf, len, &replayed, err), 0);
	assert_int_equal(replayed.count, live.count);
	assert_int_equal(replayed.len, live.len);
	assert_memory_equal(replayed.buf, live.buf, live.len);
	tu_recorder__free(&live);
	tu_recorder__free(&replayed);
	free(buf);
	unlink(path);
	free(path);
}

static void capture_is_created_mode_0600_even_over_a_readable_file(void **state)
{
	char *path = tu_tmp_path(".mscap");
	struct ms_host_info info = { 0 };
	char err[MS_ERR_LEN];
	struct ms_capture_writer *w;
	struct stat st;

	tu_write_file(path, "x", 1);
	assert_int_equal(chmod(path, 0644), 0);
	w = ms_capture_writer__open(path, &info, NULL, err, sizeof(err));
	assert_non_null(w);
	assert_int_equal(ms_capture_writer__close(w, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	unlink(path);
	free(path);
}

static void host_info_survives_the_round_trip(void **state)
{
	char *path = tu_tmp_path(".mscap");
	struct ms_host_info info = { 0 };
	char err[MS_ERR_LEN];
	struct ms_capture_writer *w;
	struct ms_capture_reader *r;

	ms_host_info__set(&info, "host", "h1");
	ms_host_info__set(&info, "kernel", "6.18.0 #1");
	ms_host_info__set(&info, "future-key", "kept");
	w = ms_capture_writer__open(path, &info, NULL, err, sizeof(err));
	assert_non_null(w);
	assert_int_equal(ms_capture_writer__close(w, err, sizeof(err)), 0);
	r = ms_capture_reader__open(path, err, sizeof(err));
	assert_non_null(r);
	assert_string_equal(ms_host_info__get(ms_capture_reader__info(r), "host"), "h1");
	assert_string_equal(ms_host_info__get(ms_capture_reader__info(r), "kernel"), "6.18.0 #1");
	assert_string_equal(ms_host_info__get(ms_capture_reader__info(r), "future-key"), "kept");
	ms_capture_reader__close(r);
	unlink(path);
	free(path);
}

/* Write records by hand through a writer; returns the file contents. */
static size_t write_records(const struct ms_event_hdr *const *evs, size_t n, unsigned char **out)
{
	char *path = tu_tmp_path(".mscap");
	struct ms_host_info info = { 0 };
	char err[MS_ERR_LEN];
	struct ms_capture_writer *w = ms_capture_writer__open(path, &info, NULL, err, sizeof(err));
	size_t len;

	assert_non_null(w);
	for (size_t i = 0; i < n; i++)
		ms_capture_writer__on_event(w, evs[i]);
	assert_int_equal(ms_capture_writer__close(w, err, sizeof(err)), 0);
	len = tu_read_file(path, out);
	unlink(path);
	free(path);
	return len;
}

static int dma_writes_seen;
static void count_dma(void *ctx, const struct ms_event_hdr *ev)
{
	const struct ms_ev_dma_write *w = (const void *)ev;

	assert_true(ev->len >= MS_PAYLOAD_LEN(ms_ev_dma_write));
	assert_int_equal(w->iova, 0x1000);
	dma_writes_seen++;
}

static void unknown_record_types_are_skipped_and_known_ones_still_arrive(void **state)
{
	struct {
		struct ms_event_hdr hdr;
		uint64_t payload[3];
	} future = { { .type = 60, .len = 20, .dev = 1, .ts_ns = 5 }, { 1, 2, 3 } };
	struct ms_ev_dma_write w = { { MS_EV_DMA_WRITE, MS_PAYLOAD_LEN(ms_ev_dma_write), 0, 6 },
				     0x1000, 4096, MS_SRC_DMA_UNMAP, 2 };
	const struct ms_event_hdr *evs[] = { &future.hdr, &w.hdr, &future.hdr };
	struct ms_capture_reader *r;
	struct ms_replay_stats st;
	unsigned char *buf;
	size_t len = write_records(evs, 3, &buf);
	char err[MS_ERR_LEN];
	struct ms_bus bus;

	ms_bus__init(&bus);
	dma_writes_seen = 0;
	ms_bus__subscribe(&bus, MS_EV_BIT(MS_EV_DMA_WRITE), count_dma, NULL);
	r = ms_capture_reader__open_mem(buf, len, "t", err, sizeof(err));
	assert_non_null(r);
	assert_int_equal(ms_capture_reader__replay(r, &bus, &st, err, sizeof(err)), 0);
	assert_int_equal(st.events, 3);
	assert_int_equal(st.unknown, 2);
	assert_int_equal(dma_writes_seen, 1);
	ms_capture_reader__close(r);
	free(buf);
}

static int zero_tails;
static void check_zero_tail(void *ctx, const struct ms_event_hdr *ev)
{
	const struct ms_ev_dma_write *w = (const void *)ev;

	assert_int_equal(w->source, 0);
	assert_int_equal(w->dir, 0);
	zero_tails++;
}

/* Replay with fn subscribed to DMA writes; returns how often it ran. */
static int replay_buf_fn(const void *buf, size_t len, ms_event_fn fn)
{
	char err[MS_ERR_LEN];
	struct ms_capture_reader *r = ms_capture_reader__open_mem(buf, len, "t.mscap", err,
								  sizeof(err));
	struct ms_bus bus;

	assert_non_null(r);
	ms_bus__init(&bus);
	ms_bus__subscribe(&bus, MS_EV_BIT(MS_EV_DMA_WRITE), fn, NULL);
	zero_tails = 0;
	assert_int_equal(ms_capture_reader__replay(r, &bus, NULL, err, sizeof(err)), 0);
	ms_capture_reader__close(r);
	return zero_tails;
}

static void short_payload_from_an_older_writer_reads_as_zero_extended(void **state)
{
	/* an "old" dma_write that ended after len: source and dir missing */
	struct {
		struct ms_event_hdr hdr;
		uint64_t iova, len;
	} old = { { MS_EV_DMA_WRITE, 16, 0, 1 }, 0x1000, 4096 };
	const struct ms_event_hdr *evs[] = { &old.hdr };
	struct tu_recorder rec = { 0 };
	const struct ms_ev_dma_write *w;
	unsigned char *buf;
	size_t len = write_records(evs, 1, &buf);
	char err[MS_ERR_LEN];

	assert_int_equal(replay_buf(buf, len, &rec, err), 0);
	w = (const void *)tu_recorder__get(&rec, 0);
	/* the written length is kept, so a consumer can tell which fields are missing */
	assert_int_equal(w->hdr.len, 16);
	assert_int_equal(w->iova, 0x1000);
	assert_int_equal(w->len, 4096);
	/* and a subscriber reading past it reads zeros, never the next record */
	assert_int_equal(replay_buf_fn(buf, len, check_zero_tail), 1);
	tu_recorder__free(&rec);
	free(buf);
}

/* A tracked device, 64 pages from 0x100000, then the given records, replayed into a session. */
#define TRACKED_PAGES 64
static struct ms_session *replay_tracked(const struct ms_event_hdr *const *more, size_t n)
{
	union {
		struct ms_ev_dev_add a;
		unsigned char b[sizeof(struct ms_ev_dev_add) + 8];
	} add = { .a = { { MS_EV_DEV_ADD, MS_PAYLOAD_LEN(ms_ev_dev_add) + 2, 0, 1 },
			 .kind = MS_DEV_KIND_REF, .peer = MS_DEV_NONE, .name_len = 2 } };
	union {
		struct ms_ev_track_start t;
		unsigned char b[sizeof(struct ms_ev_track_start) + sizeof(struct ms_range)];
	} start = { .t = { { MS_EV_TRACK_START,
			     MS_PAYLOAD_LEN(ms_ev_track_start) + sizeof(struct ms_range), 0, 2 },
			   .page_size = 4096, .nr_ranges = 1 } };
	struct ms_range r = { 0x100000, TRACKED_PAGES * 4096 };
	const struct ms_event_hdr *evs[8] = { &add.a.hdr, &start.t.hdr };
	struct ms_session_opts o = { 0 };
	struct ms_capture_reader *rd;
	struct ms_session *s;
	unsigned char *buf;
	char err[MS_ERR_LEN];
	size_t len;

	assert_true(n <= 6);
	memcpy(add.a.name, "d0", 2);
	memcpy(start.t.ranges, &r, sizeof(r));
	memcpy(evs + 2, more, n * sizeof(*more));
	len = write_records(evs, n + 2, &buf);
	s = ms_session__new(&o, err, sizeof(err));
	assert_non_null(s);
	rd = ms_capture_reader__open_mem(buf, len, "t.mscap", err, sizeof(err));
	assert_non_null(rd);
	assert_int_equal(ms_capture_reader__replay(rd, &s->bus, NULL, err, sizeof(err)), 0);
	ms_capture_reader__close(rd);
	free(buf);
	return s;
}

/*
 * A write record too short to say which pages it dirtied (0, 8 or 16 of its
 * 24 payload bytes: no address, no length, no source) marks everything the
 * device tracks and says so; it is never read as a write at IOVA 0, one page,
 * or a write from source 0.
 */
static void a_short_write_record_widens_everything_tracked(void **state)
{
	static const uint16_t lens[] = { 0, 8, 16 };

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		struct {
			struct ms_event_hdr hdr;
			uint64_t iova, len;
		} w = { { MS_EV_DMA_WRITE, lens[i], 0, 3 }, 0x100000, 4096 };
		const struct ms_event_hdr *evs[] = { &w.hdr };
		struct ms_session *s = replay_tracked(evs, 1);
		struct ms_dirty_summary sum;
		struct json_object *j;

		assert_int_equal(ms_tracker__device_summary(s->tracker, 0, &sum), 0);
		assert_int_equal(sum.pending_pages, TRACKED_PAGES);
		assert_int_equal(sum.widen_events, 1);
		j = ms_report__dirty_json(s->tracker, 0, 0);
		assert_non_null(strstr(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN),
				   "\"cause\":\"short_record\""));
		json_object_put(j);
		ms_session__free(s);
	}
}

/* An unmap too short to say its extent marks everything tracked. */
static void a_short_unmap_record_widens_everything_tracked(void **state)
{
	struct {
		struct ms_event_hdr hdr;
		uint64_t iova;
	} u = { { MS_EV_IOMMU_UNMAP, 8, MS_DEV_NONE, 3 }, 0x100000 };
	const struct ms_event_hdr *evs[] = { &u.hdr };
	struct ms_session *s = replay_tracked(evs, 1);
	struct ms_dirty_summary sum;

	assert_int_equal(ms_tracker__device_summary(s->tracker, 0, &sum), 0);
	assert_int_equal(sum.pending_pages, TRACKED_PAGES);
	assert_int_equal(sum.widen_events, 1);
	ms_session__free(s);
}

/* Run a CLI command in this process with stdout to a file; its JSON output. */
static struct json_object *run_json(int (*cmd)(int, char **), char **argv, int argc)
{
	char *out = tu_tmp_path(".json");
	int saved, fd, ret;
	struct json_object *j;

	fflush(stdout);
	saved = dup(1);
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(saved >= 0 && fd >= 0);
	dup2(fd, 1);
	close(fd);
	optind = 0;
	ret = cmd(argc, argv);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	assert_int_equal(ret, 0);
	j = json_object_from_file(out);
	assert_non_null(j);
	unlink(out);
	free(out);
	return j;
}

/*
 * Device 1's DEV_ADD has a name_len running past its payload; its records
 * (a track start, a write, a loss) still count: the device is listed as
 * unregistered in the report and in bitmap, with its dirty pages, and the
 * refused DEV_ADD is counted with its reason.
 */
static void records_of_a_device_never_added_are_listed_not_dropped(void **state)
{
	union {
		struct ms_ev_dev_add a;
		unsigned char b[sizeof(struct ms_ev_dev_add) + 8];
	} bad = { .a = { { MS_EV_DEV_ADD, MS_PAYLOAD_LEN(ms_ev_dev_add) + 4, 1, 2 },
			 .kind = MS_DEV_KIND_REF, .peer = MS_DEV_NONE, .name_len = 40 } };
	union {
		struct ms_ev_track_start t;
		unsigned char b[sizeof(struct ms_ev_track_start) + sizeof(struct ms_range)];
	} start = { .t = { { MS_EV_TRACK_START,
			     MS_PAYLOAD_LEN(ms_ev_track_start) + sizeof(struct ms_range), 1, 3 },
			   .page_size = 4096, .nr_ranges = 1 } };
	struct ms_range r = { 0x200000, 16 * 4096 };
	struct ms_ev_dma_write w = { { MS_EV_DMA_WRITE, MS_PAYLOAD_LEN(ms_ev_dma_write), 1, 4 },
				     0x200000, 3 * 4096, MS_SRC_DMA_UNMAP, 0 };
	/* and a write for an id nobody ever mentioned */
	struct ms_ev_dma_write w7 = { { MS_EV_DMA_WRITE, MS_PAYLOAD_LEN(ms_ev_dma_write), 7, 5 },
				      0x1000, 4096, MS_SRC_DMA_UNMAP, 0 };
	const struct ms_event_hdr *evs[] = { &bad.a.hdr, &start.t.hdr, &w.hdr, &w7.hdr };
	struct ms_session *s;
	struct json_object *rep, *dev, *v;
	char *path = tu_tmp_path(".mscap"), *argv[] = { "bitmap", path, "--json", NULL };
	unsigned char *buf;
	size_t len;

	memcpy(bad.a.name, "abcd", 4);
	memcpy(start.t.ranges, &r, sizeof(r));
	s = replay_tracked(evs, 4);
	rep = ms_report__json(&s->view);
	assert_int_equal(json_object_get_int64(tu_json_get(rep, "events.rejected_dev_add")), 1);
	assert_non_null(strstr(json_object_get_string(tu_json_get(rep, "events.rejected_dev_add_first")),
			       "DEV_ADD of device 1"));
	dev = ms_report__device(rep, 1);
	assert_non_null(dev);
	assert_string_equal(json_object_get_string(tu_json_get(dev, "kind")), "unregistered");
	assert_string_equal(json_object_get_string(tu_json_get(dev, "name")), "dev1");
	assert_int_equal(json_object_get_int64(tu_json_get(dev, "dirty.pending_pages")), 3);
	dev = ms_report__device(rep, 7);
	assert_non_null(dev);
	assert_int_equal(json_object_get_int64(tu_json_get(dev, "dirty.records")), 1);
	json_object_put(rep);
	ms_session__free(s);

	/* bitmap lists them too */
	{
		const struct ms_event_hdr *all[] = { &bad.a.hdr, &start.t.hdr, &w.hdr };

		len = write_records(all, 3, &buf);
		tu_write_file(path, buf, len);
		free(buf);
	}
	rep = run_json(do_bitmap, argv, 3);
	v = tu_json_get(rep, "devices");
	assert_int_equal(json_object_array_length(v), 1);
	dev = json_object_array_get_idx(v, 0);
	assert_int_equal(json_object_get_int64(tu_json_get(dev, "id")), 1);
	assert_string_equal(json_object_get_string(tu_json_get(dev, "kind")), "unregistered");
	assert_int_equal(json_object_get_int64(tu_json_get(dev, "dirty.pending_pages")), 3);
	json_object_put(rep);
	unlink(path);
	free(path);
}

static void every_truncation_is_an_error_naming_the_file_and_offset(void **state)
{
	char *path = write_capture(2000, NULL);
	unsigned char *buf;
	size_t len = tu_read_file(path, &buf);
	char err[MS_ERR_LEN];

	for (size_t cut = 0; cut < len; cut += (cut < 256 ? 1 : 97)) {
		err[0] = '\0';
		assert_int_equal(replay_buf(buf, cut, NULL, err), -EINVAL);
		assert_non_null(strstr(err, "t.mscap: offset "));
	}
	free(buf);
	unlink(path);
	free(path);
}

static void every_flipped_byte_is_detected(void **state)
{
	char *path = write_capture(300, NULL);
	unsigned char *buf;
	size_t len = tu_read_file(path, &buf);
	char err[MS_ERR_LEN];

	for (size_t i = 0; i < len; i++) {
		buf[i] ^= 0x20;
		if (replay_buf(buf, len, NULL, err) != -EINVAL)
			fail_msg("flipping byte %zu of %zu went unnoticed", i, len);
		buf[i] ^= 0x20;
	}
	assert_int_equal(replay_buf(buf, len, NULL, err), 0);
	free(buf);
	unlink(path);
	free(path);
}

static void error_messages_say_what_is_wrong(void **state)
{
	char *path = write_capture(100, NULL);
	unsigned char *buf;
	size_t len = tu_read_file(path, &buf);
	char err[MS_ERR_LEN];
	uint16_t v = 9;

	assert_int_equal(replay_buf("hello world, not a capture at all", 33, NULL, err), -EINVAL);
	assert_string_equal(err, "t.mscap: offset 0: not a migscope capture (bad magic)");

	assert_int_equal(replay_buf(buf, len - 1, NULL, err), -EINVAL);
	assert_non_null(strstr(err, "runs past the end of the file"));

	assert_int_equal(replay_buf(buf, len - 24, NULL, err), -EINVAL); /* end marker cut off */
	assert_non_null(strstr(err, "without its end marker"));

	buf[len - 3] ^= 1; /* inside the end marker payload */
	assert_int_equal(replay_buf(buf, len, NULL, err), -EINVAL);
	assert_non_null(strstr(err, "chunk checksum mismatch"));
	buf[len - 3] ^= 1;

	/* a newer version, with a valid header checksum: refused by version */
	memcpy(buf + 8, &v, 2);
	{
		uint32_t crc = ms_crc32c(0, buf, 24);

		memcpy(buf + 24, &crc, 4);
	}
	assert_int_equal(replay_buf(buf, len, NULL, err), -EINVAL);
	assert_string_equal(err,
			    "t.mscap: offset 8: unsupported capture version 9 (this build reads version 1)");
	free(buf);
	unlink(path);
	free(path);
}

static int salvage_buf(const void *buf, size_t len, struct tu_recorder *out,
		       struct ms_replay_stats *st, char *err)
{
	return replay_mem(buf, len, out, st, true, err);
}

/* Offsets where each chunk ends, from the file's own chunk headers. */
static size_t chunk_ends(const unsigned char *buf, size_t len, size_t *ends, uint64_t *recs,
			 size_t max)
{
	uint32_t hlen, info_len, clen, n;
	size_t off, k = 0;
	uint64_t total = 0;

	memcpy(&hlen, buf + 10, 2);
	hlen &= 0xffff;
	memcpy(&info_len, buf + 12, 4);
	off = hlen + info_len;
	while (off + 16 <= len && k < max) {
		memcpy(&clen, buf + off + 4, 4);
		memcpy(&n, buf + off + 8, 4);
		off += 16 + clen;
		total += n;
		ends[k] = off;
		recs[k++] = total;
	}
	return k;
}

static void every_cut_salvages_exactly_the_whole_chunks_before_it(void **state)
{
	struct tu_recorder live = { 0 };
	char *path = write_capture(20000, &live);
	unsigned char *buf;
	size_t len = tu_read_file(path, &buf), ends[64];
	uint64_t recs[64];
	size_t nch = chunk_ends(buf, len, ends, recs, 64);
	char err[MS_ERR_LEN];

	assert_true(nch >= 4); /* several data chunks and the end marker */
	/* every cut near the start, around every chunk boundary, and strided */
	size_t cuts[4096], ncut = 0;

	for (size_t c = 32; c < 1024; c++)
		cuts[ncut++] = c;
	for (size_t k = 0; k < nch; k++)
		for (long d = -17; d <= 17; d++)
			cuts[ncut++] = (size_t)((long)ends[k] + d);
	for (size_t c = 1024; c < len && ncut < 4096; c += 4099)
		cuts[ncut++] = c;
	for (size_t i = 0; i < ncut; i++) {
		size_t cut = cuts[i];
		struct tu_recorder got = { 0 };
		struct ms_replay_stats st;
		uint64_t want = 0;
		size_t want_end = 0;

		memcpy(&want_end, &(size_t){ 0 }, sizeof(want_end));
		{
			uint32_t hlen = 0, info_len;

			memcpy(&hlen, buf + 10, 2);
			memcpy(&info_len, buf + 12, 4);
			want_end = hlen + info_len;
		}
		if (cut < want_end || cut >= len) /* not a capture yet / the whole file */
			continue;
		for (size_t k = 0; k < nch && ends[k] <= cut; k++) {
			want = recs[k];
			want_end = ends[k];
		}
		assert_int_equal(salvage_buf(buf, cut, &got, &st, err), MS_CAPTURE_SALVAGED);
		assert_non_null(strstr(err, "t.mscap: offset "));
		assert_int_equal(got.count, want);
		assert_int_equal(st.events, want);
		assert_int_equal(st.valid_end, want_end);
		/* the prefix is the live run's, record for record */
		assert_memory_equal(got.buf, live.buf, got.len);
		/* and the strict reader still refuses it */
		assert_int_equal(replay_buf(buf, cut, NULL, err), -EINVAL);
		tu_recorder__free(&got);
	}
	tu_recorder__free(&live);
	free(buf);
	unlink(path);
	free(path);
}

static void a_tail_of_zeros_from_a_host_crash_is_a_cut(void **state)
{
	char *path = write_capture(5000, NULL);
	unsigned char *buf;
	size_t len = tu_read_file(path, &buf), ends[64];
	uint64_t recs[64];
	size_t nch = chunk_ends(buf, len, ends, recs, 64);
	char err[MS_ERR_LEN];
	struct ms_replay_stats st;

	/* the file's size reached its end, the last chunks' blocks never did */
	memset(buf + ends[0], 0, len - ends[0]);
	assert_int_equal(salvage_buf(buf, len, NULL, &st, err), MS_CAPTURE_SALVAGED);
	assert_int_equal(st.events, recs[0]);
	assert_non_null(strstr(err, "bad chunk magic 0x00000000"));
	/* from a pipe too: nothing but zeros after the bad chunk is the crash's tail */
	assert_int_equal(replay_pipe(buf, len, NULL, &st, true, err), MS_CAPTURE_SALVAGED);
	assert_int_equal(st.events, recs[0]);
	/* and a byte that is not zero in that tail makes it damage */
	buf[len - 3] = 1;
	assert_int_equal(replay_pipe(buf, len, NULL, &st, true, err), -EINVAL);
	(void)nch;
	free(buf);
	unlink(path);
	free(path);
}

static void damage_inside_the_prefix_is_an_error_not_a_salvage(void **state)
{
	char *path = write_capture(300, NULL);
	unsigned char *buf;
	size_t len = tu_read_file(path, &buf), ends[64];
	uint64_t recs[64];
	size_t nch = chunk_ends(buf, len, ends, recs, 64), last = nch >= 2 ? ends[nch - 2] : 0;
	char err[MS_ERR_LEN];
	struct ms_replay_stats st;
	uint32_t big = 1u << 20;

	/* every flipped byte before the end marker is damage; in the end marker, a cut */
	for (size_t i = 0; i < len; i++) {
		int ret;

		buf[i] ^= 0x20;
		ret = salvage_buf(buf, len, NULL, &st, err);
		if (i < last && ret != -EINVAL)
			fail_msg("flipping byte %zu of %zu salvaged (%d)", i, len, ret);
		if (i >= last && ret != MS_CAPTURE_SALVAGED)
			fail_msg("flipping end-marker byte %zu gave %d", i, ret);
		buf[i] ^= 0x20;
	}
	/* a chunk length that runs past the end, with intact chunks after it */
	{
		uint32_t hlen = 0, info_len, save;
		size_t first;

		memcpy(&hlen, buf + 10, 2);
		memcpy(&info_len, buf + 12, 4);
		first = hlen + info_len; /* the first chunk; the end marker follows */
		memcpy(&save, buf + first + 4, 4);
		memcpy(buf + first + 4, &big, 4);
		assert_int_equal(salvage_buf(buf, len, NULL, &st, err), -EINVAL);
		memcpy(buf + first + 4, &save, 4);
	}
	assert_int_equal(salvage_buf(buf, len, NULL, &st, err), 0);
	free(buf);
	unlink(path);
	free(path);
}

static void repair_writes_the_prefix_that_replays_as_complete(void **state)
{
	struct tu_recorder live = { 0 }, got = { 0 };
	char *path = write_capture(20000, &live), *cut = tu_tmp_path(".mscap"),
	     *out = tu_tmp_path(".mscap");
	unsigned char *buf, *rbuf;
	size_t len = tu_read_file(path, &buf), rlen;
	struct ms_replay_stats st;
	char err[MS_ERR_LEN];
	int complete;

	tu_write_file(cut, buf, len * 2 / 3);
	assert_int_equal(ms_capture__repair(cut, out, 0, &st, &complete, err, sizeof(err)), 0);
	assert_int_equal(complete, 0);
	rlen = tu_read_file(out, &rbuf);
	assert_int_equal(replay_buf(rbuf, rlen, &got, err), 0);
	assert_int_equal(got.count, st.events);
	assert_true(got.count > 0 && got.count < live.count);
	assert_memory_equal(got.buf, live.buf, got.len);
	free(rbuf);
	tu_recorder__free(&got);

	/* a complete file is copied as it is */
	assert_int_equal(ms_capture__repair(path, out, 0, &st, &complete, err, sizeof(err)), 0);
	assert_int_equal(complete, 1);
	rlen = tu_read_file(out, &rbuf);
	assert_int_equal(rlen, len);
	assert_memory_equal(rbuf, buf, len);
	free(rbuf);

	/* damage is refused, unless forced */
	buf[len / 2] ^= 1;
	tu_write_file(cut, buf, len);
	assert_int_equal(ms_capture__repair(cut, out, 0, &st, &complete, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "offset"));
	assert_int_equal(ms_capture__repair(cut, out, 1, &st, &complete, err, sizeof(err)), 0);
	rlen = tu_read_file(out, &rbuf);
	assert_int_equal(replay_buf(rbuf, rlen, NULL, err), 0);
	free(rbuf);
	/* never over its own input */
	assert_int_equal(ms_capture__repair(cut, cut, 1, &st, &complete, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "another file"));

	tu_recorder__free(&live);
	free(buf);
	unlink(path);
	unlink(cut);
	unlink(out);
	free(path);
	free(cut);
	free(out);
}

/* Record events synth records, rotating at max_size; returns the base path. */
static char *write_rotated(uint64_t events, uint64_t max_size, struct tu_recorder *live)
{
	char *path = tu_tmp_path(".mscap");
	struct ms_session_opts o = { .record_path = path, .record = { .max_size = max_size } };
	char err[MS_ERR_LEN];
	struct ms_synth_opts so = { .seed = 7, .devices = 3, .events = events };
	struct ms_session *s = ms_session__new(&o, err, sizeof(err));
	uint64_t end;

	assert_non_null(s);
	assert_int_equal(ms_bus__subscribe(&s->bus, MS_EV_ALL, tu_recorder__on_event, live), 0);
	end = ms_synth__run(&s->stream, &so);
	assert_true(ms_capture_writer__parts(s->rec) >= 2);
	assert_int_equal(ms_session__end(s, end, 0, err, sizeof(err)), 0);
	ms_session__free(s);
	return path;
}

static int replay_path_parts(const char *path, struct tu_recorder *out, struct ms_replay_stats *st,
			     char *err)
{
	struct ms_capture_reader *r = ms_capture_reader__open(path, err, MS_ERR_LEN);
	struct ms_bus bus;
	int ret;

	if (!r)
		return -ENOENT;
	ms_bus__init(&bus);
	if (out)
		ms_bus__subscribe(&bus, MS_EV_ALL, tu_recorder__on_event, out);
	ret = ms_capture_reader__replay_parts(r, path, &bus, 1, st, err, MS_ERR_LEN);
	ms_capture_reader__close(r);
	return ret;
}

static void rotated_parts_stay_under_the_size_and_replay_as_one(void **state)
{
	struct tu_recorder live = { 0 }, got = { 0 };
	uint64_t max = 1u << 20;
	char *path = write_rotated(120000, max, &live), part[300], stale[300];
	struct ms_replay_stats st;
	char err[MS_ERR_LEN];
	unsigned int n = 0;
	struct stat sb;

	for (;; n++) {
		if (n)
			snprintf(part, sizeof(part), "%s.%u", path, n);
		else
			snprintf(part, sizeof(part), "%s", path);
		if (stat(part, &sb) < 0)
			break;
		assert_true((uint64_t)sb.st_size <= max);
		assert_int_equal(sb.st_mode & 0777, 0600);
		/* each part is a complete capture on its own */
		{
			unsigned char *b;
			size_t l = tu_read_file(part, &b);

			assert_int_equal(replay_buf(b, l, NULL, err), 0);
			free(b);
		}
	}
	assert_true(n >= 3);
	assert_int_equal(replay_path_parts(path, &got, &st, err), 0);
	assert_int_equal(st.parts, n);
	assert_int_equal(got.count, live.count);
	assert_memory_equal(got.buf, live.buf, live.len);
	tu_recorder__free(&got);

	/* a part left by an older recording under the same name is not joined */
	snprintf(stale, sizeof(stale), "%s.%u", path, n);
	snprintf(part, sizeof(part), "%s.1", path);
	assert_int_equal(link(part, stale), 0);
	assert_int_equal(replay_path_parts(path, &got, &st, err), -EINVAL);
	assert_non_null(strstr(err, "part 1 of the capture where part"));
	unlink(stale);
	tu_recorder__free(&got);
	{
		/* another recording's part: ignored */
		char *other = write_rotated(40000, max, &got);

		snprintf(part, sizeof(part), "%s.1", other);
		assert_int_equal(rename(part, stale), 0);
		tu_recorder__free(&got);
		assert_int_equal(replay_path_parts(path, &got, &st, err), 0);
		assert_int_equal(got.count, live.count);
		unlink(stale);
		for (unsigned int i = 0; i < 16; i++) {
			snprintf(part, sizeof(part), i ? "%s.%u" : "%s", other, i);
			unlink(part);
		}
		free(other);
	}
	/* the last part cut short: everything before it, and its valid prefix */
	snprintf(part, sizeof(part), "%s.%u", path, n - 1);
	assert_int_equal(stat(part, &sb), 0);
	assert_int_equal(truncate(part, sb.st_size - 100), 0);
	tu_recorder__free(&got);
	assert_int_equal(replay_path_parts(path, &got, &st, err), MS_CAPTURE_SALVAGED);
	assert_true(got.count < live.count && got.count > 0);
	assert_memory_equal(got.buf, live.buf, got.len);

	for (unsigned int i = 0; i < n; i++) {
		snprintf(part, sizeof(part), i ? "%s.%u" : "%s", path, i);
		unlink(part);
	}
	tu_recorder__free(&got);
	tu_recorder__free(&live);
	free(path);
}

static void a_record_is_on_disk_within_the_sync_window(void **state)
{
	char *path = tu_tmp_path(".mscap");
	struct ms_capture_opts o = { .sync_ns = 30000000 };
	struct ms_host_info info = { 0 };
	struct ms_capture_writer *w;
	struct ms_event_hdr ev = { .type = MS_EV_SESSION_END, .len = 0, .dev = MS_DEV_NONE };
	char err[MS_ERR_LEN];
	struct stat sb;
	off_t hdr;

	w = ms_capture_writer__open(path, &info, &o, err, sizeof(err));
	assert_non_null(w);
	assert_int_equal(stat(path, &sb), 0);
	hdr = sb.st_size;
	ms_capture_writer__on_event(w, &ev);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_size, hdr); /* buffered */
	usleep(40000);
	/* the next record finds the first one older than the window */
	ms_capture_writer__on_event(w, &ev);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_size, hdr + 16 + 2 * 16);
	/* an idle writer: the tick writes it */
	ms_capture_writer__on_event(w, &ev);
	ms_capture_writer__tick(w);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_size, hdr + 16 + 2 * 16);
	usleep(40000);
	ms_capture_writer__tick(w);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_size, hdr + 2 * 16 + 3 * 16);
	assert_int_equal(ms_capture_writer__close(w, err, sizeof(err)), 0);
	unlink(path);
	free(path);
}

/*
 * A capture built byte by byte from docs/capture-format.md: header, info
 * block, one chunk with one session_end record, the end marker.  The knobs
 * are the fields with a reader rule.
 */
struct hand {
	uint32_t flags, reserved;
	uint16_t hdr_len;
	const void *info; /* info block bytes (a multiple of 8 unless testing that) */
	uint32_t info_len;
	uint32_t end_len, end_nr;
};

static void put32(unsigned char *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static size_t hand_capture(const struct hand *h, unsigned char *buf)
{
	uint16_t version = 1, hdr_len = h->hdr_len ? h->hdr_len : 32;
	struct ms_ev_session_end e = { .hdr = { .type = MS_EV_SESSION_END, .len = 8, .ts_ns = 5 } };
	uint64_t total = 1;
	size_t off;

	memset(buf, 0, 4096);
	memcpy(buf, "MSCAPTUR", 8);
	memcpy(buf + 8, &version, 2);
	memcpy(buf + 10, &hdr_len, 2);
	put32(buf + 12, h->info_len);
	memcpy(buf + hdr_len, h->info, h->info_len);
	put32(buf + 16, ms_crc32c(0, buf + hdr_len, h->info_len));
	put32(buf + 20, h->flags);
	put32(buf + 24, ms_crc32c(0, buf, 24));
	put32(buf + 28, h->reserved);
	off = hdr_len + h->info_len;

	put32(buf + off, 0x4b43534d); /* MSCK */
	put32(buf + off + 4, sizeof(e));
	put32(buf + off + 8, 1);
	memcpy(buf + off + 16, &e, sizeof(e));
	put32(buf + off + 12, ms_crc32c(ms_crc32c(0, buf + off + 4, 8), buf + off + 16, sizeof(e)));
	off += 16 + sizeof(e);

	put32(buf + off, 0x4e45534d); /* MSEN */
	put32(buf + off + 4, h->end_len ? h->end_len : 8);
	put32(buf + off + 8, h->end_nr);
	memcpy(buf + off + 16, &total, 8);
	put32(buf + off + 12, ms_crc32c(ms_crc32c(0, buf + off + 4, 8), buf + off + 16,
					h->end_len ? h->end_len : 8));
	return off + 16 + (h->end_len ? h->end_len : 8);
}

static int replay_hand(const struct hand *h, char *err)
{
	static unsigned char buf[4096];
	int ret;

	err[0] = '\0';
	ret = replay_buf(buf, hand_capture(h, buf), NULL, err);
	printf("hand-built capture: %s\n", ret ? err : "read");
	return ret;
}

/* Every "must be 0" or "no NUL" field of the format has the reader rule the document states. */
static void every_must_be_zero_field_has_the_documented_rule(void **state)
{
	/* "host"="h1", then 6 bytes of padding to 16 */
	unsigned char info[16] = { 4, 0, 2, 0, 'h', 'o', 's', 't', 'h', '1' };
	unsigned char bad[16];
	char err[MS_ERR_LEN];
	struct hand h = { .info = info, .info_len = sizeof(info) };

	assert_int_equal(replay_hand(&h, err), 0);

	h.flags = 1;
	assert_int_equal(replay_hand(&h, err), -EINVAL);
	assert_string_equal(err, "t.mscap: offset 20: unknown header flags 0x1");
	h.flags = 0;
	h.reserved = 2;
	assert_int_equal(replay_hand(&h, err), -EINVAL);
	assert_string_equal(err, "t.mscap: offset 28: reserved header field is not zero");
	h.reserved = 0;

	/* a longer header: the bytes past 32 are skipped */
	h.hdr_len = 40;
	assert_int_equal(replay_hand(&h, err), 0);
	h.hdr_len = 36;
	assert_int_equal(replay_hand(&h, err), -EINVAL);
	assert_string_equal(err, "t.mscap: offset 10: bad header length 36");
	h.hdr_len = 0;

	/* info padding: zeros, once, fewer than 8 */
	memcpy(bad, info, sizeof(bad));
	bad[15] = 1; /* past the 0, 0 entry head that ends the entries */
	h.info = bad;
	assert_int_equal(replay_hand(&h, err), -EINVAL);
	assert_string_equal(
	    err, "t.mscap: offset 42: bad info padding (6 bytes, want 0 to 7 zero bytes)");
	{
		unsigned char padded[24] = { 4, 0, 2, 0, 'h', 'o', 's', 't', 'h', '1' };

		h.info = padded;
		h.info_len = sizeof(padded);
		assert_int_equal(replay_hand(&h, err), -EINVAL);
		assert_string_equal(err, "t.mscap: offset 42: bad info padding (14 bytes, want 0 "
					 "to 7 zero bytes)");
		h.info_len = sizeof(info);
	}
	/* no NUL in a key or a value */
	memcpy(bad, info, sizeof(bad));
	bad[9] = 0;
	h.info = bad;
	assert_int_equal(replay_hand(&h, err), -EINVAL);
	assert_string_equal(err,
			    "t.mscap: offset 32: info entry has a NUL byte in its key or value");
	/* an empty key */
	memcpy(bad, info, sizeof(bad));
	bad[0] = 0;
	assert_int_equal(replay_hand(&h, err), -EINVAL);
	assert_string_equal(err,
			    "t.mscap: offset 32: info entry has a bad key or value length (0, 2)");
	h.info = info;

	/* the end marker: exactly 8 bytes and no records */
	h.end_len = 16;
	assert_int_equal(replay_hand(&h, err), -EINVAL);
	assert_string_equal(err, "t.mscap: offset 88: end marker of 16 bytes and 0 records (want "
				 "8 and 0)");
	h.end_len = 0;
	h.end_nr = 1;
	assert_int_equal(replay_hand(&h, err), -EINVAL);
	assert_string_equal(err, "t.mscap: offset 88: end marker of 8 bytes and 1 records (want "
				 "8 and 0)");
}

/* The padding after a record is not checked: the chunk's CRC covers it. */
static void record_padding_is_not_checked(void **state)
{
	struct ms_ev_session_end e = { .hdr = { .type = MS_EV_SESSION_END, .len = 4, .ts_ns = 5 } };
	const struct ms_event_hdr *evs[] = { &e.hdr };
	unsigned char *buf;
	size_t len = write_records(evs, 1, &buf), chunk;
	char err[MS_ERR_LEN];
	uint32_t info_len, crc;

	memcpy(&info_len, buf + 12, 4);
	chunk = 32 + info_len;
	buf[chunk + 16 + 16 + 4] = 0xaa; /* the 4 padding bytes after the 4-byte payload */
	crc = ms_crc32c(ms_crc32c(0, buf + chunk + 4, 8), buf + chunk + 16, 24);
	memcpy(buf + chunk + 12, &crc, 4);
	err[0] = '\0';
	if (replay_buf(buf, len, NULL, err))
		fail_msg("%s", err);
	free(buf);
}

static void missing_file_is_a_clear_error(void **state)
{
	char err[MS_ERR_LEN];

	assert_null(ms_capture_reader__open("/nonexistent/x.mscap", err, sizeof(err)));
	assert_string_equal(err,
			    "/nonexistent/x.mscap: failed to open capture: No such file or directory");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(replay_gives_back_every_record_byte_for_byte),
		cmocka_unit_test(capture_is_created_mode_0600_even_over_a_readable_file),
		cmocka_unit_test(host_info_survives_the_round_trip),
		cmocka_unit_test(a_pipe_replays_as_the_file_does),
		cmocka_unit_test(unknown_record_types_are_skipped_and_known_ones_still_arrive),
		cmocka_unit_test(short_payload_from_an_older_writer_reads_as_zero_extended),
		cmocka_unit_test(a_short_write_record_widens_everything_tracked),
		cmocka_unit_test(a_short_unmap_record_widens_everything_tracked),
		cmocka_unit_test(records_of_a_device_never_added_are_listed_not_dropped),
		cmocka_unit_test(every_truncation_is_an_error_naming_the_file_and_offset),
		cmocka_unit_test(every_flipped_byte_is_detected),
		cmocka_unit_test(error_messages_say_what_is_wrong),
		cmocka_unit_test(missing_file_is_a_clear_error),
		cmocka_unit_test(every_cut_salvages_exactly_the_whole_chunks_before_it),
		cmocka_unit_test(a_tail_of_zeros_from_a_host_crash_is_a_cut),
		cmocka_unit_test(damage_inside_the_prefix_is_an_error_not_a_salvage),
		cmocka_unit_test(repair_writes_the_prefix_that_replays_as_complete),
		cmocka_unit_test(rotated_parts_stay_under_the_size_and_replay_as_one),
		cmocka_unit_test(a_record_is_on_disk_within_the_sync_window),
		cmocka_unit_test(every_must_be_zero_field_has_the_documented_rule),
		cmocka_unit_test(record_padding_is_not_checked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
