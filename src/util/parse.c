// SPDX-License-Identifier: GPL-2.0-only
/* Command-line quantities.  Everything is checked: no silent wrap, no trailing junk. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <migscope/parse.h>

int ms_parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-' || isspace((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno == ERANGE)
		return -ERANGE;
	if (end == s || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

/* A non-negative decimal number with an optional fraction; *end points after it. */
static int parse_number(const char *s, double *v, const char **end)
{
	char *e;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	*v = strtod(s, &e);
	if (errno == ERANGE || !isfinite(*v))
		return -ERANGE;
	*end = e;
	return 0;
}

static int scale(double v, double mult, uint64_t *out)
{
	double r = v * mult;

	if (r >= 18446744073709551616.0)
		return -ERANGE;
	*out = (uint64_t)(r + 0.5);
	return 0;
}

int ms_parse_size(const char *s, uint64_t *out)
{
	static const char units[] = "KMGTPE";
	const char *end, *u;
	double v, mult = 1;
	int err = parse_number(s, &v, &end);

	if (err)
		return err;
	if (*end) {
		u = strchr(units, toupper((unsigned char)*end));
		if (!u || !*u)
			return -EINVAL;
		for (const char *p = units; p <= u; p++)
			mult *= 1024;
		end++;
		/* accept K, KB, KiB */
		if (*end == 'i')
			end++;
		if (*end == 'B' || *end == 'b')
			end++;
	} else if (v < 18446744073709551616.0 && v != (double)(uint64_t)v) {
		return -EINVAL; /* a fraction of a byte (too large: scale() says so) */
	}
	if (*end)
		return -EINVAL;
	return scale(v, mult, out);
}

int ms_parse_rate(const char *s, uint64_t *out)
{
	char buf[64];
	size_t n = s ? strlen(s) : 0;

	if (n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s ? s : "", n + 1);
	if (n > 2 && !strcmp(buf + n - 2, "/s"))
		buf[n - 2] = '\0';
	return ms_parse_size(buf, out);
}

int ms_parse_duration(const char *s, uint64_t *out_ns)
{
	static const struct {
		const char *suffix;
		double ns;
	} units[] = {
		{ "ns", 1 }, { "us", 1e3 }, { "ms", 1e6 }, { "s", 1e9 }, { "m", 60e9 }, { "", 1e6 },
	};
	const char *end;
	double v;
	int err = parse_number(s, &v, &end);

	if (err)
		return err;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (!strcmp(end, units[i].suffix))
			return scale(v, units[i].ns, out_ns);
	return -EINVAL;
}

const char *ms_fmt_bytes(uint64_t bytes, char *buf, unsigned long len)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	double v = (double)bytes;
	int u = -1;

	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, len, "%llu B", (unsigned long long)bytes);
	else
		snprintf(buf, len, "%.2f %s", v, units[u]);
	return buf;
}
