/* SPDX-License-Identifier: GPL-2.0-only */
/* Helpers shared by the unit tests. */
#ifndef MIGSCOPE_TESTUTIL_H
#define MIGSCOPE_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <migscope/bus.h>

/* A temporary file path under $TMPDIR (or /tmp), unique per call; caller frees. */
char *tu_tmp_path(const char *suffix);

/*
 * Read a whole file into a malloc'd buffer, NUL-terminated (not counted);
 * returns its size, aborts the test on error.
 */
size_t tu_read_file(const char *path, unsigned char **out);
void tu_write_file(const char *path, const void *buf, size_t len);

/* A bus subscriber that keeps a copy of every record it sees. */
struct tu_recorder {
	unsigned char *buf;
	size_t len, cap;
	size_t count;
};
void tu_recorder__on_event(void *ctx, const struct ms_event_hdr *ev);
/* The i-th record kept (linear scan). */
const struct ms_event_hdr *tu_recorder__get(const struct tu_recorder *r, size_t i);
void tu_recorder__free(struct tu_recorder *r);
/* Walk the kept records: the one at *off (which advances), NULL at the end. */
const struct ms_event_hdr *tu_recorder__next(const struct tu_recorder *r, size_t *off);
/* Records of a type for device dev (any device with MS_DEV_NONE). */
size_t tu_recorder__count_dev(const struct tu_recorder *r, unsigned int type, uint32_t dev);
/* The k-th record (from 0) of a type for dev (any with MS_DEV_NONE), or NULL. */
const void *tu_recorder__find(const struct tu_recorder *r, unsigned int type, uint32_t dev,
			      size_t k);
/* The same, failing the test when there is none. */
const void *tu_recorder__nth_dev(const struct tu_recorder *r, unsigned int type, uint32_t dev,
				 size_t k);

static inline size_t tu_recorder__count(const struct tu_recorder *r, unsigned int type)
{
	return tu_recorder__count_dev(r, type, MS_DEV_NONE);
}

static inline const void *tu_recorder__nth(const struct tu_recorder *r, unsigned int type, size_t k)
{
	return tu_recorder__nth_dev(r, type, MS_DEV_NONE, k);
}

struct json_object;
/* A member of a JSON object by dotted path ("migration.downtime_ms"), or NULL. */
struct json_object *tu_json_get(struct json_object *o, const char *path);

/*
 * Print "SKIP <test>: <reason>" (the test runner lists these) and skip the
 * test.  For tests that need root, BPF or hardware this machine lacks.
 */
#define tu_skip(reason)                                                                            \
	do {                                                                                       \
		printf("SKIP %s: %s\n", __func__, (reason));                                       \
		skip();                                                                            \
	} while (0)

#endif
