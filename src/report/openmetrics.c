// SPDX-License-Identifier: GPL-2.0-only
/*
 * Prometheus metrics from the JSON report (include/migscope/openmetrics.h,
 * docs/metrics.md).  Every value is read from the report document, numbers
 * as the report prints them: milliseconds become seconds by moving the
 * decimal point, so 7.042 ms is 0.007042 s and never a neighbouring double.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <migscope/openmetrics.h>
#include <migscope/version.h>

/* Labels migscope sets on some metric: an operator's label must not clash with them. */
static const char *const own_labels[] = { "device",
					  "driver",
					  "vm",
					  "side",
					  "phase",
					  "kind",
					  "source",
					  "version",
					  "migscope_migration_convergence",
					  "migscope_device_convergence",
					  NULL };

/* Length of the UTF-8 sequence at p (1-4), or 0 when it is not one. */
static int utf8_len(const unsigned char *p)
{
	int n = *p < 0x80	      ? 0
		: (*p & 0xe0) == 0xc0 ? 1
		: (*p & 0xf0) == 0xe0 ? 2
		: (*p & 0xf8) == 0xf0 ? 3
				      : -1;

	if (n < 0 || (n == 1 && *p < 0xc2) || (n == 3 && *p > 0xf4))
		return 0;
	for (int i = 1; i <= n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return n + 1;
}

static int valid_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	int n;

	for (; *p; p += n)
		if (!(n = utf8_len(p)))
			return 0;
	return 1;
}

int ms_om_labels__add(struct ms_om_labels *l, const char *kv, char *err, size_t errlen)
{
	const char *eq = strchr(kv, '=');
	size_t n = eq ? (size_t)(eq - kv) : 0;

	if (!eq || !n) {
		snprintf(err, errlen, "'%s' is not NAME=VALUE", kv);
		return -EINVAL;
	}
	if (n >= MS_OM_LABEL_NAME_LEN) {
		snprintf(err, errlen, "label name '%.*s' is longer than %d characters", (int)n, kv,
			 MS_OM_LABEL_NAME_LEN - 1);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		char c = kv[i];

		if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (i && c >= '0' && c <= '9'))) {
			snprintf(err, errlen,
				 "label name '%.*s' is not [a-zA-Z_][a-zA-Z0-9_]* (Prometheus)",
				 (int)n, kv);
			return -EINVAL;
		}
	}
	if (n >= 2 && kv[0] == '_' && kv[1] == '_') {
		snprintf(err, errlen, "label name '%.*s': names starting with __ are reserved",
			 (int)n, kv);
		return -EINVAL;
	}
	for (const char *const *o = own_labels; *o; o++)
		if (strlen(*o) == n && !strncmp(*o, kv, n)) {
			snprintf(err, errlen, "label name '%s' is one migscope sets itself%s", *o,
				 !strcmp(*o, "vm") ? " (use --vm NAME)" : "");
			return -EINVAL;
		}
	for (unsigned int i = 0; i < l->nr; i++)
		if (strlen(l->name[i]) == n && !strncmp(l->name[i], kv, n)) {
			snprintf(err, errlen, "label '%s' given twice", l->name[i]);
			return -EINVAL;
		}
	if (!valid_utf8(eq + 1)) {
		snprintf(err, errlen, "label '%.*s': the value is not UTF-8", (int)n, kv);
		return -EINVAL;
	}
	if (l->nr == MS_OM_MAX_LABELS) {
		snprintf(err, errlen, "at most %d labels", MS_OM_MAX_LABELS);
		return -EINVAL;
	}
	memcpy(l->name[l->nr], kv, n);
	l->name[l->nr][n] = 0;
	l->value[l->nr++] = eq + 1;
	return 0;
}

/* --- the exposition --------------------------------------------------------------------- */

struct om {
	FILE *f;
	enum ms_om_format fmt;
	const struct ms_om_labels *l;
	const char *vm;	    /* --vm, else the report's session.vm (a libvirt domain), or NULL */
	const char *suffix; /* of the family's sample names: "_total", "_info" or "" */
};

/* One metric's labels beyond the common ones: at most four pairs. */
struct lset {
	const char *k[6], *v[6];
	int n;
};

/*
 * A label value: backslash, quote and newline escaped; a byte that is not
 * UTF-8 (a device name from a capture can be anything) as U+FFFD, since
 * Prometheus refuses the whole scrape for one.
 */
static void put_escaped(FILE *f, const char *s)
{
	int n;

	for (; *s; s += n) {
		n = utf8_len((const unsigned char *)s);
		if (!n) {
			fputs("\xef\xbf\xbd", f);
			n = 1;
		} else if (*s == '\\') {
			fputs("\\\\", f);
		} else if (*s == '"') {
			fputs("\\\"", f);
		} else if (*s == '\n') {
			fputs("\\n", f);
		} else {
			fwrite(s, 1, (size_t)n, f);
		}
	}
}

static void family(struct om *o, const char *name, const char *type, const char *unit,
		   const char *help)
{
	int counter = !strcmp(type, "counter"), info = !strcmp(type, "info");

	o->suffix = counter ? "_total" : info ? "_info" : "";
	if (o->fmt == MS_OM_TEXT) {
		/* the text format names the family by its samples and knows four types */
		fprintf(o->f, "# HELP %s%s %s\n", name, o->suffix, help);
		fprintf(o->f, "# TYPE %s%s %s\n", name, o->suffix, counter ? "counter" : "gauge");
		return;
	}
	fprintf(o->f, "# TYPE %s %s\n", name, type);
	if (unit)
		fprintf(o->f, "# UNIT %s %s\n", name, unit);
	fprintf(o->f, "# HELP %s %s\n", name, help);
}

static void sample(struct om *o, const char *name, const struct lset *ls, const char *value)
{
	int first = 1, any = o->l->nr || o->vm;

	for (int i = 0; i < ls->n; i++)
		any |= !!ls->v[i];
	fprintf(o->f, "%s%s%s", name, o->suffix, any ? "{" : "");
	for (int i = 0; i < ls->n; i++) {
		if (!ls->v[i])
			continue;
		fprintf(o->f, "%s%s=\"", first ? "" : ",", ls->k[i]);
		put_escaped(o->f, ls->v[i]);
		fputc('"', o->f);
		first = 0;
	}
	if (o->vm) {
		fprintf(o->f, "%svm=\"", first ? "" : ",");
		put_escaped(o->f, o->vm);
		fputc('"', o->f);
		first = 0;
	}
	for (unsigned int i = 0; i < o->l->nr; i++) {
		fprintf(o->f, "%s%s=\"", first ? "" : ",", o->l->name[i]);
		put_escaped(o->f, o->l->value[i]);
		fputc('"', o->f);
		first = 0;
	}
	fprintf(o->f, "%s %s\n", any ? "}" : "", value);
}

static struct json_object *get(struct json_object *o, const char *path)
{
	char key[64];

	while (o && *path) {
		size_t n = strcspn(path, ".");

		snprintf(key, sizeof(key), "%.*s", (int)n, path);
		if (!json_object_is_type(o, json_type_object) ||
		    !json_object_object_get_ex(o, key, &o))
			return NULL;
		path += n + (path[n] == '.');
	}
	return o;
}

static const char *get_str(struct json_object *o, const char *path)
{
	struct json_object *v = get(o, path);

	return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* A number as the report prints it, or NULL (absent, null, not a number). */
static const char *num_text(struct json_object *v)
{
	if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
		return NULL;
	return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
}

/*
 * "12.345" (decimal, as printed) divided by 10^shift, in decimal: the exact
 * value, not a rounded double.  0, or -1 for text that is not a plain number.
 */
static int shift_decimal(const char *in, int shift, char *out, size_t len)
{
	char digits[80];
	int neg = *in == '-', nd = 0, point = -1;
	size_t o = 0;

	in += neg;
	for (; *in; in++) {
		if (*in == '.' && point < 0)
			point = nd;
		else if (*in >= '0' && *in <= '9' && nd < (int)sizeof(digits) - 1)
			digits[nd++] = *in;
		else
			return -1;
	}
	if (!nd)
		return -1;
	if (point < 0)
		point = nd;
	point -= shift; /* the decimal point's place among the digits, may be <= 0 */
	if (neg && o + 1 < len)
		out[o++] = '-';
	if (point <= 0) {
		if (o + 2 < len) {
			out[o++] = '0';
			out[o++] = '.';
		}
		for (int i = point; i < 0 && o + 1 < len; i++)
			out[o++] = '0';
		for (int i = 0; i < nd && o + 1 < len; i++)
			out[o++] = digits[i];
	} else {
		for (int i = 0; i < nd && o + 1 < len; i++) {
			if (i == point && o + 1 < len)
				out[o++] = '.';
			out[o++] = digits[i];
		}
	}
	out[o] = 0;
	/* trailing zeros after the point, and a bare point, say nothing */
	if (strchr(out, '.')) {
		while (o > 1 && out[o - 1] == '0')
			out[--o] = 0;
		if (out[o - 1] == '.')
			out[--o] = 0;
	}
	if (!strcmp(out, "-0"))
		strcpy(out, "0");
	return 0;
}

/* A sample of the report's milliseconds at path (under o) as seconds; nothing when null. */
static void sample_ms(struct om *o, const char *name, const struct lset *ls, struct json_object *v)
{
	const char *t = num_text(v);
	char s[96];

	if (t && !shift_decimal(t, 3, s, sizeof(s)))
		sample(o, name, ls, s);
}

/* A sample of the report's integer or number at v as printed; nothing when null. */
static void sample_num(struct om *o, const char *name, const struct lset *ls, struct json_object *v)
{
	const char *t = num_text(v);

	if (t)
		sample(o, name, ls, t);
}

static void lset_add(struct lset *ls, const char *k, const char *v)
{
	if (ls->n < 6) {
		ls->k[ls->n] = k;
		ls->v[ls->n++] = v;
	}
}

/* device and driver of a devices[] entry */
static struct lset dev_labels(struct json_object *d)
{
	struct lset ls = { .n = 0 };

	lset_add(&ls, "device", get_str(d, "name"));
	lset_add(&ls, "driver", get_str(d, "kind"));
	return ls;
}

static const char *const verdicts[] = { "converging", "stalled", "diverging", "unknown" };

/* A StateSet's samples for the verdict at conv.verdict (null: no state is set). */
static void sample_verdict(struct om *o, const char *name, const struct lset *base,
			   struct json_object *conv)
{
	const char *v = get_str(conv, "verdict");

	/* null: none is expected (a destination, a section without samples) */
	if (!v && base->n)
		return;
	for (size_t i = 0; i < sizeof(verdicts) / sizeof(verdicts[0]); i++) {
		struct lset ls = *base;

		lset_add(&ls, name, verdicts[i]);
		sample(o, name, &ls, v && !strcmp(v, verdicts[i]) ? "1" : "0");
	}
}

/* The downtime breakdown's phases (docs/telemetry.md) and the side each is spent on. */
static const struct {
	const char *key, *phase, *side;
} phases[] = {
	{ "stop_ms", "stop", "source" },
	{ "stopcopy_ms", "stop_copy", "source" },
	{ "switchover_ack_ms", "switchover_ack", "between" },
	{ "wait_ms", "wait", "between" },
	{ "resume_ms", "resume", "destination" },
};

static const struct {
	const char *key, *kind;
} pending_kinds[] = {
	{ "initial_bytes", "precopy_initial" },
	{ "dirty_bytes", "precopy_dirty" },
	{ "stopcopy_bytes", "stop_copy" },
};

/* "2026-12-07T01:23:50.619Z" as microseconds since the epoch; -1 if not that. */
static int iso_to_us(const char *iso, long long *us)
{
	struct tm tm = { 0 };
	unsigned int ms;
	int n = 0;

	if (!iso ||
	    sscanf(iso, "%4d-%2d-%2dT%2d:%2d:%2d.%3uZ%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		   &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms, &n) != 7 ||
	    iso[n])
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*us = (long long)timegm(&tm) * 1000000 + ms * 1000ll;
	return 0;
}

/* The report's milliseconds (three decimals at most) as whole microseconds: exact. */
static long long ms_to_us(const char *ms)
{
	return llround(strtod(ms, NULL) * 1000.0);
}

static void sample_us(struct om *o, const char *name, const struct lset *ls, long long us)
{
	char t[48], s[64];

	snprintf(t, sizeof(t), "%lld", us);
	if (!shift_decimal(t, 6, s, sizeof(s)))
		sample(o, name, ls, s);
}

static void migration_metrics(struct om *o, struct json_object *rep)
{
	struct json_object *m = get(rep, "migration"), *conv = get(m, "convergence");
	const struct lset none = { .n = 0 };
	const char *start = num_text(get(m, "total_start_ms")),
		   *total = num_text(get(m, "total_ms"));
	long long t0;
	int have_t0 = !iso_to_us(get_str(rep, "session.started"), &t0);

	family(o, "migscope_migration_duration_seconds", "gauge", "seconds",
	       "Migration setup to completion (migration.total_ms).");
	sample_ms(o, "migscope_migration_duration_seconds", &none, get(m, "total_ms"));

	family(o, "migscope_migration_start_time_seconds", "gauge", "seconds",
	       "When the migration started, since the epoch (session.started + "
	       "migration.total_start_ms).");
	if (have_t0 && start)
		sample_us(o, "migscope_migration_start_time_seconds", &none, t0 + ms_to_us(start));

	family(o, "migscope_migration_end_time_seconds", "gauge", "seconds",
	       "When the migration ended, since the epoch (start time + migration.total_ms).");
	if (have_t0 && start && total)
		sample_us(o, "migscope_migration_end_time_seconds", &none,
			  t0 + ms_to_us(start) + ms_to_us(total));

	family(o, "migscope_migration_downtime_seconds", "gauge", "seconds",
	       "The VM's downtime (migration.downtime_ms).");
	sample_ms(o, "migscope_migration_downtime_seconds", &none, get(m, "downtime_ms"));

	family(o, "migscope_migration_downtime_limit_seconds", "gauge", "seconds",
	       "The downtime limit judged against (migration.downtime_limit_ms).");
	sample_ms(o, "migscope_migration_downtime_limit_seconds", &none,
		  get(m, "downtime_limit_ms"));

	family(o, "migscope_migration_predicted_downtime_seconds", "gauge", "seconds",
	       "Downtime if it switched over now (migration.convergence.predicted_downtime_ms).");
	sample_ms(o, "migscope_migration_predicted_downtime_seconds", &none,
		  get(conv, "predicted_downtime_ms"));

	family(o, "migscope_migration_pending_bytes", "gauge", "bytes",
	       "What would move while stopped (migration.convergence.pending_bytes).");
	sample_num(o, "migscope_migration_pending_bytes", &none, get(conv, "pending_bytes"));

	family(o, "migscope_migration_convergence", "stateset", NULL,
	       "The VM's convergence verdict (migration.convergence.verdict).");
	if (conv)
		sample_verdict(o, "migscope_migration_convergence", &none, conv);
}

static void device_metrics(struct om *o, struct json_object *rep)
{
	struct json_object *devs = get(rep, "devices");
	size_t nr = json_object_is_type(devs, json_type_array) ? json_object_array_length(devs) : 0;

	family(o, "migscope_device_last_downtime_seconds", "gauge", "seconds",
	       "A device's downtime by phase; the phases add up to devices[].downtime_ms "
	       "(devices[].downtime.*_ms).");
	for (size_t i = 0; i < nr; i++) {
		struct json_object *d = json_object_array_get_idx(devs, i),
				   *dt = get(d, "downtime");

		for (size_t p = 0; dt && p < sizeof(phases) / sizeof(phases[0]); p++) {
			struct lset ls = dev_labels(d);

			lset_add(&ls, "side", phases[p].side);
			lset_add(&ls, "phase", phases[p].phase);
			sample_ms(o, "migscope_device_last_downtime_seconds", &ls,
				  get(dt, phases[p].key));
		}
	}

	family(o, "migscope_device_pending_bytes", "gauge", "bytes",
	       "A device's pending bytes at its last pre-copy sample "
	       "(devices[].convergence.initial_bytes, dirty_bytes, stopcopy_bytes).");
	for (size_t i = 0; i < nr; i++) {
		struct json_object *d = json_object_array_get_idx(devs, i);

		for (size_t k = 0; k < sizeof(pending_kinds) / sizeof(pending_kinds[0]); k++) {
			struct lset ls = dev_labels(d);

			lset_add(&ls, "kind", pending_kinds[k].kind);
			sample_num(o, "migscope_device_pending_bytes", &ls,
				   get(d, "convergence")
				       ? get(get(d, "convergence"), pending_kinds[k].key)
				       : NULL);
		}
	}

	family(o, "migscope_device_predicted_downtime_seconds", "gauge", "seconds",
	       "A device's downtime if it switched over now "
	       "(devices[].convergence.predicted_downtime_ms).");
	for (size_t i = 0; i < nr; i++) {
		struct json_object *d = json_object_array_get_idx(devs, i);
		struct lset ls = dev_labels(d);

		sample_ms(o, "migscope_device_predicted_downtime_seconds", &ls,
			  get(d, "convergence.predicted_downtime_ms"));
	}

	family(o, "migscope_device_convergence", "stateset", NULL,
	       "A device's convergence verdict (devices[].convergence.verdict; no state set "
	       "where none is expected).");
	for (size_t i = 0; i < nr; i++) {
		struct json_object *d = json_object_array_get_idx(devs, i);
		struct lset ls = dev_labels(d);

		if (get(d, "convergence"))
			sample_verdict(o, "migscope_device_convergence", &ls,
				       get(d, "convergence"));
	}

	family(o, "migscope_device_dma_dirty_pages", "counter", NULL,
	       "Dirty pages each source reported for a device, per harvest window, summed "
	       "(devices[].dirty.sources.*.pages).");
	for (size_t i = 0; i < nr; i++) {
		struct json_object *d = json_object_array_get_idx(devs, i);
		struct json_object *src = get(d, "dirty.sources");

		if (!json_object_is_type(src, json_type_object))
			continue;
		json_object_object_foreach(src, name, v)
		{
			struct lset ls = dev_labels(d);

			lset_add(&ls, "source", name);
			sample_num(o, "migscope_device_dma_dirty_pages", &ls, get(v, "pages"));
		}
	}

	family(o, "migscope_device_dma_dirty_bytes", "counter", "bytes",
	       "A device's dirty bytes over the session, every source merged and widened "
	       "where records were lost (devices[].dirty.bytes).");
	for (size_t i = 0; i < nr; i++) {
		struct json_object *d = json_object_array_get_idx(devs, i);
		struct lset ls = dev_labels(d);

		sample_num(o, "migscope_device_dma_dirty_bytes", &ls, get(d, "dirty.bytes"));
	}
}

int ms_om__render(struct json_object *report, const struct ms_om_labels *l, enum ms_om_format fmt,
		  char **buf, size_t *len)
{
	struct ms_om_labels none = { 0 };
	struct om o = { .fmt = fmt, .l = l ? l : &none };
	const struct lset ver = { .k = { "version" }, .v = { MS_VERSION }, .n = 1 };

	*buf = NULL;
	*len = 0;
	o.vm = o.l->vm && o.l->vm[0] ? o.l->vm : get_str(report, "session.vm");
	if (o.vm && !o.vm[0])
		o.vm = NULL;
	o.f = open_memstream(buf, len);
	if (!o.f)
		return -ENOMEM;
	family(&o, "migscope_build", "info", NULL, "migscope's version.");
	sample(&o, "migscope_build", &ver, "1");
	migration_metrics(&o, report);
	device_metrics(&o, report);
	if (fmt == MS_OM_OPENMETRICS)
		fputs("# EOF\n", o.f);
	if (ferror(o.f)) {
		fclose(o.f);
		free(*buf);
		*buf = NULL;
		return -ENOMEM;
	}
	if (fclose(o.f)) {
		free(*buf);
		*buf = NULL;
		return -ENOMEM;
	}
	return 0;
}

const char *ms_om__content_type(enum ms_om_format fmt)
{
	return fmt == MS_OM_OPENMETRICS
		   ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
		   : "text/plain; version=0.0.4; charset=utf-8";
}

enum ms_om_format ms_om__file_format(const char *path)
{
	size_t n = strlen(path);

	return n >= 5 && !strcmp(path + n - 5, ".prom") ? MS_OM_TEXT : MS_OM_OPENMETRICS;
}

int ms_om__write_file(const char *path, struct json_object *report, const struct ms_om_labels *l,
		      char *err, size_t errlen)
{
	char tmp[PATH_MAX];
	const char *slash = strrchr(path, '/');
	char *buf;
	size_t len, off = 0;
	int fd, ret;

	ret = ms_om__render(report, l, ms_om__file_format(path), &buf, &len);
	if (ret) {
		snprintf(err, errlen, "%s: failed to render the metrics: %s", path, strerror(-ret));
		return ret;
	}
	/*
	 * In the same directory, so the rename is atomic, and hidden from the
	 * textfile collector, which reads only *.prom
	 */
	if (snprintf(tmp, sizeof(tmp), "%.*s.%s.tmp.XXXXXX", slash ? (int)(slash - path + 1) : 0,
		     path, slash ? slash + 1 : path) >= (int)sizeof(tmp)) {
		free(buf);
		snprintf(err, errlen, "%s: failed to create: %s", path, strerror(ENAMETOOLONG));
		return -ENAMETOOLONG;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		free(buf);
		snprintf(err, errlen, "%s: failed to create: %s", path, strerror(-ret));
		return ret;
	}
	while (off < len) {
		ssize_t n = write(fd, buf + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? -errno : -EIO;
			break;
		}
		off += (size_t)n;
	}
	free(buf);
	/* readable by the collector (mkostemp makes it 0600) */
	if (!ret && fchmod(fd, 0644))
		ret = -errno;
	if (!ret && fsync(fd))
		ret = -errno;
	if (close(fd) && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path))
		ret = -errno;
	if (ret) {
		unlink(tmp);
		snprintf(err, errlen, "%s: failed to write: %s", path, strerror(-ret));
	}
	return ret;
}

int ms_om_parse_listen(const char *arg, struct sockaddr_storage *sa, size_t *salen, char *err,
		       size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
				  .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV | AI_NUMERICHOST };
	struct addrinfo *res = NULL;
	const char *colon = strrchr(arg, ':');
	char host[256], *end;
	unsigned long port;
	int ret;

	if (!colon) {
		snprintf(err, errlen, "'%s' is not ADDR:PORT", arg);
		return -EINVAL;
	}
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (!colon[1] || *end || errno || !port || port > 65535 || colon[1] == '-' ||
	    colon[1] == '+') {
		snprintf(err, errlen, "'%s': '%s' is not a port (1-65535)", arg, colon + 1);
		return -EINVAL;
	}
	snprintf(host, sizeof(host), "%.*s", (int)(colon - arg), arg);
	if (host[0] == '[') {
		size_t n = strlen(host);

		if (n < 3 || host[n - 1] != ']') {
			snprintf(err, errlen, "'%s' is not [IPv6]:PORT", arg);
			return -EINVAL;
		}
		memmove(host, host + 1, n - 2);
		host[n - 2] = 0;
	} else if (strchr(host, ':')) {
		snprintf(err, errlen, "'%s': an IPv6 address goes in brackets, [::1]:PORT", arg);
		return -EINVAL;
	}
	/* numeric addresses only: parsing an option must not wait for DNS */
	if (!strcmp(host, "localhost"))
		strcpy(host, "127.0.0.1");
	ret = getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &res);
	if (ret || !res) {
		snprintf(err, errlen, "'%s': '%s' is not an IP address", arg, host);
		if (res)
			freeaddrinfo(res);
		return -EINVAL;
	}
	memcpy(sa, res->ai_addr, res->ai_addrlen);
	*salen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}
