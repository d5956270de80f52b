// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fuzz what the metrics take from outside: the --label and --listen
 * arguments (first line of the input) and a report document (the rest,
 * JSON: device names, verdicts and numbers of any shape).  Both expositions
 * must come out line for line well-formed: every line a comment or one
 * sample, every label value closed, no byte of a value breaking a line.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <migscope/openmetrics.h>

/* A sample line: name, optional {k="v",...} with escapes, a space, a value. */
static void check_line(const char *l, size_t n)
{
	size_t i = 0;

	if (n && l[0] == '#')
		return;
	while (i < n && l[i] != '{' && l[i] != ' ')
		i++;
	if (i < n && l[i] == '{') {
		i++;
		while (i < n && l[i] != '}') {
			while (i < n && l[i] != '=')
				i++;
			if (i + 1 >= n || l[i + 1] != '"')
				abort();
			for (i += 2; i < n && l[i] != '"'; i++)
				if (l[i] == '\\' && (++i >= n || !strchr("\\\"n", l[i])))
					abort();
			if (i >= n)
				abort();
			i++;
			if (i < n && l[i] == ',')
				i++;
		}
		if (i >= n)
			abort();
		i++;
	}
	if (i >= n || l[i] != ' ' || i + 1 >= n)
		abort();
}

static void check(const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len;

	if (len && buf[len - 1] != '\n')
		abort();
	/* Prometheus refuses a scrape with a byte that is not UTF-8 */
	for (size_t i = 0; i < len;) {
		const unsigned char *u = (const unsigned char *)buf + i;
		int n = *u < 0x80	      ? 1
			: (*u & 0xe0) == 0xc0 ? 2
			: (*u & 0xf0) == 0xe0 ? 3
			: (*u & 0xf8) == 0xf0 ? 4
					      : 0;

		if (!n || i + (size_t)n > len)
			abort();
		for (int k = 1; k < n; k++)
			if ((u[k] & 0xc0) != 0x80)
				abort();
		i += (size_t)n;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		check_line(p, (size_t)(nl - p));
		p = nl + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t first = nl ? (size_t)(nl - data) : size;
	struct ms_om_labels l = { .vm = "fuzz" };
	struct sockaddr_storage sa;
	struct json_tokener *tok = json_tokener_new();
	struct json_object *rep;
	char *arg = malloc(first + 1), err[256], *buf;
	size_t salen, len;

	if (!arg || !tok) {
		free(arg);
		if (tok)
			json_tokener_free(tok);
		return 0;
	}
	memcpy(arg, data, first);
	arg[first] = 0;
	ms_om_labels__add(&l, arg, err, sizeof(err));
	ms_om_parse_listen(arg, &sa, &salen, err, sizeof(err));
	rep = nl ? json_tokener_parse_ex(tok, (const char *)nl + 1, (int)(size - first - 1)) : NULL;
	for (int f = 0; f < 2; f++) {
		if (!ms_om__render(rep, &l, f ? MS_OM_TEXT : MS_OM_OPENMETRICS, &buf, &len)) {
			check(buf, len);
			free(buf);
		}
	}
	json_object_put(rep);
	json_tokener_free(tok);
	free(arg);
	return 0;
}
