// SPDX-License-Identifier: GPL-2.0-only
/* The session, the composition root: one bus, every consumer wired to it in one place. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <migscope/session.h>

struct ms_session *ms_session__new(const struct ms_session_opts *opts, char *err, size_t errlen)
{
	struct ms_session *s = calloc(1, sizeof(*s));

	if (!s) {
		snprintf(err, errlen, "failed to allocate session: %s", strerror(ENOMEM));
		return NULL;
	}
	ms_bus__init(&s->bus);
	if (opts->info)
		s->info = *opts->info;
	else
		ms_host_info__from_host(&s->info, opts->argc, opts->argv);
	if (opts->vm)
		ms_host_info__set(&s->info, "vm", opts->vm);

	/* the order here is the order every record reaches the consumers */
	ms_devices__init(&s->devices);
	ms_devices__subscribe(&s->devices, &s->bus);
	if (ms_stream__init(&s->stream, &s->bus, &s->devices)) {
		snprintf(err, errlen, "failed to subscribe the device ids: %s", strerror(ENOSPC));
		ms_session__free(s);
		return NULL;
	}
	ms_stats__init(&s->stats);
	ms_stats__subscribe(&s->stats, &s->bus);
	s->tracker = ms_tracker__new();
	if (!s->tracker) {
		snprintf(err, errlen, "failed to allocate dirty tracker: %s", strerror(ENOMEM));
		ms_session__free(s);
		return NULL;
	}
	ms_tracker__subscribe(s->tracker, &s->bus);
	ms_telemetry__init(&s->telemetry);
	ms_telemetry__subscribe(&s->telemetry, &s->bus);
	ms_arccheck__init(&s->arcs, &s->devices);
	ms_arccheck__subscribe(&s->arcs, &s->bus);
	ms_progress__init(&s->progress, opts->progress, &s->devices, &s->telemetry);
	if (opts->progress)
		ms_progress__subscribe(&s->progress, &s->bus);

	if (opts->record_path) {
		s->rec = ms_capture_writer__open(opts->record_path, &s->info, &opts->record, err,
						 errlen);
		if (!s->rec) {
			ms_session__free(s);
			return NULL;
		}
		ms_bus__subscribe(&s->bus, MS_EV_ALL, ms_capture_writer__on_event, s->rec);
	}
	s->view = (struct ms_view){
		.info = &s->info,
		.devices = &s->devices,
		.stats = &s->stats,
		.telemetry = &s->telemetry,
		.arcs = &s->arcs,
		.tracker = s->tracker,
	};
	return s;
}

int ms_session__close_capture(struct ms_session *s, char *err, size_t errlen)
{
	int ret = ms_capture_writer__close(s->rec, err, errlen);

	s->rec = NULL;
	return ret;
}

int ms_session__fail(struct ms_session *s, uint64_t ts_ns, int32_t status, const char *why,
		     char *err, size_t errlen)
{
	ms_stream__end(&s->stream, ts_ns, status, why);
	return ms_session__close_capture(s, err, errlen);
}

int ms_session__end(struct ms_session *s, uint64_t ts_ns, int32_t status, char *err,
		    size_t errlen)
{
	return ms_session__fail(s, ts_ns, status, NULL, err, errlen);
}

void ms_session__free(struct ms_session *s)
{
	char err[MS_ERR_LEN];

	if (!s)
		return;
	if (s->rec)
		ms_capture_writer__close(s->rec, err, sizeof(err));
	ms_tracker__free(s->tracker);
	ms_devices__free(&s->devices);
	ms_telemetry__free(&s->telemetry);
	ms_arccheck__free(&s->arcs);
	free(s);
}
