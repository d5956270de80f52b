// SPDX-License-Identifier: GPL-2.0-only
/* The .note.stapsdt reader: valid notes, foreign notes, and broken ones. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <migscope/stapsdt.h>

#include "testutil.h"

/* Append one ELF note to buf at *off. */
static void put_note(unsigned char *buf, size_t *off, const char *owner, uint32_t type,
		     const void *desc, uint32_t descsz)
{
	uint32_t namesz = (uint32_t)strlen(owner) + 1;

	memcpy(buf + *off, &namesz, 4);
	memcpy(buf + *off + 4, &descsz, 4);
	memcpy(buf + *off + 8, &type, 4);
	*off += 12;
	memset(buf + *off, 0, (namesz + 3) & ~3u);
	memcpy(buf + *off, owner, namesz);
	*off += (namesz + 3) & ~3u;
	memset(buf + *off, 0, (descsz + 3) & ~3u);
	memcpy(buf + *off, desc, descsz);
	*off += (descsz + 3) & ~3u;
}

/* A stapsdt descriptor: pc, base, semaphore (asz bytes each), then three strings. */
static uint32_t sdt_desc(unsigned char *d, size_t asz, uint64_t pc, uint64_t sem,
			 const char *provider, const char *name, const char *args)
{
	uint64_t addr[3] = { pc, 0x4000, sem };
	size_t off = 0;

	for (int i = 0; i < 3; i++, off += asz)
		memcpy(d + off, &addr[i], asz); /* little-endian: the low bytes first */
	memcpy(d + off, provider, strlen(provider) + 1);
	off += strlen(provider) + 1;
	memcpy(d + off, name, strlen(name) + 1);
	off += strlen(name) + 1;
	memcpy(d + off, args, strlen(args) + 1);
	off += strlen(args) + 1;
	return (uint32_t)off;
}

struct seen {
	int n;
	struct ms_stapsdt_probe p[4];
	char names[4][64];
	int stop_at;
};

static int collect(void *ctx, const struct ms_stapsdt_probe *p)
{
	struct seen *s = ctx;

	if (s->n < 4) {
		s->p[s->n] = *p;
		snprintf(s->names[s->n], sizeof(s->names[0]), "%s:%s [%s]", p->provider, p->name,
			 p->args);
	}
	return ++s->n == s->stop_at ? 42 : 0;
}

static void probes_and_their_addresses_are_read_in_both_elf_classes(void **state)
{
	unsigned char buf[512], d[128];
	size_t off = 0;
	struct seen s = { 0 };

	put_note(buf, &off, "stapsdt", 3, d,
		 sdt_desc(d, 8, 0x11a4, 0x6010, "qemu", "vfio_save_iterate", "8@%rdi -8@%rax"));
	put_note(buf, &off, "GNU", 1, "\1\2\3\4", 4); /* not ours: skipped */
	put_note(buf, &off, "stapsdt", 3, d, sdt_desc(d, 8, 0x11b0, 0, "qemu", "x", ""));
	assert_int_equal(ms_stapsdt__parse(buf, off, 1, collect, &s), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.p[0].pc, 0x11a4);
	assert_int_equal(s.p[0].base, 0x4000);
	assert_int_equal(s.p[0].semaphore, 0x6010);
	assert_string_equal(s.names[0], "qemu:vfio_save_iterate [8@%rdi -8@%rax]");
	assert_string_equal(s.names[1], "qemu:x []");

	memset(&s, 0, sizeof(s));
	off = 0;
	put_note(buf, &off, "stapsdt", 3, d,
		 sdt_desc(d, 4, 0x8048000, 0x80a0, "qemu", "y", "4@%eax"));
	assert_int_equal(ms_stapsdt__parse(buf, off, 0, collect, &s), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.p[0].pc, 0x8048000);
	assert_int_equal(s.p[0].semaphore, 0x80a0);
	assert_string_equal(s.names[0], "qemu:y [4@%eax]");
}

static void a_callback_stops_the_walk_with_its_value(void **state)
{
	unsigned char buf[512], d[128];
	size_t off = 0;
	struct seen s = { .stop_at = 1 };

	for (int i = 0; i < 3; i++)
		put_note(buf, &off, "stapsdt", 3, d, sdt_desc(d, 8, 1, 0, "qemu", "p", ""));
	assert_int_equal(ms_stapsdt__parse(buf, off, 1, collect, &s), 42);
	assert_int_equal(s.n, 1);
}

static void broken_notes_are_rejected_not_read_past(void **state)
{
	unsigned char buf[512], d[128];
	size_t off = 0, len;
	uint32_t dl;
	struct seen s = { 0 };

	dl = sdt_desc(d, 8, 1, 0, "qemu", "p", "");
	put_note(buf, &off, "stapsdt", 3, d, dl);
	len = off;
	/* every truncation of a valid note */
	for (size_t cut = 1; cut < len; cut++)
		assert_int_equal(ms_stapsdt__parse(buf, cut, 1, collect, &s), -EINVAL);
	/* strings not terminated inside the descriptor */
	off = 0;
	put_note(buf, &off, "stapsdt", 3, d, dl - 1);
	assert_int_equal(ms_stapsdt__parse(buf, off, 1, collect, &s), -EINVAL);
	/* a descriptor too short for its three addresses */
	off = 0;
	put_note(buf, &off, "stapsdt", 3, d, 20);
	assert_int_equal(ms_stapsdt__parse(buf, off, 1, collect, &s), -EINVAL);
	/* sizes near 2^32 must not wrap */
	off = 0;
	put_note(buf, &off, "stapsdt", 3, d, dl);
	memset(buf + 4, 0xff, 4);
	assert_int_equal(ms_stapsdt__parse(buf, off, 1, collect, &s), -EINVAL);
	memset(buf, 0xff, 4);
	assert_int_equal(ms_stapsdt__parse(buf, off, 1, collect, &s), -EINVAL);
	assert_int_equal(s.n, 0);
	assert_int_equal(ms_stapsdt__parse(buf, 0, 1, collect, &s), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(probes_and_their_addresses_are_read_in_both_elf_classes),
		cmocka_unit_test(a_callback_stops_the_walk_with_its_value),
		cmocka_unit_test(broken_notes_are_rejected_not_read_past),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
