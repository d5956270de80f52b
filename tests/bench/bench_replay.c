// SPDX-License-Identifier: GPL-2.0-only
/*
 * Replay throughput: a capture of 10 million synthetic records replayed through
 * a full session (every consumer the replay command wires), on one core.
 * Baseline, same run: one CRC-32C pass over the same mapped file, the least any
 * reader that checks the file must do.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <migscope/capture.h>
#include <migscope/session.h>
#include <migscope/synth.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double best_of(int runs, double (*fn)(const char *), const char *path)
{
	double best = 1e30;

	for (int i = 0; i < runs; i++) {
		double t = fn(path);

		if (t < best)
			best = t;
	}
	return best;
}

static uint64_t replayed;

static double time_replay(const char *path)
{
	struct ms_session_opts o = { 0 };
	char err[MS_ERR_LEN];
	struct ms_capture_reader *r = ms_capture_reader__open(path, err, sizeof(err));
	struct ms_replay_stats st;
	struct ms_session *s;
	double t0, t1;

	if (!r) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	o.info = ms_capture_reader__info(r);
	s = ms_session__new(&o, err, sizeof(err));
	t0 = now_s();
	if (ms_capture_reader__replay(r, &s->bus, &st, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	t1 = now_s();
	replayed = st.events;
	ms_session__free(s);
	ms_capture_reader__close(r);
	return t1 - t0;
}

static volatile uint32_t sink;

static double time_crc_scan(const char *path)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	void *m;
	double t0, t1;

	if (fd < 0 || fstat(fd, &st) < 0)
		exit(1);
	m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (m == MAP_FAILED)
		exit(1);
	t0 = now_s();
	sink = ms_crc32c(0, m, (size_t)st.st_size);
	t1 = now_s();
	munmap(m, (size_t)st.st_size);
	close(fd);
	return t1 - t0;
}

int main(void)
{
	const char *dir = getenv("MIGSCOPE_BUILD") ? getenv("MIGSCOPE_BUILD") : "build";
	struct ms_synth_opts so = { .seed = 1, .devices = 4, .events = 10000000 };
	struct ms_session_opts o = { 0 };
	char path[512], err[MS_ERR_LEN];
	struct ms_session *s;
	double t0, t_rec, t_replay, t_scan;
	uint64_t end, events;

	snprintf(path, sizeof(path), "%s/bench/replay-10m.mscap", dir);
	o.record_path = path;
	s = ms_session__new(&o, err, sizeof(err));
	if (!s) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	t0 = now_s();
	end = ms_synth__run(&s->stream, &so);
	if (ms_session__end(s, end, 0, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	t_rec = now_s() - t0;
	events = s->stats.total;
	ms_session__free(s);

	t_replay = best_of(3, time_replay, path);
	t_scan = best_of(3, time_crc_scan, path);
	printf("BENCH replay_mevents_per_s %.1f Mevents/s baseline=%.1f ratio=%.2f "
	       "(baseline: CRC-32C scan of the same file; %llu records)\n",
	       (double)replayed / t_replay / 1e6, (double)replayed / t_scan / 1e6,
	       t_scan / t_replay, (unsigned long long)replayed);
	printf("BENCH record_mevents_per_s %.1f Mevents/s (synth generation + capture writer, "
	       "%llu records)\n",
	       (double)events / t_rec / 1e6, (unsigned long long)events);
	unlink(path);
	return 0;
}
