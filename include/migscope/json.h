/* SPDX-License-Identifier: GPL-2.0-only */
/* Small helpers over json-c so every report prints numbers the same way. */
#ifndef MIGSCOPE_JSON_H
#define MIGSCOPE_JSON_H

#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

/* A double printed with a fixed number of decimals ("12.345"), byte-stable. */
struct json_object *ms_json_fixed(double v, int decimals);

/* Nanoseconds as milliseconds with microsecond precision. */
static inline struct json_object *ms_json_ms(uint64_t ns)
{
	return ms_json_fixed((double)ns / 1e6, 3);
}

struct json_object *ms_json_u64(uint64_t v);

/* Add key to obj (which takes the reference to val). */
static inline void ms_json_add(struct json_object *obj, const char *key, struct json_object *val)
{
	json_object_object_add(obj, key, val);
}

/* Serialize as the reports do: pretty, two-space indent, trailing newline. */
int ms_json_print(FILE *out, struct json_object *obj);

/* Write obj to path ("-" = stdout).  0 or -errno with err filled. */
int ms_json_write_file(const char *path, struct json_object *obj, char *err, size_t errlen);

/*
 * Compare two reports and print one line per difference ("path: expected X,
 * got Y"), at most max_lines.  Returns the number of differences.
 */
unsigned int ms_json_diff(struct json_object *expected, struct json_object *got, FILE *out,
			  unsigned int max_lines);

#endif
