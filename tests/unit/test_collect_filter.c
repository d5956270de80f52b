// SPDX-License-Identifier: GPL-2.0-only
/*
 * The in-kernel device filter (bpf/devs.bpf.h) in the real kernel: device
 * names of every length, at odd addresses and against an unmapped page,
 * renamed devices and a full table, each read every way the programs can
 * read a name (MS_BPF_NAME_*: plain fault-handled loads where the kernel
 * allows them, helper calls otherwise; 0 is the agent's own choice).  The DMA unmap program is the
 * probe: a watched device's unmap is a write record with the device's id, any other is nothing.
 */
#include <stdio.h>

#include "collect_fx.h"

#define MAX_NAMES 70

/* Watch names[0..n-1], reading names as reads says (0: the fastest); 0, or 1 after tu_skip. */
static int ffx_open(struct fx *f, const char *const *names, int n, int reads, uint32_t *ids)
{
	struct ms_collect_opts o = { .groups = MS_COLLECT_DMA, .name_reads = reads };

	return fx_open_names(f, &o, names, n, ids);
}

/* An unmap FROM_DEVICE of kernel device dev at iova. */
static void unmap(struct fx *f, uint64_t dev, uint64_t iova)
{
	fx_run(f, "dma_unmap_phys", dev, iova, 0x1000, MS_DMA_FROM_DEVICE, 0);
}

/* The device the write record at iova names, or -1 when there is none. */
static int64_t writer_of(struct fx *f, uint64_t iova)
{
	int64_t dev = -1;

	for (size_t i = 0; i < f->rec.count; i++) {
		const struct ms_ev_dma_write *w = (const void *)tu_recorder__get(&f->rec, i);

		if (w->hdr.type != MS_EV_DMA_WRITE || w->iova != iova)
			continue;
		assert_int_equal(dev, -1); /* one record per event */
		dev = w->hdr.dev;
	}
	return dev;
}

/* "abcd..." of len characters, then c */
static void name_of(char *buf, size_t len, char c)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)('a' + i % 26);
	buf[len] = c;
	buf[len + 1] = '\0';
}

/*
 * Names of 1 to 47 characters are matched whole, the multiples of 8 too (the
 * word after them reads as zero, as a word that faulted would); a longer
 * name is never cut to a watched one, nor is a prefix or a near miss taken.
 */
static void names_of_every_length_up_to_47_are_matched_exactly(void **state)
{
	static const size_t lens[] = { 1, 7, 8, 9, 15, 16, 24, 40, 47 };
	enum { N = sizeof(lens) / sizeof(lens[0]) };
	char names[N][64], longer[64], near[64], prefix[64];
	const char *watch[N];

	for (int i = 0; i < N; i++) {
		name_of(names[i], lens[i] - 1, (char)('0' + i));
		watch[i] = names[i];
	}
	name_of(longer, 47, 'x'); /* names[N-1] and one character more: 48 */
	memcpy(longer, names[N - 1], 47);
	snprintf(near, sizeof(near), "%s", names[N - 1]);
	near[46] = 'Z';
	snprintf(prefix, sizeof(prefix), "%.7s", names[2]);
	for (int reads = 0; reads <= MS_BPF_NAME_DIRECT; reads++) {
		const char *others[] = { longer, near, prefix, "" };
		struct fx f;
		uint32_t id[MAX_NAMES];
		uint64_t none, bad_name;

		if (ffx_open(&f, watch, N, reads, id))
			return;
		for (int i = 0; i < N; i++)
			unmap(&f, kmem_device(&f.k, names[i], -1), 0x10000 * (uint64_t)(i + 1));
		for (int i = 0; i < 4; i++)
			unmap(&f, kmem_device(&f.k, others[i], -1), 0x1000000 * (uint64_t)(i + 1));
		none = kmem_device(&f.k, "x", -1);
		bad_name = kmem_device(&f.k, "x", -1);
		assert_int_equal(kmem_set_name(&f.k, none, 0), 0);
		assert_int_equal(kmem_set_name(&f.k, bad_name, 0xdead000), 0);
		unmap(&f, none, 0x5000000);
		unmap(&f, bad_name, 0x6000000);
		unmap(&f, 0xdead000, 0x7000000); /* the device itself unreadable */
		assert_int_equal(ms_collect__poll(f.c), N);
		for (int i = 0; i < N; i++)
			assert_int_equal(writer_of(&f, 0x10000 * (uint64_t)(i + 1)), id[i]);
		assert_int_equal(fx_count(&f, MS_EV_LOSS), 0);
		fx_close(&f);
	}
}

/*
 * Names the kernel did not allocate (a module's constant string) may start
 * anywhere and end just before a page that is not mapped; the word that
 * reaches into that page cannot be read, and the name is still read whole.
 */
static void names_at_odd_addresses_and_before_an_unmapped_page_are_read_whole(void **state)
{
	const char *watch[] = { FX_DEV_NAME, "platform-dma-engine", "sixteen-chars-xy" };

	for (int reads = 0; reads <= MS_BPF_NAME_DIRECT; reads++) {
		struct fx f;
		uint32_t id[MAX_NAMES];
		uint64_t dev, iova = 0x100000;
		int records = 0;

		if (ffx_open(&f, watch, 3, reads, id))
			return;
		for (size_t m = 0; m < 8; m++, iova += 0x1000, records++) {
			dev = kmem_device(&f.k, "placeholder", -1);
			assert_int_equal(
			    kmem_set_name(&f.k, dev, kmem_str_misaligned(&f.k, FX_DEV_NAME, m)), 0);
			unmap(&f, dev, iova);
			assert_int_equal(ms_collect__poll(f.c), 1);
			assert_int_equal(writer_of(&f, iova), id[0]);
		}
		for (int i = 1; i < 3; i++, iova += 0x1000, records++) {
			uint64_t name = kmem_str_at_page_end(&f.k, watch[i]);

			assert_true(name);
			dev = kmem_device(&f.k, "placeholder", -1);
			assert_int_equal(kmem_set_name(&f.k, dev, name), 0);
			unmap(&f, dev, iova);
			assert_int_equal(ms_collect__poll(f.c), 1);
			assert_int_equal(writer_of(&f, iova), id[i]);
		}
		assert_int_equal(fx_count(&f, MS_EV_DMA_WRITE), records);
		fx_close(&f);
	}
}

/*
 * Nothing is remembered per device: a device renamed, or freed and another
 * allocated at its address with its name's memory reused for another name,
 * is filtered by the name it has at that event.
 */
static void renamed_or_reused_device_is_filtered_by_the_name_it_has_now(void **state)
{
	const char *watch[] = { FX_DEV_NAME, "0000:3b:00.3" };

	for (int reads = 0; reads <= MS_BPF_NAME_DIRECT; reads++) {
		struct fx f;
		uint32_t id[MAX_NAMES];
		uint64_t dev, other;
		char *name;

		if (ffx_open(&f, watch, 2, reads, id))
			return;
		dev = kmem_device(&f.k, FX_DEV_NAME, -1);
		other = kmem_str(&f.k, FX_OTHER_NAME);
		unmap(&f, dev, 0x1000);
		assert_int_equal(kmem_set_name(&f.k, dev, other), 0); /* renamed: unwatched */
		unmap(&f, dev, 0x2000);
		assert_int_equal(kmem_set_name(&f.k, dev, kmem_str(&f.k, watch[1])), 0);
		unmap(&f, dev, 0x3000);
		/* the unwatched name's memory now holds a watched name, same pointer */
		assert_int_equal(kmem_set_name(&f.k, dev, other), 0);
		name = (char *)&f.k.skel->bss->kmem[other - f.k.base];
		memcpy(name, watch[0], strlen(watch[0]) + 1);
		unmap(&f, dev, 0x4000);
		memcpy(name, FX_OTHER_NAME, strlen(FX_OTHER_NAME) + 1);
		unmap(&f, dev, 0x5000);
		assert_int_equal(ms_collect__poll(f.c), 3);
		assert_int_equal(writer_of(&f, 0x1000), id[0]);
		assert_int_equal(writer_of(&f, 0x2000), -1);
		assert_int_equal(writer_of(&f, 0x3000), id[1]);
		assert_int_equal(writer_of(&f, 0x4000), id[0]);
		assert_int_equal(writer_of(&f, 0x5000), -1);
		fx_close(&f);
	}
}

/* As many devices as the filter takes, each found at its own slot with its own id. */
static void sixty_four_watched_devices_are_each_found_and_a_65th_refused(void **state)
{
	char names[MAX_NAMES][16];
	const char *watch[MAX_NAMES];
	struct ms_session_opts so = { 0 };
	struct ms_collect_opts o = { .no_attach = 1, .groups = MS_COLLECT_DMA };
	char err[MS_ERR_LEN];
	struct ms_session *s;
	struct fx f;
	uint32_t id[MAX_NAMES];

	for (int i = 0; i < MAX_NAMES; i++) {
		snprintf(names[i], sizeof(names[i]), "0000:%02x:00.%d", i / 8, i % 8);
		watch[i] = names[i];
	}
	if (ffx_open(&f, watch, MS_BPF_MAX_DEVS, 0, id))
		return;
	for (int i = 0; i < MAX_NAMES; i++)
		unmap(&f, kmem_device(&f.k, names[i], -1), 0x1000 * (uint64_t)(i + 1));
	assert_int_equal(ms_collect__poll(f.c), MS_BPF_MAX_DEVS);
	for (int i = 0; i < MAX_NAMES; i++)
		assert_int_equal(writer_of(&f, 0x1000 * (uint64_t)(i + 1)),
				 i < MS_BPF_MAX_DEVS ? (int64_t)id[i] : -1);
	fx_close(&f);

	s = ms_session__new(&so, err, sizeof(err));
	for (int i = 0; i <= MS_BPF_MAX_DEVS; i++)
		ms_stream__add_device(&s->stream, 1, MS_DEV_KIND_HOST, MS_ROLE_SOURCE, 0,
				      MS_DEV_NONE, names[i]);
	assert_null(ms_collect__open(&s->stream, &o, err, sizeof(err)));
	assert_non_null(strstr(err, "more than 64 host devices"));
	ms_session__free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(names_of_every_length_up_to_47_are_matched_exactly),
		cmocka_unit_test(names_at_odd_addresses_and_before_an_unmapped_page_are_read_whole),
		cmocka_unit_test(renamed_or_reused_device_is_filtered_by_the_name_it_has_now),
		cmocka_unit_test(sixty_four_watched_devices_are_each_found_and_a_65th_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
