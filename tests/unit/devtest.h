/* SPDX-License-Identifier: GPL-2.0-only */
/* Helpers for the device tests: a session on a virtual clock with devices and a recorder. */
#ifndef MIGSCOPE_DEVTEST_H
#define MIGSCOPE_DEVTEST_H

#include <migscope/clock.h>
#include <migscope/device.h>
#include <migscope/session.h>

#include "testutil.h"

#define DT_MAX_DEVS 16

struct dt_rig {
	struct ms_clock clock;
	struct ms_session *s;
	struct tu_recorder rec;
	struct ms_device *devs[DT_MAX_DEVS];
	size_t n;
};

/* A fresh session (no capture) recording every record, on a virtual clock. */
void dt_rig__init(struct dt_rig *r);
/* A reference device from a --device spec ("ref:..."), registered with role; the rig closes it. */
struct ms_device *dt_rig__ref(struct dt_rig *r, const char *spec, uint16_t role);
/* Add a device made elsewhere: registered, pumped and closed by the rig. */
struct ms_device *dt_rig__add(struct dt_rig *r, struct ms_device *d, uint16_t role);
void dt_rig__free(struct dt_rig *r);

/* Read everything a device's stream has now into a malloc'd buffer; returns its size. */
size_t dt_drain(struct ms_device *d, unsigned char **out, int *eof);

#endif
