/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Reports: what the consumers of a session found, as JSON (docs/report-schema.md)
 * or as a terminal table.  Built only from consumer state, which is built only
 * from the event stream, so a replay reports exactly what the live run did.
 */
#ifndef MIGSCOPE_REPORT_H
#define MIGSCOPE_REPORT_H

#include <stdio.h>

#include <json-c/json.h>

#include <migscope/session.h>

#define MS_REPORT_SCHEMA 1

/* The whole report; the caller puts the reference. */
struct json_object *ms_report__json(const struct ms_session *s);

/* The terminal report (fits in 100 columns). */
void ms_report__print_text(const struct ms_session *s, FILE *out);

/* The report's devices[] entry for a device id, or NULL. */
struct json_object *ms_report__device(struct json_object *report, uint32_t id);

#endif
