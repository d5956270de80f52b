/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The report as Prometheus metrics (docs/metrics.md): rendered from the JSON
 * report document (ms_report__json), never from consumer state, so a metric
 * cannot disagree with --json.  Two expositions of the same samples:
 * OpenMetrics 1.0 (what Prometheus asks for when it scrapes) and the
 * Prometheus text format 0.0.4 (what node_exporter's textfile collector and
 * promtool read; it has no info, stateset, UNIT or EOF).
 */
#ifndef MIGSCOPE_OPENMETRICS_H
#define MIGSCOPE_OPENMETRICS_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#define MS_OM_MAX_LABELS     16
#define MS_OM_LABEL_NAME_LEN 64

enum ms_om_format {
	MS_OM_OPENMETRICS, /* application/openmetrics-text; version=1.0.0 */
	MS_OM_TEXT,	   /* text/plain; version=0.0.4 */
};

/* The labels every sample carries: vm (--vm) and the operator's (--label k=v). */
struct ms_om_labels {
	const char *vm; /* NULL or "": no vm label */
	unsigned int nr;
	char name[MS_OM_MAX_LABELS][MS_OM_LABEL_NAME_LEN];
	const char *value[MS_OM_MAX_LABELS]; /* point into the caller's strings */
};

/*
 * Add "name=value" (value points into kv, which must outlive l).  Refuses a
 * name that is not [a-zA-Z_][a-zA-Z0-9_]*, a reserved "__" name, one of the
 * labels migscope sets itself, a name given twice, a value that is not UTF-8
 * and more than MS_OM_MAX_LABELS.  0, or -EINVAL with err saying why.
 */
int ms_om_labels__add(struct ms_om_labels *l, const char *kv, char *err, size_t errlen);

/* Render report in fmt into a malloc'd buffer (*buf, *len).  0 or -ENOMEM. */
int ms_om__render(struct json_object *report, const struct ms_om_labels *l, enum ms_om_format fmt,
		  char **buf, size_t *len);

/* The HTTP Content-Type of fmt. */
const char *ms_om__content_type(enum ms_om_format fmt);

/*
 * The format a --metrics file gets: the text format for "*.prom" (the
 * textfile collector reads only that), OpenMetrics otherwise.
 */
enum ms_om_format ms_om__file_format(const char *path);

/*
 * Write report's exposition to path atomically: a temporary file in the
 * same directory, fsync, rename over path.  0, or -errno with err naming
 * the file.
 */
int ms_om__write_file(const char *path, struct json_object *report, const struct ms_om_labels *l,
		      char *err, size_t errlen);

/*
 * Parse "ADDR:PORT" ("127.0.0.1:9464", "[::1]:9464", "localhost:9464",
 * ":9464" for every address; no host names) for --listen.  0, or -EINVAL with err saying why.
 */
struct sockaddr_storage;
int ms_om_parse_listen(const char *arg, struct sockaddr_storage *sa, size_t *salen, char *err,
		       size_t errlen);

/* The live /metrics endpoint (src/report/metrics_http.c). */
struct ms_loop;
struct ms_metrics_server;

/* The report as it stands now (a new reference), or NULL when out of memory. */
typedef struct json_object *(*ms_metrics_report_fn)(void *ctx);

/*
 * Listen on sa and serve /metrics from loop's thread: each scrape renders
 * report(ctx) (no lock: the loop runs sources and scrapes in turn).  NULL
 * with err ("failed to listen on ADDR: ...") on failure.
 */
struct ms_metrics_server *ms_metrics_server__new(const struct ms_om_labels *l,
						 ms_metrics_report_fn report, void *ctx,
						 const struct sockaddr_storage *sa, size_t salen,
						 const char *addr, struct ms_loop *loop, char *err,
						 size_t errlen);
/*
 * After the session ended: serve its final report until one scrape has
 * fetched it, at most three scrape intervals (at least 1 s) and max_ns, so
 * Prometheus holds the final downtime and not the last live values.  Only
 * when something has scraped before.  0 (fetched), -ETIMEDOUT, -EINTR (a
 * signal), -ENOENT (nothing scrapes), -ENOMEM.
 */
int ms_metrics_server__final_scrape(struct ms_metrics_server *m, uint64_t max_ns);

/* Scrapes answered so far. */
unsigned long ms_metrics_server__scrapes(const struct ms_metrics_server *m);
void ms_metrics_server__free(struct ms_metrics_server *m);

#endif
