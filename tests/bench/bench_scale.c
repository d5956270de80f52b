// SPDX-License-Identifier: GPL-2.0-only
/*
 * A 4 TiB guest with 64 devices, at scale: `migscope synth --guest 4T
 * --devices 64 --pool 1G` (64M below 10^8 records) streams a capture through a pipe (never a file:
 * 10^9 records are ~40 GB) into `migscope replay -` and `migscope bitmap -`,
 * each its own process, and we take the consumer's peak RSS (ru_maxrss of
 * the reaped child) and its rate.
 *
 *   scale_<cmd>_mev_per_s: records per second of the consumer's own CPU time
 *     (user + system), so a slower producer on the other end of the pipe does
 *     not count against it; the pipeline's wall-clock rate is printed beside
 *     it.  Baseline: `migscope capture check -`, the reader alone (every
 *     chunk's checksum and every record's frame, no consumer), same stream.
 *   scale_<cmd>_peak_rss_mib: the consumer's peak RSS.  Baseline: the same
 *     at a tenth of the records; ratio near 1 is memory bounded by the dirty
 *     set (each device recycles its pool of buffers, dirty through by then,
 *     so the set stops growing), not by the record count.
 *
 * SCALE_RECORDS (default 2e7; "1e9" is the figure in docs/dirty-tracking.md)
 * sets the number of records.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct run {
	double wall_s, cpu_s;
	long maxrss_kib;
};

static void die(const char *what)
{
	fprintf(stderr, "bench_scale: %s: %s\n", what, strerror(errno));
	exit(1);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static pid_t spawn(char *const argv[], int in, int out3)
{
	pid_t pid = fork();

	if (pid < 0)
		die("fork");
	if (!pid) {
		int null = open("/dev/null", O_RDWR);

		if (in >= 0)
			dup2(in, 0);
		dup2(null, 1);
		if (out3 >= 0)
			dup2(out3, 3);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static void reap(pid_t pid, const char *what, struct rusage *ru)
{
	int st;

	if (wait4(pid, &st, 0, ru) != pid)
		die("wait4");
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "bench_scale: %s failed (status 0x%x)\n", what, st);
		exit(1);
	}
}

static const char *pool = "1G";

/* synth ... | migscope <cmd> -: the consumer's figures. */
static struct run pipeline(const char *migscope, const char *cmd, const char *sub,
			   unsigned long long records)
{
	char events[32], *synth[] = { (char *)migscope, "synth", "--guest",  "4T",
				      "--devices",	"64",	 "--pool",   (char *)pool,
				      "--events",	events,	 "--record", "/dev/fd/3",
				      "--quiet",	NULL };
	char *consumer[] = { (char *)migscope, (char *)cmd, (char *)(sub ? sub : "-"),
			     sub ? "-" : NULL, NULL };
	struct rusage ru;
	struct run r;
	pid_t p, c;
	double t0;
	int fd[2];

	snprintf(events, sizeof(events), "%llu", records);
	if (pipe2(fd, O_CLOEXEC))
		die("pipe");
	t0 = now_s();
	p = spawn(synth, -1, fd[1]);
	c = spawn(consumer, fd[0], -1);
	close(fd[0]);
	close(fd[1]);
	reap(c, cmd, &ru);
	r.wall_s = now_s() - t0;
	r.cpu_s = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
		  (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	r.maxrss_kib = ru.ru_maxrss;
	reap(p, "synth", &ru);
	return r;
}

int main(void)
{
	const char *build = getenv("MIGSCOPE_BUILD") ? getenv("MIGSCOPE_BUILD") : "build";
	const char *env = getenv("SCALE_RECORDS");
	unsigned long long n = env ? (unsigned long long)strtod(env, NULL) : 20000000ull;
	static const char *const cmds[] = { "replay", "bitmap" };
	char migscope[512];
	struct run check;

	if (n < 1000)
		n = 1000;
	setvbuf(stdout, NULL, _IOLBF, 0); /* a 10^9 run takes many minutes: each line as it comes */
	/*
	 * The pools must be dirty through at a tenth of the records for the RSS
	 * baseline to hold the same dirty set: 1 GiB a device from 10^8 records
	 * on, 64 MiB below.
	 */
	if (n < 100000000ull)
		pool = "64M";
	snprintf(migscope, sizeof(migscope), "%s/migscope", build);
	if (access(migscope, X_OK))
		die(migscope);
	printf("# scale: synth --guest 4T --devices 64 --pool %s, %llu records through a pipe "
	       "into each\n# command (SCALE_RECORDS; docs/dirty-tracking.md has 1e9); rate: "
	       "records per second of the\n# consumer's CPU, baseline `capture check -` (the "
	       "reader alone); peak RSS (ru_maxrss),\n# baseline the same at a tenth of the "
	       "records (target: bounded by the dirty set)\n",
	       pool, n);
	check = pipeline(migscope, "capture", "check", n);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		struct run big = pipeline(migscope, cmds[i], NULL, n);
		struct run small = pipeline(migscope, cmds[i], NULL, n / 10);

		printf("BENCH scale_%s_mev_per_s %.2f Mev/s baseline=%.2f ratio=%.3f\n", cmds[i],
		       n / big.cpu_s / 1e6, n / check.cpu_s / 1e6, check.cpu_s / big.cpu_s);
		printf("#   pipeline wall clock %.1f s (%.2f Mev/s, synth on the other end)\n",
		       big.wall_s, n / big.wall_s / 1e6);
		printf("BENCH scale_%s_peak_rss_mib %.1f MiB baseline=%.1f ratio=%.2f\n", cmds[i],
		       big.maxrss_kib / 1024.0, small.maxrss_kib / 1024.0,
		       (double)big.maxrss_kib / (double)small.maxrss_kib);
	}
	return 0;
}
