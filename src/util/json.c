// SPDX-License-Identifier: GPL-2.0-only
/* json-c helpers: stable number formatting, printing and a readable diff. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <migscope/json.h>

struct json_object *ms_json_fixed(double v, int decimals)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%.*f", decimals, v);
	/* "-0.000" would differ from "0.000" for no reason */
	if (!strcmp(buf, "-0") || !strncmp(buf, "-0.", 3)) {
		const char *p = buf + 1;

		while (*p == '0' || *p == '.')
			p++;
		if (!*p)
			memmove(buf, buf + 1, strlen(buf));
	}
	return json_object_new_double_s(v, buf);
}

struct json_object *ms_json_u64(uint64_t v)
{
	/* json-c keeps integers as int64; larger values only come from corrupt input */
	return json_object_new_int64(v > INT64_MAX ? INT64_MAX : (int64_t)v);
}

#define PRINT_FLAGS (JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE)

int ms_json_print(FILE *out, struct json_object *obj)
{
	const char *s = json_object_to_json_string_ext(obj, PRINT_FLAGS);

	if (fputs(s, out) < 0 || fputc('\n', out) < 0)
		return -EIO;
	return 0;
}

int ms_json_write_file(const char *path, struct json_object *obj, char *err, size_t errlen)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "w") : stdout;
	int ret;

	if (!f) {
		snprintf(err, errlen, "%s: failed to create: %s", path, strerror(errno));
		return -errno;
	}
	ret = ms_json_print(f, obj);
	if (f != stdout && fclose(f) && !ret)
		ret = -errno;
	if (ret)
		snprintf(err, errlen, "%s: failed to write: %s", path, strerror(-ret));
	return ret;
}

static const char *brief(struct json_object *v, char *buf, size_t len)
{
	const char *s = v ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN) : "(absent)";

	if (strlen(s) >= len) {
		snprintf(buf, len, "%.*s...", (int)len - 4, s);
		return buf;
	}
	return s;
}

struct diff_ctx {
	FILE *out;
	unsigned int max_lines;
	unsigned int count;
};

static void report(struct diff_ctx *d, const char *path, struct json_object *e,
		   struct json_object *g)
{
	char b1[96], b2[96];

	if (d->count++ < d->max_lines) {
		const char *es = brief(e, b1, sizeof(b1));

		fprintf(d->out, "  %s: expected %s, got %s\n", *path ? path : "(top)", es,
			brief(g, b2, sizeof(b2)));
	}
}

static void diff(struct diff_ctx *d, const char *path, struct json_object *e, struct json_object *g)
{
	char sub[512];
	enum json_type te = json_object_get_type(e), tg = json_object_get_type(g);

	if (te != tg) {
		report(d, path, e, g);
		return;
	}
	if (te == json_type_object) {
		json_object_object_foreach(e, k, ev) {
			struct json_object *gv = NULL;

			snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", k);
			if (!json_object_object_get_ex(g, k, &gv))
				report(d, sub, ev, NULL);
			else
				diff(d, sub, ev, gv);
		}
		json_object_object_foreach(g, k2, gv2) {
			if (!json_object_object_get_ex(e, k2, NULL)) {
				snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", k2);
				report(d, sub, NULL, gv2);
			}
		}
		return;
	}
	if (te == json_type_array) {
		size_t ne = json_object_array_length(e), ng = json_object_array_length(g);

		for (size_t i = 0; i < ne || i < ng; i++) {
			snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
			if (i >= ne || i >= ng)
				report(d, sub, i < ne ? json_object_array_get_idx(e, i) : NULL,
				       i < ng ? json_object_array_get_idx(g, i) : NULL);
			else
				diff(d, sub, json_object_array_get_idx(e, i),
				     json_object_array_get_idx(g, i));
		}
		return;
	}
	/* scalars: equal when they print the same */
	if (strcmp(json_object_to_json_string_ext(e, JSON_C_TO_STRING_PLAIN),
		   json_object_to_json_string_ext(g, JSON_C_TO_STRING_PLAIN)))
		report(d, path, e, g);
}

unsigned int ms_json_diff(struct json_object *expected, struct json_object *got, FILE *out,
			  unsigned int max_lines)
{
	struct diff_ctx d = { .out = out, .max_lines = max_lines };

	diff(&d, "", expected, got);
	if (d.count > max_lines)
		fprintf(out, "  ... and %u more differences\n", d.count - max_lines);
	return d.count;
}
