// SPDX-License-Identifier: GPL-2.0-only
/* Capture files: round trip, compatibility rules, and every kind of damage. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <migscope/capture.h>
#include <migscope/session.h>
#include <migscope/synth.h>

#include "testutil.h"

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
	end = ms_synth__run(s, &so);
	assert_int_equal(ms_session__end(s, end, 0, err, sizeof(err)), 0);
	ms_session__free(s);
	return path;
}

static int replay_buf(const void *buf, size_t len, struct tu_recorder *out, char *err)
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
	ret = ms_capture_reader__replay(r, &bus, NULL, err, MS_ERR_LEN);
	ms_capture_reader__close(r);
	return ret;
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
	w = ms_capture_writer__open(path, &info, err, sizeof(err));
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
	w = ms_capture_writer__open(path, &info, err, sizeof(err));
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
	struct ms_capture_writer *w = ms_capture_writer__open(path, &info, err, sizeof(err));
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
	assert_int_equal(w->hdr.len, MS_PAYLOAD_LEN(ms_ev_dma_write));
	assert_int_equal(w->iova, 0x1000);
	assert_int_equal(w->len, 4096);
	assert_int_equal(w->source, 0);
	assert_int_equal(w->dir, 0);
	tu_recorder__free(&rec);
	free(buf);
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
		cmocka_unit_test(unknown_record_types_are_skipped_and_known_ones_still_arrive),
		cmocka_unit_test(short_payload_from_an_older_writer_reads_as_zero_extended),
		cmocka_unit_test(every_truncation_is_an_error_naming_the_file_and_offset),
		cmocka_unit_test(every_flipped_byte_is_detected),
		cmocka_unit_test(error_messages_say_what_is_wrong),
		cmocka_unit_test(missing_file_is_a_clear_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
