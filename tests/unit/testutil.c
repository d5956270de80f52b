// SPDX-License-Identifier: GPL-2.0-only
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "testutil.h"

char *tu_tmp_path(const char *suffix)
{
	static unsigned int seq;
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char *p = malloc(512);

	assert_non_null(p);
	snprintf(p, 512, "%s/migscope-test-%d-%u%s", dir, (int)getpid(), seq++, suffix);
	unlink(p);
	return p;
}

size_t tu_read_file(const char *path, unsigned char **out)
{
	FILE *f = fopen(path, "rb");
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	*out = malloc((size_t)n + 1);
	assert_non_null(*out);
	assert_int_equal(fread(*out, 1, (size_t)n, f), (size_t)n);
	/* a text file can be searched as a string */
	(*out)[n] = 0;
	fclose(f);
	return (size_t)n;
}

void tu_write_file(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

void tu_recorder__on_event(void *ctx, const struct ms_event_hdr *ev)
{
	struct tu_recorder *r = ctx;
	size_t need = (sizeof(*ev) + ev->len + 7) & ~(size_t)7; /* keep records aligned */

	if (r->len + need > r->cap) {
		r->cap = (r->len + need) * 2;
		r->buf = realloc(r->buf, r->cap);
		assert_non_null(r->buf);
	}
	memset(r->buf + r->len, 0, need);
	memcpy(r->buf + r->len, ev, sizeof(*ev) + ev->len);
	r->len += need;
	r->count++;
}

const struct ms_event_hdr *tu_recorder__get(const struct tu_recorder *r, size_t i)
{
	size_t off = 0;

	for (; i && off < r->len; i--)
		off += (sizeof(struct ms_event_hdr) +
			((const struct ms_event_hdr *)(r->buf + off))->len + 7) &
		       ~(size_t)7;
	assert_true(off < r->len);
	return (const void *)(r->buf + off);
}

void tu_recorder__free(struct tu_recorder *r)
{
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

const struct ms_event_hdr *tu_recorder__next(const struct tu_recorder *r, size_t *off)
{
	const struct ms_event_hdr *h;

	if (*off >= r->len)
		return NULL;
	h = (const void *)(r->buf + *off);
	*off += (sizeof(*h) + h->len + 7) & ~(size_t)7; /* kept 8-byte aligned */
	return h;
}

static bool matches(const struct ms_event_hdr *h, unsigned int type, uint32_t dev)
{
	return h->type == type && (dev == MS_DEV_NONE || h->dev == dev);
}

size_t tu_recorder__count_dev(const struct tu_recorder *r, unsigned int type, uint32_t dev)
{
	const struct ms_event_hdr *h;
	size_t n = 0, off = 0;

	while ((h = tu_recorder__next(r, &off)))
		n += matches(h, type, dev);
	return n;
}

const void *tu_recorder__find(const struct tu_recorder *r, unsigned int type, uint32_t dev,
			      size_t k)
{
	const struct ms_event_hdr *h;
	size_t off = 0;

	while ((h = tu_recorder__next(r, &off)))
		if (matches(h, type, dev) && !k--)
			return h;
	return NULL;
}

const void *tu_recorder__nth_dev(const struct tu_recorder *r, unsigned int type, uint32_t dev,
				 size_t k)
{
	const void *h = tu_recorder__find(r, type, dev, k);

	if (!h)
		fail_msg("no %s record %zu", ms_event_type_name(type), k);
	return h;
}

struct json_object *tu_json_get(struct json_object *o, const char *path)
{
	char buf[128], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *k = strtok_r(buf, ".", &save); k && o; k = strtok_r(NULL, ".", &save))
		if (!json_object_object_get_ex(o, k, &o))
			return NULL;
	return o;
}
