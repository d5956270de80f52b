// SPDX-License-Identifier: GPL-2.0-only
/*
 * vm_iommufd: VM check 3's probe.  In a kernel with IOMMUFD_TEST (the VM
 * lane's 6.12), it builds what a VMM builds for IOMMU dirty tracking, on
 * the test mock instead of hardware:
 *
 *   /dev/iommu, an IOAS, a mock device (IOMMU_TEST_OP_MOCK_DOMAIN), a HWPT
 *   allocated with IOMMU_HWPT_ALLOC_DIRTY_TRACKING that the device is moved
 *   to, and a buffer mapped at MOCK_APERTURE_START (IOMMU_IOAS_MAP);
 *
 * then records a session in which migscope's iommufd source tracks the
 * mapping while the test dirties known IOPTEs (IOMMU_TEST_OP_DIRTY, the
 * mock's 2 KiB pages) and the source harvests, round after round.  With
 * --bpf the kernel collectors run too: the source's reads hook claims the
 * thread for the device and drains the ring before each harvest closes its
 * window, so the iova_bitmap_set() fentry's records of the same reads are
 * the device's, in the same window.
 * The pages dirtied, at 4 KiB, go to --expect as "0xIOVA LENGTH" lines, in
 * the form `migscope bitmap --ranges --json` lists them; check_03_iommufd.sh
 * compares the two.
 *
 *   vm_iommufd --record CAP --expect FILE [--page-size 2048|4096] [--bpf]
 *              [--ring-bytes N] [--pattern sparse|many] [--observe]
 *
 * --observe reads as an observer (MS_IOMMUFD_OBSERVE) of a HWPT whose
 * tracking nobody enabled: the real kernel refuses every read (EINVAL from
 * the mock's read_and_clear_dirty), and the source must widen, not go short.
 *
 * The test-op structures are written here from the 6.12 uAPI
 * (drivers/iommu/iommufd/iommufd_test.h): the selftest in Debian's tree does
 * not build against its own headers.  Exit 0, 1 with one line on what
 * failed, 77 when the kernel has no iommufd or no IOMMUFD_TEST.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <dirent.h>

#include <migscope/collect.h>
#include <migscope/iommufd.h>
#include <migscope/iommufd_compat.h>
#include <migscope/session.h>

/* --- IOMMUFD_TEST's uAPI (6.12) ------------------------------------------ */

#define IOMMU_TEST_OP_MOCK_DOMAIN	  2
#define IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE 10
#define IOMMU_TEST_OP_DIRTY		  13
#define MOCK_APERTURE_START		  (1ull << 24)

struct iommu_test_cmd {
	__u32 size;
	__u32 op;
	__u32 id;
	__u32 __reserved;
	union {
		struct {
			__u32 out_stdev_id;
			__u32 out_hwpt_id;
			__u32 out_idev_id;
		} mock_domain;
		struct {
			__u32 pt_id;
		} mock_domain_replace;
		struct {
			__u32 flags;
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 page_size;
			__aligned_u64 uptr;
			__aligned_u64 out_nr_dirty;
		} dirty;
		/* the largest member of the kernel's union is 'dirty' (48 bytes) */
		__aligned_u64 union_size[6];
	};
	__u32 last;
};
_Static_assert(offsetof(struct iommu_test_cmd, last) == 64, "iommu_test_cmd layout");
#define IOMMU_TEST_CMD _IO(IOMMUFD_TYPE, 0x80 + 32)

/* --- the probe ------------------------------------------------------------ */

#define BUF_LEN	   (4ull << 20) /* 2048 mock IOPTEs */
#define TRACK_PAGE 4096ull

static int fd = -1;
static uint64_t mock_page;

static int die(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int die(int status, const char *fmt, ...)
{
	va_list ap;

	printf("vm_iommufd: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	exit(status);
}

static void test_cmd(struct iommu_test_cmd *c, const char *what)
{
	c->size = sizeof(*c);
	if (ioctl(fd, IOMMU_TEST_CMD, c) < 0) {
		if (errno == ENOTTY)
			die(77, "this kernel has no IOMMUFD_TEST (IOMMU_TEST_CMD: %s)",
			    strerror(errno));
		die(1, "failed to %s: %s", what, strerror(errno));
	}
}

/* Dirty the mock IOPTEs at these indexes (from the start of the mapping). */
static uint64_t dirty_iopte(uint32_t hwpt, const uint32_t *idx, size_t n)
{
	uint64_t bits = BUF_LEN / mock_page, *bm = calloc(bits / 64, 8);
	struct iommu_test_cmd c = { .op = IOMMU_TEST_OP_DIRTY, .id = hwpt };

	if (!bm)
		die(1, "failed to allocate a bitmap: %s", strerror(ENOMEM));
	for (size_t i = 0; i < n; i++)
		bm[idx[i] / 64] |= 1ull << (idx[i] % 64);
	c.dirty.iova = MOCK_APERTURE_START;
	c.dirty.length = BUF_LEN;
	c.dirty.page_size = mock_page;
	c.dirty.uptr = (uintptr_t)bm;
	test_cmd(&c, "dirty IOPTEs (IOMMU_TEST_OP_DIRTY)");
	free(bm);
	return c.dirty.out_nr_dirty;
}

/* The mock device's kernel name: the one entry of /sys/bus/iommufd_mock/devices. */
static void mock_name(char *name, size_t len)
{
	DIR *d = opendir("/sys/bus/iommufd_mock/devices");
	struct dirent *e;

	snprintf(name, len, "iommufd_mock");
	if (!d)
		return;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			snprintf(name, len, "%s", e->d_name);
	closedir(d);
}

/*
 * Around each harvest's reads: the thread is the device's while it reads,
 * and the fentry's records of the reads are published before the harvest
 * closes their window.
 */
static int hook_failed;

static void reads_hook(void *ctx, uint32_t dev, bool end)
{
	struct ms_collect *col = ctx;

	if (!end) {
		/* what the ring holds from before (the IOAS_MAP's iommu:map records) goes first */
		hook_failed |= ms_collect__poll(col) < 0;
		hook_failed |= ms_collect__claim_thread(col, dev) != 0;
		return;
	}
	hook_failed |= ms_collect__claim_thread(col, MS_DEV_NONE) != 0;
	hook_failed |= ms_collect__poll(col) < 0;
}

static void usage(void)
{
	printf("Usage: vm_iommufd --record CAP --expect FILE [--page-size 2048|4096] [--bpf]\n"
	       "                  [--ring-bytes N] [--pattern sparse|many] [--observe]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "record", required_argument, NULL, 'r' },
		{ "expect", required_argument, NULL, 'e' },
		{ "page-size", required_argument, NULL, 'p' },
		{ "bpf", no_argument, NULL, 'b' },
		{ "ring-bytes", required_argument, NULL, 'R' },
		{ "pattern", required_argument, NULL, 'P' },
		{ "observe", no_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *record = NULL, *expect = NULL, *pattern = "sparse";
	uint64_t page = 0, ring = 0;
	int bpf = 0, observe = 0, opt;
	struct ms_session_opts so = { 0 };
	struct ms_collect_opts co = { 0 };
	struct ms_collect *col = NULL;
	struct ms_iommufd *src;
	struct ms_session *s;
	struct iommu_ioas_alloc ioas = { .size = sizeof(ioas) };
	struct ms_iommu_hwpt_alloc ha = { .size = sizeof(ha) };
	struct iommu_test_cmd md = { .op = IOMMU_TEST_OP_MOCK_DOMAIN };
	struct iommu_test_cmd rp = { .op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE };
	struct iommu_ioas_map map = { .size = sizeof(map) };
	struct ms_range range = { MOCK_APERTURE_START, BUF_LEN };
	uint8_t truth[BUF_LEN / TRACK_PAGE] = { 0 };
	uint32_t rounds[3][256], nr[3] = { 0 }, nrounds;
	char name[300], err[512];
	uint32_t dev;
	void *buf;
	FILE *f;

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'r':
			record = optarg;
			break;
		case 'e':
			expect = optarg;
			break;
		case 'p':
			page = strtoull(optarg, NULL, 0);
			break;
		case 'b':
			bpf = 1;
			break;
		case 'R':
			ring = strtoull(optarg, NULL, 0);
			break;
		case 'o':
			observe = 1;
			break;
		case 'P':
			pattern = optarg;
			break;
		case 'h':
			usage();
			return 0;
		default:
			usage();
			return 2;
		}
	}
	if (!record || !expect || optind != argc) {
		usage();
		return 2;
	}
	mock_page = (uint64_t)sysconf(_SC_PAGESIZE) / 2; /* MOCK_IO_PAGE_SIZE */
	if (!page)
		page = mock_page;

	/* which IOPTEs each round dirties */
	if (!strcmp(pattern, "sparse")) {
		/* both halves of one page, one half of others, a run across pages, the last */
		static const uint32_t r0[] = { 0, 1, 5, 100, 101, 102, 103, 2047 };
		static const uint32_t r1[] = { 3, 5, 200, 1001, 1500 };

		memcpy(rounds[0], r0, sizeof(r0));
		nr[0] = sizeof(r0) / sizeof(r0[0]);
		memcpy(rounds[1], r1, sizeof(r1));
		nr[1] = sizeof(r1) / sizeof(r1[0]);
		nrounds = 2;
	} else if (!strcmp(pattern, "many")) {
		/* 256 IOPTEs on 256 separate pages of the first MiB: one record each */
		for (uint32_t i = 0; i < 256; i++)
			rounds[0][i] = 2 * i;
		nr[0] = 256;
		nrounds = 1;
	} else {
		return die(2, "--pattern: '%s' is not sparse or many", pattern);
	}

	fd = open("/dev/iommu", O_RDWR);
	if (fd < 0)
		return die(77, "no /dev/iommu (%s): this kernel has no IOMMUFD", strerror(errno));
	if (ioctl(fd, IOMMU_IOAS_ALLOC, &ioas) < 0)
		return die(1, "failed to allocate an IOAS: %s", strerror(errno));
	md.id = ioas.out_ioas_id;
	test_cmd(&md, "create a mock device (IOMMU_TEST_OP_MOCK_DOMAIN)");
	mock_name(name, sizeof(name));

	so.record_path = record;
	so.argc = argc;
	so.argv = argv;
	s = ms_session__new(&so, err, sizeof(err));
	if (!s)
		return die(1, "%s", err);
	ms_stream__begin(&s->stream, ms_now_ns(), MS_SESSION_WATCH, 0, 0, TRACK_PAGE);
	dev = ms_stream__add_device(&s->stream, ms_now_ns(), MS_DEV_KIND_HOST, MS_ROLE_SOURCE, 0,
				    MS_DEV_NONE, name);
	if (bpf) {
		co.ringbuf_bytes = (uint32_t)ring;
		col = ms_collect__open(&s->stream, &co, err, sizeof(err));
		if (!col)
			return die(1, "failed to open the BPF collectors: %s", err);
		{
			const struct ms_collector_status *st;
			size_t n = ms_collect__status(col, &st);
			int seen = 0;

			for (size_t i = 0; i < n; i++)
				if (!strcmp(st[i].name, "iova_bitmap_set")) {
					seen = 1;
					if (st[i].state != MS_COLLECTOR_ATTACHED)
						return die(1, "fentry/iova_bitmap_set is %s: %s",
							   ms_collector_state_name(st[i].state),
							   st[i].reason);
				}
			if (!seen)
				return die(1, "no iova_bitmap_set collector");
		}
	}

	ha.flags = MS_IOMMU_HWPT_ALLOC_DIRTY_TRACKING;
	ha.dev_id = md.mock_domain.out_idev_id;
	ha.pt_id = ioas.out_ioas_id;
	if (ioctl(fd, MS_IOMMU_HWPT_ALLOC, &ha) < 0)
		return die(1, "failed to allocate a HWPT with dirty tracking: %s", strerror(errno));
	rp.id = md.mock_domain.out_stdev_id;
	rp.mock_domain_replace.pt_id = ha.out_hwpt_id;
	test_cmd(&rp, "move the mock device to the HWPT (IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE)");
	buf = mmap(NULL, BUF_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return die(1, "failed to allocate the buffer: %s", strerror(errno));
	memset(buf, 0x5a, BUF_LEN);
	map.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE;
	map.ioas_id = ioas.out_ioas_id;
	map.user_va = (uintptr_t)buf;
	map.length = BUF_LEN;
	map.iova = MOCK_APERTURE_START;
	if (ioctl(fd, IOMMU_IOAS_MAP, &map) < 0)
		return die(1, "failed to map the buffer (IOMMU_IOAS_MAP): %s", strerror(errno));
	printf("  %s: IOAS %u, HWPT %u with dirty tracking, %llu KiB mapped at 0x%llx, "
	       "IOPTE %llu B, bitmap page %llu B\n",
	       name, ioas.out_ioas_id, ha.out_hwpt_id, BUF_LEN >> 10,
	       (unsigned long long)MOCK_APERTURE_START, (unsigned long long)mock_page,
	       (unsigned long long)page);

	{
		struct ms_iommufd_opts o = {
			.fd = fd,
			.hwpt_id = ha.out_hwpt_id,
			.ranges = &range,
			.nr_ranges = 1,
			.page_size = page,
			.flags = observe ? MS_IOMMUFD_OBSERVE : 0,
			.reads_hook = col ? reads_hook : NULL,
			.hook_ctx = col,
		};

		src = ms_iommufd__open(&s->stream, dev, &o, err, sizeof(err));
		if (!src)
			return die(1, "%s", err);
	}
	if (ms_iommufd__start(src))
		return die(1, "%s", ms_iommufd__err(src));
	for (uint32_t r = 0; r < nrounds; r++) {
		/* the mock dirties only while tracking (IOMMU_TEST_OP_DIRTY is EINVAL else) */
		uint64_t got = observe ? nr[r] : dirty_iopte(ha.out_hwpt_id, rounds[r], nr[r]);
		int runs;

		if (got != nr[r])
			return die(1, "round %u: the mock dirtied %llu IOPTEs of %u", r,
				   (unsigned long long)got, nr[r]);
		for (uint32_t i = 0; i < nr[r] && !observe; i++)
			truth[rounds[r][i] * mock_page / TRACK_PAGE] = 1;
		runs = ms_iommufd__harvest(src);
		if (runs < 0 && observe) {
			/* refused: the harvest published a loss over the range instead */
			printf("  round %u: %s\n", r, ms_iommufd__err(src));
			continue;
		}
		if (runs < 0)
			return die(1, "%s", ms_iommufd__err(src));
		if (hook_failed)
			return die(1, "failed to claim the thread or read the BPF ring buffer");
		printf("  round %u: %u IOPTEs dirtied, %d dirty runs read\n", r, nr[r], runs);
	}
	if (ms_iommufd__stop(src) && !observe)
		return die(1, "%s", ms_iommufd__err(src));
	ms_iommufd__close(src);
	ms_collect__close(col);
	if (ms_session__end(s, ms_now_ns(), 0, err, sizeof(err)))
		return die(1, "%s", err);
	ms_session__free(s);

	f = fopen(expect, "w");
	if (!f)
		return die(1, "failed to create %s: %s", expect, strerror(errno));
	for (uint64_t p = 0; p < BUF_LEN / TRACK_PAGE;) {
		uint64_t q = p;

		if (!truth[p]) {
			p++;
			continue;
		}
		while (q < BUF_LEN / TRACK_PAGE && truth[q])
			q++;
		fprintf(f, "0x%llx %llu\n",
			(unsigned long long)(MOCK_APERTURE_START + p * TRACK_PAGE),
			(unsigned long long)((q - p) * TRACK_PAGE));
		p = q;
	}
	fclose(f);
	printf("vm_iommufd: %s recorded\n", record);
	return 0;
}
