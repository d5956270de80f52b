// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fuzz the QMP transcript reader of migscope import and the QMP client fed
 * from it: arbitrary bytes as transcript lines, every line that reads as one
 * handed to the client in transcript mode (connected half-way), then the
 * report.  A bad line must be a reason string, never a crash.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <json-c/json.h>

#include <migscope/qmp.h>
#include <migscope/report.h>
#include <migscope/session.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ms_session_opts o = { 0 };
	struct ms_qmp_opts qo = { .path = "fuzz" };
	const char *p = (const char *)data, *end = p + size;
	struct ms_session *s;
	struct ms_qmp *q;
	char err[MS_ERR_LEN];
	int connected = 0;

	s = ms_session__new(&o, err, sizeof(err));
	if (!s)
		return 0;
	q = ms_qmp__new(&s->stream, &qo);
	if (!q) {
		ms_session__free(s);
		return 0;
	}
	ms_qmp__transcript(q);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		struct ms_qmp_line l;

		if (!connected && (size_t)(p - (const char *)data) >= size / 2) {
			ms_stream__begin_at(&s->stream, 1, 1, 1, MS_SESSION_IMPORT, 300000000ull,
					    1 << 26, 0);
			ms_qmp__connected(q, 1);
			connected = 1;
		}
		if (!ms_qmp_transcript_line(p, len, &l)) {
			int ret = l.sent ? ms_qmp__sent(q, l.msg, l.wall_ns)
					 : ms_qmp__received(q, l.msg, l.wall_ns);

			json_object_put(l.msg);
			if (ret < 0 && !l.sent)
				break;
		} else if (!l.why) {
			__builtin_trap(); /* a bad line always says why */
		}
		p += len + (nl ? 1 : 0);
	}
	ms_qmp__close(q, 2);
	ms_qmp__free(q);
	json_object_put(ms_report__json(&s->view));
	ms_session__free(s);
	return 0;
}
