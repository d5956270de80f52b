// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fuzz the QMP client's message handling: arbitrary bytes as if QEMU sent
 * them, in two reads, with query-migrate outstanding so replies are handled
 * too, as the source's client and as the destination's (watch --dst-qmp).
 * A bad stream must end with an error string, never a crash.
 */
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include <migscope/qmp.h>
#include <migscope/report.h>
#include <migscope/session.h>

static void one_side(const uint8_t *data, size_t size, uint16_t side)
{
	struct ms_session_opts o = { 0 };
	struct ms_qmp_opts qo = { .path = "fuzz", .vfio_events = 1, .side = side };
	struct ms_session *s;
	struct ms_qmp *q;
	char err[MS_ERR_LEN];
	size_t half = size / 2;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return;
	s = ms_session__new(&o, err, sizeof(err));
	q = s ? ms_qmp__new(&s->stream, &qo) : NULL;
	if (q) {
		ms_qmp__attach(q, sv[0]);
		sv[0] = -1;
		ms_qmp__poll(q, 1);
		if (!ms_qmp__feed(q, (const char *)data, half, 2)) {
			ms_qmp__poll(q, 3);
			ms_qmp__feed(q, (const char *)data + half, size - half, 4);
		}
		ms_qmp__close(q, 5);
		ms_qmp__free(q);
	}
	if (s) {
		json_object_put(ms_report__json(&s->view));
		ms_session__free(s);
	}
	if (sv[0] >= 0)
		close(sv[0]);
	close(sv[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	one_side(data, size, MS_ROLE_SOURCE);
	one_side(data, size, MS_ROLE_DEST);
	return 0;
}
