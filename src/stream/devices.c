// SPDX-License-Identifier: GPL-2.0-only
/* The device registry (see include/migscope/devices.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <migscope/devices.h>

void ms_devices__init(struct ms_devices *d)
{
	memset(d, 0, sizeof(*d));
}

void ms_devices__free(struct ms_devices *d)
{
	free(d->dev);
	memset(d, 0, sizeof(*d));
}

static int grow(struct ms_devices *d, uint32_t id)
{
	uint32_t cap = d->cap ? d->cap : 8;
	struct ms_device_info *n;

	while (cap <= id)
		cap *= 2;
	n = realloc(d->dev, cap * sizeof(*n));
	if (!n)
		return -ENOMEM;
	memset(n + d->cap, 0, (cap - d->cap) * sizeof(*n));
	d->dev = n;
	d->cap = cap;
	return 0;
}

static void on_dev_add(void *ctx, const struct ms_event_hdr *ev)
{
	const struct ms_ev_dev_add *a = (const void *)ev;
	struct ms_devices *d = ctx;
	struct ms_device_info *info;
	uint32_t tail;
	const char *name = ms_event_tail(ev, MS_PAYLOAD_LEN(ms_ev_dev_add), &tail);

	const char *why = NULL;

	if (ev->len < MS_PAYLOAD_LEN(ms_ev_dev_add))
		why = "is shorter than its fixed part";
	else if (ev->dev > MS_DEV_ID_MAX)
		why = "names an id above the largest a device can have";
	else if (!a->name_len)
		why = "has an empty name";
	else if (a->name_len > tail)
		why = "has a name_len that runs past its payload";
	else if (a->name_len > MS_NAME_MAX)
		why = "has a name longer than a device name can be";
	else if (ev->dev >= d->cap && grow(d, ev->dev))
		why = "could not be stored: out of memory";
	if (why) {
		if (!d->rejected++)
			snprintf(d->first_rejected, sizeof(d->first_rejected),
				 "DEV_ADD of device %u at %" PRIu64 " ns %s", ev->dev,
				 (uint64_t)ev->ts_ns, why);
		return;
	}
	info = &d->dev[ev->dev];
	info->id = ev->dev;
	info->kind = a->kind;
	info->role = a->role;
	info->caps = a->caps;
	info->peer = a->peer;
	memcpy(info->name, name, a->name_len);
	info->name[a->name_len] = '\0';
	/* a name with an embedded NUL would read as empty: keep it visible */
	if (!info->name[0])
		info->name[0] = '?';
	if (ev->dev >= d->nr)
		d->nr = ev->dev + 1;
}

int ms_devices__subscribe(struct ms_devices *d, struct ms_bus *bus)
{
	return ms_bus__subscribe(bus, MS_EV_BIT(MS_EV_DEV_ADD), on_dev_add, d);
}

const struct ms_device_info *ms_devices__get(const struct ms_devices *d, uint32_t id)
{
	if (id >= d->nr || !d->dev[id].name[0])
		return NULL;
	return &d->dev[id];
}

uint32_t ms_devices__find(const struct ms_devices *d, uint16_t kind, const char *name)
{
	for (uint32_t i = 0; i < d->nr; i++)
		if (d->dev[i].name[0] && d->dev[i].kind == kind && !strcmp(d->dev[i].name, name))
			return i;
	return MS_DEV_NONE;
}

const char *ms_devices__name(const struct ms_devices *d, uint32_t id, char *buf, size_t len)
{
	const struct ms_device_info *info = ms_devices__get(d, id);

	if (info)
		return info->name;
	if (id == MS_DEV_NONE)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "dev%u", id);
	return buf;
}

const char *ms_dev_kind_name(unsigned int kind)
{
	static const char *const names[] = {
		[MS_DEV_KIND_REF] = "ref",
		[MS_DEV_KIND_VFIO] = "vfio",
		[MS_DEV_KIND_VIRTIO] = "virtio",
		[MS_DEV_KIND_QEMU_VFIO] = "qemu-vfio",
		[MS_DEV_KIND_QEMU_SECTION] = "qemu-section",
		[MS_DEV_KIND_HOST] = "host",
		[MS_DEV_KIND_QEMU_VM] = "qemu-vm",
	};

	return kind < sizeof(names) / sizeof(names[0]) && names[kind] ? names[kind] : "unknown";
}

const char *ms_dev_role_name(unsigned int role)
{
	static const char *const names[] = {
		[MS_ROLE_SOURCE] = "source",
		[MS_ROLE_DEST] = "destination",
		[MS_ROLE_BOTH] = "both",
	};

	return role < sizeof(names) / sizeof(names[0]) ? names[role] : "unknown";
}
