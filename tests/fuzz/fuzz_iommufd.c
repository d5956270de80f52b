// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fuzz the iommufd source against a kernel that answers anything: the
 * request (page size, ranges) and every ioctl's result (an errno, or a
 * bitmap of arbitrary bits, past its end too) come from the input.  Nothing
 * may crash, leak or hit undefined behaviour, and every bit the kernel set
 * inside a read that succeeded is a published page: the session's dirty set
 * holds it.
 *
 * Input: a page-size byte, a range-count byte, 16 bytes per range, then per
 * ioctl one control byte (>= 0xe0: fail with EIO) and, for a read, as many
 * bitmap bytes as the read covers (zero when the input ends).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <migscope/dirty_bitmap.h>
#include <migscope/iommufd.h>
#include <migscope/iommufd_compat.h>
#include <migscope/session.h>

static const uint8_t *in;
static size_t in_len, in_off;
static struct ms_dirty_bitmap truth; /* pages the fake reported in successful reads */

static uint8_t next_byte(void)
{
	return in_off < in_len ? in[in_off++] : 0;
}

static int fake_ioctl(int fd, unsigned long req, void *arg)
{
	if (next_byte() >= 0xe0) {
		errno = EIO;
		return -1;
	}
	if (req == IOMMU_HWPT_GET_DIRTY_BITMAP) {
		struct iommu_hwpt_get_dirty_bitmap *g = arg;
		uint8_t *bm = (uint8_t *)(uintptr_t)g->data;
		uint64_t n = g->length / g->page_size, bytes = (n + 7) / 8;
		int past = 0;

		/* the guard word after the bitmap is the source's: it may be written */
		for (uint64_t i = 0; i < (n + 63) / 64 * 8 + 8; i++)
			bm[i] = i < bytes + 8 ? next_byte() : 0;
		for (uint64_t i = n; i < ((n + 63) / 64 + 1) * 64; i++)
			past |= bm[i / 8] >> (i % 8) & 1;
		if (!past)
			for (uint64_t i = 0; i < n; i++)
				if (bm[i / 8] >> (i % 8) & 1)
					ms_dirty_bitmap__set_range(&truth,
								   g->iova + i * g->page_size,
								   g->page_size, NULL, 0);
	}
	return 0;
}

static const struct ms_iommufd_sys fake_sys = { .ioctl = fake_ioctl };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ms_session_opts so = { 0 };
	struct ms_range r[4];
	struct ms_dirty_bitmap got;
	struct ms_iommufd_opts o = { .fd = 3, .hwpt_id = 1, .ranges = r, .sys = &fake_sys };
	struct ms_iommufd *src;
	struct ms_session *s;
	char err[512];
	uint32_t dev;

	if (size < 2)
		return 0;
	in = data;
	in_len = size;
	in_off = 2;
	o.page_size = 512ull << (data[0] % 8); /* 512 B to 64 KiB */
	o.nr_ranges = data[1] % 5;
	for (uint32_t i = 0; i < o.nr_ranges; i++) {
		uint64_t v[2] = { 0, 0 };

		for (int k = 0; k < 16; k++)
			((uint8_t *)v)[k] = next_byte();
		/* at most 64 MiB a range, so a run stays quick */
		r[i].iova = v[0] & ~0xfffull & ((1ull << 48) - 1);
		r[i].len = (v[1] & ((64ull << 20) - 1) & ~0xfffull) + (v[1] >> 63 ? 0 : 0x1000);
	}
	s = ms_session__new(&so, err, sizeof(err));
	if (!s)
		return 0;
	ms_tracker__keep_session_pages(s->tracker);
	dev = ms_stream__add_device(&s->stream, 1, MS_DEV_KIND_HOST, MS_ROLE_SOURCE, 0, MS_DEV_NONE,
				    "fz");
	ms_dirty_bitmap__init(&truth, 4096, NULL, 0);
	src = ms_iommufd__open(&s->stream, dev, &o, err, sizeof(err));
	if (src && !ms_iommufd__start(src)) {
		for (int k = 0; k < 3 && in_off < in_len; k++)
			ms_iommufd__harvest(src);
		ms_iommufd__stop(src);
		ms_dirty_bitmap__init(&got, 4096, NULL, 0);
		ms_tracker__session_pages(s->tracker, dev, &got);
		/* rule one: nothing the kernel reported is missing */
		if (ms_dirty_bitmap__count_andnot(&truth, &got, 0, UINT64_MAX >> 12, NULL, 0, NULL))
			abort();
		ms_dirty_bitmap__free(&got);
	}
	ms_iommufd__close(src);
	ms_dirty_bitmap__free(&truth);
	ms_session__free(s);
	return 0;
}
