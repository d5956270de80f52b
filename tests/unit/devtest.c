// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <migscope/devspec.h>
#include <migscope/ref.h>
#include <migscope/session.h>

#include "devtest.h"

static void pump(void *ctx, uint64_t t)
{
	struct dt_rig *r = ctx;

	ms_devs__pump(r->devs, r->n, t);
}

void dt_rig__init(struct dt_rig *r)
{
	struct ms_session_opts o = { 0 };
	char err[256];

	memset(r, 0, sizeof(*r));
	ms_clock__init_virtual(&r->clock, MS_CLOCK_VIRTUAL_START);
	r->clock.pump = pump;
	r->clock.pump_ctx = r;
	r->s = ms_session__new(&o, err, sizeof(err));
	assert_non_null(r->s);
	assert_int_equal(ms_bus__subscribe(&r->s->bus, MS_EV_ALL, tu_recorder__on_event, &r->rec),
			 0);
}

struct ms_device *dt_rig__add(struct dt_rig *r, struct ms_device *d, uint16_t role)
{
	assert_non_null(d);
	assert_true(r->n < DT_MAX_DEVS);
	ms_dev__register(d, &r->s->stream, role, MS_DEV_NONE);
	r->devs[r->n++] = d;
	return d;
}

struct ms_device *dt_rig__ref(struct dt_rig *r, const char *spec, uint16_t role)
{
	struct ms_devspec sp;
	struct ms_device *d;
	char err[256];

	if (ms_devspec__parse(spec, &sp, err, sizeof(err)))
		fail_msg("%s: %s", spec, err);
	if (!sp.ref.name[0])
		snprintf(sp.ref.name, sizeof(sp.ref.name), "ref%zu", r->n);
	d = sp.ref.iface == MS_REF_IFACE_VIRTIO
		? ms_ref_virtio__new(&sp.ref, &r->clock, err, sizeof(err))
		: ms_ref__new(&sp.ref, &r->clock, err, sizeof(err));
	if (!d)
		fail_msg("%s: %s", spec, err);
	return dt_rig__add(r, d, role);
}

void dt_rig__free(struct dt_rig *r)
{
	for (size_t i = 0; i < r->n; i++)
		ms_dev__close(r->devs[i]);
	ms_session__free(r->s);
	tu_recorder__free(&r->rec);
}

size_t dt_drain(struct ms_device *d, unsigned char **out, int *eof)
{
	size_t len = 0, cap = 1 << 16;
	unsigned char *buf = malloc(cap);

	assert_non_null(buf);
	*eof = 0;
	for (;;) {
		ssize_t n;

		if (cap - len < 65536) {
			cap *= 2;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		n = ms_dev__read(d, buf + len, 65536);
		if (n == -ENOMSG)
			break;
		if (n < 0)
			fail_msg("%s", d->err);
		if (n == 0) {
			*eof = 1;
			break;
		}
		len += (size_t)n;
	}
	*out = buf;
	return len;
}
