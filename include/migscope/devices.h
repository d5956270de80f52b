/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The device registry: the stream's own subscriber of MS_EV_DEV_ADD, which
 * sources (the kernel collectors' host devices) and every consumer ask for
 * names.  Device ids are small integers handed out in order by the stream
 * (ms_stream__add_device), so the registry is a plain array indexed by id.
 */
#ifndef MIGSCOPE_DEVICES_H
#define MIGSCOPE_DEVICES_H

#include <stdint.h>

#include <migscope/bus.h>

struct ms_device_info {
	uint32_t id;
	uint16_t kind; /* enum ms_dev_kind */
	uint16_t role; /* enum ms_dev_role */
	uint32_t caps;
	uint32_t peer;
	char name[MS_NAME_MAX + 1];
};

struct ms_devices {
	struct ms_device_info *dev; /* dev[i].id == i; unused slots have name[0] == 0 */
	uint32_t nr;		    /* one past the highest id seen */
	uint32_t cap;
	uint64_t rejected;	  /* DEV_ADD records that were malformed */
	char first_rejected[128]; /* why the first one was, "" when none */
};

/* Ids above this are refused: a corrupt record must not make us allocate gigabytes. */
#define MS_DEV_ID_MAX 65535

void ms_devices__init(struct ms_devices *d);
void ms_devices__free(struct ms_devices *d);
int ms_devices__subscribe(struct ms_devices *d, struct ms_bus *bus);

/* NULL when the id was never added. */
const struct ms_device_info *ms_devices__get(const struct ms_devices *d, uint32_t id);

/* Id of the device with this kind and name, or MS_DEV_NONE. */
uint32_t ms_devices__find(const struct ms_devices *d, uint16_t kind, const char *name);

/* "ref0", or "dev7" for an id that was never added. */
const char *ms_devices__name(const struct ms_devices *d, uint32_t id, char *buf, size_t len);

const char *ms_dev_kind_name(unsigned int kind);
const char *ms_dev_role_name(unsigned int role);

#endif
